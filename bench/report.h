/* Print what an iod-bench run measured: a table, or one JSON line. */
#ifndef IOD_BENCH_REPORT_H
#define IOD_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "sockstat.h"

/* What a run measured, totalled over threads and processes, and how. */
struct result {
	const char	*r_mode;	/* pingpong, stream or idle */
	const char	*r_expect;	/* upper or echo */
	int		 r_conns;
	size_t		 r_size;
	int		 r_depth;
	int		 r_threads;	/* per process */
	int		 r_procs;
	int		 r_src_ips;
	double		 r_secs;
	double		 r_client_cpu;
	uint64_t	 r_rtts;
	uint64_t	 r_out;
	uint64_t	 r_in;
	struct hist	 r_hist;
	int		 r_server;	/* with --server-pid */
	double		 r_server_cpu;
	long		 r_rss_before;	/* the server and its live children */
	long		 r_rss_after;
	long		 r_child_rss;
	int		 r_children;
	int		 r_kernel;	/* /proc/net/sockstat was read */
	struct sockstat	 r_ss_before;	/* before connecting */
	struct sockstat	 r_ss_after;	/* at the end of the window */
};

/* Report. */
void	report_table(const struct result *);
void	report_json(const struct result *);

#endif
