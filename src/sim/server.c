/*
 * The simulated model's HTTP server (libmicrohttpd; its types stay in this
 * file). MHD's internal thread pool with epoll serves the connections; a
 * delayed answer (latency, stall) suspends its connection and a timer thread
 * resumes it when due, so waiting never holds a worker thread.
 *
 * Order of checks for POST /v1/chat/completions: body cap (400), rate limit
 * (429 + Retry-After), JSON and schema (400), then a fault drawn per attempt,
 * then the answer after the drawn latency.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/hash.h"
#include "selfexp/json.h"
#include "selfexp/num.h"
#include "selfexp/sim.h"
#include "batches.h"

/* Messages per request, tokens per review and answers per request (n) beyond these are refused. */
#define SIM_MAX_MESSAGES 256
#define SIM_MAX_TOKENS 100000
#define SIM_MAX_CHOICES 16
#define SIM_MODEL_NAME "selfexp-sim"
#define SIM_STATUS_MAX 600

/* ---- faults ------------------------------------------------------------- */

static const char *const fault_names[SX_SIM_FAULT_COUNT] = {
	"429", "500", "503", "reset", "stall", "truncate", "garbage",
};

int sx_sim_faults_parse(const char *list, unsigned *mask, struct sx_err *err)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		int i, found = 0;

		for (i = 0; i < SX_SIM_FAULT_COUNT; i++)
			if (strlen(fault_names[i]) == len && !memcmp(p, fault_names[i], len)) {
				*mask |= 1u << i;
				found = 1;
			}
		if (!found)
			return sx_err_set(err, SX_EINPUT,
					  "unknown fault '%.*s' (expected 429, 500, 503, reset, stall, "
					  "truncate or garbage)",
					  (int)len, p);
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* ---- state -------------------------------------------------------------- */

enum req_state { REQ_NEW, REQ_WAITING, REQ_DONE };

/* Per connection-request context (MHD's con_cls). */
struct req {
	struct sx_buf body;
	int too_big;
	int is_chat; /* counted in by_status */
	enum req_state state;
	struct MHD_Response *resp; /* owned; queued when a suspended request resumes */
	unsigned status;
};

struct timer_entry {
	uint64_t due_ns;
	struct MHD_Connection *conn;
	struct req *r;
};

struct unique_set {
	uint64_t *keys; /* two words per slot; 0,0 = empty */
	size_t mask, n;
};

struct sx_sim {
	struct sx_sim_config cfg;
	char *host;   /* owned copy of cfg.host */
	struct sx_sim_model *model;
	struct MHD_Daemon *d;
	char address[128];
	int port;

	pthread_t timer;
	int timer_started;
	pthread_mutex_t tmu;
	pthread_cond_t tcv;
	struct timer_entry *heap;
	size_t nheap, aheap;
	int stopping;

	pthread_mutex_t rmu; /* rate limit bucket */
	double bucket;
	uint64_t bucket_ns;

