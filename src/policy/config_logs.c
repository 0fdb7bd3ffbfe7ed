/* config_logs.c - the "logs" and "health" sections of the configuration file and of a
 * policy, checked key by key (config_logs.h). */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "config_logs.h"
#include "log.h"
#include "severity.h"

void logs_config_defaults(struct logs_config *l)
{
	memset(l, 0, sizeof(*l));
	l->enabled = 1;
	l->default_patterns = 1;
	l->rate_alerts = 1;
	l->rate_window_s = LOGS_DEFAULT_RATE_S;
	l->max_bytes_per_s = LOGS_DEFAULT_BUDGET;
}

void health_config_defaults(struct health_config *h)
{
	h->enabled = 1;
	h->failures = HEALTH_DEFAULT_FAILS;
	h->poll_s = HEALTH_DEFAULT_POLL_S;
}

void logs_policy_defaults(struct logs_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->enabled = p->default_patterns = p->health_enabled = p->health_failures = -1;
}

/* Line (1-based) of the first "key" (quoted) in text, 0 when absent. */
static int key_line(const char *text, const char *key)
{
	char quoted[96];
	const char *p;
	int line = 1;

	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	p = text ? strstr(text, quoted) : NULL;
	for (const char *q = text; p && q < p; q++)
		line += *q == '\n';
	return p ? line : 0;
}

struct lp {
	const char *path, *text;
	int errors;
};

static void err_at(struct lp *p, const char *key, const char *why)
{
	log_error("%s:%d: %s: %s", p->path, key_line(p->text, key), key, why);
	p->errors++;
}

static void check_known(struct lp *p, json_object *o, const char *const *known, size_t n,
			const char *where)
{
	json_object_object_foreach(o, key, val)
	{
		size_t i;

		(void)val;
		for (i = 0; i < n && strcmp(known[i], key); i++)
			;
		if (i == n) {
			log_error("%s:%d: unknown key \"%s\" in %s (see docs/configuration.md)",
				  p->path, key_line(p->text, key), key, where);
			p->errors++;
		}
	}
}

/* Check one pattern object into out. Returns NULL or why it is bad (in buf). */
static const char *parse_pattern(json_object *o, struct log_pattern *out, char *buf, size_t len)
{
	static const char *const known[] = {"name", "regex", "severity", "ignore_case"};
	json_object *v;
	regex_t re;
	int rc;

	memset(out, 0, sizeof(*out));
	out->severity = ALERT_WARNING;
	if (!json_object_is_type(o, json_type_object))
		return "each pattern must be an object {\"name\", \"regex\", \"severity\", "
		       "\"ignore_case\"}";
	json_object_object_foreach(o, key, val)
	{
		size_t i;

		(void)val;
		for (i = 0; i < 4 && strcmp(known[i], key); i++)
			;
		if (i == 4) {
			snprintf(buf, len, "unknown key \"%s\" in a pattern", key);
			return buf;
		}
	}
	if (!json_object_object_get_ex(o, "name", &v) ||
	    !json_object_is_type(v, json_type_string) || !json_object_get_string_len(v) ||
	    (size_t)json_object_get_string_len(v) >= sizeof(out->name) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return "a pattern needs \"name\": a string of 1 to 31 bytes";
	snprintf(out->name, sizeof(out->name), "%s", json_object_get_string(v));
	if (!json_object_object_get_ex(o, "regex", &v) ||
	    !json_object_is_type(v, json_type_string) || !json_object_get_string_len(v) ||
	    (size_t)json_object_get_string_len(v) >= sizeof(out->regex) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return "a pattern needs \"regex\": a POSIX extended regex of 1 to 255 bytes";
	snprintf(out->regex, sizeof(out->regex), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "severity", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	     (out->severity = alert_severity_parse(json_object_get_string(v))) < 0))
		return "\"severity\" must be INFO, WARNING or CRITICAL";
	if (json_object_object_get_ex(o, "ignore_case", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return "\"ignore_case\" must be true or false";
		out->icase = json_object_get_boolean(v);
	}
	rc = regcomp(&re, out->regex, REG_EXTENDED | REG_NOSUB | (out->icase ? REG_ICASE : 0));
	if (rc) {
		char e[128];

		regerror(rc, &re, e, sizeof(e));
		snprintf(buf, len, "pattern \"%s\": regex /%.80s/ does not compile: %s", out->name,
			 out->regex, e);
		return buf;
	}
	regfree(&re);
	return NULL;
}

/* A "patterns" array into out (at most LOGS_MAX_PATTERNS). NULL or why (in buf). */
static const char *parse_patterns(json_object *v, struct log_pattern *out, int *n, char *buf,
				  size_t len)
{
	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > LOGS_MAX_PATTERNS)
		return "\"patterns\" must be an array of at most 16 pattern objects";
	*n = 0;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		const char *why = parse_pattern(json_object_array_get_idx(v, i), &out[i], buf, len);

		if (why)
			return why;
		(*n)++;
	}
	return NULL;
}

