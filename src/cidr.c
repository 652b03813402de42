/*
 * Address blocks in CIDR notation, for allow, deny and proxy_trusted.
 * Every address is compared as 16 bytes of IPv6, IPv4 ones v4-mapped
 * (::ffff:a.b.c.d), so one matcher serves both families and an IPv4
 * client of a dual-stack listener is judged by its IPv4 address.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

#define CIDR_V4_BITS	96	/* the v4-mapped prefix, ::ffff:0:0/96 */

static const uint8_t cidr_v4_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int	cidr_bits(const char *, int, char *, size_t);
static int	cidr_host_bits(const struct cidr *);

/*
 * Parse "ADDR/BITS" or a bare address (a block of one), IPv4 or IPv6.
 * The address must be the block's first: "10.1.2.3/8" is refused, as a
 * typing mistake that would allow far more than it seems to.
 */
int
cidr_parse(const char *spec, struct cidr *ci, char *cause, size_t len)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*slash = strchr(spec, '/');
	size_t		 hlen = slash != NULL ? (size_t)(slash - spec) :
			    strlen(spec);
	struct in_addr	 a4;
	int		 bits, max;

	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(cause, len, "not an address block");
		return (-1);
	}
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	memset(ci, 0, sizeof(*ci));
	if (inet_pton(AF_INET, host, &a4) == 1) {
		memcpy(ci->ci_addr, cidr_v4_prefix, sizeof(cidr_v4_prefix));
		memcpy(ci->ci_addr + 12, &a4, 4);
		max = 32;
	} else if (inet_pton(AF_INET6, host, ci->ci_addr) == 1)
		max = 128;
	else {
		snprintf(cause, len, "not an IPv4 or IPv6 address");
		return (-1);
	}
	bits = max;
	if (slash != NULL &&
	    (bits = cidr_bits(slash + 1, max, cause, len)) == -1)
		return (-1);
	ci->ci_bits = (uint8_t)(max == 32 ? CIDR_V4_BITS + bits : bits);
	if (cidr_host_bits(ci)) {
		snprintf(cause, len, "bits set past the /%d prefix", bits);
		return (-1);
	}
	return (0);
}

/* Parse the prefix length after the slash: 0 to max, digits only. */
static int
cidr_bits(const char *s, int max, char *cause, size_t len)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9' || strlen(s) > 3) {
		snprintf(cause, len, "prefix length must be 0 to %d", max);
		return (-1);
	}
	v = strtol(s, &end, 10);
	if (*end != '\0' || v > max) {
		snprintf(cause, len, "prefix length must be 0 to %d", max);
		return (-1);
	}
	return ((int)v);
}

/* Does ci have a bit set past its prefix? */
static int
cidr_host_bits(const struct cidr *ci)
{
	int	i;

	for (i = ci->ci_bits; i < 128; i++)
		if (ci->ci_addr[i / 8] & (0x80 >> (i % 8)))
			return (1);
	return (0);
}

/*
 * The 16-byte key of an IPv4 or IPv6 socket address; -1 for any other
 * family (a unix socket's peer has no address).
 */
int
cidr_key(const struct sockaddr *sa, socklen_t salen, uint8_t key[16])
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa->sa_family == AF_INET && salen >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(key, cidr_v4_prefix, sizeof(cidr_v4_prefix));
		memcpy(key + 12, &sin->sin_addr, 4);
		return (0);
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(key, &sin6->sin6_addr, 16);
		return (0);
	}
	return (-1);
}

/* Is key inside the block ci? */
int
cidr_match(const struct cidr *ci, const uint8_t key[16])
{
	int	whole = ci->ci_bits / 8, rest = ci->ci_bits % 8;
	uint8_t	mask;

	if (memcmp(ci->ci_addr, key, (size_t)whole) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((key[whole] & mask) == ci->ci_addr[whole]);
}

/* Is key inside any of the n blocks of list? */
int
cidr_match_any(const struct cidr *list, size_t n, const uint8_t key[16])
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (cidr_match(&list[i], key))
			return (1);
	return (0);
}

/* Write key as an address for log lines: IPv4 dotted when v4-mapped. */
void
cidr_format(const uint8_t key[16], char *buf, size_t len)
{
	char	tmp[INET6_ADDRSTRLEN];

	if (memcmp(key, cidr_v4_prefix, sizeof(cidr_v4_prefix)) == 0)
		inet_ntop(AF_INET, key + 12, tmp, sizeof(tmp));
	else
		inet_ntop(AF_INET6, key, tmp, sizeof(tmp));
	snprintf(buf, len, "%s", tmp);
}
