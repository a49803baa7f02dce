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
#include <sqlite3.h>

#include "selfexp/buf.h"
#include "selfexp/cache.h"
#include "selfexp/chat.h"
#include "selfexp/engine.h"
#include "selfexp/file.h"
#include "selfexp/json.h"

#define TMPDIR_NAME "test_cache"
#include "tmpdir.h"

static const char resp1[] = "{\"choices\":[{\"message\":{\"content\":\"(1, 0.9)\"},"
			    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,"
			    "\"completion_tokens\":4}}";

static void body_of(const char *user, struct sx_buf *body)
{
	struct sx_gen_params gp = SX_GEN_PARAMS_INIT;

	sx_chat_request_body(&gp, "sys", user, body);
}

/* The key of user's request under endpoint (a URL, or a host for a host-only key). */
static void key_of(const char *endpoint, const char *user, char key[65])
{
	struct sx_buf body = SX_BUF_INIT;

	body_of(user, &body);
	sx_cache_key(endpoint, body.buf, body.len, key);
	sx_buf_release(&body);
}

/* A row keyed on endpoint (a host-keyed row when endpoint is NULL), its host column host. */
static void put_row(struct sx_cache *c, const char *endpoint, const char *host, int insecure,
		    const char *user, char key[65])
{
	struct sx_buf body = SX_BUF_INIT;
	struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;

	body_of(user, &body);
	sx_cache_key(endpoint ? endpoint : host, body.buf, body.len, key);
	e.request = body.buf;
	e.request_len = body.len;
	e.response = (char *)resp1;
	e.response_len = strlen(resp1);
	e.prompt_tokens = 10;
	e.completion_tokens = 4;
	e.latency_ms = 12.5;
	e.endpoint = (char *)endpoint;
	e.insecure = insecure;
	assert_int_equal(sx_cache_put(c, key, host, &e, NULL), 0);
	sx_buf_release(&body);
}

static void put_one(struct sx_cache *c, const char *host, const char *user, char key[65])
{
	put_row(c, NULL, host, -1, user, key);
}

static int normalise(const char *url, struct sx_buf *endpoint, struct sx_buf *host)
{
	size_t start = endpoint->len;

	/* the host of the normalised URL, so that the two agree ("[::1]" for "[0::1]") */
	return sx_engine_endpoint_url(url, endpoint) ||
		       sx_engine_endpoint_host(endpoint->buf + start, host)
		       ? SX_EINPUT
		       : 0;
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
	/* sha256("api.openai.com\n{}"): the host-only key of a version 1 cache */
	assert_string_equal(k1, "2373eda42bd3f086bc4274f1f93dc1bb105cd8a8dbe5dfac8566f9142c0a6c15");
	/* sha256("http://127.0.0.1:18080/v1\n{}"): the key of an endpoint */
	sx_cache_key("http://127.0.0.1:18080/v1", "{}", 2, k2);
	assert_string_equal(k2, "ab385a07556dcc4b4c81bb5599cf29e5f9d2f13bfa9c335b271acb991c066abf");
	sx_cache_key("http://127.0.0.1:18081/v1", "{}", 2, k3);
	assert_string_not_equal(k2, k3);
}

/* ---------------------------------------------------------- version 1 files */

