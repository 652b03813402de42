/*
 * iod's life cycle, end to end: -t, exit codes, SIGUSR1, SIGCHLD and -d.
 * The real binary on 127.0.0.1:0.  Reloads are in check_reload.c,
 * SIGTERM in check_drain.c, running out of descriptors in check_limits.c.
 */
#include <sys/types.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

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

static void	l_expect_link(long, const char *, const char *);
static long	l_pidfile_pid(const char *);

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

/* The PID in pidfile, once it is there; 0 if it never is. */
static long
l_pidfile_pid(const char *pidfile)
{
	struct pollfd	 pfd;
	FILE		*f;
	long		 pid = 0;
	int		 i;

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
	return (pid);
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
 * Proves SIGUSR1 logs counters that add up: three clients that sent
 * 1000, 2000 and 3000 bytes and got them back show as accepted, active,
 * and 6000 bytes each way; then none active once they have closed.
 */
START_TEST(test_usr1_stats)
{
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
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
 * wake.  An open connection and a new one are still served (the open one
 * closed first where an engine serves one client at a time), and iod
 * exits 0 on SIGTERM.
 */
START_TEST(test_sigchld_stray)
{
	const struct t_variant	*v = t_variant(0, _i);
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
	if (!(v->caps & T_CONCURRENT)) {
		close(old);
		old = -1;
	}
	fresh = t_connect(iod->port[0]);
	ck_assert_msg(fresh != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(fresh, "ghi", "GHI", t_ms(3000),
	    "new after SIGCHLD");
	close(fresh);
	if (old != -1)
		close(old);
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
	long		 pid;
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

	pid = l_pidfile_pid(pidfile);
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
 * The life suite: start-up and exit codes once, then signals over
 * t_variants[].
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
	tcase_add_loop_test(tc, test_usr1_stats, 0, t_count(T_CONCURRENT));
	tcase_add_loop_test(tc, test_sigchld_stray, 0, t_count(0));
	suite_add_tcase(s, tc);
	return (s);
}
