/* config_outputs.c - the "outputs" section of the configuration, and outputs added by flags
 * and environment variables (config_outputs.h); errors name file:line and the entry. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "config_outputs.h"
#include "log.h"
#include "severity.h"

static const char *const type_names[OUTPUT_TYPE_NR] = {"terminal", "file",   "webhook",
						       "exec",	   "notify", "syslog"};

const char *output_type_name(int type)
{
	return type >= 0 && type < OUTPUT_TYPE_NR ? type_names[type] : "unknown";
}

int output_type_parse(const char *s)
{
	for (int i = 0; i < OUTPUT_TYPE_NR; i++)
		if (s && !strcmp(s, type_names[i]))
			return i;
	return -1;
}

void output_conf_defaults(struct output_conf *o, int type)
{
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->enabled = 1;
	o->min_severity = type == OUTPUT_NOTIFY ? ALERT_CRITICAL : ALERT_INFO;
	if (type == OUTPUT_NOTIFY) {
		o->rate_per_minute = 10;
		o->burst = 3;
	}
	/* One container cannot crowd the others out of an output that leaves the machine
	 * (the terminal and the file take everything). */
	if (type != OUTPUT_TERMINAL && type != OUTPUT_FILE) {
		o->container_rate_per_minute = 60;
		o->container_burst = 20;
	}
	o->timeout_ms = type == OUTPUT_EXEC ? 10000 : 5000;
	o->backoff_ms = 1000;
	o->max_backoff_ms = 60000;
	o->queue_max = 10000;
	o->max_concurrent = type == OUTPUT_NOTIFY ? 1 : 2; /* one notification at a time */
	o->facility = 3;				   /* daemon */
	snprintf(o->socket, sizeof(o->socket), "/dev/log");
	snprintf(o->ident, sizeof(o->ident), "moat");
	snprintf(o->name, sizeof(o->name), "%s", output_type_name(type));
}

/* Parsing state of one entry: where it is, for messages. */
struct op {
	const char *path;
	int line; /* of the "outputs" key */
	int idx;
	int errors;
};

/* The line of the first "outputs" key in text (1 when none: the variable of the
 * environment is a one-line document). */
static int line_of_outputs(const char *text)
{
	const char *p = text ? strstr(text, "\"outputs\"") : NULL;
	int line = 1;

	for (const char *t = text; p && t < p; t++)
		line += *t == '\n';
	return line;
}

static void op_error(struct op *p, const char *key, const char *reason)
{
	log_error("%s:%d: outputs[%d]: %s%s%s", p->path, p->line, p->idx, key ? key : "",
		  key ? ": " : "", reason);
	p->errors++;
}

static void get_str(struct op *p, json_object *v, const char *key, char *out, size_t len)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

	if (!s || strlen(s) != (size_t)json_object_get_string_len(v))
		op_error(p, key, "must be a string (without NUL characters)");
	else if (strlen(s) >= len)
		op_error(p, key, "is too long");
	else
		snprintf(out, len, "%s", s);
}

static void get_uint(struct op *p, json_object *v, const char *key, uint32_t lo, uint32_t hi,
		     uint32_t *out)
{
	int64_t x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
	char why[80];

	if (x < lo || x > hi) {
		snprintf(why, sizeof(why), "must be a whole number from %u to %u", lo, hi);
		op_error(p, key, why);
		return;
	}
	*out = (uint32_t)x;
}

static void get_bool(struct op *p, json_object *v, const char *key, int *out)
{
	if (!json_object_is_type(v, json_type_boolean))
		op_error(p, key, "must be true or false");
	else
		*out = json_object_get_boolean(v);
}

/* A header name is an HTTP token; a value has no control characters (no CR/LF: a header
 * cannot smuggle another line into the request). */
static int header_ok(const char *name, const char *value)
{
	if (!*name)
		return 0;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("!#$%&'*+-.^_`|~", *c))
			return 0;
	for (const char *c = value; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return 0;
	return 1;
}

