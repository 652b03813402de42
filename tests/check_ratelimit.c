/*
 * The ratelimit helper: the first event is logged, later ones within the
 * interval are counted instead, and the count comes with the next line.
 * ratelimit_allow() reads CLOCK_MONOTONIC_COARSE in whole seconds, so the
 * tests read the same clock to know which second their calls fell in.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "lib.h"
#include "ratelimit.h"

#define RT_CALLS	1000	/* suppressed calls in test_suppressed */
#define RT_BURST	5	/* suppressed calls in test_count_reported */
#define RT_TRIES	3	/* bursts tried, each within one second */
#define RT_UNTOUCHED	424242UL

static time_t	rt_now(void);

/* The second ratelimit_allow() would see now. */
static time_t
rt_now(void)
{
	struct timespec	ts;

	ck_assert_msg(clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0,
	    "clock_gettime: %s", strerror(errno));
	return (ts.tv_sec);
}

/* Proves the first event is allowed at once, with a count of 1. */
START_TEST(test_first_allowed)
{
	struct ratelimit	rl = RATELIMIT_INITIALIZER(60);
	unsigned long		n = RT_UNTOUCHED;
	int			r;

	r = ratelimit_allow(&rl, &n);
	ck_assert_msg(r == 1 && n == 1, "first call returned %d with count "
	    "%lu, want 1 and 1", r, n);
}
END_TEST

/*
 * Proves events within the interval are suppressed: with an interval of
 * an hour, every call after the first returns 0 and leaves the count
 * alone.
 */
START_TEST(test_suppressed)
{
	struct ratelimit	rl = RATELIMIT_INITIALIZER(3600);
	unsigned long		n = RT_UNTOUCHED;
	int			i, r;

	r = ratelimit_allow(&rl, &n);
	ck_assert_msg(r == 1 && n == 1, "first call returned %d with count "
	    "%lu, want 1 and 1", r, n);
	for (i = 0; i < RT_CALLS; i++) {
		n = RT_UNTOUCHED;
		r = ratelimit_allow(&rl, &n);
		ck_assert_msg(r == 0 && n == RT_UNTOUCHED, "call %d within "
		    "the interval returned %d and set the count to %lu",
		    i + 2, r, n);
	}
}
END_TEST

/*
 * Proves the suppressed events are counted and reported: with a 1 s
 * interval, a first call and RT_BURST more within the same second give
 * 1 then 0s; once the next second has begun, the next call is allowed
 * with a count of RT_BURST + 1.  A burst that straddles a second is
 * tried again (the clock ticks once a second, so that is rare); the one
 * sleep is to the start of the next second, about 1 s at most.
 */
START_TEST(test_count_reported)
{
	struct ratelimit	rl;
	struct timespec		ts, pause;
	unsigned long		n0, n[RT_BURST], last;
	time_t			before, after;
	int			r0, r[RT_BURST], i, try, waits;

	for (try = 0; try < RT_TRIES; try++) {
		rl = (struct ratelimit)RATELIMIT_INITIALIZER(1);
		before = rt_now();
		r0 = ratelimit_allow(&rl, &n0);
		for (i = 0; i < RT_BURST; i++) {
			n[i] = RT_UNTOUCHED;
			r[i] = ratelimit_allow(&rl, &n[i]);
		}
		after = rt_now();
		if (before == after)
			break;
	}
	ck_assert_msg(try < RT_TRIES, "%d bursts of %d calls each straddled a "
	    "second", RT_TRIES, RT_BURST + 1);
	ck_assert_msg(r0 == 1 && n0 == 1, "first call returned %d with count "
	    "%lu, want 1 and 1", r0, n0);
	for (i = 0; i < RT_BURST; i++)
		ck_assert_msg(r[i] == 0 && n[i] == RT_UNTOUCHED, "call %d in "
		    "the same second returned %d and set the count to %lu",
		    i + 2, r[i], n[i]);

	/* Sleep to just past the next second of the coarse clock. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	pause.tv_sec = 0;
	pause.tv_nsec = 1000000000L - ts.tv_nsec + 20 * 1000000L;
	if (ts.tv_sec > after)
		pause.tv_nsec = 0;
	if (pause.tv_nsec >= 1000000000L) {
		pause.tv_sec = 1;
		pause.tv_nsec -= 1000000000L;
	}
	nanosleep(&pause, NULL);
	/* The coarse clock lags by a tick: look again, 40 ms at most. */
	for (waits = 0; waits < 20 && rt_now() <= after; waits++) {
		pause.tv_sec = 0;
		pause.tv_nsec = 2 * 1000000L;
		nanosleep(&pause, NULL);
	}
	ck_assert_msg(rt_now() > after, "still second %jd after sleeping "
	    "past it", (intmax_t)rt_now());

	last = RT_UNTOUCHED;
	r0 = ratelimit_allow(&rl, &last);
	ck_assert_msg(r0 == 1 && last == RT_BURST + 1, "first call of the "
	    "next second returned %d with count %lu, want 1 and %d", r0, last,
	    RT_BURST + 1);
}
END_TEST

/* The ratelimit suite. */
Suite *
suite_ratelimit(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("ratelimit");
	tc = tcase_create("ratelimit");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_first_allowed);
	tcase_add_test(tc, test_suppressed);
	tcase_add_test(tc, test_count_reported);
	suite_add_tcase(s, tc);
	return (s);
}
