/*
 * Review data sets: TSV, CSV and JSONL readers (contract in selfexp/data.h).
 *
 * The file is read CHUNK bytes at a time and walked once, so memory is that
 * of the reviews kept (none for the statistics), the current line or record
 * (capped at max_line) and the id set; a load with max_reviews stops
 * reading at its last review. Rows are checked in a fixed order (length
 * cap, NUL byte, UTF-8, fields, label, review, id) so that a file with
 * several problems always reports the same one first. Duplicate ids are
 * found through an open-addressing hash set over the ids (kept in an arena
 * of their own), so loading is linear in the size of the file.
 *
 * Blank lines may end a file but are bad rows anywhere else, and which a
 * blank line is only shows at the next line: a run of blank lines is held
 * back (its problems recorded, but provisionally) until a line with text
 * confirms them or the end of the file drops them: the result is that of
 * cutting the blank lines off the end of the whole file first.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/data.h"
#include "selfexp/json.h"
#include "selfexp/utf8.h"

/* Bytes of an offending value shown in a message before it is cut with "...". */
#define SHOW_MAX 40
#define SHOW_BUF (SHOW_MAX * 4 + 8)

/* Bytes read from a file (or taken from memory) at a time; a build may make
 * it tiny to move every chunk boundary through the parsers. */
#ifndef SX_DATA_CHUNK
#define SX_DATA_CHUNK (64u * 1024u)
#endif
#define CHUNK ((size_t)SX_DATA_CHUNK)

/* The id arena grows by blocks of this many bytes (an id longer gets its own). */
#define ID_BLOCK (1024u * 1024u)

struct field {
	size_t off, len; /* within record.base */
};

struct record {
	const char *base; /* borrowed: the line (TSV) or the parser's scratch buffer (CSV) */
	struct field *f;  /* owned */
	size_t n, alloc;
};

/* Where the bytes come from: a file descriptor, or memory handed out in chunks. */
struct src {
	int fd;           /* -1: reading mem */
	int close_fd;     /* fd is ours to close */
	const char *mem;  /* borrowed */
	size_t memlen, memoff;
	char *buf;        /* owned: CHUNK bytes (fd only) */
	const char *p;    /* borrowed: the current chunk; p[pos..len) not taken yet */
	size_t pos, len;
	size_t total;     /* bytes read from fd so far, for SX_DATA_MAX_FILE */
	int eof;
	int rc;           /* a read error (SX_EIO, or SX_EINPUT over the file cap), message in err */
	size_t seen;      /* bytes handed to the parser */
	size_t lone_cr;   /* '\r' followed by a byte other than '\n' (within a chunk) */
	int ink;          /* a byte that is not white space was seen */
};

/* A TSV or JSONL line, without its '\n'. */
struct line {
	const char *s; /* borrowed: into the chunk or the parser's linebuf; the first
			* min(len, line_keep) bytes */
	size_t len;    /* the whole line, also when longer than what s holds */
	int ink;       /* has a byte that is not white space */
	int cr;        /* ends in '\r' */
};

/* A CSV record, raw bytes in the parser's raw buffer and fields in scratch. */
struct csv_rec {
	size_t rawlen; /* without the line end; raw holds min(rawlen, line_keep) bytes */
	size_t nlines; /* line breaks taken: those in quoted fields and the end's */
	const char *bad;
	int ink;
};

/* Ids taken so far and the line each was on: slots hold 1 + (block << 32 | offset)
 * of an entry (the line as a varint, the id, a NUL) in blocks that never move. */
struct idset {
	uint64_t *slots; /* owned; 0 = empty */
	size_t nslots, n;
	char **blocks;   /* owned, and each block owned */
	size_t nblocks, blocks_alloc;
	size_t used, size; /* of the last block */
};

/* What the statistics need of each review: counts and a histogram of lengths. */
struct acc {
	size_t n;
	size_t label_count[3];
	size_t tokens_total;
	size_t *hist;    /* owned; hist[k]: reviews of k tokens, k < nhist */
	size_t nhist;
};

