/*
 * The protocol, end to end: the real iod on 127.0.0.1:0 under every
 * variant of t_variants[], driven by nonblocking clients.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define P_MIB		(1024 * 1024)

/* One client of the many-connections test. */
struct p_client {
	int		 fd;
	unsigned char	*data;		/* what it sends */
	unsigned char	*in;		/* what came back */
	size_t		 len;
	size_t		 sent;
	size_t		 got;
};

static void	p_many(const struct t_variant *, int, uint64_t);
static void	p_client_init(struct p_client *, int, uint64_t *);
static int	p_client_io(struct p_client *, short, int, uint64_t *,
		    char *, size_t);
static void	p_half_close(struct t_iod *, size_t, int, uint64_t);

/*
 * Give client c its data: a random length, random bytes, and all 256
 * byte values in shuffled order at a random place.
 */
static void
p_client_init(struct p_client *c, int port, uint64_t *rnd)
{
	unsigned char	perm[256], tmp;
	size_t		i, j, at;

	c->len = 256 + t_rand(rnd) % (128 * 1024);
	if ((c->data = malloc(c->len)) == NULL ||
	    (c->in = malloc(c->len)) == NULL)
		ck_abort_msg("malloc %zu failed", c->len);
	t_fill_random(c->data, c->len, rnd);
	for (i = 0; i < 256; i++)
		perm[i] = (unsigned char)i;
	for (i = 255; i > 0; i--) {
		j = t_rand(rnd) % (i + 1);
		tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	at = t_rand(rnd) % (c->len - 255);
	memcpy(c->data + at, perm, 256);
	c->sent = c->got = 0;
	c->fd = t_connect(port);
	ck_assert_msg(c->fd != -1, "connect to port %d: %s", port,
	    strerror(errno));
}

/*
 * Move client c's bytes as poll said: a random-sized write, a random-sized
 * read checked against the reference transform.  Return 1 when all its
 * bytes are back, 0 to go on, -1 with a message in err on a failure.
 */
static int
p_client_io(struct p_client *c, short revents, int upper, uint64_t *rnd,
    char *err, size_t errlen)
{
	size_t	chunk, bad;
	ssize_t	n;

	if ((revents & POLLOUT) && c->sent < c->len) {
		/* Mostly up to 8 KiB, sometimes a few bytes only. */
		chunk = t_rand(rnd) % 4 == 0 ? 1 + t_rand(rnd) % 16 :
		    1 + t_rand(rnd) % 8192;
		if (chunk > c->len - c->sent)
			chunk = c->len - c->sent;
		n = send(c->fd, c->data + c->sent, chunk,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			c->sent += (size_t)n;
		else if (n == -1 && errno != EAGAIN) {
			snprintf(err, errlen, "send after %zu of %zu bytes: "
			    "%s", c->sent, c->len, strerror(errno));
			return (-1);
		}
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return (0);
	chunk = 1 + t_rand(rnd) % 16384;
	if (chunk > c->len - c->got)
		chunk = c->len - c->got;
	n = recv(c->fd, c->in + c->got, chunk, MSG_DONTWAIT);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		snprintf(err, errlen, "%s after %zu of %zu bytes back",
		    n == 0 ? "EOF" : strerror(errno), c->got, c->len);
		return (-1);
	}
	if (n < 0)
		return (0);
	bad = t_mismatch(c->data + c->got, c->in + c->got, (size_t)n, upper);
	if (bad != (size_t)n) {
		snprintf(err, errlen, "byte %zu: sent 0x%02x, got 0x%02x",
		    c->got + bad, c->data[c->got + bad], c->in[c->got + bad]);
		return (-1);
	}
	c->got += (size_t)n;
	return (c->got == c->len);
}

/*
 * Run NCLIENTS clients at once against one iod in the given mode, all
 * from one poll() loop with random write and read sizes.
 */
#define P_NCLIENTS	200
static void
p_many(const struct t_variant *v, int upper, uint64_t seed)
{
	struct p_client	*c;
	struct pollfd	*pfd;
	struct t_iod	*iod;
	char		 err[256], extra[128];
	uint64_t	 rnd = seed;
	int64_t		 deadline;
	size_t		 i, left = P_NCLIENTS;
	int		 loops, r, n;

	snprintf(extra, sizeof(extra), "mode = \"%s\";\n"
	    "max_connections = 1000;\nidle_timeout = 60;\n",
	    upper ? "upper" : "echo");
	iod = t_spawn_variant(v, extra);
	c = calloc(P_NCLIENTS, sizeof(*c));
	pfd = calloc(P_NCLIENTS, sizeof(*pfd));
	ck_assert(c != NULL && pfd != NULL);
	for (i = 0; i < P_NCLIENTS; i++)
		p_client_init(&c[i], iod->port[0], &rnd);

	deadline = t_now_ms() + t_ms(30000);
	for (loops = 0; loops < 1000000 && left > 0; loops++) {
		ck_assert_msg(t_now_ms() < deadline, "%s/%d %s: %zu of %d "
		    "clients unfinished after %d ms (seed %ju)", v->engine,
		    v->workers, upper ? "upper" : "echo", left, P_NCLIENTS,
		    t_ms(30000), (uintmax_t)seed);
		for (i = 0; i < P_NCLIENTS; i++) {
			pfd[i].fd = c[i].fd;
			pfd[i].events = POLLIN |
			    (c[i].sent < c[i].len ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		if ((n = poll(pfd, P_NCLIENTS, 100)) <= 0)
			continue;
		for (i = 0; i < P_NCLIENTS; i++) {
			if (c[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = p_client_io(&c[i], pfd[i].revents, upper, &rnd,
			    err, sizeof(err));
			ck_assert_msg(r != -1, "%s/%d %s: client %zu (%zu "
			    "bytes, seed %ju): %s", v->engine, v->workers,
			    upper ? "upper" : "echo", i, c[i].len,
			    (uintmax_t)seed, err);
			if (r == 1) {
				close(c[i].fd);
				c[i].fd = -1;
				left--;
			}
		}
	}
	ck_assert_msg(left == 0, "%zu clients unfinished", left);
	for (i = 0; i < P_NCLIENTS; i++) {
		free(c[i].data);
		free(c[i].in);
	}
	free(c);
	free(pfd);
	t_expect_stop(iod);
}

/*
 * Proves the transform is byte-exact and in order in both modes, for
 * every byte value, over 200 concurrent connections whose data TCP splits
 * and interleaves at random.
 */
START_TEST(test_many_random)
{
	const struct t_variant	*v = &t_variants[_i];

	p_many(v, 1, 0x10d0001 + (uint64_t)_i);
	p_many(v, 0, 0x10d1001 + (uint64_t)_i);
}
END_TEST

/*
 * Send len random bytes on a new connection to iod, shut the write side,
 * and require all len bytes back transformed, then EOF.  If pipelined,
 * read while writing; if not, send everything and shut down before
 * reading a byte, through a tiny receive window.
 */
static void
p_half_close(struct t_iod *iod, size_t len, int pipelined, uint64_t seed)
{
	struct t_xfer	 x;
	unsigned char	*out, *in;
	uint64_t	 rnd = seed;
	size_t		 bad;
	int		 fd;

	out = malloc(len);
	in = malloc(len);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &rnd);
	fd = pipelined ? t_connect(iod->port[0]) :
	    t_connect_rcvbuf(iod->port[0], 2048);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	if (pipelined)
		t_xfer(fd, out, len, in, len, T_XFER_SHUT | T_XFER_EOF,
		    t_ms(30000), &x);
	else {
		ck_assert_msg(t_send_all(fd, out, len, t_ms(30000)) ==
		    (ssize_t)len, "could not send %zu bytes before reading: "
		    "%s", len, strerror(errno));
		ck_assert_msg(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
		    strerror(errno));
		t_xfer(fd, NULL, 0, in, len, T_XFER_EOF, t_ms(30000), &x);
	}
	ck_assert_msg(x.got == len && x.eof && x.extra == 0,
	    "%s: sent %zu, got %zu back, eof %d, extra %zu, error \"%s\", "
	    "timed out %d", pipelined ? "pipelined" : "sent before reading",
	    len, x.got, x.eof, x.extra, t_strerror(x.error), x.timed_out);
	bad = t_mismatch(out, in, len, 1);
	ck_assert_msg(bad == len, "byte %zu: sent 0x%02x, got 0x%02x", bad,
	    out[bad % len], in[bad % len]);
	close(fd);
	free(out);
	free(in);
}

/*
 * Proves half-close: after the client's shutdown(SHUT_WR) iod sends all
 * 10 MB it owes, transformed, then closes (EOF) with nothing extra, for a
 * client that reads all along (iod pauses for backpressure and must
 * resume to find the EOF).
 */
START_TEST(test_half_close)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_pending_bytes = 65536;\n"
	    "idle_timeout = 60;\n");
	p_half_close(iod, 10 * 1000 * 1000, 1, 0xc105e + (uint64_t)_i);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves half-close while iod holds megabytes for the client: all 10 MB
 * sent and shut down before the client reads a byte, with room for all
 * of it, so iod reads to the EOF while owing output, then sends it all.
 */
START_TEST(test_half_close_buffered)
{
	const struct t_variant	*v = t_buffering(_i);
	struct t_iod		*iod;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_pending_bytes = 16777216;\n"
	    "idle_timeout = 60;\n");
	p_half_close(iod, 10 * 1000 * 1000, 0, 0xc105f + (uint64_t)_i);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves backpressure: a client that writes 100 MiB without reading gets
 * stuck, iod's memory stays bounded meanwhile, another client is served
 * meanwhile, and once the writer reads, every byte comes back right.
 *
 * The bound: iod may hold max_pending_bytes (64 KiB) of output for the
 * writer plus about one read's worth of input; the rest of the 100 MiB
 * waits in the kernel's socket buffers, which are not iod's RSS.  32 MiB
 * of growth leaves room for per-thread malloc arenas, libevent's buffer
 * chains and ASan's shadow memory, and is still far below what buffering
 * the writer's data without limit would take.
 */
#define P_BP_TOTAL	(100 * P_MIB)
#define P_BP_GROWTH_KB	(32 * 1024)
START_TEST(test_backpressure)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_opts		 o = { .env = NULL };
	struct t_iod		*iod;
	struct t_xfer		 x;
	unsigned char		*out, *in, *small_in;
	uint64_t		 rnd = 0xbac4 + (uint64_t)_i;
	size_t			 i, stuck, bad, small = P_MIB;
	long			 rss0, rss1, rss2;
	int			 w, b;
	char			*conf;

	/*
	 * Under ASan freed memory sits in a quarantine (256 MiB by default)
	 * that counts as RSS; a small one keeps the measure about iod.
	 */
	o.env = "ASAN_OPTIONS=quarantine_size_mb=1";
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n"
	    "max_pending_bytes = 65536;\nidle_timeout = 60;\n");
	iod = t_spawn_iod(conf, &o);
	free(conf);

	out = malloc(P_BP_TOTAL);
	in = malloc(P_BP_TOTAL);
	small_in = malloc(small);
	ck_assert(out != NULL && in != NULL && small_in != NULL);
	t_fill_random(out, P_MIB, &rnd);
	for (i = 1; i < P_BP_TOTAL / P_MIB; i++)
		memcpy(out + i * P_MIB, out, P_MIB);

	/* Warm up, so that first-use allocations are in the baseline. */
	b = t_connect(iod->port[0]);
	ck_assert_msg(b != -1, "connect: %s", strerror(errno));
	t_xfer(b, out, small, small_in, small, 0, t_ms(10000), &x);
	ck_assert_msg(x.got == small, "warm-up got %zu of %zu", x.got, small);
	close(b);
	rss0 = t_rss_kb(iod->pid);
	ck_assert_msg(rss0 > 0, "no VmRSS for pid %d", (int)iod->pid);

	w = t_connect(iod->port[0]);
	ck_assert_msg(w != -1, "connect: %s", strerror(errno));
	stuck = t_send_until_stuck(w, out, P_BP_TOTAL, 500);
	rss1 = t_rss_kb(iod->pid);
	ck_assert_msg(rss1 - rss0 < P_BP_GROWTH_KB, "RSS grew by %ld KiB "
	    "(%ld to %ld) with %zu bytes sent unread; bound %d KiB",
	    rss1 - rss0, rss0, rss1, stuck, P_BP_GROWTH_KB);
	ck_assert_msg(stuck < P_BP_TOTAL, "iod took all %d bytes from a "
	    "client that never read", P_BP_TOTAL);

	/* Another client is served while the writer is stuck. */
	b = t_connect(iod->port[0]);
	ck_assert_msg(b != -1, "connect: %s", strerror(errno));
	t_xfer(b, out + 12345, small, small_in, small, 0, t_ms(10000), &x);
	ck_assert_msg(x.got == small, "second client got %zu of %zu bytes "
	    "while the writer was stuck (error \"%s\")", x.got, small,
	    t_strerror(x.error));
	bad = t_mismatch(out + 12345, small_in, small, 1);
	ck_assert_msg(bad == small, "second client: byte %zu: sent 0x%02x, "
	    "got 0x%02x", bad, out[12345 + bad % small],
	    small_in[bad % small]);
	close(b);
	stuck += t_send_until_stuck(w, out + stuck, P_BP_TOTAL - stuck, 200);
	rss2 = t_rss_kb(iod->pid);
	ck_assert_msg(rss2 - rss0 < P_BP_GROWTH_KB, "RSS grew by %ld KiB "
	    "(%ld to %ld) after serving another client; bound %d KiB",
	    rss2 - rss0, rss0, rss2, P_BP_GROWTH_KB);

	/* Now the writer reads everything while finishing its writes. */
	memset(&x, 0, sizeof(x));
	t_xfer(w, out + stuck, P_BP_TOTAL - stuck, in, P_BP_TOTAL, 0,
	    t_ms(60000), &x);
	ck_assert_msg(x.got == P_BP_TOTAL && x.sent == P_BP_TOTAL - stuck,
	    "writer got %zu of %d bytes back, sent %zu + %zu, eof %d, error "
	    "\"%s\", timed out %d", x.got, P_BP_TOTAL, stuck, x.sent, x.eof,
	    t_strerror(x.error), x.timed_out);
	bad = t_mismatch(out, in, P_BP_TOTAL, 1);
	ck_assert_msg(bad == P_BP_TOTAL, "writer: byte %zu: sent 0x%02x, "
	    "got 0x%02x", bad, out[bad % P_BP_TOTAL], in[bad % P_BP_TOTAL]);
	close(w);
	free(out);
	free(in);
	free(small_in);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves idle_timeout = 1: a client that never sends, one that went quiet
 * after a round trip, and one that went quiet after streaming 256 KiB
 * (which the libevent engine reads by another path) are closed, a client
 * stuck by backpressure (sending a lot, never reading) is closed, and two
 * clients that keep moving bytes, one a byte and one 64 KiB at a time,
 * are not.
 */
#define P_IDLE_ACTIVE_MS	2500	/* well past idle_timeout */
#define P_IDLE_LIMIT_MS		3500	/* idle_timeout + 2.5 s */
#define P_IDLE_N		4	/* clients that must be closed */
#define P_IDLE_STREAM		(256 * 1024)
#define P_IDLE_TICK		(64 * 1024)
static const char *const p_idle_names[P_IDLE_N] = {
	"silent", "quiet", "stuck", "streamed"
};

/* Move len bytes of buf through fd and back, as one piece; 0 if all came. */
static int
p_idle_move(int fd, const unsigned char *buf, size_t len, int ms)
{
	struct t_xfer	 x;
	unsigned char	*in;
	int		 ok;

	in = malloc(len);
	ck_assert(in != NULL);
	t_xfer(fd, buf, len, in, len, 0, ms, &x);
	ok = x.got == len && t_mismatch(buf, in, len, 1) == len;
	free(in);
	return (ok ? 0 : -1);
}

START_TEST(test_idle_timeout)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	struct t_stats		 st;
	struct pollfd		 pfd[P_IDLE_N];
	unsigned char		*fill, *data;
	enum t_end		 end;
	int64_t			 start, last[P_IDLE_N], closed[P_IDLE_N], next;
	size_t			 i, flen = T_STUCK_BYTES;
	uint64_t		 rnd = 0x1d1e + (uint64_t)_i;
	int			 fd[P_IDLE_N], a, b, loops, tick = 0;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 1;\n"
	    "max_pending_bytes = 65536;\n");
	fill = calloc(1, flen);		/* what fd[2] sends never comes back */
	data = malloc(P_IDLE_STREAM);
	ck_assert(fill != NULL && data != NULL);
	t_fill_random(data, P_IDLE_STREAM, &rnd);

	/*
	 * fd[0] never sends, fd[1] makes one round trip, fd[2] gets stuck,
	 * fd[3] streams once; a and b stay active.
	 */
	for (i = 0; i < P_IDLE_N; i++) {
		fd[i] = i != 2 ? t_connect(iod->port[0]) :
		    t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF);
		ck_assert_msg(fd[i] != -1, "connect: %s", strerror(errno));
		closed[i] = 0;
		last[i] = t_now_ms();
	}
	a = t_connect(iod->port[0]);
	b = t_connect(iod->port[0]);
	ck_assert_msg(a != -1 && b != -1, "connect: %s", strerror(errno));
	start = t_now_ms();
	t_expect_roundtrip(fd[1], "quiet", "QUIET", 2000, "%s client",
	    p_idle_names[1]);
	last[1] = t_now_ms();
	ck_assert_msg(t_send_until_stuck(fd[2], fill, flen, 300) < flen,
	    "iod took all of %zu bytes from a client that never read", flen);
	last[2] = t_now_ms() - 300;
	ck_assert_msg(p_idle_move(fd[3], data, P_IDLE_STREAM, 2000) == 0,
	    "streamed client: %d bytes did not come back right",
	    P_IDLE_STREAM);
	last[3] = t_now_ms();

	/* a and b move bytes every 200 ms; watch the others. */
	next = t_now_ms();
	for (loops = 0; loops < 10000; loops++) {
		if (t_now_ms() >= next) {
			if (t_now_ms() - start >= P_IDLE_ACTIVE_MS)
				break;
			t_expect_roundtrip(a, "a", "A", 1000, "active client, "
			    "tick %d, sent at %jd ms", tick,
			    (intmax_t)(t_now_ms() - start));
			ck_assert_msg(p_idle_move(b, data, P_IDLE_TICK, 1000)
			    == 0, "active streaming client, tick %d at %jd "
			    "ms: %d bytes did not come back right (%s)", tick,
			    (intmax_t)(t_now_ms() - start), P_IDLE_TICK,
			    t_end_name(t_wait_end(b, 0)));
			tick++;
			next += 200;
		}
		for (i = 0; i < P_IDLE_N; i++) {
			pfd[i].fd = closed[i] ? -1 : fd[i];
			pfd[i].events = i != 2 ? POLLIN : POLLRDHUP;
			pfd[i].revents = 0;
		}
		poll(pfd, P_IDLE_N,
		    (int)(next > t_now_ms() ? next - t_now_ms() : 0));
		for (i = 0; i < P_IDLE_N; i++)
			if (pfd[i].revents != 0 && !closed[i])
				closed[i] = t_now_ms();
	}
	/* Whatever is still open gets until its limit. */
	for (i = 0; i < P_IDLE_N; i++)
		if (!closed[i] && t_peer_closed(fd[i],
		    (int)(last[i] + P_IDLE_LIMIT_MS - t_now_ms())))
			closed[i] = t_now_ms();
	for (i = 0; i < P_IDLE_N; i++)
		ck_assert_msg(closed[i] != 0 &&
		    closed[i] - last[i] <= P_IDLE_LIMIT_MS,
		    "%s client: %s %jd ms after its last byte (limit %d ms)",
		    p_idle_names[i], closed[i] ? "closed" : "still open at",
		    (intmax_t)((closed[i] ? closed[i] : t_now_ms()) - last[i]),
		    P_IDLE_LIMIT_MS);
	for (i = 0; i < P_IDLE_N; i++) {
		if (i == 2)
			continue;
		end = t_wait_end(fd[i], 1000);
		ck_assert_msg(end == T_END_EOF || end == T_END_RESET,
		    "%s client ended with %s", p_idle_names[i],
		    t_end_name(end));
	}
	t_expect_roundtrip(a, "still", "STILL", 2000, "active client after %d "
	    "ticks", tick);
	ck_assert_msg(p_idle_move(b, data, P_IDLE_TICK, 2000) == 0,
	    "active streaming client after %d ticks: no reply", tick);
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line: %s",
	    t_log_tail(iod));
	ck_assert_msg(st.timed_out == P_IDLE_N, "timed_out=%ju, want %d",
	    (uintmax_t)st.timed_out, P_IDLE_N);
	for (i = 0; i < P_IDLE_N; i++)
		close(fd[i]);
	close(a);
	close(b);
	free(fill);
	free(data);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that a connection may go quiet and talk again: a client makes
 * round trips and streams 256 KiB, waits past a second, then does it all
 * again and ends with a half-close.  A libevent connection that talks
 * gets a reader of its own and gives it back after a quiet second
 * (lev_quiet_wait in engine_libevent_conn.c), so this crosses both ways;
 * no idle_timeout is involved (60 s).
 */