	pthread_mutex_t smu; /* stats: the unique set */
	struct unique_set uniq;
	atomic_long requests, chat, rate_limited, delayed;
	atomic_long by_status[SIM_STATUS_MAX];
	atomic_long by_fault[SX_SIM_FAULT_COUNT];
	atomic_long by_cond[SX_COND_COUNT + 1]; /* last: unrecognised prompt */
	atomic_ullong attempts;
	struct sim_batches *batches; /* the Batch API's files and batches */
	atomic_long batch_lines;     /* chat bodies answered inside batches */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mix64(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
	*s = mix64(*s);
	return (double)(*s >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- the timer thread --------------------------------------------------- */

static void heap_push(struct sx_sim *s, struct timer_entry e)
{
	size_t i;

	SX_GROW(s->heap, s->aheap, s->nheap + 1);
	i = s->nheap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (s->heap[p].due_ns <= e.due_ns)
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = e;
}

static struct timer_entry heap_pop(struct sx_sim *s)
{
	struct timer_entry top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0, n = s->nheap;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && s->heap[c + 1].due_ns < s->heap[c].due_ns)
			c++;
		if (last.due_ns <= s->heap[c].due_ns)
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (n)
		s->heap[i] = last;
	return top;
}

/* Resume what is due; MHD_resume_connection is called without tmu held. */
static void *timer_main(void *arg)
{
	struct sx_sim *s = arg;
	struct MHD_Connection **due = NULL;
	size_t ndue, adue = 0, i;
	int stop;

	pthread_mutex_lock(&s->tmu);
	for (;;) {
		uint64_t now = now_ns();

		ndue = 0;
		while (s->nheap && (s->stopping || s->heap[0].due_ns <= now)) {
			SX_GROW(due, adue, ndue + 1);
			due[ndue++] = heap_pop(s).conn;
		}
		stop = s->stopping;
		if (ndue) {
			pthread_mutex_unlock(&s->tmu);
			for (i = 0; i < ndue; i++)
				MHD_resume_connection(due[i]);
			pthread_mutex_lock(&s->tmu);
			continue;
		}
		if (stop)
			break;
		if (!s->nheap) {
			pthread_cond_wait(&s->tcv, &s->tmu);
		} else {
			struct timespec ts;
			uint64_t when = s->heap[0].due_ns;
			ts.tv_sec = (time_t)(when / 1000000000ULL);
			ts.tv_nsec = (long)(when % 1000000000ULL);
			pthread_cond_timedwait(&s->tcv, &s->tmu, &ts);
		}
	}
	pthread_mutex_unlock(&s->tmu);
	free(due);
	return NULL;
}

/* ---- stats -------------------------------------------------------------- */

/* Record a body's digest; the set only grows. */
static void unique_add(struct sx_sim *s, const unsigned char md[32])
{
	struct unique_set *u = &s->uniq;
	uint64_t a, b;
	size_t i;

	memcpy(&a, md, 8);
	memcpy(&b, md + 8, 8);
	if (!a && !b)
		b = 1;
	pthread_mutex_lock(&s->smu);
	if (2 * (u->n + 1) > u->mask + 1) {
		struct unique_set bigger;
		size_t cap = (u->mask + 1) * 2, j;

		bigger.mask = cap - 1;
		bigger.n = u->n;
		bigger.keys = xcalloc(cap, 2 * sizeof(uint64_t));
		for (j = 0; j <= u->mask; j++) {
			uint64_t x = u->keys[2 * j], y = u->keys[2 * j + 1];
			if (!x && !y)
				continue;
			for (i = (size_t)x & bigger.mask; bigger.keys[2 * i] || bigger.keys[2 * i + 1];
			     i = (i + 1) & bigger.mask)
				;
			bigger.keys[2 * i] = x;
			bigger.keys[2 * i + 1] = y;
		}
		free(u->keys);
		*u = bigger;
	}
	for (i = (size_t)a & u->mask; u->keys[2 * i] || u->keys[2 * i + 1]; i = (i + 1) & u->mask)
		if (u->keys[2 * i] == a && u->keys[2 * i + 1] == b)
			goto out;
	u->keys[2 * i] = a;
	u->keys[2 * i + 1] = b;
	u->n++;
out:
	pthread_mutex_unlock(&s->smu);
}

void sx_sim_stats_json(struct sx_sim *s, struct sx_buf *out)
{
	const char *sep = "";
	size_t n;
	int i;

	pthread_mutex_lock(&s->smu);
	n = s->uniq.n;
	pthread_mutex_unlock(&s->smu);
	sx_buf_addf(out, "{\"requests\":%ld,\"chat_requests\":%ld,\"unique_bodies\":%zu,\"by_status\":{",
		    atomic_load(&s->requests), atomic_load(&s->chat), n);
	for (i = 0; i < SIM_STATUS_MAX; i++) {
		long v = atomic_load(&s->by_status[i]);
		if (v) {
			sx_buf_addf(out, "%s\"%d\":%ld", sep, i, v);
			sep = ",";
		}
	}
	sx_buf_adds(out, "},\"by_fault\":{");
	for (i = 0; i < SX_SIM_FAULT_COUNT; i++)
		sx_buf_addf(out, "%s\"%s\":%ld", i ? "," : "", fault_names[i],
			    atomic_load(&s->by_fault[i]));
	sx_buf_addf(out, "},\"rate_limited\":%ld,\"delayed\":%ld,\"by_condition\":{",
		    atomic_load(&s->rate_limited), atomic_load(&s->delayed));
	for (i = 0; i < SX_COND_COUNT; i++)
		sx_buf_addf(out, "%s\"%s\":%ld", i ? "," : "", sx_cond_name((enum sx_cond)i),
			    atomic_load(&s->by_cond[i]));
	sx_buf_addf(out, ",\"unrecognised\":%ld},\"batch_lines\":%ld",
		    atomic_load(&s->by_cond[SX_COND_COUNT]), atomic_load(&s->batch_lines));
	if (s->batches)
		sim_batches_stats(s->batches, out);
	sx_buf_addch(out, '}');
}

/* ---- responses ---------------------------------------------------------- */

/*
 * The rate limit's burst: one second's worth of requests (at least one), as
 * real APIs quantise a per-minute limit, so a client that does not pace
 * itself is refused long before it has sent a minute's worth.
 */
static double sim_burst(const struct sx_sim *s)
{
	double b = (double)s->cfg.rpm / 60.0;

	return b < 1.0 ? 1.0 : b;
}

static struct MHD_Response *json_response(struct sx_buf *body)
{
	size_t len;
	char *buf = sx_buf_detach(body, &len);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);

	if (!resp) {
		free(buf);
		return NULL;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	return resp;
}

static void error_body(struct sx_buf *b, const char *message, const char *type, const char *code)
{
	sx_buf_adds(b, "{\"error\":{\"message\":");
	sx_buf_add_json_str(b, message, strlen(message));
	sx_buf_adds(b, ",\"type\":");
	sx_buf_add_json_str(b, type, strlen(type));
	sx_buf_adds(b, ",\"param\":null,\"code\":");
	sx_buf_add_json_str(b, code, strlen(code));
	sx_buf_adds(b, "}}");
}

static struct MHD_Response *error_response(const char *message, const char *type, const char *code)
{
	struct sx_buf b = SX_BUF_INIT;

	error_body(&b, message, type, code);
	return json_response(&b);
}

/* ---- dialects ------------------------------------------------------------ */

static const char *const dialect_names[SX_SIM_DIALECT_COUNT] = {
	"openai", "openai-reasoning", "azure", "llamacpp", "ollama", "vllm",
};

int sx_sim_dialect_from_name(const char *name, enum sx_sim_dialect *out)
{
	int i;

	for (i = 0; i < SX_SIM_DIALECT_COUNT; i++)
		if (!strcmp(name, dialect_names[i])) {
			*out = (enum sx_sim_dialect)i;
			return 0;
		}
	return -1;
}

const char *sx_sim_dialect_name(enum sx_sim_dialect d)
{
	return d < SX_SIM_DIALECT_COUNT ? dialect_names[d] : "?";
}

/*
 * A client error in the shape the dialect's server writes it: OpenAI's
 * {"error":{message,type,param,code}} (openai, openai-reasoning, azure),
 * llama.cpp's {"error":{code,message,type}}, Ollama's (param and code null),
 * vLLM's {"object":"error",message,type,param,code}.
 */
static struct MHD_Response *dialect_error(const struct sx_sim *s, unsigned status,
					  const char *message, const char *type,
					  const char *code, const char *param)
{
	struct sx_buf b = SX_BUF_INIT;

	switch (s->cfg.dialect) {
	case SX_SIM_DIALECT_LLAMACPP:
		sx_buf_addf(&b, "{\"error\":{\"code\":%u,\"message\":", status);
		sx_buf_add_json_str(&b, message, strlen(message));
		sx_buf_adds(&b, ",\"type\":");
		sx_buf_add_json_str(&b, type, strlen(type));
		sx_buf_adds(&b, "}}");
		break;
	case SX_SIM_DIALECT_OLLAMA:
		sx_buf_adds(&b, "{\"error\":{\"message\":");
		sx_buf_add_json_str(&b, message, strlen(message));
		sx_buf_adds(&b, ",\"type\":");
		sx_buf_add_json_str(&b, type, strlen(type));
		sx_buf_adds(&b, ",\"param\":null,\"code\":null}}");
		break;
	case SX_SIM_DIALECT_VLLM:
		sx_buf_adds(&b, "{\"object\":\"error\",\"message\":");
		sx_buf_add_json_str(&b, message, strlen(message));
		sx_buf_addf(&b, ",\"type\":\"BadRequestError\",\"param\":null,\"code\":%u}", status);
		break;
	default:
		sx_buf_adds(&b, "{\"error\":{\"message\":");
		sx_buf_add_json_str(&b, message, strlen(message));
		sx_buf_adds(&b, ",\"type\":");
		sx_buf_add_json_str(&b, type, strlen(type));
		sx_buf_adds(&b, ",\"param\":");
		if (param)
			sx_buf_add_json_str(&b, param, strlen(param));
		else
			sx_buf_adds(&b, "null");
		sx_buf_adds(&b, ",\"code\":");
		if (code)
			sx_buf_add_json_str(&b, code, strlen(code));
		else
			sx_buf_adds(&b, "null");
		sx_buf_adds(&b, "}}");
	}
	return json_response(&b);
}

struct trunc_body {
	char *buf; /* owned */
	size_t len, cut;
};

static ssize_t trunc_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct trunc_body *t = cls;
	size_t n;

	if (pos >= t->cut)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = t->cut - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(buf, t->buf + pos, n);
	return (ssize_t)n;
}

static void trunc_free(void *cls)
{
	struct trunc_body *t = cls;

	free(t->buf);
	free(t);
}

/* Queue now, or suspend the connection and let the timer resume it after delay_ms. */
static enum MHD_Result respond(struct sx_sim *s, struct MHD_Connection *c, struct req *r,
			       unsigned status, struct MHD_Response *resp, double delay_ms)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	if (r->is_chat && status < SIM_STATUS_MAX)
		atomic_fetch_add(&s->by_status[status], 1);
	if (delay_ms > 0) {
		pthread_mutex_lock(&s->tmu);
		if (!s->stopping) {
			struct timer_entry e;
			e.due_ns = now_ns() + (uint64_t)(delay_ms * 1e6);
			e.conn = c;
			e.r = r;
			r->resp = resp;
			r->status = status;
			r->state = REQ_WAITING;
			MHD_suspend_connection(c);
			heap_push(s, e);
			pthread_cond_signal(&s->tcv);
			pthread_mutex_unlock(&s->tmu);
			atomic_fetch_add(&s->delayed, 1);
			return MHD_YES;
		}
		pthread_mutex_unlock(&s->tmu);
	}
	r->state = REQ_DONE;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Suspend without a response until the stall limit (or shutdown), then close. */
static enum MHD_Result stall(struct sx_sim *s, struct MHD_Connection *c, struct req *r)
{
	struct timer_entry e;

