#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selfexp/strmap.h"

static void test_put_get(void **state)
{
	struct sx_strmap m = SX_STRMAP_INIT;
	char key[32];
	size_t i, v;

	(void)state;
	for (i = 0; i < 10000; i++) {
		int n = snprintf(key, sizeof(key), "k%zu", i);
		v = i;
		assert_int_equal(sx_strmap_put(&m, key, (size_t)n, &v), 0);
	}
	assert_int_equal(m.n, 10000);
	v = 99;
	assert_int_equal(sx_strmap_put(&m, "k42", 3, &v), 1);
	assert_int_equal(v, 42);
	assert_int_equal(sx_strmap_get(&m, "k9999", 5, &v), 1);
	assert_int_equal(v, 9999);
	assert_int_equal(sx_strmap_get(&m, "k10000", 6, &v), 0);
	v = 7;
	assert_int_equal(sx_strmap_put(&m, "", 0, &v), 0);
	assert_int_equal(sx_strmap_get(&m, "", 0, &v), 1);
	assert_int_equal(v, 7);
	assert_int_equal(sx_strmap_get(&m, "a\0b", 3, &v), 0);
	sx_strmap_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
