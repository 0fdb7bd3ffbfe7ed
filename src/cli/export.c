/* export.c - `moat export schema`: the CREATE TABLE statements of the ClickHouse export
 * (docs/fleet.md), for the configured database and tables. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "config_env.h"
#include "export.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: moat export schema [--config F] [--cluster NAME]\n"
	       "Prints the CREATE TABLE statements of the events and alerts tables\n"
	       "(export.database, export.events_table, export.alerts_table); with --cluster,\n"
	       "replicated local tables ON CLUSTER NAME under Distributed ones (docs/fleet.md).\n");
}

int cmd_export(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"cluster", required_argument, NULL, 'C'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *config = NULL, *cluster = NULL;
	struct config cfg;
	int opt, err;

	(void)pin_dir;
	if (argc < 2 || strcmp(argv[1], "schema")) {
		usage(stderr);
		return 2;
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "c:C:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'C': cluster = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	for (const char *p = cluster; p && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_')) {
			log_error("--cluster: a cluster name is letters, digits and '_'");
			return 2;
		}
	config_defaults(&cfg);
	err = config_load(&cfg, config ? config : CONFIG_DEFAULT_PATH);
	if (err && (config || err != -ENOENT)) {
		if (err == -ENOENT)
			log_error("%s: no such file (--config)", config);
		return 1;
	}
	if (config_env_apply(&cfg))
		return 1;
	export_schema_print(stdout, &cfg.exp, cluster && *cluster ? cluster : NULL);
	return 0;
}
