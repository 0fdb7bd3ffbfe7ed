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
/* The socket's remote port, host order (0: unconnected). __sk_buff.remote_port holds the
 * network-order port in its upper 16 bits on little-endian machines (the kernel shifts it
 * there when it rewrites the access), in its lower 16 bits on big-endian ones. */
static __always_inline __u32 dns__remote_port(const struct __sk_buff *skb)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return bpf_ntohs((__u16)(skb->remote_port >> 16));
#else
	return skb->remote_port & 0xffff;
#endif
}

/* Egress: did the sending socket address port 53, whatever port the packet now carries? A
 * connected socket says so itself; an unconnected one (musl's resolver sends with sendto)
 * was marked by the sendmsg hook in sock_owner. */
static __always_inline int dns__sock_aims_at_dns(struct __sk_buff *skb)
{
	struct moat_sock_owner *o;
	__u64 cookie;

	if (dns__remote_port(skb) == DNS_PORT)
		return 1;
	cookie = bpf_get_socket_cookie(skb);
	o = cookie ? bpf_map_lookup_elem(&sock_owner, &cookie) : NULL;
	return o && o->dns;
}

static __always_inline int dns__l4(struct __sk_buff *skb, struct dns_pkt *p, int egress)
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
	if (p->sport != DNS_PORT && p->dport != DNS_PORT) {
		/* Docker's embedded DNS: the application sends to 127.0.0.11:53 and iptables in
		 * the container's namespace DNATs the packet to dockerd's listener before this
		 * hook runs (the answer comes back un-NATed, from port 53). Report the query
		 * with the port the application addressed. */
		if (!egress || !dns__sock_aims_at_dns(skb))
			return 0;
		p->dport = DNS_PORT;
		p->flags |= MOAT_DNS_F_NAT;
	}
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

/* ---- Domain rules: decided here, at answer time (issue #4) ----------- */

#define DNS_MAX_SUFFIXES 16 /* labels of a name tried as wildcard suffixes */

/* The event being built, per CPU: parsing and learning never depend on the
 * ring buffer having room (a full buffer loses the event, not the rule). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct moat_dns_event);
} dns_event_scratch SEC(".maps");

struct dns_match {
	struct moat_domain_key key;
	__u32 dots[DNS_MAX_SUFFIXES]; /* qname offsets just after each '.' */
	__u32 n_dots;
	__u32 action, rule_id, found;
	__u64 until;
	__u64 cgroup_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_match);
} dns_match_scratch SEC(".maps");

struct dns_match_ctx {
	struct dns_match *m;
	struct moat_dns_event *e;
};

/* bpf_loop: record where each label after the first starts. A '.' the
 * parser escaped ("\.", a dot inside a label) is not a separator. */
static long dns__dot_cb(__u32 i, void *data)
{
	struct dns_match_ctx *c = data;
	__u32 idx = i;
	char ch, prev;

	if (i == 0 || i >= MOAT_DNS_NAME_LEN - 1)
		return i ? 1 : 0;
	asm volatile("" : "+r"(idx)); /* keep the masks below */
	ch = c->e->qname[idx & (MOAT_DNS_NAME_LEN - 1)];
	prev = c->e->qname[(idx - 1) & (MOAT_DNS_NAME_LEN - 1)];
	if (!ch)
		return 1;
	if (ch == '.' && prev != '\\' && c->m->n_dots < DNS_MAX_SUFFIXES) {
		__u32 n = c->m->n_dots;

		asm volatile("" : "+r"(n));
		c->m->dots[n & (DNS_MAX_SUFFIXES - 1)] = i + 1;
		c->m->n_dots++;
	}
	return 0;
}

/* Look up the rule for the name at qname[off] (wildcard or exact). */
static __always_inline struct moat_domain_rule *
dns__rule_at(struct dns_match *m, const struct moat_dns_event *e, __u32 off, __u8 wildcard)
{
	__builtin_memset(m->key.name, 0, sizeof(m->key.name));
	m->key.wildcard = wildcard;
	if (off < MOAT_DNS_NAME_LEN)
		bpf_probe_read_kernel_str(m->key.name, sizeof(m->key.name),
					  &e->qname[off & (MOAT_DNS_NAME_LEN - 1)]);
	return bpf_map_lookup_elem(&domain_rules, &m->key);
}

/* bpf_loop: try the wildcard rule for suffix i (longest first). */
static long dns__suffix_cb(__u32 i, void *data)
{
	struct dns_match_ctx *c = data;
	struct moat_domain_rule *r;
	__u32 idx;

	if (i >= c->m->n_dots || i >= DNS_MAX_SUFFIXES)
		return 1;
	idx = i;
	asm volatile("" : "+r"(idx));
	r = dns__rule_at(c->m, c->e, c->m->dots[idx & (DNS_MAX_SUFFIXES - 1)], 1);
	if (!r)
		return 0;
	c->m->action = r->action;
	c->m->rule_id = r->rule_id;
	c->m->found = 1;
	return 1;
}

