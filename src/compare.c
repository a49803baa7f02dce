#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/compare.h"
#include "selfexp/json.h"
#include "selfexp/registry.h"
#include "selfexp/rundir.h"

/* ---------------------------------------------------------------- metrics */

/*
 * The gated metrics are the registry's answer and faithfulness metrics
 * (registry.h): names, directions and which belong to a method come from
 * there.
 */
struct spec {
	const struct sx_metric_def *def;
	char method[SX_METHOD_NAME_MAX + 1]; /* self, occlusion, lime or a method from a file */
};

static int gated(const struct sx_metric_def *m)
{
	return m && (m->kind == SX_METRIC_ANSWER || m->kind == SX_METRIC_FAITH);
}

static int unknown_metric(const char *name, size_t nlen, struct sx_err *err)
{
	struct sx_buf names = SX_BUF_INIT;
	size_t i;
	int rc;

	for (i = 0; i < sx_nmetrics; i++)
		if (gated(&sx_metrics[i]))
			sx_buf_addf(&names, "%s%s", names.len ? ", " : "", sx_metrics[i].key);
	rc = sx_err_set(err, SX_EINPUT, "unknown metric '%.*s' (expected one of %s, optionally "
			"METHOD:METRIC)", (int)nlen, name, names.buf);
	sx_buf_release(&names);
	return rc;
}

static int parse_spec(const char *item, size_t len, struct spec *sp, struct sx_err *err)
{
	const char *colon = memchr(item, ':', len);
	const char *name = colon ? colon + 1 : item;
	size_t nlen = colon ? len - (size_t)(colon - item) - 1 : len;
	char key[64];
	enum sx_method m;

	snprintf(sp->method, sizeof(sp->method), "self");
	if (colon) {
		size_t mlen = (size_t)(colon - item);

		snprintf(key, sizeof(key), "%.*s", (int)(mlen < sizeof(key) ? mlen : sizeof(key) - 1), item);
		/* a built-in explainer, or a method of an --explanations file (any allowed name) */
		if (mlen >= sizeof(key) ||
		    (sx_method_from_name(key, &m) && sx_method_name_check(key, NULL)))
			return sx_err_set(err, SX_EINPUT, "unknown method '%.*s' in '%.*s' (expected "
					  "self, occlusion, lime or the name of a method from "
					  "--explanations)", (int)mlen, item, (int)len, item);
		snprintf(sp->method, sizeof(sp->method), "%.*s", SX_METHOD_NAME_MAX,
			 sx_method_from_name(key, &m) ? key : sx_methods[m].name);
	}
	snprintf(key, sizeof(key), "%.*s", (int)(nlen < sizeof(key) ? nlen : sizeof(key) - 1), name);
	sp->def = nlen < sizeof(key) ? sx_metric_find(key) : NULL;
	if (!gated(sp->def))
		return unknown_metric(name, nlen, err);
	if (sp->def->kind != SX_METRIC_FAITH && colon)
		return sx_err_set(err, SX_EINPUT, "'%.*s': %s belongs to the answer, "
				  "not to a method", (int)len, item, sp->def->key);
	return 0;
}

