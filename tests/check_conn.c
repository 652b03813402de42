/*
 * The core's connection rules (conn.c, and engine.c's command dispatch),
 * through their interfaces: no daemon, a fake engine that records what
 * the core asks of it, and real sockets on loopback where a rule asks the
 * kernel.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"
#include "lib.h"

#define FAKE_MAX	16	/* calls a fake engine records */

/* A connection of the fake engine: the core's part and a mark. */
struct fake_conn {
	struct conn	fc_conn;
	int		fc_mark;
};

/* The settings every test starts from: the defaults. */
static struct iod_conf	conf;

/* What the core asked of the fake engine, in order. */
static struct {
	char	what[FAKE_MAX][64];	/* "drain 7: shutdown" */
	int	n;
	int	listens, unlistens;
	int	halts[CONN_CUT + 1];
} fake;

static void	fake_record(const char *, struct conn *, const char *);
static void	fake_drain(struct worker *, struct conn *, const char *);
static void	fake_close(struct worker *, struct conn *, const char *);
static void	fake_listen(struct worker *);
static void	fake_unlisten(struct worker *);
static void	fake_halt(struct worker *, enum conn_order);
static size_t	fake_count(const struct worker *);
static void	conf_setup(void);
static void	conf_teardown(void);
static void	setup_worker(struct worker *, const struct engine *);
static void	tcp_pair(int *, int *);
static int	fd_open(int);

static const struct engine fake_table = {
	.name = "fake-table", .listen = fake_listen,
	.unlisten = fake_unlisten, .conn_size = sizeof(struct fake_conn),
	.drain = fake_drain, .close = fake_close
};

static const struct engine fake_blocking = {
	.name = "fake-blocking", .listen = fake_listen,
	.unlisten = fake_unlisten, .halt = fake_halt, .count = fake_count
};

/* Note one call of the core's into the fake engine. */
static void
fake_record(const char *op, struct conn *c, const char *why)
{
	ck_assert_int_lt(fake.n, FAKE_MAX);
	snprintf(fake.what[fake.n++], sizeof(fake.what[0]), "%s %d: %s", op,
	    conn_fd(c), why);
}

/* The fake drain: record it. */
static void
fake_drain(struct worker *w, struct conn *c, const char *why)
{
	fake_record("drain", c, why);
}

/* The fake close: record it and release, as every engine's close does. */
static void
fake_close(struct worker *w, struct conn *c, const char *why)
{
	int	fd = conn_fd(c);

	fake_record("close", c, why);
	conn_release(w, c, why);
	close(fd);
}

/* Count a listen. */
static void
fake_listen(struct worker *w)
{
	fake.listens++;
}

/* Count an unlisten. */
static void
fake_unlisten(struct worker *w)
{
	fake.unlistens++;
}

/* Count a halt of connections that run on their own. */
static void
fake_halt(struct worker *w, enum conn_order order)
{
	fake.halts[order]++;
}

/* Connections that run on their own: pretend there are three. */
static size_t
fake_count(const struct worker *w)
{
	return (3);
}

/* Each test starts from the default settings... */
static void
conf_setup(void)
{
}

/* ...and frees them. */
static void
conf_teardown(void)
{
	conf_free(&conf);
}

/* A worker for engine e under conf, and a table for its slots. */
static void
setup_worker(struct worker *w, const struct engine *e)
{
	char	cause[256];

	memset(&fake, 0, sizeof(fake));
	memset(w, 0, sizeof(*w));
	w->w_ops = e;
	w->w_conf = &conf;
	w->w_first = -1;
	stats_set_limit(1000);
	ck_assert_msg(conn_table_init(sizeof(struct fake_conn), cause,
	    sizeof(cause)) == 0, "conn_table_init: %s", cause);
}

/* A connected pair of TCP sockets on loopback: client and server. */
static void
tcp_pair(int *client, int *server)
{
	int	lfd, port;

	lfd = t_listen_loopback(&port);
	ck_assert_int_ge(lfd, 0);
	*client = t_connect(port);
	ck_assert_int_ge(*client, 0);
	*server = accept(lfd, NULL, NULL);
	ck_assert_msg(*server >= 0, "accept: %s", strerror(errno));
	close(lfd);
}

/* Is fd an open descriptor? */
static int
fd_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

