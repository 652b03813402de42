/*
 * Coroutines (coro.c) and what the coro engine builds on them: values
 * both ways at every switch, many stacks at once, a stack overflow that
 * dies on the guard page, and, end to end, what an idle connection
 * costs and that its stack goes when it closes.  The behaviour tests
 * run the engine itself through t_variants[].
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "coro.h"
#include "lib.h"

#define CT_ROUNDS	1000	/* switches in the ping-pong */
#define CT_MANY		1000	/* coroutines alive at once */
#define CT_MANY_TURNS	10	/* resumes of each */
#define CT_DEPTH	(1 << 20) /* recursion far beyond any stack */
#define CT_FRAME	512	/* bytes of each recursive frame */
#define CT_IDLE		300	/* idle connections in test_idle_cost */

/*
 * Mappings that malloc or AddressSanitizer may add for themselves while
 * a test counts the stacks' mappings.
 */
#define CT_MAPS_SLACK	16

/*
 * What an idle connection may add to iod's RSS after a small round trip
 * (README: about 8 KiB).  AddressSanitizer's red zones and shadow take
 * more.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CT_IDLE_KB	64
#else
#define CT_IDLE_KB	16
#endif

static const struct t_variant	ct_variant = { "coro", 1, 0 };

/* The guard page must lie between these, for test_overflow's handler. */
static volatile uintptr_t	ct_guard_lo, ct_guard_hi;

static void	*ct_pong(void *);
static void	*ct_echo(void *);
static void	*ct_count(void *);
static void	*ct_outer(void *);
static void	*ct_inner(void *);
static void	*ct_deep_main(void *);
static int	 ct_deep(int);
static void	 ct_segv_cb(int, siginfo_t *, void *);
static void	 ct_overflow_child(void);
static int	 ct_wait_child(pid_t, int);
static int	 ct_maps(pid_t);

/* Yield 0, 1, 2, ...; each resume must hand back twice what was yielded. */
static void *
ct_pong(void *arg)
{
	int	*bad = arg;
	long	 i;

	for (i = 0; i < CT_ROUNDS; i++)
		if ((long)(intptr_t)coro_yield((void *)(intptr_t)i) != 2 * i)
			(*bad)++;
	return ((void *)(intptr_t)-1);
}

/*
 * Proves control and values go both ways at every switch: the coroutine
 * yields 0..CT_ROUNDS-1 in order and sees each answer, then its return
 * value ends it.
 */
START_TEST(test_ping_pong)
{
	struct coro	*co;
	intptr_t	 got;
	long		 i;
	int		 bad = 0;

	co = coro_create(ct_pong, &bad);
	ck_assert_msg(co != NULL, "coro_create: %s", strerror(errno));
	got = (intptr_t)coro_resume(co, NULL);
	for (i = 0; i < CT_ROUNDS; i++) {
		ck_assert_msg(got == i && !coro_done(co), "round %ld: got "
		    "%jd, done %d", i, (intmax_t)got, coro_done(co));
		got = (intptr_t)coro_resume(co, (void *)(intptr_t)(2 * i));
	}
	ck_assert_msg(got == -1 && coro_done(co), "at the end: got %jd, done "
	    "%d", (intmax_t)got, coro_done(co));
	ck_assert_msg(bad == 0, "%d answers arrived wrong in the coroutine",
	    bad);
	coro_free(co);
}
END_TEST

/* Yield what came with the resume, then return what came next. */
static void *
ct_echo(void *arg)
{
	void	*v;

	*(struct coro **)arg = coro_current();
	v = coro_yield(arg);
	return (coro_yield(v));
}

/*
 * Proves one value passes through a coroutine untouched, that the
 * function gets its argument, and that coro_current() names the running
 * coroutine inside and nothing outside.
 */
