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
#include "selfexp/data.h"

/* Parse a NUL-terminated literal. */
static int parse(const char *name, const char *text, struct sx_dataset *ds, struct sx_err *err)
{
	return sx_data_parse(name, text, strlen(text), NULL, ds, err);
}

static int parse_skip(const char *name, const char *text, struct sx_dataset *ds,
		      struct sx_err *err)
{
	struct sx_data_opts opts = SX_DATA_OPTS_INIT;

	opts.skip_bad_rows = 1;
	return sx_data_parse(name, text, strlen(text), &opts, ds, err);
}

/* Assert that text fails to load with a message containing each of the
 * NULL-terminated substrings. */
static void expect_bad_n(const char *name, const char *text, size_t len, ...)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	const char *want;
	va_list ap;

	assert_int_equal(sx_data_parse(name, text, len, NULL, &ds, &err), SX_EINPUT);
	assert_int_equal(ds.n, 0);
	assert_null(ds.reviews);
	va_start(ap, len);
	while ((want = va_arg(ap, const char *))) {
		if (!strstr(err.msg, want))
			fail_msg("message '%s' lacks '%s'", err.msg, want);
	}
	va_end(ap);
	sx_dataset_release(&ds);
}

#define expect_bad(name, text, ...) expect_bad_n(name, text, strlen(text), __VA_ARGS__, (char *)NULL)

