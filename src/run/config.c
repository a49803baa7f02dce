/*
 * The run's configuration: defaults, its JSON form (the "config" object of
 * run.json, read back by `selfexp score`), and run.json itself.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "selfexp/alloc.h"
#include "selfexp/num.h"
#include "selfexp/rundir.h"
#include "selfexp/version.h"

/* Version of the "config" object's layout. */
#define CONFIG_FORMAT 1

void sx_run_config_init(struct sx_run_config *cfg)
{
	static const struct sx_gen_params gen = SX_GEN_PARAMS_INIT;
	static const struct sx_engine_config eng = SX_ENGINE_CONFIG_INIT;

	memset(cfg, 0, sizeof(*cfg));
	cfg->conditions = (1u << SX_COND_EP) | (1u << SX_COND_PE);
	cfg->explainers = SX_EXPLAIN_SELF | SX_EXPLAIN_OCCLUSION | SX_EXPLAIN_LIME;
	cfg->seed = 0;
	cfg->prob = SX_PROB_VERBAL;
	cfg->gen = gen;
	cfg->engine = eng;
	cfg->lime_factor = 10.0;
	cfg->lime_kernel_width = 25.0;
	cfg->metrics = 1;
	cfg->bootstrap = 1000;
}

void sx_run_config_release(struct sx_run_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nowned; i++)
		free(cfg->owned[i]);
	free(cfg->owned);
	sx_json_free(cfg->owned_json);
	cfg->owned = NULL;
	cfg->nowned = 0;
	cfg->owned_json = NULL;
}

/* Keep s (owned) with the configuration; returns it. */
static const char *keep(struct sx_run_config *cfg, char *s)
{
	cfg->owned = xrealloc(cfg->owned, sx_size_mul(cfg->nowned + 1, sizeof(char *)));
	cfg->owned[cfg->nowned++] = s;
	return s;
}

/* path made absolute against base (NULL: the working directory), not resolved; the caller frees it. */
static char *absolute(const char *path, const char *base);

char *run_absolute_path(const char *path)
{
	return absolute(path, NULL);
}

static char *absolute(const char *path, const char *base)
{
	struct sx_buf b = SX_BUF_INIT;
	char *cwd = NULL;

	if (path[0] == '/')
		return xstrdup(path);
	if (!base)
		base = cwd = getcwd(NULL, 0);
	sx_buf_addf(&b, "%s/%s", base ? base : ".", path);
	free(cwd);
	return sx_buf_detach(&b, NULL);
}

/* The base URL without user info ("user:key@"), query or fragment: what may be written down. */
static char *public_url(const char *url)
{
	struct sx_buf b = SX_BUF_INIT;
	const char *scheme = strstr(url, "://"), *host, *at, *end;

	host = scheme ? scheme + 3 : url;
	end = host + strcspn(host, "/?#");
	/* the last '@': a password may hold one (as in sx_engine_endpoint_host) */
	for (at = end; at > host && at[-1] != '@'; at--)
		;
	sx_buf_add(&b, url, (size_t)(host - url));
	host = at;
	sx_buf_add(&b, host, strcspn(host, "?#"));
	return sx_buf_detach(&b, NULL);
}

static const char *const perturb_names[] = {
	[SX_PERTURB_CONDITION] = "condition", [SX_PERTURB_PRED] = "pred", [SX_PERTURB_EP_PE] = "ep-pe",
};

const char *sx_perturb_name(int perturb)
{
	return perturb >= 0 && (size_t)perturb < sizeof(perturb_names) / sizeof(perturb_names[0])
		       ? perturb_names[perturb] : "condition";
}

int sx_perturb_from_name(const char *name, int *out)
{
	size_t i;

	for (i = 0; name && i < sizeof(perturb_names) / sizeof(perturb_names[0]); i++)
		if (!strcmp(name, perturb_names[i])) {
			*out = (int)i;
			return 0;
		}
	return -1;
}

/* ---------------------------------------------------------------- to JSON */

static void add_str_or_null(struct sx_json *o, const char *key, const char *s)
{
	if (s)
		sx_json_add_str(o, key, s);
	else
		sx_json_add(o, key, sx_json_new_null());
}

static void add_abs_path(struct sx_json *o, const char *key, const char *path)
{
	char *abs = path ? absolute(path, NULL) : NULL;

	add_str_or_null(o, key, abs);
	free(abs);
}

static struct sx_json *names_json(unsigned bits, int conditions)
{
	struct sx_json *a = sx_json_new_array();
	int i, n = conditions ? SX_COND_COUNT : SX_METHOD_COUNT;

	for (i = 0; i < n; i++)
		if (bits & (1u << i))
			sx_json_push(a, sx_json_new_str(conditions ? sx_cond_name((enum sx_cond)i)
								  : sx_methods[i].name));
	return a;
}

static struct sx_json *generation_json(const struct sx_gen_params *g)
{
	struct sx_json *o = sx_json_new_object();

	sx_json_add_str(o, "model", g->model);
	sx_json_add_num(o, "temperature", g->temperature);
	sx_json_add_num(o, "top_p", g->top_p);
	sx_json_add_num(o, "max_tokens", (double)g->max_tokens);
	sx_json_add_bool(o, "logprobs", g->logprobs);
	sx_json_add_num(o, "top_logprobs", g->top_logprobs);
	sx_json_add_num(o, "seed", (double)g->seed);
	sx_json_add_num(o, "n", (double)g->n);
	add_str_or_null(o, "max_tokens_field", g->max_tokens_field);
	{
		struct sx_json *a = sx_json_add(o, "unset", sx_json_new_array());
		unsigned bit;

		for (bit = 1; bit && sx_gen_omit_name(bit); bit <<= 1)
			if (g->omit & bit)
				sx_json_push(a, sx_json_new_str(sx_gen_omit_name(bit)));
	}
	sx_json_add(o, "params", g->extra ? sx_json_dup(g->extra) : sx_json_new_null());
	return o;
}

/*
 * The --answers files: absolute path and SHA-256 (sha256[i], else the one
 * the configuration expects, else null).
 */
static struct sx_json *answers_json(const struct sx_run_config *cfg,
				    const char (*sha256)[SX_SHA256_HEX_LEN + 1])
{
	struct sx_json *a = sx_json_new_array();
	size_t i;

	for (i = 0; i < cfg->nanswers; i++) {
		struct sx_json *f = sx_json_push(a, sx_json_new_object());

		add_abs_path(f, "path", cfg->answers_path[i]);
		add_str_or_null(f, "sha256", sha256 ? sha256[i] : cfg->answers_sha256[i]);
	}
	return a;
}

static struct sx_json *engine_json(const struct sx_run_config *cfg)
{
	const struct sx_engine_config *e = &cfg->engine;
	struct sx_json *o = sx_json_new_object();
	char *url = e->base_url ? public_url(e->base_url) : NULL;