/*
 * Proves a connection keeps the settings it was admitted with: mode,
 * idle_timeout and max_pending_bytes are copied, READING is where it
 * starts, and a later change to the configuration does not reach it.
 */
START_TEST(test_conn_settings)
{
	struct conn	c;

	conf.mode = TRANSFORM_ECHO;
	conf.idle_timeout = 604800;
	conf.max_pending_bytes = 4096;
	memset(&c, 0xff, sizeof(c));
	conn_init(&c, &conf, 5000);
	ck_assert_msg(c.c_mode == TRANSFORM_ECHO, "mode %d", c.c_mode);
	ck_assert_msg(c.c_idle == 604800, "idle %u", c.c_idle);
	ck_assert_msg(c.c_max_pending == 4096, "max_pending %u",
	    c.c_max_pending);
	ck_assert_msg(c.c_state == CONN_READING, "state %s",
	    conn_state_name(c.c_state));
	ck_assert_msg(c.c_eof == 0 && c.c_flags == 0, "eof %u flags %u",
	    c.c_eof, c.c_flags);
	ck_assert_msg(c.c_last_io == 5000, "last_io %u", c.c_last_io);
	conf.idle_timeout = 1;
	conf.max_pending_bytes = 1 << 20;
	ck_assert_msg(c.c_idle == 604800 && c.c_max_pending == 4096,
	    "a changed conf reached the connection: idle %u, max %u",
	    c.c_idle, c.c_max_pending);
}
END_TEST

/*
 * Proves the backpressure rule at its edges: full from max_pending_bytes
 * owed, drained again at half of it and below, never in between.
 */
START_TEST(test_conn_backpressure)
{
	struct conn	c;

	conf.max_pending_bytes = 1000;
	conn_init(&c, &conf, 0);
	ck_assert_msg(!conn_full(&c, 999), "full at 999 of 1000");
	ck_assert_msg(conn_full(&c, 1000), "not full at 1000");
	ck_assert_msg(conn_full(&c, 5000), "not full at 5000");
	ck_assert_msg(conn_resume_level(&c) == 500, "resume level %zu",
	    conn_resume_level(&c));
	ck_assert_msg(conn_drained(&c, 500), "not drained at 500");
	ck_assert_msg(conn_drained(&c, 0), "not drained at 0");
	ck_assert_msg(!conn_drained(&c, 501), "drained at 501");
	ck_assert_msg(!conn_drained(&c, 999), "drained at 999");
}
END_TEST

/*
 * Proves the idle rule on the millisecond clock: no limit without
 * idle_timeout, the time left counts down from the last byte, a byte
 * starts it again, it is 0 exactly at idle_timeout, and it stays right
 * where the clock, kept modulo 2^32, wraps.
 */
START_TEST(test_conn_idle)
{
	struct conn	c;
	int64_t		wrap = (int64_t)1 << 32;

	conf.idle_timeout = 0;
	conn_init(&c, &conf, 0);
	ck_assert_msg(conn_idle_left(&c, 1000000000) == -1, "left %lld "
	    "without idle_timeout", (long long)conn_idle_left(&c, 1000000000));
	conf.idle_timeout = 2;
	conn_init(&c, &conf, 10000);
	ck_assert_int_eq(conn_idle_left(&c, 10000), 2000);
	ck_assert_int_eq(conn_idle_left(&c, 11999), 1);
	ck_assert_int_eq(conn_idle_left(&c, 12000), 0);
	ck_assert_int_eq(conn_idle_left(&c, 99999), 0);
	conn_touch(&c, 11500);
	ck_assert_int_eq(conn_idle_left(&c, 12000), 1500);
	conn_touch(&c, wrap - 500);
	ck_assert_int_eq(conn_idle_left(&c, wrap + 1000), 500);
	ck_assert_int_eq(conn_idle_left(&c, wrap + 1500), 0);
}
END_TEST

/*
 * Proves admission under max_connections: a slot in the table at the
 * descriptor, linked and counted by its worker, until the limit; past
 * it the descriptor is closed at once, counted as rejected, and the
 * warning names the limit in force (2 here, where the configuration
 * says 10000: an open-file limit may have lowered it).  Release unlinks,
 * marks CLOSED and gives the place back.
 */
