/*
 * pattern: every connection sends a window of one shared random pattern,
 * starting at its own offset, so nothing is generated per byte: sends
 * point into the pattern and replies are compared with memcmp against
 * the pattern transformed once at start.  The buffers run some slack
 * past PATTERN_LEN with the pattern's start again, so that any window up
 * to the slack is contiguous.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "transform.h"

/*
 * Fill *pat with bytes from a fixed-seed xorshift generator (every value
 * 0-255 appears) and *xpat with their transform by the real transform:
 * the reference is the one iod links.  Return -1 when out of memory.
 */
int
pattern_make(enum transform_mode mode, size_t slack, unsigned char **pat,
    unsigned char **xpat)
{
	uint64_t	x = 0x9e3779b97f4a7c15ULL;
	size_t		i;

	*pat = malloc(PATTERN_LEN + slack);
	*xpat = malloc(PATTERN_LEN + slack);
	if (*pat == NULL || *xpat == NULL) {
		free(*pat);
		free(*xpat);
		return (-1);
	}
	for (i = 0; i < PATTERN_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		(*pat)[i] = (unsigned char)(x >> 56);
	}
	memcpy(*pat + PATTERN_LEN, *pat, slack);
	memcpy(*xpat, *pat, PATTERN_LEN + slack);
	transform_apply(mode, *xpat, PATTERN_LEN + slack);
	return (0);
}
