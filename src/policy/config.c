/* config.c - defaults, the JSON configuration file, and its validation
 * with errors that name file:line. */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "moat/maps.h"
#include "config.h"
#include "fs.h"
#include "log.h"

static const char *const default_shells[] = {"sh",  "bash", "dash", "zsh", "ash",
					     "ksh", "mksh", "fish", "csh", "tcsh"};
static const char *const default_runtimes[] = {
    "python", "python[0-9]*", "perl", "perl[0-9]*", "ruby", "ruby[0-9]*", "php",   "php[0-9]*",
    "node",   "nodejs",	      "deno", "bun",	    "lua",  "lua[0-9]*",  "tclsh", "tclsh[0-9]*"};
static const char *const default_net_tools[] = {"nc",	  "ncat", "netcat", "socat",
						"telnet", "nmap", "tcpdump"};

static void set_names(struct name_list *l, const char *const *names, size_t n)
{
	l->n = 0;
	for (size_t i = 0; i < n && l->n < CONFIG_MAX_NAMES; i++)
		snprintf(l->names[l->n++], CONFIG_NAME_LEN, "%s", names[i]);
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/moat");
	snprintf(c->alerts_file, sizeof(c->alerts_file), "/var/log/moat/alerts.jsonl");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/moat/moat.sock");
	snprintf(c->pin_dir, sizeof(c->pin_dir), "/sys/fs/bpf/moat");
	c->pause_on_critical = 1;
	c->registry_max = 100000;
	c->registry_retention_s = 86400;
	c->dedup_s = 60;
	c->nice = -10;
	c->ring_buffer_kib = MOAT_RINGBUF_BYTES >> 10;
	c->realtime_priority = 1;
	c->prompt_timeout_s = 60;
	snprintf(c->policies, sizeof(c->policies), "/etc/moat/policies.json");
	snprintf(c->egress_rules, sizeof(c->egress_rules), "/etc/moat/rules.json");
	snprintf(c->access_log, sizeof(c->access_log), "/var/log/moat/access.jsonl");
	c->action_attempts = 3;
	c->action_backoff_ms = 100;
	c->action_timeout_ms = 5000;
	c->action_max_concurrent = 4;
	c->dns_max_ttl_s = MOAT_MAX_TTL_DEFAULT;
	c->learn_limit = MOAT_LEARN_LIMIT_DEFAULT;
	c->event_rate = 25000;
	logs_config_defaults(&c->logs);
	http_config_defaults(&c->http);
	health_config_defaults(&c->health);
	config_resources_defaults(&c->resources);
	config_learn_defaults(&c->learn);
	set_names(&c->shells, default_shells, sizeof(default_shells) / sizeof(default_shells[0]));
	set_names(&c->runtimes, default_runtimes,
		  sizeof(default_runtimes) / sizeof(default_runtimes[0]));
	set_names(&c->net_tools, default_net_tools,
		  sizeof(default_net_tools) / sizeof(default_net_tools[0]));
}

int name_list_has(const struct name_list *l, const char *name)
{
	if (!name || !name[0])
		return 0;
	for (int i = 0; i < l->n; i++)
		if (fnmatch(l->names[i], name, 0) == 0)
			return 1;
	return 0;
}

const struct container_rule *config_container(const struct config *c, const char *name)
{
	for (int i = 0; i < c->n_containers; i++)
		if (fnmatch(c->containers[i].match, name ? name : "", 0) == 0)
			return &c->containers[i];
	return NULL;
}

/* Parsing state: the file's text, to turn offsets and keys into lines. */
struct cfg_parse {
	const char *path;
	const char *text;
	int errors;
};

