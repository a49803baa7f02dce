#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/chat.h"
#include "selfexp/json.h"

static void test_request_body(void **state)
{
	struct sx_gen_params gp = SX_GEN_PARAMS_INIT;
	struct sx_buf b = SX_BUF_INIT, c = SX_BUF_INIT;

	(void)state;
	sx_chat_request_body(&gp, "sys \"q\"\n", "<review> a b <review>", &b);
	assert_string_equal(b.buf,
			    "{\"model\":\"gpt-3.5-turbo\",\"messages\":[{\"role\":\"system\",\"content\":"
			    "\"sys \\\"q\\\"\\n\"},{\"role\":\"user\",\"content\":\"<review> a b "
			    "<review>\"}],\"temperature\":0,\"top_p\":1,\"max_tokens\":1024}");
	/* the canonical form of a canonical body is itself */
	assert_int_equal(sx_chat_request_canonical(b.buf, b.len, &c, NULL), 0);
	assert_string_equal(c.buf, b.buf);

	sx_buf_reset(&b);
	sx_buf_reset(&c);
	gp.temperature = 0.7;
	gp.top_p = 0.95;
	gp.max_tokens = 16;
	gp.logprobs = 1;
	gp.top_logprobs = 5;
	gp.seed = 42;
	sx_chat_request_body(&gp, NULL, "u", &b);
	assert_string_equal(b.buf, "{\"model\":\"gpt-3.5-turbo\",\"messages\":[{\"role\":\"user\","
				   "\"content\":\"u\"}],\"temperature\":0.7,\"top_p\":0.95,"
				   "\"max_tokens\":16,\"logprobs\":true,\"top_logprobs\":5,"
				   "\"seed\":42}");
	assert_int_equal(sx_chat_request_canonical(b.buf, b.len, &c, NULL), 0);
	assert_string_equal(c.buf, b.buf);
	sx_buf_release(&b);
	sx_buf_release(&c);
}

static void test_request_canonical(void **state)
{
	static const char in[] =
		" {\"seed\": 3, \"zeta\": [1, 2.50], \"stream\": false, \"max_tokens\": 1.0e1,"
		" \"messages\": [{\"content\": \"hi\\u00e9\", \"role\": \"user\", \"name\": \"x\"}],"
		" \"temperature\": 0.0, \"model\": \"m\"}\n";
	struct sx_buf c = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;

	(void)state;
	assert_int_equal(sx_chat_request_canonical(in, strlen(in), &c, NULL), 0);
	assert_string_equal(c.buf, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
				   "\"hi\xc3\xa9\",\"name\":\"x\"}],\"temperature\":0,"
				   "\"max_tokens\":10,\"seed\":3,\"stream\":false,"
				   "\"zeta\":[1,2.5]}");
	sx_buf_reset(&c);
	assert_int_equal(sx_chat_request_canonical("[1]", 3, &c, &err), SX_EINPUT);
	assert_int_equal(sx_chat_request_canonical("{\"model\":\"m\"}", 13, &c, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "messages"));
	assert_int_equal(sx_chat_request_canonical("{\"mod", 5, &c, &err), SX_EINPUT);
	sx_buf_release(&c);
}

static int decode(const char *body, struct sx_chat_answer *a, struct sx_err *err)
{
	return sx_chat_decode(body, strlen(body), a, err);
}

static void test_decode_ok(void **state)
{
	static const char body[] =
		"{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
		"\"message\":{\"role\":\"assistant\",\"content\":\"(1, 0.9)\\n[('a', 0.1)]\"},"
		"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
		"\"completion_tokens\":7,\"total_tokens\":19}}";
	struct sx_chat_answer a = SX_CHAT_ANSWER_INIT;

	(void)state;
	assert_true(isnan(a.logprob_0));
	assert_int_equal(decode(body, &a, NULL), 0);
	assert_string_equal(a.content, "(1, 0.9)\n[('a', 0.1)]");
	assert_string_equal(a.finish_reason, "stop");
	assert_int_equal(a.prompt_tokens, 12);
	assert_int_equal(a.completion_tokens, 7);
	assert_true(isnan(a.logprob_0));
	assert_true(isnan(a.logprob_1));
	sx_chat_answer_release(&a);

	/* no usage, null finish_reason */
	assert_int_equal(decode("{\"choices\":[{\"message\":{\"content\":\"\"},"
				"\"finish_reason\":null}]}", &a, NULL), 0);
	assert_string_equal(a.content, "");
	assert_null(a.finish_reason);
	assert_int_equal(a.prompt_tokens, -1);
	assert_int_equal(a.completion_tokens, -1);
	assert_null(a.model);
	sx_chat_answer_release(&a);
}