	add_str_or_null(o, "base_url", url);
	free(url);
	add_str_or_null(o, "host", cfg->endpoint_host);
	sx_json_add_bool(o, "insecure", e->insecure);
	sx_json_add_str(o, "cache_keys", sx_engine_keys_name(e->cache_keys));
	sx_json_add_bool(o, "accept_insecure_cache", e->accept_insecure_cache);
	add_abs_path(o, "cache", e->cache_path);
	sx_json_add_num(o, "concurrency", e->concurrency);
	sx_json_add_num(o, "rpm", e->rpm);
	sx_json_add_num(o, "tpm", e->tpm);
	sx_json_add_num(o, "retries", e->retries);
	sx_json_add_num(o, "timeout_s", e->timeout_s);
	sx_json_add_num(o, "max_requests", (double)e->max_requests);
	sx_json_add_num(o, "max_cost", e->max_cost);
	sx_json_add_num(o, "price_in", e->price_in);
	sx_json_add_num(o, "price_out", e->price_out);
	sx_json_add_str(o, "auth", e->auth == SX_HTTP_AUTH_API_KEY ? "api-key"
				   : e->auth == SX_HTTP_AUTH_NONE ? "none" : "bearer");
	{
		/* header names only: a value may be a secret (--header-env) */
		struct sx_json *a = sx_json_add(o, "headers", sx_json_new_array());
		size_t i;

		for (i = 0; i < e->nheaders; i++)
			sx_json_push(a, sx_json_new_str(e->headers[i].name));
	}
	sx_json_add(o, "answers", answers_json(cfg, NULL));
	return o;
}

static struct sx_json *prompts_json(const struct sx_run_config *cfg,
				    const char *const hashes[SX_COND_COUNT])
{
	struct sx_json *o = sx_json_new_object(), *h;
	int c;

	add_abs_path(o, "dir", cfg->prompts_dir);
	h = sx_json_add(o, "sha256", sx_json_new_object());
	for (c = 0; c < SX_COND_COUNT; c++)
		if (hashes && hashes[c])
			sx_json_add_str(h, sx_cond_name((enum sx_cond)c), hashes[c]);
	return o;
}

/*
 * The --explanations files: absolute path and SHA-256 (from the files read,
 * xp, when given; else the ones the configuration must have, or null).
 */
static struct sx_json *explanations_json(const struct sx_run_config *cfg,
					 const struct sx_explanations *xp)
{
	struct sx_json *a = sx_json_new_array();
	size_t i;

	for (i = 0; i < cfg->nexplanations; i++) {
		struct sx_json *f = sx_json_push(a, sx_json_new_object());

		add_abs_path(f, "path", cfg->explanations[i]);
		add_str_or_null(f, "sha256", xp && i < xp->nfiles ? xp->files[i].sha256
								 : cfg->explanations_sha256[i]);
	}
	return a;
}

/* The configuration of a run as it is being made: the files' hashes as read. */
static struct sx_json *live_config_json(const struct run *run, const char *const *hashes)
{
	struct sx_json *j = sx_run_config_to_json(run->cfg, hashes);

	if (run->cfg->nexplanations)
		sx_json_set(j, "explanations", explanations_json(run->cfg, &run->xp));
	return j;
}

struct sx_json *sx_run_config_to_json(const struct sx_run_config *cfg,
				      const char *const hashes[SX_COND_COUNT])
{
	struct sx_json *o = sx_json_new_object(), *j;
	char seed[32];

	sx_json_add_num(o, "format", CONFIG_FORMAT);
	j = sx_json_add(o, "data", sx_json_new_object());
	add_abs_path(j, "path", cfg->data_path);
	sx_json_add_str(j, "format", sx_data_format_name(cfg->data_opts.format));
	sx_json_add_bool(j, "skip_bad_rows", cfg->data_opts.skip_bad_rows);
	sx_json_add_num(j, "limit", (double)cfg->limit);
	j = sx_json_add(o, "shard", sx_json_new_object());
	sx_json_add_num(j, "index", (double)cfg->shard_index);
	sx_json_add_num(j, "count", (double)cfg->shard_count);
	sx_json_add(o, "conditions", names_json(cfg->conditions, 1));
	sx_json_add(o, "explainers", names_json(cfg->explainers, 0));
	sx_json_add(o, "prompts", prompts_json(cfg, hashes));
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)cfg->seed);
	sx_json_add_str(o, "seed", seed);
	sx_json_add_str(o, "prob", run_prob_name(cfg));
	sx_json_add(o, "generation", generation_json(&cfg->gen));
	sx_json_add(o, "endpoint", engine_json(cfg));
	j = sx_json_add(o, "lime", sx_json_new_object());
	sx_json_add_num(j, "samples", (double)cfg->lime_samples);
	sx_json_add_num(j, "samples_per_token", cfg->lime_factor);
	sx_json_add_num(j, "kernel_width", cfg->lime_kernel_width);
	add_str_or_null(j, "mask", cfg->mask_word);
	sx_json_add_str(o, "perturb_prompt", sx_perturb_name(cfg->perturb_pred));
	sx_json_add_str(o, "compat", sx_compat_name(cfg->compat));
	sx_json_add_bool(o, "metrics", cfg->metrics);
	sx_json_add_num(o, "bootstrap", (double)cfg->bootstrap);
	if (cfg->nexplanations) /* absent without: configurations of earlier runs compare equal */
		sx_json_add(o, "explanations", explanations_json(cfg, NULL));
	return o;
}

/* ---------------------------------------------------------------- from JSON */

static int bad(struct sx_err *err, const char *key, const char *expect)
{
	return sx_err_set(err, SX_EINPUT, "run.json: '%s' is not %s", key, expect);
}

/* A number member into *out; absent or null leaves *out. */
static int get_num(const struct sx_json *o, const char *key, double *out, struct sx_err *err)
{
	const struct sx_json *j = sx_json_get(o, key);

	if (!j || sx_json_type_of(j) == SX_JSON_NULL)
		return 0;
	return sx_json_num(j, out) ? bad(err, key, "a number") : 0;
}

static int get_long(const struct sx_json *o, const char *key, long *out, struct sx_err *err)
{
	double d = (double)*out;

	if (get_num(o, key, &d, err))
		return -1;
	if (d < (double)LONG_MIN || d > (double)LONG_MAX || d != (double)(long)d)
		return bad(err, key, "an integer");
	*out = (long)d;
	return 0;
}

static int get_int(const struct sx_json *o, const char *key, int *out, struct sx_err *err)
{
	long l = *out;

	if (get_long(o, key, &l, err))
		return -1;
	if (l < INT_MIN || l > INT_MAX)
		return bad(err, key, "an int");
	*out = (int)l;
	return 0;
}

static int get_bool(const struct sx_json *o, const char *key, int *out, struct sx_err *err)
{
	const struct sx_json *j = sx_json_get(o, key);

	if (!j)
		return 0;
	return sx_json_bool(j, out) ? bad(err, key, "true or false") : 0;
}

