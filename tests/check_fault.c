/*
 * Fault injection: the real iod on 127.0.0.1:0 under every production
 * engine, with the fault shim (tests/fault/README.md) preloaded, so that
 * the calls it depends on fail at random while clients talk to it.  iod
 * must not crash or hang, must not corrupt a byte of a connection it
 * keeps, must log why it closed one it had to close, and must serve
 * exactly once the faults stop.  The shim's counts prove the faults
 * happened; each run prints them.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"
#include "fault/fault.h"

#define F_CLIENTS	20		/* clients while faults are armed */
#define F_ROUNDS	8		/* round trips of a ping-pong client */
/*
 * The faults, by call.  Under edge-triggered epoll the kernel's EAGAIN,
 * and a read shorter than asked, both mean "drained, wait for the next
 * edge"; the shim cannot make them true, so the epoll engine's rules
 * leave them out (F_ACCEPT_ET, F_IO_ET).  epoll_ctl fails only as it can:
 * adding (ENOMEM, ENOSPC at max_user_watches).
 */
#define F_MEM	"malloc:ENOMEM:p0.05,calloc:ENOMEM:p0.05," \
		"realloc:ENOMEM:p0.05"
#define F_ACCEPT "accept4:ECONNABORTED/EMFILE/ENFILE/ENOBUFS/EINTR/EAGAIN:n8"
#define F_ACCEPT_ET "accept4:ECONNABORTED/EMFILE/ENFILE/ENOBUFS/EINTR:n8"
#define F_SEND	"send:EINTR/EAGAIN/EPIPE/short:n12," \
		"writev:EINTR/EAGAIN/EPIPE/short:p0.05"
#define F_IO	"recv:EINTR/EAGAIN/ECONNRESET/short:n12," F_SEND
#define F_IO_ET	"recv:EINTR/ECONNRESET:n12," F_SEND
#define F_PIPES	"pipe2:EMFILE/ENFILE:n2,splice:EINTR/EAGAIN/ENOMEM/short:n3," \
		"fcntl:EPERM/EBUSY:p0.1"
#define F_PIPES_ET "pipe2:EMFILE/ENFILE:n2,splice:EINTR/ENOMEM:n3," \
		"fcntl:EPERM/EBUSY:p0.1"
/*
 * On blocking sockets (threads, fork) EAGAIN means SO_RCVTIMEO or
 * SO_SNDTIMEO ran out, which iod rightly takes for an idle timeout: left
 * out, as it would be a lie.
 */
#define F_IO_BLOCKING "recv:EINTR/ECONNRESET/short:n12," \
		"send:EINTR/EPIPE/short:n12"
/*
 * AddressSanitizer's runtime aborts when pthread_getattr_np() fails for
 * want of memory in a thread just started (asan_thread.cpp): under it,
 * the threads engine's allocations are not failed.
 */
#if defined(__SANITIZE_ADDRESS__)
#define F_MEM_THREADS	""
#else
#define F_MEM_THREADS	F_MEM
#endif
#define F_EPOLL	"epoll_ctl:ENOMEM/ENOSPC:n5"
#define F_URING	"io_uring_submit:EAGAIN/EBUSY/EINTR/ENOMEM:p0.1"
#define F_BIT(c)	(1u << (c))

/* A production engine, the faults it runs under and those it must meet. */
struct f_engine {
	const char	*fe_engine;
	const char	*fe_spec;
	unsigned	 fe_must;	/* F_BIT()s that must each see faults */
	unsigned	 fe_must_io;	/* one at least of these */
	unsigned	 fe_must_echo;	/* in echo mode, one at least of these */
};

#define F_IO_CALLS	(F_BIT(FAULT_RECV) | F_BIT(FAULT_SEND) | \
			    F_BIT(FAULT_WRITEV))
