/*
 * The readiness engines: nonblocking sockets multiplexed by select(),
 * poll(), epoll or real-time signals, one hand-written loop shared by
 * them all.  Only the way of waiting differs, and that is a struct poller
 * (poller.h).  epoll comes edge- and level-triggered; busypoll's backend
 * does not wait at all and reports every socket ready, so the loop tries
 * them all.
 *
 * A connection reads at most ENGINE_IO_MAX bytes per turn into the
 * worker's one read buffer, transforms them there and writes them back
 * at once; only what the socket does not take is copied into the
 * connection's outbuf.  Its state (conn.h) says what the poller watches
 * it for: READING and LINGERING read, and any state writes while
 * something is owed.
 *
 * Edge-triggered backends report readiness once, so a connection or a
 * listener that stops early for fairness goes on the worker's ready list
 * and gets its next turn without waiting for a new edge.  Commands from
 * the supervisor are handled at the end of a round, after every event
 * the wait reported: a command may close connections, and a descriptor
 * closed here may be accepted again at once by another worker, whose
 * connection an event still in the list must not reach.  The idle rule
 * and the pause after an accept failure are checked once a second.
 *
 * The sigio backend waits for real-time signals rather than on a set of
 * descriptors; to this loop it is one more edge-triggered backend.
 *
 * In echo mode, a connection whose read brings splice_min_read bytes
 * moves the rest of its bytes through a pipe of its own with splice(2)
 * (zcopy.c): what it owes is then what its outbuf holds, written first,
 * and what its pipe holds after it.  The pipe is never watched: the
 * socket's readiness says when to splice either way.  The connection
 * splices only while its outbuf is empty; when the pipe is full and the
 * socket still has input, the pipe is spliced out first; if the socket
 * takes none of it (a client that sends without reading), what the pipe
 * holds moves into the outbuf and reading goes on with recv() up to
 * max_pending_bytes, as for any connection, until the outbuf has drained.
 */
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "log.h"
#include "outbuf.h"
#include "poller.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"
#include "zcopy.h"

#define PL_EVENTS	256	/* readiness events taken per wait */

struct pl_worker;

/* A connection: the core's part, then what the poller loop adds. */
struct pl_conn {
	struct conn		 pc_conn;
	unsigned char		 pc_mask;	/* what the poller watches */
	unsigned char		 pc_ready;	/* edge seen, not yet handled */
	unsigned char		 pc_hup;	/* peer shut down: read to EOF */
	TAILQ_ENTRY(pl_conn)	 pc_ready_entry;
	struct pl_worker	*pc_pw;
	struct outbuf		 pc_out;
};

struct pl_listener {
	const struct listener	*l_src;
	int			 l_mask;	/* POLLER_READ, or 0 if paused */
	int			 l_ready;	/* stopped early: accept again */
};

struct pl_worker {
	struct worker		*pw_worker;
	const struct poller	*pw_ops;
	void			*pw_poller;
	TAILQ_HEAD(pl_conn_list, pl_conn) pw_ready;
	struct pl_listener	*pw_listeners;
	size_t			 pw_nlisteners;
	int64_t			 pw_now;	/* ms, when the round began */
	int64_t			 pw_resume_at;	/* ms: paused listeners resume */
	struct poller_event	 pw_fired[PL_EVENTS];
	unsigned char		 pw_buf[ENGINE_IO_MAX];
};

static int	pl_start(struct worker *, const struct poller *, char *,
		    size_t);
static int	pl_start_select(struct worker *, char *, size_t);
static int	pl_start_poll(struct worker *, char *, size_t);
static int	pl_start_epoll(struct worker *, char *, size_t);
static int	pl_start_epoll_lt(struct worker *, char *, size_t);
static int	pl_start_busy(struct worker *, char *, size_t);
static int	pl_start_sigio(struct worker *, char *, size_t);
static void	pl_run(struct worker *);
static void	pl_stop(struct worker *);
static void	pl_listen(struct worker *);
static void	pl_unlisten(struct worker *);

static int	pl_round(struct pl_worker *);
static void	pl_dispatch(struct pl_worker *, int, int);
static void	pl_run_ready(struct pl_worker *);
static void	pl_tick(struct pl_worker *);
static void	pl_listener_watch(struct pl_worker *, struct pl_listener *,
		    int);
