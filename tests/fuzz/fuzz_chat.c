/*
 * The chat-completion wire format on arbitrary bytes: sx_chat_decode (a
 * response body), sx_chat_error_message (an error body) and
 * sx_chat_request_canonical (an imported request body).
 *
 * Invariants: decode either fails with SX_EINPUT and a message, or gives a
 * content string, token counts >= -1, label logprobs that are NaN or <= 0
 * (log probabilities, also when several spellings are summed); a decoded answer copies (sx_chat_answer_copy) to an
 * equal one. An error message is at most 512 bytes without control
 * characters. Canonicalisation is idempotent: canonical(canonical(x)) ==
 * canonical(x), byte for byte.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "selfexp/buf.h"
#include "selfexp/chat.h"

static int same_double(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_chat_answer a = SX_CHAT_ANSWER_INIT, b = SX_CHAT_ANSWER_INIT;
	struct sx_buf c1 = SX_BUF_INIT, c2 = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	char *body = fuzz_dup(data, size), *msg;
	int rc;

	rc = sx_chat_decode(body, size, &a, &err);
	if (rc < 0) {
		FUZZ_CHECK(rc == SX_EINPUT);
		FUZZ_CHECK(err.msg[0] != '\0');
	} else {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(a.content != NULL);
		FUZZ_CHECK(a.prompt_tokens >= -1 && a.completion_tokens >= -1);
		FUZZ_CHECK(isnan(a.logprob_0) || a.logprob_0 <= 0.0);
		FUZZ_CHECK(isnan(a.logprob_1) || a.logprob_1 <= 0.0);
		sx_chat_answer_copy(&b, &a);
		FUZZ_CHECK(b.content != a.content && strcmp(b.content, a.content) == 0);
		FUZZ_CHECK((!a.finish_reason && !b.finish_reason) ||
			   (a.finish_reason && b.finish_reason &&
			    strcmp(a.finish_reason, b.finish_reason) == 0));
		FUZZ_CHECK(a.prompt_tokens == b.prompt_tokens);
		FUZZ_CHECK(a.completion_tokens == b.completion_tokens);
		FUZZ_CHECK(same_double(a.logprob_0, b.logprob_0));
		FUZZ_CHECK(same_double(a.logprob_1, b.logprob_1));
		sx_chat_answer_release(&b);
	}
	sx_chat_answer_release(&a);

	msg = sx_chat_error_message(body, size);
	if (msg) {
		size_t i, n = strlen(msg);

		FUZZ_CHECK(n <= 512);
		for (i = 0; i < n; i++)
			FUZZ_CHECK((unsigned char)msg[i] >= 0x20 && msg[i] != 0x7f);
		free(msg);
	}

	if (sx_chat_request_canonical(body, size, &c1, &err) == 0) {
		FUZZ_CHECK(sx_chat_request_canonical(c1.buf, c1.len, &c2, &err) == 0);
		if (c1.len != c2.len || memcmp(c1.buf, c2.buf, c1.len) != 0)
			fprintf(stderr, "canonical form is not stable:\n%s\n%s\n", c1.buf, c2.buf);
		FUZZ_CHECK(c1.len == c2.len && memcmp(c1.buf, c2.buf, c1.len) == 0);
	}
	sx_buf_release(&c1);
	sx_buf_release(&c2);
	free(body);
	return 0;
}
