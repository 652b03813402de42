/*
 * The busypoll engine and what it is there to show, next to epoll-lt:
 * its backend reports every watched descriptor at once, walking them
 * from a cursor so that each gets its turn; the real binary burns a core
 * while idle where level-triggered epoll sleeps, even with a half-closed
 * client that is owed data; and iod warns that busypoll is a teaching
 * engine.
 */
#include <sys/types.h>
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
#include "poller.h"

#define BP_PAIRS	6	/* socketpairs: twelve descriptors watched */
#define BP_FDS		(BP_PAIRS * 2)
#define BP_IDLE_MS	1000	/* one measure of CPU time */
#define BP_TRIES	3	/* measures a spinning engine may take */
#define BP_OWED		(16 * 1024 * 1024) /* beyond the kernel's buffers */
#define BP_PENDING	(4 * BP_OWED)	/* so iod never stops reading */

static const char bp_warning[] = "iod: engine busypoll is a teaching "
    "engine, not for production (nonblocking sockets, no wait: tries them "
    "all)";

/* The descriptors a cursor test watches, and what it saw of them. */
struct bp {
	void			*st;
	int			 fd[BP_FDS];
	int			 mask[BP_FDS];	/* watched for; 0: not */
	int			 seen[BP_FDS];	/* times reported */
	struct poller_event	 fired[BP_FDS + 4];
};

static void	bp_open(struct bp *);
static void	bp_close(struct bp *);
static void	bp_walk(struct bp *, int, int);
static const struct t_variant *bp_variant(const char *);
static long	bp_cpu_ms(struct t_iod *, int);
static void	bp_send_shut(struct t_iod *, int, const char *, int);

/* Watch BP_FDS descriptors on the busy backend, masks R, W, RW in turn. */
static void
bp_open(struct bp *bp)
{
	char	cause[256] = "";
	int	i;

	memset(bp, 0, sizeof(*bp));
	bp->st = poller_busy.create(BP_FDS, cause, sizeof(cause));
	ck_assert_msg(bp->st != NULL, "create: %s", cause);
	for (i = 0; i < BP_FDS; i += 2)
		ck_assert_msg(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0, &bp->fd[i]) == 0, "socketpair: %s", strerror(errno));
	for (i = 0; i < BP_FDS; i++) {
		bp->mask[i] = i % 3 + 1;
		ck_assert_msg(poller_busy.set(bp->st, bp->fd[i], 0,
		    bp->mask[i]) == 0, "set fd %d: %s", bp->fd[i],
		    strerror(errno));
	}
}

/* Free the backend and close the descriptors. */
static void
bp_close(struct bp *bp)
{
	int	i;

	poller_busy.free(bp->st);
	for (i = 0; i < BP_FDS; i++)
		close(bp->fd[i]);
}

/*
 * Wait waits times for at most nfired descriptors; require each wait to
 * report distinct watched descriptors, each for what it is watched for,
 * and count in seen how often each came.
 */
static void
bp_walk(struct bp *bp, int waits, int nfired)
{
	int	w, n, i, j, in_wait[BP_FDS];

	memset(bp->seen, 0, sizeof(bp->seen));
	for (w = 0; w < waits; w++) {
		memset(in_wait, 0, sizeof(in_wait));
		n = poller_busy.wait(bp->st, 0, bp->fired, nfired);
		ck_assert_msg(n >= 0 && n <= nfired, "wait %d for at most %d "
		    "returned %d", w, nfired, n);
		for (j = 0; j < n; j++) {
			for (i = 0; i < BP_FDS; i++)
				if (bp->fd[i] == bp->fired[j].fd)
					break;
			ck_assert_msg(i < BP_FDS && bp->mask[i] != 0, "wait %d "
			    "reported fd %d, which is not watched", w,
			    bp->fired[j].fd);
			ck_assert_msg(bp->fired[j].mask == bp->mask[i], "wait "
			    "%d reported fd %d with mask %d, watched for %d",
			    w, bp->fd[i], bp->fired[j].mask, bp->mask[i]);
			ck_assert_msg(in_wait[i]++ == 0, "wait %d reported fd "
			    "%d twice", w, bp->fd[i]);
			bp->seen[i]++;
		}
	}
}

/*
 * Proves the cursor: waits that may report fewer descriptors than are
 * watched take them in turn, so that over waits times nfired reports
 * every descriptor comes equally often, however the counts divide; that
 * still holds after some are removed and one is watched again; and a
 * wait with room for all reports each once.
 */
