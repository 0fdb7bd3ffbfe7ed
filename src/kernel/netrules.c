/* netrules.c - CIDR rules, cgroup modes and counters in the pinned maps. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netrules.h"

static int open_pinned(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* ---- rule generations (include/moat/maps.h) ---- */

/* The live generation, 0 or 1 (0 when the map is missing: older pins, or nothing loaded). */
uint32_t netrules_live_gen(const char *pin_dir)
{
	struct moat_rules_gen g = {0};
	uint32_t zero = 0;
	int fd = open_pinned(pin_dir, "rules_gen");

	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &g))
		g.gen = 0;
	close(fd);
	return g.gen & 1;
}

uint64_t netrules_global_id(uint32_t gen)
{
	return gen ? MOAT_GLOBAL_ID_GEN1 : 0;
}

static uint32_t gen_policy(uint32_t policy, uint32_t gen)
{
	return (policy & ~MOAT_POLICY_GEN1) | (gen ? MOAT_POLICY_GEN1 : 0);
}

/* The writers' lock: flock on the pin directory, held by a rule-set transaction from begin
 * to commit, and by a single write to a shared rule set, so that write cannot land in the
 * generation a transaction is about to retire. Returns an fd to close, or -1 (best effort:
 * a missing directory fails the write itself). */
