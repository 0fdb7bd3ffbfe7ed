/* netrules_domain.c - domain rules in domain_rules: normalising a pattern into its key,
 * writing and sweeping the live generation's rules one at a time (`moat domain`), and
 * telling the DNS program how deep wildcard rules go. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "netrules_int.h"

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

/* Labels of a wildcard rule's name ("github.com" of "*.github.com": 2). */
static uint32_t name_labels(const char *name)
{
	uint32_t n = name[0] ? 1 : 0;

	for (const char *p = name; *p; p++)
		n += *p == '.';
	return n;
}

uint32_t netrules_wild_labels(int dom_fd)
{
	struct moat_domain_key key, next;
	uint32_t max = 1;
	void *prev = NULL;

	while (bpf_map_get_next_key(dom_fd, prev, &next) == 0) {
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

void netrules_sync_wild_labels(const char *pin_dir, int dom_fd, uint32_t raise_to)
{
	struct moat_settings st;
	uint32_t want;

	if (netrules_get_settings(pin_dir, &st))
		return;
	want = raise_to ? (raise_to > st.max_wild_labels ? raise_to : st.max_wild_labels)
			: netrules_wild_labels(dom_fd);
	if (want != st.max_wild_labels) {
		st.max_wild_labels = want;
		netrules_set_settings(pin_dir, &st);
	}
}

/* Write (rule != NULL) or delete the rule for pattern in the live generation of rule set
 * `policy`, under the writers' lock, keeping max_wild_labels deep enough. 0 or -errno
 * (-EINVAL: a bad pattern). */
static int domain_write(const char *pin_dir, uint32_t policy, const char *pattern,
			const struct moat_domain_rule *rule)
{
	struct moat_domain_key k = {0};
	int wildcard, fd, lock, err = domain_normalize(pattern, k.name, &wildcard);

	if (err)
		return err;
	k.wildcard = (uint8_t)wildcard;
	lock = netrules_lock(pin_dir);
	k.policy = netrules_gen_policy(policy, netrules_live_gen(pin_dir));
	fd = netrules_map_fd(pin_dir, NR_DOMAIN_RULES);
	if (fd >= 0 && rule && wildcard)
		netrules_sync_wild_labels(pin_dir, fd, name_labels(k.name));
	if (fd >= 0 &&
	    (rule ? bpf_map_update_elem(fd, &k, rule, BPF_ANY) : bpf_map_delete_elem(fd, &k)))
		err = -errno;
	if (fd >= 0 && !rule)
		netrules_sync_wild_labels(pin_dir, fd, 0);
	netrules_unlock(lock);
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

int netrules_domain_sweep(const char *pin_dir, uint32_t policy, netrules_domain_keep_fn keep,
			  void *ctx)
{
	struct moat_domain_key key, next, *doomed = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int fd = netrules_map_fd(pin_dir, NR_DOMAIN_RULES), count = 0;

	if (fd < 0)
		return fd;
	policy = netrules_gen_policy(policy, netrules_live_gen(pin_dir));
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
	return count;
}
