/* test_parsers.c - hostile input to every parser of outside input: the bug
 * classes the fuzz harnesses (tests/fuzz) found or guard against, each
 * refused with a message naming the file and line (or the field), never a
 * crash, and the in-memory variants the harnesses use (config_load_buf,
 * policy_load_buf, rules_load_buf, rules_import_buf, registry_load_buf, baseline_load_buf,
 * dockerwatch_parse_line, alertlog_query_buf) behaving as the file
 * functions do. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "test.h"
#include "alertlog.h"
#include "config.h"
#include "docker.h"
#include "dockerwatch.h"
#include "log.h"
#include "policy.h"
#include "baseline.h"
#include "registry.h"
#include "rulesfile.h"

static char logbuf[16384];

/* Evaluate expr into rc with the log (stderr's FILE) captured into logbuf. */
#define CAPTURED(rc, expr)                                                                         \
	do {                                                                                       \
		char *b_ = NULL;                                                                   \
		size_t n_ = 0;                                                                     \
		FILE *s_ = stderr, *m_ = open_memstream(&b_, &n_);                                 \
		if (m_)                                                                            \
			stderr = m_;                                                               \
		rc = (expr);                                                                       \
		if (m_) {                                                                          \
			fclose(m_);                                                                \
			stderr = s_;                                                               \
		}                                                                                  \
		snprintf(logbuf, sizeof(logbuf), "%s", b_ ? b_ : "");                              \
		free(b_);                                                                          \
	} while (0)

/* A string literal and its length, for the *_buf variants. */
#define TEXT(s) (s), strlen(s)

/* "path:line: " of the scratch file, for message checks. */
static const char *at(const char *path, int line)
{
	static char s[128];

	snprintf(s, sizeof(s), "%s:%d: ", path, line);
	return s;
}

/* ---- configuration ---- */

static void test_config(void)
{
	static const char *const sections[] = {"registry", "lists", "exec", "actions"};
	static const char *const values[] = {"null", "5", "[]", "\"x\""};
	struct config *c = malloc(sizeof(*c)), *before = malloc(sizeof(*before));
	char text[256], name[160];
	const char *p;
	int rc;

	if (!c || !before)
		return;
	config_defaults(c);
	memcpy(before, c, sizeof(*c));
	for (size_t i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "{\n  \"strict\": true,\n  \"%s\": %s\n}\n",
			 sections[i], values[i]);
		p = test_tmpfile(text);
		CAPTURED(rc, config_load(c, p));
		snprintf(name, sizeof(name),
			 "config: \"%s\": %s is refused with file:line, no crash", sections[i],
			 values[i]);
		CHECK(rc == -EINVAL && strstr(logbuf, at(p, 3)) &&
			  strstr(logbuf, "must be an object"),
		      name, "rc %d, log: %s", rc, logbuf);
		CHECK(!memcmp(c, before, sizeof(*c)), "config: ... and nothing is applied",
		      "the configuration changed");
	}

	p = test_tmpfile("{\"state_dir\": \"/var/lib/moat\\u0000/x\"}");
	CAPTURED(rc, config_load(c, p));
	CHECK(rc == -EINVAL && strstr(logbuf, "state_dir: must not contain a NUL"),
	      "config: a NUL character in a path is refused, not cut short", "rc %d, log: %s", rc,
	      logbuf);
	p = test_tmpfile("{\"exec\": {\"shells\": [\"sh\\u0000x\"]}}");
	CAPTURED(rc, config_load(c, p));
	CHECK_EQ_INT(rc, -EINVAL, "config: a NUL character in an executable name is refused");

	CAPTURED(rc, config_load_buf(c, "moat.json", TEXT("{\n\"nice\": 5, \"registry\": null}")));
	CHECK(rc == -EINVAL && strstr(logbuf, "moat.json:2: registry: must be an object"),
	      "config_load_buf: the same message, with the name given", "rc %d, log: %s", rc,
	      logbuf);
	rc = config_load_buf(c, "moat.json", "{\"nice\": 5}\0{garbage", 21);
	CHECK(rc == 0 && c->nice == 5 && !strcmp(c->path, "moat.json"),
	      "config_load_buf: applies a good text, which ends at a NUL byte like a file's",
	      "rc %d nice %d path %s", rc, c->nice, c->path);
	unlink(test_tmpfile(""));
	free(c);
	free(before);
}

