/*
 * iod-bench's client: each thread drives its share of the connections
 * on an epoll loop of its own, connecting, sending pseudo-random bytes,
 * verifying every byte that comes back against the transform of what was
 * sent, and counting; the threads of a process meet at a barrier at each
 * step iod-bench.c measures around.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bclient.h"
#include "hist.h"
#include "opts.h"
#include "pattern.h"
#include "transform.h"

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
void *
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
struct bthread *
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
