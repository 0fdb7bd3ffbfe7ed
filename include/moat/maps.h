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
#define MOAT_MAX_SOCKETS      65536	   /* sock_owner entries (LRU) */
#define MOAT_MAX_WATCHED      64	   /* watch_cgroups entries */
#define MOAT_MAX_CGROUP_DEPTH 16	   /* ancestor levels the exec filter walks */
#define MOAT_MAX_DOMAIN_RULES 65536	   /* domain_rules entries */
#define MOAT_MAX_LEARNED      262144	   /* learned_v4/v6 entries (LRU) */
#define MOAT_LEARN_MIN_NS                                                                          \
	(10ULL * 1000000000ULL) /* an answer opens its addresses at least this long */
#define MOAT_MAX_EXEC_DENY 4096 /* exec_deny entries */
#define MOAT_EXEC_NAME_LEN 32	/* executable base names in exec_deny, incl. NUL */

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

/* cgroup_cfg value: per-cgroup settings, keyed by cgroup id (__u64). */
struct moat_cgroup_cfg {
	__u8 mode;	     /* enum moat_mode */
	__u8 default_action; /* enum moat_action for destinations no rule matches */
	__u8 kill_exec;	     /* 1: the exec hook SIGKILLs names found in exec_deny */
	__u8 domains;	     /* 1: DNS answers decide (domain rules, learned_v4/v6);
				2: the same, and an answer for a name with no rule is held
				back while moat asks (interactive) */
	__u32 policy;	     /* domain rule set (domain_rules key), 0 = the global set */
};
_Static_assert(sizeof(struct moat_cgroup_cfg) == 8, "moat_cgroup_cfg ABI");

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

struct moat_exec_rule {
	__u32 rule_id; /* reported by userspace; chosen by whoever wrote the entry */
	__u32 pad0;
};
_Static_assert(sizeof(struct moat_exec_rule) == 8, "moat_exec_rule ABI");

/* sock_owner value: who last used a socket, keyed by socket cookie (__u64).
 * Filled by connect/sendmsg so packet-level (DNS) events name a process. */
struct moat_sock_owner {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	char comm[16];
	__u8 dns; /* 1: the socket connected or sent to port 53 (its packets may be
		     NAT'd to another port: Docker's embedded DNS) */
	__u8 pad0[7];
};
_Static_assert(sizeof(struct moat_sock_owner) == 48, "moat_sock_owner ABI");

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
	MOAT_PROG_NR,
};

enum moat_stat_id {
	MOAT_STAT_EVENTS = 0, /* events written to the ring buffer */
	MOAT_STAT_DROPS = 1,  /* events lost: ring buffer full */
	MOAT_STAT_DENIED = 2, /* connects/sends refused */
	MOAT_STAT_ERRORS = 3, /* parse failures and failed lookups (traffic still passed) */
	MOAT_STAT_NR,
};

#define MOAT_STATS_SLOTS (MOAT_PROG_NR * MOAT_STAT_NR)

#endif /* MOAT_MAPS_H */