static void	pl_accept(struct pl_worker *, struct pl_listener *);
static void	pl_admit(struct pl_worker *, const struct listener *, int);
static int	pl_conn_read(struct pl_conn *);
static int	pl_conn_splice(struct pl_conn *);
static ssize_t	pl_conn_splice_out(struct pl_conn *);
static size_t	pl_conn_owed(struct pl_conn *);
static int	pl_conn_pipe_full(struct pl_conn *);
static int	pl_conn_unsplice(struct pl_conn *);
static int	pl_conn_send(struct pl_conn *, const unsigned char *, size_t);
static int	pl_conn_write(struct pl_conn *);
static void	pl_conn_state(struct pl_conn *, enum conn_state);
static int	pl_conn_watch(struct pl_conn *);
static void	pl_conn_mark_ready(struct pl_conn *, int);
static int	pl_conn_finish(struct pl_conn *, const char *);
static void	pl_conn_drain(struct worker *, struct conn *, const char *);
static void	pl_conn_close(struct worker *, struct conn *, const char *);
static void	pl_conn_end(struct pl_conn *, const char *);

#define PL_ENGINE_AS(n, m, fn, teach) {					\
	.name = (n), .model = (m), .teaching = (teach),			\
	.start = (fn), .run = pl_run, .stop = pl_stop,			\
	.listen = pl_listen, .unlisten = pl_unlisten,			\
	.conn_size = sizeof(struct pl_conn), .drain = pl_conn_drain,	\
	.close = pl_conn_close						\
}
#define PL_ENGINE(n, m, fn)		PL_ENGINE_AS(n, m, fn, 0)
#define PL_TEACHING(n, m, fn)		PL_ENGINE_AS(n, m, fn, 1)

const struct engine engine_select = PL_ENGINE("select",
    "nonblocking sockets, multiplexed with select()", pl_start_select);
const struct engine engine_poll = PL_ENGINE("poll",
    "nonblocking sockets, multiplexed with poll()", pl_start_poll);
const struct engine engine_epoll = PL_ENGINE("epoll",
    "nonblocking sockets, edge-triggered epoll", pl_start_epoll);
const struct engine engine_epoll_lt = PL_ENGINE("epoll-lt",
    "nonblocking sockets, level-triggered epoll", pl_start_epoll_lt);
const struct engine engine_busypoll = PL_TEACHING("busypoll",
    "nonblocking sockets, no wait: tries them all", pl_start_busy);
const struct engine engine_sigio = PL_ENGINE("sigio",
    "signal-driven I/O: F_SETSIG real-time signals", pl_start_sigio);

/* Start a worker on select(). */
static int
pl_start_select(struct worker *w, char *cause, size_t len)
{
	return (pl_start(w, &poller_select, cause, len));
}

/* Start a worker on poll(). */
static int
pl_start_poll(struct worker *w, char *cause, size_t len)
{
	return (pl_start(w, &poller_poll, cause, len));
}

/* Start a worker on epoll. */
static int
pl_start_epoll(struct worker *w, char *cause, size_t len)
{
	return (pl_start(w, &poller_epoll, cause, len));
}

/* Start a worker on level-triggered epoll. */
static int
pl_start_epoll_lt(struct worker *w, char *cause, size_t len)
{
	return (pl_start(w, &poller_epoll_lt, cause, len));
}

/* Start a worker that waits for nothing and tries every socket. */
static int
pl_start_busy(struct worker *w, char *cause, size_t len)
{
	return (pl_start(w, &poller_busy, cause, len));
}

/* Start a worker on signal-driven I/O. */
static int
pl_start_sigio(struct worker *w, char *cause, size_t len)
{
	poller_sigio_owner(w->w_id);
	return (pl_start(w, &poller_sigio, cause, len));
}

/*
 * Create the worker's poller, and watch the notify descriptor and the
 * listeners.  The poller is sized for the open-file limit at start; a
 * backend that keeps an array grows it should a reload raise the limit.
 */
