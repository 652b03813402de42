/*
 * The connection path of the hand-written engines, driven by a recorded
 * sequence of events decoded from the input: reads of the client's bytes,
 * sends that the socket takes in part, the client's end of input, time
 * passing, a drain order.  It runs the engine's steps (engine_poller.c:
 * transform what was read, send what the socket takes, keep the rest in
 * the outbuf, pause at max_pending_bytes and resume at half, end when
 * drained or idle) over the real outbuf, conn and transform code, and
 * checks them against a model that is just the list of bytes owed:
 * nothing lost, duplicated or reordered, the bound on what is held kept,
 * no read while paused, and idle time counted on one clock.
 */
#include <string.h>

#include "conf.h"
#include "conn.h"
#include "engine.h"
#include "fuzz.h"
#include "outbuf.h"
#include "transform.h"

#define READ_MAX	(ENGINE_IO_MAX < 16384 ? ENGINE_IO_MAX : 16384)
#define WANT_MAX	(4 << 20)	/* bytes through one connection, at most */

/* The events, one input byte each, with the parameters that follow. */
enum event {
	EV_READ,		/* length and pattern bytes: the client's bytes */
	EV_WRITABLE,		/* two bytes: how much the socket takes */
	EV_END,			/* the client's end of input, or shutdown */
	EV_TICK,		/* two bytes: milliseconds pass */
	EV_COUNT
};

/* The input, consumed from the front. */
struct input {
	const uint8_t	*in_p;
	size_t		 in_len;
};

/* One connection, its engine's part, and the model of what it owes. */
struct sim {
	struct conn	 s_conn;
	struct outbuf	 s_out;
	int64_t		 s_now;
	int		 s_closed;	/* 1: ended; 2: ended by idle_timeout */
	unsigned char	*s_want;	/* every byte the client is owed */
	size_t		 s_wantlen;
	size_t		 s_sent;	/* of those, how many were sent */
	size_t		 s_maxread;	/* the largest single read */
};

static struct iod_conf	 fuzz_conf;
static unsigned char	 fuzz_want[WANT_MAX];

static unsigned int	 take_byte(struct input *);
static unsigned int	 take_u16(struct input *);
static size_t		 socket_takes(struct sim *, const unsigned char *,
			    size_t, size_t);
static void		 sim_read(struct sim *, struct input *);
static void		 sim_writable(struct sim *, size_t);
static void		 sim_end(struct sim *);
static void		 sim_tick(struct sim *, unsigned int);
static void		 sim_check(const struct sim *);

/* Take one byte of the input; 0 once it is used up. */
static unsigned int
take_byte(struct input *in)
{
	if (in->in_len == 0)
		return (0);
	in->in_len--;
	return (*in->in_p++);
}

/* Take two bytes as a number. */
static unsigned int
take_u16(struct input *in)
{
	unsigned int	hi = take_byte(in);

	return (hi << 8 | take_byte(in));
}

/*
 * The socket takes up to room of the n bytes at p: they reach the client,
 * and must be exactly the next bytes it is owed.
 */
static size_t
socket_takes(struct sim *s, const unsigned char *p, size_t n, size_t room)
{
	if (room > n)
		room = n;
	FUZZ_CHECK(s->s_sent + room <= s->s_wantlen, "%zu bytes sent, %zu "
	    "owed", s->s_sent + room, s->s_wantlen);
	FUZZ_CHECK(room == 0 || memcmp(p, s->s_want + s->s_sent, room) == 0,
	    "bytes %zu to %zu are not the ones owed", s->s_sent,
	    s->s_sent + room);
	s->s_sent += room;
	return (room);
}

/*
 * The client's bytes arrive and the engine reads them, if it reads.  So
 * that a short input can move many bytes, a read is a length and a few
 * pattern bytes, repeated and mixed with the position in the stream (a
 * byte lost, doubled or moved then shows).
 */
static void
sim_read(struct sim *s, struct input *in)
{
	struct conn	*c = &s->s_conn;
	unsigned char	 buf[READ_MAX], pat[4];
	size_t		 n, i, k, sent = 0;

	n = (take_u16(in) & (READ_MAX - 1)) + 1;
	k = take_byte(in) % sizeof(pat) + 1;
	for (i = 0; i < k; i++)
		pat[i] = take_byte(in);
	if (c->c_state != CONN_READING || s->s_wantlen + n > WANT_MAX)
		return;
	for (i = 0; i < n; i++)
		buf[i] = pat[i % k] + (unsigned char)((s->s_wantlen + i) / k);
	/* The model: the client is owed these bytes, upper-cased or not. */
	for (i = 0; i < n; i++)
		s->s_want[s->s_wantlen + i] = c->c_mode == TRANSFORM_UPPER &&
		    buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
	s->s_wantlen += n;
	if (n > s->s_maxread)
		s->s_maxread = n;
	conn_touch(c, s->s_now);
	transform_apply(c->c_mode, buf, n);
	if (outbuf_pending(&s->s_out) == 0)
		sent = socket_takes(s, buf, n, take_byte(in) * 8);
	FUZZ_CHECK(outbuf_append(&s->s_out, buf + sent, n - sent) == 0,
	    "out of memory");
	if (conn_full(c, outbuf_pending(&s->s_out)))
		c->c_state = CONN_PAUSED;
}