struct parser {
	const char *name; /* borrowed */
	size_t max_line;
	size_t line_keep; /* bytes of a line or record kept: max_line + 1 */
	size_t max_reviews;
	int skip;
	char sep;         /* '\t' or ',' */
	struct sx_dataset *ds;
	struct acc *acc;  /* borrowed; NULL: reviews go into ds->reviews */
	struct sx_err *err;
	struct src src;

	struct idset ids;
	int check_ids;    /* 0 when ids are row numbers, which cannot repeat */
	size_t taken;     /* reviews accepted */
	int stop;         /* max_reviews reached */

	/* Blank lines held back: ds->skipped and ds->nskip_msgs before the
	 * first, and the first fatal problem among them (owned). */
	int holding;
	size_t hold_skipped, hold_nmsgs;
	char *held_fatal;

	struct sx_buf linebuf; /* TSV/JSONL: a line that spans chunks */
	struct sx_buf raw;     /* CSV: the record's raw bytes */
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
 * While blank lines are held back (hold_blank) a fatal problem is kept for
 * later, the first one only, and 1 returned.
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
		if (ps->holding) {
			if (!ps->held_fatal)
				ps->held_fatal = sx_buf_detach(&msg, NULL);
			sx_buf_release(&msg);
			return 1;
		}
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
 * Called with each line (CSV: record) before it is looked at; ink says
 * whether it has anything but white space. A blank line starts or extends
 * the run held back: 0 (check it as usual, its problems are provisional),
 * or 1 when a held fatal problem makes the rest of the run irrelevant (do
 * not look at it). A line with ink confirms the run: its fatal problem
 * stops the load (SX_EINPUT), its skipped rows stay; 0.
 */
static int hold_blank(struct parser *ps, int ink)
{
	if (!ink) {
		if (!ps->holding) {
			ps->holding = 1;
			ps->hold_skipped = ps->ds->skipped;
			ps->hold_nmsgs = ps->ds->nskip_msgs;
		}
		return ps->held_fatal ? 1 : 0;
	}
	if (!ps->holding)
		return 0;
	ps->holding = 0;
	if (!ps->held_fatal)
		return 0;
	sx_err_set(ps->err, SX_EINPUT, "%s", ps->held_fatal);
	free(ps->held_fatal);
	ps->held_fatal = NULL;
	return SX_EINPUT;
}

/* At the end of the file: the blank lines held back were its end, which is allowed. */
static void drop_blank(struct parser *ps)
{
	struct sx_dataset *ds = ps->ds;

	if (!ps->holding)
		return;
	while (ds->nskip_msgs > ps->hold_nmsgs)
		free(ds->skip_msgs[--ds->nskip_msgs]);
	ds->skipped = ps->hold_skipped;
	free(ps->held_fatal);
	ps->held_fatal = NULL;
	ps->holding = 0;
}

/*
 * The checks every line or record gets before its fields are looked at:
 * the length cap, NUL bytes and UTF-8. s[0..len) starts on line `line`; a
 * problem is reported on the line where the offending byte is. s is only
 * read when len is within the cap.
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
/* Reading: chunks, lines, records */

/* Up to max bytes from the file into to: their number, 0 at its end, or 0 with
 * src.rc (and err) set on a read error or past SX_DATA_MAX_FILE. */
static size_t src_read(struct parser *ps, char *to, size_t max)
{
	struct src *s = &ps->src;
	ssize_t n;

	do
		n = read(s->fd, to, max);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->rc = sx_err_set(ps->err, SX_EIO, "cannot read '%s': %s", ps->name, strerror(errno));
		return 0;
	}
	if (n == 0)
		s->eof = 1;
	s->total += (size_t)n;
	if (s->total > SX_DATA_MAX_FILE) {
		s->rc = sx_err_set(ps->err, SX_EINPUT, "'%s' is larger than the %zu byte cap", ps->name,
				   (size_t)SX_DATA_MAX_FILE);
		return 0;
	}
	return (size_t)n;
}

/* The next chunk into ps->src: 1, or 0 at the end of the input or on a read
 * error (src.rc). */