/* The "model" an answer names: kept, capped at SX_CHAT_MODEL_MAX bytes on a character boundary. */
static void test_decode_model(void **state)
{
	struct sx_chat_answer a = SX_CHAT_ANSWER_INIT;
	struct sx_buf b = SX_BUF_INIT;
	size_t i;

	(void)state;
	assert_int_equal(decode("{\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"message\":"
				"{\"content\":\"x\"}}]}", &a, NULL), 0);
	assert_string_equal(a.model, "gpt-4o-2024-08-06");
	sx_chat_answer_release(&a);
	assert_int_equal(decode("{\"model\":\"\",\"choices\":[{\"message\":{\"content\":\"x\"}}]}",
				&a, NULL), 0);
	assert_null(a.model);
	sx_chat_answer_release(&a);
	/* 95 ASCII bytes and a 2-byte character across the cap: the character is left out */
	sx_buf_adds(&b, "{\"model\":\"");
	for (i = 0; i < SX_CHAT_MODEL_MAX - 1; i++)
		sx_buf_addch(&b, 'm');
	sx_buf_adds(&b, "\u00e9tail\",\"choices\":[{\"message\":{\"content\":\"x\"}}]}");
	assert_int_equal(sx_chat_decode(b.buf, b.len, &a, NULL), 0);
	assert_int_equal(strlen(a.model), SX_CHAT_MODEL_MAX - 1);
	assert_true(a.model[SX_CHAT_MODEL_MAX - 2] == 'm');
	sx_chat_answer_release(&a);
	sx_buf_release(&b);
}

static void test_decode_logprobs(void **state)
{
	static const char body[] =
		"{\"choices\":[{\"message\":{\"content\":\"(1, 0.8)\"},\"finish_reason\":\"stop\","
		"\"logprobs\":{\"content\":["
		"{\"token\":\"(\",\"logprob\":-0.01,\"top_logprobs\":[{\"token\":\"(\",\"logprob\":-0.01}]},"
		"{\"token\":\"1\",\"logprob\":-0.2,\"top_logprobs\":["
		"{\"token\":\"1\",\"logprob\":-0.2},{\"token\":\"0\",\"logprob\":-1.8},"
		"{\"token\":\" 1\",\"logprob\":-4.0},{\"token\":\"I\",\"logprob\":-6}]},"
		"{\"token\":\",\",\"logprob\":0,\"top_logprobs\":[]},"
		"{\"token\":\"0\",\"logprob\":-3,\"top_logprobs\":[]}]}}]}";
	struct sx_chat_answer a = SX_CHAT_ANSWER_INIT, b;

	(void)state;
	assert_int_equal(decode(body, &a, NULL), 0);
	assert_float_equal(a.logprob_0, -1.8, 1e-12);
	assert_float_equal(a.logprob_1, log(exp(-0.2) + exp(-4.0)), 1e-12);
	sx_chat_answer_copy(&b, &a);
	assert_ptr_not_equal(b.content, a.content);
	assert_string_equal(b.content, a.content);
	sx_chat_answer_release(&a);
	sx_chat_answer_release(&b);

	/* label token without alternatives: its own logprob, the other NAN */
	assert_int_equal(decode("{\"choices\":[{\"message\":{\"content\":\"0\"},\"logprobs\":"
				"{\"content\":[{\"token\":\"0\",\"logprob\":-0.5}]}}]}", &a, NULL), 0);
	assert_float_equal(a.logprob_0, -0.5, 1e-12);
	assert_true(isnan(a.logprob_1));
	sx_chat_answer_release(&a);
}