#define F_ZC_CALLS	(F_BIT(FAULT_PIPE2) | F_BIT(FAULT_SPLICE))
static const struct f_engine f_engines[] = {
	{ "libevent", F_MEM "," F_ACCEPT "," F_IO "," F_PIPES "," F_EPOLL,
	    F_BIT(FAULT_ACCEPT4) | F_BIT(FAULT_EPOLL_CTL), F_IO_CALLS,
	    F_ZC_CALLS },
	{ "select", F_MEM "," F_ACCEPT "," F_IO "," F_PIPES,
	    F_BIT(FAULT_ACCEPT4), F_IO_CALLS, F_ZC_CALLS },
	{ "poll", F_MEM "," F_ACCEPT "," F_IO "," F_PIPES,
	    F_BIT(FAULT_ACCEPT4), F_IO_CALLS, F_ZC_CALLS },
	{ "epoll",
	    F_MEM "," F_ACCEPT_ET "," F_IO_ET "," F_PIPES_ET "," F_EPOLL,
	    F_BIT(FAULT_ACCEPT4) | F_BIT(FAULT_EPOLL_CTL), F_IO_CALLS,
	    F_ZC_CALLS },
	{ "threads", F_MEM_THREADS "," F_ACCEPT "," F_IO_BLOCKING,
	    F_BIT(FAULT_ACCEPT4), F_IO_CALLS, 0 },
	{ "fork", F_MEM "," F_ACCEPT "," F_IO_BLOCKING,
	    F_BIT(FAULT_ACCEPT4), F_IO_CALLS, 0 },
#ifdef HAVE_LIBURING
	{ "uring", F_MEM "," F_URING, F_BIT(FAULT_URING_SUBMIT), 0, 0 },
#endif
};

#define F_NENGINES	(int)(sizeof(f_engines) / sizeof(f_engines[0]))

/* What became of the clients of one run. */
struct f_tally {
	int	ft_kept;	/* every byte back, exactly */
	int	ft_closed;	/* closed by iod, with a logged reason */
};

static void	f_arm_env(const char *, const char *, const char *);
static void	f_disarm_env(void);
static void	f_arm(const char *);
static void	f_stop(struct t_iod *, char *, char *);
static struct t_iod *f_start(const char *, int, const char *, char **,
		    char **);
static int	f_client(struct t_iod *, int, uint64_t *, int, char *,
		    size_t);
static int	f_local_port(int);
static int	f_reason_logged(struct t_iod *, int);
static void	f_serves(struct t_iod *, uint64_t *);
static void	f_read_counts(const char *, struct fault_counts *);
static uint64_t	f_faults(const struct fault_counts *, int);
static void	f_report(const char *, const char *,
		    const struct fault_counts *, const struct f_tally *);

/*
 * Put the shim and its settings in the environment iod inherits (the test
 * process is already loaded: the preload affects only what it starts).
 * ASan insists on coming first among the preloaded objects; the shim
 * does not use it, and is allowed in front of it.
 */
static void
f_arm_env(const char *spec, const char *ctl, const char *counts)
{
	const char	*dir = getenv("IOD_BUILDDIR"), *old;
	char		*so, *asan;

	ck_assert_msg(dir != NULL, "IOD_BUILDDIR is not set");
	if (asprintf(&so, "%s/tests/fault/iodfault.so", dir) == -1)
		ck_abort_msg("asprintf failed");
	ck_assert_msg(access(so, R_OK) == 0, "%s: %s", so, strerror(errno));
	setenv("LD_PRELOAD", so, 1);
	setenv("IOD_FAULT_SPEC", spec, 1);
	setenv("IOD_FAULT_CTL", ctl, 1);
	setenv("IOD_FAULT_COUNTS", counts, 1);
	setenv("IOD_FAULT_SEED", "16", 1);
	old = getenv("ASAN_OPTIONS");
	if (asprintf(&asan, "%s%sverify_asan_link_order=0", old ? old : "",
	    old ? ":" : "") == -1)
		ck_abort_msg("asprintf failed");
	setenv("ASAN_OPTIONS", asan, 1);
	free(asan);
	free(so);
}

/* Take the shim out of the environment again. */
static void
f_disarm_env(void)
{
	unsetenv("LD_PRELOAD");
	unsetenv("IOD_FAULT_SPEC");
}

