/*
 * The engine against the simulated model, in-process over loopback HTTP:
 * order of results, deduplication, the cache, faults and retries, 4xx,
 * pacing, an unreachable endpoint, caps, offline mode, interruption, and
 * that the API key never reaches the cache file.
 */
#if defined(__has_include)
#if !__has_include("selfexp/sim.h")
#define NO_SIM 1
#endif
#endif

#ifdef NO_SIM
/* The simulated server has not been merged into this tree yet. */
#include <stdio.h>
int main(void)
{
	puts("1..0 # SKIP selfexp sim (include/selfexp/sim.h) is not in this tree");
	return 0;
}
#else
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "selfexp/buf.h"
#include "selfexp/cache.h"
#include "selfexp/chat.h"
#include "selfexp/engine.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/prompt.h"
#include "selfexp/sim.h"

#define SECRET "sk-test-SECRET-0123456789"

#define TMPDIR_NAME "test_engine"
#include "tmpdir.h"

static char *new_cache_path(void)
{
	static int cache_no;
	char name[32];

	snprintf(name, sizeof(name), "cache%d.db", cache_no++);
	return tmpdir_path(name);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sx_sim *start_sim(struct sx_sim_config *sc)
{
	struct sx_sim *s = NULL;
	struct sx_err err = SX_ERR_INIT;

	sc->quiet = 1;
	if (!sc->threads)
		sc->threads = 2;
	if (sx_sim_start(sc, &s, &err))
		fail_msg("sim: %s", err.msg);
	return s;
}

/* A member of the sim's /stats document (by_status.NNN when sub is set). */
static long sim_stat(struct sx_sim *s, const char *key, const char *sub)
{
	struct sx_buf b = SX_BUF_INIT;
	struct sx_json *j;
	const struct sx_json *o;
	double v = 0;

	sx_sim_stats_json(s, &b);
	j = sx_json_parse(b.buf, b.len, NULL);
	assert_non_null(j);
	o = sx_json_get(j, key);
	if (sub)
		o = sx_json_get(o, sub);
	if (sx_json_num(o, &v))
		v = 0;
	sx_json_free(j);
	sx_buf_release(&b);
	return (long)v;
}

/* n requests of the pred condition over `distinct` different reviews, in a scrambled order. */
static struct sx_request *make_requests(size_t n, size_t distinct, const char *model)
{
	static const char *const words[] = { "a", "gorgeous", "witty", "dull", "film", "mess",
					     "bad", "great", ",", ".", "the", "plot" };
	struct sx_prompt p = SX_PROMPT_INIT;
	struct sx_gen_params gp = SX_GEN_PARAMS_INIT;
	struct sx_request *reqs = calloc(n, sizeof(*reqs));
	struct sx_buf dir = SX_BUF_INIT;
	size_t i, k;

	sx_buf_addf(&dir, "%s/prompts", SX_HOME);
	assert_int_equal(sx_prompt_load(&p, dir.buf, SX_COND_PRED, NULL), 0);
	gp.max_tokens = 32;
	if (model)
		gp.model = model;
	for (i = 0; i < n; i++) {
		struct sx_buf review = SX_BUF_INIT, sys = SX_BUF_INIT, usr = SX_BUF_INIT, body = SX_BUF_INIT;
		size_t r = (i * 7919) % distinct, x = r;

		for (k = 0; k < 6; k++) {
			sx_buf_addf(&review, "%s%s", k ? " " : "", words[x % 12]);
			x = x / 12 + k * 5 + r;
		}
		sx_buf_addf(&review, " r%zu", r);
		sx_prompt_render(&p, review.buf, 7, &sys, &usr);
		sx_chat_request_body(&gp, sys.buf, usr.buf, &body);
		reqs[i].body = sx_buf_detach(&body, &reqs[i].len);
		sx_buf_release(&review);
		sx_buf_release(&sys);
		sx_buf_release(&usr);
	}
	sx_prompt_release(&p);
	sx_buf_release(&dir);
	return reqs;
}

static void free_requests(struct sx_request *reqs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(reqs[i].body);
	free(reqs);
}

static void release_results(struct sx_result *res, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sx_result_release(&res[i]);
}

static struct sx_engine *engine(struct sx_engine_config *cfg, const char *base, const char *cache)
{
	struct sx_engine *e = NULL;
	struct sx_err err = SX_ERR_INIT;

	cfg->base_url = base;
	cfg->cache_path = cache;
	cfg->api_key = SECRET;
	if (sx_engine_new(cfg, &e, &err))
		fail_msg("engine: %s", err.msg);
	return e;
}

static size_t count_status(const struct sx_result *res, size_t n, enum sx_result_status st)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += res[i].status == st;
	return c;
}

/* ------------------------------------------------------------------ tests */

