/* A log-linear latency histogram: fixed size, about 3% resolution. */
#ifndef IOD_BENCH_HIST_H
#define IOD_BENCH_HIST_H

#include <stdint.h>

/* 32 linear sub-buckets for each power of two up to 2^63 ns. */
#define HIST_SUB_BITS	5
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t	h_count[HIST_BUCKETS];
	uint64_t	h_n;
	uint64_t	h_max;
};

/* Histogram. */
void		hist_add(struct hist *, uint64_t);
void		hist_merge(struct hist *, const struct hist *);
uint64_t	hist_quantile(const struct hist *, double);

#endif
