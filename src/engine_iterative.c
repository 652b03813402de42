/*
 * The iterative engine: the tutorials' loop server (循环服务器模型).
 * Blocking sockets, one client at a time: accept a client, serve it until
 * it has gone, then accept the next.  Clients that come meanwhile wait in
 * the kernel's backlog, and a client that never closes holds every other
 * one up until idle_timeout ends it.  It is a teaching engine: it shows
 * the model and its flaw, and is not for production.
 *
 * The tutorials' server serves on the very thread that accepts.  Here the
 * worker thread must go on watching its notify descriptor, so that
 * SIGTERM, SIGHUP and the shutdown deadline reach the client being served
 * rather than waiting for it to leave.  So the worker thread is the
 * acceptor of blocking.c with a model that serves at most one connection
 * (bm_max): the client is served by blocking_serve() on a thread of its
 * own, and the acceptor joins that thread before it accepts again.  There
 * is never more than one client, and so one buffer, allocated at start.
 *
 * `workers` is the number of loop servers: each worker serves its own one
 * client, and every worker accepts on the same listeners, so N workers
 * serve up to N clients at once and a client waits only while every one
 * of them is busy.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "blocking.h"
#include "conn.h"
#include "engine.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

struct it_worker {
	struct worker		*iw_worker;
	pthread_mutex_t		 iw_lock;	/* iw_open */
	int			 iw_open;	/* the client's fd is open */
	int			 iw_busy;	/* a thread not joined yet */
	pthread_t		 iw_thread;
	int			 iw_ended_fd;	/* eventfd: it has gone */
	struct blocking_conn	 iw_bc;
	unsigned char		 iw_buf[BLOCKING_BUF_MAX];
};

static int	it_start(struct worker *, char *, size_t);
static void	it_serve(void *, int, const uint8_t [16],
		    struct access_rules *, const struct iod_conf *,
		    const struct session *);
static void	it_reap(void *);
static void	it_halt(void *, enum conn_order);
static size_t	it_count(void *);
static void	it_free(void *);
static void	*it_conn_main(void *);
static void	it_conn_close(struct it_worker *, const char *);

const struct engine engine_iterative = {
	.name = "iterative", .model = "blocking sockets, one client at a time",
	.teaching = 1, .start = it_start, .run = blocking_run,
	.stop = blocking_stop, .listen = blocking_listen,
	.unlisten = blocking_unlisten, .halt = blocking_halt_all,
	.count = blocking_count
};

static const struct blocking_model it_model = {
	it_serve, it_reap, it_halt, it_count, it_free, 1
};

/* Set up the worker's one client slot and start its acceptor. */
static int
it_start(struct worker *w, char *cause, size_t len)
{
	struct it_worker	*iw;
	int			 fd;

	if ((fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(cause, len, "eventfd: %s", strerror(errno));
		return (-1);
	}
	if ((iw = calloc(1, sizeof(*iw))) == NULL) {
		close(fd);
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	iw->iw_worker = w;
	iw->iw_ended_fd = fd;
	pthread_mutex_init(&iw->iw_lock, NULL);
	return (blocking_start(w, &it_model, iw, fd, cause, len));
}

/*
 * Serve an admitted descriptor on the serving thread, or refuse it.  The
 * acceptor asks only when no client is being served (bm_max).
 */
static void
it_serve(void *arg, int fd, const uint8_t key[16],
    struct access_rules *rules, const struct iod_conf *conf,
    const struct session *sess)
{
	struct it_worker	*iw = arg;
	char			 why[128];
	int			 error;

	blocking_init(&iw->iw_bc, fd, key, rules, conf, sess, iw->iw_buf);
	/* Open first: the thread may end, and say so, at once. */
	pthread_mutex_lock(&iw->iw_lock);
	iw->iw_open = 1;
	pthread_mutex_unlock(&iw->iw_lock);
	error = pthread_create(&iw->iw_thread, NULL, it_conn_main, iw);
	if (error != 0) {
		pthread_mutex_lock(&iw->iw_lock);
		iw->iw_open = 0;
		pthread_mutex_unlock(&iw->iw_lock);
		access_rules_free(iw->iw_bc.bc_rules);
		snprintf(why, sizeof(why), "cannot start a thread: %s",
		    strerror(error));
		conn_refuse_fd(fd, key, STATS_REJ_NO_MEMORY, why);
		return;
	}
	iw->iw_busy = 1;
}

/* Join the serving thread once its client has gone. */
static void
it_reap(void *arg)
{
	struct it_worker	*iw = arg;
	uint64_t		 n;
	int			 open;

	if (read(iw->iw_ended_fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("worker %d: read eventfd", iw->iw_worker->w_id);
	pthread_mutex_lock(&iw->iw_lock);
	open = iw->iw_open;
	pthread_mutex_unlock(&iw->iw_lock);
	/* Closed: the thread only has to say so and return. */
	if (iw->iw_busy && !open) {
		pthread_join(iw->iw_thread, NULL);
		iw->iw_busy = 0;
	}
}

/* Tell the client being served, if any, to drain or to end now. */
static void
it_halt(void *arg, enum conn_order order)
{
	struct it_worker	*iw = arg;

	pthread_mutex_lock(&iw->iw_lock);
	if (iw->iw_open)
		blocking_halt(&iw->iw_bc, order);
	pthread_mutex_unlock(&iw->iw_lock);
}

/* The client not joined yet: 0 or 1. */
static size_t
it_count(void *arg)
{
	struct it_worker	*iw = arg;

	return (iw->iw_busy ? 1 : 0);
}

/* Free what it_start() made; the serving thread has been joined. */
static void
it_free(void *arg)
{
	struct it_worker	*iw = arg;

	pthread_mutex_destroy(&iw->iw_lock);
	close(iw->iw_ended_fd);
	free(iw);
}

/* The serving thread: serve the client to the end, then close. */
static void *
it_conn_main(void *arg)
{
	struct it_worker	*iw = arg;

	stats_bind(iw->iw_worker->w_id);
	it_conn_close(iw, blocking_reason(blocking_serve(&iw->iw_bc)));
	return (NULL);
}

/* The one way a client's connection ends, on the serving thread. */
static void
it_conn_close(struct it_worker *iw, const char *why)
{
	uint64_t	one = 1;
	int		fd = iw->iw_bc.bc_fd;

	/*
	 * Marked closed before close(), so that it_halt() never shuts down
	 * a descriptor number that something else has reused.
	 */
	pthread_mutex_lock(&iw->iw_lock);
	iw->iw_open = 0;
	pthread_mutex_unlock(&iw->iw_lock);
	close(fd);
	conn_closed(iw->iw_worker, fd, iw->iw_bc.bc_key, &iw->iw_bc.bc_sess,
	    why);
	if (write(iw->iw_ended_fd, &one, sizeof(one)) == -1)
		log_warn("worker %d: write eventfd", iw->iw_worker->w_id);
}
