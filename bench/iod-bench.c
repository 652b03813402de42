/*
 * iod-bench: a load generator for iod and the floor server.  It opens
 * --conns connections spread over --threads threads (one epoll loop each),
 * sends pseudo-random bytes, checks every byte that comes back against the
 * transform of what was sent, and reports throughput, latency and the
 * server's CPU time and memory.  Exit 0: every byte verified; 1: a byte
 * was wrong, lost or cut off; 2: usage or setup error; 3: the server
 * closed connections before answering a byte (it refused them).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"
#include "procstat.h"
#include "report.h"
#include "transform.h"

#define EX_VERIFY	1
#define EX_SETUP	2
#define EX_REFUSED	3

/*
 * Every connection sends a window of one shared random pattern, starting
 * at its own offset, so nothing is generated per byte: sends point into
 * the pattern and replies are compared with memcmp against the pattern
 * transformed once at start.  The buffers run CHUNK bytes past PAT_LEN
 * with the pattern's start again, so any CHUNK-sized window is contiguous.
 * PAT_LEN is odd so that message boundaries drift over the pattern.
 */
#define PAT_LEN		((1 << 20) + 7)
#define CHUNK		(256 * 1024)
#define MAX_PENDING	256	/* connects in progress per thread */
#define DRAIN_SECS	15	/* bound on waiting for owed bytes at the end */
#define MAX_DURATION	600
#define MAX_SIZE	(16 * 1024 * 1024)
#define MAX_DEPTH	1024
#define MAX_THREADS	64
#define MAX_CONNS	1000000

enum bench_mode { MODE_PINGPONG, MODE_STREAM, MODE_IDLE };
enum bconn_state { BC_CONNECTING, BC_OPEN, BC_SHUT, BC_DONE };

struct opts {
	enum bench_mode		 o_mode;
	enum transform_mode	 o_xf;
	int			 o_conns;
	size_t			 o_size;
	int			 o_depth;
	int			 o_duration;
	int			 o_threads;
	int			 o_src_ips;
	int			 o_json;
	pid_t			 o_server;
	struct in_addr		 o_host;
	int			 o_port;
};

struct bconn {
	int			 c_fd;
	int			 c_id;
	enum bconn_state	 c_state;
	int			 c_wantout;	/* EPOLLOUT is armed */
	size_t			 c_base;	/* offset in the pattern */
	uint64_t		 c_tx;		/* bytes sent */
	uint64_t		 c_txgoal;	/* bytes to send so far */
	uint64_t		 c_rx;		/* bytes received and verified */
	uint64_t		 c_done;	/* messages answered in full */
	uint64_t		*c_sent_ns;	/* send times, ring of depth */
};

struct bthread {
	pthread_t	 t_thread;
	int		 t_idx;
	int		 t_ep;
	struct bconn	*t_conns;
	int		 t_nconns;
	int		 t_nopen;	/* connected (and, idle, answered once) */
	int		 t_nstarted;
	int		 t_npending;
	int		 t_nfinished;
	unsigned char	*t_buf;
	struct hist	 t_hist;
	uint64_t	 t_rtts;
	uint64_t	 t_bytes_out;
	uint64_t	 t_bytes_in;
	int		 t_measuring;
	int		 t_draining;	/* finish connections owed nothing */
};

static struct opts		 opt;
static unsigned char		*pattern, *xpattern;
static pthread_barrier_t	 barrier;
static atomic_int		 running = 1;	/* cleared once, by main */

