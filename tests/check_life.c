/*
 * iod's life cycle, end to end: -t, exit codes, SIGHUP, SIGTERM, SIGUSR1,
 * SIGCHLD, running out of descriptors, and -d.  The real binary on
 * 127.0.0.1:0.
 */
#include <sys/types.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

static int	l_refused(const char *, int, int);
static void	l_reload(struct t_iod *, const char *, const char *);
static void	l_expect_link(long, const char *, const char *);

/*
 * Give iod conf as its configuration file, send SIGHUP and wait, bounded,
 * for the line that says it reloaded; what names the reload.  Lines
 * logged since stay to be found by t_wait_log().
 */
static void
l_reload(struct t_iod *iod, const char *conf, const char *what)
{
	char	want[512];

	t_rewrite_conf(iod, conf);
	t_log_mark(iod);
	kill(iod->pid, SIGHUP);
	snprintf(want, sizeof(want), "iod: reloaded %s", iod->conf);
	ck_assert_msg(t_wait_log(iod, want, t_ms(5000)) != NULL,
	    "no \"%s\" after %s; stderr:\n%s", want, what, t_log_tail(iod));
}

/*
 * Try to connect to host:port until that fails, for up to timeout_ms
 * (listeners close asynchronously, in every worker).  Return the errno of
 * the failure, ECONNREFUSED when the listener is gone, or 0 if every
 * attempt connected.  A reset means the listener closed during that
 * handshake: look again.
 */
static int
l_refused(const char *host, int port, int timeout_ms)
{
	struct pollfd	none;
	int64_t		deadline = t_now_ms() + timeout_ms;
	int		fd, i;

	for (i = 0; i < 1000 && t_now_ms() < deadline; i++) {
		if ((fd = t_connect_to(host, port)) == -1 &&
		    errno != ECONNRESET)
			return (errno);
		if (fd != -1)
			close(fd);
		/* No event says "the listener is gone": look again soon. */
		poll(&none, 0, 20);
	}
	return (0);
}

/* Require /proc/PID/name, a symbolic link, to point at want. */
static void
l_expect_link(long pid, const char *name, const char *want)
{
	char	path[64], got[PATH_MAX];
	ssize_t	n;

	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, name);
	n = readlink(path, got, sizeof(got) - 1);
	ck_assert_msg(n != -1, "readlink %s: %s", path, strerror(errno));
	got[n] = '\0';
	ck_assert_msg(strcmp(got, want) == 0, "%s is \"%s\", want \"%s\"",
	    path, got, want);
}

/* Proves -t on a good config prints "ok" on stdout and exits 0. */
START_TEST(test_check_ok)
{
	struct t_opts	 o = { .args = { "-t" }, .flags = T_NOSTDERR };
	struct t_iod	*iod;
	int		 code;

	code = t_run_iod("listen = [\"127.0.0.1:0\"];\nmode = \"echo\";\n"
	    "workers = 2;\n", &o, t_ms(5000), &iod);
	ck_assert_msg(code == 0, "exit %d; stderr:\n%s", code,
	    t_log_tail(iod));
	ck_assert_msg(iod->out.b_data != NULL &&
	    strcmp(iod->out.b_data, "ok\n") == 0, "stdout \"%s\", want \"ok\"",
	    iod->out.b_data != NULL ? iod->out.b_data : "");
	t_stop_iod(iod);
}
END_TEST

/* Bad configs with the line each error is on. */
static const struct {
	const char	*text;
	int		 line;
} l_bad[] = {
	{ "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\nworkers 2;\n", 3 },
	{ "listen = [\"127.0.0.1:0\"];\nworkers = -1;\n", 2 },
	{ "listen = [\"127.0.0.1:0\"];\n\nmode = \"shout\";\n", 3 },
};

/*
 * Proves -t on a bad config exits 78 and names the file and line of the
 * error, for a syntax error, a value out of range and a bad choice.
 */
