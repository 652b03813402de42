/*
 * The PROXY protocol header a load balancer sends before a client's
 * bytes, versions 1 (text) and 2 (binary), parsed strictly to HAProxy's
 * doc/proxy-protocol.txt.  One pure function: no I/O, no allocation, no
 * logging, and not a byte read beyond the length it is given.
 *
 * Headers may arrive in pieces, so the parser says PROXY_MORE for any
 * valid beginning and PROXY_ERROR as soon as a byte makes the header
 * impossible: a caller that reads a byte at a time and a caller that
 * reads everything at once get the same answer, and a bad header is
 * refused without waiting for its end.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"

#define V1_SIG		"PROXY "
#define V1_SIGLEN	6
#define V1_V4_MAX	15	/* 255.255.255.255 */
#define V1_V6_MAX	39	/* eight groups of four hex digits */
#define V1_PORT_MAX	5	/* 65535 */

#define V2_SIGLEN	12
#define V2_FIXED	16	/* signature, version and command, family, length */
#define V2_UNIX_PATH	108

/* v2's commands, address families and transports (the 13th and 14th bytes). */
#define V2_LOCAL	0x0
#define V2_PROXY	0x1
#define V2_AF_UNSPEC	0x0
#define V2_AF_INET	0x1
#define V2_AF_INET6	0x2
#define V2_AF_UNIX	0x3
#define V2_UNSPEC	0x0
#define V2_STREAM	0x1
#define V2_DGRAM	0x2

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == V2_UNIX_PATH,
    "v2 unix addresses are copied whole into sun_path");

static const unsigned char v2_sig[V2_SIGLEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* How a v1 field ended. */
enum v1_end {
	V1_PARTIAL,		/* the bytes ran out inside it */
	V1_SPACE,		/* at a space: another field follows */
	V1_EOL			/* at the CRLF */
};

/* The part of a v1 line received so far. */
struct v1_line {
	const unsigned char	*l_p;
	size_t			 l_pos;		/* the next field's first byte */
	size_t			 l_end;		/* the CR, or the bytes' end */
	int			 l_whole;	/* the CRLF has arrived */
};

/* A v1 TCP4 or TCP6 line's four fields, as they are decoded. */
struct v1_addrs {
	int			 a_family;
	unsigned char		 a_src[16], a_dst[16];
	unsigned int		 a_sport, a_dport;
};

static void		 ph_clear(struct proxy_header *);
static enum proxy_status fail(char *, size_t, const char *, ...)
	    __attribute__((__format__(printf, 3, 4)));
static size_t		 min_size(size_t, size_t);
static int		 is_prefix(const unsigned char *, size_t, const char *);
static enum v1_end	 v1_field(struct v1_line *, const unsigned char **,
			    size_t *);
static int		 v1_v4_prefix(const unsigned char *, size_t);
static int		 v1_v6_prefix(const unsigned char *, size_t);
static int		 v1_addr(int, const unsigned char *, size_t, int,
			    unsigned char *);
static int		 v1_port(const unsigned char *, size_t, int,
			    unsigned int *);
static int		 v1_eol(const unsigned char *, size_t, size_t *,
			    char *, size_t);
static enum proxy_status v1_fields(struct v1_line *, struct v1_addrs *,
			    char *, size_t);
static void		 v1_fill(const struct v1_addrs *,
			    struct proxy_header *);
static enum proxy_status v1_parse(const unsigned char *, size_t,
			    struct proxy_header *, char *, size_t);
static size_t		 v2_addr_len(unsigned int);
static int		 v2_unix(const unsigned char *,
			    struct sockaddr_storage *, socklen_t *);
static enum proxy_status v2_addrs(const unsigned char *, unsigned int,
			    struct proxy_header *, char *, size_t);
static enum proxy_status v2_tlvs(const unsigned char *, size_t, size_t,
			    size_t, char *, size_t);
static enum proxy_status v2_parse(const unsigned char *, size_t,
			    struct proxy_header *, char *, size_t);

/* Parse the first len bytes received on a connection. */
enum proxy_status
proxy_parse(const void *buf, size_t len, struct proxy_header *ph, char *why,
    size_t whylen)
{
	const unsigned char	*p = buf;
	enum proxy_status	 st;

	ph_clear(ph);
	if (whylen > 0)
		why[0] = '\0';
	if (len == 0)
		return (PROXY_MORE);
	if (memcmp(p, V1_SIG, min_size(len, V1_SIGLEN)) == 0)
		st = v1_parse(p, len, ph, why, whylen);
	else if (memcmp(p, v2_sig, min_size(len, V2_SIGLEN)) == 0)
		st = v2_parse(p, len, ph, why, whylen);
	else
		st = fail(why, whylen, "no PROXY header");
	/* Half-filled answers are no answers. */
	if (st != PROXY_DONE)
		ph_clear(ph);
	return (st);
}

/* Empty a header: no version, no addresses. */
static void
ph_clear(struct proxy_header *ph)
{
	memset(ph, 0, sizeof(*ph));
	ph->ph_src.ss_family = AF_UNSPEC;
	ph->ph_dst.ss_family = AF_UNSPEC;
}

/* Say why the header is refused; return PROXY_ERROR. */
static enum proxy_status
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	if (whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return (PROXY_ERROR);
}

/* The smaller of two sizes. */
static size_t
min_size(size_t a, size_t b)
{
	return (a < b ? a : b);
}

/* Whether the n bytes at p begin the string word (or are all of it). */
static int
is_prefix(const unsigned char *p, size_t n, const char *word)
{
	return (n <= strlen(word) && memcmp(p, word, n) == 0);
}

/*
 * Take the next field of a v1 line: its bytes up to a space or the CRLF.
 * Fields are separated by exactly one space, so two spaces make an empty
 * field, which no field's rule accepts.
 */
static enum v1_end
v1_field(struct v1_line *l, const unsigned char **f, size_t *flen)
{
	size_t	i;

	for (i = l->l_pos; i < l->l_end && l->l_p[i] != ' '; i++)
		continue;
	*f = l->l_p + l->l_pos;
	*flen = i - l->l_pos;
	if (i < l->l_end) {
		l->l_pos = i + 1;
		return (V1_SPACE);
	}
	l->l_pos = i;
	return (l->l_whole ? V1_EOL : V1_PARTIAL);
}

/*
 * Whether n bytes can begin a dotted-quad IPv4 address: decimal groups of
 * at most 255, no leading zeros (the specification forbids them, lest
 * they be read as octal), at most four groups, none empty.
 */
static int
v1_v4_prefix(const unsigned char *p, size_t n)
{
	size_t		i, digits = 0, dots = 0;
	unsigned int	value = 0;

	if (n > V1_V4_MAX)
		return (0);
	for (i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return (0);
			digits = 0;
			value = 0;
		} else if (p[i] >= '0' && p[i] <= '9') {
			if (digits == 1 && value == 0)
				return (0);
			value = value * 10 + (p[i] - '0');
			if (++digits > 3 || value > 255)
				return (0);
		} else
			return (0);
	}
	return (1);
}

