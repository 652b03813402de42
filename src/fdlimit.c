/*
 * Every connection costs a descriptor, so the open-file limit must fit
 * max_connections plus a reserve.  Raise the soft limit as far as needed
 * (and the hard limit too, which only root may do); when even that is not
 * enough, the caller lowers max_connections rather than letting accept()
 * fail with EMFILE under load.
 *
 * Some connections may use more descriptors, if there are any: in echo
 * mode, a connection that streams splices through a pipe of its own, two
 * descriptors more (zcopy.c).  Those are asked for too, but never at the
 * cost of a connection: the limit is raised to cover them where it can,
 * and what is left over once max_connections fit is the pipes' budget.
 */
#include <sys/resource.h>

#include "fdlimit.h"

/*
 * Make room for wanted connections, and extra descriptors beyond them if
 * the limit can be raised that far.  Return 0 when the connections fit,
 * or 1 with *effective lowered to what fits; *limit is set to the limit
 * in force either way.
 */
int
fdlimit_fit(int wanted, long extra, int *effective, long *limit)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)wanted + FDLIMIT_RESERVE;
	rlim_t		want = need + (rlim_t)(extra > 0 ? extra : 0);

	*effective = wanted;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (0);
	if (rl.rlim_cur >= want) {
		*limit = (long)rl.rlim_cur;
		return (0);
	}
	if (rl.rlim_max < want) {
		struct rlimit	raised = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
			*limit = (long)want;
			return (0);
		}
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	*limit = (long)rl.rlim_cur;
	if (rl.rlim_cur >= need)
		return (0);
	*effective = rl.rlim_cur > FDLIMIT_RESERVE + 1 ?
	    (int)(rl.rlim_cur - FDLIMIT_RESERVE) : 1;
	return (1);
}

/* The descriptors limit leaves over once conns connections fit. */
long
fdlimit_spare(int conns, long limit)
{
	long	spare = limit - FDLIMIT_RESERVE - conns;

	return (spare > 0 ? spare : 0);
}