/* The endpoint cache keys name: every form of one endpoint alike, two endpoints apart. */
static void test_endpoint_url(void **state)
{
	static const char *const cases[][2] = {
		{ "http://127.0.0.1:18080/v1", "http://127.0.0.1:18080/v1" },
		{ "http://127.0.0.1:18081/v1", "http://127.0.0.1:18081/v1" },
		{ "HTTP://LocalHost:8080/v1/", "http://localhost:8080/v1" },
		{ "http://h:80/v1", "http://h/v1" },
		{ "http://h/v1", "http://h/v1" },
		{ "http://h:/v1", "http://h/v1" },
		{ "http://h:443/v1", "http://h:443/v1" },
		{ "https://h:443/v1", "https://h/v1" },
		{ "https://h:80/v1", "https://h:80/v1" },
		{ "https://h:8443", "https://h:8443" },
		{ "http://h:08080/v1", "http://h:8080/v1" },
		{ "http://h", "http://h" },
		{ "http://h/", "http://h" },
		{ "http://h//v1//", "http://h//v1" },
		{ "http://h/V1/Chat", "http://h/V1/Chat" },
		{ "http://h/v1#frag", "http://h/v1" },
		{ "http://h?x=1/v1", "http://h" },
		{ "https://user:secret@GW.example/openai/deployments/gpt?api-version=2024-02-01",
		  "https://gw.example/openai/deployments/gpt" },
		{ "https://user:p@ss@api.example/v1", "https://api.example/v1" },
		{ "https://:key@api.example/v1", "https://api.example/v1" },
		{ "http://[::1]:8080/v1", "http://[::1]:8080/v1" },
		{ "http://[::1]/v1", "http://[::1]/v1" },
		{ "http://[0:0:0:0:0:0:0:1]:8080/v1/", "http://[::1]:8080/v1" },
		{ "http://[2001:DB8::1]:80", "http://[2001:db8::1]" },
		{ "https://[2001:db8:0:0:1:0:0:1]:443/v1", "https://[2001:db8::1:0:0:1]/v1" },
		{ "http://[::FFFF:127.0.0.1]:9/v1", "http://[::ffff:127.0.0.1]:9/v1" },
		{ "http://[FE80::1%25eth0]:8080/v1", "http://[fe80::1%25eth0]:8080/v1" },
		{ "http://u:pw@[::1]:8080/v1", "http://[::1]:8080/v1" },
		{ "http://10.0.0.7:65535/a/b/c?k=v#f", "http://10.0.0.7:65535/a/b/c" },
	};
	static const char *const bad[] = {
		"ftp://x", "localhost:8080", "http://", "http:///v1", "", "http://h:0/v1",
		"http://h:65536/v1", "http://h:8o80/v1", "http://h:-1/v1", "http://[::1/v1",
		"http://[]/v1", "http://[::1]x/v1", "http://[zz::1]/v1", "http://u@/v1",
		"http://a b/v1", "http://a\\b/v1", "http://:8080/v1", "//h/v1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sx_buf b = SX_BUF_INIT;

		if (sx_engine_endpoint_url(cases[i][0], &b))
			fail_msg("'%s' refused", cases[i][0]);
		if (strcmp(b.buf, cases[i][1]))
			fail_msg("'%s' gave '%s', expected '%s'", cases[i][0], b.buf, cases[i][1]);
		sx_buf_release(&b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sx_buf b = SX_BUF_INIT;

		sx_buf_adds(&b, "kept");
		if (sx_engine_endpoint_url(bad[i], &b) != SX_EINPUT)
			fail_msg("'%s' taken as '%s'", bad[i], b.buf);
		assert_string_equal(b.buf, "kept"); /* appended to, or left alone */
		sx_buf_release(&b);
	}
	{
		struct sx_buf b = SX_BUF_INIT;

		assert_int_equal(sx_engine_endpoint_url(NULL, &b), SX_EINPUT);
		/* the host (run.json, host-only keys) takes the last '@' too: no part of a password */
		assert_int_equal(sx_engine_endpoint_host("https://u:p@ss@Api.example:8443/v1", &b), 0);
		assert_string_equal(b.buf, "api.example");
		sx_buf_release(&b);
	}
}

static void test_order_dedupe_cache(void **state)
{
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *s;
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_engine_stats st;
	const size_t n = 300, distinct = 100;
	struct sx_request *reqs = make_requests(n, distinct, NULL);
	struct sx_result *ref = calloc(n, sizeof(*ref)), *res = calloc(n, sizeof(*res));
	double *latency = calloc(n, sizeof(*latency));
	char *cache = new_cache_path();
	size_t i;

	(void)state;
	sc.jitter_ms = 2; /* answers arrive out of order */
	sc.latency_ms = 2;
	s = start_sim(&sc);

	/* reference: one request at a time, no cache */
	cfg.concurrency = 1;
	e = engine(&cfg, sx_sim_address(s), NULL);
	assert_int_equal(sx_engine_run(e, reqs, n, ref, "ref", NULL), 0);
	assert_int_equal(count_status(ref, n, SX_RESULT_OK), n);
	sx_engine_free(e);
	assert_int_equal(sim_stat(s, "unique_bodies", NULL), distinct);
	assert_int_equal(sim_stat(s, "chat_requests", NULL), distinct);

	/* concurrent: the same answers in the same order, duplicates sent once */
	cfg.concurrency = 32;
	e = engine(&cfg, sx_sim_address(s), cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "batch", NULL), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(res[i].status, SX_RESULT_OK);
		assert_string_equal(res[i].answer.content, ref[i].answer.content);
		assert_false(res[i].from_cache);
		if (i)
			assert_ptr_not_equal(res[i].answer.content, res[i - 1].answer.content);
		latency[i] = res[i].latency_ms;
		assert_true(latency[i] > 0);
	}
	assert_int_equal(sim_stat(s, "chat_requests", NULL), 2 * distinct);
	sx_engine_get_stats(e, &st);
	assert_int_equal(st.requests, n);
	assert_int_equal(st.unique, distinct);
	assert_int_equal(st.sent, distinct);
	assert_int_equal(st.attempts, distinct);
	assert_int_equal(st.cache_hits, 0);
	assert_true(st.prompt_tokens > 0);
	release_results(res, n);

	/* the key is nowhere in the cache file or its WAL (read while the cache is open: it exists) */
	{
		struct sx_buf f = SX_BUF_INIT, wal = SX_BUF_INIT, p = SX_BUF_INIT;

		assert_int_equal(sx_file_read(cache, 1u << 30, &f, NULL), 0);
		assert_true(f.len > 0);
		assert_null(memmem(f.buf, f.len, SECRET, strlen(SECRET)));
		assert_null(memmem(f.buf, f.len, "Bearer", 6));
		sx_buf_addf(&p, "%s-wal", cache);
		assert_int_equal(sx_file_read(p.buf, 1u << 30, &wal, NULL), 0);
		assert_true(wal.len > 0);
		assert_null(memmem(wal.buf, wal.len, SECRET, strlen(SECRET)));
		assert_null(memmem(wal.buf, wal.len, "Bearer", 6));
		sx_buf_release(&f);
		sx_buf_release(&wal);
		sx_buf_release(&p);
	}
	sx_engine_free(e);

	/* a second run is all cache hits, nothing sent, each with the latency it was recorded with */
	e = engine(&cfg, sx_sim_address(s), cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "again", NULL), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(res[i].status, SX_RESULT_OK);
		assert_true(res[i].from_cache);
		assert_int_equal(res[i].attempts, 0);
		assert_string_equal(res[i].answer.content, ref[i].answer.content);
		assert_true(fabs(res[i].latency_ms - latency[i]) < 1e-6);
	}
	sx_engine_get_stats(e, &st);
	assert_int_equal(st.cache_hits, distinct);
	assert_int_equal(st.sent, 0);
	assert_int_equal(sim_stat(s, "chat_requests", NULL), 2 * distinct);
	release_results(res, n);
	sx_engine_free(e);

	/* offline: hits answer, misses fail with "offline miss" */
	{
		struct sx_request *more = make_requests(n + 10, distinct + 10, NULL);
		struct sx_result *r2 = calloc(n + 10, sizeof(*r2));
		size_t miss = 0;

		cfg.offline = 1;
		e = engine(&cfg, sx_sim_address(s), cache);
		assert_int_equal(sx_engine_run(e, more, n + 10, r2, "offline", NULL), 0);
		for (i = 0; i < n + 10; i++) {
			if (r2[i].status == SX_RESULT_FAILED) {
				assert_string_equal(r2[i].reason, "offline miss");
				miss++;
			} else {
				assert_int_equal(r2[i].status, SX_RESULT_OK);
			}
		}
		/*
		 * review r of make_requests depends on r alone, so the misses are the
		 * requests with r = (i * 7919) % 110 >= 100: 10 in each 110 requests
		 * (7919 is prime to 110), 30 of 310 (counted in Python)
		 */
		assert_int_equal(miss, 30);
		assert_int_equal(sim_stat(s, "chat_requests", NULL), 2 * distinct);
		sx_engine_free(e);
		cfg.offline = 0;
		release_results(r2, n + 10);
		free(r2);
		free_requests(more, n + 10);
	}

	release_results(ref, n);
	free(ref);
	free(res);
	free(latency);
	free(cache);
	free_requests(reqs, n);
	sx_sim_stop(s);
}

