/*
 * The iterative engine's own model, end to end: one client at a time per
 * worker, the others waiting in the backlog, and idle_timeout the only
 * bound on a client that never leaves.  The behaviour every engine shares
 * is tested over its row of t_variants[] in the other suites.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define I_WAIT_MS	500	/* a waiting client hears nothing this long */
#define I_LEN		(32 * 1024)	/* fits the backlog's socket buffer */

static const struct t_variant	i_one = { "iterative", 1, T_HOLDS };
static const struct t_variant	i_two = { "iterative", 2, T_HOLDS };

static void	i_expect_waits(int, const char *);
static void	i_expect_counts(struct t_iod *, uint64_t, uint64_t);
static void	i_expect_answer(int, const unsigned char *, size_t,
		    const char *);
static int	i_limit_fds(pid_t);

/* Require that client fd, named what, hears nothing for I_WAIT_MS. */
static void
i_expect_waits(int fd, const char *what)
{
	enum t_end	end;

	end = t_wait_end(fd, I_WAIT_MS);
	ck_assert_msg(end == T_END_TIMEOUT, "%s: %s within %d ms, want "
	    "nothing while another client is served", what, t_end_name(end),
	    I_WAIT_MS);
}

/* Require iod's counters to show accepted and active connections. */
static void
i_expect_counts(struct t_iod *iod, uint64_t accepted, uint64_t active)
{
	struct t_stats	st;

	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line; "
	    "stderr:\n%s", t_log_tail(iod));
	ck_assert_msg(st.accepted == accepted && st.active == active,
	    "accepted=%ju active=%ju, want %ju and %ju",
	    (uintmax_t)st.accepted, (uintmax_t)st.active,
	    (uintmax_t)accepted, (uintmax_t)active);
}

/*
 * Require client fd, named what, which sent len bytes of out and shut
 * down its side, to get all of them back upper-cased, then EOF.
 */
static void
i_expect_answer(int fd, const unsigned char *out, size_t len,
    const char *what)
{
	struct t_xfer	 x;
	unsigned char	*in;
	size_t		 bad;

	in = malloc(len);
	ck_assert(in != NULL);
	t_xfer(fd, NULL, 0, in, len, T_XFER_EOF, t_ms(5000), &x);
	ck_assert_msg(x.got == len && x.eof && x.extra == 0, "%s: got %zu "
	    "of %zu bytes, eof %d, extra %zu, error \"%s\"", what, x.got,
	    len, x.eof, x.extra, t_strerror(x.error));
	bad = t_mismatch(out, in, len, 1);
	ck_assert_msg(bad == len, "%s: byte %zu: sent 0x%02x, got 0x%02x",
	    what, bad, out[bad % len], in[bad % len]);
	free(in);
}

/*
 * Proves one client at a time: while client A is served, client B, which
 * has sent all its bytes and shut down its side, hears nothing and is not
 * even accepted; A is still served meanwhile; once A closes, B gets every
 * byte back, upper-cased, then EOF.
 */
