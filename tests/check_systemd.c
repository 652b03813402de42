/*
 * systemd integration without systemd: the notifications iod sends to a
 * datagram socket the test owns, passed as NOTIFY_SOCKET, and socket
 * activation through the real systemd-socket-activate, which hands iod
 * sockets this test bound itself.  Where libsystemd or the tool is
 * missing, the cases that need it are reported as skipped, not run.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define SD_ACTIVATE	"systemd-socket-activate"
#define SD_MAXMSG	512

/* Every datagram iod sent to the test's NOTIFY_SOCKET, in order. */
struct sd_notes {
	int	 fd;
	char	*path;
	char	*msg[SD_MAXMSG];
	size_t	 n;
};

static const char *sd_tool(void);
static struct t_iod *sd_activate(const char *, const int *, int);
#ifdef HAVE_LIBSYSTEMD
static void	 sd_notes_open(struct sd_notes *);
static void	 sd_notes_close(struct sd_notes *);
static int	 sd_has_line(const char *, const char *);
static ssize_t	 sd_wait_note(struct sd_notes *, size_t, const char *, int);
static size_t	 sd_count(const struct sd_notes *, const char *);
static char	*sd_dump(const struct sd_notes *);
static int	 sd_unix_listener(const char *);
static int	 sd_unix_connect(const char *);
static ssize_t	 sd_good_reload(struct sd_notes *, struct t_iod *,
		    const char *, ssize_t);
static ssize_t	 sd_refused_reload(struct sd_notes *, struct t_iod *,
		    ssize_t);
static void	 sd_reload_keeps(struct t_iod *, int, int, int, const char *);
#endif

/* The systemd-socket-activate to run: on PATH, else in /usr/bin; or NULL. */
static const char *
sd_tool(void)
{
	static char	 found[1024];
	const char	*path = getenv("PATH"), *p, *end;
	size_t		 len;

	for (p = path; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ":");
		len = (size_t)(end - p);
		if (len == 0 || len + sizeof(SD_ACTIVATE) + 1 > sizeof(found))
			continue;
		snprintf(found, sizeof(found), "%.*s/%s", (int)len, p,
		    SD_ACTIVATE);
		if (access(found, X_OK) == 0)
			return (found);
	}
	snprintf(found, sizeof(found), "/usr/bin/%s", SD_ACTIVATE);
	return (access(found, X_OK) == 0 ? found : NULL);
}

/*
 * Run "systemd-socket-activate $IOD_BIN --stderr -c FILE", FILE holding
 * conf, passing it the n listening sockets in fds as descriptors 3 on,
 * the way systemd passes them (LISTEN_FDS, LISTEN_PID).  The tool takes
 * them as its own, waits for the first client, then becomes iod with the
 * sockets and the same PID.  stdout and stderr go to pipes, and the
 * child is adopted, as in t_start_iod().
 */
static struct t_iod *
sd_activate(const char *conf, const int *fds, int n)
{
	struct t_iod	*iod;
	const char	*argv[6];
	char		 num[16];
	int		 outp[2], errp[2], high[8], null, i;
	pid_t		 pid;

	ck_assert_msg(n > 0 && n <= 8, "%d sockets", n);
	iod = t_new_iod(conf, outp, errp);
	argv[0] = sd_tool();
	if ((argv[1] = getenv("IOD_BIN")) == NULL)
		ck_abort_msg("IOD_BIN is not set (run through make check)");
	argv[2] = "--stderr";
	argv[3] = "-c";
	argv[4] = iod->conf;
	argv[5] = NULL;
	if ((pid = fork()) == -1)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, STDIN_FILENO);
		dup2(outp[1], STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
		/* Out of the way first: a socket may already be 3 or 4. */
		for (i = 0; i < n; i++)
			if ((high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64)) == -1)
				_exit(126);
		for (i = 0; i < n; i++)
			if (dup2(high[i], 3 + i) == -1)
				_exit(126);
		snprintf(num, sizeof(num), "%d", n);
		setenv("LISTEN_FDS", num, 1);
		snprintf(num, sizeof(num), "%d", (int)getpid());
		setenv("LISTEN_PID", num, 1);
		unsetenv("LISTEN_FDNAMES");
		unsetenv("NOTIFY_SOCKET");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	t_adopt_iod(iod, pid, outp, errp);
	return (iod);
}

