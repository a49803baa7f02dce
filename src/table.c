#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/json.h"
#include "selfexp/registry.h"
#include "selfexp/rundir.h"
#include "selfexp/table.h"

/* ---------------------------------------------------------------- model */

/*
 * A table is built once from the summary, as cells that know both how they
 * read (mean [lo, hi], a count, a p-value) and which tidy keys they carry
 * (condition, method, metric, stat), and then handed to one format.
 */
enum cell_kind { C_EMPTY, C_TEXT, C_CI, C_NUM, C_INT, C_P };

struct cell {
	enum cell_kind kind;
	char *text;         /* owned; C_TEXT */
	double v, lo, hi;   /* C_CI: mean and interval; else the value */
	long n;             /* C_CI: observations, -1 when unknown */
	long n_ref;         /* C_CI: the row's n; a different n is shown in the cell */
	int bold;
	int csv_skip;       /* a label, or a value another cell already carries */
	const char *cond;   /* borrowed: tidy keys */
	const char *method;
	const char *metric;
	const char *stat;   /* single-valued cells */
};


struct column {
	const char *name;   /* borrowed */
	enum sx_metric_dir dir;
	int left;           /* left-aligned (labels) */
};

struct row {
	char *group;        /* owned; non-NULL: a group heading row, no cells */
	struct cell *cells; /* owned, ncols */
};

struct table {
	const char *id;     /* borrowed; the csv "table" key */
	char *title;        /* owned */
	struct column cols[16];
	size_t ncols;
	struct row *rows;   /* owned */
	size_t nrows, alloc;
	struct sx_buf note;
};

struct tables {
	struct table *t;
	size_t n, alloc;
};

static struct table *table_new(struct tables *ts, const char *id, const char *title)
{
	struct table *t;

	SX_GROW(ts->t, ts->alloc, ts->n + 1);
	t = &ts->t[ts->n++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->title = xstrdup(title);
	sx_buf_init(&t->note, 0);
	return t;
}

static void table_col(struct table *t, const char *name, enum sx_metric_dir dir, int left)
{
	if (t->ncols >= sizeof(t->cols) / sizeof(t->cols[0]))
		return;
	t->cols[t->ncols].name = name;
	t->cols[t->ncols].dir = dir;
	t->cols[t->ncols].left = left;
	t->ncols++;
}

static struct row *table_row(struct table *t)
{
	struct row *r;
	size_t k;

