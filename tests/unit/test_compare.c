#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/buf.h"
#include "selfexp/compare.h"
#include "selfexp/json.h"
#include "selfexp/rundir.h"

#define TMPDIR_NAME "test_compare"
#include "tmpdir.h"
#include "rundir_fixture.h"

#define assert_near(x, y, tol)                                                              \
	do {                                                                                \
		double x_ = (x), y_ = (y);                                                  \
		if (!(fabs(x_ - y_) <= (tol)))                                              \
			fail_msg("%s = %.10g, expected %.10g (+- %g)", #x, x_, y_, (double)(tol)); \
	} while (0)

/* ---------------------------------------------------------------- fixtures */

/*
 * Hand-written runs: 8 reviews r1..r8, conditions pe and ep, a self and an
 * occlusion record per (review, condition). The base values are arbitrary;
 * new = base + the change below, which tests/unit/compare_ref.py repeats to
 * compute the expected p-values independently.
 */
#define NREV 8

enum {
	H_NEW = 1 << 0,          /* apply the changes (else the base run) */
	H_LOST = 1 << 1,         /* pe self comprehensiveness null for every review */
	H_OTHER_TEXT = 1 << 2,   /* r3 has other tokens */
	H_OTHER_IDS = 1 << 3,    /* ids s1..s8 instead of r1..r8 */
	H_UNPARSEABLE3 = 1 << 4, /* ep answers of r1..r3 unparseable */
	H_UNPARSEABLE8 = 1 << 5, /* every ep answer unparseable */
	H_ONLY_PRED = 1 << 6,    /* run.json lists only condition pred */
};

struct hand {
	unsigned flags;
	const char *model;  /* NULL: sim */
	const char *prob;   /* NULL: verbal */
	const char *compat; /* NULL: no compat key (a run from before --compat) */
};

static double step(size_t i)
{
	return (double)(i + 1) / 100; /* 0.01 .. 0.08 */
}

/* Append ,"key":v (or null) to a JSON object being written; *first drops the comma once. */
static void member(struct sx_buf *b, int *first, const char *key, double v)
{
	sx_buf_addf(b, "%s\"%s\":", *first ? "" : ",", key);
	if (isfinite(v))
		sx_buf_addf(b, "%.17g", v);
	else
		sx_buf_adds(b, "null");
	*first = 0;
}

static void hand_record(struct sx_buf *b, const struct hand *h, size_t i, const char *cond,
			const char *method)
{
	int is_new = h->flags & H_NEW, pe = !strcmp(cond, "pe"), first = 1;
	int unparseable = !strcmp(cond, "ep") && !strcmp(method, "self") &&
			  ((h->flags & H_UNPARSEABLE8) || ((h->flags & H_UNPARSEABLE3) && i < 3));
	double comp, suff, dfm, aopc, rankdel;

	sx_buf_addf(b, "{\"id\":\"%c%zu\",\"condition\":\"%s\",\"method\":\"%s\","
		       "\"tokens\":[\"review\",\"%s\",\"%zu\"],\"gold\":1,",
		    h->flags & H_OTHER_IDS ? 's' : 'r', i + 1, cond, method,
		    (h->flags & H_OTHER_TEXT) && i == 2 ? "changed" : "text", i + 1);
	if (unparseable) {
		sx_buf_adds(b, "\"prediction\":null,\"status\":\"unparseable\",\"metrics\":{}}\n");
		return;
	}
	/* ep: every prediction right in base, wrong in new */
	sx_buf_addf(b, "\"prediction\":{\"label\":%d,\"confidence\":0.9},\"status\":\"ok\","
		       "\"metrics\":{", !pe && is_new ? 0 : 1);
	if (!strcmp(method, "self")) {
		comp = 0.5 + 0.02 * (double)((i * 3) % 8);
		suff = 0.1 + 0.01 * (double)((i * 5) % 8);
		dfm = 0.2;
		aopc = 0.3;
		rankdel = 0.5 + 0.01 * (double)i;
		if (pe && is_new) {
			comp -= 5 * step(i);
			suff += step(i);
			dfm += i < 7 ? step(i) : -step(i);
			aopc += i > 0 ? step(i) : -step(i);
		}
		if (pe && (h->flags & H_LOST))
			comp = NAN;
		member(b, &first, "comprehensiveness", comp);
		member(b, &first, "sufficiency", suff);
		member(b, &first, "df_mit", dfm);
		member(b, &first, "aopc_comprehensiveness", aopc);
		member(b, &first, "rankdel", rankdel);
	} else {
		comp = 0.4;
		if (pe && i >= 6)
			comp = NAN; /* n = 6 for occlusion comprehensiveness in pe */
		else if (pe && is_new)
			comp += step(i);
		member(b, &first, "sufficiency", 0.05);
		member(b, &first, "comprehensiveness", comp);
	}
	sx_buf_adds(b, "}}\n");
}

/* Write the hand-written run dir tmpdir/name; the caller frees the path. */
static char *hand_run(const char *name, const struct hand *h)
{
	static const char *const conds[] = { "pe", "ep" };
	char *dir = fixture_dir(name);
	struct sx_buf run = SX_BUF_INIT, rec = SX_BUF_INIT, all = SX_BUF_INIT;
	size_t i, c;

	sx_buf_addf(&run, "{\"model\":{\"name\":\"%s\"},\"prob\":\"%s\",\"conditions\":%s",
		    h->model ? h->model : "sim", h->prob ? h->prob : "verbal",
		    h->flags & H_ONLY_PRED ? "[\"pred\"]" : "[\"pe\",\"ep\"]");
	if (h->compat)
		sx_buf_addf(&run, ",\"compat\":\"%s\"", h->compat);
	sx_buf_adds(&run, "}\n");
	fixture_write(dir, "run.json", run.buf, run.len);
	for (c = 0; c < 2; c++)
		for (i = 0; i < NREV; i++) {
			sx_buf_reset(&rec);
			hand_record(&rec, h, i, conds[c], "self");
			sx_buf_add(&all, rec.buf, rec.len);
			sx_buf_reset(&rec);
			hand_record(&rec, h, i, conds[c], "occlusion");
			sx_buf_add(&all, rec.buf, rec.len);
		}
	fixture_write(dir, "records.jsonl", all.buf, all.len);
	sx_buf_release(&run);
	sx_buf_release(&rec);
	sx_buf_release(&all);
	return dir;
}

static void load(struct sx_rundir *rd, const char *dir)
{
	struct sx_err err = SX_ERR_INIT;

	if (sx_rundir_load(rd, dir, SX_RUNDIR_RECORDS, &err))
		fail_msg("%s", err.msg);
}

/* Compare the runs in directories base and cur; 0 or the error of sx_compare_runs. */
static int compare_dirs(const char *base, const char *cur, const struct sx_compare_opts *o,
			struct sx_compare_result *res, struct sx_err *err)
{
	struct sx_rundir b = SX_RUNDIR_INIT, n = SX_RUNDIR_INIT;
	int rc;

	load(&b, base);
	load(&n, cur);
	memset(err, 0, sizeof(*err));
	rc = sx_compare_runs(&b, &n, o, res, err);
	sx_rundir_release(&b);
	sx_rundir_release(&n);
	return rc;
}

static const struct sx_compare_row *row_of(const struct sx_compare_result *res, const char *cond,
					   const char *method, const char *metric)
{
	size_t i;

	for (i = 0; i < res->n; i++)
		if (!strcmp(res->rows[i].condition, cond) && !strcmp(res->rows[i].method, method) &&
		    !strcmp(res->rows[i].metric, metric))
			return &res->rows[i];
	fail_msg("no row %s/%s/%s", cond, method, metric);
	return NULL;
}

#define HAND_METRICS \
	"accuracy,comprehensiveness,sufficiency,df_mit,rankdel,aopc_comprehensiveness," \
	"occlusion:comprehensiveness"

/* A modified copy of run-small: fn changes each record. */
static char *golden_copy(const char *name, void (*fn)(struct sx_json *rec))
{
	char *golden = golden_run_small(), *dir = fixture_dir(name);
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_buf out = SX_BUF_INIT;
	size_t i;

	fixture_copy(golden, dir, "run.json");
	load(&rd, golden);
	for (i = 0; i < rd.nrecords; i++) {
		char *s;
		fn(rd.records[i]);
		s = sx_json_print(rd.records[i], 0);
		sx_buf_adds(&out, s);
		sx_buf_addch(&out, '\n');
		free(s);
	}
	fixture_write(dir, "records.jsonl", out.buf, out.len);
	sx_rundir_release(&rd);
	sx_buf_release(&out);
	free(golden);
	return dir;
}

/* Add d to rec's metrics[key] when it is a number. */
static void shift_metric(struct sx_json *rec, const char *key, double d)
{
	struct sx_json *m = sx_json_get(rec, "metrics");
	double v;

	if (m && !sx_json_get_num(m, key, &v))
		sx_json_set(m, key, sx_json_new_num(v + d));
}

/* pe: self comprehensiveness 0.1 lower; pe-topk: top-k sufficiency 0.05 higher. */
static void worsen(struct sx_json *rec)
{
	const char *cond = sx_json_get_str(rec, "condition"), *m = sx_json_get_str(rec, "method");

	if (!strcmp(cond, "pe") && !strcmp(m, "self"))
		shift_metric(rec, "comprehensiveness", -0.1);
	if (!strcmp(cond, "pe-topk") && !strcmp(m, "topk"))
		shift_metric(rec, "sufficiency", 0.05);
}

/* The opposite changes: improvements. */
static void better(struct sx_json *rec)
{
	const char *cond = sx_json_get_str(rec, "condition"), *m = sx_json_get_str(rec, "method");

	if (!strcmp(cond, "pe") && !strcmp(m, "self"))
		shift_metric(rec, "comprehensiveness", 0.1);
	if (!strcmp(cond, "pe-topk") && !strcmp(m, "topk"))
		shift_metric(rec, "sufficiency", -0.05);
}

/* ---------------------------------------------------------------- run-small */

static void test_golden_identical(void **state)
{
	char *dir = golden_run_small();
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_err err;
	struct sx_buf text = SX_BUF_INIT;
	size_t i;

	(void)state;
	o.bootstrap = 200;
	assert_int_equal(compare_dirs(dir, dir, &o, &res, &err), 0);
	assert_int_equal(res.common, 8);
	assert_int_equal(res.base_reviews, 8);
	assert_int_equal(res.new_reviews, 8);
	assert_int_equal(res.regressions, 0);
	/* 6 default metrics over 4 conditions; rankdel does not exist for top-k answers */
	assert_int_equal(res.n, 6 * 4 - 2);
	for (i = 0; i < res.n; i++) {
		const struct sx_compare_row *r = &res.rows[i];
		assert_false(r->regressed);
		assert_false(r->improved);
		assert_false(r->lost);
		assert_true(isnan(r->p.p_value)); /* every difference is zero */
		assert_true(isnan(r->p_holm));
		assert_near(r->p.mean_diff, 0, 1e-12);
	}
	assert_int_equal(row_of(&res, "pe", "answer", "accuracy")->higher_better, 1);
	assert_int_equal(row_of(&res, "pe", "self", "sufficiency")->higher_better, 0);
	/* pe: all 8 answers usable; ep: d05 has no prediction */
	assert_int_equal(row_of(&res, "pe", "answer", "accuracy")->p.n, 8);
	assert_int_equal(row_of(&res, "ep", "answer", "accuracy")->p.n, 7);
	/* d05's answer came without a prediction: a parse failure, paired like the others */
	assert_int_equal(row_of(&res, "ep", "answer", "parse_failures")->p.n, 8);
	assert_near(row_of(&res, "ep", "answer", "parse_failures")->p.mean_a, 1.0 / 8, 1e-12);
	assert_int_equal(row_of(&res, "ep", "answer", "failed_requests")->p.n, 8);
	assert_near(row_of(&res, "ep", "answer", "failed_requests")->p.mean_a, 0, 0);
	assert_int_equal(row_of(&res, "pe", "self", "comprehensiveness")->p.n, 8);
	sx_compare_text(&res, &text);
	assert_non_null(strstr(text.buf, "8 review ids in common (base 8, new 8)"));
	assert_non_null(strstr(text.buf, ": 0 regressed\n"));
	sx_compare_result_release(&res);
	sx_buf_release(&text);
	free(dir);
}

static void test_golden_direction(void **state)
{
	char *base = golden_run_small(), *worse = golden_copy("worse", worsen);
	char *improved = golden_copy("better", better);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	const struct sx_compare_row *c, *s;
	struct sx_err err;
	size_t i;

	(void)state;
	o.bootstrap = 200;
	/* a drop in comprehensiveness and a rise in sufficiency are regressions */
	assert_int_equal(compare_dirs(base, worse, &o, &res, &err), 0);
	c = row_of(&res, "pe", "self", "comprehensiveness");
	s = row_of(&res, "pe-topk", "self", "sufficiency");
	assert_int_equal(c->p.n, 8);
	assert_int_equal(s->p.n, 7); /* d07's top-k answer has no explanation */
	assert_near(c->p.mean_diff, -0.1, 1e-9);
	assert_near(s->p.mean_diff, 0.05, 1e-9);
	assert_near(c->p.mean_a - c->p.mean_b, -0.1, 1e-9);
	assert_true(c->p.ci_lo <= -0.1 + 1e-9 && c->p.ci_hi >= -0.1 - 1e-9);
	assert_true(c->regressed);
	assert_true(s->regressed);
	assert_false(c->improved);
	assert_false(s->improved);
	assert_true(c->p_holm < o.alpha && s->p_holm < o.alpha);
	assert_true(c->p_holm >= c->p.p_value);
	assert_int_equal(res.regressions, 2);
	for (i = 0; i < res.n; i++)
		if (&res.rows[i] != c && &res.rows[i] != s)
			assert_false(res.rows[i].regressed || res.rows[i].improved);
	sx_compare_result_release(&res);

	/* the same changes the other way round are improvements */
	assert_int_equal(compare_dirs(base, improved, &o, &res, &err), 0);
	c = row_of(&res, "pe", "self", "comprehensiveness");
	s = row_of(&res, "pe-topk", "self", "sufficiency");
	assert_true(c->improved && !c->regressed);
	assert_true(s->improved && !s->regressed);
	assert_int_equal(res.regressions, 0);
	sx_compare_result_release(&res);

	/* and swapping base and new turns the improvements into regressions */
	assert_int_equal(compare_dirs(improved, base, &o, &res, &err), 0);
	assert_int_equal(res.regressions, 2);
	assert_near(row_of(&res, "pe", "self", "comprehensiveness")->p.mean_diff, -0.1, 1e-9);
	sx_compare_result_release(&res);
	free(base);
	free(worse);
	free(improved);
}

/* ---------------------------------------------------------------- hand-written runs */

struct expect {
	const char *cond, *method, *metric;
	size_t n;
	double mean_diff, p, p_holm; /* NAN: undefined */
	int regressed, improved;
};

/* tests/unit/compare_ref.py, "all conditions" */
static const struct expect expected_all[] = {
	{ "pe", "answer", "accuracy", 8, 0, NAN, NAN, 0, 0 },
	{ "pe", "self", "comprehensiveness", 8, -0.225, 0.0078125, 0.046875, 1, 0 },
	{ "pe", "self", "sufficiency", 8, 0.045, 0.0078125, 0.046875, 1, 0 },
	{ "pe", "self", "df_mit", 8, 0.025, 0.1953125, 0.1953125, 0, 0 },
	{ "pe", "self", "rankdel", 8, 0, NAN, NAN, 0, 0 },
	{ "pe", "self", "aopc_comprehensiveness", 8, 0.0425, 0.015625, 0.046875, 0, 1 },
	{ "pe", "occlusion", "comprehensiveness", 6, 0.035, 0.03125, 0.0625, 0, 0 },
	{ "ep", "answer", "accuracy", 8, -1, 0.0078125, 0.046875, 1, 0 },
	{ "ep", "self", "comprehensiveness", 8, 0, NAN, NAN, 0, 0 },
	{ "ep", "self", "sufficiency", 8, 0, NAN, NAN, 0, 0 },
	{ "ep", "self", "df_mit", 8, 0, NAN, NAN, 0, 0 },
	{ "ep", "self", "rankdel", 8, 0, NAN, NAN, 0, 0 },
	{ "ep", "self", "aopc_comprehensiveness", 8, 0, NAN, NAN, 0, 0 },
	{ "ep", "occlusion", "comprehensiveness", 8, 0, NAN, NAN, 0, 0 },
};

static void check_rows(const struct sx_compare_result *res, const struct expect *e, size_t n)
{
	size_t i;

	assert_int_equal(res->n, n);
	for (i = 0; i < n; i++) {
		const struct sx_compare_row *r = &res->rows[i];

		/* rows in the order of the conditions of base's run.json, then of the metric list */
		assert_string_equal(r->condition, e[i].cond);
		assert_string_equal(r->method, e[i].method);
		assert_string_equal(r->metric, e[i].metric);
		assert_int_equal(r->p.n, e[i].n);
		assert_near(r->p.mean_diff, e[i].mean_diff, 1e-9);
		if (isnan(e[i].p)) {
			assert_true(isnan(r->p.p_value));
			assert_true(isnan(r->p_holm));
		} else {
			assert_near(r->p.p_value, e[i].p, 1e-7);
			assert_near(r->p_holm, e[i].p_holm, 1e-7);
		}
		if (r->regressed != e[i].regressed || r->improved != e[i].improved)
			fail_msg("%s/%s/%s: regressed %d improved %d, expected %d %d", r->condition,
				 r->method, r->metric, r->regressed, r->improved, e[i].regressed,
				 e[i].improved);
		assert_false(r->lost);
	}
}

static void test_hand_verdicts(void **state)
{
	struct hand hb = { 0, NULL, NULL, NULL }, hn = { H_NEW, NULL, NULL, NULL };
	char *base = hand_run("hbase", &hb), *cur = hand_run("hnew", &hn);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_err err;

	(void)state;
	o.metrics = HAND_METRICS;
	o.bootstrap = 500;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	check_rows(&res, expected_all, sizeof(expected_all) / sizeof(expected_all[0]));
	assert_int_equal(res.regressions, 3);
	assert_int_equal(res.holm_m, 6); /* compare_ref.py: "Holm over 6 p-values" */
	assert_int_equal(res.common, 8);
	assert_int_equal(res.base_reviews, 8);
	assert_int_equal(res.new_reviews, 8);
	assert_true(res.tolerance == o.tolerance && res.alpha == o.alpha);
	/* the sufficiency drop is the base's mean and new's, 0.045 apart */
	assert_near(row_of(&res, "pe", "self", "sufficiency")->p.mean_a -
			    row_of(&res, "pe", "self", "sufficiency")->p.mean_b, 0.045, 1e-9);
	assert_true(row_of(&res, "pe", "self", "comprehensiveness")->p.exact);
	/* eight tied differences: still the exact distribution (a sign test, 2/256) */
	assert_true(row_of(&res, "ep", "answer", "accuracy")->p.exact);
	sx_compare_result_release(&res);
	assert_null(res.rows);
	assert_int_equal(res.n, 0);
	free(base);
	free(cur);
}

static void test_tolerance_alpha(void **state)
{
	struct hand hb = { 0, NULL, NULL, NULL }, hn = { H_NEW, NULL, NULL, NULL };
	char *base = hand_run("tbase", &hb), *cur = hand_run("tnew", &hn);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_err err;

	(void)state;
	o.metrics = HAND_METRICS;
	o.bootstrap = 200;
	/* tolerance 0.5: only accuracy's drop of 1 is beyond it */
	o.tolerance = 0.5;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	assert_int_equal(res.regressions, 1);
	assert_true(row_of(&res, "ep", "answer", "accuracy")->regressed);
	assert_false(row_of(&res, "pe", "self", "comprehensiveness")->regressed);
	assert_false(row_of(&res, "pe", "self", "aopc_comprehensiveness")->improved);
	sx_compare_result_release(&res);
	/* a change equal to the tolerance is allowed */
	o.tolerance = 1.0;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	assert_int_equal(res.regressions, 0);
	sx_compare_result_release(&res);
	/* alpha 0.047: accuracy, comprehensiveness, sufficiency and the aopc improvement
	 * (all Holm-adjusted to 0.046875) still significant */
	o.tolerance = 0.01;
	o.alpha = 0.047;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	assert_int_equal(res.regressions, 3);
	assert_true(row_of(&res, "pe", "self", "aopc_comprehensiveness")->improved);
	sx_compare_result_release(&res);
	/* alpha 0.046: nothing is significant after Holm, though three raw p are < 0.01 */
	o.alpha = 0.046;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	assert_int_equal(res.regressions, 0);
	assert_true(row_of(&res, "ep", "answer", "accuracy")->p.p_value < 0.01);
	sx_compare_result_release(&res);
	free(base);
	free(cur);
}

static void test_conditions_filter(void **state)
{
	struct hand hb = { 0, NULL, NULL, NULL }, hn = { H_NEW, NULL, NULL, NULL };
	char *base = hand_run("fbase", &hb), *cur = hand_run("fnew", &hn);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct expect e[7];
	struct sx_err err;
	size_t i;

	(void)state;
	/* compare_ref.py, "conditions ep": Holm over one p-value leaves it as it is */
	for (i = 0; i < 7; i++)
		e[i] = expected_all[7 + i];
	e[0].p_holm = e[0].p;
	o.metrics = HAND_METRICS;
	o.conditions = "ep";
	o.bootstrap = 200;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	check_rows(&res, e, 7);
	assert_int_equal(res.regressions, 1);
	assert_int_equal(res.holm_m, 1);
	sx_compare_result_release(&res);
	/* a listed condition that is not in the runs is not compared */
	o.conditions = "pe-topk,ep";
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	assert_int_equal(res.n, 7);
	sx_compare_result_release(&res);
	/* no listed condition in the runs */
	o.conditions = "e";
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "no prompt condition in common"));
	sx_compare_result_release(&res);
	free(base);
	free(cur);
}

