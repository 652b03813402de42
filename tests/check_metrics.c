/*
 * The counters and the metrics endpoint (metrics_listen), end to end:
 * the real iod on 127.0.0.1:0 with its endpoint on 127.0.0.1:0, read
 * over HTTP as Prometheus would.  Counters are exact on every variant
 * of t_variants[]; the endpoint answers only what it should, and a
 * hostile HTTP client stalls neither it nor the echo service.  The real
 * Prometheus tools are in check_prometheus.c.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"
#include "session.h"
#include "stats.h"

#define M_CONF	"metrics_listen = \"127.0.0.1:0\";\n"

static struct t_iod *m_spawn(const struct t_variant *, const char *);
static double	m_wait(int, const char *, double, struct t_buf *);
static int	m_fds(pid_t);

/* iod under variant v with its endpoint on, and extra settings. */
static struct t_iod *
m_spawn(const struct t_variant *v, const char *extra)
{
	char	*conf;
	struct t_iod *iod;

	ck_assert(asprintf(&conf, "%s%s", M_CONF, extra) != -1);
	iod = t_spawn_variant(v, conf);
	free(conf);
	return (iod);
}

/*
 * Scrape port until series reaches want, for up to 3 s (a fork child's
 * close is counted once its parent reaps it); return the last value.
 */
static double
m_wait(int port, const char *series, double want, struct t_buf *b)
{
	int64_t	until = t_now_ms() + t_ms(3000);
	double	v;

	for (;;) {
		t_scrape(port, b);
		v = t_metric(b->b_data, series);
		if (v == want || t_now_ms() > until)
			return (v);
		usleep(20000);
	}
}

/*
 * The descriptors pid holds once that number has stayed the same for
 * 100 ms (a closed client's is let go once iod reads its end), waiting
 * up to 3 s.
 */
static int
m_fds(pid_t pid)
{
	int64_t	until = t_now_ms() + t_ms(3000);
	int	n = t_count_fds(pid), was;

	do {
		was = n;
		usleep(100000);
		n = t_count_fds(pid);
	} while (n != was && t_now_ms() < until);
	ck_assert(n > 0);
	return (n);
}

/*
 * Counters are exact on every engine: a client that sends N bytes and
 * reads its N back leaves bytes received and sent at exactly N, one
 * connection accepted on its listener and, once it has ended its input,
 * one closed for eof, one session of 2N bytes in the histogram, and one
 * access line that names the client's own port; the SIGUSR1 line says
 * the same.
 */