/*
 * Whether n bytes can begin an IPv6 address as the specification writes
 * it: hexadecimal groups and colons, at most 39 characters, no ":::".
 * (The dotted IPv4 tail that inet_pton also takes is not in its grammar.)
 */
static int
v1_v6_prefix(const unsigned char *p, size_t n)
{
	size_t	i;

	if (n > V1_V6_MAX)
		return (0);
	for (i = 0; i < n; i++) {
		if (p[i] == ':') {
			if (i >= 2 && p[i - 1] == ':' && p[i - 2] == ':')
				return (0);
		} else if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f') ||
		    (p[i] >= 'A' && p[i] <= 'F')))
			return (0);
	}
	return (1);
}

/*
 * Check an address field of family af; when whole, decode it into out
 * with inet_pton, which settles what the prefix rules cannot (the number
 * of groups, a second "::").
 */
static int
v1_addr(int af, const unsigned char *f, size_t n, int whole,
    unsigned char *out)
{
	char	text[V1_V6_MAX + 1];

	if (af == AF_INET ? !v1_v4_prefix(f, n) : !v1_v6_prefix(f, n))
		return (0);
	if (!whole)
		return (1);
	memcpy(text, f, n);
	text[n] = '\0';
	return (inet_pton(af, text, out) == 1);
}

/*
 * Check a port field: decimal, 0 to 65535, no sign and no leading zero
 * beyond "0" itself.  When whole, it must not be empty.
 */
