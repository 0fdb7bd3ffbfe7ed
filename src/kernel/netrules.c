/* netrules.c - per-cgroup entries of the pinned maps (mode and settings, exec kills,
 * resolvers, counters, learned addresses, veth descriptions) and the CIDR rules written one
 * at a time (`moat rule`); the rule sets moat run replaces whole are netrules_txn.c's. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netrules_int.h"

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
		return netrules_map_fd(pin_dir, NR_NET_RULES_V4);
	}
	k6->prefixlen = 64 + c->prefixlen;
	memcpy(k6->cgroup_id, &cgid, 8);
	memcpy(k6->addr, c->addr, 16);
	*key = k6;
	return netrules_map_fd(pin_dir, NR_NET_RULES_V6);
}

int netrules_put(const char *pin_dir, uint64_t cgid, const struct cidr *c, int action,
		 uint32_t rule_id)
{
	struct moat_lpm_v4 k4 = {0};
	struct moat_lpm_v6 k6 = {0};
	struct moat_rule_val v = {.action = action, .prefixlen = c->prefixlen, .rule_id = rule_id};
	void *key;
	int lock = cgid ? -1 : netrules_lock(pin_dir);
	int fd = rule_key(pin_dir, stored_cgid(pin_dir, cgid), c, &k6, &k4, &key), err = 0;

	if (fd >= 0 && bpf_map_update_elem(fd, key, &v, BPF_ANY))
		err = -errno;
	netrules_unlock(lock);
	return fd < 0 ? fd : err;
}

int netrules_del(const char *pin_dir, uint64_t cgid, const struct cidr *c)
{
	struct moat_lpm_v4 k4 = {0};
	struct moat_lpm_v6 k6 = {0};
	void *key;
	int lock = cgid ? -1 : netrules_lock(pin_dir);
	int fd = rule_key(pin_dir, stored_cgid(pin_dir, cgid), c, &k6, &k4, &key), err = 0;

	if (fd >= 0 && bpf_map_delete_elem(fd, key))
		err = -errno;
	netrules_unlock(lock);
	return fd < 0 ? fd : err;
}

/* Delete the keys of one trie (key size ksize) for cgid whose rule id is
 * in [min_id, max_id) and that keep() (when given) does not want kept. */
static int sweep_trie(const char *pin_dir, enum netrules_map map, size_t ksize, uint64_t cgid,
		      uint32_t min_id, uint32_t max_id, netrules_keep_fn keep, void *ctx)
{
	uint8_t key[sizeof(struct moat_lpm_v6)], next[sizeof(struct moat_lpm_v6)];
	uint8_t(*doomed)[sizeof(struct moat_lpm_v6)] = NULL;
	size_t n = 0, cap = 0;
	struct moat_rule_val v;
	void *prev = NULL;
	int fd = netrules_map_fd(pin_dir, map), count = 0;

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
	return count;
}

int netrules_sweep(const char *pin_dir, uint64_t cgid, uint32_t min_id, uint32_t max_id,
		   netrules_keep_fn keep, void *ctx)
{
	int a, b;

	cgid = stored_cgid(pin_dir, cgid);
	a = sweep_trie(pin_dir, NR_NET_RULES_V4, sizeof(struct moat_lpm_v4), cgid, min_id, max_id,
		       keep, ctx);
	b = sweep_trie(pin_dir, NR_NET_RULES_V6, sizeof(struct moat_lpm_v6), cgid, min_id, max_id,
		       keep, ctx);

	if (a < 0)
		return a;
	return b < 0 ? b : a + b;
}

int netrules_clear_ids(const char *pin_dir, uint64_t cgid, uint32_t min_id, uint32_t max_id)
{
	return netrules_sweep(pin_dir, cgid, min_id, max_id, NULL, NULL);
}

/* Write value v under key in map m of pin_dir (BPF_ANY). 0 or -errno. */
static int map_put(const char *pin_dir, enum netrules_map m, const void *key, const void *v)
{
	int fd = netrules_map_fd(pin_dir, m);

	if (fd < 0)
		return fd;
	return bpf_map_update_elem(fd, key, v, BPF_ANY) ? -errno : 0;
}

/* Read the value under key in map m of pin_dir into v (vsize bytes, zeroed first). 0 or
 * -errno (-ENOENT: no such entry, or no such map). */
static int map_get(const char *pin_dir, enum netrules_map m, const void *key, void *v, size_t vsize)
{
	int fd = netrules_map_fd(pin_dir, m);

	memset(v, 0, vsize);
	if (fd < 0)
		return fd;
	return bpf_map_lookup_elem(fd, key, v) ? -errno : 0;
}

