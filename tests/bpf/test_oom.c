/* test_oom.c - the OOM program (bpf/oom.bpf.c) run with BPF_PROG_TEST_RUN on the arguments
 * the oom/mark_victim tracepoint passes (args[0] the victim task, args[1] its uid), with this
 * process as the victim: every field of the MOAT_EV_OOM event is checked against what the
 * kernel says of this process (/proc/self/statm, oom_score_adj, its cgroup's inode).
 *
 * Why not a real OOM kill: on this test host the memory controller is bound to cgroup v1
 * (hybrid hierarchy), which moat's tests must not write, and `docker run --memory` is
 * discarded; a system-wide OOM would kill on the host. So the program gets a real task
 * pointer instead: this process's own, read with bpf_get_current_task() by a two-instruction
 * raw tracepoint program run here (its 64 bits in two runs: BPF_PROG_TEST_RUN returns 32).
 *
 * The skeleton's maps are private (nothing pinned). This process moves into a cgroup of its
 * own under the cgroup2 mount (never the root cgroup) and back before cleaning up. Run as
 * root.
 *
 * `test_oom --fire PIN_DIR CGROUP_DIR` is the other half of tests/integration/test_resources.sh:
 * it joins CGROUP_DIR (a test container's cgroup), runs the handle_oom_victim program that
 * `moat run` attached (found through its pinned link under PIN_DIR) on this process, so that
 * the event goes through moat run's real ring buffer and loop, prints "fired UNIX_NS" and
 * returns to its own cgroup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "cgroup.h"
#include "moat/events.h"
#include "oom.skel.h"
#include "test.h"

static struct moat_oom_event last;
static int n_events;

static int on_event(void *ctx, void *data, size_t len)
{
	if (len >= sizeof(last))
		memcpy(&last, data, sizeof(last));
	n_events++;
	return 0;
}

/* bpf_get_current_task() of this thread, through a raw tracepoint program run here:
 * shift 0 gives the low 32 bits, shift 32 the high ones. Returns 0 on failure. */
static uint64_t current_task_half(int shift)
{
	struct bpf_insn prog[] = {
	    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_current_task},
	    {.code = BPF_ALU64 | BPF_RSH | BPF_K, .dst_reg = BPF_REG_0, .imm = shift},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	__u64 args[2] = {0};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args));
	int fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "task_ptr", "GPL", prog, 3, NULL);

	if (fd < 0)
		return 0;
	if (bpf_prog_test_run_opts(fd, &o))
		o.retval = 0;
	close(fd);
	return o.retval;
}

/* Run handle_oom_victim on (task, uid); returns its error (0 when it ran). */
static int run_oom(struct oom_bpf *skel, uint64_t task, uint32_t uid)
{
	__u64 args[2] = {task, uid};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args));

	return bpf_prog_test_run_opts(bpf_program__fd(skel->progs.handle_oom_victim), &o);
}

/* The --fire mode (see the top). Returns the exit code. */
static int fire(const char *pin_dir, const char *cg)
{
	char path[4200], home[8400], line[4200], mnt[4096];
	struct bpf_link_info info = {0};
	__u32 len = sizeof(info);
	__u64 args[2];
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args));
	struct timespec ts;
	int link, prog, err;

	snprintf(path, sizeof(path), "%s/links/handle_oom_victim", pin_dir);
	link = bpf_obj_get(path);
	if (link < 0 || bpf_obj_get_info_by_fd(link, &info, &len) ||
	    (prog = bpf_prog_get_fd_by_id(info.prog_id)) < 0) {
		fprintf(stderr, "no OOM program attached under %s: %s\n", pin_dir, strerror(errno));
		return 1;
	}
	if (cgroup_find_v2_mount(mnt, sizeof(mnt)) || cgroup_of_pid(getpid(), line, sizeof(line)))
		return 1;
	snprintf(home, sizeof(home), "%s%s", mnt, line);
	prctl(PR_SET_NAME, "moat-oom-fire");
	if (cgroup_enter(cg)) {
		fprintf(stderr, "cannot join %s\n", cg);
		return 1;
	}
	args[0] = current_task_half(0) | current_task_half(32) << 32;
	args[1] = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	err = bpf_prog_test_run_opts(prog, &o);
	cgroup_enter(home);
	if (err) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		return 1;
	}
	printf("fired %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return 0;
}

