/*
 * reuseport: a SO_REUSEPORT listener per worker.  The real binary on
 * 127.0.0.1:0, under every variant of t_variants[] with two workers that
 * takes it (all but iterative): the kernel spreads connections over both
 * workers, every byte comes back right, and listeners that close on a
 * reload or at shutdown reset no connection.
 */
#include <sys/types.h>
#include <sys/socket.h>
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
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define RP_SPREAD	200	/* connections in the spread test */
#define RP_RELOADS	20	/* in the no-reset test */
#define RP_CONC		16	/* connections the load keeps open at once */
#define RP_MSG		32	/* bytes each sends */
#define RP_CONN_MS	15000	/* one connection, SYN retransmits included */
#define RP_LOAD_MS	40000	/* the whole load, whatever happens */

/* What the load saw, written back by its process. */
struct rp_tally {
	unsigned long	done;		/* served, every byte right */
	unsigned long	reset;		/* ECONNRESET, or EOF before the reply */
	unsigned long	refused;	/* ECONNREFUSED at connect */
	unsigned long	wrong;		/* a wrong byte, or another error */
	unsigned long	timed_out;	/* not done in RP_CONN_MS */
};

/* One connection of the load. */
struct rp_conn {
	int		fd;		/* -1: a free slot */
	int		connected;
	int64_t		since;
	size_t		got;
	unsigned char	sent[RP_MSG];
	unsigned char	back[RP_MSG];
};

static const struct t_variant *rp_variant(int);
static int	rp_count(void);
static struct t_iod *rp_spawn(const struct t_variant *, const char *);
static void	rp_open(struct rp_conn *, const char *, int, uint64_t *,
		    struct rp_tally *);
static void	rp_step(struct rp_conn *, short, struct rp_tally *);
static void	rp_end(struct rp_conn *, unsigned long *);
static void	rp_load(const char *, int, int, int);
static pid_t	rp_start_load(const char *, int, int *, int *);
static void	rp_finish_load(pid_t, int, int, struct rp_tally *);

/* The i-th variant with more than one worker that reuseport applies to. */
static const struct t_variant *
rp_variant(int i)
{
	size_t	j;

	for (j = 0; j < t_nvariants; j++)
		if (t_variants[j].workers > 1 &&
		    strcmp(t_variants[j].engine, "iterative") != 0 &&
		    i-- == 0)
			return (&t_variants[j]);
	ck_abort_msg("no reuseport variant %d", i);
	return (NULL);
}

/* How many variants rp_variant() has. */
static int
rp_count(void)
{
	size_t	j;
	int	n = 0;

	for (j = 0; j < t_nvariants; j++)
		n += t_variants[j].workers > 1 &&
		    strcmp(t_variants[j].engine, "iterative") != 0;
	return (n);
}

/* Start v with reuseport on and require the groups' "listening" line. */
static struct t_iod *
rp_spawn(const struct t_variant *v, const char *extra)
{
	struct t_iod	*iod;
	char		*conf, want[64];

	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nreuseport = true;\n"
	    "idle_timeout = 60;\n%s", extra);
	iod = t_spawn_iod(conf, NULL);
	free(conf);
	snprintf(want, sizeof(want), "reuseport: %d sockets)", v->workers);
	ck_assert_msg(strstr(iod->err.b_data, want) != NULL, "%s/%d: no "
	    "\"%s\"; stderr:\n%s", v->engine, v->workers, want,
	    t_log_tail(iod));
	return (iod);
}

/*
 * Proves the spread: of RP_SPREAD connections, each verified byte for
 * byte, every worker accepted some, and the per-worker counts of the
 * metrics endpoint add up to all of them.
 */
