/* Listening addresses: parse specs, open listening sockets, name them. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

#define LISTEN_SOMAXCONN	"/proc/sys/net/core/somaxconn"

static void	listen_cause(char *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static int	listen_parse_port(const char *, in_port_t *, char *, size_t);
static int	listen_parse_unix(const char *, struct listen_addr *, char *,
		    size_t);
static int	listen_parse_v6(const char *, struct listen_addr *, char *,
		    size_t);
static int	listen_parse_v4(const char *, struct listen_addr *, char *,
		    size_t);
static int	listen_open_inet(const struct listen_addr *, int, int, char *,
		    size_t);
static int	listen_unix_probe(const char *);
static int	listen_unix_stale(const char *, char *, size_t);
static int	listen_open_unix(const struct listen_addr *, int, int,
		    char *, size_t);
static const char *listen_unix_file(int, struct sockaddr_storage *);

/* Fill the caller's cause buffer, if there is one. */
static void
listen_cause(char *cause, size_t len, const char *fmt, ...)
{
	va_list	ap;

	if (cause == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(cause, len, fmt, ap);
	va_end(ap);
}

/* Parse a decimal port, 0 to 65535, into network byte order. */
static int
listen_parse_port(const char *s, in_port_t *port, char *cause, size_t len)
{
	unsigned long	 n = 0;
	const char	*p;

	if (*s == '\0') {
		listen_cause(cause, len, "missing port");
		return (-1);
	}
	for (p = s; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			n = n * 10 + (*p - '0');
		if (*p < '0' || *p > '9' || n > 65535) {
			listen_cause(cause, len, "invalid port \"%s\"", s);
			return (-1);
		}
	}
	*port = htons((in_port_t)n);
	return (0);
}

/* Parse "unix:/PATH" (the prefix already checked) into an AF_UNIX address. */
static int
listen_parse_unix(const char *path, struct listen_addr *la, char *cause,
    size_t len)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&la->la_ss;
	size_t			 plen = strlen(path);

	if (path[0] != '/') {
		listen_cause(cause, len, "unix socket path must be absolute");
		return (-1);
	}
	if (plen >= sizeof(sun->sun_path)) {
		listen_cause(cause, len, "unix socket path too long");
		return (-1);
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, plen + 1);
	la->la_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    plen + 1);
	la->la_family = AF_UNIX;
	return (0);
}

/* Parse "[IPV6]:PORT" into an AF_INET6 address. */
static int
listen_parse_v6(const char *spec, struct listen_addr *la, char *cause,
    size_t len)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&la->la_ss;
	char			 host[INET6_ADDRSTRLEN];
	const char		*end;
	size_t			 hlen;

	if ((end = strchr(spec, ']')) == NULL) {
		listen_cause(cause, len, "missing \"]\" after IPv6 address");
		return (-1);
	}
	hlen = end - (spec + 1);
	if (hlen >= sizeof(host)) {
		listen_cause(cause, len, "invalid IPv6 address");
		return (-1);
	}
	memcpy(host, spec + 1, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
		listen_cause(cause, len, "invalid IPv6 address \"%s\"", host);
		return (-1);
	}
	if (end[1] != ':' && end[1] != '\0') {
		listen_cause(cause, len, "expected \":PORT\" after \"]\"");
		return (-1);
	}
	if (listen_parse_port(end[1] == ':' ? end + 2 : end + 1,
	    &sin6->sin6_port, cause, len) == -1)
		return (-1);
	sin6->sin6_family = AF_INET6;
	la->la_len = sizeof(*sin6);
	la->la_family = AF_INET6;
	return (0);
}

