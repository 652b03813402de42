/*
 * iod-bench: a load generator for iod and the floor server.  It opens
 * --conns connections spread over --threads threads (one epoll loop each)
 * in each of --procs processes (as many as the open-file limit needs),
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

#include "fanout.h"
#include "hist.h"
#include "limits.h"
#include "opts.h"
#include "pattern.h"
#include "procstat.h"
#include "report.h"
#include "sockstat.h"
#include "transform.h"

#define EX_VERIFY	1
#define EX_SETUP	2
#define EX_REFUSED	3

#define CHUNK		(256 * 1024)	/* most bytes per read or write */
#define MAX_PENDING	256	/* connects in progress per thread */
#define DRAIN_SECS	15	/* bound on waiting for owed bytes at the end */
#define CONNECT_SECS	60	/* bound on opening every connection */

enum bconn_state { BC_CONNECTING, BC_OPEN, BC_SHUT, BC_DONE };

/*
 * The steps every process goes through together: every connection is
 * open; the measured window runs; the window is over.  The controlling
 * process (the only one, or the parent of --procs children) samples the
 * server at each of them.
 */
enum step { STEP_OPEN, STEP_WINDOW, STEP_STOPPED };

/* What the controlling process measures around the window. */
struct control {
	struct procstat	 ct_before, ct_start, ct_end;
	struct sockstat	 ct_ss_before, ct_ss_after;
	int		 ct_kernel;	/* both sockstat samples worked */
	uint64_t	 ct_t0, ct_t1;
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
static int			 nthreads;	/* in this process */
static struct control		 ctl;
static struct fanout		*fan;		/* with --procs above 1 */
static int			 child = -1;	/* which child this is */

static _Noreturn void	die(int, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
static uint64_t		now_ns(void);
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
static _Noreturn void	bthread_late(struct bthread *);
static void		bthread_drain(struct bthread *);
static void		*bthread_main(void *);
static struct bthread	*setup_threads(int, int);
static void		sample(struct procstat *);
static void		client_cpu(double *);
static void		control_step(enum step);
static void		step(enum step);
static void		run_threads(struct bthread *, struct result *);
static _Noreturn void	run_child(int);
static void		parent_check(int, const char *);
static void		run_parent(struct result *);
static void		merge(struct result *, const struct result *);
static void		report(struct result *);

/*
 * Say what went wrong, with the program's name, and exit with status.
 * The line goes out in one write, so that the lines of several processes
 * do not mix.
 */
static _Noreturn void
die(int status, const char *fmt, ...)
{
	char	line[512];
	va_list	ap;
	int	n;

	n = snprintf(line, sizeof(line), "iod-bench: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
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
		die(EX_SETUP, "connection %d: socket: %s%s", c->c_id,
		    strerror(errno), errno == EMFILE ? " (RLIMIT_NOFILE: "
		    "use more --procs)" : "");
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
		pos = (size_t)((c->c_base + c->c_tx) % PATTERN_LEN);
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
	pos = (size_t)((c->c_base + c->c_rx) % PATTERN_LEN);
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
	uint64_t	deadline = now_ns() + CONNECT_SECS * 1000000000ULL;

	while (t->t_nopen < t->t_nconns) {
		while (t->t_nstarted < t->t_nconns &&
		    t->t_npending < MAX_PENDING)
			bconn_start(t, &t->t_conns[t->t_nstarted]);
		bthread_poll(t, 100);
		if (now_ns() > deadline)
			bthread_late(t);
	}
}

/*
 * Some connections are still not ready after CONNECT_SECS.  One that got
 * part of its first answer lost the rest; if none did, the server took
 * no more connections, or never answered them: it refused them (a
 * server out of descriptors leaves them queued unaccepted).
 */
static _Noreturn void
bthread_late(struct bthread *t)
{
	struct bconn	*c;
	int		 i;

	for (i = 0; i < t->t_nconns && opt.o_mode == MODE_IDLE; i++) {
		c = &t->t_conns[i];
		if (c->c_rx > 0 && c->c_done == 0)
			die(EX_VERIFY, "connection %d: %llu of %zu bytes came "
			    "back in %d s", c->c_id,
			    (unsigned long long)c->c_rx, opt.o_size,
			    CONNECT_SECS);
	}
	die(EX_REFUSED, "only %d of %d connections %s after %d s; the "
	    "server answered none of the others (out of descriptors?)",
	    t->t_nopen, t->t_nconns, opt.o_mode == MODE_IDLE ? "answered" :
	    "connected", CONNECT_SECS);
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

/* Set up this process's threads and its n connections, from id first. */
static struct bthread *
setup_threads(int first, int n)
{
	struct bthread	*ts, *t;
	int		 i, j, id = first;

	nthreads = opt.o_threads < n ? opt.o_threads : n;
	if ((ts = calloc((size_t)nthreads, sizeof(*ts))) == NULL)
		die(EX_SETUP, "out of memory");
	for (i = 0; i < nthreads; i++) {
		t = &ts[i];
		t->t_idx = i;
		t->t_nconns = n / nthreads + (i < n % nthreads);
		t->t_conns = calloc((size_t)t->t_nconns, sizeof(*t->t_conns));
		t->t_buf = malloc(CHUNK);
		if ((t->t_ep = epoll_create1(0)) == -1)
			die(EX_SETUP, "epoll_create1: %s", strerror(errno));
		if (t->t_conns == NULL || t->t_buf == NULL)
			die(EX_SETUP, "out of memory");
		for (j = 0; j < t->t_nconns; j++, id++) {
			t->t_conns[j].c_id = id;
			t->t_conns[j].c_fd = -1;
			t->t_conns[j].c_base = ((size_t)id * 40503) %
			    PATTERN_LEN;
			t->t_conns[j].c_sent_ns = calloc((size_t)opt.o_depth,
			    sizeof(uint64_t));
			if (t->t_conns[j].c_sent_ns == NULL)
				die(EX_SETUP, "out of memory");
		}
	}
	return (ts);
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

/* The controlling process's part of step s: sample, time, hold. */
static void
control_step(enum step s)
{
	switch (s) {
	case STEP_OPEN:
		sample(&ctl.ct_start);
		ctl.ct_t0 = now_ns();
		break;
	case STEP_WINDOW:
		sleep((unsigned)opt.o_duration);
		break;
	case STEP_STOPPED:
		ctl.ct_t1 = now_ns();
		sample(&ctl.ct_end);
		if (sockstat_read(&ctl.ct_ss_after) == -1)
			ctl.ct_kernel = 0;
		break;
	}
}

/* Reach step s: alone, do the controller's part; a child waits for it. */
static void
step(enum step s)
{
	if (child == -1)
		control_step(s);
	else if (fanout_sync(fan) == -1)
		die(EX_SETUP, "load generator process %d: the parent is gone",
		    child + 1);
}

/* Run this process's threads through the steps; total them into r. */
static void
run_threads(struct bthread *ts, struct result *r)
{
	double	c0, c1;
	int	i;

	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&ts[i].t_thread, NULL, bthread_main,
		    &ts[i]) != 0)
			die(EX_SETUP, "pthread_create failed");
	pthread_barrier_wait(&barrier);	/* every connection is ready */
	step(STEP_OPEN);
	pthread_barrier_wait(&barrier);	/* the server has been sampled */
	client_cpu(&c0);
	step(STEP_WINDOW);
	running = 0;
	pthread_barrier_wait(&barrier);	/* every thread stopped counting */
	client_cpu(&c1);
	step(STEP_STOPPED);
	pthread_barrier_wait(&barrier);	/* the server has been sampled */
	for (i = 0; i < nthreads; i++) {
		pthread_join(ts[i].t_thread, NULL);
		r->r_rtts += ts[i].t_rtts;
		r->r_out += ts[i].t_bytes_out;
		r->r_in += ts[i].t_bytes_in;
		hist_merge(&r->r_hist, &ts[i].t_hist);
	}
	r->r_client_cpu = c1 - c0;
}

/*
 * Child i's life: run its share of the connections (ids from its first
 * on, so the source addresses and pattern offsets are those of a single
 * process), send the totals up and exit.
 */
static _Noreturn void
run_child(int i)
{
	static struct result	r;
	int			share = opt.o_conns / opt.o_procs;
	int			extra = opt.o_conns % opt.o_procs;

	child = i;
	run_threads(setup_threads(i * share + (i < extra ? i : extra),
	    share + (i < extra)), &r);
	if (fanout_send(fan, &r, sizeof(r)) == -1)
		die(EX_SETUP, "load generator process %d: the parent is gone",
		    i + 1);
	exit(0);
}

/* Pass a child's failure on: end the others and exit with its status. */
static void
parent_check(int code, const char *cause)
{
	if (code == 0)
		return;
	if (fan != NULL)
		fanout_kill(fan);
	if (code == -1)
		die(EX_SETUP, "%s", cause);
	exit(code);	/* the child has said why */
}

/*
 * Fork --procs children, step them through the run together, sampling
 * the server at each step and holding the window while watching them,
 * and total what they send back into r.
 */
static void
run_parent(struct result *r)
{
	static struct result	cr;
	char			cause[FANOUT_CAUSE];
	int			i, s, code;
	const int		secs[] = { CONNECT_SECS + 30, 30, 30 };

	if ((fan = fanout_start(opt.o_procs, &i, cause)) == NULL)
		die(EX_SETUP, "%s", cause);
	if (i >= 0)
		run_child(i);
	for (s = STEP_OPEN; s <= STEP_STOPPED; s++) {
		parent_check(fanout_wait(fan, secs[s], cause), cause);
		if (s == STEP_WINDOW)
			parent_check(fanout_hold(fan, opt.o_duration, cause),
			    cause);
		else
			control_step((enum step)s);
		fanout_release(fan);
	}
	for (i = 0; i < opt.o_procs; i++) {
		memset(&cr, 0, sizeof(cr));
		parent_check(fanout_recv(fan, i, &cr, sizeof(cr),
		    DRAIN_SECS + 30, cause), cause);
		merge(r, &cr);
	}
	code = fanout_end(fan, cause);
	fan = NULL;
	parent_check(code, cause);
}

/* Add a child's totals to r. */
static void
merge(struct result *r, const struct result *cr)
{
	r->r_rtts += cr->r_rtts;
	r->r_out += cr->r_out;
	r->r_in += cr->r_in;
	r->r_client_cpu += cr->r_client_cpu;
	hist_merge(&r->r_hist, &cr->r_hist);
}

/* Add how the run was made and the samples to r, then print it. */
static void
report(struct result *r)
{
	r->r_mode = opts_mode_name(&opt);
	r->r_expect = opt.o_xf == TRANSFORM_UPPER ? "upper" : "echo";
	r->r_conns = opt.o_conns;
	r->r_size = opt.o_size;
	r->r_depth = opt.o_depth;
	r->r_threads = opt.o_threads;
	r->r_procs = opt.o_procs;
	r->r_src_ips = opt.o_src_ips;
	r->r_secs = (double)(ctl.ct_t1 - ctl.ct_t0) / 1e9;
	if (opt.o_server != 0) {
		r->r_server = 1;
		r->r_server_cpu = procstat_cpu(&ctl.ct_end) -
		    procstat_cpu(&ctl.ct_start);
		r->r_rss_before = ctl.ct_before.ps_rss_kb +
		    ctl.ct_before.ps_child_rss_kb;
		r->r_rss_after = ctl.ct_end.ps_rss_kb +
		    ctl.ct_end.ps_child_rss_kb;
		r->r_child_rss = ctl.ct_end.ps_child_rss_kb;
		r->r_children = ctl.ct_end.ps_children;
	}
	r->r_kernel = ctl.ct_kernel;
	r->r_ss_before = ctl.ct_ss_before;
	r->r_ss_after = ctl.ct_ss_after;
	if (opt.o_json)
		report_json(r);
	else
		report_table(r);
}

/*
 * Run the benchmark: fit it into the limits, sample the server and the
 * kernel, run alone or over --procs children, report.
 */
int
main(int argc, char **argv)
{
	static struct result	r;
	char			cause[LIMITS_CAUSE];

	opts_parse(argc, argv, &opt);
	signal(SIGPIPE, SIG_IGN);
	if (limits_fit(opt.o_conns, &opt.o_procs, &opt.o_src_ips,
	    (ntohl(opt.o_host.s_addr) >> 24) == 127, cause) == -1)
		die(EX_SETUP, "%s", cause);
	if (pattern_make(opt.o_xf, CHUNK, &pattern, &xpattern) == -1)
		die(EX_SETUP, "out of memory");
	sample(&ctl.ct_before);
	ctl.ct_kernel = sockstat_read(&ctl.ct_ss_before) == 0;
	if (opt.o_procs == 1)
		run_threads(setup_threads(0, opt.o_conns), &r);
	else
		run_parent(&r);
	report(&r);
	return (0);
}
