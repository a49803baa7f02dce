/*
 * The sim's Batch API: files and batches in memory (batches.h). One mutex
 * guards everything; a batch is answered, all of it, by the poll that finds
 * its delay over.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batches.h"
#include "selfexp/alloc.h"
#include "selfexp/batchapi.h"
#include "selfexp/hash.h"
#include "selfexp/json.h"

/* Files and batches one sim keeps at most (then the oldest content is dropped: 410). */
#define SIM_MAX_OBJECTS 100000

static const char *const bfault_names[SX_SIM_BFAULT_COUNT] = {
	"lines", "always", "expire", "fail", "cut"
};

int sx_sim_batch_faults_parse(const char *list, unsigned *mask, struct sx_err *err)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < SX_SIM_BFAULT_COUNT; k++)
			if (strlen(bfault_names[k]) == len && !strncmp(p, bfault_names[k], len))
				break;
		if (k == SX_SIM_BFAULT_COUNT)
			return sx_err_set(err, SX_EINPUT, "unknown batch fault '%.*s' (expected lines, "
					  "always, expire, fail or cut)", (int)len, p);
		*mask |= 1u << k;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

struct sim_file {
	char id[32];
	char *filename; /* owned */
	char *purpose;  /* owned */
	struct sx_buf data;
	long long created;
	int downloads;
};

struct sim_batch {
	char id[32];
	char input[32];
	char output[32], error[32]; /* "" when none */
	char *metadata;             /* owned; the request's metadata as JSON, or NULL */
	const char *status;         /* static */
	char *errors;               /* owned; the message of a failed batch */
	uint64_t created_ns;
	long long created, ended;
	long total, completed, failed;
	long seq;                   /* 0 for the first batch created */
};

