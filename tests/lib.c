/* Shared test helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

/* Write text to a new temporary file and return its malloc'd path. */
char *
t_write_tmp(const char *text)
{
	const char	*dir;
	char		*path;
	size_t		 len = strlen(text);
	int		 fd;

	if ((dir = getenv("TMPDIR")) == NULL)
		dir = "/tmp";
	if (asprintf(&path, "%s/iod-test.XXXXXX", dir) == -1)
		ck_abort_msg("asprintf failed");
	if ((fd = mkstemp(path)) == -1)
		ck_abort_msg("mkstemp %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len)
		ck_abort_msg("write %s: %s", path, strerror(errno));
	close(fd);
	return (path);
}

/* The source tree, for fixtures: $IOD_SRCDIR as set by make check. */
const char *
t_srcdir(void)
{
	const char	*dir;

	if ((dir = getenv("IOD_SRCDIR")) == NULL)
		dir = ".";
	return (dir);
}
