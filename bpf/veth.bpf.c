// SPDX-License-Identifier: GPL-2.0
/* veth.bpf.c - the veth guard: every frame a container sends, judged on its host-side veth.
 *
 * Why this hook: packet sockets (AF_PACKET) and XDP sockets (AF_XDP), which Docker's default
 * CAP_NET_RAW allows, put whole frames on the container's interface without passing any
 * cgroup hook: no connect(), no sendmsg(), no IP output path, and PACKET_QDISC_BYPASS skips
 * even tc on the container's own side. Every frame that leaves the container's network
 * namespace, however it was made, arrives on the host-side peer of its veth, where tc
 * ingress (sch_handle_ingress from __netif_receive_skb_core) runs before the bridge or the
 * host stack sees it, and TC_ACT_SHOT drops it. A container cannot detach it: it has no
 * handle on the host's namespace.
 *
 * What it checks, for a container moat set up (veth_cfg):
 *  - the source MAC and address are the container's own, and ARP claims only its own address
 *    (no spoofing: a forged answer "from the resolver", reflected back by a bridge in hairpin
 *    mode, or ARP spoofing of a neighbour);
 *  - in enforce mode, only ARP, IPv4 and IPv6 leave, and an IP packet leaves only when a
 *    socket of the container's own kernel stack sent it (the socket the packet belongs to
 *    exists: connect() judged it, or it answers a connection made to the container), or when
 *    its destination is allowed as connect() would judge it.
 * And on the way in (tc egress of the same veth), ARP that claims the gateway's address from
 * another MAC is dropped, so a neighbour cannot make itself the container's gateway.
 * Monitor mode: the guard is not attached (no side effects) unless spoof_guard says so.
 */
#include "decide.bpf.h"

#define TC_ACT_OK   0
#define TC_ACT_SHOT 2

#define ETH_HLEN      14
#define ETH_P_IP      0x0800
#define ETH_P_ARP     0x0806
#define ETH_P_IPV6    0x86DD
#define IPPROTO_UDPL  136
#define ARPOP_REQUEST 1
#define ARPOP_REPLY   2

/* An ARP message for IPv4 over Ethernet, after the Ethernet header. */
struct veth__arp {
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

static __always_inline int veth__mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
	       a[5] == b[5];
}

static __always_inline int veth__ip4_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline int veth__ip6_eq(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, 16);
	__builtin_memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1];
}

static __always_inline int veth__zero4(const __u8 *a)
{
	return !a[0] && !a[1] && !a[2] && !a[3];
}

/* Report a dropped frame (rate-limited per cgroup). There is no process at the veth. */
static __always_inline void veth__report(struct __sk_buff *skb, const struct moat_veth *v,
					 __u32 prog, __u8 where, __u8 reason, __u8 family,
					 __u8 proto, const __u8 *saddr, const __u8 *daddr,
					 __u16 sport, __u16 dport, __u16 ethertype,
					 const __u8 *smac, __u32 rule_id)
{
	struct moat_packet_event *e;
	__u64 sup = decide__report_budget(v->cgroup_id);

	if (!sup)
		return;
	e = events__reserve(prog, sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = MOAT_EV_PACKET;
	e->hdr.size = sizeof(*e);
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.cgroup_id = v->cgroup_id;
	e->family = family;
	e->protocol = proto;
	e->reason = reason;
	e->where = where;
	e->rule_id = rule_id;
	e->sport = sport;
	e->dport = dport;
	e->ethertype = ethertype;
	e->ifindex = skb->ifindex;
	e->suppressed = sup - 1;
	if (saddr && family == AF_INET6)
		__builtin_memcpy(e->saddr, saddr, 16);
	else if (saddr)
		__builtin_memcpy(e->saddr, saddr, 4);
	if (daddr && family == AF_INET6)
		__builtin_memcpy(e->daddr, daddr, 16);
	else if (daddr)
		__builtin_memcpy(e->daddr, daddr, 4);
	__builtin_memcpy(e->smac, smac, 6);
	events__submit_urgent(prog, e);
}

/* The settings binding the container behind v (its own cgroup_cfg entry, else
 * moat_settings.unknown). */
static __always_inline void veth__cg(const struct moat_veth *v, struct decide__cg *cg)
{
	struct moat_cgroup_cfg *c = bpf_map_lookup_elem(&cgroup_cfg, &v->cgroup_id);
	struct moat_settings *s;

	cg->id = v->cgroup_id;
	cg->known = !!c;
	if (c) {
		cg->cfg = *c;
		return;
	}
	s = decide__settings();
	if (s)
		cg->cfg = s->unknown;
	else
		__builtin_memset(&cg->cfg, 0, sizeof(cg->cfg));
}

/* Does the container's own stack hold the socket this TCP/UDP packet belongs to? Looked
 * up as the container would look up a packet coming back (from the peer to it). A TCP
 * listener does not count (its packets belong to request sockets, which do); an
 * unconnected UDP socket does not either (its sends were judged one by one by sendmsg:
 * the policy on the destination says the same). */
static __always_inline int veth__own_socket(struct __sk_buff *skb, const struct moat_veth *v,
					    int v6, __u8 proto, const __u8 *src, const __u8 *dst,
					    __u16 sport, __u16 dport)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len;
	int own = 0;

	if (v->netnsid < 0)
		return 0;
	if (v6) {
		__builtin_memcpy(t.ipv6.saddr, dst, 16);
		__builtin_memcpy(t.ipv6.daddr, src, 16);
		t.ipv6.sport = bpf_htons(dport);
		t.ipv6.dport = bpf_htons(sport);
		len = sizeof(t.ipv6);
	} else {
		__builtin_memcpy(&t.ipv4.saddr, dst, 4);
		__builtin_memcpy(&t.ipv4.daddr, src, 4);
		t.ipv4.sport = bpf_htons(dport);
		t.ipv4.dport = bpf_htons(sport);
		len = sizeof(t.ipv4);
	}
	if (proto == IPPROTO_TCP) {
		sk = bpf_skc_lookup_tcp(skb, &t, len, (__u32)v->netnsid, 0);
		if (sk) {
			own = sk->state != BPF_TCP_LISTEN;
			bpf_sk_release(sk);
		}
	} else {
		sk = bpf_sk_lookup_udp(skb, &t, len, (__u32)v->netnsid, 0);
		if (sk) {
			own = sk->dst_port != 0; /* connected: connect() judged its peer */
			bpf_sk_release(sk);
		}
	}
	return own;
}

