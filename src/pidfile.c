/* The pidfile: locked while root, written after -d, removed at exit. */
#include <sys/types.h>
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"

static long	pidfile_read(const char *);

/* The pid written in path, or -1 if there is none yet. */
static long
pidfile_read(const char *path)
{
	char	buf[32];
	ssize_t	n;
	long	pid;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	if (sscanf(buf, "%ld", &pid) != 1 || pid <= 0)
		return (-1);
	return (pid);
}

/*
 * Open and lock the pidfile, leaving its contents alone until we own it.
 * The lock lives on the open file, so it passes through the -d fork.
 */
int
pidfile_open(const char *path, char *cause, size_t len)
{
	long	pid;
	int	fd, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(cause, len, "%s", strerror(errno));
		return (-1);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		if (saved != EWOULDBLOCK)
			snprintf(cause, len, "flock: %s", strerror(saved));
		else if ((pid = pidfile_read(path)) == -1)
			snprintf(cause, len,
			    "already locked by another process");
		else
			snprintf(cause, len, "already locked by pid %ld", pid);
		errno = saved;
		goto fail;
	}
	return (fd);

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

/* Replace the pidfile's contents with this process's pid. */
int
pidfile_write(int fd, char *cause, size_t len)
{
	char	buf[32];
	int	n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1) {
		snprintf(cause, len, "ftruncate: %s", strerror(errno));
		return (-1);
	}
	errno = 0;
	if (pwrite(fd, buf, n, 0) != n) {
		snprintf(cause, len, "write: %s",
		    errno != 0 ? strerror(errno) : "short write");
		return (-1);
	}
	return (0);
}

/*
 * Remove the pidfile.  Once root is gone the directory may not let us
 * unlink, so empty the file through the descriptor instead.
 */
void
pidfile_remove(const char *path, int fd)
{
	int	saved = errno;

	/*
	 * If even that fails, a stale pid stays behind; it is harmless, since
	 * the lock and not the contents decides who owns the file.
	 */
	if (unlink(path) == -1 && fd != -1 && ftruncate(fd, 0) == -1)
		errno = saved;
	if (fd != -1)
		close(fd);
	errno = saved;
}