START_TEST(test_check_bad)
{
	struct t_opts	 o = { .args = { "-t" }, .flags = T_NOSTDERR };
	struct t_iod	*iod;
	char		 want[512];
	int		 code;

	code = t_run_iod(l_bad[_i].text, &o, t_ms(5000), &iod);
	ck_assert_msg(code == 78, "exit %d, want 78; stderr:\n%s", code,
	    t_log_tail(iod));
	snprintf(want, sizeof(want), "iod: %s:%d: ", iod->conf,
	    l_bad[_i].line);
	ck_assert_msg(strstr(t_log_tail(iod), want) != NULL,
	    "stderr lacks \"%s\":\n%s", want, t_log_tail(iod));
	ck_assert_msg(iod->out.b_len == 0, "stdout \"%s\", want nothing",
	    iod->out.b_data);
	t_stop_iod(iod);
}
END_TEST

/* Mistakes with fixed exit codes: arguments, config, and what to see. */
static const struct {
	const char	*args[4];
	int		 flags;
	const char	*conf;
	int		 code;
	const char	*msg;
} l_exits[] = {
	{ { "--no-such-option" }, 0, "listen = [\"127.0.0.1:0\"];\n", 64,
	    "no-such-option" },
	{ { "-e", "nosuch" }, 0, "listen = [\"127.0.0.1:0\"];\n", 64,
	    "(got \"nosuch\")" },
	{ { NULL }, 0, "listen = [\"127.0.0.1:0\"];\nmode = ;\n", 78, ":2: " },
	{ { "-c", "/nonexistent/iod.conf" }, T_NOCONF, "", 78,
	    "/nonexistent/iod.conf" },
};

/*
 * Proves the exit codes: 64 for an unknown option and for an unknown
 * engine with -e (refused in the words the engine setting gets), 78 for
 * a bad and for a missing config file, each with a message on stderr.
 */
START_TEST(test_exit_codes)
{
	struct t_opts	 o;
	struct t_iod	*iod;
	size_t		 i;
	int		 code;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < 4 && l_exits[_i].args[i] != NULL; i++)
		o.args[i] = l_exits[_i].args[i];
	o.flags = l_exits[_i].flags;
	code = t_run_iod(l_exits[_i].conf, &o, t_ms(5000), &iod);
	ck_assert_msg(code == l_exits[_i].code, "%s: exit %d, want %d; "
	    "stderr:\n%s", l_exits[_i].args[0] ? l_exits[_i].args[0] : "conf",
	    code, l_exits[_i].code, t_log_tail(iod));
	ck_assert_msg(strstr(t_log_tail(iod), l_exits[_i].msg) != NULL,
	    "stderr lacks \"%s\":\n%s", l_exits[_i].msg, t_log_tail(iod));
	t_stop_iod(iod);
}
END_TEST

/*
 * Proves exit code 71 when a listener cannot be opened: the address is
 * taken, and the message names it and the reason.
 */
START_TEST(test_exit_in_use)
{
	struct t_iod	*iod;
	char		 conf[128], want[128];
	int		 fd, port, code;

	fd = t_listen_loopback(&port);
	snprintf(conf, sizeof(conf), "listen = [\"127.0.0.1:%d\"];\n", port);
	code = t_run_iod(conf, NULL, t_ms(5000), &iod);
	ck_assert_msg(code == 71, "exit %d, want 71; stderr:\n%s", code,
	    t_log_tail(iod));
	snprintf(want, sizeof(want), "iod: listen 127.0.0.1:%d: Address "
	    "already in use", port);
	ck_assert_msg(strstr(t_log_tail(iod), want) != NULL,
	    "stderr lacks \"%s\":\n%s", want, t_log_tail(iod));
	t_stop_iod(iod);
	close(fd);
}
END_TEST

/*
 * Proves exit code 77 when privileges cannot be dropped: iod started as
 * nobody (or as the non-root user running the tests) cannot become root.
 */
