#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "selfexp/batchapi.h"
#include "selfexp/file.h"
#include "selfexp/json.h"

#define TMPDIR_NAME "test_batchapi"
#include "tmpdir.h"

static const char KEY[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* ---- request lines ---- */

static void test_request_roundtrip(void **state)
{
	/* braces, quotes and a "body" key inside strings and nested objects */
	static const char body[] =
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a \\\"body\\\": {x} ]\"}],"
		"\"body\":{\"nested\":[1,{\"}\":\"{\"}]},\"temperature\":0}";
	struct sx_buf line = SX_BUF_INIT;
	struct sx_batch_request rq;
	struct sx_json *j;

	(void)state;
	sx_batchapi_request_line(KEY, body, strlen(body), &line);
	assert_true(line.len > 0 && line.buf[line.len - 1] == '\n');
	assert_null(memchr(line.buf, '\n', line.len - 1));
	j = sx_json_parse(line.buf, line.len, NULL);
	assert_non_null(j);
	assert_string_equal(sx_json_get_str(j, "method"), "POST");
	assert_string_equal(sx_json_get_str(j, "url"), "/v1/chat/completions");
	assert_string_equal(sx_json_get_str(j, "custom_id"), KEY);
	sx_json_free(j);
	assert_int_equal(sx_batchapi_parse_request(line.buf, line.len - 1, &rq, NULL), 0);
	assert_string_equal(rq.custom_id, KEY);
	/* the body's bytes exactly as written */
	assert_int_equal(rq.len, strlen(body));
	assert_memory_equal(rq.body, body, rq.len);
	sx_batch_request_release(&rq);
	sx_buf_release(&line);
}

static void test_request_other_writers(void **state)
{
	/* white space and another member order, as other tools write it */
	static const char line[] =
		"{ \"url\" : \"/v1/chat/completions\" ,\n \"body\" : {\"a\": [1, {\"b\": \"}\\\\\"}]} , "
		"\"custom_id\":\"k1\", \"method\": \"POST\" }";
	struct sx_batch_request rq;

	(void)state;
	assert_int_equal(sx_batchapi_parse_request(line, strlen(line), &rq, NULL), 0);
	assert_string_equal(rq.custom_id, "k1");
	assert_int_equal(rq.len, strlen("{\"a\": [1, {\"b\": \"}\\\\\"}]}"));
	assert_memory_equal(rq.body, "{\"a\": [1, {\"b\": \"}\\\\\"}]}", rq.len);
	sx_batch_request_release(&rq);
}

static void test_request_refused(void **state)
{
	static const char *const bad[] = {
		"not json",
		"{\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}",
		"{\"custom_id\":\"\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}",
		"{\"custom_id\":\"k\",\"method\":\"GET\",\"url\":\"/v1/chat/completions\",\"body\":{}}",
		"{\"custom_id\":\"k\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{}}",
		"{\"custom_id\":\"k\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":[1]}",
		"{\"custom_id\":\"k\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\"}",
	};
	static const char *const msgs[] = {
		NULL, "no custom_id", "no custom_id", "method 'GET' is not POST",
		"url '/v1/embeddings' is not /v1/chat/completions", "body is not a JSON object",
		"body is not a JSON object",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sx_batch_request rq;
		struct sx_err err = SX_ERR_INIT;

		assert_int_equal(sx_batchapi_parse_request(bad[i], strlen(bad[i]), &rq, &err), SX_EINPUT);
		assert_null(rq.custom_id);
		if (msgs[i])
			assert_string_equal(err.msg, msgs[i]);
	}
}

/* ---- output lines ---- */

static void test_output_ok(void **state)
{
	static const char body[] = "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"(1, 0.9)\"}}]}";
	struct sx_buf out = SX_BUF_INIT;
	struct sx_batch_line l;
	struct sx_json *a, *b;

	(void)state;
	sx_batchapi_output_line("batch_req_1", KEY, 200, body, strlen(body), NULL, NULL, &out);
	assert_int_equal(sx_batchapi_parse_output(out.buf, out.len - 1, &l, NULL), 0);
	assert_string_equal(l.custom_id, KEY);
	assert_true(l.ok);
	assert_int_equal(l.status, 200);
	assert_null(l.reason);
	a = sx_json_parse(body, strlen(body), NULL);
	b = sx_json_parse(l.body, l.len, NULL);
	{
		const struct sx_json *msg = sx_json_get(sx_json_at(sx_json_get(b, "choices"), 0), "message");

		assert_string_equal(sx_json_get_str(msg, "content"), "(1, 0.9)");
		assert_string_equal(sx_json_get_str(a, "id"), sx_json_get_str(b, "id"));
	}
	sx_json_free(a);
	sx_json_free(b);
	sx_batch_line_release(&l);
	sx_buf_release(&out);
}

