/*
 * transform_apply against a byte-at-a-time reference, in both modes, on
 * any bytes at any alignment: the first input byte picks the mode and
 * the offset of the range in its buffer, the rest are the data.  Bytes
 * around the range must stay as they were.
 */
#include <string.h>

#include "fuzz.h"
#include "transform.h"

#define GUARD	16	/* bytes kept on each side of the range */

static unsigned char	ref_byte(enum transform_mode, unsigned char);

/* The specification, one byte at a time. */
static unsigned char
ref_byte(enum transform_mode mode, unsigned char c)
{
	if (mode == TRANSFORM_UPPER && c >= 'a' && c <= 'z')
		return (c - 'a' + 'A');
	return (c);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	enum transform_mode	 mode;
	unsigned char		*buf, fill;
	size_t			 off, n, i, size;

	if (len == 0)
		return (0);
	mode = data[0] & 1 ? TRANSFORM_ECHO : TRANSFORM_UPPER;
	off = GUARD + (data[0] >> 1 & 7);
	fill = data[0] & 0x10 ? 'a' : 0x5a;
	n = len - 1;
	size = off + n + GUARD;
	if ((buf = malloc(size)) == NULL)
		abort();
	memset(buf, fill, size);
	memcpy(buf + off, data + 1, n);
	transform_apply(mode, buf + off, n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(buf[off + i] == ref_byte(mode, data[1 + i]),
		    "mode %d, byte %zu of %zu: 0x%02x became 0x%02x", mode, i,
		    n, data[1 + i], buf[off + i]);
	for (i = 0; i < off; i++)
		FUZZ_CHECK(buf[i] == fill, "byte %zu before the range", off - i);
	for (i = off + n; i < size; i++)
		FUZZ_CHECK(buf[i] == fill, "byte %zu after the range",
		    i - off - n);
	/* transform_upper is the upper mode, called directly. */
	memcpy(buf + off, data + 1, n);
	transform_upper(buf + off, n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(buf[off + i] == ref_byte(TRANSFORM_UPPER,
		    data[1 + i]), "upper, byte %zu of %zu", i, n);
	free(buf);
	return (0);
}
