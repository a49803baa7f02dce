#ifndef SELFEXP_BATCHAPI_H
#define SELFEXP_BATCHAPI_H
/*
 * OpenAI-style batch files (docs/batch.md): the JSONL format that the
 * OpenAI and Azure Batch APIs and vLLM's `run-batch` read and write, the
 * record of a run's batches (DIR/batches.json), and the rounds of
 * submitting, polling and collecting through /v1/files and /v1/batches
 * (http.c's blocking requests) or through a directory of files.
 *
 * A request line:  {"custom_id":KEY,"method":"POST","url":"/v1/chat/completions","body":BODY}
 * An output line:  {"id":"batch_req_...","custom_id":KEY,"response":{"status_code":200,
 *                   "request_id":"...","body":COMPLETION},"error":null}
 * An error line:   the same with a non-200 status_code and an error body, or
 *                  "response":null and "error":{"code":...,"message":...}
 * custom_id is the request's cache key (64 hex digits), so an answer goes
 * into the cache under the key of the request it answers, whatever the order
 * of the lines.
 */
#include <signal.h>
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"
#include "selfexp/http.h"
#include "selfexp/json.h"

/* The Batch API's limits per batch: requests, and bytes of the input file. */
#define SX_BATCH_MAX_LINES 50000
#define SX_BATCH_MAX_BYTES (200u * 1024u * 1024u)
/* An output or error file larger than this is refused. */
#define SX_BATCH_MAX_OUTPUT (1024u * 1024u * 1024u)
/* A line of an output file longer than this is refused (as a failed line). */
#define SX_BATCH_MAX_LINE (16u * 1024u * 1024u)
/* batches.json larger than this is refused. */
#define SX_BATCH_STATE_MAX (16u * 1024u * 1024u)
/* Bodies of the API's answers about files and batches (not the file contents). */
#define SX_BATCH_MAX_META (4u * 1024u * 1024u)
#define SX_BATCH_ENDPOINT "/v1/chat/completions"
#define SX_BATCH_STATE_FILE "batches.json"

/* ---- the file format ------------------------------------------------------ */

/* Append one request line (with its "\n") for body[0..len), a JSON object. */
void sx_batchapi_request_line(const char *custom_id, const char *body, size_t len,
			      struct sx_buf *out);

/* A request line read back (the sim's side): custom_id and the body printed compactly. */
struct sx_batch_request {
	char *custom_id; /* owned */
	char *body;      /* owned */
	size_t len;
};
/* SX_EINPUT with a message for a line that is not a chat-completion request line. */
int sx_batchapi_parse_request(const char *line, size_t len, struct sx_batch_request *out,
			      struct sx_err *err);
void sx_batch_request_release(struct sx_batch_request *r);

/* One line of an output or error file. */
struct sx_batch_line {
	char *custom_id; /* owned */
	int ok;          /* a status 200 with a JSON object body */
	long status;     /* the response's status_code, 0 when there is no response */
	char *body;      /* owned; ok: the completion body printed compactly */
	size_t len;
	char *reason;    /* owned; not ok: why ("http 500: ...", "batch_expired: ...") */
};
/*
 * Parse one output (or error) line. SX_EINPUT with a message when it is not
 * a line of that format at all (not JSON, no custom_id); a line that is
 * well-formed but failed is 0 with ok == 0 and reason set.
 */
int sx_batchapi_parse_output(const char *line, size_t len, struct sx_batch_line *out,
			     struct sx_err *err);
void sx_batch_line_release(struct sx_batch_line *l);
/*
 * Append one output line: status 200 and a completion body, or a failed one
 * (status 0: "response":null and the error code and message).
 */
void sx_batchapi_output_line(const char *id, const char *custom_id, long status,
			     const char *body, size_t len, const char *code, const char *message,
			     struct sx_buf *out);

/* ---- the run's record of its batches ---------------------------------------- */

struct sx_batch_entry {
	char *name;        /* owned; the request file's name */
	char *stage;       /* owned; the engine stage it answers ("elicit ep,pe") */
	long round;        /* 1 for a stage's first submission, 2 for its first retry, ... */
	long requests;
	char *file_id;     /* owned; NULL until uploaded (or in --batch-dir) */
	char *batch_id;    /* owned; NULL until created */
	char *status;      /* owned; the last status seen, e.g. "in_progress" */
	char *output_file_id, *error_file_id; /* owned; may be NULL */
	int done;          /* its answers were collected */
	long answered, failed;                 /* lines, once collected */
	long prompt_tokens, completion_tokens;
	double cost;       /* USD at the batch price */
};

