/* registry_int.h - the DNS registry's store, shared by its files (registry.h is the API).
 *
 * Layout, sized for 100,000 names in about 11 MiB (tools/bench/registry_mem: 110 bytes per
 * name with 2 IPv4 addresses and 1 or 2 containers each):
 * - each name is one variable-size record in an arena (its format is described above H_N4):
 *   counts, first_seen, addresses with TTLs, per container slot its count, last_seen and
 *   interned id, which (container, address) pairs were seen, then the name and its CNAME
 *   chain. What can be derived is not stored: the name's last_seen and count (the max and the
 *   sum over its containers), a pair's time (its container's last_seen), the seen bits (all
 *   set); header flags say when they are stored after all. Changes go through a decoded copy
 *   (reg_edit_begin .. reg_edit_commit);
 * - the arena: 64 KiB pages, a record addressed by a u32 handle, no allocator header, sizes
 *   rounded to 4 bytes, a free list per size; registry_prune compacts it when more than half
 *   of it is free;
 * - names are numbered (u32) by `struct entry` slabs (12 bytes: record handle, LRU links); the
 *   LRU list is ordered by last sighting (eviction and prune work from its tail);
 * - a name table and the explains index are open-addressing tables (linear probing, no
 *   bucket array, no links) of u32 slots: the name table's holds an entry number and hash
 *   bits; the explains index, keyed by (address, container), holds an entry number, the
 *   address and container slots in its record and hash bits (u64 slots when max_entries
 *   needs more than 18 bits). Slots of one key keep the order they were last seen in along
 *   the probe sequence, so registry_explains returns the first live one, in O(1) on average;
 * - container ids are interned once (`struct cid`, u16 index, reference counted by the
 *   container slots that use them).
 *
 * The files: registry.c (the API: lifecycle, recording, registry_explains, the per-container
 * quota, pruning), registry_arena.c (records: their layout, encoding, allocation and
 * compaction), registry_table.c (the open-addressing tables: names, the explains index,
 * container ids), registry_edit.c (entries, the LRU list, changing a name), registry_query.c
 * (entries as JSON, registry_query) and registry_file.c (registry_save, registry_load).
 * Functions of one file that another calls are reg_*; what registry_explains needs is inline
 * here, so a lookup makes no call. Not thread-safe (registry.h).
 */
#ifndef MOAT_REGISTRY_INT_H
#define MOAT_REGISTRY_INT_H

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "registry.h"

#define NIL	       UINT32_MAX
#define CNIL	       UINT16_MAX
#define MAX_CIDS       (UINT16_MAX - 1) /* interned container ids */
#define CID_LEN_MAX    255		/* bytes of a container id */
#define NAME_MAX_LEN   (MOAT_DNS_NAME_LEN - 1)
#define STRS_MAX       (MOAT_DNS_NAME_LEN * (REGISTRY_MAX_CNAMES + 1)) /* name + CNAMEs */
#define ENTRY_SHIFT    10
#define ENTRY_CHUNK    (1u << ENTRY_SHIFT)
#define LINE_MAX_BYTES (256 * 1024) /* a longer line in a registry file is a bad entry */

/* The addresses of a name. IPv4 and IPv6 are kept apart so an IPv4 address takes 8 bytes;
 * an address slot is the index into the IPv4 addresses, or SLOT_V6 | the index into the IPv6
 * ones. Slots never move: a new address appends, one past the bound replaces the least
 * recently seen. */
#define SLOT_V6 32u
#define N_SLOTS 64
_Static_assert(REGISTRY_MAX_ADDRS <= 32, "an address slot is 6 bits");
_Static_assert(REGISTRY_MAX_CONTAINERS <= 16, "a container slot is 4 bits");
_Static_assert(REGISTRY_MAX_CNAMES <= 15, "n_cnames is 4 bits");