	SX_GROW(t->rows, t->alloc, t->nrows + 1);
	r = &t->rows[t->nrows++];
	r->group = NULL;
	r->cells = xcalloc(t->ncols ? t->ncols : 1, sizeof(struct cell));
	for (k = 0; k < t->ncols; k++)
		r->cells[k].csv_skip = 1; /* until a value is put in */
	return r;
}

static void table_group(struct table *t, const char *label)
{
	struct row *r = table_row(t);

	r->group = xstrdup(label);
}

static void tables_release(struct tables *ts)
{
	size_t i, j, k;

	for (i = 0; i < ts->n; i++) {
		struct table *t = &ts->t[i];
		for (j = 0; j < t->nrows; j++) {
			for (k = 0; k < t->ncols; k++)
				free(t->rows[j].cells[k].text);
			free(t->rows[j].cells);
			free(t->rows[j].group);
		}
		free(t->rows);
		free(t->title);
		sx_buf_release(&t->note);
	}
	free(ts->t);
}

static void cell_text(struct cell *c, const char *s)
{
	c->kind = C_TEXT;
	c->csv_skip = 1;
	free(c->text);
	c->text = xstrdup(s);
}

/* A cell from an aggregate object {n, mean, sd, ci_lo, ci_hi}. */
static void cell_agg(struct cell *c, const struct sx_json *agg, const char *cond,
		     const char *method, const char *metric)
{
	double n = sx_json_num_or_nan(agg, "n");

	c->csv_skip = 0;
	c->cond = cond;
	c->method = method;
	c->metric = metric;
	if (!agg) {
		c->kind = C_EMPTY;
		c->csv_skip = 1;
		return;
	}
	c->kind = C_CI;
	c->v = sx_json_num_or_nan(agg, "mean");
	c->lo = sx_json_num_or_nan(agg, "ci_lo");
	c->hi = sx_json_num_or_nan(agg, "ci_hi");
	c->n = isfinite(n) ? (long)n : -1;
	c->n_ref = -1;
}

static void cell_value(struct cell *c, enum cell_kind kind, double v, const char *cond,
		       const char *method, const char *metric, const char *stat)
{
	c->kind = kind;
	c->csv_skip = 0;
	c->v = v;
	c->cond = cond;
	c->method = method;
	c->metric = metric;
	c->stat = stat;
}

/* ---------------------------------------------------------------- summary access */

static const struct sx_json *cond_obj(const struct sx_json *summary, const char *cond)
{
	return sx_json_get(sx_json_get(summary, "conditions"), cond);
}

static const struct sx_json *method_obj(const struct sx_json *summary, const char *cond,
					const char *method)
{
	return sx_json_get(sx_json_get(cond_obj(summary, cond), "methods"), method);
}

static int has_cond(const struct sx_json *summary, const char *cond)
{
	return cond_obj(summary, cond) != NULL;
}

/* The columns of the paper's faithfulness table: the registry's SX_METRIC_PAPER rows. */
#define NFAITH_MAX 16
static size_t paper_metrics(const struct sx_metric_def **out)
{
	const struct sx_metric_def *m;
	size_t i, n = 0;

	for (i = 0; (m = sx_metric_of(SX_METRIC_FAITH, i)) && n < NFAITH_MAX; i++)
		if (m->flags & SX_METRIC_PAPER)
			out[n++] = m;
	return n;
}

#define NAGREE_MAX 16
/* Methods of an agreement matrix: a table's columns but the label column. */
#define NAMETH_MAX 15

/*
 * A group of the paper's faithfulness table: the full condition, its top-k
 * variant, and the condition whose occlusion / LIME rows are shown (the full
 * one when present).
 */
struct group {
	const char *label;
	const char *full;   /* condition of "self (full)", or NULL */
	const char *topk;   /* condition of "self (top-k)", or NULL */
	const char *expl;   /* condition of the occlusion and LIME rows, or NULL */
};

static size_t paper_groups(const struct sx_json *summary, struct group *g)
{
	static const char *const fam[][3] = {
		{ "E-P", "ep", "ep-topk" }, { "P-E", "pe", "pe-topk" }, { "prediction only", NULL, "pred" },
	};
	size_t i, n = 0;

	for (i = 0; i < 3; i++) {
		const char *full = fam[i][1] && has_cond(summary, fam[i][1]) ? fam[i][1] : NULL;
		const char *second = has_cond(summary, fam[i][2]) ? fam[i][2] : NULL;

		if (!full && !second)
			continue;
		if (i == 2 && (has_cond(summary, "ep") || has_cond(summary, "pe") ||
			       has_cond(summary, "ep-topk") || has_cond(summary, "pe-topk")))
			continue; /* prediction only: shown only when it is all there is */
		g[n].label = fam[i][0];
		g[n].full = full;
		g[n].topk = i < 2 ? second : NULL;
		g[n].expl = full ? full : second;
		n++;
	}
	return n;
}

/* "E-P 0 of 36, P-E 2 of 36" parse failures and failed requests per condition. */
static void note_exclusions(struct sx_buf *note, const struct sx_json *summary)
{
	const struct sx_json *c;
	int first = 1;

	sx_buf_adds(note, "Excluded (parse failures, failed requests) of n reviews:");
	for (c = sx_json_child(sx_json_get(summary, "conditions")); c; c = sx_json_next(c)) {
		double pf = sx_json_num_or_nan(c, "parse_failures");
		double fl = sx_json_num_or_nan(c, "failed"), rv = sx_json_num_or_nan(c, "reviews");
		sx_buf_addf(note, "%s %s %.0f, %.0f of %.0f", first ? "" : ";",
			    sx_rundir_condition_label(sx_json_key(c)), isfinite(pf) ? pf : 0,
			    isfinite(fl) ? fl : 0, isfinite(rv) ? rv : 0);
		first = 0;
	}
	sx_buf_adds(note, ".");
}

/* A reader's name of an interval method as summary.json names it ("interval"). */
static const char *interval_label(const char *name)
{
	static const char *const labels[][2] = {
		{ "clopper_pearson", "Clopper-Pearson" },
		{ "studentized", "studentized bootstrap" },
		{ "bca_expanded", "expanded BCa" },
		{ "bca", "BCa" },
		{ "basic", "basic bootstrap" },
		{ "percentile", "percentile bootstrap" },
		{ "wilson", "Wilson" },
		{ "newcombe", "Newcombe" },
	};
	size_t i;

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (!strcmp(name, labels[i][0]))
			return labels[i][1];
	return name;
}

struct interval_use {
	const char *name;         /* borrowed from the summary */
	struct sx_buf metrics;    /* ", "-separated, each once */
	struct sx_strmap seen;
};

/* Every aggregate under j that names its interval, by method, in order of appearance. */
static void collect_intervals(const struct sx_json *j, const char *key, struct interval_use *u,
			      size_t *nu, size_t max)
{
	const struct sx_json *c;
	const char *how = sx_json_get_str(j, "interval");
	size_t i, dummy;

	if (how && key) {
		for (i = 0; i < *nu && strcmp(u[i].name, how); i++)
			;
		if (i == *nu && *nu < max) {
			u[i].name = how;
			sx_buf_init(&u[i].metrics, 0);
			u[i].seen = (struct sx_strmap)SX_STRMAP_INIT;
			(*nu)++;
		}
		dummy = 0;
		if (i < *nu && !sx_strmap_put(&u[i].seen, key, strlen(key), &dummy))
			sx_buf_addf(&u[i].metrics, "%s%s", u[i].metrics.len ? ", " : "", key);
		return;
	}
	for (c = sx_json_child(j); c; c = sx_json_next(c))
		if (sx_json_type_of(c) == SX_JSON_OBJECT)
			collect_intervals(c, sx_json_key(c), u, nu, max);
}

/*
 * "Intervals (95 %): Clopper-Pearson for accuracy, df_mit; studentized
 * bootstrap for ..." from the methods summary.json names under key
 * ("conditions" or "comparisons"); a summary from before they were named had
 * the percentile bootstrap everywhere. The expanded BCa is the studentized
 * bootstrap's fallback where both are named, and was the method itself
 * before (a paired difference's until 2026-12-04).
 */
static void note_intervals(struct sx_buf *note, const struct sx_json *summary, const char *key)
{
	struct interval_use u[8];
	size_t nu = 0, i;
	int studentized = 0;

	collect_intervals(sx_json_get(summary, key), NULL, u, &nu, 8);
	for (i = 0; i < nu; i++)
		studentized |= !strcmp(u[i].name, "studentized");
	if (!nu) {
		sx_buf_adds(note, " Intervals (95 %): percentile bootstrap (this summary.json names no "
				  "method: a run of an earlier selfexp).");
		return;
	}
	sx_buf_adds(note, " Intervals (95 %, docs/statistics.md): ");
	for (i = 0; i < nu; i++) {
		sx_buf_addf(note, "%s%s for %s%s", i ? "; " : "", interval_label(u[i].name),
			    u[i].metrics.buf,
			    studentized && !strcmp(u[i].name, "bca_expanded")
				    ? " (where a resample was constant)"
				    : "");
		sx_buf_release(&u[i].metrics);
		sx_strmap_release(&u[i].seen);
	}
	sx_buf_adds(note, ".");
}

/* ---------------------------------------------------------------- paper layout */

static void build_accuracy(struct tables *ts, const struct sx_json *summary)
{
	static const struct {
		const char *label;
		const char *key;
		enum cell_kind kind;
		const char *stat;
	} rows[] = {
		{ "Accuracy", "accuracy", C_CI, NULL },
		{ "n (scored)", "accuracy", C_INT, "n" },
		{ "ECE", "ece", C_NUM, "value" },
		{ "Parse failures", "parse_failures", C_INT, "count" },
		{ "Failed requests", "failed_requests", C_INT, "count" },
		{ "Coverage", "coverage", C_CI, NULL },
		{ "Reviews (n)", "reviews", C_INT, "count" },
	};
	const struct sx_json *conds = sx_json_get(summary, "conditions"), *c;
	struct table *t = table_new(ts, "accuracy", "Accuracy and parse failures by prompt condition");
	size_t i, k;

	table_col(t, "", SX_DIR_NONE, 1);
	for (c = sx_json_child(conds); c; c = sx_json_next(c))
		table_col(t, sx_rundir_condition_label(sx_json_key(c)), SX_DIR_NONE, 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct row *r = table_row(t);

		cell_text(&r->cells[0], rows[i].label);
		for (c = sx_json_child(conds), k = 1; c && k < t->ncols; c = sx_json_next(c), k++) {
			const char *key = rows[i].key;
			const struct sx_json *v = sx_json_get(c, key);
			const char *cond = sx_json_key(c);

			if (!v && !strcmp(key, "failed_requests")) {
				/* written before 0.2.0 (check_counts): failed elicitations only */
				key = "failed";
				v = sx_json_get(c, key);
			}

			if (rows[i].kind == C_CI) {
				cell_agg(&r->cells[k], v, cond, "", key);
			} else if (sx_json_type_of(v) == SX_JSON_OBJECT) {
				/* the n of an aggregate, already in the csv with its mean */
				cell_value(&r->cells[k], C_INT, sx_json_num_or_nan(v, "n"), cond, "",
					   key, rows[i].stat);
				r->cells[k].csv_skip = 1;
			} else if (sx_json_type_of(v) == SX_JSON_NUMBER) {
				cell_value(&r->cells[k], rows[i].kind, sx_json_num_or_nan(c, key),
					   cond, "", key, rows[i].stat);
			} else {
				/* null: undefined (NA in csv); absent: does not apply */
				cell_value(&r->cells[k], C_EMPTY, NAN, cond, "", key,
					   rows[i].stat);
				r->cells[k].csv_skip = !v;
			}
		}
	}
	sx_buf_adds(&t->note, "Accuracy: mean and 95 % interval over the reviews with a "
			      "usable prediction and a gold label (n scored). ECE: expected "
			      "calibration error of the verbal confidence (10 bins). Parse failures "
			      "are answers without a usable prediction; they are excluded, never "
			      "scored as a guess. Coverage: share of the tokens the self-explanation "
			      "gave a value.");
	note_intervals(&t->note, summary, "conditions");
}

/* Bold the best finite mean of each metric column among rows [r0, r1). */
static void bold_best(struct table *t, size_t r0, size_t r1, size_t col, enum sx_metric_dir dir)
{
	double best = NAN;
	size_t r;

	for (r = r0; r < r1; r++) {
		const struct cell *c = &t->rows[r].cells[col];
		if (c->kind != C_CI || !isfinite(c->v))
			continue;
		if (!isfinite(best) || (dir == SX_DIR_UP ? c->v > best : c->v < best))
			best = c->v;
	}
	if (!isfinite(best))
		return;
	for (r = r0; r < r1; r++) {
		struct cell *c = &t->rows[r].cells[col];
		if (c->kind == C_CI && isfinite(c->v) && fabs(c->v - best) < 5e-4)
			c->bold = 1;
	}
}

static void faith_row(struct table *t, const struct sx_json *summary, const char *cond,
		      const char *method)
{
	const struct sx_json *m = cond ? method_obj(summary, cond, method) : NULL;
	const struct sx_metric_def *fm[NFAITH_MAX];
	size_t i, nf = paper_metrics(fm);
	struct row *r;

	if (!m)
		return;
	r = table_row(t);
	cell_text(&r->cells[0], sx_method_table_label(method));
	cell_value(&r->cells[1], C_INT, sx_json_num_or_nan(m, "explained"), cond, method,
		   "explained", "count");
	for (i = 0; i < nf; i++) {
		cell_agg(&r->cells[2 + i], sx_json_get(m, fm[i]->key), cond, method, fm[i]->key);
		r->cells[2 + i].n_ref = (long)r->cells[1].v;
	}
}

static void build_faithfulness(struct tables *ts, const struct sx_json *summary,
			       const struct group *g, size_t ng)
{
	struct table *t = table_new(ts, "faithfulness",
				    "Faithfulness of self-explanations, occlusion and LIME");
	const struct sx_metric_def *fm[NFAITH_MAX];
	const char *file[NAMETH_MAX];
	size_t i, j, k, r0, nf = paper_metrics(fm);
	size_t nfile = sx_rundir_file_methods(summary, file, NAMETH_MAX);

	table_col(t, "", SX_DIR_NONE, 1);
	table_col(t, "n", SX_DIR_NONE, 0);
	for (i = 0; i < nf; i++)
		table_col(t, fm[i]->label, fm[i]->dir, 0);
	for (i = 0; i < ng; i++) {
		table_group(t, g[i].label);
		r0 = t->nrows;
		faith_row(t, summary, g[i].full, "self");
		faith_row(t, summary, g[i].topk, "topk");
		faith_row(t, summary, g[i].expl, "occlusion");
		faith_row(t, summary, g[i].expl, "lime");
		/* methods from --explanations files: where occlusion is, else under top-k */
		for (j = 0; j < nfile; j++)
			faith_row(t, summary, method_obj(summary, g[i].expl, file[j]) ? g[i].expl : g[i].topk,
				  file[j]);
		for (k = 0; k < nf; k++)
			bold_best(t, r0, t->nrows, 2 + k, fm[k]->dir);
	}
	sx_buf_adds(&t->note, "Mean [95 % interval] over reviews; n = reviews with an "
			      "explanation (n=k in a cell: the metric is defined for k of them). Best value per column within each group in bold. "
			      "Occlusion and LIME query the model under the group's full prompt "
			      "(under its top-k prompt when the full one was not run). ");
	if (nfile)
		sx_buf_adds(&t->note, "Methods from --explanations files are scored like occlusion; "
				      "a ranking-only one like a top-k list (no RankDel). ");
	note_exclusions(&t->note, summary);
	note_intervals(&t->note, summary, "conditions");
}

/*
 * The methods of the agreement matrices (record names): the built-in ones,
 * then those from --explanations files, as many as a table has columns.
 */
struct amethods {
	const char *name[NAMETH_MAX];
	size_t n, dropped; /* dropped: file methods beyond the columns (--layout long has them) */
};

static void agreement_methods(const struct sx_json *summary, struct amethods *am)
{
	static const char *const builtin[] = { "self", "topk", "occlusion", "lime" };
	const char *file[SX_RUNDIR_FILE_METHODS_MAX];
	size_t i, nfile = sx_rundir_file_methods(summary, file, SX_RUNDIR_FILE_METHODS_MAX);

	am->n = 0;
	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		am->name[am->n++] = builtin[i];
	for (i = 0; i < nfile && am->n < NAMETH_MAX; i++)
		am->name[am->n++] = file[i];
	am->dropped = nfile - i;
}

/* The condition where the pair (a, b) of a group lives, and the summary pair key. */
static const struct sx_json *pair_agg(const struct sx_json *summary, const struct group *g,
				      const struct amethods *am, size_t a, size_t b,
				      const char *metric, const char **cond, const char **pair_key)
{
	char key[160], rkey[160];
	const struct sx_json *ag, *p;
	const char *c;

	if (a == b)
		return NULL;
	if (a > b) {
		size_t tmp = a;
		a = b;
		b = tmp;
	}
	if (a == 0)
		c = g->full;
	else if (a == 1)
		c = b == 0 ? NULL : g->topk;
	else
		c = g->expl;
	if (!c)
		return NULL;
	ag = sx_json_get(cond_obj(summary, c), "agreement");
	snprintf(key, sizeof(key), "%s~%s", am->name[a], am->name[b]);
	snprintf(rkey, sizeof(rkey), "%s~%s", am->name[b], am->name[a]);
	for (p = sx_json_child(ag); p; p = sx_json_next(p))
		if (!strcmp(sx_json_key(p), key) || !strcmp(sx_json_key(p), rkey)) {
			*cond = c;
			*pair_key = sx_json_key(p); /* borrowed from the summary */
			return sx_json_get(p, metric);
		}
	return NULL;
}

static void build_agreement(struct tables *ts, const struct sx_json *summary,
			    const struct group *g, size_t ng)
{
	size_t q, i, a, b, k;
	const struct sx_metric_def *md;
	struct amethods am;

	agreement_methods(summary, &am);
	for (q = 0; (md = sx_metric_of(SX_METRIC_AGREE, q)) && q < NAGREE_MAX; q++) {
		const char *metric = md->key;
		int used[NAMETH_MAX] = { 0 }, any = 0;
		size_t colof[NAMETH_MAX];
		struct sx_buf title = SX_BUF_INIT, nlist = SX_BUF_INIT;
		struct table *t;
		const char *cond, *pk;

		for (i = 0; i < ng; i++)
			for (a = 0; a < am.n; a++)
				for (b = 0; b < am.n; b++)
					if (pair_agg(summary, &g[i], &am, a, b, metric, &cond, &pk)) {
						used[a] = used[b] = 1;
						any = 1;
					}
		if (!any)
			continue;
		sx_buf_addf(&title, "Agreement between explanations: %s", md->title);
		{
			static char ids[NAGREE_MAX][32];
			snprintf(ids[q], sizeof(ids[q]), "agreement_%s", metric);
			t = table_new(ts, ids[q], title.buf);
		}
		sx_buf_release(&title);
		table_col(t, "", SX_DIR_NONE, 1);
		for (a = 0, k = 1; a < am.n; a++)
			if (used[a]) {
				colof[a] = k++;
				table_col(t, sx_method_table_label(am.name[a]), SX_DIR_NONE, 0);
			}
		for (i = 0; i < ng; i++) {
			int group_rows = 0;

			for (a = 0; a < am.n; a++) {
				struct row *r;
				int row_any = 0;

				if (!used[a])
					continue;
				for (b = 0; b < am.n; b++)
					if (used[b] && pair_agg(summary, &g[i], &am, a, b, metric, &cond, &pk))
						row_any = 1;
				if (!row_any)
					continue;
				if (!group_rows++)
					table_group(t, g[i].label);
				r = table_row(t);
				cell_text(&r->cells[0], sx_method_table_label(am.name[a]));
				for (b = 0; b < am.n; b++) {
					const struct sx_json *agg;
					struct cell *c;

					if (!used[b])
						continue;
					c = &r->cells[colof[b]];
					agg = pair_agg(summary, &g[i], &am, a, b, metric, &cond, &pk);
					if (!agg) {
						c->kind = C_EMPTY;
						c->csv_skip = 1;
						continue;
					}
					cell_agg(c, agg, cond, pk, metric);
					c->csv_skip = a > b; /* the mirror image of a cell already written */
					if (a < b && c->n >= 0)
						sx_buf_addf(&nlist, "%s %s %s~%s %ld", nlist.len ? ";" : "",
							    g[i].label, sx_method_table_label(am.name[a]),
							    sx_method_table_label(am.name[b]), c->n);
				}
			}
		}
		sx_buf_adds(&t->note, "Mean [95 % bootstrap interval] over the reviews where both "
				      "explanations exist (k = max(floor(0.2 n), 1) for the top-k "
				      "measures); the matrix is symmetric. n:");
		sx_buf_adds(&t->note, nlist.buf);
		sx_buf_adds(&t->note, ". ");
		if (am.dropped)
			sx_buf_addf(&t->note, "%zu more methods from --explanations files are not "
				    "shown here (there are only %d columns); --layout long lists "
				    "them all. ", am.dropped, NAMETH_MAX);
		sx_buf_release(&nlist);
		note_exclusions(&t->note, summary);
	}
}

/* ---------------------------------------------------------------- long layout */

static void long_row(struct table *t, const char *cond, const char *method, const char *metric,
		     const struct sx_json *v)
{
	struct row *r = table_row(t);

	cell_text(&r->cells[0], sx_rundir_condition_label(cond));
	cell_text(&r->cells[1], method);
	cell_text(&r->cells[2], metric);
	if (sx_json_type_of(v) == SX_JSON_OBJECT) {
		cell_value(&r->cells[3], C_INT, sx_json_num_or_nan(v, "n"), cond, method, metric,
			   "n");
		r->cells[3].csv_skip = 1;
		cell_agg(&r->cells[4], v, cond, method, metric);
	} else if (sx_json_type_of(v) == SX_JSON_NUMBER) {
		double x = NAN;
		sx_json_num(v, &x);
		cell_value(&r->cells[4], x == floor(x) && fabs(x) < 1e12 ? C_INT : C_NUM, x, cond,
			   method, metric, "value");
	} else {
		cell_value(&r->cells[4], C_EMPTY, NAN, cond, method, metric, "value");
	}
}

static void build_long(struct tables *ts, const struct sx_json *summary)
{
	static const char *const cond_keys[] = { "accuracy", "ece", "parse_failures", "failed",
						 "parse_failure_rate", "coverage", "distinct_values" };
	const struct sx_json *c, *m, *v, *p;
	struct table *t = table_new(ts, "results", "All aggregates");
	struct table *cmp;
	size_t i;

	table_col(t, "Condition", SX_DIR_NONE, 1);
	table_col(t, "Method", SX_DIR_NONE, 1);
	table_col(t, "Metric", SX_DIR_NONE, 1);
	table_col(t, "n", SX_DIR_NONE, 0);
	table_col(t, "Mean [95 % CI]", SX_DIR_NONE, 0);
	for (c = sx_json_child(sx_json_get(summary, "conditions")); c; c = sx_json_next(c)) {
		const char *cond = sx_json_key(c);

		for (i = 0; i < sizeof(cond_keys) / sizeof(cond_keys[0]); i++) {
			v = sx_json_get(c, cond_keys[i]);
			if (v)
				long_row(t, cond, "", cond_keys[i], v);
		}
		for (v = sx_json_child(sx_json_get(c, "parse_status")); v; v = sx_json_next(v))
			long_row(t, cond, "", sx_json_key(v), v);
		for (m = sx_json_child(sx_json_get(c, "methods")); m; m = sx_json_next(m))
			for (v = sx_json_child(m); v; v = sx_json_next(v))
				long_row(t, cond, sx_json_key(m), sx_json_key(v), v);
		for (p = sx_json_child(sx_json_get(c, "agreement")); p; p = sx_json_next(p))
			for (v = sx_json_child(p); v; v = sx_json_next(v))
				long_row(t, cond, sx_json_key(p), sx_json_key(v), v);
	}
	sx_buf_adds(&t->note, "Rows with n: mean [95 % interval] over reviews. "
			      "Parse-status rows count answers. ");
	note_exclusions(&t->note, summary);
	note_intervals(&t->note, summary, "conditions");

	cmp = table_new(ts, "comparisons", "Paired comparisons");
	table_col(cmp, "Comparison", SX_DIR_NONE, 1);
	table_col(cmp, "Metric", SX_DIR_NONE, 1);
	table_col(cmp, "n", SX_DIR_NONE, 0);
	table_col(cmp, "Mean A", SX_DIR_NONE, 0);
	table_col(cmp, "Mean B", SX_DIR_NONE, 0);
	table_col(cmp, "A - B [95 % CI]", SX_DIR_NONE, 0);
	table_col(cmp, "p", SX_DIR_NONE, 0);
	table_col(cmp, "p (Holm)", SX_DIR_NONE, 0);
	for (c = sx_json_child(sx_json_get(summary, "comparisons")); c; c = sx_json_next(c)) {
		for (v = sx_json_child(c); v; v = sx_json_next(v)) {
			struct row *r = table_row(cmp);
			const char *name = sx_json_key(c), *metric = sx_json_key(v);

			cell_text(&r->cells[0], name);
			cell_text(&r->cells[1], metric);
			cell_value(&r->cells[2], C_INT, sx_json_num_or_nan(v, "n"), name, "", metric,
				   "n");
			cell_value(&r->cells[3], C_NUM, sx_json_num_or_nan(v, "mean_a"), name, "",
				   metric, "mean_a");
			cell_value(&r->cells[4], C_NUM, sx_json_num_or_nan(v, "mean_b"), name, "",
				   metric, "mean_b");
			cell_value(&r->cells[5], C_CI, sx_json_num_or_nan(v, "mean_diff"), name, "",
				   metric, NULL);
			r->cells[5].lo = sx_json_num_or_nan(v, "ci_lo");
			r->cells[5].hi = sx_json_num_or_nan(v, "ci_hi");
			r->cells[5].n = -1;
			r->cells[5].stat = "mean_diff";
			cell_value(&r->cells[6], C_P, sx_json_num_or_nan(v, "p_value"), name, "",
				   metric, "p_value");
			cell_value(&r->cells[7], C_P, sx_json_num_or_nan(v, "p_holm"), name, "",
				   metric, "p_holm");
		}
	}
	sx_buf_adds(&cmp->note, "A - B: paired 95 % interval over the reviews where both are "
				"defined; p: Wilcoxon signed-rank test, Holm-adjusted across the metrics "
				"of one comparison; blank p: every difference is zero.");
	note_intervals(&cmp->note, summary, "comparisons");
}

/* ---------------------------------------------------------------- number formatting */

/* %.3f without "-0.000"; minus (NULL: "-") written for a negative sign. */
static void add_fixed(struct sx_buf *b, double v, int digits, const char *minus)
{
	double q = pow(10, digits);

	if (fabs(v) * q < 0.5)
		v = 0;
	if (v < 0 && minus) {
		sx_buf_adds(b, minus);
		v = -v;
	}
	sx_buf_addf(b, "%.*f", digits, v);
}

static void add_p(struct sx_buf *b, double p, const char *lt)
{
	if (p < 0.001)
		sx_buf_addf(b, "%s0.001", lt);
	else
		add_fixed(b, p, 3, NULL);
}

/* ---------------------------------------------------------------- escaping */

static void md_escape(struct sx_buf *out, const char *s)
{
	for (; *s; s++) {
		if (strchr("|\\*_`[]<>#", *s))
			sx_buf_addch(out, '\\');
		if (*s == '\n')
			sx_buf_addch(out, ' ');
		else
			sx_buf_addch(out, *s);
	}
}

static void tex_escape(struct sx_buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': sx_buf_adds(out, "\\textbackslash{}"); break;
		case '~': sx_buf_adds(out, "\\textasciitilde{}"); break;
		case '^': sx_buf_adds(out, "\\textasciicircum{}"); break;
		case '&': case '%': case '$': case '#': case '_': case '{': case '}':
			sx_buf_addch(out, '\\');
			sx_buf_addch(out, *s);
			break;
		case '<': sx_buf_adds(out, "\\textless{}"); break;
		case '>': sx_buf_adds(out, "\\textgreater{}"); break;
		case '\n': sx_buf_addch(out, ' '); break;
		default: sx_buf_addch(out, *s);
		}
	}
}

