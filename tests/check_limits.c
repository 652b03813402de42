/*
 * The limits iod puts on clients, end to end: how long one may stay
 * quiet (idle_timeout), how many may be connected (max_connections, and
 * select's FD_SETSIZE), and what iod does when descriptors run short.
 * The real binary on 127.0.0.1:0 under every variant of t_variants[].
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

static int	p_idle_move(int, const unsigned char *, size_t, int);
static void	p_idle_connect(struct t_iod *, int *, int64_t *, int64_t *);
static int	p_idle_watch(int, int, const unsigned char *, const int *,
		    int64_t *, int64_t);
static void	p_idle_expect_closed(const int *, const int64_t *,
		    int64_t *);
static int	p_reconnect(struct t_iod *, int *, char *, size_t, int *);
static int	l_until_pause(struct t_iod *, int *, int *, int);

/*
 * Proves idle_timeout = 1: a client that never sends, one that went quiet
 * after a round trip, and one that went quiet after streaming 256 KiB
 * (which the libevent engine reads by another path) are closed, a client
 * stuck by backpressure (sending a lot, never reading) is closed, and two
 * clients that keep moving bytes, one a byte and one 64 KiB at a time,
 * are not.
 */
#define P_IDLE_ACTIVE_MS	2500	/* well past idle_timeout */
/*
 * The bound on "closed soon after idle_timeout" is loose on purpose: a
 * shared, loaded machine can delay iod's timer and this test's poll by a
 * second or more, and what the test proves is that the close comes, not
 * how fast (benchmarks measure speed).
 */
#define P_IDLE_LIMIT_MS		5000	/* idle_timeout + 4 s */
#define P_IDLE_N		4	/* clients that must be closed */
#define P_IDLE_STREAM		(256 * 1024)
#define P_IDLE_TICK		(64 * 1024)
static const char *const p_idle_names[P_IDLE_N] = {
	"silent", "quiet", "stuck", "streamed"
};

/* Move len bytes of buf through fd and back, as one piece; 0 if all came. */
static int
p_idle_move(int fd, const unsigned char *buf, size_t len, int ms)
{
	struct t_xfer	 x;
	unsigned char	*in;
	int		 ok;

	in = malloc(len);
	ck_assert(in != NULL);
	t_xfer(fd, buf, len, in, len, 0, ms, &x);
	ok = x.got == len && t_mismatch(buf, in, len, 1) == len;
	free(in);
	return (ok ? 0 : -1);
}

START_TEST(test_idle_timeout)
{
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	unsigned char		*fill, *data;
	int64_t			 start, last[P_IDLE_N], closed[P_IDLE_N];
	size_t			 i, flen = T_STUCK_BYTES;
	uint64_t		 rnd = 0x1d1e + (uint64_t)_i;
	int			 fd[P_IDLE_N], a, b, tick;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 1;\n"
	    "max_pending_bytes = 65536;\n");
	fill = calloc(1, flen);		/* what fd[2] sends never comes back */
	data = malloc(P_IDLE_STREAM);
	ck_assert(fill != NULL && data != NULL);
	t_fill_random(data, P_IDLE_STREAM, &rnd);

	/*
	 * fd[0] never sends, fd[1] makes one round trip, fd[2] gets stuck,
	 * fd[3] streams once; a and b stay active.
	 */
	p_idle_connect(iod, fd, last, closed);
	a = t_connect(iod->port[0]);
	b = t_connect(iod->port[0]);
	ck_assert_msg(a != -1 && b != -1, "connect: %s", strerror(errno));
	start = t_now_ms();
	t_expect_roundtrip(fd[1], "quiet", "QUIET", 2000, "%s client",
	    p_idle_names[1]);
	last[1] = t_now_ms();
	ck_assert_msg(t_send_until_stuck(fd[2], fill, flen, 300) < flen,
	    "iod took all of %zu bytes from a client that never read", flen);
	last[2] = t_now_ms() - 300;
	ck_assert_msg(p_idle_move(fd[3], data, P_IDLE_STREAM, 2000) == 0,
	    "streamed client: %d bytes did not come back right",
	    P_IDLE_STREAM);
	last[3] = t_now_ms();

	/* a and b move bytes every 200 ms; watch the others. */
	tick = p_idle_watch(a, b, data, fd, closed, start);
	p_idle_expect_closed(fd, last, closed);
	t_expect_roundtrip(a, "still", "STILL", 2000, "active client after %d "
	    "ticks", tick);
	ck_assert_msg(p_idle_move(b, data, P_IDLE_TICK, 2000) == 0,
	    "active streaming client after %d ticks: no reply", tick);
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line: %s",
	    t_log_tail(iod));
	ck_assert_msg(st.timed_out == P_IDLE_N, "timed_out=%ju, want %d",
	    (uintmax_t)st.timed_out, P_IDLE_N);
	for (i = 0; i < P_IDLE_N; i++)
		close(fd[i]);
	close(a);
	close(b);
	free(fill);
	free(data);
	t_expect_stop(iod);
}
END_TEST

