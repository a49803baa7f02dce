/*
 * summary.json: aggregates per (condition, method, metric) with intervals,
 * and the paired comparisons. A function of the data, the configuration and
 * the answers only, so `selfexp score` reproduces it; request counts go to
 * run.json.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "selfexp/alloc.h"
#include "selfexp/stats.h"

/*
 * Methods with a summary entry: the self method always (but not under
 * pred), the others when run, a file's method where it explains c.
 */
static int summarised(const struct run *run, enum sx_cond c, int m)
{
	if (m == SX_METHOD_SELF)
		return c != SX_COND_PRED;
	return run_method_applies(run, m, c);
}

static double faith_value(const struct expl *e, const struct sx_metric_def *md)
{
	return e->has_faith ? sx_metric_value(md, &e->faith, 0) : NAN;
}

static double agree_value(const struct run *run, const struct item *it, size_t q,
			  const struct sx_metric_def *md)
{
	if (!it->has_agree[q])
		return NAN;
	if (run_pair_topk(run, it, q))
		return sx_metric_value(md, &it->agree_topk[q], 1);
	return sx_metric_value(md, &it->agree[q], 0);
}

static uint64_t summary_seed(const struct run *run, const char *what)
{
	return sx_seed_derive(run->cfg->seed, "bootstrap", what);
}

/*
 * n, mean, sd and the 95 % interval of the finite values of metric key:
 * Clopper-Pearson's for the registry's 0/1 metrics (SX_METRIC_PROPORTION:
 * accuracy, parse failures, DF_MIT), the expanded BCa for the others (coverage,
 * distinct values, the continuous faithfulness and agreement metrics);
 * "interval" names the one used (stats.h enum sx_interval).
 */
static struct sx_json *aggregate_json(const struct run *run, const char *what, const char *key,
				      const double *v, size_t n)
{
	const struct sx_metric_def *md = sx_metric_find(key);
	int proportion = md && (md->flags & SX_METRIC_PROPORTION);
	struct sx_json *o = sx_json_new_object();
	struct sx_summary s;

	sx_stats_summary_as(v, n, proportion ? SX_INTERVAL_CLOPPER_PEARSON : SX_INTERVAL_STUDENTIZED,
			    (size_t)run->cfg->bootstrap, summary_seed(run, what), &s);
	sx_json_add_num(o, "n", (double)s.n);
	sx_json_add(o, "mean", run_num_or_null(s.mean));
	sx_json_add(o, "sd", run_num_or_null(s.sd));
	sx_json_add(o, "ci_lo", run_num_or_null(s.ci_lo));
	sx_json_add(o, "ci_hi", run_num_or_null(s.ci_hi));
	sx_json_add_str(o, "interval", sx_interval_name(s.interval));
	return o;
}

static void method_summary(const struct run *run, enum sx_cond c, int m, struct sx_json *mo,
			   double *v)
{
	const char *name = run_method_name(run, m, c);
	const struct sx_metric_def *md;
	long excluded = 0, explained = 0;
	char what[160];
	size_t r, i;

	for (r = 0; r < run->nrev; r++) {
		const struct expl *e = &run_item(run, r, c)->m[m];
		explained += e->ok;
		excluded += !e->ok;
	}
	sx_json_add_num(mo, "explained", (double)explained);
	sx_json_add_num(mo, "excluded", (double)excluded);
	if (!run->cfg->metrics)
		return;
	for (i = 0; (md = sx_metric_of(SX_METRIC_FAITH, i)); i++) {
		for (r = 0; r < run->nrev; r++)
			v[r] = faith_value(&run_item(run, r, c)->m[m], md);
		snprintf(what, sizeof(what), "%s/%s/%s", sx_cond_name(c), name, md->key);
		sx_json_add(mo, md->key, aggregate_json(run, what, md->key, v, run->nrev));
	}
}

static struct sx_json *methods_summary(const struct run *run, enum sx_cond c, double *v)
{
	struct sx_json *o = sx_json_new_object();
	int m;

	for (m = 0; m < (int)run->nmeth; m++)
		if (summarised(run, c, m))
			method_summary(run, c, m,
				       sx_json_add(o, run_method_name(run, m, c), sx_json_new_object()), v);
	return o;
}

