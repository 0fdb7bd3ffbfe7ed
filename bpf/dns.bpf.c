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
#include "decide.bpf.h"

#define ETH_P_IP	 0x0800
#define ETH_P_IPV6	 0x86DD
#define IPPROTO_HOPOPTS	 0
#define IPPROTO_ROUTING	 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS	 60
#define DNS_PORT	 53
#define IPPROTO_UDPLITE	 136
#define IPV6_MAX_EXT	 4 /* extension headers walked before giving up */
#define LOOPBACK_IFINDEX 1 /* lo is interface 1 in every network namespace */

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

/* The state moat keeps on skb's socket (bpf/maps.bpf.h), or NULL. create: make it when
 * missing (egress queries). */
static __always_inline struct moat_sock_state *dns__state(struct __sk_buff *skb, int create)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return NULL;
	return bpf_sk_storage_get(&sock_state, sk, 0, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
}

/* Egress: did the sending socket address port 53, whatever port the packet now carries? A
 * connected socket says so itself; an unconnected one (musl's resolver sends with sendto)
 * was marked by the sendmsg hook in its state. */
static __always_inline int dns__sock_aims_at_dns(struct __sk_buff *skb)
{
	struct moat_sock_state *st;

	if (dns__remote_port(skb) == DNS_PORT)
		return 1;
	st = dns__state(skb, 0);
	return st && st->dns;
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

/* Tests only (tests/bpf/test_dns.c): BPF_PROG_TEST_RUN gives every run a new dummy socket,
 * so an answer can never meet its query there; with this set, ingress takes a trusted
 * answer as verified, so the learning that follows can be tested on crafted packets. The
 * verification itself is tested with real sockets (tests/adversarial/). moat's loader
 * never sets it, and rodata cannot change once loaded. */
const volatile __u8 test_skip_verify = 0;

/* Fill the event header and the addressing. pid/tid/uid/gid/comm come from
 * the socket's state (the process that last connected or sent on it); they
 * stay 0/empty for a socket moat has not seen. */
static __always_inline void dns__fill(struct __sk_buff *skb, struct moat_dns_event *e,
				      const struct dns_pkt *p)
{
	struct moat_sock_state *o = dns__state(skb, 0);

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
	e->sock_cookie = bpf_get_socket_cookie(skb);
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

/* ---- Queries and the answers that may be trusted (issue #8) ----------- */

/* Egress: remember a query this socket sent, so that its answer can be verified: slot by
 * slot, a free or expired one, else the oldest by turn. */
static __always_inline void dns__remember_query(struct __sk_buff *skb,
						const struct moat_dns_event *e,
						const struct dns_scratch *s)
{
	struct moat_sock_state *st = dns__state(skb, 1);
	struct moat_dns_pending *q = NULL;
	__u64 now = bpf_ktime_get_boot_ns();

	if (!st)
		return;
#pragma unroll
	for (int i = 0; i < MOAT_DNS_PENDING; i++)
		if (!q && st->q[i].expires_ns <= now)
			q = &st->q[i];
	if (!q) {
		__u32 n = st->next++;

		q = &st->q[n & (MOAT_DNS_PENDING - 1)];
	}
	q->expires_ns = now + MOAT_DNS_QUERY_TTL_NS;
	q->name_hash = s->qhash;
	q->id = e->id;
	q->qtype = e->qtype;
	q->port = e->dport; /* the port the application addressed (53 even when NAT'd) */
	q->family = e->family;
	__builtin_memcpy(q->server, e->daddr, 16);
}

static __always_inline int dns__addr_eq(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, 16);
	__builtin_memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1];
}

/* Ingress: is this answer the first one to a query its socket sent and still waits for
 * (same id, question name and type, from the server address and port it was sent to)? The
 * query is consumed: an answer is verified once. */
