#ifndef SELFEXP_ANSWERS_H
#define SELFEXP_ANSWERS_H
/*
 * Recorded answers (`selfexp run --answers FILE`, `selfexp answers export`):
 * a table of model answers keyed by (prompt condition, review text), read
 * from JSONL files, one answer a line:
 *
 *   {"condition": "ep", "review": "a fine film", "answer": "...", "model": "..."}
 *
 * "review" is the review exactly as sent inside the <review> tags (tokens
 * joined by one space, "" for the empty review); "model" is optional and
 * informational (it is not matched). The engine answers every request whose
 * condition and review text are in the table from it, before the cache and
 * the network (engine.h).
 */
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"
#include "selfexp/hash.h"

/* An answers file larger than this is refused. */
#define SX_ANSWERS_MAX_FILE (1024u * 1024u * 1024u)

struct sx_answers;

struct sx_answers *sx_answers_new(void);
/* _free(NULL) is a no-op. */
void sx_answers_free(struct sx_answers *a);

/*
 * Add every line of the JSONL file at path to the table, and put the
 * file's SHA-256 into sha256. Blank lines are skipped. Fails with
 * SX_EINPUT, the message naming the file, the line and the problem, on a
 * line that is not a JSON object, lacks a string "condition", "review" or
 * "answer", names a condition that is not one of ep, pe, ep-topk, pe-topk,
 * pred, holds invalid UTF-8 (raw or in a decoded string, a NUL included),
 * or gives another answer for a (condition, review) an earlier line (of
 * this file or one loaded before) gave; SX_EIO when it cannot be read.
 * On failure the table holds the lines before the bad one.
 */
int sx_answers_load(struct sx_answers *a, const char *path, char sha256[SX_SHA256_HEX_LEN + 1],
		    struct sx_err *err);

/* The recorded answer of (cond, review[0..len)), NULL when none (borrowed from the table). */
const char *sx_answers_find(const struct sx_answers *a, const char *cond, const char *review,
			    size_t len);
/*
 * The same, for a request that takes the answer: the entry is counted as
 * used (sx_answers_usage).
 */
const char *sx_answers_take(struct sx_answers *a, const char *cond, const char *review, size_t len);
/*
 * Of the answers the file-th file loaded (0-based, in load order) brought
 * (a line repeating one of an earlier file's counts there): how many, and
 * how many no sx_answers_take took (their condition or review text is not
 * one a request had).
 */
void sx_answers_usage(const struct sx_answers *a, size_t file, size_t *answers, size_t *unused);
/*
 * Add an answer (the export's capture): 0 when added, 1 when the same
 * answer is there already, SX_EINPUT when another one is.
 */
int sx_answers_add(struct sx_answers *a, const char *cond, const char *review, size_t len,
		   const char *answer);
size_t sx_answers_count(const struct sx_answers *a);
/*
 * Append the table as JSONL, in the order the answers were added, each
 * line {"condition", "review", "answer"} and "model" when model is not NULL.
 */
void sx_answers_write(const struct sx_answers *a, const char *model, struct sx_buf *out);

#endif
