#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "selfexp/alloc.h"
#include "selfexp/batchapi.h"
#include "selfexp/cache.h"
#include "selfexp/engine.h"
#include "selfexp/hash.h"
#include "selfexp/http.h"
#include "selfexp/strmap.h"

#define BACKOFF_BASE_S 0.5
#define BACKOFF_CAP_S 30.0
/* An outage hold probes after this long, doubling up to PROBE_MAX_S. */
#define PROBE_FIRST_S 0.5
#define PROBE_MAX_S 2.0
/* The loop wakes at least this often (to notice sx_engine_interrupt). */
#define TICK_MS 100
#define PROGRESS_INTERVAL_S 0.2
#define REASON_MAX 300

enum job_state { JOB_PENDING, JOB_IN_FLIGHT, JOB_WAITING, JOB_DONE };

/* One distinct request of a batch. */
struct job {
	char key[SX_SHA256_HEX_LEN + 1];
	const char *body; /* borrowed from the caller's request */
	size_t len;
	const char *cond, *review; /* borrowed from the caller's request (recorded answers) */
	size_t review_len;
	enum job_state state;
	enum sx_result_status status;
	struct sx_chat_answer answer;
	char *reason; /* owned; final or of the last failed attempt */
	int from_cache;
	int recorded;        /* answered by a recorded answer */
	int unverified;      /* a cached answer was found and refused: fetched without TLS verification */
	int attempts;
	int held;            /* attempts that failed during an outage hold: not counted as retries */
	double latency_ms;
	double due;          /* JOB_WAITING: when to try again (monotonic s) */
	long est_tokens;     /* prompt estimate + max_tokens */
	double est_cost;     /* worst case */
	size_t refs;         /* requests of the batch answered by this job */
};

struct heap_item {
	double due;
	size_t job;
};

struct bucket {
	double rate;   /* per second; 0 = unlimited */
	double cap;
	double tokens;
	double last;
};

struct sx_engine {
	char *base_url, *url, *host;
	char *shown_base, *shown_url; /* base_url and url as messages show them (sx_http_url_shown) */
	char *endpoint;     /* sx_engine_endpoint_url of base_url */
	char *endpoint_host; /* the host of endpoint (the rows' host column): "[::1]" for "[0::1]" */
	const char *key_endpoint; /* what the primary keys name: endpoint, or host (KEYS_HOST) */
	int keys;           /* enum sx_engine_keys */
	int verifies;       /* https with certificate verification: takes only verified rows */
	int accept_insecure; /* ... unless this is set */
	int fetch_insecure; /* answers fetched now are unverified (https with --insecure) */
	double timeout_s, max_wait_s;
	int concurrency, retries, offline, progress, color, quiet;
	long max_requests;
	double max_cost, price_in, price_out, prior_cost;
	void (*on_account)(void *ctx, const struct sx_engine_stats *st);
	void *account_ctx;
	struct sx_cache *cache;
	struct sx_answers *answers; /* borrowed */
	struct sx_answers *capture;       /* borrowed */
	struct sx_http *http;
	struct sx_engine_stats stats;
	volatile sig_atomic_t interrupted;
	struct bucket rpm, tpm;
	double hold_until;  /* no request starts before this (a 429's hint) */
	double wait_until;  /* the end of the longest wait announced (a hint), for the progress line */
	const char *wait_why; /* the header that asked for it */
	int fail_streak;    /* connection errors and 5xx in a row */
	int outage;         /* holding the queue, probing with one request */
	int outage_given_up; /* a hold reached max_wait_s: no more holds */
	double outage_since, probe_at, probe_delay;
	const void *probe;  /* the job sent as the probe (compared, never dereferenced) */
	double reserved;    /* worst-case cost of requests in flight */
	int ever_answered;  /* an HTTP status came back from the endpoint */
	int ever_ok;        /* a well-formed 200 answer came back (the URL is right) */
	uint64_t rng;
	int batch;          /* enum sx_engine_batch */
	double batch_discount;
	struct sx_batchapi *batches; /* batch mode */
	struct run *batch_run;       /* the sx_engine_run call the batch answers go to */
};

static int batch_answer(void *ctx, size_t req, const char *body, size_t len, long *ptok,
			long *ctok, char *why, size_t whylen);

