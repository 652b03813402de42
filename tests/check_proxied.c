/*
 * The PROXY protocol end to end: listeners with proxy_protocol = true
 * under every variant of t_variants[].  The test is the balancer: it
 * connects from 127.0.0.0/8 and writes v1 and v2 headers naming clients
 * in 192.0.2.0/24, whole, in pieces, with data behind them; then bad,
 * truncated, late and untrusted headers, LOCAL, and a unix listener.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define X_LISTEN	"listen = ( { address = \"127.0.0.1:0\"; " \
			    "proxy_protocol = true; } );\n"

static struct t_iod *x_spawn(const struct t_variant *, const char *);
static size_t	x_v2(unsigned char *, const char *, int);
static int	x_connect(struct t_iod *, const char *);
static void	x_served(int, const void *, size_t, const char *,
		    const char *);
static void	x_refused(int, const void *, size_t, const char *);
static void	x_counts(struct t_iod *, uint64_t, uint64_t, uint64_t,
		    uint64_t);

/* Start iod for variant v with extra settings, listen among them. */
static struct t_iod *
x_spawn(const struct t_variant *v, const char *extra)
{
	struct t_iod	*iod;
	char		*conf;

	conf = t_conf(v, "%s", extra);
	iod = t_spawn_iod(conf, NULL);
	free(conf);
	return (iod);
}

/*
 * A v2 header into buf: PROXY from src (IPv4) port 4000 to 127.0.0.1
 * port 7777, or LOCAL when local is set.  Returns its length.
 */
static size_t
x_v2(unsigned char *buf, const char *src, int local)
{
	static const unsigned char	sig[12] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a
	};
	struct in_addr			a;
	uint16_t			port;

	memcpy(buf, sig, sizeof(sig));
	if (local) {
		buf[12] = 0x20;
		buf[13] = 0x00;
		buf[14] = buf[15] = 0;
		return (16);
	}
	buf[12] = 0x21;
	buf[13] = 0x11;
	buf[14] = 0;
	buf[15] = 12;
	ck_assert(inet_pton(AF_INET, src, &a) == 1);
	memcpy(buf + 16, &a, 4);
	ck_assert(inet_pton(AF_INET, "127.0.0.1", &a) == 1);
	memcpy(buf + 20, &a, 4);
	port = htons(4000);
	memcpy(buf + 24, &port, 2);
	port = htons(7777);
	memcpy(buf + 26, &port, 2);
	return (28);
}

/* A balancer's connection from from to iod's first port. */
static int
x_connect(struct t_iod *iod, const char *from)
{
	int	fd;

	fd = t_connect_from(from, "127.0.0.1", iod->port[0]);
	ck_assert_msg(fd != -1, "connect from %s: %s", from,
	    strerror(errno));
	return (fd);
}

/*
 * Send len bytes of p on fd (a header, and maybe data), then msg, and
 * expect msg upper-cased back, and nothing else.
 */
static void
x_served(int fd, const void *p, size_t len, const char *msg,
    const char *what)
{
	char	got[64], want[64];
	size_t	i, n = strlen(msg);

	ck_assert(n < sizeof(want));
	for (i = 0; i <= n; i++)
		want[i] = (char)(msg[i] >= 'a' && msg[i] <= 'z' ?
		    msg[i] - 'a' + 'A' : msg[i]);
	ck_assert_msg(t_send_all(fd, p, len, t_ms(3000)) == (ssize_t)len,
	    "%s: send the header: %s", what, strerror(errno));
	t_expect_roundtrip(fd, msg, want, t_ms(3000), "%s", what);
	memset(got, 0, sizeof(got));
	ck_assert_msg(recv(fd, got, sizeof(got), MSG_DONTWAIT) == -1 &&
	    errno == EAGAIN, "%s: more came back: \"%s\"", what, got);
}

/*
 * Send len bytes of p on fd, then expect the connection to be closed
 * without a byte, within the test's patience.
 */
static void
x_refused(int fd, const void *p, size_t len, const char *what)
{
	enum t_end	end;

	if (len > 0)
		(void)send(fd, p, len, MSG_NOSIGNAL);
	end = t_wait_end(fd, t_ms(4000));
	ck_assert_msg(end == T_END_EOF || end == T_END_RESET,
	    "%s: %s, want EOF or reset with nothing read", what,
	    t_end_name(end));
	close(fd);
}

