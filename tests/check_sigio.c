/*
 * The sigio engine: what its backend asks of each descriptor, which
 * descriptors can raise signals, what it does with signals that are
 * stale or lost, and the real daemon serving many clients at once, with
 * its real-time signal queue roomy and then nearly none.  The common
 * backend behaviours are check_poller.c's; the common behaviour of the
 * engine is every suite's, through t_variants[].
 */
#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"
#include "poller.h"

#define S_SETSIZE	64	/* descriptors below this fit at first */
#define S_MAXFIRED	16
#define S_SOON		1000	/* ms to wait for what is due */
#define S_QUIET		100	/* ms to wait for what is not */
#define S_PAIRS		8	/* socketpairs in the overflow test */
#define S_CONNS		200	/* clients of the daemon at once */
#define S_MSG_MAX	4000	/* bytes a client sends per round, at most */
#define S_ROUNDS	5	/* rounds with a roomy queue */
#define S_TRIES		50	/* rounds to make a tiny queue overflow */
#define S_SIGPENDING	4	/* RLIMIT_SIGPENDING for the tiny queue */
#define S_OVERFLOWED	"sigio: real-time signal queue overflowed; " \
			"polled every descriptor"

/* The backend's state in a test. */
struct s_poller {
	void			*st;
	struct poller_event	 fired[S_MAXFIRED];
	int			 nfired;
};

/* Clients of a daemon, with this round's messages. */
struct s_clients {
	int		 fd[S_CONNS];
	unsigned char	*out[S_CONNS];
	unsigned char	*in;
	size_t		 len[S_CONNS];
	int		 n;
	uint64_t	 rnd;
};

static void	 s_open(struct s_poller *);
static void	 s_pair(int *);
static void	 s_set(struct s_poller *, int, int);
static int	 s_wait(struct s_poller *, int, int);
static char	*s_capture(int *);
static void	 s_connect(struct s_clients *, struct t_iod *, int);
static void	 s_round(struct s_clients *, struct t_iod *, int);
static void	 s_disconnect(struct s_clients *);
static struct t_iod *s_spawn(int, rlim_t);

/* Create the backend's state, with its signals blocked as main() does. */
static void
s_open(struct s_poller *sp)
{
	char	cause[256] = "";

	memset(sp, 0, sizeof(*sp));
	poller_sigio_block();
	sp->st = poller_sigio.create(S_SETSIZE, cause, sizeof(cause));
	ck_assert_msg(sp->st != NULL, "create: %s", cause);
}

