#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "selfexp/buf.h"
#include "selfexp/cache.h"
#include "selfexp/chat.h"
#include "selfexp/file.h"

#define TMPDIR_NAME "test_cache"
#include "tmpdir.h"

static const char resp1[] = "{\"choices\":[{\"message\":{\"content\":\"(1, 0.9)\"},"
			    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,"
			    "\"completion_tokens\":4}}";

static void put_one(struct sx_cache *c, const char *host, const char *user, char key[65])
{
	struct sx_gen_params gp = SX_GEN_PARAMS_INIT;
	struct sx_buf body = SX_BUF_INIT;
	struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;

	sx_chat_request_body(&gp, "sys", user, &body);
	sx_cache_key(host, body.buf, body.len, key);
	e.request = body.buf;
	e.request_len = body.len;
	e.response = (char *)resp1;
	e.response_len = strlen(resp1);
	e.prompt_tokens = 10;
	e.completion_tokens = 4;
	e.latency_ms = 12.5;
	assert_int_equal(sx_cache_put(c, key, host, &e, NULL), 0);
	sx_buf_release(&body);
}

static void test_key(void **state)
{
	char k1[65], k2[65], k3[65];

	(void)state;
	sx_cache_key("api.openai.com", "{}", 2, k1);
	sx_cache_key("localhost", "{}", 2, k2);
	sx_cache_key("api.openai.com", "{ }", 3, k3);
	assert_int_equal(strlen(k1), 64);
	assert_string_not_equal(k1, k2);
	assert_string_not_equal(k1, k3);
	/* sha256("api.openai.com\n{}") */
	assert_string_equal(k1, "2373eda42bd3f086bc4274f1f93dc1bb105cd8a8dbe5dfac8566f9142c0a6c15");
}

static void test_put_get_modes(void **state)
{
	char *dir = tmpdir_path("sub/dir"), *path = tmpdir_path("sub/dir/c.db");
	struct sx_cache *c = NULL;
	struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
	struct sx_cache_stats st;
	struct sx_err err = SX_ERR_INIT;
	struct stat sb;
	char key[65], key2[65];

	(void)state;
	assert_int_equal(sx_cache_open(path, 0, &c, &err), SX_ENOTFOUND);
	assert_non_null(strstr(err.msg, "c.db"));
	assert_int_equal(sx_cache_open(path, SX_CACHE_CREATE, &c, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);

	put_one(c, "h", "u1", key);
	assert_int_equal(sx_cache_get(c, key, &e, NULL), 0);
	assert_int_equal(e.response_len, strlen(resp1));
	assert_string_equal(e.response, resp1);
	assert_int_equal(e.prompt_tokens, 10);
	assert_int_equal(e.completion_tokens, 4);
	assert_float_equal(e.latency_ms, 12.5, 1e-9);
	assert_true(e.created > 1e9);
	sx_cache_entry_release(&e);
	sx_cache_key("h", "nope", 4, key2);
	assert_int_equal(sx_cache_get(c, key2, &e, NULL), SX_ENOTFOUND);
	put_one(c, "h", "u2", key2);
	put_one(c, "h", "u2", key2); /* replace, not a second row */
	assert_int_equal(sx_cache_stats(c, &st, NULL), 0);
	assert_int_equal(st.rows, 2);
	assert_int_equal(st.prompt_tokens, 20);
	assert_true(st.bytes > (long long)(2 * strlen(resp1)));
	assert_true(st.oldest > 0 && st.newest >= st.oldest);
	sx_cache_close(c);

	/* reopen: rows survived, the WAL file is 0600 too */
	assert_int_equal(sx_cache_open(path, 0, &c, NULL), 0);
	assert_int_equal(sx_cache_get(c, key, &e, NULL), 0);
	sx_cache_entry_release(&e);
	sx_cache_close(c);
	free(dir);
	free(path);
}

static void test_corrupt(void **state)
{
	char *path = tmpdir_path("junk.db");
	struct sx_cache *c = NULL;
	struct sx_err err = SX_ERR_INIT;
	char junk[4096];

	(void)state;
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(sx_file_write_atomic(path, junk, sizeof(junk), 0600, NULL), 0);
	assert_int_equal(sx_cache_open(path, SX_CACHE_CREATE, &c, &err), SX_EIO);
	assert_null(c);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "corrupt"));
	free(path);
}