START_TEST(test_reuseport_spread)
{
	const struct t_variant	*v = rp_variant(_i);
	struct t_iod		*iod;
	struct t_buf		 b = { NULL, 0, 0 };
	unsigned char		 sent[RP_MSG], got[RP_MSG];
	char			 series[64];
	uint64_t		 seed = 15;
	double			 n, sum = 0;
	int			 i, fd, mport;

	iod = rp_spawn(v, "metrics_listen = \"127.0.0.1:0\";\n");
	mport = t_metrics_port(iod);
	for (i = 0; i < RP_SPREAD; i++) {
		fd = t_connect(iod->port[0]);
		ck_assert_msg(fd != -1, "connection %d: %s", i,
		    strerror(errno));
		t_fill_random(sent, sizeof(sent), &seed);
		ck_assert_msg(t_send_all(fd, sent, sizeof(sent), t_ms(3000)) ==
		    (ssize_t)sizeof(sent), "connection %d: send", i);
		ck_assert_msg(t_recv_exact(fd, got, sizeof(got), t_ms(3000)) ==
		    (ssize_t)sizeof(got), "connection %d: short reply", i);
		ck_assert_msg(t_mismatch(sent, got, sizeof(got), 1) ==
		    sizeof(got), "connection %d: wrong byte at %zu", i,
		    t_mismatch(sent, got, sizeof(got), 1));
		close(fd);
	}
	t_scrape(mport, &b);
	for (i = 0; i < v->workers; i++) {
		snprintf(series, sizeof(series),
		    "iod_worker_connections_accepted_total{worker=\"%d\"}", i);
		n = t_metric(b.b_data, series);
		ck_assert_msg(n > 0, "%s/%d: worker %d accepted %.0f of %d",
		    v->engine, v->workers, i, n, RP_SPREAD);
		sum += n;
	}
	ck_assert_msg(sum == RP_SPREAD, "%s/%d: workers accepted %.0f in all, "
	    "not %d", v->engine, v->workers, sum, RP_SPREAD);
	t_buf_free(&b);
	t_expect_stop(iod);
}
END_TEST

/* Start a connection of the load in slot c to host:port. */
static void
rp_open(struct rp_conn *c, const char *host, int port, uint64_t *seed,
    struct rp_tally *t)
{
	struct sockaddr_in	sin;

	memset(c, 0, sizeof(*c));
	c->since = t_now_ms();
	t_fill_random(c->sent, sizeof(c->sent), seed);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		t->wrong++;
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS)
		rp_end(c, errno == ECONNREFUSED ? &t->refused : &t->wrong);
}

/* Move connection c on after poll() said revents. */
static void
rp_step(struct rp_conn *c, short revents, struct rp_tally *t)
{
	socklen_t	len = sizeof(int);
	ssize_t		n;
	int		err = 0;

	if (!c->connected) {
		(void)getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			rp_end(c, err == ECONNREFUSED ? &t->refused :
			    err == ECONNRESET ? &t->reset : &t->wrong);
			return;
		}
		c->connected = 1;
		/* 32 bytes always fit in a fresh socket's buffer. */
		if (send(c->fd, c->sent, sizeof(c->sent), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(c->sent))
			rp_end(c, errno == ECONNRESET || errno == EPIPE ?
			    &t->reset : &t->wrong);
		return;
	}
	if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0)
		return;
	n = recv(c->fd, c->back + c->got, sizeof(c->back) - c->got, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		rp_end(c, n == 0 || errno == ECONNRESET ? &t->reset :
		    &t->wrong);
		return;
	}
	c->got += (size_t)n;
	if (c->got < sizeof(c->back))
		return;
	rp_end(c, t_mismatch(c->sent, c->back, sizeof(c->back), 1) ==
	    sizeof(c->back) ? &t->done : &t->wrong);
}

/* Close connection c, free its slot and count how it ended. */
static void
rp_end(struct rp_conn *c, unsigned long *count)
{
	(*count)++;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/*
 * The load, in a process of its own: RP_CONC connections to host:port at all
 * times, each sending RP_MSG random bytes and checking the upper-cased
 * reply, a new one as soon as one ends, until stopfd reads EOF; then let
 * those open finish, and write the tally to outfd.
 */
static void
rp_load(const char *host, int port, int stopfd, int outfd)
{
	struct rp_conn	 conns[RP_CONC];
	struct pollfd	 pfd[RP_CONC + 1];
	struct rp_tally	 t;
	uint64_t	 seed = (uint64_t)getpid();
	int64_t		 deadline = t_now_ms() + RP_LOAD_MS;
	int		 i, open, stopping = 0;
	char		 byte;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < RP_CONC; i++)
		conns[i].fd = -1;
	while (t_now_ms() < deadline) {
		for (i = 0, open = 0; i < RP_CONC; i++) {
			if (conns[i].fd == -1 && !stopping)
				rp_open(&conns[i], host, port, &seed, &t);
			if (conns[i].fd != -1 && t_now_ms() - conns[i].since >
			    RP_CONN_MS)
				rp_end(&conns[i], &t.timed_out);
			pfd[i].fd = conns[i].fd;
			pfd[i].events = conns[i].connected ? POLLIN : POLLOUT;
			open += conns[i].fd != -1;
		}
		if (stopping && open == 0)
			break;
		pfd[RP_CONC].fd = stopping ? -1 : stopfd;
		pfd[RP_CONC].events = POLLIN;
		if (poll(pfd, RP_CONC + 1, 100) == -1)
			continue;
		if (pfd[RP_CONC].revents != 0 && read(stopfd, &byte, 1) <= 0)
			stopping = 1;
		for (i = 0; i < RP_CONC; i++)
			if (conns[i].fd != -1 && pfd[i].revents != 0)
				rp_step(&conns[i], pfd[i].revents, &t);
	}
	for (i = 0; i < RP_CONC; i++)
		if (conns[i].fd != -1)
			rp_end(&conns[i], &t.timed_out);
	if (write(outfd, &t, sizeof(t)) != (ssize_t)sizeof(t))
		_exit(1);
	_exit(0);
}

