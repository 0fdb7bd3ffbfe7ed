/* maps.h - the kernel/userspace ABI of moat's BPF maps: keys, values, enums.
 *
 * The map definitions themselves live in bpf/maps.bpf.h; userspace reaches
 * them through the pinned paths under the pin directory (default
 * /sys/fs/bpf/moat, see MOAT_PIN_DIR). Fixed-width types, explicit padding.
 */
#ifndef MOAT_MAPS_H
#define MOAT_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "events.h"

#define MOAT_PIN_DIR "/sys/fs/bpf/moat"

#define MOAT_RINGBUF_BYTES    (2u << 20) /* events ring buffer, 2 MiB by default (ring_buffer_kib) */
#define MOAT_RB_WAKEUP_BYTES  (256u << 10) /* wake the reader once this much waits (ring / 8) */
#define MOAT_RB_POLL_MS	      20	   /* readers drain at least this often */
#define MOAT_MAX_CGROUPS      4096	   /* cgroup_cfg entries */
#define MOAT_MAX_NET_RULES    65536	   /* entries per rules trie */
#define MOAT_MAX_WATCHED      64	   /* watch_cgroups entries */
#define MOAT_MAX_RESOLVERS    16384	   /* resolvers entries */
#define MOAT_MAX_CGROUP_DEPTH 16	   /* ancestor levels the exec filter walks */
#define MOAT_MAX_DOMAIN_RULES 65536	   /* domain_rules entries */
#define MOAT_MAX_LEARNED      262144	   /* learned_v4/v6 entries (LRU) */
#define MOAT_LEARN_MIN_NS                                                                          \
	(10ULL * 1000000000ULL)	  /* an answer opens its addresses at least this long */
#define MOAT_MAX_EXEC_DENY  4096  /* exec_deny entries */
#define MOAT_MAX_EXEC_ALLOW 16384 /* exec_allow entries */
#define MOAT_EXEC_NAME_LEN  32	  /* executable base names in exec_deny, incl. NUL */

/* Egress mode of a cgroup (cgroup_cfg.mode). A cgroup with no entry is in
 * MOAT_MODE_MONITOR. */
enum moat_mode {
	MOAT_MODE_MONITOR = 0, /* report everything, never deny */
	MOAT_MODE_ENFORCE = 1, /* deny what the rules deny */
};

/* Rule actions (net_rule_val.action and cgroup_cfg.default_action). */
enum moat_action {
	MOAT_ACT_ALLOW = 0,
	MOAT_ACT_DENY = 1,
};

/* cgroup_cfg value: per-cgroup settings, keyed by cgroup id (__u64). A cgroup with no entry
 * takes the entry of its nearest ancestor that has one (processes a container moved into a
 * child cgroup of its own), else moat_settings.unknown (a container moat run has not set up
 * yet). */
struct moat_cgroup_cfg {
	__u8 mode;	      /* enum moat_mode */
	__u8 default_action;  /* enum moat_action for destinations no rule matches */
	__u8 kill_exec;	      /* 1: the exec hook SIGKILLs names found in exec_deny, fileless
				 executables and denied programs run through the dynamic loader */
	__u8 domains;	      /* 1: DNS answers decide (domain rules, learned_v4/v6);
				 2: the same, and an answer for a name with no rule is held
				 back while moat asks (interactive) */
	__u32 policy;	      /* domain rule set (domain_rules key), 0 = the global set */
	__u32 learn_limit;    /* addresses this cgroup may hold in learned_v4 + learned_v6 at
				 once (its fair share); 0 = MOAT_LEARN_LIMIT_DEFAULT */
	__u8 exec_allow_only; /* 1 (with kill_exec): exec allow-only: every non-empty name the
				 exec hook checks must be in exec_allow (this cgroup's or the
				 global ones), else SIGKILL (MOAT_RULE_EXEC_NOT_ALLOWED); fileless
				 executables are always killed; exec_deny is not consulted */
	__u8 pad0[3];
};
_Static_assert(sizeof(struct moat_cgroup_cfg) == 16, "moat_cgroup_cfg ABI");

