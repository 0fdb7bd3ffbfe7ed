/* registry.c - the DNS registry: names, their addresses and the containers that resolved them.
 *
 * Layout, sized for 100,000 names in about 11 MiB (tools/bench/registry_mem: 110 bytes per
 * name with 2 IPv4 addresses and 1 or 2 containers each):
 * - each name is one variable-size record in an arena (its format is described above H_N4):
 *   counts, first_seen, addresses with TTLs, per container slot its count, last_seen and
 *   interned id, which (container, address) pairs were seen, then the name and its CNAME
 *   chain. What can be derived is not stored: the name's last_seen and count (the max and the
 *   sum over its containers), a pair's time (its container's last_seen), the seen bits (all
 *   set); header flags say when they are stored after all. Changes go through a decoded copy
 *   (edit_begin .. edit_commit);
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
static uint64_t hash_bytes(uint64_t seed, const char *s, size_t n)
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

/* Lowercase `in` (A-Z only, like the BPF parser) into out without trailing dots (all of them,
 * so that a normalized name normalizes to itself: "a.." is "a", not "a." then "a" after a
 * save and load). Returns the length or -EINVAL (NULL, longer than 255). */
static int name_norm(const char *in, char out[MOAT_DNS_NAME_LEN])
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

/* ---- the arena ---- */

static inline size_t class_bytes(unsigned c)
{
	return c <= 256 ? (size_t)c * 4 : 1024 + (size_t)(c - 256) * 64;
}

static inline void *A(const struct registry *r, uint32_t h)
{
	return r->pages[h >> UNIT_SHIFT] + (size_t)(h & (PAGE_UNITS - 1)) * 4;
}

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

/* A record of `bytes`: its handle, or 0 (ENOMEM). */
static uint32_t arena_alloc(struct registry *r, size_t bytes)
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

static void arena_free(struct registry *r, uint32_t h, size_t bytes)
{
	arena_put(r, h, CLASS_OF(bytes));
}

/* ---- records ---- */

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

static void view_at(struct view *v, const void *blob)
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

static size_t view_strs_len(const struct view *v)
{
	const char *s = v->strs;

	for (unsigned k = 0; k <= v->ncn; k++)
		s += strlen(s) + 1;
	return (size_t)(s - v->strs);
}

static size_t view_size(const struct view *v)
{
	return (size_t)((const uint8_t *)v->strs - v->b) + view_strs_len(v);
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

static uint32_t v_last_seen(const struct view *v)
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

static uint32_t v_count(const struct view *v)
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
static uint32_t v_addr_last_seen(const struct view *v, unsigned k)
{
	uint32_t t = 0;

	for (unsigned c = 0; c < v->nc; c++)
		if (v_seen(v, c, k) && v_time(v, c, k) > t)
			t = v_time(v, c, k);
	return t;
}

static void decode(const struct registry *r, uint32_t blob, struct dentry *d)
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

/* The encoded size of d, and its header word in *hdr: totals, times and seen bits are stored
 * only when they cannot be derived. */
static size_t encoded_size(const struct dentry *d, uint32_t *hdr)
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

static void encode(const struct dentry *d, uint32_t hdr, void *blob)
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

static int otab_init(struct otab *t, unsigned wide, unsigned tag_shift)
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

/* Room for `need` more slots: grows past 4/5 full. Fails (-ENOMEM) only when growing fails
 * and the table could not keep an empty slot. */
static int ot_reserve(const struct registry *r, struct otab *t, uint32_t need, slot_hash_fn fn)
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

/* Remove slot value v (key hash h) if present. */
static void ot_remove(const struct registry *r, struct otab *t, uint64_t v, uint64_t h,
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

/* ---- the name table ---- */

static uint64_t hash_name(const struct registry *r, const char *name, size_t len)
{
	return hash_bytes(r->seed, name, len);
}

static uint64_t name_slot_hash(const struct registry *r, uint64_t v)
{
	struct view w;

	view_of(r, slot_entry(r, v), &w);
	return hash_name(r, w.strs, strlen(w.strs));
}

static inline uint64_t name_val(const struct registry *r, uint32_t i, uint64_t h)
{
	return (i + 1ULL) | ot_tag(&r->names, h) << r->names.tag_shift;
}

static uint32_t name_find(const struct registry *r, const char *name, size_t len, uint64_t h)
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

static void name_insert(struct registry *r, uint32_t i, uint64_t h)
{
	struct otab *t = &r->names;
	uint32_t p;

	for (p = ot_home(t, h); ot_get(t, p); p = ot_next(t, p))
		;
	ot_set(t, p, name_val(r, i, h));
	t->count++;
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

static uint64_t node_slot_hash(const struct registry *r, uint64_t v)
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

static void node_remove(struct registry *r, uint32_t i, unsigned slot, unsigned c,
			const uint8_t a[16], uint16_t cidx)
{
	uint64_t h = hash_addr(r->seed, a, cidx);

	ot_remove(r, &r->nodes, node_val(r, i, slot, c, h), h, node_slot_hash);
}

/* Note that container slot c of entry i saw address slot `slot` (address a, container cidx,
 * as the record already says): its node is added, or moved, in front of the other names'
 * nodes for (a, cidx), so the name seen last wins in registry_explains. Needs a free slot
 * (ot_reserve). */
static void node_touch(struct registry *r, uint32_t i, unsigned slot, unsigned c,
		       const uint8_t a[16], uint16_t cidx)
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

/* Unlink entry i from everything, free its record and its index nodes. */
static void entry_remove(struct registry *r, uint32_t i)
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
			node_remove(r, i, v_slot(&w, k), c, a, w.cidx[c]);
		}
		cid_unref(r, w.cidx[c]);
	}
	ot_remove(r, &r->names, name_val(r, i, hash_name(r, w.strs, strlen(w.strs))),
		  hash_name(r, w.strs, strlen(w.strs)), name_slot_hash);
	lru_unlink(r, i);
	arena_free(r, e->blob, view_size(&w));
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

/* Start changing the entry for normalized `name` in r->ed, a new one (first and last seen at
 * now, evicting the least recent name at max_entries) when missing. 0 or -ENOMEM. */
static int edit_begin(struct registry *r, const char *name, size_t len, uint32_t now)
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
		decode(r, ed->blob0, d);
		ed->nc0 = d->nc;
		memcpy(ed->seen0, d->seen, d->nc * sizeof(d->seen[0]));
		return 0;
	}
	if (r->n_entries >= r->max_entries && r->lru_tail != NIL)
		entry_remove(r, r->lru_tail);
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

