/* api_rules.c - the egress rules file through the API: list and export read the file,
 * the changes go through policy/rulesedit.c (the same validation, lock and atomic save as
 * `moat rules`), after which moat run is asked to load the file into the kernel at once. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "log.h"
#include "rulesedit.h"

/* The rules file: the server's, else the one moat run names. 0 or -1 with rs set. */
static int rules_path(const struct web_env *env, char *buf, size_t n, struct web_response *rs)
{
	json_object *a, *v;

	if (env->rules_file && env->rules_file[0]) {
		snprintf(buf, n, "%s", env->rules_file);
		return 0;
	}
	if (!(a = api_ask(env, "rules", NULL, API_CTL_TIMEOUT_MS, rs)))
		return -1;
	snprintf(buf, n, "%s",
		 json_object_object_get_ex(a, "file", &v) ? json_object_get_string(v) : "");
	json_object_put(a);
	return 0;
}

/* Load the rules file (missing: the empty set). 0 or -1 with rs set. */
static int load(const struct web_env *env, struct ruleset *set, char *path, size_t n,
		struct web_response *rs)
{
	char msg[512], why[600];
	int err;

	if (rules_path(env, path, n, rs))
		return -1;
	log_capture_begin(msg, sizeof(msg));
	err = rules_load(set, path);
	log_capture_end();
	if (err && err != -ENOENT) {
		snprintf(why, sizeof(why), "the rules file does not load: %s (fix it by hand)",
			 msg[0] ? msg : strerror(-err));
		web_error(rs, 500, why);
		return -1;
	}
	return 0;
}

void api_rules_get(const struct web_env *env, const struct web_request *rq, struct web_response *rs)
{
	struct ruleset set = {0};
	char path[4096];
	json_object *list;

	if (load(env, &set, path, sizeof(path), rs))
		return;
	list = json_object_new_array();
	for (int i = 0; i < set.n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(set.rules[i].id));
		json_object_object_add(o, "kind",
				       json_object_new_string(rule_kind_name(set.rules[i].kind)));
		json_object_object_add(o, "match", json_object_new_string(set.rules[i].match));
		json_object_object_add(o, "comment", json_object_new_string(set.rules[i].comment));
		json_object_array_add(list, o);
	}
	rs->status = 200;
	rs->json = json_object_new_object();
	json_object_object_add(rs->json, "file", json_object_new_string(path));
	json_object_object_add(rs->json, "default",
			       json_object_new_string(set.default_deny ? "deny" : "allow"));
	json_object_object_add(rs->json, "rules", list);
	rules_free(&set);
}

void api_rules_export(const struct web_env *env, const struct web_request *rq,
		      struct web_response *rs)
{
	struct ruleset set = {0};
	char path[4096];
	size_t n;

	if (load(env, &set, path, sizeof(path), rs))
		return;
	rs->text = rules_format(&set, &n);
	rules_free(&set);
	if (!rs->text) {
		web_error(rs, 500, "out of memory");
		return;
	}
	rs->status = 200;
	rs->content_type = "text/plain; charset=utf-8";
}

/* Apply e to the rules file, then have moat run load it. The answer: {"applied":bool}
 * plus result_key: the edit's result when result_key is not NULL. */
static void edit(const struct web_env *env, const struct rules_edit *e, const char *result_key,
		 struct web_response *rs)
{
	struct ruleset set = {0};
	struct web_response ignored = {0};
	char path[4096], why[512];
	json_object *a, *reload;
	int ret;

