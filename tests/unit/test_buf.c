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

static void test_add_html(void **state)
{
	struct sx_buf b = SX_BUF_INIT;
	static const char in[] = "<a href=\"x\">'&'</a>\x01\xff\xc3\xa9\xe2\x82";

	(void)state;
	sx_buf_add_html(&b, in, sizeof(in) - 1);
	/* markup escaped, control and invalid bytes replaced, valid UTF-8 (é) kept */
	assert_string_equal(b.buf, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
				   "\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
	sx_buf_reset(&b);
	sx_buf_add_html(&b, "a\0b", 3);
	assert_string_equal(b.buf, "a\xef\xbf\xbd" "b");
	/* tab, newline, carriage return and DEL kept; appended, not replaced */
	sx_buf_add_html(&b, "\t\n\r\x7f\x1b", 5);
	assert_string_equal(b.buf, "a\xef\xbf\xbd" "b\t\n\r\x7f\xef\xbf\xbd");
	sx_buf_reset(&b);
	/* overlong, surrogate, above U+10FFFF: one U+FFFD per byte; four-byte characters kept */
	sx_buf_add_html(&b, "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xf0\x9f\x98\x80", 16);
	assert_string_equal(b.buf, "\xef\xbf\xbd\xef\xbf\xbd|"
				   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
				   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
				   "\xf0\x9f\x98\x80");
	sx_buf_reset(&b);
	/* only len bytes are read: a character cut by len is invalid */
	sx_buf_add_html(&b, "x<\xc3\xa9", 3);
	assert_string_equal(b.buf, "x&lt;\xef\xbf\xbd");
	sx_buf_reset(&b);
	sx_buf_add_html(&b, "", 0);
	assert_int_equal(b.len, 0);
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
		cmocka_unit_test(test_add_html),
		cmocka_unit_test(test_parse_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
