/*
 * Worker threads, memcached style: each worker runs one engine instance on
 * its own event loop, and the supervisor talks to it only through a small
 * locked command queue plus a pipe that wakes the worker's loop.  A pipe
 * rather than an eventfd: every engine must be able to wait for it, and
 * the sigio engine waits for signals, which an eventfd cannot raise
 * (it has no O_ASYNC); a pipe can, and every other engine polls it as
 * it would an eventfd.
 * APPLY and STOP are acknowledged: the supervisor waits until every
 * worker has taken the new settings, or has let go of the listeners,
 * before it frees the old settings or closes a listening socket.
 * Each worker serves its own view of the listeners (lset_view), in which
 * a reuseport group's l_fd is that worker's member of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "log.h"
#include "lset.h"
#include "stats.h"
#include "worker.h"

#define WORKER_QUEUE	8

struct command {
	enum engine_cmd		 cmd;
	const struct iod_conf	*conf;
	struct listener		*listeners;
	size_t			 nlisteners;
	unsigned		 gen;		/* worker_gen when sent */
};

struct worker_slot {
	struct worker		 ws_worker;
	struct command		 ws_queue[WORKER_QUEUE];
	size_t			 ws_nqueued;
	int			 ws_started;	/* 1 ok, -1 failed */
	int			 ws_exited;	/* run() has returned */
	unsigned		 ws_acked;	/* last command handled */
	int			 ws_wake;	/* the notify pipe's write end */
	struct listener		*ws_view;	/* its own listeners: lset.c */
	char			 ws_cause[256];
};

static struct worker_slot	*slots;
static size_t			 nslots;
static pthread_mutex_t		 worker_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 worker_cond = PTHREAD_COND_INITIALIZER;
static unsigned			 worker_gen;	/* command number */

static void	*worker_main(void *);
static int	 worker_pipe(struct worker_slot *, char *, size_t);
static void	 worker_report(struct worker_slot *, int);
static void	 worker_post(struct worker_slot *, const struct command *);
static void	 worker_ack(struct worker_slot *, unsigned);
static void	 worker_view(struct worker_slot *, struct listener *, size_t);

/*
 * Start one thread per configured worker and wait until each has started.
 * Return -1 and a cause when a worker cannot be created or its engine
 * cannot start; the caller then exits, with any started workers running.
 */
int
worker_start_all(const struct engine *ops, const struct iod_conf *conf,
    struct listener *ls, size_t nls, int done_fd, char *cause, size_t len)
{
	sigset_t	all, old;
	size_t		i;
	int		failed = 0;

	if ((slots = calloc(conf->workers, sizeof(*slots))) == NULL) {
		snprintf(cause, len, "out of memory for %d workers",
		    conf->workers);
		return (-1);
	}
	/* Signals belong to the supervisor's loop, not to the workers. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < (size_t)conf->workers; i++) {
		struct worker	*w = &slots[i].ws_worker;

		w->w_id = (int)i;
		w->w_ops = ops;
		w->w_conf = conf;
		worker_view(&slots[i], ls, nls);
		w->w_done = done_fd;
		w->w_first = -1;
		if (worker_pipe(&slots[i], cause, len) == -1) {
			failed = 1;
			break;
		}
		errno = pthread_create(&w->w_thread, NULL, worker_main,
		    &slots[i]);
		if (errno != 0) {
			snprintf(cause, len, "worker %d: cannot create its "
			    "thread: %s", w->w_id, strerror(errno));
			close(w->w_notify);
			close(slots[i].ws_wake);
			failed = 1;
			break;
		}
	}
	/* Only the workers whose threads run count from here on. */
	nslots = i;
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	pthread_mutex_lock(&worker_lock);
	for (i = 0; i < nslots; i++) {
		while (slots[i].ws_started == 0)
			pthread_cond_wait(&worker_cond, &worker_lock);
		if (slots[i].ws_started == -1 && !failed) {
			snprintf(cause, len, "%s", slots[i].ws_cause);
			failed = 1;
		}
	}
	pthread_mutex_unlock(&worker_lock);
	return (failed ? -1 : 0);
}

/* Open a worker's notify pipe, both ends nonblocking and close-on-exec. */
static int
worker_pipe(struct worker_slot *ws, char *cause, size_t len)
{
	int	fds[2];

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		snprintf(cause, len, "worker %d: pipe: %s", ws->ws_worker.w_id,
		    strerror(errno));
		return (-1);
	}
	ws->ws_worker.w_notify = fds[0];
	ws->ws_wake = fds[1];
	return (0);
}

/* Run one worker: start its engine, serve, and say when it is done. */
static void *
worker_main(void *arg)
{
	struct worker_slot	*ws = arg;
	struct worker		*w = &ws->ws_worker;
	uint64_t		 one = 1;

	stats_bind(w->w_id);
	if ((w->w_ops->conn_size > 0 && conn_table_init(w->w_ops->conn_size,
	    ws->ws_cause, sizeof(ws->ws_cause)) == -1) ||
	    w->w_ops->start(w, ws->ws_cause, sizeof(ws->ws_cause)) == -1) {
		worker_report(ws, -1);
		return (NULL);
	}
	worker_report(ws, 1);
	w->w_ops->run(w);
	w->w_ops->stop(w);
	pthread_mutex_lock(&worker_lock);
	ws->ws_exited = 1;
	pthread_cond_broadcast(&worker_cond);
	pthread_mutex_unlock(&worker_lock);
	if (write(w->w_done, &one, sizeof(one)) == -1)
		log_warn("worker %d: notify supervisor", w->w_id);
	return (NULL);
}

