/*
 * What the simulated model says: the condition read from the system prompt,
 * the review read from its wrapper, the self-explanation under a mode, and
 * the answer text in a style (sim.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/num.h"
#include "selfexp/sim.h"

/* ---- names -------------------------------------------------------------- */

static const char *const explain_names[SX_SIM_EXPLAIN_COUNT] = {
	"faithful", "noisy", "coarse", "random", "inverted",
};

static const char *const style_names[SX_SIM_STYLE_COUNT] = {
	"clean", "fenced", "prose", "echo", "unquoted", "truncated", "mixed",
};

const char *sx_sim_explain_name(enum sx_sim_explain e)
{
	return (unsigned)e < SX_SIM_EXPLAIN_COUNT ? explain_names[e] : "?";
}

int sx_sim_explain_from_name(const char *name, enum sx_sim_explain *out)
{
	int i;

	for (i = 0; i < SX_SIM_EXPLAIN_COUNT; i++)
		if (!strcmp(name, explain_names[i])) {
			*out = (enum sx_sim_explain)i;
			return 0;
		}
	return -1;
}

int sx_sim_explain_parse(const char *text, enum sx_sim_explain *mode, double *sigma)
{
	const char *colon = strchr(text, ':');
	char name[16];
	size_t len = colon ? (size_t)(colon - text) : strlen(text);

	if (len >= sizeof name)
		return -1;
	memcpy(name, text, len);
	name[len] = 0;
	if (sx_sim_explain_from_name(name, mode))
		return -1;
	*sigma = 0.0;
	if (*mode != SX_SIM_EXPLAIN_NOISY)
		return colon ? -1 : 0;
	return colon && !sx_parse_double(colon + 1, sigma) && *sigma >= 0 ? 0 : -1;
}

int sx_sim_preset(const char *name, struct sx_sim_config *cfg)
{
	if (!strcmp(name, "plain")) {
		cfg->explain = SX_SIM_EXPLAIN_FAITHFUL;
		cfg->noise_sigma = 0.0;
		cfg->pe_set = 0;
		cfg->overconfidence = 0.0;
		return 0;
	}
	if (!strcmp(name, "literature")) {
		cfg->explain = SX_SIM_EXPLAIN_FAITHFUL;
		cfg->noise_sigma = 0.0;
		cfg->pe_set = 1;
		cfg->pe_explain = SX_SIM_EXPLAIN_NOISY;
		cfg->pe_noise_sigma = 0.5;
		cfg->overconfidence = 0.0;
		return 0;
	}
	return -1;
}

int sx_sim_style_from_name(const char *name, enum sx_sim_style *out)
{
	int i;

	for (i = 0; i < SX_SIM_STYLE_COUNT; i++)
		if (!strcmp(name, style_names[i])) {
			*out = (enum sx_sim_style)i;
			return 0;
		}
	return -1;
}

/* ---- randomness: splitmix64 streams ------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* An independent stream of rng, numbered k. */
static uint64_t substream(uint64_t rng, uint64_t k)
{
	uint64_t s = rng ^ (k * 0xD1B54A32D192ED03ULL);

	return splitmix(&s);
}

static double uniform01(uint64_t *s)
{
	return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
}

