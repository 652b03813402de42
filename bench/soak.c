/*
 * iod-soak: churn against one iod for a while, every byte it sends back
 * verified.  bench/soak runs it against each engine and checks iod's
 * descriptors, memory and counters around it.
 *
 *   iod-soak --port PORT [--seconds S] [--conns N] [--seed X] [--echo]
 *
 * N slots (default 32) each run one connection at a time, of a kind
 * picked at random: connect and close; pingpong (rounds of one message,
 * each reply read before the next is sent); a stream, sent while read,
 * then half-closed (shutdown(SHUT_WR)) and read to iod's EOF; a slow
 * reader (4 KiB every 20 ms); a reset (some bytes, then an RST); a
 * client that never reads (with a 64 KiB receive buffer, sending up to
 * 16 MiB), holding its connection for up to 2 s.  New
 * connections stop after S seconds; those open finish.  Every byte read
 * is compared with what iod must send; a connection iod ends that it
 * should not have, a wrong byte, or a connection still open 60 s after
 * it started fails the run.  It prints one line of figures and exits 0
 * on success, 1 on a failure, 2 on a bad command line.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"
#include "transform.h"

#define SOAK_MAXSLOTS	1000
#define SOAK_SLACK	((1 << 20) + 65536)	/* longest window read */
#define SOAK_SLOW_READ	4096
#define SOAK_SLOW_MS	20
#define SOAK_STUCK_MS	60000

enum soak_kind {
	K_CLOSE,	/* connect, close */
	K_PINGPONG,	/* rounds of one message and its reply */
	K_STREAM,	/* send while reading, half-close, read to EOF */
	K_SLOW,		/* read a little, now and then */
	K_RESET,	/* send, read some, end with an RST */
	K_NOREAD,	/* send, never read, close after a while */
	K_NKINDS
};
static const char *const soak_kind_names[K_NKINDS] = {
	"close", "pingpong", "stream", "slow", "reset", "noread"
};

struct slot {
	int		 s_fd;		/* -1: free */
	enum soak_kind	 s_kind;
	int		 s_connected;
	int		 s_shut;	/* SHUT_WR done */
	size_t		 s_off;		/* window into the pattern */
	size_t		 s_want;	/* bytes to send in all */
	size_t		 s_sent;
	size_t		 s_got;
	size_t		 s_msg;		/* pingpong: one message's size */
	int64_t		 s_start;
	int64_t		 s_wake;	/* slow: next read; noread: close */
};

struct soak_totals {
	uint64_t	 t_conns[K_NKINDS];
	uint64_t	 t_sent;
	uint64_t	 t_verified;
	uint64_t	 t_failed;	/* connections that went wrong */
};

static unsigned char		*pat, *xpat;
static struct sockaddr_in	 soak_addr;
static struct soak_totals	 tot;
static uint64_t			 rng = 0x2545f4914f6cdd1dULL;

static int64_t	soak_now_ms(void);
static uint64_t	soak_rand(uint64_t);
static void	soak_open(struct slot *);
static void	soak_end(struct slot *, int, const char *);
static short	soak_events(const struct slot *, int64_t);
static void	soak_connected(struct slot *);
static void	soak_write(struct slot *);
static void	soak_read(struct slot *, int64_t);
static void	soak_step(struct slot *, int64_t);
static void	soak_usage(void);
static void	soak_args(int, char **, int *, int *, int *,
		    enum transform_mode *);
static int	soak_poll_set(struct slot *, struct pollfd *, int, int64_t,
		    int64_t);
static void	soak_ready(struct slot *, const struct pollfd *, int64_t);

static int64_t
soak_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A number in [0, n): xorshift, seeded by --seed. */
static uint64_t
soak_rand(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng % n);
}

/* Start a connection of a random kind in s. */
static void
soak_open(struct slot *s)
{
	static const int	 weights[K_NKINDS] = { 3, 4, 2, 1, 2, 1 };
	int			 w = (int)soak_rand(13), k;
	int			 rcvbuf = 65536;

	for (k = 0; w >= weights[k]; k++)
		w -= weights[k];
	memset(s, 0, sizeof(*s));
	s->s_kind = (enum soak_kind)k;
	s->s_off = (size_t)soak_rand(PATTERN_LEN);
	s->s_start = soak_now_ms();
	switch (s->s_kind) {
	case K_PINGPONG:
		s->s_msg = 1 + (size_t)soak_rand(512);
		s->s_want = s->s_msg * (1 + (size_t)soak_rand(20));
		break;
	case K_STREAM:
		s->s_want = 1 + (size_t)soak_rand(1 << 20);
		break;
	case K_SLOW:
		s->s_want = 16384 + (size_t)soak_rand(65536);
		break;
	case K_RESET:
		s->s_want = 1 + (size_t)soak_rand(65536);
		break;
	case K_NOREAD:
		s->s_want = (size_t)soak_rand(16 << 20);
		s->s_wake = s->s_start + 200 + (int64_t)soak_rand(1800);
		break;
	default:
		break;
	}
	s->s_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s->s_fd == -1) {
		soak_end(s, 1, "socket");
		return;
	}
	tot.t_conns[s->s_kind]++;
	/*
	 * A small receive buffer, so that what a client that never reads
	 * leaves unread fills iod's max_pending_bytes, not the kernel.
	 */
	if (s->s_kind == K_NOREAD)
		setsockopt(s->s_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (connect(s->s_fd, (struct sockaddr *)&soak_addr,
	    sizeof(soak_addr)) == -1 && errno != EINPROGRESS)
		soak_end(s, 1, "connect");
}

