#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/chat.h"
#include "selfexp/json.h"

/* Error messages taken from a server are capped at this many bytes. */
#define CHAT_ERRMSG_MAX 512
/* How far above log 1 a sum of rounded label logprobs may land (see label_logprob). */
#define CHAT_LOGPROB_SLACK 1e-6
/* Label tokens of one answer whose places are kept (beyond it, an answer is a list, not a pair). */
#define CHAT_MAX_LABEL_TOKENS 4096

/* ---------------------------------------------------------------- request */

/*
 * Shortest "%.Ng" that reads back to the same double, so 0.7 prints as 0.7
 * and 1.0 as 1, the same bytes every time; -0 prints as 0.
 */
static void add_num(struct sx_buf *b, double v)
{
	char tmp[40];
	int prec;

	if (!isfinite(v)) {
		sx_buf_adds(b, "null");
		return;
	}
	if (v == 0.0) {
		sx_buf_addch(b, '0');
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		sx_buf_addf(b, "%.0f", v);
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	sx_buf_adds(b, tmp);
}

static void add_key(struct sx_buf *b, const char *key, int *first)
{
	if (!*first)
		sx_buf_addch(b, ',');
	*first = 0;
	sx_buf_add_json_str(b, key, strlen(key));
	sx_buf_addch(b, ':');
}

static void add_message(struct sx_buf *b, const char *role, const char *content)
{
	sx_buf_adds(b, "{\"role\":");
	sx_buf_add_json_str(b, role, strlen(role));
	sx_buf_adds(b, ",\"content\":");
	sx_buf_add_json_str(b, content, strlen(content));
	sx_buf_addch(b, '}');
}

static const char *const omit_names[] = { "temperature", "top_p", "max_tokens", "seed" };

const char *sx_gen_omit_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < sizeof(omit_names) / sizeof(omit_names[0]); i++)
		if (bit == 1u << i)
			return omit_names[i];
	return NULL;
}

unsigned sx_gen_omit_bit(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(omit_names) / sizeof(omit_names[0]); i++)
		if (!strcmp(name, omit_names[i]))
			return 1u << i;
	return 0;
}

static void base_body(const struct sx_gen_params *gp, const char *system, const char *user,
		      struct sx_buf *out);
static void add_object(struct sx_buf *b, const struct sx_json *obj, const char *const *order);
static const char *const request_order[] = { "model", "messages", "temperature", "top_p",
					     "max_tokens", "logprobs", "top_logprobs", "n", "seed",
					     NULL };

/*
 * The body with --param, --unset and the max-tokens field applied: the
 * fields changed on the usual body, then written canonically (known fields
 * in their order, the others sorted), as sx_chat_request_canonical would.
 */
static void adjusted_body(const struct sx_gen_params *gp, const char *base, size_t len,
			  struct sx_buf *out)
{
	struct sx_json *o = sx_json_parse(base, len, NULL), *m;
	size_t i;

	for (i = 0; i < sizeof(omit_names) / sizeof(omit_names[0]); i++)
		if (gp->omit & (1u << i))
			sx_json_remove(o, omit_names[i]);
	if (gp->max_tokens_field && strcmp(gp->max_tokens_field, "max_tokens") &&
	    !(gp->omit & SX_GEN_OMIT_MAX_TOKENS)) {
		sx_json_remove(o, "max_tokens");
		sx_json_add_num(o, gp->max_tokens_field, (double)gp->max_tokens);
	}
	for (m = sx_json_child(gp->extra); m; m = sx_json_next(m))
		sx_json_set(o, sx_json_key(m), sx_json_dup(m));
	add_object(out, o, request_order);
	sx_json_free(o);
}

void sx_chat_request_body(const struct sx_gen_params *gp, const char *system, const char *user,
			  struct sx_buf *out)
{
	struct sx_buf base = SX_BUF_INIT;

	if (!gp->omit && !gp->extra &&
	    (!gp->max_tokens_field || !strcmp(gp->max_tokens_field, "max_tokens"))) {
		base_body(gp, system, user, out);
		return;
	}
	base_body(gp, system, user, &base);
	adjusted_body(gp, base.buf, base.len, out);
	sx_buf_release(&base);
}

static void base_body(const struct sx_gen_params *gp, const char *system, const char *user,
		      struct sx_buf *out)
{
	int first = 1;

