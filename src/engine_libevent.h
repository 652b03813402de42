/*
 * The libevent engine's declarations, shared by its two files:
 * engine_libevent.c (workers and listeners) and engine_libevent_conn.c
 * (connections).  Nothing else includes this.
 */
#ifndef IOD_ENGINE_LIBEVENT_H
#define IOD_ENGINE_LIBEVENT_H

#include <stddef.h>

#include "conn.h"

struct event;
struct event_base;
struct lev_listener;
struct timeval;
struct worker;

struct lev_worker {
	struct worker		*lw_worker;
	struct event_base	*lw_base;
	struct event		*lw_notify;
	struct event		*lw_tick;	/* conn_tick, once a second */
	struct lev_listener	*lw_listeners;
	size_t			 lw_nlisteners;
	const struct timeval	*lw_quiet;	/* lev_quiet_wait, common */
	unsigned char		*lw_buf;	/* ENGINE_IO_MAX, lev_reader_cb */
};

/* The worker this thread runs: every callback runs on its thread. */
extern _Thread_local struct lev_worker	 *lev_self;

/*
 * A connection's size in the core's table: the core's part, the count of
 * bytes owed as last seen, and the bufferevent.  Past the bufferevent,
 * which is most of a connection's memory, this is all it costs.
 */
#define LEV_CONN_SIZE	32

/* How long a connection's reader waits for a byte before it is freed. */
extern const struct timeval	lev_quiet_wait;

/* engine_libevent.c: the end of the worker's loop. */
void	lev_done(struct worker *);

/* engine_libevent_conn.c: connections. */
int	lev_conn_init(char *, size_t);
int	lev_conn_new(struct lev_worker *, struct conn *, const char **);
void	lev_conn_drain(struct worker *, struct conn *, const char *);
void	lev_conn_close(struct worker *, struct conn *, const char *);
void	lev_conn_sync(struct conn *);

#endif
