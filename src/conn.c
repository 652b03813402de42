/*
 * The connection vocabulary: what every engine's connections have in
 * common, and every rule about them, written once.  An engine says how
 * its model waits, reads and writes, and calls these at the moments its
 * model defines: a descriptor accepted, a byte moved, output owed, the
 * end of input, a second gone by, a command from the supervisor.
 *
 * The rules, in the order a connection meets them:
 *  - admission: max_connections (conn_claim), then a slot in the table
 *    by descriptor and the settings of the moment, kept for the
 *    connection's life (conn_admit, conn_init): a reload changes what
 *    new connections get, never what established ones have;
 *  - backpressure: stop reading once max_pending_bytes are owed, start
 *    again once that has drained to half (conn_full, conn_drained), as
 *    libevent's le-proxy sample and OpenBSD's httpd do;
 *  - idle: no byte either way for idle_timeout ends the connection,
 *    judged on one millisecond clock (conn_idle_left, conn_tick);
 *  - the end: once everything owed is with the kernel, close, or shut
 *    down the sending side and linger when a close would reset the
 *    connection (conn_finish, conn_must_linger); and one release, with
 *    its log line and counters (conn_release, conn_closed).
 *
 * The table holds a slot for every descriptor the kernel could hand out
 * (fs.nr_open), each the size of the engine's connection rounded up to a
 * power of two, so a connection's descriptor is its slot's offset and a
 * connection costs no allocation of its own.  It is address space only:
 * MAP_NORESERVE, and a page is backed once a slot on it is used.  Every
 * worker shares it; a descriptor, and so its slot, belongs to one worker
 * at a time, and only that worker's thread touches the slot.  A worker
 * links its connections by descriptor (w_first, c_next, c_prev).
 *
 * Beside it, by descriptor too, what only some connections need, kept
 * out of struct conn, whose size the libevent engine's depends on: the
 * source (access.c), which a connection gives back to max_per_source's
 * count when it ends, and, while a connection waits for its PROXY
 * header, what has come of that (gate.c) and the rules it connected
 * under.
 *
 * The PROXY protocol: a connection to a proxy_protocol listener from a
 * source in proxy_trusted is admitted in state PROXY, with proxy_timeout
 * for its idle time.  The engine watches it for input as if it were
 * READING, and calls conn_proxy() when input comes instead of reading
 * itself, until the header is whole: then the source the header names
 * is judged by the rules in force when it connected (access.c), it
 * takes their idle_timeout and is READING, and whatever followed the
 * header is still in the socket for the engine to read.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <linux/sockios.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "cidr.h"
#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "gate.h"
#include "log.h"
#include "ratelimit.h"
#include "session.h"
#include "sources.h"
#include "stats.h"
#include "transform.h"
#include "worker.h"

/* fs.nr_open when /proc does not say: the kernel's default. */
#define CONN_NR_OPEN	(1024 * 1024)

_Static_assert(sizeof(struct conn) == 20, "struct conn grew");

static const char *const conn_state_names[] = {
	"reading", "paused", "proxy", "draining", "lingering", "closed"
};

static pthread_mutex_t	 conn_table_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char	*conn_slots;

/* What some connections have besides, by descriptor. */
struct conn_side {
	uint8_t		 cs_key[16];	/* its source: access.c */
	struct gate	*cs_gate;	/* its PROXY header so far, or NULL */
	struct access_rules *cs_rules;	/* and the rules it will meet */
	int64_t		 cs_paused_at;	/* engine_now_ms() it was PAUSED */
	struct session	 cs_sess;	/* its life, for the record */
};
static struct conn_side	*conn_sides;
static size_t		 conn_nslots;
static unsigned int	 conn_shift;	/* a slot is 1 << conn_shift bytes */

static struct ratelimit	 conn_rl_full = RATELIMIT_INITIALIZER(1);
static struct ratelimit	 conn_rl_refused = RATELIMIT_INITIALIZER(1);

