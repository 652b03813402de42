/*
 * Counters, kept per worker.  Every worker has a slot of its own, a
 * cache line apart from the others, that only it (its thread, and the
 * threads or processes serving its connections) writes; whoever reads
 * them (the SIGUSR1 line, systemd's STATUS=, the metrics endpoint) sums
 * the slots.  So the data path never writes a line another worker
 * writes.  Slot 0 is for everything else: the supervisor, and code that
 * runs before any worker does.
 *
 * A slot's counters are still atomics, added to with relaxed order: the
 * threads engine serves each connection of a worker on a thread of its
 * own, and the fork engine in a process of its own, and those count
 * into their worker's slot together.  Within one worker the line is
 * shared by its own flows of control only, which is the model those
 * engines chose; no worker contends with another.
 *
 * The one counter that is not statistics is the admission count: it
 * must never let more than max_connections in at once, over all
 * workers, so it is one shared value claimed with compare-and-swap.
 *
 * Everything lives in a shared anonymous mapping, so that the children
 * of the fork engine count into the same place as threads do.
 */
#include <sys/mman.h>

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

#define STATS_SLOTS	257	/* workers (at most 256), and slot 0 */
#define STATS_NV	(sizeof(struct stats_snapshot) / sizeof(uint64_t))
#define STATS_AT(f)	(offsetof(struct stats_snapshot, f) / sizeof(uint64_t))

_Static_assert(sizeof(struct stats_snapshot) % sizeof(uint64_t) == 0,
    "stats_snapshot holds uint64_t only");

/* One worker's counters, laid out as struct stats_snapshot. */
struct stats_slot {
	alignas(64) _Atomic uint64_t	s_v[STATS_NV];
};

struct stats_shared {
	alignas(64) _Atomic uint64_t	limit;
	_Atomic uint64_t		active;
	_Atomic int			nslots;	/* highest bound, plus one */
	_Atomic int			nlisteners;
	char				names[STATS_LISTENERS][STATS_NAMELEN];
	struct stats_slot		slots[STATS_SLOTS];
};

/* The names of the counters in the SIGUSR1 line and the metrics. */
static const char *const stats_refusal_names[STATS_NREFUSALS] = {
	"refused_deny", "refused_not_allowed", "refused_per_source",
	"refused_proxy_untrusted", "refused_proxy_bad", "refused_proxy_timeout"
};
static const char *const stats_reject_names[STATS_NREJECTS] = {
	"max_connections", "fd_limit", "fd_setsize", "no_memory"
};
static const char *const stats_close_names[STATS_NCLOSES] = {
	"eof", "reset", "idle_timeout", "shutdown", "proxy", "error"
};
static const char *const stats_reload_names[STATS_NRELOADS] = {
	"ok", "failed"
};

/*
 * The histograms' upper bounds, each bucket counting what is at most its
 * bound and above the one before; 0 stands for +Inf.  Session lives in
 * milliseconds, from a millisecond to a day; bytes a session moved (in
 * plus out), from a line to 16 GiB, by factors of 16.
 */
static const uint64_t stats_duration_bounds[STATS_BUCKETS] = {
	1, 10, 100, 1000, 10000, 60000, 600000, 3600000, 0
};
static const uint64_t stats_bytes_bounds[STATS_BUCKETS] = {
	64, 1024, 16384, 262144, 4194304, 67108864, 1073741824,
	17179869184ULL, 0
};

static struct stats_shared	 stats_private = { .limit = 1, .nslots = 1 };
static struct stats_shared	*stats = &stats_private;
static _Thread_local int	 stats_mine;	/* this thread's slot */

static void	stats_add(size_t, uint64_t);
static int	stats_bucket(const uint64_t *, uint64_t);

/* Move the counters to memory that forked children share; -1 if refused. */
int
stats_share(void)
{
	struct stats_shared	*shared;

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return (-1);
	atomic_store(&shared->limit, atomic_load(&stats->limit));
	atomic_store(&shared->nslots, 1);
	stats = shared;
	return (0);
}

