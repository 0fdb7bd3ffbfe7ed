/* loader.c - load, pin, attach and detach moat's BPF programs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dns.skel.h"
#include "exec.skel.h"
#include "net.skel.h"
#include "oom.skel.h"
#include "veth.skel.h"

#include "cgroup.h"
#include "fs.h"
#include "loader.h"
#include "moat/maps.h"
#include "log.h"
#include "netrules.h"
#include "vethguard.h"

/* Advice for the common ways a load fails. */
static const char *load_hint(int err)
{
	switch (-err) {
	case EPERM: return "run moat as root (CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN)";
	case EACCES:
		return "the verifier rejected a program; run with -v for its log and report it";
	case ENOENT:
	case ESRCH:
		return "the kernel lacks BTF (/sys/kernel/btf/vmlinux) or a hook; moat needs "
		       "Linux >= 5.8 built with CONFIG_DEBUG_INFO_BTF=y";
	case EINVAL:
		return "maps pinned by another moat version may differ: run 'moat clear' and retry";
	default: return "run with -v for the verifier log";
	}
}

static int ensure_dir(const char *path)
{
	return fs_mkdir_p(path, 0700);
}

uint32_t loader_pinned_ring_bytes(const char *pin_dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/events", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

/* The OOM program (bpf/oom.bpf.c): optional. A kernel without the oom/mark_victim
 * tracepoint loses OOM reports (Docker's "oom" event still comes), nothing else. */
static void loader_load_oom(struct loader *l, const struct bpf_object_open_opts *opts,
			    uint32_t ring_bytes)
{
	int err;

	l->oom = oom_bpf__open_opts(opts);
	if (!l->oom) {
		log_warn("cannot open the OOM program: %s; OOM kills are not reported from the "
			 "kernel",
			 strerror(errno));
		return;
	}
	l->oom->rodata->rb_wakeup_bytes = ring_bytes / 8;
	l->oom->rodata->page_kb = (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
	err = bpf_map__set_max_entries(l->oom->maps.events, ring_bytes);
	if (!err)
		err = oom_bpf__load(l->oom);
	if (err) {
		log_warn("cannot load the OOM program (raw_tp/mark_victim): %s; OOM kills are not "
			 "reported from the kernel",
			 strerror(-err));
		oom_bpf__destroy(l->oom);
		l->oom = NULL;
	}
}

int loader_load(struct loader *l, const char *pin_dir, uint32_t ring_bytes)
{
	uint32_t pinned = loader_pinned_ring_bytes(pin_dir);
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	char links[PATH_MAX];
	int err;

	memset(l, 0, sizeof(*l));
	snprintf(l->pin_dir, sizeof(l->pin_dir), "%s", pin_dir);
	snprintf(links, sizeof(links), "%s/links", pin_dir);
	err = ensure_dir(pin_dir);
	if (!err)
		err = ensure_dir(links);
	if (err) {
		log_error("cannot create %s: %s (is bpffs mounted at /sys/fs/bpf? "
			  "mount -t bpf bpf /sys/fs/bpf)",
			  pin_dir, strerror(-err));
		return err;
	}

	l->net = net_bpf__open_opts(&opts);
	l->exec = exec_bpf__open_opts(&opts);
	l->dns = dns_bpf__open_opts(&opts);
	l->veth = veth_bpf__open_opts(&opts);
	if (!l->net || !l->exec || !l->dns || !l->veth) {
		err = -errno;
		log_error("cannot open the BPF objects: %s", strerror(-err));
		goto cleanup;
	}
	if (!ring_bytes)
		ring_bytes = MOAT_RINGBUF_BYTES;
	if (pinned && pinned != ring_bytes) {
		log_warn(
		    "the pinned ring buffer %s/events is %u KiB, not the %u KiB configured; it "
		    "keeps its size until 'moat clear' (which also lifts enforcement) and a "
		    "restart",
		    pin_dir, pinned >> 10, ring_bytes >> 10);
		ring_bytes = pinned;
	}
	if (bpf_map__set_max_entries(l->net->maps.events, ring_bytes) ||
	    bpf_map__set_max_entries(l->exec->maps.events, ring_bytes) ||
	    bpf_map__set_max_entries(l->dns->maps.events, ring_bytes) ||
	    bpf_map__set_max_entries(l->veth->maps.events, ring_bytes)) {
		err = -EINVAL;
		log_error(
		    "cannot size the ring buffer at %u bytes: it must be a power of two of at "
		    "least a page",
		    ring_bytes);
		goto cleanup;
	}
	l->net->rodata->rb_wakeup_bytes = ring_bytes / 8;
	l->exec->rodata->rb_wakeup_bytes = ring_bytes / 8;
	l->dns->rodata->rb_wakeup_bytes = ring_bytes / 8;
	l->veth->rodata->rb_wakeup_bytes = ring_bytes / 8;
	/* The first load creates and pins the shared maps; the others reuse them. */
	err = net_bpf__load(l->net);
	if (err) {
		log_error("cannot load the connect/sendmsg programs: %s (%s)", strerror(-err),
			  load_hint(err));
		goto cleanup;
	}
	err = exec_bpf__load(l->exec);
	if (err) {
		log_error("cannot load the exec programs (tp_btf/sched_process_exec): %s (%s)",
			  strerror(-err), load_hint(err));
		goto cleanup;
	}
	err = dns_bpf__load(l->dns);
	if (err) {
		log_error("cannot load the DNS programs (cgroup_skb): %s (%s)", strerror(-err),
			  load_hint(err));
		goto cleanup;
	}
	err = veth_bpf__load(l->veth);
	if (err) {
		log_error("cannot load the veth guard (tc): %s (%s)", strerror(-err),
			  load_hint(err));
		goto cleanup;
	}
	loader_load_oom(l, &opts, ring_bytes);
	log_info("loaded: connect/sendmsg/bind/socket (cgroup), exec/exit (tp_btf), DNS and the "
		 "egress backstop (cgroup_skb), the veth guard (tc), one ring buffer; "
		 "kprobes/fentry not needed ('moat probe' for details)");
	return 0;
cleanup:
	loader_close(l);
	return err;
}

/* Attach prog (to cgroup cg_fd when >= 0) and pin the link at path. If a
 * link is pinned there already, switch it to prog in place; if the kernel
 * refuses that, attach anew, then replace the pin (the old link goes when
 * its last reference does). Returns 0 or -errno. */
static int attach_pinned(struct bpf_program *prog, int cg_fd, const char *path)
{
	struct bpf_link *old = NULL, *link;
	int err;

	if (access(path, F_OK) == 0)
		old = bpf_link__open(path);

	if (old) {
		err = bpf_link__update_program(old, prog);
		if (!err) {
			bpf_link__disconnect(old);
			bpf_link__destroy(old);
			log_debug("%s: switched to the new program in place", path);
			return 0;
		}
		log_debug("%s: in-place update refused (%s), re-attaching", path, strerror(-err));
	}
	link = cg_fd >= 0 ? bpf_program__attach_cgroup(prog, cg_fd) : bpf_program__attach(prog);
	if (!link) {
		err = -errno;
		goto cleanup;
	}
	if (old) {
		unlink(path);
		/* Drop the old attachment now that the new one runs. */
		bpf_link__destroy(old);
		old = NULL;
	}
	err = bpf_link__pin(link, path);
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
cleanup:
	if (old) {
		bpf_link__disconnect(old);
		bpf_link__destroy(old);
	}
	return err;
}

int loader_attach(struct loader *l, char cgroups[][4096], int n)
{
	struct bpf_program *cg_progs[] = {
	    l->net->progs.handle_connect4,    l->net->progs.handle_connect6,
	    l->net->progs.handle_sendmsg4,    l->net->progs.handle_sendmsg6,
	    l->net->progs.handle_sock_create, l->net->progs.handle_bind4,
	    l->net->progs.handle_bind6,	      l->dns->progs.handle_dns_egress,
	    l->dns->progs.handle_dns_ingress,
	};
	struct bpf_program *tp_progs[] = {l->exec->progs.handle_exec, l->exec->progs.handle_exit};
	int watch_fd = bpf_map__fd(l->net->maps.watch_cgroups);
	char path[PATH_MAX];
	int err = 0;

	for (int i = 0; i < n; i++) {
		uint64_t cgid = cgroup_id_of(cgroups[i]);
		int fd = open(cgroups[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		__u32 one = 1;

		if (fd < 0 || !cgid) {
			err = -errno;
			log_error("cannot open cgroup %s: %s (is it a cgroup v2 directory?)",
				  cgroups[i], strerror(errno));
			if (fd >= 0)
				close(fd);
			return err;
		}
		for (size_t p = 0; p < sizeof(cg_progs) / sizeof(cg_progs[0]); p++) {
			snprintf(path, sizeof(path), "%s/links/%s-%llu", l->pin_dir,
				 bpf_program__name(cg_progs[p]), (unsigned long long)cgid);
			err = attach_pinned(cg_progs[p], fd, path);
			if (err) {
				log_error("failed to attach %s to %s: %s (is cgroup v2 mounted "
					  "there, and are you root?)",
					  bpf_program__name(cg_progs[p]), cgroups[i],
					  strerror(-err));
				close(fd);
				return err;
			}
		}
		close(fd);
		if (bpf_map_update_elem(watch_fd, &cgid, &one, BPF_ANY)) {
			err = -errno;
			log_error("cannot watch cgroup %s: %s", cgroups[i], strerror(errno));
			return err;
		}
		log_info("attached to %s (cgroup id %llu)", cgroups[i], (unsigned long long)cgid);
	}
	for (size_t p = 0; p < sizeof(tp_progs) / sizeof(tp_progs[0]); p++) {
		snprintf(path, sizeof(path), "%s/links/%s", l->pin_dir,
			 bpf_program__name(tp_progs[p]));
		err = attach_pinned(tp_progs[p], -1, path);
		if (err) {
			log_error("failed to attach %s: %s (tp_btf needs kernel BTF)",
				  bpf_program__name(tp_progs[p]), strerror(-err));
			return err;
		}
	}
	if (l->oom) {
		snprintf(path, sizeof(path), "%s/links/%s", l->pin_dir,
			 bpf_program__name(l->oom->progs.handle_oom_victim));
		if (attach_pinned(l->oom->progs.handle_oom_victim, -1, path))
			log_warn("cannot attach the OOM program (oom/mark_victim): OOM kills are "
				 "not reported from the kernel (does this kernel have the "
				 "tracepoint? moat probe)");
	}
	loader_socket_tp(l, 1);
	return 0;
}

int loader_socket_tp(struct loader *l, int on)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/links/%s", l->pin_dir,
		 bpf_program__name(l->net->progs.handle_socket_tp));
	if (!on) {
		/* The pin holds the link: removing it detaches the program. */
		if (unlink(path) && errno != ENOENT)
			return -errno;
		return 0;
	}
	/* Reporting only (the veth guard enforces): a kernel without tracefs loses the report
	 * of who opened a packet socket, nothing else. */
	err = attach_pinned(l->net->progs.handle_socket_tp, -1, path);
	if (err)
		log_warn("cannot attach the socket() tracepoint (%s): packet sockets opened in "
			 "containers are not reported (mount tracefs: mount -t tracefs tracefs "
			 "/sys/kernel/tracing)",
			 strerror(-err));
	return err;
}

int loader_events_fd(const struct loader *l)
{
	return bpf_map__fd(l->net->maps.events);
}

int loader_ring_fill(int ring_fd, uint64_t *used, uint64_t *size)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	volatile const uint64_t *cons, *prod;
	void *c, *p;

	if (bpf_obj_get_info_by_fd(ring_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	/* Page 0: the consumer position; page 1: the producer position. */
	c = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, ring_fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, ring_fd, page);
	if (p == MAP_FAILED) {
		int err = -errno;

		munmap(c, (size_t)page);
		return err;
	}
	cons = c;
	prod = p;
	*used = __atomic_load_n(prod, __ATOMIC_ACQUIRE) - __atomic_load_n(cons, __ATOMIC_ACQUIRE);
	*size = info.max_entries;
	munmap(p, (size_t)page);
	munmap(c, (size_t)page);
	return 0;
}

int loader_veth_out_fd(const struct loader *l)
{
	return bpf_program__fd(l->veth->progs.handle_veth_out);
}

int loader_veth_in_fd(const struct loader *l)
{
	return bpf_program__fd(l->veth->progs.handle_veth_in);
}

void loader_close(struct loader *l)
{
	oom_bpf__destroy(l->oom);
	l->oom = NULL;
	veth_bpf__destroy(l->veth);
	l->veth = NULL;
	dns_bpf__destroy(l->dns);
	exec_bpf__destroy(l->exec);
	net_bpf__destroy(l->net);
	l->dns = NULL;
	l->exec = NULL;
	l->net = NULL;
}

/* Unlink every file in dir; for links, detach first. Returns the first
 * error, continuing past it. */
static int clear_dir(const char *dir, int detach)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (detach) {
			int fd = bpf_obj_get(path);

			if (fd >= 0) {
				/* Tracing links cannot be detached by command (EOPNOTSUPP):
				 * removing the pin below releases them. */
				if (bpf_link_detach(fd) && errno != EINVAL && errno != EOPNOTSUPP &&
				    !err)
					err = -errno;
				close(fd);
			}
		}
		if (unlink(path) && !err) {
			err = -errno;
			log_error("cannot remove %s: %s", path, strerror(errno));
		}
	}
	closedir(d);
	return err;
}

