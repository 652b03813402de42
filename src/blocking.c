/*
 * The blocking model, shared by the threads, fork and iterative engines:
 * the worker thread is an acceptor, and every connection gets a flow of
 * control of its own (a thread, a process) that reads, transforms and
 * writes with plain blocking calls until the connection ends.
 *
 * The acceptor poll()s the worker's notify descriptor, its listeners and
 * one descriptor of the engine's that says connections have ended.  What
 * differs between the engines (how a connection is started, stopped and
 * reaped, and how many may be served at once) is a struct blocking_model.
 * A model with bm_max connections being served is not asked to serve
 * another: the acceptor stops watching its listeners until one has been
 * reaped, and new clients wait in the kernel's backlog meanwhile.
 *
 * The connection loop reads at most min(BLOCKING_BUF_MAX,
 * max_pending_bytes) bytes, then writes all of them before it reads
 * again: that is the whole of backpressure here, and no connection ever
 * holds more than that.  It cannot hold more: a blocked read while
 * output is owed would stall a client that waits for that output.  So a
 * client that sends more than the kernel's socket buffers take before it
 * reads anything waits until it reads, whatever max_pending_bytes says.
 *
 * A connection is stopped from outside by shutdown(2), which wakes a
 * blocked recv() with 0 (drain) or fails every call (cut), together with
 * an order flag, since Linux still delivers data that arrives after
 * SHUT_RD.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "blocking.h"
#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "gate.h"
#include "log.h"
#include "sources.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"

/*
 * A signal handler may store to bc_order (fork engine) only if the store
 * cannot take a lock.
 */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free");

/*
 * A send() blocked on a client that does not read wakes this often
 * (seconds) to ask the core's idle rule; see blk_send().
 */
#define BLK_TICK	1

#define BLK_LINGER_MS	100	/* how often a drain's last wait looks */

#define BLK_NOTIFY	0	/* slots in the acceptor's pollfd array */
#define BLK_ENDED	1
#define BLK_FIRST	2	/* then one per listener */

struct blk_listener {
	const struct listener	*bl_src;
	int			 bl_paused;	/* after EMFILE and the like */
};

struct blk_acceptor {
	struct worker		*ba_worker;
	const struct blocking_model *ba_model;
	void			*ba_arg;
	int			 ba_ended;	/* the model's fd */
	struct blk_listener	*ba_listeners;
	size_t			 ba_nlisteners;
	struct pollfd		*ba_pfd;	/* BLK_FIRST + listeners */
	int64_t			 ba_resume_at;	/* ms; 0: none paused */
};

static int	blk_full(const struct blk_acceptor *);
static int	blk_pollfds(struct blk_acceptor *);
static int	blk_timeout(const struct blk_acceptor *);
static void	blk_resume(struct blk_acceptor *);
static void	blk_accept(struct blk_acceptor *, struct blk_listener *);
static void	blk_admit(struct blk_acceptor *, const struct listener *, int);
static int	blk_proxy(struct blocking_conn *);
static int	blk_timeouts(const struct blocking_conn *);
static int	blk_send(struct blocking_conn *, size_t);
static int	blk_halted(struct blocking_conn *);
static void	blk_linger(struct blocking_conn *);
static int	blk_acked(struct blocking_conn *);
static int	blk_failed(struct blocking_conn *, int);

/*
 * Start the acceptor of worker w for a model whose state is arg and whose
 * descriptor ended is readable when connections have ended.  The acceptor
 * owns arg from here on, even when this fails.
 */