/* A URL on a loopback port where nothing listens. */
static void dead_url(char *url, size_t n)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, n, "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
	close(fd);
}

/* Store reqs[0..n) under the key of endpoint (a URL or a host), as a row with insecure. */
static void plant_rows(const char *cache, const struct sx_request *reqs, size_t n,
		       const char *endpoint, int insecure, const char *content)
{
	struct sx_cache *c = NULL;
	struct sx_buf resp = SX_BUF_INIT;
	size_t i;

	sx_buf_addf(&resp, "{\"choices\":[{\"message\":{\"content\":\"%s\"},"
		    "\"finish_reason\":\"stop\"}]}", content);
	assert_int_equal(sx_cache_open(cache, SX_CACHE_CREATE, &c, NULL), 0);
	for (i = 0; i < n; i++) {
		struct sx_cache_entry ce = SX_CACHE_ENTRY_INIT;
		char key[65];

		sx_cache_key(endpoint, reqs[i].body, reqs[i].len, key);
		ce.request = reqs[i].body;
		ce.request_len = reqs[i].len;
		ce.response = resp.buf;
		ce.response_len = resp.len;
		ce.endpoint = strstr(endpoint, "://") ? (char *)endpoint : NULL;
		ce.insecure = insecure;
		assert_int_equal(sx_cache_put(c, key, "127.0.0.1", &ce, NULL), 0);
	}
	sx_cache_close(c);
	sx_buf_release(&resp);
}

