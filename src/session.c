/*
 * A connection's life for the record.  The core opens a session when it
 * admits a connection and ends it with the connection's one close
 * (conn_closed): the session's life and bytes go into the histograms,
 * and with access_log on, one line goes to the log:
 *
 *   access: client=192.0.2.7 port=51234 listener=127.0.0.1:7777 worker=0
 *       bytes_in=12 bytes_out=12 duration_ms=3 reason=eof
 *
 * on one line, at info level, keys always in that order.  The client
 * is the one a PROXY header names, if any, else the connection's peer;
 * a unix socket's client is "unix" with port 0, and one whose address
 * could not be had is "-".  reason is one of the closed counters'
 * reasons (stats_close_name).
 *
 * Whether a connection is logged is decided at its admission, as every
 * setting it lives under is: a reload changes it for connections
 * accepted afterwards.  That also keeps the end of a connection that
 * runs on a thread of its own (threads, iterative) from reading its
 * worker's settings, which the worker's thread may be replacing.  The
 * peer is looked up at admission only for a connection to be logged, so
 * that iod does not pay a getpeername() per connection it does not log.
 *
 * Why a connection ended comes to the core as the words of its close
 * line, the engine's or the core's own; session_reason() reads them into
 * one of the reasons the counters know, in this one place.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "session.h"
#include "stats.h"
#include "worker.h"

static int	session_words_are(const char *, const char *);

/*
 * Open s for descriptor fd, just admitted on listener l (NULL: one the
 * configuration does not name); with log set (access_log), note who the
 * client is, for its access line.
 */
void
session_open(struct session *s, int fd, const struct listener *l, int log)
{
	/* Zeroed, so that a family is never read uninitialized. */
	struct sockaddr_storage	ss = { .ss_family = AF_UNSPEC };
	socklen_t		len = sizeof(ss);

	memset(s, 0, sizeof(*s));
	s->s_start = engine_now_ms();
	s->s_listener = l != NULL ? l->l_stats : -1;
	s->s_log = log != 0;
	if (log && getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		session_peer(s, (struct sockaddr *)&ss, len);
}

/* The client of s is sa: its peer, or the one its PROXY header names. */
void
session_peer(struct session *s, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	memset(s->s_addr, 0, sizeof(s->s_addr));
	s->s_port = 0;
	s->s_family = 0;
	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		memcpy(s->s_addr, &sin->sin_addr, 4);
		s->s_port = ntohs(sin->sin_port);
		s->s_family = AF_INET;
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		memcpy(s->s_addr, &sin6->sin6_addr, 16);
		s->s_port = ntohs(sin6->sin6_port);
		s->s_family = AF_INET6;
	} else if (sa->sa_family == AF_UNIX)
		s->s_family = AF_UNIX;
}

/*
 * The connection of s, served by w, has ended for reason: count its
 * life and bytes, and log its line if access_log was on when it came.
 */
void
session_end(const struct worker *w, const struct session *s,
    enum stats_close reason)
{
	const char	*listener;
	char		 addr[INET6_ADDRSTRLEN];
	int64_t		 ms = engine_now_ms() - s->s_start;

	if (ms < 0)
		ms = 0;
	stats_count_session((uint64_t)ms, s->s_in + s->s_out);
	if (!s->s_log)
		return;
	if (s->s_family == AF_INET || s->s_family == AF_INET6)
		inet_ntop(s->s_family, s->s_addr, addr, sizeof(addr));
	else
		snprintf(addr, sizeof(addr), "%s",
		    s->s_family == AF_UNIX ? "unix" : "-");
	if ((listener = stats_listener_name(s->s_listener)) == NULL)
		listener = "-";
	log_info("access: client=%s port=%u listener=%s worker=%d "
	    "bytes_in=%llu bytes_out=%llu duration_ms=%lld reason=%s", addr,
	    (unsigned int)s->s_port, listener, w->w_id,
	    (unsigned long long)s->s_in, (unsigned long long)s->s_out,
	    (long long)ms, stats_close_name(reason));
}

/*
 * The reason, for the counters, of a close whose words are why.  Every
 * engine ends its connections with the same few words for the ends the
 * core defines (conn_tick, conn_halt_all, conn_proxy, blocking_reason),
 * and with strerror() for a failed call; the fork engine adds
 * " (pid N)".  An end of input that comes while its worker is stopping
 * is counted as shutdown: a drain ends with "drained" or "end of input"
 * too.
 */
enum stats_close
session_reason(const char *why, int stopping)
{
	static const struct {
		const char		*words;
		enum stats_close	 reason;
	} known[] = {
		{ "end of input", STATS_CLOSE_EOF },
		{ "drained", STATS_CLOSE_EOF },
		{ "idle timeout", STATS_CLOSE_IDLE },
		{ "shutdown", STATS_CLOSE_SHUTDOWN },
		{ "shutdown deadline", STATS_CLOSE_SHUTDOWN },
		{ "no PROXY header in time", STATS_CLOSE_PROXY },
		{ "bad PROXY header", STATS_CLOSE_PROXY },
		{ "refused after its PROXY header", STATS_CLOSE_PROXY },
		{ "refused for its PROXY header", STATS_CLOSE_PROXY }
	};
	size_t	i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (!session_words_are(why, known[i].words))
			continue;
		if (known[i].reason == STATS_CLOSE_EOF && stopping)
			return (STATS_CLOSE_SHUTDOWN);
		return (known[i].reason);
	}
	if (session_words_are(why, strerror(ECONNRESET)) ||
	    session_words_are(why, strerror(EPIPE)))
		return (STATS_CLOSE_RESET);
	return (STATS_CLOSE_ERROR);
}

/* Does why say words, alone or followed by a parenthesis? */
static int
session_words_are(const char *why, const char *words)
{
	size_t	len = strlen(words);

	return (strncmp(why, words, len) == 0 &&
	    (why[len] == '\0' || strncmp(why + len, " (", 2) == 0));
}
