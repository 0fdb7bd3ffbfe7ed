/* fs.h - files and directories done once, with care: making a directory and its parents,
 * reading a file whole with a size cap, and saving a file whole (a reader sees the old file
 * or the new one, never a part, and the new one survives a crash once this returns). */
#ifndef MOAT_FS_H
#define MOAT_FS_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Make directory path and each missing parent with mode (an existing directory is fine).
 * Returns 0 or -errno (-ENOTDIR when a component is a file; -ENAMETOOLONG). */
int fs_mkdir_p(const char *path, mode_t mode);

/* fs_mkdir_p of the directory holding file path ("." for a bare name: nothing to do). */
int fs_mkdir_parent(const char *path, mode_t mode);

/* Replace file path with the len bytes at buf, with the given mode: written to a new file
 * beside it, flushed to disk (fsync), renamed over path, and the directory flushed so that
 * the rename is on disk too. On failure path is unchanged and the temporary file removed.
 * Returns 0 or -errno. */
int fs_save_atomic(const char *path, const void *buf, size_t len, mode_t mode);

/* The same save, written as a stream (for files too large to build in memory first):
 * fs_atomic_begin opens a new file beside path (a->f, for stdio writes); fs_atomic_commit
 * flushes it, gives it mode, syncs it, renames it over path and syncs the directory;
 * fs_atomic_abort (or a failed commit) removes it and leaves path unchanged. Each returns
 * 0 or -errno; after commit or abort, a holds nothing. */
struct fs_atomic {
	FILE *f;
	mode_t mode;
	char path[PATH_MAX];
	char tmp[PATH_MAX];
};
int fs_atomic_begin(struct fs_atomic *a, const char *path, mode_t mode);
int fs_atomic_commit(struct fs_atomic *a);
void fs_atomic_abort(struct fs_atomic *a);

/* Read file path whole into a new NUL-terminated buffer (*out, for free(); *len bytes
 * before the NUL, which may hold NUL bytes of its own), reading to end of file (a file that
 * grows while read is read as far as it got). Returns 0, -EFBIG when it holds more than
 * max bytes, or another -errno (nothing allocated then). */
int fs_read_all(const char *path, size_t max, char **out, size_t *len);

#endif /* MOAT_FS_H */
