/*
 * fanout: one load spread over several processes, so that each stays
 * within its own open-file limit.  The parent forks the children before
 * any connection exists and keeps two pipes to each.  At every step of
 * the run a child writes one byte up and waits for one byte down: the
 * parent knows when all of them are there, samples the server, and lets
 * them go on together.  At the end each child writes its totals up and
 * exits.  A child that dies closes its end of the pipe, so the parent
 * sees EOF, reaps it and passes its exit code on; a parent that dies
 * takes its children with it (PR_SET_PDEATHSIG, and EOF on the pipe).
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fanout.h"

#define FANOUT_REAP_SECS	10	/* how long a child may take to exit */

struct fchild {
	pid_t	fc_pid;		/* 0 once reaped */
	int	fc_up;		/* read end of what the child reports */
	int	fc_down;	/* write end of its go-aheads */
};

struct fanout {
	int		 fo_n;
	int		 fo_up;		/* in a child: where it reports */
	int		 fo_down;	/* in a child: where it waits */
	struct fchild	*fo_kids;	/* in the parent */
};

static void	fanout_child(struct fanout *, int, int *, int *);
static int	fanout_reap(struct fanout *, int, char *);
static int	fanout_died(struct fanout *, int, char *);
static int	fanout_left_ms(const struct timespec *);
static struct pollfd *fanout_pollfds(struct fanout *, char *);
static int	fanout_poll(struct fanout *, struct pollfd *, int, int,
		    const struct timespec *, char *);

/* In a new child: keep only its own ends of its own pipes. */
static void
fanout_child(struct fanout *fo, int index, int *up, int *down)
{
	int	i;

	for (i = 0; i < index; i++) {
		close(fo->fo_kids[i].fc_up);
		close(fo->fo_kids[i].fc_down);
	}
	free(fo->fo_kids);
	fo->fo_kids = NULL;
	close(up[0]);
	close(down[1]);
	fo->fo_up = up[1];
	fo->fo_down = down[0];
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/*
 * Fork n children.  In the parent, set *index to -1; in a child, to its
 * number (0 to n - 1).  Return NULL with a cause if a pipe or a fork
 * fails, after killing the children already started.
 */
struct fanout *
fanout_start(int n, int *index, char *cause)
{
	struct fanout	*fo;
	int		 up[2], down[2], i, saved;
	pid_t		 pid;

	if ((fo = calloc(1, sizeof(*fo))) == NULL ||
	    (fo->fo_kids = calloc((size_t)n, sizeof(*fo->fo_kids))) == NULL) {
		free(fo);
		snprintf(cause, FANOUT_CAUSE, "out of memory");
		return (NULL);
	}
	fflush(NULL);
	for (i = 0; i < n; i++) {
		pid = 0;
		if (pipe(up) == -1)
			goto fail;
		if (pipe(down) == -1 || (pid = fork()) == -1) {
			saved = errno;
			close(up[0]);
			close(up[1]);
			if (pid == -1) {	/* the second pipe is open */
				close(down[0]);
				close(down[1]);
			}
			errno = saved;
			goto fail;
		}
		if (pid == 0) {
			fanout_child(fo, i, up, down);
			*index = i;
			return (fo);
		}
		close(up[1]);
		close(down[0]);
		fo->fo_kids[i].fc_pid = pid;
		fo->fo_kids[i].fc_up = up[0];
		fo->fo_kids[i].fc_down = down[1];
		fo->fo_n = i + 1;
	}
	*index = -1;
	return (fo);
fail:
	snprintf(cause, FANOUT_CAUSE, "starting load generator process %d "
	    "of %d: %s", i + 1, n, strerror(errno));
	fanout_kill(fo);
	return (NULL);
}

/*
 * Reap child i, waiting at most FANOUT_REAP_SECS before killing it.
 * Return its exit code, or -1 with a cause if a signal ended it.
 */
static int
fanout_reap(struct fanout *fo, int i, char *cause)
{
	struct fchild	*k = &fo->fo_kids[i];
	int		 st, tries;
	pid_t		 r;

	if (k->fc_pid == 0)
		return (0);
	for (tries = 0; tries < FANOUT_REAP_SECS * 100; tries++) {
		if ((r = waitpid(k->fc_pid, &st, WNOHANG)) != 0)
			break;
		usleep(10000);
	}
	if (r == 0) {
		kill(k->fc_pid, SIGKILL);
		r = waitpid(k->fc_pid, &st, 0);
	}
	k->fc_pid = 0;
	if (r == -1 || !WIFEXITED(st)) {
		snprintf(cause, FANOUT_CAUSE, "load generator process %d of "
		    "%d was killed by signal %d", i + 1, fo->fo_n,
		    r == -1 ? 0 : WTERMSIG(st));
		return (-1);
	}
	return (WEXITSTATUS(st));
}

/*
 * Child i closed its pipe before it was done: reap it and return its exit
 * code (it has said why), or -1 with a cause.
 */
static int
fanout_died(struct fanout *fo, int i, char *cause)
{
	int	code;

	if ((code = fanout_reap(fo, i, cause)) == 0) {
		snprintf(cause, FANOUT_CAUSE, "load generator process %d of "
		    "%d exited before it was done", i + 1, fo->fo_n);
		return (-1);
	}
	return (code);
}

/* Return the milliseconds left until deadline, at least 0. */
static int
fanout_left_ms(const struct timespec *deadline)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return (ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms);
}

