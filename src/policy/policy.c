/* policy.c - load, validate and match policies (container-guard seed). */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "severity.h"
#include "fs.h"
#include "log.h"
#include "policy.h"

void policy_defaults(struct policy_set *ps)
{
	struct policy *p = &ps->p[0];

	memset(ps, 0, sizeof(*ps));
	snprintf(p->id, sizeof(p->id), "default");
	snprintf(p->name, sizeof(p->name), "Pause on a CRITICAL alert");
	snprintf(p->description, sizeof(p->description),
		 "built in: applies when no policies file exists");
	p->enabled = 1;
	p->priority = 1000000;
	p->severity_threshold = ALERT_CRITICAL;
	p->egress = -1;
	p->actions = POLICY_ACT_PAUSE;
	logs_policy_defaults(&p->logs);
	config_resources_unset(&p->resources);
	ps->n = 1;
}

/* Line of the first occurrence of needle in text, 0 when absent. */
static int line_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	int line = 1;

	for (const char *q = text; p && q < p; q++)
		line += *q == '\n';
	return p ? line : 0;
}

/* Copy a JSON array of strings into globs. Returns 0 or -1. */
static int get_globs(json_object *arr, char *out, size_t width, int max, int *n)
{
	if (!json_object_is_type(arr, json_type_array) ||
	    json_object_array_length(arr) > (size_t)max)
		return -1;
	*n = 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(s, json_type_string) ||
		    (size_t)json_object_get_string_len(s) >= width ||
		    strlen(json_object_get_string(s)) != (size_t)json_object_get_string_len(s))
			return -1;
		snprintf(out + (size_t)(*n)++ * width, width, "%s", json_object_get_string(s));
	}
	return 0;
}

/* Copy string v into out (len bytes). Returns 0, or -1 when v is not a
 * string (null included), does not fit or holds a NUL character. */
static int get_text(json_object *v, char *out, size_t len)
{
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return -1;
	snprintf(out, len, "%s", json_object_get_string(v));
	return 0;
}

