/*
 * Shared test helpers: variants, files, fixtures and config text.
 * Running iod is in lib_iod.c, clients in lib_client.c, time and /proc
 * in lib_proc.c.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

/* Every variant the behaviour tests run under (S26). */
#define T_EVENT		(T_BUFFERS | T_HOLDS | T_CONCURRENT)
#define T_BLOCKING	(T_HOLDS | T_CONCURRENT)
const struct t_variant t_variants[] = {
	{ "libevent",	1, T_EVENT | T_SPLICES },
	{ "libevent",	2, T_EVENT },
	{ "select",	1, T_EVENT | T_SPLICES },
	{ "select",	2, T_EVENT },
	{ "poll",	1, T_EVENT | T_SPLICES },
	{ "poll",	2, T_EVENT },
	{ "epoll",	1, T_EVENT | T_SPLICES },
	{ "epoll",	2, T_EVENT },
	{ "epoll-lt",	1, T_EVENT | T_SPLICES },
	{ "epoll-lt",	2, T_EVENT },
	{ "busypoll",	1, T_EVENT | T_SPINS | T_SPLICES },
	{ "sigio",	1, T_EVENT | T_SPLICES },
	{ "sigio",	2, T_EVENT },
	{ "coro",	1, T_BLOCKING },
	{ "coro",	2, T_BLOCKING },
#ifdef HAVE_LIBURING
	{ "uring",	1, T_EVENT },
	{ "uring",	2, T_EVENT },
#endif
	{ "iterative",	1, T_HOLDS },
	{ "threads",	1, T_BLOCKING },
	{ "threads",	2, T_BLOCKING },
	{ "fork",	1, T_CONCURRENT },
	{ "fork",	2, T_CONCURRENT },
};
const size_t t_nvariants = sizeof(t_variants) / sizeof(t_variants[0]);

/*
 * Whether variant v has every capability in caps and runs now: with
 * IOD_TEST_ENGINES set ("libevent,epoll"), only the engines it names run,
 * so that a slow wrapper (tests/memcheck.sh) covers one engine per family.
 */
static int
t_runs(const struct t_variant *v, int caps)
{
	const char	*list = getenv("IOD_TEST_ENGINES"), *p;
	size_t		 len = strlen(v->engine);

	if ((v->caps & caps) != caps)
		return (0);
	if (list == NULL || *list == '\0')
		return (1);
	for (p = list; (p = strstr(p, v->engine)) != NULL; p += len)
		if ((p == list || p[-1] == ',') &&
		    (p[len] == '\0' || p[len] == ','))
			return (1);
	return (0);
}

/* Return how many variants have every capability in caps. */
int
t_count(int caps)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < t_nvariants; i++)
		n += t_runs(&t_variants[i], caps);
	return (n);
}

/* Return the i-th variant that has every capability in caps. */
const struct t_variant *
t_variant(int caps, int i)
{
	size_t	j;
	int	k = i;

	for (j = 0; j < t_nvariants; j++)
		if (t_runs(&t_variants[j], caps) && k-- == 0)
			return (&t_variants[j]);
	ck_abort_msg("no variant %d with capabilities %#x", i, caps);
	return (NULL);
}

/* Children this test process started, killed by PID in t_cleanup(). */
#define T_MAXCHILD	16
static struct t_iod	*t_live[T_MAXCHILD];
static pid_t		 t_pids[T_MAXCHILD];

/* The per-test-case temporary directory and the TMPDIR it replaced. */
static char		 t_dir[PATH_MAX];
static char		*t_saved_tmpdir;

static int	t_rm_cb(const char *, const struct stat *, int, struct FTW *);
static void	t_kill_pidfiles(const char *);

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

/* Scale a wait that depends on iod's speed (see lib.h). */
int
t_ms(int ms)
{
	const char	*wrapper = getenv("IOD_TEST_WRAPPER");

	/* Under valgrind, iod starts and runs many times slower. */
	if (wrapper != NULL && *wrapper != '\0')
		ms *= 10;
#if defined(__SANITIZE_ADDRESS__)
	return (ms * 3);
#else
	return (ms);
#endif
}

/*
 * Unchecked setup, in the runner: point TMPDIR at a fresh directory for
 * the whole test case.  A failing test exits without its teardown, so
 * its files are removed here, after the last test of the case.  The
 * directory is world-readable so that iod started as nobody can read its
 * configuration.
 */
void
t_tmpdir_setup(void)
{
	const char	*base, *old;

	if ((base = getenv("TMPDIR")) == NULL)
		base = "/tmp";
	snprintf(t_dir, sizeof(t_dir), "%s/iod-tests.XXXXXX", base);
	if (mkdtemp(t_dir) == NULL)
		ck_abort_msg("mkdtemp %s: %s", t_dir, strerror(errno));
	if (chmod(t_dir, 0755) == -1)
		ck_abort_msg("chmod %s: %s", t_dir, strerror(errno));
	old = getenv("TMPDIR");
	t_saved_tmpdir = old != NULL ? strdup(old) : NULL;
	setenv("TMPDIR", t_dir, 1);
}