static int
v1_port(const unsigned char *f, size_t n, int whole, unsigned int *port)
{
	size_t	i;

	*port = 0;
	if (n > V1_PORT_MAX || (n > 1 && f[0] == '0') || (whole && n == 0))
		return (0);
	for (i = 0; i < n; i++) {
		if (f[i] < '0' || f[i] > '9')
			return (0);
		*port = *port * 10 + (f[i] - '0');
	}
	return (*port <= 65535);
}

/*
 * Find where a v1 line ends: *eol is the CR's offset, or the bytes' end
 * while the CRLF has not come.  Return 1 when it has come, 0 when more may
 * bring it, -1 when it cannot: a lone CR or LF (the specification forbids
 * either alone), or no CRLF within PROXY_V1_MAX bytes.
 */
static int
v1_eol(const unsigned char *p, size_t len, size_t *eol, char *why,
    size_t whylen)
{
	size_t	n = min_size(len, PROXY_V1_MAX), i;

	for (i = 0; i < n && p[i] != '\r' && p[i] != '\n'; i++)
		continue;
	*eol = i;
	if (i < n && p[i] == '\n') {
		fail(why, whylen, "v1: LF without CR");
		return (-1);
	}
	if (i + 1 < n) {
		if (p[i + 1] != '\n') {
			fail(why, whylen, "v1: CR without LF");
			return (-1);
		}
		return (1);
	}
	if (n == PROXY_V1_MAX) {
		fail(why, whylen, "v1: no CRLF within %d bytes", PROXY_V1_MAX);
		return (-1);
	}
	return (0);
}

/* Check a TCP4 or TCP6 line's four fields: two addresses, two ports. */
static enum proxy_status
v1_fields(struct v1_line *l, struct v1_addrs *a, char *why, size_t whylen)
{
	static const char	*names[] = { "source address",
				    "destination address", "source port",
				    "destination port" };
	const unsigned char	*f;
	size_t			 flen, i;
	enum v1_end		 end = V1_PARTIAL;
	int			 ok;

	for (i = 0; i < 4; i++) {
		end = v1_field(l, &f, &flen);
		if (i == 0)
			ok = v1_addr(a->a_family, f, flen, end != V1_PARTIAL,
			    a->a_src);
		else if (i == 1)
			ok = v1_addr(a->a_family, f, flen, end != V1_PARTIAL,
			    a->a_dst);
		else
			ok = v1_port(f, flen, end != V1_PARTIAL,
			    i == 2 ? &a->a_sport : &a->a_dport);
		if (!ok)
			return (fail(why, whylen, "v1: bad %s", names[i]));
		if (end == V1_PARTIAL)
			return (PROXY_MORE);
		if (i < 3 && end == V1_EOL)
			return (fail(why, whylen, "v1: missing %s",
			    names[i + 1]));
	}
	if (end == V1_SPACE)
		return (fail(why, whylen, "v1: bytes after the destination "
		    "port"));
	return (PROXY_DONE);
}

/* Store a whole TCP4 or TCP6 line's addresses. */
static void
v1_fill(const struct v1_addrs *a, struct proxy_header *ph)
{
	struct sockaddr_in	*s4, *d4;
	struct sockaddr_in6	*s6, *d6;

	if (a->a_family == AF_INET) {
		s4 = (struct sockaddr_in *)&ph->ph_src;
		d4 = (struct sockaddr_in *)&ph->ph_dst;
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a->a_src, sizeof(s4->sin_addr));
		memcpy(&d4->sin_addr, a->a_dst, sizeof(d4->sin_addr));
		s4->sin_port = htons(a->a_sport);
		d4->sin_port = htons(a->a_dport);
		ph->ph_srclen = ph->ph_dstlen = sizeof(*s4);
		return;
	}
	s6 = (struct sockaddr_in6 *)&ph->ph_src;
	d6 = (struct sockaddr_in6 *)&ph->ph_dst;
	s6->sin6_family = d6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, a->a_src, sizeof(s6->sin6_addr));
	memcpy(&d6->sin6_addr, a->a_dst, sizeof(d6->sin6_addr));
	s6->sin6_port = htons(a->a_sport);
	d6->sin6_port = htons(a->a_dport);
	ph->ph_srclen = ph->ph_dstlen = sizeof(*s6);
}

/*
 * Version 1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n", or "PROXY
 * UNKNOWN", whose rest of line the receiver must ignore, then CRLF.
 */
