#ifndef SELFEXP_FILE_H
#define SELFEXP_FILE_H
/*
 * Whole-file reads with a size cap, and atomic writes (temporary file in the
 * same directory, fsync, rename, fsync of the directory), so a reader never
 * sees half a file and a crash leaves either the old or the new contents.
 */
#include <stddef.h>
#include <sys/types.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"

/* Read all of path (or stdin when path is "-") into out; fail if over cap bytes. */
int sx_file_read(const char *path, size_t cap, struct sx_buf *out, struct sx_err *err);
/* Atomically replace path with data, created with the given mode (e.g. 0600). */
int sx_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct sx_err *err);
/*
 * The same, written piece by piece: open creates PATH.tmp.PID; writes append
 * to it (an error is remembered and reported by commit); commit fsyncs, renames
 * over path and fsyncs the directory; abort removes the temporary file. Both
 * commit and abort release f, which must end with one of them.
 */
struct sx_file_atomic {
	char *path, *tmp; /* owned */
	int fd;
	int error;        /* errno of the first failed write, 0 = none */
};
#define SX_FILE_ATOMIC_INIT { NULL, NULL, -1, 0 }
int sx_file_atomic_open(struct sx_file_atomic *f, const char *path, mode_t mode,
			struct sx_err *err);
void sx_file_atomic_write(struct sx_file_atomic *f, const void *data, size_t len);
int sx_file_atomic_commit(struct sx_file_atomic *f, struct sx_err *err);
void sx_file_atomic_abort(struct sx_file_atomic *f);
/* mkdir -p with mode for directories created. */
int sx_mkdir_p(const char *path, mode_t mode, struct sx_err *err);
/* Read all of fd until EOF into out, failing beyond cap bytes. */
int sx_fd_read_all(int fd, size_t cap, struct sx_buf *out);

#endif
