/* config_env.h - the configuration from the environment: every key of the configuration
 * file has a MOAT_* variable (the key in capitals, '.' as '_': registry.max_entries is
 * MOAT_REGISTRY_MAX_ENTRIES), read after the file and before the flags, so that the order of
 * precedence is defaults < file < environment < flags (docs/configuration.md). */
#ifndef MOAT_CONFIG_ENV_H
#define MOAT_CONFIG_ENV_H

#include <stddef.h>

struct config;

/* One configuration key the environment can set. */
struct config_env_key {
	const char *key; /* "registry.max_entries": section.key, or a top-level key */
	char kind;	 /* 's' a string as is; 'v' a JSON value (true, 42, "x" or bare x);
			  * 'l' a list: a JSON array, or comma-separated strings */
};

extern const struct config_env_key config_env_keys[];
extern const size_t n_config_env_keys;

/* The variable of key ("MOAT_REGISTRY_MAX_ENTRIES") into buf. */
void config_env_name(const char *key, char *buf, size_t len);

/* Apply the MOAT_* variables of the environment to c, each checked like the same key in
 * the file (an error names the variable: "MOAT_NICE:1: nice: must be ..."), then the ones
 * that add outputs like the flags do: MOAT_WEBHOOK_URL (with MOAT_WEBHOOK_TOKEN, sent as
 * "Authorization: Bearer ..."), MOAT_EXEC, MOAT_NOTIFY=true, MOAT_SYSLOG=true.
 * Variables that name no key are not configuration and are left alone. c->path is kept.
 * Returns 0, or -EINVAL after logging every bad variable (c keeps the good ones). */
int config_env_apply(struct config *c);

#endif /* MOAT_CONFIG_ENV_H */
