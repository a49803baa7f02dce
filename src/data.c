/*
 * Review data sets: TSV, CSV and JSONL readers (contract in selfexp/data.h).
 *
 * The whole file is read into memory and walked once; rows are checked in
 * a fixed order (length cap, NUL byte, UTF-8, fields, label, review, id) so
 * that a file with several problems always reports the same one first.
 * Duplicate ids are found through an open-addressing hash set, so loading
 * is linear in the size of the file.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/data.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/utf8.h"

/* Bytes of an offending value shown in a message before it is cut with "...". */
#define SHOW_MAX 40
#define SHOW_BUF (SHOW_MAX * 4 + 8)

struct field {
	size_t off, len; /* within record.base */
};

struct record {
	const char *base; /* borrowed: the file (TSV) or the parser's scratch buffer (CSV) */
	struct field *f;  /* owned */
	size_t n, alloc;
};

struct parser {
	const char *name; /* borrowed */
	const char *p;    /* borrowed: the file's bytes, after any BOM */
	size_t end;       /* end of the content, trailing blank lines cut off */
	size_t max_line;
	int skip;
	char sep;         /* '\t' or ',' */
	struct sx_dataset *ds;
	struct sx_err *err;

	size_t *slots;    /* owned; id hash set: review index + 1, 0 = empty */
	size_t nslots;

	struct sx_buf scratch; /* CSV: unquoted field bytes of the current record */
	struct record rec;

	/* Column indexes from the header; -1 when absent. */
	long col_id, col_text, col_label;
	size_t ncols;
	const char *text_name;

	int labels_decided; /* JSONL: set by the first row that gets as far as its label */
};

/* ------------------------------------------------------------------------ */
/* Formats */

static const struct {
	const char *name;
	enum sx_data_format format;
} format_names[] = {
	{ "tsv", SX_DATA_TSV },
	{ "jsonl", SX_DATA_JSONL },
	{ "ndjson", SX_DATA_JSONL },
	{ "csv", SX_DATA_CSV },
};

int sx_data_format_from_name(const char *s, enum sx_data_format *out)
{
	size_t i;

	for (i = 0; s && i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (!strcasecmp(s, format_names[i].name)) {
			*out = format_names[i].format;
			return 0;
		}
	}
	return -1;
}

enum sx_data_format sx_data_format_from_path(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;
	enum sx_data_format f;

	if (!dot || strchr(dot, '/') || sx_data_format_from_name(dot + 1, &f))
		return SX_DATA_AUTO;
	return f;
}

const char *sx_data_format_name(enum sx_data_format f)
{
	switch (f) {
	case SX_DATA_TSV:
		return "tsv";
	case SX_DATA_JSONL:
		return "jsonl";
	case SX_DATA_CSV:
		return "csv";
	case SX_DATA_AUTO:
		break;
	}
	return "auto";
}

