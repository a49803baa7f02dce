/*
 * sx_json_parse on arbitrary bytes, and the print round trip.
 *
 * Invariants: when x parses, print(parse(x)) (compact and pretty) parses
 * again to the same value (numbers exactly equal: json.h promises numbers
 * that read back to the same double), and printing that gives the same bytes (printing is a fixed point
 * after one round); sx_json_dup prints the same; walking the tree with the
 * accessors agrees with sx_json_len. Failure leaves a message.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "selfexp/json.h"

static size_t walk(const struct sx_json *j, int depth)
{
	const struct sx_json *c;
	size_t n = 0, count = 1;
	enum sx_json_type t = sx_json_type_of(j);

	FUZZ_CHECK(t != SX_JSON_INVALID);
	if (depth > 2000)
		return count;
	if (t == SX_JSON_STRING)
		FUZZ_CHECK(sx_json_str(j) != NULL);
	if (t == SX_JSON_NUMBER) {
		double v;
		FUZZ_CHECK(sx_json_num(j, &v) == 0);
	}
	for (c = sx_json_child(j); c; c = sx_json_next(c)) {
		if (t == SX_JSON_OBJECT) {
			FUZZ_CHECK(sx_json_key(c) != NULL);
		}
		FUZZ_CHECK(sx_json_at(j, n) == c);
		n++;
		count += walk(c, depth + 1);
	}
	FUZZ_CHECK(n == sx_json_len(j));
	return count;
}

/* Same value: numbers exactly equal (a non-finite one prints, so reads back, as null). */
static int same(const struct sx_json *a, const struct sx_json *b)
{
	enum sx_json_type ta = sx_json_type_of(a), tb = sx_json_type_of(b);
	const struct sx_json *ca, *cb;
	double x, y;
	int p, q;

	if (ta == SX_JSON_NUMBER && sx_json_num(a, &x) == 0 && !isfinite(x))
		ta = SX_JSON_NULL;
	if (ta != tb)
		return 0;
	switch (ta) {
	case SX_JSON_NUMBER:
		return sx_json_num(a, &x) == 0 && sx_json_num(b, &y) == 0 && x == y;
	case SX_JSON_BOOL:
		return sx_json_bool(a, &p) == 0 && sx_json_bool(b, &q) == 0 && p == q;
	case SX_JSON_STRING:
		return strcmp(sx_json_str(a), sx_json_str(b)) == 0;
	case SX_JSON_ARRAY:
	case SX_JSON_OBJECT:
		for (ca = sx_json_child(a), cb = sx_json_child(b); ca && cb;
		     ca = sx_json_next(ca), cb = sx_json_next(cb)) {
			if (ta == SX_JSON_OBJECT && strcmp(sx_json_key(ca), sx_json_key(cb)) != 0)
				return 0;
			if (!same(ca, cb))
				return 0;
		}
		return !ca && !cb;
	default:
		return 1;
	}
}

static void round_trip(const struct sx_json *j, int pretty)
{
	struct sx_err err = SX_ERR_INIT;
	struct sx_json *again;
	char *s1, *s2;

	s1 = sx_json_print(j, pretty);
	FUZZ_CHECK(s1 != NULL);
	again = sx_json_parse(s1, strlen(s1), &err);
	if (!again)
		fprintf(stderr, "printed json does not parse: %s\n%s\n", err.msg, s1);
	FUZZ_CHECK(again != NULL);
	FUZZ_CHECK(same(j, again));
	s2 = sx_json_print(again, pretty);
	FUZZ_CHECK(s2 != NULL);
	if (strcmp(s1, s2) != 0)
		fprintf(stderr, "print is not stable:\n%s\n%s\n", s1, s2);
	FUZZ_CHECK(strcmp(s1, s2) == 0);
	free(s1);
	free(s2);
	sx_json_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_err err = SX_ERR_INIT;
	struct sx_json *j, *d;
	char *text = fuzz_dup(data, size);
	char *a, *b;

	j = sx_json_parse(text, size, &err);
	if (!j) {
		FUZZ_CHECK(err.code == SX_EINPUT && err.msg[0]);
		free(text);
		return 0;
	}
	walk(j, 0);
	round_trip(j, 0);
	round_trip(j, 1);
	d = sx_json_dup(j);
	a = sx_json_print(j, 0);
	b = sx_json_print(d, 0);
	FUZZ_CHECK(a && b && strcmp(a, b) == 0);
	free(a);
	free(b);
	sx_json_free(d);
	sx_json_free(j);
	free(text);
	return 0;
}
