#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "selfexp/buf.h"
#include "selfexp/json.h"
#include "selfexp/rundir.h"

#define TMPDIR_NAME "test_rundir"
#include "tmpdir.h"
#include "rundir_fixture.h"

static const char run_json[] = "{\"model\":{\"name\":\"sim\"},\"prob\":\"verbal\","
			       "\"conditions\":[\"pe\",\"pred\"]}\n";

static const char *rec_str(const struct sx_json *r, const char *key)
{
	const char *s = sx_json_get_str(r, key);

	return s ? s : "(none)";
}

/* A released rundir: every owned field cleared (the header's "on error rd is left released"). */
static void assert_released(const struct sx_rundir *rd)
{
	assert_null(rd->dir);
	assert_null(rd->run);
	assert_null(rd->summary);
	assert_null(rd->records);
	assert_int_equal(rd->nrecords, 0);
}

/* A struct that is not zero, so that a load that forgets to reset it shows. */
static void poison(struct sx_rundir *rd)
{
	struct sx_rundir z = SX_RUNDIR_INIT;

	*rd = z;
	rd->nrecords = 12345;
}

/* ---------------------------------------------------------------- loading run-small */

static void test_load_golden(void **state)
{
	char *dir = golden_run_small();
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_err err = SX_ERR_INIT;
	double v;

	(void)state;
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY | SX_RUNDIR_RECORDS, &err), 0);
	assert_string_equal(rd.dir, dir);
	assert_non_null(rd.run);
	assert_non_null(rd.summary);
	/* 8 reviews x 4 conditions x 3 records (own answer, occlusion, lime), file order */
	assert_int_equal(rd.nrecords, 96);
	assert_string_equal(sx_json_get_str(sx_json_get(rd.run, "model"), "name"), "sim");
	assert_int_equal(sx_json_get_num(rd.summary, "reviews", &v), 0);
	assert_true(v == 8);
	assert_string_equal(rec_str(rd.records[0], "id"), "d01");
	assert_string_equal(rec_str(rd.records[0], "condition"), "ep");
	assert_string_equal(rec_str(rd.records[0], "method"), "self");
	assert_string_equal(rec_str(rd.records[95], "id"), "d08");
	assert_string_equal(rec_str(rd.records[95], "condition"), "pe-topk");
	assert_string_equal(rec_str(rd.records[95], "method"), "lime");
	sx_rundir_release(&rd);
	assert_released(&rd);
	sx_rundir_release(&rd); /* twice is harmless */
	free(dir);
}

static void test_load_parts(void **state)
{
	char *dir = golden_run_small();
	struct sx_rundir rd;

	(void)state;
	poison(&rd);
	assert_int_equal(sx_rundir_load(&rd, dir, 0, NULL), 0);
	assert_non_null(rd.run);
	assert_null(rd.summary);
	assert_int_equal(rd.nrecords, 0);
	assert_null(sx_rundir_record(&rd, "d01", "ep", "self"));
	assert_null(sx_rundir_answer_record(&rd, "d01", "ep"));
	sx_rundir_release(&rd);

	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY, NULL), 0);
	assert_non_null(rd.summary);
	assert_int_equal(rd.nrecords, 0);
	sx_rundir_release(&rd);

	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_RECORDS, NULL), 0);
	assert_null(rd.summary);
	assert_int_equal(rd.nrecords, 96);
	sx_rundir_release(&rd);
	free(dir);
}

/* ---------------------------------------------------------------- lookups */

