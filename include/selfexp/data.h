#ifndef SELFEXP_DATA_H
#define SELFEXP_DATA_H
/*
 * Loading review data sets (DESIGN.md section 11).
 *
 *	struct sx_data_opts opts = SX_DATA_OPTS_INIT;
 *	struct sx_dataset ds = SX_DATASET_INIT;
 *	struct sx_err err = SX_ERR_INIT;
 *	if (sx_data_load("dev.tsv", &opts, &ds, &err) < 0)
 *		... print err.msg, e.g. "'dev.tsv' line 7: label 'pos' is not 0 or 1" ...
 *	... use ds.reviews[0 .. ds.n) ...
 *	sx_dataset_release(&ds);
 *
 * Formats, chosen from the file name's extension (.tsv, .jsonl or .ndjson,
 * .csv; case-insensitive) unless opts->format says otherwise:
 *
 *  - TSV (GLUE style): a header line naming the columns, then one review a
 *    line, fields separated by tabs, no quoting. Columns, in any order:
 *    `sentence` (or `text`), optional `label`, optional `id`; other columns
 *    are ignored. Header names are matched case-insensitively.
 *  - CSV: the same columns, comma-separated, RFC 4180 quoting (a quoted field
 *    may hold commas, doubled quotes and line breaks).
 *  - JSONL: one JSON object a line with `text` (or `sentence`), optional
 *    `label` (0, 1, "0" or "1") and optional `id` (a string or an integer).
 *
 * The label may be absent from the whole file (every gold is then -1): in
 * TSV/CSV when the header has no `label` column, in JSONL when the first
 * row has no `label` member. When labels are present every row must have
 * one, and it must be 0 or 1. A review without an id gets its 1-based row
 * number (counting every data row, skipped ones too) as id. Ids must be
 * unique: they key the results.
 *
 * Accepted: a UTF-8 byte order mark, CRLF line ends, blank lines at the end.
 * Bad rows: a missing field, a label that is not 0/1, invalid UTF-8, a NUL
 * byte, an empty review (only whitespace), a line over opts->max_line bytes,
 * invalid JSON or a non-object on a JSONL line, a duplicate id, a blank line
 * in the middle. By default the first bad row fails the load with SX_EINPUT
 * and a message naming the file, the line and the problem. With
 * opts->skip_bad_rows such rows are skipped, counted in ds->skipped, and
 * their messages kept in ds->skip_msgs. Problems with the file as a whole
 * (unreadable, unknown format, a bad header, no reviews at all) always fail.
 *
 * Files are read in chunks, never whole: memory is that of the reviews
 * kept plus one line (at most opts->max_line bytes) and the ids seen.
 * With opts->max_reviews the load stops reading right after that many
 * reviews: what lies beyond is not looked at, so a bad row, a duplicate id
 * or an unreadable byte there goes unnoticed (duplicates are found among
 * the rows read only), and ds->skipped counts the rows skipped before the
 * last review kept. Without it (0) every row is read and checked.
 */
#include <stddef.h>

#include "selfexp/err.h"

/* Longest line (CSV: record) accepted when opts->max_line is 0. */
#define SX_DATA_MAX_LINE (1024u * 1024u)
/* Bytes of a data file read at most: a load that would read more fails. */
#define SX_DATA_MAX_FILE (1024u * 1024u * 1024u)
/* At most this many skipped-row messages are kept; ds->skipped counts them all. */
#define SX_DATA_MAX_SKIP_MSGS 1000u

struct sx_review {
	char *id;       /* owned; from the file, or the 1-based row number as text */
	char *text;     /* owned; the review as in the file (CSV/JSON escapes decoded) */
	char **tokens;  /* owned, and each tokens[i] owned; the words between ASCII
			 * whitespace (U+00A0 does not split: SST's "2\u00a01\/2" is one token) */
	size_t ntokens;
	int gold;       /* 0, 1, or -1 when the file has no label */
	size_t line;    /* 1-based line in the file where the review starts */
};

enum sx_data_format { SX_DATA_AUTO, SX_DATA_TSV, SX_DATA_JSONL, SX_DATA_CSV };

