#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "selfexp/buf.h"
#include "selfexp/report.h"
#include "selfexp/rundir.h"

#define TMPDIR_NAME "test_report"
#include "tmpdir.h"
#include "rundir_fixture.h"

#define HOSTILE_TOKEN "<script>alert(1)</script>"
#define HOSTILE_TOKEN_ESC "&lt;script&gt;alert(1)&lt;/script&gt;"
#define HOSTILE_ID "\\\"><img src=x onerror=alert(2)>"
#define HOSTILE_ID_ESC "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"

static const char summary_pe[] =
	"{\"reviews\":2,\"conditions\":{\"pe\":{\"reviews\":2,"
	"\"accuracy\":{\"n\":1,\"mean\":1,\"sd\":null,\"ci_lo\":1,\"ci_hi\":1},"
	"\"failed\":0,\"failed_requests\":0,\"parse_failures\":1,\"ece\":null,"
	"\"parse_status\":{\"ok\":1,\"<s>odd</s>\":1},"
	"\"methods\":{\"self\":{\"explained\":1,\"excluded\":1,"
	"\"comprehensiveness\":{\"n\":1,\"mean\":0.5,\"ci_lo\":0.5,\"ci_hi\":0.5}}},"
	"\"agreement\":{\"self~occlusion\":{\"spearman\":{\"n\":1,\"mean\":0.5,\"ci_lo\":0.5,"
	"\"ci_hi\":0.5}}}}},\"comparisons\":{}}\n";

/* The report written to tmpdir/name.html (NULL: dir/report.html) and read back into out. */
static int report_of(const char *dir, const char *name, struct sx_buf *out, struct sx_err *err)
{
	char *path = NULL;
	size_t bytes = 0;
	int rc;

	if (name) {
		struct sx_buf p = SX_BUF_INIT;
		sx_buf_addf(&p, "%s.html", name);
		path = tmpdir_path(p.buf);
		sx_buf_release(&p);
	}
	memset(err, 0, sizeof(*err));
	rc = sx_report_write(dir, path, &bytes, err);
	if (!rc) {
		if (path)
			fixture_read(path, NULL, out);
		else
			fixture_read(dir, "report.html", out);
		assert_int_equal(bytes, out->len);
		assert_int_equal(strlen(out->buf), out->len);
	}
	free(path);
	return rc;
}

