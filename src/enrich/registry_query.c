/* registry_query.c - registry entries as JSON (the registry_query and file format) and
 * registry_query: by name, by *.suffix, by address, or all. */
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"

/* ---- JSON ---- */

int reg_jadd(json_object *o, const char *key, json_object *v)
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

json_object *reg_entry_json(const struct registry *r, uint32_t i)
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
	err = reg_jadd(o, "name", json_object_new_string(s));
	err = err ?: reg_jadd(o, "addrs", addrs = json_object_new_array());
	err = err ?: reg_jadd(o, "cnames", cnames = json_object_new_array());
	err = err ?: reg_jadd(o, "first_seen", json_object_new_int64(w.first_seen));
	err = err ?: reg_jadd(o, "last_seen", json_object_new_int64(v_last_seen(&w)));
	err = err ?: reg_jadd(o, "count", json_object_new_int64(v_count(&w)));
	err = err ?: reg_jadd(o, "containers", conts = json_object_new_array());
	for (unsigned k = 0; k < w.na && !err; k++) {
		json_object *ao = json_object_new_object();
		uint8_t a[16];

		v_addr(&w, k, a);
		reg_addr_str(a, buf, sizeof(buf));
		err = jpush(addrs, ao);
		err = err ?: reg_jadd(ao, "addr", json_object_new_string(buf));
		err = err ?: reg_jadd(ao, "ttl", json_object_new_int64(v_ttl(&w, k)));
		err = err
			  ?: reg_jadd(ao, "last_seen",
				      json_object_new_int64(v_addr_last_seen(&w, k)));
	}
	for (unsigned k = 0; k < w.ncn && !err; k++) {
		s += strlen(s) + 1;
		err = jpush(cnames, json_object_new_string(s));
	}
	for (unsigned c = 0; c < w.nc && !err; c++) {
		json_object *co = json_object_new_object(), *seen = NULL;

		err = jpush(conts, co);
		err = err ?: reg_jadd(co, "id", json_object_new_string(r->cids[w.cidx[c]].id));
		err = err ?: reg_jadd(co, "count", json_object_new_int64(w.ccount[c]));
		err = err ?: reg_jadd(co, "last_seen", json_object_new_int64(w.clast[c]));
		err = err ?: reg_jadd(co, "seen", seen = json_object_new_object());
		for (unsigned k = 0; k < w.na && !err; k++) {
			uint8_t a[16];

			if (!v_seen(&w, c, k))
				continue;
			v_addr(&w, k, a);
			reg_addr_str(a, buf, sizeof(buf));
			err = reg_jadd(seen, buf, json_object_new_int64(v_time(&w, c, k)));
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
		if (reg_addr_parse(q, a) == 0) {
			mode = Q_ADDR;
		} else if (q[0] == '*' && q[1] == '.') {
			mode = Q_SUFFIX;
			len = reg_name_norm(q + 1, name); /* keeps the leading dot */
		} else {
			mode = Q_NAME;
			len = reg_name_norm(q, name);
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

		if (i != NIL && jpush(arr, reg_entry_json(r, i)))
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
		if (jpush(arr, reg_entry_json(r, i)))
			goto nomem;
		n++;
	}
	return arr;
nomem:
	json_object_put(arr);
	errno = ENOMEM;
	return NULL;
}
