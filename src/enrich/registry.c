/* registry.c - the DNS registry's API: a registry's lifecycle, recording answers (with each
 * container's fair share of names), registry_explains, counters and pruning. The store
 * behind it is described in registry_int.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "registry_int.h"

/* ---- names and addresses as keys ---- */

const char *reg_addr_str(const uint8_t a[16], char *buf, size_t len)
{
	if (memcmp(a, v4_prefix, 12) == 0)
		return inet_ntop(AF_INET, a + 12, buf, len);
	return inet_ntop(AF_INET6, a, buf, len);
}

int reg_addr_parse(const char *s, uint8_t out[16])
{
	uint8_t b[16];

	if (inet_pton(AF_INET, s, b) == 1)
		return addr_canon(AF_INET, b, out);
	if (inet_pton(AF_INET6, s, b) == 1)
		return addr_canon(AF_INET6, b, out);
	return -EINVAL;
}

int reg_name_norm(const char *in, char out[MOAT_DNS_NAME_LEN])
{
	size_t n;

	if (!in)
		return -EINVAL;
	n = strnlen(in, NAME_MAX_LEN + 2);
	if (n > NAME_MAX_LEN + 1)
		return -EINVAL;
	while (n > 0 && in[n - 1] == '.')
		n--;
	if (n > NAME_MAX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	out[n] = '\0';
	return (int)n;
}

static uint32_t clamp_time(int64_t t)
{
	if (t < 0)
		return 0;
	if (t > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)t;
}

/* ---- the per-container fair share ---- */

/* Whether container cid may not record name (qlen bytes) or its CNAME target (target, tlen
 * bytes; NULL without a chain): a container that holds ct_quota names already adds no new
 * one, so that a flood of unique names from one container cannot push every other
 * container's names out (their connects would then look direct). Names it holds are still
 * refreshed. A refusal is counted in r->refused. The caller holds a reference on cid. */
static int quota_refuses(struct registry *r, uint16_t cid, const char *name, size_t qlen,
			 const char *target, size_t tlen)
{
	/* refs counts its names, plus one for this call. */
	if (!r->ct_quota || r->cids[cid].refs <= r->ct_quota)
		return 0;
	if (name_find(r, name, qlen, hash_name(r, name, qlen)) != NIL &&
	    (!target || name_find(r, target, tlen, hash_name(r, target, tlen)) != NIL))
		return 0;
	r->refused++;
	return 1;
}

void registry_set_container_quota(struct registry *r, uint32_t names)
{
	if (r)
		r->ct_quota = names;
}

uint64_t registry_refused(const struct registry *r)
{
	return r ? r->refused : 0;
}

/* ---- the API ---- */

struct registry *registry_new(size_t max_entries, uint32_t retention_s)
{
	struct registry *r = calloc(1, sizeof(*r));
	uint64_t cap;

	if (!r)
		return NULL;
	r->max_entries = max_entries ? max_entries : REGISTRY_DEFAULT_MAX_ENTRIES;
	if (r->max_entries > UINT32_MAX - 2 * ENTRY_CHUNK)
		r->max_entries = UINT32_MAX - 2 * ENTRY_CHUNK; /* entry numbers are u32 */
	r->retention = retention_s ? retention_s : REGISTRY_DEFAULT_RETENTION;
	if (getrandom(&r->seed, sizeof(r->seed), GRND_NONBLOCK) != sizeof(r->seed))
		r->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	/* Entry numbers stay below max_entries rounded up to a chunk. */
	cap = (r->max_entries + ENTRY_CHUNK - 1) / ENTRY_CHUNK * ENTRY_CHUNK;
	r->ebits = 64 - (unsigned)__builtin_clzll(cap);
	r->emask = (1ULL << r->ebits) - 1;
	r->efree = NIL;
	r->lru_head = r->lru_tail = NIL;
	r->cfree = CNIL;
	if (reg_otab_init(&r->names, r->ebits > 24, r->ebits) ||
	    reg_otab_init(&r->nodes, r->ebits > 18, r->ebits + 10) || reg_cid_grow(r)) {
		registry_free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	for (uint32_t p = 0; p < r->n_pages; p++)
		free(r->pages[p]);
	for (size_t c = 0; c < r->n_echunks; c++)
		free(r->echunks[c]);
	for (size_t c = 0; c < r->cid_cap; c++)
		free(r->cids[c].id);
	free(r->pages);
	free(r->echunks);
	free(r->names.s);
	free(r->nodes.s);
	free(r->cids);
	free(r->cbuckets);
	free(r);
}

int registry_record(struct registry *r, const char *qname, const char *const *cnames, int n_cnames,
		    const struct registry_addr *addrs, int n_addrs, const char *container,
		    int64_t now)
{
	char strs[STRS_MAX];
	uint8_t as[REGISTRY_MAX_ADDRS][16];
	uint32_t ttls[REGISTRY_MAX_ADDRS], t = clamp_time(now);
	size_t qlen, len = 0, last = 0, last_len = 0;
	int n = 0, cid, err = 0, nc = 0;

	if (!r || n_addrs < 0 || n_cnames < 0 || (n_addrs && !addrs) || (n_cnames && !cnames))
		return -EINVAL;
	err = reg_name_norm(qname, strs);
	if (err < 0)
		return err;
	qlen = (size_t)err;
	len = qlen + 1;
	for (int k = 0; k < n_cnames && nc < REGISTRY_MAX_CNAMES; k++, nc++) {
		err = reg_name_norm(cnames[k], strs + len);
		if (err < 0)
			return err;
		last = len;
		last_len = (size_t)err;
		len += (size_t)err + 1;
	}
	/* The target of a chain longer than we keep is still the last CNAME given. */
	if (n_cnames > REGISTRY_MAX_CNAMES) {
		char tgt[MOAT_DNS_NAME_LEN];

		err = reg_name_norm(cnames[n_cnames - 1], tgt);
		if (err < 0)
			return err;
		memcpy(strs + last, tgt, (size_t)err + 1);
		last_len = (size_t)err;
		len = last + last_len + 1;
	}
	for (int k = 0; k < n_addrs; k++) {
		uint8_t a[16];
		int dup = 0;

		if (addr_canon(addrs[k].family, addrs[k].addr, a))
			return -EAFNOSUPPORT;
		for (int j = 0; j < n && !dup; j++)
			dup = memcmp(as[j], a, 16) == 0;
		if (dup || n == REGISTRY_MAX_ADDRS)
			continue;
		memcpy(as[n], a, 16);
		ttls[n++] = addrs[k].ttl;
	}
	if (n == 0)
		return 0;
	cid = reg_cid_get(r, container);
	if (cid < 0)
		return cid;
	if (quota_refuses(r, (uint16_t)cid, strs, qlen, nc ? strs + last : NULL, last_len)) {
		reg_cid_unref(r, (uint16_t)cid);
		return -EDQUOT;
	}
	err = 0;
	/* The CNAME target first, so the asked name's nodes end up first in the index. */
	if (nc && (last_len != qlen || memcmp(strs + last, strs, qlen) != 0))
		err = reg_observe(r, strs + last, last_len, NULL, 0, 0, as, ttls, n, (uint16_t)cid,
				  t);
	if (!err)
		err = reg_observe(r, strs, qlen, strs, len, (unsigned)nc, as, ttls, n,
				  (uint16_t)cid, t);
	reg_cid_unref(r, (uint16_t)cid);
	return err;
}

int registry_record_event(struct registry *r, const struct moat_dns_event *e, const char *container,
			  int64_t now)
{
	const unsigned bad = MOAT_DNS_F_MALFORMED | MOAT_DNS_F_PTR_LOOP | MOAT_DNS_F_NOT_DNS |
			     MOAT_DNS_F_TCP_PARTIAL;
	struct registry_addr as[MOAT_DNS_MAX_ADDRS];
	const char *cn[MOAT_DNS_MAX_CNAMES];
	int n = 0, nc = 0;

	if (!r || !e)
		return -EINVAL;
	if (e->hdr.type != MOAT_EV_DNS_ANSWER || e->rcode != 0 || e->n_addrs == 0 ||
	    (e->flags & bad))
		return 0;
	if (strnlen(e->qname, sizeof(e->qname)) == sizeof(e->qname))
		return -EINVAL;
	for (int k = 0; k < e->n_cnames && k < MOAT_DNS_MAX_CNAMES; k++) {
		if (strnlen(e->cnames[k], sizeof(e->cnames[k])) == sizeof(e->cnames[k]))
			return -EINVAL;
		cn[nc++] = e->cnames[k];
	}
	for (int k = 0; k < e->n_addrs && k < MOAT_DNS_MAX_ADDRS; k++) {
		as[n].family = e->addrs[k].family;
		memcpy(as[n].addr, e->addrs[k].addr, 16);
		as[n++].ttl = e->addrs[k].ttl;
	}
	return registry_record(r, e->qname, cn, nc, as, n, container, now);
}

const char *registry_explains(struct registry *r, const char *container, int family,
			      const uint8_t addr[16], int64_t now)
{
	const struct otab *t;
	uint8_t a[16];
	size_t len;
	uint64_t h, tag, v;
	uint16_t c;

	if (!r || !addr || addr_canon(family, addr, a))
		return NULL;
	if (!container)
		container = "";
	len = strnlen(container, CID_LEN_MAX + 1);
	if (len > CID_LEN_MAX)
		return NULL;
	c = cid_find(r, container, len, (uint32_t)hash_bytes(r->seed, container, len));
	if (c == CNIL)
		return NULL;
	t = &r->nodes;
	h = hash_addr(r->seed, a, c);
	tag = ot_tag(t, h);
	for (uint32_t p = ot_home(t, h); (v = ot_get(t, p)); p = ot_next(t, p)) {
		struct view w;
		unsigned k, cs;

		if (v >> t->tag_shift != tag)
			continue;
		view_of(r, slot_entry(r, v), &w);
		k = v_pos(&w, node_aslot(r, v));
		cs = node_cslot(r, v);
		if (w.cidx[cs] == c && v_addr_is(&w, k, a) &&
		    alive(r, v_time(&w, cs, k), v_ttl(&w, k), now))
			return w.strs;
	}
	return NULL;
}

size_t registry_count(const struct registry *r)
{
	return r ? r->n_entries : 0;
}

size_t registry_addr_count(const struct registry *r)
{
	return r ? r->nodes.count : 0;
}

size_t registry_prune(struct registry *r, int64_t now)
{
	size_t dropped = 0;
	uint32_t i, prev;

	if (!r)
		return 0;
	/* The LRU list is ordered by last_seen, so the walk stops at the first name still
	 * within retention; names kept by a longer TTL are stepped over. */
	for (i = r->lru_tail; i != NIL; i = prev) {
		struct view w;
		uint32_t ttl = 0, last;

		view_of(r, i, &w);
		prev = E(r, i)->prev;
		last = v_last_seen(&w);
		if (alive(r, last, 0, now))
			break;
		for (unsigned k = 0; k < w.na; k++)
			if (v_ttl(&w, k) > ttl)
				ttl = v_ttl(&w, k);
		if (alive(r, last, ttl, now))
			continue;
		reg_entry_remove(r, i);
		dropped++;
	}
	if (dropped)
		reg_arena_compact(r);
	return dropped;
}
