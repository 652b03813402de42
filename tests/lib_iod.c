/*
 * Shared test helpers: a real iod on loopback, started, read and stopped.
 * Variants, files and fixtures are in lib.c.
 */
#include <sys/types.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define T_MAXWRAP	16	/* words in $IOD_TEST_WRAPPER */

static size_t	t_wrapper(const char **);
static void	t_close_pipes(struct t_iod *);
static void	t_read_fd(int *, struct t_buf *);
static void	t_child(const char *const *, const struct t_opts *, int, int)
		    __attribute__((__noreturn__));
static void	t_parse_ports(struct t_iod *);
static const char *t_find_line(struct t_iod *, const char *);

/*
 * In the child: stdout and stderr to the pipes, the requested limits,
 * environment and user, then exec.  Never returns.
 */
static void
t_child(const char *const *argv, const struct t_opts *o, int outfd,
    int errfd)
{
	struct rlimit	 rl;
	struct passwd	*pw;
	const char	*eq, *old;
	char		*name, *val;
	int		 null;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((null = open("/dev/null", O_RDONLY)) != -1)
		dup2(null, STDIN_FILENO);
	dup2(outfd, STDOUT_FILENO);
	dup2(errfd, STDERR_FILENO);
	if (o->nofile != 0) {
		rl.rlim_cur = rl.rlim_max = o->nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(126);
	}
	if (o->nofile_soft != 0) {
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(126);
		rl.rlim_cur = o->nofile_soft;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(126);
	}
	if (o->sigpending != 0) {
		rl.rlim_cur = rl.rlim_max = o->sigpending;
		if (setrlimit(RLIMIT_SIGPENDING, &rl) == -1)
			_exit(126);
	}
	if (o->env != NULL && (eq = strchr(o->env, '=')) != NULL) {
		name = strndup(o->env, (size_t)(eq - o->env));
		old = getenv(name);
		if (old != NULL && *old != '\0' &&
		    asprintf(&val, "%s:%s", old, eq + 1) != -1)
			setenv(name, val, 1);
		else
			setenv(name, eq + 1, 1);
	}
	if (o->uid != 0) {
		if ((pw = getpwuid(o->uid)) == NULL ||
		    setgroups(0, NULL) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(o->uid, o->uid, o->uid) == -1)
			_exit(126);
	}
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

/*
 * Put the words of $IOD_TEST_WRAPPER (say "valgrind --tool=memcheck"),
 * which run iod under another program, at the start of argv; return how
 * many.  They are split once and kept for the life of the test process.
 */
static size_t
t_wrapper(const char **argv)
{
	static char	*copy, *words[T_MAXWRAP];
	static size_t	 nwords;
	const char	*env = getenv("IOD_TEST_WRAPPER");
	char		*w, *last;

	if (env == NULL || *env == '\0')
		return (0);
	if (copy == NULL) {
		if ((copy = strdup(env)) == NULL)
			ck_abort_msg("strdup failed");
		for (w = strtok_r(copy, " ", &last); w != NULL;
		    w = strtok_r(NULL, " ", &last)) {
			if (nwords == T_MAXWRAP)
				ck_abort_msg("IOD_TEST_WRAPPER: over %d words",
				    T_MAXWRAP);
			words[nwords++] = w;
		}
	}
	memcpy(argv, words, nwords * sizeof(*argv));
	return (nwords);
}

/*
 * Start [$IOD_TEST_WRAPPER] $IOD_BIN [--stderr] -c FILE ARGS, FILE
 * holding conf, with its stdout and stderr on pipes.  Does not wait for
 * anything.
 */
struct t_iod *
t_start_iod(const char *conf, const struct t_opts *opts)
{
	static const struct t_opts	 none;
	const struct t_opts		*o = opts != NULL ? opts : &none;
	struct t_iod			*iod;
	const char			*argv[T_MAXWRAP + T_MAXARGS + 6];
	int				 outp[2], errp[2];
	size_t				 n, i;
	pid_t				 pid;

	iod = t_new_iod(conf, outp, errp);
	n = t_wrapper(argv);
	if ((argv[n++] = getenv("IOD_BIN")) == NULL)
		ck_abort_msg("IOD_BIN is not set (run through make check)");
	if (!(o->flags & T_NOSTDERR))
		argv[n++] = "--stderr";
	if (conf != NULL && !(o->flags & T_NOCONF)) {
		argv[n++] = "-c";
		argv[n++] = iod->conf;
	}
	for (i = 0; i < T_MAXARGS && o->args[i] != NULL; i++)
		argv[n++] = o->args[i];
	argv[n] = NULL;

	if ((pid = fork()) == -1)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0)
		t_child(argv, o, outp[1], errp[1]);
	t_adopt_iod(iod, pid, outp, errp);
	return (iod);
}

