#ifndef SELFEXP_ENGINE_H
#define SELFEXP_ENGINE_H
/*
 * The engine: every model query of every stage goes through here
 * (DESIGN.md section 4). A stage hands a batch of requests to
 * sx_engine_run; the engine answers what it can from the recorded answers
 * (--answers), then from the cache, sends the
 * rest concurrently (libcurl multi, at most `concurrency` in flight, paced
 * by rpm/tpm token buckets, retried with backoff), stores every complete,
 * well-formed 200 answer in the cache as it arrives, and fills one
 * struct sx_result per request, in the order of the requests, whatever the
 * order in which answers arrived. Identical requests in a batch are sent once.
 *
 * Waits. A 429 holds every request until the server's hint (Retry-After,
 * retry-after-ms, x-ratelimit-reset-*) has passed; a 5xx's hint delays that
 * request. A hint over max_wait_s fails the request at once. When, after a
 * well-formed answer came back (a server that never gave one is broken, not
 * down: its requests are retried as usual), SX_ENGINE_OUTAGE_STREAK requests
 * in a row fail with a connection error or a 5xx (not 501), the engine holds the whole queue and probes with one
 * request at a time (0.5 s, 1 s, then every 2 s, or the server's hint) until
 * the server answers; attempts that fail during the hold do not count
 * against the retries. After max_wait_s of holding, every request not yet
 * answered fails ("the server ... did not answer for N s") and later
 * batches retry as usual, without a hold. Waits of SX_ENGINE_NOTICE_S or
 * more are shown on the progress line or, without it, said once per wait
 * on stderr (unless quiet).
 */
#include <stddef.h>

#include "selfexp/answers.h"
#include "selfexp/buf.h"
#include "selfexp/chat.h"
#include "selfexp/err.h"
#include "selfexp/http.h"
#include "selfexp/json.h"

/*
 * The cache key a request is looked up (and stored) under. A key is the
 * SHA-256 of an endpoint, a newline and the canonical body (sx_cache_key);
 * the endpoint is the base URL's sx_engine_endpoint_url, except in the rows
 * written before the keys named it (cache schema version 1), which name the
 * host alone (sx_engine_endpoint_host) and so any port, path or scheme of it.
 */
enum sx_engine_keys {
	SX_ENGINE_KEYS_ENDPOINT = 0, /* the endpoint URL's key only (the default) */
	SX_ENGINE_KEYS_FALLBACK,     /* a miss looks up the host-only key too (--cache-legacy-keys) */
	SX_ENGINE_KEYS_HOST          /* the host-only key alone (score of a run recorded before) */
};

/*
 * Batch mode (docs/batch.md): what the cache does not answer goes out through
 * the Batch API (/v1/files, /v1/batches; batchapi.h), or as request files in
 * a directory whose output files another tool writes. Every distinct request
 * of one sx_engine_run call is one stage of batches: submitted, recorded in
 * batch_state, waited for, collected into the cache. Caps (max_requests,
 * max_cost) and pacing (rpm, tpm) do not apply: the caller refuses them.
 */
enum sx_engine_batch {
	SX_ENGINE_BATCH_OFF = 0,
	SX_ENGINE_BATCH_API,  /* --batch */
	SX_ENGINE_BATCH_DIR   /* --batch-dir DIR: no API calls */
};
struct sx_engine_stats;
/* The default of max_wait_s (--max-wait), in seconds. */
#define SX_ENGINE_MAX_WAIT_S 120.0
/* A wait at least this long is shown (progress line, or a notice on stderr). */
#define SX_ENGINE_NOTICE_S 5.0
/* This many connection errors or 5xx answers in a row start an outage hold. */
#define SX_ENGINE_OUTAGE_STREAK 5