struct sim_batches {
	struct sx_sim_config cfg;
	sim_answer_fn answer;
	void *ctx;
	pthread_mutex_t mu;
	struct sim_file *files;
	size_t nfiles, afiles;
	struct sim_batch *batches;
	size_t nbatches, abatches;
	long uploads, created, cancelled, downloads, cut, lines, lines_failed;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mix(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double unit_of(uint64_t x)
{
	return (double)(mix(x) >> 11) / 9007199254740992.0;
}

struct sim_batches *sim_batches_new(const struct sx_sim_config *cfg, sim_answer_fn answer,
				    void *ctx)
{
	struct sim_batches *b = xcalloc(1, sizeof(*b));

	b->cfg = *cfg;
	b->answer = answer;
	b->ctx = ctx;
	pthread_mutex_init(&b->mu, NULL);
	return b;
}

void sim_batches_free(struct sim_batches *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->nfiles; i++) {
		free(b->files[i].filename);
		free(b->files[i].purpose);
		sx_buf_release(&b->files[i].data);
	}
	for (i = 0; i < b->nbatches; i++) {
		free(b->batches[i].metadata);
		free(b->batches[i].errors);
	}
	free(b->files);
	free(b->batches);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

/* The path without "/v1" (both are served). */
static const char *strip_v1(const char *url)
{
	return !strncmp(url, "/v1/", 4) ? url + 3 : url;
}

int sim_batches_route(const char *url)
{
	const char *p = strip_v1(url);

	return !strcmp(p, "/files") || !strncmp(p, "/files/", 7) || !strcmp(p, "/batches") ||
	       !strncmp(p, "/batches/", 9);
}

/* ---- replies -------------------------------------------------------------- */

static void reply_error(struct sim_batches_reply *out, unsigned status, const char *code,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply_error(struct sim_batches_reply *out, unsigned status, const char *code,
			const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out->status = status;
	out->content_type = "application/json";
	sx_buf_adds(&out->body, "{\"error\":{\"message\":");
	sx_buf_add_json_str(&out->body, msg, strlen(msg));
	sx_buf_adds(&out->body, ",\"type\":\"invalid_request_error\",\"param\":null,\"code\":");
	sx_buf_add_json_str(&out->body, code, strlen(code));
	sx_buf_adds(&out->body, "}}");
}

static void file_json(const struct sim_file *f, struct sx_buf *out)
{
	sx_buf_addf(out, "{\"id\":\"%s\",\"object\":\"file\",\"bytes\":%zu,\"created_at\":%lld,"
			 "\"filename\":", f->id, f->data.len, f->created);
	sx_buf_add_json_str(out, f->filename, strlen(f->filename));
	sx_buf_adds(out, ",\"purpose\":");
	sx_buf_add_json_str(out, f->purpose, strlen(f->purpose));
	sx_buf_adds(out, ",\"status\":\"processed\"}");
}

static void opt_time(struct sx_buf *out, const char *key, long long t)
{
	if (t)
		sx_buf_addf(out, ",\"%s\":%lld", key, t);
	else
		sx_buf_addf(out, ",\"%s\":null", key);
}

static void opt_id(struct sx_buf *out, const char *key, const char *id)
{
	if (*id)
		sx_buf_addf(out, ",\"%s\":\"%s\"", key, id);
	else
		sx_buf_addf(out, ",\"%s\":null", key);
}

static void batch_json(const struct sim_batch *t, struct sx_buf *out)
{
	const char *st = t->status;

	sx_buf_addf(out, "{\"id\":\"%s\",\"object\":\"batch\",\"endpoint\":\"" SX_BATCH_ENDPOINT "\","
			 "\"errors\":", t->id);
	if (t->errors) {
		sx_buf_adds(out, "{\"object\":\"list\",\"data\":[{\"code\":\"invalid_request\","
				 "\"message\":");
		sx_buf_add_json_str(out, t->errors, strlen(t->errors));
		sx_buf_adds(out, ",\"param\":null,\"line\":null}]}");
	} else {
		sx_buf_adds(out, "null");
	}
	sx_buf_addf(out, ",\"input_file_id\":\"%s\",\"completion_window\":\"24h\",\"status\":\"%s\"",
		    t->input, st);
	opt_id(out, "output_file_id", t->output);
	opt_id(out, "error_file_id", t->error);
	sx_buf_addf(out, ",\"created_at\":%lld", t->created);
	opt_time(out, "in_progress_at", strcmp(st, "validating") && strcmp(st, "failed") ? t->created : 0);
	sx_buf_addf(out, ",\"expires_at\":%lld", t->created + 86400);
	opt_time(out, "finalizing_at", !strcmp(st, "completed") ? t->ended : 0);
	opt_time(out, "completed_at", !strcmp(st, "completed") ? t->ended : 0);
	opt_time(out, "failed_at", !strcmp(st, "failed") ? t->ended : 0);
	opt_time(out, "expired_at", !strcmp(st, "expired") ? t->ended : 0);
	opt_time(out, "cancelling_at", !strcmp(st, "cancelled") ? t->ended : 0);
	opt_time(out, "cancelled_at", !strcmp(st, "cancelled") ? t->ended : 0);
	sx_buf_addf(out, ",\"request_counts\":{\"total\":%ld,\"completed\":%ld,\"failed\":%ld},"
			 "\"metadata\":%s}", t->total, t->completed, t->failed,
		    t->metadata ? t->metadata : "null");
}

/* ---- files ---------------------------------------------------------------- */

static struct sim_file *find_file(struct sim_batches *b, const char *id, size_t len)
{
	size_t i;

	for (i = 0; i < b->nfiles; i++)
		if (strlen(b->files[i].id) == len && !memcmp(b->files[i].id, id, len))
			return &b->files[i];
	return NULL;
}

static struct sim_file *add_file(struct sim_batches *b, const char *name, const char *purpose)
{
	struct sim_file *f;

	SX_GROW(b->files, b->afiles, b->nfiles + 1);
	f = &b->files[b->nfiles];
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "file-sim%06zu", b->nfiles + 1);
	f->filename = xstrdup(name);
	f->purpose = xstrdup(purpose);
	f->data = (struct sx_buf)SX_BUF_INIT;
	f->created = (long long)time(NULL);
	b->nfiles++;
	return f;
}

/* The value of a multipart header parameter (name="file"), into out. */
static int header_param(const char *h, size_t hlen, const char *param, struct sx_buf *out)
{
	size_t plen = strlen(param), i;

	for (i = 0; i + plen + 2 <= hlen; i++) {
		if (strncasecmp(h + i, param, plen) || h[i + plen] != '=' ||
		    (i && h[i - 1] != ' ' && h[i - 1] != ';'))
			continue;
		i += plen + 1;
		if (h[i] == '"') {
			const char *end = memchr(h + i + 1, '"', hlen - i - 1);

			if (!end)
				return -1;
			sx_buf_add(out, h + i + 1, (size_t)(end - h - i - 1));
		} else {
			size_t n = 0;

			while (i + n < hlen && !strchr("; \r\n", h[i + n]))
				n++;
			sx_buf_add(out, h + i, n);
		}
		return 0;
	}
	return -1;
}

/*
 * POST /files: a multipart/form-data body with a "purpose" field and a
 * "file" part.
 */
static void upload(struct sim_batches *b, const char *ctype, const char *body, size_t len,
		   struct sim_batches_reply *out)
{
	struct sx_buf boundary = SX_BUF_INIT, purpose = SX_BUF_INIT, fname = SX_BUF_INIT;
	struct sx_buf delim = SX_BUF_INIT;
	const char *p, *end = body + len, *file = NULL;
	size_t flen = 0;

	if (!ctype || strncasecmp(ctype, "multipart/form-data", 19) ||
	    header_param(ctype, strlen(ctype), "boundary", &boundary) || !boundary.len) {
		reply_error(out, 400, "invalid_request", "POST /v1/files takes multipart/form-data "
			    "with a boundary (got '%s')", ctype ? ctype : "");
		goto out;
	}
	sx_buf_addf(&delim, "--%s", boundary.buf);
	p = memmem(body, len, delim.buf, delim.len);
	while (p) {
		const char *hdr = p + delim.len, *hend, *next;
		struct sx_buf name = SX_BUF_INIT;

		if (hdr + 2 <= end && !memcmp(hdr, "--", 2))
			break;
		hend = memmem(hdr, (size_t)(end - hdr), "\r\n\r\n", 4);
		if (!hend)
			break;
		next = memmem(hend + 4, (size_t)(end - hend - 4), delim.buf, delim.len);
		if (!next)
			break;
		header_param(hdr, (size_t)(hend - hdr), "name", &name);
		if (name.len && !strcmp(name.buf, "purpose")) {
			sx_buf_reset(&purpose);
			sx_buf_add(&purpose, hend + 4, (size_t)(next - hend - 4 - 2));
		} else if (name.len && !strcmp(name.buf, "file")) {
			sx_buf_reset(&fname);
			header_param(hdr, (size_t)(hend - hdr), "filename", &fname);
			file = hend + 4;
			flen = (size_t)(next - file - 2); /* the CRLF before the delimiter */
		}
		sx_buf_release(&name);
		p = next;
	}
	if (!file || !purpose.len) {
		reply_error(out, 400, "invalid_request", "POST /v1/files needs the fields 'purpose' "
			    "and 'file'");
		goto out;
	}
	if (strcmp(purpose.buf, "batch")) {
		reply_error(out, 400, "invalid_request", "purpose '%s' is not served (only 'batch')",
			    purpose.buf);
		goto out;
	}
	pthread_mutex_lock(&b->mu);
	if (b->nfiles >= SIM_MAX_OBJECTS) {
		pthread_mutex_unlock(&b->mu);
		reply_error(out, 429, "too_many_files", "the sim keeps at most %d files",
			    SIM_MAX_OBJECTS);
		goto out;
	}
	{
		struct sim_file *f = add_file(b, fname.len ? fname.buf : "upload.jsonl", "batch");

		sx_buf_add(&f->data, file, flen);
		b->uploads++;
		out->status = 200;
		out->content_type = "application/json";
		file_json(f, &out->body);
	}
	pthread_mutex_unlock(&b->mu);
out:
	sx_buf_release(&boundary);
	sx_buf_release(&purpose);
	sx_buf_release(&fname);
	sx_buf_release(&delim);
}

/* ---- batches -------------------------------------------------------------- */

static struct sim_batch *find_batch(struct sim_batches *b, const char *id, size_t len)
{
	size_t i;

	for (i = 0; i < b->nbatches; i++)
		if (strlen(b->batches[i].id) == len && !memcmp(b->batches[i].id, id, len))
			return &b->batches[i];
	return NULL;
}

static void create(struct sim_batches *b, const char *body, size_t len,
		   struct sim_batches_reply *out)
{
	struct sx_json *j = sx_json_parse(body, len, NULL);
	const char *in = sx_json_get_str(j, "input_file_id"), *ep = sx_json_get_str(j, "endpoint");
	const char *win = sx_json_get_str(j, "completion_window");
	const struct sx_json *meta = sx_json_get(j, "metadata");
	struct sim_file *f;
	struct sim_batch *t;

	if (!j || !in || !ep || !win) {
		reply_error(out, 400, "invalid_request", "POST /v1/batches needs input_file_id, "
			    "endpoint and completion_window");
		goto out;
	}
	if (strcmp(ep, SX_BATCH_ENDPOINT) || strcmp(win, "24h")) {
		reply_error(out, 400, "invalid_request", "endpoint '%s' / completion_window '%s' not "
			    "served (" SX_BATCH_ENDPOINT ", 24h)", ep, win);
		goto out;
	}
	pthread_mutex_lock(&b->mu);
	f = find_file(b, in, strlen(in));
	if (!f || b->nbatches >= SIM_MAX_OBJECTS) {
		pthread_mutex_unlock(&b->mu);
		reply_error(out, 404, "not_found", "no file '%s'", in);
		goto out;
	}
	SX_GROW(b->batches, b->abatches, b->nbatches + 1);
	t = &b->batches[b->nbatches];
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "batch_sim%06zu", b->nbatches + 1);
	snprintf(t->input, sizeof(t->input), "%s", f->id);
	t->metadata = meta && sx_json_type_of(meta) == SX_JSON_OBJECT ? sx_json_print(meta, 0) : NULL;
	t->status = "validating";
	t->created_ns = mono_ns();
	t->created = (long long)time(NULL);
	t->seq = (long)b->nbatches;
	{
		const char *p = f->data.buf, *e = p + f->data.len;

		while (p && p < e) {
			const char *nl = memchr(p, '\n', (size_t)(e - p));

			if ((nl ? nl : e) > p)
				t->total++;
			p = nl ? nl + 1 : e;
		}
	}
	b->nbatches++;
	b->created++;
	out->status = 200;
	out->content_type = "application/json";
	batch_json(t, &out->body);
	pthread_mutex_unlock(&b->mu);
out:
	sx_json_free(j);
}

static int has_fault(const struct sim_batches *b, enum sx_sim_batch_fault f)
{
	return (b->cfg.batch_faults >> f) & 1u;
}

/* Answer every line of batch t (its delay is over): output and error files, final status. */
static void run_batch(struct sim_batches *b, struct sim_batch *t)
{
	struct sim_file *in = find_file(b, t->input, strlen(t->input));
	struct sx_buf outd = SX_BUF_INIT, errd = SX_BUF_INIT, ans = SX_BUF_INIT;
	const char *p, *e;
	long idx = 0, half;
	/* with both faults, the first batch fails and the second expires */
	int expire = has_fault(b, SX_SIM_BFAULT_EXPIRE) &&
		     t->seq == (has_fault(b, SX_SIM_BFAULT_FAIL) ? 1 : 0);

	t->ended = (long long)time(NULL);
	if (!in || (has_fault(b, SX_SIM_BFAULT_FAIL) && t->seq == 0)) {
		t->status = "failed";
		t->errors = xstrdup(in ? "simulated fault: the batch failed validation"
				       : "the input file is gone");
		return;
	}
	half = t->total / 2;
	p = in->data.buf;
	e = p + in->data.len;
	while (p && p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t llen = (size_t)((nl ? nl : e) - p);
		struct sx_batch_request rq;
		struct sx_err err = SX_ERR_INIT;
		char rid[48];

		if (!llen) {
			p = nl ? nl + 1 : e;
			continue;
		}
		snprintf(rid, sizeof(rid), "batch_req_%s_%ld", t->id + 6, idx);
		b->lines++;
		if (sx_batchapi_parse_request(p, llen, &rq, &err)) {
			char msg[SX_ERR_MSG_MAX + 32];

			snprintf(msg, sizeof(msg), "line %ld: %s", idx + 1, err.msg);
			sx_batchapi_output_line(rid, "unknown", 0, NULL, 0, "invalid_request", msg, &errd);
			t->failed++;
		} else if (expire && idx >= half) {
			sx_batchapi_output_line(rid, rq.custom_id, 0, NULL, 0, "batch_expired",
						"This request could not be executed before the "
						"completion window expired.", &errd);
			t->failed++;
		} else {
			uint64_t h = sx_hash64(rq.custom_id, strlen(rq.custom_id));
			int fail = (has_fault(b, SX_SIM_BFAULT_ALWAYS) &&
				    unit_of(h ^ b->cfg.seed) < b->cfg.batch_fail_rate) ||
				   (has_fault(b, SX_SIM_BFAULT_LINES) &&
				    unit_of(h ^ mix((uint64_t)t->seq + 77)) < b->cfg.batch_fail_rate);
			unsigned status;

			sx_buf_reset(&ans);
			if (fail) {
				status = 500;
				sx_buf_adds(&ans, "{\"error\":{\"message\":\"simulated fault: the line "
						  "failed\",\"type\":\"server_error\",\"param\":null,"
						  "\"code\":\"internal_error\"}}");
			} else {
				status = b->answer(b->ctx, rq.body, rq.len, &ans);
			}
			if (status == 200) {
				sx_batchapi_output_line(rid, rq.custom_id, 200, ans.buf, ans.len, NULL,
							NULL, &outd);
				t->completed++;
			} else {
				sx_batchapi_output_line(rid, rq.custom_id, status, ans.buf, ans.len, NULL,
							NULL, &errd);
				t->failed++;
			}
		}
		sx_batch_request_release(&rq);
		idx++;
		p = nl ? nl + 1 : e;
	}
	b->lines_failed += t->failed;
	/* find_file's pointer is not used after add_file (which may move the array) */
	if (outd.len) {
		struct sim_file *f = add_file(b, "batch_output.jsonl", "batch_output");

		f->data = outd;
		outd = (struct sx_buf)SX_BUF_INIT;
		snprintf(t->output, sizeof(t->output), "%s", f->id);
	}
	if (errd.len) {
		struct sim_file *f = add_file(b, "batch_errors.jsonl", "batch_output");

		f->data = errd;
		errd = (struct sx_buf)SX_BUF_INIT;
		snprintf(t->error, sizeof(t->error), "%s", f->id);
	}
	t->status = expire ? "expired" : "completed";
	sx_buf_release(&outd);
	sx_buf_release(&errd);
	sx_buf_release(&ans);
}

/* The status of t now: validating, in_progress, or (its delay over) answered. */
static void advance(struct sim_batches *b, struct sim_batch *t)
{
	double el_ms = (double)(mono_ns() - t->created_ns) / 1e6;

	if (strcmp(t->status, "validating") && strcmp(t->status, "in_progress"))
		return;
	if (el_ms >= b->cfg.batch_delay_ms)
		run_batch(b, t);
	else if (el_ms >= b->cfg.batch_delay_ms / 2)
		t->status = "in_progress";
}

/* ---- routing -------------------------------------------------------------- */

static int is(const char *method, const char *m)
{
	return !strcmp(method, m);
}

void sim_batches_handle(struct sim_batches *b, const char *method, const char *url,
			const char *query_purpose, long query_limit, const char *query_after,
			const char *content_type, const char *body, size_t len,
			struct sim_batches_reply *out)
{
	const char *p = strip_v1(url);
	size_t i;

