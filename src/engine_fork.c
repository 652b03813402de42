/*
 * The fork engine: one process per connection, blocking I/O, the inetd
 * model.  The worker thread is the acceptor (blocking.c) and forks a child
 * for every admitted connection; the child serves it with blocking_serve()
 * and exits, and its exit status says how the connection ended.
 *
 * `workers` is the number of acceptor threads in the one iod process, each
 * forking and reaping its own children.  Connections are always served by
 * processes, so more workers only let more accepts and forks run at once.
 *
 * The parent learns of a child's exit from a pidfd.  An acceptor keeps
 * the pidfds of its children in one epoll set, so its poll() watches one
 * descriptor however many children there are.  The counters live in
 * shared memory (stats.c): a child's bytes and timeouts count where the
 * parent's do, and the parent releases the connection's slot when it
 * reaps the child.  STOP sends every child SIGTERM (it stops reading,
 * sends what it owes and exits), DEADLINE sends SIGKILL.
 */
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blocking.h"
#include "conf.h"
#include "engine.h"
#include "log.h"
#include "ratelimit.h"
#include "stats.h"
#include "worker.h"

#define FK_EVENTS	64	/* exits reaped per wake-up */

struct fk_child {
	TAILQ_ENTRY(fk_child)	 ch_entry;
	pid_t			 ch_pid;
	int			 ch_pidfd;
};

struct fk_worker {
	struct worker		*fw_worker;
	TAILQ_HEAD(, fk_child)	 fw_children;
	size_t			 fw_count;
	int			 fw_epoll;	/* the children's pidfds */
	int			 fw_cut;	/* DEADLINE sent SIGKILL */
};

/*
 * Used in children only.  The buffer is never touched by the parent, so
 * it costs the parent no memory, and a child cannot fail to get it.
 */
static struct blocking_conn	*fk_conn;
static unsigned char		 fk_buf[BLOCKING_BUF_MAX];

static struct ratelimit		 fk_rl_watch = RATELIMIT_INITIALIZER(1);

static int	fk_probe(char *, size_t);
static int	fk_start(struct worker *, char *, size_t);
static void	fk_serve(void *, int, const struct iod_conf *);
static int	fk_watch(struct fk_worker *, struct fk_child *);
static void	fk_reap(void *);
static void	fk_child_end(struct fk_worker *, struct fk_child *);
static void	fk_halt(void *, enum blocking_order);
static size_t	fk_count(void *);
static void	fk_free(void *);
static __dead void fk_child_main(struct blocking_conn *, pid_t);
static void	fk_child_fds(int);
static void	fk_child_signals(void);
static void	fk_term_cb(int);

const struct engine engine_fork = {
	"fork", fk_probe, fk_start, blocking_run, blocking_command,
	blocking_stop
};

static const struct blocking_model fk_model = {
	fk_serve, fk_reap, fk_halt, fk_count, fk_free
};

/*
 * Refuse to run on a kernel without pidfds (Linux 5.3) or close_range()
 * (Linux 5.9); closing nothing shows whether the call exists.
 */
static int
fk_probe(char *cause, size_t len)
{
	int	fd;

	if ((fd = pidfd_open(getpid(), 0)) == -1) {
		snprintf(cause, len, "pidfd_open: %s", strerror(errno));
		return (-1);
	}
	close(fd);
	if (close_range(~0U, ~0U, 0) == -1) {
		snprintf(cause, len, "close_range: %s", strerror(errno));
		return (-1);
	}
	return (0);
}

/* Set up the worker's list of children and start its acceptor. */
static int
fk_start(struct worker *w, char *cause, size_t len)
{
	struct fk_worker	*fw;
	int			 ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		snprintf(cause, len, "epoll_create1: %s", strerror(errno));
		return (-1);
	}
	if ((fw = calloc(1, sizeof(*fw))) == NULL) {
		close(ep);
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	fw->fw_worker = w;
	fw->fw_epoll = ep;
	TAILQ_INIT(&fw->fw_children);
	return (blocking_start(w, &fk_model, fw, ep, cause, len));
}

/* Fork a child to serve an admitted descriptor, or refuse it. */
static void
fk_serve(void *arg, int fd, const struct iod_conf *conf)
{
	struct fk_worker	*fw = arg;
	struct fk_child		*ch;
	struct blocking_conn	 bc;
	pid_t			 parent = getpid();
	char			 why[128];

	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		engine_refuse(fd, "out of memory");
		return;
	}
	blocking_init(&bc, fd, conf, fk_buf);
	if ((ch->ch_pid = fork()) == -1) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		free(ch);
		engine_refuse(fd, why);
		return;
	}
	if (ch->ch_pid == 0)
		fk_child_main(&bc, parent);
	/*
	 * The child has the connection now.  Closing the parent's copy
	 * first lets the pidfd take its slot, so that running out of
	 * descriptors shows at accept(), which pauses, and not here.
	 */
	close(fd);
	if (fk_watch(fw, ch) == -1) {
		free(ch);
		return;
	}
	TAILQ_INSERT_TAIL(&fw->fw_children, ch, ch_entry);
	fw->fw_count++;
}

/*
 * Watch child ch for its exit.  Should that fail, nothing could reap it
 * or release its slot: kill it, reap it, count its connection as refused
 * and return -1.
 */