static void test_export_import(void **state)
{
	char *p1 = tmpdir_path("a.db"), *p2 = tmpdir_path("b.db"), *jl = tmpdir_path("x.jsonl"), *bad = tmpdir_path("bad.jsonl");
	struct sx_cache *a = NULL, *b = NULL;
	struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
	struct sx_err err = SX_ERR_INIT;
	char k1[65], k2[65], kh[65];
	long rows = 0;
	FILE *f;
	static const char badtext[] =
		"{\"request\":{\"model\":\"m\",\"messages\":[]},\"response\":{\"choices\":[{\"message\":"
		"{\"content\":\"x\"}}]}}\n"
		"\n"
		"{\"request\":{\"model\":\"m\",\"messages\":[]},\"response\":{\"error\":{\"message\":\"e\"}}}\n";

	(void)state;
	assert_int_equal(sx_cache_open(p1, SX_CACHE_CREATE, &a, NULL), 0);
	put_one(a, "h1", "one", k1);
	put_one(a, "h1", "two \"quoted\"\n\xc3\xa9", k2);
	f = fopen(jl, "w");
	assert_non_null(f);
	assert_int_equal(sx_cache_export(a, f, &rows, NULL), 0);
	fclose(f);
	assert_int_equal(rows, 2);

	assert_int_equal(sx_cache_open(p2, SX_CACHE_CREATE, &b, NULL), 0);
	assert_int_equal(sx_cache_import(b, jl, NULL, NULL, &rows, &err), 0);
	assert_int_equal(rows, 2);
	/* same keys: the request came back byte for byte */
	assert_int_equal(sx_cache_get(b, k1, &e, NULL), 0);
	sx_cache_entry_release(&e);
	assert_int_equal(sx_cache_get(b, k2, &e, NULL), 0);
	assert_int_equal(e.prompt_tokens, 10);
	assert_float_equal(e.latency_ms, 12.5, 1e-6);
	sx_cache_entry_release(&e);
	/* with another host, other keys */
	assert_int_equal(sx_cache_import(b, jl, "h2", NULL, &rows, NULL), 0);
	{
		struct sx_gen_params gp = SX_GEN_PARAMS_INIT;
		struct sx_buf body = SX_BUF_INIT;

		sx_chat_request_body(&gp, "sys", "one", &body);
		sx_cache_key("h2", body.buf, body.len, kh);
		sx_buf_release(&body);
	}
	assert_int_equal(sx_cache_get(b, kh, &e, NULL), 0);
	sx_cache_entry_release(&e);

	/* a response that is an error is refused, with its line number */
	f = fopen(bad, "w");
	fputs(badtext, f);
	fclose(f);
	assert_int_equal(sx_cache_import(b, bad, "h3", NULL, &rows, &err), SX_EINPUT);
	assert_int_equal(rows, 1);
	assert_non_null(strstr(err.msg, "line 3"));
	{
		long long before = 0, after = 0;
		assert_int_equal(sx_cache_vacuum(b, &before, &after, NULL), 0);
		assert_true(after > 0);
	}
	sx_cache_close(a);
	sx_cache_close(b);
	free(p1);
	free(p2);
	free(jl);
	free(bad);
}

/*
 * Several processes open one new cache file at the same moment and write to
 * it: every open and every write must succeed (the busy timeout and the
 * open-time setup must not race into SQLITE_BUSY).
 */
static int child_opens_and_writes(const char *path, int id)
{
	struct sx_cache *c = NULL;
	struct sx_err err = SX_ERR_INIT;
	char user[32], key[65];
	int i;

	if (sx_cache_open(path, SX_CACHE_CREATE, &c, &err)) {
		fprintf(stderr, "child %d: %s\n", id, err.msg);
		return 1;
	}
	for (i = 0; i < 20; i++) {
		struct sx_gen_params gp = SX_GEN_PARAMS_INIT;
		struct sx_buf body = SX_BUF_INIT;
		struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
		int rc;

		snprintf(user, sizeof(user), "u%d-%d", id, i);
		sx_chat_request_body(&gp, "sys", user, &body);
		sx_cache_key("h", body.buf, body.len, key);
		e.request = body.buf;
		e.request_len = body.len;
		e.response = (char *)resp1;
		e.response_len = strlen(resp1);
		rc = sx_cache_put(c, key, "h", &e, &err);
		sx_buf_release(&body);
		if (rc) {
			fprintf(stderr, "child %d: %s\n", id, err.msg);
			sx_cache_close(c);
			return 1;
		}
	}
	if (sx_cache_flush(c, &err)) {
		fprintf(stderr, "child %d: %s\n", id, err.msg);
		sx_cache_close(c);
		return 1;
	}
	sx_cache_close(c);
	return 0;
}

static void test_concurrent_open(void **state)
{
	enum { ROUNDS = 120, PROCS = 4 };
	int round, i, failed = 0;

	(void)state;
	for (round = 0; round < ROUNDS; round++) {
		char name[32], *path;
		pid_t pids[PROCS];
		struct sx_cache *c = NULL;
		struct sx_cache_stats st;

		snprintf(name, sizeof(name), "conc%d/c.sqlite", round);
		path = tmpdir_path(name);
		for (i = 0; i < PROCS; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0)
				_exit(child_opens_and_writes(path, i));
		}
		for (i = 0; i < PROCS; i++) {
			int status = 0;

			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				failed++;
		}
		assert_int_equal(failed, 0);
		assert_int_equal(sx_cache_open(path, 0, &c, NULL), 0);
		assert_int_equal(sx_cache_stats(c, &st, NULL), 0);
		assert_int_equal(st.rows, PROCS * 20);
		sx_cache_close(c);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_put_get_modes),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_export_import),
		cmocka_unit_test(test_concurrent_open),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