int
blocking_start(struct worker *w, const struct blocking_model *model,
    void *arg, int ended, char *cause, size_t len)
{
	struct blk_acceptor	*ba;

	if ((ba = calloc(1, sizeof(*ba))) == NULL ||
	    (ba->ba_pfd = calloc(BLK_FIRST, sizeof(*ba->ba_pfd))) == NULL) {
		free(ba);
		model->bm_free(arg);
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	ba->ba_worker = w;
	ba->ba_model = model;
	ba->ba_arg = arg;
	ba->ba_ended = ended;
	w->w_engine = ba;
	blocking_listen(w);
	return (0);
}

/*
 * Accept and hand off until a STOP has been handled and every connection
 * has been reaped.
 */
void
blocking_run(struct worker *w)
{
	struct blk_acceptor	*ba = w->w_engine;
	const struct blocking_model *m = ba->ba_model;
	size_t			 i;
	int			 n;

	while (!engine_done(w)) {
		n = blk_pollfds(ba);
		if (poll(ba->ba_pfd, (nfds_t)n, blk_timeout(ba)) == -1) {
			if (errno != EINTR) {
				log_warn("worker %d: poll", w->w_id);
				(void)poll(NULL, 0, 1000);
			}
			continue;
		}
		if (ba->ba_pfd[BLK_ENDED].revents != 0)
			m->bm_reap(ba->ba_arg);
		/* A command may replace the listeners: look again first. */
		if (ba->ba_pfd[BLK_NOTIFY].revents != 0) {
			worker_drain(w);
			continue;
		}
		for (i = 0; i < ba->ba_nlisteners; i++)
			if (ba->ba_pfd[BLK_FIRST + i].revents != 0)
				blk_accept(ba, &ba->ba_listeners[i]);
		blk_resume(ba);
	}
}

/* Free the acceptor and the model's state; run() has reaped everything. */
void
blocking_stop(struct worker *w)
{
	struct blk_acceptor	*ba = w->w_engine;

	if (ba == NULL)
		return;
	ba->ba_model->bm_free(ba->ba_arg);
	blocking_unlisten(w);
	free(ba->ba_pfd);
	free(ba);
	w->w_engine = NULL;
}

/*
 * Watch every listener the worker has now.  Every worker polls the same
 * nonblocking sockets; the kernel gives each connection to one accept()
 * and the others see EAGAIN.
 */
void
blocking_listen(struct worker *w)
{
	struct blk_acceptor	*ba = w->w_engine;
	struct pollfd		*pfd;
	size_t			 i, n = w->w_nlisteners;

	blocking_unlisten(w);
	/* One spare slot: calloc(0, ...) may return NULL. */
	ba->ba_listeners = calloc(n + 1, sizeof(*ba->ba_listeners));
	pfd = reallocarray(ba->ba_pfd, BLK_FIRST + n, sizeof(*pfd));
	if (pfd != NULL)
		ba->ba_pfd = pfd;
	if (ba->ba_listeners == NULL || pfd == NULL) {
		log_warnx("worker %d: out of memory: not accepting", w->w_id);
		blocking_unlisten(w);
		return;
	}
	for (i = 0; i < n; i++)
		ba->ba_listeners[i].bl_src = &w->w_listeners[i];
	ba->ba_nlisteners = n;
}

/* Stop watching every listener; the supervisor closes them. */
void
blocking_unlisten(struct worker *w)
{
	struct blk_acceptor	*ba = w->w_engine;

	free(ba->ba_listeners);
	ba->ba_listeners = NULL;
	ba->ba_nlisteners = 0;
	ba->ba_resume_at = 0;
}

/* Tell every connection to drain, or to end now. */
void
blocking_halt_all(struct worker *w, enum conn_order order)
{
	struct blk_acceptor	*ba = w->w_engine;

	ba->ba_model->bm_halt(ba->ba_arg, order);
}

/* Connections not yet reaped: run() returns only once there are none. */
size_t
blocking_count(const struct worker *w)
{
	const struct blk_acceptor *ba = w->w_engine;

	return (ba->ba_model->bm_count(ba->ba_arg));
}

/* Does the model serve as many connections as it may at once? */
static int
blk_full(const struct blk_acceptor *ba)
{
	const struct blocking_model *m = ba->ba_model;

	return (m->bm_max != 0 && m->bm_count(ba->ba_arg) >= m->bm_max);
}

/* Fill the pollfd array; return how many entries to poll. */
static int
blk_pollfds(struct blk_acceptor *ba)
{
	struct blk_listener	*l;
	struct pollfd		*pfd = ba->ba_pfd;
	size_t			 i;
	int			 full = blk_full(ba);

	pfd[BLK_NOTIFY].fd = ba->ba_worker->w_notify;
	pfd[BLK_ENDED].fd = ba->ba_ended;
	for (i = 0; i < ba->ba_nlisteners; i++) {
		l = &ba->ba_listeners[i];
		/*
		 * poll() skips a negative descriptor: a paused listener, or
		 * every listener of a full model.
		 */
		pfd[BLK_FIRST + i].fd = l->bl_paused || full ? -1 :
		    l->bl_src->l_fd;
	}
	for (i = 0; i < BLK_FIRST + ba->ba_nlisteners; i++) {
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return ((int)(BLK_FIRST + ba->ba_nlisteners));
}

/* How long poll() may wait: until paused listeners resume, or forever. */
static int
blk_timeout(const struct blk_acceptor *ba)
{
	int64_t	left;

	if (ba->ba_resume_at == 0)
		return (-1);
	left = ba->ba_resume_at - engine_now_ms();
	return (left > 0 ? (int)left : 0);
}

/* Watch paused listeners again once their pause is over. */
static void
blk_resume(struct blk_acceptor *ba)
{
	size_t	i;

	if (ba->ba_resume_at == 0 || engine_now_ms() < ba->ba_resume_at)
		return;
	for (i = 0; i < ba->ba_nlisteners; i++)
		ba->ba_listeners[i].bl_paused = 0;
	ba->ba_resume_at = 0;
}

/*
 * Accept up to ENGINE_ACCEPT_BATCH connections, and none once the model
 * is full; poll() is level-triggered, so any more are accepted on the
 * next round, after the others' turn.
 */
static void
blk_accept(struct blk_acceptor *ba, struct blk_listener *l)
{
	int	i, fd;

	for (i = 0; i < ENGINE_ACCEPT_BATCH && !blk_full(ba); i++) {
		/* A blocking socket: accept4() does not inherit O_NONBLOCK. */
		fd = accept4(l->bl_src->l_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (engine_accept_failed(l->bl_src->l_name, errno))
				continue;
			l->bl_paused = 1;
			ba->ba_resume_at = engine_now_ms() +
			    ENGINE_ACCEPT_PAUSE * 1000;
			return;
		}
		blk_admit(ba, l->bl_src, fd);
	}
}

/*
 * Hand a descriptor just accepted from listener l to the model, or close
 * it at once: the same admission as conn_admit() for the other engines.
 * On a proxy_protocol listener the source is known only once the PROXY
 * header has come: the connection's own flow of control waits for it
 * (blk_proxy), with a copy of the rules of the moment.
 */
static void
blk_admit(struct blk_acceptor *ba, const struct listener *l, int fd)
{
	const struct iod_conf	*conf = ba->ba_worker->w_conf;
	struct access_rules	*ar = NULL;
	struct session		 sess;
	uint8_t			 key[16];

	if (l != NULL && l->l_opts != NULL && l->l_opts->cl_proxy) {
		if (!access_trusted(conf, fd, key)) {
			access_refuse(fd, STATS_PROXY_UNTRUSTED, key);
			return;
		}
		memset(key, 0, sizeof(key));
		if (conn_claim(l, fd) == -1)
			return;
		if ((ar = access_rules_new(conf, l->l_opts)) == NULL) {
			conn_refuse_fd(fd, key, STATS_REJ_NO_MEMORY,
			    "out of memory");
			return;
		}
	} else {
		if (access_admit(conf, l, fd, key) == -1)
			return;
		if (conn_claim(l, fd) == -1) {
			sources_release(key);
			return;
		}
	}
	conn_sockopts(conf, fd);
	session_open(&sess, fd, l, conf->access_log);
	ba->ba_model->bm_serve(ba->ba_arg, fd, key, ar, conf, &sess);
}

/* How big a connection's buffer is under conf. */
size_t
blocking_buflen(const struct iod_conf *conf)
{
	size_t	max = (size_t)conf->max_pending_bytes;

	return (max < BLOCKING_BUF_MAX ? max : BLOCKING_BUF_MAX);
}

/*
 * Set bc up to serve fd, from source key, with the settings of conf and
 * session sess; with rules, which bc takes, its PROXY header comes
 * first.
 */
void
blocking_init(struct blocking_conn *bc, int fd, const uint8_t key[16],
    struct access_rules *rules, const struct iod_conf *conf,
    const struct session *sess, unsigned char *buf)
{
	conn_init(&bc->bc_conn, conf, engine_now_ms());
	bc->bc_fd = fd;
	memcpy(bc->bc_key, key, sizeof(bc->bc_key));
	bc->bc_rules = rules;
	atomic_init(&bc->bc_order, CONN_RUN);
	bc->bc_buf = buf;
	bc->bc_buflen = blocking_buflen(conf);
	bc->bc_sess = *sess;
}

/*
 * Serve one connection until it ends, and return how it ended: an enum
 * blocking_end.  The caller closes the descriptor.
 */
int
blocking_serve(struct blocking_conn *bc)
{
	ssize_t	n;
	int	end;

	if (bc->bc_rules != NULL && (end = blk_proxy(bc)) != -1)
		return (end);
	if (blk_timeouts(bc) == -1)
		return (blk_failed(bc, errno));
	for (;;) {
		if (atomic_load(&bc->bc_order) != CONN_RUN)
			return (blk_halted(bc));
		n = recv(bc->bc_fd, bc->bc_buf, bc->bc_buflen, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return (blk_failed(bc, errno));
			return (BLOCKING_IDLE);
		}
		if (n == 0)
			return (atomic_load(&bc->bc_order) != CONN_RUN ?
			    blk_halted(bc) : BLOCKING_EOF);
		conn_touch(&bc->bc_conn, engine_now_ms());
		bc->bc_sess.s_in += (uint64_t)n;
		stats_add_in((uint64_t)n);
		transform_apply(bc->bc_conn.c_mode, bc->bc_buf, (size_t)n);
		if ((end = blk_send(bc, (size_t)n)) != -1)
			return (end);
	}
}

/*
 * Wait up to proxy_timeout for the PROXY header, then judge the source
 * it names (conn.c says how, for the other engines).  Return -1 when the
 * connection may be served, its source in bc_key and counted; or how it
 * ended: refused, counted and logged, or told to stop meanwhile.
 */
static int
blk_proxy(struct blocking_conn *bc)
{
	struct access_rules	*ar = bc->bc_rules;
	struct proxy_header	 ph;
	struct gate		*g;
	char			 why[128];
	int64_t			 deadline;
	int			 st, refusal = STATS_PROXY_BAD;

	bc->bc_rules = NULL;
	deadline = engine_now_ms() + (int64_t)ar->ar_proxy_timeout * 1000;
	if ((g = gate_new()) == NULL)
		snprintf(why, sizeof(why), "out of memory");
	st = g == NULL ? PROXY_ERROR : gate_wait(g, bc->bc_fd, deadline, &ph,
	    why, sizeof(why));
	gate_free(g);
	if (atomic_load(&bc->bc_order) != CONN_RUN) {
		access_rules_free(ar);
		return (blk_halted(bc));
	}
	if (st == PROXY_DONE) {
		conn_proxy_source(bc->bc_fd, &ph, bc->bc_key);
		if (!ph.ph_local)
			session_peer(&bc->bc_sess,
			    (struct sockaddr *)&ph.ph_src, ph.ph_srclen);
		refusal = access_rules_judge(ar, bc->bc_key,
		    ph.ph_local);
		bc->bc_conn.c_idle = (unsigned int)ar->ar_idle_timeout;
	} else if (engine_now_ms() >= deadline)
		refusal = STATS_PROXY_TIMEOUT;
	access_rules_free(ar);
	if (refusal == ACCESS_OK)
		return (-1);
	if (st != PROXY_DONE)
		(void)access_source(bc->bc_fd, bc->bc_key);
	access_count(refusal, bc->bc_key, st == PROXY_DONE ||
	    refusal == STATS_PROXY_TIMEOUT ? NULL : why);
	memset(bc->bc_key, 0, sizeof(bc->bc_key));
	return (BLOCKING_REFUSED);
}

/*
 * Give idle_timeout to the kernel.  Waiting to read, nothing is owed, so
 * a read that times out means nothing moved either way for that long.  A
 * write that times out only means no byte went for BLK_TICK; blk_send()
 * counts the ticks.
 */
static int
blk_timeouts(const struct blocking_conn *bc)
{
	struct timeval	rcv = { bc->bc_conn.c_idle, 0 }, snd = { BLK_TICK, 0 };

	if (bc->bc_conn.c_idle == 0)
		return (0);
	if (setsockopt(bc->bc_fd, SOL_SOCKET, SO_RCVTIMEO, &rcv,
	    sizeof(rcv)) == -1 ||
	    setsockopt(bc->bc_fd, SOL_SOCKET, SO_SNDTIMEO, &snd,
	    sizeof(snd)) == -1)
		return (-1);
	return (0);
}

/*
 * Write all len bytes of the buffer.  Return -1 when they are gone, or how
 * the connection ended.
 *
 * A blocking send() that times out after copying part of its bytes
 * returns that part, and the time its last byte went is unknown; with
 * SO_SNDTIMEO at idle_timeout a stalled connection could then live for
 * nearly twice that.  Waking every BLK_TICK to ask the core's idle rule
 * ends it between idle_timeout and a tick more, as the core's tick does
 * for the other engines.
 */
static int
blk_send(struct blocking_conn *bc, size_t len)
{
	const unsigned char	*p = bc->bc_buf;
	ssize_t			 n;

	while (len > 0) {
		n = send(bc->bc_fd, p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return (blk_failed(bc, errno));
			if (conn_idle_left(&bc->bc_conn, engine_now_ms()) != 0)
				continue;
			return (BLOCKING_IDLE);
		}
		conn_touch(&bc->bc_conn, engine_now_ms());
		bc->bc_sess.s_out += (uint64_t)n;
		stats_add_out((uint64_t)n);
		p += n;
		len -= (size_t)n;
	}
	return (-1);
}

/* The connection was told to stop: end a drain well, and say which way. */
static int
blk_halted(struct blocking_conn *bc)
{
	if (atomic_load(&bc->bc_order) == CONN_DRAIN)
		blk_linger(bc);
	return (atomic_load(&bc->bc_order) == CONN_CUT ?
	    BLOCKING_DEADLINE : BLOCKING_STOPPED);
}

/*
 * End a drain gracefully.  With input unread or output unacknowledged,
 * close() would end in a reset (conn_must_linger()), and the kernel
 * would throw away the part of the reply the client has not taken yet.
 * So wait until the client has acknowledged the whole reply, then send
 * the FIN and wait for that too: the client's kernel then holds all of
 * it and the EOF, which it hands out before any reset.
 *
 * Unlike the other engines, this does not read and discard while it
 * waits.  After shutdown(SHUT_RD) a read returns 0 as soon as nothing is
 * queued, so the client's EOF cannot be told from a pause.  And once the
 * read side is shut and the FIN is out, the kernel answers any more
 * input with a reset (RFC 1122): hence the FIN goes only when the reply
 * is acknowledged, which leaves one round trip for that to happen.
 */
static void
blk_linger(struct blocking_conn *bc)
{
	if (!conn_must_linger(bc->bc_fd) || blk_acked(bc) == -1 ||
	    shutdown(bc->bc_fd, SHUT_WR) == -1)
		return;
	(void)blk_acked(bc);
}

/*
 * Wait until the client has acknowledged everything sent, or reset the
 * connection.  No event says so: look every BLK_LINGER_MS.  Return -1 on
 * a cut, or once the queue has not shrunk for idle_timeout.
 */
static int
blk_acked(struct blocking_conn *bc)
{
	struct timespec	ts = { 0, BLK_LINGER_MS * 1000000L };
	int		unacked, last = -1, still = 0;

	while ((unacked = conn_unacked(bc->bc_fd)) > 0) {
		if (atomic_load(&bc->bc_order) == CONN_CUT)
			return (-1);
		if (unacked != last) {
			last = unacked;
			still = 0;
		} else if (bc->bc_conn.c_idle > 0 &&
		    ++still * BLK_LINGER_MS >= bc->bc_conn.c_idle * 1000)
			return (-1);
		(void)nanosleep(&ts, NULL);
	}
	return (0);
}

/* A call failed with error; after a cut, that was the cut. */
static int
blk_failed(struct blocking_conn *bc, int error)
{
	if (atomic_load(&bc->bc_order) == CONN_CUT)
		return (BLOCKING_DEADLINE);
	if (error <= 0 || error > 255 - BLOCKING_ERRNO)
		error = EIO;
	return (BLOCKING_ERRNO + error);
}

/*
 * Tell a connection to drain or to end now, from any thread or from a
 * signal handler: it uses only a lock-free store and shutdown(2), which
 * are async-signal-safe.  The flag is set first, so the loop sees it
 * once shutdown() has woken it; an order never weakens an earlier one.
 */
void
blocking_halt(struct blocking_conn *bc, enum conn_order order)
{
	if (atomic_load(&bc->bc_order) >= (int)order)
		return;
	atomic_store(&bc->bc_order, order);
	(void)shutdown(bc->bc_fd, order == CONN_CUT ? SHUT_RDWR : SHUT_RD);
}

/* Words for an enum blocking_end, for the close line. */
const char *
blocking_reason(int end)
{
	switch (end) {
	case BLOCKING_EOF:
		return ("end of input");
	case BLOCKING_STOPPED:
		return ("shutdown");
	case BLOCKING_DEADLINE:
		return ("shutdown deadline");
	case BLOCKING_IDLE:
		return ("idle timeout");
	case BLOCKING_REFUSED:
		return ("refused for its PROXY header");
	}
	if (end > BLOCKING_ERRNO && end <= 255)
		return (strerror(end - BLOCKING_ERRNO));
	return ("unknown end");
}
