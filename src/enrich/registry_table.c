/* registry_table.c - the registry's open-addressing tables (the name table, the (address,
 * container) index behind registry_explains) and its interned container ids. */
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"

int reg_otab_init(struct otab *t, unsigned wide, unsigned tag_shift)
{
	unsigned bits = (wide ? 64 : 32) - tag_shift;

	t->size = 1024;
	t->count = 0;
	t->wide = wide;
	t->tag_shift = tag_shift;
	t->tag_mask = bits >= 32 ? UINT32_MAX : (1ULL << bits) - 1;
	t->s = calloc(t->size, wide ? 8 : 4);
	return t->s ? 0 : -ENOMEM;
}

#define RESIZE_BATCH 32

/* Rehash into `size` slots. The walk starts after an empty slot, so each run of slots is
 * moved from its start: entries with the same key keep their order. A key's hash needs its
 * record, so the records of a batch of slots are prefetched first. 0 or -ENOMEM. */
static int ot_resize(const struct registry *r, struct otab *t, uint32_t size, slot_hash_fn fn)
{
	struct otab n = *t;
	uint64_t vs[RESIZE_BATCH], hs[RESIZE_BATCH];
	uint32_t start = 0, j, left = t->size, nb;

	n.size = size;
	n.s = calloc(size, t->wide ? 8 : 4);
	if (!n.s)
		return -ENOMEM;
	while (ot_get(t, start))
		start++;
	for (j = start; left;) {
		for (nb = 0; nb < RESIZE_BATCH && left; left--) {
			j = ot_next(t, j);
			if ((vs[nb] = ot_get(t, j)))
				__builtin_prefetch(E(r, slot_entry(r, vs[nb++])));
		}
		for (uint32_t b = 0; b < nb; b++) {
			const char *p = A(r, E(r, slot_entry(r, vs[b]))->blob);

			__builtin_prefetch(p);
			__builtin_prefetch(p + 64);
		}
		for (uint32_t b = 0; b < nb; b++)
			hs[b] = fn(r, vs[b]);
		for (uint32_t b = 0; b < nb; b++) {
			uint32_t p;

			for (p = ot_home(&n, hs[b]); ot_get(&n, p); p = ot_next(&n, p))
				;
			ot_set(&n, p, vs[b]);
		}
	}
	free(t->s);
	*t = n;
	return 0;
}

int reg_ot_reserve(const struct registry *r, struct otab *t, uint32_t need, slot_hash_fn fn)
{
	uint64_t want = (uint64_t)t->count + need, size;

	if (want * 5 <= (uint64_t)t->size * 4)
		return 0;
	size = (uint64_t)t->size * 3 / 2;
	if (size < want * 5 / 4 + 1)
		size = want * 5 / 4 + 1;
	if (size <= UINT32_MAX && ot_resize(r, t, (uint32_t)size, fn) == 0)
		return 0;
	return want < t->size ? 0 : -ENOMEM;
}