START_TEST(test_bytes_exact)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod = m_spawn(v, "access_log = true;\n");
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	char			 want[512];
	struct t_buf		 b = { 0 };
	struct t_xfer		 x;
	struct t_stats		 st;
	unsigned char		*out, *in;
	uint64_t		 rnd = 0x5eed + (uint64_t)_i;
	size_t			 n = 1000 + t_rand(&rnd) % 100000;
	char			 series[256];
	int			 port = t_metrics_port(iod), fd;
	double			 got;

	out = malloc(n);
	in = malloc(n);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, n, &rnd);
	t_scrape(port, &b);
	ck_assert_msg(t_metric(b.b_data, "iod_bytes_received_total") == 0,
	    "%s/%d: bytes received before any client: %g", v->engine,
	    v->workers, t_metric(b.b_data, "iod_bytes_received_total"));
	ck_assert((fd = t_connect(iod->port[0])) != -1);
	ck_assert(getsockname(fd, (struct sockaddr *)&sin, &slen) == 0);
	t_xfer(fd, out, n, in, n, T_XFER_SHUT | T_XFER_EOF, t_ms(10000), &x);
	ck_assert_msg(x.got == n && x.eof && x.error == 0, "%s/%d: sent "
	    "%zu, got %zu back, eof %d, error %d", v->engine, v->workers,
	    x.sent, x.got, x.eof, x.error);
	close(fd);
	got = m_wait(port, "iod_connections_closed_total{reason=\"eof\"}", 1,
	    &b);
	ck_assert_msg(got == 1, "%s/%d: closed for eof: %g; error %g, "
	    "reset %g, shutdown %g", v->engine, v->workers, got,
	    t_metric(b.b_data, "iod_connections_closed_total{reason=\"error\"}"),
	    t_metric(b.b_data, "iod_connections_closed_total{reason=\"reset\"}"),
	    t_metric(b.b_data,
	    "iod_connections_closed_total{reason=\"shutdown\"}"));
	ck_assert_msg(t_metric(b.b_data, "iod_bytes_received_total") ==
	    (double)n, "%s/%d: sent %zu, iod_bytes_received_total %g",
	    v->engine, v->workers, n,
	    t_metric(b.b_data, "iod_bytes_received_total"));
	ck_assert_msg(t_metric(b.b_data, "iod_bytes_sent_total") == (double)n,
	    "%s/%d: read %zu back, iod_bytes_sent_total %g", v->engine,
	    v->workers, n, t_metric(b.b_data, "iod_bytes_sent_total"));
	snprintf(series, sizeof(series), "iod_connections_accepted_total"
	    "{listener=\"127.0.0.1:%d\"}", iod->port[0]);
	ck_assert_msg(t_metric(b.b_data, series) == 1, "%s/%d: %s %g",
	    v->engine, v->workers, series, t_metric(b.b_data, series));
	ck_assert_msg(t_metric(b.b_data, "iod_connections_active") == 0,
	    "%s/%d: active %g", v->engine, v->workers,
	    t_metric(b.b_data, "iod_connections_active"));
	ck_assert_msg(t_metric(b.b_data, "iod_session_bytes_count") == 1 &&
	    t_metric(b.b_data, "iod_session_bytes_sum") == 2.0 * (double)n &&
	    t_metric(b.b_data, "iod_session_duration_seconds_count") == 1,
	    "%s/%d: sessions %g of %g bytes (want 1 of %zu), durations %g",
	    v->engine, v->workers,
	    t_metric(b.b_data, "iod_session_bytes_count"),
	    t_metric(b.b_data, "iod_session_bytes_sum"), 2 * n,
	    t_metric(b.b_data, "iod_session_duration_seconds_count"));
	snprintf(want, sizeof(want), "access: client=127.0.0.1 port=%d "
	    "listener=127.0.0.1:%d worker=", ntohs(sin.sin_port),
	    iod->port[0]);
	ck_assert_msg(t_wait_log(iod, want, t_ms(3000)) != NULL, "%s/%d: no "
	    "\"%s\"; stderr:\n%s", v->engine, v->workers, want,
	    t_log_tail(iod));
	snprintf(want, sizeof(want), " bytes_in=%zu bytes_out=%zu "
	    "duration_ms=", n, n);
	ck_assert_msg(strstr(iod->line, want) != NULL &&
	    strstr(iod->line, " reason=eof") != NULL, "%s/%d: want \"%s\" "
	    "and reason=eof in: %s", v->engine, v->workers, want, iod->line);
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line");
	ck_assert_msg(st.bytes_in == n && st.bytes_out == n, "%s/%d: SIGUSR1 "
	    "bytes_in %llu bytes_out %llu, want %zu", v->engine, v->workers,
	    (unsigned long long)st.bytes_in,
	    (unsigned long long)st.bytes_out, n);
	t_expect_stop(iod);
	t_buf_free(&b);
	free(out);
	free(in);
}
END_TEST

/*
 * Each worker counts in its own slot and the totals are their sum: with
 * two workers, the worker series add up to the totals.  access_log is
 * off by default: no access line.
 */
START_TEST(test_worker_series)
{
	static const struct t_variant v = { "epoll", 2, 0 };
	struct t_iod	*iod = m_spawn(&v, "");
	struct t_buf	 b = { 0 };
	int		 port = t_metrics_port(iod), fd, i;
	double		 w0, w1;

	for (i = 0; i < 8; i++) {
		ck_assert((fd = t_connect(iod->port[0])) != -1);
		t_expect_roundtrip(fd, "abcd", "ABCD", t_ms(3000), "round %d",
		    i);
		close(fd);
	}
	t_scrape(port, &b);
	w0 = t_metric(b.b_data, "iod_worker_bytes_received_total"
	    "{worker=\"0\"}");
	w1 = t_metric(b.b_data, "iod_worker_bytes_received_total"
	    "{worker=\"1\"}");
	ck_assert_msg(t_wait_log(iod, "access: ", 0) == NULL &&
	    strstr(iod->err.b_data, "access: ") == NULL,
	    "an access line without access_log:\n%s", t_log_tail(iod));
	ck_assert_msg(w0 >= 0 && w1 >= 0 && w0 + w1 == 32 &&
	    t_metric(b.b_data, "iod_bytes_received_total") == 32,
	    "worker 0 %g + worker 1 %g, total %g, want 32", w0, w1,
	    t_metric(b.b_data, "iod_bytes_received_total"));
	t_expect_stop(iod);
	t_buf_free(&b);
}
END_TEST