#define P_QUIET_MS	1200
START_TEST(test_quiet_then_talk)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	struct t_xfer		 x;
	unsigned char		*data;
	uint64_t		 rnd = 0x9e1 + (uint64_t)_i;
	char			 got[16];
	int			 fd, round, i;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 60;\n");
	data = malloc(P_IDLE_STREAM);
	ck_assert(data != NULL);
	t_fill_random(data, P_IDLE_STREAM, &rnd);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	for (round = 0; round < 2; round++) {
		if (round > 0)
			usleep(P_QUIET_MS * 1000);
		for (i = 0; i < 3; i++)
			t_expect_roundtrip(fd, "talk", "TALK", t_ms(2000),
			    "round %d, message %d", round, i);
		ck_assert_msg(p_idle_move(fd, data, P_IDLE_STREAM,
		    t_ms(5000)) == 0, "round %d: %d bytes did not come back "
		    "right", round, P_IDLE_STREAM);
	}
	usleep(P_QUIET_MS * 1000);
	t_xfer(fd, "end", 3, got, 3, T_XFER_SHUT | T_XFER_EOF, t_ms(3000), &x);
	ck_assert_msg(x.got == 3 && memcmp(got, "END", 3) == 0 && x.eof &&
	    x.extra == 0, "half-close after a quiet spell: got %zu bytes, "
	    "eof %d, error \"%s\"", x.got, x.eof, t_strerror(x.error));
	close(fd);
	free(data);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves max_connections = 5: five clients are served, a sixth is closed
 * at once without a byte, the five still work, iod logs the rejection,
 * and once one of the five has gone a new client is served.
 */
