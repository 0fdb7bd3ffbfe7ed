/* docker_inspect.c - Docker's answers about containers: GET /containers/<id>/json parsed into
 * a struct container_info (every field checked, hostile values warned about and left empty),
 * the image's labels, the host's view (cgroup path and id), the list of running containers,
 * and Docker's RFC 3339 times. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "docker_int.h"
#include "log.h"

int64_t docker_parse_time(const char *s)
{
	struct tm tm = {0};
	int n = 0, oh = 0, om = 0;
	int64_t frac = 0, scale = 1000000000LL, t;
	const char *p;

	if (!s ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n == 0)
		return -1;
	if (tm.tm_year <= 1)
		return 0; /* Go's zero time: never */
	p = s + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p == '+' || *p == '-') {
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return -1;
		if (*p == '-') {
			oh = -oh;
			om = -om;
		}
	} else if (*p != 'Z') {
		return -1;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == -1)
		return -1;
	t -= oh * 3600 + om * 60;
	/* From 1970 (Docker's times are) to 2262-04-11 (the int64 ns limit). */
	if (t < 0 || t >= INT64_MAX / 1000000000LL)
		return -1;
	return t * 1000000000LL + frac;
}

/* Whether JSON string v holds a NUL character (it would cut the C string short). */
static int has_nul(json_object *v)
{
	return strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v);
}

/* The field key of parent when it has type want. Missing, null or another
 * type: NULL, with a warning naming the field, except that an optional
 * field may be missing or null quietly. */
static json_object *field(json_object *parent, const char *key, json_type want, const char *name,
			  const char *ctx, int optional)
{
	json_object *v;

	if (!parent)
		return NULL;
	if (!json_object_object_get_ex(parent, key, &v) || !v) {
		if (!optional)
			log_warn("docker: %s: field %s missing; left empty", ctx, name);
		return NULL;
	}
	if (!json_object_is_type(v, want)) {
		log_warn("docker: %s: field %s is %s, not %s; left empty", ctx, name,
			 json_type_to_name(json_object_get_type(v)), json_type_to_name(want));
		return NULL;
	}
	if (want == json_type_string && has_nul(v)) {
		log_warn("docker: %s: field %s holds a NUL character; left empty", ctx, name);
		return NULL;
	}
	return v;
}

static void copy_str(char *dst, size_t len, json_object *parent, const char *key, const char *name,
		     const char *ctx, int optional)
{
	json_object *v = field(parent, key, json_type_string, name, ctx, optional);

	snprintf(dst, len, "%s", v ? json_object_get_string(v) : "");
}

/* Append the string elements of array arr (field name) to list. */
static void push_strings(json_object *arr, const char *name, const char *ctx, const char **list,
			 int *n, int max)
{
	size_t len = arr ? json_object_array_length(arr) : 0;

	for (size_t i = 0; i < len && *n < max; i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(e, json_type_string) || has_nul(e)) {
			log_warn("docker: %s: %s[%zu] is not a string without NUL characters; "
				 "skipped",
				 ctx, name, i);
			continue;
		}
		list[(*n)++] = json_object_get_string(e);
	}
}

#define DOCKER_MAX_ARGV 256

/* Config.Healthcheck.Test: ["CMD", args...], ["CMD-SHELL", "command"] or
 * ["NONE"] -> c->health_cmd (words joined by spaces). */
static void parse_healthcheck(json_object *hc, struct container_info *c, const char *ctx)
{
	const char *words[DOCKER_MAX_ARGV];
	size_t off = 0;
	int n = 0;

	c->health_cmd[0] = 0;
	if (!hc)
		return;
	push_strings(field(hc, "Test", json_type_array, "Config.Healthcheck.Test", ctx, 1),
		     "Config.Healthcheck.Test", ctx, words, &n, DOCKER_MAX_ARGV);
	if (n < 2 || strcmp(words[0], "NONE") == 0)
		return;
	if (strcmp(words[0], "CMD-SHELL") == 0)
		off = (size_t)snprintf(c->health_cmd, sizeof(c->health_cmd), "sh -c ");
	for (int i = 1; i < n && off < sizeof(c->health_cmd); i++)
		off += (size_t)snprintf(c->health_cmd + off, sizeof(c->health_cmd) - off, "%s%s",
					i > 1 ? " " : "", words[i]);
}