static void test_lost_metric(void **state)
{
	struct hand hb = { 0, NULL, NULL, NULL }, hl = { H_LOST, NULL, NULL, NULL };
	char *base = hand_run("lbase", &hb), *lost = hand_run("llost", &hl);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	const struct sx_compare_row *r;
	struct sx_buf text = SX_BUF_INIT;
	struct sx_err err;

	(void)state;
	o.metrics = "comprehensiveness,sufficiency";
	o.conditions = "pe";
	o.bootstrap = 100;
	/* defined in base, undefined for every review of new: regressed, whatever p says */
	assert_int_equal(compare_dirs(base, lost, &o, &res, &err), 0);
	r = row_of(&res, "pe", "self", "comprehensiveness");
	assert_true(r->lost);
	assert_true(r->regressed);
	assert_int_equal(r->p.n, 0);
	assert_true(isnan(r->p.p_value));
	assert_false(row_of(&res, "pe", "self", "sufficiency")->regressed);
	assert_int_equal(res.regressions, 1);
	sx_compare_text(&res, &text);
	assert_non_null(strstr(text.buf, "REGRESSED (no value in new)"));
	assert_non_null(strstr(text.buf, ": 1 regressed\n"));
	sx_compare_result_release(&res);
	/* the other way round, a metric that appears is no regression */
	assert_int_equal(compare_dirs(lost, base, &o, &res, &err), 0);
	r = row_of(&res, "pe", "self", "comprehensiveness");
	assert_false(r->lost);
	assert_false(r->regressed);
	assert_int_equal(res.regressions, 0);
	sx_compare_result_release(&res);
	sx_buf_release(&text);
	free(base);
	free(lost);
}