static void test_tsv(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(parse("x.tsv", "sentence\tlabel\nit 's  a   gem .\t1\nbad\t0\n", &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_int_equal(ds.format, SX_DATA_TSV);
	assert_true(ds.labelled);
	assert_string_equal(ds.reviews[0].id, "1");
	assert_string_equal(ds.reviews[0].text, "it 's  a   gem .");
	assert_int_equal(ds.reviews[0].ntokens, 5);
	assert_string_equal(ds.reviews[0].tokens[0], "it");
	assert_string_equal(ds.reviews[0].tokens[1], "'s");
	assert_string_equal(ds.reviews[0].tokens[4], ".");
	assert_int_equal(ds.reviews[0].gold, 1);
	assert_int_equal(ds.reviews[0].line, 2);
	assert_string_equal(ds.reviews[1].id, "2");
	assert_int_equal(ds.reviews[1].gold, 0);
	assert_int_equal(ds.reviews[1].line, 3);
	assert_int_equal(ds.skipped, 0);
	sx_dataset_release(&ds);
	assert_null(ds.reviews);
	assert_int_equal(ds.n, 0);
}

static void test_tsv_columns(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	/* paper100 layout, and column order from the header, 'text' synonym, extra column */
	assert_int_equal(parse("p.tsv", "id\tsentence\tlabel\n0\tA b .\t0\n17\tC\t1\n", &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_string_equal(ds.reviews[0].id, "0");
	assert_string_equal(ds.reviews[1].id, "17");
	assert_string_equal(ds.reviews[1].text, "C");
	sx_dataset_release(&ds);
	assert_int_equal(parse("p.tsv", "Label\tsource\tTEXT\n1\tweb\tfine film\n", &ds, &err), 0);
	assert_int_equal(ds.n, 1);
	assert_string_equal(ds.reviews[0].text, "fine film");
	assert_int_equal(ds.reviews[0].gold, 1);
	sx_dataset_release(&ds);
}

static void test_no_label_column(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(parse("u.tsv", "sentence\none\ntwo words\n", &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_false(ds.labelled);
	assert_int_equal(ds.reviews[0].gold, -1);
	assert_int_equal(ds.reviews[1].gold, -1);
	assert_int_equal(ds.reviews[1].ntokens, 2);
	sx_dataset_release(&ds);
	assert_int_equal(parse("u.csv", "text\nhello\n", &ds, &err), 0);
	assert_int_equal(ds.reviews[0].gold, -1);
	sx_dataset_release(&ds);
	assert_int_equal(parse("u.jsonl", "{\"text\":\"a\"}\n{\"text\":\"b\",\"id\":\"k\"}\n", &ds, &err), 0);
	assert_false(ds.labelled);
	assert_int_equal(ds.reviews[1].gold, -1);
	assert_string_equal(ds.reviews[1].id, "k");
	sx_dataset_release(&ds);
}

static void test_bom_crlf_trailing_blank(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(parse("b.tsv", "\xEF\xBB\xBFsentence\tlabel\r\ngood\t1\r\nbad\t0\r\n\r\n\n  \n",
			       &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_string_equal(ds.reviews[0].text, "good");
	assert_string_equal(ds.reviews[1].text, "bad");
	assert_int_equal(ds.reviews[1].gold, 0);
	sx_dataset_release(&ds);
	/* no final newline */
	assert_int_equal(parse("b.tsv", "sentence\tlabel\ngood\t1", &ds, &err), 0);
	assert_int_equal(ds.n, 1);
	sx_dataset_release(&ds);
	assert_int_equal(parse("b.csv", "\xEF\xBB\xBFsentence,label\r\n\"a, b\",1\r\n", &ds, &err), 0);
	assert_string_equal(ds.reviews[0].text, "a, b");
	sx_dataset_release(&ds);
	assert_int_equal(parse("b.jsonl", "\xEF\xBB\xBF{\"text\":\"x\",\"label\":1}\r\n\r\n", &ds, &err), 0);
	assert_int_equal(ds.n, 1);
	sx_dataset_release(&ds);
}

static void test_csv_quoting(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(parse("q.csv",
			       "id,sentence,label\n"
			       "a,\"one, two\",1\n"
			       "b,\"say \"\"hi\"\"\",0\n"
			       "c,\"line one\nline two\",1\n"
			       "d,plain,0\n"
			       "\"e\",\"\"\"\",1\n",
			       &ds, &err), 0);
	assert_int_equal(ds.n, 5);
	assert_string_equal(ds.reviews[0].text, "one, two");
	assert_int_equal(ds.reviews[0].ntokens, 2);
	assert_string_equal(ds.reviews[1].text, "say \"hi\"");
	assert_string_equal(ds.reviews[2].text, "line one\nline two");
	assert_int_equal(ds.reviews[2].ntokens, 4);
	assert_int_equal(ds.reviews[2].line, 4);
	assert_string_equal(ds.reviews[3].id, "d");
	assert_int_equal(ds.reviews[3].line, 6);
	assert_string_equal(ds.reviews[4].id, "e");
	assert_string_equal(ds.reviews[4].text, "\"");
	sx_dataset_release(&ds);
	/* ids from the row number count records, not lines */
	assert_int_equal(parse("q.csv", "text\n\"a\nb\"\nc\n", &ds, &err), 0);
	assert_string_equal(ds.reviews[1].id, "2");
	assert_int_equal(ds.reviews[1].line, 4);
	sx_dataset_release(&ds);
}

static void test_jsonl(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(parse("j.ndjson",
			       "{\"id\":\"r1\",\"text\":\"a b\",\"label\":1}\n"
			       "{\"id\":7,\"sentence\":\"c \\\"d\\\"\",\"label\":\"0\"}\n"
			       "{\"text\":\"caf\\u00e9\",\"label\":0,\"extra\":[1,2]}\n",
			       &ds, &err), 0);
	assert_int_equal(ds.format, SX_DATA_JSONL);
	assert_int_equal(ds.n, 3);
	assert_string_equal(ds.reviews[0].id, "r1");
	assert_int_equal(ds.reviews[0].gold, 1);
	assert_string_equal(ds.reviews[1].id, "7");
	assert_string_equal(ds.reviews[1].text, "c \"d\"");
	assert_int_equal(ds.reviews[1].gold, 0);
	assert_string_equal(ds.reviews[2].id, "3");
	assert_string_equal(ds.reviews[2].text, "caf\xC3\xA9");
	sx_dataset_release(&ds);
}

static void test_format_names(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_data_opts opts = SX_DATA_OPTS_INIT;
	struct sx_err err = SX_ERR_INIT;
	enum sx_data_format f = SX_DATA_AUTO;
	const char *csv = "sentence,label\nok,1\n";

	(void)state;
	assert_int_equal(sx_data_format_from_name("jsonl", &f), 0);
	assert_int_equal(f, SX_DATA_JSONL);
	assert_int_equal(sx_data_format_from_name("CSV", &f), 0);
	assert_int_equal(f, SX_DATA_CSV);
	assert_int_equal(sx_data_format_from_name("xml", &f), -1);
	assert_int_equal(sx_data_format_from_path("a/b.TSV"), SX_DATA_TSV);
	assert_int_equal(sx_data_format_from_path("a.d/b"), SX_DATA_AUTO);
	assert_int_equal(sx_data_format_from_path("-"), SX_DATA_AUTO);
	assert_string_equal(sx_data_format_name(SX_DATA_CSV), "csv");
	/* explicit format beats the extension */
	opts.format = SX_DATA_CSV;
	assert_int_equal(sx_data_parse("data.txt", csv, strlen(csv), &opts, &ds, &err), 0);
	assert_int_equal(ds.n, 1);
	sx_dataset_release(&ds);
	expect_bad("data.txt", csv, "'data.txt'", "cannot tell the data format");
}

static void test_bad_rows(void **state)
{
	(void)state;
	expect_bad("x.tsv", "sentence\tlabel\ngood\t1\nmeh\t1\n\n\nbad\t0\n", "'x.tsv' line 4: blank line");
	expect_bad("x.tsv", "sentence\tlabel\na\t1\nb\t0\nc\t1\nd\t0\ne\t1\nf\tpos\n",
		   "'x.tsv' line 7: label 'pos' is not 0 or 1");
	expect_bad("x.tsv", "sentence\tlabel\na\t2\n", "line 2: label '2' is not 0 or 1");
	expect_bad("x.tsv", "sentence\tlabel\na\t\n", "line 2: label '' is not 0 or 1");
	expect_bad("x.tsv", "sentence\tlabel\na\t1\nno label here\n",
		   "'x.tsv' line 3: missing column 'label'");
	expect_bad("x.tsv", "id\tsentence\tlabel\n1\ta\t1\n2\n",
		   "line 3: missing column 'sentence'");
	expect_bad("x.tsv", "sentence\tlabel\na\tb\t1\n", "line 2: the row has 3 fields, the header 2");
	expect_bad("x.tsv", "sentence\tlabel\ngood\t1\n \t \t0\n", "line 3: the row has 3 fields");
	expect_bad("x.tsv", "sentence\tlabel\ngood\t1\n \t0\n", "'x.tsv' line 3: empty review");
	expect_bad("x.tsv", "sentence\tlabel\ngood\t1\nbad \xff byte\t0\n",
		   "'x.tsv' line 3: invalid UTF-8", "0xff", "column 5");
	/* overlong encoding and a UTF-16 surrogate are not UTF-8 */
	expect_bad("x.tsv", "sentence\tlabel\n\xC0\xAF\t0\n", "line 2: invalid UTF-8");
	expect_bad("x.tsv", "sentence\tlabel\n\xED\xA0\x80\t0\n", "line 2: invalid UTF-8");
	expect_bad("x.tsv", "sentence\tlabel\ntrunc \xE2\x82\n", "line 2: invalid UTF-8");
	{
		static const char nul[] = "sentence\tlabel\ngood\t1\nn\0l\t0\n";

		expect_bad_n("x.tsv", nul, sizeof(nul) - 1, "'x.tsv' line 3: contains a NUL byte",
			     "column 2", (char *)NULL);
		expect_bad_n("x.jsonl", "{\"text\":\"\0\"}\n", 13, "line 1: contains a NUL byte",
			     (char *)NULL);
	}
	expect_bad("x.tsv", "id\tsentence\tlabel\na\tx\t1\nb\ty\t0\na\tz\t1\n",
		   "'x.tsv' line 4: duplicate id 'a' (first on line 2)");
	expect_bad("x.tsv", "id\tsentence\n \tx\n", "line 2: empty id");
	expect_bad("x.csv", "sentence,label\n\"open,1\nmore,0\n", "'x.csv' line 2: unterminated quoted field");
	expect_bad("x.csv", "sentence,label\n\"a\"b,1\n", "line 2: unexpected character after a closing quote");
	expect_bad("x.csv", "sentence,label\n\"multi\nline\",1\nbad,x\n", "'x.csv' line 4: label 'x'");
	expect_bad("x.csv", "sentence,label\n\"multi\nl\xfe\",1\n", "'x.csv' line 3: invalid UTF-8",
		   "column 2");
	expect_bad("x.csv", "sentence,label\na,b,1\n", "an unquoted comma");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\",\"label\":1\n",
		   "'x.jsonl' line 2:", "json");
	expect_bad("x.jsonl", "[1,2]\n", "line 1: not a JSON object");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"label\":\"pos\"}\n", "line 1: label \"pos\" is not 0 or 1");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"label\":0.5}\n", "label 0.5 is not 0 or 1");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"label\":true}\n", "label true is not 0 or 1");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\"}\n",
		   "line 2: no 'label' member");
	expect_bad("x.jsonl", "{\"text\":\"a\"}\n{\"text\":\"b\",\"label\":1}\n",
		   "line 2: has a 'label' but the first row has none");
	expect_bad("x.jsonl", "{\"label\":1}\n", "line 1: no 'text' or 'sentence' member");
	expect_bad("x.jsonl", "{\"text\":5,\"label\":1}\n", "line 1: 'text' is not a string");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"sentence\":\"b\"}\n", "has both 'text' and 'sentence'");
	expect_bad("x.jsonl", "{\"text\":\"   \",\"label\":1}\n", "line 1: empty review");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"id\":1.5}\n", "line 1: 'id' is not a string or an integer");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"id\":3}\n{\"text\":\"b\",\"id\":\"3\"}\n",
		   "line 2: duplicate id '3'");
	/* a generated id may collide with a given one */
	expect_bad("x.jsonl", "{\"text\":\"a\",\"id\":\"2\"}\n{\"text\":\"b\"}\n", "line 2: duplicate id '2'");
	expect_bad("x.jsonl", "{\"text\":\"a\\ud800\"}\n", "line 1: ", "json");
	expect_bad("x.jsonl", "{\"text\":\"a\",\"label\":1}\n\n{\"text\":\"a\",\"label\":1}\n",
		   "line 2: blank line");
}

