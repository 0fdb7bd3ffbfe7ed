/* api.c - the dashboard's HTTP API: one table of routes (web_routes, documented in
 * docs/api.md and checked against it by tests/unit/web/test_api.c) and the handlers that
 * ask moat run through the control socket. The alert log's pages are api_alerts.c, the
 * rules file's edits api_rules.c, GET /metrics metrics.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "ctlclient.h"
#include "metrics.h"

json_object *api_ask(const struct web_env *env, const char *cmd, json_object *args, int timeout_ms,
		     struct web_response *rs)
{
	json_object *req = args ? args : json_object_new_object(), *a, *v;
	const char *err;
	char msg[512];
	int saved;

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	a = control_call(env->ctl_path, req, timeout_ms);
	saved = errno;
	json_object_put(req);
	if (!a) {
		errno = saved;
		snprintf(msg, sizeof(msg),
			 errno == ETIMEDOUT
			     ? "moat run did not answer on %s in time; retry, and check its log"
			     : "moat run is not answering on %s (%s): is it running?",
			 env->ctl_path, strerror(errno));
		web_error(rs, 503, msg);
		return NULL;
	}
	if (json_object_object_get_ex(a, "ok", &v) && json_object_get_boolean(v))
		return a;
	err = json_object_object_get_ex(a, "error", &v) ? json_object_get_string(v)
							: "moat run refused the request";
	web_error(rs,
		  strstr(err, "no such")		       ? 404
		  : strstr(err, "retry")		       ? 503
		  : json_object_object_get_ex(a, "action", &v) ? 502 /* Docker failed it */
							       : 400,
		  err);
	json_object_put(a);
	return NULL;
}

json_object *api_body(const struct web_request *rq, struct web_response *rs)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = NULL;
	char msg[256];

	if (!tok) {
		web_error(rs, 500, "out of memory");
		return NULL;
	}
	if (rq->body_len)
		o = json_tokener_parse_ex(tok, rq->body, (int)rq->body_len);
	if (!o || json_tokener_get_parse_end(tok) != rq->body_len) {
		snprintf(msg, sizeof(msg),
			 "the body is not one JSON object (%s); send Content-Type: "
			 "application/json with an object as docs/api.md shows",
			 rq->body_len ? json_tokener_error_desc(json_tokener_get_error(tok))
				      : "it is empty");
		web_error(rs, 400, msg);
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		web_error(rs, 400, "the body must be a JSON object ({...}), as docs/api.md shows");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

const char *api_str(json_object *o, const char *key, int required, size_t max,
		    struct web_response *rs)
{
	json_object *v;
	char msg[256];

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required) {
			snprintf(msg, sizeof(msg), "field \"%s\" is missing; see docs/api.md", key);
			web_error(rs, 400, msg);
		}
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(msg, sizeof(msg), "field \"%s\" must be a string", key);
		web_error(rs, 400, msg);
		return NULL;
	}
	if ((size_t)json_object_get_string_len(v) > max ||
	    memchr(json_object_get_string(v), 0, (size_t)json_object_get_string_len(v))) {
		snprintf(msg, sizeof(msg), "field \"%s\" is longer than %zu bytes or holds a NUL",
			 key, max);
		web_error(rs, 400, msg);
		return NULL;
	}
	return json_object_get_string(v);
}

json_object *api_strip_ok(json_object *src)
{
	json_object *o = json_object_new_object();

	json_object_object_foreach(src, k, v)
	{
		if (strcmp(k, "ok"))
			json_object_object_add(o, k, json_object_get(v));
	}
	return o;
}

/* Answer with member key of the answer to cmd (args taken), or with the whole answer but
 * "ok" when key is NULL. */
static void relay(const struct web_env *env, const char *cmd, json_object *args, const char *key,
		  struct web_response *rs)
{
	json_object *a = api_ask(env, cmd, args, API_CTL_TIMEOUT_MS, rs), *v;

	if (!a)
		return;
	rs->status = 200;
	if (key && json_object_object_get_ex(a, key, &v))
		rs->json = json_object_get(v);
	else
		rs->json = api_strip_ok(a);
	json_object_put(a);
}

static void h_status(const struct web_env *env, const struct web_request *rq,
		     struct web_response *rs)
{
	relay(env, "status", NULL, "status", rs);
}

/* GET /api/containers: the status's containers, each with its last resource sample. */
static void h_containers(const struct web_env *env, const struct web_request *rq,
			 struct web_response *rs)
{
	json_object *st = api_ask(env, "status", NULL, API_CTL_TIMEOUT_MS, rs), *res, *s, *cs, *out;

