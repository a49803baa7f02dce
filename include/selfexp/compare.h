#ifndef SELFEXP_COMPARE_H
#define SELFEXP_COMPARE_H
/*
 * `selfexp compare`: the CI gate. Two runs are paired by review id and
 * condition (and method); for each (condition, metric) compared, the change
 * new - base gets a paired interval (Newcombe's for 0/1 values, else the
 * studentized bootstrap) and a Wilcoxon signed-rank
 * p-value (stats.h sx_stats_paired), Holm-adjusted across the (condition,
 * metric) rows of the comparison that have a p-value. A row whose paired
 * differences are all zero has none (no test is made; it cannot regress on
 * its p), is left out of the Holm family and reports no adjusted p; the
 * footers say how many of how many rows the family holds. summary.json's
 * comparisons follow the same rule (src/run/summary.c). A metric regressed
 * when it got worse, in its direction, by more than the tolerance and the
 * change is significant (Holm-adjusted p < alpha).
 *
 * Metrics, per review: accuracy (1 if the usable prediction equals the gold
 * label; undefined without one), parse_failures (1 if the answer came but
 * gave no usable prediction, 0 if it gave one; undefined when the request
 * failed), failed_requests (1 if the request failed: records.jsonl status
 * "failed"; else 0), and the faithfulness metrics of records.jsonl
 * (comprehensiveness, sufficiency, df_mit, df_frac, rankdel,
 * aopc_comprehensiveness, aopc_sufficiency), of the self-explanation unless
 * written METHOD:METRIC (occlusion:rankdel). Higher is better for accuracy,
 * comprehensiveness, df_mit, rankdel and aopc_comprehensiveness; lower for
 * the others.
 *
 * The default gate includes both failure rates: accuracy is paired only over
 * the reviews with a usable prediction in both runs, so a prompt that breaks
 * the answer format on a quarter of the reviews leaves accuracy unchanged;
 * the paired parse-failure rate is what catches it.
 */
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"
#include "selfexp/stats.h"

struct sx_rundir;

#define SX_COMPARE_DEFAULT_METRICS \
	"accuracy,parse_failures,failed_requests,comprehensiveness,sufficiency,rankdel"
#define SX_COMPARE_MAX_METRICS 32

struct sx_compare_opts {
	const char *metrics;    /* comma-separated; NULL = SX_COMPARE_DEFAULT_METRICS */
	const char *conditions; /* comma-separated; NULL = every condition in both runs */
	double tolerance;       /* allowed worsening, in the metric's units */
	double alpha;           /* significance level after Holm */
	size_t bootstrap;       /* resamples; 0 = SX_STATS_BOOTSTRAP_B */
};

#define SX_COMPARE_OPTS_INIT { \
	.metrics = NULL, .conditions = NULL, .tolerance = 0.01, .alpha = 0.05, .bootstrap = 0, \
}

struct sx_compare_row {
	char condition[32];
	char method[64];       /* self, occlusion, lime, a file's method (registry.h SX_METHOD_NAME_MAX) */
	char metric[40];
	int higher_better;
	struct sx_paired p;     /* a = new, b = base: mean_diff = new - base */
	double p_holm;          /* NaN when p is */
	int regressed;
	int improved;
	int lost;               /* defined in base, undefined for every review of new: regressed */
};

#define SX_COMPARE_MODELS_MAX 256

struct sx_compare_result {
	struct sx_compare_row *rows; /* owned */
	size_t n;
	size_t common;          /* review ids in both runs */
	size_t base_reviews, new_reviews;
	double tolerance, alpha;
	size_t regressions;
	size_t holm_m;          /* rows with a p-value: the Holm family */
	int base_partial, new_partial; /* 0, SX_COMPARE_PARTIAL or SX_COMPARE_NOT_KNOWN */
	long base_failed, new_failed;  /* its failures.requests (-1 when it has none) */
	long base_skipped, new_skipped; /* its counts.skipped: not sent, a cap reached (-1: none) */
	/*
	 * The models the runs' answers name (run.json counts.models_served:
	 * sorted, ", "-joined, printable ASCII, cut at SX_COMPARE_MODELS_MAX),
	 * set only when both runs name some and they differ: an API's new
	 * snapshot, or a gateway's fallback, changes the answers as a prompt does.
	 */
	char base_models[SX_COMPARE_MODELS_MAX], new_models[SX_COMPARE_MODELS_MAX];
};

/* A run that is not known to be complete: run.json "complete": false, or no "complete" (damaged). */
#define SX_COMPARE_PARTIAL 1
#define SX_COMPARE_NOT_KNOWN 2

#define SX_COMPARE_RESULT_INIT { \
	.rows = NULL, .n = 0, .common = 0, .base_reviews = 0, .new_reviews = 0, .tolerance = 0, \
	.alpha = 0, .regressions = 0, .holm_m = 0, .base_partial = 0, .new_partial = 0, \
	.base_failed = 0, .new_failed = 0, .base_skipped = 0, .new_skipped = 0, \
}

/* Check a metric list; SX_EINPUT naming the unknown metric. */
int sx_compare_check_metrics(const char *list, struct sx_err *err);
/*
 * Compare base and new (both loaded with records). SX_EINPUT with a message
 * saying why when the runs cannot be compared: different models or
 * probability sources, different texts under the same review id, no
 * condition or no review id in common. A partial run (run.json "complete":
 * false) is compared over the answers it has and flagged in res, and so is
 * one whose run.json does not say (SX_COMPARE_NOT_KNOWN).
 */
int sx_compare_runs(const struct sx_rundir *base, const struct sx_rundir *cur,
		    const struct sx_compare_opts *opts, struct sx_compare_result *res,
		    struct sx_err *err);
void sx_compare_result_release(struct sx_compare_result *res);

/* Renderings: a text table (stdout), a Markdown table for a PR comment, JUnit XML. */
void sx_compare_text(const struct sx_compare_result *res, struct sx_buf *out);
void sx_compare_markdown(const struct sx_compare_result *res, struct sx_buf *out);
void sx_compare_junit(const struct sx_compare_result *res, struct sx_buf *out);

#endif