static void test_parse_failures(void **state)
{
	struct hand hb = { 0, NULL, NULL, NULL }, h3 = { H_UNPARSEABLE3, NULL, NULL, NULL };
	struct hand h8 = { H_UNPARSEABLE8, NULL, NULL, NULL };
	char *base = hand_run("pbase", &hb), *p3 = hand_run("p3", &h3), *p8 = hand_run("p8", &h8);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	const struct sx_compare_row *pf, *acc;
	struct sx_err err;

	(void)state;
	o.metrics = "parse_failures,accuracy";
	o.conditions = "ep";
	o.bootstrap = 100;
	/* 3 of 8 unparseable: +0.375, p = 2/8 (compare_ref.py: three tied differences), not significant */
	assert_int_equal(compare_dirs(base, p3, &o, &res, &err), 0);
	pf = row_of(&res, "ep", "answer", "parse_failures");
	acc = row_of(&res, "ep", "answer", "accuracy");
	assert_int_equal(pf->higher_better, 0);
	assert_int_equal(pf->p.n, 8);
	assert_near(pf->p.mean_diff, 0.375, 1e-12);
	assert_near(pf->p.p_value, 0.25, 1e-12);
	assert_false(pf->regressed);
	/* accuracy over the usable answers only: the 5 left, all right in both */
	assert_int_equal(acc->p.n, 5);
	assert_false(acc->regressed);
	sx_compare_result_release(&res);
	/* all 8 unparseable: parse failures rise significantly, accuracy is lost */
	assert_int_equal(compare_dirs(base, p8, &o, &res, &err), 0);
	pf = row_of(&res, "ep", "answer", "parse_failures");
	acc = row_of(&res, "ep", "answer", "accuracy");
	assert_near(pf->p.mean_diff, 1, 1e-12);
	assert_near(pf->p.p_value, 0.0078125, 1e-12);
	assert_near(pf->p_holm, 0.0078125, 1e-12); /* the only p-value */
	assert_true(pf->regressed);
	assert_true(acc->lost);
	assert_true(acc->regressed);
	assert_int_equal(res.regressions, 2);
	sx_compare_result_release(&res);
	free(base);
	free(p3);
	free(p8);
}

