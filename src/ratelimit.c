/*
 * "Log at most once per interval": one helper for every repeated warning
 * (accept failures, connections over max_connections, select's descriptor
 * limit), so no caller keeps timer code of its own.
 */
#include <pthread.h>
#include <time.h>

#include "ratelimit.h"

/*
 * Count one event.  Return 1 when a line may be logged now, with *count
 * set to the events since the last line (this one included); return 0
 * when the line is suppressed.
 */
int
ratelimit_allow(struct ratelimit *rl, unsigned long *count)
{
	struct timespec	now;
	int		allow = 0;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	pthread_mutex_lock(&rl->rl_lock);
	rl->rl_count++;
	if (rl->rl_last == 0 || now.tv_sec - rl->rl_last >= rl->rl_interval) {
		*count = rl->rl_count;
		rl->rl_count = 0;
		rl->rl_last = now.tv_sec;
		allow = 1;
	}
	pthread_mutex_unlock(&rl->rl_lock);
	return (allow);
}
