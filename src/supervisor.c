/*
 * The supervisor runs on the main thread with an event loop of its own.
 * It owns the running configuration and the listening sockets, turns
 * signals into commands for the workers, and decides when iod exits.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "engine.h"
#include "engine_fork.h"
#include "fdlimit.h"
#include "listen.h"
#include "log.h"
#include "lset.h"
#include "metrics.h"
#include "sdnotify.h"
#include "stats.h"
#include "statsline.h"
#include "supervisor.h"
#include "transform.h"
#include "worker.h"
#include "zcopy.h"

/* Sockets systemd may pass, and how often systemctl status is refreshed. */
#define SV_MAXINHERITED	64
#define SV_STATUS_SEC	1

static struct iod_conf	*sv_conf;	/* the running configuration */
static struct listener	*sv_listeners;
static size_t		 sv_nlisteners;
static struct event_base *sv_base;
static struct event	*sv_deadline;	/* shutdown_timeout */
static int		 sv_done_fd;	/* workers say they have exited */
static size_t		 sv_ndone;
static int		 sv_stopping;
static int		 sv_unasked;	/* workers stopped before told to */
static int		 sv_to_stderr;
static const char	*sv_engine_arg;	/* -e, which a reload keeps */
static int		 sv_inherited;	/* listeners came from systemd */
static char		 sv_inherited_names[SV_MAXINHERITED][128];
static char		 sv_status_text[128]; /* as last told to systemd */
static int		 sv_max_conns;	/* max_connections as fitted */
static int		 sv_reuseport;	/* members per group; 0: shared */

static int	 sv_open(const struct iod_conf *, struct listener *,
		    const struct listener *, size_t, char *, size_t);
static int	 sv_adopt(const int *, size_t, char *, size_t);
static int	 sv_open_one(const struct iod_conf *, struct listener *,
		    const struct listen_addr *, char *, size_t);
static struct listener *sv_find(struct listener *, size_t, const char *);
static void	 sv_close_one(struct listener *);
static void	 sv_close_unused(struct listener *, size_t,
		    struct listener *, size_t);
static void	 sv_drain_unused(struct listener *, size_t,
		    struct listener *, size_t);
static int	 sv_use_reuseport(const struct iod_conf *);
static void	 sv_fit_limit(const struct iod_conf *);
static void	 sv_keep_restart_settings(const struct iod_conf *,
		    struct iod_conf *);
static void	 sv_reload(void);
static int	 sv_relisten(const struct iod_conf *, struct listener **,
		    size_t *, char *, size_t);
static void	 sv_shutdown(const char *);
static int	 sv_watch_signals(char *, size_t);
static int	 sv_timers(char *, size_t);
static void	 status_cb(evutil_socket_t, short, void *);
static void	 watchdog_cb(evutil_socket_t, short, void *);
static void	 sig_cb(evutil_socket_t, short, void *);
static void	 done_cb(evutil_socket_t, short, void *);
static void	 deadline_cb(evutil_socket_t, short, void *);

/*
 * Serve the sockets systemd passed, if it passed any; otherwise open every
 * configured listener.  Return -1 and a cause on the first failure.
 */
int
supervisor_listen(struct iod_conf *conf, char *cause, size_t len)
{
	struct listener	*ls;
	int		 fds[SV_MAXINHERITED], n;

	sv_fit_limit(conf);
	sv_conf = conf;
	if (metrics_open(conf, cause, len) == -1)
		return (-1);
	if ((n = sdnotify_listen_fds(fds, SV_MAXINHERITED, cause, len)) == -1)
		return (-1);
	if (n > 0) {
		log_notice("serving %d socket%s passed by systemd; listen in %s "
		    "is not used", n, n == 1 ? "" : "s", conf->path);
		if (conf->reuseport)
			log_notice("reuseport is ignored: the sockets passed "
			    "by systemd are shared by every worker");
		return (sv_adopt(fds, (size_t)n, cause, len));
	}
	sv_reuseport = sv_use_reuseport(conf);
	if ((ls = calloc(conf->nlisten, sizeof(*ls))) == NULL) {
		snprintf(cause, len, "out of memory for %zu listeners",
		    conf->nlisten);
		return (-1);
	}
	if (sv_open(conf, ls, NULL, 0, cause, len) == -1) {
		free(ls);
		return (-1);
	}
	sv_listeners = ls;
	sv_nlisteners = conf->nlisten;
	return (0);
}

