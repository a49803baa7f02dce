#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "selfexp/err.h"
#include "selfexp/metrics.h"
#include "selfexp/registry.h"

const struct sx_method_def sx_methods[SX_METHOD_COUNT] = {
	[SX_METHOD_SELF] = { "self", "self", "self-explanation importance", 1u << SX_METHOD_SELF, 0 },
	[SX_METHOD_OCCLUSION] = { "occlusion", "occlusion", "occlusion importance",
				  1u << SX_METHOD_OCCLUSION, 1 },
	[SX_METHOD_LIME] = { "lime", "LIME", "LIME importance", 1u << SX_METHOD_LIME, 1 },
};

const char *sx_method_record_name(enum sx_method m, enum sx_cond c)
{
	if (m != SX_METHOD_SELF)
		return sx_methods[m].name;
	return sx_cond_has_importance(c) ? "self" : sx_cond_is_topk(c) ? "topk" : "prediction";
}

int sx_method_from_record_name(const char *name, enum sx_method *out)
{
	if (!strcmp(name, "topk") || !strcmp(name, "prediction")) {
		*out = SX_METHOD_SELF;
		return 0;
	}
	return sx_method_from_name(name, out);
}

int sx_method_from_name(const char *name, enum sx_method *out)
{
	int m;

	for (m = 0; m < SX_METHOD_COUNT; m++)
		if (!strcmp(name, sx_methods[m].name)) {
			*out = (enum sx_method)m;
			return 0;
		}
	return -1;
}

const char *sx_method_table_label(const char *record_name)
{
	enum sx_method m;

	if (!strcmp(record_name, "self"))
		return "self (full)";
	if (!strcmp(record_name, "topk"))
		return "self (top-k)";
	if (sx_method_from_name(record_name, &m))
		return record_name;
	return sx_methods[m].label;
}

int sx_method_name_builtin(const char *name)
{
	static const char *const names[] = { "self", "topk", "prediction", "occlusion", "lime" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(name, names[i]))
			return 1;
	return 0;
}

