#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
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

/*
 * Files written but not yet renamed into place. A signal handler may read
 * this (sx_file_abort_staged), so an entry is filled before it is counted
 * and uncounted before it is changed.
 */
static struct staged {
	char tmp[SX_FILE_PATH_MAX];
	char path[SX_FILE_PATH_MAX];
} staged[SX_FILE_STAGED_MAX];
static volatile sig_atomic_t nstaged;

int sx_file_stage(const char *path, const void *data, size_t len, mode_t mode,
		  struct sx_err *err)
{
	struct staged *st;
	int fd = -1, rc = SX_EIO, n;

	if (nstaged >= SX_FILE_STAGED_MAX)
		return sx_err_set(err, SX_EFAIL, "too many files staged for '%s'", path);
	st = &staged[nstaged];
	n = snprintf(st->tmp, sizeof(st->tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(st->tmp) || strlen(path) >= sizeof(st->path))
		return sx_err_set(err, SX_EINPUT, "path too long: '%s'", path);
	memcpy(st->path, path, strlen(path) + 1);
	fd = open(st->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return sx_err_set(err, SX_EIO, "cannot write '%s': %s", path, strerror(errno));
	nstaged = nstaged + 1; /* from here on a signal handler removes it */
	if (write_all(fd, data, len) || fsync(fd)) {
		sx_err_set(err, SX_EIO, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc) {
		rc = sx_err_set(err, SX_EIO, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		nstaged = nstaged - 1;
		unlink(st->tmp);
	}
	return rc;
}

int sx_file_commit_staged(struct sx_err *err)
{
	char *dircopy = NULL;
	int i, rc = 0, dfd;

	for (i = 0; i < nstaged && !rc; i++) {
		if (rename(staged[i].tmp, staged[i].path))
			rc = sx_err_set(err, SX_EIO, "cannot rename '%s' to '%s': %s",
					staged[i].tmp, staged[i].path, strerror(errno));
	}
	if (!rc) {
		/* one directory fsync per directory would be exact; the last one's is what we need */
		for (i = 0; i < nstaged; i++) {
			free(dircopy);
			dircopy = xstrdup(staged[i].path);
			dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
		nstaged = 0;
	} else {
		sx_file_abort_staged();
	}
	free(dircopy);
	return rc;
}

int sx_file_stage_open(const char *path, mode_t mode, int *fd, struct sx_err *err)
{
	struct staged *st;
	int n;

	if (nstaged >= SX_FILE_STAGED_MAX)
		return sx_err_set(err, SX_EFAIL, "too many files staged for '%s'", path);
	st = &staged[nstaged];
	n = snprintf(st->tmp, sizeof(st->tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(st->tmp) || strlen(path) >= sizeof(st->path))
		return sx_err_set(err, SX_EINPUT, "path too long: '%s'", path);
	memcpy(st->path, path, strlen(path) + 1);
	*fd = open(st->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (*fd < 0)
		return sx_err_set(err, SX_EIO, "cannot write '%s': %s", path, strerror(errno));
	nstaged = nstaged + 1;
	return 0;
}

void sx_file_stage_write(int fd, const void *data, size_t len, int *error)
{
	if (fd < 0 || *error)
		return;
	if (write_all(fd, data, len))
		*error = errno ? errno : EIO;
}

int sx_file_stage_close(int fd, int error, const char *path, struct sx_err *err)
{
	if (!error && fsync(fd))
		error = errno;
	if (close(fd) && !error)
		error = errno;
	if (error)
		return sx_err_set(err, SX_EIO, "cannot write '%s': %s", path, strerror(error));
	return 0;
}

void sx_file_abort_staged(void)
{
	while (nstaged > 0) {
		unlink(staged[nstaged - 1].tmp);
		nstaged = nstaged - 1;
	}
}

/* Write data to what path names now (a device, a FIFO): no file of ours replaces it. */
static int write_in_place(const char *path, const void *data, size_t len, struct sx_err *err)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return sx_err_set(err, SX_EIO, "cannot write '%s': %s", path, strerror(errno));
	if (write_all(fd, data, len)) {
		int e = errno;

		close(fd);
		return sx_err_set(err, SX_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	if (close(fd))
		return sx_err_set(err, SX_EIO, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

/* 1 when pid is not this process and no process has it now (a live one's files are kept). */
static int pid_gone(long pid)
{
	return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) && errno == ESRCH;
}

/* The PID that p spells (digits only, at most 4194304), 0 when it spells none. */
static long pid_of(const char *p)
{
	const char *q;
	long pid = 0;

	for (q = p; *q; q++) {
		if (*q < '0' || *q > '9' || pid > 4194304)
			return 0;
		pid = pid * 10 + (*q - '0');
	}
	return q == p ? 0 : pid;
}

/*
 * The PID of a temporary "NAME.tmp.PID" (of base when it is not NULL: NAME
 * is exactly base), 0 when name is not one.
 */
static long temp_pid(const char *name, const char *base)
{
	const char *t;

	if (base) {
		size_t n = strlen(base);

		return strncmp(name, base, n) || strncmp(name + n, ".tmp.", 5) ? 0 : pid_of(name + n + 5);
	}
	t = strstr(name, ".tmp.");
	return t && t != name ? pid_of(t + 5) : 0;
}

/* Remove the temporaries in dir (of base only, when not NULL) of processes that are gone. */
static size_t clean_stale_in(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t removed = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct sx_buf tmp = SX_BUF_INIT;

		if (!pid_gone(temp_pid(e->d_name, base)))
			continue;
		sx_buf_addf(&tmp, "%s/%s", dir, e->d_name);
		removed += !unlink(tmp.buf);
		sx_buf_release(&tmp);
	}
	closedir(d);
	return removed;
}

/*
 * Remove the "PATH.tmp.PID" files of processes that are gone: what a
 * writer of path killed mid-write left beside it (the next write of the
 * same file cleans up after it, as a run's writer does for its directory).
 */
static void clean_stale_of(const char *path)
{
	char *copy = xstrdup(path), *base = strrchr(copy, '/');

	if (base) {
		*base++ = '\0';
		clean_stale_in(*copy ? copy : "/", base);
	} else {
		clean_stale_in(".", copy);
	}
	free(copy);
}

char *sx_file_link_target(const char *path)
{
	struct sx_buf cur = SX_BUF_INIT, next = SX_BUF_INIT;
	char link[PATH_MAX];
	struct stat st;
	int hops;

	sx_buf_adds(&cur, path);
	for (hops = 0; hops <= SX_FILE_LINK_HOPS_MAX; hops++) {
		const char *slash;
		ssize_t n;

		if (lstat(cur.buf, &st) || !S_ISLNK(st.st_mode)) {
			if (!hops)
				break;
			sx_buf_release(&next);
			return sx_buf_detach(&cur, NULL);
		}
		n = readlink(cur.buf, link, sizeof(link));
		if (n <= 0 || (size_t)n >= sizeof(link))
			break;
		link[n] = '\0';
		/* a relative target is relative to the directory holding the link */
		slash = strrchr(cur.buf, '/');
		sx_buf_reset(&next);
		if (link[0] != '/' && slash)
			sx_buf_add(&next, cur.buf, (size_t)(slash - cur.buf) + 1);
		sx_buf_adds(&next, link);
		sx_buf_reset(&cur);
		sx_buf_adds(&cur, next.buf);
	}
	sx_buf_release(&cur);
	sx_buf_release(&next);
	return NULL;
}

int sx_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct sx_err *err)
{
	struct stat st;
	char *target = NULL;
	int rc;

	if (nstaged)
		return sx_err_set(err, SX_EFAIL, "cannot write '%s': other files are staged", path);
	/*
	 * The rename would put a regular file where path's node is: over
	 * /dev/null or a FIFO, or over a symbolic link instead of its target.
	 */
	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			return sx_err_set(err, SX_EIO, "cannot write '%s': Is a directory", path);
		if (!S_ISREG(st.st_mode))
			return write_in_place(path, data, len, err);
		target = realpath(path, NULL);
	} else if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		/* a dangling link: create what it names, as a shell's > would; keep the link */
		target = sx_file_link_target(path);
		if (!target)
			return sx_err_set(err, SX_EIO, "cannot write '%s': %s", path,
					  strerror(ELOOP));
	}
	clean_stale_of(target ? target : path);
	rc = sx_file_stage(target ? target : path, data, len, mode, err);
	if (!rc)
		rc = sx_file_commit_staged(err);
	free(target);
	return rc;
}

int sx_mkdir_p(const char *path, mode_t mode, struct sx_err *err)
{
	char *p, *s;
	int rc = 0;

	if (!*path)
		return sx_err_set(err, SX_EINPUT, "cannot create a directory with an empty name");
	p = xstrdup(path);
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

size_t sx_file_clean_stale(const char *dir)
{
	return clean_stale_in(dir, NULL);
}