static int
pl_start(struct worker *w, const struct poller *ops, char *cause, size_t len)
{
	struct pl_worker	*pw;
	struct rlimit		 rl;
	int			 setsize = 1 << 20;

	if ((pw = calloc(1, sizeof(*pw))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	w->w_engine = pw;
	pw->pw_worker = w;
	pw->pw_ops = ops;
	TAILQ_INIT(&pw->pw_ready);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1 << 20)
		setsize = (int)rl.rlim_cur;
	if ((pw->pw_poller = ops->create(setsize, cause, len)) == NULL)
		return (-1);
	if (ops->set(pw->pw_poller, w->w_notify, 0, POLLER_READ) == -1) {
		snprintf(cause, len, "cannot watch descriptor %d with %s: %s",
		    w->w_notify, ops->name, strerror(errno));
		return (-1);
	}
	pw->pw_now = engine_now_ms();
	zcopy_init();
	pl_listen(w);
	return (0);
}

/* Serve until a STOP has been handled and every connection is closed. */
static void
pl_run(struct worker *w)
{
	struct pl_worker	*pw = w->w_engine;
	int64_t			 last_tick = engine_now_ms();

	while (!engine_done(w)) {
		if (pl_round(pw))
			worker_drain(w);
		if (pw->pw_now - last_tick >= ENGINE_TICK_MS) {
			last_tick = pw->pw_now;
			pl_tick(pw);
		}
	}
}

/*
 * Wait, handle every event reported and every connection on the ready
 * list; return whether the notify descriptor was among the events.
 */
static int
pl_round(struct pl_worker *pw)
{
	int	i, n, notified = 0, timeout = ENGINE_TICK_MS;
	size_t	j;

	if (!TAILQ_EMPTY(&pw->pw_ready))
		timeout = 0;
	for (j = 0; j < pw->pw_nlisteners; j++)
		if (pw->pw_listeners[j].l_ready)
			timeout = 0;
	n = pw->pw_ops->wait(pw->pw_poller, timeout, pw->pw_fired, PL_EVENTS);
	pw->pw_now = engine_now_ms();
	for (i = 0; i < n; i++) {
		if (pw->pw_fired[i].fd == pw->pw_worker->w_notify)
			notified = 1;
		else
			pl_dispatch(pw, pw->pw_fired[i].fd,
			    pw->pw_fired[i].mask);
	}
	pl_run_ready(pw);
	return (notified);
}

/* Free everything pl_start() made. */
static void
pl_stop(struct worker *w)
{
	struct pl_worker	*pw = w->w_engine;

	if (pw == NULL)
		return;
	conn_halt_all(w, CONN_CUT);
	pl_unlisten(w);
	if (pw->pw_poller != NULL)
		pw->pw_ops->free(pw->pw_poller);
	free(pw);
	w->w_engine = NULL;
}

/*
 * Watch every listener the worker has now.  As in the libevent engine,
 * every worker watches the same sockets and the kernel hands each
 * connection to one accept(); the others see EAGAIN.
 */
static void
pl_listen(struct worker *w)
{
	struct pl_worker	*pw = w->w_engine;
	size_t			 i;

	pl_unlisten(w);
	pw->pw_listeners = calloc(w->w_nlisteners, sizeof(*pw->pw_listeners));
	if (pw->pw_listeners == NULL) {
		log_warnx("worker %d: out of memory: not accepting", w->w_id);
		return;
	}
	pw->pw_nlisteners = w->w_nlisteners;
	for (i = 0; i < pw->pw_nlisteners; i++) {
		pw->pw_listeners[i].l_src = &w->w_listeners[i];
		pl_listener_watch(pw, &pw->pw_listeners[i], POLLER_READ);
	}
}

/* Stop watching every listener; the supervisor closes them. */
static void
pl_unlisten(struct worker *w)
{
	struct pl_worker	*pw = w->w_engine;
	size_t			 i;

	for (i = 0; i < pw->pw_nlisteners; i++)
		pl_listener_watch(pw, &pw->pw_listeners[i], 0);
	free(pw->pw_listeners);
	pw->pw_listeners = NULL;
	pw->pw_nlisteners = 0;
	pw->pw_resume_at = 0;
}

/* One readiness event: a listener or a connection. */
static void
pl_dispatch(struct pl_worker *pw, int fd, int mask)
{
	struct pl_conn	*pc;
	size_t		 i;

	for (i = 0; i < pw->pw_nlisteners; i++) {
		if (pw->pw_listeners[i].l_src->l_fd == fd) {
			pl_accept(pw, &pw->pw_listeners[i]);
			return;
		}
	}
	/* Nothing else is watched; but a listener may have failed to go. */
	pc = (struct pl_conn *)conn_at(fd);
	if (pc->pc_pw != pw || pc->pc_conn.c_state == CONN_CLOSED)
		return;
	if (mask & POLLER_HUP)
		pc->pc_hup = 1;
	/* Write first: it may make room to read, or finish a drain. */
	if ((mask & POLLER_WRITE) && (pc->pc_mask & POLLER_WRITE) &&
	    pl_conn_write(pc) == -1)
		return;
	if ((mask & POLLER_READ) && (pc->pc_mask & POLLER_READ))
		(void)pl_conn_read(pc);
}

/*
 * Give every connection and listener on the ready list one more turn.
 * Only those on the list now: one that stops early again goes to the
 * back and waits for the next round, after the poller has been asked.
 */
static void
pl_run_ready(struct pl_worker *pw)
{
	struct pl_conn	*pc, *last = TAILQ_LAST(&pw->pw_ready, pl_conn_list);
	int		 ready;
	size_t		 i;

	for (i = 0; i < pw->pw_nlisteners; i++) {
		if (pw->pw_listeners[i].l_ready) {
			pw->pw_listeners[i].l_ready = 0;
			pl_accept(pw, &pw->pw_listeners[i]);
		}
	}
	while (last != NULL && (pc = TAILQ_FIRST(&pw->pw_ready)) != NULL) {
		TAILQ_REMOVE(&pw->pw_ready, pc, pc_ready_entry);
		ready = pc->pc_ready;
		pc->pc_ready = 0;
		if (pc == last)
			last = NULL;
		pl_dispatch(pw, conn_fd(&pc->pc_conn), ready);
	}
}

/*
 * Once a second: the core's idle and linger rules, and resume paused
 * listeners.
 */
static void
pl_tick(struct pl_worker *pw)
{
	size_t	i;

	conn_tick(pw->pw_worker, pw->pw_now);
	if (pw->pw_resume_at != 0 && pw->pw_now >= pw->pw_resume_at) {
		pw->pw_resume_at = 0;
		for (i = 0; i < pw->pw_nlisteners; i++)
			pl_listener_watch(pw, &pw->pw_listeners[i],
			    POLLER_READ);
	}
}

/* Watch a listener for mask (POLLER_READ, or 0 to pause it). */
static void
pl_listener_watch(struct pl_worker *pw, struct pl_listener *l, int mask)
{
	int	fd = l->l_src->l_fd;
	int	shared = l->l_src->l_own ? 0 : POLLER_SHARED;

	if (l->l_mask == mask)
		return;
	/*
	 * Every worker watches the same listeners, unless reuseport gave it
	 * its own: say which to the backend.
	 */
	if (pw->pw_ops->set(pw->pw_poller, fd,
	    l->l_mask != 0 ? l->l_mask | shared : 0,
	    mask != 0 ? mask | shared : 0) == -1) {
		log_warn("worker %d: %s cannot watch listener %s",
		    pw->pw_worker->w_id, pw->pw_ops->name, l->l_src->l_name);
		/* Try again as after an accept failure, or never accept. */
		if (mask != 0)
			pw->pw_resume_at = pw->pw_now +
			    ENGINE_ACCEPT_PAUSE * 1000;
		return;
	}
	l->l_mask = mask;
	if (mask == 0)
		l->l_ready = 0;
}

/*
 * Accept up to ENGINE_ACCEPT_BATCH connections, so established ones get
 * a turn; if that many came, try again on the next round.
 */
static void
pl_accept(struct pl_worker *pw, struct pl_listener *l)
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
			pl_listener_watch(pw, l, 0);
			pw->pw_resume_at = pw->pw_now +
			    ENGINE_ACCEPT_PAUSE * 1000;
			return;
		}
		pl_admit(pw, l->l_src, fd);
	}
	l->l_ready = 1;
}

