/*
 * SIGHUP, end to end: good and bad reloads with live connections, a
 * restart-only setting, and a kept unix socket's mode.  The real binary
 * on 127.0.0.1:0 under every variant of t_variants[].
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

static void	r_next(const struct t_variant *, int *);

/*
 * A client is done with: close it now if variant v serves one client at a
 * time, so that the next client is served; otherwise leave it open, to
 * show that it survives what follows.
 */
static void
r_next(const struct t_variant *v, int *fdp)
{
	if (v->caps & T_CONCURRENT)
		return;
	close(*fdp);
	*fdp = -1;
}

/*
 * Proves a good SIGHUP: an open connection keeps its mode and is not
 * dropped, new connections get the new mode, an added address is opened
 * and served, a removed one is closed without dropping its connections.
 * Where clients are served one at a time, each goes before the next.
 */
START_TEST(test_reload_good)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	const char		*line;
	char			*conf;
	int			 old, c2, c3, port2, err;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 60;\n");
	old = t_connect(iod->port[0]);
	ck_assert_msg(old != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(old, "abc", "ABC", t_ms(3000), "before reload");

	conf = t_conf(v, "listen = [\"127.0.0.1:0\", \"127.0.0.2:0\"];\n"
	    "mode = \"echo\";\nidle_timeout = 60;\n");
	t_reload(iod, conf, "adding 127.0.0.2");
	free(conf);
	line = t_wait_log(iod, "listening on 127.0.0.2:", t_ms(5000));
	ck_assert_msg(line != NULL, "no listener on 127.0.0.2; stderr:\n%s",
	    t_log_tail(iod));
	port2 = t_listen_port(strstr(line, "127.0.0.2:"));
	ck_assert_msg(port2 > 0, "no port in \"%s\"", line);

	t_expect_roundtrip(old, "def", "DEF", t_ms(3000),
	    "connection from before reload");
	r_next(v, &old);
	c2 = t_connect(iod->port[0]);
	ck_assert_msg(c2 != -1, "connect to the kept address: %s",
	    strerror(errno));
	t_expect_roundtrip(c2, "abc", "abc", t_ms(3000),
	    "new connection, kept address");
	r_next(v, &c2);
	c3 = t_connect_to("127.0.0.2", port2);
	ck_assert_msg(c3 != -1, "connect to 127.0.0.2:%d: %s", port2,
	    strerror(errno));
	t_expect_roundtrip(c3, "xyz", "xyz", t_ms(3000),
	    "new connection, added address");

	/* Drop the added address again. */
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"echo\";\n"
	    "idle_timeout = 60;\n");
	t_reload(iod, conf, "removing 127.0.0.2");
	free(conf);
	err = t_refused("127.0.0.2", port2, t_ms(3000));
	ck_assert_msg(err == ECONNREFUSED, "127.0.0.2:%d after it left the "
	    "config: %s", port2, err ? strerror(err) : "still accepts");
	t_expect_roundtrip(c3, "kept", "kept", t_ms(3000),
	    "connection via the removed address");
	if (old != -1) {
		t_expect_roundtrip(old, "ghi", "GHI", t_ms(3000),
		    "connection from before both reloads");
		close(old);
		close(c2);
	}
	close(c3);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves a bad SIGHUP: iod says the reload failed and why, keeps the
 * running configuration, and drops no connection.
 */
START_TEST(test_reload_bad)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	const char		*line;
	char			 want[512];
	int			 old, c2;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 60;\n");
	old = t_connect(iod->port[0]);
	ck_assert_msg(old != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(old, "abc", "ABC", t_ms(3000), "before reload");

	t_rewrite_conf(iod, "listen = [\"127.0.0.1:0\"];\nmode = \"echo\"\n"
	    "workers = ;\n");
	t_log_mark(iod);
	kill(iod->pid, SIGHUP);
	snprintf(want, sizeof(want), "iod: reload failed: %s:", iod->conf);
	line = t_wait_log(iod, want, t_ms(5000));
	ck_assert_msg(line != NULL, "no \"%s\"; stderr:\n%s", want,
	    t_log_tail(iod));
	ck_assert_msg(strstr(line, "keeping the running configuration") !=
	    NULL, "reload failure line: \"%s\"", line);

	t_expect_roundtrip(old, "def", "DEF", t_ms(3000),
	    "connection from before reload");
	r_next(v, &old);
	c2 = t_connect(iod->port[0]);
	ck_assert_msg(c2 != -1, "connect after failed reload: %s",
	    strerror(errno));
	t_expect_roundtrip(c2, "xyz", "XYZ", t_ms(3000),
	    "new connection, old config");
	if (old != -1)
		close(old);
	close(c2);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves a SIGHUP that changes workers (restart-only) says a restart is
 * needed and keeps the running count, while other settings take effect.
 */
START_TEST(test_reload_restart_only)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_variant	 other = *v;
	struct t_iod		*iod;
	char			*conf, want[512];
	int			 fd;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 60;\n");
	other.workers = v->workers == 1 ? 2 : 1;
	conf = t_conf(&other, "listen = [\"127.0.0.1:0\"];\nmode = \"echo\";\n"
	    "idle_timeout = 60;\n");
	t_reload(iod, conf, "changing workers");
	free(conf);
	snprintf(want, sizeof(want), "iod: workers changed in %s: restart "
	    "needed; keeping %d", iod->conf, v->workers);
	ck_assert_msg(t_wait_log(iod, want, 0) != NULL,
	    "no \"%s\"; stderr:\n%s", want, t_log_tail(iod));
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(fd, "abc", "abc", t_ms(3000),
	    "new connection after reload");
	close(fd);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves a SIGHUP that changes unix_mode applies it to a unix socket the
 * reload keeps, not only to new ones.
 */
START_TEST(test_reload_unix_mode)
{
	struct t_iod	*iod;
	struct stat	 st;
	char		*conf, path[PATH_MAX];
	mode_t		 got;

	snprintf(path, sizeof(path), "%s/iod.sock", getenv("TMPDIR"));
	conf = t_conf(&t_variants[0], "listen = [\"127.0.0.1:0\", "
	    "\"unix:%s\"];\nunix_mode = \"0600\";\n", path);
	iod = t_spawn_iod(conf, NULL);
	free(conf);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
	    strerror(errno));
	ck_assert_msg((st.st_mode & 07777) == 0600, "%s: mode %o at start",
	    path, (unsigned)st.st_mode & 07777);
	conf = t_conf(&t_variants[0], "listen = [\"127.0.0.1:0\", "
	    "\"unix:%s\"];\nunix_mode = \"0666\";\n", path);
	t_reload(iod, conf, "changing unix_mode");
	free(conf);
	ck_assert_msg(stat(path, &st) == 0, "stat %s after reload: %s", path,
	    strerror(errno));
	got = st.st_mode & 07777;
	ck_assert_msg(got == 0666, "%s: mode %o after reload, want 666", path,
	    (unsigned)got);
	t_expect_stop(iod);
}
END_TEST

/* The reload suite: every reload test over t_variants[]. */
Suite *
suite_reload(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("reload");
	tc = tcase_create("reload");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_reload_good, 0, t_count(0));
	tcase_add_loop_test(tc, test_reload_bad, 0, t_count(0));
	tcase_add_loop_test(tc, test_reload_restart_only, 0, t_count(0));
	tcase_add_test(tc, test_reload_unix_mode);
	suite_add_tcase(s, tc);
	return (s);
}
