/*
 * The simulated model's weights: a bag-of-words logistic model (sim.h).
 * Words live in one arena, looked up through an open-addressing hash table
 * keyed by the ASCII-lowercased word, so a lookup allocates nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/file.h"
#include "selfexp/num.h"
#include "selfexp/sim.h"

/* Words longer than this are refused in a weights file. */
#define SIM_WORD_MAX 256

struct sim_entry {
	size_t off; /* into words; SIZE_MAX = empty slot */
	size_t len;
	double w;
};

struct sx_sim_model {
	double bias;
	char *words; /* owned arena */
	size_t nwords;
	struct sim_entry *slots; /* owned; mask + 1 slots */
	size_t mask;
};

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* FNV-1a over the lowercased bytes. */
static uint64_t word_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= lower((unsigned char)s[i]);
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static int word_eq_lower(const char *stored, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (stored[i] != (char)lower((unsigned char)s[i]))
			return 0;
	return 1;
}

static struct sim_entry *find_slot(const struct sx_sim_model *m, const char *s, size_t len)
{
	size_t i = (size_t)word_hash(s, len) & m->mask;

	for (;;) {
		struct sim_entry *e = &m->slots[i];
		if (e->off == SIZE_MAX)
			return e;
		if (e->len == len && word_eq_lower(m->words + e->off, s, len))
			return e;
		i = (i + 1) & m->mask;
	}
}

void sx_sim_model_free(struct sx_sim_model *m)
{
	if (!m)
		return;
	free(m->words);
	free(m->slots);
	free(m);
}

static size_t count_lines(const char *text, size_t len)
{
	size_t n = 1, i;

	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

int sx_sim_model_parse(const char *text, size_t len, const char *name, struct sx_sim_model **out,
		       struct sx_err *err)
{
	struct sx_sim_model *m = xcalloc(1, sizeof(*m));
	size_t pos = 0, lineno = 0, cap, i, arena = 0;
	int have_bias = 0, rc = SX_EINPUT;
	char num[64];

	*out = NULL;
	cap = 16;
	while (cap < 2 * count_lines(text, len))
		cap *= 2;
	m->mask = cap - 1;
	m->slots = xmalloc(sx_size_mul(cap, sizeof(*m->slots)));
	for (i = 0; i < cap; i++)
		m->slots[i].off = SIZE_MAX;
	m->words = xmalloc(len + 1);

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		const char *tab;
		struct sim_entry *e;
		double w;

		pos += ll + (nl != NULL);
		lineno++;
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (!have_bias) {
			if (!ll || line[0] == '#')
				continue;
			if (ll < 6 || memcmp(line, "bias ", 5) || ll - 5 >= sizeof(num)) {
				sx_err_set(err, SX_EINPUT, "%s:%zu: expected 'bias <number>' after the comments",
					   name, lineno);
				goto out;
			}
			memcpy(num, line + 5, ll - 5);
			num[ll - 5] = '\0';
			if (sx_parse_double(num, &m->bias) || !isfinite(m->bias)) {
				sx_err_set(err, SX_EINPUT, "%s:%zu: invalid bias '%s'", name, lineno, num);
				goto out;
			}
			have_bias = 1;
			continue;
		}
		if (!ll)
			continue;
		tab = memchr(line, '\t', ll);
		if (!tab || tab == line || (size_t)(tab - line) > SIM_WORD_MAX ||
		    (size_t)(line + ll - tab - 1) >= sizeof(num)) {
			sx_err_set(err, SX_EINPUT, "%s:%zu: expected 'word<TAB>weight'", name, lineno);
			goto out;
		}
		memcpy(num, tab + 1, (size_t)(line + ll - tab - 1));
		num[line + ll - tab - 1] = '\0';
		if (sx_parse_double(num, &w) || !isfinite(w)) {
			sx_err_set(err, SX_EINPUT, "%s:%zu: invalid weight '%s'", name, lineno, num);
			goto out;
		}
		e = find_slot(m, line, (size_t)(tab - line));
		if (e->off != SIZE_MAX) {
			sx_err_set(err, SX_EINPUT, "%s:%zu: word '%.*s' listed twice", name, lineno,
				   (int)(tab - line), line);
			goto out;
		}
		e->off = arena;
		e->len = (size_t)(tab - line);
		e->w = w;
		for (i = 0; i < e->len; i++)
			m->words[arena++] = (char)lower((unsigned char)line[i]);
		m->nwords++;
	}
	if (!have_bias) {
		sx_err_set(err, SX_EINPUT, "%s: no 'bias' line; is this a sim weights file?", name);
		goto out;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	sx_sim_model_free(m);
	return rc;
}

int sx_sim_model_load(const char *path, struct sx_sim_model **out, struct sx_err *err)
{
	struct sx_buf b = SX_BUF_INIT;
	int rc;

	*out = NULL;
	rc = sx_file_read(path, SX_SIM_WEIGHTS_MAX_BYTES, &b, err);
	if (!rc)
		rc = sx_sim_model_parse(b.buf, b.len, path, out, err);
	sx_buf_release(&b);
	return rc;
}

size_t sx_sim_model_size(const struct sx_sim_model *m)
{
	return m->nwords;
}

double sx_sim_model_bias(const struct sx_sim_model *m)
{
	return m->bias;
}

double sx_sim_model_weight(const struct sx_sim_model *m, const char *word, size_t len)
{
	const struct sim_entry *e = find_slot(m, word, len);

	return e->off == SIZE_MAX ? 0.0 : e->w;
}

void sx_sim_model_contributions(const struct sx_sim_model *m, char *const *tokens, size_t n,
				double *contrib)
{
	size_t i;

	for (i = 0; i < n; i++)
		contrib[i] = sx_sim_model_weight(m, tokens[i], strlen(tokens[i]));
}

double sx_sim_model_logit(const struct sx_sim_model *m, char *const *tokens, size_t n)
{
	double z = m->bias;
	size_t i;

	for (i = 0; i < n; i++)
		z += sx_sim_model_weight(m, tokens[i], strlen(tokens[i]));
	return z;
}

double sx_sim_model_p_pos(const struct sx_sim_model *m, char *const *tokens, size_t n)
{
	double z = sx_sim_model_logit(m, tokens, n);

	return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}
