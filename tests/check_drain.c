/*
 * SIGTERM, end to end: iod stops accepting, drains what it owes each
 * client, and exits 0 within shutdown_timeout; a second SIGTERM or a
 * client's reset ends it sooner.  The real binary on 127.0.0.1:0 under
 * every variant of t_variants[].
 */
#include <sys/types.h>
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

static void	l_until_read(struct t_iod *, struct t_stats *, size_t, int);
static void	l_until_still(struct t_iod *, struct t_stats *,
		    struct t_stats *);

/*
 * Ask iod for its counters until it has read len bytes, 20 ms apart, for
 * up to timeout_ms; the last answer is left in *st.
 */
static void
l_until_read(struct t_iod *iod, struct t_stats *st, size_t len,
    int timeout_ms)
{
	int64_t	deadline;
	int	i;

	memset(st, 0, sizeof(*st));
	deadline = t_now_ms() + timeout_ms;
	for (i = 0; i < 1000 && st->bytes_in < len &&
	    t_now_ms() < deadline; i++) {
		if (i > 0)
			poll(NULL, 0, 20);
		ck_assert_msg(t_stats(iod, st, t_ms(3000)) == 0,
		    "no stats line; stderr:\n%s", t_log_tail(iod));
	}
}

/*
 * Ask iod for its counters until bytes_in stands still, at most 20
 * times; the last two answers are left in *st and *st2.
 */
static void
l_until_still(struct t_iod *iod, struct t_stats *st, struct t_stats *st2)
{
	int	i;

	memset(st2, 0, sizeof(*st2));
	for (i = 0; i < 20; i++) {
		*st = *st2;
		ck_assert_msg(t_stats(iod, st2, t_ms(3000)) == 0,
		    "no stats line; stderr:\n%s", t_log_tail(iod));
		if (i > 0 && st2->bytes_in == st->bytes_in)
			break;
	}
}

/*
 * Proves SIGTERM drains what iod has read: iod has read all 8 MiB a client
 * sent but still owes megabytes of the reply (the client's tiny receive
 * window holds it back); after SIGTERM iod closes its listener, sends
 * everything owed, then EOF, and exits 0 well within shutdown_timeout.
 */
#define L_DRAIN_LEN	(8 * 1024 * 1024)	/* max_pending_bytes: 16 MiB */
START_TEST(test_term_drain)
{
	const struct t_variant	*v = t_variant(T_BUFFERS, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0xd7a1;
	int64_t			 t0;
	size_t			 bad, len = L_DRAIN_LEN;
	int			 fd, port, err;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_pending_bytes = 16777216;\n"
	    "shutdown_timeout = 5;\nidle_timeout = 60;\n");
	port = iod->port[0];
	out = malloc(len);
	in = malloc(len);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &rnd);
	fd = t_connect_rcvbuf(port, 2048);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_send_all(fd, out, len, t_ms(10000)) == (ssize_t)len,
	    "send: %s", strerror(errno));

	/* Until iod has read it all; the counters say when. */
	l_until_read(iod, &st, len, t_ms(15000));
	ck_assert_msg(st.bytes_in == len, "bytes_in=%ju, want %zu",
	    (uintmax_t)st.bytes_in, len);
	ck_assert_msg(st.bytes_out < len, "test setup: iod owes nothing "
	    "(bytes_out=%ju)", (uintmax_t)st.bytes_out);

	t_log_mark(iod);
	t0 = t_now_ms();
	kill(iod->pid, SIGTERM);
	ck_assert_msg(t_wait_log(iod, "iod: shutting down", t_ms(3000)) !=
	    NULL, "no \"shutting down\"; stderr:\n%s", t_log_tail(iod));
	err = t_refused("127.0.0.1", port, t_ms(3000));
	ck_assert_msg(err == ECONNREFUSED, "port %d after SIGTERM: %s", port,
	    err ? strerror(err) : "still accepts");
	t_xfer(fd, NULL, 0, in, len, T_XFER_EOF, t_ms(10000), &x);
	ck_assert_msg(x.got == len && x.eof && x.extra == 0,
	    "after SIGTERM got %zu of %zu bytes (iod had written %ju), "
	    "eof %d, extra %zu, error \"%s\"", x.got, len,
	    (uintmax_t)st.bytes_out, x.eof, x.extra, t_strerror(x.error));
	bad = t_mismatch(out, in, len, 1);
	ck_assert_msg(bad == len, "byte %zu: sent 0x%02x, got 0x%02x", bad,
	    out[bad % len], in[bad % len]);
	ck_assert_msg(t_wait_exit(iod, t_ms(3000)) == 0,
	    "iod still runs %jd ms after SIGTERM with nothing owed",
	    (intmax_t)(t_now_ms() - t0));
	ck_assert_msg(WIFEXITED(iod->status) && WEXITSTATUS(iod->status) == 0,
	    "wait status 0x%x, want exit 0; stderr:\n%s", iod->status,
	    t_log_tail(iod));
	ck_assert_msg(t_wait_log(iod, "iod: exiting", 0) != NULL,
	    "no \"exiting\"; stderr:\n%s", t_log_tail(iod));
	close(fd);
	free(out);
	free(in);
	t_stop_iod(iod);
}
END_TEST

