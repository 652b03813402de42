/*
 * coroswitch: what one coroutine round trip costs (a resume and the
 * yield back), with the switch src/coro.c was built with, and with a
 * bare swapcontext(3) ping-pong for comparison.  The figures quoted in
 * src/coro.c come from this.
 *
 * usage: coroswitch [ROUNDS]   (default 2000000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

#include "coro.h"

#define CS_ROUNDS	2000000L
#define CS_STACK	(64 * 1024)

static ucontext_t	cs_main_uc, cs_co_uc;
static long		cs_rounds;

static void	*cs_loop(void *);
static void	 cs_uc_loop(void);
static int64_t	 cs_now_ns(void);

/* Yield forever, counting in the value. */
static void *
cs_loop(void *arg)
{
	for (;;)
		(void)coro_yield(arg);
	return (NULL);
}

/* The same with swapcontext() both ways. */
static void
cs_uc_loop(void)
{
	for (;;)
		swapcontext(&cs_co_uc, &cs_main_uc);
}

/* Nanoseconds on the monotonic clock. */
static int64_t
cs_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

int
main(int argc, char *argv[])
{
	static unsigned char	 stack[CS_STACK];
	struct coro		*co;
	int64_t			 t0, t1;
	long			 i;

	cs_rounds = argc > 1 ? atol(argv[1]) : CS_ROUNDS;
	if (cs_rounds <= 0) {
		fprintf(stderr, "usage: coroswitch [ROUNDS]\n");
		return (64);
	}
	if ((co = coro_create(cs_loop, NULL)) == NULL) {
		perror("coro_create");
		return (71);
	}
	t0 = cs_now_ns();
	for (i = 0; i < cs_rounds; i++)
		(void)coro_resume(co, NULL);
	t1 = cs_now_ns();
	printf("%s: %.0f ns a round trip (resume and yield)\n",
	    coro_switch_name(), (double)(t1 - t0) / (double)cs_rounds);
	coro_free(co);

	getcontext(&cs_co_uc);
	cs_co_uc.uc_stack.ss_sp = stack;
	cs_co_uc.uc_stack.ss_size = sizeof(stack);
	cs_co_uc.uc_link = NULL;
	makecontext(&cs_co_uc, cs_uc_loop, 0);
	t0 = cs_now_ns();
	for (i = 0; i < cs_rounds; i++)
		swapcontext(&cs_main_uc, &cs_co_uc);
	t1 = cs_now_ns();
	printf("swapcontext: %.0f ns a round trip (resume and yield)\n",
	    (double)(t1 - t0) / (double)cs_rounds);
	return (0);
}
