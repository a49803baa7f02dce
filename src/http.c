#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "selfexp/alloc.h"
#include "selfexp/chat.h"
#include "selfexp/http.h"

/* A transfer: one reusable easy handle and what it collects. */
struct xfer {
	CURL *easy;
	struct sx_http *h;
	void *tag;
	struct sx_buf body;
	double retry_after_s, reset_requests_s, reset_tokens_s;
	int too_large;   /* over SX_CHAT_MAX_RESPONSE */
	int over_budget; /* over SX_HTTP_MAX_BUFFERED with the other transfers */
	int have_retry_after_ms;
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *next_free;
	struct xfer *prev, *next; /* in the active list while in flight */
};

struct sx_http {
	CURLM *multi;
	struct curl_slist *headers; /* shared by every transfer; holds the Authorization line */
	struct curl_slist *form_headers; /* the same without Content-Type (multipart sets its own) */
	struct xfer *free_list;
	struct xfer *active; /* in flight */
	size_t in_flight;
	size_t buffered;     /* body bytes held by transfers in flight */
	int insecure;
	/* borrowed from headers: the key and the secret header values, redacted from what comes back */
	const char *secret[SX_HTTP_MAX_HEADERS + 1];
	size_t secret_len[SX_HTTP_MAX_HEADERS + 1];
	size_t nsecret;
};

/* ---------------------------------------------------------------- parsing */

double sx_http_parse_duration(const char *s)
{
	double total = 0.0, v;
	char *end;
	int parts = 0;

	if (!s)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return -1;
	while (*s && !isspace((unsigned char)*s)) {
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		v = strtod(s, &end);
		if (end == s || !isfinite(v) || v < 0)
			return -1;
		s = end;
		if (!strncmp(s, "ms", 2)) {
			v /= 1e3;
			s += 2;
		} else if (!strncmp(s, "us", 2)) {
			v /= 1e6;
			s += 2;
		} else if (!strncmp(s, "\xc2\xb5s", 3)) {
			v /= 1e6;
			s += 3;
		} else if (!strncmp(s, "ns", 2)) {
			v /= 1e9;
			s += 2;
		} else if (*s == 'h') {
			v *= 3600;
			s++;
		} else if (*s == 'm') {
			v *= 60;
			s++;
		} else if (*s == 's') {
			s++;
		} else if (*s && !isspace((unsigned char)*s)) {
			return -1;
		} else if (parts) {
			return -1; /* a bare number only on its own */
		}
		total += v;
		parts++;
	}
	while (isspace((unsigned char)*s))
		s++;
	return *s ? -1 : total;
}

double sx_http_parse_retry_after(const char *s)
{
	double v;
	time_t t;

	if (!s)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (isdigit((unsigned char)*s)) {
		char *end;

		v = strtod(s, &end);
		while (isspace((unsigned char)*end))
			end++;
		if (*end || !isfinite(v) || v < 0)
			return sx_http_parse_duration(s);
		return v;
	}
	t = curl_getdate(s, NULL);
	if (t == (time_t)-1)
		return -1;
	v = difftime(t, time(NULL));
	return v < 0 ? 0 : v;
}

/* ------------------------------------------------------------- callbacks */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->body.len + len > SX_CHAT_MAX_RESPONSE) {
		x->too_large = 1;
		return 0;
	}
	if (x->h->buffered + len > SX_HTTP_MAX_BUFFERED) {
		x->over_budget = 1;
		return 0;
	}
	sx_buf_add(&x->body, data, len);
	x->h->buffered += len;
	return len;
}