/* A string member, kept with cfg; null sets NULL, absent leaves *out. */
static int get_str(struct sx_run_config *cfg, const struct sx_json *o, const char *key,
		   const char **out, struct sx_err *err)
{
	const struct sx_json *j = sx_json_get(o, key);

	if (!j)
		return 0;
	if (sx_json_type_of(j) == SX_JSON_NULL) {
		*out = NULL;
		return 0;
	}
	if (!sx_json_str(j))
		return bad(err, key, "a string");
	*out = keep(cfg, xstrdup(sx_json_str(j)));
	return 0;
}

/* An array of condition (conditions) or explainer names into bits; absent leaves *bits. */
static int get_names(const struct sx_json *o, const char *key, int conditions, unsigned *bits,
		     struct sx_err *err)
{
	const struct sx_json *a = sx_json_get(o, key), *e;
	unsigned out = 0;

	if (!a)
		return 0;
	if (sx_json_type_of(a) != SX_JSON_ARRAY)
		return bad(err, key, "an array of names");
	for (e = sx_json_child(a); e; e = sx_json_next(e)) {
		const char *s = sx_json_str(e);
		enum sx_cond c;
		enum sx_method m;

		if (!s || (conditions ? sx_cond_from_name(s, &c) : sx_method_from_name(s, &m)))
			return sx_err_set(err, SX_EINPUT, "run.json: '%s' names an unknown %s '%s'",
					  key, conditions ? "condition" : "explainer", s ? s : "?");
		out |= 1u << (conditions ? (int)c : (int)m);
	}
	if (!out)
		return bad(err, key, "a non-empty array of names");
	*bits = out;
	return 0;
}

static int get_seed(const struct sx_json *o, uint64_t *seed, struct sx_err *err)
{
	const char *s = sx_json_get_str(o, "seed");
	char *end;

	if (!s)
		return sx_json_get(o, "seed") ? bad(err, "seed", "a string of digits") : 0;
	errno = 0;
	*seed = strtoull(s, &end, 10);
	if (errno || *end || end == s || *s == '-')
		return bad(err, "seed", "a string of digits");
	return 0;
}

static int get_prob(const struct sx_json *o, struct sx_run_config *cfg, struct sx_err *err)
{
	const char *s = sx_json_get_str(o, "prob");
	long n;

	if (!s)
		return 0;
	if (!strcmp(s, "verbal"))
		cfg->prob = SX_PROB_VERBAL;
	else if (!strcmp(s, "logprob"))
		cfg->prob = SX_PROB_LOGPROB;
	else if (!strncmp(s, "sample:", 7) && !sx_parse_long(s + 7, 2, 128, &n)) {
		cfg->prob = SX_PROB_SAMPLE;
		cfg->gen.n = n;
	} else
		return bad(err, "prob", "verbal, logprob or sample:N");
	return 0;
}

/* perturb_prompt, compat and bootstrap: the same keys in both layouts. */
static int get_protocol(const struct sx_json *o, struct sx_run_config *cfg, struct sx_err *err)
{
	const char *s;

	if (get_seed(o, &cfg->seed, err) || get_prob(o, cfg, err) ||
	    get_names(o, "conditions", 1, &cfg->conditions, err) ||
	    get_names(o, "explainers", 0, &cfg->explainers, err) ||
	    get_long(o, "bootstrap", &cfg->bootstrap, err))
		return -1;
	s = sx_json_get_str(o, "perturb_prompt");
	cfg->perturb_pred = SX_PERTURB_CONDITION;
	if (s && sx_perturb_from_name(s, &cfg->perturb_pred))
		return bad(err, "perturb_prompt", "condition, pred or ep-pe");
	s = sx_json_get_str(o, "compat");
	if (s && sx_compat_from_name(s, &cfg->compat))
		return bad(err, "compat", "none or paper");
	return 0;
}

/* --unset and --param as recorded: the fields left out, the fields set (kept with cfg). */
static int get_request_fields(struct sx_run_config *cfg, const struct sx_json *g,
			      struct sx_err *err)
{
	const struct sx_json *u = sx_json_get(g, "unset"), *e, *params = sx_json_get(g, "params");

	for (e = sx_json_child(u); e; e = sx_json_next(e)) {
		unsigned bit = sx_json_str(e) ? sx_gen_omit_bit(sx_json_str(e)) : 0;

		if (!bit)
			return bad(err, "generation.unset", "a list of temperature, top_p, max_tokens, seed");
		cfg->gen.omit |= bit;
	}
	if (params && sx_json_type_of(params) != SX_JSON_NULL) {
		if (sx_json_type_of(params) != SX_JSON_OBJECT)
			return bad(err, "generation.params", "an object");
		cfg->owned_json = sx_json_dup(params);
		cfg->gen.extra = cfg->owned_json;
	}
	return get_str(cfg, g, "max_tokens_field", &cfg->gen.max_tokens_field, err);
}

static int get_generation(struct sx_run_config *cfg, const struct sx_json *g, struct sx_err *err)
{
	struct sx_gen_params *p = &cfg->gen;

	if (get_request_fields(cfg, g, err))
		return -1;

	return get_str(cfg, g, "model", &p->model, err) ||
	       get_num(g, "temperature", &p->temperature, err) ||
	       get_num(g, "top_p", &p->top_p, err) || get_long(g, "max_tokens", &p->max_tokens, err) ||
	       get_bool(g, "logprobs", &p->logprobs, err) ||
	       get_int(g, "top_logprobs", &p->top_logprobs, err) ||
	       get_long(g, "seed", &p->seed, err) || get_long(g, "n", &p->n, err) ? -1 : 0;
}

/*
 * A run.json from before the cache keys named the endpoint has no
 * "cache_keys": that run looked its answers up by the host alone and took
 * them whatever their TLS verification, and score reads them the same way.
 */
static int get_cache_keys(const struct sx_json *e, struct sx_engine_config *g, struct sx_err *err)
{
	const struct sx_json *j = sx_json_get(e, "cache_keys");

	if (!j) {
		g->cache_keys = SX_ENGINE_KEYS_HOST;
		g->accept_insecure_cache = 1;
		return 0;
	}
	if (sx_engine_keys_from_name(sx_json_str(j), &g->cache_keys))
		return bad(err, "endpoint.cache_keys", "endpoint, endpoint+host or host");
	return get_bool(e, "accept_insecure_cache", &g->accept_insecure_cache, err);
}