START_TEST(test_value_through)
{
	struct coro	*co, *inside = NULL;
	char		 token[] = "through";
	void		*got;

	ck_assert_msg(coro_current() == NULL, "coro_current() outside: %p",
	    (void *)coro_current());
	co = coro_create(ct_echo, &inside);
	ck_assert_msg(co != NULL, "coro_create: %s", strerror(errno));
	got = coro_resume(co, NULL);
	ck_assert_msg(got == &inside && inside == co, "first yield %p (want "
	    "%p), coro_current() inside %p (want %p)", got, (void *)&inside,
	    (void *)inside, (void *)co);
	got = coro_resume(co, token);
	ck_assert_msg(got == token, "yielded %p, want what was sent, %p",
	    got, (void *)token);
	got = coro_resume(co, &token[1]);
	ck_assert_msg(got == &token[1] && coro_done(co), "returned %p, want "
	    "%p; done %d", got, (void *)&token[1], coro_done(co));
	ck_assert_msg(coro_current() == NULL, "coro_current() after: %p",
	    (void *)coro_current());
	coro_free(co);
}
END_TEST

/* Count on this coroutine's own stack, yielding id * 1000 + count. */
static void *
ct_count(void *arg)
{
	intptr_t	id = (intptr_t)arg;
	volatile int	count;

	for (count = 0; count < CT_MANY_TURNS; count++)
		(void)coro_yield((void *)(id * 1000 + count));
	return ((void *)(id * 1000 + count));
}

/*
 * Proves many coroutines live at once, each on its own stack: CT_MANY of
 * them resumed in turn keep their own counts, every one ends with the
 * right value, and freeing them gives back both mappings of each (the
 * stack and its guard page).
 */
START_TEST(test_many)
{
	struct coro	**co;
	intptr_t	 got, want;
	int		 i, turn, maps0, maps1;

	co = calloc(CT_MANY, sizeof(*co));
	ck_assert(co != NULL);
	maps0 = ct_maps(getpid());
	for (i = 0; i < CT_MANY; i++) {
		co[i] = coro_create(ct_count, (void *)(intptr_t)i);
		ck_assert_msg(co[i] != NULL, "coro_create %d: %s", i,
		    strerror(errno));
	}
	maps1 = ct_maps(getpid());
	ck_assert_msg(maps1 - maps0 >= 2 * CT_MANY, "%d coroutines added %d "
	    "mappings, want a stack and a guard page each", CT_MANY,
	    maps1 - maps0);
	for (turn = 0; turn <= CT_MANY_TURNS; turn++) {
		for (i = 0; i < CT_MANY; i++) {
			got = (intptr_t)coro_resume(co[i], NULL);
			want = (intptr_t)i * 1000 + turn;
			ck_assert_msg(got == want, "coroutine %d, turn %d: "
			    "got %jd, want %jd", i, turn, (intmax_t)got,
			    (intmax_t)want);
			ck_assert_msg(coro_done(co[i]) == (turn ==
			    CT_MANY_TURNS), "coroutine %d, turn %d: done %d",
			    i, turn, coro_done(co[i]));
		}
	}
	for (i = 0; i < CT_MANY; i++)
		coro_free(co[i]);
	maps1 = ct_maps(getpid());
	ck_assert_msg(maps1 <= maps0 + CT_MAPS_SLACK, "%d mappings after "
	    "freeing every coroutine, %d before", maps1, maps0);
	free(co);
}
END_TEST

/*
 * Resume ct_inner, passing on what it yields, plus one; -1 if the inner
 * one's yield did not come back to this coroutine.
 */
static void *
ct_outer(void *arg)
{
	struct coro	*inner = arg, *self = coro_current();
	intptr_t	 v;

	v = (intptr_t)coro_resume(inner, NULL);
	if (coro_current() != self)
		return ((void *)-1);
	(void)coro_yield((void *)(v + 1));
	return (coro_resume(inner, NULL));
}

/* Yield 10, then return 20. */
static void *
ct_inner(void *arg)
{
	(void)coro_yield((void *)10);
	return ((void *)20);
}

/*
 * Proves a coroutine may resume another: the inner one yields to the
 * outer, not to the thread, and the outer one runs on after it.
 */
