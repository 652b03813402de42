/*
 * Coroutines, as greenlet and Lua have them: a function running on a
 * stack of its own, which gives control back with coro_yield() and gets
 * it again with coro_resume(), on the one thread that made it.  A value
 * goes each way at every switch.  Nothing here knows about sockets; the
 * coro engine builds its scheduler on these.
 *
 * A stack is a mapping of its own: a PROT_NONE guard page at the bottom,
 * CORO_STACK bytes above it, and the struct coro at the very top.  A
 * coroutine that runs out of stack faults on the guard page (SIGSEGV)
 * instead of writing over whatever lies below.  Pages are backed only
 * once touched, so a coroutine costs what it has used, not CORO_STACK.
 * Two mappings a stack (the guard splits it): vm.max_map_count, 65530
 * by default, caps a process near 32 000 coroutines, and coro_create()
 * fails with ENOMEM past that.
 *
 * The switch on x86-64 is hand-written: save the callee-saved registers
 * (rbx, rbp, r12-r15, and the SSE and x87 control words the ABI also
 * counts as callee-saved) on the old stack, store the stack pointer,
 * load the other one and pop its registers.  swapcontext(3) does far
 * more: a system call for the signal mask each way, the whole floating
 * point environment, more registers; it costs over ten times as much:
 *
 *	$ build/normal/bench/coroswitch 5000000
 *	x86-64 switch: 39 ns a round trip (resume and yield)
 *	swapcontext: 534 ns a round trip (resume and yield)
 *
 * (Debian 12, gcc 12 -O2, 2 shared vCPUs; 5 million round trips each.)
 * On other machines, and where CET shadow stacks are on (a hand-made
 * return would not match the shadow stack), the switch is swapcontext.
 *
 * AddressSanitizer keeps its own idea of the current stack; without
 * being told of every switch it would report a stack overflow or a bad
 * access on the first.  So each switch is bracketed by
 * __sanitizer_start_switch_fiber() and __sanitizer_finish_switch_fiber(),
 * and a stack is unpoisoned before it is unmapped.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "coro.h"
#include "log.h"

#if defined(__x86_64__) && !(defined(__CET__) && (__CET__ & 2))
#define CORO_ASM	1
#else
#include <ucontext.h>
#endif

#ifdef CORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#ifdef CORO_ASM
typedef void	*coro_ctx;	/* the stack pointer, registers beneath */
void	coro_asm_switch(coro_ctx *, coro_ctx) __attribute__((visibility(
	    "hidden")));
#else
typedef ucontext_t coro_ctx;
#endif

struct coro {
	coro_ctx	 co_ctx;	/* its own, while switched out */
	coro_ctx	 co_caller;	/* its resumer's, while it runs */
	void		*(*co_fn)(void *);
	void		*co_arg;
	void		*co_value;	/* passed by the last switch */
	struct coro	*co_prev;	/* the current one before resume */
	unsigned char	*co_map;	/* guard page, stack, this */
	size_t		 co_maplen;
	unsigned char	*co_stack;	/* the stack's lowest byte */
	size_t		 co_stacklen;
	int		 co_running;
	int		 co_done;	/* co_fn returned */
	void		*co_fake;	/* ASan's fake stack, switched out */
	const void	*co_caller_stack; /* the resumer's stack, for ASan */
	size_t		 co_caller_len;
};

/* The coroutine running on this thread; NULL: the thread's own stack. */
static __thread struct coro	*coro_running;

static void	coro_main(void);
static void	coro_ctx_init(struct coro *);
static void	coro_jump(coro_ctx *, coro_ctx *);
static void	coro_asan_leave(void **, const void *, size_t);
static void	coro_asan_enter(void *, const void **, size_t *);

#ifdef CORO_ASM
/*
 * coro_asm_switch(save, load): push the callee-saved registers and the
 * two control words, store the stack pointer in *save, take load as the
 * stack pointer and pop what coro_asm_switch() pushed there, or what
 * coro_ctx_init() laid out, then return into that context.
 */
__asm__(
	".text\n"
	".p2align 4\n"
	".globl coro_asm_switch\n"
	".hidden coro_asm_switch\n"
	".type coro_asm_switch, @function\n"
"coro_asm_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size coro_asm_switch, .-coro_asm_switch\n"
);
#endif

/*
 * Make a coroutine that will run fn(arg) when first resumed; the value
 * of that first resume is not seen.  NULL and errno when its stack
 * cannot be had (ENOMEM, also past vm.max_map_count).
 */
struct coro *
coro_create(void *(*fn)(void *), void *arg)
{
	size_t		 page = (size_t)sysconf(_SC_PAGESIZE);
	size_t		 len = page + CORO_STACK;
	unsigned char	*map;
	struct coro	*co;
	int		 saved;

	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (map == MAP_FAILED)
		return (NULL);
	if (mprotect(map, page, PROT_NONE) == -1) {
		saved = errno;
		(void)munmap(map, len);
		errno = saved;
		return (NULL);
	}
	/* The top of the mapping, aligned for the struct and the stack. */
	co = (struct coro *)(((uintptr_t)(map + len) - sizeof(*co)) &
	    ~(uintptr_t)63);
	memset(co, 0, sizeof(*co));
	co->co_fn = fn;
	co->co_arg = arg;
	co->co_map = map;
	co->co_maplen = len;
	co->co_stack = map + page;
	co->co_stacklen = (size_t)((unsigned char *)co - co->co_stack);
	coro_ctx_init(co);
	return (co);
}

/*
 * Unmap a coroutine's stack.  It must not be running; one that has not
 * returned is dropped where it stands, and whatever its frames held is
 * lost with them.
 */