static _Noreturn void	usage(int);
static _Noreturn void	die(int, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
static uint64_t		now_ns(void);
static void		parse_args(int, char **);
static void		pattern_init(void);
static void		bconn_start(struct bthread *, struct bconn *);
static void		bconn_connected(struct bthread *, struct bconn *);
static void		bconn_issue(struct bconn *);
static void		bconn_flush(struct bthread *, struct bconn *);
static void		bconn_arm(struct bthread *, struct bconn *, int);
static void		bconn_read(struct bthread *, struct bconn *);
static void		bconn_verify(struct bconn *, const unsigned char *,
			    size_t);
static void		bconn_answered(struct bthread *, struct bconn *);
static void		bconn_eof(struct bthread *, struct bconn *, int);
static void		bconn_finish(struct bthread *, struct bconn *);
static void		bthread_poll(struct bthread *, int);
static void		bthread_connect_all(struct bthread *);
static void		bthread_drain(struct bthread *);
static void		*bthread_main(void *);
static long		num_arg(const char *, const char *, long, long);
static struct bthread	*setup_threads(void);
static void		raise_nofile(void);
static void		sample(struct procstat *);
static void		client_cpu(double *);
static void		report(struct bthread *, double, double,
			    const struct procstat *, const struct procstat *,
			    const struct procstat *);
static const char	*mode_name(void);

/* Print the usage and exit with status. */
static _Noreturn void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: iod-bench [--json] [--mode upper|echo] [--conns N] "
	    "[--size BYTES]\n"
	    "                 [--depth N] [--duration SECS] [--threads N] "
	    "[--src-ips K]\n"
	    "                 [--host 127.0.0.1] [--server-pid PID] "
	    "--port PORT\n"
	    "                 pingpong|stream|idle\n");
	exit(status);
}

/* Say what went wrong, with the program's name, and exit with status. */
static _Noreturn void
die(int status, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "iod-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Return the monotonic clock in nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

/* Return the integer in s if it lies in [min, max], else exit. */
static long
num_arg(const char *name, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		die(EX_SETUP, "--%s must be between %ld and %ld (got %s)",
		    name, min, max, s);
	return (v);
}

/* Fill opt from the command line. */
static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'D' },
		{ "duration", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "src-ips", required_argument, NULL, 'S' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long	ncpu;
	int	ch;

	opt.o_xf = TRANSFORM_UPPER;
	opt.o_conns = 1;
	opt.o_size = 64;
	opt.o_depth = 1;
	opt.o_duration = 10;
	opt.o_threads = 1;
	opt.o_src_ips = 1;
	opt.o_port = -1;
	inet_pton(AF_INET, "127.0.0.1", &opt.o_host);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt.o_conns = (int)num_arg("conns", optarg, 1,
			    MAX_CONNS);
			break;
		case 's':
			opt.o_size = (size_t)num_arg("size", optarg, 1,
			    MAX_SIZE);
			break;
		case 'D':
			opt.o_depth = (int)num_arg("depth", optarg, 1,
			    MAX_DEPTH);
			break;
		case 'd':
			opt.o_duration = (int)num_arg("duration", optarg, 1,
			    MAX_DURATION);
			break;
		case 't':
			opt.o_threads = (int)num_arg("threads", optarg, 1,
			    ncpu < MAX_THREADS ? ncpu : MAX_THREADS);
			break;
		case 'H':
			if (inet_pton(AF_INET, optarg, &opt.o_host) != 1)
				die(EX_SETUP, "--host takes a numeric IPv4 "
				    "address (got %s)", optarg);
			break;
		case 'p':
			opt.o_port = (int)num_arg("port", optarg, 1, 65535);
			break;
		case 'm':
			if (strcmp(optarg, "upper") == 0)
				opt.o_xf = TRANSFORM_UPPER;
			else if (strcmp(optarg, "echo") == 0)
				opt.o_xf = TRANSFORM_ECHO;
			else
				die(EX_SETUP, "--mode is upper or echo "
				    "(got %s)", optarg);
			break;
		case 'S':
			opt.o_src_ips = (int)num_arg("src-ips", optarg, 1, 254);
			break;
		case 'P':
			opt.o_server = (pid_t)num_arg("server-pid", optarg, 1,
			    4194304);
			break;
		case 'j':
			opt.o_json = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(EX_SETUP);
		}
	}
	if (optind != argc - 1 || opt.o_port == -1)
		usage(EX_SETUP);
	if (strcmp(argv[optind], "pingpong") == 0)
		opt.o_mode = MODE_PINGPONG;
	else if (strcmp(argv[optind], "stream") == 0)
		opt.o_mode = MODE_STREAM;
	else if (strcmp(argv[optind], "idle") == 0)
		opt.o_mode = MODE_IDLE;
	else
		usage(EX_SETUP);
	if (opt.o_threads > opt.o_conns)
		opt.o_threads = opt.o_conns;
}

/*
 * Fill the pattern with bytes from a fixed-seed xorshift generator (every
 * value 0-255 appears), then transform a copy with the real transform:
 * the reference is the one iod links.
 */