START_TEST(test_max_connections)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	struct t_stats		 st;
	enum t_end		 end;
	char			 got[16];
	int64_t			 deadline;
	int			 fd[5], extra, i, tries, ok = 0;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_connections = 5;\n"
	    "idle_timeout = 60;\n");
	for (i = 0; i < 5; i++) {
		fd[i] = t_connect(iod->port[0]);
		ck_assert_msg(fd[i] != -1, "connect %d: %s", i,
		    strerror(errno));
		t_expect_roundtrip(fd[i], "hello", "HELLO", t_ms(3000),
		    "client %d of 5", i);
	}
	t_log_mark(iod);
	extra = t_connect(iod->port[0]);
	ck_assert_msg(extra != -1, "connect 6th: %s", strerror(errno));
	end = t_wait_end(extra, t_ms(3000));
	ck_assert_msg(end == T_END_EOF || end == T_END_RESET,
	    "6th client: %s, want EOF or reset with nothing read",
	    t_end_name(end));
	close(extra);
	ck_assert_msg(t_wait_log(iod, "max_connections (5) reached: rejected",
	    3000) != NULL, "no rejection line; stderr:\n%s", t_log_tail(iod));
	for (i = 0; i < 5; i++)
		t_expect_roundtrip(fd[i], "again", "AGAIN", t_ms(3000),
		    "client %d after the rejection", i);

	/* Half-close one; iod's EOF says it has let the connection go. */
	shutdown(fd[0], SHUT_WR);
	end = t_wait_end(fd[0], t_ms(3000));
	ck_assert_msg(end == T_END_EOF, "after half-close: %s",
	    t_end_name(end));
	close(fd[0]);
	/*
	 * iod frees the slot around its close() (for fork, when it reaps
	 * the child), which the client cannot observe exactly: allow some
	 * rejected attempts, 20 ms apart, bounded in count and time.
	 */
	deadline = t_now_ms() + t_ms(5000);
	for (tries = 0; tries < 200 && !ok && t_now_ms() < deadline;
	    tries++) {
		if (tries > 0)
			poll(NULL, 0, 20);
		fd[0] = t_connect(iod->port[0]);
		ck_assert_msg(fd[0] != -1, "connect: %s", strerror(errno));
		ok = t_roundtrip(fd[0], "new", got, sizeof(got), t_ms(1000))
		    == 3 && strcmp(got, "NEW") == 0;
		if (!ok)
			close(fd[0]);
	}
	ck_assert_msg(ok, "no new client served after one of 5 left (%d "
	    "tries, last got \"%s\")", tries, got);
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line: %s",
	    t_log_tail(iod));
	ck_assert_msg(st.rejected == (uint64_t)tries && st.active == 5,
	    "rejected=%ju (want %d) active=%ju (want 5)",
	    (uintmax_t)st.rejected, tries, (uintmax_t)st.active);
	for (i = 0; i < 5; i++)
		close(fd[i]);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that the select engine never puts a descriptor of FD_SETSIZE
 * (1024) or more in an fd_set: with 1100 clients, those that would get
 * such a descriptor are closed at once, counted and logged, while every
 * client below the limit is served, and iod goes on serving afterwards.
 */