START_TEST(test_exit_privs)
{
	struct t_opts	 o;
	struct t_iod	*iod;
	struct passwd	*pw;
	int		 code;

	memset(&o, 0, sizeof(o));
	if (getuid() == 0) {
		ck_assert_msg((pw = getpwnam("nobody")) != NULL,
		    "no user nobody to run iod as");
		o.uid = pw->pw_uid;
	}
	code = t_run_iod("listen = [\"127.0.0.1:0\"];\nuser = \"root\";\n",
	    &o, t_ms(5000), &iod);
	ck_assert_msg(code == 77, "exit %d as uid %d, want 77; stderr:\n%s",
	    code, (int)(o.uid ? o.uid : getuid()), t_log_tail(iod));
	ck_assert_msg(strstr(t_log_tail(iod), "iod: ") != NULL,
	    "no message on stderr");
	t_stop_iod(iod);
}
END_TEST

/*
 * Proves a good SIGHUP: an open connection keeps its mode and is not
 * dropped, new connections get the new mode, an added address is opened
 * and served, a removed one is closed without dropping its connections.
 */
START_TEST(test_reload_good)
{
	const struct t_variant	*v = &t_variants[_i];
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
	l_reload(iod, conf, "adding 127.0.0.2");
	free(conf);
	line = t_wait_log(iod, "listening on 127.0.0.2:", t_ms(5000));
	ck_assert_msg(line != NULL, "no listener on 127.0.0.2; stderr:\n%s",
	    t_log_tail(iod));
	port2 = t_listen_port(strstr(line, "127.0.0.2:"));
	ck_assert_msg(port2 > 0, "no port in \"%s\"", line);

	t_expect_roundtrip(old, "def", "DEF", t_ms(3000),
	    "connection from before reload");
	c2 = t_connect(iod->port[0]);
	ck_assert_msg(c2 != -1, "connect to the kept address: %s",
	    strerror(errno));
	t_expect_roundtrip(c2, "abc", "abc", t_ms(3000),
	    "new connection, kept address");
	c3 = t_connect_to("127.0.0.2", port2);
	ck_assert_msg(c3 != -1, "connect to 127.0.0.2:%d: %s", port2,
	    strerror(errno));
	t_expect_roundtrip(c3, "xyz", "xyz", t_ms(3000),
	    "new connection, added address");

	/* Drop the added address again. */
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"echo\";\n"
	    "idle_timeout = 60;\n");
	l_reload(iod, conf, "removing 127.0.0.2");
	free(conf);
	err = l_refused("127.0.0.2", port2, t_ms(3000));
	ck_assert_msg(err == ECONNREFUSED, "127.0.0.2:%d after it left the "
	    "config: %s", port2, err ? strerror(err) : "still accepts");
	t_expect_roundtrip(c3, "kept", "kept", t_ms(3000),
	    "connection via the removed address");
	t_expect_roundtrip(old, "ghi", "GHI", t_ms(3000),
	    "connection from before both reloads");
	close(old);
	close(c2);
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
	const struct t_variant	*v = &t_variants[_i];
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
	c2 = t_connect(iod->port[0]);
	ck_assert_msg(c2 != -1, "connect after failed reload: %s",
	    strerror(errno));
	t_expect_roundtrip(c2, "xyz", "XYZ", t_ms(3000),
	    "new connection, old config");
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
	const struct t_variant	*v = &t_variants[_i];
	struct t_variant	 other = *v;
	struct t_iod		*iod;
	char			*conf, want[512];
	int			 fd;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 60;\n");
	other.workers = v->workers == 1 ? 2 : 1;
	conf = t_conf(&other, "listen = [\"127.0.0.1:0\"];\nmode = \"echo\";\n"
	    "idle_timeout = 60;\n");
	l_reload(iod, conf, "changing workers");
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
	l_reload(iod, conf, "changing unix_mode");
	free(conf);
	ck_assert_msg(stat(path, &st) == 0, "stat %s after reload: %s", path,
	    strerror(errno));
	got = st.st_mode & 07777;
	ck_assert_msg(got == 0666, "%s: mode %o after reload, want 666", path,
	    (unsigned)got);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves SIGTERM drains what iod has read: iod has read all 8 MiB a client
 * sent but still owes megabytes of the reply (the client's tiny receive
 * window holds it back); after SIGTERM iod closes its listener, sends
 * everything owed, then EOF, and exits 0 well within shutdown_timeout.
 */