/*
 * Label logprobs are log probabilities: a "logprob" above 0 is ignored, a sum
 * of spellings a rounding hair over probability 1 is 0, a sum clearly over 1
 * is unknown (NAN), never a positive log probability (found by fuzz_chat).
 */
static void test_decode_logprobs_bounded(void **state)
{
	struct sx_chat_answer a = SX_CHAT_ANSWER_INIT;

	(void)state;
	/* "1": -0.0 and " 1": -20 (rounded by the API): a hair over 1 */
	assert_int_equal(decode("{\"choices\":[{\"message\":{\"content\":\"1\"},\"logprobs\":"
				"{\"content\":[{\"token\":\"1\",\"logprob\":-0.0,\"top_logprobs\":["
				"{\"token\":\"1\",\"logprob\":-0.0},{\"token\":\" 1\",\"logprob\":-20},"
				"{\"token\":\"0\",\"logprob\":-25}]}]}}]}", &a, NULL), 0);
	assert_true(a.logprob_1 == 0.0);
	assert_float_equal(a.logprob_0, -25.0, 1e-12);
	sx_chat_answer_release(&a);
	/* "1": -0.1 and " 1": -0.0 add up to 1.9: not a distribution */
	assert_int_equal(decode("{\"choices\":[{\"message\":{\"content\":\"1\"},\"logprobs\":"
				"{\"content\":[{\"token\":\"1\",\"logprob\":-0.1,\"top_logprobs\":["
				"{\"token\":\"1\",\"logprob\":-0.1},{\"token\":\" 1\",\"logprob\":-0.0},"
				"{\"token\":\"0\",\"logprob\":-2.4}]}]}}]}", &a, NULL), 0);
	assert_true(isnan(a.logprob_1));
	assert_float_equal(a.logprob_0, -2.4, 1e-12);
	sx_chat_answer_release(&a);
	/* a positive logprob is not one */
	assert_int_equal(decode("{\"choices\":[{\"message\":{\"content\":\"0\"},\"logprobs\":"
				"{\"content\":[{\"token\":\"0\",\"logprob\":3.5,\"top_logprobs\":["
				"{\"token\":\"1\",\"logprob\":7}]}]}}]}", &a, NULL), 0);
	assert_true(isnan(a.logprob_0));
	assert_true(isnan(a.logprob_1));
	sx_chat_answer_release(&a);
}

static void test_decode_refuses(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"{\"choices\":[{\"message\":{\"content\":\"trunc",
		"[]",
		"{}",
		"{\"choices\":{}}",
		"{\"choices\":[]}",
		"{\"choices\":[{\"text\":\"x\"}]}",
		"{\"choices\":[{\"message\":{\"content\":null}}]}",
		"{\"choices\":[{\"message\":{\"content\":5}}]}",
		"{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}",
		"{\"choices\":[{\"message\":{\"content\":\"x\"}}]} trailing",
	};
	struct sx_chat_answer a = SX_CHAT_ANSWER_INIT;
	struct sx_err err = SX_ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		assert_int_equal(decode(bad[i], &a, &err), SX_EINPUT);
		assert_true(err.msg[0] != '\0');
		assert_null(a.content);
	}
	assert_int_equal(decode(bad[10], &a, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "boom"));
	assert_int_equal(decode(bad[6], &a, &err), SX_EINPUT);
	assert_non_null(strstr(err.msg, "empty"));
}

