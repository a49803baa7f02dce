#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/metrics.h"
#include "selfexp/registry.h"
#include "selfexp/report.h"
#include "selfexp/rundir.h"
#include "selfexp/stats.h"
#include "selfexp/table.h"

/* ---------------------------------------------------------------- helpers */

static void esc(struct sx_buf *b, const char *s)
{
	if (s)
		sx_buf_add_html(b, s, strlen(s));
}

/* An answer, escaped and cut at SX_REPORT_ANSWER_MAX bytes. */
static void esc_answer(struct sx_buf *b, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len <= SX_REPORT_ANSWER_MAX) {
		sx_buf_add_html(b, s ? s : "", len);
		return;
	}
	sx_buf_add_html(b, s, SX_REPORT_ANSWER_MAX);
	sx_buf_addf(b, "\n[... %zu more bytes not shown]", len - SX_REPORT_ANSWER_MAX);
}

static double num_at(const struct sx_json *arr, size_t i)
{
	double v;

	return !sx_json_num(sx_json_at(arr, i), &v) ? v : NAN;
}

/* ---------------------------------------------------------------- page frame */

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#222}"
	"header{background:#263238;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}"
	"header p{margin:4px 0 0;color:#cfd8dc}nav{padding:6px 24px;background:#eceff1;"
	"position:sticky;top:0;z-index:2}nav a{margin-right:14px;color:#1565c0}"
	"main{padding:8px 24px 40px}h2{border-bottom:2px solid #cfd8dc;padding-bottom:2px;"
	"margin-top:28px}"
	"dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}"
	"dl.meta dt{font-weight:600;color:#455a64}dl.meta dd{margin:0;word-break:break-all}"
	"code{font-size:12px}"
	"table.sx{border-collapse:collapse;margin:10px 0 2px}"
	"table.sx th,table.sx td{padding:3px 9px;border-bottom:1px solid #e0e0e0}"
	"table.sx th{background:#f5f5f5}table.sx td.n{text-align:right;"
	"font-variant-numeric:tabular-nums;white-space:nowrap}table.sx small{color:#777}"
	"table.sx tr.g td{font-style:italic;background:#fafafa;font-weight:600}"
	"table.sx caption{text-align:left;font-weight:600;padding:4px 0}"
	"p.note{color:#666;font-size:12px;max-width:1100px;margin:2px 0 14px}"
	".charts{display:flex;flex-wrap:wrap;gap:14px}.charts figure{margin:0}"
	".charts figcaption{font-size:12px;color:#555;max-width:720px}"
	"svg text{font:11px system-ui,sans-serif}"
	".ctl{display:flex;flex-wrap:wrap;gap:12px;align-items:center;background:#f5f5f5;"
	"padding:8px;border-radius:4px;position:sticky;top:30px;z-index:1}"
	".card{border:1px solid #ddd;border-radius:4px;margin:8px 0;padding:6px 10px;"
	"content-visibility:auto;contain-intrinsic-size:auto 150px}"
	".card .hd{font-size:13px;color:#444;margin-bottom:4px}.card .hd b{color:#000}"
	".card table{border-collapse:collapse}.card th{text-align:left;font-weight:500;"
	"color:#666;padding:2px 10px 2px 0;vertical-align:top;white-space:nowrap;font-size:12px}"
	".card td{padding:2px 0;line-height:1.9}"
	/* inline-block: a break between tokens, which the markup runs together (no spaces) */
	".tk span{display:inline-block;padding:1px 2px;border-radius:2px;margin-right:2px}"
	".p1{background:#e3f2e5}.p2{background:#b7e0bd}.p3{background:#7cc88a}.p4{background:#3fa556;color:#fff}"
	".n1{background:#fde6e6}.n2{background:#f8b8b8}.n3{background:#f07d7d}.n4{background:#d93b3b;color:#fff}"
	".na{color:#999;text-decoration:underline dotted}.k{background:#ffe08a;font-weight:600}"
	".st{padding:0 5px;border-radius:3px;font-size:12px;background:#e0e0e0}"
	".st-ok{background:#c8e6c9}.st-ok_with_repairs{background:#fff9c4}"
	".st-failed,.st-unparseable,.st-invalid,.st-no_prediction,.st-no_explanation{background:#ffcdd2}"
	".wrong{color:#c62828;font-weight:600}"
	"details pre{white-space:pre-wrap;word-break:break-word;background:#fafafa;"
	"border:1px solid #eee;padding:6px;font-size:12px;max-height:300px;overflow:auto}"
	".legend span{padding:1px 6px;margin-right:3px}"
	"table.pf td{vertical-align:top;border-bottom:1px solid #eee;padding:4px 8px}";

/*
 * Sorting and filtering of the cards. An error anywhere sets document.title
 * (and data-js-error on <html>), which the browser test looks for.
 */
static const char js_onerror[] =
	"window.onerror=function(m){document.title='JS-ERROR: '+m;"
	"document.documentElement.setAttribute('data-js-error',String(m));};";

static const char js_cards[] =
	"(function(){"
	"var list=document.getElementById('cards');if(!list)return;"
	"var cards=Array.prototype.slice.call(list.children);"
	"var fc=document.getElementById('f-cond'),fs=document.getElementById('f-status'),"
	"so=document.getElementById('f-sort'),q=document.getElementById('f-q'),"
	"shown=document.getElementById('shown');"
	"function val(c,k){var v=c.getAttribute('data-'+k);return v===null||v===''?NaN:parseFloat(v);}"
	"function apply(){"
	"var cv=fc.value,sv=fs.value,qv=q.value.toLowerCase(),n=0,key=so.value,dir=1;"
	"if(key.charAt(0)==='-'){dir=-1;key=key.substring(1);}"
	"var arr=cards.slice();"
	"arr.sort(function(a,b){var x=val(a,key),y=val(b,key);"
	"if(isNaN(x))return isNaN(y)?val(a,'i')-val(b,'i'):1;if(isNaN(y))return -1;"
	"return dir*(x-y)||val(a,'i')-val(b,'i');});"
	"var frag=document.createDocumentFragment();"
	"arr.forEach(function(c){var ok=(cv===''||c.getAttribute('data-cond')===cv)&&"
	"(sv===''||c.getAttribute('data-status')===sv)&&"
	"(qv===''||c.getAttribute('data-text').indexOf(qv)>=0);"
	"c.hidden=!ok;if(ok)n++;frag.appendChild(c);});"
	"list.appendChild(frag);shown.textContent=n+' of '+cards.length+' shown';}"
	"[fc,fs,so].forEach(function(e){e.addEventListener('change',apply);});"
	"q.addEventListener('input',apply);apply();"
	"document.documentElement.setAttribute('data-ready',String(Math.round(performance.now())));"
	"})();";

static void page_head(struct sx_buf *b, const struct sx_rundir *rd)
{
	const struct sx_json *model = sx_json_get(rd->run, "model"), *data = sx_json_get(rd->run, "data");
	const char *path = sx_json_str_or(data, "path", "?"), *base = strrchr(path, '/');
	struct sx_buf title = SX_BUF_INIT;

	base = base ? base + 1 : path;
	sx_buf_addf(&title, "selfexp report: %s on %s", sx_json_str_or(model, "name", "?"), base);
	sx_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
		       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		       "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
		       "<title>");
	esc(b, title.buf);
	sx_buf_adds(b, "</title>\n<script>");
	sx_buf_adds(b, js_onerror);
	sx_buf_adds(b, "</script>\n<style>");
	sx_buf_adds(b, css);
	sx_buf_adds(b, "</style>\n</head>\n<body>\n<header><h1>");
	esc(b, title.buf);
	sx_buf_adds(b, "</h1><p>");
	esc(b, sx_json_str_or(rd->run, "started", "?"));
	sx_buf_adds(b, " &ndash; ");
	esc(b, sx_json_str_or(rd->run, "finished", "?"));
	sx_buf_addf(b, ", %.0f reviews, selfexp ", sx_json_num_or_nan(data, "reviews"));
	esc(b, sx_json_str_or(rd->run, "selfexp_version", "?"));
	sx_buf_adds(b, "</p></header>\n<nav><a href=\"#meta\">Run</a><a href=\"#tables\">Tables</a>"
		       "<a href=\"#figures\">Figures</a><a href=\"#charts\">Charts</a><a href=\"#reviews\">Reviews</a>"
		       "<a href=\"#failures\">Parse failures</a></nav>\n<main>\n");
	sx_buf_release(&title);
}