START_TEST(test_one_at_a_time)
{
	struct t_iod	*iod;
	unsigned char	*out;
	uint64_t	 rnd = 0x17e4;
	int		 a, b;

	iod = t_spawn_variant(&i_one, "mode = \"upper\";\n"
	    "idle_timeout = 60;\n");
	out = malloc(I_LEN);
	ck_assert(out != NULL);
	t_fill_random(out, I_LEN, &rnd);
	a = t_connect(iod->port[0]);
	t_expect_roundtrip(a, "first", "FIRST", t_ms(3000), "client A");

	b = t_connect(iod->port[0]);
	ck_assert_msg(b != -1, "connect B: %s", strerror(errno));
	ck_assert_msg(t_send_all(b, out, I_LEN, t_ms(3000)) == I_LEN,
	    "client B could not send %d bytes: %s", I_LEN, strerror(errno));
	ck_assert_msg(shutdown(b, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	i_expect_waits(b, "client B while A is open");
	i_expect_counts(iod, 1, 1);
	t_expect_roundtrip(a, "again", "AGAIN", t_ms(3000),
	    "client A while B waits");

	close(a);
	i_expect_answer(b, out, I_LEN, "client B after A closed");
	close(b);
	free(out);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves idle_timeout is what bounds a client that never closes: with
 * idle_timeout = 1, a first client that connects and stays silent holds
 * the next one up, is closed by iod within idle_timeout plus a margin and
 * counted as timed out, and the next client is then answered in full.
 */
#define I_IDLE_LIMIT_MS	3500	/* idle_timeout + 2.5 s */
START_TEST(test_idle_frees)
{
	struct t_iod	*iod;
	struct t_stats	 st;
	int64_t		 t0, took;
	enum t_end	 end;
	int		 silent, next;

	iod = t_spawn_variant(&i_one, "mode = \"upper\";\n"
	    "idle_timeout = 1;\n");
	silent = t_connect(iod->port[0]);
	ck_assert_msg(silent != -1, "connect: %s", strerror(errno));
	t0 = t_now_ms();
	next = t_connect(iod->port[0]);
	ck_assert_msg(next != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_send_all(next, "next", 4, t_ms(3000)) == 4,
	    "send: %s", strerror(errno));
	ck_assert_msg(shutdown(next, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));

	end = t_wait_end(silent, I_IDLE_LIMIT_MS);
	took = t_now_ms() - t0;
	ck_assert_msg(end == T_END_EOF || end == T_END_RESET, "silent client: "
	    "%s after %jd ms, want closed for idle_timeout = 1",
	    t_end_name(end), (intmax_t)took);
	ck_assert_msg(took >= 900, "silent client closed after %jd ms, "
	    "before idle_timeout = 1", (intmax_t)took);
	i_expect_answer(next, (const unsigned char *)"next", 4,
	    "the client after the silent one");
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line; "
	    "stderr:\n%s", t_log_tail(iod));
	ck_assert_msg(st.timed_out == 1 && st.accepted == 2, "timed_out=%ju "
	    "accepted=%ju, want 1 and 2", (uintmax_t)st.timed_out,
	    (uintmax_t)st.accepted);
	close(silent);
	close(next);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves workers = 2 makes two loop servers on the same listener: two
 * clients are served at once, one by each, a third waits while both are
 * open, and is answered in full once one of them closes.
 */
START_TEST(test_two_workers)
{
	struct t_iod	*iod;
	unsigned char	*out;
	uint64_t	 rnd = 0x17e5;
	int		 a, b, c;

	iod = t_spawn_variant(&i_two, "mode = \"upper\";\n"
	    "idle_timeout = 60;\n");
	out = malloc(I_LEN);
	ck_assert(out != NULL);
	t_fill_random(out, I_LEN, &rnd);
	a = t_connect(iod->port[0]);
	t_expect_roundtrip(a, "one", "ONE", t_ms(3000), "client A");
	b = t_connect(iod->port[0]);
	t_expect_roundtrip(b, "two", "TWO", t_ms(3000),
	    "client B while A is open");
	t_expect_roundtrip(a, "both", "BOTH", t_ms(3000),
	    "client A while B is open");

	c = t_connect(iod->port[0]);
	ck_assert_msg(c != -1, "connect C: %s", strerror(errno));
	ck_assert_msg(t_send_all(c, out, I_LEN, t_ms(3000)) == I_LEN,
	    "client C could not send %d bytes: %s", I_LEN, strerror(errno));
	ck_assert_msg(shutdown(c, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	i_expect_waits(c, "client C while A and B are open");
	i_expect_counts(iod, 2, 2);

	close(b);
	i_expect_answer(c, out, I_LEN, "client C after B closed");
	t_expect_roundtrip(a, "last", "LAST", t_ms(3000),
	    "client A after C was served");
	close(a);
	close(c);
	free(out);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves the engine says what it is: iod -h lists it with its model, and
 * iod logs at start that it is a teaching engine, not for production.
 */
START_TEST(test_teaching)
{
	struct t_opts	 o = { .args = { "-h" },
			    .flags = T_NOSTDERR | T_NOCONF };
	struct t_iod	*iod;
	const char	*want = "engine iterative is a teaching engine, not "
			    "for production (blocking sockets, one client at "
			    "a time)";
	int		 code;

	code = t_run_iod(NULL, &o, t_ms(5000), &iod);
	ck_assert_msg(code == 0 && iod->out.b_data != NULL &&
	    strstr(iod->out.b_data, "iterative  blocking sockets, one client "
	    "at a time") != NULL, "iod -h exited %d and printed:\n%s", code,
	    iod->out.b_data != NULL ? iod->out.b_data : "(nothing)");
	t_stop_iod(iod);

	iod = t_spawn_variant(&i_one, "");
	ck_assert_msg(t_wait_log(iod, want, 0) != NULL, "no \"%s\"; "
	    "stderr:\n%s", want, t_log_tail(iod));
	t_expect_stop(iod);
}
END_TEST

/*
 * Lower pid's soft RLIMIT_NOFILE to its lowest free descriptor, so that
 * the next one it opens fails with EMFILE, and return that limit.  Not
 * to the number it has open: below a hole in its table, that would
 * still let one more in.
 */
#define I_MAXFD		1024
static int
i_limit_fds(pid_t pid)
{
	struct rlimit	 rl;
	struct dirent	*de;
	DIR		*d;
	char		 path[64], used[I_MAXFD];
	long		 fd;
	int		 low;

	memset(used, 0, sizeof(used));
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	ck_assert_msg((d = opendir(path)) != NULL, "opendir %s: %s", path,
	    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		fd = strtol(de->d_name, NULL, 10);
		if (de->d_name[0] != '.' && fd >= 0 && fd < I_MAXFD)
			used[fd] = 1;
	}
	closedir(d);
	for (low = 0; low < I_MAXFD && used[low]; low++)
		;
	ck_assert_msg(low < I_MAXFD, "%d has no free descriptor below %d",
	    (int)pid, I_MAXFD);
	ck_assert_msg(prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0,
	    "prlimit: %s", strerror(errno));
	rl.rlim_cur = (rlim_t)low;
	ck_assert_msg(prlimit(pid, RLIMIT_NOFILE, &rl, NULL) == 0,
	    "prlimit: %s", strerror(errno));
	return (low);
}

/*
 * Proves accept backs off when descriptors run out, for the one client
 * the engine would serve: with iod's soft RLIMIT_NOFILE lowered to its
 * lowest free descriptor, a client waits, iod logs the pause and does
 * not spin (its CPU time over 1.5 s stays low); once the limit is raised
 * again, the client is served.
 */
START_TEST(test_accept_pause)
{
	struct t_iod	*iod;
	struct pollfd	 none;
	long		 t0, t1, hz;
	char		 got[8];
	int		 fd, limit;

	iod = t_spawn_variant(&i_one, "mode = \"upper\";\n"
	    "idle_timeout = 60;\n");
	limit = i_limit_fds(iod->pid);
	t_log_mark(iod);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_send_all(fd, "x", 1, t_ms(3000)) == 1, "send: %s",
	    strerror(errno));
	ck_assert_msg(t_wait_log(iod, "Too many open files; pausing",
	    t_ms(3000)) != NULL, "no pause line with a limit of %d; "
	    "stderr:\n%s", limit, t_log_tail(iod));

	/* A measure over time, not a wait for an event: sleep 1.5 s. */
	hz = sysconf(_SC_CLK_TCK);
	t0 = t_cpu_ticks(iod->pid);
	poll(&none, 0, 1500);
	t1 = t_cpu_ticks(iod->pid);
	ck_assert_msg(t0 >= 0 && t1 - t0 < hz * 3 / 10, "iod used %ld ticks "
	    "(%ld/s) of CPU in 1.5 s while out of descriptors", t1 - t0, hz);
	i_expect_waits(fd, "client while iod is out of descriptors");

	(void)t_limit_fds(iod->pid, 3);
	ck_assert_msg(t_recv_exact(fd, got, 1, t_ms(4000)) == 1 &&
	    got[0] == 'X', "the waiting client was not served once "
	    "descriptors were back; stderr:\n%s", t_log_tail(iod));
	t_expect_roundtrip(fd, "y", "Y", t_ms(3000),
	    "client once descriptors are back");
	close(fd);
	t_expect_stop(iod);
}
END_TEST

/* The iterative suite: the model itself, one case. */
Suite *
suite_iterative(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("iterative");
	tc = tcase_create("iterative");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_one_at_a_time);
	tcase_add_test(tc, test_idle_frees);
	tcase_add_test(tc, test_two_workers);
	tcase_add_test(tc, test_teaching);
	tcase_add_test(tc, test_accept_pause);
	suite_add_tcase(s, tc);
	return (s);
}
