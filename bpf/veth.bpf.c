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
 *  - IPv6 neighbour discovery, which IPv6 needs and so always passes, claims only the
 *    container's own addresses and MAC; router advertisements and redirects (a container is
 *    not the network's router) and NDP hidden behind extension headers are dropped;
 *  - in enforce mode, only ARP, IPv4 and IPv6 leave, and an IP packet leaves only when a
 *    socket of the container's own kernel stack sent it (the socket the packet belongs to
 *    exists: connect() judged it, or it answers a connection made to the container), or when
 *    its destination is allowed as connect() would judge it.
 * And on the way in (tc egress of the same veth), ARP and NDP that claim the gateway's
 * address, router advertisements and ICMP redirects are dropped unless the bridge itself sent
 * them, so a neighbour moat does not guard cannot make itself the container's gateway.
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

#define IP6_HLEN     40
#define IP6_MAX_EXT  8	/* extension headers read before giving up (honest packets have 0-2) */
#define NDP_MAX_OPTS 16 /* NDP options read (honest messages have 1-3) */
#define ICMP6_RS     133
#define ICMP6_RA     134
#define ICMP6_NS     135
#define ICMP6_NA     136
#define ICMP6_REDIR  137
#define ICMP_REDIR   5

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

static __always_inline int veth__zero16(const __u8 *a)
{
	__u64 x[2];

	__builtin_memcpy(x, a, 16);
	return !x[0] && !x[1];
}

/* What an IPv6 packet carries past its extension headers (read with bpf_skb_load_bytes:
 * they may lie outside the linear part). */
struct veth__ip6 {
	__u32 l4;      /* offset of the upper-layer header in the frame; 0: not reached */
	__u32 end;     /* end of the IPv6 payload in the frame (from its payload length) */
	__u8 proto;    /* upper-layer protocol */
	__u8 ext;      /* 1: extension headers came before it */
	__u8 too_deep; /* 1: more than IP6_MAX_EXT extension headers */
	__u8 icmp;     /* ICMPv6 type, when proto is ICMPv6 and l4 is set */
	__u16 sport, dport;
};

static __always_inline int veth__ext_hdr(__u8 nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 || nh == 135 || nh == 139 ||
	       nh == 140;
}

/* Walk the extension headers of the IPv6 packet at ETH_HLEN (next header nh, payload length
 * plen). A fragment other than the first has no upper-layer header (l4 stays 0). */
static __always_inline void veth__ip6_walk(struct __sk_buff *skb, __u8 nh, __u16 plen,
					   struct veth__ip6 *p)
{
	__u32 off = ETH_HLEN + IP6_HLEN;
	__u8 b[8];

	__builtin_memset(p, 0, sizeof(*p));
	p->end = ETH_HLEN + IP6_HLEN + (__u32)plen;
	for (int i = 0; i < IP6_MAX_EXT; i++) {
		if (!veth__ext_hdr(nh))
			break;
		if (bpf_skb_load_bytes(skb, off, b, sizeof(b))) {
			p->proto = nh; /* truncated: the receiver cannot parse it either */
			return;
		}
		p->ext = 1;
		if (nh == 44) { /* fragment: offset in bits 3-15 of bytes 2-3 */
			if (((__u16)b[2] << 8 | b[3]) & 0xfff8) {
				p->proto = b[0];
				return;
			}
			off += 8;
		} else if (nh == 51) {
			off += ((__u32)b[1] + 2) * 4;
		} else {
			off += ((__u32)b[1] + 1) * 8;
		}
		nh = b[0];
	}
	p->proto = nh;
	if (veth__ext_hdr(nh)) {
		p->too_deep = 1;
		return;
	}
	p->l4 = off;
	if (nh == IPPROTO_ICMPV6) {
		if (bpf_skb_load_bytes(skb, off, b, 1))
			p->l4 = 0;
		else
			p->icmp = b[0];
	} else if (nh == IPPROTO_TCP || nh == IPPROTO_UDP || nh == IPPROTO_UDPL) {
		if (!bpf_skb_load_bytes(skb, off, b, 4)) {
			p->sport = (__u16)b[0] << 8 | b[1];
			p->dport = (__u16)b[2] << 8 | b[3];
		}
	}
}