static int parse_specs(const char *list, struct spec *out, size_t *n, struct sx_err *err)
{
	const char *p = list, *comma;
	int rc;

	*n = 0;
	while (*p) {
		size_t len;
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (len) {
			if (*n == SX_COMPARE_MAX_METRICS)
				return sx_err_set(err, SX_EINPUT, "more than %d metrics",
						  SX_COMPARE_MAX_METRICS);
			rc = parse_spec(p, len, &out[*n], err);
			if (rc)
				return rc;
			(*n)++;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	if (!*n)
		return sx_err_set(err, SX_EINPUT, "no metric to compare");
	return 0;
}

int sx_compare_check_metrics(const char *list, struct sx_err *err)
{
	struct spec sp[SX_COMPARE_MAX_METRICS];
	size_t n;

	return parse_specs(list, sp, &n, err);
}

/* ---------------------------------------------------------------- pairing */

/* The status records.jsonl gives an elicitation whose request failed (src/run/records.c). */
#define STATUS_FAILED "failed"

/*
 * A metric's value for one review's record, NaN when it has none:
 * accuracy over the usable predictions; parse_failures 1 when the answer came
 * but gave no usable prediction, 0 when it did, NaN when the request failed
 * (there was nothing to parse); failed_requests 1 when it failed, else 0. A
 * review thus counts in one of the two failure rates, never in both, and
 * every review of both runs is paired for failed_requests.
 */
static double value_of(const struct spec *sp, const struct sx_json *rec)
{
	const char *status = sx_json_get_str(rec, "status");
	int failed = status && !strcmp(status, STATUS_FAILED);
	double gold, label;

	if (sp->def->kind == SX_METRIC_FAITH)
		return sx_json_num_or_nan(sx_json_get(rec, "metrics"), sp->def->key);
	if (!strcmp(sp->def->key, "accuracy")) {
		if (!sx_rundir_status_usable_prediction(status))
			return NAN;
		gold = sx_json_num_or_nan(rec, "gold");
		label = sx_json_num_or_nan(sx_json_get(rec, "prediction"), "label");
		if (!isfinite(gold) || !isfinite(label))
			return NAN;
		return gold == label ? 1.0 : 0.0;
	}
	if (!strcmp(sp->def->key, "failed_requests"))
		return failed ? 1.0 : 0.0;
	/* parse_failures */
	if (failed)
		return NAN;
	return sx_rundir_status_usable_prediction(status) ? 0.0 : 1.0;
}

/* The record method a spec reads in a condition, or NULL when it has none. */
static const char *record_method(const struct spec *sp, const struct sx_rundir *rd,
				 const char *id, const char *cond)
{
	const struct sx_json *own;

	if (sp->def->kind != SX_METRIC_FAITH) {
		own = sx_rundir_answer_record(rd, id, cond);
		return own ? sx_json_str_or(own, "method", NULL) : NULL;
	}
	if (strcmp(sp->method, "self"))
		return sp->method;
	own = sx_rundir_answer_record(rd, id, cond);
	if (!own || !strcmp(sx_json_str_or(own, "method", ""), "prediction"))
		return NULL;
	return sx_json_str_or(own, "method", NULL);
}

static int same_tokens(const struct sx_json *a, const struct sx_json *b)
{
	const struct sx_json *ta = sx_json_get(a, "tokens"), *tb = sx_json_get(b, "tokens");
	size_t i, n = sx_json_len(ta);
	const char *x, *y;

	if (n != sx_json_len(tb))
		return 0;
	for (i = 0; i < n; i++) {
		x = sx_json_str(sx_json_at(ta, i));
		y = sx_json_str(sx_json_at(tb, i));
		if (!x || !y || strcmp(x, y))
			return 0;
	}
	return 1;
}

static int in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);
		if (l == len && !strncmp(p, name, len))
			return 1;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* The reviews of a run: ids of the answer records, in order, with the first one's record. */
static size_t count_ids(const struct sx_rundir *rd)
{
	const char *first_cond = NULL;
	size_t i, n = 0;

	for (i = 0; i < rd->nrecords; i++) {
		const char *m = sx_json_str_or(rd->records[i], "method", "");
		const char *c = sx_json_str_or(rd->records[i], "condition", "");
		if (strcmp(m, "self") && strcmp(m, "topk") && strcmp(m, "prediction"))
			continue;
		if (!first_cond)
			first_cond = c;
		n += !strcmp(c, first_cond);
	}
	return n;
}

/* The run's --compat mode; runs from before the option are "none". */
static const char *run_compat(const struct sx_rundir *rd)
{
	const char *c = sx_json_get_str(rd->run, "compat");

	return c ? c : "none";
}

static int check_comparable(const struct sx_rundir *base, const struct sx_rundir *cur,
			    struct sx_err *err)
{
	const char *mb = sx_json_get_str(sx_json_get(base->run, "model"), "name");
	const char *mn = sx_json_get_str(sx_json_get(cur->run, "model"), "name");
	const char *pb = sx_json_get_str(base->run, "prob"), *pn = sx_json_get_str(cur->run, "prob");

	if (!mb || !mn || strcmp(mb, mn))
		return sx_err_set(err, SX_EINPUT, "the runs are of different models: '%s' in '%s', "
				  "'%s' in '%s'", mb ? mb : "?", base->dir, mn ? mn : "?", cur->dir);
	if (!pb || !pn || strcmp(pb, pn))
		return sx_err_set(err, SX_EINPUT, "the runs use different probability sources: "
				  "'%s' in '%s', '%s' in '%s'", pb ? pb : "?", base->dir,
				  pn ? pn : "?", cur->dir);
	if (strcmp(run_compat(base), run_compat(cur)))
		return sx_err_set(err, SX_EINPUT, "the runs use different metric definitions: "
				  "--compat '%s' in '%s', '%s' in '%s'", run_compat(base), base->dir,
				  run_compat(cur), cur->dir);
	return 0;
}

/*
 * SX_COMPARE_PARTIAL when run.json says the run is partial,
 * SX_COMPARE_NOT_KNOWN when it does not say (damaged), else 0; *failed its
 * failed requests, -1 unknown.
 */
static int run_partial(const struct sx_rundir *rd, long *failed, long *skipped)
{
	double d;

	*failed = *skipped = -1;
	if (!sx_json_num(sx_json_get(sx_json_get(rd->run, "failures"), "requests"), &d))
		*failed = (long)d;
	if (!sx_json_num(sx_json_get(sx_json_get(rd->run, "counts"), "skipped"), &d))
		*skipped = (long)d;
	switch (sx_rundir_run_complete(rd->run)) {
	case 1: return 0;
	case 0: return SX_COMPARE_PARTIAL;
	default: return SX_COMPARE_NOT_KNOWN;
	}
}

/* Names read of a run's counts.models_served (the engine records at most 8). */
#define SERVED_NAMES_MAX 16

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of run.json counts.models_served into out[SX_COMPARE_MODELS_MAX] (see compare.h). */
static void served_models(const struct sx_rundir *rd, char *out)
{
	const struct sx_json *m = sx_json_get(sx_json_get(rd->run, "counts"), "models_served"), *c;
	const char *names[SERVED_NAMES_MAX];
	struct sx_buf b = SX_BUF_INIT;
	size_t n = 0, i, k;

	for (c = sx_json_child(m); c && n < SERVED_NAMES_MAX; c = sx_json_next(c))
		names[n++] = sx_json_key(c);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		sx_buf_adds(&b, i ? ", " : "");
		for (k = 0; names[i][k]; k++)
			sx_buf_addch(&b, names[i][k] >= 0x20 && names[i][k] < 0x7f ? names[i][k] : '?');
	}
	snprintf(out, SX_COMPARE_MODELS_MAX, "%s", b.buf);
	sx_buf_release(&b);
}