/*
 * Connect the idle clients to iod, fd[2] with a small receive buffer so
 * that it can get stuck; each is open (closed[] 0) and last moved a byte
 * now (last[]).
 */
static void
p_idle_connect(struct t_iod *iod, int *fd, int64_t *last, int64_t *closed)
{
	size_t	i;

	for (i = 0; i < P_IDLE_N; i++) {
		fd[i] = i != 2 ? t_connect(iod->port[0]) :
		    t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF);
		ck_assert_msg(fd[i] != -1, "connect: %s", strerror(errno));
		closed[i] = 0;
		last[i] = t_now_ms();
	}
}

/*
 * Make round trips on a and b every 200 ms, a byte on a and 64 KiB on b,
 * until P_IDLE_ACTIVE_MS after start; meanwhile note in closed[] when
 * each of the idle clients in fd[] was closed.  Return the ticks made.
 */
static int
p_idle_watch(int a, int b, const unsigned char *data, const int *fd,
    int64_t *closed, int64_t start)
{
	struct pollfd	pfd[P_IDLE_N];
	int64_t		next;
	size_t		i;
	int		loops, tick = 0;

	next = t_now_ms();
	for (loops = 0; loops < 10000; loops++) {
		if (t_now_ms() >= next) {
			if (t_now_ms() - start >= P_IDLE_ACTIVE_MS)
				break;
			t_expect_roundtrip(a, "a", "A", 1000, "active client, "
			    "tick %d, sent at %jd ms", tick,
			    (intmax_t)(t_now_ms() - start));
			ck_assert_msg(p_idle_move(b, data, P_IDLE_TICK, 1000)
			    == 0, "active streaming client, tick %d at %jd "
			    "ms: %d bytes did not come back right (%s)", tick,
			    (intmax_t)(t_now_ms() - start), P_IDLE_TICK,
			    t_end_name(t_wait_end(b, 0)));
			tick++;
			next += 200;
		}
		for (i = 0; i < P_IDLE_N; i++) {
			pfd[i].fd = closed[i] ? -1 : fd[i];
			pfd[i].events = i != 2 ? POLLIN : POLLRDHUP;
			pfd[i].revents = 0;
		}
		poll(pfd, P_IDLE_N,
		    (int)(next > t_now_ms() ? next - t_now_ms() : 0));
		for (i = 0; i < P_IDLE_N; i++)
			if (pfd[i].revents != 0 && !closed[i])
				closed[i] = t_now_ms();
	}
	return (tick);
}

/*
 * Require each idle client in fd[] to be closed within P_IDLE_LIMIT_MS
 * of its last byte (last[]), waiting for those still open, and every one
 * but the stuck one to end with EOF or a reset.
 */