/* ---- policies ---- */

static void test_policy(void)
{
	static const struct {
		const char *policy, *why, *name;
	} bad[] = {
	    {"\"egress\": null", "\"egress\" must be monitor, enforce, interactive or learn",
	     "policy: \"egress\": null is refused with a message, not a crash"},
	    {"\"egress\": 5", "\"egress\" must be monitor",
	     "policy: \"egress\" of another type is refused"},
	    {"\"actions\": [null]", "unknown action",
	     "policy: \"actions\": [null] is refused with a message, not a crash"},
	    {"\"actions\": [\"pause\", 7]", "unknown action",
	     "policy: a number among the actions is refused"},
	    {"\"name\": null", "\"name\" must be a string", "policy: \"name\": null is refused"},
	    {"\"description\": {}", "\"description\" must be a string",
	     "policy: a description of another type is refused"},
	    {"\"egress_rules\": null", "\"egress_rules\" must be the absolute path",
	     "policy: \"egress_rules\": null is refused"},
	    {"\"egress_rules\": \"/etc/moat/a\\u0000b\"", "\"egress_rules\" must be the absolute",
	     "policy: a NUL character in egress_rules is refused, not cut short"},
	    {"\"target\": {\"names\": [\"a\\u0000b\"]}", "\"target.names\" must be",
	     "policy: a NUL character in a glob is refused"},
	    {"\"severity_threshold\": null", "\"severity_threshold\" must be",
	     "policy: \"severity_threshold\": null is refused"},
	};
	struct policy_set *ps = malloc(sizeof(*ps)), *before = malloc(sizeof(*before));
	char text[512], want[256];
	const char *p;
	int rc;

	if (!ps || !before)
		return;
	policy_defaults(ps);
	memcpy(before, ps, sizeof(*ps));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"policies\": [\n {\"id\": \"ok\"},\n {\"id\": \"x\", %s}\n]}\n",
			 bad[i].policy);
		p = test_tmpfile(text);
		CAPTURED(rc, policy_load(ps, p));
		snprintf(want, sizeof(want), "%spolicy 2: %s", at(p, 3), bad[i].why);
		CHECK(rc == -EINVAL && strstr(logbuf, want) && !memcmp(ps, before, sizeof(*ps)),
		      bad[i].name, "rc %d, want \"%s\", log: %s", rc, want, logbuf);
	}
	p = test_tmpfile("{\"policies\": [{\"id\": \"a\\u0000b\"}]}");
	CAPTURED(rc, policy_load(ps, p));
	CHECK(rc == -EINVAL && strstr(logbuf, "\"id\" (a non-empty string"),
	      "policy: a NUL character in an id is refused", "rc %d, log: %s", rc, logbuf);
	p = test_tmpfile("");
	CAPTURED(rc, policy_load(ps, p));
	CHECK(rc == -EINVAL && strstr(logbuf, at(p, 1)) && strstr(logbuf, "not valid JSON"),
	      "policy: an empty file is refused with a message (was a silent -EIO)",
	      "rc %d, log: %s", rc, logbuf);
	CAPTURED(rc, policy_load_buf(ps, "policies.json",
				     TEXT("{\"policies\": [{\"id\": \"x\", \"egress\": null}]}")));
	CHECK(rc == -EINVAL && strstr(logbuf, "policies.json:1: policy 1: \"egress\" must be"),
	      "policy_load_buf: the same message, with the name given", "rc %d, log: %s", rc,
	      logbuf);
	rc = policy_load_buf(ps, "policies.json", TEXT("{\"policies\": [{\"id\": \"x\"}]}"));
	CHECK(rc == 0 && ps->n == 1 && !strcmp(ps->p[0].id, "x") &&
		  !strcmp(ps->path, "policies.json"),
	      "policy_load_buf: a good text loads", "rc %d n %d", rc, ps->n);
	unlink(test_tmpfile(""));
	free(ps);
	free(before);
}

/* ---- egress rules ---- */

