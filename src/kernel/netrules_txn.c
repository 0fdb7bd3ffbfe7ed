/* netrules_txn.c - rule generations (include/moat/maps.h) and the rule-set transactions that
 * switch the shared rule sets atomically: build the next generation beside the live one,
 * flip rules_gen, wait out the programs, retire the old one, and shut the learned addresses
 * no rule allows any more (docs/design.md, "Rule generations"). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "clock.h"
#include "netrules_int.h"

/* The live generation, 0 or 1 (0 when the map is missing: older pins, or nothing loaded). */
uint32_t netrules_live_gen(const char *pin_dir)
{
	struct moat_rules_gen g = {0};
	uint32_t zero = 0;
	int fd = netrules_map_fd(pin_dir, NR_RULES_GEN);

	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &g))
		g.gen = 0;
	return g.gen & 1;
}

uint64_t netrules_global_id(uint32_t gen)
{
	return gen ? MOAT_GLOBAL_ID_GEN1 : 0;
}

uint32_t netrules_gen_policy(uint32_t policy, uint32_t gen)
{
	return (policy & ~MOAT_POLICY_GEN1) | (gen ? MOAT_POLICY_GEN1 : 0);
}

static int in_ranges(uint32_t id, const struct netrules_range *r, int n)
{
	for (int i = 0; i < n; i++)
		if (id >= r[i].min && id < r[i].max)
			return 1;
	return 0;
}

static int want_trie_cg(const void *key, void *ctx)
{
	uint64_t cg;

	memcpy(&cg, (const uint8_t *)key + 4, 8);
	return cg == *(const uint64_t *)ctx;
}

static int want_domain_gen(const void *key, void *ctx)
{
	const struct moat_domain_key *k = key;

	return !!(k->policy & MOAT_POLICY_GEN1) == !!*(const uint32_t *)ctx;
}

/* Copy generation `from`'s entries of one map into generation `to` (to >= 0) when their
 * rule id is not in drop, or delete them all (to < 0). Returns 0 or -errno. */
static int gen_move(int fd, int is_domain, size_t ksize, uint32_t from, int to,
		    const struct netrules_range *drop, int n_drop)
{
	uint64_t cg = netrules_global_id(from);
	uint8_t *keys = NULL;
	int n, err = 0;

	n = is_domain ? netrules_collect_keys(fd, ksize, want_domain_gen, &from, &keys)
		      : netrules_collect_keys(fd, ksize, want_trie_cg, &cg, &keys);
	if (n < 0)
		return n;
	for (int i = 0; i < n && !err; i++) {
		uint8_t *k = keys + (size_t)i * ksize;

		if (to < 0) {
			if (bpf_map_delete_elem(fd, k) && errno != ENOENT)
				err = -errno;
		} else if (is_domain) {
			struct moat_domain_key *dk = (struct moat_domain_key *)k;
			struct moat_domain_rule v;

			if (bpf_map_lookup_elem(fd, dk, &v) || in_ranges(v.rule_id, drop, n_drop))
				continue;
			dk->policy = netrules_gen_policy(dk->policy, (uint32_t)to);
			if (bpf_map_update_elem(fd, dk, &v, BPF_ANY))
				err = -errno;
		} else {
			struct moat_rule_val v;
			uint64_t to_id = netrules_global_id((uint32_t)to);

			if (bpf_map_lookup_elem(fd, k, &v) || in_ranges(v.rule_id, drop, n_drop))
				continue;
			memcpy(k + 4, &to_id, 8);
			if (bpf_map_update_elem(fd, k, &v, BPF_ANY))
				err = -errno;
		}
	}
	free(keys);
	return err;
}

/* Delete (to < 0) or copy a whole generation across the three generational maps. */
static int gen_move_all(struct netrules_txn *t, uint32_t from, int to,
			const struct netrules_range *drop, int n_drop)
{
	int err = gen_move(t->v4, 0, sizeof(struct moat_lpm_v4), from, to, drop, n_drop);

	if (!err)
		err = gen_move(t->v6, 0, sizeof(struct moat_lpm_v6), from, to, drop, n_drop);
	if (!err)
		err = gen_move(t->dom, 1, sizeof(struct moat_domain_key), from, to, drop, n_drop);
	return err;
}

