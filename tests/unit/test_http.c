#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "selfexp/chat.h"
#include "selfexp/engine.h"
#include "selfexp/http.h"

static void test_redact(void **state)
{
	struct sx_http_config cfg = { .max_connections = 1, .api_key = "sk-abcdefgh123" };
	struct sx_http *h = NULL;
	char s1[] = "key sk-abcdefgh123 and sk-abcdefgh123sk-abcdefgh123 end";
	char s2[] = "sk-abcdefgh12 is not the key";
	char s3[] = "short";

	(void)state;
	assert_int_equal(sx_http_new(&cfg, &h, NULL), 0);
	sx_http_redact(h, s1, strlen(s1));
	assert_string_equal(s1, "key ************** and **************************** end");
	sx_http_redact(h, s2, strlen(s2));
	assert_string_equal(s2, "sk-abcdefgh12 is not the key");
	sx_http_redact(h, s3, 0);
	sx_http_redact(NULL, s3, strlen(s3));
	assert_string_equal(s3, "short");
	sx_http_free(h);

	/* a key shorter than SX_HTTP_REDACT_MIN is left alone (too likely to be ordinary text) */
	cfg.api_key = "abc";
	assert_int_equal(sx_http_new(&cfg, &h, NULL), 0);
	{
		char s4[] = "abc abc";
		sx_http_redact(h, s4, strlen(s4));
		assert_string_equal(s4, "abc abc");
	}
	sx_http_free(h);
}

/* Secret header values (--header-env) are redacted like the key; plain ones are not. */
static void test_redact_headers(void **state)
{
	const struct sx_http_header hs[] = {
		{ "X-Secret", "s3cr3t-value-42", 1 },
		{ "X-Plain", "plain-value-43", 0 },
	};
	struct sx_http_config cfg = { .max_connections = 1, .api_key = "azure-key-12345",
				      .auth = SX_HTTP_AUTH_API_KEY, .headers = hs, .nheaders = 2 };
	struct sx_http *h = NULL;
	char s[] = "s3cr3t-value-42 plain-value-43 azure-key-12345";
	size_t at = 0;

	(void)state;
	assert_int_equal(sx_http_new(&cfg, &h, NULL), 0);
	sx_http_redact(h, s, strlen(s));
	assert_string_equal(s, "*************** plain-value-43 ***************");
	sx_http_free(h);

	assert_int_equal(sx_http_header_check("X-Ok", "a\tb c", NULL), 0);
	assert_int_equal(sx_http_header_check("X-Bad", "a\r\nX-Injected: 1", &at), -1);
	assert_int_equal(at, 1);
	assert_int_equal(sx_http_header_check("X-Bad", "a\nb", NULL), -1);
	assert_int_equal(sx_http_header_check("X-Bad", "a\x7f", NULL), -1);
	assert_int_equal(sx_http_header_check("Bad Name", "v", NULL), -1);
	assert_int_equal(sx_http_header_check("Bad:Name", "v", NULL), -1);
	assert_int_equal(sx_http_header_check("", "v", NULL), -1);
	{
		const struct sx_http_header bad[] = { { "X-Bad", "a\rb", 0 } };

		cfg.headers = bad;
		cfg.nheaders = 1;
		assert_int_not_equal(sx_http_new(&cfg, &h, NULL), 0);
		assert_null(h);
	}
}

