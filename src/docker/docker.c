/* docker.c - Docker Engine API over its unix socket: libcurl, json-c. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "cgroup.h"
#include "docker.h"
#include "log.h"

#define DOCKER_DEFAULT_SOCK "/var/run/docker.sock"
#define DOCKER_MAX_ANSWER   (16u << 20)
#define DOCKER_TIMEOUT_MS   5000L

#define DOCKER_IMAGE_CACHE 32

struct docker {
	/* Image labels by image id: an image's labels never change. */
	struct {
		char id[80];
		json_object *labels;
	} images[DOCKER_IMAGE_CACHE];
	int image_next;
	CURL *curl;
	char sock[PATH_MAX];
	char version[16]; /* "/v1.43" once negotiated, else "" */
	char cg_mount[PATH_MAX];
	char err[PATH_MAX + 1024]; /* reason of the last failed request */
	long timeout_ms;	   /* per request (docker_set_timeout) */
};

struct buf {
	char *data;
	size_t len;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_NOTHING);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t add = size * n;
	char *nd;

	if (b->len + add > DOCKER_MAX_ANSWER)
		return 0;
	nd = realloc(b->data, b->len + add + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, p, add);
	b->data = nd;
	b->len += add;
	b->data[b->len] = 0;
	return add;
}

struct docker *docker_open(const char *host)
{
	struct docker *d = calloc(1, sizeof(*d));
	json_object *ver = NULL, *api;
	const char *h = host ? host : getenv("DOCKER_HOST");

	if (!d)
		return NULL;
	if (!h || !*h)
		h = "unix://" DOCKER_DEFAULT_SOCK;
	if (strncmp(h, "unix://", 7) != 0) {
		log_warn("DOCKER_HOST=%s: only unix:// sockets are supported", h);
		free(d);
		errno = EINVAL;
		return NULL;
	}
	snprintf(d->sock, sizeof(d->sock), "%s", h + 7);
	d->timeout_ms = DOCKER_TIMEOUT_MS;
	if (cgroup_find_v2_mount(d->cg_mount, sizeof(d->cg_mount)))
		d->cg_mount[0] = 0; /* cgroup ids stay 0 */
	pthread_once(&curl_once, curl_init_once);
	d->curl = curl_easy_init();
	if (!d->curl) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	if (docker_get(d, "/version", &ver)) {
		docker_close(d);
		errno = EIO;
		return NULL;
	}
	/* Speak the daemon's own API version: it answers every older one too. */
	if (json_object_object_get_ex(ver, "ApiVersion", &api) &&
	    json_object_is_type(api, json_type_string))
		snprintf(d->version, sizeof(d->version), "/v%s", json_object_get_string(api));
	else
		log_warn("docker: /version has no ApiVersion field; using unversioned paths");
	json_object_put(ver);
	return d;
}

void docker_set_timeout(struct docker *d, long ms)
{
	d->timeout_ms = ms > 0 ? ms : DOCKER_TIMEOUT_MS;
}

void docker_close(struct docker *d)
{
	if (!d)
		return;
	for (int i = 0; i < DOCKER_IMAGE_CACHE; i++)
		json_object_put(d->images[i].labels);
	curl_easy_cleanup(d->curl);
	free(d);
}

void docker_set_cgroup_mount(struct docker *d, const char *mount)
{
	snprintf(d->cg_mount, sizeof(d->cg_mount), "%s", mount);
}

const char *docker_api_version(const struct docker *d)
{
	return d->version;
}

const char *docker_last_error(const struct docker *d)
{
	return d->err;
}

/* Remember why a request failed: Docker's {"message": ...} when the body
 * has one, else the body itself. */
static void set_http_error(struct docker *d, long status, const struct buf *b)
{
	json_object *o = b->data ? json_tokener_parse(b->data) : NULL, *m;
	const char *msg = b->data ? b->data : "";

	if (o && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "message", &m) && json_object_is_type(m, json_type_string))
		msg = json_object_get_string(m);
	snprintf(d->err, sizeof(d->err), "HTTP %ld: %.*s", status, (int)strcspn(msg, "\n"), msg);
	json_object_put(o);
}

