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
#include "decide.bpf.h"

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
 * (zero-padded, cut at MOAT_EXEC_NAME_LEN - 1 bytes), without one leading
 * '-' (a login shell's argv[0], "-sh", runs sh: busybox and the shells strip
 * it). bpf_loop keeps the verifier's work constant whatever the path length. */
static __always_inline void exec__basename(struct exec__scratch *s)
{
	struct exec__scan_ctx c = {.s = s};

	bpf_loop(MOAT_PATH_LEN, exec__scan, &c, 0);
	if (s->path[c.start & (MOAT_PATH_LEN - 1)] == '-')
		c.start++;
	__builtin_memset(s->key.name, 0, sizeof(s->key.name));
	bpf_probe_read_kernel_str(s->key.name, sizeof(s->key.name),
				  &s->path[c.start & (MOAT_PATH_LEN - 1)]);
}

/* Does name start with "busybox"? busybox runs the applet named by argv[1] whenever the
 * base name of argv[0] starts with "busybox" ("busybox", "busybox.static", "busyboxX"). (No
 * memcmp in BPF: compare the bytes.) */
static __always_inline int exec__is_busybox(const char *n)
{
	return n[0] == 'b' && n[1] == 'u' && n[2] == 's' && n[3] == 'y' && n[4] == 'b' &&
	       n[5] == 'o' && n[6] == 'x';
}

/* Is name the dynamic loader: "ld-linux*" (glibc: ld-linux-x86-64.so.2, ld-linux.so.2,
 * ld-linux-aarch64.so.1), "ld-musl-*" or "ld.so"? Run as a program it runs its first
 * argument that is not an option ("/lib64/ld-linux-x86-64.so.2 /bin/dash"). */
static __always_inline int exec__is_loader(const char *n)
{
	if (n[0] != 'l' || n[1] != 'd')
		return 0;
	if (n[2] == '.' && n[3] == 's' && n[4] == 'o' && !n[5])
		return 1;
	if (n[2] != '-')
		return 0;
	return (n[3] == 'l' && n[4] == 'i' && n[5] == 'n' && n[6] == 'u' && n[7] == 'x') ||
	       (n[3] == 'm' && n[4] == 'u' && n[5] == 's' && n[6] == 'l' && n[7] == '-');
}

/* Does the loader option in path take no value? ("--list", "--verify", "--inhibit-cache",
 * "--help", "--version", "--list-tunables", "--list-diagnostics"; every other option, such
 * as --library-path DIR or --argv0 NAME, takes the next argument.) path starts with "--". */
static __always_inline int exec__loader_flag(const char *p)
{
	return (p[2] == 'l' && p[3] == 'i' && p[4] == 's' && p[5] == 't') ||
	       (p[2] == 'v' && p[3] == 'e' && p[4] == 'r') || (p[2] == 'h' && p[3] == 'e') ||
	       (p[2] == 'i' && p[3] == 'n' && p[4] == 'h' && p[5] == 'i' && p[6] == 'b' &&
		p[7] == 'i' && p[8] == 't' && p[9] == '-' && p[10] == 'c');
}

/* Skip the loader's options from argv[1] (at arg) and return the address of the program
 * argument, or 0. At most 8 arguments are looked at. */
static __always_inline unsigned long exec__loader_prog(struct exec__scratch *s, unsigned long arg,
						       unsigned long end)
{
	int skip = 0;

	for (int i = 0; i < 8; i++) {
		long n;

		if (arg >= end)
			return 0;
		n = bpf_probe_read_user_str(s->path, sizeof(s->path), (const void *)arg);
		if (n <= 1)
			return 0;
		if (skip) {
			skip = 0;
		} else if (s->path[0] == '-' && s->path[1] == '-') {
			skip = !exec__loader_flag(s->path);
		} else {
			return arg;
		}
		arg += n;
	}
	return 0;
}

/* The verdict on s->key.name for cgroup cgid: 0 (runs), or the rule that kills it. Deny
 * list (allow_only 0): the exec_deny rule of the cgroup's or the global entry (rule id 0 is
 * reported as 1). Allow-only: MOAT_RULE_EXEC_NOT_ALLOWED unless the name is in exec_allow
 * for the cgroup or globally. An empty name (an unreadable or empty string) is not judged. */
static __always_inline __u32 exec__judge(struct exec__scratch *s, __u64 cgid, int allow_only)
{
	struct moat_exec_rule *r;

	if (!s->key.name[0])
		return 0;
	s->key.cgroup_id = cgid;
	if (allow_only) {
		if (bpf_map_lookup_elem(&exec_allow, &s->key))
			return 0;
		s->key.cgroup_id = 0;
		return bpf_map_lookup_elem(&exec_allow, &s->key) ? 0 : MOAT_RULE_EXEC_NOT_ALLOWED;
	}
	r = bpf_map_lookup_elem(&exec_deny, &s->key);
	if (!r) {
		s->key.cgroup_id = 0;
		r = bpf_map_lookup_elem(&exec_deny, &s->key);
	}
	if (!r)
		return 0;
	return r->rule_id ? r->rule_id : 1;
}