/* A cgroup whose egress is restricted: enforce mode with default deny or domain rules. Such a
 * cgroup may only create TCP, UDP and ping sockets, may not bind port 53, and its outbound DNS
 * responses are dropped (docs/security.md). */
#define MOAT_CFG_RESTRICTED(c)                                                                     \
	((c)->mode == MOAT_MODE_ENFORCE && ((c)->default_action == MOAT_ACT_DENY || (c)->domains))

#define MOAT_LEARN_LIMIT_DEFAULT 8192 /* learned addresses per cgroup when learn_limit is 0 */

/* The one entry of the `settings` array: knobs userspace may change at run time. */
struct moat_settings {
	struct moat_cgroup_cfg unknown; /* cgroups below a watched parent that neither they nor an
					   ancestor have a cgroup_cfg entry for (all zero:
					   monitor); moat run writes its defaults here, so a
					   container is held to them from its first instruction */
	__u32 max_ttl_s;		/* a DNS answer opens its addresses at most this long
					   (0: MOAT_MAX_TTL_DEFAULT) */
	__u32 max_wild_labels;		/* labels of the longest wildcard rule ("*.a.b" has 2);
					   names are tried against wildcard suffixes of at most
					   this many labels; 0: every suffix */
	__u32 event_rate;		/* ordinary events (allowed connects and sends, DNS,
					   exits) one cgroup may put in the ring buffer per second,
					   in bursts of as many; the rest are counted, not sent
					   (MOAT_STAT_SUPPRESSED). Execs, denials and held answers
					   always go. 0: no limit (moat trace, moat attach) */
	__u32 pad0;
};
_Static_assert(sizeof(struct moat_settings) == 32, "moat_settings ABI");

#define MOAT_MAX_TTL_DEFAULT  3600		      /* seconds */
#define MOAT_CGROUP_UNKNOWN   0xfffffffffffffffeULL   /* exec_deny key of moat_settings.unknown */
#define MOAT_DNS_QUERY_TTL_NS (15ULL * 1000000000ULL) /* a query waits this long for its answer */
#define MOAT_DNS_PENDING      8 /* queries a socket may have waiting for answers at once */
#define MOAT_MARK_DNS_OUT                                                                          \
	0x40000000u /* skb->mark bit the egress program sets on a DNS response a container sends:  \
		       an answer carrying it was not sent by a resolver outside the container */

/* Per-cgroup counters the programs keep (cgroup_state, keyed by the cgroup id that owns the
 * learned entries). Created by the programs; removed by userspace with the container. */
struct moat_cgroup_state {
	__s64 learned;		  /* entries of this cgroup in learned_v4 + learned_v6 (userspace
				     recounts it when it sweeps expired entries) */
	__u64 learn_refused;	  /* answer addresses not learned: the cgroup was at its limit */
	__u64 report_tokens;	  /* packet-event budget (rate limit), in milli-events */
	__u64 report_ns;	  /* when the budget was last refilled (boot ns) */
	__u64 reports_suppressed; /* packet events not sent for want of budget */
	__u64 event_tokens;	  /* ordinary-event budget (moat_settings.event_rate), milli */
	__u64 event_ns;		  /* when it was last refilled */
	__u64 events_suppressed;  /* ordinary events not sent for want of budget, in all */
};
_Static_assert(sizeof(struct moat_cgroup_state) == 64, "moat_cgroup_state ABI");

#define MOAT_REPORT_RATE  100 /* packet events per second and cgroup, at most ... */
#define MOAT_REPORT_BURST 200 /* ... with bursts of this many */

/* resolvers key: a DNS server a cgroup may reach on port 53 (only), from Docker's own
 * configuration of the container (never from files inside it). cgroup_id 0: every cgroup.
 * IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d). Value: the rule id (__u32). */
struct moat_resolver_key {
	__u64 cgroup_id;
	__u8 addr[16];
};
_Static_assert(sizeof(struct moat_resolver_key) == 24, "moat_resolver_key ABI");