static void
p_idle_expect_closed(const int *fd, const int64_t *last, int64_t *closed)
{
	enum t_end	end;
	size_t		i;

	/* Whatever is still open gets until its limit. */
	for (i = 0; i < P_IDLE_N; i++)
		if (!closed[i] && t_peer_closed(fd[i],
		    (int)(last[i] + P_IDLE_LIMIT_MS - t_now_ms())))
			closed[i] = t_now_ms();
	for (i = 0; i < P_IDLE_N; i++)
		ck_assert_msg(closed[i] != 0 &&
		    closed[i] - last[i] <= P_IDLE_LIMIT_MS,
		    "%s client: %s %jd ms after its last byte (limit %d ms)",
		    p_idle_names[i], closed[i] ? "closed" : "still open at",
		    (intmax_t)((closed[i] ? closed[i] : t_now_ms()) - last[i]),
		    P_IDLE_LIMIT_MS);
	for (i = 0; i < P_IDLE_N; i++) {
		if (i == 2)
			continue;
		end = t_wait_end(fd[i], 1000);
		ck_assert_msg(end == T_END_EOF || end == T_END_RESET,
		    "%s client ended with %s", p_idle_names[i],
		    t_end_name(end));
	}
}

/*
 * Proves that a connection may go quiet and talk again: a client makes
 * round trips and streams 256 KiB, waits past a second, then does it all
 * again and ends with a half-close.  A libevent connection that talks
 * gets a reader of its own and gives it back after a quiet second
 * (lev_quiet_wait in engine_libevent_conn.c), so this crosses both ways;
 * no idle_timeout is involved (60 s).
 */
#define P_QUIET_MS	1200
START_TEST(test_quiet_then_talk)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_iod		*iod;
	struct t_xfer		 x;
	unsigned char		*data;
	uint64_t		 rnd = 0x9e1 + (uint64_t)_i;
	char			 got[16];
	int			 fd, round, i;

	iod = t_spawn_variant(v, "mode = \"upper\";\nidle_timeout = 60;\n");
	data = malloc(P_IDLE_STREAM);
	ck_assert(data != NULL);
	t_fill_random(data, P_IDLE_STREAM, &rnd);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	for (round = 0; round < 2; round++) {
		if (round > 0)
			usleep(P_QUIET_MS * 1000);
		for (i = 0; i < 3; i++)
			t_expect_roundtrip(fd, "talk", "TALK", t_ms(2000),
			    "round %d, message %d", round, i);
		ck_assert_msg(p_idle_move(fd, data, P_IDLE_STREAM,
		    t_ms(5000)) == 0, "round %d: %d bytes did not come back "
		    "right", round, P_IDLE_STREAM);
	}
	usleep(P_QUIET_MS * 1000);
	t_xfer(fd, "end", 3, got, 3, T_XFER_SHUT | T_XFER_EOF, t_ms(3000), &x);
	ck_assert_msg(x.got == 3 && memcmp(got, "END", 3) == 0 && x.eof &&
	    x.extra == 0, "half-close after a quiet spell: got %zu bytes, "
	    "eof %d, error \"%s\"", x.got, x.eof, t_strerror(x.error));
	close(fd);
	free(data);
	t_expect_stop(iod);
}
END_TEST

/*
 * Connect to iod until a client gets "NEW" back for "new", 20 ms apart,
 * for at most 200 tries and 5 s: the client in *fdp (closed unless
 * served), its reply in got, the tries in *triesp.  Return 1 once one
 * was served, else 0.
 */
static int
p_reconnect(struct t_iod *iod, int *fdp, char *got, size_t size,
    int *triesp)
{
	int64_t	deadline;
	int	tries, ok = 0;

	deadline = t_now_ms() + t_ms(5000);
	for (tries = 0; tries < 200 && !ok && t_now_ms() < deadline;
	    tries++) {
		if (tries > 0)
			poll(NULL, 0, 20);
		*fdp = t_connect(iod->port[0]);
		ck_assert_msg(*fdp != -1, "connect: %s", strerror(errno));
		ok = t_roundtrip(*fdp, "new", got, size, t_ms(1000))
		    == 3 && strcmp(got, "NEW") == 0;
		if (!ok)
			close(*fdp);
	}
	*triesp = tries;
	return (ok);
}

/*
 * Proves max_connections = 5: five clients are served, a sixth is closed
 * at once without a byte, the five still work, iod logs the rejection,
 * and once one of the five has gone a new client is served.
 */