/* Unchecked teardown: kill daemons left by pidfiles, remove the directory. */
void
t_tmpdir_teardown(void)
{
	if (t_dir[0] == '\0')
		return;
	t_kill_pidfiles(t_dir);
	nftw(t_dir, t_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	t_dir[0] = '\0';
	if (t_saved_tmpdir != NULL) {
		setenv("TMPDIR", t_saved_tmpdir, 1);
		free(t_saved_tmpdir);
		t_saved_tmpdir = NULL;
	} else
		unsetenv("TMPDIR");
}

/* Remove one file or directory for nftw(). */
static int
t_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return (0);
}

/*
 * SIGKILL every process named by a *.pid file in dir that still runs
 * IOD_BIN.  Only -d tests write pidfiles, and a daemon has left the test's
 * process group, so Check's kill of the group cannot reach it.
 */
static void
t_kill_pidfiles(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX], exe[PATH_MAX], bin[PATH_MAX];
	FILE		*f;
	ssize_t		 n;
	long		 pid;
	size_t		 len;
	int		 ok;

	if ((d = opendir(dir)) == NULL)
		return;
	if (getenv("IOD_BIN") == NULL ||
	    realpath(getenv("IOD_BIN"), bin) == NULL)
		bin[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".pid") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= (int)sizeof(path) ||
		    (f = fopen(path, "r")) == NULL)
			continue;
		ok = fscanf(f, "%ld", &pid) == 1 && pid > 1;
		fclose(f);
		if (!ok)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		if ((n = readlink(path, exe, sizeof(exe) - 1)) == -1)
			continue;
		exe[n] = '\0';
		if (strcmp(exe, bin) == 0)
			kill((pid_t)pid, SIGKILL);
	}
	closedir(d);
}

/*
 * Checked teardown, in the forked test process: kill and reap every iod
 * and tracked PID this test started, and remove their config files.  A
 * failing assertion ends the test process without it; then Check kills
 * the test's process group (which holds every iod not started with -d)
 * and each iod also dies by PR_SET_PDEATHSIG.
 */
void
t_cleanup(void)
{
	size_t	i;

	for (i = 0; i < T_MAXCHILD; i++) {
		if (t_live[i] != NULL) {
			if (t_live[i]->pid > 0)
				kill(t_live[i]->pid, SIGKILL);
			t_stop_iod(t_live[i]);
		}
		if (t_pids[i] > 0) {
			kill(t_pids[i], SIGKILL);
			waitpid(t_pids[i], NULL, 0);
			t_pids[i] = 0;
		}
	}
}

/* Give a test case both fixtures above. */
void
t_tcase_fixtures(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, t_tmpdir_setup, t_tmpdir_teardown);
	tcase_add_checked_fixture(tc, NULL, t_cleanup);
}

/* Kill pid in t_cleanup() unless it is gone by then (-d daemons). */
void
t_track_pid(pid_t pid)
{
	size_t	i;

	for (i = 0; i < T_MAXCHILD; i++)
		if (t_pids[i] <= 0) {
			t_pids[i] = pid;
			return;
		}
	ck_abort_msg("more than %d tracked PIDs", T_MAXCHILD);
}

/* Forget a tracked pid that the test has reaped itself. */
void
t_untrack_pid(pid_t pid)
{
	size_t	i;

	for (i = 0; i < T_MAXCHILD; i++)
		if (t_pids[i] == pid)
			t_pids[i] = 0;
}

/* Remember iod for t_cleanup(). */
void
t_register(struct t_iod *iod)
{
	size_t	i;

	for (i = 0; i < T_MAXCHILD; i++)
		if (t_live[i] == NULL) {
			t_live[i] = iod;
			return;
		}
	ck_abort_msg("more than %d iod processes in one test", T_MAXCHILD);
}

/* Forget iod. */
void
t_unregister(struct t_iod *iod)
{
	size_t	i;

	for (i = 0; i < T_MAXCHILD; i++)
		if (t_live[i] == iod)
			t_live[i] = NULL;
}

/* Return a config for variant v: engine, workers, log level, then fmt. */
char *
t_conf(const struct t_variant *v, const char *fmt, ...)
{
	va_list	 ap;
	char	*rest, *text;

	va_start(ap, fmt);
	if (vasprintf(&rest, fmt, ap) == -1)
		ck_abort_msg("vasprintf failed");
	va_end(ap);
	if (asprintf(&text, "engine = \"%s\";\nworkers = %d;\n"
	    "log_level = \"info\";\n%s\n", v->engine, v->workers, rest) == -1)
		ck_abort_msg("asprintf failed");
	free(rest);
	return (text);
}

/* Append len bytes to b, keeping it NUL-terminated. */
void
t_buf_add(struct t_buf *b, const void *data, size_t len)
{
	size_t	 size;
	char	*p;

	if (b->b_len + len + 1 > b->b_size) {
		size = b->b_size == 0 ? 4096 : b->b_size;
		while (size < b->b_len + len + 1)
			size *= 2;
		if ((p = realloc(b->b_data, size)) == NULL)
			ck_abort_msg("realloc %zu failed", size);
		b->b_data = p;
		b->b_size = size;
	}
	memcpy(b->b_data + b->b_len, data, len);
	b->b_len += len;
	b->b_data[b->b_len] = '\0';
}

/* Free b's storage. */
void
t_buf_free(struct t_buf *b)
{
	free(b->b_data);
	memset(b, 0, sizeof(*b));
}