struct raddr4 {
	uint8_t addr[4];
	uint32_t ttl; /* from the latest answer carrying it */
};
struct raddr6 {
	uint8_t addr[16];
	uint32_t ttl;
};

/* A name's record (its "blob" in the arena), in this order:
 *   u32 header      n4:6 n6:6 n_conts:5 n_cnames:4, H_TOTALS, H_TIMES, H_ALLSEEN
 *   u32 first_seen
 *   u32 last_seen, u32 count        only with H_TOTALS, else the max and the sum of the
 *                                   containers' (what recording keeps them equal to)
 *   raddr4[n4], raddr6[n6]
 *   u32 ccount[n_conts]             answers seen by each container
 *   u32 clast[n_conts]              when each container last saw the name
 *   u32 times[n_conts][na]          only with H_TIMES: when the container last saw the address,
 *                                   else the container's clast (the usual case: every answer
 *                                   carried all of the name's addresses)
 *   u16 cidx[n_conts]               interned container ids
 *   u8  seen[(n_conts * na + 7) / 8] bit c * na + k: container c saw the k-th address; not
 *                                   stored with H_ALLSEEN (each container saw every address)
 *   name\0, n_cnames x cname\0
 * where na = n4 + n6 and the k-th address is raddr4[k], then raddr6[k - n4]. */
#define H_N4(h)	  (63u & (h))
#define H_N6(h)	  (((h) >> 6) & 63u)
#define H_NC(h)	  (((h) >> 12) & 31u)
#define H_NCN(h)  (((h) >> 17) & 15u)
#define H_TOTALS  (1u << 21)
#define H_TIMES	  (1u << 22)
#define H_ALLSEEN (1u << 23)

/* The record decoded, for changing it: addresses and (container, address) times by slot. */
struct dentry {
	uint32_t first_seen, last_seen, count;
	unsigned n4, n6, nc, ncn;
	size_t strs_len; /* name + CNAMEs, NULs included */
	struct raddr4 a4[REGISTRY_MAX_ADDRS];
	struct raddr6 a6[REGISTRY_MAX_ADDRS];
	uint16_t cidx[REGISTRY_MAX_CONTAINERS];
	uint32_t ccount[REGISTRY_MAX_CONTAINERS], clast[REGISTRY_MAX_CONTAINERS];
	uint64_t seen[REGISTRY_MAX_CONTAINERS]; /* bit: address slot */
	uint32_t time[REGISTRY_MAX_CONTAINERS][N_SLOTS];
	char strs[STRS_MAX];
};

/* A change to one name in progress (edit_begin .. edit_commit). The index and the container id
 * references are updated at the commit from what changed, so a commit that fails changes
 * nothing (edit_begin may have evicted a name already, as recording did before). */
struct edit {
	uint32_t idx;				   /* entry */
	int is_new;				   /* not in the name table or the LRU list yet */
	uint32_t blob0;				   /* its record before the edit, 0 when new */
	unsigned nc0;				   /* containers before the edit */
	uint64_t seen0[REGISTRY_MAX_CONTAINERS];   /* (container, address slot) pairs before */
	uint64_t replaced;			   /* address slots given another address */
	uint32_t creplaced;			   /* container slots given another container */
	uint64_t touched[REGISTRY_MAX_CONTAINERS]; /* pairs seen now: to the front of the index */
	struct dentry d;
};

/* The arena of records: 64 KiB pages carved by bumping, a record addressed by a u32 handle
 * counting 4-byte units (page << UNIT_SHIFT | unit; 0 is no record), freed records kept on a
 * free list per size class. Size classes: every 4 bytes up to 1 KiB, every 64 above. */
