/*
 * The coro engine: a coroutine per connection, written as plain blocking
 * code (engine_coro_conn.c), over one edge-triggered epoll per worker.
 * It is the model of gevent's monkey-patched sockets and of asyncio's
 * awaits: where a blocking call would block, the coroutine yields
 * instead (coro.c), and the worker thread, the scheduler here, resumes
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
 * The connections live in the core's table and follow its rules: the
 * core's tick ends them when idle or done lingering, and its drain and
 * close reach a coroutine where it waits.  A close resumes it once more
 * with every wait failing, so that it unwinds and returns as it would
 * at the end of its input: a coroutine is never freed in the middle of
 * its code.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conn.h"
#include "coro.h"
#include "engine.h"
#include "engine_coro.h"
#include "log.h"
#include "poller.h"
#include "worker.h"

struct co_listener {
	const struct listener	*l_src;
	int			 l_mask;	/* POLLER_READ, or 0: paused */
	int			 l_ready;	/* stopped early: go on */
};

_Static_assert(sizeof(struct co_conn) <= 64, "struct co_conn grew");

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
static void	co_admit(struct co_worker *, const struct listener *, int);
static void	co_ready(struct co_conn *);
static void	co_resume(struct co_conn *);
static void	co_end(struct co_conn *);

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
		co_admit(cw, l->l_src, fd);
	}
	l->l_ready = 1;
}

/*
 * Give a just-accepted descriptor a coroutine and register it with epoll
 * for good, or close it at once.  The coroutine runs on this round: data
 * may have come before epoll watched the socket.
 */
static void
co_admit(struct co_worker *cw, const struct listener *l, int fd)
{
	struct worker	*w = cw->cw_worker;
	struct conn	*c;
	struct co_conn	*cc;
	int		 error;

	if ((c = conn_admit(w, l, fd, cw->cw_now)) == NULL)
		return;
	cc = (struct co_conn *)c;
	cc->cc_cw = cw;
	if ((cc->cc_coro = coro_create(co_conn_main, cc)) == NULL) {
		conn_refuse(w, c, STATS_REJ_NO_MEMORY, errno == ENOMEM ?
		    "no memory for a coroutine stack (see vm.max_map_count)" :
		    strerror(errno));
		return;
	}
	if (poller_epoll.set(cw->cw_poller, fd, 0,
	    POLLER_READ | POLLER_WRITE) == -1) {
		error = errno;
		coro_free(cc->cc_coro);
		conn_refuse(w, c, STATS_REJ_NO_MEMORY, strerror(error));
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
