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
#include "decide.bpf.h"

#define SOCK_RAW  3
#define AF_PACKET 17
#define AF_XDP	  44

/* The socket's state (bpf/maps.bpf.h), created on first use; NULL only when the kernel is out
 * of memory for it (the socket's option memory, net.core.optmem_max). */
static __always_inline struct moat_sock_state *net__state(struct bpf_sock *sk)
{
	if (!sk)
		return NULL;
	return bpf_sk_storage_get(&sock_state, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
}

/* Remember which process uses this socket, so packet-level (DNS) events
 * can name it. Best effort: a socket whose state cannot be allocated loses
 * attribution only (counted as an error). */
static __always_inline void net__record_owner(struct bpf_sock_addr *ctx, __u32 prog, __u16 dport)
{
	struct moat_sock_state *st = net__state(ctx->sk);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	if (!st) {
		stats__inc(prog, MOAT_STAT_ERRORS);
		return;
	}
	/* A resolver socket stays one: its packets are DNS whatever port NAT gives them. */
	if (dport == 53)
		st->dns = 1;
	if (st->tid == (__u32)pid_tgid && st->pid)
		return;
	st->pid = pid_tgid >> 32;
	st->tid = (__u32)pid_tgid;
	st->uid = (__u32)uid_gid;
	st->gid = uid_gid >> 32;
	st->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(st->comm, sizeof(st->comm));
}

/* Shared body of the four hooks, once the destination is read. Returns 1
 * (allow) or 0 (EPERM). */
static __always_inline int net__handle(struct bpf_sock_addr *ctx, struct net__dst *dst, __u16 type,
				       __u32 prog)
{
	struct net__decision d = {};
	struct decide__cg cg;
	struct moat_net_event *e;
	__u64 cookie = bpf_get_socket_cookie(ctx);
	__u32 proto = ctx->protocol, suppressed = 0;

	dst->dport = bpf_ntohs((__u16)ctx->user_port);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		dst->protocol = proto;
	/* Only DNS needs the owner of a socket (packet events carry no pid):
	 * UDP, or TCP to port 53. Skipping TCP spares the state on every connect. */
	if (dst->protocol == IPPROTO_UDP || dst->dport == 53)
		net__record_owner(ctx, prog, dst->dport);
	decide__cgroup_task(&cg);
	decide__dst(&cg, dst, &d);
	if (d.verdict == MOAT_VERDICT_DENY)
		stats__inc(prog, MOAT_STAT_DENIED);
	if (d.verdict == MOAT_VERDICT_ALLOW && !decide__event_budget(cg.id, prog, &suppressed))
		return 1;

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
		e->suppressed = suppressed;
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

/* ---- Socket kinds and binds (issue #8: other socket kinds skip connect/sendmsg) ---- */

/* Report a socket() or bind() moat restricts. Reports share the cgroup's packet-report
 * budget, so a container looping on refused socket() calls cannot flood the ring buffer. */
static __always_inline void net__report_socket(__u32 prog, const struct decide__cg *cg, __u8 op,
					       __u16 family, __u16 type, __u16 protocol, __u16 port,
					       const __u8 *addr, __u8 verdict, __u32 rule_id)
{
	struct moat_socket_event *e;

	if (!decide__report_budget(cg->id))
		return;
	e = events__reserve(prog, sizeof(*e));
	if (!e)
		return;
	hdr__fill_task(&e->hdr, MOAT_EV_SOCKET, sizeof(*e));
	e->family = family;
	e->type = type;
	e->protocol = protocol;
	e->port = port;
	e->op = op;
	e->verdict = verdict;
	e->mode = cg->cfg.mode;
	e->pad0 = 0;
	e->rule_id = rule_id;
	if (addr)
		__builtin_memcpy(e->addr, addr, 16);
	else
		__builtin_memset(e->addr, 0, 16);
	events__submit_urgent(prog, e);
}

/* Why this hook: cgroup/sock_create runs from inet_create / inet6_create for every IPv4 and
 * IPv6 socket a process in the cgroup creates, whatever the path (socket(), socketcall(),
 * 32-bit compat calls, io_uring), after the protocol is resolved, and returning 0 fails the
 * call with EPERM. Plain TCP and UDP sockets pass at once: connect/sendmsg judge them. A
 * restricted cgroup (MOAT_CFG_RESTRICTED) may also open ping sockets, whose packets the
 * egress backstop judges; raw sockets (which can forge any source), UDP-Lite (whose
 * connect() skips the connect hook), MPTCP, SCTP and every other protocol are refused.
 * Elsewhere they are allowed and reported, and in enforce mode their packets are judged by
 * the egress backstop (dns.bpf.c). */
SEC("cgroup/sock_create")
int handle_sock_create(struct bpf_sock *sk)
{
	__u32 type = sk->type, protocol = sk->protocol, family = sk->family;
	struct decide__cg cg;
	int ping, deny;

	if (decide__plain_sock(type, protocol))
		return 1;
	ping = type == SOCK_DGRAM && (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6);
	decide__cgroup_task(&cg);
	deny = !ping && MOAT_CFG_RESTRICTED(&cg.cfg);
	if (deny)
		stats__inc(MOAT_PROG_SOCK_CREATE, MOAT_STAT_DENIED);
	net__report_socket(MOAT_PROG_SOCK_CREATE, &cg, MOAT_SOCK_OP_CREATE, family, type, protocol,
			   0, NULL,
			   deny ? MOAT_VERDICT_DENY
			   : (!ping && cg.cfg.mode != MOAT_MODE_ENFORCE &&
			      (cg.cfg.default_action == MOAT_ACT_DENY || cg.cfg.domains))
			       ? MOAT_VERDICT_WOULD_DENY
			       : MOAT_VERDICT_ALLOW,
			   deny ? MOAT_RULE_SOCKET_KIND : 0);
	return deny ? 0 : 1;
}

/* Why this hook: cgroup/bind4 and bind6 run from inet_bind / inet6_bind before the address
 * is taken (returning 0 fails bind() with EPERM). A restricted cgroup may not bind port 53:
 * a socket on port 53 could answer the container's own resolver socket from "the resolver's"
 * address (127.0.0.11 and 127.0.0.1 are local addresses; IP_TRANSPARENT, which CAP_NET_RAW
 * grants, makes any address bindable). Other cgroups are reported. */
static __always_inline int net__bind(struct bpf_sock_addr *ctx, __u32 prog, const __u8 *addr)
{
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	struct decide__cg cg;
	int deny;

	if (port != 53)
		return 1;
	decide__cgroup_task(&cg);
	deny = MOAT_CFG_RESTRICTED(&cg.cfg);
	if (deny)
		stats__inc(prog, MOAT_STAT_DENIED);
	net__report_socket(prog, &cg, MOAT_SOCK_OP_BIND, ctx->user_family, ctx->type, ctx->protocol,
			   port, addr, deny ? MOAT_VERDICT_DENY : MOAT_VERDICT_ALLOW,
			   deny ? MOAT_RULE_BIND_DNS : 0);
	return deny ? 0 : 1;
}

SEC("cgroup/bind4")
int handle_bind4(struct bpf_sock_addr *ctx)
{
	__u8 addr[16] = {};
	__u32 a = ctx->user_ip4;

	__builtin_memcpy(addr, &a, 4);
	return net__bind(ctx, MOAT_PROG_BIND4, addr);
}

SEC("cgroup/bind6")
int handle_bind6(struct bpf_sock_addr *ctx)
{
	__u32 a[4];

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	return net__bind(ctx, MOAT_PROG_BIND6, (const __u8 *)a);
}

/* Why this hook: no cgroup hook sees AF_PACKET or AF_XDP sockets (packet_create and
 * xsk_create never call the BPF cgroup hooks), and their frames bypass every IP hook. The
 * frames a container sends are judged on its host-side veth (veth.bpf.c); this tracepoint
 * only reports who opened such a socket, in any mode. It fires on the native socket()
 * system call; 32-bit compat calls and io_uring are not traced by the syscall tracepoints,
 * so the report is best effort (the veth guard is not). Needs tracefs. */
SEC("tp/syscalls/sys_enter_socket")
int handle_socket_tp(struct trace_event_raw_sys_enter *ctx)
{
	__u32 family = (__u32)ctx->args[0], type = (__u32)ctx->args[1] & 0xf;
	__u16 protocol = bpf_ntohs((__u16)ctx->args[2]);
	struct decide__cg cg;

	if (family != AF_PACKET && family != AF_XDP)
		return 0;
	if (!decide__watched_task())
		return 0;
	decide__cgroup_task(&cg);
	net__report_socket(MOAT_PROG_SOCKET_TP, &cg, MOAT_SOCK_OP_CREATE, family, type,
			   family == AF_PACKET ? protocol : (__u16)ctx->args[2], 0, NULL,
			   MOAT_VERDICT_ALLOW, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