/* Take the veth guard off every veth in the pinned veth_cfg (veths already gone took their
 * filters with them). */
static void clear_veths(const char *pin_dir)
{
	char path[PATH_MAX];
	__u32 key, next;
	void *prev = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/veth_cfg", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		int err = vethguard_detach((int)next);

		if (err && err != -ENODEV && err != -ENOENT && err != -EINVAL)
			log_warn("cannot take the veth guard off interface %u: %s", next,
				 strerror(-err));
		key = next;
		prev = &key;
	}
	close(fd);
}

int loader_clear(const char *pin_dir)
{
	char links[PATH_MAX];
	int err, err2;

	netrules_close(pin_dir); /* its open maps are the pins going away */
	clear_veths(pin_dir);
	snprintf(links, sizeof(links), "%s/links", pin_dir);
	err = clear_dir(links, 1);
	if (rmdir(links) && errno != ENOENT && !err)
		err = -errno;
	err2 = clear_dir(pin_dir, 0);
	if (!err)
		err = err2;
	if (rmdir(pin_dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int loader_attached(const char *pin_dir)
{
	char links[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(links, sizeof(links), "%s/links", pin_dir);
	d = opendir(links);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Does the comma-separated list in file contain word? */
static int file_has_word(const char *file, const char *word)
{
	char buf[512], *save = NULL;
	FILE *f = fopen(file, "re");
	int found = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		for (char *w = strtok_r(buf, ",", &save); w && !found;
		     w = strtok_r(NULL, ",", &save))
			found = strcmp(w, word) == 0;
	}
	fclose(f);
	return found;
}

void loader_print_features(void)
{
	static const struct {
		enum bpf_prog_type type;
		const char *name, *use;
	} types[] = {
	    {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "cgroup sock_addr",
	     "connect4/6 and sendmsg4/6: connections and UDP sends, deny at connect()"},
	    {BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb",
	     "DNS queries and answers from packets; the egress backstop"},
	    {BPF_PROG_TYPE_CGROUP_SOCK, "cgroup sock", "sock_create: refuse raw and other sockets"},
	    {BPF_PROG_TYPE_SCHED_CLS, "tc (sched_cls)",
	     "the veth guard: every frame a container sends"},
	    {BPF_PROG_TYPE_TRACING, "tracing (tp_btf)", "process exec and exit"},
	    {BPF_PROG_TYPE_RAW_TRACEPOINT, "raw tracepoint", "OOM kills (oom/mark_victim)"},
	    {BPF_PROG_TYPE_KPROBE, "kprobe", "not used: DNS is parsed from packets instead"},
	    {BPF_PROG_TYPE_LSM, "lsm", "not used"},
	};
	struct stat st;

	printf("%-22s %-9s %s\n", "FEATURE", "KERNEL", "MOAT USES IT FOR");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int ok = libbpf_probe_bpf_prog_type(types[i].type, NULL);
		const char *s = ok == 1 ? "yes" : ok == 0 ? "no" : "unknown";

		/* Tracing programs cannot be probed without an attach target;
		 * kprobes and LSM load anywhere but attach only where the kernel
		 * has the kprobe PMU / the bpf LSM enabled. */
		if (types[i].type == BPF_PROG_TYPE_TRACING)
			s = stat("/sys/kernel/btf/vmlinux", &st) == 0 ? "yes" : "no btf";
		else if (types[i].type == BPF_PROG_TYPE_KPROBE && ok == 1)
			s = stat("/sys/bus/event_source/devices/kprobe", &st) == 0 ? "yes"
										   : "no pmu";
		else if (types[i].type == BPF_PROG_TYPE_LSM)
			s = file_has_word("/sys/kernel/security/lsm", "bpf") ? "yes" : "off";
		printf("%-22s %-9s %s\n", types[i].name, s, types[i].use);
	}
	printf("%-22s %-9s %s\n", "ring buffer",
	       libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1 ? "yes" : "no",
	       "one ordered event stream for every program");
	printf("%-22s %-9s %s\n", "bpf_loop",
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_loop, NULL) == 1 ? "yes"
											   : "no",
	       "bounded DNS name walks");
	printf("%-22s %-9s %s\n", "socket storage",
	       libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) == 1 ? "yes" : "no",
	       "per-socket DNS queries waiting for answers");
	printf("%-22s %-9s %s\n", "oom/mark_victim",
	       stat("/sys/kernel/tracing/events/oom/mark_victim", &st) == 0 ||
		       stat("/sys/kernel/debug/tracing/events/oom/mark_victim", &st) == 0
		   ? "yes"
		   : "unknown",
	       "the OOM killer's victims, as it picks them (tracefs shows it)");
	printf("%-22s %-9s %s\n", "kernel BTF",
	       stat("/sys/kernel/btf/vmlinux", &st) == 0 ? "yes" : "no", "CO-RE relocations");
}