static int header_is(const char *line, size_t len, const char *name, const char **value,
		     size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n))
		return 0;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	*value = line;
	*vlen = len;
	return 1;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, vlen;
	const char *v;
	char tmp[128];
	double *dst = NULL;
	int retry_after = 0;

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* a new response (after 100-continue or the like): forget the old headers */
		x->retry_after_s = x->reset_requests_s = x->reset_tokens_s = -1;
		x->have_retry_after_ms = 0;
		return len;
	}
	if (header_is(data, len, "retry-after-ms", &v, &vlen)) {
		/* OpenAI's and the sim's more precise form; wins over Retry-After */
		if (vlen < sizeof(tmp)) {
			double ms;

			memcpy(tmp, v, vlen);
			tmp[vlen] = '\0';
			ms = sx_http_parse_duration(tmp);
			if (ms >= 0) {
				x->retry_after_s = ms / 1000.0;
				x->have_retry_after_ms = 1;
			}
		}
		return len;
	}
	if (header_is(data, len, "retry-after", &v, &vlen)) {
		if (x->have_retry_after_ms)
			return len;
		dst = &x->retry_after_s;
		retry_after = 1;
	} else if (header_is(data, len, "x-ratelimit-reset-requests", &v, &vlen)) {
		dst = &x->reset_requests_s;
	} else if (header_is(data, len, "x-ratelimit-reset-tokens", &v, &vlen)) {
		dst = &x->reset_tokens_s;
	}
	if (dst && vlen < sizeof(tmp)) {
		memcpy(tmp, v, vlen);
		tmp[vlen] = '\0';
		*dst = retry_after ? sx_http_parse_retry_after(tmp) : sx_http_parse_duration(tmp);
	}
	return len;
}

/* ---------------------------------------------------------------- client */

static void wipe_headers(struct curl_slist *l)
{
	for (; l; l = l->next)
		if (l->data)
			explicit_bzero(l->data, strlen(l->data));
}

int sx_http_header_check(const char *name, const char *value, size_t *bad_at)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	const unsigned char *p;

	if (!name || !*name)
		return -1;
	for (p = (const unsigned char *)name; *p; p++)
		if (!(isalnum(*p) || strchr(tchar, *p)) || *p >= 0x80) {
			if (bad_at)
				*bad_at = (size_t)(p - (const unsigned char *)name);
			return -1;
		}
	for (p = (const unsigned char *)value; p && *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			if (bad_at)
				*bad_at = (size_t)(p - (const unsigned char *)value);
			return -1;
		}
	return 0;
}

/* Append "name: value" to *l (the line wiped from the temporary buffer); 0, or -1 out of memory. */
static int add_header(struct curl_slist **l, const char *name, const char *value)
{
	struct sx_buf line = SX_BUF_INIT;
	struct curl_slist *l2;

	sx_buf_addf(&line, "%s: %s", name, value);
	l2 = curl_slist_append(*l, line.buf);
	explicit_bzero(line.buf, line.len);
	sx_buf_release(&line);
	if (!l2)
		return -1;
	*l = l2;
	return 0;
}

/* Remember the value part of the last line of l as a secret to redact. */
static void add_secret(struct sx_http *h, struct curl_slist *l, size_t name_len)
{
	while (l->next)
		l = l->next;
	if (h->nsecret >= sizeof(h->secret) / sizeof(h->secret[0]))
		return;
	h->secret[h->nsecret] = l->data + name_len + 2;
	h->secret_len[h->nsecret] = strlen(h->secret[h->nsecret]);
	h->nsecret++;
}

