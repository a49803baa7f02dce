#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/registry.h"
#include "selfexp/report.h"
#include "selfexp/rundir.h"
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
	".charts figcaption{font-size:12px;color:#555}"
	"svg text{font:11px system-ui,sans-serif}"
	".ctl{display:flex;flex-wrap:wrap;gap:12px;align-items:center;background:#f5f5f5;"
	"padding:8px;border-radius:4px;position:sticky;top:30px;z-index:1}"
	".card{border:1px solid #ddd;border-radius:4px;margin:8px 0;padding:6px 10px;"
	"content-visibility:auto;contain-intrinsic-size:auto 150px}"
	".card .hd{font-size:13px;color:#444;margin-bottom:4px}.card .hd b{color:#000}"
	".card table{border-collapse:collapse}.card th{text-align:left;font-weight:500;"
	"color:#666;padding:2px 10px 2px 0;vertical-align:top;white-space:nowrap;font-size:12px}"
	".card td{padding:2px 0;line-height:1.9}"
	".tk span{padding:1px 2px;border-radius:2px;margin-right:2px}"
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
		       "<a href=\"#charts\">Charts</a><a href=\"#reviews\">Reviews</a>"
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
	};
	double nfailed = sx_json_num_or_nan(sx_json_get(rd->run, "failures"), "requests");
	const struct sx_json *complete = sx_json_get(rd->run, "complete");
	int done = 1;
	size_t i;

	sx_buf_adds(b, "<section id=\"meta\"><h2>Run</h2>\n");
	if (complete && !sx_json_bool(complete, &done) && !done && nfailed > 0)
		sx_buf_addf(b, "<p class=\"wrong\">This run is partial: %.0f requests failed (their "
			       "stages and reasons are listed below), and every number that needed "
			       "them is left out.</p>\n", nfailed);
	else if (complete && !sx_json_bool(complete, &done) && !done)
		sx_buf_adds(b, "<p class=\"wrong\">This run did not complete: it was stopped at a "
			       "cap or interrupted, and holds only what was done.</p>\n");
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

/* A histogram of v[0..n) over [lo, hi] as an SVG figure. */
static void svg_hist(struct sx_buf *b, const char *caption, const double *v, size_t n, double lo,
		     double hi, const char *fill)
{
	size_t count[HIST_BINS] = { 0 }, i, maxc = 0, used = 0;
	const double W = 300, H = 120, left = 34, bottom = 18, top = 6;
	double bw = (W - left - 4) / HIST_BINS;

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
