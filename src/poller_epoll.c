/*
 * The epoll backend, edge-triggered: epoll reports a descriptor once per
 * change of readiness, so the engine reads and writes until EAGAIN (or
 * keeps the descriptor on its own ready list when it stops early for
 * fairness).  The kernel keeps the interest set, so waiting costs what
 * is ready, not what is watched.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "poller.h"

#define EP_BATCH	256	/* events taken per epoll_wait */

struct ep_state {
	int			 epfd;
	struct epoll_event	 events[EP_BATCH];
};

/* Make an epoll instance. */
static void *
ep_create(int setsize, char *cause, size_t len)
{
	struct ep_state	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (NULL);
	}
	if ((st->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		snprintf(cause, len, "epoll_create1: %m");
		free(st);
		return (NULL);
	}
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

/* Watch fd for newmask instead of oldmask. */
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
	ev.events = EPOLLET | EPOLLRDHUP |
	    ((newmask & POLLER_READ) ? EPOLLIN : 0) |
	    ((newmask & POLLER_WRITE) ? EPOLLOUT : 0);
	ev.data.fd = fd;
	return (epoll_ctl(st->epfd, op, fd, &ev));
}

/* Wait up to timeout milliseconds and report what is ready. */
static int
ep_wait(void *arg, int timeout, struct poller_event *fired, int nfired)
{
	struct ep_state	*st = arg;
	uint32_t	 e;
	int		 i, n;

	if (nfired > EP_BATCH)
		nfired = EP_BATCH;
	if ((n = epoll_wait(st->epfd, st->events, nfired, timeout)) <= 0)
		return (0);
	for (i = 0; i < n; i++) {
		e = st->events[i].events;
		fired[i].fd = st->events[i].data.fd;
		/*
		 * Errors and hang-ups surface through read() or write().  A
		 * hang-up is also flagged: its edge may come with the last
		 * data, and the end of input is only seen by reading on.
		 */
		fired[i].mask =
		    ((e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ?
		    POLLER_READ : 0) |
		    ((e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ? POLLER_WRITE : 0) |
		    ((e & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ? POLLER_HUP : 0);
	}
	return (n);
}

const struct poller poller_epoll = {
	"epoll", -1, 1, ep_create, ep_free, ep_set, ep_wait
};
