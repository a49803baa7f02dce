#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/prompt.h"

static void test_parse_sections(void **state)
{
	static const char text[] = "# comment\n=== system ===\nline one\n\nline [three]\n"
				   "=== user ===\n<review> {review} <review>\n";
	struct sx_prompt p = SX_PROMPT_INIT;
	struct sx_buf s = SX_BUF_INIT, u = SX_BUF_INIT;

	(void)state;
	assert_int_equal(sx_prompt_parse(&p, SX_COND_EP, "t", text, strlen(text), NULL), 0);
	assert_string_equal(p.system, "line one\n\nline [three]");
	assert_string_equal(p.user, "<review> {review} <review>");
	sx_prompt_render(&p, "a {k} b", 3, &s, &u);
	assert_string_equal(u.buf, "<review> a {k} b <review>");
	assert_int_equal(strlen(p.hash), 64);
	sx_buf_release(&s);
	sx_buf_release(&u);
	sx_prompt_release(&p);
}

static void test_parse_errors(void **state)
{
	struct sx_prompt p = SX_PROMPT_INIT;
	struct sx_err err = SX_ERR_INIT;
	static const char nouser[] = "=== system ===\nx\n";
	static const char noreview[] = "=== system ===\nx\n=== user ===\nhello\n";
	static const char junk[] = "junk\n=== system ===\nx\n=== user ===\n{review}\n";

	(void)state;
	assert_int_not_equal(sx_prompt_parse(&p, SX_COND_PE, "t", nouser, strlen(nouser), &err), 0);
	assert_non_null(strstr(err.msg, "=== user ==="));
	assert_int_not_equal(sx_prompt_parse(&p, SX_COND_PE, "t", noreview, strlen(noreview), &err), 0);
	assert_non_null(strstr(err.msg, "{review}"));
	assert_int_not_equal(sx_prompt_parse(&p, SX_COND_PE, "t", junk, strlen(junk), &err), 0);
	assert_int_not_equal(sx_prompt_parse(&p, SX_COND_PE, "t", "a\0b", 3, &err), 0);
	sx_prompt_release(&p);
}

static void test_conditions(void **state)
{
	enum sx_cond c;

	(void)state;
	assert_int_equal(sx_cond_from_name("pe-topk", &c), 0);
	assert_int_equal(c, SX_COND_PE_TOPK);
	assert_true(sx_cond_is_topk(c));
	assert_false(sx_cond_explains_first(c));
	assert_int_equal(sx_cond_from_name("PE", &c), -1);
	assert_int_equal(sx_topk_k(0), 1);
	assert_int_equal(sx_topk_k(4), 1);
	assert_int_equal(sx_topk_k(10), 2);
	assert_int_equal(sx_topk_k(14), 2);
	assert_int_equal(sx_topk_k(15), 3);
}

/*
 * The text need not be NUL-terminated: the {review} search must stay within
 * len (fuzz_prompt found strstr reading past the end).
 */
static void test_parse_unterminated(void **state)
{
	static const char tmpl[] = "=== system ===\nx\n=== user ===\n{review}";
	static const char cut[] = "=== system ===\nx\n=== user ===\n{revi";
	static const char mark_at_end[] = "# c\n=== system ===";
	struct sx_prompt p = SX_PROMPT_INIT;
	struct sx_err err = SX_ERR_INIT;
	char *text = malloc(sizeof(tmpl) - 1);

	(void)state;
	assert_non_null(text);
	memcpy(text, tmpl, sizeof(tmpl) - 1);
	assert_int_equal(sx_prompt_parse(&p, SX_COND_EP, "t", text, sizeof(tmpl) - 1, &err), 0);
	assert_string_equal(p.user, "{review}");
	/* "{review}" right after the end of the buffer does not count */
	assert_int_not_equal(sx_prompt_parse(&p, SX_COND_EP, "t", tmpl, sizeof(cut) - 1, &err), 0);
	assert_non_null(strstr(err.msg, "{review}"));
	free(text);
	/* a comment, then the system marker ending the text without a newline:
	 * the check of the lines before the marker must not read past the end
	 * (run under SANITIZE=address) */
	text = malloc(sizeof(mark_at_end) - 1);
	assert_non_null(text);
	memcpy(text, mark_at_end, sizeof(mark_at_end) - 1);
	assert_int_not_equal(sx_prompt_parse(&p, SX_COND_EP, "t", text, sizeof(mark_at_end) - 1, &err),
			     0);
	assert_non_null(strstr(err.msg, "=== user ==="));
	sx_prompt_release(&p);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sections),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_unterminated),
		cmocka_unit_test(test_conditions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
