/* commands.h - the moat command's verbs: one table (verbs.c) of name, synopsis, help
 * and handler, from which `moat --help` is generated and against which a test checks
 * docs/moat.8 and docs/configuration.md (tests/unit/cli/test_cli.c).
 *
 * Every handler has the same signature: argv[0] is the verb, pin_dir the BPF pin
 * directory (--pin-dir, $MOAT_PIN_DIR or the default). It returns the process exit code
 * (0 ok, 1 failed, 2 usage; `status` also 3: nothing attached). */
#ifndef MOAT_COMMANDS_H
#define MOAT_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

#include "version.h" /* MOAT_VERSION */

struct verb {
	const char *name;
	const char *args; /* the synopsis after the name, as in the docs; "" when none */
	const char *help; /* one line for `moat --help`, no final period */
	int (*fn)(int argc, char **argv, const char *pin_dir);
};

/* The table, in the order `moat --help` and docs/moat.8 list them. */
extern const struct verb cli_verbs[];
extern const size_t cli_n_verbs;

/* The verb called name, or NULL. */
const struct verb *cli_verb_find(const char *name);

/* `moat --help`: the global options, then each verb's synopsis and help from the table. */
void cli_usage(FILE *out);

/* The handlers, in the file that holds each; cmd_run (`moat run`) is the daemon's
 * (daemon.h). */
int cmd_alerts(int argc, char **argv, const char *pin_dir); /* alerts.c */

int cmd_pause(int argc, char **argv, const char *pin_dir); /* client.c */
int cmd_resume(int argc, char **argv, const char *pin_dir);
int cmd_registry(int argc, char **argv, const char *pin_dir);
int cmd_stats(int argc, char **argv, const char *pin_dir);
int cmd_prompt(int argc, char **argv, const char *pin_dir);

int cmd_rules(int argc, char **argv, const char *pin_dir); /* rulescli.c */

int cmd_trace(int argc, char **argv, const char *pin_dir);  /* trace.c */
int cmd_replay(int argc, char **argv, const char *pin_dir); /* replay.c */

int cmd_export(int argc, char **argv, const char *pin_dir); /* export.c */
int cmd_learn(int argc, char **argv, const char *pin_dir);  /* learn.c */

int cmd_attach(int argc, char **argv, const char *pin_dir); /* admin.c */
int cmd_status(int argc, char **argv, const char *pin_dir);
int cmd_clear(int argc, char **argv, const char *pin_dir);
int cmd_probe(int argc, char **argv, const char *pin_dir);
int cmd_rule(int argc, char **argv, const char *pin_dir);
int cmd_mode(int argc, char **argv, const char *pin_dir);
int cmd_domain(int argc, char **argv, const char *pin_dir);
int cmd_kill(int argc, char **argv, const char *pin_dir);

#endif /* MOAT_COMMANDS_H */
