/* Coroutines: stacks of their own, switched by hand on one thread. */
#ifndef IOD_CORO_H
#define IOD_CORO_H

#include <stddef.h>

/*
 * A coroutine's stack, not counting the guard page below it.  Pages are
 * backed only once touched, so this is the most a coroutine may use, not
 * what it costs.  AddressSanitizer puts red zones around every local
 * array and keeps larger frames, so a build with it gets four times more.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN	1
#endif
#endif

#ifdef CORO_ASAN
#define CORO_STACK	(256 * 1024)
#else
#define CORO_STACK	(64 * 1024)
#endif

struct coro;

/* Making and freeing. */
struct coro *coro_create(void *(*)(void *), void *);
void	 coro_free(struct coro *);

/* Switching. */
void	*coro_resume(struct coro *, void *);
void	*coro_yield(void *);
struct coro *coro_current(void);
int	 coro_done(const struct coro *);
const char *coro_switch_name(void);

#endif
