/* conf_include: what @include may name, checked before libconfig reads it. */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "lib.h"
#include "transform.h"

static char	*tmp_path(const char *);
static char	*conf_text(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
static void	 load_bad(const char *, const char *);

/* Return the malloc'd path of name in this test's TMPDIR. */
static char *
tmp_path(const char *name)
{
	const char	*dir;
	char		*path;

	if ((dir = getenv("TMPDIR")) == NULL)
		dir = "/tmp";
	if (asprintf(&path, "%s/%s", dir, name) == -1)
		ck_abort_msg("asprintf failed");
	return (path);
}

/* Write a config from a format to a temporary file; return its path. */
static char *
conf_text(const char *fmt, ...)
{
	va_list	 ap;
	char	*text, *path;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		ck_abort_msg("vasprintf failed");
	va_end(ap);
	path = t_write_tmp(text);
	free(text);
	return (path);
}

/* Loading path fails with exactly want. */
static void
load_bad(const char *path, const char *want)
{
	struct iod_conf	conf;
	char		err[1024] = "";
	int		rc;

	rc = conf_load(path, &conf, err, sizeof(err));
	ck_assert_msg(rc == -1, "conf_load %s returned %d", path, rc);
	ck_assert_msg(strcmp(err, want) == 0, "got \"%s\", want \"%s\"", err,
	    want);
}

/*
 * An @include of a directory is refused with the file and line, instead
 * of libconfig's scanner ending the process (exit status 2) on the read
 * that fails.
 */
START_TEST(test_directory)
{
	char	*dir, *path, want[1024];

	dir = tmp_path("");
	path = conf_text("workers = 2;\n  @include \"%s\"\n", dir);
	snprintf(want, sizeof(want), "%s:2: @include \"%s\": Is a directory",
	    path, dir);
	load_bad(path, want);
	free(path);
	free(dir);
}
END_TEST

/* So is one in an included file, blamed on that file and its line. */
START_TEST(test_nested)
{
	char	*inner, *outer, want[1024];

	inner = conf_text("# inner\nmode = \"echo\";\n@include \"/\"\n");
	outer = conf_text("@include \"%s\"\n", inner);
	snprintf(want, sizeof(want), "%s:3: @include \"/\": Is a directory",
	    inner);
	load_bad(outer, want);
	free(inner);
	free(outer);
}
END_TEST

/* A FIFO is refused too, without blocking on it (libconfig would). */
START_TEST(test_fifo)
{
	char	*fifo, *path, want[1024];

	fifo = tmp_path("fifo");
	ck_assert_msg(mkfifo(fifo, 0600) == 0, "mkfifo %s: %s", fifo,
	    strerror(errno));
	path = conf_text("@include \"%s\"\n", fifo);
	snprintf(want, sizeof(want), "%s:1: @include \"%s\": not a regular "
	    "file", path, fifo);
	load_bad(path, want);
	unlink(fifo);
	free(fifo);
	free(path);
}
END_TEST

/* A regular file is included, and its settings apply. */
START_TEST(test_regular)
{
	struct iod_conf	 conf;
	char		*inner, *outer, err[1024] = "";

	inner = conf_text("mode = \"echo\";\n");
	outer = conf_text("workers = 3;\n@include \"%s\"\n", inner);
	ck_assert_msg(conf_load(outer, &conf, err, sizeof(err)) == 0,
	    "conf_load: %s", err);
	ck_assert_int_eq(conf.mode, TRANSFORM_ECHO);
	ck_assert_int_eq(conf.workers, 3);
	conf_free(&conf);
	free(inner);
	free(outer);
}
END_TEST

/*
 * Only what libconfig takes for an @include is checked: not one in a
 * comment of either kind, nor one in a string, which escaped quotes do
 * not end.
 */
START_TEST(test_not_includes)
{
	struct iod_conf	 conf;
	char		*path, err[1024] = "";

	path = conf_text("# @include \"/\"\n"
	    "// @include \"/\"\n"
	    "/* a comment\n@include \"/\"\n*/\n"
	    "pidfile = \"/run/\\\"\n@include \\\"/\\\"\n.pid\";\n"
	    "mode = \"echo\"; # \"\n"
	    "@include \"%s\"\n", "/dev/null");
	/* /dev/null is not a regular file, so reaching it says so. */
	ck_assert_int_eq(conf_load(path, &conf, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":10: @include \"/dev/null\": not a regular "
	    "file") != NULL, "got \"%s\"", err);
	free(path);
	path = conf_text("# @include \"/\"\n/* \n@include \"/\" */\n");
	ck_assert_msg(conf_load(path, &conf, err, sizeof(err)) == 0,
	    "conf_load: %s", err);
	conf_free(&conf);
	free(path);
}
END_TEST

/* A missing file is still libconfig's to report, as before. */
START_TEST(test_missing)
{
	char	*path, want[1024];

	path = conf_text("\n@include \"/nonexistent/iod.conf\"\n");
	snprintf(want, sizeof(want), "%s:2: syntax error: cannot open include "
	    "file", path);
	load_bad(path, want);
	free(path);
}
END_TEST

/*
 * A file whose read fails (/proc/self/mem at offset 0) is reported, as
 * the configuration file and as an included one, where libconfig's
 * scanner would have ended the process.
 */
START_TEST(test_read_error)
{
	char	*path, want[1024];

	load_bad("/proc/self/mem", "/proc/self/mem: Input/output error");
	path = conf_text("@include \"/proc/self/mem\"\n");
	snprintf(want, sizeof(want), "%s:1: @include \"/proc/self/mem\": "
	    "Input/output error", path);
	load_bad(path, want);
	free(path);
}
END_TEST

/*
 * A configuration that is not a regular file (a pipe, as with -c
 * /dev/stdin) is read once, checked and parsed: its settings apply and
 * its includes are checked.
 */
START_TEST(test_pipe)
{
	static const char *const texts[] = {
		"mode = \"echo\";\n",
		"mode = \"echo\";\n@include \"/\"\n"
	};
	struct iod_conf	 conf;
	char		 path[64], err[1024] = "";
	int		 fds[2], rc;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(pipe(fds), 0);
		ck_assert_int_eq(write(fds[1], texts[i], strlen(texts[i])),
		    (ssize_t)strlen(texts[i]));
		close(fds[1]);
		snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
		rc = conf_load(path, &conf, err, sizeof(err));
		close(fds[0]);
		if (i == 0) {
			ck_assert_msg(rc == 0, "conf_load: %s", err);
			ck_assert_int_eq(conf.mode, TRANSFORM_ECHO);
			conf_free(&conf);
		} else {
			ck_assert_int_eq(rc, -1);
			ck_assert_msg(strstr(err, ":2: @include \"/\": Is a "
			    "directory") != NULL, "got \"%s\"", err);
		}
	}
}
END_TEST

Suite *
suite_conf_include(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("conf_include");
	tc = tcase_create("conf_include");
	t_tcase_fixtures(tc);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_nested);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_regular);
	tcase_add_test(tc, test_not_includes);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_read_error);
	tcase_add_test(tc, test_pipe);
	suite_add_tcase(s, tc);
	return (s);
}
