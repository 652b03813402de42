/* report: the two outputs of iod-bench, for people and for scripts. */
#include <stdio.h>
#include <string.h>

#include "report.h"

static double	report_ratio(double, double);
static double	report_rss_per_conn(const struct result *);
static double	report_kernel_per_conn(const struct result *, int);
static void	report_server_table(const struct result *);
static void	report_kernel_table(const struct result *);
static void	report_kernel_json(const struct result *);

/* Return x / y, or 0 when y is 0. */
static double
report_ratio(double x, double y)
{
	return (y != 0 ? x / y : 0);
}

/* Return the server's memory growth per connection, in bytes. */
static double
report_rss_per_conn(const struct result *r)
{
	return (1024 * report_ratio((double)(r->r_rss_after -
	    r->r_rss_before), r->r_conns));
}

/*
 * Return the kernel's growth per connection, in bytes: TCP buffer memory
 * (slab 0) or slab (slab 1).  A loopback connection is a pair of
 * sockets, client and server, and both are counted.
 */
static double
report_kernel_per_conn(const struct result *r, int slab)
{
	const struct sockstat	*a = &r->r_ss_before, *b = &r->r_ss_after;

	if (!slab)
		return (report_ratio((double)(b->ss_mem_b - a->ss_mem_b),
		    r->r_conns));
	if (a->ss_slab_kb < 0 || b->ss_slab_kb < 0)
		return (0);
	return (1024 * report_ratio((double)(b->ss_slab_kb - a->ss_slab_kb),
	    r->r_conns));
}

/*
 * Print the kernel's TCP sockets and memory, before connecting and at the
 * end of the window, and for idle runs what the measured costs come to at
 * 100,000 and 1,000,000 connections.
 */
static void
report_kernel_table(const struct result *r)
{
	const struct sockstat	*a = &r->r_ss_before, *b = &r->r_ss_after;
	double			 krn;
	long			 n;

	printf("  %-26s %8ld -> %ld (%.2f per connection)\n",
	    "kernel TCP sockets", a->ss_inuse, b->ss_inuse,
	    report_ratio((double)(b->ss_inuse - a->ss_inuse), r->r_conns));
	printf("  %-26s %8ld -> %ld (%.0f B/conn)\n", "kernel TCP buffers KiB",
	    a->ss_mem_b / 1024, b->ss_mem_b / 1024,
	    report_kernel_per_conn(r, 0));
	printf("  %-26s %8ld -> %ld (%.0f B/conn)\n", "kernel slab KiB",
	    a->ss_slab_kb, b->ss_slab_kb, report_kernel_per_conn(r, 1));
	if (strcmp(r->r_mode, "idle") != 0)
		return;
	krn = report_kernel_per_conn(r, 0) + report_kernel_per_conn(r, 1);
	for (n = 100000; n <= 1000000; n *= 10) {
		printf("  at %-23s", n == 100000 ? "100,000 conns" :
		    "1,000,000 conns");
		if (r->r_server)
			printf(" server %.0f MiB,",
			    report_rss_per_conn(r) * n / 1048576);
		printf(" kernel %.0f MiB\n", krn * n / 1048576);
	}
}

/* Print the result as a table for people. */
void
report_table(const struct result *r)
{
	const struct hist	*h = &r->r_hist;

	printf("%s, %s, %d conns, %zu B, depth %d, %d threads", r->r_mode,
	    r->r_expect, r->r_conns, r->r_size, r->r_depth, r->r_threads);
	if (r->r_procs > 1)
		printf(" x %d processes", r->r_procs);
	if (r->r_src_ips > 1)
		printf(", %d source addresses", r->r_src_ips);
	printf(", %.2f s: every byte verified\n", r->r_secs);
	printf("  %-26s %14.0f\n", "round trips/s",
	    report_ratio((double)r->r_rtts, r->r_secs));
	printf("  %-26s %14.1f\n", "MB/s sent",
	    report_ratio((double)r->r_out, r->r_secs) / 1e6);
	printf("  %-26s %14.1f\n", "MB/s received",
	    report_ratio((double)r->r_in, r->r_secs) / 1e6);
	printf("  %-26s %8.1f %8.1f %8.1f %8.1f (%llu messages)\n",
	    "latency us p50 p99 p99.9 max",
	    hist_quantile(h, 0.50) / 1e3, hist_quantile(h, 0.99) / 1e3,
	    hist_quantile(h, 0.999) / 1e3, h->h_max / 1e3,
	    (unsigned long long)h->h_n);
	printf("  %-26s %14.1f%%\n", "client CPU",
	    100 * report_ratio(r->r_client_cpu, r->r_secs));
	if (r->r_server)
		report_server_table(r);
	if (r->r_kernel)
		report_kernel_table(r);
}

