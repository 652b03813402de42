/*
 * The fork engine: one process per connection, blocking I/O, the inetd
 * model.  The worker thread is the acceptor (blocking.c) and forks a child
 * for every admitted connection; the child serves it with blocking_serve()
 * and exits, and its exit status says how the connection ended.
 *
 * `workers` is the number of acceptor threads in the one iod process, each
 * forking its own children.  Connections are always served by processes,
 * so more workers only let more accepts and forks run at once.
 *
 * The parent learns of exits the classic way: SIGCHLD, and waitpid(-1,
 * WNOHANG), which reaps every child that has exited.  Like every other
 * signal, SIGCHLD reaches the supervisor's loop (engines install no
 * handlers), which calls engine_fork_children_exited(): that wakes every
 * fork worker through its eventfd, and whichever runs first reaps.  Any
 * worker may so reap another's child, so all children are in one table,
 * under one lock, found by pid and listed by worker; a worker woken for
 * its child only has to look at its count.  The parent keeps no
 * descriptor per child: fork() copies the parent's descriptor table and
 * the child closes it again, so with a descriptor per child (a pidfd,
 * say) each fork costs more the more children there are; at 15,000
 * children that was milliseconds per fork.
 *
 * The counters live in shared memory (stats.c): a child's bytes and
 * timeouts count where the parent's do, and the parent releases the
 * connection's slot when it reaps the child.  A connection's session
 * (session.c: its bytes and life, for the histograms and the access
 * log, which only the parent may write) comes back the same way: the
 * parent gives each child a place in a shared table of sessions, the
 * child leaves its final copy there before it exits, and the parent
 * ends the session from it when it reaps the child.  STOP sends every child
 * SIGTERM (it stops reading, sends what it owes and exits), DEADLINE
 * sends SIGKILL.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "blocking.h"
#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "engine_fork.h"
#include "log.h"
#include "ratelimit.h"
#include "sources.h"
#include "stats.h"
#include "worker.h"

#define FK_MAX_WORKERS	256	/* the most `workers` allows */
#define FK_MAX_SESSIONS	1000000	/* the most max_connections allows */

struct fk_worker;

struct fk_child {
	TAILQ_ENTRY(fk_child)	 ch_entry;	/* in its worker's list */
	struct fk_worker	*ch_fw;
	pid_t			 ch_pid;
	int			 ch_fd;		/* the connection's, as it was */
	int			 ch_sess;	/* its place in fk_sessions */
	uint8_t			 ch_key[16];	/* its source: access.c */
};

struct fk_worker {
	struct worker		*fw_worker;
	TAILQ_HEAD(, fk_child)	 fw_children;
	size_t			 fw_count;
	int			 fw_wake;	/* eventfd: children exited */
	int			 fw_cut;	/* DEADLINE sent SIGKILL */
};

/* Every worker's children, found by pid; the lists and counts too. */
static pthread_mutex_t		 fk_lock = PTHREAD_MUTEX_INITIALIZER;
static void			*fk_pids;	/* tsearch() tree */

/*
 * Each worker's eventfd by worker id, for engine_fork_children_exited()
 * on the supervisor's thread; -1 for none.  A worker's eventfd stays open
 * for the life of the process, so the supervisor can never write to a
 * descriptor number that has been closed and given to something else.
 */
static atomic_int		 fk_wake[FK_MAX_WORKERS];
static pthread_once_t		 fk_once = PTHREAD_ONCE_INIT;
static struct ratelimit		 fk_rl_refused = RATELIMIT_INITIALIZER(1);

/*
 * Children's sessions, shared with them, and the places free, under
 * fk_lock.  Address space only (MAP_NORESERVE): a page is backed once a
 * place on it is used.
 */
static struct session		*fk_sessions;
static int			*fk_spare;
static int			 fk_nfree;
static int			 fk_used;	/* places ever handed out */

/*
 * Used in children only.  The buffer is never touched by the parent, so
 * it costs the parent no memory, and a child cannot fail to get it.
 */
static struct blocking_conn	*fk_conn;
static unsigned char		 fk_buf[BLOCKING_BUF_MAX];

static int	fk_probe(char *, size_t);
static void	fk_init(void);
static int	fk_start(struct worker *, char *, size_t);
static void	fk_serve(void *, int, const uint8_t [16],
		    struct access_rules *, const struct iod_conf *,
		    const struct session *);
