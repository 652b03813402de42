/*
 * The uring engine's ring: setting it up, what the kernel must offer,
 * requests and their user data, cancellation, and the receive buffers
 * the kernel picks from when data arrives.  Below both of the engine's
 * other files: engine_uring.c runs workers and listeners over a ring,
 * engine_uring_conn.c connections.  Built only with liburing.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <liburing.h>

#include "engine_uring_ring.h"

#define UR_SQ_ENTRIES	256	/* submissions per batch; more flush early */
#define UR_CQ_ENTRIES	4096	/* the kernel keeps any overflow */
#define UR_NBUFS_FIRST	8	/* provided at first */

static int	ur_probe_ops(struct io_uring *, char *, size_t);
static struct io_uring_buf_ring *ur_br_setup(struct io_uring *, unsigned,
		    char *, size_t);
static int	ur_ring_setup(struct ur_ring *, char *, size_t);
static int	ur_bufs_init(struct ur_ring *, char *, size_t);

/*
 * Create a small ring and check that the kernel offers every request this
 * engine uses, and takes a provided buffer ring (Linux 5.19).
 */
int
ur_ring_probe(char *cause, size_t len)
{
	struct io_uring			 ring;
	struct io_uring_buf_ring	*br = NULL;
	int				 error;

	if ((error = io_uring_queue_init(4, &ring, 0)) < 0) {
		snprintf(cause, len, "io_uring_queue_init: %s",
		    strerror(-error));
		return (-1);
	}
	if (ur_probe_ops(&ring, cause, len) == 0)
		br = ur_br_setup(&ring, 1, cause, len);
	io_uring_queue_exit(&ring);
	if (br == NULL)
		return (-1);
	munmap(br, sizeof(struct io_uring_buf));
	return (0);
}

