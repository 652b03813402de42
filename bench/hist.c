/* hist: count latencies in log-linear buckets instead of keeping them. */
#include <stdint.h>

#include "hist.h"

static unsigned int	hist_index(uint64_t);
static uint64_t		hist_upper(unsigned int);

/*
 * Values below HIST_SUB get a bucket each.  Above, a value whose top bit
 * is e falls in one of HIST_SUB buckets of width 2^(e - HIST_SUB_BITS),
 * picked by the HIST_SUB_BITS bits after its top bit, so every bucket is
 * at most 1/32 of its value wide whatever the magnitude.
 */
static unsigned int
hist_index(uint64_t v)
{
	unsigned int	e;

	if (v < HIST_SUB)
		return ((unsigned int)v);
	e = 63 - (unsigned int)__builtin_clzll(v);
	return ((e - HIST_SUB_BITS + 1) * HIST_SUB +
	    (unsigned int)(v >> (e - HIST_SUB_BITS)) - HIST_SUB);
}

/* Return the largest value that falls in bucket i. */
static uint64_t
hist_upper(unsigned int i)
{
	unsigned int	e, sub;

	if (i < HIST_SUB)
		return (i);
	e = i / HIST_SUB + HIST_SUB_BITS - 1;
	sub = i % HIST_SUB;
	return ((((uint64_t)HIST_SUB + sub + 1) << (e - HIST_SUB_BITS)) - 1);
}

/* Count one value v. */
void
hist_add(struct hist *h, uint64_t v)
{
	h->h_count[hist_index(v)]++;
	h->h_n++;
	if (v > h->h_max)
		h->h_max = v;
}

/* Add every count of src to dst. */
void
hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned int	i;

	for (i = 0; i < HIST_BUCKETS; i++)
		dst->h_count[i] += src->h_count[i];
	dst->h_n += src->h_n;
	if (src->h_max > dst->h_max)
		dst->h_max = src->h_max;
}

/*
 * Return the value at quantile q (0 to 1): the upper edge of the bucket
 * holding it, never more than the largest value seen, 0 when empty.
 */
uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t	rank, seen = 0, v;
	unsigned int	i;

	if (h->h_n == 0)
		return (0);
	rank = (uint64_t)(q * (double)h->h_n);
	if (rank >= h->h_n)
		rank = h->h_n - 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->h_count[i];
		if (seen > rank)
			break;
	}
	v = hist_upper(i);
	return (v < h->h_max ? v : h->h_max);
}
