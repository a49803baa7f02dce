#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zdict.h>
#include <zstd.h>

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
 * insecure columns (NULL in the rows a version 1 file had); 3: the compact
 * table `answers` (docs/cache.md), beside the `responses` table of the rows
 * written before, which stay as they are until `cache compact`.
 */
#define SCHEMA_VERSION 3
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
/*
 * Checkpoint the write-ahead log every this many pages (SQLite's default is
 * 1000): each checkpoint costs two fsyncs that stall the engine's loop, and
 * a run writes a page or more per answer.
 */
#define WAL_CHECKPOINT_PAGES "8000"
/* Rows compressed without a dictionary before one is trained from them. */
#define DICT_TRAIN_ROWS 1000
/* The samples a dictionary is trained on, and its size. */
#define DICT_SAMPLES 4000
#define DICT_BYTES (48u * 1024u)
#define ZSTD_LEVEL 3
/* The level `cache compact` writes with (slower to write, as fast to read). */
#define ZSTD_LEVEL_COMPACT 12
/* A stored answer larger than this (decompressed) is refused as corrupt. */
#define MAX_ROW_BYTES (64u * 1024u * 1024u)

struct dict {
	long id;
	ZSTD_CDict *cdict; /* owned */
	ZSTD_DDict *ddict; /* owned */
};

