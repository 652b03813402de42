/* Output owed to one client, for the engines that manage their own. */
#ifndef IOD_OUTBUF_H
#define IOD_OUTBUF_H

#include <stddef.h>

/* Empty costs nothing: the storage exists only while bytes are owed. */
struct outbuf {
	unsigned char	*ob_data;
	size_t		 ob_off;	/* first byte not yet written */
	size_t		 ob_len;	/* bytes owed, from ob_off */
	size_t		 ob_cap;
};

/* Storing and taking bytes. */
int	outbuf_append(struct outbuf *, const void *, size_t);
const unsigned char *outbuf_peek(const struct outbuf *, size_t *);
void	outbuf_consume(struct outbuf *, size_t);
size_t	outbuf_pending(const struct outbuf *);
void	outbuf_free(struct outbuf *);

#endif
