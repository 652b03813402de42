/*
 * Shared test helpers: clients, nonblocking TCP sockets on loopback with
 * every call bounded in time and count, and the data they send.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

static int	t_connect_sock(const char *, const char *, int, int);
static int	t_poll1(int, short, int64_t);

/* Connect to 127.0.0.1:port; return a nonblocking socket, or -1. */
int
t_connect(int port)
{
	return (t_connect_sock(NULL, "127.0.0.1", port, 0));
}

/* Connect to host:port (IPv4); return a nonblocking socket, or -1. */
int
t_connect_to(const char *host, int port)
{
	return (t_connect_sock(NULL, host, port, 0));
}

/*
 * Connect to host:port from source address src (any of 127.0.0.0/8 is
 * this machine's); return a nonblocking socket, or -1.
 */
int
t_connect_from(const char *src, const char *host, int port)
{
	return (t_connect_sock(src, host, port, 0));
}

/* Connect to 127.0.0.1:port with a receive buffer of rcvbuf bytes. */
int
t_connect_rcvbuf(int port, int rcvbuf)
{
	return (t_connect_sock(NULL, "127.0.0.1", port, rcvbuf));
}

/*
 * Connect to host:port, bounded, from src unless it is NULL, with
 * SO_RCVBUF set first unless rcvbuf is 0 (it sets the window, so it must
 * precede connect).  Return a nonblocking socket, or -1 with errno.
 */
static int
t_connect_sock(const char *src, const char *host, int port, int rcvbuf)
{
	struct sockaddr_in	sin, from;
	struct pollfd		pfd;
	socklen_t		len = sizeof(int);
	int			fd, err = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		errno = EINVAL;
		return (-1);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	if (rcvbuf != 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		goto fail;
	if (src != NULL) {
		memset(&from, 0, sizeof(from));
		from.sin_family = AF_INET;
		if (inet_pton(AF_INET, src, &from.sin_addr) != 1) {
			errno = EINVAL;
			goto fail;
		}
		if (bind(fd, (struct sockaddr *)&from, sizeof(from)) == -1)
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return (fd);
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, t_ms(5000)) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
	return (fd);
fail:
	err = errno;
	close(fd);
	errno = err;
	return (-1);
}

/* Wait until deadline for events on fd; return revents, 0 on timeout. */
static int
t_poll1(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left = deadline - t_now_ms();

	if (left < 0)
		left = 0;
	pfd.fd = fd;
	pfd.events = events;
	pfd.revents = 0;
	if (poll(&pfd, 1, (int)left) != 1)
		return (0);
	return (pfd.revents);
}

/*
 * Try to connect to host:port until that fails, for up to timeout_ms
 * (listeners close asynchronously, in every worker).  Return the errno of
 * the failure, ECONNREFUSED when the listener is gone, or 0 if every
 * attempt connected.  A reset means the listener closed during that
 * handshake: look again.
 */
int
t_refused(const char *host, int port, int timeout_ms)
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

/*
 * Send all len bytes within timeout_ms.  Return the number sent; short,
 * with errno set (ETIMEDOUT for the deadline), on failure.
 */
ssize_t
t_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	const char	*p = buf;
	int64_t		 deadline = t_now_ms() + timeout_ms;
	size_t		 done = 0;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < T_MAXLOOP && done < len; i++) {
		n = send(fd, p + done, len - done,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			break;
		if (t_poll1(fd, POLLOUT, deadline) == 0) {
			errno = ETIMEDOUT;
			break;
		}
	}
	return ((ssize_t)done);
}

/*
 * Send from buf on fd, without reading, until nothing moves for quiet_ms
 * (iod has stopped reading) or all len bytes are gone; bounded by 30 s
 * (scaled).  Return the number of bytes sent.
 */
size_t
t_send_until_stuck(int fd, const void *buf, size_t len, int quiet_ms)
{
	const char	*p = buf;
	int64_t		 deadline = t_now_ms() + t_ms(30000);
	size_t		 sent = 0;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < T_MAXLOOP && sent < len && t_now_ms() < deadline;
	    i++) {
		n = send(fd, p + sent, len - sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			break;
		if (t_poll1(fd, POLLOUT, t_now_ms() + quiet_ms) == 0)
			break;
	}
	return (sent);
}

/*
 * Receive exactly len bytes within timeout_ms.  Return the number read;
 * short at EOF (errno 0), on error, or at the deadline (ETIMEDOUT).
 */
ssize_t
t_recv_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	char	*p = buf;
	int64_t	 deadline = t_now_ms() + timeout_ms;
	size_t	 done = 0;
	ssize_t	 n;
	int	 i;

	for (i = 0; i < T_MAXLOOP && done < len; i++) {
		n = recv(fd, p + done, len - done, MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = 0;
			break;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
		if (t_poll1(fd, POLLIN, deadline) == 0) {
			errno = ETIMEDOUT;
			break;
		}
	}
	return ((ssize_t)done);
}

/* Wait up to timeout_ms for the peer to end the connection; say how. */
enum t_end
t_wait_end(int fd, int timeout_ms)
{
	char	c;
	ssize_t	n;

	if (t_poll1(fd, POLLIN, t_now_ms() + timeout_ms) == 0)
		return (T_END_TIMEOUT);
	n = recv(fd, &c, 1, MSG_DONTWAIT);
	if (n == 0)
		return (T_END_EOF);
	if (n > 0)
		return (T_END_DATA);
	if (errno == EAGAIN)
		return (T_END_TIMEOUT);
	return (T_END_RESET);
}