/* Serve a just-accepted descriptor, or close it at once. */
static void
pl_admit(struct pl_worker *pw, const struct listener *l, int fd)
{
	struct worker	*w = pw->pw_worker;
	struct conn	*c;
	struct pl_conn	*pc;
	char		 why[128];

	if ((c = conn_admit(w, l, fd, pw->pw_now)) == NULL)
		return;
	if (pw->pw_ops->max_fd != -1 && fd > pw->pw_ops->max_fd) {
		snprintf(why, sizeof(why), "descriptor %d is above %s's "
		    "limit of %d", fd, pw->pw_ops->name, pw->pw_ops->max_fd);
		conn_refuse(w, c, STATS_REJ_FD_SETSIZE, why);
		return;
	}
	pc = (struct pl_conn *)c;
	pc->pc_pw = pw;
	if (pl_conn_watch(pc) == -1)
		return;
	/* An edge may have come before the poller watched the socket. */
	if (pw->pw_ops->edge_triggered)
		pl_conn_mark_ready(pc, POLLER_READ);
}

/*
 * Read once, transform, and send back at once what the socket takes.
 * Return -1 if the connection was closed.
 */
static int
pl_conn_read(struct pl_conn *pc)
{
	struct pl_worker	*pw = pc->pc_pw;
	struct conn		*c = &pc->pc_conn;
	const char		*why;
	ssize_t			 n;

	if (c->c_state == CONN_PROXY) {
		switch (conn_proxy(pw->pw_worker, c, &why)) {
		case -1:
			pl_conn_end(pc, why);
			return (-1);
		case 0:
			return (0);
		}
	}
	if (c->c_state != CONN_LINGERING && zcopy_active(conn_fd(c)) &&
	    outbuf_pending(&pc->pc_out) == 0)
		return (pl_conn_splice(pc));
	n = recv(conn_fd(c), pw->pw_buf, sizeof(pw->pw_buf), 0);
	if (n == -1) {
		if (errno == EINTR)
			pl_conn_mark_ready(pc, POLLER_READ);
		else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			pl_conn_end(pc, strerror(errno));
			return (-1);
		}
		return (0);
	}
	if (n == 0) {
		c->c_eof = 1;
		if (c->c_state == CONN_LINGERING) {
			pl_conn_end(pc, "drained");
			return (-1);
		}
		pl_conn_drain(pw->pw_worker, c, "end of input");
		return (0);
	}
	conn_touch(c, pw->pw_now);
	if (c->c_state == CONN_LINGERING) {
		pl_conn_mark_ready(pc, POLLER_READ);
		return (0);
	}
	conn_moved_in(conn_fd(c), (uint64_t)n);
	transform_apply(c->c_mode, pw->pw_buf, (size_t)n);
	if (pl_conn_send(pc, pw->pw_buf, (size_t)n) == -1)
		return (-1);
	if (zcopy_wanted(c, pw->pw_worker->w_conf, (size_t)n))
		(void)zcopy_open(c, pw->pw_ops->max_fd + 1);
	if (conn_full(c, outbuf_pending(&pc->pc_out)))
		pl_conn_state(pc, CONN_PAUSED);
	else if ((size_t)n == sizeof(pw->pw_buf) || pc->pc_hup)
		pl_conn_mark_ready(pc, POLLER_READ);
	return (pl_conn_watch(pc));
}

