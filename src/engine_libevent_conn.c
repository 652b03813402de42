/*
 * The libevent engine's connections: a bufferevent each, and a reader of
 * their own while they keep talking.  engine_libevent.c says why, and
 * how the protocol's rules map onto bufferevent features.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/buffer_compat.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "engine_libevent.h"
#include "log.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"
#include "zcopy.h"

/*
 * A connection, in the core's table: the core's part, what lev_sent()
 * last saw owed, and the bufferevent.  Its state is the core's; these
 * flags, in c_flags, say who reads for it.
 */
struct lev_conn {
	struct conn		 lc_conn;
	uint32_t		 lc_unsent;
	struct bufferevent	*lc_bev;
};

_Static_assert(sizeof(struct lev_conn) == LEV_CONN_SIZE,
    "LEV_CONN_SIZE is wrong");

#define C_READER	0x01	/* reads for itself: lev_readers, lev_reader_cb */
#define C_HEARD		0x02	/* the bufferevent read one message */

/* The most libevent 2.1's evbuffer_read() takes in one call. */
#define LEV_LIBEVENT_READ	4096

/* Input chains lev_peek() hands on: one read fills no more. */
#define LEV_NVEC		4

/*
 * How long a reader waits for a byte before lev_quiet() frees it: a
 * common pause between two messages is shorter, a connection gone quiet
 * gives its reader back soon.
 */
const struct timeval lev_quiet_wait = { 1, 0 };

/*
 * The readers of the connections that have one, by descriptor, for every
 * worker: address space for a pointer per slot of the core's table,
 * backed only where a connection has had a reader.
 */
static struct event	**lev_readers;
static pthread_once_t	  lev_once = PTHREAD_ONCE_INIT;

static void	lev_readers_map(void);
static struct lev_conn *lev_conn(struct conn *);
static int	lev_fd(const struct lev_conn *);
static void	lev_state(struct lev_conn *, enum conn_state);
static void	lev_touch(struct lev_conn *);
static void	lev_sent(struct lev_conn *);
static int	lev_peek(struct evbuffer *, struct evbuffer_iovec *);
static void	lev_backpressure(struct lev_conn *);
static int	lev_read_on(struct lev_conn *);
static void	lev_read_off(struct lev_conn *);
static void	lev_reader_start(struct lev_conn *);
static void	lev_reader_stop(struct lev_conn *);
static void	lev_quiet(struct lev_conn *);
static void	lev_splice(struct lev_conn *);
static int	lev_got(struct lev_conn *, ssize_t);
static int	lev_unsplice(struct lev_conn *);
static int	lev_write_now(struct lev_conn *, struct evbuffer *,
		    const struct evbuffer_iovec *, int, const unsigned char *,
		    size_t);
static int	lev_queue(struct lev_conn *, const unsigned char *, size_t);
static void	lev_finish(struct lev_conn *, const char *);
static void	lev_end(struct lev_conn *, const char *);

static void	lev_read_cb(struct bufferevent *, void *);
static void	lev_reader_cb(evutil_socket_t, short, void *);
static void	lev_write_cb(struct bufferevent *, void *);
static void	lev_event_cb(struct bufferevent *, short, void *);

/* Map the table of readers, once per process; -1 and a cause if not. */
int
lev_conn_init(char *cause, size_t len)
{
	pthread_once(&lev_once, lev_readers_map);
	if (lev_readers == NULL) {
		snprintf(cause, len, "cannot map the table of readers");
		return (-1);
	}
	return (0);
}

/*
 * Address space for a reader per slot of the core's table, which covers
 * every descriptor the kernel could hand out.
 */
