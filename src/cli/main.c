/* main.c - the moat command line: global options, then the verb (commands.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "moat/maps.h"

int main(int argc, char **argv)
{
	const char *pin_dir = getenv("MOAT_PIN_DIR");
	const struct verb *v;
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
			cli_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "moat: unknown option %s\n", argv[i]);
			cli_usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		cli_usage(stderr);
		return 2;
	}
	log_setup_libbpf();
	v = cli_verb_find(argv[i]);
	if (v)
		return v->fn(argc - i, argv + i, pin_dir);
	fprintf(stderr, "moat: unknown command '%s'\n", argv[i]);
	cli_usage(stderr);
	return 2;
}