/*
 * Proves SIGTERM drains a client stuck by backpressure: it sent far more
 * than iod read, and iod owes it the reply to every byte it did read.
 * The client starts reading right after SIGTERM, so iod may read a little
 * more before its workers stop; the client must get at least what iod
 * had read before SIGTERM (bytes_in), every byte right, then EOF.
 */
START_TEST(test_term_drain_stuck)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	struct t_stats		 st, st2;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0xd7a2;
	size_t			 len = 32 * 1024 * 1024, sent, owed, bad;
	int			 fd;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_pending_bytes = 65536;\n"
	    "shutdown_timeout = 5;\nidle_timeout = 60;\n");
	out = malloc(len);
	in = malloc(len);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &rnd);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	sent = t_send_until_stuck(fd, out, len, 200);
	ck_assert_msg(sent < len, "iod took all %zu bytes from a client that "
	    "did not read", len);

	/* iod is stuck once its counters stand still. */
	l_until_still(iod, &st, &st2);
	owed = (size_t)st2.bytes_in;
	ck_assert_msg(owed > 0 && owed < sent && st2.bytes_in == st.bytes_in,
	    "bytes_in=%ju then %ju, sent %zu", (uintmax_t)st.bytes_in,
	    (uintmax_t)st2.bytes_in, sent);

	t_log_mark(iod);
	kill(iod->pid, SIGTERM);
	ck_assert_msg(t_wait_log(iod, "iod: shutting down", t_ms(3000)) !=
	    NULL, "no \"shutting down\"; stderr:\n%s", t_log_tail(iod));
	t_xfer(fd, NULL, 0, in, sent, T_XFER_EOF, t_ms(10000), &x);
	ck_assert_msg(x.got >= owed, "after SIGTERM got %zu bytes, then %s; "
	    "iod had read %zu of %zu sent and written %ju", x.got,
	    x.eof ? "EOF" : x.error ? t_strerror(x.error) : "nothing", owed,
	    sent, (uintmax_t)st2.bytes_out);
	bad = t_mismatch(out, in, x.got, 1);
	ck_assert_msg(bad == x.got, "byte %zu: sent 0x%02x, got 0x%02x", bad,
	    out[bad % x.got], in[bad % x.got]);
	ck_assert_msg(x.eof, "after %zu bytes (at least %zu owed): %s, want "
	    "EOF", x.got, owed, x.error ? t_strerror(x.error) : "timed out");
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
 * Proves shutdown_timeout bounds SIGTERM: a client that never reads does
 * not keep iod beyond shutdown_timeout (2 s) plus a margin, iod still
 * exits 0, and an idle client meanwhile just gets EOF.  An engine that
 * serves one client at a time would not serve the idle client while the
 * other is open, so there the stuck client is alone.
 */
#define L_DEADLINE_S	2
#define L_MARGIN_MS	t_ms(1500)
START_TEST(test_term_deadline)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	unsigned char		*fill;
	size_t			 flen = T_STUCK_BYTES;
	int64_t			 t0, took;
	enum t_end		 end;
	char			 extra[256];
	int			 stuck, idle = -1;

	snprintf(extra, sizeof(extra), "mode = \"upper\";\n"
	    "max_pending_bytes = 65536;\nshutdown_timeout = %d;\n"
	    "idle_timeout = 60;\n", L_DEADLINE_S);
	iod = t_spawn_variant(v, extra);
	fill = calloc(1, flen);		/* what it sends never comes back */
	ck_assert(fill != NULL);
	stuck = t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF);
	ck_assert_msg(stuck != -1, "connect: %s", strerror(errno));
	if (v->caps & T_CONCURRENT) {
		idle = t_connect(iod->port[0]);
		ck_assert_msg(idle != -1, "connect: %s", strerror(errno));
		t_expect_roundtrip(idle, "idle", "IDLE", t_ms(3000),
		    "idle client");
	}
	ck_assert_msg(t_send_until_stuck(stuck, fill, flen, 200) < flen,
	    "iod took all %zu bytes from a client that never reads", flen);

	t0 = t_now_ms();
	kill(iod->pid, SIGTERM);
	if (idle != -1) {
		end = t_wait_end(idle, t_ms(2000));
		ck_assert_msg(end == T_END_EOF, "idle client after SIGTERM: "
		    "%s", t_end_name(end));
	}
	ck_assert_msg(t_wait_exit(iod, L_DEADLINE_S * 1000 + L_MARGIN_MS) == 0,
	    "iod still runs %jd ms after SIGTERM (shutdown_timeout %d s); "
	    "stderr:\n%s", (intmax_t)(t_now_ms() - t0), L_DEADLINE_S,
	    t_log_tail(iod));
	took = t_now_ms() - t0;
	ck_assert_msg(WIFEXITED(iod->status) && WEXITSTATUS(iod->status) == 0,
	    "wait status 0x%x after %jd ms, want exit 0; stderr:\n%s",
	    iod->status, (intmax_t)took, t_log_tail(iod));
	close(stuck);
	if (idle != -1)
		close(idle);
	free(fill);
	t_stop_iod(iod);
}
END_TEST

