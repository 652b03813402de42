/* The connection vocabulary every engine speaks: states, settings, rules. */
#ifndef IOD_CONN_H
#define IOD_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct iod_conf;
struct listener;
struct proxy_header;
struct session;
struct worker;

/* What a connection waits for. */
enum conn_state {
	CONN_READING,		/* reading, and writing whatever is owed */
	CONN_PAUSED,		/* owed max_pending_bytes: writing only */
	CONN_PROXY,		/* waiting for its PROXY header: no reply */
	CONN_DRAINING,		/* read no more: write what is owed, then end */
	CONN_LINGERING,		/* all sent: discard input until the client's end */
	CONN_CLOSED		/* released: the engine frees what is left */
};

/* What shutdown asks of a connection, in rising order of urgency. */
enum conn_order {
	CONN_RUN,		/* serve */
	CONN_DRAIN,		/* read no more, send what is owed, end */
	CONN_CUT		/* end now */
};

/*
 * What every connection has, whatever its engine: the settings it was
 * admitted with, the time of its last byte, its state, and its links in
 * its worker's list.  An engine's connection begins with one, in the
 * table by descriptor (conn_table_init); 20 bytes, because the libevent
 * engine's whole connection, bufferevent pointer included, is 32.
 */
struct conn {
	int32_t		c_next;		/* the worker's next, by fd; -1: none */
	int32_t		c_prev;		/* and its previous */
	uint32_t	c_max_pending;	/* max_pending_bytes */
	uint32_t	c_last_io;	/* engine_now_ms() mod 2^32, last byte */
	unsigned int	c_idle : 20;	/* idle_timeout, seconds; 0: none */
	unsigned int	c_mode : 2;	/* enum transform_mode */
	unsigned int	c_state : 3;	/* enum conn_state */
	unsigned int	c_eof : 1;	/* the client's end of input came */
	unsigned int	c_flags : 6;	/* the engine's own */
};

/* The table of connections, by descriptor. */
int	conn_table_init(size_t, char *, size_t);
size_t	conn_table_size(void);
struct conn *conn_at(int);
int	conn_fd(const struct conn *);

/* Admission. */
void	conn_init(struct conn *, const struct iod_conf *, int64_t);
int	conn_claim(const struct listener *, int);
void	conn_sockopts(const struct iod_conf *, int);
struct conn *conn_admit(struct worker *, const struct listener *, int,
	    int64_t);
int	conn_proxy(struct worker *, struct conn *, const char **);
int	conn_proxy_source(int, const struct proxy_header *, uint8_t [16]);
void	conn_refuse(struct worker *, struct conn *, enum stats_reject,
	    const char *);
void	conn_refuse_fd(int, const uint8_t [16], enum stats_reject,
	    const char *);

/* States and the rules of a live connection. */
void	conn_set_state(const struct worker *, struct conn *, enum conn_state);
const char *conn_state_name(enum conn_state);
void	conn_touch(struct conn *, int64_t);
int	conn_full(const struct conn *, size_t);
int	conn_drained(const struct conn *, size_t);
size_t	conn_resume_level(const struct conn *);
int64_t	conn_idle_left(const struct conn *, int64_t);

/* The end. */
int	conn_ending(const struct conn *);
int	conn_finish(const struct worker *, struct conn *);
int	conn_must_linger(int);
int	conn_unacked(int);
void	conn_release(struct worker *, struct conn *, const char *);
void	conn_closed(const struct worker *, int, const uint8_t [16],
	    const struct session *, const char *);
void	conn_moved_in(int, uint64_t);
void	conn_moved_out(int, uint64_t);

/* Every connection of a worker. */
void	conn_tick(struct worker *, int64_t);
void	conn_halt_all(struct worker *, enum conn_order);
size_t	conn_count(const struct worker *);

#endif