static void pair_summary(const struct run *run, enum sx_cond c, size_t q, struct sx_json *o,
			 double *v)
{
	const struct sx_metric_def *md;
	struct sx_json *po = NULL;
	char what[256], name[2 * SX_METHOD_NAME_MAX + 8];
	size_t r, i;

	snprintf(name, sizeof(name), "%s~%s", run_method_name(run, run->pair_a[q], c),
		 run_method_name(run, run->pair_b[q], c));
	for (i = 0; (md = sx_metric_of(SX_METRIC_AGREE, i)); i++) {
		size_t defined = 0;

		for (r = 0; r < run->nrev; r++) {
			v[r] = agree_value(run, run_item(run, r, c), q, md);
			defined += isfinite(v[r]) != 0;
		}
		if (!defined)
			continue;
		if (!po)
			po = sx_json_add(o, name, sx_json_new_object());
		snprintf(what, sizeof(what), "%s/%s/%s", sx_cond_name(c), name, md->key);
		sx_json_add(po, md->key, aggregate_json(run, what, md->key, v, run->nrev));
	}
}

static struct sx_json *agreement_summary(const struct run *run, enum sx_cond c, double *v)
{
	struct sx_json *o = sx_json_new_object();
	size_t q;

	for (q = 0; q < run->npairs; q++)
		pair_summary(run, c, q, o, v);
	return o;
}

/* Per-review answer quality of one condition, gathered for the aggregates. */
struct answers {
	double *acc, *cov, *dist, *conf;  /* owned, nrev each (conf: nconf used) */
	double *fail;                     /* owned, nrev: 1 failed or unusable, else 0 */
	unsigned char *correct;           /* owned, nconf */
	size_t nconf;
	long counts[16];                  /* by parse status */
	long failed, unusable, substituted;
};

static void gather_answers(const struct run *run, enum sx_cond c, struct answers *a)
{
	size_t r;

	memset(a, 0, sizeof(*a));
	a->acc = xcalloc(run->nrev + 1, sizeof(double));
	a->cov = xcalloc(run->nrev + 1, sizeof(double));
	a->dist = xcalloc(run->nrev + 1, sizeof(double));
	a->conf = xcalloc(run->nrev + 1, sizeof(double));
	a->fail = xcalloc(run->nrev + 1, sizeof(double));
	a->correct = xcalloc(run->nrev + 1, 1);
	for (r = 0; r < run->nrev; r++) {
		const struct item *it = run_item(run, r, c);
		int gold = run->ds.reviews[r].gold;

		a->acc[r] = a->cov[r] = a->dist[r] = NAN;
		a->fail[r] = 1;
		if (!it->answered) {
			a->failed++;
			continue;
		}
		a->counts[it->parse.status & 15]++;
		a->substituted += it->substituted;
		if ((it->parse.has_prediction && sx_parse_status_usable_prediction(it->parse.status)) ||
		    it->substituted) {
			if (gold >= 0) {
				a->acc[r] = it->parse.label == gold ? 1.0 : 0.0;
				a->conf[a->nconf] = it->parse.confidence;
				a->correct[a->nconf++] = it->parse.label == gold;
			}
			a->fail[r] = it->substituted;
			a->unusable += it->substituted;
		} else {
			a->unusable++;
		}
		if (sx_cond_has_importance(c) || sx_cond_is_topk(c))
			a->cov[r] = it->parse.coverage;
		if (sx_cond_has_importance(c))
			a->dist[r] = (double)sx_metrics_distinct(it->parse.values, it->parse.has_value,
								it->parse.ntokens);
	}
}

static void answers_release(struct answers *a)
{
	free(a->acc);
	free(a->cov);
	free(a->dist);
	free(a->conf);
	free(a->fail);
	free(a->correct);
}

/* Requests of the condition that failed, in all and by stage (a complete run has none). */
static void add_failed_requests(const struct run *run, struct sx_json *o, enum sx_cond c)
{
	struct sx_json *by = sx_json_new_object();
	long total = 0;
	int s;

	for (s = 0; s < RUN_NSTAGES; s++) {
		sx_json_add_num(by, run_stage_names[s], (double)run->failed[s][c]);
		total += run->failed[s][c];
	}
	sx_json_add_num(o, "failed_requests", (double)total);
	sx_json_add(o, "failed_requests_by_stage", by);
}

/* The aggregate of metric key (its interval from the registry) under the name name. */
static void add_aggregate(const struct run *run, struct sx_json *o, enum sx_cond c,
			  const char *name, const char *key, const double *v)
{
	char what[64];

	snprintf(what, sizeof(what), "%s/%s", sx_cond_name(c), name);
	sx_json_add(o, name, aggregate_json(run, what, key, v, run->nrev));
}