/*
 * Start iod for engine in mode ("upper" or "echo"), the shim preloaded
 * with spec but not armed: *ctl is the file whose existence arms it,
 * *counts the shim's counts.
 */
static struct t_iod *
f_start(const char *engine, int echo, const char *spec, char **ctl,
    char **counts)
{
	struct t_variant	 v = { engine, 1, 0 };
	struct t_iod		*iod;
	char			*conf;

	*ctl = t_write_tmp("");
	*counts = t_write_tmp("");
	unlink(*ctl);
	f_arm_env(spec, *ctl, *counts);
	conf = t_conf(&v, "listen = [\"127.0.0.1:0\"];\naccess_log = true;\n"
	    "mode = \"%s\";\nsplice_min_read = 4096;\n",
	    echo ? "echo" : "upper");
	iod = t_spawn_iod(conf, NULL);
	free(conf);
	f_disarm_env();
	return (iod);
}

/*
 * Let the faults begin: the shim fails calls only while its control
 * file exists; 50 ms pass before the test's first client.
 */
static void
f_arm(const char *ctl)
{
	int	fd;

	ck_assert_msg((fd = open(ctl, O_CREAT | O_WRONLY, 0644)) != -1,
	    "%s: %s", ctl, strerror(errno));
	close(fd);
	poll(NULL, 0, 50);
}

/* iod exits 0 on SIGTERM; its shim's files go. */
static void
f_stop(struct t_iod *iod, char *ctl, char *counts)
{
	t_expect_stop(iod);
	unlink(counts);
	free(ctl);
	free(counts);
}

/* The local port of socket fd. */
static int
f_local_port(int fd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return (-1);
	return (ntohs(sin.sin_port));
}

/*
 * Whether iod logged why it closed the client from local port port: its
 * access line, or for one refused before it was served, the refusal.
 */
static int
f_reason_logged(struct t_iod *iod, int port)
{
	char	needle[64];

	snprintf(needle, sizeof(needle), " port=%d listener=", port);
	if (t_wait_log(iod, needle, t_ms(3000)) != NULL)
		return (1);
	return (t_wait_log(iod, "refused ", 0) != NULL ||
	    t_wait_log(iod, "rejected ", 0) != NULL ||
	    t_wait_log(iod, "out of memory", 0) != NULL);
}

/*
 * One client: a ping-pong of F_ROUNDS messages, or (stream) 64 to 512 KiB
 * sent in one go and shut down, read back to EOF.  Every byte that comes
 * back must be right.  Return 1 if all came back, 0 if iod closed the
 * connection early, -1 with a message in err on a hang or a wrong byte.
 */
static int
f_client(struct t_iod *iod, int stream, uint64_t *rnd, int mode_echo,
    char *err, size_t errlen)
{
	struct t_xfer	 x;
	unsigned char	*out, *in;
	size_t		 len, bad;
	int		 fd, round, rounds = stream ? 1 : F_ROUNDS, ret = 1;

	if ((fd = t_connect(iod->port[0])) == -1) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		return (-1);
	}
	len = stream ? 65536 + t_rand(rnd) % (448 * 1024) : 1 + t_rand(rnd) %
	    2000;
	if ((out = malloc(len)) == NULL || (in = malloc(len)) == NULL)
		ck_abort_msg("malloc %zu failed", len);
	for (round = 0; round < rounds && ret == 1; round++) {
		t_fill_random(out, len, rnd);
		t_xfer(fd, out, len, in, len, stream ? T_XFER_SHUT |
		    T_XFER_EOF : 0, t_ms(8000), &x);
		bad = t_mismatch(out, in, x.got, mode_echo ? 0 : 1);
		if (bad != x.got) {
			snprintf(err, errlen, "byte %zu of %zu wrong", bad,
			    len);
			ret = -1;
		} else if (x.timed_out) {
			snprintf(err, errlen, "no answer within %d ms: %zu of "
			    "%zu bytes sent, %zu back", t_ms(8000), x.sent,
			    len, x.got);
			ret = -1;
		} else if (x.got < len || x.extra > 0 || (stream && !x.eof))
			ret = 0;
	}
	if (ret == 0 && !f_reason_logged(iod, f_local_port(fd))) {
		snprintf(err, errlen, "closed (%zu bytes back, %s) with no "
		    "reason logged for port %d", x.got, x.error ?
		    strerror(x.error) : "EOF", f_local_port(fd));
		ret = -1;
	}
	close(fd);
	free(out);
	free(in);
	return (ret);
}