#ifdef HAVE_LIBSYSTEMD
/*
 * Bind a datagram socket in TMPDIR and point NOTIFY_SOCKET at it: iod,
 * started from this test process, inherits the variable.
 */
static void
sd_notes_open(struct sd_notes *sn)
{
	struct sockaddr_un	sun;
	const char		*dir = getenv("TMPDIR");

	memset(sn, 0, sizeof(*sn));
	if (asprintf(&sn->path, "%s/notify.sock", dir != NULL ? dir :
	    "/tmp") == -1)
		ck_abort_msg("asprintf failed");
	ck_assert_msg(strlen(sn->path) < sizeof(sun.sun_path),
	    "socket path too long: %s", sn->path);
	unlink(sn->path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sn->path, strlen(sn->path) + 1);
	sn->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_msg(sn->fd != -1, "socket: %s", strerror(errno));
	ck_assert_msg(bind(sn->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "bind %s: %s", sn->path, strerror(errno));
	setenv("NOTIFY_SOCKET", sn->path, 1);
}

/* Close the socket, forget every datagram. */
static void
sd_notes_close(struct sd_notes *sn)
{
	size_t	i;

	unsetenv("NOTIFY_SOCKET");
	close(sn->fd);
	unlink(sn->path);
	free(sn->path);
	for (i = 0; i < sn->n; i++)
		free(sn->msg[i]);
	memset(sn, 0, sizeof(*sn));
}

/* Whether msg has a line that starts with want ("READY=1", "STATUS="). */
static int
sd_has_line(const char *msg, const char *want)
{
	const char	*p;
	size_t		 len = strlen(want);

	for (p = msg; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, want, len) == 0)
			return (1);
	}
	return (0);
}

/*
 * Wait up to timeout_ms for a datagram, at index from or later, with a
 * line starting with want; read every datagram that arrives meanwhile.
 * Return its index, or -1.
 */
static ssize_t
sd_wait_note(struct sd_notes *sn, size_t from, const char *want,
    int timeout_ms)
{
	struct pollfd	 pfd;
	int64_t		 deadline = t_now_ms() + timeout_ms, left;
	char		 buf[4096];
	ssize_t		 n;
	size_t		 i = from;
	int		 loops;

	for (loops = 0; loops < 100000; loops++) {
		for (; i < sn->n; i++)
			if (sd_has_line(sn->msg[i], want))
				return ((ssize_t)i);
		n = recv(sn->fd, buf, sizeof(buf) - 1, 0);
		if (n >= 0) {
			ck_assert_msg(sn->n < SD_MAXMSG, "over %d datagrams",
			    SD_MAXMSG);
			buf[n] = '\0';
			sn->msg[sn->n++] = strdup(buf);
			continue;
		}
		ck_assert_msg(errno == EAGAIN || errno == EINTR,
		    "recv %s: %s", sn->path, strerror(errno));
		if ((left = deadline - t_now_ms()) <= 0)
			break;
		pfd.fd = sn->fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, (int)left);
	}
	return (-1);
}

/* How many datagrams so far have a line starting with want. */
static size_t
sd_count(const struct sd_notes *sn, const char *want)
{
	size_t	i, n = 0;

	for (i = 0; i < sn->n; i++)
		n += sd_has_line(sn->msg[i], want);
	return (n);
}