/* The records that carry a review's answer (not the explainers' own). */
static int is_answer_record(const char *method)
{
	return !strcmp(method, "self") || !strcmp(method, "topk") || !strcmp(method, "prediction");
}

/* SX_EINPUT when a review id of both runs has different texts in them. */
static int check_same_texts(const struct sx_rundir *base, const struct sx_rundir *cur,
			    struct sx_err *err)
{
	size_t i;

	for (i = 0; i < base->nrecords; i++) {
		const struct sx_json *r = base->records[i], *o;

		if (!is_answer_record(sx_json_str_or(r, "method", "")))
			continue;
		o = sx_rundir_answer_record(cur, sx_json_str_or(r, "id", ""),
					    sx_json_str_or(r, "condition", ""));
		if (!o)
			continue;
		if (!same_tokens(r, o))
			return sx_err_set(err, SX_EINPUT, "the runs are over different data: review "
					  "'%s' has different text in '%s' and '%s'",
					  sx_json_str_or(r, "id", ""), base->dir, cur->dir);
	}
	return 0;
}

/* 1 when the condition list (a run.json "conditions" array) holds cond. */
static int has_condition(const struct sx_json *conds, const char *cond)
{
	const struct sx_json *d;
	int found = 0;

	for (d = sx_json_child(conds); d; d = sx_json_next(d))
		found |= sx_json_str(d) && !strcmp(sx_json_str(d), cond);
	return found;
}

/* A record one run has and the other lacks, for a review both have. */
struct missing {
	size_t n;
	const char *id, *method, *cond; /* borrowed: the first one */
	const struct sx_rundir *has, *lacks;
};

/* 1 when the run has an answer record of review id under any of its conditions. */
static int has_review(const struct sx_rundir *rd, const char *id)
{
	const struct sx_json *c;

	for (c = sx_json_child(sx_json_get(rd->run, "conditions")); c; c = sx_json_next(c))
		if (sx_json_str(c) && sx_rundir_answer_record(rd, id, sx_json_str(c)))
			return 1;
	return 0;
}

/* The answer records under cond that x has and y lacks, for reviews y has, into *miss. */
static void missing_answers(const struct sx_rundir *x, const struct sx_rundir *y,
			    const char *cond, struct missing *miss)
{
	size_t i;

	for (i = 0; i < x->nrecords; i++) {
		const struct sx_json *r = x->records[i];
		const char *id = sx_json_str_or(r, "id", "");

		if (strcmp(sx_json_str_or(r, "condition", ""), cond) ||
		    !is_answer_record(sx_json_str_or(r, "method", "")) ||
		    sx_rundir_answer_record(y, id, cond) || !has_review(y, id))
			continue;
		if (!miss->n++) {
			miss->id = id;
			miss->cond = cond;
			miss->method = sx_json_str_or(r, "method", "");
			miss->has = x;
			miss->lacks = y;
		}
	}
}

/*
 * The values of a metric under cond for the reviews of both runs whose
 * records (of the same method) exist in both: a[i] from cur, b[i] from base,
 * *n of them. Returns the number of such pairs. A review whose record of
 * the method only one run has goes to *miss: that run's pair is missing,
 * not undefined (every run writes a record per review, condition and method).
 */
