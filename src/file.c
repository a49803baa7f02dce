#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "selfexp/alloc.h"
#include "selfexp/file.h"

int sx_fd_read_all(int fd, size_t cap, struct sx_buf *out)
{
	for (;;) {
		ssize_t n;

		sx_buf_grow(out, 65536);
		n = read(fd, out->buf + out->len, out->alloc - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->buf[out->len] = '\0';
		if (out->len > cap) {
			errno = EFBIG;
			return -1;
		}
	}
	return 0;
}

int sx_file_read(const char *path, size_t cap, struct sx_buf *out, struct sx_err *err)
{
	int fd = 0;
	int rc;

	if (strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sx_err_set(err, SX_EIO, "cannot read '%s': %s", path, strerror(errno));
	}
	rc = sx_fd_read_all(fd, cap, out);
	if (rc) {
		int e = errno;
		if (fd)
			close(fd);
		if (e == EFBIG)
			return sx_err_set(err, SX_EINPUT, "'%s' is larger than the %zu byte cap",
					  path, cap);
		return sx_err_set(err, SX_EIO, "cannot read '%s': %s", path, strerror(e));
	}
	if (fd)
		close(fd);
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sx_file_atomic_open(struct sx_file_atomic *f, const char *path, mode_t mode,
			struct sx_err *err)
{
	size_t plen = strlen(path);

	*f = (struct sx_file_atomic)SX_FILE_ATOMIC_INIT;
	f->path = xstrdup(path);
	f->tmp = xmalloc(plen + 32);
	snprintf(f->tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (f->fd < 0) {
		int e = errno;

		sx_err_set(err, SX_EIO, "cannot write '%s': %s", f->tmp, strerror(e));
		sx_file_atomic_abort(f);
		return SX_EIO;
	}
	return 0;
}

void sx_file_atomic_write(struct sx_file_atomic *f, const void *data, size_t len)
{
	if (f->fd < 0 || f->error)
		return;
	if (write_all(f->fd, data, len))
		f->error = errno ? errno : EIO;
}

void sx_file_atomic_abort(struct sx_file_atomic *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		unlink(f->tmp);
	}
	free(f->path);
	free(f->tmp);
	*f = (struct sx_file_atomic)SX_FILE_ATOMIC_INIT;
}

int sx_file_atomic_commit(struct sx_file_atomic *f, struct sx_err *err)
{
	char *dircopy = NULL;
	int dfd, rc = SX_EIO, fd = f->fd;

	if (fd < 0)
		return sx_err_set(err, SX_EIO, "cannot write '%s': not open", f->path ? f->path : "");
	if (f->error || fsync(fd)) {
		sx_err_set(err, SX_EIO, "cannot write '%s': %s", f->tmp,
			   strerror(f->error ? f->error : errno));
		goto out;
	}
	f->fd = -1;
	if (close(fd)) {
		sx_err_set(err, SX_EIO, "cannot write '%s': %s", f->tmp, strerror(errno));
		unlink(f->tmp);
		goto out;
	}
	if (rename(f->tmp, f->path)) {
		sx_err_set(err, SX_EIO, "cannot rename '%s' to '%s': %s", f->tmp, f->path,
			   strerror(errno));
		unlink(f->tmp);
		goto out;
	}
	dircopy = xstrdup(f->path);
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	free(dircopy);
	sx_file_atomic_abort(f); /* only frees: the descriptor is closed */
	return rc;
}

int sx_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct sx_err *err)
{
	struct sx_file_atomic f;
	int rc = sx_file_atomic_open(&f, path, mode, err);

	if (rc)
		return rc;
	sx_file_atomic_write(&f, data, len);
	return sx_file_atomic_commit(&f, err);
}

int sx_mkdir_p(const char *path, mode_t mode, struct sx_err *err)
{
	char *p = xstrdup(path);
	char *s;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) && errno != EEXIST) {
				rc = sx_err_set(err, SX_EIO, "cannot create directory '%s': %s", p,
						strerror(errno));
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}