/* Close s; a failure is counted and said, with errno's reason. */
static void
soak_end(struct slot *s, int failed, const char *why)
{
	struct linger	lg = { 1, 0 };

	if (failed) {
		tot.t_failed++;
		fprintf(stderr, "iod-soak: %s connection: %s (sent %zu of "
		    "%zu, got %zu): %s\n", soak_kind_names[s->s_kind], why,
		    s->s_sent, s->s_want, s->s_got, strerror(errno));
	}
	if (s->s_fd != -1) {
		if (!failed && s->s_kind == K_RESET)
			setsockopt(s->s_fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
		close(s->s_fd);
	}
	s->s_fd = -1;
}

/* What s waits for now. */
static short
soak_events(const struct slot *s, int64_t now)
{
	short	ev = 0;

	if (!s->s_connected)
		return (POLLOUT);
	if (s->s_sent < s->s_want && !(s->s_kind == K_PINGPONG &&
	    s->s_got < s->s_sent))
		ev |= POLLOUT;
	if (s->s_kind != K_NOREAD && !(s->s_kind == K_SLOW &&
	    now < s->s_wake))
		ev |= POLLIN;
	return (ev);
}

/* The connection of s is made, or failed. */
static void
soak_connected(struct slot *s)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(s->s_fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		errno = err;
		soak_end(s, 1, "connect");
		return;
	}
	s->s_connected = 1;
	if (s->s_kind == K_CLOSE)
		soak_end(s, 0, NULL);
}

/* Send what s may send now: a pingpong message at a time. */
static void
soak_write(struct slot *s)
{
	const unsigned char	*p = pat + s->s_off + s->s_sent;
	size_t			 len = s->s_want - s->s_sent;
	ssize_t			 n;

	if (s->s_kind == K_PINGPONG)
		len = s->s_msg - s->s_sent % s->s_msg;
	/* What is never read back need not be a window: go round. */
	if (s->s_kind == K_NOREAD) {
		p = pat + s->s_sent % PATTERN_LEN;
		if (len > 65536)
			len = 65536;
	}
	n = send(s->s_fd, p, len, MSG_NOSIGNAL);
	if (n == -1 && errno != EAGAIN)
		soak_end(s, 1, "send");
	else if (n > 0) {
		s->s_sent += (size_t)n;
		tot.t_sent += (uint64_t)n;
	}
}

/* Read what iod sent s and compare it with what it must send. */
static void
soak_read(struct slot *s, int64_t now)
{
	unsigned char	 buf[65536];
	size_t		 len = sizeof(buf);
	ssize_t		 n;

	if (s->s_kind == K_SLOW) {
		len = SOAK_SLOW_READ;
		s->s_wake = now + SOAK_SLOW_MS;
	}
	if ((n = recv(s->s_fd, buf, len, 0)) == -1) {
		if (errno != EAGAIN)
			soak_end(s, 1, "recv");
		return;
	}
	if (n == 0) {
		errno = 0;
		if (s->s_shut && s->s_got == s->s_want)
			soak_end(s, 0, NULL);
		else
			soak_end(s, 1, "EOF too early");
		return;
	}
	if (s->s_got + (size_t)n > s->s_sent) {
		errno = 0;
		soak_end(s, 1, "more bytes back than sent");
		return;
	}
	if (memcmp(buf, xpat + s->s_off + s->s_got, (size_t)n) != 0) {
		errno = 0;
		soak_end(s, 1, "a wrong byte back");
		return;
	}
	s->s_got += (size_t)n;
	tot.t_verified += (uint64_t)n;
}

