/*
 * The model-answer parser; the contract and the recovery rules are in
 * include/selfexp/parse.h. PCRE2 is used here and nowhere else.
 *
 * Passes, each linear in the answer's length:
 *   1. sanitise: delete NULs, replace invalid UTF-8 by U+FFFD;
 *   2. lex: one PCRE2 pattern (JIT) finds fences, echoes and (word, number)
 *      tuples left to right; top-k conditions scan for [ ... ] lists instead;
 *   3. structure: group tuples into runs, pick the list and the pair;
 *   4. align the list to the tokens (dynamic programming, or a bounded
 *      look-ahead when the table would be too large);
 *   5. decide the status from what was found and what the condition needs.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/err.h"
#include "selfexp/parse.h"
#include "selfexp/utf8.h"

/* Above this many DP cells, alignment falls back to a bounded look-ahead. */
#define DP_MAX_CELLS (16u * 1024u * 1024u)
/* Look-ahead window of the fallback alignment, in tokens. */
#define LOOKAHEAD 16u
/* Words are merged from / split into at most this many pieces. */
#define MAX_PIECES 3u

/* ------------------------------------------------------------------ names */

static const char *const status_names[SX_PARSE_STATUS_COUNT] = {
	"ok", "ok_with_repairs", "no_prediction", "no_explanation", "unparseable", "invalid",
};

static const char *const repair_names[SX_REPAIR_NBITS] = {
	"fence", "echo", "unquoted", "reordered", "duplicate", "merged", "split", "rewritten",
	"truncated", "repetition", "invalid_utf8", "nul", "prose", "unbracketed", "out_of_range",
	"overlong", "angle_brackets", "word_label", "prose_prediction", "word_value",
};

const char *sx_parse_status_name(enum sx_parse_status s)
{
	return (unsigned)s < SX_PARSE_STATUS_COUNT ? status_names[s] : "unknown";
}

int sx_parse_status_from_name(const char *name, enum sx_parse_status *out)
{
	int i;

	for (i = 0; i < SX_PARSE_STATUS_COUNT; i++)
		if (!strcmp(name, status_names[i])) {
			*out = (enum sx_parse_status)i;
			return 0;
		}
	return -1;
}

int sx_parse_status_ok(enum sx_parse_status s)
{
	return s == SX_PARSE_OK || s == SX_PARSE_OK_WITH_REPAIRS;
}

int sx_parse_status_usable_prediction(enum sx_parse_status s)
{
	return sx_parse_status_ok(s) || s == SX_PARSE_NO_EXPLANATION;
}

int sx_parse_status_usable_explanation(enum sx_parse_status s)
{
	return sx_parse_status_ok(s) || s == SX_PARSE_NO_PREDICTION;
}

const char *sx_repair_name(unsigned r)
{
	unsigned i;

	for (i = 0; i < SX_REPAIR_NBITS; i++)
		if (r == 1u << i)
			return repair_names[i];
	return NULL;
}

/* --------------------------------------------------------------- patterns */

#define NUM "[-+]?(?:\\d{1,20}(?:\\.\\d{0,20})?|\\.\\d{1,20})(?:[eE][-+]?\\d{1,3})?"
#define SQ "'(?:[^'\\\\\\n]|\\\\.){0,256}+'"
#define DQ "\"(?:[^\"\\\\\\n]|\\\\.){0,256}+\""
#define ANGLE "<[^<>()\\n]{1,80}>"
#define TBARE "[^\\s,\\[\\]'\"()<>][^\\s,\\[\\]()<>]{0,63}+"
#define TITEM "(?:" SQ "|" DQ "|" ANGLE "|" TBARE ")"

/*
 * The lexer: leftmost match wins, and at one position the first alternative.
 * Every alternative starts with ( or `, so PCRE2 skips other bytes quickly;
 * every repetition is bounded or, for blanks, possessive (nothing after a run
 * of blanks can start with one, so giving some back never helps: without it,
 * "(" and 200 KB of blanks took seconds), so a scan is linear.
 */
static const char lex_src[] =
	"(?<fence>```[A-Za-z0-9_+-]{0,20})"
	"|(?<apair>(?=\\(\\s*+(?:<|[-+]?\\d{1,9}\\s*+,\\s*+<))\\(\\s*+(?<apo><\\s*+)?(?<aplab>[-+]?\\d{1,9})"
	"(?(<apo>)\\s*+>)\\s*+,\\s*+(?<apco><\\s*+)?(?<apconf>" NUM ")(?(<apco>)\\s*+>)\\s*+\\))"
	"|(?<echo>\\(\\s*+" ANGLE "\\s*+,\\s*+" ANGLE "\\s*+\\))"
	"|(?<aecho>\\(\\s*+<\\s*+(?<alab>[-+]?\\d{1,9})\\s*+,\\s*+(?<aconf>" NUM ")\\s*+>\\s*+\\))"
	"|(?<tuple>\\(\\s*+(?:'(?<sq>(?:[^'\\\\\\n]|\\\\.){0,256}+)'"
	"|\"(?<dq>(?:[^\"\\\\\\n]|\\\\.){0,256}+)\""
	"|(?<bare>\\(|[^\\s(]{0,64}?))\\s*+,\\s*+(?<val>" NUM ")\\s*+\\))";

/* A top-k list: "[" items "]", the closing bracket optional (cut off). */
static const char topk_src[] =
	"\\[\\s*(?<items>" TITEM "(?:\\s*,\\s*" TITEM ")*+)\\s*,?\\s*(?<close>\\])?";

/* One item inside a top-k list. */
static const char titem_src[] =
	"'(?<sq>(?:[^'\\\\\\n]|\\\\.){0,256}+)'|\"(?<dq>(?:[^\"\\\\\\n]|\\\\.){0,256}+)\""
	"|(?<angle>" ANGLE ")|(?<bare>" TBARE ")";

/*
 * A prediction stated in words or fields instead of a tuple: a label
 * statement ("classified as 0 (negative)", "Classification: Positive",
 * "label": 1) or a confidence statement ("with a confidence of 0.8",
 * "Confidence: 0.85", "with 0.9 confidence"). The groups after each value
 * catch what makes a statement unusable: "0 or 1", a gloss, a percentage,
 * a range, a confidence "for the words". ASCII case is ignored.
 */
#define PWORD "(?:positive|negative)"
/* Blanks and markdown or quotes around the parts: bounded and possessive, so
 * that a failed match costs O(1) at each start (no backtracking between them). */
#define SP "\\s{0,8}+"
#define SP1 "\\s{1,8}+"
#define PDECO "[\"'*_`]{0,4}+"
static const char stmt_src[] =
	"(?i)(?<lab>(?:\\bclassif(?:ied|y|ies)" SP1 "(?:(?:it|this|the)" SP1 "(?:(?:movie|film)" SP1 ")?"
	"(?:review" SP1 ")?)?as" SP1 "(?:an?" SP1 ")?"
	"|\\b(?:(?:predicted" SP1 ")?label|classification|prediction|sentiment|class)"
	"(?:" SP1 "of" SP1 "(?:the|this)" SP1 "(?:(?:movie|film)" SP1 ")?review)?" PDECO SP
	"(?::|=|\\bis\\b)" SP ")"
	PDECO SP "(?:(?<ld>[-+]?\\d{1,9}+)(?!\\d|[.,]\\d)"
	"(?:" PDECO SP "\\(" SP "(?<lg>" PWORD ")" SP "\\))?"
	"|(?<lw>" PWORD ")\\b(?:" PDECO SP "\\(" SP "(?<lg2>[-+]?\\d{1,9})" SP "\\))?)"
	"(?<lalt>" PDECO SP "(?:\\bor\\b|/)" SP PDECO
	"(?:[-+]?\\d|positive\\b|negative\\b|neutral\\b|mixed\\b))?)"
	"|(?<conf>(?:\\bconfidence(?:" SP1 "(?:score|level|value|rating))?" PDECO SP "(?<cfld>[:=])?"
	SP "(?:(?:of|is|at)" SP1 ")?" PDECO SP "(?<cv>" NUM ")"
	"|\\bwith" SP1 "(?:an?" SP1 ")?(?<cv2>" NUM ")" SP1 "confidence\\b)"
	"(?<cpct>" SP "(?:%|percent\\b))?"
	"(?<calt>" SP "(?:\\bor\\b|\\bto\\b|-|\xe2\x80\x93|/)" SP "[-+]?\\.?\\d)?"
	"(?<cother>" SP1 "(?:for|in|about|on|regarding)" SP1 "(?:(?:the|my|these|this|each|its|their)" SP1 ")?"
	"(?:words?|tokens?|importance|explanations?|list|scores?|attributions?|rankings?|values?)\\b)?)";

/*
 * An importance item written word: value ("word_value", ep and pe only): on a
 * line of its own, after an optional number or bullet, the word quoted, in
 * **bold** (the colon inside or out) or `code`, or bare, the value maybe in
 * bold, then maybe a comma and a note in parentheses or after a dash; or a
 * quoted key of an inline JSON object, {"a": 0.0, "gorgeous": 0.9}.
 */