static void csv_field(struct sx_buf *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		sx_buf_adds(out, s);
		return;
	}
	sx_buf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			sx_buf_addch(out, '"');
		sx_buf_addch(out, *s);
	}
	sx_buf_addch(out, '"');
}

/* ---------------------------------------------------------------- formats */

struct fmt_ctx {
	const struct sx_table_opts *opts;
	const struct sx_json *run;
	size_t table_no;
};

/* How a format writes a cell: bold and small text, the missing-value dash. */
struct cell_style {
	const char *bold_on, *bold_off;
	const char *ci_on, *ci_off; /* around " [lo, hi]" */
	const char *dash;
	const char *lt;
	const char *minus;
	void (*escape)(struct sx_buf *, const char *);
};

static void html_escape_str(struct sx_buf *out, const char *s)
{
	sx_buf_add_html(out, s, strlen(s));
}

static void render_cell(struct sx_buf *b, const struct cell *c, const struct cell_style *st)
{
	switch (c->kind) {
	case C_TEXT:
		st->escape(b, c->text);
		return;
	case C_EMPTY:
		sx_buf_adds(b, st->dash);
		return;
	case C_INT:
		if (isfinite(c->v))
			sx_buf_addf(b, "%.0f", c->v);
		else
			sx_buf_adds(b, st->dash);
		return;
	case C_NUM:
		if (isfinite(c->v))
			add_fixed(b, c->v, 3, st->minus);
		else
			sx_buf_adds(b, st->dash);
		return;
	case C_P:
		if (isfinite(c->v))
			add_p(b, c->v, st->lt);
		else
			sx_buf_adds(b, st->dash);
		return;
	case C_CI:
		if (!isfinite(c->v)) {
			sx_buf_adds(b, st->dash);
			return;
		}
		if (c->bold)
			sx_buf_adds(b, st->bold_on);
		add_fixed(b, c->v, 3, st->minus);
		if (c->bold)
			sx_buf_adds(b, st->bold_off);
		if (isfinite(c->lo) && isfinite(c->hi)) {
			sx_buf_adds(b, st->ci_on);
			sx_buf_adds(b, "[");
			add_fixed(b, c->lo, 3, st->minus);
			sx_buf_adds(b, ", ");
			add_fixed(b, c->hi, 3, st->minus);
			sx_buf_adds(b, "]");
			if (c->n_ref >= 0 && c->n >= 0 && c->n != c->n_ref)
				sx_buf_addf(b, " n=%ld", c->n);
			sx_buf_adds(b, st->ci_off);
		}
		return;
	}
}

