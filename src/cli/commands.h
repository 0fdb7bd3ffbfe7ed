/* commands.h - the CLI subcommands; each returns the process exit code
 * (0 ok, 1 failed, 2 usage). pin_dir is the BPF pin directory. */
#ifndef MOAT_COMMANDS_H
#define MOAT_COMMANDS_H

int cmd_trace(int argc, char **argv, const char *pin_dir);
int cmd_attach(int argc, char **argv, const char *pin_dir);
int cmd_clear(int argc, char **argv, const char *pin_dir);
int cmd_status(int argc, char **argv, const char *pin_dir);
int cmd_probe(int argc, char **argv, const char *pin_dir);
int cmd_rule(int argc, char **argv, const char *pin_dir);
int cmd_mode(int argc, char **argv, const char *pin_dir);
int cmd_kill(int argc, char **argv, const char *pin_dir);
int cmd_domain(int argc, char **argv, const char *pin_dir);
int cmd_rules(int argc, char **argv, const char *pin_dir);
int cmd_stats(int argc, char **argv, const char *pin_dir);
int cmd_prompt(int argc, char **argv, const char *pin_dir);
int cmd_pause(int argc, char **argv, const char *pin_dir);
int cmd_resume(int argc, char **argv, const char *pin_dir);
int cmd_registry(int argc, char **argv, const char *pin_dir);
int cmd_alerts_cli(int argc, char **argv, const char *pin_dir);

#endif /* MOAT_COMMANDS_H */