static size_t	conn_nr_open(void);
static void	conn_link(struct worker *, struct conn *);
static void	conn_unlink(struct worker *, struct conn *);
static int	conn_reset(int);
static struct conn *conn_admit_proxied(struct worker *,
		    const struct listener *, int, int64_t);
static struct conn *conn_take(struct worker *, const struct listener *,
		    int, const uint8_t [16], int64_t);
static void	conn_side_free(struct conn_side *);

/*
 * Make the table for connections of size bytes, once per process; every
 * worker of the process serves the same engine.  Returns -1 and a cause
 * when the address space cannot be had.
 */
int
conn_table_init(size_t size, char *cause, size_t len)
{
	unsigned int	 shift = 0;
	size_t		 n;
	void		*p;
	int		 rc = 0;

	while (((size_t)1 << shift) < size)
		shift++;
	pthread_mutex_lock(&conn_table_lock);
	if (conn_slots != NULL) {
		if (shift > conn_shift) {
			snprintf(cause, len, "connection table made for %zu "
			    "bytes a slot, not %zu", (size_t)1 << conn_shift,
			    size);
			rc = -1;
		}
		goto out;
	}
	n = conn_nr_open();
	p = mmap(NULL, n << shift, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p != MAP_FAILED) {
		conn_sides = mmap(NULL, n * sizeof(*conn_sides),
		    PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (conn_sides == MAP_FAILED) {
			conn_sides = NULL;
			(void)munmap(p, n << shift);
			p = MAP_FAILED;
		}
	}
	if (p == MAP_FAILED) {
		snprintf(cause, len, "cannot map a connection table: %s",
		    strerror(errno));
		rc = -1;
		goto out;
	}
	conn_slots = p;
	conn_nslots = n;
	conn_shift = shift;
out:
	pthread_mutex_unlock(&conn_table_lock);
	return (rc);
}

/* The most descriptors a process could ever have: fs.nr_open. */
static size_t
conn_nr_open(void)
{
	FILE		*f;
	unsigned long	 n = CONN_NR_OPEN;

	if ((f = fopen("/proc/sys/fs/nr_open", "re")) != NULL) {
		if (fscanf(f, "%lu", &n) != 1)
			n = CONN_NR_OPEN;
		fclose(f);
	}
	return (n);
}

/* How many slots the table has: one per descriptor below fs.nr_open. */
size_t
conn_table_size(void)
{
	return (conn_nslots);
}

/* The slot of descriptor fd, which must be below fs.nr_open. */
struct conn *
conn_at(int fd)
{
	return ((struct conn *)(conn_slots + ((size_t)fd << conn_shift)));
}

/* The descriptor of the connection in slot c. */
int
conn_fd(const struct conn *c)
{
	return ((int)(((const unsigned char *)c - conn_slots) >> conn_shift));
}

/* Take the settings of conf for a connection admitted at now. */
void
conn_init(struct conn *c, const struct iod_conf *conf, int64_t now)
{
	c->c_max_pending = (uint32_t)conf->max_pending_bytes;
	c->c_idle = (unsigned int)conf->idle_timeout;
	c->c_mode = conf->mode;
	c->c_state = CONN_READING;
	c->c_eof = 0;
	c->c_flags = 0;
	conn_touch(c, now);
}

/*
 * Claim a place under max_connections for a descriptor just accepted on
 * l (NULL: a listener the configuration does not name).
 * Over the limit, close it at once without a byte written (any byte
 * would read as an echo), count it and say so at most once a second,
 * naming the limit in force; return -1.
 */
int
conn_claim(const struct listener *l, int fd)
{
	unsigned long	n;

	if (stats_admit(l != NULL ? l->l_stats : -1))
		return (0);
	close(fd);
	if (ratelimit_allow(&conn_rl_full, &n))
		log_warnx("max_connections (%llu) reached: rejected %lu "
		    "connections", (unsigned long long)stats_limit(), n);
	return (-1);
}

/* TCP_NODELAY always (replies are small and immediate); keepalive if set. */
void
conn_sockopts(const struct iod_conf *conf, int fd)
{
	int	on = 1, idle = conf->tcp_keepalive;

	/* Both fail harmlessly on unix sockets. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (idle > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
		    sizeof(idle));
	}
}

/*
 * Admit a descriptor just accepted from listener l (NULL: one the
 * configuration does not name) to worker w, with the worker's settings
 * of the moment: who may connect (access_admit), max_connections, then
 * a zeroed slot the size of the engine's connection, at the head of the
 * worker's list.  NULL when it was closed instead.
 */
struct conn *
conn_admit(struct worker *w, const struct listener *l, int fd, int64_t now)
{
	uint8_t	key[16];

	if (l != NULL && l->l_opts != NULL && l->l_opts->cl_proxy)
		return (conn_admit_proxied(w, l, fd, now));
	if (access_admit(w->w_conf, l, fd, key) == -1)
		return (NULL);
	if (conn_claim(l, fd) == -1) {
		sources_release(key);
		return (NULL);
	}
	return (conn_take(w, l, fd, key, now));
}

/*
 * Admit a descriptor from a proxy_protocol listener, if its peer may
 * send a PROXY header, in state PROXY until the header has come
 * (conn_proxy); its source is not known yet, and counts against none.
 */
static struct conn *
conn_admit_proxied(struct worker *w, const struct listener *l, int fd,
    int64_t now)
{
	static const uint8_t	 none[16];
	struct conn		*c;
	struct gate		*g;
	struct access_rules	*ar;
	uint8_t			 key[16];

	if (!access_trusted(w->w_conf, fd, key)) {
		access_refuse(fd, STATS_PROXY_UNTRUSTED, key);
		return (NULL);
	}
	if (conn_claim(l, fd) == -1)
		return (NULL);
	g = gate_new();
	ar = access_rules_new(w->w_conf, l->l_opts);
	if (g == NULL || ar == NULL) {
		gate_free(g);
		access_rules_free(ar);
		conn_refuse_fd(fd, none, STATS_REJ_NO_MEMORY, "out of memory");
		return (NULL);
	}
	if ((c = conn_take(w, l, fd, none, now)) == NULL) {
		gate_free(g);
		access_rules_free(ar);
		return (NULL);
	}
	conn_sides[fd].cs_gate = g;
	conn_sides[fd].cs_rules = ar;
	c->c_idle = (unsigned int)w->w_conf->proxy_timeout;
	conn_set_state(w, c, CONN_PROXY);
	return (c);
}

/*
 * Give descriptor fd, admitted on l from source key, its slot: zeroed,
 * the size of the engine's connection, with the settings of the moment,
 * at the head of w's list, and its session opened.  NULL when it was
 * closed instead.
 */
static struct conn *
conn_take(struct worker *w, const struct listener *l, int fd,
    const uint8_t key[16], int64_t now)
{
	struct conn	*c;

	if ((size_t)fd >= conn_nslots) {
		conn_refuse_fd(fd, key, STATS_REJ_FD_LIMIT,
		    "descriptor above fs.nr_open");
		return (NULL);
	}
	memcpy(conn_sides[fd].cs_key, key, sizeof(conn_sides[fd].cs_key));
	conn_sides[fd].cs_gate = NULL;
	conn_sides[fd].cs_rules = NULL;
	session_open(&conn_sides[fd].cs_sess, fd, l, w->w_conf->access_log);
	c = conn_at(fd);
	memset(c, 0, (size_t)1 << conn_shift);
	conn_init(c, w->w_conf, now);
	conn_link(w, c);
	conn_sockopts(w->w_conf, fd);
	return (c);
}

/*
 * Input has come for c, in state PROXY: read what there is of its
 * header.  Return 0 to wait for more, 1 when the header is whole and c
 * is READING (what followed the header is in the socket, to be read at
 * once), or -1 when c is refused, with why: the engine closes it.
 */
int
conn_proxy(struct worker *w, struct conn *c, const char **why)
{
	struct proxy_header	 ph;
	struct conn_side	*cs = &conn_sides[conn_fd(c)];
	char			 detail[128];
	int			 fd = conn_fd(c), refusal;

	switch (gate_read(cs->cs_gate, fd, &ph, detail, sizeof(detail))) {
	case PROXY_MORE:
		return (0);
	case PROXY_ERROR:
		(void)access_source(fd, cs->cs_key);
		access_count(STATS_PROXY_BAD, cs->cs_key, detail);
		memset(cs->cs_key, 0, sizeof(cs->cs_key));
		*why = "bad PROXY header";
		return (-1);
	case PROXY_DONE:
		break;
	}
	(void)conn_proxy_source(fd, &ph, cs->cs_key);
	if (!ph.ph_local)
		session_peer(&cs->cs_sess, (struct sockaddr *)&ph.ph_src,
		    ph.ph_srclen);
	refusal = access_rules_judge(cs->cs_rules, cs->cs_key,
	    ph.ph_local);
	c->c_idle = (unsigned int)cs->cs_rules->ar_idle_timeout;
	conn_side_free(cs);
	if (refusal != ACCESS_OK) {
		access_count(refusal, cs->cs_key, NULL);
		memset(cs->cs_key, 0, sizeof(cs->cs_key));
		*why = "refused after its PROXY header";
		return (-1);
	}
	conn_touch(c, engine_now_ms());
	conn_set_state(w, c, CONN_READING);
	return (1);
}

/*
 * The source a PROXY header gives, in key: the client it names, or the
 * connection's own peer for LOCAL (a balancer's health check; proxy.c
 * takes an unspecified family or transport for LOCAL too).  A unix
 * source has no address: -1, and a zero key.
 */
int
conn_proxy_source(int fd, const struct proxy_header *ph, uint8_t key[16])
{
	memset(key, 0, 16);
	if (ph->ph_local)
		return (access_source(fd, key));
	if (cidr_key((const struct sockaddr *)&ph->ph_src, ph->ph_srclen,
	    key) == -1) {
		memset(key, 0, 16);
		return (-1);
	}
	return (0);
}

/* Free what a connection waiting for its PROXY header holds, if any. */
static void
conn_side_free(struct conn_side *cs)
{
	gate_free(cs->cs_gate);
	access_rules_free(cs->cs_rules);
	cs->cs_gate = NULL;
	cs->cs_rules = NULL;
}

/*
 * Close an admitted connection the engine cannot serve, count it under
 * reason, and say why.
 */
void
conn_refuse(struct worker *w, struct conn *c, enum stats_reject reason,
    const char *why)
{
	struct conn_side	*cs = &conn_sides[conn_fd(c)];

	conn_unlink(w, c);
	conn_side_free(cs);
	conn_refuse_fd(conn_fd(c), cs->cs_key, reason, why);
}

/*
 * Close an admitted descriptor, from source key, that cannot be served,
 * count it under reason, and say why.
 */
void
conn_refuse_fd(int fd, const uint8_t key[16], enum stats_reject reason,
    const char *why)
{
	unsigned long	n;

	sources_release(key);
	close(fd);
	stats_release();
	stats_count_reject(reason);
	if (ratelimit_allow(&conn_rl_refused, &n))
		log_warnx("refused %lu connections: %s", n, why);
}

/* Put c at the head of w's connections. */
static void
conn_link(struct worker *w, struct conn *c)
{
	int	fd = conn_fd(c);

	c->c_prev = -1;
	c->c_next = w->w_first;
	if (w->w_first != -1)
		conn_at(w->w_first)->c_prev = fd;
	w->w_first = fd;
	w->w_nconns++;
}

/* Take c out of w's connections. */
static void
conn_unlink(struct worker *w, struct conn *c)
{
	if (c->c_prev != -1)
		conn_at(c->c_prev)->c_next = c->c_next;
	else
		w->w_first = c->c_next;
	if (c->c_next != -1)
		conn_at(c->c_next)->c_prev = c->c_prev;
	w->w_nconns--;
}

/*
 * The one place a connection changes state, and so the one place a
 * backpressure pause is counted, with how long it lasted.
 */
void
conn_set_state(const struct worker *w, struct conn *c, enum conn_state state)
{
	struct conn_side	*cs = &conn_sides[conn_fd(c)];
	int64_t			 now;

	log_debug("worker %d: fd %d: %s -> %s", w->w_id, conn_fd(c),
	    conn_state_names[c->c_state], conn_state_names[state]);
	if (state == CONN_PAUSED && c->c_state != CONN_PAUSED) {
		stats_count_pause();
		cs->cs_paused_at = engine_now_ms();
	} else if (state != CONN_PAUSED && c->c_state == CONN_PAUSED) {
		now = engine_now_ms();
		if (now > cs->cs_paused_at)
			stats_add_paused((uint64_t)(now - cs->cs_paused_at));
	}
	c->c_state = state;
}

/* The name of a state, for log lines. */
const char *
conn_state_name(enum conn_state state)
{
	return (conn_state_names[state]);
}

/* A byte moved at now. */
void
conn_touch(struct conn *c, int64_t now)
{
	c->c_last_io = (uint32_t)now;
}

/* Stop reading from a client once it is owed max_pending_bytes... */
int
conn_full(const struct conn *c, size_t owed)
{
	return (owed >= c->c_max_pending);
}

/* ...and start again once that has drained to half. */
int
conn_drained(const struct conn *c, size_t owed)
{
	return (owed <= conn_resume_level(c));
}

/* The most a paused connection may owe and read again. */
size_t
conn_resume_level(const struct conn *c)
{
	return (c->c_max_pending / 2);
}

/*
 * Milliseconds until idle_timeout ends c if no byte moves, at now: 0 when
 * it has, -1 when c has no idle_timeout.  The clock is engine_now_ms(),
 * kept modulo 2^32: the difference is right for 49 days, and
 * idle_timeout is at most 7.
 */
int64_t
conn_idle_left(const struct conn *c, int64_t now)
{
	uint32_t	idle = (uint32_t)c->c_idle * 1000;
	uint32_t	quiet = (uint32_t)now - c->c_last_io;

	if (idle == 0)
		return (-1);
	return (quiet >= idle ? 0 : (int64_t)(idle - quiet));
}

/* Has c stopped reading for good: draining, lingering or closed? */
int
conn_ending(const struct conn *c)
{
	return (c->c_state >= CONN_DRAINING);
}

/*
 * Everything owed to c is with the kernel: decide how it ends.  Return 0
 * when it may close now.  Otherwise its sending side has been shut down
 * and it is LINGERING: the engine reads and discards until the client's
 * end of input, and conn_tick() closes it once nothing is left to lose.
 */
int
conn_finish(const struct worker *w, struct conn *c)
{
	int	fd = conn_fd(c);

	if (c->c_eof || !conn_must_linger(fd) || shutdown(fd, SHUT_WR) == -1)
		return (0);
	conn_set_state(w, c, CONN_LINGERING);
	return (1);
}

/*
 * Would closing fd now lose data or end in a reset?  A close with unread
 * input makes the kernel send a reset, and so does input that arrives
 * after the close; a reset destroys whatever the client has not yet
 * acknowledged, and the client sees an error where it expected the end
 * of input.  So with unread input or unacknowledged output, the caller
 * shuts down its sending side instead, reads and discards until the
 * client's end of input (or the shutdown deadline), and closes then.
 * A connection the client has reset loses nothing by a close.
 */
int
conn_must_linger(int fd)
{
	int	unread = 0;

	if (ioctl(fd, SIOCINQ, &unread) == -1)
		return (0);
	if (unread == 0)
		return (conn_unacked(fd) > 0);
	return (!conn_reset(fd));
}

/*
 * Bytes written to fd that the client has not acknowledged yet.  SIOCOUTQ
 * alone is not enough: after a reset the kernel goes on counting what was
 * never acknowledged, though none of it can reach the client any more,
 * and a drain that waited for it to fall would wait until its deadline.
 */
int
conn_unacked(int fd)
{
	int	unacked = 0;

	if (ioctl(fd, SIOCOUTQ, &unacked) == -1 || unacked <= 0 ||
	    conn_reset(fd))
		return (0);
	return (unacked);
}

/*
 * Has fd's connection been reset (or closed for good) in the kernel?  Not
 * TCP (a unix socket): no, and what its queues say stands.
 */
static int
conn_reset(int fd)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return (0);
	return (ti.tcpi_state == TCP_CLOSE);
}

/*
 * The one way a connection in the table ends: out of its worker's list,
 * CLOSED, its line logged and its place under max_connections given
 * back.  The engine then frees what it holds and closes the descriptor
 * last, touching the slot no more: whichever worker gets the number next
 * may take the slot at once.
 */
void
conn_release(struct worker *w, struct conn *c, const char *why)
{
	struct conn_side	*cs = &conn_sides[conn_fd(c)];

	conn_unlink(w, c);
	conn_set_state(w, c, CONN_CLOSED);
	conn_side_free(cs);
	conn_closed(w, conn_fd(c), cs->cs_key, &cs->cs_sess, why);
}

/*
 * A connection of w's, from source key, has ended, for why: the one
 * close line, counted by reason, its session ended (histograms, the
 * access log) and its place under max_per_source given back.
 */
void
conn_closed(const struct worker *w, int fd, const uint8_t key[16],
    const struct session *sess, const char *why)
{
	enum stats_close	reason = session_reason(why, w->w_stopping);

	log_debug("worker %d: closing fd %d: %s", w->w_id, fd, why);
	sources_release(key);
	/*
	 * In this order, so that whoever reads a close in the counters
	 * finds the connection gone from the active count and its session
	 * in the histograms.
	 */
	stats_release();
	session_end(w, sess, reason);
	stats_count_close(reason);
}

/* Bytes read from fd's client, for the counters and its session. */
void
conn_moved_in(int fd, uint64_t n)
{
	conn_sides[fd].cs_sess.s_in += n;
	stats_add_in(n);
}

/* Bytes written to fd's client, for the counters and its session. */
void
conn_moved_out(int fd, uint64_t n)
{
	conn_sides[fd].cs_sess.s_out += n;
	stats_add_out(n);
}

/*
 * Once every ENGINE_TICK_MS: close w's connections that have been idle
 * for their idle_timeout, and lingering ones that have nothing left to
 * lose.  A connection is closed up to a tick late, never early.
 */
void
conn_tick(struct worker *w, int64_t now)
{
	const struct engine	*e = w->w_ops;
	struct conn		*c;
	int			 fd, next;

	for (fd = w->w_first; fd != -1; fd = next) {
		c = conn_at(fd);
		next = c->c_next;
		if (c->c_state == CONN_LINGERING && !conn_must_linger(fd)) {
			e->close(w, c, "drained");
			continue;
		}
		if (c->c_idle == 0)
			continue;
		if (e->sync != NULL)
			e->sync(c);
		if (conn_idle_left(c, now) != 0)
			continue;
		if (c->c_state == CONN_PROXY) {
			(void)access_source(fd, conn_sides[fd].cs_key);
			access_count(STATS_PROXY_TIMEOUT,
			    conn_sides[fd].cs_key, NULL);
			memset(conn_sides[fd].cs_key, 0, 16);
			e->close(w, c, "no PROXY header in time");
			continue;
		}
		e->close(w, c, "idle timeout");
	}
}

/* Tell every connection of w to drain, or close them all now. */
void
conn_halt_all(struct worker *w, enum conn_order order)
{
	const struct engine	*e = w->w_ops;
	int			 fd, next;

	if (e->halt != NULL) {
		e->halt(w, order);
		return;
	}
	for (fd = w->w_first; fd != -1; fd = next) {
		next = conn_at(fd)->c_next;
		if (order == CONN_DRAIN)
			e->drain(w, conn_at(fd), "shutdown");
		else if (order == CONN_CUT)
			e->close(w, conn_at(fd), "shutdown deadline");
	}
}

/* How many connections w holds. */
size_t
conn_count(const struct worker *w)
{
	if (w->w_ops->halt != NULL)
		return (w->w_ops->count(w));
	return (w->w_nconns);
}
