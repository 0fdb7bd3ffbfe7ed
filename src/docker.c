/* docker.c - Docker Engine API over its unix socket: libcurl, json-c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "cgroup.h"
#include "docker.h"
#include "log.h"

#define DOCKER_DEFAULT_SOCK "/var/run/docker.sock"
#define DOCKER_MAX_ANSWER   (16u << 20)

struct docker {
	CURL *curl;
	char sock[PATH_MAX];
	char version[16]; /* "/v1.43" once negotiated, else "" */
};

struct buf {
	char *data;
	size_t len;
};

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
	curl_global_init(CURL_GLOBAL_DEFAULT);
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

void docker_close(struct docker *d)
{
	if (!d)
		return;
	curl_easy_cleanup(d->curl);
	free(d);
}

int docker_get(struct docker *d, const char *path, json_object **out)
{
	char url[1024];
	struct buf b = {0};
	long status = 0;
	CURLcode rc;
	enum json_tokener_error jerr;

	snprintf(url, sizeof(url), "http://docker%s%s", d->version, path);
	curl_easy_reset(d->curl);
	curl_easy_setopt(d->curl, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(d->curl);
	if (rc != CURLE_OK) {
		log_debug("docker: GET %s via %s: %s", path, d->sock, curl_easy_strerror(rc));
		free(b.data);
		return -EIO;
	}
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		log_warn("docker: GET %s answered HTTP %ld", path, status);
		free(b.data);
		return -EPROTO;
	}
	*out = json_tokener_parse_verbose(b.data ? b.data : "", &jerr);
	if (!*out) {
		log_warn("docker: GET %s: answer is not JSON: %s", path,
			 json_tokener_error_desc(jerr));
		free(b.data);
		return -EPROTO;
	}
	free(b.data);
	return 0;
}

/* The string field key of obj, or NULL (with a warning naming it) when it
 * is missing or not a string. */
static const char *str_field(json_object *obj, const char *key, const char *where)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) {
		log_warn("docker: %s: field %s missing or not a string; skipped", where, key);
		return NULL;
	}
	return json_object_get_string(v);
}

/* Fill pid and cgroup id of c from GET /containers/<id>/json. */
static int inspect_one(struct docker *d, const char *cg_mount, struct container_info *c)
{
	char path[128], cg[PATH_MAX], full[PATH_MAX + 256];
	json_object *o = NULL, *state, *pid;
	int err;

	snprintf(path, sizeof(path), "/containers/%s/json", c->id);
	err = docker_get(d, path, &o);
	if (err)
		return err;
	if (json_object_object_get_ex(o, "State", &state) &&
	    json_object_object_get_ex(state, "Pid", &pid) &&
	    json_object_is_type(pid, json_type_int))
		c->pid = json_object_get_int(pid);
	else
		log_warn("docker: inspect %.12s: field State.Pid missing or not a number", c->id);
	json_object_put(o);
	if (c->pid > 0 && cgroup_of_pid(c->pid, cg, sizeof(cg)) == 0) {
		snprintf(full, sizeof(full), "%s%s", cg_mount, cg);
		c->cgroup_id = cgroup_id_of(full);
	}
	return 0;
}

int docker_list(struct docker *d, const char *cg_mount, struct container_info **out, int *n)
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
		json_object *c = json_object_array_get_idx(arr, i), *names, *first;
		const char *id = str_field(c, "Id", "/containers/json");
		const char *image = str_field(c, "Image", "/containers/json");
		const char *name = NULL;

		if (json_object_object_get_ex(c, "Names", &names) &&
		    json_object_is_type(names, json_type_array) &&
		    (first = json_object_array_get_idx(names, 0)) &&
		    json_object_is_type(first, json_type_string))
			name = json_object_get_string(first);
		if (!id || !image)
			continue;
		snprintf(cs[k].id, sizeof(cs[k].id), "%s", id);
		snprintf(cs[k].name, sizeof(cs[k].name), "%s",
			 name ? (name[0] == '/' ? name + 1 : name) : "");
		snprintf(cs[k].image, sizeof(cs[k].image), "%s", image);
		inspect_one(d, cg_mount, &cs[k]);
		k++;
	}
	json_object_put(arr);
	*out = cs;
	*n = k;
	return 0;
}