static void test_record_lookup(void **state)
{
	char *dir = golden_run_small();
	struct sx_rundir rd = SX_RUNDIR_INIT;
	const struct sx_json *r;
	double v;
	size_t i;

	(void)state;
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_RECORDS, NULL), 0);
	r = sx_rundir_record(&rd, "d01", "pe", "occlusion");
	assert_non_null(r);
	assert_string_equal(rec_str(r, "id"), "d01");
	assert_string_equal(rec_str(r, "condition"), "pe");
	assert_string_equal(rec_str(r, "method"), "occlusion");
	assert_int_equal(sx_json_get_num(sx_json_get(r, "metrics"), "comprehensiveness", &v), 0);
	assert_true(v > 0.2569 && v < 0.2571);
	/* every record is found under its own key, as itself */
	for (i = 0; i < rd.nrecords; i++) {
		const struct sx_json *x = rd.records[i];
		assert_ptr_equal(sx_rundir_record(&rd, rec_str(x, "id"), rec_str(x, "condition"),
						  rec_str(x, "method")), x);
	}
	assert_null(sx_rundir_record(&rd, "d09", "pe", "self"));
	assert_null(sx_rundir_record(&rd, "d01", "pe", "shap"));
	assert_null(sx_rundir_record(&rd, "d01", "pred", "self"));
	assert_null(sx_rundir_record(&rd, "d01", "pe", "Self"));
	assert_null(sx_rundir_record(&rd, "d01", "pe", "topk")); /* pe has self, not topk */
	assert_null(sx_rundir_record(&rd, "d0", "1", "pe"));
	assert_null(sx_rundir_record(&rd, "", "", ""));
	sx_rundir_release(&rd);
	free(dir);
}

static void test_answer_record(void **state)
{
	static const char records[] =
		"{\"id\":\"a\",\"condition\":\"pred\",\"method\":\"occlusion\",\"status\":\"ok\"}\n"
		"{\"id\":\"a\",\"condition\":\"pred\",\"method\":\"prediction\",\"status\":\"ok\"}\n"
		"{\"id\":\"a\",\"condition\":\"pe\",\"method\":\"lime\",\"status\":\"ok\"}\n"
		"{\"id\":\"a\",\"condition\":\"pe\",\"method\":\"occlusion\",\"status\":\"ok\"}\n";
	char *golden = golden_run_small(), *dir = fixture_dir("answer");
	struct sx_rundir rd = SX_RUNDIR_INIT;
	const struct sx_json *r;

	(void)state;
	assert_int_equal(sx_rundir_load(&rd, golden, SX_RUNDIR_RECORDS, NULL), 0);
	r = sx_rundir_answer_record(&rd, "d01", "ep");
	assert_non_null(r);
	assert_string_equal(rec_str(r, "method"), "self");
	assert_ptr_equal(r, sx_rundir_record(&rd, "d01", "ep", "self"));
	r = sx_rundir_answer_record(&rd, "d03", "ep-topk");
	assert_non_null(r);
	assert_string_equal(rec_str(r, "method"), "topk");
	assert_string_equal(rec_str(r, "id"), "d03");
	/* an answer without a usable explanation is still the condition's answer */
	r = sx_rundir_answer_record(&rd, "d07", "pe-topk");
	assert_non_null(r);
	assert_string_equal(rec_str(r, "status"), "no_explanation");
	assert_null(sx_rundir_answer_record(&rd, "d09", "ep"));
	assert_null(sx_rundir_answer_record(&rd, "d01", "pred"));
	sx_rundir_release(&rd);

	fixture_write(dir, "run.json", run_json, (size_t)-1);
	fixture_write(dir, "records.jsonl", records, (size_t)-1);
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_RECORDS, NULL), 0);
	assert_int_equal(rd.nrecords, 4);
	r = sx_rundir_answer_record(&rd, "a", "pred");
	assert_non_null(r);
	assert_string_equal(rec_str(r, "method"), "prediction");
	/* occlusion and LIME records are never the answer */
	assert_null(sx_rundir_answer_record(&rd, "a", "pe"));
	sx_rundir_release(&rd);
	free(golden);
	free(dir);
}

static void test_condition_label(void **state)
{
	static const char other[] = "my-cond";

	(void)state;
	assert_string_equal(sx_rundir_condition_label("ep"), "E-P");
	assert_string_equal(sx_rundir_condition_label("pe"), "P-E");
	assert_string_equal(sx_rundir_condition_label("ep-topk"), "E-P top-k");
	assert_string_equal(sx_rundir_condition_label("pe-topk"), "P-E top-k");
	assert_string_equal(sx_rundir_condition_label("pred"), "prediction only");
	/* others unchanged: the very same string */
	assert_ptr_equal(sx_rundir_condition_label(other), other);
	assert_string_equal(sx_rundir_condition_label("EP"), "EP");
	assert_string_equal(sx_rundir_condition_label("ep-"), "ep-");
	assert_string_equal(sx_rundir_condition_label(""), "");
}