void
coro_free(struct coro *co)
{
	unsigned char	*map;
	size_t		 len;

	if (co == NULL)
		return;
	if (co->co_running)
		fatalx(EX_SOFTWARE, "coro_free: the coroutine is running");
	map = co->co_map;
	len = co->co_maplen;
#ifdef CORO_ASAN
	ASAN_UNPOISON_MEMORY_REGION(co->co_stack, co->co_stacklen);
#endif
	if (munmap(map, len) == -1)
		fatal(EX_SOFTWARE, "coro_free: munmap");
}

/*
 * Run co until it yields or returns, handing it value (what its
 * coro_yield() returns).  Return what it yielded, or what its function
 * returned; coro_done() tells which.  A coroutine may resume another.
 */
void *
coro_resume(struct coro *co, void *value)
{
	void	*fake = NULL;

	if (co->co_done || co->co_running)
		fatalx(EX_SOFTWARE, "coro_resume: the coroutine is %s",
		    co->co_done ? "done" : "running");
	co->co_prev = coro_running;
	co->co_value = value;
	co->co_running = 1;
	coro_running = co;
	coro_asan_leave(&fake, co->co_stack, co->co_stacklen);
	coro_jump(&co->co_caller, &co->co_ctx);
	coro_asan_enter(fake, NULL, NULL);
	coro_running = co->co_prev;
	co->co_running = 0;
	return (co->co_value);
}

/*
 * From inside a coroutine: give control back to whoever resumed it,
 * handing them value.  Return the value of the next resume.
 */
void *
coro_yield(void *value)
{
	struct coro	*co = coro_running;

	if (co == NULL)
		fatalx(EX_SOFTWARE, "coro_yield: not in a coroutine");
	co->co_value = value;
	coro_asan_leave(&co->co_fake, co->co_caller_stack, co->co_caller_len);
	coro_jump(&co->co_ctx, &co->co_caller);
	coro_asan_enter(co->co_fake, &co->co_caller_stack, &co->co_caller_len);
	return (co->co_value);
}

/* The coroutine running on this thread, or NULL. */
struct coro *
coro_current(void)
{
	return (coro_running);
}

/* Has co's function returned? */
int
coro_done(const struct coro *co)
{
	return (co->co_done);
}

/* How this build switches, for the log. */
const char *
coro_switch_name(void)
{
#ifdef CORO_ASM
	return ("x86-64 switch");
#else
	return ("swapcontext");
#endif
}

/*
 * Where every coroutine starts: run its function, then go back to the
 * resumer for good.  The final switch tells ASan the fiber is gone, so
 * that it frees the fiber's fake stack.
 */
static void
coro_main(void)
{
	struct coro	*co = coro_running;

	coro_asan_enter(NULL, &co->co_caller_stack, &co->co_caller_len);
	co->co_value = co->co_fn(co->co_arg);
	co->co_done = 1;
	coro_asan_leave(NULL, co->co_caller_stack, co->co_caller_len);
	coro_jump(&co->co_ctx, &co->co_caller);
	abort();
}

#ifdef CORO_ASM
/*
 * Lay out a new stack as coro_asm_switch() leaves one: the control words
 * of this thread, six zeroed registers, then coro_main as the return
 * address, with a null return address above it for backtraces.  The
 * ret leaves the stack pointer 8 bytes off 16, as after a call.
 */
static void
coro_ctx_init(struct coro *co)
{
	uint64_t	*sp = (uint64_t *)((uintptr_t)co & ~(uintptr_t)15);
	uint32_t	 mxcsr = 0x1f80;
	uint16_t	 fpucw = 0x037f;
	int		 i;

	__asm__ volatile ("stmxcsr %0" : "=m" (mxcsr));
	__asm__ volatile ("fnstcw %0" : "=m" (fpucw));
	*--sp = 0;
	*--sp = (uint64_t)(uintptr_t)coro_main;
	for (i = 0; i < 6; i++)
		*--sp = 0;
	*--sp = (uint64_t)mxcsr | (uint64_t)fpucw << 32;
	co->co_ctx = sp;
}

/* Save the current context in save and continue in load. */
static void
coro_jump(coro_ctx *save, coro_ctx *load)
{
	coro_asm_switch(save, *load);
}
#else
/* Make a context that starts coro_main() on co's stack. */
static void
coro_ctx_init(struct coro *co)
{
	if (getcontext(&co->co_ctx) == -1)
		fatal(EX_SOFTWARE, "coro_create: getcontext");
	co->co_ctx.uc_stack.ss_sp = co->co_stack;
	co->co_ctx.uc_stack.ss_size = co->co_stacklen;
	co->co_ctx.uc_link = NULL;
	makecontext(&co->co_ctx, coro_main, 0);
}

/* Save the current context in save and continue in load. */
static void
coro_jump(coro_ctx *save, coro_ctx *load)
{
	if (swapcontext(save, load) == -1)
		fatal(EX_SOFTWARE, "coro: swapcontext");
}
#endif

/*
 * About to leave the current stack for the one at stack: tell ASan,
 * which keeps the stack's fake frames in *fake (NULL: the stack being
 * left is finished).  Nothing without ASan.
 */
static void
coro_asan_leave(void **fake, const void *stack, size_t len)
{
#ifdef CORO_ASAN
	__sanitizer_start_switch_fiber(fake, stack, len);
#endif
}

/*
 * Just arrived on a stack: tell ASan, giving back its fake frames, and
 * learn the stack just left, when asked.
 */
static void
coro_asan_enter(void *fake, const void **from, size_t *len)
{
#ifdef CORO_ASAN
	__sanitizer_finish_switch_fiber(fake, from, len);
#endif
}