/* After I/O: end s when its kind is done. */
static void
soak_step(struct slot *s, int64_t now)
{
	if (s->s_fd == -1 || !s->s_connected)
		return;
	switch (s->s_kind) {
	case K_PINGPONG:
	case K_SLOW:
		if (s->s_got == s->s_want)
			soak_end(s, 0, NULL);
		break;
	case K_STREAM:
		if (s->s_sent == s->s_want && !s->s_shut) {
			if (shutdown(s->s_fd, SHUT_WR) == -1)
				soak_end(s, 1, "shutdown");
			s->s_shut = 1;
		}
		break;
	case K_RESET:
		if (s->s_sent == s->s_want && s->s_got >= s->s_want / 2)
			soak_end(s, 0, NULL);
		break;
	case K_NOREAD:
		if (now >= s->s_wake)
			soak_end(s, 0, NULL);
		break;
	default:
		break;
	}
}

static void
soak_usage(void)
{
	fprintf(stderr, "usage: iod-soak --port PORT [--seconds S] "
	    "[--conns N] [--seed X] [--echo]\n");
	exit(2);
}

/* Read the command line into *port, *secs, *n and mode; exit 2 if bad. */
static void
soak_args(int argc, char **argv, int *port, int *secs, int *n,
    enum transform_mode *mode)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 'r' },
		{ "echo", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			*port = atoi(optarg);
			break;
		case 's':
			*secs = atoi(optarg);
			break;
		case 'n':
			*n = atoi(optarg);
			break;
		case 'r':
			rng ^= strtoull(optarg, NULL, 0);
			break;
		case 'e':
			*mode = TRANSFORM_ECHO;
			break;
		default:
			soak_usage();
		}
	}
	if (*port <= 0 || *port > 65535 || *secs < 0 || *n < 1 ||
	    *n > SOAK_MAXSLOTS || optind != argc)
		soak_usage();
}

/*
 * Fill pfd for the n slots: open new connections until stop, fail those
 * open too long.  Return how many are open.
 */
static int
soak_poll_set(struct slot *slots, struct pollfd *pfd, int n, int64_t now,
    int64_t stop)
{
	int	i, live = 0;

	for (i = 0; i < n; i++) {
		if (slots[i].s_fd == -1 && now < stop)
			soak_open(&slots[i]);
		if (slots[i].s_fd != -1 &&
		    now - slots[i].s_start > SOAK_STUCK_MS) {
			errno = 0;
			soak_end(&slots[i], 1, "still open after 60 s");
		}
		pfd[i].fd = slots[i].s_fd;
		pfd[i].events = slots[i].s_fd == -1 ? 0 :
		    soak_events(&slots[i], now);
		pfd[i].revents = 0;
		live += slots[i].s_fd != -1;
	}
	return (live);
}

/* Act on what poll() said about slot s. */
static void
soak_ready(struct slot *s, const struct pollfd *p, int64_t now)
{
	if (s->s_fd != -1 && p->revents != 0) {
		if (!s->s_connected) {
			soak_connected(s);
			return;
		}
		if (p->revents & (POLLIN | POLLHUP | POLLERR) &&
		    p->events & POLLIN)
			soak_read(s, now);
		if (s->s_fd != -1 && p->revents & POLLOUT)
			soak_write(s);
	}
	soak_step(s, now);
}

int
main(int argc, char **argv)
{
	static struct slot	 slots[SOAK_MAXSLOTS];
	static struct pollfd	 pfd[SOAK_MAXSLOTS];
	enum transform_mode	 mode = TRANSFORM_UPPER;
	int64_t			 now, stop;
	int			 port = 0, secs = 10, n = 32, i, k;

	soak_args(argc, argv, &port, &secs, &n, &mode);
	if (pattern_make(mode, SOAK_SLACK, &pat, &xpat) == -1) {
		fprintf(stderr, "iod-soak: out of memory\n");
		return (1);
	}
	soak_addr.sin_family = AF_INET;
	soak_addr.sin_port = htons((uint16_t)port);
	soak_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++)
		slots[i].s_fd = -1;

	stop = soak_now_ms() + (int64_t)secs * 1000;
	while (soak_poll_set(slots, pfd, n, soak_now_ms(), stop) > 0 ||
	    soak_now_ms() < stop) {
		if (poll(pfd, (nfds_t)n, SOAK_SLOW_MS) == -1 &&
		    errno != EINTR) {
			perror("iod-soak: poll");
			return (1);
		}
		now = soak_now_ms();
		for (i = 0; i < n; i++)
			soak_ready(&slots[i], &pfd[i], now);
	}
	printf("iod-soak: connections");
	for (k = 0; k < K_NKINDS; k++)
		printf(" %s=%" PRIu64, soak_kind_names[k], tot.t_conns[k]);
	printf(" sent=%" PRIu64 " verified=%" PRIu64 " failed=%" PRIu64 "\n",
	    tot.t_sent, tot.t_verified, tot.t_failed);
	return (tot.t_failed == 0 ? 0 : 1);
}