static void test_rules(void)
{
	struct ruleset rs = {0};
	char text[600], key[301];
	const char *p;
	int rc;

	rules_add(&rs, RULE_ALLOW_DOMAIN, "kept.example", NULL);
	p = test_tmpfile("{\"rules\": [\n{\"kind\": null, \"match\": \"x.example\"}\n]}");
	CAPTURED(rc, rules_load(&rs, p));
	CHECK(rc == -EINVAL && strstr(logbuf, "rule 1: needs \"kind\"") && rs.n == 1,
	      "rules: \"kind\": null is refused with a message, not a crash", "rc %d, log: %s", rc,
	      logbuf);
	p = test_tmpfile("{\"rules\": [{\"kind\": 1, \"match\": \"x.example\"}]}");
	CAPTURED(rc, rules_load(&rs, p));
	CHECK_EQ_INT(rc, -EINVAL, "rules: a kind of another type is refused");
	p = test_tmpfile("{\"rules\": [{\"kind\": \"allow-domain\", \"match\": \"x.example\", "
			 "\"comment\": 5}]}");
	CAPTURED(rc, rules_load(&rs, p));
	CHECK(rc == -EINVAL && strstr(logbuf, "rule 1: \"comment\" must be a string") && rs.n == 1,
	      "rules: a comment that is not a string is refused", "rc %d, log: %s", rc, logbuf);
	p = test_tmpfile("{\"rules\": [{\"kind\": \"allow-domain\", \"match\": \"x.example\", "
			 "\"comment\": null}]}");
	CHECK(rules_load(&rs, p) == 0 && rs.n == 1 && !rs.rules[0].comment[0],
	      "rules: \"comment\": null is no comment (not \"(null)\")", "n %d comment %s", rs.n,
	      rs.n ? rs.rules[0].comment : "");
	p = test_tmpfile("{\"rules\": [{\"kind\": \"allow-domain\", \"match\": "
			 "\"github.com\\u0000.evil.example\"}]}");
	CAPTURED(rc, rules_load(&rs, p));
	CHECK(rc == -EINVAL && strstr(logbuf, "\"match\" holds a NUL character"),
	      "rules: a NUL character in a match is refused, not cut to github.com",
	      "rc %d, log: %s", rc, logbuf);
	p = test_tmpfile("{\"default\": null, \"rules\": []}");
	CAPTURED(rc, rules_load(&rs, p));
	CHECK(rc == -EINVAL && strstr(logbuf, "default: must be"),
	      "rules: \"default\": null is refused", "rc %d, log: %s", rc, logbuf);

	CAPTURED(rc, rules_load_buf(&rs, "rules.json", TEXT("{\"rules\": [\n{\"kind\": null}]}")));
	CHECK(rc == -EINVAL && strstr(logbuf, "rules.json: rule 1: needs \"kind\""),
	      "rules_load_buf: the same message, with the name given", "rc %d, log: %s", rc,
	      logbuf);

	memset(key, 'a', 300);
	key[300] = 0;
	snprintf(text, sizeof(text), "{\"%s\": \"allow\", \"ok.example\": \"allow\"}", key);
	rules_free(&rs);
	CAPTURED(rc, rules_import_buf(&rs, "network-rules.json", text, strlen(text)));
	CHECK(rc == 1 && rs.n == 1 && !strcmp(rs.rules[0].match, "ok.example") &&
		  strstr(logbuf, "longer than 255 bytes"),
	      "import: an overlong name is skipped with a message, not cut to 255 bytes",
	      "rc %d n %d, log: %s", rc, rs.n, logbuf);
	CAPTURED(rc, rules_import_buf(&rs, "network-rules.json", TEXT("{\"x.example\": null}")));
	CHECK(rc == 0 && rs.n == 1 && strstr(logbuf, "unknown action"),
	      "import: a null action is skipped with a message", "rc %d, log: %s", rc, logbuf);
	CAPTURED(rc, rules_add(&rs, RULE_ALLOW_DOMAIN, key, NULL));
	CHECK(rc == -EINVAL && strstr(logbuf, "longer than 255 bytes"),
	      "add: a match longer than 255 bytes is refused", "rc %d, log: %s", rc, logbuf);
	rules_free(&rs);
	unlink(test_tmpfile(""));
}

/* ---- the DNS registry file ---- */

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T0  1700000000

static const char *entry_head = "{\"moat_registry\":1,\"entries\":1}\n";

