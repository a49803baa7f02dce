/* Recorded answers: a (condition, review text) -> answer table, read from JSONL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/answers.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/prompt.h"
#include "selfexp/strmap.h"
#include "selfexp/utf8.h"

/* Where an answer came from, for the message about a duplicate that disagrees. */
struct origin {
	const char *file; /* borrowed from files[] */
	size_t line;      /* 0: added by sx_answers_add */
};

struct sx_answers {
	struct sx_strmap index; /* "condition\0review" -> entry */
	char **cond;            /* owned, one per entry */
	char **review;          /* owned */
	size_t *review_len;
	char **answer;          /* owned */
	struct origin *from;
	unsigned char *used;    /* per entry: sx_answers_take gave it */
	size_t n, alloc[6];
	char **files;           /* owned: the paths loaded, for origins */
	size_t nfiles, files_alloc;
};

struct sx_answers *sx_answers_new(void)
{
	return xcalloc(1, sizeof(struct sx_answers));
}

void sx_answers_free(struct sx_answers *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->cond[i]);
		free(a->review[i]);
		free(a->answer[i]);
	}
	for (i = 0; i < a->nfiles; i++)
		free(a->files[i]);
	free(a->cond);
	free(a->review);
	free(a->review_len);
	free(a->answer);
	free(a->from);
	free(a->used);
	free(a->files);
	sx_strmap_release(&a->index);
	free(a);
}

static void make_key(struct sx_buf *key, const char *cond, const char *review, size_t len)
{
	sx_buf_reset(key);
	sx_buf_adds(key, cond);
	sx_buf_addch(key, '\0');
	sx_buf_add(key, review, len);
}

/* 0 added, 1 the same answer is there, SX_EINPUT another is (*at: that entry). */
static int put(struct sx_answers *a, const char *cond, const char *review, size_t len,
	       const char *answer, struct origin from, size_t *at)
{
	struct sx_buf key = SX_BUF_INIT;
	size_t idx = a->n;
	int found;

	make_key(&key, cond, review, len);
	found = sx_strmap_put(&a->index, key.buf, key.len, &idx);
	sx_buf_release(&key);
	*at = idx;
	if (found)
		return strcmp(a->answer[idx], answer) ? SX_EINPUT : 1;
	SX_GROW(a->cond, a->alloc[0], a->n + 1);
	SX_GROW(a->review, a->alloc[1], a->n + 1);
	SX_GROW(a->review_len, a->alloc[2], a->n + 1);
	SX_GROW(a->answer, a->alloc[3], a->n + 1);
	SX_GROW(a->from, a->alloc[4], a->n + 1);
	SX_GROW(a->used, a->alloc[5], a->n + 1);
	a->cond[a->n] = xstrdup(cond);
	a->review[a->n] = xstrndup(review, len);
	a->review_len[a->n] = len;
	a->answer[a->n] = xstrdup(answer);
	a->from[a->n] = from;
	a->used[a->n] = 0;
	a->n++;
	return 0;
}

int sx_answers_add(struct sx_answers *a, const char *cond, const char *review, size_t len,
		   const char *answer)
{
	struct origin none = { NULL, 0 };
	size_t at;

	return put(a, cond, review, len, answer, none, &at);
}

/* The entry of (cond, review[0..len)): 1 and *idx, or 0. */
static int lookup(const struct sx_answers *a, const char *cond, const char *review, size_t len,
		  size_t *idx)
{
	struct sx_buf key = SX_BUF_INIT;
	int found;

	if (!a || !a->n || !cond)
		return 0;
	make_key(&key, cond, review, len);
	found = sx_strmap_get(&a->index, key.buf, key.len, idx);
	sx_buf_release(&key);
	return found;
}

const char *sx_answers_find(const struct sx_answers *a, const char *cond, const char *review,
			    size_t len)
{
	size_t idx;

	return lookup(a, cond, review, len, &idx) ? a->answer[idx] : NULL;
}

const char *sx_answers_take(struct sx_answers *a, const char *cond, const char *review, size_t len)
{
	size_t idx;

	if (!lookup(a, cond, review, len, &idx))
		return NULL;
	a->used[idx] = 1;
	return a->answer[idx];
}

void sx_answers_usage(const struct sx_answers *a, size_t file, size_t *answers, size_t *unused)
{
	size_t i;

	*answers = *unused = 0;
	if (!a || file >= a->nfiles)
		return;
	for (i = 0; i < a->n; i++)
		if (a->from[i].file == a->files[file]) {
			++*answers;
			*unused += !a->used[i];
		}
}

size_t sx_answers_count(const struct sx_answers *a)
{
	return a ? a->n : 0;
}

/* The string member key of a line, or NULL with the problem in err. */
static const char *field(const struct sx_json *o, const char *key, const char *path, size_t line,
			 struct sx_err *err)
{
	const struct sx_json *v = sx_json_get(o, key);
	const char *s = sx_json_str(v);

	if (!v)
		sx_err_set(err, SX_EINPUT, "'%s' line %zu: no \"%s\" (each line needs \"condition\", "
			   "\"review\" and \"answer\")", path, line, key);
	else if (!s)
		sx_err_set(err, SX_EINPUT, "'%s' line %zu: \"%s\" is not a string", path, line, key);
	return s;
}

/* A decoded string with invalid UTF-8 cannot be a review or an answer as sent. */
static int check_text(const struct sx_json *o, const char *key, const char *path, size_t line,
		      struct sx_err *err)
{
	const char *s = sx_json_str(sx_json_get(o, key));