static const char kv_src[] =
	"(?m)(?:(?<kline>^[ \\t]{0,16}+(?:(?:\\d{1,4}[.)]|[-*+]|\xe2\x80\xa2)[ \\t]{1,8}+)?)"
	"|(?<=[{,])\\s{0,16}+(?=['\"]))"
	"(?:'(?<ksq>(?:[^'\\\\\\n]|\\\\.){0,256}+)'|\"(?<kdq>(?:[^\"\\\\\\n]|\\\\.){0,256}+)\""
	"|\\*\\*(?<kbold>[^*\\n]{1,64}?)(?<kbc>:)?\\*\\*|`(?<kcode>[^`\\n]{1,64})`"
	"|(?<kbare>[^\\s{\\[(][^\\s]{0,63}?))"
	"(?(<kbc>)|[ \\t]{0,8}+[:=])[ \\t]{0,8}+(?:\\*\\*)?(?<kval>" NUM ")(?:\\*\\*)?"
	"(?(<kline>)[ \\t]{0,8}+[,;]?[ \\t]{0,8}+(?:\\([^\\n)]{0,200}+\\)"
	"|(?:-|\xe2\x80\x93|\xe2\x80\x94)[ \\t][^\\n]{0,200}+)?[ \\t\\r]{0,8}+$"
	"|(?=\\s{0,16}+[,}]))";

enum { PAT_LEX, PAT_TOPK, PAT_TITEM, PAT_STMT, PAT_KV, PAT_COUNT };

static pcre2_code *pats[PAT_COUNT];
static pthread_once_t pats_once = PTHREAD_ONCE_INIT;
/* Each thread's struct matcher, kept between calls (see below). */
static pthread_key_t matcher_key;
static void matcher_free(void *arg);

/* Capture group numbers, looked up by name once. */
static struct {
	int fence, apair, aplab, apconf, echo, aecho, alab, aconf, tuple, sq, dq, bare, val; /* PAT_LEX */
	int items, close;                                           /* PAT_TOPK */
	int t_sq, t_dq, t_angle, t_bare;                            /* PAT_TITEM */
	int lab, ld, lg, lw, lg2, lalt, conf, cfld, cv, cv2, cpct, calt, cother; /* PAT_STMT */
	int kline, ksq, kdq, kbold, kcode, kbare, kval;             /* PAT_KV */
} grp;

static int group(int pat, const char *name)
{
	int n = pcre2_substring_number_from_name(pats[pat], (PCRE2_SPTR)name);

	if (n <= 0) {
		fprintf(stderr, "selfexp: parse: no group '%s' in pattern %d\n", name, pat);
		abort();
	}
	return n;
}

static void compile_patterns(void)
{
	static const char *const srcs[PAT_COUNT] = { lex_src, topk_src, titem_src, stmt_src, kv_src };
	int i;

	for (i = 0; i < PAT_COUNT; i++) {
		int ecode;
		PCRE2_SIZE eoff;

		pats[i] = pcre2_compile((PCRE2_SPTR)srcs[i], PCRE2_ZERO_TERMINATED, 0, &ecode,
					&eoff, NULL);
		if (!pats[i]) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(ecode, msg, sizeof(msg));
			fprintf(stderr, "selfexp: parse: pattern %d at %zu: %s\n", i, (size_t)eoff,
				(const char *)msg);
			abort();
		}
		/* Without JIT (unsupported CPU) the interpreter runs the same patterns. */
		(void)pcre2_jit_compile(pats[i], PCRE2_JIT_COMPLETE);
	}
	if (pthread_key_create(&matcher_key, matcher_free)) {
		fprintf(stderr, "selfexp: parse: cannot create a thread key\n");
		abort();
	}
	grp.fence = group(PAT_LEX, "fence");
	grp.apair = group(PAT_LEX, "apair");
	grp.aplab = group(PAT_LEX, "aplab");
	grp.apconf = group(PAT_LEX, "apconf");
	grp.echo = group(PAT_LEX, "echo");
	grp.aecho = group(PAT_LEX, "aecho");
	grp.alab = group(PAT_LEX, "alab");
	grp.aconf = group(PAT_LEX, "aconf");
	grp.tuple = group(PAT_LEX, "tuple");
	grp.sq = group(PAT_LEX, "sq");
	grp.dq = group(PAT_LEX, "dq");
	grp.bare = group(PAT_LEX, "bare");
	grp.val = group(PAT_LEX, "val");
	grp.items = group(PAT_TOPK, "items");
	grp.close = group(PAT_TOPK, "close");
	grp.t_sq = group(PAT_TITEM, "sq");
	grp.t_dq = group(PAT_TITEM, "dq");
	grp.t_angle = group(PAT_TITEM, "angle");
	grp.t_bare = group(PAT_TITEM, "bare");
	grp.lab = group(PAT_STMT, "lab");
	grp.ld = group(PAT_STMT, "ld");
	grp.lg = group(PAT_STMT, "lg");
	grp.lw = group(PAT_STMT, "lw");
	grp.lg2 = group(PAT_STMT, "lg2");
	grp.lalt = group(PAT_STMT, "lalt");
	grp.conf = group(PAT_STMT, "conf");
	grp.cfld = group(PAT_STMT, "cfld");
	grp.cv = group(PAT_STMT, "cv");
	grp.cv2 = group(PAT_STMT, "cv2");
	grp.cpct = group(PAT_STMT, "cpct");
	grp.calt = group(PAT_STMT, "calt");
	grp.cother = group(PAT_STMT, "cother");
	grp.kline = group(PAT_KV, "kline");
	grp.ksq = group(PAT_KV, "ksq");
	grp.kdq = group(PAT_KV, "kdq");
	grp.kbold = group(PAT_KV, "kbold");
	grp.kcode = group(PAT_KV, "kcode");
	grp.kbare = group(PAT_KV, "kbare");
	grp.kval = group(PAT_KV, "kval");
}

/*
 * Matching state: match data and a JIT stack, reused for every match. Each
 * thread keeps one between calls: creating a JIT stack maps (and freeing it
 * unmaps, with a TLB shootdown on every CPU) a megabyte, which cost more than
 * the parse itself when it was done per answer.
 */
struct matcher {
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	PCRE2_SIZE *ov;
	int failed; /* a match ended in an error (a resource limit): the scan stopped */
	int busy;   /* in use by a call on this thread */
};

static void matcher_free(void *arg)
{
	struct matcher *m = arg;

	if (!m)
		return;
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mc);
	pcre2_jit_stack_free(m->js);
	free(m);
}

static struct matcher *matcher_new(void)
{
	struct matcher *m = xcalloc(1, sizeof(*m));

	m->md = pcre2_match_data_create(32, NULL);
	m->mc = pcre2_match_context_create(NULL);
	m->js = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
	if (!m->md || !m->mc) {
		fprintf(stderr, "selfexp: out of memory\n");
		abort();
	}
	if (m->js)
		pcre2_jit_stack_assign(m->mc, NULL, m->js);
	m->ov = pcre2_get_ovector_pointer(m->md);
	return m;
}

/* This thread's matcher (a fresh one if it is already in use); give it back with matcher_put. */
static struct matcher *matcher_get(void)
{
	struct matcher *m = pthread_getspecific(matcher_key);

	if (!m) {
		m = matcher_new();
		if (pthread_setspecific(matcher_key, m))
			m->busy = -1; /* not kept: freed by matcher_put */
	} else if (m->busy) {
		m = matcher_new();
		m->busy = -1;
	}
	if (m->busy != -1)
		m->busy = 1;
	m->failed = 0;
	return m;
}

static void matcher_put(struct matcher *m)
{
	if (m->busy == -1)
		matcher_free(m);
	else
		m->busy = 0;
}

/* Next match of pat in s[off..len); 1 when found (m->ov set), 0 at the end. */
static int find(struct matcher *m, int pat, const char *s, size_t len, size_t off)
{
	int rc;

	if (off > len)
		return 0;
	rc = pcre2_match(pats[pat], (PCRE2_SPTR)s, len, off, 0, m->md, m->mc);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		m->failed = 1;
		return 0;
	}
	return 1;
}

static int has_group(const struct matcher *m, int g)
{
	return m->ov[2 * g] != PCRE2_UNSET;
}

/* --------------------------------------------------------------- sanitise */

static unsigned sanitise(const char *in, size_t len, struct sx_buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned repairs = 0;
	size_t i = 0;

	sx_buf_grow(out, len);
	while (i < len) {
		size_t run = i;

		/* Copy the longest valid stretch at once. */
		while (run < len && s[run]) {
			size_t l = sx_utf8_char_len(in + run, len - run);

			if (!l)
				break;
			run += l;
		}
		sx_buf_add(out, s + i, run - i);
		i = run;
		if (i >= len)
			break;
		if (!s[i]) {
			repairs |= SX_REPAIR_NUL;
		} else {
			repairs |= SX_REPAIR_INVALID_UTF8;
			sx_buf_add(out, "\xef\xbf\xbd", 3);
		}
		i++;
	}
	return repairs;
}

/* ---------------------------------------------------------------- strings */

