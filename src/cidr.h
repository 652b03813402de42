/* Address blocks: parse "10.0.0.0/8" or "2001:db8::/32", match a source. */
#ifndef IOD_CIDR_H
#define IOD_CIDR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/*
 * One block, kept as IPv6: an IPv4 block a.b.c.d/n is ::ffff:a.b.c.d with
 * 96 + n bits, so that an IPv4 client reaching a dual-stack socket, whose
 * address is then v4-mapped, matches the IPv4 blocks it should.
 */
struct cidr {
	uint8_t		ci_addr[16];	/* bits past ci_bits are zero */
	uint8_t		ci_bits;	/* 0 to 128 */
};

/* Parsing; never logs, returns -1 and a cause. */
int	cidr_parse(const char *, struct cidr *, char *, size_t);

/* Matching. */
int	cidr_key(const struct sockaddr *, socklen_t, uint8_t [16]);
int	cidr_match(const struct cidr *, const uint8_t [16]);
int	cidr_match_any(const struct cidr *, size_t, const uint8_t [16]);
void	cidr_format(const uint8_t [16], char *, size_t);

#endif