/* The new learned value from the old one (or none) and this answer: an
 * allow extends allow_until and names its rule; a deny extends deny_until
 * and names its rule only when nothing allowed the address. */
static __always_inline void dns__merge(struct moat_learned *v, const struct moat_learned *old,
				       const struct dns_match *m, __u64 until)
{
	if (old)
		*v = *old;
	if (m->action == MOAT_ACT_ALLOW && until > v->allow_until_ns) {
		v->allow_until_ns = until;
		v->rule_id = m->rule_id;
	} else if (m->action == MOAT_ACT_DENY && until > v->deny_until_ns) {
		v->deny_until_ns = until;
		if (!v->allow_until_ns)
			v->rule_id = m->rule_id;
	}
}

/* bpf_loop: learn answer address i under the decision in m. */
static long dns__learn_cb(__u32 i, void *data)
{
	struct dns_match_ctx *c = data;
	struct moat_dns_addr *a;
	struct moat_learned v = {};
	__u64 until;

	__u32 idx = i;

	if (i >= c->e->n_addrs || i >= MOAT_DNS_MAX_ADDRS)
		return 1;
	/* Keep the mask: clang would drop it after the check above and index
	 * with a register the verifier has no bound for. */
	asm volatile("" : "+r"(idx));
	a = &c->e->addrs[idx & (MOAT_DNS_MAX_ADDRS - 1)];
	until = c->m->until + (__u64)a->ttl * 1000000000ULL;
	if (a->family == AF_INET) {
		struct moat_learn_key_v4 k = {.cgroup_id = c->m->cgroup_id};

		__builtin_memcpy(k.addr, a->addr, 4);
		dns__merge(&v, bpf_map_lookup_elem(&learned_v4, &k), c->m, until);
		bpf_map_update_elem(&learned_v4, &k, &v, BPF_ANY);
	} else {
		struct moat_learn_key_v6 k = {.cgroup_id = c->m->cgroup_id};

		__builtin_memcpy(k.addr, a->addr, 16);
		dns__merge(&v, bpf_map_lookup_elem(&learned_v6, &k), c->m, until);
		bpf_map_update_elem(&learned_v6, &k, &v, BPF_ANY);
	}
	return 0;
}

/* For a cgroup in domain mode: decide the asked name by the rule set
 * (exact name, then the longest wildcard suffix, then the "*" default;
 * userspace resolves deny-over-allow for one key) and write each answer
 * address into learned_v4/v6 with its TTL (at least MOAT_LEARN_MIN_NS),
 * before the answer reaches the socket: the first connect after a lookup
 * is never refused for want of time. No rule: nothing is learned, and the
 * cgroup's default (deny) applies. Names reached through a CNAME are
 * decided by the name asked. */
static __always_inline int dns__learn(struct moat_dns_event *e)
{
	struct moat_cgroup_cfg *cfg;
	struct moat_domain_rule *r;
	struct dns_match_ctx c = {.e = e};
	struct dns_match *m;
	__u32 zero = 0;

	if (e->hdr.type != MOAT_EV_DNS_ANSWER || e->rcode || !e->n_addrs)
		return 0;
	cfg = bpf_map_lookup_elem(&cgroup_cfg, &e->hdr.cgroup_id);
	if (!cfg || !cfg->domains)
		return 0;
	m = bpf_map_lookup_elem(&dns_match_scratch, &zero);
	if (!m)
		return 0;
	c.m = m;
	/* The rule set of the live generation (include/moat/maps.h). */
	m->key.policy = cfg->policy | (rules__gen() ? MOAT_POLICY_GEN1 : 0);
	m->found = 0;
	m->n_dots = 0;
	m->cgroup_id = e->hdr.cgroup_id;
	r = dns__rule_at(m, e, 0, 0);
	if (r) {
		m->action = r->action;
		m->rule_id = r->rule_id;
		m->found = 1;
	}
	if (!m->found) {
		bpf_loop(MOAT_DNS_NAME_LEN, dns__dot_cb, &c, 0);
		bpf_loop(DNS_MAX_SUFFIXES, dns__suffix_cb, &c, 0);
	}
	/* Interactive: a name no rule names is held back while moat asks; the
	 * "*" default is not consulted. */
	if (!m->found && cfg->domains == 2)
		return 1;
	if (!m->found) {
		r = dns__rule_at(m, e, MOAT_DNS_NAME_LEN, 1); /* "" = the "*" default */
		if (!r)
			return 0;
		m->action = r->action;
		m->rule_id = r->rule_id;
	}
	m->until = bpf_ktime_get_boot_ns();
	/* A TTL of 0 still opens the address long enough to connect. */
	m->until += MOAT_LEARN_MIN_NS;
	bpf_loop(MOAT_DNS_MAX_ADDRS, dns__learn_cb, &c, 0);
	return 0;
}