/*
 * Two servers on one host, on two ports, share a cache file: each gets its own
 * answers (the key names the port), every spelling of one base URL finds the
 * same rows, and a port where nothing listens is not answered from the others'.
 */
static void test_endpoint_keys(void **state)
{
	struct sx_sim_config c1 = SX_SIM_CONFIG_INIT, c2 = SX_SIM_CONFIG_INIT;
	struct sx_sim *s1, *s2;
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_engine_stats st;
	struct sx_err err = SX_ERR_INIT;
	const size_t n = 20;
	struct sx_request *reqs = make_requests(n, n, NULL);
	struct sx_result *r1 = calloc(n, sizeof(*r1)), *r2 = calloc(n, sizeof(*r2));
	char *cache = new_cache_path(), url[96];
	size_t i, differ = 0;

	(void)state;
	c1.confidence_decimals = 1;
	c2.confidence_decimals = 4; /* the same predictions, other confidences */
	s1 = start_sim(&c1);
	s2 = start_sim(&c2);
	e = engine(&cfg, sx_sim_address(s1), cache);
	assert_int_equal(sx_engine_run(e, reqs, n, r1, "one", NULL), 0);
	sx_engine_free(e);
	e = engine(&cfg, sx_sim_address(s2), cache);
	assert_int_equal(sx_engine_run(e, reqs, n, r2, "two", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, 0);
	assert_int_equal(st.sent, n);
	assert_int_equal(sim_stat(s2, "chat_requests", NULL), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(r2[i].status, SX_RESULT_OK);
		assert_false(r2[i].from_cache);
		differ += strcmp(r1[i].answer.content, r2[i].answer.content) != 0;
	}
	assert_true(differ > 0);
	release_results(r2, n);

	/* another spelling of the first URL: its answers, from the cache */
	snprintf(url, sizeof(url), "HTTP://user:pw@127.0.0.1:%d/v1//", sx_sim_port(s1));
	e = engine(&cfg, url, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, r2, "again", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, n);
	for (i = 0; i < n; i++)
		assert_string_equal(r2[i].answer.content, r1[i].answer.content);
	release_results(r2, n);
	assert_int_equal(sim_stat(s1, "chat_requests", NULL), n);

	/* a query (Azure's ?api-version=) is sent after the path, and is no part of the key */
	snprintf(url, sizeof(url), "%s?api-version=2024-02-01#x", sx_sim_address(s1));
	e = engine(&cfg, url, NULL);
	assert_int_equal(sx_engine_run(e, reqs, 1, r2, "query", &err), 0);
	sx_engine_free(e);
	assert_int_equal(r2[0].status, SX_RESULT_OK);
	assert_int_equal(sim_stat(s1, "chat_requests", NULL), n + 1);
	release_results(r2, 1);
	e = engine(&cfg, url, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, r2, "query", &err), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, n);
	release_results(r2, n);

	/* the rows say where they came from, fetched over plain http */
	{
		struct sx_cache *c = NULL;
		struct sx_cache_entry ce = SX_CACHE_ENTRY_INIT;
		struct sx_buf ep = SX_BUF_INIT;
		char key[65];

		assert_int_equal(sx_engine_endpoint_url(sx_sim_address(s2), &ep), 0);
		sx_cache_key(ep.buf, reqs[0].body, reqs[0].len, key);
		assert_int_equal(sx_cache_open(cache, 0, &c, NULL), 0);
		assert_int_equal(sx_cache_get(c, key, &ce, NULL), 0);
		assert_string_equal(ce.endpoint, ep.buf);
		assert_int_equal(ce.insecure, 0);
		sx_cache_entry_release(&ce);
		sx_cache_close(c);
		sx_buf_release(&ep);
	}

	/* nothing listens there: not one answer from the cache of the others */
	dead_url(url, sizeof(url));
	e = engine(&cfg, url, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, r2, "down", &err), SX_ENET);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, 0);
	assert_int_equal(count_status(r2, n, SX_RESULT_OK), 0);
	release_results(r2, n);
	cfg.offline = 1;
	e = engine(&cfg, url, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, r2, "down offline", NULL), 0);
	sx_engine_free(e);
	assert_int_equal(count_status(r2, n, SX_RESULT_FAILED), n);
	assert_string_equal(r2[0].reason, "offline miss");
	release_results(r2, n);

	release_results(r1, n);
	free(r1);
	free(r2);
	free(cache);
	free_requests(reqs, n);
	sx_sim_stop(s1);
	sx_sim_stop(s2);
}

