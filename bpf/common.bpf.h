/* common.bpf.h - helpers every moat program uses: counters, the event
 * header, and ring buffer reservation that never fails silently. */
#ifndef MOAT_COMMON_BPF_H
#define MOAT_COMMON_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#ifndef EPERM
#define EPERM 1
#endif

/* Wake the reader once this many bytes wait (set by the loader to 1/8 of the ring buffer,
 * which is sized at load time; MOAT_RB_WAKEUP_BYTES for the default 2 MiB). */
const volatile __u64 rb_wakeup_bytes = MOAT_RB_WAKEUP_BYTES;

/* The live rule generation, 0 or 1 (one array read; the verifier inlines it). */
static __always_inline __u32 rules__gen(void)
{
	__u32 zero = 0;
	struct moat_rules_gen *g = bpf_map_lookup_elem(&rules_gen, &zero);

	return g ? g->gen & 1 : 0;
}

/* Add one to counter `stat` of program `prog` on this CPU. */
static __always_inline void stats__inc(__u32 prog, __u32 stat)
{
	__u32 key = prog * MOAT_STAT_NR + stat;
	__u64 *val = bpf_map_lookup_elem(&stats, &key);

	if (val)
		(*val)++;
}

/* Reserve `size` bytes of the ring buffer for program `prog`. On a full
 * buffer the drop is counted and NULL returned: the caller lets the traffic
 * pass and returns. */
static __always_inline void *events__reserve(__u32 prog, __u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		stats__inc(prog, MOAT_STAT_DROPS);
	return e;
}

/* The wakeup for an ordinary event: only when the data waiting has just reached
 * rb_wakeup_bytes (it is within one largest event past it). A reader that keeps up is never
 * woken per event (~3 us each), and one that is not reading at all (moat attach, nobody
 * there) is woken once, not for every event past the mark (each wakeup is an irq_work, a
 * VM exit here). Readers also poll every MOAT_RB_POLL_MS, so a wakeup missed between
 * concurrent producers delays nothing more than that. */
#define EVENTS__WAKE_WINDOW 8192 /* larger than any event */

static __always_inline __u64 events__wake_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return avail >= rb_wakeup_bytes && avail < rb_wakeup_bytes + EVENTS__WAKE_WINDOW
		   ? BPF_RB_FORCE_WAKEUP
		   : BPF_RB_NO_WAKEUP;
}

/* Submit a reserved event and count it (events__wake_flags decides the wakeup). */
static __always_inline void events__submit(__u32 prog, void *e)
{
	bpf_ringbuf_submit(e, events__wake_flags());
	stats__inc(prog, MOAT_STAT_EVENTS);
}

/* Copy a finished event (built in scratch memory) into the ring buffer, with the same
 * wakeup policy as events__submit. A full buffer is counted as a drop. */
static __always_inline void events__output(__u32 prog, void *e, __u64 size)
{
	if (bpf_ringbuf_output(&events, e, size, events__wake_flags()))
		stats__inc(prog, MOAT_STAT_DROPS);
	else
		stats__inc(prog, MOAT_STAT_EVENTS);
}

/* Submit an event someone may act on at once (an exec, a refused connect):
 * always wake the reader. */
static __always_inline void events__submit_urgent(__u32 prog, void *e)
{
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	stats__inc(prog, MOAT_STAT_EVENTS);
}

/* Fill the common header from the current task. Only valid in programs
 * that run in process context (sock_addr hooks, tracepoints). */
static __always_inline void hdr__fill_task(struct moat_event_hdr *h, __u16 type, __u16 size)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->type = type;
	h->size = size;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

#endif /* MOAT_COMMON_BPF_H */