static __always_inline int dns__verify_answer(struct __sk_buff *skb, const struct moat_dns_event *e,
					      const struct dns_scratch *s)
{
	struct moat_sock_state *st = dns__state(skb, 0);
	__u64 now = bpf_ktime_get_boot_ns();

	if (!st)
		return 0;
#pragma unroll
	for (int i = 0; i < MOAT_DNS_PENDING; i++) {
		struct moat_dns_pending *q = &st->q[i];

		if (q->expires_ns > now && q->id == e->id && q->qtype == e->qtype &&
		    q->name_hash == s->qhash && q->family == e->family && q->port == e->sport &&
		    dns__addr_eq(q->server, e->saddr)) {
			q->expires_ns = 0;
			return 1;
		}
	}
	return 0;
}

static __always_inline int dns__is_loopback(__u8 family, const __u8 *a)
{
	if (family == AF_INET)
		return a[0] == 127;
	return (!a[0] && !a[1] && !a[2] && !a[3] && !a[4] && !a[5] && !a[6] && !a[7] && !a[8] &&
		!a[9] && !a[10] && !a[11] && !a[12] && !a[13] && !a[14] && a[15] == 1) ||
	       (!a[0] && !a[1] && !a[2] && !a[3] && !a[4] && !a[5] && !a[6] && !a[7] && !a[8] &&
		!a[9] && a[10] == 0xff && a[11] == 0xff && a[12] == 127);
}

/* Ingress: could a resolver have sent this answer? Not when it came in on the loopback
 * interface from an address that is not a loopback one (a packet socket injected it: real
 * answers from such an address come in on the container's network interface), nor from a
 * loopback address other than Docker's embedded DNS at 127.0.0.11 (the container answering
 * itself), nor when the container's own egress marked it (MOAT_MARK_DNS_OUT: a socket in
 * the container sent it, whatever address it claims). A loopback source coming in on
 * another interface is impossible (martian) and not trusted either. */
static __always_inline int dns__untrusted(struct __sk_buff *skb, const struct dns_pkt *p)
{
	int lo = skb->ingress_ifindex == LOOPBACK_IFINDEX;
	int loop_src = dns__is_loopback(p->family, p->saddr);
	int embedded = p->family == AF_INET && p->saddr[0] == 127 && p->saddr[1] == 0 &&
		       p->saddr[2] == 0 && p->saddr[3] == 11;

	if (skb->mark & MOAT_MARK_DNS_OUT)
		return 1;
	if (lo)
		return !embedded;
	return loop_src;
}

/* ---- Domain rules: decided here, at answer time (issue #4) ----------- */

#define DNS_MAX_SUFFIXES 128 /* labels of a name (a 255-byte name has at most 127 dots) */

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
	__u32 first; /* the first suffix tried (moat_settings.max_wild_labels) */
	__u32 action, rule_id, found;
	__u32 max_ttl_s;
	__u64 until;
	__u64 cgroup_id;
	__u64 limit; /* the cgroup's learn limit */
	__u64 added; /* addresses this answer added */
	__u64 refused;
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
	struct moat_cgroup_state *st; /* the learning cgroup's counters, or NULL */
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

