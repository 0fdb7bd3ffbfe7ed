/* config_export.c - the "export" section of the configuration (config_export.h), checked key
 * by key; errors name file:line and the key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_export.h"
#include "config_section.h"
#include "event.h"
#include "log.h"

void export_config_defaults(struct export_config *e)
{
	const char *bad;

	memset(e, 0, sizeof(*e));
	snprintf(e->database, sizeof(e->database), "default");
	snprintf(e->events_table, sizeof(e->events_table), "moat_events");
	snprintf(e->alerts_table, sizeof(e->alerts_table), "moat_alerts");
	event_type_mask(EXPORT_DEFAULT_TYPES, &e->types, &bad);
	event_type_mask(EXPORT_DEFAULT_LOW_VALUE, &e->low_value, &bad);
	e->alerts = 1;
	e->batch_rows = 10000;
	e->batch_kib = 4096;
	e->batch_ms = 1000;
	e->timeout_ms = 10000;
	e->queue_kib = 8192;
	e->spool_max_mib = 256;
}

int export_url_check(const char *url)
{
	const char *host;

	if (!url || strlen(url) >= EXPORT_URL_LEN)
		return -EINVAL;
	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else
		return -EINVAL;
	if (!*host || *host == '/' || *host == ':')
		return -EINVAL;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return -EINVAL;
	return 0;
}

/* A ClickHouse identifier: letters, digits, '_', not starting with a digit. */
static int ident_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void get_ident(struct cfg_section *p, json_object *o, const char *key, char *out, size_t n)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v))
		return;
	s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	if (!s || strlen(s) >= n || !ident_ok(s))
		cfg_section_error(p, key, "must be a name of letters, digits and '_' (up to 63)");
	else
		snprintf(out, n, "%s", s);
}

/* A list of event type names: a JSON array of strings, or one comma-separated string. */
static void get_types(struct cfg_section *p, json_object *o, const char *key, uint32_t *out)
{
	json_object *v;
	char list[512] = "", why[160];
	const char *bad = "";
	uint32_t mask;
	size_t n = 0;

	if (!json_object_object_get_ex(o, key, &v))
		return;
	if (json_object_is_type(v, json_type_string)) {
		snprintf(list, sizeof(list), "%s", json_object_get_string(v));
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *e = json_object_array_get_idx(v, i);

			if (!json_object_is_type(e, json_type_string) ||
			    n + strlen(json_object_get_string(e)) + 2 >= sizeof(list)) {
				cfg_section_error(p, key, "must be an array of event type names");
				return;
			}
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? "," : "",
					      json_object_get_string(e));
		}
	} else {
		cfg_section_error(p, key,
				  "must be an array of event type names (or \"exec,connect\")");
		return;
	}
	if (list[0] && event_type_mask(list, &mask, &bad)) {
		snprintf(why, sizeof(why),
			 "unknown event type \"%.40s\" (known: connect, sendmsg, exec, exit, "
			 "dns_query, dns_answer, dns, socket, packet, oom)",
			 bad);
		cfg_section_error(p, key, why);
		return;
	}
	*out = list[0] ? mask : 0;
}

int config_export_parse(json_object *x, const char *path, const char *text, struct export_config *e)
{
	static const char *const known[] = {
	    "url",	 "database",  "events_table", "alerts_table", "types",	  "low_value_types",
	    "alerts",	 "host_id",   "batch_rows",   "batch_kib",    "batch_ms", "timeout_ms",
	    "queue_kib", "spool_dir", "spool_max_mib"};
	struct cfg_section p = {.path = path, .text = text, .name = "export"};
	json_object *v;

	if (!json_object_is_type(x, json_type_object)) {
		log_error("%s:%d: export: must be an object like {\"url\": "
			  "\"http://127.0.0.1:8123/\"}",
			  path, cfg_section_line(&p, "export"));
		return 1;
	}
	json_object_object_foreach(x, k, val)
	{
		size_t i;

		(void)val;
		for (i = 0; i < sizeof(known) / sizeof(known[0]) && strcmp(k, known[i]); i++)
			;
		if (i == sizeof(known) / sizeof(known[0]))
			cfg_section_error(
			    &p, k,
			    "unknown key (known: url, database, events_table, alerts_table, "
			    "types, low_value_types, alerts, host_id, batch_rows, batch_kib, "
			    "batch_ms, timeout_ms, queue_kib, spool_dir, spool_max_mib)");
	}
	if (json_object_object_get_ex(x, "url", &v)) {
		const char *s =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

		if (!s || (*s && export_url_check(s)))
			cfg_section_error(
			    &p, "url",
			    "must be ClickHouse's HTTP interface, \"http://HOST:8123/\" or "
			    "https://... (\"\" = no export)");
		else
			snprintf(e->url, sizeof(e->url), "%s", s);
	}
	get_ident(&p, x, "database", e->database, sizeof(e->database));
	get_ident(&p, x, "events_table", e->events_table, sizeof(e->events_table));
	get_ident(&p, x, "alerts_table", e->alerts_table, sizeof(e->alerts_table));
	get_types(&p, x, "types", &e->types);
	get_types(&p, x, "low_value_types", &e->low_value);
	if (json_object_object_get_ex(x, "alerts", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			cfg_section_error(&p, "alerts", "must be true or false");
		else
			e->alerts = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(x, "host_id", &v)) {
		const char *s =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		int ok = s && strlen(s) < sizeof(e->host_id);

		for (const char *q = s; ok && *q; q++)
			ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			     (*q >= '0' && *q <= '9') || *q == '-' || *q == '_' || *q == '.';
		if (!ok)
			cfg_section_error(
			    &p, "host_id",
			    "must be up to 63 letters, digits, '-', '_' or '.' (\"\" = "
			    "/etc/machine-id)");
		else
			snprintf(e->host_id, sizeof(e->host_id), "%s", s);
	}
	cfg_section_uint(&p, x, "batch_rows", 1, 1000000, &e->batch_rows);
	cfg_section_uint(&p, x, "batch_kib", 1, 65536, &e->batch_kib);
	cfg_section_uint(&p, x, "batch_ms", 10, 600000, &e->batch_ms);
	cfg_section_uint(&p, x, "timeout_ms", 100, 600000, &e->timeout_ms);
	cfg_section_uint(&p, x, "queue_kib", 256, 1048576, &e->queue_kib);
	cfg_section_uint(&p, x, "spool_max_mib", 1, 1048576, &e->spool_max_mib);
	if (json_object_object_get_ex(x, "spool_dir", &v)) {
		const char *s =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

		if (!s || strlen(s) >= sizeof(e->spool_dir) || (*s && *s != '/'))
			cfg_section_error(&p, "spool_dir",
					  "must be an absolute path (\"\" = <state_dir>/export)");
		else
			snprintf(e->spool_dir, sizeof(e->spool_dir), "%s", s);
	}
	return p.errors;
}