struct sx_engine_config {
	const char *base_url;   /* borrowed; e.g. http://127.0.0.1:8080/v1 */
	const char *api_key;    /* borrowed; may be NULL; never logged or stored */
	const char *cache_path; /* borrowed; SQLite file, created (mode 0600) if missing; NULL = no cache */
	int concurrency;        /* max requests in flight, default 16 */
	double rpm;             /* requests per minute, 0 = unlimited */
	double tpm;             /* tokens per minute (prompt + max completion estimate), 0 = unlimited */
	int retries;            /* attempts after the first, default 6 */
	double timeout_s;       /* per attempt, default 120 */
	double max_wait_s;      /* the longest wait the engine accepts, default 120 (SX_ENGINE_MAX_WAIT_S):
				 * a server-requested wait (Retry-After in seconds or as an HTTP
				 * date, retry-after-ms, x-ratelimit-reset-requests / -tokens on a
				 * 429) longer than this fails the request at once, naming the
				 * header; an outage hold (below) gives up after this long */
	int quiet;              /* no wait or outage notices on stderr (without progress) */
	int offline;            /* answer from the cache only; misses are failures with reason "offline miss" */
	long max_requests;      /* hard cap on distinct requests sent over the engine's life
				 * (retries of a request already sent do not count), 0 = none */
	double max_cost;        /* hard cap on spend in USD, 0 = none: a request is only sent when
				 * prior_cost plus the spend so far plus the worst case of everything in flight
				 * (estimated prompt tokens, max_tokens completion tokens) fits */
	double price_in, price_out; /* USD per 1M prompt / completion tokens, for accounting */
	int progress;           /* draw a progress line on stderr (caller decides: only on a terminal) */
	int insecure;           /* disable TLS verification (recorded by the caller in run.json) */
	int cache_keys;         /* enum sx_engine_keys */
	int auth;               /* enum sx_http_auth: how the key is sent (default Bearer) */
	const struct sx_http_header *headers; /* borrowed: --header, --header-env; never
					       * logged, stored or part of the cache key */
	size_t nheaders;
	int batch;              /* enum sx_engine_batch: missing requests go out as batch files */
	const char *batch_dir;  /* borrowed; SX_ENGINE_BATCH_DIR: where the files go */
	const char *batch_state; /* borrowed; the record of the run's batches (DIR/batches.json) */
	int batch_no_wait;      /* submit, then SX_EPENDING instead of waiting */
	double batch_discount;  /* the fraction of the live price a batch costs (0.5) */
	double batch_poll_s;    /* first wait between polls, 0 = 1 s */
	double prior_cost;      /* USD spent by earlier processes of the same run (the run's
				 * ledger): counted against max_cost, not in the stats */
	/* called (when set) after requests were sent and after answers came back, with the
	 * stats so far, before those requests reach the network: the run's ledger */
	void (*on_account)(void *ctx, const struct sx_engine_stats *st);
	void *account_ctx;      /* borrowed, passed to on_account */
	int accept_insecure_cache; /* a run that verifies TLS certificates (https without
				    * insecure) takes only cached answers that were fetched
				    * with verification, unless this is set; rows of older
				    * caches, which did not record it, count as unverified */
	struct sx_answers *answers;   /* borrowed; recorded answers, looked up before the
				       * cache by a request's (cond, review), those taken
				       * counted as used (sx_answers_usage); NULL = none */
	struct sx_answers *capture;   /* borrowed; when set, every answer a request with a
				       * cond was given is added here (answers export) */
};

#define SX_ENGINE_CONFIG_INIT { \
	.base_url = NULL, .api_key = NULL, .cache_path = NULL, .concurrency = 16, .rpm = 0, \
	.tpm = 0, .retries = 6, .timeout_s = 120.0, .max_wait_s = SX_ENGINE_MAX_WAIT_S, .quiet = 0, .offline = 0, .max_requests = 0, \
	.max_cost = 0, .price_in = 0, .price_out = 0, .progress = 0, .insecure = 0, \
	.cache_keys = SX_ENGINE_KEYS_ENDPOINT, .auth = SX_HTTP_AUTH_BEARER, .headers = NULL, \
	.nheaders = 0, .batch = SX_ENGINE_BATCH_OFF, .batch_dir = NULL, .batch_state = NULL, \
	.batch_no_wait = 0, .batch_discount = 0.5, .batch_poll_s = 0, .accept_insecure_cache = 0, \
	.answers = NULL, .capture = NULL, .prior_cost = 0, .on_account = NULL, \
	.account_ctx = NULL, \
}