/* bpf_loop: try the wildcard rule for suffix first + i (longest first). */
static long dns__suffix_cb(__u32 i, void *data)
{
	struct dns_match_ctx *c = data;
	struct moat_domain_rule *r;
	__u32 idx;

	i += c->m->first;
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

/* Write learned entry k (of map `map`) for answer address a under the decision in c->m: an
 * existing entry is merged; a new one counts against the cgroup's learn limit, and is not
 * made when the cgroup holds its limit already (the cgroup's own later connect to it is
 * refused; other containers keep their share). BPF_NOEXIST makes the count exact when two
 * CPUs learn the same address at once. */
#define DNS__LEARN_ONE(map, k, c, until)                                                           \
	do {                                                                                       \
		struct moat_learned v_ = {};                                                       \
		struct moat_learned *old_ = bpf_map_lookup_elem(&(map), &(k));                     \
                                                                                                   \
		dns__merge(&v_, old_, (c)->m, (until));                                            \
		if (old_) {                                                                        \
			bpf_map_update_elem(&(map), &(k), &v_, BPF_ANY);                           \
			break;                                                                     \
		}                                                                                  \
		if ((c)->st && (c)->st->learned >= (__s64)(c)->m->limit) {                         \
			(c)->m->refused++;                                                         \
			break;                                                                     \
		}                                                                                  \
		if (bpf_map_update_elem(&(map), &(k), &v_, BPF_NOEXIST) == 0)                      \
			(c)->m->added++;                                                           \
		else if ((old_ = bpf_map_lookup_elem(&(map), &(k)))) {                             \
			dns__merge(&v_, old_, (c)->m, (until));                                    \
			bpf_map_update_elem(&(map), &(k), &v_, BPF_ANY);                           \
		}                                                                                  \
	} while (0)

/* bpf_loop: learn answer address i under the decision in m. The TTL counts up to
 * moat_settings.max_ttl_s: one answer cannot open an address for longer. */
static long dns__learn_cb(__u32 i, void *data)
{
	struct dns_match_ctx *c = data;
	struct moat_dns_addr *a;
	__u64 until, ttl;

	__u32 idx = i;

	if (i >= c->e->n_addrs || i >= MOAT_DNS_MAX_ADDRS)
		return 1;
	/* Keep the mask: clang would drop it after the check above and index
	 * with a register the verifier has no bound for. */
	asm volatile("" : "+r"(idx));
	a = &c->e->addrs[idx & (MOAT_DNS_MAX_ADDRS - 1)];
	ttl = a->ttl < c->m->max_ttl_s ? a->ttl : c->m->max_ttl_s;
	until = c->m->until + ttl * 1000000000ULL;
	if (a->family == AF_INET) {
		struct moat_learn_key_v4 k = {.cgroup_id = c->m->cgroup_id};

		__builtin_memcpy(k.addr, a->addr, 4);
		DNS__LEARN_ONE(learned_v4, k, c, until);
	} else {
		struct moat_learn_key_v6 k = {.cgroup_id = c->m->cgroup_id};

		__builtin_memcpy(k.addr, a->addr, 16);
		DNS__LEARN_ONE(learned_v6, k, c, until);
	}
	return 0;
}

/* For a cgroup in domain mode: decide the asked name by the rule set
 * (exact name, then the longest wildcard suffix, then the "*" default;
 * userspace refuses a name with both allow and deny) and write each answer
 * address into learned_v4/v6 with its TTL (at least MOAT_LEARN_MIN_NS, at most
 * moat_settings.max_ttl_s), before the answer reaches the socket: the first
 * connect after a lookup is never refused for want of time. Only verified
 * answers get here. No rule: nothing is learned, and the cgroup's default
 * (deny) applies. Names reached through a CNAME are decided by the name asked.
 * The cgroup is the one whose settings bind the socket (a container's child
 * cgroup learns for the container). Returns 1 to hold the answer back
 * (interactive mode, no rule for the name). */
static __always_inline int dns__learn(struct __sk_buff *skb, struct moat_dns_event *e)
{
	struct moat_domain_rule *r;
	struct dns_match_ctx c = {.e = e};
	struct moat_settings *set;
	struct decide__cg cg;
	struct dns_match *m;
	__u32 zero = 0;

	if (e->rcode || !e->n_addrs)
		return 0;
	decide__cgroup_skb(skb, &cg);
	if (!cg.cfg.domains)
		return 0;
	m = bpf_map_lookup_elem(&dns_match_scratch, &zero);
	if (!m)
		return 0;
	c.m = m;
	/* The rule set of the live generation (include/moat/maps.h). */
	m->key.policy = cg.cfg.policy | (rules__gen() ? MOAT_POLICY_GEN1 : 0);
	m->found = 0;
	m->n_dots = 0;
	m->first = 0;
	m->cgroup_id = cg.id;
	m->added = 0;
	m->refused = 0;
	m->limit = cg.cfg.learn_limit ? cg.cfg.learn_limit : MOAT_LEARN_LIMIT_DEFAULT;
	set = decide__settings();
	m->max_ttl_s = set && set->max_ttl_s ? set->max_ttl_s : MOAT_MAX_TTL_DEFAULT;
	r = dns__rule_at(m, e, 0, 0);
	if (r) {
		m->action = r->action;
		m->rule_id = r->rule_id;
		m->found = 1;
	}
	if (!m->found) {
		bpf_loop(MOAT_DNS_NAME_LEN, dns__dot_cb, &c, 0);
		/* Suffix i has n_dots - i labels: skip those longer than any wildcard rule. */
		if (set && set->max_wild_labels && m->n_dots > set->max_wild_labels)
			m->first = m->n_dots - set->max_wild_labels;
		bpf_loop(DNS_MAX_SUFFIXES, dns__suffix_cb, &c, 0);
	}
	/* Interactive: a name no rule names is held back while moat asks; the
	 * "*" default is not consulted. */
	if (!m->found && cg.cfg.domains == 2)
		return 1;
	if (!m->found) {
		r = dns__rule_at(m, e, MOAT_DNS_NAME_LEN, 1); /* "" = the "*" default */
		if (!r)
			return 0;
		m->action = r->action;
		m->rule_id = r->rule_id;
	}
	c.st = bpf_map_lookup_elem(&cgroup_state, &cg.id);
	if (!c.st) {
		struct moat_cgroup_state fresh = {.report_tokens = MOAT_REPORT_BURST * 1000ULL};

		bpf_map_update_elem(&cgroup_state, &cg.id, &fresh, BPF_NOEXIST);
		c.st = bpf_map_lookup_elem(&cgroup_state, &cg.id);
	}
	m->until = bpf_ktime_get_boot_ns();
	/* A TTL of 0 still opens the address long enough to connect. */
	m->until += MOAT_LEARN_MIN_NS;
	bpf_loop(MOAT_DNS_MAX_ADDRS, dns__learn_cb, &c, 0);
	if (c.st) {
		if (m->added)
			__sync_fetch_and_add(&c.st->learned, m->added);
		if (m->refused)
			__sync_fetch_and_add(&c.st->learn_refused, m->refused);
	}
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

/* Egress fast path, second half: is the packet plain TCP or UDP by its IP header (read in
 * place, no helper call)? A connected UDP-Lite socket has a peer port too, and only the
 * backstop may let its packets pass. Anything unusual (extension headers, a short header)
 * takes the slow path. */
static __always_inline int dns__ip_plain(const struct __sk_buff *skb)
{
	const __u8 *h = (const __u8 *)(long)skb->data, *end = (const __u8 *)(long)skb->data_end;

	if (h + 10 > end)
		return 0;
	if (h[0] >> 4 == 4)
		return h[9] == IPPROTO_TCP || h[9] == IPPROTO_UDP;
	if (h[0] >> 4 == 6)
		return h[6] == IPPROTO_TCP || h[6] == IPPROTO_UDP;
	return 0;
}

/* The destination of the IP packet in skb (every fragment carries it), and its ports when
 * the packet is the first fragment of UDP, TCP or UDP-Lite (ICMP: type and code). Returns 0,
 * or -1 when skb holds no IP packet. */
static __always_inline int dns__pkt_dst(struct __sk_buff *skb, struct net__dst *dst,
					struct dns_pkt *p)
{
	__u8 h[40];
	__u32 off, next, i, first = 1;

	if (bpf_skb_load_bytes(skb, 0, h, 1))
		return -1;
	if (h[0] >> 4 == 4) {
		if (bpf_skb_load_bytes(skb, 0, h, 20))
			return -1;
		dst->family = AF_INET;
		next = h[9];
		first = !(dns__be16(&h[6]) & 0x1fff);
		__builtin_memcpy(p->saddr, &h[12], 4);
		__builtin_memcpy(dst->addr, &h[16], 4);
		off = (h[0] & 0xf) * 4;
	} else if (h[0] >> 4 == 6) {
		if (bpf_skb_load_bytes(skb, 0, h, 40))
			return -1;
		dst->family = AF_INET6;
		__builtin_memcpy(p->saddr, &h[8], 16);
		__builtin_memcpy(dst->addr, &h[24], 16);
		next = h[6];
		off = 40;
#pragma unroll
		for (i = 0; i < IPV6_MAX_EXT; i++) {
			if (next == IPPROTO_FRAGMENT) {
				if (bpf_skb_load_bytes(skb, off, h, 8))
					return 0;
				first = !(dns__be16(&h[2]) & 0xfff8);
				next = h[0];
				off += 8;
			} else if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
				   next == IPPROTO_DSTOPTS) {
				if (bpf_skb_load_bytes(skb, off, h, 2))
					return 0;
				next = h[0];
				off += (h[1] + 1) * 8;
			} else {
				break;
			}
		}
	} else {
		return -1;
	}
	dst->protocol = next;
	p->family = dst->family;
	p->proto = next;
	if (!first)
		return 0;
	if (next == IPPROTO_UDP || next == IPPROTO_TCP || next == IPPROTO_UDPLITE ||
	    next == IPPROTO_ICMP || next == IPPROTO_ICMPV6) {
		if (bpf_skb_load_bytes(skb, off, h, 4))
			return 0;
		if (next == IPPROTO_ICMP || next == IPPROTO_ICMPV6) {
			p->sport = h[0];
			p->dport = h[1];
		} else {
			p->sport = dns__be16(&h[0]);
			p->dport = dns__be16(&h[2]);
			dst->dport = p->dport;
		}
	}
	return 0;
}

/* Report a packet moat dropped at the socket (cgroup_skb), rate-limited per cgroup. The
 * process is the socket's last sender, as for DNS events. */
static __always_inline void dns__report_drop(struct __sk_buff *skb, const struct decide__cg *cg,
					     const struct net__dst *dst, const struct dns_pkt *p,
					     __u8 reason, __u32 rule_id, __u32 prog)
{
	struct moat_packet_event *e = decide__packet_report(prog, cg->id);
	struct moat_sock_state *o;

	if (!e)
		return;
	e->hdr.cgroup_id = bpf_skb_cgroup_id(skb);
	o = dns__state(skb, 0);
	if (o) {
		e->hdr.pid = o->pid;
		e->hdr.tid = o->tid;
		e->hdr.uid = o->uid;
		e->hdr.gid = o->gid;
		__builtin_memcpy(e->hdr.comm, o->comm, sizeof(e->hdr.comm));
	}
	e->family = dst->family;
	e->protocol = dst->protocol;
	e->reason = reason;
	e->where = MOAT_PKT_AT_SOCKET;
	e->rule_id = rule_id;
	e->sport = p->sport;
	e->dport = p->dport;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, dst->addr, 16);
	events__submit_urgent(prog, e);
}