static size_t paired_values(const struct spec *sp, const struct sx_rundir *base,
			    const struct sx_rundir *cur, const char *cond, double *a, double *b,
			    size_t *n, struct missing *miss)
{
	size_t i, pairs = 0;

	*n = 0;
	for (i = 0; i < base->nrecords; i++) {
		const struct sx_json *r = base->records[i], *o;
		const char *id = sx_json_str_or(r, "id", ""), *meth, *meth_new;

		if (strcmp(sx_json_str_or(r, "condition", ""), cond) ||
		    !is_answer_record(sx_json_str_or(r, "method", "")))
			continue;
		if (!sx_rundir_answer_record(cur, id, cond))
			continue; /* not a review of both (missing_answers has the rest) */
		meth = record_method(sp, base, id, cond);
		meth_new = record_method(sp, cur, id, cond);
		if (!meth || !meth_new || strcmp(meth, meth_new))
			continue;
		r = sx_rundir_record(base, id, cond, meth);
		o = sx_rundir_record(cur, id, cond, meth);
		if (!r != !o && !miss->n++) {
			miss->id = id;
			miss->cond = cond;
			miss->method = meth;
			miss->has = r ? base : cur;
			miss->lacks = r ? cur : base;
		}
		if (!r || !o)
			continue;
		pairs++;
		a[*n] = value_of(sp, o);
		b[*n] = value_of(sp, r);
		(*n)++;
	}
	return pairs;
}

/*
 * Append the row of metric (of spec sp's method) under cond, with the paired
 * test of a (new) against b (base).
 */
static void add_row(struct sx_compare_result *res, size_t *alloc, const struct spec *sp,
		    const char *metric, int higher_better, int proportion, const char *cond,
		    const double *a, const double *b, size_t n, int lost, size_t bootstrap)
{
	struct sx_compare_row *row;
	char what[160];

	SX_GROW(res->rows, *alloc, res->n + 1);
	row = &res->rows[res->n++];
	memset(row, 0, sizeof(*row));
	snprintf(row->condition, sizeof(row->condition), "%s", cond);
	snprintf(row->method, sizeof(row->method), "%s",
		 sp->def->kind == SX_METRIC_FAITH ? sp->method : "answer");
	snprintf(row->metric, sizeof(row->metric), "%s", metric);
	row->higher_better = higher_better;
	snprintf(what, sizeof(what), "%s/%s/%s", row->condition, row->method, row->metric);
	sx_stats_paired_as(a, b, n, proportion ? SX_INTERVAL_NEWCOMBE : SX_INTERVAL_STUDENTIZED,
			   bootstrap, sx_seed_derive(0, "compare", what), &row->p);
	row->lost = lost;
}

/*
 * Where the runs disagree on which reviews a metric has a value for, the
 * share of reviews it has one for gets a row of its own, METRIC_defined
 * (higher is better), tested as the metric is (a sign test on the 0/1 pairs):
 * a prompt whose answers to the perturbed reviews no longer parse leaves a
 * metric undefined where it was defined, which the metric's own row, paired
 * over the reviews it is defined for in both runs, does not see. (The answer
 * metrics have parse_failures and failed_requests for that.)
 */
static void add_defined_row(struct sx_compare_result *res, size_t *alloc, const struct spec *sp,
			    const char *cond, const double *a, const double *b, size_t n,
			    size_t bootstrap)
{
	double *da = xcalloc(n + 1, sizeof(double)), *db = xcalloc(n + 1, sizeof(double));
	char metric[sizeof(res->rows[0].metric)];
	size_t j, differ = 0;

	for (j = 0; j < n; j++) {
		da[j] = isfinite(a[j]) ? 1.0 : 0.0;
		db[j] = isfinite(b[j]) ? 1.0 : 0.0;
		differ += da[j] != db[j];
	}
	snprintf(metric, sizeof(metric), "%s_defined", sp->def->key);
	if (differ)
		add_row(res, alloc, sp, metric, 1, 1, cond, da, db, n, 0, bootstrap);
	free(da);
	free(db);
}

/* Holm-adjust the p-values of the rows and decide which regressed or improved. */
static void judge_rows(struct sx_compare_result *res, const struct sx_compare_opts *opts)
{
	double *p = xcalloc(res->n + 1, sizeof(double)), *adj = xcalloc(res->n + 1, sizeof(double));
	size_t i;

	for (i = 0; i < res->n; i++)
		p[i] = res->rows[i].p.p_value;
	res->holm_m = sx_stats_holm(p, res->n, adj);
	for (i = 0; i < res->n; i++) {
		struct sx_compare_row *row = &res->rows[i];
		double worse = row->higher_better ? -row->p.mean_diff : row->p.mean_diff;
		int sig = isfinite(adj[i]) && adj[i] < opts->alpha;

		row->p_holm = isfinite(row->p.p_value) ? adj[i] : NAN;
		row->regressed = row->lost || (sig && isfinite(worse) && worse > opts->tolerance);
		row->improved = sig && isfinite(worse) && -worse > opts->tolerance;
		res->regressions += row->regressed;
	}
	free(p);
	free(adj);
}