struct sx_request {
	char *body;  /* borrowed: the canonical JSON request body (sx_chat_request_body) */
	size_t len;
	/*
	 * Borrowed, may be NULL: the prompt condition the body was rendered
	 * under and the review text inside its tags, the key of the recorded
	 * answers (cfg->answers). A request without cond is never answered by them.
	 */
	const char *cond;
	const char *review;
	size_t review_len;
};

enum sx_result_status {
	SX_RESULT_OK = 0,   /* answer decoded */
	SX_RESULT_FAILED,   /* failed after all retries, or a 4xx (or a client error a server sends
			     * as 500, see sx_engine_run) that retrying cannot fix; reason set */
	SX_RESULT_SKIPPED   /* not sent: a cap was reached or the run was interrupted */
};

struct sx_result {
	enum sx_result_status status;
	struct sx_chat_answer answer; /* owned, valid when status == SX_RESULT_OK */
	char *reason;                 /* owned, set when not OK */
	int from_cache;
	int recorded;                 /* answered by a recorded answer (cfg->answers) */
	int attempts;                 /* HTTP attempts made for this request (0 from cache) */
	double latency_ms;            /* of the successful attempt (or as cached) */
};

#define SX_ENGINE_SERVED_MAX 8

struct sx_engine_stats {
	long requests;       /* results asked for */
	long unique;         /* distinct request bodies */
	long recorded;       /* distinct requests answered by a recorded answer (before the cache) */
	long cache_hits;     /* distinct requests answered from the cache */
	long legacy_hits;    /* of those, answered by a host-only key (SX_ENGINE_KEYS_FALLBACK, _HOST) */
	long unverified;     /* distinct requests whose cached answer was not taken because it
			      * was fetched without TLS verification (accept_insecure_cache) */
	long sent;           /* distinct requests that went to the network */
	long attempts;       /* HTTP attempts including retries */
	long retries;
	long failed;
	long skipped;
	long prompt_tokens, completion_tokens; /* of answers from the network (usage) */
	long usage_estimated; /* answers from the network without usage (or part of it): their
			       * tokens estimated, a token per 4 bytes of the request body and
			       * of the answer's texts, and counted with their cost */
	long reasoning_tokens; /* of those completion tokens, the reasoning models' hidden ones */
	double cost;         /* of answers from the network, from price_in / price_out: prompt
			      * tokens, and completion tokens with the reasoning tokens in
			      * them (added when a server counts them apart, i.e. reports
			      * more reasoning than completion tokens) */
	/*
	 * The models the answers taken (from the network, the cache or a batch;
	 * not recorded answers) say answered them ("model"), the first
	 * SX_ENGINE_SERVED_MAX names in the order first seen, with how many
	 * answers each; answers naming another are served_other, those naming
	 * none served_unnamed. A gateway that falls back to another model, or an
	 * API's snapshot ("gpt-4o-2024-08-06" for "gpt-4o"), shows here.
	 */
	struct sx_engine_served {
		char name[SX_CHAT_MODEL_MAX + 1];
		long answers;
	} served[SX_ENGINE_SERVED_MAX];
	size_t nserved;
	long served_other, served_unnamed;
};

struct sx_engine;

/*
 * Open the cache and set up the HTTP client. Fails with SX_ENET when
 * base_url is not http(s), SX_EIO when the cache cannot be opened. Requests
 * go to POST {base_url}/chat/completions. The API key is used to build the
 * Authorization header here and not kept otherwise.
 */
int sx_engine_new(const struct sx_engine_config *cfg, struct sx_engine **out, struct sx_err *err);
void sx_engine_free(struct sx_engine *e);

/*
 * Answer reqs[0..n) into res[0..n) (which the caller then releases with
 * sx_result_release). stage names the batch in progress output. Returns 0
 * when every request has a result (some may be FAILED or SKIPPED), SX_ENET
 * when the endpoint cannot be reached at all (connection refused, DNS, before
 * any HTTP answer came back), refuses the key (401/403), or answers a
 * redirect (never followed), a 404, 405 or 501, or a 200 whose Content-Type
 * is not JSON before any well-formed answer came back (a wrong base URL or
 * model, or no chat-completion API at all: every request would fail), or
 * presents a TLS certificate that fails verification (never retried),
 * SX_EINPUT when it answers 400 naming a request field it does not support
 * (every request carries it; the message names the flag that fixes it),
 * SX_EIO on a cache error; in batch mode SX_EPENDING when batches are not
 * done (batch_no_wait, or a batch directory without its output files).
 * Whatever the return value, every res[i] is filled (on an error the
 * requests not answered are SKIPPED with the error as reason) and must be
 * released.
 */
