/*
 * Zero-copy echo, end to end: in echo mode a connection that streams
 * moves its bytes with splice(2), under every rule a connection that
 * copies keeps.  The real iod on 127.0.0.1:0 under every variant that
 * splices (T_SPLICES); every test reads the SIGUSR1 counters, whose
 * spliced= says whether splice was used, so that a test of splicing
 * fails if iod copied instead.
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

#define S_MIB		(1024 * 1024)
#define S_IO_MAX	(256 * 1024)	/* ENGINE_IO_MAX: iod's largest read */

/* One client of the random-chunking test. */
struct s_client {
	int		 fd;
	unsigned char	*data;		/* what it sends */
	unsigned char	*in;		/* what came back */
	size_t		 len;
	size_t		 sent;
	size_t		 got;
};

static void	s_stats(struct t_iod *, struct t_stats *);
static void	s_until_still(struct t_iod *, struct t_stats *);
static void	s_client_init(struct s_client *, int, uint64_t *);
static int	s_client_io(struct s_client *, short, uint64_t *, char *,
		    size_t);
static void	s_random_run(struct t_iod *, struct s_client *, size_t,
		    uint64_t *);
static void	s_pipelined(struct t_iod *, size_t, uint64_t);

/* Read iod's counters into st, or fail the test. */
static void
s_stats(struct t_iod *iod, struct t_stats *st)
{
	ck_assert_msg(t_stats(iod, st, t_ms(3000)) == 0, "no stats line; "
	    "stderr:\n%s", t_log_tail(iod));
}

/*
 * Read iod's counters until bytes_in stands still between two answers
 * 50 ms apart, at most 40 times; the last answer is left in *st.
 */
static void
s_until_still(struct t_iod *iod, struct t_stats *st)
{
	struct t_stats	prev;
	int		i;

	s_stats(iod, st);
	for (i = 0; i < 40; i++) {
		prev = *st;
		poll(NULL, 0, 50);
		s_stats(iod, st);
		if (st->bytes_in == prev.bytes_in &&
		    st->bytes_out == prev.bytes_out)
			return;
	}
}

/* Give client c a connection and 1 to 3 MiB of random bytes. */
static void
s_client_init(struct s_client *c, int port, uint64_t *rnd)
{
	c->len = S_MIB + t_rand(rnd) % (2 * S_MIB);
	if ((c->data = malloc(c->len)) == NULL ||
	    (c->in = malloc(c->len)) == NULL)
		ck_abort_msg("malloc %zu failed", c->len);
	t_fill_random(c->data, c->len, rnd);
	c->sent = c->got = 0;
	c->fd = t_connect(port);
	ck_assert_msg(c->fd != -1, "connect to port %d: %s", port,
	    strerror(errno));
}

/*
 * Move client c's bytes as poll said: a write of a random size, from a
 * few bytes to a few hundred KiB, and a read of a random size, checked
 * against what was sent.  Return 1 when all its bytes are back, 0 to go
 * on, -1 with a message in err on a failure.
 */
