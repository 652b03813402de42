/*
 * The libevent engine's connections: a bufferevent each, and a reader of
 * their own while they keep talking.  engine_libevent.c says why, and
 * how the protocol's rules map onto bufferevent features.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/buffer_compat.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conf.h"
#include "engine.h"
#include "engine_libevent.h"
#include "log.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"

/* Connection flags. */
#define C_PAUSED	0x01	/* reading stopped by backpressure */
#define C_DRAINING	0x02	/* reading stopped for good: EOF or shutdown */
#define C_EOF		0x04	/* the client has shut down its side */
#define C_LINGER	0x08	/* all sent; discarding input until EOF */
#define C_READER	0x10	/* reads for itself: lev_readers, lev_reader_cb */
#define C_HEARD		0x20	/* the bufferevent read one message */

/* The most libevent 2.1's evbuffer_read() takes in one call. */
#define LEV_LIBEVENT_READ	4096

/* Input chains lev_peek() hands on: one read fills no more. */
#define LEV_NVEC		4

/*
 * How long a reader waits for a byte before lev_quiet() frees it.
 * idle_timeout, in whole seconds, is never shorter, so lev_quiet() sees
 * in time every connection with a reader that has gone idle.
 */
const struct timeval lev_quiet_wait = { 1, 0 };

/* How often a lingering connection checks whether it may close. */
static const struct timeval lev_linger_check = { 0, 100 * 1000 };

static const struct timeval *lev_idle_timeout(struct lev_worker *,
		    unsigned int, struct timeval *);
static uint32_t	lev_now_ms(void);
static void	lev_link(struct lev_worker *, int);
static void	lev_unlink(struct lev_worker *, struct conn *);
static void	lev_touch(struct conn *);
static void	lev_sent(struct conn *);
static int	lev_peek(struct evbuffer *, struct evbuffer_iovec *);
static void	lev_backpressure(struct conn *);
static void	lev_read_on(struct conn *);
static void	lev_read_off(struct conn *);
static void	lev_reader_start(struct conn *);
static void	lev_reader_stop(struct conn *);
static void	lev_quiet(struct conn *);
static int	lev_check_idle(struct conn *);
static int	lev_write_now(struct conn *, struct evbuffer *,
		    const struct evbuffer_iovec *, int, const unsigned char *,
		    size_t);
static int	lev_queue(struct conn *, const unsigned char *, size_t);
static void	lev_conn_finish(struct conn *, const char *);
static void	lev_conn_timeout(struct conn *, short);

static void	lev_read_cb(struct bufferevent *, void *);
static void	lev_reader_cb(evutil_socket_t, short, void *);
static void	lev_write_cb(struct bufferevent *, void *);
static void	lev_event_cb(struct bufferevent *, short, void *);

/*
 * Set up a bufferevent for an admitted descriptor in its slot.  Returns
 * -1 and why when it cannot.
 */
int
lev_conn_new(struct lev_worker *lw, int fd, const char **why)
{
	const struct iod_conf	*conf = lw->lw_worker->w_conf;
	struct conn		*c;
	const struct timeval	*idle;
	struct timeval		 tv;

	if ((size_t)fd >= lev_nslots) {
		*why = "descriptor above fs.nr_open";
		return (-1);
	}
	c = &lev_conns[fd];
	c->c_bev = bufferevent_socket_new(lw->lw_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->c_bev == NULL) {
		*why = "out of memory";
		return (-1);
	}
	c->c_mode = conf->mode;
	c->c_max_pending = (uint32_t)conf->max_pending_bytes;
	c->c_idle = (unsigned int)conf->idle_timeout;
	c->c_unsent = 0;
	c->c_flags = 0;
	lev_link(lw, fd);
	engine_sockopts(conf, fd);
	lev_touch(c);
	bufferevent_set_max_single_read(c->c_bev, ENGINE_IO_MAX);
	/*
	 * A write may take twice what a read brings: with the same cap,
	 * output that once held more than one read's worth would stay that
	 * full, each turn adding a read and writing as much, and every reply
	 * would be copied into it (bench/README.md, "Streams through
	 * libevent").
	 */
	bufferevent_set_max_single_write(c->c_bev, 2 * ENGINE_IO_MAX);
	bufferevent_setcb(c->c_bev, lev_read_cb, lev_write_cb, lev_event_cb, c);
	/*
	 * The bufferevent keeps a callback on its output that starts the
	 * write event whenever bytes are added; this engine starts it
	 * itself, only for what the socket would not take (lev_queue,
	 * lev_conn_drain).  Without it, adding to the output costs one call
	 * less, and a connection 48 bytes less.
	 */
	evbuffer_setcb(bufferevent_get_output(c->c_bev), NULL, NULL);
	if (c->c_idle > 0) {
		idle = lev_idle_timeout(lw, c->c_idle, &tv);
		bufferevent_set_timeouts(c->c_bev, idle, idle);
	}
	/* The write event is only wanted while output waits: lev_write_now. */
	bufferevent_enable(c->c_bev, EV_READ);
	return (0);
}

