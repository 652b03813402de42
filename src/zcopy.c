/*
 * Zero-copy echo.  In echo mode nothing in iod needs to see the bytes, so
 * a connection that streams moves them with splice(2): from its socket
 * into a pipe of its own and from the pipe back into the socket, inside
 * the kernel, with no copy through user space.  A pipe costs two
 * descriptors and a syscall or two to set up, which a short exchange
 * never earns back, so a connection switches only once a single read has
 * brought splice_min_read bytes: the mark of a client that streams
 * (bench/README.md, "Zero-copy echo", measured where the switch pays).
 *
 * The rules stay the core's.  What the pipe holds is owed to the client
 * like what sits in an output buffer: the engine adds zcopy_held() to
 * what it owes, never splices in more than max_pending_bytes minus that,
 * and sizes the pipe to max_pending_bytes (F_SETPIPE_SZ), so what a
 * connection holds stays bounded as before.  Spliced bytes count as read
 * and written, and once more as spliced, for the SIGUSR1 line.
 *
 * The open-file limit is fitted to max_connections first (fdlimit.c);
 * what it leaves over pays for pipes, two descriptors each, and the
 * budget says how many may exist at once.  A connection that finds the
 * budget spent, or pipe() failing (EMFILE, ENFILE, ENOMEM), or the pipe
 * not growing to its size, simply goes on with recv() and send(): no
 * connection is refused or dropped for want of a pipe, and it does not
 * ask again.
 *
 * The pipes live in a table by the connection's descriptor, like the
 * core's: address space for a slot per descriptor the kernel could hand
 * out, backed only where a connection has had a pipe.  A slot belongs to
 * the worker that owns the descriptor.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "log.h"
#include "ratelimit.h"
#include "stats.h"
#include "transform.h"
#include "zcopy.h"

/*
 * The largest pipe asked for.  Larger needs CAP_SYS_RESOURCE (it is
 * fs.pipe-max-size, 1 MiB by default) and brings nothing: the socket's
 * send buffer is smaller still.
 */
#define ZCOPY_PIPE_MAX	(1024 * 1024)

struct zcopy_pipe {
	int		z_rd;		/* the pipe's ends */
	int		z_wr;
	uint32_t	z_held;		/* bytes in the pipe */
	uint32_t	z_room;		/* the most it may hold; 0: no pipe */
	int		z_refused;	/* could not have one: do not ask */
};

static struct zcopy_pipe	*zcopy_table;
static size_t			 zcopy_nslots;
static pthread_once_t		 zcopy_once = PTHREAD_ONCE_INIT;
static _Atomic long		 zcopy_budget;
static _Atomic long		 zcopy_open_now;
static struct ratelimit		 zcopy_rl = RATELIMIT_INITIALIZER(1);

static void	zcopy_map(void);
static struct zcopy_pipe *zcopy_at(int);
static int	zcopy_claim(void);
static int	zcopy_pipe(int *, int);
static void	zcopy_refused(const char *);

/*
 * Map the table of pipes, once per process, after the core's table.
 * Without the address space for it, no connection splices.
 */
void
zcopy_init(void)
{
	pthread_once(&zcopy_once, zcopy_map);
}

/* Address space for a pipe per slot of the core's table. */
static void
zcopy_map(void)
{
	size_t	 n = conn_table_size();
	void	*p;

	p = mmap(NULL, n * sizeof(*zcopy_table), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("cannot map the table of pipes: echo without splice");
		return;
	}
	zcopy_table = p;
	zcopy_nslots = n;
}

/*
 * How many pipes may be open at once: what the open-file limit leaves
 * over once max_connections are fitted, two descriptors a pipe.  Pipes
 * already open stay open when a reload lowers it.
 */
void
zcopy_set_budget(long pipes)
{
	atomic_store(&zcopy_budget, pipes > 0 ? pipes : 0);
}

/* How many pipes are open now. */
long
zcopy_pipes(void)
{
	return (atomic_load(&zcopy_open_now));
}

/* The slot of connection fd. */
static struct zcopy_pipe *
zcopy_at(int fd)
{
	return (&zcopy_table[fd]);
}

/*
 * Should connection c, which has just read n bytes in one call, move to
 * splice from here on?  Only in echo mode, only when splice_min_read
 * allows it, and only once.
 */
int
zcopy_wanted(const struct conn *c, const struct iod_conf *conf, size_t n)
{
	int	fd = conn_fd(c);

	return (c->c_mode == TRANSFORM_ECHO && conf->splice_min_read > 0 &&
	    n >= (size_t)conf->splice_min_read && zcopy_table != NULL &&
	    (size_t)fd < zcopy_nslots && zcopy_at(fd)->z_room == 0 &&
	    !zcopy_at(fd)->z_refused);
}

/*
 * Give connection c a pipe the size of its max_pending_bytes, its ends
 * numbered lowest or above.  Return 0, or -1 when it must go on without
 * one, for good (the reason is logged, at most once a second).
 */