static void get_headers(struct op *p, json_object *v, struct output_conf *o)
{
	if (!json_object_is_type(v, json_type_object)) {
		op_error(p, "headers", "must be an object: {\"Authorization\": \"Bearer ...\"}");
		return;
	}
	o->n_headers = 0;
	json_object_object_foreach(v, name, val)
	{
		const char *s =
		    json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;

		if (o->n_headers >= OUTPUT_MAX_HEADERS) {
			op_error(p, "headers", "at most 8");
			return;
		}
		if (!s || !header_ok(name, s) ||
		    strlen(s) != (size_t)json_object_get_string_len(val)) {
			op_error(p, "headers",
				 "names must be HTTP tokens and values strings without control "
				 "characters");
			return;
		}
		if (strlen(name) + 2 + strlen(s) >= OUTPUT_HEADER_LEN) {
			op_error(p, "headers", "a header is too long (511 bytes at most)");
			return;
		}
		snprintf(o->headers[o->n_headers++], OUTPUT_HEADER_LEN, "%s: %s", name, s);
	}
}

/* "command": ["/path/prog", "arg", ...], or with "shell": true a string. */
static void get_command(struct op *p, json_object *v, struct output_conf *o)
{
	o->argc = 0;
	if (json_object_is_type(v, json_type_string)) {
		get_str(p, v, "command", o->argv[0], sizeof(o->argv[0]));
		o->argc = o->argv[0][0] ? 1 : 0;
		return;
	}
	if (!json_object_is_type(v, json_type_array) || !json_object_array_length(v) ||
	    json_object_array_length(v) > OUTPUT_MAX_ARGS) {
		op_error(p, "command", "must be an array of 1 to 16 strings (program, arguments)");
		return;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++)
		get_str(p, json_object_array_get_idx(v, i), "command", o->argv[o->argc++],
			sizeof(o->argv[0]));
}

static int facility_parse(const char *s)
{
	static const char *const names[] = {"kern", "user", "mail", "daemon", "auth",	  "syslog",
					    "lpr",  "news", "uucp", "cron",   "authpriv", "ftp"};

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!strcmp(s, names[i]))
			return i;
	if (!strncmp(s, "local", 5) && s[5] >= '0' && s[5] <= '7' && !s[6])
		return 16 + s[5] - '0';
	return -1;
}

/* Which keys each type takes, besides the common ones. */
static int key_allowed(int type, const char *key)
{
	static const char *const common[] = {"type",
					     "name",
					     "enabled",
					     "min_severity",
					     "rate_per_minute",
					     "burst",
					     "container_rate_per_minute",
					     "container_burst"};
	static const char *const per_type[OUTPUT_TYPE_NR][8] = {
	    [OUTPUT_WEBHOOK] = {"url", "headers", "timeout_ms", "backoff_ms", "max_backoff_ms",
				"queue_max", "ca_file"},
	    [OUTPUT_EXEC] = {"command", "shell", "timeout_ms", "max_concurrent"},
	    [OUTPUT_NOTIFY] = {"bus", "timeout_ms"},
	    [OUTPUT_SYSLOG] = {"mode", "socket", "facility", "ident"},
	};

	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (!strcmp(key, common[i]))
			return 1;
	for (int i = 0; i < 8 && per_type[type][i]; i++)
		if (!strcmp(key, per_type[type][i]))
			return 1;
	return 0;
}