#define P_SELECT_CLIENTS	1100
START_TEST(test_select_fd_limit)
{
	const struct t_variant	 v = { "select", 1, 1 };
	struct t_iod		*iod;
	struct t_stats		 st;
	struct rlimit		 rl;
	char			 got[8];
	int			 fd[P_SELECT_CLIENTS], i, served = 0, refused = 0;

	/* The test itself needs more than 1100 descriptors. */
	ck_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_max;
	ck_assert_msg(setrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur > P_SELECT_CLIENTS + 64, "RLIMIT_NOFILE is only %ju",
	    (uintmax_t)rl.rlim_cur);
	iod = t_spawn_variant(&v, "max_connections = 2000;\nidle_timeout = 120;\n");
	for (i = 0; i < P_SELECT_CLIENTS; i++) {
		fd[i] = t_connect(iod->port[0]);
		ck_assert_msg(fd[i] != -1, "connect %d: %s", i,
		    strerror(errno));
	}
	for (i = 0; i < P_SELECT_CLIENTS; i++) {
		if (t_roundtrip(fd[i], "ping", got, sizeof(got),
		    t_ms(5000)) == 4 && strcmp(got, "PING") == 0)
			served++;
		else
			refused++;
	}
	ck_assert_msg(served > 900 && served < 1024 && refused > 76,
	    "served %d, refused %d of %d", served, refused, P_SELECT_CLIENTS);
	ck_assert_msg(t_wait_log(iod, "above select's limit of 1023", 3000)
	    != NULL, "no refusal line; stderr:\n%s", t_log_tail(iod));
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line");
	ck_assert_msg(st.rejected == (uint64_t)refused &&
	    st.active == (uint64_t)served, "rejected=%ju active=%ju, want "
	    "%d and %d", (uintmax_t)st.rejected, (uintmax_t)st.active,
	    refused, served);
	for (i = 0; i < P_SELECT_CLIENTS; i++)
		close(fd[i]);
	fd[0] = t_connect(iod->port[0]);
	t_expect_roundtrip(fd[0], "more", "MORE", t_ms(5000),
	    "new client after the others left");
	close(fd[0]);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that the fork engine keeps no descriptor per child, since
 * fork() copies the descriptor table and each fork would cost more with
 * every connection: with 40 clients served, iod has as many descriptors
 * open as with none, and so it serves them all under an open-file limit
 * of 3 more than that.  Two workers, so that a child may be reaped by
 * the worker that did not fork it; once the clients leave, every slot
 * comes back.
 */
#define P_FORK_CLIENTS	40
START_TEST(test_fork_fds)
{
	const struct t_variant	 v = { "fork", 2, 0 };
	struct t_iod		*iod;
	struct t_stats		 st;
	int			 fd[P_FORK_CLIENTS], i, before, after, tries;

	iod = t_spawn_variant(&v, "mode = \"upper\";\nidle_timeout = 120;\n");
	before = t_limit_fds(iod->pid, 3);
	for (i = 0; i < P_FORK_CLIENTS; i++) {
		fd[i] = t_connect(iod->port[0]);
		t_expect_roundtrip(fd[i], "ping", "PING", t_ms(5000),
		    "client %d of %d", i, P_FORK_CLIENTS);
	}
	/* The last child may answer before the parent closes its copy. */
	after = t_count_fds(iod->pid);
	for (tries = 0; tries < 50 && after != before; tries++) {
		poll(NULL, 0, 20);
		after = t_count_fds(iod->pid);
	}
	ck_assert_msg(after == before, "iod had %d descriptors "
	    "with no client and %d with %d", before, after, P_FORK_CLIENTS);
	for (i = 0; i < P_FORK_CLIENTS; i++)
		close(fd[i]);
	/* Children exit on EOF; allow them time to, bounded. */
	st.active = P_FORK_CLIENTS;
	for (tries = 0; tries < 50 && st.active != 0; tries++) {
		if (tries > 0)
			poll(NULL, 0, 100);
		ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0,
		    "no stats line: %s", t_log_tail(iod));
	}
	ck_assert_msg(st.active == 0, "%ju connections still active after "
	    "every client left", (uintmax_t)st.active);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that clients which vanish while iod owes them data, with a reset
 * or with a plain close, do not kill iod (no SIGPIPE, no crash) and that
 * it goes on serving others.
 */
START_TEST(test_peer_reset)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	unsigned char		*fill;
	size_t			 flen = 4 * P_MIB;
	uint64_t		 rnd = 7;
	char			 got[16];
	int			 fd, i, status;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_pending_bytes = 65536;\n"
	    "idle_timeout = 60;\n");
	fill = malloc(flen);
	ck_assert(fill != NULL);
	t_fill_random(fill, flen, &rnd);
	for (i = 0; i < 30; i++) {
		fd = t_connect(iod->port[0]);
		ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
		switch (i % 3) {
		case 0:
			/* Stuck with replies owed, then a reset. */
			t_send_until_stuck(fd, fill, flen, 50);
			t_reset_close(fd);
			break;
		case 1:
			/* A close with unread data: a reset too. */
			t_send_until_stuck(fd, fill, flen, 50);
			close(fd);
			break;
		default:
			/* Gone before the reply: iod writes to a dead peer. */
			t_send_all(fd, fill, 65536, t_ms(3000));
			close(fd);
			break;
		}
	}
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect after resets: %s", strerror(errno));
	ck_assert_msg(t_roundtrip(fd, "alive", got, sizeof(got), t_ms(3000))
	    == 5 && strcmp(got, "ALIVE") == 0, "after resets got \"%s\"; "
	    "stderr:\n%s", got, t_log_tail(iod));
	ck_assert_msg(waitpid(iod->pid, &status, WNOHANG) == 0,
	    "iod is gone (wait status 0x%x)", status);
	close(fd);
	free(fill);
	t_expect_stop(iod);
}
END_TEST

/* The proto suite: one case, every test run over t_variants[]. */
Suite *
suite_proto(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proto");
	tc = tcase_create("proto");
	t_tcase_fixtures(tc);
	/* The slowest case, backpressure, takes ~10 s under ASan. */
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_many_random, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_half_close, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_half_close_buffered, 0,
	    (int)t_nbuffering());
	tcase_add_loop_test(tc, test_backpressure, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_idle_timeout, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_quiet_then_talk, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_max_connections, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_peer_reset, 0, (int)t_nvariants);
	tcase_add_test(tc, test_select_fd_limit);
	tcase_add_test(tc, test_fork_fds);
	suite_add_tcase(s, tc);
	return (s);
}
