/*
 * sx_data_parse on arbitrary bytes, in all three formats. The first byte
 * chooses the format (bits 0-1: tsv, jsonl, csv, auto from the name), whether
 * bad rows are skipped (bit 2) and a small line cap (bits 3-5: 0 = default,
 * else 8 << n bytes); the rest is the file.
 *
 * Invariants: a load either fails with SX_EINPUT and an empty data set and a
 * message, or succeeds with n >= 1 reviews, each with a non-empty id and
 * text, at least one token, tokens without ASCII whitespace, gold in
 * {-1, 0, 1} agreeing with ds.labelled, ids unique, and skipped counts
 * consistent with the kept messages (and 0 unless skip_bad_rows). The
 * streamed statistics (sx_data_stats_parse) give the same code, message and
 * numbers as sx_data_stats on the loaded set, and a load with max_reviews
 * gives the first reviews of the full one.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "selfexp/data.h"

static const char *const names[] = { "fuzz.tsv", "fuzz.jsonl", "fuzz.csv", "fuzz.tsv" };
static const enum sx_data_format formats[] = { SX_DATA_TSV, SX_DATA_JSONL, SX_DATA_CSV,
					       SX_DATA_AUTO };

static int has_ws(const char *s)
{
	for (; *s; s++)
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_data_opts opts = SX_DATA_OPTS_INIT;
	struct sx_dataset ds = SX_DATASET_INIT;
	struct sx_err err = SX_ERR_INIT;
	unsigned ctl;
	char *bytes;
	size_t i, j, len;
	int rc;

	if (size < 1)
		return 0;
	ctl = data[0];
	opts.format = formats[ctl & 3];
	opts.skip_bad_rows = (ctl >> 2) & 1;
	opts.max_line = (ctl >> 3) & 7 ? (size_t)8 << ((ctl >> 3) & 7) : 0;
	len = size - 1;
	bytes = fuzz_dup(data + 1, len);

	rc = sx_data_parse(names[ctl & 3], bytes, len, &opts, &ds, &err);
	{
		struct sx_dataset info;
		struct sx_data_stats st, whole;
		struct sx_err serr = SX_ERR_INIT;

		FUZZ_CHECK(sx_data_stats_parse(names[ctl & 3], bytes, len, &opts, &st, &info, &serr) ==
			   rc);
		FUZZ_CHECK(!strcmp(serr.msg, err.msg));
		FUZZ_CHECK(info.n == 0 && info.reviews == NULL);
		if (rc == 0) {
			sx_data_stats(&ds, &whole);
			FUZZ_CHECK(st.n == whole.n && st.tokens_total == whole.tokens_total);
			FUZZ_CHECK(st.len_min == whole.len_min && st.len_max == whole.len_max);
			FUZZ_CHECK(fabs(st.p10 - whole.p10) < 1e-9 && fabs(st.p99 - whole.p99) < 1e-9);
			FUZZ_CHECK(info.skipped == ds.skipped && info.nskip_msgs == ds.nskip_msgs);
		}
		sx_dataset_release(&info);
	}
	if (rc == 0 && ds.n > 1) {
		struct sx_dataset part;
		struct sx_err perr = SX_ERR_INIT;

		opts.max_reviews = 1 + (size_t)data[0] % ds.n;
		FUZZ_CHECK(sx_data_parse(names[ctl & 3], bytes, len, &opts, &part, &perr) == 0);
		FUZZ_CHECK(part.n == opts.max_reviews && part.skipped <= ds.skipped);
		for (i = 0; i < part.n; i++)
			FUZZ_CHECK(!strcmp(part.reviews[i].id, ds.reviews[i].id) &&
				   !strcmp(part.reviews[i].text, ds.reviews[i].text) &&
				   part.reviews[i].line == ds.reviews[i].line);
		sx_dataset_release(&part);
		opts.max_reviews = 0;
	}
	if (rc < 0) {
		FUZZ_CHECK(rc == SX_EINPUT);
		FUZZ_CHECK(err.msg[0] != '\0');
		FUZZ_CHECK(ds.n == 0 && ds.reviews == NULL);
	} else {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(ds.n >= 1);
		FUZZ_CHECK(ds.format == SX_DATA_TSV || ds.format == SX_DATA_JSONL ||
			   ds.format == SX_DATA_CSV);
		if (opts.format != SX_DATA_AUTO)
			FUZZ_CHECK(ds.format == opts.format);
		FUZZ_CHECK(opts.skip_bad_rows || ds.skipped == 0);
		FUZZ_CHECK(ds.nskip_msgs <= ds.skipped);
		FUZZ_CHECK(ds.nskip_msgs <= SX_DATA_MAX_SKIP_MSGS);
		for (i = 0; i < ds.nskip_msgs; i++)
			FUZZ_CHECK(ds.skip_msgs[i] && ds.skip_msgs[i][0]);
		for (i = 0; i < ds.n; i++) {
			const struct sx_review *r = &ds.reviews[i];

			FUZZ_CHECK(r->id && r->id[0]);
			FUZZ_CHECK(r->text && r->text[0]);
			FUZZ_CHECK(r->ntokens >= 1 && r->tokens);
			FUZZ_CHECK(r->line >= 1);
			FUZZ_CHECK(ds.labelled ? (r->gold == 0 || r->gold == 1) : r->gold == -1);
			for (j = 0; j < r->ntokens; j++) {
				FUZZ_CHECK(r->tokens[j] && r->tokens[j][0]);
				FUZZ_CHECK(!has_ws(r->tokens[j]));
			}
			if (ds.n <= 512) /* quadratic: keep it for small sets */
				for (j = 0; j < i; j++)
					FUZZ_CHECK(strcmp(ds.reviews[j].id, r->id) != 0);
		}
	}
	sx_dataset_release(&ds);
	FUZZ_CHECK(ds.n == 0 && ds.reviews == NULL);
	free(bytes);
	return 0;
}
