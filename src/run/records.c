/* records.jsonl: one line per (review, condition, method) (DESIGN.md section 10). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "selfexp/hash.h"
#include "selfexp/rundir.h"
#include "selfexp/utf8.h"

struct sx_json *run_num_or_null(double v)
{
	return isfinite(v) ? sx_json_new_num(v) : sx_json_new_null();
}

static struct sx_json *tokens_json(const struct sx_review *rv)
{
	struct sx_json *a = sx_json_new_array();
	size_t i;

	for (i = 0; i < rv->ntokens; i++)
		sx_json_push(a, sx_json_new_str(rv->tokens[i]));
	return a;
}

static struct sx_json *vector_json(const double *v, const unsigned char *has, size_t n)
{
	struct sx_json *a = sx_json_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		sx_json_push(a, (!has || has[i]) && isfinite(v[i]) ? sx_json_new_num(v[i])
								   : sx_json_new_null());
	return a;
}

static const char *item_status(const struct item *it)
{
	return it->answered ? sx_parse_status_name(it->parse.status) : "failed";
}

/* The fields every record of (review, condition) starts with. */
static struct sx_json *record_head(const struct run *run, size_t r, enum sx_cond c,
				   const char *method)
{
	const struct sx_review *rv = &run->ds.reviews[r];
	const struct item *it = run_item(run, r, c);
	struct sx_json *o = sx_json_new_object(), *pred;

	sx_json_add_str(o, "id", rv->id);
	sx_json_add_str(o, "condition", sx_cond_name(c));
	sx_json_add_str(o, "method", method);
	sx_json_add(o, "tokens", tokens_json(rv));
	sx_json_add(o, "gold", rv->gold >= 0 ? sx_json_new_num(rv->gold) : sx_json_new_null());
	if (it->answered && (it->parse.has_prediction || it->substituted)) {
		pred = sx_json_add(o, "prediction", sx_json_new_object());
		sx_json_add_num(pred, "label", it->parse.label);
		sx_json_add_num(pred, "confidence", it->parse.confidence);
		sx_json_add(pred, "p_pos", it->has_p ? sx_json_new_num(it->p_pos) : sx_json_new_null());
		if (it->substituted)
			sx_json_add_bool(pred, "substituted", 1);
	} else {
		sx_json_add(o, "prediction", sx_json_new_null());
	}
	sx_json_add_str(o, "status", item_status(it));
	return o;
}

static void repairs_json(struct sx_json *o, const struct sx_parse_result *pr)
{
	struct sx_json *full = sx_parse_result_to_json(pr);
	struct sx_json *rep = sx_json_get(full, "repairs");

	sx_json_add(o, "repairs", rep ? sx_json_dup(rep) : sx_json_new_array());
	sx_json_free(full);
}

/* Every faithfulness metric of the registry, then the AOPC bins. */
static struct sx_json *faith_json(const struct sx_faith *f)
{
	struct sx_json *o = sx_json_new_object(), *a, *b;
	const struct sx_metric_def *md;
	size_t i;

	for (i = 0; (md = sx_metric_of(SX_METRIC_FAITH, i)); i++)
		sx_json_add(o, md->key, run_num_or_null(sx_metric_value(md, f, 0)));
	a = sx_json_add(o, "comprehensiveness_at", sx_json_new_array());
	b = sx_json_add(o, "sufficiency_at", sx_json_new_array());
	for (i = 0; i < SX_AOPC_NBINS; i++) {
		sx_json_push(a, run_num_or_null(f->comp_at[i]));
		sx_json_push(b, run_num_or_null(f->suff_at[i]));
	}
	return o;
}

/* The agreement metrics of pair q: those of top-k lists when either side is a list. */
static struct sx_json *agree_json(const struct run *run, const struct item *it, size_t q)
{
	struct sx_json *o = sx_json_new_object();
	int topk = run_pair_topk(run, it, q);
	const void *obj = topk ? (const void *)&it->agree_topk[q] : (const void *)&it->agree[q];
	const struct sx_metric_def *md;
	const char *reason;
	size_t i;