/* 200s that hold no answer of the model decode, and sx_chat_withheld says why */
static void test_withheld(void **state)
{
	static const struct {
		const char *body;
		enum sx_chat_withheld want;
	} cases[] = {
		{ "{\"choices\":[{\"message\":{\"content\":null},\"finish_reason\":\"content_filter\"}]}",
		  SX_CHAT_FILTERED },
		{ "{\"choices\":[{\"message\":{},\"finish_reason\":\"content_filter\"}]}",
		  SX_CHAT_FILTERED },
		{ "{\"choices\":[{\"message\":{\"content\":\"(1, 0\"},\"finish_reason\":\"content_filter\"}]}",
		  SX_CHAT_FILTERED },
		{ "{\"choices\":[{\"message\":{\"content\":\"\"},\"finish_reason\":\"length\"}]}",
		  SX_CHAT_CUT_EMPTY },
		{ "{\"choices\":[{\"message\":{\"content\":\" \\n\"},\"finish_reason\":\"length\"}]}",
		  SX_CHAT_CUT_EMPTY },
		{ "{\"choices\":[{\"message\":{\"content\":null},\"finish_reason\":\"length\"}]}",
		  SX_CHAT_CUT_EMPTY },
		/* a list cut at the cap is the model's answer: parsed for what survives */
		{ "{\"choices\":[{\"message\":{\"content\":\"(1, 0.9) [('a', 0.\"},\"finish_reason\":\"length\"}]}",
		  SX_CHAT_ANSWERED },
		{ "{\"choices\":[{\"message\":{\"content\":\"\"},\"finish_reason\":\"stop\"}]}",
		  SX_CHAT_ANSWERED },
		{ "{\"choices\":[{\"message\":{\"content\":\"(1, 0.9)\"}}]}", SX_CHAT_ANSWERED },
	};
	struct sx_chat_answer a = SX_CHAT_ANSWER_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(decode(cases[i].body, &a, NULL), 0);
		assert_int_equal(sx_chat_withheld(&a), cases[i].want);
		sx_chat_answer_release(&a);
	}
	/* a null content is still refused when nothing explains it */
	assert_int_equal(decode("{\"choices\":[{\"message\":{\"content\":null},\"finish_reason\":\"stop\"}]}",
				&a, NULL), SX_EINPUT);
}

static void test_error_is(void **state)
{
	static const char quota[] = "{\"error\":{\"message\":\"You exceeded your current quota\","
				    "\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}";
	static const char typed[] = "{\"error\":{\"message\":\"x\",\"type\":\"insufficient_quota\"}}";
	static const char rate[] = "{\"error\":{\"message\":\"insufficient_quota\","
				   "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}";

	(void)state;
	assert_true(sx_chat_error_is(quota, strlen(quota), "insufficient_quota"));
	assert_true(sx_chat_error_is(typed, strlen(typed), "insufficient_quota"));
	assert_false(sx_chat_error_is(rate, strlen(rate), "insufficient_quota"));
	assert_false(sx_chat_error_is("not json", 8, "insufficient_quota"));
	assert_false(sx_chat_error_is(NULL, 0, "insufficient_quota"));
}

static char *emsg(const char *s)
{
	return sx_chat_error_message(s, strlen(s));
}

static void test_error_message(void **state)
{
	char *m;

	(void)state;
	m = emsg("{\"error\":{\"message\":\"bad\\nkey\",\"code\":401}}");
	assert_non_null(m);
	assert_string_equal(m, "bad key");
	free(m);
	m = emsg("{\"error\":\"plain\"}");
	assert_string_equal(m, "plain");
	free(m);
	m = emsg("{\"message\":\"top\"}");
	assert_string_equal(m, "top");
	free(m);
	assert_null(emsg("<html>502</html>"));
	assert_null(emsg("{\"error\":{}}"));
}

/* --param, --unset and max_completion_tokens: the body changed, and still canonical. */
static void test_request_fields(void **state)
{
	struct sx_gen_params g = SX_GEN_PARAMS_INIT;
	struct sx_buf b = SX_BUF_INIT, canon = SX_BUF_INIT;
	struct sx_json *extra = sx_json_parse("{\"seed\":7,\"response_format\":{\"type\":\"json_object\"},"
					      "\"grammar\":\"root ::= x\"}", 74, NULL);

	(void)state;
	assert_non_null(extra);
	g.model = "o3-mini";
	g.omit = SX_GEN_OMIT_TEMPERATURE | SX_GEN_OMIT_TOP_P;
	g.max_tokens_field = "max_completion_tokens";
	g.extra = extra;
	sx_chat_request_body(&g, "sys", "usr", &b);
	assert_string_equal(b.buf,
			    "{\"model\":\"o3-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"sys\"},"
			    "{\"role\":\"user\",\"content\":\"usr\"}],\"seed\":7,"
			    "\"grammar\":\"root ::= x\",\"max_completion_tokens\":1024,"
			    "\"response_format\":{\"type\":\"json_object\"}}");
	assert_int_equal(sx_chat_request_canonical(b.buf, b.len, &canon, NULL), 0);
	assert_string_equal(canon.buf, b.buf);
	/* without any of them the body is the usual one */
	sx_buf_reset(&b);
	g = (struct sx_gen_params)SX_GEN_PARAMS_INIT;
	sx_chat_request_body(&g, NULL, "u", &b);
	assert_non_null(strstr(b.buf, "\"temperature\":0,\"top_p\":1,\"max_tokens\":1024"));
	assert_int_equal(sx_gen_omit_bit("top_p"), SX_GEN_OMIT_TOP_P);
	assert_int_equal(sx_gen_omit_bit("model"), 0);
	sx_json_free(extra);
	sx_buf_release(&b);
	sx_buf_release(&canon);
}