/* ---------------------------------------------------------------- metadata */

static void meta_item(struct sx_buf *b, const char *dt, const struct sx_json *v)
{
	char *s;

	if (!v)
		return;
	sx_buf_adds(b, "<dt>");
	esc(b, dt);
	sx_buf_adds(b, "</dt><dd>");
	if (sx_json_type_of(v) == SX_JSON_STRING) {
		esc(b, sx_json_str(v));
	} else {
		s = sx_json_print(v, 0);
		sx_buf_adds(b, "<code>");
		esc(b, s);
		sx_buf_adds(b, "</code>");
		free(s);
	}
	sx_buf_adds(b, "</dd>\n");
}

static void section_meta(struct sx_buf *b, const struct sx_rundir *rd)
{
	static const char *const keys[][2] = {
		{ "command", "command" }, { "selfexp_version", "selfexp version" },
		{ "complete", "complete" }, { "started", "started" }, { "finished", "finished" },
		{ "data", "data" }, { "model", "model" }, { "conditions", "conditions" },
		{ "templates", "prompt templates (SHA-256)" }, { "explainers", "explainers" },
		{ "seed", "seed" }, { "prob", "probability source" },
		{ "perturb_prompt", "perturbed inputs under" },
		{ "compat", "metric definitions (--compat)" }, { "lime", "LIME" },
		{ "bootstrap", "bootstrap resamples" }, { "counts", "requests, tokens, cost" },
		{ "failures", "failed requests by stage and reason" },
		{ "scored", "rescored by selfexp score (its counts; complete before)" },
	};
	double nfailed = sx_json_num_or_nan(sx_json_get(rd->run, "failures"), "requests");
	int complete = sx_rundir_run_complete(rd->run);
	size_t i;

	sx_buf_adds(b, "<section id=\"meta\"><h2>Run</h2>\n");
	if (!complete && nfailed > 0)
		sx_buf_addf(b, "<p class=\"wrong\">This run is partial: %.0f requests failed (their "
			       "stages and reasons are listed below), and every number that needed "
			       "them is left out.</p>\n", nfailed);
	else if (!complete)
		sx_buf_adds(b, "<p class=\"wrong\">This run did not complete: it was stopped at a "
			       "cap or interrupted, and holds only what was done.</p>\n");
	else if (complete < 0)
		sx_buf_adds(b, "<p class=\"wrong\">This run is not known to be complete: its "
			       "run.json has no \"complete\" (every selfexp writes it: the file is "
			       "damaged).</p>\n");
	sx_buf_adds(b, "<p>Run directory: <code>");
	esc(b, rd->dir);
	sx_buf_adds(b, "</code></p>\n<dl class=\"meta\">\n");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		meta_item(b, keys[i][1], sx_json_get(rd->run, keys[i][0]));
	sx_buf_adds(b, "</dl></section>\n");
}

/* ---------------------------------------------------------------- SVG charts */

/* Colour of a value in [-1, 1]: red (negative) - white - blue (positive). */
static void heat_colour(char *out, size_t len, double v)
{
	double t = v > 1 ? 1 : v < -1 ? -1 : v;
	int r, g, bl;

	if (!isfinite(v)) {
		snprintf(out, len, "#eeeeee");
		return;
	}
	if (t >= 0) {
		r = (int)(255 - t * (255 - 33));
		g = (int)(255 - t * (255 - 102));
		bl = (int)(255 - t * (255 - 172));
	} else {
		r = (int)(255 + t * (255 - 198));
		g = (int)(255 + t * (255 - 40));
		bl = (int)(255 + t * (255 - 40));
	}
	snprintf(out, len, "#%02x%02x%02x", r, g, bl);
}

#define HEAT_MAX_METHODS 8

/* The methods that appear in a condition's agreement pairs, in order. */
static size_t pair_methods(const struct sx_json *agreement, char names[][16])
{
	const struct sx_json *p;
	size_t n = 0, i, k;

	for (p = sx_json_child(agreement); p; p = sx_json_next(p)) {
		const char *key = sx_json_key(p), *t = strchr(key, '~');
		char part[2][16];
		int len0;

		if (!t)
			continue;
		len0 = (int)(t - key) < 15 ? (int)(t - key) : 15;
		snprintf(part[0], sizeof(part[0]), "%.*s", len0, key);
		snprintf(part[1], sizeof(part[1]), "%.15s", t + 1);
		for (k = 0; k < 2; k++) {
			for (i = 0; i < n; i++)
				if (!strcmp(names[i], part[k]))
					break;
			if (i == n && n < HEAT_MAX_METHODS)
				memcpy(names[n++], part[k], sizeof(part[k]));
		}
	}
	return n;
}

static const struct sx_json *pair_metric(const struct sx_json *agreement, const char *a,
					 const char *b, const char *metric)
{
	char key[40];
	const struct sx_json *p;

	snprintf(key, sizeof(key), "%s~%s", a, b);
	p = sx_json_get(agreement, key);
	if (!p) {
		snprintf(key, sizeof(key), "%s~%s", b, a);
		p = sx_json_get(agreement, key);
	}
	return sx_json_get(p, metric);
}

/* The agreement metrics' keys, in the registry's order (registry.h). */
#define HEAT_MAX_METRICS 16
static size_t agree_keys(const char **keys)
{
	const struct sx_metric_def *m;
	size_t n = 0;

	while (n < HEAT_MAX_METRICS && (m = sx_metric_of(SX_METRIC_AGREE, n)))
		keys[n++] = m->key;
	return n;
}

static void svg_heatmaps(struct sx_buf *b, const char *cond, const struct sx_json *agreement)
{
	const char *metrics[HEAT_MAX_METRICS];
	char names[HEAT_MAX_METHODS][16], colour[16];
	size_t nm = pair_methods(agreement, names), q, i, j, nq = 0;
	const double cell = 40, label = 64, gap = 18;
	double w, h, x0;

	size_t nmetrics = agree_keys(metrics);

	if (nm < 2)
		return;
	for (q = 0; q < nmetrics; q++)
		for (i = 0; i < nm; i++)
			for (j = 0; j < nm; j++)
				if (i != j && pair_metric(agreement, names[i], names[j], metrics[q]))
					goto used;
	return;
used:
	for (q = 0; q < nmetrics; q++) {
		int any = 0;
		for (i = 0; i < nm && !any; i++)
			for (j = 0; j < nm; j++)
				any |= i != j && pair_metric(agreement, names[i], names[j], metrics[q]);
		nq += any;
	}
	w = label + (double)nq * ((double)nm * cell + gap);
	h = 34 + (double)nm * cell + 6;
	sx_buf_adds(b, "<figure class=\"heat\"><svg xmlns=\"http://www.w3.org/2000/svg\" ");
	sx_buf_addf(b, "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"agreement heatmaps ", w, h);
	esc(b, cond);
	sx_buf_adds(b, "\">");
	for (i = 0; i < nm; i++) {
		sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", label - 4,
			    34 + (double)i * cell + cell / 2 + 4);
		esc(b, names[i]);
		sx_buf_adds(b, "</text>");
	}
	x0 = label;
	for (q = 0; q < nmetrics; q++) {
		int any = 0;
		for (i = 0; i < nm && !any; i++)
			for (j = 0; j < nm; j++)
				any |= i != j && pair_metric(agreement, names[i], names[j], metrics[q]);
		if (!any)
			continue;
		sx_buf_addf(b, "<text x=\"%.0f\" y=\"12\" font-weight=\"600\">%s</text>", x0,
			    metrics[q]);
		for (j = 0; j < nm; j++) {
			sx_buf_addf(b, "<text x=\"%.0f\" y=\"28\" text-anchor=\"middle\" font-size=\"9\">",
				    x0 + (double)j * cell + cell / 2);
			sx_buf_addf(b, "%.4s", names[j]);
			sx_buf_adds(b, "</text>");
		}
		for (i = 0; i < nm; i++)
			for (j = 0; j < nm; j++) {
				const struct sx_json *m = i == j ? NULL
							  : pair_metric(agreement, names[i], names[j],
									metrics[q]);
				double v = i == j ? 1.0 : sx_json_num_or_nan(m, "mean");
				double x = x0 + (double)j * cell, y = 34 + (double)i * cell;

				heat_colour(colour, sizeof(colour), i == j ? NAN : v);
				sx_buf_addf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
					       "fill=\"%s\" stroke=\"#fff\"><title>",
					    x, y, cell, cell, colour);
				esc(b, names[i]);
				sx_buf_adds(b, " ~ ");
				esc(b, names[j]);
				if (i != j && isfinite(v))
					sx_buf_addf(b, " %s = %.3f (n = %.0f)", metrics[q], v,
						    sx_json_num_or_nan(m, "n"));
				sx_buf_adds(b, "</title></rect>");
				if (i != j && isfinite(v))
					sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" "
						       "fill=\"%s\">%.2f</text>",
						    x + cell / 2, y + cell / 2 + 4,
						    fabs(v) > 0.6 ? "#fff" : "#000", v);
			}
		x0 += (double)nm * cell + gap;
	}
	sx_buf_adds(b, "</svg><figcaption>");
	esc(b, sx_rundir_condition_label(cond));
	sx_buf_adds(b, ": mean agreement between explanation methods over reviews "
		       "(blue = agree, red = disagree)</figcaption></figure>\n");
}