/*
 * idle_timeout as one of libevent's common timeouts: every connection
 * waits the same time, so its timeouts go in one queue, in order,
 * rather than in the heap of timers, which costs a slot and a heap
 * update per read.  Made once per value; should libevent not make one
 * (it keeps at most 256 per base), the plain time in *tv does.
 */
static const struct timeval *
lev_idle_timeout(struct lev_worker *lw, unsigned int secs,
    struct timeval *tv)
{
	tv->tv_sec = secs;
	tv->tv_usec = 0;
	if (lw->lw_idle == NULL || lw->lw_idle_secs != secs) {
		lw->lw_idle = event_base_init_common_timeout(lw->lw_base, tv);
		lw->lw_idle_secs = secs;
	}
	return (lw->lw_idle != NULL ? lw->lw_idle : tv);
}

/* The worker's loop time, in milliseconds; it wraps after 49 days. */
static uint32_t
lev_now_ms(void)
{
	struct timeval	now;

	event_base_gettimeofday_cached(lev_self->lw_base, &now);
	return ((uint32_t)now.tv_sec * 1000 + (uint32_t)now.tv_usec / 1000);
}

/* Put slot fd at the head of the worker's connections. */
static void
lev_link(struct lev_worker *lw, int fd)
{
	struct conn	*c = &lev_conns[fd];

	c->c_prev = -1;
	c->c_next = lw->lw_first;
	if (lw->lw_first != -1)
		lev_conns[lw->lw_first].c_prev = fd;
	lw->lw_first = fd;
	lw->lw_nconns++;
}

/* Take c out of the worker's connections. */
static void
lev_unlink(struct lev_worker *lw, struct conn *c)
{
	if (c->c_prev != -1)
		lev_conns[c->c_prev].c_next = c->c_next;
	else
		lw->lw_first = c->c_next;
	if (c->c_next != -1)
		lev_conns[c->c_next].c_prev = c->c_prev;
	lw->lw_nconns--;
}

/* Remember that a byte moved now. */
static void
lev_touch(struct conn *c)
{
	c->c_last_io = lev_now_ms();
}

/*
 * Count what the bufferevent has written since last time: while its
 * write event is on, it writes without telling.  An evbuffer callback
 * would tell, but costs a call on every change and 48 bytes a
 * connection; the output's length, compared with what it was, says the
 * same whenever it matters: before more is added, when the write
 * callback runs, when a timeout asks whether the connection was idle,
 * and at the end.
 */
static void
lev_sent(struct conn *c)
{
	size_t	left = evbuffer_get_length(bufferevent_get_output(c->c_bev));

	if (left < c->c_unsent) {
		stats_add_out(c->c_unsent - left);
		lev_touch(c);
	}
	c->c_unsent = (uint32_t)left;
}

/*
 * Bytes arrived through the bufferevent: transform them where they lie,
 * write, then apply backpressure.  A second message, or a read that
 * filled libevent's limit, gives the connection a reader of its own.
 */
