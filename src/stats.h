/* Counters shared by every worker, and admission under max_connections. */
#ifndef IOD_STATS_H
#define IOD_STATS_H

#include <stdint.h>

struct stats_snapshot {
	uint64_t	accepted;	/* connections admitted */
	uint64_t	active;		/* connections open now */
	uint64_t	rejected;	/* refused over max_connections */
	uint64_t	timed_out;	/* closed by idle_timeout */
	uint64_t	bytes_in;	/* read from clients */
	uint64_t	bytes_out;	/* written to clients */
	uint64_t	spliced;	/* of bytes_in, moved by splice(2) */
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

/* Reading. */
void	stats_read(struct stats_snapshot *);

#endif