	pthread_mutex_lock(&s->tmu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->tmu);
		return MHD_NO;
	}
	e.due_ns = now_ns() + (uint64_t)s->cfg.stall_ms * 1000000ULL;
	e.conn = c;
	e.r = r;
	r->resp = NULL;
	r->state = REQ_WAITING;
	MHD_suspend_connection(c);
	heap_push(s, e);
	pthread_cond_signal(&s->tcv);
	pthread_mutex_unlock(&s->tmu);
	return MHD_YES;
}

/* ---- chat completions --------------------------------------------------- */

struct chat_req {
	struct sx_buf system; /* system (and developer) messages, joined */
	const char *user;     /* borrowed: the last user message (in the JSON or user_owned) */
	char *user_owned;
	size_t user_len;
	struct sx_buf parts;  /* a user message given as content parts */
	const char *model;
	long max_tokens;
	double temperature;
	int logprobs;
	long top_logprobs;
	long n;
	size_t prompt_bytes;
	int digit_tokens;     /* the sim's --tokenize digits */
	const char *deployment; /* azure: borrowed from the path */
	size_t deployment_len;
};

/* A message's text: a string, or an array of {"type":"text","text":...} parts. */
static int message_text(const struct sx_json *content, struct sx_buf *tmp, const char **text,
			size_t *len)
{
	const struct sx_json *part;

	if (sx_json_type_of(content) == SX_JSON_STRING) {
		*text = sx_json_str(content);
		*len = strlen(*text);
		return 0;
	}
	if (sx_json_type_of(content) != SX_JSON_ARRAY)
		return -1;
	sx_buf_reset(tmp);
	for (part = sx_json_child(content); part; part = sx_json_next(part)) {
		const char *t = sx_json_get_str(part, "text");
		if (!t)
			return -1;
		sx_buf_adds(tmp, t);
	}
	*text = tmp->buf;
	*len = tmp->len;
	return 0;
}

static int check_request(const struct sx_json *j, struct chat_req *q, struct sx_buf *msg)
{
	const struct sx_json *msgs, *m, *v;
	size_t i = 0;
	double num;
	int b;

	if (sx_json_type_of(j) != SX_JSON_OBJECT)
		return sx_buf_adds(msg, "request body must be a JSON object"), -1;
	msgs = sx_json_get(j, "messages");
	if (!msgs)
		return sx_buf_adds(msg, "missing required parameter: 'messages'"), -1;
	if (sx_json_type_of(msgs) != SX_JSON_ARRAY || !sx_json_len(msgs))
		return sx_buf_adds(msg, "'messages' must be a non-empty array"), -1;
	if (sx_json_len(msgs) > SIM_MAX_MESSAGES)
		return sx_buf_addf(msg, "too many messages (at most %d)", SIM_MAX_MESSAGES), -1;
	for (m = sx_json_child(msgs); m; m = sx_json_next(m), i++) {
		const char *role = sx_json_get_str(m, "role"), *text;
		const struct sx_json *content = sx_json_get(m, "content");
		size_t len;

		if (sx_json_type_of(m) != SX_JSON_OBJECT || !role)
			return sx_buf_addf(msg, "messages[%zu] must be an object with a string 'role'", i),
			       -1;
		if (!content || message_text(content, &q->parts, &text, &len))
			return sx_buf_addf(msg, "messages[%zu].content must be a string or an array of "
					       "text parts", i),
			       -1;
		q->prompt_bytes += len;
		if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			if (q->system.len)
				sx_buf_addch(&q->system, '\n');
			sx_buf_add(&q->system, text, len);
		} else if (!strcmp(role, "user")) {
			if (text == q->parts.buf) { /* parts is reused by the next message: copy */
				free(q->user_owned);
				text = q->user_owned = xstrndup(text, len);
			}
			q->user = text;
			q->user_len = len;
		} else if (strcmp(role, "assistant") && strcmp(role, "tool")) {
			return sx_buf_addf(msg, "messages[%zu].role '%s' is not one of system, developer, "
					       "user, assistant, tool", i, role),
			       -1;
		}
	}
	if (!q->user)
		return sx_buf_adds(msg, "'messages' has no user message"), -1;
	v = sx_json_get(j, "model");
	if (v) {
		q->model = sx_json_str(v);
		if (!q->model)
			return sx_buf_adds(msg, "'model' must be a string"), -1;
	}
	if (sx_json_get(j, "max_tokens") &&
	    sx_json_get_long(j, "max_tokens", 1, 10000000, &q->max_tokens))
		return sx_buf_adds(msg, "'max_tokens' must be a positive integer"), -1;
	if (sx_json_get(j, "max_completion_tokens") &&
	    sx_json_get_long(j, "max_completion_tokens", 1, 10000000, &q->max_tokens))
		return sx_buf_adds(msg, "'max_completion_tokens' must be a positive integer"), -1;
	v = sx_json_get(j, "temperature");
	if (v && sx_json_type_of(v) != SX_JSON_NULL) {
		if (sx_json_num(v, &q->temperature) || q->temperature < 0 || q->temperature > 2)
			return sx_buf_adds(msg, "'temperature' must be a number between 0 and 2"), -1;
	}
	v = sx_json_get(j, "top_p");
	if (v && sx_json_type_of(v) != SX_JSON_NULL) {
		if (sx_json_num(v, &num) || num < 0 || num > 1)
			return sx_buf_adds(msg, "'top_p' must be a number between 0 and 1"), -1;
	}
	v = sx_json_get(j, "logprobs");
	if (v && sx_json_type_of(v) != SX_JSON_NULL) {
		if (sx_json_bool(v, &b))
			return sx_buf_adds(msg, "'logprobs' must be a boolean"), -1;
		q->logprobs = b;
	}
	v = sx_json_get(j, "top_logprobs");
	if (v && sx_json_type_of(v) != SX_JSON_NULL &&
	    sx_json_get_long(j, "top_logprobs", 0, 20, &q->top_logprobs))
		return sx_buf_adds(msg, "'top_logprobs' must be an integer between 0 and 20"), -1;
	v = sx_json_get(j, "n");
	if (v && sx_json_type_of(v) != SX_JSON_NULL &&
	    sx_json_get_long(j, "n", 1, SIM_MAX_CHOICES, &q->n))
		return sx_buf_addf(msg, "'n' must be an integer between 1 and %d", SIM_MAX_CHOICES), -1;
	v = sx_json_get(j, "stream");
	if (v && sx_json_bool(v, &b) == 0 && b)
		return sx_buf_adds(msg, "'stream' is not supported by selfexp sim"), -1;
	return 0;
}

static void add_bytes(struct sx_buf *b, const char *t, size_t len)
{
	size_t i;

	sx_buf_addch(b, '[');
	for (i = 0; i < len; i++)
		sx_buf_addf(b, "%s%u", i ? "," : "", (unsigned char)t[i]);
	sx_buf_addch(b, ']');
}