/* Parse one policy object. Returns NULL, or the reason it is bad. */
static const char *parse_one(json_object *o, struct policy *p)
{
	json_object *v, *t;
	const char *why;

	memset(p, 0, sizeof(*p));
	p->enabled = 1;
	p->egress = -1;
	p->severity_threshold = ALERT_CRITICAL;
	logs_policy_defaults(&p->logs);
	config_resources_unset(&p->resources);
	if (!json_object_is_type(o, json_type_object))
		return "a policy must be an object";
	if (!json_object_object_get_ex(o, "id", &v) || get_text(v, p->id, sizeof(p->id)) ||
	    !p->id[0])
		return "\"id\" (a non-empty string of at most 63 bytes) is required";
	if (json_object_object_get_ex(o, "name", &v) && get_text(v, p->name, sizeof(p->name)))
		return "\"name\" must be a string of at most 127 bytes";
	if (json_object_object_get_ex(o, "description", &v) &&
	    get_text(v, p->description, sizeof(p->description)))
		return "\"description\" must be a string of at most 255 bytes";
	if (json_object_object_get_ex(o, "enabled", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return "\"enabled\" must be true or false";
		p->enabled = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "priority", &v)) {
		if (!json_object_is_type(v, json_type_int))
			return "\"priority\" must be a whole number (lower runs first)";
		p->priority = json_object_get_int(v);
	}
	if (json_object_object_get_ex(o, "severity_threshold", &v) &&
	    (p->severity_threshold = alert_severity_parse(json_object_get_string(v))) < 0)
		return "\"severity_threshold\" must be INFO, WARNING or CRITICAL";
	if (json_object_object_get_ex(o, "target", &t)) {
		if (!json_object_is_type(t, json_type_object))
			return "\"target\" must be an object";
		if (json_object_object_get_ex(t, "names", &v) &&
		    get_globs(v, p->names[0], sizeof(p->names[0]), POLICY_MAX_GLOBS, &p->n_names))
			return "\"target.names\" must be an array of at most 8 name globs";
		if (json_object_object_get_ex(t, "images", &v) &&
		    get_globs(v, p->images[0], sizeof(p->images[0]), POLICY_MAX_GLOBS,
			      &p->n_images))
			return "\"target.images\" must be an array of at most 8 image globs";
		if (json_object_object_get_ex(t, "labels", &v) &&
		    get_globs(v, p->labels[0], sizeof(p->labels[0]), POLICY_MAX_GLOBS,
			      &p->n_labels))
			return "\"target.labels\" must be an array of \"key=value\" or \"key\"";
	}
	if (json_object_object_get_ex(o, "egress", &v)) {
		const char *e =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		p->egress = !strcmp(e, "monitor")	? 0
			    : !strcmp(e, "enforce")	? 1
			    : !strcmp(e, "interactive") ? 2
			    : !strcmp(e, "learn")	? POLICY_EGRESS_LEARN
							: -2;
		if (p->egress == -2)
			return "\"egress\" must be monitor, enforce, interactive or learn";
	}
	if (json_object_object_get_ex(o, "exec_allow", &v)) {
		if (get_globs(v, p->exec_allow[0], sizeof(p->exec_allow[0]), POLICY_MAX_EXEC,
			      &p->n_exec_allow))
			return "\"exec_allow\" must be an array of at most 128 executable names "
			       "(base names of at most 63 bytes)";
		for (int i = 0; i < p->n_exec_allow; i++)
			if (!p->exec_allow[i][0] || strchr(p->exec_allow[i], '/'))
				return "\"exec_allow\" holds base names (\"python3\"), not paths "
				       "or empty names";
	}
	if (json_object_object_get_ex(o, "egress_rules", &v) &&
	    (get_text(v, p->egress_rules, sizeof(p->egress_rules)) || p->egress_rules[0] != '/'))
		return "\"egress_rules\" must be the absolute path of a rules file (the format "
		       "of /etc/moat/rules.json)";
	if ((why = policy_logs_parse(o, &p->logs))) /* "logs", "health": config_logs.c */
		return why;
	if (json_object_object_get_ex(o, "resources", &v)) {
		const char *why = config_resources_parse_policy(v, &p->resources);

		if (why)
			return why;
	}
	if (json_object_object_get_ex(o, "actions", &v)) {
		if (!json_object_is_type(v, json_type_array))
			return "\"actions\" must be an array";
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *a = json_object_array_get_idx(v, i), *nets;
			const char *s = json_object_is_type(a, json_type_string)
					    ? json_object_get_string(a)
					    : "";

			if (json_object_is_type(a, json_type_object) &&
			    json_object_object_get_ex(a, "network_disconnect", &nets)) {
				p->actions |= POLICY_ACT_DISCONNECT;
				if (get_globs(nets, p->networks[0], sizeof(p->networks[0]), 8,
					      &p->n_networks))
					return "\"network_disconnect\" takes an array of network "
					       "names";
			} else if (!strcmp(s, "alert")) {
				/* alerts always happen */
			} else if (!strcmp(s, "pause")) {
				p->actions |= POLICY_ACT_PAUSE;
			} else if (!strcmp(s, "stop")) {
				p->actions |= POLICY_ACT_STOP;
			} else if (!strcmp(s, "network_disconnect")) {
				p->actions |= POLICY_ACT_DISCONNECT;
			} else if (!strcmp(s, "kill_exec")) {
				p->actions |= POLICY_ACT_KILL_EXEC;
			} else {
				return "unknown action (alert, pause, stop, network_disconnect, "
				       "{\"network_disconnect\": [...]}, kill_exec)";
			}
		}
	}
	return NULL;
}

static int by_priority(const void *a, const void *b)
{
	const struct policy *x = a, *y = b;

	return (x->priority > y->priority) - (x->priority < y->priority);
}

/* Parse the NUL-terminated text of the file named path over ps (the
 * contract of policy_load). */