static double gaussian(uint64_t *s)
{
	double u = uniform01(s), v = uniform01(s);

	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ---- reading the request ------------------------------------------------ */

static const char IMP_FMT[] = "(<word or punctuation>, <float importance>)";
static const char TOPK_FMT[] = "[<word or punctuation>";
static const char PRED_FMT[] = "(<int classification>, <float confidence>)";
static const char EXAMPLE[] = "Example output:";

static const char *find(const char *h, size_t hl, const char *needle)
{
	return memmem(h, hl, needle, strlen(needle));
}

int sx_sim_detect_cond(const char *sys, size_t len, enum sx_cond *out)
{
	const char *region = sys, *ex, *p, *list, *next;
	size_t rl = len;
	int imp = find(sys, len, IMP_FMT) != NULL;
	int topk = !imp && find(sys, len, TOPK_FMT) != NULL;

	*out = SX_COND_PRED;
	if (!find(sys, len, PRED_FMT))
		return -1;
	/* the last "Example output:" that shows the prediction decides the order */
	for (ex = find(sys, len, EXAMPLE); ex; ex = next) {
		size_t off = (size_t)(ex - sys) + strlen(EXAMPLE);
		if (find(ex, len - (size_t)(ex - sys), PRED_FMT)) {
			region = sys + off;
			rl = len - off;
		}
		next = find(sys + off, len - off, EXAMPLE);
	}
	if (!imp && !topk)
		return 0;
	p = find(region, rl, PRED_FMT);
	list = imp ? find(region, rl, "[(<word or punctuation>") : find(region, rl, TOPK_FMT);
	if (imp && !list)
		list = find(region, rl, IMP_FMT);
	if (!list) { /* the example does not show the list: the first mentions decide */
		region = sys;
		rl = len;
		p = find(region, rl, PRED_FMT);
		list = find(region, rl, imp ? IMP_FMT : TOPK_FMT);
	}
	if (list && list < p)
		*out = imp ? SX_COND_EP : SX_COND_EP_TOPK;
	else
		*out = imp ? SX_COND_PE : SX_COND_PE_TOPK;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int sx_sim_find_review(const char *text, size_t len, const char **start, size_t *rlen)
{
	const char *open = find(text, len, "<review>"), *b, *e, *c1, *c2;

	if (!open) {
		*start = text;
		*rlen = len;
		return -1;
	}
	b = open + strlen("<review>");
	/*
	 * The closing tag is the last one: the wrapper is the prompt's, and a
	 * review that itself contains "<review>" (or instructions) is all inside.
	 */
	c1 = NULL;
	for (c2 = b; (c2 = find(c2, len - (size_t)(c2 - text), "<review>")); c2 += strlen("<review>"))
		c1 = c2;
	e = c1;
	for (c2 = b; (c2 = find(c2, len - (size_t)(c2 - text), "</review>")); c2 += strlen("</review>"))
		if (!e || c2 > e)
			e = c2;
	if (!e)
		e = text + len;
	while (b < e && is_space(*b))
		b++;
	while (e > b && is_space(e[-1]))
		e--;
	*start = b;
	*rlen = (size_t)(e - b);
	return 0;
}

/* ---- self-explanations -------------------------------------------------- */

static double round3(double x)
{
	return round(x * 1000.0) / 1000.0 + 0.0; /* + 0.0 turns -0 into 0 */
}

static double clip1(double x)
{
	return x < -1.0 ? -1.0 : x > 1.0 ? 1.0 : x;
}

void sx_sim_explain_values(const struct sx_sim_model *m, enum sx_sim_explain mode, double sigma,
			   char *const *tokens, size_t n, uint64_t rng, double *v)
{
	double max = 0.0;
	uint64_t s = rng;
	size_t i;

	sx_sim_model_contributions(m, tokens, n, v);
	for (i = 0; i < n; i++)
		if (fabs(v[i]) > max)
			max = fabs(v[i]);
	for (i = 0; i < n; i++) {
		double f = max > 0 ? v[i] / max : 0.0;
		switch (mode) {
		case SX_SIM_EXPLAIN_NOISY:
			v[i] = round3(clip1(f + sigma * gaussian(&s)));
			break;
		case SX_SIM_EXPLAIN_COARSE:
			v[i] = round(f * 2.0) / 2.0 + 0.0;
			break;
		case SX_SIM_EXPLAIN_RANDOM:
			v[i] = round3(clip1(2.0 * uniform01(&s) - 1.0));
			break;
		case SX_SIM_EXPLAIN_INVERTED:
			v[i] = round3(-f);
			break;
		default:
			v[i] = round3(f);
		}
	}
}

/* ---- writing the answer ------------------------------------------------- */

/* A word as Python's repr() writes it: '...' unless it holds ' and no ". */
static void add_pyrepr(struct sx_buf *b, const char *s)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';

	sx_buf_addch(b, q);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\\' || c == (unsigned char)q) {
			sx_buf_addch(b, '\\');
			sx_buf_addch(b, c);
		} else if (c == '\n') {
			sx_buf_adds(b, "\\n");
		} else if (c == '\t') {
			sx_buf_adds(b, "\\t");
		} else if (c == '\r') {
			sx_buf_adds(b, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			sx_buf_addf(b, "\\x%02x", c);
		} else {
			sx_buf_addch(b, c);
		}
	}
	sx_buf_addch(b, q);
}