/* ---------------------------------------------------------------- helpers */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rnd(struct sx_engine *e)
{
	/* xorshift64*: jitter only, nothing that results depend on */
	uint64_t x = e->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	e->rng = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* The parts of an http(s) base URL, pointers into it. */
struct url_parts {
	int https;
	const char *host, *host_end; /* an IPv6 literal with its brackets */
	const char *port, *port_end; /* after the ':'; equal when there is no port */
	const char *path, *path_end; /* up to the query or fragment */
};

static int split_url(const char *url, struct url_parts *u)
{
	const char *p, *auth_end, *c;

	if (!url)
		return SX_EINPUT;
	if (!strncasecmp(url, "http://", 7)) {
		u->https = 0;
		p = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		u->https = 1;
		p = url + 8;
	} else {
		return SX_EINPUT;
	}
	auth_end = p + strcspn(p, "/?#");
	/* after the last '@': a password may hold one, and no part of it may reach the host */
	for (u->host = auth_end; u->host > p && u->host[-1] != '@'; u->host--)
		;
	if (*u->host == '[') {
		c = memchr(u->host, ']', (size_t)(auth_end - u->host));
		if (!c || c == u->host + 1)
			return SX_EINPUT;
		u->host_end = c + 1;
		if (u->host_end < auth_end && *u->host_end != ':')
			return SX_EINPUT;
	} else {
		c = memchr(u->host, ':', (size_t)(auth_end - u->host));
		u->host_end = c ? c : auth_end;
	}
	if (u->host_end == u->host)
		return SX_EINPUT;
	for (c = u->host; c < u->host_end; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '\\')
			return SX_EINPUT;
	u->port = u->port_end = auth_end;
	if (u->host_end < auth_end)
		u->port = u->host_end + 1;
	u->path = auth_end;
	u->path_end = auth_end + strcspn(auth_end, "?#");
	return 0;
}

static void add_lower(struct sx_buf *out, const char *s, size_t n)
{
	size_t i, start = out->len;

	sx_buf_add(out, s, n);
	for (i = start; i < out->len; i++)
		out->buf[i] = (char)tolower((unsigned char)out->buf[i]);
}

int sx_engine_endpoint_host(const char *base_url, struct sx_buf *out)
{
	struct url_parts u;

	if (split_url(base_url, &u))
		return SX_EINPUT;
	add_lower(out, u.host, (size_t)(u.host_end - u.host));
	return 0;
}

/* An IPv6 literal "[...]" in its canonical form (RFC 5952; a zone id only lower-cased). */
static int add_ipv6(struct sx_buf *out, const char *lit, size_t n)
{
	char in[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	unsigned char addr[16];

	if (memchr(lit, '%', n)) {
		add_lower(out, lit, n);
		return 0;
	}
	if (n - 2 >= sizeof(in))
		return SX_EINPUT;
	memcpy(in, lit + 1, n - 2);
	in[n - 2] = '\0';
	if (inet_pton(AF_INET6, in, addr) != 1 || !inet_ntop(AF_INET6, addr, text, sizeof(text)))
		return SX_EINPUT;
	sx_buf_addf(out, "[%s]", text);
	return 0;
}

int sx_engine_endpoint_url(const char *base_url, struct sx_buf *out)
{
	struct url_parts u;
	const char *d, *path_end;
	long port = 0;
	size_t start = out->len;

	if (split_url(base_url, &u))
		return SX_EINPUT;
	for (d = u.port; d < u.port_end; d++) {
		if (!isdigit((unsigned char)*d))
			return SX_EINPUT;
		port = port * 10 + (*d - '0');
		if (port > 65535)
			return SX_EINPUT;
	}
	if (u.port < u.port_end && !port)
		return SX_EINPUT;
	sx_buf_adds(out, u.https ? "https://" : "http://");
	if (*u.host == '[' && add_ipv6(out, u.host, (size_t)(u.host_end - u.host))) {
		sx_buf_setlen(out, start);
		return SX_EINPUT;
	}
	if (*u.host != '[')
		add_lower(out, u.host, (size_t)(u.host_end - u.host));
	if (port && port != (u.https ? 443 : 80))
		sx_buf_addf(out, ":%ld", port);
	for (path_end = u.path_end; path_end > u.path && path_end[-1] == '/'; path_end--)
		;
	sx_buf_add(out, u.path, (size_t)(path_end - u.path));
	return 0;
}

static const char *memrmem(const char *hay, size_t n, const char *needle, size_t m)
{
	size_t i;

	if (m > n)
		return NULL;
	for (i = n - m + 1; i-- > 0;)
		if (hay[i] == needle[0] && !memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

/* The number after the last "key": of body, or def when there is none (or it is not one >= 0). */
static long body_long(const char *body, size_t len, const char *key, long def)
{
	const char *p = memrmem(body, len, key, strlen(key));
	char *end;
	long v;

	if (!p)
		return def;
	p += strlen(key);
	v = strtol(p, &end, 10);
	return end != p && v >= 0 && (size_t)(end - body) <= len ? v : def;
}

/*
 * The prompt estimate (a token per 4 bytes) plus the most completion tokens
 * the body allows: max_tokens (or max_completion_tokens; 1024 without
 * either) for each of its n choices, all of which are billed.
 */
long sx_engine_estimate_tokens(const char *body, size_t len)
{
	long max_tokens = body_long(body, len, "\"max_tokens\":",
				    body_long(body, len, "\"max_completion_tokens\":", 1024));
	long n = body_long(body, len, "\"n\":", 1);

	return (long)((len + 3) / 4) + max_tokens * (n > 0 ? n : 1);
}

static const char *const keys_names[] = {
	[SX_ENGINE_KEYS_ENDPOINT] = "endpoint",
	[SX_ENGINE_KEYS_FALLBACK] = "endpoint+host",
	[SX_ENGINE_KEYS_HOST] = "host",
};

const char *sx_engine_keys_name(int keys)
{
	return keys >= 0 && (size_t)keys < sizeof(keys_names) / sizeof(keys_names[0]) ? keys_names[keys]
										       : "?";
}

int sx_engine_keys_from_name(const char *name, int *keys)
{
	size_t i;

	for (i = 0; name && i < sizeof(keys_names) / sizeof(keys_names[0]); i++)
		if (!strcmp(name, keys_names[i])) {
			*keys = (int)i;
			return 0;
		}
	return SX_EINPUT;
}

/* ---------------------------------------------------------------- buckets */

static void bucket_init(struct bucket *b, double per_minute, double cap, double start, double now)
{
	b->rate = per_minute > 0 ? per_minute / 60.0 : 0;
	b->cap = cap;
	b->tokens = start < cap ? start : cap;
	b->last = now;
}

static void bucket_fill(struct bucket *b, double now)
{
	if (!b->rate)
		return;
	b->tokens += (now - b->last) * b->rate;
	if (b->tokens > b->cap)
		b->tokens = b->cap;
	b->last = now;
}

/* Seconds until n tokens are there (0 = now). A request larger than the bucket waits for a full one. */
static double bucket_wait(struct bucket *b, double n, double now)
{
	if (!b->rate)
		return 0;
	bucket_fill(b, now);
	if (n > b->cap)
		n = b->cap;
	return b->tokens >= n ? 0 : (n - b->tokens) / b->rate;
}

static void bucket_take(struct bucket *b, double n)
{
	if (b->rate)
		b->tokens -= n; /* may go negative for a request larger than the bucket */
}

static void bucket_refund(struct bucket *b, double n)
{
	if (b->rate) {
		b->tokens += n;
		if (b->tokens > b->cap)
			b->tokens = b->cap;
	}
}

/* ------------------------------------------------------------- lifecycle */

int sx_engine_new(const struct sx_engine_config *cfg, struct sx_engine **out, struct sx_err *err)
{
	struct sx_engine *e;
	struct sx_buf host = SX_BUF_INIT, url = SX_BUF_INIT, endpoint = SX_BUF_INIT;
	struct sx_http_config hc;
	const char *nc;
	size_t blen, qpos;
	int rc;
	double now = now_s();

	*out = NULL;
	if (!cfg->base_url || sx_engine_endpoint_host(cfg->base_url, &host) ||
	    sx_engine_endpoint_url(cfg->base_url, &endpoint)) {
		sx_buf_release(&host);
		sx_buf_release(&endpoint);
		if (cfg->base_url)
			sx_http_url_shown(cfg->base_url, &host);
		rc = sx_err_set(err, SX_ENET,
				"base URL '%s' is not an http:// or https:// URL (with a port in "
				"1..65535); set OPENAI_BASE_URL or pass --base-url", host.buf);
		sx_buf_release(&host);
		return rc;
	}
	e = xcalloc(1, sizeof(*e));
	e->host = sx_buf_detach(&host, NULL);
	e->endpoint = sx_buf_detach(&endpoint, NULL);
	sx_engine_endpoint_host(e->endpoint, &host);
	e->endpoint_host = sx_buf_detach(&host, NULL);
	e->keys = cfg->cache_keys;
	e->key_endpoint = e->keys == SX_ENGINE_KEYS_HOST ? e->host : e->endpoint;
	e->verifies = !strncmp(e->endpoint, "https:", 6) && !cfg->insecure;
	e->fetch_insecure = !strncmp(e->endpoint, "https:", 6) && cfg->insecure;
	e->accept_insecure = cfg->accept_insecure_cache;
	e->base_url = xstrdup(cfg->base_url);
	/* {base}/chat/completions, the query (Azure's ?api-version=) after the path; no fragment */
	qpos = strcspn(cfg->base_url, "?#");
	for (blen = qpos; blen && cfg->base_url[blen - 1] == '/'; blen--)
		;
	sx_buf_add(&url, cfg->base_url, blen);
	sx_buf_adds(&url, "/chat/completions");
	if (cfg->base_url[qpos] == '?')
		sx_buf_add(&url, cfg->base_url + qpos, strcspn(cfg->base_url + qpos, "#"));
	e->url = sx_buf_detach(&url, NULL);
	sx_http_url_shown(e->base_url, &url);
	e->shown_base = sx_buf_detach(&url, NULL);
	sx_http_url_shown(e->url, &url);
	e->shown_url = sx_buf_detach(&url, NULL);
	e->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 120.0;
	e->max_wait_s = cfg->max_wait_s > 0 ? cfg->max_wait_s : SX_ENGINE_MAX_WAIT_S;
	e->quiet = cfg->quiet;
	e->concurrency = cfg->concurrency > 0 ? cfg->concurrency : 16;
	e->retries = cfg->retries >= 0 ? cfg->retries : 0;
	e->offline = cfg->offline;
	e->progress = cfg->progress;
	e->answers = cfg->answers;
	e->capture = cfg->capture;
	nc = getenv("NO_COLOR");
	e->color = !(nc && *nc);
	e->max_requests = cfg->max_requests;
	e->max_cost = cfg->max_cost;
	e->prior_cost = cfg->prior_cost;
	e->on_account = cfg->on_account;
	e->account_ctx = cfg->account_ctx;
	e->price_in = cfg->price_in;
	e->price_out = cfg->price_out;
	e->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() ^
		 (uint64_t)(uintptr_t)e;
	if (!e->rng)
		e->rng = 1;
	/*
	 * At most a second's worth of burst, starting empty: a server enforcing a
	 * slightly higher limit (per second or per minute, whatever state another
	 * client left its bucket in) then never refuses. The first request waits
	 * 60/rpm seconds.
	 */
	bucket_init(&e->rpm, cfg->rpm, cfg->rpm / 60.0 > 1 ? cfg->rpm / 60.0 : 1, 0, now);
	bucket_init(&e->tpm, cfg->tpm, cfg->tpm / 60.0 > 1 ? cfg->tpm / 60.0 : 1, cfg->tpm / 60.0,
		    now);
	/*
	 * Offline nothing is stored: the cache is opened for reading only (it may
	 * be on read-only media), and a missing one is not created (every
	 * request is then a miss).
	 */
	if (cfg->cache_path) {
		rc = sx_cache_open(cfg->cache_path, e->offline ? SX_CACHE_READONLY : SX_CACHE_CREATE,
				   &e->cache, err);
		if (rc == SX_ENOTFOUND && e->offline && err)
			*err = (struct sx_err)SX_ERR_INIT;
		if (rc == SX_ENOTFOUND && e->offline)
			rc = 0;
		if (rc)
			goto fail;
	}
	e->batch = cfg->batch;
	e->batch_discount = cfg->batch_discount;
	if (e->batch && !e->offline) {
		struct sx_batchapi_config bc;

		memset(&bc, 0, sizeof(bc));
		bc.base_url = e->base_url;
		bc.dir = e->batch == SX_ENGINE_BATCH_DIR ? cfg->batch_dir : NULL;
		bc.state_path = cfg->batch_state;
		bc.no_wait = cfg->batch_no_wait;
		bc.retries = e->retries;
		bc.progress = cfg->progress;
		bc.timeout_s = e->timeout_s;
		bc.poll_s = cfg->batch_poll_s;
		bc.price_in = cfg->price_in * cfg->batch_discount;
		bc.price_out = cfg->price_out * cfg->batch_discount;
		bc.interrupted = &e->interrupted;
		if (!cfg->batch_state || (bc.dir == NULL && e->batch == SX_ENGINE_BATCH_DIR)) {
			rc = sx_err_set(err, SX_EINPUT, "batch mode needs a record file and, with "
					"--batch-dir, a directory");
			goto fail;
		}
		if ((rc = sx_batchapi_new(&bc, batch_answer, e, &e->batches, err)))
			goto fail;
	}
	if (!e->offline) {
		hc.max_connections = e->concurrency;
		hc.insecure = cfg->insecure;
		hc.api_key = cfg->api_key;
		hc.auth = cfg->auth;
		hc.headers = cfg->headers;
		hc.nheaders = cfg->nheaders;
		if ((rc = sx_http_new(&hc, &e->http, err)))
			goto fail;
	}
	if (e->batches)
		sx_batchapi_set_http(e->batches, e->http);
	*out = e;
	return 0;
fail:
	sx_engine_free(e);
	return rc;
}

void sx_engine_free(struct sx_engine *e)
{
	if (!e)
		return;
	sx_batchapi_free(e->batches);
	sx_http_free(e->http);
	sx_cache_close(e->cache);
	free(e->base_url);
	free(e->url);
	free(e->shown_base);
	free(e->shown_url);
	free(e->host);
	free(e->endpoint);
	free(e->endpoint_host);
	free(e);
}

void sx_engine_get_stats(const struct sx_engine *e, struct sx_engine_stats *out)
{
	*out = e->stats;
}

void sx_engine_interrupt(struct sx_engine *e)
{
	e->interrupted = 1;
}

void sx_result_release(struct sx_result *r)
{
	if (!r)
		return;
	sx_chat_answer_release(&r->answer);
	free(r->reason);
	r->reason = NULL;
}

/* ------------------------------------------------------------------- heap */

struct heap {
	struct heap_item *items;
	size_t n, alloc;
};

static void heap_push(struct heap *h, double due, size_t job)
{
	size_t i;

	SX_GROW(h->items, h->alloc, h->n + 1);
	i = h->n++;
	while (i > 0 && h->items[(i - 1) / 2].due > due) {
		h->items[i] = h->items[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->items[i].due = due;
	h->items[i].job = job;
}

static size_t heap_pop(struct heap *h)
{
	size_t top = h->items[0].job, i = 0, c;
	struct heap_item last = h->items[--h->n];

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->items[c + 1].due < h->items[c].due)
			c++;
		if (h->items[c].due >= last.due)
			break;
		h->items[i] = h->items[c];
		i = c;
	}
	if (h->n)
		h->items[i] = last;
	return top;
}

/* --------------------------------------------------------------- progress */

struct run {
	struct sx_engine *e;
	struct job *jobs;
	size_t njobs;
	size_t *queue; /* jobs to send, in order */
	size_t qhead, qlen;
	struct heap retry;
	size_t done;   /* jobs finished (any status) */
	long errors, retries;
	const char *stage;
	double start, last_draw;
	long sent_at_start;
	int drawn;
	int fatal;     /* SX_ENET / SX_EIO: stop everything */
	struct sx_err *err;
};

static void fmt_duration(char *buf, size_t n, double s)
{
	long t = s > 0 && s < 1e7 ? (long)(s + 0.5) : 0;

	if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void draw_progress(struct run *r, int final)
{
	struct sx_engine *e = r->e;
	double now = now_s(), el = now - r->start, rate;
	long sent = e->stats.sent - r->sent_at_start;
	char eta[80] = "-", recorded[48] = "";
	const char *label = "eta";

	if (!e->progress || (!final && now - r->last_draw < PROGRESS_INTERVAL_S))
		return;
	r->last_draw = now;
	rate = el > 0 ? (double)sent / el : 0;
	if (e->outage) {
		/* the eta of a run that is not moving means nothing: say what it waits for */
		char d[32];

		fmt_duration(d, sizeof(d), now - e->outage_since);
		snprintf(eta, sizeof(eta), "%s (server down, probing)", d);
		label = "held";
	} else if (e->wait_until - now > 0.5) { /* set only for waits of SX_ENGINE_NOTICE_S or more */
		char d[32];

		fmt_duration(d, sizeof(d), e->wait_until - now);
		snprintf(eta, sizeof(eta), "%s (%s)", d, e->wait_why ? e->wait_why : "?");
		label = "wait";
	} else if (rate > 0 && r->done < r->njobs) {
		fmt_duration(eta, sizeof(eta), (double)(r->njobs - r->done) / rate);
	}
	if (e->answers)
		snprintf(recorded, sizeof(recorded), "recorded %ld  ", e->stats.recorded);
	fprintf(stderr, "\r%s%-8s%s %zu/%zu  %.1f req/s  %s %s  %shits %ld  retries %ld  %serrors %ld%s  $%.4f\033[K",
		e->color ? "\033[1m" : "", r->stage ? r->stage : "", e->color ? "\033[0m" : "",
		r->done, r->njobs, rate, label, eta, recorded, e->stats.cache_hits, r->retries,
		e->color && r->errors ? "\033[31m" : "", r->errors,
		e->color && r->errors ? "\033[0m" : "", e->stats.cost);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
	r->drawn = 1;
}

/* ------------------------------------------------------------------- jobs */

static void job_reason(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_reason(struct job *j, const char *fmt, ...)
{
	char buf[REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(j->reason);
	j->reason = xstrdup(buf);
}

/* Count the model answer a says answered it (sx_engine_stats.served). */
static void count_served(struct sx_engine_stats *st, const struct sx_chat_answer *a)
{
	size_t i;

	if (!a->model) {
		st->served_unnamed++;
		return;
	}
	for (i = 0; i < st->nserved && strcmp(st->served[i].name, a->model); i++)
		;
	if (i == st->nserved) {
		if (i == SX_ENGINE_SERVED_MAX) {
			st->served_other++;
			return;
		}
		snprintf(st->served[i].name, sizeof(st->served[i].name), "%s", a->model);
		st->nserved++;
	}
	st->served[i].answers++;
}

static void job_finish(struct run *r, struct job *j, enum sx_result_status st)
{
	j->state = JOB_DONE;
	j->status = st;
	r->done++;
	if (st == SX_RESULT_OK && !j->recorded)
		count_served(&r->e->stats, &j->answer);
	if (st == SX_RESULT_FAILED) {
		r->e->stats.failed++;
		r->errors++;
	} else if (st == SX_RESULT_SKIPPED) {
		r->e->stats.skipped++;
	}
}

/*
 * Look key up for j: 1 when it answered j (or failed the run), 0 on a miss.
 * A run that verifies TLS takes only answers known to have been fetched with
 * verification (rows older than that record are not known so).
 */
static int lookup_key(struct run *r, struct job *j, const char *key, int host_only)
{
	struct sx_engine *e = r->e;
	struct sx_cache_entry ce = SX_CACHE_ENTRY_INIT;
	struct sx_err err = SX_ERR_INIT;
	int rc;

	rc = sx_cache_get(e->cache, key, &ce, &err);
	if (rc == SX_ENOTFOUND)
		return 0;
	if (rc) {
		r->fatal = sx_err_set(r->err, rc, "%s", err.msg);
		return 1;
	}
	rc = 0;
	if (e->verifies && !e->accept_insecure && ce.insecure != 0) {
		j->unverified = 1;
	} else if (!sx_chat_decode(ce.response, ce.response_len, &j->answer, NULL)) {
		/* a row that does not decode (it cannot have been stored so) is a miss, and will be replaced */
		if (sx_chat_withheld(&j->answer)) {
			/* nor one that holds no answer (an older version stored them) */
			sx_chat_answer_release(&j->answer);
			sx_cache_entry_release(&ce);
			return 0;
		}
		j->from_cache = 1;
		j->latency_ms = ce.latency_ms;
		e->stats.cache_hits++;
		if (host_only)
			e->stats.legacy_hits++;
		job_finish(r, j, SX_RESULT_OK);
		rc = 1;
	}
	sx_cache_entry_release(&ce);
	return rc;
}

static void lookup_cache(struct run *r, struct job *j)
{
	struct sx_engine *e = r->e;
	char old[SX_SHA256_HEX_LEN + 1];

	if (!e->cache || lookup_key(r, j, j->key, e->keys == SX_ENGINE_KEYS_HOST))
		return;
	if (e->keys == SX_ENGINE_KEYS_FALLBACK) {
		sx_cache_key(e->host, j->body, j->len, old);
		if (lookup_key(r, j, old, 1))
			return;
	}
	if (j->unverified)
		e->stats.unverified++;
}

/* The completion tokens billed: reasoning tokens are inside completion_tokens, unless a server counts them apart. */
static long billed_completion(const struct sx_chat_answer *a)
{
	long c = a->completion_tokens > 0 ? a->completion_tokens : 0;

	if (a->reasoning_tokens > c)
		c += a->reasoning_tokens;
	return c;
}

/* A recorded answer for j's (condition, review): 1 when it answered j. */
static int lookup_recorded(struct run *r, struct job *j)
{
	struct sx_engine *e = r->e;
	const char *text;

	if (!e->answers || !j->cond)
		return 0;
	text = sx_answers_take(e->answers, j->cond, j->review ? j->review : "", j->review_len);
	if (!text)
		return 0;
	j->answer.content = xstrdup(text);
	j->recorded = 1;
	e->stats.recorded++;
	job_finish(r, j, SX_RESULT_OK);
	return 1;
}

static double job_cost(const struct sx_engine *e, long ptok, long ctok)
{
	return ((double)(ptok > 0 ? ptok : 0) * e->price_in +
		(double)(ctok > 0 ? ctok : 0) * e->price_out) / 1e6;
}

/* Skip what was not sent: a cap was reached, the run was interrupted or failed. */
static void skip_rest(struct run *r, const char *why)
{
	size_t i;

	for (i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];

		if (j->state == JOB_PENDING || j->state == JOB_WAITING) {
			job_reason(j, "%s", why);
			job_finish(r, j, SX_RESULT_SKIPPED);
		}
	}
	r->qhead = r->qlen;
	r->retry.n = 0;
}

static void schedule_retry(struct run *r, struct job *j, double hint, double now)
{
	struct sx_engine *e = r->e;
	double delay, ceiling;

	if (j->attempts - j->held > e->retries) {
		char *last = j->reason;

		j->reason = NULL;
		job_reason(j, "after %d attempts: %s", j->attempts, last ? last : "error");
		free(last);
		job_finish(r, j, SX_RESULT_FAILED);
		return;
	}
	ceiling = BACKOFF_BASE_S * pow(2.0, (double)(j->attempts - 1));
	if (ceiling > BACKOFF_CAP_S)
		ceiling = BACKOFF_CAP_S;
	delay = rnd(e) * ceiling; /* full jitter */
	if (hint >= 0) {
		/*
		 * At least what the server asked (on_done refused hints over
		 * max_wait_s), plus the jitter: requests refused together must
		 * not come back together, or against a rate limit most of them
		 * are refused again.
		 */
		delay += hint;
	}
	j->state = JOB_WAITING;
	j->due = now + delay;
	heap_push(&r->retry, j->due, (size_t)(j - r->jobs));
	e->stats.retries++;
	r->retries++;
}

/* ---------------------------------------------------------------- waits */

/* Seconds as a message says them: whole seconds, or 3 digits when huge. */
static void fmt_secs(char *buf, size_t n, double s)
{
	if (s < 1e9)
		snprintf(buf, n, "%.0f s", s);
	else
		snprintf(buf, n, "%.3g s", s);
}

/*
 * A wait the server asked for, secs long: on the progress line while it
 * lasts, or said once on stderr (a wait that starts while another announced
 * one lasts is part of the same episode).
 */
static void announce_wait(struct run *r, double secs, const char *why, int all, double now)
{
	struct sx_engine *e = r->e;
	int fresh = now >= e->wait_until;
	char d[32];

	if (secs < SX_ENGINE_NOTICE_S)
		return;
	if (now + secs > e->wait_until) {
		e->wait_until = now + secs;
		e->wait_why = why;
	}
	if (!fresh || e->progress || e->quiet)
		return;
	fmt_secs(d, sizeof(d), secs);
	fprintf(stderr, "selfexp: %s: the server asked to wait %s (%s); %s (--max-wait %g s)\n",
		r->stage ? r->stage : "run", d, why,
		all ? "holding every request until then" : "retrying that request then",
		e->max_wait_s);
}

/* The server answers (anything but a connection error or a 5xx): an outage hold ends. */
static void outage_end(struct run *r, double now)
{
	struct sx_engine *e = r->e;
	char d[32];

	e->fail_streak = 0;
	if (!e->outage)
		return;
	e->outage = 0;
	e->probe = NULL;
	if (e->progress || e->quiet)
		return;
	fmt_secs(d, sizeof(d), now - e->outage_since);
	fprintf(stderr, "selfexp: %s: the server answers again after %s of holding; going on\n",
		r->stage ? r->stage : "run", d);
}

static void outage_give_up(struct run *r, double now);

/*
 * A connection error or a 5xx for j (its reason set). SX_ENGINE_OUTAGE_STREAK
 * of them in a row are an outage: the queue is held and one request at a
 * time probes the server. 1 when j was put back to wait for the end of the
 * hold (that attempt does not count against the retries), 0 when j is
 * retried as usual. With --retries 0 there is no hold: a request is never
 * sent twice.
 */
static int outage_hit(struct run *r, struct job *j, double hint, double now)
{
	struct sx_engine *e = r->e;

	e->fail_streak++;
	if (!e->retries)
		return 0; /* --retries 0: every request is sent once, and no hold sends one again */
	if (e->outage_given_up && e->fail_streak >= SX_ENGINE_OUTAGE_STREAK) {
		/* still down: this batch fails at once, not after every request's retries */
		j->state = JOB_WAITING; /* failed with the rest */
		outage_give_up(r, now);
		return 1;
	}
	/* only a server that answered well before is down for a while; one that never did is broken */
	if (!e->outage && !e->outage_given_up && e->ever_ok &&
	    e->fail_streak >= SX_ENGINE_OUTAGE_STREAK) {
		e->outage = 1;
		e->outage_since = now;
		e->probe_delay = PROBE_FIRST_S;
		e->probe_at = now + (hint > PROBE_FIRST_S ? hint : PROBE_FIRST_S);
		e->probe = NULL;
		if (!e->progress && !e->quiet)
			fprintf(stderr, "selfexp: %s: %d requests in a row failed (the last: %s); "
				"holding every request and probing the server with one until it "
				"answers (at most --max-wait %g s)\n",
				r->stage ? r->stage : "run", e->fail_streak,
				j->reason ? j->reason : "?", e->max_wait_s);
	}
	if (!e->outage)
		return 0;
	if (e->probe == j) {
		e->probe = NULL;
		e->probe_delay = e->probe_delay * 2 < PROBE_MAX_S ? e->probe_delay * 2 : PROBE_MAX_S;
		e->probe_at = now + (hint > e->probe_delay ? hint : e->probe_delay);
	}
	j->held++;
	j->state = JOB_WAITING;
	j->due = now;
	heap_push(&r->retry, now, (size_t)(j - r->jobs));
	e->stats.retries++;
	r->retries++;
	return 1;
}

/*
 * A hold that lasted max_wait_s, or a new outage after one did: what is not
 * answered fails (later batches hold no more; their requests fail as soon as
 * a new streak shows the server still down).
 */
static void outage_give_up(struct run *r, double now)
{
	struct sx_engine *e = r->e;
	char why[REASON_MAX], d[32];
	size_t i;

	if (e->outage_given_up) {
		snprintf(why, sizeof(why), "the server at '%s' is still not answering (connection "
			 "errors or 5xx; it did not for --max-wait %g s before)", e->shown_base,
			 e->max_wait_s);
	} else {
		fmt_secs(d, sizeof(d), now - e->outage_since);
		snprintf(why, sizeof(why), "the server at '%s' did not answer for %s (connection "
			 "errors or 5xx; --max-wait %g s)", e->shown_base, d, e->max_wait_s);
	}
	for (i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];

		if (j->state == JOB_PENDING || j->state == JOB_WAITING) {
			job_reason(j, "%s", why);
			job_finish(r, j, SX_RESULT_FAILED);
		}
	}
	r->qhead = r->qlen;
	r->retry.n = 0;
	e->outage = 0;
	e->outage_given_up = 1;
	e->probe = NULL;
	if (!e->progress && !e->quiet)
		fprintf(stderr, "selfexp: %s: %s; the requests not answered failed\n",
			r->stage ? r->stage : "run", why);
}

/* Text decoded from a body may spell the key with JSON escapes: redact it again. */
static void redact(const struct sx_engine *e, char *s)
{
	if (s)
		sx_http_redact(e->http, s, strlen(s));
}

/*
 * A redirect or a 404 before any good answer: the base URL (or the model name)
 * is wrong, and every other request would get the same. Redirects are never
 * followed, so that the key is not sent to a host the user did not name.
 */
static int wrong_endpoint(struct run *r, struct job *j, const struct sx_http_done *d,
			  const char *msg)
{
	struct sx_engine *e = r->e;

	if (e->ever_ok)
		return 0;
	if (d->status >= 300 && d->status < 400) {
		r->fatal = sx_err_set(r->err, SX_ENET,
				      "the API at '%s' answered http %ld, a redirect to '%s', which "
				      "is not followed; use the final URL as --base-url",
				      e->shown_base, d->status, d->location[0] ? d->location : "?");
	} else if (d->status == 404) {
		r->fatal = sx_err_set(r->err, SX_ENET,
				      "the API at '%s' answered http 404 for '%s'%s%s; check "
				      "--base-url (it usually ends in /v1) and --model",
				      e->shown_base, e->shown_url, msg ? ": " : "", msg ? msg : "");
	} else if (d->status == 405 || d->status == 501) {
		r->fatal = sx_err_set(r->err, SX_ENET,
				      "'%s' is not an OpenAI-compatible chat endpoint: POST '%s' "
				      "answered http %ld%s%s; check --base-url (it usually ends in /v1)",
				      e->shown_base, e->shown_url, d->status, msg ? ": " : "", msg ? msg : "");
	} else if (d->status == 200 && d->content_type[0] && !strstr(d->content_type, "json")) {
		r->fatal = sx_err_set(r->err, SX_ENET,
				      "'%s' is not an OpenAI-compatible chat endpoint: POST '%s' "
				      "answered http 200 with Content-Type '%s', not a JSON chat "
				      "completion; check --base-url (it usually ends in /v1)",
				      e->shown_base, e->shown_url, d->content_type);
	} else {
		return 0;
	}
	job_reason(j, "http %ld", d->status);
	job_finish(r, j, SX_RESULT_FAILED);
	return 1;
}

/* Case-insensitive: does s hold needle? */
static int has_text(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; s && *s; s++)
		if (!strncasecmp(s, needle, n))
			return 1;
	return 0;
}

int sx_engine_client_error(const char *msg)
{
	static const char *const ctx[] = {
		"context shift is disabled", "exceeds the available context size",
		"maximum context length", "context_length_exceeded", "context length exceeded",
		"exceed_context_size", "prompt is too long",
	};
	static const char *const body[] = {
		"failed to parse", "parse error", "invalid json", "json.exception",
	};
	size_t i;

	if (!msg)
		return 0;
	if (has_text(msg, "only one completion choice"))
		return SX_ENGINE_CLIENT_N;
	for (i = 0; i < sizeof(ctx) / sizeof(ctx[0]); i++)
		if (has_text(msg, ctx[i]))
			return SX_ENGINE_CLIENT_CONTEXT;
	for (i = 0; i < sizeof(body) / sizeof(body[0]); i++)
		if (has_text(msg, body[i]))
			return SX_ENGINE_CLIENT_BAD_BODY;
	return 0;
}

/*
 * The request field a 400 says is not supported: error.param, else the first
 * quoted 'name' of the message, when the message says "unsupported" or "not
 * supported" (OpenAI's unsupported_parameter and unsupported_value). Owned, or NULL.
 */
static char *refused_field(const struct sx_http_done *d, const char *msg)
{
	char *param;
	const char *q, *q2;

	if (!msg || (!has_text(msg, "unsupported") && !has_text(msg, "not supported")))
		return NULL;
	param = sx_chat_error_param(d->body.buf, d->body.len);
	if (param)
		return param;
	if ((q = strchr(msg, '\'')) && (q2 = strchr(q + 1, '\'')) && q2 - q > 1 && q2 - q < 64)
		return xstrndup(q + 1, (size_t)(q2 - q - 1));
	return NULL;
}

/* The flag that leaves a refused field out, or sends it differently. */
static const char *field_fix(const char *field)
{
	static const struct {
		const char *field, *fix;
	} fixes[] = {
		{ "max_tokens", "--max-tokens-field max_completion_tokens" },
		{ "max_completion_tokens", "--max-tokens-field max_tokens" },
		{ "temperature", "--unset temperature (the model takes only its default)" },
		{ "top_p", "--unset top_p (the model takes only its default)" },
		{ "seed", "--unset seed" },
		{ "logprobs", "--prob verbal (the model gives no logprobs)" },
		{ "top_logprobs", "--prob verbal (the model gives no logprobs)" },
	};
	size_t i;

	for (i = 0; i < sizeof(fixes) / sizeof(fixes[0]); i++)
		if (!strcmp(field, fixes[i].field))
			return fixes[i].fix;
	return NULL;
}

/*
 * A 400 naming a field the model does not support: every request carries
 * it, so the run stops at once (no retries) with the flag that fixes it.
 * The field "n" is left to the caller (--prob sample:N falls back to
 * separate requests).
 */
static int unsupported_field(struct run *r, struct job *j, const struct sx_http_done *d,
			     const char *msg)
{
	char *field;
	const char *fix;
	struct sx_buf other = SX_BUF_INIT;

	if (d->status != 400 && d->status != 422)
		return 0;
	field = refused_field(d, msg);
	if (!field || !strcmp(field, "n")) {
		free(field);
		return 0;
	}
	redact(r->e, field);
	fix = field_fix(field);
	if (!fix) {
		sx_buf_addf(&other, "leave out the --param %s that sets it", field);
		fix = other.buf;
	}
	r->fatal = sx_err_set(r->err, SX_EINPUT,
			      "the API at '%s' does not support the request field '%s' (http %ld: "
			      "%s); pass %s", r->e->shown_base, field, d->status, msg, fix);
	job_reason(j, "http %ld: unsupported field '%s'", d->status, field);
	job_finish(r, j, SX_RESULT_FAILED);
	sx_buf_release(&other);
	free(field);
	return 1;
}

/*
 * The tokens and cost of the answer j got from the server. A server that
 * gives no usage (a gateway that strips it) still bills: its tokens are
 * estimated, so that the spend reported and --max-cost see them.
 */
static void estimate_usage(struct sx_engine *e, struct job *j)
{
	int estimated = 0;

	if (j->answer.prompt_tokens < 0) {
		j->answer.prompt_tokens = (long)((j->len + 3) / 4);
		estimated = 1;
	}
	if (j->answer.completion_tokens < 0) {
		size_t i, bytes = 0;

		for (i = 0; i < j->answer.nchoices; i++)
			bytes += strlen(j->answer.choices[i]);
		j->answer.completion_tokens = (long)((bytes + 3) / 4);
		estimated = 1;
	}
	e->stats.usage_estimated += estimated;
}

static void account_answer(struct sx_engine *e, struct job *j)
{
	estimate_usage(e, j);
	if (j->answer.prompt_tokens > 0)
		e->stats.prompt_tokens += j->answer.prompt_tokens;
	if (j->answer.completion_tokens > 0 || j->answer.reasoning_tokens > 0)
		e->stats.completion_tokens += billed_completion(&j->answer);
	if (j->answer.reasoning_tokens > 0)
		e->stats.reasoning_tokens += j->answer.reasoning_tokens;
	e->stats.cost += job_cost(e, j->answer.prompt_tokens, billed_completion(&j->answer));
	if (j->answer.prompt_tokens >= 0 && j->answer.completion_tokens >= 0)
		bucket_refund(&e->tpm, (double)(j->est_tokens - j->answer.prompt_tokens -
						j->answer.completion_tokens));
}

/* Why the answer j got is none (sx_chat_withheld), with the way out. */
static void withheld_reason(struct job *j)
{
	if (sx_chat_withheld(&j->answer) == SX_CHAT_FILTERED)
		job_reason(j, "no answer: the server's content filter withheld it (finish_reason "
			   "\"content_filter\")");
	else if (j->answer.reasoning_tokens > 0)
		job_reason(j, "no answer: the completion cap was spent before any text "
			   "(finish_reason \"length\", %ld reasoning tokens); pass a larger "
			   "--max-tokens", j->answer.reasoning_tokens);
	else
		job_reason(j, "no answer: the completion cap was spent before any text "
			   "(finish_reason \"length\"); pass a larger --max-tokens");
}

static void on_done(struct run *r, struct sx_http_done *d)
{
	struct sx_engine *e = r->e;
	struct job *j = d->tag;
	struct sx_err derr = SX_ERR_INIT;
	double now = now_s(), hint = -1;
	char *msg = NULL;
	int kind;

	e->reserved -= j->est_cost;
	if (e->reserved < 1e-12)
		e->reserved = 0;
	j->latency_ms = d->elapsed_ms;
	if (d->net == SX_HTTP_NET_OK)
		e->ever_answered = 1;
	if (d->net == SX_HTTP_NET_TOO_LARGE ||
	    (d->net == SX_HTTP_NET_OK && (d->status < 500 || d->status == 501)))
		outage_end(r, now); /* the server answers */

	if (d->net == SX_HTTP_NET_UNREACHABLE && !e->ever_answered) {
		r->fatal = sx_err_set(r->err, SX_ENET,
				      "cannot reach the API at '%s': %s; check --base-url or "
				      "OPENAI_BASE_URL, or use --offline to answer from the cache only",
				      e->shown_base, d->error);
		job_reason(j, "endpoint unreachable");
		job_finish(r, j, SX_RESULT_SKIPPED);
		return;
	}
	if (d->net == SX_HTTP_NET_TLS) {
		/* never retried: it cannot get better, and may be someone in the middle */
		r->fatal = sx_err_set(r->err, SX_ENET,
				      "the TLS certificate of '%s' failed verification: %s; fix the "
				      "server's certificate (or CURL_CA_BUNDLE), or pass --insecure "
				      "if you trust the network",
				      e->shown_base, d->error);
		job_reason(j, "TLS certificate not trusted");
		job_finish(r, j, SX_RESULT_FAILED);
		return;
	}
	if (d->net == SX_HTTP_NET_TOO_LARGE) {
		job_reason(j, "%s", d->error);
		job_finish(r, j, SX_RESULT_FAILED);
		return;
	}
	if (d->net != SX_HTTP_NET_OK) {
		job_reason(j, "%s", d->error);
		if (!outage_hit(r, j, -1, now))
			schedule_retry(r, j, -1, now);
		return;
	}
	if (d->status == 200) {
		if (wrong_endpoint(r, j, d, NULL))
			return;
		if (sx_chat_decode(d->body.buf, d->body.len, &j->answer, &derr)) {
			redact(e, derr.msg);
			job_reason(j, "malformed answer: %s", derr.msg);
			schedule_retry(r, j, -1, now);
			return;
		}
		e->ever_ok = 1;
		if (sx_chat_withheld(&j->answer)) {
			/* billed, but not an answer: not cached, not sent again (the same comes back) */
			account_answer(e, j);
			withheld_reason(j);
			sx_chat_answer_release(&j->answer);
			job_finish(r, j, SX_RESULT_FAILED);
			return;
		}
		if (e->cache) {
			struct sx_cache_entry ce = SX_CACHE_ENTRY_INIT;
			struct sx_err cerr = SX_ERR_INIT;

			ce.request = (char *)j->body;
			ce.request_len = j->len;
			ce.response = d->body.buf;
			ce.response_len = d->body.len;
			ce.prompt_tokens = j->answer.prompt_tokens;
			ce.completion_tokens = j->answer.completion_tokens;
			ce.latency_ms = d->elapsed_ms;
			ce.endpoint = e->keys == SX_ENGINE_KEYS_HOST ? NULL : e->endpoint;
			ce.insecure = e->fetch_insecure;
			if (sx_cache_put(e->cache, j->key,
					 ce.endpoint ? e->endpoint_host : e->host, &ce, &cerr))
				r->fatal = sx_err_set(r->err, SX_EIO, "%s", cerr.msg);
		}
		redact(e, j->answer.content);
		account_answer(e, j);
		free(j->reason);
		j->reason = NULL;
		job_finish(r, j, SX_RESULT_OK);
		return;
	}
	msg = sx_chat_error_message(d->body.buf, d->body.len);
	redact(e, msg);
	if (wrong_endpoint(r, j, d, msg)) {
		free(msg);
		return;
	}
	if (d->status == 401 || d->status == 403) {
		r->fatal = sx_err_set(r->err, SX_ENET,
				      "the API at '%s' refused the request (http %ld%s%s); check "
				      "OPENAI_API_KEY or --api-key-file",
				      e->shown_base, d->status, msg ? ": " : "", msg ? msg : "");
		job_reason(j, "http %ld%s%s", d->status, msg ? ": " : "", msg ? msg : "");
		job_finish(r, j, SX_RESULT_FAILED);
		free(msg);
		return;
	}
	if (d->status == 429 && sx_chat_error_is(d->body.buf, d->body.len, "insufficient_quota")) {
		/* not a rate limit: no request gets through until someone pays */
		r->fatal = sx_err_set(r->err, SX_ENET,
				      "the API at '%s' refused the request: the quota of the key's "
				      "account is used up (http 429 insufficient_quota%s%s); check "
				      "the plan and billing of the account, then run the same "
				      "command again", e->shown_base, msg ? ": " : "", msg ? msg : "");
		job_reason(j, "http 429: insufficient_quota");
		job_finish(r, j, SX_RESULT_FAILED);
		free(msg);
		return;
	}
	if (unsupported_field(r, j, d, msg)) {
		free(msg);
		return;
	}
	kind = sx_engine_client_error(msg);
	if (d->status >= 300 && d->status < 400)
		job_reason(j, "http %ld: redirect to '%s' not followed", d->status,
			   d->location[0] ? d->location : "?");
	else if (kind == SX_ENGINE_CLIENT_CONTEXT)
		job_reason(j, "http %ld: the prompt and the completion cap do not fit the "
			   "server's context: lower --max-tokens, or give the server a larger "
			   "context (llama.cpp: -c / --ctx-size; Ollama: num_ctx): %s", d->status,
			   msg);
	else
		job_reason(j, "http %ld%s%s", d->status, msg ? ": " : "", msg ? msg : "");
	free(msg);
	if (kind) {
		/* a client error, whatever the status says: the same request fails again */
		job_finish(r, j, SX_RESULT_FAILED);
		return;
	}
	if (d->status == 408 || d->status == 409 || d->status == 429 || d->status >= 500) {
		const char *why = d->retry_after_ms ? "retry-after-ms" : "Retry-After";

		hint = d->retry_after_s;
		if (d->status == 429) {
			if (d->reset_requests_s > hint) {
				hint = d->reset_requests_s;
				why = "x-ratelimit-reset-requests";
			}
			if (d->reset_tokens_s > hint) {
				hint = d->reset_tokens_s;
				why = "x-ratelimit-reset-tokens";
			}
		}
		if (hint > e->max_wait_s) {
			char asked[32];

			fmt_secs(asked, sizeof(asked), hint);
			job_reason(j, "http %ld: the server asked to wait %s (%s), longer than "
				   "--max-wait %g s; pass a larger --max-wait to wait that long",
				   d->status, asked, why, e->max_wait_s);
			job_finish(r, j, SX_RESULT_FAILED);
			return;
		}
		if (d->status >= 500 && d->status != 501 && outage_hit(r, j, hint, now))
			return;
		/* the server's rate limit is shared: hold every request, not just this one */
		if (d->status == 429 && hint >= 0 && now + hint > e->hold_until)
			e->hold_until = now + hint;
		announce_wait(r, hint, why, d->status == 429, now);
		schedule_retry(r, j, hint, now);
		return;
	}
	job_finish(r, j, SX_RESULT_FAILED);
}

/*
 * Start what may start now. Returns the seconds until something might be
 * startable (pacing, a retry's due time), or -1 when nothing is waiting.
 */
static double start_requests(struct run *r)
{
	struct sx_engine *e = r->e;
	double now = now_s();

	while (!r->fatal && sx_http_in_flight(e->http) < (size_t)e->concurrency) {
		struct job *j;
		size_t idx;
		int from_retry;
		double w;

		if (e->outage) {
			/* one probe at a time, once the requests in flight are back */
			double left = e->outage_since + e->max_wait_s - now;

			if (sx_http_in_flight(e->http))
				return TICK_MS / 1000.0;
			if (left <= 0) {
				outage_give_up(r, now);
				continue;
			}
			if (e->probe_at > now)
				return e->probe_at - now < left ? e->probe_at - now : left;
		}
		if (r->retry.n && (e->outage || r->retry.items[0].due <= now)) {
			from_retry = 1;
			idx = r->retry.items[0].job;
		} else if (r->qhead < r->qlen) {
			from_retry = 0;
			idx = r->queue[r->qhead];
		} else {
			return r->retry.n ? r->retry.items[0].due - now : -1;
		}
		j = &r->jobs[idx];
		if (!from_retry) {
			if (e->max_requests > 0 && e->stats.sent >= e->max_requests) {
				skip_rest(r, "not sent: --max-requests reached");
				continue;
			}
			if (e->max_cost > 0 &&
			    e->prior_cost + e->stats.cost + e->reserved + j->est_cost >
				    e->max_cost + 1e-12) {
				if (sx_http_in_flight(e->http) || r->retry.n)
					return TICK_MS / 1000.0; /* what is in flight may cost less */
				skip_rest(r, "not sent: --max-cost reached");
				continue;
			}
		}
		if (e->hold_until > now)
			return e->hold_until - now;
		w = bucket_wait(&e->rpm, 1, now);
		if (w <= 0)
			w = bucket_wait(&e->tpm, (double)j->est_tokens, now);
		if (w > 0)
			return w;
		bucket_take(&e->rpm, 1);
		bucket_take(&e->tpm, (double)j->est_tokens);
		if (from_retry)
			heap_pop(&r->retry);
		else
			r->qhead++;
		if (sx_http_post(e->http, e->url, j->body, j->len, e->timeout_s, j, r->err)) {
			r->fatal = SX_EFAIL;
			return -1;
		}
		if (!j->attempts && !from_retry)
			e->stats.sent++;
		j->attempts++;
		e->stats.attempts++;
		e->reserved += j->est_cost;
		j->state = JOB_IN_FLIGHT;
		if (e->outage)
			e->probe = j;
	}
	return 0;
}

static void network_loop(struct run *r)
{
	struct sx_engine *e = r->e;
	struct sx_http_done d;
	int interrupted = 0;

	for (;;) {
		double wait = -1;
		int ms, answered;

		if (e->interrupted && !interrupted) {
			interrupted = 1;
			skip_rest(r, "not sent: interrupted");
		}
		if (!r->fatal && !interrupted) {
			long before = e->stats.attempts;

			wait = start_requests(r);
			/* accounted before curl sends them (sx_http_poll) */
			if (e->on_account && e->stats.attempts != before)
				e->on_account(e->account_ctx, &e->stats);
		}
		if (r->fatal)
			break;
		if (!sx_http_in_flight(e->http) && wait < 0)
			break;
		ms = TICK_MS;
		if (wait >= 0 && wait * 1000.0 < ms)
			ms = (int)ceil(wait * 1000.0);
		if (sx_http_in_flight(e->http) && wait == 0)
			ms = TICK_MS; /* full: wake on activity */
		if (sx_http_poll(e->http, ms, r->err)) {
			r->fatal = SX_EFAIL;
			break;
		}
		/* the answers of one wakeup are stored in one transaction, committed right after */
		sx_cache_hold(e->cache);
		answered = 0;
		while (sx_http_next_done(e->http, &d)) {
			if (!r->fatal)
				on_done(r, &d);
			sx_http_done_release(&d);
			answered = 1;
		}
		if (answered && e->on_account)
			e->on_account(e->account_ctx, &e->stats);
		if (e->cache && !r->fatal) {
			struct sx_err cerr = SX_ERR_INIT;

			if (sx_cache_flush(e->cache, &cerr))
				r->fatal = sx_err_set(r->err, SX_EIO, "%s", cerr.msg);
		}
		draw_progress(r, 0);
	}
	if (r->fatal) {
		/* what is in flight is abandoned (not stored) */
		sx_http_cancel_all(e->http);
		e->reserved = 0;
	}
}

/* ------------------------------------------------------------------ batches */

/* An answer of a batch line for job queue[req] of the current call: decoded, cached, counted. */
static int batch_answer(void *ctx, size_t req, const char *body, size_t len, long *ptok,
			long *ctok, char *why, size_t whylen)
{
	struct sx_engine *e = ctx;
	struct run *r = e->batch_run;
	struct job *j = &r->jobs[r->queue[req]];
	struct sx_err derr = SX_ERR_INIT;

	if (j->state == JOB_DONE)
		return 0;
	if (sx_chat_decode(body, len, &j->answer, &derr)) {
		redact(e, derr.msg);
		snprintf(why, whylen, "malformed answer: %s", derr.msg);
		return SX_EINPUT;
	}
	if (sx_chat_withheld(&j->answer)) {
		/* another round would get the same: failed for good */
		withheld_reason(j);
		snprintf(why, whylen, "%s", j->reason);
		sx_chat_answer_release(&j->answer);
		return SX_EFAIL;
	}
	if (e->cache) {
		struct sx_cache_entry ce = SX_CACHE_ENTRY_INIT;
		struct sx_err cerr = SX_ERR_INIT;

		ce.request = (char *)j->body;
		ce.request_len = j->len;
		ce.response = (char *)body;
		ce.response_len = len;
		ce.prompt_tokens = j->answer.prompt_tokens;
		ce.completion_tokens = j->answer.completion_tokens;
		ce.endpoint = e->keys == SX_ENGINE_KEYS_HOST ? NULL : e->endpoint;
		ce.insecure = e->fetch_insecure;
		if (sx_cache_put(e->cache, j->key, ce.endpoint ? e->endpoint_host : e->host, &ce,
				 &cerr)) {
			snprintf(why, whylen, "%s", cerr.msg);
			return SX_EIO;
		}
	}
	redact(e, j->answer.content);
	*ptok = j->answer.prompt_tokens;
	*ctok = j->answer.completion_tokens;
	if (j->answer.prompt_tokens > 0)
		e->stats.prompt_tokens += j->answer.prompt_tokens;
	if (j->answer.completion_tokens > 0)
		e->stats.completion_tokens += j->answer.completion_tokens;
	e->stats.cost += job_cost(e, j->answer.prompt_tokens, j->answer.completion_tokens) *
			 e->batch_discount;
	j->attempts = 1;
	e->stats.sent++;
	e->stats.attempts++;
	free(j->reason);
	j->reason = NULL;
	job_finish(r, j, SX_RESULT_OK);
	return 0;
}

/*
 * The queued (missing) jobs as one stage of batches. Pending batches and an
 * interruption leave the jobs not answered SKIPPED; what the rounds could
 * not answer is FAILED with the last reason.
 */
static void batch_loop(struct run *r)
{
	struct sx_engine *e = r->e;
	struct sx_batch_req *reqs = xcalloc(r->qlen, sizeof(*reqs));
	size_t k;
	int rc;

	for (k = 0; k < r->qlen; k++) {
		struct job *j = &r->jobs[r->queue[k]];

		reqs[k].key = j->key;
		reqs[k].body = j->body;
		reqs[k].len = j->len;
	}
	e->batch_run = r;
	sx_cache_hold(e->cache);
	rc = sx_batchapi_run(e->batches, reqs, r->qlen, r->stage, r->err);
	e->batch_run = NULL;
	if (e->cache) {
		struct sx_err cerr = SX_ERR_INIT;

		if (sx_cache_flush(e->cache, &cerr) && !rc)
			rc = sx_err_set(r->err, SX_EIO, "%s", cerr.msg);
	}
	for (k = 0; k < r->qlen; k++) {
		struct job *j = &r->jobs[r->queue[k]];

		if (j->state == JOB_DONE)
			continue;
		if (!rc) {
			job_reason(j, "%s", reqs[k].reason ? reqs[k].reason : "no answer");
			j->attempts = 1;
			e->stats.sent++;
			job_finish(r, j, SX_RESULT_FAILED);
		} else if (rc == SX_ELIMIT || rc == SX_EPENDING) {
			job_reason(j, "%s", rc == SX_EPENDING ? "not answered yet: batches pending"
							       : "not sent: interrupted");
			job_finish(r, j, SX_RESULT_SKIPPED);
		}
	}
	r->qhead = r->qlen;
	if (rc && rc != SX_ELIMIT)
		r->fatal = rc;
	for (k = 0; k < r->qlen; k++)
		free(reqs[k].reason);
	free(reqs);
}

struct sx_json *sx_engine_batches_json(const struct sx_engine *e)
{
	return e->batches ? sx_batch_state_json(sx_batchapi_state(e->batches)) : NULL;
}

int sx_engine_run(struct sx_engine *e, const struct sx_request *reqs, size_t n,
		  struct sx_result *res, const char *stage, struct sx_err *err)
{
	struct sx_strmap map = SX_STRMAP_INIT;
	struct run r;
	size_t *idx = NULL, i, alloc = 0;
	struct sx_err local = SX_ERR_INIT;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.e = e;
	r.stage = stage;
	r.err = err ? err : &local;
	r.start = now_s();
	r.last_draw = 0;
	r.sent_at_start = e->stats.sent;
	idx = xcalloc(n ? n : 1, sizeof(*idx));
	e->stats.requests += (long)n;

	/* dedupe by cache key, in order of first appearance */
	for (i = 0; i < n; i++) {
		char key[SX_SHA256_HEX_LEN + 1];
		size_t v = r.njobs;

		sx_cache_key(e->key_endpoint, reqs[i].body, reqs[i].len, key);
		if (!sx_strmap_put(&map, key, SX_SHA256_HEX_LEN, &v)) {
			struct job *j;

			SX_GROW(r.jobs, alloc, r.njobs + 1);
			j = &r.jobs[r.njobs++];
			memset(j, 0, sizeof(*j));
			memcpy(j->key, key, sizeof(key));
			j->body = reqs[i].body;
			j->len = reqs[i].len;
			j->cond = reqs[i].cond;
			j->review = reqs[i].review;
			j->review_len = reqs[i].review_len;
			j->answer = (struct sx_chat_answer)SX_CHAT_ANSWER_INIT;
			j->est_tokens = sx_engine_estimate_tokens(j->body, j->len);
			j->est_cost = job_cost(e, (long)((j->len + 3) / 4),
					       j->est_tokens - (long)((j->len + 3) / 4));
		}
		idx[i] = v;
	}
	sx_strmap_release(&map);
	e->stats.unique += (long)r.njobs;

	r.queue = xcalloc(r.njobs ? r.njobs : 1, sizeof(*r.queue));
	for (i = 0; i < r.njobs && !r.fatal; i++) {
		struct job *j = &r.jobs[i];

		if (lookup_recorded(&r, j))
			continue;
		lookup_cache(&r, j);
		if (j->state == JOB_DONE)
			continue;
		if (e->offline) {
			if (j->unverified)
				job_reason(j, "offline miss: the cached answer was fetched without TLS "
					      "verification (--accept-insecure-cache takes it)");
			else
				job_reason(j, "offline miss");
			job_finish(&r, j, SX_RESULT_FAILED);
			continue;
		}
		r.queue[r.qlen++] = i;
	}
	draw_progress(&r, 0);
	if (!r.fatal && r.qlen && e->batches)
		batch_loop(&r);
	else if (!r.fatal && r.qlen)
		network_loop(&r);
	if (r.fatal) {
		rc = r.fatal;
		skip_rest(&r, r.err->msg[0] ? r.err->msg : "not sent: run aborted");
		for (i = 0; i < r.njobs; i++) {
			struct job *j = &r.jobs[i];
			if (j->state == JOB_IN_FLIGHT) {
				job_reason(j, "abandoned: %s", r.err->msg);
				job_finish(&r, j, SX_RESULT_SKIPPED);
			}
		}
	}
	if (e->cache) {
		struct sx_err cerr = SX_ERR_INIT;

		if (sx_cache_flush(e->cache, &cerr) && !rc)
			rc = sx_err_set(r.err, SX_EIO, "%s", cerr.msg);
	}
	draw_progress(&r, 1);

	/*
	 * Every request gets its own copy of its job's result; the last request of
	 * a job takes the job's answer itself (no second copy of every answer).
	 */
	for (i = 0; e->capture && i < r.njobs; i++) {
		const struct job *j = &r.jobs[i];

		if (j->status == SX_RESULT_OK && j->cond && j->answer.content)
			sx_answers_add(e->capture, j->cond, j->review ? j->review : "", j->review_len,
				       j->answer.content);
	}
	for (i = 0; i < n; i++)
		r.jobs[idx[i]].refs++;
	for (i = 0; i < n; i++) {
		struct job *j = &r.jobs[idx[i]];
		struct sx_result *out = &res[i];

		memset(out, 0, sizeof(*out));
		out->status = j->status;
		out->answer = (struct sx_chat_answer)SX_CHAT_ANSWER_INIT;
		if (j->status != SX_RESULT_OK) {
			out->reason = xstrdup(j->reason ? j->reason : "unknown error");
		} else if (--j->refs == 0) {
			out->answer = j->answer;
			j->answer = (struct sx_chat_answer)SX_CHAT_ANSWER_INIT;
		} else {
			sx_chat_answer_copy(&out->answer, &j->answer);
		}
		out->from_cache = j->from_cache;
		out->recorded = j->recorded;
		out->attempts = j->attempts;
		out->latency_ms = j->latency_ms;
	}
	for (i = 0; i < r.njobs; i++) {
		sx_chat_answer_release(&r.jobs[i].answer);
		free(r.jobs[i].reason);
	}
	free(r.jobs);
	free(r.queue);
	free(r.retry.items);
	free(idx);
	return rc;
}

int sx_engine_models(struct sx_engine *e, struct sx_buf *out)
{
	struct sx_buf url = SX_BUF_INIT, body = SX_BUF_INIT;
	const char *q;
	size_t blen;
	long status = 0;
	int rc = SX_ENOTFOUND;

	if (!e->http)
		return SX_ENOTFOUND;
	q = e->base_url + strcspn(e->base_url, "?#");
	for (blen = (size_t)(q - e->base_url); blen && e->base_url[blen - 1] == '/'; blen--)
		;
	sx_buf_add(&url, e->base_url, blen);
	sx_buf_adds(&url, "/models");
	if (*q == '?')
		sx_buf_add(&url, q, strcspn(q, "#"));
	if (!sx_http_get(e->http, url.buf, e->timeout_s < 10 ? e->timeout_s : 10, &status, &body,
			 NULL) &&
	    status == 200 && !sx_chat_models_ids(body.buf, body.len, SX_ENGINE_MAX_MODEL_IDS, out))
		rc = 0;
	sx_buf_release(&url);
	sx_buf_release(&body);
	return rc;
}