/* What the "no reviews" message says of a file: its size, lone CRs, ink. */
static void src_census(struct src *s, const char *p, size_t n)
{
	size_t i;

	s->seen += n;
	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] != '\n')
			s->lone_cr++;
		if (!s->ink && !is_space((unsigned char)p[i]))
			s->ink = 1;
	}
}

static int src_fill(struct parser *ps)
{
	struct src *s = &ps->src;

	if (s->eof || s->rc)
		return 0;
	s->pos = 0;
	if (s->fd < 0) {
		s->p = s->mem + s->memoff;
		s->len = s->memlen - s->memoff < CHUNK ? s->memlen - s->memoff : CHUNK;
		s->memoff += s->len;
		s->eof = !s->len;
	} else {
		s->p = s->buf;
		s->len = src_read(ps, s->buf, CHUNK);
	}
	src_census(s, s->p, s->len);
	return s->len > 0;
}

/* The first chunk, holding at least the 3 bytes of a byte order mark when
 * the input is that long (a pipe may give fewer at a time). */
static void src_start(struct parser *ps)
{
	struct src *s = &ps->src;

	if (!src_fill(ps) || s->fd < 0)
		return;
	while (s->len < 3 && !s->eof && !s->rc) {
		size_t got = src_read(ps, s->buf + s->len, CHUNK - s->len);

		src_census(s, s->buf + s->len, got);
		s->len += got;
	}
}

/* The next byte without taking it, or -1 at the end (or on a read error). */
static int src_peek(struct parser *ps)
{
	if (ps->src.pos == ps->src.len && !src_fill(ps))
		return -1;
	return (unsigned char)ps->src.p[ps->src.pos];
}

/*
 * The next line into *ln: 1, or 0 at the end of the input (or on a read
 * error: src.rc). A line that ends in the chunk is not copied; one that
 * spans chunks is gathered in ps->linebuf, at most line_keep bytes of it.
 */
static int read_line(struct parser *ps, struct line *ln)
{
	struct src *s = &ps->src;
	size_t taken = 0;

	sx_buf_reset(&ps->linebuf);
	ln->s = NULL;
	ln->len = 0;
	ln->ink = 0;
	ln->cr = 0;
	for (;;) {
		const char *q, *nl;
		size_t n;

		if (s->pos == s->len && !src_fill(ps))
			break;
		q = s->p + s->pos;
		nl = memchr(q, '\n', s->len - s->pos);
		n = nl ? (size_t)(nl - q) : s->len - s->pos;
		if (!ln->ink && !all_space(q, n))
			ln->ink = 1;
		if (n)
			ln->cr = q[n - 1] == '\r';
		s->pos += n + (nl != NULL);
		taken += n + (nl != NULL);
		if (nl && !ln->len) {
			ln->s = q;
			ln->len = n;
			return 1;
		}
		if (ps->linebuf.len < ps->line_keep)
			sx_buf_add(&ps->linebuf, q,
				   n < ps->line_keep - ps->linebuf.len ? n : ps->line_keep - ps->linebuf.len);
		ln->len += n;
		if (nl)
			break;
	}
	if (!taken)
		return 0;
	if (!ln->s)
		ln->s = ps->linebuf.buf;
	return 1;
}

enum csv_state { CSV_START, CSV_PLAIN, CSV_QUOTED, CSV_CLOSED };

/* A byte of the record's raw text, kept within line_keep; ink as it comes. */
static void csv_raw(struct parser *ps, struct csv_rec *r, int *line_ink, int c)
{
	if (!is_space(c)) {
		r->ink = 1;
		*line_ink = 1;
	}
	if (ps->raw.len < ps->line_keep)
		sx_buf_addch(&ps->raw, c);
	r->rawlen++;
}

/* A byte of the current field; none once the record is over the cap (it is refused). */
static void csv_field(struct parser *ps, const struct csv_rec *r, int c)
{
	if (r->rawlen <= ps->line_keep)
		sx_buf_addch(&ps->scratch, c);
}

