/* netrules.h - CIDR rules and per-cgroup modes in the pinned BPF maps,
 * and the per-program counters. The low-level write side of enforcement:
 * policy modules decide, this module writes what they decided.
 *
 * Every call names the pin directory. Its maps are opened on first use and stay open for the
 * process (netrules_maps.c), one set per directory, until netrules_close. */
#ifndef MOAT_NETRULES_H
#define MOAT_NETRULES_H

#include <stdint.h>
#include "cidr.h"
#include "moat/maps.h"

/* Close the maps opened under pin_dir (NULL: under every directory); the next call opens
 * them again. loader_clear calls it when it removes the pins, and it runs at exit. Not while
 * another thread is in a netrules call or a transaction on that directory. */
void netrules_close(const char *pin_dir);

/* Add (or replace) a rule for cgroup cgid (0 = global). Returns 0 or
 * -errno. */
int netrules_put(const char *pin_dir, uint64_t cgid, const struct cidr *c, int action,
		 uint32_t rule_id);

/* Remove a rule. Returns 0, -ENOENT when there was none, or -errno. */
int netrules_del(const char *pin_dir, uint64_t cgid, const struct cidr *c);

/* Set the mode, default action and kill-exec switch of cgroup cgid.
 * Returns 0 or -errno. */
int netrules_set_mode(const char *pin_dir, uint64_t cgid, int mode, int default_action,
		      int kill_exec);

/* The same with every field of the cgroup's entry (domains, policy). */
int netrules_set_cfg(const char *pin_dir, uint64_t cgid, const struct moat_cgroup_cfg *cfg);

/* Normalise a domain pattern: "Example.COM." -> "example.com"; "*.x.com"
 * -> name "x.com" with *wildcard = 1; "*" -> "" with *wildcard = 1.
 * Returns 0, or -EINVAL for an empty label, a '*' elsewhere, a name over
 * 255 bytes or characters outside letters, digits, '-', '_' and '.'. */
int domain_normalize(const char *pattern, char out[MOAT_DNS_NAME_LEN], int *wildcard);

/* Add (or replace) / remove a domain rule in rule set `policy` (0 = the
 * one every domain-mode cgroup uses unless given another). */
int netrules_domain_put(const char *pin_dir, uint32_t policy, const char *pattern, int action,
			uint32_t rule_id);
int netrules_domain_del(const char *pin_dir, uint32_t policy, const char *pattern);

/* Add (or replace) / remove an executable base name the exec hook kills in
 * cgroups with kill-exec on; cgid 0 = for every such cgroup. Names longer
 * than MOAT_EXEC_NAME_LEN - 1 are refused with -ENAMETOOLONG. */
int netrules_exec_deny_put(const char *pin_dir, uint64_t cgid, const char *name, uint32_t rule_id);
int netrules_exec_deny_del(const char *pin_dir, uint64_t cgid, const char *name);

/* Add (or replace) / remove a name a cgroup with exec_allow_only may run (exec_allow; cgid 0:
 * every such cgroup). A name longer than MOAT_EXEC_NAME_LEN - 1 bytes is cut there, as the
 * kernel cuts the names it checks. 0, -EINVAL (empty, or a path) or -errno. */
int netrules_exec_allow_put(const char *pin_dir, uint64_t cgid, const char *name, uint32_t rule_id);
int netrules_exec_allow_del(const char *pin_dir, uint64_t cgid, const char *name);

/* Remove the exec_allow names of cgroup cgid that keep (when not NULL) does not keep (it
 * gets the name, NUL-terminated). Returns how many were removed, or -errno. */
int netrules_exec_allow_sweep(const char *pin_dir, uint64_t cgid,
			      int (*keep)(const char *name, void *ctx), void *ctx);

/* Keep-callbacks for the sweeps: return 1 to keep the entry. */
typedef int (*netrules_keep_fn)(const struct cidr *c, uint32_t rule_id, void *ctx);
typedef int (*netrules_domain_keep_fn)(const char *name, int wildcard, void *ctx);

/* Remove the CIDR rules of cgroup cgid (0 = global) whose rule id is in
 * [min_id, max_id) and that keep (when not NULL) does not keep. Returns how
 * many were removed, or -errno. */
int netrules_sweep(const char *pin_dir, uint64_t cgid, uint32_t min_id, uint32_t max_id,
		   netrules_keep_fn keep, void *ctx);

/* netrules_sweep with no keep: every rule in the id range goes. */
int netrules_clear_ids(const char *pin_dir, uint64_t cgid, uint32_t min_id, uint32_t max_id);

