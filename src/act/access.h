/* access.h - the egress access log and statistics: every DNS and connect
 * decision for containers under egress rules, as JSON lines (default
 * /var/log/moat/access.jsonl), and counters per domain and per container
 * for `moat stats`. */
#ifndef MOAT_ACCESS_H
#define MOAT_ACCESS_H

#include <stdint.h>
#include <json-c/json.h>

struct access;

/* One decision. Strings may be "" when unknown. */
struct access_entry {
	int64_t time_ns;  /* Unix time */
	const char *kind; /* "dns", "connect", "sendmsg" */
	const char *container_id, *container_name;
	uint32_t pid;
	const char *comm;
	const char *domain;	/* asked name (dns) or the name that explains the address */
	const char *address;	/* "" for a DNS answer with several: see addresses */
	json_object *addresses; /* borrowed: the answer's addresses (dns) or NULL */
	int port;
	const char *verdict; /* "allow", "deny", "would_deny", "none" (no rule: not opened) */
	uint32_t rule_id;    /* kernel rule id, 0 when none */
	const char *rule;    /* the rule's text ("*.github.com", "default deny"), or "" */
};

/* Open the log at path ("" = statistics only, no file). NULL on ENOMEM;
 * an unwritable file is reported once and statistics go on. */
struct access *access_open(const char *path);
void access_close(struct access *a);

struct live;

/* Publish every decision from now on to the live feed l (live.h; NULL: none), as "decision"
 * messages whose data is the access log line's object. */
void access_set_live(struct access *a, struct live *l);

/* Log one decision (one write per line), count it, and publish it (access_set_live). */
void access_record(struct access *a, const struct access_entry *e);

/* {"since": ..., "totals": {...}, "domains": [{"domain","allowed","denied"}],
 *  "containers": [...], "recent": [last 50 entries]} for `moat stats`.
 * New reference. */
json_object *access_stats(struct access *a);

#endif /* MOAT_ACCESS_H */
