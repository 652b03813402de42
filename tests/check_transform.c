/* The transform module: both modes against a plain reference. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "transform.h"
#include "lib.h"

#define GUARD		64	/* bytes kept on each side of a range */
#define NOFFSETS	16	/* start offsets tried, 0 to NOFFSETS - 1 */
#define SMALL_MAX	300	/* every length up to this one is tried */
#define SEED		0x10d5eedULL

static const size_t large_lens[] = {
	4096, 4096 + 5, 65536, 65536 + 13, (1 << 20) + 7
};

static uint64_t	rng;

static unsigned char	 ref_upper(unsigned char);
static void		 ref_apply(enum transform_mode, unsigned char *,
			    size_t);
static const char	*mode_name(enum transform_mode);
static unsigned char	 rng_byte(void);
static unsigned char	*buf_new(size_t, size_t, unsigned char);
static void		 check_range(enum transform_mode,
			    const unsigned char *, size_t, size_t, size_t);
static void		 check_random(enum transform_mode, size_t,
			    unsigned char);
static void		 check_every_byte(enum transform_mode, size_t);

/* The specification, written as plainly as possible. */
static unsigned char
ref_upper(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		c -= 32;
	return (c);
}

/* Apply mode to len bytes at p the slow, obvious way. */
static void
ref_apply(enum transform_mode mode, unsigned char *p, size_t len)
{
	size_t	i;

	if (mode == TRANSFORM_ECHO)
		return;
	for (i = 0; i < len; i++)
		p[i] = ref_upper(p[i]);
}

/* Name a mode for assertion messages. */
static const char *
mode_name(enum transform_mode mode)
{
	return (mode == TRANSFORM_UPPER ? "upper" : "echo");
}

/* Return the next byte of a fixed-seed xorshift64* sequence. */
static unsigned char
rng_byte(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((unsigned char)((rng * 0x2545f4914f6cdd1dULL) >> 56));
}

/*
 * Allocate GUARD + off + len + GUARD bytes: guards filled with guard_byte
 * (or random bytes when it is 0) and the range itself with random bytes.
 * malloc's alignment is a multiple of 16 and so is GUARD, so the range
 * starts at off modulo 16.
 */
static unsigned char *
buf_new(size_t off, size_t len, unsigned char guard_byte)
{
	unsigned char	*buf;
	size_t		 size = GUARD + off + len + GUARD, i;

	if ((buf = malloc(size)) == NULL)
		ck_abort_msg("malloc %zu bytes failed", size);
	for (i = 0; i < size; i++)
		buf[i] = guard_byte != 0 ? guard_byte : rng_byte();
	for (i = GUARD + off; i < GUARD + off + len; i++)
		buf[i] = rng_byte();
	return (buf);
}

/*
 * Transform in[start .. start + len) with iod and with the reference, and
 * fail at the first of the size bytes that differs, guards included.
 */
static void
check_range(enum transform_mode mode, const unsigned char *in, size_t size,
    size_t start, size_t len)
{
	unsigned char	*got, *want;
	size_t		 i;

	if ((got = malloc(size)) == NULL || (want = malloc(size)) == NULL)
		ck_abort_msg("malloc %zu bytes failed", size);
	memcpy(got, in, size);
	memcpy(want, in, size);
	transform_apply(mode, got + start, len);
	ref_apply(mode, want + start, len);

	for (i = 0; i < size && got[i] == want[i]; i++)
		;
	ck_assert_msg(i == size,
	    "%s, start %zu len %zu: byte at %td%s is 0x%02x, want 0x%02x "
	    "(input 0x%02x)", mode_name(mode), start, len,
	    (ptrdiff_t)i - (ptrdiff_t)start,
	    i < start || i >= start + len ? " (outside the range)" : "",
	    got[i], want[i], in[i]);
	free(got);
	free(want);
}

