/* registry.c - the DNS registry: names, their addresses and the containers that resolved them.
 *
 * Layout, sized for 100,000 names in about 20 MiB:
 * - names live in `struct entry` slabs (chunks of ENTRY_CHUNK, indexed by u32), chained in a
 *   name hash table and in a doubly linked LRU list ordered by last sighting (eviction and
 *   prune work from its tail);
 * - each entry owns one malloc'd blob: its address slots, its container slots, then the name
 *   and its CNAME chain as NUL-terminated strings;
 * - container ids are interned once (`struct cid`, u16 index, reference counted by the
 *   container slots that use them);
 * - the explains index is a chained hash table of `struct node` (16 bytes, slabs of
 *   NODE_CHUNK) keyed by (address, container): each node names an entry, the address slot in
 *   it, and when that container last saw that address for that name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"

#define NIL	       UINT32_MAX
#define CNIL	       UINT16_MAX
#define MAX_CIDS       (UINT16_MAX - 1) /* interned container ids */
#define CID_LEN_MAX    255		/* bytes of a container id */
#define NAME_MAX_LEN   (MOAT_DNS_NAME_LEN - 1)
#define ENTRY_SHIFT    10
#define ENTRY_CHUNK    (1u << ENTRY_SHIFT)
#define NODE_SHIFT     12
#define NODE_CHUNK     (1u << NODE_SHIFT)
#define LINE_MAX_BYTES (256 * 1024) /* a longer line in a registry file is a bad entry */

/* The addresses of a name. IPv4 and IPv6 are kept apart so an IPv4 address takes 8 bytes;
 * a slot number is the index into raddr4[], or SLOT_V6 | the index into raddr6[]. Slots never
 * move: a new address appends, one past the bound replaces the least recently seen. */
#define SLOT_V6 0x80
struct raddr4 {
	uint8_t addr[4];
	uint32_t ttl; /* from the latest answer carrying it */
};
struct raddr6 {
	uint8_t addr[16];
	uint32_t ttl;
};

/* One container that resolved a name. */
struct rcont {
	uint16_t cidx; /* interned container id */
	uint16_t pad;
	uint32_t count;	    /* answers seen by this container */
	uint32_t last_seen; /* Unix seconds */
};

struct entry {
	char *blob;	/* raddr4[n4], raddr6[n6], rcont[n_conts], name\0, n_cnames x cname\0 */
	uint32_t hnext; /* name hash chain; free list link when unused */
	uint32_t prev;	/* LRU: towards the head (more recent) */
	uint32_t next;	/* LRU: towards the tail (older) */
	uint32_t first_seen, last_seen, count;
	uint16_t strs_len; /* bytes of the strings, NULs included */
	uint8_t n4, n6, n_conts, n_cnames;
};
_Static_assert(sizeof(struct entry) == 40, "entry stays 40 bytes");

/* (address, container) -> entry index node. */
struct node {
	uint32_t next;	    /* hash chain; free list link when unused */
	uint32_t entry;	    /* entry index */
	uint32_t last_seen; /* when this container last saw this address for this name */
	uint16_t cidx;
	uint8_t slot; /* address slot in the entry */
	uint8_t tag;  /* top byte of the hash, to skip most mismatches without touching the entry */
};
_Static_assert(sizeof(struct node) == 16, "node stays 16 bytes");

struct cid {
	char *id; /* NULL when the slot is free */
	uint32_t refs;
	uint32_t hash;
	uint16_t next; /* hash chain; free list link when unused */
};

struct registry {
	size_t max_entries;
	uint32_t retention;
	uint64_t seed;

	struct entry **echunks;
	size_t n_echunks;
	uint32_t efree;
	size_t n_entries;
	uint32_t *ebuckets;
	size_t ebmask;
	uint32_t lru_head, lru_tail;

	struct node **nchunks;
	size_t n_nchunks;
	uint32_t nfree;
	size_t n_nodes;
	uint32_t *nbuckets;
	size_t nbmask;

	struct cid *cids;
	size_t cid_cap;
	uint16_t cfree;
	uint16_t *cbuckets;
	size_t cbmask;
};