/* Check that the kernel offers every request this engine uses. */
static int
ur_probe_ops(struct io_uring *ring, char *cause, size_t len)
{
	static const struct {
		int		 op;
		const char	*name;
	} ops[] = {
		{ IORING_OP_ACCEPT, "IORING_OP_ACCEPT" },
		{ IORING_OP_RECV, "IORING_OP_RECV" },
		{ IORING_OP_SEND, "IORING_OP_SEND" },
		{ IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD" },
		{ IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT" },
		{ IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL" },
	};
	struct io_uring_probe	*p;
	size_t			 i;

	if ((p = io_uring_get_probe_ring(ring)) == NULL) {
		snprintf(cause, len, "io_uring_get_probe_ring failed");
		return (-1);
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!io_uring_opcode_supported(p, ops[i].op))
			break;
	if (i < sizeof(ops) / sizeof(ops[0]))
		snprintf(cause, len, "the kernel lacks %s", ops[i].name);
	io_uring_free_probe(p);
	return (i < sizeof(ops) / sizeof(ops[0]) ? -1 : 0);
}

/*
 * Set up ring r for one worker: the ring and its receive buffers.  On
 * failure, -1 and a cause; ur_ring_free() frees what was made.
 */
int
ur_ring_init(struct ur_ring *r, char *cause, size_t len)
{
	memset(r, 0, sizeof(*r));
	if (ur_ring_setup(r, cause, len) == -1 ||
	    ur_bufs_init(r, cause, len) == -1)
		return (-1);
	return (0);
}

/*
 * Create the ring.  Only its worker's thread ever submits to it, and
 * with DEFER_TASKRUN the kernel completes requests only when the worker
 * waits for them, instead of interrupting whatever system call it makes;
 * kernels before 6.1 lack that, so fall back to COOP_TASKRUN.
 */
static int
ur_ring_setup(struct ur_ring *r, char *cause, size_t len)
{
	struct io_uring_params	p;
	int			error;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
	    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = UR_CQ_ENTRIES;
	error = io_uring_queue_init_params(UR_SQ_ENTRIES, &r->r_ring, &p);
	if (error == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
		    IORING_SETUP_COOP_TASKRUN;
		p.cq_entries = UR_CQ_ENTRIES;
		error = io_uring_queue_init_params(UR_SQ_ENTRIES, &r->r_ring,
		    &p);
	}
	if (error < 0) {
		snprintf(cause, len, "io_uring_queue_init: %s",
		    strerror(-error));
		return (-1);
	}
	r->r_ok = 1;
	return (0);
}

/* Register an empty ring of n provided buffers as group UR_BGID. */
static struct io_uring_buf_ring *
ur_br_setup(struct io_uring *ring, unsigned n, char *cause, size_t len)
{
	struct io_uring_buf_reg		 reg;
	struct io_uring_buf_ring	*br;
	size_t				 size = n * sizeof(struct io_uring_buf);
	int				 error;

	br = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br == MAP_FAILED) {
		snprintf(cause, len, "mmap: %s", strerror(errno));
		return (NULL);
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)br;
	reg.ring_entries = n;
	reg.bgid = UR_BGID;
	if ((error = io_uring_register_buf_ring(ring, &reg, 0)) < 0) {
		snprintf(cause, len, "io_uring_register_buf_ring: %s "
		    "(Linux 5.19 or later is needed)", strerror(-error));
		munmap(br, size);
		return (NULL);
	}
	io_uring_buf_ring_init(br);
	return (br);
}

/*
 * The ring's receive buffers.  Idle connections hold none, and a
 * connection gives its buffer back as soon as the bytes are copied out
 * (ur_conn_input).  The kernel takes buffers in the order they were
 * given, so every buffer provided is soon touched: provide a few, and
 * more only when a recv finds none free, so that memory follows the
 * number of connections that receive at once.
 */
static int
ur_bufs_init(struct ur_ring *r, char *cause, size_t len)
{
	r->r_bufs = mmap(NULL, (size_t)UR_NBUFS * UR_BUFSZ,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0);
	if (r->r_bufs == MAP_FAILED) {
		r->r_bufs = NULL;
		snprintf(cause, len, "mmap: %s", strerror(errno));
		return (-1);
	}
	r->r_br = ur_br_setup(&r->r_ring, UR_NBUFS, cause, len);
	if (r->r_br == NULL)
		return (-1);
	ur_bufs_grow(r, UR_NBUFS_FIRST);
	return (0);
}

/* Free what ur_ring_init() made. */
void
ur_ring_free(struct ur_ring *r)
{
	if (r->r_ok)
		io_uring_queue_exit(&r->r_ring);
	if (r->r_br != NULL)
		munmap(r->r_br, UR_NBUFS * sizeof(struct io_uring_buf));
	if (r->r_bufs != NULL)
		munmap(r->r_bufs, (size_t)UR_NBUFS * UR_BUFSZ);
	memset(r, 0, sizeof(*r));
}

/*
 * Provide n more receive buffers, up to UR_NBUFS.  A recv that found
 * none free adds one: each starved recv is one connection receiving at
 * once, so the buffers follow that peak and no more (adding several at
 * a time made them overshoot it under churn: bench/soak).
 */
void
ur_bufs_grow(struct ur_ring *r, int n)
{
	int	i;

	for (i = 0; i < n && r->r_nbufs < UR_NBUFS; i++)
		ur_buf_put(r, r->r_nbufs++);
}

/* Give buffer bid back to the kernel. */
void
ur_buf_put(struct ur_ring *r, int bid)
{
	io_uring_buf_ring_add(r->r_br, ur_buf(r, bid), UR_BUFSZ,
	    (unsigned short)bid, io_uring_buf_ring_mask(UR_NBUFS), 0);
	io_uring_buf_ring_advance(r->r_br, 1);
}

/* Where buffer bid's bytes are. */
unsigned char *
ur_buf(const struct ur_ring *r, int bid)
{
	return (r->r_bufs + (size_t)bid * UR_BUFSZ);
}

/* A request's user data: the object it is for, and what it is. */
uint64_t
ur_ud(void *p, enum ur_tag tag)
{
	return ((uint64_t)(uintptr_t)p | (uint64_t)tag);
}

/*
 * A submission slot for a request on p, counted as in flight.  When the
 * queue is full, what is in it is submitted first; NULL means the kernel
 * would not take it.
 */
struct io_uring_sqe *
ur_sqe(struct ur_ring *r, void *p, enum ur_tag tag)
{
	struct io_uring_sqe	*sqe;

	if ((sqe = io_uring_get_sqe(&r->r_ring)) == NULL) {
		(void)io_uring_submit(&r->r_ring);
		if ((sqe = io_uring_get_sqe(&r->r_ring)) == NULL)
			return (NULL);
	}
	r->r_inflight++;
	io_uring_sqe_set_data64(sqe, ur_ud(p, tag));
	return (sqe);
}

/* Ask the kernel to cancel the requests with user data ud; 0: all. */
int
ur_cancel(struct ur_ring *r, uint64_t ud)
{
	struct io_uring_sqe	*sqe;

	if ((sqe = ur_sqe(r, NULL, UR_CANCEL)) == NULL)
		return (-1);
	io_uring_prep_cancel64(sqe, ud, IORING_ASYNC_CANCEL_ALL |
	    (ud == 0 ? IORING_ASYNC_CANCEL_ANY : 0));
	return (0);
}
