#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/parse.h"
#include "selfexp/registry.h"
#include "selfexp/rundir.h"
#include "selfexp/version.h"

static struct sx_json *load_json(const char *dir, const char *name, struct sx_err *err)
{
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	struct sx_json *j = NULL;

	sx_buf_addf(&path, "%s/%s", dir, name);
	if (sx_file_read(path.buf, SX_RUNDIR_JSON_MAX, &text, err))
		goto out;
	j = sx_json_parse(text.buf, text.len, err);
	if (!j)
		sx_err_prefix(err, "'%s'", path.buf);
	else if (sx_json_type_of(j) != SX_JSON_OBJECT) {
		sx_err_set(err, SX_EINPUT, "'%s' is not a JSON object", path.buf);
		sx_json_free(j);
		j = NULL;
	}
out:
	sx_buf_release(&path);
	sx_buf_release(&text);
	return j;
}

static void key_of(struct sx_buf *k, const char *id, const char *cond, const char *method)
{
	/* length-prefixed, so that no id, condition or method can run into the next */
	sx_buf_reset(k);
	sx_buf_addf(k, "%zu:%s%zu:%s%zu:%s", strlen(id), id, strlen(cond), cond, strlen(method),
		    method);
}

static int load_records(struct sx_rundir *rd, struct sx_err *err)
{
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT, key = SX_BUF_INIT;
	size_t alloc = 0, lineno = 0, value;
	const char *p, *end, *nl;
	int rc;

	sx_buf_addf(&path, "%s/" SX_RUNDIR_RECORDS_JSONL, rd->dir);
	rc = sx_file_read(path.buf, SX_RUNDIR_RECORDS_MAX, &text, err);
	if (rc)
		goto out;
	p = text.buf;
	end = text.buf + text.len;
	for (; p < end; p = nl + 1) {
		struct sx_json *j;
		const char *id, *cond, *method;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		lineno++;
		if (nl == p)
			continue;
		j = sx_json_parse(p, (size_t)(nl - p), err);
		if (!j) {
			sx_err_prefix(err, "'%s' line %zu", path.buf, lineno);
			rc = SX_EINPUT;
			goto out;
		}
		id = sx_json_get_str(j, "id");
		cond = sx_json_get_str(j, "condition");
		method = sx_json_get_str(j, "method");
		if (!id || !cond || !method) {
			sx_json_free(j);
			rc = sx_err_set(err, SX_EINPUT,
					"'%s' line %zu: a record needs id, condition and method",
					path.buf, lineno);
			goto out;
		}
		SX_GROW(rd->records, alloc, rd->nrecords + 1);
		value = rd->nrecords;
		rd->records[rd->nrecords++] = j;
		key_of(&key, id, cond, method);
		if (sx_strmap_put(&rd->index, key.buf, key.len, &value)) {
			rc = sx_err_set(err, SX_EINPUT, "'%s' line %zu: duplicate record ('%s', '%s', '%s')",
					path.buf, lineno, id, cond, method);
			goto out;
		}
	}
out:
	sx_buf_release(&path);
	sx_buf_release(&text);
	sx_buf_release(&key);
	return rc;
}

/* major * 1e6 + minor * 1e3 + patch of "X.Y.Z", -1 when it is not one */
long sx_rundir_version_number(const char *v)
{
	unsigned long x, y, z;
	int n = 0;

	if (!v || sscanf(v, "%lu.%lu.%lu%n", &x, &y, &z, &n) != 3 || n <= 0 || x > 999 || y > 999 ||
	    z > 999)
		return -1;
	return (long)(x * 1000000 + y * 1000 + z);
}

/*
 * A run written by a newer major or minor version may hold what this one
 * cannot read correctly: refused, naming both versions.
 */
static int check_version(const struct sx_rundir *rd, struct sx_err *err)
{
	const char *v = sx_json_get_str(rd->run, "selfexp_version");
	long theirs = sx_rundir_version_number(v), ours = sx_rundir_version_number(SX_VERSION);

	if (theirs < 0 || theirs / 1000 <= ours / 1000)
		return 0;
	return sx_err_set(err, SX_EINPUT,
			  "'%s' was written by selfexp %s, newer than this selfexp " SX_VERSION
			  "; read it with selfexp %s or later",
			  rd->dir, v, v);
}

