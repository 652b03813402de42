/*
 * The fault shim, for tests only: an LD_PRELOAD object that makes the
 * calls iod depends on fail, at random or every Nth call, while a
 * control file exists (tests/fault/README.md).  Each wrapper either calls
 * through, or calls through with a shorter length (a short count: the
 * bytes moved are never misreported), or returns the error without
 * calling through, as the kernel or libc would have.
 *
 * The configuration is read once, by the shim's constructor, from
 * IOD_FAULT_SPEC, IOD_FAULT_SEED, IOD_FAULT_CTL and IOD_FAULT_COUNTS; the
 * counts go to a file mapped shared, so iod's threads and forked children
 * all count into it and a test reads it while iod runs.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "fault_spec.h"

#define FAULT_BOOT	(64 * 1024)	/* allocations made inside dlsym */

static struct fault_rule	 fault_rules[FAULT_NCALLS];
static struct fault_counts	 fault_none;
static struct fault_counts	*fault_counts = &fault_none;
static const char		*fault_ctl;	/* in fault_ctl_path */
static char			 fault_ctl_path[4096];
static uint64_t			 fault_seed;
/*
 * Volatile: glibc declares dlsym a leaf, so the compiler may assume it
 * never calls back here and drop "resolving" as a dead store; but its
 * errors allocate, through malloc below.
 */
static volatile int		 fault_state;	/* 0, 1 resolving, 2 done */
static __thread uint64_t	 fault_rnd;

static unsigned char		 fault_boot[FAULT_BOOT];
static size_t			 fault_boot_used;