/* Reasoning tokens, error.param and model lists: what the engine reads of other servers. */
static void test_endpoint_fields(void **state)
{
	const char *ok = "{\"choices\":[{\"message\":{\"content\":\"(1, 0.9)\"}}],\"usage\":"
			 "{\"prompt_tokens\":10,\"completion_tokens\":80,"
			 "\"completion_tokens_details\":{\"reasoning_tokens\":64}}}";
	const char *plain = "{\"choices\":[{\"message\":{\"content\":\"x\"}}]}";
	const char *e400 = "{\"error\":{\"message\":\"Unsupported parameter: 'max_tokens'\","
			   "\"type\":\"invalid_request_error\",\"param\":\"max_tokens\","
			   "\"code\":\"unsupported_parameter\"}}";
	const char *llama = "{\"error\":{\"code\":500,\"message\":\"Only one completion choice "
			    "is allowed\",\"type\":\"server_error\"}}";
	const char *models = "{\"object\":\"list\",\"data\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"x\":1}]}";
	const char *ollama = "{\"models\":[{\"name\":\"llama3.2:latest\"}]}";
	struct sx_chat_answer a = SX_CHAT_ANSWER_INIT;
	struct sx_buf b = SX_BUF_INIT;
	char *m;

	(void)state;
	assert_int_equal(sx_chat_decode(ok, strlen(ok), &a, NULL), 0);
	assert_int_equal(a.reasoning_tokens, 64);
	assert_int_equal(a.completion_tokens, 80);
	sx_chat_answer_release(&a);
	assert_int_equal(sx_chat_decode(plain, strlen(plain), &a, NULL), 0);
	assert_int_equal(a.reasoning_tokens, -1);
	sx_chat_answer_release(&a);
	m = sx_chat_error_param(e400, strlen(e400));
	assert_string_equal(m, "max_tokens");
	free(m);
	assert_null(sx_chat_error_param(llama, strlen(llama)));
	m = sx_chat_error_message(llama, strlen(llama));
	assert_string_equal(m, "Only one completion choice is allowed");
	free(m);
	assert_int_equal(sx_chat_models_ids(models, strlen(models), 100, &b), 0);
	assert_string_equal(b.buf, "[\"a\",\"b\"]");
	sx_buf_reset(&b);
	assert_int_equal(sx_chat_models_ids(models, strlen(models), 1, &b), 0);
	assert_string_equal(b.buf, "[\"a\"]");
	sx_buf_reset(&b);
	assert_int_equal(sx_chat_models_ids(ollama, strlen(ollama), 100, &b), 0);
	assert_string_equal(b.buf, "[\"llama3.2:latest\"]");
	sx_buf_reset(&b);
	assert_int_not_equal(sx_chat_models_ids("{}", 2, 100, &b), 0);
	assert_int_not_equal(sx_chat_models_ids("nope", 4, 100, &b), 0);
	sx_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_body),
		cmocka_unit_test(test_request_canonical),
		cmocka_unit_test(test_decode_ok),
		cmocka_unit_test(test_decode_model),
		cmocka_unit_test(test_decode_logprobs),
		cmocka_unit_test(test_decode_logprobs_bounded),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_withheld),
		cmocka_unit_test(test_error_is),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_endpoint_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