START_TEST(test_cursor)
{
	struct bp	bp;
	int		i, watched;

	bp_open(&bp);
	bp_walk(&bp, BP_FDS, 5);
	for (i = 0; i < BP_FDS; i++)
		ck_assert_msg(bp.seen[i] == 5, "fd %d reported %d times in %d "
		    "waits of 5 over %d descriptors, want 5", bp.fd[i],
		    bp.seen[i], BP_FDS, BP_FDS);

	for (i = 0; i < BP_FDS; i += 5) {
		ck_assert_msg(poller_busy.set(bp.st, bp.fd[i], bp.mask[i],
		    0) == 0, "remove fd %d: %s", bp.fd[i], strerror(errno));
		bp.mask[i] = 0;
	}
	ck_assert_msg(poller_busy.set(bp.st, bp.fd[5], 0, POLLER_READ) == 0,
	    "watch fd %d again: %s", bp.fd[5], strerror(errno));
	bp.mask[5] = POLLER_READ;
	for (i = watched = 0; i < BP_FDS; i++)
		watched += bp.mask[i] != 0;
	bp_walk(&bp, watched, 4);
	for (i = 0; i < BP_FDS; i++)
		ck_assert_msg(bp.seen[i] == (bp.mask[i] != 0 ? 4 : 0), "fd %d "
		    "(%s) reported %d times in %d waits of 4", bp.fd[i],
		    bp.mask[i] != 0 ? "watched" : "removed", bp.seen[i],
		    watched);

	bp_walk(&bp, 3, BP_FDS + 4);
	for (i = 0; i < BP_FDS; i++)
		ck_assert_msg(bp.seen[i] == (bp.mask[i] != 0 ? 3 : 0), "fd %d "
		    "reported %d times in 3 waits with room for all",
		    bp.fd[i], bp.seen[i]);
	bp_close(&bp);
}
END_TEST

/* The first row of t_variants[] for engine, with one worker. */
static const struct t_variant *
bp_variant(const char *engine)
{
	size_t	i;

	for (i = 0; i < t_nvariants; i++)
		if (strcmp(t_variants[i].engine, engine) == 0 &&
		    t_variants[i].workers == 1)
			return (&t_variants[i]);
	ck_abort_msg("no variant of engine %s with one worker", engine);
	return (NULL);
}

/* The CPU time iod uses over the next ms milliseconds, in ms. */
static long
bp_cpu_ms(struct t_iod *iod, int ms)
{
	long	hz = sysconf(_SC_CLK_TCK), t0, t1;

	t0 = t_cpu_ticks(iod->pid);
	/* A measure over time, not a wait for an event. */
	poll(NULL, 0, ms);
	t1 = t_cpu_ticks(iod->pid);
	ck_assert_msg(hz > 0 && t0 >= 0 && t1 >= t0, "cannot read iod's CPU "
	    "time: %ld, then %ld ticks (%ld/s)", t0, t1, hz);
	return ((t1 - t0) * 1000 / hz);
}

/*
 * Proves what the models cost while nothing happens: idle, with no
 * client, busypoll burns at least 0.3 s of CPU in a second (in one of a
 * few seconds, as the machine is shared), epoll-lt at most 0.1 s; both
 * then serve a client.
 */
static const struct bp_idle {
	const char	*bi_engine;
	long		 bi_min_ms;	/* CPU ms in BP_IDLE_MS, at least */
	long		 bi_max_ms;	/* and at most; -1: no bound */
} bp_idle[] = {
	{ "busypoll",	300,	-1 },
	{ "epoll-lt",	0,	100 },
};
START_TEST(test_idle_cpu)
{
	const struct bp_idle	*bi = &bp_idle[_i];
	struct t_iod		*iod;
	long			 used[BP_TRIES];
	int			 n, fd;

	iod = t_spawn_variant(bp_variant(bi->bi_engine), "mode = \"upper\";\n");
	for (n = 0; n < BP_TRIES; n++) {
		used[n] = bp_cpu_ms(iod, BP_IDLE_MS);
		if (used[n] >= bi->bi_min_ms)
			break;
	}
	if (n == BP_TRIES)
		n--;
	ck_assert_msg(used[n] >= bi->bi_min_ms, "%s used %ld, %ld, %ld ms "
	    "of CPU in %d s idle, want %ld in one", bi->bi_engine, used[0],
	    n > 0 ? used[1] : -1, n > 1 ? used[2] : -1, BP_TRIES,
	    bi->bi_min_ms);
	ck_assert_msg(bi->bi_max_ms == -1 || used[n] <= bi->bi_max_ms,
	    "%s used %ld ms of CPU in "
	    "%d ms idle, want at most %ld", bi->bi_engine, used[n],
	    BP_IDLE_MS, bi->bi_max_ms);
	fd = t_connect(iod->port[0]);
	t_expect_roundtrip(fd, "idle", "IDLE", t_ms(3000), "%s after idling",
	    bi->bi_engine);
	close(fd);
	t_expect_stop(iod);
}
END_TEST

