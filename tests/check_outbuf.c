/*
 * The outbuf module's storage: append, peek, consume, pending and free,
 * against a plain reference.  The backpressure predicates are not here.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lib.h"
#include "outbuf.h"

#define OB_SEED		0x0b0f5eedULL
#define OB_STEPS	20000	/* random appends and consumes */
#define OB_MAXAPPEND	9000	/* bytes per random append, at most */
#define OB_MAXOWED	(1 << 20) /* the random test consumes beyond this */
#define OB_BIG		((1 << 20) + 7)

/* The reference: owed bytes in one array, consumed by memmove. */
struct ref {
	unsigned char	*r_data;
	size_t		 r_len;
	size_t		 r_size;
};

static void	ref_append(struct ref *, const void *, size_t);
static void	ref_consume(struct ref *, size_t);
static void	check_same(const struct outbuf *, const struct ref *,
		    const char *, int);
static void	check_empty(const struct outbuf *, const char *);
static void	append_ok(struct outbuf *, const void *, size_t);

/* Keep n more bytes at the end. */
static void
ref_append(struct ref *r, const void *p, size_t n)
{
	unsigned char	*data;

	if (r->r_len + n > r->r_size) {
		data = realloc(r->r_data, r->r_len + n);
		ck_assert_msg(data != NULL, "realloc %zu failed",
		    r->r_len + n);
		r->r_data = data;
		r->r_size = r->r_len + n;
	}
	memcpy(r->r_data + r->r_len, p, n);
	r->r_len += n;
}

/* Forget n bytes at the front. */
static void
ref_consume(struct ref *r, size_t n)
{
	memmove(r->r_data, r->r_data + n, r->r_len - n);
	r->r_len -= n;
}

/* Require ob to owe exactly what r holds; what and step say where. */
static void
check_same(const struct outbuf *ob, const struct ref *r, const char *what,
    int step)
{
	const unsigned char	*p;
	size_t			 len, at;

	ck_assert_msg(outbuf_pending(ob) == r->r_len, "%s, step %d: pending "
	    "%zu, want %zu", what, step, outbuf_pending(ob), r->r_len);
	p = outbuf_peek(ob, &len);
	ck_assert_msg(len == r->r_len, "%s, step %d: peek gave %zu bytes, "
	    "want %zu", what, step, len, r->r_len);
	if (r->r_len == 0) {
		check_empty(ob, what);
		return;
	}
	ck_assert_msg(p != NULL, "%s, step %d: peek gave NULL for %zu bytes",
	    what, step, len);
	ck_assert_msg(ob->ob_cap >= len, "%s, step %d: %zu bytes owed in "
	    "a capacity of %zu", what, step, len, ob->ob_cap);
	if (memcmp(p, r->r_data, len) == 0)
		return;
	at = t_mismatch(r->r_data, p, len, 0);
	ck_abort_msg("%s, step %d: byte %zu of %zu is 0x%02x, want 0x%02x",
	    what, step, at, len, p[at], r->r_data[at]);
}

/* Require ob to owe nothing and to hold no storage. */
static void
check_empty(const struct outbuf *ob, const char *what)
{
	const unsigned char	*p;
	size_t			 len = 1;

	p = outbuf_peek(ob, &len);
	ck_assert_msg(p == NULL && len == 0 && outbuf_pending(ob) == 0,
	    "%s: peek gave %p and %zu bytes, pending %zu; want nothing",
	    what, (const void *)p, len, outbuf_pending(ob));
	ck_assert_msg(ob->ob_data == NULL && ob->ob_cap == 0 &&
	    ob->ob_off == 0, "%s: empty yet holds storage %p (capacity %zu, "
	    "offset %zu)", what, (void *)ob->ob_data, ob->ob_cap, ob->ob_off);
}

/* Append, failing the test if memory ran out. */
static void
append_ok(struct outbuf *ob, const void *p, size_t n)
{
	int	r;

	r = outbuf_append(ob, p, n);
	ck_assert_msg(r == 0, "outbuf_append of %zu bytes (%zu owed) "
	    "returned %d", n, outbuf_pending(ob), r);
}

