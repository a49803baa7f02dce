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
/*
 * Atomically replace path with data, created with the given mode (e.g.
 * 0600). A symbolic link is followed: its target is replaced (or created,
 * when the link dangles), the link stays. A path that names neither a
 * regular file nor a directory (a device such as /dev/null or /dev/stdout,
 * a FIFO) is written in place, never replaced; a directory is an error.
 * The "FILE.tmp.PID" that writers of the same file killed mid-write left
 * (their PID gone) are removed first; a live process's are kept.
 */
int sx_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct sx_err *err);
/*
 * The path a symbolic link leads to, following every link on the way, even
 * when the last one dangles (the name it gives need not exist); the caller
 * frees it. NULL when path is not a symbolic link, or the links loop (more
 * than SX_FILE_LINK_HOPS_MAX of them).
 */
#define SX_FILE_LINK_HOPS_MAX 40
char *sx_file_link_target(const char *path);

/*
 * Several files replaced together: sx_file_stage writes each one in full to
 * a temporary file beside it (fsync'd); sx_file_commit_staged renames them
 * all into place, in the order staged, then fsyncs their directories. A
 * failure while staging (a full disk) removes that temporary file; the caller
 * then calls sx_file_abort_staged, and every target keeps its old contents.
 * sx_file_abort_staged is async-signal-safe: a signal handler that exits at
 * once calls it so that no temporary file is left behind. Not thread-safe.
 */
#define SX_FILE_STAGED_MAX 8
#define SX_FILE_PATH_MAX 4096
int sx_file_stage(const char *path, const void *data, size_t len, mode_t mode,
		  struct sx_err *err);
int sx_file_commit_staged(struct sx_err *err);
void sx_file_abort_staged(void);
/*
 * A staged file written piece by piece (records too large to hold): open
 * creates and stages the temporary file and gives its descriptor; write
 * appends, remembering the first error in *error; close fsyncs and closes it,
 * reporting that error. sx_file_commit_staged then renames it with the rest.
 */
int sx_file_stage_open(const char *path, mode_t mode, int *fd, struct sx_err *err);
void sx_file_stage_write(int fd, const void *data, size_t len, int *error);
int sx_file_stage_close(int fd, int error, const char *path, struct sx_err *err);
/*
 * Remove the temporaries ("NAME.tmp.PID", as staged and atomic writes make
 * them) that processes which are gone left in dir (a kill -9 in the middle
 * of a write). A live process's temporaries are kept. Returns how many were
 * removed.
 */
size_t sx_file_clean_stale(const char *dir);
/* mkdir -p with mode for directories created. */
int sx_mkdir_p(const char *path, mode_t mode, struct sx_err *err);
/* Read all of fd until EOF into out, failing beyond cap bytes. */
int sx_fd_read_all(int fd, size_t cap, struct sx_buf *out);

#endif