static void
pattern_init(void)
{
	uint64_t	x = 0x9e3779b97f4a7c15ULL;
	size_t		i;

	if ((pattern = malloc(PAT_LEN + CHUNK)) == NULL ||
	    (xpattern = malloc(PAT_LEN + CHUNK)) == NULL)
		die(EX_SETUP, "out of memory");
	for (i = 0; i < PAT_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pattern[i] = (unsigned char)(x >> 56);
	}
	memcpy(pattern + PAT_LEN, pattern, CHUNK);
	memcpy(xpattern, pattern, PAT_LEN + CHUNK);
	transform_apply(opt.o_xf, xpattern, PAT_LEN + CHUNK);
}

/*
 * Start a nonblocking connect from 127.0.0.(1 + id % K).
 * IP_BIND_ADDRESS_NO_PORT defers the choice of local port to connect,
 * so each source address gets its own range of ephemeral ports.
 */
static void
bconn_start(struct bthread *t, struct bconn *c)
{
	struct sockaddr_in	 src, dst;
	struct epoll_event	 ev;
	int			 one = 1;

	c->c_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->c_fd == -1)
		die(EX_SETUP, "socket: %s (raise the open file limit?)",
		    strerror(errno));
	setsockopt(c->c_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt.o_src_ips > 1) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000001 +
		    (uint32_t)(c->c_id % opt.o_src_ips));
		setsockopt(c->c_fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(c->c_fd, (struct sockaddr *)&src, sizeof(src)) == -1)
			die(EX_SETUP, "bind %s: %s", inet_ntoa(src.sin_addr),
			    strerror(errno));
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_addr = opt.o_host;
	dst.sin_port = htons((uint16_t)opt.o_port);
	if (connect(c->c_fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
	    errno != EINPROGRESS)
		die(EX_SETUP, "connection %d: connect: %s%s", c->c_id,
		    strerror(errno), errno == EADDRNOTAVAIL ?
		    " (out of source ports: use --src-ips)" : "");
	c->c_state = BC_CONNECTING;
	c->c_wantout = 1;
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(t->t_ep, EPOLL_CTL_ADD, c->c_fd, &ev) == -1)
		die(EX_SETUP, "epoll_ctl: %s", strerror(errno));
	t->t_npending++;
	t->t_nstarted++;
}

/* The connect finished: check it worked and send the first messages. */
static void
bconn_connected(struct bthread *t, struct bconn *c)
{
	socklen_t	len = sizeof(int);
	int		err = 0, i;

	getsockopt(c->c_fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err != 0)
		die(EX_SETUP, "connection %d: connect: %s", c->c_id,
		    strerror(err));
	t->t_npending--;
	c->c_state = BC_OPEN;
	switch (opt.o_mode) {
	case MODE_PINGPONG:
		t->t_nopen++;
		for (i = 0; i < opt.o_depth; i++)
			bconn_issue(c);
		break;
	case MODE_STREAM:
		t->t_nopen++;
		c->c_txgoal = UINT64_MAX;
		break;
	case MODE_IDLE:
		bconn_issue(c);	/* counted open once answered */
		break;
	}
	bconn_flush(t, c);
}

/* Queue one more message of --size bytes and note when it left. */
static void
bconn_issue(struct bconn *c)
{
	uint64_t	n = c->c_txgoal / opt.o_size;

	c->c_sent_ns[n % (uint64_t)opt.o_depth] = now_ns();
	c->c_txgoal += opt.o_size;
}

/* Write what is owed straight from the pattern until the socket is full. */
static void
bconn_flush(struct bthread *t, struct bconn *c)
{
	size_t	pos, len;
	ssize_t	n;

	while (c->c_tx < c->c_txgoal && c->c_state == BC_OPEN) {
		pos = (size_t)((c->c_base + c->c_tx) % PAT_LEN);
		len = c->c_txgoal - c->c_tx < CHUNK ?
		    (size_t)(c->c_txgoal - c->c_tx) : CHUNK;
		n = send(c->c_fd, pattern + pos, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				bconn_arm(t, c, 1);
				return;
			}
			bconn_eof(t, c, errno);
			return;
		}
		c->c_tx += (uint64_t)n;
		if (t->t_measuring)
			t->t_bytes_out += (uint64_t)n;
	}
	bconn_arm(t, c, 0);
}

