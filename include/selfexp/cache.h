#ifndef SELFEXP_CACHE_H
#define SELFEXP_CACHE_H
/*
 * The response cache (wraps SQLite; its types never leave cache.c).
 *
 * One table of complete, well-formed HTTP 200 answers, keyed by
 * sx_cache_key(): the SHA-256 hex of an endpoint, a newline and the canonical
 * request body. The endpoint is the normalised base URL
 * (sx_engine_endpoint_url: "http://127.0.0.1:18080/v1"); rows written before
 * (schema version 1) were keyed by the host alone ("127.0.0.1"), which no
 * URL form can spell, so the two kinds of key never collide. Each row
 * records its endpoint (NULL for the host-keyed rows) and whether the answer
 * was fetched without TLS verification. The API key is never part of
 * anything stored.
 *
 * Opening a file of schema version 1 migrates it to version 2 in one
 * transaction (BEGIN IMMEDIATE, so concurrent openers wait for it and find
 * it done): the endpoint and insecure columns are added, NULL in the old
 * rows; their keys stay as they are (the port and path they came from were
 * never recorded). A selfexp that knows only version 1 refuses the file.
 *
 * Schema version 3 stores each row compactly (docs/cache.md): the key as 32
 * bytes in a table without rowid, the endpoint once per endpoint, request and
 * response as one zstd frame compressed with a dictionary trained on the
 * file's first rows. Rows of version 1 and 2 files stay in their table and
 * are read as they are, until sx_cache_compact moves them.
 *
 * The file is opened in WAL mode, created with mode 0600 (missing parent
 * directories 0700), with a busy timeout so that a second process using the
 * same file waits instead of failing. Each row written with sx_cache_put is
 * committed at once (SX_CACHE_FLUSH_ROWS 1; with WAL and synchronous=NORMAL
 * a commit costs no fsync), so a process killed at any moment loses only the
 * answers still in flight: a re-run never pays twice for an answer it got.
 * The batching knobs stay for bulk writers (import). A writer that receives
 * several answers at once (the engine, after one network wakeup) brackets
 * them with sx_cache_hold and sx_cache_flush: one commit for all of them.
 */
#include <stddef.h>
#include <stdio.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"

#define SX_CACHE_FLUSH_MS 200
#define SX_CACHE_FLUSH_ROWS 1
/* A process waits this long for another one's write lock before failing. */
#define SX_CACHE_BUSY_MS 30000
/* Lines of an import file longer than this are refused. */
#define SX_CACHE_MAX_LINE (20u * 1024u * 1024u)

struct sx_cache;

enum sx_cache_open_flags {
	SX_CACHE_CREATE = 1,  /* create the file (and its directory) when missing */
	SX_CACHE_READONLY = 2 /* read only: no WAL switch, no migration, no -shm on read-only
			       * media (see sx_cache_open); sx_cache_put fails */
};

struct sx_cache_entry {
	char *request;  /* owned; the canonical request body */
	size_t request_len;
	char *response; /* owned; the response body as received */
	size_t response_len;
	char *endpoint; /* owned; the endpoint of the key, NULL: a row keyed by the host alone */
	int insecure;   /* 1: fetched over https without certificate verification; 0: verified
			 * (or plain http); -1: not recorded (rows from before schema version 2) */
	long prompt_tokens;     /* -1 when unknown */
	long completion_tokens; /* -1 when unknown */
	double latency_ms;
	double created; /* Unix time in seconds */
};

#define SX_CACHE_ENTRY_INIT { \
	.request = NULL, .request_len = 0, .response = NULL, .response_len = 0, \
	.endpoint = NULL, .insecure = -1, .prompt_tokens = -1, .completion_tokens = -1, .latency_ms = 0.0, .created = 0.0, \
}

struct sx_cache_stats {
	long rows;
	long host_keyed;      /* rows keyed by the host alone (from before schema version 2) */
	long insecure;        /* rows fetched without TLS verification */
	long long bytes;      /* request + response bytes (as sent and received) */
	long long stored_bytes; /* what they take compressed (rows of older versions: as they are) */
	long legacy_rows;     /* rows in the layout of schema version 2 or older (cache compact) */
	long dictionaries;    /* zstd dictionaries of the file */
	long long file_bytes; /* database file plus its WAL */
	long long prompt_tokens, completion_tokens;
	double oldest, newest; /* Unix times; 0 when empty */
};

/*
 * key receives 64 hex digits and a NUL: SHA-256 of endpoint, "\n" and the
 * body. endpoint is the normalised base URL (sx_engine_endpoint_url), or the
 * host (sx_engine_endpoint_host) for the key a version 1 cache used.
 */
void sx_cache_key(const char *endpoint, const char *body, size_t len, char key[65]);

/*
 * Open (flags SX_CACHE_CREATE: or create) the cache at path. SX_ENOTFOUND
 * when it does not exist and may not be created, SX_EIO when it cannot be
 * opened, is not a SQLite database or is corrupt (the message names the file).
 *
 * With SX_CACHE_READONLY nothing is written to the file or beside it, so a
 * cache on read-only media (a read-only mount, a file of mode 444 in a
 * directory of mode 555) can be read: when SQLite cannot create the WAL
 * index (-shm) beside the file, the file is opened immutable, unless a
 * non-empty -wal file is there (answers only a writer can read back: then
 * SX_EIO with the way out). An older schema is read through a temporary
 * view instead of being migrated. Without SX_CACHE_READONLY a file or
 * directory that cannot be written is SX_EIO, "is read-only", with the way
 * out.
 */
int sx_cache_open(const char *path, int flags, struct sx_cache **out, struct sx_err *err);
/* Commit what is pending and close; NULL is a no-op. */
void sx_cache_close(struct sx_cache *c);