static int status_errno(long status)
{
	switch (status) {
	case 400: return -EINVAL;
	case 403: return -EPERM;
	case 404: return -ENOENT;
	case 409: return -EBUSY;
	default: return -EPROTO;
	}
}

/* Perform method on path (the API version is prefixed) with an optional
 * JSON body. The answer goes to *b (caller frees b->data) and its status
 * to *status. Returns 0 when the daemon answered at all, else -EIO with
 * d->err set. */
static int request(struct docker *d, const char *method, const char *path, const char *body,
		   long timeout_ms, struct buf *b, long *status)
{
	struct curl_slist *hdrs = NULL;
	char url[1024];
	CURLcode rc;

	*status = 0;
	snprintf(url, sizeof(url), "http://docker%s%s", d->version, path);
	curl_easy_reset(d->curl);
	curl_easy_setopt(d->curl, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "POST") == 0) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(d->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, body ? body : "");
	}
	rc = curl_easy_perform(d->curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		snprintf(d->err, sizeof(d->err), "%s via %s: %s (is dockerd running?)", path,
			 d->sock, curl_easy_strerror(rc));
		return -EIO;
	}
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int docker_get(struct docker *d, const char *path, json_object **out)
{
	struct buf b = {0};
	long status;
	int err;
	enum json_tokener_error jerr;

	*out = NULL;
	err = request(d, "GET", path, NULL, d->timeout_ms, &b, &status);
	if (err) {
		log_debug("docker: GET %s", d->err);
		goto cleanup;
	}
	if (status < 200 || status > 299) {
		set_http_error(d, status, &b);
		err = status_errno(status);
		if (err == -ENOENT)
			log_debug("docker: GET %s: %s", path, d->err);
		else
			log_warn("docker: GET %s: %s", path, d->err);
		goto cleanup;
	}
	*out = json_tokener_parse_verbose(b.data ? b.data : "", &jerr);
	if (!*out) {
		snprintf(d->err, sizeof(d->err), "answer is not JSON: %s",
			 json_tokener_error_desc(jerr));
		log_warn("docker: GET %s: %s", path, d->err);
		err = -EPROTO;
	}
cleanup:
	free(b.data);
	return err;
}

/* --- container_info ---------------------------------------------------- */

/* One malloc'ed block: n+1 pointers then the strings. */
static char **argv_dup(const char *const *src, int n)
{
	size_t total = (n + 1) * sizeof(char *);
	char **argv, *p;

	for (int i = 0; i < n; i++)
		total += strlen(src[i]) + 1;
	argv = malloc(total);
	if (!argv)
		return NULL;
	p = (char *)(argv + n + 1);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(src[i]) + 1;

		memcpy(p, src[i], l);
		argv[i] = p;
		p += l;
	}
	argv[n] = NULL;
	return argv;
}

void container_info_clear(struct container_info *c)
{
	json_object_put(c->labels);
	json_object_put(c->image_labels);
	free(c->argv);
	memset(c, 0, sizeof(*c));
}

int container_info_copy(struct container_info *dst, const struct container_info *src)
{
	memcpy(dst, src, sizeof(*dst));
	dst->labels = src->labels ? json_object_get(src->labels) : NULL; /* immutable, shared */
	dst->image_labels = src->image_labels ? json_object_get(src->image_labels) : NULL;
	dst->argv = NULL;
	if (src->argv) {
		dst->argv = argv_dup((const char *const *)src->argv, src->argc);
		if (!dst->argv) {
			json_object_put(dst->labels);
			json_object_put(dst->image_labels);
			memset(dst, 0, sizeof(*dst));
			return -ENOMEM;
		}
	}
	return 0;
}

const char *container_label(const struct container_info *c, const char *key)
{
	json_object *v;

	if (!c->labels || !json_object_object_get_ex(c->labels, key, &v))
		return NULL;
	return json_object_get_string(v);
}

