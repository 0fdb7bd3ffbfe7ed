/* registry_edit.c - the registry's entries and LRU list, and every change to a name: a decoded
 * copy edited, then committed to the record, the tables and the container references. */
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"

static void lru_unlink(struct registry *r, uint32_t i)
{
	struct entry *e = E(r, i);

	if (e->prev != NIL)
		E(r, e->prev)->next = e->next;
	else
		r->lru_head = e->next;
	if (e->next != NIL)
		E(r, e->next)->prev = e->prev;
	else
		r->lru_tail = e->prev;
}

static void lru_push_head(struct registry *r, uint32_t i)
{
	struct entry *e = E(r, i);

	e->prev = NIL;
	e->next = r->lru_head;
	if (r->lru_head != NIL)
		E(r, r->lru_head)->prev = i;
	r->lru_head = i;
	if (r->lru_tail == NIL)
		r->lru_tail = i;
}

void reg_lru_touch(struct registry *r, uint32_t i)
{
	if (r->lru_head == i)
		return;
	lru_unlink(r, i);
	lru_push_head(r, i);
}

void reg_entry_remove(struct registry *r, uint32_t i)
{
	struct entry *e = E(r, i);
	struct view w;
	uint8_t a[16];

	view_at(&w, A(r, e->blob));
	for (unsigned c = 0; c < w.nc; c++) {
		for (unsigned k = 0; k < w.na; k++) {
			if (!v_seen(&w, c, k))
				continue;
			v_addr(&w, k, a);
			reg_node_remove(r, i, v_slot(&w, k), c, a, w.cidx[c]);
		}
		reg_cid_unref(r, w.cidx[c]);
	}
	reg_ot_remove(r, &r->names, name_val(r, i, hash_name(r, w.strs, strlen(w.strs))),
		      hash_name(r, w.strs, strlen(w.strs)), reg_name_slot_hash);
	lru_unlink(r, i);
	reg_arena_free(r, e->blob, reg_view_size(&w));
	e->blob = 0;
	e->next = r->efree;
	r->efree = i;
	r->n_entries--;
}

/* An unused entry number, or NIL (ENOMEM). */
static uint32_t entry_alloc(struct registry *r)
{
	uint32_t i;

	if (r->efree == NIL) {
		struct entry **cs = realloc(r->echunks, (r->n_echunks + 1) * sizeof(*cs));
		struct entry *c;

		if (!cs)
			return NIL;
		r->echunks = cs;
		c = calloc(ENTRY_CHUNK, sizeof(*c));
		if (!c)
			return NIL;
		cs[r->n_echunks] = c;
		for (uint32_t k = ENTRY_CHUNK; k-- > 0;) {
			c[k].next = r->efree;
			r->efree = (uint32_t)(r->n_echunks << ENTRY_SHIFT) + k;
		}
		r->n_echunks++;
	}
	i = r->efree;
	r->efree = E(r, i)->next;
	return i;
}

/* ---- changing a name ---- */

int reg_edit_begin(struct registry *r, const char *name, size_t len, uint32_t now)
{
	struct edit *ed = &r->ed;
	struct dentry *d = &ed->d;
	uint32_t i = name_find(r, name, len, hash_name(r, name, len));

	ed->replaced = 0;
	ed->creplaced = 0;
	memset(ed->touched, 0, sizeof(ed->touched));
	if (i != NIL) {
		ed->idx = i;
		ed->is_new = 0;
		ed->blob0 = E(r, i)->blob;
		reg_decode(r, ed->blob0, d);
		ed->nc0 = d->nc;
		memcpy(ed->seen0, d->seen, d->nc * sizeof(d->seen[0]));
		return 0;
	}
	if (r->n_entries >= r->max_entries && r->lru_tail != NIL)
		reg_entry_remove(r, r->lru_tail);
	i = entry_alloc(r);
	if (i == NIL)
		return -ENOMEM;
	ed->idx = i;
	ed->is_new = 1;
	ed->blob0 = 0;
	ed->nc0 = 0;
	d->first_seen = d->last_seen = now;
	d->count = 0;
	d->n4 = d->n6 = d->nc = d->ncn = 0;
	memcpy(d->strs, name, len);
	d->strs[len] = '\0';
	d->strs_len = len + 1;
	return 0;
}

void reg_edit_strs(struct dentry *d, const char *strs, size_t strs_len, unsigned n_cnames)
{
	if (d->strs_len == strs_len && d->ncn == n_cnames && memcmp(d->strs, strs, strs_len) == 0)
		return;
	memcpy(d->strs, strs, strs_len);
	d->strs_len = strs_len;
	d->ncn = n_cnames;
}

/* When any container last saw the address in slot (0 if none did). */
static uint32_t d_slot_last_seen(const struct dentry *d, unsigned slot)
{
	uint32_t t = 0;

	for (unsigned c = 0; c < d->nc; c++)
		if (((d->seen[c] >> slot) & 1) && d->time[c][slot] > t)
			t = d->time[c][slot];
	return t;
}

unsigned reg_edit_addr(struct registry *r, const uint8_t a[16])
{
	struct edit *ed = &r->ed;
	struct dentry *d = &ed->d;
	int v6 = !is_v4(a);
	unsigned n = v6 ? d->n6 : d->n4, k, oldest = 0, slot;
	uint32_t oldest_t = UINT32_MAX;

	for (k = 0; k < n; k++) {
		slot = v6 ? (SLOT_V6 | k) : k;
		if (d_slot_is(d, slot, a))
			return slot;
	}
	if (n < REGISTRY_MAX_ADDRS) {
		slot = v6 ? (SLOT_V6 | n) : n;
		if (v6)
			d->n6++;
		else
			d->n4++;
	} else {
		for (k = 0; k < n; k++) {
			uint32_t t = d_slot_last_seen(d, v6 ? (SLOT_V6 | k) : k);

			if (t < oldest_t) {
				oldest_t = t;
				oldest = k;
			}
		}
		slot = v6 ? (SLOT_V6 | oldest) : oldest;
		ed->replaced |= 1ULL << slot;
		for (unsigned c = 0; c < d->nc; c++) {
			d->seen[c] &= ~(1ULL << slot);
			ed->touched[c] &= ~(1ULL << slot);
		}
	}
	if (v6)
		memcpy(d->a6[slot & ~SLOT_V6].addr, a, 16);
	else
		memcpy(d->a4[slot].addr, a + 12, 4);
	*d_ttl(d, slot) = 0;
	return slot;
}

