/* A connection's life for the record: bytes, duration, the access log. */
#ifndef IOD_SESSION_H
#define IOD_SESSION_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#include "stats.h"

struct listener;
struct worker;

/*
 * What the core keeps of a connection for its end: when it was
 * admitted, what it moved, where it came in and who the client is (the
 * one a PROXY header names, once it has).  Plain data, so that a forked
 * child can hand its copy back through shared memory.
 */
struct session {
	int64_t		s_start;	/* engine_now_ms() at admission */
	uint64_t	s_in;		/* bytes read from the client */
	uint64_t	s_out;		/* bytes written to it */
	int32_t		s_listener;	/* stats_listener() number; -1: none */
	uint16_t	s_port;		/* the client's port */
	uint8_t		s_family;	/* AF_INET, AF_INET6, AF_UNIX; 0: unknown */
	uint8_t		s_log;		/* access_log was on at admission */
	uint8_t		s_addr[16];	/* the client's address */
};

void	session_open(struct session *, int, const struct listener *, int);
void	session_peer(struct session *, const struct sockaddr *, socklen_t);
void	session_end(const struct worker *, const struct session *,
	    enum stats_close);
enum stats_close session_reason(const char *, int);

#endif
