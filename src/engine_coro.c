/*
 * The coro engine: a coroutine per connection, written as plain blocking
 * code (read, transform, write, again), over one edge-triggered epoll
 * per worker.  It is the model of gevent's monkey-patched sockets and of
 * asyncio's awaits: where a blocking call would block, the coroutine
 * yields instead (coro.c), and the worker thread, the scheduler, resumes
 * it once epoll says its socket is ready.
 *
 * Each connection is registered once, for reading and writing, and never
 * changed: edge-triggered epoll reports a change of readiness, and the
 * scheduler wakes the coroutine only if it waits for that.  A coroutine
 * waits only after a call said EAGAIN, so an edge that comes while it
 * runs is not lost: the next call finds the data, or the space.  After
 * ENGINE_IO_MAX bytes in one turn a coroutine yields anyway and goes to
 * the back of the run queue, so one fast client cannot starve the rest.
 *
 * Like the blocking engines, a connection writes everything it read
 * before reading again, so it never owes more than one read: at most
 * CO_BUF bytes, or max_pending_bytes if smaller, held in a buffer on the
 * coroutine's own stack.  Unlike them, its rules are the core's: it
 * lives in the core's table, the core's tick ends it when idle or done
 * lingering, and a drain or a close from the scheduler reaches it where
 * it waits.  A close resumes it once more with every wait failing, so
 * that it unwinds and returns the way it would at the end of its input;
 * a coroutine is never freed in the middle of its code.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "coro.h"
#include "engine.h"
#include "log.h"
#include "poller.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"

#define CO_EVENTS	256	/* readiness events taken per wait */

/*
 * A connection's buffer, on its coroutine's stack: half of CORO_STACK,
 * which leaves 32 KiB for the calls below it, the deepest of which (a
 * log line through stdio) takes under 16 KiB.
 */
#define CO_BUF		(32 * 1024)

_Static_assert(CO_BUF <= CORO_STACK / 2, "CO_BUF leaves too little stack");

#define CO_END		(-1)	/* co_read(): ended, cc_why says why */
#define CO_HALT		(-2)	/* co_read(): told to drain */

struct co_worker;

/*
 * A connection, in the core's table: the core's part, then its coroutine
 * and where the scheduler keeps it.  64 bytes.
 */
struct co_conn {
	struct conn		 cc_conn;
	unsigned char		 cc_wait;	/* POLLER_* it waits for */
	unsigned char		 cc_queued;	/* on the run queue */
	unsigned char		 cc_cancel;	/* every wait fails: end now */
	struct coro		*cc_coro;
	struct co_worker	*cc_cw;
	const char		*cc_why;	/* why it ended */
	TAILQ_ENTRY(co_conn)	 cc_entry;	/* the run queue */
};

_Static_assert(sizeof(struct co_conn) <= 64, "struct co_conn grew");

struct co_listener {
	const struct listener	*l_src;
	int			 l_mask;	/* POLLER_READ, or 0 if paused */
	int			 l_ready;	/* stopped early: accept again */
};

/* A worker: its epoll, its run queue, its listeners. */
struct co_worker {
	struct worker		*cw_worker;
	void			*cw_poller;
	TAILQ_HEAD(co_queue, co_conn) cw_runq;
	struct co_listener	*cw_listeners;
	size_t			 cw_nlisteners;
	int64_t			 cw_now;	/* ms, when the round began */
	int64_t			 cw_resume_at;	/* ms: paused listeners resume */
	size_t			 cw_turn;	/* bytes moved this turn */
	struct poller_event	 cw_fired[CO_EVENTS];
};

static int	co_start(struct worker *, char *, size_t);
static void	co_run(struct worker *);
static void	co_stop(struct worker *);
static const char *co_backend(void);
static void	co_listen(struct worker *);
static void	co_unlisten(struct worker *);
static void	co_conn_drain(struct worker *, struct conn *, const char *);
static void	co_conn_close(struct worker *, struct conn *, const char *);

static int	co_round(struct co_worker *);
static void	co_dispatch(struct co_worker *, int, int);
static void	co_run_queue(struct co_worker *);
static void	co_tick(struct co_worker *);
static void	co_listener_watch(struct co_worker *, struct co_listener *,
		    int);