/*
 * Splice what the client sent into the connection's pipe, as much as
 * max_pending_bytes leaves room for, and on back to the client unless its
 * outbuf is owed first.  Return -1 if the connection was closed.
 */
static int
pl_conn_splice(struct pl_conn *pc)
{
	struct pl_worker	*pw = pc->pc_pw;
	struct conn		*c = &pc->pc_conn;
	size_t			 owed = pl_conn_owed(pc), max = 0;
	ssize_t			 n;

	if (owed < c->c_max_pending)
		max = c->c_max_pending - owed;
	if (max > ENGINE_IO_MAX)
		max = ENGINE_IO_MAX;
	if ((n = zcopy_in(conn_fd(c), max)) == -1) {
		if (errno == EINTR) {
			pl_conn_mark_ready(pc, POLLER_READ);
			return (0);
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			pl_conn_end(pc, strerror(errno));
			return (-1);
		}
		if (pl_conn_pipe_full(pc)) {
			/*
			 * A client that reads takes the pipe back first,
			 * and splicing goes on; only one that does not
			 * (its socket takes nothing) costs a copy.
			 */
			if ((n = pl_conn_splice_out(pc)) == -1)
				return (-1);
			if (n > 0)
				pl_conn_mark_ready(pc, POLLER_READ);
			else if (pl_conn_unsplice(pc) == -1)
				return (-1);
		}
		return (pl_conn_watch(pc));
	}
	if (n == 0) {
		c->c_eof = 1;
		pl_conn_drain(pw->pw_worker, c, "end of input");
		return (0);
	}
	conn_touch(c, pw->pw_now);
	if (outbuf_pending(&pc->pc_out) == 0 && pl_conn_splice_out(pc) == -1)
		return (-1);
	if (conn_full(c, pl_conn_owed(pc)))
		pl_conn_state(pc, CONN_PAUSED);
	else
		pl_conn_mark_ready(pc, POLLER_READ);
	return (pl_conn_watch(pc));
}