/* Replace the name + CNAME chain when it differs. */
static void edit_strs(struct dentry *d, const char *strs, size_t strs_len, unsigned n_cnames)
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

/* The slot of canonical address a, added when missing with TTL 0 (replacing the least
 * recently seen address of its family, and its sightings, at REGISTRY_MAX_ADDRS). */
static unsigned edit_addr(struct registry *r, const uint8_t a[16])
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

/* The slot of container cidx, added when missing with last_seen `seen` (replacing the least
 * recently seen container, and its sightings, at REGISTRY_MAX_CONTAINERS). */
static unsigned edit_cont(struct registry *r, uint16_t cidx, uint32_t seen)
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

/* Container slot c saw the address in slot at `seen`. */
static void edit_touch(struct registry *r, unsigned slot, unsigned c, uint32_t seen)
{
	struct edit *ed = &r->ed;
	struct dentry *d = &ed->d;

	if (!((d->seen[c] >> slot) & 1) || seen > d->time[c][slot])
		d->time[c][slot] = seen;
	d->seen[c] |= 1ULL << slot;
	ed->touched[c] |= 1ULL << slot;
}

/* Write r->ed back: the record, the name table and LRU list for a new name, the index nodes
 * of replaced addresses and containers out, the pairs seen in front, container id
 * references. 0, or -ENOMEM with r unchanged (a new entry is given back). */
static int edit_commit(struct registry *r)
{
	struct edit *ed = &r->ed;
	struct dentry *d = &ed->d;
	uint32_t i = ed->idx, hdr, blob = ed->blob0, ntouch = 0;
	size_t size = encoded_size(d, &hdr), size0 = 0;
	struct view w0;
	uint8_t a[16];
	int err;

	for (unsigned c = 0; c < d->nc; c++)
		ntouch += (uint32_t)__builtin_popcountll(ed->touched[c]);
	err = ot_reserve(r, &r->nodes, ntouch, node_slot_hash);
	if (!err && ed->is_new)
		err = ot_reserve(r, &r->names, 1, name_slot_hash);
	if (blob) {
		view_at(&w0, A(r, blob));
		size0 = view_size(&w0);
	}
	if (!err && (!blob || CLASS_OF(size) != CLASS_OF(size0))) {
		blob = arena_alloc(r, size);
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
			node_remove(r, i, s, c, a, w0.cidx[c]);
		}
	}
	for (unsigned c = 0; c < d->nc; c++)
		if (c >= ed->nc0 || ((ed->creplaced >> c) & 1))
			r->cids[d->cidx[c]].refs++;
	for (unsigned c = 0; c < ed->nc0; c++)
		if ((ed->creplaced >> c) & 1)
			cid_unref(r, w0.cidx[c]);
	encode(d, hdr, A(r, blob));
	if (ed->blob0 && blob != ed->blob0)
		arena_free(r, ed->blob0, size0);
	E(r, i)->blob = blob;
	if (ed->is_new) {
		name_insert(r, i, hash_name(r, d->strs, strlen(d->strs)));
		lru_push_head(r, i);
		r->n_entries++;
	}
	for (unsigned c = 0; c < d->nc; c++) {
		for (uint64_t m = ed->touched[c]; m; m &= m - 1) {
			unsigned s = (unsigned)__builtin_ctzll(m);

			d_addr(d, s, a);
			node_touch(r, i, s, c, a, d->cidx[c]);
		}
	}
	return 0;
}

