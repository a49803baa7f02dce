/*
 * OpenAI-style batch files: the JSONL format, the run's record of its
 * batches, and the rounds of submit / poll / collect (batchapi.h).
 *
 *   format    request, output and error lines
 *   state     DIR/batches.json, rewritten atomically at every step
 *   api       /v1/files and /v1/batches through http.c's blocking requests
 *   rounds    sx_batchapi_run
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "selfexp/alloc.h"
#include "selfexp/batchapi.h"
#include "selfexp/chat.h"
#include "selfexp/file.h"
#include "selfexp/hash.h"
#include "selfexp/strmap.h"

#define POLL_CAP_S 30.0
/* Attempts of one API call (network errors, 408, 409, 429, 5xx) before it fails the run. */
#define API_ATTEMPTS 6
#define REASON_MAX 300

/* ---------------------------------------------------------------- format */

void sx_batchapi_request_line(const char *custom_id, const char *body, size_t len,
			      struct sx_buf *out)
{
	sx_buf_adds(out, "{\"custom_id\":");
	sx_buf_add_json_str(out, custom_id, strlen(custom_id));
	sx_buf_adds(out, ",\"method\":\"POST\",\"url\":\"" SX_BATCH_ENDPOINT "\",\"body\":");
	sx_buf_add(out, body, len);
	sx_buf_adds(out, "}\n");
}