/*
 * The endpoint answers GET /metrics in the text format with its content
 * type, GET / with a page linking to it, HEAD, and 404 or 405 (with
 * Allow) for everything else.
 */
START_TEST(test_http)
{
	static const struct t_variant v = { "libevent", 1, 0 };
	struct t_iod	*iod = m_spawn(&v, "");
	struct t_buf	 b = { 0 };
	int		 port = t_metrics_port(iod), code;

	code = t_http(port, "GET", "/metrics", &b, t_ms(3000));
	ck_assert_msg(code == 200 && strstr(b.b_data, "\r\nContent-Type: "
	    "text/plain; version=0.0.4") != NULL && strstr(b.b_data,
	    "# TYPE iod_bytes_received_total counter\n") != NULL,
	    "GET /metrics: %d\n%.300s", code, b.b_data);
	b.b_len = 0;
	code = t_http(port, "GET", "/", &b, t_ms(3000));
	ck_assert_msg(code == 200 && strstr(b.b_data, "href=\"/metrics\"") !=
	    NULL, "GET /: %d\n%.300s", code, b.b_data);
	b.b_len = 0;
	code = t_http(port, "HEAD", "/metrics", &b, t_ms(3000));
	ck_assert_msg(code == 200 && strstr(b.b_data, "# TYPE") == NULL,
	    "HEAD /metrics: %d\n%.300s", code, b.b_data);
	b.b_len = 0;
	code = t_http(port, "GET", "/nothing", &b, t_ms(3000));
	ck_assert_msg(code == 404, "GET /nothing: %d\n%.300s", code, b.b_data);
	b.b_len = 0;
	code = t_http(port, "POST", "/metrics", &b, t_ms(3000));
	ck_assert_msg(code == 405 && strstr(b.b_data, "\r\nAllow: GET, HEAD")
	    != NULL, "POST /metrics: %d\n%.300s", code, b.b_data);
	t_expect_stop(iod);
	t_buf_free(&b);
}
END_TEST

/*
 * A hostile HTTP client harms no one: with one client holding half a
 * request and another sending endless headers, the echo service answers
 * and a scrape succeeds; the flood is refused and its connection ended.
 */
START_TEST(test_hostile)
{
	static const struct t_variant v = { "epoll", 1, 0 };
	struct t_iod	*iod = m_spawn(&v, "");
	struct t_buf	 b = { 0 };
	char		*flood, reply[16];
	size_t		 len = 64 * 1024, sent;
	int		 port = t_metrics_port(iod), slow, fl, fd;
	enum t_end	 end;

	ck_assert((slow = t_connect(port)) != -1);
	ck_assert(t_send_all(slow, "GET /metr", 9, t_ms(1000)) == 9);
	ck_assert((fl = t_connect(port)) != -1);
	ck_assert((flood = malloc(len)) != NULL);
	memcpy(flood, "GET /metrics HTTP/1.1\r\n", 23);
	for (sent = 23; sent + 16 < len; sent += 16)
		memcpy(flood + sent, "X-Flood: aaaaa\r\n", 16);
	(void)t_send_until_stuck(fl, flood, sent, 300);
	ck_assert((fd = t_connect(iod->port[0])) != -1);
	ck_assert_msg(t_roundtrip(fd, "still", reply, sizeof(reply),
	    t_ms(3000)) == 5 && memcmp(reply, "STILL", 5) == 0,
	    "echo stalled: \"%.5s\"", reply);
	close(fd);
	t_scrape(port, &b);
	end = t_wait_end(fl, t_ms(3000));
	ck_assert_msg(end != T_END_TIMEOUT, "the header flood is still "
	    "open: %s", t_end_name(end));
	close(fl);
	close(slow);
	t_expect_stop(iod);
	t_buf_free(&b);
	free(flood);
}
END_TEST

