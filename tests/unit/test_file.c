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

/* A link's path is followed to its end, a dangling one's too; no link, or a loop: NULL. */
static void test_link_target(void **state)
{
	char d[] = "/tmp/selfexp-test-link.XXXXXX", p[256], q[256], want[256];
	char *t;

	(void)state;
	assert_non_null(mkdtemp(d));
	snprintf(p, sizeof(p), "%s/a", d);
	assert_int_equal(sx_file_write_atomic(p, "x", 1, 0600, NULL), 0);
	assert_null(sx_file_link_target(p));          /* a regular file */
	snprintf(q, sizeof(q), "%s/none", d);
	assert_null(sx_file_link_target(q));          /* nothing there */
	unlink(p);

	/* l1 -> l2 -> sub/../missing (relative, dangling) */
	snprintf(p, sizeof(p), "%s/l1", d);
	snprintf(q, sizeof(q), "%s/l2", d);
	assert_int_equal(symlink("l2", p), 0);
	assert_int_equal(symlink("sub/../missing", q), 0);
	snprintf(want, sizeof(want), "%s/sub/../missing", d);
	t = sx_file_link_target(p);
	assert_non_null(t);
	assert_string_equal(t, want);
	free(t);
	unlink(q);
	/* absolute */
	assert_int_equal(symlink("/nonexistent-selfexp/x", q), 0);
	t = sx_file_link_target(p);
	assert_non_null(t);
	assert_string_equal(t, "/nonexistent-selfexp/x");
	free(t);
	unlink(q);
	/* a loop */
	assert_int_equal(symlink("l1", q), 0);
	assert_null(sx_file_link_target(p));
	unlink(p);
	unlink(q);
	rmdir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_staged),
		cmocka_unit_test(test_link_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