/* Every datagram so far, one per line, for failure messages. */
static char *
sd_dump(const struct sd_notes *sn)
{
	static char	buf[8192];
	size_t		i, off = 0;
	char		*p;

	buf[0] = '\0';
	for (i = 0; i < sn->n && off < sizeof(buf); i++)
		off += snprintf(buf + off, sizeof(buf) - off, "[%zu] %s\n", i,
		    sn->msg[i]);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n' && p[1] != '[' && p[1] != '\0')
			*p = ' ';
	return (buf);
}

/*
 * A good reload of iod with conf, after note index after: RELOADING=1
 * with MONOTONIC_USEC=, then READY=1 and the "reloaded" line.  Returns
 * the READY=1's index.
 */
static ssize_t
sd_good_reload(struct sd_notes *sn, struct t_iod *iod, const char *conf,
    ssize_t after)
{
	ssize_t	reloading, ready;

	t_rewrite_conf(iod, conf);
	kill(iod->pid, SIGHUP);
	reloading = sd_wait_note(sn, (size_t)after + 1, "RELOADING=1",
	    t_ms(5000));
	ck_assert_msg(reloading > after, "no RELOADING=1 after SIGHUP; "
	    "got:\n%s", sd_dump(sn));
	ck_assert_msg(sd_has_line(sn->msg[reloading], "MONOTONIC_USEC="),
	    "RELOADING=1 without MONOTONIC_USEC=: %s", sn->msg[reloading]);
	ready = sd_wait_note(sn, (size_t)reloading + 1, "READY=1",
	    t_ms(5000));
	ck_assert_msg(ready > reloading, "no READY=1 after RELOADING=1; "
	    "got:\n%s", sd_dump(sn));
	ck_assert_msg(t_wait_log(iod, "reloaded ", t_ms(3000)) != NULL,
	    "no \"reloaded\" line:\n%s", t_log_tail(iod));
	return (ready);
}

/*
 * A refused reload, after note index after: still RELOADING=1 then
 * READY=1, and the "reload failed" line.  Returns the READY=1's index.
 */
static ssize_t
sd_refused_reload(struct sd_notes *sn, struct t_iod *iod, ssize_t after)
{
	ssize_t	reloading, ready;

	t_rewrite_conf(iod, "workers = ;\n");
	kill(iod->pid, SIGHUP);
	reloading = sd_wait_note(sn, (size_t)after + 1, "RELOADING=1",
	    t_ms(5000));
	ready = reloading < 0 ? -1 : sd_wait_note(sn,
	    (size_t)reloading + 1, "READY=1", t_ms(5000));
	ck_assert_msg(reloading > after && ready > reloading, "a refused "
	    "reload gave no RELOADING=1 then READY=1; got:\n%s", sd_dump(sn));
	ck_assert_msg(t_wait_log(iod, "reload failed", t_ms(3000)) != NULL,
	    "no \"reload failed\" line:\n%s", t_log_tail(iod));
	return (ready);
}

/*
 * Proves the order of what iod tells systemd: READY=1 with a STATUS=
 * once it serves; STATUS= again when the connection count changes;
 * RELOADING=1 (with MONOTONIC_USEC=) then READY=1 around a good reload
 * and around a refused one; STOPPING=1 on SIGTERM; then a clean exit.
 */
START_TEST(test_notify_order)
{
	struct sd_notes	 sn;
	struct t_iod	*iod;
	ssize_t		 ready, ready2, ready3, stopping, status;
	char		*conf;
	int		 fd;

	sd_notes_open(&sn);
	conf = t_conf(&t_variants[0], "listen = [\"127.0.0.1:0\"];\n");
	iod = t_spawn_iod(conf, NULL);
	ready = sd_wait_note(&sn, 0, "READY=1", t_ms(5000));
	ck_assert_msg(ready >= 0, "no READY=1; got:\n%s", sd_dump(&sn));
	ck_assert_msg(sd_has_line(sn.msg[ready], "STATUS=0 active connections"),
	    "READY=1 without the status \"0 active connections\": %s",
	    sn.msg[ready]);

	/* One client: the status line says so within a few seconds. */
	fd = t_connect(iod->port[0]);
	t_expect_roundtrip(fd, "status", "STATUS", t_ms(3000), "client");
	status = sd_wait_note(&sn, (size_t)ready + 1,
	    "STATUS=1 active connection,", t_ms(5000));
	ck_assert_msg(status > ready, "no \"STATUS=1 active connection\"; "
	    "got:\n%s", sd_dump(&sn));

	ready2 = sd_good_reload(&sn, iod, conf, status);
	ready3 = sd_refused_reload(&sn, iod, ready2);
	t_expect_roundtrip(fd, "still", "STILL", t_ms(3000),
	    "after a refused reload");
	close(fd);

	kill(iod->pid, SIGTERM);
	stopping = sd_wait_note(&sn, (size_t)ready3 + 1, "STOPPING=1",
	    t_ms(5000));
	ck_assert_msg(stopping > ready3, "no STOPPING=1 after SIGTERM; "
	    "got:\n%s", sd_dump(&sn));
	t_expect_exit0(iod);
	ck_assert_msg(sd_count(&sn, "READY=1") == 3 &&
	    sd_count(&sn, "RELOADING=1") == 2 &&
	    sd_count(&sn, "STOPPING=1") == 1, "want 3 READY=1, 2 RELOADING=1 "
	    "and 1 STOPPING=1; got:\n%s", sd_dump(&sn));
	t_stop_iod(iod);
	free(conf);
	sd_notes_close(&sn);
}
END_TEST

/*
 * Proves the watchdog: with WATCHDOG_USEC=200000 (as WatchdogSec=0.2
 * sets it) iod sends WATCHDOG=1 about every 100 ms; without it, never.
 */
START_TEST(test_watchdog)
{
	struct sd_notes	 sn;
	struct t_iod	*iod;
	char		*conf;
	ssize_t		 at = -1;
	int		 i;

	sd_notes_open(&sn);
	conf = t_conf(&t_variants[0], "listen = [\"127.0.0.1:0\"];\n");
	if (_i == 1)
		setenv("WATCHDOG_USEC", "200000", 1);
	iod = t_spawn_iod(conf, NULL);
	if (_i == 1) {
		for (i = 0; i < 5; i++) {
			at = sd_wait_note(&sn, (size_t)(at + 1), "WATCHDOG=1",
			    t_ms(2000));
			ck_assert_msg(at >= 0, "WATCHDOG=1 number %d did not "
			    "come; got:\n%s", i + 1, sd_dump(&sn));
		}
		ck_assert_msg(t_wait_log(iod, "pinging every 100 ms", 0) !=
		    NULL, "no \"pinging every 100 ms\" line:\n%s",
		    t_log_tail(iod));
	} else {
		ck_assert_msg(sd_wait_note(&sn, 0, "READY=1", t_ms(5000)) >= 0,
		    "no READY=1; got:\n%s", sd_dump(&sn));
		ck_assert_msg(sd_wait_note(&sn, 0, "WATCHDOG=1", 500) == -1,
		    "WATCHDOG=1 without WATCHDOG_USEC; got:\n%s",
		    sd_dump(&sn));
	}
	t_stop_iod(iod);
	unsetenv("WATCHDOG_USEC");
	free(conf);
	sd_notes_close(&sn);
}
END_TEST

/* A unix stream listener at path. */
static int
sd_unix_listener(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	ck_assert_msg(strlen(path) < sizeof(sun.sun_path), "path too long: "
	    "%s", path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd != -1, "socket: %s", strerror(errno));
	ck_assert_msg(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    listen(fd, 16) == 0, "bind/listen %s: %s", path, strerror(errno));
	return (fd);
}

/* Connect to the unix socket at path; a nonblocking socket, or -1. */
static int
sd_unix_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return (-1);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return (fd);
}