START_TEST(test_conn_admit)
{
	struct worker		 w;
	struct stats_snapshot	 s0, s;
	struct conn		*a, *b;
	FILE			*errf;
	char			 log[512], want[64];
	int			 fa, fb, fc, errfd, saved, refused;
	ssize_t			 n;

	setup_worker(&w, &fake_table);
	stats_read(&s0);
	ck_assert_int_eq(s0.active, 0);
	stats_set_limit(2);
	fa = socket(AF_INET, SOCK_STREAM, 0);
	fb = socket(AF_INET, SOCK_STREAM, 0);
	fc = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_msg((a = conn_admit(&w, NULL, fa, 0)) != NULL,
	    "first refused");
	ck_assert_msg((b = conn_admit(&w, NULL, fb, 0)) != NULL,
	    "second refused");
	ck_assert_msg(conn_at(fa) == a && conn_fd(a) == fa, "slot of %d is "
	    "for %d", fa, conn_fd(a));
	errf = tmpfile();
	ck_assert_msg(errf != NULL, "tmpfile: %s", strerror(errno));
	errfd = fileno(errf);
	saved = dup(2);
	dup2(errfd, 2);
	refused = conn_admit(&w, NULL, fc, 0) == NULL;
	dup2(saved, 2);
	ck_assert_msg(refused, "third admitted over a limit of 2");
	n = pread(errfd, log, sizeof(log) - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "max_connections (2) reached");
	ck_assert_msg(strstr(log, want) != NULL, "want \"%s\" in \"%s\"",
	    want, log);
	fclose(errf);
	close(saved);
	ck_assert_msg(!fd_open(fc), "refused descriptor %d still open", fc);
	ck_assert_msg(conn_count(&w) == 2, "count %zu", conn_count(&w));
	ck_assert_msg(w.w_first == fb && b->c_next == fa && a->c_next == -1,
	    "list: first %d, then %d, then %d", w.w_first, b->c_next,
	    a->c_next);
	stats_read(&s);
	ck_assert_msg(s.active == s0.active + 2 && s.rejected ==
	    s0.rejected + 1, "active %llu, rejected %llu",
	    (unsigned long long)(s.active - s0.active),
	    (unsigned long long)(s.rejected - s0.rejected));
	conn_release(&w, b, "test");
	ck_assert_msg(b->c_state == CONN_CLOSED, "released: %s",
	    conn_state_name(b->c_state));
	ck_assert_msg(conn_count(&w) == 1 && w.w_first == fa &&
	    a->c_prev == -1, "after release: count %zu, first %d",
	    conn_count(&w), w.w_first);
	stats_read(&s);
	ck_assert_msg(s.active == s0.active + 1, "active %llu after release",
	    (unsigned long long)(s.active - s0.active));
	close(fa);
	close(fb);
}
END_TEST

/*
 * Proves the finish decision on real sockets: nothing left to lose
 * means close now; unread input means half-close and linger (the client
 * then reads its end of input); the client's own end of input, or its
 * reset, means close now.
 */
START_TEST(test_conn_finish)
{
	struct worker	 w;
	struct conn	*c;
	int		 cl, sv, i;

	setup_worker(&w, &fake_table);
	tcp_pair(&cl, &sv);
	c = conn_admit(&w, NULL, sv, 0);
	ck_assert_msg(conn_finish(&w, c) == 0, "lingers with nothing owed "
	    "or unread");
	ck_assert_msg(t_send_all(cl, "abc", 3, 1000) == 3, "send");
	ck_assert_msg(poll(&(struct pollfd){ sv, POLLIN, 0 }, 1, 1000) == 1,
	    "input never arrived");
	ck_assert_msg(conn_finish(&w, c) == 1, "closes with input unread");
	ck_assert_msg(c->c_state == CONN_LINGERING, "state %s",
	    conn_state_name(c->c_state));
	ck_assert_msg(t_wait_end(cl, 1000) == T_END_EOF, "client saw %s, not "
	    "the end of input", t_end_name(t_wait_end(cl, 0)));
	c->c_eof = 1;
	ck_assert_msg(conn_finish(&w, c) == 0, "lingers after the client's "
	    "end of input");
	conn_release(&w, c, "test");
	close(sv);
	close(cl);

	tcp_pair(&cl, &sv);
	c = conn_admit(&w, NULL, sv, 0);
	ck_assert_msg(t_send_all(cl, "abc", 3, 1000) == 3, "send");
	ck_assert_msg(poll(&(struct pollfd){ sv, POLLIN, 0 }, 1, 1000) == 1,
	    "input never arrived");
	ck_assert_msg(conn_must_linger(sv) == 1, "need not linger with "
	    "input unread");
	t_reset_close(cl);
	for (i = 0; i < 100 && conn_must_linger(sv); i++)
		(void)poll(NULL, 0, 10);
	ck_assert_msg(conn_must_linger(sv) == 0, "must linger 1 s after the "
	    "client's reset");
	ck_assert_msg(conn_finish(&w, c) == 0, "lingers after a reset");
	conn_release(&w, c, "test");
	close(sv);
}
END_TEST

