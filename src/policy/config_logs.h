/* config_logs.h - the settings of the log pattern scanner and the health checker: the
 * "logs" and "health" sections of the configuration file, the same sections in a policy,
 * and "logs" in a containers entry (docs/configuration.md). Plain data: the patterns are
 * checked with regcomp(3) here and compiled by the scanner (detect_logs.h). */
#ifndef MOAT_CONFIG_LOGS_H
#define MOAT_CONFIG_LOGS_H

#include <stdint.h>
#include <json-c/json.h>

#define LOGS_MAX_PATTERNS     16  /* user patterns per section */
#define LOGS_PATTERN_NAME     32  /* a pattern's name, NUL included */
#define LOGS_REGEX_LEN	      256 /* a pattern's regex, NUL included */
#define LOGS_DEFAULT_RATE_S   60
#define LOGS_DEFAULT_BUDGET   (1u << 20) /* bytes per second and container */
#define HEALTH_DEFAULT_FAILS  2
#define HEALTH_DEFAULT_POLL_S 10

/* One user pattern: a POSIX extended regex (regcomp REG_EXTENDED, glibc's \b \< \> \w
 * work), its name for alerts, its severity, and whether case is ignored. */
struct log_pattern {
	char name[LOGS_PATTERN_NAME];
	char regex[LOGS_REGEX_LEN];
	int severity; /* enum alert_severity */
	int icase;
};

/* The global "logs" section. */
struct logs_config {
	int enabled;	      /* scan container logs at all (default 1) */
	int default_patterns; /* the seed's patterns (detect_logs.h) as well (default 1) */
	struct log_pattern patterns[LOGS_MAX_PATTERNS];
	int n_patterns;
	uint32_t rate_alerts;	  /* alerts per container and pattern per window (default 1) */
	uint32_t rate_window_s;	  /* the window (default 60 s) */
	uint32_t max_bytes_per_s; /* lines scanned per container and second, in bytes; past it
				     lines are counted, not scanned (default 1 MiB) */
};

/* The global "health" section. */
struct health_config {
	int enabled;	   /* the health checker (default 1) */
	uint32_t failures; /* consecutive failed healthchecks that make a CRITICAL (default 2) */
	uint32_t poll_s;   /* inspect containers with a healthcheck at least this often, besides
			      Docker's events (default 10 s; 0: events only) */
};

/* A policy's "logs" and "health": -1 where the global setting stands. */
struct logs_policy {
	int enabled;					/* -1, 0, 1 */
	int default_patterns;				/* -1, 0, 1 */
	struct log_pattern patterns[LOGS_MAX_PATTERNS]; /* added to the global ones */
	int n_patterns;
	int health_enabled;  /* -1, 0, 1 */
	int health_failures; /* -1 or 1..100 */
};

void logs_config_defaults(struct logs_config *l);
void health_config_defaults(struct health_config *h);
void logs_policy_defaults(struct logs_policy *p);

/* Parse the "logs" (section logs, may be NULL) and "health" (section health, may be NULL)
 * sections of the configuration file named path whose text is text (for line numbers)
 * into l and h. Each error is logged as "path:line: key: reason". Returns the number of
 * errors (0: all applied; otherwise l and h may be partly written: the caller discards
 * them, as config_load does). */
int config_logs_parse(json_object *logs, json_object *health, const char *path, const char *text,
		      struct logs_config *l, struct health_config *h);

/* A containers entry's "logs": true or false. Returns 0, or 1 after logging the error. */
int config_logs_container(json_object *v, const char *path, const char *text, int *out);

/* A policy's "logs" and "health" members of policy object o into p. Returns NULL, or the
 * reason the policy is bad (a static or thread-local string, for "path:line: policy N:
 * reason"). */
const char *policy_logs_parse(json_object *o, struct logs_policy *p);

#endif /* MOAT_CONFIG_LOGS_H */