/* Every selfexp writes "complete": without it (or not a boolean) the run is not known to be complete. */
static void test_run_complete(void **state)
{
	static const struct { const char *json; int want; } cases[] = {
		{ "{\"complete\":true}", 1 }, { "{\"complete\":false}", 0 }, { "{}", -1 },
		{ "{\"complete\":null}", -1 }, { "{\"complete\":1}", -1 },
		{ "{\"complete\":\"true\"}", -1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sx_json *j = sx_json_parse(cases[i].json, strlen(cases[i].json), NULL);

		assert_non_null(j);
		assert_int_equal(sx_rundir_run_complete(j), cases[i].want);
		sx_json_free(j);
	}
	assert_int_equal(sx_rundir_run_complete(NULL), -1);
}

static void test_status_usable(void **state)
{
	(void)state;
	assert_true(sx_rundir_status_usable_prediction("ok"));
	assert_true(sx_rundir_status_usable_prediction("ok_with_repairs"));
	assert_true(sx_rundir_status_usable_prediction("no_explanation"));
	assert_false(sx_rundir_status_usable_prediction("no_prediction"));
	assert_false(sx_rundir_status_usable_prediction("unparseable"));
	assert_false(sx_rundir_status_usable_prediction("invalid"));
	assert_false(sx_rundir_status_usable_prediction("failed"));
	assert_false(sx_rundir_status_usable_prediction("OK"));
	assert_false(sx_rundir_status_usable_prediction("ok "));
	assert_false(sx_rundir_status_usable_prediction(""));
	assert_false(sx_rundir_status_usable_prediction(NULL));
}

/* ---------------------------------------------------------------- errors */

static void test_missing_run_json(void **state)
{
	char *dir = fixture_dir("norun"), *nowhere = tmpdir_path("nowhere");
	struct sx_rundir rd;
	struct sx_err err = SX_ERR_INIT;
	int rc;

	(void)state;
	fixture_write(dir, "summary.json", "{}", (size_t)-1);
	fixture_write(dir, "records.jsonl", "", (size_t)-1);
	poison(&rd);
	rc = sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY | SX_RUNDIR_RECORDS, &err);
	assert_true(rc < 0);
	assert_int_equal(rc, SX_EINPUT);
	assert_non_null(strstr(err.msg, "is not a run directory"));
	assert_non_null(strstr(err.msg, dir));
	assert_non_null(strstr(err.msg, "run.json"));
	assert_released(&rd);

	poison(&rd);
	memset(&err, 0, sizeof(err));
	assert_true(sx_rundir_load(&rd, nowhere, 0, &err) < 0);
	assert_non_null(strstr(err.msg, "nowhere"));
	assert_released(&rd);
	/* without an err to fill */
	assert_true(sx_rundir_load(&rd, nowhere, 0, NULL) < 0);
	assert_released(&rd);
	free(dir);
	free(nowhere);
}

static void test_bad_run_json(void **state)
{
	char *dir = fixture_dir("badrun");
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	fixture_write(dir, "run.json", "[1, 2]", (size_t)-1);
	assert_int_equal(sx_rundir_load(&rd, dir, 0, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "is not a JSON object"));
	assert_released(&rd);
	fixture_write(dir, "run.json", "{\"model\":", (size_t)-1);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sx_rundir_load(&rd, dir, 0, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "run.json"));
	assert_released(&rd);
	free(dir);
}

/* A run dir holding run.json and the given records.jsonl; load it with records. */
static int load_records_text(const char *name, const char *records, struct sx_rundir *rd,
			     struct sx_err *err)
{
	char *dir = fixture_dir(name);
	int rc;

	fixture_write(dir, "run.json", run_json, (size_t)-1);
	fixture_write(dir, "records.jsonl", records, (size_t)-1);
	memset(err, 0, sizeof(*err));
	poison(rd);
	rc = sx_rundir_load(rd, dir, SX_RUNDIR_RECORDS, err);
	free(dir);
	return rc;
}

#define REC(id, m) "{\"id\":\"" id "\",\"condition\":\"pe\",\"method\":\"" m "\"}"

