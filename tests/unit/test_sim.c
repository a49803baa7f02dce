#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/prompt.h"
#include "selfexp/sim.h"

static const char tiny[] = "# a comment\n"
			   "# another\n"
			   "bias 0.5\n"
			   "#\t-1.5\n"
			   "good\t2\n"
			   "bad\t-3\n"
			   "'s\t0.25\n";

static struct sx_sim_model *tiny_model(void)
{
	struct sx_sim_model *m = NULL;

	assert_int_equal(sx_sim_model_parse(tiny, strlen(tiny), "tiny", &m, NULL), 0);
	return m;
}

static void test_model_p_and_contributions(void **state)
{
	struct sx_sim_model *m = tiny_model();
	char *toks[] = { (char *)"GOOD", (char *)"film", (char *)"'s", (char *)"#", (char *)"Bad" };
	double c[5], z;

	(void)state;
	assert_int_equal(sx_sim_model_size(m), 4);
	assert_true(fabs(sx_sim_model_bias(m) - 0.5) < 1e-12);
	sx_sim_model_contributions(m, toks, 5, c);
	assert_true(fabs(c[0] - 2) < 1e-12);
	assert_true(fabs(c[1]) < 1e-12);
	assert_true(fabs(c[2] - 0.25) < 1e-12);
	assert_true(fabs(c[3] + 1.5) < 1e-12); /* '#' is a word after the bias line */
	assert_true(fabs(c[4] + 3) < 1e-12);
	z = 0.5 + 2 + 0.25 - 1.5 - 3;
	assert_true(fabs(sx_sim_model_logit(m, toks, 5) - z) < 1e-12);
	assert_true(fabs(sx_sim_model_p_pos(m, toks, 5) - 1 / (1 + exp(-z))) < 1e-12);
	assert_true(fabs(sx_sim_model_p_pos(m, toks, 0) - 1 / (1 + exp(-0.5))) < 1e-12);
	sx_sim_model_free(m);
	sx_sim_model_free(NULL);
}

static void test_model_errors(void **state)
{
	static const char *const bad[] = {
		"good\t1\n",                 /* no bias */
		"bias x\n",                  /* bad bias */
		"bias 0\ngood\t1\nGOOD\t2\n", /* listed twice (case-insensitive) */
		"bias 0\ngood 1\n",          /* no tab */
		"bias 0\ngood\tnan\n",       /* not finite */
	};
	struct sx_err err = SX_ERR_INIT;
	struct sx_sim_model *m = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(sx_sim_model_parse(bad[i], strlen(bad[i]), "w", &m, &err), 0);
		assert_null(m);
		assert_non_null(strstr(err.msg, "w"));
	}
	assert_int_not_equal(sx_sim_model_load("/nonexistent/weights.txt", &m, &err), 0);
	assert_non_null(strstr(err.msg, "/nonexistent/weights.txt"));
}

static void test_shipped_weights(void **state)
{
	struct sx_sim_model *m = NULL;
	char path[4096];
	const char *home = getenv("SELFEXP_HOME");

	(void)state;
	snprintf(path, sizeof(path), "%s/data/sim-weights.txt", home && *home ? home : SX_HOME);
	assert_int_equal(sx_sim_model_load(path, &m, NULL), 0);
	assert_true(sx_sim_model_size(m) > 1000);
	assert_true(sx_sim_model_weight(m, "Wonderful", 9) > 0);
	assert_true(sx_sim_model_weight(m, "worst", 5) < 0);
	sx_sim_model_free(m);
}

static void test_detect_templates(void **state)
{
	const char *home = getenv("SELFEXP_HOME");
	char dir[4096];
	int c;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/prompts", home && *home ? home : SX_HOME);
	for (c = 0; c < SX_COND_COUNT; c++) {
		struct sx_prompt p = SX_PROMPT_INIT;
		struct sx_buf sys = SX_BUF_INIT, usr = SX_BUF_INIT;
		enum sx_cond got;
		const char *rv;
		size_t rl;

		assert_int_equal(sx_prompt_load(&p, dir, (enum sx_cond)c, NULL), 0);
		sx_prompt_render(&p, "a b c d e f g h i j", 10, &sys, &usr);
		assert_int_equal(sx_sim_detect_cond(sys.buf, sys.len, &got), 0);
		assert_string_equal(sx_cond_name(got), sx_cond_name((enum sx_cond)c));
		assert_int_equal(sx_sim_find_review(usr.buf, usr.len, &rv, &rl), 0);
		assert_int_equal(rl, strlen("a b c d e f g h i j"));
		assert_memory_equal(rv, "a b c d e f g h i j", rl);
		sx_buf_release(&sys);
		sx_buf_release(&usr);
		sx_prompt_release(&p);
	}
}

