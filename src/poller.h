/* Readiness backends (select, poll, epoll) for engine_poller.c. */
#ifndef IOD_POLLER_H
#define IOD_POLLER_H

#include <stddef.h>

#define POLLER_READ	0x01
#define POLLER_WRITE	0x02
#define POLLER_HUP	0x04	/* edge-triggered: the peer has shut down */
#define POLLER_SHARED	0x08	/* set(): every worker watches it (listeners) */

struct poller_event {
	int	fd;
	int	mask;		/* POLLER_READ and/or POLLER_WRITE */
};

/*
 * A backend in the manner of redis's ae_*.c: a few functions over state
 * the backend keeps to itself.  set() changes the events watched on fd
 * from oldmask to newmask (0 stops watching it).  wait() fills fired and
 * returns how many entries it wrote; EINTR counts as none.
 */
struct poller {
	const char	*name;
	int		 max_fd;	/* highest usable descriptor; -1: any */
	int		 edge_triggered; /* readiness is reported once */
	void		*(*create)(int, char *, size_t);
	void		 (*free)(void *);
	int		 (*set)(void *, int, int, int);
	int		 (*wait)(void *, int, struct poller_event *, int);
};

/* Signal-driven I/O (poller_sigio.c): its signals, blocked at startup. */
extern const struct poller poller_sigio;
void	poller_sigio_block(void);
void	poller_sigio_owner(int);

extern const struct poller poller_select;
extern const struct poller poller_poll;
extern const struct poller poller_epoll;
extern const struct poller poller_epoll_lt;
extern const struct poller poller_busy;

#endif
