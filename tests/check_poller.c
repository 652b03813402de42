/*
 * The poller backends (select, poll, epoll both ways, busy, sigio) on
 * socketpairs: what each reports after a write, a full buffer, a changed
 * mask, a removal, a half-close and a hang-up, and which descriptors each
 * accepts.  One body per behaviour, run over the table of backends.  The
 * busy backend does not look: it reports every watched descriptor, at
 * once, whether it is ready or not.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"
#include "poller.h"

#define PT_SETSIZE	64	/* descriptors below this fit at first */
#define PT_MAXFIRED	16
#define PT_SOON		1000	/* ms to wait for what is due */
#define PT_QUIET	100	/* ms to wait for what is not */
#define PT_PAIRS	8	/* socketpairs in test_many */
#define PT_FILL_MAX	100000	/* writes to fill a socket, at most */
#define PT_RETRIES	10	/* waits that must stay quiet in a row */

/* Every backend, with what it says about itself. */
static const struct pt_backend {
	const struct poller	*pb_poller;
	const char		*pb_name;
	int			 pb_max_fd;
	int			 pb_edge;
	int			 pb_looks;	/* waits until something is ready */
} pt_backends[] = {
	{ &poller_select,	"select",	FD_SETSIZE - 1,	0,	1 },
	{ &poller_poll,		"poll",		-1,	0,	1 },
	{ &poller_epoll,	"epoll",	-1,	1,	1 },
	{ &poller_epoll_lt,	"epoll-lt",	-1,	0,	1 },
	{ &poller_busy,		"busypoll",	-1,	0,	0 },
	{ &poller_sigio,	"sigio",	-1,	1,	1 },
};
#define PT_NBACKENDS \
	((int)(sizeof(pt_backends) / sizeof(pt_backends[0])))

/* One backend's state in a test. */
struct pt {
	const struct poller	*p;
	void			*st;
	struct poller_event	 fired[PT_MAXFIRED];
	int			 nfired;
	int			 looks;		/* pb_looks */
};

static void	 pt_open(struct pt *, int);
static void	 pt_close(struct pt *);
static void	 pt_pair(int *);
static void	 pt_set(struct pt *, int, int, int);
static int	 pt_wait(struct pt *, int, int);
static int	 pt_found(const struct pt *, int);
static void	 pt_not_ready(struct pt *, int, int, int, const char *);
static void	 pt_send(int);
static void	 pt_drain(int);
static size_t	 pt_fill(int);
static const char *pt_mask(int);

/* Create backend i's state; fail the test with its cause otherwise. */
static void
pt_open(struct pt *pt, int i)
{
	char	cause[256] = "";

	memset(pt, 0, sizeof(*pt));
	poller_sigio_block();	/* as main() does, for sigio's signals */
	pt->p = pt_backends[i].pb_poller;
	pt->looks = pt_backends[i].pb_looks;
	pt->st = pt->p->create(PT_SETSIZE, cause, sizeof(cause));
	ck_assert_msg(pt->st != NULL, "%s: create: %s", pt->p->name, cause);
}

/* Free the backend's state. */
static void
pt_close(struct pt *pt)
{
	pt->p->free(pt->st);
	pt->st = NULL;
}

