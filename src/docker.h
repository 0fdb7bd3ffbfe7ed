/* docker.h - a small Docker Engine API client over the unix socket
 * (libcurl + json-c), and the container metadata moat joins events with. */
#ifndef MOAT_DOCKER_H
#define MOAT_DOCKER_H

#include <stdint.h>
#include <json-c/json.h>

struct docker;

/* What moat knows of one container. */
struct container_info {
	char id[65];	    /* full container id */
	char name[128];	    /* name without the leading '/' */
	char image[256];    /* image reference as given to docker run */
	int pid;	    /* init process on the host, 0 when not running */
	uint64_t cgroup_id; /* cgroup v2 id, 0 when unknown */
};

/* Connect to the Engine API at host ("unix:///path"), or $DOCKER_HOST,
 * or unix:///var/run/docker.sock, and negotiate the API version. Returns
 * NULL with errno set when the daemon does not answer. */
struct docker *docker_open(const char *host);
void docker_close(struct docker *d);

/* GET path (e.g. "/containers/json") and parse the JSON answer. Returns 0
 * and a new reference in *out, or -errno: -EIO when the daemon does not
 * answer, -EPROTO for a non-2xx status or an answer that is not JSON (the
 * reason is logged). */
int docker_get(struct docker *d, const char *path, json_object **out);

/* List running containers with their init pid and cgroup id (cgroup2
 * mounted at cg_mount). *out is malloc'ed, *n entries; the caller frees.
 * Returns 0 or -errno. Containers whose fields are missing or of the wrong
 * type are skipped with a warning naming the field. */
int docker_list(struct docker *d, const char *cg_mount, struct container_info **out, int *n);

#endif /* MOAT_DOCKER_H */