int sx_http_new(const struct sx_http_config *cfg, struct sx_http **out, struct sx_err *err)
{
	static int global_done;
	struct sx_http *h;
	struct curl_slist *l;
	long conns = cfg->max_connections > 0 ? cfg->max_connections : 1;
	size_t i;
	int bad = 0;

	*out = NULL;
	if (cfg->nheaders > SX_HTTP_MAX_HEADERS)
		return sx_err_set(err, SX_EINPUT, "more than %d extra headers", SX_HTTP_MAX_HEADERS);
	for (i = 0; i < cfg->nheaders; i++)
		if (sx_http_header_check(cfg->headers[i].name, cfg->headers[i].value, NULL))
			return sx_err_set(err, SX_EINPUT, "header %zu is not one line of printable "
					  "characters", i + 1);
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return sx_err_set(err, SX_EFAIL, "cannot initialise libcurl");
		global_done = 1;
	}
	h = xcalloc(1, sizeof(*h));
	h->insecure = cfg->insecure;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return sx_err_set(err, SX_EFAIL, "cannot initialise libcurl");
	}
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, conns);

	l = curl_slist_append(NULL, "Content-Type: application/json");
	l = l ? curl_slist_append(l, "Accept: application/json") : NULL;
	l = l ? curl_slist_append(l, "Expect:") : NULL;
	bad = !l;
	if (!bad && cfg->api_key && *cfg->api_key && cfg->auth != SX_HTTP_AUTH_NONE) {
		int bearer = cfg->auth != SX_HTTP_AUTH_API_KEY;
		struct sx_buf v = SX_BUF_INIT;

		sx_buf_addf(&v, "%s%s", bearer ? "Bearer " : "", cfg->api_key);
		bad = add_header(&l, bearer ? "Authorization" : "api-key", v.buf);
		explicit_bzero(v.buf, v.len);
		sx_buf_release(&v);
		if (!bad) {
			add_secret(h, l, strlen(bearer ? "Authorization" : "api-key"));
			if (bearer) { /* the key itself, without "Bearer " */
				h->secret[h->nsecret - 1] += 7;
				h->secret_len[h->nsecret - 1] -= 7;
			}
		}
	}
	for (i = 0; !bad && i < cfg->nheaders; i++) {
		bad = add_header(&l, cfg->headers[i].name, cfg->headers[i].value);
		if (!bad && cfg->headers[i].secret)
			add_secret(h, l, strlen(cfg->headers[i].name));
	}
	if (bad) {
		wipe_headers(l);
		curl_slist_free_all(l);
		curl_multi_cleanup(h->multi);
		free(h);
		return sx_err_set(err, SX_EFAIL, "out of memory building request headers");
	}
	h->headers = l;
	/* the list without its first line (Content-Type), for multipart uploads */
	h->form_headers = l->next;
	*out = h;
	return 0;
}

void sx_http_redact(const struct sx_http *h, char *s, size_t len)
{
	char *p, *end = s + len;
	size_t i;

	if (!h || !s)
		return;
	for (i = 0; i < h->nsecret; i++) {
		const char *k = h->secret[i];
		size_t klen = h->secret_len[i];

		if (klen < SX_HTTP_REDACT_MIN)
			continue;
		p = s;
		while ((size_t)(end - p) >= klen && (p = memmem(p, (size_t)(end - p), k, klen))) {
			memset(p, '*', klen);
			p += klen;
		}
	}
}

void sx_http_url_shown(const char *url, struct sx_buf *out)
{
	const char *scheme = strstr(url, "://"), *auth, *end, *at = NULL, *p;

	auth = scheme && (size_t)(scheme - url) < strcspn(url, "/?#") ? scheme + 3 : url;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	sx_buf_add(out, url, (size_t)(auth - url));
	p = at ? at + 1 : auth;
	sx_buf_add(out, p, strcspn(p, "?#"));
}

static struct xfer *get_xfer(struct sx_http *h)
{
	struct xfer *x = h->free_list;

	if (x) {
		h->free_list = x->next_free;
		x->next_free = NULL;
		return x;
	}
	x = xcalloc(1, sizeof(*x));
	x->body = (struct sx_buf)SX_BUF_INIT;
	x->h = h;
	x->easy = curl_easy_init();
	if (!x->easy) {
		free(x);
		return NULL;
	}
	/* options that never change for this handle */
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* refuse at once a body whose Content-Length is over the cap (on_body catches the rest) */
	curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SX_CHAT_MAX_RESPONSE);
	curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "selfexp");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (h->insecure) {
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return x;
}