/* A name for e, for messages. */
const char *
t_end_name(enum t_end e)
{
	switch (e) {
	case T_END_EOF:
		return ("EOF");
	case T_END_RESET:
		return ("reset");
	case T_END_DATA:
		return ("data");
	case T_END_TIMEOUT:
		return ("still open");
	}
	return ("?");
}

/* strerror(), but "none" for 0, for the error fields of t_xfer. */
const char *
t_strerror(int error)
{
	return (error == 0 ? "none" : strerror(error));
}

/*
 * Wait up to timeout_ms for the peer to close or reset, without reading
 * (unread data must stay unread).  Return 1 if it did, 0 if not.
 */
int
t_peer_closed(int fd, int timeout_ms)
{
	int	re;

	re = t_poll1(fd, POLLRDHUP, t_now_ms() + timeout_ms);
	return ((re & (POLLRDHUP | POLLHUP | POLLERR)) != 0);
}

/*
 * Send msg and read as many bytes back into got (NUL-terminated), within
 * timeout_ms.  Return the number of bytes read.
 */
ssize_t
t_roundtrip(int fd, const char *msg, char *got, size_t size, int timeout_ms)
{
	size_t	len = strlen(msg);
	ssize_t	n;

	got[0] = '\0';
	if (len >= size)
		return (-1);
	if (t_send_all(fd, msg, len, timeout_ms) != (ssize_t)len)
		return (-1);
	if ((n = t_recv_exact(fd, got, len, timeout_ms)) >= 0)
		got[n] = '\0';
	return (n);
}

/*
 * Send msg on fd and require want back within timeout_ms; fail the test
 * otherwise, saying what was sent and got and how the connection stands.
 * The printf-like what names the client.  A connect that failed (fd -1)
 * fails here too, with its errno.
 */
void
t_expect_roundtrip(int fd, const char *msg, const char *want,
    int timeout_ms, const char *what, ...)
{
	va_list	ap;
	char	name[256], got[256];
	ssize_t	n;
	int	error = errno;

	va_start(ap, what);
	vsnprintf(name, sizeof(name), what, ap);
	va_end(ap);
	ck_assert_msg(fd != -1, "%s: connect: %s", name, strerror(error));
	memset(got, 0, sizeof(got));
	n = t_roundtrip(fd, msg, got, sizeof(got), timeout_ms);
	ck_assert_msg(n == (ssize_t)strlen(want) && strcmp(got, want) == 0,
	    "%s: sent \"%s\", got %zd bytes \"%s\", want \"%s\" "
	    "(connection: %s)", name, msg, n, got, want,
	    t_end_name(t_wait_end(fd, 0)));
}

/* Close fd with a reset (SO_LINGER 0) instead of a FIN. */
void
t_reset_close(int fd)
{
	struct linger	l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/*
 * Send outlen bytes from out while reading inlen bytes into in, within
 * timeout_ms.  With T_XFER_SHUT shut the write side once all is sent;
 * with T_XFER_EOF then read until EOF, counting surplus bytes in extra.
 * The outcome is in *x; nothing here asserts.
 */
void
t_xfer(int fd, const void *out, size_t outlen, void *in, size_t inlen,
    int flags, int timeout_ms, struct t_xfer *x)
{
	struct pollfd	 pfd;
	const char	*op = out;
	char		*ip = in, scratch[65536];
	int64_t		 deadline = t_now_ms() + timeout_ms, left;
	ssize_t		 n;
	int		 i, shut = 0;

	memset(x, 0, sizeof(*x));
	for (i = 0; i < T_MAXLOOP; i++) {
		if (x->sent == outlen && (flags & T_XFER_SHUT) && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		if (x->sent == outlen && x->got == inlen &&
		    (!(flags & T_XFER_EOF) || x->eof))
			return;
		if (x->eof)
			return;
		if ((left = deadline - t_now_ms()) <= 0) {
			x->timed_out = 1;
			return;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (x->sent < outlen ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (pfd.revents & POLLOUT) {
			n = send(fd, op + x->sent, outlen - x->sent,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				x->sent += (size_t)n;
			else if (n == -1 && errno != EAGAIN &&
			    errno != EINTR) {
				x->error = errno;
				return;
			}
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (x->got < inlen)
			n = recv(fd, ip + x->got, inlen - x->got,
			    MSG_DONTWAIT);
		else
			n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n == 0)
			x->eof = 1;
		else if (n > 0 && x->got < inlen)
			x->got += (size_t)n;
		else if (n > 0)
			x->extra += (size_t)n;
		else if (errno != EAGAIN && errno != EINTR) {
			x->error = errno;
			return;
		}
	}
	x->timed_out = 1;
}

/* The next number from the xorshift64* generator in *state. */
uint64_t
t_rand(uint64_t *state)
{
	uint64_t	x = *state;

	if (x == 0)
		x = 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (x * 0x2545f4914f6cdd1dULL);
}

/* Fill buf with len pseudo-random bytes from *state. */
void
t_fill_random(void *buf, size_t len, uint64_t *state)
{
	unsigned char	*p = buf;
	uint64_t	 r = 0;
	size_t		 i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			r = t_rand(state);
		p[i] = (unsigned char)r;
		r >>= 8;
	}
}

/*
 * Compare got with the reference transform of sent (a-z to A-Z if upper,
 * every other byte unchanged) over len bytes; return the offset of the
 * first wrong byte, or len if all are right.
 */
size_t
t_mismatch(const void *sent, const void *got, size_t len, int upper)
{
	const unsigned char	*s = sent, *g = got;
	unsigned char		 want;
	size_t			 i;

	for (i = 0; i < len; i++) {
		want = upper && s[i] >= 'a' && s[i] <= 'z' ?
		    (unsigned char)(s[i] - 'a' + 'A') : s[i];
		if (g[i] != want)
			return (i);
	}
	return (len);
}