/*
 * Many idle HTTP clients take no more than METRICS_MAX_CLIENTS (32) of
 * iod's descriptors, which the echo service shares: past that the
 * endpoint stops accepting, the echo service still answers, and a
 * scrape waiting in the queue is served once some clients leave.  Every
 * way a client can go (served, closing before or halfway through its
 * request) gives its place back: after twice as many such clients as
 * places, none holds a descriptor.
 */
START_TEST(test_clients_capped)
{
	static const struct t_variant v = { "epoll", 1, 0 };
	struct t_iod	*iod = m_spawn(&v, "");
	struct t_buf	 b = { 0 };
	char		 reply[16];
	int		 port = t_metrics_port(iod), idle[40], base, n, fd;
	int64_t		 until;
	size_t		 i;

	t_scrape(port, &b);
	base = m_fds(iod->pid);
	for (i = 0; i < 64; i++) {
		ck_assert((fd = t_connect(port)) != -1);
		if (i % 2 == 1)
			ck_assert(t_send_all(fd, "GET /met", 8, t_ms(1000)) ==
			    8);
		close(fd);
		t_scrape(port, &b);
	}
	n = m_fds(iod->pid) - base;
	ck_assert_msg(n <= 0, "%d descriptors still held after 128 HTTP "
	    "clients left", n);
	base += n;
	for (i = 0; i < 40; i++)
		ck_assert((idle[i] = t_connect(port)) != -1);
	until = t_now_ms() + t_ms(3000);
	while (t_count_fds(iod->pid) - base < 32 && t_now_ms() < until)
		usleep(20000);
	n = m_fds(iod->pid) - base;
	ck_assert_msg(n == 32, "40 idle HTTP clients hold %d descriptors", n);
	ck_assert((fd = t_connect(iod->port[0])) != -1);
	ck_assert_msg(t_roundtrip(fd, "still", reply, sizeof(reply),
	    t_ms(3000)) == 5 && memcmp(reply, "STILL", 5) == 0,
	    "echo stalled: \"%.5s\"", reply);
	close(fd);
	for (i = 0; i < 20; i++)
		close(idle[i]);
	t_scrape(port, &b);
	ck_assert(t_metric(b.b_data, "iod_connections_max") > 0);
	for (i = 20; i < 40; i++)
		close(idle[i]);
	t_expect_stop(iod);
	t_buf_free(&b);
}
END_TEST

/*
 * metrics_listen takes effect on restart: a reload that changes it says
 * so and the endpoint stays where it was; the reload is counted.
 */
START_TEST(test_reload)
{
	static const struct t_variant v = { "poll", 1, 0 };
	struct t_iod	*iod = m_spawn(&v, "");
	struct t_buf	 b = { 0 };
	char		*conf;
	int		 port = t_metrics_port(iod);

	conf = t_conf(&v, "listen = [\"127.0.0.1:0\"];\n"
	    "metrics_listen = \"127.0.0.1:1\";\n");
	t_reload(iod, conf, "a changed metrics_listen");
	ck_assert_msg(t_wait_log(iod, "metrics_listen changed in", 0) != NULL,
	    "no restart warning; stderr:\n%s", t_log_tail(iod));
	t_scrape(port, &b);
	ck_assert_msg(t_metric(b.b_data, "iod_reloads_total{result=\"ok\"}")
	    == 1, "reloads ok: %g", t_metric(b.b_data,
	    "iod_reloads_total{result=\"ok\"}"));
	t_expect_stop(iod);
	t_buf_free(&b);
	free(conf);
}
END_TEST

/*
 * Behind a PROXY header, the access line names the client the header
 * names, on every engine; without access_log there is no such line.
 */
