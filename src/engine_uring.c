/*
 * The uring engine: every accept, recv and send is a request submitted to
 * the worker's io_uring, and the worker acts on their completions.
 *
 * Each listener has one accept in flight, submitted again at the start of
 * the round after it completes: a round takes at most one new connection
 * per listener, while it handles up to UR_ROUND completions of others.
 * Single accepts rather than a multishot one, because the kernel reads
 * RLIMIT_NOFILE when an accept is submitted: a multishot accept would go
 * on using the limit of the moment it was armed, missing one raised by a
 * reload or lowered by an administrator.
 *
 * A connection has at most one recv and one send in flight; its states
 * and buffers are described in engine_uring_conn.c.  A recv names no
 * buffer: the kernel takes one from a ring of buffers provided by the
 * worker when data arrives (engine_uring_ring.c), so an idle connection
 * holds no buffer at all, only its slot (and the kernel's pending
 * request).
 *
 * The worker's own requests are a poll on the notify descriptor and a
 * one-second timeout that runs the core's idle and linger rules and ends
 * the pause after an accept failure.  Whatever a completion ends is
 * armed again at the start of the next round, before the worker waits.
 */
#include <sys/queue.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "engine.h"
#ifdef HAVE_LIBURING
#include "engine_uring_conn.h"
#include "engine_uring_ring.h"
#endif
#include "log.h"
#include "stats.h"
#include "worker.h"

#define UR_MODEL	"asynchronous I/O: io_uring"

#ifndef HAVE_LIBURING

/* Say why this engine is not available. */
static int
ur_probe(char *cause, size_t len)
{
	snprintf(cause, len, "built without liburing (Debian: liburing-dev)");
	return (-1);
}

const struct engine engine_uring = {
	.name = "uring", .model = UR_MODEL, .probe = ur_probe
};

#else /* HAVE_LIBURING */

#define UR_ROUND	256	/* completions handled per round */
#define UR_QUIESCE_S	5	/* seconds stop() waits for cancellations */

/* A listener, and its one accept in flight. */
struct ur_listener {
	const struct listener	*l_src;
	int			 l_fd;
	int			 l_armed;	/* an accept is in flight */
	int			 l_cancelling;	/* and its cancel too */
	int			 l_gone;	/* dropped: never arm again */
	int64_t			 l_resume_at;	/* ms: paused until; 0: not */
};

/* A worker's ring, listeners and connections. */
struct ur_worker {
	struct worker		*uw_worker;
	struct ur_ring		 uw_ring;
	struct ur_conns		 uw_conns;
	struct __kernel_timespec uw_tick;
	struct ur_listener	**uw_listeners;
	size_t			 uw_nlisteners;
	int			 uw_notify_armed;
	int			 uw_tick_armed;
};

static int	ur_start(struct worker *, char *, size_t);
static void	ur_run(struct worker *);
static void	ur_stop(struct worker *);
static void	ur_relisten(struct worker *);
static void	ur_unlisten_all(struct worker *);

static int	ur_quiesce(struct ur_worker *);
static void	ur_free(struct ur_worker *);
static void	ur_prepare(struct ur_worker *);
static int	ur_wait(struct ur_worker *);
static void	ur_reap(struct ur_worker *);
static void	ur_dispatch(struct ur_worker *, uint64_t, int, unsigned);
static void	ur_tick(struct ur_worker *, int);
static void	ur_listen(struct ur_worker *);
static void	ur_unlisten(struct ur_worker *, const struct listener *,
		    size_t);
static void	ur_settle(struct ur_worker *);
static void	ur_listener_arm(struct ur_worker *, struct ur_listener *);
static void	ur_listener_cancel(struct ur_worker *, struct ur_listener *);
static void	ur_accept_done(struct ur_worker *, struct ur_listener *, int);

const struct engine engine_uring = {
	.name = "uring", .model = UR_MODEL, .probe = ur_ring_probe,
	.start = ur_start,
	.run = ur_run,
	.stop = ur_stop, .listen = ur_relisten, .unlisten = ur_unlisten_all,
	.conn_size = UR_CONN_SIZE, .drain = ur_conn_drain,
	.close = ur_conn_close
};

