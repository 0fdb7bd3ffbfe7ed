/* options.h - `moat run`'s command line: one table of options (name, argument, help) from
 * which getopt's table and the usage text come; the configuration file is read first, so
 * that flags override it. docs/configuration.md documents each flag (a test compares). */
#ifndef MOAT_OPTIONS_H
#define MOAT_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

struct config;

/* One option of `moat run`. */
struct run_option {
	const char *name; /* long name, without "--" */
	int val;	  /* getopt's code */
	const char *arg;  /* the argument's name ("FILE"), NULL for a switch */
	const char *help; /* one line */
	int repeat;	  /* may be given more than once */
};

extern const struct run_option run_options[];
extern const size_t n_run_options;

/* The usage text: a synopsis from run_options wrapped at 80 columns, one line per option
 * with its help when verbose. */
void options_usage(FILE *f, int verbose);

/* Read the configuration (--config FILE, which must exist, else /etc/moat/moat.json when it
 * exists) into cfg, its path into config_path ("" for none), then the flags over it.
 * Returns -1 to go on, or the exit code: 0 after --help, 1 when the configuration cannot be
 * read, 2 on a usage error (the usage is printed on stderr). */
int options_parse(struct config *cfg, char *config_path, size_t len, int argc, char **argv);

#endif /* MOAT_OPTIONS_H */
