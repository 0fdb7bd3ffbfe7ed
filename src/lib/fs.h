/* fs.h - files and directories done once, with care: making a directory and its parents,
 * and saving a file whole (a reader sees the old file or the new one, never a part, and
 * the new one survives a crash once this returns). */
#ifndef MOAT_FS_H
#define MOAT_FS_H

#include <stddef.h>
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

#endif /* MOAT_FS_H */
