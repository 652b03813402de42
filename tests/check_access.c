/*
 * Who may connect, end to end: allow and deny (global, and a listen
 * group's own), max_per_source, and a reload that changes them.  The
 * real binary on 127.0.0.1:0 under every variant of t_variants[];
 * clients come from distinct sources of 127.0.0.0/8.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

static void	a_refused(struct t_iod *, size_t, const char *, const char *);
static void	a_served(struct t_iod *, size_t, const char *, const char *);
static int	a_retry(int, const char *, int *);
static void	a_counts(struct t_iod *, uint64_t, uint64_t, uint64_t);

/* The address of each listener the tests configure, by port index. */
static const char *const a_hosts[] = { "127.0.0.1", "127.0.0.10" };

/*
 * A client from src to listener i is closed at once without a byte: it may
 * read EOF or, having sent, a reset, never data.
 */
static void
a_refused(struct t_iod *iod, size_t i, const char *src, const char *what)
{
	enum t_end	end;
	int		fd;

	fd = t_connect_from(src, a_hosts[i], iod->port[i]);
	ck_assert_msg(fd != -1, "%s: connect from %s: %s", what, src,
	    strerror(errno));
	(void)send(fd, "x", 1, MSG_NOSIGNAL);
	end = t_wait_end(fd, t_ms(3000));
	ck_assert_msg(end == T_END_EOF || end == T_END_RESET,
	    "%s: client from %s: %s, want EOF or reset with nothing read",
	    what, src, t_end_name(end));
	close(fd);
}

/* A client from src to listener i is served. */
static void
a_served(struct t_iod *iod, size_t i, const char *src, const char *what)
{
	int	fd;

	fd = t_connect_from(src, a_hosts[i], iod->port[i]);
	t_expect_roundtrip(fd, "who", "WHO", t_ms(3000), "%s: client from %s",
	    what, src);
	close(fd);
}

/*
 * Connect from src until a round trip works: iod gives back a source's
 * place around its close() (for fork, when it reaps the child), which a
 * client cannot observe.  Bounded in count and time; returns the open
 * descriptor, or -1, with the tries made in *tries.
 */
static int
a_retry(int port, const char *src, int *tries)
{
	char	got[16];
	int64_t	deadline = t_now_ms() + t_ms(5000);
	int	fd;

	for (*tries = 0; *tries < 200 && t_now_ms() < deadline; (*tries)++) {
		if (*tries > 0)
			poll(NULL, 0, 20);
		fd = t_connect_from(src, "127.0.0.1", port);
		ck_assert_msg(fd != -1, "connect from %s: %s", src,
		    strerror(errno));
		memset(got, 0, sizeof(got));
		if (t_roundtrip(fd, "new", got, sizeof(got),
		    t_ms(1000)) == 3 && strcmp(got, "NEW") == 0)
			return (fd);
		close(fd);
	}
	return (-1);
}

/* The refusal counters of the SIGUSR1 line are what they should be. */
static void
a_counts(struct t_iod *iod, uint64_t deny, uint64_t allow, uint64_t source)
{
	struct t_stats	st;

	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line: %s",
	    t_log_tail(iod));
	ck_assert_msg(st.refused_deny == deny &&
	    st.refused_not_allowed == allow &&
	    st.refused_per_source == source, "refused_deny=%ju (want %ju) "
	    "refused_not_allowed=%ju (want %ju) refused_per_source=%ju "
	    "(want %ju)", (uintmax_t)st.refused_deny, (uintmax_t)deny,
	    (uintmax_t)st.refused_not_allowed, (uintmax_t)allow,
	    (uintmax_t)st.refused_per_source, (uintmax_t)source);
}

/*
 * Proves allow and deny: with allow 127.0.0.0/29 and deny 127.0.0.3, a
 * client from 127.0.0.2 is served, one from 127.0.0.3 (allowed, but
 * denied: deny wins) and one from 127.0.0.9 (not allowed) are closed
 * without a byte, each counted by its reason and logged.  A second
 * listener, a group with its own deny = [] and allow = ["127.0.0.3",
 * "127.0.0.9"], serves 127.0.0.3 and 127.0.0.9 and refuses 127.0.0.2: a
 * group's lists replace the global ones for its clients.
 */
START_TEST(test_allow_deny)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	char			*conf;

	conf = t_conf(v, "listen = ( \"127.0.0.1:0\",\n"
	    "  { address = \"127.0.0.10:0\"; deny = [];\n"
	    "    allow = [\"127.0.0.3\", \"127.0.0.9\"]; } );\n"
	    "allow = [\"127.0.0.0/29\", \"::1\"];\ndeny = [\"127.0.0.3\"];\n");
	iod = t_spawn_iod(conf, NULL);
	free(conf);
	ck_assert_msg(iod->nports == 2, "%zu ports", iod->nports);
	a_served(iod, 0, "127.0.0.2", "global lists");
	a_refused(iod, 0, "127.0.0.3", "global deny");
	ck_assert_msg(t_wait_log(iod, "refused 1 connection from sources in "
	    "deny, the last from 127.0.0.3", t_ms(3000)) != NULL,
	    "no refusal line; stderr:\n%s", t_log_tail(iod));
	a_refused(iod, 0, "127.0.0.9", "global allow");
	ck_assert_msg(t_wait_log(iod, "from sources not in allow, the last "
	    "from 127.0.0.9", t_ms(3000)) != NULL,
	    "no refusal line; stderr:\n%s", t_log_tail(iod));
	a_served(iod, 1, "127.0.0.3", "group without deny");
	a_served(iod, 1, "127.0.0.9", "group's allow");
	a_refused(iod, 1, "127.0.0.2", "group's allow");
	a_counts(iod, 1, 2, 0);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves max_per_source = 2: two clients from 127.0.0.2 are served, a
 * third is closed without a byte while the two still work, a client from
 * 127.0.0.3 is served meanwhile, and once one of the two has gone a new
 * client from 127.0.0.2 is served.  Each refusal is counted.
 */