/*
 * Proves the tick closes exactly the connections the idle rule ends,
 * with "idle timeout" and the counter, and lingering ones that have
 * nothing left to lose, with "drained"; a fresh one stays.
 */
START_TEST(test_conn_tick)
{
	struct worker		 w;
	struct stats_snapshot	 s0, s;
	struct conn		*idle, *fresh, *linger;
	char			 want[3][64];
	int			 fi, ff, fl, i;

	setup_worker(&w, &fake_table);
	conf.idle_timeout = 1;
	stats_read(&s0);
	fi = socket(AF_INET, SOCK_STREAM, 0);
	ff = socket(AF_INET, SOCK_STREAM, 0);
	fl = socket(AF_INET, SOCK_STREAM, 0);
	idle = conn_admit(&w, NULL, fi, 10000);
	fresh = conn_admit(&w, NULL, ff, 10000);
	linger = conn_admit(&w, NULL, fl, 10000);
	conn_touch(fresh, 10500);
	conn_set_state(&w, linger, CONN_LINGERING);
	conn_touch(linger, 10900);
	conn_tick(&w, 11000);
	snprintf(want[0], sizeof(want[0]), "close %d: drained", fl);
	snprintf(want[1], sizeof(want[1]), "close %d: idle timeout", fi);
	ck_assert_msg(fake.n == 2, "%d closes, first \"%s\"", fake.n,
	    fake.what[0]);
	for (i = 0; i < 2; i++)
		ck_assert_msg(strcmp(fake.what[i], want[i]) == 0, "call %d: "
		    "\"%s\", not \"%s\"", i, fake.what[i], want[i]);
	ck_assert_msg(conn_count(&w) == 1 && w.w_first == ff, "left: %zu, "
	    "first %d", conn_count(&w), w.w_first);
	ck_assert_msg(idle->c_state == CONN_CLOSED &&
	    fresh->c_state == CONN_READING, "idle %s, fresh %s",
	    conn_state_name(idle->c_state), conn_state_name(fresh->c_state));
	stats_read(&s);
	ck_assert_msg(s.timed_out == s0.timed_out + 1, "timed out %llu",
	    (unsigned long long)(s.timed_out - s0.timed_out));
	conn_tick(&w, 11499);
	ck_assert_msg(fake.n == 2, "fresh closed early: \"%s\"",
	    fake.what[2]);
	conn_tick(&w, 11500);
	snprintf(want[2], sizeof(want[2]), "close %d: idle timeout", ff);
	ck_assert_msg(fake.n == 3 && strcmp(fake.what[2], want[2]) == 0,
	    "%d calls, last \"%s\"", fake.n, fake.what[fake.n - 1]);
	ck_assert_msg(engine_done(&w) == 0, "done without a STOP");
}
END_TEST

/*
 * Proves a lingering connection that still has something to lose (input
 * it never read) is held by the tick until its idle_timeout, and then
 * closed for that: a client that never finishes cannot keep it forever.
 */
START_TEST(test_conn_tick_linger_idle)
{
	struct worker		 w;
	struct conn		*c;
	char			 want[64];
	int			 cl, sv;

	setup_worker(&w, &fake_table);
	conf.idle_timeout = 1;
	tcp_pair(&cl, &sv);
	c = conn_admit(&w, NULL, sv, 10000);
	ck_assert_msg(t_send_all(cl, "abc", 3, 1000) == 3, "send");
	ck_assert_msg(poll(&(struct pollfd){ sv, POLLIN, 0 }, 1, 1000) == 1,
	    "input never arrived");
	ck_assert_msg(conn_finish(&w, c) == 1, "closes with input unread");
	conn_tick(&w, 10999);
	ck_assert_msg(fake.n == 0, "closed before idle_timeout: \"%s\"",
	    fake.what[0]);
	conn_tick(&w, 11000);
	snprintf(want, sizeof(want), "close %d: idle timeout", sv);
	ck_assert_msg(fake.n == 1 && strcmp(fake.what[0], want) == 0,
	    "%d calls, first \"%s\"", fake.n, fake.what[0]);
	close(cl);
}
END_TEST

