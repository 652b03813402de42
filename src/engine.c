/*
 * The engine registry, and the services every engine shares: admission
 * under max_connections, socket options, and the rate-limited lines for
 * refused connections and failed accepts, so that each engine file holds
 * only what is particular to its model.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "log.h"
#include "ratelimit.h"
#include "stats.h"

extern const struct engine engine_libevent;
extern const struct engine engine_select;
extern const struct engine engine_poll;
extern const struct engine engine_epoll;
extern const struct engine engine_uring;
extern const struct engine engine_threads;
extern const struct engine engine_fork;

static const struct engine *engines[] = {
	&engine_libevent,
	&engine_select,
	&engine_poll,
	&engine_epoll,
	&engine_uring,
	&engine_threads,
	&engine_fork,
};

#define NENGINES	(sizeof(engines) / sizeof(engines[0]))

static int	engine_reset(int);

static struct ratelimit	engine_rl_full = RATELIMIT_INITIALIZER(1);
static struct ratelimit	engine_rl_refused = RATELIMIT_INITIALIZER(1);
static struct ratelimit	engine_rl_accept = RATELIMIT_INITIALIZER(1);

/* Return the engine called name, or NULL. */
const struct engine *
engine_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NENGINES; i++)
		if (strcmp(engines[i]->name, name) == 0)
			return (engines[i]);
	return (NULL);
}

/* Return the valid names for messages: "libevent, select, ...". */
const char *
engine_names(void)
{
	static char	names[128];
	size_t		i, off = 0;

	for (i = 0; i < NENGINES && off < sizeof(names); i++)
		off += snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", engines[i]->name);
	return (names);
}

/*
 * Claim a slot for a just-accepted descriptor.  Over max_connections, close
 * it at once without a byte written (any byte would read as an echo),
 * count it and say so at most once a second.
 */
int
engine_admit(const struct iod_conf *conf, int fd)
{
	unsigned long	n;

	if (stats_admit())
		return (0);
	close(fd);
	if (ratelimit_allow(&engine_rl_full, &n))
		log_warnx("max_connections (%d) reached: rejected %lu "
		    "connections", conf->max_connections, n);
	return (-1);
}

/* Close an admitted descriptor that cannot be served, and say why. */
void
engine_refuse(int fd, const char *why)
{
	unsigned long	n;

	close(fd);
	stats_release();
	stats_count_reject();
	if (ratelimit_allow(&engine_rl_refused, &n))
		log_warnx("refused %lu connections: %s", n, why);
}

/* TCP_NODELAY always (replies are small and immediate); keepalive if set. */
void
engine_sockopts(const struct iod_conf *conf, int fd)
{
	int	on = 1, idle = conf->tcp_keepalive;

	/* Both fail harmlessly on unix sockets. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (idle > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
		    sizeof(idle));
	}
}

/*
 * Milliseconds on a clock that never jumps, for idle and pause timers.
 * Whole seconds would not do: with idle_timeout = 1, a byte at 0.9 s and
 * a check at 1.0 s would count as a second of silence.
 */
int64_t
engine_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Would closing fd now lose data or end in a reset?  A close with unread
 * input makes the kernel send a reset, and so does input that arrives
 * after the close; a reset destroys whatever the client has not yet
 * acknowledged, and the client sees an error where it expected the end
 * of input.  So with unread input or unacknowledged output, the caller
 * shuts down its sending side instead, reads and discards until the
 * client's end of input (or the shutdown deadline), and closes then.
 * A connection the client has reset loses nothing by a close.
 */
int
engine_must_linger(int fd)
{
	int	unread = 0;

	if (ioctl(fd, SIOCINQ, &unread) == -1)
		return (0);
	if (unread == 0)
		return (engine_unacked(fd) > 0);
	return (!engine_reset(fd));
}

/*
 * Bytes written to fd that the client has not acknowledged yet.  SIOCOUTQ
 * alone is not enough: after a reset the kernel goes on counting what was
 * never acknowledged, though none of it can reach the client any more,
 * and a drain that waited for it to fall would wait until its deadline.
 */
int
engine_unacked(int fd)
{
	int	unacked = 0;

	if (ioctl(fd, SIOCOUTQ, &unacked) == -1 || unacked <= 0 ||
	    engine_reset(fd))
		return (0);
	return (unacked);
}

/*
 * Has fd's connection been reset (or closed for good) in the kernel?  Not
 * TCP (a unix socket): no, and what its queues say stands.
 */
static int
engine_reset(int fd)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return (0);
	return (ti.tcpi_state == TCP_CLOSE);
}

/*
 * accept() failed.  Return 1 when the failure is transient and the caller
 * should just wait for the next readiness; otherwise (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM and anything unexpected) log it, rate-limited, and
 * return 0: the caller pauses that listener for ENGINE_ACCEPT_PAUSE
 * seconds, since the connection stays queued and would wake it at once.
 */
int
engine_accept_failed(const char *listener, int error)
{
	unsigned long	n;

	switch (error) {
	case EAGAIN:
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return (1);
	}
	if (ratelimit_allow(&engine_rl_accept, &n))
		log_warnx("accept on %s: %s; pausing for %ds (%lu failures)",
		    listener, strerror(error), ENGINE_ACCEPT_PAUSE, n);
	return (0);
}
