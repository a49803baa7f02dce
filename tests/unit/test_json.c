#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/hash.h"
#include "selfexp/json.h"

/* print(v) parses back to exactly v. */
static void assert_num_round_trip(double v)
{
	struct sx_json *n = sx_json_new_num(v), *back;
	char *s = sx_json_print(n, 0);
	double got;

	back = sx_json_parse(s, strlen(s), NULL);
	assert_non_null(back);
	assert_int_equal(sx_json_num(back, &got), 0);
	if (got != v)
		fail_msg("%.17g printed as '%s' reads back as %.17g", v, s, got);
	free(s);
	sx_json_free(back);
	sx_json_free(n);
}

/*
 * cJSON alone prints DBL_MAX as 1.79769313486232e+308 (infinity when read)
 * and lets some doubles drift by an ulp; found by tests/fuzz/fuzz_json.
 */
static void test_numbers_round_trip(void **state)
{
	static const double v[] = { 0.0, 1.0, -3.0, 0.1, 0.1 + 0.2, 1.0 / 3.0, 2.5, 1e-300,
				    -1e300, DBL_MAX, -DBL_MAX, DBL_MIN, 4e-320, 2147483648.0,
				    123456789012345678.0, 0.30000000000000004 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_num_round_trip(v[i]);
	for (i = 0; i < 2000; i++)
		assert_num_round_trip(nextafter(1.0 + (double)i / 7.0, 10.0));
}

/* Numbers cJSON prints exactly keep cJSON's form; a nested inexact one is fixed in place. */
static void test_print_form(void **state)
{
	static const char in[] = "{\"a\":[1,2.5,-3e10,1e300,0.1],\"b\":{\"c\":1.7976931348623157e308}}";
	struct sx_json *j = sx_json_parse(in, strlen(in), NULL), *b;
	char *s;

	(void)state;
	assert_non_null(j);
	s = sx_json_print(j, 0);
	assert_string_equal(s, "{\"a\":[1,2.5,-30000000000,1e+300,0.1],"
			       "\"b\":{\"c\":1.7976931348623157e+308}}");
	free(s);
	b = sx_json_get(j, "a");
	s = sx_json_print(b, 0);
	assert_string_equal(s, "[1,2.5,-30000000000,1e+300,0.1]");
	free(s);
	s = sx_json_print(j, 1);
	assert_non_null(strstr(s, "1.7976931348623157e+308"));
	free(s);
	sx_json_free(j);
}

static void test_nonfinite_is_null(void **state)
{
	struct sx_json *n = sx_json_new_num(INFINITY);
	char *s = sx_json_print(n, 0);

	(void)state;
	assert_string_equal(s, "null");
	free(s);
	sx_json_free(n);
}

static void test_getters_with_fallback(void **state)
{
	static const char in[] = "{\"n\":2.5,\"zero\":0,\"s\":\"text\",\"empty\":\"\",\"null\":null,"
				 "\"t\":true,\"a\":[1],\"o\":{\"n\":1}}";
	struct sx_json *j = sx_json_parse(in, strlen(in), NULL);
	const char *dflt = "dflt";

	(void)state;
	assert_non_null(j);
	assert_true(fabs(sx_json_num_or_nan(j, "n") - 2.5) < 1e-12);
	assert_true(fabs(sx_json_num_or_nan(j, "zero")) < 1e-12);
	assert_true(fabs(sx_json_num_or_nan(sx_json_get(j, "o"), "n") - 1.0) < 1e-12);
	/* missing, of another type, or asked of something that is not an object */
	assert_true(isnan(sx_json_num_or_nan(j, "missing")));
	assert_true(isnan(sx_json_num_or_nan(j, "s")));
	assert_true(isnan(sx_json_num_or_nan(j, "null")));
	assert_true(isnan(sx_json_num_or_nan(j, "t")));
	assert_true(isnan(sx_json_num_or_nan(j, "o")));
	assert_true(isnan(sx_json_num_or_nan(sx_json_get(j, "a"), "n")));
	assert_true(isnan(sx_json_num_or_nan(NULL, "n")));

	assert_string_equal(sx_json_str_or(j, "s", dflt), "text");
	assert_string_equal(sx_json_str_or(j, "empty", dflt), "");
	/* the string is borrowed from the tree, the default handed back as it is */
	assert_ptr_equal(sx_json_str_or(j, "s", NULL), sx_json_get_str(j, "s"));
	assert_ptr_equal(sx_json_str_or(j, "missing", dflt), dflt);
	assert_ptr_equal(sx_json_str_or(j, "n", dflt), dflt);
	assert_ptr_equal(sx_json_str_or(j, "null", dflt), dflt);
	assert_ptr_equal(sx_json_str_or(j, "o", dflt), dflt);
	assert_ptr_equal(sx_json_str_or(sx_json_get(j, "a"), "s", dflt), dflt);
	assert_ptr_equal(sx_json_str_or(NULL, "s", dflt), dflt);
	assert_null(sx_json_str_or(j, "missing", NULL));
	sx_json_free(j);
}

/* What selfexp writes is valid UTF-8; a \u0000 is refused rather than cutting the string. */
static void test_utf8_and_nul(void **state)
{
	struct sx_json *o = sx_json_new_object(), *j;
	struct sx_err err = SX_ERR_INIT;
	char *s;
	char *b64;

	(void)state;
	sx_json_add_str(o, "a", "caf\xc3 \xff ok \xc3\xa9");
	s = sx_json_print(o, 0);
	assert_string_equal(s, "{\"a\":\"caf\xef\xbf\xbd \xef\xbf\xbd ok \xc3\xa9\"}");
	free(s);
	sx_json_free(o);
	j = sx_json_parse("{\"a\":\"x\\u0000y\"}", 16, &err);
	assert_null(j);
	assert_non_null(strstr(err.msg, "NUL character"));
	/* an escaped backslash before u0000 is not a NUL */
	j = sx_json_parse("{\"a\":\"x\\\\u0000y\"}", 17, &err);
	assert_non_null(j);
	assert_string_equal(sx_json_get_str(j, "a"), "x\\u0000y");
	sx_json_free(j);
	b64 = sx_base64("caf\xc3", 4);
	assert_string_equal(b64, "Y2Fmww==");
	free(b64);
	b64 = sx_base64("", 0);
	assert_string_equal(b64, "");
	free(b64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_round_trip),
		cmocka_unit_test(test_print_form),
		cmocka_unit_test(test_nonfinite_is_null),
		cmocka_unit_test(test_getters_with_fallback),
		cmocka_unit_test(test_utf8_and_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