/* Line (1-based) of byte offset off in text. */
static int line_of(const char *text, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* Line of the first occurrence of "key" (quoted) in the text, 0 if none. */
static int line_of_key(const char *text, const char *key)
{
	char quoted[160];
	const char *p;

	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	p = strstr(text, quoted);
	return p ? line_of(text, (size_t)(p - text)) : 0;
}

static void cfg_error(struct cfg_parse *p, const char *key, const char *fmt, const char *what)
{
	log_error("%s:%d: %s: %s%s", p->path, line_of_key(p->text, key), key, fmt,
		  what ? what : "");
	p->errors++;
}

static int get_bool(struct cfg_parse *p, json_object *v, const char *key, int *out)
{
	if (!json_object_is_type(v, json_type_boolean)) {
		cfg_error(p, key, "must be true or false", NULL);
		return -1;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_uint(struct cfg_parse *p, json_object *v, const char *key, uint32_t max,
		    uint32_t *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int)) {
		cfg_error(p, key, "must be a whole number", NULL);
		return -1;
	}
	x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x > max) {
		char range[48];

		snprintf(range, sizeof(range), "%u", max);
		cfg_error(p, key, "must be between 0 and ", range);
		return -1;
	}
	*out = (uint32_t)x;
	return 0;
}

static int get_str(struct cfg_parse *p, json_object *v, const char *key, char *out, size_t len)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string)) {
		cfg_error(p, key, "must be a string", NULL);
		return -1;
	}
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		cfg_error(p, key, "must not contain a NUL character (\\u0000)", NULL);
		return -1;
	}
	if (strlen(s) >= len) {
		cfg_error(p, key, "is too long", NULL);
		return -1;
	}
	snprintf(out, len, "%s", s);
	return 0;
}

static int get_names(struct cfg_parse *p, json_object *v, const char *key, struct name_list *l)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array)) {
		cfg_error(p, key, "must be an array of executable names", NULL);
		return -1;
	}
	n = json_object_array_length(v);
	if (n > CONFIG_MAX_NAMES) {
		cfg_error(p, key, "has too many names (at most 64)", NULL);
		return -1;
	}
	l->n = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		const char *s;

		if (!json_object_is_type(e, json_type_string) ||
		    strlen(s = json_object_get_string(e)) >= CONFIG_NAME_LEN || !*s ||
		    strchr(s, '/') || strlen(s) != (size_t)json_object_get_string_len(e)) {
			cfg_error(p, key, "entries must be base names (no '/') of 1-31 characters",
				  NULL);
			return -1;
		}
		snprintf(l->names[l->n++], CONFIG_NAME_LEN, "%s", s);
	}
	return 0;
}

/* Report keys of obj not in known[] (a typo must not be silently ignored). */
static void check_keys(struct cfg_parse *p, json_object *obj, const char *const *known, size_t n,
		       const char *where)
{
	if (!json_object_is_type(obj, json_type_object))
		return;
	json_object_object_foreach(obj, key, val)
	{
		size_t i;

		(void)val;
		for (i = 0; i < n && strcmp(known[i], key); i++)
			;
		if (i == n) {
			log_error("%s:%d: unknown key \"%s\" in %s (see docs/configuration.md)",
				  p->path, line_of_key(p->text, key), key, where);
			p->errors++;
		}
	}
}

/* A section ("registry", "lists", ...) must be an object; shape shows one. */
static int get_section(struct cfg_parse *p, json_object *v, const char *key, const char *shape)
{
	if (json_object_is_type(v, json_type_object))
		return 0;
	cfg_error(p, key, "must be an object: ", shape);
	return -1;
}

/* "monitor" | "enforce" -> 0 | 1. */
static void get_egress(struct cfg_parse *p, json_object *v, int *out)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

	if (!strcmp(s, "monitor"))
		*out = 0;
	else if (!strcmp(s, "enforce"))
		*out = 1;
	else if (!strcmp(s, "interactive"))
		*out = 2;
	else
		cfg_error(p, "egress", "must be \"monitor\", \"enforce\" or \"interactive\"", NULL);
}

