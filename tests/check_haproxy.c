/*
 * iod behind the real HAProxy (Debian's haproxy), which the tests start
 * on loopback in front of one or two iod, with send-proxy-v2 and
 * tcp-check health checks that send PROXY LOCAL headers.
 *
 * HAProxy cannot bind port 0 and say which port it got.  So the test
 * binds 127.0.0.1:0 itself, and HAProxy serves that socket, inherited
 * as descriptor 3 ("bind fd@3"): no port is guessed, none can be taken
 * by someone else meanwhile.  Readiness, and whether health checks
 * pass, come from HAProxy's stats socket ("show stat"), never a sleep.
 * HAProxy is started and killed by PID, as iod is.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define H_BIN		"/usr/sbin/haproxy"
#define H_CHECK_MS	100	/* health check interval */
#define H_MAXSRV	2

struct h_proxy {
	pid_t	 pid;
	int	 port;			/* the frontend's */
	char	*dir;			/* TMPDIR: config, stats socket, log */
};

static void	h_start(struct h_proxy *, struct t_iod **, size_t);
static void	h_write_conf(const char *, struct t_iod **, size_t);
static int	h_stat(const struct h_proxy *, struct t_buf *);
static int	h_up(const struct h_proxy *, size_t);
static void	h_wait_up(const struct h_proxy *, size_t);
static void	h_stop(struct h_proxy *);
static struct t_iod *h_iod(const struct t_variant *, const char *);
static int	h_client(const struct h_proxy *, const char *);
static void	h_verified(int, size_t, uint64_t, const char *);
static void	h_refused(const struct h_proxy *, const char *);

/* The production engines with one worker, and libevent with two. */
static const struct t_variant h_variants[] = {
	{ "libevent",	1, 0 }, { "libevent",	2, 0 }, { "select",	1, 0 },
	{ "poll",	1, 0 }, { "epoll",	1, 0 }, { "epoll-lt",	1, 0 },
	{ "sigio",	1, 0 }, { "coro",	1, 0 },
#ifdef HAVE_LIBURING
	{ "uring",	1, 0 },
#endif
	{ "threads",	1, 0 }, { "fork",	1, 0 }
};
#define H_NVARIANTS	(sizeof(h_variants) / sizeof(h_variants[0]))

/*
 * Start HAProxy in front of the n iod of srv, serving a socket bound
 * here; return once it answers on its stats socket.
 */
static void
h_start(struct h_proxy *hp, struct t_iod **srv, size_t n)
{
	char	*conf, *log;
	int	 lfd, fd;

	ck_assert_msg(access(H_BIN, X_OK) == 0, "%s: %s: install Debian's "
	    "haproxy (./dev does)", H_BIN, strerror(errno));
	hp->dir = strdup(getenv("TMPDIR"));
	ck_assert(hp->dir != NULL);
	ck_assert(asprintf(&conf, "%s/haproxy.cfg", hp->dir) != -1);
	ck_assert(asprintf(&log, "%s/haproxy.log", hp->dir) != -1);
	h_write_conf(conf, srv, n);
	lfd = t_listen_loopback(&hp->port);
	hp->pid = fork();
	ck_assert_msg(hp->pid != -1, "fork: %s", strerror(errno));
	if (hp->pid == 0) {
		/* dup2() leaves the copy open across exec. */
		if (dup2(lfd, 3) == -1 ||
		    (fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
		    dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			_exit(127);
		execl(H_BIN, "haproxy", "-db", "-f", conf, (char *)NULL);
		_exit(127);
	}
	t_track_pid(hp->pid);
	close(lfd);
	free(conf);
	free(log);
}

/*
 * HAProxy's configuration: TCP, round robin over srv, each sent PROXY
 * v2 headers and checked every H_CHECK_MS by a round trip that must come
 * back upper-cased; a failed connection is tried again elsewhere.
 */
static void
h_write_conf(const char *path, struct t_iod **srv, size_t n)
{
	FILE	*f;
	size_t	 i;

	ck_assert_msg((f = fopen(path, "w")) != NULL, "%s: %s", path,
	    strerror(errno));
	fprintf(f, "global\n\tstats socket %s/haproxy.sock level admin\n"
	    "\tmaxconn 4000\n"
	    "defaults\n\tmode tcp\n\ttimeout connect 2s\n"
	    "\ttimeout client 30s\n\ttimeout server 30s\n"
	    "\ttimeout check 1s\n\tretries 3\n\toption redispatch\n"
	    "frontend fe\n\tbind fd@3\n\tdefault_backend be\n"
	    "backend be\n\tbalance roundrobin\n\toption tcp-check\n"
	    "\ttcp-check connect default linger\n"
	    "\ttcp-check send-binary 70696e670a\n"
	    "\ttcp-check expect string PING\n", getenv("TMPDIR"));
	for (i = 0; i < n; i++)
		fprintf(f, "\tserver s%zu 127.0.0.1:%d send-proxy-v2 "
		    "check-send-proxy check inter %dms fall 1 rise 1\n", i,
		    srv[i]->port[0], H_CHECK_MS);
	ck_assert(fclose(f) == 0);
}

/* HAProxy's "show stat" into b; -1 when its socket does not answer. */
static int
h_stat(const struct h_proxy *hp, struct t_buf *b)
{
	struct sockaddr_un	sun;
	char			chunk[4096];
	ssize_t			n;
	int			fd, i;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/haproxy.sock",
	    hp->dir);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, "show stat\n", 10) != 10) {
		close(fd);
		return (-1);
	}
	/* A blocking socket: HAProxy answers at once and closes. */
	for (i = 0; i < 1000 && (n = read(fd, chunk, sizeof(chunk))) > 0; i++)
		t_buf_add(b, chunk, (size_t)n);
	close(fd);
	return (0);
}

