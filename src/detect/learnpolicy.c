/* learnpolicy.c - a learned baseline as a policy and its rule set (learnpolicy.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnpolicy.h"
#include "policy.h"

void learnpolicy_id(const char *image, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "learned-");

	for (const char *p = image; *p && n + 1 < len && n < 63; p++)
		buf[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				   (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'
			       ? *p
			       : '-';
	if (len)
		buf[n < len ? n : len - 1] = 0;
}

/* A growing list of unique strings. */
struct strs {
	char **s;
	size_t n, cap;
};

static int strs_add(struct strs *l, const char *s, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->s[i]) == len && !strncmp(l->s[i], s, len))
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **n = realloc(l->s, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->s = n;
		l->cap = cap;
	}
	if (!(l->s[l->n] = strndup(s, len)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static void strs_free(struct strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The name part of a connect/udp key "NAME:PORT/proto" (len in *n), or NULL when the key is
 * an address (digits, dots, colons: IPv4, IPv6 in brackets). */
static const char *key_name(const char *key, size_t *n)
{
	const char *colon = strrchr(key, ':');

	if (!colon || key[0] == '[')
		return NULL;
	*n = (size_t)(colon - key);
	for (size_t i = 0; i < *n; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || key[i] == '.'))
			return key;
	return NULL; /* an IPv4 address */
}

/* The parent of name: after its first label, or NULL for a single label or a TLD+1 (a
 * wildcard over "*.com" would allow everything). */
static const char *parent_of(const char *name)
{
	const char *dot = strchr(name, '.'), *last;

	if (!dot || !(last = strrchr(dot + 1, '.')))
		return NULL;
	/* "co.uk", "com.au": a short second level under a two-letter TLD is no parent. */
	if (strlen(last + 1) == 2 && last - (dot + 1) <= 3)
		return NULL;
	return dot + 1;
}

static void note(json_object *notes, const char *fmt, const char *a, const char *b)
{
	char buf[768];

	snprintf(buf, sizeof(buf), fmt, a, b ? b : "");
	json_object_array_add(notes, json_object_new_string(buf));
}

/* Names into the rule set: each one, or *.parent for parents with at least w children. */
static int add_domains(struct ruleset *rs, struct strs *names, unsigned w, json_object *notes)
{
	int err = 0;

	qsort(names->s, names->n, sizeof(char *), by_str);
	for (size_t i = 0; !err && i < names->n; i++) {
		const char *p = parent_of(names->s[i]);
		char pat[300];
		unsigned kids = 0;
		struct rule r = {.kind = RULE_ALLOW_DOMAIN};
		const char *why;

		if (w && p) {
			for (size_t k = 0; k < names->n; k++) {
				const char *q = parent_of(names->s[k]);

				kids += q && !strcmp(q, p);
			}
		}
		if (w && p && kids >= w)
			snprintf(pat, sizeof(pat), "*.%s", p);
		else
			snprintf(pat, sizeof(pat), "%s", names->s[i]);
		if (strlen(pat) >= sizeof(r.match)) {
			note(notes, "name %.200s is too long for a rule; left out%s", names->s[i],
			     NULL);
			continue;
		}
		snprintf(r.match, sizeof(r.match), "%s", pat);
		if (rule_validate(&r, &why)) {
			note(notes, "name %.200s is no valid domain rule (%s); left out",
			     names->s[i], why);
			continue;
		}
		err = rules_add(rs, RULE_ALLOW_DOMAIN, pat, "learned");
		err = err < 0 ? err : 0;
	}
	return err;
}

int learnpolicy_build(const struct baseline_image *im, const struct learnpolicy_opts *o,
		      json_object **policy, struct ruleset *rs, json_object **notes)
{
	struct strs names = {0}, execs = {0};
	struct baseline_info info;
	json_object *doc = NULL, *pol, *arr, *tgt, *imgs, *acts, *allow;
	char id[64], glob[512];
	size_t gi = 0;
	int err = 0;

	*policy = NULL;
	*notes = json_object_new_array();
	if (!*notes)
		return -ENOMEM;
	if (!o || !o->rules_path || o->rules_path[0] != '/')
		return -EINVAL;
	baseline_info(im, &info);
	/* The target: the image name, glob characters escaped. */
	for (const char *p = info.name; *p && gi + 2 < sizeof(glob); p++) {
		if (strchr("*?[]\\", *p))
			glob[gi++] = '\\';
		glob[gi++] = *p;
	}
	glob[gi] = 0;
	if (gi >= 255)
		return -EINVAL;
	json_object *items = baseline_image_json(im);

	if (!items)
		return -ENOMEM;
	json_object *list;

	json_object_object_get_ex(items, "items", &list);
	for (size_t i = 0; !err && i < json_object_array_length(list); i++) {
		json_object *x = json_object_array_get_idx(list, i), *k, *v;
		int kind;
		const char *key, *nm, *base;
		size_t n;

		json_object_object_get_ex(x, "kind", &k);
		json_object_object_get_ex(x, "key", &v);
		kind = baseline_kind_parse(json_object_get_string(k));
		key = json_object_get_string(v);
		switch (kind) {
		case BL_EXEC:
			base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
			if (*base && strlen(base) < POLICY_EXEC_LEN)
				err = strs_add(&execs, base, strlen(base));
			if (!err && json_object_object_get_ex(x, "interp", &v)) {
				key = json_object_get_string(v);
				base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
				if (*base && strlen(base) < POLICY_EXEC_LEN)
					err = strs_add(&execs, base, strlen(base));
			}
			break;
		case BL_DOMAIN: err = strs_add(&names, key, strlen(key)); break;
		case BL_CONNECT:
		case BL_UDP:
			if ((nm = key_name(key, &n))) {
				err = strs_add(&names, nm, n);
				break;
			}
			__attribute__((fallthrough)); /* an address */
		case BL_DIRECT:
			note(*notes,
			     "direct destination %s: IP rules are global, not a policy's; allow it "
			     "with `moat rules allow ADDR` if it is expected%s",
			     key, NULL);
			break;
		default: break;
		}
	}
	json_object_put(items);
	if (!err)
		err = add_domains(rs, &names, o->wildcards, *notes);
	rs->default_deny = 1;
	if (err)
		goto out;
	qsort(execs.s, execs.n, sizeof(char *), by_str);
	learnpolicy_id(info.name, id, sizeof(id));
	doc = json_object_new_object();
	arr = json_object_new_array();
	pol = json_object_new_object();
	tgt = json_object_new_object();
	imgs = json_object_new_array();
	acts = json_object_new_array();
	allow = json_object_new_array();
	json_object_object_add(pol, "id", json_object_new_string(id));
	json_object_object_add(pol, "description",
			       json_object_new_string("generated by moat learn policy"));
	json_object_array_add(imgs, json_object_new_string(glob));
	json_object_object_add(tgt, "images", imgs);
	json_object_object_add(pol, "target", tgt);
	json_object_object_add(pol, "egress", json_object_new_string("enforce"));
	json_object_object_add(pol, "egress_rules", json_object_new_string(o->rules_path));
	for (size_t i = 0; i < execs.n && i < POLICY_MAX_EXEC; i++)
		json_object_array_add(allow, json_object_new_string(execs.s[i]));
	if (execs.n > POLICY_MAX_EXEC)
		note(*notes,
		     "more executables than exec_allow takes (128): %s and later left out%s",
		     execs.s[POLICY_MAX_EXEC], NULL);
	json_object_object_add(pol, "exec_allow", allow);
	json_object_array_add(acts, json_object_new_string("alert"));
	json_object_array_add(acts, json_object_new_string("kill_exec"));
	json_object_object_add(pol, "actions", acts);
	json_object_array_add(arr, pol);
	json_object_object_add(doc, "policies", arr);
	*policy = doc;
out:
	strs_free(&names);
	strs_free(&execs);
	return err;
}
