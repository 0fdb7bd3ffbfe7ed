/* docker.h - a small Docker Engine API client over the unix socket
 * (libcurl + json-c); the container metadata it fills is in container.h.
 *
 * moat only reads container state and, as a response, pauses, unpauses,
 * stops or disconnects a container. It never creates containers nor execs
 * into them. One struct docker is used by one thread at a time. */
#ifndef MOAT_DOCKER_H
#define MOAT_DOCKER_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "container.h"

/* Connect to the Engine API at host ("unix:///path"), or $DOCKER_HOST,
 * or unix:///var/run/docker.sock, and negotiate the API version. The
 * cgroup v2 mount (for cgroup ids) is found automatically; see
 * docker_set_cgroup_mount(). Returns NULL with errno set when the daemon
 * does not answer (EIO) or host is not a unix socket (EINVAL). */
struct docker *docker_open(const char *host);
void docker_close(struct docker *d);

/* Use mount as the cgroup v2 mount when computing cgroup ids. */
void docker_set_cgroup_mount(struct docker *d, const char *mount);

/* The API version prefix in use ("/v1.41"), "" when not negotiated. */
const char *docker_api_version(const struct docker *d);

/* Docker's explanation of the last failed request: "HTTP 409: Container
 * ... is paused" or the transport error. Valid until the next request. */
const char *docker_last_error(const struct docker *d);

/* Is METHOD path (with or without its query) one of the Engine API calls moat makes
 * (docker.c's allow-list: version, list, inspect, image inspect, events, logs, pause,
 * unpause, stop, network disconnect)? 1 or 0. Every request of this client is checked:
 * another one fails with -EPERM before anything is sent. */
int docker_allowed(const char *method, const char *path);

/* GET path (e.g. "/containers/json") and parse the JSON answer. Returns 0
 * and a new reference in *out, or -errno: -EIO when the daemon does not
 * answer, -ENOENT for HTTP 404, -EPROTO for another non-2xx status or an
 * answer that is not JSON, -EPERM for a path docker_allowed() refuses.
 * Failures other than 404 are logged. */
int docker_get(struct docker *d, const char *path, json_object **out);

/* Fill out from GET /containers/<id>/json plus the host's view (cgroup
 * path and id, from /proc/<pid>/cgroup of its init process). id may be a
 * full id, a unique prefix or a name. out is overwritten (not cleared).
 * Returns 0, -ENOENT when there is no such container, -EIO / -EPROTO as
 * docker_get(). Missing or wrong-typed fields are warned about by name and
 * left empty; the rest is kept. */
int docker_inspect(struct docker *d, const char *id, struct container_info *out);

/* Parse an inspect answer (GET /containers/<id>/json) into out (which is
 * overwritten): no I/O, so pid and cgroup fields are only what the JSON
 * says (cgroup_id 0). Every missing or wrong-typed field gets a warning
 * naming it and is left empty. Returns 0, or -EPROTO when o is not an
 * object or has no usable Id (out is then cleared). */
int docker_parse_inspect(json_object *o, struct container_info *out);

/* List running (and paused) containers, each inspected. *out is malloc'ed,
 * *n entries; free with docker_list_free(). Containers that vanish between
 * the list and the inspect are left out. Returns 0 or -errno. */
int docker_list(struct docker *d, struct container_info **out, int *n);
void docker_list_free(struct container_info *cs, int n);

/* Responses. Each returns 0 or -errno and logs Docker's reason ("HTTP 409:
 * Container ... is not running"): -ENOENT no such container/network (404),
 * -EBUSY conflict such as already paused or not running (409), -EPERM
 * (403), -EINVAL (400), -EIO daemon unreachable, -EPROTO anything else.
 * docker_stop waits up to timeout_s seconds before Docker kills it; an
 * already stopped container is success (HTTP 304). docker_pause of a paused container and
 * docker_unpause of one that is not paused return -EALREADY (nothing done, nothing
 * logged but with -v), whatever status Docker gave. */
int docker_pause(struct docker *d, const char *id);
/* Timeout of each request in ms (default 5000; docker_stop adds its own wait). */
void docker_set_timeout(struct docker *d, long ms);
int docker_unpause(struct docker *d, const char *id);
int docker_stop(struct docker *d, const char *id, int timeout_s);
int docker_network_disconnect(struct docker *d, const char *container, const char *network,
			      int force);

/* A streaming GET, for /events. ops->on_open runs once the daemon has
 * answered 2xx (headers in), ops->on_line for each newline-terminated
 * line of the body (without the newline), ops->should_stop about once a
 * second and whenever data arrives. A nonzero return from any callback
 * ends the stream. Blocks until then. Returns 0 when the daemon closed
 * the stream, -ECANCELED when a callback ended it, -EIO on a transport
 * error (daemon gone), -ENOENT / -EPROTO on an HTTP error status. */
struct docker_stream_ops {
	int (*on_open)(void *ud);
	int (*on_line)(const char *line, size_t len, void *ud);
	int (*should_stop)(void *ud);
};
int docker_stream(struct docker *d, const char *path, const struct docker_stream_ops *ops,
		  void *ud);

/* Parse Docker's RFC 3339 time ("2024-05-01T10:11:12.123456789Z", or with
 * a +hh:mm offset) to ns since the epoch. Returns 0 for Docker's zero time
 * "0001-01-01T00:00:00Z", -1 when s is not such a time or is outside 1970 to
 * 2262 (what int64 ns hold). */
int64_t docker_parse_time(const char *s);

#endif /* MOAT_DOCKER_H */
