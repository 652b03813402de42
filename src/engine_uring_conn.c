/*
 * The uring engine's connections (engine_uring.c has the workers, and
 * engine_uring_ring.c the ring).
 *
 * A connection has at most one recv and one send in flight.  Sends take
 * from one buffer, whose memory must not move until they complete; what
 * recvs bring meanwhile is transformed and gathered in a second one,
 * which becomes the first when that is all sent.  The state (conn.h)
 * says which requests a connection keeps in flight: READING and
 * LINGERING a recv (or, if one found no free buffer, a place on the
 * worker's starved list until the next round), any state a send while
 * something is owed.  A CLOSED connection keeps its slot and its
 * descriptor until no request refers to them.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "engine_uring_conn.h"
#include "engine_uring_ring.h"
#include "log.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"

/* Requests a connection has in flight. */
#define UR_OP_RECV	0x01
#define UR_OP_SEND	0x02

/* Transformed input, owed to the client. */
struct ur_out {
	uint32_t		 o_off;		/* first byte not yet sent */
	uint32_t		 o_len;
	uint32_t		 o_cap;
	unsigned char		 o_data[];
};

/*
 * A connection, from its accept until no request refers to it: the
 * core's part, then what the ring adds.
 */
struct ur_conn {
	struct conn		 uc_conn;
	unsigned char		 uc_ops;	/* UR_OP_*: in flight */
	unsigned char		 uc_starved;	/* on cs_starved */
	uint32_t		 uc_owed;	/* bytes not yet sent */
	struct ur_conns		*uc_cs;
	struct ur_out		*uc_sending;	/* what sends take from */
	struct ur_out		*uc_queued;	/* input that came meanwhile */
	TAILQ_ENTRY(ur_conn)	 uc_entry;	/* on cs_closed */
	TAILQ_ENTRY(ur_conn)	 uc_wait_entry;	/* on cs_starved */
};

_Static_assert(sizeof(struct ur_conn) <= UR_CONN_SIZE,
    "UR_CONN_SIZE is short");

static int	ur_conn_recv(struct ur_conn *);
static void	ur_conn_input(struct ur_conn *, int, int);
static int	ur_out_append(struct ur_out **, const unsigned char *,
		    uint32_t, uint32_t);
static int	ur_conn_send(struct ur_conn *);
static void	ur_conn_state(struct ur_conn *, enum conn_state);
static void	ur_conn_proxy(struct ur_conn *);
static void	ur_conn_finish(struct ur_conn *, const char *);
static void	ur_conn_next(struct ur_conn *);
static void	ur_conn_end(struct ur_conn *, const char *);
static void	ur_conn_release(struct ur_conn *);

/* Set up what worker w's connections on ring r share. */
void
ur_conns_init(struct ur_conns *cs, struct worker *w, struct ur_ring *r)
{
	cs->cs_worker = w;
	cs->cs_ring = r;
	TAILQ_INIT(&cs->cs_closed);
	TAILQ_INIT(&cs->cs_starved);
	cs->cs_now = engine_now_ms();
}

/* Serve a just-accepted descriptor, or close it at once. */
void
ur_admit(struct ur_conns *cs, const struct listener *l, int fd)
{
	struct conn	*c;
	struct ur_conn	*uc;

	if ((c = conn_admit(cs->cs_worker, l, fd, cs->cs_now)) == NULL)
		return;
	uc = (struct ur_conn *)c;
	uc->uc_cs = cs;
	if (ur_conn_recv(uc) == -1)
		conn_refuse(cs->cs_worker, c, STATS_REJ_NO_MEMORY,
		    "no io_uring submission slot");
}

/*
 * Before the worker waits: give connections whose recv found no free
 * buffer another try, now that buffers have been given back or added.
 */
void
ur_conns_retry(struct ur_conns *cs)
{
	struct ur_conn	*c;

	while ((c = TAILQ_FIRST(&cs->cs_starved)) != NULL) {
		TAILQ_REMOVE(&cs->cs_starved, c, uc_wait_entry);
		c->uc_starved = 0;
		ur_conn_next(c);
	}
}