/*
 * Proves a second SIGTERM ends iod at once, even while a client that
 * never reads would hold a long shutdown_timeout.
 */
START_TEST(test_term_twice)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	unsigned char		*fill;
	size_t			 flen = T_STUCK_BYTES;
	int64_t			 t0;
	int			 stuck;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_pending_bytes = 65536;\n"
	    "shutdown_timeout = 60;\nidle_timeout = 120;\n");
	fill = calloc(1, flen);		/* what it sends never comes back */
	ck_assert(fill != NULL);
	stuck = t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF);
	ck_assert_msg(stuck != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_send_until_stuck(stuck, fill, flen, 200) < flen,
	    "iod took all %zu bytes from a client that never reads", flen);
	t_log_mark(iod);
	kill(iod->pid, SIGTERM);
	ck_assert_msg(t_wait_log(iod, "iod: shutting down", t_ms(3000)) !=
	    NULL, "no \"shutting down\"; stderr:\n%s", t_log_tail(iod));
	t0 = t_now_ms();
	kill(iod->pid, SIGTERM);
	ck_assert_msg(t_wait_exit(iod, t_ms(2000)) == 0,
	    "iod still runs %jd ms after the second SIGTERM; stderr:\n%s",
	    (intmax_t)(t_now_ms() - t0), t_log_tail(iod));
	ck_assert_msg(WIFEXITED(iod->status), "wait status 0x%x: not an exit",
	    iod->status);
	close(stuck);
	free(fill);
	t_stop_iod(iod);
}
END_TEST

/*
 * Proves a client that resets while iod drains it does not hold up the
 * shutdown.  iod has written the whole reply, but the client's tiny
 * receive window holds part of it back unacknowledged, so after SIGTERM
 * iod waits for the client to take it.  The client resets instead, and
 * iod exits 0 at once, not at shutdown_timeout: the kernel goes on
 * counting a reset connection's unacknowledged bytes, and a drain that
 * waited for that count to fall would wait for the deadline.
 */
#define L_RESET_LEN	16384
START_TEST(test_term_reset)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	unsigned char		 out[L_RESET_LEN];
	uint64_t		 rnd = 0xd7a3;
	int64_t			 t0, deadline;
	int			 fd, i;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_pending_bytes = 65536;\n"
	    "shutdown_timeout = 30;\nidle_timeout = 60;\n");
	t_fill_random(out, sizeof(out), &rnd);
	fd = t_connect_rcvbuf(iod->port[0], 2048);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_send_all(fd, out, sizeof(out), t_ms(3000)) ==
	    (ssize_t)sizeof(out), "send: %s", strerror(errno));

	/* Until iod has written the whole reply; the counters say when. */
	memset(&st, 0, sizeof(st));
	deadline = t_now_ms() + t_ms(10000);
	for (i = 0; i < 500 && st.bytes_out < sizeof(out) &&
	    t_now_ms() < deadline; i++) {
		if (i > 0)
			poll(NULL, 0, 20);
		ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0,
		    "no stats line; stderr:\n%s", t_log_tail(iod));
	}
	ck_assert_msg(st.bytes_out == sizeof(out), "bytes_out=%ju, want %zu",
	    (uintmax_t)st.bytes_out, sizeof(out));

	t_log_mark(iod);
	kill(iod->pid, SIGTERM);
	ck_assert_msg(t_wait_log(iod, "iod: shutting down", t_ms(3000)) !=
	    NULL, "no \"shutting down\"; stderr:\n%s", t_log_tail(iod));
	ck_assert_msg(t_wait_exit(iod, 300) == -1, "test setup: iod exited "
	    "while its client had not taken the reply; stderr:\n%s",
	    t_log_tail(iod));
	t_reset_close(fd);
	t0 = t_now_ms();
	ck_assert_msg(t_wait_exit(iod, t_ms(5000)) == 0, "iod still runs "
	    "%jd ms after its last client reset (shutdown_timeout 30 s); "
	    "stderr:\n%s", (intmax_t)(t_now_ms() - t0), t_log_tail(iod));
	ck_assert_msg(WIFEXITED(iod->status) && WEXITSTATUS(iod->status) == 0,
	    "wait status 0x%x, want exit 0; stderr:\n%s", iod->status,
	    t_log_tail(iod));
	t_stop_iod(iod);
}
END_TEST

/* The drain suite: every shutdown test over t_variants[]. */
Suite *
suite_drain(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("drain");
	tc = tcase_create("drain");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_term_drain, 0, t_count(T_BUFFERS));
	tcase_add_loop_test(tc, test_term_drain_stuck, 0, t_count(0));
	tcase_add_loop_test(tc, test_term_deadline, 0, t_count(0));
	tcase_add_loop_test(tc, test_term_twice, 0, t_count(0));
	tcase_add_loop_test(tc, test_term_reset, 0, t_count(0));
	suite_add_tcase(s, tc);
	return (s);
}