/* Load text (the header line is prepended) into a new registry, log captured. */
static struct registry *load(const char *entry, int *rc)
{
	struct registry *r = registry_new(16, 600);
	char text[2048];

	snprintf(text, sizeof(text), "%s%s\n", entry_head, entry);
	CAPTURED(*rc, registry_load_buf(r, "registry.json", text, strlen(text), T0));
	return r;
}

static void test_registry(void)
{
	struct registry *r;
	json_object *q;
	const char *s;
	int rc;

	r = load("{\"name\":\"a.test\",\"addrs\":[{\"addr\":\"192.0.2.1\",\"ttl\":60}],"
		 "\"first_seen\":1700000000,\"last_seen\":1700000000,\"containers\":"
		 "[{\"id\":\"" CID "\",\"count\":1,\"seen\":{\"192.0.2.1\":-1}}]}",
		 &rc);
	CHECK(rc == 0 && registry_count(r) == 0 &&
		  strstr(logbuf, "registry.json: entry 1: field \"containers[0].seen\" has a bad "
				 "member \"192.0.2.1\""),
	      "registry: a negative time in \"seen\" is a bad entry (was wrapped to the year 2106)",
	      "rc %d count %zu, log: %s", rc, registry_count(r), logbuf);
	registry_free(r);
	r = load("{\"name\":\"a.test\",\"addrs\":[{\"addr\":\"192.0.2.1\",\"ttl\":60}],"
		 "\"first_seen\":1700000000,\"last_seen\":1700000000,\"containers\":"
		 "[{\"id\":\"" CID "\",\"count\":1,\"seen\":{\"192.0.2.1\":4294967296}}]}",
		 &rc);
	CHECK_EQ_INT(registry_count(r), 0, "registry: a time past 2106 in \"seen\" is a bad entry");
	registry_free(r);
	r = load("{\"name\":\"a.test\\u0000evil\",\"addrs\":[{\"addr\":\"192.0.2.1\",\"ttl\":60}],"
		 "\"first_seen\":1700000000,\"last_seen\":1700000000,\"containers\":"
		 "[{\"id\":\"" CID "\",\"count\":1}]}",
		 &rc);
	CHECK(registry_count(r) == 0 && strstr(logbuf, "field \"name\" holds a NUL character"),
	      "registry: a NUL character in a name is a bad entry, not cut short", "log: %s",
	      logbuf);
	registry_free(r);
	r = load("{\"name\":\"a.test\",\"addrs\":[{\"addr\":\"192.0.2.1\\u0000x\",\"ttl\":60}],"
		 "\"first_seen\":1700000000,\"last_seen\":1700000000,\"containers\":"
		 "[{\"id\":\"" CID "\",\"count\":1}]}",
		 &rc);
	CHECK_EQ_INT(registry_count(r), 0,
		     "registry: a NUL character in an address is a bad entry");
	registry_free(r);
	r = load("{\"name\":\"a.test\",\"addrs\":[{\"addr\":\"192.0.2.1\",\"ttl\":60}],"
		 "\"first_seen\":1700000000,\"last_seen\":1700000000,\"containers\":"
		 "[{\"id\":\"" CID "\",\"count\":1,\"last_seen\":null}]}",
		 &rc);
	q = registry_query(r, "a.test", 0);
	s = q ? json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN) : "";
	CHECK(registry_count(r) == 1 && strstr(s, "\"last_seen\":1700000000") &&
		  registry_explains(r, CID, AF_INET, (const uint8_t[16]){192, 0, 2, 1}, T0),
	      "registry: \"last_seen\": null is the entry's last_seen, as when absent (was 0)",
	      "%s", s);
	json_object_put(q);
	registry_free(r);

	r = load("{\"name\":\"Two.Dots..\",\"addrs\":[{\"addr\":\"192.0.2.1\",\"ttl\":60}],"
		 "\"cnames\":[\"CDN..\"],\"first_seen\":1700000000,\"last_seen\":1700000000,"
		 "\"containers\":[{\"id\":\"" CID "\",\"count\":1}]}",
		 &rc);
	{
		char path[64];
		struct registry *back = registry_new(16, 600);
		json_object *a = registry_query(r, NULL, 0), *b = NULL;

		snprintf(path, sizeof(path), "/tmp/moat-test-registry-%d.json", (int)getpid());
		if (registry_save(r, path) == 0 && registry_load(back, path, T0) == 0)
			b = registry_query(back, NULL, 0);
		CHECK(a && b &&
			  !strcmp(json_object_to_json_string(a), json_object_to_json_string(b)) &&
			  strstr(json_object_to_json_string(b), "\"two.dots\"") &&
			  strstr(json_object_to_json_string(b), "\"cdn\""),
		      "registry: names ending in \"..\" are the same after save and load (were cut "
		      "one dot per load)",
		      "loaded %s, reloaded %s", a ? json_object_to_json_string(a) : "",
		      b ? json_object_to_json_string(b) : "");
		json_object_put(a);
		json_object_put(b);
		registry_free(back);
		unlink(path);
	}
	registry_free(r);

	/* One address three times (two spellings, TTLs 60 and 2^32-1), and an entry last_seen
	 * a year before its container saw the address: the save must keep what the load took. */
	r = load("{\"name\":\"dup.test\",\"addrs\":[{\"addr\":\"192.0.2.52\",\"ttl\":60},"
		 "{\"addr\":\"::ffff:192.0.2.52\",\"ttl\":4294967295},{\"addr\":\"192.0.2.52\","
		 "\"ttl\":60}],\"first_seen\":1600000000,\"last_seen\":1645830634,\"containers\":"
		 "[{\"id\":\"" CID "\",\"count\":1,\"seen\":{\"192.0.2.52\":1700000000}}]}",
		 &rc);
	{
		char path[64];
		struct registry *back = registry_new(16, 600);
		const uint8_t a[16] = {192, 0, 2, 52};
		const char *x = registry_explains(r, CID, AF_INET, a, T0 + 1000000), *y = NULL;

		snprintf(path, sizeof(path), "/tmp/moat-test-registry-%d.json", (int)getpid());
		if (registry_save(r, path) == 0 && registry_load(back, path, T0) == 0)
			y = registry_explains(back, CID, AF_INET, a, T0 + 1000000);
		CHECK(registry_addr_count(r) == 1 && x && y && !strcmp(x, "dup.test") &&
			  !strcmp(y, "dup.test"),
		      "registry: an address listed twice is one address with its longest TTL, and "
		      "still explains after a save and load (the load used to drop the entry)",
		      "pairs %zu, before %s, after %s", registry_addr_count(r), x ? x : "nothing",
		      y ? y : "nothing");
		registry_free(back);
		unlink(path);
	}
	registry_free(r);

	r = registry_new(16, 600);
	CAPTURED(rc, registry_load_buf(r, "registry.json", "", 0, T0));
	CHECK(rc == -EINVAL && strstr(logbuf, "registry.json: not a moat DNS registry file"),
	      "registry_load_buf: an empty text is not a registry, named in the message",
	      "rc %d, log: %s", rc, logbuf);
	registry_free(r);
}