/* A prediction-only run: condition pred, one prediction record per review. */
static char *pred_run(const char *name, int wrong)
{
	char *dir = fixture_dir(name);
	struct sx_buf rec = SX_BUF_INIT;
	size_t i;

	fixture_write(dir, "run.json", "{\"model\":{\"name\":\"sim\"},\"prob\":\"verbal\","
		      "\"conditions\":[\"pred\"]}\n", (size_t)-1);
	for (i = 0; i < NREV; i++)
		sx_buf_addf(&rec, "{\"id\":\"r%zu\",\"condition\":\"pred\",\"method\":\"prediction\","
			    "\"tokens\":[\"t%zu\"],\"gold\":1,\"prediction\":{\"label\":%d,"
			    "\"confidence\":0.8},\"status\":\"ok\"}\n", i + 1, i, wrong ? 0 : 1);
	fixture_write(dir, "records.jsonl", rec.buf, rec.len);
	sx_buf_release(&rec);
	return dir;
}

static void test_prediction_only(void **state)
{
	char *base = pred_run("predbase", 0), *cur = pred_run("prednew", 1);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	const struct sx_compare_row *r;
	struct sx_err err;

	(void)state;
	o.bootstrap = 100;
	/* the default metrics: a prediction-only answer has accuracy and the failure rates,
	 * no faithfulness */
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	assert_int_equal(res.n, 3);
	assert_int_equal(res.common, 8);
	r = row_of(&res, "pred", "answer", "accuracy");
	assert_int_equal(r->p.n, 8);
	assert_near(r->p.mean_diff, -1, 1e-12);
	assert_near(r->p.p_value, 0.0078125, 1e-12); /* as ep accuracy in compare_ref.py */
	assert_true(r->regressed);
	assert_int_equal(res.regressions, 1);
	sx_compare_result_release(&res);
	free(base);
	free(cur);
}

