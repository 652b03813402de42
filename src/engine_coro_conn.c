/*
 * The coro engine's connections: each one a coroutine that serves its
 * client as blocking code would, read, transform, write all of it, and
 * again.  Where a call says EAGAIN, co_conn_wait() yields to the
 * scheduler (engine_coro.c), which resumes the coroutine once epoll
 * reports the socket ready; to the code here, the call just took a
 * while.  This is what gevent's monkey-patched sockets do for Python.
 *
 * The coroutine writes everything it read before reading again, so it
 * never owes more than one read: at most CO_BUF bytes, or
 * max_pending_bytes if smaller, in a buffer on its own stack.
 *
 * Orders from the scheduler arrive as the results of waits: a drain
 * makes the next read return CO_HALT (a write in progress finishes
 * first); a close makes every wait, and so every call, fail, and the
 * coroutine returns from wherever it was.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "conn.h"
#include "coro.h"
#include "engine.h"
#include "engine_coro.h"
#include "stats.h"
#include "transform.h"

/*
 * A connection's buffer, on its coroutine's stack: half of CORO_STACK,
 * which leaves 32 KiB for the calls below it, the deepest of which (a
 * log line through stdio) takes under 16 KiB.
 */
#define CO_BUF		(32 * 1024)

_Static_assert(CO_BUF <= CORO_STACK / 2, "CO_BUF leaves too little stack");

#define CO_END		(-1)	/* co_conn_read(): ended; cc_why says why */
#define CO_HALT		(-2)	/* co_conn_read(): told to drain */

static void	co_conn_serve(struct co_conn *);
static int	co_conn_proxy(struct co_conn *);
static void	co_conn_finish(struct co_conn *, unsigned char *,
		    const char *);
static ssize_t	co_conn_read(struct co_conn *, unsigned char *, size_t);
static int	co_conn_write(struct co_conn *, const unsigned char *,
		    size_t);
static int	co_conn_turn(struct co_conn *);
static int	co_conn_wait(struct co_conn *, int);
static int	co_conn_failed(struct co_conn *);

/* A connection's coroutine: its whole life, then back for good. */
void *
co_conn_main(void *arg)
{
	co_conn_serve(arg);
	return (NULL);
}

/*
 * Serve one connection as blocking code would: read, transform, write
 * all of it, again, until the end of input, an error, or an order from
 * the scheduler; cc_why says which.
 */
static void
co_conn_serve(struct co_conn *cc)
{
	struct conn	*c = &cc->cc_conn;
	unsigned char	 buf[CO_BUF];
	size_t		 len = c->c_max_pending < CO_BUF ? c->c_max_pending :
			    CO_BUF;
	ssize_t		 n;

	if (co_conn_proxy(cc) == -1)
		return;
	for (;;) {
		n = co_conn_read(cc, buf, len);
		if (n == CO_END)
			return;
		if (n == CO_HALT) {
			co_conn_finish(cc, buf, "shutdown");
			return;
		}
		if (n == 0) {
			c->c_eof = 1;
			co_conn_finish(cc, buf, "end of input");
			return;
		}
		conn_moved_in(conn_fd(c), (uint64_t)n);
		transform_apply(c->c_mode, buf, (size_t)n);
		if (co_conn_write(cc, buf, (size_t)n) == -1)
			return;
	}
}

/*
 * While c waits for its PROXY header (conn.c), read what comes of it,
 * waiting as long as it takes.  Return -1 once the connection has been
 * refused or closed; cc_why says why.
 */
static int
co_conn_proxy(struct co_conn *cc)
{
	struct conn	*c = &cc->cc_conn;
	const char	*why;
	int		 r;

	while (c->c_state == CONN_PROXY) {
		if ((r = conn_proxy(cc->cc_cw->cw_worker, c, &why)) == -1) {
			cc->cc_why = why;
			return (-1);
		}
		if (r == 0 && co_conn_wait(cc, POLLER_READ) == -1)
			return (-1);
	}
	return (0);
}

/*
 * Nothing is owed: end as the core says.  Close now, or linger, reading
 * into buf and discarding until the client's end of input (or until
 * the core's tick finds nothing left to lose, and closes it).
 */
static void
co_conn_finish(struct co_conn *cc, unsigned char *buf, const char *why)
{
	ssize_t	n;

	cc->cc_why = why;
	if (!conn_finish(cc->cc_cw->cw_worker, &cc->cc_conn))
		return;
	while ((n = co_conn_read(cc, buf, CO_BUF)) > 0)
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
co_conn_read(struct co_conn *cc, unsigned char *buf, size_t len)
{
	struct conn	*c = &cc->cc_conn;
	ssize_t		 n;

	for (;;) {
		if (co_conn_turn(cc) == -1)
			return (CO_END);
		if (c->c_state == CONN_DRAINING)
			return (CO_HALT);
		if ((n = recv(conn_fd(c), buf, len, 0)) >= 0)
			break;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    co_conn_wait(cc, POLLER_READ) == -1)
			return (co_conn_failed(cc));
	}
	if (n > 0) {
		conn_touch(c, cc->cc_cw->cw_now);
		cc->cc_cw->cw_turn += (size_t)n;
	}
	return (n);
}

/* Write all len bytes of p, waiting as long as it takes; -1 if not. */
static int
co_conn_write(struct co_conn *cc, const unsigned char *p, size_t len)
{
	struct conn	*c = &cc->cc_conn;
	ssize_t		 n;

	while (len > 0) {
		if (co_conn_turn(cc) == -1)
			return (-1);
		n = send(conn_fd(c), p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
			    co_conn_wait(cc, POLLER_WRITE) == -1)
				return (co_conn_failed(cc));
			continue;
		}
		conn_touch(c, cc->cc_cw->cw_now);
		conn_moved_out(conn_fd(c), (uint64_t)n);
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
co_conn_turn(struct co_conn *cc)
{
	if (cc->cc_cancel)
		return (-1);
	if (cc->cc_cw->cw_turn < ENGINE_IO_MAX)
		return (0);
	return (co_conn_wait(cc, 0));
}

/*
 * Yield until the socket is ready for mask, or, with mask 0, until the
 * next turn; -1 if the connection was closed meanwhile.
 */
static int
co_conn_wait(struct co_conn *cc, int mask)
{
	cc->cc_wait = (unsigned char)mask;
	(void)coro_yield(NULL);
	cc->cc_wait = 0;
	return (cc->cc_cancel ? -1 : 0);
}

/* A call failed with errno, or the wait was cancelled: say why, CO_END. */
static int
co_conn_failed(struct co_conn *cc)
{
	if (!cc->cc_cancel)
		cc->cc_why = strerror(errno);
	return (CO_END);
}