static void
lev_readers_map(void)
{
	size_t	 n = conn_table_size();
	void	*p;

	p = mmap(NULL, n * sizeof(*lev_readers), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return;
	lev_readers = p;
}

/* The libevent connection whose core part is c. */
static struct lev_conn *
lev_conn(struct conn *c)
{
	return ((struct lev_conn *)c);
}

/* The descriptor of lc. */
static int
lev_fd(const struct lev_conn *lc)
{
	return (conn_fd(&lc->lc_conn));
}

/*
 * Set up a bufferevent for connection c, just admitted.  Returns -1 and
 * why when it cannot.
 */
int
lev_conn_new(struct lev_worker *lw, struct conn *c, const char **why)
{
	struct lev_conn	*lc = lev_conn(c);
	int		 fd = lev_fd(lc);

	lc->lc_bev = bufferevent_socket_new(lw->lw_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (lc->lc_bev == NULL) {
		*why = "out of memory";
		return (-1);
	}
	bufferevent_set_max_single_read(lc->lc_bev, ENGINE_IO_MAX);
	/*
	 * A write may take twice what a read brings: with the same cap,
	 * output that once held more than one read's worth would stay that
	 * full, each turn adding a read and writing as much, and every reply
	 * would be copied into it (bench/README.md, "Streams through
	 * libevent").
	 */
	bufferevent_set_max_single_write(lc->lc_bev, 2 * ENGINE_IO_MAX);
	bufferevent_setcb(lc->lc_bev, lev_read_cb, lev_write_cb, lev_event_cb,
	    lc);
	/*
	 * The bufferevent keeps a callback on its output that starts the
	 * write event whenever bytes are added; this engine starts it
	 * itself, only for what the socket would not take (lev_queue,
	 * lev_conn_drain).  Without it, adding to the output costs one call
	 * less, and a connection 48 bytes less.
	 */
	evbuffer_setcb(bufferevent_get_output(lc->lc_bev), NULL, NULL);
	/*
	 * A connection waiting for its PROXY header reads for itself from
	 * the start: the bufferevent would take the header and what follows
	 * it as one.
	 */
	if (c->c_state == CONN_PROXY) {
		lev_reader_start(lc);
		if (!(c->c_flags & C_READER)) {
			*why = "out of memory";
			goto fail;
		}
		return (0);
	}
	/*
	 * The write event is only wanted while output waits: lev_write_now.
	 * Enabling adds the descriptor to epoll, which fails for want of
	 * memory or at max_user_watches: the connection would never be read.
	 */
	if (bufferevent_enable(lc->lc_bev, EV_READ) == -1) {
		*why = "cannot watch the connection";
		goto fail;
	}
	return (0);

fail:
	/* The caller closes the descriptor: the bufferevent must not. */
	bufferevent_setfd(lc->lc_bev, -1);
	bufferevent_free(lc->lc_bev);
	lc->lc_bev = NULL;
	return (-1);
}

/* Change the state through the core's setter. */
static void
lev_state(struct lev_conn *lc, enum conn_state state)
{
	conn_set_state(lev_self->lw_worker, &lc->lc_conn, state);
}

/* Remember that a byte moved now. */
static void
lev_touch(struct lev_conn *lc)
{
	conn_touch(&lc->lc_conn, engine_now_ms());
}

/*
 * Count what the bufferevent has written since last time: while its
 * write event is on, it writes without telling.  An evbuffer callback
 * would tell, but costs a call on every change and 48 bytes a
 * connection; the output's length, compared with what it was, says the
 * same whenever it matters: before more is added, when the write
 * callback runs, when the core's tick asks whether the connection was
 * idle (lev_conn_sync), and at the end.
 */
static void
lev_sent(struct lev_conn *lc)
{
	size_t	left = evbuffer_get_length(bufferevent_get_output(lc->lc_bev));

	if (left < lc->lc_unsent) {
		conn_moved_out(lev_fd(lc), lc->lc_unsent - left);
		lev_touch(lc);
	}
	lc->lc_unsent = (uint32_t)left;
}

/* The core's tick is about to judge c: bring its last byte up to date. */
void
lev_conn_sync(struct conn *c)
{
	lev_sent(lev_conn(c));
}

/*
 * Bytes arrived through the bufferevent: transform them where they lie,
 * write, then apply backpressure.  A second message, or a read that
 * filled libevent's limit, gives the connection a reader of its own.
 */
static void
lev_read_cb(struct bufferevent *bev, void *arg)
{
	struct lev_conn		*lc = arg;
	struct conn		*c = &lc->lc_conn;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 v[LEV_NVEC];
	size_t			 got = evbuffer_get_length(in);
	int			 i, nv;

	lev_touch(lc);
	if (c->c_state == CONN_LINGERING) {
		evbuffer_drain(in, got);
		return;
	}
	lev_sent(lc);
	if ((nv = lev_peek(in, v)) == -1) {
		lev_end(lc, "out of memory");
		return;
	}
	for (i = 0; i < nv; i++)
		transform_apply(c->c_mode, v[i].iov_base, v[i].iov_len);
	conn_moved_in(lev_fd(lc), got);
	if (lev_write_now(lc, in, v, nv, NULL, 0) == -1)
		return;
	if ((c->c_flags & C_HEARD) || got >= LEV_LIBEVENT_READ)
		lev_reader_start(lc);
	else
		c->c_flags |= C_HEARD;
	lev_backpressure(lc);
}

/*
 * A connection's reader: read up to ENGINE_IO_MAX in one call, transform
 * and write as lev_read_cb does; after lev_quiet_wait without a byte, give
 * the reader back.  In echo mode, a read of splice_min_read bytes gives
 * the connection a pipe, and from then on, while nothing else is owed,
 * the reader splices instead (lev_splice).
 */
static void
lev_reader_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lev_conn	*lc = arg;
	unsigned char	*buf = lev_self->lw_buf;
	const char	*why;
	ssize_t		 n;

	if (what & EV_TIMEOUT) {
		/* Waiting for a PROXY header is the core's tick to judge. */
		if (lc->lc_conn.c_state != CONN_PROXY)
			lev_quiet(lc);
		return;
	}
	if (lc->lc_conn.c_state == CONN_PROXY) {
		switch (conn_proxy(lev_self->lw_worker, &lc->lc_conn, &why)) {
		case -1:
			lev_end(lc, why);
			return;
		case 0:
			return;
		}
	}
	lev_sent(lc);
	if (lc->lc_unsent == 0 && zcopy_active(fd)) {
		lev_splice(lc);
		return;
	}
	if (!lev_got(lc, n = recv(fd, buf, ENGINE_IO_MAX, 0)))
		return;
	transform_apply(lc->lc_conn.c_mode, buf, (size_t)n);
	conn_moved_in(fd, (uint64_t)n);
	if (lev_write_now(lc, bufferevent_get_input(lc->lc_bev), NULL, 0, buf,
	    (size_t)n) == -1)
		return;
	if (zcopy_wanted(&lc->lc_conn, lev_self->lw_worker->w_conf, (size_t)n))
		(void)zcopy_open(&lc->lc_conn, 0);
	lev_backpressure(lc);
}

/*
 * Act on what a read from lc's client returned (recv or splice alike):
 * an error ends the connection, unless it only means "nothing now"; the
 * end of input starts the drain; bytes count as activity.  Returns 1
 * when n bytes arrived and are to be answered, 0 otherwise.
 */
static int
lev_got(struct lev_conn *lc, ssize_t n)
{
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			lev_end(lc, strerror(errno));
		return (0);
	}
	if (n == 0) {
		lc->lc_conn.c_eof = 1;
		lev_conn_drain(lev_self->lw_worker, &lc->lc_conn,
		    "end of input");
		return (0);
	}
	lev_touch(lc);
	return (1);
}

