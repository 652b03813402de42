/*
 * A small HTTP client for the metrics endpoint: one request per
 * connection (HTTP/1.0), every wait bounded, and the samples of the
 * text format looked up by name and labels.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

static int	t_http_exchange(int, const char *, size_t, struct t_buf *,
		    int);

/*
 * The port of iod's metrics endpoint, from its "metrics endpoint on"
 * line; fail the test when there is none.
 */
int
t_metrics_port(struct t_iod *iod)
{
	const char	*p;
	int		 port;

	p = t_wait_log(iod, "metrics endpoint on http://", 0);
	if (p == NULL)
		p = strstr(iod->err.b_data, "metrics endpoint on http://");
	ck_assert_msg(p != NULL, "no metrics endpoint line; stderr:\n%s",
	    t_log_tail(iod));
	p = strstr(p, "http://");
	ck_assert_msg(p != NULL && (p = strchr(p + 7, ':')) != NULL &&
	    sscanf(p + 1, "%d", &port) == 1 && port > 0,
	    "no port in the metrics endpoint line: %s", p);
	return (port);
}

/*
 * Send the request req (len bytes) on fd and read the reply into b
 * until the server closes, within timeout_ms.  Return the status code,
 * or -1 when no whole status line came.
 */
static int
t_http_exchange(int fd, const char *req, size_t len, struct t_buf *b,
    int timeout_ms)
{
	int64_t		 until = t_now_ms() + timeout_ms;
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		 chunk[8192];
	ssize_t		 n;
	int		 code;

	if (t_send_all(fd, req, len, timeout_ms) != (ssize_t)len)
		return (-1);
	while (t_now_ms() < until) {
		if (poll(&pfd, 1, (int)(until - t_now_ms())) <= 0)
			continue;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		t_buf_add(b, chunk, (size_t)n);
	}
	if (b->b_data == NULL ||
	    sscanf(b->b_data, "HTTP/1.%*d %d", &code) != 1)
		return (-1);
	return (code);
}

/*
 * Ask 127.0.0.1:port for path with method, HTTP/1.0; the whole reply,
 * headers and body, into b.  Return the status code, or -1.
 */
int
t_http(int port, const char *method, const char *path, struct t_buf *b,
    int timeout_ms)
{
	char	req[512];
	int	fd, code;

	if ((fd = t_connect(port)) == -1)
		return (-1);
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
	    method, path);
	code = t_http_exchange(fd, req, strlen(req), b, timeout_ms);
	close(fd);
	return (code);
}

/* The same over the unix socket at path. */
int
t_http_unix(const char *sock, const char *path, struct t_buf *b,
    int timeout_ms)
{
	struct sockaddr_un	sun;
	char			req[512];
	int			fd, code;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return (-1);
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	code = t_http_exchange(fd, req, strlen(req), b, timeout_ms);
	close(fd);
	return (code);
}

/* GET /metrics from port into b; fail the test unless it is a 200. */
void
t_scrape(int port, struct t_buf *b)
{
	int	code;

	b->b_len = 0;
	if (b->b_data != NULL)
		b->b_data[0] = '\0';
	code = t_http(port, "GET", "/metrics", b, t_ms(5000));
	ck_assert_msg(code == 200, "GET /metrics: status %d; reply:\n%.300s",
	    code, b->b_data != NULL ? b->b_data : "(none)");
}

/*
 * The value of the sample named series ("name" or "name{labels}",
 * exactly as iod writes it) in the exposition text; -1 when absent.
 */
double
t_metric(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 len = strlen(series);

	while (p != NULL && (p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == ' ')
			return (strtod(p + len + 1, NULL));
		p += len;
	}
	return (-1);
}