/* Decode a quoted Python string body: \\ \' \" \n \t \r; other escapes stay. */
static char *unescape(const char *s, size_t n)
{
	struct sx_buf b = SX_BUF_INIT;
	size_t i;

	sx_buf_grow(&b, n);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 1 < n) {
			char e = s[i + 1];

			if (e == '\\' || e == '\'' || e == '"') {
				c = e;
				i++;
			} else if (e == 'n' || e == 't' || e == 'r') {
				c = e == 'n' ? '\n' : e == 't' ? '\t' : '\r';
				i++;
			}
		}
		sx_buf_addch(&b, c);
	}
	return sx_buf_detach(&b, NULL);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Length of the U+FFFD that sanitise() put at s[i..len), 0 if none. */
static size_t replacement_at(const char *s, size_t i, size_t len)
{
	return len - i >= 3 && !memcmp(s + i, "\xef\xbf\xbd", 3) ? 3 : 0;
}

/* Normalised form for comparison; see "rewritten" in parse.h. Caller frees. */
static char *normalise(const char *s)
{
	static const struct {
		const char *from, *to;
	} map[] = {
		{ "\xe2\x80\x98", "'" }, { "\xe2\x80\x99", "'" }, { "\xe2\x80\x9a", "'" },
		{ "\xe2\x80\x9b", "'" }, { "\xe2\x80\xb2", "'" }, { "\xc2\xb4", "'" },
		{ "`", "'" },            { "\xe2\x80\x9c", "\"" }, { "\xe2\x80\x9d", "\"" },
		{ "\xe2\x80\x9e", "\"" }, { "''", "\"" },         { "\"", "\"" },
		{ "\xe2\x80\xa6", "..." }, { "\xe2\x80\x94", "--" }, { "\xe2\x80\x93", "-" },
		{ "\\/", "/" },          { "-lrb-", "(" },        { "-rrb-", ")" },
		{ "-lsb-", "[" },        { "-rsb-", "]" },        { "\xef\xbf\xbd", "" },
	};
	struct sx_buf low = SX_BUF_INIT, b = SX_BUF_INIT;
	size_t i, k, start, end;

	/* ASCII case first, so that -LRB- and -lrb- map alike. */
	for (i = 0; s[i]; i++) {
		char c = s[i];
		sx_buf_addch(&low, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
	}
	/* `` (two backquotes) is a double quote; the map makes each ` a ', then '' a ". */
	for (start = 0; start < low.len && is_space(low.buf[start]); start++)
		;
	for (end = low.len; end > start && is_space(low.buf[end - 1]); end--)
		;
	for (i = start; i < end;) {
		for (k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
			size_t fl;

			if (map[k].from[0] != low.buf[i]) /* most bytes start no mapping */
				continue;
			fl = strlen(map[k].from);
			if (fl <= end - i && !memcmp(low.buf + i, map[k].from, fl)) {
				sx_buf_adds(&b, map[k].to);
				i += fl;
				break;
			}
		}
		if (k == sizeof(map) / sizeof(map[0]))
			sx_buf_addch(&b, low.buf[i++]);
	}
	sx_buf_release(&low);
	/* A second pass turns the '' produced from `` into ". */
	if (strstr(b.buf, "''")) {
		char *again = normalise(b.buf);
		sx_buf_release(&b);
		return again;
	}
	return sx_buf_detach(&b, NULL);
}

/* s == parts[0] sep parts[1] sep ... parts[k-1]; empty parts never match. */
static int concat_eq(const char *s, char *const *parts, size_t k, const char *sep)
{
	size_t seplen = strlen(sep), p;

	for (p = 0; p < k; p++) {
		size_t l = strlen(parts[p]);

		if (p && seplen) {
			if (strncmp(s, sep, seplen))
				return 0;
			s += seplen;
		}
		if (!l || strncmp(s, parts[p], l))
			return 0;
		s += l;
	}
	return *s == '\0';
}

static int concat_eq_any(const char *s, char *const *parts, size_t k)
{
	return concat_eq(s, parts, k, "") || concat_eq(s, parts, k, " ");
}

/* ------------------------------------------------------------------ lexing */

/* LEX_APAIR: (<1>, 0.8), (<1>, <0.8>), (1, <0.8>): a pair in the template's angle brackets.
 * LEX_KV: an importance item written word: value (ep, pe).
 * LEX_PROSE: not a lexeme, the prediction stated in prose (made by prose_pair). */
enum lex_kind { LEX_FENCE, LEX_APAIR, LEX_ECHO, LEX_AECHO, LEX_TUPLE, LEX_KV, LEX_PROSE };

enum quoting { Q_QUOTED, Q_BARE, Q_UNWRAPPED };

struct lexeme {
	enum lex_kind kind;
	size_t start, end;
	size_t ws, wl;       /* tuple: the word's bytes (inside the quotes) */
	enum quoting quoting;
	double value;        /* tuple: the number; aecho: the confidence */
	int is_int;          /* tuple with a bare integer word, aecho, apair */
	int word_label;      /* tuple whose word is positive or negative (ival 1 or 0) */
	long ival;
	size_t run;          /* index of its run (tuples and echoes) */
};

struct run {
	size_t first, last;  /* lexeme indices */
	size_t nitems;       /* word tuples, or word: value items */
	int kv;              /* of word: value items */
	int opened, closed;  /* "[" before, "]" after */
	int cut;             /* followed by an incomplete tuple */
	int is_list;
};

/* Parse a bare integer word ([-+]?digits, at most 9 digits). */
static int bare_int(const char *s, size_t n, long *out)
{
	size_t i = 0;
	long v = 0;
	int neg = 0;

	if (n && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n || n - i > 9)
		return 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 1;
}

/* The word is "positive" or "negative" (ASCII case ignored): *label 1 or 0. */
static int word_label(const char *s, size_t n, long *label)
{
	static const char *const words[2] = { "negative", "positive" };
	long i;

	for (i = 0; i < 2; i++)
		if (n == strlen(words[i]) && !strncasecmp(s, words[i], n)) {
			*label = i;
			return 1;
		}
	return 0;
}

/* A bare word wrapped in quotes that did not parse as a literal: 'it's',
 * "x, ‘x’ or “x”. Narrow [*ws, *ws + *wl) to the inside; 1 if it did. */
static int unwrap_quotes(const char *s, size_t *ws, size_t *wl)
{
	static const struct {
		const char *open, *close;
	} q[] = {
		{ "'", "'" }, { "\"", "\"" }, { "`", "`" },
		{ "\xe2\x80\x98", "\xe2\x80\x99" }, { "\xe2\x80\x9c", "\xe2\x80\x9d" },
	};
	size_t k;

	for (k = 0; k < sizeof(q) / sizeof(q[0]); k++) {
		size_t lo = strlen(q[k].open), lc = strlen(q[k].close);

		if (*wl >= lo + lc && !memcmp(s + *ws, q[k].open, lo) &&
		    !memcmp(s + *ws + *wl - lc, q[k].close, lc)) {
			*ws += lo;
			*wl -= lo + lc;
			return 1;
		}
	}
	return 0;
}

static double num_at(const char *s, size_t a, size_t b)
{
	char tmp[80];
	size_t n = b - a < sizeof(tmp) - 1 ? b - a : sizeof(tmp) - 1;

	memcpy(tmp, s + a, n);
	tmp[n] = '\0';
	return strtod(tmp, NULL);
}

/* Words that name a field, never an item: "Confidence: 0.9" is not the word Confidence. */
static int kv_field_name(const char *s, size_t n)
{
	static const char *const names[] = { "confidence", "classification", "label",
					     "prediction", "sentiment", "class" };
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (n == strlen(names[k]) && !strncasecmp(s, names[k], n))
			return 1;
	return 0;
}

/* The word: value items of s, in order (a new array for the caller to free). */
static void lex_kv(struct matcher *m, const char *s, size_t len, struct lexeme **out, size_t *nout)
{
	const int keys[] = { grp.ksq, grp.kdq, grp.kbold, grp.kcode, grp.kbare };
	struct lexeme *v = NULL;
	size_t n = 0, alloc = 0, off = 0, k;

	while (find(m, PAT_KV, s, len, off)) {
		struct lexeme *l;

		off = m->ov[1] > m->ov[0] ? m->ov[1] : m->ov[0] + 1;
		for (k = 0; !has_group(m, keys[k]); k++)
			;
		if (kv_field_name(s + m->ov[2 * keys[k]], m->ov[2 * keys[k] + 1] - m->ov[2 * keys[k]]))
			continue;
		SX_GROW(v, alloc, n + 1);
		l = &v[n++];
		memset(l, 0, sizeof(*l));
		l->kind = LEX_KV;
		l->start = m->ov[0];
		l->end = m->ov[1];
		l->ws = m->ov[2 * keys[k]];
		l->wl = m->ov[2 * keys[k] + 1] - l->ws;
		l->quoting = k < 2 ? Q_QUOTED : Q_BARE;
		l->value = num_at(s, m->ov[2 * grp.kval], m->ov[2 * grp.kval + 1]);
	}
	*out = v;
	*nout = n;
}

/* Merge the word: value items kv[0..nkv) into the lexemes, in text order; an
 * item that overlaps a lexeme is not one (the lexeme wins). Frees kv. */
static void merge_kv(struct lexeme **lx, size_t *nlx, struct lexeme *kv, size_t nkv)
{
	struct lexeme *v = xcalloc(*nlx + nkv + 1, sizeof(*v));
	size_t i = 0, j = 0, n = 0;

	while (i < *nlx || j < nkv) {
		if (j == nkv || (i < *nlx && (*lx)[i].start <= kv[j].start)) {
			v[n++] = (*lx)[i++];
			continue;
		}
		if (!(n && v[n - 1].end > kv[j].start) && !(i < *nlx && (*lx)[i].start < kv[j].end))
			v[n++] = kv[j];
		j++;
	}
	free(*lx);
	free(kv);
	*lx = v;
	*nlx = n;
}

/* The lexemes of s in text order; with_kv: word: value items too. */
static void lex(struct matcher *m, const char *s, size_t len, int with_kv, struct lexeme **out,
		size_t *nout)
{
	struct lexeme *v = NULL;
	size_t n = 0, alloc = 0, off = 0;

	while (find(m, PAT_LEX, s, len, off)) {
		struct lexeme *l;
		size_t st = m->ov[0], en = m->ov[1];

		SX_GROW(v, alloc, n + 1);
		l = &v[n++];
		memset(l, 0, sizeof(*l));
		l->start = st;
		l->end = en;
		if (has_group(m, grp.fence)) {
			l->kind = LEX_FENCE;
		} else if (has_group(m, grp.apair)) {
			l->kind = LEX_APAIR;
			l->is_int = bare_int(s + m->ov[2 * grp.aplab],
					     m->ov[2 * grp.aplab + 1] - m->ov[2 * grp.aplab], &l->ival);
			l->value = num_at(s, m->ov[2 * grp.apconf], m->ov[2 * grp.apconf + 1]);
		} else if (has_group(m, grp.echo)) {
			l->kind = LEX_ECHO;
		} else if (has_group(m, grp.aecho)) {
			l->kind = LEX_AECHO;
			l->is_int = bare_int(s + m->ov[2 * grp.alab],
					     m->ov[2 * grp.alab + 1] - m->ov[2 * grp.alab], &l->ival);
			l->value = num_at(s, m->ov[2 * grp.aconf], m->ov[2 * grp.aconf + 1]);
		} else {
			int g = has_group(m, grp.sq) ? grp.sq : has_group(m, grp.dq) ? grp.dq : grp.bare;

			l->kind = LEX_TUPLE;
			l->ws = m->ov[2 * g];
			l->wl = m->ov[2 * g + 1] - l->ws;
			l->quoting = g == grp.bare ? Q_BARE : Q_QUOTED;
			l->value = num_at(s, m->ov[2 * grp.val], m->ov[2 * grp.val + 1]);
			if (g == grp.bare) {
				if (unwrap_quotes(s, &l->ws, &l->wl))
					l->quoting = Q_UNWRAPPED;
				else
					l->is_int = bare_int(s + l->ws, l->wl, &l->ival);
			}
			if (!l->is_int)
				l->word_label = word_label(s + l->ws, l->wl, &l->ival);
		}
		off = en > st ? en : st + 1;
	}
	*out = v;
	*nout = n;
	if (with_kv) {
		struct lexeme *kv;
		size_t nkv;

		lex_kv(m, s, len, &kv, &nkv);
		merge_kv(out, nout, kv, nkv);
	}
}

static char *lexeme_word(const char *s, const struct lexeme *l)
{
	if (l->quoting == Q_QUOTED)
		return unescape(s + l->ws, l->wl);
	return xstrndup(s + l->ws, l->wl);
}

/* Can lexemes a and b (a before b) belong to one run? */
static int joins(const char *s, const struct lexeme *a, const struct lexeme *b)
{
	size_t i, commas = 0, newlines = 0;
	int kv = a->kind == LEX_KV;

	if (kv != (b->kind == LEX_KV))
		return 0;
	for (i = a->end; i < b->start; i++) {
		size_t r = replacement_at(s, i, b->start);

		if (r) {
			i += r - 1;
			continue;
		}
		if (s[i] == ',')
			commas++;
		else if (s[i] == '\n')
			newlines++;
		else if (!is_space(s[i]))
			return 0;
	}
	/* word: value items: one a line, or a comma apart; a blank line ends them */
	if (kv)
		return commas <= 1 && newlines <= 1;
	return commas == 1 || (commas == 0 && !newlines);
}

static int run_member(const struct lexeme *l)
{
	return l->kind != LEX_FENCE;
}

static void make_runs(const char *s, size_t len, struct lexeme *lx, size_t nlx,
		      struct run **out, size_t *nout)
{
	struct run *r = NULL;
	size_t n = 0, alloc = 0, i;

	for (i = 0; i < nlx; i++) {
		struct run *cur;
		size_t p;

		if (!run_member(&lx[i]))
			continue;
		if (n && r[n - 1].last + 1 == i && joins(s, &lx[i - 1], &lx[i])) {
			cur = &r[n - 1];
			cur->last = i;
		} else {
			SX_GROW(r, alloc, n + 1);
			cur = &r[n++];
			memset(cur, 0, sizeof(*cur));
			cur->first = cur->last = i;
			cur->kv = lx[i].kind == LEX_KV;
			for (p = lx[i].start; p > 0 && is_space(s[p - 1]); p--)
				;
			cur->opened = p > 0 && s[p - 1] == '[';
		}
		lx[i].run = n - 1;
		if (lx[i].kind == LEX_TUPLE || lx[i].kind == LEX_KV)
			cur->nitems++;
	}
	for (i = 0; i < n; i++) {
		size_t p = lx[r[i].last].end, q;

		while (p < len && is_space(s[p]))
			p++;
		q = p;
		if (p < len && s[p] == ',')
			p++;
		while (p < len && is_space(s[p]))
			p++;
		r[i].closed = p < len && s[p] == ']';
		/* ", (" that starts no lexeme: a tuple cut off at the token limit. */
		r[i].cut = q < len && s[q] == ',' && p < len && s[p] == '(' &&
			   (r[i].last + 1 >= nlx || lx[r[i].last + 1].start != p);
		r[i].is_list = r[i].nitems >= 2 || (r[i].opened && r[i].nitems >= 1);
	}
	*out = r;
	*nout = n;
}

/* -------------------------------------------------------------- the result */

static void add_unmatched(struct sx_parse_result *r, const char *w, size_t *alloc)
{
	SX_GROW(r->unmatched, *alloc, r->nunmatched + 1);
	r->unmatched[r->nunmatched++] = xstrdup(w);
}

static void push_item(struct sx_parse_result *r, size_t *alloc, char *word, double value,
		      int has_value)
{
	struct sx_parse_item *it;

	SX_GROW(r->items, *alloc, r->nitems + 1);
	it = &r->items[r->nitems++];
	it->word = word;
	it->value = value;
	it->has_value = has_value;
	it->dropped = has_value && !(value >= -1.0 && value <= 1.0);
	if (it->dropped)
		r->repairs |= SX_REPAIR_OUT_OF_RANGE;
}

static int same_item(const struct sx_parse_item *a, const char *w, double v)
{
	return !strcmp(a->word, w) && a->value == v;
}

/* Items of the chosen run: repetition collapsed, capped. */
static void collect_items(struct sx_parse_result *r, const char *s, const struct lexeme *lx,
			  const struct run *run, size_t cap)
{
	size_t alloc = 0, i, same = 0;

	for (i = run->first; i <= run->last; i++) {
		const struct lexeme *l = &lx[i];
		char *w;

		if (l->kind != LEX_TUPLE && l->kind != LEX_KV) {
			r->repairs |= SX_REPAIR_ECHO;
			continue;
		}
		w = lexeme_word(s, l);
		if (l->quoting != Q_QUOTED)
			r->repairs |= SX_REPAIR_UNQUOTED;
		if (r->nitems && same_item(&r->items[r->nitems - 1], w, l->value)) {
			/* same = repeats after the first; at the threshold the ones
			 * already kept go, and every later one is skipped. */
			if (++same + 1 >= SX_PARSE_REPEAT_MIN) {
				if (same + 1 == SX_PARSE_REPEAT_MIN) {
					size_t k;

					for (k = 0; k + 1 < same; k++)
						free(r->items[--r->nitems].word);
				}
				r->repairs |= SX_REPAIR_REPETITION;
				free(w);
				continue;
			}
		} else {
			same = 0;
		}
		if (r->nitems >= cap) {
			r->repairs |= SX_REPAIR_OVERLONG;
			free(w);
			break;
		}
		push_item(r, &alloc, w, l->value, 1);
	}
}

/* -------------------------------------------------------------- alignment */

struct aligner {
	size_t ni, nj;
	char **iw, **in; /* items: word, normalised (borrowed / owned) */
	double *iv;
	size_t *iidx;    /* index into r->items */
	char *const *tw; /* tokens (borrowed) */
	char **tn;       /* normalised tokens (owned) */
	size_t *inl, *tnl; /* their lengths: a cheap filter before comparing */
	int *best;
};

enum step { ST_EXACT, ST_NORM, ST_MERGE2, ST_MERGE3, ST_SPLIT2, ST_SPLIT3, ST_COUNT };

static const struct {
	size_t di, dj;
	int score;
} steps[ST_COUNT] = {
	{ 1, 1, 4 }, { 1, 1, 3 }, { 1, 2, 3 }, { 1, 3, 3 }, { 2, 1, 3 }, { 3, 1, 3 },
};

/* Could a string of length whole be k parts joined by "" or " "? */
static int concat_len_ok(size_t whole, const size_t *lens, size_t k)
{
	size_t p, sum = 0;

	for (p = 0; p < k; p++)
		sum += lens[p];
	return whole == sum || whole == sum + k - 1;
}

static int step_ok(const struct aligner *a, size_t i, size_t j, enum step st)
{
	size_t di = steps[st].di, dj = steps[st].dj;

	if (i + di > a->ni || j + dj > a->nj)
		return 0;
	switch (st) {
	case ST_EXACT:
		return a->iw[i][0] && !strcmp(a->iw[i], a->tw[j]);
	case ST_NORM:
		return a->in[i][0] && !strcmp(a->in[i], a->tn[j]);
	case ST_MERGE2:
	case ST_MERGE3:
		return concat_len_ok(a->inl[i], a->tnl + j, dj) &&
		       concat_eq_any(a->in[i], a->tn + j, dj);
	case ST_SPLIT2:
	case ST_SPLIT3:
		return concat_len_ok(a->tnl[j], a->inl + i, di) &&
		       concat_eq_any(a->tn[j], a->in + i, di);
	default:
		return 0;
	}
}

#define BEST(a, i, j) ((a)->best[(i) * ((a)->nj + 1) + (j)])

static void apply_step(struct sx_parse_result *r, const struct aligner *a, size_t i, size_t j,
		       enum step st, unsigned char *matched)
{
	size_t k;

	switch (st) {
	case ST_EXACT:
	case ST_NORM:
	case ST_MERGE2:
	case ST_MERGE3:
		for (k = 0; k < steps[st].dj; k++) {
			r->values[j + k] = a->iv[i];
			r->has_value[j + k] = 1;
		}
		matched[i] = 1;
		if (st == ST_NORM)
			r->repairs |= SX_REPAIR_REWRITTEN;
		else if (st != ST_EXACT)
			r->repairs |= SX_REPAIR_MERGED;
		break;
	default: {
		double sum = 0;

		for (k = 0; k < steps[st].di; k++) {
			sum += a->iv[i + k];
			matched[i + k] = 1;
		}
		r->values[j] = sum / (double)steps[st].di;
		r->has_value[j] = 1;
		r->repairs |= SX_REPAIR_SPLIT;
	}
	}
}

/* Weighted LCS over items x tokens; ties to the earliest match. */
static void align_dp(struct sx_parse_result *r, struct aligner *a, unsigned char *matched)
{
	size_t i, j, cells = sx_size_mul(a->ni + 1, a->nj + 1);
	int st;

	a->best = xcalloc(cells, sizeof(*a->best));
	for (i = a->ni; i-- > 0;) {
		for (j = a->nj; j-- > 0;) {
			int v = BEST(a, i + 1, j);

			if (BEST(a, i, j + 1) > v)
				v = BEST(a, i, j + 1);
			for (st = 0; st < ST_COUNT; st++) {
				int c;

				if (st == ST_NORM && step_ok(a, i, j, ST_EXACT))
					continue;
				if (!step_ok(a, i, j, (enum step)st))
					continue;
				c = steps[st].score + BEST(a, i + steps[st].di, j + steps[st].dj);
				if (c > v)
					v = c;
			}
			BEST(a, i, j) = v;
		}
	}
	i = j = 0;
	while (i < a->ni && j < a->nj) {
		int done = 0;

		for (st = 0; st < ST_COUNT && !done; st++) {
			if (!step_ok(a, i, j, (enum step)st))
				continue;
			if (steps[st].score + BEST(a, i + steps[st].di, j + steps[st].dj) ==
			    BEST(a, i, j)) {
				apply_step(r, a, i, j, (enum step)st, matched);
				i += steps[st].di;
				j += steps[st].dj;
				done = 1;
			}
		}
		if (done)
			continue;
		if (BEST(a, i, j + 1) == BEST(a, i, j))
			j++;
		else
			i++;
	}
	free(a->best);
	a->best = NULL;
}

/* Fallback for very long inputs: in order, a bounded look-ahead window. */
static void align_window(struct sx_parse_result *r, struct aligner *a, unsigned char *matched)
{
	size_t i, j, cur = 0;
	int st;

	for (i = 0; i < a->ni; i++) {
		int done = 0;

		for (st = 0; st < ST_COUNT && !done; st++) {
			for (j = cur; j < a->nj && j < cur + LOOKAHEAD && !done; j++) {
				if (!step_ok(a, i, j, (enum step)st))
					continue;
				apply_step(r, a, i, j, (enum step)st, matched);
				cur = j + steps[st].dj;
				i += steps[st].di - 1;
				done = 1;
			}
		}
	}
}

static int token_present(const struct aligner *a, const char *norm)
{
	size_t j;

	for (j = 0; j < a->nj; j++)
		if (!strcmp(a->tn[j], norm))
			return 1;
	return 0;
}

static void align_list(struct sx_parse_result *r, char *const *tokens, size_t ntokens)
{
	struct aligner a;
	unsigned char *matched = NULL;
	size_t i, j, ualloc = 0, nvalued = 0;

	memset(&a, 0, sizeof(a));
	r->values = xcalloc(ntokens ? ntokens : 1, sizeof(*r->values));
	r->has_value = xcalloc(ntokens ? ntokens : 1, 1);
	a.nj = ntokens;
	a.tw = tokens;
	a.tn = xcalloc(ntokens ? ntokens : 1, sizeof(*a.tn));
	a.tnl = xcalloc(ntokens ? ntokens : 1, sizeof(*a.tnl));
	for (j = 0; j < ntokens; j++) {
		a.tn[j] = normalise(tokens[j]);
		a.tnl[j] = strlen(a.tn[j]);
	}
	a.iw = xcalloc(r->nitems ? r->nitems : 1, sizeof(*a.iw));
	a.in = xcalloc(r->nitems ? r->nitems : 1, sizeof(*a.in));
	a.iv = xcalloc(r->nitems ? r->nitems : 1, sizeof(*a.iv));
	a.iidx = xcalloc(r->nitems ? r->nitems : 1, sizeof(*a.iidx));
	a.inl = xcalloc(r->nitems ? r->nitems : 1, sizeof(*a.inl));
	for (i = 0; i < r->nitems; i++) {
		if (r->items[i].dropped)
			continue;
		a.iw[a.ni] = r->items[i].word;
		a.in[a.ni] = normalise(r->items[i].word);
		a.inl[a.ni] = strlen(a.in[a.ni]);
		a.iv[a.ni] = r->items[i].value;
		a.iidx[a.ni++] = i;
	}
	matched = xcalloc(a.ni ? a.ni : 1, 1);
	if (a.ni && a.nj) {
		if ((a.ni + 1) <= DP_MAX_CELLS / (a.nj + 1))
			align_dp(r, &a, matched);
		else
			align_window(r, &a, matched);
	}
	for (i = 0; i < a.ni; i++) {
		if (matched[i])
			continue;
		add_unmatched(r, a.iw[i], &ualloc);
		if (a.in[i][0] && token_present(&a, a.in[i]))
			r->repairs |= SX_REPAIR_DUPLICATE;
	}
	for (j = 0; j < ntokens; j++)
		nvalued += r->has_value[j];
	r->coverage = ntokens ? (double)nvalued / (double)ntokens : 0.0;
	for (i = 0; i < a.ni; i++)
		free(a.in[i]);
	for (j = 0; j < ntokens; j++)
		free(a.tn[j]);
	free(a.iw);
	free(a.in);
	free(a.iv);
	free(a.iidx);
	free(a.inl);
	free(a.tn);
	free(a.tnl);
	free(matched);
}

/* Top-k words, one by one: first unused equal token, then normalised, then merged. */
static void align_topk(struct sx_parse_result *r, char *const *tokens, size_t ntokens)
{
	unsigned char *used = xcalloc(ntokens ? ntokens : 1, 1);
	char **tn = xcalloc(ntokens ? ntokens : 1, sizeof(*tn));
	size_t i, j, talloc = 0, ualloc = 0, nwords = 0, naligned = 0;

	for (j = 0; j < ntokens; j++)
		tn[j] = normalise(tokens[j]);
	for (i = 0; i < r->nitems; i++) {
		const char *w = r->items[i].word;
		char *nw = normalise(w);
		size_t pos = ntokens, k, span = 1;
		int how = 0, present = 0;

		if (w[0])
			nwords++;
		for (j = 0; j < ntokens && w[0]; j++) {
			if (strcmp(nw, tn[j]))
				continue;
			present = 1;
			if (used[j])
				continue;
			if (!strcmp(w, tokens[j])) {
				pos = j;
				how = 0;
				break;
			}
			if (pos == ntokens) {
				pos = j;
				how = 1;
			}
		}
		for (k = 2; pos == ntokens && nw[0] && k <= MAX_PIECES; k++)
			for (j = 0; j + k <= ntokens && pos == ntokens; j++)
				if (!used[j] && concat_eq_any(nw, tn + j, k)) {
					pos = j;
					how = 2;
					span = k;
				}
		if (pos < ntokens) {
			size_t q;

			for (q = 0; q < span; q++)
				used[pos + q] = 1;
			SX_GROW(r->topk, talloc, r->ntopk + 1);
			r->topk[r->ntopk++] = pos;
			naligned++;
			if (how == 1)
				r->repairs |= SX_REPAIR_REWRITTEN;
			else if (how == 2)
				r->repairs |= SX_REPAIR_MERGED;
		} else {
			add_unmatched(r, w, &ualloc);
			if (present)
				r->repairs |= SX_REPAIR_DUPLICATE;
		}
		free(nw);
	}
	r->coverage = nwords ? (double)naligned / (double)nwords : 0.0;
	for (j = 0; j < ntokens; j++)
		free(tn[j]);
	free(tn);
	free(used);
}

/* ------------------------------------------------------------------ top-k */

struct tlist {
	size_t start, end; /* the whole match, "[" to "]" or the last item */
	size_t is, ie;     /* the items */
	size_t nitems;
	int closed, echo;
};

/* -------------------------------------------------------------- the parse */

static void mark(unsigned char *covered, size_t a, size_t b)
{
	if (b > a)
		memset(covered + a, 1, b - a);
}

/* The end of the line holding s[i] (a cut-off fragment runs to there). */
static size_t line_end(const char *s, size_t len, size_t i)
{
	const char *nl = memchr(s + i, '\n', len - i);

	return nl ? (size_t)(nl - s) : len;
}

static int prose_left(const char *s, size_t len, const unsigned char *covered)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];
		size_t r = covered[i] ? 0 : replacement_at(s, i, len);

		if (r) {
			i += r - 1;
			continue;
		}
		if (covered[i] || is_space(c) || c == ',' || c == '[' || c == ']' || c == '.')
			continue;
		return 1;
	}
	return 0;
}

