/* baseline.c - the baseline store of learn mode: images, their items, the caps (baseline.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline_int.h"

static const char *const kind_names[BL_NKINDS] = {"exec",   "domain", "connect",
						  "direct", "udp",    "listen"};

const char *baseline_kind_name(int kind)
{
	return kind >= 0 && kind < BL_NKINDS ? kind_names[kind] : "?";
}

int baseline_kind_parse(const char *s)
{
	for (int i = 0; s && i < BL_NKINDS; i++)
		if (!strcmp(s, kind_names[i]))
			return i;
	return -1;
}

uint64_t bl_hash(int kind, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static uint64_t name_hash(const char *s)
{
	return bl_hash(255, s);
}

struct baseline *baseline_new(const struct baseline_limits *l)
{
	struct baseline *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (l)
		b->lim = *l;
	if (!b->lim.max_images)
		b->lim.max_images = 256;
	if (!b->lim.max_items_per_image)
		b->lim.max_items_per_image = 4096;
	if (!b->lim.max_items_total)
		b->lim.max_items_total = 262144;
	b->img = calloc(b->lim.max_images, sizeof(*b->img));
	if (!b->img) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	return b;
}

static void image_free(struct baseline_image *im)
{
	if (!im)
		return;
	for (uint32_t i = 0; i < im->n; i++) {
		free(im->items[i].key);
		free(im->items[i].interp);
	}
	free(im->items);
	free(im->bucket);
	free(im);
}

void baseline_free(struct baseline *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		image_free(b->img[i]);
	free(b->img);
	free(b);
}

struct baseline_image *baseline_image(struct baseline *b, const char *name, int create)
{
	uint64_t h;
	size_t i, oldest = 0;
	struct baseline_image *im;

	if (!b || !name || !name[0] || strlen(name) >= sizeof(im->name)) {
		errno = EINVAL;
		return NULL;
	}
	h = name_hash(name);
	for (i = 0; i < b->n; i++)
		if (b->img[i]->name_hash == h && !strcmp(b->img[i]->name, name))
			return b->img[i];
	if (!create) {
		errno = ENOENT;
		return NULL;
	}
	im = calloc(1, sizeof(*im));
	if (!im) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(im->name, sizeof(im->name), "%s", name);
	im->name_hash = h;
	if (b->n == b->lim.max_images) {
		/* Full: the least recently seen image goes, whole. */
		for (i = 1; i < b->n; i++)
			if (b->img[i]->last < b->img[oldest]->last)
				oldest = i;
		b->items -= b->img[oldest]->n;
		image_free(b->img[oldest]);
		b->img[oldest] = b->img[--b->n];
		b->evicted++;
	}
	b->img[b->n++] = im;
	return im;
}

void baseline_note_container(struct baseline *b, struct baseline_image *im, const char *container,
			     const char *image_id, int64_t now)
{
	int i;

	(void)b;
	if (!im)
		return;
	if (now > 0 && (!im->first || now < im->first))
		im->first = now;
	if (now > im->last)
		im->last = now;
	if (image_id && image_id[0] && strlen(image_id) < sizeof(im->ids[0])) {
		for (i = 0; i < im->n_ids && strcmp(im->ids[i], image_id); i++)
			;
		if (i == im->n_ids) {
			if (im->n_ids == BASELINE_MAX_IDS) {
				memmove(im->ids[0], im->ids[1],
					sizeof(im->ids[0]) * (BASELINE_MAX_IDS - 1));
				im->n_ids--;
			}
			snprintf(im->ids[im->n_ids++], sizeof(im->ids[0]), "%s", image_id);
		}
	}
	if (!container || !container[0] || strlen(container) >= sizeof(im->cts[0]))
		return;
	for (i = 0; i < im->n_cts; i++)
		if (!strcmp(im->cts[i], container))
			return;
	im->n_containers++;
	if (im->n_cts < BASELINE_MAX_CTS) {
		snprintf(im->cts[im->n_cts++], sizeof(im->cts[0]), "%s", container);
	} else {
		snprintf(im->cts[im->ct_next], sizeof(im->cts[0]), "%s", container);
		im->ct_next = (im->ct_next + 1) % BASELINE_MAX_CTS;
	}
}

struct bl_item *bl_find(const struct baseline_image *im, int kind, const char *key, uint64_t h)
{
	if (!im || !im->nb)
		return NULL;
	for (uint32_t i = im->bucket[h & (im->nb - 1)]; i; i = im->items[i - 1].next) {
		struct bl_item *it = &im->items[i - 1];

		if (it->hash == h && it->kind == kind && !strcmp(it->key, key))
			return it;
	}
	return NULL;
}

int baseline_has(const struct baseline_image *im, int kind, const char *key)
{
	return key && bl_find(im, kind, key, bl_hash(kind, key)) != NULL;
}

/* Room for one more item in im: the items array and the buckets grown (buckets kept at
 * least as many as items). 0 or -ENOMEM. */
