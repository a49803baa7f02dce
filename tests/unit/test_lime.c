#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/lime.h"
#include "selfexp/metrics.h"
#include "selfexp/stats.h"

#define FIXTURE_CAP (64u * 1024u * 1024u)
#define TOL 1e-9

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static double fixture_num(const struct sx_json *j, const char *key)
{
	double v = NAN;

	assert_int_equal(sx_json_get_num(j, key, &v), 0);
	return v;
}

/* The larger of *maxerr and e; a NaN e sticks, so that "maxerr <= TOL" fails on it. */
static void track(double *maxerr, double e)
{
	if (isnan(*maxerr))
		return;
	if (!(e <= *maxerr)) /* a larger e, or a NaN */
		*maxerr = e;
}

static double check_fixture(const char *path)
{
	struct sx_buf text = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_json *root, *jm, *jp, *exp, *jc;
	struct sx_lime_fit fit = SX_LIME_FIT_INIT;
	unsigned char *masks;
	double *p, maxerr = 0;
	size_t n, d, i, j;

	assert_int_equal(sx_file_read(path, FIXTURE_CAP, &text, &err), 0);
	root = sx_json_parse(text.buf, text.len, &err);
	assert_non_null(root);
	jm = sx_json_get(root, "masks");
	jp = sx_json_get(root, "p_positive");
	exp = sx_json_get(root, "expected");
	assert_non_null(jm);
	assert_non_null(jp);
	assert_non_null(exp);
	n = sx_json_len(jm);
	d = sx_json_len(sx_json_get(root, "tokens"));
	assert_true(n > 0 && d > 0);
	assert_int_equal(sx_json_len(jp), n);
	masks = xmalloc(n * d);
	p = xmalloc(n * sizeof(*p));
	for (i = 0; i < n; i++) {
		struct sx_json *row = sx_json_at(jm, i);

		assert_int_equal(sx_json_len(row), d);
		for (j = 0; j < d; j++) {
			double v = -1;

			assert_int_equal(sx_json_num(sx_json_at(row, j), &v), 0);
			masks[i * d + j] = v > 0.5;
		}
		assert_int_equal(sx_json_num(sx_json_at(jp, i), &p[i]), 0);
	}
	assert_int_equal(sx_lime_fit(masks, p, n, d, fixture_num(root, "kernel_width"),
				     fixture_num(root, "ridge_alpha"), &fit, &err),
			 0);
	assert_int_equal(fit.d, d);
	track(&maxerr, fabs(fit.intercept - fixture_num(exp, "intercept")));
	track(&maxerr, fabs(fit.score - fixture_num(exp, "score")));
	track(&maxerr, fabs(fit.local_pred - fixture_num(exp, "local_pred")));
	jc = sx_json_get(exp, "coefficients");
	assert_int_equal(sx_json_len(jc), d);
	for (j = 0; j < d; j++) {
		double c = NAN;

		assert_int_equal(sx_json_num(sx_json_at(jc, j), &c), 0);
		track(&maxerr, fabs(fit.coef[j] - c));
	}
	print_message("# %s: %zu samples, %zu tokens, max abs error %.3g\n", path, n, d, maxerr);
	assert_true(maxerr <= TOL); /* false for a NaN anywhere (track) */
	sx_lime_fit_release(&fit);
	free(masks);
	free(p);
	sx_json_free(root);
	sx_buf_release(&text);
	return maxerr;
}

