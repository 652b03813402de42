/*
 * The libevent engine: an evconnlistener per listening socket and one
 * bufferevent per connection, on the worker's own event_base.  This file
 * runs workers and listeners; engine_libevent_conn.c serves connections.
 *
 * A connection sends back every byte it reads, transformed; what the
 * socket will not take at once waits in the bufferevent's output buffer,
 * and libevent writes that.  The rules of the protocol map onto
 * bufferevent features:
 *  - backpressure: when the output reaches max_pending_bytes, reading
 *    stops; it starts again once the output drains below half of that
 *    (the write low watermark), as in libevent's le-proxy sample;
 *  - half-close: on EOF reading stops, the output drains, then it closes;
 *  - idle timeout and lingering: the core's rule (conn_tick), on a timer
 *    that runs once a second;
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
 * given back after a second without a byte (lev_quiet_wait), as memcached
 * gives an idle connection's read buffer back to its thread: an idle
 * connection costs no more than its bufferevent.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "conf.h"
#include "engine.h"
#include "engine_libevent.h"
#include "log.h"
#include "worker.h"
#include "zcopy.h"

struct lev_listener {
	struct evconnlistener	*ll_lev;
	struct lev_worker	*ll_lw;
	const struct listener	*ll_src;
	int			 ll_accepted;	/* this wake-up */
	struct event		*ll_round;	/* runs after the wake-up */
	struct event		*ll_pause;	/* re-enables after EMFILE */
};

_Thread_local struct lev_worker	*lev_self;

static int	lev_start(struct worker *, char *, size_t);
static int	lev_start_events(struct lev_worker *);
static void	lev_run(struct worker *);
static void	lev_stop(struct worker *);
static void	lev_relisten(struct worker *);
static void	lev_unlisten_all(struct worker *);

static int	lev_listen_all(struct lev_worker *);
static int	lev_listen_one(struct lev_worker *, struct lev_listener *,
		    const struct listener *);
static void	lev_unlisten(struct lev_listener *);
static void	lev_accept(struct lev_listener *, int);

static void	lev_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	lev_accept_error_cb(struct evconnlistener *, void *);
static void	lev_round_cb(evutil_socket_t, short, void *);
static void	lev_pause_cb(evutil_socket_t, short, void *);
static void	lev_notify_cb(evutil_socket_t, short, void *);
static void	lev_tick_cb(evutil_socket_t, short, void *);
static const char *lev_backend(void);

/*
 * The method libevent chose for the first worker's base (every worker's
 * is the same): a string of libevent's own, for the ready line.
 */
static _Atomic(const char *) lev_method;

const struct engine engine_libevent = {
	.name = "libevent",
	.model = "libevent, which picks epoll, poll or select",
	.start = lev_start, .run = lev_run, .backend = lev_backend,
	.stop = lev_stop, .listen = lev_relisten, .unlisten = lev_unlisten_all,
	.conn_size = LEV_CONN_SIZE, .drain = lev_conn_drain,
	.close = lev_conn_close, .sync = lev_conn_sync
};

