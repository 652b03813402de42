/*
 * The sigio backend: signal-driven I/O.  A watched descriptor is put in
 * O_ASYNC mode with F_SETSIG, and the kernel then queues a real-time
 * signal for every change of its readiness, carrying the descriptor
 * (si_fd) and what happened (si_band).  wait() takes those signals with
 * sigtimedwait(), so nothing runs in signal context: the signals stay
 * blocked in every thread (poller_sigio_block(), before any starts).
 *
 * A connection's signals go to the worker thread that serves it
 * (F_OWNER_TID).  A listener is shared by every worker, so its signals
 * go to the process (F_OWNER_PID) and whichever worker waits first
 * takes each one; a worker's own reuseport listener is not shared, and
 * its signals go to that worker's thread like a connection's.  A worker that has paused a listener drops the
 * signals it takes for it; the others then learn of that connection
 * from the next one, or when the pause ends and the listener is polled.
 *
 * Signals are edges: a descriptor that was ready before it was watched,
 * or before a mask gained an event, raised none, so set() polls it once
 * and wait() reports what it found.  And a signal says only that
 * something happened, maybe long ago: the signal for a peer's shutdown
 * reads like one for data (POLL_IN), and the read that takes the last
 * data also takes the shutdown, after which no signal comes.  So once
 * per wait(), the descriptors its signals named are polled together:
 * what is no longer ready is dropped, and a shutdown is flagged
 * (POLLER_HUP) so that the engine reads on to the end of input.
 *
 * The real-time queue is bounded (RLIMIT_SIGPENDING, per user).  When
 * it is full the kernel drops the signal and raises plain SIGIO
 * instead, which says only that something was lost.  Then the queue is
 * emptied, since every descriptor is about to be polled anyway, and one
 * poll() over every watched descriptor finds what is ready.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "poller.h"
#include "ratelimit.h"

#define SG_SIGNAL	(SIGRTMIN + 1)
#define SG_FLUSH_MAX	(1 << 20)	/* stale signals dropped at most */
#define SG_EVENTS	(POLLER_READ | POLLER_WRITE)
#define SG_CHECK	256		/* descriptors per checking poll() */

/* What the backend knows of one descriptor number. */
struct sg_fd {
	int		f_slot;		/* index in sg_pfds + 1; 0: unwatched */
	unsigned	f_batch;	/* the wait() that last reported it */
	int		f_pos;		/* where, in that wait()'s events */
	unsigned char	f_pending;	/* ready: report in a coming wait() */
	unsigned char	f_queued;	/* listed in sg_pending */
};

/* One waiting thread's backend. */
struct sg_state {
	struct sg_fd	*sg_fds;	/* by descriptor, sg_setsize of them */
	struct pollfd	*sg_pfds;	/* every watched descriptor, dense */
	int		*sg_pending;	/* descriptors with f_pending set */
	int		 sg_npfds;
	int		 sg_npending;
	int		 sg_setsize;
	unsigned	 sg_batch;	/* wait() calls so far */
	pid_t		 sg_tid;	/* the thread that waits */
	int		 sg_worker;	/* its worker, for log lines */
	sigset_t	 sg_sigs;	/* SG_SIGNAL and SIGIO */
	sigset_t	 sg_rtsig;	/* SG_SIGNAL alone */
	unsigned long	 sg_overflows;
	struct ratelimit sg_rl;
	struct pollfd	 sg_check[SG_CHECK];
};

static _Thread_local int sg_owner;	/* poller_sigio_owner() */

static void	*sg_create(int, char *, size_t);
static void	 sg_free(void *);
static int	 sg_grow(struct sg_state *, int);
static int	 sg_set(void *, int, int, int);
static int	 sg_arm(struct sg_state *, int, int);
static void	 sg_unwatch(struct sg_state *, int);
static void	 sg_probe(struct sg_state *, int, int);
static int	 sg_wait(void *, int, struct poller_event *, int);
static int	 sg_signal(struct sg_state *, const siginfo_t *,
		    struct poller_event *, int);
static void	 sg_overflow(struct sg_state *);
static int	 sg_take(struct sg_state *, struct poller_event *, int, int);
static int	 sg_add(struct sg_state *, struct poller_event *, int, int,
		    int);
static int	 sg_check(struct sg_state *, struct poller_event *, int);
static void	 sg_pend(struct sg_state *, int, int);
static int	 sg_watched(const struct sg_state *, int);
static int	 sg_mask(long);
static void	 sg_sigset(sigset_t *);

const struct poller poller_sigio = {
	"sigio", -1, 1, sg_create, sg_free, sg_set, sg_wait
};