/* Remove the domain rules of rule set `policy` that keep does not keep. */
int netrules_domain_sweep(const char *pin_dir, uint32_t policy, netrules_domain_keep_fn keep,
			  void *ctx);

/* ---- Rule-set transactions: atomic replacement of the shared rule sets ----
 *
 * The global CIDR rules and the domain rule sets exist in two generations (see
 * include/moat/maps.h); the programs read the live one. A transaction builds the next one
 * beside it and switches with one map write, so no connect or DNS answer is judged against
 * a half-written set:
 *   begin   lock the pin directory (one writer), clear the next generation, copy every live
 *           entry whose rule id is not in `drop` (the ranges the caller rewrites) into it;
 *   put     write entries into the next generation (invisible to the programs); an allow for
 *           exactly the CIDR of a deny already there is not written (deny wins; counted in
 *           t->shadowed);
 *   commit  flip rules_gen, wait for program runs that read the old generation (an RCU
 *           grace period), delete the old generation, shut the learned addresses whose
 *           opening rule no longer allows (t->revoked counts them), unlock;
 *   abort   delete the next generation, unlock.
 * netrules_put/del/sweep with cgid 0 and netrules_domain_* act on the live generation. */
/* The live generation (0 or 1) and the cgroup id its global CIDR rules are stored under. */
uint32_t netrules_live_gen(const char *pin_dir);
uint64_t netrules_global_id(uint32_t gen);

struct netrules_range {
	uint32_t min, max; /* [min, max) */
};

struct netrules_txn {
	char pin_dir[4096];
	uint32_t live, next;
	int v4, v6, dom, gen; /* the shared map fds (not the transaction's to close) */
	int lock;	      /* the pin directory, locked */
	int revoked;  /* after commit: learned addresses shut because no rule allows them now */
	int shadowed; /* allows not written: a deny holds the same CIDR (deny wins) */
};

int netrules_txn_begin(struct netrules_txn *t, const char *pin_dir,
		       const struct netrules_range *drop, int n_drop);
int netrules_txn_put(struct netrules_txn *t, const struct cidr *c, int action, uint32_t rule_id);
int netrules_txn_domain_put(struct netrules_txn *t, uint32_t policy, const char *pattern,
			    int action, uint32_t rule_id);
int netrules_txn_commit(struct netrules_txn *t);
void netrules_txn_abort(struct netrules_txn *t);

/* Sum the per-CPU counter slot over all CPUs into vals[MOAT_STATS_SLOTS].
 * Returns 0 or -errno. */
int netrules_read_stats(const char *pin_dir, uint64_t vals[MOAT_STATS_SLOTS]);

/* The name of program p (enum MOAT_PROG_*: "connect4", "dns_egress", ...), "?" when out of
 * range; and of counter s (MOAT_STAT_*: "events", "drops", ...). */
const char *netrules_prog_name(int p);
const char *netrules_stat_name(int s);

/* ---- Settings, resolvers and per-cgroup state ---- */

/* Write / read the one moat_settings entry (the defaults for unknown cgroups, the TTL cap,
 * the longest wildcard). 0 or -errno. */
int netrules_set_settings(const char *pin_dir, const struct moat_settings *s);
int netrules_get_settings(const char *pin_dir, struct moat_settings *s);

/* Let cgroup cgid (0: every cgroup) reach a DNS resolver at addr (family AF_INET or
 * AF_INET6) on port 53 only; clear every resolver of cgid. 0 or -errno. */
int netrules_resolver_put(const char *pin_dir, uint64_t cgid, int family, const uint8_t *addr,
			  uint32_t rule_id);
int netrules_resolver_clear(const char *pin_dir, uint64_t cgid);

/* The programs' counters for cgroup cgid (zero when none). 0 or -errno (-ENOENT: none). */
int netrules_cgroup_state(const char *pin_dir, uint64_t cgid, struct moat_cgroup_state *out);

/* Delete learned addresses whose allow and deny marks both ended more than grace_ns before
 * now_ns (boot ns), and recount each cgroup's learned entries (moat_cgroup_state.learned,
 * its fair share). *removed: how many went. 0 or -errno. */
int netrules_learned_sweep(const char *pin_dir, uint64_t now_ns, uint64_t grace_ns, int *removed);

/* Describe the container behind host-side veth ifindex to the veth guard. 0 or -errno. */
int netrules_veth_put(const char *pin_dir, uint32_t ifindex, const struct moat_veth *v);

/* A container is gone: remove its cgroup's settings, counters, resolvers, veth entries and
 * exec_allow / exec_deny names.
 * 0 or -errno. */
int netrules_forget_cgroup(const char *pin_dir, uint64_t cgid);

#endif /* MOAT_NETRULES_H */
