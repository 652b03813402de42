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
 * a unix socket's client is "unix" with port 0, and one not known
 * (access_log was off when it connected) is "-".  reason is one of the
 * closed counters' reasons (stats_close_name).
 *
 * The peer is looked up at admission only with access_log on, so that
 * iod does not pay a getpeername() per connection it does not log.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "engine.h"
#include "log.h"
#include "session.h"
#include "stats.h"
#include "worker.h"

/*
 * Open s for descriptor fd, just admitted on listener l (NULL: one the
 * configuration does not name); with peer set, note who the client is.
 */
void
session_open(struct session *s, int fd, const struct listener *l, int peer)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	memset(s, 0, sizeof(*s));
	s->s_start = engine_now_ms();
	s->s_listener = l != NULL ? l->l_stats : -1;
	if (peer && getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
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
 * life and bytes, and log its line if access_log is on.
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
	if (!w->w_conf->access_log)
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