static void test_fixtures(void **state)
{
	const char *shared = getenv("SELFEXP_SHARED");
	struct sx_buf dir = SX_BUF_INIT, path = SX_BUF_INIT;
	char **names = NULL;
	size_t nr = 0, alloc = 0, i;
	double maxerr = 0;
	struct dirent *de;
	DIR *dh;

	(void)state;
	/* as the Makefile and tests/cli/lib.sh: ../shared beside the checkout (SX_HOME) */
	if (!shared || !*shared)
		shared = SX_HOME "/../shared";
	sx_buf_addf(&dir, "%s/fixtures/lime", shared);
	dh = opendir(dir.buf);
	if (!dh) {
		print_message("# skip: no lime fixtures at '%s' (set SELFEXP_SHARED)\n", dir.buf);
		sx_buf_release(&dir);
		skip();
	}
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (len > 5 && !strcmp(de->d_name + len - 5, ".json")) {
			SX_GROW(names, alloc, nr + 1);
			names[nr++] = xstrdup(de->d_name);
		}
	}
	closedir(dh);
	assert_true(nr > 0);
	qsort(names, nr, sizeof(*names), cmp_str);
	for (i = 0; i < nr; i++) {
		double e;

		sx_buf_reset(&path);
		sx_buf_addf(&path, "%s/%s", dir.buf, names[i]);
		e = check_fixture(path.buf);
		track(&maxerr, e);
		free(names[i]);
	}
	print_message("# %zu lime fixtures, overall max abs error %.3g\n", nr, maxerr);
	free(names);
	sx_buf_release(&dir);
	sx_buf_release(&path);
}

/* A hand case: with one token and weights all equal the fit is closed-form. */
static void test_fit_errors(void **state)
{
	struct sx_err err = SX_ERR_INIT;
	struct sx_lime_fit fit = SX_LIME_FIT_INIT;
	unsigned char m[2] = { 1, 0 };
	double p[2] = { 0.9, 0.4 };

	(void)state;
	assert_true(sx_lime_fit(m, p, 0, 1, 25, 1, &fit, &err) < 0);
	assert_true(sx_lime_fit(m, p, 2, 1, 0, 1, &fit, &err) < 0);
	/*
	 * Samples (x=1, y=0.9, dist 0, w=1) and (x=0, y=0.4, dist 100,
	 * w=sqrt(exp(-16))=exp(-8)). mean_w x = 1/(1+e), e = exp(-8).
	 * Sxx = sum w (x - xm)^2 = e/(1+e), Sxy = 0.5 e/(1+e).
	 * beta = Sxy / (Sxx + 1); intercept = ym - xm beta.
	 */
	assert_int_equal(sx_lime_fit(m, p, 2, 1, 25, 1, &fit, &err), 0);
	{
		double e = exp(-8.0), sxx = e / (1 + e), beta = 0.5 * sxx / (sxx + 1);
		double xm = 1 / (1 + e), ym = (0.9 + 0.4 * e) / (1 + e);

		assert_true(fabs(fit.coef[0] - beta) < 1e-12);
		assert_true(fabs(fit.intercept - (ym - xm * beta)) < 1e-12);
		assert_true(fabs(fit.local_pred - (ym - xm * beta + beta)) < 1e-12);
	}
	sx_lime_fit_release(&fit);
	sx_lime_fit_release(&fit); /* released twice is fine */
}

/*
 * Constant outputs (a model that ignores the review): every coefficient is
 * exactly 0, so the ranking is by position, and R^2 is sklearn's 1.0 for a
 * zero denominator with exact predictions, as lime reports. 0.73's weighted
 * mean is not exact in floating point, 0.5's is: both used to go wrong
 * (coefficients ~1e-31 of mixed sign and R^2 0; R^2 NaN).
 */