static int get_u32(struct lp *p, json_object *o, const char *key, uint32_t lo, uint32_t hi,
		   uint32_t *out)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	x = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || x < lo || x > hi) {
		char why[80];

		snprintf(why, sizeof(why), "must be a whole number from %u to %u", lo, hi);
		err_at(p, key, why);
		return -1;
	}
	*out = (uint32_t)x;
	return 0;
}

static int get_flag(struct lp *p, json_object *o, const char *key, int *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		err_at(p, key, "must be true or false");
		return -1;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

int config_logs_parse(json_object *logs, json_object *health, const char *path, const char *text,
		      struct logs_config *l, struct health_config *h)
{
	static const char *const known_logs[] = {
	    "enabled",		 "default_patterns",   "patterns",
	    "rate_limit_alerts", "rate_limit_seconds", "max_bytes_per_second"};
	static const char *const known_health[] = {"enabled", "failures", "poll_seconds"};
	struct lp p = {.path = path, .text = text};
	json_object *v;
	char buf[256];
	const char *why;

	if (logs && !json_object_is_type(logs, json_type_object)) {
		err_at(&p, "logs",
		       "must be an object: {\"enabled\": true, \"patterns\": [...], ...}");
		logs = NULL;
	}
	if (logs) {
		check_known(&p, logs, known_logs, sizeof(known_logs) / sizeof(known_logs[0]),
			    "\"logs\"");
		get_flag(&p, logs, "enabled", &l->enabled);
		get_flag(&p, logs, "default_patterns", &l->default_patterns);
		get_u32(&p, logs, "rate_limit_alerts", 1, 1000, &l->rate_alerts);
		get_u32(&p, logs, "rate_limit_seconds", 1, 86400, &l->rate_window_s);
		get_u32(&p, logs, "max_bytes_per_second", 1024, 1u << 30, &l->max_bytes_per_s);
		if (json_object_object_get_ex(logs, "patterns", &v) &&
		    (why = parse_patterns(v, l->patterns, &l->n_patterns, buf, sizeof(buf))))
			err_at(&p, "patterns", why);
	}
	if (health && !json_object_is_type(health, json_type_object)) {
		err_at(&p, "health", "must be an object: {\"enabled\": true, \"failures\": 2}");
		health = NULL;
	}
	if (health) {
		check_known(&p, health, known_health,
			    sizeof(known_health) / sizeof(known_health[0]), "\"health\"");
		get_flag(&p, health, "enabled", &h->enabled);
		get_u32(&p, health, "failures", 1, 100, &h->failures);
		get_u32(&p, health, "poll_seconds", 0, 3600, &h->poll_s);
	}
	return p.errors;
}

int config_logs_container(json_object *v, const char *path, const char *text, int *out)
{
	struct lp p = {.path = path, .text = text};

	if (!json_object_is_type(v, json_type_boolean)) {
		err_at(&p, "logs", "must be true or false (scan this container's logs)");
		return 1;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

const char *policy_logs_parse(json_object *o, struct logs_policy *p)
{
	static __thread char buf[256];
	json_object *sec, *v;

	logs_policy_defaults(p);
	if (json_object_object_get_ex(o, "logs", &sec)) {
		if (!json_object_is_type(sec, json_type_object))
			return "\"logs\" must be an object {\"enabled\", \"default_patterns\", "
			       "\"patterns\"}";
		json_object_object_foreach(sec, key, val)
		{
			(void)val;
			if (strcmp(key, "enabled") && strcmp(key, "default_patterns") &&
			    strcmp(key, "patterns")) {
				snprintf(buf, sizeof(buf),
					 "unknown key \"%s\" in \"logs\" (enabled, "
					 "default_patterns, patterns)",
					 key);
				return buf;
			}
		}
		if (json_object_object_get_ex(sec, "enabled", &v)) {
			if (!json_object_is_type(v, json_type_boolean))
				return "\"logs.enabled\" must be true or false";
			p->enabled = json_object_get_boolean(v);
		}
		if (json_object_object_get_ex(sec, "default_patterns", &v)) {
			if (!json_object_is_type(v, json_type_boolean))
				return "\"logs.default_patterns\" must be true or false";
			p->default_patterns = json_object_get_boolean(v);
		}
		if (json_object_object_get_ex(sec, "patterns", &v)) {
			const char *why =
			    parse_patterns(v, p->patterns, &p->n_patterns, buf, sizeof(buf));

			if (why)
				return why;
		}
	}
	if (json_object_object_get_ex(o, "health", &sec)) {
		if (!json_object_is_type(sec, json_type_object))
			return "\"health\" must be an object {\"enabled\", \"failures\"}";
		json_object_object_foreach(sec, key, val)
		{
			(void)val;
			if (strcmp(key, "enabled") && strcmp(key, "failures"))
				return "\"health\" takes \"enabled\" and \"failures\" only";
		}
		if (json_object_object_get_ex(sec, "enabled", &v)) {
			if (!json_object_is_type(v, json_type_boolean))
				return "\"health.enabled\" must be true or false";
			p->health_enabled = json_object_get_boolean(v);
		}
		if (json_object_object_get_ex(sec, "failures", &v)) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 1 || json_object_get_int64(v) > 100)
				return "\"health.failures\" must be a whole number from 1 to 100";
			p->health_failures = json_object_get_int(v);
		}
	}
	return NULL;
}