static void
lev_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 v[LEV_NVEC];
	size_t			 got = evbuffer_get_length(in);
	int			 i, nv;

	lev_touch(c);
	if (c->c_flags & C_LINGER) {
		evbuffer_drain(in, got);
		return;
	}
	lev_sent(c);
	if ((nv = lev_peek(in, v)) == -1) {
		lev_conn_close(c, "out of memory");
		return;
	}
	for (i = 0; i < nv; i++)
		transform_apply(c->c_mode, v[i].iov_base, v[i].iov_len);
	stats_add_in(got);
	if (lev_write_now(c, in, v, nv, NULL, 0) == -1)
		return;
	if ((c->c_flags & C_HEARD) || got >= LEV_LIBEVENT_READ)
		lev_reader_start(c);
	else
		c->c_flags |= C_HEARD;
	lev_backpressure(c);
}

/*
 * A connection's reader: read up to ENGINE_IO_MAX in one call, transform
 * and write as lev_read_cb does; after lev_quiet_wait without a byte, give
 * the reader back.
 */
static void
lev_reader_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	unsigned char	*buf = lev_self->lw_buf;
	ssize_t		 n;

	if (what & EV_TIMEOUT) {
		lev_quiet(c);
		return;
	}
	if ((n = recv(fd, buf, ENGINE_IO_MAX, 0)) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			lev_conn_close(c, strerror(errno));
		return;
	}
	if (n == 0) {
		c->c_flags |= C_EOF;
		lev_conn_drain(c, "end of input");
		return;
	}
	lev_touch(c);
	lev_sent(c);
	transform_apply(c->c_mode, buf, (size_t)n);
	stats_add_in((uint64_t)n);
	if (lev_write_now(c, bufferevent_get_input(c->c_bev), NULL, 0, buf,
	    (size_t)n) == -1)
		return;
	lev_backpressure(c);
}

/*
 * Stop reading while max_pending_bytes wait to be sent; lev_write_cb
 * starts again once half of that has gone.
 */
static void
lev_backpressure(struct conn *c)
{
	if (c->c_unsent < c->c_max_pending)
		return;
	c->c_flags |= C_PAUSED;
	lev_read_off(c);
	bufferevent_setwatermark(c->c_bev, EV_WRITE, c->c_max_pending / 2, 0);
}

/* Read again, by whichever reads for c. */
static void
lev_read_on(struct conn *c)
{
	if (c->c_flags & C_READER)
		event_add(lev_readers[lev_fd(c)], lev_self->lw_quiet);
	else
		bufferevent_enable(c->c_bev, EV_READ);
}

/* Stop reading, by whichever reads for c. */
static void
lev_read_off(struct conn *c)
{
	if (c->c_flags & C_READER)
		event_del(lev_readers[lev_fd(c)]);
	else
		bufferevent_disable(c->c_bev, EV_READ);
}

/*
 * Give c a reader of its own and stop the bufferevent reading.  Without
 * memory for the event, the bufferevent reads on: slower, not wrong.
 */
static void
lev_reader_start(struct conn *c)
{
	struct event	*ev;
	int		 fd = lev_fd(c);

	if (c->c_flags & (C_READER | C_DRAINING))
		return;
	ev = event_new(lev_self->lw_base, fd, EV_READ | EV_PERSIST,
	    lev_reader_cb, c);
	if (ev == NULL)
		return;
	bufferevent_disable(c->c_bev, EV_READ);
	lev_readers[fd] = ev;
	c->c_flags |= C_READER;
	if (!(c->c_flags & C_PAUSED))
		lev_read_on(c);
}

/* Free c's reader, if it has one; the bufferevent may read again. */
static void
lev_reader_stop(struct conn *c)
{
	if (!(c->c_flags & C_READER))
		return;
	event_free(lev_readers[lev_fd(c)]);
	lev_readers[lev_fd(c)] = NULL;
	c->c_flags &= ~(C_READER | C_HEARD);
}

/*
 * c's reader waited lev_quiet_wait for a byte: unless idle_timeout
 * closes the connection, give the reader back and let the bufferevent
 * read, and time out, from here.
 */
static void
lev_quiet(struct conn *c)
{
	if (lev_check_idle(c) == -1)
		return;
	lev_reader_stop(c);
	if (!(c->c_flags & C_PAUSED))
		bufferevent_enable(c->c_bev, EV_READ);
}