static enum proxy_status
v1_parse(const unsigned char *p, size_t len, struct proxy_header *ph,
    char *why, size_t whylen)
{
	struct v1_line		 l;
	struct v1_addrs		 a;
	const unsigned char	*f;
	size_t			 flen;
	enum v1_end		 end;
	enum proxy_status	 st;
	int			 whole;

	if (len < V1_SIGLEN)
		return (PROXY_MORE);
	if ((whole = v1_eol(p, len, &l.l_end, why, whylen)) == -1)
		return (PROXY_ERROR);
	l.l_p = p;
	l.l_pos = V1_SIGLEN;
	l.l_whole = whole;
	memset(&a, 0, sizeof(a));
	end = v1_field(&l, &f, &flen);
	if (end == V1_PARTIAL) {
		if (is_prefix(f, flen, "TCP4") || is_prefix(f, flen, "TCP6") ||
		    is_prefix(f, flen, "UNKNOWN"))
			return (PROXY_MORE);
		return (fail(why, whylen, "v1: bad protocol"));
	}
	if (flen == 7 && memcmp(f, "UNKNOWN", 7) == 0) {
		if (!l.l_whole)
			return (PROXY_MORE);
		ph->ph_version = 1;
		ph->ph_local = 1;
		ph->ph_len = l.l_end + 2;
		return (PROXY_DONE);
	}
	if (flen == 4 && memcmp(f, "TCP4", 4) == 0)
		a.a_family = AF_INET;
	else if (flen == 4 && memcmp(f, "TCP6", 4) == 0)
		a.a_family = AF_INET6;
	else
		return (fail(why, whylen, "v1: bad protocol"));
	if (end == V1_EOL)
		return (fail(why, whylen, "v1: missing source address"));
	if ((st = v1_fields(&l, &a, why, whylen)) != PROXY_DONE)
		return (st);
	v1_fill(&a, ph);
	ph->ph_version = 1;
	ph->ph_len = l.l_end + 2;
	return (PROXY_DONE);
}

/* The size of a v2 address block of family fam, with TCP ports. */
static size_t
v2_addr_len(unsigned int fam)
{
	switch (fam) {
	case V2_AF_INET:
		return (4 + 4 + 2 + 2);
	case V2_AF_INET6:
		return (16 + 16 + 2 + 2);
	default:
		return (V2_UNIX_PATH * 2);
	}
}

/*
 * Store one 108-byte v2 unix address as a sockaddr_un.  A path name must
 * end in a NUL within its 108 bytes, so that nothing reading sun_path as
 * a string runs past it; a first NUL byte means an abstract name (all 108
 * bytes) or, when every byte is zero, an unnamed socket.
 */
static int
v2_unix(const unsigned char *p, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	size_t			 n, i;

	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, p, V2_UNIX_PATH);
	if (p[0] != '\0') {
		if ((n = strnlen(sun->sun_path, V2_UNIX_PATH)) == V2_UNIX_PATH)
			return (-1);
		*sl = offsetof(struct sockaddr_un, sun_path) + n + 1;
		return (0);
	}
	for (i = 0; i < V2_UNIX_PATH && p[i] == '\0'; i++)
		continue;
	*sl = i == V2_UNIX_PATH ? sizeof(sa_family_t) : sizeof(*sun);
	return (0);
}

/* Store a v2 address block of family fam (the bytes after the fixed part). */
static enum proxy_status
v2_addrs(const unsigned char *p, unsigned int fam, struct proxy_header *ph,
    char *why, size_t whylen)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ph->ph_src;
	struct sockaddr_in	*d4 = (struct sockaddr_in *)&ph->ph_dst;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ph->ph_src;
	struct sockaddr_in6	*d6 = (struct sockaddr_in6 *)&ph->ph_dst;

	switch (fam) {
	case V2_AF_INET:
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p, 4);
		memcpy(&d4->sin_addr, p + 4, 4);
		memcpy(&s4->sin_port, p + 8, 2);
		memcpy(&d4->sin_port, p + 10, 2);
		ph->ph_srclen = ph->ph_dstlen = sizeof(*s4);
		return (PROXY_DONE);
	case V2_AF_INET6:
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p, 16);
		memcpy(&d6->sin6_addr, p + 16, 16);
		memcpy(&s6->sin6_port, p + 32, 2);
		memcpy(&d6->sin6_port, p + 34, 2);
		ph->ph_srclen = ph->ph_dstlen = sizeof(*s6);
		return (PROXY_DONE);
	default:
		if (v2_unix(p, &ph->ph_src, &ph->ph_srclen) == -1)
			return (fail(why, whylen, "v2: unterminated unix "
			    "source path"));
		if (v2_unix(p + V2_UNIX_PATH, &ph->ph_dst,
		    &ph->ph_dstlen) == -1)
			return (fail(why, whylen, "v2: unterminated unix "
			    "destination path"));
		return (PROXY_DONE);
	}
}