static void add_lp_token(struct sx_buf *b, const char *t, size_t len, double lp)
{
	sx_buf_adds(b, "{\"token\":");
	sx_buf_add_json_str(b, t, len);
	sx_buf_addf(b, ",\"logprob\":%.17g,\"bytes\":", lp);
	add_bytes(b, t, len);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/*
 * The logprobs of an answer: the text split into pieces (leading whitespace
 * and a run of non-whitespace), the label digit a piece of its own that
 * carries log P(label), its alternative log P(other); every other piece has
 * probability 1.
 */
/*
 * A digit token "0" or "1" that is not the label (--tokenize digits): it
 * carries both as alternatives, "0" much the likelier, as a digit of an
 * importance value does on a real server; a reader that takes the first "0"
 * or "1" of an answer for the label reads these.
 */
static void add_decoy_digit(struct sx_buf *b, const char *t, long top)
{
	add_lp_token(b, t, 1, t[0] == '0' ? log(0.95) : log(0.05));
	sx_buf_adds(b, ",\"top_logprobs\":[");
	if (top >= 1) {
		add_lp_token(b, "0", 1, log(0.95));
		sx_buf_addch(b, '}');
	}
	if (top >= 2) {
		sx_buf_addch(b, ',');
		add_lp_token(b, "1", 1, log(0.05));
		sx_buf_addch(b, '}');
	}
	sx_buf_adds(b, "]}");
}

static void add_logprobs(struct sx_buf *b, const char *t, size_t len, size_t lab, double p_label,
			 long top, int digits)
{
	size_t i = 0;
	const char *sep = "";

	sx_buf_adds(b, "{\"content\":[");
	while (i < len) {
		size_t st = i;
		if (i == lab) {
			const char other[2] = { t[i] == '1' ? '0' : '1', 0 };
			double lp = log(p_label), lo = log1p(-p_label);
			sx_buf_adds(b, sep);
			add_lp_token(b, t + i, 1, lp);
			sx_buf_adds(b, ",\"top_logprobs\":[");
			if (top >= 1) {
				int first_label = lp >= lo;
				if (first_label)
					add_lp_token(b, t + i, 1, lp);
				else
					add_lp_token(b, other, 1, lo);
				sx_buf_addch(b, '}');
				if (top >= 2) {
					sx_buf_addch(b, ',');
					if (first_label)
						add_lp_token(b, other, 1, lo);
					else
						add_lp_token(b, t + i, 1, lp);
					sx_buf_addch(b, '}');
				}
			}
			sx_buf_adds(b, "]}");
			sep = ",";
			i++;
			continue;
		}
		if (digits && (t[i] == '0' || t[i] == '1')) {
			/* --tokenize digits: every digit a token of its own, as real tokenizers do */
			sx_buf_adds(b, sep);
			add_decoy_digit(b, t + i, top);
			sep = ",";
			i++;
			continue;
		}
		while (i < len && is_ws(t[i]) && i != lab)
			i++;
		while (i < len && !is_ws(t[i]) && i != lab &&
		       !(digits && isdigit((unsigned char)t[i])))
			i++;
		if (digits && i == st)
			i++; /* a digit other than 0 and 1: a token of its own */
		sx_buf_adds(b, sep);
		add_lp_token(b, t + st, i - st, 0.0);
		sx_buf_adds(b, ",\"top_logprobs\":[");
		if (top >= 1) {
			add_lp_token(b, t + st, i - st, 0.0);
			sx_buf_addch(b, '}');
		}
		sx_buf_adds(b, "]}");
		sep = ",";
	}
	sx_buf_adds(b, "],\"refusal\":null}");
}

/* Split review[0..len) at whitespace into NUL-terminated tokens in store. */
static size_t split_tokens(const char *review, size_t len, struct sx_buf *store, char ***tokens,
			   size_t *alloc)
{
	size_t n = 0, i;
	char *p;

	sx_buf_reset(store);
	sx_buf_add(store, review, len);
	p = store->buf;
	for (i = 0; i < len;) {
		while (i < len && is_ws(p[i]))
			p[i++] = '\0';
		if (i >= len || n >= SIM_MAX_TOKENS)
			break;
		SX_GROW(*tokens, *alloc, n + 1);
		(*tokens)[n++] = p + i;
		while (i < len && !is_ws(p[i]))
			i++;
		if (i < len)
			p[i++] = '\0';
	}
	return n;
}

static size_t ceil4(size_t bytes)
{
	return (bytes + 3) / 4;
}

/* The seed of a request body's answers: the server seed and the body's SHA-256. */
static uint64_t body_seed(const struct sx_sim *s, const unsigned char md[32])
{
	unsigned char seedmd[40];
	int i;

	for (i = 0; i < 8; i++)
		seedmd[i] = (unsigned char)(s->cfg.seed >> (8 * i));
	memcpy(seedmd + 8, md, 32);
	return sx_hash64(seedmd, sizeof(seedmd));
}

/* Take a token from the rpm bucket: 0 when there was one, else the seconds until there is. */
static double rate_take(struct sx_sim *s)
{
	double rate = (double)s->cfg.rpm / 60.0, wait = 0;
	uint64_t now = now_ns();

	pthread_mutex_lock(&s->rmu);
	s->bucket += rate * (double)(now - s->bucket_ns) / 1e9;
	if (s->bucket > sim_burst(s))
		s->bucket = sim_burst(s);
	s->bucket_ns = now;
	if (s->bucket >= 1.0)
		s->bucket -= 1.0;
	else
		wait = (1.0 - s->bucket) / rate;
	pthread_mutex_unlock(&s->rmu);
	return wait;
}

/* The 429 of the rpm limit, telling the client to retry after wait seconds. */
static enum MHD_Result respond_rate_limited(struct sx_sim *s, struct MHD_Connection *c,
					    struct req *r, double wait)
{
	struct sx_buf msg = SX_BUF_INIT;
	struct MHD_Response *resp;
	char ra[32];

	atomic_fetch_add(&s->rate_limited, 1);
	sx_buf_addf(&msg, "rate limit reached: %ld requests per minute; retry after %.0f s",
		    s->cfg.rpm, ceil(wait));
	resp = error_response(msg.buf, "requests", "rate_limit_exceeded");
	sx_buf_release(&msg);
	if (resp) {
		snprintf(ra, sizeof(ra), "%.0f", ceil(wait));
		MHD_add_response_header(resp, "Retry-After", ra);
		snprintf(ra, sizeof(ra), "%.0f", ceil(wait * 1000));
		MHD_add_response_header(resp, "retry-after-ms", ra);
	}
	return respond(s, c, r, 429, resp, 0);
}

/* The fault of this attempt (enum sx_sim_fault), or -1 for none; draws from *frng. */
static int draw_fault(struct sx_sim *s, uint64_t *frng)
{
	int set[SX_SIM_FAULT_COUNT], nset = 0, k, fault;
	unsigned mask = s->cfg.faults ? s->cfg.faults : (1u << SX_SIM_FAULT_COUNT) - 1;

	if (!(s->cfg.fault_rate > 0 && unit(frng) < s->cfg.fault_rate))
		return -1;
	for (k = 0; k < SX_SIM_FAULT_COUNT; k++)
		if (mask & (1u << k))
			set[nset++] = k;
	fault = set[(size_t)(unit(frng) * nset) % (size_t)nset];
	atomic_fetch_add(&s->by_fault[fault], 1);
	return fault;
}

/* The added delay of this attempt in ms; draws from *frng when there is one. */
static double draw_delay(const struct sx_sim *s, uint64_t *frng)
{
	double delay = 0;

	if (s->cfg.latency_ms > 0 || s->cfg.jitter_ms > 0) {
		delay = s->cfg.latency_ms + (2.0 * unit(frng) - 1.0) * s->cfg.jitter_ms;
		if (delay < 0)
			delay = 0;
	}
	return delay;
}

/*
 * Answer with the fault instead of a completion: 1 and *ret set when it did;
 * 0 for no fault and for SX_SIM_FAULT_TRUNCATE, whose body is the completion.
 */
static int respond_fault(struct sx_sim *s, struct MHD_Connection *c, struct req *r, int fault,
			 double delay, enum MHD_Result *ret)
{
	struct MHD_Response *resp;

	switch (fault) {
	case SX_SIM_FAULT_429:
		resp = error_response("simulated fault: rate limit reached, please retry", "requests",
				      "rate_limit_exceeded");
		if (resp) {
			MHD_add_response_header(resp, "Retry-After", "1");
			MHD_add_response_header(resp, "retry-after-ms", "50");
		}
		*ret = respond(s, c, r, 429, resp, delay);
		return 1;
	case SX_SIM_FAULT_500:
		*ret = respond(s, c, r, 500, error_response("simulated fault: the server had an error "
							    "while processing your request",
							    "server_error", "internal_error"),
			       delay);
		return 1;
	case SX_SIM_FAULT_503:
		*ret = respond(s, c, r, 503, error_response("simulated fault: the engine is currently "
							    "overloaded, please try again later",
							    "server_error", "service_unavailable"),
			       delay);
		return 1;
	case SX_SIM_FAULT_RESET:
		*ret = MHD_NO;
		return 1;
	case SX_SIM_FAULT_STALL:
		*ret = stall(s, c, r);
		return 1;
	case SX_SIM_FAULT_GARBAGE: {
		struct sx_buf g = SX_BUF_INIT;
		sx_buf_adds(&g, "<html>\r\n<head><title>200 OK</title></head>\r\n<body>\r\n"
				"<center>simulated fault: this is not JSON</center>\r\n</body>\r\n</html>\r\n");
		*ret = respond(s, c, r, 200, json_response(&g), delay);
		return 1;
	}
	default:
		return 0;
	}
}

/*
 * Append choice i of an answer, cut at max_tokens, of which the choice's
 * reasoning tokens (*reasoning on entry, what fits of them on return) come
 * first, as a reasoning model spends them: a cap they exhaust leaves an
 * empty text. Returns the bytes of content it sent.
 */
static size_t add_choice(struct sx_buf *out, const struct chat_req *q, long i,
			 const struct sx_sim_answer *a, size_t *reasoning)
{
	const char *finish = "stop";
	size_t len = a->text.len, cap;

	if (a->truncated)
		finish = "length";
	if (q->max_tokens > 0 && *reasoning >= (size_t)q->max_tokens) {
		*reasoning = (size_t)q->max_tokens;
		len = 0;
		finish = "length";
	} else if (q->max_tokens > 0 &&
		   ceil4(len) > (cap = (size_t)q->max_tokens - *reasoning)) {
		len = cap * 4;
		while (len > 0 && ((unsigned char)a->text.buf[len] & 0xC0) == 0x80)
			len--;
		finish = "length";
	}
	sx_buf_addf(out, "%s{\"index\":%ld,\"message\":{\"role\":\"assistant\",\"content\":",
		    i ? "," : "", i);
	sx_buf_add_json_str(out, a->text.buf, len);
	sx_buf_adds(out, ",\"refusal\":null},\"logprobs\":");
	if (q->logprobs)
		add_logprobs(out, a->text.buf, len, a->label_off < len ? a->label_off : SIZE_MAX,
			     a->label ? a->p_pos : 1.0 - a->p_pos, q->top_logprobs, q->digit_tokens);
	else
		sx_buf_adds(out, "null");
	sx_buf_addf(out, ",\"finish_reason\":\"%s\"}", finish);
	return len;
}

/* The chat.completion body answering q: q->n choices seeded from body_rng. */
static void write_completion(struct sx_sim *s, const struct chat_req *q, uint64_t body_rng,
			     struct sx_buf *out)
{
	struct sx_sim_answer a = SX_SIM_ANSWER_INIT;
	struct sx_sim_answer_opts o = SX_SIM_ANSWER_OPTS_INIT;
	struct sx_buf store = SX_BUF_INIT;
	char **tokens = NULL;
	size_t ntok, talloc = 0, completion_bytes = 0, rlen, rt = 0;
	const char *review;
	enum sx_cond cond;
	long i;

	if (sx_sim_detect_cond(q->system.len ? q->system.buf : q->user,
			       q->system.len ? q->system.len : q->user_len, &cond))
		atomic_fetch_add(&s->by_cond[SX_COND_COUNT], 1);
	else
		atomic_fetch_add(&s->by_cond[cond], 1);
	sx_sim_find_review(q->user, q->user_len, &review, &rlen);
	ntok = split_tokens(review, rlen, &store, &tokens, &talloc);
	o.explain = s->cfg.explain;
	o.sigma = s->cfg.noise_sigma;
	if (s->cfg.pe_set && cond < SX_COND_COUNT && !sx_cond_explains_first(cond)) {
		o.explain = s->cfg.pe_explain;
		o.sigma = s->cfg.pe_noise_sigma;
	}
	o.overconfidence = s->cfg.overconfidence;
	o.style = s->cfg.style;
	o.confidence_decimals = s->cfg.confidence_decimals;
	o.temperature = q->temperature;

	sx_buf_grow(out, 1024);
	sx_buf_addf(out, "{\"id\":\"chatcmpl-sim%016llx\",\"object\":\"chat.completion\",\"created\":%lld,"
			 "\"model\":",
		    (unsigned long long)body_rng, (long long)time(NULL));
	if (q->deployment)
		sx_buf_add_json_str(out, q->deployment, q->deployment_len);
	else if (q->model)
		sx_buf_add_json_str(out, q->model, strlen(q->model));
	else
		sx_buf_adds(out, "\"" SIM_MODEL_NAME "\"");
	sx_buf_adds(out, ",\"choices\":[");
	for (i = 0; i < q->n; i++) {
		sx_sim_answer_write(s->model, &o, cond, tokens, ntok,
				    i ? mix64(body_rng + (uint64_t)i) : body_rng, &a);
		size_t r = s->cfg.dialect == SX_SIM_DIALECT_OPENAI_REASONING
				   ? SX_SIM_REASONING_TOKENS : 0;

		completion_bytes += add_choice(out, q, i, &a, &r);
		rt += r;
	}
	{
		size_t pt = ceil4(q->prompt_bytes), ct = ceil4(completion_bytes);

		sx_buf_addf(out, "],\"usage\":{\"prompt_tokens\":%zu,\"completion_tokens\":%zu,"
				 "\"total_tokens\":%zu", pt, ct + rt, pt + ct + rt);
		if (rt)
			sx_buf_addf(out, ",\"completion_tokens_details\":{\"reasoning_tokens\":%zu}", rt);
		sx_buf_adds(out, "},\"system_fingerprint\":\"selfexp-sim\"");
		if (s->cfg.dialect == SX_SIM_DIALECT_LLAMACPP)
			/* llama-server's timings block (the sim's figures are nominal) */
			sx_buf_addf(out, ",\"timings\":{\"prompt_n\":%zu,\"prompt_ms\":%.3f,"
					 "\"prompt_per_token_ms\":0.1,\"prompt_per_second\":10000,"
					 "\"predicted_n\":%zu,\"predicted_ms\":%.3f,"
					 "\"predicted_per_token_ms\":1,\"predicted_per_second\":1000}",
				    pt, 0.1 * (double)pt, ct, (double)ct);
		sx_buf_adds(out, "}");
	}
	free(tokens);
	sx_sim_answer_release(&a);
	sx_buf_release(&store);
}

/* A 200 with body, which stops half-way (SX_SIM_FAULT_TRUNCATE). */
static enum MHD_Result respond_truncated(struct sx_sim *s, struct MHD_Connection *c,
					 struct req *r, struct sx_buf *body, double delay)
{
	struct trunc_body *t = xmalloc(sizeof(*t));
	struct MHD_Response *resp;

	t->buf = sx_buf_detach(body, &t->len);
	t->cut = t->len / 2;
	resp = MHD_create_response_from_callback(t->len, 4096, trunc_read, t, trunc_free);
	if (!resp)
		trunc_free(t);
	else
		MHD_add_response_header(resp, "Content-Type", "application/json");
	return respond(s, c, r, 200, resp, delay);
}

/*
 * Before the body is read: the dialect's authentication and query (Azure's
 * api-key and api-version) and --require-header. 1 and *ret set when it answered.
 */
static int check_access(struct sx_sim *s, struct MHD_Connection *c, struct req *r,
			enum MHD_Result *ret)
{
	const char *v;

	if (s->cfg.require_header) {
		const char *eq = strchr(s->cfg.require_header, '=');
		char name[128];
		size_t n = eq ? (size_t)(eq - s->cfg.require_header) : strlen(s->cfg.require_header);

		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, s->cfg.require_header, n);
		name[n] = '\0';
		v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
		if (!v || (eq && strcmp(v, eq + 1))) {
			struct sx_buf m = SX_BUF_INIT;

			sx_buf_addf(&m, "missing or wrong header '%s'", name);
			*ret = respond(s, c, r, 401, dialect_error(s, 401, m.buf, "invalid_request_error",
								   "invalid_api_key", NULL), 0);
			sx_buf_release(&m);
			return 1;
		}
	}
	if (s->cfg.dialect != SX_SIM_DIALECT_AZURE)
		return 0;
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "api-key");
	if (!v || !*v) {
		struct sx_buf b = SX_BUF_INIT;

		sx_buf_adds(&b, "{\"error\":{\"code\":\"401\",\"message\":\"Access denied due to "
				"invalid subscription key or wrong API endpoint. Make sure to provide a "
				"valid key for an active subscription and use a correct regional API "
				"endpoint for your resource.\"}}");
		*ret = respond(s, c, r, 401, json_response(&b), 0);
		return 1;
	}
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "api-version");
	if (!v || !*v) {
		struct sx_buf b = SX_BUF_INIT;

		sx_buf_adds(&b, "{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}");
		*ret = respond(s, c, r, 404, json_response(&b), 0);
		return 1;
	}
	return 0;
}

