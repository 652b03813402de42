/*
 * The busy-polling backend: no readiness call at all.  wait() reports
 * every watched descriptor as ready for what it is watched for, at once,
 * and the engine tries accept(), recv() or send() on each and mostly
 * gets EAGAIN.  The loop never sleeps, so a worker burns a core while
 * idle: that is the model it shows (nonblocking sockets polled by hand),
 * and why it is a teaching engine.
 *
 * wait() returns at once, which is within any timeout it is given; the
 * loop reads the clock after every wait, so its once-a-second tick (the
 * idle rule, resuming paused listeners) runs as it does with a backend
 * that sleeps.  A wait that may report at most N descriptors starts where
 * the last one stopped, so that every descriptor gets its turn however
 * many are watched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "poller.h"

#define BUSY_MINSET	64	/* descriptors below this fit at first */

struct busy_state {
	struct poller_event	*watched;	/* fd and mask, dense */
	int			*slot;	/* descriptor to index, or -1 */
	int			 n;	/* entries in watched */
	int			 setsize; /* descriptors below this fit */
	int			 cursor;	/* where the next wait starts */
};

static int	busy_grow(struct busy_state *, int);

/* Make an empty list; it grows to fit the descriptors watched. */
static void *
busy_create(int setsize, char *cause, size_t len)
{
	struct busy_state	*st;

	(void)setsize;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (NULL);
	}
	if (busy_grow(st, BUSY_MINSET - 1) == -1) {
		free(st);
		snprintf(cause, len, "out of memory");
		return (NULL);
	}
	return (st);
}

/* Make room for descriptor fd, doubling; -1 when out of memory. */
static int
busy_grow(struct busy_state *st, int fd)
{
	struct poller_event	*watched;
	int			*slot, n, i;

	n = st->setsize > 0 ? st->setsize : BUSY_MINSET;
	while (n <= fd)
		n *= 2;
	if ((watched = reallocarray(st->watched, n, sizeof(*watched))) ==
	    NULL)
		return (-1);
	st->watched = watched;
	if ((slot = reallocarray(st->slot, n, sizeof(*slot))) == NULL)
		return (-1);
	st->slot = slot;
	for (i = st->setsize; i < n; i++)
		st->slot[i] = -1;
	st->setsize = n;
	return (0);
}

/* Free the list. */
static void
busy_free(void *arg)
{
	struct busy_state	*st = arg;

	free(st->watched);
	free(st->slot);
	free(st);
}

/* Watch fd for newmask instead of oldmask. */
static int
busy_set(void *arg, int fd, int oldmask, int newmask)
{
	struct busy_state	*st = arg;
	int			 i;

	(void)oldmask;
	if (fd < 0) {
		errno = EINVAL;
		return (-1);
	}
	if (fd >= st->setsize && busy_grow(st, fd) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	if ((i = st->slot[fd]) == -1) {
		if (newmask == 0)
			return (0);
		i = st->slot[fd] = st->n++;
		st->watched[i].fd = fd;
	}
	if (newmask == 0) {
		/* Move the last entry into the hole. */
		st->watched[i] = st->watched[--st->n];
		st->slot[st->watched[i].fd] = i;
		st->slot[fd] = -1;
		return (0);
	}
	st->watched[i].mask = newmask & (POLLER_READ | POLLER_WRITE);
	return (0);
}

/*
 * Report every watched descriptor, up to nfired of them from the cursor
 * on, as ready for what it is watched for; never sleep.
 */
static int
busy_wait(void *arg, int timeout, struct poller_event *fired, int nfired)
{
	struct busy_state	*st = arg;
	int			 i, n;

	(void)timeout;
	if (st->n == 0 || nfired <= 0)
		return (0);
	n = nfired < st->n ? nfired : st->n;
	if (st->cursor >= st->n)
		st->cursor = 0;
	for (i = 0; i < n; i++)
		fired[i] = st->watched[(st->cursor + i) % st->n];
	st->cursor = (st->cursor + n) % st->n;
	return (n);
}

const struct poller poller_busy = {
	"busypoll", -1, 0, busy_create, busy_free, busy_set, busy_wait
};