int sx_engine_run(struct sx_engine *e, const struct sx_request *reqs, size_t n,
		  struct sx_result *res, const char *stage, struct sx_err *err);
void sx_result_release(struct sx_result *r);
/*
 * GET {base_url}/models (the base URL's query kept), once, with the run's
 * headers: the model ids the server lists, as a JSON array printed into out
 * (at most SX_ENGINE_MAX_MODEL_IDS). SX_ENOTFOUND when the server does not
 * answer it with a model list (or the engine is offline); never fatal to a run.
 */
#define SX_ENGINE_MAX_MODEL_IDS 100
int sx_engine_models(struct sx_engine *e, struct sx_buf *out);
void sx_engine_get_stats(const struct sx_engine *e, struct sx_engine_stats *out);
/*
 * Ask the engine to stop sending (e.g. from a SIGINT handler): async-signal-safe.
 * Requests in flight finish (and are cached); the rest are SKIPPED with reason
 * "not sent: interrupted". Sticky: later runs of this engine send nothing.
 */
void sx_engine_interrupt(struct sx_engine *e);
/*
 * Client errors that some servers send as 500 and that are never retried
 * (sx_engine_run): llama.cpp's "Only one completion choice is allowed" (n > 1),
 * a request that does not fit the context ("context shift is disabled",
 * "exceeds the available context size", OpenAI's "maximum context length"),
 * a body it could not parse. SX_ENGINE_CLIENT_* of an error message (0: none).
 */
#define SX_ENGINE_CLIENT_N 1        /* one choice per request only */
#define SX_ENGINE_CLIENT_CONTEXT 2  /* prompt + max tokens over the context */
#define SX_ENGINE_CLIENT_BAD_BODY 3 /* the body was not understood */
int sx_engine_client_error(const char *msg);

/*
 * The run's batches as run.json records them (a new array: id, stage, round,
 * requests, status, lines answered and failed, tokens, cost), NULL when the
 * engine is not in batch mode.
 */
struct sx_json *sx_engine_batches_json(const struct sx_engine *e);

/* The name of an enum sx_engine_keys in run.json ("endpoint", "endpoint+host", "host"), and back. */
const char *sx_engine_keys_name(int keys);
int sx_engine_keys_from_name(const char *name, int *keys);

/*
 * The endpoint host of a base URL, as it goes into run.json (endpoint_host)
 * and the host-only keys of older caches (SX_ENGINE_KEYS_HOST): the host
 * name in lower case, without scheme, user info, port or path (an IPv6
 * literal as written; the cache's host column takes the host of the
 * normalised endpoint). SX_EINPUT when base_url is not an http(s) URL.
 */
int sx_engine_endpoint_host(const char *base_url, struct sx_buf *out);
/*
 * The endpoint a base URL names, as cache keys take it: scheme and host in
 * lower case, an IPv6 literal in its canonical form ("[::1]"), the port only
 * when it is not the scheme's default (http 80, https 443), the path without
 * its trailing slashes; no user info, no query (Azure's ?api-version=), no
 * fragment. "HTTPS://u:k@API.Example:443/v1/?api-version=2" and
 * "https://api.example/v1" are both "https://api.example/v1". Appended to
 * out; SX_EINPUT (out unchanged) when base_url is not an http(s) URL or its
 * port is not a number in 1..65535.
 */
int sx_engine_endpoint_url(const char *base_url, struct sx_buf *out);
/*
 * The engine's token estimate of a request body, for --tpm pacing and the
 * --max-cost worst case: ceil(bytes / 4) prompt tokens plus its max_tokens
 * (1024 when the body has none). The dry run (--dry-run) does not use it:
 * the pipeline counts and estimates the requests itself and never creates
 * an engine.
 */
long sx_engine_estimate_tokens(const char *body, size_t len);

#endif
