/*
 * limits: how many processes and source addresses a run needs.  Every
 * connection is a descriptor in the process that holds it, so a process
 * holds at most the hard RLIMIT_NOFILE less a few spare; more connections
 * than that are spread over several processes.  Every connection to one
 * server address also needs its own local port on its source address, and
 * the kernel picks those from net.ipv4.ip_local_port_range; more
 * connections than the range holds are spread over 127.0.0.1 ... K.
 */
#include <sys/resource.h>

#include <stdio.h>

#include "limits.h"

#define LIMITS_MAX_SRC_IPS	254

static int	limits_nofile(int, int *, char *);
static int	limits_ports(void);
static int	limits_src_ips(int, int *, int, char *);

/*
 * Choose *procs if it is 0, check that each process's share of conns fits
 * under the hard open-file limit, and raise the soft limit to fit it.
 */
static int
limits_nofile(int conns, int *procs, char *cause)
{
	struct rlimit	rl;
	long long	hard, per, need, share;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		rl.rlim_max = rl.rlim_cur = 1024;
	hard = rl.rlim_max == RLIM_INFINITY ? 1LL << 30 :
	    (long long)rl.rlim_max;
	if ((per = hard - LIMITS_SPARE) < 1) {
		snprintf(cause, LIMITS_CAUSE, "the hard open-file limit "
		    "(RLIMIT_NOFILE) is %lld: no room for a connection", hard);
		return (-1);
	}
	need = (conns + per - 1) / per;
	if (need > LIMITS_MAX_PROCS) {
		snprintf(cause, LIMITS_CAUSE, "%d connections need %lld "
		    "processes under the hard open-file limit (RLIMIT_NOFILE) "
		    "of %lld; at most %d are run", conns, need, hard,
		    LIMITS_MAX_PROCS);
		return (-1);
	}
	if (*procs == 0)
		*procs = (int)need;
	share = (conns + *procs - 1) / *procs;
	if (share > per) {
		snprintf(cause, LIMITS_CAUSE, "%d connections over %d "
		    "process%s need %lld descriptors each; the hard open-file "
		    "limit (RLIMIT_NOFILE) is %lld: use --procs %lld or more, "
		    "or leave it out", conns, *procs, *procs == 1 ? "" : "es",
		    share + LIMITS_SPARE, hard, need);
		return (-1);
	}
	if (rl.rlim_cur < (rlim_t)(share + LIMITS_SPARE)) {
		rl.rlim_cur = (rlim_t)(share + LIMITS_SPARE);
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			snprintf(cause, LIMITS_CAUSE, "cannot raise the "
			    "open-file limit to %lld", share + LIMITS_SPARE);
			return (-1);
		}
	}
	return (0);
}

/* Return how many ephemeral ports the kernel hands out (28,232 default). */
static int
limits_ports(void)
{
	FILE	*f;
	int	 lo, hi, n;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) ==
	    NULL)
		return (28232);
	n = fscanf(f, "%d %d", &lo, &hi);
	fclose(f);
	return (n == 2 && hi >= lo ? hi - lo + 1 : 28232);
}

/*
 * Choose *src_ips if it is 0 (for a loopback server only: iod-bench binds
 * to 127.0.0.K), leaving a tenth of each range to the rest of the
 * machine, and check that the connections fit the ports of that many
 * source addresses.
 */
static int
limits_src_ips(int conns, int *src_ips, int loopback, char *cause)
{
	int	ports = limits_ports(), usable = ports - ports / 10;

	if (usable < 1)
		usable = 1;

	if (*src_ips == 0)
		*src_ips = loopback ? (conns + usable - 1) / usable : 1;
	if (*src_ips <= LIMITS_MAX_SRC_IPS &&
	    (conns + *src_ips - 1) / *src_ips <= ports)
		return (0);
	snprintf(cause, LIMITS_CAUSE, "%d connections from %d source "
	    "address%s need %d local ports each; the ephemeral port range "
	    "(net.ipv4.ip_local_port_range) has %d%s", conns, *src_ips,
	    *src_ips == 1 ? "" : "es", (conns + *src_ips - 1) / *src_ips,
	    ports, loopback ? ": use more --src-ips, or leave it out" : "");
	return (-1);
}

/*
 * Fit conns connections: choose the processes (*procs) and the source
 * addresses (*src_ips) that are 0, check those given, and raise the soft
 * open-file limit for the share of each process.  Return -1 and a cause
 * naming the limit when the run cannot fit.
 */
int
limits_fit(int conns, int *procs, int *src_ips, int loopback, char *cause)
{
	if (limits_nofile(conns, procs, cause) == -1)
		return (-1);
	return (limits_src_ips(conns, src_ips, loopback, cause));
}
