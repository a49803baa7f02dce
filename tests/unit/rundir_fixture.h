#ifndef SELFEXP_TEST_RUNDIR_FIXTURE_H
#define SELFEXP_TEST_RUNDIR_FIXTURE_H
/*
 * Run directories for the tests of the readers of a run (test_rundir,
 * test_compare, test_report): the path of tests/golden/run-small (under
 * $SELFEXP_HOME, or the source tree the tests were built in), and small run
 * directories written into the scratch directory of tmpdir.h (include it
 * first, after defining TMPDIR_NAME).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "selfexp/buf.h"
#include "selfexp/file.h"

/* tests/golden/run-small; the caller frees it. */
static inline char *golden_run_small(void)
{
	const char *home = getenv("SELFEXP_HOME");
	struct sx_buf b = SX_BUF_INIT;

	sx_buf_addf(&b, "%s/tests/golden/run-small", home && *home ? home : SX_HOME);
	return sx_buf_detach(&b, NULL);
}

/* A fresh directory tmpdir/name (removed first if it exists); the caller frees it. */
static inline char *fixture_dir(const char *name)
{
	char *dir = tmpdir_path(name);
	struct sx_buf cmd = SX_BUF_INIT;

	sx_buf_addf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd.buf) != 0 || mkdir(dir, 0755) != 0) {
		fprintf(stderr, "cannot create '%s'\n", dir);
		abort();
	}
	sx_buf_release(&cmd);
	return dir;
}

/* Write len bytes of text (len (size_t)-1: strlen) to dir/name, aborting on failure. */
static inline void fixture_write(const char *dir, const char *name, const char *text, size_t len)
{
	struct sx_buf path = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;

	sx_buf_addf(&path, "%s/%s", dir, name);
	if (sx_file_write_atomic(path.buf, text, len == (size_t)-1 ? strlen(text) : len, 0644,
				 &err)) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	sx_buf_release(&path);
}

/* Read dir/name (NULL: dir is the whole path) into out, aborting on failure. */
static inline void fixture_read(const char *dir, const char *name, struct sx_buf *out)
{
	struct sx_buf path = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;

	sx_buf_reset(out);
	if (name)
		sx_buf_addf(&path, "%s/%s", dir, name);
	else
		sx_buf_adds(&path, dir);
	if (sx_file_read(path.buf, (size_t)1 << 30, out, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	sx_buf_release(&path);
}

/* Copy src/name to dst/name. */
static inline void fixture_copy(const char *src, const char *dst, const char *name)
{
	struct sx_buf text = SX_BUF_INIT;

	fixture_read(src, name, &text);
	fixture_write(dst, name, text.buf, text.len);
	sx_buf_release(&text);
}

/* How many times needle occurs in hay. */
static inline size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += len;
	}
	return n;
}

#endif
