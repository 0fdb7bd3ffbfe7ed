/* alerts.c - `moat alerts`: its options and messages; reading the alert file is
 * alertlog_query's (act/alertlog_query.c). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertlog.h"
#include "clock.h"
#include "commands.h"
#include "log.h"

static void on_signal(int sig)
{
	alertlog_query_stop();
}

static void alerts_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: moat alerts [--last N] [--severity INFO|WARNING|CRITICAL] [--container C]\n"
	    "                   [--since TIME] [--follow] [--json] [--color auto|always|never]\n"
	    "                   [--file PATH]\n"
	    "Shows the last N alerts (default %d; 0 = all) at or above a severity, of one\n"
	    "container (name or id prefix), since an RFC 3339 time or a duration back from\n"
	    "now (30s, 10m, 2h, 1d). --follow keeps printing new ones. The file defaults to\n"
	    "%s. See docs/alerts.md.\n",
	    ALERTLOG_DEFAULT_LAST, ALERTLOG_DEFAULT_PATH);
}

int cmd_alerts(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {
	    {"last", required_argument, NULL, 'n'},
	    {"severity", required_argument, NULL, 's'},
	    {"container", required_argument, NULL, 'c'},
	    {"since", required_argument, NULL, 'S'},
	    {"follow", no_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {"color", required_argument, NULL, 'C'},
	    {"file", required_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct alert_filter f = {.last = ALERTLOG_DEFAULT_LAST};
	const char *path = ALERTLOG_DEFAULT_PATH;
	struct sigaction sa = {.sa_handler = on_signal};
	char *end;
	long v;
	int opt, err;

	optind = 0; /* a full getopt reset (glibc), so the command can run twice */
	while ((opt = getopt_long(argc, argv, "n:s:c:S:fjh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > INT_MAX) {
				log_error("--last: '%s' is not a count (0 shows all)", optarg);
				return 2;
			}
			f.last = (int)v;
			break;
		case 's':
			f.min_severity = alert_severity_parse(optarg);
			if (f.min_severity < 0) {
				log_error("--severity: '%s' is not INFO, WARNING or CRITICAL",
					  optarg);
				return 2;
			}
			break;
		case 'c': f.container = optarg; break;
		case 'S':
			if (alertlog_parse_since(optarg, clock_unix_ns(), &f.since_ns)) {
				log_error("--since: '%s' is neither an RFC 3339 time "
					  "(2024-05-01T14:00:00Z) nor a duration (10m, 2h, 1d)",
					  optarg);
				return 2;
			}
			break;
		case 'f': f.follow = 1; break;
		case 'j': f.json = 1; break;
		case 'C':
			if (strcmp(optarg, "auto") == 0) {
				f.color_mode = ALERTLOG_COLOR_AUTO;
			} else if (strcmp(optarg, "always") == 0) {
				f.color_mode = ALERTLOG_COLOR_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				f.color_mode = ALERTLOG_COLOR_NEVER;
			} else {
				log_error("--color: '%s' is not auto, always or never", optarg);
				return 2;
			}
			break;
		case 'F': path = optarg; break;
		case 'h': alerts_usage(stdout); return 0;
		default: alerts_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		log_error("alerts: unexpected argument '%s'", argv[optind]);
		alerts_usage(stderr);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	err = alertlog_query(path, &f, stdout);
	if (err == -ENOENT) {
		log_error("no alert file at %s (has the daemon run yet? --file PATH reads another)",
			  path);
		return 1;
	}
	if (err) {
		log_error("reading alerts from %s: %s", path, strerror(-err));
		return 1;
	}
	return 0;
}
