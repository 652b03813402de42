/*
 * Counters shared by every worker, kept as relaxed atomics: they are
 * statistics, not synchronisation.  The one exception is the admission
 * count, which must never let more than max_connections in at once, so it
 * is claimed with compare-and-swap.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "stats.h"

static _Atomic uint64_t	stats_limit = 1;
static _Atomic uint64_t	stats_active;
static _Atomic uint64_t	stats_accepted;
static _Atomic uint64_t	stats_rejected;
static _Atomic uint64_t	stats_timed_out;
static _Atomic uint64_t	stats_bytes_in;
static _Atomic uint64_t	stats_bytes_out;

/* Set max_connections; connections already open stay open. */
void
stats_set_limit(uint64_t limit)
{
	atomic_store(&stats_limit, limit);
}

/* Claim a connection slot; return 0 and count a rejection when full. */
int
stats_admit(void)
{
	uint64_t	active = atomic_load(&stats_active);

	do {
		if (active >= atomic_load(&stats_limit)) {
			atomic_fetch_add_explicit(&stats_rejected, 1,
			    memory_order_relaxed);
			return (0);
		}
	} while (!atomic_compare_exchange_weak(&stats_active, &active,
	    active + 1));
	atomic_fetch_add_explicit(&stats_accepted, 1, memory_order_relaxed);
	return (1);
}

/* Give back a slot claimed by stats_admit(). */
void
stats_release(void)
{
	atomic_fetch_sub(&stats_active, 1);
}

/* Count bytes read from clients. */
void
stats_add_in(uint64_t n)
{
	atomic_fetch_add_explicit(&stats_bytes_in, n, memory_order_relaxed);
}

/* Count bytes written to clients. */
void
stats_add_out(uint64_t n)
{
	atomic_fetch_add_explicit(&stats_bytes_out, n, memory_order_relaxed);
}

/* Count a connection closed by idle_timeout. */
void
stats_count_timeout(void)
{
	atomic_fetch_add_explicit(&stats_timed_out, 1, memory_order_relaxed);
}

/* Count a connection refused after it was admitted (no room for it). */
void
stats_count_reject(void)
{
	atomic_fetch_add_explicit(&stats_rejected, 1, memory_order_relaxed);
}

/* Copy every counter. */
void
stats_read(struct stats_snapshot *s)
{
	s->accepted = atomic_load(&stats_accepted);
	s->active = atomic_load(&stats_active);
	s->rejected = atomic_load(&stats_rejected);
	s->timed_out = atomic_load(&stats_timed_out);
	s->bytes_in = atomic_load(&stats_bytes_in);
	s->bytes_out = atomic_load(&stats_bytes_out);
}
