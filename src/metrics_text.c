/*
 * iod's counters in the Prometheus text exposition format, version
 * 0.0.4: a HELP and a TYPE line per metric, then its samples.  Names
 * follow Prometheus's conventions: the iod_ prefix, _total on counters,
 * base units (seconds, bytes).  The totals sum every worker's slot
 * (stats_read), as the SIGUSR1 line does; the iod_worker_ series show
 * each worker's own slot, labelled worker="N".  The process_ metrics
 * are the standard ones every Prometheus client exports, from /proc.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "stats.h"
#include "metrics_text.h"

static void	mt_head(struct evbuffer *, const char *, const char *,
		    const char *);
static void	mt_counter(struct evbuffer *, const char *, const char *,
		    uint64_t);
static void	mt_seconds(struct evbuffer *, const char *, const char *,
		    uint64_t);
static void	mt_sample(struct evbuffer *, const char *, const char *,
		    const char *, uint64_t);
static void	mt_histogram(struct evbuffer *, const char *, const char *,
		    const uint64_t *, uint64_t (*)(int), unsigned int);
static void	mt_connections(struct evbuffer *, const struct stats_snapshot *);
static void	mt_rejected(struct evbuffer *, const struct stats_snapshot *);
static void	mt_histograms(struct evbuffer *,
		    const struct stats_snapshot *);
static void	mt_workers(struct evbuffer *);
static void	mt_process(struct evbuffer *);
static int	mt_proc_stat(double *, double *, double *);
static long	mt_open_fds(void);

/* The HELP and TYPE lines of a metric. */
static void
mt_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A counter without labels. */
static void
mt_counter(struct evbuffer *b, const char *name, const char *help,
    uint64_t n)
{
	mt_head(b, name, "counter", help);
	evbuffer_add_printf(b, "%s %llu\n", name, (unsigned long long)n);
}

/* A counter of seconds, kept in milliseconds. */
static void
mt_seconds(struct evbuffer *b, const char *name, const char *help,
    uint64_t ms)
{
	mt_head(b, name, "counter", help);
	evbuffer_add_printf(b, "%s %llu.%03llu\n", name,
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
}

/* One sample of a metric with one label: name{label="value"} n. */
static void
mt_sample(struct evbuffer *b, const char *name, const char *label,
    const char *value, uint64_t n)
{
	evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, value,
	    (unsigned long long)n);
}

/*
 * The buckets of a cumulative histogram: each counts what is at most
 * its bound (bound(i) / unit, in the metric's base unit), the last one,
 * bound 0, everything.  The caller writes its _sum and _count.
 */
static void
mt_histogram(struct evbuffer *b, const char *name, const char *help,
    const uint64_t *counts, uint64_t (*bound)(int), unsigned int unit)
{
	uint64_t	n = 0;
	int		i;

	mt_head(b, name, "histogram", help);
	for (i = 0; i < STATS_BUCKETS; i++) {
		n += counts[i];
		if (bound(i) == 0)
			evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n",
			    name, (unsigned long long)n);
		else if (unit == 1)	/* exact, however large */
			evbuffer_add_printf(b, "%s_bucket{le=\"%llu\"} %llu\n",
			    name, (unsigned long long)bound(i),
			    (unsigned long long)n);
		else
			evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %llu\n",
			    name, (double)bound(i) / unit,
			    (unsigned long long)n);
	}
}