/* The egress backstop: every packet of a socket that is not plain TCP or UDP (raw, ping,
 * UDP-Lite, anything on the IP output path the connect/sendmsg hooks do not see) is judged
 * as connect() would judge its destination, in enforce mode. Returns 0 to drop it (the
 * sender gets EPERM), 1 to let it go on. Monitor mode never drops. */
static __always_inline int dns__backstop(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct net__decision d = {};
	struct net__dst dst = {};
	struct dns_pkt p = {};
	struct decide__cg cg;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk || decide__plain_sock(sk->type, sk->protocol))
		return 1;
	decide__cgroup_skb(skb, &cg);
	if (cg.cfg.mode != MOAT_MODE_ENFORCE)
		return 1;
	if (dns__pkt_dst(skb, &dst, &p))
		return 1;
	decide__dst(&cg, &dst, &d);
	if (d.verdict != MOAT_VERDICT_DENY)
		return 1;
	stats__inc(MOAT_PROG_DNS_EGRESS, MOAT_STAT_DENIED);
	dns__report_drop(skb, &cg, &dst, &p, MOAT_PKT_R_DENIED, d.rule_id, MOAT_PROG_DNS_EGRESS);
	return 0;
}

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

/* Report the DNS message in skb, if any, for program `prog`, and act on it: egress queries
 * are remembered for their answer; egress responses (the container answering) are marked,
 * or dropped for a restricted container; ingress answers are checked (dns__untrusted,
 * dns__verify_answer) and only verified ones are learned from. Returns 0 to drop the
 * packet (an answer held back in interactive mode, a restricted container's response), 1
 * to pass it: everything else passes, whatever the parse found. */
