/*
 * The PROXY protocol header that a balancer sends before its client's
 * bytes, read from a connection as it arrives, for every engine.
 *
 * Not a byte past the header is taken from the socket: what follows it
 * is the client's, and stays in the kernel for the engine to read as if
 * nothing came before.  So each step peeks at what has arrived and asks
 * the parser (proxy.c) about everything so far.  A whole header: take
 * exactly its bytes.  A valid beginning (PROXY_MORE): every byte seen is
 * the header's, so take them all, which also stops a level-triggered
 * poller from reporting the same bytes again and again.  Anything else:
 * PROXY_ERROR, with the parser's reason.
 *
 * What was taken is kept here, in a buffer that grows as the header
 * does, up to the longest a header may be (PROXY_V2_MAX): most headers
 * come whole in one segment, and then the buffer is never grown past its
 * first size.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "gate.h"
#include "proxy.h"

#define GATE_FIRST	256	/* the buffer's first size: any v1 header */

struct gate {
	unsigned char	*g_buf;
	size_t		 g_size;
	size_t		 g_len;		/* the header's bytes taken so far */
};

static int	gate_room(struct gate *);
static enum proxy_status gate_step(struct gate *, int, struct proxy_header *,
		    char *, size_t, int *);
static enum proxy_status gate_fail(char *, size_t, const char *, int);

/* A gate for a new connection; NULL when out of memory. */
struct gate *
gate_new(void)
{
	return (calloc(1, sizeof(struct gate)));
}

/* Free a gate; NULL is fine. */
void
gate_free(struct gate *g)
{
	if (g == NULL)
		return;
	free(g->g_buf);
	free(g);
}

/*
 * Read what fd has of its header, without waiting.  PROXY_DONE fills ph
 * and leaves in the socket what came after the header; PROXY_MORE: wait
 * until fd is readable and call again; PROXY_ERROR: why says what is
 * wrong, including a connection that ended or failed before its header
 * did.
 */
enum proxy_status
gate_read(struct gate *g, int fd, struct proxy_header *ph, char *why,
    size_t len)
{
	enum proxy_status	st;
	int			again;

	/* Each step that goes again has taken a byte: at most PROXY_V2_MAX. */
	do
		st = gate_step(g, fd, ph, why, len, &again);
	while (st == PROXY_MORE && again);
	return (st);
}

/*
 * Read fd's header, waiting for it until deadline (engine_now_ms()), for
 * engines whose connections block.  The wait for a byte is poll()'s, so
 * it ends early when the connection is shut down from outside.
 */
enum proxy_status
gate_wait(struct gate *g, int fd, int64_t deadline, struct proxy_header *ph,
    char *why, size_t len)
{
	struct pollfd		pfd;
	enum proxy_status	st;
	int64_t			left;

	for (;;) {
		if ((st = gate_read(g, fd, ph, why, len)) != PROXY_MORE)
			return (st);
		if ((left = deadline - engine_now_ms()) <= 0)
			return (gate_fail(why, len, "no whole PROXY header "
			    "in time", 0));
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) == -1 &&
		    errno != EINTR)
			return (gate_fail(why, len, "poll", errno));
	}
}

/*
 * One peek at fd and what the parser says of everything so far; take the
 * header's bytes.  *again is set when the bytes taken may not have been
 * all that has arrived.
 */
static enum proxy_status
gate_step(struct gate *g, int fd, struct proxy_header *ph, char *why,
    size_t len, int *again)
{
	enum proxy_status	st;
	ssize_t			n;
	size_t			take;

	*again = 0;
	if (g->g_len >= PROXY_V2_MAX)
		return (gate_fail(why, len, "longer than any PROXY header",
		    0));
	if (gate_room(g) == -1)
		return (gate_fail(why, len, "out of memory", 0));
	n = recv(fd, g->g_buf + g->g_len, g->g_size - g->g_len,
	    MSG_PEEK | MSG_DONTWAIT);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (PROXY_MORE);
		return (gate_fail(why, len, NULL, errno));
	}
	if (n == 0)
		return (gate_fail(why, len, g->g_len == 0 ? "closed before "
		    "a PROXY header" : "closed inside its PROXY header", 0));
	if ((st = proxy_parse(g->g_buf, g->g_len + (size_t)n, ph, why,
	    len)) == PROXY_ERROR)
		return (st);
	take = st == PROXY_DONE ? ph->ph_len - g->g_len : (size_t)n;
	if (recv(fd, g->g_buf + g->g_len, take, MSG_DONTWAIT) !=
	    (ssize_t)take)
		return (gate_fail(why, len, "cannot take the PROXY header",
		    errno));
	g->g_len += take;
	*again = st == PROXY_MORE;
	return (st);
}

/* Make room for more of the header; -1 when out of memory. */
static int
gate_room(struct gate *g)
{
	size_t		 size;
	unsigned char	*p;

	if (g->g_len < g->g_size)
		return (0);
	size = g->g_size == 0 ? GATE_FIRST : 2 * g->g_size;
	if (size > PROXY_V2_MAX)
		size = PROXY_V2_MAX;
	if ((p = realloc(g->g_buf, size)) == NULL)
		return (-1);
	g->g_buf = p;
	g->g_size = size;
	return (0);
}

/* Say why in why, with error's text when error is not 0; PROXY_ERROR. */
static enum proxy_status
gate_fail(char *why, size_t len, const char *what, int error)
{
	if (what != NULL && error != 0)
		snprintf(why, len, "%s: %s", what, strerror(error));
	else if (what != NULL)
		snprintf(why, len, "%s", what);
	else
		snprintf(why, len, "%s", strerror(error));
	return (PROXY_ERROR);
}
