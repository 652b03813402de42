/*
 * reuseport: a SO_REUSEPORT listener per worker for every TCP address.
 *
 * Why: with one listening socket shared by every worker, all of them wake
 * for each connection and whichever gets there first accepts it; under
 * load that favours some workers and adds latency.  With a socket per
 * worker in the address's SO_REUSEPORT group, the kernel hashes each new
 * connection to one socket, so each worker accepts only its own share.
 *
 * The pitfall: when a member of a group closes, the connections waiting
 * in its accept queue (and half-open ones bound to it) are reset by the
 * kernel, not moved to the others (unless net.ipv4.tcp_migrate_req is
 * set, which iod does not rely on).  So a member is drained before it
 * closes: a classic BPF filter makes it drop every new SYN (the client
 * sends the SYN again after about a second, and the kernel then picks a
 * member still in the group, or refuses it if none is left), its worker
 * keeps accepting until its queue is empty, and only then is it closed.
 *
 * The supervisor opens every member (before dropping privileges, as for
 * any listener) and hands each worker a view of the listeners in which
 * l_fd is that worker's own member; the engines' accept paths are
 * unchanged.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/filter.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "lset.h"
#include "worker.h"

#define LSET_DRAIN_STEP_MS	20	/* between looks at the queues */
#define LSET_DRAIN_MAX_MS	1000	/* then close whatever is left */

static int	lset_bound(int, struct listen_addr *, char *, size_t);
static int	lset_drop_syns(int);
static int	lset_queued(int);
static void	lset_sleep_ms(long);

/*
 * Open n members of the SO_REUSEPORT group for la into l (l_fd is the
 * first).  Port 0 is resolved by the first member; the others bind to
 * the port it got.  Return -1 and a cause, with nothing left open, on
 * failure.
 */
int
lset_open(struct listener *l, const struct listen_addr *la, int backlog,
    int n, char *cause, size_t len)
{
	struct listen_addr	 bound;
	int			*fds;
	int			 i = 0, saved;

	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL) {
		snprintf(cause, len, "out of memory for %d sockets", n);
		return (-1);
	}
	if ((fds[0] = listen_open_reuseport(la, backlog, cause, len)) == -1)
		goto fail;
	if (lset_bound(fds[0], &bound, cause, len) == -1) {
		i = 1;
		goto fail;
	}
	for (i = 1; i < n; i++)
		if ((fds[i] = listen_open_reuseport(&bound, backlog, cause,
		    len)) == -1)
			goto fail;
	l->l_fd = fds[0];
	l->l_fds = fds;
	l->l_nfds = (size_t)n;
	return (0);

fail:
	saved = errno;
	while (i-- > 0)
		close(fds[i]);
	free(fds);
	errno = saved;
	return (-1);
}

/* The address fd is bound to, as a listen_addr to bind more members to. */
static int
lset_bound(int fd, struct listen_addr *la, char *cause, size_t len)
{
	memset(la, 0, sizeof(*la));
	la->la_len = sizeof(la->la_ss);
	if (getsockname(fd, (struct sockaddr *)&la->la_ss, &la->la_len) == -1) {
		snprintf(cause, len, "getsockname: %s", strerror(errno));
		return (-1);
	}
	la->la_family = la->la_ss.ss_family;
	return (0);
}

/* A reload's backlog, for every member (a second listen() changes it). */
void
lset_backlog(const struct listener *l, int backlog)
{
	size_t	i;

	for (i = 0; i < l->l_nfds; i++)
		(void)listen(l->l_fds[i], backlog);
}

/*
 * A copy of ls for worker w, in which each group's l_fd is the worker's
 * own member; other listeners stay shared.  The copy owns no socket
 * (l_fds is NULL).  NULL when out of memory: the caller then uses ls,
 * whose l_fd is a member of each group too.
 */
struct listener *
lset_view(const struct listener *ls, size_t n, int w)
{
	struct listener	*v;
	size_t		 i;

	/* One spare entry: calloc(0, ...) may return NULL. */
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return (NULL);
	for (i = 0; i < n; i++) {
		v[i] = ls[i];
		if (ls[i].l_fds != NULL) {
			v[i].l_fd = ls[i].l_fds[(size_t)w % ls[i].l_nfds];
			v[i].l_own = 1;
		}
		v[i].l_fds = NULL;
		v[i].l_nfds = 0;
	}
	return (v);
}

/*
 * Make every member of the n groups in ls drop new SYNs, then wait, from
 * LSET_DRAIN_STEP_MS up to LSET_DRAIN_MAX_MS, until the workers (which
 * still watch them) have accepted everything queued.  Return how many
 * connections were still queued when the wait ended: those will be reset.
 * Blocks the caller (the supervisor's loop) for that long: a reload or a
 * shutdown, never the data path.
 */
size_t
lset_drain(struct listener *const *ls, size_t n)
{
	size_t	i, j, queued = 0;
	long	waited;

	for (i = 0; i < n; i++)
		for (j = 0; j < ls[i]->l_nfds; j++)
			(void)lset_drop_syns(ls[i]->l_fds[j]);
	for (waited = 0; waited < LSET_DRAIN_MAX_MS;
	    waited += LSET_DRAIN_STEP_MS) {
		/*
		 * Wait first: a handshake under way when the filter came
		 * lands in the queue only when its last ACK arrives.
		 */
		lset_sleep_ms(LSET_DRAIN_STEP_MS);
		queued = 0;
		for (i = 0; i < n; i++)
			for (j = 0; j < ls[i]->l_nfds; j++)
				queued += (size_t)lset_queued(ls[i]->l_fds[j]);
		if (queued == 0)
			break;
	}
	return (queued);
}

/*
 * Attach a filter that drops pure SYNs (SYN set, ACK clear) and lets
 * everything else through, so that handshakes under way still complete.
 * A TCP socket's filter sees the packet from its TCP header, whose byte
 * 13 holds the flags.
 */
static int
lset_drop_syns(int fd)
{
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),	/* SYN|ACK */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),			/* drop */
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff)		/* keep */
	};
	struct sock_fprog	prog = {
		.len = sizeof(code) / sizeof(code[0]),
		.filter = code
	};

	return (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)));
}

/*
 * Connections waiting in a listener's accept queue: for a listening
 * socket, TCP_INFO's tcpi_unacked is the queue's length.  0 when unknown.
 */
static int
lset_queued(int fd)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return (0);
	return ((int)ti.tcpi_unacked);
}

/* Sleep for ms milliseconds, whatever signals arrive. */
static void
lset_sleep_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/* Close every member of a group and forget them. */
void
lset_close(struct listener *l)
{
	size_t	i;

	for (i = 0; i < l->l_nfds; i++)
		close(l->l_fds[i]);
	free(l->l_fds);
	l->l_fds = NULL;
	l->l_nfds = 0;
	l->l_fd = -1;
}
