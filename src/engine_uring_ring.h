/*
 * The uring engine's ring (engine_uring_ring.c), below its workers
 * (engine_uring.c) and its connections (engine_uring_conn.c).  Only
 * those include this, and only when built with liburing.
 */
#ifndef IOD_ENGINE_URING_RING_H
#define IOD_ENGINE_URING_RING_H

#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#define UR_NBUFS	1024	/* receive buffers per ring, at most: 2^n */
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

/* A worker's ring, its receive buffers, and its requests in flight. */
struct ur_ring {
	struct io_uring		 r_ring;
	int			 r_ok;		/* r_ring was set up */
	struct io_uring_buf_ring *r_br;
	unsigned char		*r_bufs;	/* UR_NBUFS * UR_BUFSZ */
	int			 r_nbufs;	/* provided so far */
	size_t			 r_inflight;	/* requests not yet ended */
};

/* Setting up. */
int	ur_ring_probe(char *, size_t);
int	ur_ring_init(struct ur_ring *, char *, size_t);
void	ur_ring_free(struct ur_ring *);

/* Receive buffers. */
void	ur_bufs_grow(struct ur_ring *, int);
void	ur_buf_put(struct ur_ring *, int);
unsigned char *ur_buf(const struct ur_ring *, int);

/* Requests. */
uint64_t ur_ud(void *, enum ur_tag);
struct io_uring_sqe *ur_sqe(struct ur_ring *, void *, enum ur_tag);
int	ur_cancel(struct ur_ring *, uint64_t);

#endif