/* Record one sighting of name (normalized; strs = name + CNAMEs, or NULL to keep them) with
 * canonical addresses as/ttls by container cidx at t. 0 or -errno. */
static int observe(struct registry *r, const char *name, size_t len, const char *strs,
		   size_t strs_len, unsigned n_cnames, uint8_t (*as)[16], const uint32_t *ttls,
		   int n, uint16_t cidx, uint32_t t)
{
	struct dentry *d = &r->ed.d;
	unsigned cs;
	int err = edit_begin(r, name, len, t);

	if (err)
		return err;
	if (strs)
		edit_strs(d, strs, strs_len, n_cnames);
	cs = edit_cont(r, cidx, t);
	for (int k = 0; k < n; k++) {
		unsigned s = edit_addr(r, as[k]);

		*d_ttl(d, s) = ttls[k];
		edit_touch(r, s, cs, t);
	}
	d->ccount[cs]++;
	if (t > d->clast[cs])
		d->clast[cs] = t;
	d->count++;
	if (t > d->last_seen)
		d->last_seen = t;
	err = edit_commit(r);
	if (!err)
		lru_touch(r, r->ed.idx);
	return err;
}

/* Move every record into fresh pages, most recently seen first, when more than half of the
 * arena is free (a prune dropped many names). Skipped when memory is short. */
static void arena_compact(struct registry *r)
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
		units = (uint32_t)(class_bytes(CLASS_OF(view_size(&w))) / 4);
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
		size = view_size(&w);
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

