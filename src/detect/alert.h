/* alert.h - what a detection or an action reports, and where it goes:
 * the terminal (one line, severity-coloured on a tty, NO_COLOR honoured)
 * and a JSON-lines file (one write per alert, flushed, never a torn line). */
#ifndef MOAT_ALERT_H
#define MOAT_ALERT_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "severity.h"

/* One alert. Strings are NUL-terminated; empty when not applicable. */
struct alert {
	int64_t time_ns;       /* Unix time of the event that raised it, ns */
	int severity;	       /* enum alert_severity */
	char rule[32];	       /* stable rule id: "direct-connection", "blacklisted-destination",
				* "suspicious-exec", "container-lifecycle", "action" */
	char source[16];       /* seed-compatible channel: "network", "dns", "process",
				* "events", "actions" */
	char message[512];     /* one human sentence */
	char trace_id[33];     /* 128-bit random hex; actions carry their alert's id */
	char container_id[65]; /* full id, or empty when not a container */
	char container_name[128];
	char container_image[256];
	json_object *process;  /* owned: {"pid","ppid","comm","filename","argv",...} or NULL */
	json_object *network;  /* owned: {"daddr","dport","protocol","domain",...} or NULL */
	json_object *action;   /* owned: {"action","result","attempts","error"} or NULL */
	json_object *log;      /* owned: log-pattern, log-flood: {"stream","pattern","line",...} */
	json_object *health;   /* owned: health-failing: {"failing_streak","failures",...} */
	json_object *resource; /* owned: the resource rules' measurement {"kind","value",
				  "threshold","limit","state",...} (detect_resources.h) or NULL */
	int64_t latency_ns;    /* from the kernel event to this alert being raised (for an
				  action: to the action being done); 0 when unknown */
};

/* Fill a new random trace id into a->trace_id. */
void alert_new_trace_id(struct alert *a);

/* Start alert a from nothing: its time (Unix ns), severity, rule and source, a new trace id,
 * and the container (id, name, image; NULL or "" for none). The message and the JSON parts
 * are the caller's to fill. */
void alert_start(struct alert *a, int64_t time_ns, int severity, const char *rule,
		 const char *source, const char *cid, const char *cname, const char *cimage);

/* The alert as the JSON object of docs/alerts.md. Returns a new reference or
 * NULL with errno set. Does not take ownership of a's objects. */
json_object *alert_to_json(const struct alert *a);

/* Free the owned JSON objects of a (the struct itself is the caller's). */
void alert_release(struct alert *a);

/* The inverse of alert_to_json, for the query side: fills *a from a parsed
 * alert line. "severity" (a known name) and "message" (a string) are
 * required; every other field is optional, so crabpot's
 * {"severity","source","message","timestamp"} lines are accepted too (with
 * time_ns 0). On success a owns new references to the process/network/action
 * objects (alert_release frees them). Returns 0 or -EINVAL. */
int alert_from_json(json_object *o, struct alert *a);

/* Format t (Unix ns) as RFC 3339 UTC with nanoseconds,
 * "2024-05-01T14:23:01.123456789Z", into buf (at least 31 bytes). */
void alert_format_time(int64_t t, char *buf, size_t len);

/* Parse an RFC 3339 time: "2024-05-01T14:23:01Z", with optional fraction
 * (up to ns) and a "Z" or "+hh:mm"/"-hh:mm" offset. Returns 0, -EINVAL, or
 * -ERANGE for a time int64 nanoseconds cannot hold (before 1677, after 2262). */
int alert_parse_time(const char *s, int64_t *ns);

/* The seed-compatible wall clock "HH:MM:SS" of t in local time (TZ), as
 * crabpot printed it, into buf (at least 9 bytes). */
void alert_format_clock(int64_t t, char *buf, size_t len);

#endif /* MOAT_ALERT_H */