/*
 * With reuseport, the members each group has: one per worker.  0, with a
 * notice when reuseport asks for more, where it does not apply: a single
 * worker has nothing to spread over, and an iterative worker serves one
 * client at a time, so a connection the kernel gave to a busy one would
 * wait while another sits idle.
 */
static int
sv_use_reuseport(const struct iod_conf *conf)
{
	if (!conf->reuseport)
		return (0);
	if (conf->workers == 1) {
		log_notice("reuseport is ignored with workers = 1");
		return (0);
	}
	if (strcmp(conf->engine, "iterative") == 0) {
		log_notice("reuseport is ignored with engine iterative: "
		    "its workers share each listener");
		return (0);
	}
	return (conf->workers);
}

/*
 * Take n (at most SV_MAXINHERITED) listening sockets from systemd for the
 * life of the process.  Their spec is their bound name, kept here since
 * no configuration holds it; they are closed only at shutdown, and never
 * unlinked: systemd owns them.  Return -1 and a cause on failure.
 */
static int
sv_adopt(const int *fds, size_t n, char *cause, size_t len)
{
	struct listener	*ls;
	size_t		 i;

	if ((ls = calloc(n, sizeof(*ls))) == NULL) {
		snprintf(cause, len, "out of memory for %zu sockets passed by "
		    "systemd", n);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		ls[i].l_fd = fds[i];
		if (listen_name(fds[i], ls[i].l_name, sizeof(ls[i].l_name)) == -1)
			snprintf(ls[i].l_name, sizeof(ls[i].l_name), "fd %d",
			    fds[i]);
		snprintf(sv_inherited_names[i], sizeof(sv_inherited_names[i]),
		    "%s", ls[i].l_name);
		ls[i].l_spec = sv_inherited_names[i];
		ls[i].l_stats = stats_listener(ls[i].l_name);
		log_info("listening on %s (from systemd)", ls[i].l_name);
	}
	sv_inherited = 1;
	sv_listeners = ls;
	sv_nlisteners = n;
	return (0);
}

/*
 * Fill ls with one listener per configured address, reusing the open
 * socket from old when the address is unchanged.  On failure, close what
 * was opened here and return -1 with a cause naming the address.
 */
static int
sv_open(const struct iod_conf *conf, struct listener *ls,
    const struct listener *old, size_t nold, char *cause, size_t len)
{
	struct listen_addr	 la;
	const struct listener	*same;
	char			 why[256];
	size_t			 i;
	int			 backlog = listen_backlog(conf->backlog);

	for (i = 0; i < conf->nlisten; i++) {
		ls[i].l_spec = conf->listen[i];
		ls[i].l_opts = &conf->listen_opts[i];
		same = sv_find((struct listener *)old, nold, conf->listen[i]);
		if (same != NULL) {
			ls[i].l_fd = same->l_fd;
			ls[i].l_fds = same->l_fds;
			ls[i].l_nfds = same->l_nfds;
			memcpy(ls[i].l_name, same->l_name, sizeof(ls[i].l_name));
			ls[i].l_stats = same->l_stats;
			/* A second listen() only changes the backlog. */
			(void)listen(ls[i].l_fd, conf->backlog);
			lset_backlog(&ls[i], conf->backlog);
			if (listen_set_mode(ls[i].l_fd, conf->unix_mode, why,
			    sizeof(why)) == -1)
				log_warnx("%s: %s; unix_mode applies after a "
				    "restart", ls[i].l_name, why);
			continue;
		}
		if (listen_parse(conf->listen[i], &la, why, sizeof(why)) == -1 ||
		    sv_open_one(conf, &ls[i], &la, why, sizeof(why)) == -1) {
			snprintf(cause, len, "listen %s: %s", conf->listen[i],
			    why);
			goto fail;
		}
		listen_name(ls[i].l_fd, ls[i].l_name, sizeof(ls[i].l_name));
		ls[i].l_stats = stats_listener(ls[i].l_name);
		if (ls[i].l_fds != NULL)
			log_info("listening on %s (backlog %d, reuseport: %zu "
			    "sockets)", ls[i].l_name, backlog, ls[i].l_nfds);
		else
			log_info("listening on %s (backlog %d)", ls[i].l_name,
			    backlog);
	}
	return (0);
fail:
	while (i-- > 0)
		if (sv_find((struct listener *)old, nold, ls[i].l_spec) == NULL)
			sv_close_one(&ls[i]);
	return (-1);
}

