/* options.c - `moat run`'s options: one table, getopt and the usage text from it
 * (options.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_env.h"
#include "log.h"
#include "options.h"

const struct run_option run_options[] = {
    {"config", 'c', "FILE", "the configuration file (default /etc/moat/moat.json if it exists)", 0},
    {"report-only", 'r', NULL, "detect and alert, never act (no pause, no kill, no deny)", 0},
    {"strict", 's', NULL, "direct-connection is CRITICAL instead of WARNING", 0},
    {"skip-sync", 'k', NULL, "keep the DNS registry in memory only", 0},
    {"no-pause", 'P', NULL, "no auto-pause on CRITICAL alerts", 0},
    {"kill-exec", 'K', NULL, "kill suspicious execs in the kernel, in every container", 0},
    {"blacklist", 'b', "FILE", "IP/CIDR list denied in the kernel and alerted", 0},
    {"whitelist", 'w', "FILE", "addresses never reported as direct connections", 0},
    {"state-dir", 'd', "DIR", "where registry.json is kept", 0},
    {"alerts-file", 'a', "FILE", "the JSON-lines alert log", 0},
    {"control-socket", 'S', "PATH", "the control socket the CLI talks to", 0},
    {"egress-rules", 'E', "FILE", "the egress rules file (moat rules)", 0},
    {"egress-enforce", 'e', NULL, "every container reaches only what the egress rules allow", 0},
    {"access-log", 'L', "FILE", "every egress decision, one JSON line each", 0},
    {"policies", 'p', "FILE", "the container-guard policies", 0},
    {"cgroup", 'g', "PATH", "where to attach (default: detected)", 1},
    {"webhook", 'W', "URL", "POST each alert's JSON to URL (queued on disk; docs/outputs.md)", 1},
    {"exec", 'X', "PROGRAM", "run PROGRAM with each alert's JSON on stdin", 1},
    {"notify", 'N', NULL, "desktop notification of CRITICAL alerts (a toast under WSL2)", 0},
    {"syslog", 'Y', NULL, "each alert to the journal (built with sd-journal) or syslog", 0},
    {"http", 'H', "ADDR:PORT", "the dashboard's address (default 127.0.0.1:9876), or off", 0},
    {"clickhouse", 'C', "URL",
     "ship events and alerts to ClickHouse's HTTP interface (docs/fleet.md)", 0},
};
const size_t n_run_options = sizeof(run_options) / sizeof(run_options[0]);

void options_usage(FILE *f, int verbose)
{
	static const char lead[] = "usage: moat run";
	size_t col = sizeof(lead) - 1;

	fputs(lead, f);
	for (size_t i = 0; i < n_run_options; i++) {
		const struct run_option *o = &run_options[i];
		char item[96];
		int n = snprintf(item, sizeof(item), "[--%s%s%s]%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "", o->repeat ? "..." : "");

		if (col + 1 + (size_t)n > 80) {
			fprintf(f, "\n%*s", (int)sizeof(lead) - 1, "");
			col = sizeof(lead) - 1;
		}
		fprintf(f, " %s", item);
		col += 1 + (size_t)n;
	}
	fputs("\nWith no options it protects every container with the defaults of\n"
	      "docs/configuration.md; /etc/moat/moat.json is read when it exists.\n",
	      f);
	for (size_t i = 0; verbose && i < n_run_options; i++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "--%s%s%s", run_options[i].name,
			 run_options[i].arg ? " " : "",
			 run_options[i].arg ? run_options[i].arg : "");
		fprintf(f, "  %-22s %s\n", flag, run_options[i].help);
	}
}

/* An output from a flag (config_outputs_add). 0, or -1 after saying what is wrong. */
static int add_output(struct config *cfg, int type, const char *arg)
{
	int err = config_outputs_add(&cfg->outputs, type, arg,
				     type == OUTPUT_WEBHOOK ? getenv("MOAT_WEBHOOK_TOKEN") : NULL);

	if (err)
		log_error("--%s: %s", output_type_name(type),
			  err == -ENOSPC	   ? "too many outputs (16 at most)"
			  : type == OUTPUT_WEBHOOK ? "must be an http:// or https:// URL"
						   : "must be an absolute path to a program");
	return err ? -1 : 0;
}