static int load_text(struct policy_set *ps, const char *path, const char *text)
{
	struct policy_set *next = calloc(1, sizeof(*next));
	json_object *root = NULL, *arr;
	int errors = 0, err = 0;

	if (!next) {
		err = -ENOMEM;
		log_error("%s: cannot read: %s", path, strerror(-err));
		goto out;
	}
	root = json_tokener_parse(text);
	if (!root) {
		log_error("%s:1: not valid JSON (check brackets and commas; `jq . %s` shows where)",
			  path, path);
		err = -EINVAL;
		goto out;
	}
	if (!json_object_object_get_ex(root, "policies", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    json_object_array_length(arr) > POLICY_MAX) {
		log_error("%s:1: expected {\"policies\": [...]} with at most %d policies", path,
			  POLICY_MAX);
		err = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *id;
		const char *why = parse_one(o, &next->p[next->n]);
		char quoted[96] = "";

		if (json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "id", &id) &&
		    json_object_is_type(id, json_type_string))
			snprintf(quoted, sizeof(quoted), "\"%s\"", json_object_get_string(id));
		if (why) {
			log_error("%s:%d: policy %zu: %s", path, line_of(text, quoted), i + 1, why);
			errors++;
			continue;
		}
		for (int k = 0; k < next->n; k++)
			if (!strcmp(next->p[k].id, next->p[next->n].id)) {
				log_error("%s:%d: policy %zu: id %s is used twice", path,
					  line_of(text, quoted), i + 1, next->p[k].id);
				errors++;
			}
		next->n++;
	}
	if (errors) {
		log_error("%s: %d error(s); the policies in force stay", path, errors);
		err = -EINVAL;
		goto out;
	}
	qsort(next->p, (size_t)next->n, sizeof(next->p[0]), by_priority);
	snprintf(next->path, sizeof(next->path), "%s", path);
	memcpy(ps, next, sizeof(*ps));
out:
	json_object_put(root);
	free(next);
	return err;
}

int policy_load(struct policy_set *ps, const char *path)
{
	char *text;
	size_t len;
	int err = fs_read_all(path, POLICY_MAX_BYTES, &text, &len);

	if (err) {
		if (err != -ENOENT)
			log_error("%s: cannot read: %s", path, strerror(-err));
		return err;
	}
	/* The text ends at the first NUL byte; an empty file is not valid JSON. */
	err = load_text(ps, path, text);
	free(text);
	return err;
}

int policy_load_buf(struct policy_set *ps, const char *name, const char *buf, size_t len)
{
	char *text = malloc(len + 1);
	int err;

	if (!text)
		return -ENOMEM;
	memcpy(text, buf, len);
	text[len] = 0;
	err = load_text(ps, name, text);
	free(text);
	return err;
}

int policy_exec_allowed(const struct policy *p, const char *name)
{
	for (int i = 0; p && name && i < p->n_exec_allow; i++)
		if (!strcmp(p->exec_allow[i], name))
			return 1;
	return 0;
}

const char *policy_egress_name(int egress)
{
	static const char *const names[] = {"monitor", "enforce", "interactive", "learn"};

	return egress >= 0 && egress <= POLICY_EGRESS_LEARN ? names[egress] : "";
}

static int any_glob(const char *globs, size_t width, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (fnmatch(globs + (size_t)i * width, s ? s : "", 0) == 0)
			return 1;
	return n == 0;
}

static int labels_match(const struct policy_set *ps, const struct policy *p,
			const struct container_info *c)
{
	for (int i = 0; i < p->n_labels; i++) {
		char key[256];
		const char *eq = strchr(p->labels[i], '='), *have;

		snprintf(key, sizeof(key), "%.*s",
			 (int)(eq ? (size_t)(eq - p->labels[i]) : strlen(p->labels[i])),
			 p->labels[i]);
		have = container_label_from(c, key, ps->trust_image_labels);
		if (!have || (eq && strcmp(have, eq + 1)))
			return 0;
	}
	return 1;
}

const struct policy *policy_match(const struct policy_set *ps, const struct container_info *c)
{
	for (int i = 0; i < ps->n; i++) {
		const struct policy *p = &ps->p[i];

		if (p->enabled && c &&
		    any_glob(p->names[0], sizeof(p->names[0]), p->n_names, c->name) &&
		    any_glob(p->images[0], sizeof(p->images[0]), p->n_images, c->image) &&
		    labels_match(ps, p, c))
			return p;
	}
	return NULL;
}