static int	fk_add(struct fk_worker *, struct fk_child *);
static void	fk_reap(void *);
static void	fk_child_end(pid_t, int);
static int	fk_sess_map(char *, size_t);
static int	fk_sess_get(const struct session *);
static void	fk_sess_put(int);
static void	fk_refused(pid_t);
static int	fk_pid_cmp(const void *, const void *);
static void	fk_halt(void *, enum conn_order);
static size_t	fk_count(void *);
static void	fk_free(void *);
static __dead void fk_child_main(struct blocking_conn *, pid_t, int);
static void	fk_child_fds(int);
static void	fk_child_signals(void);
static void	fk_term_cb(int);

const struct engine engine_fork = {
	.name = "fork", .model = "a process per connection, blocking I/O",
	.probe = fk_probe, .start = fk_start,
	.run = blocking_run, .stop = blocking_stop, .listen = blocking_listen,
	.unlisten = blocking_unlisten, .halt = blocking_halt_all,
	.count = blocking_count
};

static const struct blocking_model fk_model = {
	fk_serve, fk_reap, fk_halt, fk_count, fk_free, 0
};

/*
 * Refuse to run on a kernel without close_range() (Linux 5.9); closing
 * nothing shows whether the call exists.
 */
static int
fk_probe(char *cause, size_t len)
{
	if (close_range(~0U, ~0U, 0) == -1) {
		snprintf(cause, len, "close_range: %s", strerror(errno));
		return (-1);
	}
	return (0);
}

/* Once per process: no worker has an eventfd yet. */
static void
fk_init(void)
{
	size_t	i;

	for (i = 0; i < FK_MAX_WORKERS; i++)
		atomic_init(&fk_wake[i], -1);
}

/* Set up the worker's list of children and start its acceptor. */
static int
fk_start(struct worker *w, char *cause, size_t len)
{
	struct fk_worker	*fw;
	int			 fd;

	if (w->w_id < 0 || w->w_id >= FK_MAX_WORKERS) {
		snprintf(cause, len, "at most %d fork workers", FK_MAX_WORKERS);
		return (-1);
	}
	pthread_once(&fk_once, fk_init);
	if (fk_sess_map(cause, len) == -1)
		return (-1);
	if ((fd = atomic_load(&fk_wake[w->w_id])) == -1) {
		if ((fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
			snprintf(cause, len, "eventfd: %s", strerror(errno));
			return (-1);
		}
		atomic_store(&fk_wake[w->w_id], fd);
	}
	if ((fw = calloc(1, sizeof(*fw))) == NULL) {
		snprintf(cause, len, "out of memory");
		return (-1);
	}
	fw->fw_worker = w;
	fw->fw_wake = fd;
	TAILQ_INIT(&fw->fw_children);
	return (blocking_start(w, &fk_model, fw, fd, cause, len));
}

/* Map the table of children's sessions, once; -1 and a cause if refused. */
static int
fk_sess_map(char *cause, size_t len)
{
	void	*p, *q;
	int	 rc = 0;

	pthread_mutex_lock(&fk_lock);
	if (fk_sessions != NULL)
		goto out;
	p = mmap(NULL, FK_MAX_SESSIONS * sizeof(*fk_sessions),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0);
	q = mmap(NULL, FK_MAX_SESSIONS * sizeof(*fk_spare),
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0);
	if (p == MAP_FAILED || q == MAP_FAILED) {
		snprintf(cause, len, "cannot map the children's sessions: %s",
		    strerror(errno));
		if (p != MAP_FAILED)
			(void)munmap(p, FK_MAX_SESSIONS * sizeof(*fk_sessions));
		if (q != MAP_FAILED)
			(void)munmap(q, FK_MAX_SESSIONS * sizeof(*fk_spare));
		rc = -1;
		goto out;
	}
	fk_sessions = p;
	fk_spare = q;
out:
	pthread_mutex_unlock(&fk_lock);
	return (rc);
}

/* A place for a child's session, holding sess; -1 if none. fk_lock held. */
static int
fk_sess_get(const struct session *sess)
{
	int	i;

	if (fk_nfree > 0)
		i = fk_spare[--fk_nfree];
	else if (fk_used < FK_MAX_SESSIONS)
		i = fk_used++;
	else
		return (-1);
	fk_sessions[i] = *sess;
	return (i);
}

/* Give back place i.  fk_lock held. */
static void
fk_sess_put(int i)
{
	fk_spare[fk_nfree++] = i;
}

/* Fork a child to serve an admitted descriptor, or refuse it. */
static void
fk_serve(void *arg, int fd, const uint8_t key[16],
    struct access_rules *rules, const struct iod_conf *conf,
    const struct session *sess)
{
	struct fk_worker	*fw = arg;
	struct fk_child		*ch;
	struct blocking_conn	 bc;
	pid_t			 parent = getpid();
	char			 why[128];

	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		access_rules_free(rules);
		conn_refuse_fd(fd, key, STATS_REJ_NO_MEMORY,
		    "out of memory");
		return;
	}
	ch->ch_fw = fw;
	ch->ch_fd = fd;
	memcpy(ch->ch_key, key, sizeof(ch->ch_key));
	blocking_init(&bc, fd, key, rules, conf, sess, fk_buf);
	/*
	 * Hold the table across fork(): a child that exits at once is in
	 * it before any worker can reap it.  (The kernel serializes the
	 * forks of one process anyway.)
	 */
	pthread_mutex_lock(&fk_lock);
	if ((ch->ch_sess = fk_sess_get(sess)) == -1) {
		pthread_mutex_unlock(&fk_lock);
		access_rules_free(rules);
		free(ch);
		conn_refuse_fd(fd, key, STATS_REJ_NO_MEMORY,
		    "no place for its session");
		return;
	}
	if ((ch->ch_pid = fork()) == -1) {
		fk_sess_put(ch->ch_sess);
		pthread_mutex_unlock(&fk_lock);
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		access_rules_free(rules);
		free(ch);
		conn_refuse_fd(fd, key, STATS_REJ_NO_MEMORY, why);
		return;
	}
	if (ch->ch_pid == 0)
		fk_child_main(&bc, parent, ch->ch_sess);
	/* The child has its own copy of the rules, if any. */
	access_rules_free(rules);
	if (fk_add(fw, ch) == -1) {
		fk_sess_put(ch->ch_sess);
		pthread_mutex_unlock(&fk_lock);
		free(ch);
		conn_refuse_fd(fd, key, STATS_REJ_NO_MEMORY,
		    "out of memory for a child");
		return;
	}
	pthread_mutex_unlock(&fk_lock);
	/* The child has the connection now. */
	close(fd);
}

