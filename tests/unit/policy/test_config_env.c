/* test_config_env.c - the configuration from MOAT_* variables (src/policy/config_env.c):
 * every key docs/configuration.md documents has its variable and nothing else does; values
 * are checked like the file's and errors name the variable; the order defaults < file <
 * environment < flags through moat run's own option parser. */
#include <libgen.h>
#include <limits.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "config_env.h"
#include "options.h"

/* The configuration keys of the flags table of docs/configuration.md. */
static int doc_keys(char keys[][64], int max)
{
	char exe[PATH_MAX], doc[PATH_MAX + 32], line[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int k = 0, in_table = 0;
	FILE *f;

	exe[n > 0 ? n : 0] = 0;
	snprintf(doc, sizeof(doc), "%s/../../docs/configuration.md", dirname(exe));
	f = fopen(doc, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *col, *tick, *end;

		if (!strncmp(line, "| flag | configuration key |", 28)) {
			in_table = 1;
			continue;
		}
		if (in_table && line[0] != '|')
			break;
		if (!in_table || !(col = strchr(line + 1, '|')))
			continue;
		tick = strchr(col, '`');
		end = tick ? strpbrk(tick + 1, "`: ") : NULL;
		if (!tick || !end || tick > strchr(col + 1, '|') || k >= max)
			continue;
		snprintf(keys[k++], 64, "%.*s", (int)(end - tick - 1), tick + 1);
	}
	fclose(f);
	return k;
}

static void test_docs(void)
{
	char keys[128][64], missing[9000] = "", extra[9000] = "";
	int n = doc_keys(keys, 128);

	CHECK(n >= 30, "docs/configuration.md lists the configuration keys", "%d keys", n);
	for (int i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < n_config_env_keys && strcmp(config_env_keys[j].key, keys[i]); j++)
			;
		if (j == n_config_env_keys)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 " %s", keys[i]);
	}
	for (size_t j = 0; j < n_config_env_keys; j++) {
		int found = 0;

		for (int i = 0; i < n; i++)
			found |= !strcmp(config_env_keys[j].key, keys[i]);
		if (!found)
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), " %s",
				 config_env_keys[j].key);
	}
	CHECK(!missing[0], "every documented configuration key has its MOAT_* variable",
	      "no variable for:%s (add them to config_env_keys[])", missing);
	CHECK(!extra[0], "every MOAT_* variable is a documented key", "undocumented:%s", extra);
}

static void clear_env(void)
{
	for (size_t i = 0; i < n_config_env_keys; i++) {
		char var[96];

		config_env_name(config_env_keys[i].key, var, sizeof(var));
		unsetenv(var);
	}
	unsetenv("MOAT_WEBHOOK_URL");
	unsetenv("MOAT_WEBHOOK_TOKEN");
	unsetenv("MOAT_EXEC");
	unsetenv("MOAT_NOTIFY");
	unsetenv("MOAT_SYSLOG");
}

