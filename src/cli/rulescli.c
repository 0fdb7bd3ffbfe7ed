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
#include "rulesedit.h"
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
	struct rules_edit e;
	char why[512];
	int opt, err;

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
	if (!strcmp(verb, "list") || (!strcmp(verb, "export") && arg)) {
		err = rules_load(&rs, path);
		if (err && err != -ENOENT)
			return 1;
		if (!strcmp(verb, "list"))
			list(&rs);
		else if ((err = rules_save(&rs, arg))) {
			log_error("cannot write %s: %s", arg, strerror(-err));
			goto fail;
		}
		rules_free(&rs);
		return 0;
	}
	if ((!strcmp(verb, "allow") || !strcmp(verb, "deny")) && arg)
		e = (struct rules_edit){.op = RULES_EDIT_ADD,
					.kind = rules_edit_kind(verb, arg),
					.match = arg,
					.comment = comment};
	else if (!strcmp(verb, "rm") && arg)
		e = (struct rules_edit){.op = RULES_EDIT_REMOVE, .match = arg};
	else if (!strcmp(verb, "default") && arg && (!strcmp(arg, "allow") || !strcmp(arg, "deny")))
		e = (struct rules_edit){.op = RULES_EDIT_DEFAULT,
					.default_deny = !strcmp(arg, "deny")};
	else if (!strcmp(verb, "import") && arg)
		e = (struct rules_edit){.op = RULES_EDIT_IMPORT, .match = arg};
	else {
		usage();
		return 2;
	}
	/* the same change as the dashboard's (policy/rulesedit.c): validated, locked, atomic */
	err = rules_edit_file(path, &e, &rs, why, sizeof(why));
	if (err < 0) {
		log_error("%s", why);
		return 1;
	}
	if (e.op == RULES_EDIT_ADD)
		printf("rule %d: %s %s\n", err, verb, arg);
	else if (e.op == RULES_EDIT_IMPORT)
		printf("%d rule(s) imported from %s\n", err, arg);
	if (stat(pin_dir, &st) == 0 && (err = rules_apply(&rs, pin_dir, 0)))
		log_warn("rules saved, but writing them into the kernel failed: %s",
			 strerror(-err));
	rules_free(&rs);
	return 0;
fail:
	rules_free(&rs);
	return 1;
}
