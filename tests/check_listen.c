/* listen: parsing specs, opening TCP and unix listeners, naming them. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"
#include "listen.h"

/* One listen_parse case: either a good address or the expected cause. */
struct parse_case {
	const char	*spec;
	int		 family;	/* 0 when the spec is bad */
	const char	*host;		/* numeric host or unix path */
	int		 port;
	const char	*cause;
};

static const struct parse_case parse_cases[] = {
	{ "127.0.0.1:7777", AF_INET, "127.0.0.1", 7777, NULL },
	{ "0.0.0.0:0", AF_INET, "0.0.0.0", 0, NULL },
	{ "*:80", AF_INET, "0.0.0.0", 80, NULL },
	{ "10.1.2.3:65535", AF_INET, "10.1.2.3", 65535, NULL },
	{ "127.0.0.1:00080", AF_INET, "127.0.0.1", 80, NULL },
	{ "[::1]:7777", AF_INET6, "::1", 7777, NULL },
	{ "[::]:0", AF_INET6, "::", 0, NULL },
	{ "[2001:db8::1]:1", AF_INET6, "2001:db8::1", 1, NULL },
	{ "[::ffff:127.0.0.1]:9", AF_INET6, "::ffff:127.0.0.1", 9, NULL },
	{ "unix:/run/iod.sock", AF_UNIX, "/run/iod.sock", 0, NULL },
	{ "", 0, NULL, 0, "missing port" },
	{ "127.0.0.1", 0, NULL, 0, "missing port" },
	{ "127.0.0.1:", 0, NULL, 0, "missing port" },
	{ "[::1]", 0, NULL, 0, "missing port" },
	{ "[::1]:", 0, NULL, 0, "missing port" },
	{ "127.0.0.1:99999", 0, NULL, 0, "invalid port \"99999\"" },
	{ "127.0.0.1:65536", 0, NULL, 0, "invalid port \"65536\"" },
	{ "127.0.0.1:-1", 0, NULL, 0, "invalid port \"-1\"" },
	{ "127.0.0.1:+80", 0, NULL, 0, "invalid port \"+80\"" },
	{ "127.0.0.1: 80", 0, NULL, 0, "invalid port \" 80\"" },
	{ "127.0.0.1:80x", 0, NULL, 0, "invalid port \"80x\"" },
	{ "127.0.0.1:0x50", 0, NULL, 0, "invalid port \"0x50\"" },
	{ "[::1]:99999999999999999999", 0, NULL, 0,
	    "invalid port \"99999999999999999999\"" },
	{ "localhost:80", 0, NULL, 0,
	    "host must be a numeric IPv4 address, [IPv6 address] or *" },
	{ "::1:80", 0, NULL, 0,
	    "host must be a numeric IPv4 address, [IPv6 address] or *" },
	{ ":80", 0, NULL, 0,
	    "host must be a numeric IPv4 address, [IPv6 address] or *" },
	{ "256.0.0.1:80", 0, NULL, 0,
	    "host must be a numeric IPv4 address, [IPv6 address] or *" },
	{ "**:80", 0, NULL, 0,
	    "host must be a numeric IPv4 address, [IPv6 address] or *" },
	{ "[::1:80", 0, NULL, 0, "missing \"]\" after IPv6 address" },
	{ "[1.2.3.4]:80", 0, NULL, 0, "invalid IPv6 address \"1.2.3.4\"" },
	{ "[]:80", 0, NULL, 0, "invalid IPv6 address \"\"" },
	{ "[fe80::1%lo]:80", 0, NULL, 0,
	    "invalid IPv6 address \"fe80::1%lo\"" },
	{ "[::1]80", 0, NULL, 0, "expected \":PORT\" after \"]\"" },
	{ "unix:", 0, NULL, 0, "unix socket path must be absolute" },
	{ "unix:run/iod.sock", 0, NULL, 0,
	    "unix socket path must be absolute" },
};

