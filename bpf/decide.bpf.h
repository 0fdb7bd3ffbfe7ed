/* decide.bpf.h - the egress decision every enforcement point shares: which settings bind a
 * cgroup, and whether a destination is allowed for it. The connect/sendmsg hooks
 * (net.bpf.c), the socket backstop and the DNS learner (dns.bpf.c) and the veth guard
 * (veth.bpf.c) all judge with these functions, so a destination gets one verdict whatever
 * path a packet takes. */
#ifndef MOAT_DECIDE_BPF_H
#define MOAT_DECIDE_BPF_H

#include "common.bpf.h"

#ifndef IPPROTO_ICMP
#define IPPROTO_ICMP 1
#endif
#ifndef IPPROTO_TCP
#define IPPROTO_TCP 6
#endif
#ifndef IPPROTO_UDP
#define IPPROTO_UDP 17
#endif
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
#ifndef SOCK_STREAM
#define SOCK_STREAM 1
#endif
#ifndef SOCK_DGRAM
#define SOCK_DGRAM 2
#endif

/* A destination as the hooks see it. */
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

/* The settings that bind a cgroup. */
struct decide__cg {
	__u64 id; /* the cgroup whose entry applies (it owns the learned addresses and is the
		     key of its per-cgroup rules): the cgroup itself, or its nearest configured
		     ancestor */
	struct moat_cgroup_cfg cfg;
	__u8 known; /* 1: from cgroup_cfg; 0: moat_settings.unknown */
	__u8 pad0[7];
};

/* A plain TCP or UDP socket: the connect/sendmsg hooks judge everything it sends. */
static __always_inline int decide__plain_sock(__u32 type, __u32 protocol)
{
	return (type == SOCK_STREAM && protocol == IPPROTO_TCP) ||
	       (type == SOCK_DGRAM && protocol == IPPROTO_UDP);
}

static __always_inline struct moat_settings *decide__settings(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&settings, &zero);
}

/* Fill cg for cgroup cgid: its own cgroup_cfg entry; else the nearest ancestor's (a child
 * cgroup of a container is held to the container's settings); else moat_settings.unknown (a
 * container moat run has not set up yet). ANCESTOR(level) gives the id of the ancestor at
 * level (0 past the cgroup's own level). */
#define DECIDE__CGROUP(cgid, cg, ANCESTOR)                                                         \
	do {                                                                                       \
		struct moat_cgroup_cfg *c_ = bpf_map_lookup_elem(&cgroup_cfg, &(cgid));            \
		struct moat_settings *s_;                                                          \
                                                                                                   \
		(cg)->id = (cgid);                                                                 \
		(cg)->known = 0;                                                                   \
		if (c_) {                                                                          \
			(cg)->cfg = *c_;                                                           \
			(cg)->known = 1;                                                           \
			break;                                                                     \
		}                                                                                  \
		for (int l_ = 1; l_ < MOAT_MAX_CGROUP_DEPTH; l_++) {                               \
			__u64 a_ = ANCESTOR(l_);                                                   \
                                                                                                   \
			if (!a_ || a_ == (cgid))                                                   \
				break;                                                             \
			c_ = bpf_map_lookup_elem(&cgroup_cfg, &a_);                                \
			if (c_) {                                                                  \
				(cg)->cfg = *c_;                                                   \
				(cg)->id = a_;                                                     \
				(cg)->known = 1;                                                   \
			}                                                                          \
		}                                                                                  \
		if ((cg)->known)                                                                   \
			break;                                                                     \
		s_ = decide__settings();                                                           \
		if (s_)                                                                            \
			(cg)->cfg = s_->unknown;                                                   \
		else                                                                               \
			__builtin_memset(&(cg)->cfg, 0, sizeof((cg)->cfg));                        \
	} while (0)

/* The settings binding the current task's cgroup (sock_addr, sock_create, tracepoints). */
static __always_inline void decide__cgroup_task(struct decide__cg *cg)
{
	__u64 cgid = bpf_get_current_cgroup_id();

	DECIDE__CGROUP(cgid, cg, bpf_get_current_ancestor_cgroup_id);
}

#define DECIDE__SKB_ANCESTOR(l) bpf_skb_ancestor_cgroup_id(skb, (l))

/* The settings binding the cgroup of skb's socket (cgroup_skb programs). */
static __always_inline void decide__cgroup_skb(struct __sk_buff *skb, struct decide__cg *cg)
{
	__u64 cgid = bpf_skb_cgroup_id(skb);

	DECIDE__CGROUP(cgid, cg, DECIDE__SKB_ANCESTOR);
}

