/* test_config_outputs.c - the "outputs" section (src/policy/config_outputs.c) through the
 * configuration file: every key of every type, the defaults, and each mistake refused with
 * file:line and the entry. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "config.h"
#include "severity.h"

static int load(struct config *c, const char *text)
{
	config_defaults(c);
	return config_load_buf(c, "moat.json", text, strlen(text));
}

static void test_good(void)
{
	struct config *c = malloc(sizeof(*c));
	const char *text =
	    "{\"outputs\": [\n"
	    " {\"type\": \"webhook\", \"name\": \"ops\", \"url\": \"https://hooks.example/x\",\n"
	    "  \"headers\": {\"Authorization\": \"Bearer t\", \"X-Team\": \"sec\"},\n"
	    "  \"min_severity\": \"WARNING\", \"rate_per_minute\": 30, \"burst\": 5,\n"
	    "  \"container_rate_per_minute\": 6, \"container_burst\": 2,\n"
	    "  \"timeout_ms\": 2000, \"backoff_ms\": 500, \"max_backoff_ms\": 30000,\n"
	    "  \"queue_max\": 100, \"ca_file\": \"/etc/moat/hooks-ca.pem\"},\n"
	    " {\"type\": \"exec\", \"command\": [\"/usr/local/bin/page\", \"--team\", \"sec\"],\n"
	    "  \"timeout_ms\": 3000, \"max_concurrent\": 4},\n"
	    " {\"type\": \"exec\", \"command\": \"logger -t moat\", \"shell\": true},\n"
	    " {\"type\": \"notify\", \"bus\": \"unix:path=/run/user/1000/bus\"},\n"
	    " {\"type\": \"syslog\", \"mode\": \"syslog\", \"socket\": \"/dev/log\",\n"
	    "  \"facility\": \"local3\", \"ident\": \"moat-prod\"},\n"
	    " {\"type\": \"file\", \"min_severity\": \"INFO\"},\n"
	    " {\"type\": \"terminal\", \"enabled\": false}\n"
	    "]}\n";
	const struct output_conf *o = c->outputs.o;

	CHECK_EQ_INT(load(c, text), 0, "a full outputs section loads");
	CHECK(c->outputs.n == 7 && o[0].type == OUTPUT_WEBHOOK && !strcmp(o[0].name, "ops") &&
		  !strcmp(o[0].url, "https://hooks.example/x") && o[0].n_headers == 2 &&
		  !strcmp(o[0].headers[0], "Authorization: Bearer t") &&
		  o[0].min_severity == ALERT_WARNING && o[0].rate_per_minute == 30 &&
		  o[0].burst == 5 && o[0].timeout_ms == 2000 && o[0].backoff_ms == 500 &&
		  o[0].max_backoff_ms == 30000 && o[0].queue_max == 100 &&
		  !strcmp(o[0].ca_file, "/etc/moat/hooks-ca.pem") &&
		  o[0].container_rate_per_minute == 6 && o[0].container_burst == 2 &&
		  o[1].container_rate_per_minute == 60 && o[1].container_burst == 20 &&
		  o[5].container_rate_per_minute == 0,
	      "webhook: every key", "n %d", c->outputs.n);
	CHECK(o[1].type == OUTPUT_EXEC && o[1].argc == 3 && !strcmp(o[1].argv[2], "sec") &&
		  o[1].timeout_ms == 3000 && o[1].max_concurrent == 4 && !o[1].shell &&
		  !strcmp(o[1].name, "exec") && !strcmp(o[2].name, "exec-2") && o[2].shell &&
		  !strcmp(o[2].argv[0], "logger -t moat"),
	      "exec: argv, shell, and a second one named exec-2", "%s %s", o[1].name, o[2].name);
	CHECK(o[3].type == OUTPUT_NOTIFY && o[3].min_severity == ALERT_CRITICAL &&
		  o[3].rate_per_minute == 10 && !strcmp(o[3].bus, "unix:path=/run/user/1000/bus"),
	      "notify: CRITICAL and 10 a minute by default", "sev %d", o[3].min_severity);
	CHECK(o[4].syslog_mode == OUTPUT_SYSLOG_SYSLOG && o[4].facility == 19 &&
		  !strcmp(o[4].ident, "moat-prod"),
	      "syslog: mode, facility local3 = 19, ident", "facility %d", o[4].facility);
	CHECK(o[5].type == OUTPUT_FILE && o[6].type == OUTPUT_TERMINAL && !o[6].enabled,
	      "file and terminal tuned", "-");
	free(c);
}

static void test_bad(void)
{
	static const struct {
		const char *text, *what;
	} bad[] = {
	    {"{\"outputs\": {\"type\": \"exec\"}}", "outputs must be an array"},
	    {"{\"outputs\": [{\"type\": \"pager\"}]}", "an unknown type"},
	    {"{\"outputs\": [{\"url\": \"http://x\"}]}", "no type"},
	    {"{\"outputs\": [{\"type\": \"webhook\"}]}", "a webhook without url"},
	    {"{\"outputs\": [{\"type\": \"webhook\", \"url\": \"ftp://x\"}]}", "a url not http(s)"},
	    {"{\"outputs\": [{\"type\": \"webhook\", \"url\": \"http://x\", \"headers\": "
	     "{\"X\": \"a\\r\\nInjected: 1\"}}]}",
	     "a header value with CR LF"},
	    {"{\"outputs\": [{\"type\": \"webhook\", \"url\": \"http://x\", \"command\": "
	     "[\"/bin/x\"]}]}",
	     "a key of another type"},
	    {"{\"outputs\": [{\"type\": \"exec\"}]}", "an exec without command"},
	    {"{\"outputs\": [{\"type\": \"exec\", \"command\": \"\"}]}",
	     "an exec with an empty command (found by fuzz_config)"},
	    {"{\"outputs\": [{\"type\": \"exec\", \"command\": \"\", \"shell\": true}]}",
	     "an exec with an empty shell command"},
	    {"{\"outputs\": [{\"type\": \"exec\", \"command\": [\"page\"]}]}",
	     "a relative program (no $PATH search)"},
	    {"{\"outputs\": [{\"type\": \"exec\", \"command\": \"/bin/page --x\"}]}",
	     "a command line without shell: true"},
	    {"{\"outputs\": [{\"type\": \"exec\", \"command\": [\"/bin/a\"], \"max_concurrent\": "
	     "0}]}",
	     "max_concurrent 0"},
	    {"{\"outputs\": [{\"type\": \"syslog\", \"facility\": \"local9\"}]}", "a bad facility"},
	    {"{\"outputs\": [{\"type\": \"syslog\", \"mode\": \"kafka\"}]}", "a bad syslog mode"},
	    {"{\"outputs\": [{\"type\": \"notify\", \"min_severity\": \"LOUD\"}]}",
	     "a bad min_severity"},
	    {"{\"outputs\": [{\"type\": \"file\"}, {\"type\": \"file\"}]}", "two file outputs"},
	    {"{\"outputs\": [{\"type\": \"notify\", \"name\": \"a\"}, {\"type\": \"syslog\", "
	     "\"name\": \"a\"}]}",
	     "two outputs named alike"},
	};
	struct config *c = malloc(sizeof(*c));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[128];

		snprintf(name, sizeof(name), "refused: %s", bad[i].what);
		CHECK_EQ_INT(load(c, bad[i].text), -EINVAL, name);
	}
	/* The running outputs stay when a reload is refused. */
	load(c, "{\"outputs\": [{\"type\": \"notify\"}]}");
	CHECK(config_load_buf(c, "moat.json", bad[3].text, strlen(bad[3].text)) == -EINVAL &&
		  c->outputs.n == 1 && c->outputs.o[0].type == OUTPUT_NOTIFY,
	      "a refused file leaves the outputs as they were", "n %d", c->outputs.n);
	free(c);
}