/* A fresh directory for unix sockets; removed by unix_dir_done. */
static char *
unix_dir(void)
{
	const char	*tmp;
	char		*dir;

	if ((tmp = getenv("TMPDIR")) == NULL)
		tmp = "/tmp";
	if (asprintf(&dir, "%s/iod-listen.XXXXXX", tmp) == -1)
		ck_abort_msg("asprintf failed");
	if (mkdtemp(dir) == NULL)
		ck_abort_msg("mkdtemp %s: %s", dir, strerror(errno));
	return (dir);
}

/* Remove a unix_dir and the one socket path that may be left in it. */
static void
unix_dir_done(char *dir, char *path)
{
	unlink(path);
	ck_assert_msg(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
	free(path);
	free(dir);
}

/* Parse spec, which must be good. */
static void
parse_ok(const char *spec, struct listen_addr *la)
{
	char	cause[256] = "";

	ck_assert_msg(listen_parse(spec, la, cause, sizeof(cause)) == 0,
	    "listen_parse \"%s\" failed: %s", spec, cause);
}

/* Parse and open spec, which must work; return the fd. */
static int
open_ok(const char *spec)
{
	struct listen_addr	la;
	char			cause[256] = "";
	int			fd;

	parse_ok(spec, &la);
	fd = listen_open(&la, 16, 0600, cause, sizeof(cause));
	ck_assert_msg(fd != -1, "listen_open %s failed: %s", spec, cause);
	return (fd);
}

/* The port a TCP listener is bound to. */
static int
bound_port(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	ck_assert_msg(getsockname(fd, (struct sockaddr *)&ss, &len) == 0,
	    "getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET)
		return (ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return (ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
}

/* Connect a blocking client to a unix path; return the fd or -1. */
static int
unix_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, saved;

	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		ck_abort_msg("socket: %s", strerror(errno));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

/* Every spec in the table parses to its address, or fails with its cause. */
START_TEST(test_parse_table)
{
	const struct parse_case	*pc = &parse_cases[_i];
	struct listen_addr	 la;
	char			 cause[256] = "", host[INET6_ADDRSTRLEN];
	int			 rc, port = 0;

	rc = listen_parse(pc->spec, &la, cause, sizeof(cause));
	if (pc->family == 0) {
		ck_assert_msg(rc == -1, "\"%s\" parsed, expected \"%s\"",
		    pc->spec, pc->cause);
		ck_assert_str_eq(cause, pc->cause);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\" failed: %s", pc->spec, cause);
	ck_assert_int_eq(la.la_family, pc->family);
	ck_assert_int_eq(la.la_ss.ss_family, pc->family);
	if (pc->family == AF_UNIX) {
		ck_assert_str_eq(((struct sockaddr_un *)&la.la_ss)->sun_path,
		    pc->host);
		ck_assert_int_eq(la.la_len, offsetof(struct sockaddr_un,
		    sun_path) + strlen(pc->host) + 1);
		return;
	}
	if (pc->family == AF_INET) {
		ck_assert_int_eq(la.la_len, sizeof(struct sockaddr_in));
		inet_ntop(AF_INET,
		    &((struct sockaddr_in *)&la.la_ss)->sin_addr, host,
		    sizeof(host));
		port = ntohs(((struct sockaddr_in *)&la.la_ss)->sin_port);
	} else {
		ck_assert_int_eq(la.la_len, sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)&la.la_ss)->sin6_addr, host,
		    sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&la.la_ss)->sin6_port);
	}
	ck_assert_str_eq(host, pc->host);
	ck_assert_int_eq(port, pc->port);
}
END_TEST

/* A unix path of 107 bytes fits sun_path with its NUL; 108 does not. */
START_TEST(test_parse_unix_length)
{
	struct listen_addr	la;
	struct sockaddr_un	sun;
	char			spec[256], cause[256] = "";
	size_t			max = sizeof(sun.sun_path);

	snprintf(spec, sizeof(spec), "unix:/%0*d", (int)max - 2, 0);
	ck_assert_int_eq(strlen(spec + 5), max - 1);
	ck_assert_msg(listen_parse(spec, &la, cause, sizeof(cause)) == 0,
	    "%zu-byte path failed: %s", strlen(spec + 5), cause);
	snprintf(spec, sizeof(spec), "unix:/%0*d", (int)max - 1, 0);
	ck_assert_msg(listen_parse(spec, &la, cause, sizeof(cause)) == -1,
	    "%zu-byte path parsed", strlen(spec + 5));
	ck_assert_str_eq(cause, "unix socket path too long");
}
END_TEST

/* A cause that does not fit is truncated, not overflowed. */
START_TEST(test_parse_small_cause)
{
	struct listen_addr	la;
	char			cause[8];

	memset(cause, 'x', sizeof(cause));
	ck_assert_int_eq(listen_parse("x:1", &la, cause, 5), -1);
	ck_assert_str_eq(cause, "host");
	ck_assert_int_eq(cause[5], 'x');
	ck_assert_int_eq(listen_parse("x:1", &la, NULL, 0), -1);
}
END_TEST

/* Loopback v4 and v6 listeners get a real port, nonblocking and cloexec. */
START_TEST(test_open_loopback)
{
	static const char	*specs[] = { "127.0.0.1:0", "[::1]:0" };
	static const char	*prefix[] = { "127.0.0.1:", "[::1]:" };
	char			 name[64];
	int			 fd, port, on = 0;
	socklen_t		 len = sizeof(on);

	fd = open_ok(specs[_i]);
	ck_assert_msg(fcntl(fd, F_GETFL) & O_NONBLOCK, "%s: not nonblocking",
	    specs[_i]);
	ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC, "%s: not cloexec",
	    specs[_i]);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len),
	    0);
	ck_assert_msg(on == 1, "%s: SO_ACCEPTCONN is %d", specs[_i], on);
	ck_assert_int_eq(listen_name(fd, name, sizeof(name)), 0);
	ck_assert_msg(strncmp(name, prefix[_i], strlen(prefix[_i])) == 0,
	    "listen_name gave \"%s\", expected prefix \"%s\"", name,
	    prefix[_i]);
	port = atoi(name + strlen(prefix[_i]));
	ck_assert_msg(port > 0 && port == bound_port(fd),
	    "listen_name gave \"%s\", bound port is %d", name, bound_port(fd));
	listen_close(fd);
}
END_TEST