static void test_detect_edited(void **state)
{
	static const char pe_no_example[] =
		"Give (<int classification>, <float confidence>) then a list of "
		"(<word or punctuation>, <float importance>).";
	static const char ep_example[] =
		"Mention (<int classification>, <float confidence>) first, but the example decides.\n"
		"Example output:\n[(<word or punctuation>, <float importance>), ... ]\n"
		"(<int classification>, <float confidence>)";
	static const char none[] = "Tell me about this film.";
	enum sx_cond c;
	const char *rv;
	size_t rl;

	(void)state;
	assert_int_equal(sx_sim_detect_cond(pe_no_example, strlen(pe_no_example), &c), 0);
	assert_int_equal(c, SX_COND_PE);
	assert_int_equal(sx_sim_detect_cond(ep_example, strlen(ep_example), &c), 0);
	assert_int_equal(c, SX_COND_EP);
	assert_int_equal(sx_sim_detect_cond(none, strlen(none), &c), -1);
	assert_int_equal(c, SX_COND_PRED);
	assert_int_equal(sx_sim_find_review("x <review>  a  b </review>", 26, &rv, &rl), 0);
	assert_int_equal(rl, 4);
	assert_int_equal(sx_sim_find_review("no wrapper", 10, &rv, &rl), -1);
	assert_int_equal(rl, 10);
}

static void test_explain_modes(void **state)
{
	struct sx_sim_model *m = tiny_model();
	char *toks[] = { (char *)"good", (char *)"film", (char *)"bad", (char *)"'s" };
	double f[4], v[4], v2[4];
	int i;

	(void)state;
	sx_sim_explain_values(m, SX_SIM_EXPLAIN_FAITHFUL, 0, toks, 4, 1, f);
	assert_true(fabs(f[0] - 0.667) < 1e-12); /* 2 / 3 */
	assert_true(f[1] == 0.0 && !signbit(f[1]));
	assert_true(fabs(f[2] + 1) < 1e-12);
	assert_true(fabs(f[3] - 0.083) < 1e-12);
	sx_sim_explain_values(m, SX_SIM_EXPLAIN_INVERTED, 0, toks, 4, 1, v);
	for (i = 0; i < 4; i++)
		assert_true(fabs(v[i] + f[i]) < 1e-12);
	sx_sim_explain_values(m, SX_SIM_EXPLAIN_COARSE, 0, toks, 4, 1, v);
	assert_true(v[0] == 0.5 && v[1] == 0 && v[2] == -1 && v[3] == 0);
	sx_sim_explain_values(m, SX_SIM_EXPLAIN_RANDOM, 0, toks, 4, 7, v);
	sx_sim_explain_values(m, SX_SIM_EXPLAIN_RANDOM, 0, toks, 4, 7, v2);
	for (i = 0; i < 4; i++) {
		assert_true(v[i] >= -1 && v[i] <= 1);
		assert_true(v[i] == v2[i]); /* same seed, same values */
	}
	sx_sim_explain_values(m, SX_SIM_EXPLAIN_NOISY, 0.0, toks, 4, 7, v);
	for (i = 0; i < 4; i++)
		assert_true(fabs(v[i] - f[i]) < 1e-12); /* sigma 0 is faithful */
	sx_sim_model_free(m);
}

