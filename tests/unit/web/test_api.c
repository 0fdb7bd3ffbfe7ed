/* test_api.c - the dashboard's HTTP API (src/web/api*.c): the route table against
 * docs/api.md, and every route called as the server calls it, against a real control
 * socket served by moat run's own control server and commands (web_rig.h), with real files
 * (the alert log, the rules file) in a scratch directory: good requests and bad input. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "web_rig.h"
#include "alertlog.h"
#include "actions.h"
#include "ctlclient.h"

static struct rig R;
static char scratch[64], alerts[128], rules[128];

static void test_table(void)
{
	char line[512], seen[64] = {0};
	FILE *f = fopen(rig_src_path("docs/api.md"), "re");
	int n_doc = 0, bad = 0, known;
	char why[1024] = "";

	CHECK(f != NULL, "docs/api.md exists", "cannot open %s", rig_src_path("docs/api.md"));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char method[8], path[128];
		size_t i;

		if (sscanf(line, "### %7[A-Z] %127s", method, path) != 2 || path[0] != '/')
			continue;
		n_doc++;
		for (i = 0; i < n_web_routes; i++)
			if (!strcmp(web_routes[i].method, method) &&
			    !strcmp(web_routes[i].path, path))
				break;
		if (i == n_web_routes) {
			bad++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %s %s", method,
				 path);
		} else if (i < sizeof(seen)) {
			seen[i] = 1;
		}
	}
	fclose(f);
	CHECK(!bad && n_doc > 0, "every endpoint docs/api.md documents is in web_routes",
	      "not routed:%s", why);
	why[0] = 0;
	bad = 0;
	for (size_t i = 0; i < n_web_routes; i++)
		if (!seen[i] || !web_routes[i].help || !web_routes[i].help[0]) {
			bad++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %s %s",
				 web_routes[i].method, web_routes[i].path);
		}
	CHECK(!bad, "every route has help and a '### METHOD PATH' section in docs/api.md",
	      "undocumented:%s", why);
	CHECK(web_route_find("GET", "/api/rules", &known) &&
		  web_route_find("POST", "/api/rules", &known),
	      "one path, two methods: GET and POST /api/rules", "not both found");
	CHECK(!web_route_find("DELETE", "/api/rules", &known) && known,
	      "another method on a known path is a 405", "known = %d", known);
	CHECK(!web_route_find("GET", "/api/nope", &known) && !known, "an unknown path is a 404",
	      "known = %d", known);
}

static int call(const char *method, const char *path, const char *query, const char *body,
		struct web_response *rs)
{
	return rig_call(&R.env, method, path, query, body, rs);
}

/* status, the error's text contains want. */
static void check_error(const char *method, const char *path, const char *query, const char *body,
			int status, const char *want, const char *name)
{
	struct web_response rs;
	int st = call(method, path, query, body, &rs);

	CHECK(st == status && rs.json && strstr(rig_str(rs.json, "error"), want), name, "%d %s", st,
	      rs.json ? json_object_to_json_string(rs.json) : "(no json)");
	rig_free(&rs);
}

static json_object *get_ok(const char *path, const char *query, const char *name)
{
	struct web_response rs;
	int st = call("GET", path, query, NULL, &rs);
	json_object *o = rs.json;

	CHECK(st == 200 && o, name, "%d %s", st, o ? json_object_to_json_string(o) : "(no json)");
	rs.json = NULL;
	rig_free(&rs);
	return o;
}

static int arr_len(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array)
		   ? (int)json_object_array_length(v)
		   : -1;
}

