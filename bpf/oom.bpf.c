// SPDX-License-Identifier: GPL-2.0
/* oom.bpf.c - OOM kills in watched cgroups, as they happen.
 *
 * Why this hook: oom/mark_victim fires from mark_oom_victim(), which __oom_kill_process()
 * calls for the task the OOM killer chose, just before it sends SIGKILL (and from
 * out_of_memory() when the allocating task is already dying and is made the victim). It runs
 * in the context of the task whose allocation ran the OOM killer, NOT the victim's: for a
 * system-wide OOM that can be any task on the host. So the victim comes from the task
 * pointer the tracepoint passes (TP_PROTO(struct task_struct *task, uid_t uid)): its cgroup
 * v2 (task->cgroups->dfl_cgrp), ids, comm and memory counters are read from it, and current
 * is reported as the trigger. memcg OOMs (memory.max) and system-wide ones both pass here.
 *
 * raw_tp, not tp_btf: the arguments are the same (args[0] the task, args[1] the uid), the
 * reads go through bpf_probe_read_kernel (BPF_CORE_READ), and a raw tracepoint program can
 * be run with BPF_PROG_TEST_RUN on crafted arguments (tests/bpf/test_oom.c), which a tp_btf
 * program cannot. A real OOM kill cannot be provoked safely on every test host (hybrid
 * cgroups: no v2 memory controller, and v1 is off limits).
 */
#include "decide.bpf.h"

/* KiB per page (the loader sets it from sysconf(_SC_PAGESIZE)). */
const volatile __u64 page_kb = 4;

/* Is cgroup cg below one of the watched cgroups (its ancestors from level 1 down)? */
static __always_inline int oom__watched(struct cgroup *cg)
{
	int level = BPF_CORE_READ(cg, level);
	__u32 off = bpf_core_field_offset(struct cgroup, ancestors);

	for (int i = 1; i < MOAT_MAX_CGROUP_DEPTH; i++) {
		struct cgroup *anc = NULL;
		__u64 id;

		if (i > level)
			return 0;
		if (bpf_probe_read_kernel(&anc, sizeof(anc), (void *)cg + off + i * sizeof(anc)) ||
		    !anc)
			return 0;
		id = BPF_CORE_READ(anc, kn, id);
		if (bpf_map_lookup_elem(&watch_cgroups, &id))
			return 1;
	}
	return 0;
}

/* Pages of counter member (MM_ANONPAGES, ...) of mm, as the tracepoint itself reads them
 * (percpu_counter_read_positive: the shared count, per-CPU deltas not folded in). */
static __always_inline __u64 oom__pages(struct mm_struct *mm, int member)
{
	__s64 n = BPF_CORE_READ(mm, rss_stat[member].count);

	return n > 0 ? (__u64)n : 0;
}

SEC("raw_tp/mark_victim")
int handle_oom_victim(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct moat_oom_event *e;
	struct cgroup *cg;
	struct mm_struct *mm;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	if (!cg || !oom__watched(cg))
		return 0;
	/* Counted with the exit program: the per-program counters are a pinned array sized by
	 * MOAT_PROG_NR, which cannot grow without 'moat clear'. */
	e = events__reserve(MOAT_PROG_EXIT, sizeof(*e));
	if (!e)
		return 0;
	e->hdr.type = MOAT_EV_OOM;
	e->hdr.size = sizeof(*e);
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.cgroup_id = BPF_CORE_READ(cg, kn, id);
	e->hdr.pid = BPF_CORE_READ(task, tgid);
	e->hdr.tid = BPF_CORE_READ(task, pid);
	e->hdr.uid = (__u32)ctx->args[1];
	e->hdr.gid = BPF_CORE_READ(task, real_cred, gid.val);
	if (bpf_probe_read_kernel_str(e->hdr.comm, sizeof(e->hdr.comm), &task->comm) < 0)
		e->hdr.comm[0] = 0;
	mm = BPF_CORE_READ(task, mm);
	e->total_vm_kb = mm ? BPF_CORE_READ(mm, total_vm) * page_kb : 0;
	e->anon_rss_kb = mm ? oom__pages(mm, MM_ANONPAGES) * page_kb : 0;
	e->file_rss_kb = mm ? oom__pages(mm, MM_FILEPAGES) * page_kb : 0;
	e->shmem_rss_kb = mm ? oom__pages(mm, MM_SHMEMPAGES) * page_kb : 0;
	e->trigger_cgroup_id = bpf_get_current_cgroup_id();
	e->trigger_pid = pid_tgid >> 32;
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	e->pad0 = 0;
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	events__submit_urgent(MOAT_PROG_EXIT, e);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