static void csv_end_field(struct parser *ps, const struct csv_rec *r, size_t *fstart)
{
	if (r->rawlen > ps->line_keep)
		return;
	SX_GROW(ps->rec.f, ps->rec.alloc, ps->rec.n + 1);
	ps->rec.f[ps->rec.n].off = *fstart;
	ps->rec.f[ps->rec.n].len = ps->scratch.len - *fstart;
	ps->rec.n++;
	*fstart = ps->scratch.len;
}

/*
 * Read one CSV record into *r: its raw bytes into ps->raw, its fields into
 * ps->rec (bytes in ps->scratch), the line end taken. A quoted field may
 * hold line breaks, so a record may span lines and chunks. One left open at
 * the end of the input ends at its last line that is not blank (blank lines
 * may end a file). A read error ends the record too (src.rc).
 */
static void csv_record(struct parser *ps, struct csv_rec *r)
{
	enum csv_state st = CSV_START;
	size_t fstart = 0, ink_len = 0, ink_lines = 0;
	int line_ink = 0, c;

	sx_buf_reset(&ps->raw);
	sx_buf_reset(&ps->scratch);
	ps->rec.n = 0;
	memset(r, 0, sizeof(*r));
	for (;;) {
		c = src_peek(ps);
		if (c < 0)
			break;
		ps->src.pos++;
		if (st == CSV_QUOTED) {
			if (c == '\n') {
				if (line_ink) {
					ink_len = r->rawlen;
					ink_lines = r->nlines;
				}
				line_ink = 0;
				r->nlines++;
			}
			csv_raw(ps, r, &line_ink, c);
			if (c != '"') {
				csv_field(ps, r, c);
			} else if (src_peek(ps) == '"') {
				ps->src.pos++;
				csv_raw(ps, r, &line_ink, c);
				csv_field(ps, r, c);
			} else {
				st = CSV_CLOSED;
			}
			continue;
		}
		if (c == '\n') {
			r->nlines++;
			break;
		}
		if (c == '\r' && src_peek(ps) < 0)
			break;
		if (c == '\r' && src_peek(ps) == '\n') {
			ps->src.pos++;
			r->nlines++;
			break;
		}
		csv_raw(ps, r, &line_ink, c);
		if (c == ',') {
			csv_end_field(ps, r, &fstart);
			st = CSV_START;
		} else if (c == '"' && st == CSV_START) {
			st = CSV_QUOTED;
		} else {
			if (st == CSV_CLOSED && !r->bad)
				r->bad = "unexpected character after a closing quote";
			csv_field(ps, r, c);
			st = CSV_PLAIN;
		}
	}
	if (st == CSV_QUOTED) {
		r->bad = "unterminated quoted field";
		if (line_ink) {
			ink_len = r->rawlen;
			ink_lines = r->nlines;
		}
		r->rawlen = ink_len;
		r->nlines = ink_lines;
		if (ps->raw.len > ink_len)
			sx_buf_setlen(&ps->raw, ink_len);
	}
	csv_end_field(ps, r, &fstart);
	ps->rec.base = ps->scratch.buf;
}

/* ------------------------------------------------------------------------ */
/* The id set */

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The entry a slot names: *line gets its line; returns its id (NUL-terminated). */
static const char *id_entry(const struct idset *set, uint64_t slot, size_t *line)
{
	const unsigned char *e;
	unsigned shift = 0;
	int more;

	slot--;
	e = (const unsigned char *)set->blocks[slot >> 32] + (slot & 0xFFFFFFFFu);
	*line = 0;
	do {
		more = *e & 0x80;
		*line |= (size_t)(*e & 0x7F) << shift;
		shift += 7;
		e++;
	} while (more);
	return (const char *)e;
}