static void run_line(struct sx_buf *b, const struct sx_json *run,
		     void (*escape)(struct sx_buf *, const char *))
{
	const struct sx_json *model = sx_json_get(run, "model"), *data = sx_json_get(run, "data");
	const char *path = sx_json_get_str(data, "path"), *base;
	double reviews = sx_json_num_or_nan(data, "reviews");
	struct sx_buf line = SX_BUF_INIT;

	base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path ? path : "?";
	sx_buf_addf(&line, "model %s, data %s (%.0f reviews), probability %s, seed %s, selfexp %s",
		    sx_json_str_or(model, "name", "?"), base, isfinite(reviews) ? reviews : 0,
		    sx_json_str_or(run, "prob", "?"), sx_json_str_or(run, "seed", "?"),
		    sx_json_str_or(run, "selfexp_version", "?"));
	if (sx_json_get_str(run, "compat") && !strcmp(sx_json_get_str(run, "compat"), "paper"))
		sx_buf_adds(&line, ", metrics as the paper's code (--compat paper)");
	switch (sx_rundir_run_complete(run)) {
	case 0: sx_buf_adds(&line, " (INCOMPLETE RUN)"); break;
	case -1: sx_buf_adds(&line, " (NOT KNOWN TO BE COMPLETE: run.json has no \"complete\")"); break;
	default: break;
	}
	escape(b, line.buf);
	sx_buf_release(&line);
}

