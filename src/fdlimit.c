/*
 * Every connection costs a descriptor, so the open-file limit must fit
 * max_connections plus a reserve.  Raise the soft limit as far as needed
 * (and the hard limit too, which only root may do); when even that is not
 * enough, the caller lowers max_connections rather than letting accept()
 * fail with EMFILE under load.
 */
#include <sys/resource.h>

#include "fdlimit.h"

/*
 * Make room for wanted connections.  Return 0 when they fit, or 1 with
 * *effective lowered to what fits and *limit set to the limit in force.
 */
int
fdlimit_fit(int wanted, int *effective, long *limit)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)wanted + FDLIMIT_RESERVE;

	*effective = wanted;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (0);
	if (rl.rlim_cur >= need) {
		*limit = (long)rl.rlim_cur;
		return (0);
	}
	if (rl.rlim_max < need) {
		struct rlimit	raised = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
			*limit = (long)need;
			return (0);
		}
	}
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	*limit = (long)rl.rlim_cur;
	if (rl.rlim_cur >= need)
		return (0);
	*effective = rl.rlim_cur > FDLIMIT_RESERVE + 1 ?
	    (int)(rl.rlim_cur - FDLIMIT_RESERVE) : 1;
	return (1);
}