/*
 * Open one configured address into l: a SO_REUSEPORT group of
 * sv_reuseport sockets for TCP when reuseport applies, otherwise one
 * socket.  Return -1 and a cause on failure.
 */
static int
sv_open_one(const struct iod_conf *conf, struct listener *l,
    const struct listen_addr *la, char *cause, size_t len)
{
	l->l_fds = NULL;
	l->l_nfds = 0;
	if (sv_reuseport > 0 && la->la_family != AF_UNIX)
		return (lset_open(l, la, conf->backlog, sv_reuseport, cause,
		    len));
	l->l_fd = listen_open(la, conf->backlog, conf->unix_mode, cause, len);
	return (l->l_fd == -1 ? -1 : 0);
}

/* Return the listener opened for spec, or NULL. */
static struct listener *
sv_find(struct listener *ls, size_t n, const char *spec)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(ls[i].l_spec, spec) == 0)
			return (&ls[i]);
	return (NULL);
}

/* Close one listener, or every member of its group. */
static void
sv_close_one(struct listener *l)
{
	if (l->l_fds != NULL)
		lset_close(l);
	else if (sv_inherited)
		close(l->l_fd);
	else
		listen_close(l->l_fd);
}

/* Close the listeners of old that next no longer uses. */
static void
sv_close_unused(struct listener *old, size_t nold, struct listener *next,
    size_t nnext)
{
	size_t	i;

	for (i = 0; i < nold; i++) {
		if (sv_find(next, nnext, old[i].l_spec) != NULL)
			continue;
		log_info("closed listener %s", old[i].l_name);
		sv_close_one(&old[i]);
	}
}

/*
 * Drain the reuseport groups of old that next no longer uses, while the
 * workers still accept from them, so that closing them resets nobody
 * (lset.c).  A group that stays is kept whole and needs nothing.
 */
static void
sv_drain_unused(struct listener *old, size_t nold, struct listener *next,
    size_t nnext)
{
	struct listener	**going;
	size_t		  i, n = 0, left;

	if ((going = calloc(nold + 1, sizeof(*going))) == NULL) {
		log_warnx("out of memory: closing listeners without "
		    "draining them");
		return;
	}
	for (i = 0; i < nold; i++)
		if (old[i].l_fds != NULL &&
		    sv_find(next, nnext, old[i].l_spec) == NULL)
			going[n++] = &old[i];
	if (n > 0 && (left = lset_drain(going, n)) > 0)
		log_warnx("closing %zu reuseport listener%s with %zu "
		    "connection%s still queued", n, n == 1 ? "" : "s", left,
		    left == 1 ? "" : "s");
	free(going);
}

/*
 * Fit the open-file limit to max_connections, or lower the latter.  In
 * echo mode, ask for two descriptors more per connection, for the pipes
 * of those that stream; whatever is left over is the pipes' budget.
 */
static void
sv_fit_limit(const struct iod_conf *conf)
{
	long	limit = 0, extra = 0;
	int	effective;

	if (conf->mode == TRANSFORM_ECHO && conf->splice_min_read > 0)
		extra = 2L * conf->max_connections;
	if (fdlimit_fit(conf->max_connections, extra, &effective,
	    &limit) != 0)
		log_warnx("max_connections lowered from %d to %d: open-file "
		    "limit is %ld", conf->max_connections, effective, limit);
	stats_set_limit((uint64_t)effective);
	sv_max_conns = effective;
	zcopy_set_budget(limit > 0 ? fdlimit_spare(effective, limit) / 2 : 0);
}