/* An IPv6 listener is V6ONLY, so v4 and v6 can hold the same port. */
START_TEST(test_open_share_port)
{
	char	spec[64], name[64];
	int	fd4, fd6, on = 0;
	socklen_t len = sizeof(on);

	fd4 = open_ok("127.0.0.1:0");
	snprintf(spec, sizeof(spec), "[::1]:%d", bound_port(fd4));
	fd6 = open_ok(spec);
	ck_assert_int_eq(getsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &on, &len),
	    0);
	ck_assert_msg(on == 1, "IPV6_V6ONLY is %d", on);
	ck_assert_int_eq(listen_name(fd6, name, sizeof(name)), 0);
	ck_assert_str_eq(name, spec);
	listen_close(fd6);
	listen_close(fd4);
}
END_TEST

/* A port that is already listening gives plain "Address already in use". */
START_TEST(test_open_in_use)
{
	static const char	*hosts[] = { "127.0.0.1", "[::1]" };
	struct listen_addr	 la;
	char			 spec[64], cause[256] = "";
	int			 fd, fd2;

	snprintf(spec, sizeof(spec), "%s:0", hosts[_i]);
	fd = open_ok(spec);
	snprintf(spec, sizeof(spec), "%s:%d", hosts[_i], bound_port(fd));
	parse_ok(spec, &la);
	fd2 = listen_open(&la, 16, 0600, cause, sizeof(cause));
	ck_assert_msg(fd2 == -1, "second listen_open %s worked", spec);
	ck_assert_str_eq(cause, "Address already in use");
	ck_assert_int_eq(errno, EADDRINUSE);
	listen_close(fd);
}
END_TEST