static void test_reads(void)
{
	json_object *o, *v;

	o = get_ok("/api/status", NULL, "GET /api/status answers 200");
	CHECK(!strcmp(rig_str(o, "mode"), "enforce") && arr_len(o, "containers") == 0,
	      "with moat run's status object (mode, containers)", "%s",
	      json_object_to_json_string(o));
	json_object_put(o);
	o = get_ok("/api/containers", NULL, "GET /api/containers answers 200");
	CHECK(arr_len(o, "containers") == 0, "with an empty container list", "%s",
	      json_object_to_json_string(o));
	json_object_put(o);
	o = get_ok("/api/egress", NULL, "GET /api/egress answers 200");
	CHECK(arr_len(o, "domains") == 0 && arr_len(o, "containers") == 0 && arr_len(o, "log") == 0,
	      "with domains, containers and log", "%s", json_object_to_json_string(o));
	json_object_put(o);
	o = get_ok("/api/registry", "q=example.com", "GET /api/registry?q= answers 200");
	CHECK(arr_len(o, "entries") == 0, "with its entries", "%s", json_object_to_json_string(o));
	json_object_put(o);
	o = get_ok("/api/policies", NULL, "GET /api/policies answers 200");
	CHECK(arr_len(o, "policies") >= 1 &&
		  (v = json_object_array_get_idx(json_object_object_get(o, "policies"), 0)) &&
		  arr_len(v, "actions") == 1,
	      "with the built-in policy (CRITICAL -> pause)", "%s", json_object_to_json_string(o));
	json_object_put(o);
	o = get_ok("/api/prompts", NULL, "GET /api/prompts answers 200");
	CHECK(arr_len(o, "pending") == 0, "with no pending prompt", "%s",
	      json_object_to_json_string(o));
	json_object_put(o);
	o = get_ok("/api/counters", NULL, "GET /api/counters answers 200");
	CHECK(arr_len(o, "programs") == 0 && strcmp(rig_str(o, "kernel_error"), "(missing)") &&
		  arr_len(o, "alerts") == 2 && arr_len(o, "actions") == 1,
	      "with the alerts per rule and actions per kind moat run counted, and why there "
	      "are no kernel counters",
	      "%s", json_object_to_json_string(o));
	json_object_put(o);
	o = get_ok("/api/resources", "container=web&history=1", "GET /api/resources answers 200");
	CHECK(arr_len(o, "resources") == 0, "with an empty list (no sampler)", "%s",
	      json_object_to_json_string(o));
	json_object_put(o);
	check_error("GET", "/api/resources", "history=maybe", NULL, 400, "history",
		    "GET /api/resources?history=maybe is a 400 naming history");
}

static void test_actions(void)
{
	struct web_response rs;

	check_error("POST", "/api/containers/pause", NULL, "{\"container\":\"nope\"}", 404,
		    "no such container", "pausing an unknown container is a 404");
	check_error("POST", "/api/containers/resume", NULL, "{\"container\":\"nope\"}", 404,
		    "no such container", "resuming an unknown container is a 404");
	check_error("POST", "/api/containers/pause", NULL, "{}", 400, "\"container\" is missing",
		    "pause without container is a 400 naming the field");
	check_error("POST", "/api/containers/pause", NULL, "{\"container\":7}", 400,
		    "must be a string", "pause with a number for container is a 400");
	check_error("POST", "/api/containers/pause", NULL, "{\"container\":", 400,
		    "not one JSON object", "a torn body is a 400");
	check_error("POST", "/api/containers/pause", NULL, "[\"web\"]", 400, "JSON object",
		    "a body that is not an object is a 400");
	check_error("POST", "/api/containers/pause", NULL, "{\"container\":\"a\"} x", 400,
		    "not one JSON object", "text after the object is a 400");
	check_error("POST", "/api/prompts/decide", NULL, "{\"id\":9,\"choice\":\"allow-once\"}",
		    404, "no such pending request", "deciding a prompt that is not open is a 404");
	check_error("POST", "/api/prompts/decide", NULL, "{\"id\":9,\"choice\":\"allow-all\"}", 400,
		    "allow-once, deny-once", "an unknown choice is a 400 listing the six");
	check_error("POST", "/api/prompts/decide", NULL, "{\"id\":\"9\",\"choice\":\"allow-once\"}",
		    400, "\"id\"", "an id that is a string is a 400");
	check_error("POST", "/api/prompts/decide", NULL, "{\"id\":-1,\"choice\":\"allow-once\"}",
		    400, "\"id\"", "a negative id is a 400");
	CHECK(call("GET", "/api/prompts/decide", NULL, NULL, &rs) == 405,
	      "GET on a POST route is a 405", "%d", rs.status);
	rig_free(&rs);
}