/*
 * With the faults stopped, iod serves a ping-pong client and a 1 MiB
 * stream exactly, within a wait long enough for an accept pause to end.
 */
static void
f_serves(struct t_iod *iod, uint64_t *rnd)
{
	struct t_xfer	 x;
	unsigned char	*out, *in;
	size_t		 len = 1024 * 1024;
	int		 fd, i;

	if ((out = malloc(len)) == NULL || (in = malloc(len)) == NULL)
		ck_abort_msg("malloc failed");
	for (i = 0; i < 2; i++) {
		fd = t_connect(iod->port[0]);
		ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
		t_fill_random(out, len, rnd);
		t_xfer(fd, out, i == 0 ? 100 : len, in, i == 0 ? 100 : len,
		    i == 0 ? 0 : T_XFER_SHUT | T_XFER_EOF, t_ms(10000), &x);
		ck_assert_msg(x.got == (i == 0 ? 100 : len) && !x.timed_out &&
		    x.error == 0 && (i == 0 || x.eof), "after the faults: "
		    "%zu bytes back, error %s, eof %d, timed out %d; "
		    "stderr:\n%s", x.got, t_strerror(x.error), x.eof,
		    x.timed_out, t_log_tail(iod));
		close(fd);
	}
	free(out);
	free(in);
}

/* Read the shim's counts from path. */
static void
f_read_counts(const char *path, struct fault_counts *fc)
{
	int	fd;

	memset(fc, 0, sizeof(*fc));
	fd = open(path, O_RDONLY);
	ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
	ck_assert_msg(pread(fd, fc, sizeof(*fc), 0) == (ssize_t)sizeof(*fc),
	    "%s: short read: the shim did not map it", path);
	close(fd);
}

/* Faults injected into call c. */
static uint64_t
f_faults(const struct fault_counts *fc, int c)
{
	uint64_t	n = 0;
	int		k;

	for (k = 0; k < FAULT_MAXERR; k++)
		n += fc->fc_faults[c][k];
	return (n);
}

/* Print the figures of one run: faults per call, clients kept, closed. */
static void
f_report(const char *engine, const char *mode, const struct fault_counts *fc,
    const struct f_tally *t)
{
	static const char	*names[] = FAULT_CALL_NAMES;
	char			 line[1024];
	size_t			 n;
	uint64_t		 total = 0;
	int			 c;

	n = (size_t)snprintf(line, sizeof(line), "fault: %s %s:", engine,
	    mode);
	for (c = 0; c < FAULT_NCALLS && n < sizeof(line); c++) {
		total += f_faults(fc, c);
		if (fc->fc_calls[c] > 0)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    " %s %llu/%llu", names[c],
			    (unsigned long long)f_faults(fc, c),
			    (unsigned long long)fc->fc_calls[c]);
	}
	printf("%s; %llu faults, clients kept %d, closed %d\n", line,
	    (unsigned long long)total, t->ft_kept, t->ft_closed);
	fflush(stdout);
}

/*
 * Every production engine, in upper and in echo mode (splicing, where the
 * engine splices), under every fault it can meet: no crash, no hang, no
 * wrong byte, a reason for every close, exact service after, exit 0.
 */