static int lock_pins(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void unlock_pins(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* A cgroup id as stored: 0 (global) means the live generation's global id. */
static uint64_t stored_cgid(const char *pin_dir, uint64_t cgid)
{
	return cgid ? cgid : netrules_global_id(netrules_live_gen(pin_dir));
}

/* Build the trie key for c; returns the fd of the right trie or -errno. */
static int rule_key(const char *pin_dir, uint64_t cgid, const struct cidr *c,
		    struct moat_lpm_v6 *k6, struct moat_lpm_v4 *k4, void **key)
{
	if (c->family == AF_INET) {
		k4->prefixlen = 64 + c->prefixlen;
		memcpy(k4->cgroup_id, &cgid, 8);
		memcpy(k4->addr, c->addr, 4);
		*key = k4;
		return open_pinned(pin_dir, "net_rules_v4");
	}
	k6->prefixlen = 64 + c->prefixlen;
	memcpy(k6->cgroup_id, &cgid, 8);
	memcpy(k6->addr, c->addr, 16);
	*key = k6;
	return open_pinned(pin_dir, "net_rules_v6");
}

int netrules_put(const char *pin_dir, uint64_t cgid, const struct cidr *c, int action,
		 uint32_t rule_id)
{
	struct moat_lpm_v4 k4 = {0};
	struct moat_lpm_v6 k6 = {0};
	struct moat_rule_val v = {.action = action, .prefixlen = c->prefixlen, .rule_id = rule_id};
	void *key;
	int lock = cgid ? -1 : lock_pins(pin_dir);
	int fd = rule_key(pin_dir, stored_cgid(pin_dir, cgid), c, &k6, &k4, &key), err = 0;

	if (fd >= 0 && bpf_map_update_elem(fd, key, &v, BPF_ANY))
		err = -errno;
	if (fd >= 0)
		close(fd);
	unlock_pins(lock);
	return fd < 0 ? fd : err;
}

int netrules_del(const char *pin_dir, uint64_t cgid, const struct cidr *c)
{
	struct moat_lpm_v4 k4 = {0};
	struct moat_lpm_v6 k6 = {0};
	void *key;
	int lock = cgid ? -1 : lock_pins(pin_dir);
	int fd = rule_key(pin_dir, stored_cgid(pin_dir, cgid), c, &k6, &k4, &key), err = 0;

	if (fd >= 0 && bpf_map_delete_elem(fd, key))
		err = -errno;
	if (fd >= 0)
		close(fd);
	unlock_pins(lock);
	return fd < 0 ? fd : err;
}

int netrules_set_mode(const char *pin_dir, uint64_t cgid, int mode, int default_action,
		      int kill_exec)
{
	struct moat_cgroup_cfg cfg = {
	    .mode = mode, .default_action = default_action, .kill_exec = !!kill_exec};
	int fd = open_pinned(pin_dir, "cgroup_cfg"), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &cgid, &cfg, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

static int exec_key(uint64_t cgid, const char *name, struct moat_exec_key *k)
{
	size_t len = strlen(name);

	memset(k, 0, sizeof(*k));
	if (len == 0 || strchr(name, '/'))
		return -EINVAL;
	if (len >= sizeof(k->name))
		return -ENAMETOOLONG;
	k->cgroup_id = cgid;
	memcpy(k->name, name, len);
	return 0;
}

/* Update (val != NULL) or delete (val == NULL) name in exec_deny. */
static int exec_deny_write(const char *pin_dir, uint64_t cgid, const char *name,
			   const struct moat_exec_rule *val)
{
	struct moat_exec_key k;
	int fd, err = exec_key(cgid, name, &k);

	if (err)
		return err;
	fd = open_pinned(pin_dir, "exec_deny");
	if (fd < 0)
		return fd;
	if (val ? bpf_map_update_elem(fd, &k, val, BPF_ANY) : bpf_map_delete_elem(fd, &k))
		err = -errno;
	close(fd);
	return err;
}

int netrules_exec_deny_put(const char *pin_dir, uint64_t cgid, const char *name, uint32_t rule_id)
{
	struct moat_exec_rule r = {.rule_id = rule_id};

	return exec_deny_write(pin_dir, cgid, name, &r);
}

int netrules_exec_deny_del(const char *pin_dir, uint64_t cgid, const char *name)
{
	return exec_deny_write(pin_dir, cgid, name, NULL);
}

/* Delete the keys of one trie (key size ksize) for cgid whose rule id is
 * in [min_id, max_id) and that keep() (when given) does not want kept. */
static int sweep_trie(const char *pin_dir, const char *name, size_t ksize, uint64_t cgid,
		      uint32_t min_id, uint32_t max_id, netrules_keep_fn keep, void *ctx)
{
	uint8_t key[sizeof(struct moat_lpm_v6)], next[sizeof(struct moat_lpm_v6)];
	uint8_t(*doomed)[sizeof(struct moat_lpm_v6)] = NULL;
	size_t n = 0, cap = 0;
	struct moat_rule_val v;
	void *prev = NULL;
	int fd = open_pinned(pin_dir, name), count = 0;

	if (fd < 0)
		return fd;
	/* Collect first: deleting while walking would skip keys. */
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint64_t cg;

		memcpy(&cg, next + 4, 8);
		if (cg == cgid && bpf_map_lookup_elem(fd, next, &v) == 0 && v.rule_id >= min_id &&
		    v.rule_id < max_id) {
			struct cidr c = {
			    .family = ksize == sizeof(struct moat_lpm_v4) ? AF_INET : AF_INET6,
			    .prefixlen = (int)((struct moat_lpm_v4 *)next)->prefixlen - 64};

			memcpy(c.addr, next + 12, c.family == AF_INET ? 4 : 16);
			if (keep && keep(&c, v.rule_id, ctx))
				goto next;
			if (n == cap) {
				void *nd =
				    realloc(doomed, (cap = cap ? cap * 2 : 64) * sizeof(*doomed));

				if (!nd)
					break;
				doomed = nd;
			}
			memcpy(doomed[n++], next, ksize);
		}
	next:
		memcpy(key, next, ksize);
		prev = key;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, doomed[i]) == 0)
			count++;
	free(doomed);
	close(fd);
	return count;
}

int netrules_sweep(const char *pin_dir, uint64_t cgid, uint32_t min_id, uint32_t max_id,
		   netrules_keep_fn keep, void *ctx)
{
	int a, b;

	cgid = stored_cgid(pin_dir, cgid);
	a = sweep_trie(pin_dir, "net_rules_v4", sizeof(struct moat_lpm_v4), cgid, min_id, max_id,
		       keep, ctx);
	b = sweep_trie(pin_dir, "net_rules_v6", sizeof(struct moat_lpm_v6), cgid, min_id, max_id,
		       keep, ctx);

	if (a < 0)
		return a;
	return b < 0 ? b : a + b;
}

int netrules_clear_ids(const char *pin_dir, uint64_t cgid, uint32_t min_id, uint32_t max_id)
{
	return netrules_sweep(pin_dir, cgid, min_id, max_id, NULL, NULL);
}

int netrules_domain_sweep(const char *pin_dir, uint32_t policy, netrules_domain_keep_fn keep,
			  void *ctx)
{
	struct moat_domain_key key, next, *doomed = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int fd = open_pinned(pin_dir, "domain_rules"), count = 0;

	if (fd < 0)
		return fd;
	policy = gen_policy(policy, netrules_live_gen(pin_dir));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (next.policy == policy && !(keep && keep(next.name, next.wildcard, ctx))) {
			if (n == cap) {
				void *nd =
				    realloc(doomed, (cap = cap ? cap * 2 : 64) * sizeof(*doomed));

				if (!nd)
					break;
				doomed = nd;
			}
			doomed[n++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &doomed[i]) == 0)
			count++;
	free(doomed);
	close(fd);
	return count;
}

int netrules_set_cfg(const char *pin_dir, uint64_t cgid, const struct moat_cgroup_cfg *cfg)
{
	int fd = open_pinned(pin_dir, "cgroup_cfg"), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &cgid, cfg, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

int domain_normalize(const char *pattern, char out[MOAT_DNS_NAME_LEN], int *wildcard)
{
	const char *p = pattern;
	size_t n = 0;

	*wildcard = 0;
	if (!strcmp(p, "*")) {
		*wildcard = 1;
		out[0] = 0;
		return 0;
	}
	if (!strncmp(p, "*.", 2)) {
		*wildcard = 1;
		p += 2;
	}
	for (; *p && n < MOAT_DNS_NAME_LEN - 1; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return -EINVAL;
		if (c == '.' && (n == 0 || out[n - 1] == '.'))
			return -EINVAL; /* empty label */
		out[n++] = c;
	}
	if (*p)
		return -EINVAL; /* too long */
	if (n && out[n - 1] == '.')
		n--; /* the root's trailing dot */
	out[n] = 0;
	return n ? 0 : -EINVAL;
}

/* Write (rule != NULL) or delete a domain rule. */
/* Labels of a wildcard rule's name ("github.com" of "*.github.com": 2). */
static uint32_t name_labels(const char *name)
{
	uint32_t n = name[0] ? 1 : 0;

	for (const char *p = name; *p; p++)
		n += *p == '.';
	return n;
}

/* The labels of the deepest wildcard rule in domain_rules (fd), every generation, at
 * least 1. */
static uint32_t wild_labels(int fd)
{
	struct moat_domain_key key, next;
	uint32_t max = 1;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (next.wildcard) {
			uint32_t n = name_labels(next.name);

			if (n > max)
				max = n;
		}
		key = next;
		prev = &key;
	}
	return max;
}

/* Tell the DNS program how deep wildcard rules go (moat_settings.max_wild_labels): it tries
 * a name's suffixes of at most that many labels. raise_to > 0: only raise it to at least
 * that (before a deeper rule is written); 0: set it to what domain_rules holds now (after
 * rules went). */
static void sync_wild_labels(const char *pin_dir, int dom_fd, uint32_t raise_to)
{
	struct moat_settings st;
	uint32_t want;

	if (netrules_get_settings(pin_dir, &st))
		return;
	want = raise_to ? (raise_to > st.max_wild_labels ? raise_to : st.max_wild_labels)
			: wild_labels(dom_fd);
	if (want != st.max_wild_labels) {
		st.max_wild_labels = want;
		netrules_set_settings(pin_dir, &st);
	}
}

static int domain_write(const char *pin_dir, uint32_t policy, const char *pattern,
			const struct moat_domain_rule *rule)
{
	struct moat_domain_key k = {0};
	int wildcard, fd, lock, err = domain_normalize(pattern, k.name, &wildcard);

	if (err)
		return err;
	k.wildcard = (uint8_t)wildcard;
	lock = lock_pins(pin_dir);
	k.policy = gen_policy(policy, netrules_live_gen(pin_dir));
	fd = open_pinned(pin_dir, "domain_rules");
	if (fd >= 0 && rule && wildcard)
		sync_wild_labels(pin_dir, fd, name_labels(k.name));
	if (fd >= 0 &&
	    (rule ? bpf_map_update_elem(fd, &k, rule, BPF_ANY) : bpf_map_delete_elem(fd, &k)))
		err = -errno;
	if (fd >= 0 && !rule)
		sync_wild_labels(pin_dir, fd, 0);
	if (fd >= 0)
		close(fd);
	unlock_pins(lock);
	return fd < 0 ? fd : err;
}

int netrules_domain_put(const char *pin_dir, uint32_t policy, const char *pattern, int action,
			uint32_t rule_id)
{
	struct moat_domain_rule r = {.action = (uint8_t)action, .rule_id = rule_id};

	return domain_write(pin_dir, policy, pattern, &r);
}

int netrules_domain_del(const char *pin_dir, uint32_t policy, const char *pattern)
{
	return domain_write(pin_dir, policy, pattern, NULL);
}

/* ---- rule-set transactions ---- */

static int in_ranges(uint32_t id, const struct netrules_range *r, int n)
{
	for (int i = 0; i < n; i++)
		if (id >= r[i].min && id < r[i].max)
			return 1;
	return 0;
}

/* Every key of map fd (ksize bytes) that want() accepts, collected before anything changes
 * (writing or deleting while walking would skip keys). *out is malloc'd. Returns the count or
 * -errno. */
static int collect_keys(int fd, size_t ksize, int (*want)(const void *key, void *ctx), void *ctx,
			uint8_t **out)
{
	uint8_t key[sizeof(struct moat_domain_key)], next[sizeof(struct moat_domain_key)];
	uint8_t *keys = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (want(next, ctx)) {
			if (n == cap) {
				void *nk = realloc(keys, (cap = cap ? cap * 2 : 256) * ksize);

				if (!nk) {
					free(keys);
					return -ENOMEM;
				}
				keys = nk;
			}
			memcpy(keys + n++ * ksize, next, ksize);
		}
		memcpy(key, next, ksize);
		prev = key;
	}
	*out = keys;
	return (int)n;
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

	n = is_domain ? collect_keys(fd, ksize, want_domain_gen, &from, &keys)
		      : collect_keys(fd, ksize, want_trie_cg, &cg, &keys);
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
			dk->policy = gen_policy(dk->policy, (uint32_t)to);
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

static void txn_close(struct netrules_txn *t)
{
	int *fds[] = {&t->v4, &t->v6, &t->dom, &t->gen, &t->lock};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int netrules_txn_begin(struct netrules_txn *t, const char *pin_dir,
		       const struct netrules_range *drop, int n_drop)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->v4 = t->v6 = t->dom = t->gen = t->lock = -1;
	snprintf(t->pin_dir, sizeof(t->pin_dir), "%s", pin_dir);
	/* One writer at a time (moat run, and the CLI when it writes the kernel itself). */
	t->lock = lock_pins(pin_dir);
	if (t->lock < 0) {
		err = -errno;
		goto fail;
	}
	t->v4 = open_pinned(pin_dir, "net_rules_v4");
	t->v6 = open_pinned(pin_dir, "net_rules_v6");
	t->dom = open_pinned(pin_dir, "domain_rules");
	t->gen = open_pinned(pin_dir, "rules_gen");
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
	struct moat_domain_key k = {.policy = gen_policy(policy, t->next)};
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

static int want_any(const void *key, void *ctx)
{
	(void)key;
	(void)ctx;
	return 1;
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
	static const char *const maps[] = {"learned_v4", "learned_v6"};
	static const size_t ksize[] = {sizeof(struct moat_learn_key_v4),
				       sizeof(struct moat_learn_key_v6)};
	uint32_t live = t->next, *ids = NULL;
	uint8_t *keys = NULL;
	struct timespec ts;
	uint64_t now;
	size_t n_ids = 0;
	int n, shut = 0;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	n = collect_keys(t->dom, sizeof(struct moat_domain_key), want_domain_gen, &live, &keys);
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
		int fd = open_pinned(t->pin_dir, maps[m]);

		if (fd < 0)
			continue;
		n = collect_keys(fd, ksize[m], want_any, NULL, &keys);
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
		close(fd);
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
	sync_wild_labels(t->pin_dir, t->dom, wild_labels(t->dom));
	/* The switch: one write of one array slot. */
	if (bpf_map_update_elem(t->gen, &zero, &g, BPF_ANY)) {
		err = -errno;
		gen_move_all(t, t->next, -1, NULL, 0);
		txn_close(t);
		return err;
	}
	wait_programs();
	err = gen_move_all(t, t->live, -1, NULL, 0);
	sync_wild_labels(t->pin_dir, t->dom, 0);
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

int netrules_read_stats(const char *pin_dir, uint64_t vals[MOAT_STATS_SLOTS])
{
	int ncpu = libbpf_num_possible_cpus(), fd = open_pinned(pin_dir, "stats"), err = 0;
	uint64_t *percpu;

	if (fd < 0)
		return fd;
	if (ncpu < 1) {
		close(fd);
		return ncpu;
	}
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu) {
		close(fd);
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < MOAT_STATS_SLOTS; k++) {
		vals[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, percpu)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			vals[k] += percpu[c];
	}
	free(percpu);
	close(fd);
	return err;
}

/* ---- settings, resolvers, per-cgroup state (issue #8) ---- */

int netrules_set_settings(const char *pin_dir, const struct moat_settings *s)
{
	int fd = open_pinned(pin_dir, "settings"), err = 0;
	uint32_t zero = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &zero, s, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

int netrules_get_settings(const char *pin_dir, struct moat_settings *s)
{
	int fd = open_pinned(pin_dir, "settings"), err = 0;
	uint32_t zero = 0;

	memset(s, 0, sizeof(*s));
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, s))
		err = -errno;
	close(fd);
	return err;
}

static void resolver_key(struct moat_resolver_key *k, uint64_t cgid, int family,
			 const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	k->cgroup_id = cgid;
	if (family == AF_INET) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		memcpy(&k->addr[12], addr, 4);
	} else {
		memcpy(k->addr, addr, 16);
	}
}

