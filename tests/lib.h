/* Shared test helpers (t_*) and every suite of the runner. */
#ifndef IOD_TESTS_LIB_H
#define IOD_TESTS_LIB_H

#include <sys/types.h>
#include <sys/resource.h>

#include <stddef.h>
#include <stdint.h>

#include <check.h>

/* No helper's loop runs more often than this, whatever its deadline. */
#define T_MAXLOOP	(1 << 22)

/* Suites, one per module. */
Suite	*suite_access(void);
Suite	*suite_busypoll(void);
Suite	*suite_cidr(void);
Suite	*suite_conf(void);
Suite	*suite_conf_include(void);
Suite	*suite_conn(void);
Suite	*suite_coro(void);
Suite	*suite_drain(void);
Suite	*suite_fault(void);
Suite	*suite_haproxy(void);
Suite	*suite_iterative(void);
Suite	*suite_life(void);
Suite	*suite_limits(void);
Suite	*suite_listen(void);
Suite	*suite_man(void);
Suite	*suite_metrics(void);
Suite	*suite_outbuf(void);
Suite	*suite_pidfile(void);
Suite	*suite_poller(void);
Suite	*suite_privs(void);
Suite	*suite_prometheus(void);
Suite	*suite_proto(void);
Suite	*suite_proxied(void);
Suite	*suite_proxy(void);
Suite	*suite_ratelimit(void);
Suite	*suite_reload(void);
Suite	*suite_reuseport(void);
Suite	*suite_sigio(void);
Suite	*suite_splice(void);
Suite	*suite_systemd(void);
Suite	*suite_transform(void);

/* Files. */
char	*t_write_tmp(const char *);
const char *t_srcdir(void);

/*
 * The integration tests' variants: every behaviour test is one body run
 * with tcase_add_loop_test(..., 0, t_count(CAPS)) over the variants that
 * have the capabilities it needs, the _i-th of which is t_variant(CAPS,
 * _i).  New engines are appended to t_variants[], nowhere else.
 */
struct t_variant {
	const char	*engine;
	int		 workers;
	int		 caps;		/* T_* below */
};
extern const struct t_variant t_variants[];
extern const size_t t_nvariants;

/*
 * What a test may need of a model.  T_BUFFERS: holds up to
 * max_pending_bytes for a client (the blocking engines write everything
 * they read before reading again, so they never hold more than one read).
 * T_HOLDS: keeps a descriptor in iod for each connection (fork hands the
 * connection to its child), for tests of running out of descriptors.
 * T_CONCURRENT: serves many clients at once.  T_SPINS: never sleeps, so
 * a test that bounds iod's CPU time while idle does not apply.
 * T_SPLICES: moves echo-mode streams with splice(2); one worker is enough
 * to show it, so only the one-worker rows say so.
 */
#define T_BUFFERS	0x1
#define T_HOLDS		0x2
#define T_CONCURRENT	0x4
#define T_SPINS		0x8
#define T_SPLICES	0x10	/* echoes streams with splice(2): zcopy.c */

int	t_count(int);
const struct t_variant *t_variant(int, int);

/*
 * Waits that depend on how fast iod runs (start-up, bulk transfers) are
 * multiplied by this: 3 under AddressSanitizer, 1 otherwise.  Bounds that
 * a test asserts about iod's own timers are not scaled.
 */
int	t_ms(int);

/* Fixtures: a private TMPDIR per test case, and no child left behind. */
struct t_iod;
void	t_tmpdir_setup(void);
void	t_tmpdir_teardown(void);
void	t_cleanup(void);
void	t_tcase_fixtures(TCase *);
void	t_track_pid(pid_t);
void	t_untrack_pid(pid_t);
void	t_register(struct t_iod *);
void	t_unregister(struct t_iod *);