/* Every metric, into b, for an iod running engine. */
void
metrics_text(struct evbuffer *b, const char *engine)
{
	struct stats_snapshot	s;
	int			i;

	stats_read(&s);
	mt_head(b, "iod_build_info", "gauge",
	    "The version of iod and the engine it runs, as labels.");
	evbuffer_add_printf(b, "iod_build_info{version=\"%s\",engine=\"%s\"}"
	    " 1\n", PACKAGE_VERSION, engine);
	mt_connections(b, &s);
	mt_rejected(b, &s);
	mt_counter(b, "iod_bytes_received_total",
	    "Bytes read from clients.", s.bytes_in);
	mt_counter(b, "iod_bytes_sent_total",
	    "Bytes written to clients.", s.bytes_out);
	mt_counter(b, "iod_bytes_spliced_total", "Of the bytes received, "
	    "those moved by splice(2) in echo mode.", s.spliced);
	mt_counter(b, "iod_backpressure_pauses_total", "Times a client was "
	    "not read from, owed max_pending_bytes.", s.pauses);
	mt_seconds(b, "iod_backpressure_paused_seconds_total", "Time clients "
	    "were not read from for backpressure, once resumed.",
	    s.paused_ms);
	mt_counter(b, "iod_accept_pauses_total", "Times a listener stopped "
	    "accepting after a failed accept (such as EMFILE).",
	    s.accept_pauses);
	mt_seconds(b, "iod_accept_paused_seconds_total", "Length of the "
	    "accept pauses begun, 1 s each.", s.accept_paused_ms);
	mt_head(b, "iod_reloads_total", "counter",
	    "Configuration reloads (SIGHUP), by result.");
	for (i = 0; i < STATS_NRELOADS; i++)
		mt_sample(b, "iod_reloads_total", "result",
		    stats_reload_name((enum stats_reload)i), s.reloads[i]);
	mt_histograms(b, &s);
	mt_workers(b);
	mt_process(b);
}

/*
 * The sessions' lives and bytes, as cumulative histograms: each bucket
 * counts what is at most its bound (le), the last one everything.
 */
static void
mt_histograms(struct evbuffer *b, const struct stats_snapshot *s)
{
	mt_histogram(b, "iod_session_duration_seconds", "How long connections "
	    "lasted, from admission to close.", s->duration,
	    stats_duration_bound, 1000);
	evbuffer_add_printf(b, "iod_session_duration_seconds_sum %llu.%03llu\n"
	    "iod_session_duration_seconds_count %llu\n",
	    (unsigned long long)(s->duration_ms / 1000),
	    (unsigned long long)(s->duration_ms % 1000),
	    (unsigned long long)s->sessions);
	mt_histogram(b, "iod_session_bytes", "Bytes a connection moved, "
	    "received and sent together.", s->bytes, stats_bytes_bound, 1);
	evbuffer_add_printf(b, "iod_session_bytes_sum %llu\n"
	    "iod_session_bytes_count %llu\n",
	    (unsigned long long)s->session_bytes,
	    (unsigned long long)s->sessions);
}

/* Connections: accepted by listener, open, closed by reason. */
static void
mt_connections(struct evbuffer *b, const struct stats_snapshot *s)
{
	const char	*name;
	int		 i;

	mt_head(b, "iod_connections_accepted_total", "counter",
	    "Connections admitted, by the listener they came to.");
	for (i = 0; (name = stats_listener_name(i)) != NULL; i++)
		mt_sample(b, "iod_connections_accepted_total", "listener", name,
		    s->listener[i]);
	mt_head(b, "iod_connections_active", "gauge",
	    "Connections open now.");
	evbuffer_add_printf(b, "iod_connections_active %llu\n",
	    (unsigned long long)s->active);
	mt_head(b, "iod_connections_max", "gauge",
	    "max_connections as in force.");
	evbuffer_add_printf(b, "iod_connections_max %llu\n",
	    (unsigned long long)stats_limit());
	mt_head(b, "iod_connections_closed_total", "counter",
	    "Connections that ended, by reason.");
	for (i = 0; i < STATS_NCLOSES; i++)
		mt_sample(b, "iod_connections_closed_total", "reason",
		    stats_close_name((enum stats_close)i), s->closed[i]);
}

/*
 * Connections refused, by reason: for want of room (max_connections,
 * fd_limit, fd_setsize, no_memory) or for who they are (the refused_
 * counters of the SIGUSR1 line, without their prefix).
 */
