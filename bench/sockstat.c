/*
 * sockstat: what the kernel holds for TCP sockets.  /proc/net/sockstat
 * counts the sockets and the buffer memory charged to TCP ("mem", in
 * pages); the sockets themselves (struct tcp_sock, the file, the inode,
 * epoll's entries) are slab objects that no counter of TCP includes, so
 * the Slab line of /proc/meminfo is read too.  Both are machine-wide:
 * other work on the machine moves them as well.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sockstat.h"

static int	sockstat_tcp(struct sockstat *);
static long	sockstat_slab_kb(void);

/* Read the TCP line of /proc/net/sockstat; return -1 if there is none. */
static int
sockstat_tcp(struct sockstat *ss)
{
	char	 line[256];
	long	 pages;
	FILE	*f;
	int	 found = 0;

	if ((f = fopen("/proc/net/sockstat", "r")) == NULL)
		return (-1);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = sscanf(line, "TCP: inuse %ld orphan %ld tw %ld "
		    "alloc %ld mem %ld", &ss->ss_inuse, &ss->ss_orphan,
		    &ss->ss_tw, &ss->ss_alloc, &pages) == 5;
	fclose(f);
	if (!found)
		return (-1);
	ss->ss_mem_b = pages * sysconf(_SC_PAGESIZE);
	return (0);
}

/* Return the Slab line of /proc/meminfo in KiB, or -1. */
static long
sockstat_slab_kb(void)
{
	char	 line[256];
	long	 kb = -1;
	FILE	*f;

	if ((f = fopen("/proc/meminfo", "r")) == NULL)
		return (-1);
	while (kb == -1 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Slab: %ld kB", &kb) != 1)
			kb = -1;
	fclose(f);
	return (kb);
}

/* Sample the kernel's TCP sockets; return -1 when /proc does not say. */
int
sockstat_read(struct sockstat *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sockstat_tcp(ss) == -1)
		return (-1);
	ss->ss_slab_kb = sockstat_slab_kb();
	return (0);
}