/* The --answers files and their SHA-256, which the files must still have. */
static int get_answers(struct sx_run_config *cfg, const struct sx_json *e, struct sx_err *err)
{
	const struct sx_json *a = sx_json_get(e, "answers"), *f;

	if (!a)
		return 0;
	if (sx_json_type_of(a) != SX_JSON_ARRAY || sx_json_len(a) > SX_RUN_MAX_ANSWERS)
		return bad(err, "endpoint.answers", "an array of at most 16 files");
	for (f = sx_json_child(a); f; f = sx_json_next(f)) {
		const char *path = sx_json_get_str(f, "path"), *sha = sx_json_get_str(f, "sha256");

		if (!path || !sha)
			return bad(err, "endpoint.answers", "files with a path and a sha256");
		cfg->answers_path[cfg->nanswers] = keep(cfg, xstrdup(path));
		cfg->answers_sha256[cfg->nanswers++] = keep(cfg, xstrdup(sha));
	}
	return 0;
}

static int get_endpoint(struct sx_run_config *cfg, const struct sx_json *e, struct sx_err *err)
{
	struct sx_engine_config *g = &cfg->engine;

	return get_cache_keys(e, g, err) || get_answers(cfg, e, err) || get_str(cfg, e, "base_url", &g->base_url, err) ||
	       get_str(cfg, e, "host", &cfg->endpoint_host, err) ||
	       get_bool(e, "insecure", &g->insecure, err) ||
	       get_str(cfg, e, "cache", &g->cache_path, err) ||
	       get_int(e, "concurrency", &g->concurrency, err) || get_num(e, "rpm", &g->rpm, err) ||
	       get_num(e, "tpm", &g->tpm, err) || get_int(e, "retries", &g->retries, err) ||
	       get_num(e, "timeout_s", &g->timeout_s, err) ||
	       get_long(e, "max_requests", &g->max_requests, err) ||
	       get_num(e, "max_cost", &g->max_cost, err) || get_num(e, "price_in", &g->price_in, err) ||
	       get_num(e, "price_out", &g->price_out, err) ? -1 : 0;
}

static int get_prompts(struct sx_run_config *cfg, const struct sx_json *p, struct sx_err *err)
{
	const struct sx_json *h = sx_json_get(p, "sha256"), *m;

	if (get_str(cfg, p, "dir", &cfg->prompts_dir, err))
		return -1;
	for (m = sx_json_child(h); m; m = sx_json_next(m)) {
		enum sx_cond c;

		if (sx_cond_from_name(sx_json_key(m), &c) || !sx_json_str(m))
			return bad(err, "prompts.sha256", "an object of condition names and hashes");
		cfg->prompt_hash[c] = keep(cfg, xstrdup(sx_json_str(m)));
	}
	return 0;
}

static int get_lime(struct sx_run_config *cfg, const struct sx_json *l, struct sx_err *err)
{
	return get_long(l, "samples", &cfg->lime_samples, err) ||
	       get_num(l, "samples_per_token", &cfg->lime_factor, err) ||
	       get_num(l, "kernel_width", &cfg->lime_kernel_width, err) ||
	       get_str(cfg, l, "mask", &cfg->mask_word, err) ? -1 : 0;
}

/* The --explanations files as recorded: paths and the SHA-256 each must still have. */
static int get_explanations(struct sx_run_config *cfg, const struct sx_json *a,
			    struct sx_err *err)
{
	const struct sx_json *f;

	if (!a)
		return 0;
	if (sx_json_type_of(a) != SX_JSON_ARRAY || sx_json_len(a) > SX_RUN_MAX_EXPLANATIONS)
		return bad(err, "explanations", "an array of at most 16 files");
	for (f = sx_json_child(a); f; f = sx_json_next(f)) {
		size_t i = cfg->nexplanations;

		if (!sx_json_get_str(f, "path"))
			return bad(err, "explanations[].path", "a string");
		cfg->explanations[i] = keep(cfg, xstrdup(sx_json_get_str(f, "path")));
		if (get_str(cfg, f, "sha256", &cfg->explanations_sha256[i], err))
			return -1;
		cfg->nexplanations++;
	}
	return 0;
}

/*
 * What every configuration of format 1 has recorded from the start: one of
 * them absent (or null) is a damaged run.json, not a default (a score would
 * otherwise replace the run's results with those of another
 * configuration: bootstrap 1000 for the 50 the run used).
 */
static const char *const config_required[] = {
	"data.path", "data.limit", "conditions", "explainers", "prompts", "seed", "prob",
	"generation.model", "generation.temperature", "generation.top_p",
	"generation.max_tokens", "generation.logprobs", "generation.top_logprobs",
	"generation.seed", "generation.n", "endpoint", "lime.samples", "lime.samples_per_token",
	"lime.kernel_width", "perturb_prompt", "compat", "metrics", "bootstrap",
};

static int check_required(const struct sx_json *c, struct sx_err *err)
{
	size_t i;

	for (i = 0; i < sizeof(config_required) / sizeof(config_required[0]); i++) {
		const char *key = config_required[i], *dot = strchr(key, '.');
		const struct sx_json *o = c;
		char parent[32];

		if (dot) {
			snprintf(parent, sizeof(parent), "%.*s", (int)(dot - key), key);
			o = sx_json_get(c, parent);
		}
		o = sx_json_get(o, dot ? dot + 1 : key);
		if (!o || sx_json_type_of(o) == SX_JSON_NULL)
			return sx_err_set(err, SX_EINPUT, "run.json: the configuration has no '%s' "
					  "(the file is damaged); restore it, or run again", key);
	}
	return 0;
}

static int from_config(struct sx_run_config *cfg, const struct sx_json *c, struct sx_err *err)
{
	const struct sx_json *d = sx_json_get(c, "data");
	const char *format = sx_json_get_str(d, "format");
	long version = 0;

	if (get_long(c, "format", &version, err))
		return -1;
	if (version != CONFIG_FORMAT)
		return sx_err_set(err, SX_EINPUT, "run.json: configuration format %ld is not %d "
				  "(written by another version of selfexp)", version, CONFIG_FORMAT);
	if (check_required(c, err))
		return -1;
	if (get_str(cfg, d, "path", &cfg->data_path, err) ||
	    get_bool(d, "skip_bad_rows", &cfg->data_opts.skip_bad_rows, err) ||
	    get_long(d, "limit", &cfg->limit, err))
		return -1;
	if (format && strcmp(format, "auto") &&
	    sx_data_format_from_name(format, &cfg->data_opts.format))
		return bad(err, "data.format", "auto, tsv, jsonl or csv");
	if (get_long(sx_json_get(c, "shard"), "index", &cfg->shard_index, err) ||
	    get_long(sx_json_get(c, "shard"), "count", &cfg->shard_count, err))
		return -1;
	if (cfg->shard_count < 0 || cfg->shard_index < 0 ||
	    (cfg->shard_count && cfg->shard_index >= cfg->shard_count))
		return bad(err, "shard", "an index below a count");
	if (get_protocol(c, cfg, err) || get_prompts(cfg, sx_json_get(c, "prompts"), err) ||
	    get_generation(cfg, sx_json_get(c, "generation"), err) ||
	    get_endpoint(cfg, sx_json_get(c, "endpoint"), err) ||
	    get_lime(cfg, sx_json_get(c, "lime"), err) || get_bool(c, "metrics", &cfg->metrics, err) ||
	    get_explanations(cfg, sx_json_get(c, "explanations"), err))
		return -1;
	return 0;
}