/* Create the worker's event_base and start accepting. */
static int
lev_start(struct worker *w, char *cause, size_t len)
{
	struct event_config	*cfg;
	struct lev_worker	*lw;

	if (lev_conn_init(cause, len) == -1)
		return (-1);
	zcopy_init();
	if ((lw = calloc(1, sizeof(*lw))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	lw->lw_worker = w;
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
	atomic_store(&lev_method, event_base_get_method(lw->lw_base));
	/*
	 * Page-aligned: the kernel copies received bytes into it, and
	 * copying to malloc()'s 16-byte alignment cost this machine's CPU
	 * several times as much per byte (perf: _copy_to_iter).
	 */
	lw->lw_buf = aligned_alloc(4096, ENGINE_IO_MAX);
	if (lw->lw_buf == NULL || lev_start_events(lw) == -1 ||
	    lev_listen_all(lw) == -1) {
		snprintf(cause, len, "cannot start worker %d", w->w_id);
		return (-1);
	}
	return (0);
}

/* Name what libevent waits with, as Python's DefaultSelector would. */
static const char *
lev_backend(void)
{
	const char	*m = atomic_load(&lev_method);

	return (m != NULL ? m : "unknown");
}

/* The worker's own events: commands, the tick, the readers' wait. */
static int
lev_start_events(struct lev_worker *lw)
{
	struct timeval	tick = { ENGINE_TICK_MS / 1000, 0 };

	lw->lw_notify = event_new(lw->lw_base, lw->lw_worker->w_notify,
	    EV_READ | EV_PERSIST, lev_notify_cb, lw->lw_worker);
	lw->lw_tick = event_new(lw->lw_base, -1, EV_PERSIST, lev_tick_cb,
	    lw->lw_worker);
	if (lw->lw_notify == NULL || event_add(lw->lw_notify, NULL) == -1 ||
	    lw->lw_tick == NULL || event_add(lw->lw_tick, &tick) == -1)
		return (-1);
	lw->lw_quiet = event_base_init_common_timeout(lw->lw_base,
	    &lev_quiet_wait);
	if (lw->lw_quiet == NULL)
		lw->lw_quiet = &lev_quiet_wait;
	return (0);
}

/*
 * Serve until a STOP has been handled and every connection is closed.
 * The loop runs until lev_done() ends it, at the two moments the worker
 * can become done: a command handled, a connection closed.  (Running it
 * one pass at a time and asking engine_done() after each costs a
 * percent or two of a round trip's CPU: libevent sets up and tears down
 * its loop on every pass.)
 */
static void
lev_run(struct worker *w)
{
	struct lev_worker	*lw = w->w_engine;

	if (event_base_dispatch(lw->lw_base) == -1)
		log_warnx("worker %d: event loop failed", w->w_id);
}

/* Leave the loop if the worker is done: stopping, no connection left. */
void
lev_done(struct worker *w)
{
	struct lev_worker	*lw = w->w_engine;

	if (engine_done(w))
		event_base_loopexit(lw->lw_base, NULL);
}

/* Free everything lev_start() made. */
static void
lev_stop(struct worker *w)
{
	struct lev_worker	*lw = w->w_engine;

	if (lw == NULL)
		return;
	conn_halt_all(w, CONN_CUT);
	lev_unlisten_all(w);
	if (lw->lw_notify != NULL)
		event_free(lw->lw_notify);
	if (lw->lw_tick != NULL)
		event_free(lw->lw_tick);
	free(lw->lw_buf);
	if (lw->lw_base != NULL)
		event_base_free(lw->lw_base);
	free(lw);
	w->w_engine = NULL;
}

/* Watch exactly the listeners the worker has now. */
static void
lev_relisten(struct worker *w)
{
	lev_unlisten_all(w);
	if (lev_listen_all(w->w_engine) == -1)
		log_warnx("worker %d: cannot listen on every address",
		    w->w_id);
}

/* The supervisor has queued commands. */
static void
lev_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	worker_drain(arg);
	lev_done(arg);
}

/* A second has gone by: the core's idle and linger rules. */
static void
lev_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_tick(arg, engine_now_ms());
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
lev_unlisten_all(struct worker *w)
{
	struct lev_worker	*lw = w->w_engine;
	size_t			 i;

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
	struct conn		*c;
	const char		*why;

	c = conn_admit(lw->lw_worker, ll->ll_src, fd, engine_now_ms());
	if (c != NULL && lev_conn_new(lw, c, &why) == -1)
		conn_refuse(lw->lw_worker, c, STATS_REJ_NO_MEMORY, why);
}

/* The wake-up that accepted connections is over: accept again. */
static void
lev_round_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lev_listener	*ll = arg;

	if (ll->ll_accepted >= ENGINE_ACCEPT_BATCH &&
	    !evtimer_pending(ll->ll_pause, NULL))
		lev_pause_cb(-1, 0, ll);
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
	struct timeval		 tv = { ENGINE_ACCEPT_PAUSE, 0 };

	/* Watching it again can fail too: pause again, or never accept. */
	if (evconnlistener_enable(ll->ll_lev) == -1) {
		log_warnx("worker %d: cannot watch listener %s; pausing for "
		    "%ds", lev_self->lw_worker->w_id, ll->ll_src->l_name,
		    ENGINE_ACCEPT_PAUSE);
		evtimer_add(ll->ll_pause, &tv);
	}
}