/*
 * Start the supervisor's own loop, then the workers.  Return -1 and a
 * cause on the first failure; the caller exits then, so nothing made
 * here is undone.
 */
int
supervisor_start(char *cause, size_t len)
{
	const struct engine	*ops = engine_find(sv_conf->engine);
	struct event		*ev;

	if ((sv_base = event_base_new()) == NULL) {
		snprintf(cause, len, "cannot create the supervisor's event "
		    "loop");
		return (-1);
	}
	if (sv_watch_signals(cause, len) == -1)
		return (-1);
	if ((sv_done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(cause, len, "eventfd for the workers' exits: %s",
		    strerror(errno));
		return (-1);
	}
	ev = event_new(sv_base, sv_done_fd, EV_READ | EV_PERSIST, done_cb, NULL);
	if (ev == NULL || event_add(ev, NULL) == -1) {
		snprintf(cause, len, "cannot watch the workers' exits");
		return (-1);
	}
	if ((sv_deadline = evtimer_new(sv_base, deadline_cb, NULL)) == NULL) {
		snprintf(cause, len, "cannot create the shutdown_timeout "
		    "timer");
		return (-1);
	}
	if (worker_start_all(ops, sv_conf, sv_listeners, sv_nlisteners,
	    sv_done_fd, cause, len) == -1)
		return (-1);
	if (metrics_start(sv_conf->engine, cause, len) == -1)
		return (-1);
	if (sv_timers(cause, len) == -1)
		return (-1);
	if (ops->teaching)
		log_warnx("engine %s is a teaching engine, not for production "
		    "(%s)", ops->name, ops->model);
	log_info("ready: engine %s%s%s%s, workers %d, max_connections %d",
	    sv_conf->engine, ops->backend != NULL ? " (" : "",
	    ops->backend != NULL ? ops->backend() : "",
	    ops->backend != NULL ? ")" : "", sv_conf->workers, sv_max_conns);
	return (0);
}

/*
 * Route every signal iod handles into sig_cb() through the loop.  SIGCHLD
 * is among them for the fork engine, whose workers reap their children;
 * with any other engine iod has no children and it does nothing.  Before
 * any worker starts, so that no child can exit unnoticed.
 */
static int
sv_watch_signals(char *cause, size_t len)
{
	static const struct {
		int		 sig;
		const char	*name;
	} sigs[] = {
		{ SIGTERM, "SIGTERM" }, { SIGINT, "SIGINT" },
		{ SIGHUP, "SIGHUP" }, { SIGUSR1, "SIGUSR1" },
		{ SIGCHLD, "SIGCHLD" }
	};
	struct event	*ev;
	size_t		 i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(sv_base, sigs[i].sig, sig_cb, NULL);
		if (ev == NULL || event_add(ev, NULL) == -1) {
			snprintf(cause, len, "cannot watch %s", sigs[i].name);
			return (-1);
		}
	}
	return (0);
}

/*
 * One line on what iod is doing, for systemctl status: the connections
 * open now, from the shared counters.
 */
const char *
supervisor_status(void)
{
	return (statsline_status(sv_stopping, sv_status_text,
	    sizeof(sv_status_text)));
}

/*
 * Under a service manager, refresh the status line every SV_STATUS_SEC
 * and, when WatchdogSec= is set, ping the watchdog twice per interval
 * from this loop, so that a stuck supervisor gets iod restarted.  Return
 * -1 and a cause on failure.
 */
static int
sv_timers(char *cause, size_t len)
{
	struct timeval	 tv = { SV_STATUS_SEC, 0 };
	struct event	*ev;
	uint64_t	 usec;

	if (!sdnotify_enabled())
		return (0);
	ev = event_new(sv_base, -1, EV_PERSIST, status_cb, NULL);
	if (ev == NULL || event_add(ev, &tv) == -1) {
		snprintf(cause, len, "cannot start the systemd status timer");
		return (-1);
	}
	if ((usec = sdnotify_watchdog_usec()) == 0)
		return (0);
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	ev = event_new(sv_base, -1, EV_PERSIST, watchdog_cb, NULL);
	if (ev == NULL || event_add(ev, &tv) == -1) {
		snprintf(cause, len, "cannot start the systemd watchdog "
		    "timer");
		return (-1);
	}
	log_info("systemd watchdog: pinging every %llu ms",
	    (unsigned long long)(usec / 1000));
	return (0);
}