static int
s_client_io(struct s_client *c, short revents, uint64_t *rnd, char *err,
    size_t errlen)
{
	size_t	chunk, bad;
	ssize_t	n;

	if ((revents & POLLOUT) && c->sent < c->len) {
		chunk = t_rand(rnd) % 4 == 0 ? 1 + t_rand(rnd) % 64 :
		    1 + t_rand(rnd) % (512 * 1024);
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
	chunk = t_rand(rnd) % 4 == 0 ? 1 + t_rand(rnd) % 100 :
	    1 + t_rand(rnd) % (256 * 1024);
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
	bad = t_mismatch(c->data + c->got, c->in + c->got, (size_t)n, 0);
	if (bad != (size_t)n) {
		snprintf(err, errlen, "byte %zu: sent 0x%02x, got 0x%02x",
		    c->got + bad, c->data[c->got + bad], c->in[c->got + bad]);
		return (-1);
	}
	c->got += (size_t)n;
	return (c->got == c->len);
}

/* Run n clients at once from one poll() loop until all are back. */
static void
s_random_run(struct t_iod *iod, struct s_client *c, size_t n, uint64_t *rnd)
{
	struct pollfd	pfd[8];
	char		err[256];
	int64_t		deadline = t_now_ms() + t_ms(30000);
	size_t		i, left = n;
	int		loops, r;

	ck_assert(n <= 8);
	for (loops = 0; loops < T_MAXLOOP && left > 0; loops++) {
		ck_assert_msg(t_now_ms() < deadline, "%zu of %zu clients "
		    "unfinished after %d ms", left, n, t_ms(30000));
		for (i = 0; i < n; i++) {
			pfd[i].fd = c[i].fd;
			pfd[i].events = POLLIN |
			    (c[i].sent < c[i].len ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		if (poll(pfd, n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (c[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = s_client_io(&c[i], pfd[i].revents, rnd, err,
			    sizeof(err));
			ck_assert_msg(r != -1, "client %zu (%zu bytes): %s; "
			    "stderr:\n%s", i, c[i].len, err, t_log_tail(iod));
			if (r == 1) {
				close(c[i].fd);
				c[i].fd = -1;
				left--;
			}
		}
	}
	ck_assert_msg(left == 0, "%zu clients unfinished", left);
}

/*
 * Proves zero-copy echo byte-exact and in order: four clients at once
 * send 1-3 MiB each in writes of random sizes, from a few bytes to
 * 512 KiB, and read back in reads of random sizes, with the default
 * splice_min_read; every byte comes back unchanged, and the counters
 * show that most of them were spliced and all were counted.
 */
#define S_NRANDOM	4
START_TEST(test_splice_random)
{
	const struct t_variant	*v = t_variant(T_SPLICES, _i);
	struct s_client		 c[S_NRANDOM];
	struct t_iod		*iod;
	struct t_stats		 st;
	uint64_t		 rnd = 0x5b11ce + (uint64_t)_i, total = 0;
	size_t			 i;

	iod = t_spawn_variant(v, "mode = \"echo\";\nidle_timeout = 60;\n");
	for (i = 0; i < S_NRANDOM; i++) {
		s_client_init(&c[i], iod->port[0], &rnd);
		total += c[i].len;
	}
	s_random_run(iod, c, S_NRANDOM, &rnd);
	s_until_still(iod, &st);
	ck_assert_msg(st.bytes_in == total && st.bytes_out == total,
	    "bytes_in=%ju bytes_out=%ju, want %ju both",
	    (uintmax_t)st.bytes_in, (uintmax_t)st.bytes_out,
	    (uintmax_t)total);
	ck_assert_msg(st.spliced > 0 && st.spliced <= st.bytes_in,
	    "spliced=%ju of bytes_in=%ju: splice was not used",
	    (uintmax_t)st.spliced, (uintmax_t)st.bytes_in);
	for (i = 0; i < S_NRANDOM; i++) {
		free(c[i].data);
		free(c[i].in);
	}
	t_expect_stop(iod);
}
END_TEST

/*
 * Send len random bytes on a new connection while reading, shut down the
 * sending side once all is sent, and require every byte back unchanged,
 * then EOF.
 */
static void
s_pipelined(struct t_iod *iod, size_t len, uint64_t seed)
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
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	t_xfer(fd, out, len, in, len, T_XFER_SHUT | T_XFER_EOF, t_ms(30000),
	    &x);
	ck_assert_msg(x.got == len && x.eof && x.extra == 0, "sent %zu, got "
	    "%zu back, eof %d, extra %zu, error \"%s\", timed out %d", len,
	    x.got, x.eof, x.extra, t_strerror(x.error), x.timed_out);
	bad = t_mismatch(out, in, len, 0);
	ck_assert_msg(bad == len, "byte %zu: sent 0x%02x, got 0x%02x", bad,
	    out[bad % len], in[bad % len]);
	close(fd);
	free(out);
	free(in);
}

/*
 * Proves half-close while splicing: after the client's shutdown(SHUT_WR)
 * iod sends every byte it owes, from its pipe too, then EOF, with nothing
 * extra; once for a client that reads all along, once for one that sends
 * 2 MiB and shuts down before reading a byte, so that iod's pipe fills,
 * reading pauses, and it must resume to find the end of input.
 */
START_TEST(test_splice_half_close)
{
	const struct t_variant	*v = t_variant(T_SPLICES, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0xc1053 + (uint64_t)_i;
	size_t			 len = 2 * S_MIB, bad;
	int			 fd;

	iod = t_spawn_variant(v, "mode = \"echo\";\nmax_pending_bytes = 262144;\n"
	    "splice_min_read = 4096;\nidle_timeout = 60;\n");
	s_pipelined(iod, 4 * S_MIB, rnd);
	s_stats(iod, &st);
	ck_assert_msg(st.spliced > 0, "spliced=%ju of bytes_in=%ju after "
	    "4 MiB", (uintmax_t)st.spliced, (uintmax_t)st.bytes_in);

	out = malloc(len);
	in = malloc(len);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &rnd);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_send_all(fd, out, len, t_ms(10000)) == (ssize_t)len,
	    "could not send %zu bytes before reading: %s", len,
	    strerror(errno));
	ck_assert_msg(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	t_xfer(fd, NULL, 0, in, len, T_XFER_EOF, t_ms(30000), &x);
	ck_assert_msg(x.got == len && x.eof && x.extra == 0, "sent %zu "
	    "before reading, got %zu back, eof %d, extra %zu, error \"%s\", "
	    "timed out %d", len, x.got, x.eof, x.extra, t_strerror(x.error),
	    x.timed_out);
	bad = t_mismatch(out, in, len, 0);
	ck_assert_msg(bad == len, "byte %zu: sent 0x%02x, got 0x%02x", bad,
	    out[bad % len], in[bad % len]);
	close(fd);
	free(out);
	free(in);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves backpressure while splicing: a client that writes without
 * reading gets stuck with iod holding at most max_pending_bytes for it
 * (plus the one read that came before its pipe), iod does not spin
 * meanwhile (a level-triggered wait would report the socket readable
 * again and again if reading did not pause), another client is served,
 * and once the writer reads, every byte comes back unchanged.
 */
#define S_BP_TOTAL	T_STUCK_BYTES
#define S_BP_PENDING	65536
#define S_BP_IDLE_TICKS	20		/* of CPU in 500 ms: 0.2 s */
START_TEST(test_splice_backpressure)
{
	const struct t_variant	*v = t_variant(T_SPLICES, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0xbac5 + (uint64_t)_i;
	size_t			 stuck, bad;
	long			 t0, t1;
	int			 w;
	char			 extra[256];

	snprintf(extra, sizeof(extra), "mode = \"echo\";\n"
	    "max_pending_bytes = %d;\nsplice_min_read = 4096;\n"
	    "idle_timeout = 60;\n", S_BP_PENDING);
	iod = t_spawn_variant(v, extra);
	out = malloc(S_BP_TOTAL);
	in = malloc(S_BP_TOTAL);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, S_BP_TOTAL, &rnd);
	w = t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF);
	ck_assert_msg(w != -1, "connect: %s", strerror(errno));
	stuck = t_send_until_stuck(w, out, S_BP_TOTAL, 300);
	ck_assert_msg(stuck < S_BP_TOTAL, "iod took all %d bytes from a "
	    "client that never read", S_BP_TOTAL);
	s_until_still(iod, &st);
	ck_assert_msg(st.spliced > 0, "spliced=%ju of bytes_in=%ju: the "
	    "stuck writer was not spliced", (uintmax_t)st.spliced,
	    (uintmax_t)st.bytes_in);
	ck_assert_msg(st.bytes_in - st.bytes_out <= S_BP_PENDING + S_IO_MAX,
	    "iod holds %ju bytes (bytes_in=%ju bytes_out=%ju) for a stuck "
	    "client; bound %d + one read", (uintmax_t)(st.bytes_in -
	    st.bytes_out), (uintmax_t)st.bytes_in, (uintmax_t)st.bytes_out,
	    S_BP_PENDING);

	if (!(v->caps & T_SPINS)) {
		t0 = t_cpu_ticks(iod->pid);
		poll(NULL, 0, 500);
		t1 = t_cpu_ticks(iod->pid);
		ck_assert_msg(t0 >= 0 && t1 - t0 <= S_BP_IDLE_TICKS,
		    "iod used %ld ticks of CPU in 500 ms while its only "
		    "client was stuck", t1 - t0);
	}

	/* Another client is served meanwhile, and splices too. */
	s_pipelined(iod, S_MIB, rnd);

	t_xfer(w, out + stuck, S_BP_TOTAL - stuck, in, S_BP_TOTAL, 0,
	    t_ms(30000), &x);
	ck_assert_msg(x.got == S_BP_TOTAL, "writer got %zu of %d bytes back, "
	    "error \"%s\", timed out %d", x.got, S_BP_TOTAL,
	    t_strerror(x.error), x.timed_out);
	bad = t_mismatch(out, in, S_BP_TOTAL, 0);
	ck_assert_msg(bad == S_BP_TOTAL, "byte %zu: sent 0x%02x, got 0x%02x",
	    bad, out[bad % S_BP_TOTAL], in[bad % S_BP_TOTAL]);
	close(w);
	free(out);
	free(in);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves SIGTERM drains a spliced connection: a client stuck by
 * backpressure is owed what sits in iod's pipe; after SIGTERM it gets at
 * least every byte iod had read, unchanged, then EOF, and iod exits 0.
 */
START_TEST(test_splice_drain)
{
	const struct t_variant	*v = t_variant(T_SPLICES, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0xd7a5 + (uint64_t)_i;
	size_t			 len = T_STUCK_BYTES, sent, owed, bad;
	int			 fd;

	iod = t_spawn_variant(v, "mode = \"echo\";\nmax_pending_bytes = 1048576;\n"
	    "splice_min_read = 4096;\nshutdown_timeout = 5;\n"
	    "idle_timeout = 60;\n");
	out = malloc(len);
	in = malloc(len);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &rnd);
	fd = t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	sent = t_send_until_stuck(fd, out, len, 300);
	ck_assert_msg(sent < len, "iod took all %zu bytes from a client that "
	    "did not read", len);
	s_until_still(iod, &st);
	owed = (size_t)st.bytes_in;
	ck_assert_msg(st.spliced > 0 && owed > st.bytes_out, "spliced=%ju "
	    "bytes_in=%ju bytes_out=%ju: want a spliced connection that is "
	    "owed bytes", (uintmax_t)st.spliced, (uintmax_t)st.bytes_in,
	    (uintmax_t)st.bytes_out);

	t_log_mark(iod);
	kill(iod->pid, SIGTERM);
	ck_assert_msg(t_wait_log(iod, "iod: shutting down", t_ms(3000)) !=
	    NULL, "no \"shutting down\"; stderr:\n%s", t_log_tail(iod));
	t_xfer(fd, NULL, 0, in, sent, T_XFER_EOF, t_ms(10000), &x);
	ck_assert_msg(x.got >= owed && x.eof, "after SIGTERM got %zu bytes, "
	    "then %s; iod had read %zu of %zu sent", x.got, x.eof ? "EOF" :
	    x.error ? t_strerror(x.error) : "nothing", owed, sent);
	bad = t_mismatch(out, in, x.got, 0);
	ck_assert_msg(bad == x.got, "byte %zu: sent 0x%02x, got 0x%02x", bad,
	    out[bad % x.got], in[bad % x.got]);
	close(fd);
	ck_assert_msg(t_wait_exit(iod, t_ms(3000)) == 0, "iod still runs "
	    "after its last client left");
	ck_assert_msg(WIFEXITED(iod->status) && WEXITSTATUS(iod->status) == 0,
	    "wait status 0x%x, want exit 0; stderr:\n%s", iod->status,
	    t_log_tail(iod));
	free(out);
	free(in);
	t_stop_iod(iod);
}
END_TEST

/*
 * Proves idle_timeout holds for a connection that has spliced: once its
 * stream stops, it is closed after idle_timeout (1 s) and counted.  It
 * waits a second or two, so it runs on the first two variants that
 * splice, libevent and one of the poller engines, which share their
 * splicing code.
 */
#define S_IDLE_VARIANTS	2
START_TEST(test_splice_idle)
{
	const struct t_variant	*v = t_variant(T_SPLICES, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0x1d1e + (uint64_t)_i;
	size_t			 len = S_MIB;
	enum t_end		 end;
	int			 fd;

	iod = t_spawn_variant(v, "mode = \"echo\";\nsplice_min_read = 4096;\n"
	    "idle_timeout = 1;\n");
	out = malloc(len);
	in = malloc(len);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &rnd);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	t_xfer(fd, out, len, in, len, 0, t_ms(10000), &x);
	ck_assert_msg(x.got == len, "got %zu of %zu back", x.got, len);
	s_stats(iod, &st);
	ck_assert_msg(st.spliced > 0, "spliced=%ju of bytes_in=%ju",
	    (uintmax_t)st.spliced, (uintmax_t)st.bytes_in);
	end = t_wait_end(fd, t_ms(4000));
	ck_assert_msg(end == T_END_EOF, "idle spliced connection: %s, want "
	    "EOF within idle_timeout and a tick", t_end_name(end));
	s_stats(iod, &st);
	ck_assert_msg(st.timed_out == 1, "timed_out=%ju, want 1",
	    (uintmax_t)st.timed_out);
	close(fd);
	free(out);
	free(in);
	t_expect_stop(iod);
}
END_TEST

/* Proves upper mode never splices: its bytes must be seen to change. */
START_TEST(test_upper_no_splice)
{
	const struct t_variant	*v = t_variant(T_SPLICES, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0x7e77e + (uint64_t)_i;
	size_t			 len = 2 * S_MIB, bad;
	int			 fd;

	iod = t_spawn_variant(v, "mode = \"upper\";\nsplice_min_read = 4096;\n"
	    "idle_timeout = 60;\n");
	out = malloc(len);
	in = malloc(len);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &rnd);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	t_xfer(fd, out, len, in, len, 0, t_ms(30000), &x);
	ck_assert_msg(x.got == len, "got %zu of %zu back", x.got, len);
	bad = t_mismatch(out, in, len, 1);
	ck_assert_msg(bad == len, "byte %zu: sent 0x%02x, got 0x%02x", bad,
	    out[bad], in[bad]);
	s_stats(iod, &st);
	ck_assert_msg(st.spliced == 0 && st.bytes_in == len, "upper mode: "
	    "spliced=%ju bytes_in=%ju", (uintmax_t)st.spliced,
	    (uintmax_t)st.bytes_in);
	close(fd);
	free(out);
	free(in);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves a connection that cannot have a pipe is served all the same:
 * with max_connections above what the open-file limit fits, nothing is
 * left over for pipes, and a stream in echo mode comes back unchanged,
 * copied, with the reason logged.
 */
START_TEST(test_splice_no_pipes)
{
	const struct t_variant	*v = t_variant(T_SPLICES, _i);
	struct t_opts		 o = { .nofile = 512 };
	struct t_iod		*iod;
	struct t_stats		 st;
	char			*conf;

	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"echo\";\n"
	    "max_connections = 1000000;\nsplice_min_read = 4096;\n"
	    "idle_timeout = 60;\n");
	iod = t_spawn_iod(conf, &o);
	free(conf);
	t_log_mark(iod);
	s_pipelined(iod, 2 * S_MIB, 0x9199e + (uint64_t)_i);
	ck_assert_msg(t_wait_log(iod, "without splice (1 connections): no "
	    "descriptors to spare", t_ms(3000)) != NULL, "no line on echoing "
	    "without splice; stderr:\n%s", t_log_tail(iod));
	s_stats(iod, &st);
	ck_assert_msg(st.spliced == 0 && st.bytes_out == 2 * S_MIB,
	    "spliced=%ju bytes_out=%ju with no descriptors for pipes",
	    (uintmax_t)st.spliced, (uintmax_t)st.bytes_out);
	t_expect_stop(iod);
}
END_TEST

/* The splice suite: every test over the variants that splice. */
Suite *
suite_splice(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("splice");
	tc = tcase_create("splice");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_splice_random, 0, t_count(T_SPLICES));
	tcase_add_loop_test(tc, test_splice_half_close, 0,
	    t_count(T_SPLICES));
	tcase_add_loop_test(tc, test_splice_backpressure, 0,
	    t_count(T_SPLICES));
	tcase_add_loop_test(tc, test_splice_drain, 0, t_count(T_SPLICES));
	tcase_add_loop_test(tc, test_splice_idle, 0, S_IDLE_VARIANTS);
	tcase_add_loop_test(tc, test_upper_no_splice, 0, t_count(T_SPLICES));
	tcase_add_loop_test(tc, test_splice_no_pipes, 0, t_count(T_SPLICES));
	suite_add_tcase(s, tc);
	return (s);
}