#define PAGE_SHIFT  16
#define PAGE_BYTES  (1u << PAGE_SHIFT)
#define PAGE_UNITS  (PAGE_BYTES / 4)
#define UNIT_SHIFT  (PAGE_SHIFT - 2)
#define MAX_PAGES   (1u << (32 - UNIT_SHIFT))
#define COMPACT_MIN (1u << 20) /* free bytes before registry_prune considers compacting */
#define CLASS_OF(n) ((n) <= 1024 ? ((n) + 3) / 4 : 256 + ((n)-1024 + 63) / 64)
#define BLOB_MAX                                                                                   \
	(16 + REGISTRY_MAX_ADDRS * (sizeof(struct raddr4) + sizeof(struct raddr6)) +               \
	 REGISTRY_MAX_CONTAINERS * (10 + N_SLOTS * 4 + N_SLOTS / 8) + STRS_MAX)
#define N_CLASSES (CLASS_OF(BLOB_MAX) + 1)
_Static_assert(BLOB_MAX <= PAGE_BYTES / 2, "a record fits a page");

/* A name: its record and its place in the LRU list. */
struct entry {
	uint32_t blob; /* arena handle; 0 when the entry is unused */
	uint32_t prev; /* LRU: towards the head (more recent) */
	uint32_t next; /* LRU: towards the tail (older); free list link when unused */
};
_Static_assert(sizeof(struct entry) == 12, "entry stays 12 bytes");

/* An open-addressing hash table with linear probing and backward-shift deletion, of u32 (or,
 * when the entry number needs many bits, u64) slots; 0 is an empty slot. A slot holds an
 * entry number + 1 in its low ebits bits and a tag (hash bits) at tag_shift and above; the
 * node table also keeps the address slot (6 bits) and the container slot (4 bits) between.
 * A slot's home is the low 32 bits of its key's hash scaled to the size; the table grows by
 * half when more than 4/5 full. */
struct otab {
	void *s;
	uint32_t size, count;
	unsigned wide;
	unsigned tag_shift;
	uint64_t tag_mask;
};

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
	unsigned ebits; /* bits of an entry number + 1 */
	uint64_t emask;

	struct entry **echunks;
	size_t n_echunks;
	uint32_t efree;
	size_t n_entries;
	uint32_t lru_head, lru_tail;

	struct otab names; /* name -> entry */
	struct otab nodes; /* (address, container) -> entry, address slot, container slot */

	char **pages;
	uint32_t n_pages;
	uint32_t top; /* units used in the last page */
	size_t free_bytes;
	uint32_t afree[N_CLASSES];

	struct cid *cids;
	size_t cid_cap;
	uint16_t cfree;
	uint16_t *cbuckets;
	size_t cbmask;

	struct edit ed;

	uint32_t ct_quota; /* new names one container may add at most (0: no limit) */
	uint64_t refused;  /* names not recorded: their container held its quota */
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

/* Eight bytes a step: names and container ids are hashed on every record and explains. */
static inline uint64_t hash_bytes(uint64_t seed, const char *s, size_t n)
{
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL), x;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&x, s, 8);
		h = (h ^ x) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	x = 0;
	memcpy(&x, s, n);
	return mix64(h ^ x);
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

static inline int addr_canon(int family, const uint8_t *in, uint8_t out[16])
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

/* Whether something last seen at `seen` with `ttl` still explains at `now`. */
static inline int alive(const struct registry *r, uint32_t seen, uint32_t ttl, int64_t now)
{
	uint32_t window = ttl > r->retention ? ttl : r->retention;

	return (int64_t)seen + window >= now;
}

static inline int is_v4(const uint8_t a[16])
{
	return memcmp(a, v4_prefix, 12) == 0;
}

/* ---- the arena and records ---- */

static inline size_t class_bytes(unsigned c)
{
	return c <= 256 ? (size_t)c * 4 : 1024 + (size_t)(c - 256) * 64;
}

static inline void *A(const struct registry *r, uint32_t h)
{
	return r->pages[h >> UNIT_SHIFT] + (size_t)(h & (PAGE_UNITS - 1)) * 4;
}

static inline struct entry *E(const struct registry *r, uint32_t i)
{
	return &r->echunks[i >> ENTRY_SHIFT][i & (ENTRY_CHUNK - 1)];
}