/*
 * Splice what the connection's pipe holds back to the client, as much as
 * the socket takes.  Return how many bytes it took, or -1 if the
 * connection was closed.
 */
static ssize_t
pl_conn_splice_out(struct pl_conn *pc)
{
	struct conn	*c = &pc->pc_conn;
	ssize_t		 n;

	if ((n = zcopy_out(conn_fd(c))) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		pl_conn_end(pc, strerror(errno));
		return (-1);
	}
	if (n > 0)
		conn_touch(c, pc->pc_pw->pw_now);
	return (n);
}

/*
 * The pipe refused more: is that because it is full while the socket
 * still has input?  (Its slots can fill before its bytes do, one a
 * segment.)
 */
static int
pl_conn_pipe_full(struct pl_conn *pc)
{
	int	fd = conn_fd(&pc->pc_conn), unread = 0;

	return (zcopy_held(fd) > 0 && ioctl(fd, FIONREAD, &unread) == 0 &&
	    unread > 0);
}

/*
 * Move what the pipe holds into the outbuf, a copy, so that reading goes
 * on with recv() up to max_pending_bytes, as the core's rule promises,
 * and the pipe is used again once the outbuf has drained.  Return -1 if
 * the connection was closed.
 */
static int
pl_conn_unsplice(struct pl_conn *pc)
{
	struct pl_worker	*pw = pc->pc_pw;
	int			 fd = conn_fd(&pc->pc_conn), i;
	ssize_t			 n;

	for (i = 0; i < 64 && zcopy_held(fd) > 0; i++) {
		if ((n = zcopy_take(fd, pw->pw_buf, sizeof(pw->pw_buf))) <= 0) {
			pl_conn_end(pc, "cannot read its pipe");
			return (-1);
		}
		if (outbuf_append(&pc->pc_out, pw->pw_buf, (size_t)n) == -1) {
			pl_conn_end(pc, "out of memory");
			return (-1);
		}
	}
	pl_conn_mark_ready(pc, POLLER_READ);
	return (0);
}

/* What the connection owes its client: its outbuf, then its pipe. */
static size_t
pl_conn_owed(struct pl_conn *pc)
{
	return (outbuf_pending(&pc->pc_out) +
	    zcopy_held(conn_fd(&pc->pc_conn)));
}

/*
 * Send p now if nothing is owed before it, and keep what the socket does
 * not take.  Return -1 if the connection was closed.
 */
static int
pl_conn_send(struct pl_conn *pc, const unsigned char *p, size_t len)
{
	ssize_t	n = 0;

	if (outbuf_pending(&pc->pc_out) == 0) {
		n = send(conn_fd(&pc->pc_conn), p, len, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			pl_conn_end(pc, strerror(errno));
			return (-1);
		}
		if (n == -1)
			n = 0;
		conn_moved_out(conn_fd(&pc->pc_conn), (uint64_t)n);
	}
	if ((size_t)n < len &&
	    outbuf_append(&pc->pc_out, p + n, len - (size_t)n) == -1) {
		pl_conn_end(pc, "out of memory");
		return (-1);
	}
	return (0);
}

/*
 * Write what is owed, at most ENGINE_IO_MAX per turn.  Return -1 if the
 * connection was closed.
 */
static int
pl_conn_write(struct pl_conn *pc)
{
	struct conn		*c = &pc->pc_conn;
	const unsigned char	*p;
	size_t			 len;
	ssize_t			 n;

	if ((p = outbuf_peek(&pc->pc_out, &len)) != NULL) {
		n = send(conn_fd(c), p, len < ENGINE_IO_MAX ? len :
		    ENGINE_IO_MAX, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return (0);
			pl_conn_end(pc, strerror(errno));
			return (-1);
		}
		conn_touch(c, pc->pc_pw->pw_now);
		conn_moved_out(conn_fd(c), (uint64_t)n);
		outbuf_consume(&pc->pc_out, (size_t)n);
		if ((size_t)n == ENGINE_IO_MAX &&
		    outbuf_pending(&pc->pc_out) > 0)
			pl_conn_mark_ready(pc, POLLER_WRITE);
	}
	if (outbuf_pending(&pc->pc_out) == 0 && zcopy_held(conn_fd(c)) > 0) {
		if (pl_conn_splice_out(pc) == -1)
			return (-1);
		/* The pipe has room again. */
		if (c->c_state == CONN_READING)
			pl_conn_mark_ready(pc, POLLER_READ);
	}
	if (c->c_state == CONN_DRAINING && pl_conn_owed(pc) == 0)
		return (pl_conn_finish(pc, "drained"));
	if (c->c_state == CONN_PAUSED && conn_drained(c, pl_conn_owed(pc))) {
		pl_conn_state(pc, CONN_READING);
		if (pc->pc_pw->pw_ops->edge_triggered)
			pl_conn_mark_ready(pc, POLLER_READ);
	}
	return (pl_conn_watch(pc));
}