	if (rules_path(env, path, sizeof(path), rs))
		return;
	ret = rules_edit_file(path, e, &set, why, sizeof(why));
	rules_free(&set);
	if (ret < 0) {
		web_error(rs, ret == -EINVAL ? 400 : ret == -ENOENT ? 404 : 500, why);
		return;
	}
	rs->status = 200;
	rs->json = json_object_new_object();
	if (result_key)
		json_object_object_add(rs->json, result_key, json_object_new_int(ret));
	/* moat run reloads the file on inotify too; asking makes the answer say it is done */
	reload = json_object_new_object();
	json_object_object_add(reload, "reload", json_object_new_boolean(1));
	a = api_ask(env, "rules", reload, API_CTL_TIMEOUT_MS, &ignored);
	json_object_put(ignored.json);
	if (a) {
		json_object_put(a);
		json_object_object_add(rs->json, "applied", json_object_new_boolean(1));
	} else {
		json_object_object_add(rs->json, "applied", json_object_new_boolean(0));
		json_object_object_add(rs->json, "warning",
				       json_object_new_string("saved, but moat run did not load it "
							      "now (is it running? its log says "
							      "why); it reloads the file when it "
							      "changes"));
	}
}

void api_rules_add(const struct web_env *env, const struct web_request *rq, struct web_response *rs)
{
	json_object *b = api_body(rq, rs);
	const char *verdict, *match, *comment;
	struct rules_edit e = {.op = RULES_EDIT_ADD};

	if (!b)
		return;
	if (!(verdict = api_str(b, "verdict", 1, 16, rs)) ||
	    !(match = api_str(b, "match", 1, 255, rs)))
		goto out;
	comment = api_str(b, "comment", 0, 127, rs);
	if (rs->status)
		goto out;
	if (!(e.kind = rules_edit_kind(verdict, match))) {
		web_error(rs, 400, "field \"verdict\" must be allow or deny");
		goto out;
	}
	if (!*match) {
		web_error(rs, 400,
			  "field \"match\" is empty: give a domain (example.com), "
			  "*.domain or an IP/CIDR (10.0.0.0/8)");
		goto out;
	}
	e.match = match;
	e.comment = comment ? comment : "";
	edit(env, &e, "id", rs);
out:
	json_object_put(b);
}

void api_rules_remove(const struct web_env *env, const struct web_request *rq,
		      struct web_response *rs)
{
	json_object *b = api_body(rq, rs), *v;
	struct rules_edit e = {.op = RULES_EDIT_REMOVE};
	char id[32];

	if (!b)
		return;
	if (json_object_object_get_ex(b, "rule", &v) && json_object_is_type(v, json_type_int)) {
		snprintf(id, sizeof(id), "%" PRId64, json_object_get_int64(v));
		e.match = id;
	} else if (!(e.match = api_str(b, "rule", 1, 255, rs))) {
		goto out;
	}
	if (!*e.match) {
		web_error(rs, 400, "field \"rule\" is empty: give a rule's id or match");
		goto out;
	}
	edit(env, &e, NULL, rs);
out:
	json_object_put(b);
}

void api_rules_default(const struct web_env *env, const struct web_request *rq,
		       struct web_response *rs)
{
	json_object *b = api_body(rq, rs);
	struct rules_edit e = {.op = RULES_EDIT_DEFAULT};
	const char *d;

	if (!b)
		return;
	if (!(d = api_str(b, "default", 1, 16, rs)))
		goto out;
	if (strcmp(d, "allow") && strcmp(d, "deny")) {
		web_error(rs, 400, "field \"default\" must be allow or deny");
		goto out;
	}
	e.default_deny = !strcmp(d, "deny");
	edit(env, &e, NULL, rs);
out:
	json_object_put(b);
}

void api_rules_import(const struct web_env *env, const struct web_request *rq,
		      struct web_response *rs)
{
	json_object *b = api_body(rq, rs), *v;
	struct rules_edit e = {.op = RULES_EDIT_IMPORT};

	if (!b)
		return;
	if (!json_object_object_get_ex(b, "text", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		web_error(rs, 400,
			  "field \"text\" must be a string holding a rules file (moat's "
			  "format or the seed's network-rules.json)");
		goto out;
	}
	e.text = json_object_get_string(v);
	e.text_len = (size_t)json_object_get_string_len(v);
	edit(env, &e, "imported", rs);
out:
	json_object_put(b);
}