static void	*(*real_malloc)(size_t);
static void	*(*real_calloc)(size_t, size_t);
static void	*(*real_realloc)(void *, size_t);
static void	*(*real_reallocarray)(void *, size_t, size_t);
static void	 (*real_free)(void *);
static int	 (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int	 (*real_accept)(int, struct sockaddr *, socklen_t *);
static ssize_t	 (*real_recv)(int, void *, size_t, int);
static ssize_t	 (*real_send)(int, const void *, size_t, int);
static ssize_t	 (*real_writev)(int, const struct iovec *, int);
static int	 (*real_epoll_ctl)(int, int, int, struct epoll_event *);
static int	 (*real_pipe2)(int *, int);
static int	 (*real_pipe)(int *);
static ssize_t	 (*real_splice)(int, loff_t *, int, loff_t *, size_t,
		    unsigned int);
static int	 (*real_fcntl)(int, int, ...);
static int	 (*real_uring_submit)(void *);
static int	 (*real_uring_submit_and_wait)(void *, unsigned);
static int	 (*real_uring_submit_and_wait_timeout)(void *, void **,
		    unsigned, void *, void *);

static void	 fault_init(void) __attribute__((__constructor__));
static void	 fault_resolve(void);
static void	 fault_map_counts(const char *);
static int	 fault_is_armed(void);
static uint64_t	 fault_random(void);
static int	 fault_pick(enum fault_call);
static size_t	 fault_shorten(size_t);
static void	*fault_boot_alloc(size_t);
static int	 fault_is_boot(const void *);

/* liburing's, declared here so that the shim needs no liburing headers. */
int	io_uring_submit(void *);
int	io_uring_submit_and_wait(void *, unsigned);
int	io_uring_submit_and_wait_timeout(void *, void **, unsigned, void *,
	    void *);

/* Look every real function up, once; allocations meanwhile are static. */
static void
fault_resolve(void)
{
	if (fault_state != 0)
		return;
	fault_state = 1;
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_reallocarray = dlsym(RTLD_NEXT, "reallocarray");
	real_free = dlsym(RTLD_NEXT, "free");
	real_accept4 = dlsym(RTLD_NEXT, "accept4");
	real_accept = dlsym(RTLD_NEXT, "accept");
	real_recv = dlsym(RTLD_NEXT, "recv");
	real_send = dlsym(RTLD_NEXT, "send");
	real_writev = dlsym(RTLD_NEXT, "writev");
	real_epoll_ctl = dlsym(RTLD_NEXT, "epoll_ctl");
	real_pipe2 = dlsym(RTLD_NEXT, "pipe2");
	real_pipe = dlsym(RTLD_NEXT, "pipe");
	real_splice = dlsym(RTLD_NEXT, "splice");
	real_fcntl = dlsym(RTLD_NEXT, "fcntl");
	real_uring_submit = dlsym(RTLD_NEXT, "io_uring_submit");
	real_uring_submit_and_wait = dlsym(RTLD_NEXT,
	    "io_uring_submit_and_wait");
	real_uring_submit_and_wait_timeout = dlsym(RTLD_NEXT,
	    "io_uring_submit_and_wait_timeout");
	fault_state = 2;
}

/*
 * Read the environment: the rules, the seed, the control and the counts.
 * A constructor, because wrapped calls come earlier, from the dynamic
 * linker and the sanitizers' start-up, before the environment is there;
 * nothing fails until it has run.
 */
static void
fault_init(void)
{
	const char	*s;

	fault_resolve();

	if ((s = getenv("IOD_FAULT_SEED")) != NULL)
		fault_seed = strtoull(s, NULL, 0);
	/* A copy: iod may change its environment (sd_notify unsets). */
	if ((s = getenv("IOD_FAULT_CTL")) != NULL &&
	    strlen(s) < sizeof(fault_ctl_path)) {
		memcpy(fault_ctl_path, s, strlen(s) + 1);
		fault_ctl = fault_ctl_path;
	}
	if ((s = getenv("IOD_FAULT_COUNTS")) != NULL)
		fault_map_counts(s);
	if ((s = getenv("IOD_FAULT_SPEC")) != NULL)
		fault_spec_read(s, fault_rules);
}

/* Map the counts file at path, shared, creating it if need be. */
static void
fault_map_counts(const char *path)
{
	void	*p;
	int	 fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return;
	if (ftruncate(fd, sizeof(struct fault_counts)) == 0 &&
	    (p = mmap(NULL, sizeof(struct fault_counts), PROT_READ |
	    PROT_WRITE, MAP_SHARED, fd, 0)) != MAP_FAILED)
		fault_counts = p;
	close(fd);
}

/*
 * Faults are armed while IOD_FAULT_CTL names a file that exists (always,
 * without IOD_FAULT_CTL): one access(2) per call that has a rule, errno
 * kept, as the call may succeed.
 */
static int
fault_is_armed(void)
{
	int	armed, saved = errno;

	if (fault_ctl == NULL)
		return (1);
	armed = access(fault_ctl, F_OK) == 0;
	errno = saved;
	return (armed);
}

/* A thread's next random number (xorshift64*), seeded by IOD_FAULT_SEED. */
static uint64_t
fault_random(void)
{
	static uint64_t	threads;
	uint64_t	x = fault_rnd;

	if (x == 0)
		x = (fault_seed + 1) * 0x9E3779B97F4A7C15ULL ^
		    (__atomic_add_fetch(&threads, 1, __ATOMIC_RELAXED) *
		    0xBF58476D1CE4E5B9ULL) ^ (uint64_t)getpid();
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	fault_rnd = x != 0 ? x : 1;
	return (x * 0x2545F4914F6CDD1DULL);
}

/*
 * Whether this call to call fails: 0 to call through, FAULT_SHORT to
 * call through with less, or the error to return.  Counted.
 */
static int
fault_pick(enum fault_call call)
{
	const struct fault_rule	*r = &fault_rules[call];
	uint64_t		 n, x;
	int			 k;

	if (fault_state != 2 || r->fr_nerr == 0 || !fault_is_armed())
		return (0);
	n = __atomic_add_fetch(&fault_counts->fc_calls[call], 1,
	    __ATOMIC_RELAXED);
	x = fault_random();
	if (r->fr_every != 0 ? n % r->fr_every != 0 :
	    (uint32_t)(x >> 32) >= r->fr_below)
		return (0);
	k = (int)(x % (uint64_t)r->fr_nerr);
	__atomic_add_fetch(&fault_counts->fc_faults[call][k], 1,
	    __ATOMIC_RELAXED);
	return (r->fr_err[k]);
}

/* A short count for len: 1 to len - 1 bytes, or len when it is 1. */
static size_t
fault_shorten(size_t len)
{
	return (len <= 1 ? len : 1 + fault_random() % (len - 1));
}

/* Memory for dlsym() before the real allocator is known; never freed. */
static void *
fault_boot_alloc(size_t size)
{
	void	*p;

	size = (size + 15) & ~(size_t)15;
	if (size > FAULT_BOOT - fault_boot_used)
		return (NULL);
	p = fault_boot + fault_boot_used;
	fault_boot_used += size;
	return (p);
}

/* Whether p came from fault_boot_alloc(). */
static int
fault_is_boot(const void *p)
{
	return ((const unsigned char *)p >= fault_boot &&
	    (const unsigned char *)p < fault_boot + FAULT_BOOT);
}

/* Fail with e: errno set, -1 returned. */
#define FAULT_FAIL(e)	do { errno = (e); return (-1); } while (0)

void *
malloc(size_t size)
{
	int	e;

	fault_resolve();
	if (fault_state == 1)
		return (fault_boot_alloc(size));
	if ((e = fault_pick(FAULT_MALLOC)) > 0) {
		errno = e;
		return (NULL);
	}
	return (real_malloc(size));
}

void *
calloc(size_t n, size_t size)
{
	int	e;

	fault_resolve();
	if (fault_state == 1)
		return (size != 0 && n > SIZE_MAX / size ? NULL :
		    fault_boot_alloc(n * size));	/* static: zeroed */
	if ((e = fault_pick(FAULT_CALLOC)) > 0) {
		errno = e;
		return (NULL);
	}
	return (real_calloc(n, size));
}

void *
realloc(void *p, size_t size)
{
	void	*q;
	int	 e;

	fault_resolve();
	if (fault_is_boot(p)) {
		/* Copies at most size bytes; the boot area ends after p. */
		if ((q = malloc(size)) != NULL)
			memcpy(q, p, size < (size_t)(fault_boot + FAULT_BOOT -
			    (unsigned char *)p) ? size : (size_t)(fault_boot +
			    FAULT_BOOT - (unsigned char *)p));
		return (q);
	}
	if (size > 0 && (e = fault_pick(FAULT_REALLOC)) > 0) {
		errno = e;
		return (NULL);
	}
	return (real_realloc(p, size));
}

void *
reallocarray(void *p, size_t n, size_t size)
{
	int	e;

	fault_resolve();
	if (fault_is_boot(p) || real_reallocarray == NULL)
		return (size != 0 && n > SIZE_MAX / size ? NULL :
		    realloc(p, n * size));
	if (n * size > 0 && (e = fault_pick(FAULT_REALLOC)) > 0) {
		errno = e;
		return (NULL);
	}
	return (real_reallocarray(p, n, size));
}

void
free(void *p)
{
	fault_resolve();
	if (p != NULL && !fault_is_boot(p))
		real_free(p);
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_ACCEPT4)) > 0)
		FAULT_FAIL(e);
	return (real_accept4(fd, sa, len, flags));
}