/* ---- hashing ---- */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_bytes(uint64_t seed, const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

static inline uint64_t hash_addr(uint64_t seed, const uint8_t a[16], uint16_t cidx)
{
	uint64_t x, y;

	memcpy(&x, a, 8);
	memcpy(&y, a + 8, 8);
	return mix64(mix64(mix64(x ^ seed) ^ y) ^ cidx);
}

/* ---- addresses and names ---- */

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int addr_canon(int family, const uint8_t *in, uint8_t out[16])
{
	if (family == AF_INET) {
		memcpy(out, v4_prefix, 12);
		memcpy(out + 12, in, 4);
		return 0;
	}
	if (family == AF_INET6) {
		memcpy(out, in, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static const char *addr_str(const uint8_t a[16], char *buf, size_t len)
{
	if (memcmp(a, v4_prefix, 12) == 0)
		return inet_ntop(AF_INET, a + 12, buf, len);
	return inet_ntop(AF_INET6, a, buf, len);
}

/* Parse an IPv4 or IPv6 literal into the canonical form. 0 or -EINVAL. */
static int addr_parse(const char *s, uint8_t out[16])
{
	uint8_t b[16];

	if (inet_pton(AF_INET, s, b) == 1)
		return addr_canon(AF_INET, b, out);
	if (inet_pton(AF_INET6, s, b) == 1)
		return addr_canon(AF_INET6, b, out);
	return -EINVAL;
}

/* Lowercase `in` (A-Z only, like the BPF parser) into out without a trailing dot. Returns the
 * length or -EINVAL (NULL, longer than 255). */
static int name_norm(const char *in, char out[MOAT_DNS_NAME_LEN])
{
	size_t n;

	if (!in)
		return -EINVAL;
	n = strnlen(in, NAME_MAX_LEN + 2);
	if (n > 0 && in[n - 1] == '.')
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

/* Whether something last seen at `seen` with `ttl` still explains at `now`. */
static inline int alive(const struct registry *r, uint32_t seen, uint32_t ttl, int64_t now)
{
	uint32_t window = ttl > r->retention ? ttl : r->retention;

	return (int64_t)seen + window >= now;
}

/* ---- entries ---- */

static inline struct entry *E(const struct registry *r, uint32_t i)
{
	return &r->echunks[i >> ENTRY_SHIFT][i & (ENTRY_CHUNK - 1)];
}

static inline struct raddr4 *e_v4(const struct entry *e)
{
	return (struct raddr4 *)e->blob;
}

static inline struct raddr6 *e_v6(const struct entry *e)
{
	return (struct raddr6 *)(e->blob + e->n4 * sizeof(struct raddr4));
}

static inline struct rcont *e_conts(const struct entry *e)
{
	return (struct rcont *)(e->blob + e->n4 * sizeof(struct raddr4) +
				e->n6 * sizeof(struct raddr6));
}

static inline char *e_name(const struct entry *e)
{
	return (char *)(e_conts(e) + e->n_conts);
}

static inline unsigned e_naddrs(const struct entry *e)
{
	return e->n4 + (unsigned)e->n6;
}

/* The slot of the k-th address, IPv4 first. */
static inline uint8_t e_slot(const struct entry *e, unsigned k)
{
	return k < e->n4 ? (uint8_t)k : (uint8_t)(SLOT_V6 | (k - e->n4));
}

/* The canonical address in slot. */
static inline void slot_addr(const struct entry *e, uint8_t slot, uint8_t out[16])
{
	if (slot & SLOT_V6) {
		memcpy(out, e_v6(e)[slot & ~SLOT_V6].addr, 16);
	} else {
		memcpy(out, v4_prefix, 12);
		memcpy(out + 12, e_v4(e)[slot].addr, 4);
	}
}

static inline uint32_t *slot_ttl(const struct entry *e, uint8_t slot)
{
	return (slot & SLOT_V6) ? &e_v6(e)[slot & ~SLOT_V6].ttl : &e_v4(e)[slot].ttl;
}

/* Whether slot holds canonical address a. */
static inline int slot_is(const struct entry *e, uint8_t slot, const uint8_t a[16])
{
	if (slot & SLOT_V6)
		return memcmp(e_v6(e)[slot & ~SLOT_V6].addr, a, 16) == 0;
	return memcmp(a, v4_prefix, 12) == 0 && memcmp(e_v4(e)[slot].addr, a + 12, 4) == 0;
}

static uint64_t hash_slot(const struct registry *r, const struct entry *e, uint8_t slot,
			  uint16_t cidx)
{
	uint8_t a[16];

	slot_addr(e, slot, a);
	return hash_addr(r->seed, a, cidx);
}

static uint32_t hash_name(const struct registry *r, const char *name, size_t len)
{
	return (uint32_t)hash_bytes(r->seed, name, len);
}

static inline struct node *N(const struct registry *r, uint32_t i)
{
	return &r->nchunks[i >> NODE_SHIFT][i & (NODE_CHUNK - 1)];
}

/* ---- container ids ---- */

static uint16_t cid_find(const struct registry *r, const char *id, size_t len, uint32_t h)
{
	for (uint16_t c = r->cbuckets[h & r->cbmask]; c != CNIL; c = r->cids[c].next)
		if (r->cids[c].hash == h && strncmp(r->cids[c].id, id, len + 1) == 0)
			return c;
	return CNIL;
}

static int cid_grow(struct registry *r)
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

/* The index of container id `id` (interned if new), with one reference taken for the caller
 * (drop it with cid_unref). -EINVAL, -ENOMEM or -ENOSPC. */
static int cid_get(struct registry *r, const char *id)
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
	if (r->cfree == CNIL && (err = cid_grow(r)))
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

/* Drop a reference; the id is forgotten with its last one. */
static void cid_unref(struct registry *r, uint16_t c)
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

/* ---- the (address, container) index ---- */

static int node_buckets_grow(struct registry *r)
{
	size_t nb = (r->nbmask + 1) * 2;
	uint32_t *bs = malloc(nb * sizeof(*bs));

	if (!bs)
		return -ENOMEM;
	for (size_t i = 0; i < nb; i++)
		bs[i] = NIL;
	for (size_t b = 0; b <= r->nbmask; b++) {
		uint32_t i = r->nbuckets[b], next;

		for (; i != NIL; i = next) {
			struct node *n = N(r, i);
			uint64_t h = hash_slot(r, E(r, n->entry), n->slot, n->cidx);

			next = n->next;
			n->next = bs[h & (nb - 1)];
			bs[h & (nb - 1)] = i;
		}
	}
	free(r->nbuckets);
	r->nbuckets = bs;
	r->nbmask = nb - 1;
	return 0;
}

static uint32_t node_alloc(struct registry *r)
{
	uint32_t i;

	if (r->nfree == NIL) {
		struct node **cs = realloc(r->nchunks, (r->n_nchunks + 1) * sizeof(*cs));
		struct node *c;

		if (!cs)
			return NIL;
		r->nchunks = cs;
		c = malloc(NODE_CHUNK * sizeof(*c));
		if (!c)
			return NIL;
		cs[r->n_nchunks] = c;
		for (uint32_t k = NODE_CHUNK; k-- > 0;) {
			c[k].next = r->nfree;
			r->nfree = (uint32_t)(r->n_nchunks << NODE_SHIFT) + k;
		}
		r->n_nchunks++;
	}
	i = r->nfree;
	r->nfree = N(r, i)->next;
	return i;
}

/* Find the node (entry ei, address slot, container) and unlink it from its chain. Returns
 * its index (still allocated) or NIL. */
static uint32_t node_take(struct registry *r, uint32_t ei, uint8_t slot, uint16_t cidx)
{
	uint64_t h = hash_slot(r, E(r, ei), slot, cidx);
	uint32_t *link = &r->nbuckets[h & r->nbmask];

	for (; *link != NIL; link = &N(r, *link)->next) {
		struct node *n = N(r, *link);

		if (n->entry == ei && n->slot == slot && n->cidx == cidx) {
			uint32_t i = *link;

			*link = n->next;
			return i;
		}
	}
	return NIL;
}

static void node_remove(struct registry *r, uint32_t ei, uint8_t slot, uint16_t cidx)
{
	uint32_t i = node_take(r, ei, slot, cidx);

	if (i == NIL)
		return;
	N(r, i)->next = r->nfree;
	r->nfree = i;
	r->n_nodes--;
}

/* Note that the container cidx saw address `slot` of entry ei at `seen`. The node moves to
 * the head of its chain, so the name seen last wins in registry_explains. 0 or -ENOMEM. */
static int node_touch(struct registry *r, uint32_t ei, uint8_t slot, uint16_t cidx, uint32_t seen)
{
	uint64_t h = hash_slot(r, E(r, ei), slot, cidx);
	uint32_t i = node_take(r, ei, slot, cidx);
	struct node *n;

	if (i == NIL) {
		if (r->n_nodes >= 2 * (r->nbmask + 1))
			node_buckets_grow(r); /* on failure chains just get longer */
		i = node_alloc(r);
		if (i == NIL)
			return -ENOMEM;
		n = N(r, i);
		n->entry = ei;
		n->slot = slot;
		n->cidx = cidx;
		n->tag = (uint8_t)(h >> 56);
		n->last_seen = seen;
		r->n_nodes++;
	} else {
		n = N(r, i);
		if (seen > n->last_seen)
			n->last_seen = seen;
	}
	n->next = r->nbuckets[h & r->nbmask];
	r->nbuckets[h & r->nbmask] = i;
	return 0;
}

static const struct node *node_get(const struct registry *r, uint32_t ei, uint8_t slot,
				   uint16_t cidx)
{
	uint64_t h = hash_slot(r, E(r, ei), slot, cidx);

	for (uint32_t i = r->nbuckets[h & r->nbmask]; i != NIL; i = N(r, i)->next) {
		const struct node *n = N(r, i);

		if (n->entry == ei && n->slot == slot && n->cidx == cidx)
			return n;
	}
	return NULL;
}

/* ---- entry lifecycle ---- */

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

static void lru_touch(struct registry *r, uint32_t i)
{
	if (r->lru_head == i)
		return;
	lru_unlink(r, i);
	lru_push_head(r, i);
}

static uint32_t entry_find(const struct registry *r, const char *name, size_t len, uint32_t h)
{
	for (uint32_t i = r->ebuckets[h & r->ebmask]; i != NIL; i = E(r, i)->hnext) {
		const struct entry *e = E(r, i);

		if (strncmp(e_name(e), name, len + 1) == 0)
			return i;
	}
	return NIL;
}

/* Unlink entry i from everything, free its blob and its index nodes. */
static void entry_remove(struct registry *r, uint32_t i)
{
	struct entry *e = E(r, i);
	uint32_t *link, h;

	for (unsigned c = 0; c < e->n_conts; c++) {
		uint16_t cidx = e_conts(e)[c].cidx;

		for (unsigned k = 0; k < e_naddrs(e); k++)
			node_remove(r, i, e_slot(e, k), cidx);
		cid_unref(r, cidx);
	}
	h = hash_name(r, e_name(e), strlen(e_name(e)));
	for (link = &r->ebuckets[h & r->ebmask]; *link != i; link = &E(r, *link)->hnext)
		;
	*link = e->hnext;
	lru_unlink(r, i);
	free(e->blob);
	e->blob = NULL;
	e->hnext = r->efree;
	r->efree = i;
	r->n_entries--;
}

static int entry_buckets_grow(struct registry *r)
{
	size_t nb = (r->ebmask + 1) * 2;
	uint32_t *bs = malloc(nb * sizeof(*bs));

	if (!bs)
		return -ENOMEM;
	for (size_t i = 0; i < nb; i++)
		bs[i] = NIL;
	for (uint32_t i = r->lru_head; i != NIL; i = E(r, i)->next) {
		struct entry *e = E(r, i);
		uint32_t h = hash_name(r, e_name(e), strlen(e_name(e)));

		e->hnext = bs[h & (nb - 1)];
		bs[h & (nb - 1)] = i;
	}
	free(r->ebuckets);
	r->ebuckets = bs;
	r->ebmask = nb - 1;
	return 0;
}

/* The entry for normalized `name`, created (most recent, evicting the least recent one at
 * max_entries) when missing. NIL + errno on failure. */
static uint32_t entry_get(struct registry *r, const char *name, size_t len, int64_t now)
{
	uint32_t h = hash_name(r, name, len), i;
	struct entry *e;

	i = entry_find(r, name, len, h);
	if (i != NIL)
		return i;
	if (r->n_entries >= r->max_entries && r->lru_tail != NIL)
		entry_remove(r, r->lru_tail);
	if (r->n_entries >= r->ebmask + 1)
		entry_buckets_grow(r); /* on failure chains just get longer */
	if (r->efree == NIL) {
		struct entry **cs = realloc(r->echunks, (r->n_echunks + 1) * sizeof(*cs));
		struct entry *c;

		if (!cs)
			goto nomem;
		r->echunks = cs;
		c = calloc(ENTRY_CHUNK, sizeof(*c));
		if (!c)
			goto nomem;
		cs[r->n_echunks] = c;
		for (uint32_t k = ENTRY_CHUNK; k-- > 0;) {
			c[k].hnext = r->efree;
			r->efree = (uint32_t)(r->n_echunks << ENTRY_SHIFT) + k;
		}
		r->n_echunks++;
	}
	i = r->efree;
	e = E(r, i);
	e->blob = malloc(len + 1);
	if (!e->blob)
		goto nomem;
	r->efree = e->hnext;
	memcpy(e->blob, name, len + 1);
	e->strs_len = (uint16_t)(len + 1);
	e->n4 = e->n6 = e->n_conts = e->n_cnames = 0;
	e->first_seen = e->last_seen = clamp_time(now);
	e->count = 0;
	e->hnext = r->ebuckets[h & r->ebmask];
	r->ebuckets[h & r->ebmask] = i;
	lru_push_head(r, i);
	r->n_entries++;
	return i;
nomem:
	errno = ENOMEM;
	return NIL;
}

/* Rebuild entry i's blob for n4 + n6 address slots and nc container slots (at least the
 * current counts; new slots are zeroed), with new strings `strs` (name + n_cnames CNAMEs) or
 * the old ones when strs is NULL. 0 or -ENOMEM (entry unchanged). */
static int entry_reshape(struct registry *r, uint32_t i, unsigned n4, unsigned n6, unsigned nc,
			 const char *strs, size_t strs_len, unsigned n_cnames)
{
	struct entry *e = E(r, i);
	size_t sz4 = n4 * sizeof(struct raddr4), sz6 = n6 * sizeof(struct raddr6),
	       szc = nc * sizeof(struct rcont);
	char *b;

	if (!strs) {
		strs = e_name(e);
		strs_len = e->strs_len;
		n_cnames = e->n_cnames;
	}
	b = malloc(sz4 + sz6 + szc + strs_len);
	if (!b)
		return -ENOMEM;
	memset(b, 0, sz4 + sz6 + szc);
	memcpy(b, e_v4(e), e->n4 * sizeof(struct raddr4));
	memcpy(b + sz4, e_v6(e), e->n6 * sizeof(struct raddr6));
	memcpy(b + sz4 + sz6, e_conts(e), e->n_conts * sizeof(struct rcont));
	memcpy(b + sz4 + sz6 + szc, strs, strs_len);
	free(e->blob);
	e->blob = b;
	e->n4 = (uint8_t)n4;
	e->n6 = (uint8_t)n6;
	e->n_conts = (uint8_t)nc;
	e->strs_len = (uint16_t)strs_len;
	e->n_cnames = (uint8_t)n_cnames;
	return 0;
}

/* Replace entry i's name + CNAME chain when it differs. 0 or -ENOMEM. */
static int entry_set_strs(struct registry *r, uint32_t i, const char *strs, size_t strs_len,
			  unsigned n_cnames)
{
	struct entry *e = E(r, i);

	if (e->strs_len == strs_len && e->n_cnames == n_cnames &&
	    memcmp(e_name(e), strs, strs_len) == 0)
		return 0;
	return entry_reshape(r, i, e->n4, e->n6, e->n_conts, strs, strs_len, n_cnames);
}

/* When any container last saw the address in slot of entry i (0 if none did). */
static uint32_t slot_last_seen(const struct registry *r, uint32_t i, uint8_t slot)
{
	const struct entry *e = E(r, i);
	uint32_t t = 0;

	for (unsigned c = 0; c < e->n_conts; c++) {
		const struct node *n = node_get(r, i, slot, e_conts(e)[c].cidx);

		if (n && n->last_seen > t)
			t = n->last_seen;
	}
	return t;
}

/* The slot of canonical address a in entry i, added when missing with TTL 0 (replacing the
 * least recently seen address of its family, and its index nodes, at REGISTRY_MAX_ADDRS).
 * Slot number or -ENOMEM. */
static int entry_addr_slot(struct registry *r, uint32_t i, const uint8_t a[16])
{
	struct entry *e = E(r, i);
	int v6 = memcmp(a, v4_prefix, 12) != 0;
	unsigned n = v6 ? e->n6 : e->n4, k, oldest = 0;
	uint32_t oldest_t = UINT32_MAX;
	uint8_t slot;

	for (k = 0; k < n; k++) {
		slot = (uint8_t)(v6 ? (SLOT_V6 | k) : k);
		if (slot_is(e, slot, a))
			return slot;
	}
	if (n < REGISTRY_MAX_ADDRS) {
		if (entry_reshape(r, i, e->n4 + !v6, e->n6 + v6, e->n_conts, NULL, 0, 0))
			return -ENOMEM;
		slot = (uint8_t)(v6 ? (SLOT_V6 | n) : n);
	} else {
		for (k = 0; k < n; k++) {
			uint32_t t = slot_last_seen(r, i, (uint8_t)(v6 ? (SLOT_V6 | k) : k));

			if (t < oldest_t) {
				oldest_t = t;
				oldest = k;
			}
		}
		slot = (uint8_t)(v6 ? (SLOT_V6 | oldest) : oldest);
		for (unsigned c = 0; c < e->n_conts; c++)
			node_remove(r, i, slot, e_conts(e)[c].cidx);
	}
	if (v6)
		memcpy(e_v6(e)[slot & ~SLOT_V6].addr, a, 16);
	else
		memcpy(e_v4(e)[slot].addr, a + 12, 4);
	*slot_ttl(e, slot) = 0;
	return slot;
}

/* The slot of container cidx in entry i, added when missing (replacing the least recently
 * seen container, and its index nodes, at REGISTRY_MAX_CONTAINERS). Slot or -ENOMEM. */
static int entry_cont_slot(struct registry *r, uint32_t i, uint16_t cidx, uint32_t seen)
{
	struct entry *e = E(r, i);
	struct rcont *cs = e_conts(e);
	unsigned s, oldest = 0;

	for (s = 0; s < e->n_conts; s++) {
		if (cs[s].cidx == cidx)
			return (int)s;
		if (cs[s].last_seen < cs[oldest].last_seen)
			oldest = s;
	}
	if (e->n_conts < REGISTRY_MAX_CONTAINERS) {
		if (entry_reshape(r, i, e->n4, e->n6, e->n_conts + 1u, NULL, 0, 0))
			return -ENOMEM;
	} else {
		s = oldest;
		for (unsigned k = 0; k < e_naddrs(e); k++)
			node_remove(r, i, e_slot(e, k), cs[s].cidx);
		cid_unref(r, cs[s].cidx);
	}
	cs = e_conts(e);
	cs[s].cidx = cidx;
	cs[s].count = 0;
	cs[s].last_seen = seen;
	r->cids[cidx].refs++;
	return (int)s;
}

/* Record one sighting of name (normalized; strs = name + CNAMEs, or NULL to keep them) with
 * canonical addresses as/ttls by container cidx at t. 0 or -errno. */
static int observe(struct registry *r, const char *name, size_t len, const char *strs,
		   size_t strs_len, unsigned n_cnames, uint8_t (*as)[16], const uint32_t *ttls,
		   int n, uint16_t cidx, uint32_t t)
{
	uint32_t i = entry_get(r, name, len, t);
	struct entry *e;
	int cs, err;

	if (i == NIL)
		return -errno;
	if (strs && (err = entry_set_strs(r, i, strs, strs_len, n_cnames)))
		return err;
	cs = entry_cont_slot(r, i, cidx, t);
	if (cs < 0)
		return cs;
	for (int k = 0; k < n; k++) {
		int s = entry_addr_slot(r, i, as[k]);

		if (s < 0)
			return s;
		*slot_ttl(E(r, i), (uint8_t)s) = ttls[k];
		if ((err = node_touch(r, i, (uint8_t)s, cidx, t)))
			return err;
	}
	e = E(r, i);
	e_conts(e)[cs].count++;
	if (t > e_conts(e)[cs].last_seen)
		e_conts(e)[cs].last_seen = t;
	e->count++;
	if (t > e->last_seen)
		e->last_seen = t;
	lru_touch(r, i);
	return 0;
}

/* ---- public API ---- */

struct registry *registry_new(size_t max_entries, uint32_t retention_s)
{
	struct registry *r = calloc(1, sizeof(*r));
	size_t nb = 1024;

	if (!r)
		return NULL;
	r->max_entries = max_entries ? max_entries : REGISTRY_DEFAULT_MAX_ENTRIES;
	r->retention = retention_s ? retention_s : REGISTRY_DEFAULT_RETENTION;
	if (getrandom(&r->seed, sizeof(r->seed), GRND_NONBLOCK) != sizeof(r->seed))
		r->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	r->efree = r->nfree = NIL;
	r->lru_head = r->lru_tail = NIL;
	r->cfree = CNIL;
	r->ebuckets = malloc(nb * sizeof(uint32_t));
	r->nbuckets = malloc(nb * sizeof(uint32_t));
	if (!r->ebuckets || !r->nbuckets || cid_grow(r)) {
		registry_free(r);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < nb; i++)
		r->ebuckets[i] = r->nbuckets[i] = NIL;
	r->ebmask = r->nbmask = nb - 1;
	return r;
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	for (uint32_t i = r->lru_head; i != NIL; i = E(r, i)->next)
		free(E(r, i)->blob);
	for (size_t c = 0; c < r->n_echunks; c++)
		free(r->echunks[c]);
	for (size_t c = 0; c < r->n_nchunks; c++)
		free(r->nchunks[c]);
	for (size_t c = 0; c < r->cid_cap; c++)
		free(r->cids[c].id);
	free(r->echunks);
	free(r->nchunks);
	free(r->cids);
	free(r->cbuckets);
	free(r->ebuckets);
	free(r->nbuckets);
	free(r);
}

int registry_record(struct registry *r, const char *qname, const char *const *cnames, int n_cnames,
		    const struct registry_addr *addrs, int n_addrs, const char *container,
		    int64_t now)
{
	char strs[MOAT_DNS_NAME_LEN * (REGISTRY_MAX_CNAMES + 1)];
	uint8_t as[REGISTRY_MAX_ADDRS][16];
	uint32_t ttls[REGISTRY_MAX_ADDRS], t = clamp_time(now);
	size_t qlen, len = 0, last = 0, last_len = 0;
	int n = 0, cid, err = 0, nc = 0;

	if (!r || n_addrs < 0 || n_cnames < 0 || (n_addrs && !addrs) || (n_cnames && !cnames))
		return -EINVAL;
	err = name_norm(qname, strs);
	if (err < 0)
		return err;
	qlen = (size_t)err;
	len = qlen + 1;
	for (int k = 0; k < n_cnames && nc < REGISTRY_MAX_CNAMES; k++, nc++) {
		err = name_norm(cnames[k], strs + len);
		if (err < 0)
			return err;
		last = len;
		last_len = (size_t)err;
		len += (size_t)err + 1;
	}
	/* The target of a chain longer than we keep is still the last CNAME given. */
	if (n_cnames > REGISTRY_MAX_CNAMES) {
		char tgt[MOAT_DNS_NAME_LEN];

		err = name_norm(cnames[n_cnames - 1], tgt);
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
	cid = cid_get(r, container);
	if (cid < 0)
		return cid;
	err = 0;
	/* The CNAME target first, so the asked name's nodes end up first in their chains. */
	if (nc && (last_len != qlen || memcmp(strs + last, strs, qlen) != 0))
		err = observe(r, strs + last, last_len, NULL, 0, 0, as, ttls, n, (uint16_t)cid, t);
	if (!err)
		err =
		    observe(r, strs, qlen, strs, len, (unsigned)nc, as, ttls, n, (uint16_t)cid, t);
	cid_unref(r, (uint16_t)cid);
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
	uint8_t a[16];
	size_t len;
	uint64_t h;
	uint16_t c;
	uint8_t tag;

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
	h = hash_addr(r->seed, a, c);
	tag = (uint8_t)(h >> 56);
	for (uint32_t i = r->nbuckets[h & r->nbmask]; i != NIL;) {
		const struct node *n = N(r, i);

		if (n->tag == tag && n->cidx == c) {
			const struct entry *e = E(r, n->entry);

			if (slot_is(e, n->slot, a) &&
			    alive(r, n->last_seen, *slot_ttl(e, n->slot), now))
				return e_name(e);
		}
		i = n->next;
	}
	return NULL;
}

size_t registry_count(const struct registry *r)
{
	return r ? r->n_entries : 0;
}

size_t registry_addr_count(const struct registry *r)
{
	return r ? r->n_nodes : 0;
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
		const struct entry *e = E(r, i);
		uint32_t ttl = 0;

		prev = e->prev;
		if (alive(r, e->last_seen, 0, now))
			break;
		for (unsigned k = 0; k < e_naddrs(e); k++)
			if (*slot_ttl(e, e_slot(e, k)) > ttl)
				ttl = *slot_ttl(e, e_slot(e, k));
		if (alive(r, e->last_seen, ttl, now))
			continue;
		entry_remove(r, i);
		dropped++;
	}
	return dropped;
}

/* ---- JSON ---- */

static int jadd(json_object *o, const char *key, json_object *v)
{
	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int jpush(json_object *a, json_object *v)
{
	if (!v || json_object_array_add(a, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* Entry i as a JSON object (the registry_query format). NULL + errno on ENOMEM. */
static json_object *entry_json(const struct registry *r, uint32_t i)
{
	const struct entry *e = E(r, i);
	json_object *o = json_object_new_object(), *addrs = NULL, *cnames = NULL, *conts = NULL;
	const char *s = e_name(e);
	char buf[INET6_ADDRSTRLEN];
	int err;

	if (!o)
		goto nomem;
	err = jadd(o, "name", json_object_new_string(s));
	err = err ?: jadd(o, "addrs", addrs = json_object_new_array());
	err = err ?: jadd(o, "cnames", cnames = json_object_new_array());
	err = err ?: jadd(o, "first_seen", json_object_new_int64(e->first_seen));
	err = err ?: jadd(o, "last_seen", json_object_new_int64(e->last_seen));
	err = err ?: jadd(o, "count", json_object_new_int64(e->count));
	err = err ?: jadd(o, "containers", conts = json_object_new_array());
	for (unsigned k = 0; k < e_naddrs(e) && !err; k++) {
		uint8_t slot = e_slot(e, k), a[16];
		json_object *ao = json_object_new_object();

		slot_addr(e, slot, a);
		addr_str(a, buf, sizeof(buf));
		err = jpush(addrs, ao);
		err = err ?: jadd(ao, "addr", json_object_new_string(buf));
		err = err ?: jadd(ao, "ttl", json_object_new_int64(*slot_ttl(e, slot)));
		err =
		    err ?: jadd(ao, "last_seen", json_object_new_int64(slot_last_seen(r, i, slot)));
	}
	for (unsigned k = 0; k < e->n_cnames && !err; k++) {
		s += strlen(s) + 1;
		err = jpush(cnames, json_object_new_string(s));
	}
	for (unsigned c = 0; c < e->n_conts && !err; c++) {
		const struct rcont *rc = &e_conts(e)[c];
		json_object *co = json_object_new_object(), *seen = NULL;

		err = jpush(conts, co);
		err = err ?: jadd(co, "id", json_object_new_string(r->cids[rc->cidx].id));
		err = err ?: jadd(co, "count", json_object_new_int64(rc->count));
		err = err ?: jadd(co, "last_seen", json_object_new_int64(rc->last_seen));
		err = err ?: jadd(co, "seen", seen = json_object_new_object());
		for (unsigned k = 0; k < e_naddrs(e) && !err; k++) {
			const struct node *n = node_get(r, i, e_slot(e, k), rc->cidx);
			uint8_t a[16];

			if (!n)
				continue;
			slot_addr(e, e_slot(e, k), a);
			addr_str(a, buf, sizeof(buf));
			err = jadd(seen, buf, json_object_new_int64(n->last_seen));
		}
	}
	if (!err)
		return o;
	json_object_put(o);
nomem:
	errno = ENOMEM;
	return NULL;
}

json_object *registry_query(struct registry *r, const char *q, size_t limit)
{
	enum { Q_ALL, Q_NAME, Q_SUFFIX, Q_ADDR } mode = Q_ALL;
	char name[MOAT_DNS_NAME_LEN];
	uint8_t a[16];
	json_object *arr;
	size_t n = 0;
	int len = 0;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	if (q && *q) {
		if (addr_parse(q, a) == 0) {
			mode = Q_ADDR;
		} else if (q[0] == '*' && q[1] == '.') {
			mode = Q_SUFFIX;
			len = name_norm(q + 1, name); /* keeps the leading dot */
		} else {
			mode = Q_NAME;
			len = name_norm(q, name);
		}
		if (len < 0 || (mode != Q_ADDR && len == 0)) {
			errno = EINVAL;
			return NULL;
		}
	}
	arr = json_object_new_array();
	if (!arr) {
		errno = ENOMEM;
		return NULL;
	}
	if (mode == Q_NAME) {
		uint32_t i = entry_find(r, name, (size_t)len,
					(uint32_t)hash_bytes(r->seed, name, (size_t)len));

		if (i != NIL && jpush(arr, entry_json(r, i)))
			goto nomem;
		return arr;
	}
	for (uint32_t i = r->lru_head; i != NIL && (!limit || n < limit); i = E(r, i)->next) {
		const struct entry *e = E(r, i);
		int match = mode == Q_ALL;

		if (mode == Q_SUFFIX) {
			const char *en = e_name(e);
			size_t el = strlen(en);

			match = el > (size_t)len && memcmp(en + el - len, name, (size_t)len) == 0;
		}
		for (unsigned k = 0; mode == Q_ADDR && !match && k < e_naddrs(e); k++)
			match = slot_is(e, e_slot(e, k), a);
		if (!match)
			continue;
		if (jpush(arr, entry_json(r, i)))
			goto nomem;
		n++;
	}
	return arr;
nomem:
	json_object_put(arr);
	errno = ENOMEM;
	return NULL;
}

/* ---- persistence ---- */

static int write_line(FILE *f, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	if (!s || fputs(s, f) == EOF || fputc('\n', f) == EOF)
		return -EIO;
	return 0;
}

int registry_save(struct registry *r, const char *path)
{
	char tmp[4096], dir[4096];
	const char *slash;
	json_object *o = NULL;
	FILE *f = NULL;
	int fd = -1, dfd = -1, err = 0;

	if (!r || !path || !*path)
		return -EINVAL;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		log_warn("registry: cannot create a temp file next to %s: %s", path,
			 strerror(errno));
		return err;
	}
	if (fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
		err = -errno;
		goto cleanup;
	}
	fd = -1;
	o = json_object_new_object();
	if (!o || jadd(o, "moat_registry", json_object_new_int(REGISTRY_FILE_VERSION)) ||
	    jadd(o, "entries", json_object_new_int64((int64_t)r->n_entries))) {
		err = -ENOMEM;
		goto cleanup;
	}
	if ((err = write_line(f, o)))
		goto cleanup;
	json_object_put(o);
	o = NULL;
	for (uint32_t i = r->lru_tail; i != NIL; i = E(r, i)->prev) {
		o = entry_json(r, i);
		if (!o) {
			err = -ENOMEM;
			goto cleanup;
		}
		if ((err = write_line(f, o)))
			goto cleanup;
		json_object_put(o);
		o = NULL;
	}
	if (fflush(f) == EOF || fsync(fileno(f)) < 0) {
		err = -errno;
		goto cleanup;
	}
	if (fclose(f) == EOF) {
		f = NULL;
		err = -errno;
		goto cleanup;
	}
	f = NULL;
	if (rename(tmp, path) < 0) {
		err = -errno;
		goto cleanup;
	}
	tmp[0] = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		err = -errno;
cleanup:
	if (dfd >= 0)
		close(dfd);
	json_object_put(o);
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	if (err)
		log_warn("registry: cannot save %s: %s", path, strerror(-err));
	return err;
}

/* A validated entry of a registry file. */
struct lentry {
	char strs[MOAT_DNS_NAME_LEN * (REGISTRY_MAX_CNAMES + 1)];
	size_t name_len, strs_len;
	unsigned n_cnames, n_addrs, n_conts;
	uint8_t addrs[REGISTRY_MAX_ADDRS][16];
	uint32_t ttl[REGISTRY_MAX_ADDRS], addr_seen[REGISTRY_MAX_ADDRS];
	json_object *conts[REGISTRY_MAX_CONTAINERS];
	uint32_t first_seen, last_seen, count;
};

/* Member `key` of o with type `type` into *out; on failure a message in err. */
static int jfield(json_object *o, const char *key, json_type type, int required, json_object **out,
		  const char *ctx, char *err, size_t errlen)
{
	static const char *const tname[] = {
	    [json_type_null] = "null",	      [json_type_boolean] = "a boolean",
	    [json_type_double] = "a number",  [json_type_int] = "an integer",
	    [json_type_object] = "an object", [json_type_array] = "an array",
	    [json_type_string] = "a string",
	};

	*out = NULL;
	if (!json_object_object_get_ex(o, key, out) || !*out) {
		if (!required)
			return 0;
		snprintf(err, errlen, "field \"%s%s\" is missing", ctx, key);
		return -EINVAL;
	}
	if (!json_object_is_type(*out, type)) {
		snprintf(err, errlen, "field \"%s%s\" is not %s", ctx, key, tname[type]);
		return -EINVAL;
	}
	return 0;
}

static int jtime(json_object *o, const char *key, int required, uint32_t def, uint32_t *out,
		 const char *ctx, char *err, size_t errlen)
{
	json_object *v;
	int64_t x;

	if (jfield(o, key, json_type_int, required, &v, ctx, err, errlen))
		return -EINVAL;
	if (!v) {
		*out = def;
		return 0;
	}
	x = json_object_get_int64(v);
	if (x < 0 || x > UINT32_MAX) {
		snprintf(err, errlen, "field \"%s%s\" is out of range", ctx, key);
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

/* Check one file entry into l. 0 or -EINVAL with the reason in err. */
static int entry_check(json_object *o, struct lentry *l, char *err, size_t errlen)
{
	json_object *v, *arr;
	char ctx[64];
	int n;

	l->n_cnames = l->n_addrs = l->n_conts = 0;
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "not an object");
		return -EINVAL;
	}
	if (jfield(o, "name", json_type_string, 1, &v, "", err, errlen))
		return -EINVAL;
	n = name_norm(json_object_get_string(v), l->strs);
	if (n < 0) {
		snprintf(err, errlen, "field \"name\" is longer than 255 bytes");
		return -EINVAL;
	}
	l->name_len = (size_t)n;
	l->strs_len = (size_t)n + 1;
	if (jtime(o, "first_seen", 1, 0, &l->first_seen, "", err, errlen) ||
	    jtime(o, "last_seen", 1, 0, &l->last_seen, "", err, errlen) ||
	    jtime(o, "count", 0, 1, &l->count, "", err, errlen))
		return -EINVAL;
	if (jfield(o, "cnames", json_type_array, 0, &arr, "", err, errlen))
		return -EINVAL;
	for (size_t k = 0; arr && k < json_object_array_length(arr); k++) {
		json_object *c = json_object_array_get_idx(arr, k);

		if (l->n_cnames == REGISTRY_MAX_CNAMES)
			break;
		if (!json_object_is_type(c, json_type_string) ||
		    (n = name_norm(json_object_get_string(c), l->strs + l->strs_len)) < 0) {
			snprintf(err, errlen, "field \"cnames[%zu]\" is not a name", k);
			return -EINVAL;
		}
		l->strs_len += (size_t)n + 1;
		l->n_cnames++;
	}
	if (jfield(o, "addrs", json_type_array, 1, &arr, "", err, errlen))
		return -EINVAL;
	for (size_t k = 0; k < json_object_array_length(arr); k++) {
		json_object *ao = json_object_array_get_idx(arr, k);
		unsigned s = l->n_addrs;

		snprintf(ctx, sizeof(ctx), "addrs[%zu].", k);
		if (!json_object_is_type(ao, json_type_object)) {
			snprintf(err, errlen, "field \"addrs[%zu]\" is not an object", k);
			return -EINVAL;
		}
		if (jfield(ao, "addr", json_type_string, 1, &v, ctx, err, errlen))
			return -EINVAL;
		if (s == REGISTRY_MAX_ADDRS)
			break;
		if (addr_parse(json_object_get_string(v), l->addrs[s])) {
			snprintf(err, errlen, "field \"%saddr\" is not an IP address", ctx);
			return -EINVAL;
		}
		if (jtime(ao, "ttl", 1, 0, &l->ttl[s], ctx, err, errlen) ||
		    jtime(ao, "last_seen", 0, l->last_seen, &l->addr_seen[s], ctx, err, errlen))
			return -EINVAL;
		l->n_addrs++;
	}
	if (jfield(o, "containers", json_type_array, 1, &arr, "", err, errlen))
		return -EINVAL;
	for (size_t k = 0; k < json_object_array_length(arr); k++) {
		json_object *co = json_object_array_get_idx(arr, k), *seen;
		uint32_t dummy;

		snprintf(ctx, sizeof(ctx), "containers[%zu].", k);
		if (!json_object_is_type(co, json_type_object)) {
			snprintf(err, errlen, "field \"containers[%zu]\" is not an object", k);
			return -EINVAL;
		}
		if (jfield(co, "id", json_type_string, 1, &v, ctx, err, errlen) ||
		    jtime(co, "count", 1, 0, &dummy, ctx, err, errlen) ||
		    jtime(co, "last_seen", 0, 0, &dummy, ctx, err, errlen) ||
		    jfield(co, "seen", json_type_object, 0, &seen, ctx, err, errlen))
			return -EINVAL;
		if (json_object_get_string_len(v) > CID_LEN_MAX) {
			snprintf(err, errlen, "field \"%sid\" is longer than %d bytes", ctx,
				 CID_LEN_MAX);
			return -EINVAL;
		}
		if (seen) {
			json_object_object_foreach(seen, key, val)
			{
				uint8_t a[16];
				unsigned s;

				if (addr_parse(key, a) ||
				    !json_object_is_type(val, json_type_int)) {
					snprintf(err, errlen,
						 "field \"%sseen\" has a bad member \"%s\"", ctx,
						 key);
					return -EINVAL;
				}
				for (s = 0; s < l->n_addrs && memcmp(l->addrs[s], a, 16); s++)
					;
				if (s == l->n_addrs) {
					snprintf(
					    err, errlen,
					    "field \"%sseen\" names %s, which is not in \"addrs\"",
					    ctx, key);
					return -EINVAL;
				}
			}
		}
		if (l->n_conts < REGISTRY_MAX_CONTAINERS)
			l->conts[l->n_conts++] = co;
	}
	return 0;
}

/* Merge a checked entry into r, without what is expired at now. Returns 1 when loaded, 0
 * when expired, -errno. */
static int entry_merge(struct registry *r, const struct lentry *l, int64_t now)
{
	uint32_t maxttl = 0, i;
	struct entry *e;
	int slots[REGISTRY_MAX_ADDRS];
	int err;

	for (unsigned a = 0; a < l->n_addrs; a++)
		if (l->ttl[a] > maxttl)
			maxttl = l->ttl[a];
	if (!l->n_addrs || !l->n_conts || !alive(r, l->last_seen, maxttl, now))
		return 0;
	i = entry_get(r, l->strs, l->name_len, l->first_seen);
	if (i == NIL)
		return -errno;
	if ((err = entry_set_strs(r, i, l->strs, l->strs_len, l->n_cnames)))
		return err;
	for (unsigned a = 0; a < l->n_addrs; a++) {
		slots[a] = entry_addr_slot(r, i, l->addrs[a]);
		if (slots[a] < 0)
			return slots[a];
		*slot_ttl(E(r, i), (uint8_t)slots[a]) = l->ttl[a];
	}
	for (unsigned c = 0; c < l->n_conts; c++) {
		json_object *co = l->conts[c], *v, *seen = NULL;
		uint32_t cseen = l->last_seen, ccount;
		struct rcont *rc;
		int cid, cs;

		json_object_object_get_ex(co, "id", &v);
		cid = cid_get(r, json_object_get_string(v));
		if (cid < 0)
			return cid;
		if (json_object_object_get_ex(co, "last_seen", &v))
			cseen = (uint32_t)json_object_get_int64(v);
		json_object_object_get_ex(co, "count", &v);
		ccount = (uint32_t)json_object_get_int64(v);
		json_object_object_get_ex(co, "seen", &seen);
		cs = entry_cont_slot(r, i, (uint16_t)cid, cseen);
		cid_unref(r, (uint16_t)cid); /* the slot holds its own reference */
		if (cs < 0)
			return cs;
		rc = &e_conts(E(r, i))[cs];
		rc->count += ccount;
		if (cseen > rc->last_seen)
			rc->last_seen = cseen;
		for (unsigned a = 0; a < l->n_addrs; a++) {
			uint32_t t;
			char buf[INET6_ADDRSTRLEN];

			/* Without "seen", every address as of the older of the two sightings. */
			t = cseen < l->addr_seen[a] ? cseen : l->addr_seen[a];
			if (seen) {
				if (!json_object_object_get_ex(
					seen, addr_str(l->addrs[a], buf, sizeof(buf)), &v))
					continue;
				t = (uint32_t)json_object_get_int64(v);
			}
			/* A later address of this entry may have taken the slot (over the bound).
			 */
			if (!alive(r, t, l->ttl[a], now) ||
			    !slot_is(E(r, i), (uint8_t)slots[a], l->addrs[a]))
				continue;
			if ((err = node_touch(r, i, (uint8_t)slots[a], (uint16_t)cid, t)))
				return err;
		}
	}
	e = E(r, i);
	if (l->first_seen < e->first_seen)
		e->first_seen = l->first_seen;
	if (l->last_seen > e->last_seen)
		e->last_seen = l->last_seen;
	e->count += l->count;
	lru_touch(r, i);
	return 1;
}

int registry_load(struct registry *r, const char *path, int64_t now)
{
	size_t cap = 0, entry = 0, loaded = 0, bad = 0, expired = 0;
	struct lentry *l = NULL;
	json_object *o = NULL, *v;
	char *line = NULL, why[320];
	ssize_t n;
	FILE *f;
	int err = 0;

	if (!r || !path)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		log_warn("%s: cannot open the DNS registry: %s", path, strerror(errno));
		return err;
	}
	n = getline(&line, &cap, f);
	if (n > 0)
		o = json_tokener_parse(line);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "moat_registry", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		log_warn("%s: not a moat DNS registry file (line 1 is not a JSON object with "
			 "\"moat_registry\"); ignoring it",
			 path);
		err = -EINVAL;
		goto cleanup;
	}
	if (json_object_get_int(v) != REGISTRY_FILE_VERSION) {
		log_warn("%s: DNS registry file version %d, this moat reads %d; ignoring it", path,
			 json_object_get_int(v), REGISTRY_FILE_VERSION);
		err = -ENOTSUP;
		goto cleanup;
	}
	json_object_put(o);
	o = NULL;
	l = malloc(sizeof(*l));
	if (!l) {
		err = -ENOMEM;
		goto cleanup;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		int rc;

		if (line[0] == '\n')
			continue;
		entry++;
		if (n > LINE_MAX_BYTES) {
			log_warn("%s: entry %zu: longer than %d bytes; skipped", path, entry,
				 LINE_MAX_BYTES);
			bad++;
			continue;
		}
		o = json_tokener_parse(line);
		if (!o) {
			log_warn("%s: entry %zu: not valid JSON; skipped", path, entry);
			bad++;
			continue;
		}
		if (entry_check(o, l, why, sizeof(why))) {
			log_warn("%s: entry %zu: %s; skipped", path, entry, why);
			bad++;
		} else if ((rc = entry_merge(r, l, now)) < 0) {
			err = rc;
			log_warn("%s: entry %zu: %s", path, entry, strerror(-rc));
			goto cleanup;
		} else if (rc == 0) {
			expired++;
		} else {
			loaded++;
		}
		json_object_put(o);
		o = NULL;
	}
	if (ferror(f)) {
		err = -EIO;
		log_warn("%s: read error after entry %zu", path, entry);
	}
	log_debug("%s: %zu names loaded, %zu expired, %zu bad", path, loaded, expired, bad);
cleanup:
	json_object_put(o);
	free(l);
	free(line);
	fclose(f);
	return err;
}