/* Watch for writability only while there is something to write. */
static void
bconn_arm(struct bthread *t, struct bconn *c, int out)
{
	struct epoll_event	ev;

	if (c->c_wantout == out)
		return;
	c->c_wantout = out;
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(t->t_ep, EPOLL_CTL_MOD, c->c_fd, &ev) == -1)
		die(EX_SETUP, "epoll_ctl: %s", strerror(errno));
}

/* Read what has arrived, verify it and act on answered messages. */
static void
bconn_read(struct bthread *t, struct bconn *c)
{
	ssize_t	n;

	for (;;) {
		n = recv(c->c_fd, t->t_buf, CHUNK, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			bconn_eof(t, c, n == 0 ? 0 : errno);
			return;
		}
		bconn_verify(c, t->t_buf, (size_t)n);
		if (t->t_measuring)
			t->t_bytes_in += (uint64_t)n;
		if (opt.o_mode != MODE_STREAM)
			bconn_answered(t, c);
		if ((size_t)n < CHUNK)
			return;
	}
}

/*
 * Compare len received bytes with the transform of what was sent at the
 * same offset; stop the run at the first difference or excess byte.
 */
static void
bconn_verify(struct bconn *c, const unsigned char *buf, size_t len)
{
	const unsigned char	*want;
	size_t			 pos, i;

	if (c->c_rx + len > c->c_tx)
		die(EX_VERIFY, "connection %d: received %zu bytes at offset "
		    "%llu but only %llu were sent", c->c_id, len,
		    (unsigned long long)c->c_rx, (unsigned long long)c->c_tx);
	pos = (size_t)((c->c_base + c->c_rx) % PAT_LEN);
	want = xpattern + pos;
	if (memcmp(buf, want, len) != 0) {
		for (i = 0; buf[i] == want[i]; i++)
			;
		die(EX_VERIFY, "connection %d: byte %llu is 0x%02x, expected "
		    "0x%02x (sent 0x%02x)", c->c_id,
		    (unsigned long long)(c->c_rx + i), buf[i], want[i],
		    pattern[pos + i]);
	}
	c->c_rx += len;
}

/* Time every message now answered in full and, if running, send more. */
static void
bconn_answered(struct bthread *t, struct bconn *c)
{
	uint64_t	done = c->c_rx / opt.o_size, now;

	if (done == c->c_done)
		return;
	now = now_ns();
	for (; c->c_done < done; c->c_done++) {
		if (t->t_measuring || opt.o_mode == MODE_IDLE) {
			hist_add(&t->t_hist, now -
			    c->c_sent_ns[c->c_done % (uint64_t)opt.o_depth]);
			t->t_rtts += t->t_measuring;
		}
		if (opt.o_mode == MODE_IDLE)
			t->t_nopen++;
		else if (running)
			bconn_issue(c);
	}
	bconn_flush(t, c);
	if (t->t_draining && c->c_rx == c->c_txgoal)
		bconn_finish(t, c);
}

/*
 * The server closed or reset the connection (err is 0 for EOF).  That is
 * expected only after we shut down our side and got every byte back.
 */
static void
bconn_eof(struct bthread *t, struct bconn *c, int err)
{
	if (c->c_state == BC_SHUT && c->c_rx == c->c_tx && err == 0) {
		close(c->c_fd);
		c->c_state = BC_DONE;
		t->t_nfinished++;
		return;
	}
	if (c->c_rx == 0)
		die(EX_REFUSED, "connection %d: server %s it before answering "
		    "a byte (refused)", c->c_id, err ? "reset" : "closed");
	die(EX_VERIFY, "connection %d: unexpected %s after %llu of %llu "
	    "bytes came back", c->c_id, err ? strerror(err) : "EOF",
	    (unsigned long long)c->c_rx, (unsigned long long)c->c_tx);
}

/* Stop sending: shut our side so the server closes once it owes nothing. */
static void
bconn_finish(struct bthread *t, struct bconn *c)
{
	if (c->c_state != BC_OPEN)
		return;
	c->c_txgoal = c->c_tx;
	bconn_arm(t, c, 0);
	if (shutdown(c->c_fd, SHUT_WR) == -1)
		bconn_eof(t, c, errno);
	c->c_state = BC_SHUT;
}