static void parse_container(struct cfg_parse *p, json_object *o, struct container_rule *r)
{
	static const char *const known[] = {"match", "exec_allow", "kill_exec", "suspicious_exec",
					    "pause", "egress",	   "logs"};
	json_object *v;

	memset(r, 0, sizeof(*r));
	r->kill_exec = r->suspicious_exec = r->pause = r->egress = r->logs = -1;
	if (!json_object_is_type(o, json_type_object)) {
		cfg_error(p, "containers", "entries must be objects", NULL);
		return;
	}
	check_keys(p, o, known, sizeof(known) / sizeof(known[0]), "a containers entry");
	if (!json_object_object_get_ex(o, "match", &v)) {
		cfg_error(p, "containers", "each entry needs \"match\" (a container name glob)",
			  NULL);
		return;
	}
	get_str(p, v, "match", r->match, sizeof(r->match));
	if (json_object_object_get_ex(o, "exec_allow", &v))
		get_names(p, v, "exec_allow", &r->exec_allow);
	if (json_object_object_get_ex(o, "kill_exec", &v))
		get_bool(p, v, "kill_exec", &r->kill_exec);
	if (json_object_object_get_ex(o, "suspicious_exec", &v))
		get_bool(p, v, "suspicious_exec", &r->suspicious_exec);
	if (json_object_object_get_ex(o, "pause", &v))
		get_bool(p, v, "pause", &r->pause);
	if (json_object_object_get_ex(o, "egress", &v))
		get_egress(p, v, &r->egress);
	if (json_object_object_get_ex(o, "logs", &v))
		p->errors += config_logs_container(v, p->path, p->text, &r->logs);
}

/* config_resources_parse's error reporter: file:line: key: message. */
static void resources_error(void *ctx, const char *key, const char *msg)
{
	cfg_error(ctx, key, msg, NULL);
}

