/*
 * The uring engine's declarations, shared by its two files:
 * engine_uring.c (workers: the ring, its requests, the receive buffers
 * and the listeners) and engine_uring_conn.c (connections).  Nothing else
 * includes this, and only when built with liburing.
 */
#ifndef IOD_ENGINE_URING_H
#define IOD_ENGINE_URING_H

#include <sys/queue.h>

#include <stdint.h>

#include <liburing.h>

#include "conn.h"

struct listener;
struct worker;

#define UR_NBUFS	1024	/* receive buffers per worker, at most: 2^n */
#define UR_BUFSZ	(64 * 1024) /* less than ENGINE_IO_MAX: UR_NBUFS of them */
#define UR_BGID		0	/* the buffer group of those buffers */

/* What a request is, in the low bits of its user data. */
enum ur_tag {
	UR_NOTIFY,		/* poll on the notify descriptor */
	UR_TICK,		/* the once-a-second timeout */
	UR_ACCEPT,		/* accept on a listener */
	UR_RECV,
	UR_SEND,
	UR_CANCEL		/* a cancellation; its result is not needed */
};
#define UR_TAG_MASK	7

/* Requests a connection has in flight. */
#define UR_OP_RECV	0x01
#define UR_OP_SEND	0x02

/* Transformed input, owed to the client. */
struct ur_out {
	uint32_t		 o_off;		/* first byte not yet sent */
	uint32_t		 o_len;
	uint32_t		 o_cap;
	unsigned char		 o_data[];
};

/*
 * A connection, from its accept until no request refers to it: the
 * core's part, then what the ring adds.
 */
struct ur_conn {
	struct conn		 uc_conn;
	unsigned char		 uc_ops;	/* UR_OP_*: in flight */
	unsigned char		 uc_starved;	/* on uw_starved */
	uint32_t		 uc_owed;	/* bytes not yet sent */
	struct ur_worker	*uc_uw;
	struct ur_out		*uc_sending;	/* what sends take from */
	struct ur_out		*uc_queued;	/* input that came meanwhile */
	TAILQ_ENTRY(ur_conn)	 uc_entry;	/* on uw_closed */
	TAILQ_ENTRY(ur_conn)	 uc_wait_entry;	/* on uw_starved */
};

TAILQ_HEAD(ur_conn_list, ur_conn);

/* A listener, and its one accept in flight. */
struct ur_listener {
	const struct listener	*l_src;
	int			 l_fd;
	int			 l_armed;	/* an accept is in flight */
	int			 l_cancelling;	/* and its cancel too */
	int			 l_gone;	/* dropped: never arm again */
	int64_t			 l_resume_at;	/* ms: paused until; 0: not */
};

/* A worker's ring, receive buffers, listeners and connections. */
struct ur_worker {
	struct worker		*uw_worker;
	struct io_uring		 uw_ring;
	int			 uw_ring_ok;
	struct io_uring_buf_ring *uw_br;
	unsigned char		*uw_bufs;	/* UR_NBUFS * UR_BUFSZ */
	int			 uw_nbufs;	/* provided so far */
	struct __kernel_timespec uw_tick;
	struct ur_listener	**uw_listeners;
	size_t			 uw_nlisteners;
	struct ur_conn_list	 uw_closed;	/* waiting for completions */
	struct ur_conn_list	 uw_starved;	/* waiting for a buffer */
	size_t			 uw_inflight;	/* requests not yet ended */
	int			 uw_notify_armed;
	int			 uw_tick_armed;
	int64_t			 uw_now;	/* ms, when the round began */
};

/* engine_uring.c: requests and receive buffers. */
uint64_t	 ur_ud(void *, enum ur_tag);
struct io_uring_sqe *ur_sqe(struct ur_worker *, void *, enum ur_tag);
int		 ur_cancel(struct ur_worker *, uint64_t);
void		 ur_bufs_grow(struct ur_worker *);
void		 ur_buf_put(struct ur_worker *, int);

/* engine_uring_conn.c: connections. */
void	ur_admit(struct ur_worker *, int);
void	ur_conn_recv_done(struct ur_conn *, int, unsigned);
void	ur_conn_send_done(struct ur_conn *, int);
void	ur_conn_next(struct ur_conn *);
void	ur_conn_drain(struct worker *, struct conn *, const char *);
void	ur_conn_close(struct worker *, struct conn *, const char *);
void	ur_conn_end(struct ur_conn *, const char *);

#endif