#define HIST_BINS 20
/* The plot's left edge, widened for a count of more digits than 4 ... */
#define HIST_LEFT 34
/* ... at this width of a digit of 11 px text (0.64 em, DejaVu Sans and wider than most). */
#define HIST_DIGIT_W 7.0

/* A histogram of v[0..n) over [lo, hi] as an SVG figure. */
static void svg_hist(struct sx_buf *b, const char *caption, const double *v, size_t n, double lo,
		     double hi, const char *fill)
{
	size_t count[HIST_BINS] = { 0 }, i, maxc = 0, used = 0, digits;
	const double W = 300, H = 120, bottom = 18, top = 6;
	double left = HIST_LEFT, bw;

	for (i = 0; i < n; i++) {
		long k;
		if (!isfinite(v[i]) || hi <= lo)
			continue;
		k = (long)floor((v[i] - lo) / (hi - lo) * HIST_BINS);
		if (k < 0)
			k = 0;
		if (k >= HIST_BINS)
			k = HIST_BINS - 1;
		count[k]++;
		used++;
	}
	for (i = 0; i < HIST_BINS; i++)
		if (count[i] > maxc)
			maxc = count[i];
	/* The count at the top of the y axis ends 3 px left of the axis: room for all its digits. */
	for (digits = 1, i = maxc; i >= 10; i /= 10)
		digits++;
	if (left < 3 + HIST_DIGIT_W * (double)digits + 2)
		left = 3 + HIST_DIGIT_W * (double)digits + 2;
	bw = (W - left - 4) / HIST_BINS;
	sx_buf_addf(b, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		       "height=\"%.0f\" role=\"img\" aria-label=\"histogram\">", W, H);
	sx_buf_addf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#999\"/>",
		    left, H - bottom, W - 4, H - bottom);
	for (i = 0; i < HIST_BINS && maxc; i++) {
		double h = (H - bottom - top) * (double)count[i] / (double)maxc;
		sx_buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
			       "<title>[%.3g, %.3g): %zu</title></rect>",
			    left + (double)i * bw + 0.5, H - bottom - h, bw - 1, h, fill,
			    lo + (hi - lo) * (double)i / HIST_BINS,
			    lo + (hi - lo) * (double)(i + 1) / HIST_BINS, count[i]);
	}
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\">%.3g</text>", left, H - 4, lo);
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.3g</text>", W - 4, H - 4, hi);
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%zu</text>", left - 3,
		    top + 8, maxc);
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>", left - 3,
		    H - bottom);
	sx_buf_adds(b, "</svg><figcaption>");
	esc(b, caption);
	sx_buf_addf(b, " (n = %zu)</figcaption></figure>\n", used);
}

struct values {
	double *v;
	size_t n, alloc;
};

static void values_push(struct values *vs, double v)
{
	SX_GROW(vs->v, vs->alloc, vs->n + 1);
	vs->v[vs->n++] = v;
}

static void section_charts(struct sx_buf *b, const struct sx_rundir *rd)
{
	const struct sx_json *c;
	const char *file[SX_RUNDIR_FILE_METHODS_MAX];
	size_t nfile = sx_rundir_file_methods(rd->summary, file, SX_RUNDIR_FILE_METHODS_MAX);
	size_t m, i, k;

	sx_buf_adds(b, "<section id=\"charts\"><h2>Charts</h2>\n<h3>Agreement</h3>\n<div class=\"charts\">\n");
	for (c = sx_json_child(sx_json_get(rd->summary, "conditions")); c; c = sx_json_next(c))
		svg_heatmaps(b, sx_json_key(c), sx_json_get(c, "agreement"));
	sx_buf_adds(b, "</div>\n<h3>Importance values</h3>\n<div class=\"charts\">\n");
	for (m = 0; m < SX_METHOD_COUNT + nfile; m++) {
		const char *name = m < SX_METHOD_COUNT ? sx_methods[m].name : file[m - SX_METHOD_COUNT];
		struct values vs = { NULL, 0, 0 };
		double maxabs = 0, lim;

		for (i = 0; i < rd->nrecords; i++) {
			const struct sx_json *imp;
			if (strcmp(sx_json_str_or(rd->records[i], "method", ""), name))
				continue;
			imp = sx_json_get(rd->records[i], "importance");
			for (k = 0; k < sx_json_len(imp); k++) {
				double v = num_at(imp, k);
				if (isfinite(v)) {
					values_push(&vs, v);
					if (fabs(v) > maxabs)
						maxabs = fabs(v);
				}
			}
		}
		if (vs.n) {
			struct sx_buf cap = SX_BUF_INIT;
			lim = m == 0 ? 1.0 : maxabs > 0 ? maxabs : 1.0;
			if (m < SX_METHOD_COUNT)
				sx_buf_addf(&cap, "%s, all conditions", sx_methods[m].importance_label);
			else
				sx_buf_addf(&cap, "%s importance, all conditions", file[m - SX_METHOD_COUNT]);
			svg_hist(b, cap.buf, vs.v, vs.n, -lim, lim,
				 m == 0 ? "#5c6bc0" : m == 1 ? "#26a69a" : m == 2 ? "#ffa726" : "#78909c");
			sx_buf_release(&cap);
		}
		free(vs.v);
	}
	sx_buf_adds(b, "</div>\n<h3>Verbal confidence</h3>\n<div class=\"charts\">\n");
	for (c = sx_json_child(sx_json_get(rd->summary, "conditions")); c; c = sx_json_next(c)) {
		struct values vs = { NULL, 0, 0 };
		const char *cond = sx_json_key(c);
		struct sx_buf cap = SX_BUF_INIT;

		for (i = 0; i < rd->nrecords; i++) {
			const struct sx_json *r = rd->records[i];
			const char *meth = sx_json_str_or(r, "method", "");
			if (strcmp(sx_json_str_or(r, "condition", ""), cond) ||
			    (strcmp(meth, "self") && strcmp(meth, "topk") && strcmp(meth, "prediction")))
				continue;
			values_push(&vs, sx_json_num_or_nan(sx_json_get(r, "prediction"),
							    "confidence"));
		}
		sx_buf_addf(&cap, "confidence, %s", sx_rundir_condition_label(cond));
		svg_hist(b, cap.buf, vs.v, vs.n, 0, 1, "#8d6e63");
		sx_buf_release(&cap);
		free(vs.v);
	}
	sx_buf_adds(b, "</div></section>\n");
}

/* ---------------------------------------------------------------- review cards */

static const char *method_label(const char *m)
{
	return !strcmp(m, "self") ? "self" : sx_method_table_label(m);
}

