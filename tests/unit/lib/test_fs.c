/* test_fs.c - lib/fs: mkdir -p, whole-file reads with a cap, whole-file saves (from a buffer
 * and streamed), on a scratch directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fs.h"
#include "test.h"

static char root[64];

static int is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static char *slurp(const char *p)
{
	static char buf[256];
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

int main(void)
{
	char p[256], q[256];
	struct stat st;
	int n = 0;

	snprintf(root, sizeof(root), "/tmp/moat-test-fs.XXXXXX");
	if (!mkdtemp(root)) {
		CHECK(0, "a scratch directory", "mkdtemp: %s", strerror(errno));
		return TEST_EXIT();
	}
	snprintf(p, sizeof(p), "%s/a/b//c/", root);
	CHECK(fs_mkdir_p(p, 0750) == 0 && is_dir(p), "mkdir -p makes every missing level",
	      "not made");
	CHECK(fs_mkdir_p(p, 0750) == 0, "mkdir -p of an existing directory is fine", "error");
	snprintf(q, sizeof(q), "%s/a/b", root);
	CHECK(!stat(q, &st) && (st.st_mode & 0777) == (0750 & ~umask(022)),
	      "the levels get the mode (less the umask)", "mode %o", st.st_mode & 0777);
	umask(022);
	snprintf(q, sizeof(q), "%s/file", root);
	CHECK(fs_save_atomic(q, "one\n", 4, 0640) == 0 && !strcmp(slurp(q), "one\n"),
	      "save writes the file", "content '%s'", slurp(q));
	CHECK(!stat(q, &st) && (st.st_mode & 0777) == 0640, "save sets the mode", "mode %o",
	      st.st_mode & 0777);
	CHECK(fs_save_atomic(q, "two\n", 4, 0640) == 0 && !strcmp(slurp(q), "two\n"),
	      "save replaces the file whole", "content '%s'", slurp(q));
	snprintf(p, sizeof(p), "%s/file/sub", root);
	CHECK(fs_mkdir_p(p, 0750) == -ENOTDIR, "a file in the way is -ENOTDIR", "not refused");
	snprintf(p, sizeof(p), "%s/missing/x", root);
	CHECK(fs_save_atomic(p, "x", 1, 0600) == -ENOENT && !strcmp(slurp(q), "two\n"),
	      "a save that cannot be made leaves nothing behind", "wrong error");
	snprintf(p, sizeof(p), "%s/new/dir/file.json", root);
	CHECK(fs_mkdir_parent(p, 0700) == 0 && fs_save_atomic(p, "{}", 2, 0600) == 0,
	      "mkdir_parent then save, on a fresh path", "failed");
	{
		/* Streamed save: abort keeps the old file, commit replaces it. */
		struct fs_atomic a;

		snprintf(q, sizeof(q), "%s/file", root);
		CHECK(fs_atomic_begin(&a, q, 0600) == 0 && fprintf(a.f, "half") == 4,
		      "a streamed save starts", "failed");
		fs_atomic_abort(&a);
		CHECK(!strcmp(slurp(q), "two\n"),
		      "an aborted streamed save leaves the file as it was", "content '%s'",
		      slurp(q));
		CHECK(fs_atomic_begin(&a, q, 0600) == 0 && fprintf(a.f, "three\n") == 6 &&
			  fs_atomic_commit(&a) == 0 && !strcmp(slurp(q), "three\n") &&
			  !stat(q, &st) && (st.st_mode & 0777) == 0600,
		      "a committed streamed save replaces the file, with its mode", "content '%s'",
		      slurp(q));
		snprintf(p, sizeof(p), "%s/missing/x", root);
		CHECK(fs_atomic_begin(&a, p, 0600) == -ENOENT && !a.f,
		      "a streamed save into a missing directory is -ENOENT", "not refused");
	}
	{
		/* Whole-file reads. */
		char *buf = NULL;
		size_t len = 99;

		snprintf(q, sizeof(q), "%s/bin", root);
		CHECK(fs_save_atomic(q, "a\0b\n", 4, 0600) == 0 &&
			  fs_read_all(q, 100, &buf, &len) == 0 && len == 4 &&
			  !memcmp(buf, "a\0b\n", 4) && buf[4] == 0,
		      "read_all reads every byte, NULs included, and ends with a NUL", "len %zu",
		      len);
		free(buf);
		CHECK(fs_read_all(q, 4, &buf, &len) == 0 && len == 4,
		      "a file of exactly the cap is read", "len %zu", len);
		free(buf);
		buf = (char *)1;
		CHECK(fs_read_all(q, 3, &buf, &len) == -EFBIG && !buf && len == 0,
		      "a file over the cap is -EFBIG, nothing allocated", "not refused");
		snprintf(p, sizeof(p), "%s/none", root);
		CHECK(fs_read_all(p, 100, &buf, &len) == -ENOENT && !buf,
		      "a missing file is -ENOENT", "wrong error");
		snprintf(p, sizeof(p), "%s/empty", root);
		CHECK(fs_save_atomic(p, "", 0, 0600) == 0 && fs_read_all(p, 100, &buf, &len) == 0 &&
			  len == 0 && buf && buf[0] == 0,
		      "an empty file is an empty string", "len %zu", len);
		free(buf);
		CHECK(fs_read_all("/proc/self/status", 1 << 20, &buf, &len) == 0 && len > 100 &&
			  strstr(buf, "Pid:"),
		      "a file whose size stat does not tell (procfs) is read to its end", "len %zu",
		      len);
		free(buf);
		CHECK(fs_read_all("/proc/self/status", 10, &buf, &len) == -EFBIG,
		      "... and still capped", "not refused");
	}
	{
		/* No temporary file is left beside a saved one. */
		char cmd[300];
		FILE *f;

		snprintf(cmd, sizeof(cmd), "ls -A %s | grep -c '^\\.'", root);
		f = popen(cmd, "r");
		if (f && fscanf(f, "%d", &n) != 1)
			n = -1;
		if (f)
			pclose(f);
		CHECK(n == 0, "no temporary file is left", "%d left", n);
	}
	snprintf(p, sizeof(p), "rm -rf %s", root);
	if (system(p))
		fprintf(stderr, "cannot remove %s\n", root);
	return TEST_EXIT();
}
