/*
 * The poller backends (select, poll, epoll) on socketpairs: what each
 * reports after a write, a full buffer, a changed mask, a removal and a
 * hang-up, and which descriptors each accepts.  One body per behaviour,
 * run over the table of backends.
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

#define PL_SETSIZE	64	/* descriptors below this fit at first */
#define PL_MAXFIRED	16
#define PL_SOON		1000	/* ms to wait for what is due */
#define PL_QUIET	100	/* ms to wait for what is not */
#define PL_PAIRS	8	/* socketpairs in test_many */
#define PL_FILL_MAX	100000	/* writes to fill a socket, at most */

/* Every backend, with what it says about itself. */
static const struct pl_backend {
	const struct poller	*pb_poller;
	const char		*pb_name;
	int			 pb_max_fd;
	int			 pb_edge;
} pl_backends[] = {
	{ &poller_select,	"select",	FD_SETSIZE - 1,	0 },
	{ &poller_poll,		"poll",		-1,	0 },
	{ &poller_epoll,	"epoll",	-1,	1 },
};
#define PL_NBACKENDS \
	((int)(sizeof(pl_backends) / sizeof(pl_backends[0])))

/* One backend's state in a test. */
struct pl {
	const struct poller	*p;
	void			*st;
	struct poller_event	 fired[PL_MAXFIRED];
	int			 nfired;
};

static void	 pl_open(struct pl *, int);
static void	 pl_close(struct pl *);
static void	 pl_pair(int *);
static void	 pl_set(struct pl *, int, int, int);
static int	 pl_wait(struct pl *, int, int);
static int	 pl_found(const struct pl *, int);
static void	 pl_send(int);
static void	 pl_drain(int);
static size_t	 pl_fill(int);
static const char *pl_mask(int);

/* Create backend i's state; fail the test with its cause otherwise. */
static void
pl_open(struct pl *pl, int i)
{
	char	cause[256] = "";

	memset(pl, 0, sizeof(*pl));
	pl->p = pl_backends[i].pb_poller;
	pl->st = pl->p->create(PL_SETSIZE, cause, sizeof(cause));
	ck_assert_msg(pl->st != NULL, "%s: create: %s", pl->p->name, cause);
}

/* Free the backend's state. */
static void
pl_close(struct pl *pl)
{
	pl->p->free(pl->st);
	pl->st = NULL;
}

