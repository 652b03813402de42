/*
 * Who may connect, judged once at admission for every engine: the deny
 * and allow lists, then max_per_source.  A listen group's own allow or
 * deny replaces the global one for its clients.  A refused connection is
 * closed before a byte is read or written, counted by reason in the
 * shared counters (stats.c) and logged at most once a second per reason.
 *
 * The source is the peer's address, as 16 bytes (cidr_key()).  A unix
 * socket's peer has none: allow, deny and max_per_source do not apply
 * to unix listeners, and such a connection counts against no source.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "cidr.h"
#include "conf.h"
#include "log.h"
#include "ratelimit.h"
#include "sources.h"
#include "stats.h"
#include "worker.h"

static struct ratelimit	access_rl[STATS_NREFUSALS] = {
	RATELIMIT_INITIALIZER(1), RATELIMIT_INITIALIZER(1),
	RATELIMIT_INITIALIZER(1)
};

static const char	*access_words(int);

/*
 * The source of connection fd, in key: 0, or -1 and a zeroed key when
 * its peer has no IP address (a unix socket, or a connection already
 * reset).
 */
int
access_source(int fd, uint8_t key[16])
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	memset(key, 0, 16);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return (-1);
	if (cidr_key((struct sockaddr *)&ss, len, key) == -1) {
		memset(key, 0, 16);
		return (-1);
	}
	return (0);
}

/*
 * What conf's lists, or listener cl's own (cl may be NULL), say of
 * source key: ACCESS_OK, STATS_DENIED or STATS_NOT_ALLOWED.  Deny wins
 * over allow.
 */
int
access_check(const struct iod_conf *conf, const struct conf_listener *cl,
    const uint8_t key[16])
{
	const struct conf_cidrs	*allow = &conf->allow, *deny = &conf->deny;

	if (cl != NULL && cl->cl_has_allow)
		allow = &cl->cl_allow;
	if (cl != NULL && cl->cl_has_deny)
		deny = &cl->cl_deny;
	if (cidr_match_any(deny->cc_list, deny->cc_n, key))
		return (STATS_DENIED);
	if (allow->cc_n > 0 &&
	    !cidr_match_any(allow->cc_list, allow->cc_n, key))
		return (STATS_NOT_ALLOWED);
	return (ACCESS_OK);
}

/*
 * Admit just-accepted descriptor fd from listener l (NULL: one the
 * configuration does not name) under conf: 0, with its source in key,
 * counted against max_per_source until sources_release(key).  Or -1:
 * it was refused, closed and counted.
 */
int
access_admit(const struct iod_conf *conf, const struct listener *l, int fd,
    uint8_t key[16])
{
	int	why;

	if (access_source(fd, key) == -1)
		return (0);
	why = access_check(conf, l != NULL ? l->l_opts : NULL, key);
	if (why == ACCESS_OK &&
	    sources_claim(key, conf->max_per_source) == -1)
		why = STATS_PER_SOURCE;
	if (why == ACCESS_OK)
		return (0);
	access_refuse(fd, why, key);
	memset(key, 0, 16);
	return (-1);
}

/*
 * Close fd, from source key, for reason why (an enum stats_refusal),
 * without a byte: any byte would read as a reply.  Count it, and say so
 * at most once a second for each reason.
 */
void
access_refuse(int fd, int why, const uint8_t key[16])
{
	char		addr[64];
	unsigned long	n;

	/* Counted first: a client that sees the close may ask at once. */
	stats_count_refused((enum stats_refusal)why);
	close(fd);
	if (!ratelimit_allow(&access_rl[why], &n))
		return;
	cidr_format(key, addr, sizeof(addr));
	log_warnx("refused %lu connection%s %s, the last from %s", n,
	    n == 1 ? "" : "s", access_words(why),
	    addr);
}

/* Words for a refusal, for the log line. */
static const char *
access_words(int why)
{
	switch (why) {
	case STATS_DENIED:
		return ("from sources in deny");
	case STATS_NOT_ALLOWED:
		return ("from sources not in allow");
	default:
		return ("over max_per_source");
	}
}