	sx_buf_addch(out, '{');
	add_key(out, "model", &first);
	sx_buf_add_json_str(out, gp->model, strlen(gp->model));
	add_key(out, "messages", &first);
	sx_buf_addch(out, '[');
	if (system) {
		add_message(out, "system", system);
		sx_buf_addch(out, ',');
	}
	add_message(out, "user", user ? user : "");
	sx_buf_addch(out, ']');
	add_key(out, "temperature", &first);
	add_num(out, gp->temperature);
	add_key(out, "top_p", &first);
	add_num(out, gp->top_p);
	add_key(out, "max_tokens", &first);
	sx_buf_addf(out, "%ld", gp->max_tokens);
	if (gp->logprobs) {
		add_key(out, "logprobs", &first);
		sx_buf_adds(out, "true");
		if (gp->top_logprobs > 0) {
			add_key(out, "top_logprobs", &first);
			sx_buf_addf(out, "%d", gp->top_logprobs);
		}
	}
	if (gp->n > 1) {
		add_key(out, "n", &first);
		sx_buf_addf(out, "%ld", gp->n);
	}
	if (gp->seed >= 0) {
		add_key(out, "seed", &first);
		sx_buf_addf(out, "%ld", gp->seed);
	}
	sx_buf_addch(out, '}');
}

/* Any JSON value, canonically: objects with the given key order first, then the rest sorted. */
static void add_value(struct sx_buf *b, const struct sx_json *v, const char *const *order);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int in_list(const char *k, const char *const *order)
{
	for (; order && *order; order++)
		if (!strcmp(k, *order))
			return 1;
	return 0;
}

static const char *const message_order[] = { "role", "content", NULL };

static void add_object(struct sx_buf *b, const struct sx_json *obj, const char *const *order)
{
	const char **rest = NULL;
	size_t nrest = 0, alloc = 0, i;
	const struct sx_json *m;
	int first = 1;

	sx_buf_addch(b, '{');
	for (i = 0; order && order[i]; i++) {
		m = sx_json_get(obj, order[i]);
		if (!m)
			continue;
		add_key(b, order[i], &first);
		add_value(b, m, order == request_order && !strcmp(order[i], "messages") ?
					message_order : NULL);
	}
	for (m = sx_json_child(obj); m; m = sx_json_next(m)) {
		if (in_list(sx_json_key(m), order))
			continue;
		SX_GROW(rest, alloc, nrest + 1);
		rest[nrest++] = sx_json_key(m);
	}
	if (nrest)
		qsort(rest, nrest, sizeof(*rest), cmp_str);
	for (i = 0; i < nrest; i++) {
		add_key(b, rest[i], &first);
		add_value(b, sx_json_get(obj, rest[i]), NULL);
	}
	free(rest);
	sx_buf_addch(b, '}');
}

static void add_value(struct sx_buf *b, const struct sx_json *v, const char *const *order)
{
	const struct sx_json *c;
	double d;
	int bv;

	switch (sx_json_type_of(v)) {
	case SX_JSON_OBJECT:
		add_object(b, v, order);
		break;
	case SX_JSON_ARRAY:
		sx_buf_addch(b, '[');
		for (c = sx_json_child(v); c; c = sx_json_next(c)) {
			if (c != sx_json_child(v))
				sx_buf_addch(b, ',');
			add_value(b, c, order); /* order applies to the elements (messages) */
		}
		sx_buf_addch(b, ']');
		break;
	case SX_JSON_STRING:
		sx_buf_add_json_str(b, sx_json_str(v), strlen(sx_json_str(v)));
		break;
	case SX_JSON_NUMBER:
		sx_json_num(v, &d);
		add_num(b, d);
		break;
	case SX_JSON_BOOL:
		sx_json_bool(v, &bv);
		sx_buf_adds(b, bv ? "true" : "false");
		break;
	default:
		sx_buf_adds(b, "null");
	}
}

int sx_chat_request_canonical(const char *json, size_t len, struct sx_buf *out,
			      struct sx_err *err)
{
	struct sx_json *root = sx_json_parse(json, len, err);
	int rc = SX_EINPUT;

	if (!root) {
		sx_err_prefix(err, "request");
		return SX_EINPUT;
	}
	if (sx_json_type_of(root) != SX_JSON_OBJECT) {
		sx_err_set(err, SX_EINPUT, "request is not a json object");
		goto out;
	}
	if (!sx_json_get_str(root, "model")) {
		sx_err_set(err, SX_EINPUT, "request has no string \"model\"");
		goto out;
	}
	if (sx_json_type_of(sx_json_get(root, "messages")) != SX_JSON_ARRAY) {
		sx_err_set(err, SX_EINPUT, "request has no array \"messages\"");
		goto out;
	}
	add_object(out, root, request_order);
	rc = 0;
out:
	sx_json_free(root);
	return rc;
}

