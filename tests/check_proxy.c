/* proxy: every valid PROXY header form and every way to get one wrong. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lib.h"
#include "proxy.h"

#define V2_SIG	"\r\n\r\n\0\r\nQUIT\n"
#define APPDATA	"hello, iod\r\n"

/* A valid header written out, and what it must decode to. */
struct good_case {
	const char	*text;		/* v1 text, or NULL for a v2 builder */
	int		 family;	/* AF_UNSPEC when ph_local */
	const char	*src, *dst;	/* numeric, or NULL */
	unsigned int	 sport, dport;
};

static const struct good_case v1_good[] = {
	{ "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	    AF_INET, "192.168.0.1", "192.168.0.11", 56324, 443 },
	{ "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
	    AF_INET, "0.0.0.0", "255.255.255.255", 0, 65535 },
	{ "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
	    AF_INET, "255.255.255.255", "255.255.255.255", 65535, 65535 },
	{ "PROXY TCP6 ::1 ::1 1 2\r\n", AF_INET6, "::1", "::1", 1, 2 },
	{ "PROXY TCP6 2001:DB8::A 2001:db8::b 10 20\r\n",
	    AF_INET6, "2001:db8::a", "2001:db8::b", 10, 20 },
	{ "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 65535 },
	{ "PROXY UNKNOWN\r\n", AF_UNSPEC, NULL, NULL, 0, 0 },
	{ "PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", AF_UNSPEC, NULL, NULL, 0, 0 },
	{ "PROXY UNKNOWN anything at all, even  two spaces\r\n",
	    AF_UNSPEC, NULL, NULL, 0, 0 },
	/* The specification's worst case: 107 bytes. */
	{ "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    AF_UNSPEC, NULL, NULL, 0, 0 },
};

/*
 * A malformed header, the message it must draw, and the length of its
 * shortest prefix that is already an error (every shorter one is MORE).
 */
struct bad_case {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	const char	*why;
	size_t		 at;
};

static const struct bad_case bad[] = {
	{ "GET / HTTP/1.0\r\n", 0, "no PROXY header", 1 },
	{ "\n", 0, "no PROXY header", 1 },
	{ "PROXX TCP4", 0, "no PROXY header", 5 },
	{ "PROXY\r\n", 0, "no PROXY header", 6 },
	{ "proxy TCP4", 0, "no PROXY header", 1 },
	{ "\r\n\r\n\0\r\nQUIT!", 12, "no PROXY header", 12 },
	/* v1: the line's end. */
	{ "PROXY UNKNOWN\n", 0, "v1: LF without CR", 14 },
	{ "PROXY UNKNOWN\rX", 0, "v1: CR without LF", 15 },
	{ "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n", 0, "v1: CR without LF", 20 },
	/* v1: the protocol word. */
	{ "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", 0, "v1: bad protocol", 10 },
	{ "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", 0, "v1: bad protocol", 7 },
	{ "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, "v1: bad protocol", 7 },
	{ "PROXY TCP\r\n", 0, "v1: bad protocol", 11 },
	{ "PROXY \r\n", 0, "v1: bad protocol", 8 },
	{ "PROXY UNKNOWNX\r\n", 0, "v1: bad protocol", 14 },
	{ "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, "v1: bad protocol", 8 },
	/* v1: missing and extra fields. */
	{ "PROXY TCP4\r\n", 0, "v1: missing source address", 12 },
	{ "PROXY TCP4 1.2.3.4\r\n", 0, "v1: missing destination address",
	    20 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8\r\n", 0, "v1: missing source port",
	    28 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 0,
	    "v1: missing destination port", 30 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", 0,
	    "v1: bytes after the destination port", 31 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 0,
	    "v1: bytes after the destination port", 31 },
	/* v1: addresses. */
	{ "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", 0,
	    "v1: bad destination address", 20 },
	{ "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", 0,
	    "v1: bad source address", 13 },
	{ "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", 0,
	    "v1: bad source address", 20 },
	{ "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", 0,
	    "v1: bad source address", 17 },
	{ "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", 0,
	    "v1: bad source address", 19 },
	{ "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", 0,
	    "v1: bad source address", 14 },
	{ "PROXY TCP4 ::1 ::1 1 2\r\n", 0, "v1: bad source address", 12 },
	{ "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", 0,
	    "v1: bad source address", 13 },
	{ "PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n", 0,
	    "v1: bad source address", 20 },
	{ "PROXY TCP6 ::1 :::1 1 2\r\n", 0,
	    "v1: bad destination address", 18 },
	{ "PROXY TCP6 1::2::3 ::1 1 2\r\n", 0, "v1: bad source address",
	    19 },
	{ "PROXY TCP6 ::1 1:2:3:4:5:6:7 1 2\r\n", 0,
	    "v1: bad destination address", 29 },
	{ "PROXY TCP6 ::g ::1 1 2\r\n", 0, "v1: bad source address", 14 },
	{ "PROXY TCP4 1.2.3.\0 5.6.7.8 1 2\r\n", 32,
	    "v1: bad source address", 18 },
	/* v1: ports. */
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", 0,
	    "v1: bad source port", 29 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n", 0,
	    "v1: bad source port", 29 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", 0,
	    "v1: bad source port", 32 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 655350\r\n", 0,
	    "v1: bad destination port", 35 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", 0,
	    "v1: bad source port", 28 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", 0,
	    "v1: bad source port", 28 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8  2\r\n", 0,
	    "v1: bad source port", 28 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n", 0,
	    "v1: bad destination port", 31 },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1\t2\r\n", 0,
	    "v1: bad source port", 29 },
	/* v2: the fixed part. */
	{ V2_SIG "\x11\x11\x00\x0c", 16, "v2: bad version 1", 13 },
	{ V2_SIG "\x31\x11\x00\x0c", 16, "v2: bad version 3", 13 },
	{ V2_SIG "\x22\x11\x00\x0c", 16, "v2: bad command 2", 13 },
	{ V2_SIG "\x2f\x11\x00\x0c", 16, "v2: bad command 15", 13 },
	{ V2_SIG "\x21\x41\x00\x0c", 16, "v2: bad address family 4", 14 },
	{ V2_SIG "\x21\x13\x00\x0c", 16, "v2: bad transport 3", 14 },
	{ V2_SIG "\x20\x13\x00\x00", 16, "v2: bad transport 3", 14 },
	{ V2_SIG "\x20\xf0\x00\x00", 16, "v2: bad address family 15", 14 },
	{ V2_SIG "\x21\x12\x00\x0c", 16,
	    "v2: datagram transport on a stream", 14 },
	{ V2_SIG "\x21\x22\x00\x24", 16,
	    "v2: datagram transport on a stream", 14 },
	{ V2_SIG "\x21\x32\x00\xd8", 16,
	    "v2: datagram transport on a stream", 14 },
	/* v2: the length against the address block. */
	{ V2_SIG "\x21\x11\x00\x0b", 16,
	    "v2: length 11 is short of the address block (12)", 16 },
	{ V2_SIG "\x21\x11\x00\x00", 16,
	    "v2: length 0 is short of the address block (12)", 16 },
	{ V2_SIG "\x21\x21\x00\x23", 16,
	    "v2: length 35 is short of the address block (36)", 16 },
	{ V2_SIG "\x21\x31\x00\xd7", 16,
	    "v2: length 215 is short of the address block (216)", 16 },
	/* v2: TLVs that do not fit the length. */
	{ V2_SIG "\x21\x11\x00\x0e" "\1\2\3\4\5\6\7\10\0\1\0\2" "\x04\x00",
	    30, "v2: TLV overruns the header", 16 },
	{ V2_SIG "\x21\x11\x00\x10" "\1\2\3\4\5\6\7\10\0\1\0\2"
	    "\x04\x00\x02\x00", 32, "v2: TLV overruns the header", 16 + 15 },
	{ V2_SIG "\x21\x11\x00\x13" "\1\2\3\4\5\6\7\10\0\1\0\2"
	    "\x04\x00\x00" "\x01\x00\x02", 35,
	    "v2: TLV overruns the header", 16 + 15 + 3 },
};

static void	 say(char *, size_t, const struct sockaddr_storage *);
static void	 check_prefixes(const unsigned char *, size_t, size_t);
static void	 check_good(const unsigned char *, size_t,
		    const struct good_case *, struct proxy_header *);
static size_t	 v2_build(unsigned char *, unsigned char, unsigned char,
		    const void *, size_t, size_t);

/* Write an address as text for a comparison. */
static void
say(char *out, size_t outlen, const struct sockaddr_storage *ss)
{
	const void	*a;

	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	else {
		snprintf(out, outlen, "(family %d)", ss->ss_family);
		return;
	}
	inet_ntop(ss->ss_family, a, out, outlen);
}

/*
 * Every prefix shorter than hlen, each in a buffer of exactly its size
 * (so that AddressSanitizer sees a read past it), is PROXY_MORE.
 */
static void
check_prefixes(const unsigned char *p, size_t len, size_t hlen)
{
	struct proxy_header	 ph;
	enum proxy_status	 st;
	unsigned char		*copy;
	char			 why[128];
	size_t			 n;

	for (n = 0; n < hlen && n <= len; n++) {
		copy = malloc(n > 0 ? n : 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, p, n);
		st = proxy_parse(copy, n, &ph, why, sizeof(why));
		free(copy);
		ck_assert_msg(st == PROXY_MORE, "prefix of %zu of %zu bytes: "
		    "status %d (%s)", n, hlen, st, why);
		ck_assert_int_eq(ph.ph_len, 0);
	}
}

/* The whole header parses to c, whatever follows; every prefix is MORE. */
static void
check_good(const unsigned char *p, size_t hlen, const struct good_case *c,
    struct proxy_header *ph)
{
	unsigned char	 buf[PROXY_V1_MAX + 512 + sizeof(APPDATA)];
	char		 why[128], text[INET6_ADDRSTRLEN + 16];

	ck_assert_uint_le(hlen + sizeof(APPDATA), sizeof(buf));
	memcpy(buf, p, hlen);
	memcpy(buf + hlen, APPDATA, sizeof(APPDATA) - 1);
	check_prefixes(buf, hlen, hlen);
	/* Alone, and followed by application data, which stays untouched. */
	ck_assert_int_eq(proxy_parse(buf, hlen, ph, why, sizeof(why)),
	    PROXY_DONE);
	ck_assert_int_eq(proxy_parse(buf, hlen + sizeof(APPDATA) - 1, ph, why,
	    sizeof(why)), PROXY_DONE);
	ck_assert_msg(ph->ph_len == hlen, "ph_len %zu, want %zu",
	    ph->ph_len, hlen);
	ck_assert_mem_eq(buf + hlen, APPDATA, sizeof(APPDATA) - 1);
	ck_assert_str_eq(why, "");
	if (c == NULL)
		return;
	ck_assert_int_eq(ph->ph_local, c->family == AF_UNSPEC);
	ck_assert_int_eq(ph->ph_src.ss_family, c->family);
	ck_assert_int_eq(ph->ph_dst.ss_family, c->family);
	if (c->family == AF_UNSPEC)
		return;
	say(text, sizeof(text), &ph->ph_src);
	ck_assert_str_eq(text, c->src);
	say(text, sizeof(text), &ph->ph_dst);
	ck_assert_str_eq(text, c->dst);
	if (c->family == AF_INET) {
		ck_assert_uint_eq(ph->ph_srclen, sizeof(struct sockaddr_in));
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)
		    &ph->ph_src)->sin_port), c->sport);
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)
		    &ph->ph_dst)->sin_port), c->dport);
	} else {
		ck_assert_uint_eq(ph->ph_srclen, sizeof(struct sockaddr_in6));
		ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)
		    &ph->ph_src)->sin6_port), c->sport);
		ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)
		    &ph->ph_dst)->sin6_port), c->dport);
	}
	ck_assert_uint_eq(ph->ph_dstlen, ph->ph_srclen);
}