/* ---- Docker answers and events ---- */

static void test_docker(void)
{
	struct container_info c;
	struct docker_event ev, zero = {0};
	json_object *o;
	int rc;

	CHECK_EQ_INT(docker_parse_time("9999-12-31T23:59:59Z"), -1,
		     "docker: a time past 2262 is refused (was a signed overflow)");
	CHECK_EQ_INT(docker_parse_time("2262-04-12T00:00:00Z"), -1,
		     "docker: the first day past int64 ns is refused");
	CHECK(docker_parse_time("2262-04-11T00:00:00Z") > 0,
	      "docker: the last day of int64 ns "
	      "parses",
	      "refused");
	o = json_tokener_parse("{\"Id\":\"abc\",\"State\":{\"Status\":\"running\",\"Pid\":1,"
			       "\"ExitCode\":0,\"StartedAt\":\"9999-12-31T23:59:59Z\"}}");
	CAPTURED(rc, docker_parse_inspect(o, &c));
	CHECK(rc == 0 && c.started_at == 0 && strstr(logbuf, "State.StartedAt"),
	      "docker: StartedAt in the year 9999 is left empty with a warning", "rc %d, log: %s",
	      rc, logbuf);
	container_info_clear(&c);
	json_object_put(o);

	o = json_tokener_parse("{\"Id\":\"\\u0000abc\"}");
	CAPTURED(rc, docker_parse_inspect(o, &c));
	CHECK(rc == -EPROTO && strstr(logbuf, "field Id holds a NUL character"),
	      "docker: an Id starting with a NUL character is refused (was an empty id)",
	      "rc %d, log: %s", rc, logbuf);
	json_object_put(o);
	o = json_tokener_parse("{\"Id\":\"abc\",\"Name\":\"/we\\u0000b\",\"Config\":{\"Labels\":"
			       "{\"tier\":\"trusted\\u0000x\"},\"Cmd\":[\"a\\u0000b\",\"c\"]}}");
	CAPTURED(rc, docker_parse_inspect(o, &c));
	CHECK(rc == 0 && !c.name[0] && !container_label(&c, "tier") && c.argc == 1 &&
		  !strcmp(c.argv[0], "c"),
	      "docker: NUL characters in name, label and argv are left out, not cut short",
	      "rc %d name %s argc %d", rc, c.name, c.argc);
	container_info_clear(&c);
	json_object_put(o);

	CAPTURED(rc,
		 dockerwatch_parse_line(TEXT("{\"Type\":\"container\",\"Action\":\"die\","
					     "\"Actor\":{\"ID\":\"abc\"},\"time\":99999999999999}"),
					&ev));
	CHECK(rc == 0 && ev.time_ns == 0 && strstr(logbuf, "time"),
	      "dockerwatch: a time past 2262 is left 0 with a warning (was a signed overflow)",
	      "rc %d time %lld, log: %s", rc, (long long)ev.time_ns, logbuf);
	CAPTURED(rc, dockerwatch_parse_line(TEXT("{\"Action\":\"\\u0000die\"}"), &ev));
	CHECK(rc == -EPROTO && !memcmp(&ev, &zero, sizeof(ev)),
	      "dockerwatch: an Action starting with a NUL character is refused, ev zeroed",
	      "rc %d action '%s'", rc, ev.action);
	CAPTURED(rc, dockerwatch_parse_line(TEXT("{\"Action\":\"\"}"), &ev));
	CHECK_EQ_INT(rc, -EPROTO, "dockerwatch: an empty Action is refused");
	CAPTURED(rc, dockerwatch_parse_line(TEXT("{\"Action\":"), &ev));
	CHECK(rc == -EPROTO && strstr(logbuf, "events line of 10 bytes is not JSON") &&
		  !memcmp(&ev, &zero, sizeof(ev)),
	      "dockerwatch_parse_line: a torn line is refused with its length", "rc %d, log: %s",
	      rc, logbuf);
	CAPTURED(rc, dockerwatch_parse_line(TEXT("{\"Action\":\"start\",\"Type\":\"container\","
						 "\"Actor\":{\"ID\":\"i\\u0000d\"}}"),
					    &ev));
	CHECK(rc == 0 && !ev.id[0] && strstr(logbuf, "Actor.ID"),
	      "dockerwatch: an Actor.ID with a NUL character is left empty with a warning",
	      "rc %d id %s", rc, ev.id);
}