/* A request field's number, or dflt when it is absent or null. */
static double field_num(const struct sx_json *j, const char *key, double dflt)
{
	const struct sx_json *v = sx_json_get(j, key);
	double d;

	if (!v || sx_json_type_of(v) == SX_JSON_NULL || sx_json_num(v, &d))
		return dflt;
	return d;
}

/*
 * The dialect's own refusals of a well-formed request, and its context
 * limit. 1 and *ret set when it answered; Ollama's n is dropped here.
 */
static int check_dialect(struct sx_sim *s, struct MHD_Connection *c, struct req *r,
			 const struct sx_json *j, struct chat_req *q, enum MHD_Result *ret)
{
	struct sx_buf m = SX_BUF_INIT;
	unsigned status = 0;
	const char *type = "invalid_request_error", *code = NULL, *param = NULL;
	long prompt = (long)ceil4(q->prompt_bytes), cap = q->max_tokens > 0 ? q->max_tokens : 0;
	int b = 0;

	switch (s->cfg.dialect) {
	case SX_SIM_DIALECT_OPENAI_REASONING:
		if (sx_json_get(j, "max_tokens")) {
			sx_buf_adds(&m, "Unsupported parameter: 'max_tokens' is not supported with this "
					"model. Use 'max_completion_tokens' instead.");
			code = "unsupported_parameter";
			param = "max_tokens";
		} else if (field_num(j, "temperature", 1) != 1) {
			sx_buf_addf(&m, "Unsupported value: 'temperature' does not support %g with "
					"this model. Only the default (1) value is supported.",
				    field_num(j, "temperature", 1));
			code = "unsupported_value";
			param = "temperature";
		} else if (field_num(j, "top_p", 1) != 1) {
			sx_buf_addf(&m, "Unsupported value: 'top_p' does not support %g with this "
					"model. Only the default (1) value is supported.",
				    field_num(j, "top_p", 1));
			code = "unsupported_value";
			param = "top_p";
		} else if (!sx_json_bool(sx_json_get(j, "logprobs"), &b) && b) {
			sx_buf_adds(&m, "Unsupported parameter: 'logprobs' is not supported with this "
					"model.");
			code = "unsupported_parameter";
			param = "logprobs";
		}
		if (m.len)
			status = 400;
		break;
	case SX_SIM_DIALECT_LLAMACPP:
		if (q->n > 1) {
			sx_buf_adds(&m, "Only one completion choice is allowed");
			status = 500;
			type = "server_error";
		}
		break;
	case SX_SIM_DIALECT_OLLAMA:
		q->n = 1; /* "n" is not among the fields Ollama's OpenAI compatibility takes */
		break;
	default:
		break;
	}
	if (!status && s->cfg.ctx_size > 0 && prompt + cap > s->cfg.ctx_size) {
		if (s->cfg.dialect == SX_SIM_DIALECT_LLAMACPP && prompt >= s->cfg.ctx_size) {
			sx_buf_addf(&m, "the request exceeds the available context size, try "
					"increasing it (%ld prompt tokens, context %ld)", prompt,
				    s->cfg.ctx_size);
			status = 400;
			type = "exceed_context_size_error";
		} else if (s->cfg.dialect == SX_SIM_DIALECT_LLAMACPP) {
			sx_buf_adds(&m, "context shift is disabled");
			status = 500;
			type = "server_error";
		} else if (prompt + cap > s->cfg.ctx_size) {
			sx_buf_addf(&m, "This model's maximum context length is %ld tokens. However, "
					"you requested %ld tokens (%ld in the messages, %ld in the "
					"completion). Please reduce the length of the messages or "
					"completion.", s->cfg.ctx_size, prompt + cap, prompt, cap);
			status = 400;
			code = "context_length_exceeded";
			param = "messages";
		}
	}
	if (status)
		*ret = respond(s, c, r, status, dialect_error(s, status, m.buf, type, code, param), 0);
	sx_buf_release(&m);
	return status != 0;
}