/*
 * SIGHUP to an iod serving the sockets systemd passed (TCP on port, unix
 * at sock): it keeps them, and serves TCP client c1 from before the
 * reload, a TCP client after it, and a unix client after it, which
 * replaces unix client c2 (closed here, as is every client but c1).
 */
static void
sd_reload_keeps(struct t_iod *iod, int c1, int c2, int port,
    const char *sock)
{
	int	c3;

	t_log_mark(iod);
	kill(iod->pid, SIGHUP);
	ck_assert_msg(t_wait_log(iod, "keeping the 2 sockets passed by "
	    "systemd", t_ms(5000)) != NULL, "no reload line:\n%s",
	    t_log_tail(iod));
	t_expect_roundtrip(c1, "old", "OLD", t_ms(10000),
	    "TCP client from before the reload");
	c3 = t_connect(port);
	t_expect_roundtrip(c3, "new", "NEW", t_ms(10000),
	    "TCP client after the reload");
	close(c2);
	c2 = sd_unix_connect(sock);
	t_expect_roundtrip(c2, "unix again", "UNIX AGAIN", t_ms(10000),
	    "unix client after the reload");
	close(c2);
	close(c3);
}

/*
 * Proves socket activation with the real systemd-socket-activate: iod
 * serves the TCP and the unix socket it is handed, logs that listen is
 * not used and opens nothing of its own (listen names the very same TCP
 * port, which it could not bind, and a unix path it must not create);
 * after SIGHUP it keeps serving the same sockets, old and new clients
 * alike; after SIGTERM it exits 0 without unlinking the unix socket
 * systemd owns.
 */