static void parse_entry(struct op *p, json_object *e, struct output_conf *o)
{
	json_object *v;
	int type;

	if (!json_object_is_type(e, json_type_object)) {
		op_error(p, NULL, "each output must be an object with a \"type\"");
		return;
	}
	if (!json_object_object_get_ex(e, "type", &v) ||
	    (type = output_type_parse(json_object_get_string(v))) < 0) {
		op_error(p, "type",
			 "must be \"terminal\", \"file\", \"webhook\", \"exec\", \"notify\" or "
			 "\"syslog\"");
		return;
	}
	output_conf_defaults(o, type);
	json_object_object_foreach(e, key, val)
	{
		char why[96];

		(void)val;
		if (!key_allowed(type, key)) {
			snprintf(why, sizeof(why), "unknown key for a %s output (docs/outputs.md)",
				 output_type_name(type));
			op_error(p, key, why);
		}
	}
	if (json_object_object_get_ex(e, "name", &v))
		get_str(p, v, "name", o->name, sizeof(o->name));
	if (json_object_object_get_ex(e, "enabled", &v))
		get_bool(p, v, "enabled", &o->enabled);
	if (json_object_object_get_ex(e, "min_severity", &v) &&
	    (o->min_severity = alert_severity_parse(
		 json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "")) < 0)
		op_error(p, "min_severity", "must be \"INFO\", \"WARNING\" or \"CRITICAL\"");
	if (json_object_object_get_ex(e, "rate_per_minute", &v))
		get_uint(p, v, "rate_per_minute", 0, 600000, &o->rate_per_minute);
	if (json_object_object_get_ex(e, "burst", &v))
		get_uint(p, v, "burst", 0, 100000, &o->burst);
	if (json_object_object_get_ex(e, "container_rate_per_minute", &v))
		get_uint(p, v, "container_rate_per_minute", 0, 600000,
			 &o->container_rate_per_minute);
	if (json_object_object_get_ex(e, "container_burst", &v))
		get_uint(p, v, "container_burst", 0, 100000, &o->container_burst);
	if (json_object_object_get_ex(e, "timeout_ms", &v))
		get_uint(p, v, "timeout_ms", 100, 600000, &o->timeout_ms);
	if (json_object_object_get_ex(e, "url", &v)) {
		get_str(p, v, "url", o->url, sizeof(o->url));
		if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
			op_error(p, "url", "must start with http:// or https://");
	} else if (type == OUTPUT_WEBHOOK) {
		op_error(p, "url", "a webhook needs one");
	}
	if (json_object_object_get_ex(e, "headers", &v))
		get_headers(p, v, o);
	if (json_object_object_get_ex(e, "backoff_ms", &v))
		get_uint(p, v, "backoff_ms", 10, 3600000, &o->backoff_ms);
	if (json_object_object_get_ex(e, "max_backoff_ms", &v))
		get_uint(p, v, "max_backoff_ms", 10, 86400000, &o->max_backoff_ms);
	if (json_object_object_get_ex(e, "queue_max", &v))
		get_uint(p, v, "queue_max", 1, 1000000, &o->queue_max);
	if (json_object_object_get_ex(e, "ca_file", &v))
		get_str(p, v, "ca_file", o->ca_file, sizeof(o->ca_file));
	if (json_object_object_get_ex(e, "shell", &v))
		get_bool(p, v, "shell", &o->shell);
	if (json_object_object_get_ex(e, "command", &v))
		get_command(p, v, o);
	else if (type == OUTPUT_EXEC)
		op_error(p, "command", "an exec output needs one: [\"/path/program\", \"arg\"]");
	if (type == OUTPUT_EXEC && o->argc == 0 && json_object_object_get_ex(e, "command", &v))
		op_error(p, "command", "is empty: give [\"/path/program\", \"arg\"]");
	if (type == OUTPUT_EXEC && o->argc == 1 && o->shell == 0 && strchr(o->argv[0], ' ') &&
	    json_object_object_get_ex(e, "command", &v) && json_object_is_type(v, json_type_string))
		op_error(p, "command",
			 "a string is a shell command line: add \"shell\": true, or give an array");
	if (type == OUTPUT_EXEC && o->shell && o->argc > 1)
		op_error(p, "command", "with \"shell\": true it is one string");
	if (type == OUTPUT_EXEC && o->argc && !o->shell && o->argv[0][0] != '/')
		op_error(p, "command", "the program must be an absolute path (no $PATH search)");
	if (json_object_object_get_ex(e, "max_concurrent", &v))
		get_uint(p, v, "max_concurrent", 1, 16, &o->max_concurrent);
	if (json_object_object_get_ex(e, "bus", &v))
		get_str(p, v, "bus", o->bus, sizeof(o->bus));
	if (json_object_object_get_ex(e, "mode", &v)) {
		const char *m =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (!strcmp(m, "auto"))
			o->syslog_mode = OUTPUT_SYSLOG_AUTO;
		else if (!strcmp(m, "journal"))
			o->syslog_mode = OUTPUT_SYSLOG_JOURNAL;
		else if (!strcmp(m, "syslog"))
			o->syslog_mode = OUTPUT_SYSLOG_SYSLOG;
		else
			op_error(p, "mode", "must be \"auto\", \"journal\" or \"syslog\"");
	}
	if (json_object_object_get_ex(e, "socket", &v))
		get_str(p, v, "socket", o->socket, sizeof(o->socket));
	if (json_object_object_get_ex(e, "facility", &v) &&
	    (o->facility = facility_parse(
		 json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "")) < 0)
		op_error(p, "facility", "must be a syslog facility name (daemon, user, local0..7)");
	if (json_object_object_get_ex(e, "ident", &v))
		get_str(p, v, "ident", o->ident, sizeof(o->ident));
}