unsigned reg_edit_cont(struct registry *r, uint16_t cidx, uint32_t seen)
{
	struct edit *ed = &r->ed;
	struct dentry *d = &ed->d;
	unsigned s, oldest = 0;

	for (s = 0; s < d->nc; s++) {
		if (d->cidx[s] == cidx)
			return s;
		if (d->clast[s] < d->clast[oldest])
			oldest = s;
	}
	if (d->nc < REGISTRY_MAX_CONTAINERS) {
		s = d->nc++;
	} else {
		s = oldest;
		ed->creplaced |= 1u << s;
	}
	d->seen[s] = 0;
	ed->touched[s] = 0;
	d->cidx[s] = cidx;
	d->ccount[s] = 0;
	d->clast[s] = seen;
	return s;
}

void reg_edit_touch(struct registry *r, unsigned slot, unsigned c, uint32_t seen)
{
	struct edit *ed = &r->ed;
	struct dentry *d = &ed->d;

	if (!((d->seen[c] >> slot) & 1) || seen > d->time[c][slot])
		d->time[c][slot] = seen;
	d->seen[c] |= 1ULL << slot;
	ed->touched[c] |= 1ULL << slot;
}

int reg_edit_commit(struct registry *r)
{
	struct edit *ed = &r->ed;
	struct dentry *d = &ed->d;
	uint32_t i = ed->idx, hdr, blob = ed->blob0, ntouch = 0;
	size_t size = reg_encoded_size(d, &hdr), size0 = 0;
	struct view w0;
	uint8_t a[16];
	int err;

	for (unsigned c = 0; c < d->nc; c++)
		ntouch += (uint32_t)__builtin_popcountll(ed->touched[c]);
	err = reg_ot_reserve(r, &r->nodes, ntouch, reg_node_slot_hash);
	if (!err && ed->is_new)
		err = reg_ot_reserve(r, &r->names, 1, reg_name_slot_hash);
	if (blob) {
		view_at(&w0, A(r, blob));
		size0 = reg_view_size(&w0);
	}
	if (!err && (!blob || CLASS_OF(size) != CLASS_OF(size0))) {
		blob = reg_arena_alloc(r, size);
		if (!blob)
			err = -ENOMEM;
	}
	if (err) {
		if (ed->is_new) {
			E(r, i)->next = r->efree;
			r->efree = i;
		}
		return err;
	}
	/* Out first, while the old record still says what they are keyed by. */
	for (unsigned c = 0; c < ed->nc0; c++) {
		for (uint64_t m = ed->seen0[c]; m; m &= m - 1) {
			unsigned s = (unsigned)__builtin_ctzll(m);

			if (!((ed->replaced >> s) & 1) && !((ed->creplaced >> c) & 1))
				continue;
			v_addr(&w0, v_pos(&w0, s), a);
			reg_node_remove(r, i, s, c, a, w0.cidx[c]);
		}
	}
	for (unsigned c = 0; c < d->nc; c++)
		if (c >= ed->nc0 || ((ed->creplaced >> c) & 1))
			r->cids[d->cidx[c]].refs++;
	for (unsigned c = 0; c < ed->nc0; c++)
		if ((ed->creplaced >> c) & 1)
			reg_cid_unref(r, w0.cidx[c]);
	reg_encode(d, hdr, A(r, blob));
	if (ed->blob0 && blob != ed->blob0)
		reg_arena_free(r, ed->blob0, size0);
	E(r, i)->blob = blob;
	if (ed->is_new) {
		reg_name_insert(r, i, hash_name(r, d->strs, strlen(d->strs)));
		lru_push_head(r, i);
		r->n_entries++;
	}
	for (unsigned c = 0; c < d->nc; c++) {
		for (uint64_t m = ed->touched[c]; m; m &= m - 1) {
			unsigned s = (unsigned)__builtin_ctzll(m);

			d_addr(d, s, a);
			reg_node_touch(r, i, s, c, a, d->cidx[c]);
		}
	}
	return 0;
}

int reg_observe(struct registry *r, const char *name, size_t len, const char *strs, size_t strs_len,
		unsigned n_cnames, uint8_t (*as)[16], const uint32_t *ttls, int n, uint16_t cidx,
		uint32_t t)
{
	struct dentry *d = &r->ed.d;
	unsigned cs;
	int err = reg_edit_begin(r, name, len, t);

	if (err)
		return err;
	if (strs)
		reg_edit_strs(d, strs, strs_len, n_cnames);
	cs = reg_edit_cont(r, cidx, t);
	for (int k = 0; k < n; k++) {
		unsigned s = reg_edit_addr(r, as[k]);

		*d_ttl(d, s) = ttls[k];
		reg_edit_touch(r, s, cs, t);
	}
	d->ccount[cs]++;
	if (t > d->clast[cs])
		d->clast[cs] = t;
	d->count++;
	if (t > d->last_seen)
		d->last_seen = t;
	err = reg_edit_commit(r);
	if (!err)
		reg_lru_touch(r, r->ed.idx);
	return err;
}