START_TEST(test_activate)
{
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
	struct t_iod		*iod;
	struct stat		 sb;
	char			*conf, sock[512], unused[512], want[600];
	const char		*dir = getenv("TMPDIR");
	int			 fds[2], port, c1, c2;

	snprintf(sock, sizeof(sock), "%s/activated.sock", dir);
	snprintf(unused, sizeof(unused), "%s/unused.sock", dir);
	fds[0] = t_listen_loopback(&port);
	fds[1] = sd_unix_listener(sock);
	if (asprintf(&conf, "listen = [\"127.0.0.1:%d\", \"unix:%s\"];\n"
	    "engine = \"%s\";\nworkers = %d;\n", port, unused,
	    v->engine, v->workers) == -1)
		ck_abort_msg("asprintf failed");
	iod = sd_activate(conf, fds, 2);
	ck_assert_msg(t_wait_log(iod, " as 4.", t_ms(5000)) != NULL,
	    SD_ACTIVATE " did not take both sockets:\n%s", t_log_tail(iod));

	/* The first client makes the tool exec iod, which answers it. */
	c1 = t_connect(port);
	t_expect_roundtrip(c1, "activated", "ACTIVATED", t_ms(10000),
	    "first TCP client");
	t_wait_ready(iod, t_ms(5000));
	ck_assert_msg(iod->nports == 1 && iod->port[0] == port, "iod reports "
	    "%zu TCP ports, the first %d; want the one passed, %d",
	    iod->nports, iod->port[0], port);
	snprintf(want, sizeof(want), "serving 2 sockets passed by systemd; "
	    "listen in %s is not used", iod->conf);
	ck_assert_msg(t_wait_log(iod, want, 0) != NULL, "no \"%s\":\n%s",
	    want, t_log_tail(iod));
	snprintf(want, sizeof(want), "listening on unix:%s (from systemd)",
	    sock);
	ck_assert_msg(t_wait_log(iod, want, 0) != NULL, "no \"%s\":\n%s",
	    want, t_log_tail(iod));
	c2 = sd_unix_connect(sock);
	t_expect_roundtrip(c2, "unix", "UNIX", t_ms(10000), "unix client");
	ck_assert_msg(stat(unused, &sb) == -1 && errno == ENOENT,
	    "iod created %s from listen", unused);

	/* A reload keeps the sockets: old and new clients are served. */
	sd_reload_keeps(iod, c1, c2, port, sock);
	close(c1);

	kill(iod->pid, SIGTERM);
	t_expect_exit0(iod);
	ck_assert_msg(stat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode),
	    "iod removed %s, which systemd owns", sock);
	t_stop_iod(iod);
	close(fds[0]);
	close(fds[1]);
	unlink(sock);
	free(conf);
}
END_TEST

/*
 * Proves what reuseport does with a socket passed by systemd: nothing.
 * iod says it is ignored, both workers share the one socket (no second
 * one joins its port), and clients are served.
 */
