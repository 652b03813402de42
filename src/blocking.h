/* The blocking model's shared parts: the acceptor and the connection loop. */
#ifndef IOD_BLOCKING_H
#define IOD_BLOCKING_H

/*
 * A connection's buffer, at most.  Less than ENGINE_IO_MAX: each
 * connection holds its own for its whole life, where the event engines
 * share one per worker.
 */
#define BLOCKING_BUF_MAX	(64 * 1024)

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "session.h"

struct access_rules;
struct iod_conf;
struct worker;

/*
 * How a connection ended.  A number rather than a string, so that a
 * forked child can say it in its exit status; blocking_reason() turns it
 * into words for the close line.
 */
enum blocking_end {
	BLOCKING_EOF,		/* the client shut down its side */
	BLOCKING_STOPPED,	/* told to drain, and drained */
	BLOCKING_DEADLINE,	/* told to end now */
	BLOCKING_IDLE,		/* idle_timeout */
	BLOCKING_REFUSED,	/* its PROXY header, or the source it named */
	BLOCKING_ERRNO = 64	/* plus errno: the socket failed */
};

/*
 * One connection: the core's part (its settings, its last byte), and
 * what its own flow of control needs.  Its links stay unused: the core
 * does not list these connections, their engines do.
 */
struct blocking_conn {
	struct conn		 bc_conn;
	int			 bc_fd;
	uint8_t			 bc_key[16];	/* its source: access.c */
	struct access_rules	*bc_rules;	/* PROXY header awaited */
	atomic_int		 bc_order;	/* enum conn_order */
	unsigned char		*bc_buf;
	size_t			 bc_buflen;	/* read at most this much */
	struct session		 bc_sess;	/* its life, for the record */
};

/*
 * What a blocking engine does with connections.  The acceptor calls every
 * one of these on the worker thread.
 */
struct blocking_model {
	/*
	 * Serve an admitted descriptor from source key (access.c), its
	 * session opened, or conn_refuse_fd() it.  With rules, its PROXY
	 * header is awaited first, and judged by them; the connection owns
	 * them.
	 */
	void	(*bm_serve)(void *, int, const uint8_t [16],
		    struct access_rules *, const struct iod_conf *,
		    const struct session *);
	/* The model's descriptor is readable: connections have ended. */
	void	(*bm_reap)(void *);
	/* Tell every connection CONN_DRAIN or CONN_CUT. */
	void	(*bm_halt)(void *, enum conn_order);
	/* Connections not yet reaped. */
	size_t	(*bm_count)(void *);
	/* Free the model's state; no connection is left. */
	void	(*bm_free)(void *);
	/* Connections served at once, at most; 0: no limit. */
	size_t	  bm_max;
};

/* The acceptor: the engine ops of every blocking engine. */
int	blocking_start(struct worker *, const struct blocking_model *,
	    void *, int, char *, size_t);
void	blocking_run(struct worker *);
void	blocking_stop(struct worker *);
void	blocking_listen(struct worker *);
void	blocking_unlisten(struct worker *);
void	blocking_halt_all(struct worker *, enum conn_order);
size_t	blocking_count(const struct worker *);

/* One connection. */
size_t	blocking_buflen(const struct iod_conf *);
void	blocking_init(struct blocking_conn *, int, const uint8_t [16],
	    struct access_rules *, const struct iod_conf *,
	    const struct session *, unsigned char *);
int	blocking_serve(struct blocking_conn *);
void	blocking_halt(struct blocking_conn *, enum conn_order);
const char *blocking_reason(int);

#endif
