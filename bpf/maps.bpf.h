/* maps.bpf.h - every BPF map moat uses, declared once.
 *
 * Each .bpf.c includes this file, so each skeleton declares the same maps.
 * All are pinned by name (LIBBPF_PIN_BY_NAME): the first object loaded
 * creates and pins them under the pin directory, every later object (and a
 * restarted moat) reuses the pinned map. That is how the programs share one
 * ring buffer and how enforcement survives a restart of the daemon.
 * Key/value layouts are the ABI in include/moat/maps.h.
 */
#ifndef MOAT_MAPS_BPF_H
#define MOAT_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "moat/maps.h"
#include "moat/events.h"

/* All events, from every program, in kernel order. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MOAT_RINGBUF_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

/* Per-CPU counters, see enum moat_stat_id / moat_prog_id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MOAT_STATS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/* Per-cgroup mode and default action, keyed by cgroup id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct moat_cgroup_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_cfg SEC(".maps");

/* CIDR rules, global (cgroup id 0) and per cgroup, longest prefix wins. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MOAT_MAX_NET_RULES);
	__type(key, struct moat_lpm_v4);
	__type(value, struct moat_rule_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_rules_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MOAT_MAX_NET_RULES);
	__type(key, struct moat_lpm_v6);
	__type(value, struct moat_rule_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_rules_v6 SEC(".maps");

/* What moat keeps on a socket (socket-local storage, sock_state): who last connected or sent
 * on it, so that packet-level (DNS) events name a process, and the DNS queries it sent that
 * still wait for their answer, so that an answer is trusted only when its own socket asked
 * that question of that server. It lives and dies with the socket: no shared table a busy
 * container could fill or evict. Kernel-only: userspace never reads it. */
struct moat_dns_pending {
	__u64 expires_ns; /* boot ns; 0 = free slot */
	__u32 name_hash;  /* FNV-1a of the question name as parsed (lowercase, escaped) */
	__u16 id;	  /* DNS transaction id */
	__u16 qtype;
	__u16 port; /* the server port the application addressed (53; before NAT) */
	__u8 family;
	__u8 pad0;
	__u8 server[16]; /* the server address (IPv4 in the first 4 bytes) */
};

struct moat_sock_state {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	char comm[16];
	__u8 dns;  /* 1: the socket connected or sent to port 53 (its packets may be NAT'd to
		      another port: Docker's embedded DNS) */
	__u8 next; /* the pending slot the next query takes when none is free */
	__u8 pad0[6];
	struct moat_dns_pending q[MOAT_DNS_PENDING];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct moat_sock_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sock_state SEC(".maps");

/* Run-time knobs (struct moat_settings), one entry, written by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct moat_settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

/* Per-cgroup counters the programs keep: learned entries against the fair share, and the
 * packet-event budget. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct moat_cgroup_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_state SEC(".maps");

/* DNS servers a cgroup may reach on port 53 (from Docker's configuration of the container). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_RESOLVERS);
	__type(key, struct moat_resolver_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} resolvers SEC(".maps");

/* Cgroups moat watches (the attach points), keyed by cgroup id. The exec
 * hook is host-wide, so it reports only tasks below one of these. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_WATCHED);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} watch_cgroups SEC(".maps");

/* Per-CPU scratch of the DNS parser (bpf/dns_parse.bpf.h, struct
 * dns_scratch): the copied DNS payload and the parse cursors, too big for
 * the 512-byte BPF stack. Not pinned: nothing outside the running program
 * reads it, so every object may have its own. */
#define MOAT_DNS_SCRATCH_BYTES 4096
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MOAT_DNS_SCRATCH_BYTES);
} dns_scratch SEC(".maps");

/* Executable names the exec hook kills in cgroups with kill_exec set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_EXEC_DENY);
	__type(key, struct moat_exec_key);
	__type(value, struct moat_exec_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_deny SEC(".maps");

/* Executable names a cgroup with exec_allow_only may run (the same keys as exec_deny); every
 * other name is killed there. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_EXEC_ALLOW);
	__type(key, struct moat_exec_key);
	__type(value, struct moat_exec_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_allow SEC(".maps");

/* Which rule generation is live (moat_rules_gen; see include/moat/maps.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct moat_rules_gen);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rules_gen SEC(".maps");

/* Domain rules, per rule set (policy). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_DOMAIN_RULES);
	__type(key, struct moat_domain_key);
	__type(value, struct moat_domain_rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} domain_rules SEC(".maps");

/* Destinations learned from DNS answers, per cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MOAT_MAX_LEARNED);
	__type(key, struct moat_learn_key_v4);
	__type(value, struct moat_learned);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} learned_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MOAT_MAX_LEARNED);
	__type(key, struct moat_learn_key_v6);
	__type(value, struct moat_learned);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} learned_v6 SEC(".maps");

/* Containers' host-side veths (struct moat_veth), keyed by ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_VETHS);
	__type(key, __u32);
	__type(value, struct moat_veth);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veth_cfg SEC(".maps");

#endif /* MOAT_MAPS_BPF_H */