/* The tokens of a record coloured by its importance vector (or top-k list, or ranking). */
static void token_row(struct sx_buf *b, const struct sx_json *rec)
{
	const struct sx_json *tokens = sx_json_get(rec, "tokens");
	const struct sx_json *imp = sx_json_get(rec, "importance");
	const struct sx_json *topk = sx_json_get(rec, "topk");

	if (!topk)
		topk = sx_json_get(rec, "ranking"); /* a ranking-only method of a file */
	size_t n = sx_json_len(tokens), i, k;
	double maxabs = 0;
	int *rank = NULL;

	sx_buf_addf(b, "<tr><th>%s</th><td class=\"tk\">",
		    method_label(sx_json_str_or(rec, "method", "")));
	if (topk) {
		rank = xcalloc(n + 1, sizeof(int));
		for (k = 0; k < sx_json_len(topk); k++) {
			double p = num_at(topk, k);
			if (isfinite(p) && p >= 0 && p < (double)n && !rank[(size_t)p])
				rank[(size_t)p] = (int)k + 1;
		}
	} else if (sx_json_type_of(imp) != SX_JSON_ARRAY) {
		const char *e = sx_json_get_str(rec, "error");
		sx_buf_adds(b, "<i>no explanation");
		if (e) {
			sx_buf_adds(b, ": ");
			esc(b, e);
		}
		sx_buf_adds(b, "</i></td></tr>");
		return;
	}
	for (i = 0; imp && i < sx_json_len(imp); i++) {
		double v = num_at(imp, i);
		if (isfinite(v) && fabs(v) > maxabs)
			maxabs = fabs(v);
	}
	for (i = 0; i < n; i++) {
		const char *tok = sx_json_str(sx_json_at(tokens, i));
		if (rank) {
			if (rank[i])
				sx_buf_addf(b, "<span class=\"k\" title=\"#%d\">", rank[i]);
			else
				sx_buf_adds(b, "<span>");
		} else {
			double v = num_at(imp, i);
			if (!isfinite(v)) {
				sx_buf_adds(b, "<span class=\"na\" title=\"no value\">");
			} else {
				int lvl = maxabs > 0 ? (int)ceil(fabs(v) / maxabs * 4) : 0;
				if (lvl > 4)
					lvl = 4;
				if (lvl == 0)
					sx_buf_addf(b, "<span title=\"%.3g\">", v);
				else
					sx_buf_addf(b, "<span class=\"%c%d\" title=\"%.3g\">",
						    v > 0 ? 'p' : 'n', lvl, v);
			}
		}
		esc(b, tok ? tok : "");
		sx_buf_adds(b, "</span>");
	}
	free(rank);
	sx_buf_adds(b, "</td></tr>");
}

/* 1 - Spearman(self, occlusion); for top-k answers 1 - feature agreement with occlusion. */
static double disagreement(const struct sx_json *own)
{
	const struct sx_json *occ = sx_json_get(sx_json_get(own, "agreement"), "occlusion");
	double v = sx_json_num_or_nan(occ, "spearman");

	if (!isfinite(v))
		v = sx_json_num_or_nan(occ, "feature");
	return isfinite(v) ? 1 - v : NAN;
}

static void card(struct sx_buf *b, const struct sx_rundir *rd, const struct sx_json *own,
		 size_t index)
{
	const char *id = sx_json_str_or(own, "id", "");
	const char *cond = sx_json_str_or(own, "condition", "");
	const char *status = sx_json_str_or(own, "status", "unknown"), *answer;
	const struct sx_json *pred = sx_json_get(own, "prediction"), *tokens = sx_json_get(own, "tokens");
	double gold = sx_json_num_or_nan(own, "gold"), label = sx_json_num_or_nan(pred, "label");
	double conf = sx_json_num_or_nan(pred, "confidence");
	double dis = disagreement(own);
	struct sx_buf text = SX_BUF_INIT;
	const char *file[SX_RUNDIR_FILE_METHODS_MAX];
	size_t nfile = sx_rundir_file_methods(rd->summary, file, SX_RUNDIR_FILE_METHODS_MAX);
	size_t i;

	for (i = 0; i < sx_json_len(tokens); i++) {
		const char *t = sx_json_str(sx_json_at(tokens, i));
		size_t k;
		if (i)
			sx_buf_addch(&text, ' ');
		for (k = 0; t && t[k]; k++)
			sx_buf_addch(&text, t[k] >= 'A' && t[k] <= 'Z' ? t[k] - 'A' + 'a' : t[k]);
	}
	sx_buf_addf(b, "<div class=\"card\" data-i=\"%zu\" data-cond=\"", index);
	esc(b, cond);
	sx_buf_adds(b, "\" data-status=\"");
	esc(b, status);
	sx_buf_adds(b, "\" data-dis=\"");
	if (isfinite(dis))
		sx_buf_addf(b, "%.4f", dis);
	sx_buf_adds(b, "\" data-conf=\"");
	if (isfinite(conf))
		sx_buf_addf(b, "%.4f", conf);
	sx_buf_adds(b, "\" data-text=\"");
	esc(b, id);
	sx_buf_addch(b, ' ');
	esc(b, text.buf);
	sx_buf_adds(b, "\"><div class=\"hd\"><b>");
	esc(b, id);
	sx_buf_adds(b, "</b> &middot; ");
	esc(b, sx_rundir_condition_label(cond));
	sx_buf_adds(b, " &middot; gold ");
	if (isfinite(gold))
		sx_buf_addf(b, "%.0f", gold);
	else
		sx_buf_adds(b, "&ndash;");
	sx_buf_adds(b, " &middot; prediction ");
	if (isfinite(label))
		sx_buf_addf(b, "<span%s>%.0f</span> (confidence %.3g)",
			    isfinite(gold) && gold != label ? " class=\"wrong\"" : "", label, conf);
	else
		sx_buf_adds(b, "&ndash;");
	sx_buf_adds(b, " &middot; <span class=\"st st-");
	esc(b, status);
	sx_buf_adds(b, "\">");
	esc(b, status);
	sx_buf_adds(b, "</span>");
	if (isfinite(dis))
		sx_buf_addf(b, " &middot; disagreement %.3f", dis);
	sx_buf_adds(b, "</div><table>");
	if (strcmp(sx_json_str_or(own, "method", ""), "prediction"))
		token_row(b, own);
	for (i = 0; i < SX_METHOD_COUNT; i++) {
		const struct sx_json *r = sx_methods[i].queries
			? sx_rundir_record(rd, id, cond, sx_methods[i].name) : NULL;
		if (r)
			token_row(b, r);
	}
	for (i = 0; i < nfile; i++) {
		const struct sx_json *r = sx_rundir_record(rd, id, cond, file[i]);
		if (r)
			token_row(b, r);
	}
	sx_buf_adds(b, "</table>");
	answer = sx_json_get_str(own, "answer");
	sx_buf_adds(b, "<details><summary>raw answer</summary><pre>");
	if (answer)
		esc_answer(b, answer);
	else {
		sx_buf_adds(b, "(no answer: ");
		esc(b, sx_json_str_or(own, "error", "unknown"));
		sx_buf_adds(b, ")");
	}
	sx_buf_adds(b, "</pre></details></div>\n");
	sx_buf_release(&text);
}

static int is_own(const struct sx_json *r)
{
	const char *m = sx_json_str_or(r, "method", "");

	return !strcmp(m, "self") || !strcmp(m, "topk") || !strcmp(m, "prediction");
}

static void section_reviews(struct sx_buf *b, const struct sx_rundir *rd)
{
	const struct sx_json *c, *st;
	size_t i, ncards = 0;
	char seen[32][32];
	size_t nseen = 0, k;

	sx_buf_adds(b, "<section id=\"reviews\"><h2>Reviews</h2>\n"
		       "<p class=\"legend\">Tokens coloured by importance toward the positive label, "
		       "scaled per explanation: <span class=\"p4\">strongly positive</span>"
		       "<span class=\"p2\">positive</span><span class=\"n2\">negative</span>"
		       "<span class=\"n4\">strongly negative</span><span class=\"na\">no value</span>"
		       "<span class=\"k\">in the model's top-k list</span>. Hover a token for its "
		       "value. Disagreement = 1 &minus; Spearman(self, occlusion) (top-k answers: "
		       "1 &minus; feature agreement with occlusion).</p>\n"
		       "<div class=\"ctl\"><label>condition <select id=\"f-cond\"><option value=\"\">all</option>");
	for (c = sx_json_child(sx_json_get(rd->summary, "conditions")); c; c = sx_json_next(c)) {
		sx_buf_adds(b, "<option value=\"");
		esc(b, sx_json_key(c));
		sx_buf_adds(b, "\">");
		esc(b, sx_rundir_condition_label(sx_json_key(c)));
		sx_buf_adds(b, "</option>");
	}
	sx_buf_adds(b, "</select></label><label>parse status <select id=\"f-status\">"
		       "<option value=\"\">all</option>");
	for (c = sx_json_child(sx_json_get(rd->summary, "conditions")); c; c = sx_json_next(c))
		for (st = sx_json_child(sx_json_get(c, "parse_status")); st; st = sx_json_next(st)) {
			for (k = 0; k < nseen; k++)
				if (!strcmp(seen[k], sx_json_key(st)))
					break;
			if (k < nseen || nseen == 31)
				continue;
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", sx_json_key(st));
			sx_buf_adds(b, "<option>");
			esc(b, sx_json_key(st));
			sx_buf_adds(b, "</option>");
		}
	sx_buf_adds(b, "<option>failed</option></select></label>"
		       "<label>sort <select id=\"f-sort\">"
		       "<option value=\"-dis\">disagreement, highest first</option>"
		       "<option value=\"dis\">disagreement, lowest first</option>"
		       "<option value=\"conf\">confidence, lowest first</option>"
		       "<option value=\"-conf\">confidence, highest first</option>"
		       "<option value=\"i\">review order</option></select></label>"
		       "<label>text <input id=\"f-q\" type=\"search\" placeholder=\"word or id\"></label>"
		       "<span id=\"shown\"></span></div>\n<div id=\"cards\">\n");
	for (i = 0; i < rd->nrecords; i++)
		if (is_own(rd->records[i]))
			card(b, rd, rd->records[i], ncards++);
	sx_buf_adds(b, "</div></section>\n");
}