/*
 * Fill v with the input's chains and return how many.  One libevent read
 * fills at most a few, and the read callback always empties the input,
 * so LEV_NVEC is plenty; should more ever be there, one pullup makes them
 * a single chain.  Returns -1 when out of memory.
 */
static int
lev_peek(struct evbuffer *in, struct evbuffer_iovec *v)
{
	int	n;

	if ((n = evbuffer_peek(in, -1, NULL, v, LEV_NVEC)) > LEV_NVEC) {
		if (evbuffer_pullup(in, -1) == NULL)
			return (-1);
		n = evbuffer_peek(in, -1, NULL, v, LEV_NVEC);
	}
	return (n);
}

/*
 * Write the transformed input, whose nv chains are at ev, then the len
 * bytes at more, now rather than on the next pass through the loop,
 * straight from where they were read; move to the output what the socket
 * would not take, and turn on the write event for it.  With output
 * already waiting, everything only joins the queue behind it.  Returns -1
 * when an error closed the connection.
 */
static int
lev_write_now(struct conn *c, struct evbuffer *in,
    const struct evbuffer_iovec *ev, int nv, const unsigned char *more,
    size_t len)
{
	struct iovec		 v[LEV_NVEC + 1];
	size_t			 got = evbuffer_get_length(in), rest = got;
	size_t			 sent = 0;
	ssize_t			 n;
	int			 i;

	if (c->c_unsent == 0 && got + len > 0) {
		for (i = 0; i < nv; i++) {
			v[i].iov_base = ev[i].iov_base;
			v[i].iov_len = ev[i].iov_len;
		}
		if (len > 0) {
			v[nv].iov_base = (void *)more;
			v[nv++].iov_len = len;
		}
		/*
		 * One buffer, as a message's reply usually is: send(2) is a
		 * shorter way through the kernel than writev(2).
		 */
		if (nv == 1)
			n = send(lev_fd(c), v[0].iov_base, v[0].iov_len, 0);
		else
			n = writev(lev_fd(c), v, nv);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			lev_conn_close(c, strerror(errno));
			return (-1);
		}
		sent = n > 0 ? (size_t)n : 0;
		stats_add_out(sent);
		if (sent < got) {
			rest = got - sent;
			sent = 0;
		} else {
			rest = 0;
			sent -= got;
		}
		evbuffer_drain(in, got - rest);
	}
	/* Relinking the input's chains into the output copies nothing. */
	if (rest > 0 && evbuffer_add_buffer(bufferevent_get_output(c->c_bev),
	    in) == -1) {
		lev_conn_close(c, "out of memory");
		return (-1);
	}
	c->c_unsent += (uint32_t)rest;
	return (lev_queue(c, len > 0 ? more + sent : NULL, len - sent));
}

/*
 * Add len bytes at p to the output, and turn on the write event for
 * whatever the output holds.  Returns -1 when out of memory closed the
 * connection.
 */
static int
lev_queue(struct conn *c, const unsigned char *p, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(c->c_bev);

	if (len > 0 && evbuffer_add(out, p, len) == -1) {
		lev_conn_close(c, "out of memory");
		return (-1);
	}
	c->c_unsent += (uint32_t)len;
	if (c->c_unsent > 0)
		bufferevent_enable(c->c_bev, EV_WRITE);
	return (0);
}

/* The output drained to the low watermark. */
static void
lev_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	int		 empty;

	lev_sent(c);
	empty = c->c_unsent == 0;
	if (c->c_flags & C_DRAINING) {
		if (empty)
			lev_conn_finish(c, "drained");
		return;
	}
	if (c->c_flags & C_PAUSED) {
		c->c_flags &= ~C_PAUSED;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		lev_read_on(c);
	}
	/* All written: the read callback writes directly again. */
	if (empty)
		bufferevent_disable(bev, EV_WRITE);
}