/* 0 and *out filled (release with sx_cache_entry_release), SX_ENOTFOUND, or SX_EIO. */
int sx_cache_get(struct sx_cache *c, const char *key, struct sx_cache_entry *out,
		 struct sx_err *err);
/*
 * Store (or replace) a row, with host (the host column) and e's endpoint
 * (borrowed here; NULL for a host-keyed row) and insecure (-1 stores NULL);
 * e->created 0 means now. SX_EIO on failure.
 */
int sx_cache_put(struct sx_cache *c, const char *key, const char *host,
		 const struct sx_cache_entry *e, struct sx_err *err);
/* Commit pending rows when the oldest is SX_CACHE_FLUSH_MS old (cheap when nothing is due). */
int sx_cache_tick(struct sx_cache *c, struct sx_err *err);
/* Commit pending rows now (and end a hold). */
int sx_cache_flush(struct sx_cache *c, struct sx_err *err);
/*
 * Until the next sx_cache_flush, rows written are committed only then,
 * together (one transaction instead of one per row); NULL is a no-op.
 */
void sx_cache_hold(struct sx_cache *c);
void sx_cache_entry_release(struct sx_cache_entry *e);

int sx_cache_stats(struct sx_cache *c, struct sx_cache_stats *out, struct sx_err *err);

/*
 * Write every row, oldest first, as one JSON line
 * {"key":..,"host":..,"endpoint":..,"insecure":..,"request":{..},
 *  "response":{..},"prompt_tokens":..,"completion_tokens":..,"latency_ms":..,
 *  "created":..}; "endpoint" and "insecure" only when the row records them.
 * *rows gets the count.
 */
int sx_cache_export(struct sx_cache *c, FILE *out, long *rows, struct sx_err *err);

/* What sx_cache_merge_from did. */
struct sx_cache_merge_stats {
	long added;     /* rows copied */
	long same;      /* rows the destination already held, with the same response */
	long conflicts; /* keys the destination holds with another response: kept, not copied */
	char first_conflict[65]; /* the first such key, "" when none */
};

/*
 * Copy every row of the cache file src into c. A key c already holds is
 * not copied: counted as the same answer, or as a conflict when the
 * responses differ (the destination's row stays; nothing is resolved
 * silently, the caller reports it).
 */
int sx_cache_merge_from(struct sx_cache *c, const char *src, struct sx_cache_merge_stats *st,
			struct sx_err *err);

/*
 * Where sx_cache_import keys the lines. Each line is keyed on the first of:
 * endpoint; host (a host-only key, as version 1 caches had); the line's
 * "endpoint" (through normalise); the line's "host" (a host-only key: the
 * export of a version 1 cache); fallback_endpoint. A line none of them
 * names fails the import.
 */
struct sx_cache_import_opts {
	const char *endpoint, *endpoint_host; /* a normalised base URL and its host, or NULL */
	const char *host;                     /* NULL, or key every line on this host alone */
	const char *fallback_endpoint, *fallback_host;
	/* a line's "endpoint" into its normalised URL and its host (appended): 0 or SX_EINPUT */
	int (*normalise)(const char *base_url, struct sx_buf *endpoint, struct sx_buf *host);
	int keep_existing; /* a key the cache holds keeps its row (counted as kept) */
	struct sx_cache_import_counts *counts; /* borrowed, may be NULL: filled by the import */
};

/* What sx_cache_import did with the lines it read (also when it failed part way). */
struct sx_cache_import_counts {
	long added;    /* keys the cache did not hold */
	long replaced; /* keys it held, whose row the line's answer replaced */
	long kept;     /* keys it held, left as they were (keep_existing) */
};

/*
 * Read JSON lines of {"request": {..}, "response": {..}} (other members, such
 * as those sx_cache_export writes, are optional) from path ("-" = stdin). The
 * request is re-canonicalised (sx_chat_request_canonical) and the key
 * recomputed with the endpoint opts chooses. A line's "insecure" (true or
 * false) is kept; without it a row keyed on an endpoint counts as verified
 * (whoever imports it vouches for it) and a host-keyed row as not recorded.
 * Responses that do not decode as a chat completion are refused. A malformed
 * line fails the import with its line number; what was imported before stays.
 * A key the cache already holds is replaced by the line's answer, or with
 * opts->keep_existing left as it is; opts->counts tells which (*rows counts
 * every line read, whatever was done with it).
 */
int sx_cache_import(struct sx_cache *c, const char *path, const struct sx_cache_import_opts *opts,
		    long *rows, struct sx_err *err);

/* Checkpoint the WAL and rebuild the file; *before / *after get the file sizes. */
int sx_cache_vacuum(struct sx_cache *c, long long *before, long long *after,
		    struct sx_err *err);

/* How long `cache compact` waits for other processes to let the file go. */
#define SX_CACHE_COMPACT_WAIT_MS 2000

/* What sx_cache_compact did. */
struct sx_cache_compact_stats {
	long rows;             /* rows copied (all of them) */
	long legacy_rows;      /* of them, rows of schema version 2 or older */
	long long file_before, file_after; /* bytes of the file (and its WAL) */
	long dictionary_bytes; /* the dictionary trained on the file's rows, 0: none */
};

/*
 * Rewrite the cache at path in the compact layout, with one dictionary
 * trained on rows spread over the whole file: a new file is written beside
 * it (path.compact-tmp), checked to hold every row (their count and bytes),
 * synced, and renamed over path, while the old file is held with an
 * exclusive lock (SX_EIO "in use" when another process has it open). A
 * process killed at any moment leaves path as it was or the new file in
 * its place, never less; a leftover path.compact-tmp is removed by the
 * next compact.
 */
int sx_cache_compact(const char *path, struct sx_cache_compact_stats *cs, struct sx_err *err);

#endif