/* Check random ranges of every length to SMALL_MAX and a few large ones. */
static void
check_random(enum transform_mode mode, size_t off,
    unsigned char guard_byte)
{
	unsigned char	*buf;
	size_t		 len, i;

	rng = SEED + off;
	for (len = 0; len <= SMALL_MAX; len++) {
		buf = buf_new(off, len, guard_byte);
		check_range(mode, buf, GUARD + off + len + GUARD, GUARD + off,
		    len);
		free(buf);
	}
	for (i = 0; i < sizeof(large_lens) / sizeof(large_lens[0]); i++) {
		len = large_lens[i];
		buf = buf_new(off, len, guard_byte);
		check_range(mode, buf, GUARD + off + len + GUARD, GUARD + off,
		    len);
		free(buf);
	}
}

/*
 * Check all 256 byte values at start offset off: alone, and as a 256-byte
 * run rotated so that each value also lands in each of a word's 8 lanes.
 */
static void
check_every_byte(enum transform_mode mode, size_t off)
{
	unsigned char	*buf;
	size_t		 start = GUARD + off, v, k, rot;

	rng = SEED + off;
	buf = buf_new(off, 256, 0);
	for (v = 0; v < 256; v++) {
		buf[start] = (unsigned char)v;
		check_range(mode, buf, GUARD + off + 256 + GUARD, start, 1);
	}
	for (rot = 0; rot < 8; rot++) {
		for (k = 0; k < 256; k++)
			buf[start + k] = (unsigned char)(k + rot);
		check_range(mode, buf, GUARD + off + 256 + GUARD, start, 256);
	}
	free(buf);
}

/* Upper turns exactly a-z into A-Z: all 256 values, alone and in words. */
START_TEST(test_upper_every_byte)
{
	check_every_byte(TRANSFORM_UPPER, (size_t)_i);
}
END_TEST

/* Echo leaves each of the 256 byte values as it was. */
START_TEST(test_echo_every_byte)
{
	check_every_byte(TRANSFORM_ECHO, (size_t)_i);
}
END_TEST

/* Upper matches the reference on random buffers of many lengths. */
START_TEST(test_upper_random)
{
	check_random(TRANSFORM_UPPER, (size_t)_i, 0);
}
END_TEST

/* Echo leaves random buffers of many lengths identical. */
START_TEST(test_echo_random)
{
	check_random(TRANSFORM_ECHO, (size_t)_i, 0);
}
END_TEST

/* Upper never writes outside its range, even to letters next to it. */
START_TEST(test_upper_guards)
{
	check_random(TRANSFORM_UPPER, (size_t)_i, 'q');
}
END_TEST

/* transform_upper, called directly, agrees with the reference. */
START_TEST(test_upper_direct)
{
	unsigned char	in[256 + 7], got[256 + 7];
	size_t		i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	memcpy(got, in, sizeof(got));
	transform_upper(got, sizeof(got));
	for (i = 0; i < sizeof(got); i++)
		ck_assert_msg(got[i] == ref_upper(in[i]),
		    "byte %zu: 0x%02x became 0x%02x, want 0x%02x", i, in[i],
		    got[i], ref_upper(in[i]));
}
END_TEST

/* An empty range may be given as NULL in either mode. */
START_TEST(test_empty_null)
{
	transform_apply(TRANSFORM_UPPER, NULL, 0);
	transform_apply(TRANSFORM_ECHO, NULL, 0);
	transform_upper(NULL, 0);
}
END_TEST

/* Every transform test; the loop tests run once per start offset. */
Suite *
suite_transform(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("transform");
	tc = tcase_create("transform");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_upper_every_byte, 0, NOFFSETS);
	tcase_add_loop_test(tc, test_echo_every_byte, 0, NOFFSETS);
	tcase_add_loop_test(tc, test_upper_random, 0, NOFFSETS);
	tcase_add_loop_test(tc, test_echo_random, 0, NOFFSETS);
	tcase_add_loop_test(tc, test_upper_guards, 0, NOFFSETS);
	tcase_add_test(tc, test_upper_direct);
	tcase_add_test(tc, test_empty_null);
	suite_add_tcase(s, tc);
	return (s);
}