int sx_rundir_load(struct sx_rundir *rd, const char *dir, unsigned parts, struct sx_err *err)
{
	struct sx_rundir z = SX_RUNDIR_INIT;
	int rc = SX_EINPUT;

	*rd = z;
	rd->dir = xstrdup(dir);
	rd->run = load_json(dir, SX_RUNDIR_RUN_JSON, err);
	if (!rd->run) {
		sx_err_prefix(err, "'%s' is not a run directory", dir);
		goto fail;
	}
	if (parts && check_version(rd, err))
		goto fail;
	if (parts & SX_RUNDIR_SUMMARY) {
		rd->summary = load_json(dir, SX_RUNDIR_SUMMARY_JSON, err);
		if (!rd->summary)
			goto fail;
	}
	if (parts & SX_RUNDIR_RECORDS) {
		rc = load_records(rd, err);
		if (rc)
			goto fail;
		if (!rd->nrecords) {
			rc = sx_err_set(err, SX_EINPUT,
					"'%s/" SX_RUNDIR_RECORDS_JSONL "' holds no records; rebuild it "
					"with 'selfexp score %s'", dir, dir);
			goto fail;
		}
	}
	return 0;
fail:
	sx_rundir_release(rd);
	return rc < 0 ? rc : SX_EINPUT;
}

void sx_rundir_release(struct sx_rundir *rd)
{
	size_t i;

	for (i = 0; i < rd->nrecords; i++)
		sx_json_free(rd->records[i]);
	free(rd->records);
	sx_json_free(rd->run);
	sx_json_free(rd->summary);
	sx_strmap_release(&rd->index);
	free(rd->dir);
	rd->records = NULL;
	rd->nrecords = 0;
	rd->run = rd->summary = NULL;
	rd->dir = NULL;
}

const struct sx_json *sx_rundir_record(const struct sx_rundir *rd, const char *id,
				       const char *condition, const char *method)
{
	struct sx_buf key = SX_BUF_INIT;
	size_t v;
	int found;

	key_of(&key, id, condition, method);
	found = sx_strmap_get(&rd->index, key.buf, key.len, &v);
	sx_buf_release(&key);
	return found ? rd->records[v] : NULL;
}

const struct sx_json *sx_rundir_answer_record(const struct sx_rundir *rd, const char *id,
					      const char *condition)
{
	enum sx_cond c;
	int i;

	/* a known condition's own record is named by the registry; else try every name */
	if (!sx_cond_from_name(condition, &c))
		return sx_rundir_record(rd, id, condition, sx_method_record_name(SX_METHOD_SELF, c));
	for (i = 0; i < SX_COND_COUNT; i++) {
		const struct sx_json *r = sx_rundir_record(
			rd, id, condition, sx_method_record_name(SX_METHOD_SELF, (enum sx_cond)i));
		if (r)
			return r;
	}
	return NULL;
}

size_t sx_rundir_file_methods(const struct sx_json *summary, const char **out, size_t max)
{
	const struct sx_json *c, *m;
	size_t n = 0, i;

	for (c = sx_json_child(sx_json_get(summary, "conditions")); c; c = sx_json_next(c))
		for (m = sx_json_child(sx_json_get(c, "methods")); m; m = sx_json_next(m)) {
			const char *name = sx_json_key(m);
			int seen = sx_method_name_builtin(name);

			for (i = 0; i < n && !seen; i++)
				seen = !strcmp(out[i], name);
			if (!seen && n < max)
				out[n++] = name;
		}
	return n;
}