static __always_inline int dns__handle(struct __sk_buff *skb, __u32 prog)
{
	struct dns_pkt p = {};
	struct moat_dns_event *e;
	struct dns_scratch *s;
	__u32 n, size, zero = 0;

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
	s->qhash = 0;
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
	if (prog == MOAT_PROG_DNS_EGRESS && e->hdr.type == MOAT_EV_DNS_ANSWER) {
		struct decide__cg cg;

		decide__cgroup_skb(skb, &cg);
		if (MOAT_CFG_RESTRICTED(&cg.cfg)) {
			struct net__dst dst = {.family = p.family, .protocol = p.proto};

			__builtin_memcpy(dst.addr, p.daddr, 16);
			stats__inc(prog, MOAT_STAT_DENIED);
			dns__report_drop(skb, &cg, &dst, &p, MOAT_PKT_R_DNS_RESPONSE,
					 MOAT_RULE_DNS_RESPONSE, prog);
			return 0;
		}
		e->flags |= MOAT_DNS_F_OUTBOUND;
		skb->mark |= MOAT_MARK_DNS_OUT;
	} else if (prog == MOAT_PROG_DNS_EGRESS) {
		if (!(e->flags & DNS_F_ERRORS))
			dns__remember_query(skb, e, s);
	} else if (e->hdr.type == MOAT_EV_DNS_ANSWER) {
		if (dns__untrusted(skb, &p))
			e->flags |= MOAT_DNS_F_UNTRUSTED;
		else if (!(e->flags & DNS_F_ERRORS) &&
			 (test_skip_verify || dns__verify_answer(skb, e, s))) {
			e->flags |= MOAT_DNS_F_VERIFIED;
			if (dns__learn(skb, e))
				e->flags |= MOAT_DNS_F_HELD;
		}
	}
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
	if (!(e->flags & MOAT_DNS_F_UNTRUSTED) &&
	    !decide__event_budget(e->hdr.cgroup_id, prog, NULL))
		return 1;
	events__output(prog, e, size);
	return 1;
}