/* A record's fields, located. */
struct view {
	const uint8_t *b;
	unsigned n4, n6, na, nc, ncn;
	uint32_t first_seen;
	const uint8_t *totals; /* last_seen, count; NULL when derived */
	const struct raddr4 *a4;
	const struct raddr6 *a6;
	const uint32_t *ccount, *clast;
	const uint32_t *times; /* NULL when every seen pair has its container's clast */
	const uint16_t *cidx;
	const uint8_t *bits; /* NULL when every pair was seen */
	const char *strs;
};

static inline void view_at(struct view *v, const void *blob)
{
	const uint8_t *p = blob;
	uint32_t h;

	memcpy(&h, p, 4);
	memcpy(&v->first_seen, p + 4, 4);
	v->b = p;
	v->n4 = H_N4(h);
	v->n6 = H_N6(h);
	v->na = v->n4 + v->n6;
	v->nc = H_NC(h);
	v->ncn = H_NCN(h);
	p += 8;
	v->totals = (h & H_TOTALS) ? p : NULL;
	p += (h & H_TOTALS) ? 8 : 0;
	v->a4 = (const struct raddr4 *)p;
	p += v->n4 * sizeof(struct raddr4);
	v->a6 = (const struct raddr6 *)p;
	p += v->n6 * sizeof(struct raddr6);
	v->ccount = (const uint32_t *)p;
	p += v->nc * 4;
	v->clast = (const uint32_t *)p;
	p += v->nc * 4;
	v->times = (h & H_TIMES) ? (const uint32_t *)p : NULL;
	p += (h & H_TIMES) ? v->nc * v->na * 4 : 0;
	v->cidx = (const uint16_t *)p;
	p += v->nc * 2;
	v->bits = (h & H_ALLSEEN) ? NULL : p;
	p += (h & H_ALLSEEN) ? 0 : (v->nc * v->na + 7) / 8;
	v->strs = (const char *)p;
}

static inline void view_of(const struct registry *r, uint32_t i, struct view *v)
{
	view_at(v, A(r, E(r, i)->blob));
}

/* The slot of the k-th address (IPv4 first) and back. */
static inline unsigned v_slot(const struct view *v, unsigned k)
{
	return k < v->n4 ? k : (SLOT_V6 | (k - v->n4));
}

static inline unsigned v_pos(const struct view *v, unsigned slot)
{
	return (slot & SLOT_V6) ? v->n4 + (slot & ~SLOT_V6) : slot;
}

static inline int v_seen(const struct view *v, unsigned c, unsigned k)
{
	unsigned b = c * v->na + k;

	return !v->bits || ((v->bits[b >> 3] >> (b & 7)) & 1);
}

static inline uint32_t v_time(const struct view *v, unsigned c, unsigned k)
{
	return v->times ? v->times[c * v->na + k] : v->clast[c];
}

static inline uint32_t v_ttl(const struct view *v, unsigned k)
{
	return k < v->n4 ? v->a4[k].ttl : v->a6[k - v->n4].ttl;
}

/* The canonical k-th address. */
static inline void v_addr(const struct view *v, unsigned k, uint8_t out[16])
{
	if (k < v->n4) {
		memcpy(out, v4_prefix, 12);
		memcpy(out + 12, v->a4[k].addr, 4);
	} else {
		memcpy(out, v->a6[k - v->n4].addr, 16);
	}
}

/* Whether the k-th address is canonical address a. */
static inline int v_addr_is(const struct view *v, unsigned k, const uint8_t a[16])
{
	if (k < v->n4)
		return is_v4(a) && memcmp(v->a4[k].addr, a + 12, 4) == 0;
	return memcmp(v->a6[k - v->n4].addr, a, 16) == 0;
}