static void add_word(struct sx_buf *b, const char *w, int quoted)
{
	if (quoted)
		add_pyrepr(b, w);
	else
		sx_buf_adds(b, w);
}

static void importance_list(struct sx_buf *b, char *const *tokens, size_t n, const double *v,
			    int quoted)
{
	size_t i;

	sx_buf_addch(b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			sx_buf_adds(b, ", ");
		sx_buf_addch(b, '(');
		add_word(b, tokens[i], quoted);
		sx_buf_addf(b, ", %.3f)", v[i]);
	}
	sx_buf_addch(b, ']');
}

struct ranked {
	double key;
	size_t pos;
};

static int ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void topk_list(struct sx_buf *b, char *const *tokens, size_t n, const double *v, int label,
		      int quoted)
{
	size_t k = sx_topk_k(n), i;
	struct ranked *r = xmalloc(sx_size_mul(n ? n : 1, sizeof(*r)));

	for (i = 0; i < n; i++) {
		r[i].key = label ? v[i] : -v[i];
		r[i].pos = i;
	}
	qsort(r, n, sizeof(*r), ranked_cmp);
	if (k > n)
		k = n;
	sx_buf_addch(b, '[');
	for (i = 0; i < k; i++) {
		if (i)
			sx_buf_adds(b, ", ");
		add_word(b, tokens[r[i].pos], quoted);
	}
	sx_buf_addch(b, ']');
	free(r);
}

/* The parts of an answer and where its pieces go. */
struct parts {
	struct sx_buf list; /* importance or top-k list; empty for pred */
	struct sx_buf pair; /* "(label, confidence)" */
	int explain_first;
	int has_list;
	int topk;
	int label;
};

static void add_pair(struct sx_sim_answer *a, const struct parts *p)
{
	a->label_off = a->text.len + 1;
	sx_buf_add(&a->text, p->pair.buf, p->pair.len);
}

static void add_list(struct sx_sim_answer *a, const struct parts *p)
{
	sx_buf_add(&a->text, p->list.buf, p->list.len);
}

static void compose_simple(struct sx_sim_answer *a, const struct parts *p, const char *before,
			   const char *after, const char *sep, const char *list_echo,
			   const char *pair_echo)
{
	int i;

	for (i = 0; i < 2; i++) {
		int list_now = (i == 0) == p->explain_first;
		if (list_now && !p->has_list)
			continue;
		if (a->text.len)
			sx_buf_adds(&a->text, sep);
		sx_buf_adds(&a->text, before);
		if (list_now) {
			sx_buf_adds(&a->text, list_echo);
			add_list(a, p);
		} else {
			sx_buf_adds(&a->text, pair_echo);
			add_pair(a, p);
		}
		sx_buf_adds(&a->text, after);
	}
}

static void compose_prose(struct sx_sim_answer *a, const struct parts *p)
{
	const char *verdict = p->label ? "positive" : "negative";
	const char *list_intro = p->topk ? "These are the words of the review that mattered most to "
					   "the sentiment, most important first:\n\n"
					 : "Here is the importance of each word and punctuation mark in "
					   "the review:\n\n";

	if (!p->has_list) {
		sx_buf_adds(&a->text, "After reading the review carefully, my classification and "
				      "confidence are:\n\n");
		add_pair(a, p);
		sx_buf_addf(&a->text, "\n\nThe review reads as %s overall.", verdict);
		return;
	}
	if (p->explain_first) {
		sx_buf_adds(&a->text, "Let me analyze this review step by step.\n\n");
		sx_buf_adds(&a->text, list_intro);
		add_list(a, p);
		sx_buf_adds(&a->text, "\n\nBased on this analysis, my classification and confidence "
				      "are:\n\n");
		add_pair(a, p);
	} else {
		sx_buf_adds(&a->text, "Sure! My classification and confidence for this review:\n\n");
		add_pair(a, p);
		sx_buf_adds(&a->text, "\n\n");
		sx_buf_adds(&a->text, list_intro);
		add_list(a, p);
	}
	sx_buf_addf(&a->text, "\n\nOverall, the sentiment of the review is %s. I hope this helps!",
		    verdict);
}