/* Is server s (s0, s1...) of backend be UP, by its last health check? */
static int
h_up(const struct h_proxy *hp, size_t s)
{
	struct t_buf	 b = { NULL, 0, 0 };
	char		 key[32];
	const char	*line, *end;
	int		 up = 0;

	if (h_stat(hp, &b) == -1 || b.b_data == NULL) {
		t_buf_free(&b);
		return (0);
	}
	snprintf(key, sizeof(key), "\nbe,s%zu,", s);
	if ((line = strstr(b.b_data, key)) != NULL) {
		end = strchr(line + 1, '\n');
		up = strstr(line, ",UP,") != NULL &&
		    (end == NULL || strstr(line, ",UP,") < end);
	}
	t_buf_free(&b);
	return (up);
}

/* Wait until HAProxy's health checks say each of n servers is UP. */
static void
h_wait_up(const struct h_proxy *hp, size_t n)
{
	int64_t	deadline = t_now_ms() + t_ms(10000);
	size_t	s;
	int	i;

	for (s = 0; s < n; s++) {
		for (i = 0; i < 1000 && !h_up(hp, s) &&
		    t_now_ms() < deadline; i++)
			poll(NULL, 0, 20);
		ck_assert_msg(h_up(hp, s), "HAProxy never saw server s%zu UP",
		    s);
	}
}

/* Stop HAProxy: SIGTERM, then SIGKILL if it lingers. */
static void
h_stop(struct h_proxy *hp)
{
	int	i, status;

	kill(hp->pid, SIGTERM);
	for (i = 0; i < 250 && waitpid(hp->pid, &status, WNOHANG) == 0; i++)
		poll(NULL, 0, 20);
	if (i == 250) {
		kill(hp->pid, SIGKILL);
		waitpid(hp->pid, &status, 0);
	}
	t_untrack_pid(hp->pid);
	free(hp->dir);
}

/* An iod for variant v on a proxy_protocol listener, with extra settings. */
static struct t_iod *
h_iod(const struct t_variant *v, const char *extra)
{
	struct t_iod	*iod;
	char		*conf;

	conf = t_conf(v, "listen = ( { address = \"127.0.0.1:0\"; "
	    "proxy_protocol = true; } );\nidle_timeout = 60;\n%s", extra);
	iod = t_spawn_iod(conf, NULL);
	free(conf);
	return (iod);
}

/* A client of HAProxy's from source src. */
static int
h_client(const struct h_proxy *hp, const char *src)
{
	int	fd;

	fd = t_connect_from(src, "127.0.0.1", hp->port);
	ck_assert_msg(fd != -1, "connect to HAProxy from %s: %s", src,
	    strerror(errno));
	return (fd);
}

/* Send len random bytes (from seed) through fd; every one comes back right. */
static void
h_verified(int fd, size_t len, uint64_t seed, const char *what)
{
	struct t_xfer	 x;
	unsigned char	*out, *in;
	size_t		 bad;

	out = malloc(len);
	in = malloc(len);
	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &seed);
	t_xfer(fd, out, len, in, len, 0, t_ms(5000), &x);
	ck_assert_msg(x.got == len, "%s: %zu of %zu bytes came back (%s)",
	    what, x.got, len, x.error ? strerror(x.error) : "timeout or EOF");
	bad = t_mismatch(out, in, len, 1);
	ck_assert_msg(bad == len, "%s: byte %zu of %zu altered", what, bad,
	    len);
	free(out);
	free(in);
}