static void section_failures(struct sx_buf *b, const struct sx_rundir *rd)
{
	size_t i, n = 0;

	sx_buf_adds(b, "<section id=\"failures\"><h2>Parse failures</h2>\n");
	for (i = 0; i < rd->nrecords; i++) {
		const struct sx_json *r = rd->records[i];
		const char *st = sx_json_str_or(r, "status", "unknown");
		const char *answer = sx_json_get_str(r, "answer");

		if (!is_own(r) || !strcmp(st, "ok") || !strcmp(st, "ok_with_repairs"))
			continue;
		if (!n++)
			sx_buf_adds(b, "<table class=\"pf\"><thead><tr><th>review</th><th>condition</th>"
				       "<th>status</th><th>raw answer</th></tr></thead><tbody>\n");
		sx_buf_adds(b, "<tr><td>");
		esc(b, sx_json_str_or(r, "id", ""));
		sx_buf_adds(b, "</td><td>");
		esc(b, sx_rundir_condition_label(sx_json_str_or(r, "condition", "")));
		sx_buf_adds(b, "</td><td><span class=\"st st-");
		esc(b, st);
		sx_buf_adds(b, "\">");
		esc(b, st);
		sx_buf_adds(b, "</span>");
		if (sx_json_get_str(r, "error")) {
			sx_buf_adds(b, "<br><small>");
			esc(b, sx_json_get_str(r, "error"));
			sx_buf_adds(b, "</small>");
		}
		sx_buf_adds(b, "</td><td><details><summary>");
		sx_buf_addf(b, "%zu bytes", answer ? strlen(answer) : 0);
		sx_buf_adds(b, "</summary><pre>");
		esc_answer(b, answer ? answer : "");
		sx_buf_adds(b, "</pre></details></td></tr>\n");
	}
	if (n)
		sx_buf_addf(b, "</tbody></table>\n<p class=\"note\">%zu answers without a usable "
			       "prediction and explanation; excluded from every metric.</p>\n", n);
	else
		sx_buf_adds(b, "<p>None: every answer was parsed (ok or ok with repairs).</p>\n");
	sx_buf_adds(b, "</section>\n");
}

/* ---------------------------------------------------------------- figures */

/*
 * Forest plots, deletion curves and reliability diagrams. Each series has a
 * colour, a marker shape and a dash pattern, so that the figures read in
 * grey; every mark has a <title> (the browser's tooltip), every SVG a
 * <title> and <desc> (its accessible name).
 */
#define FIG_SERIES 4
static const char *const fig_colour[FIG_SERIES] = { "#3949ab", "#00897b", "#e65100", "#8e24aa" };
static const char *const fig_dash[FIG_SERIES] = { "", "7 3", "2 3", "9 3 2 3" };

/*
 * Names from summary.json go into attributes and ids unescaped, so the
 * figures draw only the conditions and methods selfexp knows.
 */
static int known_cond(const char *name)
{
	enum sx_cond c;

	return name && !sx_cond_from_name(name, &c);
}

static int known_method(const char *name)
{
	enum sx_method m;

	return name && !sx_method_from_record_name(name, &m);
}

/* The series of a record method name: self/topk 0, occlusion 1, LIME 2. */
static size_t fig_series(const char *method)
{
	enum sx_method m;

	return sx_method_from_record_name(method, &m) ? FIG_SERIES - 1 : (size_t)m % FIG_SERIES;
}

/* Open the marker element of series s at (x, y); the caller adds a <title> and closes it with the returned tag. */
static const char *marker_open(struct sx_buf *b, size_t s, double x, double y)
{
	const char *c = fig_colour[s % FIG_SERIES];

	switch (s % FIG_SERIES) {
	case 0:
		sx_buf_addf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"", x, y, c);
		return "circle";
	case 1:
		sx_buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\" fill=\"%s\"",
			    x - 3.5, y - 3.5, c);
		return "rect";
	case 2:
		sx_buf_addf(b, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"", x,
			    y - 4.5, x + 4.5, y + 3.5, x - 4.5, y + 3.5, c);
		return "polygon";
	default:
		sx_buf_addf(b, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"",
			    x, y - 5, x + 5, y, x, y + 5, x - 5, y, c);
		return "polygon";
	}
}

/* Ticks at a round step (1, 2 or 5 times a power of ten) covering [*lo, *hi], which are widened to them. */
static size_t nice_ticks(double *lo, double *hi, double *tick, size_t max)
{
	static const double mult[] = { 1, 2, 5, 10 };
	double span = *hi - *lo, mag, step = 1;
	size_t i, n = 0;

	if (!(span > 0)) {
		*lo -= 0.5;
		*hi += 0.5;
		span = 1;
	}
	mag = pow(10, floor(log10(span / 5)));
	for (i = 0; i < sizeof(mult) / sizeof(mult[0]); i++) {
		step = mult[i] * mag;
		if (span / step <= (double)(max - 1))
			break;
	}
	*lo = floor(*lo / step + 1e-9) * step;
	*hi = ceil(*hi / step - 1e-9) * step;
	for (i = 0; n < max && *lo + (double)i * step <= *hi + step * 1e-9; i++)
		tick[n++] = fabs(*lo + (double)i * step) < step * 1e-9 ? 0 : *lo + (double)i * step;
	return n;
}

/* <svg> with its accessible name and description: the caller closes it. */
static void svg_open(struct sx_buf *b, const char *id, double w, double h, const char *title,
		     const char *desc)
{
	sx_buf_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" width=\"%.0f\" "
		       "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		       "aria-labelledby=\"%s-t %s-d\"><title id=\"%s-t\">",
		    id, w, h, w, h, id, id, id);
	esc(b, title);
	sx_buf_addf(b, "</title><desc id=\"%s-d\">", id);
	esc(b, desc);
	sx_buf_adds(b, "</desc>");
}

/* The text of a number for a figure: 3 decimals, "-" when undefined. */
static void fig_num(struct sx_buf *b, double v)
{
	if (isfinite(v))
		sx_buf_addf(b, "%.3f", fabs(v) < 5e-4 ? 0.0 : v);
	else
		sx_buf_adds(b, "&ndash;");
}

/* ---- forest plots */

struct forest_row {
	const char *cond, *method;        /* borrowed */
	const struct sx_json *agg;        /* borrowed: n, mean, ci_lo, ci_hi, interval */
	double mean, lo, hi;
};