static int has_method(const struct sx_rundir *rd, const char *method)
{
	size_t i;

	for (i = 0; i < rd->nrecords; i++)
		if (!strcmp(sx_json_str_or(rd->records[i], "method", ""), method))
			return 1;
	return 0;
}

/* A method that is not built in must be one of the runs' (from --explanations): a typo is no gate. */
static int check_methods(const struct spec *sp, size_t n, const struct sx_rundir *base,
			 const struct sx_rundir *cur, struct sx_err *err)
{
	enum sx_method m;
	size_t k;

	for (k = 0; k < n; k++)
		if (sp[k].def->kind == SX_METRIC_FAITH && sx_method_from_name(sp[k].method, &m) &&
		    !has_method(base, sp[k].method) && !has_method(cur, sp[k].method))
			return sx_err_set(err, SX_EINPUT, "unknown method '%s': neither run has "
					  "explanations of that name (expected self, occlusion, lime "
					  "or a method from their --explanations files)", sp[k].method);
	return 0;
}

int sx_compare_runs(const struct sx_rundir *base, const struct sx_rundir *cur,
		    const struct sx_compare_opts *opts, struct sx_compare_result *res,
		    struct sx_err *err)
{
	struct spec specs[SX_COMPARE_MAX_METRICS];
	const struct sx_json *cb = sx_json_get(base->run, "conditions"), *cn, *c;
	size_t nspec, k, common = 0, alloc = 0, nconds = 0;
	int compared[SX_COMPARE_MAX_METRICS] = { 0 }; /* a row of specs[k] under some condition */
	struct missing miss = { 0, NULL, NULL, NULL, NULL, NULL };
	double *a = NULL, *b = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	res->tolerance = opts->tolerance;
	res->alpha = opts->alpha;
	rc = parse_specs(opts->metrics ? opts->metrics : SX_COMPARE_DEFAULT_METRICS, specs, &nspec,
			 err);
	if (rc)
		return rc;
	rc = check_methods(specs, nspec, base, cur, err);
	if (!rc)
		rc = check_comparable(base, cur, err);
	if (rc)
		return rc;
	cn = sx_json_get(cur->run, "conditions");
	res->base_partial = run_partial(base, &res->base_failed, &res->base_skipped);
	res->new_partial = run_partial(cur, &res->new_failed, &res->new_skipped);
	served_models(base, res->base_models);
	served_models(cur, res->new_models);
	if (!res->base_models[0] || !res->new_models[0] ||
	    !strcmp(res->base_models, res->new_models))
		res->base_models[0] = res->new_models[0] = '\0';
	res->base_reviews = count_ids(base);
	res->new_reviews = count_ids(cur);
	rc = check_same_texts(base, cur, err);
	if (rc)
		return rc;
	a = xcalloc(base->nrecords + 1, sizeof(double));
	b = xcalloc(base->nrecords + 1, sizeof(double));
	for (c = sx_json_child(cb); c; c = sx_json_next(c)) {
		const char *cond = sx_json_str(c);

		if (!cond)
			continue;
		if (!has_condition(cn, cond) || (opts->conditions && !in_list(opts->conditions, cond)))
			continue;
		nconds++;
		missing_answers(base, cur, cond, &miss);
		missing_answers(cur, base, cond, &miss);
		for (k = 0; k < nspec && !miss.n; k++) {
			size_t n, fa = 0, fb = 0, j;
			size_t pairs = paired_values(&specs[k], base, cur, cond, a, b, &n, &miss);

			if (miss.n)
				break;
			for (j = 0; j < n; j++) {
				fa += isfinite(a[j]) != 0;
				fb += isfinite(b[j]) != 0;
			}
			if (!pairs || (!fa && !fb))
				continue; /* the metric does not exist here (rankdel of a top-k list) */
			if (pairs > common)
				common = pairs;
			compared[k] = 1;
			add_row(res, &alloc, &specs[k], specs[k].def->key, specs[k].def->dir == SX_DIR_UP,
				!!(specs[k].def->flags & SX_METRIC_PROPORTION), cond, a, b, n,
				fb && !fa, opts->bootstrap);
			if (fa && specs[k].def->kind == SX_METRIC_FAITH)
				add_defined_row(res, &alloc, &specs[k], cond, a, b, n, opts->bootstrap);
		}
		if (miss.n)
			break;
	}
	free(a);
	free(b);
	if (miss.n) {
		sx_compare_result_release(res);
		if (is_answer_record(miss.method))
			return sx_err_set(err, SX_EINPUT, "'%s' has no '%s' record of review '%s' "
					  "under %s, which '%s' has (reviews lacking it: %zu): its "
					  SX_RUNDIR_RECORDS_JSONL " is damaged; rebuild it with "
					  "'selfexp score %s'", miss.lacks->dir, miss.method, miss.id,
					  miss.cond, miss.has->dir, miss.n, miss.lacks->dir);
		return sx_err_set(err, SX_EINPUT, "'%s' has no '%s' record of review '%s' under %s, "
				  "which '%s' has (reviews lacking it: %zu): its "
				  SX_RUNDIR_RECORDS_JSONL " is damaged (rebuild it with 'selfexp score "
				  "%s') or the runs differ in their explainers (leave %s out of "
				  "--metrics)", miss.lacks->dir, miss.method, miss.id, miss.cond,
				  miss.has->dir, miss.n, miss.lacks->dir, miss.method);
	}
	/* a metric asked for by name that no condition has is no gate: say so (the default list
	 * holds metrics some conditions lack, rankdel of a top-k list) */
	for (k = 0; opts->metrics && nconds && common && k < nspec; k++)
		if (!compared[k]) {
			sx_compare_result_release(res);
			return sx_err_set(err, SX_EINPUT, "--metrics %s%s%s: neither run has a value "
					  "of it under any condition compared (a top-k list or a "
					  "ranking-only method has no rankdel, a prediction-only run "
					  "no explanation metric); leave it out of --metrics",
					  specs[k].def->kind == SX_METRIC_FAITH ? specs[k].method : "",
					  specs[k].def->kind == SX_METRIC_FAITH ? ":" : "",
					  specs[k].def->key);
		}
	res->common = common;
	if (!nconds)
		return sx_err_set(err, SX_EINPUT, "the runs have no prompt condition in common "
				  "('%s' and '%s')", base->dir, cur->dir);
	if (!common) {
		sx_compare_result_release(res);
		return sx_err_set(err, SX_EINPUT, "the runs have no review ids in common: %zu reviews "
				  "in '%s', %zu in '%s'", res->base_reviews, base->dir,
				  res->new_reviews, cur->dir);
	}
	judge_rows(res, opts);
	return 0;
}

