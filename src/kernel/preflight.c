/* preflight.c - check the host before loading anything. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cgroup.h"
#include "log.h"
#include "preflight.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

/* Mount fstype at dir when dir holds something else. 0 or -errno. */
static int ensure_mount(const char *dir, const char *fstype, unsigned long magic)
{
	struct statfs st;

	if (statfs(dir, &st) == 0 && (unsigned long)st.f_type == magic)
		return 0;
	if (mount(fstype == NULL ? "none" : fstype, dir, fstype, 0, NULL)) {
		int err = -errno;

		log_error("%s is not mounted at %s and mounting it failed: %s "
			  "(mount -t %s %s %s)",
			  fstype, dir, strerror(errno), fstype, fstype, dir);
		return err;
	}
	log_info("mounted %s at %s", fstype, dir);
	return 0;
}

int preflight(char *cg_mount, size_t len)
{
	struct stat st;
	int err;

	if (geteuid() != 0) {
		log_error("moat must run as root: it loads BPF programs and attaches them to "
			  "cgroups (try: sudo moat ...)");
		return -EPERM;
	}
	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		log_error("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): moat needs "
			  "Linux >= 5.8 built with CONFIG_DEBUG_INFO_BTF=y");
		return -ENOENT;
	}
	err = ensure_mount("/sys/fs/bpf", "bpf", BPF_FS_MAGIC);
	if (err)
		return err;
	/* tp_btf does not need tracefs, but tools and tp/ fallbacks do. */
	if (stat("/sys/kernel/tracing", &st) == 0 &&
	    ensure_mount("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC))
		log_warn("continuing without tracefs: moat's programs do not need it");
	err = cgroup_find_v2_mount(cg_mount, len);
	if (err) {
		log_error("no cgroup v2 mount found: moat attaches to cgroup v2. Mount it "
			  "(mount -t cgroup2 none /sys/fs/cgroup/unified) or boot with "
			  "systemd.unified_cgroup_hierarchy=1");
		return err;
	}
	log_debug("cgroup v2 at %s", cg_mount);
	return 0;
}

int preflight_cgroups(const char *cg_mount, char given[][4096], int n_given, char out[][4096],
		      int max)
{
	int n = 0;

	if (n_given > 0) {
		for (int i = 0; i < n_given && n < max; i++) {
			if (given[i][0] == '/')
				snprintf(out[n], 4096, "%s", given[i]);
			else
				snprintf(out[n], 4096, "%s/%s", cg_mount, given[i]);
			n++;
		}
		return n;
	}
	n = cgroup_detect_parents(cg_mount, out, max);
	if (n == 0) {
		log_error("no container runtime cgroup under %s (looked for docker/ and "
			  "system.slice/): start Docker and a container first, or name the "
			  "cgroup with --cgroup PATH",
			  cg_mount);
		return -ENOENT;
	}
	return n;
}
