/*
 * The coro engine's two halves: the scheduler (engine_coro.c) and a
 * connection's coroutine (engine_coro_conn.c).  Only those include this.
 * What passes between them is cc_wait: what a suspended coroutine waits
 * for, which the scheduler reads to know when to resume it.
 */
#ifndef IOD_ENGINE_CORO_H
#define IOD_ENGINE_CORO_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "poller.h"

#define CO_EVENTS	256	/* readiness events taken per wait */

struct co_listener;
struct coro;
struct worker;

/*
 * A connection, in the core's table: the core's part, then its coroutine
 * and where the scheduler keeps it.  64 bytes.
 */
struct co_conn {
	struct conn		 cc_conn;
	unsigned char		 cc_wait;	/* POLLER_* awaited; 0: none */
	unsigned char		 cc_queued;	/* on the run queue */
	unsigned char		 cc_cancel;	/* waits fail: end now */
	struct coro		*cc_coro;
	struct co_worker	*cc_cw;
	const char		*cc_why;	/* why it ended */
	TAILQ_ENTRY(co_conn)	 cc_entry;	/* the run queue */
};

/* A worker: its epoll, its run queue, its listeners. */
struct co_worker {
	struct worker		*cw_worker;
	void			*cw_poller;
	TAILQ_HEAD(co_queue, co_conn) cw_runq;
	struct co_listener	*cw_listeners;
	size_t			 cw_nlisteners;
	int64_t			 cw_now;	/* ms, when the round began */
	int64_t			 cw_resume_at;	/* ms: unpause listeners */
	size_t			 cw_turn;	/* bytes moved this turn */
	struct poller_event	 cw_fired[CO_EVENTS];
};

/* A connection's coroutine. */
void	*co_conn_main(void *);

#endif
