/* fs.c - directories and whole-file saves (fs.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

int fs_mkdir_p(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;

	if (!n)
		return -ENOENT;
	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, n + 1);
	/* Each prefix that ends before a '/', then the whole path. */
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		if (p[i - 1] == '/')
			continue; /* "//" or a trailing '/' */
		p[i] = '\0';
		if (mkdir(p, mode) && errno != EEXIST)
			return -errno;
		if (stat(p, &st))
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (i < n)
			p[i] = '/';
	}
	return 0;
}

int fs_mkdir_parent(const char *path, mode_t mode)
{
	char d[PATH_MAX];
	const char *dir;

	if (strlen(path) >= sizeof(d))
		return -ENAMETOOLONG;
	snprintf(d, sizeof(d), "%s", path);
	dir = dirname(d);
	return strcmp(dir, ".") ? fs_mkdir_p(dir, mode) : 0;
}

/* dir gets the directory of path ("." for a bare name). */
static int dir_of(const char *path, char *dir, size_t size)
{
	char d[PATH_MAX];

	if (strlen(path) >= sizeof(d) - 16)
		return -ENAMETOOLONG;
	snprintf(d, sizeof(d), "%s", path);
	snprintf(dir, size, "%s", dirname(d));
	return 0;
}

/* fsync the directory dir, so that a rename in it is on disk. */
static int sync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (dfd < 0)
		return -errno;
	if (fsync(dfd))
		err = -errno;
	close(dfd);
	return err;
}

int fs_atomic_begin(struct fs_atomic *a, const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int fd, err;

	memset(a, 0, sizeof(*a));
	if ((err = dir_of(path, dir, sizeof(dir))))
		return err;
	if (snprintf(a->tmp, sizeof(a->tmp), "%s/.%s.XXXXXX", dir, base) >= (int)sizeof(a->tmp))
		return -ENAMETOOLONG;
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->mode = mode;
	fd = mkostemp(a->tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		a->tmp[0] = '\0';
		return err;
	}
	a->f = fdopen(fd, "w");
	if (!a->f) {
		err = -errno;
		close(fd);
		unlink(a->tmp);
		a->tmp[0] = '\0';
		return err;
	}
	return 0;
}

void fs_atomic_abort(struct fs_atomic *a)
{
	if (a->f)
		fclose(a->f);
	if (a->tmp[0])
		unlink(a->tmp);
	a->f = NULL;
	a->tmp[0] = '\0';
}

int fs_atomic_commit(struct fs_atomic *a)
{
	char dir[PATH_MAX];
	int err = 0;

	if (!a->f)
		return -EBADF;
	if (fflush(a->f) == EOF || ferror(a->f) || fchmod(fileno(a->f), a->mode) ||
	    fsync(fileno(a->f)))
		err = errno ? -errno : -EIO;
	if (fclose(a->f) == EOF && !err)
		err = -errno;
	a->f = NULL;
	if (!err && rename(a->tmp, a->path))
		err = -errno;
	if (err) {
		fs_atomic_abort(a);
		return err;
	}
	a->tmp[0] = '\0';
	if ((err = dir_of(a->path, dir, sizeof(dir))))
		return err;
	return sync_dir(dir);
}

int fs_save_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	struct fs_atomic a;
	int err = fs_atomic_begin(&a, path, mode);

	if (err)
		return err;
	if (len && fwrite(buf, 1, len, a.f) != len) {
		err = errno ? -errno : -EIO;
		fs_atomic_abort(&a);
		return err;
	}
	return fs_atomic_commit(&a);
}

int fs_read_all(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap;
	int fd, err = 0;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* A first guess from the size; read to end of file all the same. */
	cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size < max
		  ? (size_t)st.st_size + 2
		  : 4096;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap || !buf) {
			char *nb;

			if (buf)
				cap = cap > max / 2 ? max + 2 : cap * 2;
			if (!(nb = realloc(buf, cap))) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			err = -EFBIG;
			break;
		}
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