int netrules_set_mode(const char *pin_dir, uint64_t cgid, int mode, int default_action,
		      int kill_exec)
{
	struct moat_cgroup_cfg cfg = {
	    .mode = mode, .default_action = default_action, .kill_exec = !!kill_exec};

	return map_put(pin_dir, NR_CGROUP_CFG, &cgid, &cfg);
}

int netrules_set_cfg(const char *pin_dir, uint64_t cgid, const struct moat_cgroup_cfg *cfg)
{
	return map_put(pin_dir, NR_CGROUP_CFG, &cgid, cfg);
}

/* The exec_deny key of base name `name` for cgid. 0, -EINVAL (empty, or a path), or
 * -ENAMETOOLONG. */
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

/* Update (val != NULL) or delete (val == NULL) name in exec_deny or exec_allow (m). */
static int exec_name_write(const char *pin_dir, enum netrules_map m, uint64_t cgid,
			   const char *name, const struct moat_exec_rule *val)
{
	struct moat_exec_key k;
	int fd, err = exec_key(cgid, name, &k);

	if (err)
		return err;
	fd = netrules_map_fd(pin_dir, m);
	if (fd < 0)
		return fd;
	if (val ? bpf_map_update_elem(fd, &k, val, BPF_ANY) : bpf_map_delete_elem(fd, &k))
		err = -errno;
	return err;
}

int netrules_exec_deny_put(const char *pin_dir, uint64_t cgid, const char *name, uint32_t rule_id)
{
	struct moat_exec_rule r = {.rule_id = rule_id};

	return exec_name_write(pin_dir, NR_EXEC_DENY, cgid, name, &r);
}

int netrules_exec_deny_del(const char *pin_dir, uint64_t cgid, const char *name)
{
	return exec_name_write(pin_dir, NR_EXEC_DENY, cgid, name, NULL);
}

int netrules_exec_allow_put(const char *pin_dir, uint64_t cgid, const char *name, uint32_t rule_id)
{
	struct moat_exec_rule r = {.rule_id = rule_id};
	char cut[MOAT_EXEC_NAME_LEN];

	/* The kernel compares base names cut at MOAT_EXEC_NAME_LEN - 1 bytes. */
	snprintf(cut, sizeof(cut), "%s", name);
	return exec_name_write(pin_dir, NR_EXEC_ALLOW, cgid, cut, &r);
}

int netrules_exec_allow_del(const char *pin_dir, uint64_t cgid, const char *name)
{
	char cut[MOAT_EXEC_NAME_LEN];

	snprintf(cut, sizeof(cut), "%s", name);
	return exec_name_write(pin_dir, NR_EXEC_ALLOW, cgid, cut, NULL);
}

static int exec_key_of(const void *key, void *ctx)
{
	return ((const struct moat_exec_key *)key)->cgroup_id == *(const uint64_t *)ctx;
}

/* Remove the entries of cgroup cgid from exec map m that keep (when not NULL) does not keep.
 * Returns how many were removed, or -errno. */
static int exec_sweep(const char *pin_dir, enum netrules_map m, uint64_t cgid,
		      int (*keep)(const char *name, void *ctx), void *ctx)
{
	uint8_t *keys = NULL;
	int fd = netrules_map_fd(pin_dir, m), n, gone = 0;

	if (fd < 0)
		return fd;
	n = netrules_collect_keys(fd, sizeof(struct moat_exec_key), exec_key_of, &cgid, &keys);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const struct moat_exec_key *k =
		    (const struct moat_exec_key *)(keys + (size_t)i * sizeof(*k));
		char name[MOAT_EXEC_NAME_LEN];

		snprintf(name, sizeof(name), "%.*s", (int)sizeof(k->name), k->name);
		if (keep && keep(name, ctx))
			continue;
		if (bpf_map_delete_elem(fd, k) == 0)
			gone++;
	}
	free(keys);
	return gone;
}

int netrules_exec_allow_sweep(const char *pin_dir, uint64_t cgid,
			      int (*keep)(const char *name, void *ctx), void *ctx)
{
	return exec_sweep(pin_dir, NR_EXEC_ALLOW, cgid, keep, ctx);
}

const char *netrules_prog_name(int p)
{
	static const char *const names[MOAT_PROG_NR] = {
	    "connect4",	   "connect6", "sendmsg4", "sendmsg6", "exec", "exit",	    "dns_egress",
	    "dns_ingress", "sock_new", "bind4",	   "bind6",    "veth", "socket_tp", "veth_in",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == MOAT_PROG_NR, "a name per program");

	return p >= 0 && p < MOAT_PROG_NR ? names[p] : "?";
}

const char *netrules_stat_name(int s)
{
	static const char *const names[MOAT_STAT_NR] = {"events", "drops", "denied", "errors",
							"suppressed"};
	_Static_assert(sizeof(names) / sizeof(names[0]) == MOAT_STAT_NR, "a name per counter");

	return s >= 0 && s < MOAT_STAT_NR ? names[s] : "?";
}