/* ---- the alert file ---- */

/* What a query of the file (or of its text in memory) prints. */
static char *query(const char *path, const char *text, struct alert_filter f, int *rc)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	if (!m)
		return NULL;
	CAPTURED(*rc, path ? alertlog_query(path, &f, m)
			   : alertlog_query_buf("alerts.jsonl", text, strlen(text), &f, m));
	fclose(m);
	return out;
}

static void test_alertlog(void)
{
	static const char text[] =
	    "{\"time\":\"2024-05-01T14:23:01Z\",\"severity\":\"INFO\",\"message\":\"one\"}\n"
	    "torn {\n"
	    "{\"time\":\"2024-05-01T14:23:02Z\",\"severity\":\"WARNING\",\"message\":\"two\","
	    "\"container\":{\"name\":\"web\"}}\n"
	    "{\"severity\":\"CRITICAL\",\"message\":\"three\",\"timestamp\":\"14:23:03\"}";
	const char *p = test_tmpfile(text);
	int rc1, rc2, last;

	for (last = 0; last <= 2; last += 2) {
		struct alert_filter f = {.last = last, .color_mode = ALERTLOG_COLOR_NEVER};
		char *a = query(p, NULL, f, &rc1), *b, name[128];

		b = query(NULL, text, f, &rc2);
		snprintf(name, sizeof(name),
			 "alertlog_query_buf prints what alertlog_query does (--last %d)", last);
		CHECK(a && b && rc1 == 0 && rc2 == 0 && !strcmp(a, b) && strstr(b, "three") &&
			  (last || strstr(logbuf, "alerts.jsonl:2: ")),
		      name, "file:\n%s\nbuffer:\n%s\nlog: %s", a ? a : "", b ? b : "", logbuf);
		free(a);
		free(b);
	}
	{
		struct alert_filter f = {.follow = 1};
		FILE *m = fopen("/dev/null", "we");

		CHECK(m && alertlog_query_buf("x", "", 0, &f, m) == -EINVAL,
		      "alertlog_query_buf refuses --follow", "accepted");
		if (m)
			fclose(m);
	}
	unlink(p);
	{
		/* Found by fuzz_alertlog: a torn line ending in half a surrogate pair made
		 * json-c turn the next line's \u escape into U+FFFD when read forwards (after
		 * it), not backwards: `moat alerts -n 1` and `moat alerts -n 0 | tail -1`
		 * printed different text. */
		static const char torn[] =
		    "{\"severity\":\"INFO\",\"message\":\"x\",\"c\":\"\\ud800\n"
		    "{\"severity\":\"CRITICAL\",\"message\":\"a\\u0000b\"}\n";
		struct alert_filter f1 = {.last = 1, .color_mode = ALERTLOG_COLOR_NEVER};
		struct alert_filter f0 = {.last = 0, .color_mode = ALERTLOG_COLOR_NEVER};
		char *a = query(NULL, torn, f1, &rc1), *b = query(NULL, torn, f0, &rc2);

		CHECK(a && b && rc1 == 0 && rc2 == 0 && !strcmp(a, b) && !strstr(b, "\xef\xbf\xbd"),
		      "alert file: a line after a torn half surrogate pair reads the same forwards "
		      "and backwards",
		      "backwards:\n%s\nforwards:\n%s", a ? a : "", b ? b : "");
		free(a);
		free(b);
	}
}

