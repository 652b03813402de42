/* procstat: CPU seconds and VmRSS of a server and its children. */
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

static int	procstat_stat(pid_t, pid_t *, double *, double *);
static long	procstat_kb(pid_t, const char *, const char *);
static double	procstat_run(pid_t, double);
static void	procstat_children(pid_t, struct procstat *);

/*
 * Read /proc/PID/stat: the parent pid, utime + stime (which the kernel
 * already sums over every thread) and cutime + cstime (children that
 * have been waited for).  The command name may hold spaces and
 * parentheses, so fields are counted from the last ')'.
 */
static int
procstat_stat(pid_t pid, pid_t *ppid, double *self, double *reaped)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	long long		 cut, cst;
	int			 pp;
	long			 hz;
	FILE			*f;
	size_t			 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime */
	if (sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu %lld %lld", &pp, &ut, &st, &cut, &cst) != 5)
		return (-1);
	hz = sysconf(_SC_CLK_TCK);
	*ppid = pp;
	*self = (double)(ut + st) / (double)hz;
	*reaped = (double)(cut + cst) / (double)hz;
	return (0);
}

/* Return the value in KiB of field (e.g. "VmRSS:") in /proc/PID/file. */
static long
procstat_kb(pid_t pid, const char *file, const char *field)
{
	char	 path[64], line[256];
	size_t	 len = strlen(field);
	long	 kb = -1;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, len) == 0) {
			kb = strtol(line + len, NULL, 10);
			break;
		}
	fclose(f);
	return (kb);
}

/*
 * Return the CPU seconds of single-threaded pid from /proc/PID/schedstat,
 * in nanoseconds, or fallback.  utime and stime are whole clock ticks
 * (10 ms) per process: a thousand children that each ran 5 ms would add
 * up to nothing.
 */
static double
procstat_run(pid_t pid, double fallback)
{
	char			 path[64];
	unsigned long long	 ns;
	FILE			*f;
	int			 ok;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (fallback);
	ok = fscanf(f, "%llu", &ns) == 1;
	fclose(f);
	return (ok ? (double)ns / 1e9 : fallback);
}

/*
 * Add up the live children of pid: a forking server's clients are served
 * by processes that cutime/cstime only count once they are reaped.  A
 * child that exits between two samples moves from "live" to "reaped"
 * with its whole time, so differences of the sum stay right.  Children
 * are listed per thread in /proc/PID/task/TID/children, since a child
 * forked by a worker thread belongs to that thread.  Their memory is
 * their Pss, which splits each shared page among those mapping it: VmRSS
 * would count the pages every child shares with its parent once per
 * child.
 */
static void
procstat_children(pid_t pid, struct procstat *ps)
{
	struct dirent	*d;
	DIR		*dir;
	FILE		*f;
	char		 path[96];
	pid_t		 ppid;
	double		 self, reaped;
	long		 rss;
	int		 child;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/children",
		    (int)pid, d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fscanf(f, "%d", &child) == 1) {
			if (procstat_stat(child, &ppid, &self, &reaped) == -1)
				continue;
			ps->ps_live_cpu += procstat_run(child, self);
			if ((rss = procstat_kb(child, "smaps_rollup",
			    "Pss:")) > 0)
				ps->ps_child_rss_kb += rss;
			ps->ps_children++;
		}
		fclose(f);
	}
	closedir(dir);
}

/* Sample pid and its children; return -1 if pid is gone. */
int
procstat_read(pid_t pid, struct procstat *ps)
{
	pid_t	ppid;

	memset(ps, 0, sizeof(*ps));
	if (procstat_stat(pid, &ppid, &ps->ps_self_cpu,
	    &ps->ps_reaped_cpu) == -1)
		return (-1);
	ps->ps_rss_kb = procstat_kb(pid, "status", "VmRSS:");
	procstat_children(pid, ps);
	return (0);
}

/* Return the CPU seconds of the sample: self, reaped and live children. */
double
procstat_cpu(const struct procstat *ps)
{
	return (ps->ps_self_cpu + ps->ps_reaped_cpu + ps->ps_live_cpu);
}