static enum MHD_Result chat(struct sx_sim *s, struct MHD_Connection *c, struct req *r,
			    const char *deployment, size_t dlen)
{
	struct chat_req q = { SX_BUF_INIT, NULL, NULL, 0, SX_BUF_INIT, NULL, 0, 0.0, 0, 0, 1, 0, 0,
			      NULL, 0 };
	struct sx_buf msg = SX_BUF_INIT, out = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_json *j = NULL;
	unsigned char md[32];
	uint64_t body_rng, frng, attempt;
	double delay, wait;
	enum MHD_Result ret;
	int fault, llama = s->cfg.dialect == SX_SIM_DIALECT_LLAMACPP;

	atomic_fetch_add(&s->chat, 1);
	sx_sha256(r->body.buf, r->body.len, md);
	unique_add(s, md);
	body_rng = body_seed(s, md);
	attempt = atomic_fetch_add(&s->attempts, 1);
	frng = mix64(s->cfg.seed ^ mix64(attempt + 0x5151));
	q.deployment = deployment;
	q.deployment_len = dlen;

	if (check_access(s, c, r, &ret))
		goto out;
	if (r->too_big) {
		sx_buf_addf(&msg, "request body larger than %zu bytes", s->cfg.max_body);
		ret = respond(s, c, r, 400, dialect_error(s, 400, msg.buf, "invalid_request_error",
							  "request_too_large", NULL), 0);
		goto out;
	}
	if (s->cfg.rpm > 0) {
		wait = rate_take(s);
		if (wait > 0) {
			ret = respond_rate_limited(s, c, r, wait);
			goto out;
		}
	}
	j = sx_json_parse(r->body.buf, r->body.len, &err);
	if (!j) {
		/* llama-server answers a body it cannot parse with a 500 */
		if (llama)
			sx_buf_addf(&msg, "[json.exception.parse_error.101] parse error: %s", err.msg);
		else
			sx_buf_addf(&msg, "invalid JSON in request body: %s", err.msg);
		ret = respond(s, c, r, llama ? 500 : 400,
			      dialect_error(s, llama ? 500 : 400, msg.buf,
					    llama ? "server_error" : "invalid_request_error",
					    "invalid_json", NULL), 0);
		goto out;
	}
	q.digit_tokens = s->cfg.digit_tokens;
	if (check_request(j, &q, &msg)) {
		ret = respond(s, c, r, 400, dialect_error(s, 400, msg.buf, "invalid_request_error",
							  "invalid_request", NULL), 0);
		goto out;
	}
	if (check_dialect(s, c, r, j, &q, &ret))
		goto out;
	/* faults and delays, drawn per attempt */
	fault = draw_fault(s, &frng);
	delay = draw_delay(s, &frng);
	if (respond_fault(s, c, r, fault, delay, &ret))
		goto out;

	write_completion(s, &q, body_rng, &out);
	if (fault == SX_SIM_FAULT_TRUNCATE)
		ret = respond_truncated(s, c, r, &out, delay);
	else
		ret = respond(s, c, r, 200, json_response(&out), delay);
out:
	free(q.user_owned);
	sx_buf_release(&q.system);
	sx_buf_release(&q.parts);
	sx_buf_release(&msg);
	sx_buf_release(&out);
	sx_json_free(j);
	return ret;
}