static void test_malformed_line(void **state)
{
	struct sx_rundir rd;
	struct sx_err err;

	(void)state;
	/* line 2 is empty (skipped, but counted), line 4 is cut short */
	assert_int_equal(load_records_text("malformed", REC("a", "self") "\n\n" REC("b", "self")
					   "\n{\"id\":\"c\",\"condition\":\n" REC("d", "self") "\n",
					   &rd, &err),
			 SX_EINPUT);
	assert_non_null(strstr(err.msg, "records.jsonl' line 4"));
	assert_released(&rd);

	/* the last line, without a newline */
	assert_int_equal(load_records_text("malformed2", REC("a", "self") "\n" REC("b", "self")
					   "\nnot json", &rd, &err),
			 SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 3"));
	assert_released(&rd);

	/* a record without a method */
	assert_int_equal(load_records_text("nomethod", REC("a", "self") "\n"
					   "{\"id\":\"b\",\"condition\":\"pe\"}\n", &rd, &err),
			 SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 2: a record needs id, condition and method"));
	assert_released(&rd);

	/* valid JSON that is not a record */
	assert_int_equal(load_records_text("array", "[1, 2, 3]\n", &rd, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 1"));
	assert_released(&rd);

	/* the same (id, condition, method) twice */
	assert_int_equal(load_records_text("dup", REC("a", "self") "\n" REC("a", "lime") "\n"
					   REC("a", "self") "\n", &rd, &err),
			 SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 3: duplicate record ('a', 'pe', 'self')"));
	assert_released(&rd);
}

static void test_line_endings(void **state)
{
	struct sx_rundir rd;
	struct sx_err err;

	(void)state;
	/* no final newline: the last line is a record too */
	assert_int_equal(load_records_text("nofinal", REC("a", "self") "\n" REC("b", "self") "\n"
					   REC("c", "self"), &rd, &err), 0);
	assert_int_equal(rd.nrecords, 3);
	assert_non_null(sx_rundir_record(&rd, "c", "pe", "self"));
	sx_rundir_release(&rd);
	/* CRLF line ends, and an empty file */
	assert_int_equal(load_records_text("crlf", REC("a", "self") "\r\n" REC("b", "self") "\r\n",
					   &rd, &err), 0);
	assert_int_equal(rd.nrecords, 2);
	assert_non_null(sx_rundir_record(&rd, "b", "pe", "self"));
	sx_rundir_release(&rd);
	/* an empty records.jsonl is refused, with the way to rebuild it */
	assert_int_equal(load_records_text("empty", "", &rd, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "records.jsonl' holds no records; rebuild it with 'selfexp score "));
}

static void test_missing_parts(void **state)
{
	char *dir = fixture_dir("parts");
	struct sx_buf path = SX_BUF_INIT;
	struct sx_rundir rd;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	fixture_write(dir, "run.json", run_json, (size_t)-1);
	fixture_write(dir, "records.jsonl", REC("a", "self") "\n", (size_t)-1);
	/* summary.json is needed only when asked for */
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_RECORDS, &err), 0);
	assert_int_equal(rd.nrecords, 1);
	sx_rundir_release(&rd);
	poison(&rd);
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY | SX_RUNDIR_RECORDS, &err),
			 SX_EINPUT);
	assert_non_null(strstr(err.msg, "summary.json"));
	assert_released(&rd);
	/* a summary that is not an object */
	fixture_write(dir, "summary.json", "\"summary\"", (size_t)-1);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "summary.json' is not a JSON object"));
	assert_released(&rd);

	/* records.jsonl likewise */
	fixture_write(dir, "summary.json", "{}", (size_t)-1);
	sx_buf_addf(&path, "%s/records.jsonl", dir);
	assert_int_equal(unlink(path.buf), 0);
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY, &err), 0);
	sx_rundir_release(&rd);
	memset(&err, 0, sizeof(err));
	poison(&rd);
	assert_true(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY | SX_RUNDIR_RECORDS, &err) < 0);
	assert_non_null(strstr(err.msg, "records.jsonl"));
	assert_released(&rd);
	sx_buf_release(&path);
	free(dir);
}