/* Keys of the LPM tries net_rules_v4 / net_rules_v6. An LPM key is
 * {u32 prefixlen; u8 data[]} and the data is matched bit by bit, so the
 * cgroup id comes first (64 bits, all zero = global rule) and the address
 * after it: one trie holds global and per-cgroup rules, and
 * prefixlen = 64 + CIDR bits. */
struct moat_lpm_v4 {
	__u32 prefixlen;   /* 64 + CIDR prefix length */
	__u8 cgroup_id[8]; /* cgroup id, native byte order; all zero = global */
	__u8 addr[4];	   /* IPv4 address, network byte order */
};
_Static_assert(sizeof(struct moat_lpm_v4) == 16, "moat_lpm_v4 ABI");

struct moat_lpm_v6 {
	__u32 prefixlen;   /* 64 + CIDR prefix length */
	__u8 cgroup_id[8]; /* cgroup id, native byte order; all zero = global */
	__u8 addr[16];	   /* IPv6 address, network byte order */
};
_Static_assert(sizeof(struct moat_lpm_v6) == 28, "moat_lpm_v6 ABI");

/* Rule generations. The rule sets every container shares (global CIDR rules: blacklist and
 * rules file; domain rule sets) exist in two generations, and the one-entry array
 * `rules_gen` says which one the programs read. Userspace builds the next generation
 * completely beside the live one, then flips rules_gen with one map write, then removes
 * the old one (netrules_txn_*): no connect or DNS answer is ever judged against a
 * half-written set. Generation 0 keeps the plain keys (global CIDR rules under cgroup id 0,
 * domain rule set N as policy N); generation 1 puts global CIDR rules under cgroup id
 * MOAT_GLOBAL_ID_GEN1 and domain rule set N under N | MOAT_POLICY_GEN1. Per-cgroup CIDR rules
 * are not generational. */
struct moat_rules_gen {
	__u32 gen; /* 0 or 1 */
	__u32 pad0;
};
_Static_assert(sizeof(struct moat_rules_gen) == 8, "moat_rules_gen ABI");
#define MOAT_GLOBAL_ID_GEN1 0xffffffffffffffffULL /* no cgroup has this id */
#define MOAT_POLICY_GEN1    0x80000000u		  /* rule set ids stay below it */

/* Value of both rules tries. */
struct moat_rule_val {
	__u8 action;	/* enum moat_action */
	__u8 prefixlen; /* CIDR bits of the rule (0..32 or 0..128), for precedence */
	__u8 pad0[2];
	__u32 rule_id; /* reported in events; chosen by whoever wrote the rule */
};
_Static_assert(sizeof(struct moat_rule_val) == 8, "moat_rule_val ABI");

/* domain_rules key: a DNS name (lowercase, dotted, no trailing dot,
 * zero-padded) in rule set `policy`. wildcard 0: exactly this name;
 * wildcard 1: names below it ("*.github.com" is stored as "github.com"),
 * and the name "" with wildcard 1 is the `*` default. The kernel compares
 * whole keys: a hash collision can never match the wrong name. */
struct moat_domain_key {
	__u32 policy;
	__u8 wildcard;
	__u8 pad0[3];
	char name[MOAT_DNS_NAME_LEN];
};
_Static_assert(sizeof(struct moat_domain_key) == 264, "moat_domain_key ABI");

struct moat_domain_rule {
	__u8 action; /* enum moat_action */
	__u8 pad0[3];
	__u32 rule_id;
};
_Static_assert(sizeof(struct moat_domain_rule) == 8, "moat_domain_rule ABI");

/* learned_v4 / learned_v6: destinations a cgroup learned from DNS answers,
 * written by the DNS ingress program before the answer reaches the socket. */
struct moat_learn_key_v4 {
	__u64 cgroup_id;
	__u8 addr[4];
	__u8 pad0[4];
};
_Static_assert(sizeof(struct moat_learn_key_v4) == 16, "moat_learn_key_v4 ABI");