/* The socket can take room bytes: send what is owed. */
static void
sim_writable(struct sim *s, size_t room)
{
	struct conn		*c = &s->s_conn;
	const unsigned char	*p;
	size_t			 len, n;

	if ((p = outbuf_peek(&s->s_out, &len)) != NULL) {
		n = socket_takes(s, p, len, room);
		if (n > 0)
			conn_touch(c, s->s_now);
		outbuf_consume(&s->s_out, n);
	} else
		FUZZ_CHECK(len == 0, "nothing to peek, yet %zu owed", len);
	if (c->c_state == CONN_DRAINING && outbuf_pending(&s->s_out) == 0)
		s->s_closed = 1;
	if (c->c_state == CONN_PAUSED &&
	    conn_drained(c, outbuf_pending(&s->s_out)))
		c->c_state = CONN_READING;
}

/* The client's end of input, or a drain order: read no more. */
static void
sim_end(struct sim *s)
{
	if (conn_ending(&s->s_conn))
		return;
	s->s_conn.c_state = CONN_DRAINING;
	if (outbuf_pending(&s->s_out) == 0)
		s->s_closed = 1;
}

/* Time passes; an idle connection ends, whatever it owes. */
static void
sim_tick(struct sim *s, unsigned int ms)
{
	int64_t	left;

	s->s_now += ms;
	left = conn_idle_left(&s->s_conn, s->s_now);
	if (s->s_conn.c_idle == 0) {
		FUZZ_CHECK(left == -1, "no idle_timeout, yet %lld ms left",
		    (long long)left);
		return;
	}
	FUZZ_CHECK(left >= 0 && left <= (int64_t)s->s_conn.c_idle * 1000,
	    "%lld ms left of %u s", (long long)left, s->s_conn.c_idle);
	if (left == 0)
		s->s_closed = 2;
}

/* What the engine holds is what the model says is owed, and no more. */
static void
sim_check(const struct sim *s)
{
	const struct conn	*c = &s->s_conn;
	const unsigned char	*p;
	size_t			 len, owed = s->s_wantlen - s->s_sent;

	p = outbuf_peek(&s->s_out, &len);
	FUZZ_CHECK(len == owed && outbuf_pending(&s->s_out) == owed,
	    "outbuf holds %zu, %zu owed", len, owed);
	FUZZ_CHECK(owed == 0 || memcmp(p, s->s_want + s->s_sent, owed) == 0,
	    "outbuf holds other bytes than those owed");
	FUZZ_CHECK(owed < c->c_max_pending + s->s_maxread, "%zu owed, limit "
	    "%u", owed, c->c_max_pending);
	if (c->c_state == CONN_PAUSED)
		FUZZ_CHECK(owed > conn_resume_level(c), "paused at %zu", owed);
	if (c->c_state == CONN_READING)
		FUZZ_CHECK(!conn_full(c, owed), "reading at %zu", owed);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	conf_defaults(&fuzz_conf);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct input	in = { data, len };
	struct iod_conf	conf = fuzz_conf;
	struct sim	s;

	memset(&s, 0, sizeof(s));
	conf.mode = take_byte(&in) & 1 ? TRANSFORM_ECHO : TRANSFORM_UPPER;
	conf.max_pending_bytes = 1024 + (take_u16(&in) & 0x3fff);
	conf.idle_timeout = take_byte(&in) % 4;
	s.s_now = (int64_t)take_u16(&in) << 20;
	s.s_want = fuzz_want;
	conn_init(&s.s_conn, &conf, s.s_now);
	while (in.in_len > 0 && !s.s_closed) {
		switch (take_byte(&in) % EV_COUNT) {
		case EV_READ:
			sim_read(&s, &in);
			break;
		case EV_WRITABLE:
			sim_writable(&s, take_u16(&in));
			break;
		case EV_END:
			sim_end(&s);
			break;
		case EV_TICK:
			sim_tick(&s, take_u16(&in));
			break;
		}
		sim_check(&s);
	}
	/* Unless idle ended it, a connection's every byte gets out. */
	if (s.s_closed != 2) {
		sim_writable(&s, SIZE_MAX);
		sim_check(&s);
		FUZZ_CHECK(s.s_sent == s.s_wantlen, "%zu of %zu bytes sent",
		    s.s_sent, s.s_wantlen);
	}
	outbuf_free(&s.s_out);
	return (0);
}
