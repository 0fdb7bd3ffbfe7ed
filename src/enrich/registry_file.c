/* registry_file.c - the persisted registry: registry_save writes JSON Lines atomically,
 * registry_load merges a file back, checking every entry (a bad one is skipped and named). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "registry_int.h"

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
	struct fs_atomic a;
	json_object *o = NULL;
	int err;

	if (!r || !path || !*path)
		return -EINVAL;
	if ((err = fs_atomic_begin(&a, path, 0600))) {
		log_warn("registry: cannot create a temp file next to %s: %s", path,
			 strerror(-err));
		return err;
	}
	o = json_object_new_object();
	if (!o || reg_jadd(o, "moat_registry", json_object_new_int(REGISTRY_FILE_VERSION)) ||
	    reg_jadd(o, "entries", json_object_new_int64((int64_t)r->n_entries))) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = write_line(a.f, o)))
		goto fail;
	json_object_put(o);
	o = NULL;
	for (uint32_t i = r->lru_tail; i != NIL; i = E(r, i)->prev) {
		o = reg_entry_json(r, i);
		if (!o) {
			err = -ENOMEM;
			goto fail;
		}
		if ((err = write_line(a.f, o)))
			goto fail;
		json_object_put(o);
		o = NULL;
	}
	if ((err = fs_atomic_commit(&a)))
		log_warn("registry: cannot save %s: %s", path, strerror(-err));
	return err;
fail:
	json_object_put(o);
	fs_atomic_abort(&a);
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

/* Member `key` of o as a time or count (an integer 0 .. UINT32_MAX) into *out; def when it
 * is missing and not required. 0, or -EINVAL with a message in err. */
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
	n = reg_name_norm(json_object_get_string(v), l->strs);
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
		    (n = reg_name_norm(json_object_get_string(c), l->strs + l->strs_len)) < 0) {
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
		if (has_nul(v) || reg_addr_parse(json_object_get_string(v), l->addrs[s])) {
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

				if (reg_addr_parse(key, a) ||
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
		cids[n_cids] = reg_cid_get(r, json_object_get_string(v));
		if (cids[n_cids] < 0) {
			err = cids[n_cids];
			goto cleanup;
		}
	}
	if ((err = reg_edit_begin(r, l->strs, l->name_len, l->first_seen)))
		goto cleanup;
	reg_edit_strs(d, l->strs, l->strs_len, l->n_cnames);
	for (unsigned a = 0; a < l->n_addrs; a++) {
		slots[a] = reg_edit_addr(r, l->addrs[a]);
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
		cs = reg_edit_cont(r, (uint16_t)cids[c], cseen);
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
					seen, reg_addr_str(l->addrs[a], buf, sizeof(buf)), &v))
					continue;
				t = (uint32_t)json_object_get_int64(v);
			}
			/* A later address of this entry may have taken the slot (over the bound).
			 */
			if (!alive(r, t, l->ttl[a], now) || !d_slot_is(d, slots[a], l->addrs[a]))
				continue;
			reg_edit_touch(r, slots[a], cs, t);
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
	if ((err = reg_edit_commit(r)))
		goto cleanup;
	reg_lru_touch(r, r->ed.idx);
	err = 1;
cleanup:
	while (n_cids-- > 0)
		reg_cid_unref(r, (uint16_t)cids[n_cids]);
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