/* Tell systemd the status line, when it has changed. */
static void
status_cb(evutil_socket_t fd, short what, void *arg)
{
	char	was[sizeof(sv_status_text)];

	memcpy(was, sv_status_text, sizeof(was));
	if (strcmp(supervisor_status(), was) != 0)
		sdnotify_status(sv_status_text);
}

/* The supervisor's loop still runs. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sdnotify_watchdog();
}

/*
 * Run until every worker has finished.  Return 0 after a shutdown that was
 * asked for, or -1 and a cause when the workers stopped on their own.
 */
int
supervisor_run(int to_stderr, const char *engine_arg, char *cause,
    size_t len)
{
	sv_to_stderr = to_stderr;
	sv_engine_arg = engine_arg;
	event_base_dispatch(sv_base);
	worker_join_all();
	metrics_stop();
	if (sv_unasked) {
		snprintf(cause, len, "every worker stopped unexpectedly");
		return (-1);
	}
	return (0);
}

/*
 * Every signal iod handles arrives here.  libevent runs this callback
 * from its loop, outside signal context, so it may do anything.
 */
static void
sig_cb(evutil_socket_t sig, short what, void *arg)
{
	char	line[1024];

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		sv_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP:
		if (sv_stopping)
			break;
		sdnotify_reloading();
		sv_reload();
		sdnotify_ready(supervisor_status());
		break;
	case SIGUSR1:
		log_notice("%s", statsline_full(line, sizeof(line)));
		break;
	case SIGCHLD:
		engine_fork_children_exited();
		break;
	default:
		/*
		 * Only the signals sv_watch_signals() registers get here:
		 * anything else is a bug in iod, not something to carry on
		 * from, so this one failure exits here rather than in main.c.
		 */
		fatalx(EX_SOFTWARE, "unexpected signal %d", (int)sig);
	}
}

/*
 * Graceful shutdown: stop accepting, let workers send what they owe, and
 * cut them off after shutdown_timeout.  A second signal cuts off at once.
 */
static void
sv_shutdown(const char *signame)
{
	struct timeval	tv = { sv_conf->shutdown_timeout, 0 };

	if (sv_stopping) {
		log_notice("%s again: closing every connection now", signame);
		worker_command_all(ENGINE_DEADLINE, NULL, NULL, 0);
		return;
	}
	sv_stopping = 1;
	log_notice("shutting down (%s)", signame);
	sdnotify_stopping(supervisor_status());
	sv_drain_unused(sv_listeners, sv_nlisteners, NULL, 0);
	worker_command_all(ENGINE_STOP, NULL, NULL, 0);
	sv_close_unused(sv_listeners, sv_nlisteners, NULL, 0);
	free(sv_listeners);
	sv_listeners = NULL;
	sv_nlisteners = 0;
	evtimer_add(sv_deadline, &tv);
}

/* shutdown_timeout has passed: close whatever is left. */
static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	log_notice("shutdown_timeout (%ds) passed: closing every connection",
	    sv_conf->shutdown_timeout);
	worker_command_all(ENGINE_DEADLINE, NULL, NULL, 0);
}

/* A worker has finished; leave the loop when all have. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	sv_ndone += n;
	if (sv_ndone < worker_count())
		return;
	sv_unasked = !sv_stopping;
	event_base_loopexit(sv_base, NULL);
}

/*
 * Reload: build and validate a whole new configuration, open any new
 * listeners, and only then switch every worker over.  Any failure leaves
 * the running configuration untouched.
 */
