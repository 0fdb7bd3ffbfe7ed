/* config_env.c - MOAT_* environment variables over the configuration (config_env.h): each
 * becomes a one-key JSON document read by the file's own parser, so that the environment
 * and the file accept the same values and give the same errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "config.h"
#include "config_env.h"
#include "log.h"

/* Every key of the configuration file (docs/configuration.md; tests/unit/policy/
 * test_config_env.c compares the two). */
const struct config_env_key config_env_keys[] = {
    {"state_dir", 's'},
    {"alerts_file", 's'},
    {"control_socket", 's'},
    {"pin_dir", 's'},
    {"cgroups", 'l'},
    {"report_only", 'v'},
    {"strict", 'v'},
    {"skip_sync", 'v'},
    {"registry.max_entries", 'v'},
    {"registry.retention_seconds", 'v'},
    {"lists.blacklist", 's'},
    {"lists.whitelist", 's'},
    {"pause_on_critical", 'v'},
    {"kill_exec", 'v'},
    {"exec.shells", 'l'},
    {"exec.runtimes", 'l'},
    {"exec.network_tools", 'l'},
    {"actions.attempts", 'v'},
    {"actions.backoff_ms", 'v'},
    {"actions.timeout_ms", 'v'},
    {"actions.max_concurrent", 'v'},
    {"alert_dedup_seconds", 'v'},
    {"containers", 'v'},
    {"nice", 'v'},
    {"ring_buffer_kib", 'v'},
    {"realtime_priority", 'v'},
    {"egress", 'v'},
    {"access_log", 's'},
    {"prompt_timeout_seconds", 'v'},
    {"policies", 's'},
    {"egress_rules", 's'},
    {"dns_max_ttl_seconds", 'v'},
    {"resolvers", 'l'},
    {"trust_image_labels", 'v'},
    {"spoof_guard", 'v'},
    {"learn_limit", 'v'},
    {"event_rate_per_container", 'v'},
    {"socket_tracepoint", 'v'},
    {"outputs", 'v'},
    {"logs.enabled", 'v'},
    {"logs.default_patterns", 'v'},
    {"logs.patterns", 'v'},
    {"logs.rate_limit_alerts", 'v'},
    {"logs.rate_limit_seconds", 'v'},
    {"logs.max_bytes_per_second", 'v'},
    {"health.enabled", 'v'},
    {"health.failures", 'v'},
    {"health.poll_seconds", 'v'},
    {"resources.enabled", 'v'},
    {"resources.interval_ms", 'v'},
    {"resources.history_seconds", 'v'},
    {"resources.max_procs_per_container", 'v'},
    {"resources.cpu_percent", 'v'},
    {"resources.cpu_sustain_seconds", 'v'},
    {"resources.memory_percent", 'v'},
    {"resources.memory_bytes", 'v'},
    {"resources.pids_percent", 'v'},
    {"resources.pids_count", 'v'},
    {"learn.stable_seconds", 'v'},
    {"learn.auto_enforce", 'v'},
    {"learn.max_images", 'v'},
    {"learn.max_items_per_image", 'v'},
    {"learn.max_items_total", 'v'},
    {"learn.exec_egress_window_seconds", 'v'},
    {"learn.tunnel_window_seconds", 'v'},
    {"learn.tunnel_labels", 'v'},
    {"learn.tunnel_min_length", 'v'},
    {"learn.tunnel_min_entropy", 'v'},
    {"http.listen", 's'},
    {"http.tls_cert", 's'},
    {"http.tls_key", 's'},
    {"http.token_file", 's'},
    {"http.per_container_metrics", 'v'},
    {"http.max_clients", 'v'},
};
const size_t n_config_env_keys = sizeof(config_env_keys) / sizeof(config_env_keys[0]);