/* A client from src is closed without a byte, through HAProxy. */
static void
h_refused(const struct h_proxy *hp, const char *src)
{
	enum t_end	end;
	int		fd;

	fd = h_client(hp, src);
	(void)send(fd, "x", 1, MSG_NOSIGNAL);
	end = t_wait_end(fd, t_ms(4000));
	ck_assert_msg(end == T_END_EOF || end == T_END_RESET,
	    "client from %s: %s, want EOF or reset with nothing read", src,
	    t_end_name(end));
	close(fd);
}

/*
 * Proves iod sees each real client through HAProxy: with max_per_source
 * = 2 and deny = ["127.0.0.4"], clients from 127.0.0.2, .3 and .5 get
 * two connections each, every byte verified, a third from .2 is closed
 * without a byte, and .4 is refused outright; HAProxy's health checks
 * (LOCAL, from the balancer's own 127.0.0.1) pass all along, and are no
 * client: a client of HAProxy's own from 127.0.0.1 holding its one
 * place under max_per_source = 1 does not make them fail.
 */
START_TEST(test_sources)
{
	static const char *const srcs[] = {
		"127.0.0.2", "127.0.0.3", "127.0.0.5"
	};
	const struct t_variant	*v = &h_variants[_i];
	struct h_proxy		 hp;
	struct t_iod		*iod;
	struct t_stats		 st;
	int			 fd[6], own, i;

	iod = h_iod(v, "max_per_source = 2;\ndeny = [\"127.0.0.4\"];\n");
	h_start(&hp, &iod, 1);
	h_wait_up(&hp, 1);
	for (i = 0; i < 6; i++) {
		fd[i] = h_client(&hp, srcs[i / 2]);
		h_verified(fd[i], 32768, 0xa5 + (uint64_t)i, srcs[i / 2]);
	}
	h_refused(&hp, "127.0.0.2");
	h_refused(&hp, "127.0.0.4");
	own = h_client(&hp, "127.0.0.1");
	h_verified(own, 100, 7, "a client from the balancer's address");
	/* Several health checks go by; every one must pass. */
	poll(NULL, 0, 5 * H_CHECK_MS);
	ck_assert_msg(h_up(&hp, 0), "a health check failed");
	for (i = 0; i < 6; i++)
		h_verified(fd[i], 4096, 0x5a + (uint64_t)i, "again");
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line");
	ck_assert_msg(st.refused_per_source == 1 && st.refused_deny == 1 &&
	    st.refused_proxy_bad == 0 && st.refused_proxy_untrusted == 0 &&
	    st.refused_proxy_timeout == 0, "refused: per_source=%ju (want 1) "
	    "deny=%ju (want 1) bad=%ju untrusted=%ju timeout=%ju (want 0)",
	    (uintmax_t)st.refused_per_source, (uintmax_t)st.refused_deny,
	    (uintmax_t)st.refused_proxy_bad,
	    (uintmax_t)st.refused_proxy_untrusted,
	    (uintmax_t)st.refused_proxy_timeout);
	for (i = 0; i < 6; i++)
		close(fd[i]);
	close(own);
	h_stop(&hp);
	t_expect_stop(iod);
}
END_TEST

/* A client of the scale-out test: a stream it sends, and what came back. */
#define H_CLIENTS	8
#define H_STREAM	(512 * 1024)	/* bytes each client sends */
#define H_AHEAD		(32 * 1024)	/* at most this much unanswered */
struct h_flow {
	int		 fd;
	char		 src[16];
	unsigned char	*out;		/* the whole stream */
	unsigned char	*in;		/* what came back */
	size_t		 sent, got;	/* on this connection, from 0 */
	int		 conns;		/* connections it needed */
};

static void	h_flow_open(struct h_flow *, const struct h_proxy *);
static int	h_flow_step(struct h_flow *, const struct h_proxy *, short);

/* Connect f (again) and go on from the first byte not answered. */
static void
h_flow_open(struct h_flow *f, const struct h_proxy *hp)
{
	f->fd = h_client(hp, f->src);
	f->sent = f->got;
	f->conns++;
}

/*
 * Move f's bytes as poll() allows; verify what came back.  On the end of
 * a connection (its server drained), what was answered must be exactly
 * the beginning of what was sent: reconnect and send the rest.  Return
 * 1 once the whole stream has come back.
 */
static int
h_flow_step(struct h_flow *f, const struct h_proxy *hp, short revents)
{
	ssize_t	n;
	size_t	want, bad;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = recv(f->fd, f->in + f->got, H_STREAM - f->got,
		    MSG_DONTWAIT);
		if (n > 0) {
			bad = t_mismatch(f->out + f->got, f->in + f->got,
			    (size_t)n, 1);
			ck_assert_msg(bad == (size_t)n, "client %s: byte %zu "
			    "altered", f->src, f->got + bad);
			f->got += (size_t)n;
			ck_assert_msg(f->got <= f->sent, "client %s: %zu bytes "
			    "back, %zu sent", f->src, f->got, f->sent);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(f->fd);
			if (f->got == H_STREAM)
				return (1);
			h_flow_open(f, hp);
			return (0);
		}
	}
	if (f->got == H_STREAM)
		return (1);
	want = f->got + H_AHEAD < H_STREAM ? f->got + H_AHEAD : H_STREAM;
	if ((revents & POLLOUT) && f->sent < want) {
		n = send(f->fd, f->out + f->sent, want - f->sent,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			f->sent += (size_t)n;
	}
	return (0);
}