static void put_xfer(struct sx_http *h, struct xfer *x)
{
	h->buffered -= x->body.len < h->buffered ? x->body.len : h->buffered;
	x->tag = NULL;
	sx_buf_reset(&x->body);
	x->next_free = h->free_list;
	h->free_list = x;
}

static void free_xfer(struct xfer *x)
{
	curl_easy_cleanup(x->easy);
	sx_buf_release(&x->body);
	free(x);
}

void sx_http_cancel_all(struct sx_http *h)
{
	struct xfer *x;

	if (!h)
		return;
	while ((x = h->active)) {
		h->active = x->next;
		x->prev = x->next = NULL;
		curl_multi_remove_handle(h->multi, x->easy);
		put_xfer(h, x);
	}
	h->in_flight = 0;
}

void sx_http_free(struct sx_http *h)
{
	struct xfer *x;

	if (!h)
		return;
	sx_http_cancel_all(h);
	while ((x = h->free_list)) {
		h->free_list = x->next_free;
		free_xfer(x);
	}
	curl_multi_cleanup(h->multi);
	wipe_headers(h->headers);
	curl_slist_free_all(h->headers);
	free(h);
}

int sx_http_post(struct sx_http *h, const char *url, const char *body, size_t len,
		 double timeout_s, void *tag, struct sx_err *err)
{
	struct xfer *x = get_xfer(h);
	long ms = timeout_s > 0 ? (long)(timeout_s * 1000.0) : 0;

	if (!x)
		return sx_err_set(err, SX_EFAIL, "cannot create a transfer handle");
	x->tag = tag;
	x->too_large = 0;
	x->over_budget = 0;
	x->have_retry_after_ms = 0;
	x->errbuf[0] = '\0';
	x->retry_after_s = x->reset_requests_s = x->reset_tokens_s = -1;
	sx_buf_reset(&x->body);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 && ms < 10000 ? ms : 10000L);
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		put_xfer(h, x);
		return sx_err_set(err, SX_EFAIL, "cannot start a transfer");
	}
	x->prev = NULL;
	x->next = h->active;
	if (h->active)
		h->active->prev = x;
	h->active = x;
	h->in_flight++;
	return 0;
}

int sx_http_get(struct sx_http *h, const char *url, double timeout_s, long *status,
		struct sx_buf *out, struct sx_err *err)
{
	struct xfer *x = get_xfer(h);
	long ms = timeout_s > 0 ? (long)(timeout_s * 1000.0) : 0;
	CURLcode rc;

	*status = 0;
	if (!x)
		return sx_err_set(err, SX_EFAIL, "cannot create a transfer handle");
	x->too_large = x->over_budget = 0;
	x->errbuf[0] = '\0';
	sx_buf_reset(&x->body);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 && ms < 10000 ? ms : 10000L);
	rc = curl_easy_perform(x->easy);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, status);
		sx_http_redact(h, x->body.buf, x->body.len);
		sx_buf_add(out, x->body.buf ? x->body.buf : "", x->body.len);
	} else {
		sx_http_redact(h, x->errbuf, strlen(x->errbuf));
		sx_err_set(err, SX_ENET, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	}
	put_xfer(h, x);
	return rc == CURLE_OK ? 0 : SX_ENET;
}

int sx_http_poll(struct sx_http *h, int timeout_ms, struct sx_err *err)
{
	int running = 0;
	CURLMcode mc;

	mc = curl_multi_perform(h->multi, &running);
	/*
	 * Wait only when nothing completed yet; with nothing in flight this just
	 * sleeps, which the engine uses for pacing.
	 */
	if (mc == CURLM_OK && timeout_ms > 0 && (size_t)running >= h->in_flight) {
		mc = curl_multi_poll(h->multi, NULL, 0, timeout_ms, NULL);
		if (mc == CURLM_OK)
			mc = curl_multi_perform(h->multi, &running);
	}
	if (mc != CURLM_OK)
		return sx_err_set(err, SX_EFAIL, "libcurl: %s", curl_multi_strerror(mc));
	return 0;
}