static void scan_topk(struct matcher *m, const char *s, size_t len, struct tlist **out,
		      size_t *nout)
{
	struct tlist *v = NULL;
	size_t n = 0, alloc = 0, off = 0;

	while (find(m, PAT_TOPK, s, len, off)) {
		struct tlist *t;

		SX_GROW(v, alloc, n + 1);
		t = &v[n++];
		memset(t, 0, sizeof(*t));
		t->start = m->ov[0];
		t->end = m->ov[1];
		t->is = m->ov[2 * grp.items];
		t->ie = m->ov[2 * grp.items + 1];
		t->closed = has_group(m, grp.close);
		off = t->end > t->start ? t->end : t->start + 1;
	}
	/* Count items and spot echoes, with the item pattern (match data reused). */
	for (size_t i = 0; i < n; i++) {
		size_t o = v[i].is;

		while (o < v[i].ie && find(m, PAT_TITEM, s, v[i].ie, o)) {
			if (has_group(m, grp.t_angle))
				v[i].echo = 1;
			v[i].nitems++;
			o = m->ov[1] > m->ov[0] ? m->ov[1] : m->ov[0] + 1;
		}
	}
	*out = v;
	*nout = n;
}

static void collect_topk(struct matcher *m, const char *s, const struct tlist *t,
			 struct sx_parse_result *r)
{
	size_t off = t->is, alloc = 0;