/*
 * Splice what the client sent into lc's pipe and straight back, with
 * nothing owed before it.  What the socket does not take moves on into
 * the bufferevent's output, a copy, so the pipe is empty whenever this
 * returns and the bufferevent's rules (write event, backpressure, drain)
 * hold as they are.
 */
static void
lev_splice(struct lev_conn *lc)
{
	int	fd = lev_fd(lc);
	size_t	max = lc->lc_conn.c_max_pending;
	ssize_t	n;

	n = zcopy_in(fd, max < ENGINE_IO_MAX ? max : ENGINE_IO_MAX);
	if (!lev_got(lc, n))
		return;
	if (zcopy_out(fd) == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		lev_end(lc, strerror(errno));
		return;
	}
	if (zcopy_held(fd) > 0 && lev_unsplice(lc) == -1)
		return;
	lev_backpressure(lc);
}

/*
 * Move what lc's pipe holds into the bufferevent's output, to be written
 * when the socket takes more.  Returns -1 when that closed the connection.
 */
static int
lev_unsplice(struct lev_conn *lc)
{
	struct evbuffer		*out = bufferevent_get_output(lc->lc_bev);
	struct evbuffer_iovec	 v[2];
	size_t			 held = zcopy_held(lev_fd(lc)), got = 0;
	ssize_t			 n;
	int			 i, nv;

	if ((nv = evbuffer_reserve_space(out, (ev_ssize_t)held, v, 2)) < 1) {
		lev_end(lc, "out of memory");
		return (-1);
	}
	for (i = 0; i < nv && got < held; i++) {
		if ((n = zcopy_take(lev_fd(lc), v[i].iov_base,
		    v[i].iov_len)) <= 0) {
			lev_end(lc, "cannot read its pipe");
			return (-1);
		}
		v[i].iov_len = (size_t)n;
		got += (size_t)n;
	}
	if (evbuffer_commit_space(out, v, i) == -1) {
		lev_end(lc, "out of memory");
		return (-1);
	}
	lc->lc_unsent += (uint32_t)got;
	return (lev_queue(lc, NULL, 0));
}