/*
 * The value of option opt in a recorded argv ("--opt VALUE" or
 * "--opt=VALUE"); for a flag (has_arg 0) "" when present. NULL when absent.
 */
static const char *argv_option(const struct sx_json *argv, const char *opt, int has_arg)
{
	size_t i, n = sx_json_len(argv), len = strlen(opt);
	const char *found = NULL;

	for (i = 1; i < n; i++) {
		const char *a = sx_json_str(sx_json_at(argv, i));

		if (!a || strncmp(a, opt, len))
			continue;
		if (!has_arg && !a[len])
			found = "";
		else if (has_arg && a[len] == '=')
			found = a + len + 1;
		else if (has_arg && !a[len] && i + 1 < n)
			found = sx_json_str(sx_json_at(argv, ++i));
	}
	return found;
}

/* A path recorded relative to the run's working directory, made absolute (kept with cfg). */
static const char *old_path(struct sx_run_config *cfg, const char *path, const char *cwd)
{
	return path ? keep(cfg, absolute(path, cwd)) : NULL;
}

/* What the argv of a 0.1.0 run.json says that its fields do not. */
static int old_argv(struct sx_run_config *cfg, const struct sx_json *run, const char *cwd,
		    struct sx_err *err)
{
	const struct sx_json *argv = sx_json_get(run, "argv");
	const char *format = argv_option(argv, "--format", 1);

	if (format && sx_data_format_from_name(format, &cfg->data_opts.format))
		return bad(err, "argv --format", "tsv, jsonl or csv");
	cfg->data_opts.skip_bad_rows = argv_option(argv, "--skip-bad-rows", 0) != NULL;
	cfg->metrics = argv_option(argv, "--no-metrics", 0) == NULL;
	cfg->prompts_dir = old_path(cfg, argv_option(argv, "--prompts", 1), cwd);
	cfg->engine.cache_path = old_path(cfg, argv_option(argv, "--cache", 1), cwd);
	return 0;
}

/* A run.json of selfexp 0.1.0: the top-level fields, and the argv for the rest. */
static int from_old(struct sx_run_config *cfg, const struct sx_json *run, struct sx_err *err)
{
	const struct sx_json *data = sx_json_get(run, "data"), *model = sx_json_get(run, "model");
	const struct sx_json *lime = sx_json_get(run, "lime"), *t;
	const char *cwd = sx_json_get_str(run, "cwd"), *mask = NULL;
	struct sx_buf url = SX_BUF_INIT;
	int c;

	if (!cwd || !sx_json_get_str(data, "path"))
		return sx_err_set(err, SX_EINPUT, "run.json has neither a configuration nor the "
				  "recorded data path and working directory of selfexp 0.1.0");
	cfg->data_path = old_path(cfg, sx_json_get_str(data, "path"), cwd);
	if (get_long(data, "reviews", &cfg->limit, err) || get_protocol(run, cfg, err) ||
	    get_str(cfg, model, "name", &cfg->gen.model, err) ||
	    get_str(cfg, model, "endpoint_host", &cfg->endpoint_host, err) ||
	    get_num(model, "temperature", &cfg->gen.temperature, err) ||
	    get_num(model, "top_p", &cfg->gen.top_p, err) ||
	    get_long(model, "max_tokens", &cfg->gen.max_tokens, err) ||
	    get_bool(model, "insecure", &cfg->engine.insecure, err) ||
	    get_long(lime, "samples", &cfg->lime_samples, err) ||
	    get_num(lime, "samples_per_token", &cfg->lime_factor, err) ||
	    get_num(lime, "kernel_width", &cfg->lime_kernel_width, err) ||
	    get_str(cfg, lime, "mask", &mask, err) || old_argv(cfg, run, cwd, err))
		return -1;
	cfg->mask_word = mask && strcmp(mask, "delete") ? mask : NULL;
	if (cfg->prob == SX_PROB_LOGPROB) {
		cfg->gen.logprobs = 1;
		cfg->gen.top_logprobs = 5;
	}
	/*
	 * The cache keys of 0.1.0 hold the host only (SX_ENGINE_KEYS_HOST), so
	 * any URL of that host finds the answers; and it took them whatever
	 * their TLS verification.
	 */
	cfg->engine.cache_keys = SX_ENGINE_KEYS_HOST;
	cfg->engine.accept_insecure_cache = 1;
	if (cfg->endpoint_host && *cfg->endpoint_host) {
		sx_buf_addf(&url, "http://%s/v1", cfg->endpoint_host);
		cfg->engine.base_url = keep(cfg, sx_buf_detach(&url, NULL));
	}
	t = sx_json_get(run, "templates");
	for (c = 0; c < SX_COND_COUNT; c++)
		if (sx_json_get_str(t, sx_cond_name((enum sx_cond)c)))
			cfg->prompt_hash[c] =
				keep(cfg, xstrdup(sx_json_get_str(t, sx_cond_name((enum sx_cond)c))));
	return 0;
}

int sx_run_config_from_json(struct sx_run_config *cfg, const struct sx_json *run,
			    struct sx_err *err)
{
	const struct sx_json *c = sx_json_get(run, "config");
	int rc;

	sx_run_config_init(cfg);
	rc = c ? from_config(cfg, c, err) : from_old(cfg, run, err);
	if (rc)
		sx_run_config_release(cfg);
	return rc ? SX_EINPUT : 0;
}

/* ---------------------------------------------------------------- run.json */

static void add_time(struct sx_json *o, const char *key, time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sx_json_add_str(o, key, buf);
}

/* The command line, recorded for the reader (nothing replays it). */
static void add_command(struct sx_json *o, const struct sx_run_config *cfg)
{
	struct sx_json *a;
	char *cwd = getcwd(NULL, 0);
	int i;

	sx_json_add_str(o, "command", cfg->argv_line ? cfg->argv_line : "");
	a = sx_json_add(o, "argv", sx_json_new_array());
	for (i = 0; i < cfg->argc; i++) {
		const char *arg = cfg->argv[i];

		/* argv[0] is "selfexp: run" for getopt's messages; recorded as "run" */
		if (!i && !strncmp(arg, "selfexp: ", 9))
			arg += 9;
		sx_json_push(a, sx_json_new_str(arg));
	}
	sx_json_add_str(o, "cwd", cwd ? cwd : ".");
	free(cwd);
}

static struct sx_json *counts_json(const struct run *run, const struct sx_engine_stats *st)
{
	struct sx_json *j = sx_json_new_object();