/* Apply the parsed document root to c. Errors are counted in p. */
static void parse_root(struct cfg_parse *p, json_object *root, struct config *c)
{
	static const char *const known[] = {
	    "state_dir",
	    "alerts_file",
	    "control_socket",
	    "pin_dir",
	    "cgroups",
	    "report_only",
	    "strict",
	    "skip_sync",
	    "registry",
	    "lists",
	    "pause_on_critical",
	    "kill_exec",
	    "exec",
	    "actions",
	    "alert_dedup_seconds",
	    "containers",
	    "nice",
	    "ring_buffer_kib",
	    "realtime_priority",
	    "egress",
	    "access_log",
	    "prompt_timeout_seconds",
	    "policies",
	    "egress_rules",
	    "dns_max_ttl_seconds",
	    "resolvers",
	    "trust_image_labels",
	    "spoof_guard",
	    "learn_limit",
	    "event_rate_per_container",
	    "socket_tracepoint",
	    "logs",
	    "health",
	    "resources",
	    "outputs",
	    "http",
	    "learn",
	};
	static const char *const known_registry[] = {"max_entries", "retention_seconds"};
	static const char *const known_lists[] = {"blacklist", "whitelist"};
	static const char *const known_exec[] = {"shells", "runtimes", "network_tools"};
	static const char *const known_actions[] = {"attempts", "backoff_ms", "timeout_ms",
						    "max_concurrent"};
	json_object *v, *sub;
	uint32_t u;

	if (!json_object_is_type(root, json_type_object)) {
		log_error("%s:1: the configuration must be a JSON object", p->path);
		p->errors++;
		return;
	}
	check_keys(p, root, known, sizeof(known) / sizeof(known[0]), "the top level");
	{ /* the log scanner and the health checker: config_logs.c */
		json_object *logs = NULL, *health = NULL;

		json_object_object_get_ex(root, "logs", &logs);
		json_object_object_get_ex(root, "health", &health);
		p->errors +=
		    config_logs_parse(logs, health, p->path, p->text, &c->logs, &c->health);
	}
	if (json_object_object_get_ex(root, "state_dir", &v))
		get_str(p, v, "state_dir", c->state_dir, sizeof(c->state_dir));
	if (json_object_object_get_ex(root, "alerts_file", &v))
		get_str(p, v, "alerts_file", c->alerts_file, sizeof(c->alerts_file));
	if (json_object_object_get_ex(root, "control_socket", &v))
		get_str(p, v, "control_socket", c->control_socket, sizeof(c->control_socket));
	if (json_object_object_get_ex(root, "pin_dir", &v))
		get_str(p, v, "pin_dir", c->pin_dir, sizeof(c->pin_dir));
	if (json_object_object_get_ex(root, "cgroups", &v)) {
		if (!json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > CONFIG_MAX_CGROUPS) {
			cfg_error(p, "cgroups", "must be an array of at most 16 cgroup paths",
				  NULL);
		} else {
			c->n_cgroups = 0;
			for (size_t i = 0; i < json_object_array_length(v); i++)
				if (get_str(p, json_object_array_get_idx(v, i), "cgroups",
					    c->cgroups[c->n_cgroups], sizeof(c->cgroups[0])) == 0)
					c->n_cgroups++;
		}
	}
	if (json_object_object_get_ex(root, "report_only", &v))
		get_bool(p, v, "report_only", &c->report_only);
	if (json_object_object_get_ex(root, "strict", &v))
		get_bool(p, v, "strict", &c->strict);
	if (json_object_object_get_ex(root, "skip_sync", &v))
		get_bool(p, v, "skip_sync", &c->skip_sync);
	if (json_object_object_get_ex(root, "pause_on_critical", &v))
		get_bool(p, v, "pause_on_critical", &c->pause_on_critical);
	if (json_object_object_get_ex(root, "kill_exec", &v))
		get_bool(p, v, "kill_exec", &c->kill_exec);
	if (json_object_object_get_ex(root, "egress", &v))
		get_egress(p, v, &c->egress);
	if (json_object_object_get_ex(root, "prompt_timeout_seconds", &v))
		get_uint(p, v, "prompt_timeout_seconds", 3600, &c->prompt_timeout_s);
	if (json_object_object_get_ex(root, "policies", &v))
		get_str(p, v, "policies", c->policies, sizeof(c->policies));
	if (json_object_object_get_ex(root, "access_log", &v))
		get_str(p, v, "access_log", c->access_log, sizeof(c->access_log));
	if (json_object_object_get_ex(root, "egress_rules", &v))
		get_str(p, v, "egress_rules", c->egress_rules, sizeof(c->egress_rules));
	if (json_object_object_get_ex(root, "ring_buffer_kib", &v) &&
	    get_uint(p, v, "ring_buffer_kib", 1u << 20, &u) == 0) {
		if (u < 64 || (u & (u - 1)))
			cfg_error(p, "ring_buffer_kib",
				  "must be a power of two from 64 to 1048576 (KiB)", NULL);
		else
			c->ring_buffer_kib = u;
	}
	if (json_object_object_get_ex(root, "dns_max_ttl_seconds", &v) &&
	    get_uint(p, v, "dns_max_ttl_seconds", 7 * 86400, &u) == 0) {
		if (u < 10)
			cfg_error(p, "dns_max_ttl_seconds", "must be at least 10", NULL);
		else
			c->dns_max_ttl_s = u;
	}
	if (json_object_object_get_ex(root, "learn_limit", &v) &&
	    get_uint(p, v, "learn_limit", MOAT_MAX_LEARNED, &u) == 0) {
		if (u < 16)
			cfg_error(p, "learn_limit", "must be at least 16", NULL);
		else
			c->learn_limit = u;
	}
	if (json_object_object_get_ex(root, "event_rate_per_container", &v))
		get_uint(p, v, "event_rate_per_container", 10000000, &c->event_rate);
	if (json_object_object_get_ex(root, "trust_image_labels", &v))
		get_bool(p, v, "trust_image_labels", &c->trust_image_labels);
	if (json_object_object_get_ex(root, "spoof_guard", &v)) {
		const char *g =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (!strcmp(g, "enforced"))
			c->spoof_guard = SPOOF_GUARD_ENFORCED;
		else if (!strcmp(g, "all"))
			c->spoof_guard = SPOOF_GUARD_ALL;
		else if (!strcmp(g, "off"))
			c->spoof_guard = SPOOF_GUARD_OFF;
		else
			cfg_error(p, "spoof_guard", "must be \"enforced\", \"all\" or \"off\"",
				  NULL);
	}
	if (json_object_object_get_ex(root, "socket_tracepoint", &v)) {
		const char *m =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (!strcmp(m, "auto"))
			c->socket_tp = SOCKET_TP_AUTO;
		else if (!strcmp(m, "on"))
			c->socket_tp = SOCKET_TP_ON;
		else if (!strcmp(m, "off"))
			c->socket_tp = SOCKET_TP_OFF;
		else
			cfg_error(p, "socket_tracepoint", "must be \"auto\", \"on\" or \"off\"",
				  NULL);
	}
	if (json_object_object_get_ex(root, "resolvers", &v)) {
		size_t n =
		    json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
		int bad = !json_object_is_type(v, json_type_array) || n > CONFIG_MAX_RESOLVERS;

		for (size_t i = 0; !bad && i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);
			unsigned char a[16];
			const char *s = json_object_is_type(e, json_type_string)
					    ? json_object_get_string(e)
					    : "";

			bad = (inet_pton(AF_INET, s, a) != 1 && inet_pton(AF_INET6, s, a) != 1) ||
			      strlen(s) >= sizeof(c->resolvers[0]);
		}
		if (bad) {
			cfg_error(p, "resolvers",
				  "must be an array of at most 8 IP addresses (DNS servers)", NULL);
		} else {
			c->n_resolvers = (int)n;
			for (size_t i = 0; i < n; i++)
				snprintf(c->resolvers[i], sizeof(c->resolvers[0]), "%s",
					 json_object_get_string(json_object_array_get_idx(v, i)));
		}
	}
	if (json_object_object_get_ex(root, "realtime_priority", &v) &&
	    get_uint(p, v, "realtime_priority", 99, &u) == 0)
		c->realtime_priority = (int)u;
	if (json_object_object_get_ex(root, "nice", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int(v) < -20 ||
		    json_object_get_int(v) > 19)
			cfg_error(p, "nice", "must be a whole number from -20 to 19", NULL);
		else
			c->nice = json_object_get_int(v);
	}
	if (json_object_object_get_ex(root, "alert_dedup_seconds", &v))
		get_uint(p, v, "alert_dedup_seconds", 86400, &c->dedup_s);
	if (json_object_object_get_ex(root, "outputs", &v))
		p->errors += config_outputs_parse(p->path, p->text, v, &c->outputs);
	if (json_object_object_get_ex(root, "http", &v))
		p->errors += config_http_parse(v, p->path, p->text, &c->http);
	if (json_object_object_get_ex(root, "registry", &sub) &&
	    get_section(p, sub, "registry", "{\"max_entries\": N, \"retention_seconds\": N}") ==
		0) {
		check_keys(p, sub, known_registry, 2, "\"registry\"");
		if (json_object_object_get_ex(sub, "max_entries", &v) &&
		    get_uint(p, v, "max_entries", 10000000, &u) == 0)
			c->registry_max = u;
		if (json_object_object_get_ex(sub, "retention_seconds", &v))
			get_uint(p, v, "retention_seconds", 365u * 86400, &c->registry_retention_s);
	}
	if (json_object_object_get_ex(root, "lists", &sub) &&
	    get_section(p, sub, "lists", "{\"blacklist\": \"/path\", \"whitelist\": \"/path\"}") ==
		0) {
		check_keys(p, sub, known_lists, 2, "\"lists\"");
		if (json_object_object_get_ex(sub, "blacklist", &v))
			get_str(p, v, "blacklist", c->blacklist, sizeof(c->blacklist));
		if (json_object_object_get_ex(sub, "whitelist", &v))
			get_str(p, v, "whitelist", c->whitelist, sizeof(c->whitelist));
	}
	if (json_object_object_get_ex(root, "exec", &sub) &&
	    get_section(p, sub, "exec",
			"{\"shells\": [...], \"runtimes\": [...], \"network_tools\": [...]}") ==
		0) {
		check_keys(p, sub, known_exec, 3, "\"exec\"");
		if (json_object_object_get_ex(sub, "shells", &v))
			get_names(p, v, "shells", &c->shells);
		if (json_object_object_get_ex(sub, "runtimes", &v))
			get_names(p, v, "runtimes", &c->runtimes);
		if (json_object_object_get_ex(sub, "network_tools", &v))
			get_names(p, v, "network_tools", &c->net_tools);
	}
	if (json_object_object_get_ex(root, "actions", &sub) &&
	    get_section(
		p, sub, "actions",
		"{\"attempts\": N, \"backoff_ms\": N, \"timeout_ms\": N, \"max_concurrent\": N}") ==
		0) {
		check_keys(p, sub, known_actions, 4, "\"actions\"");
		if (json_object_object_get_ex(sub, "attempts", &v) &&
		    get_uint(p, v, "attempts", 10, &u) == 0) {
			if (u == 0)
				cfg_error(p, "attempts", "must be at least 1", NULL);
			else
				c->action_attempts = (int)u;
		}
		if (json_object_object_get_ex(sub, "backoff_ms", &v))
			get_uint(p, v, "backoff_ms", 60000, &c->action_backoff_ms);
		if (json_object_object_get_ex(sub, "timeout_ms", &v) &&
		    get_uint(p, v, "timeout_ms", 600000, &u) == 0) {
			if (u < 100)
				cfg_error(p, "timeout_ms", "must be at least 100", NULL);
			else
				c->action_timeout_ms = u;
		}
		if (json_object_object_get_ex(sub, "max_concurrent", &v) &&
		    get_uint(p, v, "max_concurrent", 16, &u) == 0) {
			if (u == 0)
				cfg_error(p, "max_concurrent", "must be from 1 to 16", NULL);
			else
				c->action_max_concurrent = (int)u;
		}
	}
	if (json_object_object_get_ex(root, "resources", &v))
		config_resources_parse(v, &c->resources, resources_error, p);
	if (json_object_object_get_ex(root, "learn", &v))
		config_learn_parse(v, &c->learn, resources_error, p);
	if (json_object_object_get_ex(root, "containers", &v)) {
		if (!json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > CONFIG_MAX_CONTAINERS) {
			cfg_error(p, "containers", "must be an array of at most 64 objects", NULL);
		} else {
			c->n_containers = 0;
			for (size_t i = 0; i < json_object_array_length(v); i++)
				parse_container(p, json_object_array_get_idx(v, i),
						&c->containers[c->n_containers++]);
		}
	}
}