	if (!st)
		return;
	res = api_ask(env, "resources", NULL, API_CTL_TIMEOUT_MS, rs);
	if (!res) {
		json_object_put(st);
		return;
	}
	out = json_object_new_array();
	if (json_object_object_get_ex(st, "status", &s) &&
	    json_object_object_get_ex(s, "containers", &cs)) {
		json_object *rl = NULL;

		json_object_object_get_ex(res, "resources", &rl);
		for (size_t i = 0; i < json_object_array_length(cs); i++) {
			json_object *c = json_object_array_get_idx(cs, i), *id, *last = NULL;

			json_object_object_get_ex(c, "id", &id);
			for (size_t k = 0; rl && k < json_object_array_length(rl); k++) {
				json_object *r = json_object_array_get_idx(rl, k), *rid;

				if (json_object_object_get_ex(r, "id", &rid) &&
				    !strcmp(json_object_get_string(rid),
					    json_object_get_string(id)))
					json_object_object_get_ex(r, "latest", &last);
			}
			json_object_object_add(c, "resources", json_object_get(last));
			json_object_array_add(out, json_object_get(c));
		}
	}
	json_object_put(st);
	json_object_put(res);
	rs->status = 200;
	rs->json = json_object_new_object();
	json_object_object_add(rs->json, "containers", out);
}

/* Rename member "name" to field in each object of arr (keeping "name"). */
static json_object *named(json_object *arr, const char *field)
{
	json_object *out = json_object_new_array(), *v;

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		if (json_object_object_get_ex(o, "name", &v))
			json_object_object_add(o, field, json_object_get(v));
		json_object_array_add(out, json_object_get(o));
	}
	return out;
}

/* GET /api/egress: decisions per domain and container, the last decisions newest first. */
static void h_egress(const struct web_env *env, const struct web_request *rq,
		     struct web_response *rs)
{
	json_object *a = api_ask(env, "egress", NULL, API_CTL_TIMEOUT_MS, rs), *e, *v,
		    *log = json_object_new_array();

	if (!a) {
		json_object_put(log);
		return;
	}
	rs->status = 200;
	rs->json = json_object_new_object();
	if (!json_object_object_get_ex(a, "egress", &e))
		e = NULL;
	json_object_object_add(
	    rs->json, "domains",
	    named(json_object_object_get_ex(e, "domains", &v) ? v : NULL, "domain"));
	json_object_object_add(
	    rs->json, "containers",
	    named(json_object_object_get_ex(e, "containers", &v) ? v : NULL, "container"));
	if (json_object_object_get_ex(e, "recent", &v))
		for (size_t i = json_object_array_length(v); i > 0; i--)
			json_object_array_add(log,
					      json_object_get(json_object_array_get_idx(v, i - 1)));
	json_object_object_add(rs->json, "log", log);
	if (json_object_object_get_ex(e, "totals", &v))
		json_object_object_add(rs->json, "totals", json_object_get(v));
	if (json_object_object_get_ex(e, "since", &v))
		json_object_object_add(rs->json, "since", json_object_get(v));
	json_object_put(a);
}

static void h_registry(const struct web_env *env, const struct web_request *rq,
		       struct web_response *rs)
{
	char q[256];
	json_object *args = json_object_new_object();
	int err = web_query_get(rq->query, "q", q, sizeof(q));

	if (err == -ENAMETOOLONG) {
		json_object_put(args);
		web_error(rs, 400, "q is longer than 255 bytes: give a domain or part of one");
		return;
	}
	if (!err && q[0])
		json_object_object_add(args, "q", json_object_new_string(q));
	relay(env, "registry", args, NULL, rs);
}

static void h_policies(const struct web_env *env, const struct web_request *rq,
		       struct web_response *rs)
{
	relay(env, "policies", NULL, NULL, rs);
}

static void h_prompts(const struct web_env *env, const struct web_request *rq,
		      struct web_response *rs)
{
	relay(env, "pending", NULL, NULL, rs);
}

static const char *const choices[] = {"allow-once",  "deny-once", "allow-domain",
				      "deny-domain", "allow-ip",  "deny-ip"};

static void h_decide(const struct web_env *env, const struct web_request *rq,
		     struct web_response *rs)
{
	json_object *b = api_body(rq, rs), *v, *args;
	const char *choice;
	int64_t id;
	size_t k;

	if (!b)
		return;
	if (!json_object_object_get_ex(b, "id", &v) || !json_object_is_type(v, json_type_int) ||
	    (id = json_object_get_int64(v)) <= 0 || id > UINT32_MAX) {
		web_error(rs, 400,
			  "field \"id\" must be the prompt's id, a positive integer "
			  "(GET /api/prompts lists them)");
		goto out;
	}
	if (!(choice = api_str(b, "choice", 1, 32, rs)))
		goto out;
	for (k = 0; k < sizeof(choices) / sizeof(choices[0]) && strcmp(choices[k], choice); k++)
		;
	if (k == sizeof(choices) / sizeof(choices[0])) {
		web_error(rs, 400,
			  "field \"choice\" must be allow-once, deny-once, allow-domain, "
			  "deny-domain, allow-ip or deny-ip");
		goto out;
	}
	args = json_object_new_object();
	json_object_object_add(args, "id", json_object_new_int64(id));
	json_object_object_add(args, "choice", json_object_new_string(choice));
	relay(env, "decide", args, NULL, rs);
out:
	json_object_put(b);
}