	sx_json_add_num(j, "naive_requests", (double)run->naive);
	sx_json_add_num(j, "requests", (double)st->requests);
	sx_json_add_num(j, "distinct_requests", (double)st->unique);
	sx_json_add_num(j, "recorded", (double)st->recorded);
	sx_json_add_num(j, "cache_hits", (double)st->cache_hits);
	sx_json_add_num(j, "sent", (double)st->sent);
	sx_json_add_num(j, "attempts", (double)st->attempts);
	sx_json_add_num(j, "retries", (double)st->retries);
	sx_json_add_num(j, "failed", (double)(st->failed - run->probes_failed));
	sx_json_add_num(j, "skipped", (double)st->skipped);
	sx_json_add_num(j, "prompt_tokens", (double)st->prompt_tokens);
	sx_json_add_num(j, "completion_tokens", (double)st->completion_tokens);
	sx_json_add_num(j, "reasoning_tokens", (double)st->reasoning_tokens);
	if (st->usage_estimated) /* absent otherwise: run.json as before */
		sx_json_add_num(j, "usage_estimated", (double)st->usage_estimated);
	sx_json_add_num(j, "cost_usd", st->cost);
	if (st->nserved) {
		/* the "model" the answers name: an API's snapshot, or a gateway's other model */
		struct sx_json *m = sx_json_add(j, "models_served", sx_json_new_object());
		size_t i;

		for (i = 0; i < st->nserved; i++)
			sx_json_add_num(m, st->served[i].name, (double)st->served[i].answers);
	}
	if (st->served_other)
		sx_json_add_num(j, "models_served_other", (double)st->served_other);
	if (st->served_unnamed)
		sx_json_add_num(j, "models_unnamed", (double)st->served_unnamed);
	if (run->cfg->prob == SX_PROB_SAMPLE) {
		sx_json_add_str(j, "samples", run->samples_mode == RUN_SAMPLES_SEPARATE ? "separate"
					      : run->samples_mode == RUN_SAMPLES_NATIVE ? "n" : "unknown");
		sx_json_add_num(j, "sample_requests", (double)run->sample_requests);
		sx_json_add_num(j, "sample_probes_failed", (double)run->probes_failed);
	}
	if (run->cfg->prob == SX_PROB_LOGPROB)
		sx_json_add_num(j, "logprob_other_label_assumed", (double)run->logprob_assumed);
	if (run->cfg->compat == SX_COMPAT_PAPER) {
		struct sx_json *s = sx_json_add(j, "paper_substituted", sx_json_new_object());

		sx_json_add_num(s, "elicit", (double)run->substituted[0]);
		sx_json_add_num(s, "perturbed", (double)run->substituted[1]);
	}
	return j;
}

/*
 * What every process of the run sent and spent (the ledger's earlier
 * processes plus this one); "counts" is this process alone.
 */
static struct sx_json *totals_json(const struct run *run, const struct sx_engine_stats *st)
{
	const struct run_ledger *l = &run->ledger;
	struct sx_json *j = sx_json_new_object();

	sx_json_add_num(j, "processes", (double)(l->processes + 1));
	sx_json_add_num(j, "sent", (double)(l->before.sent + st->sent));
	sx_json_add_num(j, "attempts", (double)(l->before.attempts + st->attempts));
	sx_json_add_num(j, "prompt_tokens", (double)(l->before.prompt_tokens + st->prompt_tokens));
	sx_json_add_num(j, "completion_tokens",
			(double)(l->before.completion_tokens + st->completion_tokens));
	sx_json_add_num(j, "cost_usd", l->before.cost + st->cost);
	if (l->unreadable)
		sx_json_add_num(j, "unreadable_ledger_lines", (double)l->unreadable);
	if (l->write_failed)
		sx_json_add_num(j, "ledger_write_failures", (double)l->write_failed);
	return j;
}

/* Failed requests by stage and condition, and their reasons by stage with counts. */
static struct sx_json *failures_json(const struct run *run)
{
	struct sx_json *o = sx_json_new_object();
	int s, c;
	size_t i;

	sx_json_add_num(o, "requests", (double)run_failed_total(run));
	for (s = 0; s < RUN_NSTAGES; s++) {
		struct sx_json *st = sx_json_add(o, run_stage_names[s], sx_json_new_object());
		struct sx_json *by = sx_json_add(st, "by_condition", sx_json_new_object());
		struct sx_json *why = sx_json_add(st, "reasons", sx_json_new_object());

		for (c = 0; c < SX_COND_COUNT; c++)
			if (run_has_cond(run, (enum sx_cond)c))
				sx_json_add_num(by, sx_cond_name((enum sx_cond)c), (double)run->failed[s][c]);
		for (i = 0; i < run->nreasons[s]; i++)
			sx_json_add_num(why, run->reason_text[s][i], (double)run->reason_count[s][i]);
		if (run->cfg->engine.offline)
			sx_json_add_num(st, "offline_misses", (double)run->nmisses[s]);
	}
	return o;
}

static struct sx_json *model_json(const struct sx_run_config *cfg)
{
	struct sx_json *j = sx_json_new_object();

	sx_json_add_str(j, "name", cfg->gen.model);
	sx_json_add_str(j, "endpoint_host", cfg->endpoint_host ? cfg->endpoint_host : "");
	sx_json_add_num(j, "temperature", cfg->gen.temperature);
	sx_json_add_num(j, "top_p", cfg->gen.top_p);
	sx_json_add_num(j, "max_tokens", (double)cfg->gen.max_tokens);
	sx_json_add_bool(j, "insecure", cfg->engine.insecure);
	return j;
}

static struct sx_json *lime_json(const struct sx_run_config *cfg)
{
	struct sx_json *j = sx_json_new_object();

	if (cfg->lime_samples)
		sx_json_add_num(j, "samples", (double)cfg->lime_samples);
	else
		sx_json_add_num(j, "samples_per_token", cfg->lime_factor);
	sx_json_add_num(j, "kernel_width", cfg->lime_kernel_width);
	sx_json_add_str(j, "mask", cfg->mask_word ? cfg->mask_word : "delete");
	return j;
}

/* What the --explanations files held: per file, and per method. */
static struct sx_json *files_json(const struct run *run)
{
	struct sx_json *o = sx_json_new_object(), *a, *m;
	size_t i;
	int c;

	a = sx_json_add(o, "files", sx_json_new_array());
	for (i = 0; i < run->xp.nfiles; i++) {
		struct sx_json *f = sx_json_push(a, sx_json_new_object());

		add_abs_path(f, "path", run->xp.files[i].path);
		sx_json_add_str(f, "sha256", run->xp.files[i].sha256);
		sx_json_add_num(f, "explanations", (double)run->xp.files[i].lines);
		sx_json_add_num(f, "unused", (double)run->xp.files[i].unused);
	}
	m = sx_json_add(o, "methods", sx_json_new_object());
	for (i = 0; i < run->xp.nmethods; i++) {
		const struct sx_expl_method *xm = &run->xp.methods[i];
		struct sx_json *j = sx_json_add(m, xm->name, sx_json_new_object()), *cs;

		sx_json_add_str(j, "kind", xm->ranking ? "ranking" : "values");
		sx_json_add_num(j, "explanations", (double)xm->entries);
		cs = sx_json_add(j, "conditions", sx_json_new_array());
		for (c = 0; c < SX_COND_COUNT; c++)
			if ((xm->conditions & (1u << c)) && run_has_cond(run, (enum sx_cond)c))
				sx_json_push(cs, sx_json_new_str(sx_cond_name((enum sx_cond)c)));
	}
	return o;
}