struct sx_cache {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *get_legacy, *put, *has, *has_legacy, *del_legacy, *ep_find, *ep_add;
	int readonly; /* SX_CACHE_READONLY: opened for reading only */
	int legacy;   /* the file has rows of schema version 2 or older (table responses) */
	int in_txn;
	int held;     /* sx_cache_hold: commit only at the next flush */
	long pending;
	double txn_start; /* monotonic seconds */
	ZSTD_CCtx *cctx;  /* owned */
	ZSTD_DCtx *dctx;  /* owned */
	struct dict *dicts; /* owned, ndicts */
	size_t ndicts, dicts_alloc;
	long cur_dict;    /* the dictionary new rows are compressed with, 0: none yet */
	long plain_rows;  /* rows compressed without one (training at DICT_TRAIN_ROWS) */
	int level;
	/* the last endpoint row looked up: its id */
	long ep_id;
	char *ep_host, *ep_endpoint; /* owned */
	int ep_insecure;
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
 * The table of schema versions 1 and 2, kept in the files that have one
 * (their rows are read as they are; `cache compact` moves them to answers).
 * No index on created: only export sorts by it and stats reads its range,
 * both rare. The last two columns are those version 2 added (and ALTER TABLE
 * adds to a version 1 file, in the same order).
 */
static const char legacy_schema[] =
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

/*
 * Schema version 3 (docs/cache.md): the key as its 32 bytes in a table
 * without rowid (stored once, in the B-tree that finds it); the endpoint,
 * host and TLS flag once per endpoint; request and response as one zstd
 * frame, compressed with a dictionary trained on the file's own rows.
 *   ep     endpoints.id
 *   dict   dicts.id of the dictionary, 0: none
 *   rlen   bytes of the request at the start of the decompressed data
 *   size   bytes of request and response (decompressed)
 */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS answers ("
	" key BLOB PRIMARY KEY NOT NULL,"
	" ep INTEGER NOT NULL,"
	" dict INTEGER NOT NULL,"
	" rlen INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" data BLOB NOT NULL,"
	" prompt_tokens INTEGER,"
	" completion_tokens INTEGER,"
	" latency_ms REAL,"
	" created REAL NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS endpoints ("
	" id INTEGER PRIMARY KEY,"
	" host TEXT NOT NULL,"
	" endpoint TEXT,"
	" insecure INTEGER"
	");"
	"CREATE TABLE IF NOT EXISTS dicts ("
	" id INTEGER PRIMARY KEY,"
	" dict BLOB NOT NULL,"
	" created REAL NOT NULL"
	");";

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
static int has_table(struct sx_cache *c, const char *schema_name, const char *name, int *yes,
		     struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	char sql[128];
	int step, rc = 0;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s.sqlite_master WHERE name = ?1", schema_name);
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(c, err, "reading the tables");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW || step == SQLITE_DONE)
		*yes = step == SQLITE_ROW;
	else
		rc = db_err(c, err, "reading the tables");
	sqlite3_finalize(st);
	return rc;
}

/*
 * Bring a file below SCHEMA_VERSION up to it, inside one write transaction:
 * another process opening the file at the same moment waits for the lock
 * (the busy timeout), then reads the version again and finds nothing to do.
 * A new file gets the version 3 tables only; a file with a responses table
 * (version 1 or 2, or one a crash left without its version number) keeps it,
 * with the columns a version 1 table lacks added, and gets the new tables
 * beside it.
 */
static int migrate(struct sx_cache *c, struct sx_err *err)
{
	size_t i;
	int rc, version = 0, yes = 0, legacy = 0;

	if ((rc = exec(c, "BEGIN IMMEDIATE", err)))
		return rc;
	if ((rc = read_version(c, &version, err)) || (rc = check_version(c, version, err)))
		goto fail;
	if (version == SCHEMA_VERSION)
		return exec(c, "COMMIT", err);
	if ((rc = has_table(c, "main", "responses", &legacy, err)))
		goto fail;
	if (legacy || (version > 0 && version < 3)) {
		if ((rc = exec(c, legacy_schema, err)))
			goto fail;
		for (i = 0; i < sizeof(added_columns) / sizeof(added_columns[0]); i++)
			if ((rc = has_column(c, added_columns[i][0], &yes, err)) ||
			    (!yes && (rc = exec(c, added_columns[i][1], err))))
				goto fail;
	}
	if ((rc = exec(c, schema, err)) ||
	    (rc = exec(c, "PRAGMA user_version=" STRINGIFY(SCHEMA_VERSION), err)) ||
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
 * The tables every statement reads, whatever the file's version: what the
 * file lacks is stood in for by temporary ones (temp is searched before
 * main), empty, so nothing is written to the file. A version 1 table opened
 * read-only, which cannot be migrated, is read through a view that gives it
 * the columns version 2 added, NULL in every row, as the migration would.
 */
static int stand_ins(struct sx_cache *c, struct sx_err *err)
{
	int yes = 0, rc;

	if ((rc = has_table(c, "main", "responses", &c->legacy, err)))
		return rc;
	if (!c->legacy) {
		if ((rc = exec(c, "CREATE TEMP TABLE responses (key TEXT PRIMARY KEY, host TEXT, "
			       "request TEXT, response TEXT, prompt_tokens INTEGER, "
			       "completion_tokens INTEGER, latency_ms REAL, created REAL, "
			       "endpoint TEXT, insecure INTEGER)", err)))
			return rc;
	} else {
		if ((rc = has_column(c, "endpoint", &yes, err)))
			return rc;
		if (!yes && (rc = exec(c,
				       "CREATE TEMP VIEW responses AS SELECT key, host, request, "
				       "response, prompt_tokens, completion_tokens, latency_ms, "
				       "created, NULL AS endpoint, NULL AS insecure FROM "
				       "main.responses",
				       err)))
			return rc;
	}
	if ((rc = has_table(c, "main", "answers", &yes, err)))
		return rc;
	if (!yes) {
		struct sx_buf temp = SX_BUF_INIT;
		const char *p;

		/* the version 3 schema, each table temporary */
		for (p = schema; *p; p++) {
			if (!strncmp(p, "CREATE TABLE IF NOT EXISTS ", 27)) {
				sx_buf_adds(&temp, "CREATE TEMP TABLE ");
				p += 26;
			} else {
				sx_buf_addch(&temp, *p);
			}
		}
		rc = exec(c, temp.buf, err);
		sx_buf_release(&temp);
	}
	return rc;
}

static int load_dicts(struct sx_cache *c, struct sx_err *err);
static int prepare(struct sx_cache *c, struct sx_err *err);

/*
 * sx_cache_open; with exclusive (cache compact), the file is locked for this
 * connection alone before anything is read or migrated, and stays so until
 * it is closed: SX_EIO "in use" when another process has it open.
 */
static int open_cache(const char *path, int flags, int exclusive, struct sx_cache **out,
		      struct sx_err *err);

int sx_cache_open(const char *path, int flags, struct sx_cache **out, struct sx_err *err)
{
	return open_cache(path, flags, 0, out, err);
}

static int open_cache(const char *path, int flags, int exclusive, struct sx_cache **out,
		      struct sx_err *err)
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
		    (rc = check_version(c, version, err)))
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
	if (exclusive) {
		sqlite3_busy_timeout(c->db, SX_CACHE_COMPACT_WAIT_MS);
		if (sqlite3_exec(c->db, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL) !=
			    SQLITE_OK ||
		    sqlite3_exec(c->db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK) {
			rc = sx_err_set(err, SX_EIO, "cache '%s' is in use by another process (%s); "
					"compact it when no run uses it", path,
					sqlite3_errmsg(c->db));
			goto fail;
		}
		/* the lock stays after the commit (locking mode exclusive) */
		if ((rc = exec(c, "COMMIT", err)))
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
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	c->level = ZSTD_LEVEL;
	if (!c->cctx || !c->dctx) {
		rc = sx_err_set(err, SX_EIO, "out of memory (zstd)");
		goto fail;
	}
	if ((rc = stand_ins(c, err)) || (rc = load_dicts(c, err)) || (rc = prepare(c, err)))
		goto fail;
	*out = c;
	return 0;
fail:
	sx_cache_close(c);
	return rc;
}

void sx_cache_close(struct sx_cache *c)
{
	size_t i;

	if (!c)
		return;
	sx_cache_flush(c, NULL);
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->get_legacy);
	sqlite3_finalize(c->put);
	sqlite3_finalize(c->has);
	sqlite3_finalize(c->has_legacy);
	sqlite3_finalize(c->del_legacy);
	sqlite3_finalize(c->ep_find);
	sqlite3_finalize(c->ep_add);
	sqlite3_close(c->db);
	for (i = 0; i < c->ndicts; i++) {
		ZSTD_freeCDict(c->dicts[i].cdict);
		ZSTD_freeDDict(c->dicts[i].ddict);
	}
	free(c->dicts);
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c->ep_host);
	free(c->ep_endpoint);
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

/* The 32 bytes of a key given as 64 hex digits; -1 when it is not one. */
static int key_bytes(const char *key, unsigned char out[32])
{
	size_t i;

	if (strlen(key) != 64)
		return -1;
	for (i = 0; i < 64; i++) {
		int c = key[i], v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return -1;
		if (i % 2)
			out[i / 2] = (unsigned char)(out[i / 2] | v);
		else
			out[i / 2] = (unsigned char)(v << 4);
	}
	return 0;
}

static struct dict *find_dict(struct sx_cache *c, long id)
{
	size_t i;

	for (i = 0; i < c->ndicts; i++)
		if (c->dicts[i].id == id)
			return &c->dicts[i];
	return NULL;
}

static int add_dict(struct sx_cache *c, long id, const void *buf, size_t len, struct sx_err *err)
{
	struct dict *d;

	if (find_dict(c, id))
		return 0;
	SX_GROW(c->dicts, c->dicts_alloc, c->ndicts + 1);
	d = &c->dicts[c->ndicts];
	d->id = id;
	d->cdict = c->readonly ? NULL : ZSTD_createCDict(buf, len, c->level);
	d->ddict = ZSTD_createDDict(buf, len);
	if ((!c->readonly && !d->cdict) || !d->ddict) {
		ZSTD_freeCDict(d->cdict);
		ZSTD_freeDDict(d->ddict);
		return sx_err_set(err, SX_EIO, "cache '%s': dictionary %ld is not a zstd dictionary; "
				  "the file is corrupt: move it away or pass another --cache",
				  c->path, id);
	}
	c->ndicts++;
	if (id > c->cur_dict)
		c->cur_dict = id;
	return 0;
}

/* Every dictionary of the file (another process may have added one since we looked). */
static int load_dicts(struct sx_cache *c, struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	if (sqlite3_prepare_v2(c->db, "SELECT id, dict FROM dicts ORDER BY id", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(c, err, "reading the dictionaries");
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = add_dict(c, (long)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
			      (size_t)sqlite3_column_bytes(st, 1), err);
	if (!rc && step != SQLITE_DONE)
		rc = db_err(c, err, "reading the dictionaries");
	sqlite3_finalize(st);
	if (!rc && !c->cur_dict && !c->readonly) {
		/* rows waiting for the first dictionary */
		if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM answers WHERE dict = 0", -1, &st,
				       NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
			rc = db_err(c, err, "counting rows");
		else
			c->plain_rows = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return rc;
}

static int prepare(struct sx_cache *c, struct sx_err *err)
{
	static const struct {
		size_t off;
		int write;
		const char *sql;
	} stmts[] = {
		{ offsetof(struct sx_cache, get), 0,
		  "SELECT a.data, a.dict, a.rlen, a.size, a.prompt_tokens, a.completion_tokens, "
		  "a.latency_ms, a.created, e.endpoint, e.insecure FROM answers a "
		  "JOIN endpoints e ON e.id = a.ep WHERE a.key = ?1" },
		{ offsetof(struct sx_cache, get_legacy), 0,
		  "SELECT request, response, prompt_tokens, completion_tokens, latency_ms, created, "
		  "endpoint, insecure FROM responses WHERE key = ?1" },
		{ offsetof(struct sx_cache, has), 0, "SELECT 1 FROM answers WHERE key = ?1" },
		{ offsetof(struct sx_cache, has_legacy), 0, "SELECT 1 FROM responses WHERE key = ?1" },
		{ offsetof(struct sx_cache, put), 1,
		  "INSERT OR REPLACE INTO answers (key, ep, dict, rlen, size, data, prompt_tokens, "
		  "completion_tokens, latency_ms, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
		  "?9, ?10)" },
		{ offsetof(struct sx_cache, del_legacy), 1, "DELETE FROM responses WHERE key = ?1" },
		{ offsetof(struct sx_cache, ep_find), 0,
		  "SELECT id FROM endpoints WHERE host = ?1 AND endpoint IS ?2 AND insecure IS ?3" },
		{ offsetof(struct sx_cache, ep_add), 1,
		  "INSERT INTO endpoints (host, endpoint, insecure) VALUES (?1, ?2, ?3)" },
	};
	size_t i;

	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_stmt **st = (sqlite3_stmt **)((char *)c + stmts[i].off);

		if (stmts[i].write && c->readonly)
			continue;
		if (sqlite3_prepare_v2(c->db, stmts[i].sql, -1, st, NULL) != SQLITE_OK)
			return db_err(c, err, "preparing statements");
	}
	return 0;
}

/* Decompress a row's data into out (request and response, NUL-terminated each). */
static int row_decode(struct sx_cache *c, const char *key, const void *data, size_t len,
		      long dict_id, size_t rlen, size_t size, struct sx_cache_entry *out,
		      struct sx_err *err)
{
	struct dict *d = NULL;
	char *buf;
	size_t got;
	int rc;

	if (dict_id && !(d = find_dict(c, dict_id))) {
		if ((rc = load_dicts(c, err)))
			return rc;
		d = find_dict(c, dict_id);
	}
	if ((dict_id && !d) || size > MAX_ROW_BYTES || rlen > size)
		return sx_err_set(err, SX_EIO, "cache '%s': row '%s' is corrupt (dictionary %ld, "
				  "%zu bytes); move the file away or pass another --cache",
				  c->path, key, dict_id, size);
	buf = xmalloc(size + 2);
	got = d ? ZSTD_decompress_usingDDict(c->dctx, buf, size, data, len, d->ddict)
		: ZSTD_decompressDCtx(c->dctx, buf, size, data, len);
	if (ZSTD_isError(got) || got != size) {
		free(buf);
		return sx_err_set(err, SX_EIO, "cache '%s': row '%s' does not decompress (%s); move "
				  "the file away or pass another --cache", c->path, key,
				  ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");
	}
	/* request NUL response NUL */
	out->request = xmalloc(rlen + 1);
	memcpy(out->request, buf, rlen);
	out->request[rlen] = '\0';
	out->request_len = rlen;
	out->response_len = size - rlen;
	memmove(buf, buf + rlen, size - rlen);
	buf[size - rlen] = '\0';
	out->response = buf;
	return 0;
}

/* Fill out from the current row of st (the columns of the get statement). */
static int answer_row(struct sx_cache *c, const char *key, sqlite3_stmt *st, int col,
		      struct sx_cache_entry *out, struct sx_err *err)
{
	int rc = row_decode(c, key, sqlite3_column_blob(st, col),
			    (size_t)sqlite3_column_bytes(st, col),
			    (long)sqlite3_column_int64(st, col + 1),
			    (size_t)sqlite3_column_int64(st, col + 2),
			    (size_t)sqlite3_column_int64(st, col + 3), out, err);

	if (rc)
		return rc;
	out->prompt_tokens = column_long(st, col + 4);
	out->completion_tokens = column_long(st, col + 5);
	out->latency_ms = sqlite3_column_double(st, col + 6);
	out->created = sqlite3_column_double(st, col + 7);
	if (sqlite3_column_type(st, col + 8) != SQLITE_NULL)
		out->endpoint = column_dup(st, col + 8, NULL);
	out->insecure = (int)column_long(st, col + 9);
	return 0;
}

static void legacy_row(sqlite3_stmt *st, struct sx_cache_entry *out)
{
	out->request = column_dup(st, 0, &out->request_len);
	out->response = column_dup(st, 1, &out->response_len);
	out->prompt_tokens = column_long(st, 2);
	out->completion_tokens = column_long(st, 3);
	out->latency_ms = sqlite3_column_double(st, 4);
	out->created = sqlite3_column_double(st, 5);
	if (sqlite3_column_type(st, 6) != SQLITE_NULL)
		out->endpoint = column_dup(st, 6, NULL);
	out->insecure = (int)column_long(st, 7);
}

int sx_cache_get(struct sx_cache *c, const char *key, struct sx_cache_entry *out,
		 struct sx_err *err)
{
	unsigned char kb[32];
	int rc = SX_ENOTFOUND, step;

	*out = (struct sx_cache_entry)SX_CACHE_ENTRY_INIT;
	if (!key_bytes(key, kb)) {
		sqlite3_bind_blob(c->get, 1, kb, 32, SQLITE_STATIC);
		step = sqlite3_step(c->get);
		if (step == SQLITE_ROW)
			rc = answer_row(c, key, c->get, 0, out, err);
		else if (step != SQLITE_DONE)
			rc = db_err(c, err, "reading");
		sqlite3_reset(c->get);
		sqlite3_clear_bindings(c->get);
		if (rc != SX_ENOTFOUND) {
			if (rc)
				sx_cache_entry_release(out);
			return rc;
		}
	}
	if (!c->legacy)
		return SX_ENOTFOUND;
	sqlite3_bind_text(c->get_legacy, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(c->get_legacy);
	if (step == SQLITE_ROW) {
		legacy_row(c->get_legacy, out);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = SX_ENOTFOUND;
	} else {
		rc = db_err(c, err, "reading");
	}
	sqlite3_reset(c->get_legacy);
	sqlite3_clear_bindings(c->get_legacy);
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

/* The endpoints row of (host, endpoint, insecure), added when missing. */
static int endpoint_id(struct sx_cache *c, const char *host, const char *endpoint, int insecure,
		       long *id, struct sx_err *err)
{
	int step;

	if (c->ep_id && !strcmp(c->ep_host, host) && c->ep_insecure == insecure &&
	    (endpoint ? c->ep_endpoint && !strcmp(c->ep_endpoint, endpoint) : !c->ep_endpoint)) {
		*id = c->ep_id;
		return 0;
	}
	sqlite3_bind_text(c->ep_find, 1, host, -1, SQLITE_STATIC);
	if (endpoint)
		sqlite3_bind_text(c->ep_find, 2, endpoint, -1, SQLITE_STATIC);
	if (insecure >= 0)
		sqlite3_bind_int(c->ep_find, 3, insecure ? 1 : 0);
	step = sqlite3_step(c->ep_find);
	*id = step == SQLITE_ROW ? (long)sqlite3_column_int64(c->ep_find, 0) : 0;
	sqlite3_reset(c->ep_find);
	sqlite3_clear_bindings(c->ep_find);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_err(c, err, "reading the endpoints");
	if (!*id) {
		sqlite3_bind_text(c->ep_add, 1, host, -1, SQLITE_STATIC);
		if (endpoint)
			sqlite3_bind_text(c->ep_add, 2, endpoint, -1, SQLITE_STATIC);
		if (insecure >= 0)
			sqlite3_bind_int(c->ep_add, 3, insecure ? 1 : 0);
		step = sqlite3_step(c->ep_add);
		sqlite3_reset(c->ep_add);
		sqlite3_clear_bindings(c->ep_add);
		if (step != SQLITE_DONE)
			return db_err(c, err, "writing the endpoints");
		*id = (long)sqlite3_last_insert_rowid(c->db);
	}
	/* the memo only outside a transaction that could roll back: ids are stable once committed */
	free(c->ep_host);
	free(c->ep_endpoint);
	c->ep_host = xstrdup(host);
	c->ep_endpoint = endpoint ? xstrdup(endpoint) : NULL;
	c->ep_insecure = insecure;
	c->ep_id = *id;
	return 0;
}

/* Compress request and response as one frame, with the current dictionary; owned by *out. */
static int compress_row(struct sx_cache *c, const char *rq, size_t rqlen, const char *rs,
			size_t rslen, struct sx_buf *out, long *dict_id, struct sx_err *err)
{
	struct sx_buf raw = SX_BUF_INIT;
	struct dict *d = c->cur_dict ? find_dict(c, c->cur_dict) : NULL;
	size_t bound, n;

	sx_buf_grow(&raw, rqlen + rslen);
	sx_buf_add(&raw, rq, rqlen);
	sx_buf_add(&raw, rs, rslen);
	bound = ZSTD_compressBound(raw.len);
	sx_buf_reset(out);
	sx_buf_grow(out, bound);
	n = d ? ZSTD_compress_usingCDict(c->cctx, out->buf, bound, raw.buf, raw.len, d->cdict)
	      : ZSTD_compressCCtx(c->cctx, out->buf, bound, raw.buf, raw.len, c->level);
	sx_buf_release(&raw);
	if (ZSTD_isError(n))
		return sx_err_set(err, SX_EIO, "cache '%s': cannot compress a row: %s", c->path,
				  ZSTD_getErrorName(n));
	out->len = n;
	*dict_id = d ? d->id : 0;
	return 0;
}

static int put_row(struct sx_cache *c, const unsigned char kb[32], long ep,
		   const struct sx_cache_entry *e, struct sx_err *err)
{
	struct sx_buf data = SX_BUF_INIT;
	long dict_id = 0;
	int rc;

	if ((rc = compress_row(c, e->request, e->request_len, e->response, e->response_len, &data,
			       &dict_id, err)))
		goto out;
	sqlite3_bind_blob(c->put, 1, kb, 32, SQLITE_STATIC);
	sqlite3_bind_int64(c->put, 2, ep);
	sqlite3_bind_int64(c->put, 3, dict_id);
	sqlite3_bind_int64(c->put, 4, (sqlite3_int64)e->request_len);
	sqlite3_bind_int64(c->put, 5, (sqlite3_int64)(e->request_len + e->response_len));
	sqlite3_bind_blob(c->put, 6, data.buf, (int)data.len, SQLITE_STATIC);
	if (e->prompt_tokens >= 0)
		sqlite3_bind_int64(c->put, 7, e->prompt_tokens);
	if (e->completion_tokens >= 0)
		sqlite3_bind_int64(c->put, 8, e->completion_tokens);
	sqlite3_bind_double(c->put, 9, e->latency_ms);
	sqlite3_bind_double(c->put, 10, e->created > 0 ? e->created : wall_now());
	if (sqlite3_step(c->put) != SQLITE_DONE)
		rc = db_err(c, err, "writing");
	sqlite3_reset(c->put);
	sqlite3_clear_bindings(c->put);
	if (!rc && !dict_id)
		c->plain_rows++;
out:
	sx_buf_release(&data);
	return rc;
}

/*
 * The first dictionary, once DICT_TRAIN_ROWS rows are stored without one:
 * trained on them (zstd's ZDICT), stored, and those rows recompressed with
 * it, in the writer's transaction (another process that trained one first
 * is found here and its dictionary taken instead).
 */
static int train_dict(struct sx_cache *c, struct sx_err *err);

int sx_cache_put(struct sx_cache *c, const char *key, const char *host,
		 const struct sx_cache_entry *e, struct sx_err *err)
{
	unsigned char kb[32];
	long ep = 0;
	int rc = 0;

	if (c->readonly)
		return sx_err_set(err, SX_EIO, "cache '%s' was opened for reading only", c->path);
	if (key_bytes(key, kb))
		return sx_err_set(err, SX_EINPUT, "cache key '%s' is not 64 hex digits", key);
	if (!c->in_txn) {
		if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return db_err(c, err, "starting a transaction");
		c->in_txn = 1;
		c->txn_start = mono_now();
		c->ep_id = 0; /* another process may have written since */
	}
	if ((rc = endpoint_id(c, host, e->endpoint, e->insecure, &ep, err)) ||
	    (rc = put_row(c, kb, ep, e, err)))
		return rc;
	if (c->legacy) {
		/* the answer replaces the row an older version wrote */
		sqlite3_bind_text(c->del_legacy, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(c->del_legacy) != SQLITE_DONE)
			rc = db_err(c, err, "writing");
		sqlite3_reset(c->del_legacy);
		sqlite3_clear_bindings(c->del_legacy);
		if (rc)
			return rc;
	}
	if (!c->cur_dict && c->plain_rows >= DICT_TRAIN_ROWS && (rc = train_dict(c, err)))
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
			       "SELECT sum(n), sum(bytes), sum(stored), sum(pt), sum(ct), min(lo), "
			       "max(hi), sum(hk), sum(ins) FROM ("
			       "SELECT count(*) AS n, coalesce(sum(a.size), 0) AS bytes, "
			       "coalesce(sum(length(a.data)), 0) AS stored, "
			       "coalesce(sum(a.prompt_tokens), 0) AS pt, "
			       "coalesce(sum(a.completion_tokens), 0) AS ct, min(a.created) AS lo, "
			       "max(a.created) AS hi, coalesce(sum(e.endpoint IS NULL), 0) AS hk, "
			       "coalesce(sum(e.insecure = 1), 0) AS ins "
			       "FROM answers a JOIN endpoints e ON e.id = a.ep "
			       "UNION ALL SELECT count(*), coalesce(sum(length(CAST(request AS BLOB)) + "
			       "length(CAST(response AS BLOB))), 0), coalesce(sum(length(CAST(request AS "
			       "BLOB)) + length(CAST(response AS BLOB))), 0), "
			       "coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
			       "min(created), max(created), count(*) - count(endpoint), "
			       "coalesce(sum(insecure = 1), 0) FROM responses)",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = db_err(c, err, "computing statistics");
		goto out;
	}
	out->rows = (long)sqlite3_column_int64(st, 0);
	out->bytes = sqlite3_column_int64(st, 1);
	out->stored_bytes = sqlite3_column_int64(st, 2);
	out->prompt_tokens = sqlite3_column_int64(st, 3);
	out->completion_tokens = sqlite3_column_int64(st, 4);
	out->oldest = sqlite3_column_double(st, 5);
	out->newest = sqlite3_column_double(st, 6);
	out->host_keyed = (long)sqlite3_column_int64(st, 7);
	out->insecure = (long)sqlite3_column_int64(st, 8);
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM responses", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = db_err(c, err, "computing statistics");
		goto out;
	}
	out->legacy_rows = (long)sqlite3_column_int64(st, 0);
	out->dictionaries = (long)c->ndicts;
	out->file_bytes = cache_file_bytes(c);
out:
	sqlite3_finalize(st);
	return rc;
}

/* ------------------------------------------------------------ dictionary */

static int train_dict(struct sx_cache *c, struct sx_err *err)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	struct sx_buf samples = SX_BUF_INIT, data = SX_BUF_INIT;
	size_t *sizes = NULL, nsizes = 0, alloc = 0, dlen;
	void *dict = NULL;
	int rc, step;
	long id;

	/* another process may have trained one first: take it */
	if ((rc = load_dicts(c, err)) || c->cur_dict)
		return rc;
	if (sqlite3_prepare_v2(c->db, "SELECT key, data, dict, rlen, size FROM answers WHERE dict = 0 "
			       "LIMIT " STRINGIFY(DICT_SAMPLES), -1, &st, NULL) != SQLITE_OK)
		return db_err(c, err, "reading");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;

		if ((rc = row_decode(c, "?", sqlite3_column_blob(st, 1),
				     (size_t)sqlite3_column_bytes(st, 1), 0,
				     (size_t)sqlite3_column_int64(st, 3),
				     (size_t)sqlite3_column_int64(st, 4), &e, err)))
			goto out;
		sx_buf_add(&samples, e.request, e.request_len);
		sx_buf_add(&samples, e.response, e.response_len);
		SX_GROW(sizes, alloc, nsizes + 1);
		sizes[nsizes++] = e.request_len + e.response_len;
		sx_cache_entry_release(&e);
	}
	sqlite3_finalize(st);
	st = NULL;
	dict = xmalloc(DICT_BYTES);
	dlen = ZDICT_trainFromBuffer(dict, DICT_BYTES, samples.buf, sizes, (unsigned)nsizes);
	if (ZDICT_isError(dlen)) {
		/* too few or too alike samples: try again after as many rows more */
		c->plain_rows = -(long)nsizes;
		goto out;
	}
	if (sqlite3_prepare_v2(c->db, "INSERT INTO dicts (dict, created) VALUES (?1, ?2)", -1, &st,
			       NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_blob(st, 1, dict, (int)dlen, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, wall_now());
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	id = (long)sqlite3_last_insert_rowid(c->db);
	if ((rc = add_dict(c, id, dict, dlen, err)))
		goto out;
	/* the rows it was trained on, recompressed with it (keys first: no update under a scan) */
	if (sqlite3_prepare_v2(c->db, "SELECT key FROM answers WHERE dict = 0", -1, &st, NULL) !=
	    SQLITE_OK)
		goto dberr;
	sx_buf_reset(&samples);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_bytes(st, 0) == 32)
			sx_buf_add(&samples, sqlite3_column_blob(st, 0), 32);
	if (step != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT data, rlen, size FROM answers WHERE key = ?1", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "UPDATE answers SET dict = ?2, data = ?3 WHERE key = ?1", -1,
			       &up, NULL) != SQLITE_OK)
		goto dberr;
	for (size_t k = 0; k + 32 <= samples.len; k += 32) {
		struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
		long did = 0;

		sqlite3_bind_blob(st, 1, samples.buf + k, 32, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			goto dberr;
		rc = row_decode(c, "?", sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
				0, (size_t)sqlite3_column_int64(st, 1),
				(size_t)sqlite3_column_int64(st, 2), &e, err);
		sqlite3_reset(st);
		if (rc || (rc = compress_row(c, e.request, e.request_len, e.response, e.response_len,
					     &data, &did, err))) {
			sx_cache_entry_release(&e);
			goto out;
		}
		sx_cache_entry_release(&e);
		sqlite3_bind_blob(up, 1, samples.buf + k, 32, SQLITE_STATIC);
		sqlite3_bind_int64(up, 2, did);
		sqlite3_bind_blob(up, 3, data.buf, (int)data.len, SQLITE_STATIC);
		step = sqlite3_step(up);
		sqlite3_reset(up);
		if (step != SQLITE_DONE)
			goto dberr;
	}
	c->plain_rows = 0;
	goto out;
dberr:
	rc = db_err(c, err, "storing the dictionary");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	sx_buf_release(&samples);
	sx_buf_release(&data);
	free(sizes);
	free(dict);
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

/* Every row of both layouts, oldest first; read_row reads its columns. */
static const char all_rows[] =
	"SELECT lower(hex(a.key)) AS k, e.host, a.data, a.dict, a.rlen, a.size, a.prompt_tokens, "
	"a.completion_tokens, a.latency_ms, a.created AS t, e.endpoint, e.insecure, NULL "
	"FROM answers a JOIN endpoints e ON e.id = a.ep "
	"UNION ALL SELECT key, host, request, NULL, NULL, NULL, prompt_tokens, completion_tokens, "
	"latency_ms, created, endpoint, insecure, response FROM responses ORDER BY t, k";

static int read_row(struct sx_cache *c, sqlite3_stmt *st, struct sx_cache_entry *e,
		    struct sx_err *err)
{
	const char *key = (const char *)sqlite3_column_text(st, 0);
	int rc;

	*e = (struct sx_cache_entry)SX_CACHE_ENTRY_INIT;
	if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
		if ((rc = row_decode(c, key ? key : "?", sqlite3_column_blob(st, 2),
				     (size_t)sqlite3_column_bytes(st, 2),
				     (long)sqlite3_column_int64(st, 3),
				     (size_t)sqlite3_column_int64(st, 4),
				     (size_t)sqlite3_column_int64(st, 5), e, err)))
			return rc;
	} else {
		e->request = column_dup(st, 2, &e->request_len);
		e->response = column_dup(st, 12, &e->response_len);
	}
	e->prompt_tokens = column_long(st, 6);
	e->completion_tokens = column_long(st, 7);
	e->latency_ms = sqlite3_column_double(st, 8);
	e->created = sqlite3_column_double(st, 9);
	if (sqlite3_column_type(st, 10) != SQLITE_NULL)
		e->endpoint = column_dup(st, 10, NULL);
	e->insecure = (int)column_long(st, 11);
	return 0;
}

int sx_cache_export(struct sx_cache *c, FILE *out, long *rows, struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	struct sx_buf line = SX_BUF_INIT;
	struct sx_json *req = NULL, *resp = NULL;
	struct sx_cache_entry e = SX_CACHE_ENTRY_INIT;
	char *s;
	int rc = 0, step;
	long n = 0;

	if ((rc = sx_cache_flush(c, err)))
		return rc;
	if (sqlite3_prepare_v2(c->db, all_rows, -1, &st, NULL) != SQLITE_OK)
		return db_err(c, err, "reading");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *host = (const char *)sqlite3_column_text(st, 1);

		if (!key)
			key = "?";
		if ((rc = read_row(c, st, &e, err)))
			goto out;
		req = sx_json_parse(e.request, e.request_len, NULL);
		resp = sx_json_parse(e.response, e.response_len, NULL);
		if (!req || !resp) {
			rc = sx_err_set(err, SX_EIO, "cache '%s': row '%s' does not hold json",
					c->path, key);
			goto out;
		}
		sx_buf_reset(&line);
		sx_buf_adds(&line, "{\"key\":");
		sx_buf_add_json_str(&line, key, strlen(key));
		sx_buf_adds(&line, ",\"host\":");
		sx_buf_add_json_str(&line, host ? host : "", host ? strlen(host) : 0);
		if (e.endpoint) {
			sx_buf_adds(&line, ",\"endpoint\":");
			sx_buf_add_json_str(&line, e.endpoint, strlen(e.endpoint));
		}
		if (e.insecure >= 0)
			sx_buf_addf(&line, ",\"insecure\":%s", e.insecure ? "true" : "false");
		sx_buf_adds(&line, ",\"request\":");
		if (memchr(e.request, '\n', e.request_len)) {
			s = sx_json_print(req, 0);
			sx_buf_adds(&line, s);
			free(s);
		} else {
			sx_buf_add(&line, e.request, e.request_len);
		}
		sx_buf_adds(&line, ",\"response\":");
		s = sx_json_print(resp, 0);
		add_response(&line, s);
		free(s);
		if (e.prompt_tokens >= 0)
			sx_buf_addf(&line, ",\"prompt_tokens\":%ld", e.prompt_tokens);
		if (e.completion_tokens >= 0)
			sx_buf_addf(&line, ",\"completion_tokens\":%ld", e.completion_tokens);
		sx_buf_addf(&line, ",\"latency_ms\":%.3f,\"created\":%.3f}\n", e.latency_ms,
			    e.created);
		sx_json_free(req);
		sx_json_free(resp);
		req = resp = NULL;
		sx_cache_entry_release(&e);
		if (fwrite(line.buf, 1, line.len, out) != line.len) {
			rc = sx_err_set(err, SX_EIO, "cannot write the export: %s", strerror(errno));
			goto out;
		}
		n++;
	}
	if (step != SQLITE_DONE)
		rc = db_err(c, err, "reading");
out:
	sx_cache_entry_release(&e);
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

	unsigned char kb[32];

	*yes = 0;
	if (!key_bytes(key, kb)) {
		sqlite3_bind_blob(c->has, 1, kb, 32, SQLITE_STATIC);
		step = sqlite3_step(c->has);
		sqlite3_reset(c->has);
		sqlite3_clear_bindings(c->has);
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			return db_err(c, err, "reading");
		*yes = step == SQLITE_ROW;
	}
	if (*yes || !c->legacy)
		return 0;
	sqlite3_bind_text(c->has_legacy, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(c->has_legacy);
	sqlite3_reset(c->has_legacy);
	sqlite3_clear_bindings(c->has_legacy);
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
	if (sx_chat_withheld(&ans) != SX_CHAT_ANSWERED) {
		/* not an answer (runs never cache one): it must not replace one the cache holds */
		rc = sx_err_set(err, SX_EINPUT,
				"response has no answer: %s (finish_reason \"%s\"); runs never cache "
				"one: drop the line",
				sx_chat_withheld(&ans) == SX_CHAT_FILTERED ? "the content filter withheld it"
									    : "no text",
				ans.finish_reason ? ans.finish_reason : "");
		goto out;
	}
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
static int merge_row(struct sx_cache *c, struct sx_cache *in, sqlite3_stmt *st,
		     struct sx_cache_merge_stats *ms, struct sx_err *err)
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
	if (read_row(in, st, &e, err)) {
		sx_cache_entry_release(&have);
		return SX_EIO;
	}
	if (rc == 0) {
		if (same_answer(have.response, have.response_len, e.response, e.response_len)) {
			ms->same++;
		} else if (!ms->conflicts++) {
			snprintf(ms->first_conflict, sizeof(ms->first_conflict), "%s", key);
		}
		rc = 0;
	} else {
		rc = sx_cache_put(c, key, host ? host : "", &e, err);
		if (!rc)
			ms->added++;
	}
	sx_cache_entry_release(&have);
	sx_cache_entry_release(&e);
	return rc;
}

int sx_cache_merge_from(struct sx_cache *c, const char *src, struct sx_cache_merge_stats *ms,
			struct sx_err *err)
{
	struct sx_cache *in = NULL;
	sqlite3_stmt *st = NULL;
	int rc, step;

	memset(ms, 0, sizeof(*ms));
	rc = sx_cache_open(src, SX_CACHE_READONLY, &in, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(in->db, all_rows, -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(in, err, "reading");
		goto out;
	}
	sx_cache_hold(c);
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = merge_row(c, in, st, ms, err);
	if (!rc && step != SQLITE_DONE)
		rc = db_err(in, err, "reading");
	if (!rc)
		rc = sx_cache_flush(c, err);
out:
	sqlite3_finalize(st);
	sx_cache_close(in);
	return rc;
}

/* ---------------------------------------------------------------- compact */

static int fsync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static void remove_with_sidecars(const char *path)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-journal" };
	struct sx_buf p = SX_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		sx_buf_reset(&p);
		sx_buf_addf(&p, "%s%s", path, ext[i]);
		unlink(p.buf);
	}
	sx_buf_release(&p);
}

/*
 * A dictionary trained on rows spread over the whole of c (every k-th row,
 * at most DICT_SAMPLES), for compact; *dict NULL when training failed.
 */
static int sample_dict(struct sx_cache *c, void **dict, size_t *dlen, struct sx_err *err)
{
	struct sx_cache_stats stc;
	sqlite3_stmt *st = NULL;
	struct sx_buf samples = SX_BUF_INIT;
	size_t *sizes = NULL, n = 0, alloc = 0;
	long i = 0, every;
	int rc, step;

	*dict = NULL;
	if ((rc = sx_cache_stats(c, &stc, err)))
		return rc;
	every = stc.rows / DICT_SAMPLES + 1;
	if (sqlite3_prepare_v2(c->db, all_rows, -1, &st, NULL) != SQLITE_OK)
		return db_err(c, err, "reading");
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		struct sx_cache_entry e;

		if (i++ % every)
			continue;
		if ((rc = read_row(c, st, &e, err)))
			break;
		sx_buf_add(&samples, e.request, e.request_len);
		sx_buf_add(&samples, e.response, e.response_len);
		SX_GROW(sizes, alloc, n + 1);
		sizes[n++] = e.request_len + e.response_len;
		sx_cache_entry_release(&e);
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_err(c, err, "reading");
	sqlite3_finalize(st);
	if (!rc && n) {
		*dict = xmalloc(DICT_BYTES);
		*dlen = ZDICT_trainFromBuffer(*dict, DICT_BYTES, samples.buf, sizes, (unsigned)n);
		if (ZDICT_isError(*dlen)) {
			free(*dict);
			*dict = NULL;
		}
	}
	sx_buf_release(&samples);
	free(sizes);
	return rc;
}

int sx_cache_compact(const char *path, struct sx_cache_compact_stats *cs, struct sx_err *err)
{
	struct sx_cache *c = NULL, *n = NULL;
	struct sx_cache_stats before, after;
	struct sx_buf tmp = SX_BUF_INIT, dir = SX_BUF_INIT;
	struct stat old_st;
	sqlite3_stmt *st = NULL;
	void *dict = NULL;
	size_t dlen = 0;
	char *dup;
	int rc, step;

	memset(cs, 0, sizeof(*cs));
	/*
	 * The file to ourselves until the new one is in place: no other process
	 * may have it open (a row it wrote to the old file would be lost).
	 */
	if ((rc = open_cache(path, 0, 1, &c, err)))
		return rc;
	if (stat(path, &old_st)) {
		rc = sx_err_set(err, SX_EIO, "cannot stat cache '%s': %s", path, strerror(errno));
		goto out;
	}
	if ((rc = sx_cache_stats(c, &before, err)) || (rc = sample_dict(c, &dict, &dlen, err)))
		goto out;
	cs->rows = before.rows;
	cs->legacy_rows = before.legacy_rows;
	cs->file_before = before.file_bytes;
	/* the new file beside the old one (what a killed compact left there first goes) */
	sx_buf_addf(&tmp, "%s.compact-tmp", path);
	remove_with_sidecars(tmp.buf);
	if ((rc = sx_cache_open(tmp.buf, SX_CACHE_CREATE, &n, err)))
		goto out;
	n->level = ZSTD_LEVEL_COMPACT;
	if (sqlite3_exec(n->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto nerr;
	n->in_txn = 1;
	n->held = 1;
	if (dict) {
		if (sqlite3_prepare_v2(n->db, "INSERT INTO dicts (id, dict, created) VALUES (1, ?1, ?2)",
				       -1, &st, NULL) != SQLITE_OK)
			goto nerr;
		sqlite3_bind_blob(st, 1, dict, (int)dlen, SQLITE_STATIC);
		sqlite3_bind_double(st, 2, wall_now());
		step = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if (step != SQLITE_DONE)
			goto nerr;
		if ((rc = add_dict(n, 1, dict, dlen, err)))
			goto out;
	}
	if (sqlite3_prepare_v2(c->db, all_rows, -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "reading");
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct sx_cache_entry e;
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *host = (const char *)sqlite3_column_text(st, 1);

		if ((rc = read_row(c, st, &e, err)))
			goto out;
		rc = sx_cache_put(n, key ? key : "", host ? host : "", &e, err);
		sx_cache_entry_release(&e);
		if (rc)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (step != SQLITE_DONE) {
		rc = db_err(c, err, "reading");
		goto out;
	}
	/* one self-contained file, on disk, before it replaces the old one */
	if ((rc = sx_cache_flush(n, err)) || (rc = sx_cache_stats(n, &after, err)))
		goto out;
	if (after.rows != before.rows || after.bytes != before.bytes) {
		rc = sx_err_set(err, SX_EIO, "cache compact: the new file holds %ld rows of %lld bytes, "
				"the old %ld of %lld; '%s' was left as it was", after.rows,
				after.bytes, before.rows, before.bytes, path);
		goto out;
	}
	if ((rc = exec(n, "PRAGMA wal_checkpoint(TRUNCATE)", err)) ||
	    (rc = exec(n, "PRAGMA journal_mode=DELETE", err)))
		goto out;
	sx_cache_close(n);
	n = NULL;
	/* the new file with the old one's permissions (not those a new cache gets) */
	if (chmod(tmp.buf, old_st.st_mode & 07777)) {
		rc = sx_err_set(err, SX_EIO, "cannot set the mode of '%s': %s", tmp.buf,
				strerror(errno));
		goto out;
	}
	if (fsync_path(tmp.buf, 0)) {
		rc = sx_err_set(err, SX_EIO, "cannot sync '%s': %s", tmp.buf, strerror(errno));
		goto out;
	}
	/*
	 * The old file without its write-ahead log (still ours: locking mode
	 * exclusive), so that no -wal of it is left for the new file to read.
	 */
	if ((rc = exec(c, "PRAGMA journal_mode=DELETE", err)))
		goto out;
	if (rename(tmp.buf, path)) {
		rc = sx_err_set(err, SX_EIO, "cannot rename '%s' to '%s': %s", tmp.buf, path,
				strerror(errno));
		goto out;
	}
	dup = xstrdup(path);
	sx_buf_adds(&dir, dirname(dup));
	free(dup);
	fsync_path(dir.buf, 1);
	cs->file_after = file_size(path);
	cs->dictionary_bytes = dict ? (long)dlen : 0;
out:
	if (rc && n) {
		sx_cache_close(n);
		n = NULL;
	}
	if (rc)
		remove_with_sidecars(tmp.buf);
	sqlite3_finalize(st);
	sx_cache_close(n);
	sx_cache_close(c);
	free(dict);
	sx_buf_release(&tmp);
	sx_buf_release(&dir);
	return rc;
nerr:
	rc = db_err(n, err, "writing the compact file");
	goto out;
}