#define L_DRAIN_LEN	(8 * 1024 * 1024)	/* max_pending_bytes: 16 MiB */
START_TEST(test_term_drain)
{
	const struct t_variant	*v = t_buffering(_i);
	struct t_iod		*iod;
	struct t_stats		 st;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0xd7a1;
	int64_t			 t0, deadline;
	size_t			 bad, len = L_DRAIN_LEN;
	int			 fd, port, i, err;

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
	memset(&st, 0, sizeof(st));
	deadline = t_now_ms() + t_ms(15000);
	for (i = 0; i < 1000 && st.bytes_in < len &&
	    t_now_ms() < deadline; i++) {
		if (i > 0)
			poll(NULL, 0, 20);
		ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0,
		    "no stats line; stderr:\n%s", t_log_tail(iod));
	}
	ck_assert_msg(st.bytes_in == len, "bytes_in=%ju, want %zu",
	    (uintmax_t)st.bytes_in, len);
	ck_assert_msg(st.bytes_out < len, "test setup: iod owes nothing "
	    "(bytes_out=%ju)", (uintmax_t)st.bytes_out);

	t_log_mark(iod);
	t0 = t_now_ms();
	kill(iod->pid, SIGTERM);
	ck_assert_msg(t_wait_log(iod, "iod: shutting down", t_ms(3000)) !=
	    NULL, "no \"shutting down\"; stderr:\n%s", t_log_tail(iod));
	err = l_refused("127.0.0.1", port, t_ms(3000));
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
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	struct t_stats		 st, st2;
	struct t_xfer		 x;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0xd7a2;
	size_t			 len = 32 * 1024 * 1024, sent, owed, bad;
	int			 fd, i;

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
	memset(&st2, 0, sizeof(st2));
	for (i = 0; i < 20; i++) {
		st = st2;
		ck_assert_msg(t_stats(iod, &st2, t_ms(3000)) == 0,
		    "no stats line; stderr:\n%s", t_log_tail(iod));
		if (i > 0 && st2.bytes_in == st.bytes_in)
			break;
	}
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
 * exits 0, and an idle client meanwhile just gets EOF.
 */
#define L_DEADLINE_S	2
#define L_MARGIN_MS	t_ms(1500)
START_TEST(test_term_deadline)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	unsigned char		*fill;
	size_t			 flen = T_STUCK_BYTES;
	int64_t			 t0, took;
	enum t_end		 end;
	char			 extra[256];
	int			 stuck, idle;

	snprintf(extra, sizeof(extra), "mode = \"upper\";\n"
	    "max_pending_bytes = 65536;\nshutdown_timeout = %d;\n"
	    "idle_timeout = 60;\n", L_DEADLINE_S);
	iod = t_spawn_variant(v, extra);
	fill = calloc(1, flen);		/* what it sends never comes back */
	ck_assert(fill != NULL);
	stuck = t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF);
	idle = t_connect(iod->port[0]);
	ck_assert_msg(stuck != -1 && idle != -1, "connect: %s",
	    strerror(errno));
	t_expect_roundtrip(idle, "idle", "IDLE", t_ms(3000), "idle client");
	ck_assert_msg(t_send_until_stuck(stuck, fill, flen, 200) < flen,
	    "iod took all %zu bytes from a client that never reads", flen);

	t0 = t_now_ms();
	kill(iod->pid, SIGTERM);
	end = t_wait_end(idle, t_ms(2000));
	ck_assert_msg(end == T_END_EOF, "idle client after SIGTERM: %s",
	    t_end_name(end));
	ck_assert_msg(t_wait_exit(iod, L_DEADLINE_S * 1000 + L_MARGIN_MS) == 0,
	    "iod still runs %jd ms after SIGTERM (shutdown_timeout %d s); "
	    "stderr:\n%s", (intmax_t)(t_now_ms() - t0), L_DEADLINE_S,
	    t_log_tail(iod));
	took = t_now_ms() - t0;
	ck_assert_msg(WIFEXITED(iod->status) && WEXITSTATUS(iod->status) == 0,
	    "wait status 0x%x after %jd ms, want exit 0; stderr:\n%s",
	    iod->status, (intmax_t)took, t_log_tail(iod));
	close(stuck);
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
	const struct t_variant	*v = &t_variants[_i];
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
	const struct t_variant	*v = &t_variants[_i];
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