/*
 * Proves empty costs nothing: a zeroed outbuf owes nothing and holds no
 * storage, appending nothing keeps it so (under UBSan, too), freeing it
 * is harmless, and consuming the last byte owed frees the storage again.
 */
START_TEST(test_empty)
{
	struct outbuf	ob;

	memset(&ob, 0, sizeof(ob));
	check_empty(&ob, "new");
	append_ok(&ob, "abc", 0);
	check_empty(&ob, "after appending nothing");
	outbuf_free(&ob);
	check_empty(&ob, "freed while empty");

	append_ok(&ob, "abc", 3);
	ck_assert_msg(ob.ob_data != NULL && ob.ob_cap >= 3, "3 bytes owed in "
	    "storage %p of capacity %zu", (void *)ob.ob_data, ob.ob_cap);
	outbuf_consume(&ob, 2);
	outbuf_consume(&ob, 1);
	check_empty(&ob, "all consumed");

	append_ok(&ob, "abc", 3);
	outbuf_free(&ob);
	check_empty(&ob, "freed while owing 3 bytes");
}
END_TEST

/*
 * Proves partial consumes: what is left is the tail of what was
 * appended, in order, across several appends and consumes.
 */
START_TEST(test_partial)
{
	struct outbuf		 ob;
	const unsigned char	*p;
	size_t			 len;

	memset(&ob, 0, sizeof(ob));
	append_ok(&ob, "hello ", 6);
	append_ok(&ob, "world", 5);
	outbuf_consume(&ob, 4);
	p = outbuf_peek(&ob, &len);
	ck_assert_msg(len == 7 && p != NULL && memcmp(p, "o world", 7) == 0,
	    "after consuming 4 of 11: %zu bytes \"%.*s\", want \"o world\"",
	    len, (int)len, p != NULL ? (const char *)p : "");
	append_ok(&ob, "!", 1);
	outbuf_consume(&ob, 2);
	p = outbuf_peek(&ob, &len);
	ck_assert_msg(len == 6 && p != NULL && memcmp(p, "world!", 6) == 0,
	    "after consuming 2 more: %zu bytes \"%.*s\", want \"world!\"",
	    len, (int)len, p != NULL ? (const char *)p : "");
	ck_assert_msg(outbuf_pending(&ob) == 6, "pending %zu, want 6",
	    outbuf_pending(&ob));
	outbuf_free(&ob);
}
END_TEST

/*
 * Proves compaction: when consumed space at the front makes room, an
 * append moves what is owed to the front instead of growing, and every
 * byte survives the move.
 */
START_TEST(test_compaction)
{
	struct outbuf	 ob;
	struct ref	 r = { NULL, 0, 0 };
	unsigned char	*buf;
	uint64_t	 rnd = OB_SEED;
	size_t		 cap, keep, add;

	memset(&ob, 0, sizeof(ob));
	buf = malloc(OB_MAXAPPEND);
	ck_assert_msg(buf != NULL, "malloc %d failed", OB_MAXAPPEND);
	t_fill_random(buf, 100, &rnd);
	append_ok(&ob, buf, 100);
	ref_append(&r, buf, 100);
	cap = ob.ob_cap;
	ck_assert_msg(cap >= 100 && cap <= OB_MAXAPPEND, "first capacity "
	    "%zu, want 100 to %d", cap, OB_MAXAPPEND);

	/* Fill to capacity, consume all but 10, append to refill. */
	t_fill_random(buf, cap - 100, &rnd);
	append_ok(&ob, buf, cap - 100);
	ref_append(&r, buf, cap - 100);
	keep = 10;
	outbuf_consume(&ob, cap - keep);
	ref_consume(&r, cap - keep);
	ck_assert_msg(ob.ob_off == cap - keep, "offset %zu after consuming "
	    "%zu, want %zu", ob.ob_off, cap - keep, cap - keep);
	add = cap - keep;
	t_fill_random(buf, add, &rnd);
	append_ok(&ob, buf, add);
	ref_append(&r, buf, add);
	ck_assert_msg(ob.ob_cap == cap && ob.ob_off == 0, "capacity %zu "
	    "(was %zu), offset %zu after an append that fits once "
	    "compacted; want the same capacity and offset 0", ob.ob_cap, cap,
	    ob.ob_off);
	check_same(&ob, &r, "compacted", 0);

	/* One byte more than fits: it grows, still byte for byte. */
	outbuf_consume(&ob, 1);
	ref_consume(&r, 1);
	t_fill_random(buf, 2, &rnd);
	append_ok(&ob, buf, 2);
	ref_append(&r, buf, 2);
	ck_assert_msg(ob.ob_cap > cap, "capacity %zu for %zu bytes owed",
	    ob.ob_cap, outbuf_pending(&ob));
	check_same(&ob, &r, "grown after compaction", 1);
	outbuf_free(&ob);
	free(r.r_data);
	free(buf);
}
END_TEST

