#ifndef SELFEXP_LIME_H
#define SELFEXP_LIME_H
/*
 * LIME on token positions (LimeTextExplainer with bow=False), split in the
 * two halves a run needs: sx_lime_sample() draws the perturbations
 * (keep-masks) before any model query, sx_lime_fit() turns the model's
 * P(positive) for each mask into importances afterwards. The sample count
 * (10 x d here) and the kernel width come from the run configuration
 * (struct sx_run_config lime_factor, lime_samples, lime_kernel_width:
 * 10 per token and 25 by default, as in the paper).
 *
 *	struct sx_rng *rng = sx_rng_new(sx_seed_derive(run_seed, "lime", review_id));
 *	unsigned char *masks = sx_lime_sample(rng, d, 10 * d);
 *	... query the model on each mask, fill p[0..10d) ...
 *	struct sx_lime_fit fit = SX_LIME_FIT_INIT;
 *	sx_lime_fit(masks, p, 10 * d, d, kernel_width, SX_LIME_ALPHA, &fit, &err);
 *	... fit.coef[i] is the importance of token i (positive = toward positive) ...
 *	sx_lime_fit_release(&fit);
 */
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"
#include "selfexp/stats.h"

#define SX_LIME_ALPHA 1.0
/*
 * A coefficient with |value| below this is 0, and so ties with the others at
 * 0 in every ranking (broken by position, DESIGN.md section 7) instead of
 * ordering tokens by rounding noise of mixed sign. P(positive) is a
 * probability, so no real effect is that small, while the noise of a fit on
 * outputs that differ only in their last bits is ~1e-16 and below (exactly
 * constant outputs fit exactly flat: stats.h sx_stats_ridge_fit). lime's own
 * fixtures are matched to 1e-9 either way.
 */
#define SX_LIME_EPS 1e-12

/*
 * n_samples keep-masks over d tokens, row-major n_samples x d bytes, 1 = kept,
 * 0 = deleted; returned to the caller to free(). Row 0 is all ones; each other
 * row draws a size s uniformly from 1..d and deletes s distinct positions
 * chosen uniformly without replacement (partial Fisher-Yates). All sizes are
 * drawn first, then the positions, as lime does. d >= 1, n_samples >= 1.
 */
unsigned char *sx_lime_sample(struct sx_rng *rng, size_t d, size_t n_samples);

struct sx_lime_fit {
	size_t d;
	double intercept;
	double *coef;      /* owned, d values: importance of each token position */
	double score;      /* weighted R^2 of the surrogate on the samples; constant p: 1 (sklearn's
			    * convention, as lime: stats.h sx_stats_ridge_score) */
	double local_pred; /* surrogate's prediction for the all-ones mask */
};

#define SX_LIME_FIT_INIT { .d = 0, .intercept = 0.0, .coef = NULL, .score = 0.0, .local_pred = 0.0 }

/*
 * Fit the weighted ridge surrogate: distance_i = 100 x cosine distance between
 * mask i and all-ones (100 for an all-zero mask), weight_i =
 * sqrt(exp(-distance_i^2 / kernel_width^2)), ridge (alpha, intercept) of p on
 * the masks. p[i] is the model's P(positive) for mask i. Coefficients with
 * |value| < SX_LIME_EPS are set to 0 before the score and local_pred are
 * computed from them. Returns 0 or a negative SX_E* with a message in err;
 * out is left released on error.
 */
int sx_lime_fit(const unsigned char *masks, const double *p, size_t n_samples, size_t d,
		double kernel_width, double alpha, struct sx_lime_fit *out, struct sx_err *err);
void sx_lime_fit_release(struct sx_lime_fit *fit);

/*
 * The features of the paper's LIME (`--compat paper`, docs/paper-compat.md):
 * LimeTextExplainer's default split_expression r'\W+' with bow=False. The
 * review text (tokens joined by single spaces) is cut into maximal runs of
 * word characters, the features, and the runs between them, which are never
 * perturbed. A word character is an ASCII letter, digit or '_', or any byte
 * >= 0x80 (Python's \w on the UTF-8 letters of SST; non-letter symbols above
 * ASCII count as word characters here, a documented approximation).
 * "it 's a well-made film ." has the features it, s, a, well, made, film.
 */
struct sx_lime_words {
	char *text;       /* owned: the text the offsets index */
	size_t len;
	size_t nwords;
	size_t *start;    /* owned, nwords: byte offset of each feature */
	size_t *wlen;     /* owned, nwords: its length */
};

#define SX_LIME_WORDS_INIT { .text = NULL, .len = 0, .nwords = 0, .start = NULL, .wlen = NULL }
/* lime's replacement of a removed feature when bow=False. */
#define SX_LIME_PAPER_MASK "UNKWORDZ"

void sx_lime_words_split(struct sx_lime_words *w, const char *text, size_t len);
void sx_lime_words_release(struct sx_lime_words *w);
/*
 * The text with feature f kept where keep[f], else replaced by mask (lime's
 * inverse_removing); everything between the features stays as it is.
 */
void sx_lime_words_text(const struct sx_lime_words *w, const unsigned char *keep,
			const char *mask, struct sx_buf *out);
/*
 * The paper's mapping of feature weights back to the n whitespace tokens:
 * features in descending |coef| (lime's as_list order; ties by position),
 * each token takes the weight of the first not yet taken feature whose text
 * equals the whole token, else has no value (has[i] = 0, value[i] = 0): a
 * token with a non-word character in it ("n't", ",", "well-made") never gets
 * one, and a repeated word takes the weights in |coef| order, not by place.
 */
void sx_lime_words_to_tokens(const struct sx_lime_words *w, const double *coef,
			     char *const *tokens, size_t n, double *value, unsigned char *has);

#endif
