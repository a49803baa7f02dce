#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/cache.h"
#include "selfexp/utf8.h"
#include "selfexp/chat.h"
#include "selfexp/file.h"
#include "selfexp/hash.h"
#include "selfexp/json.h"

/*
 * 1: rows keyed by host; 2: keyed by the endpoint URL, with the endpoint and
 * insecure columns (NULL in the rows a version 1 file had).
 */
#define SCHEMA_VERSION 2
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
/*
 * Checkpoint the write-ahead log every this many pages (SQLite's default is
 * 1000): each checkpoint costs two fsyncs that stall the engine's loop, and
 * a run writes a page or more per answer.
 */
#define WAL_CHECKPOINT_PAGES "8000"

struct sx_cache {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *put, *has;
	int readonly; /* SX_CACHE_READONLY: opened for reading only */
	int in_txn;
	int held;     /* sx_cache_hold: commit only at the next flush */
	long pending;
	double txn_start; /* monotonic seconds */
};

/* ---------------------------------------------------------------- helpers */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int db_err(struct sx_cache *c, struct sx_err *err, const char *what)
{
	int code = sqlite3_errcode(c->db);

	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		return sx_err_set(err, SX_EIO,
				  "cache '%s' is not a selfexp cache or is corrupt (%s); move it "
				  "away or pass another --cache",
				  c->path, sqlite3_errmsg(c->db));
	return sx_err_set(err, SX_EIO, "cache '%s': %s: %s", c->path, what, sqlite3_errmsg(c->db));
}

static int exec(struct sx_cache *c, const char *sql, struct sx_err *err)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(c, err, sql);
	return 0;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (long long)st.st_size;
}

static long long cache_file_bytes(const struct sx_cache *c)
{
	struct sx_buf wal = SX_BUF_INIT;
	long long n;

	sx_buf_addf(&wal, "%s-wal", c->path);
	n = file_size(c->path) + file_size(wal.buf);
	sx_buf_release(&wal);
	return n;
}

void sx_cache_key(const char *endpoint, const char *body, size_t len, char key[65])
{
	struct sx_buf b = SX_BUF_INIT;

	sx_buf_grow(&b, strlen(endpoint) + 1 + len);
	sx_buf_adds(&b, endpoint);
	sx_buf_addch(&b, '\n');
	sx_buf_add(&b, body, len);
	sx_sha256_hex(b.buf, b.len, key);
	sx_buf_release(&b);
}

/* ------------------------------------------------------------- open/close */

/*
 * Switch a new file to WAL. The switch needs an exclusive lock, and SQLite
 * answers SQLITE_BUSY at once, without its busy handler, when another process
 * opening the same new file holds a shared lock; so retry here, within the
 * same busy timeout.
 */
static int set_wal(struct sx_cache *c, struct sx_err *err)
{
	double start = mono_now();
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	int rc;

	while ((rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) ==
		       SQLITE_BUSY &&
	       mono_now() - start < SX_CACHE_BUSY_MS / 1000.0)
		nanosleep(&pause, NULL);
	return rc == SQLITE_OK ? 0 : db_err(c, err, "PRAGMA journal_mode=WAL");
}

/*
 * No index on created: only export sorts by it and stats reads its range,
 * both rare, while an index costs a B-tree write on every answer stored.
 * Caches made before this (schema version 1 too) keep theirs; it is harmless.
 * The last two columns are those version 2 added (and ALTER TABLE adds to a
 * version 1 file, in the same order).
 */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS responses ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" host TEXT NOT NULL,"
	" request TEXT NOT NULL,"
	" response TEXT NOT NULL,"
	" prompt_tokens INTEGER,"
	" completion_tokens INTEGER,"
	" latency_ms REAL,"
	" created REAL NOT NULL,"
	" endpoint TEXT,"
	" insecure INTEGER"
	");";

/* The columns a version 1 table lacks. */
static const char *const added_columns[][2] = {
	{ "endpoint", "ALTER TABLE responses ADD COLUMN endpoint TEXT" },
	{ "insecure", "ALTER TABLE responses ADD COLUMN insecure INTEGER" },
};

static int create_file(const char *path, struct sx_err *err)
{
	char *dup = xstrdup(path), *dir = dirname(dup);
	int fd, rc = 0;

	if (strcmp(dir, ".") && strcmp(dir, "/") && sx_mkdir_p(dir, 0700, err)) {
		free(dup);
		return SX_EIO;
	}
	free(dup);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return sx_err_set(err, SX_EIO, "cannot create cache '%s': %s", path, strerror(errno));
	close(fd);
	return rc;
}

