/*
 * The counters in words, for people: the SIGUSR1 line, with every
 * counter as KEY=N, and systemd's STATUS=, the few that matter at a
 * glance.  Both sum the workers' slots (stats_read), as the metrics
 * endpoint does, so the three always agree.
 *
 * The SIGUSR1 line keeps the keys it has always had, in their order
 * (scripts and the tests read them), and adds the newer counters after
 * them: closed_REASON, rejected_REASON, pauses, paused_ms,
 * accept_pauses, accept_paused_ms and reloads_ok, reloads_failed.
 */
#include <stdint.h>
#include <stdio.h>

#include "stats.h"
#include "statsline.h"

static size_t	statsline_add(char *, size_t, size_t, const char *,
		    uint64_t);

/* Append " key=n" to buf at off; return the new offset, capped at len. */
static size_t
statsline_add(char *buf, size_t len, size_t off, const char *key, uint64_t n)
{
	int	w;

	if (off >= len)
		return (len);
	w = snprintf(buf + off, len - off, " %s=%llu", key,
	    (unsigned long long)n);
	if (w < 0 || (size_t)w >= len - off)
		return (len);
	return (off + (size_t)w);
}

/* Every counter, "stats: accepted=N active=N ...", into buf. */
const char *
statsline_full(char *buf, size_t len)
{
	struct stats_snapshot	s;
	char			key[64];
	size_t			off;
	int			i;

	stats_read(&s);
	off = (size_t)snprintf(buf, len, "stats:");
	off = statsline_add(buf, len, off, "accepted", s.accepted);
	off = statsline_add(buf, len, off, "active", s.active);
	off = statsline_add(buf, len, off, "rejected", s.rejected);
	off = statsline_add(buf, len, off, "timed_out", s.timed_out);
	off = statsline_add(buf, len, off, "bytes_in", s.bytes_in);
	off = statsline_add(buf, len, off, "bytes_out", s.bytes_out);
	off = statsline_add(buf, len, off, "spliced", s.spliced);
	for (i = 0; i < STATS_NREFUSALS; i++)
		off = statsline_add(buf, len, off,
		    stats_refusal_name((enum stats_refusal)i), s.refused[i]);
	for (i = 0; i < STATS_NCLOSES; i++) {
		snprintf(key, sizeof(key), "closed_%s",
		    stats_close_name((enum stats_close)i));
		off = statsline_add(buf, len, off, key, s.closed[i]);
	}
	for (i = 0; i < STATS_NREJECTS; i++) {
		snprintf(key, sizeof(key), "rejected_%s",
		    stats_reject_name((enum stats_reject)i));
		off = statsline_add(buf, len, off, key, s.reject[i]);
	}
	off = statsline_add(buf, len, off, "pauses", s.pauses);
	off = statsline_add(buf, len, off, "paused_ms", s.paused_ms);
	off = statsline_add(buf, len, off, "accept_pauses", s.accept_pauses);
	off = statsline_add(buf, len, off, "accept_paused_ms",
	    s.accept_paused_ms);
	off = statsline_add(buf, len, off, "reloads_ok",
	    s.reloads[STATS_RELOAD_OK]);
	(void)statsline_add(buf, len, off, "reloads_failed",
	    s.reloads[STATS_RELOAD_FAILED]);
	return (buf);
}

/*
 * The short line for systemctl status: connections open and accepted,
 * rejected and refused, bytes each way.
 */
const char *
statsline_status(int stopping, char *buf, size_t len)
{
	struct stats_snapshot	s;
	uint64_t		refused = 0;
	int			i;

	stats_read(&s);
	for (i = 0; i < STATS_NREFUSALS; i++)
		refused += s.refused[i];
	snprintf(buf, len, "%s%llu active connection%s, %llu accepted, "
	    "%llu rejected, %llu refused, %llu bytes in, %llu out",
	    stopping ? "stopping: " : "", (unsigned long long)s.active,
	    s.active == 1 ? "" : "s", (unsigned long long)s.accepted,
	    (unsigned long long)s.rejected, (unsigned long long)refused,
	    (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out);
	return (buf);
}