int netrules_resolver_put(const char *pin_dir, uint64_t cgid, int family, const uint8_t *addr,
			  uint32_t rule_id)
{
	int fd = open_pinned(pin_dir, "resolvers"), err = 0;
	struct moat_resolver_key k;

	if (fd < 0)
		return fd;
	resolver_key(&k, cgid, family, addr);
	if (bpf_map_update_elem(fd, &k, &rule_id, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

static int want_resolver_cg(const void *key, void *ctx)
{
	return ((const struct moat_resolver_key *)key)->cgroup_id == *(const uint64_t *)ctx;
}

int netrules_resolver_clear(const char *pin_dir, uint64_t cgid)
{
	int fd = open_pinned(pin_dir, "resolvers"), n;
	uint8_t *keys = NULL;

	if (fd < 0)
		return fd;
	n = collect_keys(fd, sizeof(struct moat_resolver_key), want_resolver_cg, &cgid, &keys);
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + (size_t)i * sizeof(struct moat_resolver_key));
	free(keys);
	close(fd);
	return n < 0 ? n : 0;
}

int netrules_cgroup_state(const char *pin_dir, uint64_t cgid, struct moat_cgroup_state *out)
{
	int fd = open_pinned(pin_dir, "cgroup_state"), err = 0;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &cgid, out))
		err = -errno;
	close(fd);
	return err;
}