/* Text: a config for a variant, a growable buffer. */
struct t_buf {
	char	*b_data;	/* always NUL-terminated */
	size_t	 b_len;
	size_t	 b_size;
};
char	*t_conf(const struct t_variant *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	 t_buf_add(struct t_buf *, const void *, size_t);
void	 t_buf_free(struct t_buf *);

/* Running iod: start, read its log, stop. */
#define T_MAXPORTS	8
#define T_MAXARGS	8
#define T_NOSTDERR	0x1	/* do not pass --stderr */
#define T_NOCONF	0x2	/* no -c FILE: the arguments say it all */

struct t_opts {
	const char	*args[T_MAXARGS]; /* after -c FILE; NULL-terminated */
	int		 flags;		/* T_NOSTDERR, T_NOCONF */
	rlim_t		 nofile;	/* RLIMIT_NOFILE, or 0 */
	rlim_t		 nofile_soft;	/* its soft limit alone, or 0 */
	rlim_t		 sigpending;	/* RLIMIT_SIGPENDING, or 0 */
	const char	*env;		/* "NAME=value", appended */
	uid_t		 uid;		/* run as this user, or 0 */
};

struct t_iod {
	pid_t		 pid;		/* 0 once reaped */
	int		 status;	/* wait status once reaped */
	int		 pidfd;		/* pidfd_open() of pid, to wait on */
	int		 errfd;		/* iod's stderr; -1 after EOF */
	int		 outfd;		/* iod's stdout; -1 after EOF */
	char		*conf;		/* its temporary config file */
	struct t_buf	 err;		/* everything read from stderr */
	struct t_buf	 out;		/* everything read from stdout */
	size_t		 mark;		/* t_wait_log searches from here */
	int		 port[T_MAXPORTS]; /* from "listening on" lines */
	size_t		 nports;
	char		 line[1024];	/* the line t_wait_log last matched */
};

struct t_iod *t_start_iod(const char *, const struct t_opts *);
struct t_iod *t_new_iod(const char *, int *, int *);
void	 t_adopt_iod(struct t_iod *, pid_t, const int *, const int *);
struct t_iod *t_spawn_variant(const struct t_variant *, const char *);
int	 t_listen_loopback(int *);
struct t_iod *t_spawn_iod(const char *, const struct t_opts *);
void	 t_wait_ready(struct t_iod *, int);
int	 t_run_iod(const char *, const struct t_opts *, int, struct t_iod **);
void	 t_pump(struct t_iod *, int);
const char *t_wait_log(struct t_iod *, const char *, int);
void	 t_log_mark(struct t_iod *);
const char *t_log_tail(struct t_iod *);
int	 t_listen_port(const char *);
int	 t_wait_exit(struct t_iod *, int);
int	 t_stop_iod(struct t_iod *);
void	 t_expect_exit0(struct t_iod *);
void	 t_expect_stop(struct t_iod *);
const char *t_status_name(int);
void	 t_rewrite_conf(struct t_iod *, const char *);
void	 t_reload(struct t_iod *, const char *, const char *);

/* Counters, from the line SIGUSR1 makes iod log. */
struct t_stats {
	uint64_t	accepted;
	uint64_t	active;
	uint64_t	rejected;
	uint64_t	timed_out;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	uint64_t	spliced;
	uint64_t	refused_deny;
	uint64_t	refused_not_allowed;
	uint64_t	refused_per_source;
	uint64_t	refused_proxy_untrusted;
	uint64_t	refused_proxy_bad;
	uint64_t	refused_proxy_timeout;
};
int	t_stats(struct t_iod *, struct t_stats *, int);

/* Clients: nonblocking TCP sockets on loopback, every call bounded. */
enum t_end {
	T_END_EOF,		/* orderly close, nothing read */
	T_END_RESET,		/* ECONNRESET, nothing read */
	T_END_DATA,		/* bytes arrived instead */
	T_END_TIMEOUT		/* still open */
};
int	 t_connect(int);
int	 t_connect_to(const char *, int);
int	 t_connect_from(const char *, const char *, int);
int	 t_connect_rcvbuf(int, int);
int	 t_refused(const char *, int, int);

/*
 * A client that sends without reading is stuck once the kernel's buffers
 * and iod's max_pending_bytes are full.  On loopback the kernel may
 * buffer tens of MiB (tcp_rmem's maximum is 32 MiB on some machines);
 * with the client's receive buffer fixed at T_STUCK_RCVBUF, what it can
 * hold is the client's send buffer and iod's two socket buffers: well
 * under T_STUCK_BYTES.
 */
#define T_STUCK_BYTES	(64 * 1024 * 1024)
#define T_STUCK_RCVBUF	65536
ssize_t	 t_send_all(int, const void *, size_t, int);
size_t	 t_send_until_stuck(int, const void *, size_t, int);
ssize_t	 t_recv_exact(int, void *, size_t, int);
enum t_end t_wait_end(int, int);
const char *t_end_name(enum t_end);
const char *t_strerror(int);
int	 t_peer_closed(int, int);
ssize_t	 t_roundtrip(int, const char *, char *, size_t, int);
void	 t_expect_roundtrip(int, const char *, const char *, int,
	    const char *, ...) __attribute__((__format__(printf, 5, 6)));
void	 t_reset_close(int);

/* Bulk transfers, reading while writing. */
#define T_XFER_SHUT	0x1	/* shutdown(SHUT_WR) once all is sent */
#define T_XFER_EOF	0x2	/* then read until EOF */
struct t_xfer {
	size_t		 sent;
	size_t		 got;
	size_t		 extra;	/* bytes read past the expected length */
	int		 eof;
	int		 error;	/* errno of a failed call, or 0 */
	int		 timed_out;
};
void	 t_xfer(int, const void *, size_t, void *, size_t, int, int,
	    struct t_xfer *);

/* HTTP to the metrics endpoint, and the samples it serves. */
int	 t_metrics_port(struct t_iod *);
int	 t_http(int, const char *, const char *, struct t_buf *, int);
int	 t_http_unix(const char *, const char *, struct t_buf *, int);
void	 t_scrape(int, struct t_buf *);
double	 t_metric(const char *, const char *);

/* Data: a seeded generator and the reference transform. */
uint64_t t_rand(uint64_t *);
void	 t_fill_random(void *, size_t, uint64_t *);
size_t	 t_mismatch(const void *, const void *, size_t, int);

/* Time and /proc. */
int64_t	 t_now_ms(void);
long	 t_rss_kb(pid_t);
long	 t_cpu_ticks(pid_t);
int	 t_count_fds(pid_t);
int	 t_limit_fds(pid_t, int);
int	 t_proc_listen_port(pid_t);

#endif
