/* config_resources.c - the "resources" settings of the configuration and of policies
 * (config_resources.h). */
#include <stdio.h>
#include <string.h>

#include "config_resources.h"

void config_resources_defaults(struct resource_config *r)
{
	memset(r, 0, sizeof(*r));
	r->enabled = 1;
	r->interval_ms = 2000;
	r->history_s = 300;
	r->max_procs = 64;
	r->t.cpu_percent = 80;
	r->t.cpu_sustain_s = 30;
	r->t.memory_percent = 85;
	r->t.memory_bytes = 0;
	r->t.pids_percent = 90;
	r->t.pids_count = 4096;
}

void config_resources_unset(struct resource_thresholds *t)
{
	t->cpu_percent = t->cpu_sustain_s = t->memory_percent = -1;
	t->pids_percent = t->pids_count = -1;
	t->memory_bytes = -1;
}

struct resource_thresholds config_resources_merge(const struct resource_thresholds *t,
						  const struct resource_thresholds *over)
{
	struct resource_thresholds m = *t;

	if (!over)
		return m;
	if (over->cpu_percent >= 0)
		m.cpu_percent = over->cpu_percent;
	if (over->cpu_sustain_s >= 0)
		m.cpu_sustain_s = over->cpu_sustain_s;
	if (over->memory_percent >= 0)
		m.memory_percent = over->memory_percent;
	if (over->memory_bytes >= 0)
		m.memory_bytes = over->memory_bytes;
	if (over->pids_percent >= 0)
		m.pids_percent = over->pids_percent;
	if (over->pids_count >= 0)
		m.pids_count = over->pids_count;
	return m;
}

/* The keys both the configuration and a policy take, with their ranges. */
static const struct {
	const char *key;
	int64_t max;
	const char *why; /* the error for a bad value */
} threshold_keys[] = {
    {"cpu_percent", 100000, "must be a whole number from 0 (off) to 100000 (% of one CPU)"},
    {"cpu_sustain_seconds", 86400, "must be a whole number from 0 to 86400"},
    {"memory_percent", 100, "must be a whole number from 0 (off) to 100"},
    {"memory_bytes", (int64_t)1 << 60, "must be a whole number of bytes, 0 (off) or more"},
    {"pids_percent", 100, "must be a whole number from 0 (off) to 100"},
    {"pids_count", 4194304, "must be a whole number from 0 (off) to 4194304"},
};
#define N_THRESHOLD_KEYS (sizeof(threshold_keys) / sizeof(threshold_keys[0]))

static void set_threshold(struct resource_thresholds *t, size_t i, int64_t x)
{
	switch (i) {
	case 0: t->cpu_percent = (int32_t)x; break;
	case 1: t->cpu_sustain_s = (int32_t)x; break;
	case 2: t->memory_percent = (int32_t)x; break;
	case 3: t->memory_bytes = x; break;
	case 4: t->pids_percent = (int32_t)x; break;
	default: t->pids_count = (int32_t)x; break;
	}
}

/* A whole number in [lo, hi] from v, or -1. */
static int64_t whole(json_object *v, int64_t lo, int64_t hi)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return -1;
	x = json_object_get_int64(v);
	return x < lo || x > hi ? -1 : x;
}

/* Threshold key `key` with value v into t: 1 when key is one, with *why set when its value is
 * bad; 0 when it is no threshold key. */
static int parse_threshold(const char *key, json_object *v, struct resource_thresholds *t,
			   const char **why)
{
	for (size_t i = 0; i < N_THRESHOLD_KEYS; i++) {
		int64_t x;

		if (strcmp(key, threshold_keys[i].key))
			continue;
		x = whole(v, 0, threshold_keys[i].max);
		if (x < 0)
			*why = threshold_keys[i].why;
		else
			set_threshold(t, i, x);
		return 1;
	}
	return 0;
}

int config_resources_parse(json_object *v, struct resource_config *r, config_resources_err err,
			   void *ctx)
{
	int errors = 0;

	if (!json_object_is_type(v, json_type_object)) {
		err(ctx, "resources",
		    "must be an object: {\"interval_ms\": N, \"cpu_percent\": N, ...}");
		return 1;
	}
	json_object_object_foreach(v, key, val)
	{
		const char *why = NULL;
		int64_t x;

		if (parse_threshold(key, val, &r->t, &why)) {
			/* done */
		} else if (!strcmp(key, "enabled")) {
			if (json_object_is_type(val, json_type_boolean))
				r->enabled = json_object_get_boolean(val);
			else
				why = "must be true or false";
		} else if (!strcmp(key, "interval_ms")) {
			if ((x = whole(val, 100, 60000)) < 0)
				why = "must be a whole number from 100 to 60000 (milliseconds)";
			else
				r->interval_ms = (uint32_t)x;
		} else if (!strcmp(key, "history_seconds")) {
			if ((x = whole(val, 0, 86400)) < 0)
				why = "must be a whole number from 0 to 86400";
			else
				r->history_s = (uint32_t)x;
		} else if (!strcmp(key, "max_procs_per_container")) {
			if ((x = whole(val, 1, 4096)) < 0)
				why = "must be a whole number from 1 to 4096";
			else
				r->max_procs = (uint32_t)x;
		} else {
			why = "unknown key in \"resources\" (see docs/configuration.md)";
		}
		if (why) {
			err(ctx, key, why);
			errors++;
		}
	}
	return errors;
}

const char *config_resources_parse_policy(json_object *v, struct resource_thresholds *t)
{
	static char msg[160]; /* policies are loaded by one thread */

	config_resources_unset(t);
	if (!json_object_is_type(v, json_type_object))
		return "\"resources\" must be an object: {\"cpu_percent\": N, ...}";
	json_object_object_foreach(v, key, val)
	{
		const char *why = NULL;

		if (!parse_threshold(key, val, t, &why))
			return "unknown key in \"resources\" (cpu_percent, cpu_sustain_seconds, "
			       "memory_percent, memory_bytes, pids_percent, pids_count)";
		if (why) {
			snprintf(msg, sizeof(msg), "\"resources.%.40s\" %s", key, why);
			return msg;
		}
	}
	return NULL;
}