static inline uint32_t v_last_seen(const struct view *v)
{
	uint32_t t = 0;

	if (v->totals) {
		memcpy(&t, v->totals, 4);
		return t;
	}
	for (unsigned c = 0; c < v->nc; c++)
		if (v->clast[c] > t)
			t = v->clast[c];
	return t;
}

static inline uint32_t v_count(const struct view *v)
{
	uint32_t n = 0;

	if (v->totals) {
		memcpy(&n, v->totals + 4, 4);
		return n;
	}
	for (unsigned c = 0; c < v->nc; c++)
		n += v->ccount[c];
	return n;
}

/* When any container last saw the k-th address (0 if none did). */
static inline uint32_t v_addr_last_seen(const struct view *v, unsigned k)
{
	uint32_t t = 0;

	for (unsigned c = 0; c < v->nc; c++)
		if (v_seen(v, c, k) && v_time(v, c, k) > t)
			t = v_time(v, c, k);
	return t;
}

static inline int d_slot_is(const struct dentry *d, unsigned slot, const uint8_t a[16])
{
	if (slot & SLOT_V6)
		return memcmp(d->a6[slot & ~SLOT_V6].addr, a, 16) == 0;
	return is_v4(a) && memcmp(d->a4[slot].addr, a + 12, 4) == 0;
}

static inline void d_addr(const struct dentry *d, unsigned slot, uint8_t out[16])
{
	if (slot & SLOT_V6) {
		memcpy(out, d->a6[slot & ~SLOT_V6].addr, 16);
	} else {
		memcpy(out, v4_prefix, 12);
		memcpy(out + 12, d->a4[slot].addr, 4);
	}
}

static inline uint32_t *d_ttl(struct dentry *d, unsigned slot)
{
	return (slot & SLOT_V6) ? &d->a6[slot & ~SLOT_V6].ttl : &d->a4[slot].ttl;
}

/* ---- open-addressing tables ---- */

typedef uint64_t (*slot_hash_fn)(const struct registry *r, uint64_t v);

static inline uint64_t ot_get(const struct otab *t, uint32_t i)
{
	return t->wide ? ((const uint64_t *)t->s)[i] : ((const uint32_t *)t->s)[i];
}

static inline void ot_set(struct otab *t, uint32_t i, uint64_t v)
{
	if (t->wide)
		((uint64_t *)t->s)[i] = v;
	else
		((uint32_t *)t->s)[i] = (uint32_t)v;
}

static inline uint32_t ot_home(const struct otab *t, uint64_t h)
{
	return (uint32_t)(((h & UINT32_MAX) * t->size) >> 32);
}

static inline uint32_t ot_next(const struct otab *t, uint32_t i)
{
	return i + 1 == t->size ? 0 : i + 1;
}

/* The tag of hash h, as it sits above tag_shift. */
static inline uint64_t ot_tag(const struct otab *t, uint64_t h)
{
	return (h >> 32) & t->tag_mask;
}

static inline uint32_t slot_entry(const struct registry *r, uint64_t v)
{
	return (uint32_t)(v & r->emask) - 1;
}

/* ---- the name table ---- */

static inline uint64_t hash_name(const struct registry *r, const char *name, size_t len)
{
	return hash_bytes(r->seed, name, len);
}

static inline uint64_t name_val(const struct registry *r, uint32_t i, uint64_t h)
{
	return (i + 1ULL) | ot_tag(&r->names, h) << r->names.tag_shift;
}

static inline uint32_t name_find(const struct registry *r, const char *name, size_t len, uint64_t h)
{
	const struct otab *t = &r->names;
	uint64_t tag = ot_tag(t, h), v;

	for (uint32_t p = ot_home(t, h); (v = ot_get(t, p)); p = ot_next(t, p)) {
		struct view w;

		if (v >> t->tag_shift != tag)
			continue;
		view_of(r, slot_entry(r, v), &w);
		if (strncmp(w.strs, name, len + 1) == 0)
			return slot_entry(r, v);
	}
	return NIL;
}