/* A nonblocking stream socketpair. */
static void
pl_pair(int *sv)
{
	ck_assert_msg(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
}

/* Change fd's mask from oldmask to newmask; fail the test on refusal. */
static void
pl_set(struct pl *pl, int fd, int oldmask, int newmask)
{
	int	r;

	r = pl->p->set(pl->st, fd, oldmask, newmask);
	ck_assert_msg(r == 0, "%s: set fd %d from %s to %s returned %d: %s",
	    pl->p->name, fd, pl_mask(oldmask), pl_mask(newmask), r,
	    strerror(errno));
}

/*
 * Wait once, up to timeout_ms; keep what fired in pl.  Return the mask
 * reported for fd, 0 if it was not reported.
 */
static int
pl_wait(struct pl *pl, int fd, int timeout_ms)
{
	pl->nfired = pl->p->wait(pl->st, timeout_ms, pl->fired, PL_MAXFIRED);
	ck_assert_msg(pl->nfired >= 0 && pl->nfired <= PL_MAXFIRED,
	    "%s: wait returned %d", pl->p->name, pl->nfired);
	return (pl_found(pl, fd));
}

/* Return the mask the last wait reported for fd, 0 if none. */
static int
pl_found(const struct pl *pl, int fd)
{
	int	i, mask = 0;

	for (i = 0; i < pl->nfired; i++)
		if (pl->fired[i].fd == fd) {
			ck_assert_msg(mask == 0, "%s: fd %d reported twice "
			    "(%s, then %s)", pl->p->name, fd, pl_mask(mask),
			    pl_mask(pl->fired[i].mask));
			mask = pl->fired[i].mask;
		}
	return (mask);
}

/* Write one byte to fd. */
static void
pl_send(int fd)
{
	ssize_t	n;

	n = write(fd, "x", 1);
	ck_assert_msg(n == 1, "write fd %d returned %zd: %s", fd, n,
	    strerror(errno));
}

/* Read everything fd has now. */
static void
pl_drain(int fd)
{
	char	buf[65536];
	ssize_t	n;
	int	i;

	for (i = 0; i < PL_FILL_MAX; i++)
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;
	ck_assert_msg(i < PL_FILL_MAX, "fd %d still readable after %d "
	    "reads", fd, i);
}

/* Write to fd until it takes no more; return how much it took. */
static size_t
pl_fill(int fd)
{
	char	buf[4096];
	size_t	total = 0;
	ssize_t	n = 0;
	int	i;

	memset(buf, 'f', sizeof(buf));
	for (i = 0; i < PL_FILL_MAX; i++) {
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
pl_mask(int mask)
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
	const struct pl_backend	*b = &pl_backends[_i];

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
 * once, and again only when more arrives.
 */
START_TEST(test_read)
{
	struct pl	pl;
	int		sv[2], mask;

	pl_open(&pl, _i);
	pl_pair(sv);
	pl_set(&pl, sv[0], 0, POLLER_READ);
	mask = pl_wait(&pl, sv[0], 0);
	ck_assert_msg(pl.nfired == 0, "%s: %d events before any write "
	    "(fd %d: %s)", pl.p->name, pl.nfired, sv[0], pl_mask(mask));

	pl_send(sv[1]);
	mask = pl_wait(&pl, sv[0], PL_SOON);
	ck_assert_msg(mask == POLLER_READ && pl.nfired == 1, "%s: after a "
	    "write, fd %d reported %s in %d events, want R alone",
	    pl.p->name, sv[0], pl_mask(mask), pl.nfired);

	mask = pl_wait(&pl, sv[0], pl.p->edge_triggered ? PL_QUIET : 0);
	if (pl.p->edge_triggered) {
		ck_assert_msg(mask == 0, "%s: READ reported twice for one "
		    "write: %s", pl.p->name, pl_mask(mask));
		pl_send(sv[1]);
		mask = pl_wait(&pl, sv[0], PL_SOON);
		ck_assert_msg(mask == POLLER_READ, "%s: a second write "
		    "reported %s, want R", pl.p->name, pl_mask(mask));
	} else
		ck_assert_msg(mask == POLLER_READ, "%s: an unread byte "
		    "reported %s the second time, want R", pl.p->name,
		    pl_mask(mask));

	pl_drain(sv[0]);
	mask = pl_wait(&pl, sv[0], PL_QUIET);
	ck_assert_msg(mask == 0, "%s: fd %d reported %s after it was read "
	    "empty", pl.p->name, sv[0], pl_mask(mask));
	pl_close(&pl);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves WRITE readiness: an empty socket is writable, a full one is not,
 * and it is reported writable again once the peer has read it empty.
 */
START_TEST(test_write)
{
	struct pl	pl;
	size_t		filled;
	int		sv[2], mask;

	pl_open(&pl, _i);
	pl_pair(sv);
	pl_set(&pl, sv[0], 0, POLLER_WRITE);
	mask = pl_wait(&pl, sv[0], PL_SOON);
	ck_assert_msg(mask == POLLER_WRITE, "%s: an empty socket reported %s, "
	    "want W", pl.p->name, pl_mask(mask));

	filled = pl_fill(sv[0]);
	mask = pl_wait(&pl, sv[0], PL_QUIET);
	ck_assert_msg(mask == 0, "%s: a socket full after %zu bytes reported "
	    "%s", pl.p->name, filled, pl_mask(mask));

	pl_drain(sv[1]);
	mask = pl_wait(&pl, sv[0], PL_SOON);
	ck_assert_msg(mask == POLLER_WRITE, "%s: after the peer read %zu "
	    "bytes, fd %d reported %s, want W", pl.p->name, filled, sv[0],
	    pl_mask(mask));
	pl_close(&pl);
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
	struct pl		 pl;
	size_t			 i;
	int			 sv[2], mask, old = 0;

	pl_open(&pl, _i);
	pl_pair(sv);
	pl_send(sv[1]);
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		pl_set(&pl, sv[0], old, masks[i]);
		old = masks[i];
		mask = pl_wait(&pl, sv[0], PL_SOON);
		ck_assert_msg(mask == masks[i], "%s: step %zu watches %s, "
		    "reported %s", pl.p->name, i, pl_mask(masks[i]),
		    pl_mask(mask));
	}
	pl_close(&pl);
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
	struct pl	pl;
	int		sv[2], mask;

	pl_open(&pl, _i);
	pl_pair(sv);
	pl_set(&pl, sv[0], 0, POLLER_READ | POLLER_WRITE);
	pl_send(sv[1]);
	mask = pl_wait(&pl, sv[0], PL_SOON);
	ck_assert_msg(mask == (POLLER_READ | POLLER_WRITE), "%s: before "
	    "removal fd %d reported %s, want RW", pl.p->name, sv[0],
	    pl_mask(mask));

	pl_set(&pl, sv[0], POLLER_READ | POLLER_WRITE, 0);
	pl_send(sv[1]);
	mask = pl_wait(&pl, sv[0], PL_QUIET);
	ck_assert_msg(pl.nfired == 0, "%s: %d events after removal (fd %d: "
	    "%s)", pl.p->name, pl.nfired, sv[0], pl_mask(mask));
	pl_set(&pl, sv[0], 0, 0);
	mask = pl_wait(&pl, sv[0], 0);
	ck_assert_msg(pl.nfired == 0, "%s: %d events after a second removal "
	    "(fd %d: %s)", pl.p->name, pl.nfired, sv[0], pl_mask(mask));

	pl_set(&pl, sv[0], 0, POLLER_READ);
	mask = pl_wait(&pl, sv[0], PL_SOON);
	ck_assert_msg(mask == POLLER_READ, "%s: watched again, fd %d "
	    "reported %s, want R", pl.p->name, sv[0], pl_mask(mask));
	pl_close(&pl);
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
	struct pl	pl;
	int		sv[PL_PAIRS][2], seen[PL_PAIRS], i, j;

	pl_open(&pl, _i);
	for (i = 0; i < PL_PAIRS; i++) {
		pl_pair(sv[i]);
		pl_set(&pl, sv[i][0], 0, POLLER_READ);
	}
	for (i = 0; i < PL_PAIRS; i += 2)
		pl_set(&pl, sv[i][0], POLLER_READ, 0);
	for (i = 0; i < PL_PAIRS; i++)
		pl_send(sv[i][1]);

	memset(seen, 0, sizeof(seen));
	pl_wait(&pl, -1, PL_SOON);
	for (j = 0; j < pl.nfired; j++)
		for (i = 0; i < PL_PAIRS; i++)
			if (pl.fired[j].fd == sv[i][0]) {
				ck_assert_msg(pl.fired[j].mask == POLLER_READ,
				    "%s: pair %d reported %s, want R",
				    pl.p->name, i, pl_mask(pl.fired[j].mask));
				seen[i]++;
			}
	ck_assert_msg(pl.nfired == PL_PAIRS / 2, "%s: %d events, want %d",
	    pl.p->name, pl.nfired, PL_PAIRS / 2);
	for (i = 0; i < PL_PAIRS; i++)
		ck_assert_msg(seen[i] == i % 2, "%s: pair %d (%s) reported %d "
		    "times", pl.p->name, i, i % 2 ? "watched" : "removed",
		    seen[i]);
	pl_close(&pl);
	for (i = 0; i < PL_PAIRS; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}
END_TEST

/*
 * Proves a hang-up is seen: when the peer closes, every backend reports
 * READ (the engine reads the end of input), and edge-triggered epoll
 * also flags POLLER_HUP, since its edge may come with the last data.
 * poll and select report only what is watched; epoll passes the kernel's
 * EPOLLHUP on as WRITE as well, which is left unchecked here.
 */
START_TEST(test_hangup)
{
	struct pl	pl;
	int		sv[2], mask, want;

	pl_open(&pl, _i);
	pl_pair(sv);
	pl_set(&pl, sv[0], 0, POLLER_READ);
	close(sv[1]);
	mask = pl_wait(&pl, sv[0], PL_SOON);
	want = POLLER_READ | (pl.p->edge_triggered ? POLLER_HUP : 0);
	if (pl.p->edge_triggered)
		ck_assert_msg((mask & want) == want, "%s: after the peer "
		    "closed fd %d reported %s, want at least %s", pl.p->name,
		    sv[0], pl_mask(mask), pl_mask(want));
	else
		ck_assert_msg(mask == want, "%s: after the peer closed fd %d "
		    "reported %s, want %s", pl.p->name, sv[0], pl_mask(mask),
		    pl_mask(want));
	pl_close(&pl);
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
	struct pl	pl;
	int		sv[2], before, during, after;

	pl_pair(sv);
	before = t_count_fds(getpid());
	pl_open(&pl, _i);
	pl_set(&pl, sv[0], 0, POLLER_READ | POLLER_WRITE);
	pl_set(&pl, sv[1], 0, POLLER_READ);
	during = t_count_fds(getpid());
	pl_close(&pl);
	after = t_count_fds(getpid());
	ck_assert_msg(before > 0 && after == before, "%s: %d descriptors "
	    "before create, %d while watching, %d after free", pl.p->name,
	    before, during, after);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Proves the FD_SETSIZE rule: select refuses a descriptor at or above
 * FD_SETSIZE (EINVAL: FD_SET there would write past the set) while it
 * takes FD_SETSIZE - 1, its max_fd, and reports it; poll and epoll take
 * the large one too and report both.
 */
START_TEST(test_fd_setsize)
{
	const struct pl_backend	*b = &pl_backends[_i];
	struct rlimit		 rl;
	struct pl		 pl;
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
	pl_pair(sv);
	pl_pair(sw);
	ck_assert_msg(dup2(sv[0], top) == top && dup2(sw[0], big) == big,
	    "dup2 to %d and %d: %s", top, big, strerror(errno));
	close(sv[0]);
	close(sw[0]);

	pl_open(&pl, _i);
	pl_set(&pl, top, 0, POLLER_READ);
	errno = 0;
	r = pl.p->set(pl.st, big, 0, POLLER_READ);
	if (b->pb_max_fd != -1) {
		ck_assert_msg(r == -1 && errno == EINVAL, "%s: set fd %d "
		    "returned %d (%s), want -1 (EINVAL)", pl.p->name, big, r,
		    strerror(errno));
		errno = 0;
		r = pl.p->set(pl.st, FD_SETSIZE, 0, POLLER_READ);
		ck_assert_msg(r == -1 && errno == EINVAL, "%s: set fd %d "
		    "returned %d (%s), want -1 (EINVAL)", pl.p->name,
		    FD_SETSIZE, r, strerror(errno));
		want = 0;
	} else {
		ck_assert_msg(r == 0, "%s: set fd %d returned %d: %s",
		    pl.p->name, big, r, strerror(errno));
		want = POLLER_READ;
	}

	pl_send(sv[1]);
	pl_send(sw[1]);
	mask = pl_wait(&pl, top, PL_SOON);
	ck_assert_msg(mask == POLLER_READ, "%s: fd %d reported %s, want R",
	    pl.p->name, top, pl_mask(mask));
	if (want != 0 && pl_found(&pl, big) == 0)
		pl_wait(&pl, big, PL_SOON);
	mask = pl_found(&pl, big);
	ck_assert_msg(mask == want, "%s: fd %d reported %s, want %s",
	    pl.p->name, big, pl_mask(mask), pl_mask(want));
	pl_close(&pl);
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
	tcase_add_loop_test(tc, test_identity, 0, PL_NBACKENDS);
	tcase_add_loop_test(tc, test_read, 0, PL_NBACKENDS);
	tcase_add_loop_test(tc, test_write, 0, PL_NBACKENDS);
	tcase_add_loop_test(tc, test_mask_change, 0, PL_NBACKENDS);
	tcase_add_loop_test(tc, test_remove, 0, PL_NBACKENDS);
	tcase_add_loop_test(tc, test_many, 0, PL_NBACKENDS);
	tcase_add_loop_test(tc, test_hangup, 0, PL_NBACKENDS);
	tcase_add_loop_test(tc, test_free, 0, PL_NBACKENDS);
	tcase_add_loop_test(tc, test_fd_setsize, 0, PL_NBACKENDS);
	suite_add_tcase(s, tc);
	return (s);
}