/* Tell worker_start_all() how starting went. */
static void
worker_report(struct worker_slot *ws, int started)
{
	pthread_mutex_lock(&worker_lock);
	ws->ws_started = started;
	pthread_cond_broadcast(&worker_cond);
	pthread_mutex_unlock(&worker_lock);
}

/*
 * Send a command to every worker.  APPLY and STOP wait until every worker
 * has handled it, or has finished and never will; DEADLINE does not wait.
 */
void
worker_command_all(enum engine_cmd cmd, const struct iod_conf *conf,
    struct listener *ls, size_t nls)
{
	struct command	c = { cmd, conf, ls, nls, 0 };
	size_t		i;

	pthread_mutex_lock(&worker_lock);
	c.gen = ++worker_gen;
	pthread_mutex_unlock(&worker_lock);
	for (i = 0; i < nslots; i++)
		worker_post(&slots[i], &c);
	if (cmd == ENGINE_DEADLINE)
		return;
	pthread_mutex_lock(&worker_lock);
	for (i = 0; i < nslots; i++)
		while (slots[i].ws_acked != c.gen && !slots[i].ws_exited)
			pthread_cond_wait(&worker_cond, &worker_lock);
	pthread_mutex_unlock(&worker_lock);
}

/*
 * Queue a command for one worker and wake its loop.  A worker whose run()
 * has returned reads no more commands, so it gets none; a DEADLINE still
 * queued makes another one pointless.  APPLY and STOP are sent one at a
 * time and wait for their acknowledgement, so a queue holds at most one
 * of those and one DEADLINE, and a full queue can only be a bug in iod.
 */
static void
worker_post(struct worker_slot *ws, const struct command *c)
{
	size_t	i;

	pthread_mutex_lock(&worker_lock);
	if (ws->ws_exited) {
		pthread_mutex_unlock(&worker_lock);
		return;
	}
	for (i = 0; i < ws->ws_nqueued; i++)
		if (c->cmd == ENGINE_DEADLINE &&
		    ws->ws_queue[i].cmd == ENGINE_DEADLINE) {
			pthread_mutex_unlock(&worker_lock);
			return;
		}
	if (ws->ws_nqueued == WORKER_QUEUE)
		fatalx(EX_SOFTWARE, "worker %d: command queue full",
		    ws->ws_worker.w_id);
	ws->ws_queue[ws->ws_nqueued++] = *c;
	pthread_mutex_unlock(&worker_lock);
	/*
	 * A full pipe (EAGAIN) holds unread bytes, so the worker will wake
	 * and take this command with the others.  It cannot fill anyway:
	 * the worker empties it on every wake and a queue holds two
	 * commands.  Any other failure is a bad descriptor: a bug.
	 */
	if (write(ws->ws_wake, "", 1) == -1 && errno != EAGAIN)
		fatal(EX_SOFTWARE, "worker %d: notify", ws->ws_worker.w_id);
}

/* Handle every queued command; engines call this on notify readiness. */
void
worker_drain(struct worker *w)
{
	struct worker_slot	*ws = (struct worker_slot *)w;
	struct command		 queue[WORKER_QUEUE];
	struct listener		*old;
	char			 bytes[64];
	size_t			 i, n;
	ssize_t			 got;

	/* Empty the pipe: a byte per command posted, read whole. */
	while ((got = read(w->w_notify, bytes, sizeof(bytes))) ==
	    (ssize_t)sizeof(bytes))
		continue;
	if (got == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("worker %d: read notify", w->w_id);
	pthread_mutex_lock(&worker_lock);
	n = ws->ws_nqueued;
	memcpy(queue, ws->ws_queue, n * sizeof(queue[0]));
	ws->ws_nqueued = 0;
	pthread_mutex_unlock(&worker_lock);
	for (i = 0; i < n; i++) {
		old = ws->ws_view;
		if (queue[i].cmd == ENGINE_APPLY) {
			w->w_conf = queue[i].conf;
			worker_view(ws, queue[i].listeners,
			    queue[i].nlisteners);
		}
		engine_command(w, queue[i].cmd);
		/* The engine has let go of the old view: listen() is done. */
		if (old != ws->ws_view)
			free(old);
		worker_ack(ws, queue[i].gen);
	}
}

/*
 * Serve the worker's own view of ls, or ls itself when out of memory for
 * it (each group's l_fd is a member too, so every worker still accepts,
 * only not from its own socket).
 */
static void
worker_view(struct worker_slot *ws, struct listener *ls, size_t n)
{
	struct worker	*w = &ws->ws_worker;

	ws->ws_view = lset_view(ls, n, w->w_id);
	w->w_listeners = ws->ws_view != NULL ? ws->ws_view : ls;
	w->w_nlisteners = n;
}

/* Record that a worker has handled command number gen. */
static void
worker_ack(struct worker_slot *ws, unsigned gen)
{
	pthread_mutex_lock(&worker_lock);
	ws->ws_acked = gen;
	pthread_cond_broadcast(&worker_cond);
	pthread_mutex_unlock(&worker_lock);
}

/* Wait for every worker thread and free them. */
void
worker_join_all(void)
{
	size_t	i;

	for (i = 0; i < nslots; i++) {
		if (slots[i].ws_started != 0)
			pthread_join(slots[i].ws_worker.w_thread, NULL);
		close(slots[i].ws_worker.w_notify);
		close(slots[i].ws_wake);
		free(slots[i].ws_view);
	}
	free(slots);
	slots = NULL;
	nslots = 0;
}

/* Return how many workers were started. */
size_t
worker_count(void)
{
	return (nslots);
}
