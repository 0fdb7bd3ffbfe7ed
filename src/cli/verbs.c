/* verbs.c - the table of the moat command's verbs and `moat --help`, generated from it. */
#include <string.h>

#include "commands.h"
#include "daemon.h"
#include "moat/maps.h"

/* args is the synopsis docs/moat.8 (COMMANDS) and docs/configuration.md (### headings)
 * give word for word; tests/unit/cli/test_cli.c fails when they differ or miss a verb. */
const struct verb cli_verbs[] = {
    {"run", "[--config F] [--report-only] [--egress-enforce] [FLAG]...",
     "the monitor: detect, alert, act", cmd_run},
    {"alerts",
     "[--last N] [--severity S] [--container C] [--since T] [--follow] [--json] [--color WHEN] "
     "[--file F]",
     "read the alert log (docs/alerts.md)", cmd_alerts},
    {"pause", "C", "pause a container (via moat run if running)", cmd_pause},
    {"resume", "C", "resume a container (via moat run if running)", cmd_resume},
    {"registry", "[--state-dir DIR] [NAME|IP|*.SUFFIX]", "the DNS registry: who resolved what",
     cmd_registry},
    {"rules", "[--file F] list|allow|deny|rm|default|export|import ...",
     "edit the egress rules file (domains, IPs)", cmd_rules},
    {"stats", "[--json] [--resources [C]]", "egress decisions; resource stats per container",
     cmd_stats},
    {"prompt", "[--list [--json]] [--decide ID CHOICE]", "answer interactive egress requests",
     cmd_prompt},
    {"learn",
     "start|stop|status|show|diff|policy [IMAGE|--all] [--json] [--wildcards N] [--rules F] "
     "[--policies F] [--stable-seconds N] [--state-dir DIR]",
     "per-image baselines and the policies they make", cmd_learn},
    {"trace",
     "[--json] [--container C] [--type LIST] [--cgroup PATH]... [--count N] [--duration SEC] "
     "[--record FILE] [--record-size N] [--record-time D] [--quiet]",
     "stream kernel events (docs/events.md)", cmd_trace},
    {"export", "schema [--config F] [--cluster NAME]",
     "print the ClickHouse export tables (fleet.md)", cmd_export},
    {"replay", "FILE... [--json] [--container C] [--type LIST] [--detect] [--config F]",
     "print a capture like trace, or detect offline", cmd_replay},
    {"attach", "[--cgroup PATH]...", "load, attach and pin; stays after exit", cmd_attach},
    {"status", "", "attached programs, counters, modes and rules", cmd_status},
    {"clear", "", "detach everything and remove the pins", cmd_clear},
    {"probe", "", "what this kernel supports, what moat uses", cmd_probe},
    {"rule", "allow|deny|del CIDR [--cgroup C] [--id N]", "low-level: a CIDR rule in the kernel",
     cmd_rule},
    {"mode", "C monitor|enforce [allow|deny] [kill-exec] [domains[=POLICY]]",
     "low-level: a cgroup's mode and default", cmd_mode},
    {"domain", "allow|deny|del NAME|*.SUFFIX|* [--policy N] [--id N]",
     "low-level: a domain rule in the kernel", cmd_domain},
    {"kill", "add|del NAME [--cgroup C] [--id N]", "low-level: an executable the exec hook kills",
     cmd_kill},
};

const size_t cli_n_verbs = sizeof(cli_verbs) / sizeof(cli_verbs[0]);

const struct verb *cli_verb_find(const char *name)
{
	for (size_t i = 0; i < cli_n_verbs; i++)
		if (strcmp(cli_verbs[i].name, name) == 0)
			return &cli_verbs[i];
	return NULL;
}

#define USAGE_WIDTH    80
#define USAGE_HELP_COL 32

/* Print "  NAME ARGS", breaking ARGS between bracketed groups so that no line passes
 * USAGE_WIDTH (a group longer than that stays whole); continuation lines are indented
 * under the first argument. Returns the column the line ends at, or -1 when it took
 * more than one line. */
static int print_synopsis(FILE *out, const struct verb *v)
{
	int indent = 2 + (int)strlen(v->name) + 1, col = indent - 1, lines = 1;
	const char *p = v->args;

	fprintf(out, "  %s", v->name);
	while (*p) {
		const char *w = p;
		int depth = 0;

		/* One word: up to a space outside brackets. */
		for (; *p && (*p != ' ' || depth > 0); p++)
			depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
		if (col > indent && col + 1 + (p - w) > USAGE_WIDTH) {
			fprintf(out, "\n%*s", indent - 1, "");
			col = indent - 1;
			lines++;
		}
		fprintf(out, " %.*s", (int)(p - w), w);
		col += 1 + (int)(p - w);
		while (*p == ' ')
			p++;
	}
	return lines == 1 ? col : -1;
}

void cli_usage(FILE *out)
{
	fprintf(out,
		"moat %s - eBPF container security monitor\n"
		"\n"
		"usage: moat [-v|-q] [--pin-dir DIR] COMMAND [ARGS]\n"
		"\n"
		"commands:\n",
		MOAT_VERSION);
	for (size_t i = 0; i < cli_n_verbs; i++) {
		int col = print_synopsis(out, &cli_verbs[i]);

		if (col < 0 || col + 2 > USAGE_HELP_COL)
			fprintf(out, "\n%*s%s\n", USAGE_HELP_COL, "", cli_verbs[i].help);
		else
			fprintf(out, "%*s%s\n", USAGE_HELP_COL - col, "", cli_verbs[i].help);
	}
	fprintf(out,
		"\n"
		"C is a cgroup id, a cgroup path, or a container name or id.\n"
		"Global options: -v debug output (libbpf and verifier logs), -q warnings only,\n"
		"--pin-dir DIR (default %s, or $MOAT_PIN_DIR).\n"
		"See README.md and docs/ for more.\n",
		MOAT_PIN_DIR);
}
