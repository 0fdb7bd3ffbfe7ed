/* cgroup.c - locate cgroup v2, the runtime's parent cgroups and cgroup ids. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "cgroup.h"

int cgroup_find_v2_mount(char *buf, size_t len)
{
	/* The usual places first: a statfs is cheaper than mountinfo. */
	static const char *const guesses[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	char line[4096];
	struct statfs st;
	FILE *f;

	for (size_t i = 0; i < sizeof(guesses) / sizeof(guesses[0]); i++) {
		if (statfs(guesses[i], &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) {
			snprintf(buf, len, "%s", guesses[i]);
			return 0;
		}
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [tags] - fstype source super */
		char mnt[4096], fstype[64];
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(buf, len, "%s", mnt);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

int cgroup_detect_parents(const char *mount, char paths[][4096], int max)
{
	static const char *const subdirs[] = {"docker", "system.slice"};
	struct stat st;
	int n = 0;

	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]) && n < max; i++) {
		snprintf(paths[n], 4096, "%s/%s", mount, subdirs[i]);
		if (stat(paths[n], &st) == 0 && S_ISDIR(st.st_mode))
			n++;
	}
	return n;
}

uint64_t cgroup_id_of(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return 0;
	return st.st_ino;
}

int cgroup_enter(const char *dir)
{
	char path[4200], pid[32];
	int fd, n, err = 0;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (write(fd, pid, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}

int cgroup_of_pid(int pid, char *buf, size_t len)
{
	char path[64], line[4096];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* The v2 entry is "0::/path". */
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "%s", line + 3);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}