/* The PROXY refusal counters, and refused_deny, are what they should be. */
static void
x_counts(struct t_iod *iod, uint64_t untrusted, uint64_t bad,
    uint64_t late, uint64_t deny)
{
	struct t_stats	st;

	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line: %s",
	    t_log_tail(iod));
	ck_assert_msg(st.refused_proxy_untrusted == untrusted &&
	    st.refused_proxy_bad == bad && st.refused_proxy_timeout == late &&
	    st.refused_deny == deny, "untrusted=%ju (want %ju) bad=%ju "
	    "(want %ju) timeout=%ju (want %ju) deny=%ju (want %ju)",
	    (uintmax_t)st.refused_proxy_untrusted, (uintmax_t)untrusted,
	    (uintmax_t)st.refused_proxy_bad, (uintmax_t)bad,
	    (uintmax_t)st.refused_proxy_timeout, (uintmax_t)late,
	    (uintmax_t)st.refused_deny, (uintmax_t)deny);
}

/*
 * Proves good headers are read byte-exact and what follows is answered:
 * a v2 header with data in the same segment, a v1 header then data, a
 * v2 header sent a byte at a time, and LOCAL (a health check) with data
 * behind it.  deny = ["127.0.0.0/8"] refuses nothing here: the source
 * is the client the header names, and for LOCAL the balancer itself,
 * from 127.0.0.9, which the group's deny = [] lets in.
 */
START_TEST(test_headers)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	unsigned char		 buf[128];
	const char		*v1 = "PROXY TCP4 198.51.100.7 127.0.0.1 "
				    "5000 7777\r\n";
	size_t			 n, i;
	int			 fd;

	iod = x_spawn(v, "deny = [\"127.0.0.0/8\"];\n"
	    "listen = ( { address = \"127.0.0.1:0\"; proxy_protocol = true; "
	    "deny = [\"127.0.0.1\"]; } );\n");
	n = x_v2(buf, "192.0.2.7", 0);
	memcpy(buf + n, "same segment", 12);
	fd = x_connect(iod, "127.0.0.2");
	ck_assert(t_send_all(fd, buf, n + 12, t_ms(3000)) == (ssize_t)n + 12);
	ck_assert_msg(t_recv_exact(fd, buf, 12, t_ms(3000)) == 12 &&
	    memcmp(buf, "SAME SEGMENT", 12) == 0, "data behind a v2 header: "
	    "\"%.12s\"", buf);
	t_expect_roundtrip(fd, "more", "MORE", t_ms(3000), "after v2");
	close(fd);

	fd = x_connect(iod, "127.0.0.2");
	x_served(fd, v1, strlen(v1), "v1 then data", "v1");
	close(fd);

	fd = x_connect(iod, "127.0.0.3");
	n = x_v2(buf, "192.0.2.8", 0);
	for (i = 0; i < n; i++) {
		ck_assert(t_send_all(fd, buf + i, 1, t_ms(3000)) == 1);
		poll(NULL, 0, 5);
	}
	x_served(fd, "", 0, "a byte at a time", "v2 in pieces");
	close(fd);

	fd = x_connect(iod, "127.0.0.9");
	n = x_v2(buf, NULL, 1);
	x_served(fd, buf, n, "health check", "LOCAL");
	close(fd);
	x_counts(iod, 0, 0, 0, 0);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves bad headers are closed without a reply and counted: not a
 * header at all, a malformed v1 line, a v2 header cut short by the end
 * of input, one not whole within proxy_timeout = 1, one from a source
 * outside proxy_trusted, and a good one naming a client in deny; LOCAL
 * from 127.0.0.1, which the global deny lists, is refused as well.  A
 * good one after all that is served.
 */
