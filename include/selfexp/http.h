#ifndef SELFEXP_HTTP_H
#define SELFEXP_HTTP_H
/*
 * A thin wrapper over libcurl's multi interface (its types never leave
 * http.c): POST requests in flight concurrently over reused connections
 * (HTTP/2 multiplexing where the server offers it), collected as they
 * complete. Single-threaded; the engine drives it.
 *
 *	sx_http_post(h, url, body, len, 30.0, tag);
 *	while (sx_http_in_flight(h)) {
 *		sx_http_poll(h, 100);
 *		while (sx_http_next_done(h, &d)) { ... sx_http_done_release(&d); }
 *	}
 *
 * The API key goes only into the Authorization header, built once in memory
 * and wiped when the client is freed; it is never logged and never appears in
 * an error message: every response body and error text a transfer returns has
 * each occurrence of the key (when it is at least SX_HTTP_REDACT_MIN bytes)
 * overwritten with '*', so a server that echoes the key back cannot get it
 * into a message, a record or the cache. Redirects are not followed (the key
 * is never sent to another host). A body announced or grown beyond
 * SX_CHAT_MAX_RESPONSE is refused as soon as that is known.
 */
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"

/*
 * The body bytes all transfers in flight may hold together: a transfer that
 * would go over it fails (SX_HTTP_NET_ERROR, retryable), so memory stays
 * bounded whatever the concurrency, even against a server that sends every
 * answer up to the per-response cap.
 */
#define SX_HTTP_MAX_BUFFERED (32u * 1024u * 1024u)
/* Keys shorter than this are not redacted from bodies (too likely to be ordinary text). */
#define SX_HTTP_REDACT_MIN 8

struct sx_http;

/* How the API key is sent. */
enum sx_http_auth {
	SX_HTTP_AUTH_BEARER = 0, /* Authorization: Bearer KEY (OpenAI, vLLM, gateways) */
	SX_HTTP_AUTH_API_KEY,    /* api-key: KEY (Azure OpenAI) */
	SX_HTTP_AUTH_NONE        /* no key is sent at all */
};
/* At most this many extra headers (--header, --header-env). */
#define SX_HTTP_MAX_HEADERS 32

/* An extra request header. */
struct sx_http_header {
	const char *name, *value; /* borrowed, only during sx_http_new */
	int secret;               /* redacted like the key (a value from the environment) */
};

struct sx_http_config {
	int max_connections; /* per host; also the number of reusable transfer handles */
	int insecure;        /* skip TLS verification */
	const char *api_key; /* borrowed, only during sx_http_new; NULL or "" = no key header */
	int auth;            /* enum sx_http_auth */
	const struct sx_http_header *headers; /* borrowed, only during sx_http_new */
	size_t nheaders;     /* at most SX_HTTP_MAX_HEADERS */
};

/*
 * 0 when name is an HTTP header name (token characters) and value holds no
 * control character (CR and LF would end the header and start another); -1
 * otherwise. Never prints either.
 */
int sx_http_header_check(const char *name, const char *value, size_t *bad_at);

enum sx_http_net {
	SX_HTTP_NET_OK = 0,      /* an HTTP status was received */
	SX_HTTP_NET_UNREACHABLE, /* could not resolve or connect (refused, or timed out connecting) */
	SX_HTTP_NET_TIMEOUT,     /* the per-attempt timeout expired */
	SX_HTTP_NET_TOO_LARGE,   /* the body exceeded SX_CHAT_MAX_RESPONSE */
	SX_HTTP_NET_TLS,         /* the server's TLS certificate failed verification */
	SX_HTTP_NET_ERROR        /* anything else: reset, truncated transfer, TLS, ... */
};

struct sx_http_done {
	void *tag;             /* as given to sx_http_post */
	enum sx_http_net net;
	long status;           /* HTTP status, 0 when none was received */
	struct sx_buf body;    /* owned */
	double retry_after_s;  /* from retry-after-ms or Retry-After, -1 when absent */
	int retry_after_ms;    /* retry_after_s came from retry-after-ms */
	double reset_requests_s, reset_tokens_s; /* from x-ratelimit-reset-*, -1 when absent */
	double elapsed_ms;
	char error[256];       /* network error text, "" when net == SX_HTTP_NET_OK */
	char location[256];    /* a 3xx answer's Location (truncated, control bytes blanked), else "" */
	char content_type[64]; /* the answer's Content-Type (truncated, lower case), "" when absent */
};

