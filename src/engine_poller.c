/*
 * The readiness engines: nonblocking sockets multiplexed by select(),
 * poll() or epoll, one hand-written loop shared by all three.  Only the
 * way of waiting differs, and that is a struct poller (poller.h).
 *
 * A connection reads at most ENGINE_IO_MAX bytes per turn into the
 * worker's one read buffer, transforms them there and writes them back
 * at once; only what the socket does not take is copied into the
 * connection's outbuf.  Its state says what it waits for:
 *  - READING: reading, and writing whatever is owed;
 *  - PAUSED: owed max_pending_bytes, so only writing until that has
 *    drained to half (the backpressure rule in outbuf.c);
 *  - DRAINING: end of input or shutdown: writing what is owed, then
 *    closing;
 *  - LINGERING: all sent, but closing now would reset the connection
 *    (see engine_must_linger): discarding input until the client's end.
 * Edge-triggered backends report readiness once, so a connection or a
 * listener that stops early for fairness goes on the worker's ready list
 * and gets its next turn without waiting for a new edge.  Idle timeouts
 * and the pause after an accept failure are checked once a second, on a
 * millisecond clock, so a connection is closed up to a second late but
 * never early.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "log.h"
#include "outbuf.h"
#include "poller.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"

#define PL_EVENTS	256	/* readiness events taken per wait */
#define PL_TICK_MS	1000	/* idle and pause checks */

enum conn_state {
	CONN_READING,
	CONN_PAUSED,
	CONN_DRAINING,
	CONN_LINGERING
};

static const char *const conn_state_names[] = {
	"reading", "paused", "draining", "lingering"
};

struct pl_worker;

struct pconn {
	TAILQ_ENTRY(pconn)	 c_entry;
	TAILQ_ENTRY(pconn)	 c_ready_entry;
	struct pl_worker	*c_pw;
	int			 c_fd;
	enum conn_state		 c_state;
	int			 c_mask;	/* what the poller watches */
	int			 c_ready;	/* edge seen, not yet handled */
	int			 c_hup;		/* peer shut down: read to EOF */
	int			 c_eof;		/* read the end of input */
	enum transform_mode	 c_mode;
	int			 c_idle;	/* idle_timeout, seconds */
	size_t			 c_max_pending;
	int64_t			 c_last_io;	/* ms: last byte moved either way */
	struct outbuf		 c_out;
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
	struct pconn		**pw_conns_by_fd;
	int			 pw_nfds;
	TAILQ_HEAD(pconn_list, pconn) pw_conns;
	struct pconn_list	 pw_ready;
	struct pl_listener	*pw_listeners;
	size_t			 pw_nlisteners;
	int64_t			 pw_now;	/* ms, on a clock that never jumps */
	int64_t			 pw_resume_at;	/* ms: paused listeners resume */
	int			 pw_stopping;
	int			 pw_done;
	struct poller_event	 pw_fired[PL_EVENTS];
	unsigned char		 pw_buf[ENGINE_IO_MAX];
};

static int	pl_start(struct worker *, const struct poller *, char *,
		    size_t);
static int	pl_start_select(struct worker *, char *, size_t);
static int	pl_start_poll(struct worker *, char *, size_t);
static int	pl_start_epoll(struct worker *, char *, size_t);
static void	pl_run(struct worker *);
static void	pl_command(struct worker *, enum engine_cmd);
static void	pl_stop(struct worker *);

static void	pl_dispatch(struct pl_worker *, int, int);
static void	pl_run_ready(struct pl_worker *);
static void	pl_tick(struct pl_worker *);
static void	pl_listen_all(struct pl_worker *);
static void	pl_unlisten_all(struct pl_worker *);
static void	pl_listener_watch(struct pl_worker *, struct pl_listener *,
		    int);
static void	pl_accept(struct pl_worker *, struct pl_listener *);
static void	pl_admit(struct pl_worker *, int);
static int	pl_grow(struct pl_worker *, int);
static void	pl_conn_read(struct pconn *);
static int	pl_conn_send(struct pconn *, const unsigned char *, size_t);
static void	pl_conn_write(struct pconn *);
static void	pl_conn_set_state(struct pconn *, enum conn_state);
static void	pl_conn_watch(struct pconn *);
static void	pl_conn_mark_ready(struct pconn *, int);
static void	pl_conn_drain(struct pconn *, const char *);
static void	pl_conn_finish(struct pconn *, const char *);
static void	pl_conn_close(struct pconn *, const char *);
static void	pl_conn_all(struct pl_worker *,
		    void (*)(struct pconn *, const char *), const char *);