START_TEST(test_activate_reuseport)
{
	struct t_iod	*iod;
	char		*conf;
	int		 fd, port, c, i;

	fd = t_listen_loopback(&port);
	if (asprintf(&conf, "listen = [\"127.0.0.1:%d\"];\nengine = \"epoll\";"
	    "\nworkers = 2;\nreuseport = true;\n", port) == -1)
		ck_abort_msg("asprintf failed");
	iod = sd_activate(conf, &fd, 1);
	ck_assert_msg(t_wait_log(iod, " as 3.", t_ms(5000)) != NULL,
	    SD_ACTIVATE " did not take the socket:\n%s", t_log_tail(iod));
	for (i = 0; i < 20; i++) {
		c = t_connect(port);
		t_expect_roundtrip(c, "shared", "SHARED", t_ms(10000),
		    "client %d", i);
		close(c);
	}
	t_wait_ready(iod, t_ms(5000));
	ck_assert_msg(t_wait_log(iod, "reuseport is ignored: the sockets "
	    "passed by systemd are shared by every worker", 0) != NULL,
	    "no notice:\n%s", t_log_tail(iod));
	ck_assert_msg(strstr(iod->err.b_data, "reuseport:") == NULL,
	    "iod opened a reuseport group:\n%s", t_log_tail(iod));
	kill(iod->pid, SIGTERM);
	t_expect_exit0(iod);
	t_stop_iod(iod);
	close(fd);
	free(conf);
}
END_TEST

#else /* !HAVE_LIBSYSTEMD */

/*
 * Proves that sockets passed by systemd are refused, not ignored, when
 * iod was built without libsystemd: exit 71 with the reason.
 */
START_TEST(test_activate_without)
{
	struct t_iod	*iod;
	char		*conf;
	int		 fd, port, c, code;

	fd = t_listen_loopback(&port);
	if (asprintf(&conf, "listen = [\"127.0.0.1:%d\"];\n", port) == -1)
		ck_abort_msg("asprintf failed");
	iod = sd_activate(conf, &fd, 1);
	ck_assert_msg(t_wait_log(iod, " as 3.", t_ms(5000)) != NULL,
	    SD_ACTIVATE " did not take the socket:\n%s", t_log_tail(iod));
	c = t_connect(port);
	ck_assert_msg(t_wait_exit(iod, t_ms(10000)) == 0, "iod still runs:\n"
	    "%s", t_log_tail(iod));
	code = WIFEXITED(iod->status) ? WEXITSTATUS(iod->status) : -1;
	ck_assert_msg(code == 71 && t_wait_log(iod, "built without libsystemd",
	    0) != NULL, "exit %d, want 71 and the reason:\n%s", code,
	    t_log_tail(iod));
	if (c != -1)
		close(c);
	t_stop_iod(iod);
	close(fd);
	free(conf);
}
END_TEST

#endif /* HAVE_LIBSYSTEMD */

/*
 * The systemd suite.  Notifications need libsystemd; socket activation
 * needs systemd-socket-activate (Debian: systemd).  What cannot run here
 * is said on stderr and left out, so it is never counted as passed.
 */
Suite *
suite_systemd(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("systemd");
	tc = tcase_create("notify");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
#ifdef HAVE_LIBSYSTEMD
	tcase_add_test(tc, test_notify_order);
	tcase_add_loop_test(tc, test_watchdog, 0, 2);
#else
	fprintf(stderr, "systemd: SKIPPED notify tests: built without "
	    "libsystemd\n");
#endif
	suite_add_tcase(s, tc);

	tc = tcase_create("activate");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	if (sd_tool() == NULL)
		fprintf(stderr, "systemd: SKIPPED socket activation tests: no "
		    SD_ACTIVATE " (Debian: systemd)\n");
	else {
#ifdef HAVE_LIBSYSTEMD
		tcase_add_loop_test(tc, test_activate, 0,
		    t_count(T_CONCURRENT));
		tcase_add_test(tc, test_activate_reuseport);
#else
		tcase_add_test(tc, test_activate_without);
#endif
	}
	suite_add_tcase(s, tc);
	return (s);
}