/*
 * Write a v2 header: the signature, the version and command byte, the
 * family byte, a length of alen + tlvlen, the address bytes, then one
 * NOOP TLV of tlvlen bytes (0, or 3 and more).  Return its size.
 */
static size_t
v2_build(unsigned char *out, unsigned char vc, unsigned char fam,
    const void *addr, size_t alen, size_t tlvlen)
{
	size_t	len = alen + tlvlen, off = 16 + alen;

	memcpy(out, V2_SIG, 12);
	out[12] = vc;
	out[13] = fam;
	out[14] = len >> 8;
	out[15] = len & 0xff;
	memcpy(out + 16, addr, alen);
	if (tlvlen >= 3) {
		out[off] = 0x04;
		out[off + 1] = (tlvlen - 3) >> 8;
		out[off + 2] = (tlvlen - 3) & 0xff;
		memset(out + off + 3, 0xa5, tlvlen - 3);
	}
	return (16 + len);
}

/* Each valid v1 form parses, a byte at a time too, and leaves data after it. */
START_TEST(test_v1_good)
{
	const struct good_case	*c = &v1_good[_i];
	struct proxy_header	 ph;

	check_good((const unsigned char *)c->text, strlen(c->text), c, &ph);
	ck_assert_int_eq(ph.ph_version, 1);
}
END_TEST

