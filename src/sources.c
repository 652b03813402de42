/*
 * How many connections each source address has open, over every worker,
 * so that max_per_source holds for the whole daemon and not per worker.
 *
 * An open-addressing table with linear probing, keyed by the 16-byte
 * address (cidr_key()), under one lock: a claim and a release are a few
 * dozen instructions next to the accept() and close() they go with.  It
 * has room for twice the most connections iod allows (max_connections at
 * most 1,000,000), so it never fills and a probe stays short; it is
 * address space reserved, and a page is touched only when a source that
 * hashes there connects.  Entries leave by backward-shift deletion, so
 * the table needs no tombstones.
 *
 * Every connection is counted, whatever max_per_source says, so that a
 * limit set by a reload counts the connections already open.  Deletion
 * moves entries, so a connection keeps its source's key, not an entry,
 * and gives that back; the unspecified address (all zeroes), which no
 * peer has, is the key of a connection that counts against no source.
 *
 * The table is in memory shared with the fork engine's children: the
 * parent claims and releases for the connections it admits, but one
 * that waits for a PROXY header is judged by its child, which claims,
 * and releases before it exits.  A child killed by a signal other than
 * the drain's SIGTERM keeps its source's count until iod restarts.  The
 * lock is robust, so that a child killed while holding it cannot stop
 * the parent.
 */
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "sources.h"

#define SOURCES_BITS	21
#define SOURCES_SIZE	((uint32_t)1 << SOURCES_BITS)
#define SOURCES_MASK	(SOURCES_SIZE - 1)

struct source {
	uint8_t		so_key[16];
	uint32_t	so_count;	/* 0: a free entry */
};

struct sources {
	pthread_mutex_t	sr_lock;
	struct source	sr_table[SOURCES_SIZE];
};

static struct sources	*sources;

static void	sources_lock(void);
static uint32_t	sources_hash(const uint8_t [16]);
static uint32_t	sources_find(const uint8_t [16]);
static void	sources_remove(uint32_t);

/*
 * Map the table, once per process, before any worker starts; -1 and
 * errno when refused.  Until then, and if it failed, nothing is counted
 * and no source is limited: the daemon refuses to start instead.
 */
int
sources_init(void)
{
	pthread_mutexattr_t	 attr;
	void			*p;

	if (sources != NULL)
		return (0);
	p = mmap(NULL, sizeof(*sources), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return (-1);
	sources = p;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&sources->sr_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return (0);
}

/*
 * Take the table's lock.  A process that died holding it left the
 * table as it was between two statements of a claim or a release: at
 * worst one count off, which is no reason to stop counting.
 */
static void
sources_lock(void)
{
	if (pthread_mutex_lock(&sources->sr_lock) == EOWNERDEAD)
		pthread_mutex_consistent(&sources->sr_lock);
}

/*
 * Count one more connection from key, unless it has max open already
 * (max 0: no limit); -1 over the limit.
 */
int
sources_claim(const uint8_t key[16], int max)
{
	struct source	*so;
	int		 rc = 0;

	if (sources_none(key) || sources == NULL)
		return (0);
	sources_lock();
	so = &sources->sr_table[sources_find(key)];
	if (max > 0 && so->so_count >= (uint32_t)max)
		rc = -1;
	else {
		memcpy(so->so_key, key, sizeof(so->so_key));
		so->so_count++;
	}
	pthread_mutex_unlock(&sources->sr_lock);
	return (rc);
}

/* A connection counted against key has ended. */
void
sources_release(const uint8_t key[16])
{
	uint32_t	i;

	if (sources_none(key) || sources == NULL)
		return;
	sources_lock();
	i = sources_find(key);
	if (sources->sr_table[i].so_count > 0 &&
	    --sources->sr_table[i].so_count == 0)
		sources_remove(i);
	pthread_mutex_unlock(&sources->sr_lock);
}

/* Is key the one of a connection that counts against no source? */
int
sources_none(const uint8_t key[16])
{
	static const uint8_t	zero[16];

	return (memcmp(key, zero, sizeof(zero)) == 0);
}

/* How many connections key has open now. */
uint32_t
sources_count(const uint8_t key[16])
{
	uint32_t	n;

	if (sources == NULL)
		return (0);
	sources_lock();
	n = sources->sr_table[sources_find(key)].so_count;
	pthread_mutex_unlock(&sources->sr_lock);
	return (n);
}

/* FNV-1a over the address: cheap, and spreads neighbouring addresses. */
static uint32_t
sources_hash(const uint8_t key[16])
{
	uint32_t	h = 2166136261u;
	int		i;

	for (i = 0; i < 16; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	return (h & SOURCES_MASK);
}

/* The entry of key, or the free entry where it would go; lock held. */
static uint32_t
sources_find(const uint8_t key[16])
{
	uint32_t	i = sources_hash(key);

	while (sources->sr_table[i].so_count != 0 &&
	    memcmp(sources->sr_table[i].so_key, key, 16) != 0)
		i = (i + 1) & SOURCES_MASK;
	return (i);
}

/*
 * Free entry i, then move back any later entry of its run that could no
 * longer be found past the hole (Knuth's algorithm R); lock held.
 */
static void
sources_remove(uint32_t i)
{
	struct source	*t = sources->sr_table;
	uint32_t	 j = i, home;

	for (;;) {
		t[i].so_count = 0;
		do {
			j = (j + 1) & SOURCES_MASK;
			if (t[j].so_count == 0)
				return;
			home = sources_hash(t[j].so_key);
		} while (i <= j ? (i < home && home <= j) :
		    (i < home || home <= j));
		t[i] = t[j];
		i = j;
	}
}