START_TEST(test_access_proxied)
{
	const struct t_variant	*v = t_variant(0, _i);
	static const char	 hdr[] = "PROXY TCP4 198.51.100.7 127.0.0.1 "
				    "40123 7777\r\nabc";
	struct t_iod		*iod;
	char			*conf, reply[8];
	int			 fd;

	conf = t_conf(v, "listen = ( { address = \"127.0.0.1:0\"; "
	    "proxy_protocol = true; } );\naccess_log = true;\n");
	iod = t_spawn_iod(conf, NULL);
	free(conf);
	ck_assert((fd = t_connect(iod->port[0])) != -1);
	ck_assert(t_send_all(fd, hdr, sizeof(hdr) - 1, t_ms(2000)) ==
	    (ssize_t)sizeof(hdr) - 1);
	ck_assert_msg(t_recv_exact(fd, reply, 3, t_ms(3000)) == 3 &&
	    memcmp(reply, "ABC", 3) == 0, "%s/%d: no ABC back", v->engine,
	    v->workers);
	shutdown(fd, SHUT_WR);
	(void)t_wait_end(fd, t_ms(3000));
	close(fd);
	ck_assert_msg(t_wait_log(iod, "access: client=198.51.100.7 port=40123 "
	    "listener=", t_ms(3000)) != NULL && strstr(iod->line,
	    " bytes_in=3 bytes_out=3 ") != NULL, "%s/%d: no access line for "
	    "the proxied client; stderr:\n%s", v->engine, v->workers,
	    t_log_tail(iod));
	t_expect_stop(iod);
}
END_TEST

/* The local port of connected socket fd. */
static int
m_local_port(int fd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	ck_assert(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	return (ntohs(sin.sin_port));
}

/*
 * A reload that turns access_log on logs the connections accepted after
 * it, and not one that was open before, as every setting applies.
 */
START_TEST(test_access_reload)
{
	static const struct t_variant v = { "threads", 1, 0 };
	struct t_iod	*iod = m_spawn(&v, "");
	struct t_buf	 buf = { 0 };
	char		*conf, want[128];
	int		 a, b, pa, pb;

	ck_assert((a = t_connect(iod->port[0])) != -1);
	t_expect_roundtrip(a, "before", "BEFORE", t_ms(3000), "client a");
	conf = t_conf(&v, "listen = [\"127.0.0.1:0\"];\n" M_CONF
	    "access_log = true;\n");
	t_reload(iod, conf, "access_log turned on");
	ck_assert((b = t_connect(iod->port[0])) != -1);
	t_expect_roundtrip(b, "after", "AFTER", t_ms(3000), "client b");
	pa = m_local_port(a);
	pb = m_local_port(b);
	close(a);
	close(b);
	ck_assert_msg(m_wait(t_metrics_port(iod), "iod_connections_closed_total"
	    "{reason=\"eof\"}", 2, &buf) == 2, "both clients not closed");
	snprintf(want, sizeof(want), "access: client=127.0.0.1 port=%d ", pb);
	ck_assert_msg(t_wait_log(iod, want, t_ms(3000)) != NULL, "no \"%s\"; "
	    "stderr:\n%s", want, t_log_tail(iod));
	snprintf(want, sizeof(want), "port=%d ", pa);
	ck_assert_msg(strstr(iod->err.b_data, want) == NULL, "client a, "
	    "admitted before the reload, was logged:\n%s", iod->err.b_data);
	t_expect_stop(iod);
	t_buf_free(&buf);
	free(conf);
}
END_TEST

/*
 * A client that sends without reading is paused once it is owed
 * max_pending_bytes, counted once; once it reads again, its pause ends
 * and the time is counted too.
 */
START_TEST(test_backpressure)
{
	static const struct t_variant v = { "epoll", 1, 0 };
	struct t_iod	*iod = m_spawn(&v, "max_pending_bytes = 65536;\n");
	struct t_buf	 b = { 0 };
	unsigned char	*data, *back;
	size_t		 sent, got = 0;
	ssize_t		 n;
	int		 port = t_metrics_port(iod), fd;
	double		 pauses;

	ck_assert((data = calloc(1, T_STUCK_BYTES)) != NULL);
	ck_assert((back = malloc(65536)) != NULL);
	ck_assert((fd = t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF)) != -1);
	sent = t_send_until_stuck(fd, data, T_STUCK_BYTES, 300);
	t_scrape(port, &b);
	pauses = t_metric(b.b_data, "iod_backpressure_pauses_total");
	ck_assert_msg(pauses == 1, "stuck after %zu bytes: %g pauses", sent,
	    pauses);
	usleep(100000);
	while (got < sent && (n = t_recv_exact(fd, back,
	    sent - got < 65536 ? sent - got : 65536, t_ms(5000))) > 0)
		got += (size_t)n;
	ck_assert_msg(got == sent, "sent %zu, got %zu back", sent, got);
	close(fd);
	(void)m_wait(port, "iod_connections_active", 0, &b);
	ck_assert_msg(t_metric(b.b_data,
	    "iod_backpressure_paused_seconds_total") >= 0.1, "paused for "
	    "%g s, at least 0.1 expected", t_metric(b.b_data,
	    "iod_backpressure_paused_seconds_total"));
	t_expect_stop(iod);
	t_buf_free(&b);
	free(data);
	free(back);
}
END_TEST