/*
 * Proves SIGUSR1 logs counters that add up: three clients that sent
 * 1000, 2000 and 3000 bytes and got them back show as accepted, active,
 * and 6000 bytes each way; then none active once they have closed.
 */
START_TEST(test_usr1_stats)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	struct t_stats		 st;
	struct t_xfer		 x;
	unsigned char		 out[3000], in[3000];
	uint64_t		 rnd = 11;
	int64_t			 deadline;
	int			 fd[3], i, tries;

	iod = t_spawn_variant(v, "mode = \"echo\";\nidle_timeout = 60;\n");
	t_fill_random(out, sizeof(out), &rnd);
	for (i = 0; i < 3; i++) {
		fd[i] = t_connect(iod->port[0]);
		ck_assert_msg(fd[i] != -1, "connect: %s", strerror(errno));
		t_xfer(fd[i], out, 1000 * (size_t)(i + 1), in,
		    1000 * (size_t)(i + 1), 0, t_ms(5000), &x);
		ck_assert_msg(x.got == 1000 * (size_t)(i + 1) &&
		    memcmp(in, out, x.got) == 0, "client %d got %zu bytes", i,
		    x.got);
	}
	/* A worker may count just after its write; ask again, bounded. */
	memset(&st, 0, sizeof(st));
	deadline = t_now_ms() + t_ms(3000);
	for (tries = 0; tries < 1000 && t_now_ms() < deadline &&
	    (st.bytes_in != 6000 || st.bytes_out != 6000); tries++)
		ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0,
		    "no stats line; stderr:\n%s", t_log_tail(iod));
	ck_assert_msg(st.accepted >= 3 && st.active == 3 && st.rejected == 0 &&
	    st.timed_out == 0 && st.bytes_in == 6000 && st.bytes_out == 6000,
	    "accepted=%ju active=%ju rejected=%ju timed_out=%ju bytes_in=%ju "
	    "bytes_out=%ju; want >=3 3 0 0 6000 6000", (uintmax_t)st.accepted,
	    (uintmax_t)st.active, (uintmax_t)st.rejected,
	    (uintmax_t)st.timed_out, (uintmax_t)st.bytes_in,
	    (uintmax_t)st.bytes_out);
	for (i = 0; i < 3; i++) {
		shutdown(fd[i], SHUT_WR);
		ck_assert_msg(t_wait_end(fd[i], t_ms(3000)) == T_END_EOF,
		    "client %d: no EOF after half-close", i);
		close(fd[i]);
	}
	deadline = t_now_ms() + t_ms(3000);
	for (tries = 0; tries < 1000 && t_now_ms() < deadline &&
	    st.active != 0; tries++)
		ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0,
		    "no stats line; stderr:\n%s", t_log_tail(iod));
	ck_assert_msg(st.active == 0 && st.accepted >= 3, "after closing: "
	    "active=%ju accepted=%ju, want 0 and >=3", (uintmax_t)st.active,
	    (uintmax_t)st.accepted);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves a SIGCHLD that no child sent harms no engine: the supervisor
 * watches SIGCHLD for the fork engine and passes it on to wake the fork
 * workers, who find nothing to reap; every other engine has nobody to
 * wake.  An open connection and a new one are still served, and iod
 * exits 0 on SIGTERM.
 */