static void test_add(void)
{
	struct outputs_conf *c = calloc(1, sizeof(*c));

	CHECK(config_outputs_add(c, OUTPUT_WEBHOOK, "http://127.0.0.1:9/x", "tok") == 0 &&
		  config_outputs_add(c, OUTPUT_WEBHOOK, "https://h/y", NULL) == 0 && c->n == 2 &&
		  !strcmp(c->o[0].headers[0], "Authorization: Bearer tok") && !c->o[1].n_headers &&
		  !strcmp(c->o[1].name, "webhook-2"),
	      "--webhook twice: two webhooks, the token as a bearer header", "n %d", c->n);
	CHECK_EQ_INT(config_outputs_add(c, OUTPUT_WEBHOOK, "example.com", NULL), -EINVAL,
		     "--webhook without http(s):// is refused");
	CHECK_EQ_INT(config_outputs_add(c, OUTPUT_WEBHOOK, "http://h/", "a\nb"), -EINVAL,
		     "a token with a newline is refused");
	CHECK_EQ_INT(config_outputs_add(c, OUTPUT_EXEC, "relative", NULL), -EINVAL,
		     "--exec needs an absolute path");
	for (int i = c->n; i < OUTPUTS_MAX; i++)
		config_outputs_add(c, OUTPUT_NOTIFY, NULL, NULL);
	CHECK_EQ_INT(config_outputs_add(c, OUTPUT_SYSLOG, NULL, NULL), -ENOSPC,
		     "at most 16 outputs");
	free(c);
}

int main(void)
{
	test_good();
	test_bad();
	test_add();
	return TEST_EXIT();
}