/* The ECE's bootstrap interval (stats.h sx_stats_ece_interval: basic, reviews resampled). */
static struct sx_json *ece_interval_json(const struct run *run, enum sx_cond c,
					 const struct answers *a)
{
	struct sx_json *o = sx_json_new_object();
	struct sx_ece e;
	char what[64];

	snprintf(what, sizeof(what), "%s/ece", sx_cond_name(c));
	sx_stats_ece_interval(a->conf, a->correct, a->nconf, SX_INTERVAL_BASIC,
			      (size_t)run->cfg->bootstrap, summary_seed(run, what), &e);
	sx_json_add_num(o, "n", (double)e.n);
	sx_json_add(o, "ci_lo", run_num_or_null(e.ci_lo));
	sx_json_add(o, "ci_hi", run_num_or_null(e.ci_hi));
	sx_json_add_str(o, "interval", sx_interval_name(e.interval));
	return o;
}

static struct sx_json *condition_summary(const struct run *run, enum sx_cond c)
{
	struct sx_json *o = sx_json_new_object(), *st;
	struct answers a;
	double ece;
	int s;

	gather_answers(run, c, &a);
	sx_json_add_num(o, "reviews", (double)run->nrev);
	add_aggregate(run, o, c, "accuracy", "accuracy", a.acc);
	sx_json_add_num(o, "failed", (double)a.failed);
	add_failed_requests(run, o, c);
	sx_json_add_num(o, "parse_failures", (double)a.unusable);
	if (run->cfg->compat == SX_COMPAT_PAPER)
		sx_json_add_num(o, "parse_substituted", (double)a.substituted);
	sx_json_add_num(o, "parse_failure_rate",
			run->nrev ? (double)(a.unusable + a.failed) / (double)run->nrev : 0);
	/* its exact interval: mean = parse_failure_rate, failed requests included */
	add_aggregate(run, o, c, "parse_failure_rate_ci", "parse_failures", a.fail);
	st = sx_json_add(o, "parse_status", sx_json_new_object());
	for (s = 0; s < 16; s++)
		if (a.counts[s])
			sx_json_add_num(st, sx_parse_status_name((enum sx_parse_status)s),
					(double)a.counts[s]);
	sx_json_add(o, "ece", a.nconf && !sx_stats_ece(a.conf, a.correct, a.nconf, &ece)
				      ? run_num_or_null(ece) : sx_json_new_null());
	sx_json_add(o, "ece_ci", ece_interval_json(run, c, &a));
	if (sx_cond_has_importance(c) || sx_cond_is_topk(c))
		add_aggregate(run, o, c, "coverage", "coverage", a.cov);
	if (sx_cond_has_importance(c))
		add_aggregate(run, o, c, "distinct_values", "distinct_values", a.dist);
	/* a.acc is scratch space from here on */
	sx_json_add(o, "methods", methods_summary(run, c, a.acc));
	sx_json_add(o, "agreement", agreement_summary(run, c, a.acc));
	answers_release(&a);
	return o;
}

static void add_paired(struct sx_json *o, const char *key, const struct sx_paired *pr,
		       double adj, size_t family)
{
	struct sx_json *m = sx_json_add(o, key, sx_json_new_object());

	sx_json_add_num(m, "n", (double)pr->n);
	sx_json_add(m, "mean_a", run_num_or_null(pr->mean_a));
	sx_json_add(m, "mean_b", run_num_or_null(pr->mean_b));
	sx_json_add(m, "mean_diff", run_num_or_null(pr->mean_diff));
	sx_json_add(m, "ci_lo", run_num_or_null(pr->ci_lo));
	sx_json_add(m, "ci_hi", run_num_or_null(pr->ci_hi));
	sx_json_add_str(m, "interval", sx_interval_name(pr->interval));
	sx_json_add(m, "p_value", run_num_or_null(pr->p_value));
	sx_json_add(m, "p_holm", isfinite(pr->p_value) ? sx_json_new_num(adj) : sx_json_new_null());
	sx_json_add_num(m, "holm_family", (double)family);
}

/*
 * Paired comparisons of two (condition, method) columns over the reviews
 * where both are defined, for every faithfulness metric, Holm-adjusted
 * across the metrics of the comparison that have a p-value: as in compare.h,
 * a metric whose differences are all zero has no p-value, no p_holm and is
 * not counted in the family ("holm_family" = the family's size).
 */