START_TEST(test_sigchld_stray)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	struct pollfd		 pfd;
	int			 old, fresh, i;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 60;\n");
	old = t_connect(iod->port[0]);
	ck_assert_msg(old != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(old, "abc", "ABC", t_ms(3000), "before SIGCHLD");
	for (i = 0; i < 3; i++) {
		ck_assert_msg(kill(iod->pid, SIGCHLD) == 0, "kill: %s",
		    strerror(errno));
		(void)poll(&pfd, 0, 20);
	}
	t_expect_roundtrip(old, "def", "DEF", t_ms(3000),
	    "open across SIGCHLD");
	fresh = t_connect(iod->port[0]);
	ck_assert_msg(fresh != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(fresh, "ghi", "GHI", t_ms(3000),
	    "new after SIGCHLD");
	close(fresh);
	close(old);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves accept backs off when descriptors run out (every engine but
 * fork, whose children hold the connections): with iod's soft
 * RLIMIT_NOFILE lowered to a few above what it holds, clients beyond it
 * wait, iod logs the pause, does not spin (its CPU time over 1.5 s stays
 * low), keeps serving an established client, and once some clients have
 * gone it serves the waiting one and a new one.
 */
#define L_NCONN		40
START_TEST(test_accept_pause)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_iod		*iod;
	struct pollfd		 none;
	long			 t0, t1, hz;
	int64_t			 deadline;
	char			 got[8];
	int			 a, c[L_NCONN], n, nfd, waiting, served, i;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_connections = 1000;\n"
	    "idle_timeout = 60;\n");
	a = t_connect(iod->port[0]);
	ck_assert_msg(a != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(a, "first", "FIRST", t_ms(3000),
	    "established client");

	nfd = t_limit_fds(iod->pid, 3);

	/*
	 * Clients, one at a time, until iod says it ran out of descriptors:
	 * each is served (its byte comes back) or is the one iod could not
	 * accept, which waits in the backlog.
	 */
	t_log_mark(iod);
	waiting = -1;
	for (n = 0; n < L_NCONN && waiting == -1; n++) {
		c[n] = t_connect(iod->port[0]);
		ck_assert_msg(c[n] != -1, "connect %d: %s", n,
		    strerror(errno));
		ck_assert_msg(t_send_all(c[n], "x", 1, t_ms(3000)) == 1,
		    "send %d: %s", n, strerror(errno));
		deadline = t_now_ms() + t_ms(3000);
		for (i = 0, served = 0; i < 1000 && !served && waiting == -1 &&
		    t_now_ms() < deadline; i++) {
			served = t_recv_exact(c[n], got, 1, 20) == 1;
			if (!served && t_wait_log(iod, "Too many open files; "
			    "pausing", 0) != NULL)
				waiting = n;
		}
		ck_assert_msg(served || waiting != -1, "client %d neither "
		    "served nor refused after %d ms (limit %d, %d fds); "
		    "stderr:\n%s", n, t_ms(3000), nfd + 3, nfd,
		    t_log_tail(iod));
		ck_assert_msg(!served || got[0] == 'X', "client %d got 0x%02x",
		    n, (unsigned char)got[0]);
	}
	ck_assert_msg(waiting != -1, "all %d clients served with %d fds and "
	    "a limit of %d", n, nfd, nfd + 3);

	/* A measure over time, not a wait for an event: sleep 1.5 s. */
	hz = sysconf(_SC_CLK_TCK);
	t0 = t_cpu_ticks(iod->pid);
	poll(&none, 0, 1500);
	t1 = t_cpu_ticks(iod->pid);
	ck_assert_msg(t0 >= 0 && t1 - t0 < hz * 3 / 10, "iod used %ld ticks "
	    "(%ld/s) of CPU in 1.5 s while out of descriptors", t1 - t0, hz);

	t_expect_roundtrip(a, "still", "STILL", t_ms(3000),
	    "established client during the pause");
	/* Free two descriptors: the waiting client and a new one get in. */
	ck_assert_msg(waiting >= 2, "only %d clients served before the limit",
	    waiting);
	close(c[0]);
	close(c[1]);
	c[0] = c[1] = -1;
	ck_assert_msg(t_recv_exact(c[waiting], got, 1, t_ms(4000)) == 1 &&
	    got[0] == 'X', "the waiting client was not served after two "
	    "clients left; stderr:\n%s", t_log_tail(iod));
	c[0] = t_connect(iod->port[0]);
	ck_assert_msg(c[0] != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(c[0], "new", "NEW", t_ms(3000),
	    "new client after the pause");
	for (i = 0; i < n; i++)
		if (c[i] != -1)
			close(c[i]);
	close(a);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that with RLIMIT_NOFILE at 256 before exec, max_connections
 * 10000 is lowered to fit, with a line that says so, the "ready" line
 * shows the lowered figure, and iod serves.
 */
START_TEST(test_fd_limit_startup)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_opts		 o;
	struct t_iod		*iod;
	const char		*line;
	const char		*p;
	char			*conf;
	int			 fd, lowered = 0, shown = 0;

	memset(&o, 0, sizeof(o));
	o.nofile = 256;
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n"
	    "max_connections = 10000;\n");
	iod = t_spawn_iod(conf, &o);
	free(conf);
	line = t_wait_log(iod, "max_connections lowered from 10000 to ", 0);
	ck_assert_msg(line != NULL, "no \"max_connections lowered\"; "
	    "stderr:\n%s", t_log_tail(iod));
	sscanf(strstr(line, " to ") + 4, "%d", &lowered);
	ck_assert_msg(lowered > 0 && lowered < 256 &&
	    strstr(line, "open-file limit is 256") != NULL,
	    "line \"%s\": want 0 < N < 256 and the limit 256", line);
	line = t_wait_log(iod, "iod: ready: ", t_ms(10000));
	if (line != NULL && (p = strstr(line, "max_connections ")) != NULL)
		sscanf(p + strlen("max_connections "), "%d", &shown);
	ck_assert_msg(shown == lowered, "ready line \"%s\": want "
	    "max_connections %d", line ? line : "(none)", lowered);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(fd, "abc", "ABC", t_ms(3000),
	    "client under the low limit");
	close(fd);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that a reload which raises max_connections past the open-file
 * limit iod started with raises that limit and admits as many: started
 * with a soft RLIMIT_NOFILE of 256 and max_connections 100, reloaded
 * with 400, iod serves 300 clients at once.
 */
#define L_RELOAD_CLIENTS	300
START_TEST(test_fd_limit_reload)
{
	const struct t_variant	*v = &t_variants[_i];
	struct t_opts		 o;
	struct t_iod		*iod;
	char			*conf, got[8];
	int			 fd[L_RELOAD_CLIENTS], i;

	memset(&o, 0, sizeof(o));
	o.nofile_soft = 256;
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n"
	    "max_connections = 100;\nidle_timeout = 60;\n");
	iod = t_spawn_iod(conf, &o);
	free(conf);
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n"
	    "max_connections = 400;\nidle_timeout = 60;\n");
	l_reload(iod, conf, "raising max_connections");
	free(conf);
	for (i = 0; i < L_RELOAD_CLIENTS; i++) {
		fd[i] = t_connect(iod->port[0]);
		ck_assert_msg(fd[i] != -1 && t_roundtrip(fd[i], "ping", got,
		    sizeof(got), t_ms(5000)) == 4 && strcmp(got, "PING") == 0,
		    "client %d of %d not served after the reload; stderr:\n%s",
		    i, L_RELOAD_CLIENTS, t_log_tail(iod));
	}
	for (i = 0; i < L_RELOAD_CLIENTS; i++)
		close(fd[i]);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves -d: the started process exits 0 at once, the pidfile names a
 * live iod that serves, with its standard input, output and error on
 * /dev/null and its working directory /, and SIGTERM ends it cleanly and
 * removes the pidfile.  The test process is a subreaper, so the daemon
 * stays its child; its log goes to syslog, so the port comes from /proc.
 */
START_TEST(test_daemon)
{
	struct t_opts	 o = { .args = { "-d" }, .flags = T_NOSTDERR };
	struct t_iod	*iod;
	struct pollfd	 pfd;
	char		*conf, pidfile[512];
	FILE		*f;
	long		 pid = 0;
	int		 i, port = 0, fd = -1, code, status;

	ck_assert(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	snprintf(pidfile, sizeof(pidfile), "%s/iod-%d.pid",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp",
	    (int)getpid());
	if (asprintf(&conf, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n"
	    "pidfile = \"%s\";\n", pidfile) == -1)
		ck_abort_msg("asprintf failed");
	code = t_run_iod(conf, &o, t_ms(5000), &iod);
	free(conf);
	ck_assert_msg(code == 0, "iod -d exited %d; stderr:\n%s", code,
	    t_log_tail(iod));

	/* Nothing announces the pidfile: look every 20 ms, for 5 s at most. */
	for (i = 0; i < 250 && pid <= 0; i++) {
		if ((f = fopen(pidfile, "r")) != NULL) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid <= 0)
			poll(&pfd, 0, 20);
	}
	ck_assert_msg(pid > 1, "no PID in %s", pidfile);
	t_track_pid((pid_t)pid);
	ck_assert_msg(kill((pid_t)pid, 0) == 0, "PID %ld from %s: %s", pid,
	    pidfile, strerror(errno));
	l_expect_link(pid, "fd/0", "/dev/null");
	l_expect_link(pid, "fd/1", "/dev/null");
	l_expect_link(pid, "fd/2", "/dev/null");
	l_expect_link(pid, "cwd", "/");
	for (i = 0; i < 250 && port == 0; i++)
		if ((port = t_proc_listen_port((pid_t)pid)) == 0)
			poll(&pfd, 0, 20);
	ck_assert_msg(port > 0, "PID %ld listens on no TCP port", pid);
	fd = t_connect(port);
	ck_assert_msg(fd != -1, "connect to %d: %s", port, strerror(errno));
	t_expect_roundtrip(fd, "daemon", "DAEMON", t_ms(5000), "client of the "
	    "daemon");
	close(fd);

	pfd.fd = pidfd_open((pid_t)pid, 0);
	pfd.events = POLLIN;
	ck_assert_msg(pfd.fd != -1, "pidfd_open %ld: %s", pid,
	    strerror(errno));
	kill((pid_t)pid, SIGTERM);
	ck_assert_msg(poll(&pfd, 1, t_ms(5000)) == 1,
	    "daemon %ld still runs 5 s after SIGTERM", pid);
	close(pfd.fd);
	ck_assert_msg(waitpid((pid_t)pid, &status, 0) == (pid_t)pid,
	    "waitpid %ld: %s", pid, strerror(errno));
	t_untrack_pid((pid_t)pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "daemon wait status 0x%x, want exit 0", status);
	ck_assert_msg(access(pidfile, F_OK) == -1, "%s still exists after "
	    "SIGTERM", pidfile);
	t_stop_iod(iod);
}
END_TEST

/*
 * The life suite: start-up and exit codes once, then signals and the
 * descriptor limit over t_variants[].
 */
Suite *
suite_life(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("life");

	tc = tcase_create("startup");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_check_ok);
	tcase_add_loop_test(tc, test_check_bad, 0,
	    (int)(sizeof(l_bad) / sizeof(l_bad[0])));
	tcase_add_loop_test(tc, test_exit_codes, 0,
	    (int)(sizeof(l_exits) / sizeof(l_exits[0])));
	tcase_add_test(tc, test_exit_in_use);
	tcase_add_test(tc, test_exit_privs);
	tcase_add_test(tc, test_daemon);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_reload_good, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_reload_bad, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_reload_restart_only, 0, (int)t_nvariants);
	tcase_add_test(tc, test_reload_unix_mode);
	tcase_add_loop_test(tc, test_term_drain, 0, (int)t_nbuffering());
	tcase_add_loop_test(tc, test_term_drain_stuck, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_term_deadline, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_term_twice, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_term_reset, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_usr1_stats, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_sigchld_stray, 0, (int)t_nvariants);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdlimit");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_accept_pause, 0, (int)t_nholding());
	tcase_add_loop_test(tc, test_fd_limit_startup, 0, (int)t_nvariants);
	tcase_add_loop_test(tc, test_fd_limit_reload, 0, (int)t_nvariants);
	suite_add_tcase(s, tc);
	return (s);
}