struct sx_batch_state {
	char *path;   /* owned */
	char *token;  /* owned; random, names this run's files on the server */
	long seq;     /* entries ever created (names are numbered by it) */
	struct sx_batch_entry *v;
	size_t n, alloc;
};

/* Load path (a missing file is an empty record with a new token). */
int sx_batch_state_load(struct sx_batch_state *st, const char *path, struct sx_err *err);
/* Write it atomically. */
int sx_batch_state_save(const struct sx_batch_state *st, struct sx_err *err);
void sx_batch_state_release(struct sx_batch_state *st);
/* The entries as run.json records them (a new array; the caller frees it). */
struct sx_json *sx_batch_state_json(const struct sx_batch_state *st);

/* ---- rounds --------------------------------------------------------------- */

struct sx_batchapi_config {
	const char *base_url;    /* borrowed; {base}/files, {base}/batches */
	struct sx_http *http;    /* borrowed; NULL with dir */
	const char *dir;         /* borrowed; --batch-dir: request and output files there, no API calls */
	const char *state_path;  /* borrowed; DIR/batches.json */
	int no_wait;             /* submit (or poll once) and return SX_EPENDING */
	int retries;             /* rounds after a stage's first */
	int progress;            /* a progress line on stderr */
	double timeout_s;        /* per API call */
	double poll_s;           /* first wait between polls (backoff to 30 s); 0 = 1 s */
	double price_in, price_out; /* USD per 1M tokens at the batch price */
	long max_lines;          /* requests per batch, 0 = SX_BATCH_MAX_LINES */
	size_t max_bytes;        /* bytes per input file, 0 = SX_BATCH_MAX_BYTES */
	volatile sig_atomic_t *interrupted; /* borrowed; stop waiting when set */
};

/* One missing request of a stage. */
struct sx_batch_req {
	const char *key;  /* borrowed; the cache key, 64 hex digits */
	const char *body; /* borrowed */
	size_t len;
	int answered;     /* set by sx_batchapi_run */
	int final;        /* set by sx_batchapi_run: failed for good (the answer function said
			   * SX_EFAIL), not sent again */
	char *reason;     /* owned; why not, when not answered */
};

/*
 * The engine's side: an answer arrived for key (a request of the current
 * call). Return 0 when it was taken (decoded and stored), else a negative
 * code with why[] set (a malformed answer: the line counts as failed and
 * goes out again in the next round); SX_EFAIL: failed for good, another round
 * would get the same (a content filter's empty answer), not sent again;
 * SX_EIO stops everything. *ptok, *ctok get its usage (-1 unknown).
 */
typedef int (*sx_batchapi_answer_fn)(void *ctx, size_t req, const char *body, size_t len,
				     long *ptok, long *ctok, char *why, size_t whylen);

struct sx_batchapi;

int sx_batchapi_new(const struct sx_batchapi_config *cfg, sx_batchapi_answer_fn answer, void *ctx,
		    struct sx_batchapi **out, struct sx_err *err);
void sx_batchapi_free(struct sx_batchapi *b);
/* The HTTP client of the API calls (made after the runner, by the engine). */
void sx_batchapi_set_http(struct sx_batchapi *b, struct sx_http *http);
/*
 * Answer reqs[0..n), the requests of one stage the cache did not answer:
 * first collect the batches recorded for this stage that are not collected
 * yet (a restarted run polls them instead of submitting again), then submit
 * what is still missing in batches of at most SX_BATCH_MAX_LINES /
 * SX_BATCH_MAX_BYTES, recorded in the state file as soon as each exists,
 * wait for them and collect them; lines that failed go out again in a new
 * round, up to cfg->retries more rounds, across restarts. Returns 0 when
 * every request is answered or has a reason, SX_EPENDING when batches are
 * not done (no_wait, or a --batch-dir whose output files are missing: *msg
 * of err says which), SX_ENET when the API cannot be used, SX_EIO.
 */
int sx_batchapi_run(struct sx_batchapi *b, struct sx_batch_req *reqs, size_t n, const char *stage,
		    struct sx_err *err);
const struct sx_batch_state *sx_batchapi_state(const struct sx_batchapi *b);
/* Requests sent in batches by this process, and batches it created. */
long sx_batchapi_sent(const struct sx_batchapi *b);

#endif
