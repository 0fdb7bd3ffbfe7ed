// SPDX-License-Identifier: GPL-2.0
/* dns.bpf.c - DNS queries and answers of monitored cgroups, from the packets.
 *
 * Why a packet parser: this kernel has no kprobes and refuses fentry, so
 * there is no resolver function to hook; and a packet parser sees the
 * answers too, which is what maps a destination address back to the name
 * the container asked for. UDP and TCP port 53, IPv4 and IPv6. The
 * programs always return 1: a packet they cannot parse is allowed and
 * reported (with MOAT_DNS_F_* saying what was wrong), never dropped.
 */
#include "dns_parse.bpf.h"

#define ETH_P_IP	 0x0800
#define ETH_P_IPV6	 0x86DD
#define IPPROTO_HOPOPTS	 0
#define IPPROTO_TCP	 6
#define IPPROTO_UDP	 17
#define IPPROTO_ROUTING	 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS	 60
#define DNS_PORT	 53
#define IPV6_MAX_EXT	 4 /* extension headers walked before giving up */

/* Where the DNS message sits in the packet, and the addressing. */
struct dns_pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 off; /* DNS message (after the TCP length prefix) offset in the skb */
	__u32 len; /* DNS message length */
	__u16 sport;
	__u16 dport;
	__u16 flags; /* MOAT_DNS_F_TCP, _IPV6, _TCP_PARTIAL */
	__u8 family;
	__u8 proto;
};

static __always_inline __u16 dns__be16(const __u8 *p)
{
	return (__u16)p[0] << 8 | p[1];
}

/* Walk the IPv4 or IPv6 header at offset 0 (cgroup_skb data starts at the
 * network header). Fills the addresses and family; returns the transport
 * header offset, or -1 for anything that is not the first (or only)
 * fragment of UDP or TCP. */
static __always_inline int dns__l3(struct __sk_buff *skb, struct dns_pkt *p)
{
	__u8 h[40];
	__u32 ver, off, next, i;

	if (bpf_skb_load_bytes(skb, 0, h, 1))
		return -1;
	ver = h[0] >> 4;
	if (skb->protocol == bpf_htons(ETH_P_IP) || (!skb->protocol && ver == 4)) {
		if (ver != 4 || bpf_skb_load_bytes(skb, 0, h, 20))
			return -1;
		if (dns__be16(&h[6]) & 0x1fff) /* a later fragment: no ports */
			return -1;
		p->family = AF_INET;
		p->proto = h[9];
		__builtin_memcpy(p->saddr, &h[12], 4);
		__builtin_memcpy(p->daddr, &h[16], 4);
		off = (h[0] & 0xf) * 4;
		return off < 20 ? -1 : (int)off;
	}
	if (skb->protocol != bpf_htons(ETH_P_IPV6) && (skb->protocol || ver != 6))
		return -1;
	if (ver != 6 || bpf_skb_load_bytes(skb, 0, h, 40))
		return -1;
	p->family = AF_INET6;
	p->flags |= MOAT_DNS_F_IPV6;
	__builtin_memcpy(p->saddr, &h[8], 16);
	__builtin_memcpy(p->daddr, &h[24], 16);
	next = h[6];
	off = 40;
#pragma unroll
	for (i = 0; i < IPV6_MAX_EXT; i++) {
		if (next == IPPROTO_FRAGMENT) {
			if (bpf_skb_load_bytes(skb, off, h, 8))
				return -1;
			if (dns__be16(&h[2]) & 0xfff8) /* a later fragment */
				return -1;
			next = h[0];
			off += 8;
		} else if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
			   next == IPPROTO_DSTOPTS) {
			if (bpf_skb_load_bytes(skb, off, h, 2))
				return -1;
			next = h[0];
			off += (h[1] + 1) * 8;
		} else {
			break;
		}
	}
	p->proto = next;
	return off;
}

/* Find the DNS message: UDP or TCP with port 53 on either side. Returns 1
 * when the packet should be reported, 0 when it is not DNS traffic or is a
 * TCP segment without payload (no event). For TCP the message must start
 * the segment with its 2-byte length prefix and be whole; otherwise
 * MOAT_DNS_F_TCP_PARTIAL is set and len is 0. */
static __always_inline int dns__l4(struct __sk_buff *skb, struct dns_pkt *p)
{
	__u8 h[20];
	int l4 = dns__l3(skb, p);
	__u32 off, len, msg;

	if (l4 < 0)
		return 0;
	if (p->proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, l4, h, 8))
			return 0;
		off = l4 + 8;
	} else if (p->proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, l4, h, 20))
			return 0;
		off = l4 + (h[12] >> 4) * 4;
	} else {
		return 0;
	}
	p->sport = dns__be16(&h[0]);
	p->dport = dns__be16(&h[2]);
	if (p->sport != DNS_PORT && p->dport != DNS_PORT)
		return 0;
	if (off > skb->len)
		return 0;
	len = skb->len - off;
	if (p->proto == IPPROTO_UDP) {
		msg = dns__be16(&h[4]); /* UDP length; the skb may carry trailing bytes */
		if (msg >= 8 && msg - 8 < len)
			len = msg - 8;
		p->off = off;
		p->len = len;
		return 1;
	}

	p->flags |= MOAT_DNS_F_TCP;
	if (!len) /* SYN, pure ACK, FIN: nothing to report */
		return 0;
	if (len < 2 || bpf_skb_load_bytes(skb, off, h, 2)) {
		p->flags |= MOAT_DNS_F_TCP_PARTIAL;
		return 1;
	}
	msg = dns__be16(h);
	if (msg + 2 > len) { /* continuation or split message */
		p->flags |= MOAT_DNS_F_TCP_PARTIAL;
		return 1;
	}
	p->off = off + 2;
	p->len = msg; /* a second pipelined message in the segment is not parsed */
	return 1;
}