int netrules_read_stats(const char *pin_dir, uint64_t vals[MOAT_STATS_SLOTS])
{
	int ncpu = libbpf_num_possible_cpus(), fd = netrules_map_fd(pin_dir, NR_STATS), err = 0;
	uint64_t *percpu;

	if (fd < 0)
		return fd;
	if (ncpu < 1)
		return ncpu;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
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
	return err;
}

/* ---- settings, resolvers, per-cgroup state (issue #8) ---- */

int netrules_set_settings(const char *pin_dir, const struct moat_settings *s)
{
	uint32_t zero = 0;

	return map_put(pin_dir, NR_SETTINGS, &zero, s);
}

int netrules_get_settings(const char *pin_dir, struct moat_settings *s)
{
	uint32_t zero = 0;

	return map_get(pin_dir, NR_SETTINGS, &zero, s, sizeof(*s));
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
	struct moat_resolver_key k;

	resolver_key(&k, cgid, family, addr);
	return map_put(pin_dir, NR_RESOLVERS, &k, &rule_id);
}

static int want_resolver_cg(const void *key, void *ctx)
{
	return ((const struct moat_resolver_key *)key)->cgroup_id == *(const uint64_t *)ctx;
}

int netrules_resolver_clear(const char *pin_dir, uint64_t cgid)
{
	int fd = netrules_map_fd(pin_dir, NR_RESOLVERS), n;
	uint8_t *keys = NULL;

	if (fd < 0)
		return fd;
	n = netrules_collect_keys(fd, sizeof(struct moat_resolver_key), want_resolver_cg, &cgid,
				  &keys);
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + (size_t)i * sizeof(struct moat_resolver_key));
	free(keys);
	return n < 0 ? n : 0;
}

int netrules_cgroup_state(const char *pin_dir, uint64_t cgid, struct moat_cgroup_state *out)
{
	return map_get(pin_dir, NR_CGROUP_STATE, &cgid, out, sizeof(*out));
}

/* Count of learned entries per cgroup, for the sweep. */
struct learn_count {
	uint64_t cgid;
	int64_t n;
};

/* One more learned entry of cgid in *c (*n used, *cap allocated); when memory is short the
 * entry is not counted (the next sweep recounts). */
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
	static const enum netrules_map maps[] = {NR_LEARNED_V4, NR_LEARNED_V6};
	static const size_t ksize[] = {sizeof(struct moat_learn_key_v4),
				       sizeof(struct moat_learn_key_v6)};
	struct learn_count *counts = NULL;
	size_t n_counts = 0, cap = 0;
	uint8_t *keys = NULL;
	int st_fd, gone = 0;

	for (int m = 0; m < 2; m++) {
		int fd = netrules_map_fd(pin_dir, maps[m]), n;

		if (fd < 0)
			continue;
		n = netrules_collect_keys(fd, ksize[m], netrules_want_any, NULL, &keys);
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
	}
	/* Recount: the programs add as they learn; what expired, was revoked or evicted goes
	 * here. A learn racing this write is lost from the count until the next sweep. */
	st_fd = netrules_map_fd(pin_dir, NR_CGROUP_STATE);
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
	}
	free(counts);
	if (removed)
		*removed = gone;
	return 0;
}

int netrules_forget_cgroup(const char *pin_dir, uint64_t cgid)
{
	static const enum netrules_map maps[] = {NR_CGROUP_CFG, NR_CGROUP_STATE};
	uint8_t *keys = NULL;
	int fd, n;

	for (int m = 0; m < 2; m++) {
		fd = netrules_map_fd(pin_dir, maps[m]);
		if (fd >= 0)
			bpf_map_delete_elem(fd, &cgid);
	}
	fd = netrules_map_fd(pin_dir, NR_VETH_CFG);
	if (fd >= 0) {
		n = netrules_collect_keys(fd, sizeof(uint32_t), netrules_want_any, NULL, &keys);
		for (int i = 0; i < n; i++) {
			struct moat_veth v;

			if (bpf_map_lookup_elem(fd, keys + (size_t)i * 4, &v) == 0 &&
			    v.cgroup_id == cgid)
				bpf_map_delete_elem(fd, keys + (size_t)i * 4);
		}
		free(keys);
	}
	exec_sweep(pin_dir, NR_EXEC_ALLOW, cgid, NULL, NULL);
	exec_sweep(pin_dir, NR_EXEC_DENY, cgid, NULL, NULL);
	return netrules_resolver_clear(pin_dir, cgid);
}

int netrules_veth_put(const char *pin_dir, uint32_t ifindex, const struct moat_veth *v)
{
	return map_put(pin_dir, NR_VETH_CFG, &ifindex, v);
}