/*
 * The gate against partial parse failures (and failed requests): 40 reviews
 * under ep; in new, the answers of the first nbad no longer parse and the
 * requests of the next nfail failed. Everything else is the same in both.
 */
#define GATE_REV 40

static char *gate_run(const char *name, size_t nbad, size_t nfail)
{
	char *dir = fixture_dir(name);
	struct sx_buf rec = SX_BUF_INIT;
	size_t i;

	fixture_write(dir, "run.json", "{\"model\":{\"name\":\"sim\"},\"prob\":\"verbal\","
		      "\"conditions\":[\"ep\"]}\n", (size_t)-1);
	for (i = 0; i < GATE_REV; i++) {
		sx_buf_addf(&rec, "{\"id\":\"g%zu\",\"condition\":\"ep\",\"method\":\"self\","
			    "\"tokens\":[\"t%zu\",\"u\"],\"gold\":%d,", i, i, (int)(i % 2));
		if (i < nbad)
			sx_buf_adds(&rec, "\"prediction\":null,\"status\":\"no_prediction\","
					  "\"metrics\":{}}\n");
		else if (i < nbad + nfail)
			sx_buf_adds(&rec, "\"prediction\":null,\"status\":\"failed\",\"metrics\":{}}\n");
		else
			sx_buf_addf(&rec, "\"prediction\":{\"label\":%d,\"confidence\":0.8},"
				    "\"status\":\"ok\",\"metrics\":{\"comprehensiveness\":0.%zu,"
				    "\"sufficiency\":0.1,\"rankdel\":0.5}}\n", i % 3 ? 1 : 0, 10 + i);
	}
	fixture_write(dir, "records.jsonl", rec.buf, rec.len);
	sx_buf_release(&rec);
	return dir;
}

