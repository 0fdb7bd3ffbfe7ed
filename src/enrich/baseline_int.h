/* baseline_int.h - the baseline store's internals, shared by baseline.c (the store) and
 * baseline_file.c (save and load). No other module includes it. */
#ifndef MOAT_BASELINE_INT_H
#define MOAT_BASELINE_INT_H

#include "baseline.h"

struct bl_item {
	uint64_t hash;
	uint32_t next; /* the next item of its bucket, index + 1; 0 ends */
	uint8_t kind;
	uint8_t n_parents;
	int64_t first, last;
	uint64_t count;
	char *key;    /* owned */
	char *interp; /* owned; NULL: none */
	char parents[BASELINE_MAX_PARENTS][BASELINE_NAME_LEN];
};

struct baseline_image {
	char name[256];
	uint64_t name_hash;
	char ids[BASELINE_MAX_IDS][80];
	int n_ids;
	int64_t first, last, last_new, learn_since;
	int learning, enforced;
	uint64_t n_containers, refused;
	char cts[BASELINE_MAX_CTS][65];
	int n_cts, ct_next; /* used slots; the next slot to overwrite once full */
	struct bl_item *items;
	uint32_t n, cap;
	uint32_t *bucket; /* index + 1 of each bucket's first item; 0 empty */
	uint32_t nb;	  /* buckets, a power of two */
	uint32_t n_by_kind[BL_NKINDS];
};

struct baseline {
	struct baseline_limits lim;
	struct baseline_image **img;
	size_t n;
	uint64_t items, refused, evicted;
	int learn_all;
};

/* FNV-1a of kind and key. */
uint64_t bl_hash(int kind, const char *key);

/* The item of (kind, key) in im, or NULL. */
struct bl_item *bl_find(const struct baseline_image *im, int kind, const char *key, uint64_t h);

/* Merge one item (from a file) into im: as baseline_record, with the times and count given.
 * Returns 1 new, 0 merged, -EDQUOT, -EINVAL, -ENOMEM. */
int bl_merge_item(struct baseline *b, struct baseline_image *im, int kind, const char *key,
		  const char *interp, const char (*parents)[BASELINE_NAME_LEN], int n_parents,
		  int64_t first, int64_t last, uint64_t count);

#endif /* MOAT_BASELINE_INT_H */