/*
 * A t_iod for a child about to be forked: conf (unless NULL) written to
 * a temporary file readable by all, and pipes in out and err for the
 * child's stdout and stderr, close-on-exec.  Output is flushed, so the
 * child does not repeat it.
 */
struct t_iod *
t_new_iod(const char *conf, int *out, int *err)
{
	struct t_iod	*iod;

	if ((iod = calloc(1, sizeof(*iod))) == NULL)
		ck_abort_msg("calloc failed");
	iod->errfd = iod->outfd = iod->pidfd = -1;
	if (conf != NULL) {
		iod->conf = t_write_tmp(conf);
		chmod(iod->conf, 0644);
	}
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1)
		ck_abort_msg("pipe: %s", strerror(errno));
	/* A roomy pipe, so that iod never blocks on a log line. */
	fcntl(err[1], F_SETPIPE_SZ, 1 << 20);
	fflush(NULL);
	return (iod);
}

/*
 * Adopt pid, just forked from t_new_iod(), as iod: keep the read ends of
 * its pipes (nonblocking), close the write ends, open a pidfd to wait on
 * and register it, so that t_cleanup() kills it if the test does not.
 */
void
t_adopt_iod(struct t_iod *iod, pid_t pid, const int *out, const int *err)
{
	iod->pid = pid;
	close(out[1]);
	close(err[1]);
	iod->outfd = out[0];
	iod->errfd = err[0];
	fcntl(iod->outfd, F_SETFL, O_NONBLOCK);
	fcntl(iod->errfd, F_SETFL, O_NONBLOCK);
	iod->pidfd = pidfd_open(iod->pid, 0);
	t_register(iod);
}

/* Start iod for variant v on 127.0.0.1:0 with extra settings. */
struct t_iod *
t_spawn_variant(const struct t_variant *v, const char *extra)
{
	struct t_iod	*iod;
	char		*conf;

	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\n%s", extra);
	iod = t_spawn_iod(conf, NULL);
	free(conf);
	return (iod);
}

/* A listening TCP socket on 127.0.0.1:0 (close-on-exec); port in *port. */
int
t_listen_loopback(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd != -1, "socket: %s", strerror(errno));
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    listen(fd, 16) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "bind/listen 127.0.0.1:0: %s", strerror(errno));
	*port = ntohs(sin.sin_port);
	return (fd);
}

/*
 * Start iod on conf and wait, bounded, for its "ready" line; fail the
 * test with iod's stderr otherwise.  The ports come from the "listening
 * on" lines, in order.
 */
struct t_iod *
t_spawn_iod(const char *conf, const struct t_opts *opts)
{
	struct t_iod	*iod;

	iod = t_start_iod(conf, opts);
	t_wait_ready(iod, t_ms(10000));
	return (iod);
}

/*
 * Wait up to timeout_ms for iod's "ready" line and take its ports from
 * the "listening on" lines before it; fail the test with iod's stderr
 * if either is missing.
 */
void
t_wait_ready(struct t_iod *iod, int timeout_ms)
{
	if (t_wait_log(iod, "iod: ready: ", timeout_ms) == NULL) {
		t_wait_exit(iod, 1000);
		ck_abort_msg("iod did not get ready (wait status 0x%x, "
		    "pid %d); stderr:\n%s", iod->status, (int)iod->pid,
		    t_log_tail(iod));
	}
	t_parse_ports(iod);
	ck_assert_msg(iod->nports > 0, "no \"listening on\" port; stderr:\n%s",
	    t_log_tail(iod));
}

