/* Counters, one slot per worker, and admission under max_connections. */
#ifndef IOD_STATS_H
#define IOD_STATS_H

#include <stdint.h>

#define STATS_LISTENERS	32	/* listeners told apart; more share the last */
#define STATS_NAMELEN	128
#define STATS_BUCKETS	9	/* of each histogram; the last is +Inf */

/* Why a connection was refused for who it is: counted apart. */
enum stats_refusal {
	STATS_DENIED,		/* its source is in deny */
	STATS_NOT_ALLOWED,	/* allow is not empty and lacks it */
	STATS_PER_SOURCE,	/* its source has max_per_source open */
	STATS_PROXY_UNTRUSTED,	/* PROXY listener, source not proxy_trusted */
	STATS_PROXY_BAD,	/* a malformed or truncated PROXY header */
	STATS_PROXY_TIMEOUT,	/* no whole PROXY header in proxy_timeout */
	STATS_NREFUSALS
};

/* Why a connection was refused for want of room: "rejected". */
enum stats_reject {
	STATS_REJ_MAX_CONNECTIONS, /* max_connections open already */
	STATS_REJ_FD_LIMIT,	/* its descriptor is past what iod can hold */
	STATS_REJ_FD_SETSIZE,	/* select cannot watch its descriptor */
	STATS_REJ_NO_MEMORY,	/* no memory, or no engine resource, for it */
	STATS_NREJECTS
};

/* Why a connection ended. */
enum stats_close {
	STATS_CLOSE_EOF,	/* the client ended its input */
	STATS_CLOSE_RESET,	/* the client reset it, or stopped reading */
	STATS_CLOSE_IDLE,	/* idle_timeout */
	STATS_CLOSE_SHUTDOWN,	/* iod stopped */
	STATS_CLOSE_PROXY,	/* its PROXY header failed, or its source */
	STATS_CLOSE_ERROR,	/* anything else */
	STATS_NCLOSES
};

/* What a reload came to. */
enum stats_reload {
	STATS_RELOAD_OK,
	STATS_RELOAD_FAILED,
	STATS_NRELOADS
};

/* Every counter of a slot, or their sum. */
struct stats_snapshot {
	uint64_t	accepted;	/* connections admitted */
	uint64_t	active;		/* connections open now (sums only) */
	uint64_t	rejected;	/* sum of reject[] */
	uint64_t	timed_out;	/* closed[STATS_CLOSE_IDLE] */
	uint64_t	bytes_in;	/* read from clients */
	uint64_t	bytes_out;	/* written to clients */
	uint64_t	spliced;	/* of bytes_in, moved by splice(2) */
	uint64_t	refused[STATS_NREFUSALS]; /* by enum stats_refusal */
	uint64_t	reject[STATS_NREJECTS];	/* by enum stats_reject */
	uint64_t	closed[STATS_NCLOSES];	/* by enum stats_close */
	uint64_t	pauses;		/* backpressure: reading stopped */
	uint64_t	paused_ms;	/* and for how long, once resumed */
	uint64_t	accept_pauses;	/* accept stopped after a failure */
	uint64_t	accept_paused_ms;
	uint64_t	reloads[STATS_NRELOADS]; /* by enum stats_reload */
	uint64_t	listener[STATS_LISTENERS]; /* accepted, by listener */
	uint64_t	sessions;	/* connections served and ended */
	uint64_t	duration_ms;	/* their lives, summed */
	uint64_t	duration[STATS_BUCKETS]; /* by stats_duration_bound */
	uint64_t	session_bytes;	/* what they sent and got, summed */
	uint64_t	bytes[STATS_BUCKETS];	/* by stats_bytes_bound */
};

/* Setup. */
int	stats_share(void);
void	stats_bind(int);
int	stats_listener(const char *);
const char *stats_listener_name(int);

/* Admission. */
void	stats_set_limit(uint64_t);
uint64_t stats_limit(void);
int	stats_admit(int);
void	stats_release(void);

/* Counting. */
void	stats_add_in(uint64_t);
void	stats_add_out(uint64_t);
void	stats_add_spliced(uint64_t);
void	stats_count_reject(enum stats_reject);
void	stats_count_refused(enum stats_refusal);
void	stats_count_close(enum stats_close);
void	stats_count_pause(void);
void	stats_add_paused(uint64_t);
void	stats_count_accept_pause(uint64_t);
void	stats_count_reload(enum stats_reload);
void	stats_count_session(uint64_t, uint64_t);

/* Reading. */
void	stats_read(struct stats_snapshot *);
int	stats_read_slot(int, struct stats_snapshot *);
int	stats_slots(void);
const char *stats_refusal_name(enum stats_refusal);
const char *stats_reject_name(enum stats_reject);
const char *stats_close_name(enum stats_close);
const char *stats_reload_name(enum stats_reload);
uint64_t stats_duration_bound(int);
uint64_t stats_bytes_bound(int);

#endif
