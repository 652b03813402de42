/*
 * Who may connect, judged at admission for every engine: the deny and
 * allow lists, then max_per_source.  A listen group's own allow or deny
 * replaces the global one for its clients.  A refused connection is
 * closed before a byte is written, counted by reason in the shared
 * counters (stats.c) and logged at most once a second per reason.
 *
 * The source is the peer's address, as 16 bytes (cidr_key()), or on a
 * proxy_protocol listener the client its PROXY header names (conn.c
 * and gate.c read it); the peer must then be in proxy_trusted.  A unix
 * socket's peer has no address: allow, deny and max_per_source do not
 * apply to unix listeners, such a connection counts against no source,
 * and a unix listener with proxy_protocol believes its peers, whom
 * unix_mode chose.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
	RATELIMIT_INITIALIZER(1), RATELIMIT_INITIALIZER(1),
	RATELIMIT_INITIALIZER(1), RATELIMIT_INITIALIZER(1)
};

static int		 access_lists(const struct conf_cidrs *,
			    const struct conf_cidrs *, const uint8_t [16]);
static const char	*access_words(int);

/* Set in a forked child, which must not log: refusals are only counted. */
static int		 access_silent;

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
 * over allow.  A source without an address (a zero key) passes.
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
	return (access_lists(allow, deny, key));
}

/* What lists allow and deny say of key; a zero key (no address) passes. */
static int
access_lists(const struct conf_cidrs *allow, const struct conf_cidrs *deny,
    const uint8_t key[16])
{
	if (sources_none(key))
		return (ACCESS_OK);
	if (cidr_match_any(deny->cc_list, deny->cc_n, key))
		return (STATS_DENIED);
	if (allow->cc_n > 0 &&
	    !cidr_match_any(allow->cc_list, allow->cc_n, key))
		return (STATS_NOT_ALLOWED);
	return (ACCESS_OK);
}

/*
 * The whole rule for source key: the lists, then max_per_source, whose
 * count it takes when the source may connect (give it back with
 * sources_release(key)).  ACCESS_OK or the reason for a refusal.
 */
int
access_judge(const struct iod_conf *conf, const struct conf_listener *cl,
    const uint8_t key[16])
{
	int	why;

	if ((why = access_check(conf, cl, key)) != ACCESS_OK)
		return (why);
	if (sources_claim(key, conf->max_per_source) == -1)
		return (STATS_PER_SOURCE);
	return (ACCESS_OK);
}

/*
 * May connection fd, on a proxy_protocol listener, send a PROXY header?
 * Its peer's source goes in key (zero for a unix peer, which may).
 */
int
access_trusted(const struct iod_conf *conf, int fd, uint8_t key[16])
{
	if (access_source(fd, key) == -1)
		return (1);
	return (cidr_match_any(conf->proxy_trusted.cc_list,
	    conf->proxy_trusted.cc_n, key));
}

/*
 * A copy of the rules for a connection through listener cl (NULL: none)
 * under conf, to judge its source later; NULL when out of memory.
 */
struct access_rules *
access_rules_new(const struct iod_conf *conf, const struct conf_listener *cl)
{
	const struct conf_cidrs	*allow = &conf->allow, *deny = &conf->deny;
	struct access_rules	*ar;
	size_t			 na, nd;

	if (cl != NULL && cl->cl_has_allow)
		allow = &cl->cl_allow;
	if (cl != NULL && cl->cl_has_deny)
		deny = &cl->cl_deny;
	na = allow->cc_n;
	nd = deny->cc_n;
	ar = malloc(sizeof(*ar) + (na + nd) * sizeof(struct cidr));
	if (ar == NULL)
		return (NULL);
	ar->ar_allow.cc_list = (struct cidr *)(void *)(ar + 1);
	ar->ar_allow.cc_n = na;
	ar->ar_deny.cc_list = ar->ar_allow.cc_list + na;
	ar->ar_deny.cc_n = nd;
	if (na > 0)
		memcpy(ar->ar_allow.cc_list, allow->cc_list,
		    na * sizeof(struct cidr));
	if (nd > 0)
		memcpy(ar->ar_deny.cc_list, deny->cc_list,
		    nd * sizeof(struct cidr));
	ar->ar_max_per_source = conf->max_per_source;
	ar->ar_idle_timeout = conf->idle_timeout;
	ar->ar_proxy_timeout = conf->proxy_timeout;
	return (ar);
}

/*
 * access_judge() by a copy of the rules, for source key from a PROXY
 * header; local is set for a LOCAL header, a balancer's health check,
 * whose source is the balancer itself.  A health check is judged by the
 * lists but is no client: it counts against no source (key is zeroed),
 * so checks never take a client's place under max_per_source, nor are
 * refused by it when several overlap.
 */
int
access_rules_judge(const struct access_rules *ar, uint8_t key[16],
    int local)
{
	int	why;

	if ((why = access_lists(&ar->ar_allow, &ar->ar_deny, key)) !=
	    ACCESS_OK)
		return (why);
	if (local)
		memset(key, 0, 16);
	else if (sources_claim(key, ar->ar_max_per_source) == -1)
		return (STATS_PER_SOURCE);
	return (ACCESS_OK);
}

/* Free a copy of the rules; NULL is fine. */
void
access_rules_free(struct access_rules *ar)
{
	free(ar);
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
	why = access_judge(conf, l != NULL ? l->l_opts : NULL, key);
	if (why == ACCESS_OK)
		return (0);
	access_refuse(fd, why, key);
	memset(key, 0, 16);
	return (-1);
}

/*
 * Close fd, from source key, for reason why (an enum stats_refusal),
 * without a byte: any byte would read as a reply.  Counted first: a
 * client that sees the close may ask for the counters at once.
 */
void
access_refuse(int fd, int why, const uint8_t key[16])
{
	access_count(why, key, NULL);
	close(fd);
}

/*
 * Count a refusal of a connection from key for why, and say so at most
 * once a second for each reason, with detail when there is one.
 */
void
access_count(int why, const uint8_t key[16], const char *detail)
{
	char		addr[64];
	unsigned long	n;

	stats_count_refused((enum stats_refusal)why);
	if (access_silent || !ratelimit_allow(&access_rl[why], &n))
		return;
	if (sources_none(key))
		snprintf(addr, sizeof(addr), "a unix socket");
	else
		cidr_format(key, addr, sizeof(addr));
	log_warnx("refused %lu connection%s %s, the last from %s%s%s", n,
	    n == 1 ? "" : "s", access_words(why), addr,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

/*
 * Count refusals but log none from here on: for a forked child, whose
 * parent logs how its connection ended.
 */
void
access_quiet(void)
{
	access_silent = 1;
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
	case STATS_PER_SOURCE:
		return ("over max_per_source");
	case STATS_PROXY_UNTRUSTED:
		return ("to a PROXY listener from sources not in "
		    "proxy_trusted");
	case STATS_PROXY_BAD:
		return ("with a bad PROXY header");
	default:
		return ("without a whole PROXY header in proxy_timeout");
	}
}