/*
 * Each malformed header is refused with its own message, at its first
 * impossible byte and not before: shorter prefixes say MORE, and every
 * longer one, the whole case included, says ERROR with the same reason.
 */
START_TEST(test_bad)
{
	const struct bad_case	*c = &bad[_i];
	struct proxy_header	 ph;
	enum proxy_status	 st;
	unsigned char		*copy;
	char			 why[128];
	size_t			 len, n;

	len = c->len > 0 ? c->len : strlen(c->text);
	check_prefixes((const unsigned char *)c->text, len, c->at);
	for (n = c->at; n <= len; n++) {
		copy = malloc(n);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, c->text, n);
		st = proxy_parse(copy, n, &ph, why, sizeof(why));
		free(copy);
		ck_assert_msg(st == PROXY_ERROR, "\"%s\" cut at %zu: status %d",
		    c->text, n, st);
		ck_assert_msg(strcmp(why, c->why) == 0, "\"%s\" cut at %zu: "
		    "\"%s\", want \"%s\"", c->text, n, why, c->why);
		ck_assert_int_eq(ph.ph_len, 0);
		ck_assert_int_eq(ph.ph_version, 0);
	}
}
END_TEST

/* v1 with no CRLF in 107 bytes is refused at the 107th, whatever it is. */
START_TEST(test_v1_too_long)
{
	struct proxy_header	ph;
	char			buf[PROXY_V1_MAX + 10], why[128];
	enum proxy_status	st;

	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	check_prefixes((unsigned char *)buf, sizeof(buf), PROXY_V1_MAX);
	st = proxy_parse(buf, PROXY_V1_MAX, &ph, why, sizeof(why));
	ck_assert_int_eq(st, PROXY_ERROR);
	ck_assert_str_eq(why, "v1: no CRLF within 107 bytes");
	/* A CR as the 107th byte cannot be followed by its LF in time. */
	buf[PROXY_V1_MAX - 1] = '\r';
	buf[PROXY_V1_MAX] = '\n';
	st = proxy_parse(buf, PROXY_V1_MAX + 1, &ph, why, sizeof(why));
	ck_assert_int_eq(st, PROXY_ERROR);
	ck_assert_str_eq(why, "v1: no CRLF within 107 bytes");
	/* Its LF as the 107th byte is the longest header there is. */
	buf[PROXY_V1_MAX - 2] = '\r';
	buf[PROXY_V1_MAX - 1] = '\n';
	st = proxy_parse(buf, sizeof(buf), &ph, why, sizeof(why));
	ck_assert_int_eq(st, PROXY_DONE);
	ck_assert_uint_eq(ph.ph_len, PROXY_V1_MAX);
}
END_TEST

