/* Counters shared by every worker, and admission under max_connections. */
#ifndef IOD_STATS_H
#define IOD_STATS_H

#include <stdint.h>

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

struct stats_snapshot {
	uint64_t	accepted;	/* connections admitted */
	uint64_t	active;		/* connections open now */
	uint64_t	rejected;	/* refused over max_connections */
	uint64_t	timed_out;	/* closed by idle_timeout */
	uint64_t	bytes_in;	/* read from clients */
	uint64_t	bytes_out;	/* written to clients */
	uint64_t	spliced;	/* of bytes_in, moved by splice(2) */
	uint64_t	refused[STATS_NREFUSALS]; /* by enum stats_refusal */
};

/* Setup. */
int	stats_share(void);

/* Admission. */
void	stats_set_limit(uint64_t);
uint64_t stats_limit(void);
int	stats_admit(void);
void	stats_release(void);

/* Counting. */
void	stats_add_in(uint64_t);
void	stats_add_out(uint64_t);
void	stats_add_spliced(uint64_t);
void	stats_count_timeout(void);
void	stats_count_reject(void);
void	stats_count_refused(enum stats_refusal);

/* Reading. */
void	stats_read(struct stats_snapshot *);
const char *stats_refusal_name(enum stats_refusal);

#endif