/*
 * Rows of a version 1 cache are keyed by the host alone: taken only when asked
 * (--cache-legacy-keys: on a miss of the endpoint's key; or the host key
 * alone, as score of an old run does), and counted apart.
 */
static void test_legacy_keys(void **state)
{
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_engine_stats st;
	const size_t n = 12;
	struct sx_request *reqs = make_requests(n, n, NULL);
	struct sx_result *res = calloc(n, sizeof(*res));
	char *cache = new_cache_path(), url[96];
	size_t i;

	(void)state;
	dead_url(url, sizeof(url));
	plant_rows(cache, reqs, n / 2, "127.0.0.1", -1, "(1, 0.5)"); /* old rows of that host */
	plant_rows(cache, reqs + n / 2, n / 2, url, 0, "(0, 0.5)");  /* new rows of that URL */
	cfg.offline = 1;

	/* by default the old rows are not this endpoint's */
	e = engine(&cfg, url, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "default", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, n / 2);
	assert_int_equal(st.legacy_hits, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(res[i].status, i < n / 2 ? SX_RESULT_FAILED : SX_RESULT_OK);
	release_results(res, n);

	/* asked for: the endpoint's rows first, the host's on a miss, counted apart */
	cfg.cache_keys = SX_ENGINE_KEYS_FALLBACK;
	e = engine(&cfg, url, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "fallback", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, n);
	assert_int_equal(st.legacy_hits, n / 2);
	for (i = 0; i < n; i++)
		assert_string_equal(res[i].answer.content, i < n / 2 ? "(1, 0.5)" : "(0, 0.5)");
	release_results(res, n);

	/* the host key alone: what a run before endpoint keys read */
	cfg.cache_keys = SX_ENGINE_KEYS_HOST;
	e = engine(&cfg, url, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "host", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, n / 2);
	assert_int_equal(st.legacy_hits, n / 2);
	release_results(res, n);

	/* the names run.json records */
	{
		int k = -1;

		assert_string_equal(sx_engine_keys_name(SX_ENGINE_KEYS_FALLBACK), "endpoint+host");
		assert_int_equal(sx_engine_keys_from_name("host", &k), 0);
		assert_int_equal(k, SX_ENGINE_KEYS_HOST);
		assert_int_equal(sx_engine_keys_from_name("port", &k), SX_EINPUT);
	}
	free(res);
	free(cache);
	free_requests(reqs, n);
}

/*
 * A run that verifies TLS does not take answers fetched without verification
 * (nor old rows, which did not record it) unless told to; a run with
 * --insecure, or over plain http, takes them.
 */
static void test_unverified_rows(void **state)
{
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_engine_stats st;
	const size_t n = 9, k = 3;
	struct sx_request *reqs = make_requests(n, n, NULL);
	struct sx_result *res = calloc(n, sizeof(*res));
	char *cache = new_cache_path();
	const char *tls = "https://127.0.0.1:1/v1";
	size_t i;

	(void)state;
	plant_rows(cache, reqs, k, tls, 1, "(1, 0.1)");          /* fetched with --insecure */
	plant_rows(cache, reqs + k, k, tls, 0, "(1, 0.2)");      /* verified */
	plant_rows(cache, reqs + 2 * k, k, "127.0.0.1", -1, "(1, 0.3)"); /* old, not recorded */
	cfg.offline = 1;
	cfg.cache_keys = SX_ENGINE_KEYS_FALLBACK;

	e = engine(&cfg, tls, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "verifying", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, k);
	assert_int_equal(st.unverified, 2 * k);
	for (i = 0; i < n; i++) {
		if (i >= k && i < 2 * k) {
			assert_int_equal(res[i].status, SX_RESULT_OK);
			continue;
		}
		assert_int_equal(res[i].status, SX_RESULT_FAILED);
		assert_non_null(strstr(res[i].reason, "--accept-insecure-cache"));
	}
	release_results(res, n);

	cfg.accept_insecure_cache = 1;
	e = engine(&cfg, tls, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "accepting", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, n);
	assert_int_equal(st.unverified, 0);
	release_results(res, n);

	cfg.accept_insecure_cache = 0;
	cfg.insecure = 1;
	e = engine(&cfg, tls, cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "insecure", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, n);
	release_results(res, n);

	/* plain http verifies nothing: the old rows of that host are as good as any */
	cfg.insecure = 0;
	e = engine(&cfg, "http://127.0.0.1:1/v1", cache);
	assert_int_equal(sx_engine_run(e, reqs + 2 * k, k, res, "http", NULL), 0);
	sx_engine_get_stats(e, &st);
	sx_engine_free(e);
	assert_int_equal(st.cache_hits, k);
	release_results(res, k);
	free(res);
	free(cache);
	free_requests(reqs, n);
}

static void run_faults(const char *faults, double rate, long stall_ms, double timeout_s)
{
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *s;
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_engine_stats st;
	struct sx_err err = SX_ERR_INIT;
	const size_t n = 80, distinct = 60;
	struct sx_request *reqs = make_requests(n, distinct, NULL);
	struct sx_result *res = calloc(n, sizeof(*res));
	char *cache = new_cache_path();
	size_t i;

	assert_int_equal(sx_sim_faults_parse(faults, &sc.faults, &err), 0);
	sc.fault_rate = rate;
	sc.stall_ms = stall_ms;
	sc.seed = 7;
	s = start_sim(&sc);
	cfg.retries = 12;
	cfg.concurrency = 16;
	cfg.timeout_s = timeout_s;
	e = engine(&cfg, sx_sim_address(s), cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "faults", &err), 0);
	for (i = 0; i < n; i++) {
		if (res[i].status != SX_RESULT_OK)
			fail_msg("request %zu: %s", i, res[i].reason);
		assert_true(res[i].attempts >= 1);
	}
	sx_engine_get_stats(e, &st);
	assert_true(st.retries > 0);
	assert_int_equal(st.attempts, st.sent + st.retries);
	assert_int_equal(st.failed, 0);
	release_results(res, n);
	sx_engine_free(e);

	/* nothing broken was stored: a second run answers everything from the cache */
	e = engine(&cfg, sx_sim_address(s), cache);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "again", NULL), 0);
	assert_int_equal(count_status(res, n, SX_RESULT_OK), n);
	sx_engine_get_stats(e, &st);
	assert_int_equal(st.sent, 0);
	release_results(res, n);
	sx_engine_free(e);
	free(res);
	free(cache);
	free_requests(reqs, n);
	sx_sim_stop(s);
}

