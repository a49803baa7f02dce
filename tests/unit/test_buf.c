#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/buf.h"
#include "selfexp/num.h"

static void test_add_and_detach(void **state)
{
	struct sx_buf b = SX_BUF_INIT;
	char *s;
	size_t len;
	int i;

	(void)state;
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	for (i = 0; i < 1000; i++)
		sx_buf_addf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.buf));
	assert_memory_equal(b.buf, "0,1,2,", 6);
	s = sx_buf_detach(&b, &len);
	assert_int_equal(len, strlen(s));
	assert_int_equal(b.len, 0);
	free(s);
	sx_buf_release(&b);
}

static void test_json_str(void **state)
{
	struct sx_buf b = SX_BUF_INIT;

	(void)state;
	sx_buf_add_json_str(&b, "a\"b\\c\n\x01", 7);
	assert_string_equal(b.buf, "\"a\\\"b\\\\c\\n\\u0001\"");
	sx_buf_release(&b);
}

static void test_parse_numbers(void **state)
{
	long l = 7;
	double d = 0;

	(void)state;
	assert_int_equal(sx_parse_long("42", 0, 100, &l), 0);
	assert_int_equal(l, 42);
	assert_int_equal(sx_parse_long("42x", 0, 100, &l), -1);
	assert_int_equal(sx_parse_long("", 0, 100, &l), -1);
	assert_int_equal(sx_parse_long("101", 0, 100, &l), -1);
	assert_int_equal(sx_parse_double("0.25", &d), 0);
	assert_true(d > 0.2499 && d < 0.2501);
	assert_int_equal(sx_parse_double("nan", &d), -1);
	assert_int_equal(sx_parse_double("1e999", &d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_detach),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_parse_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