/* Count of learned entries per cgroup, for the sweep. */
struct learn_count {
	uint64_t cgid;
	int64_t n;
};

static void count_add(struct learn_count **c, size_t *n, size_t *cap, uint64_t cgid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*c)[i].cgid == cgid) {
			(*c)[i].n++;
			return;
		}
	if (*n == *cap) {
		struct learn_count *nc = realloc(*c, (*cap = *cap ? *cap * 2 : 64) * sizeof(**c));

		if (!nc)
			return;
		*c = nc;
	}
	(*c)[(*n)++] = (struct learn_count){cgid, 1};
}

int netrules_learned_sweep(const char *pin_dir, uint64_t now_ns, uint64_t grace_ns, int *removed)
{
	static const char *const maps[] = {"learned_v4", "learned_v6"};
	static const size_t ksize[] = {sizeof(struct moat_learn_key_v4),
				       sizeof(struct moat_learn_key_v6)};
	struct learn_count *counts = NULL;
	size_t n_counts = 0, cap = 0;
	uint8_t *keys = NULL;
	int st_fd, gone = 0;

	for (int m = 0; m < 2; m++) {
		int fd = open_pinned(pin_dir, maps[m]), n;

		if (fd < 0)
			continue;
		n = collect_keys(fd, ksize[m], want_any, NULL, &keys);
		for (int i = 0; i < n; i++) {
			uint8_t *k = keys + (size_t)i * ksize[m];
			struct moat_learned v;
			uint64_t cgid;

			if (bpf_map_lookup_elem(fd, k, &v))
				continue;
			memcpy(&cgid, k, sizeof(cgid));
			if (v.allow_until_ns + grace_ns <= now_ns &&
			    v.deny_until_ns + grace_ns <= now_ns &&
			    bpf_map_delete_elem(fd, k) == 0) {
				gone++;
				continue;
			}
			count_add(&counts, &n_counts, &cap, cgid);
		}
		free(keys);
		keys = NULL;
		close(fd);
	}
	/* Recount: the programs add as they learn; what expired, was revoked or evicted goes
	 * here. A learn racing this write is lost from the count until the next sweep. */
	st_fd = open_pinned(pin_dir, "cgroup_state");
	if (st_fd >= 0) {
		uint64_t key, next;
		void *prev = NULL;

		while (bpf_map_get_next_key(st_fd, prev, &next) == 0) {
			struct moat_cgroup_state s;
			int64_t have = 0;

			for (size_t i = 0; i < n_counts; i++)
				if (counts[i].cgid == next)
					have = counts[i].n;
			if (bpf_map_lookup_elem(st_fd, &next, &s) == 0 && s.learned != have) {
				s.learned = have;
				bpf_map_update_elem(st_fd, &next, &s, BPF_EXIST);
			}
			key = next;
			prev = &key;
		}
		close(st_fd);
	}
	free(counts);
	if (removed)
		*removed = gone;
	return 0;
}