static void test_faults(void **state)
{
	(void)state;
	run_faults("429,500,503,reset,truncate,garbage", 0.3, 0, 30);
}

static void test_stall(void **state)
{
	(void)state;
	run_faults("stall", 0.2, 5000, 0.3);
}

static void test_400_fails_at_once(void **state)
{
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *s = start_sim(&sc);
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_request reqs[2];
	struct sx_result res[2];
	static char bad1[] = "{\"model\":\"m\"}", bad2[] = "{\"model\":";

	(void)state;
	memset(reqs, 0, sizeof(reqs));
	reqs[0].body = bad1;
	reqs[0].len = strlen(bad1);
	reqs[1].body = bad2;
	reqs[1].len = strlen(bad2);
	e = engine(&cfg, sx_sim_address(s), NULL);
	assert_int_equal(sx_engine_run(e, reqs, 2, res, "bad", NULL), 0);
	assert_int_equal(res[0].status, SX_RESULT_FAILED);
	assert_int_equal(res[0].attempts, 1);
	assert_non_null(strstr(res[0].reason, "http 400"));
	assert_non_null(strstr(res[0].reason, "messages"));
	assert_int_equal(res[1].status, SX_RESULT_FAILED);
	assert_int_equal(res[1].attempts, 1);
	release_results(res, 2);
	sx_engine_free(e);
	sx_sim_stop(s);
}

/*
 * --retries N means N retries: against a server that fails every attempt
 * with a 500, each request is sent exactly N + 1 times, then fails saying so.
 */