static enum sx_http_net classify(CURLcode rc, const struct xfer *x)
{
	switch (rc) {
	case CURLE_OK:
		return SX_HTTP_NET_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return SX_HTTP_NET_UNREACHABLE;
	case CURLE_OPERATION_TIMEDOUT:
		return SX_HTTP_NET_TIMEOUT;
	case CURLE_FILESIZE_EXCEEDED:
		return SX_HTTP_NET_TOO_LARGE;
	case CURLE_PEER_FAILED_VERIFICATION:
		return SX_HTTP_NET_TLS;
	case CURLE_WRITE_ERROR:
		return x->too_large ? SX_HTTP_NET_TOO_LARGE : SX_HTTP_NET_ERROR;
	default:
		return SX_HTTP_NET_ERROR;
	}
}

int sx_http_next_done(struct sx_http *h, struct sx_http_done *out)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct xfer *x = NULL;
		CURLcode rc;
		double total = 0;
		long status = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME, &total);
		curl_multi_remove_handle(h->multi, m->easy_handle);
		h->in_flight--;
		if (x->prev)
			x->prev->next = x->next;
		else
			h->active = x->next;
		if (x->next)
			x->next->prev = x->prev;
		x->prev = x->next = NULL;

		memset(out, 0, sizeof(*out));
		out->tag = x->tag;
		out->net = classify(rc, x);
		if (out->net == SX_HTTP_NET_TIMEOUT) {
			/* never connected: the endpoint is as good as unreachable */
			double connect = 0;

			curl_easy_getinfo(m->easy_handle, CURLINFO_CONNECT_TIME, &connect);
			if (connect <= 0)
				out->net = SX_HTTP_NET_UNREACHABLE;
		}
		out->status = out->net == SX_HTTP_NET_OK ? status : 0;
		out->retry_after_s = x->retry_after_s;
		out->retry_after_ms = x->have_retry_after_ms;
		out->reset_requests_s = x->reset_requests_s;
		out->reset_tokens_s = x->reset_tokens_s;
		out->elapsed_ms = total * 1000.0;
		if (out->net == SX_HTTP_NET_TOO_LARGE)
			snprintf(out->error, sizeof(out->error),
				 "response body over the %u byte cap", SX_CHAT_MAX_RESPONSE);
		else if (x->over_budget)
			snprintf(out->error, sizeof(out->error),
				 "responses in flight over the %u byte memory budget",
				 SX_HTTP_MAX_BUFFERED);
		else if (out->net != SX_HTTP_NET_OK)
			snprintf(out->error, sizeof(out->error), "%s",
				 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		if (out->net == SX_HTTP_NET_OK) {
			char *ct = NULL;
			size_t i;

			curl_easy_getinfo(m->easy_handle, CURLINFO_CONTENT_TYPE, &ct);
			snprintf(out->content_type, sizeof(out->content_type), "%s", ct ? ct : "");
			for (i = 0; out->content_type[i]; i++)
				out->content_type[i] = (char)tolower((unsigned char)out->content_type[i]);
		}
		if (out->net == SX_HTTP_NET_OK && status >= 300 && status < 400) {
			char *loc = NULL;
			size_t i;

			curl_easy_getinfo(m->easy_handle, CURLINFO_REDIRECT_URL, &loc);
			snprintf(out->location, sizeof(out->location), "%s", loc ? loc : "");
			for (i = 0; out->location[i]; i++)
				if ((unsigned char)out->location[i] < 0x20 || out->location[i] == 0x7f)
					out->location[i] = ' ';
			sx_http_redact(h, out->location, strlen(out->location));
		}
		sx_http_redact(h, out->error, strlen(out->error));
		/* hand the body over and keep the handle for the next request */
		h->buffered -= x->body.len < h->buffered ? x->body.len : h->buffered;
		out->body = x->body;
		x->body = (struct sx_buf)SX_BUF_INIT;
		if (out->net != SX_HTTP_NET_OK)
			sx_buf_reset(&out->body);
		sx_http_redact(h, out->body.buf, out->body.len);
		put_xfer(h, x);
		return 1;
	}
	return 0;
}