/* Create the worker's ring and buffers; accepting starts with run(). */
static int
ur_start(struct worker *w, char *cause, size_t len)
{
	struct ur_worker	*uw;

	if ((uw = calloc(1, sizeof(*uw))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	uw->uw_worker = w;
	uw->uw_tick.tv_sec = ENGINE_TICK_MS / 1000;
	if (ur_ring_init(&uw->uw_ring, cause, len) == -1) {
		ur_free(uw);
		return (-1);
	}
	ur_conns_init(&uw->uw_conns, w, &uw->uw_ring);
	w->w_engine = uw;
	ur_listen(uw);
	return (0);
}

/* Serve until a STOP has been handled and every connection is closed. */
static void
ur_run(struct worker *w)
{
	struct ur_worker	*uw = w->w_engine;

	while (!engine_done(w)) {
		ur_prepare(uw);
		if (ur_wait(uw) == -1)
			break;
	}
}

/*
 * Accept on exactly the worker's listeners now: stop on those it no
 * longer has, start on new ones.  Listeners are let go of before this
 * returns: the supervisor closes them once every worker has answered.
 */
static void
ur_relisten(struct worker *w)
{
	struct ur_worker	*uw = w->w_engine;

	ur_unlisten(uw, w->w_listeners, w->w_nlisteners);
	ur_listen(uw);
}

/* Stop accepting on every listener. */
static void
ur_unlisten_all(struct worker *w)
{
	ur_unlisten(w->w_engine, NULL, 0);
}

/* Close everything, wait until no request is left, and free. */
static void
ur_stop(struct worker *w)
{
	struct ur_worker	*uw = w->w_engine;

	if (uw == NULL)
		return;
	ur_unlisten(uw, NULL, 0);
	conn_halt_all(w, CONN_CUT);
	if (ur_quiesce(uw) == -1) {
		/* Freeing memory the kernel may still write to is worse. */
		log_warnx("worker %d: %zu io_uring requests did not end; "
		    "leaving their memory allocated", w->w_id,
		    uw->uw_ring.r_inflight);
		return;
	}
	w->w_engine = NULL;
	ur_free(uw);
}

/*
 * Cancel every request still in flight and wait for each to end, so that
 * none can touch a connection or a buffer after it is freed.  Nothing new
 * is submitted meanwhile: every connection is closed and the notify poll,
 * the tick and the accepts are armed again only by ur_prepare().  If a
 * second passes without a completion, the sockets of closed connections
 * are shut down, which ends any request still waiting on one.
 */
static int
ur_quiesce(struct ur_worker *uw)
{
	struct ur_ring		*r = &uw->uw_ring;
	struct io_uring_cqe	*cqe;
	struct __kernel_timespec ts = { 1, 0 };
	int			 waited = 0;

	if (!r->r_ok)
		return (0);
	(void)ur_cancel(r, 0);
	while (r->r_inflight > 0 && waited < UR_QUIESCE_S) {
		if (io_uring_submit_and_wait_timeout(&r->r_ring, &cqe, 1,
		    &ts, NULL) == -ETIME) {
			waited++;
			ur_conns_shutdown(&uw->uw_conns);
			(void)ur_cancel(r, 0);
		}
		ur_reap(uw);
	}
	return (r->r_inflight > 0 ? -1 : 0);
}

/* Free everything ur_start() made. */
static void
ur_free(struct ur_worker *uw)
{
	size_t	i;

	ur_ring_free(&uw->uw_ring);
	for (i = 0; i < uw->uw_nlisteners; i++)
		free(uw->uw_listeners[i]);
	free(uw->uw_listeners);
	free(uw);
}

/*
 * Before waiting: arm again what completions ended (the notify poll, the
 * tick, accepts) and give starved connections another try.
 */
static void
ur_prepare(struct ur_worker *uw)
{
	struct io_uring_sqe	*sqe;
	size_t			 i;

	if (!uw->uw_notify_armed &&
	    (sqe = ur_sqe(&uw->uw_ring, uw, UR_NOTIFY)) != NULL) {
		io_uring_prep_poll_add(sqe, uw->uw_worker->w_notify, POLLIN);
		uw->uw_notify_armed = 1;
	}
	if (!uw->uw_tick_armed &&
	    (sqe = ur_sqe(&uw->uw_ring, uw, UR_TICK)) != NULL) {
		io_uring_prep_timeout(sqe, &uw->uw_tick, 0, 0);
		uw->uw_tick_armed = 1;
	}
	for (i = 0; i < uw->uw_nlisteners; i++)
		ur_listener_arm(uw, uw->uw_listeners[i]);
	ur_conns_retry(&uw->uw_conns);
}

/*
 * Submit what is queued, wait for a completion, and handle a round.  The
 * kernel may lack memory for a moment (or room for completions, which
 * handling them makes): wait a millisecond then, rather than spin.  Any
 * other failure is a bug, and ends the worker.
 */
static int
ur_wait(struct ur_worker *uw)
{
	int	error;

	error = io_uring_submit_and_wait(&uw->uw_ring.r_ring, 1);
	if (error == -EAGAIN || error == -ENOMEM || error == -EBUSY)
		(void)poll(NULL, 0, 1);
	else if (error < 0 && error != -EINTR) {
		log_warnx("worker %d: io_uring_submit_and_wait: %s",
		    uw->uw_worker->w_id, strerror(-error));
		return (-1);
	}
	uw->uw_conns.cs_now = engine_now_ms();
	ur_reap(uw);
	return (0);
}

/*
 * Handle the completions that are ready, in the order the kernel posted
 * them, at most UR_ROUND: what they queued is then submitted before the
 * rest are looked at.
 */
static void
ur_reap(struct ur_worker *uw)
{
	struct io_uring_cqe	*cqe;
	uint64_t		 ud;
	unsigned		 flags;
	int			 n, res;

	for (n = 0; n < UR_ROUND; n++) {
		if (io_uring_peek_cqe(&uw->uw_ring.r_ring, &cqe) != 0)
			break;
		ud = cqe->user_data;
		res = cqe->res;
		flags = cqe->flags;
		io_uring_cqe_seen(&uw->uw_ring.r_ring, cqe);
		if (!(flags & IORING_CQE_F_MORE))
			uw->uw_ring.r_inflight--;
		ur_dispatch(uw, ud, res, flags);
	}
}

/* One completion: hand it to what its request was for. */
static void
ur_dispatch(struct ur_worker *uw, uint64_t ud, int res, unsigned flags)
{
	void	*p = (void *)(uintptr_t)(ud & ~(uint64_t)UR_TAG_MASK);

	switch ((enum ur_tag)(ud & UR_TAG_MASK)) {
	case UR_NOTIFY:
		uw->uw_notify_armed = 0;
		if (res != -ECANCELED)
			worker_drain(uw->uw_worker);
		break;
	case UR_TICK:
		uw->uw_tick_armed = 0;
		ur_tick(uw, res);
		break;
	case UR_ACCEPT:
		ur_accept_done(uw, p, res);
		break;
	case UR_RECV:
		ur_conn_recv_done(p, res, flags);
		break;
	case UR_SEND:
		ur_conn_send_done(p, res);
		break;
	case UR_CANCEL:
		break;
	}
}

/*
 * Once a second: the core's idle and linger rules, and the end of
 * paused listeners' pause.
 */
static void
ur_tick(struct ur_worker *uw, int res)
{
	size_t	i;

	if (res == -ECANCELED)
		return;
	conn_tick(uw->uw_worker, uw->uw_conns.cs_now);
	for (i = 0; i < uw->uw_nlisteners; i++)
		if (uw->uw_conns.cs_now >= uw->uw_listeners[i]->l_resume_at)
			uw->uw_listeners[i]->l_resume_at = 0;
}

/*
 * Accept on every listener the worker was given and does not yet have;
 * the accepts are submitted at the start of the next round.  As in the
 * other engines, every worker accepts on the same sockets and the kernel
 * gives each connection to one of them.
 */
static void
ur_listen(struct ur_worker *uw)
{
	struct worker		*w = uw->uw_worker;
	struct ur_listener	**ls, *l;
	size_t			 i, j, n = uw->uw_nlisteners;

	ls = reallocarray(uw->uw_listeners, n + w->w_nlisteners + 1,
	    sizeof(*ls));
	if (ls == NULL) {
		log_warnx("worker %d: out of memory: not accepting on new "
		    "listeners", w->w_id);
		return;
	}
	uw->uw_listeners = ls;
	for (j = 0; j < w->w_nlisteners; j++) {
		for (i = 0; i < n && ls[i]->l_fd != w->w_listeners[j].l_fd; i++)
			continue;
		if (i < n && !ls[i]->l_gone) {
			ls[i]->l_src = &w->w_listeners[j];
			continue;
		}
		if ((l = calloc(1, sizeof(*l))) == NULL) {
			log_warnx("worker %d: out of memory: not accepting "
			    "on %s", w->w_id, w->w_listeners[j].l_name);
			continue;
		}
		l->l_src = &w->w_listeners[j];
		l->l_fd = l->l_src->l_fd;
		ls[n++] = l;
	}
	uw->uw_nlisteners = n;
}

/*
 * Stop accepting on every listener not in keep[0..nkeep), and free those
 * once their accepts have ended.  One whose accept would not end stays
 * listed, never armed again, so that its completion finds it.
 */
static void
ur_unlisten(struct ur_worker *uw, const struct listener *keep, size_t nkeep)
{
	struct ur_listener	*l;
	size_t			 i, j, n = 0;

	for (i = 0; i < uw->uw_nlisteners; i++) {
		l = uw->uw_listeners[i];
		for (j = 0; j < nkeep && keep[j].l_fd != l->l_fd; j++)
			continue;
		if (j == nkeep)
			l->l_gone = 1;
	}
	ur_settle(uw);
	for (i = 0; i < uw->uw_nlisteners; i++) {
		l = uw->uw_listeners[i];
		if (l->l_gone && !l->l_armed)
			free(l);
		else
			uw->uw_listeners[n++] = l;
	}
	uw->uw_nlisteners = n;
}

/*
 * Cancel the accepts on listeners marked gone and wait until each has
 * ended, serving whatever else completes meanwhile: the supervisor closes
 * those sockets once the command is answered, and no request may refer to
 * them then.  A command runs when the notify poll has completed, and
 * that is armed again only by the next round, so commands never nest.
 */
static void
ur_settle(struct ur_worker *uw)
{
	struct ur_listener	*l;
	size_t			 i;
	int			 busy;

	for (;;) {
		busy = 0;
		for (i = 0; i < uw->uw_nlisteners; i++) {
			l = uw->uw_listeners[i];
			if (!l->l_gone || !l->l_armed)
				continue;
			busy = 1;
			ur_listener_cancel(uw, l);
		}
		if (!busy)
			return;
		if (ur_wait(uw) == -1) {
			log_warnx("worker %d: cannot cancel accepts",
			    uw->uw_worker->w_id);
			return;
		}
	}
}

/* Submit an accept on l, unless it has one, is gone or paused. */
static void
ur_listener_arm(struct ur_worker *uw, struct ur_listener *l)
{
	struct io_uring_sqe	*sqe;

	if (l->l_armed || l->l_gone || l->l_resume_at != 0 ||
	    uw->uw_worker->w_stopping)
		return;
	if ((sqe = ur_sqe(&uw->uw_ring, l, UR_ACCEPT)) == NULL)
		return;
	io_uring_prep_accept(sqe, l->l_fd, NULL, NULL, SOCK_CLOEXEC);
	l->l_armed = 1;
}

/* Cancel l's accept, once. */
static void
ur_listener_cancel(struct ur_worker *uw, struct ur_listener *l)
{
	if (l->l_armed && !l->l_cancelling &&
	    ur_cancel(&uw->uw_ring, ur_ud(l, UR_ACCEPT)) == 0)
		l->l_cancelling = 1;
}

/*
 * An accept completed.  After EMFILE and the like the listener is paused
 * for ENGINE_ACCEPT_PAUSE seconds rather than armed again, as the
 * connection stays queued and would fail again at once.
 */
static void
ur_accept_done(struct ur_worker *uw, struct ur_listener *l, int res)
{
	l->l_armed = 0;
	l->l_cancelling = 0;
	if (res >= 0) {
		/* A dropped listener's may be freed: no group applies. */
		ur_admit(&uw->uw_conns, l->l_gone ? NULL : l->l_src, res);
		return;
	}
	if (res == -ECANCELED || l->l_gone ||
	    engine_accept_failed(l->l_src->l_name, -res))
		return;
	l->l_resume_at = uw->uw_conns.cs_now + ENGINE_ACCEPT_PAUSE * 1000;
}

#endif /* HAVE_LIBURING */