/* Alert lines: i, severity, rule, container name, id. */
static void write_alerts(void)
{
	static const char *const sev[] = {"INFO", "WARNING", "CRITICAL"};
	FILE *f = fopen(alerts, "we");

	for (int i = 0; i < 30; i++) {
		json_object *o = json_object_new_object(), *c;

		json_object_object_add(o, "time",
				       json_object_new_string(i < 10   ? "2026-11-26T10:00:00Z"
							      : i < 20 ? "2026-11-26T11:00:00Z"
								       : "2026-11-26T12:00:00Z"));
		json_object_object_add(o, "severity", json_object_new_string(sev[i % 3]));
		json_object_object_add(
		    o, "rule",
		    json_object_new_string(i % 2 ? "shell-spawned" : "direct-connection"));
		json_object_object_add(o, "message", json_object_new_string("m"));
		json_object_object_add(o, "n", json_object_new_int(i));
		c = json_object_new_object();
		json_object_object_add(
		    c, "name",
		    json_object_new_string(i == 29 ? "evil\"</script>\n\x1b[31m" : "web"));
		json_object_object_add(c, "id",
				       json_object_new_string(i == 29 ? "ffff" : "abcd1234"));
		json_object_object_add(o, "container", c);
		fprintf(f, "%s\n", json_object_to_json_string(o));
		json_object_put(o);
		if (i == 14)
			fputs("{\"severity\":\"CRITICAL\", torn\nnot json at all\n", f);
	}
	fclose(f);
}

/* The "n" of each alert of a page, in order, into ns; returns how many. */
static int page_ns(json_object *o, int *ns, int max)
{
	json_object *arr, *v;
	int n = 0;

	if (!json_object_object_get_ex(o, "alerts", &arr))
		return -1;
	for (size_t i = 0; i < json_object_array_length(arr) && n < max; i++)
		ns[n++] = json_object_object_get_ex(json_object_array_get_idx(arr, i), "n", &v)
			      ? json_object_get_int(v)
			      : -1;
	return n;
}

static void test_alerts(void)
{
	json_object *o, *a0;
	int ns[64], n, all = 0, ok = 1, prev = 1000, pages = 0;
	char q[128];
	const char *next;

	R.env.alerts_file = alerts;
	o = get_ok("/api/alerts", NULL, "GET /api/alerts answers 200 before any alert is written");
	CHECK(arr_len(o, "alerts") == 0, "with no alert and next null", "%s",
	      json_object_to_json_string(o));
	json_object_put(o);
	write_alerts();
	o = get_ok("/api/alerts", NULL, "GET /api/alerts answers 200");
	n = page_ns(o, ns, 64);
	CHECK(n == 30 && ns[0] == 29 && ns[29] == 0, "every alert, newest first", "n=%d first=%d",
	      n, n > 0 ? ns[0] : -1);
	CHECK(json_object_get_int(json_object_object_get(o, "malformed_skipped")) == 2,
	      "the two malformed lines are skipped and counted", "%s",
	      rig_str(o, "malformed_skipped"));
	a0 = json_object_array_get_idx(json_object_object_get(o, "alerts"), 0);
	CHECK(!strcmp(rig_str(json_object_object_get(a0, "container"), "name"),
		      "evil\"</script>\n\x1b[31m"),
	      "a hostile container name comes back as the same JSON string", "%s",
	      json_object_to_json_string(a0));
	json_object_put(o);
	o = get_ok("/api/alerts", "severity=CRITICAL", "severity=CRITICAL answers 200");
	n = page_ns(o, ns, 64);
	for (int i = 0; i < n; i++)
		ok &= ns[i] % 3 == 2;
	CHECK(n == 10 && ok, "only the CRITICAL alerts", "n=%d", n);
	json_object_put(o);
	o = get_ok("/api/alerts", "severity=WARNING&rule=shell-spawned",
		   "severity=WARNING&rule= answers 200");
	n = page_ns(o, ns, 64);
	ok = 1;
	for (int i = 0; i < n; i++)
		ok &= ns[i] % 3 >= 1 && ns[i] % 2 == 1;
	CHECK(n == 10 && ok, "severity is a minimum, rule exact", "n=%d", n);
	json_object_put(o);
	o = get_ok("/api/alerts", "container=ffff", "container= (an id prefix) answers 200");
	n = page_ns(o, ns, 64);
	CHECK(n == 1 && ns[0] == 29, "only that container's alert", "n=%d", n);
	json_object_put(o);
	o = get_ok("/api/alerts", "container=web", "container= (a name) answers 200");
	CHECK(page_ns(o, ns, 64) == 29, "only that container's alerts", "n=%d", page_ns(o, ns, 64));
	json_object_put(o);
	o = get_ok("/api/alerts", "since=2026-11-26T11:00:00Z&before=1795694400",
		   "since (RFC 3339) and before (Unix seconds) answer 200");
	n = page_ns(o, ns, 64);
	CHECK(n == 10 && ns[0] == 19 && ns[9] == 10, "only the alerts in [since, before)", "n=%d",
	      n);
	json_object_put(o);
	snprintf(q, sizeof(q), "limit=7");
	for (;;) {
		o = get_ok("/api/alerts", q, "a page of limit=7 answers 200");
		n = page_ns(o, ns, 64);
		for (int i = 0; i < n; i++) {
			ok &= ns[i] == prev - 1 || prev == 1000;
			prev = ns[i];
		}
		all += n;
		pages++;
		if (json_object_object_get(o, "next") == NULL || pages > 10) {
			json_object_put(o);
			break;
		}
		next = rig_str(o, "next");
		snprintf(q, sizeof(q), "limit=7&cursor=%s", next);
		json_object_put(o);
	}
	CHECK(all == 30 && pages == 5 && ok,
	      "pages of 7 by the cursor: every alert once, newest first, next null at the end",
	      "all=%d pages=%d ordered=%d", all, pages, ok);
	check_error("GET", "/api/alerts", "severity=LOUD", NULL, 400, "severity",
		    "an unknown severity is a 400 naming the choices");
	check_error("GET", "/api/alerts", "limit=0", NULL, 400, "limit", "limit=0 is a 400");
	check_error("GET", "/api/alerts", "limit=1001", NULL, 400, "1000",
		    "limit above 1000 is a 400");
	check_error("GET", "/api/alerts", "since=yesterday", NULL, 400, "since",
		    "a since that is no time is a 400");
	check_error("GET", "/api/alerts", "cursor=zzz", NULL, 400, "cursor",
		    "a cursor this API did not give is a 400");
	check_error("GET", "/api/alerts", "cursor=1-ffffffff", NULL, 400, "rotated",
		    "a cursor of another file (rotated log) is a 400 saying so");
}