static size_t skip_ws(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* The end of the string starting at s[i] == '"'. */
static size_t skip_string(const char *s, size_t i, size_t len)
{
	for (i++; i < len && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

/* The end of the JSON value starting at s[i] (text the parser has accepted). */
static size_t skip_value(const char *s, size_t i, size_t len)
{
	int depth = 0;

	if (s[i] == '"')
		return skip_string(s, i, len);
	if (s[i] != '{' && s[i] != '[') {
		while (i < len && !strchr(",}] \t\r\n", s[i]))
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (s[i] == '"') {
			i = skip_string(s, i, len) - 1;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if ((s[i] == '}' || s[i] == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return len;
}

/*
 * The bytes of the value of the top-level member key of the JSON object
 * text[0..len), which the parser has accepted: a batch runs the body as it
 * was written (the sim seeds its answers with the body's bytes).
 */
static int member_span(const char *text, size_t len, const char *key, size_t *off, size_t *vlen)
{
	size_t i = skip_ws(text, 0, len), klen = strlen(key);

	if (i >= len || text[i] != '{')
		return -1;
	for (i++;;) {
		size_t k0, k1, v0;

		i = skip_ws(text, i, len);
		if (i >= len || text[i] != '"')
			return -1;
		k0 = i + 1;
		i = skip_string(text, i, len);
		k1 = i - 1;
		i = skip_ws(text, i, len);
		if (i >= len || text[i] != ':')
			return -1;
		v0 = i = skip_ws(text, i + 1, len);
		if (i >= len)
			return -1;
		i = skip_value(text, i, len);
		if (k1 - k0 == klen && !memcmp(text + k0, key, klen)) {
			*off = v0;
			*vlen = i - v0;
			return 0;
		}
		i = skip_ws(text, i, len);
		if (i >= len || text[i] != ',')
			return -1;
		i++;
	}
}

int sx_batchapi_parse_request(const char *line, size_t len, struct sx_batch_request *out,
			      struct sx_err *err)
{
	struct sx_json *j = sx_json_parse(line, len, err);
	const struct sx_json *body;
	const char *id, *url, *method;
	size_t off = 0, blen = 0;
	int rc = SX_EINPUT;

	memset(out, 0, sizeof(*out));
	if (!j)
		return SX_EINPUT;
	id = sx_json_get_str(j, "custom_id");
	url = sx_json_get_str(j, "url");
	method = sx_json_get_str(j, "method");
	body = sx_json_get(j, "body");
	if (!id || !*id)
		sx_err_set(err, SX_EINPUT, "no custom_id");
	else if (!method || strcmp(method, "POST"))
		sx_err_set(err, SX_EINPUT, "method '%s' is not POST", method ? method : "");
	else if (!url || strcmp(url, SX_BATCH_ENDPOINT))
		sx_err_set(err, SX_EINPUT, "url '%s' is not " SX_BATCH_ENDPOINT, url ? url : "");
	else if (sx_json_type_of(body) != SX_JSON_OBJECT || member_span(line, len, "body", &off, &blen))
		sx_err_set(err, SX_EINPUT, "body is not a JSON object");
	else
		rc = 0;
	if (!rc) {
		out->custom_id = xstrdup(id);
		out->body = xstrndup(line + off, blen);
		out->len = blen;
	}
	sx_json_free(j);
	return rc;
}

void sx_batch_request_release(struct sx_batch_request *r)
{
	free(r->custom_id);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static void line_reason(struct sx_batch_line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void line_reason(struct sx_batch_line *l, const char *fmt, ...)
{
	char buf[REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(l->reason);
	l->reason = xstrdup(buf);
}

int sx_batchapi_parse_output(const char *line, size_t len, struct sx_batch_line *out,
			     struct sx_err *err)
{
	struct sx_json *j = sx_json_parse(line, len, err);
	const struct sx_json *resp, *e, *body;
	const char *id;
	long status = 0;

	memset(out, 0, sizeof(*out));
	if (!j)
		return SX_EINPUT;
	id = sx_json_get_str(j, "custom_id");
	if (!id || !*id) {
		sx_json_free(j);
		return sx_err_set(err, SX_EINPUT, "no custom_id");
	}
	out->custom_id = xstrdup(id);
	e = sx_json_get(j, "error");
	resp = sx_json_get(j, "response");
	if (sx_json_type_of(resp) == SX_JSON_OBJECT &&
	    sx_json_get_long(resp, "status_code", 0, 999, &status))
		status = 0;
	out->status = status;
	body = sx_json_get(resp, "body");
	if (e && sx_json_type_of(e) != SX_JSON_NULL) {
		const char *code = sx_json_get_str(e, "code"), *msg = sx_json_get_str(e, "message");

		line_reason(out, "batch line failed: %s%s%s", code ? code : "error",
			    msg ? ": " : "", msg ? msg : "");
	} else if (status == 200 && sx_json_type_of(body) == SX_JSON_OBJECT) {
		out->ok = 1;
		out->body = sx_json_print(body, 0);
		out->len = strlen(out->body);
	} else if (status) {
		const char *msg = sx_json_get_str(sx_json_get(body, "error"), "message");

		line_reason(out, "http %ld%s%s", status, msg ? ": " : "", msg ? msg : "");
	} else {
		line_reason(out, "batch line without a response or an error");
	}
	sx_json_free(j);
	return 0;
}

void sx_batch_line_release(struct sx_batch_line *l)
{
	free(l->custom_id);
	free(l->body);
	free(l->reason);
	memset(l, 0, sizeof(*l));
}

void sx_batchapi_output_line(const char *id, const char *custom_id, long status,
			     const char *body, size_t len, const char *code, const char *message,
			     struct sx_buf *out)
{
	sx_buf_adds(out, "{\"id\":");
	sx_buf_add_json_str(out, id, strlen(id));
	sx_buf_adds(out, ",\"custom_id\":");
	sx_buf_add_json_str(out, custom_id, strlen(custom_id));
	if (status) {
		sx_buf_addf(out, ",\"response\":{\"status_code\":%ld,\"request_id\":", status);
		sx_buf_add_json_str(out, id, strlen(id));
		sx_buf_adds(out, ",\"body\":");
		sx_buf_add(out, body, len);
		sx_buf_adds(out, "},\"error\":null}\n");
		return;
	}
	sx_buf_adds(out, ",\"response\":null,\"error\":{\"code\":");
	sx_buf_add_json_str(out, code ? code : "error", strlen(code ? code : "error"));
	sx_buf_adds(out, ",\"message\":");
	sx_buf_add_json_str(out, message ? message : "", strlen(message ? message : ""));
	sx_buf_adds(out, "}}\n");
}

/* ---------------------------------------------------------------- state */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void entry_release(struct sx_batch_entry *e)
{
	free(e->name);
	free(e->stage);
	free(e->file_id);
	free(e->batch_id);
	free(e->status);
	free(e->output_file_id);
	free(e->error_file_id);
	memset(e, 0, sizeof(*e));
}

void sx_batch_state_release(struct sx_batch_state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		entry_release(&st->v[i]);
	free(st->v);
	free(st->path);
	free(st->token);
	memset(st, 0, sizeof(*st));
}

static void new_token(struct sx_batch_state *st)
{
	unsigned char seed[32];
	struct timespec ts;
	char hex[SX_SHA256_HEX_LEN + 1];
	pid_t pid = getpid();

	clock_gettime(CLOCK_REALTIME, &ts);
	memset(seed, 0, sizeof(seed));
	memcpy(seed, &ts, sizeof(ts) < 24 ? sizeof(ts) : 24);
	memcpy(seed + 24, &pid, sizeof(pid));
	memcpy(seed + 28, &st, sizeof(void *) < 4 ? sizeof(void *) : 4);
	sx_sha256_hex(seed, sizeof(seed), hex);
	hex[12] = '\0';
	st->token = xstrdup(hex);
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = dup_or_null(s);
}

int sx_batch_state_load(struct sx_batch_state *st, const char *path, struct sx_err *err)
{
	struct sx_buf text = SX_BUF_INIT;
	struct sx_json *j = NULL;
	const struct sx_json *arr = NULL, *it;
	struct stat sb;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->path = xstrdup(path);
	if (stat(path, &sb) && errno == ENOENT) {
		new_token(st);
		return 0;
	}
	rc = sx_file_read(path, SX_BATCH_STATE_MAX, &text, err);
	if (!rc && !(j = sx_json_parse(text.buf, text.len, err)))
		rc = SX_EINPUT;
	if (!rc && (!sx_json_get_str(j, "token") || sx_json_get_long(j, "seq", 0, 1L << 40, &st->seq) ||
		    sx_json_type_of(arr = sx_json_get(j, "batches")) != SX_JSON_ARRAY))
		rc = sx_err_set(err, SX_EINPUT, "not a record of batches");
	if (rc) {
		sx_err_prefix(err, "'%s'", path);
		sx_err_prefix(err, "%s", "cannot read the run's batches");
		goto out;
	}
	st->token = xstrdup(sx_json_get_str(j, "token"));
	for (it = sx_json_child(arr); it; it = sx_json_next(it)) {
		struct sx_batch_entry *e;
		int done = 0;

		if (!sx_json_get_str(it, "name") || !sx_json_get_str(it, "stage"))
			continue;
		SX_GROW(st->v, st->alloc, st->n + 1);
		e = &st->v[st->n++];
		memset(e, 0, sizeof(*e));
		e->name = xstrdup(sx_json_get_str(it, "name"));
		e->stage = xstrdup(sx_json_get_str(it, "stage"));
		sx_json_get_long(it, "round", 1, 1000000, &e->round);
		sx_json_get_long(it, "requests", 0, 1L << 40, &e->requests);
		set_str(&e->file_id, sx_json_get_str(it, "file_id"));
		set_str(&e->batch_id, sx_json_get_str(it, "batch_id"));
		set_str(&e->status, sx_json_get_str(it, "status"));
		set_str(&e->output_file_id, sx_json_get_str(it, "output_file_id"));
		set_str(&e->error_file_id, sx_json_get_str(it, "error_file_id"));
		if (!sx_json_bool(sx_json_get(it, "collected"), &done))
			e->done = done;
		sx_json_get_long(it, "answered", 0, 1L << 40, &e->answered);
		sx_json_get_long(it, "failed", 0, 1L << 40, &e->failed);
		sx_json_get_long(it, "prompt_tokens", 0, 1L << 50, &e->prompt_tokens);
		sx_json_get_long(it, "completion_tokens", 0, 1L << 50, &e->completion_tokens);
		sx_json_get_num(it, "cost", &e->cost);
	}
out:
	sx_json_free(j);
	sx_buf_release(&text);
	return rc;
}

static void add_opt_str(struct sx_json *o, const char *key, const char *s)
{
	if (s)
		sx_json_add_str(o, key, s);
	else
		sx_json_add(o, key, sx_json_new_null());
}

static struct sx_json *entry_json(const struct sx_batch_entry *e)
{
	struct sx_json *o = sx_json_new_object();

	sx_json_add_str(o, "name", e->name);
	sx_json_add_str(o, "stage", e->stage);
	sx_json_add_num(o, "round", (double)e->round);
	sx_json_add_num(o, "requests", (double)e->requests);
	add_opt_str(o, "file_id", e->file_id);
	add_opt_str(o, "batch_id", e->batch_id);
	add_opt_str(o, "status", e->status);
	add_opt_str(o, "output_file_id", e->output_file_id);
	add_opt_str(o, "error_file_id", e->error_file_id);
	sx_json_add_bool(o, "collected", e->done);
	sx_json_add_num(o, "answered", (double)e->answered);
	sx_json_add_num(o, "failed", (double)e->failed);
	sx_json_add_num(o, "prompt_tokens", (double)e->prompt_tokens);
	sx_json_add_num(o, "completion_tokens", (double)e->completion_tokens);
	sx_json_add_num(o, "cost", e->cost);
	return o;
}

struct sx_json *sx_batch_state_json(const struct sx_batch_state *st)
{
	struct sx_json *arr = sx_json_new_array();
	size_t i;

	for (i = 0; i < st->n; i++)
		sx_json_push(arr, entry_json(&st->v[i]));
	return arr;
}

int sx_batch_state_save(const struct sx_batch_state *st, struct sx_err *err)
{
	struct sx_json *o = sx_json_new_object();
	char *text;
	int rc;

	sx_json_add_num(o, "version", 1);
	sx_json_add_str(o, "token", st->token);
	sx_json_add_num(o, "seq", (double)st->seq);
	sx_json_add(o, "batches", sx_batch_state_json(st));
	text = sx_json_print(o, 1);
	rc = sx_file_write_atomic(st->path, text, strlen(text), 0600, err);
	free(text);
	sx_json_free(o);
	return rc;
}

/* ---------------------------------------------------------------- api */

struct sx_batchapi {
	struct sx_batchapi_config cfg;
	sx_batchapi_answer_fn answer;
	void *ctx;
	struct sx_batch_state st;
	long sent;
};

int sx_batchapi_new(const struct sx_batchapi_config *cfg, sx_batchapi_answer_fn answer, void *ctx,
		    struct sx_batchapi **out, struct sx_err *err)
{
	struct sx_batchapi *b = xcalloc(1, sizeof(*b));
	int rc;

	*out = NULL;
	b->cfg = *cfg;
	b->answer = answer;
	b->ctx = ctx;
	if (!b->cfg.poll_s)
		b->cfg.poll_s = 1.0;
	if (b->cfg.max_lines <= 0 || b->cfg.max_lines > SX_BATCH_MAX_LINES)
		b->cfg.max_lines = SX_BATCH_MAX_LINES;
	if (!b->cfg.max_bytes || b->cfg.max_bytes > SX_BATCH_MAX_BYTES)
		b->cfg.max_bytes = SX_BATCH_MAX_BYTES;
	rc = sx_batch_state_load(&b->st, cfg->state_path, err);
	if (rc) {
		sx_batchapi_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void sx_batchapi_free(struct sx_batchapi *b)
{
	if (!b)
		return;
	sx_batch_state_release(&b->st);
	free(b);
}

void sx_batchapi_set_http(struct sx_batchapi *b, struct sx_http *http)
{
	b->cfg.http = http;
}

const struct sx_batch_state *sx_batchapi_state(const struct sx_batchapi *b)
{
	return &b->st;
}

long sx_batchapi_sent(const struct sx_batchapi *b)
{
	return b->sent;
}

static int stopped(const struct sx_batchapi *b)
{
	return b->cfg.interrupted && *b->cfg.interrupted;
}

/* Sleep s seconds, waking early when interrupted. */
static void nap(const struct sx_batchapi *b, double s)
{
	while (s > 0 && !stopped(b)) {
		double t = s < 0.1 ? s : 0.1;
		struct timespec ts = { 0, (long)(t * 1e9) };

		nanosleep(&ts, NULL);
		s -= t;
	}
}

/* {base}{path}, the base's query (Azure's ?api-version=) after it, joined to query. */
static void api_url(const struct sx_batchapi *b, const char *path, const char *query,
		    struct sx_buf *out)
{
	const char *base = b->cfg.base_url;
	size_t q = strcspn(base, "?#"), blen = q;

	while (blen && base[blen - 1] == '/')
		blen--;
	sx_buf_add(out, base, blen);
	sx_buf_adds(out, path);
	if (base[q] == '?') {
		sx_buf_add(out, base + q, strcspn(base + q, "#"));
		if (query)
			sx_buf_addf(out, "&%s", query);
	} else if (query) {
		sx_buf_addf(out, "?%s", query);
	}
}

/*
 * One API call, retried on network errors, 408, 409, 429 and 5xx; *out gets
 * the JSON of a 2xx answer (or, with raw, the body in *raw). SX_ENET with a
 * message otherwise.
 */
static int api_call_shown(struct sx_batchapi *b, struct sx_http_sync *rq, const char *shown,
			  const char *what, struct sx_json **out, struct sx_buf *raw,
			  struct sx_err *err)
{
	struct sx_http_done d;
	struct sx_err perr = SX_ERR_INIT;
	double wait = 0.5;
	int attempt, rc;

	if (out)
		*out = NULL;
	rq->timeout_s = b->cfg.timeout_s;
	for (attempt = 1;; attempt++) {
		char *msg = NULL;
		int retry;

		rc = sx_http_request(b->cfg.http, rq, &d, err);
		if (rc)
			return rc;
		if (d.net == SX_HTTP_NET_OK && d.status >= 200 && d.status < 300) {
			if (raw) {
				*raw = d.body;
				return 0;
			}
			*out = sx_json_parse(d.body.buf, d.body.len, &perr);
			sx_http_done_release(&d);
			if (*out)
				return 0;
			return sx_err_set(err, SX_ENET, "%s: the answer of '%s' is not JSON: %s", what,
					  shown, perr.msg);
		}
		retry = d.net == SX_HTTP_NET_ERROR || d.net == SX_HTTP_NET_TIMEOUT ||
			d.status == 408 || d.status == 409 || d.status == 429 || d.status >= 500;
		if (d.net == SX_HTTP_NET_OK)
			msg = sx_chat_error_message(d.body.buf, d.body.len);
		if (!retry || attempt >= API_ATTEMPTS) {
			if (d.net != SX_HTTP_NET_OK)
				rc = sx_err_set(err, SX_ENET, "%s: cannot reach '%s': %s; check "
						"--base-url, or run the same command again later",
						what, shown, d.error);
			else if (d.status == 404)
				rc = sx_err_set(err, SX_ENET, "%s: '%s' answered http 404%s%s; the "
						"endpoint has no Batch API (try without --batch, or "
						"--batch-dir DIR for files to run elsewhere)", what,
						shown, msg ? ": " : "", msg ? msg : "");
			else
				rc = sx_err_set(err, SX_ENET, "%s: '%s' answered http %ld%s%s", what,
						shown, d.status, msg ? ": " : "", msg ? msg : "");
			free(msg);
			sx_http_done_release(&d);
			return rc;
		}
		free(msg);
		if (d.retry_after_s > wait)
			wait = d.retry_after_s < 60 ? d.retry_after_s : 60;
		sx_http_done_release(&d);
		nap(b, wait);
		if (stopped(b))
			return sx_err_set(err, SX_ELIMIT, "%s: interrupted", what);
		wait *= 2;
	}
}

/* api_call_shown with rq->url in messages as sx_http_url_shown shows it. */
static int api_call(struct sx_batchapi *b, struct sx_http_sync *rq, const char *what,
		    struct sx_json **out, struct sx_buf *raw, struct sx_err *err)
{
	struct sx_buf shown = SX_BUF_INIT;
	int rc;

	sx_http_url_shown(rq->url, &shown);
	rc = api_call_shown(b, rq, shown.buf, what, out, raw, err);
	sx_buf_release(&shown);
	return rc;
}

/* "WHAT: 'URL' answered no KIND id", the URL as sx_http_url_shown shows it. */
static int no_id(const char *url, const char *what, const char *kind, struct sx_err *err)
{
	struct sx_buf shown = SX_BUF_INIT;
	int rc;

	sx_http_url_shown(url, &shown);
	rc = sx_err_set(err, SX_ENET, "%s: '%s' answered no %s id", what, shown.buf, kind);
	sx_buf_release(&shown);
	return rc;
}

static int api_get(struct sx_batchapi *b, const char *path, const char *query, const char *what,
		   struct sx_json **out, struct sx_err *err)
{
	struct sx_http_sync rq;
	struct sx_buf url = SX_BUF_INIT;
	int rc;

	memset(&rq, 0, sizeof(rq));
	api_url(b, path, query, &url);
	rq.method = "GET";
	rq.url = url.buf;
	rq.max_body = SX_BATCH_MAX_META;
	rc = api_call(b, &rq, what, out, NULL, err);
	sx_buf_release(&url);
	return rc;
}

/* Items a page asks for (the Batch API's largest batch page) and pages read at most. */
#define LIST_PAGE 100
#define LIST_PAGES 1000

/* May id go into a query string as it is? OpenAI's ids are letters, digits and '_'. */
static int plain_id(const char *id)
{
	return *id && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
			      strlen(id);
}

/*
 * The id of the first item of list path (newest first, filtered by query)
 * whose field equals want, or NULL when the list ends without one. The list
 * is read LIST_PAGE items a page (?after= the last id of the page before),
 * as long as the server says has_more. A list that goes on past LIST_PAGES
 * pages, or whose next page cannot be asked for (no usable last id, or the
 * same page again), is an error, not "not there": the caller would upload
 * or create again what may be on the server, and run its requests twice.
 */
static int list_find(struct sx_batchapi *b, const char *path, const char *query, const char *what,
		     const char *field, const char *want, char **id, struct sx_err *err)
{
	struct sx_buf q = SX_BUF_INIT;
	char *after = NULL;
	int rc = 0, page, more = 0;
	const char *why = NULL;

	*id = NULL;
	for (page = 0; page < LIST_PAGES; page++) {
		struct sx_json *j = NULL;
		const struct sx_json *it;
		const char *last = NULL;

		sx_buf_reset(&q);
		sx_buf_addf(&q, "%s%slimit=%d", query ? query : "", query ? "&" : "", LIST_PAGE);
		if (after)
			sx_buf_addf(&q, "&after=%s", after);
		if ((rc = api_get(b, path, q.buf, what, &j, err)))
			break;
		for (it = sx_json_child(sx_json_get(j, "data")); it; it = sx_json_next(it)) {
			const char *v = sx_json_get_str(it, field), *iid = sx_json_get_str(it, "id");

			if (v && iid && !strcmp(v, want) && !*id)
				*id = xstrdup(iid);
			if (iid)
				last = iid;
		}
		if (sx_json_bool(sx_json_get(j, "has_more"), &more))
			more = 0;
		if (more && !*id && !(last && plain_id(last) && !(after && !strcmp(after, last))))
			why = "its next page cannot be asked for (no usable last id, or the same page again)";
		free(after);
		after = more && !*id && !why ? xstrdup(last) : NULL;
		sx_json_free(j);
		if (!after)
			break;
	}
	if (!rc && !*id && more && !why)
		why = "it goes on past the pages read";
	if (!rc && why)
		rc = sx_err_set(err, SX_EFAIL, "%s: '%s' is not in the %d pages of %d read, and the list "
				"goes on: %s; not sending it again, which could run its requests twice "
				"(delete old files or batches on the server, or start the run in a new "
				"run directory)", what, want, page < LIST_PAGES ? page + 1 : page,
				LIST_PAGE, why);
	free(after);
	sx_buf_release(&q);
	return rc;
}

/* The id of the file this run uploaded under name, or NULL. */
static int find_file(struct sx_batchapi *b, const char *name, char **id, struct sx_err *err)
{
	return list_find(b, "/files", "purpose=batch", "listing the uploaded files", "filename", name,
			 id, err);
}

/* The id of the batch made from file_id, or NULL. */
static int find_batch(struct sx_batchapi *b, const char *file_id, char **id, struct sx_err *err)
{
	return list_find(b, "/batches", NULL, "listing the batches", "input_file_id", file_id, id,
			 err);
}

static int upload(struct sx_batchapi *b, const char *name, const struct sx_buf *data, char **id,
		  struct sx_err *err)
{
	static const char *const fields[] = { "purpose", "batch", NULL };
	struct sx_http_sync rq;
	struct sx_buf url = SX_BUF_INIT;
	struct sx_json *j = NULL;
	const char *fid;
	int rc;

	memset(&rq, 0, sizeof(rq));
	api_url(b, "/files", NULL, &url);
	rq.method = "POST";
	rq.url = url.buf;
	rq.file_field = "file";
	rq.file_name = name;
	rq.file_data = data->buf;
	rq.file_len = data->len;
	rq.fields = fields;
	rq.max_body = SX_BATCH_MAX_META;
	rc = api_call(b, &rq, "uploading a batch file", &j, NULL, err);
	if (!rc && !(fid = sx_json_get_str(j, "id")))
		rc = no_id(url.buf, "uploading a batch file", "file", err);
	if (!rc)
		*id = xstrdup(fid);
	sx_json_free(j);
	sx_buf_release(&url);
	return rc;
}

static int create_batch(struct sx_batchapi *b, const struct sx_batch_entry *e, char **id,
			struct sx_err *err)
{
	struct sx_http_sync rq;
	struct sx_buf url = SX_BUF_INIT, body = SX_BUF_INIT;
	struct sx_json *j = NULL;
	const char *bid;
	int rc;

	memset(&rq, 0, sizeof(rq));
	api_url(b, "/batches", NULL, &url);
	sx_buf_adds(&body, "{\"input_file_id\":");
	sx_buf_add_json_str(&body, e->file_id, strlen(e->file_id));
	sx_buf_adds(&body, ",\"endpoint\":\"" SX_BATCH_ENDPOINT "\",\"completion_window\":\"24h\","
			   "\"metadata\":{\"selfexp_name\":");
	sx_buf_add_json_str(&body, e->name, strlen(e->name));
	sx_buf_adds(&body, "}}");
	rq.method = "POST";
	rq.url = url.buf;
	rq.body = body.buf;
	rq.len = body.len;
	rq.max_body = SX_BATCH_MAX_META;
	rc = api_call(b, &rq, "creating a batch", &j, NULL, err);
	if (!rc && !(bid = sx_json_get_str(j, "id")))
		rc = no_id(url.buf, "creating a batch", "batch", err);
	if (!rc)
		*id = xstrdup(bid);
	sx_json_free(j);
	sx_buf_release(&url);
	sx_buf_release(&body);
	return rc;
}

static int download(struct sx_batchapi *b, const char *file_id, struct sx_buf *out,
		    struct sx_err *err)
{
	struct sx_http_sync rq;
	struct sx_buf url = SX_BUF_INIT, path = SX_BUF_INIT;
	int rc;

	memset(&rq, 0, sizeof(rq));
	sx_buf_addf(&path, "/files/%s/content", file_id);
	api_url(b, path.buf, NULL, &url);
	rq.method = "GET";
	rq.url = url.buf;
	rq.max_body = SX_BATCH_MAX_OUTPUT;
	rc = api_call(b, &rq, "downloading a batch's results", NULL, out, err);
	sx_buf_release(&url);
	sx_buf_release(&path);
	return rc;
}

/* ---------------------------------------------------------------- rounds */

static int terminal(const char *status)
{
	return status && (!strcmp(status, "completed") || !strcmp(status, "failed") ||
			  !strcmp(status, "expired") || !strcmp(status, "cancelled"));
}

static int save(struct sx_batchapi *b, struct sx_err *err)
{
	return sx_batch_state_save(&b->st, err);
}

/* Set req's reason unless it was answered. */
static void req_reason(struct sx_batch_req *r, const char *why)
{
	if (r->answered)
		return;
	free(r->reason);
	r->reason = xstrdup(why);
}

/* The lines of one output or error file into the requests they answer. */
static int take_lines(struct sx_batchapi *b, struct sx_batch_entry *e, const char *text,
		      size_t len, struct sx_strmap *keys, struct sx_batch_req *reqs,
		      struct sx_err *err)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t llen = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct sx_batch_line l;
		size_t idx;

		if (llen && llen <= SX_BATCH_MAX_LINE &&
		    !sx_batchapi_parse_output(p, llen, &l, NULL)) {
			if (sx_strmap_get(keys, l.custom_id, strlen(l.custom_id), &idx) &&
			    !reqs[idx].answered && !reqs[idx].final) {
				if (l.ok) {
					char why[REASON_MAX] = "";
					long pt = -1, ct = -1;
					int rc = b->answer(b->ctx, idx, l.body, l.len, &pt, &ct, why,
							   sizeof(why));

					if (rc == SX_EIO) {
						sx_batch_line_release(&l);
						return sx_err_set(err, SX_EIO, "%s", why);
					}
					if (!rc) {
						reqs[idx].answered = 1;
						e->answered++;
						b->sent++;
						if (pt > 0)
							e->prompt_tokens += pt;
						if (ct > 0)
							e->completion_tokens += ct;
						e->cost += ((double)(pt > 0 ? pt : 0) * b->cfg.price_in +
							    (double)(ct > 0 ? ct : 0) * b->cfg.price_out) / 1e6;
					} else {
						req_reason(&reqs[idx], why);
						reqs[idx].final = rc == SX_EFAIL;
						e->failed++;
					}
				} else {
					req_reason(&reqs[idx], l.reason);
					e->failed++;
				}
			}
			sx_batch_line_release(&l);
		}
		/* a line that is not of the format (cut off, say) answers nothing: it goes out again */
		p += llen + 1;
	}
	return 0;
}

static void progress_line(const struct sx_batchapi *b, const struct sx_batch_entry *e,
			  const struct sx_json *j)
{
	const struct sx_json *c = sx_json_get(j, "request_counts");
	long total = 0, done = 0, failed = 0;

	sx_json_get_long(c, "total", 0, 1L << 40, &total);
	sx_json_get_long(c, "completed", 0, 1L << 40, &done);
	sx_json_get_long(c, "failed", 0, 1L << 40, &failed);
	(void)b;
	fprintf(stderr, "selfexp: batch %s (%s, round %ld): %s, %ld/%ld done, %ld failed\n",
		e->batch_id, e->stage, e->round, e->status ? e->status : "?", done,
		total ? total : e->requests, failed);
}

/* The reason of a batch that answered nothing (failed, cancelled): its errors' first message. */
static void batch_failure(const struct sx_json *j, const struct sx_batch_entry *e, char *buf,
			  size_t n)
{
	const struct sx_json *first = sx_json_at(sx_json_get(sx_json_get(j, "errors"), "data"), 0);
	const char *msg = sx_json_get_str(first, "message");

	snprintf(buf, n, "batch %s %s%s%s", e->batch_id, e->status, msg ? ": " : "", msg ? msg : "");
}

/* Collect a terminal batch: its output and error files into the requests. */
static int collect(struct sx_batchapi *b, struct sx_batch_entry *e, const struct sx_json *info,
		   struct sx_strmap *keys, struct sx_batch_req *reqs, size_t n, struct sx_err *err)
{
	const char *ids[2] = { e->output_file_id, e->error_file_id };
	char why[REASON_MAX];
	size_t i;
	int k, rc = 0;

	for (k = 0; k < 2 && !rc; k++) {
		struct sx_buf text = SX_BUF_INIT;

		if (!ids[k])
			continue;
		rc = download(b, ids[k], &text, err);
		if (rc) {
			sx_err_prefix(err, "batch %s", e->batch_id);
			if (rc == SX_ENET)
				sx_err_prefix(err, "%s", "its answers stay on the server until collected");
		}
		if (!rc)
			rc = take_lines(b, e, text.buf, text.len, keys, reqs, err);
		sx_buf_release(&text);
	}
	if (rc)
		return rc;
	batch_failure(info, e, why, sizeof(why));
	for (i = 0; i < n; i++)
		if (!reqs[i].answered && !reqs[i].reason)
			req_reason(&reqs[i], why);
	e->done = 1;
	return save(b, err);
}

/* The output file of a --batch-dir request file: NAME.jsonl -> NAME.output.jsonl. */
static void dir_output(const struct sx_batchapi *b, const struct sx_batch_entry *e, const char *kind,
		       struct sx_buf *out)
{
	size_t len = strlen(e->name);

	if (len > 6 && !strcmp(e->name + len - 6, ".jsonl"))
		len -= 6;
	sx_buf_addf(out, "%s/%.*s.%s.jsonl", b->cfg.dir, (int)len, e->name, kind);
}

/* --batch-dir: collect e when its output file is there; *pending when it is not. */
static int collect_dir(struct sx_batchapi *b, struct sx_batch_entry *e, struct sx_strmap *keys,
		       struct sx_batch_req *reqs, size_t n, int *pending, struct sx_err *err)
{
	static const char *const kinds[] = { "output", "errors" };
	struct sx_buf path = SX_BUF_INIT;
	size_t i;
	int k, rc = 0;

	dir_output(b, e, "output", &path);
	if (access(path.buf, F_OK)) {
		*pending = 1;
		sx_buf_release(&path);
		return 0;
	}
	for (k = 0; k < 2 && !rc; k++) {
		struct sx_buf text = SX_BUF_INIT;

		sx_buf_reset(&path);
		dir_output(b, e, kinds[k], &path);
		if (k && access(path.buf, F_OK))
			continue; /* the error file is optional (vLLM writes errors into the output) */
		rc = sx_file_read(path.buf, SX_BATCH_MAX_OUTPUT, &text, err);
		if (!rc)
			rc = take_lines(b, e, text.buf, text.len, keys, reqs, err);
		sx_buf_release(&text);
	}
	if (!rc) {
		char why[REASON_MAX];

		sx_buf_reset(&path);
		dir_output(b, e, "output", &path);
		snprintf(why, sizeof(why), "no answer in '%s'", path.buf);
		for (i = 0; i < n; i++)
			if (!reqs[i].answered && !reqs[i].reason)
				req_reason(&reqs[i], why);
		set_str(&e->status, "collected");
		e->done = 1;
		rc = save(b, err);
	}
	sx_buf_release(&path);
	return rc;
}

/*
 * An entry recorded before its upload or its creation came back (a killed
 * run): find what the server has under its name and file, so that nothing
 * is uploaded or created twice. 1 when the entry is to be forgotten (nothing
 * of it reached the server: its requests go out again).
 */
static int settle(struct sx_batchapi *b, struct sx_batch_entry *e, struct sx_err *err, int *rc)
{
	char *id = NULL;

	if (!e->file_id) {
		*rc = find_file(b, e->name, &id, err);
		if (*rc)
			return 0;
		if (!id)
			return 1;
		e->file_id = id;
		if ((*rc = save(b, err)))
			return 0;
	}
	if (!e->batch_id) {
		*rc = find_batch(b, e->file_id, &id, err);
		if (!*rc && !id)
			*rc = create_batch(b, e, &id, err);
		if (*rc)
			return 0;
		e->batch_id = id;
		set_str(&e->status, "validating");
		*rc = save(b, err);
	}
	return 0;
}

static void drop_entry(struct sx_batchapi *b, size_t i)
{
	entry_release(&b->st.v[i]);
	memmove(&b->st.v[i], &b->st.v[i + 1], (b->st.n - i - 1) * sizeof(b->st.v[0]));
	b->st.n--;
}

/*
 * Wait for the batches of stage that are not collected, and collect them.
 * *pending when some are not done and we are not to wait (no_wait, --batch-dir).
 */
static int collect_stage(struct sx_batchapi *b, const char *stage, struct sx_strmap *keys,
			 struct sx_batch_req *reqs, size_t n, int *pending, struct sx_err *err)
{
	double wait = b->cfg.poll_s;
	size_t i;
	int rc = 0;

	*pending = 0;
	for (i = 0; i < b->st.n && !rc;) {
		struct sx_batch_entry *e = &b->st.v[i];

		if (e->done || strcmp(e->stage, stage)) {
			i++;
			continue;
		}
		if (b->cfg.dir) {
			rc = collect_dir(b, e, keys, reqs, n, pending, err);
			i++;
			continue;
		}
		if (settle(b, e, err, &rc)) {
			drop_entry(b, i);
			rc = save(b, err);
			continue;
		}
		i++;
	}
	if (rc || b->cfg.dir)
		return rc;
	for (;;) {
		int waiting = 0;

		for (i = 0; i < b->st.n && !rc; i++) {
			struct sx_batch_entry *e = &b->st.v[i];
			struct sx_buf path = SX_BUF_INIT;
			struct sx_json *j = NULL;
			const char *status;

			if (e->done || strcmp(e->stage, stage))
				continue;
			sx_buf_addf(&path, "/batches/%s", e->batch_id);
			rc = api_get(b, path.buf, NULL, "polling a batch", &j, err);
			sx_buf_release(&path);
			if (rc)
				break;
			status = sx_json_get_str(j, "status");
			if (!status || !e->status || strcmp(status, e->status)) {
				set_str(&e->status, status ? status : "unknown");
				progress_line(b, e, j);
				rc = save(b, err);
			}
			if (!rc && terminal(e->status)) {
				set_str(&e->output_file_id, sx_json_get_str(j, "output_file_id"));
				set_str(&e->error_file_id, sx_json_get_str(j, "error_file_id"));
				rc = collect(b, e, j, keys, reqs, n, err);
			} else {
				waiting = 1;
			}
			sx_json_free(j);
		}
		if (rc || !waiting)
			return rc;
		if (b->cfg.no_wait) {
			*pending = 1;
			return 0;
		}
		nap(b, wait);
		if (stopped(b))
			return sx_err_set(err, SX_ELIMIT, "interrupted while waiting for batches; the "
					  "same command collects them");
		wait = wait * 1.5 < POLL_CAP_S ? wait * 1.5 : POLL_CAP_S;
	}
}

/* "elicit ep,pe" -> "elicit-ep-pe", for file names. */
static void name_part(const char *stage, struct sx_buf *out)
{
	const char *p;

	for (p = stage; *p; p++)
		sx_buf_addch(out, (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '-');
}

/* Record, write or upload and create one batch of the request lines in data. */
static int submit_one(struct sx_batchapi *b, const char *stage, long round, long nreq,
		      const struct sx_buf *data, struct sx_err *err)
{
	struct sx_buf name = SX_BUF_INIT, path = SX_BUF_INIT;
	struct sx_batch_entry *e;
	char *id = NULL;
	int rc;

	b->st.seq++;
	if (b->cfg.dir)
		sx_buf_addf(&name, "selfexp-%04ld-", b->st.seq);
	else
		sx_buf_addf(&name, "selfexp-%s-%04ld-", b->st.token, b->st.seq);
	name_part(stage, &name);
	sx_buf_adds(&name, ".jsonl");
	SX_GROW(b->st.v, b->st.alloc, b->st.n + 1);
	e = &b->st.v[b->st.n++];
	memset(e, 0, sizeof(*e));
	e->name = sx_buf_detach(&name, NULL);
	e->stage = xstrdup(stage);
	e->round = round;
	e->requests = nreq;
	e->status = xstrdup(b->cfg.dir ? "written" : "uploading");
	/* recorded before anything reaches the server: a restart finds it by its name */
	rc = save(b, err);
	if (rc)
		goto out;
	if (b->cfg.dir) {
		sx_buf_addf(&path, "%s/%s", b->cfg.dir, e->name);
		rc = sx_file_write_atomic(path.buf, data->buf, data->len, 0644, err);
		goto out;
	}
	rc = upload(b, e->name, data, &id, err);
	if (rc)
		goto out;
	e->file_id = id;
	set_str(&e->status, "uploaded");
	rc = save(b, err);
	if (rc)
		goto out;
	rc = create_batch(b, e, &id, err);
	if (rc)
		goto out;
	e->batch_id = id;
	set_str(&e->status, "validating");
	rc = save(b, err);
	if (!rc)
		fprintf(stderr, "selfexp: batch %s (%s, round %ld): %ld requests submitted\n",
			e->batch_id, stage, round, nreq);
out:
	sx_buf_release(&path);
	return rc;
}

/* Every request not answered yet, in batches within the API's limits. */
static int submit(struct sx_batchapi *b, struct sx_batch_req *reqs, size_t n, const char *stage,
		  long round, struct sx_err *err)
{
	struct sx_buf data = SX_BUF_INIT, line = SX_BUF_INIT;
	long lines = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		if (reqs[i].answered || reqs[i].final)
			continue;
		sx_buf_reset(&line);
		sx_batchapi_request_line(reqs[i].key, reqs[i].body, reqs[i].len, &line);
		if (lines && (lines + 1 > b->cfg.max_lines || data.len + line.len > b->cfg.max_bytes)) {
			rc = submit_one(b, stage, round, lines, &data, err);
			sx_buf_reset(&data);
			lines = 0;
		}
		sx_buf_add(&data, line.buf, line.len);
		lines++;
	}
	if (!rc && lines)
		rc = submit_one(b, stage, round, lines, &data, err);
	sx_buf_release(&data);
	sx_buf_release(&line);
	return rc;
}

static long last_round(const struct sx_batchapi *b, const char *stage)
{
	long r = 0;
	size_t i;

	for (i = 0; i < b->st.n; i++)
		if (!strcmp(b->st.v[i].stage, stage) && b->st.v[i].round > r)
			r = b->st.v[i].round;
	return r;
}

/* The message of a run that stops with batches pending. */
static int pending_message(const struct sx_batchapi *b, const char *stage, struct sx_err *err)
{
	struct sx_buf out = SX_BUF_INIT, path = SX_BUF_INIT;
	size_t i, k = 0;

	for (i = 0; i < b->st.n; i++) {
		const struct sx_batch_entry *e = &b->st.v[i];

		if (e->done || strcmp(e->stage, stage))
			continue;
		if (k++ < 3) {
			if (b->cfg.dir) {
				sx_buf_reset(&path);
				dir_output(b, e, "output", &path);
				sx_buf_addf(&out, "%s'%s/%s' -> '%s'", k > 1 ? ", " : "", b->cfg.dir,
					    e->name, path.buf);
			} else {
				sx_buf_addf(&out, "%s%s (%s)", k > 1 ? ", " : "", e->batch_id,
					    e->status ? e->status : "?");
			}
		}
	}
	if (k > 3)
		sx_buf_addf(&out, " and %zu more", k - 3);
	if (b->cfg.dir)
		sx_err_set(err, SX_EPENDING, "%s: %zu request file%s to answer: %s; answer them "
			   "(e.g. vllm run-batch -i IN -o OUT) and run the same command again",
			   stage, k, k == 1 ? "" : "s", out.buf ? out.buf : "");
	else
		sx_err_set(err, SX_EPENDING, "%s: %zu batch%s pending: %s; run the same command "
			   "again to collect %s", stage, k, k == 1 ? "" : "es", out.buf ? out.buf : "",
			   k == 1 ? "it" : "them");
	sx_buf_release(&out);
	sx_buf_release(&path);
	return SX_EPENDING;
}

int sx_batchapi_run(struct sx_batchapi *b, struct sx_batch_req *reqs, size_t n, const char *stage,
		    struct sx_err *err)
{
	struct sx_strmap keys = SX_STRMAP_INIT;
	size_t i, left;
	int rc = 0, pending;

	for (i = 0; i < n; i++) {
		size_t v = i;

		sx_strmap_put(&keys, reqs[i].key, strlen(reqs[i].key), &v);
	}
	for (;;) {
		long round;

		rc = collect_stage(b, stage, &keys, reqs, n, &pending, err);
		if (rc)
			break;
		if (pending) {
			rc = pending_message(b, stage, err);
			break;
		}
		for (i = 0, left = 0; i < n; i++)
			left += !reqs[i].answered && !reqs[i].final;
		if (!left)
			break;
		round = last_round(b, stage) + 1;
		if (round > (long)b->cfg.retries + 1) {
			/* the budget is spent: what is left is failed, with its last reason */
			for (i = 0; i < n; i++) {
				char why[REASON_MAX];

				if (reqs[i].answered || reqs[i].final)
					continue;
				snprintf(why, sizeof(why), "after %ld batch round%s: %s", round - 1,
					 round == 2 ? "" : "s",
					 reqs[i].reason ? reqs[i].reason : "no answer");
				req_reason(&reqs[i], why);
			}
			break;
		}
		if (stopped(b)) {
			rc = sx_err_set(err, SX_ELIMIT, "interrupted");
			break;
		}
		rc = submit(b, reqs, n, stage, round, err);
		if (rc)
			break;
	}
	sx_strmap_release(&keys);
	return rc;
}