/* Return a poll set of every child's report pipe, or NULL and a cause. */
static struct pollfd *
fanout_pollfds(struct fanout *fo, char *cause)
{
	struct pollfd	*pfd;
	int		 i;

	if ((pfd = calloc((size_t)fo->fo_n, sizeof(*pfd))) == NULL) {
		snprintf(cause, FANOUT_CAUSE, "out of memory");
		return (NULL);
	}
	for (i = 0; i < fo->fo_n; i++) {
		pfd[i].fd = fo->fo_kids[i].fc_up;
		pfd[i].events = POLLIN;
	}
	return (pfd);
}

/*
 * Wait until one of the n descriptors in pfd (-1 for those skipped) has
 * something to read or deadline passes.  Return 0 when one has, -1 with
 * a cause naming child who when the time is up.
 */
static int
fanout_poll(struct fanout *fo, struct pollfd *pfd, int n, int who,
    const struct timespec *deadline, char *cause)
{
	int	r;

	do {
		r = poll(pfd, (nfds_t)n, fanout_left_ms(deadline));
	} while (r == -1 && errno == EINTR);
	if (r > 0)
		return (0);
	snprintf(cause, FANOUT_CAUSE, "load generator process %d of %d did "
	    "not report in time%s%s", who + 1, fo->fo_n, r == -1 ? ": " : "",
	    r == -1 ? strerror(errno) : "");
	return (-1);
}

/*
 * In the parent: wait until every child has reached the step, for at most
 * secs.  Return 0; a child's exit code if one died; -1 with a cause.
 */
int
fanout_wait(struct fanout *fo, int secs, char *cause)
{
	struct timespec	 deadline;
	struct pollfd	*pfd;
	char		 b;
	int		 i, first = 0, left = fo->fo_n, r = 0;

	if ((pfd = fanout_pollfds(fo, cause)) == NULL)
		return (-1);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += secs;
	while (left > 0 && r == 0) {
		while (pfd[first].fd == -1)
			first++;
		if ((r = fanout_poll(fo, pfd, fo->fo_n, first, &deadline,
		    cause)) != 0)
			break;
		for (i = 0; i < fo->fo_n && r == 0; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (read(pfd[i].fd, &b, 1) != 1)
				r = fanout_died(fo, i, cause);
			pfd[i].fd = -1;	/* poll skips negative fds */
			left--;
		}
	}
	free(pfd);
	return (r);
}

/*
 * In the parent: wait secs while the children hold, watching for one
 * that dies meanwhile.  Return 0; a child's exit code; -1 with a cause.
 */
int
fanout_hold(struct fanout *fo, int secs, char *cause)
{
	struct timespec	 deadline;
	struct pollfd	*pfd;
	int		 i, r = 0;

	if ((pfd = fanout_pollfds(fo, cause)) == NULL)
		return (-1);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += secs;
	/* A child says nothing while it holds: anything readable is EOF. */
	while (fanout_left_ms(&deadline) > 0 && r == 0) {
		if (poll(pfd, (nfds_t)fo->fo_n,
		    fanout_left_ms(&deadline)) <= 0)
			continue;
		for (i = 0; i < fo->fo_n && r == 0; i++)
			if (pfd[i].revents != 0)
				r = fanout_died(fo, i, cause);
	}
	free(pfd);
	return (r);
}

/* In the parent: let every child go on to its next step. */
void
fanout_release(struct fanout *fo)
{
	char	b = 0;
	int	i;

	/* A child that died is found by the next wait or receive. */
	for (i = 0; i < fo->fo_n; i++)
		while (write(fo->fo_kids[i].fc_down, &b, 1) == -1 &&
		    errno == EINTR)
			;
}

/*
 * In the parent: read exactly len bytes that child i sends, for at most
 * secs.  Return 0; the child's exit code if it died; -1 with a cause.
 */
int
fanout_recv(struct fanout *fo, int i, void *buf, size_t len, int secs,
    char *cause)
{
	struct timespec	 deadline;
	struct pollfd	 pfd;
	char		*p = buf;
	ssize_t		 n;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += secs;
	pfd.fd = fo->fo_kids[i].fc_up;
	pfd.events = POLLIN;
	while (len > 0) {
		if (fanout_poll(fo, &pfd, 1, i, &deadline, cause) == -1)
			return (-1);
		n = read(pfd.fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (fanout_died(fo, i, cause));
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * In the parent, once every child has sent its totals: reap them all and
 * free fo.  Return 0, the first nonzero exit code, or -1 with a cause.
 */
int
fanout_end(struct fanout *fo, char *cause)
{
	int	i, code, worst = 0;

	for (i = 0; i < fo->fo_n; i++) {
		code = fanout_reap(fo, i, cause);
		if (worst == 0)
			worst = code;
	}
	fanout_kill(fo);
	return (worst);
}

/* In the parent: end every child still running, reap it and free fo. */
void
fanout_kill(struct fanout *fo)
{
	char	cause[FANOUT_CAUSE];
	int	i;

	for (i = 0; i < fo->fo_n; i++)
		if (fo->fo_kids[i].fc_pid != 0)
			kill(fo->fo_kids[i].fc_pid, SIGTERM);
	for (i = 0; i < fo->fo_n; i++) {
		fanout_reap(fo, i, cause);
		close(fo->fo_kids[i].fc_up);
		close(fo->fo_kids[i].fc_down);
	}
	free(fo->fo_kids);
	free(fo);
}

/* In a child: say it reached the step and wait for the go-ahead. */
int
fanout_sync(struct fanout *fo)
{
	char	b = 0;
	ssize_t	n;

	while ((n = write(fo->fo_up, &b, 1)) == -1 && errno == EINTR)
		;
	if (n != 1)
		return (-1);
	while ((n = read(fo->fo_down, &b, 1)) == -1 && errno == EINTR)
		;
	return (n == 1 ? 0 : -1);
}

/* In a child: send len bytes of buf to the parent. */
int
fanout_send(struct fanout *fo, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fo->fo_up, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}
