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

static int parse_opts(const char *name, const char *text, const struct sx_data_opts *opts,
		      struct sx_dataset *ds, struct sx_err *err)
{
	return sx_data_parse(name, text, strlen(text), opts, ds, err);
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

/* ------------------------------------------------------------------------ */
/* Streaming: limits, files larger than the read buffer, statistics */

/* Bytes read at a time by src/data.c (its CHUNK); the tests below cross it. */
#define CHUNK (64 * 1024)

/* Write bytes[0..len) to a new temporary file with the given suffix; path gets its name. */
static void write_temp(char *path, const char *suffix, const char *bytes, size_t len)
{
	int fd;

	snprintf(path, 64, "/tmp/selfexp-test-data-XXXXXX%s", suffix);
	fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

static void test_limit_stops_early(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_data_opts opts = SX_DATA_OPTS_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf b = SX_BUF_INIT;
	char path[64];
	size_t i;

	(void)state;
	/* line 1000 is bad (and line 1001 repeats an id): only a full read sees them */
	sx_buf_adds(&b, "id\tsentence\tlabel\n");
	for (i = 2; i < 1000; i++)
		sx_buf_addf(&b, "r%zu\treview number %zu\t%zu\n", i, i, i % 2);
	sx_buf_adds(&b, "r1000\tbroken\tpos\nr2\tagain\t1\n");
	write_temp(path, ".tsv", b.buf, b.len);
	assert_int_equal(sx_data_load(path, NULL, &ds, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 1000: label 'pos' is not 0 or 1"));
	opts.max_reviews = 10;
	assert_int_equal(sx_data_load(path, &opts, &ds, &err), 0);
	assert_int_equal(ds.n, 10);
	assert_string_equal(ds.reviews[0].id, "r2");
	assert_string_equal(ds.reviews[9].id, "r11");
	assert_string_equal(ds.reviews[9].text, "review number 11");
	assert_int_equal(ds.reviews[9].line, 11);
	sx_dataset_release(&ds);
	/* the last good row is as far as a limit can go */
	opts.max_reviews = 998;
	assert_int_equal(sx_data_load(path, &opts, &ds, &err), 0);
	assert_int_equal(ds.n, 998);
	sx_dataset_release(&ds);
	opts.max_reviews = 999;
	assert_int_equal(sx_data_load(path, &opts, &ds, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 1000:"));
	/* with bad rows skipped: 999 reviews, then the duplicate id stops at 1000 */
	opts.skip_bad_rows = 1;
	opts.max_reviews = 0;
	assert_int_equal(sx_data_load(path, &opts, &ds, &err), 0);
	assert_int_equal(ds.n, 998);
	assert_int_equal(ds.skipped, 2);
	assert_non_null(strstr(ds.skip_msgs[1], "line 1001: duplicate id 'r2' (first on line 2)"));
	sx_dataset_release(&ds);
	unlink(path);
	sx_buf_release(&b);

	/* the same in memory and in the other formats; a limit over the count is no limit */
	opts.skip_bad_rows = 0;
	opts.max_reviews = 2;
	assert_int_equal(parse_opts("l.csv", "text\na\n\"b\nc\"\nd\n\"open\n", &opts, &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_string_equal(ds.reviews[1].text, "b\nc");
	sx_dataset_release(&ds);
	assert_int_equal(parse_opts("l.jsonl", "{\"text\":\"a\"}\n{\"text\":\"b\"}\nnot json\n", &opts, &ds,
				    &err), 0);
	assert_int_equal(ds.n, 2);
	sx_dataset_release(&ds);
	opts.max_reviews = 5;
	assert_int_equal(parse_opts("l.tsv", "sentence\na\nb\n", &opts, &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	sx_dataset_release(&ds);
}

static void test_stream_big_file(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf b = SX_BUF_INIT, longtext = SX_BUF_INIT;
	char path[64];
	size_t i, n = 0;

	(void)state;
	/* about 5 MB, 80 chunks, with one review of 200 KB (3 chunks) in the middle
	 * and CRLF line ends: every kind of line split lands on some boundary */
	while (longtext.len < 200 * 1024)
		sx_buf_addf(&longtext, "w%zu ", longtext.len);
	sx_buf_adds(&b, "sentence\tlabel\r\n");
	while (b.len < 5 * 1024 * 1024) {
		if (n == 30000)
			sx_buf_addf(&b, "%s\t1\r\n", longtext.buf);
		else
			sx_buf_addf(&b, "review %zu with a few more words %zu\t%zu\r\n", n, n, n % 2);
		n++;
	}
	write_temp(path, ".tsv", b.buf, b.len);
	assert_int_equal(sx_data_load(path, NULL, &ds, &err), 0);
	assert_int_equal(ds.n, n);
	for (i = 0; i < n; i++) {
		char want[96];

		if (i == 30000)
			continue;
		snprintf(want, sizeof(want), "review %zu with a few more words %zu", i, i);
		if (strcmp(ds.reviews[i].text, want))
			fail_msg("review %zu is '%s', not '%s'", i, ds.reviews[i].text, want);
		assert_int_equal(ds.reviews[i].line, i + 2);
		assert_int_equal(ds.reviews[i].gold, (int)(i % 2));
	}
	assert_string_equal(ds.reviews[30000].text, longtext.buf);
	assert_int_equal(ds.reviews[30000].gold, 1);
	sx_dataset_release(&ds);
	unlink(path);
	sx_buf_release(&b);
	sx_buf_release(&longtext);
}

/* A CSV file whose quoted field (with a line break, a doubled quote and a
 * CRLF) starts at each offset around the first chunk boundary. */
static void test_csv_across_chunks(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf b = SX_BUF_INIT;
	const char *field = "\"one\r\ntwo \"\"q\"\" three\nfour\"";
	size_t shift, pad, k;

	(void)state;
	for (shift = 0; shift < 40; shift++) {
		char path[64];
		int fromfile = shift % 2;

		sx_buf_reset(&b);
		sx_buf_adds(&b, "id,text,label\r\n");
		/* filler rows, then one of the right length to put the field at CHUNK - 20 + shift */
		for (k = 0; b.len + 200 < CHUNK - 20; k++)
			sx_buf_addf(&b, "f%zu,filler row of some length,0\r\n", k);
		pad = CHUNK - 20 + shift - b.len - strlen("p,,1\r\nx,");
		sx_buf_adds(&b, "p,");
		while (pad--)
			sx_buf_addch(&b, 'a');
		sx_buf_adds(&b, ",1\r\nx,");
		assert_int_equal(b.len, CHUNK - 20 + shift);
		sx_buf_adds(&b, field);
		sx_buf_adds(&b, ",1\r\nlast,\"end\"\"\",0\r\n");
		if (fromfile) {
			write_temp(path, ".csv", b.buf, b.len);
			assert_int_equal(sx_data_load(path, NULL, &ds, &err), 0);
			unlink(path);
		} else {
			assert_int_equal(sx_data_parse("x.csv", b.buf, b.len, NULL, &ds, &err), 0);
		}
		assert_true(ds.n >= 3);
		assert_string_equal(ds.reviews[ds.n - 2].id, "x");
		assert_string_equal(ds.reviews[ds.n - 2].text, "one\r\ntwo \"q\" three\nfour");
		assert_int_equal(ds.reviews[ds.n - 2].ntokens, 5);
		assert_string_equal(ds.reviews[ds.n - 1].text, "end\"");
		/* the row after the field starts 3 lines further down */
		assert_int_equal(ds.reviews[ds.n - 1].line, ds.reviews[ds.n - 2].line + 3);
		sx_dataset_release(&ds);
	}
	/* left open across the boundary: the line where the record started */
	sx_buf_reset(&b);
	sx_buf_adds(&b, "text\n");
	while (b.len < CHUNK - 3)
		sx_buf_adds(&b, "x\n");
	sx_buf_adds(&b, "\"open\nstill open\n\n   \n");
	expect_bad_n("o.csv", b.buf, b.len, "unterminated quoted field", (char *)NULL);
	{
		char want[64];

		snprintf(want, sizeof(want), "line %zu: unterminated", (b.len - 22 - 5) / 2 + 2);
		expect_bad_n("o.csv", b.buf, b.len, want, (char *)NULL);
	}
	sx_buf_release(&b);
}

/* Blank lines at the end are allowed wherever the buffer ends; in the middle they are bad rows. */
static void test_blank_lines_held_back(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf b = SX_BUF_INIT;
	size_t i;

	(void)state;
	sx_buf_adds(&b, "sentence\tlabel\nok\t1\n");
	for (i = 0; i < CHUNK; i++)
		sx_buf_adds(&b, i % 2 ? " \n" : "\r\n");
	assert_int_equal(sx_data_parse("b.tsv", b.buf, b.len, NULL, &ds, &err), 0);
	assert_int_equal(ds.n, 1);
	sx_dataset_release(&ds);
	/* a row after them makes the first of them a bad row */
	sx_buf_adds(&b, "more\t0\n");
	expect_bad_n("b.tsv", b.buf, b.len, "'b.tsv' line 3: blank line", (char *)NULL);
	assert_int_equal(parse_skip("b.tsv", b.buf, &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_int_equal(ds.skipped, CHUNK);
	assert_int_equal(ds.nskip_msgs, SX_DATA_MAX_SKIP_MSGS);
	assert_non_null(strstr(ds.skip_msgs[0], "line 3: blank line"));
	sx_dataset_release(&ds);
	/* skipped rows before blank lines that end the file stay counted; the blank ones do not */
	assert_int_equal(parse_skip("b.jsonl", "{\"text\":\"a\"}\nbad\n\n \n\t\n", &ds, &err), 0);
	assert_int_equal(ds.skipped, 1);
	assert_int_equal(ds.nskip_msgs, 1);
	sx_dataset_release(&ds);
	/* a blank header is only an error when something follows it */
	expect_bad("b.tsv", "  \n\n", "no reviews (the file holds only white space)");
	expect_bad("b.csv", "\nsentence\nx\n", "'b.csv' line 1: header '' has no 'sentence'");
	sx_buf_release(&b);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* Percentile q of sorted x[0..n) by R's type 7, computed the textbook way. */
static double type7(const size_t *x, size_t n, double q)
{
	double h = (double)(n - 1) * q;
	size_t lo = (size_t)h;

	return lo + 1 >= n ? (double)x[n - 1] : (double)x[lo] + (h - (double)lo) * (double)(x[lo + 1] - x[lo]);
}

static void test_stats_file(void **state)
{
	struct sx_dataset ds = SX_DATASET_INIT, info = SX_DATASET_INIT;
	struct sx_data_opts opts = SX_DATA_OPTS_INIT;
	struct sx_err err = SX_ERR_INIT, err2 = SX_ERR_INIT;
	struct sx_data_stats st, whole;
	struct sx_buf b = SX_BUF_INIT;
	size_t *len, n = 0, i, k, total = 0, count[2] = { 0, 0 };
	unsigned seed = 7;
	const char *text;
	char path[64];

	(void)state;
	len = calloc(40000, sizeof(*len));
	assert_non_null(len);
	sx_buf_adds(&b, "id\tsentence\tlabel\n");
	for (i = 0; i < 40000; i++) {
		seed = seed * 1103515245u + 12345u;
		len[n] = 1 + (seed >> 16) % 60;
		sx_buf_addf(&b, "%zu\t", i);
		for (k = 0; k < len[n]; k++)
			sx_buf_adds(&b, k ? "  w" : "w");
		sx_buf_addf(&b, "\t%u\n", (seed >> 8) & 1);
		total += len[n];
		count[(seed >> 8) & 1]++;
		n++;
		if (i % 1000 == 999)
			sx_buf_adds(&b, "bad row\n");
	}
	write_temp(path, ".tsv", b.buf, b.len);
	/* a bad row fails both in the same way */
	assert_int_equal(sx_data_stats_file(path, &opts, &st, &info, &err), SX_EINPUT);
	assert_int_equal(sx_data_load(path, &opts, &ds, &err2), SX_EINPUT);
	assert_string_equal(err.msg, err2.msg);
	assert_int_equal(st.n, 0);
	assert_int_equal(info.n, 0);
	opts.skip_bad_rows = 1;
	assert_int_equal(sx_data_stats_file(path, &opts, &st, &info, &err), 0);
	assert_int_equal(sx_data_load(path, &opts, &ds, &err), 0);
	sx_data_stats(&ds, &whole);
	assert_int_equal(info.n, 0);
	assert_null(info.reviews);
	assert_int_equal(info.format, SX_DATA_TSV);
	assert_true(info.labelled);
	assert_int_equal(info.skipped, 40);
	assert_int_equal(info.nskip_msgs, 40);
	assert_string_equal(info.skip_msgs[39], ds.skip_msgs[39]);
	/* against the rows as generated, and against the loaded data set */
	qsort(len, n, sizeof(*len), cmp_size);
	assert_int_equal(st.n, n);
	assert_int_equal(st.skipped, 40);
	assert_int_equal(st.label_count[0], count[0]);
	assert_int_equal(st.label_count[1], count[1]);
	assert_int_equal(st.label_count[2], 0);
	assert_int_equal(st.tokens_total, total);
	assert_int_equal(st.len_min, len[0]);
	assert_int_equal(st.len_max, len[n - 1]);
	assert_float_equal(st.len_mean, (double)total / (double)n, 1e-9);
	assert_float_equal(st.p10, type7(len, n, 0.10), 1e-9);
	assert_float_equal(st.p25, type7(len, n, 0.25), 1e-9);
	assert_float_equal(st.p50, type7(len, n, 0.50), 1e-9);
	assert_float_equal(st.p75, type7(len, n, 0.75), 1e-9);
	assert_float_equal(st.p90, type7(len, n, 0.90), 1e-9);
	assert_float_equal(st.p99, type7(len, n, 0.99), 1e-9);
	assert_int_equal(whole.n, st.n);
	assert_int_equal(whole.tokens_total, st.tokens_total);
	assert_float_equal(whole.p99, st.p99, 1e-9);
	assert_float_equal(whole.p10, st.p10, 1e-9);
	sx_dataset_release(&info);
	sx_dataset_release(&ds);
	/* a limit counts the first reviews only */
	opts.max_reviews = 3;
	assert_int_equal(sx_data_stats_file(path, &opts, &st, &info, &err), 0);
	assert_int_equal(st.n, 3);
	sx_dataset_release(&info);
	unlink(path);
	assert_int_equal(sx_data_stats_file(path, &opts, &st, &info, &err), SX_EIO);
	assert_non_null(strstr(err.msg, "cannot read"));
	/* in memory, unlabelled */
	text = "{\"text\":\"a b\"}\n{\"text\":\"c\",\"id\":9}\n";
	assert_int_equal(sx_data_stats_parse("m.jsonl", text, strlen(text), NULL, &st, &info, &err), 0);
	assert_int_equal(st.n, 2);
	assert_int_equal(st.label_count[2], 2);
	assert_float_equal(st.p50, 1.5, 1e-9);
	assert_false(info.labelled);
	sx_dataset_release(&info);
	text = "{\"text\":\"a\",\"id\":1}\n{\"text\":\"b\",\"id\":\"1\"}\n";
	assert_int_equal(sx_data_stats_parse("m.jsonl", text, strlen(text), NULL, &st, &info, &err),
			 SX_EINPUT);
	assert_non_null(strstr(err.msg, "line 2: duplicate id '1' (first on line 1)"));
	free(len);
	sx_buf_release(&b);
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
		cmocka_unit_test(test_limit_stops_early),
		cmocka_unit_test(test_stream_big_file),
		cmocka_unit_test(test_csv_across_chunks),
		cmocka_unit_test(test_blank_lines_held_back),
		cmocka_unit_test(test_stats_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