/* Why this hook: see the top of the file. Returns TC_ACT_SHOT to drop the frame. */
SEC("tc")
int handle_veth_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 *eth = data, proto = 0, family = 0, v6 = 0;
	struct net__decision d = {};
	struct net__dst dst = {};
	struct decide__cg cg;
	struct moat_veth *v;
	__u32 ifindex = skb->ifindex;
	__u16 type, sport = 0, dport = 0;
	__u8 *src = NULL, *daddr = NULL;
	int enforce;

	v = bpf_map_lookup_elem(&veth_cfg, &ifindex);
	if (!v)
		return TC_ACT_OK;
	if ((void *)(eth + ETH_HLEN) > end)
		return TC_ACT_OK; /* a runt: nothing past the veth takes it */
	veth__cg(v, &cg);
	enforce = (v->flags & MOAT_VETH_F_GUARD) && cg.cfg.mode == MOAT_MODE_ENFORCE;
	type = (__u16)eth[12] << 8 | eth[13];
	if (!veth__mac_eq(eth + 6, v->mac)) {
		stats__inc(MOAT_PROG_VETH, MOAT_STAT_DENIED);
		veth__report(skb, v, MOAT_PROG_VETH, MOAT_PKT_AT_VETH, MOAT_PKT_R_SPOOF_MAC, 0, 0,
			     NULL, NULL, 0, 0, type, eth + 6, MOAT_RULE_SPOOF);
		return TC_ACT_SHOT;
	}
	if (type == ETH_P_ARP) {
		struct veth__arp *a = (void *)(eth + ETH_HLEN);

		if ((void *)(a + 1) > end)
			return TC_ACT_SHOT;
		/* Only its own MAC and address (0.0.0.0 in a probe), whatever the opcode. */
		if (!veth__mac_eq(a->sha, v->mac) ||
		    (!veth__ip4_eq(a->spa, v->ip4) && !veth__zero4(a->spa))) {
			stats__inc(MOAT_PROG_VETH, MOAT_STAT_DENIED);
			veth__report(skb, v, MOAT_PROG_VETH, MOAT_PKT_AT_VETH, MOAT_PKT_R_ARP_SPOOF,
				     0, 0, a->spa, a->tpa, 0, 0, type, eth + 6, MOAT_RULE_SPOOF);
			return TC_ACT_SHOT;
		}
		return TC_ACT_OK;
	}
	if (type == ETH_P_IP) {
		__u8 *ip = eth + ETH_HLEN;
		__u32 ihl;

		if ((void *)(ip + 20) > end)
			return TC_ACT_SHOT;
		family = AF_INET;
		proto = ip[9];
		src = ip + 12;
		daddr = ip + 16;
		if (!veth__ip4_eq(src, v->ip4) && !veth__zero4(src))
			goto spoofed;
		ihl = (ip[0] & 0xf) * 4;
		if (ihl >= 20 && !(((__u16)ip[6] << 8 | ip[7]) & 0x1fff) &&
		    (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPL)) {
			__u8 *l4 = ip + (ihl & 0x3c);

			if ((void *)(l4 + 4) <= end) {
				sport = (__u16)l4[0] << 8 | l4[1];
				dport = (__u16)l4[2] << 8 | l4[3];
			}
		}
	} else if (type == ETH_P_IPV6) {
		__u8 *ip = eth + ETH_HLEN;
		int ll;

		if ((void *)(ip + 40) > end)
			return TC_ACT_SHOT;
		family = AF_INET6;
		v6 = 1;
		proto = ip[6];
		src = ip + 8;
		daddr = ip + 24;
		ll = src[0] == 0xfe && (src[1] & 0xc0) == 0x80;
		if (!ll && !veth__ip6_eq(src, v->ip6)) {
			__u8 zero[16] = {};

			if (!veth__ip6_eq(src, zero))
				goto spoofed;
		}
		/* Neighbour and router discovery stay on the link: IPv6 needs them. */
		if (proto == IPPROTO_ICMPV6 && (void *)(ip + 41) <= end && ip[40] >= 133 &&
		    ip[40] <= 137)
			return TC_ACT_OK;
		if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPL) &&
		    (void *)(ip + 44) <= end) {
			sport = (__u16)ip[40] << 8 | ip[41];
			dport = (__u16)ip[42] << 8 | ip[43];
		}
	} else {
		if (!enforce)
			return TC_ACT_OK;
		stats__inc(MOAT_PROG_VETH, MOAT_STAT_DENIED);
		veth__report(skb, v, MOAT_PROG_VETH, MOAT_PKT_AT_VETH, MOAT_PKT_R_NOT_IP, 0, 0,
			     NULL, NULL, 0, 0, type, eth + 6, MOAT_RULE_NOT_IP);
		return TC_ACT_SHOT;
	}
	if (!enforce)
		return TC_ACT_OK;
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && sport &&
	    veth__own_socket(skb, v, v6, proto, src, daddr, sport, dport))
		return TC_ACT_OK;
	dst.family = family;
	dst.protocol = proto;
	dst.dport = dport;
	if (v6)
		__builtin_memcpy(dst.addr, daddr, 16);
	else
		__builtin_memcpy(dst.addr, daddr, 4);
	decide__dst(&cg, &dst, &d);
	if (d.verdict != MOAT_VERDICT_DENY)
		return TC_ACT_OK;
	stats__inc(MOAT_PROG_VETH, MOAT_STAT_DENIED);
	veth__report(skb, v, MOAT_PROG_VETH, MOAT_PKT_AT_VETH, MOAT_PKT_R_DENIED, family, proto,
		     src, daddr, sport, dport, type, eth + 6, d.rule_id);
	return TC_ACT_SHOT;
