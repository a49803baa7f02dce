#ifndef SELFEXP_CACHE_H
#define SELFEXP_CACHE_H
/*
 * The response cache (wraps SQLite; its types never leave cache.c).
 *
 * One table of complete, well-formed HTTP 200 answers, keyed by
 * sx_cache_key(): the SHA-256 hex of the endpoint host, a newline and the
 * canonical request body. The API key is never part of anything stored.
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

#include "selfexp/err.h"

#define SX_CACHE_FLUSH_MS 200
#define SX_CACHE_FLUSH_ROWS 1
/* A process waits this long for another one's write lock before failing. */
#define SX_CACHE_BUSY_MS 30000
/* Lines of an import file longer than this are refused. */
#define SX_CACHE_MAX_LINE (20u * 1024u * 1024u)

struct sx_cache;

enum sx_cache_open_flags {
	SX_CACHE_CREATE = 1 /* create the file (and its directory) when missing */
};

struct sx_cache_entry {
	char *request;  /* owned; the canonical request body */
	size_t request_len;
	char *response; /* owned; the response body as received */
	size_t response_len;
	long prompt_tokens;     /* -1 when unknown */
	long completion_tokens; /* -1 when unknown */
	double latency_ms;
	double created; /* Unix time in seconds */
};

#define SX_CACHE_ENTRY_INIT { \
	.request = NULL, .request_len = 0, .response = NULL, .response_len = 0, \
	.prompt_tokens = -1, .completion_tokens = -1, .latency_ms = 0.0, .created = 0.0, \
}

struct sx_cache_stats {
	long rows;
	long long bytes;      /* request + response bytes stored */
	long long file_bytes; /* database file plus its WAL */
	long long prompt_tokens, completion_tokens;
	double oldest, newest; /* Unix times; 0 when empty */
};

/* key receives 64 hex digits and a NUL. host is the endpoint host (sx_engine_endpoint_host). */
void sx_cache_key(const char *host, const char *body, size_t len, char key[65]);

/*
 * Open (flags SX_CACHE_CREATE: or create) the cache at path. SX_ENOTFOUND
 * when it does not exist and may not be created, SX_EIO when it cannot be
 * opened, is not a SQLite database or is corrupt (the message names the file).
 */
int sx_cache_open(const char *path, int flags, struct sx_cache **out, struct sx_err *err);
/* Commit what is pending and close; NULL is a no-op. */
void sx_cache_close(struct sx_cache *c);

/* 0 and *out filled (release with sx_cache_entry_release), SX_ENOTFOUND, or SX_EIO. */
int sx_cache_get(struct sx_cache *c, const char *key, struct sx_cache_entry *out,
		 struct sx_err *err);
/* Store (or replace) a row; e->created 0 means now. SX_EIO on failure. */
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
 * {"key":..,"host":..,"request":{..},"response":{..},"prompt_tokens":..,
 *  "completion_tokens":..,"latency_ms":..,"created":..}. *rows gets the count.
 */
int sx_cache_export(struct sx_cache *c, FILE *out, long *rows, struct sx_err *err);

/*
 * Read JSON lines of {"request": {..}, "response": {..}} (other members, such
 * as those sx_cache_export writes, are optional) from path ("-" = stdin). The
 * request is re-canonicalised (sx_chat_request_canonical) and the key
 * recomputed with the endpoint host: host when not NULL, else the line's
 * "host", else fallback_host (a line with none of them fails). Responses
 * that do not decode as a chat completion are refused. A malformed line fails
 * the import with its line number; what was imported before stays.
 */
int sx_cache_import(struct sx_cache *c, const char *path, const char *host,
		    const char *fallback_host, long *rows, struct sx_err *err);

/* Checkpoint the WAL and rebuild the file; *before / *after get the file sizes. */
int sx_cache_vacuum(struct sx_cache *c, long long *before, long long *after,
		    struct sx_err *err);

#endif