static void test_fit_constant(void **state)
{
	static const double consts[] = { 0.73, 0.5, 0.1, 1.0 / 3 };
	const size_t d = 6, ns = 60;
	struct sx_rng *r = sx_rng_new(5);
	unsigned char *m = sx_lime_sample(r, d, ns);
	struct sx_err err = SX_ERR_INIT;
	double p[60];
	size_t order[6], i, j, k;

	(void)state;
	for (k = 0; k < sizeof(consts) / sizeof(consts[0]); k++) {
		struct sx_lime_fit fit = SX_LIME_FIT_INIT;

		for (i = 0; i < ns; i++)
			p[i] = consts[k];
		assert_int_equal(sx_lime_fit(m, p, ns, d, 25, SX_LIME_ALPHA, &fit, &err), 0);
		for (j = 0; j < d; j++)
			assert_true(fit.coef[j] == 0 && !signbit(fit.coef[j]));
		assert_true(fit.intercept == consts[k]);
		assert_true(fit.local_pred == consts[k]);
		assert_true(fit.score == 1.0);
		sx_metrics_rank(fit.coef, d, order);
		for (j = 0; j < d; j++)
			assert_int_equal(order[j], j); /* all tied: by position */
		sx_lime_fit_release(&fit);
	}
	/*
	 * Outputs that differ in their last bit only: what is left of a
	 * coefficient is below SX_LIME_EPS and becomes 0; a real effect of 1e-9
	 * (far below anything a model's probability means) is kept.
	 */
	for (i = 0; i < ns; i++)
		p[i] = m[i * d] ? nextafter(0.73, 1) : 0.73;
	{
		struct sx_lime_fit fit = SX_LIME_FIT_INIT;

		assert_int_equal(sx_lime_fit(m, p, ns, d, 25, SX_LIME_ALPHA, &fit, &err), 0);
		for (j = 0; j < d; j++)
			assert_true(fit.coef[j] == 0);
		assert_false(isnan(fit.score));
		sx_lime_fit_release(&fit);
		for (i = 0; i < ns; i++)
			p[i] = 0.73 + (m[i * d] ? 1e-9 : 0);
		assert_int_equal(sx_lime_fit(m, p, ns, d, 25, SX_LIME_ALPHA, &fit, &err), 0);
		assert_true(fit.coef[0] > SX_LIME_EPS);
		sx_lime_fit_release(&fit);
	}
	free(m);
	sx_rng_free(r);
}

static void test_sampler(void **state)
{
	const size_t d = 7, ns = 20000;
	struct sx_rng *r1 = sx_rng_new(42), *r2 = sx_rng_new(42), *r3 = sx_rng_new(43);
	unsigned char *a = sx_lime_sample(r1, d, ns);
	unsigned char *b = sx_lime_sample(r2, d, ns);
	unsigned char *c = sx_lime_sample(r3, d, ns);
	size_t count[8] = { 0 }, pos_del[7] = { 0 }, i, j;
	double chi2 = 0, expct;

	(void)state;
	for (j = 0; j < d; j++)
		assert_int_equal(a[j], 1);
	assert_memory_equal(a, b, ns * d);            /* deterministic per seed */
	assert_true(memcmp(a, c, ns * d) != 0);       /* different per seed */
	for (i = 1; i < ns; i++) {
		size_t del = 0;

		for (j = 0; j < d; j++) {
			assert_true(a[i * d + j] <= 1);
			if (!a[i * d + j]) {
				del++;
				pos_del[j]++;
			}
		}
		assert_true(del >= 1 && del <= d);        /* sizes in 1..d */
		count[del]++;
	}
	/*
	 * Sizes uniform on 1..7: chi-square with 6 degrees of freedom; the 0.999
	 * quantile is 22.46, so this fails by chance once in a thousand seeds
	 * (and this seed is fixed).
	 */
	expct = (double)(ns - 1) / (double)d;
	for (i = 1; i <= d; i++)
		chi2 += ((double)count[i] - expct) * ((double)count[i] - expct) / expct;
	assert_true(chi2 < 22.46);
	/* Every position is deleted about equally often: E = (ns-1) * 4/7. */
	for (j = 0; j < d; j++)
		assert_true(fabs((double)pos_del[j] / ((double)(ns - 1) * 4.0 / 7.0) - 1) < 0.03);
	free(a);
	free(b);
	free(c);
	sx_rng_free(r1);
	sx_rng_free(r2);
	sx_rng_free(r3);
}

static void test_sampler_one_token(void **state)
{
	struct sx_rng *r = sx_rng_new(sx_seed_derive(1, "lime", "review-1"));
	unsigned char *m = sx_lime_sample(r, 1, 5);

	(void)state;
	/* d = 1: sample 0 keeps the token, every other sample deletes it. */
	assert_int_equal(m[0], 1);
	assert_int_equal(m[1], 0);
	assert_int_equal(m[4], 0);
	free(m);
	sx_rng_free(r);
}