spoofed:
	stats__inc(MOAT_PROG_VETH, MOAT_STAT_DENIED);
	veth__report(skb, v, MOAT_PROG_VETH, MOAT_PKT_AT_VETH, MOAT_PKT_R_SPOOF_IP, family, proto,
		     src, daddr, sport, dport, type, eth + 6, MOAT_RULE_SPOOF);
	return TC_ACT_SHOT;
}

/* Why this hook: tc egress of the host-side veth runs for every frame the bridge hands to
 * the container. ARP that claims the gateway's address from a MAC other than the bridge's
 * comes from a neighbour trying to become the container's gateway (and so the man in the
 * middle of its DNS answers and connections): dropped, for containers with MOAT_VETH_F_ARPGW. */
SEC("tc")
int handle_veth_in(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 *eth = data;
	struct veth__arp *a;
	struct moat_veth *v;
	__u32 ifindex = skb->ifindex;

	if ((void *)(eth + ETH_HLEN + sizeof(*a)) > end)
		return TC_ACT_OK;
	if (eth[12] != 0x08 || eth[13] != 0x06)
		return TC_ACT_OK;
	v = bpf_map_lookup_elem(&veth_cfg, &ifindex);
	if (!v || !(v->flags & MOAT_VETH_F_ARPGW) || veth__zero4(v->gw4))
		return TC_ACT_OK;
	a = (void *)(eth + ETH_HLEN);
	if (!veth__ip4_eq(a->spa, v->gw4) ||
	    (veth__mac_eq(a->sha, v->gw_mac) && veth__mac_eq(eth + 6, v->gw_mac)))
		return TC_ACT_OK;
	stats__inc(MOAT_PROG_VETH_IN, MOAT_STAT_DENIED);
	veth__report(skb, v, MOAT_PROG_VETH_IN, MOAT_PKT_AT_VETH_IN, MOAT_PKT_R_ARP_GATEWAY, 0, 0,
		     a->spa, a->tpa, 0, 0, 0x0806, eth + 6, MOAT_RULE_SPOOF);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