/* A nonblocking stream socketpair. */
static void
pt_pair(int *sv)
{
	ck_assert_msg(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
}

/* Change fd's mask from oldmask to newmask; fail the test on refusal. */
static void
pt_set(struct pt *pt, int fd, int oldmask, int newmask)
{
	int	r;

	r = pt->p->set(pt->st, fd, oldmask, newmask);
	ck_assert_msg(r == 0, "%s: set fd %d from %s to %s returned %d: %s",
	    pt->p->name, fd, pt_mask(oldmask), pt_mask(newmask), r,
	    strerror(errno));
}

/*
 * Wait once, up to timeout_ms; keep what fired in pt.  Return the mask
 * reported for fd, 0 if it was not reported.
 */
static int
pt_wait(struct pt *pt, int fd, int timeout_ms)
{
	pt->nfired = pt->p->wait(pt->st, timeout_ms, pt->fired, PT_MAXFIRED);
	ck_assert_msg(pt->nfired >= 0 && pt->nfired <= PT_MAXFIRED,
	    "%s: wait returned %d", pt->p->name, pt->nfired);
	return (pt_found(pt, fd));
}

/* Return the mask the last wait reported for fd, 0 if none. */
static int
pt_found(const struct pt *pt, int fd)
{
	int	i, mask = 0;

	for (i = 0; i < pt->nfired; i++)
		if (pt->fired[i].fd == fd) {
			ck_assert_msg(mask == 0, "%s: fd %d reported twice "
			    "(%s, then %s)", pt->p->name, fd, pt_mask(mask),
			    pt_mask(pt->fired[i].mask));
			mask = pt->fired[i].mask;
		}
	return (mask);
}

/*
 * Wait up to timeout_ms with fd, watched for watched, not ready for it.
 * A backend that looks reports nothing for fd, and sleeps for the whole
 * timeout when fd is all it watches (a wait that returns early with
 * nothing to say is a wait that spins); the busy one reports fd anyway,
 * for exactly what is watched, and at once.
 */
static void
pt_not_ready(struct pt *pt, int fd, int watched, int timeout_ms,
    const char *what)
{
	int64_t	t0 = t_now_ms(), took;
	int	mask;

	mask = pt_wait(pt, fd, timeout_ms);
	took = t_now_ms() - t0;
	if (pt->looks) {
		ck_assert_msg(mask == 0, "%s: %s: fd %d reported %s",
		    pt->p->name, what, fd, pt_mask(mask));
		ck_assert_msg(pt->nfired > 0 || took >= timeout_ms / 2,
		    "%s: %s: a wait of %d ms returned empty after %jd ms",
		    pt->p->name, what, timeout_ms, (intmax_t)took);
		return;
	}
	ck_assert_msg(mask == watched, "%s: %s: fd %d reported %s, want %s "
	    "(what is watched)", pt->p->name, what, fd, pt_mask(mask),
	    pt_mask(watched));
	ck_assert_msg(took < PT_QUIET, "%s: %s: a wait of %d ms took %jd ms, "
	    "want at once", pt->p->name, what, timeout_ms, (intmax_t)took);
}

/* Write one byte to fd. */
static void
pt_send(int fd)
{
	ssize_t	n;

	n = write(fd, "x", 1);
	ck_assert_msg(n == 1, "write fd %d returned %zd: %s", fd, n,
	    strerror(errno));
}

/* Read everything fd has now. */
static void
pt_drain(int fd)
{
	char	buf[65536];
	ssize_t	n;
	int	i;

	for (i = 0; i < PT_FILL_MAX; i++)
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;
	ck_assert_msg(i < PT_FILL_MAX, "fd %d still readable after %d "
	    "reads", fd, i);
}

/* Write to fd until it takes no more; return how much it took. */
static size_t
pt_fill(int fd)
{
	char	buf[4096];
	size_t	total = 0;
	ssize_t	n = 0;
	int	i;

	memset(buf, 'f', sizeof(buf));
	for (i = 0; i < PT_FILL_MAX; i++) {
		if ((n = write(fd, buf, sizeof(buf))) <= 0)
			break;
		total += (size_t)n;
	}
	ck_assert_msg(n == -1 && errno == EAGAIN, "fd %d not full after %zu "
	    "bytes in %d writes (last returned %zd: %s)", fd, total, i, n,
	    strerror(errno));
	return (total);
}

/* Name a mask for assertion messages; four names may be used at once. */
static const char *
pt_mask(int mask)
{
	static char	names[4][8];
	static int	next;
	char		*buf = names[next++ % 4];

	snprintf(buf, sizeof(names[0]), "%s%s%s%s", mask == 0 ? "0" : "",
	    (mask & POLLER_READ) ? "R" : "", (mask & POLLER_WRITE) ? "W" : "",
	    (mask & POLLER_HUP) ? "H" : "");
	return (buf);
}

/*
 * Proves each backend has the name, descriptor limit and triggering the
 * engine expects of it.
 */
START_TEST(test_identity)
{
	const struct pt_backend	*b = &pt_backends[_i];

	ck_assert_msg(strcmp(b->pb_poller->name, b->pb_name) == 0,
	    "backend %d is named \"%s\", want \"%s\"", _i,
	    b->pb_poller->name, b->pb_name);
	ck_assert_msg(b->pb_poller->max_fd == b->pb_max_fd,
	    "%s: max_fd %d, want %d", b->pb_name, b->pb_poller->max_fd,
	    b->pb_max_fd);
	ck_assert_msg(b->pb_poller->edge_triggered == b->pb_edge,
	    "%s: edge_triggered %d, want %d", b->pb_name,
	    b->pb_poller->edge_triggered, b->pb_edge);
}
END_TEST

/*
 * Proves READ readiness: nothing before the peer writes, READ (and only
 * READ) after.  Level-triggered backends report it again while the byte
 * is unread and stop once it is read; edge-triggered epoll reports it
 * once, and again only when more arrives.  The busy backend reports READ
 * throughout, without waiting.
 */
START_TEST(test_read)
{
	struct pt	pt;
	int		sv[2], mask;

	pt_open(&pt, _i);
	pt_pair(sv);
	pt_set(&pt, sv[0], 0, POLLER_READ);
	pt_not_ready(&pt, sv[0], POLLER_READ, 0, "before any write");
	ck_assert_msg(pt.nfired == !pt.looks, "%s: %d events before any "
	    "write", pt.p->name, pt.nfired);

	pt_send(sv[1]);
	mask = pt_wait(&pt, sv[0], PT_SOON);
	ck_assert_msg(mask == POLLER_READ && pt.nfired == 1, "%s: after a "
	    "write, fd %d reported %s in %d events, want R alone",
	    pt.p->name, sv[0], pt_mask(mask), pt.nfired);

	mask = pt_wait(&pt, sv[0], pt.p->edge_triggered ? PT_QUIET : 0);
	if (pt.p->edge_triggered) {
		ck_assert_msg(mask == 0, "%s: READ reported twice for one "
		    "write: %s", pt.p->name, pt_mask(mask));
		pt_send(sv[1]);
		mask = pt_wait(&pt, sv[0], PT_SOON);
		ck_assert_msg(mask == POLLER_READ, "%s: a second write "
		    "reported %s, want R", pt.p->name, pt_mask(mask));
	} else
		ck_assert_msg(mask == POLLER_READ, "%s: an unread byte "
		    "reported %s the second time, want R", pt.p->name,
		    pt_mask(mask));

	pt_drain(sv[0]);
	pt_not_ready(&pt, sv[0], POLLER_READ, PT_QUIET, "read empty");
	pt_close(&pt);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves WRITE readiness: an empty socket is writable, a full one is not
 * (though the busy backend says it is), and it is reported writable
 * again once the peer has read it empty.
 */
START_TEST(test_write)
{
	struct pt	pt;
	size_t		filled;
	int		sv[2], mask;

	pt_open(&pt, _i);
	pt_pair(sv);
	pt_set(&pt, sv[0], 0, POLLER_WRITE);
	mask = pt_wait(&pt, sv[0], PT_SOON);
	ck_assert_msg(mask == POLLER_WRITE, "%s: an empty socket reported %s, "
	    "want W", pt.p->name, pt_mask(mask));

	filled = pt_fill(sv[0]);
	pt_not_ready(&pt, sv[0], POLLER_WRITE, PT_QUIET, "full");

	pt_drain(sv[1]);
	mask = pt_wait(&pt, sv[0], PT_SOON);
	ck_assert_msg(mask == POLLER_WRITE, "%s: after the peer read %zu "
	    "bytes, fd %d reported %s, want W", pt.p->name, filled, sv[0],
	    pt_mask(mask));
	pt_close(&pt);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves that changing the mask changes what is reported: a socket that
 * is both readable and writable reports exactly the events watched,
 * through all six changes between READ, WRITE and both.
 */
START_TEST(test_mask_change)
{
	static const int	 masks[] = {
		POLLER_READ, POLLER_READ | POLLER_WRITE, POLLER_WRITE,
		POLLER_READ, POLLER_WRITE, POLLER_READ | POLLER_WRITE,
		POLLER_READ
	};
	struct pt		 pt;
	size_t			 i;
	int			 sv[2], mask, old = 0;

	pt_open(&pt, _i);
	pt_pair(sv);
	pt_send(sv[1]);
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		pt_set(&pt, sv[0], old, masks[i]);
		old = masks[i];
		mask = pt_wait(&pt, sv[0], PT_SOON);
		ck_assert_msg(mask == masks[i], "%s: step %zu watches %s, "
		    "reported %s", pt.p->name, i, pt_mask(masks[i]),
		    pt_mask(mask));
	}
	pt_close(&pt);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves removal: once the mask is set to 0 nothing is reported for the
 * descriptor, whatever the peer does; removing it again is harmless; and
 * it can be watched again afterwards.
 */
START_TEST(test_remove)
{
	struct pt	pt;
	int		sv[2], mask;

	pt_open(&pt, _i);
	pt_pair(sv);
	pt_set(&pt, sv[0], 0, POLLER_READ | POLLER_WRITE);
	pt_send(sv[1]);
	mask = pt_wait(&pt, sv[0], PT_SOON);
	ck_assert_msg(mask == (POLLER_READ | POLLER_WRITE), "%s: before "
	    "removal fd %d reported %s, want RW", pt.p->name, sv[0],
	    pt_mask(mask));

	pt_set(&pt, sv[0], POLLER_READ | POLLER_WRITE, 0);
	pt_send(sv[1]);
	mask = pt_wait(&pt, sv[0], PT_QUIET);
	ck_assert_msg(pt.nfired == 0, "%s: %d events after removal (fd %d: "
	    "%s)", pt.p->name, pt.nfired, sv[0], pt_mask(mask));
	pt_set(&pt, sv[0], 0, 0);
	mask = pt_wait(&pt, sv[0], 0);
	ck_assert_msg(pt.nfired == 0, "%s: %d events after a second removal "
	    "(fd %d: %s)", pt.p->name, pt.nfired, sv[0], pt_mask(mask));

	pt_set(&pt, sv[0], 0, POLLER_READ);
	mask = pt_wait(&pt, sv[0], PT_SOON);
	ck_assert_msg(mask == POLLER_READ, "%s: watched again, fd %d "
	    "reported %s, want R", pt.p->name, sv[0], pt_mask(mask));
	pt_close(&pt);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves that removing some descriptors leaves the others watched (poll
 * moves its last entry into the hole): with every other pair removed and
 * every peer written to, exactly the pairs still watched are reported.
 */
START_TEST(test_many)
{
	struct pt	pt;
	int		sv[PT_PAIRS][2], seen[PT_PAIRS], i, j;

	pt_open(&pt, _i);
	for (i = 0; i < PT_PAIRS; i++) {
		pt_pair(sv[i]);
		pt_set(&pt, sv[i][0], 0, POLLER_READ);
	}
	for (i = 0; i < PT_PAIRS; i += 2)
		pt_set(&pt, sv[i][0], POLLER_READ, 0);
	for (i = 0; i < PT_PAIRS; i++)
		pt_send(sv[i][1]);

	memset(seen, 0, sizeof(seen));
	pt_wait(&pt, -1, PT_SOON);
	for (j = 0; j < pt.nfired; j++)
		for (i = 0; i < PT_PAIRS; i++)
			if (pt.fired[j].fd == sv[i][0]) {
				ck_assert_msg(pt.fired[j].mask == POLLER_READ,
				    "%s: pair %d reported %s, want R",
				    pt.p->name, i, pt_mask(pt.fired[j].mask));
				seen[i]++;
			}
	ck_assert_msg(pt.nfired == PT_PAIRS / 2, "%s: %d events, want %d",
	    pt.p->name, pt.nfired, PT_PAIRS / 2);
	for (i = 0; i < PT_PAIRS; i++)
		ck_assert_msg(seen[i] == i % 2, "%s: pair %d (%s) reported %d "
		    "times", pt.p->name, i, i % 2 ? "watched" : "removed",
		    seen[i]);
	pt_close(&pt);
	for (i = 0; i < PT_PAIRS; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}
END_TEST

/*
 * Proves a half-closed peer does not keep a wait firing.  Once the peer
 * has shut down its sending side, a descriptor watched for READ reports
 * READ (the end of input), and goes on reporting it under a level
 * trigger.  Watched for WRITE alone with its buffer full, as iod watches
 * a connection that drains what it owes to a client that neither sends
 * nor reads, a backend that looks reports nothing, wait after wait:
 * level-triggered epoll asks for EPOLLRDHUP only while reading, or the
 * peer's shutdown would be reported for ever.  (Edge-triggered epoll may
 * report the changed mask once.)  When the peer reads, WRITE comes.
 */
START_TEST(test_half_close)
{
	struct pt	pt;
	int		sv[2], mask, i;

	pt_open(&pt, _i);
	pt_pair(sv);
	pt_set(&pt, sv[0], 0, POLLER_READ);
	ck_assert_msg(shutdown(sv[1], SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	mask = pt_wait(&pt, sv[0], PT_SOON);
	ck_assert_msg(mask & POLLER_READ, "%s: after the peer shut down, fd "
	    "%d reported %s, want R", pt.p->name, sv[0], pt_mask(mask));
	pt_drain(sv[0]);
	if (!pt.p->edge_triggered) {
		mask = pt_wait(&pt, sv[0], 0);
		ck_assert_msg(mask == POLLER_READ, "%s: the end of input, "
		    "read, reported %s, want R again", pt.p->name,
		    pt_mask(mask));
	}

	pt_fill(sv[0]);
	pt_set(&pt, sv[0], POLLER_READ, POLLER_WRITE);
	if (pt.p->edge_triggered)
		(void)pt_wait(&pt, sv[0], 0);
	for (i = 0; i < PT_RETRIES; i++)
		pt_not_ready(&pt, sv[0], POLLER_WRITE, i == 0 ? PT_QUIET : 0,
		    "full, watched for W, peer half-closed");

	pt_drain(sv[1]);
	mask = pt_wait(&pt, sv[0], PT_SOON);
	/* Edge-triggered, the shutdown may come with it: R and H. */
	ck_assert_msg((pt.p->edge_triggered ? mask & POLLER_WRITE : mask) ==
	    POLLER_WRITE, "%s: after the peer read, fd %d reported %s, want "
	    "W", pt.p->name, sv[0], pt_mask(mask));
	pt_close(&pt);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves a hang-up is seen: when the peer closes, every backend reports
 * READ (the engine reads the end of input), and edge-triggered epoll
 * also flags POLLER_HUP, since its edge may come with the last data.
 * The level-triggered backends report only what is watched; edge-
 * triggered epoll passes the kernel's EPOLLHUP on as WRITE as well,
 * which is left unchecked here.
 */
START_TEST(test_hangup)
{
	struct pt	pt;
	int		sv[2], mask, want;

	pt_open(&pt, _i);
	pt_pair(sv);
	pt_set(&pt, sv[0], 0, POLLER_READ);
	close(sv[1]);
	mask = pt_wait(&pt, sv[0], PT_SOON);
	want = POLLER_READ | (pt.p->edge_triggered ? POLLER_HUP : 0);
	if (pt.p->edge_triggered)
		ck_assert_msg((mask & want) == want, "%s: after the peer "
		    "closed fd %d reported %s, want at least %s", pt.p->name,
		    sv[0], pt_mask(mask), pt_mask(want));
	else
		ck_assert_msg(mask == want, "%s: after the peer closed fd %d "
		    "reported %s, want %s", pt.p->name, sv[0], pt_mask(mask),
		    pt_mask(want));
	pt_close(&pt);
	close(sv[0]);
}
END_TEST

/*
 * Proves free releases everything, with descriptors still watched: the
 * test's open descriptors are back to their count before create (epoll
 * holds one), and the sanitizer build finds no leak.
 */
START_TEST(test_free)
{
	struct pt	pt;
	int		sv[2], before, during, after;

	pt_pair(sv);
	before = t_count_fds(getpid());
	pt_open(&pt, _i);
	pt_set(&pt, sv[0], 0, POLLER_READ | POLLER_WRITE);
	pt_set(&pt, sv[1], 0, POLLER_READ);
	during = t_count_fds(getpid());
	pt_close(&pt);
	after = t_count_fds(getpid());
	ck_assert_msg(before > 0 && after == before, "%s: %d descriptors "
	    "before create, %d while watching, %d after free", pt.p->name,
	    before, during, after);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves the FD_SETSIZE rule: select refuses a descriptor at or above
 * FD_SETSIZE (EINVAL: FD_SET there would write past the set) while it
 * takes FD_SETSIZE - 1, its max_fd, and reports it; the others take the
 * large one too and report both.
 */
START_TEST(test_fd_setsize)
{
	const struct pt_backend	*b = &pt_backends[_i];
	struct rlimit		 rl;
	struct pt		 pt;
	int			 sv[2], sw[2], top, big, r, mask, want;

	top = FD_SETSIZE - 1;
	big = FD_SETSIZE + 5;
	ck_assert_msg(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit: %s",
	    strerror(errno));
	if (rl.rlim_cur <= (rlim_t)big) {
		ck_assert_msg(rl.rlim_max > (rlim_t)big, "hard RLIMIT_NOFILE "
		    "%ju leaves no descriptor %d", (uintmax_t)rl.rlim_max,
		    big);
		rl.rlim_cur = (rlim_t)big + 1;
		ck_assert_msg(setrlimit(RLIMIT_NOFILE, &rl) == 0,
		    "setrlimit %ju: %s", (uintmax_t)rl.rlim_cur,
		    strerror(errno));
	}
	pt_pair(sv);
	pt_pair(sw);
	ck_assert_msg(dup2(sv[0], top) == top && dup2(sw[0], big) == big,
	    "dup2 to %d and %d: %s", top, big, strerror(errno));
	close(sv[0]);
	close(sw[0]);

	pt_open(&pt, _i);
	pt_set(&pt, top, 0, POLLER_READ);
	errno = 0;
	r = pt.p->set(pt.st, big, 0, POLLER_READ);
	if (b->pb_max_fd != -1) {
		ck_assert_msg(r == -1 && errno == EINVAL, "%s: set fd %d "
		    "returned %d (%s), want -1 (EINVAL)", pt.p->name, big, r,
		    strerror(errno));
		errno = 0;
		r = pt.p->set(pt.st, FD_SETSIZE, 0, POLLER_READ);
		ck_assert_msg(r == -1 && errno == EINVAL, "%s: set fd %d "
		    "returned %d (%s), want -1 (EINVAL)", pt.p->name,
		    FD_SETSIZE, r, strerror(errno));
		want = 0;
	} else {
		ck_assert_msg(r == 0, "%s: set fd %d returned %d: %s",
		    pt.p->name, big, r, strerror(errno));
		want = POLLER_READ;
	}

	pt_send(sv[1]);
	pt_send(sw[1]);
	mask = pt_wait(&pt, top, PT_SOON);
	ck_assert_msg(mask == POLLER_READ, "%s: fd %d reported %s, want R",
	    pt.p->name, top, pt_mask(mask));
	if (want != 0 && pt_found(&pt, big) == 0)
		pt_wait(&pt, big, PT_SOON);
	mask = pt_found(&pt, big);
	ck_assert_msg(mask == want, "%s: fd %d reported %s, want %s",
	    pt.p->name, big, pt_mask(mask), pt_mask(want));
	pt_close(&pt);
	close(top);
	close(big);
	close(sv[1]);
	close(sw[1]);
}
END_TEST

/* The poller suite: every behaviour over every backend. */
Suite *
suite_poller(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("poller");
	tc = tcase_create("backends");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_identity, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_read, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_write, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_mask_change, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_remove, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_many, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_half_close, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_hangup, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_free, 0, PT_NBACKENDS);
	tcase_add_loop_test(tc, test_fd_setsize, 0, PT_NBACKENDS);
	suite_add_tcase(s, tc);
	return (s);
}