/* A v1 TCP6 header of the longest addresses (104 bytes) parses. */
START_TEST(test_v1_ip6_longest)
{
	struct proxy_header	ph;

	ck_assert_uint_eq(strlen(v1_good[5].text), 104);
	check_good((const unsigned char *)v1_good[5].text, 104, &v1_good[5],
	    &ph);
}
END_TEST

/* v2 PROXY over TCP/IPv4: the addresses and ports, in network order. */
START_TEST(test_v2_inet)
{
	static const unsigned char addr[] = { 192, 168, 0, 1, 10, 0, 0, 2,
	    0xdc, 0x04, 0x01, 0xbb };
	static const struct good_case c = { NULL, AF_INET, "192.168.0.1",
	    "10.0.0.2", 56324, 443 };
	unsigned char		buf[64];
	struct proxy_header	ph;
	size_t			n;

	n = v2_build(buf, 0x21, 0x11, addr, sizeof(addr), 0);
	ck_assert_uint_eq(n, 28);
	check_good(buf, n, &c, &ph);
	ck_assert_int_eq(ph.ph_version, 2);
}
END_TEST

/* v2 PROXY over TCP/IPv6, with TLVs after the addresses, skipped. */
START_TEST(test_v2_inet6_tlvs)
{
	unsigned char		addr[36], buf[256];
	static const struct good_case c = { NULL, AF_INET6, "2001:db8::1",
	    "::1", 1, 65535 };
	struct proxy_header	ph;
	size_t			n;

	memset(addr, 0, sizeof(addr));
	inet_pton(AF_INET6, "2001:db8::1", addr);
	inet_pton(AF_INET6, "::1", addr + 16);
	addr[32] = 0; addr[33] = 1; addr[34] = 0xff; addr[35] = 0xff;
	n = v2_build(buf, 0x21, 0x21, addr, sizeof(addr), 20);
	check_good(buf, n, &c, &ph);
	/* Empty TLVs, three bytes each, are TLVs too. */
	n = v2_build(buf, 0x21, 0x21, addr, sizeof(addr), 3);
	check_good(buf, n, &c, &ph);
}
END_TEST

