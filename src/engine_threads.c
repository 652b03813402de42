/*
 * The threads engine: one thread per connection, blocking I/O.  The worker
 * thread is the acceptor (blocking.c), and each admitted connection gets
 * a thread of its own that runs blocking_serve() to the end.
 *
 * The acceptor keeps every connection on a locked list, so that STOP and
 * DEADLINE can reach them: shutdown(2) wakes a thread blocked in recv()
 * or send() without any signal.  A thread that has ended moves itself to
 * a second list and says so on an eventfd; the acceptor joins it and
 * frees it there, so no connection thread is left once run() returns.
 *
 * `workers` is the number of acceptor threads.  Connection threads come
 * on top, one per connection, whichever acceptor took it.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "blocking.h"
#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

/*
 * A connection thread's stack.  It runs the blocking loop (the buffer is
 * on the heap), the transform and at most one log_debug() line, whose
 * formatting takes a few KiB; glibc carves the thread's static TLS out of
 * the same allocation, and ASan's redzones make frames larger.  Only
 * touched pages become resident, so the size bounds address space rather
 * than memory: at glibc's default of 8 MiB, 10,000 connections would
 * reserve 80 GiB of it.
 */
#define TH_STACK	(128 * 1024)

struct th_worker;

struct th_conn {
	TAILQ_ENTRY(th_conn)	 c_entry;
	struct th_worker	*c_tw;
	pthread_t		 c_thread;
	struct blocking_conn	 c_bc;
	unsigned char		 c_buf[];	/* blocking_buflen() bytes */
};

TAILQ_HEAD(th_conns, th_conn);

struct th_worker {
	struct worker		*tw_worker;
	pthread_mutex_t		 tw_lock;	/* both lists */
	struct th_conns		 tw_live;	/* serving */
	struct th_conns		 tw_ended;	/* ended, not joined yet */
	size_t			 tw_count;	/* on either list */
	int			 tw_ended_fd;	/* eventfd: some have ended */
	pthread_attr_t		 tw_attr;
};

static int	th_start(struct worker *, char *, size_t);
static void	th_serve(void *, int, const uint8_t [16],
		    struct access_rules *, const struct iod_conf *,
		    const struct session *);
static void	th_reap(void *);
static void	th_halt(void *, enum conn_order);
static size_t	th_count(void *);
static void	th_free(void *);
static void	*th_conn_main(void *);
static void	th_conn_close(struct th_conn *, const char *);

const struct engine engine_threads = {
	.name = "threads", .model = "a thread per connection, blocking I/O",
	.start = th_start, .run = blocking_run,
	.stop = blocking_stop, .listen = blocking_listen,
	.unlisten = blocking_unlisten, .halt = blocking_halt_all,
	.count = blocking_count
};

static const struct blocking_model th_model = {
	th_serve, th_reap, th_halt, th_count, th_free, 0
};