/*
 * The core's backpressure rule: stop reading once max_pending_bytes wait
 * to be sent; the write low watermark, the core's resume level, calls
 * lev_write_cb to start again.
 */
static void
lev_backpressure(struct lev_conn *lc)
{
	if (!conn_full(&lc->lc_conn, lc->lc_unsent))
		return;
	lev_state(lc, CONN_PAUSED);
	lev_read_off(lc);
	bufferevent_setwatermark(lc->lc_bev, EV_WRITE,
	    conn_resume_level(&lc->lc_conn), 0);
}

/*
 * Read again, by whichever reads for lc.  Returns -1 when the descriptor
 * cannot be watched: epoll's add fails for want of memory or at
 * max_user_watches, when nothing else watched it.
 */
static int
lev_read_on(struct lev_conn *lc)
{
	if (lc->lc_conn.c_flags & C_READER)
		return (event_add(lev_readers[lev_fd(lc)], lev_self->lw_quiet));
	return (bufferevent_enable(lc->lc_bev, EV_READ));
}

/* Stop reading, by whichever reads for lc. */
static void
lev_read_off(struct lev_conn *lc)
{
	if (lc->lc_conn.c_flags & C_READER)
		event_del(lev_readers[lev_fd(lc)]);
	else
		bufferevent_disable(lc->lc_bev, EV_READ);
}

/*
 * Give lc a reader of its own and stop the bufferevent reading.  Without
 * memory for the event, the bufferevent reads on: slower, not wrong.
 */
static void
lev_reader_start(struct lev_conn *lc)
{
	struct event	*ev;
	int		 fd = lev_fd(lc);

	if ((lc->lc_conn.c_flags & C_READER) || conn_ending(&lc->lc_conn))
		return;
	ev = event_new(lev_self->lw_base, fd, EV_READ | EV_PERSIST,
	    lev_reader_cb, lc);
	if (ev == NULL)
		return;
	/*
	 * The reader is added while the bufferevent still watches the
	 * descriptor, so the descriptor is never added anew, which can fail.
	 */
	if (lc->lc_conn.c_state != CONN_PAUSED &&
	    event_add(ev, lev_self->lw_quiet) == -1) {
		event_free(ev);
		return;
	}
	bufferevent_disable(lc->lc_bev, EV_READ);
	lev_readers[fd] = ev;
	lc->lc_conn.c_flags |= C_READER;
}

/*
 * Free lc's reader, if it has one, and its pipe with it: the bufferevent
 * may read again.
 */
static void
lev_reader_stop(struct lev_conn *lc)
{
	if (!(lc->lc_conn.c_flags & C_READER))
		return;
	zcopy_close(lev_fd(lc));
	event_free(lev_readers[lev_fd(lc)]);
	lev_readers[lev_fd(lc)] = NULL;
	lc->lc_conn.c_flags &= ~(C_READER | C_HEARD);
}

/*
 * lc's reader waited lev_quiet_wait for a byte: give it back and let the
 * bufferevent read from here.  Whether the connection is idle is the
 * core's tick to say.
 */