/* v2 PROXY over unix streams: paths, abstract and unnamed sockets. */
START_TEST(test_v2_unix)
{
	unsigned char		 addr[216], buf[300];
	struct proxy_header	 ph;
	struct sockaddr_un	*sun;
	size_t			 n;

	memset(addr, 0, sizeof(addr));
	strcpy((char *)addr, "/run/client.sock");
	memset(addr + 108, 'd', 107);
	n = v2_build(buf, 0x21, 0x31, addr, sizeof(addr), 0);
	check_good(buf, n, NULL, &ph);
	ck_assert_int_eq(ph.ph_local, 0);
	sun = (struct sockaddr_un *)&ph.ph_src;
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/run/client.sock");
	ck_assert_uint_eq(ph.ph_srclen,
	    offsetof(struct sockaddr_un, sun_path) + 17);
	sun = (struct sockaddr_un *)&ph.ph_dst;
	ck_assert_uint_eq(strlen(sun->sun_path), 107);
	ck_assert_uint_eq(ph.ph_dstlen, sizeof(struct sockaddr_un));

	/* A source all zeros is unnamed; a leading NUL, abstract. */
	memset(addr, 0, 108);
	addr[108] = '\0';
	addr[109] = 'a';
	n = v2_build(buf, 0x21, 0x31, addr, sizeof(addr), 0);
	check_good(buf, n, NULL, &ph);
	ck_assert_uint_eq(ph.ph_srclen, sizeof(sa_family_t));
	ck_assert_uint_eq(ph.ph_dstlen, sizeof(struct sockaddr_un));
	ck_assert_int_eq(((struct sockaddr_un *)&ph.ph_dst)->sun_path[1], 'a');
}
END_TEST

/* v2 unix paths with no NUL in their 108 bytes are refused once whole. */
START_TEST(test_v2_unix_unterminated)
{
	unsigned char		addr[216], buf[300];
	struct proxy_header	ph;
	char			why[128];
	size_t			n;

	memset(addr, 'x', sizeof(addr));
	n = v2_build(buf, 0x21, 0x31, addr, sizeof(addr), 0);
	check_prefixes(buf, n, n);
	ck_assert_int_eq(proxy_parse(buf, n, &ph, why, sizeof(why)),
	    PROXY_ERROR);
	ck_assert_str_eq(why, "v2: unterminated unix source path");
	addr[0] = '/';
	addr[1] = '\0';
	n = v2_build(buf, 0x21, 0x31, addr, sizeof(addr), 0);
	ck_assert_int_eq(proxy_parse(buf, n, &ph, why, sizeof(why)),
	    PROXY_ERROR);
	ck_assert_str_eq(why, "v2: unterminated unix destination path");
}
END_TEST

/*
 * LOCAL (health checks): no addresses, whatever the family and length
 * say, and the whole length is skipped; an UNSPEC family or transport
 * with PROXY is taken the same way.
 */
