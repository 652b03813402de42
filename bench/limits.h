/* Fit a run into the open-file limit and the ephemeral port range. */
#ifndef IOD_BENCH_LIMITS_H
#define IOD_BENCH_LIMITS_H

#define LIMITS_CAUSE	256	/* size of the cause buffer */
#define LIMITS_SPARE	64	/* descriptors a process keeps for itself */
#define LIMITS_MAX_PROCS 256

/* Limits. */
int	limits_fit(int, int *, int *, int, char *);

#endif