static void
lev_quiet(struct lev_conn *lc)
{
	lev_reader_stop(lc);
	if (lc->lc_conn.c_state != CONN_PAUSED)
		bufferevent_enable(lc->lc_bev, EV_READ);
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
lev_write_now(struct lev_conn *lc, struct evbuffer *in,
    const struct evbuffer_iovec *ev, int nv, const unsigned char *more,
    size_t len)
{
	struct iovec		 v[LEV_NVEC + 1];
	size_t			 got = evbuffer_get_length(in), rest = got;
	size_t			 sent = 0;
	ssize_t			 n;
	int			 i;

	if (lc->lc_unsent == 0 && got + len > 0) {
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
			n = send(lev_fd(lc), v[0].iov_base, v[0].iov_len, 0);
		else
			n = writev(lev_fd(lc), v, nv);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			lev_end(lc, strerror(errno));
			return (-1);
		}
		sent = n > 0 ? (size_t)n : 0;
		conn_moved_out(lev_fd(lc), sent);
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
	if (rest > 0 && evbuffer_add_buffer(bufferevent_get_output(lc->lc_bev),
	    in) == -1) {
		lev_end(lc, "out of memory");
		return (-1);
	}
	lc->lc_unsent += (uint32_t)rest;
	return (lev_queue(lc, len > 0 ? more + sent : NULL, len - sent));
}

/*
 * Add len bytes at p to the output, and turn on the write event for
 * whatever the output holds.  Returns -1 when out of memory closed the
 * connection.
 */
static int
lev_queue(struct lev_conn *lc, const unsigned char *p, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(lc->lc_bev);

	if (len > 0 && evbuffer_add(out, p, len) == -1) {
		lev_end(lc, "out of memory");
		return (-1);
	}
	lc->lc_unsent += (uint32_t)len;
	if (lc->lc_unsent > 0 &&
	    bufferevent_enable(lc->lc_bev, EV_WRITE) == -1) {
		lev_end(lc, "cannot watch the connection");
		return (-1);
	}
	return (0);
}

/* The output drained to the low watermark. */
static void
lev_write_cb(struct bufferevent *bev, void *arg)
{
	struct lev_conn	*lc = arg;
	int		 empty;

	lev_sent(lc);
	empty = lc->lc_unsent == 0;
	if (lc->lc_conn.c_state == CONN_DRAINING) {
		if (empty)
			lev_finish(lc, "drained");
		return;
	}
	if (lc->lc_conn.c_state == CONN_PAUSED) {
		lev_state(lc, CONN_READING);
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		if (lev_read_on(lc) == -1) {
			lev_end(lc, "cannot watch the connection");
			return;
		}
	}
	/* All written: the read callback writes directly again. */
	if (empty)
		bufferevent_disable(bev, EV_WRITE);
}

/* EOF or an error. */
static void
lev_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct lev_conn	*lc = arg;

	if (what & BEV_EVENT_EOF) {
		lc->lc_conn.c_eof = 1;
		if (lc->lc_conn.c_state == CONN_LINGERING)
			lev_end(lc, "drained");
		else
			lev_conn_drain(lev_self->lw_worker, &lc->lc_conn,
			    "end of input");
	}
	else if (what & BEV_EVENT_ERROR)
		lev_end(lc, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
}

/* Read no more; close once everything owed has been written. */
void
lev_conn_drain(struct worker *w, struct conn *c, const char *why)
{
	struct lev_conn	*lc = lev_conn(c);

	if (conn_ending(c))
		return;
	conn_set_state(w, c, CONN_DRAINING);
	if (evbuffer_get_length(bufferevent_get_output(lc->lc_bev)) == 0) {
		lev_reader_stop(lc);
		bufferevent_disable(lc->lc_bev, EV_READ);
		lev_finish(lc, why);
		return;
	}
	bufferevent_setwatermark(lc->lc_bev, EV_WRITE, 0, 0);
	/* Writing first, so that the descriptor stays watched throughout. */
	if (bufferevent_enable(lc->lc_bev, EV_WRITE) == -1) {
		lev_end(lc, "cannot watch the connection");
		return;
	}
	lev_reader_stop(lc);
	bufferevent_disable(lc->lc_bev, EV_READ);
}

/*
 * Everything owed is with the kernel: close, or linger as the core says,
 * reading and discarding until the client's end of input; the core's
 * tick closes it once the client has taken it all.
 */
static void
lev_finish(struct lev_conn *lc, const char *why)
{
	/* Unwatched, a lingering connection could only wait for its tick. */
	if (!conn_finish(lev_self->lw_worker, &lc->lc_conn) ||
	    bufferevent_enable(lc->lc_bev, EV_READ) == -1) {
		lev_end(lc, why);
		return;
	}
}

/* The core's close: end c now. */
void
lev_conn_close(struct worker *w, struct conn *c, const char *why)
{
	lev_end(lev_conn(c), why);
}

/*
 * The one way a connection ends here: the core releases it, then the
 * reader and the bufferevent go, and with it the descriptor, last:
 * whichever worker gets the number next may take the slot at once.
 */
static void
lev_end(struct lev_conn *lc, const char *why)
{
	struct worker	*w = lev_self->lw_worker;

	lev_sent(lc);
	conn_release(w, &lc->lc_conn, why);
	lev_reader_stop(lc);
	bufferevent_free(lc->lc_bev);
	lev_done(w);
}