/* Azure's /openai/deployments/NAME/chat/completions: NAME, or NULL for another path. */
static const char *azure_deployment(const char *url, size_t *len)
{
	static const char pfx[] = "/openai/deployments/", sfx[] = "/chat/completions";
	const char *name, *slash;

	if (strncmp(url, pfx, sizeof(pfx) - 1))
		return NULL;
	name = url + sizeof(pfx) - 1;
	slash = strchr(name, '/');
	if (!slash || slash == name || strcmp(slash, sfx))
		return NULL;
	*len = (size_t)(slash - name);
	return name;
}

/*
 * The answer to one body of a batch line, as POST /v1/chat/completions
 * gives it without faults, rate limit or latency (src/sim/batches.h).
 */
static unsigned answer_body(void *ctx, const char *body, size_t len, struct sx_buf *out)
{
	struct sx_sim *s = ctx;
	struct chat_req q = { SX_BUF_INIT, NULL, NULL, 0, SX_BUF_INIT, NULL, 0, 0.0, 0, 0, 1, 0, 0, NULL, 0 };
	struct sx_buf msg = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_json *j;
	unsigned char md[32];
	unsigned status = 200;

	atomic_fetch_add(&s->batch_lines, 1);
	sx_sha256(body, len, md);
	unique_add(s, md);
	j = sx_json_parse(body, len, &err);
	q.digit_tokens = s->cfg.digit_tokens;
	if (!j) {
		sx_buf_addf(&msg, "invalid JSON in request body: %s", err.msg);
		error_body(out, msg.buf, "invalid_request_error", "invalid_json");
		status = 400;
	} else if (check_request(j, &q, &msg)) {
		error_body(out, msg.buf, "invalid_request_error", "invalid_request");
		status = 400;
	} else {
		write_completion(s, &q, body_seed(s, md), out);
	}
	free(q.user_owned);
	sx_buf_release(&q.system);
	sx_buf_release(&q.parts);
	sx_buf_release(&msg);
	sx_json_free(j);
	return status;
}

/* A route of the Batch API (files, batches). */
static enum MHD_Result batch_route(struct sx_sim *s, struct MHD_Connection *c, struct req *r,
				   const char *url, const char *method)
{
	struct sim_batches_reply rep;
	const char *purpose = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "purpose");
	const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
	const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	struct MHD_Response *resp;
	long limit = 0;

	if (r->too_big) {
		struct sx_buf m = SX_BUF_INIT;
		enum MHD_Result ret;

		sx_buf_addf(&m, "request body larger than %u bytes", SX_SIM_MAX_FILE);
		ret = respond(s, c, r, 413, error_response(m.buf, "invalid_request_error",
							   "request_too_large"), 0);
		sx_buf_release(&m);
		return ret;
	}
	if (lim && sx_parse_long(lim, 1, 10000, &limit))
		limit = 0;
	memset(&rep, 0, sizeof(rep));
	rep.body = (struct sx_buf)SX_BUF_INIT;
	sim_batches_handle(s->batches, method, url, purpose, limit, after, ctype, r->body.buf,
			   r->body.len, &rep);
	if (rep.cut) {
		struct trunc_body *t = xmalloc(sizeof(*t));

		t->buf = sx_buf_detach(&rep.body, &t->len);
		t->cut = rep.cut;
		resp = MHD_create_response_from_callback(t->len, 4096, trunc_read, t, trunc_free);
		if (!resp)
			trunc_free(t);
	} else {
		size_t len;
		char *buf = sx_buf_detach(&rep.body, &len);

		resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(buf);
	}
	if (resp)
		MHD_add_response_header(resp, "Content-Type", rep.content_type);
	return respond(s, c, r, rep.status, resp, !strcmp(method, "POST") ? s->cfg.batch_api_ms : 0);
}

