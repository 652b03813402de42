/* reuseport: a SO_REUSEPORT listener per worker, drained before it closes. */
#ifndef IOD_LSET_H
#define IOD_LSET_H

#include <stddef.h>

struct listen_addr;
struct listener;

/* A group, opened for the supervisor; returns -1 and a cause. */
int	lset_open(struct listener *, const struct listen_addr *, int, int,
	    char *, size_t);
void	lset_backlog(const struct listener *, int);

/* A worker's own view of the listeners. */
struct listener *lset_view(const struct listener *, size_t, int);

/* Closing without resets. */
size_t	lset_drain(struct listener *const *, size_t);
void	lset_close(struct listener *);

#endif