START_TEST(test_max_per_source)
{
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
	struct t_iod		*iod;
	enum t_end		 end;
	int			 fd[3], i, tries;

	iod = t_spawn_variant(v, "max_per_source = 2;\nidle_timeout = 60;\n");
	for (i = 0; i < 2; i++) {
		fd[i] = t_connect_from("127.0.0.2", "127.0.0.1",
		    iod->port[0]);
		t_expect_roundtrip(fd[i], "hi", "HI", t_ms(3000),
		    "client %d from 127.0.0.2", i);
	}
	a_refused(iod, 0, "127.0.0.2", "third from one source");
	ck_assert_msg(t_wait_log(iod, "over max_per_source, the last from "
	    "127.0.0.2", t_ms(3000)) != NULL, "no refusal line; stderr:\n%s",
	    t_log_tail(iod));
	fd[2] = t_connect_from("127.0.0.3", "127.0.0.1",
	    iod->port[0]);
	t_expect_roundtrip(fd[2], "other", "OTHER", t_ms(3000),
	    "client from 127.0.0.3");
	for (i = 0; i < 2; i++)
		t_expect_roundtrip(fd[i], "still", "STILL", t_ms(3000),
		    "client %d after the refusal", i);
	shutdown(fd[0], SHUT_WR);
	end = t_wait_end(fd[0], t_ms(3000));
	ck_assert_msg(end == T_END_EOF, "after half-close: %s",
	    t_end_name(end));
	close(fd[0]);
	fd[0] = a_retry(iod->port[0], "127.0.0.2", &tries);
	ck_assert_msg(fd[0] != -1, "no client from 127.0.0.2 served after "
	    "one of two left (%d tries)", tries);
	a_counts(iod, 0, 0, 1 + (uint64_t)tries);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves a reload applies new lists and limits to new connections only:
 * a client from 127.0.0.2, served before the reload that denies it and
 * sets max_per_source = 1, is still served after it, while a new client
 * from 127.0.0.2 is refused as denied; a client from 127.0.0.3 connected
 * before counts against the new limit (a second one is refused), and a
 * client from 127.0.0.4 is served.  Reloading back serves 127.0.0.2.
 */
START_TEST(test_reload)
{
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
	struct t_iod		*iod;
	char			*before, *after;
	int			 old, three;

	before = t_conf(v, "listen = [\"127.0.0.1:0\"];\n");
	after = t_conf(v, "listen = [\"127.0.0.1:0\"];\n"
	    "deny = [\"127.0.0.2/32\"];\nmax_per_source = 1;\n");
	iod = t_spawn_iod(before, NULL);
	old = t_connect_from("127.0.0.2", "127.0.0.1",
		    iod->port[0]);
	t_expect_roundtrip(old, "before", "BEFORE", t_ms(3000),
	    "client before the reload");
	three = t_connect_from("127.0.0.3", "127.0.0.1",
	    iod->port[0]);
	t_expect_roundtrip(three, "three", "THREE", t_ms(3000),
	    "client from 127.0.0.3 before the reload");
	t_reload(iod, after, "deny 127.0.0.2");
	t_expect_roundtrip(old, "after", "AFTER", t_ms(3000),
	    "client from before the reload, after it");
	a_refused(iod, 0, "127.0.0.2", "denied by the reload");
	a_refused(iod, 0, "127.0.0.3", "over the reloaded limit");
	a_served(iod, 0, "127.0.0.4", "after the reload");
	t_expect_roundtrip(three, "three", "THREE", t_ms(3000),
	    "client from 127.0.0.3, after the reload");
	a_counts(iod, 1, 0, 1);
	t_reload(iod, before, "no lists");
	a_served(iod, 0, "127.0.0.2", "after reloading back");
	close(old);
	close(three);
	free(before);
	free(after);
	t_expect_stop(iod);
}
END_TEST

/* The access suite. */
Suite *
suite_access(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("access");
	tc = tcase_create("access");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_allow_deny, 0, t_count(0));
	tcase_add_loop_test(tc, test_max_per_source, 0,
	    t_count(T_CONCURRENT));
	tcase_add_loop_test(tc, test_reload, 0, t_count(T_CONCURRENT));
	suite_add_tcase(s, tc);
	return (s);
}