START_TEST(test_v2_local)
{
	static const struct {
		unsigned char	vc, fam;
		size_t		alen;
	} forms[] = {
		{ 0x20, 0x00, 0 }, { 0x20, 0x11, 12 }, { 0x20, 0x11, 0 },
		{ 0x20, 0x12, 12 }, { 0x20, 0x31, 5 }, { 0x21, 0x00, 0 },
		{ 0x21, 0x00, 40 }, { 0x21, 0x10, 0 }, { 0x21, 0x01, 7 },
	};
	unsigned char		addr[64], buf[256];
	struct proxy_header	ph;
	size_t			i, n;

	memset(addr, 0x7f, sizeof(addr));
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		n = v2_build(buf, forms[i].vc, forms[i].fam, addr,
		    forms[i].alen, 0);
		check_good(buf, n, NULL, &ph);
		ck_assert_msg(ph.ph_local == 1, "form %zu: not local", i);
		ck_assert_int_eq(ph.ph_src.ss_family, AF_UNSPEC);
		ck_assert_int_eq(ph.ph_dst.ss_family, AF_UNSPEC);
		ck_assert_uint_eq(ph.ph_srclen, 0);
		ck_assert_int_eq(ph.ph_version, 2);
	}
}
END_TEST

/*
 * The largest v2 header: 65535 bytes after the fixed part, TLVs filling
 * what the addresses leave, parsed whole and at every truncation.
 */
START_TEST(test_v2_largest)
{
	unsigned char		 addr[12] = { 127, 0, 0, 1, 127, 0, 0, 2 };
	unsigned char		*buf;
	struct proxy_header	 ph;
	char			 why[128];
	size_t			 n, cut;

	buf = malloc(PROXY_V2_MAX + sizeof(APPDATA));
	ck_assert_ptr_nonnull(buf);
	n = v2_build(buf, 0x21, 0x11, addr, sizeof(addr), 65535 - 12);
	ck_assert_uint_eq(n, PROXY_V2_MAX);
	memcpy(buf + n, APPDATA, sizeof(APPDATA) - 1);
	ck_assert_int_eq(proxy_parse(buf, n + sizeof(APPDATA) - 1, &ph, why,
	    sizeof(why)), PROXY_DONE);
	ck_assert_uint_eq(ph.ph_len, PROXY_V2_MAX);
	for (cut = 0; cut < n; cut += 1 + cut / 64)
		ck_assert_msg(proxy_parse(buf, cut, &ph, why, sizeof(why)) ==
		    PROXY_MORE, "cut at %zu: %s", cut, why);
	ck_assert_int_eq(proxy_parse(buf, n - 1, &ph, why, sizeof(why)),
	    PROXY_MORE);
	free(buf);
}
END_TEST

/* A NULL or short why buffer is never written past. */
START_TEST(test_why_bounds)
{
	struct proxy_header	ph;
	char			why[8];

	ck_assert_int_eq(proxy_parse("GET", 3, &ph, NULL, 0), PROXY_ERROR);
	memset(why, 'z', sizeof(why));
	ck_assert_int_eq(proxy_parse("GET", 3, &ph, why, 4), PROXY_ERROR);
	ck_assert_str_eq(why, "no ");
	ck_assert_int_eq(why[4], 'z');
	ck_assert_int_eq(proxy_parse("PROXY UNKNOWN\r\n", 15, &ph, why, 1),
	    PROXY_DONE);
	ck_assert_int_eq(why[0], '\0');
}
END_TEST

Suite *
suite_proxy(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proxy");
	tc = tcase_create("v1");
	tcase_add_loop_test(tc, test_v1_good, 0,
	    sizeof(v1_good) / sizeof(v1_good[0]));
	tcase_add_test(tc, test_v1_too_long);
	tcase_add_test(tc, test_v1_ip6_longest);
	suite_add_tcase(s, tc);
	tc = tcase_create("v2");
	tcase_add_test(tc, test_v2_inet);
	tcase_add_test(tc, test_v2_inet6_tlvs);
	tcase_add_test(tc, test_v2_unix);
	tcase_add_test(tc, test_v2_unix_unterminated);
	tcase_add_test(tc, test_v2_local);
	tcase_add_test(tc, test_v2_largest);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_why_bounds);
	suite_add_tcase(s, tc);
	return (s);
}
