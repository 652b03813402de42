/*
 * The uring engine's connections (engine_uring_conn.c), as its workers
 * (engine_uring.c) see them.  Only those include this, and only when
 * built with liburing.
 */
#ifndef IOD_ENGINE_URING_CONN_H
#define IOD_ENGINE_URING_CONN_H

#include <sys/queue.h>

#include <stdint.h>

#include "conn.h"

struct ur_ring;
struct worker;

/*
 * The most a connection takes in the core's table: the core's part, the
 * requests in flight, what is owed and the lists below.
 */
#define UR_CONN_SIZE	128

TAILQ_HEAD(ur_conn_list, ur_conn);

/* What one worker's connections share. */
struct ur_conns {
	struct worker		*cs_worker;
	struct ur_ring		*cs_ring;
	struct ur_conn_list	 cs_closed;	/* waiting for completions */
	struct ur_conn_list	 cs_starved;	/* waiting for a buffer */
	int64_t			 cs_now;	/* ms, when the round began */
};

/* The worker's connections. */
void	ur_conns_init(struct ur_conns *, struct worker *, struct ur_ring *);
void	ur_admit(struct ur_conns *, const struct listener *, int);
void	ur_conns_retry(struct ur_conns *);
void	ur_conns_shutdown(struct ur_conns *);

/* Completions, and the core's drain and close. */
void	ur_conn_recv_done(struct conn *, int, unsigned);
void	ur_conn_send_done(struct conn *, int);
void	ur_conn_drain(struct worker *, struct conn *, const char *);
void	ur_conn_close(struct worker *, struct conn *, const char *);

#endif