/* Print the server's CPU time and memory. */
static void
report_server_table(const struct result *r)
{
	printf("  %-26s %14.1f%%\n", "server CPU",
	    100 * report_ratio(r->r_server_cpu, r->r_secs));
	printf("  %-26s %14.2f\n", "server CPU us/round trip",
	    1e6 * report_ratio(r->r_server_cpu, (double)r->r_rtts));
	printf("  %-26s %14.1f\n", "server CPU us/MB echoed",
	    report_ratio(r->r_server_cpu, (double)r->r_in / 1e12));
	printf("  %-26s %8ld -> %ld (%.0f B/conn)\n", "server memory KiB",
	    r->r_rss_before, r->r_rss_after, report_rss_per_conn(r));
	if (r->r_children > 0)
		printf("  %-26s %8d, %ld KiB Pss in all\n", "live children",
		    r->r_children, r->r_child_rss);
}

/*
 * Print the kernel's TCP counts and memory growth as JSON members, and
 * for idle runs the projections to 100,000 and 1,000,000 connections.
 */
static void
report_kernel_json(const struct result *r)
{
	const struct sockstat	*a = &r->r_ss_before, *b = &r->r_ss_after;
	double			 krn;

	printf(",\"tcp_inuse_before\":%ld,\"tcp_inuse_after\":%ld,"
	    "\"tcp_inuse_delta\":%ld,\"tcp_sockets_per_conn\":%.3f,"
	    "\"tcp_orphan\":%ld,\"tcp_tw\":%ld,\"sock_mem_before_b\":%ld,"
	    "\"sock_mem_b\":%ld,\"sock_mem_per_conn_b\":%.1f,"
	    "\"slab_before_kb\":%ld,\"slab_after_kb\":%ld,"
	    "\"slab_per_conn_b\":%.1f", a->ss_inuse, b->ss_inuse,
	    b->ss_inuse - a->ss_inuse,
	    report_ratio((double)(b->ss_inuse - a->ss_inuse), r->r_conns),
	    b->ss_orphan, b->ss_tw, a->ss_mem_b, b->ss_mem_b,
	    report_kernel_per_conn(r, 0), a->ss_slab_kb, b->ss_slab_kb,
	    report_kernel_per_conn(r, 1));
	if (strcmp(r->r_mode, "idle") != 0)
		return;
	krn = report_kernel_per_conn(r, 0) + report_kernel_per_conn(r, 1);
	printf(",\"proj_100k_kernel_mib\":%.0f,\"proj_1m_kernel_mib\":%.0f",
	    krn * 1e5 / 1048576, krn * 1e6 / 1048576);
	if (r->r_server)
		printf(",\"proj_100k_rss_mib\":%.0f,\"proj_1m_rss_mib\":%.0f",
		    report_rss_per_conn(r) * 1e5 / 1048576,
		    report_rss_per_conn(r) * 1e6 / 1048576);
}

/* Print the result as exactly one JSON line for scripts. */
void
report_json(const struct result *r)
{
	const struct hist	*h = &r->r_hist;

	printf("{\"mode\":\"%s\",\"expect\":\"%s\",\"conns\":%d,"
	    "\"size\":%zu,\"depth\":%d,\"threads\":%d,\"procs\":%d,"
	    "\"src_ips\":%d,\"verified\":true,"
	    "\"secs\":%.3f,\"rtts\":%llu,\"rtt_per_s\":%.1f,"
	    "\"bytes_out\":%llu,\"bytes_in\":%llu,\"out_bps\":%.0f,"
	    "\"in_bps\":%.0f,\"lat_n\":%llu,\"lat_p50_us\":%.2f,"
	    "\"lat_p99_us\":%.2f,\"lat_p999_us\":%.2f,\"lat_max_us\":%.2f,"
	    "\"client_cpu_s\":%.3f", r->r_mode, r->r_expect, r->r_conns,
	    r->r_size, r->r_depth, r->r_threads, r->r_procs, r->r_src_ips,
	    r->r_secs,
	    (unsigned long long)r->r_rtts,
	    report_ratio((double)r->r_rtts, r->r_secs),
	    (unsigned long long)r->r_out, (unsigned long long)r->r_in,
	    report_ratio((double)r->r_out, r->r_secs),
	    report_ratio((double)r->r_in, r->r_secs),
	    (unsigned long long)h->h_n,
	    hist_quantile(h, 0.50) / 1e3, hist_quantile(h, 0.99) / 1e3,
	    hist_quantile(h, 0.999) / 1e3, h->h_max / 1e3, r->r_client_cpu);
	if (r->r_server)
		printf(",\"server_cpu_s\":%.3f,\"server_cpu_us_per_rtt\":%.3f,"
		    "\"server_cpu_us_per_mb\":%.3f,\"rss_before_kb\":%ld,"
		    "\"rss_after_kb\":%ld,\"rss_per_conn_b\":%.1f,"
		    "\"children\":%d,\"child_pss_kb\":%ld", r->r_server_cpu,
		    1e6 * report_ratio(r->r_server_cpu, (double)r->r_rtts),
		    report_ratio(r->r_server_cpu, (double)r->r_in / 1e12),
		    r->r_rss_before, r->r_rss_after, report_rss_per_conn(r),
		    r->r_children, r->r_child_rss);
	if (r->r_kernel)
		report_kernel_json(r);
	printf("}\n");
}