static void
sv_reload(void)
{
	struct iod_conf	*next;
	struct listener	*ls;
	size_t		 nls;
	char		 err[512];

	if ((next = calloc(1, sizeof(*next))) == NULL ||
	    conf_load(sv_conf->path, next, err, sizeof(err)) == -1) {
		if (next == NULL)
			snprintf(err, sizeof(err), "out of memory");
		log_warnx("reload failed: %s; keeping the running "
		    "configuration", err);
		stats_count_reload(STATS_RELOAD_FAILED);
		free(next);
		return;
	}
	if (sv_engine_arg != NULL) {
		free(next->engine);
		next->engine = strdup(sv_engine_arg);
	}
	sv_keep_restart_settings(sv_conf, next);
	if (sv_relisten(next, &ls, &nls, err, sizeof(err)) == -1) {
		log_warnx("reload failed: %s; keeping the running "
		    "configuration", err);
		stats_count_reload(STATS_RELOAD_FAILED);
		conf_free(next);
		free(next);
		return;
	}
	sv_fit_limit(next);
	log_setlevel(next->log_level);
	if (!sv_to_stderr && next->syslog_facility != sv_conf->syslog_facility)
		log_init(0, next->syslog_facility, next->log_level);
	sv_drain_unused(sv_listeners, sv_nlisteners, ls, nls);
	worker_command_all(ENGINE_APPLY, next, ls, nls);
	sv_close_unused(sv_listeners, sv_nlisteners, ls, nls);
	free(sv_listeners);
	conf_free(sv_conf);
	free(sv_conf);
	sv_conf = next;
	sv_listeners = ls;
	sv_nlisteners = nls;
	stats_count_reload(STATS_RELOAD_OK);
	log_info("reloaded %s", sv_conf->path);
	if (sv_inherited)
		log_info("listen in %s is not used: keeping the %zu socket%s "
		    "passed by systemd", sv_conf->path, nls, nls == 1 ? "" : "s");
}

/*
 * The listeners for next, in *lsp: sockets from systemd stay as they are,
 * since listen is not used; otherwise unchanged addresses keep their
 * socket and new ones are opened.  Return -1 and a cause on failure.
 */
static int
sv_relisten(const struct iod_conf *next, struct listener **lsp, size_t *np,
    char *cause, size_t len)
{
	struct listener	*ls;
	size_t		 n = sv_inherited ? sv_nlisteners : next->nlisten;

	if ((ls = calloc(n, sizeof(*ls))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	if (sv_inherited)
		memcpy(ls, sv_listeners, n * sizeof(*ls));
	else if (sv_open(next, ls, sv_listeners, sv_nlisteners, cause,
	    len) == -1) {
		free(ls);
		return (-1);
	}
	*lsp = ls;
	*np = n;
	return (0);
}

/*
 * engine, workers, reuseport, user, group, pidfile and metrics_listen are
 * fixed for the life of the process: keep the running values and say that
 * a restart is needed.
 */
static void
sv_keep_restart_settings(const struct iod_conf *cur, struct iod_conf *next)
{
	const char	*names[] = { "engine", "user", "group", "pidfile",
			    "metrics_listen" };
	char		**fields[] = { &next->engine, &next->user, &next->group,
			    &next->pidfile, &next->metrics_listen };
	const char	*was[] = { cur->engine, cur->user, cur->group,
			    cur->pidfile, cur->metrics_listen };
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *now = *fields[i];

		if ((now == NULL && was[i] == NULL) ||
		    (now != NULL && was[i] != NULL && strcmp(now, was[i]) == 0))
			continue;
		log_warnx("%s changed in %s: restart needed; keeping %s",
		    names[i], cur->path, was[i] != NULL ? was[i] : "(unset)");
		free(*fields[i]);
		*fields[i] = was[i] != NULL ? strdup(was[i]) : NULL;
	}
	if (next->workers != cur->workers) {
		log_warnx("workers changed in %s: restart needed; keeping %d",
		    cur->path, cur->workers);
		next->workers = cur->workers;
	}
	if (next->reuseport != cur->reuseport) {
		log_notice("reuseport changed in %s: restart needed; keeping "
		    "%s", cur->path, cur->reuseport ? "true" : "false");
		next->reuseport = cur->reuseport;
	}
}