static void test_gate_parse_failures(void **state)
{
	char *base = gate_run("gbase", 0, 0), *cur = gate_run("gnew", 10, 6);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	const struct sx_compare_row *pf, *fr, *acc;
	struct sx_buf text = SX_BUF_INIT;
	struct sx_err err;

	(void)state;
	o.bootstrap = 200;
	/*
	 * Accuracy alone is paired over the 24 reviews usable in both runs,
	 * where nothing changed: it passes, although 16 of 40 answers are gone.
	 */
	o.metrics = "accuracy";
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	assert_int_equal(res.regressions, 0);
	assert_int_equal(row_of(&res, "ep", "answer", "accuracy")->p.n, 24);
	sx_compare_result_release(&res);
	/*
	 * The explanation metrics, paired over the 24 reviews they have values
	 * for in both, did not change either; each gets a METRIC_defined row
	 * (the share of the 40 reviews it has a value for: 1 in base, 24/40 in
	 * new; 16 differences of -1, exact p = 2/2^16), which regresses.
	 */
	o.metrics = "comprehensiveness,sufficiency,rankdel";
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	{
		const struct sx_compare_row *c = row_of(&res, "ep", "self", "comprehensiveness");
		const struct sx_compare_row *d = row_of(&res, "ep", "self", "comprehensiveness_defined");

		assert_int_equal(c->p.n, 24);
		assert_false(c->regressed);
		assert_non_null(d);
		assert_true(d->higher_better);
		assert_int_equal(d->p.n, 40);
		assert_near(d->p.mean_b, 1.0, 1e-15);
		assert_near(d->p.mean_a, 0.6, 1e-15);
		assert_near(d->p.p_value, 2.0 / 65536.0, 1e-15);
		assert_true(d->regressed);
		assert_non_null(row_of(&res, "ep", "self", "sufficiency_defined"));
		assert_non_null(row_of(&res, "ep", "self", "rankdel_defined"));
		assert_int_equal(res.regressions, 3);
	}
	sx_compare_result_release(&res);
	/* the same runs: no METRIC_defined row where both have the same reviews' values */
	assert_int_equal(compare_dirs(base, base, &o, &res, &err), 0);
	assert_int_equal(res.n, 3); /* comprehensiveness, sufficiency, rankdel */
	sx_compare_result_release(&res);
	/*
	 * The default gate now (compare_ref.py, "gate"): parse_failures over the
	 * 34 reviews answered in both, 10 differences of +1: exact p = 2/2^10;
	 * failed_requests over all 40, 6 of +1: p = 2/2^6; the three
	 * METRIC_defined rows p = 2/2^16 each. The Holm family is those five
	 * (the others have no p): the defined rows 5, 4, 3 x 2^-15, then
	 * 2 x 2^-9 = 0.00390625 and max(that, 1 x 0.03125) = 0.03125. All five
	 * regressed; accuracy did not.
	 */
	o.metrics = NULL;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	pf = row_of(&res, "ep", "answer", "parse_failures");
	fr = row_of(&res, "ep", "answer", "failed_requests");
	acc = row_of(&res, "ep", "answer", "accuracy");
	assert_int_equal(pf->p.n, 34);
	assert_near(pf->p.mean_diff, 10.0 / 34, 1e-12);
	assert_true(pf->p.exact);
	assert_near(pf->p.p_value, 0.001953125, 1e-15);
	assert_near(pf->p_holm, 0.00390625, 1e-15);
	assert_true(pf->regressed);
	assert_int_equal(fr->p.n, 40);
	assert_near(fr->p.mean_diff, 6.0 / 40, 1e-12);
	assert_near(fr->p.p_value, 0.03125, 1e-15);
	assert_near(fr->p_holm, 0.03125, 1e-15);
	assert_true(fr->regressed);
	assert_int_equal(acc->p.n, 24);
	assert_false(acc->regressed);
	assert_int_equal(res.holm_m, 5);
	assert_int_equal(res.regressions, 5);
	assert_near(row_of(&res, "ep", "self", "rankdel_defined")->p_holm, 5.0 / 32768.0, 1e-15);
	sx_compare_text(&res, &text);
	assert_non_null(strstr(text.buf, "(Holm across the 5 of 9 comparisons with a p-value"));
	sx_compare_result_release(&res);
	/* the failure rates alone, the other way round: improvements, no regression */
	o.metrics = "parse_failures,failed_requests";
	assert_int_equal(compare_dirs(cur, base, &o, &res, &err), 0);
	assert_int_equal(res.regressions, 0);
	assert_true(row_of(&res, "ep", "answer", "parse_failures")->improved);
	assert_true(row_of(&res, "ep", "answer", "failed_requests")->improved);
	sx_compare_result_release(&res);
	/* failed_requests belongs to the answer, like accuracy */
	o.metrics = "lime:failed_requests";
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "belongs to the answer"));
	sx_buf_release(&text);
	free(base);
	free(cur);
}

