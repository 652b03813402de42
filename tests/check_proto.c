/*
 * The protocol, end to end: the real iod on 127.0.0.1:0 under every
 * variant of t_variants[], driven by nonblocking clients.  The limits iod
 * puts on clients are in check_limits.c.
 */
#include <sys/types.h>
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
static long	p_bp_warm_up(struct t_iod *, const unsigned char *,
		    unsigned char *, size_t);
static void	p_bp_other(struct t_iod *, const unsigned char *,
		    unsigned char *, size_t);
static void	p_bp_read_all(int, const unsigned char *, unsigned char *,
		    size_t);

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
 * every byte value, over 200 connections open at once whose data TCP
 * splits and interleaves at random.  An engine that serves one client at
 * a time serves them in turn while the others wait, which proves the
 * same of it.
 */
START_TEST(test_many_random)
{
	const struct t_variant	*v = t_variant(0, _i);

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
	const struct t_variant	*v = t_variant(0, _i);
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
	const struct t_variant	*v = t_variant(T_BUFFERS, _i);
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
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
	struct t_opts		 o = { .env = NULL };
	struct t_iod		*iod;
	unsigned char		*out, *in, *small_in;
	uint64_t		 rnd = 0xbac4 + (uint64_t)_i;
	size_t			 i, stuck, small = P_MIB;
	long			 rss0, rss1, rss2;
	int			 w;
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
	rss0 = p_bp_warm_up(iod, out, small_in, small);

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
	p_bp_other(iod, out, small_in, small);
	stuck += t_send_until_stuck(w, out + stuck, P_BP_TOTAL - stuck, 200);
	rss2 = t_rss_kb(iod->pid);
	ck_assert_msg(rss2 - rss0 < P_BP_GROWTH_KB, "RSS grew by %ld KiB "
	    "(%ld to %ld) after serving another client; bound %d KiB",
	    rss2 - rss0, rss0, rss2, P_BP_GROWTH_KB);

	/* Now the writer reads everything while finishing its writes. */
	p_bp_read_all(w, out, in, stuck);
	close(w);
	free(out);
	free(in);
	free(small_in);
	t_expect_stop(iod);
}
END_TEST

/*
 * Send small bytes of out through a new client and take them back; then
 * return iod's RSS in KiB, as the baseline.
 */
static long
p_bp_warm_up(struct t_iod *iod, const unsigned char *out,
    unsigned char *small_in, size_t small)
{
	struct t_xfer	x;
	long		rss0;
	int		b;

	b = t_connect(iod->port[0]);
	ck_assert_msg(b != -1, "connect: %s", strerror(errno));
	t_xfer(b, out, small, small_in, small, 0, t_ms(10000), &x);
	ck_assert_msg(x.got == small, "warm-up got %zu of %zu", x.got, small);
	close(b);
	rss0 = t_rss_kb(iod->pid);
	ck_assert_msg(rss0 > 0, "no VmRSS for pid %d", (int)iod->pid);
	return (rss0);
}

/*
 * Require a new client to get small bytes from out + 12345 back right
 * while the writer is stuck.
 */
static void
p_bp_other(struct t_iod *iod, const unsigned char *out,
    unsigned char *small_in, size_t small)
{
	struct t_xfer	x;
	size_t		bad;
	int		b;

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
}

/*
 * Have the writer w, stuck after sending stuck bytes of out, send the
 * rest while reading all P_BP_TOTAL into in; require every byte right.
 */
static void
p_bp_read_all(int w, const unsigned char *out, unsigned char *in,
    size_t stuck)
{
	struct t_xfer	x;
	size_t		bad;

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
}

/*
 * Proves that clients which vanish while iod owes them data, with a reset
 * or with a plain close, do not kill iod (no SIGPIPE, no crash) and that
 * it goes on serving others.
 */
START_TEST(test_peer_reset)
{
	const struct t_variant	*v = t_variant(0, _i);
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
	tcase_add_loop_test(tc, test_many_random, 0, t_count(0));
	tcase_add_loop_test(tc, test_half_close, 0, t_count(0));
	tcase_add_loop_test(tc, test_half_close_buffered, 0, t_count(T_BUFFERS));
	tcase_add_loop_test(tc, test_backpressure, 0, t_count(T_CONCURRENT));
	tcase_add_loop_test(tc, test_peer_reset, 0, t_count(0));
	suite_add_tcase(s, tc);
	return (s);
}