/*
 * Walk the TLVs from off to the header's end hlen, in the len bytes that
 * have come: each must fit inside the header.  Their contents are not
 * needed and are skipped.
 */
static enum proxy_status
v2_tlvs(const unsigned char *p, size_t len, size_t off, size_t hlen,
    char *why, size_t whylen)
{
	size_t	vlen;

	while (off < hlen) {
		if (hlen - off < 3)
			return (fail(why, whylen, "v2: TLV overruns the "
			    "header"));
		if (len - off < 3)
			return (PROXY_MORE);
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > hlen - off - 3)
			return (fail(why, whylen, "v2: TLV overruns the "
			    "header"));
		off += 3 + vlen;
	}
	return (len < hlen ? PROXY_MORE : PROXY_DONE);
}

/*
 * Version 2: the signature, version and command, family and transport,
 * the length of the rest, the address block, TLVs.
 */
static enum proxy_status
v2_parse(const unsigned char *p, size_t len, struct proxy_header *ph,
    char *why, size_t whylen)
{
	unsigned int		 cmd, fam, proto;
	size_t			 hlen, alen;
	enum proxy_status	 st;

	if (len <= V2_SIGLEN)
		return (PROXY_MORE);
	if (p[12] >> 4 != 2)
		return (fail(why, whylen, "v2: bad version %u", p[12] >> 4));
	if ((cmd = p[12] & 0xf) != V2_LOCAL && cmd != V2_PROXY)
		return (fail(why, whylen, "v2: bad command %u", cmd));
	if (len <= 13)
		return (PROXY_MORE);
	fam = p[13] >> 4;
	proto = p[13] & 0xf;
	if (fam > V2_AF_UNIX)
		return (fail(why, whylen, "v2: bad address family %u", fam));
	if (proto > V2_DGRAM)
		return (fail(why, whylen, "v2: bad transport %u", proto));
	/*
	 * iod serves byte streams: a datagram relayed on its behalf means a
	 * misconfigured balancer, and a datagram's addresses are no client
	 * of this connection.  LOCAL ignores the family byte, so it may say
	 * anything the specification defines.
	 */
	if (cmd == V2_PROXY && proto == V2_DGRAM)
		return (fail(why, whylen, "v2: datagram transport on a "
		    "stream"));
	if (len < V2_FIXED)
		return (PROXY_MORE);
	hlen = V2_FIXED + ((size_t)p[14] << 8 | p[15]);
	/*
	 * LOCAL (a balancer's health check) uses the connection's own
	 * addresses and the receiver must skip the whole block, whatever
	 * its length.  For an UNSPEC family or transport with PROXY, the
	 * specification lets the receiver accept the connection with its
	 * real endpoints or reject it, and says to ignore any address
	 * information: iod accepts it as if it were LOCAL.
	 */
	ph->ph_version = 2;
	if (cmd == V2_LOCAL || fam == V2_AF_UNSPEC || proto == V2_UNSPEC) {
		ph->ph_local = 1;
		if (len < hlen)
			return (PROXY_MORE);
		ph->ph_len = hlen;
		return (PROXY_DONE);
	}
	alen = v2_addr_len(fam);
	if (hlen - V2_FIXED < alen)
		return (fail(why, whylen, "v2: length %zu is short of the "
		    "address block (%zu)", hlen - V2_FIXED, alen));
	if (hlen - V2_FIXED - alen > 0 && hlen - V2_FIXED - alen < 3)
		return (fail(why, whylen, "v2: TLV overruns the header"));
	if (len < V2_FIXED + alen)
		return (PROXY_MORE);
	if ((st = v2_addrs(p + V2_FIXED, fam, ph, why, whylen)) != PROXY_DONE)
		return (st);
	if ((st = v2_tlvs(p, len, V2_FIXED + alen, hlen, why,
	    whylen)) != PROXY_DONE)
		return (st);
	ph->ph_len = hlen;
	return (PROXY_DONE);
}
