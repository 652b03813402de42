/*
 * xfbench: how fast transform_upper runs on one core, on 64 KiB buffers
 * (the size iod reads at once), with the code iod links.  It prints the
 * best of several rounds in GB/s (10^9 bytes per second), since the best
 * round is the one least disturbed by other work on the machine.
 *
 * usage: xfbench [--json] [rounds]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transform.h"

#define XB_BUF		(64 * 1024)
#define XB_NBUF		16		/* 1 MiB in all: stays in L2 */
#define XB_ROUND_NS	200000000ULL	/* each round runs about 0.2 s */

static uint64_t	xb_now(void);
static double	xb_round(unsigned char *);

/* Return the monotonic clock in nanoseconds. */
static uint64_t
xb_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

/*
 * Transform the buffers in turn for about XB_ROUND_NS; return GB/s.  The
 * input starts as random bytes over all 256 values; later passes see no
 * lower-case letters, which costs the same, because the routine has no
 * branch that depends on the data.
 */
static double
xb_round(unsigned char *bufs)
{
	uint64_t	start, end, bytes = 0;
	int		i;

	start = xb_now();
	do {
		for (i = 0; i < XB_NBUF; i++)
			transform_upper(bufs + (size_t)i * XB_BUF, XB_BUF);
		bytes += (uint64_t)XB_NBUF * XB_BUF;
		end = xb_now();
	} while (end - start < XB_ROUND_NS);
	return ((double)bytes / (double)(end - start));
}

/* Run the rounds and print the best one, and the input check. */
int
main(int argc, char **argv)
{
	unsigned char	*bufs;
	double		 gbs, best = 0;
	int		 rounds = 10, json = 0, i;
	size_t		 j;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if ((rounds = atoi(argv[i])) < 1 || rounds > 1000) {
			fprintf(stderr, "usage: xfbench [--json] [rounds]\n");
			return (64);
		}
	}
	if ((bufs = malloc((size_t)XB_NBUF * XB_BUF)) == NULL)
		return (71);
	srandom(1);
	for (j = 0; j < (size_t)XB_NBUF * XB_BUF; j++)
		bufs[j] = (unsigned char)random();
	for (i = 0; i < rounds; i++)
		if ((gbs = xb_round(bufs)) > best)
			best = gbs;
	if (json)
		printf("{\"bench\":\"transform_upper\",\"buffer\":%d,"
		    "\"rounds\":%d,\"best_gbps\":%.3f}\n", XB_BUF, rounds, best);
	else
		printf("transform_upper, %d KiB buffers, best of %d rounds: "
		    "%.2f GB/s\n", XB_BUF / 1024, rounds, best);
	free(bufs);
	return (0);
}
