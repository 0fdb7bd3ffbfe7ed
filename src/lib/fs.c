/* fs.c - directories and whole-file saves (fs.h). */
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

/* Write all len bytes at buf to fd, through short writes and EINTR. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int fs_save_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	char d[PATH_MAX], tmp[PATH_MAX];
	const char *dir;
	int fd, dfd, err = 0;

	if (strlen(path) >= sizeof(d) - 16)
		return -ENAMETOOLONG;
	snprintf(d, sizeof(d), "%s", path);
	dir = dirname(d);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir,
		 strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len);
	if (!err && (fchmod(fd, mode) || fsync(fd)))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fsync(dfd))
		err = -errno;
	close(dfd);
	return err;
}