static __always_inline int veth__is_ndp(const struct veth__ip6 *p)
{
	return p->proto == IPPROTO_ICMPV6 && p->l4 && p->icmp >= ICMP6_RS && p->icmp <= ICMP6_REDIR;
}

/* Do the link-layer address options (source or target, types 1 and 2) of the NDP message
 * whose options start at off all name mac? An option of length 0, or one running past the
 * end, makes the receiver discard the whole message (RFC 4861 4.6): the walk stops there.
 * More options than NDP_MAX_OPTS: no (the receiver would read them all). */
static __always_inline int veth__ndp_lla_ok(struct __sk_buff *skb, __u32 off, __u32 end,
					    const __u8 *mac)
{
	__u8 h[8];

	for (int i = 0; i < NDP_MAX_OPTS; i++) {
		if (off + 8 > end || bpf_skb_load_bytes(skb, off, h, sizeof(h)) || !h[1])
			return 1;
		if ((h[0] == 1 || h[0] == 2) && !veth__mac_eq(h + 2, mac))
			return 0;
		off += (__u32)h[1] * 8;
	}
	return off >= end;
}

/* Where the options of NDP message type t begin, from its ICMPv6 header. */
static __always_inline __u32 veth__ndp_opts(__u8 t)
{
	return t == ICMP6_RS ? 8 : t == ICMP6_RA ? 16 : t == ICMP6_REDIR ? 40 : 24;
}

/* Is a one of the bridge's IPv6 addresses? */
static __always_inline int veth__is_gw6(const struct moat_veth *v, const __u8 *a)
{
	for (int i = 0; i < MOAT_VETH_GW6; i++)
		if (!veth__zero16(v->gw6[i]) && veth__ip6_eq(a, v->gw6[i]))
			return 1;
	return 0;
}

/* May the container behind v send this NDP message (src: its IPv6 source, already checked
 * to be its own)? Its target (NA) is put in claim. */
static __always_inline int veth__ndp_out_ok(struct __sk_buff *skb, const struct moat_veth *v,
					    const struct veth__ip6 *p, __u8 *claim)
{
	if (p->ext || p->icmp == ICMP6_RA || p->icmp == ICMP6_REDIR)
		return 0;
	if (p->icmp == ICMP6_NA) {
		if (bpf_skb_load_bytes(skb, p->l4 + 8, claim, 16))
			return 1; /* too short to be a neighbour advertisement the receiver takes */
		if (!(veth__ip6_eq(claim, v->ip6) && !veth__zero16(v->ip6)) &&
		    !(veth__ip6_eq(claim, v->ll6) && !veth__zero16(v->ll6)))
			return 0;
	}
	return veth__ndp_lla_ok(skb, p->l4 + veth__ndp_opts(p->icmp), p->end, v->mac);
}