/* The slot where id is, or the empty one where it would go. */
static size_t id_slot(const struct idset *set, const char *id, size_t len, uint64_t h)
{
	size_t mask = set->nslots - 1, i = (size_t)h & mask, line;

	while (set->slots[i]) {
		const char *e = id_entry(set, set->slots[i], &line);

		if (!strncmp(e, id, len) && e[len] == '\0')
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static void id_grow(struct idset *set)
{
	uint64_t *old = set->slots;
	size_t nold = set->nslots, i, line;

	set->nslots = nold ? sx_size_mul(nold, 2) : 1024;
	set->slots = xcalloc(set->nslots, sizeof(*set->slots));
	for (i = 0; i < nold; i++) {
		if (old[i]) {
			const char *e = id_entry(set, old[i], &line);
			size_t len = strlen(e);

			set->slots[id_slot(set, e, len, hash_bytes(e, len))] = old[i];
		}
	}
	free(old);
}

/*
 * Add id[0..len) (no NUL inside), first seen on line: 0, or 1 when it is
 * there already (*first gets the line it was first on).
 */
static int id_add(struct idset *set, const char *id, size_t len, size_t line, size_t *first)
{
	uint64_t h = hash_bytes(id, len);
	size_t slot, need = sx_size_add(len, 11), n;
	unsigned char *e;

	if (!set->nslots || sx_size_mul(set->n + 1, 10) > sx_size_mul(set->nslots, 7))
		id_grow(set);
	slot = id_slot(set, id, len, h);
	if (set->slots[slot]) {
		id_entry(set, set->slots[slot], first);
		return 1;
	}
	if (!set->nblocks || set->size - set->used < need || set->used > UINT32_MAX) {
		SX_GROW(set->blocks, set->blocks_alloc, set->nblocks + 1);
		set->size = need > ID_BLOCK ? need : ID_BLOCK;
		set->blocks[set->nblocks++] = xmalloc(set->size);
		set->used = 0;
	}
	set->slots[slot] = 1 + ((uint64_t)(set->nblocks - 1) << 32 | (uint64_t)set->used);
	e = (unsigned char *)set->blocks[set->nblocks - 1] + set->used;
	n = 0;
	do {
		e[n++] = (unsigned char)((line & 0x7F) | (line > 0x7F ? 0x80 : 0));
		line >>= 7;
	} while (line);
	memcpy(e + n, id, len);
	e[n + len] = '\0';
	set->used += n + len + 1;
	set->n++;
	return 0;
}

static void id_release(struct idset *set)
{
	size_t i;

	for (i = 0; i < set->nblocks; i++)
		free(set->blocks[i]);
	free(set->blocks);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

/* ------------------------------------------------------------------------ */
/* Reviews and statistics */

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

/* The tokens tokenize would make of s[0..len) (no NUL inside), without making them. */
static size_t count_tokens(const char *s, size_t len)
{
	size_t i = 0, n = 0;

	while (i < len) {
		while (i < len && is_space((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		n++;
		while (i < len && !is_space((unsigned char)s[i]))
			i++;
	}
	return n;
}

static void acc_add(struct acc *a, size_t ntokens, int gold)
{
	a->n++;
	a->label_count[gold == 0 ? 0 : gold == 1 ? 1 : 2]++;
	a->tokens_total += ntokens;
	if (ntokens >= a->nhist) {
		size_t n = a->nhist ? a->nhist : 64;

		while (n <= ntokens)
			n = sx_size_mul(n, 2);
		a->hist = xrealloc(a->hist, sx_size_mul(n, sizeof(*a->hist)));
		memset(a->hist + a->nhist, 0, (n - a->nhist) * sizeof(*a->hist));
		a->nhist = n;
	}
	a->hist[ntokens]++;
}

/* The k-th smallest length (0-based), k < a->n. */
static size_t acc_order(const struct acc *a, size_t k)
{
	size_t v, below = 0;

	for (v = 0; v < a->nhist; v++) {
		below += a->hist[v];
		if (below > k)
			break;
	}
	return v;
}

/* Percentile q in [0, 1] of the lengths, n > 0 (R type 7). */
static double acc_percentile(const struct acc *a, double q)
{
	double h = (double)(a->n - 1) * q, x;
	size_t lo = (size_t)floor(h);

	if (lo + 1 >= a->n)
		return (double)acc_order(a, a->n - 1);
	x = (double)acc_order(a, lo);
	return x + (h - (double)lo) * ((double)acc_order(a, lo + 1) - x);
}

static void acc_stats(const struct acc *a, size_t skipped, struct sx_data_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->n = a->n;
	st->skipped = skipped;
	if (!a->n)
		return;
	memcpy(st->label_count, a->label_count, sizeof(st->label_count));
	st->tokens_total = a->tokens_total;
	st->len_min = acc_order(a, 0);
	st->len_max = acc_order(a, a->n - 1);
	st->len_mean = (double)st->tokens_total / (double)a->n;
	st->p10 = acc_percentile(a, 0.10);
	st->p25 = acc_percentile(a, 0.25);
	st->p50 = acc_percentile(a, 0.50);
	st->p75 = acc_percentile(a, 0.75);
	st->p90 = acc_percentile(a, 0.90);
	st->p99 = acc_percentile(a, 0.99);
}

void sx_data_stats(const struct sx_dataset *ds, struct sx_data_stats *st)
{
	struct acc a;
	size_t i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < ds->n; i++)
		acc_add(&a, ds->reviews[i].ntokens, ds->reviews[i].gold);
	acc_stats(&a, ds->skipped, st);
	free(a.hist);
}

/*
 * Take a review after the checks that hold for every format: into
 * ds->reviews, or into the statistics. id is NULL when the row has none
 * (the row number is used); rowno counts data rows.
 */
static int add_review(struct parser *ps, size_t line, size_t rowno, const char *id, size_t idlen,
		      const char *text, size_t textlen, int gold)
{
	struct sx_dataset *ds = ps->ds;
	struct sx_review *r;
	char num[32], buf[SHOW_BUF];
	size_t first;

	if (all_space(text, textlen))
		return problem(ps, 0, line, "empty review");
	if (id) {
		id = trim(id, &idlen);
		if (!idlen)
			return problem(ps, 0, line, "empty id");
	} else {
		snprintf(num, sizeof(num), "%zu", rowno);
		id = num;
		idlen = strlen(num);
	}
	if (ps->check_ids && id_add(&ps->ids, id, idlen, line, &first))
		return problem(ps, 0, line, "duplicate id '%s' (first on line %zu)",
			       show(buf, id, idlen), first);
	ps->taken++;
	if (ps->max_reviews && ps->taken >= ps->max_reviews)
		ps->stop = 1;
	if (ps->acc) {
		acc_add(ps->acc, count_tokens(text, textlen), gold);
		return 0;
	}
	SX_GROW(ds->reviews, ds->alloc, ds->n + 1);
	r = &ds->reviews[ds->n];
	memset(r, 0, sizeof(*r));
	r->id = xstrndup(id, idlen);
	r->text = xstrndup(text, textlen);
	r->gold = gold;
	r->line = line;
	tokenize(r);
	ds->n++;
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

/* Split a TSV line into fields pointing into it. */
static void tsv_split(struct parser *ps, const char *s, size_t len)
{
	const char *tab;
	size_t off = 0;

	ps->rec.base = s;
	ps->rec.n = 0;
	while ((tab = memchr(s + off, '\t', len - off))) {
		rec_push(&ps->rec, off, (size_t)(tab - (s + off)));
		off = (size_t)(tab - s) + 1;
	}
	rec_push(&ps->rec, off, len - off);
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
	ps->check_ids = ps->col_id >= 0;
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

static int parse_tsv(struct parser *ps)
{
	struct line ln;
	size_t line = 0, len;
	int rc;

	while (!ps->stop && read_line(ps, &ln)) {
		if (ps->src.rc)
			break;
		line++;
		len = ln.len - (size_t)ln.cr;
		rc = hold_blank(ps, ln.ink);
		if (!rc)
			rc = check_bytes(ps, line == 1, line, ln.s, len, "line");
		if (!rc && line > 1 && !ln.ink)
			rc = problem(ps, 0, line, "blank line");
		if (!rc) {
			tsv_split(ps, ln.s, len);
			rc = line == 1 ? take_header(ps, ln.s, len) : take_row(ps, line, line - 1);
		}
		if (rc < 0)
			return rc;
	}
	return ps->src.rc;
}

static int parse_csv(struct parser *ps)
{
	struct csv_rec r;
	size_t line = 1, rowno = 0;
	int rc;

	while (!ps->stop && src_peek(ps) >= 0) {
		csv_record(ps, &r);
		if (ps->src.rc)
			break;
		rc = hold_blank(ps, r.ink);
		if (!rc)
			rc = check_bytes(ps, line == 1, line, ps->raw.buf, r.rawlen, "record");
		if (!rc && line > 1 && !r.ink)
			rc = problem(ps, 0, line, "blank line");
		if (!rc && r.bad)
			rc = problem(ps, line == 1, line, "%s", r.bad);
		if (!rc)
			rc = line == 1 ? take_header(ps, ps->raw.buf, r.rawlen)
				       : take_row(ps, line, rowno + 1);
		if (rc < 0)
			return rc;
		if (line > 1)
			rowno++;
		line += r.nlines;
	}
	return ps->src.rc;
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
	struct line ln;
	size_t line = 0, len;
	int rc;

	while (!ps->stop && read_line(ps, &ln)) {
		if (ps->src.rc)
			break;
		line++;
		len = ln.len - (size_t)ln.cr;
		rc = hold_blank(ps, ln.ink);
		if (!rc)
			rc = check_bytes(ps, 0, line, ln.s, len, "line");
		if (!rc && !ln.ink)
			rc = problem(ps, 0, line, "blank line");
		if (!rc)
			rc = jsonl_row(ps, line, ln.s, len);
		if (rc < 0)
			return rc;
	}
	return ps->src.rc;
}

/* ------------------------------------------------------------------------ */
/* The fatal problem of a file that held no review and no bad row. */
static int no_reviews(struct parser *ps)
{
	const struct src *s = &ps->src;

	if (!s->seen)
		return problem(ps, 1, 0, "no reviews (the file is empty)");
	if (s->lone_cr)
		return problem(ps, 1, 0,
			       "no reviews: its lines end in a lone CR (old Mac line ends), "
			       "which is not a line break here; convert it with "
			       "tr '\\r' '\\n' < %s > NEW", ps->name);
	if (!s->ink)
		return problem(ps, 1, 0, "no reviews (the file holds only white space)");
	return problem(ps, 1, 0, "no reviews (the file %s)",
		       ps->ds->format == SX_DATA_JSONL ? "has only blank lines"
						       : "has only a header");
}

/* Entry points */

static int parse_input(struct parser *ps, const struct sx_data_opts *opts)
{
	struct sx_dataset *ds = ps->ds;
	struct src *s = &ps->src;
	int rc;

	/* the first chunk first: a file that cannot be read says so before anything else */
	src_start(ps);
	if (s->rc)
		return s->rc;
	ds->format = opts->format != SX_DATA_AUTO ? opts->format : sx_data_format_from_path(ps->name);
	if (ds->format == SX_DATA_AUTO)
		return sx_err_set(ps->err, SX_EINPUT,
				  "'%s': cannot tell the data format from the file name "
				  "(expected .tsv, .jsonl, .ndjson or .csv); "
				  "name the format with --format tsv, jsonl or csv",
				  ps->name);
	if (s->len - s->pos >= 3 && !memcmp(s->p + s->pos, "\xEF\xBB\xBF", 3))
		s->pos += 3;
	if (ds->format == SX_DATA_TSV) {
		ps->sep = '\t';
		rc = parse_tsv(ps);
	} else if (ds->format == SX_DATA_CSV) {
		ps->sep = ',';
		rc = parse_csv(ps);
	} else {
		ps->check_ids = 1;
		rc = parse_jsonl(ps);
	}
	if (rc < 0)
		return rc;
	drop_blank(ps);
	if (ps->taken)
		return 0;
	if (ds->skipped)
		return problem(ps, 1, 0, "no reviews (%s%zu bad row%s skipped; the first: %s)",
			       ds->skipped == 1 ? "the " : "all ", ds->skipped,
			       ds->skipped == 1 ? "" : "s", ds->nskip_msgs ? ds->skip_msgs[0] : "?");
	return no_reviews(ps);
}

/*
 * Read name's bytes (from fd when it is >= 0, else mem[0..len)) into ds, or
 * into *acc when acc is not NULL (ds then gets everything but the reviews).
 * Takes fd over when close_fd is set.
 */
static int load(const char *name, int fd, int close_fd, const char *mem, size_t len,
		const struct sx_data_opts *opts, struct sx_dataset *ds, struct acc *acc,
		struct sx_err *err)
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
	ps.line_keep = ps.max_line < SIZE_MAX ? ps.max_line + 1 : ps.max_line;
	ps.max_reviews = opts->max_reviews;
	ps.skip = opts->skip_bad_rows;
	ps.ds = ds;
	ps.acc = acc;
	ps.err = err;
	ps.col_id = ps.col_text = ps.col_label = -1;
	ps.src.fd = fd;
	ps.src.close_fd = close_fd;
	ps.src.mem = mem;
	ps.src.memlen = len;
	if (fd >= 0)
		ps.src.buf = xmalloc(CHUNK);
	sx_buf_init(&ps.linebuf, 0);
	sx_buf_init(&ps.raw, 0);
	sx_buf_init(&ps.scratch, 0);

	rc = parse_input(&ps, opts);

	if (ps.src.close_fd)
		close(ps.src.fd);
	free(ps.src.buf);
	free(ps.held_fatal);
	id_release(&ps.ids);
	free(ps.rec.f);
	sx_buf_release(&ps.linebuf);
	sx_buf_release(&ps.raw);
	sx_buf_release(&ps.scratch);
	if (rc < 0) {
		enum sx_data_format f = ps.src.rc ? SX_DATA_AUTO : ds->format;

		sx_dataset_release(ds);
		ds->format = f;
	}
	return rc < 0 ? rc : 0;
}

/* path opened for reading ("-" = stdin): 0, or SX_EIO with a message. */
static int open_input(const char *path, int *fd, struct sx_err *err)
{
	*fd = 0;
	if (!strcmp(path, "-"))
		return 0;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return sx_err_set(err, SX_EIO, "cannot read '%s': %s", path, strerror(errno));
	return 0;
}

int sx_data_parse(const char *name, const char *bytes, size_t len, const struct sx_data_opts *opts,
		  struct sx_dataset *ds, struct sx_err *err)
{
	return load(name, -1, 0, bytes, len, opts, ds, NULL, err);
}

int sx_data_load(const char *path, const struct sx_data_opts *opts, struct sx_dataset *ds,
		 struct sx_err *err)
{
	struct sx_dataset empty = SX_DATASET_INIT;
	int fd, rc;

	*ds = empty;
	rc = open_input(path, &fd, err);
	if (rc)
		return rc;
	return load(path, fd, fd != 0, NULL, 0, opts, ds, NULL, err);
}

/* The statistics of a load that returned rc (all 0 on failure); frees a's histogram. */
static int stats_done(int rc, struct acc *a, const struct sx_dataset *info,
		      struct sx_data_stats *st)
{
	acc_stats(a, info->skipped, st);
	if (rc)
		memset(st, 0, sizeof(*st));
	free(a->hist);
	return rc;
}

int sx_data_stats_parse(const char *name, const char *bytes, size_t len,
			const struct sx_data_opts *opts, struct sx_data_stats *st,
			struct sx_dataset *info, struct sx_err *err)
{
	struct acc a;

	memset(&a, 0, sizeof(a));
	return stats_done(load(name, -1, 0, bytes, len, opts, info, &a, err), &a, info, st);
}

int sx_data_stats_file(const char *path, const struct sx_data_opts *opts,
		       struct sx_data_stats *st, struct sx_dataset *info, struct sx_err *err)
{
	struct sx_dataset empty = SX_DATASET_INIT;
	struct acc a;
	int fd, rc;

	memset(&a, 0, sizeof(a));
	*info = empty;
	rc = open_input(path, &fd, err);
	if (!rc)
		rc = load(path, fd, fd != 0, NULL, 0, opts, info, &a, err);
	return stats_done(rc, &a, info, st);
}