/* alertlog_page bounded by max_scan: small scans still give every alert exactly once, in
 * order, with hostile lines (a 100 KiB line, NUL bytes, blank lines) skipped and counted. */
static void test_alert_scan(void)
{
	struct alert_filter f = {.last = 1000};
	FILE *fp = fopen(alerts, "we");
	int seen = 0, pages = 0, ordered = 1, prev = 1000;
	uint64_t malformed = 0;
	struct alert_page pg = {.cursor = -1, .max_scan = 4096};

	for (int i = 0; i < 200; i++) {
		fprintf(fp, "{\"severity\":\"INFO\",\"message\":\"m\",\"n\":%d}\n", i);
		if (i == 50) {
			for (int k = 0; k < 100000; k++)
				fputc('x', fp);
			fputs("\n\n\n", fp);
		}
		if (i == 120)
			fwrite("{\"severity\":\"INFO\",\0\"message\":\"m\"}\n", 1, 35, fp);
	}
	fclose(fp);
	do {
		json_object *arr = json_object_new_array();
		int n = alertlog_page(alerts, &f, &pg, arr);

		for (int i = 0; i < n; i++) {
			int v = json_object_get_int(
			    json_object_object_get(json_object_array_get_idx(arr, (size_t)i), "n"));

			ordered &= v == prev - 1 || prev == 1000;
			prev = v;
		}
		seen += n > 0 ? n : 0;
		malformed += pg.n_malformed;
		json_object_put(arr);
		if (n < 0 || ++pages > 1000)
			break;
	} while (pg.cursor >= 0);
	CHECK(seen == 200 && ordered && malformed == 2,
	      "pages with a 4 KiB scan bound: every alert once, newest first, the 100 KiB line and "
	      "the line with a NUL skipped and counted",
	      "seen=%d ordered=%d malformed=%llu pages=%d", seen, ordered,
	      (unsigned long long)malformed, pages);
	CHECK(pages > 3, "and the scan bound did split the work into pages", "pages=%d", pages);
	unlink(alerts);
}