static void
mt_rejected(struct evbuffer *b, const struct stats_snapshot *s)
{
	int	i;

	mt_head(b, "iod_connections_rejected_total", "counter",
	    "Connections closed unserved at once, by reason.");
	for (i = 0; i < STATS_NREJECTS; i++)
		mt_sample(b, "iod_connections_rejected_total", "reason",
		    stats_reject_name((enum stats_reject)i), s->reject[i]);
	for (i = 0; i < STATS_NREFUSALS; i++)
		mt_sample(b, "iod_connections_rejected_total", "reason",
		    stats_refusal_name((enum stats_refusal)i) +
		    strlen("refused_"), s->refused[i]);
}

/* Each worker's own slot: what it accepted and moved. */
static void
mt_workers(struct evbuffer *b)
{
	static const struct {
		const char	*name;
		const char	*help;
		size_t		 at;
	} series[] = {
		{ "iod_worker_connections_accepted_total",
		  "Connections admitted, by worker.",
		  offsetof(struct stats_snapshot, accepted) },
		{ "iod_worker_bytes_received_total",
		  "Bytes read from clients, by worker.",
		  offsetof(struct stats_snapshot, bytes_in) },
		{ "iod_worker_bytes_sent_total",
		  "Bytes written to clients, by worker.",
		  offsetof(struct stats_snapshot, bytes_out) }
	};
	struct stats_snapshot	s;
	size_t			i;
	int			slot;

	for (i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
		mt_head(b, series[i].name, "counter", series[i].help);
		for (slot = 1; stats_read_slot(slot, &s) == 0; slot++)
			evbuffer_add_printf(b, "%s{worker=\"%d\"} %llu\n",
			    series[i].name, slot - 1, (unsigned long long)
			    *(const uint64_t *)(const void *)
			    ((const char *)&s + series[i].at));
	}
}

/* The standard process metrics, from /proc/self. */
static void
mt_process(struct evbuffer *b)
{
	struct rlimit	rl;
	double		cpu, rss, start;
	long		fds;

	if (mt_proc_stat(&cpu, &rss, &start) == 0) {
		mt_head(b, "process_cpu_seconds_total", "counter",
		    "Total user and system CPU time spent in seconds.");
		evbuffer_add_printf(b, "process_cpu_seconds_total %.2f\n",
		    cpu);
		mt_head(b, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.");
		evbuffer_add_printf(b, "process_resident_memory_bytes %.0f\n",
		    rss);
		mt_head(b, "process_start_time_seconds", "gauge", "Start time "
		    "of the process since unix epoch in seconds.");
		evbuffer_add_printf(b, "process_start_time_seconds %.2f\n",
		    start);
	}
	if ((fds = mt_open_fds()) >= 0) {
		mt_head(b, "process_open_fds", "gauge",
		    "Number of open file descriptors.");
		evbuffer_add_printf(b, "process_open_fds %ld\n", fds);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		mt_head(b, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.");
		evbuffer_add_printf(b, "process_max_fds %llu\n",
		    (unsigned long long)rl.rlim_cur);
	}
}

/*
 * CPU seconds, resident bytes and start time (seconds since the epoch)
 * from /proc/self/stat and /proc/stat's btime; -1 if unreadable.
 */
static int
mt_proc_stat(double *cpu, double *rss, double *start)
{
	FILE			*f;
	char			 line[1024], *p;
	unsigned long long	 utime, stime, starttime, btime = 0;
	long			 pages, hz = sysconf(_SC_CLK_TCK);

	if ((f = fopen("/proc/self/stat", "re")) == NULL)
		return (-1);
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* The command may hold spaces and parentheses: skip to its end. */
	if (p == NULL || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu %*d %*d %*d %*d %*d %*d %llu %*u %ld", &utime, &stime,
	    &starttime, &pages) != 4)
		return (-1);
	if ((f = fopen("/proc/stat", "re")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (hz <= 0 || btime == 0)
		return (-1);
	*cpu = (double)(utime + stime) / (double)hz;
	*rss = (double)pages * (double)sysconf(_SC_PAGESIZE);
	*start = (double)btime + (double)starttime / (double)hz;
	return (0);
}

/* Descriptors open now, from /proc/self/fd; -1 if unreadable. */
static long
mt_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n - 1);	/* not the one opendir() holds */
}