/* Is the current task below one of the watched cgroups? Host-wide hooks (tracepoints) call
 * this first. Walks the ancestors from the root down: at most MOAT_MAX_CGROUP_DEPTH helper
 * calls and hash lookups, and usually 2-3. */
static __always_inline int decide__watched_task(void)
{
	for (int level = 1; level < MOAT_MAX_CGROUP_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (!id)
			return 0;
		if (bpf_map_lookup_elem(&watch_cgroups, &id))
			return 1;
	}
	return 0;
}

/* Is dst an IPv4-mapped IPv6 address (::ffff:a.b.c.d)? */
static __always_inline int decide__is_mapped(const struct net__dst *dst)
{
	return dst->family == AF_INET6 && !dst->addr[0] && !dst->addr[1] && !dst->addr[2] &&
	       !dst->addr[3] && !dst->addr[4] && !dst->addr[5] && !dst->addr[6] && !dst->addr[7] &&
	       !dst->addr[8] && !dst->addr[9] && dst->addr[10] == 0xff && dst->addr[11] == 0xff;
}

/* Is dst one of the DNS resolvers Docker configured for this cgroup (or for every cgroup)?
 * Only port 53 is ever asked. Returns the rule id or 0. */
static __always_inline __u32 decide__resolver(const struct net__dst *dst, __u64 cgid)
{
	struct moat_resolver_key k = {.cgroup_id = cgid};
	__u32 *r;

	if (dst->family == AF_INET) {
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		__builtin_memcpy(&k.addr[12], dst->addr, 4);
	} else {
		__builtin_memcpy(k.addr, dst->addr, 16);
	}
	r = bpf_map_lookup_elem(&resolvers, &k);
	if (!r) {
		k.cgroup_id = 0;
		r = bpf_map_lookup_elem(&resolvers, &k);
	}
	return r ? *r : 0;
}

/* Look up the most specific CIDR rule for dst, per cgroup and global.
 * The longer prefix wins; at equal length the cgroup's own rule wins.
 * Returns the rule or NULL; *scope says which. */
