/* "Log at most once per interval, and say how many were suppressed." */
#ifndef IOD_RATELIMIT_H
#define IOD_RATELIMIT_H

#include <pthread.h>
#include <time.h>

struct ratelimit {
	pthread_mutex_t	 rl_lock;	/* shared by every worker */
	time_t		 rl_interval;	/* seconds between lines */
	time_t		 rl_last;	/* when the last line was allowed */
	unsigned long	 rl_count;	/* events since then */
};

#define RATELIMIT_INITIALIZER(secs) \
	{ PTHREAD_MUTEX_INITIALIZER, (secs), 0, 0 }

/* Query. */
int	ratelimit_allow(struct ratelimit *, unsigned long *);

#endif