/* Fill the event header and the addressing. pid/tid/uid/gid/comm come from
 * sock_owner (the process that last connected or sent on the socket); they
 * stay 0/empty for a socket moat has not seen. */
static __always_inline void dns__fill(struct __sk_buff *skb, struct moat_dns_event *e,
				      const struct dns_pkt *p)
{
	struct moat_sock_owner *o;
	__u64 cookie = bpf_get_socket_cookie(skb);

	/* Ring buffer memory is not zeroed. Two halves: clang inlines at most
	 * 128 stores per memset and cannot call one; the barrier keeps it from
	 * merging the halves back. */
	__builtin_memset(e, 0, 1024);
	asm volatile("" ::: "memory");
	__builtin_memset((__u64 *)e + 128, 0, sizeof(*e) - 1024);

	/* A query unless the DNS header says otherwise (dns__parse). */
	e->hdr.type = p->dport == DNS_PORT ? MOAT_EV_DNS_QUERY : MOAT_EV_DNS_ANSWER;
	e->hdr.size = sizeof(*e);
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.cgroup_id = bpf_skb_cgroup_id(skb);
	e->sock_cookie = cookie;
	o = cookie ? bpf_map_lookup_elem(&sock_owner, &cookie) : NULL;
	if (o) {
		e->hdr.pid = o->pid;
		e->hdr.tid = o->tid;
		e->hdr.uid = o->uid;
		e->hdr.gid = o->gid;
		__builtin_memcpy(e->hdr.comm, o->comm, sizeof(e->hdr.comm));
	}
	e->family = p->family;
	e->sport = p->sport;
	e->dport = p->dport;
	e->flags = p->flags;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
}

/* Report the DNS message in skb, if any, for program `prog`. */
static __always_inline void dns__handle(struct __sk_buff *skb, __u32 prog)
{
	struct dns_pkt p = {};
	struct moat_dns_event *e;
	struct dns_scratch *s;
	__u32 n;

	if (!dns__l4(skb, &p))
		return;
	s = dns__scratch();
	if (!s) {
		stats__inc(prog, MOAT_STAT_ERRORS);
		return;
	}
	e = events__reserve(prog, sizeof(*e));
	if (!e)
		return;
	dns__fill(skb, e, &p);

	s->flags = 0;
	s->len = 0;
	if (!(p.flags & MOAT_DNS_F_TCP_PARTIAL)) {
		/* Copy at most DNS_BUF_SIZE bytes; the parse flags TRUNCATED if
		 * it needs more. The ((n - 1) & mask) + 1 form keeps the length
		 * in [1, DNS_BUF_SIZE] for the verifier. */
		n = p.len < DNS_BUF_SIZE ? p.len : DNS_BUF_SIZE;
		if (n >= DNS_HDR_LEN) {
			n = ((n - 1) & DNS_BUF_MASK) + 1;
			if (bpf_skb_load_bytes(skb, p.off, s->buf, n))
				s->flags |= MOAT_DNS_F_TRUNCATED;
			else
				s->len = n;
		}
		dns__parse(s, e);
	}
	e->flags |= s->flags;
	if (e->flags & DNS_F_ERRORS)
		stats__inc(prog, MOAT_STAT_ERRORS);
	events__submit(prog, e);
}

/* Why this hook: cgroup_skb/egress runs for every packet a socket in the
 * cgroup sends, from __cgroup_bpf_run_filter_skb in ip_finish_output /
 * ip6_finish_output (before fragmentation), with skb->sk the sending
 * socket: queries carry the cookie connect/sendmsg recorded. */
SEC("cgroup_skb/egress")
int handle_dns_egress(struct __sk_buff *skb)
{
	dns__handle(skb, MOAT_PROG_DNS_EGRESS);
	return 1;
}

/* Why this hook: cgroup_skb/ingress runs from sk_filter_trim_cap on the
 * UDP/TCP receive path after the socket lookup (and after reassembly), so
 * the cookie and cgroup are those of the receiving socket: the process that
 * asked gets the answer attributed to it. */
SEC("cgroup_skb/ingress")
int handle_dns_ingress(struct __sk_buff *skb)
{
	dns__handle(skb, MOAT_PROG_DNS_INGRESS);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
