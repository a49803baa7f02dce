#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "selfexp/file.h"

static char dir[] = "/tmp/selfexp-test-file.XXXXXX";

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void expect(const char *name, const char *want)
{
	struct sx_buf b = SX_BUF_INIT;
	char p[256];

	path_of(p, sizeof(p), name);
	assert_int_equal(sx_file_read(p, 1 << 20, &b, NULL), 0);
	assert_string_equal(b.buf, want);
	sx_buf_release(&b);
}

static int count_tmp(void)
{
	char cmd[512];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c tmp", dir);
	f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

/* Staged files replace the old ones together, or (aborted) not at all. */
static void test_staged(void **state)
{
	char a[256], b[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	path_of(a, sizeof(a), "a");
	path_of(b, sizeof(b), "b");
	assert_int_equal(sx_file_write_atomic(a, "old a", 5, 0600, NULL), 0);
	assert_int_equal(sx_file_write_atomic(b, "old b", 5, 0600, NULL), 0);

	assert_int_equal(sx_file_stage(a, "new a", 5, 0600, NULL), 0);
	assert_int_equal(sx_file_stage(b, "new b", 5, 0600, NULL), 0);
	assert_int_equal(count_tmp(), 2);
	sx_file_abort_staged();
	assert_int_equal(count_tmp(), 0);
	expect("a", "old a");
	expect("b", "old b");

	assert_int_equal(sx_file_stage(a, "new a", 5, 0600, NULL), 0);
	assert_int_equal(sx_file_stage(b, "new b", 5, 0600, NULL), 0);
	/* a plain atomic write refuses to commit someone else's staged files */
	assert_int_not_equal(sx_file_write_atomic(a, "x", 1, 0600, NULL), 0);
	assert_int_equal(sx_file_commit_staged(NULL), 0);
	assert_int_equal(count_tmp(), 0);
	expect("a", "new a");
	expect("b", "new b");

	unlink(a);
	unlink(b);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_staged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
