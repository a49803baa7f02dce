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

int sx_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct sx_err *err)
{
	size_t plen = strlen(path);
	char *tmp = xmalloc(plen + 32);
	char *dircopy = NULL;
	int fd = -1, dfd, rc = SX_EIO;

	snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		sx_err_set(err, SX_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, data, len) || fsync(fd)) {
		sx_err_set(err, SX_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		sx_err_set(err, SX_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		sx_err_set(err, SX_EIO, "cannot rename '%s' to '%s': %s", tmp, path,
			   strerror(errno));
		goto out;
	}
	dircopy = xstrdup(path);
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	free(tmp);
	free(dircopy);
	return rc;
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