int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_ACCEPT4)) > 0)
		FAULT_FAIL(e);
	return (real_accept(fd, sa, len));
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	int	e;

	fault_resolve();
	/* A peek must see what a later read will take: left alone. */
	if (!(flags & MSG_PEEK) && (e = fault_pick(FAULT_RECV)) != 0) {
		if (e != FAULT_SHORT)
			FAULT_FAIL(e);
		len = fault_shorten(len);
	}
	return (real_recv(fd, buf, len, flags));
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_SEND)) != 0) {
		if (e != FAULT_SHORT)
			FAULT_FAIL(e);
		len = fault_shorten(len);
	}
	return (real_send(fd, buf, len, flags));
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	struct iovec	one;
	int		e;

	fault_resolve();
	if (cnt > 0 && (e = fault_pick(FAULT_WRITEV)) != 0) {
		if (e != FAULT_SHORT)
			FAULT_FAIL(e);
		/* Part of the first buffer only. */
		one.iov_base = iov[0].iov_base;
		one.iov_len = fault_shorten(iov[0].iov_len);
		return (real_writev(fd, &one, 1));
	}
	return (real_writev(fd, iov, cnt));
}

int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int	e;

	fault_resolve();
	/*
	 * Only adding takes anything from the kernel (memory, one of
	 * max_user_watches): changing and removing are not failed.
	 */
	if (op == EPOLL_CTL_ADD && (e = fault_pick(FAULT_EPOLL_CTL)) > 0)
		FAULT_FAIL(e);
	return (real_epoll_ctl(epfd, op, fd, ev));
}

int
pipe2(int fds[2], int flags)
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_PIPE2)) > 0)
		FAULT_FAIL(e);
	return (real_pipe2(fds, flags));
}

int
pipe(int fds[2])
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_PIPE2)) > 0)
		FAULT_FAIL(e);
	return (real_pipe(fds));
}

ssize_t
splice(int in, loff_t *inoff, int out, loff_t *outoff, size_t len,
    unsigned int flags)
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_SPLICE)) != 0) {
		if (e != FAULT_SHORT)
			FAULT_FAIL(e);
		len = fault_shorten(len);
	}
	return (real_splice(in, inoff, out, outoff, len, flags));
}

int
fcntl(int fd, int cmd, ...)
{
	va_list	 ap;
	void	*arg;
	int	 e;

	/* Every command takes at most one argument, an int or a pointer. */
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	fault_resolve();
	/* Only the commands that change something: a query cannot fail. */
	if (cmd != F_GETFL && cmd != F_GETFD &&
	    (e = fault_pick(FAULT_FCNTL)) > 0)
		FAULT_FAIL(e);
	return (real_fcntl(fd, cmd, arg));
}

/*
 * liburing 2.3 enters the kernel with its own inline system calls, so the
 * submission is failed at its library calls, as it fails there: a
 * negative errno, with the queued entries left for the next submission.
 */
int
io_uring_submit(void *ring)
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_URING_SUBMIT)) > 0)
		return (-e);
	return (real_uring_submit(ring));
}

int
io_uring_submit_and_wait(void *ring, unsigned nr)
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_URING_SUBMIT)) > 0)
		return (-e);
	return (real_uring_submit_and_wait(ring, nr));
}

int
io_uring_submit_and_wait_timeout(void *ring, void **cqe, unsigned nr,
    void *ts, void *sigmask)
{
	int	e;

	fault_resolve();
	if ((e = fault_pick(FAULT_URING_SUBMIT)) > 0)
		return (-e);
	return (real_uring_submit_and_wait_timeout(ring, cqe, nr, ts,
	    sigmask));
}