	for (i = 0; (md = sx_metric_of(SX_METRIC_AGREE, i)); i++)
		if (md->applies & (topk ? SX_APPLIES_TOPK : SX_APPLIES_FULL))
			sx_json_add(o, md->key, run_num_or_null(sx_metric_value(md, obj, topk)));
	reason = topk ? it->agree_topk[q].undefined : it->agree[q].undefined;
	if (reason)
		sx_json_add_str(o, "undefined", reason);
	return o;
}

/* Why a metric of a scored explanation is null. */
static const char *undefined_reason(const struct expl *e, const struct sx_metric_def *md,
				    struct sx_buf *buf)
{
	sx_buf_reset(buf);
	if (e->inputs_missing) {
		sx_buf_addf(buf, "%zu of its %zu inputs got no usable answer", e->inputs_missing,
			    e->inputs);
		return buf->buf;
	}
	if (!strcmp(md->key, "rankdel"))
		return e->list ? "not defined for a top-k list or a ranking (no values; --compat "
				 "paper scores the listed order)"
			       : "Spearman is undefined: the importances or the single-deletion "
				 "effects are constant";
	return "undefined for this review";
}

/* "metrics_undefined": the reason of every metric that is null, when any is. */
static void add_undefined(struct sx_json *o, const struct expl *e)
{
	struct sx_json *u = NULL;
	struct sx_buf buf = SX_BUF_INIT;
	const struct sx_metric_def *md;
	size_t i;

	for (i = 0; (md = sx_metric_of(SX_METRIC_FAITH, i)); i++) {
		if (isfinite(sx_metric_value(md, &e->faith, 0)))
			continue;
		if (!u)
			u = sx_json_add(o, "metrics_undefined", sx_json_new_object());
		sx_json_add_str(u, md->key, undefined_reason(e, md, &buf));
	}
	sx_buf_release(&buf);
}

static void add_lime_fit(struct sx_json *o, const struct expl *e)
{
	struct sx_json *l = sx_json_add(o, "lime", sx_json_new_object());

	sx_json_add_str(l, "status", !e->ok ? "failed" : e->samples_failed ? "partial" : "ok");
	sx_json_add(l, "r2", run_num_or_null(e->ok ? e->r2 : NAN));
	sx_json_add(l, "intercept", run_num_or_null(e->ok ? e->intercept : NAN));
	sx_json_add_num(l, "samples", (double)e->samples);
	sx_json_add_num(l, "samples_failed", (double)e->samples_failed);
}

static void add_explanation(struct sx_json *o, const struct expl *e, enum sx_cond c, int m,
			    size_t n)
{
	size_t i;

	if (e->list) {
		/* a file's ranking-only method: "ranking" (it need not be k long) */
		struct sx_json *a = sx_json_add(o, m >= SX_METHOD_COUNT ? "ranking" : "topk",
						sx_json_new_array());
		for (i = 0; i < e->nlist; i++)
			sx_json_push(a, sx_json_new_num((double)e->list[i]));
	} else if (e->ok) {
		sx_json_add(o, "importance", vector_json(e->value, e->has, n));
	} else if (m != SX_METHOD_SELF || sx_cond_has_importance(c) || sx_cond_is_topk(c)) {
		sx_json_add(o, "importance", sx_json_new_null());
	}
	if (m == SX_METHOD_LIME && e->samples)
		add_lime_fit(o, e);
}

static void add_agreement(const struct run *run, struct sx_json *o, const struct item *it,
			  enum sx_cond c, int m)
{
	struct sx_json *ag = NULL;
	size_t q;

	for (q = 0; q < run->npairs; q++) {
		int other = run->pair_a[q] == m ? run->pair_b[q]
			  : run->pair_b[q] == m ? run->pair_a[q] : -1;
		if (other < 0 || !it->has_agree[q])
			continue;
		if (!ag)
			ag = sx_json_add(o, "agreement", sx_json_new_object());
		sx_json_add(ag, run_method_name(run, other, c), agree_json(run, it, q));
	}
}