/* ---- the (address, container) index ---- */

static inline unsigned node_aslot(const struct registry *r, uint64_t v)
{
	return (unsigned)(v >> r->ebits) & 63;
}

static inline unsigned node_cslot(const struct registry *r, uint64_t v)
{
	return (unsigned)(v >> (r->ebits + 6)) & 15;
}

static inline uint64_t node_val(const struct registry *r, uint32_t i, unsigned slot, unsigned c,
				uint64_t h)
{
	return (i + 1ULL) | (uint64_t)slot << r->ebits | (uint64_t)c << (r->ebits + 6) |
	       ot_tag(&r->nodes, h) << r->nodes.tag_shift;
}

/* ---- container ids ---- */

static inline uint16_t cid_find(const struct registry *r, const char *id, size_t len, uint32_t h)
{
	for (uint16_t c = r->cbuckets[h & r->cbmask]; c != CNIL; c = r->cids[c].next)
		if (r->cids[c].hash == h && strncmp(r->cids[c].id, id, len + 1) == 0)
			return c;
	return CNIL;
}

/* ---- across the files (reg_*) ---- */

/* registry.c: names and addresses as keys. */

/* Lowercase `in` (A-Z only, like the BPF parser) into out without trailing dots (all of them,
 * so that a normalized name normalizes to itself). Returns the length or -EINVAL (NULL,
 * longer than 255). */
int reg_name_norm(const char *in, char out[MOAT_DNS_NAME_LEN]);
/* Parse an IPv4 or IPv6 literal into the canonical form. 0 or -EINVAL. */
int reg_addr_parse(const char *s, uint8_t out[16]);
/* Canonical address a as text (IPv4 for a mapped address) in buf; returns buf. */
const char *reg_addr_str(const uint8_t a[16], char *buf, size_t len);

/* registry_arena.c: records in the arena. */

/* A record of `bytes`: its handle, or 0 (ENOMEM). */
uint32_t reg_arena_alloc(struct registry *r, size_t bytes);
/* Give back record h of `bytes` (its size when allocated) to its size class's free list. */
void reg_arena_free(struct registry *r, uint32_t h, size_t bytes);
/* Move every record into fresh pages, most recently seen first, when more than half of the
 * arena is free. Skipped when memory is short. */
void reg_arena_compact(struct registry *r);
/* Bytes of the record v views. */
size_t reg_view_size(const struct view *v);
/* The record at blob decoded into d (every field, derived ones computed). */
void reg_decode(const struct registry *r, uint32_t blob, struct dentry *d);
/* The encoded size of d, and its header word in *hdr: totals, times and seen bits are stored
 * only when they cannot be derived. */
size_t reg_encoded_size(const struct dentry *d, uint32_t *hdr);
/* Write d with header hdr (from reg_encoded_size) into blob, which holds that many bytes. */
void reg_encode(const struct dentry *d, uint32_t hdr, void *blob);

/* registry_table.c: the open-addressing tables and container ids. */

/* An empty table of 1024 slots (u64 ones when wide), tags above tag_shift. 0 or -ENOMEM. */
int reg_otab_init(struct otab *t, unsigned wide, unsigned tag_shift);
/* Room for `need` more slots: grows past 4/5 full. Fails (-ENOMEM) only when growing fails
 * and the table could not keep an empty slot. */
int reg_ot_reserve(const struct registry *r, struct otab *t, uint32_t need, slot_hash_fn fn);
/* Remove slot value v (key hash h) if present. */
void reg_ot_remove(const struct registry *r, struct otab *t, uint64_t v, uint64_t h,
		   slot_hash_fn fn);
/* The key hashes of a name table slot and of an index slot, from the records. */
uint64_t reg_name_slot_hash(const struct registry *r, uint64_t v);
uint64_t reg_node_slot_hash(const struct registry *r, uint64_t v);
/* Add entry i (name hash h) to the name table; needs a free slot (reg_ot_reserve). */
void reg_name_insert(struct registry *r, uint32_t i, uint64_t h);
/* Remove the index node of entry i's address slot `slot` seen by its container slot c
 * (address a, container cidx). */
