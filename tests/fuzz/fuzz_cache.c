/*
 * The cache's import path on arbitrary bytes: the input is written to a file
 * and imported (sx_cache_import) into a fresh cache, whose every line must
 * be a JSON object with a "request" (canonicalised) and a "response" (a chat
 * completion that decodes). Byte 0 picks the keys: bit 2 set = every line on
 * the endpoint "https://fuzz.test:8443/v1", else bit 0 set = every line on
 * the host "fuzz.test" alone, else each line's own "endpoint" (normalised)
 * or "host"; bit 1 set = the fallback endpoint "http://fallback.test/v1" for
 * lines with neither.
 *
 * Invariants: the import succeeds or fails with SX_EINPUT and a message; what
 * was imported can be exported, and each exported row read back with
 * sx_cache_get decodes (sx_chat_decode) and has the response it was stored
 * with; importing the export into a second fresh cache and exporting that
 * gives the same lines (export/import round trip; compared as sorted lines:
 * the export prints "created" to the millisecond, so rows created within
 * one millisecond may come out in another order the second time).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "selfexp/cache.h"
#include "selfexp/chat.h"
#include "selfexp/engine.h"
#include "selfexp/json.h"

/* On /dev/shm when there is one: SQLite's fsyncs on a disk make a run take a second. */
static char dir[64];
static char path_in[96], path_a[96], path_b[96], path_export[96];

static void remove_db(const char *p)
{
	char side[80];

	unlink(p);
	snprintf(side, sizeof(side), "%s-wal", p);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", p);
	unlink(side);
}

static void write_file(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "wb");

	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(data, 1, len, f) == len || len == 0);
	FUZZ_CHECK(fclose(f) == 0);
}

/* Export c into *buf (malloc'ed, NUL-terminated); returns the row count. */
static long export_all(struct sx_cache *c, char **buf, size_t *len)
{
	struct sx_err err = SX_ERR_INIT;
	FILE *f = open_memstream(buf, len);
	long rows = -1;

	FUZZ_CHECK(f != NULL);
	if (sx_cache_export(c, f, &rows, &err) != 0)
		fprintf(stderr, "export failed: %s\n", err.msg);
	FUZZ_CHECK(fclose(f) == 0);
	FUZZ_CHECK(rows >= 0);
	return rows;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of s (modified in place), sorted; *n gets their count. */
static char **sorted_lines(char *s, size_t len, size_t *n)
{
	char **v = NULL, *p = s, *end = s + len;
	size_t cap = 0;

	*n = 0;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl)
			*nl = '\0';
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			v = realloc(v, cap * sizeof(*v));
			FUZZ_CHECK(v != NULL);
		}
		v[(*n)++] = p;
		p = nl ? nl + 1 : end;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_line);
	return v;
}

/* Every exported row reads back through sx_cache_get and decodes. */
static void check_rows(struct sx_cache *c, const char *exp, size_t len)
{
	const char *line = exp, *end = exp + len;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t ll = (size_t)((nl ? nl : end) - line);
		struct sx_json *row = sx_json_parse(line, ll, NULL);
		struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
		struct sx_chat_answer a = SX_CHAT_ANSWER_INIT;
		struct sx_err err = SX_ERR_INIT;
		const char *key;

		FUZZ_CHECK(row != NULL);
		key = sx_json_get_str(row, "key");
		FUZZ_CHECK(key != NULL && strlen(key) == 64);
		FUZZ_CHECK(sx_cache_get(c, key, &e, &err) == 0);
		FUZZ_CHECK(e.response != NULL && e.request != NULL);
		if (sx_chat_decode(e.response, e.response_len, &a, &err) != 0)
			fprintf(stderr, "stored response does not decode: %s\n", err.msg);
		FUZZ_CHECK(a.content != NULL);
		sx_chat_answer_release(&a);
		sx_cache_entry_release(&e);
		sx_json_free(row);
		line = nl ? nl + 1 : end;
	}
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

/* Remove the scratch directory when the fuzzer exits (not after a crash). */
static void cleanup(void)
{
	remove_db(path_a);
	remove_db(path_b);
	unlink(path_in);
	unlink(path_export);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/selfexp-fuzz-cache.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(path_in, sizeof(path_in), "%s/in.jsonl", dir);
	snprintf(path_a, sizeof(path_a), "%s/a.db", dir);
	snprintf(path_b, sizeof(path_b), "%s/b.db", dir);
	snprintf(path_export, sizeof(path_export), "%s/export.jsonl", dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_cache *a = NULL, *b = NULL;
	struct sx_err err = SX_ERR_INIT;
	char *e1 = NULL, *e2 = NULL;
	size_t l1 = 0, l2 = 0;
	long rows = -1, n1, n2;
	struct sx_cache_import_opts opts = { .normalise = normalise };
	struct sx_cache_import_opts again = { .normalise = normalise };
	int rc;

	if (size < 1)
		return 0;
	if (data[0] & 4) {
		opts.endpoint = "https://fuzz.test:8443/v1";
		opts.endpoint_host = "fuzz.test";
	}
	opts.host = data[0] & 1 ? "fuzz.test" : NULL;
	if (data[0] & 2) {
		opts.fallback_endpoint = "http://fallback.test/v1";
		opts.fallback_host = "fallback.test";
	}
	write_file(path_in, data + 1, size - 1);
	remove_db(path_a);
	remove_db(path_b);
	FUZZ_CHECK(sx_cache_open(path_a, SX_CACHE_CREATE, &a, &err) == 0);
	rc = sx_cache_import(a, path_in, &opts, &rows, &err);
	if (rc < 0) {
		if (rc != SX_EINPUT)
			fprintf(stderr, "import failed: %d %s\n", rc, err.msg);
		FUZZ_CHECK(rc == SX_EINPUT);
		FUZZ_CHECK(err.msg[0] != '\0');
	}
	FUZZ_CHECK(rows >= 0);
	n1 = export_all(a, &e1, &l1);
	FUZZ_CHECK(n1 <= rows);
	check_rows(a, e1, l1);
	if (n1 > 0) {
		write_file(path_export, e1, l1);
		FUZZ_CHECK(sx_cache_open(path_b, SX_CACHE_CREATE, &b, &err) == 0);
		if (sx_cache_import(b, path_export, &again, &rows, &err) != 0)
			fprintf(stderr, "re-import of the export failed: %s\n", err.msg);
		FUZZ_CHECK(rows == n1);
		n2 = export_all(b, &e2, &l2);
		FUZZ_CHECK(n2 == n1);
		if (l1 != l2 || memcmp(e1, e2, l1) != 0) {
			size_t k1, k2, i;
			char **v1 = sorted_lines(e1, l1, &k1), **v2 = sorted_lines(e2, l2, &k2);

			FUZZ_CHECK(k1 == k2);
			for (i = 0; i < k1; i++) {
				if (strcmp(v1[i], v2[i]) != 0)
					fprintf(stderr, "export/import is not a round trip:\n%s\n%s\n",
						v1[i], v2[i]);
				FUZZ_CHECK(strcmp(v1[i], v2[i]) == 0);
			}
			free(v1);
			free(v2);
		}
		sx_cache_close(b);
	}
	sx_cache_close(a);
	free(e1);
	free(e2);
	return 0;
}