/* The name checks of kill-exec, in order: the base name of the path passed to execve, of
 * the #! interpreter, of argv[0] (busybox runs applets by argv[0]; a leading '-' is
 * dropped), of argv[1] when argv[0] names busybox, of the file actually executed (after
 * symlinks), and, when that file is the dynamic loader, of the program it is asked to run.
 * Returns the rule of the first name exec__judge kills, or 0. *loader is set when the file
 * is the loader. */
static __always_inline __u32 exec__names(struct task_struct *task, struct linux_binprm *bprm,
					 struct exec__scratch *s, __u64 key_cg, int allow_only,
					 int *loader)
{
	__u32 r = 0;
	const char *interp;
	unsigned long arg0 = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	long n;

	if (bpf_probe_read_kernel_str(s->path, sizeof(s->path), BPF_CORE_READ(bprm, filename)) >
	    0) {
		exec__basename(s);
		r = exec__judge(s, key_cg, allow_only);
	}
	interp = BPF_CORE_READ(bprm, interp);
	if (!r && interp && bpf_probe_read_kernel_str(s->path, sizeof(s->path), interp) > 0) {
		exec__basename(s);
		r = exec__judge(s, key_cg, allow_only);
	}
	n = bpf_probe_read_user_str(s->path, sizeof(s->path), (const void *)arg0);
	if (!r && n > 0) {
		exec__basename(s);
		r = exec__judge(s, key_cg, allow_only);
		/* "busybox sh ...": the applet is argv[1]. */
		if (!r && exec__is_busybox(s->key.name) &&
		    bpf_probe_read_user_str(s->path, sizeof(s->path), (const void *)(arg0 + n)) >
			0) {
			exec__basename(s);
			r = exec__judge(s, key_cg, allow_only);
		}
	}
	if (bpf_probe_read_kernel_str(s->path, MOAT_EXEC_NAME_LEN,
				      BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name)) > 0) {
		exec__basename(s);
		*loader = exec__is_loader(s->key.name);
		if (!r)
			r = exec__judge(s, key_cg, allow_only);
	}
	if (!r && *loader && n > 0) {
		unsigned long prog = exec__loader_prog(s, arg0 + n, end);

		if (prog &&
		    bpf_probe_read_user_str(s->path, sizeof(s->path), (const void *)prog) > 0) {
			exec__basename(s);
			r = exec__judge(s, key_cg, allow_only);
		}
	}
	return r;
}

/* Has the executed file no name in any directory (a memfd, an O_TMPFILE, a deleted file)?
 * Fileless execution: what runs cannot be found on disk, and its name says nothing. */
static __always_inline int exec__fileless(struct linux_binprm *bprm)
{
	return BPF_CORE_READ(bprm, file, f_inode, i_nlink) == 0;
}

/* The kill-exec policy: for a cgroup with kill_exec set, SIGKILL the new
 * program when one of its names (exec__names) is in exec_deny (or, with exec_allow_only, when
 * one of them is not in exec_allow), or when it is fileless. The
 * signal is pending before the new image runs its first instruction in userspace. Fills
 * *flags (MOAT_EXEC_F_FILELESS, _LOADER); returns the rule id, or 0. */
static __always_inline __u32 exec__kill(struct task_struct *task, struct linux_binprm *bprm,
					__u8 *flags)
{
	struct decide__cg cg;
	struct exec__scratch *s;
	__u32 zero = 0, rule;
	int loader = 0;

	if (exec__fileless(bprm))
		*flags |= MOAT_EXEC_F_FILELESS;
	decide__cgroup_task(&cg);
	s = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!s)
		return 0;
	if (!cg.cfg.kill_exec) {
		/* Still tell userspace when the loader runs a program. */
		if (bpf_probe_read_kernel_str(
			s->path, MOAT_EXEC_NAME_LEN,
			BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name)) > 0) {
			exec__basename(s);
			if (exec__is_loader(s->key.name))
				*flags |= MOAT_EXEC_F_LOADER;
		}
		return 0;
	}
	rule = exec__names(task, bprm, s, cg.known ? cg.id : MOAT_CGROUP_UNKNOWN,
			   cg.cfg.exec_allow_only, &loader);
	if (loader)
		*flags |= MOAT_EXEC_F_LOADER;
	if (!rule && (*flags & MOAT_EXEC_F_FILELESS))
		rule = MOAT_RULE_FILELESS_EXEC;
	if (!rule)
		return 0;
	bpf_send_signal(9 /* SIGKILL */);
	stats__inc(MOAT_PROG_EXEC, MOAT_STAT_DENIED);
	return rule;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct moat_exec_event *e;
	const char *filename, *interp;
	__u8 flags = 0;
	__u32 killed;

	if (!decide__watched_task())
		return 0;
	killed = exec__kill(task, bprm, &flags);
	e = events__reserve(MOAT_PROG_EXEC, sizeof(*e));
	if (!e)
		return 0;
	hdr__fill_task(&e->hdr, MOAT_EV_EXEC, sizeof(*e));
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->args_len = 0;
	e->argc = BPF_CORE_READ(bprm, argc);
	e->flags = flags | (killed ? MOAT_EXEC_F_KILLED : 0);
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
	if (!decide__watched_task())
		return 0;
	if (!decide__event_budget(bpf_get_current_cgroup_id(), MOAT_PROG_EXIT, NULL))
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