/* Report a dropped frame (rate-limited per cgroup). There is no process at the veth. */
static __always_inline void veth__report(struct __sk_buff *skb, const struct moat_veth *v,
					 __u32 prog, __u8 where, __u8 reason, __u8 family,
					 __u8 proto, const __u8 *saddr, const __u8 *daddr,
					 __u16 sport, __u16 dport, __u16 ethertype,
					 const __u8 *smac, __u32 rule_id)
{
	struct moat_packet_event *e = decide__packet_report(prog, v->cgroup_id);

	if (!e)
		return;
	e->family = family;
	e->protocol = proto;
	e->reason = reason;
	e->where = where;
	e->rule_id = rule_id;
	e->sport = sport;
	e->dport = dport;
	e->ethertype = ethertype;
	e->ifindex = skb->ifindex;
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
		struct veth__ip6 p;
		__u8 claim[16] = {};
		int ll;

		if ((void *)(ip + IP6_HLEN) > end)
			return TC_ACT_SHOT;
		family = AF_INET6;
		v6 = 1;
		src = ip + 8;
		daddr = ip + 24;
		ll = src[0] == 0xfe && (src[1] & 0xc0) == 0x80;
		if (ll ? !veth__zero16(v->ll6) && !veth__ip6_eq(src, v->ll6)
		       : !veth__ip6_eq(src, v->ip6) && !veth__zero16(src))
			goto spoofed;
		veth__ip6_walk(skb, ip[6], (__u16)ip[4] << 8 | ip[5], &p);
		proto = p.proto;
		if (p.too_deep) {
			stats__inc(MOAT_PROG_VETH, MOAT_STAT_DENIED);
			veth__report(skb, v, MOAT_PROG_VETH, MOAT_PKT_AT_VETH, MOAT_PKT_R_IP6_EXT,
				     family, proto, src, daddr, 0, 0, type, eth + 6,
				     MOAT_RULE_SPOOF);
			return TC_ACT_SHOT;
		}
		/* Neighbour and router discovery stay on the link, and IPv6 needs them: they
		 * pass when they claim only what is the container's. */
		if (veth__is_ndp(&p)) {
			if (veth__ndp_out_ok(skb, v, &p, claim))
				return TC_ACT_OK;
			stats__inc(MOAT_PROG_VETH, MOAT_STAT_DENIED);
			veth__report(skb, v, MOAT_PROG_VETH, MOAT_PKT_AT_VETH, MOAT_PKT_R_NDP_SPOOF,
				     family, proto, src,
				     p.icmp == ICMP6_NA && !veth__zero16(claim) ? claim : daddr,
				     p.icmp, 0, type, eth + 6, MOAT_RULE_SPOOF);
			return TC_ACT_SHOT;
		}
		sport = p.sport;
		dport = p.dport;
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
	/* Allowed as connect() would judge it, or a packet of a socket of the container's own
	 * stack. The policy first: a few map lookups, where the socket lookup costs about
	 * 300 ns (docs/performance.md, daemon.sh guard), and most packets are allowed. */
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
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && sport &&
	    veth__own_socket(skb, v, v6, proto, src, daddr, sport, dport))
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

/* Did the bridge itself send this frame to the container? Its own stack's frames carry its
 * MAC and were never received on an interface (skb_iif 0); a frame another container put on
 * the bridge was received on that container's veth, whatever MAC it forged. */
static __always_inline int veth__from_bridge(struct __sk_buff *skb, const struct moat_veth *v,
					     const __u8 *eth)
{
	return !skb->ingress_ifindex && veth__mac_eq(eth + 6, v->gw_mac);
}

/* IPv6 on its way into the container behind a guarded veth: NDP that claims one of the
 * bridge's addresses (as its source or, in an advertisement, its target), router
 * advertisements and redirects pass only when the bridge sent them (and name only its MAC). */
