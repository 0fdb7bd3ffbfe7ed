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

/* Scratch space for the kill-exec decision, which must not depend on the
 * ring buffer having room (a full buffer loses the event, never the kill). */
struct exec__scratch {
	char path[MOAT_PATH_LEN];
	struct moat_exec_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec__scratch);
} exec_scratch SEC(".maps");

struct exec__scan_ctx {
	struct exec__scratch *s;
	__u32 start; /* index after the last '/' seen */
};

/* bpf_loop callback: one byte of s->path; stops at the NUL. */
static long exec__scan(__u32 i, void *data)
{
	struct exec__scan_ctx *c = data;
	char ch;

	if (i >= MOAT_PATH_LEN)
		return 1;
	ch = c->s->path[i & (MOAT_PATH_LEN - 1)];
	if (!ch)
		return 1;
	if (ch == '/')
		c->start = i + 1;
	return 0;
}

/* Put the base name of the NUL-terminated s->path into s->key.name
 * (zero-padded, cut at MOAT_EXEC_NAME_LEN - 1 bytes). bpf_loop keeps the
 * verifier's work constant whatever the path length. */
static __always_inline void exec__basename(struct exec__scratch *s)
{
	struct exec__scan_ctx c = {.s = s};

	bpf_loop(MOAT_PATH_LEN, exec__scan, &c, 0);
	__builtin_memset(s->key.name, 0, sizeof(s->key.name));
	bpf_probe_read_kernel_str(s->key.name, sizeof(s->key.name),
				  &s->path[c.start & (MOAT_PATH_LEN - 1)]);
}

/* Is name "busybox"? (No memcmp in BPF: compare the bytes.) */
static __always_inline int exec__is_busybox(const char *n)
{
	return n[0] == 'b' && n[1] == 'u' && n[2] == 's' && n[3] == 'y' && n[4] == 'b' &&
	       n[5] == 'o' && n[6] == 'x' && n[7] == 0;
}

/* Is s->key.name denied for cgroup cgid (or globally)? Returns the rule or NULL. */
static __always_inline struct moat_exec_rule *exec__denied(struct exec__scratch *s, __u64 cgid)
{
	struct moat_exec_rule *r;

	if (!s->key.name[0])
		return NULL;
	s->key.cgroup_id = cgid;
	r = bpf_map_lookup_elem(&exec_deny, &s->key);
	if (r)
		return r;
	s->key.cgroup_id = 0;
	return bpf_map_lookup_elem(&exec_deny, &s->key);
}

/* The kill-exec policy: for a cgroup with kill_exec set, SIGKILL the new
 * program when the base name of the path passed to execve, of the #!
 * interpreter, of argv[0] (busybox runs applets by argv[0]) or of the file
 * actually executed is in exec_deny. The signal is pending before the new
 * image runs its first instruction in userspace. Returns the rule id, or 0. */
static __always_inline __u32 exec__kill(struct task_struct *task, struct linux_binprm *bprm,
					__u64 cgid)
{
	struct moat_cgroup_cfg *cfg = bpf_map_lookup_elem(&cgroup_cfg, &cgid);
	struct moat_exec_rule *r = NULL;
	struct exec__scratch *s;
	__u32 zero = 0;
	const char *interp, *arg0;
	long n;

	if (!cfg || !cfg->kill_exec)
		return 0;
	s = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!s)
		return 0;
	if (bpf_probe_read_kernel_str(s->path, sizeof(s->path), BPF_CORE_READ(bprm, filename)) >
	    0) {
		exec__basename(s);
		r = exec__denied(s, cgid);
	}
	interp = BPF_CORE_READ(bprm, interp);
	if (!r && interp && bpf_probe_read_kernel_str(s->path, sizeof(s->path), interp) > 0) {
		exec__basename(s);
		r = exec__denied(s, cgid);
	}
	arg0 = (const char *)BPF_CORE_READ(task, mm, arg_start);
	n = bpf_probe_read_user_str(s->path, sizeof(s->path), arg0);
	if (!r && n > 0) {
		exec__basename(s);
		r = exec__denied(s, cgid);
		/* "busybox sh ...": the applet is argv[1]. */
		if (!r && exec__is_busybox(s->key.name) &&
		    bpf_probe_read_user_str(s->path, sizeof(s->path), arg0 + n) > 0) {
			exec__basename(s);
			r = exec__denied(s, cgid);
		}
	}
	if (!r &&
	    bpf_probe_read_kernel_str(s->path, MOAT_EXEC_NAME_LEN,
				      BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name)) > 0) {
		exec__basename(s);
		r = exec__denied(s, cgid);
	}
	if (!r)
		return 0;
	bpf_send_signal(9 /* SIGKILL */);
	stats__inc(MOAT_PROG_EXEC, MOAT_STAT_DENIED);
	return r->rule_id ? r->rule_id : 1;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct moat_exec_event *e;
	const char *filename, *interp;
	__u32 killed;

	if (!exec__watched())
		return 0;
	killed = exec__kill(task, bprm, bpf_get_current_cgroup_id());
	e = events__reserve(MOAT_PROG_EXEC, sizeof(*e));
	if (!e)
		return 0;
	hdr__fill_task(&e->hdr, MOAT_EV_EXEC, sizeof(*e));
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->args_len = 0;
	e->argc = BPF_CORE_READ(bprm, argc);
	e->flags = killed ? MOAT_EXEC_F_KILLED : 0;
	e->pad0 = 0;
	e->kill_rule = killed;
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
	if (bpf_probe_read_kernel_str(e->exe, sizeof(e->exe),
				      BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name)) < 0)
		e->exe[0] = 0;
	e->args[0] = 0;
	exec__read_args(e, task);
	if (!e->args_len)
		e->flags |= MOAT_EXEC_F_NOARGS;
	events__submit_urgent(MOAT_PROG_EXEC, e);
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