	while (off < t->ie && find(m, PAT_TITEM, s, t->ie, off)) {
		char *w;

		if (has_group(m, grp.t_sq) || has_group(m, grp.t_dq)) {
			int g = has_group(m, grp.t_sq) ? grp.t_sq : grp.t_dq;
			w = unescape(s + m->ov[2 * g], m->ov[2 * g + 1] - m->ov[2 * g]);
		} else {
			w = xstrndup(s + m->ov[2 * grp.t_bare],
				     m->ov[2 * grp.t_bare + 1] - m->ov[2 * grp.t_bare]);
			r->repairs |= SX_REPAIR_UNQUOTED;
		}
		push_item(r, &alloc, w, 0.0, 0);
		off = m->ov[1] > m->ov[0] ? m->ov[1] : m->ov[0] + 1;
	}
}

static int pair_valid(const struct lexeme *l)
{
	return (l->ival == 0 || l->ival == 1) && l->value >= 0.0 && l->value <= 1.0;
}

static void decide_status(struct sx_parse_result *r, int has_list, int has_pair)
{
	int need_list = sx_cond_has_importance(r->cond) || sx_cond_is_topk(r->cond);

	if (r->has_rejected)
		r->status = SX_PARSE_INVALID;
	else if (!has_pair)
		r->status = need_list && has_list ? SX_PARSE_NO_PREDICTION : SX_PARSE_UNPARSEABLE;
	else if (need_list && !has_list)
		r->status = SX_PARSE_NO_EXPLANATION;
	else
		r->status = r->repairs ? SX_PARSE_OK_WITH_REPAIRS : SX_PARSE_OK;
}

