/* PROXY protocol v1 and v2 headers (HAProxy's doc/proxy-protocol.txt). */
#ifndef IOD_PROXY_H
#define IOD_PROXY_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#define PROXY_V1_MAX	107		/* v1: the longest header, CRLF included */
#define PROXY_V2_MAX	(16 + 65535)	/* v2: signature, fixed part, payload */

enum proxy_status {
	PROXY_ERROR = -1,	/* not a valid header; why says what is wrong */
	PROXY_MORE = 0,		/* a valid beginning: read more and call again */
	PROXY_DONE = 1		/* a whole header: see struct proxy_header */
};

struct proxy_header {
	int			ph_version;	/* 1 or 2 */
	int			ph_local;	/* v2 LOCAL or v1 UNKNOWN: use the
						   connection's own addresses */
	struct sockaddr_storage	ph_src;		/* the real client; ss_family
						   AF_UNSPEC when none given */
	struct sockaddr_storage	ph_dst;		/* where it connected to */
	socklen_t		ph_srclen, ph_dstlen;
	size_t			ph_len;		/* bytes the header took */
};

/* Parse the first len bytes received on a connection. */
enum proxy_status proxy_parse(const void *buf, size_t len,
    struct proxy_header *ph, char *why, size_t whylen);

#endif
