/*
 * The epoll backends.  The kernel keeps the interest set, so waiting
 * costs what is ready, not what is watched.  One code, two triggers:
 *
 * Edge-triggered ("epoll"): epoll reports a descriptor once per change
 * of readiness, so the engine reads and writes until EAGAIN (or keeps
 * the descriptor on its own ready list when it stops early for
 * fairness).
 *
 * Level-triggered ("epoll-lt"): epoll reports a descriptor for as long as
 * it is ready, as poll() does, so the engine may stop anywhere and be
 * told again.  The price is that any condition left standing keeps the
 * wait returning at once.  EPOLLRDHUP is such a condition once the peer
 * has shut down its side: it is asked for only while the connection is
 * being read, and a connection that is only writing (draining what it
 * owes a half-closed peer) is not woken by it over and over.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "poller.h"

#define EP_BATCH	256	/* events taken per epoll_wait */

struct ep_state {
	int			 epfd;
	int			 et;	/* edge-triggered */
	struct epoll_event	 events[EP_BATCH];
};

static void	*ep_create(int, int, char *, size_t);
static void	*ep_create_et(int, char *, size_t);
static void	*ep_create_lt(int, char *, size_t);
static int	 ep_mask(const struct ep_state *, uint32_t, int);

/* Make an edge-triggered epoll instance. */
static void *
ep_create_et(int setsize, char *cause, size_t len)
{
	return (ep_create(setsize, 1, cause, len));
}

/* Make a level-triggered epoll instance. */
static void *
ep_create_lt(int setsize, char *cause, size_t len)
{
	return (ep_create(setsize, 0, cause, len));
}

/* Make an epoll instance with the trigger et says. */
static void *
ep_create(int setsize, int et, char *cause, size_t len)
{
	struct ep_state	*st;

	(void)setsize;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (NULL);
	}
	if ((st->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		snprintf(cause, len, "epoll_create1: %m");
		free(st);
		return (NULL);
	}
	st->et = et;
	return (st);
}

/* Close the epoll instance. */
static void
ep_free(void *arg)
{
	struct ep_state	*st = arg;

	close(st->epfd);
	free(st);
}

/*
 * Watch fd for newmask instead of oldmask.  The mask rides along with
 * the descriptor in the event's data, so that a level-triggered wait can
 * report what is watched and nothing else, as poll() does.
 */
static int
ep_set(void *arg, int fd, int oldmask, int newmask)
{
	struct ep_state		*st = arg;
	struct epoll_event	 ev = { 0 };
	int			 op;

	if (newmask == 0)
		return (oldmask == 0 ? 0 :
		    epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, &ev));
	op = oldmask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (st->et)
		ev.events = EPOLLET | EPOLLRDHUP;
	if (newmask & POLLER_READ)
		ev.events |= EPOLLIN | EPOLLRDHUP;
	if (newmask & POLLER_WRITE)
		ev.events |= EPOLLOUT;
	ev.data.u64 = (uint32_t)fd | (uint64_t)newmask << 32;
	return (epoll_ctl(st->epfd, op, fd, &ev));
}

/* Wait up to timeout milliseconds and report what is ready. */
static int
ep_wait(void *arg, int timeout, struct poller_event *fired, int nfired)
{
	struct ep_state	*st = arg;
	uint64_t	 data;
	int		 i, n, k = 0;

	if (nfired > EP_BATCH)
		nfired = EP_BATCH;
	if ((n = epoll_wait(st->epfd, st->events, nfired, timeout)) <= 0)
		return (0);
	for (i = 0; i < n; i++) {
		data = st->events[i].data.u64;
		fired[k].fd = (int)(uint32_t)data;
		fired[k].mask = ep_mask(st, st->events[i].events,
		    (int)(data >> 32));
		if (fired[k].mask != 0)
			k++;
	}
	return (k);
}

/*
 * What events e mean for a descriptor watched for watched.  Errors and
 * hang-ups surface through read() or write().  Edge-triggered, a hang-up
 * is also flagged: its edge may come with the last data, and the end of
 * input is only seen by reading on.  Level-triggered, the hang-up stays
 * reported, and only what is watched is passed on.
 */
static int
ep_mask(const struct ep_state *st, uint32_t e, int watched)
{
	int	mask;

	mask = ((e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ?
	    POLLER_READ : 0) |
	    ((e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ? POLLER_WRITE : 0);
	if (st->et)
		return (mask |
		    ((e & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ? POLLER_HUP : 0));
	return (mask & watched);
}

const struct poller poller_epoll = {
	"epoll", -1, 1, ep_create_et, ep_free, ep_set, ep_wait
};

const struct poller poller_epoll_lt = {
	"epoll-lt", -1, 0, ep_create_lt, ep_free, ep_set, ep_wait
};