static void test_output_failed(void **state)
{
	struct sx_buf out = SX_BUF_INIT;
	struct sx_batch_line l;
	static const char e500[] = "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}";
	static const char nothing[] = "{\"id\":\"r\",\"custom_id\":\"k\",\"response\":null,\"error\":null}";
	static const char no_id[] = "{\"id\":\"r\",\"response\":{\"status_code\":200,\"body\":{}}}";
	static const char odd_body[] = "{\"custom_id\":\"k\",\"response\":{\"status_code\":200,\"body\":\"text\"}}";
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	sx_batchapi_output_line("r", "k", 0, NULL, 0, "batch_expired", "too late", &out);
	assert_int_equal(sx_batchapi_parse_output(out.buf, out.len, &l, NULL), 0);
	assert_false(l.ok);
	assert_int_equal(l.status, 0);
	assert_string_equal(l.reason, "batch line failed: batch_expired: too late");
	sx_batch_line_release(&l);
	sx_buf_reset(&out);

	sx_batchapi_output_line("r", "k", 500, e500, strlen(e500), NULL, NULL, &out);
	assert_int_equal(sx_batchapi_parse_output(out.buf, out.len, &l, NULL), 0);
	assert_false(l.ok);
	assert_int_equal(l.status, 500);
	assert_string_equal(l.reason, "http 500: boom");
	assert_null(l.body);
	sx_batch_line_release(&l);

	assert_int_equal(sx_batchapi_parse_output(nothing, strlen(nothing), &l, NULL), 0);
	assert_false(l.ok);
	assert_string_equal(l.reason, "batch line without a response or an error");
	sx_batch_line_release(&l);

	assert_int_equal(sx_batchapi_parse_output(odd_body, strlen(odd_body), &l, NULL), 0);
	assert_false(l.ok);
	assert_string_equal(l.reason, "http 200");
	sx_batch_line_release(&l);

	assert_int_equal(sx_batchapi_parse_output(no_id, strlen(no_id), &l, &err), SX_EINPUT);
	assert_string_equal(err.msg, "no custom_id");
	assert_int_equal(sx_batchapi_parse_output("{\"custom_id\":\"k\",", 16, &l, NULL), SX_EINPUT);
	sx_buf_release(&out);
}

/* ---- the record ---- */

static void test_state_roundtrip(void **state)
{
	char *path = tmpdir_path("batches.json");
	struct sx_batch_state st, back;
	struct sx_batch_entry *e;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	unlink(path);
	assert_int_equal(sx_batch_state_load(&st, path, &err), 0);
	assert_int_equal(st.n, 0);
	assert_int_equal(strlen(st.token), 12);
	st.seq = 2;
	st.v = calloc(2, sizeof(*st.v));
	st.alloc = 2;
	st.n = 2;
	e = &st.v[0];
	e->name = strdup("selfexp-t-0001-elicit-ep.jsonl");
	e->stage = strdup("elicit ep");
	e->round = 1;
	e->requests = 7;
	e->file_id = strdup("file-1");
	e->batch_id = strdup("batch_1");
	e->status = strdup("completed");
	e->output_file_id = strdup("file-2");
	e->done = 1;
	e->answered = 6;
	e->failed = 1;
	e->prompt_tokens = 100;
	e->completion_tokens = 20;
	e->cost = 0.25;
	e = &st.v[1];
	e->name = strdup("selfexp-t-0002-elicit-ep.jsonl");
	e->stage = strdup("elicit ep");
	e->round = 2;
	e->requests = 1;
	assert_int_equal(sx_batch_state_save(&st, &err), 0);
	assert_int_equal(sx_batch_state_load(&back, path, &err), 0);
	assert_string_equal(back.token, st.token);
	assert_int_equal(back.seq, 2);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.v[0].batch_id, "batch_1");
	assert_string_equal(back.v[0].output_file_id, "file-2");
	assert_null(back.v[0].error_file_id);
	assert_true(back.v[0].done);
	assert_int_equal(back.v[0].answered, 6);
	assert_int_equal(back.v[0].failed, 1);
	assert_int_equal(back.v[0].completion_tokens, 20);
	assert_true(back.v[0].cost > 0.2499 && back.v[0].cost < 0.2501);
	assert_int_equal(back.v[1].round, 2);
	assert_null(back.v[1].file_id);
	assert_null(back.v[1].batch_id);
	assert_false(back.v[1].done);
	sx_batch_state_release(&back);
	sx_batch_state_release(&st);

	/* not a record: refused, naming the file */
	assert_int_equal(sx_file_write_atomic(path, "{\"batches\":3}", 13, 0600, NULL), 0);
	assert_int_equal(sx_batch_state_load(&back, path, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, path));
	sx_batch_state_release(&back);
	free(path);
}

