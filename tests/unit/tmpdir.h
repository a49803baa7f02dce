#ifndef SELFEXP_TEST_TMPDIR_H
#define SELFEXP_TEST_TMPDIR_H
/*
 * One scratch directory per unit-test program, under $TEST_TMP_ROOT (set by
 * tests/run.sh) or /tmp, removed at the end: pass tmpdir_setup and
 * tmpdir_teardown to cmocka_run_group_tests, after defining TMPDIR_NAME.
 */
#include <stdio.h>
#include <stdlib.h>

#include "selfexp/buf.h"

static char tmpdir[512];

static int tmpdir_setup(void **state)
{
	const char *root = getenv("TEST_TMP_ROOT");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/%s.XXXXXX", root && *root ? root : "/tmp",
		 TMPDIR_NAME);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int tmpdir_teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* tmpdir/name; the caller frees it. */
static char *tmpdir_path(const char *name)
{
	struct sx_buf b = SX_BUF_INIT;

	sx_buf_addf(&b, "%s/%s", tmpdir, name);
	return sx_buf_detach(&b, NULL);
}

#endif