/* Wait up to ms for events and handle them. */
static void
bthread_poll(struct bthread *t, int ms)
{
	struct epoll_event	 evs[256];
	struct bconn		*c;
	int			 n, i;

	n = epoll_wait(t->t_ep, evs, 256, ms);
	if (n == -1 && errno != EINTR)
		die(EX_SETUP, "epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		c = evs[i].data.ptr;
		if (c->c_state == BC_DONE)
			continue;
		if (c->c_state == BC_CONNECTING) {
			bconn_connected(t, c);
			continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			bconn_read(t, c);
		if (c->c_state == BC_OPEN && (evs[i].events & EPOLLOUT))
			bconn_flush(t, c);
	}
}

/* Open every connection of the thread, a bounded number at a time. */
static void
bthread_connect_all(struct bthread *t)
{
	uint64_t	deadline = now_ns() + 60ULL * 1000000000ULL;

	while (t->t_nopen < t->t_nconns) {
		while (t->t_nstarted < t->t_nconns &&
		    t->t_npending < MAX_PENDING)
			bconn_start(t, &t->t_conns[t->t_nstarted]);
		bthread_poll(t, 100);
		if (now_ns() > deadline)
			die(EX_VERIFY, "only %d of %d connections ready after "
			    "60 s", t->t_nopen, t->t_nconns);
	}
}

/*
 * The run is over: every connection stops sending, waits for what it is
 * owed, shuts down its side and waits for the server's EOF.  Bytes still
 * missing after DRAIN_SECS were lost.
 */
static void
bthread_drain(struct bthread *t)
{
	struct bconn	*c;
	uint64_t	 deadline = now_ns() + DRAIN_SECS * 1000000000ULL;
	uint64_t	 owed = 0;
	int		 i;

	t->t_draining = 1;
	for (i = 0; i < t->t_nconns; i++) {
		c = &t->t_conns[i];
		if (opt.o_mode == MODE_STREAM || c->c_rx == c->c_txgoal)
			bconn_finish(t, c);
	}
	while (t->t_nfinished < t->t_nconns && now_ns() < deadline)
		bthread_poll(t, 100);
	if (t->t_nfinished == t->t_nconns)
		return;
	for (i = 0; i < t->t_nconns; i++)
		owed += t->t_conns[i].c_tx - t->t_conns[i].c_rx;
	die(EX_VERIFY, "%d connections not closed cleanly %d s after the "
	    "end; %llu bytes sent never came back", t->t_nconns -
	    t->t_nfinished, DRAIN_SECS, (unsigned long long)owed);
}

/* A thread's life: connect, wait for the others, run, drain. */
static void *
bthread_main(void *arg)
{
	struct bthread	*t = arg;

	bthread_connect_all(t);
	pthread_barrier_wait(&barrier);	/* every connection is ready */
	t->t_measuring = 1;
	pthread_barrier_wait(&barrier);	/* the server has been sampled */
	while (running)
		bthread_poll(t, 50);
	t->t_measuring = 0;
	pthread_barrier_wait(&barrier);	/* every thread stopped counting */
	pthread_barrier_wait(&barrier);	/* the server has been sampled */
	bthread_drain(t);
	return (NULL);
}

/* Set up the threads and their connections. */
static struct bthread *
setup_threads(void)
{
	struct bthread	*ts, *t;
	int		 i, j, id = 0;

	if ((ts = calloc((size_t)opt.o_threads, sizeof(*ts))) == NULL)
		die(EX_SETUP, "out of memory");
	for (i = 0; i < opt.o_threads; i++) {
		t = &ts[i];
		t->t_idx = i;
		t->t_nconns = opt.o_conns / opt.o_threads +
		    (i < opt.o_conns % opt.o_threads);
		t->t_conns = calloc((size_t)t->t_nconns, sizeof(*t->t_conns));
		t->t_buf = malloc(CHUNK);
		if ((t->t_ep = epoll_create1(0)) == -1)
			die(EX_SETUP, "epoll_create1: %s", strerror(errno));
		if (t->t_conns == NULL || t->t_buf == NULL)
			die(EX_SETUP, "out of memory");
		for (j = 0; j < t->t_nconns; j++, id++) {
			t->t_conns[j].c_id = id;
			t->t_conns[j].c_fd = -1;
			t->t_conns[j].c_base = ((size_t)id * 40503) % PAT_LEN;
			t->t_conns[j].c_sent_ns = calloc((size_t)opt.o_depth,
			    sizeof(uint64_t));
			if (t->t_conns[j].c_sent_ns == NULL)
				die(EX_SETUP, "out of memory");
		}
	}
	return (ts);
}

/* Raise the open file limit to fit every connection. */
static void
raise_nofile(void)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)opt.o_conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want)
		die(EX_SETUP, "%d connections need %llu descriptors; the hard "
		    "limit is %llu", opt.o_conns, (unsigned long long)want,
		    (unsigned long long)rl.rlim_max);
	rl.rlim_cur = want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* Sample the server, or leave the sample zeroed without --server-pid. */
