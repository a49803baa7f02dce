#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define TMPDIR_NAME "selfexp-test-explanations"
#include "tmpdir.h"

#include "selfexp/data.h"
#include "selfexp/explanations.h"
#include "selfexp/metrics.h"
#include "selfexp/registry.h"

/* Reviews a (3 tokens), b (2 tokens), c (1 token). */
static void load_data(struct sx_dataset *ds)
{
	struct sx_data_opts opts = SX_DATA_OPTS_INIT;
	char *path = tmpdir_path("data.jsonl");
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("{\"id\": \"a\", \"text\": \"not so good\", \"label\": 0}\n"
	      "{\"id\": \"b\", \"text\": \"very fine\", \"label\": 1}\n"
	      "{\"id\": \"c\", \"text\": \"meh\", \"label\": 0}\n", f);
	fclose(f);
	assert_int_equal(sx_data_load(path, &opts, ds, NULL), 0);
	assert_int_equal(ds->n, 3);
	free(path);
}

static char *write_file(const char *name, const char *text)
{
	char *path = tmpdir_path(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_load(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_explanations x = SX_EXPLANATIONS_INIT;
	struct sx_err err = SX_ERR_INIT;
	const struct sx_expl_entry *e;
	char *p;

	(void)state;
	load_data(&ds);
	p = write_file("good.jsonl",
		       "{\"id\": \"a\", \"method\": \"shap\", \"values\": [0.5, -1, 2e-3]}\r\n"
		       "\n"
		       "   \n"
		       "{\"id\": \"a\", \"method\": \"shap\", \"condition\": \"pe\", \"sign\": \"predicted\", "
		       "\"values\": [1, 2, 3]}\n"
		       "{\"id\": \"b\", \"method\": \"attn\", \"ranking\": [1]}\n"
		       "{\"method\": \"shap\", \"values\": [7], \"id\": \"c\", \"sign\": \"positive\"}");
	assert_int_equal(sx_explanations_load(&x, p, &ds, 1, &err), 0);
	assert_int_equal(x.nfiles, 1);
	assert_int_equal(x.files[0].lines, 4);
	assert_int_equal(strlen(x.files[0].sha256), 64);
	assert_int_equal(x.nmethods, 2);
	assert_string_equal(x.methods[0].name, "shap");
	assert_int_equal(x.methods[0].ranking, 0);
	assert_int_equal(x.methods[0].entries, 3);
	assert_int_equal(x.methods[0].conditions, (1u << SX_COND_COUNT) - 1);
	assert_string_equal(x.methods[1].name, "attn");
	assert_int_equal(x.methods[1].ranking, 1);
	/* a line that names the condition comes before one for every condition */
	e = sx_explanations_find(&x, 0, 0, SX_COND_EP);
	assert_non_null(e);
	assert_int_equal(e->line, 1);
	assert_int_equal(e->sign, SX_EXPL_SIGN_POSITIVE);
	assert_true(fabs(e->values[2] - 2e-3) < 1e-15);
	e = sx_explanations_find(&x, 0, 0, SX_COND_PE);
	assert_int_equal(e->line, 4);
	assert_int_equal(e->sign, SX_EXPL_SIGN_PREDICTED);
	assert_true(e->values[1] == 2);
	e = sx_explanations_find(&x, 1, 1, SX_COND_PRED);
	assert_non_null(e);
	assert_null(e->values);
	assert_int_equal(e->nranking, 1);
	assert_int_equal(e->ranking[0], 1);
	assert_null(sx_explanations_find(&x, 1, 0, SX_COND_EP)); /* b has no shap */
	assert_null(sx_explanations_find(&x, 0, 1, SX_COND_EP));
	sx_explanations_release(&x);
	free(p);
	sx_dataset_release(&ds);
}

/* A second file: duplicates across files are found; under ids_complete 0 unknown ids are unused. */
static void test_two_files(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_explanations x = SX_EXPLANATIONS_INIT;
	struct sx_err err = SX_ERR_INIT;
	char *p1, *p2, *p3;

	(void)state;
	load_data(&ds);
	p1 = write_file("f1.jsonl", "{\"id\": \"c\", \"method\": \"m\", \"values\": [1]}\n");
	p2 = write_file("f2.jsonl", "{\"id\": \"zz\", \"method\": \"m\", \"values\": [1]}\n"
				    "{\"id\": \"b\", \"method\": \"m\", \"values\": [1, 2]}\n");
	p3 = write_file("f3.jsonl", "{\"id\": \"c\", \"method\": \"m\", \"values\": [3]}\n");
	assert_int_equal(sx_explanations_load(&x, p1, &ds, 0, &err), 0);
	assert_int_equal(sx_explanations_load(&x, p2, &ds, 0, &err), 0);
	assert_int_equal(x.files[1].lines, 1);
	assert_int_equal(x.files[1].unused, 1);
	assert_int_equal(x.methods[0].entries, 2);
	assert_int_equal(sx_explanations_load(&x, p3, &ds, 0, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "f3.jsonl' line 1: a second explanation of review 'c' by "
					"method 'm' for every condition (the first is '"));
	assert_non_null(strstr(err.msg, "f1.jsonl' line 1)"));
	sx_explanations_release(&x);
	free(p1);
	free(p2);
	free(p3);
	sx_dataset_release(&ds);
}

static void test_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"id\": \"a\", \"method\": \"m\", \"values\": [1, 2]}",
		  "line 1: review 'a' has 3 tokens but \"values\" has 2 values" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": [1]}\n{\"id\": \"x\", \"method\": \"m\", \"values\": [1]}",
		  "line 2: unknown review id 'x'" },
		{ "{\"id\": \"c\", \"method\": \"occlusion\", \"values\": [1]}",
		  "method name 'occlusion' is taken by a built-in explainer" },
		{ "{\"id\": \"c\", \"method\": \"Self\", \"values\": [1]}", "method name 'Self' is taken" },
		{ "{\"id\": \"c\", \"method\": \"prediction\", \"values\": [1]}", "'prediction' is taken" },
		{ "{\"id\": \"c\", \"method\": \"\", \"values\": [1]}", "method name '' is empty" },
		{ "{\"id\": \"c\", \"method\": \"a b\", \"values\": [1]}", "has the character ' '" },
		{ "{\"id\": \"c\", \"method\": \"-x\", \"values\": [1]}", "has the character '-'" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": [1]", "line 1: not JSON" },
		{ "[1, 2]", "line 1: not a JSON object" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": [NaN]}", "NaN or Infinity is not a number" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": [-Infinity]}", "NaN or Infinity is not" },
		{ "{\"id\": \"NaN\", \"method\": \"m\", \"values\": [1e999]}", "unknown review id 'NaN'" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": [1e999]}", "\"values\"[0] is not finite" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": [null]}", "\"values\"[0] is not a number" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": 1}", "\"values\" is not an array" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"condition\": \"ep\", \"values\": [1]}\n"
		  "{\"id\": \"c\", \"method\": \"m\", \"values\": [1]}\n"
		  "{\"id\": \"c\", \"method\": \"m\", \"condition\": \"ep\", \"values\": [2]}",
		  "line 3: a second explanation of review 'c' by method 'm' for ep" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"value\": [1]}", "unknown field 'value'" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": [1], \"ranking\": [0]}",
		  "both \"values\" and \"ranking\"" },
		{ "{\"id\": \"c\", \"method\": \"m\"}", "neither \"values\" nor \"ranking\"" },
		{ "{\"method\": \"m\", \"values\": [1]}", "line 1: no \"id\"" },
		{ "{\"id\": \"c\", \"values\": [1]}", "line 1: no \"method\"" },
		{ "{\"id\": 3, \"method\": \"m\", \"values\": [1]}", "\"id\" is not a string" },
		{ "{\"id\": \"a\", \"method\": \"m\", \"ranking\": [0, 3]}",
		  "\"ranking\"[1] = 3 is out of range: review 'a' has 3 tokens (indices 0 to 2)" },
		{ "{\"id\": \"a\", \"method\": \"m\", \"ranking\": [-1]}", "\"ranking\"[0] = -1 is out of range" },
		{ "{\"id\": \"a\", \"method\": \"m\", \"ranking\": [0.5]}", "\"ranking\"[0] is not a token index" },
		{ "{\"id\": \"a\", \"method\": \"m\", \"ranking\": [2, 2]}", "\"ranking\" lists token 2 twice" },
		{ "{\"id\": \"a\", \"method\": \"m\", \"ranking\": []}", "\"ranking\" is empty" },
		{ "{\"id\": \"a\", \"method\": \"m\", \"ranking\": [0, 1, 2, 0]}", "\"ranking\" lists 4" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"condition\": \"EP\", \"values\": [1]}",
		  "unknown condition 'EP'" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"sign\": \"neg\", \"values\": [1]}", "unknown sign 'neg'" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"sign\": \"positive\", \"ranking\": [0]}",
		  "\"sign\" applies to values, not to a ranking" },
		{ "{\"id\": \"c\", \"method\": \"m\", \"values\": [1]}\n{\"id\": \"b\", \"method\": \"m\", \"ranking\": [0]}",
		  "line 2: method 'm' has a ranking here and values on earlier lines" },
	};
	struct sx_dataset ds = SX_DATASET_INIT;
	size_t i;

	(void)state;
	load_data(&ds);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sx_explanations x = SX_EXPLANATIONS_INIT;
		struct sx_err err = SX_ERR_INIT;
		char *p = write_file("bad.jsonl", bad[i][0]);

		assert_int_equal(sx_explanations_load(&x, p, &ds, 1, &err), SX_EINPUT);
		if (!strstr(err.msg, bad[i][1]) || !strstr(err.msg, "bad.jsonl' line "))
			fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, bad[i][1]);
		sx_explanations_release(&x);
		free(p);
	}
	{
		struct sx_explanations x = SX_EXPLANATIONS_INIT;
		struct sx_err err = SX_ERR_INIT;
		char *p = tmpdir_path("missing.jsonl");

		assert_int_not_equal(sx_explanations_load(&x, p, &ds, 1, &err), 0);
		assert_non_null(strstr(err.msg, "missing.jsonl"));
		sx_explanations_release(&x);
		free(p);
	}
	sx_dataset_release(&ds);
}