/* ---- routing ------------------------------------------------------------ */

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct sx_sim *s = cls;
	struct req *r = *con_cls;
	struct sx_buf b = SX_BUF_INIT;
	int post = !strcmp(method, "POST"), get = !strcmp(method, "GET");
	const char *code = "method_not_allowed";
	unsigned status = 0;
	enum MHD_Result ret;

	(void)version;
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		sx_buf_init(&r->body, 0);
		*con_cls = r;
		return MHD_YES;
	}
	if (r->state == REQ_WAITING) { /* resumed by the timer */
		struct MHD_Response *resp = r->resp;
		r->resp = NULL;
		r->state = REQ_DONE;
		if (!resp)
			return MHD_NO; /* a stall ends with the connection closed */
		ret = MHD_queue_response(c, r->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (r->state == REQ_DONE)
		return MHD_NO;
	if (*upload_size) {
		size_t cap = sim_batches_route(url) ? SX_SIM_MAX_FILE : s->cfg.max_body;

		if (!r->too_big && r->body.len + *upload_size <= cap)
			sx_buf_add(&r->body, upload, *upload_size);
		else
			r->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&s->requests, 1);
	if (s->cfg.dialect == SX_SIM_DIALECT_AZURE) {
		const char *dep;
		size_t dlen = 0;

		if ((dep = azure_deployment(url, &dlen)) && post) {
			r->is_chat = 1;
			return chat(s, c, r, dep, dlen);
		}
		if (!dep && strcmp(url, "/health") && strcmp(url, "/stats")) {
			sx_buf_adds(&b, "{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}");
			return respond(s, c, r, 404, json_response(&b), 0);
		}
	}
	if (s->cfg.dialect != SX_SIM_DIALECT_AZURE &&
	    (!strcmp(url, "/v1/chat/completions") || !strcmp(url, "/chat/completions"))) {
		if (post) {
			r->is_chat = 1;
			return chat(s, c, r, NULL, 0);
		}
	} else if (s->cfg.dialect == SX_SIM_DIALECT_AZURE && azure_deployment(url, &(size_t){0})) {
		/* a GET of the chat path: 405 below */
	} else if (!strcmp(url, "/health")) {
		if (get) {
			sx_buf_adds(&b, "{\"status\":\"ok\"}");
			return respond(s, c, r, 200, json_response(&b), 0);
		}
	} else if (!strcmp(url, "/stats")) {
		if (get) {
			sx_sim_stats_json(s, &b);
			return respond(s, c, r, 200, json_response(&b), 0);
		}
	} else if (sim_batches_route(url)) {
		return batch_route(s, c, r, url, method);
	} else if (!strcmp(url, "/v1/models") || !strcmp(url, "/models")) {
		if (get) {
			sx_buf_adds(&b, "{\"object\":\"list\",\"data\":[{\"id\":\"" SIM_MODEL_NAME
					"\",\"object\":\"model\",\"created\":0,\"owned_by\":\"selfexp\"}]}");
			return respond(s, c, r, 200, json_response(&b), 0);
		}
	} else {
		sx_buf_addf(&b, "unknown path '%s' (selfexp sim serves POST /v1/chat/completions, "
				"/v1/files, /v1/batches, GET /v1/models, /health and /stats)", url);
		status = 404;
		code = "not_found";
	}
	if (!status)
		sx_buf_addf(&b, "method %s not allowed for '%s'", method, url);
	ret = respond(s, c, r, status ? status : 405,
		      error_response(b.buf, "invalid_request_error", code), 0);
	sx_buf_release(&b);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!r)
		return;
	if (r->resp)
		MHD_destroy_response(r->resp);
	sx_buf_release(&r->body);
	free(r);
	*con_cls = NULL;
}

/*
 * libmicrohttpd's messages, prefixed like every other; a failed bind is
 * left out, since sx_sim_start says it with the way out.
 */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (!strncmp(msg, "Failed to bind", 14))
		return;
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	fprintf(stderr, "selfexp: sim: %s\n", msg);
}

/* ---- lifecycle ---------------------------------------------------------- */

static int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 && n < 256 ? (int)n : 1;
}

int sx_sim_start(const struct sx_sim_config *cfg, struct sx_sim **out, struct sx_err *err)
{
	struct sx_sim *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_TURBO;
	pthread_condattr_t ca;
	const union MHD_DaemonInfo *info;
	struct sx_buf path = SX_BUF_INIT;
	int v6 = 0, rc;

	*out = NULL;
	s->cfg = *cfg;
	s->host = xstrdup(cfg->host && *cfg->host ? cfg->host : "127.0.0.1");
	s->cfg.host = s->host;
	if (!s->cfg.max_body)
		s->cfg.max_body = SX_SIM_MAX_BODY;
	if (s->cfg.stall_ms <= 0)
		s->cfg.stall_ms = SX_SIM_STALL_MS;
	if (s->cfg.threads <= 0)
		s->cfg.threads = ncpus();
	if (s->cfg.confidence_decimals < 0 || s->cfg.confidence_decimals > 9) {
		rc = sx_err_set(err, SX_EINPUT, "confidence decimals %d out of range 0..9",
				s->cfg.confidence_decimals);
		goto fail_early;
	}
	s->cfg.weights_path = NULL;
	if (cfg->weights_path)
		sx_buf_adds(&path, cfg->weights_path);
	else
		sx_buf_addf(&path, "%s/data/sim-weights.txt", SX_HOME);
	rc = sx_sim_model_load(path.buf, &s->model, err);
	sx_buf_release(&path);
	if (rc)
		goto fail_early;

	memset(&ss, 0, sizeof(ss));
	if (!strcmp(s->host, "localhost")) {
		free(s->host);
		s->host = xstrdup("127.0.0.1");
		s->cfg.host = s->host;
	}
	if (inet_pton(AF_INET, s->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)s->cfg.port);
	} else if (inet_pton(AF_INET6, s->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)s->cfg.port);
		flags |= MHD_USE_IPv6;
		v6 = 1;
	} else {
		rc = sx_err_set(err, SX_EINPUT, "invalid host '%s' (expected a numeric IP address)",
				s->host);
		goto fail_early;
	}
	if (!s->cfg.quiet)
		flags |= MHD_USE_ERROR_LOG;

	pthread_mutex_init(&s->tmu, NULL);
	pthread_mutex_init(&s->rmu, NULL);
	pthread_mutex_init(&s->smu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->tcv, &ca);
	pthread_condattr_destroy(&ca);
	s->uniq.mask = 1023;
	s->uniq.keys = xcalloc(1024, 2 * sizeof(uint64_t));
	s->bucket = sim_burst(s);
	s->bucket_ns = now_ns();

	if (pthread_create(&s->timer, NULL, timer_main, s)) {
		rc = sx_err_set(err, SX_EFAIL, "cannot start the timer thread: %s", strerror(errno));
		goto fail;
	}
	s->timer_started = 1;
	s->batches = sim_batches_new(&s->cfg, answer_body, s);
	if (s->cfg.threads > 1)
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
					MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &ss,
					MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.threads,
					MHD_OPTION_NOTIFY_COMPLETED, completed, s,
					MHD_OPTION_CONNECTION_LIMIT, 16384u,
					MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
	else
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
					MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &ss,
					MHD_OPTION_NOTIFY_COMPLETED, completed, s,
					MHD_OPTION_CONNECTION_LIMIT, 16384u,
					MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
	if (!s->d) {
		rc = sx_err_set(err, SX_ENET, "cannot listen on %s port %d (in use? try --port 0)",
				s->host, s->cfg.port);
		goto fail;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : s->cfg.port;
	snprintf(s->address, sizeof(s->address), v6 ? "http://[%s]:%d/v1" : "http://%s:%d/v1", s->host,
		 s->port);
	*out = s;
	return 0;
fail:
	sx_sim_stop(s);
	return rc;
fail_early:
	sx_sim_model_free(s->model);
	free(s->host);
	free(s);
	return rc;
}

const char *sx_sim_address(const struct sx_sim *s)
{
	return s->address;
}

int sx_sim_port(const struct sx_sim *s)
{
	return s->port;
}

const struct sx_sim_model *sx_sim_get_model(const struct sx_sim *s)
{
	return s->model;
}

void sx_sim_stop(struct sx_sim *s)
{
	if (!s)
		return;
	if (s->timer_started) {
		pthread_mutex_lock(&s->tmu);
		s->stopping = 1;
		pthread_cond_signal(&s->tcv);
		pthread_mutex_unlock(&s->tmu);
		pthread_join(s->timer, NULL);
	}
	if (s->d)
		MHD_stop_daemon(s->d);
	sim_batches_free(s->batches);
	pthread_mutex_destroy(&s->tmu);
	pthread_mutex_destroy(&s->rmu);
	pthread_mutex_destroy(&s->smu);
	pthread_cond_destroy(&s->tcv);
	free(s->heap);
	free(s->uniq.keys);
	sx_sim_model_free(s->model);
	free(s->host);
	free(s);
}