static void svg_forest(struct sx_buf *b, const struct sx_rundir *rd, const struct sx_metric_def *md)
{
	const struct sx_json *c, *m;
	struct forest_row *row = NULL;
	size_t nrow = 0, alloc = 0, i, nt;
	const double L = 190, X0 = 200, X1 = 470, RH = 22, TOP = 30, W = 720;
	double lo = 0, hi = 0, tick[12], h, y;
	struct sx_buf t = SX_BUF_INIT, d = SX_BUF_INIT, id = SX_BUF_INIT;

	for (c = sx_json_child(sx_json_get(rd->summary, "conditions")); c; c = sx_json_next(c))
		for (m = sx_json_child(sx_json_get(c, "methods")); m; m = sx_json_next(m)) {
			const struct sx_json *agg = sx_json_get(m, md->key);
			double mean = sx_json_num_or_nan(agg, "mean");

			if (!isfinite(mean) || !known_cond(sx_json_key(c)) || !known_method(sx_json_key(m)))
				continue;
			SX_GROW(row, alloc, nrow + 1);
			row[nrow].cond = sx_json_key(c);
			row[nrow].method = sx_json_key(m);
			row[nrow].agg = agg;
			row[nrow].mean = mean;
			row[nrow].lo = sx_json_num_or_nan(agg, "ci_lo");
			row[nrow].hi = sx_json_num_or_nan(agg, "ci_hi");
			lo = fmin(lo, fmin(mean, isfinite(row[nrow].lo) ? row[nrow].lo : mean));
			hi = fmax(hi, fmax(mean, isfinite(row[nrow].hi) ? row[nrow].hi : mean));
			nrow++;
		}
	if (!nrow)
		goto out;
	nt = nice_ticks(&lo, &hi, tick, 8);
	h = TOP + (double)nrow * RH + 44;
	sx_buf_addf(&t, "forest plot of %s (%s is better)", md->title,
		    md->dir == SX_DIR_DOWN ? "lower" : "higher");
	sx_buf_addf(&d, "mean and 95 %% interval of %s per condition and explanation method, "
		       "%zu rows, from summary.json", md->title, nrow);
	sx_buf_addf(&id, "fig-forest-%s", md->key);
	sx_buf_addf(b, "<figure class=\"fig forest\" data-metric=\"%s\" data-rows=\"%zu\">", md->key, nrow);
	svg_open(b, id.buf, W, h, t.buf, d.buf);
	sx_buf_adds(b, "<text x=\"4\" y=\"16\" font-weight=\"600\" font-size=\"13\">");
	esc(b, md->title);
	sx_buf_addf(b, " <tspan font-weight=\"400\" fill=\"#555\">(%s)</tspan></text>",
		    md->dir == SX_DIR_DOWN ? "&#8592; lower is better" : "higher is better &#8594;");
	for (i = 1; i < nrow; i += 2)
		sx_buf_addf(b, "<rect x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" "
			       "fill=\"#f5f5f5\"/>", TOP + (double)i * RH, W, RH);
	/* grid, zero line, axis */
	for (i = 0; i < nt; i++) {
		double x = X0 + (tick[i] - lo) / (hi - lo) * (X1 - X0);
		sx_buf_addf(b, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"%s\"%s/>",
			    x, TOP - 4, x, TOP + (double)nrow * RH, tick[i] == 0 ? "#555" : "#e0e0e0",
			    tick[i] == 0 ? " stroke-dasharray=\"4 3\"" : "");
		sx_buf_addf(b, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>", x,
			    TOP + (double)nrow * RH + 14, tick[i]);
	}
	sx_buf_addf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#999\"/>", X0,
		    TOP + (double)nrow * RH, X1, TOP + (double)nrow * RH);
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", (X0 + X1) / 2,
		    TOP + (double)nrow * RH + 32);
	esc(b, md->title);
	sx_buf_adds(b, ": mean with its 95 % interval</text>");
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#555\">mean [95 %% interval] (n)</text>",
		    X1 + 12, TOP - 8);
	for (i = 0; i < nrow; i++) {
		const struct forest_row *r = &row[i];
		size_t s = fig_series(r->method);
		double xm = X0 + (r->mean - lo) / (hi - lo) * (X1 - X0);
		const char *tag, *iv = sx_json_get_str(r->agg, "interval");
		double n = sx_json_num_or_nan(r->agg, "n");

		y = TOP + (double)i * RH + RH / 2;
		sx_buf_addf(b, "<g class=\"row\" data-cond=\"%s\" data-method=\"%s\" data-mean=\"%.6g\" "
			       "data-lo=\"%.6g\" data-hi=\"%.6g\"><title>", r->cond, r->method, r->mean,
			    r->lo, r->hi);
		esc(b, sx_rundir_condition_label(r->cond));
		sx_buf_addf(b, ", %s: %s ", method_label(r->method), md->title);
		fig_num(b, r->mean);
		sx_buf_adds(b, ", 95 % interval [");
		fig_num(b, r->lo);
		sx_buf_adds(b, ", ");
		fig_num(b, r->hi);
		sx_buf_adds(b, "]");
		if (iv) {
			sx_buf_adds(b, " (");
			esc(b, iv);
			sx_buf_adds(b, ")");
		}
		sx_buf_addf(b, ", n = %.0f</title>", n);
		sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", L, y + 4);
		esc(b, sx_rundir_condition_label(r->cond));
		sx_buf_addf(b, " &#183; %s</text>", method_label(r->method));
		if (isfinite(r->lo) && isfinite(r->hi)) {
			double xl = X0 + (r->lo - lo) / (hi - lo) * (X1 - X0);
			double xh = X0 + (r->hi - lo) / (hi - lo) * (X1 - X0);
			sx_buf_addf(b, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fV%.1f\" "
				       "stroke=\"%s\" stroke-width=\"1.6\" fill=\"none\"/>",
				    xl, y - 4, y + 4, xl, y, xh, xh, y - 4, y + 4, fig_colour[s]);
		}
		tag = marker_open(b, s, xm, y);
		sx_buf_addf(b, "></%s>", tag);
		sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.1f\" font-variant-numeric=\"tabular-nums\">",
			    X1 + 12, y + 4);
		fig_num(b, r->mean);
		sx_buf_adds(b, " [");
		fig_num(b, r->lo);
		sx_buf_adds(b, ", ");
		fig_num(b, r->hi);
		sx_buf_addf(b, "] (%.0f)</text></g>", n);
	}
	sx_buf_adds(b, "</svg><figcaption>Forest plot, ");
	esc(b, md->title);
	sx_buf_adds(b, "</figcaption></figure>\n");
out:
	free(row);
	sx_buf_release(&t);
	sx_buf_release(&d);
	sx_buf_release(&id);
}

/* ---- deletion curves */

static const double aopc_bins[SX_AOPC_NBINS] = SX_AOPC_BINS;

/*
 * The mean deletion curves of one (condition, method): P(label | x) and
 * P(label | x \ top k) (comprehensiveness curve, removed) or P(label | x[top k])
 * (sufficiency curve, kept) at the AOPC bins, averaged over the reviews whose
 * AOPC is defined (every bin answered), so that mean P(label | x) minus the
 * mean of the five points is the AOPC of summary.json. records.jsonl holds
 * p(x) - p(...) per bin (comprehensiveness_at, sufficiency_at) and p(x)
 * through p_pos_x and label_x, so the probabilities are recovered exactly.
 */
struct curve {
	size_t n[2];                   /* reviews: 0 removed, 1 kept */
	double px[2];                  /* mean P(label | x) over them */
	double p[2][SX_AOPC_NBINS];    /* mean P(label | ...) at each bin */
};

static void curve_gather(const struct sx_rundir *rd, const char *cond, const char *method,
			 struct curve *cv)
{
	static const char *const at_key[2] = { "comprehensiveness_at", "sufficiency_at" };
	static const char *const aopc_key[2] = { "aopc_comprehensiveness", "aopc_sufficiency" };
	size_t i, k, b;

	memset(cv, 0, sizeof(*cv));
	for (i = 0; i < rd->nrecords; i++) {
		const struct sx_json *r = rd->records[i], *mt = sx_json_get(r, "metrics");
		double ppos = sx_json_num_or_nan(r, "p_pos_x"), y = sx_json_num_or_nan(r, "label_x");
		double px;

		if (!mt || strcmp(sx_json_str_or(r, "condition", ""), cond) ||
		    strcmp(sx_json_str_or(r, "method", ""), method))
			continue;
		if (!isfinite(y)) /* runs from before label_x: the stated label */
			y = sx_json_num_or_nan(sx_json_get(r, "prediction"), "label");
		if (!isfinite(ppos) || !isfinite(y))
			continue;
		px = y == 1 ? ppos : 1 - ppos;
		for (k = 0; k < 2; k++) {
			const struct sx_json *at = sx_json_get(mt, at_key[k]);
			double v[SX_AOPC_NBINS];

			if (!isfinite(sx_json_num_or_nan(mt, aopc_key[k])) ||
			    sx_json_len(at) != SX_AOPC_NBINS)
				continue;
			for (b = 0; b < SX_AOPC_NBINS && isfinite(v[b] = num_at(at, b)); b++)
				;
			if (b < SX_AOPC_NBINS)
				continue;
			cv->n[k]++;
			cv->px[k] += px;
			for (b = 0; b < SX_AOPC_NBINS; b++)
				cv->p[k][b] += px - v[b];
		}
	}
	for (k = 0; k < 2; k++) {
		if (!cv->n[k])
			continue;
		cv->px[k] /= (double)cv->n[k];
		for (b = 0; b < SX_AOPC_NBINS; b++)
			cv->p[k][b] /= (double)cv->n[k];
	}
}