START_TEST(test_max_connections)
{
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
	struct t_iod		*iod;
	struct t_stats		 st;
	enum t_end		 end;
	char			 got[16];
	int			 fd[5], extra, i, tries, ok;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_connections = 5;\n"
	    "idle_timeout = 60;\n");
	for (i = 0; i < 5; i++) {
		fd[i] = t_connect(iod->port[0]);
		ck_assert_msg(fd[i] != -1, "connect %d: %s", i,
		    strerror(errno));
		t_expect_roundtrip(fd[i], "hello", "HELLO", t_ms(3000),
		    "client %d of 5", i);
	}
	t_log_mark(iod);
	extra = t_connect(iod->port[0]);
	ck_assert_msg(extra != -1, "connect 6th: %s", strerror(errno));
	end = t_wait_end(extra, t_ms(3000));
	ck_assert_msg(end == T_END_EOF || end == T_END_RESET,
	    "6th client: %s, want EOF or reset with nothing read",
	    t_end_name(end));
	close(extra);
	ck_assert_msg(t_wait_log(iod, "max_connections (5) reached: rejected",
	    3000) != NULL, "no rejection line; stderr:\n%s", t_log_tail(iod));
	for (i = 0; i < 5; i++)
		t_expect_roundtrip(fd[i], "again", "AGAIN", t_ms(3000),
		    "client %d after the rejection", i);

	/* Half-close one; iod's EOF says it has let the connection go. */
	shutdown(fd[0], SHUT_WR);
	end = t_wait_end(fd[0], t_ms(3000));
	ck_assert_msg(end == T_END_EOF, "after half-close: %s",
	    t_end_name(end));
	close(fd[0]);
	/*
	 * iod frees the slot around its close() (for fork, when it reaps
	 * the child), which the client cannot observe exactly: allow some
	 * rejected attempts, 20 ms apart, bounded in count and time.
	 */
	ok = p_reconnect(iod, &fd[0], got, sizeof(got), &tries);
	ck_assert_msg(ok, "no new client served after one of 5 left (%d "
	    "tries, last got \"%s\")", tries, got);
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line: %s",
	    t_log_tail(iod));
	ck_assert_msg(st.rejected == (uint64_t)tries && st.active == 5,
	    "rejected=%ju (want %d) active=%ju (want 5)",
	    (uintmax_t)st.rejected, tries, (uintmax_t)st.active);
	for (i = 0; i < 5; i++)
		close(fd[i]);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that the select engine never puts a descriptor of FD_SETSIZE
 * (1024) or more in an fd_set: with 1100 clients, those that would get
 * such a descriptor are closed at once, counted and logged, while every
 * client below the limit is served, and iod goes on serving afterwards.
 */