struct sx_dataset {
	struct sx_review *reviews; /* owned */
	size_t n, alloc;
	size_t skipped;            /* bad rows skipped (only with skip_bad_rows) */
	char **skip_msgs;          /* owned; messages of the first SX_DATA_MAX_SKIP_MSGS skipped rows */
	size_t nskip_msgs, skip_msgs_alloc;
	enum sx_data_format format; /* the format actually read */
	int labelled;              /* 1 when the file has labels (every gold is 0 or 1) */
};

#define SX_DATASET_INIT { \
	.reviews = NULL, .n = 0, .alloc = 0, .skipped = 0, .skip_msgs = NULL, .nskip_msgs = 0, \
	.skip_msgs_alloc = 0, .format = SX_DATA_AUTO, .labelled = 0, \
}

struct sx_data_opts {
	enum sx_data_format format; /* SX_DATA_AUTO: from the file name's extension */
	int skip_bad_rows;
	size_t max_line;            /* 0 = SX_DATA_MAX_LINE */
	size_t max_reviews;         /* stop reading after this many reviews; 0 = all */
};

#define SX_DATA_OPTS_INIT { \
	.format = SX_DATA_AUTO, .skip_bad_rows = 0, .max_line = 0, .max_reviews = 0, \
}

/*
 * Load path ("-" = stdin, which needs an explicit format) into ds. ds need
 * not be initialised; it is overwritten. Returns 0, or a negative SX_E* code
 * (SX_EINPUT for bad data, SX_EIO when the file cannot be read) with a
 * message in err; on failure ds is left empty (releasing it is harmless).
 */
int sx_data_load(const char *path, const struct sx_data_opts *opts, struct sx_dataset *ds,
		 struct sx_err *err);
/*
 * The same from bytes[0..len) in memory (need not be NUL-terminated); name is
 * used for messages and, with SX_DATA_AUTO, for the format. opts may be NULL
 * (defaults). Safe on arbitrary bytes (a fuzz target).
 */
int sx_data_parse(const char *name, const char *bytes, size_t len, const struct sx_data_opts *opts,
		  struct sx_dataset *ds, struct sx_err *err);
/* Free the contents of ds and leave it empty (SX_DATASET_INIT). */
void sx_dataset_release(struct sx_dataset *ds);
/* Free the contents of one review. */
void sx_review_release(struct sx_review *r);

/* "tsv", "jsonl" (or "ndjson"), "csv" -> format; 0, or -1 for an unknown name. */
int sx_data_format_from_name(const char *s, enum sx_data_format *out);
/* The format from a path's extension; SX_DATA_AUTO when it is not one we know. */
enum sx_data_format sx_data_format_from_path(const char *path);
/* "tsv", "jsonl", "csv" or "auto". */
const char *sx_data_format_name(enum sx_data_format f);

/* Summary numbers of a data set (`selfexp data stats`). */
struct sx_data_stats {
	size_t n;              /* reviews */
	size_t skipped;        /* bad rows skipped */
	size_t label_count[3]; /* gold 0, gold 1, unlabelled */
	size_t tokens_total;
	/* Tokens per review. Percentiles interpolate linearly between order
	 * statistics (numpy's default, R type 7); all 0 when n is 0. */
	size_t len_min, len_max;
	double len_mean;
	double p10, p25, p50, p75, p90, p99;
};

void sx_data_stats(const struct sx_dataset *ds, struct sx_data_stats *st);
/*
 * The statistics of the data set sx_data_load would load, without loading
 * it: the file is read once and each review dropped once counted, so memory
 * is a histogram of review lengths (percentiles are exact) and the ids (for
 * the duplicate check; none for a TSV or CSV file without an id column).
 * Same return codes and messages as sx_data_load. info gets the format,
 * labels, skipped rows and their messages, but no reviews (info->n is 0);
 * release it with sx_dataset_release. st is all 0 on failure.
 */
int sx_data_stats_file(const char *path, const struct sx_data_opts *opts,
		       struct sx_data_stats *st, struct sx_dataset *info, struct sx_err *err);
/* The same from bytes[0..len) in memory, as sx_data_parse. */
int sx_data_stats_parse(const char *name, const char *bytes, size_t len,
			const struct sx_data_opts *opts, struct sx_data_stats *st,
			struct sx_dataset *info, struct sx_err *err);

#endif
