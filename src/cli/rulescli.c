/* rulescli.c - `moat rules`: edit the egress rules file and write it into
 * the kernel when moat is attached. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "log.h"
#include "rulesfile.h"

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: moat rules [--file F] list\n"
	    "       moat rules [--file F] allow|deny NAME|*.SUFFIX|CIDR [--comment TEXT]\n"
	    "       moat rules [--file F] rm ID|MATCH\n"
	    "       moat rules [--file F] default allow|deny\n"
	    "       moat rules [--file F] export OUT | import IN (moat's or the seed's format)\n"
	    "F defaults to %s; changes are written into the kernel at once when moat\n"
	    "is attached, and `moat run` reloads the file when it changes.\n",
	    RULES_DEFAULT_PATH);
}

static void list(const struct ruleset *rs)
{
	printf("%-6s %-13s %-40s %s\n", "ID", "KIND", "MATCH", "COMMENT");
	for (int i = 0; i < rs->n; i++)
		printf("%-6u %-13s %-40s %s\n", rs->rules[i].id, rule_kind_name(rs->rules[i].kind),
		       rs->rules[i].match, rs->rules[i].comment);
	printf("default: %s\n", rs->default_deny ? "deny" : "allow");
}

int cmd_rules(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"comment", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *path = RULES_DEFAULT_PATH, *comment = "", *verb, *arg;
	struct ruleset rs = {0};
	struct stat st;
	int opt, err, changed = 0;

	while ((opt = getopt_long(argc, argv, "f:c:h", opts, NULL)) != -1) {
		if (opt == 'f')
			path = optarg;
		else if (opt == 'c')
			comment = optarg;
		else {
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	verb = argv[optind];
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	err = rules_load(&rs, path);
	if (err && err != -ENOENT)
		return 1;
	if (!strcmp(verb, "list")) {
		list(&rs);
	} else if ((!strcmp(verb, "allow") || !strcmp(verb, "deny")) && arg) {
		struct cidr c;
		int ip = cidr_parse(arg, &c) == 0, allow = !strcmp(verb, "allow");
		int id = rules_add(&rs,
				   ip ? (allow ? RULE_ALLOW_IP : RULE_DENY_IP)
				      : (allow ? RULE_ALLOW_DOMAIN : RULE_DENY_DOMAIN),
				   arg, comment);

		if (id < 0)
			goto fail;
		printf("rule %d: %s %s\n", id, verb, arg);
		changed = 1;
	} else if (!strcmp(verb, "rm") && arg) {
		if (rules_remove(&rs, arg)) {
			log_error("no rule with id or match '%s' in %s", arg, path);
			goto fail;
		}
		changed = 1;
	} else if (!strcmp(verb, "default") && arg &&
		   (!strcmp(arg, "allow") || !strcmp(arg, "deny"))) {
		rs.default_deny = !strcmp(arg, "deny");
		changed = 1;
	} else if (!strcmp(verb, "export") && arg) {
		if ((err = rules_save(&rs, arg))) {
			log_error("cannot write %s: %s", arg, strerror(-err));
			goto fail;
		}
	} else if (!strcmp(verb, "import") && arg) {
		int n = rules_import(&rs, arg);

		if (n < 0)
			goto fail;
		printf("%d rule(s) imported from %s\n", n, arg);
		changed = 1;
	} else {
		usage();
		rules_free(&rs);
		return 2;
	}
	if (changed) {
		err = rules_save(&rs, path);
		if (err) {
			log_error("cannot write %s: %s (does its directory exist? are you root?)",
				  path, strerror(-err));
			goto fail;
		}
		if (stat(pin_dir, &st) == 0 && (err = rules_apply(&rs, pin_dir, 0)))
			log_warn("rules saved, but writing them into the kernel failed: %s",
				 strerror(-err));
	}
	rules_free(&rs);
	return 0;
fail:
	rules_free(&rs);
	return 1;
}
