#ifndef SELFEXP_TABLE_H
#define SELFEXP_TABLE_H
/*
 * The tables of a run (`selfexp table`, and the tables of `selfexp report`),
 * built from run.json and summary.json only.
 *
 * Layouts:
 *   paper  Table 1 accuracy (conditions in columns, with ECE, parse failures,
 *          failed requests and n); Table 2 faithfulness: rows self (full),
 *          self (top-k), occlusion and LIME grouped by E-P and P-E (and
 *          prediction only), columns Comp, Suff, DF_MIT, DF_Frac, RankDel as
 *          "mean [lo, hi]", the best value of each column within a group in
 *          bold; then one method x method agreement matrix per agreement metric.
 *   long   every aggregate of summary.json, one row per (condition, method,
 *          metric), and the paired comparisons with their p-values.
 * Every table says how many reviews it rests on and how many parse failures
 * were excluded.
 *
 * Formats (a table of implementations in table.c): md (GitHub Markdown),
 * tex (LaTeX with booktabs: a fragment of table environments that needs
 * \usepackage{booktabs}, or with standalone a complete document), csv (tidy:
 * one row per value, columns table, condition, method, metric, stat, value;
 * missing values are NA), html (fragments, or a complete page).
 */
#include "selfexp/buf.h"
#include "selfexp/err.h"

struct sx_json;

enum sx_table_layout { SX_TABLE_PAPER, SX_TABLE_LONG };

struct sx_table_opts {
	const char *format;          /* md, tex, csv or html */
	enum sx_table_layout layout;
	int standalone;              /* tex, html: a complete document */
};

#define SX_TABLE_OPTS_INIT { .format = "md", .layout = SX_TABLE_PAPER, .standalone = 0 }

/* The format names, comma-separated, for usage texts: "md, tex, csv, html". */
const char *sx_table_format_names(void);
/* 0 when name is a known format, -1 otherwise. */
int sx_table_format_check(const char *name);
/* "paper" / "long" -> layout; -1 for another name. */
int sx_table_layout_from_name(const char *name, enum sx_table_layout *out);

/*
 * Append the tables of a run (its run.json and summary.json objects) to out.
 * SX_EINPUT when the summary lacks what the tables need.
 */
int sx_table_render(const struct sx_json *run, const struct sx_json *summary,
		    const struct sx_table_opts *opts, struct sx_buf *out, struct sx_err *err);

#endif