/* summary.json one byte over SX_RUNDIR_JSON_MAX (a sparse file: no disk used). */
static void test_size_cap(void **state)
{
	char *dir = fixture_dir("big");
	struct sx_buf path = SX_BUF_INIT, msg = SX_BUF_INIT;
	struct sx_rundir rd;
	struct sx_err err = SX_ERR_INIT;
	int fd;

	(void)state;
	fixture_write(dir, "run.json", run_json, (size_t)-1);
	sx_buf_addf(&path, "%s/summary.json", dir);
	fd = open(path.buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)SX_RUNDIR_JSON_MAX + 1), 0);
	close(fd);
	poison(&rd);
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY, &err), SX_EINPUT);
	sx_buf_addf(&msg, "larger than the %zu byte cap", (size_t)SX_RUNDIR_JSON_MAX);
	assert_non_null(strstr(err.msg, msg.buf));
	assert_released(&rd);
	unlink(path.buf);
	/*
	 * records.jsonl's cap (SX_RUNDIR_RECORDS_MAX, 2 GiB) is not tested: a
	 * file over it would be read whole into memory before the cap trips.
	 */
	sx_buf_release(&path);
	sx_buf_release(&msg);
	free(dir);
}

/* A failure after many records were loaded frees them all (run under SANITIZE=address). */
static void test_release_partial(void **state)
{
	struct sx_buf text = SX_BUF_INIT;
	struct sx_rundir rd;
	struct sx_err err;
	char *dir;
	size_t i;

	(void)state;
	for (i = 0; i < 300; i++)
		sx_buf_addf(&text, "{\"id\":\"r%zu\",\"condition\":\"pe\",\"method\":\"self\","
			    "\"tokens\":[\"a\",\"b\"],\"metrics\":{\"rankdel\":%zu}}\n", i, i);
	sx_buf_adds(&text, "{\"id\":\"broken\"\n");
	assert_int_equal(load_records_text("partial", text.buf, &rd, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 301"));
	assert_released(&rd);
	sx_rundir_release(&rd);

	/* the same struct then loads a good directory */
	dir = golden_run_small();
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY | SX_RUNDIR_RECORDS, NULL), 0);
	assert_int_equal(rd.nrecords, 96);
	sx_rundir_release(&rd);
	/* a duplicate after the index has grown */
	sx_buf_reset(&text);
	for (i = 0; i < 300; i++)
		sx_buf_addf(&text, "{\"id\":\"r%zu\",\"condition\":\"pe\",\"method\":\"self\"}\n", i);
	sx_buf_adds(&text, "{\"id\":\"r7\",\"condition\":\"pe\",\"method\":\"self\"}\n");
	assert_int_equal(load_records_text("partial2", text.buf, &rd, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 301: duplicate record ('r7'"));
	assert_released(&rd);
	sx_buf_release(&text);
	free(dir);
}

/* Ids and conditions with a tab (JSONL data can have them) never run into each other's keys. */
static void test_keys_with_tabs(void **state)
{
	struct sx_rundir rd;
	struct sx_err err;
	const struct sx_json *r;

	(void)state;
	assert_int_equal(load_records_text("tabs",
					   "{\"id\":\"x\\tpe\",\"condition\":\"self\",\"method\":\"m\"}\n"
					   "{\"id\":\"x\",\"condition\":\"pe\\tself\",\"method\":\"m\"}\n",
					   &rd, &err),
			 0);
	assert_int_equal(rd.nrecords, 2);
	r = sx_rundir_record(&rd, "x", "pe\tself", "m");
	assert_non_null(r);
	assert_string_equal(sx_json_get_str(r, "id"), "x");
	r = sx_rundir_record(&rd, "x\tpe", "self", "m");
	assert_non_null(r);
	assert_string_equal(sx_json_get_str(r, "condition"), "self");
	assert_null(sx_rundir_record(&rd, "x", "pe", "self\tm"));
	sx_rundir_release(&rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_golden),
		cmocka_unit_test(test_load_parts),
		cmocka_unit_test(test_record_lookup),
		cmocka_unit_test(test_answer_record),
		cmocka_unit_test(test_condition_label),
		cmocka_unit_test(test_status_usable),
		cmocka_unit_test(test_run_complete),
		cmocka_unit_test(test_missing_run_json),
		cmocka_unit_test(test_bad_run_json),
		cmocka_unit_test(test_malformed_line),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_missing_parts),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_release_partial),
		cmocka_unit_test(test_keys_with_tabs),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