int sx_method_name_check(const char *name, struct sx_err *err)
{
	size_t i, len = strlen(name);

	if (!len || len > SX_METHOD_NAME_MAX)
		return sx_err_set(err, SX_EINPUT, "method name '%s' is %s (1 to %d characters)", name,
				  len ? "too long" : "empty", SX_METHOD_NAME_MAX);
	for (i = 0; i < len; i++) {
		char ch = name[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');

		if (!alnum && (!i || (ch != '_' && ch != '.' && ch != '-')))
			return sx_err_set(err, SX_EINPUT, "method name '%s' has the character '%c' "
					  "(use letters, digits, '_', '.' and '-', starting with a "
					  "letter or digit)", name, ch);
	}
	if (sx_method_name_builtin(name))
		return sx_err_set(err, SX_EINPUT, "method name '%s' is taken by a built-in explainer "
				  "or record (self, topk, prediction, occlusion, lime): rename the "
				  "method", name);
	return 0;
}

#define FAITH(field) offsetof(struct sx_faith, field), SX_NO_OFFSET
#define AGREE(field) offsetof(struct sx_agree, field), SX_NO_OFFSET
#define AGREE_TOPK(field) offsetof(struct sx_agree, field), offsetof(struct sx_agree_topk, field)
#define ANSWER SX_NO_OFFSET, SX_NO_OFFSET
#define BOTH (SX_APPLIES_FULL | SX_APPLIES_TOPK)

/*
 * One row per metric. Within a kind, the order is that of records.jsonl,
 * summary.json and every table.
 */
const struct sx_metric_def sx_metrics[] = {
	{ "accuracy", "Acc", "accuracy", SX_METRIC_ANSWER, SX_DIR_UP, BOTH, SX_METRIC_PROPORTION,
	  ANSWER },
	{ "parse_failures", "Parse fail.", "parse failure rate", SX_METRIC_ANSWER, SX_DIR_DOWN,
	  BOTH, SX_METRIC_PROPORTION, ANSWER },
	{ "failed_requests", "Failed", "failed request rate", SX_METRIC_ANSWER, SX_DIR_DOWN, BOTH,
	  SX_METRIC_PROPORTION, ANSWER },

	{ "comprehensiveness", "Comp", "comprehensiveness", SX_METRIC_FAITH, SX_DIR_UP, BOTH,
	  SX_METRIC_PAPER | SX_METRIC_DEMO, FAITH(comp) },
	{ "sufficiency", "Suff", "sufficiency", SX_METRIC_FAITH, SX_DIR_DOWN, BOTH,
	  SX_METRIC_PAPER | SX_METRIC_DEMO, FAITH(suff) },
	{ "df_mit", "DF_MIT", "decision flip (most important token)", SX_METRIC_FAITH, SX_DIR_UP,
	  BOTH, SX_METRIC_PAPER | SX_METRIC_DEMO | SX_METRIC_PROPORTION, FAITH(df_mit) },
	{ "df_frac", "DF_Frac", "decision flip (fraction of tokens)", SX_METRIC_FAITH,
	  SX_DIR_DOWN, BOTH, SX_METRIC_PAPER, FAITH(df_frac) },
	{ "rankdel", "RankDel", "rank correlation with single deletions", SX_METRIC_FAITH,
	  SX_DIR_UP, SX_APPLIES_FULL, SX_METRIC_PAPER | SX_METRIC_DEMO, FAITH(rankdel) },
	{ "aopc_comprehensiveness", "AOPC Comp", "AOPC comprehensiveness", SX_METRIC_FAITH,
	  SX_DIR_UP, BOTH, 0, FAITH(aopc_comp) },
	{ "aopc_sufficiency", "AOPC Suff", "AOPC sufficiency", SX_METRIC_FAITH, SX_DIR_DOWN, BOTH,
	  0, FAITH(aopc_suff) },

	{ "feature", "FA", "feature agreement", SX_METRIC_AGREE, SX_DIR_UP, BOTH, 0,
	  AGREE_TOPK(feature) },
	{ "rank", "RA", "rank agreement", SX_METRIC_AGREE, SX_DIR_UP, SX_APPLIES_FULL, 0,
	  AGREE(rank) },
	{ "sign", "SA", "sign agreement", SX_METRIC_AGREE, SX_DIR_UP, SX_APPLIES_FULL, 0,
	  AGREE(sign) },
	{ "signed_rank", "SRA", "signed rank agreement", SX_METRIC_AGREE, SX_DIR_UP,
	  SX_APPLIES_FULL, 0, AGREE(signed_rank) },
	{ "iou", "IoU", "IoU of the top-k sets", SX_METRIC_AGREE, SX_DIR_UP, BOTH, 0,
	  AGREE_TOPK(iou) },
	{ "spearman", "RC", "Spearman rank correlation", SX_METRIC_AGREE, SX_DIR_UP,
	  SX_APPLIES_FULL, 0, AGREE(spearman) },
	{ "pairwise", "PRA", "pairwise rank agreement", SX_METRIC_AGREE, SX_DIR_UP,
	  SX_APPLIES_FULL, 0, AGREE(pairwise) },
};

const size_t sx_nmetrics = sizeof(sx_metrics) / sizeof(sx_metrics[0]);

const struct sx_metric_def *sx_metric_find(const char *key)
{
	size_t i;

	for (i = 0; i < sx_nmetrics; i++)
		if (!strcmp(sx_metrics[i].key, key))
			return &sx_metrics[i];
	return NULL;
}

const struct sx_metric_def *sx_metric_of(enum sx_metric_kind kind, size_t i)
{
	size_t j;

	for (j = 0; j < sx_nmetrics; j++)
		if (sx_metrics[j].kind == kind && !i--)
			return &sx_metrics[j];
	return NULL;
}

size_t sx_metric_count(enum sx_metric_kind kind)
{
	size_t j, n = 0;

	for (j = 0; j < sx_nmetrics; j++)
		n += sx_metrics[j].kind == kind;
	return n;
}

double sx_metric_value(const struct sx_metric_def *m, const void *obj, int topk)
{
	size_t off = topk ? m->topk_offset : m->offset;

	if (off == SX_NO_OFFSET)
		return NAN;
	return *(const double *)(const void *)((const char *)obj + off);
}