/*
 * Count, on this thread and whatever it forks, into worker id's slot.
 * Called once by each worker thread before it serves anyone.
 */
void
stats_bind(int id)
{
	int	slot = id + 1, n;

	if (slot < 1 || slot >= STATS_SLOTS)
		return;
	stats_mine = slot;
	n = atomic_load(&stats->nslots);
	while (n <= slot &&
	    !atomic_compare_exchange_weak(&stats->nslots, &n, slot + 1))
		;
}

/*
 * The number under which the listener bound as name is counted, given
 * it the first time it is asked for.  The supervisor alone asks, so a
 * number never changes once given; past STATS_LISTENERS, the last one.
 */
int
stats_listener(const char *name)
{
	int	i, n = atomic_load(&stats->nlisteners);

	for (i = 0; i < n; i++)
		if (strcmp(stats->names[i], name) == 0)
			return (i);
	if (n == STATS_LISTENERS)
		return (STATS_LISTENERS - 1);
	snprintf(stats->names[n], STATS_NAMELEN, "%s",
	    n == STATS_LISTENERS - 1 ? "other" : name);
	atomic_store(&stats->nlisteners, n + 1);
	return (n);
}

/* The name of listener number i, or NULL past the last given. */
const char *
stats_listener_name(int i)
{
	if (i < 0 || i >= atomic_load(&stats->nlisteners))
		return (NULL);
	return (stats->names[i]);
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

/*
 * Claim a connection slot for one accepted on listener number
 * listener (-1: one no listener of the configuration names); return 0
 * and count a rejection when full.
 */
int
stats_admit(int listener)
{
	uint64_t	active = atomic_load(&stats->active);

	do {
		if (active >= atomic_load(&stats->limit)) {
			stats_count_reject(STATS_REJ_MAX_CONNECTIONS);
			return (0);
		}
	} while (!atomic_compare_exchange_weak(&stats->active, &active,
	    active + 1));
	stats_add(STATS_AT(accepted), 1);
	if (listener >= 0 && listener < STATS_LISTENERS)
		stats_add(STATS_AT(listener) + (size_t)listener, 1);
	return (1);
}

/* Give back a slot claimed by stats_admit(). */
void
stats_release(void)
{
	atomic_fetch_sub(&stats->active, 1);
}

/* Add n to counter number i of this thread's slot. */
static void
stats_add(size_t i, uint64_t n)
{
	atomic_fetch_add_explicit(&stats->slots[stats_mine].s_v[i], n,
	    memory_order_relaxed);
}

/* Count bytes read from clients. */
void
stats_add_in(uint64_t n)
{
	stats_add(STATS_AT(bytes_in), n);
}

/* Count bytes written to clients. */
void
stats_add_out(uint64_t n)
{
	stats_add(STATS_AT(bytes_out), n);
}

/* Count bytes read from clients by splice(2), as well as by stats_add_in. */
void
stats_add_spliced(uint64_t n)
{
	stats_add(STATS_AT(spliced), n);
}

/* Count a connection refused for want of room, by reason. */
void
stats_count_reject(enum stats_reject why)
{
	stats_add(STATS_AT(reject) + (size_t)why, 1);
}

/* Count a connection refused for who it is, by reason. */
void
stats_count_refused(enum stats_refusal why)
{
	stats_add(STATS_AT(refused) + (size_t)why, 1);
}

/* Count a connection that ended, by reason. */
void
stats_count_close(enum stats_close why)
{
	stats_add(STATS_AT(closed) + (size_t)why, 1);
}

/* Count a connection that stopped being read, owed max_pending_bytes. */
void
stats_count_pause(void)
{
	stats_add(STATS_AT(pauses), 1);
}

/* Count ms milliseconds a connection was not read, once it is again. */
void
stats_add_paused(uint64_t ms)
{
	stats_add(STATS_AT(paused_ms), ms);
}

/* Count a listener that stops accepting for ms milliseconds. */
void
stats_count_accept_pause(uint64_t ms)
{
	stats_add(STATS_AT(accept_pauses), 1);
	stats_add(STATS_AT(accept_paused_ms), ms);
}

/* Count a reload, by result. */
void
stats_count_reload(enum stats_reload how)
{
	stats_add(STATS_AT(reloads) + (size_t)how, 1);
}

/* Count a connection that was served and ended: its life and bytes. */
void
stats_count_session(uint64_t ms, uint64_t bytes)
{
	stats_add(STATS_AT(sessions), 1);
	stats_add(STATS_AT(duration_ms), ms);
	stats_add(STATS_AT(duration) +
	    (size_t)stats_bucket(stats_duration_bounds, ms), 1);
	stats_add(STATS_AT(session_bytes), bytes);
	stats_add(STATS_AT(bytes) +
	    (size_t)stats_bucket(stats_bytes_bounds, bytes), 1);
}

/* The bucket of bounds that v falls in. */
static int
stats_bucket(const uint64_t *bounds, uint64_t v)
{
	int	i;

	for (i = 0; i < STATS_BUCKETS - 1; i++)
		if (v <= bounds[i])
			break;
	return (i);
}

/* Copy slot number slot's counters; -1 past the last slot bound. */
int
stats_read_slot(int slot, struct stats_snapshot *s)
{
	uint64_t	*v = (uint64_t *)s;
	size_t		 i;
	int		 j;

	if (slot < 0 || slot >= atomic_load(&stats->nslots))
		return (-1);
	for (i = 0; i < STATS_NV; i++)
		v[i] = atomic_load_explicit(&stats->slots[slot].s_v[i],
		    memory_order_relaxed);
	s->active = 0;
	s->rejected = 0;
	for (j = 0; j < STATS_NREJECTS; j++)
		s->rejected += s->reject[j];
	s->timed_out = s->closed[STATS_CLOSE_IDLE];
	return (0);
}

/* Sum every slot's counters, with the connections open now. */
void
stats_read(struct stats_snapshot *s)
{
	struct stats_snapshot	 one;
	uint64_t		*v = (uint64_t *)s, *w = (uint64_t *)&one;
	size_t			 i;
	int			 slot;

	memset(s, 0, sizeof(*s));
	for (slot = 0; stats_read_slot(slot, &one) == 0; slot++)
		for (i = 0; i < STATS_NV; i++)
			/*
			 * stats_read_slot() filled one before the loop came
			 * here; cppcheck does not follow the write through
			 * the pointer.
			 */
			/* cppcheck-suppress uninitvar */
			v[i] += w[i];
	s->active = atomic_load(&stats->active);
}

/* How many slots have been bound, slot 0 included. */
int
stats_slots(void)
{
	return (atomic_load(&stats->nslots));
}

/* The name of a refusal counter, as the SIGUSR1 line shows it. */
const char *
stats_refusal_name(enum stats_refusal why)
{
	return (stats_refusal_names[why]);
}

/* The name of a reason for a rejection, as the metrics label it. */
const char *
stats_reject_name(enum stats_reject why)
{
	return (stats_reject_names[why]);
}

/* The name of a reason for a close, as the metrics label it. */
const char *
stats_close_name(enum stats_close why)
{
	return (stats_close_names[why]);
}

/* The name of a reload's result, as the metrics label it. */
const char *
stats_reload_name(enum stats_reload how)
{
	return (stats_reload_names[how]);
}

/* The upper bound of duration bucket i, in milliseconds; 0: +Inf. */
uint64_t
stats_duration_bound(int i)
{
	return (stats_duration_bounds[i]);
}

/* The upper bound of bytes bucket i; 0: +Inf. */
uint64_t
stats_bytes_bound(int i)
{
	return (stats_bytes_bounds[i]);
}