START_TEST(test_nested)
{
	struct coro	*outer, *inner;
	intptr_t	 got;

	inner = coro_create(ct_inner, NULL);
	outer = coro_create(ct_outer, inner);
	ck_assert_msg(inner != NULL && outer != NULL, "coro_create: %s",
	    strerror(errno));
	got = (intptr_t)coro_resume(outer, NULL);
	ck_assert_msg(got == 11, "outer yielded %jd, want 11 (inner's 10, "
	    "plus one)", (intmax_t)got);
	got = (intptr_t)coro_resume(outer, NULL);
	ck_assert_msg(got == 20 && coro_done(outer) && coro_done(inner),
	    "outer returned %jd, want 20; done %d and %d", (intmax_t)got,
	    coro_done(outer), coro_done(inner));
	coro_free(outer);
	coro_free(inner);
}
END_TEST

/*
 * Proves a coroutine suspended half-way can be freed, and that the
 * others go on: its stack is simply dropped.
 */
START_TEST(test_free_suspended)
{
	struct coro	*a, *b;
	intptr_t	 got;

	a = coro_create(ct_count, (void *)1);
	b = coro_create(ct_count, (void *)2);
	ck_assert_msg(a != NULL && b != NULL, "coro_create: %s",
	    strerror(errno));
	(void)coro_resume(a, NULL);
	(void)coro_resume(b, NULL);
	coro_free(a);
	got = (intptr_t)coro_resume(b, NULL);
	ck_assert_msg(got == 2001, "the other coroutine yielded %jd, want "
	    "2001", (intmax_t)got);
	coro_free(b);
}
END_TEST

/* Recurse with a frame of CT_FRAME bytes, each one written. */
static int
ct_deep(int n)
{
	volatile unsigned char	frame[CT_FRAME];

	frame[0] = (unsigned char)n;
	frame[CT_FRAME - 1] = (unsigned char)n;
	if (n >= CT_DEPTH)
		return (frame[0]);
	return (ct_deep(n + 1) + frame[CT_FRAME - 1]);
}

/*
 * Note where the stack's bottom, and so its guard page, must be: a
 * CORO_STACK below this first frame, give or take the struct coro above
 * it and a page; then overflow.
 */
static void *
ct_deep_main(void *arg)
{
	volatile unsigned char	here;
	uintptr_t		top = (uintptr_t)&here;

	ct_guard_lo = top - CORO_STACK - 2 * 4096;
	ct_guard_hi = top - CORO_STACK + 4096;
	return ((void *)(intptr_t)ct_deep(0));
}

/*
 * In the overflowing child: a fault at the guard page is what the test
 * wants, so let the next one kill the child with SIGSEGV; a fault
 * anywhere else exits 3.  Runs on an alternate stack.
 */
static void
ct_segv_cb(int sig, siginfo_t *si, void *uc)
{
	uintptr_t	a = (uintptr_t)si->si_addr;

	if (a < ct_guard_lo || a >= ct_guard_hi)
		_exit(3);
	signal(SIGSEGV, SIG_DFL);
}

/* The forked child of test_overflow: overflow a coroutine's stack. */
static void
ct_overflow_child(void)
{
	static unsigned char	 altstack[64 * 1024];
	stack_t			 ss;
	struct sigaction	 sa;
	struct coro		*co, *below;

	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = ct_segv_cb;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) == -1 ||
	    sigaction(SIGSEGV, &sa, NULL) == -1)
		_exit(4);
	/*
	 * Mappings are placed top down: the second stack most likely lies
	 * just below the first, where an overflow without a guard page would
	 * run on into it and fault only at its bottom, out of the window.
	 */
	if ((co = coro_create(ct_deep_main, NULL)) == NULL ||
	    (below = coro_create(ct_deep_main, NULL)) == NULL)
		_exit(5);
	(void)coro_resume(co, NULL);
	coro_free(below);
	_exit(0);
}

/*
 * Wait up to timeout_ms for pid to end; its wait status, or -1 after
 * killing it on the deadline.
 */
static int
ct_wait_child(pid_t pid, int timeout_ms)
{
	int64_t	deadline = t_now_ms() + timeout_ms;
	int	status, i;

	for (i = 0; i < T_MAXLOOP && t_now_ms() < deadline; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return (status);
		poll(NULL, 0, 10);
	}
	kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	return (-1);
}