/*
 * Proves growth past the first capacity: small appends that add up to
 * many times it, then one append far larger than the storage, all kept
 * byte for byte.
 */
START_TEST(test_growth)
{
	struct outbuf	 ob;
	struct ref	 r = { NULL, 0, 0 };
	unsigned char	*buf;
	uint64_t	 rnd = OB_SEED + 1;
	size_t		 first;
	int		 i;

	memset(&ob, 0, sizeof(ob));
	buf = malloc(OB_BIG);
	ck_assert_msg(buf != NULL, "malloc %d failed", OB_BIG);
	t_fill_random(buf, 7, &rnd);
	append_ok(&ob, buf, 7);
	ref_append(&r, buf, 7);
	first = ob.ob_cap;
	for (i = 0; r.r_len <= 8 * first && i < 100000; i++) {
		t_fill_random(buf, 333, &rnd);
		append_ok(&ob, buf, 333);
		ref_append(&r, buf, 333);
	}
	ck_assert_msg(ob.ob_cap > 8 * first, "capacity %zu after %zu bytes, "
	    "first capacity %zu", ob.ob_cap, r.r_len, first);
	check_same(&ob, &r, "small appends", i);

	t_fill_random(buf, OB_BIG, &rnd);
	append_ok(&ob, buf, OB_BIG);
	ref_append(&r, buf, OB_BIG);
	check_same(&ob, &r, "one large append", 0);
	outbuf_free(&ob);
	free(r.r_data);
	free(buf);
}
END_TEST

/*
 * Proves byte-exactness over many random appends and consumes (a fixed
 * seed, so a failure repeats): after every step the outbuf owes exactly
 * what the reference holds, and nothing at all once that is empty.
 */
START_TEST(test_random)
{
	struct outbuf	 ob;
	struct ref	 r = { NULL, 0, 0 };
	unsigned char	*buf;
	uint64_t	 rnd = OB_SEED + 2;
	size_t		 n;
	int		 step, empties = 0;

	memset(&ob, 0, sizeof(ob));
	buf = malloc(OB_MAXAPPEND);
	ck_assert_msg(buf != NULL, "malloc %d failed", OB_MAXAPPEND);
	for (step = 0; step < OB_STEPS; step++) {
		switch (t_rand(&rnd) % 4) {
		case 0:
		case 1:
			if (r.r_len < OB_MAXOWED) {
				n = 1 + t_rand(&rnd) % OB_MAXAPPEND;
				t_fill_random(buf, n, &rnd);
				append_ok(&ob, buf, n);
				ref_append(&r, buf, n);
				break;
			}
			/* FALLTHROUGH */
		case 2:
			n = r.r_len == 0 ? 0 : t_rand(&rnd) % (r.r_len + 1);
			outbuf_consume(&ob, n);
			ref_consume(&r, n);
			break;
		default:
			n = r.r_len;
			outbuf_consume(&ob, n);
			ref_consume(&r, n);
			break;
		}
		empties += r.r_len == 0;
		check_same(&ob, &r, "random", step);
	}
	ck_assert_msg(empties > 0 && empties < OB_STEPS, "owed nothing after "
	    "%d of %d steps", empties, OB_STEPS);
	outbuf_free(&ob);
	free(r.r_data);
	free(buf);
}
END_TEST

/* The outbuf suite. */
Suite *
suite_outbuf(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("outbuf");
	tc = tcase_create("storage");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_partial);
	tcase_add_test(tc, test_compaction);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);
	return (s);
}