/* Config: the image reference, argv (Entrypoint then Cmd), the healthcheck and the labels
 * (string values only). c->argv and c->labels are NULL only when memory is short. */
static void parse_config(json_object *cfg, struct container_info *c, const char *ctx)
{
	const char *args[DOCKER_MAX_ARGV];
	json_object *labels, *tty;
	int n = 0;

	copy_str(c->image, sizeof(c->image), cfg, "Image", "Config.Image", ctx, 0);
	push_strings(field(cfg, "Entrypoint", json_type_array, "Config.Entrypoint", ctx, 1),
		     "Config.Entrypoint", ctx, args, &n, DOCKER_MAX_ARGV);
	push_strings(field(cfg, "Cmd", json_type_array, "Config.Cmd", ctx, 1), "Config.Cmd", ctx,
		     args, &n, DOCKER_MAX_ARGV);
	if ((tty = field(cfg, "Tty", json_type_boolean, "Config.Tty", ctx, 1)))
		c->tty = json_object_get_boolean(tty);
	c->argv = container_argv_dup(args, n);
	c->argc = c->argv ? n : 0;
	parse_healthcheck(field(cfg, "Healthcheck", json_type_object, "Config.Healthcheck", ctx, 1),
			  c, ctx);
	c->labels = json_object_new_object();
	labels = field(cfg, "Labels", json_type_object, "Config.Labels", ctx, 1);
	if (!labels || !c->labels)
		return;
	json_object_object_foreach(labels, k, v)
	{
		if (!json_object_is_type(v, json_type_string) || has_nul(v)) {
			log_warn("docker: %s: label Config.Labels.%s is not a string without NUL "
				 "characters; skipped",
				 ctx, k);
			continue;
		}
		json_object_object_add(c->labels, k, json_object_get(v));
	}
}

/* State: status, init pid, exit code, start time and health. */
static void parse_state(json_object *st, struct container_info *c, const char *ctx)
{
	json_object *v, *health;

	copy_str(c->state, sizeof(c->state), st, "Status", "State.Status", ctx, 0);
	if ((v = field(st, "Pid", json_type_int, "State.Pid", ctx, 0)))
		c->pid = json_object_get_int(v);
	if ((v = field(st, "ExitCode", json_type_int, "State.ExitCode", ctx, 0)))
		c->exit_code = json_object_get_int(v);
	if ((v = field(st, "StartedAt", json_type_string, "State.StartedAt", ctx, 0))) {
		c->started_at = docker_parse_time(json_object_get_string(v));
		if (c->started_at < 0) {
			log_warn("docker: %s: field State.StartedAt \"%s\" is not an RFC 3339 "
				 "time; left empty",
				 ctx, json_object_get_string(v));
			c->started_at = 0;
		}
	}
	/* No Health at all means no healthcheck: "" quietly. */
	health = field(st, "Health", json_type_object, "State.Health", ctx, 1);
	if (health)
		copy_str(c->health, sizeof(c->health), health, "Status", "State.Health.Status", ctx,
			 0);
}

/* String key of one network endpoint (prefix names it); "" is normal. */
static void net_str(char *dst, size_t len, json_object *ep, const char *key, const char *prefix,
		    const char *ctx)
{
	char name[256];

	snprintf(name, sizeof(name), "%s.%s", prefix, key);
	copy_str(dst, len, ep, key, name, ctx, 1);
}

/* HostConfig.Dns: the --dns servers. Entries that are not strings are warned about and
 * skipped; more than DOCKER_MAX_DNS are ignored (Docker's resolv.conf holds 3).
 * HostConfig.Memory and PidsLimit: the limits asked for (negative or absent: none). */