void sx_compare_result_release(struct sx_compare_result *res)
{
	free(res->rows);
	res->rows = NULL;
	res->n = 0;
}

/* ---------------------------------------------------------------- output */

static const char *verdict(const struct sx_compare_row *r)
{
	return r->lost ? "REGRESSED (no value in new)" : r->regressed ? "REGRESSED" : r->improved ? "improved" : "ok";
}

static void add_num(struct sx_buf *b, double v, int sign)
{
	if (!isfinite(v))
		sx_buf_adds(b, "-");
	else if (fabs(v) >= 1e6) /* a damaged file's 1e308 in 10 characters, not 300 */
		sx_buf_addf(b, sign ? "%+.3g" : "%.3g", v);
	else
		sx_buf_addf(b, sign ? "%+.3f" : "%.3f", fabs(v) < 5e-4 ? 0.0 : v);
}

static void add_p(struct sx_buf *b, double p)
{
	if (!isfinite(p))
		sx_buf_adds(b, "-");
	else if (p < 0.001)
		sx_buf_adds(b, "<0.001");
	else
		sx_buf_addf(b, "%.3f", p);
}

static void change_text(struct sx_buf *b, const struct sx_compare_row *r)
{
	add_num(b, r->p.mean_diff, 1);
	sx_buf_adds(b, " [");
	add_num(b, r->p.ci_lo, 1);
	sx_buf_adds(b, ", ");
	add_num(b, r->p.ci_hi, 1);
	sx_buf_adds(b, "]");
}

void sx_compare_text(const struct sx_compare_result *res, struct sx_buf *out)
{
	struct sx_buf cell = SX_BUF_INIT;
	size_t i;

	sx_buf_addf(out, "%-9s %-10s %-35s %5s %8s %8s %-28s %7s %7s  %s\n", "condition", "method",
		    "metric", "n", "base", "new", "change [95% CI]", "p", "p_holm", "verdict");
	for (i = 0; i < res->n; i++) {
		const struct sx_compare_row *r = &res->rows[i];
		char metric[48];

		snprintf(metric, sizeof(metric), "%s (%s)", r->metric, r->higher_better ? "up" : "down");
		sx_buf_addf(out, "%-9s %-10s %-35s %5zu ", r->condition, r->method, metric, r->p.n);
		sx_buf_reset(&cell);
		add_num(&cell, r->p.mean_b, 0);
		sx_buf_addf(out, "%8s ", cell.buf);
		sx_buf_reset(&cell);
		add_num(&cell, r->p.mean_a, 0);
		sx_buf_addf(out, "%8s ", cell.buf);
		sx_buf_reset(&cell);
		change_text(&cell, r);
		sx_buf_addf(out, "%-28s ", cell.buf);
		sx_buf_reset(&cell);
		add_p(&cell, r->p.p_value);
		sx_buf_addf(out, "%7s ", cell.buf);
		sx_buf_reset(&cell);
		add_p(&cell, r->p_holm);
		sx_buf_addf(out, "%7s  %s\n", cell.buf, verdict(r));
	}
	sx_buf_addf(out, "%zu review ids in common (base %zu, new %zu); tolerance %g, alpha %g "
			 "(Holm across the %zu of %zu comparisons with a p-value; '-': every "
			 "difference zero): %zu regressed\n",
		    res->common, res->base_reviews, res->new_reviews, res->tolerance, res->alpha,
		    res->holm_m, res->n, res->regressions);
	sx_buf_release(&cell);
}

