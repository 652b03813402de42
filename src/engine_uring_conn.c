/*
 * The uring engine's connections (engine_uring.c has the workers).
 *
 * A connection has at most one recv and one send in flight.  Sends take
 * from one buffer, whose memory must not move until they complete; what
 * recvs bring meanwhile is transformed and gathered in a second one,
 * which becomes the first when that is all sent.  The state says what the
 * connection waits for:
 *  - READING: a recv is in flight (or, if it found no free buffer, waits
 *    on the worker's starved list to be submitted again next round),
 *    and a send too while anything is owed;
 *  - PAUSED: owed max_pending_bytes, so only sending until that has
 *    drained to half (the backpressure rule in outbuf.c);
 *  - DRAINING: end of input or shutdown: send what is owed, then close;
 *  - LINGERING: all sent, but closing now would reset the connection
 *    (see engine_must_linger): discarding input until the client's end;
 *  - CLOSED: closed, and freed as soon as no request refers to it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "engine_uring.h"
#include "log.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"

static const char *const conn_state_names[] = {
	"reading", "paused", "draining", "lingering", "closed"
};

static int	ur_conn_recv(struct ur_conn *);
static void	ur_conn_input(struct ur_conn *, int, int);
static int	ur_out_append(struct ur_out **, const unsigned char *,
		    uint32_t, uint32_t);
static int	ur_conn_send(struct ur_conn *);
static void	ur_conn_set_state(struct ur_conn *, enum conn_state);
static void	ur_conn_finish(struct ur_conn *, const char *);
static void	ur_conn_release(struct ur_conn *);

/* Serve a just-accepted descriptor, or close it at once. */
void
ur_admit(struct ur_worker *uw, int fd)
{
	const struct iod_conf	*conf = uw->uw_worker->w_conf;
	struct ur_conn		*c;

	if (engine_admit(conf, fd) == -1)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		engine_refuse(fd, "out of memory");
		return;
	}
	c->c_uw = uw;
	c->c_fd = fd;
	c->c_mode = conf->mode;
	c->c_idle = conf->idle_timeout;
	c->c_max_pending = (uint32_t)conf->max_pending_bytes;
	c->c_last_io = uw->uw_now;
	c->c_state = CONN_READING;
	engine_sockopts(conf, fd);
	if (ur_conn_recv(c) == -1) {
		free(c);
		engine_refuse(fd, "no io_uring submission slot");
		return;
	}
	TAILQ_INSERT_TAIL(&uw->uw_conns, c, c_entry);
}

/*
 * Ask for the next bytes, no more than max_pending_bytes minus what is
 * owed; the kernel picks a buffer when they arrive.
 */