static void test_method_names(void **state)
{
	(void)state;
	assert_int_equal(sx_method_name_check("shap", NULL), 0);
	assert_int_equal(sx_method_name_check("ig_captum-1.2", NULL), 0);
	assert_int_equal(sx_method_name_check("9x", NULL), 0);
	assert_int_not_equal(sx_method_name_check("lime", NULL), 0);
	assert_int_not_equal(sx_method_name_check("TopK", NULL), 0);
	assert_int_not_equal(sx_method_name_check("a/b", NULL), 0);
	assert_int_not_equal(sx_method_name_check("_a", NULL), 0);
	assert_int_not_equal(sx_method_name_check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL), 0);
	assert_int_equal(sx_method_name_check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL), 0);
	assert_true(sx_method_name_builtin("Occlusion"));
	assert_false(sx_method_name_builtin("occlusion2"));
}

/* Top-k agreement of two lists: the first min(m, k) of each. */
static void test_agree_lists(void **state)
{
	const size_t a[] = { 3, 1, 0, 2 }, b[] = { 1, 3, 4 }, c[] = { 4 };
	struct sx_agree_topk o;

	(void)state;
	/* n = 10: k = 2; S = {3, 1}, T = {1, 3} */
	assert_int_equal(sx_metrics_agree_lists(a, 4, b, 3, 10, &o, NULL), 0);
	assert_int_equal(o.k, 2);
	assert_true(fabs(o.feature - 1) < 1e-15 && fabs(o.iou - 1) < 1e-15);
	/* S = {3, 1}, T = {4}: nothing in common */
	assert_int_equal(sx_metrics_agree_lists(a, 4, c, 1, 10, &o, NULL), 0);
	assert_true(o.feature == 0 && o.iou == 0);
	/* n = 15: k = 3; S = {3, 1, 0}, T = {1, 3, 4}: 2 of 3, IoU 2 / 4 */
	assert_int_equal(sx_metrics_agree_lists(a, 4, b, 3, 15, &o, NULL), 0);
	assert_true(fabs(o.feature - 2.0 / 3) < 1e-15 && fabs(o.iou - 0.5) < 1e-15);
	assert_int_not_equal(sx_metrics_agree_lists(a, 4, b, 3, 4, &o, NULL), 0); /* 4 >= n */
	assert_int_not_equal(sx_metrics_agree_lists(a, 4, a, 4, 0, &o, NULL), 0);
	{
		const size_t rep[] = { 1, 1 };
		assert_int_not_equal(sx_metrics_agree_lists(rep, 2, b, 3, 10, &o, NULL), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_two_files),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_method_names),
		cmocka_unit_test(test_agree_lists),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
