/* Sample another process's CPU time and memory from /proc. */
#ifndef IOD_BENCH_PROCSTAT_H
#define IOD_BENCH_PROCSTAT_H

#include <sys/types.h>

struct procstat {
	double	ps_self_cpu;	/* utime + stime: every thread of it */
	double	ps_reaped_cpu;	/* cutime + cstime: children it has reaped */
	double	ps_live_cpu;	/* utime + stime of its children alive now */
	long	ps_rss_kb;	/* VmRSS of the process */
	long	ps_child_rss_kb; /* Pss summed over its live children */
	int	ps_children;	/* live children */
};

/* Procstat. */
int	procstat_read(pid_t, struct procstat *);
double	procstat_cpu(const struct procstat *);

#endif