int sx_http_new(const struct sx_http_config *cfg, struct sx_http **out, struct sx_err *err);
/* Aborts transfers still in flight (their tags are dropped). NULL is a no-op. */
void sx_http_free(struct sx_http *h);

/*
 * Start a POST of body[0..len) (borrowed: must stay valid until the transfer
 * is returned by sx_http_next_done) with Content-Type: application/json.
 */
int sx_http_post(struct sx_http *h, const char *url, const char *body, size_t len,
		 double timeout_s, void *tag, struct sx_err *err);
/* Abort every transfer in flight (none of them will be returned). */
void sx_http_cancel_all(struct sx_http *h);
/* Drive transfers, waiting up to timeout_ms for activity. */
int sx_http_poll(struct sx_http *h, int timeout_ms, struct sx_err *err);
/* 1 and *out filled (release with sx_http_done_release) when a transfer completed, else 0. */
int sx_http_next_done(struct sx_http *h, struct sx_http_done *out);
void sx_http_done_release(struct sx_http_done *d);
size_t sx_http_in_flight(const struct sx_http *h);
/*
 * A blocking GET of url (with the same headers as the POSTs), for what the
 * server says about itself (GET {base}/models): *status (0 when no answer)
 * and the body (capped at SX_CHAT_MAX_RESPONSE, secrets redacted) in out.
 * 0, or SX_ENET when no HTTP answer came back.
 */
int sx_http_get(struct sx_http *h, const char *url, double timeout_s, long *status,
		struct sx_buf *out, struct sx_err *err);
/*
 * Overwrite every occurrence of the API key and of every secret header value
 * in s[0..len) with '*' (no-op for one shorter than SX_HTTP_REDACT_MIN). For text that
 * was decoded from a body (JSON escapes can spell the key differently).
 */
void sx_http_redact(const struct sx_http *h, char *s, size_t len);
/*
 * url as messages and records show it, appended to out: without user info
 * ("user:password@" before the host), query or fragment, where a password,
 * a key (?key=, ?sig=) or Azure's ?api-version= may sit. Never longer than
 * url; any string is taken, a URL or not.
 */
void sx_http_url_shown(const char *url, struct sx_buf *out);

/*
 * One blocking request beside the concurrent ones, for the Batch API
 * (batchapi.c): a GET, a POST of a JSON body, or a multipart/form-data POST
 * of one file and some text fields (POST /v1/files). It goes through its own
 * transfer handle with the client's headers (Authorization, TLS setting) and
 * does not disturb the transfers in flight. The body is capped at max_body
 * bytes (SX_HTTP_NET_TOO_LARGE beyond), redacted like every other.
 */
struct sx_http_sync {
	const char *method;      /* "GET" or "POST" */
	const char *url;
	const char *body;        /* borrowed; POST: the JSON body (NULL with a file) */
	size_t len;
	const char *file_field;  /* multipart: the file's field name ("file"), NULL = not multipart */
	const char *file_name;   /* multipart: its file name */
	const char *file_data;   /* borrowed; multipart: its content */
	size_t file_len;
	const char *const *fields; /* multipart: name, value, name, value, ..., NULL */
	size_t max_body;
	double timeout_s;
};

int sx_http_request(struct sx_http *h, const struct sx_http_sync *rq, struct sx_http_done *out,
		    struct sx_err *err);

/*
 * Parse a duration as the rate-limit headers write it: "1s", "6m0s", "20ms",
 * "1h2m3.5s", or a plain number of seconds ("1.5"). -1 when unparseable.
 */
double sx_http_parse_duration(const char *s);
/* Retry-After: delta-seconds or an HTTP date (relative to now); -1 when unparseable. */
double sx_http_parse_retry_after(const char *s);

#endif
