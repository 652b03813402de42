/* Shared test helpers: time, and what /proc says of a process. */
#include <sys/types.h>
#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

/* Milliseconds on the monotonic clock. */
int64_t
t_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* pid's resident set size in KiB, from /proc/PID/status; -1 if unknown. */
long
t_rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return (kb);
}

/* pid's user plus system CPU time in clock ticks; -1 if unknown. */
long
t_cpu_ticks(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 utime, stime;
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: 3 is state. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &utime, &stime) != 2)
		return (-1);
	return ((long)(utime + stime));
}

/*
 * Lower pid's soft open-file limit to extra above the descriptors it has
 * open; return how many that is.  Fails the test if it cannot.
 */
int
t_limit_fds(pid_t pid, int extra)
{
	struct rlimit	rl;
	int		nfd;

	nfd = t_count_fds(pid);
	ck_assert_msg(nfd > 0, "cannot count the descriptors of %d",
	    (int)pid);
	ck_assert_msg(prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0,
	    "prlimit: %s", strerror(errno));
	rl.rlim_cur = (rlim_t)(nfd + extra);
	ck_assert_msg(prlimit(pid, RLIMIT_NOFILE, &rl, NULL) == 0,
	    "prlimit: %s", strerror(errno));
	return (nfd);
}

/* The number of descriptors pid has open; -1 if unknown. */
int
t_count_fds(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

/*
 * The port of a TCP socket pid listens on, found by matching the socket
 * inodes in /proc/PID/fd with /proc/net/tcp; 0 if none.  For a daemon
 * whose log goes to syslog.
 */
int
t_proc_listen_port(pid_t pid)
{
	char		 path[300], link[64], line[512];
	unsigned long	 inodes[64], inode;
	unsigned int	 port, st;
	size_t		 ninodes = 0, i;
	ssize_t		 n;
	DIR		*d;
	struct dirent	*de;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL && ninodes < 64) {
		if (snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
		    de->d_name) >= (int)sizeof(path) ||
		    (n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) == 1)
			inodes[ninodes++] = inode;
	}
	closedir(d);
	if ((f = fopen("/proc/net/tcp", "r")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL) {
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x "
		    "%*u %*u %lu", &port, &st, &inode) != 3 || st != 0x0a)
			continue;
		for (i = 0; i < ninodes; i++)
			if (inodes[i] == inode) {
				fclose(f);
				return ((int)port);
			}
	}
	fclose(f);
	return (0);
}
