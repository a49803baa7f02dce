#ifndef SELFEXP_REGISTRY_H
#define SELFEXP_REGISTRY_H
/*
 * The explanation methods and the metrics of a run, in one table each: their
 * names in records.jsonl and summary.json, their labels in tables and
 * reports, and which way is better. The run's writer, the run-directory
 * reader, table, report, compare and demo all take names from here, so
 * adding a metric or an explainer is one row here plus its function
 * (docs/architecture.md).
 */
#include <stddef.h>

#include "selfexp/err.h"
#include "selfexp/prompt.h"

/* --------------------------------------------------------------- methods */

/* The explainers of a run, in the order records and summaries list them. */
enum sx_method { SX_METHOD_SELF, SX_METHOD_OCCLUSION, SX_METHOD_LIME, SX_METHOD_COUNT };

struct sx_method_def {
	const char *name;      /* --explainers name, and method of records.jsonl (but see below) */
	const char *label;     /* label in tables: "occlusion", "LIME" */
	const char *importance_label; /* the report's token colouring: "LIME importance" */
	unsigned bit;          /* 1 << method, as in sx_run_config.explainers */
	int queries;           /* 1: computed by querying the model on perturbed reviews */
};

extern const struct sx_method_def sx_methods[SX_METHOD_COUNT];

/*
 * The method name of records.jsonl and summary.json: the self-explanation is
 * "self" under ep/pe, "topk" under the top-k conditions and "prediction"
 * under pred (which has none); the others are their registry name.
 */
const char *sx_method_record_name(enum sx_method m, enum sx_cond c);
/* The method of a record name ("self", "topk", "prediction", "occlusion", "lime"); -1 if none. */
int sx_method_from_record_name(const char *name, enum sx_method *out);
/* The method of an --explainers name; -1 if none. */
int sx_method_from_name(const char *name, enum sx_method *out);
/* Table label of a record method name: "self (full)", "self (top-k)", "occlusion", "LIME". */
const char *sx_method_table_label(const char *record_name);

/*
 * Methods from outside (`run --explanations`, README "Anyone's
 * explanations"): any name of 1..SX_METHOD_NAME_MAX characters of
 * [A-Za-z0-9_.-], starting with a letter or digit, that is not a built-in
 * method or record name (self, topk, prediction, occlusion, lime, in any
 * case). Records, summaries, tables, reports and compare take such a name
 * as a method of its own.
 */
#define SX_METHOD_NAME_MAX 48
/* 1 when name is a built-in method or record name, in any case. */
int sx_method_name_builtin(const char *name);
/* 0 when name may name a method from outside; -1 with the reason in err otherwise. */
int sx_method_name_check(const char *name, struct sx_err *err);

/* --------------------------------------------------------------- metrics */

enum sx_metric_kind {
	SX_METRIC_ANSWER, /* of the elicited answer: accuracy, parse failures, failed requests */
	SX_METRIC_FAITH,  /* faithfulness of one explanation (struct sx_faith) */
	SX_METRIC_AGREE   /* agreement of two explanations (struct sx_agree) */
};

/* Which way is better. */
enum sx_metric_dir { SX_DIR_NONE, SX_DIR_UP, SX_DIR_DOWN };

/* What a metric applies to. */
#define SX_APPLIES_FULL 1u /* full importance vectors */
#define SX_APPLIES_TOPK 2u /* top-k lists (ranking only) */

/* Flags of a metric row. */
#define SX_METRIC_PAPER 1u /* a column of the paper's faithfulness table */
#define SX_METRIC_DEMO 2u  /* a column of `selfexp demo`'s summary */
/*
 * 0 or 1 per review (accuracy, parse failures, failed requests, DF_MIT):
 * the aggregate's interval is Clopper-Pearson's; the others get the
 * studentized bootstrap, or the expanded BCa where a resample is constant
 * (stats.h enum sx_interval).
 */
#define SX_METRIC_PROPORTION 4u

#define SX_NO_OFFSET ((size_t)-1)

struct sx_metric_def {
	const char *key;        /* JSON key in records.jsonl and summary.json */
	const char *label;      /* short column label: "Comp", "DF_MIT" */
	const char *title;      /* long name: "feature agreement" */
	enum sx_metric_kind kind;
	enum sx_metric_dir dir;
	unsigned applies;       /* SX_APPLIES_* */
	unsigned flags;         /* SX_METRIC_* */
	size_t offset;          /* the double in struct sx_faith / sx_agree, or SX_NO_OFFSET */
	size_t topk_offset;     /* agreement: the double in struct sx_agree_topk, or SX_NO_OFFSET */
};

extern const struct sx_metric_def sx_metrics[];
extern const size_t sx_nmetrics;

/* The row of a metric key (any kind), or NULL. */
const struct sx_metric_def *sx_metric_find(const char *key);
/* The i-th row of a kind (i from 0), or NULL past the last: for (i = 0; (m = sx_metric_of(k, i)); i++). */
const struct sx_metric_def *sx_metric_of(enum sx_metric_kind kind, size_t i);
/* How many rows of a kind there are. */
size_t sx_metric_count(enum sx_metric_kind kind);
/* A metric's value in a struct sx_faith or sx_agree (obj), or in an sx_agree_topk when topk. */
double sx_metric_value(const struct sx_metric_def *m, const void *obj, int topk);

#endif