/*
 * Proves the guard page: a coroutine that recurses without end faults on
 * the page just below its stack (not somewhere in the memory beneath),
 * and the process dies by SIGSEGV instead of running on corrupted.
 */
START_TEST(test_overflow)
{
	pid_t	pid;
	int	status;

	pid = fork();
	ck_assert_msg(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0)
		ct_overflow_child();
	t_track_pid(pid);
	status = ct_wait_child(pid, t_ms(10000));
	t_untrack_pid(pid);
	ck_assert_msg(status != -1, "the overflowing child still ran after "
	    "%d ms", t_ms(10000));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	    "the overflowing child ended with %s (exit 3 means a fault away "
	    "from the guard page); want killed by signal %d (SIGSEGV)",
	    t_status_name(status), SIGSEGV);
}
END_TEST

/* How many mappings pid has: lines of /proc/PID/maps. */
static int
ct_maps(pid_t pid)
{
	char	path[64], line[512];
	FILE	*f;
	int	n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strchr(line, '\n') != NULL;
	fclose(f);
	return (n);
}

/*
 * Proves what README says an idle connection costs: after one small
 * round trip each, CT_IDLE connections add less than CT_IDLE_KB each to
 * iod's RSS and two mappings each (a stack and its guard page); once
 * they close, the mappings are gone again.  The ready line names the
 * switch.
 */
START_TEST(test_idle_cost)
{
	struct t_iod	*iod;
	long		 rss0, rss1, each;
	int		 fds[CT_IDLE], i, maps0, maps1, maps2 = -1;

	iod = t_spawn_variant(&ct_variant, "mode = \"upper\";\n");
	ck_assert_msg(t_wait_log(iod, "ready: engine coro (", 0) != NULL,
	    "no ready line naming the switch; stderr:\n%s", t_log_tail(iod));
	fds[0] = t_connect(iod->port[0]);
	t_expect_roundtrip(fds[0], "warm", "WARM", t_ms(3000), "warm-up");
	close(fds[0]);
	poll(NULL, 0, 100);
	rss0 = t_rss_kb(iod->pid);
	maps0 = ct_maps(iod->pid);
	for (i = 0; i < CT_IDLE; i++) {
		fds[i] = t_connect(iod->port[0]);
		t_expect_roundtrip(fds[i], "hi", "HI", t_ms(3000),
		    "client %d", i);
	}
	rss1 = t_rss_kb(iod->pid);
	maps1 = ct_maps(iod->pid);
	each = (rss1 - rss0) * 1024 / CT_IDLE;
	ck_assert_msg(each < CT_IDLE_KB * 1024, "%d idle connections added "
	    "%ld KiB (%ld to %ld): %ld bytes each, bound %d KiB", CT_IDLE,
	    rss1 - rss0, rss0, rss1, each, CT_IDLE_KB);
	ck_assert_msg(maps1 - maps0 >= 2 * CT_IDLE &&
	    maps1 - maps0 <= 2 * CT_IDLE + CT_MAPS_SLACK, "%d connections "
	    "added %d mappings, want 2 each", CT_IDLE, maps1 - maps0);
	for (i = 0; i < CT_IDLE; i++)
		close(fds[i]);
	for (i = 0; i < 300; i++) {
		if ((maps2 = ct_maps(iod->pid)) <= maps0 + CT_MAPS_SLACK)
			break;
		poll(NULL, 0, 10);
	}
	ck_assert_msg(maps2 <= maps0 + CT_MAPS_SLACK, "%d mappings once every "
	    "client left, %d before they came", maps2, maps0);
	t_expect_stop(iod);
}
END_TEST

/* The coro suite: the primitive, then the engine's costs. */
Suite *
suite_coro(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("coro");
	tc = tcase_create("primitive");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_ping_pong);
	tcase_add_test(tc, test_value_through);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_nested);
	tcase_add_test(tc, test_free_suspended);
	tcase_add_test(tc, test_overflow);
	suite_add_tcase(s, tc);
	tc = tcase_create("engine");
	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_idle_cost);
	suite_add_tcase(s, tc);
	return (s);
}