/* ---- rounds through a directory ---- */

struct answers {
	int taken[4];
};

static int take(void *ctx, size_t req, const char *body, size_t len, long *ptok, long *ctok,
		char *why, size_t whylen)
{
	struct answers *a = ctx;

	if (len >= 5 && !memcmp(body, "{\"bad", 5)) {
		snprintf(why, whylen, "malformed answer");
		return SX_EINPUT;
	}
	(void)body;
	a->taken[req]++;
	*ptok = 10;
	*ctok = 2;
	return 0;
}

static void test_dir_rounds(void **state)
{
	char *dir = tmpdir_path("files"), *sp = tmpdir_path("dir-batches.json");
	static const char *const keys[3] = { "k0", "k1", "k2" };
	struct sx_batchapi_config cfg;
	struct sx_batch_req reqs[3];
	struct sx_batchapi *b = NULL;
	struct answers ans;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf text = SX_BUF_INIT, path = SX_BUF_INIT, out = SX_BUF_INIT;
	int i;

	(void)state;
	memset(&ans, 0, sizeof(ans));
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(sx_mkdir_p(dir, 0755, NULL), 0);
	cfg.dir = dir;
	cfg.state_path = sp;
	cfg.retries = 0;
	cfg.price_in = 1e6; /* $1 per token: cost = tokens */
	cfg.price_out = 1e6;
	assert_int_equal(sx_batchapi_new(&cfg, take, &ans, &b, &err), 0);
	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < 3; i++) {
		reqs[i].key = keys[i];
		reqs[i].body = "{}";
		reqs[i].len = 2;
	}
	assert_int_equal(sx_batchapi_run(b, reqs, 3, "elicit ep", &err), SX_EPENDING);
	assert_non_null(strstr(err.msg, "selfexp-0001-elicit-ep.output.jsonl"));
	sx_buf_addf(&path, "%s/selfexp-0001-elicit-ep.jsonl", dir);
	assert_int_equal(sx_file_read(path.buf, 1 << 20, &text, NULL), 0);
	assert_string_equal(text.buf,
			    "{\"custom_id\":\"k0\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n"
			    "{\"custom_id\":\"k1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n"
			    "{\"custom_id\":\"k2\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n");
	/* still pending while no output file is there; nothing written twice */
	assert_int_equal(sx_batchapi_run(b, reqs, 3, "elicit ep", &err), SX_EPENDING);
	assert_int_equal(sx_batchapi_state(b)->n, 1);
	/* the tool answers k2 and k0 (in that order), k1 fails; a foreign key is ignored */
	sx_batchapi_output_line("r", "k2", 200, "{\"ok\":1}", 8, NULL, NULL, &out);
	sx_batchapi_output_line("r", "k1", 0, NULL, 0, "engine_error", "no", &out);
	sx_batchapi_output_line("r", "zz", 200, "{\"ok\":1}", 8, NULL, NULL, &out);
	sx_batchapi_output_line("r", "k0", 200, "{\"ok\":1}", 8, NULL, NULL, &out);
	sx_buf_reset(&path);
	sx_buf_addf(&path, "%s/selfexp-0001-elicit-ep.output.jsonl", dir);
	assert_int_equal(sx_file_write_atomic(path.buf, out.buf, out.len, 0644, NULL), 0);
	assert_int_equal(sx_batchapi_run(b, reqs, 3, "elicit ep", &err), 0);
	assert_true(reqs[0].answered && reqs[2].answered);
	assert_false(reqs[1].answered);
	assert_int_equal(ans.taken[0], 1);
	assert_int_equal(ans.taken[2], 1);
	assert_string_equal(reqs[1].reason, "after 1 batch round: batch line failed: engine_error: no");
	assert_true(sx_batchapi_state(b)->v[0].done);
	assert_int_equal(sx_batchapi_state(b)->v[0].answered, 2);
	assert_int_equal(sx_batchapi_state(b)->v[0].failed, 1);
	assert_int_equal(sx_batchapi_state(b)->v[0].prompt_tokens, 20);
	assert_true(sx_batchapi_state(b)->v[0].cost > 23.99 && sx_batchapi_state(b)->v[0].cost < 24.01);
	assert_int_equal(sx_batchapi_sent(b), 2);
	sx_batchapi_free(b);

	/* another stage with a round left (retries 1): the failed line goes out again */
	cfg.retries = 1;
	assert_int_equal(sx_batchapi_new(&cfg, take, &ans, &b, &err), 0);
	for (i = 0; i < 3; i++) {
		free(reqs[i].reason);
		reqs[i].reason = NULL;
		reqs[i].answered = 0;
	}
	assert_int_equal(sx_batchapi_run(b, reqs, 1, "explain ep", &err), SX_EPENDING);
	sx_buf_reset(&out);
	sx_batchapi_output_line("r", "k0", 200, "{\"bad\":1}", 9, NULL, NULL, &out);
	sx_buf_reset(&path);
	sx_buf_addf(&path, "%s/selfexp-0002-explain-ep.output.jsonl", dir);
	assert_int_equal(sx_file_write_atomic(path.buf, out.buf, out.len, 0644, NULL), 0);
	/* a malformed answer is a failed line: round 2 is written */
	assert_int_equal(sx_batchapi_run(b, reqs, 1, "explain ep", &err), SX_EPENDING);
	assert_int_equal(sx_batchapi_state(b)->n, 3);
	assert_int_equal(sx_batchapi_state(b)->v[2].round, 2);
	sx_buf_reset(&path);
	sx_buf_addf(&path, "%s/selfexp-0003-explain-ep.jsonl", dir);
	assert_int_equal(access(path.buf, F_OK), 0);
	sx_batchapi_free(b);
	for (i = 0; i < 3; i++)
		free(reqs[i].reason);
	sx_buf_release(&text);
	sx_buf_release(&path);
	sx_buf_release(&out);
	free(dir);
	free(sp);
}