int main(int argc, char **argv)
{
	char mnt[4096], line[4200], home[8400], cg[4400], comm[16];
	unsigned long long size = 0, resident = 0, shared = 0;
	struct ring_buffer *rb = NULL;
	struct oom_bpf *skel;
	struct bpf_map *map;
	uint64_t task, cgid;
	long page_kb = sysconf(_SC_PAGESIZE) / 1024;
	__u32 one = 1;
	FILE *f;
	char *mem;
	int err;

	if (argc == 4 && !strcmp(argv[1], "--fire"))
		return fire(argv[2], argv[3]);
	if (geteuid() != 0) {
		CHECK(0, "oom program", "run as root");
		return TEST_EXIT();
	}
	if (cgroup_find_v2_mount(mnt, sizeof(mnt)) || cgroup_of_pid(getpid(), line, sizeof(line))) {
		CHECK(0, "oom program: cgroup2 mount", "none found");
		return TEST_EXIT();
	}
	snprintf(home, sizeof(home), "%s%s", mnt, line);
	snprintf(cg, sizeof(cg), "%s/moat-test-oom-%d", mnt, (int)getpid());
	if (mkdir(cg, 0755) && errno != EEXIST) {
		CHECK(0, "oom program: test cgroup", "mkdir %s: %s", cg, strerror(errno));
		return TEST_EXIT();
	}
	cgid = cgroup_id_of(cg);
	skel = oom_bpf__open();
	CHECK(skel != NULL, "oom skeleton opens", "%s", strerror(errno));
	if (!skel)
		goto out;
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	err = oom_bpf__load(skel);
	CHECK(!err, "oom program loads (raw_tp/mark_victim)", "load: %s", strerror(-err));
	if (err)
		goto out;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	CHECK(rb != NULL, "ring buffer opens", "%s", strerror(errno));
	if (!rb)
		goto out;

	/* The victim: this process, in its own cgroup, with a name, an oom_score_adj and some
	 * anonymous memory of its own. */
	CHECK(cgroup_enter(cg) == 0, "this process joined the test cgroup", "%s", cg);
	prctl(PR_SET_NAME, "moat-oom-victim");
	f = fopen("/proc/self/oom_score_adj", "w");
	if (f) {
		fputs("7", f);
		fclose(f);
	}
	mem = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem != MAP_FAILED)
		memset(mem, 1, 8 << 20);
	task = current_task_half(0) | current_task_half(32) << 32;
	CHECK(task >> 48 == 0xffff, "a task pointer from bpf_get_current_task", "0x%llx",
	      (unsigned long long)task);

	/* Not watched: nothing. */
	n_events = 0;
	CHECK_EQ_INT(run_oom(skel, task, 4321), 0, "runs with BPF_PROG_TEST_RUN");
	ring_buffer__consume(rb);
	CHECK_EQ_INT(n_events, 0, "a victim outside the watched cgroups is not reported");

	/* Watched: one event describing this process. */
	bpf_map_update_elem(bpf_map__fd(skel->maps.watch_cgroups), &cgid, &one, BPF_ANY);
	f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%llu %llu %llu", &size, &resident, &shared) != 3)
		size = 0;
	if (f)
		fclose(f);
	n_events = 0;
	CHECK_EQ_INT(run_oom(skel, task, 4321), 0, "runs again, watched");
	ring_buffer__consume(rb);
	CHECK_EQ_INT(n_events, 1, "a victim in a watched cgroup is reported once");
	CHECK_EQ_INT(last.hdr.type, MOAT_EV_OOM, "type MOAT_EV_OOM");
	CHECK_EQ_INT(last.hdr.size, sizeof(struct moat_oom_event), "size");
	CHECK_EQ_INT(last.hdr.cgroup_id, cgid, "cgroup_id: the victim's cgroup");
	CHECK_EQ_INT(last.hdr.pid, getpid(), "pid: the victim's");
	CHECK_EQ_INT(last.hdr.tid, gettid(), "tid: the victim's thread");
	CHECK_EQ_INT(last.hdr.uid, 4321, "uid: the tracepoint's uid argument");
	CHECK_EQ_INT(last.hdr.gid, getgid(), "gid: the victim's real gid");
	snprintf(comm, sizeof(comm), "%.15s", last.hdr.comm);
	CHECK_EQ_STR(comm, "moat-oom-victim", "comm: the victim's");
	CHECK(last.hdr.ts_ns > 0, "ts_ns set", "%llu", (unsigned long long)last.hdr.ts_ns);
	CHECK(size && last.total_vm_kb >= (size - 64) * page_kb &&
		  last.total_vm_kb <= (size + 64) * page_kb,
	      "total_vm_kb: statm's size", "%llu kB, statm %llu pages",
	      (unsigned long long)last.total_vm_kb, size);
	CHECK(last.anon_rss_kb >= 8192 && last.anon_rss_kb <= resident * page_kb + 1024,
	      "anon_rss_kb: at least the 8 MiB written, at most the resident set",
	      "%llu kB, resident %llu pages", (unsigned long long)last.anon_rss_kb, resident);
	CHECK(last.file_rss_kb > 0 && last.anon_rss_kb + last.file_rss_kb + last.shmem_rss_kb <=
					  resident * page_kb + 1024,
	      "file_rss_kb and shmem_rss_kb: within the resident set", "file %llu shmem %llu kB",
	      (unsigned long long)last.file_rss_kb, (unsigned long long)last.shmem_rss_kb);
	CHECK_EQ_INT(last.oom_score_adj, 7, "oom_score_adj: the victim's");
	CHECK_EQ_INT(last.trigger_pid, getpid(), "trigger_pid: the task running the program");
	CHECK_EQ_INT(last.trigger_cgroup_id, cgid, "trigger_cgroup_id: its cgroup");
	snprintf(comm, sizeof(comm), "%.15s", last.trigger_comm);
	CHECK_EQ_STR(comm, "moat-oom-victim", "trigger_comm");
	CHECK_EQ_INT(last.pad0, 0, "padding zeroed");

	/* A bad task pointer (freed, forged) is read as nothing: no event, no crash. */
	n_events = 0;
	run_oom(skel, 0xffff888000000000ULL, 0);
	run_oom(skel, 0, 0);
	ring_buffer__consume(rb);
	CHECK_EQ_INT(n_events, 0, "an unreadable task pointer is not reported");

	f = fopen("/proc/self/oom_score_adj", "w");
	if (f) {
		fputs("0", f);
		fclose(f);
	}
	CHECK_EQ_INT(cgroup_enter(home), 0, "this process went back to its cgroup");
out:
	ring_buffer__free(rb);
	oom_bpf__destroy(skel);
	rmdir(cg);
	return TEST_EXIT();
}