static int grow(struct baseline_image *im)
{
	if (im->n == im->cap) {
		uint32_t cap = im->cap ? im->cap * 2 : 16;
		struct bl_item *it = realloc(im->items, (size_t)cap * sizeof(*it));

		if (!it)
			return -ENOMEM;
		im->items = it;
		im->cap = cap;
	}
	if (im->n + 1 > im->nb) {
		uint32_t nb = im->nb ? im->nb * 2 : 32;
		uint32_t *bk = calloc(nb, sizeof(*bk));

		if (!bk)
			return -ENOMEM;
		for (uint32_t i = 0; i < im->n; i++) {
			struct bl_item *it = &im->items[i];
			uint32_t k = (uint32_t)(it->hash & (nb - 1));

			it->next = bk[k];
			bk[k] = i + 1;
		}
		free(im->bucket);
		im->bucket = bk;
		im->nb = nb;
	}
	return 0;
}

static void add_parent(struct bl_item *it, const char *parent)
{
	if (!parent || !parent[0])
		return;
	for (int i = 0; i < it->n_parents; i++)
		if (!strncmp(it->parents[i], parent, BASELINE_NAME_LEN - 1))
			return;
	if (it->n_parents < BASELINE_MAX_PARENTS)
		snprintf(it->parents[it->n_parents++], BASELINE_NAME_LEN, "%s", parent);
}

static int set_interp(struct bl_item *it, const char *interp)
{
	char *s;

	if (!interp || !interp[0] || (it->interp && !strcmp(it->interp, interp)))
		return 0;
	s = strdup(interp);
	if (!s)
		return -ENOMEM;
	free(it->interp);
	it->interp = s;
	return 0;
}

int bl_merge_item(struct baseline *b, struct baseline_image *im, int kind, const char *key,
		  const char *interp, const char (*parents)[BASELINE_NAME_LEN], int n_parents,
		  int64_t first, int64_t last, uint64_t count)
{
	uint64_t h;
	struct bl_item *it;

	if (!b || !im || kind < 0 || kind >= BL_NKINDS || !key || !key[0] ||
	    strlen(key) >= BASELINE_MAX_KEY || (interp && strlen(interp) >= BASELINE_MAX_KEY))
		return -EINVAL;
	h = bl_hash(kind, key);
	it = bl_find(im, kind, key, h);
	if (!it) {
		uint32_t k;

		if (im->n >= b->lim.max_items_per_image || b->items >= b->lim.max_items_total) {
			im->refused++;
			b->refused++;
			return -EDQUOT;
		}
		if (grow(im))
			return -ENOMEM;
		it = &im->items[im->n];
		memset(it, 0, sizeof(*it));
		it->key = strdup(key);
		if (!it->key)
			return -ENOMEM;
		it->hash = h;
		it->kind = (uint8_t)kind;
		it->first = first;
		it->last = last;
		it->count = count > BASELINE_MAX_COUNT ? BASELINE_MAX_COUNT : count;
		k = (uint32_t)(h & (im->nb - 1));
		it->next = im->bucket[k];
		im->bucket[k] = ++im->n;
		b->items++;
		im->n_by_kind[kind]++;
		for (int i = 0; i < n_parents; i++)
			add_parent(it, parents[i]);
		set_interp(it, interp);
		if (first > im->last_new)
			im->last_new = first;
		return 1;
	}
	if (first < it->first)
		it->first = first;
	if (last > it->last)
		it->last = last;
	it->count = count > BASELINE_MAX_COUNT - it->count ? BASELINE_MAX_COUNT : it->count + count;
	for (int i = 0; i < n_parents; i++)
		add_parent(it, parents[i]);
	set_interp(it, interp);
	return 0;
}

int baseline_record(struct baseline *b, struct baseline_image *im, int kind, const char *key,
		    const char *attr, const char *parent, int64_t now)
{
	char p[1][BASELINE_NAME_LEN];
	int n = 0;

	if (parent && parent[0])
		snprintf(p[n++], BASELINE_NAME_LEN, "%s", parent);
	if (im && now > im->last)
		im->last = now;
	return bl_merge_item(b, im, kind, key, attr, (const char(*)[BASELINE_NAME_LEN])p, n, now,
			     now, 1);
}

void baseline_set_learning(struct baseline_image *im, int on, int64_t now)
{
	if (!im)
		return;
	if (on && !im->learning)
		im->learn_since = now;
	im->learning = !!on;
	if (on)
		im->enforced = 0;
}

void baseline_set_enforced(struct baseline_image *im, int on)
{
	if (im)
		im->enforced = !!on;
}

void baseline_set_learn_all(struct baseline *b, int on)
{
	if (b)
		b->learn_all = !!on;
}

int baseline_learn_all(const struct baseline *b)
{
	return b && b->learn_all;
}

void baseline_info(const struct baseline_image *im, struct baseline_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!im)
		return;
	out->name = im->name;
	out->learning = im->learning;
	out->enforced = im->enforced;
	out->first_seen = im->first;
	out->last_seen = im->last;
	out->last_new = im->last_new;
	out->learn_since = im->learn_since;
	out->n_items = im->n;
	memcpy(out->n_by_kind, im->n_by_kind, sizeof(out->n_by_kind));
	out->n_containers = im->n_containers;
	out->refused = im->refused;
}