static void test_values(void)
{
	struct config *c = malloc(sizeof(*c));
	char var[96];

	config_env_name("registry.max_entries", var, sizeof(var));
	CHECK_EQ_STR(var, "MOAT_REGISTRY_MAX_ENTRIES", "the variable of registry.max_entries");
	clear_env();
	config_defaults(c);
	setenv("MOAT_REGISTRY_MAX_ENTRIES", "5000", 1);
	setenv("MOAT_EGRESS", "enforce", 1);
	setenv("MOAT_REPORT_ONLY", "true", 1);
	setenv("MOAT_EXEC_SHELLS", "sh,bash", 1);
	setenv("MOAT_RESOLVERS", "[\"10.0.0.53\"]", 1);
	setenv("MOAT_ALERTS_FILE", "/tmp/a b.jsonl", 1);
	setenv("MOAT_CONTAINERS", "[{\"match\": \"ci-*\", \"pause\": false}]", 1);
	setenv("MOAT_OUTPUTS", "[{\"type\": \"syslog\"}]", 1);
	setenv("MOAT_WEBHOOK_URL", "http://127.0.0.1:8080/hook", 1);
	setenv("MOAT_WEBHOOK_TOKEN", "tok", 1);
	setenv("MOAT_NOTIFY", "true", 1);
	CHECK_EQ_INT(config_env_apply(c), 0, "good variables apply");
	CHECK(c->registry_max == 5000 && c->egress == 1 && c->report_only && c->shells.n == 2 &&
		  !strcmp(c->shells.names[1], "bash") && c->n_resolvers == 1 &&
		  !strcmp(c->alerts_file, "/tmp/a b.jsonl") && c->n_containers == 1 &&
		  c->containers[0].pause == 0 && !c->path[0],
	      "numbers, bare words, booleans, comma lists, JSON arrays, paths as they are",
	      "max %u egress %d shells %d", c->registry_max, c->egress, c->shells.n);
	CHECK(c->outputs.n == 3 && c->outputs.o[0].type == OUTPUT_SYSLOG &&
		  c->outputs.o[1].type == OUTPUT_WEBHOOK &&
		  !strcmp(c->outputs.o[1].headers[0], "Authorization: Bearer tok") &&
		  c->outputs.o[2].type == OUTPUT_NOTIFY,
	      "MOAT_OUTPUTS, then MOAT_WEBHOOK_URL (+ token) and MOAT_NOTIFY add up", "n %d",
	      c->outputs.n);
	clear_env();
	/* A key inside a section leaves the section's other keys as they were. */
	config_defaults(c);
	setenv("MOAT_LOGS_ENABLED", "false", 1);
	setenv("MOAT_HEALTH_FAILURES", "3", 1);
	setenv("MOAT_RESOURCES_CPU_PERCENT", "150", 1);
	CHECK(config_env_apply(c) == 0 && !c->logs.enabled && c->logs.default_patterns &&
		  c->health.failures == 3 && c->health.enabled &&
		  c->resources.t.cpu_percent == 150 && c->resources.t.memory_percent == 85,
	      "MOAT_LOGS_ENABLED, MOAT_HEALTH_FAILURES, MOAT_RESOURCES_CPU_PERCENT: one key of a "
	      "section each",
	      "logs %d health %d cpu %d", c->logs.enabled, c->health.failures,
	      c->resources.t.cpu_percent);
	clear_env();
	config_defaults(c);
	setenv("MOAT_NICE", "-50", 1);
	setenv("MOAT_REGISTRY_MAX_ENTRIES", "lots", 1);
	setenv("MOAT_STRICT", "true", 1);
	CHECK_EQ_INT(config_env_apply(c), -EINVAL, "bad variables: -EINVAL (each logged by name)");
	CHECK(c->nice == -10 && c->registry_max == 100000 && c->strict,
	      "a bad variable changes nothing of its key; the good ones apply", "nice %d", c->nice);
	clear_env();
	setenv("MOAT_WEBHOOK_URL", "hooks.example", 1);
	CHECK_EQ_INT(config_env_apply(c), -EINVAL, "MOAT_WEBHOOK_URL must be http(s)");
	clear_env();
	setenv("MOAT_TEST_SOMETHING", "x", 1);
	CHECK_EQ_INT(config_env_apply(c), 0, "a MOAT_ variable that names no key is left alone");
	unsetenv("MOAT_TEST_SOMETHING");
	free(c);
}

static void test_precedence(void)
{
	struct config *c = malloc(sizeof(*c));
	char path[PATH_MAX], file[64];
	const char *tmp = test_tmpfile("{\"state_dir\": \"/file\", \"alert_dedup_seconds\": 7, "
				       "\"strict\": true, \"nice\": 3}\n");

	snprintf(file, sizeof(file), "%s", tmp);
	clear_env();
	setenv("MOAT_STATE_DIR", "/env", 1);
	setenv("MOAT_ALERT_DEDUP_SECONDS", "9", 1);
	setenv("MOAT_EXEC", "/bin/true", 1);
	config_defaults(c);
	CHECK_EQ_INT(options_parse(c, path, sizeof(path), 6,
				   (char *[]){"run", "--config", file, "--state-dir", "/flag",
					      "--syslog", NULL}),
		     -1, "moat run's options with file, environment and flags");
	CHECK(!strcmp(c->state_dir, "/flag") && c->dedup_s == 9 && c->strict && c->nice == 3 &&
		  c->registry_max == 100000,
	      "defaults < file < environment < flags", "state_dir %s dedup %u", c->state_dir,
	      c->dedup_s);
	CHECK(c->outputs.n == 2 && c->outputs.o[0].type == OUTPUT_EXEC &&
		  c->outputs.o[1].type == OUTPUT_SYSLOG,
	      "outputs add up: the environment's, then the flags'", "n %d", c->outputs.n);
	clear_env();
	setenv("MOAT_WEBHOOK_TOKEN", "tk", 1);
	config_defaults(c);
	CHECK(options_parse(c, path, sizeof(path), 7,
			    (char *[]){"run", "--config", file, "--webhook", "http://a/",
				       "--webhook", "https://b/", NULL}) == -1 &&
		  c->outputs.n == 2 && !strcmp(c->outputs.o[1].url, "https://b/") &&
		  !strcmp(c->outputs.o[0].headers[0], "Authorization: Bearer tk") &&
		  !strcmp(c->outputs.o[1].name, "webhook-2"),
	      "--webhook twice: two webhooks, each with MOAT_WEBHOOK_TOKEN", "n %d", c->outputs.n);
	CHECK_EQ_INT(options_parse(c, path, sizeof(path), 5,
				   (char *[]){"run", "--config", file, "--exec", "relative", NULL}),
		     2, "--exec with a relative path: a usage error (exit 2)");
	setenv("MOAT_NICE", "x", 1);
	config_defaults(c);
	CHECK_EQ_INT(
	    options_parse(c, path, sizeof(path), 3, (char *[]){"run", "--config", file, NULL}), 1,
	    "a bad variable: moat run refuses to start (exit 1)");
	clear_env();
	unlink(file);
	free(c);
}

int main(void)
{
	test_docs();
	test_values();
	test_precedence();
	return TEST_EXIT();
}