/* The table, index and version number selfexp wrote before schema version 2. */
static const char v1_schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE responses (key TEXT PRIMARY KEY NOT NULL, host TEXT NOT NULL,"
	" request TEXT NOT NULL, response TEXT NOT NULL, prompt_tokens INTEGER,"
	" completion_tokens INTEGER, latency_ms REAL, created REAL NOT NULL);"
	"CREATE INDEX responses_created ON responses(created);"
	"PRAGMA user_version=1;";

static void sql(sqlite3 *db, const char *text)
{
	char *msg = NULL;

	if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", text, msg ? msg : "?");
}

/* A version 1 cache at path holding n rows of host "127.0.0.1": users "old0", "old1", ... */
static void make_v1(const char *path, int n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int i;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql(db, v1_schema);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO responses VALUES (?1, '127.0.0.1', ?2, "
					    "?3, 10, 4, 12.5, 1700000000.0)", -1, &st, NULL),
			 SQLITE_OK);
	for (i = 0; i < n; i++) {
		struct sx_buf body = SX_BUF_INIT;
		char user[32], key[65];

		snprintf(user, sizeof(user), "old%d", i);
		body_of(user, &body);
		/* the old key, as version 1 computed it: sha256(host "\n" body) */
		sx_cache_key("127.0.0.1", body.buf, body.len, key);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, body.buf, (int)body.len, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, resp1, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		sx_buf_release(&body);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* user_version and the number of columns of responses, read with SQLite itself. */
static void schema_of(const char *path, int *version, int *columns)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info('responses')",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*columns = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/*
 * An old row stays readable under its old key (the migration adds columns,
 * keeps keys): it says it is host-keyed and its TLS verification unknown.
 * The key of any endpoint URL of that host misses it.
 */
static void test_v1_file(void **state)
{
	char *path = tmpdir_path("v1.db"), *newer = tmpdir_path("v4.db");
	struct sx_cache *c = NULL;
	struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
	struct sx_cache_stats st;
	struct sx_err err = SX_ERR_INIT;
	char old[65], url[65], key[65];
	int version = 0, columns = 0;

	(void)state;
	make_v1(path, 3);
	schema_of(path, &version, &columns);
	assert_int_equal(version, 1);
	assert_int_equal(columns, 8);
	assert_int_equal(sx_cache_open(path, 0, &c, &err), 0);
	schema_of(path, &version, &columns);
	assert_int_equal(version, 3); /* the compact table beside the old one, kept */
	assert_int_equal(columns, 10);

	key_of("127.0.0.1", "old1", old);
	assert_int_equal(sx_cache_get(c, old, &e, NULL), 0);
	assert_string_equal(e.response, resp1);
	assert_int_equal(e.prompt_tokens, 10);
	assert_float_equal(e.created, 1700000000.0, 1e-6);
	assert_null(e.endpoint);
	assert_int_equal(e.insecure, -1);
	sx_cache_entry_release(&e);
	key_of("http://127.0.0.1:18080/v1", "old1", url);
	assert_int_equal(sx_cache_get(c, url, &e, NULL), SX_ENOTFOUND);

	/* new rows beside the old ones, with their endpoint and TLS flag */
	put_row(c, "http://127.0.0.1:18080/v1", "127.0.0.1", 0, "old1", key);
	assert_string_equal(key, url);
	assert_int_equal(sx_cache_get(c, url, &e, NULL), 0);
	assert_string_equal(e.endpoint, "http://127.0.0.1:18080/v1");
	assert_int_equal(e.insecure, 0);
	sx_cache_entry_release(&e);
	assert_int_equal(sx_cache_stats(c, &st, NULL), 0);
	assert_int_equal(st.rows, 4);
	assert_int_equal(st.host_keyed, 3);
	assert_int_equal(st.insecure, 0);
	sx_cache_close(c);

	/* a second open finds version 2: nothing added twice */
	assert_int_equal(sx_cache_open(path, 0, &c, &err), 0);
	assert_int_equal(sx_cache_get(c, old, &e, NULL), 0);
	sx_cache_entry_release(&e);
	sx_cache_close(c);
	schema_of(path, &version, &columns);
	assert_int_equal(columns, 10);

	/* a version this selfexp does not know is refused, not rewritten */
	make_v1(newer, 1);
	{
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(newer, &db), SQLITE_OK);
		sql(db, "PRAGMA user_version=4");
		sqlite3_close(db);
	}
	assert_int_equal(sx_cache_open(newer, 0, &c, &err), SX_EIO);
	assert_non_null(strstr(err.msg, "schema version 4"));
	schema_of(newer, &version, &columns);
	assert_int_equal(columns, 8);
	free(path);
	free(newer);
}

/* Where import keys a line: --base-url, --host, the line's endpoint, its host, the environment. */
static void test_import_endpoints(void **state)
{
	char *db = tmpdir_path("imp.db"), *jl = tmpdir_path("imp.jsonl");
	struct sx_cache *c = NULL;
	struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf body = SX_BUF_INIT, line = SX_BUF_INIT;
	char key[65];
	long rows = 0;
	const char *r = "{\"choices\":[{\"message\":{\"content\":\"x\"}}]}";

	(void)state;
	body_of("u", &body);
	assert_int_equal(sx_cache_open(db, SX_CACHE_CREATE, &c, NULL), 0);
#define LINE(extra)                                                                          \
	do {                                                                                 \
		sx_buf_reset(&line);                                                         \
		sx_buf_addf(&line, "{\"request\":%s,\"response\":%s%s}\n", body.buf, r, extra); \
		assert_int_equal(sx_file_write_atomic(jl, line.buf, line.len, 0600, NULL), 0); \
	} while (0)

	/* the line's endpoint, normalised; its insecure flag kept */
	LINE(",\"endpoint\":\"HTTP://User:pw@H.example:80/v1/?api-version=1\",\"insecure\":true");
	assert_int_equal(sx_cache_import(c, jl, &(struct sx_cache_import_opts){ .normalise = normalise },
					 &rows, &err), 0);
	key_of("http://h.example/v1", "u", key);
	assert_int_equal(sx_cache_get(c, key, &e, NULL), 0);
	assert_string_equal(e.endpoint, "http://h.example/v1");
	assert_int_equal(e.insecure, 1);
	sx_cache_entry_release(&e);

	/* --base-url wins over the line's; without "insecure" a line counts as verified */
	LINE(",\"endpoint\":\"http://other/v1\",\"host\":\"other\"");
	assert_int_equal(sx_cache_import(c, jl, &(struct sx_cache_import_opts){
		.endpoint = "http://127.0.0.1:18081/v1", .endpoint_host = "127.0.0.1",
		.normalise = normalise }, &rows, &err), 0);
	key_of("http://127.0.0.1:18081/v1", "u", key);
	assert_int_equal(sx_cache_get(c, key, &e, NULL), 0);
	assert_int_equal(e.insecure, 0);
	sx_cache_entry_release(&e);

	/* a line with a host only (the export of a version 1 cache): a host-keyed row */
	LINE(",\"host\":\"old.example\"");
	assert_int_equal(sx_cache_import(c, jl, &(struct sx_cache_import_opts){
		.fallback_endpoint = "http://env/v1", .fallback_host = "env", .normalise = normalise },
		&rows, &err), 0);
	key_of("old.example", "u", key);
	assert_int_equal(sx_cache_get(c, key, &e, NULL), 0);
	assert_null(e.endpoint);
	assert_int_equal(e.insecure, -1);
	sx_cache_entry_release(&e);

	/* neither: the fallback (OPENAI_BASE_URL) */
	LINE("");
	assert_int_equal(sx_cache_import(c, jl, &(struct sx_cache_import_opts){
		.fallback_endpoint = "http://env/v1", .fallback_host = "env", .normalise = normalise },
		&rows, &err), 0);
	key_of("http://env/v1", "u", key);
	assert_int_equal(sx_cache_get(c, key, &e, NULL), 0);
	sx_cache_entry_release(&e);
	/* and nothing at all names one */
	assert_int_equal(sx_cache_import(c, jl, &(struct sx_cache_import_opts){ .normalise = normalise },
					 &rows, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "--base-url"));

	/* a bad endpoint or insecure member fails the line */
	LINE(",\"endpoint\":\"ftp://x\"");
	assert_int_equal(sx_cache_import(c, jl, &(struct sx_cache_import_opts){ .normalise = normalise },
					 &rows, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "ftp://x"));
	LINE(",\"endpoint\":\"http://h/v1\",\"insecure\":\"no\"");
	assert_int_equal(sx_cache_import(c, jl, &(struct sx_cache_import_opts){ .normalise = normalise },
					 &rows, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "insecure"));
#undef LINE
	sx_cache_close(c);
	sx_buf_release(&body);
	sx_buf_release(&line);
	free(db);
	free(jl);
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
	char k1[65], k2[65], k3[65], kh[65];
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
	put_row(a, "https://h1:8443/v1", "h1", 1, "three", k3);
	f = fopen(jl, "w");
	assert_non_null(f);
	assert_int_equal(sx_cache_export(a, f, &rows, NULL), 0);
	fclose(f);
	assert_int_equal(rows, 3);
	{
		struct sx_buf text = SX_BUF_INIT;

		assert_int_equal(sx_file_read(jl, 1 << 20, &text, NULL), 0);
		assert_non_null(strstr(text.buf, "\"host\":\"h1\",\"endpoint\":\"https://h1:8443/v1\","
					       "\"insecure\":true,\"request\":"));
		/* the host-keyed rows have neither */
		assert_non_null(strstr(text.buf, "\"host\":\"h1\",\"request\":"));
		sx_buf_release(&text);
	}

	assert_int_equal(sx_cache_open(p2, SX_CACHE_CREATE, &b, NULL), 0);
	assert_int_equal(sx_cache_import(b, jl, &(struct sx_cache_import_opts){ .normalise = normalise },
					 &rows, &err), 0);
	assert_int_equal(rows, 3);
	/* same keys: the request came back byte for byte */
	assert_int_equal(sx_cache_get(b, k1, &e, NULL), 0);
	sx_cache_entry_release(&e);
	assert_int_equal(sx_cache_get(b, k2, &e, NULL), 0);
	assert_int_equal(e.prompt_tokens, 10);
	assert_float_equal(e.latency_ms, 12.5, 1e-6);
	assert_null(e.endpoint);
	assert_int_equal(e.insecure, -1);
	sx_cache_entry_release(&e);
	assert_int_equal(sx_cache_get(b, k3, &e, NULL), 0);
	assert_string_equal(e.endpoint, "https://h1:8443/v1");
	assert_int_equal(e.insecure, 1);
	sx_cache_entry_release(&e);
	/* with another host, other keys */
	assert_int_equal(sx_cache_import(b, jl, &(struct sx_cache_import_opts){ .host = "h2" }, &rows,
					 NULL), 0);
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
	assert_int_equal(sx_cache_import(b, bad, &(struct sx_cache_import_opts){ .host = "h3" }, &rows,
					 &err), SX_EINPUT);
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

/* Several processes open one version 1 file at once: one migrates it, all of them write. */
static void test_concurrent_migration(void **state)
{
	enum { ROUNDS = 40, PROCS = 4 };
	int round, i, failed = 0;

	(void)state;
	for (round = 0; round < ROUNDS; round++) {
		char name[32], *path, key[65];
		pid_t pids[PROCS];
		struct sx_cache *c = NULL;
		struct sx_cache_stats st;
		struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
		int version = 0, columns = 0;

		snprintf(name, sizeof(name), "mig%d.sqlite", round);
		path = tmpdir_path(name);
		make_v1(path, 5);
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
		schema_of(path, &version, &columns);
		assert_int_equal(version, 3);
		assert_int_equal(columns, 10);
		assert_int_equal(sx_cache_open(path, 0, &c, NULL), 0);
		assert_int_equal(sx_cache_stats(c, &st, NULL), 0);
		assert_int_equal(st.rows, 5 + PROCS * 20);
		assert_int_equal(st.host_keyed, 5 + PROCS * 20);
		key_of("127.0.0.1", "old4", key);
		assert_int_equal(sx_cache_get(c, key, &e, NULL), 0);
		sx_cache_entry_release(&e);
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
		cmocka_unit_test(test_v1_file),
		cmocka_unit_test(test_import_endpoints),
		cmocka_unit_test(test_concurrent_migration),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