static void
sample(struct procstat *ps)
{
	memset(ps, 0, sizeof(*ps));
	if (opt.o_server != 0 && procstat_read(opt.o_server, ps) == -1)
		die(EX_SETUP, "server %d is gone", (int)opt.o_server);
}

/* Return the CPU seconds this process has used so far. */
static void
client_cpu(double *secs)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	*secs = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Return the name of the mode for the outputs. */
static const char *
mode_name(void)
{
	switch (opt.o_mode) {
	case MODE_PINGPONG:
		return ("pingpong");
	case MODE_STREAM:
		return ("stream");
	case MODE_IDLE:
		return ("idle");
	}
	return ("?");
}

/* Total the threads' counters and the server samples, then print them. */
static void
report(struct bthread *ts, double secs, double ccpu,
    const struct procstat *before, const struct procstat *start,
    const struct procstat *end)
{
	static struct result	r;
	int			i;

	r.r_mode = mode_name();
	r.r_expect = opt.o_xf == TRANSFORM_UPPER ? "upper" : "echo";
	r.r_conns = opt.o_conns;
	r.r_size = opt.o_size;
	r.r_depth = opt.o_depth;
	r.r_threads = opt.o_threads;
	r.r_secs = secs;
	r.r_client_cpu = ccpu;
	for (i = 0; i < opt.o_threads; i++) {
		r.r_rtts += ts[i].t_rtts;
		r.r_out += ts[i].t_bytes_out;
		r.r_in += ts[i].t_bytes_in;
		hist_merge(&r.r_hist, &ts[i].t_hist);
	}
	if (opt.o_server != 0) {
		r.r_server = 1;
		r.r_server_cpu = procstat_cpu(end) - procstat_cpu(start);
		r.r_rss_before = before->ps_rss_kb + before->ps_child_rss_kb;
		r.r_rss_after = end->ps_rss_kb + end->ps_child_rss_kb;
		r.r_child_rss = end->ps_child_rss_kb;
		r.r_children = end->ps_children;
	}
	if (opt.o_json)
		report_json(&r);
	else
		report_table(&r);
}

/* Run the benchmark: connect, measure for --duration, drain, report. */
int
main(int argc, char **argv)
{
	struct bthread	*ts;
	struct procstat	 before, start, end;
	uint64_t	 t0, t1;
	double		 c0, c1;
	int		 i;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	pattern_init();
	ts = setup_threads();
	sample(&before);
	pthread_barrier_init(&barrier, NULL, (unsigned)opt.o_threads + 1);
	for (i = 0; i < opt.o_threads; i++)
		if (pthread_create(&ts[i].t_thread, NULL, bthread_main,
		    &ts[i]) != 0)
			die(EX_SETUP, "pthread_create failed");
	pthread_barrier_wait(&barrier);
	sample(&start);
	t0 = now_ns();
	pthread_barrier_wait(&barrier);
	client_cpu(&c0);
	sleep((unsigned)opt.o_duration);
	running = 0;
	pthread_barrier_wait(&barrier);
	t1 = now_ns();
	client_cpu(&c1);
	sample(&end);
	pthread_barrier_wait(&barrier);
	for (i = 0; i < opt.o_threads; i++)
		pthread_join(ts[i].t_thread, NULL);
	report(ts, (double)(t1 - t0) / 1e9, c1 - c0, &before, &start, &end);
	return (0);
}