int baseline_stable(const struct baseline_image *im, int64_t now, uint32_t stable_s)
{
	return im && im->n > 0 && now - im->last_new >= (int64_t)stable_s;
}

size_t baseline_count(const struct baseline *b)
{
	return b ? b->n : 0;
}

struct baseline_image *baseline_at(struct baseline *b, size_t i)
{
	return b && i < b->n ? b->img[i] : NULL;
}

void baseline_stats(const struct baseline *b, struct baseline_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!b)
		return;
	out->items = b->items;
	out->refused = b->refused;
	out->evicted_images = b->evicted;
}

static int jadd(json_object *o, const char *k, json_object *v)
{
	if (!v)
		return -1;
	json_object_object_add(o, k, v);
	return 0;
}

json_object *baseline_image_json(const struct baseline_image *im)
{
	json_object *o = json_object_new_object(), *a, *items;
	int bad = !o;

	if (bad)
		return NULL;
	bad |= jadd(o, "image", json_object_new_string(im->name));
	a = json_object_new_array();
	for (int i = 0; a && i < im->n_ids; i++)
		json_object_array_add(a, json_object_new_string(im->ids[i]));
	bad |= jadd(o, "ids", a);
	bad |= jadd(o, "first_seen", json_object_new_int64(im->first));
	bad |= jadd(o, "last_seen", json_object_new_int64(im->last));
	bad |= jadd(o, "last_new", json_object_new_int64(im->last_new));
	bad |= jadd(o, "learning", json_object_new_boolean(im->learning));
	bad |= jadd(o, "learn_since", json_object_new_int64(im->learn_since));
	bad |= jadd(o, "enforced", json_object_new_boolean(im->enforced));
	bad |= jadd(o, "containers", json_object_new_uint64(im->n_containers));
	a = json_object_new_array();
	for (int i = 0; a && i < im->n_cts; i++)
		json_object_array_add(a, json_object_new_string(im->cts[i]));
	bad |= jadd(o, "container_ids", a);
	bad |= jadd(o, "refused", json_object_new_uint64(im->refused));
	items = json_object_new_array();
	for (uint32_t i = 0; items && i < im->n; i++) {
		const struct bl_item *it = &im->items[i];
		json_object *x = json_object_new_object();

		if (!x) {
			bad = 1;
			break;
		}
		jadd(x, "kind", json_object_new_string(baseline_kind_name(it->kind)));
		jadd(x, "key", json_object_new_string(it->key));
		jadd(x, "first_seen", json_object_new_int64(it->first));
		jadd(x, "last_seen", json_object_new_int64(it->last));
		jadd(x, "count", json_object_new_uint64(it->count));
		if (it->interp)
			jadd(x, "interp", json_object_new_string(it->interp));
		if (it->n_parents) {
			json_object *p = json_object_new_array();

			for (int k = 0; p && k < it->n_parents; k++)
				json_object_array_add(p, json_object_new_string(it->parents[k]));
			jadd(x, "parents", p);
		}
		json_object_array_add(items, x);
	}
	bad |= jadd(o, "items", items);
	if (bad) {
		json_object_put(o);
		errno = ENOMEM;
		return NULL;
	}
	return o;
}

json_object *baseline_status_json(struct baseline *b, int64_t now, uint32_t stable_s)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < baseline_count(b); i++) {
		const struct baseline_image *im = b->img[i];
		json_object *o = json_object_new_object(), *k = json_object_new_object();
		int64_t since = im->learn_since ? im->learn_since : im->first;

		if (!o || !k) {
			json_object_put(o);
			json_object_put(k);
			json_object_put(arr);
			errno = ENOMEM;
			return NULL;
		}
		jadd(o, "image", json_object_new_string(im->name));
		jadd(o, "learning", json_object_new_boolean(im->learning || b->learn_all));
		jadd(o, "enforced", json_object_new_boolean(im->enforced));
		jadd(o, "stable", json_object_new_boolean(baseline_stable(im, now, stable_s)));
		jadd(o, "learned_seconds",
		     json_object_new_int64(since && now > since ? now - since : 0));
		jadd(o, "containers", json_object_new_uint64(im->n_containers));
		jadd(o, "items", json_object_new_int64(im->n));
		for (int kd = 0; kd < BL_NKINDS; kd++)
			jadd(k, kind_names[kd], json_object_new_int64(im->n_by_kind[kd]));
		jadd(o, "by_kind", k);
		jadd(o, "since_last_new",
		     json_object_new_int64(im->n ? (now > im->last_new ? now - im->last_new : 0)
						 : -1));
		jadd(o, "stable_after_seconds", json_object_new_int64(stable_s));
		jadd(o, "refused", json_object_new_uint64(im->refused));
		json_object_array_add(arr, o);
	}
	return arr;
}