/*
 * Proves the commands are dispatched once for every engine: APPLY
 * listens; STOP stops listening and drains each connection in the
 * table; DEADLINE cuts them; a blocking engine is told to halt instead.
 * A stopping worker with no connection left is done.
 */
START_TEST(test_engine_command)
{
	struct worker	 w;
	int		 fa, fb;

	setup_worker(&w, &fake_table);
	fa = socket(AF_INET, SOCK_STREAM, 0);
	fb = socket(AF_INET, SOCK_STREAM, 0);
	(void)conn_admit(&w, NULL, fa, 0);
	(void)conn_admit(&w, NULL, fb, 0);
	engine_command(&w, ENGINE_APPLY);
	ck_assert_msg(fake.listens == 1 && fake.unlistens == 0, "APPLY: "
	    "%d listens, %d unlistens", fake.listens, fake.unlistens);
	engine_command(&w, ENGINE_STOP);
	ck_assert_msg(w.w_stopping && fake.unlistens == 1, "STOP: stopping "
	    "%d, %d unlistens", w.w_stopping, fake.unlistens);
	ck_assert_msg(fake.n == 2 && strncmp(fake.what[0], "drain", 5) == 0 &&
	    strstr(fake.what[1], ": shutdown") != NULL, "STOP: %d calls, "
	    "\"%s\", \"%s\"", fake.n, fake.what[0], fake.what[1]);
	ck_assert_msg(!engine_done(&w), "done with 2 connections");
	engine_command(&w, ENGINE_DEADLINE);
	ck_assert_msg(fake.n == 4 && strstr(fake.what[3],
	    "close") != NULL && strstr(fake.what[3], "shutdown deadline"),
	    "DEADLINE: %d calls, last \"%s\"", fake.n, fake.what[fake.n - 1]);
	ck_assert_msg(engine_done(&w), "not done with %zu connections",
	    conn_count(&w));

	setup_worker(&w, &fake_blocking);
	engine_command(&w, ENGINE_STOP);
	engine_command(&w, ENGINE_DEADLINE);
	ck_assert_msg(fake.halts[CONN_DRAIN] == 1 && fake.halts[CONN_CUT] == 1,
	    "halts: drain %d, cut %d", fake.halts[CONN_DRAIN],
	    fake.halts[CONN_CUT]);
	ck_assert_msg(conn_count(&w) == 3 && !engine_done(&w), "count %zu",
	    conn_count(&w));
}
END_TEST

/*
 * Proves every state has a name and the setter changes the state (its
 * debug line names both).
 */
START_TEST(test_conn_states)
{
	static const char *const names[] = {
		"reading", "paused", "proxy", "draining", "lingering",
		"closed"
	};
	struct worker	 w;
	struct conn	*c;
	int		 fd, s;

	setup_worker(&w, &fake_table);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	c = conn_admit(&w, NULL, fd, 0);
	for (s = CONN_READING; s <= CONN_CLOSED; s++) {
		ck_assert_str_eq(conn_state_name(s), names[s]);
		conn_set_state(&w, c, s);
		ck_assert_msg(c->c_state == (unsigned int)s, "set %s, got %s",
		    names[s], conn_state_name(c->c_state));
		ck_assert_msg(conn_ending(c) == (s >= CONN_DRAINING),
		    "%s: ending %d", names[s], conn_ending(c));
	}
	close(fd);
}
END_TEST

/* The conn suite: the core's rules, without a daemon. */
Suite *
suite_conn(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("conn");
	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
	tcase_add_test(tc, test_conn_settings);
	tcase_add_test(tc, test_conn_backpressure);
	tcase_add_test(tc, test_conn_idle);
	tcase_add_test(tc, test_conn_states);
	suite_add_tcase(s, tc);
	tc = tcase_create("worker");
	tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
	tcase_add_test(tc, test_conn_admit);
	tcase_add_test(tc, test_conn_finish);
	tcase_add_test(tc, test_conn_tick);
	tcase_add_test(tc, test_conn_tick_linger_idle);
	tcase_add_test(tc, test_engine_command);
	suite_add_tcase(s, tc);
	return (s);
}