struct moat_learn_key_v6 {
	__u64 cgroup_id;
	__u8 addr[16];
};
_Static_assert(sizeof(struct moat_learn_key_v6) == 24, "moat_learn_key_v6 ABI");

struct moat_learned {
	__u64 allow_until_ns; /* boot ns: an allowed name's answer opens it until then */
	__u64 deny_until_ns;  /* boot ns: a denied name's answer marks it until then */
	__u32 rule_id;	      /* the rule that allowed it (else the one that denied it) */
	__u32 pad0;
};
_Static_assert(sizeof(struct moat_learned) == 24, "moat_learned ABI");

/* exec_deny key: an executable base name ("sh", "nc", "python3"), for one
 * cgroup or for all (cgroup_id 0). Matched against the base names of the
 * path passed to execve, the #! interpreter, argv[0] (busybox applets) and
 * the file actually executed (after symlinks). Zero-padded. */
struct moat_exec_key {
	__u64 cgroup_id;
	char name[MOAT_EXEC_NAME_LEN];
};
_Static_assert(sizeof(struct moat_exec_key) == 40, "moat_exec_key ABI");

/* exec_allow has the same key (a base name for one cgroup, or cgroup_id 0 for all) and value:
 * the names a cgroup with exec_allow_only may run. The value's rule_id is informational. */
struct moat_exec_rule {
	__u32 rule_id; /* reported by userspace; chosen by whoever wrote the entry */
	__u32 pad0;
};
_Static_assert(sizeof(struct moat_exec_rule) == 8, "moat_exec_rule ABI");

/* veth_cfg value, keyed by the ifindex (__u32) of a container's host-side veth: who is behind
 * it, so that the veth guard (bpf/veth.bpf.c) can judge every frame the container sends,
 * whatever socket made it (packet and XDP sockets included). Written by moat run from
 * Docker's view of the container's network and the kernel's view of its namespace. */
#define MOAT_VETH_GW6 4 /* IPv6 addresses of the bridge kept per veth */

struct moat_veth {
	__u64 cgroup_id; /* the container's cgroup: its cgroup_cfg decides */
	__s32 netnsid;	 /* id of the container's network namespace in the host's (socket
			    lookups); -1 when unknown */
	__u8 mac[6];	 /* the container's MAC on this network */
	__u8 gw_mac[6];	 /* the bridge's MAC (the gateway) */
	__u8 ip4[4];	 /* the container's IPv4 address here; zero: none */
	__u8 gw4[4];	 /* the gateway's IPv4 address; zero: none */
	__u8 ip6[16];	 /* the container's global IPv6 address here; zero: none */
	__u8 ll6[16];	 /* the container's IPv6 link-local address here (fe80::/10); zero:
			    unknown (any link-local source passes) */
	__u8 gw6[MOAT_VETH_GW6][16]; /* the bridge's IPv6 addresses (global and link-local):
					NDP claiming one of them must come from the bridge */
	__u8 flags;		     /* MOAT_VETH_F_* */
	__u8 pad0[7];
};
_Static_assert(sizeof(struct moat_veth) == 136, "moat_veth ABI");

#define MOAT_VETH_F_GUARD 0x01 /* enforce: judge every frame out by the container's rules */
#define MOAT_VETH_F_SPOOF                                                                          \
	0x02 /* drop frames whose source MAC/IP is not the container's and                         \
		ARP that claims another address (any mode) */
#define MOAT_VETH_F_ARPGW                                                                          \
	0x04 /* inbound: drop ARP and NDP claiming the gateway, router advertisements and          \
		redirects, unless the bridge itself sent them */
#define MOAT_MAX_VETHS 4096

/* Per-program counters: index into the per-CPU array `stats`,
 * MOAT_STAT_* (what) + MOAT_PROG_* * MOAT_STAT_NR (which program). */
