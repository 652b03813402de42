/* The pseudo-random bytes that every connection sends a window of. */
#ifndef IOD_BENCH_PATTERN_H
#define IOD_BENCH_PATTERN_H

#include <stddef.h>

#include "transform.h"

/* Odd, so that message boundaries drift over the pattern. */
#define PATTERN_LEN	((1 << 20) + 7)

/* Pattern. */
int	pattern_make(enum transform_mode, size_t, unsigned char **,
	    unsigned char **);

#endif
