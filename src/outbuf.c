/*
 * The output a hand-written engine owes one client.  Engines write
 * straight from their read buffer and keep here only what the socket did
 * not take, so most connections never allocate: an idle or keeping-up
 * client costs no buffer at all.
 */
#include <stdlib.h>
#include <string.h>

#include "outbuf.h"

#define OUTBUF_MIN	4096

/* Keep n more bytes; return -1 (and keep nothing) when memory runs out. */
int
outbuf_append(struct outbuf *ob, const void *p, size_t n)
{
	unsigned char	*data;
	size_t		 cap;

	if (n == 0)
		return (0);
	if (ob->ob_off > 0 && ob->ob_off + ob->ob_len + n > ob->ob_cap) {
		memmove(ob->ob_data, ob->ob_data + ob->ob_off, ob->ob_len);
		ob->ob_off = 0;
	}
	if (ob->ob_len + n > ob->ob_cap) {
		cap = ob->ob_cap > 0 ? ob->ob_cap : OUTBUF_MIN;
		while (cap < ob->ob_len + n)
			cap *= 2;
		if ((data = realloc(ob->ob_data, cap)) == NULL)
			return (-1);
		ob->ob_data = data;
		ob->ob_cap = cap;
	}
	memcpy(ob->ob_data + ob->ob_off + ob->ob_len, p, n);
	ob->ob_len += n;
	return (0);
}

/* Return the bytes owed, and their number in *len. */
const unsigned char *
outbuf_peek(const struct outbuf *ob, size_t *len)
{
	*len = ob->ob_len;
	return (ob->ob_data == NULL ? NULL : ob->ob_data + ob->ob_off);
}

/* Forget n bytes that were written; free the storage once none are owed. */
void
outbuf_consume(struct outbuf *ob, size_t n)
{
	ob->ob_off += n;
	ob->ob_len -= n;
	if (ob->ob_len == 0)
		outbuf_free(ob);
}

/* Return how many bytes are owed. */
size_t
outbuf_pending(const struct outbuf *ob)
{
	return (ob->ob_len);
}

/* Drop everything. */
void
outbuf_free(struct outbuf *ob)
{
	free(ob->ob_data);
	memset(ob, 0, sizeof(*ob));
}