/* The sanitised answer, its lexemes and runs, and which of its bytes are accounted for. */
struct scan {
	const char *s;
	size_t len;
	struct lexeme *lx; /* owned */
	size_t nlx;
	struct run *runs;  /* owned */
	size_t nruns;
	unsigned char *covered; /* owned, len bytes: 1 where a part of the answer is */
};

/* Fences and echoed format templates: repairs, and not prose. */
static void mark_lexemes(struct sx_parse_result *out, const struct scan *sc)
{
	size_t i;

	for (i = 0; i < sc->nlx; i++) {
		const struct lexeme *l = &sc->lx[i];

		if (l->kind == LEX_FENCE)
			out->repairs |= SX_REPAIR_FENCE;
		if (l->kind == LEX_FENCE || l->kind == LEX_ECHO || l->kind == LEX_AECHO)
			mark(sc->covered, l->start, l->end);
		if (l->kind == LEX_ECHO || l->kind == LEX_AECHO)
			out->repairs |= SX_REPAIR_ECHO;
	}
}

/*
 * The importance list of ep and pe: the list run with the most items. 1 when
 * it holds an item that was not dropped; *list_start is its offset.
 */
static int take_importance(struct sx_parse_result *out, const struct scan *sc,
			   char *const *tokens, size_t ntokens, size_t *list_start)
{
	const struct run *best = NULL;
	size_t cap = ntokens > SX_PARSE_MAX_ITEMS_MIN / 4 ? sx_size_mul(ntokens, 4)
							  : SX_PARSE_MAX_ITEMS_MIN;
	size_t i;
	int has_list = 0;

	for (i = 0; i < sc->nruns; i++)
		if (sc->runs[i].is_list && (!best || sc->runs[i].nitems > best->nitems))
			best = &sc->runs[i];
	if (best) {
		size_t a = sc->lx[best->first].start, b = sc->lx[best->last].end;

		collect_items(out, sc->s, sc->lx, best, cap);
		if (best->kv)
			out->repairs |= SX_REPAIR_WORD_VALUE;
		else if (!best->opened || !best->closed) {
			if (best->opened || best->cut)
				out->repairs |= SX_REPAIR_TRUNCATED;
			if (!best->opened && !best->closed)
				out->repairs |= SX_REPAIR_UNBRACKETED;
		}
		for (i = 0; i < out->nitems; i++)
			has_list |= !out->items[i].dropped;
		*list_start = a;
		if (best->cut || (best->opened && !best->closed))
			b = line_end(sc->s, sc->len, b);
		mark(sc->covered, a, b);
	}
	align_list(out, tokens, ntokens);
	return has_list;
}

/*
 * The word list of ep-topk and pe-topk: the one with the most items (a
 * closed one on a tie), echoed templates aside. 1 when it has items;
 * *list_start is its offset.
 */
static int take_topk(struct matcher *m, struct sx_parse_result *out, const struct scan *sc,
		     char *const *tokens, size_t ntokens, size_t *list_start)
{
	const struct tlist *best = NULL;
	struct tlist *tl = NULL;
	size_t ntl = 0, i;
	int has_list = 0;

	scan_topk(m, sc->s, sc->len, &tl, &ntl);
	for (i = 0; i < ntl; i++) {
		if (tl[i].echo) {
			out->repairs |= SX_REPAIR_ECHO;
			mark(sc->covered, tl[i].start, tl[i].end);
			continue;
		}
		if (!best || tl[i].nitems > best->nitems ||
		    (tl[i].nitems == best->nitems && tl[i].closed && !best->closed))
			best = &tl[i];
	}
	if (best) {
		collect_topk(m, sc->s, best, out);
		if (!best->closed)
			out->repairs |= SX_REPAIR_TRUNCATED;
		has_list = out->nitems > 0;
		*list_start = best->start;
		mark(sc->covered, best->start,
		     best->closed ? best->end : line_end(sc->s, sc->len, best->end));
	}
	align_topk(out, tokens, ntokens);
	free(tl);
	return has_list;
}

/*
 * Which kind of prediction candidate l is: 0 a plain (1, 0.9); 1 a secondary
 * one, a filled-in template, (<1>, 0.8) or (<1, 0.9>), or a word label,
 * (positive, 0.9); -1 none. Tuples and angle pairs inside an importance list
 * are items, not candidates.
 */