enum moat_prog_id {
	MOAT_PROG_CONNECT4 = 0,
	MOAT_PROG_CONNECT6 = 1,
	MOAT_PROG_SENDMSG4 = 2,
	MOAT_PROG_SENDMSG6 = 3,
	MOAT_PROG_EXEC = 4,
	MOAT_PROG_EXIT = 5,
	MOAT_PROG_DNS_EGRESS = 6,
	MOAT_PROG_DNS_INGRESS = 7,
	MOAT_PROG_SOCK_CREATE = 8,
	MOAT_PROG_BIND4 = 9,
	MOAT_PROG_BIND6 = 10,
	MOAT_PROG_VETH = 11,
	MOAT_PROG_SOCKET_TP = 12,
	MOAT_PROG_VETH_IN = 13,
	MOAT_PROG_NR,
};

enum moat_stat_id {
	MOAT_STAT_EVENTS = 0,	  /* events written to the ring buffer */
	MOAT_STAT_DROPS = 1,	  /* events lost: ring buffer full */
	MOAT_STAT_DENIED = 2,	  /* connects/sends refused */
	MOAT_STAT_ERRORS = 3,	  /* parse failures and failed lookups (traffic still passed) */
	MOAT_STAT_SUPPRESSED = 4, /* events not sent: their cgroup's event budget (event_rate) */
	MOAT_STAT_NR,
};

#define MOAT_STATS_SLOTS (MOAT_PROG_NR * MOAT_STAT_NR)

/* Rule ids, as reported in events (rule_id, kill_rule): who wrote the rule. The whole id space
 * is here, one range [BASE, END) per writer (docs/events.md, "Rule ids"); 0 is no rule.
 *   1 .. 999999            `moat rule` / `moat domain` / `moat kill` from the command line (--id)
 *   1000000 + line         moat run: the blacklist, by line
 *   2000000 + id           moat run: the egress rules file, by rule id (2000000: its default)
 *   3000000                moat run: a container's DNS resolvers (port 53 only)
 *   4000000 + prompt id    moat run: allow-once / deny-once decisions
 *   5000000 + 10000 * i    moat run: policy i's own rule set (+ rule id; the base: its default)
 *   6000000 ...            built into the programs (below)
 * moat run owns the blacklist, file, once and policy ranges: each rule-set transaction
 * rewrites them and carries every other id over (netrules_txn_begin's `drop`). */
#define MOAT_RULE_CLI_END	 1000000u /* command-line ids are below this */
#define MOAT_RULE_BLACKLIST_BASE 1000000u
#define MOAT_RULE_BLACKLIST_END	 2000000u
#define MOAT_RULE_FILE_BASE	 2000000u
#define MOAT_RULE_FILE_END	 3000000u
#define MOAT_RULE_RESOLVER	 3000000u
#define MOAT_RULE_ONCE_BASE	 4000000u
#define MOAT_RULE_ONCE_END	 5000000u
#define MOAT_RULE_POLICY_BASE	 5000000u
#define MOAT_RULE_POLICY_STRIDE	 10000u /* ids of one policy's rule set */
#define MOAT_RULE_POLICY_END	 6000000u
#define MOAT_RULE_POLICY(i)	 (MOAT_RULE_POLICY_BASE + MOAT_RULE_POLICY_STRIDE * (i)) /* its base */
#define MOAT_RULE_BUILTIN_BASE	 6000000u
#define MOAT_RULE_FILELESS_EXEC	 6000001u /* kill-exec: a program with no file name (memfd) */
#define MOAT_RULE_SOCKET_KIND	 6000002u /* a socket kind a restricted cgroup may not open */
#define MOAT_RULE_BIND_DNS	 6000003u /* a restricted cgroup may not bind port 53 */
#define MOAT_RULE_DNS_RESPONSE	 6000004u /* a DNS response leaving a restricted cgroup */
#define MOAT_RULE_SPOOF		 6000005u /* a frame whose source is not the container's */
#define MOAT_RULE_NOT_IP	 6000006u /* a frame that is not ARP, IPv4 or IPv6 */
#define MOAT_RULE_EXEC_NOT_ALLOWED                                                                 \
	6000007u /* kill-exec, allow-only: a name the program runs under is not in exec_allow */

#endif /* MOAT_MAPS_H */