/* ---- learn mode's baseline store ---- */

static void test_baseline(void)
{
	struct baseline *b = baseline_new(NULL);
	int rc, skipped = 0;
	const char *img = "{\"moat_baseline\":1}\n"
			  "{\"image\":\"a:1\",\"first_seen\":1,\"last_seen\":2,\"last_new\":2,"
			  "\"learn_since\":0,\"learning\":false,\"containers\":1,\"refused\":0,"
			  "\"items\":[{\"kind\":\"exec\",\"key\":\"/x\",\"first_seen\":-5,"
			  "\"last_seen\":2,\"count\":1}]}\n"
			  "{\"image\":\"b:1\",\"first_seen\":1,\"last_seen\":2,\"last_new\":2,"
			  "\"learn_since\":0,\"learning\":\"yes\",\"containers\":1,\"refused\":0,"
			  "\"items\":[]}\n";

	CAPTURED(rc, baseline_load_buf(b, "baseline.json", TEXT(img), &skipped));
	CHECK(rc == 0 && skipped == 2 &&
		  strstr(logbuf, "baseline.json:2: image a:1: item 1 skipped: field \"first_seen\" "
				 "must be a time") &&
		  strstr(logbuf, "baseline.json:3: image skipped: field \"learning\" must be true "
				 "or false"),
	      "baseline: a negative time and a wrong type are named by line, item and field",
	      "rc %d skipped %d, log: %s", rc, skipped, logbuf);
	CAPTURED(rc, baseline_load_buf(b, "baseline.json", TEXT("{\"moat_baseline\":2}\n"), NULL));
	CHECK(rc == -EINVAL && strstr(logbuf, "baseline.json:1: not a moat baseline file"),
	      "baseline: another version is refused whole, with the file named", "rc %d log %s", rc,
	      logbuf);
	baseline_free(b);
}

int main(void)
{
	log_level = LOG_DEBUG;
	test_config();
	test_policy();
	test_rules();
	test_registry();
	test_baseline();
	test_docker();
	test_alertlog();
	return TEST_EXIT();
}