/* ------------------------------------------------------------------------ */
/* Byte-level helpers */

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int all_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_space((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Cut spaces and tabs from both ends of s[0..*len). */
static const char *trim(const char *s, size_t *len)
{
	while (*len && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		(*len)--;
	}
	while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

/* Render s[0..len) for a message: at most SHOW_MAX bytes (cut on a character
 * boundary, then "..."), control characters escaped. out has SHOW_BUF bytes. */
static const char *show(char *out, const char *s, size_t len)
{
	size_t cut = len, i, o = 0;

	if (cut > SHOW_MAX) {
		cut = SHOW_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	for (i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t') {
			memcpy(out + o, "\\t", 2);
			o += 2;
		} else if (c == '\n') {
			memcpy(out + o, "\\n", 2);
			o += 2;
		} else if (c == '\r') {
			memcpy(out + o, "\\r", 2);
			o += 2;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, SHOW_BUF - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (cut < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ------------------------------------------------------------------------ */
/* Problems */

/*
 * Report a problem at line. A fatal one, or any one when bad rows are not
 * skipped, goes into err and returns SX_EINPUT; otherwise the row is counted
 * as skipped, its message kept, and 1 returned (go on with the next row).
 */
__attribute__((format(printf, 4, 5)))
static int problem(struct parser *ps, int fatal, size_t line, const char *fmt, ...)
{
	struct sx_buf msg = SX_BUF_INIT;
	struct sx_dataset *ds = ps->ds;
	va_list ap;

	if (line)
		sx_buf_addf(&msg, "'%s' line %zu: ", ps->name, line);
	else
		sx_buf_addf(&msg, "'%s': ", ps->name);
	va_start(ap, fmt);
	sx_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (fatal || !ps->skip) {
		sx_err_set(ps->err, SX_EINPUT, "%s", msg.buf);
		sx_buf_release(&msg);
		return SX_EINPUT;
	}
	ds->skipped++;
	if (ds->nskip_msgs < SX_DATA_MAX_SKIP_MSGS) {
		SX_GROW(ds->skip_msgs, ds->skip_msgs_alloc, ds->nskip_msgs + 1);
		ds->skip_msgs[ds->nskip_msgs++] = sx_buf_detach(&msg, NULL);
	}
	sx_buf_release(&msg);
	return 1;
}

/*
 * The checks every line or record gets before its fields are looked at:
 * the length cap, NUL bytes and UTF-8. s[0..len) starts on line `line`; a
 * problem is reported on the line where the offending byte is.
 */
static int check_bytes(struct parser *ps, int fatal, size_t line, const char *s, size_t len,
		       const char *what)
{
	const char *nul;
	size_t bad;

	if (len > ps->max_line)
		return problem(ps, fatal, line, "%s is longer than the %zu byte cap", what,
			       ps->max_line);
	nul = memchr(s, '\0', len);
	bad = sx_utf8_valid_prefix(s, nul ? (size_t)(nul - s) : len);
	if (bad < (nul ? (size_t)(nul - s) : len)) {
		const char *q, *sol = s;

		for (q = s; q < s + bad; q++) {
			if (*q == '\n') {
				line++;
				sol = q + 1;
			}
		}
		return problem(ps, fatal, line, "invalid UTF-8 (byte 0x%02x at column %zu)",
			       (unsigned char)s[bad], (size_t)(s + bad - sol) + 1);
	}
	if (nul) {
		const char *q, *sol = s;

		for (q = s; q < nul; q++) {
			if (*q == '\n') {
				line++;
				sol = q + 1;
			}
		}
		return problem(ps, fatal, line, "contains a NUL byte (at column %zu)",
			       (size_t)(nul - sol) + 1);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Reviews and the id set */

static uint64_t hash_bytes(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Index + 1 of the review with this id, or 0; *slot gets where it would go. */
static size_t id_find(const struct parser *ps, const char *id, size_t *slot)
{
	size_t mask = ps->nslots - 1;
	size_t i = (size_t)hash_bytes(id) & mask;

	while (ps->slots[i]) {
		if (!strcmp(ps->ds->reviews[ps->slots[i] - 1].id, id))
			break;
		i = (i + 1) & mask;
	}
	*slot = i;
	return ps->slots[i];
}

static void id_grow(struct parser *ps)
{
	size_t *old = ps->slots, nold = ps->nslots, i, slot;

	ps->nslots = nold ? sx_size_mul(nold, 2) : 64;
	ps->slots = xcalloc(ps->nslots, sizeof(*ps->slots));
	for (i = 0; i < nold; i++) {
		if (old[i]) {
			id_find(ps, ps->ds->reviews[old[i] - 1].id, &slot);
			ps->slots[slot] = old[i];
		}
	}
	free(old);
}

static void tokenize(struct sx_review *r)
{
	const char *s = r->text, *w;
	size_t n = 0, i = 0;

	for (w = s; *w;) {
		while (*w && is_space((unsigned char)*w))
			w++;
		if (!*w)
			break;
		n++;
		while (*w && !is_space((unsigned char)*w))
			w++;
	}
	r->tokens = xcalloc(n ? n : 1, sizeof(*r->tokens));
	r->ntokens = n;
	for (w = s; *w;) {
		const char *start;

		while (*w && is_space((unsigned char)*w))
			w++;
		if (!*w)
			break;
		start = w;
		while (*w && !is_space((unsigned char)*w))
			w++;
		r->tokens[i++] = xstrndup(start, (size_t)(w - start));
	}
}

/*
 * Add a review after the checks that hold for every format. id is NULL when
 * the row has none (the row number is used); rowno counts data rows.
 */
static int add_review(struct parser *ps, size_t line, size_t rowno, const char *id, size_t idlen,
		      const char *text, size_t textlen, int gold)
{
	struct sx_dataset *ds = ps->ds;
	struct sx_review *r;
	char num[32], buf[SHOW_BUF];
	char *idcopy;
	size_t slot, found;

	if (all_space(text, textlen))
		return problem(ps, 0, line, "empty review");
	if (id) {
		id = trim(id, &idlen);
		if (!idlen)
			return problem(ps, 0, line, "empty id");
		idcopy = xstrndup(id, idlen);
	} else {
		snprintf(num, sizeof(num), "%zu", rowno);
		idcopy = xstrdup(num);
	}
	if (ds->n * 2 >= ps->nslots)
		id_grow(ps);
	found = id_find(ps, idcopy, &slot);
	if (found) {
		int rc = problem(ps, 0, line, "duplicate id '%s' (first on line %zu)",
				 show(buf, idcopy, strlen(idcopy)), ds->reviews[found - 1].line);
		free(idcopy);
		return rc;
	}
	SX_GROW(ds->reviews, ds->alloc, ds->n + 1);
	r = &ds->reviews[ds->n];
	memset(r, 0, sizeof(*r));
	r->id = idcopy;
	r->text = xstrndup(text, textlen);
	r->gold = gold;
	r->line = line;
	tokenize(r);
	ds->n++;
	ps->slots[slot] = ds->n;
	return 0;
}

void sx_review_release(struct sx_review *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ntokens; i++)
		free(r->tokens[i]);
	free(r->tokens);
	free(r->id);
	free(r->text);
	memset(r, 0, sizeof(*r));
	r->gold = -1;
}

void sx_dataset_release(struct sx_dataset *ds)
{
	struct sx_dataset empty = SX_DATASET_INIT;
	size_t i;

	if (!ds)
		return;
	for (i = 0; i < ds->n; i++)
		sx_review_release(&ds->reviews[i]);
	free(ds->reviews);
	for (i = 0; i < ds->nskip_msgs; i++)
		free(ds->skip_msgs[i]);
	free(ds->skip_msgs);
	*ds = empty;
}

/* "0" or "1" (spaces around allowed) -> 0/1; -1 otherwise. */
static int label_value(const char *s, size_t len)
{
	s = trim(s, &len);
	if (len == 1 && (s[0] == '0' || s[0] == '1'))
		return s[0] - '0';
	return -1;
}

/* ------------------------------------------------------------------------ */
/* TSV and CSV */

static void rec_push(struct record *rec, size_t off, size_t len)
{
	SX_GROW(rec->f, rec->alloc, rec->n + 1);
	rec->f[rec->n].off = off;
	rec->f[rec->n].len = len;
	rec->n++;
}

/* Split a TSV line into fields pointing into the file. */
static void tsv_split(struct parser *ps, size_t start, size_t len)
{
	const char *s = ps->p + start, *tab;
	size_t off = 0;

	ps->rec.base = s;
	ps->rec.n = 0;
	while ((tab = memchr(s + off, '\t', len - off))) {
		rec_push(&ps->rec, off, (size_t)(tab - (s + off)));
		off = (size_t)(tab - s) + 1;
	}
	rec_push(&ps->rec, off, len - off);
}

enum csv_state { CSV_START, CSV_PLAIN, CSV_QUOTED, CSV_CLOSED };

/*
 * Read one CSV record starting at pos into ps->rec (field bytes in
 * ps->scratch). Returns the offset just after the record's line end; *rawlen
 * gets the record's length without the line end, *nlines the line breaks it
 * consumed, *bad a description of a quoting problem or NULL.
 */
static size_t csv_record(struct parser *ps, size_t pos, size_t *rawlen, size_t *nlines,
			 const char **bad)
{
	const char *p = ps->p;
	enum csv_state st = CSV_START;
	size_t i = pos, fstart = 0;

	sx_buf_reset(&ps->scratch);
	ps->rec.n = 0;
	*nlines = 0;
	*bad = NULL;
	while (i < ps->end) {
		char c = p[i];

		if (st == CSV_QUOTED) {
			if (c == '"') {
				if (i + 1 < ps->end && p[i + 1] == '"') {
					sx_buf_addch(&ps->scratch, '"');
					i += 2;
					continue;
				}
				st = CSV_CLOSED;
			} else {
				if (c == '\n')
					(*nlines)++;
				sx_buf_addch(&ps->scratch, c);
			}
			i++;
			continue;
		}
		if (c == ',') {
			rec_push(&ps->rec, fstart, ps->scratch.len - fstart);
			fstart = ps->scratch.len;
			st = CSV_START;
		} else if (c == '\n' || (c == '\r' && (i + 1 == ps->end || p[i + 1] == '\n'))) {
			break;
		} else if (c == '"' && st == CSV_START) {
			st = CSV_QUOTED;
		} else {
			if (st == CSV_CLOSED && !*bad)
				*bad = "unexpected character after a closing quote";
			sx_buf_addch(&ps->scratch, c);
			st = CSV_PLAIN;
		}
		i++;
	}
	if (st == CSV_QUOTED)
		*bad = "unterminated quoted field";
	rec_push(&ps->rec, fstart, ps->scratch.len - fstart);
	ps->rec.base = ps->scratch.buf;
	*rawlen = i - pos;
	if (i < ps->end && p[i] == '\r')
		i++;
	if (i < ps->end && p[i] == '\n') {
		(*nlines)++;
		i++;
	}
	return i;
}

static int header_is(const char *s, size_t len, const char *name)
{
	s = trim(s, &len);
	return len == strlen(name) && !strncasecmp(s, name, len);
}

static int take_header(struct parser *ps, const char *raw, size_t rawlen)
{
	static const char *const names[] = { "id", "sentence", "text", "label" };
	long cols[4] = { -1, -1, -1, -1 };
	char buf[SHOW_BUF];
	size_t i, k;

	for (i = 0; i < ps->rec.n; i++) {
		const char *s = ps->rec.base + ps->rec.f[i].off;
		size_t len = ps->rec.f[i].len;

		for (k = 0; k < 4; k++) {
			if (!header_is(s, len, names[k]))
				continue;
			if (cols[k] >= 0)
				return problem(ps, 1, 1, "column '%s' appears twice in the header",
					       names[k]);
			cols[k] = (long)i;
		}
	}
	if (cols[1] >= 0 && cols[2] >= 0)
		return problem(ps, 1, 1, "header has both a 'sentence' and a 'text' column");
	if (cols[1] < 0 && cols[2] < 0)
		return problem(ps, 1, 1,
			       "header '%s' has no 'sentence' or 'text' column; the first line "
			       "must name the columns, e.g. 'sentence%slabel'",
			       show(buf, raw, rawlen), ps->sep == '\t' ? "\\t" : ",");
	ps->col_id = cols[0];
	ps->col_text = cols[1] >= 0 ? cols[1] : cols[2];
	ps->text_name = cols[1] >= 0 ? "sentence" : "text";
	ps->col_label = cols[3];
	ps->ncols = ps->rec.n;
	ps->ds->labelled = ps->col_label >= 0;
	return 0;
}

/* The first of our columns that a row of nfields fields lacks, or NULL. */
static const char *missing_column(const struct parser *ps, size_t nfields)
{
	long best = -1;
	const char *name = NULL;

	if (ps->col_text >= (long)nfields) {
		best = ps->col_text;
		name = ps->text_name;
	}
	if (ps->col_label >= (long)nfields && (best < 0 || ps->col_label < best)) {
		best = ps->col_label;
		name = "label";
	}
	if (ps->col_id >= (long)nfields && (best < 0 || ps->col_id < best))
		name = "id";
	return name;
}

static int take_row(struct parser *ps, size_t line, size_t rowno)
{
	const struct record *rec = &ps->rec;
	const struct field *text, *label, *id;
	char buf[SHOW_BUF];
	int gold = -1;

	if (rec->n < ps->ncols) {
		const char *miss = missing_column(ps, rec->n);

		if (miss)
			return problem(ps, 0, line,
				       "missing column '%s' (the row has %zu field%s, the header %zu)",
				       miss, rec->n, rec->n == 1 ? "" : "s", ps->ncols);
		return problem(ps, 0, line, "the row has %zu field%s, the header %zu", rec->n,
			       rec->n == 1 ? "" : "s", ps->ncols);
	}
	if (rec->n > ps->ncols)
		return problem(ps, 0, line, "the row has %zu fields, the header %zu (%s)", rec->n,
			       ps->ncols,
			       ps->sep == '\t' ? "a tab inside the review?"
					       : "an unquoted comma inside a field?");
	text = &rec->f[ps->col_text];
	if (ps->col_label >= 0) {
		label = &rec->f[ps->col_label];
		gold = label_value(rec->base + label->off, label->len);
		if (gold < 0)
			return problem(ps, 0, line, "label '%s' is not 0 or 1",
				       show(buf, rec->base + label->off, label->len));
	}
	id = ps->col_id >= 0 ? &rec->f[ps->col_id] : NULL;
	return add_review(ps, line, rowno, id ? rec->base + id->off : NULL, id ? id->len : 0,
			  rec->base + text->off, text->len, gold);
}

/* The next line from *pos, without its \n or \r\n: [*start, *start + *len); 0 at the end. */
static int next_line(const struct parser *ps, size_t *pos, size_t *start, size_t *len)
{
	const char *nl;
	size_t lend;

	if (*pos >= ps->end)
		return 0;
	nl = memchr(ps->p + *pos, '\n', ps->end - *pos);
	lend = nl ? (size_t)(nl - ps->p) : ps->end;
	*start = *pos;
	*len = lend - *pos;
	if (*len && ps->p[lend - 1] == '\r')
		(*len)--;
	*pos = lend + 1;
	return 1;
}

static int parse_tsv(struct parser *ps)
{
	size_t pos = 0, line = 0, start, len;
	int rc;

	while (next_line(ps, &pos, &start, &len)) {
		line++;
		rc = check_bytes(ps, line == 1, line, ps->p + start, len, "line");
		if (!rc && line > 1 && all_space(ps->p + start, len))
			rc = problem(ps, 0, line, "blank line");
		if (!rc) {
			tsv_split(ps, start, len);
			rc = line == 1 ? take_header(ps, ps->p + start, len) : take_row(ps, line, line - 1);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_csv(struct parser *ps)
{
	size_t pos = 0, line = 1, rowno = 0;
	int rc;

	while (pos < ps->end) {
		size_t rawlen, nlines, next;
		const char *bad;
		const char *raw = ps->p + pos;

		next = csv_record(ps, pos, &rawlen, &nlines, &bad);
		rc = check_bytes(ps, line == 1, line, raw, rawlen, "record");
		if (rc)
			goto next;
		if (line > 1 && all_space(raw, rawlen)) {
			rc = problem(ps, 0, line, "blank line");
			goto next;
		}
		if (bad) {
			rc = problem(ps, line == 1, line, "%s", bad);
			goto next;
		}
		rc = line == 1 ? take_header(ps, raw, rawlen) : take_row(ps, line, rowno + 1);
	next:
		if (rc < 0)
			return rc;
		if (line > 1)
			rowno++;
		line += nlines;
		pos = next;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* JSONL */

static int json_label(const struct sx_json *j)
{
	double v;
	const char *s;

	if (sx_json_type_of(j) == SX_JSON_NUMBER && !sx_json_num(j, &v) && (v == 0.0 || v == 1.0))
		return (int)v;
	s = sx_json_str(j);
	if (s && (!strcmp(s, "0") || !strcmp(s, "1")))
		return s[0] - '0';
	return -1;
}

static int jsonl_row(struct parser *ps, size_t line, const char *s, size_t len)
{
	struct sx_err jerr = SX_ERR_INIT;
	struct sx_json *j = NULL, *tj, *sj, *lj, *ij;
	char idnum[32], buf[SHOW_BUF];
	const char *text, *id = NULL, *tname;
	int gold = -1, rc;

	j = sx_json_parse(s, len, &jerr);
	if (!j)
		return problem(ps, 0, line, "%s", jerr.msg);
	if (sx_json_type_of(j) != SX_JSON_OBJECT) {
		rc = problem(ps, 0, line, "not a JSON object");
		goto out;
	}
	tj = sx_json_get(j, "text");
	sj = sx_json_get(j, "sentence");
	if (tj && sj) {
		rc = problem(ps, 0, line, "has both 'text' and 'sentence'");
		goto out;
	}
	tname = tj ? "text" : "sentence";
	if (!tj)
		tj = sj;
	if (!tj) {
		rc = problem(ps, 0, line, "no 'text' or 'sentence' member");
		goto out;
	}
	text = sx_json_str(tj);
	if (!text) {
		rc = problem(ps, 0, line, "'%s' is not a string", tname);
		goto out;
	}
	if (!sx_utf8_valid(text, strlen(text))) {
		rc = problem(ps, 0, line, "'%s' is not valid UTF-8 (an unpaired surrogate escape?)",
			     tname);
		goto out;
	}
	lj = sx_json_get(j, "label");
	if (!ps->labels_decided) {
		ps->labels_decided = 1;
		ps->ds->labelled = lj != NULL;
	}
	if (ps->ds->labelled) {
		if (!lj) {
			rc = problem(ps, 0, line, "no 'label' member (earlier rows have one)");
			goto out;
		}
		gold = json_label(lj);
		if (gold < 0) {
			char *shown = sx_json_print(lj, 0);

			rc = problem(ps, 0, line, "label %s is not 0 or 1",
				     show(buf, shown, strlen(shown)));
			free(shown);
			goto out;
		}
	} else if (lj) {
		rc = problem(ps, 0, line, "has a 'label' but the first row has none");
		goto out;
	}
	ij = sx_json_get(j, "id");
	if (ij) {
		double v;

		id = sx_json_str(ij);
		if (!id) {
			if (sx_json_type_of(ij) != SX_JSON_NUMBER || sx_json_num(ij, &v) ||
			    v != floor(v) || fabs(v) > 9007199254740992.0) {
				rc = problem(ps, 0, line, "'id' is not a string or an integer");
				goto out;
			}
			snprintf(idnum, sizeof(idnum), "%.0f", v == 0.0 ? 0.0 : v);
			id = idnum;
		}
	}
	rc = add_review(ps, line, line, id, id ? strlen(id) : 0, text, strlen(text), gold);
out:
	sx_json_free(j);
	return rc;
}

static int parse_jsonl(struct parser *ps)
{
	size_t pos = 0, line = 0, start, len;
	int rc;

	while (next_line(ps, &pos, &start, &len)) {
		line++;
		rc = check_bytes(ps, 0, line, ps->p + start, len, "line");
		if (!rc && all_space(ps->p + start, len))
			rc = problem(ps, 0, line, "blank line");
		if (!rc)
			rc = jsonl_row(ps, line, ps->p + start, len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Entry points */

/* End of the content of p[0..len) without the blank lines at its end. */
static size_t content_end(const char *p, size_t len)
{
	size_t e = len;

	while (e > 0) {
		const char *nl = memrchr(p, '\n', e);
		size_t s = nl ? (size_t)(nl - p) + 1 : 0;

		if (!all_space(p + s, e - s))
			return e;
		if (!s)
			return 0;
		e = s - 1;
	}
	return 0;
}

int sx_data_parse(const char *name, const char *bytes, size_t len, const struct sx_data_opts *opts,
		  struct sx_dataset *ds, struct sx_err *err)
{
	static const struct sx_data_opts defaults = SX_DATA_OPTS_INIT;
	struct sx_dataset empty = SX_DATASET_INIT;
	struct parser ps;
	int rc;

	if (!opts)
		opts = &defaults;
	*ds = empty;
	memset(&ps, 0, sizeof(ps));
	ps.name = name ? name : "-";
	ps.max_line = opts->max_line ? opts->max_line : SX_DATA_MAX_LINE;
	ps.skip = opts->skip_bad_rows;
	ps.ds = ds;
	ps.err = err;
	ps.col_id = ps.col_text = ps.col_label = -1;
	sx_buf_init(&ps.scratch, 0);

	ds->format = opts->format != SX_DATA_AUTO ? opts->format : sx_data_format_from_path(name);
	if (ds->format == SX_DATA_AUTO)
		return sx_err_set(err, SX_EINPUT,
				  "'%s': cannot tell the data format from the file name "
				  "(expected .tsv, .jsonl, .ndjson or .csv); name the format",
				  ps.name);
	if (len >= 3 && !memcmp(bytes, "\xEF\xBB\xBF", 3)) {
		bytes += 3;
		len -= 3;
	}
	ps.p = bytes;
	ps.end = content_end(bytes, len);
	if (ds->format == SX_DATA_TSV) {
		ps.sep = '\t';
		rc = parse_tsv(&ps);
	} else if (ds->format == SX_DATA_CSV) {
		ps.sep = ',';
		rc = parse_csv(&ps);
	} else {
		rc = parse_jsonl(&ps);
	}
	if (!rc && !ds->n) {
		if (ds->skipped)
			rc = problem(&ps, 1, 0, "no reviews (%s%zu bad row%s skipped; the first: %s)",
				     ds->skipped == 1 ? "the " : "all ", ds->skipped,
				     ds->skipped == 1 ? "" : "s",
				     ds->nskip_msgs ? ds->skip_msgs[0] : "?");
		else
			rc = problem(&ps, 1, 0, "no reviews (the file is empty%s)",
				     ds->format == SX_DATA_JSONL ? "" : " or has only a header");
	}
	free(ps.slots);
	free(ps.rec.f);
	sx_buf_release(&ps.scratch);
	if (rc < 0) {
		enum sx_data_format f = ds->format;

		sx_dataset_release(ds);
		ds->format = f;
	}
	return rc < 0 ? rc : 0;
}

int sx_data_load(const char *path, const struct sx_data_opts *opts, struct sx_dataset *ds,
		 struct sx_err *err)
{
	struct sx_dataset empty = SX_DATASET_INIT;
	struct sx_buf b = SX_BUF_INIT;
	int rc;

	*ds = empty;
	rc = sx_file_read(path, SX_DATA_MAX_FILE, &b, err);
	if (!rc)
		rc = sx_data_parse(path, b.buf, b.len, opts, ds, err);
	sx_buf_release(&b);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Statistics */

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* Percentile q in [0, 1] of sorted x[0..n), n > 0 (R type 7). */
static double percentile(const size_t *x, size_t n, double q)
{
	double h = (double)(n - 1) * q;
	size_t lo = (size_t)floor(h);

	if (lo + 1 >= n)
		return (double)x[n - 1];
	return (double)x[lo] + (h - (double)lo) * ((double)x[lo + 1] - (double)x[lo]);
}

void sx_data_stats(const struct sx_dataset *ds, struct sx_data_stats *st)
{
	size_t *len, i;

	memset(st, 0, sizeof(*st));
	st->n = ds->n;
	st->skipped = ds->skipped;
	if (!ds->n)
		return;
	len = xmalloc(sx_size_mul(ds->n, sizeof(*len)));
	for (i = 0; i < ds->n; i++) {
		int g = ds->reviews[i].gold;

		st->label_count[g == 0 ? 0 : g == 1 ? 1 : 2]++;
		len[i] = ds->reviews[i].ntokens;
		st->tokens_total += len[i];
	}
	qsort(len, ds->n, sizeof(*len), cmp_size);
	st->len_min = len[0];
	st->len_max = len[ds->n - 1];
	st->len_mean = (double)st->tokens_total / (double)ds->n;
	st->p10 = percentile(len, ds->n, 0.10);
	st->p25 = percentile(len, ds->n, 0.25);
	st->p50 = percentile(len, ds->n, 0.50);
	st->p75 = percentile(len, ds->n, 0.75);
	st->p90 = percentile(len, ds->n, 0.90);
	st->p99 = percentile(len, ds->n, 0.99);
	free(len);
}
