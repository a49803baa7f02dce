/* Explanations made elsewhere, read from JSONL (explanations.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/explanations.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/registry.h"

/* One line being read: where it is, for the messages. */
struct line_ctx {
	struct sx_explanations *x;
	const char *path;
	size_t file, line;
	int ids_complete;
	struct sx_err *err;
};

static int line_err(const struct line_ctx *lc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int line_err(const struct line_ctx *lc, const char *fmt, ...)
{
	char msg[SX_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sx_err_set(lc->err, SX_EINPUT, "'%s' line %zu: %s", lc->path, lc->line, msg);
}

/* 1 when text holds a bare NaN or Infinity (outside strings): what Python's json.dumps writes for them. */
static int has_bare_nonfinite(const char *text, size_t len)
{
	size_t i;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		char ch = text[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if ((len - i >= 3 && !memcmp(text + i, "NaN", 3)) ||
			   (len - i >= 8 && !memcmp(text + i, "Infinity", 8))) {
			return 1;
		}
	}
	return 0;
}

static const char *const fields[] = { "id", "method", "values", "ranking", "condition", "sign" };

static int check_fields(const struct line_ctx *lc, const struct sx_json *o)
{
	const struct sx_json *m;
	size_t i;

	for (m = sx_json_child(o); m; m = sx_json_next(m)) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!strcmp(sx_json_key(m), fields[i]))
				break;
		if (i == sizeof(fields) / sizeof(fields[0]))
			return line_err(lc, "unknown field '%s' (the fields are id, method, values or "
					"ranking, condition, sign)", sx_json_key(m));
	}
	return 0;
}

/* A string field, or NULL (with the error set when present but not a string, or absent and required). */
static int get_string(const struct line_ctx *lc, const struct sx_json *o, const char *key,
		      int required, const char **out)
{
	const struct sx_json *j = sx_json_get(o, key);

	*out = NULL;
	if (!j)
		return required ? line_err(lc, "no \"%s\"", key) : 0;
	*out = sx_json_str(j);
	if (!*out)
		return line_err(lc, "\"%s\" is not a string", key);
	return 0;
}

/* The method's index, added when new; its kind must match. */
static int method_index(const struct line_ctx *lc, const char *name, int ranking, size_t *out)
{
	struct sx_explanations *x = lc->x;
	struct sx_err nerr = SX_ERR_INIT;
	struct sx_expl_method *m;
	size_t i;

	for (i = 0; i < x->nmethods; i++)
		if (!strcmp(x->methods[i].name, name)) {
			if (x->methods[i].ranking != ranking)
				return line_err(lc, "method '%s' has %s here and %s on earlier lines "
						"(a method gives either values or rankings)", name,
						ranking ? "a ranking" : "values",
						ranking ? "values" : "rankings");
			*out = i;
			return 0;
		}
	if (sx_method_name_check(name, &nerr))
		return line_err(lc, "%s", nerr.msg);
	if (x->nmethods == SX_EXPLANATIONS_MAX_METHODS)
		return line_err(lc, "method '%s' is one more than the %d methods a run takes", name,
				SX_EXPLANATIONS_MAX_METHODS);
	SX_GROW(x->methods, x->methods_alloc, x->nmethods + 1);
	m = &x->methods[x->nmethods];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->ranking = ranking;
	*out = x->nmethods++;
	return 0;
}

static int read_values(const struct line_ctx *lc, const struct sx_json *a,
		       const struct sx_review *rv, struct sx_expl_entry *e)
{
	size_t i, n = sx_json_len(a);

	if (sx_json_type_of(a) != SX_JSON_ARRAY)
		return line_err(lc, "\"values\" is not an array of numbers");
	if (n != rv->ntokens)
		return line_err(lc, "review '%s' has %zu tokens but \"values\" has %zu value%s (one "
				"per whitespace-separated token of the data file)", rv->id,
				rv->ntokens, n, n == 1 ? "" : "s");
	e->values = xcalloc(n + 1, sizeof(double));
	for (i = 0; i < n; i++) {
		if (sx_json_num(sx_json_at(a, i), &e->values[i]))
			return line_err(lc, "\"values\"[%zu] is not a number", i);
		if (!isfinite(e->values[i]))
			return line_err(lc, "\"values\"[%zu] is not finite", i);
	}
	return 0;
}