static const char *dir_md(enum sx_metric_dir d)
{
	return d == SX_DIR_UP ? " \xe2\x86\x91" : d == SX_DIR_DOWN ? " \xe2\x86\x93" : "";
}

/* --- Markdown */

static const struct cell_style md_style = { "**", "**", " ", "", "\xe2\x80\x93", "<", NULL, md_escape };

static void md_begin(struct sx_buf *b, struct fmt_ctx *x)
{
	sx_buf_adds(b, "<!-- selfexp table -->\n");
	run_line(b, x->run, md_escape);
	sx_buf_adds(b, "\n\n");
}

static void md_table(struct sx_buf *b, struct fmt_ctx *x, const struct table *t)
{
	size_t r, k;

	sx_buf_addf(b, "### Table %zu. ", ++x->table_no);
	md_escape(b, t->title);
	sx_buf_adds(b, "\n\n|");
	for (k = 0; k < t->ncols; k++) {
		sx_buf_addch(b, ' ');
		md_escape(b, t->cols[k].name);
		sx_buf_adds(b, dir_md(t->cols[k].dir));
		sx_buf_adds(b, " |");
	}
	sx_buf_adds(b, "\n|");
	for (k = 0; k < t->ncols; k++)
		sx_buf_adds(b, t->cols[k].left ? ":---|" : "---:|");
	sx_buf_addch(b, '\n');
	for (r = 0; r < t->nrows; r++) {
		const struct row *row = &t->rows[r];
		sx_buf_addch(b, '|');
		if (row->group) {
			sx_buf_adds(b, " *");
			md_escape(b, row->group);
			sx_buf_adds(b, "* |");
			for (k = 1; k < t->ncols; k++)
				sx_buf_adds(b, " |");
			sx_buf_addch(b, '\n');
			continue;
		}
		for (k = 0; k < t->ncols; k++) {
			sx_buf_addch(b, ' ');
			render_cell(b, &row->cells[k], &md_style);
			sx_buf_adds(b, " |");
		}
		sx_buf_addch(b, '\n');
	}
	sx_buf_adds(b, "\n");
	md_escape(b, t->note.buf);
	sx_buf_adds(b, "\n\n");
}