/* What every report must be: one self-contained page that loads nothing. */
static void assert_self_contained(const char *html)
{
	static const char *const banned[] = {
		"src=\"http", "src='http", "src=http", "href=\"http", "href='http", "href=\"//",
		"src=\"//", "<link", "@import", "url(", "<iframe", "<object", "<embed",
	};
	size_t i;

	assert_int_equal(strncmp(html, "<!DOCTYPE html>\n", 16), 0);
	assert_non_null(strstr(html, "<meta http-equiv=\"Content-Security-Policy\" content=\""
				     "default-src 'none';"));
	for (i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		if (strstr(html, banned[i]))
			fail_msg("the report holds '%s'", banned[i]);
	/* only the report's own two inline scripts */
	assert_int_equal(count_of(html, "<script"), 2);
	assert_int_equal(count_of(html, "</script>"), 2);
	assert_int_equal(count_of(html, "<html"), 1);
	assert_int_equal(count_of(html, "</html>"), 1);
	assert_int_equal(count_of(html, "<body>"), 1);
	assert_int_equal(count_of(html, "<div class=\"card\""), count_of(html, "</details></div>"));
	assert_true(strlen(html) > 16 && !strcmp(html + strlen(html) - 8, "</html>\n"));
}

/* ---------------------------------------------------------------- run-small */

static void test_golden_report(void **state)
{
	static const char *const conds[][2] = {
		{ "ep", "E-P" }, { "pe", "P-E" }, { "ep-topk", "E-P top-k" }, { "pe-topk", "P-E top-k" },
	};
	char *dir = golden_run_small();
	struct sx_buf html = SX_BUF_INIT, want = SX_BUF_INIT;
	struct sx_err err;
	size_t i;

	(void)state;
	assert_int_equal(report_of(dir, "golden", &html, &err), 0);
	assert_self_contained(html.buf);
	assert_non_null(strstr(html.buf, "<title>selfexp report: sim on demo.tsv</title>"));
	for (i = 0; i < 4; i++) {
		/* the condition filter, and its cards: one per review */
		sx_buf_reset(&want);
		sx_buf_addf(&want, "<option value=\"%s\">%s</option>", conds[i][0], conds[i][1]);
		if (!strstr(html.buf, want.buf))
			fail_msg("no '%s' in the report", want.buf);
		sx_buf_reset(&want);
		sx_buf_addf(&want, "data-cond=\"%s\" data-status=", conds[i][0]);
		assert_int_equal(count_of(html.buf, want.buf), 8);
		sx_buf_reset(&want);
		sx_buf_addf(&want, " &middot; %s &middot; gold", conds[i][1]);
		assert_int_equal(count_of(html.buf, want.buf), 8);
	}
	assert_int_equal(count_of(html.buf, "<div class=\"card\""), 32);
	/* the explanation methods side by side */
	assert_int_equal(count_of(html.buf, "<tr><th>self</th>"), 16);
	assert_int_equal(count_of(html.buf, "<tr><th>self (top-k)</th>"), 16);
	/* an answer without one says so (d07 pe-topk, the unparseable d02, d08 ep-topk) */
	assert_int_equal(count_of(html.buf, "<td class=\"tk\"><i>no explanation: no top-k list"), 3);
	assert_int_equal(count_of(html.buf, "<tr><th>occlusion</th>"), 32);
	assert_int_equal(count_of(html.buf, "<tr><th>LIME</th>"), 32);
	assert_non_null(strstr(html.buf, "self-explanation importance, all conditions"));
	assert_non_null(strstr(html.buf, "occlusion importance, all conditions"));
	assert_non_null(strstr(html.buf, "LIME importance, all conditions"));
	/* the parse failures: d02, d08 ep-topk unparseable, d05 ep no_prediction, d07 pe-topk no_explanation */
	assert_non_null(strstr(html.buf, "4 answers without a usable prediction"));
	assert_non_null(strstr(html.buf, "<tr><td>d05</td><td>E-P</td><td><span class=\"st st-no_prediction\">"));
	assert_non_null(strstr(html.buf, "<tr><td>d07</td><td>P-E top-k</td>"));
	assert_null(strstr(html.buf, "This run did not complete"));
	assert_non_null(strstr(html.buf, "<section id=\"tables\">"));
	sx_buf_release(&html);
	sx_buf_release(&want);
	free(dir);
}

/* With no path the report goes to dir/report.html, and is what sx_report_render gives. */
static void test_default_path(void **state)
{
	char *golden = golden_run_small(), *dir = fixture_dir("copy");
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_buf html = SX_BUF_INIT, rendered = SX_BUF_INIT;
	struct sx_err err;

	(void)state;
	fixture_copy(golden, dir, "run.json");
	fixture_copy(golden, dir, "summary.json");
	fixture_copy(golden, dir, "records.jsonl");
	assert_int_equal(report_of(dir, NULL, &html, &err), 0);
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY | SX_RUNDIR_RECORDS, &err), 0);
	sx_buf_adds(&rendered, "kept\n"); /* render appends */
	assert_int_equal(sx_report_render(&rd, &rendered, &err), 0);
	assert_int_equal(rendered.len, html.len + 5);
	assert_memory_equal(rendered.buf + 5, html.buf, html.len);
	assert_non_null(strstr(html.buf, dir)); /* the run directory, in the metadata */
	sx_rundir_release(&rd);
	sx_buf_release(&html);
	sx_buf_release(&rendered);
	free(golden);
	free(dir);
}

/* ---------------------------------------------------------------- untrusted input */

static char *hostile_run(const char *name, const char *extra_run, const char *answer)
{
	char *dir = fixture_dir(name);
	struct sx_buf run = SX_BUF_INIT, rec = SX_BUF_INIT;

	sx_buf_addf(&run, "{\"model\":{\"name\":\"<i>m</i>\"},\"prob\":\"verbal\","
		    "\"data\":{\"path\":\"data/<u>x</u>.tsv\",\"reviews\":2},"
		    "\"started\":\"<em>t0</em>\",\"conditions\":[\"pe\"]%s}\n", extra_run);
	fixture_write(dir, "run.json", run.buf, run.len);
	fixture_write(dir, "summary.json", summary_pe, (size_t)-1);
	sx_buf_addf(&rec, "{\"id\":\"%s\",\"condition\":\"pe\",\"method\":\"self\","
		    "\"tokens\":[\"a\",\"" HOSTILE_TOKEN "\",\"b&c\"],\"gold\":1,"
		    "\"prediction\":{\"label\":1,\"confidence\":0.9},\"status\":\"ok\","
		    "\"importance\":[0.5,-1,0.1],\"answer\":\"%s\"}\n",
		    HOSTILE_ID, answer);
	sx_buf_addf(&rec, "{\"id\":\"%s\",\"condition\":\"pe\",\"method\":\"occlusion\","
		    "\"tokens\":[\"a\",\"" HOSTILE_TOKEN "\",\"b&c\"],\"gold\":1,"
		    "\"prediction\":{\"label\":1,\"confidence\":0.9},\"status\":\"ok\","
		    "\"importance\":[0.2,0.1,-0.3]}\n", HOSTILE_ID);
	sx_buf_addf(&rec, "{\"id\":\"r2\",\"condition\":\"pe\",\"method\":\"self\","
		    "\"tokens\":[\"" HOSTILE_TOKEN "\"],\"gold\":0,\"prediction\":null,"
		    "\"status\":\"<s>odd</s>\",\"error\":\"<b>bad</b>\",\"answer\":\"%s\"}\n", answer);
	fixture_write(dir, "records.jsonl", rec.buf, rec.len);
	sx_buf_release(&run);
	sx_buf_release(&rec);
	return dir;
}

