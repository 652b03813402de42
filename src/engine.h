/* The I/O engines: one table entry per model, chosen by name at run time. */
#ifndef IOD_ENGINE_H
#define IOD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/* Shared limits, the same for every engine. */
#define ENGINE_IO_MAX		(256 * 1024) /* bytes per read or write call */
#define ENGINE_ACCEPT_BATCH	64	/* connections per listener wake-up */
#define ENGINE_ACCEPT_PAUSE	1	/* seconds after EMFILE and the like */

struct iod_conf;
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
 * descriptor, and worker_drain() hands each one to command().
 */
struct engine {
	const char	*name;
	int		(*probe)(char *, size_t);	/* NULL: always usable */
	int		(*start)(struct worker *, char *, size_t);
	void		(*run)(struct worker *);
	void		(*command)(struct worker *, enum engine_cmd);
	void		(*stop)(struct worker *);
};

/* Registry. */
const struct engine *engine_find(const char *);
const char	*engine_names(void);

/* Services every engine shares. */
int	engine_admit(const struct iod_conf *, int);
void	engine_refuse(int, const char *);
void	engine_sockopts(const struct iod_conf *, int);
int	engine_must_linger(int);
int	engine_unacked(int);
int64_t	engine_now_ms(void);
int	engine_accept_failed(const char *, int);

#endif