static int
ur_conn_recv(struct ur_conn *c)
{
	struct io_uring_sqe	*sqe;
	uint32_t		 len = c->c_max_pending - c->c_owed;

	if ((sqe = ur_sqe(c->c_uw, c, UR_RECV)) == NULL)
		return (-1);
	io_uring_prep_recv(sqe, c->c_fd, NULL, len < UR_BUFSZ ? len : UR_BUFSZ,
	    0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
	c->c_ops |= UR_OP_RECV;
	return (0);
}

/* A recv completed: bytes, the end of input, or a failure. */
void
ur_conn_recv_done(struct ur_conn *c, int res, unsigned flags)
{
	int	bid = -1;

	c->c_ops &= ~UR_OP_RECV;
	if (flags & IORING_CQE_F_BUFFER)
		bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
	if (res > 0 && bid != -1 && c->c_state != CONN_CLOSED) {
		ur_conn_input(c, bid, res);
		return;
	}
	if (bid != -1)
		ur_buf_put(c->c_uw, bid);
	if (c->c_state == CONN_CLOSED)
		ur_conn_release(c);
	else if (res == 0) {
		c->c_eof = 1;
		if (c->c_state == CONN_LINGERING)
			ur_conn_close(c, "drained");
		else if (c->c_state == CONN_DRAINING)
			ur_conn_next(c);
		else
			ur_conn_drain(c, "end of input");
	} else if (res == -ENOBUFS) {
		ur_bufs_grow(c->c_uw);
		c->c_starved = 1;
		TAILQ_INSERT_TAIL(&c->c_uw->uw_starved, c, c_wait_entry);
	} else if (res == -EINTR || res == -EAGAIN || res == -ECANCELED)
		ur_conn_next(c);
	else
		ur_conn_close(c, res > 0 ? "recv without a buffer" :
		    strerror(-res));
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
	struct ur_worker	*uw = c->c_uw;
	unsigned char		*p = uw->uw_bufs + (size_t)bid * UR_BUFSZ;
	int			 error;

	c->c_last_io = uw->uw_now;
	if (c->c_state == CONN_LINGERING) {
		ur_buf_put(uw, bid);
		ur_conn_next(c);
		return;
	}
	stats_add_in((uint64_t)n);
	transform_apply(c->c_mode, p, (size_t)n);
	error = ur_out_append(c->c_sending == NULL ? &c->c_sending :
	    &c->c_queued, p, (uint32_t)n, c->c_max_pending);
	ur_buf_put(uw, bid);
	if (error == -1) {
		ur_conn_close(c, "out of memory");
		return;
	}
	c->c_owed += (uint32_t)n;
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
	struct ur_out		*o = c->c_sending;
	uint32_t		 len = o->o_len - o->o_off;

	if ((sqe = ur_sqe(c->c_uw, c, UR_SEND)) == NULL) {
		ur_conn_close(c, "no io_uring submission slot");
		return (-1);
	}
	io_uring_prep_send(sqe, c->c_fd, o->o_data + o->o_off,
	    len < ENGINE_IO_MAX ? len : ENGINE_IO_MAX, MSG_NOSIGNAL);
	c->c_ops |= UR_OP_SEND;
	return (0);
}

/* A send completed: forget what went, then carry on. */
void
ur_conn_send_done(struct ur_conn *c, int res)
{
	struct ur_out	*o = c->c_sending;

	c->c_ops &= ~UR_OP_SEND;
	if (c->c_state == CONN_CLOSED) {
		ur_conn_release(c);
		return;
	}
	if (res <= 0 && res != -EINTR && res != -EAGAIN) {
		ur_conn_close(c, res == 0 ? "send made no progress" :
		    strerror(-res));
		return;
	}
	if (res > 0) {
		stats_add_out((uint64_t)res);
		c->c_last_io = c->c_uw->uw_now;
		c->c_owed -= (uint32_t)res;
		if ((o->o_off += (uint32_t)res) == o->o_len) {
			free(o);
			c->c_sending = c->c_queued;
			c->c_queued = NULL;
		}
	}
	ur_conn_next(c);
}

/*
 * After a completion: send what is owed, and read, pause, resume or
 * finish as the state and what is owed call for.  The backpressure rule
 * is outbuf.c's: stop reading at max_pending_bytes owed, start again
 * once that has drained to half.
 */
void
ur_conn_next(struct ur_conn *c)
{
	if (c->c_sending != NULL && !(c->c_ops & UR_OP_SEND) &&
	    ur_conn_send(c) == -1)
		return;
	if (c->c_state == CONN_READING && c->c_owed >= c->c_max_pending)
		ur_conn_set_state(c, CONN_PAUSED);
	else if (c->c_state == CONN_PAUSED &&
	    c->c_owed <= c->c_max_pending / 2)
		ur_conn_set_state(c, CONN_READING);
	else if (c->c_state == CONN_DRAINING && c->c_owed == 0 &&
	    c->c_ops == 0) {
		ur_conn_finish(c, "drained");
		return;
	}
	if ((c->c_state == CONN_READING || c->c_state == CONN_LINGERING) &&
	    !(c->c_ops & UR_OP_RECV) && !c->c_starved &&
	    ur_conn_recv(c) == -1)
		ur_conn_close(c, "no io_uring submission slot");
}

/* The one place a connection changes state. */
static void
ur_conn_set_state(struct ur_conn *c, enum conn_state state)
{
	log_debug("worker %d: fd %d: %s -> %s", c->c_uw->uw_worker->w_id,
	    c->c_fd, conn_state_names[c->c_state], conn_state_names[state]);
	c->c_state = state;
}

/*
 * Read no more; close once everything owed has been sent.  A recv in
 * flight is cancelled, but may still bring bytes, which are then sent.
 */
void
ur_conn_drain(struct ur_conn *c, const char *why)
{
	if (c->c_state == CONN_DRAINING || c->c_state == CONN_LINGERING)
		return;
	if (c->c_owed == 0 && c->c_ops == 0) {
		ur_conn_finish(c, why);
		return;
	}
	if ((c->c_ops & UR_OP_RECV) &&
	    ur_cancel(c->c_uw, ur_ud(c, UR_RECV)) == -1)
		(void)shutdown(c->c_fd, SHUT_RD);
	ur_conn_set_state(c, CONN_DRAINING);
}

/*
 * Everything owed is with the kernel: close, or linger if that would lose
 * it, reading and discarding until the client's end of input.
 */
static void
ur_conn_finish(struct ur_conn *c, const char *why)
{
	if (c->c_eof || !engine_must_linger(c->c_fd) ||
	    shutdown(c->c_fd, SHUT_WR) == -1) {
		ur_conn_close(c, why);
		return;
	}
	ur_conn_set_state(c, CONN_LINGERING);
	ur_conn_next(c);
}

/*
 * The one way a connection ends.  Its requests in flight are cancelled;
 * the descriptor stays open until they have ended (ur_conn_release), so
 * that its number cannot go to a new connection while a request that is
 * queued but not yet submitted still names it.
 */
void
ur_conn_close(struct ur_conn *c, const char *why)
{
	struct ur_worker	*uw = c->c_uw;

	if (c->c_state == CONN_CLOSED)
		return;
	log_debug("worker %d: closing fd %d: %s", uw->uw_worker->w_id,
	    c->c_fd, why);
	if (c->c_starved)
		TAILQ_REMOVE(&uw->uw_starved, c, c_wait_entry);
	c->c_starved = 0;
	ur_conn_set_state(c, CONN_CLOSED);
	TAILQ_REMOVE(&uw->uw_conns, c, c_entry);
	TAILQ_INSERT_TAIL(&uw->uw_closed, c, c_entry);
	if (((c->c_ops & UR_OP_RECV) &&
	    ur_cancel(uw, ur_ud(c, UR_RECV)) == -1) ||
	    ((c->c_ops & UR_OP_SEND) &&
	    ur_cancel(uw, ur_ud(c, UR_SEND)) == -1))
		(void)shutdown(c->c_fd, SHUT_RDWR);
	stats_release();
	ur_conn_release(c);
	if (uw->uw_stopping && TAILQ_EMPTY(&uw->uw_conns))
		uw->uw_done = 1;
}

/* Free a closed connection once no request refers to it. */
static void
ur_conn_release(struct ur_conn *c)
{
	if (c->c_state != CONN_CLOSED || c->c_ops != 0)
		return;
	TAILQ_REMOVE(&c->c_uw->uw_closed, c, c_entry);
	close(c->c_fd);
	free(c->c_sending);
	free(c->c_queued);
	free(c);
}

/* Drain or close every connection; fn may free the one it is given. */
void
ur_conn_all(struct ur_worker *uw, void (*fn)(struct ur_conn *, const char *),
    const char *why)
{
	struct ur_conn	*c, *next;

	for (c = TAILQ_FIRST(&uw->uw_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, c_entry);
		fn(c, why);
	}
}