START_TEST(test_fault_engines)
{
	const struct f_engine	*fe = &f_engines[_i / 2];
	struct fault_counts	 fc;
	struct f_tally		 t = { 0, 0 };
	struct t_iod		*iod;
	uint64_t		 rnd = 0xfa17 + (uint64_t)_i;
	uint64_t		 io_faults = 0, echo_faults = 0;
	char			*ctl, *counts, err[256];
	int			 echo = _i % 2, i, r;

	iod = f_start(fe->fe_engine, echo, fe->fe_spec, &ctl, &counts);
	f_arm(ctl);
	for (i = 0; i < F_CLIENTS; i++) {
		r = f_client(iod, i % 2, &rnd, echo, err, sizeof(err));
		ck_assert_msg(r != -1, "%s %s, client %d: %s; stderr:\n%s",
		    fe->fe_engine, echo ? "echo" : "upper", i, err,
		    t_log_tail(iod));
		ck_assert_msg(kill(iod->pid, 0) == 0, "iod died: stderr:\n%s",
		    t_log_tail(iod));
		t.ft_kept += r == 1;
		t.ft_closed += r == 0;
	}
	unlink(ctl);
	poll(NULL, 0, 50);
	f_read_counts(counts, &fc);
	f_serves(iod, &rnd);
	ck_assert_msg(kill(iod->pid, 0) == 0, "iod died: stderr:\n%s",
	    t_log_tail(iod));
	f_report(fe->fe_engine, echo ? "echo" : "upper", &fc, &t);
	for (i = 0; i < FAULT_NCALLS; i++) {
		ck_assert_msg(!(fe->fe_must & F_BIT(i)) || f_faults(&fc, i) > 0,
		    "%s: no fault injected into call %d (%llu calls)",
		    fe->fe_engine, i, (unsigned long long)fc.fc_calls[i]);
		if (fe->fe_must_io & F_BIT(i))
			io_faults += f_faults(&fc, i);
		if (echo && (fe->fe_must_echo & F_BIT(i)))
			echo_faults += f_faults(&fc, i);
	}
	/* Which of them a stream meets varies with timing: one at least. */
	ck_assert_msg(fe->fe_must_io == 0 || io_faults > 0, "%s: no fault "
	    "on recv, send or writev (%llu, %llu, %llu calls)", fe->fe_engine,
	    (unsigned long long)fc.fc_calls[FAULT_RECV],
	    (unsigned long long)fc.fc_calls[FAULT_SEND],
	    (unsigned long long)fc.fc_calls[FAULT_WRITEV]);
	ck_assert_msg(!echo || fe->fe_must_echo == 0 || echo_faults > 0,
	    "%s: no fault on the zero-copy path (pipe2 %llu, splice %llu "
	    "calls)", fe->fe_engine,
	    (unsigned long long)fc.fc_calls[FAULT_PIPE2],
	    (unsigned long long)fc.fc_calls[FAULT_SPLICE]);
	ck_assert_msg(t.ft_kept > 0, "%s: no client kept", fe->fe_engine);
	f_stop(iod, ctl, counts);
}
END_TEST

/*
 * accept4 failing with EMFILE or ENFILE at every call: iod pauses
 * accepting, says so, and serves the waiting client once the faults
 * stop.  (uring accepts inside the kernel, never through accept4.)
 */
START_TEST(test_fault_accept_pause)
{
	const struct f_engine	*fe = &f_engines[_i];
	struct fault_counts	 fc;
	struct t_iod		*iod;
	uint64_t		 rnd = 0xacce + (uint64_t)_i;
	char			*ctl, *counts;
	int			 fd;

	iod = f_start(fe->fe_engine, 0, "accept4:EMFILE/ENFILE:p1", &ctl,
	    &counts);
	f_arm(ctl);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_wait_log(iod, "pausing for", t_ms(3000)) != NULL,
	    "%s: no accept pause logged; stderr:\n%s", fe->fe_engine,
	    t_log_tail(iod));
	unlink(ctl);
	t_expect_roundtrip(fd, "after the pause\n", "AFTER THE PAUSE\n",
	    t_ms(5000), "%s: the waiting client", fe->fe_engine);
	close(fd);
	f_serves(iod, &rnd);
	f_read_counts(counts, &fc);
	ck_assert_msg(f_faults(&fc, FAULT_ACCEPT4) > 0, "%s: no accept4 "
	    "fault", fe->fe_engine);
	printf("fault: %s accept pause: accept4 %llu/%llu\n", fe->fe_engine,
	    (unsigned long long)f_faults(&fc, FAULT_ACCEPT4),
	    (unsigned long long)fc.fc_calls[FAULT_ACCEPT4]);
	f_stop(iod, ctl, counts);
}
END_TEST