static int want_veth_cg(const void *key, void *ctx)
{
	(void)key;
	(void)ctx;
	return 1;
}

int netrules_forget_cgroup(const char *pin_dir, uint64_t cgid)
{
	static const char *const maps[] = {"cgroup_cfg", "cgroup_state"};
	uint8_t *keys = NULL;
	int fd, n;

	for (int m = 0; m < 2; m++) {
		fd = open_pinned(pin_dir, maps[m]);
		if (fd >= 0) {
			bpf_map_delete_elem(fd, &cgid);
			close(fd);
		}
	}
	fd = open_pinned(pin_dir, "veth_cfg");
	if (fd >= 0) {
		n = collect_keys(fd, sizeof(uint32_t), want_veth_cg, NULL, &keys);
		for (int i = 0; i < n; i++) {
			struct moat_veth v;

			if (bpf_map_lookup_elem(fd, keys + (size_t)i * 4, &v) == 0 &&
			    v.cgroup_id == cgid)
				bpf_map_delete_elem(fd, keys + (size_t)i * 4);
		}
		free(keys);
		close(fd);
	}
	return netrules_resolver_clear(pin_dir, cgid);
}

int netrules_veth_put(const char *pin_dir, uint32_t ifindex, const struct moat_veth *v)
{
	int fd = open_pinned(pin_dir, "veth_cfg"), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &ifindex, v, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}