static void test_answer_clean(void **state)
{
	struct sx_sim_model *m = tiny_model();
	struct sx_sim_answer a = SX_SIM_ANSWER_INIT;
	struct sx_sim_answer_opts o = SX_SIM_ANSWER_OPTS_INIT;
	char *toks[] = { (char *)"good", (char *)"film", (char *)"'s", (char *)"bad", (char *)"x\"y'z" };

	(void)state;
	/* logit 0.5 + 2 + 0.25 - 3 = -0.25: label 0, P(0) = 0.562 */
	sx_sim_answer_write(m, &o, SX_COND_EP, toks, 5, 1, &a);
	assert_string_equal(a.text.buf, "[('good', 0.667), ('film', 0.000), (\"'s\", 0.083), "
					"('bad', -1.000), ('x\"y\\'z', 0.000)]\n(0, 0.6)");
	assert_int_equal(a.label, 0);
	assert_int_equal(a.text.buf[a.label_off], '0');
	assert_true(fabs(a.p_pos - 1 / (1 + exp(0.25))) < 1e-12);
	o.confidence_decimals = 6;
	sx_sim_answer_write(m, &o, SX_COND_PE_TOPK, toks, 5, 1, &a);
	assert_string_equal(a.text.buf, "(0, 0.562177)\n['bad']");
	sx_sim_answer_write(m, &o, SX_COND_PRED, toks, 2, 1, &a);
	assert_string_equal(a.text.buf, "(1, 0.924142)");
	o.style = SX_SIM_STYLE_UNQUOTED;
	o.confidence_decimals = 1;
	sx_sim_answer_write(m, &o, SX_COND_PE, toks, 3, 1, &a);
	assert_string_equal(a.text.buf, "(1, 0.9)\n[(good, 1.000), (film, 0.000), ('s, 0.125)]");
	o.style = SX_SIM_STYLE_TRUNCATED;
	sx_sim_answer_write(m, &o, SX_COND_EP, toks, 3, 1, &a);
	assert_true(a.truncated);
	assert_int_equal(a.label_off, (size_t)-1);
	assert_null(strchr(a.text.buf, ']'));
	o.style = SX_SIM_STYLE_ECHO;
	sx_sim_answer_write(m, &o, SX_COND_PRED, toks, 3, 1, &a);
	assert_string_equal(a.text.buf, "(<int classification>, <float confidence>) = (1, 0.9)");
	assert_int_equal(a.text.buf[a.label_off], '1');
	sx_sim_answer_release(&a);
	sx_sim_model_free(m);
}

static void test_names(void **state)
{
	enum sx_sim_style s;
	enum sx_sim_explain e;
	unsigned mask;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(sx_sim_style_from_name("mixed", &s), 0);
	assert_int_equal(s, SX_SIM_STYLE_MIXED);
	assert_int_equal(sx_sim_style_from_name("nope", &s), -1);
	assert_int_equal(sx_sim_explain_from_name("inverted", &e), 0);
	assert_string_equal(sx_sim_explain_name(e), "inverted");
	assert_int_equal(sx_sim_faults_parse("429,reset,garbage", &mask, NULL), 0);
	assert_int_equal(mask, (1u << SX_SIM_FAULT_429) | (1u << SX_SIM_FAULT_RESET) |
				       (1u << SX_SIM_FAULT_GARBAGE));
	assert_int_not_equal(sx_sim_faults_parse("429,boom", &mask, &err), 0);
	assert_non_null(strstr(err.msg, "'boom'"));
}

static void test_server_lifecycle(void **state)
{
	struct sx_sim_config cfg = SX_SIM_CONFIG_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_sim *s = NULL;
	struct sx_buf stats = SX_BUF_INIT;
	const char *home = getenv("SELFEXP_HOME");
	char path[4096], want[64];

	(void)state;
	snprintf(path, sizeof(path), "%s/data/sim-weights.txt", home && *home ? home : SX_HOME);
	cfg.weights_path = path;
	cfg.quiet = 1;
	assert_int_equal(sx_sim_start(&cfg, &s, &err), 0);
	assert_true(sx_sim_port(s) > 0);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/v1", sx_sim_port(s));
	assert_string_equal(sx_sim_address(s), want);
	assert_true(sx_sim_model_size(sx_sim_get_model(s)) > 1000);
	sx_sim_stats_json(s, &stats);
	assert_non_null(strstr(stats.buf, "\"chat_requests\":0"));
	sx_buf_release(&stats);
	sx_sim_stop(s);
	sx_sim_stop(NULL);

	cfg.weights_path = "/nonexistent/w.txt";
	assert_int_not_equal(sx_sim_start(&cfg, &s, &err), 0);
	assert_null(s);
	cfg.weights_path = path;
	cfg.host = "not-an-address";
	assert_int_not_equal(sx_sim_start(&cfg, &s, &err), 0);
	assert_non_null(strstr(err.msg, "'not-an-address'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_p_and_contributions),
		cmocka_unit_test(test_model_errors),
		cmocka_unit_test(test_shipped_weights),
		cmocka_unit_test(test_detect_templates),
		cmocka_unit_test(test_detect_edited),
		cmocka_unit_test(test_explain_modes),
		cmocka_unit_test(test_answer_clean),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_server_lifecycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