struct sx_json *run_json_rescored(const struct run *run, const struct sx_engine_stats *st,
				  const struct sx_json *old, int complete)
{
	const struct sx_json *before = sx_json_get(old, "complete");
	struct sx_json *o, *s;
	int was = 0;

	if (!sx_json_bool(before, &was) && was)
		return NULL;
	o = sx_json_dup(old);
	sx_json_set(o, "complete", sx_json_new_bool(complete));
	sx_json_set(o, "failures", failures_json(run));
	s = sx_json_new_object();
	sx_json_add_str(s, "selfexp_version", SX_VERSION);
	add_time(s, "finished", time(NULL));
	/* what run.json said before: false, or null when it did not say (damaged) */
	sx_json_add(s, "complete_before", before && sx_json_type_of(before) == SX_JSON_BOOL
					  ? sx_json_dup(before) : sx_json_new_null());
	sx_json_add(s, "counts", counts_json(run, st));
	sx_json_set(o, "scored", s);
	return o;
}

/*
 * The top-level fields are those of 0.1.0, which table, report and compare
 * read; "config" is the whole configuration, which score reads back.
 */
struct sx_json *run_json(const struct run *run, const struct sx_engine_stats *st, int complete)
{
	const struct sx_run_config *cfg = run->cfg;
	const char *hashes[SX_COND_COUNT] = { NULL };
	struct sx_json *o = sx_json_new_object(), *j;
	char seed[32];
	size_t i;
	int c;

	sx_json_add_str(o, "selfexp_version", SX_VERSION);
	add_command(o, cfg);
	sx_json_add_bool(o, "complete", complete);
	add_time(o, "started", run->started);
	add_time(o, "finished", time(NULL));
	j = sx_json_add(o, "data", sx_json_new_object());
	sx_json_add_str(j, "path", cfg->data_path);
	sx_json_add_num(j, "reviews", (double)run->nrev);
	sx_json_add_num(j, "skipped_rows", (double)run->ds.skipped);
	if (run->data_sha256[0])
		sx_json_add_str(j, "sha256", run->data_sha256);
	sx_json_add(o, "model", model_json(cfg));
	/* the endpoint without credentials or query, and the models it lists (GET /models) */
	j = sx_json_add(o, "server", sx_json_new_object());
	{
		char *url = cfg->engine.base_url ? public_url(cfg->engine.base_url) : NULL;
		struct sx_json *ids = run->server_models ? sx_json_parse(run->server_models,
									   strlen(run->server_models), NULL)
							 : NULL;

		add_str_or_null(j, "base_url", url);
		free(url);
		sx_json_add(j, "models", ids ? ids : sx_json_new_null());
	}
	sx_json_add(o, "conditions", names_json(cfg->conditions, 1));
	j = sx_json_add(o, "templates", sx_json_new_object());
	for (c = 0; c < SX_COND_COUNT; c++)
		if (run->have_prompt[c]) {
			hashes[c] = run->prompts[c].hash;
			sx_json_add_str(j, sx_cond_name((enum sx_cond)c), hashes[c]);
		}
	sx_json_add(o, "explainers", names_json(cfg->explainers, 0));
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)cfg->seed);
	sx_json_add_str(o, "seed", seed);
	sx_json_add_str(o, "prob", run_prob_name(cfg));
	sx_json_add_str(o, "perturb_prompt", sx_perturb_name(cfg->perturb_pred));
	sx_json_add_str(o, "compat", sx_compat_name(cfg->compat));
	sx_json_add(o, "lime", lime_json(cfg));
	sx_json_add_num(o, "bootstrap", (double)cfg->bootstrap);
	sx_json_add(o, "counts", counts_json(run, st));
	sx_json_add(o, "totals", totals_json(run, st));
	sx_json_add(o, "failures", failures_json(run));
	if (cfg->nexplanations)
		sx_json_add(o, "explanations", files_json(run));
	j = run->engine ? sx_engine_batches_json(run->engine) : NULL;
	if (j) {
		struct sx_json *b = sx_json_add(o, "batches", sx_json_new_object());

		sx_json_add_str(b, "mode", cfg->engine.batch == SX_ENGINE_BATCH_DIR ? "dir" : "api");
		if (cfg->engine.batch_dir)
			sx_json_add_str(b, "dir", cfg->engine.batch_dir);
		sx_json_add_num(b, "discount", cfg->engine.batch_discount);
		sx_json_add(b, "list", j);
	}
	j = sx_json_add(o, "answers", answers_json(cfg, (const char (*)[SX_SHA256_HEX_LEN + 1])run->answers_sha256));
	for (i = 0; run->answers && i < cfg->nanswers; i++) {
		/* what each file answered (not in the configuration: it depends on the answers) */
		size_t n, unused;

		sx_answers_usage(run->answers, i, &n, &unused);
		sx_json_add_num(sx_json_at(j, i), "answers", (double)n);
		sx_json_add_num(sx_json_at(j, i), "unused", (double)unused);
	}
	j = sx_json_add(o, "config", live_config_json(run, hashes));
	sx_json_set(sx_json_get(j, "endpoint"), "answers",
		    answers_json(cfg, (const char (*)[SX_SHA256_HEX_LEN + 1])run->answers_sha256));
	return o;
}

/* ---------------------------------------------------------------- an existing run */

/* The configuration's JSON as compared between runs: without what does not change results. */
static struct sx_json *comparable(const struct sx_run_config *cfg, const char *const *hashes)
{
	struct sx_json *j = sx_run_config_to_json(cfg, hashes);
	struct sx_json *prompts = sx_json_get(j, "prompts");

	sx_json_set(j, "endpoint", sx_json_new_null());
	if (prompts)
		sx_json_set(prompts, "dir", sx_json_new_null());
	return j;
}

/* "key: A there, B here" for every member whose value differs, objects compared member by member. */
static void differences(const struct sx_json *old, const struct sx_json *now, const char *prefix,
			struct sx_buf *out)
{
	const struct sx_json *m;