/* ---- The paper's features (--compat paper) ------------------------------ */

static void test_words_split(void **state)
{
	const char *text = "it 's a well-made film .";
	static const char *const words[] = { "it", "s", "a", "well", "made", "film" };
	const unsigned char keep[6] = { 1, 0, 1, 1, 1, 0 };
	struct sx_lime_words w = SX_LIME_WORDS_INIT;
	struct sx_buf b = SX_BUF_INIT;
	size_t f;

	(void)state;
	/* \W+ cuts "'s" to "s" and "well-made" in two; "." is no feature */
	sx_lime_words_split(&w, text, strlen(text));
	assert_int_equal(w.nwords, 6);
	for (f = 0; f < 6; f++) {
		assert_int_equal(w.wlen[f], strlen(words[f]));
		assert_memory_equal(w.text + w.start[f], words[f], w.wlen[f]);
	}
	/* removed features become the mask; what lies between them stays */
	sx_lime_words_text(&w, keep, SX_LIME_PAPER_MASK, &b);
	assert_string_equal(b.buf, "it 'UNKWORDZ a well-made UNKWORDZ .");
	sx_lime_words_release(&w);

	/* only punctuation: no feature at all */
	sx_lime_words_split(&w, ", . --", 6);
	assert_int_equal(w.nwords, 0);
	sx_lime_words_text(&w, keep, SX_LIME_PAPER_MASK, &b);
	assert_string_equal(b.buf, ", . --");
	sx_lime_words_release(&w);

	/* UTF-8 letters are word characters: "café" is one feature */
	sx_lime_words_split(&w, "caf\xc3\xa9 !", 7);
	assert_int_equal(w.nwords, 1);
	assert_int_equal(w.wlen[0], 5);
	sx_lime_words_release(&w);
	sx_buf_release(&b);
}

static void test_words_to_tokens(void **state)
{
	const char *text = "the film , the film n't";
	char t_the[] = "the", t_film[] = "film", t_comma[] = ",", t_nt[] = "n't";
	char *tokens[6] = { t_the, t_film, t_comma, t_the, t_film, t_nt };
	/* features: the(0) film(1) the(2) film(3) n(4) t(5) */
	const double coef[6] = { 0.1, -0.5, 0.3, 0.2, 0.9, -0.05 };
	struct sx_lime_words w = SX_LIME_WORDS_INIT;
	double value[6];
	unsigned char has[6];

	(void)state;
	sx_lime_words_split(&w, text, strlen(text));
	assert_int_equal(w.nwords, 6);
	sx_lime_words_to_tokens(&w, coef, tokens, 6, value, has);
	/*
	 * |coef| order: n (0.9), film1 (0.5), the2 (0.3), film3 (0.2), the0 (0.1), t (0.05).
	 * "the" -> first "the" in that order: the2 = 0.3; "film" -> film1 = -0.5;
	 * "," -> none; "the" -> the0 = 0.1; "film" -> film3 = 0.2; "n't" -> none
	 * (no feature is the whole token): repeated words take weights in |coef|
	 * order, not by place.
	 */
	assert_true(has[0] && has[1] && !has[2] && has[3] && has[4] && !has[5]);
	assert_true(fabs(value[0] - 0.3) < 1e-15);
	assert_true(fabs(value[1] + 0.5) < 1e-15);
	assert_true(value[2] == 0);
	assert_true(fabs(value[3] - 0.1) < 1e-15);
	assert_true(fabs(value[4] - 0.2) < 1e-15);
	assert_true(value[5] == 0);
	sx_lime_words_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fit_errors),
		cmocka_unit_test(test_fit_constant),
		cmocka_unit_test(test_sampler),
		cmocka_unit_test(test_sampler_one_token),
		cmocka_unit_test(test_words_split),
		cmocka_unit_test(test_words_to_tokens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