static void md_end(struct sx_buf *b, struct fmt_ctx *x)
{
	(void)b;
	(void)x;
}

/* --- LaTeX (booktabs) */

static const struct cell_style tex_style = {
	"\\textbf{", "}", "\\\\{\\scriptsize ", "}", "--", "$<$", "$-$", tex_escape
};

static void tex_begin(struct sx_buf *b, struct fmt_ctx *x)
{
	if (x->opts->standalone)
		sx_buf_adds(b, "\\documentclass{article}\n"
			       "\\usepackage[T1]{fontenc}\n"
			       "\\usepackage[utf8]{inputenc}\n"
			       "\\usepackage{booktabs}\n"
			       "\\usepackage[margin=2cm]{geometry}\n"
			       "\\begin{document}\n");
	else
		sx_buf_adds(b, "% selfexp table: needs \\usepackage{booktabs}\n");
	sx_buf_adds(b, "% ");
	run_line(b, x->run, tex_escape);
	sx_buf_adds(b, "\n");
	if (x->opts->standalone) {
		sx_buf_adds(b, "\\noindent ");
		run_line(b, x->run, tex_escape);
		sx_buf_adds(b, "\n");
	}
}

/* A \label key is read verbatim, never escaped: keep letters, digits, '-' and ':'. */
static void tex_label(struct sx_buf *b, const char *id)
{
	for (; *id; id++) {
		char c = *id;
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == ':';

		sx_buf_addch(b, keep ? c : '-');
	}
}

