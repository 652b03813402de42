/*
 * The libevent engine: an evconnlistener per listening socket and one
 * bufferevent per connection, on the worker's own event_base.
 *
 * A connection sends back every byte it reads, transformed; what the
 * socket will not take at once waits in the bufferevent's output buffer,
 * and libevent writes that.  The rules of the protocol map onto
 * bufferevent features:
 *  - backpressure: when the output reaches max_pending_bytes, reading
 *    stops; it starts again once the output drains below half of that
 *    (the write low watermark), as in libevent's le-proxy sample;
 *  - half-close: on EOF reading stops, the output drains, then it closes;
 *  - idle timeout: read and write timeouts, because a read timeout does
 *    not run while reading is paused; the time of the last byte moved
 *    either way decides whether a timeout really means idle;
 *  - fairness: a cap on bytes per read and write callback, and on
 *    connections accepted per wake-up.
 *
 * Two things keep it close to a hand-written loop.  The read callback
 * transforms the input where libevent read it and writes it at once
 * (send() or writev()), turning on the bufferevent's write event only
 * for what the socket would not take, and only that moves to the output:
 * leaving every write to the write event costs two epoll_ctl calls and a
 * second pass through the loop per message, and moving every reply
 * through the output costs libevent's bookkeeping twice over.
 *
 * And a connection that keeps talking reads for itself.  The
 * bufferevent's read costs a FIONREAD ioctl and a chain malloc()ed and
 * freed per message, about a tenth of the CPU a round trip takes, and
 * libevent 2.1 reads at most 4096 bytes per call (evbuffer_read(); only
 * 2.2 can change that).  That small read in front of a full queue also
 * keeps Linux from growing the socket's receive buffer, which grows only
 * when a read finds that more was taken in the last round trip than is
 * still queued: most streaming sockets stayed at their initial 128 KiB
 * (bench/README.md, "Streams through libevent").  So at its second
 * message, or at once if a read fills libevent's 4096 bytes, a connection
 * gets a read event of its own (its reader, lev_reader_cb) that reads up
 * to ENGINE_IO_MAX in one recv() into the worker's one buffer, and the
 * bufferevent stops reading; it still holds and writes what the socket
 * will not take.  A reader costs an event (about 150 bytes), so it is
 * given back after a second without a byte (LEV_QUIET), as memcached
 * lends a connection its read buffer only while it reads: an idle
 * connection costs no more than its bufferevent.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/buffer_compat.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "conf.h"
#include "engine.h"
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

/*
 * A connection: its slot in lev_conns, the table indexed by descriptor
 * that every worker shares; a descriptor, and so its slot, belongs to one
 * worker at a time, and only that worker's thread touches the slot.  A
 * worker links its slots by descriptor.  Past the bufferevent, which is
 * most of a connection's memory, a connection costs these 32 bytes and
 * no allocation of its own.
 */
struct conn {
	struct bufferevent	*c_bev;
	uint32_t		 c_unsent;	/* output as lev_sent() last saw it */
	uint32_t		 c_max_pending;
	uint32_t		 c_last_io;	/* last byte moved, lev_now_ms() */
	unsigned int		 c_idle : 20;	/* idle_timeout, seconds */
	unsigned int		 c_mode : 2;	/* enum transform_mode */
	unsigned int		 c_flags : 8;
	int			 c_next;	/* the worker's next one, or -1 */
	int			 c_prev;	/* its previous one, or -1 */
};

/* fs.nr_open when /proc does not say: the kernel's default. */
#define LEV_NR_OPEN		(1024 * 1024)

/* The most libevent 2.1's evbuffer_read() takes in one call. */
#define LEV_LIBEVENT_READ	4096

/*
 * How long a reader waits for a byte before lev_quiet() gives it back.
 * idle_timeout, in whole seconds, is never shorter.
 */
static const struct timeval lev_quiet_wait = { 1, 0 };

/* Input chains lev_peek() hands on: one read fills no more. */
#define LEV_NVEC		4

/* How often a lingering connection checks whether it may close. */
static const struct timeval lev_linger_check = { 0, 100 * 1000 };

struct lev_listener {
	struct evconnlistener	*ll_lev;
	struct lev_worker	*ll_lw;
	const struct listener	*ll_src;
	int			 ll_accepted;	/* this wake-up */
	struct event		*ll_round;	/* runs after the wake-up */
	struct event		*ll_pause;	/* re-enables after EMFILE */
};

