/* registry_arena.c - the registry's records: their layout decoded and encoded, carved from
 * 64 KiB pages by size class, and compacted after a prune (registry_int.h). */
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"

/* Put record h of size class c on its class's free list (its first 4 bytes link it). */
static void arena_put(struct registry *r, uint32_t h, unsigned c)
{
	memcpy(A(r, h), &r->afree[c], sizeof(uint32_t));
	r->afree[c] = h;
	r->free_bytes += class_bytes(c);
}

/* Start a new page; what is left of the last one goes to the free list of the largest class
 * it holds. 0 or -ENOMEM. */
static int arena_page(struct registry *r)
{
	char **ps;
	char *p;

	if (r->n_pages == MAX_PAGES)
		return -ENOMEM;
	ps = realloc(r->pages, (r->n_pages + 1) * sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	r->pages = ps;
	p = malloc(PAGE_BYTES);
	if (!p)
		return -ENOMEM;
	if (r->n_pages && r->top < PAGE_UNITS) {
		size_t left = (size_t)(PAGE_UNITS - r->top) * 4;
		unsigned c =
		    left <= 1024 ? (unsigned)(left / 4) : 256 + (unsigned)((left - 1024) / 64);

		arena_put(r, (r->n_pages - 1) << UNIT_SHIFT | r->top, c);
	}
	ps[r->n_pages++] = p;
	r->top = r->n_pages == 1 ? 1 : 0; /* handle 0 stays unused */
	return 0;
}

uint32_t reg_arena_alloc(struct registry *r, size_t bytes)
{
	unsigned c = CLASS_OF(bytes);
	uint32_t h = r->afree[c], units = (uint32_t)(class_bytes(c) / 4);

	if (h) {
		memcpy(&r->afree[c], A(r, h), sizeof(uint32_t));
		r->free_bytes -= class_bytes(c);
		return h;
	}
	if ((!r->n_pages || r->top + units > PAGE_UNITS) && arena_page(r))
		return 0;
	h = (r->n_pages - 1) << UNIT_SHIFT | r->top;
	r->top += units;
	return h;
}

void reg_arena_free(struct registry *r, uint32_t h, size_t bytes)
{
	arena_put(r, h, CLASS_OF(bytes));
}

static size_t view_strs_len(const struct view *v)
{
	const char *s = v->strs;

	for (unsigned k = 0; k <= v->ncn; k++)
		s += strlen(s) + 1;
	return (size_t)(s - v->strs);
}

size_t reg_view_size(const struct view *v)
{
	return (size_t)((const uint8_t *)v->strs - v->b) + view_strs_len(v);
}

void reg_decode(const struct registry *r, uint32_t blob, struct dentry *d)
{
	struct view v;

	view_at(&v, A(r, blob));
	d->first_seen = v.first_seen;
	d->last_seen = v_last_seen(&v);
	d->count = v_count(&v);
	d->n4 = v.n4;
	d->n6 = v.n6;
	d->nc = v.nc;
	d->ncn = v.ncn;
	memcpy(d->a4, v.a4, v.n4 * sizeof(struct raddr4));
	memcpy(d->a6, v.a6, v.n6 * sizeof(struct raddr6));
	memcpy(d->cidx, v.cidx, v.nc * sizeof(uint16_t));
	memcpy(d->ccount, v.ccount, v.nc * sizeof(uint32_t));
	memcpy(d->clast, v.clast, v.nc * sizeof(uint32_t));
	for (unsigned c = 0; c < v.nc; c++) {
		d->seen[c] = 0;
		for (unsigned k = 0; k < v.na; k++) {
			if (!v_seen(&v, c, k))
				continue;
			d->seen[c] |= 1ULL << v_slot(&v, k);
			d->time[c][v_slot(&v, k)] = v_time(&v, c, k);
		}
	}
	d->strs_len = view_strs_len(&v);
	memcpy(d->strs, v.strs, d->strs_len);
}

size_t reg_encoded_size(const struct dentry *d, uint32_t *hdr)
{
	unsigned na = d->n4 + d->n6;
	uint64_t all = ((1ULL << d->n4) - 1) | ((1ULL << d->n6) - 1) << SLOT_V6;
	uint32_t h = d->n4 | d->n6 << 6 | d->nc << 12 | d->ncn << 17 | H_ALLSEEN, last = 0, sum = 0;

	for (unsigned c = 0; c < d->nc; c++) {
		if (d->clast[c] > last)
			last = d->clast[c];
		sum += d->ccount[c];
		if (d->seen[c] != all)
			h &= ~H_ALLSEEN;
		for (uint64_t m = d->seen[c]; m; m &= m - 1)
			if (d->time[c][__builtin_ctzll(m)] != d->clast[c])
				h |= H_TIMES;
	}
	if (!d->nc || last != d->last_seen || sum != d->count)
		h |= H_TOTALS;
	*hdr = h;
	return 8 + ((h & H_TOTALS) ? 8 : 0) + d->n4 * sizeof(struct raddr4) +
	       d->n6 * sizeof(struct raddr6) + d->nc * 8 + ((h & H_TIMES) ? d->nc * na * 4 : 0) +
	       d->nc * 2 + ((h & H_ALLSEEN) ? 0 : (d->nc * na + 7) / 8) + d->strs_len;
}

static inline unsigned d_slot(const struct dentry *d, unsigned k)
{
	return k < d->n4 ? k : (SLOT_V6 | (k - d->n4));
}

void reg_encode(const struct dentry *d, uint32_t hdr, void *blob)
{
	unsigned na = d->n4 + d->n6, nbits = d->nc * na;
	uint8_t *p = blob;

	memcpy(p, &hdr, 4);
	memcpy(p + 4, &d->first_seen, 4);
	p += 8;
	if (hdr & H_TOTALS) {
		memcpy(p, &d->last_seen, 4);
		memcpy(p + 4, &d->count, 4);
		p += 8;
	}
	memcpy(p, d->a4, d->n4 * sizeof(struct raddr4));
	p += d->n4 * sizeof(struct raddr4);
	memcpy(p, d->a6, d->n6 * sizeof(struct raddr6));
	p += d->n6 * sizeof(struct raddr6);
	memcpy(p, d->ccount, d->nc * 4);
	p += d->nc * 4;
	memcpy(p, d->clast, d->nc * 4);
	p += d->nc * 4;
	if (hdr & H_TIMES) {
		for (unsigned c = 0; c < d->nc; c++) {
			for (unsigned k = 0; k < na; k++, p += 4) {
				unsigned s = d_slot(d, k);
				uint32_t t = ((d->seen[c] >> s) & 1) ? d->time[c][s] : 0;

				memcpy(p, &t, 4);
			}
		}
	}
	memcpy(p, d->cidx, d->nc * 2);
	p += d->nc * 2;
	if (!(hdr & H_ALLSEEN)) {
		memset(p, 0, (nbits + 7) / 8);
		for (unsigned c = 0; c < d->nc; c++)
			for (unsigned k = 0; k < na; k++)
				if ((d->seen[c] >> d_slot(d, k)) & 1)
					p[(c * na + k) >> 3] |= (uint8_t)(1u << ((c * na + k) & 7));
		p += (nbits + 7) / 8;
	}
	memcpy(p, d->strs, d->strs_len);
}

void reg_arena_compact(struct registry *r)
{
	size_t total = (size_t)r->n_pages * PAGE_BYTES;
	uint32_t n = 0, top = PAGE_UNITS, i;
	char **pages;

	if (r->free_bytes < COMPACT_MIN || r->free_bytes * 2 < total)
		return;
	for (i = r->lru_head; i != NIL; i = E(r, i)->next) {
		struct view w;
		uint32_t units;

		view_of(r, i, &w);
		units = (uint32_t)(class_bytes(CLASS_OF(reg_view_size(&w))) / 4);
		if (top + units > PAGE_UNITS) {
			n++;
			top = n == 1 ? 1 : 0;
		}
		top += units;
	}
	pages = calloc(n ? n : 1, sizeof(*pages));
	for (uint32_t p = 0; pages && p < n; p++) {
		pages[p] = malloc(PAGE_BYTES);
		if (!pages[p]) {
			while (p-- > 0)
				free(pages[p]);
			free(pages);
			pages = NULL;
		}
	}
	if (!pages)
		return;
	n = 0;
	top = PAGE_UNITS;
	for (i = r->lru_head; i != NIL; i = E(r, i)->next) {
		struct view w;
		size_t size;
		uint32_t units;

		view_of(r, i, &w);
		size = reg_view_size(&w);
		units = (uint32_t)(class_bytes(CLASS_OF(size)) / 4);
		if (top + units > PAGE_UNITS) {
			n++;
			top = n == 1 ? 1 : 0;
		}
		memcpy(pages[n - 1] + (size_t)top * 4, w.b, size);
		E(r, i)->blob = (n - 1) << UNIT_SHIFT | top;
		top += units;
	}
	for (uint32_t p = 0; p < r->n_pages; p++)
		free(r->pages[p]);
	free(r->pages);
	r->pages = pages;
	r->n_pages = n;
	r->top = n ? top : 0;
	r->free_bytes = 0;
	memset(r->afree, 0, sizeof(r->afree));
}
