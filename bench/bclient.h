/*
 * iod-bench's client (bclient.c): its connections, and the threads that
 * open them, send, verify what comes back and count.  iod-bench.c sets
 * up what they share and runs them, one process or several.
 */
#ifndef IOD_BENCH_BCLIENT_H
#define IOD_BENCH_BCLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "opts.h"

#define EX_VERIFY	1
#define EX_SETUP	2
#define EX_REFUSED	3

#define CHUNK		(256 * 1024)	/* most bytes per read or write */
#define MAX_PENDING	256	/* connects in progress per thread */
#define DRAIN_SECS	15	/* bound on waiting for owed bytes at the end */
#define CONNECT_SECS	60	/* bound on opening every connection */

enum bconn_state { BC_CONNECTING, BC_OPEN, BC_SHUT, BC_DONE };

struct bconn {
	int			 c_fd;
	int			 c_id;
	enum bconn_state	 c_state;
	int			 c_wantout;	/* EPOLLOUT is armed */
	size_t			 c_base;	/* offset in the pattern */
	uint64_t		 c_tx;		/* bytes sent */
	uint64_t		 c_txgoal;	/* bytes to send so far */
	uint64_t		 c_rx;		/* bytes received and verified */
	uint64_t		 c_done;	/* messages answered in full */
	uint64_t		*c_sent_ns;	/* send times, ring of depth */
};

struct bthread {
	pthread_t	 t_thread;
	int		 t_idx;
	int		 t_ep;
	struct bconn	*t_conns;
	int		 t_nconns;
	int		 t_nopen;	/* connected (and, idle, answered once) */
	int		 t_nstarted;
	int		 t_npending;
	int		 t_nfinished;
	unsigned char	*t_buf;
	struct hist	 t_hist;
	uint64_t	 t_rtts;
	uint64_t	 t_bytes_out;
	uint64_t	 t_bytes_in;
	int		 t_measuring;
	int		 t_draining;	/* finish connections owed nothing */
};

/* Set up by iod-bench.c before the threads start; only running changes. */
extern struct opts		 opt;
extern unsigned char		*pattern, *xpattern;
extern pthread_barrier_t	 barrier;
extern atomic_int		 running;
extern int			 nthreads;

/* iod-bench.c: dying with a status, the clock. */
_Noreturn void	die(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
uint64_t	now_ns(void);

/* bclient.c: the threads. */
struct bthread	*setup_threads(int, int);
void		*bthread_main(void *);

#endif