/* Set up the worker's connection lists and start its acceptor. */
static int
th_start(struct worker *w, char *cause, size_t len)
{
	struct th_worker	*tw;
	long			 min = sysconf(_SC_THREAD_STACK_MIN);
	int			 fd;

	if ((fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(cause, len, "eventfd: %s", strerror(errno));
		return (-1);
	}
	if ((tw = calloc(1, sizeof(*tw))) == NULL) {
		close(fd);
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	tw->tw_worker = w;
	tw->tw_ended_fd = fd;
	pthread_mutex_init(&tw->tw_lock, NULL);
	TAILQ_INIT(&tw->tw_live);
	TAILQ_INIT(&tw->tw_ended);
	pthread_attr_init(&tw->tw_attr);
	/* Should the size be refused, threads get the default. */
	(void)pthread_attr_setstacksize(&tw->tw_attr,
	    min > TH_STACK ? (size_t)min : TH_STACK);
	return (blocking_start(w, &th_model, tw, fd, cause, len));
}

/* Start a thread for an admitted descriptor, or refuse it. */
static void
th_serve(void *arg, int fd, const uint8_t key[16],
    struct access_rules *rules, const struct iod_conf *conf,
    const struct session *sess)
{
	struct th_worker	*tw = arg;
	struct th_conn		*c;
	char			 why[128];
	int			 error;

	if ((c = malloc(sizeof(*c) + blocking_buflen(conf))) == NULL) {
		access_rules_free(rules);
		conn_refuse_fd(fd, key, STATS_REJ_NO_MEMORY,
		    "out of memory");
		return;
	}
	c->c_tw = tw;
	blocking_init(&c->c_bc, fd, key, rules, conf, sess, c->c_buf);
	/* Listed first: the thread may end, and move itself, at once. */
	pthread_mutex_lock(&tw->tw_lock);
	TAILQ_INSERT_TAIL(&tw->tw_live, c, c_entry);
	pthread_mutex_unlock(&tw->tw_lock);
	error = pthread_create(&c->c_thread, &tw->tw_attr, th_conn_main, c);
	if (error != 0) {
		pthread_mutex_lock(&tw->tw_lock);
		TAILQ_REMOVE(&tw->tw_live, c, c_entry);
		pthread_mutex_unlock(&tw->tw_lock);
		access_rules_free(c->c_bc.bc_rules);
		free(c);
		snprintf(why, sizeof(why), "cannot start a thread: %s",
		    strerror(error));
		conn_refuse_fd(fd, key, STATS_REJ_NO_MEMORY, why);
		return;
	}
	tw->tw_count++;
}

/* Join and free every connection thread that has ended. */
static void
th_reap(void *arg)
{
	struct th_worker	*tw = arg;
	struct th_conns		 ended;
	struct th_conn		*c;
	uint64_t		 n;

	/*
	 * Read the count before taking the list: a thread that ends in
	 * between is taken now and its wake-up finds an empty list.
	 */
	if (read(tw->tw_ended_fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("worker %d: read eventfd", tw->tw_worker->w_id);
	TAILQ_INIT(&ended);
	pthread_mutex_lock(&tw->tw_lock);
	TAILQ_CONCAT(&ended, &tw->tw_ended, c_entry);
	pthread_mutex_unlock(&tw->tw_lock);
	while ((c = TAILQ_FIRST(&ended)) != NULL) {
		TAILQ_REMOVE(&ended, c, c_entry);
		pthread_join(c->c_thread, NULL);
		free(c);
		tw->tw_count--;
	}
}

/* Tell every live connection to drain or to end now. */
static void
th_halt(void *arg, enum conn_order order)
{
	struct th_worker	*tw = arg;
	struct th_conn		*c;

	pthread_mutex_lock(&tw->tw_lock);
	TAILQ_FOREACH(c, &tw->tw_live, c_entry)
		blocking_halt(&c->c_bc, order);
	pthread_mutex_unlock(&tw->tw_lock);
}

/* Connections not joined yet. */
static size_t
th_count(void *arg)
{
	struct th_worker	*tw = arg;

	return (tw->tw_count);
}

/* Free what th_start() made; every thread has been joined. */
static void
th_free(void *arg)
{
	struct th_worker	*tw = arg;

	pthread_attr_destroy(&tw->tw_attr);
	pthread_mutex_destroy(&tw->tw_lock);
	close(tw->tw_ended_fd);
	free(tw);
}

/* A connection thread: serve to the end, then close. */
static void *
th_conn_main(void *arg)
{
	struct th_conn	*c = arg;

	stats_bind(c->c_tw->tw_worker->w_id);
	th_conn_close(c, blocking_reason(blocking_serve(&c->c_bc)));
	return (NULL);
}

/* The one way a connection ends, on its own thread. */
static void
th_conn_close(struct th_conn *c, const char *why)
{
	struct th_worker	*tw = c->c_tw;
	uint64_t		 one = 1;
	int			 fd = c->c_bc.bc_fd;

	/*
	 * Off the live list before close(), so that th_halt() never shuts
	 * down a descriptor number that another connection has reused.
	 */
	pthread_mutex_lock(&tw->tw_lock);
	TAILQ_REMOVE(&tw->tw_live, c, c_entry);
	TAILQ_INSERT_TAIL(&tw->tw_ended, c, c_entry);
	pthread_mutex_unlock(&tw->tw_lock);
	close(fd);
	conn_closed(tw->tw_worker, fd, c->c_bc.bc_key, &c->c_bc.bc_sess, why);
	if (write(tw->tw_ended_fd, &one, sizeof(one)) == -1)
		log_warn("worker %d: write eventfd", tw->tw_worker->w_id);
}