/* A unix socket gets exactly the asked-for mode, whatever the umask. */
START_TEST(test_unix_mode)
{
	static const int	 modes[] = { 0600, 0660, 0666 };
	struct listen_addr	 la;
	struct stat		 st;
	char			*dir = unix_dir(), *path, *spec, name[256];
	char			 cause[256] = "";
	int			 fd;
	mode_t			 old;

	if (asprintf(&path, "%s/s", dir) == -1 ||
	    asprintf(&spec, "unix:%s", path) == -1)
		ck_abort_msg("asprintf failed");
	parse_ok(spec, &la);
	old = umask(077);
	fd = listen_open(&la, 16, modes[_i], cause, sizeof(cause));
	umask(old);
	ck_assert_msg(fd != -1, "listen_open %s failed: %s", spec, cause);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
	    strerror(errno));
	ck_assert_msg(S_ISSOCK(st.st_mode), "%s: mode %o is not a socket",
	    path, (unsigned)st.st_mode);
	ck_assert_msg((st.st_mode & 07777) == (mode_t)modes[_i],
	    "%s: mode %o, expected %o", path, (unsigned)st.st_mode & 07777,
	    (unsigned)modes[_i]);
	ck_assert_int_eq(listen_name(fd, name, sizeof(name)), 0);
	ck_assert_str_eq(name, spec);
	listen_close(fd);
	free(spec);
	unix_dir_done(dir, path);
}
END_TEST

/*
 * listen_set_mode() changes a kept unix listener's mode (what a reload
 * asks), and leaves a TCP listener alone.
 */
START_TEST(test_unix_set_mode)
{
	struct listen_addr	 la;
	struct stat		 st;
	char			*dir = unix_dir(), *path, *spec;
	char			 cause[256] = "";
	int			 fd, tcp;

	if (asprintf(&path, "%s/s", dir) == -1 ||
	    asprintf(&spec, "unix:%s", path) == -1)
		ck_abort_msg("asprintf failed");
	parse_ok(spec, &la);
	fd = listen_open(&la, 16, 0600, cause, sizeof(cause));
	ck_assert_msg(fd != -1, "listen_open %s failed: %s", spec, cause);
	ck_assert_int_eq(listen_set_mode(fd, 0666, cause, sizeof(cause)), 0);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
	    strerror(errno));
	ck_assert_msg((st.st_mode & 07777) == 0666, "%s: mode %o, expected "
	    "666", path, (unsigned)st.st_mode & 07777);
	tcp = open_ok("127.0.0.1:0");
	ck_assert_int_eq(listen_set_mode(tcp, 0666, cause, sizeof(cause)), 0);
	listen_close(tcp);
	listen_close(fd);
	free(spec);
	unix_dir_done(dir, path);
}
END_TEST

/* A socket file nobody listens on is replaced; the new one accepts. */
START_TEST(test_unix_stale)
{
	struct listen_addr	 la;
	char			*dir = unix_dir(), *path, *spec;
	char			 cause[256] = "";
	int			 old, fd, c;

	if (asprintf(&path, "%s/s", dir) == -1 ||
	    asprintf(&spec, "unix:%s", path) == -1)
		ck_abort_msg("asprintf failed");
	parse_ok(spec, &la);
	old = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_msg(bind(old, (struct sockaddr *)&la.la_ss, la.la_len) == 0,
	    "bind %s: %s", path, strerror(errno));
	close(old);
	ck_assert_msg(unix_connect(path) == -1 && errno == ECONNREFUSED,
	    "stale socket: connect gave %s", strerror(errno));
	fd = listen_open(&la, 16, 0600, cause, sizeof(cause));
	ck_assert_msg(fd != -1, "listen_open over a stale socket: %s", cause);
	c = unix_connect(path);
	ck_assert_msg(c != -1, "connect %s: %s", path, strerror(errno));
	close(c);
	listen_close(fd);
	free(spec);
	unix_dir_done(dir, path);
}
END_TEST

/* A socket someone listens on is refused and left working. */
START_TEST(test_unix_live)
{
	struct listen_addr	 la;
	char			*dir = unix_dir(), *path, *spec;
	char			 cause[256] = "";
	int			 fd, fd2, c;

	if (asprintf(&path, "%s/s", dir) == -1 ||
	    asprintf(&spec, "unix:%s", path) == -1)
		ck_abort_msg("asprintf failed");
	fd = open_ok(spec);
	parse_ok(spec, &la);
	fd2 = listen_open(&la, 16, 0600, cause, sizeof(cause));
	ck_assert_msg(fd2 == -1, "second listen_open %s worked", spec);
	ck_assert_str_eq(cause, "Address already in use");
	ck_assert_int_eq(errno, EADDRINUSE);
	c = unix_connect(path);
	ck_assert_msg(c != -1, "first listener lost: %s", strerror(errno));
	close(c);
	listen_close(fd);
	free(spec);
	unix_dir_done(dir, path);
}
END_TEST