/*
 * Enter child ch in the table, the lock held.  Should that fail for want
 * of memory, nothing could find it to reap it or release its slot: kill
 * it, reap it and return -1; the caller refuses its connection.
 */
static int
fk_add(struct fk_worker *fw, struct fk_child *ch)
{
	if (tsearch(ch, &fk_pids, fk_pid_cmp) != NULL) {
		TAILQ_INSERT_TAIL(&fw->fw_children, ch, ch_entry);
		fw->fw_count++;
		return (0);
	}
	(void)kill(ch->ch_pid, SIGKILL);
	(void)waitpid(ch->ch_pid, NULL, 0);
	return (-1);
}

/* Children have exited: reap every one, whichever worker forked it. */
static void
fk_reap(void *arg)
{
	struct fk_worker	*fw = arg;
	uint64_t		 n;
	pid_t			 pid;
	int			 status;

	if (read(fw->fw_wake, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("worker %d: read eventfd", fw->fw_worker->w_id);
	pthread_mutex_lock(&fk_lock);
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		fk_child_end(pid, status);
	pthread_mutex_unlock(&fk_lock);
}

/*
 * The one way a connection ends in the parent: its child was reaped, and
 * its exit status says how the connection ended.
 */
static void
fk_child_end(pid_t pid, int status)
{
	struct fk_child		 key, *ch, **found;
	struct fk_worker	*fw;
	char			 why[128];

	key.ch_pid = pid;
	if ((found = tfind(&key, &fk_pids, fk_pid_cmp)) == NULL) {
		log_debug("reaped pid %d, which served no connection",
		    (int)pid);
		return;
	}
	ch = *found;
	fw = ch->ch_fw;
	if (WIFEXITED(status) && WEXITSTATUS(status) == BLOCKING_REFUSED)
		fk_refused(pid);
	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "%s (pid %d)",
		    blocking_reason(WEXITSTATUS(status)), (int)pid);
	else if (fw->fw_cut && WTERMSIG(status) == SIGKILL)
		snprintf(why, sizeof(why), "shutdown deadline (pid %d)",
		    (int)pid);
	else
		snprintf(why, sizeof(why), "pid %d killed by signal %d",
		    (int)pid, WTERMSIG(status));
	tdelete(ch, &fk_pids, fk_pid_cmp);
	TAILQ_REMOVE(&fw->fw_children, ch, ch_entry);
	fw->fw_count--;
	conn_closed(fw->fw_worker, ch->ch_fd, ch->ch_key,
	    &fk_sessions[ch->ch_sess], why);
	fk_sess_put(ch->ch_sess);
	free(ch);
}

/*
 * A child refused its connection for its PROXY header, or for the
 * source the header named: counted by reason already (the child cannot
 * log), so say so here, at most once a second.
 */
static void
fk_refused(pid_t pid)
{
	unsigned long	n;

	if (ratelimit_allow(&fk_rl_refused, &n))
		log_warnx("refused %lu connection%s with a bad PROXY header "
		    "or from a refused source it named, the last in pid %d "
		    "(the refused_ counters say which)", n, n == 1 ? "" : "s",
		    (int)pid);
}

/* Order the table by pid. */
static int
fk_pid_cmp(const void *a, const void *b)
{
	pid_t	pa = ((const struct fk_child *)a)->ch_pid;
	pid_t	pb = ((const struct fk_child *)b)->ch_pid;

	return (pa < pb ? -1 : pa > pb);
}

/*
 * Tell every child to drain (SIGTERM) or to end now (SIGKILL).  Under the
 * lock no child in the list has been reaped, so its pid is still its own.
 */
static void
fk_halt(void *arg, enum conn_order order)
{
	struct fk_worker	*fw = arg;
	struct fk_child		*ch;
	int			 sig = SIGTERM;

	pthread_mutex_lock(&fk_lock);
	if (order == CONN_CUT) {
		fw->fw_cut = 1;
		sig = SIGKILL;
	}
	TAILQ_FOREACH(ch, &fw->fw_children, ch_entry)
		(void)kill(ch->ch_pid, sig);
	pthread_mutex_unlock(&fk_lock);
}

/* Children not reaped yet. */
static size_t
fk_count(void *arg)
{
	struct fk_worker	*fw = arg;
	size_t			 n;

	pthread_mutex_lock(&fk_lock);
	n = fw->fw_count;
	pthread_mutex_unlock(&fk_lock);
	return (n);
}

/* Free what fk_start() made; every child has been reaped. */
static void
fk_free(void *arg)
{
	free(arg);
}

/*
 * Children have exited (the supervisor got SIGCHLD): wake every fork
 * worker; one of them reaps.  This lives here, not in the supervisor or
 * worker.c, because only this engine has children and knows its
 * workers' eventfds.  With another engine, or before any fork worker has
 * started, there is nobody to wake and it does nothing.
 */
void
engine_fork_children_exited(void)
{
	uint64_t	one = 1;
	size_t		i;
	int		fd;

	pthread_once(&fk_once, fk_init);
	for (i = 0; i < FK_MAX_WORKERS; i++)
		if ((fd = atomic_load(&fk_wake[i])) != -1 &&
		    write(fd, &one, sizeof(one)) == -1)
			log_warn("fork worker %zu: wake for SIGCHLD", i);
}

/*
 * A child: a copy of a multithreaded process in which only this thread
 * exists, and locks that other threads held stay held forever.  So it
 * does not log (access_quiet) or use stdio; it serves bc and exits with
 * how the connection ended, which the parent logs.  Only a connection
 * that waits for its PROXY header allocates (gate.c), through glibc's
 * malloc, which fork() leaves usable in the child.  The table of sources
 * is shared memory under a robust process-shared lock (sources.c).
 *
 * PR_SET_PDEATHSIG ties the child to the acceptor thread that forked it,
 * which outlives all its children unless iod itself dies; then the
 * children die with it rather than serve on with nobody to reap them.
 */
static __dead void
fk_child_main(struct blocking_conn *bc, pid_t parent, int sess)
{
	int	end, proxied = bc->bc_rules != NULL;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(BLOCKING_DEADLINE);
	fk_child_fds(bc->bc_fd);
	fk_conn = bc;
	fk_child_signals();
	access_quiet();
	end = blocking_serve(bc);
	/* A source the child learnt from a PROXY header, it counted. */
	if (proxied)
		sources_release(bc->bc_key);
	fk_sessions[sess] = bc->bc_sess;
	_exit(end);
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
	/* A child has no children; the parent's handler is not for it. */
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
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

	blocking_halt(fk_conn, CONN_DRAIN);
	errno = saved;
}