/* Fast path for the packets of ordinary connections: the socket's ports
 * are in the context without reading the packet. A connected socket with
 * neither port 53 carries no DNS; skip it before any helper call (these
 * programs see every packet of every watched socket). So does a TCP
 * listener not on port 53: its packets are handshakes (SYN in, SYN-ACK out),
 * never a DNS message. An unconnected socket (remote port 0: UDP sendto to a
 * resolver) and a packet without a socket are parsed. */
static __always_inline int dns__not_dns_socket(const struct __sk_buff *skb)
{
	__u32 remote = dns__remote_port(skb);
	__u32 local = skb->local_port; /* host order */
	struct bpf_sock *sk;

	if (local == DNS_PORT || remote == DNS_PORT)
		return 0;
	/* A peer port other than 53: not DNS, even with the local port already released (the
	 * RST of a close() with SO_LINGER 0 leaves with local port 0). */
	if (remote)
		return 1;
	sk = skb->sk;
	return local && sk && sk->state == BPF_TCP_LISTEN;
}

/* Report the DNS message in skb, if any, for program `prog`. Returns 0 to
 * drop the packet (an answer held back in interactive mode), 1 to pass it:
 * everything else passes, whatever the parse found. */
/* The event's size in the ring buffer: up to its last used slot (MOAT_DNS_EVENT_SIZE), kept in
 * [MOAT_DNS_EVENT_FIXED, sizeof] where the verifier can see it. */
static __always_inline __u32 dns__event_size(const struct moat_dns_event *e)
{
	__u32 na = e->n_addrs, nc = e->n_cnames;

	if (na > MOAT_DNS_MAX_ADDRS)
		na = MOAT_DNS_MAX_ADDRS;
	if (nc > MOAT_DNS_MAX_CNAMES)
		nc = MOAT_DNS_MAX_CNAMES;
	return MOAT_DNS_EVENT_SIZE(na, nc);
}

static __always_inline int dns__handle(struct __sk_buff *skb, __u32 prog)
{
	struct dns_pkt p = {};
	struct moat_dns_event *e;
	struct dns_scratch *s;
	__u32 n, size, zero = 0;

	if (dns__not_dns_socket(skb))
		return 1;
	if (!dns__l4(skb, &p, prog == MOAT_PROG_DNS_EGRESS))
		return 1;
	s = dns__scratch();
	if (!s) {
		stats__inc(prog, MOAT_STAT_ERRORS);
		return 1;
	}
	e = bpf_map_lookup_elem(&dns_event_scratch, &zero);
	if (!e) {
		stats__inc(prog, MOAT_STAT_ERRORS);
		return 1;
	}
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
	else if (prog == MOAT_PROG_DNS_INGRESS && dns__learn(e))
		e->flags |= MOAT_DNS_F_HELD;
	size = dns__event_size(e);
	e->hdr.size = size;
	if (e->flags & MOAT_DNS_F_HELD) {
		/* Someone must decide now: wake the reader. */
		if (bpf_ringbuf_output(&events, e, size, BPF_RB_FORCE_WAKEUP))
			stats__inc(prog, MOAT_STAT_DROPS);
		else
			stats__inc(prog, MOAT_STAT_EVENTS);
		stats__inc(prog, MOAT_STAT_DENIED);
		return 0;
	}
	events__output(prog, e, size);
	return 1;
}

/* Why this hook: cgroup_skb/egress runs for every packet a socket in the
 * cgroup sends, from __cgroup_bpf_run_filter_skb in ip_finish_output /
 * ip6_finish_output (before fragmentation), with skb->sk the sending
 * socket: queries carry the cookie connect/sendmsg recorded. */
SEC("cgroup_skb/egress")
int handle_dns_egress(struct __sk_buff *skb)
{
	dns__handle(skb, MOAT_PROG_DNS_EGRESS);
	return 1; /* egress never holds anything back */
}

/* Why this hook: cgroup_skb/ingress runs from sk_filter_trim_cap on the
 * UDP/TCP receive path after the socket lookup (and after reassembly), so
 * the cookie and cgroup are those of the receiving socket: the process that
 * asked gets the answer attributed to it. */
SEC("cgroup_skb/ingress")
int handle_dns_ingress(struct __sk_buff *skb)
{
	return dns__handle(skb, MOAT_PROG_DNS_INGRESS);
}

char LICENSE[] SEC("license") = "GPL";