static void svg_curves(struct sx_buf *b, const struct sx_rundir *rd, const struct sx_json *c)
{
	static const char *const panel[2] = { "removed", "kept" };
	static const char *const curve_name[2] = { "comprehensiveness curve", "sufficiency curve" };
	static const char *const aopc_key[2] = { "aopc_comprehensiveness", "aopc_sufficiency" };
	const char *cond = sx_json_key(c);
	const struct sx_json *m;
	struct curve cv[FIG_SERIES + 4];
	const char *name[FIG_SERIES + 4];
	size_t nm = 0, i, k, j, any = 0;
	const double PW = 300, PH = 180, ML = 46, MT = 34, GAP = 60;
	double W = ML + 2 * PW + GAP + 16, H, tick[] = { 0, 0.25, 0.5, 0.75, 1 };
	struct sx_buf t = SX_BUF_INIT, d = SX_BUF_INIT, id = SX_BUF_INIT;

	for (m = sx_json_child(sx_json_get(c, "methods")); m && nm < FIG_SERIES + 4; m = sx_json_next(m)) {
		if (!known_method(sx_json_key(m)))
			continue;
		name[nm] = sx_json_key(m);
		curve_gather(rd, cond, name[nm], &cv[nm]);
		any += cv[nm].n[0] + cv[nm].n[1];
		nm++;
	}
	if (!any)
		goto out;
	H = MT + PH + 40 + (double)nm * 16 + 8;
	sx_buf_addf(&t, "deletion curves, %s", sx_rundir_condition_label(cond));
	sx_buf_addf(&d, "mean probability of the model's label as the top 1, 5, 10, 20 and 50 %% "
		       "of tokens are removed (left) and kept (right), per explanation method, "
		       "with the area over the curve (AOPC) in the legend");
	sx_buf_addf(&id, "fig-curves-%s", cond);
	sx_buf_adds(b, "<figure class=\"fig curves\" data-cond=\"");
	esc(b, cond);
	sx_buf_adds(b, "\">");
	svg_open(b, id.buf, W, H, t.buf, d.buf);
	for (k = 0; k < 2; k++) {
		double x0 = ML + (double)k * (PW + GAP);
		size_t npts = k == 0 ? SX_AOPC_NBINS + 1 : SX_AOPC_NBINS;
		double step = PW / (double)(npts - 1);

		sx_buf_addf(b, "<text x=\"%.0f\" y=\"14\" font-weight=\"600\" font-size=\"13\">", x0);
		esc(b, sx_rundir_condition_label(cond));
		sx_buf_addf(b, ", %s: top tokens %s</text>", curve_name[k], panel[k]);
		for (i = 0; i < sizeof(tick) / sizeof(tick[0]); i++) {
			double y = MT + PH - tick[i] * PH;
			sx_buf_addf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
				       "stroke=\"#e0e0e0\"/><text x=\"%.0f\" y=\"%.1f\" "
				       "text-anchor=\"end\">%g</text>",
				    x0, y, x0 + PW, y, x0 - 4, y + 4, tick[i]);
		}
		for (j = 0; j < npts; j++) {
			double pct = k == 0 ? (j ? aopc_bins[j - 1] * 100 : 0) : aopc_bins[j] * 100;
			sx_buf_addf(b, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g %%</text>",
				    x0 + (double)j * step, MT + PH + 16, pct);
		}
		sx_buf_addf(b, "<path d=\"M%.0f %.0fV%.0fH%.0f\" stroke=\"#999\" fill=\"none\"/>", x0,
			    MT, MT + PH, x0 + PW);
		sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%% of the tokens "
			       "%s (the top of the method's ranking)</text>",
			    x0 + PW / 2, MT + PH + 32, panel[k]);
		sx_buf_addf(b, "<text transform=\"translate(%.0f %.0f) rotate(-90)\" "
			       "text-anchor=\"middle\">mean P(label)</text>",
			    x0 - 32, MT + PH / 2);
		for (i = 0; i < nm; i++) {
			size_t s = fig_series(name[i]);
			const struct curve *q = &cv[i];
			const struct sx_json *agg = sx_json_get(sx_json_get(sx_json_get(c, "methods"),
									name[i]), aopc_key[k]);
			double ly = MT + PH + 48 + (double)i * 16;

			/* the legend, with the AOPC of summary.json */
			sx_buf_addf(b, "<g class=\"legend\" data-method=\"%s\" data-curve=\"%s\" "
				       "data-aopc=\"%.6g\" data-n=\"%zu\">",
				    name[i], panel[k], sx_json_num_or_nan(agg, "mean"), q->n[k]);
			sx_buf_addf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
				       "stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\"/>",
				    x0, ly - 4, x0 + 26, ly - 4, fig_colour[s], fig_dash[s]);
			sx_buf_addf(b, "></%s>", marker_open(b, s, x0 + 13, ly - 4));
			sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\">%s: AOPC ", x0 + 32, ly,
				    method_label(name[i]));
			fig_num(b, sx_json_num_or_nan(agg, "mean"));
			sx_buf_addf(b, " (%zu reviews)</text></g>", q->n[k]);
			if (!q->n[k])
				continue;
			sx_buf_addf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
				       "stroke-dasharray=\"%s\" points=\"", fig_colour[s], fig_dash[s]);
			for (j = 0; j < npts; j++) {
				double p = k == 0 ? (j ? q->p[0][j - 1] : q->px[0]) : q->p[1][j];
				sx_buf_addf(b, "%s%.1f,%.1f", j ? " " : "", x0 + (double)j * step,
					    MT + PH - p * PH);
			}
			sx_buf_adds(b, "\"/>");
			for (j = 0; j < npts; j++) {
				double p = k == 0 ? (j ? q->p[0][j - 1] : q->px[0]) : q->p[1][j];
				double pct = k == 0 ? (j ? aopc_bins[j - 1] * 100 : 0) : aopc_bins[j] * 100;
				const char *tag = marker_open(b, s, x0 + (double)j * step, MT + PH - p * PH);

				sx_buf_addf(b, " class=\"pt\" data-method=\"%s\" data-curve=\"%s\" "
					       "data-pct=\"%g\" data-p=\"%.6f\"><title>%s, top %g %% %s: "
					       "mean P(label) %.3f over %zu reviews</title></%s>",
					    name[i], panel[k], pct, p, method_label(name[i]), pct,
					    panel[k], p, q->n[k], tag);
			}
		}
	}
	sx_buf_adds(b, "</svg><figcaption>Deletion curves, ");
	esc(b, sx_rundir_condition_label(cond));
	sx_buf_adds(b, "</figcaption></figure>\n");
out:
	sx_buf_release(&t);
	sx_buf_release(&d);
	sx_buf_release(&id);
}

/* ---- reliability diagrams */