/*
 * The verdict of a row in words: worse (it regressed: the gate fails), better
 * (improved beyond the tolerance), worse or better within the tolerance
 * (significant after Holm, but not by more than the tolerance), no significant
 * change, unchanged (every paired difference zero: no test), or why there is
 * no comparison.
 */
static const char *verdict_words(const struct sx_compare_row *r, double alpha)
{
	if (r->lost)
		return "**worse**: no value in the new run";
	if (r->p.n == 0)
		return "not compared: no review has a value in both runs";
	if (r->regressed)
		return "**worse**";
	if (r->improved)
		return "better";
	if (!isfinite(r->p.p_value))
		return "unchanged";
	if (isfinite(r->p_holm) && r->p_holm < alpha)
		return (r->higher_better ? r->p.mean_diff < 0 : r->p.mean_diff > 0)
			? "worse, within the tolerance" : "better, within the tolerance";
	return "no significant change";
}

/*
 * One line per row for a pull-request comment:
 * "- comprehensiveness (ep/self): 0.412 -> 0.371 (-0.041, 95% CI [-0.060, -0.020], Holm p = 0.003): **worse**".
 */
static void verdict_line(struct sx_buf *out, const struct sx_compare_row *r, double alpha)
{
	sx_buf_addf(out, "- %s (", r->metric);
	sx_buf_add_html(out, r->condition, strlen(r->condition));
	if (strcmp(r->method, "answer"))
		sx_buf_addf(out, "/%s", r->method);
	sx_buf_adds(out, "):");
	if (r->p.n) {
		sx_buf_adds(out, " ");
		add_num(out, r->p.mean_b, 0);
		sx_buf_adds(out, " -> ");
		add_num(out, r->p.mean_a, 0);
	}
	if (r->p.n && !isfinite(r->p.p_value)) {
		sx_buf_addf(out, " (every one of the %zu differences is zero)", r->p.n);
	} else if (r->p.n) {
		sx_buf_adds(out, " (");
		add_num(out, r->p.mean_diff, 1);
		sx_buf_adds(out, ", 95% CI [");
		add_num(out, r->p.ci_lo, 1);
		sx_buf_adds(out, ", ");
		add_num(out, r->p.ci_hi, 1);
		sx_buf_adds(out, "], Holm p ");
		if (isfinite(r->p_holm) && r->p_holm < 0.001)
			sx_buf_adds(out, "< 0.001");
		else {
			sx_buf_adds(out, "= ");
			add_p(out, r->p_holm);
		}
		sx_buf_addf(out, ", n = %zu)", r->p.n);
	}
	sx_buf_addf(out, "%s %s\n", r->p.n ? ":" : "", verdict_words(r, alpha));
}