void reg_node_remove(struct registry *r, uint32_t i, unsigned slot, unsigned c, const uint8_t a[16],
		     uint16_t cidx);
/* Note that container slot c of entry i saw address slot `slot` (address a, container cidx,
 * as the record already says): its node goes in front of the other names' nodes for
 * (a, cidx), so the name seen last wins in registry_explains. Needs a free slot
 * (reg_ot_reserve). */
void reg_node_touch(struct registry *r, uint32_t i, unsigned slot, unsigned c, const uint8_t a[16],
		    uint16_t cidx);
/* Double the container id table (up to MAX_CIDS + 1). 0, -ENOSPC or -ENOMEM. */
int reg_cid_grow(struct registry *r);
/* The index of container id `id` (NULL: ""), interned if new, with one reference taken for
 * the caller (drop it with reg_cid_unref). -EINVAL (longer than CID_LEN_MAX), -ENOMEM or
 * -ENOSPC. */
int reg_cid_get(struct registry *r, const char *id);
/* Drop a reference; the id is forgotten with its last one. */
void reg_cid_unref(struct registry *r, uint16_t c);

/* registry_edit.c: entries, the LRU list, changing a name. */

/* Move entry i to the head of the LRU list (the most recently seen). */
void reg_lru_touch(struct registry *r, uint32_t i);
/* Unlink entry i from everything, free its record and its index nodes. */
void reg_entry_remove(struct registry *r, uint32_t i);
/* Start changing the entry for normalized `name` in r->ed, a new one (first and last seen at
 * now, evicting the least recent name at max_entries) when missing. 0 or -ENOMEM. */
int reg_edit_begin(struct registry *r, const char *name, size_t len, uint32_t now);
/* Replace the name + CNAME chain when it differs. */
void reg_edit_strs(struct dentry *d, const char *strs, size_t strs_len, unsigned n_cnames);
/* The slot of canonical address a, added when missing with TTL 0 (replacing the least
 * recently seen address of its family, and its sightings, at REGISTRY_MAX_ADDRS). */
unsigned reg_edit_addr(struct registry *r, const uint8_t a[16]);
/* The slot of container cidx, added when missing with last_seen `seen` (replacing the least
 * recently seen container, and its sightings, at REGISTRY_MAX_CONTAINERS). */
unsigned reg_edit_cont(struct registry *r, uint16_t cidx, uint32_t seen);
/* Container slot c saw the address in slot at `seen`. */
void reg_edit_touch(struct registry *r, unsigned slot, unsigned c, uint32_t seen);
/* Write r->ed back: the record, the name table and LRU list for a new name, the index nodes
 * of replaced addresses and containers out, the pairs seen in front, container id
 * references. 0, or -ENOMEM with r unchanged (a new entry is given back). */
int reg_edit_commit(struct registry *r);
/* Record one sighting of name (normalized; strs = name + CNAMEs, or NULL to keep them) with
 * canonical addresses as/ttls by container cidx at t. 0 or -errno. */
int reg_observe(struct registry *r, const char *name, size_t len, const char *strs, size_t strs_len,
		unsigned n_cnames, uint8_t (*as)[16], const uint32_t *ttls, int n, uint16_t cidx,
		uint32_t t);

/* registry_query.c: entries as JSON. */

/* Add v under key to object o; v is released when that fails. 0 or -ENOMEM (also for a
 * NULL v: a failed json_object_new_*). */
int reg_jadd(json_object *o, const char *key, json_object *v);
/* Entry i as a JSON object (the registry_query format). NULL + errno on ENOMEM. */
json_object *reg_entry_json(const struct registry *r, uint32_t i);

#endif /* MOAT_REGISTRY_INT_H */
