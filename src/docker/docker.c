/* docker.c - the Docker Engine API transport: one libcurl handle over the unix socket, the
 * API version, GET with a JSON answer, the responses (pause, unpause, stop, disconnect) and
 * the streaming GET of /events. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "cgroup.h"
#include "docker_int.h"
#include "log.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_NOTHING);
}

/* libcurl's write callback: append to the struct buf ud, NUL-terminated. Returns the bytes
 * taken, or 0 (libcurl then fails the transfer) past DOCKER_MAX_ANSWER or without memory. */
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

/* An HTTP error status as -errno (docker.h: the responses). */
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

/* --- the allow-list ------------------------------------------------------ */

/* Every Engine API call moat makes, and no other: it reads containers (version, list,
 * inspect, image labels, events, logs) and responds (pause, unpause, stop, disconnect).
 * It never creates, execs, kills, removes, commits or copies. A route is METHOD plus an
 * exact path, or a prefix, one path segment (an escaped id or name: no '/') and a suffix.
 * The query string is not judged. tests/unit/docker/test_docker_allow.c checks it against
 * a fake Engine. */
static const struct docker_route {
	const char *method, *prefix, *suffix; /* suffix NULL: prefix is the whole path */
} docker_routes[] = {
    {"GET", "/version", NULL},		{"GET", "/containers/json", NULL},
    {"GET", "/events", NULL},		{"GET", "/containers/", "/json"},
    {"GET", "/containers/", "/logs"},	{"GET", "/images/", "/json"},
    {"POST", "/containers/", "/pause"}, {"POST", "/containers/", "/unpause"},
    {"POST", "/containers/", "/stop"},	{"POST", "/networks/", "/disconnect"},
};

int docker_allowed(const char *method, const char *path)
{
	size_t len = strcspn(path, "?");

	for (size_t i = 0; i < sizeof(docker_routes) / sizeof(docker_routes[0]); i++) {
		const struct docker_route *r = &docker_routes[i];
		size_t pl = strlen(r->prefix), seg;

		if (strcmp(method, r->method) || len < pl || strncmp(path, r->prefix, pl))
			continue;
		if (!r->suffix) {
			if (len == pl)
				return 1;
			continue;
		}
		seg = strcspn(path + pl, "/?");
		if (seg && len - pl - seg == strlen(r->suffix) &&
		    !strncmp(path + pl + seg, r->suffix, len - pl - seg))
			return 1;
	}
	return 0;
}

int docker_prepare(struct docker *d, CURL *h, const char *method, const char *path)
{
	char url[1024];

	if (!docker_allowed(method, path)) {
		snprintf(d->err, sizeof(d->err),
			 "refused: moat does not call %s %.200s (allow-list in docker.c)", method,
			 path);
		log_error("docker: %s", d->err);
		return -EPERM;
	}
	if ((size_t)snprintf(url, sizeof(url), "http://docker%s%s", d->version, path) >=
	    sizeof(url)) {
		snprintf(d->err, sizeof(d->err), "%s %.200s...: path too long", method, path);
		return -ENAMETOOLONG;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "GET"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	return 0;
}

/* Perform method on path (the API version is prefixed) with an optional
 * JSON body. The answer goes to *b (caller frees b->data) and its status
 * to *status. Returns 0 when the daemon answered at all, else -EIO with
 * d->err set. */
static int request(struct docker *d, const char *method, const char *path, const char *body,
		   long timeout_ms, struct buf *b, long *status)
{
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int err;

	*status = 0;
	err = docker_prepare(d, d->curl, method, path);
	if (err)
		return err;
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
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

/* --- responses --------------------------------------------------------- */

/* POST path with body; what/id name the action in messages. 2xx is
 * success, and so is 304 when ok304. An error whose message holds noop (Docker's "is not
 * paused": already in the wanted state, whatever the status) is -EALREADY, logged only
 * with -v. Returns 0 or -errno. */
static int post(struct docker *d, const char *what, const char *id, const char *path,
		const char *body, long timeout_ms, int ok304, const char *noop)
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
		if (noop && strstr(d->err, noop)) {
			log_debug("docker: %s %s: nothing to do (%s)", what, id, d->err);
			err = -EALREADY;
		} else {
			log_warn("docker: %s %s failed: %s", what, id, d->err);
		}
	}
	free(b.data);
	return err;
}

/* POST /containers/<id>/<verb><query>. */
static int container_post(struct docker *d, const char *id, const char *verb, const char *query,
			  long timeout_ms, int ok304, const char *noop)
{
	char path[512];
	char *esc = curl_easy_escape(d->curl, id, 0);
	int err;

	if (!esc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/%s/%s%s", esc, verb, query);
	curl_free(esc);
	err = post(d, verb, id, path, NULL, timeout_ms, ok304, noop);
	return err;
}

int docker_pause(struct docker *d, const char *id)
{
	return container_post(d, id, "pause", "", d->timeout_ms, 0, "already paused");
}

int docker_unpause(struct docker *d, const char *id)
{
	/* Docker 20.10 answers HTTP 500 "Container ... is not paused", later ones 409. */
	return container_post(d, id, "unpause", "", d->timeout_ms, 0, "is not paused");
}

int docker_stop(struct docker *d, const char *id, int timeout_s)
{
	char q[32];

	if (timeout_s < 0)
		timeout_s = 0;
	snprintf(q, sizeof(q), "?t=%d", timeout_s);
	/* Docker waits timeout_s, then kills: allow for both. */
	return container_post(d, id, "stop", q, timeout_s * 1000L + d->timeout_ms, 1, NULL);
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
		   json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), d->timeout_ms, 0,
		   NULL);
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

/* libcurl's header callback: at the blank line that ends the headers, a 2xx status opens
 * the stream (ops->on_open). Returns len, or 0 to end the transfer when on_open asks. */
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

/* libcurl's write callback for a stream: splits the body into lines for ops->on_line (a line
 * over DOCKER_MAX_ANSWER is dropped with a warning); before the stream opened, keeps the
 * error answer for the message. Returns len, or 0 to end the transfer when a callback asks. */
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

/* libcurl's progress callback, about once a second: 1 ends the transfer when ops->should_stop
 * asks. */
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
	CURLcode rc;
	int err = docker_prepare(d, d->curl, "GET", path);

	if (err)
		return err;
	curl_easy_setopt(d->curl, CURLOPT_HEADERFUNCTION, stream_header);
	curl_easy_setopt(d->curl, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, stream_data);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFOFUNCTION, stream_progress);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFODATA, &s);
	curl_easy_setopt(d->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT_MS, DOCKER_TIMEOUT_MS);
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