struct lev_worker {
	struct worker		*lw_worker;
	struct event_base	*lw_base;
	struct event		*lw_notify;
	struct lev_listener	*lw_listeners;
	size_t			 lw_nlisteners;
	size_t			 lw_nconns;	/* its slots in lev_conns */
	int			 lw_first;	/* the first of them, or -1 */
	const struct timeval	*lw_idle;	/* lev_idle_timeout() */
	unsigned int		 lw_idle_secs;
	const struct timeval	*lw_quiet;	/* lev_quiet_wait, common */
	unsigned char		*lw_buf;	/* ENGINE_IO_MAX, lev_reader_cb */
	int			 lw_stopping;
};

/*
 * The connections of every worker, by descriptor, and the readers of
 * those that have one (C_READER), by descriptor too: see lev_table().
 */
static struct conn	*lev_conns;
static struct event	**lev_readers;
static size_t		 lev_nslots;
static pthread_once_t	 lev_once = PTHREAD_ONCE_INIT;

/* The worker this thread runs: every callback runs on its thread. */
static _Thread_local struct lev_worker *lev_self;

#define lev_fd(c)	((int)((c) - lev_conns))

static void	lev_table(void);
static void	*lev_map(size_t, size_t);
static uint32_t	lev_now_ms(void);
static int	lev_start(struct worker *, char *, size_t);
static void	lev_run(struct worker *);
static void	lev_command(struct worker *, enum engine_cmd);
static void	lev_stop(struct worker *);

static int	lev_listen_all(struct lev_worker *);
static int	lev_listen_one(struct lev_worker *, struct lev_listener *,
		    const struct listener *);
static void	lev_unlisten(struct lev_listener *);
static void	lev_unlisten_all(struct lev_worker *);
static void	lev_accept(struct lev_listener *, int);
static int	lev_conn_new(struct lev_worker *, int, const char **);
static void	lev_conn_all(struct lev_worker *,
		    void (*)(struct conn *, const char *), const char *);
static void	lev_conn_close(struct conn *, const char *);
static void	lev_conn_drain(struct conn *, const char *);
static void	lev_conn_finish(struct conn *, const char *);
static void	lev_conn_timeout(struct conn *, short);
static const struct timeval *lev_idle_timeout(struct lev_worker *,
		    unsigned int, struct timeval *);
static void	lev_link(struct lev_worker *, int);
static void	lev_unlink(struct lev_worker *, struct conn *);
static void	lev_touch(struct conn *);
static int	lev_peek(struct evbuffer *, struct evbuffer_iovec *);
static void	lev_sent(struct conn *);
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

static void	lev_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	lev_accept_error_cb(struct evconnlistener *, void *);
static void	lev_round_cb(evutil_socket_t, short, void *);
static void	lev_pause_cb(evutil_socket_t, short, void *);
static void	lev_notify_cb(evutil_socket_t, short, void *);
static void	lev_read_cb(struct bufferevent *, void *);
static void	lev_reader_cb(evutil_socket_t, short, void *);
static void	lev_write_cb(struct bufferevent *, void *);
static void	lev_event_cb(struct bufferevent *, short, void *);

const struct engine engine_libevent = {
	"libevent", NULL, lev_start, lev_run, lev_command, lev_stop
};

