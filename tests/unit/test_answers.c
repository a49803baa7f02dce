#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "selfexp/answers.h"
#include "selfexp/buf.h"
#include "selfexp/hash.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/selfexp-test-answers.XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int load(struct sx_answers *a, const char *text, struct sx_err *err)
{
	char sha[SX_SHA256_HEX_LEN + 1], want[SX_SHA256_HEX_LEN + 1];
	char *path = write_tmp(text);
	int rc = sx_answers_load(a, path, sha, err);

	sx_sha256_hex(text, strlen(text), want);
	if (!rc)
		assert_string_equal(sha, want);
	unlink(path);
	free(path);
	return rc;
}

static void test_load_find(void **state)
{
	struct sx_answers *a = sx_answers_new();
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(load(a, "{\"condition\":\"ep\",\"review\":\"a b\",\"answer\":\"(1, 0.9)\"}\n"
			      "\r\n"
			      "{\"condition\":\"pred\",\"review\":\"\",\"answer\":\"(0, 0.5)\",\"model\":\"m\"}\r\n"
			      "{\"condition\":\"ep\",\"review\":\"a b\",\"answer\":\"(1, 0.9)\"}", &err), 0);
	assert_int_equal(sx_answers_count(a), 2);
	assert_string_equal(sx_answers_find(a, "ep", "a b", 3), "(1, 0.9)");
	assert_string_equal(sx_answers_find(a, "pred", "", 0), "(0, 0.5)");
	/* the condition is part of the key, and so is every byte of the review */
	assert_null(sx_answers_find(a, "pe", "a b", 3));
	assert_null(sx_answers_find(a, "ep", "a b ", 4));
	assert_null(sx_answers_find(a, "ep", "a", 1));
	assert_int_equal(sx_answers_add(a, "ep", "a b", 3, "(1, 0.9)"), 1);
	assert_int_equal(sx_answers_add(a, "ep", "a b", 3, "(0, 0.9)"), SX_EINPUT);
	assert_int_equal(sx_answers_add(a, "pe", "a b", 3, "x"), 0);
	sx_answers_free(a);
	sx_answers_free(NULL);
}

static void test_bad_lines(void **state)
{
	static const struct { const char *text, *msg; } cases[] = {
		{ "nope\n", "line 1: not JSON" },
		{ "{}\n{\"condition\":\"ep\",\"review\":\"x\"}\n", "line 1: no \"condition\"" },
		{ "{\"condition\":\"ep\",\"answer\":\"x\"}\n", "line 1: no \"review\"" },
		{ "{\"condition\":\"ep\",\"review\":\"x\",\"answer\":7}\n", "line 1: \"answer\" is not a string" },
		{ "{\"condition\":\"EP\",\"review\":\"x\",\"answer\":\"y\"}\n", "line 1: unknown condition 'EP'" },
		{ "{\"condition\":\"ep\",\"review\":\"\xff\",\"answer\":\"y\"}\n", "line 1: invalid UTF-8 at byte 29" },
		{ "{\"condition\":\"ep\",\"review\":\"a\\u0000b\",\"answer\":\"y\"}\n", "line 1: holds a NUL character" },
		{ "{\"condition\":\"ep\",\"review\":\"a\",\"answer\":\"y\"}\n"
		  "{\"condition\":\"ep\",\"review\":\"a\",\"answer\":\"z\"}\n",
		  "line 2: another answer for condition 'ep' and this review than line 1 of" },
		{ "[1]\n", "line 1: not a JSON object" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sx_answers *a = sx_answers_new();
		struct sx_err err = SX_ERR_INIT;

		assert_int_equal(load(a, cases[i].text, &err), SX_EINPUT);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, cases[i].msg);
		sx_answers_free(a);
	}
	{
		/* an escaped backslash before u0000 is no NUL */
		struct sx_answers *a = sx_answers_new();
		struct sx_err err = SX_ERR_INIT;

		assert_int_equal(load(a, "{\"condition\":\"ep\",\"review\":\"a\\\\u0000\",\"answer\":\"y\"}\n",
				      &err), 0);
		assert_string_equal(sx_answers_find(a, "ep", "a\\u0000", 7), "y");
		sx_answers_free(a);
	}
}

static void test_write_round_trip(void **state)
{
	struct sx_answers *a = sx_answers_new(), *b = sx_answers_new();
	struct sx_buf out = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(sx_answers_add(a, "ep-topk", "caf\xc3\xa9 \"q\"", 9, "l1\nl2"), 0);
	assert_int_equal(sx_answers_add(a, "pred", "", 0, "(0, 0.5)"), 0);
	sx_answers_write(a, "m", &out);
	assert_string_equal(out.buf,
			    "{\"condition\":\"ep-topk\",\"review\":\"caf\xc3\xa9 \\\"q\\\"\",\"answer\":\"l1\\nl2\",\"model\":\"m\"}\n"
			    "{\"condition\":\"pred\",\"review\":\"\",\"answer\":\"(0, 0.5)\",\"model\":\"m\"}\n");
	assert_int_equal(load(b, out.buf, &err), 0);
	assert_string_equal(sx_answers_find(b, "ep-topk", "caf\xc3\xa9 \"q\"", 9), "l1\nl2");
	sx_buf_release(&out);
	sx_answers_free(a);
	sx_answers_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_find),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_write_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