/* EOF, an error or a timeout. */
static void
lev_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_EOF) {
		c->c_flags |= C_EOF;
		if (c->c_flags & C_LINGER)
			lev_conn_close(c, "drained");
		else
			lev_conn_drain(c, "end of input");
	}
	else if (what & BEV_EVENT_ERROR)
		lev_conn_close(c, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	else if (what & BEV_EVENT_TIMEOUT)
		lev_conn_timeout(c, what);
}

/*
 * A read or write timeout of the bufferevent fired, which only means
 * that one direction was quiet: lev_check_idle() decides.  A lingering
 * connection uses the read timeout to check whether it may close yet.
 */
static void
lev_conn_timeout(struct conn *c, short what)
{
	if (c->c_flags & C_LINGER) {
		if (!engine_must_linger(lev_fd(c)))
			lev_conn_close(c, "drained");
		else
			bufferevent_enable(c->c_bev, EV_READ);
		return;
	}
	if (lev_check_idle(c) == -1)
		return;
	/* libevent stopped the direction that timed out. */
	if ((what & BEV_EVENT_READING) &&
	    !(c->c_flags & (C_PAUSED | C_DRAINING)))
		bufferevent_enable(c->c_bev, EV_READ);
	if (what & BEV_EVENT_WRITING)
		bufferevent_enable(c->c_bev, EV_WRITE);
}

/*
 * Close c if no byte moved either way for idle_timeout, and return -1;
 * otherwise set the bufferevent's timeouts to the time that is left.
 */
static int
lev_check_idle(struct conn *c)
{
	struct timeval	left;
	uint32_t	quiet, idle = (uint32_t)c->c_idle * 1000;

	if (idle == 0)
		return (0);
	lev_sent(c);
	/* Unsigned: right across the clock's wrap. */
	quiet = lev_now_ms() - c->c_last_io;
	if (quiet >= idle) {
		stats_count_timeout();
		lev_conn_close(c, "idle timeout");
		return (-1);
	}
	left.tv_sec = (idle - quiet) / 1000;
	left.tv_usec = (idle - quiet) % 1000 * 1000;
	bufferevent_set_timeouts(c->c_bev, &left, &left);
	return (0);
}

/* Read no more; close once everything owed has been written. */
void
lev_conn_drain(struct conn *c, const char *why)
{
	c->c_flags |= C_DRAINING;
	lev_reader_stop(c);
	bufferevent_disable(c->c_bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0) {
		lev_conn_finish(c, why);
		return;
	}
	bufferevent_setwatermark(c->c_bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->c_bev, EV_WRITE);
}

/*
 * Everything owed is with the kernel: close, or linger if that loses it,
 * checking every lev_linger_check whether the client has taken it all.
 */
static void
lev_conn_finish(struct conn *c, const char *why)
{
	if ((c->c_flags & C_EOF) || !engine_must_linger(lev_fd(c)) ||
	    shutdown(lev_fd(c), SHUT_WR) == -1) {
		lev_conn_close(c, why);
		return;
	}
	c->c_flags |= C_LINGER;
	bufferevent_set_timeouts(c->c_bev, &lev_linger_check, NULL);
	bufferevent_enable(c->c_bev, EV_READ);
}

/* Drain or close every connection; fn may free the one it is given. */
void
lev_conn_all(struct lev_worker *lw, void (*fn)(struct conn *, const char *),
    const char *why)
{
	int	fd, next;

	for (fd = lw->lw_first; fd != -1; fd = next) {
		next = lev_conns[fd].c_next;
		fn(&lev_conns[fd], why);
	}
}

/*
 * The one way a connection ends.  The worker lets go of the slot before
 * the descriptor is closed: whichever worker gets the number next may
 * take the slot at once.
 */
void
lev_conn_close(struct conn *c, const char *why)
{
	struct lev_worker	*lw = lev_self;

	log_debug("worker %d: closing fd %d: %s", lw->lw_worker->w_id,
	    lev_fd(c), why);
	lev_sent(c);
	lev_unlink(lw, c);
	lev_reader_stop(c);
	bufferevent_free(c->c_bev);
	stats_release();
	if (lw->lw_stopping && lw->lw_nconns == 0)
		event_base_loopexit(lw->lw_base, NULL);
}