const char *container_label_from(const struct container_info *c, const char *key, int trust_image)
{
	const char *v = container_label(c, key);
	json_object *iv;

	if (!v || trust_image)
		return v;
	if (!c->image_labels)
		return NULL;
	if (json_object_object_get_ex(c->image_labels, key, &iv) &&
	    json_object_is_type(iv, json_type_string) && !strcmp(json_object_get_string(iv), v))
		return NULL;
	return v;
}

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

static void parse_config(json_object *cfg, struct container_info *c, const char *ctx)
{
	const char *args[DOCKER_MAX_ARGV];
	json_object *labels;
	int n = 0;

	copy_str(c->image, sizeof(c->image), cfg, "Image", "Config.Image", ctx, 0);
	push_strings(field(cfg, "Entrypoint", json_type_array, "Config.Entrypoint", ctx, 1),
		     "Config.Entrypoint", ctx, args, &n, DOCKER_MAX_ARGV);
	push_strings(field(cfg, "Cmd", json_type_array, "Config.Cmd", ctx, 1), "Config.Cmd", ctx,
		     args, &n, DOCKER_MAX_ARGV);
	c->argv = argv_dup(args, n);
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
 * skipped; more than DOCKER_MAX_DNS are ignored (Docker's resolv.conf holds 3). */
static void parse_host_config(json_object *hc, struct container_info *c, const char *ctx)
{
	json_object *dns = hc ? field(hc, "Dns", json_type_array, "HostConfig.Dns", ctx, 1) : NULL;

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

/* --- responses --------------------------------------------------------- */

/* POST path with body; what/id name the action in messages. 2xx is
 * success, and so is 304 when ok304. Returns 0 or -errno. */
static int post(struct docker *d, const char *what, const char *id, const char *path,
		const char *body, long timeout_ms, int ok304)
{
	struct buf b = {0};
	long status;
	int err = request(d, "POST", path, body, timeout_ms, &b, &status);

	if (err) {
		log_warn("docker: %s %s failed: %s", what, id, d->err);
	} else if (status == 304 && ok304) {
		log_debug("docker: %s %s: already done (HTTP 304)", what, id);
	} else if (status < 200 || status > 299) {
		set_http_error(d, status, &b);
		err = status_errno(status);
		log_warn("docker: %s %s failed: %s", what, id, d->err);
	}
	free(b.data);
	return err;
}

/* POST /containers/<id>/<verb><query>. */
static int container_post(struct docker *d, const char *id, const char *verb, const char *query,
			  long timeout_ms, int ok304)
{
	char path[512];
	char *esc = curl_easy_escape(d->curl, id, 0);
	int err;

	if (!esc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/%s/%s%s", esc, verb, query);
	curl_free(esc);
	err = post(d, verb, id, path, NULL, timeout_ms, ok304);
	return err;
}

int docker_pause(struct docker *d, const char *id)
{
	return container_post(d, id, "pause", "", d->timeout_ms, 0);
}

int docker_unpause(struct docker *d, const char *id)
{
	return container_post(d, id, "unpause", "", d->timeout_ms, 0);
}

int docker_stop(struct docker *d, const char *id, int timeout_s)
{
	char q[32];

	if (timeout_s < 0)
		timeout_s = 0;
	snprintf(q, sizeof(q), "?t=%d", timeout_s);
	/* Docker waits timeout_s, then kills: allow for both. */
	return container_post(d, id, "stop", q, timeout_s * 1000L + d->timeout_ms, 1);
}

int docker_network_disconnect(struct docker *d, const char *container, const char *network,
			      int force)
{
	json_object *body = json_object_new_object();
	char path[512], what[160];
	char *esc = curl_easy_escape(d->curl, network, 0);
	int err = -ENOMEM;

	if (!body || !esc)
		goto cleanup;
	json_object_object_add(body, "Container", json_object_new_string(container));
	json_object_object_add(body, "Force", json_object_new_boolean(!!force));
	snprintf(path, sizeof(path), "/networks/%s/disconnect", esc);
	snprintf(what, sizeof(what), "%.64s from network %.64s", container, network);
	err = post(d, "disconnect", what, path,
		   json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), d->timeout_ms, 0);
cleanup:
	curl_free(esc);
	json_object_put(body);
	return err;
}

/* --- streaming --------------------------------------------------------- */

struct stream {
	struct docker *d;
	const struct docker_stream_ops *ops;
	void *ud;
	struct buf line; /* partial line, or the error body */
	long status;
	int opened;
	int cancelled;
};

static size_t stream_header(char *p, size_t size, size_t n, void *ud)
{
	struct stream *s = ud;
	size_t len = size * n;

	/* The blank line ends the headers: the status is known. */
	if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		curl_easy_getinfo(s->d->curl, CURLINFO_RESPONSE_CODE, &s->status);
		if (s->status >= 200 && s->status <= 299 && !s->opened) {
			s->opened = 1;
			if (s->ops->on_open && s->ops->on_open(s->ud)) {
				s->cancelled = 1;
				return 0;
			}
		}
	}
	return len;
}

static size_t stream_data(char *p, size_t size, size_t n, void *ud)
{
	struct stream *s = ud;
	size_t len = size * n, start = 0;

	if (!s->opened) /* an error answer: keep it for the message */
		return on_data(p, size, n, &s->line);
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (on_data(p + start, 1, i - start, &s->line) != i - start) {
			log_warn("docker: stream line over %u bytes; dropped", DOCKER_MAX_ANSWER);
			s->line.len = 0;
		} else if (s->line.len && s->ops->on_line &&
			   s->ops->on_line(s->line.data, s->line.len, s->ud)) {
			s->cancelled = 1;
			return 0;
		}
		s->line.len = 0;
		start = i + 1;
	}
	if (start < len && on_data(p + start, 1, len - start, &s->line) != len - start) {
		log_warn("docker: stream line over %u bytes; dropped", DOCKER_MAX_ANSWER);
		s->line.len = 0;
	}
	if (s->ops->should_stop && s->ops->should_stop(s->ud)) {
		s->cancelled = 1;
		return 0;
	}
	return len;
}

static int stream_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct stream *s = ud;

	if (s->ops->should_stop && s->ops->should_stop(s->ud)) {
		s->cancelled = 1;
		return 1;
	}
	return 0;
}