const struct engine engine_select = {
	"select", NULL, pl_start_select, pl_run, pl_command, pl_stop
};
const struct engine engine_poll = {
	"poll", NULL, pl_start_poll, pl_run, pl_command, pl_stop
};
const struct engine engine_epoll = {
	"epoll", NULL, pl_start_epoll, pl_run, pl_command, pl_stop
};

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

/*
 * Create the worker's poller and descriptor table, and watch the notify
 * descriptor and the listeners.  The table covers every descriptor the
 * open-file limit allows; one beyond it is refused at accept.
 */
static int
pl_start(struct worker *w, const struct poller *ops, char *cause, size_t len)
{
	struct pl_worker	*pw;
	struct rlimit		 rl;

	if ((pw = calloc(1, sizeof(*pw))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	w->w_engine = pw;
	pw->pw_worker = w;
	pw->pw_ops = ops;
	TAILQ_INIT(&pw->pw_conns);
	TAILQ_INIT(&pw->pw_ready);
	pw->pw_nfds = 1 << 20;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1 << 20)
		pw->pw_nfds = (int)rl.rlim_cur;
	pw->pw_conns_by_fd = calloc(pw->pw_nfds, sizeof(*pw->pw_conns_by_fd));
	if (pw->pw_conns_by_fd == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	if ((pw->pw_poller = ops->create(pw->pw_nfds, cause, len)) == NULL)
		return (-1);
	if (ops->set(pw->pw_poller, w->w_notify, 0, POLLER_READ) == -1) {
		snprintf(cause, len, "cannot watch descriptor %d with %s: %s",
		    w->w_notify, ops->name, strerror(errno));
		return (-1);
	}
	pw->pw_now = engine_now_ms();
	pl_listen_all(pw);
	return (0);
}

/* Serve until a STOP has been handled and every connection is closed. */
static void
pl_run(struct worker *w)
{
	struct pl_worker	*pw = w->w_engine;
	int64_t			 last_tick = engine_now_ms();
	int			 i, n, timeout;
	size_t			 j;

	while (!pw->pw_done) {
		timeout = TAILQ_EMPTY(&pw->pw_ready) ? PL_TICK_MS : 0;
		for (j = 0; j < pw->pw_nlisteners; j++)
			if (pw->pw_listeners[j].l_ready)
				timeout = 0;
		n = pw->pw_ops->wait(pw->pw_poller, timeout, pw->pw_fired,
		    PL_EVENTS);
		pw->pw_now = engine_now_ms();
		for (i = 0; i < n && !pw->pw_done; i++)
			pl_dispatch(pw, pw->pw_fired[i].fd,
			    pw->pw_fired[i].mask);
		pl_run_ready(pw);
		if (pw->pw_now - last_tick >= PL_TICK_MS) {
			last_tick = pw->pw_now;
			pl_tick(pw);
		}
	}
}

/* Handle a command from the supervisor. */
static void
pl_command(struct worker *w, enum engine_cmd cmd)
{
	struct pl_worker	*pw = w->w_engine;

	switch (cmd) {
	case ENGINE_APPLY:
		pl_unlisten_all(pw);
		pl_listen_all(pw);
		break;
	case ENGINE_STOP:
		pw->pw_stopping = 1;
		pl_unlisten_all(pw);
		pl_conn_all(pw, pl_conn_drain, "shutdown");
		break;
	case ENGINE_DEADLINE:
		pw->pw_stopping = 1;
		pl_conn_all(pw, pl_conn_close, "shutdown deadline");
		break;
	}
	if (pw->pw_stopping && TAILQ_EMPTY(&pw->pw_conns))
		pw->pw_done = 1;
}

/* Free everything pl_start() made. */
static void
pl_stop(struct worker *w)
{
	struct pl_worker	*pw = w->w_engine;

	if (pw == NULL)
		return;
	pl_conn_all(pw, pl_conn_close, "worker stopped");
	pl_unlisten_all(pw);
	if (pw->pw_poller != NULL)
		pw->pw_ops->free(pw->pw_poller);
	free(pw->pw_conns_by_fd);
	free(pw);
	w->w_engine = NULL;
}

/* One readiness event: the notify descriptor, a listener or a client. */
static void
pl_dispatch(struct pl_worker *pw, int fd, int mask)
{
	struct pconn	*c;
	size_t		 i;

	if (fd == pw->pw_worker->w_notify) {
		worker_drain(pw->pw_worker);
		return;
	}
	for (i = 0; i < pw->pw_nlisteners; i++) {
		if (pw->pw_listeners[i].l_src->l_fd == fd) {
			pl_accept(pw, &pw->pw_listeners[i]);
			return;
		}
	}
	if (fd >= pw->pw_nfds || (c = pw->pw_conns_by_fd[fd]) == NULL)
		return;
	if (mask & POLLER_HUP)
		c->c_hup = 1;
	/* Write first: it may make room to read, or finish a drain. */
	if ((mask & POLLER_WRITE) && (c->c_mask & POLLER_WRITE))
		pl_conn_write(c);
	if ((mask & POLLER_READ) && pw->pw_conns_by_fd[fd] == c &&
	    (c->c_mask & POLLER_READ))
		pl_conn_read(c);
}

/*
 * Give every connection and listener on the ready list one more turn.
 * Only those on the list now: one that stops early again goes to the
 * back and waits for the next round, after the poller has been asked.
 */
static void
pl_run_ready(struct pl_worker *pw)
{
	struct pconn	*c, *last = TAILQ_LAST(&pw->pw_ready, pconn_list);
	int		 ready;
	size_t		 i;

	for (i = 0; i < pw->pw_nlisteners && !pw->pw_done; i++) {
		if (pw->pw_listeners[i].l_ready) {
			pw->pw_listeners[i].l_ready = 0;
			pl_accept(pw, &pw->pw_listeners[i]);
		}
	}
	while (last != NULL && (c = TAILQ_FIRST(&pw->pw_ready)) != NULL) {
		TAILQ_REMOVE(&pw->pw_ready, c, c_ready_entry);
		ready = c->c_ready;
		c->c_ready = 0;
		if (c == last)
			last = NULL;
		pl_dispatch(pw, c->c_fd, ready);
	}
}

/*
 * Once a second: close idle connections and lingering ones that have
 * nothing left to lose, and resume paused listeners.
 */
static void
pl_tick(struct pl_worker *pw)
{
	struct pconn	*c, *next;
	size_t		 i;

	for (c = TAILQ_FIRST(&pw->pw_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, c_entry);
		if (c->c_state == CONN_LINGERING &&
		    !engine_must_linger(c->c_fd))
			pl_conn_close(c, "drained");
		else if (c->c_idle > 0 &&
		    pw->pw_now - c->c_last_io >= (int64_t)c->c_idle * 1000) {
			stats_count_timeout();
			pl_conn_close(c, "idle timeout");
		}
	}
	if (pw->pw_resume_at != 0 && pw->pw_now >= pw->pw_resume_at) {
		pw->pw_resume_at = 0;
		for (i = 0; i < pw->pw_nlisteners; i++)
			pl_listener_watch(pw, &pw->pw_listeners[i],
			    POLLER_READ);
	}
}

/*
 * Watch every listener the worker was given.  As in the libevent engine,
 * every worker watches the same sockets and the kernel hands each
 * connection to one accept(); the others see EAGAIN.
 */
static void
pl_listen_all(struct pl_worker *pw)
{
	struct worker	*w = pw->pw_worker;
	size_t		 i;

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
pl_unlisten_all(struct pl_worker *pw)
{
	size_t	i;

	for (i = 0; i < pw->pw_nlisteners; i++)
		pl_listener_watch(pw, &pw->pw_listeners[i], 0);
	free(pw->pw_listeners);
	pw->pw_listeners = NULL;
	pw->pw_nlisteners = 0;
	pw->pw_resume_at = 0;
}

/* Watch a listener for mask (POLLER_READ, or 0 to pause it). */
static void
pl_listener_watch(struct pl_worker *pw, struct pl_listener *l, int mask)
{
	int	fd = l->l_src->l_fd;

	if (l->l_mask == mask)
		return;
	if (pw->pw_ops->set(pw->pw_poller, fd, l->l_mask, mask) == -1) {
		log_warn("worker %d: %s cannot watch listener %s",
		    pw->pw_worker->w_id, pw->pw_ops->name, l->l_src->l_name);
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
		pl_admit(pw, fd);
	}
	l->l_ready = 1;
}

/*
 * Make room in the table for descriptor fd, doubling; -1 when out of
 * memory.  The table starts at the open-file limit, which a reload that
 * raises max_connections may raise.
 */
static int
pl_grow(struct pl_worker *pw, int fd)
{
	struct pconn	**t;
	int		  n = pw->pw_nfds;

	while (n <= fd)
		n *= 2;
	t = reallocarray(pw->pw_conns_by_fd, n, sizeof(*t));
	if (t == NULL)
		return (-1);
	memset(t + pw->pw_nfds, 0, (size_t)(n - pw->pw_nfds) * sizeof(*t));
	pw->pw_conns_by_fd = t;
	pw->pw_nfds = n;
	return (0);
}

/* Serve a just-accepted descriptor, or close it at once. */
static void
pl_admit(struct pl_worker *pw, int fd)
{
	const struct iod_conf	*conf = pw->pw_worker->w_conf;
	struct pconn		*c;
	char			 why[128];

	if (engine_admit(conf, fd) == -1)
		return;
	if (pw->pw_ops->max_fd != -1 && fd > pw->pw_ops->max_fd) {
		snprintf(why, sizeof(why), "descriptor %d is above %s's "
		    "limit of %d", fd, pw->pw_ops->name, pw->pw_ops->max_fd);
		engine_refuse(fd, why);
		return;
	}
	if (fd >= pw->pw_nfds && pl_grow(pw, fd) == -1) {
		engine_refuse(fd, "out of memory");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		engine_refuse(fd, "out of memory");
		return;
	}
	c->c_pw = pw;
	c->c_fd = fd;
	c->c_mode = conf->mode;
	c->c_idle = conf->idle_timeout;
	c->c_max_pending = conf->max_pending_bytes;
	c->c_last_io = pw->pw_now;
	engine_sockopts(conf, fd);
	pw->pw_conns_by_fd[fd] = c;
	TAILQ_INSERT_TAIL(&pw->pw_conns, c, c_entry);
	pl_conn_watch(c);
	/* An edge may have come before the poller watched the socket. */
	if (pw->pw_ops->edge_triggered)
		pl_conn_mark_ready(c, POLLER_READ);
}

/* Read once, transform, and send back at once what the socket takes. */
static void
pl_conn_read(struct pconn *c)
{
	struct pl_worker	*pw = c->c_pw;
	ssize_t			 n;

	n = recv(c->c_fd, pw->pw_buf, sizeof(pw->pw_buf), 0);
	if (n == -1) {
		if (errno == EINTR)
			pl_conn_mark_ready(c, POLLER_READ);
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			pl_conn_close(c, strerror(errno));
		return;
	}
	if (n == 0) {
		c->c_eof = 1;
		if (c->c_state == CONN_LINGERING)
			pl_conn_close(c, "drained");
		else
			pl_conn_drain(c, "end of input");
		return;
	}
	c->c_last_io = pw->pw_now;
	if (c->c_state == CONN_LINGERING) {
		pl_conn_mark_ready(c, POLLER_READ);
		return;
	}
	stats_add_in((uint64_t)n);
	transform_apply(c->c_mode, pw->pw_buf, (size_t)n);
	if (pl_conn_send(c, pw->pw_buf, (size_t)n) == -1)
		return;
	if (outbuf_full(&c->c_out, c->c_max_pending))
		pl_conn_set_state(c, CONN_PAUSED);
	else if ((size_t)n == sizeof(pw->pw_buf) || c->c_hup)
		pl_conn_mark_ready(c, POLLER_READ);
	pl_conn_watch(c);
}

/*
 * Send p now if nothing is owed before it, and keep what the socket does
 * not take.  Return -1 if the connection was closed.
 */
static int
pl_conn_send(struct pconn *c, const unsigned char *p, size_t len)
{
	ssize_t	n = 0;

	if (outbuf_pending(&c->c_out) == 0) {
		n = send(c->c_fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			pl_conn_close(c, strerror(errno));
			return (-1);
		}
		if (n == -1)
			n = 0;
		stats_add_out((uint64_t)n);
	}
	if ((size_t)n < len &&
	    outbuf_append(&c->c_out, p + n, len - (size_t)n) == -1) {
		pl_conn_close(c, "out of memory");
		return (-1);
	}
	return (0);
}

/* Write what is owed, at most ENGINE_IO_MAX per turn. */
static void
pl_conn_write(struct pconn *c)
{
	const unsigned char	*p;
	size_t			 len;
	ssize_t			 n;

	if ((p = outbuf_peek(&c->c_out, &len)) != NULL) {
		n = send(c->c_fd, p, len < ENGINE_IO_MAX ? len : ENGINE_IO_MAX,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				pl_conn_close(c, strerror(errno));
			return;
		}
		c->c_last_io = c->c_pw->pw_now;
		stats_add_out((uint64_t)n);
		outbuf_consume(&c->c_out, (size_t)n);
		if ((size_t)n == ENGINE_IO_MAX && outbuf_pending(&c->c_out) > 0)
			pl_conn_mark_ready(c, POLLER_WRITE);
	}
	if (c->c_state == CONN_DRAINING && outbuf_pending(&c->c_out) == 0) {
		pl_conn_finish(c, "drained");
		return;
	}
	if (c->c_state == CONN_PAUSED &&
	    outbuf_drained(&c->c_out, c->c_max_pending)) {
		pl_conn_set_state(c, CONN_READING);
		if (c->c_pw->pw_ops->edge_triggered)
			pl_conn_mark_ready(c, POLLER_READ);
	}
	pl_conn_watch(c);
}

/* The one place a connection changes state. */
static void
pl_conn_set_state(struct pconn *c, enum conn_state state)
{
	log_debug("worker %d: fd %d: %s -> %s", c->c_pw->pw_worker->w_id,
	    c->c_fd, conn_state_names[c->c_state], conn_state_names[state]);
	c->c_state = state;
}

/* Tell the poller what the state and the output call for. */
static void
pl_conn_watch(struct pconn *c)
{
	struct pl_worker	*pw = c->c_pw;
	int			 mask = 0;

	if (c->c_state == CONN_READING || c->c_state == CONN_LINGERING)
		mask |= POLLER_READ;
	if (outbuf_pending(&c->c_out) > 0)
		mask |= POLLER_WRITE;
	if (mask == c->c_mask)
		return;
	if (pw->pw_ops->set(pw->pw_poller, c->c_fd, c->c_mask, mask) == -1) {
		pl_conn_close(c, strerror(errno));
		return;
	}
	c->c_mask = mask;
}

/*
 * Remember that c can go on without a new edge.  Only edge-triggered
 * backends need this; a level-triggered one reports it again anyway.
 */
static void
pl_conn_mark_ready(struct pconn *c, int mask)
{
	if (!c->c_pw->pw_ops->edge_triggered)
		return;
	if (c->c_ready == 0)
		TAILQ_INSERT_TAIL(&c->c_pw->pw_ready, c, c_ready_entry);
	c->c_ready |= mask;
}

/* Read no more; close once everything owed has been written. */
static void
pl_conn_drain(struct pconn *c, const char *why)
{
	if (c->c_state == CONN_DRAINING || c->c_state == CONN_LINGERING)
		return;
	if (outbuf_pending(&c->c_out) == 0) {
		pl_conn_finish(c, why);
		return;
	}
	pl_conn_set_state(c, CONN_DRAINING);
	pl_conn_watch(c);
}

/* Everything owed is with the kernel: close, or linger if that loses it. */
static void
pl_conn_finish(struct pconn *c, const char *why)
{
	if (c->c_eof || !engine_must_linger(c->c_fd) ||
	    shutdown(c->c_fd, SHUT_WR) == -1) {
		pl_conn_close(c, why);
		return;
	}
	pl_conn_set_state(c, CONN_LINGERING);
	pl_conn_watch(c);
	pl_conn_mark_ready(c, POLLER_READ);
}

/* The one way a connection ends. */
static void
pl_conn_close(struct pconn *c, const char *why)
{
	struct pl_worker	*pw = c->c_pw;

	log_debug("worker %d: closing fd %d: %s", pw->pw_worker->w_id,
	    c->c_fd, why);
	if (c->c_mask != 0)
		(void)pw->pw_ops->set(pw->pw_poller, c->c_fd, c->c_mask, 0);
	if (c->c_ready != 0)
		TAILQ_REMOVE(&pw->pw_ready, c, c_ready_entry);
	TAILQ_REMOVE(&pw->pw_conns, c, c_entry);
	pw->pw_conns_by_fd[c->c_fd] = NULL;
	close(c->c_fd);
	outbuf_free(&c->c_out);
	free(c);
	stats_release();
	if (pw->pw_stopping && TAILQ_EMPTY(&pw->pw_conns))
		pw->pw_done = 1;
}

/* Drain or close every connection; fn may free the one it is given. */
static void
pl_conn_all(struct pl_worker *pw, void (*fn)(struct pconn *, const char *),
    const char *why)
{
	struct pconn	*c, *next;

	for (c = TAILQ_FIRST(&pw->pw_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, c_entry);
		fn(c, why);
	}
}