/* Is name taken by one of the first n outputs of c? */
static int name_taken(const struct outputs_conf *c, int n, const char *name)
{
	for (int j = 0; j < n; j++)
		if (!strcmp(c->o[j].name, name))
			return 1;
	return 0;
}

/* Give unnamed outputs of a repeated type the names "<type>-2", "<type>-3", ...; a name
 * given twice is an error. */
static void name_outputs(struct op *p, struct outputs_conf *c)
{
	for (int i = 0; i < c->n; i++) {
		if (!name_taken(c, i, c->o[i].name))
			continue;
		if (strcmp(c->o[i].name, output_type_name(c->o[i].type))) {
			p->idx = i;
			op_error(p, "name", "two outputs have this name");
			continue;
		}
		for (int k = 2; name_taken(c, i, c->o[i].name); k++)
			snprintf(c->o[i].name, sizeof(c->o[i].name), "%s-%d",
				 output_type_name(c->o[i].type), k);
	}
}

int config_outputs_parse(const char *path, const char *text, const void *value,
			 struct outputs_conf *out)
{
	json_object *v = (json_object *)value;
	struct op p = {.path = path, .line = line_of_outputs(text)};
	size_t n;

	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) > OUTPUTS_MAX) {
		log_error("%s:%d: outputs: must be an array of at most %d objects "
			  "(docs/outputs.md)",
			  path, p.line, OUTPUTS_MAX);
		return 1;
	}
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		p.idx = (int)i;
		parse_entry(&p, json_object_array_get_idx(v, i), &out->o[out->n++]);
	}
	for (int t = OUTPUT_TERMINAL; t <= OUTPUT_FILE; t++) {
		int seen = 0;

		for (int i = 0; i < out->n; i++)
			if (out->o[i].type == t && seen++) {
				p.idx = i;
				op_error(&p, "type",
					 t == OUTPUT_FILE ? "one \"file\" output at most (its path "
							    "is alerts_file)"
							  : "one \"terminal\" output at most");
			}
	}
	name_outputs(&p, out);
	return p.errors;
}

int config_outputs_add(struct outputs_conf *c, int type, const char *arg, const char *token)
{
	struct output_conf *o;

	if (c->n >= OUTPUTS_MAX)
		return -ENOSPC;
	if ((type == OUTPUT_WEBHOOK || type == OUTPUT_EXEC) && (!arg || !*arg))
		return -EINVAL;
	o = &c->o[c->n];
	output_conf_defaults(o, type);
	if (type == OUTPUT_WEBHOOK) {
		if ((strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) ||
		    strlen(arg) >= sizeof(o->url))
			return -EINVAL;
		snprintf(o->url, sizeof(o->url), "%s", arg);
		if (token && *token) {
			if (strlen(token) + 24 >= OUTPUT_HEADER_LEN || !header_ok("x", token))
				return -EINVAL;
			snprintf(o->headers[0], OUTPUT_HEADER_LEN, "Authorization: Bearer %s",
				 token);
			o->n_headers = 1;
		}
	} else if (type == OUTPUT_EXEC) {
		if (strlen(arg) >= sizeof(o->argv[0]) || arg[0] != '/')
			return -EINVAL;
		snprintf(o->argv[0], sizeof(o->argv[0]), "%s", arg);
		o->argc = 1;
	} else if (type != OUTPUT_NOTIFY && type != OUTPUT_SYSLOG) {
		return -EINVAL;
	}
	c->n++;
	/* A second webhook from flags is "webhook-2". */
	for (int k = 2; name_taken(c, c->n - 1, o->name); k++)
		snprintf(o->name, sizeof(o->name), "%s-%d", output_type_name(type), k);
	return 0;
}