/* Apply option val (argument arg) to cfg. 0, or -1 for a bad argument (said). */
static int apply(struct config *cfg, int val, const char *arg)
{
	switch (val) {
	case 'W': return add_output(cfg, OUTPUT_WEBHOOK, arg);
	case 'X': return add_output(cfg, OUTPUT_EXEC, arg);
	case 'N': return add_output(cfg, OUTPUT_NOTIFY, NULL);
	case 'Y': return add_output(cfg, OUTPUT_SYSLOG, NULL);
	case 'r': cfg->report_only = 1; break;
	case 's': cfg->strict = 1; break;
	case 'k': cfg->skip_sync = 1; break;
	case 'P': cfg->pause_on_critical = 0; break;
	case 'K': cfg->kill_exec = 1; break;
	case 'e': cfg->egress = 1; break;
	case 'b': snprintf(cfg->blacklist, sizeof(cfg->blacklist), "%s", arg); break;
	case 'w': snprintf(cfg->whitelist, sizeof(cfg->whitelist), "%s", arg); break;
	case 'd': snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", arg); break;
	case 'a': snprintf(cfg->alerts_file, sizeof(cfg->alerts_file), "%s", arg); break;
	case 'S': snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s", arg); break;
	case 'E': snprintf(cfg->egress_rules, sizeof(cfg->egress_rules), "%s", arg); break;
	case 'p': snprintf(cfg->policies, sizeof(cfg->policies), "%s", arg); break;
	case 'L': snprintf(cfg->access_log, sizeof(cfg->access_log), "%s", arg); break;
	case 'H':
		if (strlen(arg) >= sizeof(cfg->http.listen) ||
		    http_listen_parse(arg, NULL, 0, NULL) < 0) {
			log_error("--http: must be IPv4ADDR:PORT (e.g. 127.0.0.1:9876) or off");
			return -1;
		}
		snprintf(cfg->http.listen, sizeof(cfg->http.listen), "%s", arg);
		break;
	case 'C':
		if (export_url_check(arg)) {
			log_error("--clickhouse: must be ClickHouse's HTTP interface, "
				  "http://HOST:8123/ or https://... (no spaces)");
			return -1;
		}
		snprintf(cfg->exp.url, sizeof(cfg->exp.url), "%s", arg);
		break;
	case 'g':
		if (cfg->n_cgroups < CONFIG_MAX_CGROUPS)
			snprintf(cfg->cgroups[cfg->n_cgroups++], sizeof(cfg->cgroups[0]), "%s",
				 arg);
		break;
	default: break;
	}
	return 0;
}

int options_parse(struct config *cfg, char *config_path, size_t len, int argc, char **argv)
{
	struct option opts[sizeof(run_options) / sizeof(run_options[0]) + 2];
	int opt, err;

	for (size_t i = 0; i < n_run_options; i++)
		opts[i] = (struct option){run_options[i].name,
					  run_options[i].arg ? required_argument : no_argument,
					  NULL, run_options[i].val};
	opts[n_run_options] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n_run_options + 1] = (struct option){0};
	config_path[0] = 0;
	/* First pass: the config file, so that flags override it. */
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1)
		if (opt == 'c')
			snprintf(config_path, len, "%s", optarg);
	opterr = 1;
	if (config_path[0]) {
		err = config_load(cfg, config_path);
		if (err) {
			if (err == -ENOENT)
				log_error("%s: no such file (--config)", config_path);
			return 1;
		}
	} else {
		err = config_load(cfg, CONFIG_DEFAULT_PATH);
		if (err && err != -ENOENT)
			return 1;
		if (!err)
			snprintf(config_path, len, "%s", CONFIG_DEFAULT_PATH);
	}
	/* The environment over the file, the flags over both (docs/configuration.md). */
	if (config_env_apply(cfg))
		return 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (opt == 'h' || opt == '?' || opt == ':') {
			options_usage(stderr, opt == 'h');
			return opt == 'h' ? 0 : 2;
		}
		if (apply(cfg, opt, optarg))
			return 2;
	}
	return -1;
}