static void test_url_shown(void **state)
{
	static const char *const cases[][2] = {
		{ "https://u:k@api.example:8443/v1?api-version=1#x", "https://api.example:8443/v1" },
		{ "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1" },
		{ "http://a@b@host/v1/x@y?q", "http://host/v1/x@y" },
		{ "http://[::1]:9/v1?k=secret", "http://[::1]:9/v1" },
		{ "ftp://u:p@h/x", "ftp://h/x" },
		{ "u:p@host/v1", "host/v1" },
		{ "host/path?a=b://c@d", "host/path" },
		{ "", "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sx_buf b = SX_BUF_INIT;

		sx_http_url_shown(cases[i][0], &b);
		assert_string_equal(b.buf, cases[i][1]);
		sx_buf_release(&b);
	}
}

static void test_duration(void **state)
{
	(void)state;
	assert_float_equal(sx_http_parse_duration("1s"), 1.0, 1e-9);
	assert_float_equal(sx_http_parse_duration("6m0s"), 360.0, 1e-9);
	assert_float_equal(sx_http_parse_duration("20ms"), 0.02, 1e-9);
	assert_float_equal(sx_http_parse_duration("1h2m3.5s"), 3723.5, 1e-9);
	assert_float_equal(sx_http_parse_duration("0.5"), 0.5, 1e-9);
	assert_float_equal(sx_http_parse_duration(" 17ms "), 0.017, 1e-9);
	assert_float_equal(sx_http_parse_duration("250us"), 0.00025, 1e-12);
	assert_true(sx_http_parse_duration("") < 0);
	assert_true(sx_http_parse_duration("soon") < 0);
	assert_true(sx_http_parse_duration("5x") < 0);
	assert_true(sx_http_parse_duration("-1s") < 0);
	assert_true(sx_http_parse_duration("1s 2") < 0);
	assert_true(sx_http_parse_duration(NULL) < 0);
}

static void test_retry_after(void **state)
{
	char date[64];
	time_t t = time(NULL) + 30;
	struct tm tm;
	double v;

	(void)state;
	assert_float_equal(sx_http_parse_retry_after("2"), 2.0, 1e-9);
	assert_float_equal(sx_http_parse_retry_after("1.5"), 1.5, 1e-9);
	assert_float_equal(sx_http_parse_retry_after("20ms"), 0.02, 1e-9);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	v = sx_http_parse_retry_after(date);
	assert_true(v > 27 && v <= 31);
	assert_float_equal(sx_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0.0, 1e-9);
	assert_true(sx_http_parse_retry_after("whenever") < 0);
}

static void test_endpoint_host(void **state)
{
	static const char *const cases[][2] = {
		{ "http://127.0.0.1:8080/v1", "127.0.0.1" },
		{ "https://API.OpenAI.com/v1", "api.openai.com" },
		{ "https://user:pw@gw.example:443/openai/deployments/x", "gw.example" },
		{ "http://[::1]:9000/v1", "[::1]" },
		{ "http://localhost", "localhost" },
		{ "HTTP://h?x=1", "h" },
	};
	static const char *const bad[] = { "ftp://x", "localhost:8080", "http://", "http:///v1", "" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sx_buf b = SX_BUF_INIT;

		assert_int_equal(sx_engine_endpoint_host(cases[i][0], &b), 0);
		assert_string_equal(b.buf, cases[i][1]);
		sx_buf_release(&b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sx_buf b = SX_BUF_INIT;

		assert_int_equal(sx_engine_endpoint_host(bad[i], &b), SX_EINPUT);
		sx_buf_release(&b);
	}
}

static void test_estimate(void **state)
{
	struct sx_gen_params gp = SX_GEN_PARAMS_INIT;
	struct sx_buf b = SX_BUF_INIT;

	(void)state;
	gp.max_tokens = 77;
	sx_chat_request_body(&gp, "\"max_tokens\":5", "x", &b);
	assert_int_equal(sx_engine_estimate_tokens(b.buf, b.len), (long)((b.len + 3) / 4) + 77);
	assert_int_equal(sx_engine_estimate_tokens("{}", 2), 1 + 1024);
	/* n choices are n completions billed: the worst case --max-cost reserves (sample:N) */
	gp.n = 3;
	sx_buf_reset(&b);
	sx_chat_request_body(&gp, "\"n\":9", "x", &b);
	assert_int_equal(sx_engine_estimate_tokens(b.buf, b.len), (long)((b.len + 3) / 4) + 3 * 77);
	sx_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_shown),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_endpoint_host),
		cmocka_unit_test(test_estimate),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_redact_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