/* Create the worker's event_base and start accepting. */
static int
lev_start(struct worker *w, char *cause, size_t len)
{
	struct event_config	*cfg;
	struct lev_worker	*lw;

	pthread_once(&lev_once, lev_table);
	if (lev_nslots == 0 || (lw = calloc(1, sizeof(*lw))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	lw->lw_worker = w;
	lw->lw_first = -1;
	w->w_engine = lw;
	lev_self = lw;
	/* Only this worker's thread ever touches its base. */
	if ((cfg = event_config_new()) != NULL) {
		event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
		lw->lw_base = event_base_new_with_config(cfg);
		event_config_free(cfg);
	}
	if (lw->lw_base == NULL) {
		snprintf(cause, len, "cannot create an event base");
		return (-1);
	}
	lw->lw_notify = event_new(lw->lw_base, w->w_notify,
	    EV_READ | EV_PERSIST, lev_notify_cb, w);
	lw->lw_quiet = event_base_init_common_timeout(lw->lw_base,
	    &lev_quiet_wait);
	if (lw->lw_quiet == NULL)
		lw->lw_quiet = &lev_quiet_wait;
	/*
	 * Page-aligned: the kernel copies received bytes into it, and
	 * copying to malloc()'s 16-byte alignment cost this machine's CPU
	 * several times as much per byte (perf: _copy_to_iter).
	 */
	lw->lw_buf = aligned_alloc(4096, ENGINE_IO_MAX);
	if (lw->lw_notify == NULL || event_add(lw->lw_notify, NULL) == -1 ||
	    lw->lw_buf == NULL ||
	    lev_listen_all(lw) == -1) {
		snprintf(cause, len, "cannot start worker %d", w->w_id);
		return (-1);
	}
	return (0);
}

/*
 * Make the tables by descriptor, once per process, with a slot for every
 * descriptor the kernel could ever hand out (fs.nr_open), so that no
 * open-file limit raised later, by a reload or from outside, finds them
 * short.  They are address space only: MAP_NORESERVE, and a page is
 * backed once a slot on it is used, so lev_readers costs nothing until a
 * connection has a reader.
 */
static void
lev_table(void)
{
	FILE		*f;
	unsigned long	 n = LEV_NR_OPEN;

	if ((f = fopen("/proc/sys/fs/nr_open", "re")) != NULL) {
		if (fscanf(f, "%lu", &n) != 1)
			n = LEV_NR_OPEN;
		fclose(f);
	}
	lev_conns = lev_map(n, sizeof(*lev_conns));
	lev_readers = lev_map(n, sizeof(*lev_readers));
	if (lev_conns != NULL && lev_readers != NULL)
		lev_nslots = n;
}

/* Address space for n slots of size bytes, or NULL. */
static void *
lev_map(size_t n, size_t size)
{
	void	*p;

	p = mmap(NULL, n * size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return (p == MAP_FAILED ? NULL : p);
}

/* The worker's loop time, in milliseconds; it wraps after 49 days. */
static uint32_t
lev_now_ms(void)
{
	struct timeval	now;

	event_base_gettimeofday_cached(lev_self->lw_base, &now);
	return ((uint32_t)now.tv_sec * 1000 + (uint32_t)now.tv_usec / 1000);
}

/* Serve until a STOP has been handled and every connection is closed. */
static void
lev_run(struct worker *w)
{
	struct lev_worker	*lw = w->w_engine;

	if (event_base_dispatch(lw->lw_base) == -1)
		log_warnx("worker %d: event loop failed", w->w_id);
}

/* Handle a command from the supervisor. */
static void
lev_command(struct worker *w, enum engine_cmd cmd)
{
	struct lev_worker	*lw = w->w_engine;

	switch (cmd) {
	case ENGINE_APPLY:
		lev_unlisten_all(lw);
		if (lev_listen_all(lw) == -1)
			log_warnx("worker %d: cannot listen on every address",
			    w->w_id);
		break;
	case ENGINE_STOP:
		lw->lw_stopping = 1;
		lev_unlisten_all(lw);
		lev_conn_all(lw, lev_conn_drain, "shutdown");
		break;
	case ENGINE_DEADLINE:
		lw->lw_stopping = 1;
		lev_conn_all(lw, lev_conn_close, "shutdown deadline");
		break;
	}
	if (lw->lw_stopping && lw->lw_nconns == 0)
		event_base_loopexit(lw->lw_base, NULL);
}

/* Free everything lev_start() made. */
static void
lev_stop(struct worker *w)
{
	struct lev_worker	*lw = w->w_engine;

	if (lw == NULL)
		return;
	lev_conn_all(lw, lev_conn_close, "worker stopped");
	lev_unlisten_all(lw);
	if (lw->lw_notify != NULL)
		event_free(lw->lw_notify);
	free(lw->lw_buf);
	if (lw->lw_base != NULL)
		event_base_free(lw->lw_base);
	free(lw);
	w->w_engine = NULL;
}

/* The supervisor has queued commands. */
static void
lev_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	worker_drain(arg);
}

/* Watch every listener the worker was given. */
static int
lev_listen_all(struct lev_worker *lw)
{
	struct worker	*w = lw->lw_worker;
	size_t		 i;

	lw->lw_listeners = calloc(w->w_nlisteners, sizeof(*lw->lw_listeners));
	if (lw->lw_listeners == NULL)
		return (-1);
	lw->lw_nlisteners = w->w_nlisteners;
	for (i = 0; i < w->w_nlisteners; i++)
		if (lev_listen_one(lw, &lw->lw_listeners[i],
		    &w->w_listeners[i]) == -1)
			return (-1);
	return (0);
}

/*
 * Watch one listening socket.  Every worker watches the same sockets and
 * the kernel gives each new connection to exactly one accept(); the
 * others get EAGAIN, which the listener ignores.  This one shape serves
 * sockets iod opened, unix sockets and, later, sockets inherited from a
 * service manager alike, and a busy worker wakes later than an idle one,
 * which spreads connections toward idle workers.
 */
static int
lev_listen_one(struct lev_worker *lw, struct lev_listener *ll,
    const struct listener *src)
{
	ll->ll_lw = lw;
	ll->ll_src = src;
	ll->ll_lev = evconnlistener_new(lw->lw_base, lev_accept_cb, ll,
	    LEV_OPT_CLOSE_ON_EXEC, 0, src->l_fd);
	ll->ll_round = event_new(lw->lw_base, -1, 0, lev_round_cb, ll);
	ll->ll_pause = evtimer_new(lw->lw_base, lev_pause_cb, ll);
	if (ll->ll_lev == NULL || ll->ll_round == NULL || ll->ll_pause == NULL)
		return (-1);
	evconnlistener_set_error_cb(ll->ll_lev, lev_accept_error_cb);
	return (0);
}

/* Stop watching one listening socket; the supervisor closes it. */
static void
lev_unlisten(struct lev_listener *ll)
{
	if (ll->ll_lev != NULL)
		evconnlistener_free(ll->ll_lev);
	if (ll->ll_round != NULL)
		event_free(ll->ll_round);
	if (ll->ll_pause != NULL)
		event_free(ll->ll_pause);
	memset(ll, 0, sizeof(*ll));
}

/* Stop watching every listening socket. */
static void
lev_unlisten_all(struct lev_worker *lw)
{
	size_t	i;

	for (i = 0; i < lw->lw_nlisteners; i++)
		lev_unlisten(&lw->lw_listeners[i]);
	free(lw->lw_listeners);
	lw->lw_listeners = NULL;
	lw->lw_nlisteners = 0;
}

/* A new connection: admit it, or close it at once without a byte. */
static void
lev_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct lev_listener	*ll = arg;

	lev_accept(ll, fd);
	/* Cap accepts per wake-up so established connections get a turn. */
	if (ll->ll_accepted++ == 0)
		event_active(ll->ll_round, 0, 0);
	if (ll->ll_accepted >= ENGINE_ACCEPT_BATCH)
		evconnlistener_disable(lev);
}

/* Admit one accepted descriptor, or close it. */
static void
lev_accept(struct lev_listener *ll, int fd)
{
	struct lev_worker	*lw = ll->ll_lw;
	const char		*why;

	if (engine_admit(lw->lw_worker->w_conf, fd) == -1)
		return;
	if (lev_conn_new(lw, fd, &why) == -1)
		engine_refuse(fd, why);
}

/* The wake-up that accepted connections is over: accept again. */
static void
lev_round_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lev_listener	*ll = arg;

	if (ll->ll_accepted >= ENGINE_ACCEPT_BATCH &&
	    !evtimer_pending(ll->ll_pause, NULL))
		evconnlistener_enable(ll->ll_lev);
	ll->ll_accepted = 0;
}

/*
 * accept() failed for want of descriptors or memory.  The connection stays
 * queued, so a listener left enabled would spin: pause it for a second.
 */
static void
lev_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct lev_listener	*ll = arg;
	struct timeval		 tv = { ENGINE_ACCEPT_PAUSE, 0 };

	if (engine_accept_failed(ll->ll_src->l_name, errno))
		return;
	evconnlistener_disable(lev);
	evtimer_add(ll->ll_pause, &tv);
}

/* The pause after an accept failure is over. */
static void
lev_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lev_listener	*ll = arg;

	evconnlistener_enable(ll->ll_lev);
}

/*
 * Set up a bufferevent for an admitted descriptor in its slot.  Returns
 * -1 and why when it cannot.
 */
static int
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
 * and write as lev_read_cb does; after LEV_QUIET without a byte, give the
 * reader back.
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
 * c's reader waited LEV_QUIET for a byte: unless idle_timeout closes the
 * connection, give the reader back and let the bufferevent read, and time
 * out, from here.
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
static void
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
static void
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
static void
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