/* Where a file's explanation came from: "FILE:LINE" (FILE absolute), and the sign it was given in. */
static void add_source(const struct run *run, struct sx_json *o, size_t r, enum sx_cond c, int m)
{
	const struct sx_expl_entry *x =
		sx_explanations_find(&run->xp, r, (size_t)(m - SX_METHOD_COUNT), c);
	struct sx_buf b = SX_BUF_INIT;

	if (!x)
		return;
	sx_buf_addf(&b, "%s:%zu", run->xp_path[x->file], x->line); /* absolute: score writes the same */
	sx_json_add_str(o, "source", b.buf);
	if (x->values)
		sx_json_add_str(o, "sign", x->sign == SX_EXPL_SIGN_PREDICTED ? "predicted" : "positive");
	sx_buf_release(&b);
}

/*
 * The raw answer. Not valid UTF-8 (a server's bytes): "answer" holds it with
 * each bad byte as U+FFFD, so that every JSON reader takes the line, and
 * "answer_base64" the bytes as they came.
 */
static void add_answer(struct sx_json *o, const char *answer)
{
	size_t len = strlen(answer);
	char *b64;

	sx_json_add_str(o, "answer", answer);
	if (sx_utf8_valid(answer, len))
		return;
	b64 = sx_base64(answer, len);
	sx_json_add_str(o, "answer_base64", b64);
	free(b64);
}

static struct sx_json *method_record(const struct run *run, size_t r, enum sx_cond c, int m)
{
	const struct item *it = run_item(run, r, c);
	const struct expl *e = &it->m[m];
	struct sx_json *o = record_head(run, r, c, run_method_name(run, m, c));

	if (m == SX_METHOD_SELF && it->answered) {
		repairs_json(o, &it->parse);
		if (sx_cond_has_importance(c) || sx_cond_is_topk(c))
			sx_json_add_num(o, "coverage", it->parse.coverage);
	}
	add_explanation(o, e, c, m, run->ds.reviews[r].ntokens);
	if (m >= SX_METHOD_COUNT)
		add_source(run, o, r, c, m);
	if (e->ok && run->cfg->metrics) {
		sx_json_add(o, "p_pos_x", run_num_or_null(it->p_x));
		sx_json_add(o, "label_x", it->y_x >= 0 ? sx_json_new_num(it->y_x) : sx_json_new_null());
		sx_json_add(o, "metrics", e->has_faith ? faith_json(&e->faith) : sx_json_new_null());
		if (e->faith_reason)
			sx_json_add_str(o, "metrics_error", e->faith_reason);
		if (e->has_faith)
			add_undefined(o, e);
	}
	add_agreement(run, o, it, c, m);
	if (m == SX_METHOD_SELF && it->answered)
		add_answer(o, it->answer);
	/* one "error": for an elicitation that failed, the request's own reason */
	if (m == SX_METHOD_SELF && !it->answered)
		sx_json_add_str(o, "error", it->reason ? it->reason : "no answer");
	else if (e->reason)
		sx_json_add_str(o, "error", e->reason);
	return o;
}

/*
 * The elicitation record (method self / topk / prediction) is written
 * whatever --explainers says; a file's method where it explains the condition.
 */
static int record_written(const struct run *run, int m, enum sx_cond c)
{
	return m == SX_METHOD_SELF || run_method_applies(run, m, c);
}

void run_write_records(const struct run *run, struct sx_rundir_writer *w)
{
	size_t r;
	int c, m;

	for (r = 0; r < run->nrev; r++)
		for (c = 0; c < SX_COND_COUNT; c++)
			if (run_has_cond(run, (enum sx_cond)c))
				for (m = 0; m < (int)run->nmeth; m++)
					if (record_written(run, m, (enum sx_cond)c))
						sx_rundir_writer_record(w, method_record(run, r, (enum sx_cond)c,
											 m));
}
