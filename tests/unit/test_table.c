#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/compare.h"
#include "selfexp/json.h"
#include "selfexp/table.h"

static const char summary_text[] =
	"{\"reviews\":4,\"conditions\":{\"pe\":{\"reviews\":4,"
	"\"accuracy\":{\"n\":4,\"mean\":0.75,\"sd\":0.5,\"ci_lo\":0.25,\"ci_hi\":1},"
	"\"failed\":0,\"failed_requests\":0,\"parse_failures\":1,\"ece\":null,\"parse_status\":{\"ok\":3,\"unparseable\":1},"
	"\"methods\":{"
	"\"self\":{\"explained\":3,\"excluded\":1,"
	"\"comprehensiveness\":{\"n\":3,\"mean\":0.5,\"ci_lo\":0.4,\"ci_hi\":0.6},"
	"\"sufficiency\":{\"n\":3,\"mean\":0.2,\"ci_lo\":0.1,\"ci_hi\":0.3}},"
	"\"occlusion\":{\"explained\":4,\"excluded\":0,"
	"\"comprehensiveness\":{\"n\":4,\"mean\":0.4,\"ci_lo\":0.3,\"ci_hi\":0.5},"
	"\"sufficiency\":{\"n\":2,\"mean\":-0.1,\"ci_lo\":-0.2,\"ci_hi\":0}}},"
	"\"agreement\":{\"self~occlusion\":{\"spearman\":{\"n\":3,\"mean\":0.9,\"ci_lo\":0.8,\"ci_hi\":1}}}}},"
	"\"comparisons\":{}}";

static void test_paper_md(void **state)
{
	struct sx_json *sum = sx_json_parse(summary_text, sizeof(summary_text) - 1, NULL);
	struct sx_json *run = sx_json_parse("{\"model\":{\"name\":\"m|x\"}}", 24, NULL);
	struct sx_table_opts o = SX_TABLE_OPTS_INIT;
	struct sx_buf b = SX_BUF_INIT;

	(void)state;
	assert_non_null(sum);
	assert_non_null(run);
	assert_int_equal(sx_table_render(run, sum, &o, &b, NULL), 0);
	/* higher comprehensiveness and lower sufficiency are the bold ones */
	assert_non_null(strstr(b.buf, "| self (full) | 3 | **0.500** [0.400, 0.600] | 0.200 [0.100, 0.300] |"));
	assert_non_null(strstr(b.buf, "| occlusion | 4 | 0.400 [0.300, 0.500] | **-0.100** [-0.200, 0.000] n=2 |"));
	assert_non_null(strstr(b.buf, "model m\\|x"));  /* data escaped for Markdown */
	assert_non_null(strstr(b.buf, "P-E 1, 0 of 4")); /* exclusions stated */
	sx_buf_reset(&b);
	o.format = "tex";
	assert_int_equal(sx_table_render(run, sum, &o, &b, NULL), 0);
	assert_non_null(strstr(b.buf, "\\textbf{$-$0.100}"));
	assert_non_null(strstr(b.buf, "\\toprule"));
	sx_buf_reset(&b);
	o.format = "csv";
	assert_int_equal(sx_table_render(run, sum, &o, &b, NULL), 0);
	assert_non_null(strstr(b.buf, "accuracy,pe,,ece,value,NA\n"));
	assert_non_null(strstr(b.buf, "faithfulness,pe,occlusion,sufficiency,n,2\n"));
	assert_non_null(strstr(b.buf, "agreement_spearman,pe,self~occlusion,spearman,mean,0.9\n"));
	assert_null(strstr(b.buf, "occlusion~self"));   /* the mirror cell is not repeated */
	o.format = "xls";
	assert_int_not_equal(sx_table_render(run, sum, &o, &b, NULL), 0);
	sx_buf_release(&b);
	sx_json_free(sum);
	sx_json_free(run);
}

static void test_compare_metrics(void **state)
{
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(sx_compare_check_metrics(SX_COMPARE_DEFAULT_METRICS, &err), 0);
	assert_int_equal(sx_compare_check_metrics("occlusion:rankdel,lime:sufficiency,df_frac", &err), 0);
	assert_int_not_equal(sx_compare_check_metrics("speed", &err), 0);
	assert_non_null(strstr(err.msg, "unknown metric 'speed'"));
	/* a method of an --explanations file: only the runs can tell whether it is there */
	assert_int_equal(sx_compare_check_metrics("shap:rankdel", &err), 0);
	assert_int_not_equal(sx_compare_check_metrics("sh ap:rankdel", &err), 0);
	assert_int_not_equal(sx_compare_check_metrics("lime:accuracy", &err), 0);
	assert_int_not_equal(sx_compare_check_metrics(",", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paper_md),
		cmocka_unit_test(test_compare_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