int
zcopy_open(const struct conn *c, int lowest)
{
	struct zcopy_pipe	*z = zcopy_at(conn_fd(c));
	size_t			 want = c->c_max_pending;
	int			 fds[2], size;

	if (!zcopy_claim()) {
		z->z_refused = 1;
		zcopy_refused("no descriptors to spare under the open-file "
		    "limit");
		return (-1);
	}
	if (zcopy_pipe(fds, lowest) == -1) {
		atomic_fetch_sub(&zcopy_open_now, 1);
		z->z_refused = 1;
		zcopy_refused(strerror(errno));
		return (-1);
	}
	if (want > ZCOPY_PIPE_MAX)
		want = ZCOPY_PIPE_MAX;
	size = fcntl(fds[0], F_GETPIPE_SZ);
	if (size != -1 && (size_t)size < want)
		size = fcntl(fds[0], F_SETPIPE_SZ, (int)want);
	if (size == -1) {
		z->z_refused = 1;
		zcopy_refused(strerror(errno));
		close(fds[0]);
		close(fds[1]);
		atomic_fetch_sub(&zcopy_open_now, 1);
		return (-1);
	}
	z->z_rd = fds[0];
	z->z_wr = fds[1];
	z->z_held = 0;
	z->z_room = (uint32_t)((size_t)size < want ? (size_t)size : want);
	return (0);
}

/*
 * Make a nonblocking pipe whose ends are numbered lowest or above: select
 * cannot watch a descriptor from FD_SETSIZE on, and a pipe, which is never
 * watched, must not take a number below it that a connection could have.
 * Return -1 with errno on failure.
 */
static int
zcopy_pipe(int *fds, int lowest)
{
	int	i, fd, saved;

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1)
		return (-1);
	for (i = 0; i < 2 && lowest > 0; i++) {
		if (fds[i] >= lowest)
			continue;
		if ((fd = fcntl(fds[i], F_DUPFD_CLOEXEC, lowest)) == -1) {
			saved = errno;
			close(fds[0]);
			close(fds[1]);
			errno = saved;
			return (-1);
		}
		close(fds[i]);
		fds[i] = fd;
	}
	return (0);
}

/* Take a place under the budget of pipes; 0 when it is spent. */
static int
zcopy_claim(void)
{
	long	n = atomic_load(&zcopy_open_now);

	do {
		if (n >= atomic_load(&zcopy_budget))
			return (0);
	} while (!atomic_compare_exchange_weak(&zcopy_open_now, &n, n + 1));
	return (1);
}

/* A connection goes on without a pipe: say why, at most once a second. */
static void
zcopy_refused(const char *why)
{
	unsigned long	n;

	if (ratelimit_allow(&zcopy_rl, &n))
		log_info("echoing without splice (%lu connections): %s", n,
		    why);
}

/* Has connection fd a pipe? */
int
zcopy_active(int fd)
{
	return (zcopy_table != NULL && (size_t)fd < zcopy_nslots &&
	    zcopy_at(fd)->z_room != 0);
}

/* Bytes in connection fd's pipe, owed to its client. */
size_t
zcopy_held(int fd)
{
	if (!zcopy_active(fd))
		return (0);
	return (zcopy_at(fd)->z_held);
}

/*
 * Close connection fd's pipe, if it has one, and forget what it held, or
 * that it could not have one: the descriptor's next connection may.
 */
void
zcopy_close(int fd)
{
	struct zcopy_pipe	*z;

	if (zcopy_table == NULL || (size_t)fd >= zcopy_nslots)
		return;
	z = zcopy_at(fd);
	if (z->z_room == 0) {
		/* Untouched slots stay unbacked: write only what changes. */
		if (z->z_refused)
			z->z_refused = 0;
		return;
	}
	close(z->z_rd);
	close(z->z_wr);
	memset(z, 0, sizeof(*z));
	atomic_fetch_sub(&zcopy_open_now, 1);
}

/*
 * Splice at most max bytes from socket fd into its pipe, never beyond
 * the pipe's room.  Returns the bytes moved, 0 at the end of input, or
 * -1 with errno: EAGAIN when the socket had nothing, or the pipe had no
 * room (its slots can fill before its bytes do: one a segment).
 */
ssize_t
zcopy_in(int fd, size_t max)
{
	struct zcopy_pipe	*z = zcopy_at(fd);
	size_t			 room = z->z_room - z->z_held;
	ssize_t			 n;

	if (max > room)
		max = room;
	if (max == 0) {
		errno = EAGAIN;
		return (-1);
	}
	n = splice(fd, NULL, z->z_wr, NULL, max,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		z->z_held += (uint32_t)n;
		conn_moved_in(fd, (uint64_t)n);
		stats_add_spliced((uint64_t)n);
	}
	return (n);
}

/*
 * Splice what fd's pipe holds back into socket fd.  Returns the bytes
 * moved, or -1 with errno (EAGAIN: the socket takes no more now).
 */
ssize_t
zcopy_out(int fd)
{
	struct zcopy_pipe	*z = zcopy_at(fd);
	ssize_t			 n;

	if (z->z_held == 0)
		return (0);
	n = splice(z->z_rd, NULL, fd, NULL, z->z_held,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		z->z_held -= (uint32_t)n;
		conn_moved_out(fd, (uint64_t)n);
	}
	return (n);
}

/*
 * Copy at most len bytes of what fd's pipe holds into buf, for an engine
 * that must queue them itself.  Returns the bytes taken, or -1 with errno.
 */
ssize_t
zcopy_take(int fd, void *buf, size_t len)
{
	struct zcopy_pipe	*z = zcopy_at(fd);
	ssize_t			 n;

	if (len > z->z_held)
		len = z->z_held;
	if (len == 0)
		return (0);
	if ((n = read(z->z_rd, buf, len)) > 0)
		z->z_held -= (uint32_t)n;
	return (n);
}
