/* test_netrules.c - the pinned maps are opened once per process and pin directory
 * (src/kernel/netrules_maps.c): two directories in one process keep their own maps, repeated
 * calls open nothing new, a map pinned later is found, and a directory cleared by
 * loader_clear and pinned again is opened afresh.
 *
 * Private maps pinned under /sys/fs/bpf/moat-test-netrules-<pid>-{a,b}; no program is loaded
 * or attached. Run as root.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "loader.h"
#include "log.h"
#include "moat/maps.h"
#include "netrules.h"
#include "test.h"

static char pin_a[128], pin_b[128];

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory stream's own */
}

/* Pin a new hash map `name` (u64 key, vsize value) under dir. 0 or -errno. */
static int pin_map(const char *dir, const char *name, unsigned vsize)
{
	char path[256];
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, 8, vsize, 64, NULL), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (bpf_obj_pin(fd, path))
		err = -errno;
	close(fd);
	return err;
}

/* The mode stored for cgid in dir's pinned cgroup_cfg, or -errno. */
static int mode_in(const char *dir, uint64_t cgid)
{
	struct moat_cgroup_cfg cfg;
	char path[256];
	int fd, err;

	snprintf(path, sizeof(path), "%s/cgroup_cfg", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_map_lookup_elem(fd, &cgid, &cfg) ? -errno : cfg.mode;
	close(fd);
	return err;
}

static int make_dir(const char *dir)
{
	return (mkdir(dir, 0700) && errno != EEXIST) ? -errno : 0;
}

int main(void)
{
	const unsigned cfg_size = sizeof(struct moat_cgroup_cfg);
	struct moat_cgroup_state st;
	char slashed[160];
	int base, opened, err;

	if (geteuid() != 0) {
		CHECK(0, "netrules map cache", "run as root");
		return TEST_EXIT();
	}
	log_level = LOG_WARN;
	snprintf(pin_a, sizeof(pin_a), "/sys/fs/bpf/moat-test-netrules-%d-a", (int)getpid());
	snprintf(pin_b, sizeof(pin_b), "/sys/fs/bpf/moat-test-netrules-%d-b", (int)getpid());
	if (make_dir(pin_a) || make_dir(pin_b) || pin_map(pin_a, "cgroup_cfg", cfg_size) ||
	    pin_map(pin_b, "cgroup_cfg", cfg_size)) {
		CHECK(0, "netrules map cache: private pins", "%s", strerror(errno));
		goto out;
	}
	base = open_fds();

	CHECK(netrules_set_mode(pin_a, 7, MOAT_MODE_MONITOR, MOAT_ACT_ALLOW, 0) == 0 &&
		  netrules_set_mode(pin_b, 7, MOAT_MODE_ENFORCE, MOAT_ACT_ALLOW, 0) == 0,
	      "writes to two pin directories succeed", "failed");
	CHECK(mode_in(pin_a, 7) == MOAT_MODE_MONITOR && mode_in(pin_b, 7) == MOAT_MODE_ENFORCE,
	      "two pin directories in one process keep their own maps", "a %d, b %d",
	      mode_in(pin_a, 7), mode_in(pin_b, 7));
	opened = open_fds();
	CHECK_EQ_INT(opened - base, 2, "each directory's map was opened once");

	for (int i = 0; i < 100; i++) {
		netrules_set_mode(pin_a, 8, MOAT_MODE_ENFORCE, MOAT_ACT_DENY, 0);
		netrules_set_mode(pin_b, 8, MOAT_MODE_ENFORCE, MOAT_ACT_DENY, 0);
	}
	CHECK_EQ_INT(open_fds(), opened, "100 more calls open no map again");
	snprintf(slashed, sizeof(slashed), "%s//", pin_a);
	CHECK(netrules_set_mode(slashed, 9, MOAT_MODE_ENFORCE, MOAT_ACT_ALLOW, 0) == 0 &&
		  open_fds() == opened && mode_in(pin_a, 9) == MOAT_MODE_ENFORCE,
	      "a trailing slash names the same directory (no second open)", "fds %d, want %d",
	      open_fds(), opened);

	err = netrules_cgroup_state(pin_a, 7, &st);
	CHECK_EQ_INT(err, -ENOENT, "a map that is not pinned is -ENOENT");
	CHECK_EQ_INT(open_fds(), opened, "a failed open keeps nothing open");
	if (pin_map(pin_a, "cgroup_state", sizeof(struct moat_cgroup_state)) == 0) {
		char path[256];
		struct moat_cgroup_state want = {.learned = 5};
		uint64_t cgid = 7;
		int fd;

		snprintf(path, sizeof(path), "%s/cgroup_state", pin_a);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_map_update_elem(fd, &cgid, &want, BPF_ANY);
			close(fd);
		}
		err = netrules_cgroup_state(pin_a, 7, &st);
		CHECK(err == 0 && st.learned == 5, "a map pinned after a failed open is found",
		      "err %d, learned %lld", err, (long long)st.learned);
	}

	/* moat trace's case: its own pin directory cleared and loaded again in one process. */
	CHECK_EQ_INT(loader_clear(pin_a), 0, "loader_clear removes the first directory");
	/* Open before: a's cgroup_cfg and cgroup_state, b's cgroup_cfg. */
	CHECK_EQ_INT(open_fds(), opened - 1, "loader_clear closes that directory's maps only");
	if (make_dir(pin_a) == 0 && pin_map(pin_a, "cgroup_cfg", cfg_size) == 0) {
		CHECK(netrules_set_mode(pin_a, 7, MOAT_MODE_ENFORCE, MOAT_ACT_DENY, 0) == 0 &&
			  mode_in(pin_a, 7) == MOAT_MODE_ENFORCE,
		      "a directory pinned again is written afresh, not through the old maps",
		      "mode %d", mode_in(pin_a, 7));
	}
	CHECK(mode_in(pin_b, 7) == MOAT_MODE_ENFORCE, "the other directory is untouched", "mode %d",
	      mode_in(pin_b, 7));

	netrules_close(NULL);
	CHECK_EQ_INT(open_fds(), base, "netrules_close(NULL) closes every open map");
out:
	loader_clear(pin_a);
	loader_clear(pin_b);
	return TEST_EXIT();
}