void sx_http_done_release(struct sx_http_done *d)
{
	if (d)
		sx_buf_release(&d->body);
}

size_t sx_http_in_flight(const struct sx_http *h)
{
	return h->in_flight;
}

/* ---------------------------------------------------------------- blocking */

struct sync_body {
	struct sx_buf *b;
	size_t cap;
	int too_large;
};

static size_t on_sync_body(char *data, size_t size, size_t n, void *arg)
{
	struct sync_body *sb = arg;
	size_t len = size * n;

	if (sb->b->len + len > sb->cap) {
		sb->too_large = 1;
		return 0;
	}
	sx_buf_add(sb->b, data, len);
	return len;
}

int sx_http_request(struct sx_http *h, const struct sx_http_sync *rq, struct sx_http_done *out,
		    struct sx_err *err)
{
	struct xfer x;
	struct sync_body sb;
	curl_mime *mime = NULL;
	CURL *easy = curl_easy_init();
	long ms = rq->timeout_s > 0 ? (long)(rq->timeout_s * 1000.0) : 0, status = 0;
	double total = 0;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	out->body = (struct sx_buf)SX_BUF_INIT;
	if (!easy)
		return sx_err_set(err, SX_EFAIL, "cannot create a transfer handle");
	memset(&x, 0, sizeof(x));
	x.h = h;
	x.retry_after_s = x.reset_requests_s = x.reset_tokens_s = -1;
	sb.b = &out->body;
	sb.cap = rq->max_body;
	sb.too_large = 0;
	curl_easy_setopt(easy, CURLOPT_URL, rq->url);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_sync_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sb);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x.errbuf);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_body);
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "selfexp");
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 && ms < 10000 ? ms : 10000L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (h->insecure) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (rq->file_field) {
		const char *const *f;
		curl_mimepart *part;

		mime = curl_mime_init(easy);
		for (f = rq->fields; f && f[0] && f[1]; f += 2) {
			part = curl_mime_addpart(mime);
			curl_mime_name(part, f[0]);
			curl_mime_data(part, f[1], CURL_ZERO_TERMINATED);
		}
		part = curl_mime_addpart(mime);
		curl_mime_name(part, rq->file_field);
		curl_mime_filename(part, rq->file_name);
		curl_mime_type(part, "application/jsonl");
		curl_mime_data(part, rq->file_data, rq->file_len);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h->form_headers);
		curl_easy_setopt(easy, CURLOPT_MIMEPOST, mime);
	} else {
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h->headers);
		if (!strcmp(rq->method, "POST")) {
			curl_easy_setopt(easy, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
			curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
		}
	}
	rc = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &total);
	x.too_large = sb.too_large;
	out->net = classify(rc, &x);
	out->status = out->net == SX_HTTP_NET_OK ? status : 0;
	out->retry_after_s = x.retry_after_s;
	out->elapsed_ms = total * 1000.0;
	out->reset_requests_s = out->reset_tokens_s = -1;
	if (out->net == SX_HTTP_NET_TOO_LARGE)
		snprintf(out->error, sizeof(out->error), "response body over the %zu byte cap",
			 rq->max_body);
	else if (out->net != SX_HTTP_NET_OK)
		snprintf(out->error, sizeof(out->error), "%s",
			 x.errbuf[0] ? x.errbuf : curl_easy_strerror(rc));
	if (out->net != SX_HTTP_NET_OK)
		sx_buf_reset(&out->body);
	sx_http_redact(h, out->error, strlen(out->error));
	sx_http_redact(h, out->body.buf, out->body.len);
	curl_mime_free(mime);
	curl_easy_cleanup(easy);
	return 0;
}
