/*
 * proxy_parse on any bytes.  Beyond AddressSanitizer's watch on every read
 * (each call gets a buffer of exactly the length it is told), the
 * answers must be consistent: a whole header is no longer than the bytes
 * given nor than its version's maximum, parses the same without what
 * follows it, and every prefix of it is a valid beginning (MORE); a valid
 * beginning's prefixes are valid beginnings; an error says why.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <string.h>

#include "fuzz.h"
#include "proxy.h"

/* Prefixes are all tried up to this length; beyond it, a sample. */
#define ALL_PREFIXES	320

static enum proxy_status parse_exact(const uint8_t *, size_t,
			    struct proxy_header *, char *, size_t);
static void		 check_header(const struct proxy_header *, size_t);
static void		 check_prefixes(const uint8_t *, size_t, size_t);

/* Parse n bytes copied into a buffer of exactly n bytes. */
static enum proxy_status
parse_exact(const uint8_t *data, size_t n, struct proxy_header *ph,
    char *why, size_t whylen)
{
	enum proxy_status	 st;
	uint8_t			*copy;

	if ((copy = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	memcpy(copy, data, n);
	st = proxy_parse(copy, n, ph, why, whylen);
	FUZZ_CHECK(memcmp(copy, data, n) == 0, "the input was written to");
	free(copy);
	return (st);
}

/* A whole header's fields agree with each other. */
static void
check_header(const struct proxy_header *ph, size_t len)
{
	int	fam = ph->ph_src.ss_family;

	FUZZ_CHECK(ph->ph_len > 0 && ph->ph_len <= len, "ph_len %zu of %zu",
	    ph->ph_len, len);
	FUZZ_CHECK(ph->ph_version == 1 || ph->ph_version == 2, "version %d",
	    ph->ph_version);
	FUZZ_CHECK(ph->ph_len <= (ph->ph_version == 1 ? PROXY_V1_MAX :
	    PROXY_V2_MAX), "v%d header of %zu bytes", ph->ph_version,
	    ph->ph_len);
	FUZZ_CHECK(ph->ph_dst.ss_family == fam, "families %d and %d", fam,
	    ph->ph_dst.ss_family);
	if (ph->ph_local) {
		FUZZ_CHECK(fam == AF_UNSPEC && ph->ph_srclen == 0 &&
		    ph->ph_dstlen == 0, "local with family %d", fam);
		return;
	}
	switch (fam) {
	case AF_INET:
		FUZZ_CHECK(ph->ph_srclen == sizeof(struct sockaddr_in) &&
		    ph->ph_dstlen == ph->ph_srclen, "inet lengths");
		break;
	case AF_INET6:
		FUZZ_CHECK(ph->ph_srclen == sizeof(struct sockaddr_in6) &&
		    ph->ph_dstlen == ph->ph_srclen, "inet6 lengths");
		break;
	case AF_UNIX:
		FUZZ_CHECK(ph->ph_version == 2, "unix address in v1");
		FUZZ_CHECK(ph->ph_srclen <= sizeof(struct sockaddr_un) &&
		    ph->ph_dstlen <= sizeof(struct sockaddr_un),
		    "unix lengths %u, %u", ph->ph_srclen, ph->ph_dstlen);
		break;
	default:
		FUZZ_CHECK(0, "not local, yet family %d", fam);
	}
}

/* Every prefix shorter than n (all, or a sample when n is large) is MORE. */
static void
check_prefixes(const uint8_t *data, size_t n, size_t len)
{
	struct proxy_header	ph;
	enum proxy_status	st;
	char			why[128];
	size_t			k, step;

	step = n <= ALL_PREFIXES ? 1 : n / 64 + 1;
	for (k = 0; k < n && k <= len; k += step) {
		st = parse_exact(data, k, &ph, why, sizeof(why));
		FUZZ_CHECK(st == PROXY_MORE, "prefix %zu of %zu: %d (%s)", k,
		    n, st, why);
	}
	if (n > 0 && n - 1 <= len) {
		st = parse_exact(data, n - 1, &ph, why, sizeof(why));
		FUZZ_CHECK(st == PROXY_MORE, "prefix %zu of %zu: %d (%s)",
		    n - 1, n, st, why);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct proxy_header	ph, again;
	enum proxy_status	st;
	char			why[128];

	memset(why, 'x', sizeof(why));
	st = parse_exact(data, len, &ph, why, sizeof(why));
	FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL, "why unterminated");
	switch (st) {
	case PROXY_ERROR:
		FUZZ_CHECK(why[0] != '\0', "an error without a reason");
		FUZZ_CHECK(ph.ph_len == 0, "an error with a length");
		return (0);
	case PROXY_MORE:
		FUZZ_CHECK(why[0] == '\0' && ph.ph_len == 0, "MORE: %s", why);
		check_prefixes(data, len, len);
		return (0);
	case PROXY_DONE:
		FUZZ_CHECK(why[0] == '\0', "DONE: %s", why);
		check_header(&ph, len);
		st = parse_exact(data, ph.ph_len, &again, why, sizeof(why));
		FUZZ_CHECK(st == PROXY_DONE && memcmp(&ph, &again,
		    sizeof(ph)) == 0, "the header alone parses otherwise");
		check_prefixes(data, ph.ph_len, len);
		return (0);
	}
	FUZZ_CHECK(0, "status %d", st);
	return (0);
}
