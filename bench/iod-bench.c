/*
 * iod-bench: a load generator for iod and the floor server.  It opens
 * --conns connections spread over --threads threads (one epoll loop each)
 * in each of --procs processes (as many as the open-file limit needs),
 * sends pseudo-random bytes, checks every byte that comes back against the
 * transform of what was sent, and reports throughput, latency and the
 * server's CPU time and memory.  Exit 0: every byte verified; 1: a byte
 * was wrong, lost or cut off; 2: usage or setup error; 3: the server
 * closed connections before answering a byte (it refused them).
 */
#include <sys/resource.h>
#include <sys/types.h>

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bclient.h"
#include "fanout.h"
#include "hist.h"
#include "limits.h"
#include "opts.h"
#include "pattern.h"
#include "procstat.h"
#include "report.h"
#include "sockstat.h"
#include "transform.h"

/*
 * The steps every process goes through together: every connection is
 * open; the measured window runs; the window is over.  The controlling
 * process (the only one, or the parent of --procs children) samples the
 * server at each of them.
 */
enum step { STEP_OPEN, STEP_WINDOW, STEP_STOPPED };

/* What the controlling process measures around the window. */
struct control {
	struct procstat	 ct_before, ct_start, ct_end;
	struct sockstat	 ct_ss_before, ct_ss_after;
	int		 ct_kernel;	/* both sockstat samples worked */
	uint64_t	 ct_t0, ct_t1;
};

struct opts			 opt;
unsigned char			*pattern, *xpattern;
pthread_barrier_t		 barrier;
atomic_int			 running = 1;	/* cleared once, by main */
int				 nthreads;	/* in this process */
static struct control		 ctl;
static struct fanout		*fan;		/* with --procs above 1 */
static int			 child = -1;	/* which child this is */

static void		sample(struct procstat *);
static void		client_cpu(double *);
static void		control_step(enum step);
static void		step(enum step);
static void		run_threads(struct bthread *, struct result *);
static _Noreturn void	run_child(int);
static void		parent_check(int, const char *);
static void		run_parent(struct result *);
static void		merge(struct result *, const struct result *);
static void		report(struct result *);

/*
 * Say what went wrong, with the program's name, and exit with status.
 * The line goes out in one write, so that the lines of several processes
 * do not mix.
 */
_Noreturn void
die(int status, const char *fmt, ...)
{
	char	line[512];
	va_list	ap;
	int	n;

	n = snprintf(line, sizeof(line), "iod-bench: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
	exit(status);
}

/* Return the monotonic clock in nanoseconds. */
uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

/* Sample the server, or leave the sample zeroed without --server-pid. */
static void
sample(struct procstat *ps)
{
	memset(ps, 0, sizeof(*ps));
	if (opt.o_server != 0 && procstat_read(opt.o_server, ps) == -1)
		die(EX_SETUP, "server %d is gone", (int)opt.o_server);
}

/* Return the CPU seconds this process has used so far. */
static void
client_cpu(double *secs)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	*secs = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The controlling process's part of step s: sample, time, hold. */
static void
control_step(enum step s)
{
	switch (s) {
	case STEP_OPEN:
		sample(&ctl.ct_start);
		ctl.ct_t0 = now_ns();
		break;
	case STEP_WINDOW:
		sleep((unsigned)opt.o_duration);
		break;
	case STEP_STOPPED:
		ctl.ct_t1 = now_ns();
		sample(&ctl.ct_end);
		if (sockstat_read(&ctl.ct_ss_after) == -1)
			ctl.ct_kernel = 0;
		break;
	}
}

/* Reach step s: alone, do the controller's part; a child waits for it. */
static void
step(enum step s)
{
	if (child == -1)
		control_step(s);
	else if (fanout_sync(fan) == -1)
		die(EX_SETUP, "load generator process %d: the parent is gone",
		    child + 1);
}

/* Run this process's threads through the steps; total them into r. */
static void
run_threads(struct bthread *ts, struct result *r)
{
	double	c0, c1;
	int	i;

	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&ts[i].t_thread, NULL, bthread_main,
		    &ts[i]) != 0)
			die(EX_SETUP, "pthread_create failed");
	pthread_barrier_wait(&barrier);	/* every connection is ready */
	step(STEP_OPEN);
	pthread_barrier_wait(&barrier);	/* the server has been sampled */
	client_cpu(&c0);
	step(STEP_WINDOW);
	running = 0;
	pthread_barrier_wait(&barrier);	/* every thread stopped counting */
	client_cpu(&c1);
	step(STEP_STOPPED);
	pthread_barrier_wait(&barrier);	/* the server has been sampled */
	for (i = 0; i < nthreads; i++) {
		pthread_join(ts[i].t_thread, NULL);
		r->r_rtts += ts[i].t_rtts;
		r->r_out += ts[i].t_bytes_out;
		r->r_in += ts[i].t_bytes_in;
		hist_merge(&r->r_hist, &ts[i].t_hist);
	}
	r->r_client_cpu = c1 - c0;
}