/* The signals this backend waits for: its real-time signal and SIGIO. */
static void
sg_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SG_SIGNAL);
	sigaddset(set, SIGIO);
}

/*
 * Block the backend's signals in the calling thread, and so in every
 * thread it starts later.  Unblocked, either would kill the process: a
 * listener's signal may go to any thread.  main() calls this first.
 */
void
poller_sigio_block(void)
{
	sigset_t	set;

	sg_sigset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Name the worker this thread runs, for the backend's log lines. */
void
poller_sigio_owner(int worker)
{
	sg_owner = worker;
}

/*
 * Make the state for descriptors below setsize, for the calling thread;
 * refuse if its signals could reach a handler instead of wait().
 */
static void *
sg_create(int setsize, char *cause, size_t len)
{
	struct sg_state	*st;
	sigset_t	 cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (!sigismember(&cur, SG_SIGNAL) || !sigismember(&cur, SIGIO)) {
		snprintf(cause, len, "signals %d and %d are not blocked",
		    SG_SIGNAL, SIGIO);
		return (NULL);
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (NULL);
	}
	pthread_mutex_init(&st->sg_rl.rl_lock, NULL);
	st->sg_rl.rl_interval = 1;
	if (sg_grow(st, setsize > 0 ? setsize - 1 : 0) == -1) {
		sg_free(st);
		snprintf(cause, len, "out of memory");
		return (NULL);
	}
	st->sg_tid = gettid();
	st->sg_worker = sg_owner;
	sg_sigset(&st->sg_sigs);
	sigemptyset(&st->sg_rtsig);
	sigaddset(&st->sg_rtsig, SG_SIGNAL);
	return (st);
}

/* Free the state; descriptors keep raising signals until closed. */
static void
sg_free(void *arg)
{
	struct sg_state	*st = arg;

	pthread_mutex_destroy(&st->sg_rl.rl_lock);
	free(st->sg_fds);
	free(st->sg_pfds);
	free(st->sg_pending);
	free(st);
}

/*
 * Make room for descriptor fd, at least doubling; -1 when out of memory.
 * The open-file limit may be raised while iod runs.  New entries are
 * zero, which means "not watched", so untouched pages stay unmapped.
 */
static int
sg_grow(struct sg_state *st, int fd)
{
	struct sg_fd	*fds;
	struct pollfd	*pfds;
	int		*pending, n = st->sg_setsize > 0 ? st->sg_setsize : 64;

	while (n <= fd)
		n *= 2;
	if ((fds = reallocarray(st->sg_fds, n, sizeof(*fds))) == NULL)
		return (-1);
	memset(fds + st->sg_setsize, 0, (n - st->sg_setsize) * sizeof(*fds));
	st->sg_fds = fds;
	if ((pfds = reallocarray(st->sg_pfds, n, sizeof(*pfds))) == NULL)
		return (-1);
	st->sg_pfds = pfds;
	if ((pending = reallocarray(st->sg_pending, n,
	    sizeof(*pending))) == NULL)
		return (-1);
	st->sg_pending = pending;
	st->sg_setsize = n;
	return (0);
}

/*
 * Watch fd for newmask instead of oldmask.  The backend keeps its own
 * masks, so oldmask is not needed; POLLER_SHARED in newmask sends the
 * descriptor's signals to the process rather than to this thread.
 */
static int
sg_set(void *arg, int fd, int oldmask, int newmask)
{
	struct sg_state	*st = arg;
	struct pollfd	*p;
	int		 had, want = newmask & SG_EVENTS;

	(void)oldmask;
	if (fd < 0) {
		errno = EINVAL;
		return (-1);
	}
	if (want == 0) {
		if (fd < st->sg_setsize)
			sg_unwatch(st, fd);
		return (0);
	}
	if (fd >= st->sg_setsize && sg_grow(st, fd) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	if (st->sg_fds[fd].f_slot == 0) {
		if (sg_arm(st, fd, newmask & POLLER_SHARED) == -1)
			return (-1);
		p = &st->sg_pfds[st->sg_npfds++];
		p->fd = fd;
		p->events = 0;
		st->sg_fds[fd].f_slot = st->sg_npfds;
	}
	had = sg_watched(st, fd);
	p = &st->sg_pfds[st->sg_fds[fd].f_slot - 1];
	p->events = ((want & POLLER_READ) ? POLLIN | POLLRDHUP : 0) |
	    ((want & POLLER_WRITE) ? POLLOUT : 0);
	if (want != had)
		sg_probe(st, fd, want);
	return (0);
}

/*
 * Have fd raise SG_SIGNAL at this thread, or at the process if shared.
 * Owner and signal come first, so that no signal goes elsewhere.  A
 * file without signal support ignores O_ASYNC silently: check it held.
 */
static int
sg_arm(struct sg_state *st, int fd, int shared)
{
	struct f_owner_ex	owner;
	int			fl;

	owner.type = shared ? F_OWNER_PID : F_OWNER_TID;
	owner.pid = shared ? getpid() : st->sg_tid;
	if (fcntl(fd, F_SETSIG, SG_SIGNAL) == -1 ||
	    fcntl(fd, F_SETOWN_EX, &owner) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_ASYNC | O_NONBLOCK) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	if ((fl & O_ASYNC) == 0) {
		errno = EOPNOTSUPP;
		return (-1);
	}
	return (0);
}

/*
 * Stop watching fd.  Its O_ASYNC mode stays: it is about to be closed,
 * or it is a listener other workers still watch.  Signals that still
 * come for it find it unwatched and are dropped.
 */
static void
sg_unwatch(struct sg_state *st, int fd)
{
	struct sg_fd	*f = &st->sg_fds[fd];
	int		 i = f->f_slot - 1;

	if (f->f_slot == 0)
		return;
	st->sg_pfds[i] = st->sg_pfds[--st->sg_npfds];
	st->sg_fds[st->sg_pfds[i].fd].f_slot = i + 1;
	f->f_slot = 0;
	f->f_pending = 0;
}

/*
 * Poll fd once for the events in mask: what was ready before they were
 * watched raised no signal, or raised one that was dropped.
 */
static void
sg_probe(struct sg_state *st, int fd, int mask)
{
	struct pollfd	p = st->sg_pfds[st->sg_fds[fd].f_slot - 1];
	int		ready;

	if (poll(&p, 1, 0) != 1)
		return;
	ready = sg_mask(p.revents);
	if (ready & mask)
		sg_pend(st, fd, (ready & mask) | (ready & POLLER_HUP));
}

/*
 * Report what polls found, then wait up to timeout milliseconds for a
 * signal if there was nothing, then take every signal already queued,
 * until fired is full; then check it all with one poll().
 */
static int
sg_wait(void *arg, int timeout, struct poller_event *fired, int nfired)
{
	struct sg_state	*st = arg;
	struct timespec	 ts, *tsp = &ts;
	siginfo_t	 si;
	int		 n, sig;

	st->sg_batch++;
	if ((n = sg_take(st, fired, 0, nfired)) > 0)
		timeout = 0;
	ts.tv_sec = timeout / 1000;
	ts.tv_nsec = (timeout % 1000) * 1000000L;
	if (timeout < 0)
		tsp = NULL;
	while (n < nfired) {
		if ((sig = sigtimedwait(&st->sg_sigs, &si, tsp)) == -1)
			break;
		ts.tv_sec = ts.tv_nsec = 0;
		tsp = &ts;
		if (sig == SIGIO) {
			sg_overflow(st);
			n = sg_take(st, fired, n, nfired);
		} else
			n = sg_signal(st, &si, fired, n);
	}
	return (sg_check(st, fired, n));
}

/*
 * One real-time signal: report its descriptor if still watched for what
 * the signal says.  Signals sent by a process (kill, sigqueue) have no
 * descriptor and are ignored.
 */
static int
sg_signal(struct sg_state *st, const siginfo_t *si, struct poller_event *fired,
    int n)
{
	int	fd = si->si_fd, mask;

	if (si->si_code <= 0 || fd < 0 || fd >= st->sg_setsize)
		return (n);
	mask = sg_mask(si->si_band) & (sg_watched(st, fd) | POLLER_HUP);
	if ((mask & SG_EVENTS) == 0)
		return (n);
	return (sg_add(st, fired, n, fd, mask));
}

/*
 * The queue overflowed and signals were lost.  Drop those still queued
 * (the poll after this sees all they could say, and what came since),
 * then poll every watched descriptor and keep what is ready.
 */
static void
sg_overflow(struct sg_state *st)
{
	struct timespec	 zero = { 0, 0 };
	struct pollfd	*p;
	siginfo_t	 si;
	unsigned long	 n;
	int		 i, ready;

	for (i = 0; i < SG_FLUSH_MAX; i++)
		if (sigtimedwait(&st->sg_rtsig, &si, &zero) == -1)
			break;
	st->sg_overflows++;
	if (ratelimit_allow(&st->sg_rl, &n))
		log_warnx("worker %d: sigio: real-time signal queue "
		    "overflowed; polled every descriptor (%lu times, %lu in "
		    "all)", st->sg_worker, n, st->sg_overflows);
	if (poll(st->sg_pfds, st->sg_npfds, 0) <= 0)
		return;
	for (i = 0; i < st->sg_npfds; i++) {
		p = &st->sg_pfds[i];
		ready = sg_mask(p->revents);
		if (ready & sg_watched(st, p->fd))
			sg_pend(st, p->fd, ready & (sg_watched(st, p->fd) |
			    POLLER_HUP));
	}
}

/*
 * Move kept readiness into fired, from position n, until it is full;
 * what does not fit is kept for the next wait().
 */
static int
sg_take(struct sg_state *st, struct poller_event *fired, int n, int nfired)
{
	struct sg_fd	*f;
	int		 i, fd, keep = 0, mask;

	for (i = 0; i < st->sg_npending; i++) {
		fd = st->sg_pending[i];
		f = &st->sg_fds[fd];
		mask = f->f_pending & (sg_watched(st, fd) | POLLER_HUP);
		if ((mask & SG_EVENTS) != 0 && n == nfired &&
		    f->f_batch != st->sg_batch) {
			st->sg_pending[keep++] = fd;
			continue;
		}
		f->f_pending = f->f_queued = 0;
		if ((mask & SG_EVENTS) != 0)
			n = sg_add(st, fired, n, fd, mask);
	}
	st->sg_npending = keep;
	return (n);
}

/*
 * Report mask on fd at fired[n], or add it to what this wait() already
 * reports for fd; return the events now in fired.
 */
static int
sg_add(struct sg_state *st, struct poller_event *fired, int n, int fd,
    int mask)
{
	struct sg_fd	*f = &st->sg_fds[fd];

	if (f->f_batch == st->sg_batch) {
		fired[f->f_pos].mask |= mask;
		return (n);
	}
	f->f_batch = st->sg_batch;
	f->f_pos = n;
	fired[n].fd = fd;
	fired[n].mask = mask;
	return (n + 1);
}

/*
 * Poll the n descriptors in fired, SG_CHECK at a time, and keep only
 * what is still ready, with POLLER_HUP where the peer has shut down.
 * Should poll() fail, the events stand as the signals said.
 */
static int
sg_check(struct sg_state *st, struct poller_event *fired, int n)
{
	struct pollfd	*p = st->sg_check;
	int		 i, j, m, kept = 0, ready, mask;

	for (i = 0; i < n; i += m) {
		m = n - i < SG_CHECK ? n - i : SG_CHECK;
		for (j = 0; j < m; j++) {
			p[j].fd = fired[i + j].fd;
			p[j].events = st->sg_pfds[st->sg_fds[p[j].fd].f_slot -
			    1].events;
		}
		if (poll(p, m, 0) == -1) {
			for (j = 0; j < m; j++)
				fired[kept++] = fired[i + j];
			continue;
		}
		for (j = 0; j < m; j++) {
			ready = sg_mask(p[j].revents);
			mask = (ready & fired[i + j].mask & SG_EVENTS) |
			    (ready & POLLER_HUP);
			if ((mask & SG_EVENTS) == 0)
				continue;
			fired[kept].fd = p[j].fd;
			fired[kept++].mask = mask;
		}
	}
	return (kept);
}

/* Keep mask as ready on fd, for a coming wait(). */
static void
sg_pend(struct sg_state *st, int fd, int mask)
{
	struct sg_fd	*f = &st->sg_fds[fd];

	f->f_pending |= (unsigned char)mask;
	if (!f->f_queued) {
		f->f_queued = 1;
		st->sg_pending[st->sg_npending++] = fd;
	}
}

/* Return the events fd is watched for, 0 if it is not. */
static int
sg_watched(const struct sg_state *st, int fd)
{
	short	events;

	if (st->sg_fds[fd].f_slot == 0)
		return (0);
	events = st->sg_pfds[st->sg_fds[fd].f_slot - 1].events;
	return (((events & POLLIN) ? POLLER_READ : 0) |
	    ((events & POLLOUT) ? POLLER_WRITE : 0));
}

/*
 * Poll bits (a signal's si_band, or revents) as the engine's mask.
 * Errors and hang-ups surface through read() or write(); a hang-up is
 * also flagged, so that the engine reads on to the end of input.
 */
static int
sg_mask(long band)
{
	return (((band & (POLLIN | POLLERR | POLLHUP | POLLRDHUP)) ?
	    POLLER_READ : 0) |
	    ((band & (POLLOUT | POLLERR | POLLHUP)) ? POLLER_WRITE : 0) |
	    ((band & (POLLERR | POLLHUP | POLLRDHUP)) ? POLLER_HUP : 0));
}