static void test_rules(void)
{
	struct web_response rs;
	json_object *o, *r0, *a;
	int st;

	R.env.rules_file = rules;
	o = get_ok("/api/rules", NULL, "GET /api/rules answers 200 without a rules file");
	CHECK(arr_len(o, "rules") == 0 && !strcmp(rig_str(o, "default"), "allow") &&
		  !strcmp(rig_str(o, "file"), rules),
	      "an empty set, default allow, and the file's path", "%s",
	      json_object_to_json_string(o));
	json_object_put(o);
	st = call("POST", "/api/rules", NULL,
		  "{\"verdict\":\"allow\",\"match\":\"*.github.com\",\"comment\":\"ci\"}", &rs);
	CHECK(st == 200 && json_object_get_int(json_object_object_get(rs.json, "id")) == 1 &&
		  json_object_object_get(rs.json, "applied"),
	      "POST /api/rules adds a domain rule: its id, and whether moat run applied it",
	      "%d %s", st, rs.json ? json_object_to_json_string(rs.json) : "");
	rig_free(&rs);
	st = call("POST", "/api/rules", NULL, "{\"verdict\":\"deny\",\"match\":\"10.0.0.0/8\"}",
		  &rs);
	CHECK(st == 200 && json_object_get_int(json_object_object_get(rs.json, "id")) == 2,
	      "and a CIDR rule", "%d %s", st, rs.json ? json_object_to_json_string(rs.json) : "");
	rig_free(&rs);
	o = get_ok("/api/rules", NULL, "GET /api/rules answers 200");
	r0 = json_object_array_get_idx(json_object_object_get(o, "rules"), 0);
	CHECK(arr_len(o, "rules") == 2 && !strcmp(rig_str(r0, "kind"), "allow-domain") &&
		  !strcmp(rig_str(r0, "match"), "*.github.com") &&
		  !strcmp(rig_str(r0, "comment"), "ci") &&
		  !strcmp(rig_str(json_object_array_get_idx(json_object_object_get(o, "rules"), 1),
				  "kind"),
			  "deny-ip"),
	      "lists both with id, kind, match and comment", "%s", json_object_to_json_string(o));
	json_object_put(o);
	a = control_call(R.path, json_tokener_parse("{\"cmd\":\"rules\"}"), 2000);
	CHECK(a && json_object_get_int(json_object_object_get(a, "n")) == 2,
	      "moat run loaded the changed file (control command rules)", "%s",
	      a ? json_object_to_json_string(a) : strerror(errno));
	json_object_put(a);
	check_error("POST", "/api/rules", NULL,
		    "{\"verdict\":\"allow\",\"match\":\"exa mple.com\"}", 400, "exa mple.com",
		    "an invalid domain is a 400 with the validator's reason");
	check_error("POST", "/api/rules", NULL, "{\"verdict\":\"deny\",\"match\":\"10.0.0.0/33\"}",
		    400, "10.0.0.0/33", "an invalid CIDR is a 400 with the validator's reason");
	check_error("POST", "/api/rules", NULL, "{\"verdict\":\"allow\",\"match\":\"10.1.2.3/8\"}",
		    400, "conflicts",
		    "an allow of a target a deny already names (10.1.2.3/8 = 10.0.0.0/8) is a 400, "
		    "the file untouched");
	check_error("POST", "/api/rules", NULL, "{\"verdict\":\"maybe\",\"match\":\"a.com\"}", 400,
		    "allow or deny", "an unknown verdict is a 400");
	check_error("POST", "/api/rules", NULL, "{\"verdict\":\"allow\"}", 400, "\"match\"",
		    "a rule without match is a 400 naming it");
	check_error("POST", "/api/rules", NULL, "{\"verdict\":\"allow\",\"match\":[1]}", 400,
		    "must be a string", "a match that is not a string is a 400");
	check_error("POST", "/api/rules", NULL, "not json", 400, "JSON",
		    "a body that is not JSON "
		    "is a 400");
	check_error("POST", "/api/rules/remove", NULL, "{\"rule\":\"nope.example\"}", 404,
		    "no rule", "removing a rule that is not there is a 404");
	st = call("POST", "/api/rules/remove", NULL, "{\"rule\":1}", &rs);
	CHECK(st == 200, "POST /api/rules/remove by id answers 200", "%d %s", st,
	      rs.json ? json_object_to_json_string(rs.json) : "");
	rig_free(&rs);
	st = call("POST", "/api/rules/remove", NULL, "{\"rule\":\"10.0.0.0/8\"}", &rs);
	CHECK(st == 200, "and by match", "%d %s", st,
	      rs.json ? json_object_to_json_string(rs.json) : "");
	rig_free(&rs);
	st = call("POST", "/api/rules/default", NULL, "{\"default\":\"deny\"}", &rs);
	rig_free(&rs);
	o = get_ok("/api/rules", NULL, "GET /api/rules after the removals");
	CHECK(st == 200 && arr_len(o, "rules") == 0 && !strcmp(rig_str(o, "default"), "deny"),
	      "POST /api/rules/default deny: no rule left, default deny", "%d %s", st,
	      json_object_to_json_string(o));
	json_object_put(o);
	check_error("POST", "/api/rules/default", NULL, "{\"default\":\"block\"}", 400,
		    "allow or deny", "an unknown default is a 400");
	st = call("POST", "/api/rules/import", NULL,
		  "{\"text\":\"{\\\"github.com\\\": \\\"allow-domain\\\", \\\"192.168.0.0/16\\\": "
		  "\\\"deny\\\"}\"}",
		  &rs);
	CHECK(st == 200 && json_object_get_int(json_object_object_get(rs.json, "imported")) == 2,
	      "POST /api/rules/import takes the seed's format: 2 imported", "%d %s", st,
	      rs.json ? json_object_to_json_string(rs.json) : "");
	rig_free(&rs);
	check_error("POST", "/api/rules/import", NULL, "{\"text\":\"{\\\"rules\\\": 3\"}", 400,
		    "imported text", "importing text that is no rules file is a 400 saying why");
	check_error("POST", "/api/rules/import", NULL, "{\"file\":\"/etc/passwd\"}", 400,
		    "\"text\"", "import without text is a 400 (no server-side path is read)");
	st = call("GET", "/api/rules/export", NULL, NULL, &rs);
	CHECK(st == 200 && rs.text && rs.content_type &&
		  !strncmp(rs.content_type, "text/plain", 10) &&
		  strstr(rs.text, "\"github.com\"") && strstr(rs.text, "\"deny\""),
	      "GET /api/rules/export is the file's text (text/plain)", "%d %s", st,
	      rs.text ? rs.text : "(none)");
	rig_free(&rs);
}