/* A regular file in the way is refused and not removed. */
START_TEST(test_unix_not_socket)
{
	struct listen_addr	 la;
	struct stat		 st;
	char			*path = t_write_tmp("keep me\n"), *spec;
	char			 cause[256] = "";

	if (asprintf(&spec, "unix:%s", path) == -1)
		ck_abort_msg("asprintf failed");
	parse_ok(spec, &la);
	ck_assert_msg(listen_open(&la, 16, 0600, cause, sizeof(cause)) == -1,
	    "listen_open over a regular file worked");
	ck_assert_str_eq(cause, "exists and is not a socket");
	ck_assert_msg(stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == 8, "%s was changed", path);
	unlink(path);
	free(spec);
	free(path);
}
END_TEST

/* listen_close removes the socket file it bound. */
START_TEST(test_unix_close_unlinks)
{
	struct stat	 st;
	char		*dir = unix_dir(), *path, *spec;
	int		 fd;

	if (asprintf(&path, "%s/s", dir) == -1 ||
	    asprintf(&spec, "unix:%s", path) == -1)
		ck_abort_msg("asprintf failed");
	fd = open_ok(spec);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
	    strerror(errno));
	listen_close(fd);
	ck_assert_msg(stat(path, &st) == -1 && errno == ENOENT,
	    "%s still there after listen_close", path);
	ck_assert_msg(fcntl(fd, F_GETFD) == -1 && errno == EBADF,
	    "fd %d still open after listen_close", fd);
	free(spec);
	unix_dir_done(dir, path);
}
END_TEST

/* listen_name fails rather than truncate. */
START_TEST(test_name_short_buffer)
{
	char	name[8];
	int	fd;

	fd = open_ok("127.0.0.1:0");
	ck_assert_int_eq(listen_name(fd, name, sizeof(name)), -1);
	listen_close(fd);
	ck_assert_int_eq(listen_name(-1, name, sizeof(name)), -1);
}
END_TEST

/* listen_backlog passes small values and caps big ones at somaxconn. */
START_TEST(test_backlog)
{
	FILE	*f;
	int	 max;

	f = fopen("/proc/sys/net/core/somaxconn", "r");
	ck_assert_msg(f != NULL, "somaxconn: %s", strerror(errno));
	ck_assert_int_eq(fscanf(f, "%d", &max), 1);
	fclose(f);
	ck_assert_int_eq(listen_backlog(1), 1);
	ck_assert_int_eq(listen_backlog(max - 1), max - 1);
	ck_assert_int_eq(listen_backlog(max), max);
	ck_assert_int_eq(listen_backlog(max + 1), max);
	ck_assert_int_eq(listen_backlog(INT_MAX), max);
}
END_TEST

/* Parsing, TCP listeners and unix listeners. */
Suite *
suite_listen(void)
{
	Suite	*s = suite_create("listen");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_table, 0,
	    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_parse_unix_length);
	tcase_add_test(tc, test_parse_small_cause);
	suite_add_tcase(s, tc);

	tc = tcase_create("tcp");
	tcase_add_loop_test(tc, test_open_loopback, 0, 2);
	tcase_add_test(tc, test_open_share_port);
	tcase_add_loop_test(tc, test_open_in_use, 0, 2);
	tcase_add_test(tc, test_name_short_buffer);
	tcase_add_test(tc, test_backlog);
	suite_add_tcase(s, tc);

	tc = tcase_create("unix");
	tcase_add_loop_test(tc, test_unix_mode, 0, 3);
	tcase_add_test(tc, test_unix_set_mode);
	tcase_add_test(tc, test_unix_stale);
	tcase_add_test(tc, test_unix_live);
	tcase_add_test(tc, test_unix_not_socket);
	tcase_add_test(tc, test_unix_close_unlinks);
	suite_add_tcase(s, tc);
	return (s);
}
