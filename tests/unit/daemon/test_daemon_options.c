/* test_daemon_options.c - `moat run`'s command line (src/daemon/options.c): the file first,
 * flags over it, usage errors; and the one option table against the usage text and the
 * flags table of docs/configuration.md, so that neither drifts. */
#define _GNU_SOURCE /* strchrnul */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "options.h"

static int parse(struct config *cfg, char *path, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	config_defaults(cfg);
	return options_parse(cfg, path, PATH_MAX, argc, argv);
}

static void test_parse(void)
{
	struct config *cfg = malloc(sizeof(*cfg));
	char path[PATH_MAX], file[64];
	const char *tmp = test_tmpfile("{\"report_only\": false, \"state_dir\": \"/from/file\", "
				       "\"alerts_file\": \"/file/alerts.jsonl\"}\n");

	snprintf(file, sizeof(file), "%s", tmp);
	CHECK_EQ_INT(parse(cfg, path,
			   (char *[]){"run", "--config", file, "--report-only", "--state-dir",
				      "/from/flag", "--cgroup", "a", "--cgroup", "b", NULL}),
		     -1, "valid options: go on");
	CHECK(!strcmp(path, file) && cfg->report_only && !strcmp(cfg->state_dir, "/from/flag") &&
		  !strcmp(cfg->alerts_file, "/file/alerts.jsonl"),
	      "the file is read first and flags win over it", "state_dir %s", cfg->state_dir);
	CHECK(cfg->n_cgroups == 2 && !strcmp(cfg->cgroups[1], "b"), "--cgroup repeats", "n %d",
	      cfg->n_cgroups);
	CHECK_EQ_INT(parse(cfg, path,
			   (char *[]){"run",
				      "--config",
				      file,
				      "--egress-enforce",
				      "--no-pause",
				      "--kill-exec",
				      "--strict",
				      "--skip-sync",
				      "--blacklist",
				      "/b",
				      "--whitelist",
				      "/w",
				      "--alerts-file",
				      "/a",
				      "--control-socket",
				      "/s",
				      "--egress-rules",
				      "/e",
				      "--access-log",
				      "/l",
				      "--policies",
				      "/p",
				      NULL}),
		     -1, "every flag at once");
	CHECK(cfg->egress == 1 && !cfg->pause_on_critical && cfg->kill_exec && cfg->strict &&
		  cfg->skip_sync && !strcmp(cfg->blacklist, "/b") &&
		  !strcmp(cfg->whitelist, "/w") && !strcmp(cfg->alerts_file, "/a") &&
		  !strcmp(cfg->control_socket, "/s") && !strcmp(cfg->egress_rules, "/e") &&
		  !strcmp(cfg->access_log, "/l") && !strcmp(cfg->policies, "/p"),
	      "each flag sets its key", "a flag was lost");
	CHECK_EQ_INT(parse(cfg, path, (char *[]){"run", "--config", file, "--help", NULL}), 0,
		     "--help: exit 0");
	CHECK_EQ_INT(parse(cfg, path, (char *[]){"run", "--config", file, "--bogus", NULL}), 2,
		     "an unknown option: exit 2");
	CHECK_EQ_INT(parse(cfg, path, (char *[]){"run", "--config", file, "--blacklist", NULL}), 2,
		     "a missing argument: exit 2");
	CHECK_EQ_INT(
	    parse(cfg, path, (char *[]){"run", "--config", "/nonexistent/moat.json", NULL}), 1,
	    "an explicit --config that does not exist: exit 1");
	tmp = test_tmpfile("{\"report_only\": maybe}\n");
	CHECK_EQ_INT(parse(cfg, path, (char *[]){"run", "--config", (char *)tmp, NULL}), 1,
		     "a bad configuration file: exit 1");
	unlink(tmp);
	free(cfg);
}

/* The usage text comes from the table: every option, no line over 80 columns. */
static void test_usage(void)
{
	char *text = NULL;
	size_t len = 0, longest = 0;
	FILE *f = open_memstream(&text, &len);
	int missing = 0;

	options_usage(f, 1);
	fclose(f);
	for (size_t i = 0; i < n_run_options; i++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "[--%s", run_options[i].name);
		missing += strstr(text, flag) == NULL;
		missing += !run_options[i].help || !run_options[i].help[0];
	}
	for (char *l = text, *nl; *l; l = nl + 1) {
		nl = strchrnul(l, '\n');
		if ((size_t)(nl - l) > longest && strncmp(l, "  --", 4))
			longest = (size_t)(nl - l);
		if (!*nl)
			break;
	}
	CHECK(!missing, "the synopsis names every option, each with its help", "%d missing",
	      missing);
	CHECK(longest <= 80, "the synopsis wraps at 80 columns", "a line of %zu", longest);
	free(text);
}

static int is_served(const char *flag)
{
	for (size_t i = 0; i < n_run_options; i++)
		if (!strcmp(run_options[i].name, flag))
			return 1;
	return 0;
}

/* The flags table of docs/configuration.md ("| flag | configuration key | ...") and the
 * option table list the same flags. */
static void test_docs(void)
{
	char exe[PATH_MAX], doc[PATH_MAX + 32], line[1024], undocumented[512] = "";
	char documented[64][32];
	int n_doc = 0, unserved = 0, in_table = 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f;

	exe[n > 0 ? n : 0] = 0;
	/* build/tests/<me> -> the source tree */
	snprintf(doc, sizeof(doc), "%s/../../docs/configuration.md", dirname(exe));
	f = fopen(doc, "re");
	CHECK(f != NULL, "docs/configuration.md is there", "%s", doc);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char flag[32];

		if (!strncmp(line, "| flag | configuration key |", 28)) {
			in_table = 1;
			continue;
		}
		if (in_table && line[0] != '|')
			break;
		if (!in_table || sscanf(line, "| `--%31[a-z-]", flag) != 1 || n_doc >= 64)
			continue;
		snprintf(documented[n_doc++], sizeof(documented[0]), "%s", flag);
		unserved += !is_served(flag);
	}
	fclose(f);
	for (size_t i = 0; i < n_run_options; i++) {
		int found = 0;

		for (int k = 0; k < n_doc; k++)
			found |= !strcmp(documented[k], run_options[i].name);
		if (!found)
			snprintf(undocumented + strlen(undocumented),
				 sizeof(undocumented) - strlen(undocumented), " --%s",
				 run_options[i].name);
	}
	CHECK(n_doc >= 10 && !unserved, "every flag docs/configuration.md documents is served",
	      "%d of %d not served", unserved, n_doc);
	CHECK(!undocumented[0], "every flag moat run serves is documented", "undocumented:%s",
	      undocumented);
}

int main(void)
{
	test_parse();
	test_usage();
	test_docs();
	return TEST_EXIT();
}