/* Change the state through the core's setter. */
static void
pl_conn_state(struct pl_conn *pc, enum conn_state state)
{
	conn_set_state(pc->pc_pw->pw_worker, &pc->pc_conn, state);
}

/*
 * Tell the poller what the state and the output call for.  Return -1 if
 * the poller refused, which closed the connection.
 */
static int
pl_conn_watch(struct pl_conn *pc)
{
	struct pl_worker	*pw = pc->pc_pw;
	struct conn		*c = &pc->pc_conn;
	int			 mask = 0;

	if (c->c_state == CONN_READING || c->c_state == CONN_PROXY ||
	    c->c_state == CONN_LINGERING)
		mask |= POLLER_READ;
	if (pl_conn_owed(pc) > 0)
		mask |= POLLER_WRITE;
	if (mask == pc->pc_mask)
		return (0);
	if (pw->pw_ops->set(pw->pw_poller, conn_fd(c), pc->pc_mask,
	    mask) == -1) {
		pl_conn_end(pc, strerror(errno));
		return (-1);
	}
	pc->pc_mask = (unsigned char)mask;
	return (0);
}

/*
 * Remember that pc can go on without a new edge.  Only edge-triggered
 * backends need this; a level-triggered one reports it again anyway.
 */
static void
pl_conn_mark_ready(struct pl_conn *pc, int mask)
{
	if (!pc->pc_pw->pw_ops->edge_triggered)
		return;
	if (pc->pc_ready == 0)
		TAILQ_INSERT_TAIL(&pc->pc_pw->pw_ready, pc, pc_ready_entry);
	pc->pc_ready |= (unsigned char)mask;
}

/*
 * Everything owed is with the kernel: close, or linger as the core says.
 * Return -1 if the connection was closed.
 */
static int
pl_conn_finish(struct pl_conn *pc, const char *why)
{
	if (!conn_finish(pc->pc_pw->pw_worker, &pc->pc_conn)) {
		pl_conn_end(pc, why);
		return (-1);
	}
	/* A lingering connection only discards: its pipe can go. */
	zcopy_close(conn_fd(&pc->pc_conn));
	if (pl_conn_watch(pc) == -1)
		return (-1);
	pl_conn_mark_ready(pc, POLLER_READ);
	return (0);
}

/* Read no more; close once everything owed has been written. */
static void
pl_conn_drain(struct worker *w, struct conn *c, const char *why)
{
	struct pl_conn	*pc = (struct pl_conn *)c;

	if (conn_ending(c))
		return;
	if (pl_conn_owed(pc) == 0) {
		(void)pl_conn_finish(pc, why);
		return;
	}
	conn_set_state(w, c, CONN_DRAINING);
	(void)pl_conn_watch(pc);
}

/* The core's close: end c now. */
static void
pl_conn_close(struct worker *w, struct conn *c, const char *why)
{
	pl_conn_end((struct pl_conn *)c, why);
}

/*
 * The one way a connection ends here: the core releases it, then the
 * poller forgets it and the descriptor is closed, last.
 */
static void
pl_conn_end(struct pl_conn *pc, const char *why)
{
	struct pl_worker	*pw = pc->pc_pw;
	int			 fd = conn_fd(&pc->pc_conn);

	conn_release(pw->pw_worker, &pc->pc_conn, why);
	if (pc->pc_mask != 0)
		(void)pw->pw_ops->set(pw->pw_poller, fd, pc->pc_mask, 0);
	if (pc->pc_ready != 0)
		TAILQ_REMOVE(&pw->pw_ready, pc, pc_ready_entry);
	outbuf_free(&pc->pc_out);
	zcopy_close(fd);
	close(fd);
}
