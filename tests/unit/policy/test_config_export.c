/* test_config_export.c - the "export" section (src/policy/config_export.c) through the
 * configuration file and the environment: the defaults, every key, and each mistake refused
 * with file:line and the key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "config_env.h"
#include "event.h"

static int load(struct config *c, const char *text)
{
	config_defaults(c);
	return config_load_buf(c, "moat.json", text, strlen(text));
}

/* Load text with stderr captured into buf (the error messages). */
static int load_err(struct config *c, const char *text, char *buf, size_t n)
{
	char path[64];
	FILE *f;
	int fd, saved, err;
	size_t got;

	snprintf(path, sizeof(path), "/tmp/moat-test-cfgexp-%d.log", (int)getpid());
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dup2(fd, STDERR_FILENO);
	err = load(c, text);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	f = fopen(path, "re");
	got = f ? fread(buf, 1, n - 1, f) : 0;
	buf[got] = 0;
	if (f)
		fclose(f);
	unlink(path);
	return err;
}

static void test_defaults(void)
{
	struct config *c = malloc(sizeof(*c));
	uint32_t want;
	const char *bad;

	config_defaults(c);
	event_type_mask("exec,connect,dns_answer,socket,packet,oom", &want, &bad);
	CHECK(!c->exp.url[0] && c->exp.types == want && c->exp.alerts &&
		  !strcmp(c->exp.events_table, "moat_events") &&
		  !strcmp(c->exp.alerts_table, "moat_alerts") &&
		  !strcmp(c->exp.database, "default") && c->exp.batch_rows == 10000 &&
		  c->exp.batch_ms == 1000 && c->exp.spool_max_mib == 256 &&
		  !(c->exp.types & (1u << MOAT_EV_SENDMSG)) &&
		  (c->exp.low_value & (1u << MOAT_EV_DNS_QUERY)),
	      "defaults: no export; exec, connect, dns_answer, socket, packet, oom; alerts",
	      "types %#x", c->exp.types);
	free(c);
}

static void test_good(void)
{
	struct config *c = malloc(sizeof(*c));
	const char *text = "{\"export\": {\"url\": \"http://u:p@ch.example:8123/\",\n"
			   " \"database\": \"sec\", \"events_table\": \"ev\", \"alerts_table\": "
			   "\"al\",\n"
			   " \"types\": [\"exec\", \"dns\"], \"low_value_types\": \"dns_query\",\n"
			   " \"alerts\": false, \"host_id\": \"web-01.eu\", \"batch_rows\": 500,\n"
			   " \"batch_kib\": 512, \"batch_ms\": 200, \"timeout_ms\": 2000,\n"
			   " \"queue_kib\": 1024, \"spool_dir\": \"/var/spool/moat\", "
			   "\"spool_max_mib\": 64}}\n";

	CHECK_EQ_INT(load(c, text), 0, "a full export section loads");
	CHECK(!strcmp(c->exp.url, "http://u:p@ch.example:8123/") &&
		  !strcmp(c->exp.database, "sec") && !strcmp(c->exp.events_table, "ev") &&
		  !strcmp(c->exp.alerts_table, "al") &&
		  c->exp.types ==
		      (1u << MOAT_EV_EXEC | 1u << MOAT_EV_DNS_QUERY | 1u << MOAT_EV_DNS_ANSWER) &&
		  c->exp.low_value == 1u << MOAT_EV_DNS_QUERY && !c->exp.alerts &&
		  !strcmp(c->exp.host_id, "web-01.eu") && c->exp.batch_rows == 500 &&
		  c->exp.batch_kib == 512 && c->exp.batch_ms == 200 && c->exp.timeout_ms == 2000 &&
		  c->exp.queue_kib == 1024 && !strcmp(c->exp.spool_dir, "/var/spool/moat") &&
		  c->exp.spool_max_mib == 64,
	      "every key is read", "types %#x", c->exp.types);
	CHECK_EQ_INT(load(c, "{\"export\": {\"types\": []}}"), 0, "types [] loads");
	CHECK(c->exp.types == 0, "types []: alerts only", "%#x", c->exp.types);
	setenv("MOAT_EXPORT_TYPES", "exec,connect", 1);
	setenv("MOAT_EXPORT_URL", "https://ch.example:8443/", 1);
	config_defaults(c);
	CHECK(config_env_apply(c) == 0 &&
		  c->exp.types == (1u << MOAT_EV_EXEC | 1u << MOAT_EV_CONNECT) &&
		  !strcmp(c->exp.url, "https://ch.example:8443/"),
	      "MOAT_EXPORT_TYPES (comma-separated) and MOAT_EXPORT_URL", "types %#x", c->exp.types);
	unsetenv("MOAT_EXPORT_TYPES");
	unsetenv("MOAT_EXPORT_URL");
	free(c);
}

static void test_bad(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"{\"export\": [1]}", "moat.json:1: export: must be an object"},
	    {"{\"export\": {\n\"url\": \"ftp://x/\"}}",
	     "moat.json:2: export: url: must be ClickHouse's HTTP interface"},
	    {"{\"export\": {\"url\": \"http://a b/\"}}", "export: url: must be"},
	    {"{\"export\": {\"types\": [\"exec\", \"bogus\"]}}",
	     "export: types: unknown event type \"bogus\""},
	    {"{\"export\": {\"events_table\": \"x; DROP TABLE y\"}}",
	     "export: events_table: must be a name of letters, digits and '_'"},
	    {"{\"export\": {\"host_id\": \"a/b\"}}", "export: host_id: must be up to 63 letters"},
	    {"{\"export\": {\"batch_ms\": 1}}",
	     "export: batch_ms: must be a whole number from 10 to 600000"},
	    {"{\"export\": {\"spool_dir\": \"rel/dir\"}}",
	     "export: spool_dir: must be an absolute path"},
	    {"{\"export\": {\"alerts\": \"yes\"}}", "export: alerts: must be true or false"},
	    {"{\"export\": {\"urll\": \"x\"}}", "export: urll: unknown key (known: url,"},
	};
	struct config *c = malloc(sizeof(*c));
	char buf[2048], name[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = load_err(c, cases[i].text, buf, sizeof(buf));

		snprintf(name, sizeof(name), "refused with its reason: %s", cases[i].want);
		CHECK(err == -EINVAL && strstr(buf, cases[i].want), name, "err %d: %s", err, buf);
	}
	CHECK(export_url_check("http://127.0.0.1:8123") == 0 &&
		  export_url_check("https://ch.example/") == 0 &&
		  export_url_check("http://") == -EINVAL &&
		  export_url_check("http:///x") == -EINVAL,
	      "export_url_check: http(s) and a host", "wrong");
	free(c);
}

int main(void)
{
	test_defaults();
	test_good();
	test_bad();
	return TEST_EXIT();
}
