/*
 * Counters shared by every worker, kept as relaxed atomics: they are
 * statistics, not synchronisation.  The one exception is the admission
 * count, which must never let more than max_connections in at once, so it
 * is claimed with compare-and-swap.
 *
 * The counters live in a shared anonymous mapping, so that the children
 * of the fork engine count into the same place as threads do.
 */
#include <sys/mman.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct counters {
	_Atomic uint64_t	limit;
	_Atomic uint64_t	active;
	_Atomic uint64_t	accepted;
	_Atomic uint64_t	rejected;
	_Atomic uint64_t	timed_out;
	_Atomic uint64_t	bytes_in;
	_Atomic uint64_t	bytes_out;
	_Atomic uint64_t	spliced;
	_Atomic uint64_t	refused[STATS_NREFUSALS];
};

/* The names of the refusal counters in the SIGUSR1 line. */
static const char *const stats_refusal_names[STATS_NREFUSALS] = {
	"refused_deny", "refused_not_allowed", "refused_per_source",
	"refused_proxy_untrusted", "refused_proxy_bad", "refused_proxy_timeout"
};

static struct counters	 stats_private = { .limit = 1 };
static struct counters	*stats = &stats_private;

/* Move the counters to memory that forked children share; -1 if refused. */
int
stats_share(void)
{
	struct counters	*shared;

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return (-1);
	atomic_store(&shared->limit, atomic_load(&stats->limit));
	stats = shared;
	return (0);
}

/* Set max_connections; connections already open stay open. */
void
stats_set_limit(uint64_t limit)
{
	atomic_store(&stats->limit, limit);
}

/* max_connections as in force. */
uint64_t
stats_limit(void)
{
	return (atomic_load(&stats->limit));
}

/* Claim a connection slot; return 0 and count a rejection when full. */
int
stats_admit(void)
{
	uint64_t	active = atomic_load(&stats->active);

	do {
		if (active >= atomic_load(&stats->limit)) {
			stats_count_reject();
			return (0);
		}
	} while (!atomic_compare_exchange_weak(&stats->active, &active,
	    active + 1));
	atomic_fetch_add_explicit(&stats->accepted, 1, memory_order_relaxed);
	return (1);
}

/* Give back a slot claimed by stats_admit(). */
void
stats_release(void)
{
	atomic_fetch_sub(&stats->active, 1);
}

/* Count bytes read from clients. */
void
stats_add_in(uint64_t n)
{
	atomic_fetch_add_explicit(&stats->bytes_in, n, memory_order_relaxed);
}

/* Count bytes written to clients. */
void
stats_add_out(uint64_t n)
{
	atomic_fetch_add_explicit(&stats->bytes_out, n, memory_order_relaxed);
}

/* Count bytes read from clients by splice(2), as well as by stats_add_in. */
void
stats_add_spliced(uint64_t n)
{
	atomic_fetch_add_explicit(&stats->spliced, n, memory_order_relaxed);
}

/* Count a connection closed by idle_timeout. */
void
stats_count_timeout(void)
{
	atomic_fetch_add_explicit(&stats->timed_out, 1, memory_order_relaxed);
}

/* Count a connection refused (over the limit, or no room to serve it). */
void
stats_count_reject(void)
{
	atomic_fetch_add_explicit(&stats->rejected, 1, memory_order_relaxed);
}

/* Count a connection refused for who it is, by reason. */
void
stats_count_refused(enum stats_refusal why)
{
	atomic_fetch_add_explicit(&stats->refused[why], 1,
	    memory_order_relaxed);
}

/* Copy every counter. */
void
stats_read(struct stats_snapshot *s)
{
	int	i;

	for (i = 0; i < STATS_NREFUSALS; i++)
		s->refused[i] = atomic_load(&stats->refused[i]);
	s->accepted = atomic_load(&stats->accepted);
	s->active = atomic_load(&stats->active);
	s->rejected = atomic_load(&stats->rejected);
	s->timed_out = atomic_load(&stats->timed_out);
	s->bytes_in = atomic_load(&stats->bytes_in);
	s->bytes_out = atomic_load(&stats->bytes_out);
	s->spliced = atomic_load(&stats->spliced);
}

/* The name of a refusal counter, as the SIGUSR1 line shows it. */
const char *
stats_refusal_name(enum stats_refusal why)
{
	return (stats_refusal_names[why]);
}
