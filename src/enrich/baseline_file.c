/* baseline_file.c - the persisted baseline store: baseline_save writes JSON Lines atomically,
 * baseline_load merges a file back, checking every image and item as hostile input (a bad
 * one is skipped and named: file, line, item, field). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline_int.h"
#include "fs.h"
#include "log.h"

static int write_line(FILE *f, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	if (!s || fputs(s, f) == EOF || fputc('\n', f) == EOF)
		return -EIO;
	return 0;
}

int baseline_save(const struct baseline *b, const char *path)
{
	struct fs_atomic a;
	json_object *o;
	int err;

	if (!b || !path || !*path)
		return -EINVAL;
	if ((err = fs_atomic_begin(&a, path, 0600))) {
		log_warn("baseline: cannot create a temp file next to %s: %s", path,
			 strerror(-err));
		return err;
	}
	o = json_object_new_object();
	if (!o) {
		err = -ENOMEM;
		goto fail;
	}
	json_object_object_add(o, "moat_baseline", json_object_new_int(BASELINE_FILE_VERSION));
	json_object_object_add(o, "images", json_object_new_int64((int64_t)b->n));
	json_object_object_add(o, "learn_all", json_object_new_boolean(b->learn_all));
	err = write_line(a.f, o);
	json_object_put(o);
	for (size_t i = 0; !err && i < b->n; i++) {
		o = baseline_image_json(b->img[i]);
		err = o ? write_line(a.f, o) : -ENOMEM;
		json_object_put(o);
	}
	if (err)
		goto fail;
	if ((err = fs_atomic_commit(&a)))
		log_warn("baseline: cannot save %s: %s", path, strerror(-err));
	return err;
fail:
	fs_atomic_abort(&a);
	log_warn("baseline: cannot save %s: %s", path, strerror(-err));
	return err;
}

/* ---- loading: every field checked ---- */

/* A string member k of o of at most max-1 bytes without NUL bytes: the string, or NULL. */
static const char *get_str(json_object *o, const char *k, size_t max)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) >= max ||
	    strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

/* A whole number member k of o in [0, max]: 0 with *out set, or -1. */
static int get_num(json_object *o, const char *k, int64_t max, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return *out < 0 || *out > max ? -1 : 0;
}

#define MAX_TIME  ((int64_t)1 << 40)
#define MAX_COUNT ((int64_t)BASELINE_MAX_COUNT)

/* Load item x (item number k, 1-based) into im. Returns NULL, or the bad field's message. */
static const char *load_item(struct baseline *b, struct baseline_image *im, json_object *x,
			     int *refused)
{
	char parents[BASELINE_MAX_PARENTS][BASELINE_NAME_LEN];
	const char *key, *interp = NULL, *kind_s;
	int64_t first, last, count;
	int kind, n_parents = 0, err;
	json_object *v;

	if (!json_object_is_type(x, json_type_object))
		return "is not an object";
	kind_s = get_str(x, "kind", 16);
	if ((kind = baseline_kind_parse(kind_s)) < 0)
		return "field \"kind\" must be exec, domain, connect, direct, udp or listen";
	if (!(key = get_str(x, "key", BASELINE_MAX_KEY)) || !key[0])
		return "field \"key\" must be a non-empty string of at most 319 bytes";
	if (get_num(x, "first_seen", MAX_TIME, &first))
		return "field \"first_seen\" must be a time (Unix seconds)";
	if (get_num(x, "last_seen", MAX_TIME, &last) || last < first)
		return "field \"last_seen\" must be a time (Unix seconds) not before first_seen";
	if (get_num(x, "count", MAX_COUNT, &count) || count < 1)
		return "field \"count\" must be a whole number from 1";
	if (json_object_object_get_ex(x, "interp", &v) &&
	    !(interp = get_str(x, "interp", BASELINE_MAX_KEY)))
		return "field \"interp\" must be a string of at most 319 bytes";
	if (json_object_object_get_ex(x, "parents", &v)) {
		if (!json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > BASELINE_MAX_PARENTS)
			return "field \"parents\" must be an array of at most 4 names";
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *s = json_object_array_get_idx(v, i);

			if (!json_object_is_type(s, json_type_string) ||
			    json_object_get_string_len(s) >= BASELINE_NAME_LEN ||
			    strlen(json_object_get_string(s)) !=
				(size_t)json_object_get_string_len(s))
				return "field \"parents\" must hold names of at most 15 bytes";
			snprintf(parents[n_parents++], BASELINE_NAME_LEN, "%s",
				 json_object_get_string(s));
		}
	}
	err = bl_merge_item(b, im, kind, key, interp, (const char(*)[BASELINE_NAME_LEN])parents,
			    n_parents, first, last, (uint64_t)count);
	if (err == -EDQUOT)
		(*refused)++;
	else if (err < 0)
		return "cannot be stored (out of memory)";
	return NULL;
}