static void test_hostile_escaped(void **state)
{
	char *dir = hostile_run("hostile<dir>&", "", "</pre><script>alert(3)</script>");
	struct sx_buf html = SX_BUF_INIT;
	struct sx_err err;

	(void)state;
	assert_int_equal(report_of(dir, "hostile", &html, &err), 0);
	assert_self_contained(html.buf); /* among other things: still exactly two <script> */
	assert_null(strstr(html.buf, HOSTILE_TOKEN));
	assert_null(strstr(html.buf, "<img"));
	assert_null(strstr(html.buf, "<i>m"));
	assert_null(strstr(html.buf, "<u>x"));
	assert_null(strstr(html.buf, "<em>"));
	assert_null(strstr(html.buf, "<s>"));
	assert_null(strstr(html.buf, "<b>bad"));
	assert_null(strstr(html.buf, "hostile<dir>"));
	assert_null(strstr(html.buf, "alert(3)</script>"));
	/* and each of them is there, escaped */
	assert_true(count_of(html.buf, HOSTILE_TOKEN_ESC) >= 3); /* self, occlusion, r2 */
	assert_non_null(strstr(html.buf, "<span class=\"n4\" title=\"-1\">" HOSTILE_TOKEN_ESC "</span>"));
	assert_non_null(strstr(html.buf, "<b>" HOSTILE_ID_ESC "</b>"));
	assert_non_null(strstr(html.buf, "data-text=\"" HOSTILE_ID_ESC " a " HOSTILE_TOKEN_ESC
				     " b&amp;c\""));
	assert_non_null(strstr(html.buf, "&lt;i&gt;m&lt;/i&gt;"));
	assert_non_null(strstr(html.buf, "&lt;b&gt;bad&lt;/b&gt;"));
	assert_non_null(strstr(html.buf, "&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
	assert_non_null(strstr(html.buf, "data-status=\"&lt;s&gt;odd&lt;/s&gt;\""));
	assert_non_null(strstr(html.buf, "hostile&lt;dir&gt;&amp;"));
	sx_buf_release(&html);
	free(dir);
}

static void test_long_answer(void **state)
{
	struct sx_buf answer = SX_BUF_INIT, html = SX_BUF_INIT;
	struct sx_err err;
	char *dir;
	size_t i;

	(void)state;
	for (i = 0; i < SX_REPORT_ANSWER_MAX + 904; i++)
		sx_buf_addch(&answer, 'x');
	dir = hostile_run("long", ",\"complete\":false", answer.buf);
	assert_int_equal(report_of(dir, "long", &html, &err), 0);
	/* cut in the card and in the list of parse failures */
	assert_int_equal(count_of(html.buf, "[... 904 more bytes not shown]"), 3);
	sx_buf_setlen(&answer, SX_REPORT_ANSWER_MAX);
	assert_non_null(strstr(html.buf, answer.buf));
	sx_buf_addch(&answer, 'x');
	assert_null(strstr(html.buf, answer.buf));
	assert_non_null(strstr(html.buf, "5000 bytes"));
	/* an interrupted run says so */
	assert_non_null(strstr(html.buf, "This run did not complete"));
	sx_buf_release(&answer);
	sx_buf_release(&html);
	free(dir);
}

/* ---------------------------------------------------------------- figures */

/*
 * A histogram's count at the top of its y axis is drawn right-aligned left of
 * the axis: with more than 4 digits (12,000 importance values in one bin, as
 * a run of 1,000 reviews has) the axis moves right so that the number starts
 * inside the figure (x >= its width at 7 px a digit), not clipped at x < 0.
 */
#define AXIS "aria-label=\"histogram\"><line x1=\""
static void test_hist_count_fits(void **state)
{
	char *dir = fixture_dir("hist");
	struct sx_buf run = SX_BUF_INIT, rec = SX_BUF_INIT, html = SX_BUF_INIT;
	struct sx_err err;
	const char *at, *svg;
	double x = -1, axis = -1;
	size_t i;

	(void)state;
	sx_buf_adds(&run, "{\"model\":{\"name\":\"m\"},\"prob\":\"verbal\","
		    "\"data\":{\"path\":\"x.tsv\",\"reviews\":2},\"conditions\":[\"pe\"]}\n");
	fixture_write(dir, "run.json", run.buf, run.len);
	fixture_write(dir, "summary.json", summary_pe, (size_t)-1);
	sx_buf_adds(&rec, "{\"id\":\"r1\",\"condition\":\"pe\",\"method\":\"self\",\"tokens\":[");
	for (i = 0; i < 12000; i++)
		sx_buf_adds(&rec, i ? ",\"a\"" : "\"a\"");
	sx_buf_adds(&rec, "],\"gold\":1,\"prediction\":{\"label\":1,\"confidence\":0.9},"
		    "\"status\":\"ok\",\"importance\":[");
	for (i = 0; i < 12000; i++)
		sx_buf_adds(&rec, i ? ",0" : "0");
	sx_buf_adds(&rec, "]}\n");
	fixture_write(dir, "records.jsonl", rec.buf, rec.len);
	assert_int_equal(report_of(dir, "hist", &html, &err), 0);
	at = strstr(html.buf, " text-anchor=\"end\">12000</text>");
	assert_non_null(at);
	svg = at;
	while (svg > html.buf && strncmp(svg, AXIS, strlen(AXIS)))
		svg--;
	assert_true(svg > html.buf);
	assert_int_equal(sscanf(svg + strlen(AXIS), "%lf", &axis), 1);
	while (at > html.buf && strncmp(at, "<text x=\"", strlen("<text x=\"")))
		at--;
	assert_int_equal(sscanf(at + strlen("<text x=\""), "%lf", &x), 1);
	print_message("# the count 12000 ends at x = %g, the axis at %g\n", x, axis);
	assert_true(x >= 5 * 7.0); /* all five digits inside the figure */
	assert_true(axis >= x + 3);
	sx_buf_release(&run);
	sx_buf_release(&rec);
	sx_buf_release(&html);
	free(dir);
}

/* ---------------------------------------------------------------- failures */

static void test_missing_summary(void **state)
{
	char *golden = golden_run_small(), *dir = fixture_dir("nosummary");
	char *out = tmpdir_path("nosummary.html");
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_buf html = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	size_t bytes = 777;

	(void)state;
	fixture_copy(golden, dir, "run.json");
	fixture_copy(golden, dir, "records.jsonl");
	assert_true(sx_report_write(dir, out, &bytes, &err) < 0);
	assert_non_null(strstr(err.msg, "summary.json"));
	assert_int_equal(access(out, F_OK), -1); /* nothing written */
	assert_int_equal(bytes, 777);
	/* rendering a run loaded without its summary */
	assert_int_equal(sx_rundir_load(&rd, golden, SX_RUNDIR_RECORDS, NULL), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sx_report_render(&rd, &html, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "has no summary.json"));
	assert_int_equal(html.len, 0);
	sx_rundir_release(&rd);
	/* a summary without what the tables need */
	fixture_write(dir, "summary.json", "{\"reviews\":8}", (size_t)-1);
	memset(&err, 0, sizeof(err));
	assert_true(sx_report_write(dir, out, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "no conditions"));
	assert_int_equal(access(out, F_OK), -1);
	/* a run directory that is not one */
	memset(&err, 0, sizeof(err));
	assert_true(sx_report_write(out, NULL, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "is not a run directory"));
	sx_buf_release(&html);
	free(golden);
	free(dir);
	free(out);
}

static void test_unwritable(void **state)
{
	char *golden = golden_run_small(), *out = tmpdir_path("no/such/dir/report.html");
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_true(sx_report_write(golden, out, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "no/such/dir"));
	free(golden);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_report),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_hostile_escaped),
		cmocka_unit_test(test_long_answer),
		cmocka_unit_test(test_hist_count_fits),
		cmocka_unit_test(test_missing_summary),
		cmocka_unit_test(test_unwritable),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
