/* Who may connect: allow, deny and max_per_source, for every engine. */
#ifndef IOD_ACCESS_H
#define IOD_ACCESS_H

#include <stdint.h>

struct conf_listener;
struct iod_conf;
struct listener;

/* What the lists say of a source; ACCESS_OK or an enum stats_refusal. */
#define ACCESS_OK	(-1)

/* Judging. */
int	access_source(int, uint8_t [16]);
int	access_check(const struct iod_conf *, const struct conf_listener *,
	    const uint8_t [16]);

/* Admission. */
int	access_admit(const struct iod_conf *, const struct listener *, int,
	    uint8_t [16]);
void	access_refuse(int, int, const uint8_t [16]);

#endif
