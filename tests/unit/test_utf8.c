#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/utf8.h"

/* Length of the sequence at the start of a string literal (without its terminating NUL). */
#define CHAR_LEN(lit) sx_utf8_char_len(lit, sizeof(lit) - 1)
#define VALID(lit) sx_utf8_valid(lit, sizeof(lit) - 1)

static void test_valid_sequences(void **state)
{
	(void)state;
	/* one to four bytes, at the ends of each length's range */
	assert_int_equal(CHAR_LEN("a"), 1);
	assert_int_equal(CHAR_LEN("\x7f"), 1);
	assert_int_equal(sx_utf8_char_len("\0", 1), 1); /* U+0000 is a character */
	assert_int_equal(CHAR_LEN("\xc2\x80"), 2);      /* U+0080 */
	assert_int_equal(CHAR_LEN("\xc3\xa9"), 2);      /* é */
	assert_int_equal(CHAR_LEN("\xdf\xbf"), 2);      /* U+07FF */
	assert_int_equal(CHAR_LEN("\xe0\xa0\x80"), 3);  /* U+0800 */
	assert_int_equal(CHAR_LEN("\xe2\x82\xac"), 3);  /* € */
	assert_int_equal(CHAR_LEN("\xed\x9f\xbf"), 3);  /* U+D7FF, just below the surrogates */
	assert_int_equal(CHAR_LEN("\xee\x80\x80"), 3);  /* U+E000, just above them */
	assert_int_equal(CHAR_LEN("\xef\xbf\xbd"), 3);  /* U+FFFD */
	assert_int_equal(CHAR_LEN("\xef\xbf\xbf"), 3);  /* U+FFFF */
	assert_int_equal(CHAR_LEN("\xf0\x90\x80\x80"), 4); /* U+10000 */
	assert_int_equal(CHAR_LEN("\xf0\x9f\x98\x80"), 4); /* an emoji */
	assert_int_equal(CHAR_LEN("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF */
	/* only the first sequence counts */
	assert_int_equal(CHAR_LEN("ab"), 1);
	assert_int_equal(CHAR_LEN("\xc3\xa9\xff"), 2);
	assert_true(VALID(""));
	assert_true(VALID("plain ascii"));
	assert_true(VALID("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
	assert_true(sx_utf8_valid("a\0b", 3));
}

static void test_overlong(void **state)
{
	(void)state;
	assert_int_equal(CHAR_LEN("\xc0\xaf"), 0);         /* '/' in two bytes */
	assert_int_equal(CHAR_LEN("\xc0\x80"), 0);         /* NUL in two bytes */
	assert_int_equal(CHAR_LEN("\xc1\xbf"), 0);         /* U+007F in two bytes */
	assert_int_equal(CHAR_LEN("\xe0\x80\xaf"), 0);     /* '/' in three bytes */
	assert_int_equal(CHAR_LEN("\xe0\x9f\xbf"), 0);     /* U+07FF in three bytes */
	assert_int_equal(CHAR_LEN("\xf0\x80\x80\xaf"), 0); /* '/' in four bytes */
	assert_int_equal(CHAR_LEN("\xf0\x8f\xbf\xbf"), 0); /* U+FFFF in four bytes */
	assert_false(VALID("a\xc0\xaf"));
}

static void test_surrogates(void **state)
{
	(void)state;
	assert_int_equal(CHAR_LEN("\xed\xa0\x80"), 0); /* U+D800 */
	assert_int_equal(CHAR_LEN("\xed\xaf\xbf"), 0); /* U+DBFF */
	assert_int_equal(CHAR_LEN("\xed\xb0\x80"), 0); /* U+DC00 */
	assert_int_equal(CHAR_LEN("\xed\xbf\xbf"), 0); /* U+DFFF */
	/* a surrogate pair encoded as two three-byte sequences (CESU-8) */
	assert_false(VALID("\xed\xa0\xbd\xed\xb8\x80"));
}

static void test_above_max(void **state)
{
	(void)state;
	assert_int_equal(CHAR_LEN("\xf4\x90\x80\x80"), 0); /* U+110000 */
	assert_int_equal(CHAR_LEN("\xf4\xbf\xbf\xbf"), 0);
	assert_int_equal(CHAR_LEN("\xf5\x80\x80\x80"), 0);
	assert_int_equal(CHAR_LEN("\xf7\xbf\xbf\xbf"), 0); /* U+1FFFFF */
	assert_int_equal(CHAR_LEN("\xf8\x88\x80\x80\x80"), 0); /* five-byte form */
	assert_int_equal(CHAR_LEN("\xfc\x84\x80\x80\x80\x80"), 0); /* six-byte form */
	assert_int_equal(CHAR_LEN("\xfe"), 0);
	assert_int_equal(CHAR_LEN("\xff"), 0);
}

static void test_truncated_and_stray(void **state)
{
	(void)state;
	/* cut short by the end of the input */
	assert_int_equal(CHAR_LEN("\xc3"), 0);
	assert_int_equal(CHAR_LEN("\xe2\x82"), 0);
	assert_int_equal(CHAR_LEN("\xf0\x9f\x98"), 0);
	/* the input ends where len says, even before a NUL in memory */
	assert_int_equal(sx_utf8_char_len("\xe2\x82\xac", 2), 0);
	assert_int_equal(sx_utf8_char_len("a", 0), 0);
	/* cut short by a byte that is not a continuation */
	assert_int_equal(CHAR_LEN("\xc3" "a"), 0);
	assert_int_equal(CHAR_LEN("\xe2\x82" "a"), 0);
	assert_int_equal(CHAR_LEN("\xe2\xc3\xa9"), 0);
	assert_int_equal(CHAR_LEN("\xf0\x9f\x98\xc0"), 0);
	/* a continuation byte on its own */
	assert_int_equal(CHAR_LEN("\x80"), 0);
	assert_int_equal(CHAR_LEN("\xbf"), 0);
	assert_false(VALID("trunc \xe2\x82"));
}

static void test_valid_prefix(void **state)
{
	(void)state;
	assert_int_equal(sx_utf8_valid_prefix("", 0), 0);
	assert_int_equal(sx_utf8_valid_prefix("abc", 3), 3);
	assert_int_equal(sx_utf8_valid_prefix("abc", 2), 2);
	/* the offset of the lead byte of the bad sequence, not of the byte that spoils it */
	assert_int_equal(sx_utf8_valid_prefix("ab\xe2\x82" "c", 5), 2);
	assert_int_equal(sx_utf8_valid_prefix("caf\xc3\xa9\xff", 6), 5);
	assert_int_equal(sx_utf8_valid_prefix("\xff" "abc", 4), 0);
	assert_int_equal(sx_utf8_valid_prefix("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), 9);
	assert_int_equal(sx_utf8_valid_prefix("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 8), 5);
	assert_int_equal(sx_utf8_valid_prefix("a\0b", 3), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_sequences),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_surrogates),
		cmocka_unit_test(test_above_max),
		cmocka_unit_test(test_truncated_and_stray),
		cmocka_unit_test(test_valid_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