void sx_compare_markdown(const struct sx_compare_result *res, struct sx_buf *out)
{
	size_t i;

	if (res->regressions)
		sx_buf_addf(out, "### selfexp compare: %zu metric%s regressed\n\n", res->regressions,
			    res->regressions == 1 ? "" : "s");
	else
		sx_buf_adds(out, "### selfexp compare: no regression\n\n");
	if (res->base_partial == SX_COMPARE_PARTIAL || res->new_partial == SX_COMPARE_PARTIAL)
		sx_buf_addf(out, "**The %s run is partial** (its run.json: \"complete\": false): "
			    "its metrics are over the answers it got.\n\n",
			    res->base_partial == SX_COMPARE_PARTIAL &&
			    res->new_partial == SX_COMPARE_PARTIAL ? "base and the new"
			    : res->new_partial == SX_COMPARE_PARTIAL ? "new" : "base");
	if (res->base_partial == SX_COMPARE_NOT_KNOWN || res->new_partial == SX_COMPARE_NOT_KNOWN)
		sx_buf_addf(out, "**The %s run is not known to be complete** (its run.json has no "
			    "\"complete\": damaged): it does not pass the gate.\n\n",
			    res->base_partial == SX_COMPARE_NOT_KNOWN &&
			    res->new_partial == SX_COMPARE_NOT_KNOWN ? "base and the new"
			    : res->new_partial == SX_COMPARE_NOT_KNOWN ? "new" : "base");
	if (res->base_models[0]) {
		sx_buf_adds(out, "**The runs' answers name different models** (base: ");
		sx_buf_add_html(out, res->base_models, strlen(res->base_models));
		sx_buf_adds(out, "; new: ");
		sx_buf_add_html(out, res->new_models, strlen(res->new_models));
		sx_buf_adds(out, "; run.json counts.models_served): a change may be the model's, not "
				 "the prompt's.\n\n");
	}
	for (i = 0; i < res->n; i++)
		verdict_line(out, &res->rows[i], res->alpha);
	sx_buf_adds(out, "\n");
	sx_buf_adds(out, "| Condition | Metric | n | Base | New | Change [95 % CI] | p (Holm) | |\n"
			 "|:---|:---|---:|---:|---:|---:|---:|:---|\n");
	for (i = 0; i < res->n; i++) {
		const struct sx_compare_row *r = &res->rows[i];

		sx_buf_adds(out, "| ");
		sx_buf_add_html(out, sx_rundir_condition_label(r->condition),
			       strlen(sx_rundir_condition_label(r->condition)));
		sx_buf_adds(out, " | ");
		if (strcmp(r->method, "self") && strcmp(r->method, "answer"))
			sx_buf_addf(out, "%s ", r->method);
		sx_buf_addf(out, "%s %s | %zu | ", r->metric, r->higher_better ? "\xe2\x86\x91" : "\xe2\x86\x93",
			    r->p.n);
		add_num(out, r->p.mean_b, 0);
		sx_buf_adds(out, " | ");
		add_num(out, r->p.mean_a, 0);
		sx_buf_adds(out, " | ");
		change_text(out, r);
		sx_buf_adds(out, " | ");
		if (isfinite(r->p_holm) && r->p_holm < 0.001)
			sx_buf_adds(out, "&lt;0.001");
		else
			add_p(out, r->p_holm);
		sx_buf_adds(out, r->regressed ? " | **regressed** |\n" : r->improved ? " | improved |\n"
										 : " | ok |\n");
	}
	sx_buf_addf(out, "\n%zu reviews paired by id; a metric regresses when it got worse by more "
			 "than %g and Holm-adjusted p < %g (Wilcoxon signed-rank; Holm across the %zu "
			 "of %zu comparisons with a p-value, '-' where every difference is zero).\n",
		    res->common, res->tolerance, res->alpha, res->holm_m, res->n);
}

void sx_compare_junit(const struct sx_compare_result *res, struct sx_buf *out)
{
	struct sx_buf msg = SX_BUF_INIT;
	size_t i;

	sx_buf_addf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<testsuites>\n<testsuite name=\"selfexp compare\" tests=\"%zu\" "
			 "failures=\"%zu\" errors=\"0\">\n", res->n, res->regressions);
	for (i = 0; i < res->n; i++) {
		const struct sx_compare_row *r = &res->rows[i];

		sx_buf_reset(&msg);
		sx_buf_addf(&msg, "%s %s: base ", r->metric, r->higher_better ? "(higher is better)"
									      : "(lower is better)");
		add_num(&msg, r->p.mean_b, 0);
		sx_buf_adds(&msg, ", new ");
		add_num(&msg, r->p.mean_a, 0);
		sx_buf_adds(&msg, ", change ");
		change_text(&msg, r);
		sx_buf_addf(&msg, ", n %zu, p ", r->p.n);
		add_p(&msg, r->p.p_value);
		sx_buf_adds(&msg, ", Holm-adjusted p ");
		add_p(&msg, r->p_holm);
		sx_buf_adds(out, "  <testcase classname=\"selfexp.");
		sx_buf_add_html(out, r->condition, strlen(r->condition));
		sx_buf_adds(out, ".");
		sx_buf_add_html(out, r->method, strlen(r->method));
		sx_buf_adds(out, "\" name=\"");
		sx_buf_add_html(out, r->metric, strlen(r->metric));
		if (!r->regressed) {
			sx_buf_adds(out, "\"><system-out>");
			sx_buf_add_html(out, msg.buf, msg.len);
			sx_buf_adds(out, "</system-out></testcase>\n");
			continue;
		}
		sx_buf_adds(out, "\"><failure message=\"");
		sx_buf_add_html(out, r->metric, strlen(r->metric));
		sx_buf_addf(out, " regressed beyond tolerance %g\" type=\"regression\">", res->tolerance);
		sx_buf_add_html(out, msg.buf, msg.len);
		sx_buf_adds(out, "</failure></testcase>\n");
	}
	sx_buf_adds(out, "</testsuite>\n</testsuites>\n");
	sx_buf_release(&msg);
}
