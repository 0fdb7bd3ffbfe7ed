/* rulesfile.c - the egress rules file: load, validate, save, import the
 * seed's format, and write the rules into the kernel maps. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "fs.h"
#include "log.h"
#include "netrules.h"
#include "rulesfile.h"

static const char *const kind_names[] = {
    [RULE_ALLOW_DOMAIN] = "allow-domain",
    [RULE_DENY_DOMAIN] = "deny-domain",
    [RULE_ALLOW_IP] = "allow-ip",
    [RULE_DENY_IP] = "deny-ip",
};

int rule_kind_parse(const char *s)
{
	for (int k = RULE_ALLOW_DOMAIN; k <= RULE_DENY_IP; k++)
		if (!strcmp(s, kind_names[k]))
			return k;
	return 0;
}

const char *rule_kind_name(int kind)
{
	return kind >= RULE_ALLOW_DOMAIN && kind <= RULE_DENY_IP ? kind_names[kind] : "unknown";
}

static int is_ip_kind(int kind)
{
	return kind == RULE_ALLOW_IP || kind == RULE_DENY_IP;
}

int rule_validate(const struct rule *r, const char **why)
{
	char name[MOAT_DNS_NAME_LEN];
	struct cidr c;
	int wildcard;

	if (!rule_kind_name(r->kind)[0] || !strcmp(rule_kind_name(r->kind), "unknown")) {
		*why = "unknown kind (allow-domain, deny-domain, allow-ip, deny-ip)";
		return -EINVAL;
	}
	if (is_ip_kind(r->kind) ? cidr_parse(r->match, &c) != 0
				: domain_normalize(r->match, name, &wildcard) != 0) {
		*why = is_ip_kind(r->kind) ? "not an address or CIDR (10.0.0.0/8, 2001:db8::/32)"
					   : "not a domain pattern (example.com, *.example.com, *)";
		return -EINVAL;
	}
	return 0;
}

void rules_free(struct ruleset *rs)
{
	free(rs->rules);
	rs->rules = NULL;
	rs->n = 0;
}

/* Line of the n-th occurrence of "match" key values is not recoverable
 * from json-c; the line of the value's text is the next best thing. */
static int line_of_text(const char *text, const char *needle)
{
	const char *p = needle && *needle ? strstr(text, needle) : NULL;
	int line = 1;

	for (const char *q = text; p && q < p; q++)
		line += *q == '\n';
	return p ? line : 0;
}

/* Parse text (named path in messages) into a JSON object, logging
 * "path:line: reason" on a syntax error. */