static void tex_table(struct sx_buf *b, struct fmt_ctx *x, const struct table *t)
{
	size_t r, k;

	x->table_no++;
	sx_buf_adds(b, "\n\\begin{table}[htbp]\n\\centering\n\\small\n"
		       "\\setlength{\\tabcolsep}{4pt}\n\\caption{");
	tex_escape(b, t->title);
	sx_buf_addf(b, "}\n\\label{tab:selfexp-");
	tex_label(b, t->id);
	sx_buf_adds(b, "}\n\\begin{tabular}{");
	for (k = 0; k < t->ncols; k++)
		sx_buf_addch(b, t->cols[k].left ? 'l' : 'r');
	sx_buf_adds(b, "}\n\\toprule\n");
	for (k = 0; k < t->ncols; k++) {
		if (k)
			sx_buf_adds(b, " & ");
		tex_escape(b, t->cols[k].name);
		if (t->cols[k].dir != SX_DIR_NONE)
			sx_buf_adds(b, t->cols[k].dir == SX_DIR_UP ? " $\\uparrow$" : " $\\downarrow$");
	}
	sx_buf_adds(b, " \\\\\n\\midrule\n");
	for (r = 0; r < t->nrows; r++) {
		const struct row *row = &t->rows[r];
		if (row->group) {
			if (r)
				sx_buf_adds(b, "\\addlinespace\n");
			sx_buf_addf(b, "\\multicolumn{%zu}{l}{\\textit{", t->ncols);
			tex_escape(b, row->group);
			sx_buf_adds(b, "}} \\\\\n");
			continue;
		}
		for (k = 0; k < t->ncols; k++) {
			const struct cell *c = &row->cells[k];
			if (k)
				sx_buf_adds(b, " & ");
			if (c->kind == C_CI && isfinite(c->v) && isfinite(c->lo)) {
				/* two lines: the mean, and the interval in small type */
				sx_buf_addf(b, "\\begin{tabular}[t]{@{}%c@{}}",
					    t->cols[k].left ? 'l' : 'r');
				render_cell(b, c, &tex_style);
				sx_buf_adds(b, "\\end{tabular}");
			} else {
				render_cell(b, c, &tex_style);
			}
		}
		sx_buf_adds(b, " \\\\\n");
	}
	sx_buf_adds(b, "\\bottomrule\n\\end{tabular}\n\n\\smallskip\n"
		       "\\parbox{\\linewidth}{\\footnotesize ");
	tex_escape(b, t->note.buf);
	sx_buf_adds(b, "}\n\\end{table}\n");
}

static void tex_end(struct sx_buf *b, struct fmt_ctx *x)
{
	if (x->opts->standalone)
		sx_buf_adds(b, "\n\\end{document}\n");
}

/* --- CSV (tidy) */

static void csv_begin(struct sx_buf *b, struct fmt_ctx *x)
{
	(void)x;
	sx_buf_adds(b, "table,condition,method,metric,stat,value\n");
}

static void csv_value(struct sx_buf *b, const struct table *t, const struct cell *c,
		      const char *stat, double v, int integer)
{
	csv_field(b, t->id);
	sx_buf_addch(b, ',');
	csv_field(b, c->cond ? c->cond : "");
	sx_buf_addch(b, ',');
	csv_field(b, c->method ? c->method : "");
	sx_buf_addch(b, ',');
	csv_field(b, c->metric ? c->metric : "");
	sx_buf_addch(b, ',');
	csv_field(b, stat);
	sx_buf_addch(b, ',');
	if (!isfinite(v))
		sx_buf_adds(b, "NA");
	else if (integer)
		sx_buf_addf(b, "%.0f", v);
	else
		sx_buf_addf(b, "%.10g", v);
	sx_buf_addch(b, '\n');
}

static void csv_table(struct sx_buf *b, struct fmt_ctx *x, const struct table *t)
{
	size_t r, k;

	(void)x;
	for (r = 0; r < t->nrows; r++) {
		if (t->rows[r].group)
			continue;
		for (k = 0; k < t->ncols; k++) {
			const struct cell *c = &t->rows[r].cells[k];
			if (c->csv_skip || c->kind == C_TEXT)
				continue;
			if (c->kind == C_CI) {
				const char *mean = c->stat ? c->stat : "mean";
				if (c->n >= 0)
					csv_value(b, t, c, "n", (double)c->n, 1);
				csv_value(b, t, c, mean, c->v, 0);
				csv_value(b, t, c, "ci_lo", c->lo, 0);
				csv_value(b, t, c, "ci_hi", c->hi, 0);
			} else {
				csv_value(b, t, c, c->stat ? c->stat : "value", c->v, c->kind == C_INT);
			}
		}
	}
}

static void csv_end(struct sx_buf *b, struct fmt_ctx *x)
{
	(void)b;
	(void)x;
}

/* --- HTML */

static const struct cell_style html_style = {
	"<b>", "</b>", " <small>", "</small>", "&ndash;", "&lt;", "&minus;", html_escape_str
};

