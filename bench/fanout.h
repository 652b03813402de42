/* Run a load over several processes that step through it together. */
#ifndef IOD_BENCH_FANOUT_H
#define IOD_BENCH_FANOUT_H

#include <stddef.h>

#define FANOUT_CAUSE	256	/* size of the cause buffers */

struct fanout;

/* Starting. */
struct fanout	*fanout_start(int, int *, char *);

/* In the parent. */
int		 fanout_wait(struct fanout *, int, char *);
int		 fanout_hold(struct fanout *, int, char *);
void		 fanout_release(struct fanout *);
int		 fanout_recv(struct fanout *, int, void *, size_t, int,
		    char *);
int		 fanout_end(struct fanout *, char *);
void		 fanout_kill(struct fanout *);

/* In a child. */
int		 fanout_sync(struct fanout *);
int		 fanout_send(struct fanout *, const void *, size_t);

#endif