int docker_stream(struct docker *d, const char *path, const struct docker_stream_ops *ops, void *ud)
{
	struct stream s = {.d = d, .ops = ops, .ud = ud};
	char url[1024];
	CURLcode rc;
	int err = 0;

	snprintf(url, sizeof(url), "http://docker%s%s", d->version, path);
	curl_easy_reset(d->curl);
	curl_easy_setopt(d->curl, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	curl_easy_setopt(d->curl, CURLOPT_HEADERFUNCTION, stream_header);
	curl_easy_setopt(d->curl, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, stream_data);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFOFUNCTION, stream_progress);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFODATA, &s);
	curl_easy_setopt(d->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT_MS, DOCKER_TIMEOUT_MS);
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(d->curl);
	if (s.cancelled) {
		err = -ECANCELED;
	} else if (s.opened) {
		/* The daemon ended the stream: cleanly (CURLE_OK) or by going away. */
		if (rc != CURLE_OK)
			snprintf(d->err, sizeof(d->err), "%s: %s", path, curl_easy_strerror(rc));
		err = rc == CURLE_OK ? 0 : -EIO;
	} else if (rc != CURLE_OK && !s.status) {
		snprintf(d->err, sizeof(d->err), "%s via %s: %s (is dockerd running?)", path,
			 d->sock, curl_easy_strerror(rc));
		err = -EIO;
	} else {
		set_http_error(d, s.status, &s.line);
		err = status_errno(s.status);
		log_warn("docker: GET %s: %s", path, d->err);
	}
	free(s.line.data);
	return err;
}
