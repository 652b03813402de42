/*
 * The libevent engine's declarations, shared by its two files:
 * engine_libevent.c (workers and listeners) and engine_libevent_conn.c
 * (connections).  Nothing else includes this.
 */
#ifndef IOD_ENGINE_LIBEVENT_H
#define IOD_ENGINE_LIBEVENT_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct event;
struct event_base;
struct lev_listener;
struct timeval;
struct worker;

/*
 * A connection: its slot in lev_conns, the table indexed by descriptor
 * that every worker shares; a descriptor, and so its slot, belongs to one
 * worker at a time, and only that worker's thread touches the slot.  A
 * worker links its slots by descriptor.  Past the bufferevent, which is
 * most of a connection's memory, a connection costs these 32 bytes and
 * no allocation of its own.
 */
struct conn {
	struct bufferevent	*c_bev;
	uint32_t		 c_unsent;	/* output as lev_sent() last saw it */
	uint32_t		 c_max_pending;
	uint32_t		 c_last_io;	/* last byte moved, lev_now_ms() */
	unsigned int		 c_idle : 20;	/* idle_timeout, seconds */
	unsigned int		 c_mode : 2;	/* enum transform_mode */
	unsigned int		 c_flags : 8;
	int			 c_next;	/* the worker's next one, or -1 */
	int			 c_prev;	/* its previous one, or -1 */
};

struct lev_worker {
	struct worker		*lw_worker;
	struct event_base	*lw_base;
	struct event		*lw_notify;
	struct lev_listener	*lw_listeners;
	size_t			 lw_nlisteners;
	size_t			 lw_nconns;	/* its slots in lev_conns */
	int			 lw_first;	/* the first of them, or -1 */
	const struct timeval	*lw_idle;	/* lev_idle_timeout() */
	unsigned int		 lw_idle_secs;
	const struct timeval	*lw_quiet;	/* lev_quiet_wait, common */
	unsigned char		*lw_buf;	/* ENGINE_IO_MAX, lev_reader_cb */
	int			 lw_stopping;
};

/*
 * The connections of every worker, by descriptor, and the readers of
 * those that have one, by descriptor too: see lev_table().
 */
extern struct conn			 *lev_conns;
extern struct event			**lev_readers;
extern size_t				  lev_nslots;

/* The worker this thread runs: every callback runs on its thread. */
extern _Thread_local struct lev_worker	 *lev_self;

#define lev_fd(c)	((int)((c) - lev_conns))

/* How long a connection's reader waits for a byte before it is freed. */
extern const struct timeval		  lev_quiet_wait;

int	lev_conn_new(struct lev_worker *, int, const char **);
void	lev_conn_all(struct lev_worker *,
	    void (*)(struct conn *, const char *), const char *);
void	lev_conn_drain(struct conn *, const char *);
void	lev_conn_close(struct conn *, const char *);

#endif