	out->status = 0;
	out->cut = 0;
	out->content_type = "application/json";
	if (!strcmp(p, "/files")) {
		if (is(method, "POST")) {
			upload(b, content_type, body, len, out);
			return;
		}
		if (is(method, "GET")) {
			const char *sep = "";
			long n = 0, limit = query_limit > 0 ? query_limit : 10000;
			size_t from = b->nfiles;
			int more = 0;

			pthread_mutex_lock(&b->mu);
			if (query_after) /* the page after the file named: those older than it */
				for (i = 0; i < b->nfiles; i++)
					if (!strcmp(b->files[i].id, query_after))
						from = i;
			sx_buf_adds(&out->body, "{\"object\":\"list\",\"data\":[");
			for (i = from; i-- > 0;) {
				if (query_purpose && strcmp(query_purpose, b->files[i].purpose))
					continue;
				if (n == limit) {
					more = 1;
					break;
				}
				sx_buf_adds(&out->body, sep);
				file_json(&b->files[i], &out->body);
				sep = ",";
				n++;
			}
			sx_buf_addf(&out->body, "],\"has_more\":%s}", more ? "true" : "false");
			pthread_mutex_unlock(&b->mu);
			out->status = 200;
			return;
		}
	} else if (!strncmp(p, "/files/", 7)) {
		const char *id = p + 7, *slash = strchr(id, '/');
		size_t idlen = slash ? (size_t)(slash - id) : strlen(id);

		if (is(method, "GET")) {
			struct sim_file *f;

			pthread_mutex_lock(&b->mu);
			f = find_file(b, id, idlen);
			if (!f) {
				pthread_mutex_unlock(&b->mu);
				reply_error(out, 404, "not_found", "no file '%.*s'", (int)idlen, id);
				return;
			}
			if (slash && !strcmp(slash, "/content")) {
				sx_buf_add(&out->body, f->data.buf, f->data.len);
				out->content_type = "application/jsonl";
				b->downloads++;
				if (has_fault(b, SX_SIM_BFAULT_CUT) && !f->downloads++ &&
				    !strcmp(f->purpose, "batch_output") && f->data.len > 1) {
					out->cut = f->data.len / 2;
					b->cut++;
				}
			} else if (!slash) {
				file_json(f, &out->body);
			} else {
				pthread_mutex_unlock(&b->mu);
				reply_error(out, 404, "not_found", "unknown path '%s'", url);
				return;
			}
			pthread_mutex_unlock(&b->mu);
			out->status = 200;
			return;
		}
	} else if (!strcmp(p, "/batches")) {
		if (is(method, "POST")) {
			create(b, body, len, out);
			return;
		}
		if (is(method, "GET")) {
			const char *sep = "";
			long n = 0, limit = query_limit > 0 ? query_limit : 20;
			size_t from = b->nbatches;

			pthread_mutex_lock(&b->mu);
			if (query_after) /* the page after the batch named: those older than it */
				for (i = 0; i < b->nbatches; i++)
					if (!strcmp(b->batches[i].id, query_after))
						from = i;
			sx_buf_adds(&out->body, "{\"object\":\"list\",\"data\":[");
			for (i = from; i > 0 && n < limit; n++) {
				i--;
				sx_buf_adds(&out->body, sep);
				batch_json(&b->batches[i], &out->body);
				sep = ",";
			}
			sx_buf_addf(&out->body, "],\"has_more\":%s}", i > 0 ? "true" : "false");
			pthread_mutex_unlock(&b->mu);
			out->status = 200;
			return;
		}
	} else if (!strncmp(p, "/batches/", 9)) {
		const char *id = p + 9, *slash = strchr(id, '/');
		size_t idlen = slash ? (size_t)(slash - id) : strlen(id);
		struct sim_batch *t;
		int cancel = slash && !strcmp(slash, "/cancel");

		if ((is(method, "GET") && !slash) || (is(method, "POST") && cancel)) {
			pthread_mutex_lock(&b->mu);
			t = find_batch(b, id, idlen);
			if (!t) {
				pthread_mutex_unlock(&b->mu);
				reply_error(out, 404, "not_found", "no batch '%.*s'", (int)idlen, id);
				return;
			}
			advance(b, t);
			if (cancel && (!strcmp(t->status, "validating") ||
				       !strcmp(t->status, "in_progress"))) {
				t->status = "cancelled";
				t->ended = (long long)time(NULL);
				b->cancelled++;
			}
			batch_json(t, &out->body);
			pthread_mutex_unlock(&b->mu);
			out->status = 200;
			return;
		}
	} else {
		reply_error(out, 404, "not_found", "unknown path '%s'", url);
		return;
	}
	reply_error(out, 405, "method_not_allowed", "method %s not allowed for '%s'", method, url);
}

void sim_batches_stats(struct sim_batches *b, struct sx_buf *out)
{
	pthread_mutex_lock(&b->mu);
	sx_buf_addf(out, ",\"batches\":{\"files_uploaded\":%ld,\"batches_created\":%ld,"
			 "\"batches_cancelled\":%ld,\"downloads\":%ld,\"downloads_cut\":%ld,"
			 "\"lines\":%ld,\"lines_failed\":%ld}",
		    b->uploads, b->created, b->cancelled, b->downloads, b->cut, b->lines,
		    b->lines_failed);
	pthread_mutex_unlock(&b->mu);
}