static void test_retry_budget(void **state)
{
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *s;
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_engine_stats st;
	struct sx_err err = SX_ERR_INIT;
	const size_t n = 3;
	struct sx_request *reqs = make_requests(n, n, "budget");
	struct sx_result *res = calloc(n, sizeof(*res));
	size_t i;

	(void)state;
	assert_int_equal(sx_sim_faults_parse("500", &sc.faults, &err), 0);
	sc.fault_rate = 1.0;
	s = start_sim(&sc);
	cfg.retries = 2;
	cfg.concurrency = 4;
	e = engine(&cfg, sx_sim_address(s), NULL);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "budget", NULL), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(res[i].status, SX_RESULT_FAILED);
		assert_int_equal(res[i].attempts, 3);
		if (!strstr(res[i].reason, "after 3 attempts"))
			fail_msg("request %zu: '%s'", i, res[i].reason);
	}
	sx_engine_get_stats(e, &st);
	assert_int_equal(st.attempts, 3 * (long)n);
	assert_int_equal(st.retries, 2 * (long)n);
	assert_int_equal(sim_stat(s, "chat_requests", NULL), 3 * (long)n);
	release_results(res, n);
	sx_engine_free(e);
	free(res);
	free_requests(reqs, n);
	sx_sim_stop(s);
}

static size_t run_warm(struct sx_sim *s, size_t n)
{
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_request *warm = make_requests(n, n, "warm");
	struct sx_result *wr = calloc(n, sizeof(*wr));
	size_t ok;

	cfg.concurrency = 16;
	cfg.retries = 0;
	e = engine(&cfg, sx_sim_address(s), NULL);
	assert_int_equal(sx_engine_run(e, warm, n, wr, "warm", NULL), 0);
	ok = count_status(wr, n, SX_RESULT_OK);
	release_results(wr, n);
	sx_engine_free(e);
	free(wr);
	free_requests(warm, n);
	return ok;
}

static void test_rpm(void **state)
{
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *s;
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_engine_stats st;
	const size_t n = 15, m = 25;
	struct sx_request *reqs = make_requests(n, n, NULL);
	struct sx_request *more = make_requests(m, m, "more");
	struct sx_result *res = calloc(m, sizeof(*res));
	long limited;
	double t0, el;

	(void)state;
	/* the sim's bucket holds a minute's worth: drain it first */
	sc.rpm = 600;
	s = start_sim(&sc);
	assert_true(run_warm(s, 620) < 620);
	limited = sim_stat(s, "by_status", "429");
	assert_true(limited > 0);

	/* paced slightly below the limit: no 429 at all */
	cfg.rpm = 540;
	cfg.concurrency = 16;
	e = engine(&cfg, sx_sim_address(s), NULL);
	t0 = now_s();
	assert_int_equal(sx_engine_run(e, reqs, n, res, "paced", NULL), 0);
	el = now_s() - t0;
	assert_int_equal(count_status(res, n, SX_RESULT_OK), n);
	assert_int_equal(sim_stat(s, "by_status", "429"), limited);
	/* 15 requests at 9/s starting with one token: about 1.6 s */
	assert_true(el > 1.3);
	assert_true(el < 6.0);
	release_results(res, n);
	sx_engine_free(e);

	/* unpaced against the limit: 429s with Retry-After, honoured, all end OK */
	cfg.rpm = 0;
	cfg.retries = 10;
	e = engine(&cfg, sx_sim_address(s), NULL);
	assert_int_equal(sx_engine_run(e, more, m, res, "limited", NULL), 0);
	assert_int_equal(count_status(res, m, SX_RESULT_OK), m);
	sx_engine_get_stats(e, &st);
	assert_true(st.retries > 0);
	release_results(res, m);
	sx_engine_free(e);
	free(res);
	free_requests(reqs, n);
	free_requests(more, m);
	sx_sim_stop(s);
}

static void test_unreachable(void **state)
{
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_err err = SX_ERR_INIT;
	const size_t n = 20;
	struct sx_request *reqs = make_requests(n, n, NULL);
	struct sx_result *res = calloc(n, sizeof(*res));
	char url[64];
	double t0;
	size_t i;

	(void)state;
	dead_url(url, sizeof(url));

	e = engine(&cfg, url, NULL);
	t0 = now_s();
	assert_int_equal(sx_engine_run(e, reqs, n, res, "down", &err), SX_ENET);
	assert_true(now_s() - t0 < 2.0);
	assert_non_null(strstr(err.msg, url));
	assert_null(strstr(err.msg, SECRET));
	for (i = 0; i < n; i++) {
		assert_int_not_equal(res[i].status, SX_RESULT_OK);
		assert_non_null(res[i].reason);
	}
	release_results(res, n);
	sx_engine_free(e);

	/* not a URL at all */
	cfg.base_url = "ftp://x";
	assert_int_equal(sx_engine_new(&cfg, &e, &err), SX_ENET);
	assert_non_null(strstr(err.msg, "ftp://x"));
	free(res);
	free_requests(reqs, n);
}

