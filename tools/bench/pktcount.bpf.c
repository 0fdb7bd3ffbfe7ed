// SPDX-License-Identifier: GPL-2.0
/* pktcount.bpf.c - benchmark only (tools/bench/pktcount.c), not part of moat: what per-cgroup
 * byte counters kept in a cgroup_skb program would cost per packet, against the same program
 * without them. Each program lets the packet pass. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} bytes_by_cgroup SEC(".maps");

SEC("cgroup_skb/egress")
int pass_only(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int count_bytes(struct __sk_buff *skb)
{
	__u64 id = bpf_skb_cgroup_id(skb), *v = bpf_map_lookup_elem(&bytes_by_cgroup, &id);

	if (v) {
		__sync_fetch_and_add(v, skb->len);
	} else {
		__u64 len = skb->len;

		bpf_map_update_elem(&bytes_by_cgroup, &id, &len, BPF_NOEXIST);
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