/* Parse "A.B.C.D:PORT" or "*:PORT" into an AF_INET address. */
static int
listen_parse_v4(const char *spec, struct listen_addr *la, char *cause,
    size_t len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&la->la_ss;
	char			 host[INET_ADDRSTRLEN];
	const char		*colon;
	size_t			 hlen;

	if ((colon = strrchr(spec, ':')) == NULL) {
		listen_cause(cause, len, "missing port");
		return (-1);
	}
	hlen = colon - spec;
	if (hlen == 1 && spec[0] == '*')
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else {
		if (hlen >= sizeof(host))
			goto badhost;
		memcpy(host, spec, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto badhost;
	}
	if (listen_parse_port(colon + 1, &sin->sin_port, cause, len) == -1)
		return (-1);
	sin->sin_family = AF_INET;
	la->la_len = sizeof(*sin);
	la->la_family = AF_INET;
	return (0);

badhost:
	listen_cause(cause, len,
	    "host must be a numeric IPv4 address, [IPv6 address] or *");
	return (-1);
}

/* Parse one listen spec into an address; pure apart from inet_pton. */
int
listen_parse(const char *spec, struct listen_addr *la, char *cause,
    size_t len)
{
	memset(la, 0, sizeof(*la));
	if (strncmp(spec, "unix:", 5) == 0)
		return (listen_parse_unix(spec + 5, la, cause, len));
	if (spec[0] == '[')
		return (listen_parse_v6(spec, la, cause, len));
	return (listen_parse_v4(spec, la, cause, len));
}

/*
 * Open, bind and listen on an IPv4 or IPv6 address; with reuseport, as a
 * member of the address's SO_REUSEPORT group.
 */
static int
listen_open_inet(const struct listen_addr *la, int backlog, int reuseport,
    char *cause, size_t len)
{
	int	fd, on = 1, saved;

	fd = socket(la->la_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		listen_cause(cause, len, "socket: %s", strerror(errno));
		return (-1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		listen_cause(cause, len, "SO_REUSEADDR: %s", strerror(errno));
		goto fail;
	}
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1) {
		listen_cause(cause, len, "SO_REUSEPORT: %s", strerror(errno));
		goto fail;
	}
	/* Without V6ONLY, [::]:P would take P from IPv4 too. */
	if (la->la_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) {
		listen_cause(cause, len, "IPV6_V6ONLY: %s", strerror(errno));
		goto fail;
	}
	/*
	 * A port taken by another SO_REUSEADDR socket that is not listening
	 * yet is reported by listen() rather than bind(), so both failures
	 * are the plain "Address already in use" the caller expects.
	 */
	if (bind(fd, (const struct sockaddr *)&la->la_ss, la->la_len) == -1 ||
	    listen(fd, backlog) == -1) {
		listen_cause(cause, len, "%s", strerror(errno));
		goto fail;
	}
	return (fd);

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

/* Connect to a unix path without blocking; return 0 or the errno. */
static int
listen_unix_probe(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, err = 0;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (errno);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err = errno;
	close(fd);
	return (err);
}

/*
 * Make way for a unix socket at path: nothing there is fine, a socket
 * nobody listens on (ECONNREFUSED) is left over from a dead process and
 * is removed, anything else is refused.  The probe is nonblocking so a
 * live server with a full backlog (EAGAIN) cannot stall us.
 */
static int
listen_unix_stale(const char *path, char *cause, size_t len)
{
	struct stat	st;
	int		err;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return (0);
		listen_cause(cause, len, "stat: %s", strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(st.st_mode)) {
		listen_cause(cause, len, "exists and is not a socket");
		errno = EEXIST;
		return (-1);
	}
	err = listen_unix_probe(path);
	if (err == 0 || err == EAGAIN) {
		listen_cause(cause, len, "%s", strerror(EADDRINUSE));
		errno = EADDRINUSE;
		return (-1);
	}
	if (err != ECONNREFUSED && err != ENOENT) {
		listen_cause(cause, len, "connect: %s", strerror(err));
		errno = err;
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		listen_cause(cause, len, "unlink: %s", strerror(errno));
		return (-1);
	}
	return (0);
}

/* Open a unix socket listener with the given permission bits. */
static int
listen_open_unix(const struct listen_addr *la, int backlog, int mode,
    char *cause, size_t len)
{
	const char	*path;
	int		 fd, bound = 0, saved;

	path = ((const struct sockaddr_un *)&la->la_ss)->sun_path;
	if (listen_unix_stale(path, cause, len) == -1)
		return (-1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		listen_cause(cause, len, "socket: %s", strerror(errno));
		return (-1);
	}
	if (bind(fd, (const struct sockaddr *)&la->la_ss, la->la_len) == -1) {
		listen_cause(cause, len, "%s", strerror(errno));
		goto fail;
	}
	bound = 1;
	/* Set the mode before listen(); until then, connects are refused. */
	if (chmod(path, mode) == -1) {
		listen_cause(cause, len, "chmod: %s", strerror(errno));
		goto fail;
	}
	if (listen(fd, backlog) == -1) {
		listen_cause(cause, len, "%s", strerror(errno));
		goto fail;
	}
	return (fd);

fail:
	saved = errno;
	if (bound)
		unlink(path);
	close(fd);
	errno = saved;
	return (-1);
}

/* Open a nonblocking, close-on-exec listening socket for an address. */
int
listen_open(const struct listen_addr *la, int backlog, int unix_mode,
    char *cause, size_t len)
{
	if (la->la_family == AF_UNIX)
		return (listen_open_unix(la, backlog, unix_mode, cause, len));
	if (la->la_family == AF_INET || la->la_family == AF_INET6)
		return (listen_open_inet(la, backlog, 0, cause, len));
	listen_cause(cause, len, "%s", strerror(EAFNOSUPPORT));
	errno = EAFNOSUPPORT;
	return (-1);
}

/*
 * Open an IPv4 or IPv6 listener with SO_REUSEPORT, so that more sockets
 * may listen on the same address; other families have no such groups.
 */
int
listen_open_reuseport(const struct listen_addr *la, int backlog, char *cause,
    size_t len)
{
	if (la->la_family == AF_INET || la->la_family == AF_INET6)
		return (listen_open_inet(la, backlog, 1, cause, len));
	listen_cause(cause, len, "SO_REUSEPORT: %s", strerror(EAFNOSUPPORT));
	errno = EAFNOSUPPORT;
	return (-1);
}

/* The backlog the kernel will really use: wanted, capped at somaxconn. */
int
listen_backlog(int wanted)
{
	FILE	*f;
	int	 max, n;

	if ((f = fopen(LISTEN_SOMAXCONN, "re")) == NULL)
		return (wanted);
	n = fscanf(f, "%d", &max);
	fclose(f);
	if (n != 1 || max <= 0 || max >= wanted)
		return (wanted);
	return (max);
}

/* Describe a socket's bound address: "1.2.3.4:P", "[::1]:P", "unix:/p". */
int
listen_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 sslen = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN];
	int			 n;

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return (-1);
	switch (ss.ss_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		n = snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		n = snprintf(buf, len, "[%s]:%u", host,
		    ntohs(sin6->sin6_port));
		break;
	case AF_UNIX:
		n = snprintf(buf, len, "unix:%.*s", (int)sizeof(sun->sun_path),
		    sun->sun_path);
		break;
	default:
		errno = EAFNOSUPPORT;
		return (-1);
	}
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

/*
 * The file a unix listener is bound to, kept in *ss, or NULL for any other
 * socket (and for abstract unix addresses, which have no file).
 */
static const char *
listen_unix_file(int fd, struct sockaddr_storage *ss)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	socklen_t		 sslen = sizeof(*sun);

	/* ss is larger than sun and zeroed, so a full sun_path still ends. */
	memset(ss, 0, sizeof(*ss));
	if (getsockname(fd, (struct sockaddr *)ss, &sslen) == -1 ||
	    ss->ss_family != AF_UNIX || sun->sun_path[0] != '/')
		return (NULL);
	return (sun->sun_path);
}

/*
 * Give a unix listener's file the permission bits mode, as a reload that
 * keeps the socket asks; other sockets have no file and need nothing.
 * Returns -1 and a cause when the mode differs and cannot be changed
 * (after dropping privileges iod no longer owns the file).
 */
int
listen_set_mode(int fd, int mode, char *cause, size_t len)
{
	struct sockaddr_storage	 ss;
	struct stat		 st;
	const char		*path;

	if ((path = listen_unix_file(fd, &ss)) == NULL)
		return (0);
	if (stat(path, &st) == 0 && (st.st_mode & 07777) == (mode_t)mode)
		return (0);
	if (chmod(path, mode) == -1) {
		listen_cause(cause, len, "chmod: %s", strerror(errno));
		return (-1);
	}
	return (0);
}

/* Close a listener; a unix socket's file goes with it. */
void
listen_close(int fd)
{
	struct sockaddr_storage	 ss;
	const char		*path;
	int			 saved = errno;

	if ((path = listen_unix_file(fd, &ss)) != NULL)
		unlink(path);
	close(fd);
	errno = saved;
}
