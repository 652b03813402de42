/* The I/O engines: one table entry per model, chosen by name at run time. */
#ifndef IOD_ENGINE_H
#define IOD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

/* Shared limits, the same for every engine. */
#define ENGINE_IO_MAX		(256 * 1024) /* bytes per read or write call */
#define ENGINE_ACCEPT_BATCH	64	/* connections per listener wake-up */
#define ENGINE_ACCEPT_PAUSE	1	/* seconds after EMFILE and the like */
#define ENGINE_TICK_MS		1000	/* idle and linger checks: conn_tick */

struct worker;

/* What the supervisor asks of a running worker. */
enum engine_cmd {
	ENGINE_APPLY,		/* new settings and listeners: worker_conf() */
	ENGINE_STOP,		/* stop accepting, drain, then return from run */
	ENGINE_DEADLINE		/* close whatever is left, now */
};

/*
 * An engine serves one worker's listeners until told to stop.  Engines
 * never install signal handlers, read the config file or exit(): the
 * supervisor turns signals into commands on the worker's notify
 * descriptor, and worker_drain() hands each one to engine_command(),
 * which asks the engine for the few things below.  Every rule about
 * connections is the core's (conn.c); an engine says only how its model
 * waits, reads and writes.
 *
 * Most engines keep their connections in the core's table (conn_size is
 * the size of one, beginning with a struct conn): the core lists them,
 * counts them, ticks their idle rule and tells each to drain or close.
 * The blocking engines, whose connections run on threads or processes of
 * their own, tell those themselves: halt and count.
 */
struct engine {
	const char	*name;
	const char	*model;		/* for iod -h: a few words */
	int		 teaching;	/* shows a model; not for production */
	int		(*probe)(char *, size_t);	/* NULL: always usable */
	int		(*start)(struct worker *, char *, size_t);
	void		(*run)(struct worker *);	/* until engine_done() */
	void		(*stop)(struct worker *);
	/* What it waits with, when chosen at run time; NULL: its model. */
	const char	*(*backend)(void);

	/* Watch exactly the worker's listeners now, or none. */
	void		(*listen)(struct worker *);
	void		(*unlisten)(struct worker *);

	/* Connections in the core's table. */
	size_t		conn_size;
	void		(*drain)(struct worker *, struct conn *, const char *);
	void		(*close)(struct worker *, struct conn *, const char *);
	void		(*sync)(struct conn *);	/* NULL: c_last_io is current */

	/* Or connections that run on their own. */
	void		(*halt)(struct worker *, enum conn_order);
	size_t		(*count)(const struct worker *);
};

/* Registry. */
const struct engine *engine_find(const char *);
const struct engine *engine_at(size_t);
const char	*engine_names(void);

/* Running a worker. */
void	engine_command(struct worker *, enum engine_cmd);
int	engine_done(const struct worker *);

/* Services every engine shares. */
int64_t	engine_now_ms(void);
int	engine_accept_failed(const char *, int);

#endif
