/*
 * The one Check runner: every module's suite, each case in a forked
 * child.  The behaviour tests spend most of their time waiting, on iod
 * and on clocks, so the whole suite runs in two processes at once, each
 * taking the next suite no one has taken until none is left: on two
 * cores that takes about half as long, and a suite's own tests still
 * run one at a time.  Each runner reports into a file of its own, which
 * comes out whole once all are done, so the log reads as one runner's
 * would.  A run narrowed with CK_RUN_SUITE, or with IOD_TEST_RUNNERS=1,
 * is one process, as it always was.
 */
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define RUNNERS	2

/* The longest first, so that the last ones taken are short. */
static Suite *(*const suites[])(void) = {
	suite_fault, suite_drain, suite_proto, suite_limits, suite_life,
	suite_reload, suite_proxied, suite_metrics, suite_splice,
	suite_reuseport, suite_access, suite_sigio, suite_haproxy,
	suite_iterative, suite_prometheus, suite_busypoll, suite_coro,
	suite_poller, suite_privs, suite_systemd, suite_pidfile, suite_conn,
	suite_listen, suite_conf, suite_conf_include, suite_outbuf,
	suite_ratelimit, suite_proxy, suite_cidr, suite_transform, suite_man
};
#define NSUITES	(sizeof(suites) / sizeof(suites[0]))

static int	run_all(void);
static int	run_taking(_Atomic size_t *);
static int	run_runners(int);
static void	run_report(FILE *);

int
main(void)
{
	const char	*env = getenv("IOD_TEST_RUNNERS");
	int		 runners = env != NULL ? atoi(env) : RUNNERS;

	if (getenv("CK_RUN_SUITE") != NULL || runners <= 1)
		return (run_all() == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
	if (runners > RUNNERS)
		runners = RUNNERS;
	return (run_runners(runners) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* Every suite in one runner; return how many tests failed. */
static int
run_all(void)
{
	SRunner	*sr;
	size_t	 i;
	int	 failed;

	sr = srunner_create(suites[0]());
	for (i = 1; i < NSUITES; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed);
}

/*
 * Run n processes that take suites from one shared counter, and copy
 * their reports out; return 0 if each ran its suites with no failure.
 * If no process can be made, this one runs them all.
 */
static int
run_runners(int n)
{
	_Atomic size_t	*next;
	FILE		*out[RUNNERS] = { NULL };
	pid_t		 pid;
	int		 i, made = 0, status, failed = 0;

	next = mmap(NULL, sizeof(*next), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (next == MAP_FAILED)
		return (run_all());
	atomic_init(next, 0);
	fflush(stdout);
	for (i = 0; i < n; i++) {
		/* Without a file, a runner writes straight to the log. */
		out[i] = tmpfile();
		if ((pid = fork()) == -1)
			break;
		if (pid == 0) {
			if (out[i] != NULL)
				dup2(fileno(out[i]), STDOUT_FILENO);
			_exit(run_taking(next) == 0 ? EXIT_SUCCESS :
			    EXIT_FAILURE);
		}
		made++;
	}
	if (made == 0)
		return (run_taking(next));
	while (made > 0 && wait(&status) != -1) {
		made--;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	for (i = 0; i < n; i++)
		if (out[i] != NULL)
			run_report(out[i]);
	return (failed || made > 0);
}

/* Copy a runner's report to the log, and close it. */
static void
run_report(FILE *f)
{
	char	buf[8192];
	size_t	len;

	rewind(f);
	while ((len = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, len, stdout);
	fclose(f);
	fflush(stdout);
}

/* Run suites, one runner each, while any is left to take. */
static int
run_taking(_Atomic size_t *next)
{
	SRunner	*sr;
	size_t	 i;
	int	 failed = 0;

	while ((i = atomic_fetch_add(next, 1)) < NSUITES) {
		sr = srunner_create(suites[i]());
		srunner_run_all(sr, CK_NORMAL);
		failed += srunner_ntests_failed(sr);
		srunner_free(sr);
	}
	return (failed);
}