void config_env_name(const char *key, char *buf, size_t len)
{
	size_t n = snprintf(buf, len, "MOAT_");

	for (; *key && n + 1 < len; key++)
		buf[n++] =
		    *key == '.' ? '_' : (char)(*key >= 'a' && *key <= 'z' ? *key - 32 : *key);
	if (len)
		buf[n < len ? n : len - 1] = 0;
}

/* The JSON value of variable text s for a key of the given kind (a new reference). */
static json_object *env_value(const char *s, char kind)
{
	json_object *v;

	if (kind == 's')
		return json_object_new_string(s);
	if (kind == 'l' && s[0] != '[') {
		json_object *a = json_object_new_array();
		const char *p = s;

		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);

			if (n)
				json_object_array_add(a, json_object_new_string_len(p, (int)n));
			p += n + (e ? 1 : 0);
		}
		return a;
	}
	v = json_tokener_parse(s);
	/* Not JSON: a bare word ("enforce") is the string it spells. */
	return v ? v : json_object_new_string(s);
}

/* Apply one key's variable. Returns 0 or -EINVAL (logged by the parser). */
static int apply_key(struct config *c, const struct config_env_key *k, const char *val,
		     const char *var)
{
	json_object *doc = json_object_new_object(), *leaf = env_value(val, k->kind);
	const char *dot = strchr(k->key, '.');
	const char *text;
	char path[sizeof(c->path)];
	int err;

	if (dot) {
		json_object *sec = json_object_new_object();
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)(dot - k->key), k->key);
		json_object_object_add(sec, dot + 1, leaf);
		json_object_object_add(doc, name, sec);
	} else {
		json_object_object_add(doc, k->key, leaf);
	}
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	snprintf(path, sizeof(path), "%s", c->path);
	err = config_load_buf(c, var, text, strlen(text));
	snprintf(c->path, sizeof(c->path), "%s", path);
	json_object_put(doc);
	return err ? -EINVAL : 0;
}

static int env_true(const char *v)
{
	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

int config_env_apply(struct config *c)
{
	static const struct {
		const char *var;
		int type;
	} adds[] = {{"MOAT_WEBHOOK_URL", OUTPUT_WEBHOOK},
		    {"MOAT_EXEC", OUTPUT_EXEC},
		    {"MOAT_NOTIFY", OUTPUT_NOTIFY},
		    {"MOAT_SYSLOG", OUTPUT_SYSLOG}};
	int bad = 0;

	for (size_t i = 0; i < n_config_env_keys; i++) {
		char var[96];
		const char *val;

		config_env_name(config_env_keys[i].key, var, sizeof(var));
		val = getenv(var);
		if (val && apply_key(c, &config_env_keys[i], val, var))
			bad++;
		else if (val)
			log_debug("configuration: %s from the environment", var);
	}
	for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++) {
		const char *val = getenv(adds[i].var);
		int err;

		if (!val || !*val)
			continue;
		if ((adds[i].type == OUTPUT_NOTIFY || adds[i].type == OUTPUT_SYSLOG) &&
		    !env_true(val)) {
			if (strcmp(val, "0") && strcmp(val, "false") && strcmp(val, "no")) {
				log_error("%s: must be true or false", adds[i].var);
				bad++;
			}
			continue;
		}
		err = config_outputs_add(
		    &c->outputs, adds[i].type, val,
		    adds[i].type == OUTPUT_WEBHOOK ? getenv("MOAT_WEBHOOK_TOKEN") : NULL);
		if (err) {
			/* Never print the value: MOAT_WEBHOOK_URL may carry a secret. */
			log_error(
			    "%s: %s", adds[i].var,
			    err == -ENOSPC ? "too many outputs (16 at most)"
			    : adds[i].type == OUTPUT_WEBHOOK
				? "must be an http:// or https:// URL (and MOAT_WEBHOOK_TOKEN "
				  "printable)"
				: "must be an absolute path to a program");
			bad++;
		}
	}
	return bad ? -EINVAL : 0;
}