/*
 * Send len bytes on fd and shut down its sending side; return once iod
 * has read them all (its counters say so) and a moment more, for the
 * end of input.
 */
static void
bp_send_shut(struct t_iod *iod, int fd, const char *out, int len)
{
	struct t_stats	st;
	int		i;

	ck_assert_msg(t_send_all(fd, out, len, t_ms(10000)) == len,
	    "send %d bytes: %s", len, strerror(errno));
	ck_assert_msg(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	memset(&st, 0, sizeof(st));
	for (i = 0; i < 250 && st.bytes_in < (uint64_t)len; i++) {
		if (i > 0)
			poll(NULL, 0, 20);
		ck_assert_msg(t_stats(iod, &st, t_ms(3000)) == 0, "no stats "
		    "line: %s", t_log_tail(iod));
	}
	ck_assert_msg(st.bytes_in == (uint64_t)len, "iod read %ju of %d "
	    "bytes", (uintmax_t)st.bytes_in, len);
	poll(NULL, 0, 100);
}

/*
 * Proves level-triggered epoll does not spin on a half-closed client:
 * one that sends BP_OWED bytes and shuts down its sending side, then
 * waits without reading.  iod reads it all and the end of input, and
 * drains what it owes (more than the kernel's buffers take on the way
 * back, less than max_pending_bytes), watching it for writing alone.
 * It uses at most 0.1 s of CPU in a second of that (with EPOLLRDHUP
 * asked for while only writing, the wait would return at once, for
 * ever), and delivers it all, then closes, once the client reads.
 */
START_TEST(test_half_closed_cpu)
{
	struct t_iod	*iod;
	struct t_xfer	 x;
	char		*out, *in, extra[128];
	long		 used;
	int		 fd;

	snprintf(extra, sizeof(extra), "mode = \"echo\";\nmax_pending_bytes = "
	    "%d;\nidle_timeout = 60;\n", BP_PENDING);
	iod = t_spawn_variant(bp_variant("epoll-lt"), extra);
	ck_assert_msg((out = malloc(BP_OWED)) != NULL &&
	    (in = malloc(BP_OWED)) != NULL, "out of memory");
	memset(out, 'h', BP_OWED);
	fd = t_connect_rcvbuf(iod->port[0], T_STUCK_RCVBUF);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	bp_send_shut(iod, fd, out, BP_OWED);

	used = bp_cpu_ms(iod, BP_IDLE_MS);
	ck_assert_msg(used <= 100, "epoll-lt used %ld ms of CPU in %d ms "
	    "with a half-closed client owed data, want at most 100", used,
	    BP_IDLE_MS);

	t_xfer(fd, NULL, 0, in, BP_OWED, T_XFER_EOF, t_ms(10000), &x);
	ck_assert_msg(x.got == BP_OWED && x.eof && x.extra == 0 && !x.error,
	    "read back %zu of %d bytes (eof %d, extra %zu, %s)", x.got,
	    BP_OWED, x.eof, x.extra, t_strerror(x.error));
	ck_assert_msg(memcmp(in, out, BP_OWED) == 0, "the echo differs");
	close(fd);
	free(out);
	free(in);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves busypoll says what it is: iod logs that it is a teaching
 * engine, with its model, before it is ready; epoll-lt logs no such line.
 */
START_TEST(test_teaching)
{
	struct t_iod	*iod;
	const char	*line;

	iod = t_spawn_variant(bp_variant("busypoll"), "");
	ck_assert_msg(t_wait_log(iod, bp_warning, 0) != NULL, "no \"%s\"; "
	    "stderr:\n%s", bp_warning, t_log_tail(iod));
	t_expect_stop(iod);

	iod = t_spawn_variant(bp_variant("epoll-lt"), "");
	line = t_wait_log(iod, "teaching engine", 0);
	ck_assert_msg(line == NULL, "epoll-lt logged \"%.200s\"", line);
	t_expect_stop(iod);
}
END_TEST

/* The busypoll suite: the backend's cursor, then the real binary. */
Suite *
suite_busypoll(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("busypoll");
	tc = tcase_create("cursor");
	tcase_add_test(tc, test_cursor);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_idle_cpu, 0,
	    sizeof(bp_idle) / sizeof(bp_idle[0]));
	tcase_add_test(tc, test_half_closed_cpu);
	tcase_add_test(tc, test_teaching);
	suite_add_tcase(s, tc);
	return (s);
}