static void pause_resume(const struct web_env *env, const struct web_request *rq,
			 struct web_response *rs, const char *cmd)
{
	json_object *b = api_body(rq, rs), *a, *args;
	const char *c;

	if (!b)
		return;
	if (!(c = api_str(b, "container", 1, 256, rs)) || !*c) {
		if (c)
			web_error(rs, 400, "field \"container\" is empty: give a name or id");
		json_object_put(b);
		return;
	}
	args = json_object_new_object();
	json_object_object_add(args, "container", json_object_new_string(c));
	json_object_put(b);
	a = api_ask(env, cmd, args, API_ACTION_TIMEOUT_MS, rs);
	if (!a)
		return;
	rs->status = 200;
	rs->json = api_strip_ok(a);
	json_object_put(a);
}

static void h_pause(const struct web_env *env, const struct web_request *rq,
		    struct web_response *rs)
{
	pause_resume(env, rq, rs, "pause");
}

static void h_resume(const struct web_env *env, const struct web_request *rq,
		     struct web_response *rs)
{
	pause_resume(env, rq, rs, "resume");
}

static void h_counters(const struct web_env *env, const struct web_request *rq,
		       struct web_response *rs)
{
	relay(env, "counters", NULL, NULL, rs);
}

static void h_resources(const struct web_env *env, const struct web_request *rq,
			struct web_response *rs)
{
	char c[256], h[8];
	json_object *args = json_object_new_object();
	int err = web_query_get(rq->query, "container", c, sizeof(c));

	if (err == -ENAMETOOLONG) {
		json_object_put(args);
		web_error(rs, 400, "container is longer than 255 bytes: give a name or id");
		return;
	}
	if (!err && c[0])
		json_object_object_add(args, "container", json_object_new_string(c));
	if (web_query_get(rq->query, "history", h, sizeof(h)) == 0) {
		if (strcmp(h, "1") && strcmp(h, "0") && strcmp(h, "true") && strcmp(h, "false")) {
			json_object_put(args);
			web_error(rs, 400, "history must be 1 or 0");
			return;
		}
		json_object_object_add(
		    args, "history",
		    json_object_new_boolean(!strcmp(h, "1") || !strcmp(h, "true")));
	}
	relay(env, "resources", args, NULL, rs);
}

const struct web_route web_routes[] = {
    {"GET", "/api/status", h_status, "moat run's status: mode, uptime, counters, containers"},
    {"GET", "/api/containers", h_containers,
     "the containers watched, with policy, egress mode and last resource sample"},
    {"GET", "/api/alerts", api_alerts,
     "alerts from the alert log, newest first: severity, rule, container, since, before, "
     "limit, cursor"},
    {"GET", "/api/egress", h_egress,
     "egress decisions per domain and per container, and the last decisions"},
    {"GET", "/api/registry", h_registry, "the DNS registry: who resolved what (q filters)"},
    {"GET", "/api/rules", api_rules_get, "the egress rules file: its rules and default"},
    {"POST", "/api/rules", api_rules_add, "add an egress rule: verdict, match, comment"},
    {"POST", "/api/rules/remove", api_rules_remove, "remove an egress rule by id or match"},
    {"POST", "/api/rules/default", api_rules_default, "set the egress default: allow or deny"},
    {"POST", "/api/rules/import", api_rules_import,
     "import rules (moat's format or the seed's) into the rules file"},
    {"GET", "/api/rules/export", api_rules_export, "the rules file's text"},
    {"GET", "/api/policies", h_policies, "the container-guard policies in force"},
    {"GET", "/api/prompts", h_prompts, "the pending egress prompts"},
    {"POST", "/api/prompts/decide", h_decide, "decide a pending prompt: one of the six choices"},
    {"POST", "/api/containers/pause", h_pause, "pause a container; answers once done"},
    {"POST", "/api/containers/resume", h_resume, "resume a container; answers once done"},
    {"GET", "/api/counters", h_counters,
     "kernel counters per program, alerts per rule, actions per kind"},
    {"GET", "/api/resources", h_resources,
     "resource stats per container (history=1: with history)"},
    {"GET", "/metrics", metrics_handler, "Prometheus metrics (text format 0.0.4)"},
};
const size_t n_web_routes = sizeof(web_routes) / sizeof(web_routes[0]);
