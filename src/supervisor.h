/* The supervisor: listeners, signals, reload and shutdown, on the main thread. */
#ifndef IOD_SUPERVISOR_H
#define IOD_SUPERVISOR_H

#include <stddef.h>

struct iod_conf;

/* Startup, in main.c's order. */
int	supervisor_listen(struct iod_conf *, char *, size_t);
int	supervisor_start(char *, size_t);

/* The main loop, until every worker has finished. */
int	supervisor_run(int, const char *, char *, size_t);

/* What iod is doing, in one line for systemctl status. */
const char *supervisor_status(void);

#endif