/* Parse the NUL-terminated text of the file named path over c (the
 * contract of config_load). Takes ownership of text. */
static int load_text(struct config *c, const char *path, char *text)
{
	struct json_tokener *tok = json_tokener_new();
	struct cfg_parse p = {.path = path, .text = text};
	struct config *next = NULL;
	json_object *root = NULL;
	enum json_tokener_error jerr;
	int err = 0;

	if (!tok) {
		err = -ENOMEM;
		goto cleanup;
	}
	root = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success) {
		log_error("%s:%d: not valid JSON: %s", path,
			  line_of(text, json_tokener_get_parse_end(tok)),
			  json_tokener_error_desc(jerr));
		err = -EINVAL;
		goto cleanup;
	}
	/* Parse into a copy: a bad file leaves the running configuration as it was. */
	next = malloc(sizeof(*next));
	if (!next) {
		err = -ENOMEM;
		goto cleanup;
	}
	memcpy(next, c, sizeof(*next));
	parse_root(&p, root, next);
	if (p.errors) {
		log_error("%s: %d error(s); configuration not applied", path, p.errors);
		err = -EINVAL;
		goto cleanup;
	}
	snprintf(next->path, sizeof(next->path), "%s", path);
	memcpy(c, next, sizeof(*c));
cleanup:
	free(next);
	json_object_put(root);
	json_tokener_free(tok);
	free(text);
	return err;
}

int config_load(struct config *c, const char *path)
{
	char *text;
	size_t len;
	int err = fs_read_all(path, CONFIG_MAX_BYTES, &text, &len);

	if (err) {
		if (err != -ENOENT)
			log_error("%s: cannot read: %s", path, strerror(-err));
		return err;
	}
	return load_text(c, path, text);
}

int config_load_buf(struct config *c, const char *name, const char *buf, size_t len)
{
	char *text;

	if (len > CONFIG_MAX_BYTES) {
		log_error("%s: cannot read: %s", name, strerror(EFBIG));
		return -EFBIG;
	}
	text = malloc(len + 1);
	if (!text)
		return -ENOMEM;
	memcpy(text, buf, len);
	text[len] = 0;
	return load_text(c, name, text);
}