static int read_version(struct sx_cache *c, int *version, struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		rc = db_err(c, err, "reading the schema version");
	else
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc;
}

static int check_version(struct sx_cache *c, int version, struct sx_err *err)
{
	if (version > SCHEMA_VERSION)
		return sx_err_set(err, SX_EIO,
				  "cache '%s' has schema version %d, newer than this selfexp's %d; "
				  "upgrade selfexp or pass another --cache",
				  c->path, version, SCHEMA_VERSION);
	return 0;
}

static int has_column(struct sx_cache *c, const char *name, int *yes, struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	int step, rc = 0;

	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM pragma_table_info('responses') WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(c, err, "reading the table's columns");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW || step == SQLITE_DONE)
		*yes = step == SQLITE_ROW;
	else
		rc = db_err(c, err, "reading the table's columns");
	sqlite3_finalize(st);
	return rc;
}

/*
 * Bring a file below SCHEMA_VERSION up to it, inside one write transaction:
 * another process opening the file at the same moment waits for the lock
 * (the busy timeout), then reads the version again and finds nothing to do.
 * A new file gets the table; a version 1 table (or one a crash left without
 * its version number) gets the columns it lacks.
 */
static int migrate(struct sx_cache *c, struct sx_err *err)
{
	size_t i;
	int rc, version = 0, yes = 0;

	if ((rc = exec(c, "BEGIN IMMEDIATE", err)))
		return rc;
	if ((rc = read_version(c, &version, err)) || (rc = check_version(c, version, err)))
		goto fail;
	if (version == SCHEMA_VERSION)
		return exec(c, "COMMIT", err);
	if ((rc = exec(c, schema, err)))
		goto fail;
	for (i = 0; i < sizeof(added_columns) / sizeof(added_columns[0]); i++)
		if ((rc = has_column(c, added_columns[i][0], &yes, err)) ||
		    (!yes && (rc = exec(c, added_columns[i][1], err))))
			goto fail;
	if ((rc = exec(c, "PRAGMA user_version=" STRINGIFY(SCHEMA_VERSION), err)) ||
	    (rc = exec(c, "COMMIT", err)))
		goto fail;
	return 0;
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The directory path lies in may be written to (for the -wal and -shm files). */
static int dir_writable(const char *path)
{
	char *dup = xstrdup(path);
	int yes = access(dirname(dup), W_OK) == 0;

	free(dup);
	return yes;
}

/*
 * The way out when a cache that must be written cannot be: the file or its
 * directory is read-only (read-only media, a read-only mount, mode 444/555).
 */
static int readonly_err(const char *path, struct sx_err *err)
{
	return sx_err_set(err, SX_EIO,
			  "cache '%s' is read-only (the file or its directory cannot be written); "
			  "this command stores answers in it: copy the cache to a writable place and "
			  "pass that --cache (reading it, e.g. cache stats, cache export, score, "
			  "run --offline, works as it is)",
			  path);
}

/* file:PATH?immutable=1 with PATH percent-encoded where a URI needs it. */
static void immutable_uri(const char *path, struct sx_buf *uri)
{
	const unsigned char *p;

	sx_buf_adds(uri, "file:");
	for (p = (const unsigned char *)path; *p; p++)
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f)
			sx_buf_addf(uri, "%%%02X", *p);
		else
			sx_buf_addch(uri, (char)*p);
	sx_buf_adds(uri, "?immutable=1");
}

/*
 * Open path for reading only: nothing is written, not even the WAL switch
 * or a migration. A WAL file needs its -shm index, which SQLite creates
 * beside the file; on read-only media it cannot, and the file is opened
 * immutable instead (SQLite's immutable URI: no locks, no -shm), which is
 * right only when no -wal file holds answers not yet checkpointed: then
 * the open fails and says so.
 */
