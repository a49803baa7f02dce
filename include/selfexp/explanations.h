#ifndef SELFEXP_EXPLANATIONS_H
#define SELFEXP_EXPLANATIONS_H
/*
 * Explanations made elsewhere (`selfexp run --explanations FILE`): Captum,
 * SHAP, attention, another model's self-explanations. One JSONL line per
 * explanation of one review:
 *
 *   {"id": "<review id>", "method": "<name>", "values": [one number per token]}
 *   {"id": "<review id>", "method": "<name>", "ranking": [token indices, most important first]}
 *
 * with optional "condition" (the condition whose prediction it explains;
 * absent: every condition) and, for values, "sign": "positive" (the
 * default: positive pushes toward the positive label, the convention of
 * every importance vector of a run) or "predicted" (positive pushes toward
 * the label the model predicted; converted by the run). A ranking is a
 * partial or full ranking, like a top-k list; tokens it leaves out follow
 * it by position. Each method name becomes an explainer of the run
 * (registry.h, sx_method_name_check): a method is all values or all
 * rankings. A line naming (id, method) with a condition takes precedence
 * over one without for that condition.
 *
 * Every problem is an error naming the file, the line and the problem,
 * found when the file is loaded (before any request is sent): not JSON,
 * NaN or infinity, a missing or unknown field, an unknown review id (see
 * ids_complete), a token count that differs from the review's, an index
 * out of range or repeated, an unknown condition, a method name that is
 * not allowed or clashes with a built-in explainer, a method with values
 * on one line and a ranking on another, and a second line for the same
 * (id, method, condition) in any of the files.
 */
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/data.h"
#include "selfexp/err.h"
#include "selfexp/hash.h"
#include "selfexp/prompt.h"
#include "selfexp/strmap.h"

/* Caps: a file, and the methods of all files together. */
#define SX_EXPLANATIONS_FILE_MAX (1024ul * 1024ul * 1024ul)
#define SX_EXPLANATIONS_MAX_METHODS 32

/* Which way the values of a line point. */
enum sx_expl_sign { SX_EXPL_SIGN_POSITIVE, SX_EXPL_SIGN_PREDICTED };

struct sx_expl_entry {
	size_t review;          /* index into the data set's reviews */
	size_t method;          /* index into sx_explanations.methods */
	int cond;               /* enum sx_cond, or -1: every condition */
	enum sx_expl_sign sign;
	double *values;         /* owned, ntokens of the review; NULL for a ranking */
	size_t *ranking;        /* owned, nranking; NULL for values */
	size_t nranking;
	size_t file, line;      /* where: index into files, 1-based line */
};

struct sx_expl_method {
	char *name;             /* owned */
	int ranking;            /* 1: rankings only (treated like a top-k list) */
	unsigned conditions;    /* bits (1 << enum sx_cond) it explains; all bits for "every condition" */
	size_t entries;
};

struct sx_expl_file {
	char *path;             /* owned, as given */
	char sha256[SX_SHA256_HEX_LEN + 1];
	size_t lines;           /* explanations read */
	size_t unused;          /* lines for reviews outside the data set read (ids_complete 0),
				   or for conditions the run does not have (sx_explanations_restrict) */
};

struct sx_explanations {
	struct sx_expl_file *files;     /* owned */
	size_t nfiles, files_alloc;
	struct sx_expl_method *methods; /* owned, in the order first named */
	size_t nmethods, methods_alloc;
	struct sx_expl_entry *entries;  /* owned */
	size_t n, alloc;
	struct sx_strmap index;         /* review \0 method \0 cond -> entry */
	struct sx_strmap ids;           /* review id -> review index */
	const struct sx_dataset *ds;    /* borrowed */
};

#define SX_EXPLANATIONS_INIT { .files = NULL, .nfiles = 0, .files_alloc = 0, .methods = NULL, \
			       .nmethods = 0, .methods_alloc = 0, .entries = NULL, .n = 0, \
			       .alloc = 0, .index = SX_STRMAP_INIT, .ids = SX_STRMAP_INIT, .ds = NULL }

/*
 * Read one more file of explanations of the reviews of ds (which must
 * outlive x). ids_complete: ds holds every review of the data file, so an
 * id it lacks is an error; 0 (the run read only the first --limit reviews):
 * such lines are counted in the file's "unused" and skipped. On error
 * (SX_EINPUT or SX_EIO, err set) x holds part of the file: release it.
 */
int sx_explanations_load(struct sx_explanations *x, const char *path,
			 const struct sx_dataset *ds, int ids_complete, struct sx_err *err);
/*
 * Keep to the conditions a run has (bits 1 << enum sx_cond): a line that
 * names another condition explains nothing in it, and is counted as its
 * file's unused (not as an explanation, nor in its method's entries). A
 * method left with no line for any of them is an error (SX_EINPUT, err names
 * the method, where its first line is and the conditions it names): it would
 * otherwise silently drop out of the run.
 */
int sx_explanations_restrict(struct sx_explanations *x, unsigned conditions, struct sx_err *err);
/*
 * The explanation of review r by method m under condition c: the line that
 * names c, else the one that names no condition; NULL when neither exists.
 */
const struct sx_expl_entry *sx_explanations_find(const struct sx_explanations *x, size_t r,
						 size_t m, enum sx_cond c);
void sx_explanations_release(struct sx_explanations *x);

#endif