/*
 * Child i's life: run its share of the connections (ids from its first
 * on, so the source addresses and pattern offsets are those of a single
 * process), send the totals up and exit.
 */
static _Noreturn void
run_child(int i)
{
	static struct result	r;
	int			share = opt.o_conns / opt.o_procs;
	int			extra = opt.o_conns % opt.o_procs;

	child = i;
	run_threads(setup_threads(i * share + (i < extra ? i : extra),
	    share + (i < extra)), &r);
	if (fanout_send(fan, &r, sizeof(r)) == -1)
		die(EX_SETUP, "load generator process %d: the parent is gone",
		    i + 1);
	exit(0);
}

/* Pass a child's failure on: end the others and exit with its status. */
static void
parent_check(int code, const char *cause)
{
	if (code == 0)
		return;
	if (fan != NULL)
		fanout_kill(fan);
	if (code == -1)
		die(EX_SETUP, "%s", cause);
	exit(code);	/* the child has said why */
}

/*
 * Fork --procs children, step them through the run together, sampling
 * the server at each step and holding the window while watching them,
 * and total what they send back into r.
 */
static void
run_parent(struct result *r)
{
	static struct result	cr;
	char			cause[FANOUT_CAUSE];
	int			i, s, code;
	const int		secs[] = { CONNECT_SECS + 30, 30, 30 };

	if ((fan = fanout_start(opt.o_procs, &i, cause)) == NULL)
		die(EX_SETUP, "%s", cause);
	if (i >= 0)
		run_child(i);
	for (s = STEP_OPEN; s <= STEP_STOPPED; s++) {
		parent_check(fanout_wait(fan, secs[s], cause), cause);
		if (s == STEP_WINDOW)
			parent_check(fanout_hold(fan, opt.o_duration, cause),
			    cause);
		else
			control_step((enum step)s);
		fanout_release(fan);
	}
	for (i = 0; i < opt.o_procs; i++) {
		memset(&cr, 0, sizeof(cr));
		parent_check(fanout_recv(fan, i, &cr, sizeof(cr),
		    DRAIN_SECS + 30, cause), cause);
		merge(r, &cr);
	}
	code = fanout_end(fan, cause);
	fan = NULL;
	parent_check(code, cause);
}

/* Add a child's totals to r. */
static void
merge(struct result *r, const struct result *cr)
{
	r->r_rtts += cr->r_rtts;
	r->r_out += cr->r_out;
	r->r_in += cr->r_in;
	r->r_client_cpu += cr->r_client_cpu;
	hist_merge(&r->r_hist, &cr->r_hist);
}

/* Add how the run was made and the samples to r, then print it. */
static void
report(struct result *r)
{
	r->r_mode = opts_mode_name(&opt);
	r->r_expect = opt.o_xf == TRANSFORM_UPPER ? "upper" : "echo";
	r->r_conns = opt.o_conns;
	r->r_size = opt.o_size;
	r->r_depth = opt.o_depth;
	r->r_threads = opt.o_threads;
	r->r_procs = opt.o_procs;
	r->r_src_ips = opt.o_src_ips;
	r->r_secs = (double)(ctl.ct_t1 - ctl.ct_t0) / 1e9;
	if (opt.o_server != 0) {
		r->r_server = 1;
		r->r_server_cpu = procstat_cpu(&ctl.ct_end) -
		    procstat_cpu(&ctl.ct_start);
		r->r_rss_before = ctl.ct_before.ps_rss_kb +
		    ctl.ct_before.ps_child_rss_kb;
		r->r_rss_after = ctl.ct_end.ps_rss_kb +
		    ctl.ct_end.ps_child_rss_kb;
		r->r_child_rss = ctl.ct_end.ps_child_rss_kb;
		r->r_children = ctl.ct_end.ps_children;
	}
	r->r_kernel = ctl.ct_kernel;
	r->r_ss_before = ctl.ct_ss_before;
	r->r_ss_after = ctl.ct_ss_after;
	if (opt.o_json)
		report_json(r);
	else
		report_table(r);
}

/*
 * Run the benchmark: fit it into the limits, sample the server and the
 * kernel, run alone or over --procs children, report.
 */
int
main(int argc, char **argv)
{
	static struct result	r;
	char			cause[LIMITS_CAUSE];

	opts_parse(argc, argv, &opt);
	signal(SIGPIPE, SIG_IGN);
	if (limits_fit(opt.o_conns, &opt.o_procs, &opt.o_src_ips,
	    (ntohl(opt.o_host.s_addr) >> 24) == 127, cause) == -1)
		die(EX_SETUP, "%s", cause);
	if (pattern_make(opt.o_xf, CHUNK, &pattern, &xpattern) == -1)
		die(EX_SETUP, "out of memory");
	sample(&ctl.ct_before);
	ctl.ct_kernel = sockstat_read(&ctl.ct_ss_before) == 0;
	if (opt.o_procs == 1)
		run_threads(setup_threads(0, opt.o_conns), &r);
	else
		run_parent(&r);
	report(&r);
	return (0);
}