static int
fk_watch(struct fk_worker *fw, struct fk_child *ch)
{
	struct epoll_event	ev;
	unsigned long		n;
	int			error;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = ch;
	if ((ch->ch_pidfd = pidfd_open(ch->ch_pid, 0)) != -1 &&
	    epoll_ctl(fw->fw_epoll, EPOLL_CTL_ADD, ch->ch_pidfd, &ev) == 0)
		return (0);
	error = errno;
	(void)kill(ch->ch_pid, SIGKILL);
	(void)waitpid(ch->ch_pid, NULL, 0);
	if (ch->ch_pidfd != -1)
		close(ch->ch_pidfd);
	stats_release();
	stats_count_reject();
	if (ratelimit_allow(&fk_rl_watch, &n))
		log_warnx("refused %lu connections: cannot watch a child: %s",
		    n, strerror(error));
	return (-1);
}

/* Reap the children whose pidfds say they have exited. */
static void
fk_reap(void *arg)
{
	struct fk_worker	*fw = arg;
	struct epoll_event	 ev[FK_EVENTS];
	int			 i, n;

	/* Any beyond FK_EVENTS keep the epoll set readable for next time. */
	n = epoll_wait(fw->fw_epoll, ev, FK_EVENTS, 0);
	for (i = 0; i < n; i++)
		fk_child_end(fw, ev[i].data.ptr);
}

/* The one way a connection ends in the parent: its child has exited. */
static void
fk_child_end(struct fk_worker *fw, struct fk_child *ch)
{
	int	status, id = fw->fw_worker->w_id, pid = (int)ch->ch_pid;

	if (waitpid(ch->ch_pid, &status, 0) == -1)
		log_warn("worker %d: waitpid %d", id, pid);
	else if (WIFEXITED(status))
		log_debug("worker %d: pid %d closed: %s", id, pid,
		    blocking_reason(WEXITSTATUS(status)));
	else if (fw->fw_cut && WTERMSIG(status) == SIGKILL)
		log_debug("worker %d: pid %d closed: shutdown deadline", id,
		    pid);
	else
		log_debug("worker %d: pid %d closed: killed by signal %d", id,
		    pid, WTERMSIG(status));
	/*
	 * Leave the epoll set before close(): a child forked meanwhile holds
	 * a copy of the pidfd until it closes its descriptors, and epoll
	 * forgets a descriptor only when every copy is closed.
	 */
	(void)epoll_ctl(fw->fw_epoll, EPOLL_CTL_DEL, ch->ch_pidfd, NULL);
	close(ch->ch_pidfd);
	TAILQ_REMOVE(&fw->fw_children, ch, ch_entry);
	fw->fw_count--;
	free(ch);
	stats_release();
}

/* Tell every child to drain (SIGTERM) or to end now (SIGKILL). */
static void
fk_halt(void *arg, enum blocking_order order)
{
	struct fk_worker	*fw = arg;
	struct fk_child		*ch;
	int			 sig = SIGTERM;

	if (order == BLOCKING_CUT) {
		fw->fw_cut = 1;
		sig = SIGKILL;
	}
	/* A child that has exited but is not reaped yet says ESRCH. */
	TAILQ_FOREACH(ch, &fw->fw_children, ch_entry)
		(void)pidfd_send_signal(ch->ch_pidfd, sig, NULL, 0);
}

/* Children not reaped yet. */
static size_t
fk_count(void *arg)
{
	struct fk_worker	*fw = arg;

	return (fw->fw_count);
}

/* Free what fk_start() made; every child has been reaped. */
static void
fk_free(void *arg)
{
	struct fk_worker	*fw = arg;

	close(fw->fw_epoll);
	free(fw);
}

/*
 * A child: a copy of a multithreaded process in which only this thread
 * exists, and locks that other threads held stay held forever.  So it
 * does not log, use stdio or allocate; it serves bc and exits with how
 * the connection ended, which the parent logs.
 *
 * PR_SET_PDEATHSIG ties the child to the acceptor thread that forked it,
 * which outlives all its children unless iod itself dies; then the
 * children die with it rather than serve on with nobody to reap them.
 */
static __dead void
fk_child_main(struct blocking_conn *bc, pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(BLOCKING_DEADLINE);
	fk_child_fds(bc->bc_fd);
	fk_conn = bc;
	fk_child_signals();
	_exit(blocking_serve(bc));
}

/*
 * Close every descriptor but stdio and the connection.  A child must not
 * hold the listeners, the workers' descriptors or a connection another
 * worker has just accepted, whose client would then never see it close.
 * Stdio is /dev/null once detached, and keeps a sanitizer's report from
 * a child on stderr.
 */
static void
fk_child_fds(int fd)
{
	if (fd > 3)
		(void)close_range(3, (unsigned int)fd - 1, 0);
	(void)close_range(fd >= 3 ? (unsigned int)fd + 1 : 3, ~0U, 0);
}

/*
 * Replace the supervisor's handlers, which would write into the parent's
 * signal socketpair, then unblock signals (the worker thread blocks
 * them all).  SIGTERM drains the connection.  SIGHUP, SIGINT and SIGUSR1
 * are ignored rather than left to kill: `pkill -HUP iod`, a terminal's
 * ^C or a hangup reach the children too, and the parent, which handles
 * each of them, tells its children what to do.  SIGPIPE stays ignored.
 */
static void
fk_child_signals(void)
{
	static const int	 ignored[] = { SIGHUP, SIGINT, SIGUSR1 };
	struct sigaction	 sa;
	sigset_t		 none;
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		(void)sigaction(ignored[i], &sa, NULL);
	/* No SA_RESTART: a blocked call returns EINTR to the loop. */
	sa.sa_handler = fk_term_cb;
	sigfillset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* SIGTERM in a child: read no more, send what is owed, then exit. */
static void
fk_term_cb(int sig)
{
	int	saved = errno;

	blocking_halt(fk_conn, BLOCKING_DRAIN);
	errno = saved;
}