static void html_begin(struct sx_buf *b, struct fmt_ctx *x)
{
	if (!x->opts->standalone)
		return;
	sx_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<title>selfexp tables</title><style>"
		       "body{font:14px/1.4 system-ui,sans-serif;margin:2em}"
		       "table.sx{border-collapse:collapse;margin:1em 0}"
		       "table.sx th,table.sx td{padding:2px 8px;border-bottom:1px solid #ddd}"
		       "table.sx td.n{text-align:right;font-variant-numeric:tabular-nums}"
		       "table.sx small{color:#666}tr.g td{font-style:italic;background:#f4f4f4}"
		       "caption{text-align:left;font-weight:bold}p.note{color:#555;font-size:12px}"
		       "</style></head><body>\n<p>");
	run_line(b, x->run, html_escape_str);
	sx_buf_adds(b, "</p>\n");
}

static void html_table(struct sx_buf *b, struct fmt_ctx *x, const struct table *t)
{
	size_t r, k;

	sx_buf_adds(b, "<table class=\"sx\" id=\"t-");
	html_escape_str(b, t->id);
	sx_buf_addf(b, "\"><caption>Table %zu. ", ++x->table_no);
	html_escape_str(b, t->title);
	sx_buf_adds(b, "</caption>\n<thead><tr>");
	for (k = 0; k < t->ncols; k++) {
		sx_buf_adds(b, "<th>");
		html_escape_str(b, t->cols[k].name);
		sx_buf_adds(b, t->cols[k].dir == SX_DIR_UP ? " &uarr;" : t->cols[k].dir == SX_DIR_DOWN ? " &darr;" : "");
		sx_buf_adds(b, "</th>");
	}
	sx_buf_adds(b, "</tr></thead>\n<tbody>\n");
	for (r = 0; r < t->nrows; r++) {
		const struct row *row = &t->rows[r];
		if (row->group) {
			sx_buf_addf(b, "<tr class=\"g\"><td colspan=\"%zu\">", t->ncols);
			html_escape_str(b, row->group);
			sx_buf_adds(b, "</td></tr>\n");
			continue;
		}
		sx_buf_adds(b, "<tr>");
		for (k = 0; k < t->ncols; k++) {
			sx_buf_adds(b, t->cols[k].left ? "<td>" : "<td class=\"n\">");
			render_cell(b, &row->cells[k], &html_style);
			sx_buf_adds(b, "</td>");
		}
		sx_buf_adds(b, "</tr>\n");
	}
	sx_buf_adds(b, "</tbody></table>\n<p class=\"note\">");
	html_escape_str(b, t->note.buf);
	sx_buf_adds(b, "</p>\n");
}

static void html_end(struct sx_buf *b, struct fmt_ctx *x)
{
	if (x->opts->standalone)
		sx_buf_adds(b, "</body></html>\n");
}

struct format {
	const char *name;
	void (*begin)(struct sx_buf *, struct fmt_ctx *);
	void (*table)(struct sx_buf *, struct fmt_ctx *, const struct table *);
	void (*end)(struct sx_buf *, struct fmt_ctx *);
};

static const struct format formats[] = {
	{ "md", md_begin, md_table, md_end },
	{ "tex", tex_begin, tex_table, tex_end },
	{ "csv", csv_begin, csv_table, csv_end },
	{ "html", html_begin, html_table, html_end },
};

static const struct format *find_format(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(formats[i].name, name))
			return &formats[i];
	return NULL;
}

const char *sx_table_format_names(void)
{
	return "md, tex, csv, html";
}

int sx_table_format_check(const char *name)
{
	return find_format(name) ? 0 : -1;
}

int sx_table_layout_from_name(const char *name, enum sx_table_layout *out)
{
	if (!strcmp(name, "paper"))
		*out = SX_TABLE_PAPER;
	else if (!strcmp(name, "long"))
		*out = SX_TABLE_LONG;
	else
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- entry */

/*
 * Every condition carries the counts the accuracy table shows: a count that
 * is not there is a damaged summary.json, never 0 (which would read as a
 * clean result). A run of selfexp before 0.2.0 has no failed_requests: its
 * "failed" (failed elicitations) stands in.
 */
static int check_counts(const struct sx_json *run, const struct sx_json *summary,
			struct sx_err *err)
{
	static const char *const keys[] = { "reviews", "parse_failures", "failed",
					     "failed_requests" };
	long version = sx_rundir_version_number(sx_json_get_str(run, "selfexp_version"));
	int before_020 = version >= 0 && version < 2000;
	const struct sx_json *c;
	size_t k;

	for (c = sx_json_child(sx_json_get(summary, "conditions")); c; c = sx_json_next(c))
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (before_020 && !strcmp(keys[k], "failed_requests"))
				continue;
			if (sx_json_type_of(sx_json_get(c, keys[k])) != SX_JSON_NUMBER)
				return sx_err_set(err, SX_EINPUT, "summary.json: condition '%s' has "
						  "no count '%s' (every run of selfexp %s writes "
						  "it): the file is damaged; rewrite it with "
						  "'selfexp score DIR'", sx_json_key(c), keys[k],
						  sx_json_str_or(run, "selfexp_version", "?"));
		}
	return 0;
}

int sx_table_render(const struct sx_json *run, const struct sx_json *summary,
		    const struct sx_table_opts *opts, struct sx_buf *out, struct sx_err *err)
{
	const struct format *f = find_format(opts->format);
	struct tables ts = { NULL, 0, 0 };
	struct fmt_ctx x = { opts, run, 0 };
	struct group g[3];
	size_t i, ng;

	if (!f)
		return sx_err_set(err, SX_EINPUT, "unknown table format '%s' (expected %s)",
				  opts->format, sx_table_format_names());
	if (sx_json_type_of(sx_json_get(summary, "conditions")) != SX_JSON_OBJECT)
		return sx_err_set(err, SX_EINPUT, "summary.json has no conditions");
	if (check_counts(run, summary, err))
		return SX_EINPUT;
	if (opts->layout == SX_TABLE_LONG) {
		build_long(&ts, summary);
	} else {
		ng = paper_groups(summary, g);
		build_accuracy(&ts, summary);
		if (ng)
			build_faithfulness(&ts, summary, g, ng);
		build_agreement(&ts, summary, g, ng);
	}
	f->begin(out, &x);
	for (i = 0; i < ts.n; i++)
		f->table(out, &x, &ts.t[i]);
	f->end(out, &x);
	tables_release(&ts);
	return 0;
}