	for (m = sx_json_child(now); m; m = sx_json_next(m)) {
		const struct sx_json *o = sx_json_get(old, sx_json_key(m));
		char *a, *b, name[128];

		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", sx_json_key(m));
		if (o && sx_json_type_of(o) == SX_JSON_OBJECT && sx_json_type_of(m) == SX_JSON_OBJECT) {
			differences(o, m, name, out);
			continue;
		}
		a = o ? sx_json_print(o, 0) : NULL;
		b = sx_json_print(m, 0);
		if (!a || strcmp(a, b))
			sx_buf_addf(out, "%s%s: %s there, %s here", out->len ? "; " : "", name,
				    a ? a : "absent", b);
		free(a);
		free(b);
	}
}

void sx_run_config_diff(const struct sx_run_config *a, const struct sx_run_config *b,
			int ignore_shard, struct sx_buf *out)
{
	struct sx_json *ja = comparable(a, (const char *const *)a->prompt_hash);
	struct sx_json *jb = comparable(b, (const char *const *)b->prompt_hash);

	if (ignore_shard) {
		sx_json_set(ja, "shard", sx_json_new_null());
		sx_json_set(jb, "shard", sx_json_new_null());
	}
	differences(ja, jb, "", out);
	sx_json_free(ja);
	sx_json_free(jb);
}

void run_config_fingerprint(const struct run *run, char out[65])
{
	const char *hashes[SX_COND_COUNT] = { NULL };
	struct sx_json *j;
	char *text;
	int c;

	for (c = 0; c < SX_COND_COUNT; c++)
		hashes[c] = run->have_prompt[c] ? run->prompts[c].hash : NULL;
	j = comparable(run->cfg, hashes);
	text = sx_json_print(j, 0);
	sx_sha256_hex(text, strlen(text), out);
	free(text);
	sx_json_free(j);
}

/*
 * DIR without run.json: a killed run of selfexp leaves its ledger there (and
 * nothing else), so result files without a ledger are someone else's, which
 * the run would replace; and DIR must be a directory.
 */
static int check_foreign(const struct sx_run_config *cfg, struct sx_err *err)
{
	static const char *const written[] = { SX_RUNDIR_SUMMARY_JSON, SX_RUNDIR_RECORDS_JSONL,
					       "misses.jsonl" };
	struct sx_buf path = SX_BUF_INIT, found = SX_BUF_INIT;
	struct stat st;
	size_t i;
	int rc = 0;

	if (stat(cfg->out_dir, &st))
		return 0; /* made by the run */
	if (!S_ISDIR(st.st_mode))
		return sx_err_set(err, SX_EINPUT, "--out '%s' is not a directory; choose another "
				  "--out", cfg->out_dir);
	sx_buf_addf(&path, "%s/" RUN_LEDGER_FILE, cfg->out_dir);
	if (!access(path.buf, F_OK))
		goto out;
	for (i = 0; i < sizeof(written) / sizeof(written[0]); i++) {
		sx_buf_reset(&path);
		sx_buf_addf(&path, "%s/%s", cfg->out_dir, written[i]);
		if (!access(path.buf, F_OK))
			sx_buf_addf(&found, "%s%s", found.len ? ", " : "", written[i]);
	}
	if (found.len)
		rc = sx_err_set(err, SX_EINPUT, "'%s' holds %s but no run.json: not a run of "
				"selfexp, and the run would replace them; choose another --out, or "
				"pass --force to replace them", cfg->out_dir, found.buf);
out:
	sx_buf_release(&path);
	sx_buf_release(&found);
	return rc;
}

int run_check_existing(const struct run *run, struct sx_err *err)
{
	const struct sx_run_config *cfg = run->cfg;
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_run_config old;
	struct sx_json *a = NULL, *b = NULL;
	struct sx_buf diff = SX_BUF_INIT, path = SX_BUF_INIT;
	const char *hashes[SX_COND_COUNT] = { NULL };
	int c, rc = 0;

	sx_buf_addf(&path, "%s/" SX_RUNDIR_RUN_JSON, cfg->out_dir);
	if (cfg->force || cfg->rescore || cfg->dry_run)
		goto out;
	if (access(path.buf, F_OK)) {
		rc = check_foreign(cfg, err);
		goto out;
	}
	if (sx_rundir_load(&rd, cfg->out_dir, 0, err) ||
	    sx_run_config_from_json(&old, rd.run, err)) {
		sx_err_prefix(err, "'%s' holds a run directory that cannot be read back (pass "
			      "--force to replace it)", cfg->out_dir);
		rc = SX_EINPUT;
		goto out;
	}
	for (c = 0; c < SX_COND_COUNT; c++)
		hashes[c] = run->have_prompt[c] ? run->prompts[c].hash : NULL;
	a = comparable(&old, (const char *const *)old.prompt_hash);
	b = comparable(cfg, hashes);
	if (cfg->nexplanations)
		sx_json_set(b, "explanations", explanations_json(cfg, &run->xp));
	/* a 0.1.0 run.json does not record these: take them as equal */
	if (!sx_json_get(rd.run, "config")) {
		sx_json_set(a, "data", sx_json_dup(sx_json_get(b, "data")));
		sx_json_set(a, "prompts", sx_json_dup(sx_json_get(b, "prompts")));
	}
	differences(a, b, "", &diff);
	if (diff.len)
		rc = sx_err_set(err, SX_EINPUT, "'%s' holds a run of another configuration (%s); "
				"pass --force to replace it, or choose another --out", cfg->out_dir,
				diff.buf);
	sx_run_config_release(&old);
out:
	sx_json_free(a);
	sx_json_free(b);
	sx_rundir_release(&rd);
	sx_buf_release(&diff);
	sx_buf_release(&path);
	return rc;
}

int run_check_cache_path(const struct sx_run_config *cfg, struct sx_err *err)
{
	static const char *const written[] = { SX_RUNDIR_RUN_JSON, SX_RUNDIR_SUMMARY_JSON,
					       SX_RUNDIR_RECORDS_JSONL, "misses.jsonl",
					       RUN_LEDGER_FILE };
	char *cache, *dir;
	size_t i, n;
	int rc = 0;

	if (!cfg->engine.cache_path || !cfg->out_dir)
		return 0;
	cache = absolute(cfg->engine.cache_path, NULL);
	dir = absolute(cfg->out_dir, NULL);
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	for (i = 0; i < sizeof(written) / sizeof(written[0]) && !rc; i++) {
		size_t w = strlen(written[i]);

		/* the file itself, something inside it, or its SQLite sidecars (-wal, -shm) */
		if (!strncmp(cache, dir, n) && cache[n] == '/' && !strncmp(cache + n + 1, written[i], w) &&
		    (!cache[n + 1 + w] || cache[n + 1 + w] == '/' || cache[n + 1 + w] == '-'))
			rc = sx_err_set(err, SX_EINPUT, "the cache '%s' is a file the run writes "
					"('%s/%s'); choose a cache outside those files, e.g. --cache "
					"%s/cache.sqlite", cfg->engine.cache_path, cfg->out_dir, written[i],
					cfg->out_dir);
	}
	free(cache);
	free(dir);
	return rc;
}
