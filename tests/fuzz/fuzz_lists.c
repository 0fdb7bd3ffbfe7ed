/* fuzz_lists.c - IP/CIDR list files, the blacklist and whitelist
 * (lists_parse, what lists_load runs on a file's contents).
 *
 * Oracles besides the sanitizers: the loaded list is sorted (family, then
 * longest prefix, then address) without duplicates, its prefix groups cover
 * it exactly, and every entry's own address is found by iplist_contains
 * with an entry at least as specific.
 */
#include <errno.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "lists.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

static void check_groups(const struct iplist *l, const struct iplist_group *g, int ng, int family)
{
	size_t covered = 0;

	for (int i = 0; i < ng; i++) {
		if (g[i].start >= g[i].end || g[i].end > l->n ||
		    (i && g[i - 1].prefixlen <= g[i].prefixlen))
			fuzz_fail("check failed");
		for (size_t k = g[i].start; k < g[i].end; k++)
			if (l->entries[k].cidr.family != family ||
			    l->entries[k].cidr.prefixlen != g[i].prefixlen)
				fuzz_fail("check failed");
		covered += g[i].end - g[i].start;
	}
	for (size_t k = 0; k < l->n; k++)
		covered -= l->entries[k].cidr.family == family;
	if (covered)
		fuzz_fail("the groups do not cover this family's entries exactly");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iplist l = {0};
	int bad = -1, err;

	err = lists_parse(&l, "blacklist.txt", (const char *)data, size, &bad);
	if (err) {
		if (err != -ENOMEM || l.n)
			fuzz_fail("check failed");
		return 0;
	}
	if (bad < 0)
		fuzz_fail("check failed");
	for (size_t i = 0; i < l.n; i++) {
		const struct iplist_entry *e = &l.entries[i], *p = i ? &l.entries[i - 1] : NULL;
		int max = e->cidr.family == AF_INET ? 32 : 128, hit;

		if ((e->cidr.family != AF_INET && e->cidr.family != AF_INET6) ||
		    e->cidr.prefixlen < 0 || e->cidr.prefixlen > max ||
		    !memchr(e->text, 0, sizeof(e->text)) || !e->line)
			fuzz_fail("check failed");
		if (p && p->cidr.family == e->cidr.family &&
		    p->cidr.prefixlen == e->cidr.prefixlen &&
		    memcmp(p->cidr.addr, e->cidr.addr, 16) >= 0)
			fuzz_fail("not sorted, or a duplicate kept");
		hit = iplist_contains(&l, e->cidr.family, e->cidr.addr);
		if (!iplist_entry(&l, hit) || l.entries[hit].cidr.family != e->cidr.family ||
		    l.entries[hit].cidr.prefixlen < e->cidr.prefixlen)
			fuzz_fail("an entry does not match its own address");
	}
	check_groups(&l, l.groups4, l.ngroups4, AF_INET);
	check_groups(&l, l.groups6, l.ngroups6, AF_INET6);
	lists_free(&l);
	return 0;
}