/* ---------------------------------------------------------------- refusals */

static void expect_refusal(const char *name, const struct hand *h, const char *msg1,
			   const char *msg2)
{
	struct hand hb = { 0, NULL, NULL, NULL };
	char *base = hand_run("rbase", &hb), *cur = hand_run(name, h);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_err err;

	o.bootstrap = 50;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), SX_EINPUT);
	if (!strstr(err.msg, msg1) || (msg2 && !strstr(err.msg, msg2)))
		fail_msg("%s: message '%s' lacks '%s' / '%s'", name, err.msg, msg1,
			 msg2 ? msg2 : "");
	assert_null(res.rows);
	assert_int_equal(res.regressions, 0);
	sx_compare_result_release(&res);
	free(base);
	free(cur);
}

static void test_refusals(void **state)
{
	struct hand paper = { 0, NULL, NULL, "paper" }, model = { 0, "sim-2", NULL, NULL };
	struct hand prob = { 0, NULL, "logprobs", NULL }, text = { H_OTHER_TEXT, NULL, NULL, NULL };
	struct hand ids = { H_OTHER_IDS, NULL, NULL, NULL }, pred = { H_ONLY_PRED, NULL, NULL, NULL };
	struct hand none = { H_NEW, NULL, NULL, "none" };
	struct hand hb = { 0, NULL, NULL, NULL };
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_err err;
	char *a, *b;

	(void)state;
	expect_refusal("paper", &paper, "different metric definitions: --compat 'none'", "'paper'");
	expect_refusal("model", &model, "different models: 'sim' in", "'sim-2' in");
	expect_refusal("prob", &prob, "different probability sources: 'verbal'", "'logprobs'");
	expect_refusal("text", &text, "different data: review 'r3' has different text", NULL);
	expect_refusal("ids", &ids, "no review ids in common: 8 reviews in", NULL);
	expect_refusal("pred", &pred, "no prompt condition in common", NULL);

	/* "compat": "none" is what runs from before --compat are */
	a = hand_run("cbase", &hb);
	b = hand_run("cnone", &none);
	o.bootstrap = 50;
	assert_int_equal(compare_dirs(a, b, &o, &res, &err), 0);
	sx_compare_result_release(&res);
	/* both under paper compare */
	free(b);
	b = hand_run("cpaper", &paper);
	free(a);
	a = hand_run("cpaper2", &paper);
	assert_int_equal(compare_dirs(a, b, &o, &res, &err), 0);
	sx_compare_result_release(&res);
	free(a);
	free(b);
}

static void test_metric_specs(void **state)
{
	static const char *const bad[][2] = {
		{ "accuracy,speed", "unknown metric 'speed'" },
		{ "shap:rankdel", "unknown method 'shap'" },
		{ "lime:accuracy", "belongs to the answer" },
		{ "occlusion:parse_failures", "belongs to the answer" },
		{ "comprehensivenes", "unknown metric 'comprehensivenes'" },
		{ "Accuracy", "unknown metric 'Accuracy'" },
		{ ",,", "no metric to compare" },
		{ "", "no metric to compare" },
	};
	struct hand hb = { 0, NULL, NULL, NULL };
	char *dir = hand_run("specs", &hb);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_buf many = SX_BUF_INIT;
	struct sx_err err;
	size_t i;

	(void)state;
	o.bootstrap = 50;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.metrics = bad[i][0];
		assert_int_equal(compare_dirs(dir, dir, &o, &res, &err), SX_EINPUT);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i][0], err.msg, bad[i][1]);
		memset(&err, 0, sizeof(err));
		if (!strncmp(bad[i][0], "shap:", 5)) /* could be a method of an --explanations file */
			assert_int_equal(sx_compare_check_metrics(bad[i][0], &err), 0);
		else
			assert_int_equal(sx_compare_check_metrics(bad[i][0], &err), SX_EINPUT);
		if (strncmp(bad[i][0], "shap:", 5))
			assert_non_null(strstr(err.msg, bad[i][1]));
		sx_compare_result_release(&res);
	}
	for (i = 0; i < SX_COMPARE_MAX_METRICS; i++)
		sx_buf_adds(&many, i ? ",rankdel" : "rankdel");
	assert_int_equal(sx_compare_check_metrics(many.buf, NULL), 0);
	sx_buf_adds(&many, ",rankdel");
	assert_int_equal(sx_compare_check_metrics(many.buf, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "more than 32 metrics"));
	/* every documented metric, bare and per method */
	assert_int_equal(sx_compare_check_metrics("accuracy,parse_failures,comprehensiveness,"
						  "sufficiency,df_mit,df_frac,rankdel,"
						  "aopc_comprehensiveness,aopc_sufficiency", NULL), 0);
	assert_int_equal(sx_compare_check_metrics("self:rankdel,occlusion:rankdel,lime:df_frac,"
						  "lime:aopc_sufficiency", NULL), 0);
	/* a good list with an empty item is fine */
	o.metrics = "accuracy,,sufficiency,";
	assert_int_equal(compare_dirs(dir, dir, &o, &res, &err), 0);
	assert_int_equal(res.n, 4);
	sx_compare_result_release(&res);
	sx_buf_release(&many);
	free(dir);
}

/* ---------------------------------------------------------------- renderings */

