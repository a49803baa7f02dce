/*
 * The recorded-answers reader (`run --answers FILE`) on arbitrary bytes: the
 * input is written to a file and loaded (sx_answers_load).
 *
 * Invariants: the load succeeds, or fails with SX_EINPUT and a message that
 * names the file and a line; the SHA-256 it reports is that of the bytes;
 * what was loaded (also the lines before a bad one) can be written
 * (sx_answers_write) and loaded back into a fresh table with the same count
 * and, written again, the same bytes.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "selfexp/answers.h"
#include "selfexp/buf.h"
#include "selfexp/hash.h"

static char path_in[64], path_out[64];

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	FUZZ_CHECK(f);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(!fclose(f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_answers *a = sx_answers_new(), *b = sx_answers_new();
	struct sx_buf out = SX_BUF_INIT, again = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	char sha[SX_SHA256_HEX_LEN + 1], want[SX_SHA256_HEX_LEN + 1];
	int rc;

	if (!path_in[0]) {
		snprintf(path_in, sizeof(path_in), "/tmp/fuzz-answers-%d.in", (int)getpid());
		snprintf(path_out, sizeof(path_out), "/tmp/fuzz-answers-%d.out", (int)getpid());
	}
	write_file(path_in, data, size);
	rc = sx_answers_load(a, path_in, sha, &err);
	FUZZ_CHECK(rc == 0 || rc == SX_EINPUT);
	if (rc) {
		FUZZ_CHECK(strstr(err.msg, path_in) && strstr(err.msg, " line "));
	} else {
		sx_sha256_hex(data, size, want);
		FUZZ_CHECK(!strcmp(sha, want));
	}
	sx_answers_write(a, NULL, &out);
	write_file(path_out, out.buf ? out.buf : "", out.len);
	FUZZ_CHECK(sx_answers_load(b, path_out, sha, &err) == 0);
	FUZZ_CHECK(sx_answers_count(b) == sx_answers_count(a));
	sx_answers_write(b, NULL, &again);
	FUZZ_CHECK(again.len == out.len && (!out.len || !memcmp(again.buf, out.buf, out.len)));
	unlink(path_in);
	unlink(path_out);
	sx_buf_release(&out);
	sx_buf_release(&again);
	sx_answers_free(a);
	sx_answers_free(b);
	return 0;
}