#define P_SELECT_CLIENTS	1100
START_TEST(test_select_fd_limit)
{
	const struct t_variant	 v = { "select", 1, 1 };
	struct t_iod		*iod;
	struct t_stats		 st;
	struct rlimit		 rl;
	char			 got[8];
	int			 fd[P_SELECT_CLIENTS], i, served = 0, refused = 0;

	/* The test itself needs more than 1100 descriptors. */
	ck_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_max;
	ck_assert_msg(setrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur > P_SELECT_CLIENTS + 64, "RLIMIT_NOFILE is only %ju",
	    (uintmax_t)rl.rlim_cur);
	iod = t_spawn_variant(&v, "max_connections = 2000;\nidle_timeout = 120;\n");
	for (i = 0; i < P_SELECT_CLIENTS; i++) {
		fd[i] = t_connect(iod->port[0]);
		ck_assert_msg(fd[i] != -1, "connect %d: %s", i,
		    strerror(errno));
	}
	for (i = 0; i < P_SELECT_CLIENTS; i++) {
		if (t_roundtrip(fd[i], "ping", got, sizeof(got),
		    t_ms(5000)) == 4 && strcmp(got, "PING") == 0)
			served++;
		else
			refused++;
	}
	ck_assert_msg(served > 900 && served < 1024 && refused > 76,
	    "served %d, refused %d of %d", served, refused, P_SELECT_CLIENTS);
	ck_assert_msg(t_wait_log(iod, "above select's limit of 1023", 3000)
	    != NULL, "no refusal line; stderr:\n%s", t_log_tail(iod));
	ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats line");
	ck_assert_msg(st.rejected == (uint64_t)refused &&
	    st.active == (uint64_t)served, "rejected=%ju active=%ju, want "
	    "%d and %d", (uintmax_t)st.rejected, (uintmax_t)st.active,
	    refused, served);
	for (i = 0; i < P_SELECT_CLIENTS; i++)
		close(fd[i]);
	fd[0] = t_connect(iod->port[0]);
	t_expect_roundtrip(fd[0], "more", "MORE", t_ms(5000),
	    "new client after the others left");
	close(fd[0]);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that the fork engine keeps no descriptor per child, since
 * fork() copies the descriptor table and each fork would cost more with
 * every connection: with 40 clients served, iod has as many descriptors
 * open as with none, and so it serves them all under an open-file limit
 * of 3 more than that.  Two workers, so that a child may be reaped by
 * the worker that did not fork it; once the clients leave, every slot
 * comes back.
 */
#define P_FORK_CLIENTS	40
START_TEST(test_fork_fds)
{
	const struct t_variant	 v = { "fork", 2, 0 };
	struct t_iod		*iod;
	struct t_stats		 st;
	int			 fd[P_FORK_CLIENTS], i, before, after, tries;

	iod = t_spawn_variant(&v, "mode = \"upper\";\nidle_timeout = 120;\n");
	before = t_limit_fds(iod->pid, 3);
	for (i = 0; i < P_FORK_CLIENTS; i++) {
		fd[i] = t_connect(iod->port[0]);
		t_expect_roundtrip(fd[i], "ping", "PING", t_ms(5000),
		    "client %d of %d", i, P_FORK_CLIENTS);
	}
	/* The last child may answer before the parent closes its copy. */
	after = t_count_fds(iod->pid);
	for (tries = 0; tries < 50 && after != before; tries++) {
		poll(NULL, 0, 20);
		after = t_count_fds(iod->pid);
	}
	ck_assert_msg(after == before, "iod had %d descriptors "
	    "with no client and %d with %d", before, after, P_FORK_CLIENTS);
	for (i = 0; i < P_FORK_CLIENTS; i++)
		close(fd[i]);
	/* Children exit on EOF; allow them time to, bounded. */
	st.active = P_FORK_CLIENTS;
	for (tries = 0; tries < 50 && st.active != 0; tries++) {
		if (tries > 0)
			poll(NULL, 0, 100);
		ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0,
		    "no stats line: %s", t_log_tail(iod));
	}
	ck_assert_msg(st.active == 0, "%ju connections still active after "
	    "every client left", (uintmax_t)st.active);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves accept backs off when descriptors run out (every engine but
 * fork, whose children hold the connections): with iod's soft
 * RLIMIT_NOFILE lowered to a few above what it holds, clients beyond it
 * wait, iod logs the pause, does not spin (its CPU time over 1.5 s stays
 * low, unless the engine spins anyway: T_SPINS), keeps serving an
 * established client, and once some clients have gone it serves the
 * waiting one and a new one.
 */
#define L_NCONN		40
/*
 * Running out of descriptors takes clients served at once: an engine that
 * serves one client at a time holds one client descriptor per worker, and
 * leaves the rest in the backlog.  check_iterative.c has its own test.
 */
#define L_PAUSE_CAPS	(T_HOLDS | T_CONCURRENT)
START_TEST(test_accept_pause)
{
	const struct t_variant	*v = t_variant(L_PAUSE_CAPS, _i);
	struct t_iod		*iod;
	struct pollfd		 none;
	long			 t0, t1, hz;
	char			 got[8];
	int			 a, c[L_NCONN], n, nfd, waiting, i;

	iod = t_spawn_variant(v, "mode = \"upper\";\nmax_connections = 1000;\n"
	    "idle_timeout = 60;\n");
	a = t_connect(iod->port[0]);
	ck_assert_msg(a != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(a, "first", "FIRST", t_ms(3000),
	    "established client");

	nfd = t_limit_fds(iod->pid, 3);

	/* Clients, one at a time, until iod says it ran out of descriptors. */
	t_log_mark(iod);
	waiting = l_until_pause(iod, c, &n, nfd);
	ck_assert_msg(waiting != -1, "all %d clients served with %d fds and "
	    "a limit of %d", n, nfd, nfd + 3);

	/* A measure over time, not a wait for an event: sleep 1.5 s. */
	hz = sysconf(_SC_CLK_TCK);
	t0 = t_cpu_ticks(iod->pid);
	poll(&none, 0, 1500);
	t1 = t_cpu_ticks(iod->pid);
	ck_assert_msg(t0 >= 0 && t1 >= t0, "cannot read iod's CPU time "
	    "(%ld, then %ld ticks)", t0, t1);
	if (!(v->caps & T_SPINS))
		ck_assert_msg(t1 - t0 < hz * 3 / 10, "iod used %ld ticks "
		    "(%ld/s) of CPU in 1.5 s while out of descriptors",
		    t1 - t0, hz);

	t_expect_roundtrip(a, "still", "STILL", t_ms(3000),
	    "established client during the pause");
	/* Free two descriptors: the waiting client and a new one get in. */
	ck_assert_msg(waiting >= 2, "only %d clients served before the limit",
	    waiting);
	close(c[0]);
	close(c[1]);
	c[0] = c[1] = -1;
	ck_assert_msg(t_recv_exact(c[waiting], got, 1, t_ms(4000)) == 1 &&
	    got[0] == 'X', "the waiting client was not served after two "
	    "clients left; stderr:\n%s", t_log_tail(iod));
	c[0] = t_connect(iod->port[0]);
	ck_assert_msg(c[0] != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(c[0], "new", "NEW", t_ms(3000),
	    "new client after the pause");
	for (i = 0; i < n; i++)
		if (c[i] != -1)
			close(c[i]);
	close(a);
	t_expect_stop(iod);
}
END_TEST

/*
 * Connect clients to iod one at a time, each sending a byte, until iod
 * says it ran out of descriptors: each is served (its byte comes back)
 * or is the one iod could not accept, which waits in the backlog.  The
 * clients go in c, how many in *np; return the index of the waiting
 * one, or -1 if all L_NCONN were served.  nfd, the descriptors iod held
 * below its limit, is for messages.
 */
static int
l_until_pause(struct t_iod *iod, int *c, int *np, int nfd)
{
	int64_t	deadline;
	char	got[8];
	int	n, waiting, served, i;

	waiting = -1;
	for (n = 0; n < L_NCONN && waiting == -1; n++) {
		c[n] = t_connect(iod->port[0]);
		ck_assert_msg(c[n] != -1, "connect %d: %s", n,
		    strerror(errno));
		ck_assert_msg(t_send_all(c[n], "x", 1, t_ms(3000)) == 1,
		    "send %d: %s", n, strerror(errno));
		deadline = t_now_ms() + t_ms(3000);
		for (i = 0, served = 0; i < 1000 && !served && waiting == -1 &&
		    t_now_ms() < deadline; i++) {
			served = t_recv_exact(c[n], got, 1, 20) == 1;
			if (!served && t_wait_log(iod, "Too many open files; "
			    "pausing", 0) != NULL)
				waiting = n;
		}
		ck_assert_msg(served || waiting != -1, "client %d neither "
		    "served nor refused after %d ms (limit %d, %d fds); "
		    "stderr:\n%s", n, t_ms(3000), nfd + 3, nfd,
		    t_log_tail(iod));
		ck_assert_msg(!served || got[0] == 'X', "client %d got 0x%02x",
		    n, (unsigned char)got[0]);
	}
	*np = n;
	return (waiting);
}

/*
 * Proves that with RLIMIT_NOFILE at 256 before exec, max_connections
 * 10000 is lowered to fit, with a line that says so, the "ready" line
 * shows the lowered figure, and iod serves.
 */
START_TEST(test_fd_limit_startup)
{
	const struct t_variant	*v = t_variant(0, _i);
	struct t_opts		 o;
	struct t_iod		*iod;
	const char		*line;
	const char		*p;
	char			*conf;
	int			 fd, lowered = 0, shown = 0;

	memset(&o, 0, sizeof(o));
	o.nofile = 256;
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n"
	    "max_connections = 10000;\n");
	iod = t_spawn_iod(conf, &o);
	free(conf);
	line = t_wait_log(iod, "max_connections lowered from 10000 to ", 0);
	ck_assert_msg(line != NULL, "no \"max_connections lowered\"; "
	    "stderr:\n%s", t_log_tail(iod));
	sscanf(strstr(line, " to ") + 4, "%d", &lowered);
	ck_assert_msg(lowered > 0 && lowered < 256 &&
	    strstr(line, "open-file limit is 256") != NULL,
	    "line \"%s\": want 0 < N < 256 and the limit 256", line);
	line = t_wait_log(iod, "iod: ready: ", t_ms(10000));
	if (line != NULL && (p = strstr(line, "max_connections ")) != NULL)
		sscanf(p + strlen("max_connections "), "%d", &shown);
	ck_assert_msg(shown == lowered, "ready line \"%s\": want "
	    "max_connections %d", line ? line : "(none)", lowered);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(fd, "abc", "ABC", t_ms(3000),
	    "client under the low limit");
	close(fd);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves that a reload which raises max_connections past the open-file
 * limit iod started with raises that limit and admits as many: started
 * with a soft RLIMIT_NOFILE of 256 and max_connections 100, reloaded
 * with 400, iod serves 300 clients at once.
 */
#define L_RELOAD_CLIENTS	300
START_TEST(test_fd_limit_reload)
{
	const struct t_variant	*v = t_variant(T_CONCURRENT, _i);
	struct t_opts		 o;
	struct t_iod		*iod;
	char			*conf, got[8];
	int			 fd[L_RELOAD_CLIENTS], i;

	memset(&o, 0, sizeof(o));
	o.nofile_soft = 256;
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n"
	    "max_connections = 100;\nidle_timeout = 60;\n");
	iod = t_spawn_iod(conf, &o);
	free(conf);
	conf = t_conf(v, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n"
	    "max_connections = 400;\nidle_timeout = 60;\n");
	t_reload(iod, conf, "raising max_connections");
	free(conf);
	for (i = 0; i < L_RELOAD_CLIENTS; i++) {
		fd[i] = t_connect(iod->port[0]);
		ck_assert_msg(fd[i] != -1 && t_roundtrip(fd[i], "ping", got,
		    sizeof(got), t_ms(5000)) == 4 && strcmp(got, "PING") == 0,
		    "client %d of %d not served after the reload; stderr:\n%s",
		    i, L_RELOAD_CLIENTS, t_log_tail(iod));
	}
	for (i = 0; i < L_RELOAD_CLIENTS; i++)
		close(fd[i]);
	t_expect_stop(iod);
}
END_TEST

/*
 * The limits suite: idle clients, the connection limits, then running
 * short of descriptors.
 */
Suite *
suite_limits(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("limits");

	tc = tcase_create("idle");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_idle_timeout, 0, t_count(T_CONCURRENT));
	tcase_add_loop_test(tc, test_quiet_then_talk, 0, t_count(0));
	suite_add_tcase(s, tc);

	tc = tcase_create("connections");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_max_connections, 0, t_count(T_CONCURRENT));
	tcase_add_test(tc, test_select_fd_limit);
	tcase_add_test(tc, test_fork_fds);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdlimit");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_accept_pause, 0, t_count(L_PAUSE_CAPS));
	tcase_add_loop_test(tc, test_fd_limit_startup, 0, t_count(0));
	tcase_add_loop_test(tc, test_fd_limit_reload, 0, t_count(T_CONCURRENT));
	suite_add_tcase(s, tc);
	return (s);
}