/* A stage is split at the limits per batch: requests, and bytes. */
static void test_split(void **state)
{
	char *dir = tmpdir_path("split"), *sp = tmpdir_path("split-batches.json");
	static const char *const keys[5] = { "a0", "a1", "a2", "a3", "a4" };
	struct sx_batchapi_config cfg;
	struct sx_batch_req reqs[5];
	struct sx_batchapi *b = NULL;
	struct answers ans;
	struct sx_buf line = SX_BUF_INIT;
	size_t i;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(reqs, 0, sizeof(reqs));
	assert_int_equal(sx_mkdir_p(dir, 0755, NULL), 0);
	cfg.dir = dir;
	cfg.state_path = sp;
	cfg.max_lines = 2;
	assert_int_equal(sx_batchapi_new(&cfg, take, &ans, &b, NULL), 0);
	for (i = 0; i < 5; i++) {
		reqs[i].key = keys[i];
		reqs[i].body = "{}";
		reqs[i].len = 2;
	}
	assert_int_equal(sx_batchapi_run(b, reqs, 5, "s", NULL), SX_EPENDING);
	assert_int_equal(sx_batchapi_state(b)->n, 3);
	assert_int_equal(sx_batchapi_state(b)->v[0].requests, 2);
	assert_int_equal(sx_batchapi_state(b)->v[1].requests, 2);
	assert_int_equal(sx_batchapi_state(b)->v[2].requests, 1);
	sx_batchapi_free(b);

	/* by bytes: a file holds as many whole lines as fit, and at least one */
	sx_batchapi_request_line("b0", "{}", 2, &line);
	cfg.max_lines = 0;
	cfg.max_bytes = 2 * line.len;
	cfg.state_path = sp;
	unlink(sp);
	assert_int_equal(sx_batchapi_new(&cfg, take, &ans, &b, NULL), 0);
	assert_int_equal(sx_batchapi_run(b, reqs, 5, "t", NULL), SX_EPENDING);
	assert_int_equal(sx_batchapi_state(b)->n, 3);
	assert_int_equal(sx_batchapi_state(b)->v[0].requests, 2);
	cfg.max_bytes = 1;
	sx_batchapi_free(b);
	unlink(sp);
	assert_int_equal(sx_batchapi_new(&cfg, take, &ans, &b, NULL), 0);
	assert_int_equal(sx_batchapi_run(b, reqs, 5, "u", NULL), SX_EPENDING);
	assert_int_equal(sx_batchapi_state(b)->n, 5);
	sx_batchapi_free(b);
	sx_buf_release(&line);
	free(dir);
	free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_other_writers),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_output_ok),
		cmocka_unit_test(test_output_failed),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_dir_rounds),
		cmocka_unit_test(test_split),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