/* Empty slot i, moving later slots of its run back where their home allows. */
static void ot_delete(const struct registry *r, struct otab *t, uint32_t i, slot_hash_fn fn)
{
	uint32_t j = i;

	for (;;) {
		uint64_t v;
		uint32_t k;

		j = ot_next(t, j);
		v = ot_get(t, j);
		if (!v)
			break;
		k = ot_home(t, fn(r, v));
		/* v stays when its home lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		ot_set(t, i, v);
		i = j;
	}
	ot_set(t, i, 0);
	t->count--;
}

void reg_ot_remove(const struct registry *r, struct otab *t, uint64_t v, uint64_t h,
		   slot_hash_fn fn)
{
	uint64_t x;

	for (uint32_t p = ot_home(t, h); (x = ot_get(t, p)); p = ot_next(t, p)) {
		if (x == v) {
			ot_delete(r, t, p, fn);
			return;
		}
	}
}

uint64_t reg_name_slot_hash(const struct registry *r, uint64_t v)
{
	struct view w;

	view_of(r, slot_entry(r, v), &w);
	return hash_name(r, w.strs, strlen(w.strs));
}

void reg_name_insert(struct registry *r, uint32_t i, uint64_t h)
{
	struct otab *t = &r->names;
	uint32_t p;

	for (p = ot_home(t, h); ot_get(t, p); p = ot_next(t, p))
		;
	ot_set(t, p, name_val(r, i, h));
	t->count++;
}

uint64_t reg_node_slot_hash(const struct registry *r, uint64_t v)
{
	struct view w;
	uint8_t a[16];

	view_of(r, slot_entry(r, v), &w);
	v_addr(&w, v_pos(&w, node_aslot(r, v)), a);
	return hash_addr(r->seed, a, w.cidx[node_cslot(r, v)]);
}

/* Whether node slot v is for address a seen by container cidx. */
static int node_is(const struct registry *r, uint64_t v, const uint8_t a[16], uint16_t cidx)
{
	struct view w;

	view_of(r, slot_entry(r, v), &w);
	return w.cidx[node_cslot(r, v)] == cidx && v_addr_is(&w, v_pos(&w, node_aslot(r, v)), a);
}

void reg_node_remove(struct registry *r, uint32_t i, unsigned slot, unsigned c, const uint8_t a[16],
		     uint16_t cidx)
{
	uint64_t h = hash_addr(r->seed, a, cidx);

	reg_ot_remove(r, &r->nodes, node_val(r, i, slot, c, h), h, reg_node_slot_hash);
}

void reg_node_touch(struct registry *r, uint32_t i, unsigned slot, unsigned c, const uint8_t a[16],
		    uint16_t cidx)
{
	struct otab *t = &r->nodes;
	uint64_t h = hash_addr(r->seed, a, cidx), val = node_val(r, i, slot, c, h),
		 tag = ot_tag(t, h), v, carry = val;
	uint32_t home = ot_home(t, h), q;

	for (q = home; (v = ot_get(t, q)) && v != val; q = ot_next(t, q))
		;
	if (!v)
		t->count++;
	/* Rotate the same-key slots before q by one, ours into the first. */
	for (uint32_t p = home; p != q; p = ot_next(t, p)) {
		v = ot_get(t, p);
		if (v >> t->tag_shift == tag && node_is(r, v, a, cidx)) {
			ot_set(t, p, carry);
			carry = v;
		}
	}
	ot_set(t, q, carry);
}

int reg_cid_grow(struct registry *r)
{
	size_t cap = r->cid_cap ? r->cid_cap * 2 : 64, nb = 64;
	struct cid *cs;
	uint16_t *bs;

	if (cap > MAX_CIDS + 1)
		cap = MAX_CIDS + 1;
	if (cap <= r->cid_cap)
		return -ENOSPC;
	while (nb < cap)
		nb *= 2;
	cs = realloc(r->cids, cap * sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	r->cids = cs;
	bs = malloc(nb * sizeof(*bs));
	if (!bs)
		return -ENOMEM;
	for (size_t i = 0; i < nb; i++)
		bs[i] = CNIL;
	for (size_t i = 0; i < r->cid_cap; i++) {
		if (!cs[i].id)
			continue;
		cs[i].next = bs[cs[i].hash & (nb - 1)];
		bs[cs[i].hash & (nb - 1)] = (uint16_t)i;
	}
	for (size_t i = cap; i-- > r->cid_cap;) {
		cs[i].id = NULL;
		cs[i].refs = 0;
		cs[i].next = r->cfree;
		r->cfree = (uint16_t)i;
	}
	free(r->cbuckets);
	r->cbuckets = bs;
	r->cbmask = nb - 1;
	r->cid_cap = cap;
	return 0;
}

int reg_cid_get(struct registry *r, const char *id)
{
	size_t len;
	uint32_t h;
	uint16_t c;
	int err;

	if (!id)
		id = "";
	len = strnlen(id, CID_LEN_MAX + 1);
	if (len > CID_LEN_MAX)
		return -EINVAL;
	h = (uint32_t)hash_bytes(r->seed, id, len);
	c = cid_find(r, id, len, h);
	if (c != CNIL) {
		r->cids[c].refs++;
		return c;
	}
	if (r->cfree == CNIL && (err = reg_cid_grow(r)))
		return err;
	c = r->cfree;
	r->cids[c].id = strndup(id, len);
	if (!r->cids[c].id)
		return -ENOMEM;
	r->cfree = r->cids[c].next;
	r->cids[c].refs = 1;
	r->cids[c].hash = h;
	r->cids[c].next = r->cbuckets[h & r->cbmask];
	r->cbuckets[h & r->cbmask] = c;
	return c;
}

void reg_cid_unref(struct registry *r, uint16_t c)
{
	uint16_t *link;

	if (--r->cids[c].refs)
		return;
	for (link = &r->cbuckets[r->cids[c].hash & r->cbmask]; *link != c;
	     link = &r->cids[*link].next)
		;
	*link = r->cids[c].next;
	free(r->cids[c].id);
	r->cids[c].id = NULL;
	r->cids[c].next = r->cfree;
	r->cfree = c;
}