static void parse_host_config(json_object *hc, struct container_info *c, const char *ctx)
{
	json_object *dns = hc ? field(hc, "Dns", json_type_array, "HostConfig.Dns", ctx, 1) : NULL;
	json_object *mem =
	    hc ? field(hc, "Memory", json_type_int, "HostConfig.Memory", ctx, 1) : NULL;
	json_object *pids =
	    hc ? field(hc, "PidsLimit", json_type_int, "HostConfig.PidsLimit", ctx, 1) : NULL;

	c->mem_limit = mem && json_object_get_int64(mem) > 0 ? json_object_get_int64(mem) : 0;
	c->pids_limit = pids && json_object_get_int64(pids) > 0 ? json_object_get_int64(pids) : 0;

	for (size_t i = 0; dns && i < json_object_array_length(dns); i++) {
		json_object *e = json_object_array_get_idx(dns, i);

		if (!json_object_is_type(e, json_type_string) ||
		    json_object_get_string_len(e) >= (int)sizeof(c->dns[0])) {
			log_warn("docker: %s: HostConfig.Dns[%zu] is not an address; skipped", ctx,
				 i);
			continue;
		}
		if (c->n_dns < DOCKER_MAX_DNS)
			snprintf(c->dns[c->n_dns++], sizeof(c->dns[0]), "%s",
				 json_object_get_string(e));
	}
}

/* NetworkSettings.Networks: up to DOCKER_MAX_NETWORKS endpoints, the rest warned about. */
static void parse_networks(json_object *ns, struct container_info *c, const char *ctx)
{
	json_object *nets =
	    field(ns, "Networks", json_type_object, "NetworkSettings.Networks", ctx, 1);
	char name[160];

	if (!nets)
		return;
	json_object_object_foreach(nets, k, v)
	{
		struct container_net *n = &c->nets[c->n_nets];

		if (c->n_nets == DOCKER_MAX_NETWORKS) {
			log_warn("docker: %s: more than %d networks; %s and later ones ignored",
				 ctx, DOCKER_MAX_NETWORKS, k);
			break;
		}
		snprintf(name, sizeof(name), "NetworkSettings.Networks.%s", k);
		if (!json_object_is_type(v, json_type_object)) {
			log_warn("docker: %s: field %s is not an object; skipped", ctx, name);
			continue;
		}
		snprintf(n->name, sizeof(n->name), "%s", k);
		net_str(n->ipv4, sizeof(n->ipv4), v, "IPAddress", name, ctx);
		net_str(n->gw4, sizeof(n->gw4), v, "Gateway", name, ctx);
		net_str(n->ipv6, sizeof(n->ipv6), v, "GlobalIPv6Address", name, ctx);
		net_str(n->gw6, sizeof(n->gw6), v, "IPv6Gateway", name, ctx);
		net_str(n->mac, sizeof(n->mac), v, "MacAddress", name, ctx);
		c->n_nets++;
	}
}

int docker_parse_inspect(json_object *o, struct container_info *out)
{
	json_object *id, *name;
	char ctx[32];

	memset(out, 0, sizeof(*out));
	if (!o || !json_object_is_type(o, json_type_object)) {
		log_warn("docker: inspect answer is not a JSON object; ignored");
		return -EPROTO;
	}
	id = field(o, "Id", json_type_string, "Id", "inspect", 0);
	if (!id || json_object_get_string_len(id) == 0 ||
	    json_object_get_string_len(id) >= (int)sizeof(out->id)) {
		if (id)
			log_warn(
			    "docker: inspect: field Id \"%.80s\" is not a container id; ignored",
			    json_object_get_string(id));
		return -EPROTO;
	}
	snprintf(out->id, sizeof(out->id), "%s", json_object_get_string(id));
	snprintf(ctx, sizeof(ctx), "inspect %.12s", out->id);
	{
		json_object *img = field(o, "Image", json_type_string, "Image", ctx, 1);

		if (img && json_object_get_string_len(img) < (int)sizeof(out->image_id))
			snprintf(out->image_id, sizeof(out->image_id), "%s",
				 json_object_get_string(img));
	}
	if ((name = field(o, "Name", json_type_string, "Name", ctx, 0))) {
		const char *s = json_object_get_string(name);

		snprintf(out->name, sizeof(out->name), "%s", s[0] == '/' ? s + 1 : s);
	}
	parse_config(field(o, "Config", json_type_object, "Config", ctx, 0), out, ctx);
	parse_state(field(o, "State", json_type_object, "State", ctx, 0), out, ctx);
	parse_networks(field(o, "NetworkSettings", json_type_object, "NetworkSettings", ctx, 0),
		       out, ctx);
	parse_host_config(field(o, "HostConfig", json_type_object, "HostConfig", ctx, 1), out, ctx);
	if (!out->argv || !out->labels) {
		container_info_clear(out);
		return -ENOMEM;
	}
	return 0;
}