static void test_renderings(void **state)
{
	struct hand hb = { 0, NULL, NULL, NULL }, hn = { H_NEW, NULL, NULL, NULL };
	char *base = hand_run("obase", &hb), *cur = hand_run("onew", &hn);
	struct sx_compare_opts o = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_buf b = SX_BUF_INIT;
	struct sx_err err;

	(void)state;
	o.metrics = HAND_METRICS;
	o.bootstrap = 200;
	assert_int_equal(compare_dirs(base, cur, &o, &res, &err), 0);
	sx_compare_text(&res, &b);
	assert_int_equal(count_of(b.buf, "REGRESSED"), 3);
	assert_int_equal(count_of(b.buf, " improved\n"), 1);
	assert_non_null(strstr(b.buf, "comprehensiveness (up)"));
	assert_non_null(strstr(b.buf, "sufficiency (down)"));
	/* the family is the 6 rows with a p-value (compare_ref.py), not all 14 */
	assert_non_null(strstr(b.buf, "(Holm across the 6 of 14 comparisons with a p-value; '-': "
				      "every difference zero): 3 regressed\n"));
	sx_buf_reset(&b);
	sx_compare_markdown(&res, &b);
	assert_non_null(strstr(b.buf, "Holm across the 6 of 14 comparisons with a p-value"));
	assert_non_null(strstr(b.buf, "### selfexp compare: 3 metrics regressed"));
	assert_int_equal(count_of(b.buf, "**regressed**"), 3);
	assert_non_null(strstr(b.buf, "| P-E | occlusion comprehensiveness"));
	assert_non_null(strstr(b.buf, "| E-P | accuracy"));
	sx_buf_reset(&b);
	sx_compare_junit(&res, &b);
	assert_non_null(strstr(b.buf, "tests=\"14\" failures=\"3\""));
	assert_int_equal(count_of(b.buf, "<testcase "), 14);
	assert_int_equal(count_of(b.buf, "<failure "), 3);
	assert_non_null(strstr(b.buf, "classname=\"selfexp.ep.answer\" name=\"accuracy\"><failure"));
	sx_compare_result_release(&res);
	sx_buf_release(&b);
	free(base);
	free(cur);
}

/* The Markdown's verdict lines from hand-made rows: exact text, Holm's p (not the raw one). */
static void verdict_row(struct sx_compare_row *r, const char *metric, const char *method, int up,
			double b, double a, double lo, double hi, double p, double holm, size_t n)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->condition, sizeof(r->condition), "ep");
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	r->higher_better = up;
	r->p.n = n;
	r->p.mean_b = b;
	r->p.mean_a = a;
	r->p.mean_diff = a - b;
	r->p.ci_lo = lo;
	r->p.ci_hi = hi;
	r->p.p_value = p;
	r->p_holm = holm;
}

static void test_verdict_lines(void **state)
{
	struct sx_compare_row rows[7];
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_buf b = SX_BUF_INIT;
	const char *want =
		"### selfexp compare: 2 metrics regressed\n\n"
		"- comprehensiveness (ep/self): 0.412 -> 0.371 (-0.041, 95% CI [-0.060, -0.020], "
		"Holm p = 0.003, n = 40): **worse**\n"
		"- sufficiency (ep/lime): 0.100 -> 0.080 (-0.020, 95% CI [-0.030, -0.010], "
		"Holm p = 0.040, n = 40): better\n"
		"- rankdel (ep/occlusion): 0.500 -> 0.495 (-0.005, 95% CI [-0.009, -0.001], "
		"Holm p = 0.020, n = 40): worse, within the tolerance\n"
		"- df_frac (ep/self): 0.500 -> 0.495 (-0.005, 95% CI [-0.009, -0.001], "
		"Holm p < 0.001, n = 40): better, within the tolerance\n"
		"- accuracy (ep): 0.900 -> 0.875 (-0.025, 95% CI [-0.075, +0.000], "
		"Holm p = 0.500, n = 40): no significant change\n"
		"- parse_failures (ep): 0.000 -> 0.000 (every one of the 40 differences is zero): "
		"unchanged\n"
		"- df_mit (ep/self): **worse**: no value in the new run\n\n";

	(void)state;
	verdict_row(&rows[0], "comprehensiveness", "self", 1, 0.412, 0.371, -0.06, -0.02, 0.001, 0.003, 40);
	rows[0].regressed = 1;
	verdict_row(&rows[1], "sufficiency", "lime", 0, 0.1, 0.08, -0.03, -0.01, 0.01, 0.04, 40);
	rows[1].improved = 1;
	verdict_row(&rows[2], "rankdel", "occlusion", 1, 0.5, 0.495, -0.009, -0.001, 0.01, 0.02, 40);
	verdict_row(&rows[3], "df_frac", "self", 0, 0.5, 0.495, -0.009, -0.001, 1e-5, 1e-4, 40);
	verdict_row(&rows[4], "accuracy", "answer", 1, 0.9, 0.875, -0.075, 0, 0.25, 0.5, 40);
	verdict_row(&rows[5], "parse_failures", "answer", 0, 0, 0, 0, 0, NAN, NAN, 40);
	verdict_row(&rows[6], "df_mit", "self", 1, NAN, NAN, NAN, NAN, NAN, NAN, 0);
	rows[6].lost = rows[6].regressed = 1;
	res.rows = rows;
	res.n = 7;
	res.regressions = 2;
	res.alpha = 0.05;
	res.tolerance = 0.01;
	sx_compare_markdown(&res, &b);
	assert_true(b.len > strlen(want));
	if (strncmp(b.buf, want, strlen(want)))
		fail_msg("got:\n%.*s\nwanted:\n%s", (int)strlen(want), b.buf, want);
	sx_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_identical),
		cmocka_unit_test(test_golden_direction),
		cmocka_unit_test(test_hand_verdicts),
		cmocka_unit_test(test_tolerance_alpha),
		cmocka_unit_test(test_conditions_filter),
		cmocka_unit_test(test_lost_metric),
		cmocka_unit_test(test_parse_failures),
		cmocka_unit_test(test_prediction_only),
		cmocka_unit_test(test_gate_parse_failures),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_metric_specs),
		cmocka_unit_test(test_renderings),
		cmocka_unit_test(test_verdict_lines),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