const char *sx_rundir_condition_label(const char *condition)
{
	static const char *const names[][2] = {
		{ "ep", "E-P" }, { "pe", "P-E" }, { "ep-topk", "E-P top-k" },
		{ "pe-topk", "P-E top-k" }, { "pred", "prediction only" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(condition, names[i][0]))
			return names[i][1];
	return condition;
}

int sx_rundir_run_complete(const struct sx_json *run)
{
	int complete;

	if (sx_json_bool(sx_json_get(run, "complete"), &complete))
		return -1;
	return complete ? 1 : 0;
}

int sx_rundir_status_usable_prediction(const char *status)
{
	enum sx_parse_status s;

	return status && !sx_parse_status_from_name(status, &s) &&
	       sx_parse_status_usable_prediction(s);
}

/* ---------------------------------------------------------------- writing */

/* records.jsonl goes to its file in pieces of about this size, not held whole. */
#define RECORDS_FLUSH_BYTES 65536

int sx_rundir_writer_open(struct sx_rundir_writer *w, const char *dir, struct sx_err *err)
{
	struct sx_buf path = SX_BUF_INIT;
	int rc;

	w->dir = xstrdup(dir);
	w->fd = -1;
	sx_buf_addf(&path, "%s/" SX_RUNDIR_RECORDS_JSONL, dir);
	w->records_path = sx_buf_detach(&path, NULL);
	rc = sx_mkdir_p(dir, 0700, err);
	if (!rc) {
		/* what a killed earlier run left half-written */
		sx_file_clean_stale(dir);
		rc = sx_file_stage_open(w->records_path, 0600, &w->fd, err);
	}
	return rc;
}

static void flush_records(struct sx_rundir_writer *w)
{
	sx_file_stage_write(w->fd, w->pending.buf, w->pending.len, &w->error);
	sx_buf_reset(&w->pending);
}

void sx_rundir_writer_record(struct sx_rundir_writer *w, struct sx_json *rec)
{
	char *s = sx_json_print(rec, 0);

	sx_buf_adds(&w->pending, s);
	sx_buf_addch(&w->pending, '\n');
	free(s);
	sx_json_free(rec);
	if (w->pending.len >= RECORDS_FLUSH_BYTES)
		flush_records(w);
}

/* Stage dir/name with the pretty-printed JSON j and a final newline. */
static int stage_json(const char *dir, const char *name, const struct sx_json *j,
		      struct sx_err *err)
{
	struct sx_buf path = SX_BUF_INIT;
	char *s = sx_json_print(j, 1);
	size_t len = strlen(s);
	int rc;

	s = xrealloc(s, len + 2);
	s[len++] = '\n';
	s[len] = '\0';
	sx_buf_addf(&path, "%s/%s", dir, name);
	rc = sx_file_stage(path.buf, s, len, 0600, err);
	sx_buf_release(&path);
	free(s);
	return rc;
}

int sx_rundir_writer_commit(struct sx_rundir_writer *w, const struct sx_json *summary,
			    const struct sx_json *run, struct sx_err *err)
{
	int rc;

	flush_records(w);
	rc = sx_file_stage_close(w->fd, w->error, w->records_path, err);
	w->fd = -1;
	if (!rc)
		rc = stage_json(w->dir, SX_RUNDIR_SUMMARY_JSON, summary, err);
	/* run.json last: its presence with complete=true marks a finished run */
	if (!rc && run)
		rc = stage_json(w->dir, SX_RUNDIR_RUN_JSON, run, err);
	if (!rc)
		rc = sx_file_commit_staged(err);
	else
		sx_file_abort_staged();
	return rc;
}

void sx_rundir_writer_release(struct sx_rundir_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	/* not committed: drop what was staged (after a commit nothing is) */
	sx_file_abort_staged();
	free(w->dir);
	free(w->records_path);
	sx_buf_release(&w->pending);
	w->dir = w->records_path = NULL;
	w->fd = -1;
}

static int is_data_file_name(const char *path)
{
	static const char *const data[] = { SX_RUNDIR_RUN_JSON, SX_RUNDIR_SUMMARY_JSON,
					    SX_RUNDIR_RECORDS_JSONL, "misses.jsonl",
					    "ledger.jsonl" };
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	struct sx_buf run = SX_BUF_INIT;
	size_t i;
	int found = 0;

	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		found |= !strcmp(base, data[i]);
	if (!found)
		return 0;
	if (slash)
		sx_buf_addf(&run, "%.*s/" SX_RUNDIR_RUN_JSON, (int)(slash - path), path);
	else
		sx_buf_adds(&run, SX_RUNDIR_RUN_JSON);
	found = !access(run.buf, F_OK);
	sx_buf_release(&run);
	return found;
}

int sx_rundir_is_data_file(const char *path)
{
	/*
	 * by its name, and by what it names: a link to summary.json is
	 * summary.json, also a dangling one (to a misses.jsonl not there now)
	 */
	char *real = realpath(path, NULL);
	int found;

	if (!real)
		real = sx_file_link_target(path);
	found = is_data_file_name(path) || (real && is_data_file_name(real));

	free(real);
	return found;
}
