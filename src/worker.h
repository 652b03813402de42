/* Worker threads: one engine instance each, driven by commands. */
#ifndef IOD_WORKER_H
#define IOD_WORKER_H

#include <pthread.h>
#include <stddef.h>

#include "engine.h"

struct conf_listener;
struct iod_conf;

/* An open listening socket, or a SO_REUSEPORT group of them. */
struct listener {
	int		 l_fd;
	char		*l_spec;	/* as written in the config */
	char		 l_name[128];	/* as bound: "127.0.0.1:43121" */
	int		 l_stats;	/* its number in the counters */
	/* Its group's options in the same config; NULL: none (systemd's). */
	const struct conf_listener *l_opts;
	/* reuseport: a socket per worker, l_fd the first (lset.c). */
	int		*l_fds;		/* NULL: l_fd is shared by all */
	size_t		 l_nfds;
	int		 l_own;		/* l_fd is this worker's alone */
};

/*
 * One worker thread.  The supervisor writes only through the command
 * queue; every other member belongs to the worker's own thread.
 */
struct worker {
	int			 w_id;
	pthread_t		 w_thread;
	const struct engine	*w_ops;
	void			*w_engine;	/* the engine's private state */
	const struct iod_conf	*w_conf;	/* settings for new connections */
	struct listener		*w_listeners;
	size_t			 w_nlisteners;
	int			 w_notify;	/* pipe: commands waiting */
	int			 w_done;	/* supervisor's eventfd: exited */
	int			 w_stopping;	/* STOP or DEADLINE handled */
	int			 w_first;	/* its connections: conn.c */
	size_t			 w_nconns;
};

/* Lifecycle, called by the supervisor. */
int	worker_start_all(const struct engine *, const struct iod_conf *,
	    struct listener *, size_t, int, char *, size_t);
void	worker_command_all(enum engine_cmd, const struct iod_conf *,
	    struct listener *, size_t);
void	worker_join_all(void);
size_t	worker_count(void);

/* Called by an engine when its notify descriptor is readable. */
void	worker_drain(struct worker *);

#endif
