/* A PROXY protocol header, read as it arrives, byte-exact. */
#ifndef IOD_GATE_H
#define IOD_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "proxy.h"

struct gate;

/* Lifecycle. */
struct gate *gate_new(void);
void	gate_free(struct gate *);

/* Reading. */
enum proxy_status gate_read(struct gate *, int, struct proxy_header *,
	    char *, size_t);
enum proxy_status gate_wait(struct gate *, int, int64_t,
	    struct proxy_header *, char *, size_t);

#endif
