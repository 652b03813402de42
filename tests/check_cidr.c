/*
 * Address blocks: what parses and what is refused with which cause, and
 * which addresses match, IPv4, IPv6 and IPv4 seen through a dual-stack
 * socket (v4-mapped); then the per-source counts behind max_per_source.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "cidr.h"
#include "lib.h"
#include "sources.h"

static void	ck_key(const char *, uint8_t [16]);

/* Blocks that parse, and their prefix length in IPv6 bits. */
static const struct {
	const char	*spec;
	int		 bits;
} good[] = {
	{ "10.0.0.0/8",		104 },
	{ "10.1.2.3",		128 },
	{ "10.1.2.3/32",	128 },
	{ "0.0.0.0/0",		96 },
	{ "192.168.0.0/16",	112 },
	{ "::1/128",		128 },
	{ "::1",		128 },
	{ "::/0",		0 },
	{ "2001:db8::/32",	32 },
	{ "fe80::/10",		10 },
	{ "::ffff:10.0.0.0/104", 104 }
};

/* Blocks that are refused, and a word of the cause. */
static const struct {
	const char	*spec;
	const char	*cause;
} bad[] = {
	{ "",			"not an address block" },
	{ "/8",			"not an address block" },
	{ "10.0.0.0/33",	"prefix length must be 0 to 32" },
	{ "10.0.0.0/-1",	"prefix length" },
	{ "10.0.0.0/",		"prefix length" },
	{ "10.0.0.0/8x",	"prefix length" },
	{ "10.0.0.0/ 8",	"prefix length" },
	{ "10.0.0.0/0008",	"prefix length" },
	{ "::/129",		"prefix length must be 0 to 128" },
	{ "10.1.0.0/8",		"bits set past the /8 prefix" },
	{ "2001:db8::1/32",	"bits set past the /32 prefix" },
	{ "10.0.0",		"not an IPv4 or IPv6 address" },
	{ "example.com/8",	"not an IPv4 or IPv6 address" },
	{ "10.0.0.0/8/8",	"prefix length" },
	{ "1.2.3.4.5",		"not an IPv4 or IPv6 address" }
};

/* Address, block, and whether the address is inside. */
static const struct {
	const char	*addr;
	const char	*block;
	int		 inside;
} matches[] = {
	{ "10.0.0.1",		"10.0.0.0/8",		1 },
	{ "10.255.255.255",	"10.0.0.0/8",		1 },
	{ "11.0.0.0",		"10.0.0.0/8",		0 },
	{ "9.255.255.255",	"10.0.0.0/8",		0 },
	{ "127.0.0.5",		"127.0.0.5",		1 },
	{ "127.0.0.6",		"127.0.0.5",		0 },
	{ "127.0.0.6",		"127.0.0.4/31",		0 },
	{ "127.0.0.5",		"127.0.0.4/31",		1 },
	{ "1.2.3.4",		"0.0.0.0/0",		1 },
	{ "::1",		"0.0.0.0/0",		0 },
	{ "1.2.3.4",		"::/0",			1 },
	{ "::1",		"::/0",			1 },
	{ "::1",		"::1/128",		1 },
	{ "::2",		"::1/128",		0 },
	{ "2001:db8:ffff::1",	"2001:db8::/32",	1 },
	{ "2001:db9::1",	"2001:db8::/32",	0 },
	{ "febf::1",		"fe80::/10",		1 },
	{ "fec0::1",		"fe80::/10",		0 },
	{ "::ffff:10.9.8.7",	"10.0.0.0/8",		1 },
	{ "::ffff:11.9.8.7",	"10.0.0.0/8",		0 },
	{ "10.9.8.7",		"::ffff:10.0.0.0/104",	1 }
};

/* The 16-byte key of a literal address, through a socket address. */
static void
ck_key(const char *addr, uint8_t key[16])
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		ck_assert_msg(cidr_key((struct sockaddr *)&sin, sizeof(sin),
		    key) == 0, "no key for %s", addr);
		return;
	}
	ck_assert_msg(inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1,
	    "test address %s", addr);
	sin6.sin6_family = AF_INET6;
	ck_assert_msg(cidr_key((struct sockaddr *)&sin6, sizeof(sin6),
	    key) == 0, "no key for %s", addr);
}

/* Proves every good block parses, to the prefix length it should. */
START_TEST(test_parse_good)
{
	struct cidr	ci;
	char		cause[128] = "";

	ck_assert_msg(cidr_parse(good[_i].spec, &ci, cause,
	    sizeof(cause)) == 0, "\"%s\" refused: %s", good[_i].spec, cause);
	ck_assert_msg(ci.ci_bits == good[_i].bits, "\"%s\": %d bits, want %d",
	    good[_i].spec, ci.ci_bits, good[_i].bits);
}
END_TEST