/* A nonblocking stream socketpair. */
static void
s_pair(int *sv)
{
	ck_assert_msg(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
}

/* Watch fd for mask; fail the test on refusal. */
static void
s_set(struct s_poller *sp, int fd, int mask)
{
	ck_assert_msg(poller_sigio.set(sp->st, fd, 0, mask) == 0,
	    "set fd %d to %#x: %s", fd, mask, strerror(errno));
}

/* Wait once; return the mask reported for fd, 0 if none. */
static int
s_wait(struct s_poller *sp, int fd, int timeout_ms)
{
	int	i, mask = 0;

	sp->nfired = poller_sigio.wait(sp->st, timeout_ms, sp->fired,
	    S_MAXFIRED);
	ck_assert_msg(sp->nfired >= 0 && sp->nfired <= S_MAXFIRED,
	    "wait returned %d", sp->nfired);
	for (i = 0; i < sp->nfired; i++)
		if (sp->fired[i].fd == fd)
			mask |= sp->fired[i].mask;
	return (mask);
}

/*
 * Send stderr to a new pipe and return its read end in *fd, or, with *fd
 * already open, put stderr back and return what was written meanwhile.
 */
static char *
s_capture(int *fd)
{
	static int	 saved = -1;
	static char	 text[4096];
	int		 p[2];
	ssize_t		 n;

	if (*fd == -1) {
		ck_assert_msg(pipe2(p, O_NONBLOCK) == 0 &&
		    (saved = dup(STDERR_FILENO)) != -1 &&
		    dup2(p[1], STDERR_FILENO) == STDERR_FILENO,
		    "redirect stderr: %s", strerror(errno));
		close(p[1]);
		*fd = p[0];
		return (NULL);
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(*fd, text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = '\0';
	close(*fd);
	*fd = -1;
	return (text);
}

/*
 * Proves how a descriptor is armed: its signal is SIGRTMIN + 1, it is
 * nonblocking and in O_ASYNC mode, and the signal goes to the thread
 * that waits, or to the whole process for a descriptor every worker
 * shares (a listener), so that any worker may take it.
 */
START_TEST(test_owner)
{
	struct s_poller		sp;
	struct f_owner_ex	owner;
	int			sv[2], fl;

	s_open(&sp);
	s_pair(sv);
	s_set(&sp, sv[0], POLLER_READ);
	s_set(&sp, sv[1], POLLER_READ | POLLER_SHARED);
	fl = fcntl(sv[0], F_GETFL);
	ck_assert_msg((fl & (O_ASYNC | O_NONBLOCK)) == (O_ASYNC | O_NONBLOCK),
	    "flags %#x lack O_ASYNC or O_NONBLOCK", fl);
	ck_assert_msg(fcntl(sv[0], F_GETSIG) == SIGRTMIN + 1, "F_GETSIG %d, "
	    "want %d", fcntl(sv[0], F_GETSIG), SIGRTMIN + 1);
	ck_assert_msg(fcntl(sv[0], F_GETOWN_EX, &owner) == 0 &&
	    owner.type == F_OWNER_TID && owner.pid == gettid(), "owner "
	    "type %d pid %d, want thread %d", owner.type, owner.pid,
	    gettid());
	ck_assert_msg(fcntl(sv[1], F_GETOWN_EX, &owner) == 0 &&
	    owner.type == F_OWNER_PID && owner.pid == getpid(), "shared: "
	    "owner type %d pid %d, want process %d", owner.type, owner.pid,
	    getpid());
	poller_sigio.free(sp.st);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves that only a descriptor that can raise signals is taken: an
 * eventfd ignores O_ASYNC, so watching one fails (EOPNOTSUPP) instead of
 * waiting for ever, which is why a worker's notify descriptor is a pipe;
 * a pipe is taken and a write to it is reported.
 */
START_TEST(test_notify_pipe)
{
	struct s_poller	sp;
	int		efd, p[2], r, mask;

	s_open(&sp);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_msg(efd != -1, "eventfd: %s", strerror(errno));
	errno = 0;
	r = poller_sigio.set(sp.st, efd, 0, POLLER_READ);
	ck_assert_msg(r == -1 && errno == EOPNOTSUPP, "set eventfd returned "
	    "%d (%s), want -1 (EOPNOTSUPP)", r, strerror(errno));
	ck_assert_msg(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0, "pipe: %s",
	    strerror(errno));
	s_set(&sp, p[0], POLLER_READ);
	ck_assert_msg(s_wait(&sp, p[0], 0) == 0, "an empty pipe was "
	    "reported");
	ck_assert_msg(write(p[1], "", 1) == 1, "write: %s", strerror(errno));
	mask = s_wait(&sp, p[0], S_SOON);
	ck_assert_msg(mask == POLLER_READ, "a written pipe reported %#x, "
	    "want READ", mask);
	poller_sigio.free(sp.st);
	close(efd);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * Proves the backend refuses to start where its signals are not blocked:
 * there, one would run the default action (the end of the process)
 * instead of waiting for wait() to take it.
 */
START_TEST(test_unblocked)
{
	sigset_t	 set;
	char		 cause[256] = "";
	void		*st;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigaddset(&set, SIGIO);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	st = poller_sigio.create(S_SETSIZE, cause, sizeof(cause));
	ck_assert_msg(st == NULL && strstr(cause, "not blocked") != NULL,
	    "create with the signals unblocked: state %p, cause \"%s\"", st,
	    cause);
	poller_sigio_block();
}
END_TEST

/*
 * Proves a stale signal is dropped: data that raised a signal but was
 * read before wait() ran is not reported, since the engine would only
 * find EAGAIN; and a peer's shutdown is flagged POLLER_HUP, though its
 * signal reads like one for data.
 */
START_TEST(test_stale)
{
	struct s_poller	sp;
	char		buf[16];
	int		sv[2], mask;

	s_open(&sp);
	s_pair(sv);
	s_set(&sp, sv[0], POLLER_READ);
	ck_assert_msg(write(sv[1], "x", 1) == 1, "write: %s", strerror(errno));
	ck_assert_msg(read(sv[0], buf, sizeof(buf)) == 1, "read: %s",
	    strerror(errno));
	mask = s_wait(&sp, sv[0], S_QUIET);
	ck_assert_msg(sp.nfired == 0, "%d events for data already read "
	    "(fd %d: %#x)", sp.nfired, sv[0], mask);

	ck_assert_msg(write(sv[1], "y", 1) == 1 && shutdown(sv[1], SHUT_WR) ==
	    0, "write and shutdown: %s", strerror(errno));
	mask = s_wait(&sp, sv[0], S_SOON);
	ck_assert_msg(mask == (POLLER_READ | POLLER_HUP), "data then a "
	    "shutdown reported %#x, want READ and HUP", mask);
	poller_sigio.free(sp.st);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves the overflow path in the backend alone: with RLIMIT_SIGPENDING
 * at 0 no real-time signal can be queued and the kernel raises SIGIO
 * each time instead.  Every pair written to is still reported, READ
 * alone, once; and the warning names the worker and counts.
 */
START_TEST(test_overflow_backend)
{
	struct s_poller	sp;
	struct rlimit	rl, zero;
	const char	*text;
	int		sv[S_PAIRS][2], seen[S_PAIRS], err = -1, i, j;

	poller_sigio_owner(7);
	s_open(&sp);
	for (i = 0; i < S_PAIRS; i++) {
		s_pair(sv[i]);
		s_set(&sp, sv[i][0], POLLER_READ);
	}
	/*
	 * Only the soft limit: lowering the hard one cannot be undone
	 * without CAP_SYS_RESOURCE, and Check itself needs the queue back
	 * (timer_create() takes a slot of it) once the test is done.
	 */
	ck_assert_msg(getrlimit(RLIMIT_SIGPENDING, &rl) == 0,
	    "RLIMIT_SIGPENDING: %s", strerror(errno));
	zero.rlim_cur = 0;
	zero.rlim_max = rl.rlim_max;
	ck_assert_msg(setrlimit(RLIMIT_SIGPENDING, &zero) == 0,
	    "RLIMIT_SIGPENDING: %s", strerror(errno));
	for (i = 0; i < S_PAIRS; i++)
		ck_assert_msg(write(sv[i][1], "x", 1) == 1, "write: %s",
		    strerror(errno));
	s_capture(&err);
	s_wait(&sp, -1, S_SOON);
	text = s_capture(&err);
	ck_assert_msg(setrlimit(RLIMIT_SIGPENDING, &rl) == 0,
	    "restoring RLIMIT_SIGPENDING: %s", strerror(errno));

	memset(seen, 0, sizeof(seen));
	for (j = 0; j < sp.nfired; j++)
		for (i = 0; i < S_PAIRS; i++)
			if (sp.fired[j].fd == sv[i][0]) {
				ck_assert_msg(sp.fired[j].mask == POLLER_READ,
				    "pair %d reported %#x, want READ", i,
				    sp.fired[j].mask);
				seen[i]++;
			}
	for (i = 0; i < S_PAIRS; i++)
		ck_assert_msg(seen[i] == 1, "pair %d reported %d times in %d "
		    "events, want once", i, seen[i], sp.nfired);
	ck_assert_msg(strstr(text, "worker 7: " S_OVERFLOWED " (1 times, 1 "
	    "in all)") != NULL, "no overflow warning; stderr: \"%s\"", text);
	poller_sigio.free(sp.st);
	for (i = 0; i < S_PAIRS; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}
END_TEST

/* Start iod on sigio with workers, and RLIMIT_SIGPENDING unless 0. */
static struct t_iod *
s_spawn(int workers, rlim_t sigpending)
{
	static const struct t_variant	 sigio = { "sigio", 1, 0 };
	struct t_variant		 v = sigio;
	struct t_opts			 o;
	struct t_iod			*iod;
	char				*conf;

	memset(&o, 0, sizeof(o));
	o.sigpending = sigpending;
	v.workers = workers;
	conf = t_conf(&v, "listen = [\"127.0.0.1:0\"];\nmode = \"upper\";\n");
	iod = t_spawn_iod(conf, &o);
	free(conf);
	return (iod);
}

/* Connect n clients to iod. */
static void
s_connect(struct s_clients *cl, struct t_iod *iod, int n)
{
	int	i;

	memset(cl, 0, sizeof(*cl));
	cl->rnd = 0x5161000 + (uint64_t)n;
	cl->in = malloc(S_MSG_MAX);
	ck_assert(cl->in != NULL);
	for (i = 0; i < n; i++) {
		cl->fd[i] = t_connect(iod->port[0]);
		ck_assert_msg(cl->fd[i] != -1, "client %d: connect: %s", i,
		    strerror(errno));
		cl->n++;
		cl->out[i] = malloc(S_MSG_MAX);
		ck_assert(cl->out[i] != NULL);
	}
}

/*
 * One round: every client sends a random message, all before any reads,
 * so that every connection turns readable at about the same moment;
 * then each must get its message back upper-cased, byte for byte.
 */
static void
s_round(struct s_clients *cl, struct t_iod *iod, int round)
{
	size_t	bad;
	ssize_t	n;
	int	i;

	for (i = 0; i < cl->n; i++) {
		cl->len[i] = 1 + (size_t)(t_rand(&cl->rnd) % S_MSG_MAX);
		t_fill_random(cl->out[i], cl->len[i], &cl->rnd);
		ck_assert_msg(t_send_all(cl->fd[i], cl->out[i], cl->len[i],
		    t_ms(5000)) == (ssize_t)cl->len[i], "round %d, client "
		    "%d: send %zu bytes: %s", round, i, cl->len[i],
		    strerror(errno));
	}
	for (i = 0; i < cl->n; i++) {
		n = t_recv_exact(cl->fd[i], cl->in, cl->len[i], t_ms(10000));
		ck_assert_msg(n == (ssize_t)cl->len[i], "round %d, client "
		    "%d: got %zd of %zu bytes back; stderr:\n%s", round, i, n,
		    cl->len[i], t_log_tail(iod));
		bad = t_mismatch(cl->out[i], cl->in, cl->len[i], 1);
		ck_assert_msg(bad == cl->len[i], "round %d, client %d, byte "
		    "%zu of %zu: sent 0x%02x, got 0x%02x", round, i, bad,
		    cl->len[i], cl->out[i][bad], cl->in[bad]);
	}
}

/* Close every client. */
static void
s_disconnect(struct s_clients *cl)
{
	int	i;

	for (i = 0; i < cl->n; i++) {
		close(cl->fd[i]);
		free(cl->out[i]);
	}
	free(cl->in);
	cl->n = 0;
}

/*
 * Proves many connections are served on real-time signals alone under
 * the usual RLIMIT_SIGPENDING: S_CONNS clients (fewer if the limit is
 * low, so that their signals fit it with room to spare), every one
 * readable at once in every round, each answered byte for byte, and the
 * queue never overflows.  With one worker and with two.
 */
START_TEST(test_many)
{
	struct s_clients	 cl;
	struct rlimit		 rl;
	struct t_iod		*iod;
	const char		*line;
	int			 n = S_CONNS, r;

	ck_assert_msg(getrlimit(RLIMIT_SIGPENDING, &rl) == 0,
	    "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 8 < (rlim_t)n)
		n = (int)(rl.rlim_cur / 8);
	ck_assert_msg(n >= 16, "RLIMIT_SIGPENDING %ju is too low to test",
	    (uintmax_t)rl.rlim_cur);
	iod = s_spawn(_i + 1, 0);
	s_connect(&cl, iod, n);
	for (r = 0; r < S_ROUNDS; r++)
		s_round(&cl, iod, r);
	s_disconnect(&cl);
	line = t_wait_log(iod, S_OVERFLOWED, 0);
	ck_assert_msg(line == NULL, "%d clients overflowed a queue of %ju: "
	    "\"%s\"", n, (uintmax_t)rl.rlim_cur, line);
	t_expect_stop(iod);
}
END_TEST

/*
 * Proves the overflow path, forced: iod runs with RLIMIT_SIGPENDING at
 * S_SIGPENDING, and S_CONNS clients all turn readable at once, round
 * after round, until the warning says the queue overflowed and every
 * descriptor was polled.  Every round, overflowed or not, is answered
 * byte for byte, one more round after the warning too, and iod stops
 * cleanly.  With one worker and with two.
 */
START_TEST(test_overflow)
{
	struct s_clients	 cl;
	struct t_iod		*iod;
	const char		*line = NULL;
	int			 r;

	iod = s_spawn(_i + 1, S_SIGPENDING);
	s_connect(&cl, iod, S_CONNS);
	for (r = 0; r < S_TRIES && line == NULL; r++) {
		s_round(&cl, iod, r);
		line = t_wait_log(iod, S_OVERFLOWED, 0);
	}
	ck_assert_msg(line != NULL, "no overflow warning after %d rounds of "
	    "%d clients with RLIMIT_SIGPENDING %d; stderr:\n%s", r, S_CONNS,
	    S_SIGPENDING, t_log_tail(iod));
	s_round(&cl, iod, r);
	s_disconnect(&cl);
	t_expect_stop(iod);
}
END_TEST

/* The sigio suite: the backend alone, then the daemon. */
Suite *
suite_sigio(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("sigio");
	tc = tcase_create("backend");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_owner);
	tcase_add_test(tc, test_notify_pipe);
	tcase_add_test(tc, test_unblocked);
	tcase_add_test(tc, test_stale);
	tcase_add_test(tc, test_overflow_backend);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_many, 0, 2);
	tcase_add_loop_test(tc, test_overflow, 0, 2);
	suite_add_tcase(s, tc);
	return (s);
}
