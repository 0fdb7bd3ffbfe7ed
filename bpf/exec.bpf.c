// SPDX-License-Identifier: GPL-2.0
/* exec.bpf.c - process execution and exit in watched cgroups.
 *
 * Why these hooks: sched_process_exec fires from exec_binprm() once the new
 * program image is committed (the exec can no longer fail), in the context
 * of the new program, with the linux_binprm still alive: bprm->filename is
 * the path passed to execve and bprm->interp the file actually run (they
 * differ for #! scripts and binfmt_misc). tp_btf gives typed access to
 * bprm, which the classic tracepoint format does not. sched_process_exit
 * fires from do_exit() for every thread; we report the last one of a
 * thread group (signal->live reached 0). kprobes and fentry are not
 * needed (and not available on every kernel moat targets).
 */
#include "common.bpf.h"

/* Is the current task below one of the watched cgroups? Walks the
 * ancestors from the root down; cheap: at most MOAT_MAX_CGROUP_DEPTH
 * helper calls and hash lookups, and usually 2-3. */
static __always_inline int exec__watched(void)
{
	for (int level = 1; level < MOAT_MAX_CGROUP_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (!id)
			return 0;
		if (bpf_map_lookup_elem(&watch_cgroups, &id))
			return 1;
	}
	return 0;
}

/* Copy the new program's argv (the NUL-separated strings between
 * mm->arg_start and mm->arg_end) into e->args, at most MOAT_ARGS_LEN
 * bytes. The pages were just written by the exec, so they are present. */
static __always_inline void exec__read_args(struct moat_exec_event *e, struct task_struct *task)
{
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	unsigned long len = end - start;

	if (end <= start)
		return;
	if (len > MOAT_ARGS_LEN) {
		len = MOAT_ARGS_LEN;
		e->flags |= MOAT_EXEC_F_ARGS_TRUNC;
	}
	if (bpf_probe_read_user(e->args, len & (MOAT_ARGS_LEN * 2 - 1) & 0x3ff, (void *)start) == 0)
		e->args_len = len;
	if (e->args_len == MOAT_ARGS_LEN)
		e->args[MOAT_ARGS_LEN - 1] = 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct moat_exec_event *e;
	const char *filename, *interp;

	if (!exec__watched())
		return 0;
	e = events__reserve(MOAT_PROG_EXEC, sizeof(*e));
	if (!e)
		return 0;
	hdr__fill_task(&e->hdr, MOAT_EV_EXEC, sizeof(*e));
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->args_len = 0;
	e->argc = BPF_CORE_READ(bprm, argc);
	e->flags = 0;
	__builtin_memset(e->pad0, 0, sizeof(e->pad0));
	filename = BPF_CORE_READ(bprm, filename);
	interp = BPF_CORE_READ(bprm, interp);
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename) < 0) {
		e->filename[0] = 0;
		stats__inc(MOAT_PROG_EXEC, MOAT_STAT_ERRORS);
	}
	e->interp[0] = 0;
	if (interp && interp != filename &&
	    bpf_probe_read_kernel_str(e->interp, sizeof(e->interp), interp) < 0)
		e->interp[0] = 0;
	e->args[0] = 0;
	exec__read_args(e, task);
	events__submit(MOAT_PROG_EXEC, e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct moat_exit_event *e;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0; /* other threads of the group still run */
	if (!exec__watched())
		return 0;
	e = events__reserve(MOAT_PROG_EXIT, sizeof(*e));
	if (!e)
		return 0;
	hdr__fill_task(&e->hdr, MOAT_EV_EXIT, sizeof(*e));
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->start_ns = BPF_CORE_READ(task, start_boottime);
	events__submit(MOAT_PROG_EXIT, e);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
