/* transform: upper-case ASCII letters in place, or leave bytes alone. */
#include <stdint.h>
#include <string.h>

#include "transform.h"

/*
 * Bytes are handled eight at a time in a uint64_t, and the main loop takes
 * a 64-byte block of XF_WORDS words per iteration.  The inner loop has a
 * fixed count and independent words, so GCC at -O2 turns it into vector
 * instructions; without that the CPU still overlaps the words.  Loads and
 * stores go through memcpy, which compiles to plain moves and keeps the
 * code free of alignment and strict-aliasing trouble.
 */
#define XF_ONES		0x0101010101010101ULL
#define XF_WORDS	8
#define XF_BLOCK	(XF_WORDS * sizeof(uint64_t))

/* The range that changes, as byte values: the locale plays no part. */
#define XF_LOWER_A	0x61
#define XF_LOWER_Z	0x7a
#define XF_CASE_BIT	0x20

static unsigned char	xf_upper_byte(unsigned char);
static uint64_t		xf_upper_word(uint64_t);
static void		xf_upper_blocks(unsigned char *, size_t);

/* Apply mode to the len bytes at p, in place. */
void
transform_apply(enum transform_mode mode, unsigned char *p, size_t len)
{
	switch (mode) {
	case TRANSFORM_ECHO:
		return;
	case TRANSFORM_UPPER:
		transform_upper(p, len);
		return;
	}
}

/* Turn bytes 0x61-0x7a into 0x41-0x5a and leave every other byte alone. */
void
transform_upper(unsigned char *p, size_t len)
{
	size_t	head, body;

	/* Empty input may come with a NULL pointer: touch nothing. */
	if (len == 0)
		return;

	/*
	 * Walk bytes up to an 8-byte boundary first: words that start at
	 * an unaligned address were measurably slower.  Then do whole words
	 * and finish the tail bytewise.
	 */
	head = (size_t)(-(uintptr_t)p & (sizeof(uint64_t) - 1));
	if (head > len)
		head = len;
	for (; head > 0; head--, len--, p++)
		*p = xf_upper_byte(*p);

	body = len - len % sizeof(uint64_t);
	xf_upper_blocks(p, body);
	p += body;
	len -= body;

	for (; len > 0; len--, p++)
		*p = xf_upper_byte(*p);
}

/* Upper-case one byte without a branch. */
static unsigned char
xf_upper_byte(unsigned char c)
{
	unsigned int	lower;

	lower = (unsigned int)(c - XF_LOWER_A) <= XF_LOWER_Z - XF_LOWER_A;
	return (c ^ (unsigned char)(lower * XF_CASE_BIT));
}

/*
 * Upper-case the eight bytes of w at once.
 *
 * Every byte is first cut to its low seven bits (low), so adding a constant
 * below 0x80 to each byte can never carry into its neighbour.  Adding
 * 0x80 - 0x61 sets a byte's top bit exactly when low >= 0x61 ('a'), and
 * adding 0x80 - 0x7b sets it exactly when low > 0x7a ('z').  A byte is a
 * lower-case letter when the first sum has the top bit, the second does
 * not, and the original byte had no top bit of its own (which excludes
 * 0xe1-0xfa, whose low seven bits look like letters).  That leaves 0x80 in
 * each letter's byte and 0 elsewhere; shifting it right by two gives the
 * 0x20 case bit, which is cleared with an exclusive or.
 */
static uint64_t
xf_upper_word(uint64_t w)
{
	uint64_t	low, ge_a, gt_z, letters;

	low = w & (XF_ONES * 0x7f);
	ge_a = low + XF_ONES * (0x80 - XF_LOWER_A);
	gt_z = low + XF_ONES * (0x80 - XF_LOWER_Z - 1);
	letters = ge_a & ~gt_z & ~w & (XF_ONES * 0x80);
	return (w ^ (letters >> 2));
}

/* Upper-case len bytes at p, where len is a multiple of eight. */
static void
xf_upper_blocks(unsigned char *p, size_t len)
{
	uint64_t	w;
	size_t		i;

	for (; len >= XF_BLOCK; len -= XF_BLOCK, p += XF_BLOCK) {
		for (i = 0; i < XF_WORDS; i++) {
			memcpy(&w, p + i * sizeof(w), sizeof(w));
			w = xf_upper_word(w);
			memcpy(p + i * sizeof(w), &w, sizeof(w));
		}
	}
	for (; len > 0; len -= sizeof(w), p += sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		w = xf_upper_word(w);
		memcpy(p, &w, sizeof(w));
	}
}