static int read_ranking(const struct line_ctx *lc, const struct sx_json *a,
			const struct sx_review *rv, struct sx_expl_entry *e)
{
	size_t i, n = sx_json_len(a), at;
	unsigned char *seen;
	int rc = 0;

	if (sx_json_type_of(a) != SX_JSON_ARRAY)
		return line_err(lc, "\"ranking\" is not an array of token indices");
	if (!n)
		return line_err(lc, "\"ranking\" is empty (list at least the most important token)");
	if (n > rv->ntokens)
		return line_err(lc, "review '%s' has %zu tokens but \"ranking\" lists %zu", rv->id,
				rv->ntokens, n);
	seen = xcalloc(rv->ntokens + 1, 1);
	e->ranking = xcalloc(n, sizeof(size_t));
	e->nranking = n;
	for (i = 0; i < n && !rc; i++) {
		double d;

		if (sx_json_num(sx_json_at(a, i), &d) || !isfinite(d) || d != floor(d))
			rc = line_err(lc, "\"ranking\"[%zu] is not a token index (an integer)", i);
		else if (d < 0 || d >= (double)rv->ntokens)
			rc = line_err(lc, "\"ranking\"[%zu] = %.0f is out of range: review '%s' has "
				      "%zu tokens (indices 0 to %zu)", i, d, rv->id, rv->ntokens,
				      rv->ntokens - 1);
		else if (seen[at = (size_t)d])
			rc = line_err(lc, "\"ranking\" lists token %zu twice", at);
		else
			seen[at] = 1, e->ranking[i] = at;
	}
	free(seen);
	return rc;
}

static void entry_release(struct sx_expl_entry *e)
{
	free(e->values);
	free(e->ranking);
	memset(e, 0, sizeof(*e));
}

static void index_key(struct sx_buf *k, size_t review, size_t method, int cond)
{
	sx_buf_reset(k);
	sx_buf_addf(k, "%zu\037%zu\037%d", review, method, cond);
}

/* One parsed line into x; *skipped when it was for a review outside the data read. */
static int take_line(const struct line_ctx *lc, const struct sx_json *o, int *skipped)
{
	struct sx_explanations *x = lc->x;
	const struct sx_json *values = sx_json_get(o, "values"), *ranking = sx_json_get(o, "ranking");
	const char *id, *method, *cond, *sign;
	struct sx_expl_entry e;
	struct sx_buf key = SX_BUF_INIT;
	enum sx_cond c;
	size_t r, where;
	int rc;

	memset(&e, 0, sizeof(e));
	*skipped = 0;
	if (sx_json_type_of(o) != SX_JSON_OBJECT)
		return line_err(lc, "not a JSON object");
	if (check_fields(lc, o) || get_string(lc, o, "id", 1, &id) ||
	    get_string(lc, o, "method", 1, &method) || get_string(lc, o, "condition", 0, &cond) ||
	    get_string(lc, o, "sign", 0, &sign))
		return SX_EINPUT;
	if (!values == !ranking)
		return line_err(lc, "%s (one of them: \"values\", one number per token, or "
				"\"ranking\", token indices most important first)",
				values ? "both \"values\" and \"ranking\"" : "neither \"values\" nor \"ranking\"");
	e.cond = -1;
	if (cond) {
		if (sx_cond_from_name(cond, &c))
			return line_err(lc, "unknown condition '%s' (ep, pe, ep-topk, pe-topk or pred; "
					"leave \"condition\" out for every condition)", cond);
		e.cond = (int)c;
	}
	e.sign = SX_EXPL_SIGN_POSITIVE;
	if (sign) {
		if (ranking)
			return line_err(lc, "\"sign\" applies to values, not to a ranking (a ranking "
					"lists the tokens most important to the prediction first)");
		if (!strcmp(sign, "predicted"))
			e.sign = SX_EXPL_SIGN_PREDICTED;
		else if (strcmp(sign, "positive"))
			return line_err(lc, "unknown sign '%s' (positive: toward the positive label, "
					"or predicted: toward the predicted label)", sign);
	}
	if (!sx_strmap_get(&x->ids, id, strlen(id), &r)) {
		if (!lc->ids_complete) {
			*skipped = 1;
			return 0;
		}
		return line_err(lc, "unknown review id '%s' (no review of the data file has it)", id);
	}
	e.review = r;
	e.file = lc->file;
	e.line = lc->line;
	if (method_index(lc, method, ranking != NULL, &e.method))
		return SX_EINPUT;
	rc = values ? read_values(lc, values, &x->ds->reviews[r], &e)
		    : read_ranking(lc, ranking, &x->ds->reviews[r], &e);
	if (rc) {
		entry_release(&e);
		return rc;
	}
	index_key(&key, e.review, e.method, e.cond);
	where = x->n;
	if (sx_strmap_put(&x->index, key.buf, key.len, &where)) {
		const struct sx_expl_entry *first = &x->entries[where];

		entry_release(&e);
		sx_buf_release(&key);
		return line_err(lc, "a second explanation of review '%s' by method '%s' for %s "
				"(the first is '%s' line %zu)", id, method,
				cond ? cond : "every condition", x->files[first->file].path, first->line);
	}
	sx_buf_release(&key);
	SX_GROW(x->entries, x->alloc, x->n + 1);
	x->entries[x->n++] = e;
	x->methods[e.method].entries++;
	x->methods[e.method].conditions |= e.cond < 0 ? (1u << SX_COND_COUNT) - 1 : 1u << e.cond;
	return 0;
}

static void index_ids(struct sx_explanations *x, const struct sx_dataset *ds)
{
	size_t r;

	x->ds = ds;
	for (r = 0; r < ds->n; r++) {
		size_t v = r;
		sx_strmap_put(&x->ids, ds->reviews[r].id, strlen(ds->reviews[r].id), &v);
	}
}