	if (!s || !sx_utf8_valid(s, strlen(s)))
		return sx_err_set(err, SX_EINPUT, "'%s' line %zu: \"%s\" is not valid UTF-8", path,
				  line, key);
	return 0;
}

/* 1 when text holds the JSON escape \u0000 (which would cut a decoded string short). */
static int has_nul_escape(const char *text, size_t len)
{
	size_t i, bs = 0;

	for (i = 0; i < len; i++) {
		if (text[i] == '\\') {
			bs++;
			continue;
		}
		if (bs % 2 && text[i] == 'u' && i + 4 < len && !memcmp(text + i + 1, "0000", 4))
			return 1;
		bs = 0;
	}
	return 0;
}

static int load_line(struct sx_answers *a, const char *file, const char *path, size_t line,
		     const char *text, size_t len, struct sx_err *err)
{
	struct sx_json *o = NULL;
	struct sx_err jerr = SX_ERR_INIT;
	const char *cond, *review, *answer;
	struct origin from = { file, line };
	enum sx_cond c;
	size_t at, bad;
	int rc;

	bad = sx_utf8_valid_prefix(text, len);
	if (bad < len)
		return sx_err_set(err, SX_EINPUT, "'%s' line %zu: invalid UTF-8 at byte %zu of the "
				  "line; convert the file to UTF-8", path, line, bad + 1);
	if (memchr(text, '\0', len))
		return sx_err_set(err, SX_EINPUT, "'%s' line %zu: holds a NUL byte", path, line);
	if (has_nul_escape(text, len))
		return sx_err_set(err, SX_EINPUT, "'%s' line %zu: holds a NUL character (\\u0000)",
				  path, line);
	o = sx_json_parse(text, len, &jerr);
	if (!o)
		return sx_err_set(err, SX_EINPUT, "'%s' line %zu: not JSON: %s", path, line, jerr.msg);
	rc = SX_EINPUT;
	if (sx_json_type_of(o) != SX_JSON_OBJECT) {
		sx_err_set(err, SX_EINPUT, "'%s' line %zu: not a JSON object", path, line);
		goto out;
	}
	if (!(cond = field(o, "condition", path, line, err)) ||
	    !(review = field(o, "review", path, line, err)) ||
	    !(answer = field(o, "answer", path, line, err)))
		goto out;
	if (sx_json_get(o, "model") && !sx_json_str(sx_json_get(o, "model"))) {
		sx_err_set(err, SX_EINPUT, "'%s' line %zu: \"model\" is not a string", path, line);
		goto out;
	}
	if (sx_cond_from_name(cond, &c)) {
		sx_err_set(err, SX_EINPUT, "'%s' line %zu: unknown condition '%s' (one of ep, pe, "
			   "ep-topk, pe-topk, pred)", path, line, cond);
		goto out;
	}
	if (check_text(o, "review", path, line, err) || check_text(o, "answer", path, line, err))
		goto out;
	rc = put(a, cond, review, strlen(review), answer, from, &at);
	if (rc == SX_EINPUT) {
		if (a->from[at].line)
			sx_err_set(err, SX_EINPUT, "'%s' line %zu: another answer for condition '%s' "
				   "and this review than line %zu of '%s'; keep one of them", path,
				   line, cond, a->from[at].line, a->from[at].file);
		else
			sx_err_set(err, SX_EINPUT, "'%s' line %zu: another answer for condition '%s' "
				   "and this review than one given before", path, line, cond);
		goto out;
	}
	rc = 0;
out:
	sx_json_free(o);
	return rc;
}

int sx_answers_load(struct sx_answers *a, const char *path, char sha256[SX_SHA256_HEX_LEN + 1],
		    struct sx_err *err)
{
	struct sx_buf text = SX_BUF_INIT;
	const char *p, *end, *nl;
	size_t line = 0;
	int rc;

	rc = sx_file_read(path, SX_ANSWERS_MAX_FILE, &text, err);
	if (rc)
		goto out;
	sx_sha256_hex(text.buf ? text.buf : "", text.len, sha256);
	SX_GROW(a->files, a->files_alloc, a->nfiles + 1);
	a->files[a->nfiles] = xstrdup(path);
	for (p = text.buf, end = text.buf + text.len; p && p < end && !rc; p = nl + 1) {
		size_t len, i;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		len = (size_t)(nl - p);
		line++;
		for (i = 0; i < len && strchr(" \t\r", p[i]); i++)
			;
		if (i == len)
			continue;
		rc = load_line(a, a->files[a->nfiles], path, line, p, len, err);
	}
	a->nfiles++;
out:
	sx_buf_release(&text);
	return rc;
}

void sx_answers_write(const struct sx_answers *a, const char *model, struct sx_buf *out)
{
	size_t i;

	for (i = 0; a && i < a->n; i++) {
		struct sx_json *o = sx_json_new_object();
		char *line;

		sx_json_add_str(o, "condition", a->cond[i]);
		sx_json_add_str(o, "review", a->review[i]);
		sx_json_add_str(o, "answer", a->answer[i]);
		if (model)
			sx_json_add_str(o, "model", model);
		line = sx_json_print(o, 0);
		sx_buf_adds(out, line);
		sx_buf_addch(out, '\n');
		free(line);
		sx_json_free(o);
	}
}
