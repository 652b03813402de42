/*
 * The engine registry; the worker's commands, dispatched once for every
 * engine; the clock and the accept-failure rule every engine shares.
 * The rules about connections are conn.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "ratelimit.h"
#include "stats.h"
#include "worker.h"

extern const struct engine engine_libevent;
extern const struct engine engine_select;
extern const struct engine engine_poll;
extern const struct engine engine_epoll;
extern const struct engine engine_epoll_lt;
extern const struct engine engine_busypoll;
extern const struct engine engine_sigio;
extern const struct engine engine_coro;
extern const struct engine engine_uring;
extern const struct engine engine_iterative;
extern const struct engine engine_threads;
extern const struct engine engine_fork;

static const struct engine *engines[] = {
	&engine_libevent,
	&engine_select,
	&engine_poll,
	&engine_epoll,
	&engine_epoll_lt,
	&engine_busypoll,
	&engine_sigio,
	&engine_coro,
	&engine_uring,
	&engine_iterative,
	&engine_threads,
	&engine_fork,
};

#define NENGINES	(sizeof(engines) / sizeof(engines[0]))

static struct ratelimit	engine_rl_accept = RATELIMIT_INITIALIZER(1);

/* Return the engine called name, or NULL. */
const struct engine *
engine_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NENGINES; i++)
		if (strcmp(engines[i]->name, name) == 0)
			return (engines[i]);
	return (NULL);
}

/* Return the i-th engine of the registry, or NULL past the last. */
const struct engine *
engine_at(size_t i)
{
	return (i < NENGINES ? engines[i] : NULL);
}

/* Return the valid names for messages: "libevent, select, ...". */
const char *
engine_names(void)
{
	static char	names[256];
	size_t		i, off = 0;

	for (i = 0; i < NENGINES && off < sizeof(names); i++)
		off += snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", engines[i]->name);
	return (names);
}

/*
 * Handle a command from the supervisor.  APPLY hands the engine a new
 * set of listeners (worker_drain() has switched w_conf and w_listeners);
 * connections keep the settings they were admitted with.  STOP and
 * DEADLINE let go of the listeners, which the supervisor closes once
 * every worker has answered, and drain or cut every connection.
 */
void
engine_command(struct worker *w, enum engine_cmd cmd)
{
	switch (cmd) {
	case ENGINE_APPLY:
		w->w_ops->listen(w);
		break;
	case ENGINE_STOP:
		w->w_stopping = 1;
		w->w_ops->unlisten(w);
		conn_halt_all(w, CONN_DRAIN);
		break;
	case ENGINE_DEADLINE:
		w->w_stopping = 1;
		w->w_ops->unlisten(w);
		conn_halt_all(w, CONN_CUT);
		break;
	}
}

/* Has a stopping worker no connection left, so that run() may return? */
int
engine_done(const struct worker *w)
{
	return (w->w_stopping && conn_count(w) == 0);
}

/*
 * Milliseconds on a clock that never jumps, for idle and pause timers.
 * Whole seconds would not do: with idle_timeout = 1, a byte at 0.9 s and
 * a check at 1.0 s would count as a second of silence.
 */
int64_t
engine_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * accept() failed.  Return 1 when the failure is transient and the caller
 * should just wait for the next readiness; otherwise (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM and anything unexpected) log it, rate-limited, and
 * return 0: the caller pauses that listener for ENGINE_ACCEPT_PAUSE
 * seconds, since the connection stays queued and would wake it at once.
 */
int
engine_accept_failed(const char *listener, int error)
{
	unsigned long	n;

	switch (error) {
	case EAGAIN:
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return (1);
	}
	stats_count_accept_pause(ENGINE_ACCEPT_PAUSE * 1000);
	if (ratelimit_allow(&engine_rl_accept, &n))
		log_warnx("accept on %s: %s; pausing for %ds (%lu failures)",
		    listener, strerror(error), ENGINE_ACCEPT_PAUSE, n);
	return (0);
}