int sx_explanations_load(struct sx_explanations *x, const char *path,
			 const struct sx_dataset *ds, int ids_complete, struct sx_err *err)
{
	struct sx_buf text = SX_BUF_INIT;
	struct line_ctx lc = { x, path, 0, 0, ids_complete, err };
	struct sx_expl_file *f;
	size_t off = 0;
	int rc = 0;

	if (!x->ds)
		index_ids(x, ds);
	rc = sx_file_read(path, SX_EXPLANATIONS_FILE_MAX, &text, err);
	if (rc) {
		sx_err_prefix(err, "explanations");
		goto out;
	}
	SX_GROW(x->files, x->files_alloc, x->nfiles + 1);
	f = &x->files[x->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	sx_sha256_hex(text.buf, text.len, f->sha256);
	lc.file = x->nfiles++;
	while (off < text.len && !rc) {
		const char *s = text.buf + off, *nl = memchr(s, '\n', text.len - off);
		size_t len = nl ? (size_t)(nl - s) : text.len - off;
		struct sx_err jerr = SX_ERR_INIT;
		struct sx_json *o;
		int skipped;

		off += len + (nl != NULL);
		lc.line++;
		if (len && s[len - 1] == '\r')
			len--;
		if (strspn(s, " \t") >= len)
			continue; /* a blank line */
		o = sx_json_parse(s, len, &jerr);
		if (!o) {
			rc = has_bare_nonfinite(s, len)
				? line_err(&lc, "NaN or Infinity is not a number in JSON: every value "
					   "must be finite (Python: json.dumps(..., allow_nan=False) "
					   "finds them)")
				: line_err(&lc, "not JSON (%s)", jerr.msg);
			break;
		}
		rc = take_line(&lc, o, &skipped);
		sx_json_free(o);
		if (!rc) {
			f->lines += !skipped;
			f->unused += skipped;
		}
	}
out:
	sx_buf_release(&text);
	return rc;
}

int sx_explanations_restrict(struct sx_explanations *x, unsigned conditions, struct sx_err *err)
{
	struct sx_buf names = SX_BUF_INIT, have = SX_BUF_INIT;
	size_t i, m, nnames = 0;
	int c, rc = 0;

	for (i = 0; i < x->n; i++) {
		const struct sx_expl_entry *e = &x->entries[i];

		if (e->cond >= 0 && !(conditions & (1u << e->cond))) {
			x->files[e->file].lines--;
			x->files[e->file].unused++;
			x->methods[e->method].entries--;
		}
	}
	for (m = 0; m < x->nmethods && !rc; m++) {
		const struct sx_expl_method *xm = &x->methods[m];
		const struct sx_expl_entry *first = NULL;

		if (xm->conditions & conditions)
			continue;
		for (i = 0; i < x->n && !first; i++)
			if (x->entries[i].method == m)
				first = &x->entries[i];
		for (c = 0; c < SX_COND_COUNT; c++) {
			if (xm->conditions & (1u << c) && ++nnames)
				sx_buf_addf(&names, "%s%s", names.len ? ", " : "", sx_cond_name((enum sx_cond)c));
			if (conditions & (1u << c))
				sx_buf_addf(&have, "%s%s", have.len ? "," : "", sx_cond_name((enum sx_cond)c));
		}
		rc = sx_err_set(err, SX_EINPUT, "'%s' line %zu: method '%s' explains only %s %s, "
				"which the run does not have (--conditions %s): add %s to --conditions, "
				"or leave \"condition\" out of the method's lines",
				first ? x->files[first->file].path : "?", first ? first->line : 0,
				xm->name, nnames > 1 ? "conditions" : "condition",
				names.buf ? names.buf : "", have.buf ? have.buf : "",
				nnames > 1 ? "them" : "it");
	}
	sx_buf_release(&names);
	sx_buf_release(&have);
	return rc;
}

const struct sx_expl_entry *sx_explanations_find(const struct sx_explanations *x, size_t r,
						 size_t m, enum sx_cond c)
{
	struct sx_buf key = SX_BUF_INIT;
	size_t at;
	int found;

	index_key(&key, r, m, (int)c);
	found = sx_strmap_get(&x->index, key.buf, key.len, &at);
	if (!found) {
		index_key(&key, r, m, -1);
		found = sx_strmap_get(&x->index, key.buf, key.len, &at);
	}
	sx_buf_release(&key);
	return found ? &x->entries[at] : NULL;
}

void sx_explanations_release(struct sx_explanations *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		entry_release(&x->entries[i]);
	free(x->entries);
	for (i = 0; i < x->nmethods; i++)
		free(x->methods[i].name);
	free(x->methods);
	for (i = 0; i < x->nfiles; i++)
		free(x->files[i].path);
	free(x->files);
	sx_strmap_release(&x->index);
	sx_strmap_release(&x->ids);
	memset(x, 0, sizeof(*x));
}