static int open_readonly(struct sx_cache *c, struct sx_err *err)
{
	struct sx_buf wal = SX_BUF_INIT, uri = SX_BUF_INIT;
	int rc = 0, version = 0;

	/*
	 * Where the file and its directory can be written, a read-write
	 * connection (that writes nothing) removes the -wal and -shm files when
	 * it is the last one to close, as a writer's does; a read-only one would
	 * leave them behind.
	 */
	if (sqlite3_open_v2(c->path, &c->db,
			    (!access(c->path, W_OK) && dir_writable(c->path) ? SQLITE_OPEN_READWRITE
									     : SQLITE_OPEN_READONLY) |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		goto cannot;
	sqlite3_busy_timeout(c->db, SX_CACHE_BUSY_MS);
	sqlite3_extended_result_codes(c->db, 0);
	if (!read_version(c, &version, NULL))
		goto out;
	if (sqlite3_errcode(c->db) == SQLITE_NOTADB || sqlite3_errcode(c->db) == SQLITE_CORRUPT) {
		rc = db_err(c, err, "reading the schema version");
		goto out;
	}
	/* no -shm could be made: read-only media */
	sx_buf_addf(&wal, "%s-wal", c->path);
	if (file_size(wal.buf) > 0) {
		rc = sx_err_set(err, SX_EIO,
				"cache '%s' is on read-only media and its write-ahead log '%s' "
				"holds answers that only a writable copy can read; copy both files "
				"to a writable place (or run `selfexp cache vacuum` where it was "
				"written) and pass that --cache",
				c->path, wal.buf);
		goto out;
	}
	sqlite3_close(c->db);
	c->db = NULL;
	immutable_uri(c->path, &uri);
	if (sqlite3_open_v2(uri.buf, &c->db,
			    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
			    NULL) != SQLITE_OK)
		goto cannot;
	sqlite3_extended_result_codes(c->db, 0);
	rc = read_version(c, &version, err);
	goto out;
cannot:
	rc = sx_err_set(err, SX_EIO, "cannot open cache '%s': %s", c->path,
			c->db ? sqlite3_errmsg(c->db) : "out of memory");
out:
	sx_buf_release(&wal);
	sx_buf_release(&uri);
	return rc;
}

/*
 * A version 1 file opened read-only cannot be migrated: a temporary view
 * (temp is searched before main) gives its table the columns version 2
 * added, NULL in every row, as the migration would have.
 */
static int readonly_view(struct sx_cache *c, int version, struct sx_err *err)
{
	int yes = 0, rc;

	if (version >= SCHEMA_VERSION)
		return 0;
	if ((rc = has_column(c, "endpoint", &yes, err)) || yes)
		return rc;
	return exec(c,
		    "CREATE TEMP VIEW responses AS SELECT key, host, request, response, "
		    "prompt_tokens, completion_tokens, latency_ms, created, NULL AS endpoint, "
		    "NULL AS insecure FROM main.responses",
		    err);
}

int sx_cache_open(const char *path, int flags, struct sx_cache **out, struct sx_err *err)
{
	struct sx_cache *c;
	int rc, version = 0;

	*out = NULL;
	if (access(path, F_OK)) {
		if (!(flags & SX_CACHE_CREATE) || (flags & SX_CACHE_READONLY))
			return sx_err_set(err, SX_ENOTFOUND, "cache '%s' does not exist", path);
		if ((rc = create_file(path, err)))
			return rc;
	}
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->readonly = (flags & SX_CACHE_READONLY) != 0;
	if (c->readonly) {
		if ((rc = open_readonly(c, err)) || (rc = read_version(c, &version, err)) ||
		    (rc = check_version(c, version, err)) || (rc = readonly_view(c, version, err)))
			goto fail;
		goto prepare;
	}
	if (access(path, W_OK) || !dir_writable(path)) {
		rc = readonly_err(path, err);
		goto fail;
	}
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = sx_err_set(err, SX_EIO, "cannot open cache '%s': %s", path,
				c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, SX_CACHE_BUSY_MS);
	sqlite3_extended_result_codes(c->db, 0);
	/* SQLite falls back to reading only when the file cannot be written (root on a ro mount) */
	if (sqlite3_db_readonly(c->db, "main") == 1) {
		rc = readonly_err(path, err);
		goto fail;
	}
	if ((rc = set_wal(c, err)) || (rc = exec(c, "PRAGMA synchronous=NORMAL", err)) ||
	    (rc = exec(c, "PRAGMA wal_autocheckpoint=" WAL_CHECKPOINT_PAGES, err)))
		goto fail;
	if ((rc = read_version(c, &version, err)) || (rc = check_version(c, version, err)))
		goto fail;
	if (version < SCHEMA_VERSION && (rc = migrate(c, err)))
		goto fail;
prepare:
	if (sqlite3_prepare_v2(c->db,
			       "SELECT request, response, prompt_tokens, completion_tokens, "
			       "latency_ms, created, endpoint, insecure FROM responses WHERE key = ?1",
			       -1, &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT 1 FROM responses WHERE key = ?1", -1, &c->has,
			       NULL) != SQLITE_OK ||
	    (!c->readonly &&
	     sqlite3_prepare_v2(c->db,
			       "INSERT OR REPLACE INTO responses (key, host, request, response, "
			       "prompt_tokens, completion_tokens, latency_ms, created, endpoint, "
			       "insecure) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			       -1, &c->put, NULL) != SQLITE_OK)) {
		rc = db_err(c, err, "preparing statements");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	sx_cache_close(c);
	return rc;
}

void sx_cache_close(struct sx_cache *c)
{
	if (!c)
		return;
	sx_cache_flush(c, NULL);
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_finalize(c->has);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}

/* ---------------------------------------------------------------- get/put */

static char *column_dup(sqlite3_stmt *st, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	char *r = xmalloc(n + 1);

	if (n)
		memcpy(r, p, n);
	r[n] = '\0';
	if (len)
		*len = n;
	return r;
}

static long column_long(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(st, i);
}

int sx_cache_get(struct sx_cache *c, const char *key, struct sx_cache_entry *out,
		 struct sx_err *err)
{
	int rc, step;

	*out = (struct sx_cache_entry)SX_CACHE_ENTRY_INIT;
	sqlite3_bind_text(c->get, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(c->get);
	if (step == SQLITE_ROW) {
		out->request = column_dup(c->get, 0, &out->request_len);
		out->response = column_dup(c->get, 1, &out->response_len);
		out->prompt_tokens = column_long(c->get, 2);
		out->completion_tokens = column_long(c->get, 3);
		out->latency_ms = sqlite3_column_double(c->get, 4);
		out->created = sqlite3_column_double(c->get, 5);
		if (sqlite3_column_type(c->get, 6) != SQLITE_NULL)
			out->endpoint = column_dup(c->get, 6, NULL);
		out->insecure = (int)column_long(c->get, 7);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = SX_ENOTFOUND;
	} else {
		rc = db_err(c, err, "reading");
	}
	sqlite3_reset(c->get);
	sqlite3_clear_bindings(c->get);
	return rc;
}

int sx_cache_flush(struct sx_cache *c, struct sx_err *err)
{
	if (c)
		c->held = 0;
	if (!c || !c->in_txn)
		return 0;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(c, err, "committing");
	c->in_txn = 0;
	c->pending = 0;
	return 0;
}

void sx_cache_hold(struct sx_cache *c)
{
	if (c)
		c->held = 1;
}

int sx_cache_tick(struct sx_cache *c, struct sx_err *err)
{
	if (c && !c->held && c->in_txn && mono_now() - c->txn_start >= SX_CACHE_FLUSH_MS / 1000.0)
		return sx_cache_flush(c, err);
	return 0;
}

int sx_cache_put(struct sx_cache *c, const char *key, const char *host,
		 const struct sx_cache_entry *e, struct sx_err *err)
{
	int rc = 0;

	if (c->readonly)
		return sx_err_set(err, SX_EIO, "cache '%s' was opened for reading only", c->path);
	if (!c->in_txn) {
		if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return db_err(c, err, "starting a transaction");
		c->in_txn = 1;
		c->txn_start = mono_now();
	}
	sqlite3_bind_text(c->put, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(c->put, 2, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(c->put, 3, e->request, (int)e->request_len, SQLITE_STATIC);
	sqlite3_bind_text(c->put, 4, e->response, (int)e->response_len, SQLITE_STATIC);
	if (e->prompt_tokens >= 0)
		sqlite3_bind_int64(c->put, 5, e->prompt_tokens);
	if (e->completion_tokens >= 0)
		sqlite3_bind_int64(c->put, 6, e->completion_tokens);
	sqlite3_bind_double(c->put, 7, e->latency_ms);
	sqlite3_bind_double(c->put, 8, e->created > 0 ? e->created : wall_now());
	if (e->endpoint)
		sqlite3_bind_text(c->put, 9, e->endpoint, -1, SQLITE_STATIC);
	if (e->insecure >= 0)
		sqlite3_bind_int(c->put, 10, e->insecure ? 1 : 0);
	if (sqlite3_step(c->put) != SQLITE_DONE)
		rc = db_err(c, err, "writing");
	sqlite3_reset(c->put);
	sqlite3_clear_bindings(c->put);
	if (rc)
		return rc;
	c->pending++;
	if (c->held)
		return 0;
	if (c->pending >= SX_CACHE_FLUSH_ROWS)
		return sx_cache_flush(c, err);
	return sx_cache_tick(c, err);
}

void sx_cache_entry_release(struct sx_cache_entry *e)
{
	if (!e)
		return;
	free(e->request);
	free(e->response);
	free(e->endpoint);
	*e = (struct sx_cache_entry)SX_CACHE_ENTRY_INIT;
}

/* ------------------------------------------------------------------ stats */

int sx_cache_stats(struct sx_cache *c, struct sx_cache_stats *out, struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sx_cache_flush(c, err)))
		return rc;
	if (sqlite3_prepare_v2(c->db,
			       "SELECT count(*), coalesce(sum(length(CAST(request AS BLOB)) + "
			       "length(CAST(response AS BLOB))), 0), coalesce(sum(prompt_tokens), 0), "
			       "coalesce(sum(completion_tokens), 0), coalesce(min(created), 0), "
			       "coalesce(max(created), 0), count(*) - count(endpoint), "
			       "coalesce(sum(insecure = 1), 0) FROM responses",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = db_err(c, err, "computing statistics");
		goto out;
	}
	out->rows = (long)sqlite3_column_int64(st, 0);
	out->bytes = sqlite3_column_int64(st, 1);
	out->prompt_tokens = sqlite3_column_int64(st, 2);
	out->completion_tokens = sqlite3_column_int64(st, 3);
	out->oldest = sqlite3_column_double(st, 4);
	out->newest = sqlite3_column_double(st, 5);
	out->host_keyed = (long)sqlite3_column_int64(st, 6);
	out->insecure = (long)sqlite3_column_int64(st, 7);
	out->file_bytes = cache_file_bytes(c);
out:
	sqlite3_finalize(st);
	return rc;
}

/* ---------------------------------------------------------- export/import */

/*
 * The response of an export line. Bytes a server sent that are not UTF-8
 * would make the line unreadable to JSON readers: then "response" has them
 * as U+FFFD and "response_base64" the response exactly, which import takes.
 */
static void add_response(struct sx_buf *line, const char *s)
{
	size_t len = strlen(s);
	char *fixed, *b64;

	if (sx_utf8_valid(s, len)) {
		sx_buf_adds(line, s);
		return;
	}
	fixed = sx_utf8_repair(s, len);
	b64 = sx_base64(s, len);
	sx_buf_adds(line, fixed);
	sx_buf_addf(line, ",\"response_base64\":\"%s\"", b64);
	free(fixed);
	free(b64);
}

int sx_cache_export(struct sx_cache *c, FILE *out, long *rows, struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	struct sx_buf line = SX_BUF_INIT;
	struct sx_json *req = NULL, *resp = NULL;
	char *s;
	int rc = 0, step;
	long n = 0;

	if ((rc = sx_cache_flush(c, err)))
		return rc;
	if (sqlite3_prepare_v2(c->db,
			       "SELECT key, host, request, response, prompt_tokens, completion_tokens, "
			       "latency_ms, created, endpoint, insecure FROM responses "
			       "ORDER BY created, key",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(c, err, "reading");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *host = (const char *)sqlite3_column_text(st, 1);
		const char *rq = (const char *)sqlite3_column_text(st, 2);
		size_t rqlen = (size_t)sqlite3_column_bytes(st, 2);
		const char *rs;
		size_t rslen;

		req = sx_json_parse(rq ? rq : "", rq ? rqlen : 0, NULL);
		rs = (const char *)sqlite3_column_text(st, 3);
		rslen = (size_t)sqlite3_column_bytes(st, 3);
		resp = sx_json_parse(rs ? rs : "", rs ? rslen : 0, NULL);
		if (!req || !resp) {
			rc = sx_err_set(err, SX_EIO, "cache '%s': row '%s' does not hold json",
					c->path, key ? key : "?");
			goto out;
		}
		sx_buf_reset(&line);
		sx_buf_adds(&line, "{\"key\":");
		sx_buf_add_json_str(&line, key, strlen(key));
		sx_buf_adds(&line, ",\"host\":");
		sx_buf_add_json_str(&line, host ? host : "", host ? strlen(host) : 0);
		if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
			const char *ep = (const char *)sqlite3_column_text(st, 8);

			sx_buf_adds(&line, ",\"endpoint\":");
			sx_buf_add_json_str(&line, ep, strlen(ep));
		}
		if (sqlite3_column_type(st, 9) != SQLITE_NULL)
			sx_buf_addf(&line, ",\"insecure\":%s",
				    sqlite3_column_int(st, 9) ? "true" : "false");
		sx_buf_adds(&line, ",\"request\":");
		if (memchr(rq, '\n', rqlen)) {
			s = sx_json_print(req, 0);
			sx_buf_adds(&line, s);
			free(s);
		} else {
			sx_buf_add(&line, rq, rqlen);
		}
		sx_buf_adds(&line, ",\"response\":");
		s = sx_json_print(resp, 0);
		add_response(&line, s);
		free(s);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			sx_buf_addf(&line, ",\"prompt_tokens\":%lld",
				    (long long)sqlite3_column_int64(st, 4));
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			sx_buf_addf(&line, ",\"completion_tokens\":%lld",
				    (long long)sqlite3_column_int64(st, 5));
		sx_buf_addf(&line, ",\"latency_ms\":%.3f,\"created\":%.3f}\n",
			    sqlite3_column_double(st, 6), sqlite3_column_double(st, 7));
		sx_json_free(req);
		sx_json_free(resp);
		req = resp = NULL;
		if (fwrite(line.buf, 1, line.len, out) != line.len) {
			rc = sx_err_set(err, SX_EIO, "cannot write the export: %s", strerror(errno));
			goto out;
		}
		n++;
	}
	if (step != SQLITE_DONE)
		rc = db_err(c, err, "reading");
out:
	sx_json_free(req);
	sx_json_free(resp);
	sqlite3_finalize(st);
	sx_buf_release(&line);
	if (rows)
		*rows = n;
	return rc;
}

/*
 * The endpoint and host a line is keyed on (opts' rule, sx_cache_import_opts);
 * *endpoint NULL for a host-only key. The strings point into opts, the line
 * or bufs.
 */
static int import_endpoint(const struct sx_json *root, const struct sx_cache_import_opts *opts,
			   const char **endpoint, const char **host, struct sx_buf *epbuf,
			   struct sx_buf *hostbuf, struct sx_err *err)
{
	const char *line_ep = sx_json_get_str(root, "endpoint");
	const char *line_host = sx_json_get_str(root, "host");

	*endpoint = *host = NULL;
	if (opts->endpoint) {
		*endpoint = opts->endpoint;
		*host = opts->endpoint_host;
	} else if (opts->host) {
		*host = opts->host;
	} else if (line_ep && *line_ep) {
		if (!opts->normalise || opts->normalise(line_ep, epbuf, hostbuf))
			return sx_err_set(err, SX_EINPUT, "\"endpoint\" '%s' is not an http(s) URL",
					  line_ep);
		*endpoint = epbuf->buf;
		*host = hostbuf->buf;
	} else if (line_host && *line_host) {
		*host = line_host;
	} else if (opts->fallback_endpoint) {
		*endpoint = opts->fallback_endpoint;
		*host = opts->fallback_host;
	}
	if (!*host || !**host)
		return sx_err_set(err, SX_EINPUT, "no endpoint (pass --base-url)");
	return 0;
}

/* *yes: c holds a row for key. */
static int row_exists(struct sx_cache *c, const char *key, int *yes, struct sx_err *err)
{
	int step;

	sqlite3_bind_text(c->has, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(c->has);
	sqlite3_reset(c->has);
	sqlite3_clear_bindings(c->has);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_err(c, err, "reading");
	*yes = step == SQLITE_ROW;
	return 0;
}

static int import_line(struct sx_cache *c, const char *text, size_t len,
		       const struct sx_cache_import_opts *opts, struct sx_err *err)
{
	struct sx_json *root = sx_json_parse(text, len, err);
	struct sx_buf canon = SX_BUF_INIT, epbuf = SX_BUF_INIT, hostbuf = SX_BUF_INIT;
	struct sx_chat_answer ans = SX_CHAT_ANSWER_INIT;
	struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
	const struct sx_json *req, *resp, *insecure;
	const char *endpoint, *host;
	char *reqtext = NULL, *resptext = NULL, key[65];
	double d;
	int rc = SX_EINPUT, flag = 0, exists = 0;

	if (!root)
		return SX_EINPUT;
	req = sx_json_get(root, "request");
	resp = sx_json_get(root, "response");
	if (sx_json_type_of(req) != SX_JSON_OBJECT || sx_json_type_of(resp) != SX_JSON_OBJECT) {
		sx_err_set(err, SX_EINPUT, "expected an object with \"request\" and \"response\" objects");
		goto out;
	}
	if ((rc = import_endpoint(root, opts, &endpoint, &host, &epbuf, &hostbuf, err)))
		goto out;
	insecure = sx_json_get(root, "insecure");
	if (insecure && sx_json_bool(insecure, &flag)) {
		rc = sx_err_set(err, SX_EINPUT, "\"insecure\" is not true or false");
		goto out;
	}
	reqtext = sx_json_print(req, 0);
	if ((rc = sx_chat_request_canonical(reqtext, strlen(reqtext), &canon, err)))
		goto out;
	if (sx_json_get_str(root, "response_base64")) {
		size_t rlen;

		/* the exact bytes of a response that is not UTF-8 (see add_response) */
		resptext = sx_base64_decode(sx_json_get_str(root, "response_base64"), &rlen);
		if (!resptext || strlen(resptext) != rlen) {
			rc = sx_err_set(err, SX_EINPUT, "\"response_base64\" is not base64 of a response");
			goto out;
		}
	} else {
		resptext = sx_json_print(resp, 0);
	}
	if ((rc = sx_chat_decode(resptext, strlen(resptext), &ans, err)))
		goto out;
	sx_cache_key(endpoint ? endpoint : host, canon.buf, canon.len, key);
	if ((rc = row_exists(c, key, &exists, err)))
		goto out;
	if (exists && opts->keep_existing) {
		if (opts->counts)
			opts->counts->kept++;
		goto out;
	}
	e.request = canon.buf;
	e.request_len = canon.len;
	e.response = resptext;
	e.response_len = strlen(resptext);
	e.endpoint = (char *)endpoint;
	e.insecure = insecure ? flag : endpoint ? 0 : -1;
	e.prompt_tokens = ans.prompt_tokens;
	e.completion_tokens = ans.completion_tokens;
	if (!sx_json_get_num(root, "latency_ms", &d) && d >= 0)
		e.latency_ms = d;
	if (!sx_json_get_num(root, "created", &d) && d > 0)
		e.created = d;
	rc = sx_cache_put(c, key, host, &e, err);
	if (!rc && opts->counts) {
		if (exists)
			opts->counts->replaced++;
		else
			opts->counts->added++;
	}
out:
	sx_chat_answer_release(&ans);
	sx_buf_release(&canon);
	sx_buf_release(&epbuf);
	sx_buf_release(&hostbuf);
	free(reqtext);
	free(resptext);
	sx_json_free(root);
	return rc;
}

int sx_cache_import(struct sx_cache *c, const char *path, const struct sx_cache_import_opts *opts,
		    long *rows, struct sx_err *err)
{
	FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	long lineno = 0, n = 0;
	int rc = 0;

	if (!in)
		return sx_err_set(err, SX_EIO, "cannot read '%s': %s", path, strerror(errno));
	while ((got = getline(&line, &cap, in)) >= 0) {
		size_t len = (size_t)got;

		lineno++;
		if ((size_t)got > SX_CACHE_MAX_LINE) {
			rc = sx_err_set(err, SX_EINPUT, "'%s' line %ld: longer than %u bytes", path,
					lineno, SX_CACHE_MAX_LINE);
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		if ((rc = import_line(c, line, len, opts, err))) {
			if (rc == SX_EINPUT)
				sx_err_prefix(err, "'%s' line %ld", path, lineno);
			break;
		}
		n++;
	}
	if (!rc && ferror(in))
		rc = sx_err_set(err, SX_EIO, "cannot read '%s': %s", path, strerror(errno));
	free(line);
	if (in != stdin)
		fclose(in);
	if (rows)
		*rows = n;
	if (!rc)
		rc = sx_cache_flush(c, err);
	else
		sx_cache_flush(c, NULL);
	return rc;
}

int sx_cache_vacuum(struct sx_cache *c, long long *before, long long *after, struct sx_err *err)
{
	int rc;

	if ((rc = sx_cache_flush(c, err)))
		return rc;
	if (before)
		*before = cache_file_bytes(c);
	if ((rc = exec(c, "PRAGMA wal_checkpoint(TRUNCATE)", err)) || (rc = exec(c, "VACUUM", err)) ||
	    (rc = exec(c, "PRAGMA wal_checkpoint(TRUNCATE)", err)))
		return rc;
	if (after)
		*after = cache_file_bytes(c);
	return 0;
}

/* ---------------------------------------------------------------- merge */

/* Two logprobs equal, NaN included. */
static int same_lp(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/*
 * Two responses give the same answer: the same text of every choice, the
 * same finish reason and label logprobs. The envelope (id, created, usage
 * timings) may differ between two fetches of one request.
 */
static int same_answer(const char *a, size_t alen, const char *b, size_t blen)
{
	struct sx_chat_answer x = SX_CHAT_ANSWER_INIT, y = SX_CHAT_ANSWER_INIT;
	int same = 0;
	size_t i;

	if (alen == blen && !memcmp(a ? a : "", b ? b : "", alen))
		return 1;
	if (!sx_chat_decode(a, alen, &x, NULL) && !sx_chat_decode(b, blen, &y, NULL)) {
		same = !strcmp(x.content, y.content) && x.nchoices == y.nchoices &&
		       !strcmp(x.finish_reason ? x.finish_reason : "", y.finish_reason ? y.finish_reason : "") &&
		       same_lp(x.logprob_0, y.logprob_0) && same_lp(x.logprob_1, y.logprob_1);
		for (i = 0; same && i < x.nchoices; i++)
			same = !strcmp(x.choices[i], y.choices[i]);
	}
	sx_chat_answer_release(&x);
	sx_chat_answer_release(&y);
	return same;
}

/* One row of src into c: copied, the same, or a conflict. */
static int merge_row(struct sx_cache *c, sqlite3_stmt *st, struct sx_cache_merge_stats *ms,
		     struct sx_err *err)
{
	struct sx_cache_entry have = SX_CACHE_ENTRY_INIT, e = SX_CACHE_ENTRY_INIT;
	const char *key = (const char *)sqlite3_column_text(st, 0);
	const char *host = (const char *)sqlite3_column_text(st, 1);
	int rc;

	if (!key)
		return 0;
	rc = sx_cache_get(c, key, &have, err);
	if (rc && rc != SX_ENOTFOUND)
		return rc;
	e.response = (char *)sqlite3_column_text(st, 3);
	e.response_len = (size_t)sqlite3_column_bytes(st, 3);
	if (rc == 0) {
		if (same_answer(have.response, have.response_len, e.response, e.response_len)) {
			ms->same++;
		} else if (!ms->conflicts++) {
			snprintf(ms->first_conflict, sizeof(ms->first_conflict), "%s", key);
		}
		sx_cache_entry_release(&have);
		return 0;
	}
	e.request = (char *)sqlite3_column_text(st, 2);
	e.request_len = (size_t)sqlite3_column_bytes(st, 2);
	e.prompt_tokens = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
	e.completion_tokens = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1
									 : sqlite3_column_int64(st, 5);
	e.latency_ms = sqlite3_column_double(st, 6);
	e.created = sqlite3_column_double(st, 7);
	e.endpoint = (char *)sqlite3_column_text(st, 8);
	e.insecure = sqlite3_column_type(st, 9) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 9);
	rc = sx_cache_put(c, key, host ? host : "", &e, err);
	if (!rc)
		ms->added++;
	return rc;
}

int sx_cache_merge_from(struct sx_cache *c, const char *src, struct sx_cache_merge_stats *ms,
			struct sx_err *err)
{
	struct sx_cache *in = NULL;
	sqlite3_stmt *st = NULL;
	int rc, step;

	memset(ms, 0, sizeof(*ms));
	rc = sx_cache_open(src, 0, &in, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(in->db,
			       "SELECT key, host, request, response, prompt_tokens, completion_tokens, "
			       "latency_ms, created, endpoint, insecure FROM responses ORDER BY created, key",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(in, err, "reading");
		goto out;
	}
	sx_cache_hold(c);
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = merge_row(c, st, ms, err);
	if (!rc && step != SQLITE_DONE)
		rc = db_err(in, err, "reading");
	if (!rc)
		rc = sx_cache_flush(c, err);
out:
	sqlite3_finalize(st);
	sx_cache_close(in);
	return rc;
}
