// SPDX-License-Identifier: GPL-2.0
/* net.bpf.c - outbound connections: connect() and unconnected UDP sendmsg().
 *
 * Why these hooks: cgroup sock_addr programs run in the calling process's
 * context before the kernel acts (__cgroup_bpf_run_filter_sock_addr, called
 * from __sys_connect -> inet_stream_connect/udp_pre_connect and from
 * udp_sendmsg/udpv6_sendmsg for a datagram with an explicit destination).
 * So they see pid, comm and the destination, and returning 0 makes the
 * system call fail with EPERM before a packet leaves: enforcement at
 * connect() time, with no race against the first packet.
 */
#include "common.bpf.h"

#define SOCK_STREAM 1
#define SOCK_DGRAM  2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* The destination as the hooks see it. */
struct net__dst {
	__u8 family;
	__u8 protocol;
	__u16 dport;
	__u8 addr[16];
};

/* The decision for one destination. */
struct net__decision {
	__u8 verdict;
	__u8 scope;
	__u8 mode;
	__u32 rule_id;
};

/* Remember which process uses this socket, so packet-level events (DNS)
 * can name it. Best effort: an LRU map, a failed update only loses
 * attribution. */
static __always_inline void net__record_owner(__u64 cookie, __u32 prog, __u16 dport)
{
	struct moat_sock_owner o = {};
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct moat_sock_owner *cur;

	if (!cookie)
		return;
	cur = bpf_map_lookup_elem(&sock_owner, &cookie);
	if (cur && cur->tid == (__u32)pid_tgid && (cur->dns || dport != 53))
		return;
	/* A resolver socket stays one: its packets are DNS whatever port NAT gives them. */
	o.dns = dport == 53 || (cur && cur->dns);
	o.pid = pid_tgid >> 32;
	o.tid = (__u32)pid_tgid;
	o.uid = (__u32)uid_gid;
	o.gid = uid_gid >> 32;
	o.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o.comm, sizeof(o.comm));
	if (bpf_map_update_elem(&sock_owner, &cookie, &o, BPF_ANY))
		stats__inc(prog, MOAT_STAT_ERRORS);
}

/* Is dst an IPv4-mapped IPv6 address (::ffff:a.b.c.d)? */
static __always_inline int net__is_mapped(const struct net__dst *dst)
{
	return dst->family == AF_INET6 && !dst->addr[0] && !dst->addr[1] && !dst->addr[2] &&
	       !dst->addr[3] && !dst->addr[4] && !dst->addr[5] && !dst->addr[6] && !dst->addr[7] &&
	       !dst->addr[8] && !dst->addr[9] && dst->addr[10] == 0xff && dst->addr[11] == 0xff;
}

/* Look up the most specific CIDR rule for dst, per cgroup and global.
 * The longer prefix wins; at equal length the cgroup's own rule wins.
 * Returns the rule or NULL; *scope says which. */
static __always_inline struct moat_rule_val *net__match(const struct net__dst *dst, __u64 cgid,
							__u8 *scope)
{
	struct moat_rule_val *own, *glob;
	/* Global rules of the live generation: one read, so both tries and every
	 * lookup below see the same generation. */
	__u64 gid = rules__gen() ? MOAT_GLOBAL_ID_GEN1 : 0;

	/* An IPv4-mapped IPv6 destination (::ffff:a.b.c.d, a dual-stack
	 * socket) is judged by the IPv4 rules. */
	int mapped = net__is_mapped(dst);

	if (dst->family == AF_INET || mapped) {
		struct moat_lpm_v4 k = {.prefixlen = 64 + 32};

		__builtin_memcpy(k.addr, mapped ? &dst->addr[12] : dst->addr, 4);
		__builtin_memcpy(k.cgroup_id, &cgid, 8);
		own = bpf_map_lookup_elem(&net_rules_v4, &k);
		__builtin_memcpy(k.cgroup_id, &gid, 8);
		glob = bpf_map_lookup_elem(&net_rules_v4, &k);
	} else {
		struct moat_lpm_v6 k = {.prefixlen = 64 + 128};

		__builtin_memcpy(k.addr, dst->addr, 16);
		__builtin_memcpy(k.cgroup_id, &cgid, 8);
		own = bpf_map_lookup_elem(&net_rules_v6, &k);
		__builtin_memcpy(k.cgroup_id, &gid, 8);
		glob = bpf_map_lookup_elem(&net_rules_v6, &k);
	}
	if (own && (!glob || own->prefixlen >= glob->prefixlen)) {
		*scope = MOAT_SCOPE_CGROUP;
		return own;
	}
	if (glob) {
		*scope = MOAT_SCOPE_GLOBAL;
		return glob;
	}
	*scope = MOAT_SCOPE_NONE;
	return NULL;
}

/* Domain mode: was dst learned from a DNS answer of this cgroup? An
 * allowed name's answer opens the address until its TTL (at least
 * MOAT_LEARN_MIN_NS) runs out; an address only denied names answered with
 * is refused. Returns 1 with d filled when that decides, 0 to go on to the
 * CIDR rules and the default (deny, for domain mode). */
static __always_inline int net__learned(const struct net__dst *dst, __u64 cgid,
					struct net__decision *d)
{
	struct moat_learned *l;
	__u64 now = bpf_ktime_get_boot_ns();
	int mapped = net__is_mapped(dst);

