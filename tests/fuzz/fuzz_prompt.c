/*
 * sx_prompt_parse on arbitrary template text, then sx_prompt_render of the
 * parsed template with a review taken from the input.
 *
 * Invariants: success leaves system and user set, a 64-hex-digit hash that
 * is the SHA-256 of the input; the user part contains {review}, so the
 * rendered user message contains the review; failure is SX_EINPUT with a
 * message. A second parse into the same struct (what a reload does) must not
 * leak.
 */
#include <string.h>

#include "fuzz.h"
#include "selfexp/buf.h"
#include "selfexp/hash.h"
#include "selfexp/prompt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_prompt p = SX_PROMPT_INIT;
	struct sx_err err = SX_ERR_INIT;
	char hex[SX_SHA256_HEX_LEN + 1];
	enum sx_cond cond;
	char *text;
	int rc;

	if (size < 1)
		return 0;
	cond = (enum sx_cond)(data[0] % SX_COND_COUNT);
	text = fuzz_dup(data + 1, size - 1);
	rc = sx_prompt_parse(&p, cond, "fuzz", text, size - 1, &err);
	if (rc < 0) {
		FUZZ_CHECK(rc == SX_EINPUT);
		FUZZ_CHECK(err.msg[0] != '\0');
	} else {
		struct sx_buf sys = SX_BUF_INIT, user = SX_BUF_INIT;
		static const char review[] = "a \xc3\xa9 {review} {k} {n} review";

		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(p.cond == cond && p.system && p.user);
		FUZZ_CHECK(strstr(p.user, "{review}") != NULL);
		sx_sha256_hex(text, size - 1, hex);
		FUZZ_CHECK(strcmp(hex, p.hash) == 0);
		sx_prompt_render(&p, review, 6, &sys, &user);
		FUZZ_CHECK(strstr(user.buf, review) != NULL);
		FUZZ_CHECK(strlen(sys.buf) == sys.len && strlen(user.buf) == user.len);
		sx_buf_release(&sys);
		sx_buf_release(&user);
		/* parsing again over a filled struct replaces it */
		FUZZ_CHECK(sx_prompt_parse(&p, cond, "fuzz", text, size - 1, &err) == 0);
	}
	sx_prompt_release(&p);
	free(text);
	return 0;
}
