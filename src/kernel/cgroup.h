/* cgroup.h - finding cgroup v2: its mount, the container runtime's parent
 * cgroups, and cgroup ids. */
#ifndef MOAT_CGROUP_H
#define MOAT_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#define CGROUP_MAX_PARENTS 16

/* Find the cgroup2 mount point (pure v2: /sys/fs/cgroup; hybrid:
 * /sys/fs/cgroup/unified) by reading /proc/self/mountinfo. Writes it to
 * buf. Returns 0, or -ENOENT when no cgroup2 is mounted. */
int cgroup_find_v2_mount(char *buf, size_t len);

/* Fill paths[] with the container runtime's parent cgroups below mount
 * that exist: Docker's cgroupfs driver (<mount>/docker) and its systemd
 * driver (<mount>/system.slice). Returns how many were found. */
int cgroup_detect_parents(const char *mount, char paths[][4096], int max);

/* The cgroup id of a cgroup v2 directory (its inode number). Returns 0
 * and sets errno on failure. */
uint64_t cgroup_id_of(const char *path);

/* The cgroup v2 path of process pid relative to the mount ("/docker/<id>"),
 * from /proc/<pid>/cgroup. Returns 0 or -errno. */
int cgroup_of_pid(int pid, char *buf, size_t len);

/* Move the calling process into the cgroup v2 directory dir (writes its pid to
 * dir/cgroup.procs). For tests and benchmarks that run their own traffic in a cgroup of
 * their own. Returns 0 or -errno. */
int cgroup_enter(const char *dir);

#endif /* MOAT_CGROUP_H */