/* --------------------------------------------------------------- response */

static int is_label(const char *tok, int *label)
{
	size_t n;

	if (!tok)
		return 0;
	while (*tok == ' ' || *tok == '\t' || *tok == '\n' || *tok == '(' || *tok == '[')
		tok++;
	n = strlen(tok);
	while (n && (tok[n - 1] == ' ' || tok[n - 1] == ',' || tok[n - 1] == '\n'))
		n--;
	if (n != 1 || (tok[0] != '0' && tok[0] != '1'))
		return 0;
	*label = tok[0] - '0';
	return 1;
}

static double logaddexp(double a, double b)
{
	if (isnan(a))
		return b;
	if (isnan(b))
		return a;
	return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/*
 * A summed label log probability as stored. The API rounds its logprobs, so
 * spellings of a label that hold nearly all the mass ("1": -0.0, " 1": -20)
 * can add up to a hair over probability 1: that is taken as 0. A sum clearly
 * above 1 cannot come from a real distribution and is recorded as unknown
 * (NAN), not clamped (found by tests/fuzz/fuzz_chat).
 */
static double label_logprob(double lp)
{
	if (lp > CHAT_LOGPROB_SLACK)
		return NAN;
	return lp > 0.0 ? 0.0 : lp;
}

/* log P of "0" and "1" among a token's top_logprobs (and its own logprob), NAN where not given. */
static void token_label_logprobs(const struct sx_json *t, int own, double lp[2])
{
	const struct sx_json *alt;
	double v;
	int label;

	lp[0] = lp[1] = NAN;
	for (alt = sx_json_child(sx_json_get(t, "top_logprobs")); alt; alt = sx_json_next(alt)) {
		if (is_label(sx_json_get_str(alt, "token"), &label) &&
		    !sx_json_get_num(alt, "logprob", &v) && v <= 0.0)
			lp[label] = logaddexp(lp[label], v);
	}
	if (isnan(lp[own]) && !sx_json_get_num(t, "logprob", &v) && v <= 0.0)
		lp[own] = v;
	lp[0] = label_logprob(lp[0]);
	lp[1] = label_logprob(lp[1]);
}

/* The byte length of a token: its "bytes" array when given (exact), else its text. */
static size_t token_len(const struct sx_json *t)
{
	const struct sx_json *bytes = sx_json_get(t, "bytes");
	const char *tok = sx_json_get_str(t, "token");

	if (sx_json_type_of(bytes) == SX_JSON_ARRAY)
		return sx_json_len(bytes);
	return tok ? strlen(tok) : 0;
}

/*
 * The label logprobs from choices[0].logprobs.content[*]: of the first
 * label token, and of every label token with its place in the content;
 * leaves NAN when absent. A "logprob" above 0 (or NaN) is not a log
 * probability: ignored.
 */
static void decode_logprobs(const struct sx_json *choice, struct sx_chat_answer *out)
{
	const struct sx_json *content = sx_json_get(sx_json_get(choice, "logprobs"), "content");
	const struct sx_json *t;
	size_t at = 0, alloc = 0, len;
	double lp[2];
	int own;

	for (t = sx_json_child(content); t; t = sx_json_next(t), at += len) {
		struct sx_chat_label_token *lt;

		len = token_len(t);
		if (!is_label(sx_json_get_str(t, "token"), &own))
			continue;
		token_label_logprobs(t, own, lp);
		if (!out->nlabel_tokens) {
			out->logprob_0 = lp[0];
			out->logprob_1 = lp[1];
		}
		if (out->nlabel_tokens >= CHAT_MAX_LABEL_TOKENS)
			continue;
		SX_GROW(out->label_tokens, alloc, out->nlabel_tokens + 1);
		lt = &out->label_tokens[out->nlabel_tokens++];
		lt->at = at;
		lt->len = len;
		lt->logprob_0 = lp[0];
		lt->logprob_1 = lp[1];
	}
}

int sx_chat_label_logprobs(const struct sx_chat_answer *a, size_t at, double *l0, double *l1)
{
	size_t i;

	for (i = 0; i < a->nlabel_tokens; i++)
		if (a->label_tokens[i].at <= at && at < a->label_tokens[i].at + a->label_tokens[i].len) {
			*l0 = a->label_tokens[i].logprob_0;
			*l1 = a->label_tokens[i].logprob_1;
			return 0;
		}
	return -1;
}

int sx_chat_decode(const char *body, size_t len, struct sx_chat_answer *out, struct sx_err *err)
{
	struct sx_json *root = NULL;
	const struct sx_json *choices, *choice, *msg, *usage;
	const char *content, *finish, *model;
	size_t mlen;
	char *emsg;
	int rc = SX_EINPUT;

	*out = (struct sx_chat_answer)SX_CHAT_ANSWER_INIT;
	if (len > SX_CHAT_MAX_RESPONSE)
		return sx_err_set(err, SX_EINPUT, "response of %zu bytes is over the %u byte cap",
				  len, SX_CHAT_MAX_RESPONSE);
	root = sx_json_parse(body, len, err);
	if (!root) {
		sx_err_prefix(err, "response");
		return SX_EINPUT;
	}
	if (sx_json_type_of(root) != SX_JSON_OBJECT) {
		sx_err_set(err, SX_EINPUT, "response is not a json object");
		goto out;
	}
	if (sx_json_get(root, "error") && sx_json_type_of(sx_json_get(root, "error")) != SX_JSON_NULL) {
		emsg = sx_chat_error_message(body, len);
		sx_err_set(err, SX_EINPUT, "response is an error: %s", emsg ? emsg : "(no message)");
		free(emsg);
		goto out;
	}
	choices = sx_json_get(root, "choices");
	if (sx_json_type_of(choices) != SX_JSON_ARRAY) {
		sx_err_set(err, SX_EINPUT, "response has no \"choices\" array");
		goto out;
	}
	choice = sx_json_child(choices);
	if (!choice) {
		sx_err_set(err, SX_EINPUT, "response has an empty \"choices\" array");
		goto out;
	}
	msg = sx_json_get(choice, "message");
	if (sx_json_type_of(msg) != SX_JSON_OBJECT) {
		sx_err_set(err, SX_EINPUT, "response has no choices[0].message object");
		goto out;
	}
	content = sx_json_get_str(msg, "content");
	finish = sx_json_get_str(choice, "finish_reason");
	if (!content && sx_json_type_of(sx_json_get(msg, "content")) <= SX_JSON_NULL && finish &&
	    (!strcmp(finish, "content_filter") || !strcmp(finish, "length")))
		content = ""; /* no text at all: sx_chat_withheld says why */
	if (!content) {
		sx_err_set(err, SX_EINPUT, "response has no string choices[0].message.content");
		goto out;
	}
	out->content = xstrdup(content);
	{
		const struct sx_json *c;
		size_t n = 0;

		for (c = choice; c && n < SX_CHAT_MAX_CHOICES; c = sx_json_next(c))
			n++;
		out->choices = xcalloc(n, sizeof(char *));
		for (c = choice; c && out->nchoices < n; c = sx_json_next(c)) {
			const char *t = sx_json_get_str(sx_json_get(c, "message"), "content");
			out->choices[out->nchoices++] = xstrdup(t ? t : "");
		}
	}
	out->finish_reason = finish ? xstrdup(finish) : NULL;
	model = sx_json_get_str(root, "model");
	if (model && *model) {
		mlen = strnlen(model, SX_CHAT_MODEL_MAX + 1);
		if (mlen > SX_CHAT_MODEL_MAX) /* cut, on a UTF-8 character's first byte */
			for (mlen = SX_CHAT_MODEL_MAX; mlen && ((unsigned char)model[mlen] & 0xC0) == 0x80;)
				mlen--;
		out->model = xstrndup(model, mlen);
	}
	usage = sx_json_get(root, "usage");
	if (sx_json_get_long(usage, "prompt_tokens", 0, 1L << 40, &out->prompt_tokens))
		out->prompt_tokens = -1;
	if (sx_json_get_long(usage, "completion_tokens", 0, 1L << 40, &out->completion_tokens))
		out->completion_tokens = -1;
	if (sx_json_get_long(sx_json_get(usage, "completion_tokens_details"), "reasoning_tokens", 0,
			     1L << 40, &out->reasoning_tokens))
		out->reasoning_tokens = -1;
	decode_logprobs(choice, out);
	rc = 0;
out:
	sx_json_free(root);
	return rc;
}

enum sx_chat_withheld sx_chat_withheld(const struct sx_chat_answer *a)
{
	const char *c = a->content ? a->content : "";
	const char *f = a->finish_reason ? a->finish_reason : "";

	if (!strcmp(f, "content_filter"))
		return SX_CHAT_FILTERED;
	while (*c && isspace((unsigned char)*c))
		c++;
	if (!strcmp(f, "length") && !*c)
		return SX_CHAT_CUT_EMPTY;
	return SX_CHAT_ANSWERED;
}

void sx_chat_answer_release(struct sx_chat_answer *a)
{
	if (!a)
		return;
	free(a->content);
	free(a->finish_reason);
	free(a->model);
	free(a->label_tokens);
	while (a->nchoices)
		free(a->choices[--a->nchoices]);
	free(a->choices);
	*a = (struct sx_chat_answer)SX_CHAT_ANSWER_INIT;
}

void sx_chat_answer_copy(struct sx_chat_answer *dst, const struct sx_chat_answer *src)
{
	*dst = *src;
	dst->content = src->content ? xstrdup(src->content) : NULL;
	dst->finish_reason = src->finish_reason ? xstrdup(src->finish_reason) : NULL;
	dst->model = src->model ? xstrdup(src->model) : NULL;
	dst->label_tokens = NULL;
	if (src->nlabel_tokens) {
		dst->label_tokens = xcalloc(src->nlabel_tokens, sizeof(*dst->label_tokens));
		memcpy(dst->label_tokens, src->label_tokens,
		       src->nlabel_tokens * sizeof(*dst->label_tokens));
	}
	dst->choices = src->nchoices ? xcalloc(src->nchoices, sizeof(char *)) : NULL;
	for (size_t i = 0; i < src->nchoices; i++)
		dst->choices[i] = xstrdup(src->choices[i]);
}

static char *clean_message(const char *s)
{
	size_t n = strlen(s), i;
	char *r;

	if (n > CHAT_ERRMSG_MAX)
		n = CHAT_ERRMSG_MAX;
	r = xstrndup(s, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			r[i] = ' ';
	return r;
}

char *sx_chat_error_message(const char *body, size_t len)
{
	struct sx_json *root;
	const struct sx_json *e;
	const char *m = NULL;
	char *r = NULL;

	if (!body || len > SX_CHAT_MAX_RESPONSE)
		return NULL;
	root = sx_json_parse(body, len, NULL);
	if (!root)
		return NULL;
	e = sx_json_get(root, "error");
	if (sx_json_type_of(e) == SX_JSON_OBJECT)
		m = sx_json_get_str(e, "message");
	else if (sx_json_type_of(e) == SX_JSON_STRING)
		m = sx_json_str(e);
	if (!m)
		m = sx_json_get_str(root, "message");
	if (!m && sx_json_type_of(root) == SX_JSON_OBJECT)
		m = sx_json_get_str(root, "detail");
	if (m)
		r = clean_message(m);
	sx_json_free(root);
	return r;
}

char *sx_chat_error_param(const char *body, size_t len)
{
	struct sx_json *root;
	const char *m;
	char *r = NULL;

	if (!body || len > SX_CHAT_MAX_RESPONSE || !(root = sx_json_parse(body, len, NULL)))
		return NULL;
	m = sx_json_get_str(sx_json_get(root, "error"), "param");
	if (m && *m)
		r = clean_message(m);
	sx_json_free(root);
	return r;
}

int sx_chat_error_is(const char *body, size_t len, const char *code)
{
	struct sx_json *root;
	const struct sx_json *e;
	const char *c, *t;
	int is;

	if (!body || len > SX_CHAT_MAX_RESPONSE || !(root = sx_json_parse(body, len, NULL)))
		return 0;
	e = sx_json_get(root, "error");
	c = sx_json_get_str(e, "code");
	t = sx_json_get_str(e, "type");
	is = (c && !strcmp(c, code)) || (t && !strcmp(t, code));
	sx_json_free(root);
	return is;
}

int sx_chat_models_ids(const char *body, size_t len, size_t max, struct sx_buf *out)
{
	struct sx_json *root, *ids;
	const struct sx_json *list, *m;
	const char *field = "id";
	char *text;
	size_t n = 0;

	if (!body || len > SX_CHAT_MAX_RESPONSE || !(root = sx_json_parse(body, len, NULL)))
		return SX_EINPUT;
	list = sx_json_get(root, "data");
	if (sx_json_type_of(list) != SX_JSON_ARRAY) {
		list = sx_json_get(root, "models");
		field = "name";
	}
	if (sx_json_type_of(list) != SX_JSON_ARRAY) {
		sx_json_free(root);
		return SX_EINPUT;
	}
	ids = sx_json_new_array();
	for (m = sx_json_child(list); m && n < max; m = sx_json_next(m)) {
		const char *id = sx_json_get_str(m, field);

		if (id) {
			char *c = clean_message(id);

			sx_json_push(ids, sx_json_new_str(c));
			free(c);
			n++;
		}
	}
	text = sx_json_print(ids, 0);
	sx_buf_adds(out, text);
	free(text);
	sx_json_free(ids);
	sx_json_free(root);
	return 0;
}