static json_object *parse_json(const char *path, const char *text)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
	enum json_tokener_error jerr = json_tokener_get_error(tok);

	if (!o || jerr != json_tokener_success) {
		size_t off = json_tokener_get_parse_end(tok);
		int line = 1;

		for (size_t i = 0; i < off && text[i]; i++)
			line += text[i] == '\n';
		log_error("%s:%d: not valid JSON: %s", path, line, json_tokener_error_desc(jerr));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int push(struct ruleset *rs, const struct rule *r)
{
	struct rule *nr;

	if (rs->n >= RULES_MAX)
		return -E2BIG;
	nr = realloc(rs->rules, (size_t)(rs->n + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	rs->rules = nr;
	rs->rules[rs->n++] = *r;
	return 0;
}

/* Parse the NUL-terminated text of the file named path over rs (the
 * contract of rules_load for a file that exists). */
static int load_text(struct ruleset *rs, const char *path, const char *text)
{
	struct ruleset next = {0};
	json_object *root, *arr, *v;
	int errors = 0;

	root = parse_json(path, text);
	if (!root)
		return -EINVAL;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "rules", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		log_error("%s:1: expected {\"default\": \"allow\"|\"deny\", \"rules\": [...]} "
			  "(a seed network-rules.json is read by 'moat rules import')",
			  path);
		errors++;
		goto out;
	}
	if (json_object_object_get_ex(root, "default", &v)) {
		const char *d =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (strcmp(d, "allow") && strcmp(d, "deny")) {
			log_error("%s:%d: default: must be \"allow\" or \"deny\"", path,
				  line_of_text(text, "\"default\""));
			errors++;
		} else {
			next.default_deny = !strcmp(d, "deny");
		}
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *f;
		struct rule r = {0};
		const char *why = NULL;

		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "kind", &f) ||
		    !json_object_is_type(f, json_type_string) ||
		    !(r.kind = rule_kind_parse(json_object_get_string(f))) ||
		    !json_object_object_get_ex(o, "match", &f) ||
		    !json_object_is_type(f, json_type_string) ||
		    (size_t)json_object_get_string_len(f) >= sizeof(r.match)) {
			log_error(
			    "%s: rule %zu: needs \"kind\" (allow-domain, deny-domain, allow-ip, "
			    "deny-ip) and \"match\"",
			    path, i + 1);
			errors++;
			continue;
		}
		snprintf(r.match, sizeof(r.match), "%s", json_object_get_string(f));
		if (strlen(r.match) != (size_t)json_object_get_string_len(f)) {
			log_error("%s: rule %zu: \"match\" holds a NUL character (\\u0000)", path,
				  i + 1);
			errors++;
			continue;
		}
		if (json_object_object_get_ex(o, "id", &f) &&
		    json_object_is_type(f, json_type_int) && json_object_get_int64(f) > 0 &&
		    json_object_get_int64(f) < 1000000)
			r.id = (uint32_t)json_object_get_int64(f);
		else
			r.id = (uint32_t)i + 1;
		if (json_object_object_get_ex(o, "comment", &f) && f) {
			if (!json_object_is_type(f, json_type_string) ||
			    strlen(json_object_get_string(f)) !=
				(size_t)json_object_get_string_len(f)) {
				log_error("%s: rule %zu: \"comment\" must be a string without NUL "
					  "characters",
					  path, i + 1);
				errors++;
				continue;
			}
			snprintf(r.comment, sizeof(r.comment), "%s", json_object_get_string(f));
		}
		if (rule_validate(&r, &why)) {
			char quoted[300];

			snprintf(quoted, sizeof(quoted), "\"%s\"", r.match);
			log_error("%s:%d: rule %zu: %s: %s", path, line_of_text(text, quoted),
				  i + 1, r.match, why);
			errors++;
			continue;
		}
		for (int k = 0; k < next.n; k++) {
			if (next.rules[k].id == r.id) {
				log_error("%s: rule %zu: id %u is used twice", path, i + 1, r.id);
				errors++;
			}
			if (rules_same_target(&next.rules[k], &r) && next.rules[k].kind != r.kind) {
				char quoted[300];

				snprintf(quoted, sizeof(quoted), "\"%s\"", r.match);
				log_error(
				    "%s:%d: rule %zu (%s %s) conflicts with rule %u (%s %s): one "
				    "name or address cannot be both allowed and denied; remove "
				    "one",
				    path, line_of_text(text, quoted), i + 1, rule_kind_name(r.kind),
				    r.match, next.rules[k].id, rule_kind_name(next.rules[k].kind),
				    next.rules[k].match);
				errors++;
			}
		}
		if (push(&next, &r))
			errors++;
	}
out:
	json_object_put(root);
	if (errors) {
		log_error("%s: %d error(s); rules not applied, the previous ones stay", path,
			  errors);
		rules_free(&next);
		return -EINVAL;
	}
	rules_free(rs);
	*rs = next;
	return 0;
}

int rules_same_target(const struct rule *a, const struct rule *b)
{
	if (is_ip_kind(a->kind) != is_ip_kind(b->kind))
		return 0;
	if (is_ip_kind(a->kind)) {
		struct cidr x, y;

		return cidr_parse(a->match, &x) == 0 && cidr_parse(b->match, &y) == 0 &&
		       x.family == y.family && x.prefixlen == y.prefixlen &&
		       !memcmp(x.addr, y.addr, 16);
	} else {
		char x[MOAT_DNS_NAME_LEN], y[MOAT_DNS_NAME_LEN];
		int wx, wy;

		return domain_normalize(a->match, x, &wx) == 0 &&
		       domain_normalize(b->match, y, &wy) == 0 && wx == wy && !strcmp(x, y);
	}
}

int rules_load(struct ruleset *rs, const char *path)
{
	char *text;
	size_t len;
	int err = fs_read_all(path, RULES_MAX_BYTES, &text, &len);

	if (err) {
		if (err == -ENOENT) {
			rules_free(rs);
			rs->default_deny = 0;
		} else {
			log_error("%s: cannot read: %s", path, strerror(-err));
		}
		return err;
	}
	err = load_text(rs, path, text);
	free(text);
	return err;
}

/* A NUL-terminated copy of the len bytes at buf (the text ends at the first
 * NUL byte, as in a file), or NULL. */
static char *text_dup(const char *buf, size_t len)
{
	char *text = malloc(len + 1);

	if (text) {
		memcpy(text, buf, len);
		text[len] = 0;
	}
	return text;
}

int rules_load_buf(struct ruleset *rs, const char *name, const char *buf, size_t len)
{
	char *text = text_dup(buf, len);
	int err;

	if (!text)
		return -ENOMEM;
	err = load_text(rs, name, text);
	free(text);
	return err;
}