static __always_inline struct moat_rule_val *decide__match(const struct net__dst *dst, __u64 cgid,
							   __u8 *scope)
{
	struct moat_rule_val *own, *glob;
	/* Global rules of the live generation: one read, so both tries and every
	 * lookup below see the same generation. */
	__u64 gid = rules__gen() ? MOAT_GLOBAL_ID_GEN1 : 0;

	/* An IPv4-mapped IPv6 destination (::ffff:a.b.c.d, a dual-stack
	 * socket) is judged by the IPv4 rules. */
	int mapped = decide__is_mapped(dst);

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
static __always_inline int decide__learned(const struct net__dst *dst, __u64 cgid,
					   struct net__decision *d)
{
	struct moat_learned *l;
	__u64 now = bpf_ktime_get_boot_ns();
	int mapped = decide__is_mapped(dst);

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

/* Decide dst for the cgroup in cg: its DNS resolvers (port 53 only), then in domain mode
 * what its DNS answers opened, then the CIDR rules, else its default action. Monitor mode
 * turns deny into would-deny. */
static __always_inline void decide__dst(const struct decide__cg *cg, const struct net__dst *dst,
					struct net__decision *d)
{
	struct moat_rule_val *rule;
	__u8 action;

	d->mode = cg->cfg.mode;
	if (dst->dport == 53 && (dst->protocol == IPPROTO_UDP || dst->protocol == IPPROTO_TCP) &&
	    (d->rule_id = decide__resolver(dst, cg->id))) {
		d->verdict = MOAT_VERDICT_ALLOW;
		d->scope = MOAT_SCOPE_RESOLVER;
		return;
	}
	if (cg->cfg.domains && decide__learned(dst, cg->id, d))
		return;
	rule = decide__match(dst, cg->id, &d->scope);
	if (rule) {
		action = rule->action;
		d->rule_id = rule->rule_id;
	} else {
		action = cg->cfg.default_action;
		d->rule_id = 0;
	}
	if (action != MOAT_ACT_DENY)
		d->verdict = MOAT_VERDICT_ALLOW;
	else if (d->mode == MOAT_MODE_ENFORCE)
		d->verdict = MOAT_VERDICT_DENY;
	else
		d->verdict = MOAT_VERDICT_WOULD_DENY;
}

/* Rate limit for packet reports: may cgroup cgid send one more? Token bucket of
 * MOAT_REPORT_BURST reports refilled at MOAT_REPORT_RATE per second, per cgroup, so that a
 * container flooding what moat drops cannot fill the ring buffer others share. Returns the
 * number of reports suppressed since the last one sent, plus one (0: suppress this one). */
static __always_inline __u64 decide__report_budget(__u64 cgid)
{
	struct moat_cgroup_state fresh = {}, *st;
	__u64 now = bpf_ktime_get_boot_ns(), tokens, sup, ms;

	st = bpf_map_lookup_elem(&cgroup_state, &cgid);
	if (!st) {
		fresh.report_tokens = MOAT_REPORT_BURST * 1000ULL;
		fresh.report_ns = now;
		bpf_map_update_elem(&cgroup_state, &cgid, &fresh, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&cgroup_state, &cgid);
		if (!st)
			return 1;
	}
	/* Refill: MOAT_REPORT_RATE per second is RATE milli-tokens per ms. Races between CPUs
	 * may lose or gain a token; the limit only needs to be about right. */
	ms = (now - st->report_ns) / 1000000ULL;
	tokens = st->report_tokens + ms * MOAT_REPORT_RATE;
	if (tokens > MOAT_REPORT_BURST * 1000ULL)
		tokens = MOAT_REPORT_BURST * 1000ULL;
	st->report_ns += ms * 1000000ULL;
	if (tokens < 1000) {
		st->report_tokens = tokens;
		__sync_fetch_and_add(&st->reports_suppressed, 1);
		return 0;
	}
	st->report_tokens = tokens - 1000;
	sup = st->reports_suppressed;
	st->reports_suppressed = 0;
	return sup + 1;
}

/* Start the report of a packet moat dropped, for cgroup cgid: within its report budget,
 * reserve a packet event and fill the parts every report shares (header without a task,
 * suppressed count). Returns it for the caller to finish and submit (events__submit_urgent),
 * or NULL when the budget or the ring buffer has no room. */
static __always_inline struct moat_packet_event *decide__packet_report(__u32 prog, __u64 cgid)
{
	struct moat_packet_event *e;
	__u64 sup = decide__report_budget(cgid);

	if (!sup)
		return NULL;
	e = events__reserve(prog, sizeof(*e));
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = MOAT_EV_PACKET;
	e->hdr.size = sizeof(*e);
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.cgroup_id = cgid;
	e->suppressed = (__u32)(sup - 1);
	return e;
}

/* Fair share of the ring buffer: may cgroup cgid put one more ordinary event (an allowed
 * connect or send, a DNS message, an exit) in it? A token bucket of moat_settings.event_rate
 * events per second (a second's worth of burst), per cgroup, so that a container flooding
 * connects or DNS queries cannot fill the ring every container shares and push out another
 * container's shell. Enforcement never depends on it: only the report is left out, and
 * counted (MOAT_STAT_SUPPRESSED for prog, and the cgroup's events_suppressed). Returns 1 to
 * send, with in *suppressed (when not NULL, and a budget applies) how many were left out so
 * far. */
static __always_inline int decide__event_budget(__u64 cgid, __u32 prog, __u32 *suppressed)
{
	struct moat_settings *set = decide__settings();
	struct moat_cgroup_state *st;
	__u64 now, tokens, ms, cap;

	if (!set || !set->event_rate)
		return 1;
	cap = (__u64)set->event_rate * 1000ULL;
	st = bpf_map_lookup_elem(&cgroup_state, &cgid);
	if (!st) {
		struct moat_cgroup_state fresh = {.report_tokens = MOAT_REPORT_BURST * 1000ULL};

		bpf_map_update_elem(&cgroup_state, &cgid, &fresh, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&cgroup_state, &cgid);
		if (!st)
			return 1;
	}
	now = bpf_ktime_get_boot_ns();
	if (!st->event_ns) {
		st->event_ns = now;
		st->event_tokens = cap;
	}
	ms = (now - st->event_ns) / 1000000ULL;
	tokens = st->event_tokens + ms * set->event_rate;
	if (tokens > cap)
		tokens = cap;
	st->event_ns += ms * 1000000ULL;
	if (tokens < 1000) {
		st->event_tokens = tokens;
		__sync_fetch_and_add(&st->events_suppressed, 1);
		stats__inc(prog, MOAT_STAT_SUPPRESSED);
		return 0;
	}
	st->event_tokens = tokens - 1000;
	if (suppressed)
		*suppressed = (__u32)st->events_suppressed;
	return 1;
}

#endif /* MOAT_DECIDE_BPF_H */