static void svg_reliability(struct sx_buf *b, const struct sx_rundir *rd, const struct sx_json *c)
{
	const char *cond = sx_json_key(c);
	const struct sx_json *ci = sx_json_get(c, "ece_ci");
	struct sx_ece_bin bins[SX_ECE_BINS];
	double *conf = xcalloc(rd->nrecords + 1, sizeof(double));
	unsigned char *ok = xcalloc(rd->nrecords + 1, 1);
	double ece = sx_json_num_or_nan(c, "ece");
	const double P = 300, ML = 46, MT = 50, W = ML + P + 20, H = MT + P + 44;
	size_t i, n = 0, total;
	int bi;
	struct sx_buf t = SX_BUF_INIT, d = SX_BUF_INIT, id = SX_BUF_INIT;

	for (i = 0; i < rd->nrecords; i++) {
		const struct sx_json *r = rd->records[i], *pred = sx_json_get(r, "prediction");
		double gold = sx_json_num_or_nan(r, "gold"), label = sx_json_num_or_nan(pred, "label");
		double cf = sx_json_num_or_nan(pred, "confidence");

		if (!is_own(r) || strcmp(sx_json_str_or(r, "condition", ""), cond) ||
		    !sx_rundir_status_usable_prediction(sx_json_get_str(r, "status")) ||
		    !isfinite(gold) || !isfinite(label) || !isfinite(cf))
			continue;
		conf[n] = cf;
		ok[n++] = label == gold;
	}
	total = sx_stats_ece_bins(conf, ok, n, bins);
	if (!total)
		goto out;
	sx_buf_addf(&t, "reliability diagram, %s", sx_rundir_condition_label(cond));
	sx_buf_addf(&d, "accuracy against verbal confidence in %d equal-width bins, %zu answers",
		    SX_ECE_BINS, total);
	sx_buf_addf(&id, "fig-rel-%s", cond);
	sx_buf_adds(b, "<figure class=\"fig reliability\" data-cond=\"");
	esc(b, cond);
	sx_buf_addf(b, "\" data-answers=\"%zu\" data-ece=\"%.6g\">", total, ece);
	svg_open(b, id.buf, W, H, t.buf, d.buf);
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"14\" font-weight=\"600\" font-size=\"13\">", ML);
	esc(b, sx_rundir_condition_label(cond));
	sx_buf_addf(b, "</text><text x=\"%.0f\" y=\"30\">ECE ", ML);
	fig_num(b, ece);
	if (isfinite(sx_json_num_or_nan(ci, "ci_lo"))) {
		sx_buf_adds(b, " [");
		fig_num(b, sx_json_num_or_nan(ci, "ci_lo"));
		sx_buf_adds(b, ", ");
		fig_num(b, sx_json_num_or_nan(ci, "ci_hi"));
		sx_buf_adds(b, "]");
	}
	sx_buf_addf(b, ", %zu answers</text>", total);
	for (bi = 0; bi <= 10; bi += 2) {
		double v = bi / 10.0;
		sx_buf_addf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#eee\"/>"
			       "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g</text>"
			       "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>",
			    ML, MT + P - v * P, ML + P, MT + P - v * P, ML - 4, MT + P - v * P + 4, v,
			    ML + v * P, MT + P + 14, v);
	}
	sx_buf_addf(b, "<path d=\"M%.0f %.0fV%.0fH%.0f\" stroke=\"#999\" fill=\"none\"/>", ML, MT,
		    MT + P, ML + P);
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\" font-size=\"10\">n</text>",
		    ML - 4, MT - 6);
	sx_buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">verbal confidence</text>",
		    ML + P / 2, MT + P + 30);
	sx_buf_addf(b, "<text transform=\"translate(%.0f %.0f) rotate(-90)\" text-anchor=\"middle\">"
		       "accuracy</text>", ML - 32, MT + P / 2);
	for (bi = 0; bi < SX_ECE_BINS; bi++) {
		const struct sx_ece_bin *e = &bins[bi];
		double x = ML + (double)bi / SX_ECE_BINS * P, w = P / SX_ECE_BINS;
		double hgt = e->n ? e->accuracy * P : 0;

		if (!e->n)
			continue;
		sx_buf_addf(b, "<g class=\"bin\" data-bin=\"%d\" data-n=\"%zu\" data-conf=\"%.6f\" "
			       "data-acc=\"%.6f\"><title>confidence in [%.1f, %.1f%s: %zu answers, "
			       "mean confidence %.3f, accuracy %.3f</title>",
			    bi, e->n, e->confidence, e->accuracy, bi / 10.0, (bi + 1) / 10.0,
			    bi == SX_ECE_BINS - 1 ? "]" : ")", e->n, e->confidence, e->accuracy);
		sx_buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			       "fill=\"#90caf9\" stroke=\"#1565c0\"/>",
			    x + 1, MT + P - hgt, w - 2, hgt);
		sx_buf_addf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#000\"/>",
			    ML + e->confidence * P, MT + P - e->accuracy * P);
		sx_buf_addf(b, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"10\">"
			       "%zu</text></g>", x + w / 2, MT - 6, e->n);
	}
	sx_buf_addf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#c62828\" "
		       "stroke-dasharray=\"5 4\"/>", ML, MT + P, ML + P, MT);
	sx_buf_adds(b, "</svg><figcaption>Reliability diagram, ");
	esc(b, sx_rundir_condition_label(cond));
	sx_buf_adds(b, "</figcaption></figure>\n");
out:
	free(conf);
	free(ok);
	sx_buf_release(&t);
	sx_buf_release(&d);
	sx_buf_release(&id);
}

static void section_figures(struct sx_buf *b, const struct sx_rundir *rd)
{
	const struct sx_metric_def *md;
	const struct sx_json *c;
	size_t i;

	sx_buf_adds(b, "<section id=\"figures\"><h2>Figures</h2>\n<h3>Faithfulness</h3>\n"
		       "<p class=\"note\">One forest plot per faithfulness metric, one row per "
		       "(condition, method): the mark is the mean over reviews, the bar its 95 % "
		       "interval, as summary.json gives them (the interval method is in each row's "
		       "tooltip); the dashed line is 0. Marks: &#9679; self, &#9632; occlusion, "
		       "&#9650; LIME.</p>\n<div class=\"charts\">\n");
	for (i = 0; (md = sx_metric_of(SX_METRIC_FAITH, i)); i++)
		svg_forest(b, rd, md);
	sx_buf_adds(b, "</div>\n<h3>Deletion curves</h3>\n<p class=\"note\">The model's "
		       "probability for the label it gave the full review, averaged over the reviews "
		       "whose AOPC is defined, as the top 1, 5, 10, 20 and 50 % of the tokens of each "
		       "method's ranking are removed (left: the faster it falls, the more faithful) "
		       "or kept alone (right: the higher it stays, the more faithful). Top q % is "
		       "ceil(q n) tokens, at least 1. AOPC (legend, from summary.json) is the mean "
		       "over reviews of P(label | x) minus the mean of the five points: 0 % removed "
		       "is the full review; nothing kept (the empty review) is not one of the "
		       "bins.</p>\n<div class=\"charts\">\n");
	for (c = sx_json_child(sx_json_get(rd->summary, "conditions")); c; c = sx_json_next(c))
		if (known_cond(sx_json_key(c)))
			svg_curves(b, rd, c);
	sx_buf_adds(b, "</div>\n<h3>Calibration of the verbal confidence</h3>\n<p class=\"note\">"
		       "The ECE's 10 equal-width bins per condition, over the answers with a usable "
		       "prediction and a gold label: a bar is the accuracy of the answers whose "
		       "confidence falls in the bin (how many above it), a dot the bin's mean "
		       "confidence; the dashed diagonal is perfect calibration, a bar below it "
		       "over-confidence. ECE and its interval from summary.json.</p>\n"
		       "<div class=\"charts\">\n");
	for (c = sx_json_child(sx_json_get(rd->summary, "conditions")); c; c = sx_json_next(c))
		if (known_cond(sx_json_key(c)))
			svg_reliability(b, rd, c);
	sx_buf_adds(b, "</div></section>\n");
}

/* ---------------------------------------------------------------- entry */

int sx_report_render(const struct sx_rundir *rd, struct sx_buf *out, struct sx_err *err)
{
	struct sx_table_opts to = SX_TABLE_OPTS_INIT;
	int rc;

	if (!rd->summary)
		return sx_err_set(err, SX_EINPUT, "'%s' has no summary.json", rd->dir);
	page_head(out, rd);
	section_meta(out, rd);
	sx_buf_adds(out, "<section id=\"tables\"><h2>Tables</h2>\n");
	to.format = "html";
	rc = sx_table_render(rd->run, rd->summary, &to, out, err);
	if (rc)
		return rc;
	sx_buf_adds(out, "</section>\n");
	section_figures(out, rd);
	section_charts(out, rd);
	section_reviews(out, rd);
	section_failures(out, rd);
	sx_buf_adds(out, "</main>\n<script>");
	sx_buf_adds(out, js_cards);
	sx_buf_adds(out, "</script>\n</body>\n</html>\n");
	return 0;
}

int sx_report_write(const char *dir, const char *path, size_t *bytes, struct sx_err *err)
{
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_buf out = SX_BUF_INIT, def = SX_BUF_INIT;
	int rc;

	rc = sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY | SX_RUNDIR_RECORDS, err);
	if (rc)
		goto out;
	rc = sx_report_render(&rd, &out, err);
	if (rc)
		goto out;
	if (!path) {
		sx_buf_addf(&def, "%s/report.html", dir);
		path = def.buf;
	}
	if (sx_rundir_is_data_file(path)) {
		rc = sx_err_set(err, SX_EINPUT, "'%s' is a data file of a run directory; write the "
				"report elsewhere (the default is DIR/report.html)", path);
		goto out;
	}
	rc = sx_file_write_atomic(path, out.buf, out.len, 0644, err);
	if (!rc && bytes)
		*bytes = out.len;
out:
	sx_rundir_release(&rd);
	sx_buf_release(&out);
	sx_buf_release(&def);
	return rc;
}
