/* docker_int.h - what the files of the Docker client share (docker.c: the transport and
 * requests; docker_inspect.c: inspect answers). Not for other modules: they use docker.h. */
#ifndef MOAT_DOCKER_INT_H
#define MOAT_DOCKER_INT_H

#include <limits.h>
#include <stddef.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "docker.h"

#define DOCKER_DEFAULT_SOCK "/var/run/docker.sock"
#define DOCKER_MAX_ANSWER   (16u << 20)
#define DOCKER_TIMEOUT_MS   5000L

#define DOCKER_IMAGE_CACHE 32

/* The client (docker.h): one libcurl handle, used by one thread at a time. */
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

/* An answer being received (on_data): data is NUL-terminated, owned by the caller. */
struct buf {
	char *data;
	size_t len;
};

/* Set up easy handle h (reset first) for METHOD path on d's socket with d's API version:
 * the one place a request is made, so the allow-list (docker_allowed) holds for every
 * request of the module, streams included. Returns 0, or -EPERM (refused: logged, d->err
 * says why) or -ENAMETOOLONG. */
int docker_prepare(struct docker *d, CURL *h, const char *method, const char *path);

#endif /* MOAT_DOCKER_INT_H */