static int pair_tier(enum sx_cond cond, const struct scan *sc, const struct lexeme *l)
{
	if (l->kind == LEX_AECHO)
		return l->is_int ? 1 : -1;
	if (l->kind == LEX_TUPLE && !(l->is_int && l->quoting == Q_BARE) && !l->word_label)
		return -1;
	if (l->kind != LEX_TUPLE && l->kind != LEX_APAIR)
		return -1;
	if (l->kind == LEX_APAIR && !l->is_int)
		return -1;
	if (sx_cond_has_importance(cond) && sc->runs[l->run].is_list)
		return -1;
	return l->kind == LEX_TUPLE && l->is_int ? 0 : 1;
}

/* The prediction: the last valid plain pair, else the last valid secondary
 * candidate; with none valid, the last plain pair, else the last secondary
 * one (to be rejected). NULL when there is no candidate. */
static const struct lexeme *find_pair(enum sx_cond cond, const struct scan *sc)
{
	const struct lexeme *last[2] = { NULL, NULL }, *valid[2] = { NULL, NULL };
	size_t i;

	for (i = 0; i < sc->nlx; i++) {
		const struct lexeme *l = &sc->lx[i];
		int t = pair_tier(cond, sc, l);

		if (t < 0)
			continue;
		last[t] = l;
		if (pair_valid(l))
			valid[t] = l;
	}
	return valid[0] ? valid[0] : valid[1] ? valid[1] : last[0] ? last[0] : last[1];
}

/* ------------------------------------------------------------------ prose */

/* More statements than this in one answer: none of them is taken. */
#define PROSE_MAX_STMTS 16u
/* A negation this many bytes before a label statement, in its sentence, voids it. */
#define PROSE_NEG_WINDOW 32u
/* A confidence and a label statement farther apart than this are not one sentence. */
#define PROSE_MAX_GAP 160u

struct stmt {
	size_t start, end;
	int is_label;
	int bad;     /* unusable: "0 or 1", a contradicting gloss, a percentage, ... */
	int word;    /* the label given only as a word */
	int field;   /* a confidence given as a field ("Confidence: 0.9" opening a line) */
	long label;
	double conf;
};

/* "not", "never", "cannot" or a word ending in n't shortly before s[start], in its sentence. */
static int negated(const char *s, size_t start)
{
	size_t a = start > PROSE_NEG_WINDOW ? start - PROSE_NEG_WINDOW : 0, i = start, w;

	while (i > a && !strchr(".!?\n", s[i - 1]))
		i--;
	for (a = i; a < start; a = w) {
		size_t n;

		for (w = a; w < start && ((s[w] | 32) >= 'a' && (s[w] | 32) <= 'z'); w++)
			;
		n = w - a;
		if (n && w < start && s[w] == '\'' && w + 2 <= start && (s[w + 1] | 32) == 't' &&
		    (s[a + n - 1] | 32) == 'n')
			return 1; /* n't */
		if ((n == 3 && !strncasecmp(s + a, "not", 3)) ||
		    (n == 5 && !strncasecmp(s + a, "never", 5)) ||
		    (n == 6 && !strncasecmp(s + a, "cannot", 6)))
			return 1;
		if (w == a)
			w++;
	}
	return 0;
}

/* Only blanks, markdown, quotes, braces or a list marker between the line's start and s[i]. */
static int opens_line(const char *s, size_t i)
{
	while (i > 0 && s[i - 1] != '\n') {
		if (!strchr(" \t*_\"'`{#>|-+.)0123456789", s[i - 1]))
			return 0;
		i--;
	}
	return 1;
}

/* The bytes between two statements, s[a..b), stay within one sentence. */
static int one_sentence(const struct scan *sc, size_t a, size_t b)
{
	size_t i;

	if (b - a > PROSE_MAX_GAP)
		return 0;
	for (i = a; i < b; i++) {
		char c = sc->s[i];

		if (sc->covered[i] || c == '\n')
			return 0;
		if (strchr(".!?;", c) && (i + 1 >= sc->len || is_space(sc->s[i + 1])))
			return 0;
	}
	return 1;
}

/* Read the statement m just matched into *st. */
static void read_stmt(const struct matcher *m, const char *s, struct stmt *st)
{
	const PCRE2_SIZE *ov = m->ov;

	memset(st, 0, sizeof(*st));
	st->start = ov[0];
	st->end = ov[1];
	st->is_label = has_group(m, grp.lab);
	if (st->is_label) {
		long gloss;

		if (has_group(m, grp.ld)) {
			bare_int(s + ov[2 * grp.ld], ov[2 * grp.ld + 1] - ov[2 * grp.ld], &st->label);
			if (has_group(m, grp.lg)) {
				word_label(s + ov[2 * grp.lg], ov[2 * grp.lg + 1] - ov[2 * grp.lg],
					   &gloss);
				st->bad |= gloss != st->label;
			}
		} else {
			word_label(s + ov[2 * grp.lw], ov[2 * grp.lw + 1] - ov[2 * grp.lw], &st->label);
			st->word = !has_group(m, grp.lg2);
			if (!st->word) {
				bare_int(s + ov[2 * grp.lg2], ov[2 * grp.lg2 + 1] - ov[2 * grp.lg2],
					 &gloss);
				st->bad |= gloss != st->label;
			}
		}
		st->bad |= has_group(m, grp.lalt) || negated(s, st->start);
	} else {
		int g = has_group(m, grp.cv) ? grp.cv : grp.cv2;

		st->conf = num_at(s, ov[2 * g], ov[2 * g + 1]);
		st->field = has_group(m, grp.cfld) && opens_line(s, st->start);
		st->bad = has_group(m, grp.cpct) || has_group(m, grp.calt) ||
			  has_group(m, grp.cother);
	}
}

/* The statements outside the parts already accounted for; -1 if too many. */
static int scan_stmts(struct matcher *m, const struct scan *sc, struct stmt *v, size_t *n)
{
	size_t off = 0, i;

	*n = 0;
	while (find(m, PAT_STMT, sc->s, sc->len, off)) {
		size_t a = m->ov[0], b = m->ov[1];

		off = b > a ? b : a + 1;
		for (i = a; i < b && !sc->covered[i]; i++)
			;
		if (i < b)
			continue;
		if (*n == PROSE_MAX_STMTS)
			return -1;
		read_stmt(m, sc->s, &v[(*n)++]);
	}
	return 0;
}

/* The confidence statement c is in one sentence with a label statement, or a field. */
static int conf_tied(const struct scan *sc, const struct stmt *v, size_t n, const struct stmt *c)
{
	size_t i;

	if (c->field)
		return 1;
	for (i = 0; i < n; i++) {
		if (!v[i].is_label)
			continue;
		if (v[i].end <= c->start ? one_sentence(sc, v[i].end, c->start)
					 : one_sentence(sc, c->end, v[i].start))
			return 1;
	}
	return 0;
}

/* Mark a used statement covered, with the markdown, quotes and brackets around it. */
static void cover_stmt(const struct scan *sc, const struct stmt *st)
{
	static const char deco[] = " \t\r\n*_\"'`(){}:,;";
	size_t a = st->start, b = st->end;

	while (a > 0 && !sc->covered[a - 1] && strchr(deco, sc->s[a - 1]))
		a--;
	while (b < sc->len && !sc->covered[b] && strchr(deco, sc->s[b]))
		b++;
	mark(sc->covered, a, b);
}

/*
 * The prediction stated in prose, read only when the answer holds no pair:
 * every label statement gives the same label, every confidence statement the
 * same confidence and sits in a label statement's sentence (or is a field of
 * its own), none is unusable, and there is at least one of each. 1 and *out
 * filled (kind LEX_PROSE) when so; 0, and nothing covered, otherwise.
 */
static int prose_pair(struct matcher *m, const struct scan *sc, struct lexeme *out)
{
	struct stmt v[PROSE_MAX_STMTS];
	const struct stmt *lab = NULL, *conf = NULL;
	size_t n, i;
	int word = 0;

	if (scan_stmts(m, sc, v, &n) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		const struct stmt *st = &v[i];
		const struct stmt **first = st->is_label ? &lab : &conf;

		if (st->bad || (!st->is_label && !conf_tied(sc, v, n, st)))
			return 0;
		if (*first && (st->is_label ? st->label != (*first)->label
					    : st->conf != (*first)->conf))
			return 0;
		if (!*first)
			*first = st;
		word |= st->word;
	}
	if (!lab || !conf)
		return 0;
	memset(out, 0, sizeof(*out));
	out->kind = LEX_PROSE;
	out->start = lab->start < conf->start ? lab->start : conf->start;
	out->end = lab->start < conf->start ? lab->end : conf->end;
	out->ival = lab->label;
	out->value = conf->conf;
	out->is_int = 1;
	out->word_label = word;
	for (i = 0; i < n; i++)
		cover_stmt(sc, &v[i]);
	return 1;
}

/* The prediction: a pair if there is one (find_pair), else one stated in prose. */
static const struct lexeme *choose_pair(struct matcher *m, enum sx_cond cond,
					const struct scan *sc, struct lexeme *prose)
{
	const struct lexeme *pair = find_pair(cond, sc);

	if (!pair && prose_pair(m, sc, prose))
		pair = prose;
	return pair;
}