static __noinline int veth__in6(struct __sk_buff *skb, const __u8 *eth, const __u8 *ip)
{
	__u32 ifindex = skb->ifindex;
	struct moat_veth *v = bpf_map_lookup_elem(&veth_cfg, &ifindex);
	__u8 src[16], claim[16] = {};
	struct veth__ip6 p;
	int ok = 1, claims;

	if (!v || !(v->flags & MOAT_VETH_F_ARPGW))
		return TC_ACT_OK;
	veth__ip6_walk(skb, ip[6], (__u16)ip[4] << 8 | ip[5], &p);
	if (!veth__is_ndp(&p))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + 8, src, 16))
		return TC_ACT_OK;
	if (p.icmp == ICMP6_NA && bpf_skb_load_bytes(skb, p.l4 + 8, claim, 16))
		__builtin_memset(claim, 0, sizeof(claim));
	claims = veth__is_gw6(v, src) || (p.icmp == ICMP6_NA && veth__is_gw6(v, claim));
	if (p.ext)
		ok = 0;
	else if (p.icmp == ICMP6_RA)
		ok = veth__from_bridge(skb, v, eth) && veth__is_gw6(v, src) &&
		     veth__ndp_lla_ok(skb, p.l4 + veth__ndp_opts(p.icmp), p.end, v->gw_mac);
	else if (p.icmp == ICMP6_REDIR)
		ok = veth__from_bridge(skb, v, eth) && veth__is_gw6(v, src);
	else if (claims)
		ok = veth__from_bridge(skb, v, eth) &&
		     veth__ndp_lla_ok(skb, p.l4 + veth__ndp_opts(p.icmp), p.end, v->gw_mac);
	if (ok)
		return TC_ACT_OK;
	stats__inc(MOAT_PROG_VETH_IN, MOAT_STAT_DENIED);
	veth__report(skb, v, MOAT_PROG_VETH_IN, MOAT_PKT_AT_VETH_IN, MOAT_PKT_R_GATEWAY_CLAIM,
		     AF_INET6, IPPROTO_ICMPV6, src, veth__zero16(claim) ? ip + 24 : claim, p.icmp,
		     0, ETH_P_IPV6, eth + 6, MOAT_RULE_SPOOF);
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
	__u8 *eth = data, *ip = eth + ETH_HLEN;
	__u32 ifindex = skb->ifindex;
	struct veth__arp *a;
	struct moat_veth *v;
	__u16 type;

	/* Fast path: only ARP, ICMP and ICMPv6 (maybe behind extension headers) are looked at. */
	if ((void *)(ip + 28) > end)
		return TC_ACT_OK;
	type = (__u16)eth[12] << 8 | eth[13];
	if (type == ETH_P_IPV6) {
		if ((void *)(ip + IP6_HLEN) > end ||
		    (ip[6] != IPPROTO_ICMPV6 && !veth__ext_hdr(ip[6])))
			return TC_ACT_OK;
		return veth__in6(skb, eth, ip);
	}
	if (type == ETH_P_IP) {
		__u8 *icmp = ip + ((ip[0] & 0xf) * 4 & 0x3c);

		if (ip[9] != IPPROTO_ICMP || (void *)(icmp + 1) > end || icmp[0] != ICMP_REDIR ||
		    (ip[6] & 0x1f) || ip[7])
			return TC_ACT_OK;
		v = bpf_map_lookup_elem(&veth_cfg, &ifindex);
		if (!v || !(v->flags & MOAT_VETH_F_ARPGW) || veth__from_bridge(skb, v, eth))
			return TC_ACT_OK;
		stats__inc(MOAT_PROG_VETH_IN, MOAT_STAT_DENIED);
		veth__report(skb, v, MOAT_PROG_VETH_IN, MOAT_PKT_AT_VETH_IN,
			     MOAT_PKT_R_GATEWAY_CLAIM, AF_INET, IPPROTO_ICMP, ip + 12, ip + 16,
			     ICMP_REDIR, 0, type, eth + 6, MOAT_RULE_SPOOF);
		return TC_ACT_SHOT;
	}
	if (type != ETH_P_ARP)
		return TC_ACT_OK;
	v = bpf_map_lookup_elem(&veth_cfg, &ifindex);
	if (!v || !(v->flags & MOAT_VETH_F_ARPGW) || veth__zero4(v->gw4))
		return TC_ACT_OK;
	a = (void *)ip;
	if (!veth__ip4_eq(a->spa, v->gw4) ||
	    (veth__mac_eq(a->sha, v->gw_mac) && veth__mac_eq(eth + 6, v->gw_mac)))
		return TC_ACT_OK;
	stats__inc(MOAT_PROG_VETH_IN, MOAT_STAT_DENIED);
	veth__report(skb, v, MOAT_PROG_VETH_IN, MOAT_PKT_AT_VETH_IN, MOAT_PKT_R_ARP_GATEWAY, 0, 0,
		     a->spa, a->tpa, 0, 0, ETH_P_ARP, eth + 6, MOAT_RULE_SPOOF);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
