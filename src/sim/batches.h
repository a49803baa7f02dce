#ifndef SELFEXP_SIM_BATCHES_H
#define SELFEXP_SIM_BATCHES_H
/*
 * The sim's Batch API (src/sim/ only; server.c routes to it): files and
 * batches kept in memory, the OpenAI shapes (docs/batch.md):
 *   POST /v1/files (multipart: purpose, file)   GET /v1/files[?purpose=]
 *   GET  /v1/files/{id}/content                 POST /v1/batches
 *   GET  /v1/batches[?limit=]   GET /v1/batches/{id}   POST /v1/batches/{id}/cancel
 * A batch is "validating" when created, "in_progress" after half its delay,
 * and done when polled after its delay: every line is answered as
 * POST /v1/chat/completions would answer its body (no chat faults, no
 * latency), into an output file (status 200 lines) and an error file.
 * Faults (enum sx_sim_batch_fault in sim.h) make lines fail, the first batch
 * expire or fail, or the first download of each output file stop half-way.
 */
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/sim.h"

/*
 * How the server answers one chat body: the HTTP status, and in out the
 * completion (200) or an OpenAI error body.
 */
typedef unsigned (*sim_answer_fn)(void *ctx, const char *body, size_t len, struct sx_buf *out);

struct sim_batches;

struct sim_batches *sim_batches_new(const struct sx_sim_config *cfg, sim_answer_fn answer,
				    void *ctx);
void sim_batches_free(struct sim_batches *b);
/* 1 when url is a route of the Batch API (Files and Batches); otherwise 0 and nothing is set. */
int sim_batches_route(const char *url);

struct sim_batches_reply {
	unsigned status;
	struct sx_buf body;       /* owned by the caller (released after) */
	const char *content_type; /* static */
	size_t cut;               /* > 0: send only this many bytes of body (a cut download) */
};

/*
 * Answer one request of a route (content_type: of the request, for
 * multipart). query_limit and query_after (NULL: none) page GET /batches as
 * OpenAI's list does: newest first, the batches older than the one named
 * after. Thread-safe.
 */
void sim_batches_handle(struct sim_batches *b, const char *method, const char *url,
			const char *query_purpose, long query_limit, const char *query_after,
			const char *content_type, const char *body, size_t len,
			struct sim_batches_reply *out);
/* The batch counters, appended to the /stats object as ',"batches":{...}'. */
void sim_batches_stats(struct sim_batches *b, struct sx_buf *out);

#endif
