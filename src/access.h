/* Who may connect: allow, deny, max_per_source and proxy_trusted. */
#ifndef IOD_ACCESS_H
#define IOD_ACCESS_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#include "conf.h"

struct listener;

/* What the rules say of a source; ACCESS_OK or an enum stats_refusal. */
#define ACCESS_OK	(-1)

/* Judging. */
int	access_source(int, uint8_t [16]);
int	access_check(const struct iod_conf *, const struct conf_listener *,
	    const uint8_t [16]);
int	access_judge(const struct iod_conf *, const struct conf_listener *,
	    const uint8_t [16]);
int	access_trusted(const struct iod_conf *, int, uint8_t [16]);

/*
 * The rules for a connection whose source is known only later (from its
 * PROXY header): a copy of those in force when it connected, since the
 * configuration may be replaced meanwhile.
 */
struct access_rules {
	struct conf_cidrs	ar_allow;
	struct conf_cidrs	ar_deny;
	int			ar_max_per_source;
	int			ar_idle_timeout;
	int			ar_proxy_timeout;
};
struct access_rules *access_rules_new(const struct iod_conf *,
	    const struct conf_listener *);
int	access_rules_judge(const struct access_rules *, uint8_t [16], int);
void	access_rules_free(struct access_rules *);

/* Admission and refusal. */
int	access_admit(const struct iod_conf *, const struct listener *, int,
	    uint8_t [16]);
void	access_refuse(int, int, const uint8_t [16]);
void	access_count(int, const uint8_t [16], const char *);
void	access_quiet(void);

#endif