static void test_bad_file(void **state)
{
	(void)state;
	expect_bad("e.tsv", "", "'e.tsv': no reviews");
	expect_bad("e.tsv", "\n\n", "'e.tsv': no reviews");
	expect_bad("e.tsv", "sentence\tlabel\n", "'e.tsv': no reviews", "only a header");
	expect_bad("e.csv", "sentence,label\r\n\r\n", "no reviews");
	expect_bad("e.jsonl", "", "'e.jsonl': no reviews");
	expect_bad("h.tsv", "great movie\t1\nbad\t0\n", "'h.tsv' line 1: header 'great movie\\t1' has no 'sentence'");
	expect_bad("h.tsv", "sentence\ttext\na\tb\n", "both a 'sentence' and a 'text'");
	expect_bad("h.tsv", "label\tsentence\tlabel\n", "column 'label' appears twice");
	expect_bad("h.csv", "\"sentence,label\nx,1\n", "line 1: unterminated quoted field");
}

static void test_line_cap(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_data_opts opts = SX_DATA_OPTS_INIT;
	struct sx_err err = SX_ERR_INIT;
	const char *text = "sentence\tlabel\nshort\t1\nthis line is too long\t0\nok\t0\n";

	(void)state;
	opts.max_line = 16;
	assert_int_equal(sx_data_parse("c.tsv", text, strlen(text), &opts, &ds, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "'c.tsv' line 3: line is longer than the 16 byte cap"));
	opts.skip_bad_rows = 1;
	assert_int_equal(sx_data_parse("c.tsv", text, strlen(text), &opts, &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_int_equal(ds.skipped, 1);
	sx_dataset_release(&ds);
	/* a header over the cap is fatal even when skipping */
	opts.max_line = 4;
	assert_int_equal(sx_data_parse("c.tsv", text, strlen(text), &opts, &ds, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 1: line is longer"));
	/* the default cap is SX_DATA_MAX_LINE */
	{
		struct sx_buf b = SX_BUF_INIT;

		sx_buf_adds(&b, "sentence\n");
		while (b.len <= SX_DATA_MAX_LINE + 16)
			sx_buf_adds(&b, "word ");
		sx_buf_adds(&b, "\n");
		assert_int_equal(sx_data_parse("big.tsv", b.buf, b.len, NULL, &ds, &err), SX_EINPUT);
		assert_non_null(strstr(err.msg, "line 2: line is longer than the 1048576 byte cap"));
		sx_buf_release(&b);
	}
}

static void test_skip_mode(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(parse_skip("s.tsv",
				    "sentence\tlabel\n"
				    "good\t1\n"  /* 2 */
				    "bad\tpos\n" /* 3 */
				    "\t1\n"      /* 4 */
				    "\xff\t1\n"  /* 5 */
				    "fine\t0\n"  /* 6 */
				    "x\n",       /* 7 */
				    &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_int_equal(ds.skipped, 4);
	assert_int_equal(ds.nskip_msgs, 4);
	assert_non_null(strstr(ds.skip_msgs[0], "'s.tsv' line 3: label 'pos'"));
	assert_non_null(strstr(ds.skip_msgs[1], "line 4: empty review"));
	assert_non_null(strstr(ds.skip_msgs[2], "line 5: invalid UTF-8"));
	assert_non_null(strstr(ds.skip_msgs[3], "line 7: missing column 'label'"));
	/* ids from the row number stay those of the file's rows */
	assert_string_equal(ds.reviews[0].id, "1");
	assert_string_equal(ds.reviews[1].id, "5");
	assert_string_equal(ds.reviews[1].text, "fine");
	sx_dataset_release(&ds);
	assert_null(ds.skip_msgs);

	assert_int_equal(parse_skip("s.jsonl",
				    "{\"text\":\"a\",\"label\":1,\"id\":\"x\"}\n"
				    "not json\n"
				    "{\"text\":\"b\",\"label\":1,\"id\":\"x\"}\n"
				    "{\"text\":\"c\",\"label\":0}\n",
				    &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_int_equal(ds.skipped, 2);
	assert_string_equal(ds.reviews[1].id, "4");
	sx_dataset_release(&ds);

	assert_int_equal(parse_skip("s.csv", "sentence,label\n\"a\"x,1\nb,0\n", &ds, &err), 0);
	assert_int_equal(ds.n, 1);
	assert_int_equal(ds.skipped, 1);
	sx_dataset_release(&ds);

	/* all rows bad: still an error */
	assert_int_equal(parse_skip("s.tsv", "sentence\tlabel\na\tb\n", &ds, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "'s.tsv': no reviews (the 1 bad row skipped; the first: 's.tsv' line 2"));
	/* header problems are never skipped */
	assert_int_equal(parse_skip("s.tsv", "foo\tbar\na\t1\n", &ds, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 1: header"));
}

static void test_skip_msgs_capped(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf b = SX_BUF_INIT;
	size_t i;

	(void)state;
	sx_buf_adds(&b, "sentence\tlabel\nok\t1\n");
	for (i = 0; i < SX_DATA_MAX_SKIP_MSGS + 50; i++)
		sx_buf_adds(&b, "bad\t7\n");
	assert_int_equal(parse_skip("m.tsv", b.buf, &ds, &err), 0);
	assert_int_equal(ds.skipped, SX_DATA_MAX_SKIP_MSGS + 50);
	assert_int_equal(ds.nskip_msgs, SX_DATA_MAX_SKIP_MSGS);
	sx_dataset_release(&ds);
	sx_buf_release(&b);
}

static void test_many_rows(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf b = SX_BUF_INIT;
	size_t i;

	(void)state;
	sx_buf_adds(&b, "id\tsentence\tlabel\n");
	for (i = 0; i < 100000; i++)
		sx_buf_addf(&b, "r%zu\tword %zu and more words\t%zu\n", i, i, i % 2);
	assert_int_equal(sx_data_parse("many.tsv", b.buf, b.len, NULL, &ds, &err), 0);
	assert_int_equal(ds.n, 100000);
	assert_string_equal(ds.reviews[99999].id, "r99999");
	assert_int_equal(ds.reviews[99999].gold, 1);
	sx_dataset_release(&ds);
	sx_buf_release(&b);
}

static void test_load_file(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	char path[] = "/tmp/selfexp-test-data-XXXXXX.tsv";
	const char *text = "sentence\tlabel\nhello world\t1\n";
	int fd;

	(void)state;
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(sx_data_load(path, NULL, &ds, &err), 0);
	assert_int_equal(ds.n, 1);
	assert_int_equal(ds.reviews[0].ntokens, 2);
	sx_dataset_release(&ds);
	unlink(path);
	assert_int_equal(sx_data_load(path, NULL, &ds, &err), SX_EIO);
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_int_equal(ds.n, 0);
}

static void test_stats(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_data_stats st;

	(void)state;
	/* token lengths 1, 2, 3, 4 */
	assert_int_equal(parse("s.tsv", "sentence\tlabel\na\t0\na b\t1\na b c\t1\na b c d\t1\n", &ds,
			       &err), 0);
	sx_data_stats(&ds, &st);
	assert_int_equal(st.n, 4);
	assert_int_equal(st.label_count[0], 1);
	assert_int_equal(st.label_count[1], 3);
	assert_int_equal(st.label_count[2], 0);
	assert_int_equal(st.tokens_total, 10);
	assert_int_equal(st.len_min, 1);
	assert_int_equal(st.len_max, 4);
	assert_float_equal(st.len_mean, 2.5, 1e-9);
	assert_float_equal(st.p50, 2.5, 1e-9);
	assert_float_equal(st.p25, 1.75, 1e-9);
	assert_float_equal(st.p10, 1.3, 1e-9);
	assert_float_equal(st.p99, 3.97, 1e-9);
	sx_dataset_release(&ds);
	sx_data_stats(&ds, &st);
	assert_int_equal(st.n, 0);
	assert_float_equal(st.p50, 0.0, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsv),
		cmocka_unit_test(test_tsv_columns),
		cmocka_unit_test(test_no_label_column),
		cmocka_unit_test(test_bom_crlf_trailing_blank),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_line_cap),
		cmocka_unit_test(test_skip_mode),
		cmocka_unit_test(test_skip_msgs_capped),
		cmocka_unit_test(test_many_rows),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