/* ---- public API ---- */

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
	if (otab_init(&r->names, r->ebits > 24, r->ebits) ||
	    otab_init(&r->nodes, r->ebits > 18, r->ebits + 10) || cid_grow(r)) {
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
	/* Fair share: a container that names ct_quota names already adds no new one, so that a
	 * flood of unique names from one container cannot push every other container's names
	 * out (their connects would then look direct). refs counts its names, plus one for
	 * this call. */
	if (r->ct_quota && r->cids[cid].refs > r->ct_quota &&
	    (name_find(r, strs, qlen, hash_name(r, strs, qlen)) == NIL ||
	     (nc &&
	      name_find(r, strs + last, last_len, hash_name(r, strs + last, last_len)) == NIL))) {
		r->refused++;
		cid_unref(r, (uint16_t)cid);
		return -EDQUOT;
	}
	err = 0;
	/* The CNAME target first, so the asked name's nodes end up first in the index. */
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

void registry_set_container_quota(struct registry *r, uint32_t names)
{
	if (r)
		r->ct_quota = names;
}

uint64_t registry_refused(const struct registry *r)
{
	return r ? r->refused : 0;
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
		entry_remove(r, i);
		dropped++;
	}
	if (dropped)
		arena_compact(r);
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
	struct view w;
	json_object *o = json_object_new_object(), *addrs = NULL, *cnames = NULL, *conts = NULL;
	const char *s;
	char buf[INET6_ADDRSTRLEN];
	int err;

	view_of(r, i, &w);
	s = w.strs;
	if (!o)
		goto nomem;
	err = jadd(o, "name", json_object_new_string(s));
	err = err ?: jadd(o, "addrs", addrs = json_object_new_array());
	err = err ?: jadd(o, "cnames", cnames = json_object_new_array());
	err = err ?: jadd(o, "first_seen", json_object_new_int64(w.first_seen));
	err = err ?: jadd(o, "last_seen", json_object_new_int64(v_last_seen(&w)));
	err = err ?: jadd(o, "count", json_object_new_int64(v_count(&w)));
	err = err ?: jadd(o, "containers", conts = json_object_new_array());
	for (unsigned k = 0; k < w.na && !err; k++) {
		json_object *ao = json_object_new_object();
		uint8_t a[16];

		v_addr(&w, k, a);
		addr_str(a, buf, sizeof(buf));
		err = jpush(addrs, ao);
		err = err ?: jadd(ao, "addr", json_object_new_string(buf));
		err = err ?: jadd(ao, "ttl", json_object_new_int64(v_ttl(&w, k)));
		err = err ?: jadd(ao, "last_seen", json_object_new_int64(v_addr_last_seen(&w, k)));
	}
	for (unsigned k = 0; k < w.ncn && !err; k++) {
		s += strlen(s) + 1;
		err = jpush(cnames, json_object_new_string(s));
	}
	for (unsigned c = 0; c < w.nc && !err; c++) {
		json_object *co = json_object_new_object(), *seen = NULL;

		err = jpush(conts, co);
		err = err ?: jadd(co, "id", json_object_new_string(r->cids[w.cidx[c]].id));
		err = err ?: jadd(co, "count", json_object_new_int64(w.ccount[c]));
		err = err ?: jadd(co, "last_seen", json_object_new_int64(w.clast[c]));
		err = err ?: jadd(co, "seen", seen = json_object_new_object());
		for (unsigned k = 0; k < w.na && !err; k++) {
			uint8_t a[16];

			if (!v_seen(&w, c, k))
				continue;
			v_addr(&w, k, a);
			addr_str(a, buf, sizeof(buf));
			err = jadd(seen, buf, json_object_new_int64(v_time(&w, c, k)));
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
		uint32_t i = name_find(r, name, (size_t)len, hash_name(r, name, (size_t)len));

		if (i != NIL && jpush(arr, entry_json(r, i)))
			goto nomem;
		return arr;
	}
	for (uint32_t i = r->lru_head; i != NIL && (!limit || n < limit); i = E(r, i)->next) {
		struct view w;
		int match = mode == Q_ALL;

		view_of(r, i, &w);
		if (mode == Q_SUFFIX) {
			size_t el = strlen(w.strs);

			match =
			    el > (size_t)len && memcmp(w.strs + el - len, name, (size_t)len) == 0;
		}
		for (unsigned k = 0; mode == Q_ADDR && !match && k < w.na; k++)
			match = v_addr_is(&w, k, a);
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
	/* A name keeps up to REGISTRY_MAX_ADDRS addresses per family, so a file holds up to
	 * twice that. */
	uint8_t addrs[2 * REGISTRY_MAX_ADDRS][16];
	uint32_t ttl[2 * REGISTRY_MAX_ADDRS], addr_seen[2 * REGISTRY_MAX_ADDRS];
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

/* Whether JSON string v holds a NUL character (it would cut the C string short). */
static int has_nul(json_object *v)
{
	return strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v);
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
	if (has_nul(v)) {
		snprintf(err, errlen, "field \"name\" holds a NUL character");
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
		if (!json_object_is_type(c, json_type_string) || has_nul(c) ||
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
		unsigned s = l->n_addrs, d;

		snprintf(ctx, sizeof(ctx), "addrs[%zu].", k);
		if (!json_object_is_type(ao, json_type_object)) {
			snprintf(err, errlen, "field \"addrs[%zu]\" is not an object", k);
			return -EINVAL;
		}
		if (jfield(ao, "addr", json_type_string, 1, &v, ctx, err, errlen))
			return -EINVAL;
		if (s == 2 * REGISTRY_MAX_ADDRS)
			break;
		if (has_nul(v) || addr_parse(json_object_get_string(v), l->addrs[s])) {
			snprintf(err, errlen, "field \"%saddr\" is not an IP address", ctx);
			return -EINVAL;
		}
		if (jtime(ao, "ttl", 1, 0, &l->ttl[s], ctx, err, errlen) ||
		    jtime(ao, "last_seen", 0, l->last_seen, &l->addr_seen[s], ctx, err, errlen))
			return -EINVAL;
		/* An address listed twice (as 192.0.2.1 and ::ffff:192.0.2.1, say) is one
		 * address: its longest TTL and latest sighting. */
		for (d = 0; d < s && memcmp(l->addrs[d], l->addrs[s], 16); d++)
			;
		if (d < s) {
			l->ttl[d] = l->ttl[s] > l->ttl[d] ? l->ttl[s] : l->ttl[d];
			l->addr_seen[d] =
			    l->addr_seen[s] > l->addr_seen[d] ? l->addr_seen[s] : l->addr_seen[d];
			continue;
		}
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
		if (has_nul(v)) {
			snprintf(err, errlen, "field \"%sid\" holds a NUL character", ctx);
			return -EINVAL;
		}
		if (seen) {
			json_object_object_foreach(seen, key, val)
			{
				uint8_t a[16];
				unsigned s;

				if (addr_parse(key, a) ||
				    !json_object_is_type(val, json_type_int) ||
				    json_object_get_int64(val) < 0 ||
				    json_object_get_int64(val) > UINT32_MAX) {
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
	struct dentry *d = &r->ed.d;
	uint32_t maxttl = 0;
	unsigned slots[2 * REGISTRY_MAX_ADDRS];
	int cids[REGISTRY_MAX_CONTAINERS];
	unsigned n_cids = 0;
	int err = 0;

	for (unsigned a = 0; a < l->n_addrs; a++)
		if (l->ttl[a] > maxttl)
			maxttl = l->ttl[a];
	if (!l->n_addrs || !l->n_conts || !alive(r, l->last_seen, maxttl, now))
		return 0;
	/* The ids first, each with a reference held until the end (the slots take their own). */
	for (; n_cids < l->n_conts; n_cids++) {
		json_object *v;

		json_object_object_get_ex(l->conts[n_cids], "id", &v);
		cids[n_cids] = cid_get(r, json_object_get_string(v));
		if (cids[n_cids] < 0) {
			err = cids[n_cids];
			goto cleanup;
		}
	}
	if ((err = edit_begin(r, l->strs, l->name_len, l->first_seen)))
		goto cleanup;
	edit_strs(d, l->strs, l->strs_len, l->n_cnames);
	for (unsigned a = 0; a < l->n_addrs; a++) {
		slots[a] = edit_addr(r, l->addrs[a]);
		*d_ttl(d, slots[a]) = l->ttl[a];
	}
	for (unsigned c = 0; c < l->n_conts; c++) {
		json_object *co = l->conts[c], *v, *seen = NULL;
		uint32_t cseen = l->last_seen, ccount;
		unsigned cs;

		if (json_object_object_get_ex(co, "last_seen", &v) && v)
			cseen = (uint32_t)json_object_get_int64(v);
		json_object_object_get_ex(co, "count", &v);
		ccount = (uint32_t)json_object_get_int64(v);
		json_object_object_get_ex(co, "seen", &seen);
		cs = edit_cont(r, (uint16_t)cids[c], cseen);
		d->ccount[cs] += ccount;
		if (cseen > d->clast[cs])
			d->clast[cs] = cseen;
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
			if (!alive(r, t, l->ttl[a], now) || !d_slot_is(d, slots[a], l->addrs[a]))
				continue;
			edit_touch(r, slots[a], cs, t);
			/* As when recorded: a name and a container were last seen no earlier than
			 * any of their addresses (a file may say otherwise; a save writes this). */
			if (t > d->clast[cs])
				d->clast[cs] = t;
			if (t > d->last_seen)
				d->last_seen = t;
		}
	}
	if (l->first_seen < d->first_seen)
		d->first_seen = l->first_seen;
	if (l->last_seen > d->last_seen)
		d->last_seen = l->last_seen;
	d->count += l->count;
	if ((err = edit_commit(r)))
		goto cleanup;
	lru_touch(r, r->ed.idx);
	err = 1;
cleanup:
	while (n_cids-- > 0)
		cid_unref(r, (uint16_t)cids[n_cids]);
	return err;
}

/* registry_load from the open stream f (named path in messages); f stays open. */
static int load_stream(struct registry *r, const char *path, FILE *f, int64_t now)
{
	size_t cap = 0, entry = 0, loaded = 0, bad = 0, expired = 0;
	struct lentry *l = NULL;
	json_object *o = NULL, *v;
	char *line = NULL, why[320];
	ssize_t n;
	int err = 0;

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
	return err;
}

int registry_load(struct registry *r, const char *path, int64_t now)
{
	FILE *f;
	int err;

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
	err = load_stream(r, path, f, now);
	fclose(f);
	return err;
}

int registry_load_buf(struct registry *r, const char *name, const char *buf, size_t len,
		      int64_t now)
{
	FILE *f;
	int err;

	if (!r || !name || (!buf && len))
		return -EINVAL;
	/* fmemopen refuses an empty buffer; an empty file has no first line. */
	f = len ? fmemopen((void *)buf, len, "r") : fopen("/dev/null", "re");
	if (!f)
		return -errno;
	err = load_stream(r, name, f, now);
	fclose(f);
	return err;
}