START_TEST(test_refused)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	unsigned char		 buf[128];
	size_t			 n;
	int			 fd;
	int64_t			 t0;

	iod = x_spawn(v, X_LISTEN "proxy_timeout = 1;\n"
	    "proxy_trusted = [\"127.0.0.0/30\"];\n"
	    "deny = [\"192.0.2.66\", \"127.0.0.1\"];\n");
	fd = x_connect(iod, "127.0.0.2");
	x_refused(fd, "GET / HTTP/1.0\r\n\r\n", 18, "not a header");
	fd = x_connect(iod, "127.0.0.2");
	x_refused(fd, "PROXY TCP4 1.2.3 4.5.6.7 1 2\r\n", 30, "bad v1");
	ck_assert_msg(t_wait_log(iod, "with a bad PROXY header", t_ms(3000)) !=
	    NULL, "no refusal line; stderr:\n%s", t_log_tail(iod));

	fd = x_connect(iod, "127.0.0.2");
	n = x_v2(buf, "192.0.2.7", 0);
	ck_assert(t_send_all(fd, buf, n - 3, t_ms(3000)) == (ssize_t)n - 3);
	shutdown(fd, SHUT_WR);
	x_refused(fd, NULL, 0, "truncated v2");

	fd = x_connect(iod, "127.0.0.2");
	t0 = t_now_ms();
	x_refused(fd, "PROXY TCP4 ", 11, "late v1");
	ck_assert_msg(t_now_ms() - t0 >= 900, "closed after %jd ms, before "
	    "proxy_timeout", (intmax_t)(t_now_ms() - t0));

	fd = x_connect(iod, "127.0.0.5");
	x_refused(fd, buf, n, "untrusted balancer");

	fd = x_connect(iod, "127.0.0.2");
	n = x_v2(buf, "192.0.2.66", 0);
	x_refused(fd, buf, n, "denied client");
	fd = x_connect(iod, "127.0.0.1");
	n = x_v2(buf, NULL, 1);
	x_refused(fd, buf, n, "LOCAL from a denied balancer");

	fd = x_connect(iod, "127.0.0.2");
	n = x_v2(buf, "192.0.2.7", 0);
	x_served(fd, buf, n, "still served", "after the refusals");
	close(fd);
	x_counts(iod, 1, 3, 1, 2);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves max_per_source counts the client a header names, not the
 * balancer: through one balancer address, a second connection for
 * 192.0.2.1 is refused while one for 192.0.2.2 is served.
 */
START_TEST(test_per_source)
{
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	unsigned char		 buf[64];
	size_t			 n;
	int			 a, b;

	iod = x_spawn(v, X_LISTEN "max_per_source = 1;\n");
	a = x_connect(iod, "127.0.0.1");
	n = x_v2(buf, "192.0.2.1", 0);
	x_served(a, buf, n, "first", "first for 192.0.2.1");
	x_refused(x_connect(iod, "127.0.0.1"), buf, n, "second for 192.0.2.1");
	b = x_connect(iod, "127.0.0.1");
	n = x_v2(buf, "192.0.2.2", 0);
	x_served(b, buf, n, "other", "first for 192.0.2.2");
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line");
	ck_assert_msg(st.refused_per_source == 1, "refused_per_source=%ju",
	    (uintmax_t)st.refused_per_source);
	close(a);
	close(b);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves a unix listener takes PROXY headers too, and that its peer,
 * which has no address, needs no proxy_trusted: an empty list refuses
 * every TCP balancer, not a unix one.
 */
START_TEST(test_unix)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	struct sockaddr_un	 sun;
	unsigned char		 buf[64];
	char			*path, *extra;
	size_t			 n;
	int			 fd;

	ck_assert(asprintf(&path, "%s/p.sock", getenv("TMPDIR")) != -1);
	ck_assert(asprintf(&extra, "proxy_trusted = [];\nlisten = ( "
	    "\"127.0.0.1:0\", { address = \"unix:%s\"; proxy_protocol = "
	    "true; } );\n", path) != -1);
	iod = x_spawn(v, extra);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd != -1 && connect(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0, "connect %s: %s", path, strerror(errno));
	n = x_v2(buf, "192.0.2.9", 0);
	x_served(fd, buf, n, "over unix", "unix listener");
	close(fd);
	free(path);
	free(extra);
	t_expect_stop(iod);
}
END_TEST

/* The proxied suite. */
Suite *
suite_proxied(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proxied");
	tc = tcase_create("proxied");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_headers, 0, t_count(0));
	tcase_add_loop_test(tc, test_refused, 0, t_count(0));
	tcase_add_loop_test(tc, test_per_source, 0, t_count(T_CONCURRENT));
	tcase_add_loop_test(tc, test_unix, 0, t_count(0));
	suite_add_tcase(s, tc);
	return (s);
}
