#ifndef SELFEXP_PROMPT_H
#define SELFEXP_PROMPT_H
/*
 * Prompt conditions and their templates (DESIGN.md sections 2 and 9).
 *
 * A template is a plain-text file prompts/<condition>: optional '#' comment
 * lines, then a "=== system ===" line, the system text, a "=== user ===" line
 * and the user text. Each section's text runs to the line before the next
 * marker (or the end of the file) without its final newline, so the system
 * prompts of the paper are stored byte for byte. Placeholders in either part:
 * {review} (the review), {k} (top-k size), {n} (number of tokens).
 * The template's hash is the SHA-256 of the file's bytes.
 */
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"
#include "selfexp/hash.h"

enum sx_cond {
	SX_COND_EP,      /* explain, then predict */
	SX_COND_PE,      /* predict, then explain */
	SX_COND_EP_TOPK, /* top-k words, then predict */
	SX_COND_PE_TOPK, /* predict, then top-k words */
	SX_COND_PRED,    /* prediction only */
	SX_COND_COUNT
};

/* Templates larger than this are refused. */
#define SX_PROMPT_MAX_BYTES (256u * 1024u)

const char *sx_cond_name(enum sx_cond c);
/* 0 and *out set when name is one of ep, pe, ep-topk, pe-topk, pred; -1 otherwise. */
int sx_cond_from_name(const char *name, enum sx_cond *out);
int sx_cond_has_importance(enum sx_cond c); /* ep, pe: a full importance list */
int sx_cond_is_topk(enum sx_cond c);        /* ep-topk, pe-topk: a list of k words */
int sx_cond_explains_first(enum sx_cond c); /* ep, ep-topk */
/* k = max(floor(0.2 n), 1). */
size_t sx_topk_k(size_t ntokens);

struct sx_prompt {
	enum sx_cond cond;
	char *system; /* owned */
	char *user;   /* owned */
	char hash[SX_SHA256_HEX_LEN + 1];
};

#define SX_PROMPT_INIT { .cond = SX_COND_EP, .system = NULL, .user = NULL, .hash = "" }

/* Parse template text; name is used in messages only. */
int sx_prompt_parse(struct sx_prompt *p, enum sx_cond cond, const char *name, const char *text,
		    size_t len, struct sx_err *err);
/* Load dir/<condition name>. */
int sx_prompt_load(struct sx_prompt *p, const char *dir, enum sx_cond cond, struct sx_err *err);
void sx_prompt_release(struct sx_prompt *p);

/* Render the system and user messages for a review of ntokens tokens (appended to the buffers). */
void sx_prompt_render(const struct sx_prompt *p, const char *review, size_t ntokens,
		      struct sx_buf *system, struct sx_buf *user);

#endif