/*
 * Proves scale-out through HAProxy: two iod behind it, eight clients
 * streaming 512 KiB each from distinct sources; once every client is a
 * quarter through, one iod gets SIGTERM.  It drains and exits 0, HAProxy
 * sends whoever reconnects to the other, and every client gets back
 * exactly its stream upper-cased: no byte lost or altered.  New clients
 * afterwards are all served by the survivor.
 */
START_TEST(test_scale_out)
{
	const struct t_variant	*v = &h_variants[_i];
	struct t_iod		*iod[H_MAXSRV];
	struct h_proxy		 hp;
	struct h_flow		 f[H_CLIENTS];
	struct pollfd		 pfd[H_CLIENTS];
	uint64_t		 seed = 0x5ca1e;
	int64_t			 deadline;
	size_t			 i, done = 0, quarter;
	int			 stopped = 0, loops, fd, conns = 0;

	for (i = 0; i < H_MAXSRV; i++)
		iod[i] = h_iod(v, "shutdown_timeout = 10;\n");
	h_start(&hp, iod, H_MAXSRV);
	h_wait_up(&hp, H_MAXSRV);
	for (i = 0; i < H_CLIENTS; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		snprintf(f[i].src, sizeof(f[i].src), "127.0.0.%zu", 10 + i);
		f[i].out = malloc(H_STREAM);
		f[i].in = malloc(H_STREAM);
		ck_assert(f[i].out != NULL && f[i].in != NULL);
		t_fill_random(f[i].out, H_STREAM, &seed);
		h_flow_open(&f[i], &hp);
	}
	deadline = t_now_ms() + t_ms(30000);
	for (loops = 0; done < H_CLIENTS && loops < T_MAXLOOP &&
	    t_now_ms() < deadline; loops++) {
		for (i = 0, quarter = 0; i < H_CLIENTS; i++) {
			pfd[i].fd = f[i].got == H_STREAM ? -1 : f[i].fd;
			pfd[i].events = POLLIN | POLLOUT;
			pfd[i].revents = 0;
			quarter += f[i].got >= H_STREAM / 4;
		}
		if (!stopped && quarter == H_CLIENTS) {
			kill(iod[0]->pid, SIGTERM);
			stopped = 1;
		}
		(void)poll(pfd, H_CLIENTS, 100);
		for (i = 0, done = 0; i < H_CLIENTS; i++)
			if (f[i].got == H_STREAM || (pfd[i].revents != 0 &&
			    h_flow_step(&f[i], &hp, pfd[i].revents)))
				done++;
	}
	for (i = 0; i < H_CLIENTS; i++) {
		ck_assert_msg(f[i].got == H_STREAM, "client %s: %zu of %d "
		    "bytes back", f[i].src, f[i].got, H_STREAM);
		conns += f[i].conns;
	}
	ck_assert_msg(stopped, "the load never got a quarter through");
	ck_assert_msg(t_wait_exit(iod[0], t_ms(15000)) == 0 &&
	    WIFEXITED(iod[0]->status) && WEXITSTATUS(iod[0]->status) == 0,
	    "the stopped iod: %s; stderr:\n%s",
	    t_status_name(iod[0]->status), t_log_tail(iod[0]));
	for (i = 0; i < 4; i++) {
		fd = h_client(&hp, "127.0.0.30");
		h_verified(fd, 8192, i, "a new client after the stop");
		close(fd);
	}
	for (i = 0; i < H_CLIENTS; i++) {
		close(f[i].fd);
		free(f[i].out);
		free(f[i].in);
	}
	h_stop(&hp);
	t_stop_iod(iod[0]);
	t_expect_stop(iod[1]);
	/* Not asserted, for the log: how many reconnections the stop cost. */
	fprintf(stderr, "scale-out %s: %d connections for %d clients\n",
	    v->engine, conns, H_CLIENTS);
}
END_TEST

/* The haproxy suite. */
Suite *
suite_haproxy(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("haproxy");
	tc = tcase_create("haproxy");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 90);
	tcase_add_loop_test(tc, test_sources, 0, H_NVARIANTS);
	tcase_add_loop_test(tc, test_scale_out, 0, H_NVARIANTS);
	suite_add_tcase(s, tc);
	return (s);
}
