/* netrules.c - CIDR rules, cgroup modes and counters in the pinned maps. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netrules.h"

int cidr_parse(const char *s, struct cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = 0;
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	out->prefixlen = max;
	if (slash) {
		char *end;
		long p;

		errno = 0;
		p = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || p < 0 || p > max)
			return -EINVAL;
		out->prefixlen = (int)p;
	}
	for (int bit = out->prefixlen; bit < max; bit++)
		out->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

static int open_pinned(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
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
	int fd = rule_key(pin_dir, cgid, c, &k6, &k4, &key), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, key, &v, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

int netrules_del(const char *pin_dir, uint64_t cgid, const struct cidr *c)
{
	struct moat_lpm_v4 k4 = {0};
	struct moat_lpm_v6 k6 = {0};
	void *key;
	int fd = rule_key(pin_dir, cgid, c, &k6, &k4, &key), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_delete_elem(fd, key))
		err = -errno;
	close(fd);
	return err;
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
	int a = sweep_trie(pin_dir, "net_rules_v4", sizeof(struct moat_lpm_v4), cgid, min_id,
			   max_id, keep, ctx);
	int b = sweep_trie(pin_dir, "net_rules_v6", sizeof(struct moat_lpm_v6), cgid, min_id,
			   max_id, keep, ctx);

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
static int domain_write(const char *pin_dir, uint32_t policy, const char *pattern,
			const struct moat_domain_rule *rule)
{
	struct moat_domain_key k = {.policy = policy};
	int wildcard, fd, err = domain_normalize(pattern, k.name, &wildcard);

	if (err)
		return err;
	k.wildcard = (uint8_t)wildcard;
	fd = open_pinned(pin_dir, "domain_rules");
	if (fd < 0)
		return fd;
	if (rule ? bpf_map_update_elem(fd, &k, rule, BPF_ANY) : bpf_map_delete_elem(fd, &k))
		err = -errno;
	close(fd);
	return err;
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
