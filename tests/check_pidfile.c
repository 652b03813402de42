/* pidfile: locking, writing and removing the pid of the running daemon. */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"
#include "pidfile.h"

/* Read a small file into buf as a string. */
static void
read_file(const char *path, char *buf, size_t len)
{
	ssize_t	n;
	int	fd;

	fd = open(path, O_RDONLY);
	ck_assert_msg(fd != -1, "open %s: %s", path, strerror(errno));
	n = read(fd, buf, len - 1);
	ck_assert_msg(n >= 0, "read %s: %s", path, strerror(errno));
	buf[n] = '\0';
	close(fd);
}

/* Open and write path as the pidfile; return the fd. */
static int
open_write(const char *path)
{
	char	cause[256] = "";
	int	fd;

	fd = pidfile_open(path, cause, sizeof(cause));
	ck_assert_msg(fd != -1, "pidfile_open %s: %s", path, cause);
	ck_assert_msg(pidfile_write(fd, cause, sizeof(cause)) == 0,
	    "pidfile_write %s: %s", path, cause);
	return (fd);
}

/* The file holds exactly "PID\n", replacing longer old contents. */
START_TEST(test_write_read)
{
	char	*path = t_write_tmp("1234567890\nleft over\n");
	char	 buf[64], want[32];
	int	 fd;

	fd = open_write(path);
	read_file(path, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	ck_assert_str_eq(buf, want);
	ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC,
	    "pidfile fd %d is not close-on-exec", fd);
	pidfile_remove(path, fd);
	free(path);
}
END_TEST

/* A new file is created with mode 0644 (less the umask). */
START_TEST(test_create_mode)
{
	struct stat	 st;
	char		*path = t_write_tmp("");
	int		 fd;

	unlink(path);
	umask(022);
	fd = open_write(path);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
	    strerror(errno));
	ck_assert_msg((st.st_mode & 07777) == 0644, "mode %o, expected 644",
	    (unsigned)st.st_mode & 07777);
	pidfile_remove(path, fd);
	free(path);
}
END_TEST

/* A second open of a locked pidfile, from another process, names the pid. */
START_TEST(test_locked)
{
	char	*path = t_write_tmp("");
	char	 cause[256] = "", want[64];
	int	 fd, p[2], status;
	ssize_t	 n;
	pid_t	 pid;

	fd = open_write(path);
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (pidfile_open(path, cause, sizeof(cause)) != -1)
			snprintf(cause, sizeof(cause), "pidfile_open worked");
		n = write(p[1], cause, strlen(cause));
		_exit(n == (ssize_t)strlen(cause) ? 0 : 1);
	}
	ck_assert_msg(pid != -1, "fork: %s", strerror(errno));
	close(p[1]);
	n = read(p[0], cause, sizeof(cause) - 1);
	cause[n < 0 ? 0 : n] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x", status);
	snprintf(want, sizeof(want), "already locked by pid %ld",
	    (long)getpid());
	ck_assert_str_eq(cause, want);
	pidfile_remove(path, fd);
	free(path);
}
END_TEST

/* A locked but still empty pidfile is refused without a pid. */
START_TEST(test_locked_empty)
{
	char	*path = t_write_tmp("");
	char	 cause[256] = "";
	int	 fd;

	fd = pidfile_open(path, cause, sizeof(cause));
	ck_assert_msg(fd != -1, "pidfile_open %s: %s", path, cause);
	ck_assert_int_eq(pidfile_open(path, cause, sizeof(cause)), -1);
	ck_assert_str_eq(cause, "already locked by another process");
	pidfile_remove(path, fd);
	free(path);
}
END_TEST

/* A pidfile in a missing directory fails with the plain error. */
START_TEST(test_open_missing_dir)
{
	char	cause[256] = "";

	ck_assert_int_eq(pidfile_open("/nonexistent-iod/iod.pid", cause,
	    sizeof(cause)), -1);
	ck_assert_str_eq(cause, "No such file or directory");
}
END_TEST

/* pidfile_remove unlinks the file and releases the lock. */
START_TEST(test_remove)
{
	struct stat	 st;
	char		*path = t_write_tmp("");
	int		 fd;

	fd = open_write(path);
	pidfile_remove(path, fd);
	ck_assert_msg(stat(path, &st) == -1 && errno == ENOENT,
	    "%s still there after pidfile_remove", path);
	fd = open_write(path);
	pidfile_remove(path, fd);
	free(path);
}
END_TEST

/* After dropping root, a pidfile that cannot be unlinked is emptied. */
START_TEST(test_remove_after_drop)
{
	struct stat	 st;
	const char	*tmp;
	char		*dir, *path;
	int		 fd, status;
	pid_t		 pid;

	if (geteuid() != 0) {
		printf("pidfile: remove after drop skipped: needs root\n");
		return;
	}
	if ((tmp = getenv("TMPDIR")) == NULL)
		tmp = "/tmp";
	if (asprintf(&dir, "%s/iod-pidfile.XXXXXX", tmp) == -1)
		ck_abort_msg("asprintf failed");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	if (asprintf(&path, "%s/iod.pid", dir) == -1)
		ck_abort_msg("asprintf failed");
	fd = open_write(path);
	if ((pid = fork()) == 0) {
		if (setresuid(65534, 65534, 65534) == -1)
			_exit(1);
		pidfile_remove(path, fd);
		_exit(0);
	}
	ck_assert_msg(pid != -1, "fork: %s", strerror(errno));
	close(fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x", status);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
	    strerror(errno));
	ck_assert_msg(st.st_size == 0, "%s has %lld bytes, expected 0", path,
	    (long long)st.st_size);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

/* Opening, writing and removing, each case in its own forked child. */
Suite *
suite_pidfile(void)
{
	Suite	*s = suite_create("pidfile");
	TCase	*tc = tcase_create("pidfile");

	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_create_mode);
	tcase_add_test(tc, test_locked);
	tcase_add_test(tc, test_locked_empty);
	tcase_add_test(tc, test_open_missing_dir);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_remove_after_drop);
	suite_add_tcase(s, tc);
	return (s);
}