/*
 * The words of every close line the core and the engines write come to
 * the reason they mean, with the fork engine's " (pid N)" or without;
 * an end of input while stopping is a shutdown.
 */
START_TEST(test_reasons)
{
	static const struct {
		const char	*why;
		int		 stopping;
		enum stats_close want;
	} cases[] = {
		{ "end of input", 0, STATS_CLOSE_EOF },
		{ "end of input (pid 42)", 0, STATS_CLOSE_EOF },
		{ "drained", 0, STATS_CLOSE_EOF },
		{ "drained", 1, STATS_CLOSE_SHUTDOWN },
		{ "idle timeout", 0, STATS_CLOSE_IDLE },
		{ "idle timeout (pid 7)", 1, STATS_CLOSE_IDLE },
		{ "shutdown", 1, STATS_CLOSE_SHUTDOWN },
		{ "shutdown deadline (pid 9)", 1, STATS_CLOSE_SHUTDOWN },
		{ "no PROXY header in time", 0, STATS_CLOSE_PROXY },
		{ "bad PROXY header", 0, STATS_CLOSE_PROXY },
		{ "refused for its PROXY header (pid 3)", 0, STATS_CLOSE_PROXY },
		{ "Connection reset by peer", 0, STATS_CLOSE_RESET },
		{ "Broken pipe (pid 5)", 0, STATS_CLOSE_RESET },
		{ "out of memory", 0, STATS_CLOSE_ERROR },
		{ "end of inputs", 0, STATS_CLOSE_ERROR },
		{ "pid 5 killed by signal 9", 0, STATS_CLOSE_ERROR }
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(session_reason(cases[i].why, cases[i].stopping) ==
		    cases[i].want, "\"%s\" (stopping %d): %s, want %s",
		    cases[i].why, cases[i].stopping, stats_close_name(
		    session_reason(cases[i].why, cases[i].stopping)),
		    stats_close_name(cases[i].want));
}
END_TEST

/* metrics_listen may be a unix socket, whose file goes at exit. */
START_TEST(test_unix)
{
	static const struct t_variant v = { "libevent", 1, 0 };
	struct t_iod	*iod;
	struct t_buf	 b = { 0 };
	char		*extra, *sock;
	int		 code;

	ck_assert(asprintf(&sock, "%s/metrics.sock", getenv("TMPDIR")) != -1);
	ck_assert(asprintf(&extra, "metrics_listen = \"unix:%s\";\n", sock) !=
	    -1);
	iod = t_spawn_variant(&v, extra);
	code = t_http_unix(sock, "/metrics", &b, t_ms(3000));
	ck_assert_msg(code == 200 && strstr(b.b_data, "iod_build_info{") !=
	    NULL, "GET /metrics over %s: %d\n%s", sock, code,
	    b.b_data != NULL ? b.b_data : "");
	t_expect_stop(iod);
	ck_assert_msg(access(sock, F_OK) == -1 && errno == ENOENT,
	    "%s is still there after iod exited", sock);
	t_buf_free(&b);
	free(extra);
	free(sock);
}
END_TEST

Suite *
suite_metrics(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("endpoint");

	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_bytes_exact, 0, t_count(0));
	tcase_add_loop_test(tc, test_access_proxied, 0, t_count(0));
	tcase_add_test(tc, test_worker_series);
	tcase_add_test(tc, test_backpressure);
	tcase_add_test(tc, test_reasons);
	tcase_add_test(tc, test_access_reload);
	tcase_add_test(tc, test_http);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_clients_capped);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_unix);
	suite_add_tcase(s, tc);
	return (s);
}