/* Fork the load against host:port; *stopfd ends it, *outfd its tally. */
static pid_t
rp_start_load(const char *host, int port, int *stopfd, int *outfd)
{
	int	stop[2], out[2];
	pid_t	pid;

	ck_assert_msg(pipe2(stop, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0,
	    "pipe: %s", strerror(errno));
	pid = fork();
	ck_assert_msg(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(stop[1]);
		close(out[0]);
		rp_load(host, port, stop[0], out[1]);
	}
	t_track_pid(pid);
	close(stop[0]);
	close(out[1]);
	*stopfd = stop[1];
	*outfd = out[0];
	return (pid);
}

/* Stop the load (unless stopfd is -1: stopped), read its tally and reap
 * it, all bounded. */
static void
rp_finish_load(pid_t pid, int stopfd, int outfd, struct rp_tally *t)
{
	struct pollfd	pfd = { outfd, POLLIN, 0 };
	int		status;

	if (stopfd != -1)
		close(stopfd);
	ck_assert_msg(poll(&pfd, 1, RP_LOAD_MS + 5000) == 1 &&
	    read(outfd, t, sizeof(*t)) == (ssize_t)sizeof(*t),
	    "the load sent no tally");
	close(outfd);
	ck_assert_msg(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "the load did not exit 0");
	t_untrack_pid(pid);
}

/*
 * Proves that closing reuseport listeners loses no connection.  While
 * RP_CONC clients at a time connect as fast as they are served, RP_RELOADS
 * reloads each restart the listeners of the address the clients use (its
 * spelling alternates between "127.0.0.1:P" and "127.0.0.1:0P", so a new
 * group opens and the old one is drained and closed) and alternately add
 * and remove a second address, which more clients use while it is there.
 * No client sees a reset or a wrong byte, and none of the first address
 * a refusal (the second one's are refused once it has gone).  Then
 * SIGTERM drains an open connection as without reuseport, and iod exits
 * 0.
 */
START_TEST(test_reuseport_noreset)
{
	const struct t_variant	*v = rp_variant(_i);
	struct t_iod		*iod;
	struct rp_tally		 t, tb, tball;
	struct timespec		 pause = { 0, 50 * 1000000L };
	const char		*line;
	char			*conf;
	pid_t			 load, bload[RP_RELOADS];
	int			 k, port, stopfd, outfd, fd, bport, nb = 0;
	int			 bstop, bout[RP_RELOADS];

	iod = rp_spawn(v, "");
	port = iod->port[0];
	memset(&tball, 0, sizeof(tball));
	load = rp_start_load("127.0.0.1", port, &stopfd, &outfd);
	for (k = 1; k <= RP_RELOADS; k++) {
		nanosleep(&pause, NULL);
		conf = t_conf(v, "listen = [\"127.0.0.1:%s%d\"%s];\n"
		    "reuseport = true;\nidle_timeout = 60;\n", k % 2 ? "" : "0",
		    port, k % 2 ? ", \"127.0.0.2:0\"" : "");
		t_reload(iod, conf, "restarting the listeners");
		free(conf);
		/*
		 * The second address's clients stop once it has gone; those
		 * whose SYN its draining sockets dropped are refused about a
		 * second later, so they are waited for together at the end.
		 */
		if (k % 2 == 0) {
			close(bstop);
			continue;
		}
		line = t_wait_log(iod, "listening on 127.0.0.2:", t_ms(5000));
		ck_assert_msg(line != NULL, "no listener on 127.0.0.2; stderr:"
		    "\n%s", t_log_tail(iod));
		bport = t_listen_port(strstr(line, "127.0.0.2:"));
		bload[nb] = rp_start_load("127.0.0.2", bport, &bstop,
		    &bout[nb]);
		nb++;
	}
	rp_finish_load(load, stopfd, outfd, &t);
	for (k = 0; k < nb; k++) {
		rp_finish_load(bload[k], -1, bout[k], &tb);
		tball.done += tb.done;
		tball.reset += tb.reset;
		tball.wrong += tb.wrong;
		tball.timed_out += tb.timed_out;
	}
	ck_assert_msg(t.reset == 0 && t.refused == 0 && t.wrong == 0 &&
	    t.timed_out == 0 && t.done > 0, "%s/%d over %d reloads: done %lu, "
	    "reset %lu, refused %lu, wrong %lu, timed out %lu; stderr:\n%s",
	    v->engine, v->workers, RP_RELOADS, t.done, t.reset, t.refused,
	    t.wrong, t.timed_out, t_log_tail(iod));
	ck_assert_msg(tball.reset == 0 && tball.wrong == 0 &&
	    tball.timed_out == 0 && tball.done > 0, "%s/%d, the address added and removed: done "
	    "%lu, reset %lu, wrong %lu, timed out %lu; stderr:\n%s", v->engine,
	    v->workers, tball.done, tball.reset, tball.wrong, tball.timed_out,
	    t_log_tail(iod));
	ck_assert_msg(strstr(iod->err.b_data, "still queued") == NULL,
	    "a listener closed with connections queued; stderr:\n%s",
	    t_log_tail(iod));

	fd = t_connect(port);
	ck_assert_msg(fd != -1, "connect before SIGTERM: %s", strerror(errno));
	t_expect_roundtrip(fd, "abc", "ABC", t_ms(3000), "before SIGTERM");
	t_log_mark(iod);
	kill(iod->pid, SIGTERM);
	ck_assert_msg(t_wait_log(iod, "shutting down", t_ms(5000)) != NULL,
	    "no shutdown line; stderr:\n%s", t_log_tail(iod));
	t_expect_roundtrip(fd, "def", "DEF", t_ms(3000), "draining");
	close(fd);
	t_expect_exit0(iod);
	t_stop_iod(iod);
}
END_TEST

/*
 * Proves where reuseport does not apply: with one worker, with the
 * iterative engine, and in a reload that changes it, iod says so and
 * serves as before.
 */
START_TEST(test_reuseport_ignored)
{
	static const struct t_variant one = { "epoll", 1, 0 };
	static const struct t_variant loops = { "iterative", 2, 0 };
	struct t_iod	*iod;
	const char	*line;
	char		*conf;
	int		 fd;

	iod = t_spawn_variant(&one, "reuseport = true;\n");
	ck_assert_msg(strstr(iod->err.b_data, "reuseport is ignored with "
	    "workers = 1") != NULL, "no notice; stderr:\n%s", t_log_tail(iod));
	t_expect_stop(iod);

	iod = t_spawn_variant(&loops, "reuseport = true;\n");
	ck_assert_msg(strstr(iod->err.b_data, "reuseport is ignored with "
	    "engine iterative") != NULL, "no notice; stderr:\n%s",
	    t_log_tail(iod));
	fd = t_connect(iod->port[0]);
	t_expect_roundtrip(fd, "abc", "ABC", t_ms(3000), "iterative");
	close(fd);
	t_expect_stop(iod);

	iod = rp_spawn(rp_variant(0), "");
	conf = t_conf(rp_variant(0), "listen = [\"127.0.0.1:%d\"];\n"
	    "reuseport = false;\n", iod->port[0]);
	t_reload(iod, conf, "turning reuseport off");
	free(conf);
	line = t_wait_log(iod, "reuseport changed in", t_ms(3000));
	ck_assert_msg(line != NULL && strstr(line, "restart needed; keeping "
	    "true") != NULL, "no restart notice; stderr:\n%s",
	    t_log_tail(iod));
	fd = t_connect(iod->port[0]);
	t_expect_roundtrip(fd, "xyz", "XYZ", t_ms(3000), "after the reload");
	close(fd);
	t_expect_stop(iod);
}
END_TEST

Suite *
suite_reuseport(void)
{
	Suite	*s = suite_create("reuseport");
	TCase	*tc;

	tc = tcase_create("reuseport");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 90);
	tcase_add_loop_test(tc, test_reuseport_spread, 0, rp_count());
	tcase_add_loop_test(tc, test_reuseport_noreset, 0, rp_count());
	tcase_add_test(tc, test_reuseport_ignored);
	suite_add_tcase(s, tc);
	return (s);
}