/*
 * Run iod to completion, bounded by timeout_ms; return its exit code
 * (128 + signal if killed, -1 if it had to be killed for the timeout).
 * The finished iod is stored in *iodp for its output; t_stop_iod frees it.
 */
int
t_run_iod(const char *conf, const struct t_opts *opts, int timeout_ms,
    struct t_iod **iodp)
{
	struct t_iod	*iod;
	int		 code;

	iod = t_start_iod(conf, opts);
	if (t_wait_exit(iod, timeout_ms) == -1) {
		kill(iod->pid, SIGKILL);
		t_wait_exit(iod, 5000);
		code = -1;
	} else if (WIFEXITED(iod->status))
		code = WEXITSTATUS(iod->status);
	else
		code = 128 + WTERMSIG(iod->status);
	*iodp = iod;
	return (code);
}

/* Read whatever fd has now into b; close it and set -1 at EOF. */
static void
t_read_fd(int *fd, struct t_buf *b)
{
	char	buf[8192];
	ssize_t	n;
	int	i;

	for (i = 0; i < 1024 && *fd != -1; i++) {
		n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			t_buf_add(b, buf, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		close(*fd);
		*fd = -1;
	}
}

/* Wait up to timeout_ms for output from iod, then read all there is. */
void
t_pump(struct t_iod *iod, int timeout_ms)
{
	struct pollfd	pfd[2];
	nfds_t		n = 0;

	if (iod->errfd != -1) {
		pfd[n].fd = iod->errfd;
		pfd[n++].events = POLLIN;
	}
	if (iod->outfd != -1) {
		pfd[n].fd = iod->outfd;
		pfd[n++].events = POLLIN;
	}
	if (n == 0)
		return;
	if (poll(pfd, n, timeout_ms < 0 ? 0 : timeout_ms) <= 0)
		return;
	t_read_fd(&iod->errfd, &iod->err);
	t_read_fd(&iod->outfd, &iod->out);
}

/* Find the first line after the mark containing s; copy it to iod->line. */
static const char *
t_find_line(struct t_iod *iod, const char *s)
{
	const char	*p, *nl, *end;
	size_t		 len;

	if (iod->err.b_data == NULL)
		return (NULL);
	p = iod->err.b_data + iod->mark;
	end = iod->err.b_data + iod->err.b_len;
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			/* A last line without newline counts at EOF. */
			if (iod->errfd != -1)
				return (NULL);
			nl = end;
		}
		len = (size_t)(nl - p);
		if (memmem(p, len, s, strlen(s)) != NULL) {
			if (len >= sizeof(iod->line))
				len = sizeof(iod->line) - 1;
			memcpy(iod->line, p, len);
			iod->line[len] = '\0';
			return (iod->line);
		}
		p = nl + 1;
	}
	return (NULL);
}

/*
 * Wait up to timeout_ms for a line of iod's stderr, after the mark, that
 * contains s.  Return the line (valid until the next call), or NULL when
 * the time is up or iod closed its stderr first.  A timeout of 0 looks
 * at what iod has written so far.
 */
const char *
t_wait_log(struct t_iod *iod, const char *s, int timeout_ms)
{
	const char	*line;
	int64_t		 deadline = t_now_ms() + timeout_ms, left;
	int		 n;

	t_pump(iod, 0);
	for (n = 0; n < T_MAXLOOP; n++) {
		if ((line = t_find_line(iod, s)) != NULL)
			return (line);
		if (iod->errfd == -1 || (left = deadline - t_now_ms()) <= 0)
			break;
		t_pump(iod, (int)left);
	}
	return (NULL);
}

/* Make later t_wait_log calls ignore everything logged so far. */
void
t_log_mark(struct t_iod *iod)
{
	t_pump(iod, 0);
	iod->mark = iod->err.b_len;
}

/* The last part of iod's stderr, for failure messages. */
const char *
t_log_tail(struct t_iod *iod)
{
	t_pump(iod, 0);
	if (iod->err.b_data == NULL)
		return ("(nothing)");
	if (iod->err.b_len > 3000)
		return (iod->err.b_data + iod->err.b_len - 3000);
	return (iod->err.b_data);
}

