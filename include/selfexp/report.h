#ifndef SELFEXP_REPORT_H
#define SELFEXP_REPORT_H
/*
 * `selfexp report`: one self-contained HTML file for a run directory (no
 * external script, style, font or image; a Content-Security-Policy that
 * forbids loading anything). It holds the run's metadata, the paper tables
 * (table.h), SVG agreement heatmaps and histograms of importance values and
 * confidence, one card per (review, condition) with the tokens coloured by
 * importance for the self-explanation, occlusion and LIME side by side, the
 * prediction, confidence, gold label and the raw answer, which a little inline
 * script sorts (by disagreement = 1 - Spearman(self, occlusion), confidence,
 * id) and filters (by condition, parse status, text); and the list of parse
 * failures with their raw answers.
 *
 * Everything taken from the run (tokens, answers, ids, paths) is untrusted
 * and HTML-escaped; raw answers are cut at SX_REPORT_ANSWER_MAX bytes.
 */
#include "selfexp/buf.h"
#include "selfexp/err.h"

struct sx_rundir;

#define SX_REPORT_ANSWER_MAX 4096

/* Append the report of rd (loaded with summary and records) to out. */
int sx_report_render(const struct sx_rundir *rd, struct sx_buf *out, struct sx_err *err);
/*
 * Load the run directory dir, render its report and write it atomically to
 * path (NULL: dir/report.html). *bytes, if not NULL, gets the file size.
 */
int sx_report_write(const char *dir, const char *path, size_t *bytes, struct sx_err *err);

#endif