/* The labels image id sets (its Config.Labels; an empty object when it sets none), from the
 * cache or one GET /images/<id>/json. A new reference, or NULL when the image cannot be
 * inspected (logged). */
static json_object *image_labels(struct docker *d, const char *id)
{
	char path[256];
	char *esc;
	json_object *o = NULL, *cfg, *labels, *out;

	if (!id[0])
		return NULL;
	for (int i = 0; i < DOCKER_IMAGE_CACHE; i++)
		if (d->images[i].labels && !strcmp(d->images[i].id, id))
			return json_object_get(d->images[i].labels);
	esc = curl_easy_escape(d->curl, id, 0);
	if (!esc)
		return NULL;
	snprintf(path, sizeof(path), "/images/%s/json", esc);
	curl_free(esc);
	if (docker_get(d, path, &o)) {
		log_warn("docker: image %.80s: cannot inspect it; its containers' labels are not "
			 "trusted",
			 id);
		return NULL;
	}
	out = json_object_new_object();
	cfg = field(o, "Config", json_type_object, "Config", "image", 1);
	labels = cfg ? field(cfg, "Labels", json_type_object, "Config.Labels", "image", 1) : NULL;
	if (labels && out) {
		json_object_object_foreach(labels, k, v)
		{
			if (json_object_is_type(v, json_type_string))
				json_object_object_add(out, k, json_object_get(v));
		}
	}
	json_object_put(o);
	if (!out)
		return NULL;
	json_object_put(d->images[d->image_next].labels);
	snprintf(d->images[d->image_next].id, sizeof(d->images[0].id), "%s", id);
	d->images[d->image_next].labels = json_object_get(out);
	d->image_next = (d->image_next + 1) % DOCKER_IMAGE_CACHE;
	return out;
}

int docker_inspect(struct docker *d, const char *id, struct container_info *out)
{
	char path[512], full[PATH_MAX + 256];
	char *esc = curl_easy_escape(d->curl, id, 0);
	json_object *o = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (!esc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/%s/json", esc);
	curl_free(esc);
	err = docker_get(d, path, &o);
	if (err)
		return err;
	err = docker_parse_inspect(o, out);
	json_object_put(o);
	if (err)
		return err;
	out->image_labels = image_labels(d, out->image_id);
	if (out->pid > 0 && cgroup_of_pid(out->pid, out->cgroup, sizeof(out->cgroup)) == 0 &&
	    d->cg_mount[0]) {
		snprintf(full, sizeof(full), "%s%s", d->cg_mount, out->cgroup);
		out->cgroup_id = cgroup_id_of(full);
	}
	if (out->pid > 0 && !out->cgroup_id)
		log_debug("docker: %.12s: no cgroup v2 id for pid %d (exited meanwhile?)", out->id,
			  out->pid);
	return 0;
}

void docker_list_free(struct container_info *cs, int n)
{
	for (int i = 0; i < n; i++)
		container_info_clear(&cs[i]);
	free(cs);
}

int docker_list(struct docker *d, struct container_info **out, int *n)
{
	json_object *arr = NULL;
	struct container_info *cs;
	size_t len;
	int err, k = 0;

	*out = NULL;
	*n = 0;
	err = docker_get(d, "/containers/json", &arr);
	if (err)
		return err;
	if (!json_object_is_type(arr, json_type_array)) {
		log_warn("docker: /containers/json: answer is not an array");
		json_object_put(arr);
		return -EPROTO;
	}
	len = json_object_array_length(arr);
	cs = calloc(len ? len : 1, sizeof(*cs));
	if (!cs) {
		json_object_put(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		json_object *c = json_object_array_get_idx(arr, i);
		json_object *id = field(c, "Id", json_type_string, "Id", "/containers/json", 0);

		if (!id)
			continue;
		err = docker_inspect(d, json_object_get_string(id), &cs[k]);
		if (err == -EIO) {
			docker_list_free(cs, k);
			json_object_put(arr);
			return err;
		}
		if (err == 0)
			k++; /* else gone meanwhile, or logged */
	}
	json_object_put(arr);
	*out = cs;
	*n = k;
	return 0;
}