/* Take the ports from every "listening on HOST:PORT" line so far. */
static void
t_parse_ports(struct t_iod *iod)
{
	const char	*p, *q;
	int		 port;

	iod->nports = 0;
	p = iod->err.b_data;
	while (p != NULL && (p = strstr(p, "listening on ")) != NULL) {
		p += strlen("listening on ");
		q = p + strcspn(p, " \n");
		if ((port = t_listen_port(p)) > 0 &&
		    iod->nports < T_MAXPORTS)
			iod->port[iod->nports++] = port;
		p = q;
	}
}

/*
 * The port in "127.0.0.1:43121 (backlog 511)" or "[::1]:43121 ...";
 * 0 for a unix socket or anything else.
 */
int
t_listen_port(const char *addr)
{
	const char	*end, *colon = NULL, *p;
	long		 port;
	char		*ep;

	if (strncmp(addr, "unix:", 5) == 0)
		return (0);
	end = addr + strcspn(addr, " \n");
	for (p = addr; p < end; p++)
		if (*p == ':')
			colon = p;
	if (colon == NULL)
		return (0);
	port = strtol(colon + 1, &ep, 10);
	if (ep != end || port <= 0 || port > 65535)
		return (0);
	return ((int)port);
}

/*
 * Wait up to timeout_ms for iod to exit, reading its output meanwhile.
 * Return 0 once reaped (status in iod->status), -1 if still running.
 */
int
t_wait_exit(struct t_iod *iod, int timeout_ms)
{
	struct pollfd	pfd[3];
	int64_t		deadline = t_now_ms() + timeout_ms, left;
	nfds_t		k;
	pid_t		r;
	int		n, status;

	for (n = 0; n < T_MAXLOOP && iod->pid > 0; n++) {
		r = waitpid(iod->pid, &status, WNOHANG);
		if (r == iod->pid) {
			iod->status = status;
			iod->pid = 0;
			break;
		}
		if (r == -1 && errno != EINTR) {
			/* Not ours to wait for any more: call it gone. */
			iod->status = -1;
			iod->pid = 0;
			break;
		}
		if ((left = deadline - t_now_ms()) <= 0)
			return (-1);
		k = 0;
		if (iod->pidfd != -1) {
			pfd[k].fd = iod->pidfd;
			pfd[k++].events = POLLIN;
		}
		if (iod->errfd != -1) {
			pfd[k].fd = iod->errfd;
			pfd[k++].events = POLLIN;
		}
		if (iod->outfd != -1) {
			pfd[k].fd = iod->outfd;
			pfd[k++].events = POLLIN;
		}
		/* Without a pidfd, look again every 10 ms. */
		poll(pfd, k, iod->pidfd != -1 ? (int)left :
		    (left < 10 ? (int)left : 10));
		t_read_fd(&iod->errfd, &iod->err);
		t_read_fd(&iod->outfd, &iod->out);
	}
	if (iod->pid > 0)
		return (-1);
	/* Collect the last lines, unless a daemonized child holds the pipe. */
	t_pump(iod, 100);
	return (0);
}

/* Close iod's pipes and pidfd. */
static void
t_close_pipes(struct t_iod *iod)
{
	if (iod->errfd != -1)
		close(iod->errfd);
	if (iod->outfd != -1)
		close(iod->outfd);
	if (iod->pidfd != -1)
		close(iod->pidfd);
	iod->errfd = iod->outfd = iod->pidfd = -1;
}

/*
 * Stop iod if it still runs (SIGTERM, a bounded wait, then SIGKILL), reap
 * it, remove its config and free it.  Return its wait status.
 */
int
t_stop_iod(struct t_iod *iod)
{
	int	status;

	if (iod->pid > 0) {
		kill(iod->pid, SIGTERM);
		if (t_wait_exit(iod, t_ms(10000)) == -1) {
			kill(iod->pid, SIGKILL);
			if (t_wait_exit(iod, 10000) == -1 &&
			    waitpid(iod->pid, &iod->status, 0) == iod->pid)
				iod->pid = 0;
		}
	}
	status = iod->status;
	t_close_pipes(iod);
	if (iod->conf != NULL) {
		unlink(iod->conf);
		free(iod->conf);
	}
	t_buf_free(&iod->err);
	t_buf_free(&iod->out);
	t_unregister(iod);
	free(iod);
	return (status);
}