/* Why this hook: cgroup_skb/egress runs for every packet a socket in the
 * cgroup sends, from __cgroup_bpf_run_filter_skb in ip_finish_output /
 * ip6_finish_output (before fragmentation), with skb->sk the sending
 * socket: queries carry the cookie connect/sendmsg recorded, and returning 0
 * drops the packet (the sender sees EPERM). Ordinary TCP and UDP packets of
 * connected sockets leave at once (dns__not_dns_socket, dns__ip_plain);
 * packets of other sockets meet the backstop (dns__backstop). */
SEC("cgroup_skb/egress")
int handle_dns_egress(struct __sk_buff *skb)
{
	if (dns__not_dns_socket(skb) && dns__ip_plain(skb))
		return 1;
	if (!dns__backstop(skb))
		return 0;
	if (dns__not_dns_socket(skb))
		return 1;
	return dns__handle(skb, MOAT_PROG_DNS_EGRESS);
}

/* Why this hook: cgroup_skb/ingress runs from sk_filter_trim_cap on the
 * UDP/TCP receive path after the socket lookup (and after reassembly), so
 * the cookie and cgroup are those of the receiving socket: the process that
 * asked gets the answer attributed to it, and the answer is checked against
 * the queries that very socket sent. */
SEC("cgroup_skb/ingress")
int handle_dns_ingress(struct __sk_buff *skb)
{
	if (dns__not_dns_socket(skb))
		return 1;
	return dns__handle(skb, MOAT_PROG_DNS_INGRESS);
}

char LICENSE[] SEC("license") = "GPL";
