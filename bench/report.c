/* report: the two outputs of iod-bench, for people and for scripts. */
#include <stdio.h>

#include "report.h"

static double	report_ratio(double, double);
static double	report_rss_per_conn(const struct result *);

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

/* Print the result as a table for people. */
void
report_table(const struct result *r)
{
	const struct hist	*h = &r->r_hist;

	printf("%s, %s, %d conns, %zu B, depth %d, %d threads, %.2f s: "
	    "every byte verified\n", r->r_mode, r->r_expect, r->r_conns,
	    r->r_size, r->r_depth, r->r_threads, r->r_secs);
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
	if (!r->r_server)
		return;
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

/* Print the result as exactly one JSON line for scripts. */
void
report_json(const struct result *r)
{
	const struct hist	*h = &r->r_hist;

	printf("{\"mode\":\"%s\",\"expect\":\"%s\",\"conns\":%d,"
	    "\"size\":%zu,\"depth\":%d,\"threads\":%d,\"verified\":true,"
	    "\"secs\":%.3f,\"rtts\":%llu,\"rtt_per_s\":%.1f,"
	    "\"bytes_out\":%llu,\"bytes_in\":%llu,\"out_bps\":%.0f,"
	    "\"in_bps\":%.0f,\"lat_n\":%llu,\"lat_p50_us\":%.2f,"
	    "\"lat_p99_us\":%.2f,\"lat_p999_us\":%.2f,\"lat_max_us\":%.2f,"
	    "\"client_cpu_s\":%.3f", r->r_mode, r->r_expect, r->r_conns,
	    r->r_size, r->r_depth, r->r_threads, r->r_secs,
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
	printf("}\n");
}
