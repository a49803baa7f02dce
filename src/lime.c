/*
 * LIME on token positions: perturbation sampling and the weighted ridge fit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/lime.h"

unsigned char *sx_lime_sample(struct sx_rng *rng, size_t d, size_t n_samples)
{
	unsigned char *masks = xmalloc(sx_size_mul(n_samples ? n_samples : 1, d ? d : 1));
	size_t *sizes = xmalloc(sx_size_mul(n_samples ? n_samples : 1, sizeof(*sizes)));
	size_t *perm = xmalloc(sx_size_mul(d ? d : 1, sizeof(*perm)));
	size_t i, j;

	if (n_samples > 0 && d > 0)
		memset(masks, 1, n_samples * d);
	if (d == 0)
		goto out;
	for (i = 1; i < n_samples; i++)
		sizes[i] = 1 + sx_rng_below(rng, d);
	for (i = 1; i < n_samples; i++) {
		unsigned char *row = masks + i * d;

		for (j = 0; j < d; j++)
			perm[j] = j;
		/* The first sizes[i] slots of a partial Fisher-Yates shuffle. */
		for (j = 0; j < sizes[i]; j++) {
			size_t k = j + sx_rng_below(rng, d - j), t = perm[j];

			perm[j] = perm[k];
			perm[k] = t;
			row[perm[j]] = 0;
		}
	}
out:
	free(sizes);
	free(perm);
	return masks;
}

void sx_lime_fit_release(struct sx_lime_fit *fit)
{
	free(fit->coef);
	fit->coef = NULL;
	fit->d = 0;
	fit->intercept = fit->score = fit->local_pred = 0;
}

int sx_lime_fit(const unsigned char *masks, const double *p, size_t n_samples, size_t d,
		double kernel_width, double alpha, struct sx_lime_fit *out, struct sx_err *err)
{
	struct sx_ridge ridge = SX_RIDGE_INIT;
	double *X = NULL, *w = NULL, *ones = NULL;
	size_t i, j;
	int ret;

	out->d = 0;
	out->coef = NULL;
	out->intercept = out->score = out->local_pred = 0;
	if (n_samples == 0 || d == 0) {
		ret = sx_err_set(err, SX_EINPUT, "lime: nothing to fit (%zu samples, %zu tokens)",
				 n_samples, d);
		goto out;
	}
	if (!(kernel_width > 0)) {
		ret = sx_err_set(err, SX_EINPUT, "lime: kernel width '%g' must be > 0", kernel_width);
		goto out;
	}
	X = xmalloc(sx_size_mul(sx_size_mul(n_samples, d), sizeof(*X)));
	w = xmalloc(sx_size_mul(n_samples, sizeof(*w)));
	for (i = 0; i < n_samples; i++) {
		size_t kept = 0;
		double dist;

		for (j = 0; j < d; j++) {
			X[i * d + j] = masks[i * d + j] ? 1.0 : 0.0;
			kept += masks[i * d + j] ? 1 : 0;
		}
		/* cos(mask, ones) = kept / sqrt(kept * d) = sqrt(kept / d). */
		dist = kept ? 100.0 * (1.0 - sqrt((double)kept / (double)d)) : 100.0;
		w[i] = sqrt(exp(-(dist * dist) / (kernel_width * kernel_width)));
	}
	ret = sx_stats_ridge_fit(X, n_samples, d, p, w, alpha, &ridge, err);
	if (ret < 0) {
		sx_err_prefix(err, "lime");
		goto out;
	}
	/* Rounding noise is no importance: it would become a ranking (lime.h). */
	for (j = 0; j < d; j++)
		if (fabs(ridge.coef[j]) < SX_LIME_EPS)
			ridge.coef[j] = 0.0;
	ones = xmalloc(sx_size_mul(d, sizeof(*ones)));
	for (j = 0; j < d; j++)
		ones[j] = 1.0;
	out->score = sx_stats_ridge_score(&ridge, X, n_samples, p, w);
	out->local_pred = sx_stats_ridge_predict(&ridge, ones);
	out->d = d;
	out->intercept = ridge.intercept;
	out->coef = ridge.coef; /* ownership moves to out */
	ridge.coef = NULL;
	ret = 0;
out:
	sx_stats_ridge_release(&ridge);
	free(X);
	free(w);
	free(ones);
	return ret;
}

/* ==== The paper's features (split on \W+) ============================== */

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

void sx_lime_words_split(struct sx_lime_words *w, const char *text, size_t len)
{
	size_t i = 0, alloc = 0;

	memset(w, 0, sizeof(*w));
	w->text = xstrndup(len ? text : "", len);
	w->len = len;
	while (i < len) {
		size_t s;

		while (i < len && !is_word_byte((unsigned char)text[i]))
			i++;
		if (i == len)
			break;
		s = i;
		while (i < len && is_word_byte((unsigned char)text[i]))
			i++;
		if (w->nwords == alloc) {
			alloc = alloc ? sx_size_mul(alloc, 2) : 16;
			w->start = xrealloc(w->start, sx_size_mul(alloc, sizeof(*w->start)));
			w->wlen = xrealloc(w->wlen, sx_size_mul(alloc, sizeof(*w->wlen)));
		}
		w->start[w->nwords] = s;
		w->wlen[w->nwords] = i - s;
		w->nwords++;
	}
}

void sx_lime_words_release(struct sx_lime_words *w)
{
	free(w->text);
	free(w->start);
	free(w->wlen);
	memset(w, 0, sizeof(*w));
}

void sx_lime_words_text(const struct sx_lime_words *w, const unsigned char *keep,
			const char *mask, struct sx_buf *out)
{
	size_t f, at = 0;

	sx_buf_reset(out);
	for (f = 0; f < w->nwords; f++) {
		sx_buf_add(out, w->text + at, w->start[f] - at);
		if (keep[f])
			sx_buf_add(out, w->text + w->start[f], w->wlen[f]);
		else
			sx_buf_adds(out, mask);
		at = w->start[f] + w->wlen[f];
	}
	sx_buf_add(out, w->text + at, w->len - at);
}

struct by_mag {
	double mag;
	size_t f;
};

static int cmp_by_mag(const void *pa, const void *pb)
{
	const struct by_mag *a = pa, *b = pb;

	if (a->mag > b->mag)
		return -1;
	if (a->mag < b->mag)
		return 1;
	return a->f < b->f ? -1 : a->f > b->f;
}

void sx_lime_words_to_tokens(const struct sx_lime_words *w, const double *coef,
			     char *const *tokens, size_t n, double *value, unsigned char *has)
{
	size_t d = w->nwords, i, k;
	struct by_mag *order = xmalloc(sx_size_mul(d ? d : 1, sizeof(*order)));
	unsigned char *taken = xcalloc(d ? d : 1, 1);

	for (k = 0; k < d; k++) {
		order[k].mag = fabs(coef[k]);
		order[k].f = k;
	}
	qsort(order, d, sizeof(*order), cmp_by_mag);
	for (i = 0; i < n; i++) {
		size_t tlen = strlen(tokens[i]);

		value[i] = 0;
		has[i] = 0;
		for (k = 0; k < d; k++) {
			size_t f = order[k].f;

			if (taken[f] || w->wlen[f] != tlen ||
			    memcmp(w->text + w->start[f], tokens[i], tlen))
				continue;
			taken[f] = 1;
			value[i] = coef[f];
			has[i] = 1;
			break;
		}
	}
	free(order);
	free(taken);
}