/*
 * After an accept pause, watching the listener again fails too (epoll's
 * add: ENOSPC at max_user_watches): iod says so, tries again, and serves
 * the waiting client once it can.  Rows 0 and 3: libevent and epoll.
 */
START_TEST(test_fault_rewatch)
{
	const struct f_engine	*fe = &f_engines[_i == 0 ? 0 : 3];
	struct t_iod		*iod;
	char			*ctl, *counts;
	int			 fd;

	iod = f_start(fe->fe_engine, 0, "accept4:EMFILE:p1,"
	    "epoll_ctl:ENOSPC:p1", &ctl, &counts);
	f_arm(ctl);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_wait_log(iod, "cannot watch listener", t_ms(4000)) !=
	    NULL, "%s: no failure to watch the listener logged; stderr:\n%s",
	    fe->fe_engine, t_log_tail(iod));
	unlink(ctl);
	t_expect_roundtrip(fd, "watched again\n", "WATCHED AGAIN\n",
	    t_ms(5000), "%s: the waiting client", fe->fe_engine);
	close(fd);
	f_stop(iod, ctl, counts);
}
END_TEST

/*
 * A new connection that epoll cannot watch (its add fails: ENOMEM) is
 * closed at once with a reason, never left unread; once epoll can watch
 * again, iod serves.  Rows 0 and 3: libevent and epoll.
 */
START_TEST(test_fault_unwatched)
{
	const struct f_engine	*fe = &f_engines[_i == 0 ? 0 : 3];
	struct t_iod		*iod;
	enum t_end		 end;
	char			*ctl, *counts;
	int			 fd;

	iod = f_start(fe->fe_engine, 0, "epoll_ctl:ENOMEM:p1", &ctl, &counts);
	f_arm(ctl);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	ck_assert_msg(t_send_all(fd, "unwatched\n", 10, t_ms(2000)) == 10,
	    "send: %s", strerror(errno));
	end = t_wait_end(fd, t_ms(3000));
	ck_assert_msg(end == T_END_EOF || end == T_END_RESET, "%s: the "
	    "unwatched connection: %s, not closed; stderr:\n%s",
	    fe->fe_engine, t_end_name(end), t_log_tail(iod));
	ck_assert_msg(f_reason_logged(iod, f_local_port(fd)), "%s: closed "
	    "with no reason logged; stderr:\n%s", fe->fe_engine,
	    t_log_tail(iod));
	close(fd);
	unlink(ctl);
	poll(NULL, 0, 50);
	fd = t_connect(iod->port[0]);
	ck_assert_msg(fd != -1, "connect: %s", strerror(errno));
	t_expect_roundtrip(fd, "watched\n", "WATCHED\n", t_ms(5000),
	    "%s: after the faults", fe->fe_engine);
	close(fd);
	f_stop(iod, ctl, counts);
}
END_TEST

Suite *
suite_fault(void)
{
	Suite	*s;
	TCase	*tc;
	int	 n;

	s = suite_create("fault");
	tc = tcase_create("engines");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 120);
	/* ./dev test's distcheck leaves it out: its first two runs did it. */
	tcase_set_tags(tc, "slow");
	tcase_add_loop_test(tc, test_fault_engines, 0, 2 * F_NENGINES);
	suite_add_tcase(s, tc);
	tc = tcase_create("accept_pause");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	/* Every engine but uring, the last row when it is built. */
	n = F_NENGINES;
#ifdef HAVE_LIBURING
	n--;
#endif
	tcase_add_loop_test(tc, test_fault_accept_pause, 0, n);
	suite_add_tcase(s, tc);
	tc = tcase_create("rewatch");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_fault_rewatch, 0, 2);
	tcase_add_loop_test(tc, test_fault_unwatched, 0, 2);
	suite_add_tcase(s, tc);
	return (s);
}