/* End the transaction: unlock. The map fds are the shared ones (netrules_map_fd), not
 * closed here. */
static void txn_close(struct netrules_txn *t)
{
	netrules_unlock(t->lock);
	t->v4 = t->v6 = t->dom = t->gen = t->lock = -1;
}

int netrules_txn_begin(struct netrules_txn *t, const char *pin_dir,
		       const struct netrules_range *drop, int n_drop)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->v4 = t->v6 = t->dom = t->gen = t->lock = -1;
	snprintf(t->pin_dir, sizeof(t->pin_dir), "%s", pin_dir);
	/* One writer at a time (moat run, and the CLI when it writes the kernel itself). */
	t->lock = netrules_lock(pin_dir);
	if (t->lock < 0) {
		err = -errno;
		goto fail;
	}
	t->v4 = netrules_map_fd(pin_dir, NR_NET_RULES_V4);
	t->v6 = netrules_map_fd(pin_dir, NR_NET_RULES_V6);
	t->dom = netrules_map_fd(pin_dir, NR_DOMAIN_RULES);
	t->gen = netrules_map_fd(pin_dir, NR_RULES_GEN);
	err = t->v4 < 0 ? t->v4 : t->v6 < 0 ? t->v6 : t->dom < 0 ? t->dom : t->gen < 0 ? t->gen : 0;
	if (err)
		goto fail;
	t->live = netrules_live_gen(pin_dir);
	t->next = t->live ^ 1;
	/* Whatever an interrupted build left in the next generation goes first. */
	err = gen_move_all(t, t->next, -1, NULL, 0);
	if (!err)
		err = gen_move_all(t, t->live, (int)t->next, drop, n_drop);
	if (err) {
		gen_move_all(t, t->next, -1, NULL, 0);
		goto fail;
	}
	return 0;
fail:
	txn_close(t);
	return err;
}

int netrules_txn_put(struct netrules_txn *t, const struct cidr *c, int action, uint32_t rule_id)
{
	struct moat_lpm_v4 k4 = {0};
	struct moat_lpm_v6 k6 = {0};
	struct moat_rule_val v = {.action = action, .prefixlen = c->prefixlen, .rule_id = rule_id};
	uint64_t cg = netrules_global_id(t->next);
	int fd = c->family == AF_INET ? t->v4 : t->v6;
	void *key;

	if (c->family == AF_INET) {
		k4.prefixlen = 64 + c->prefixlen;
		memcpy(k4.cgroup_id, &cg, 8);
		memcpy(k4.addr, c->addr, 4);
		key = &k4;
	} else {
		k6.prefixlen = 64 + c->prefixlen;
		memcpy(k6.cgroup_id, &cg, 8);
		memcpy(k6.addr, c->addr, 16);
		key = &k6;
	}
	/* Deny wins: an allow for exactly the CIDR of a deny in the same generation (a
	 * blacklist entry, a command-line rule) does not replace it. */
	if (action == MOAT_ACT_ALLOW) {
		struct moat_rule_val cur;

		if (bpf_map_lookup_elem(fd, key, &cur) == 0 && cur.action == MOAT_ACT_DENY &&
		    cur.prefixlen == c->prefixlen) {
			t->shadowed++;
			return 0;
		}
	}
	return bpf_map_update_elem(fd, key, &v, BPF_ANY) ? -errno : 0;
}

int netrules_txn_domain_put(struct netrules_txn *t, uint32_t policy, const char *pattern,
			    int action, uint32_t rule_id)
{
	struct moat_domain_key k = {.policy = netrules_gen_policy(policy, t->next)};
	struct moat_domain_rule r = {.action = (uint8_t)action, .rule_id = rule_id};
	int wildcard, err = domain_normalize(pattern, k.name, &wildcard);

	if (err)
		return err;
	k.wildcard = (uint8_t)wildcard;
	return bpf_map_update_elem(t->dom, &k, &r, BPF_ANY) ? -errno : 0;
}