/*
 * Shut down the sockets of closed connections whose requests will not
 * end: that ends any request still waiting on one.
 */
void
ur_conns_shutdown(struct ur_conns *cs)
{
	struct ur_conn	*c;

	TAILQ_FOREACH(c, &cs->cs_closed, uc_entry)
		(void)shutdown(conn_fd(&c->uc_conn), SHUT_RDWR);
}

/*
 * Ask for the next bytes, no more than max_pending_bytes minus what is
 * owed; the kernel picks a buffer when they arrive.
 */
static int
ur_conn_recv(struct ur_conn *c)
{
	struct io_uring_sqe	*sqe;
	uint32_t		 len = c->uc_conn.c_max_pending - c->uc_owed;

	if ((sqe = ur_sqe(c->uc_cs->cs_ring, c, UR_RECV)) == NULL)
		return (-1);
	c->uc_ops |= UR_OP_RECV;
	/*
	 * A PROXY header is read by the core, byte-exact (gate.c): wait
	 * for input, and take no buffer.
	 */
	if (c->uc_conn.c_state == CONN_PROXY) {
		io_uring_prep_poll_add(sqe, conn_fd(&c->uc_conn), POLLIN);
		return (0);
	}
	io_uring_prep_recv(sqe, conn_fd(&c->uc_conn), NULL, len < UR_BUFSZ ? len : UR_BUFSZ,
	    0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
	return (0);
}

/* A recv completed: bytes, the end of input, or a failure. */
void
ur_conn_recv_done(struct conn *cc, int res, unsigned flags)
{
	struct ur_conn	*c = (struct ur_conn *)cc;
	int		 bid = -1;

	c->uc_ops &= ~UR_OP_RECV;
	if (flags & IORING_CQE_F_BUFFER)
		bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
	if (res > 0 && c->uc_conn.c_state == CONN_PROXY) {
		ur_conn_proxy(c);
		return;
	}
	if (res > 0 && bid != -1 && c->uc_conn.c_state != CONN_CLOSED) {
		ur_conn_input(c, bid, res);
		return;
	}
	if (bid != -1)
		ur_buf_put(c->uc_cs->cs_ring, bid);
	if (c->uc_conn.c_state == CONN_CLOSED)
		ur_conn_release(c);
	else if (res == 0) {
		c->uc_conn.c_eof = 1;
		if (c->uc_conn.c_state == CONN_LINGERING)
			ur_conn_end(c, "drained");
		else if (c->uc_conn.c_state == CONN_DRAINING)
			ur_conn_next(c);
		else
			ur_conn_drain(c->uc_cs->cs_worker, &c->uc_conn,
			    "end of input");
	} else if (res == -ENOBUFS) {
		ur_bufs_grow(c->uc_cs->cs_ring, 1);
		c->uc_starved = 1;
		TAILQ_INSERT_TAIL(&c->uc_cs->cs_starved, c, uc_wait_entry);
	} else if (res == -EINTR || res == -EAGAIN || res == -ECANCELED)
		ur_conn_next(c);
	else
		ur_conn_end(c, res > 0 ? "recv without a buffer" :
		    strerror(-res));
}

/* Input came for a connection waiting for its PROXY header. */
static void
ur_conn_proxy(struct ur_conn *c)
{
	const char	*why;

	if (conn_proxy(c->uc_cs->cs_worker, &c->uc_conn, &why) == -1) {
		ur_conn_end(c, why);
		return;
	}
	ur_conn_next(c);
}

/*
 * n bytes arrived in buffer bid: transform them there, add them to what
 * is owed, and give the buffer back at once, so that a client that stops
 * reading holds only its own copy, never one of the worker's receive
 * buffers.  A lingering connection discards them.
 */
static void
ur_conn_input(struct ur_conn *c, int bid, int n)
{
	struct ur_conns		*cs = c->uc_cs;
	unsigned char		*p = ur_buf(cs->cs_ring, bid);
	int			 error;

	conn_touch(&c->uc_conn, cs->cs_now);
	if (c->uc_conn.c_state == CONN_LINGERING) {
		ur_buf_put(cs->cs_ring, bid);
		ur_conn_next(c);
		return;
	}
	conn_moved_in(conn_fd(&c->uc_conn), (uint64_t)n);
	transform_apply(c->uc_conn.c_mode, p, (size_t)n);
	error = ur_out_append(c->uc_sending == NULL ? &c->uc_sending :
	    &c->uc_queued, p, (uint32_t)n, c->uc_conn.c_max_pending);
	ur_buf_put(cs->cs_ring, bid);
	if (error == -1) {
		ur_conn_end(c, "out of memory");
		return;
	}
	c->uc_owed += (uint32_t)n;
	ur_conn_next(c);
}

/*
 * Append n bytes to *op, which no send refers to, growing it by doubling
 * up to max; return -1 if memory runs out.
 */
static int
ur_out_append(struct ur_out **op, const unsigned char *p, uint32_t n,
    uint32_t max)
{
	struct ur_out	*o = *op;
	uint32_t	 len = 0, cap = 0;

	if (o != NULL) {
		len = o->o_len;
		cap = o->o_cap;
	}
	if (len + n > cap) {
		cap = cap < max / 2 ? cap * 2 : max;
		if (cap < len + n)
			cap = len + n;
		if ((o = realloc(o, sizeof(*o) + cap)) == NULL)
			return (-1);
		if (*op == NULL)
			o->o_off = o->o_len = 0;
		o->o_cap = cap;
		*op = o;
	}
	memcpy(o->o_data + len, p, n);
	o->o_len = len + n;
	return (0);
}

/* Send what is owed, at most ENGINE_IO_MAX at a time. */
static int
ur_conn_send(struct ur_conn *c)
{
	struct io_uring_sqe	*sqe;
	struct ur_out		*o = c->uc_sending;
	uint32_t		 len = o->o_len - o->o_off;

	if ((sqe = ur_sqe(c->uc_cs->cs_ring, c, UR_SEND)) == NULL) {
		ur_conn_end(c, "no io_uring submission slot");
		return (-1);
	}
	io_uring_prep_send(sqe, conn_fd(&c->uc_conn), o->o_data + o->o_off,
	    len < ENGINE_IO_MAX ? len : ENGINE_IO_MAX, MSG_NOSIGNAL);
	c->uc_ops |= UR_OP_SEND;
	return (0);
}

/* A send completed: forget what went, then carry on. */
void
ur_conn_send_done(struct conn *cc, int res)
{
	struct ur_conn	*c = (struct ur_conn *)cc;
	struct ur_out	*o = c->uc_sending;

	c->uc_ops &= ~UR_OP_SEND;
	if (c->uc_conn.c_state == CONN_CLOSED) {
		ur_conn_release(c);
		return;
	}
	if (res <= 0 && res != -EINTR && res != -EAGAIN) {
		ur_conn_end(c, res == 0 ? "send made no progress" :
		    strerror(-res));
		return;
	}
	if (res > 0) {
		conn_moved_out(conn_fd(&c->uc_conn), (uint64_t)res);
		conn_touch(&c->uc_conn, c->uc_cs->cs_now);
		c->uc_owed -= (uint32_t)res;
		if ((o->o_off += (uint32_t)res) == o->o_len) {
			free(o);
			c->uc_sending = c->uc_queued;
			c->uc_queued = NULL;
		}
	}
	ur_conn_next(c);
}

/*
 * After a completion: send what is owed, and read, pause, resume or
 * finish as the state and the core's backpressure rule call for.
 */
static void
ur_conn_next(struct ur_conn *c)
{
	struct conn	*cc = &c->uc_conn;

	if (c->uc_sending != NULL && !(c->uc_ops & UR_OP_SEND) &&
	    ur_conn_send(c) == -1)
		return;
	if (cc->c_state == CONN_READING && conn_full(cc, c->uc_owed))
		ur_conn_state(c, CONN_PAUSED);
	else if (cc->c_state == CONN_PAUSED && conn_drained(cc, c->uc_owed))
		ur_conn_state(c, CONN_READING);
	else if (cc->c_state == CONN_DRAINING && c->uc_owed == 0 &&
	    c->uc_ops == 0) {
		ur_conn_finish(c, "drained");
		return;
	}
	if ((cc->c_state == CONN_READING || cc->c_state == CONN_PROXY ||
	    cc->c_state == CONN_LINGERING) && !(c->uc_ops & UR_OP_RECV) && !c->uc_starved &&
	    ur_conn_recv(c) == -1)
		ur_conn_end(c, "no io_uring submission slot");
}

/* Change the state through the core's setter. */
static void
ur_conn_state(struct ur_conn *c, enum conn_state state)
{
	conn_set_state(c->uc_cs->cs_worker, &c->uc_conn, state);
}

/*
 * Read no more; close once everything owed has been sent.  A recv in
 * flight is cancelled, but may still bring bytes, which are then sent.
 */
void
ur_conn_drain(struct worker *w, struct conn *cc, const char *why)
{
	struct ur_conn	*c = (struct ur_conn *)cc;

	if (conn_ending(cc))
		return;
	if (c->uc_owed == 0 && c->uc_ops == 0) {
		ur_conn_finish(c, why);
		return;
	}
	if ((c->uc_ops & UR_OP_RECV) &&
	    ur_cancel(c->uc_cs->cs_ring, ur_ud(c, UR_RECV)) == -1)
		(void)shutdown(conn_fd(cc), SHUT_RD);
	conn_set_state(w, cc, CONN_DRAINING);
}

/*
 * Everything owed is with the kernel: close, or linger as the core says,
 * reading and discarding until the client's end of input.
 */
static void
ur_conn_finish(struct ur_conn *c, const char *why)
{
	if (!conn_finish(c->uc_cs->cs_worker, &c->uc_conn)) {
		ur_conn_end(c, why);
		return;
	}
	ur_conn_next(c);
}

/* The core's close: end c now. */
void
ur_conn_close(struct worker *w, struct conn *cc, const char *why)
{
	ur_conn_end((struct ur_conn *)cc, why);
}

/*
 * The one way a connection ends here: the core releases it, and its
 * requests in flight are cancelled.  The slot and the descriptor stay
 * until they have ended (ur_conn_release), so that the number cannot go
 * to a new connection while a request that is queued but not yet
 * submitted still names it.
 */
static void
ur_conn_end(struct ur_conn *c, const char *why)
{
	struct ur_conns		*cs = c->uc_cs;
	int			 fd = conn_fd(&c->uc_conn);

	if (c->uc_conn.c_state == CONN_CLOSED)
		return;
	conn_release(cs->cs_worker, &c->uc_conn, why);
	if (c->uc_starved)
		TAILQ_REMOVE(&cs->cs_starved, c, uc_wait_entry);
	c->uc_starved = 0;
	TAILQ_INSERT_TAIL(&cs->cs_closed, c, uc_entry);
	if (((c->uc_ops & UR_OP_RECV) &&
	    ur_cancel(cs->cs_ring, ur_ud(c, UR_RECV)) == -1) ||
	    ((c->uc_ops & UR_OP_SEND) &&
	    ur_cancel(cs->cs_ring, ur_ud(c, UR_SEND)) == -1))
		(void)shutdown(fd, SHUT_RDWR);
	ur_conn_release(c);
}

/*
 * Free a closed connection's buffers once no request refers to it, and
 * close its descriptor, last: the slot may be taken again at once.
 */
static void
ur_conn_release(struct ur_conn *c)
{
	if (c->uc_conn.c_state != CONN_CLOSED || c->uc_ops != 0)
		return;
	TAILQ_REMOVE(&c->uc_cs->cs_closed, c, uc_entry);
	free(c->uc_sending);
	free(c->uc_queued);
	close(conn_fd(&c->uc_conn));
}
