/* config_resources.h - the resource-stats settings: the "resources" section of the
 * configuration file (sampling, history, thresholds) and the same thresholds in a policy
 * ("resources" in a policies.json entry). docs/configuration.md documents every key. */
#ifndef MOAT_CONFIG_RESOURCES_H
#define MOAT_CONFIG_RESOURCES_H

#include <stdint.h>
#include <json-c/json.h>

/* The thresholds of the resource rules (docs/alerts.md). In a policy, -1 is "unset: the
 * configuration's value". */
struct resource_thresholds {
	int32_t cpu_percent;	/* cpu-sustained: CPU above this, in % of one CPU (0: off) */
	int32_t cpu_sustain_s;	/* ... for at least this many seconds */
	int32_t memory_percent; /* memory-high: memory above this % of the limit (0: off) */
	int64_t memory_bytes;	/* memory-high: memory above this many bytes (0: off) */
	int32_t pids_percent;	/* pids-high: tasks above this % of the pids limit (0: off) */
	int32_t pids_count;	/* pids-high: tasks above this many (0: off) */
};

struct resource_config {
	int enabled;	      /* sample at all (the rules and moat stats --resources need it) */
	uint32_t interval_ms; /* sampling interval */
	uint32_t history_s;   /* samples kept per container, in seconds */
	uint32_t max_procs;   /* fallback: processes read per container and sample */
	struct resource_thresholds t;
};

#define RESOURCES_MAX_HISTORY 1024 /* samples per container, at most (RES_MAX_HISTORY) */

/* The defaults: on, every 2 s, 5 min of history, 64 processes, and the seed's thresholds
 * (cpu 80 % for 30 s, memory 85 %), pids 90 % of the limit or 4096 tasks. */
void config_resources_defaults(struct resource_config *r);

/* Thresholds all unset (-1), as a policy starts. */
void config_resources_unset(struct resource_thresholds *t);

/* t with the set (>= 0) fields of over applied: a container's thresholds from the
 * configuration's and its policy's (over may be NULL). */
struct resource_thresholds config_resources_merge(const struct resource_thresholds *t,
						  const struct resource_thresholds *over);

/* Report a bad key (key) of the configuration: the caller's error reporter, which names the
 * file and line (config.c). */
typedef void (*config_resources_err)(void *ctx, const char *key, const char *msg);

/* Parse the configuration's "resources" object v over r. Errors (wrong type, out of range,
 * unknown key) go to err(ctx, key, message), one call each; returns how many. */
int config_resources_parse(json_object *v, struct resource_config *r, config_resources_err err,
			   void *ctx);

/* Parse a policy's "resources" object v into t (keys absent stay unset). Returns NULL, or
 * the reason it is bad (a static string naming the key). */
const char *config_resources_parse_policy(json_object *v, struct resource_thresholds *t);

#endif /* MOAT_CONFIG_RESOURCES_H */