/* Offset of the first lone 0 or 1 in s[start, end) (not part of a number), SIZE_MAX if none. */
static size_t label_digit(const char *s, size_t len, size_t start, size_t end)
{
	size_t i;

	for (i = start; i < end && i < len; i++) {
		int before = i > start && (isdigit((unsigned char)s[i - 1]) || s[i - 1] == '.');
		int after = i + 1 < len && (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '.');

		if ((s[i] == '0' || s[i] == '1') && !before && !after)
			return i;
	}
	return SIZE_MAX;
}

/* Record the pair as the prediction, or as the rejected one when it is not valid. */
static void take_pair(struct sx_parse_result *out, const struct lexeme *pair)
{
	if (pair->kind == LEX_APAIR)
		out->repairs |= SX_REPAIR_ANGLE_BRACKETS;
	if (pair->word_label)
		out->repairs |= SX_REPAIR_WORD_LABEL;
	if (pair->kind == LEX_PROSE)
		out->repairs |= SX_REPAIR_PROSE_PREDICTION;
	if (pair_valid(pair)) {
		out->has_prediction = 1;
		out->label = (int)pair->ival;
		out->confidence = pair->value;
	} else {
		out->has_rejected = 1;
		out->rejected_label = pair->ival;
		out->rejected_confidence = pair->value;
	}
}

int sx_parse_answer(enum sx_cond cond, const char *text, size_t len, char *const *tokens,
		    size_t ntokens, struct sx_parse_result *out)
{
	static const struct sx_parse_result init = SX_PARSE_RESULT_INIT;
	struct sx_buf clean = SX_BUF_INIT;
	struct matcher *m = NULL;
	struct scan sc = { NULL, 0, NULL, 0, NULL, 0, NULL };
	size_t list_start = SIZE_MAX, pair_start = SIZE_MAX;
	const struct lexeme *pair;
	struct lexeme prose;
	int has_list = 0;

	*out = init;
	out->cond = cond;
	if ((!text && len) || (unsigned)cond >= SX_COND_COUNT)
		return SX_EINPUT;
	pthread_once(&pats_once, compile_patterns);
	if (len > SX_PARSE_MAX_BYTES) {
		len = SX_PARSE_MAX_BYTES;
		out->repairs |= SX_REPAIR_TRUNCATED;
	}
	out->repairs |= sanitise(text ? text : "", len, &clean);
	sc.s = clean.buf;
	sc.len = clean.len;
	out->ntokens = ntokens;
	sc.covered = xcalloc(sc.len ? sc.len : 1, 1);
	m = matcher_get();

	lex(m, sc.s, sc.len, sx_cond_has_importance(cond), &sc.lx, &sc.nlx);
	make_runs(sc.s, sc.len, sc.lx, sc.nlx, &sc.runs, &sc.nruns);
	mark_lexemes(out, &sc);
	if (sx_cond_has_importance(cond))
		has_list = take_importance(out, &sc, tokens, ntokens, &list_start);
	else if (sx_cond_is_topk(cond))
		has_list = take_topk(m, out, &sc, tokens, ntokens, &list_start);
	pair = choose_pair(m, cond, &sc, &prose);
	if (pair) {
		pair_start = pair->start;
		mark(sc.covered, pair->start, pair->end);
		take_pair(out, pair);
		/* offsets in the answer itself only when sanitising changed no byte */
		if (out->has_prediction && !pair->word_label && clean.len == len &&
		    (!len || !memcmp(clean.buf, text, len)))
			out->label_at = label_digit(sc.s, sc.len, pair->start, pair->end);
	}
	if (list_start != SIZE_MAX && pair_start != SIZE_MAX &&
	    (sx_cond_explains_first(cond) ? pair_start < list_start : list_start < pair_start))
		out->repairs |= SX_REPAIR_REORDERED;
	if (m->failed)
		out->repairs |= SX_REPAIR_TRUNCATED;
	if (prose_left(sc.s, sc.len, sc.covered))
		out->repairs |= SX_REPAIR_PROSE;
	decide_status(out, has_list, pair != NULL);

	matcher_put(m);
	free(sc.covered);
	free(sc.lx);
	free(sc.runs);
	sx_buf_release(&clean);
	return 0;
}

void sx_parse_result_release(struct sx_parse_result *r)
{
	static const struct sx_parse_result init = SX_PARSE_RESULT_INIT;
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nitems; i++)
		free(r->items[i].word);
	free(r->items);
	free(r->values);
	free(r->has_value);
	free(r->topk);
	for (i = 0; i < r->nunmatched; i++)
		free(r->unmatched[i]);
	free(r->unmatched);
	*r = init;
}

/* ------------------------------------------------------------------- JSON */

static struct sx_json *pair_json(long label, double conf)
{
	struct sx_json *o = sx_json_new_object();

	sx_json_add_num(o, "label", (double)label);
	sx_json_add_num(o, "confidence", conf);
	return o;
}

struct sx_json *sx_parse_result_to_json(const struct sx_parse_result *r)
{
	struct sx_json *o = sx_json_new_object(), *a;
	size_t i;
	unsigned b;

	sx_json_add_str(o, "condition", sx_cond_name(r->cond));
	sx_json_add_str(o, "status", sx_parse_status_name(r->status));
	a = sx_json_add(o, "repairs", sx_json_new_array());
	for (b = 0; b < SX_REPAIR_NBITS; b++)
		if (r->repairs & (1u << b))
			sx_json_push(a, sx_json_new_str(repair_names[b]));
	sx_json_add(o, "prediction", r->has_prediction ? pair_json(r->label, r->confidence)
						      : sx_json_new_null());
	sx_json_add(o, "rejected", r->has_rejected
					   ? pair_json(r->rejected_label, r->rejected_confidence)
					   : sx_json_new_null());
	a = sx_json_add(o, "items", sx_json_new_array());
	for (i = 0; i < r->nitems; i++) {
		if (r->items[i].has_value) {
			struct sx_json *p = sx_json_push(a, sx_json_new_array());

			sx_json_push(p, sx_json_new_str(r->items[i].word));
			sx_json_push(p, sx_json_new_num(r->items[i].value));
		} else {
			sx_json_push(a, sx_json_new_str(r->items[i].word));
		}
	}
	a = sx_json_add(o, "dropped", sx_json_new_array());
	for (i = 0; i < r->nitems; i++)
		if (r->items[i].dropped)
			sx_json_push(a, sx_json_new_num((double)i));
	if (sx_cond_has_importance(r->cond)) {
		a = sx_json_add(o, "values", sx_json_new_array());
		for (i = 0; i < r->ntokens; i++)
			sx_json_push(a, r->has_value && r->has_value[i]
						? sx_json_new_num(r->values[i])
						: sx_json_new_null());
	}
	if (sx_cond_is_topk(r->cond)) {
		a = sx_json_add(o, "topk", sx_json_new_array());
		for (i = 0; i < r->ntopk; i++)
			sx_json_push(a, sx_json_new_num((double)r->topk[i]));
	}
	sx_json_add(o, "coverage", r->cond == SX_COND_PRED ? sx_json_new_null()
							   : sx_json_new_num(r->coverage));
	a = sx_json_add(o, "unmatched", sx_json_new_array());
	for (i = 0; i < r->nunmatched; i++)
		sx_json_push(a, sx_json_new_str(r->unmatched[i]));
	return o;
}

void sx_parse_align_first_exact(struct sx_parse_result *r, char *const *tokens, size_t ntokens)
{
	size_t i, j, ualloc = 0, talloc = 0, nwords = 0, naligned = 0, nvalued = 0;
	int importance = sx_cond_has_importance(r->cond);

	if (!importance && !sx_cond_is_topk(r->cond))
		return;
	if (importance && (!r->values || r->ntokens != ntokens))
		return;
	for (i = 0; i < r->nunmatched; i++)
		free(r->unmatched[i]);
	free(r->unmatched);
	r->unmatched = NULL;
	r->nunmatched = 0;
	r->repairs &= ~(SX_REPAIR_MERGED | SX_REPAIR_SPLIT | SX_REPAIR_REWRITTEN | SX_REPAIR_DUPLICATE);
	if (importance) {
		memset(r->values, 0, ntokens * sizeof(*r->values));
		memset(r->has_value, 0, ntokens);
	} else {
		free(r->topk);
		r->topk = NULL;
		r->ntopk = 0;
	}
	for (i = 0; i < r->nitems; i++) {
		const struct sx_parse_item *it = &r->items[i];

		if (it->dropped)
			continue;
		if (it->word[0])
			nwords++;
		for (j = 0; j < ntokens && strcmp(it->word, tokens[j]); j++)
			;
		if (j == ntokens || !it->word[0]) {
			add_unmatched(r, it->word, &ualloc);
			continue;
		}
		naligned++;
		if (importance) {
			r->values[j] = it->value;
			r->has_value[j] = 1;
		} else {
			SX_GROW(r->topk, talloc, r->ntopk + 1);
			r->topk[r->ntopk++] = j;
		}
	}
	if (importance) {
		for (j = 0; j < ntokens; j++)
			nvalued += r->has_value[j];
		r->coverage = ntokens ? (double)nvalued / (double)ntokens : 0.0;
	} else {
		r->coverage = nwords ? (double)naligned / (double)nwords : 0.0;
	}
}