/*
 * Wait, bounded, for iod to exit now that it was sent SIGTERM, and
 * require exit code 0.  iod is kept, for its log, until t_stop_iod().
 */
void
t_expect_exit0(struct t_iod *iod)
{
	pid_t	pid = iod->pid;

	ck_assert_msg(t_wait_exit(iod, t_ms(10000)) == 0, "iod (pid %d) "
	    "still runs %d ms after SIGTERM; stderr:\n%s", (int)pid,
	    t_ms(10000), t_log_tail(iod));
	ck_assert_msg(WIFEXITED(iod->status) && WEXITSTATUS(iod->status) == 0,
	    "iod did not exit 0 on SIGTERM: %s; stderr:\n%s",
	    t_status_name(iod->status), t_log_tail(iod));
}

/*
 * Send iod SIGTERM (unless it is gone already), require exit code 0 as
 * t_expect_exit0() does, then free it with t_stop_iod().
 */
void
t_expect_stop(struct t_iod *iod)
{
	if (iod->pid > 0)
		kill(iod->pid, SIGTERM);
	t_expect_exit0(iod);
	t_stop_iod(iod);
}

/* Say what a wait status means: "exit 3", "killed by signal 9", ... */
const char *
t_status_name(int status)
{
	static char	buf[64];

	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(buf, sizeof(buf), "wait status 0x%x", status);
	return (buf);
}

/* Replace iod's config file with text in one rename (for SIGHUP). */
void
t_rewrite_conf(struct t_iod *iod, const char *text)
{
	char	*tmp;

	ck_assert_msg(iod->conf != NULL, "iod has no config file");
	tmp = t_write_tmp(text);
	chmod(tmp, 0644);
	if (rename(tmp, iod->conf) == -1)
		ck_abort_msg("rename %s %s: %s", tmp, iod->conf,
		    strerror(errno));
	free(tmp);
}

/*
 * Give iod conf as its configuration file, send SIGHUP and wait, bounded,
 * for the line that says it reloaded; what names the reload.  Lines
 * logged since stay to be found by t_wait_log().
 */
void
t_reload(struct t_iod *iod, const char *conf, const char *what)
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
 * Ask iod for its counters with SIGUSR1 and parse the "stats:" line that
 * follows.  Return 0, or -1 if no such line came within timeout_ms.
 */
int
t_stats(struct t_iod *iod, struct t_stats *st, int timeout_ms)
{
	const char	*line, *p;

	t_log_mark(iod);
	if (kill(iod->pid, SIGUSR1) == -1)
		return (-1);
	if ((line = t_wait_log(iod, "stats: accepted=", timeout_ms)) == NULL)
		return (-1);
	p = strstr(line, "stats: ");
	if (sscanf(p, "stats: accepted=%" SCNu64 " active=%" SCNu64
	    " rejected=%" SCNu64 " timed_out=%" SCNu64 " bytes_in=%" SCNu64
	    " bytes_out=%" SCNu64 " spliced=%" SCNu64, &st->accepted,
	    &st->active, &st->rejected, &st->timed_out, &st->bytes_in,
	    &st->bytes_out, &st->spliced) != 7)
		return (-1);
	if ((p = strstr(line, " refused_deny=")) == NULL ||
	    sscanf(p, " refused_deny=%" SCNu64 " refused_not_allowed=%" SCNu64
	    " refused_per_source=%" SCNu64 " refused_proxy_untrusted=%" SCNu64
	    " refused_proxy_bad=%" SCNu64 " refused_proxy_timeout=%" SCNu64,
	    &st->refused_deny, &st->refused_not_allowed,
	    &st->refused_per_source, &st->refused_proxy_untrusted,
	    &st->refused_proxy_bad, &st->refused_proxy_timeout) != 6)
		return (-1);
	return (0);
}