static void compose_truncated(struct sx_sim_answer *a, const struct parts *p)
{
	size_t cut = p->list.len / 2;

	if (!p->has_list) {
		add_pair(a, p);
		return;
	}
	if (!p->explain_first) {
		add_pair(a, p);
		sx_buf_addch(&a->text, '\n');
	}
	sx_buf_add(&a->text, p->list.buf, cut ? cut : p->list.len);
	a->truncated = 1;
}

void sx_sim_answer_write(const struct sx_sim_model *m, const struct sx_sim_answer_opts *o,
			 enum sx_cond cond, char *const *tokens, size_t n, uint64_t rng,
			 struct sx_sim_answer *a)
{
	struct parts p = { SX_BUF_INIT, SX_BUF_INIT, 0, 0, 0, 0 };
	enum sx_sim_style style = o->style;
	double *v = NULL, logit, conf;
	int quoted;

	sx_buf_reset(&a->text);
	a->label_off = SIZE_MAX;
	a->truncated = 0;
	if (style == SX_SIM_STYLE_MIXED || (unsigned)style >= SX_SIM_STYLE_COUNT)
		style = (enum sx_sim_style)(substream(rng, 2) % SX_SIM_STYLE_MIXED);
	a->style = style;
	quoted = style != SX_SIM_STYLE_UNQUOTED;

	logit = sx_sim_model_logit(m, tokens, n);
	a->p_pos = logit >= 0 ? 1.0 / (1.0 + exp(-logit)) : exp(logit) / (1.0 + exp(logit));
	if (o->temperature > 0) {
		uint64_t s = substream(rng, 3);
		double z = logit / o->temperature;
		double pt = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
		a->label = uniform01(&s) < pt;
	} else {
		a->label = a->p_pos > 0.5;
	}
	conf = a->label ? a->p_pos : 1.0 - a->p_pos;
	conf += (1.0 - conf) * o->overconfidence;
	sx_buf_addf(&p.pair, "(%d, %.*f)", a->label, o->confidence_decimals, conf);

	p.label = a->label;
	p.explain_first = sx_cond_explains_first(cond);
	p.topk = sx_cond_is_topk(cond);
	p.has_list = p.topk || sx_cond_has_importance(cond);
	if (p.has_list) {
		v = xmalloc(sx_size_mul(n ? n : 1, sizeof(*v)));
		sx_sim_explain_values(m, o->explain, o->sigma, tokens, n, substream(rng, 1), v);
		if (p.topk)
			topk_list(&p.list, tokens, n, v, a->label, quoted);
		else
			importance_list(&p.list, tokens, n, v, quoted);
	}

	switch (style) {
	case SX_SIM_STYLE_FENCED:
		compose_simple(a, &p, "```python\n", "\n```", "\n\n", "", "");
		break;
	case SX_SIM_STYLE_PROSE:
		compose_prose(a, &p);
		break;
	case SX_SIM_STYLE_ECHO:
		compose_simple(a, &p, "", "", "\n",
			       p.topk ? "[<word or punctuation>, <word or punctuation>, ... ] = "
				      : "[(<word or punctuation>, <float importance>), ... ] = ",
			       "(<int classification>, <float confidence>) = ");
		break;
	case SX_SIM_STYLE_TRUNCATED:
		compose_truncated(a, &p);
		break;
	default: /* clean, unquoted */
		compose_simple(a, &p, "", "", "\n", "", "");
	}
	free(v);
	sx_buf_release(&p.list);
	sx_buf_release(&p.pair);
}

void sx_sim_answer_release(struct sx_sim_answer *a)
{
	sx_buf_release(&a->text);
}
