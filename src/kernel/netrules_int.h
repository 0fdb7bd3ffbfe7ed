/* netrules_int.h - what the files of netrules share (netrules_maps.c: the pinned maps, opened
 * once; netrules.c: per-cgroup entries and CIDR rules; netrules_domain.c: domain rules;
 * netrules_txn.c: rule generations and transactions). Not for other modules: they use
 * netrules.h. */
#ifndef MOAT_NETRULES_INT_H
#define MOAT_NETRULES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "netrules.h"

/* The pinned maps netrules reads and writes (bpf/maps.bpf.h), by role. */
enum netrules_map {
	NR_NET_RULES_V4,
	NR_NET_RULES_V6,
	NR_DOMAIN_RULES,
	NR_RULES_GEN,
	NR_CGROUP_CFG,
	NR_CGROUP_STATE,
	NR_EXEC_DENY,
	NR_STATS,
	NR_SETTINGS,
	NR_RESOLVERS,
	NR_LEARNED_V4,
	NR_LEARNED_V6,
	NR_VETH_CFG,
	NR_EXEC_ALLOW,
	NR_MAPS,
};

/* The fd of map m pinned under pin_dir, opened on first use and kept until netrules_close:
 * the caller uses it and never closes it. -errno when it cannot be opened (-ENOENT: not
 * pinned); a failure is not remembered, so a map pinned later is found. Thread-safe. */
int netrules_map_fd(const char *pin_dir, enum netrules_map m);

/* The writers' lock: flock on the pin directory, held by a rule-set transaction from begin
 * to commit, and by a single write to a shared rule set, so that write cannot land in the
 * generation a transaction is about to retire. Returns an fd for netrules_unlock, or -1
 * (errno set; best effort: a missing directory fails the write itself). */
int netrules_lock(const char *pin_dir);
void netrules_unlock(int fd);

/* Every key of map fd (ksize bytes, at most sizeof(struct moat_domain_key)) that want()
 * accepts, collected before anything changes (writing or deleting while walking would skip
 * keys). *out is malloc'd (the caller frees it; NULL when none). Returns the count or
 * -ENOMEM. */
int netrules_collect_keys(int fd, size_t ksize, int (*want)(const void *key, void *ctx), void *ctx,
			  uint8_t **out);
int netrules_want_any(const void *key, void *ctx); /* every key */

/* policy with its generation bit set for gen (include/moat/maps.h, MOAT_POLICY_GEN1). */
uint32_t netrules_gen_policy(uint32_t policy, uint32_t gen);

/* Labels of the deepest wildcard rule in domain_rules (fd), every generation, at least 1. */
uint32_t netrules_wild_labels(int dom_fd);

/* Tell the DNS program how deep wildcard rules go (moat_settings.max_wild_labels): it tries
 * a name's suffixes of at most that many labels. raise_to > 0: only raise it to at least
 * that (before a deeper rule is written); 0: set it to what domain_rules holds now (after
 * rules went). Best effort: nothing happens when the settings cannot be read. */
void netrules_sync_wild_labels(const char *pin_dir, int dom_fd, uint32_t raise_to);

#endif /* MOAT_NETRULES_INT_H */