static void	co_accept(struct co_worker *, struct co_listener *);
static void	co_admit(struct co_worker *, int);
static void	co_ready(struct co_conn *);
static void	co_resume(struct co_conn *);
static void	co_end(struct co_conn *);

static void	*co_main(void *);
static void	co_serve(struct co_conn *);
static void	co_finish(struct co_conn *, unsigned char *, const char *);
static ssize_t	co_read(struct co_conn *, unsigned char *, size_t);
static int	co_write(struct co_conn *, const unsigned char *, size_t);
static int	co_turn(struct co_conn *);
static int	co_wait(struct co_conn *, int);
static int	co_failed(struct co_conn *);

const struct engine engine_coro = {
	.name = "coro", .model = "coroutines over edge-triggered epoll",
	.start = co_start, .run = co_run, .stop = co_stop,
	.backend = co_backend,
	.listen = co_listen, .unlisten = co_unlisten,
	.conn_size = sizeof(struct co_conn), .drain = co_conn_drain,
	.close = co_conn_close
};

/* Create the worker's epoll, and watch the notify descriptor. */
static int
co_start(struct worker *w, char *cause, size_t len)
{
	struct co_worker	*cw;

	if ((cw = calloc(1, sizeof(*cw))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	w->w_engine = cw;
	cw->cw_worker = w;
	TAILQ_INIT(&cw->cw_runq);
	if ((cw->cw_poller = poller_epoll.create(0, cause, len)) == NULL)
		return (-1);
	if (poller_epoll.set(cw->cw_poller, w->w_notify, 0,
	    POLLER_READ) == -1) {
		snprintf(cause, len, "cannot watch descriptor %d with epoll: "
		    "%s", w->w_notify, strerror(errno));
		return (-1);
	}
	cw->cw_now = engine_now_ms();
	co_listen(w);
	return (0);
}

/* Schedule until a STOP has been handled and every connection is gone. */
static void
co_run(struct worker *w)
{
	struct co_worker	*cw = w->w_engine;
	int64_t			 last_tick = engine_now_ms();

	while (!engine_done(w)) {
		if (co_round(cw))
			worker_drain(w);
		if (cw->cw_now - last_tick >= ENGINE_TICK_MS) {
			last_tick = cw->cw_now;
			co_tick(cw);
		}
	}
}

/* End every connection and free everything co_start() made. */
static void
co_stop(struct worker *w)
{
	struct co_worker	*cw = w->w_engine;

	if (cw == NULL)
		return;
	conn_halt_all(w, CONN_CUT);
	co_unlisten(w);
	if (cw->cw_poller != NULL)
		poller_epoll.free(cw->cw_poller);
	free(cw);
	w->w_engine = NULL;
}

/* What the coroutines switch with, for the ready line. */
static const char *
co_backend(void)
{
	return (coro_switch_name());
}

/*
 * Watch every listener the worker has now; every worker watches the
 * same sockets, and the kernel gives each connection to one accept().
 */
static void
co_listen(struct worker *w)
{
	struct co_worker	*cw = w->w_engine;
	size_t			 i;

	co_unlisten(w);
	cw->cw_listeners = calloc(w->w_nlisteners, sizeof(*cw->cw_listeners));
	if (cw->cw_listeners == NULL) {
		log_warnx("worker %d: out of memory: not accepting", w->w_id);
		return;
	}
	cw->cw_nlisteners = w->w_nlisteners;
	for (i = 0; i < cw->cw_nlisteners; i++) {
		cw->cw_listeners[i].l_src = &w->w_listeners[i];
		co_listener_watch(cw, &cw->cw_listeners[i], POLLER_READ);
	}
}

/* Stop watching every listener; the supervisor closes them. */
static void
co_unlisten(struct worker *w)
{
	struct co_worker	*cw = w->w_engine;
	size_t			 i;

	for (i = 0; i < cw->cw_nlisteners; i++)
		co_listener_watch(cw, &cw->cw_listeners[i], 0);
	free(cw->cw_listeners);
	cw->cw_listeners = NULL;
	cw->cw_nlisteners = 0;
	cw->cw_resume_at = 0;
}

/*
 * Read no more: a coroutine waiting to read is woken to finish, one
 * writing finishes its write first.
 */
static void
co_conn_drain(struct worker *w, struct conn *c, const char *why)
{
	struct co_conn	*cc = (struct co_conn *)c;

	if (conn_ending(c))
		return;
	conn_set_state(w, c, CONN_DRAINING);
	if (cc->cc_wait == POLLER_READ) {
		cc->cc_wait = 0;
		co_ready(cc);
	}
}

/*
 * The core's close: end c now.  Its coroutine is resumed once more with
 * every wait failing, and returns from wherever it waited.
 */
static void
co_conn_close(struct worker *w, struct conn *c, const char *why)
{
	struct co_conn	*cc = (struct co_conn *)c;

	cc->cc_cancel = 1;
	(void)coro_resume(cc->cc_coro, NULL);
	if (!coro_done(cc->cc_coro))
		fatalx(EX_SOFTWARE, "worker %d: fd %d: the coroutine did not "
		    "end when closed", w->w_id, conn_fd(c));
	cc->cc_why = why;
	co_end(cc);
}

/*
 * Wait, wake the coroutines whose sockets are ready, and run every
 * coroutine on the run queue; return whether the notify descriptor was
 * among the events.  Commands are handled after that, by the caller, so
 * nothing closes a connection while events for it are still unread.
 */
static int
co_round(struct co_worker *cw)
{
	int	i, n, notified = 0, timeout = ENGINE_TICK_MS;
	size_t	j;

	if (!TAILQ_EMPTY(&cw->cw_runq))
		timeout = 0;
	for (j = 0; j < cw->cw_nlisteners; j++)
		if (cw->cw_listeners[j].l_ready)
			timeout = 0;
	n = poller_epoll.wait(cw->cw_poller, timeout, cw->cw_fired,
	    CO_EVENTS);
	cw->cw_now = engine_now_ms();
	for (i = 0; i < n; i++) {
		if (cw->cw_fired[i].fd == cw->cw_worker->w_notify)
			notified = 1;
		else
			co_dispatch(cw, cw->cw_fired[i].fd,
			    cw->cw_fired[i].mask);
	}
	for (j = 0; j < cw->cw_nlisteners; j++) {
		if (cw->cw_listeners[j].l_ready) {
			cw->cw_listeners[j].l_ready = 0;
			co_accept(cw, &cw->cw_listeners[j]);
		}
	}
	co_run_queue(cw);
	return (notified);
}

/* One readiness event: accept, or wake the coroutine that waits for it. */
static void
co_dispatch(struct co_worker *cw, int fd, int mask)
{
	struct co_conn	*cc;
	size_t		 i;

	for (i = 0; i < cw->cw_nlisteners; i++) {
		if (cw->cw_listeners[i].l_src->l_fd == fd) {
			co_accept(cw, &cw->cw_listeners[i]);
			return;
		}
	}
	cc = (struct co_conn *)conn_at(fd);
	if (cc->cc_cw != cw || cc->cc_conn.c_state == CONN_CLOSED)
		return;
	if (cc->cc_wait & mask) {
		cc->cc_wait = 0;
		co_ready(cc);
	}
}

/*
 * Give every coroutine on the run queue a turn.  Only those on it now:
 * one that yields for fairness goes to the back and waits for the next
 * round, after epoll has been asked.
 */
static void
co_run_queue(struct co_worker *cw)
{
	struct co_conn	*cc, *last = TAILQ_LAST(&cw->cw_runq, co_queue);

	while (last != NULL && (cc = TAILQ_FIRST(&cw->cw_runq)) != NULL) {
		TAILQ_REMOVE(&cw->cw_runq, cc, cc_entry);
		cc->cc_queued = 0;
		if (cc == last)
			last = NULL;
		co_resume(cc);
	}
}

/*
 * Once a second: the core's idle and linger rules, and resume paused
 * listeners.
 */
static void
co_tick(struct co_worker *cw)
{
	size_t	i;

	conn_tick(cw->cw_worker, cw->cw_now);
	if (cw->cw_resume_at != 0 && cw->cw_now >= cw->cw_resume_at) {
		cw->cw_resume_at = 0;
		for (i = 0; i < cw->cw_nlisteners; i++)
			co_listener_watch(cw, &cw->cw_listeners[i],
			    POLLER_READ);
	}
}

/* Watch a listener for mask (POLLER_READ, or 0 to pause it). */
static void
co_listener_watch(struct co_worker *cw, struct co_listener *l, int mask)
{
	if (l->l_mask == mask)
		return;
	if (poller_epoll.set(cw->cw_poller, l->l_src->l_fd, l->l_mask,
	    mask) == -1) {
		log_warn("worker %d: epoll cannot watch listener %s",
		    cw->cw_worker->w_id, l->l_src->l_name);
		return;
	}
	l->l_mask = mask;
	if (mask == 0)
		l->l_ready = 0;
}

/*
 * Accept up to ENGINE_ACCEPT_BATCH connections, so established ones get
 * a turn; if that many came, try again on the next round, since the
 * edge will not come again.
 */
static void
co_accept(struct co_worker *cw, struct co_listener *l)
{
	int	i, fd;

	if (l->l_mask == 0)
		return;
	for (i = 0; i < ENGINE_ACCEPT_BATCH; i++) {
		fd = accept4(l->l_src->l_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (engine_accept_failed(l->l_src->l_name, errno))
				continue;
			co_listener_watch(cw, l, 0);
			cw->cw_resume_at = cw->cw_now +
			    ENGINE_ACCEPT_PAUSE * 1000;
			return;
		}
		co_admit(cw, fd);
	}
	l->l_ready = 1;
}

/*
 * Give a just-accepted descriptor a coroutine and register it with epoll
 * for good, or close it at once.  The coroutine runs on this round: data
 * may have come before epoll watched the socket.
 */
static void
co_admit(struct co_worker *cw, int fd)
{
	struct worker	*w = cw->cw_worker;
	struct conn	*c;
	struct co_conn	*cc;
	int		 error;

	if ((c = conn_admit(w, fd, cw->cw_now)) == NULL)
		return;
	cc = (struct co_conn *)c;
	cc->cc_cw = cw;
	if ((cc->cc_coro = coro_create(co_main, cc)) == NULL) {
		conn_refuse(w, c, errno == ENOMEM ? "no memory for a coroutine "
		    "stack (see vm.max_map_count)" : strerror(errno));
		return;
	}
	if (poller_epoll.set(cw->cw_poller, fd, 0,
	    POLLER_READ | POLLER_WRITE) == -1) {
		error = errno;
		coro_free(cc->cc_coro);
		conn_refuse(w, c, strerror(error));
		return;
	}
	co_ready(cc);
}

/* Put cc's coroutine on the run queue, once. */
static void
co_ready(struct co_conn *cc)
{
	if (cc->cc_queued)
		return;
	TAILQ_INSERT_TAIL(&cc->cc_cw->cw_runq, cc, cc_entry);
	cc->cc_queued = 1;
}

/*
 * Run cc's coroutine until it waits, yields its turn, or returns; end
 * the connection when it has returned.
 */
static void
co_resume(struct co_conn *cc)
{
	cc->cc_cw->cw_turn = 0;
	(void)coro_resume(cc->cc_coro, NULL);
	if (coro_done(cc->cc_coro))
		co_end(cc);
	else if (cc->cc_wait == 0)
		co_ready(cc);
}

/*
 * The one way a connection ends here: the core releases it, its stack is
 * unmapped, and the descriptor is closed last, which also takes it out
 * of epoll.
 */
static void
co_end(struct co_conn *cc)
{
	struct coro	*co = cc->cc_coro;
	int		 fd = conn_fd(&cc->cc_conn);

	if (cc->cc_queued)
		TAILQ_REMOVE(&cc->cc_cw->cw_runq, cc, cc_entry);
	conn_release(cc->cc_cw->cw_worker, &cc->cc_conn, cc->cc_why);
	coro_free(co);
	close(fd);
}

/* A connection's coroutine: its whole life, then back for good. */
static void *
co_main(void *arg)
{
	co_serve(arg);
	return (NULL);
}

/*
 * Serve one connection as blocking code would: read, transform, write
 * all of it, again, until the end of input, an error, or an order from
 * the scheduler; cc_why says which.
 */
static void
co_serve(struct co_conn *cc)
{
	struct conn	*c = &cc->cc_conn;
	unsigned char	 buf[CO_BUF];
	size_t		 len = c->c_max_pending < CO_BUF ? c->c_max_pending :
			    CO_BUF;
	ssize_t		 n;

	for (;;) {
		n = co_read(cc, buf, len);
		if (n == CO_END)
			return;
		if (n == CO_HALT) {
			co_finish(cc, buf, "shutdown");
			return;
		}
		if (n == 0) {
			c->c_eof = 1;
			co_finish(cc, buf, "end of input");
			return;
		}
		stats_add_in((uint64_t)n);
		transform_apply(c->c_mode, buf, (size_t)n);
		if (co_write(cc, buf, (size_t)n) == -1)
			return;
	}
}

/*
 * Nothing is owed: end as the core says.  Close now, or linger, reading
 * into buf and discarding until the client's end of input (or until
 * the core's tick finds nothing left to lose, and closes it).
 */
static void
co_finish(struct co_conn *cc, unsigned char *buf, const char *why)
{
	ssize_t	n;

	cc->cc_why = why;
	if (!conn_finish(cc->cc_cw->cw_worker, &cc->cc_conn))
		return;
	while ((n = co_read(cc, buf, CO_BUF)) > 0)
		continue;
	if (n == 0)
		cc->cc_why = "drained";
}

/*
 * Read up to len bytes into buf, waiting as long as it takes.  Return
 * how many, 0 at the client's end of input, CO_HALT once told to drain,
 * or CO_END.
 */
static ssize_t
co_read(struct co_conn *cc, unsigned char *buf, size_t len)
{
	struct conn	*c = &cc->cc_conn;
	ssize_t		 n;

	for (;;) {
		if (co_turn(cc) == -1)
			return (CO_END);
		if (c->c_state == CONN_DRAINING)
			return (CO_HALT);
		if ((n = recv(conn_fd(c), buf, len, 0)) >= 0)
			break;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || co_wait(cc,
		    POLLER_READ) == -1)
			return (co_failed(cc));
	}
	if (n > 0) {
		conn_touch(c, cc->cc_cw->cw_now);
		cc->cc_cw->cw_turn += (size_t)n;
	}
	return (n);
}

/* Write all len bytes of p, waiting as long as it takes; -1 if not. */
static int
co_write(struct co_conn *cc, const unsigned char *p, size_t len)
{
	struct conn	*c = &cc->cc_conn;
	ssize_t		 n;

	while (len > 0) {
		if (co_turn(cc) == -1)
			return (-1);
		n = send(conn_fd(c), p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
			    co_wait(cc, POLLER_WRITE) == -1)
				return (co_failed(cc));
			continue;
		}
		conn_touch(c, cc->cc_cw->cw_now);
		stats_add_out((uint64_t)n);
		cc->cc_cw->cw_turn += (size_t)n;
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Before a call: -1 if the connection has been closed; otherwise, once
 * this turn has moved ENGINE_IO_MAX bytes, yield until the scheduler
 * gets round to it again.
 */
static int
co_turn(struct co_conn *cc)
{
	if (cc->cc_cancel)
		return (-1);
	if (cc->cc_cw->cw_turn < ENGINE_IO_MAX)
		return (0);
	return (co_wait(cc, 0));
}

/*
 * Yield until the socket is ready for mask, or, with mask 0, until the
 * next turn; -1 if the connection was closed meanwhile.
 */
static int
co_wait(struct co_conn *cc, int mask)
{
	cc->cc_wait = (unsigned char)mask;
	(void)coro_yield(NULL);
	cc->cc_wait = 0;
	return (cc->cc_cancel ? -1 : 0);
}

/* A call failed with errno, or the wait was cancelled: say why, CO_END. */
static int
co_failed(struct co_conn *cc)
{
	if (!cc->cc_cancel)
		cc->cc_why = strerror(errno);
	return (CO_END);
}