/* Wait until every program run that may have read the old generation has ended. BPF
 * programs run inside RCU read-side sections, and MEMBARRIER_CMD_GLOBAL is a
 * synchronize_rcu(); where it is refused (nohz_full), a pause far longer than any
 * program run. */
static void wait_programs(void)
{
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
		usleep(50 * 1000);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* After a switch: an address a DNS answer opened stays open only while a domain rule of the
 * live generation still allows with the id that opened it. Otherwise its allow mark goes
 * (the entry too when no deny mark is left), so `moat rules deny NAME` or removing an
 * allow shuts connects at once instead of at the answer's TTL. The value is read again
 * just before the write, so an answer learned in between is not overwritten (a window of
 * microseconds remains; userspace has no compare-and-swap on a map). Returns how many
 * addresses were shut, or -errno. */
static int revoke_learned(struct netrules_txn *t)
{
	static const enum netrules_map maps[] = {NR_LEARNED_V4, NR_LEARNED_V6};
	static const size_t ksize[] = {sizeof(struct moat_learn_key_v4),
				       sizeof(struct moat_learn_key_v6)};
	uint32_t live = t->next, *ids = NULL;
	uint8_t *keys = NULL;
	uint64_t now;
	size_t n_ids = 0;
	int n, shut = 0;

	now = (uint64_t)clock_boot_ns();
	n = netrules_collect_keys(t->dom, sizeof(struct moat_domain_key), want_domain_gen, &live,
				  &keys);
	if (n < 0)
		return n;
	ids = calloc((size_t)n + 1, sizeof(*ids));
	for (int i = 0; ids && i < n; i++) {
		struct moat_domain_rule r;

		if (bpf_map_lookup_elem(t->dom, keys + (size_t)i * sizeof(struct moat_domain_key),
					&r) == 0 &&
		    r.action == MOAT_ACT_ALLOW)
			ids[n_ids++] = r.rule_id;
	}
	free(keys);
	if (!ids)
		return -ENOMEM;
	qsort(ids, n_ids, sizeof(*ids), cmp_u32);
	for (int m = 0; m < 2; m++) {
		int fd = netrules_map_fd(t->pin_dir, maps[m]);

		if (fd < 0)
			continue;
		keys = NULL;
		n = netrules_collect_keys(fd, ksize[m], netrules_want_any, NULL, &keys);
		for (int i = 0; i < n; i++) {
			uint8_t *k = keys + (size_t)i * ksize[m];
			struct moat_learned v, again;

			if (bpf_map_lookup_elem(fd, k, &v) || v.allow_until_ns <= now ||
			    bsearch(&v.rule_id, ids, n_ids, sizeof(*ids), cmp_u32))
				continue;
			if (bpf_map_lookup_elem(fd, k, &again) || memcmp(&again, &v, sizeof(v)))
				continue;
			v.allow_until_ns = 0;
			if (v.deny_until_ns > now ? bpf_map_update_elem(fd, k, &v, BPF_EXIST) == 0
						  : bpf_map_delete_elem(fd, k) == 0)
				shut++;
		}
		free(keys);
		keys = NULL;
	}
	free(ids);
	return shut;
}

int netrules_txn_commit(struct netrules_txn *t)
{
	struct moat_rules_gen g = {.gen = t->next};
	uint32_t zero = 0;
	int err = 0;

	/* Wildcard rules of the new generation must be tried from its first answer on. */
	netrules_sync_wild_labels(t->pin_dir, t->dom, netrules_wild_labels(t->dom));
	/* The switch: one write of one array slot. */
	if (bpf_map_update_elem(t->gen, &zero, &g, BPF_ANY)) {
		err = -errno;
		gen_move_all(t, t->next, -1, NULL, 0);
		txn_close(t);
		return err;
	}
	wait_programs();
	err = gen_move_all(t, t->live, -1, NULL, 0);
	netrules_sync_wild_labels(t->pin_dir, t->dom, 0);
	t->revoked = revoke_learned(t);
	txn_close(t);
	return err;
}

void netrules_txn_abort(struct netrules_txn *t)
{
	if (t->lock >= 0)
		gen_move_all(t, t->next, -1, NULL, 0);
	txn_close(t);
}