char *rules_format(const struct ruleset *rs, size_t *len)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	const char *s;
	char *text;
	size_t n;

	json_object_object_add(root, "default",
			       json_object_new_string(rs->default_deny ? "deny" : "allow"));
	for (int i = 0; i < rs->n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(rs->rules[i].id));
		json_object_object_add(o, "kind",
				       json_object_new_string(rule_kind_name(rs->rules[i].kind)));
		json_object_object_add(o, "match", json_object_new_string(rs->rules[i].match));
		if (rs->rules[i].comment[0])
			json_object_object_add(o, "comment",
					       json_object_new_string(rs->rules[i].comment));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "rules", arr);
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	n = s ? strlen(s) : 0;
	text = s ? malloc(n + 2) : NULL;
	if (text) {
		memcpy(text, s, n);
		text[n] = '\n';
		text[n + 1] = '\0';
		*len = n + 1;
	} else {
		errno = ENOMEM;
	}
	json_object_put(root);
	return text;
}

int rules_save(const struct ruleset *rs, const char *path)
{
	size_t n;
	char *text = rules_format(rs, &n);
	int err;

	if (!text)
		return -ENOMEM;
	err = fs_save_atomic(path, text, n, 0644);
	free(text);
	return err;
}

int rules_add(struct ruleset *rs, int kind, const char *match, const char *comment)
{
	struct rule r = {.kind = kind};
	const char *why;
	uint32_t max = 0;

	if (strlen(match) >= sizeof(r.match)) {
		log_error("%.64s...: longer than %zu bytes", match, sizeof(r.match) - 1);
		return -EINVAL;
	}
	snprintf(r.match, sizeof(r.match), "%s", match);
	snprintf(r.comment, sizeof(r.comment), "%s", comment ? comment : "");
	if (rule_validate(&r, &why)) {
		log_error("%s: %s", match, why);
		return -EINVAL;
	}
	for (int i = 0; i < rs->n; i++) {
		if (!strcasecmp(rs->rules[i].match, match) &&
		    is_ip_kind(rs->rules[i].kind) == is_ip_kind(kind)) {
			r.id = rs->rules[i].id;
			rs->rules[i] = r;
			return (int)r.id;
		}
		if (rs->rules[i].id > max)
			max = rs->rules[i].id;
	}
	r.id = max + 1;
	return push(rs, &r) ?: (int)r.id;
}

int rules_remove(struct ruleset *rs, const char *id_or_match)
{
	char *end;
	unsigned long id = strtoul(id_or_match, &end, 10);

	for (int i = 0; i < rs->n; i++) {
		if ((!*end && rs->rules[i].id == id) ||
		    !strcasecmp(rs->rules[i].match, id_or_match)) {
			memmove(&rs->rules[i], &rs->rules[i + 1],
				(size_t)(rs->n - i - 1) * sizeof(rs->rules[0]));
			rs->n--;
			return 0;
		}
	}
	return -ENOENT;
}

/* Merge the NUL-terminated text of the file named path into rs (the
 * contract of rules_import). */
static int import_text(struct ruleset *rs, const char *path, const char *text)
{
	json_object *root, *arr;
	int err = 0, added = 0;

	root = parse_json(path, text);
	if (!root)
		return -EINVAL;
	if (json_object_object_get_ex(root, "rules", &arr)) {
		/* moat's own format: merge by match. */
		struct ruleset other = {0};

		json_object_put(root);
		err = load_text(&other, path, text);
		if (err)
			return err;
		for (int i = 0; i < other.n; i++)
			if (rules_add(rs, other.rules[i].kind, other.rules[i].match,
				      other.rules[i].comment) > 0)
				added++;
		rs->default_deny = other.default_deny;
		rules_free(&other);
		return added;
	}
	if (!json_object_is_type(root, json_type_object)) {
		log_error("%s:1: expected an object of \"name\": \"allow-domain\"|\"deny-domain\"|"
			  "\"allow\"|\"deny\"",
			  path);
		json_object_put(root);
		return -EINVAL;
	}
	json_object_object_foreach(root, key, val)
	{
		const char *a =
		    json_object_is_type(val, json_type_string) ? json_object_get_string(val) : "";
		int allow = !strcmp(a, "allow-domain") || !strcmp(a, "allow");
		int deny = !strcmp(a, "deny-domain") || !strcmp(a, "deny");
		struct cidr c;

		if (!allow && !deny) {
			log_warn("%s: \"%s\": unknown action \"%s\"; skipped", path, key, a);
			continue;
		}
		if (!strncmp(key, "http://", 7) || !strncmp(key, "https://", 8)) {
			log_warn("%s: \"%s\": URL rules are not supported yet (domain and IP rules "
				 "are); skipped",
				 path, key);
			continue;
		}
		if (!strcmp(key, "*")) {
			rs->default_deny = deny;
			added++;
			continue;
		}
		if (rules_add(rs,
			      cidr_parse(key, &c) == 0
				  ? (allow ? RULE_ALLOW_IP : RULE_DENY_IP)
				  : (allow ? RULE_ALLOW_DOMAIN : RULE_DENY_DOMAIN),
			      key, "imported") > 0)
			added++;
		else
			log_warn("%s: \"%s\": not a domain or address; skipped", path, key);
	}
	json_object_put(root);
	return added;
}

