/* -d: detach from the terminal, and tell the waiting parent when ready. */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

static void	daemon_wait(int) __attribute__((__noreturn__));
static int	daemon_child(char *, size_t);

/* The write end of the readiness pipe in a detached child, else -1. */
static int	daemon_fd = -1;

/* In the parent: exit 0 once the child says it is ready, 1 if it died. */
static void
daemon_wait(int fd)
{
	ssize_t	n;
	char	c;

	do
		n = read(fd, &c, 1);
	while (n == -1 && errno == EINTR);
	_exit(n == 1 ? 0 : 1);
}

/* In the child: a new session, the root directory, stdio on /dev/null. */
static int
daemon_child(char *cause, size_t len)
{
	int	fd;

	if (setsid() == -1) {
		snprintf(cause, len, "setsid: %s", strerror(errno));
		return (-1);
	}
	if (chdir("/") == -1) {
		snprintf(cause, len, "chdir /: %s", strerror(errno));
		return (-1);
	}
	if ((fd = open(_PATH_DEVNULL, O_RDWR)) == -1) {
		snprintf(cause, len, "%s: %s", _PATH_DEVNULL, strerror(errno));
		return (-1);
	}
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		snprintf(cause, len, "dup2: %s", strerror(errno));
		if (fd > STDERR_FILENO)
			close(fd);
		return (-1);
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return (0);
}

/*
 * Fork into the background.  The parent does not return: it waits for
 * daemon_ready() in the child and exits 0, or exits 1 if the child dies
 * first, so "iod -d" fails visibly when startup fails.  On a failure in
 * the child the pipe stays open until it exits, after it has logged why.
 */
int
daemon_detach(char *cause, size_t len)
{
	int	p[2], saved;

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(cause, len, "pipe: %s", strerror(errno));
		return (-1);
	}
	switch (fork()) {
	case -1:
		snprintf(cause, len, "fork: %s", strerror(errno));
		goto fail;
	case 0:
		break;
	default:
		close(p[1]);
		daemon_wait(p[0]);
	}
	close(p[0]);
	daemon_fd = p[1];
	return (daemon_child(cause, len));

fail:
	saved = errno;
	close(p[1]);
	close(p[0]);
	errno = saved;
	return (-1);
}

/* Tell the parent that startup finished; nothing unless detached. */
void
daemon_ready(void)
{
	ssize_t	n;
	int	saved = errno;

	if (daemon_fd == -1)
		return;
	do
		n = write(daemon_fd, "", 1);
	while (n == -1 && errno == EINTR);
	close(daemon_fd);
	daemon_fd = -1;
	errno = saved;
}