static void test_max_requests(void **state)
{
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *s = start_sim(&sc);
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	struct sx_engine_stats st;
	const size_t n = 20;
	struct sx_request *reqs = make_requests(n, n, NULL);
	struct sx_result *res = calloc(n, sizeof(*res));
	size_t i;

	(void)state;
	cfg.max_requests = 5;
	e = engine(&cfg, sx_sim_address(s), NULL);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "capped", NULL), 0);
	assert_int_equal(count_status(res, n, SX_RESULT_OK), 5);
	assert_int_equal(count_status(res, n, SX_RESULT_SKIPPED), 15);
	for (i = 5; i < n; i++)
		assert_non_null(strstr(res[i].reason, "max-requests"));
	sx_engine_get_stats(e, &st);
	assert_int_equal(st.sent, 5);
	assert_int_equal(sim_stat(s, "chat_requests", NULL), 5);
	release_results(res, n);
	sx_engine_free(e);

	/* max cost: prices make each request's worst case cost $1 or so */
	cfg.max_requests = 0;
	cfg.max_cost = 3.0;
	cfg.price_in = 1e6 / 1000.0;
	cfg.price_out = 1e6 / 100.0;
	e = engine(&cfg, sx_sim_address(s), NULL);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "capped", NULL), 0);
	sx_engine_get_stats(e, &st);
	assert_true(st.cost <= 3.0);
	assert_true(count_status(res, n, SX_RESULT_SKIPPED) > 0);
	assert_true(count_status(res, n, SX_RESULT_OK) > 0);
	release_results(res, n);
	sx_engine_free(e);
	free(res);
	free_requests(reqs, n);
	sx_sim_stop(s);
}

static void *interrupter(void *arg)
{
	usleep(150 * 1000);
	sx_engine_interrupt(arg);
	return NULL;
}

static void test_interrupt(void **state)
{
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *s;
	struct sx_engine_config cfg = SX_ENGINE_CONFIG_INIT;
	struct sx_engine *e;
	const size_t n = 200;
	struct sx_request *reqs = make_requests(n, n, NULL);
	struct sx_result *res = calloc(n, sizeof(*res));
	pthread_t t;
	size_t ok, skipped;

	(void)state;
	sc.latency_ms = 50;
	s = start_sim(&sc);
	cfg.concurrency = 4;
	e = engine(&cfg, sx_sim_address(s), NULL);
	pthread_create(&t, NULL, interrupter, e);
	assert_int_equal(sx_engine_run(e, reqs, n, res, "interrupted", NULL), 0);
	pthread_join(t, NULL);
	ok = count_status(res, n, SX_RESULT_OK);
	skipped = count_status(res, n, SX_RESULT_SKIPPED);
	assert_int_equal(ok + skipped, n);
	assert_true(ok >= 4); /* what was in flight finished */
	assert_true(skipped > 100);
	assert_int_equal(sim_stat(s, "chat_requests", NULL), (long)ok);
	release_results(res, n);
	sx_engine_free(e);
	free(res);
	free_requests(reqs, n);
	sx_sim_stop(s);
}

/* Client errors some servers send as 500: recognised, so never retried. */
static void test_client_errors(void **state)
{
	(void)state;
	assert_int_equal(sx_engine_client_error("Only one completion choice is allowed"),
			 SX_ENGINE_CLIENT_N);
	assert_int_equal(sx_engine_client_error("context shift is disabled"), SX_ENGINE_CLIENT_CONTEXT);
	assert_int_equal(sx_engine_client_error("the request exceeds the available context size, try "
						"increasing it"), SX_ENGINE_CLIENT_CONTEXT);
	assert_int_equal(sx_engine_client_error("This model's maximum context length is 4096 tokens."),
			 SX_ENGINE_CLIENT_CONTEXT);
	assert_int_equal(sx_engine_client_error("[json.exception.parse_error.101] parse error"),
			 SX_ENGINE_CLIENT_BAD_BODY);
	assert_int_equal(sx_engine_client_error("the server had an error"), 0);
	assert_int_equal(sx_engine_client_error("simulated fault: the engine is currently overloaded"), 0);
	assert_int_equal(sx_engine_client_error(NULL), 0);
	/* the estimate reads max_completion_tokens too (reasoning models) */
	assert_int_equal(sx_engine_estimate_tokens("{\"max_completion_tokens\":10}", 28), 7 + 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_url),
		cmocka_unit_test(test_order_dedupe_cache),
		cmocka_unit_test(test_endpoint_keys),
		cmocka_unit_test(test_legacy_keys),
		cmocka_unit_test(test_unverified_rows),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_400_fails_at_once),
		cmocka_unit_test(test_retry_budget),
		cmocka_unit_test(test_rpm),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_max_requests),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_client_errors),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
#endif