	if (dst->family == AF_INET || mapped) {
		struct moat_learn_key_v4 k = {.cgroup_id = cgid};

		__builtin_memcpy(k.addr, mapped ? &dst->addr[12] : dst->addr, 4);
		l = bpf_map_lookup_elem(&learned_v4, &k);
	} else {
		struct moat_learn_key_v6 k = {.cgroup_id = cgid};

		__builtin_memcpy(k.addr, dst->addr, 16);
		l = bpf_map_lookup_elem(&learned_v6, &k);
	}
	if (!l)
		return 0;
	d->scope = MOAT_SCOPE_DOMAIN;
	d->rule_id = l->rule_id;
	if (l->allow_until_ns > now) {
		d->verdict = MOAT_VERDICT_ALLOW;
		return 1;
	}
	if (l->deny_until_ns > now) {
		d->verdict =
		    d->mode == MOAT_MODE_ENFORCE ? MOAT_VERDICT_DENY : MOAT_VERDICT_WOULD_DENY;
		return 1;
	}
	return 0;
}

/* Decide: a rule's action, else the cgroup's default action. Monitor mode
 * (the default for a cgroup without an entry) turns deny into would-deny. */
static __always_inline void net__decide(const struct net__dst *dst, __u64 cgid,
					struct net__decision *d)
{
	struct moat_cgroup_cfg *cfg = bpf_map_lookup_elem(&cgroup_cfg, &cgid);
	struct moat_rule_val *rule;
	__u8 action;

	d->mode = cfg ? cfg->mode : MOAT_MODE_MONITOR;
	if (cfg && cfg->domains && net__learned(dst, cgid, d))
		return;
	rule = net__match(dst, cgid, &d->scope);
	if (rule) {
		action = rule->action;
		d->rule_id = rule->rule_id;
	} else {
		action = cfg ? cfg->default_action : MOAT_ACT_ALLOW;
		d->rule_id = 0;
	}
	if (action != MOAT_ACT_DENY)
		d->verdict = MOAT_VERDICT_ALLOW;
	else if (d->mode == MOAT_MODE_ENFORCE)
		d->verdict = MOAT_VERDICT_DENY;
	else
		d->verdict = MOAT_VERDICT_WOULD_DENY;
}

/* Shared body of the four hooks, once the destination is read. Returns 1
 * (allow) or 0 (EPERM). */
static __always_inline int net__handle(struct bpf_sock_addr *ctx, struct net__dst *dst, __u16 type,
				       __u32 prog)
{
	struct net__decision d = {};
	struct moat_net_event *e;
	__u64 cgid = bpf_get_current_cgroup_id();
	__u64 cookie = bpf_get_socket_cookie(ctx);
	__u32 proto = ctx->protocol;

	dst->dport = bpf_ntohs((__u16)ctx->user_port);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		dst->protocol = proto;
	/* Only DNS needs the owner of a socket (packet events carry no pid):
	 * UDP, or TCP to port 53. Skipping TCP spares an LRU update per connect. */
	if (dst->protocol == IPPROTO_UDP || dst->dport == 53)
		net__record_owner(cookie, prog, dst->dport);
	net__decide(dst, cgid, &d);
	if (d.verdict == MOAT_VERDICT_DENY)
		stats__inc(prog, MOAT_STAT_DENIED);

	e = events__reserve(prog, sizeof(*e));
	if (e) {
		hdr__fill_task(&e->hdr, type, sizeof(*e));
		e->sock_cookie = cookie;
		e->family = dst->family;
		e->protocol = dst->protocol;
		e->dport = dst->dport;
		e->verdict = d.verdict;
		e->scope = d.scope;
		e->mode = d.mode;
		e->pad0 = 0;
		e->rule_id = d.rule_id;
		__builtin_memcpy(e->daddr, dst->addr, 16);
		__builtin_memset(e->pad1, 0, sizeof(e->pad1));
		if (d.verdict == MOAT_VERDICT_ALLOW)
			events__submit(prog, e);
		else
			events__submit_urgent(prog, e);
	}
	return d.verdict == MOAT_VERDICT_DENY ? 0 : 1;
}

/* The IPv4 hooks read only user_ip4, the IPv6 hooks only user_ip6: the
 * verifier allows each context field only at its own offset, as a whole
 * word, so each read stands alone. */
static __always_inline int net__handle4(struct bpf_sock_addr *ctx, __u16 type, __u32 prog)
{
	struct net__dst dst = {.family = AF_INET};
	__u32 a = ctx->user_ip4;

	__builtin_memcpy(dst.addr, &a, 4);
	return net__handle(ctx, &dst, type, prog);
}

static __always_inline int net__handle6(struct bpf_sock_addr *ctx, __u16 type, __u32 prog)
{
	struct net__dst dst = {.family = AF_INET6};
	__u32 a[4];

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	__builtin_memcpy(dst.addr, a, 16);
	return net__handle(ctx, &dst, type, prog);
}

SEC("cgroup/connect4")
int handle_connect4(struct bpf_sock_addr *ctx)
{
	return net__handle4(ctx, MOAT_EV_CONNECT, MOAT_PROG_CONNECT4);
}

SEC("cgroup/connect6")
int handle_connect6(struct bpf_sock_addr *ctx)
{
	return net__handle6(ctx, MOAT_EV_CONNECT, MOAT_PROG_CONNECT6);
}

SEC("cgroup/sendmsg4")
int handle_sendmsg4(struct bpf_sock_addr *ctx)
{
	return net__handle4(ctx, MOAT_EV_SENDMSG, MOAT_PROG_SENDMSG4);
}

SEC("cgroup/sendmsg6")
int handle_sendmsg6(struct bpf_sock_addr *ctx)
{
	return net__handle6(ctx, MOAT_EV_SENDMSG, MOAT_PROG_SENDMSG6);
}

char LICENSE[] SEC("license") = "GPL";