/* Proves every bad block is refused, with the cause it should have. */
START_TEST(test_parse_bad)
{
	struct cidr	ci;
	char		cause[128] = "";

	ck_assert_msg(cidr_parse(bad[_i].spec, &ci, cause,
	    sizeof(cause)) == -1, "\"%s\" accepted", bad[_i].spec);
	ck_assert_msg(strstr(cause, bad[_i].cause) != NULL,
	    "\"%s\": cause \"%s\", want \"%s\"", bad[_i].spec, cause,
	    bad[_i].cause);
}
END_TEST

/* Proves each address is inside or outside its block as it should be. */
START_TEST(test_match)
{
	struct cidr	ci;
	uint8_t		key[16];
	char		cause[128];
	int		got;

	ck_assert_msg(cidr_parse(matches[_i].block, &ci, cause,
	    sizeof(cause)) == 0, "%s: %s", matches[_i].block, cause);
	ck_key(matches[_i].addr, key);
	got = cidr_match(&ci, key);
	ck_assert_msg(got == matches[_i].inside, "%s in %s: %d, want %d",
	    matches[_i].addr, matches[_i].block, got, matches[_i].inside);
	ck_assert_msg(cidr_match_any(&ci, 1, key) == got,
	    "cidr_match_any disagrees for %s in %s", matches[_i].addr,
	    matches[_i].block);
}
END_TEST

/*
 * Proves a list matches when any block does, and an empty list never;
 * and that a unix socket address has no key.
 */
START_TEST(test_match_any)
{
	struct cidr	list[2];
	struct sockaddr	sa;
	uint8_t		key[16];
	char		cause[128];

	ck_assert(cidr_parse("10.0.0.0/8", &list[0], cause,
	    sizeof(cause)) == 0);
	ck_assert(cidr_parse("2001:db8::/32", &list[1], cause,
	    sizeof(cause)) == 0);
	ck_key("2001:db8::5", key);
	ck_assert_msg(cidr_match_any(list, 2, key), "second block missed");
	ck_assert_msg(!cidr_match_any(list, 1, key), "first block matched");
	ck_assert_msg(!cidr_match_any(list, 0, key), "empty list matched");
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ck_assert_msg(cidr_key(&sa, sizeof(sa), key) == -1,
	    "a unix address has a key");
}
END_TEST

/* Proves keys print as the address: IPv4 dotted, IPv6 as written. */
START_TEST(test_format)
{
	uint8_t	key[16];
	char	buf[64];

	ck_key("192.0.2.7", key);
	cidr_format(key, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.0.2.7");
	ck_key("2001:db8::7", key);
	cidr_format(key, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2001:db8::7");
}
END_TEST

/*
 * Proves max_per_source counting: a source gets max connections and no
 * more, another source is not affected, a release makes room again, and
 * 0 means no limit.  Many sources at once, released in another order
 * than claimed, leave every count right (deletion moves entries).
 */
START_TEST(test_sources)
{
	uint8_t	a[16], b[16], k[16];
	char	addr[32];
	int	i;

	ck_assert(sources_init() == 0);
	ck_key("192.0.2.1", a);
	ck_key("192.0.2.2", b);
	ck_assert(sources_claim(a, 2) == 0);
	ck_assert(sources_claim(a, 2) == 0);
	ck_assert_msg(sources_claim(a, 2) == -1, "third claim allowed");
	ck_assert_msg(sources_claim(b, 2) == 0, "another source refused");
	ck_assert_msg(sources_count(a) == 2, "count %u", sources_count(a));
	sources_release(a);
	ck_assert_msg(sources_claim(a, 2) == 0, "no room after a release");
	ck_assert_msg(sources_claim(a, 0) == 0, "0 is a limit");
	ck_assert_msg(sources_count(a) == 3, "count %u", sources_count(a));
	for (i = 0; i < 3; i++)
		sources_release(a);
	sources_release(b);
	ck_assert_msg(sources_count(a) == 0 && sources_count(b) == 0,
	    "counts %u and %u left", sources_count(a), sources_count(b));
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.1", i / 256, i % 256);
		ck_key(addr, k);
		ck_assert(sources_claim(k, 1) == 0);
	}
	for (i = 0; i < 5000; i += 2) {
		snprintf(addr, sizeof(addr), "10.%d.%d.1", i / 256, i % 256);
		ck_key(addr, k);
		sources_release(k);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.1", i / 256, i % 256);
		ck_key(addr, k);
		ck_assert_msg(sources_count(k) == (uint32_t)(i % 2),
		    "%s: count %u, want %d", addr, sources_count(k), i % 2);
	}
	memset(k, 0, sizeof(k));
	ck_assert_msg(sources_claim(k, 1) == 0 && sources_claim(k, 1) == 0,
	    "no source was limited");
}
END_TEST

/* The cidr suite. */
Suite *
suite_cidr(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("cidr");
	tc = tcase_create("cidr");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_parse_good, 0,
	    sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_parse_bad, 0,
	    sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_match, 0,
	    sizeof(matches) / sizeof(matches[0]));
	tcase_add_test(tc, test_match_any);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_sources);
	suite_add_tcase(s, tc);
	return (s);
}
