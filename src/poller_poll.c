/*
 * The poll() backend: a pollfd array, with an index from descriptor to
 * slot so that changing one descriptor costs O(1), not a search.  Both
 * grow when a descriptor does not fit: the open-file limit may be raised
 * while iod runs (a reload that raises max_connections does).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "poller.h"

struct poll_state {
	struct pollfd	*pfds;
	int		*slot;		/* descriptor to index in pfds, or -1 */
	int		 n;		/* pfds in use */
	int		 setsize;	/* descriptors below this fit */
};

static int	pol_grow(struct poll_state *, int);

/* Make an empty array for descriptors below setsize. */
static void *
pol_create(int setsize, char *cause, size_t len)
{
	struct poll_state	*st;
	int			 i;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->pfds = calloc(setsize, sizeof(*st->pfds))) == NULL ||
	    (st->slot = calloc(setsize, sizeof(*st->slot))) == NULL) {
		if (st != NULL)
			free(st->pfds);
		free(st);
		snprintf(cause, len, "out of memory");
		return (NULL);
	}
	for (i = 0; i < setsize; i++)
		st->slot[i] = -1;
	st->setsize = setsize;
	return (st);
}

/* Make room for descriptor fd, doubling; -1 when out of memory. */
static int
pol_grow(struct poll_state *st, int fd)
{
	struct pollfd	*pfds;
	int		*slot, n = st->setsize, i;

	while (n <= fd)
		n *= 2;
	if ((pfds = reallocarray(st->pfds, n, sizeof(*pfds))) == NULL)
		return (-1);
	st->pfds = pfds;
	if ((slot = reallocarray(st->slot, n, sizeof(*slot))) == NULL)
		return (-1);
	st->slot = slot;
	for (i = st->setsize; i < n; i++)
		st->slot[i] = -1;
	st->setsize = n;
	return (0);
}

/* Free the array. */
static void
pol_free(void *arg)
{
	struct poll_state	*st = arg;

	free(st->pfds);
	free(st->slot);
	free(st);
}

/* Watch fd for newmask instead of oldmask. */
static int
pol_set(void *arg, int fd, int oldmask, int newmask)
{
	struct poll_state	*st = arg;
	int			 i;

	if (fd < 0) {
		errno = EINVAL;
		return (-1);
	}
	if (fd >= st->setsize && pol_grow(st, fd) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	if ((i = st->slot[fd]) == -1) {
		if (newmask == 0)
			return (0);
		i = st->slot[fd] = st->n++;
		st->pfds[i].fd = fd;
	}
	if (newmask == 0) {
		/* Move the last entry into the hole. */
		st->pfds[i] = st->pfds[--st->n];
		st->slot[st->pfds[i].fd] = i;
		st->slot[fd] = -1;
		return (0);
	}
	st->pfds[i].events = ((newmask & POLLER_READ) ? POLLIN : 0) |
	    ((newmask & POLLER_WRITE) ? POLLOUT : 0);
	return (0);
}

/* Wait up to timeout milliseconds and report what is ready. */
static int
pol_wait(void *arg, int timeout, struct poller_event *fired, int nfired)
{
	struct poll_state	*st = arg;
	struct pollfd		*p;
	int			 i, n, ready, watched;

	if (poll(st->pfds, st->n, timeout) <= 0)
		return (0);
	n = 0;
	for (i = 0; i < st->n && n < nfired; i++) {
		p = &st->pfds[i];
		if (p->revents == 0)
			continue;
		/* Errors and hang-ups surface through read() or write(). */
		ready = ((p->revents & (POLLIN | POLLERR | POLLHUP)) ?
		    POLLER_READ : 0) |
		    ((p->revents & (POLLOUT | POLLERR | POLLHUP)) ?
		    POLLER_WRITE : 0);
		watched = ((p->events & POLLIN) ? POLLER_READ : 0) |
		    ((p->events & POLLOUT) ? POLLER_WRITE : 0);
		if ((ready & watched) == 0)
			continue;
		fired[n].fd = p->fd;
		fired[n].mask = ready & watched;
		n++;
	}
	return (n);
}

const struct poller poller_poll = {
	"poll", -1, 0, pol_create, pol_free, pol_set, pol_wait
};