static struct sx_json *compare_json(const struct run *run, enum sx_cond ca, int ma,
				    enum sx_cond cb, int mb)
{
	size_t nf = sx_metric_count(SX_METRIC_FAITH), r, f, family;
	struct sx_json *o = sx_json_new_object();
	double *a = xcalloc(run->nrev + 1, sizeof(double)), *b = xcalloc(run->nrev + 1, sizeof(double));
	double *p = xcalloc(nf, sizeof(double)), *adj = xcalloc(nf, sizeof(double));
	struct sx_paired *pr = xcalloc(nf, sizeof(*pr));
	char what[256];

	for (f = 0; f < nf; f++) {
		const struct sx_metric_def *md = sx_metric_of(SX_METRIC_FAITH, f);

		for (r = 0; r < run->nrev; r++) {
			a[r] = faith_value(&run_item(run, r, ca)->m[ma], md);
			b[r] = faith_value(&run_item(run, r, cb)->m[mb], md);
		}
		snprintf(what, sizeof(what), "%s/%s-%s/%s/%s", sx_cond_name(ca),
			 run_method_name(run, ma, ca), sx_cond_name(cb), run_method_name(run, mb, cb),
			 md->key);
		sx_stats_paired_as(a, b, run->nrev,
				   md->flags & SX_METRIC_PROPORTION ? SX_INTERVAL_NEWCOMBE
								    : SX_INTERVAL_STUDENTIZED,
				   (size_t)run->cfg->bootstrap, summary_seed(run, what), &pr[f]);
		p[f] = isfinite(pr[f].p_value) ? pr[f].p_value : NAN;
	}
	family = sx_stats_holm(p, nf, adj);
	for (f = 0; f < nf; f++)
		add_paired(o, sx_metric_of(SX_METRIC_FAITH, f)->key, &pr[f], adj[f], family);
	free(a);
	free(b);
	free(p);
	free(adj);
	free(pr);
	return o;
}

static struct sx_json *comparisons_summary(const struct run *run)
{
	struct sx_json *o = sx_json_new_object();
	char name[2 * SX_METHOD_NAME_MAX + 32];
	int c, m;

	if (!run->cfg->metrics)
		return o;
	if (run_has_cond(run, SX_COND_EP) && run_has_cond(run, SX_COND_PE)) {
		for (m = 0; m < (int)run->nmeth; m++) {
			if (m != SX_METHOD_SELF && (!run_method_applies(run, m, SX_COND_EP) ||
						    !run_method_applies(run, m, SX_COND_PE)))
				continue;
			snprintf(name, sizeof(name), "ep-vs-pe/%s", run_method_name(run, m, SX_COND_EP));
			sx_json_add(o, name, compare_json(run, SX_COND_EP, m, SX_COND_PE, m));
		}
	}
	for (c = 0; c < SX_COND_COUNT; c++) {
		if (!run_has_cond(run, (enum sx_cond)c) || c == SX_COND_PRED)
			continue;
		for (m = SX_METHOD_SELF + 1; m < (int)run->nmeth; m++) {
			if (!run_method_applies(run, m, (enum sx_cond)c))
				continue;
			snprintf(name, sizeof(name), "%s/%s-vs-%s", sx_cond_name((enum sx_cond)c),
				 run_method_name(run, m, (enum sx_cond)c),
				 run_method_name(run, SX_METHOD_SELF, (enum sx_cond)c));
			sx_json_add(o, name, compare_json(run, (enum sx_cond)c, m, (enum sx_cond)c,
							  SX_METHOD_SELF));
		}
	}
	return o;
}

struct sx_json *run_summary(const struct run *run)
{
	struct sx_json *o = sx_json_new_object(), *conds;
	int c;

	sx_json_add_num(o, "reviews", (double)run->nrev);
	sx_json_add_str(o, "prob", run_prob_name(run->cfg));
	conds = sx_json_add(o, "conditions", sx_json_new_object());
	for (c = 0; c < SX_COND_COUNT; c++)
		if (run_has_cond(run, (enum sx_cond)c))
			sx_json_add(conds, sx_cond_name((enum sx_cond)c),
				    condition_summary(run, (enum sx_cond)c));
	sx_json_add(o, "comparisons", comparisons_summary(run));
	return o;
}