int rules_import(struct ruleset *rs, const char *path)
{
	char *text;
	size_t len;
	int err = fs_read_all(path, RULES_MAX_BYTES, &text, &len);

	if (err) {
		log_error("%s: cannot read: %s", path, strerror(-err));
		return err;
	}
	err = import_text(rs, path, text);
	free(text);
	return err;
}

int rules_import_buf(struct ruleset *rs, const char *name, const char *buf, size_t len)
{
	char *text = text_dup(buf, len);
	int err;

	if (!text)
		return -ENOMEM;
	err = import_text(rs, name, text);
	free(text);
	return err;
}

/* ---- into the kernel ---- */

int rules_is_ip(const struct rule *r)
{
	return is_ip_kind(r->kind);
}

int rules_txn_put(const struct ruleset *rs, struct netrules_txn *t, uint32_t policy,
		  uint32_t id_base)
{
	int err = 0, e;

	for (int i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->rules[i];
		int deny = r->kind == RULE_DENY_DOMAIN || r->kind == RULE_DENY_IP;
		struct cidr c;

		if (is_ip_kind(r->kind) && policy) {
			continue; /* IP rules are global: only rule set 0 carries them */
		} else if (is_ip_kind(r->kind)) {
			e = cidr_parse(r->match, &c);
			if (!e)
				e = netrules_txn_put(t, &c, deny ? MOAT_ACT_DENY : MOAT_ACT_ALLOW,
						     id_base + r->id);
		} else {
			e = netrules_txn_domain_put(t, policy, r->match,
						    deny ? MOAT_ACT_DENY : MOAT_ACT_ALLOW,
						    id_base + r->id);
		}
		if (e && !err)
			err = e;
	}
	/* "*": every other name, allowed (any name resolved may be reached; a
	 * hard-coded address still may not) or denied. */
	e = netrules_txn_domain_put(t, policy, "*",
				    rs->default_deny ? MOAT_ACT_DENY : MOAT_ACT_ALLOW, id_base);
	return err ? err : e;
}

int rules_apply(const struct ruleset *rs, const char *pin_dir, uint32_t policy)
{
	const struct netrules_range mine = {RULES_ID_BASE, RULES_ID_END};
	struct netrules_txn t;
	int err = netrules_txn_begin(&t, pin_dir, &mine, 1);

	if (err)
		return err;
	err = rules_txn_put(rs, &t, policy, RULES_ID_BASE);
	if (err) {
		netrules_txn_abort(&t);
		return err;
	}
	return netrules_txn_commit(&t);
}

int rules_decide(const struct ruleset *rs, const char *name, const struct rule **rule)
{
	const struct rule *best = NULL;
	size_t best_len = 0;
	int best_exact = 0;

	for (int i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->rules[i];
		char n[MOAT_DNS_NAME_LEN];
		size_t nl, ql = strlen(name);
		int w;

		if (is_ip_kind(r->kind) || domain_normalize(r->match, n, &w))
			continue;
		nl = strlen(n);
		if (!w && !strcasecmp(n, name)) {
			best = r;
			best_exact = 1;
			break;
		}
		/* *.suffix: name must end in ".suffix" */
		if (w && nl && ql > nl + 1 && name[ql - nl - 1] == '.' &&
		    !strcasecmp(name + ql - nl, n) && nl > best_len && !best_exact) {
			best = r;
			best_len = nl;
		}
	}
	*rule = best;
	if (best)
		return best->kind == RULE_DENY_DOMAIN ? MOAT_ACT_DENY : MOAT_ACT_ALLOW;
	return rs->default_deny ? MOAT_ACT_DENY : MOAT_ACT_ALLOW;
}

const struct rule *rules_by_kernel_id(const struct ruleset *rs, uint32_t id_base,
				      uint32_t kernel_id)
{
	for (int i = 0; i < rs->n; i++)
		if (id_base + rs->rules[i].id == kernel_id)
			return &rs->rules[i];
	return NULL;
}