/* Load one image line (JSON object o, line number line). Returns how many parts were bad. */
static int load_image(struct baseline *b, const char *name, int line, json_object *o)
{
	struct baseline_image *im;
	const char *img;
	int64_t first, last, last_new, learn_since, conts, refused;
	json_object *v, *items;
	int bad = 0, n_refused = 0;
	const char *why = NULL;

	if (!json_object_is_type(o, json_type_object))
		why = "is not a JSON object";
	else if (!(img = get_str(o, "image", 256)) || !img[0])
		why = "field \"image\" must be a non-empty string of at most 255 bytes";
	else if (get_num(o, "first_seen", MAX_TIME, &first) ||
		 get_num(o, "last_seen", MAX_TIME, &last) ||
		 get_num(o, "last_new", MAX_TIME, &last_new) ||
		 get_num(o, "learn_since", MAX_TIME, &learn_since))
		why = "fields \"first_seen\", \"last_seen\", \"last_new\", \"learn_since\" must be "
		      "times (Unix seconds)";
	else if (get_num(o, "containers", MAX_COUNT, &conts) ||
		 get_num(o, "refused", MAX_COUNT, &refused))
		why = "fields \"containers\" and \"refused\" must be whole numbers";
	else if (!json_object_object_get_ex(o, "learning", &v) ||
		 !json_object_is_type(v, json_type_boolean))
		why = "field \"learning\" must be true or false";
	else if (!json_object_object_get_ex(o, "items", &items) ||
		 !json_object_is_type(items, json_type_array))
		why = "field \"items\" must be an array";
	if (why) {
		log_warn("%s:%d: image skipped: %s", name, line, why);
		return 1;
	}
	im = baseline_image(b, img, 1);
	if (!im) {
		log_warn("%s:%d: image %s skipped: %s", name, line, img, strerror(errno));
		return 1;
	}
	im->learning = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "enforced", &v) &&
	    json_object_is_type(v, json_type_boolean))
		im->enforced = json_object_get_boolean(v);
	if (first && (!im->first || first < im->first))
		im->first = first;
	if (last > im->last)
		im->last = last;
	if (learn_since && (!im->learn_since || learn_since < im->learn_since))
		im->learn_since = learn_since;
	im->refused += (uint64_t)refused;
	first = im->first; /* the notes below must not move the times */
	last = im->last;
	if (json_object_object_get_ex(o, "ids", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v) && i < BASELINE_MAX_IDS; i++) {
			json_object *s = json_object_array_get_idx(v, i);

			if (json_object_is_type(s, json_type_string))
				baseline_note_container(b, im, NULL, json_object_get_string(s),
							im->last);
		}
	if (json_object_object_get_ex(o, "container_ids", &v) &&
	    json_object_is_type(v, json_type_array)) {
		uint64_t before = im->n_containers;

		for (size_t i = 0; i < json_object_array_length(v) && i < BASELINE_MAX_CTS; i++) {
			json_object *s = json_object_array_get_idx(v, i);

			if (json_object_is_type(s, json_type_string))
				baseline_note_container(b, im, json_object_get_string(s), NULL,
							im->last);
		}
		/* Containers beyond the ids kept still count. */
		if ((uint64_t)conts > im->n_containers - before)
			im->n_containers = before + (uint64_t)conts;
	}
	im->first = first;
	im->last = last;
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		const char *w = load_item(b, im, json_object_array_get_idx(items, i), &n_refused);

		if (w) {
			log_warn("%s:%d: image %s: item %zu skipped: %s", name, line, img, i + 1,
				 w);
			bad++;
		}
	}
	if (n_refused)
		log_warn("%s:%d: image %s: %d item(s) over the caps (learn.max_items_*) not loaded",
			 name, line, img, n_refused);
	/* last_new is what the file says (merging may have set it from items). */
	if (last_new > im->last_new)
		im->last_new = last_new;
	return bad;
}

int baseline_load_buf(struct baseline *b, const char *name, const char *buf, size_t len,
		      int *skipped)
{
	const char *p = buf, *end = buf + len;
	int line = 0, bad = 0;
	json_object *o, *v;

	if (skipped)
		*skipped = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_tokener *tok;

		line++;
		if (n == 0) {
			p += 1;
			continue;
		}
		tok = json_tokener_new_ex(64);
		o = tok ? json_tokener_parse_ex(tok, p, (int)n) : NULL;
		if (o && tok && (size_t)json_tokener_get_parse_end(tok) != n) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tok);
		if (line == 1) {
			if (!o || !json_object_object_get_ex(o, "moat_baseline", &v) ||
			    !json_object_is_type(v, json_type_int) ||
			    json_object_get_int(v) != BASELINE_FILE_VERSION) {
				log_error("%s:1: not a moat baseline file (expected "
					  "{\"moat_baseline\": %d, ...}); not loaded",
					  name, BASELINE_FILE_VERSION);
				json_object_put(o);
				return -EINVAL;
			}
			if (json_object_object_get_ex(o, "learn_all", &v) &&
			    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v))
				b->learn_all = 1;
		} else if (!o) {
			log_warn("%s:%d: image skipped: not valid JSON", name, line);
			bad++;
		} else {
			bad += load_image(b, name, line, o);
		}
		json_object_put(o);
		p += n + (nl ? 1 : 0);
	}
	if (line == 0) {
		log_error("%s:1: empty; not a moat baseline file", name);
		return -EINVAL;
	}
	if (skipped)
		*skipped = bad;
	return 0;
}

int baseline_load(struct baseline *b, const char *path, int *skipped)
{
	char *text;
	size_t len;
	int err = fs_read_all(path, BASELINE_MAX_BYTES, &text, &len);

	if (skipped)
		*skipped = 0;
	if (err) {
		if (err != -ENOENT)
			log_error("%s: cannot read the baseline store: %s", path, strerror(-err));
		return err == -ENOENT ? err : (err == -EFBIG ? -EINVAL : err);
	}
	err = baseline_load_buf(b, path, text, len, skipped);
	free(text);
	return err;
}