static void test_down(void)
{
	struct web_env env = R.env;
	struct web_response rs;
	int st;

	env.ctl_path = "/nonexistent/moat.sock";
	st = rig_call(&env, "GET", "/api/status", NULL, NULL, &rs);
	CHECK(st == 503 && strstr(rig_str(rs.json, "error"), "is it running"),
	      "moat run down: 503 saying so", "%d %s", st,
	      rs.json ? json_object_to_json_string(rs.json) : "");
	rig_free(&rs);
	st = rig_call(&env, "POST", "/api/containers/pause", NULL, "{\"container\":\"web\"}", &rs);
	CHECK(st == 503, "a mutation with moat run down: 503", "%d", st);
	rig_free(&rs);
}

int main(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/moat-test-api-%d", (int)getpid());
	mkdir(scratch, 0700);
	snprintf(alerts, sizeof(alerts), "%s/alerts.jsonl", scratch);
	snprintf(rules, sizeof(rules), "%s/rules.json", scratch);
	test_table();
	rig_init(&R);
	snprintf(R.d->cfg.egress_rules, sizeof(R.d->cfg.egress_rules), "%s", rules);
	snprintf(R.d->alert_rules[0].rule, sizeof(R.d->alert_rules[0].rule), "shell-spawned");
	R.d->alert_rules[0].n[2] = 3;
	R.d->alert_rules[0].n[1] = 1;
	R.d->n_alert_rules = 1;
	R.d->n_actions_by[ACTION_PAUSE][1] = 2;
	rig_start(&R);
	test_reads();
	test_actions();
	test_alerts();
	test_alert_scan();
	test_rules();
	test_down();
	rig_stop(&R);
	unlink(alerts);
	unlink(rules);
	rmdir(scratch);
	return TEST_EXIT();
}
