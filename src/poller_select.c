/*
 * The select() backend.  An fd_set holds descriptors below FD_SETSIZE
 * (1024) only, and FD_SET on a larger one writes past the set: memory
 * corruption, not an error.  So max_fd tells the engine to refuse such a
 * descriptor before it ever gets here, and set() refuses it again.
 */
#include <sys/select.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"

struct sel_state {
	fd_set	rfds;
	fd_set	wfds;
	int	maxfd;		/* highest descriptor watched, or -1 */
};

/* Make an empty set. */
static void *
sel_create(int setsize, char *cause, size_t len)
{
	struct sel_state	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (NULL);
	}
	FD_ZERO(&st->rfds);
	FD_ZERO(&st->wfds);
	st->maxfd = -1;
	return (st);
}

/* Free the set. */
static void
sel_free(void *arg)
{
	free(arg);
}

/* Watch fd for newmask instead of oldmask. */
static int
sel_set(void *arg, int fd, int oldmask, int newmask)
{
	struct sel_state	*st = arg;

	if (fd < 0 || fd >= FD_SETSIZE) {
		errno = EINVAL;
		return (-1);
	}
	if (newmask & POLLER_READ)
		FD_SET(fd, &st->rfds);
	else
		FD_CLR(fd, &st->rfds);
	if (newmask & POLLER_WRITE)
		FD_SET(fd, &st->wfds);
	else
		FD_CLR(fd, &st->wfds);
	if (newmask != 0 && fd > st->maxfd)
		st->maxfd = fd;
	while (st->maxfd >= 0 && !FD_ISSET(st->maxfd, &st->rfds) &&
	    !FD_ISSET(st->maxfd, &st->wfds))
		st->maxfd--;
	return (0);
}

/* Wait up to timeout milliseconds and report what is ready. */
static int
sel_wait(void *arg, int timeout, struct poller_event *fired, int nfired)
{
	struct sel_state	*st = arg;
	struct timeval		 tv = { timeout / 1000, (timeout % 1000) * 1000 };
	fd_set			 r, w;
	int			 fd, n, mask;

	memcpy(&r, &st->rfds, sizeof(r));
	memcpy(&w, &st->wfds, sizeof(w));
	if (select(st->maxfd + 1, &r, &w, NULL, &tv) <= 0)
		return (0);
	n = 0;
	for (fd = 0; fd <= st->maxfd && n < nfired; fd++) {
		mask = 0;
		if (FD_ISSET(fd, &r))
			mask |= POLLER_READ;
		if (FD_ISSET(fd, &w))
			mask |= POLLER_WRITE;
		if (mask == 0)
			continue;
		fired[n].fd = fd;
		fired[n].mask = mask;
		n++;
	}
	return (n);
}

const struct poller poller_select = {
	"select", FD_SETSIZE - 1, 0, sel_create, sel_free, sel_set, sel_wait
};
