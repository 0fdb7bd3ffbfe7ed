/* main.c - the moat command line: global options, then a subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "daemon.h"
#include "log.h"
#include "alertlog.h"
#include "moat/maps.h"

#define MOAT_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "moat %s - eBPF container security monitor\n"
	    "\n"
	    "usage: moat [-v|-q] [--pin-dir DIR] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  run [--config F] [--report-only] ...  the monitor: detect, alert, pause "
	    "(docs/configuration.md)\n"
	    "  alerts [--last N] [--severity S] [--container C] [--since T] [--follow] [--json]\n"
	    "  pause C | resume C          pause or resume a container (through moat run if it "
	    "runs)\n"
	    "  registry [NAME|IP|*.SUFFIX] the DNS registry: names, addresses, who resolved them\n"
	    "  rules list|allow|deny|rm|default|export|import  the egress rules file (domains, "
	    "IPs)\n"
	    "  stats [--json]              egress decisions per domain and container, recent "
	    "activity\n"
	    "  prompt [--list] [--decide ID CHOICE]  answer interactive egress requests\n"
	    "  trace [--json] [--container C] [--type T,..]  stream kernel events "
	    "(docs/events.md)\n"
	    "  attach [--cgroup PATH]...   load, attach to the runtime cgroups, pin; stays "
	    "after exit\n"
	    "  status                      attached programs, counters, modes and rules\n"
	    "  clear                       detach everything and remove the pins\n"
	    "  probe                       what this kernel supports and what moat uses\n"
	    "  rule allow|deny|del CIDR [--cgroup C] [--id N]   low-level CIDR rule\n"
	    "  mode C monitor|enforce [allow|deny] [kill-exec]  a cgroup's mode and default\n"
	    "  kill add|del NAME [--cgroup C] [--id N]          executable the exec hook kills\n"
	    "\n"
	    "C is a cgroup id, a cgroup path, or a container name or id.\n"
	    "Global options: -v debug output (libbpf and verifier logs), -q warnings only,\n"
	    "--pin-dir DIR (default %s, or $MOAT_PIN_DIR).\n"
	    "See README.md and docs/ for more.\n",
	    MOAT_VERSION, MOAT_PIN_DIR);
}

int cmd_alerts_cli(int argc, char **argv, const char *pin_dir)
{
	(void)pin_dir;
	return cmd_alerts(argc, argv);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **, const char *);
	} cmds[] = {
	    {"trace", cmd_trace},	{"attach", cmd_attach},	    {"status", cmd_status},
	    {"clear", cmd_clear},	{"probe", cmd_probe},	    {"rule", cmd_rule},
	    {"mode", cmd_mode},		{"kill", cmd_kill},	    {"domain", cmd_domain},
	    {"rules", cmd_rules},	{"stats", cmd_stats},	    {"prompt", cmd_prompt},
	    {"run", cmd_run},		{"pause", cmd_pause},	    {"resume", cmd_resume},
	    {"registry", cmd_registry}, {"alerts", cmd_alerts_cli},
	};
	const char *pin_dir = getenv("MOAT_PIN_DIR");
	int i = 1;

	if (!pin_dir || !*pin_dir)
		pin_dir = MOAT_PIN_DIR;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			log_level = LOG_DEBUG;
		} else if (strcmp(argv[i], "-q") == 0) {
			log_level = LOG_WARN;
		} else if (strcmp(argv[i], "--pin-dir") == 0 && i + 1 < argc) {
			pin_dir = argv[++i];
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("moat %s\n", MOAT_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "moat: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	log_setup_libbpf();
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
		if (strcmp(argv[i], cmds[c].name) == 0)
			return cmds[c].fn(argc - i, argv + i, pin_dir);
	fprintf(stderr, "moat: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
