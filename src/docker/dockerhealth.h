/* dockerhealth.h - containers' healthcheck state from Docker (State.Health of an inspect:
 * Status, FailingStreak and the last Log entry), read by a thread of its own: for each
 * tracked container every poll interval, and at once when asked (a health event came). The
 * answers reach the event loop through a pipe. */
#ifndef MOAT_DOCKERHEALTH_H
#define MOAT_DOCKERHEALTH_H

#include <stdint.h>
#include <json-c/json.h>

#define DOCKERHEALTH_MAX 1024 /* containers tracked at once */

/* One reading of a container's health. Strings are "" when Docker did not say. */
struct docker_health {
	char id[65];
	char status[16];    /* State.Health.Status: "starting", "healthy", "unhealthy"; "" none */
	int failing_streak; /* State.Health.FailingStreak: failed checks in a row */
	int exit_code;	    /* the last Log entry's ExitCode; -1 when there is none */
	char output[256];   /* its Output (the check's stdout/stderr, container-controlled: raw,
			       cut, NUL bytes as spaces; escape before showing) */
	int64_t end_ns;	    /* its End time, Unix ns; 0 when unknown */
	int running;	    /* State.Running */
	int gone;	    /* the container no longer exists (HTTP 404) */
};

/* Fill out from an inspect answer (GET /containers/{id}/json). Fields missing or of the wrong
 * type are left empty (FailingStreak 0, exit_code -1). Returns 0, or -EPROTO when o is not
 * an object with a string Id. No I/O. */
int docker_parse_health(json_object *o, struct docker_health *out);

struct dockerhealth;

/* Start the thread on host (as docker_open). poll_s: seconds between two readings of a
 * tracked container (0: only when asked). Returns NULL with errno set. */
struct dockerhealth *dockerhealth_start(const char *host, uint32_t poll_s);
void dockerhealth_stop(struct dockerhealth *h); /* NULL is a no-op */
void dockerhealth_set_poll(struct dockerhealth *h, uint32_t poll_s);

/* The pipe's read end (non-blocking) for epoll. */
int dockerhealth_fd(const struct dockerhealth *h);

/* Track container id (a full id) / stop tracking it. A full table is logged. */
void dockerhealth_track(struct dockerhealth *h, const char *id);
void dockerhealth_untrack(struct dockerhealth *h, const char *id);

/* Read id's health soon (tracking it if it was not). */
void dockerhealth_check(struct dockerhealth *h, const char *id);

/* Take one reading without blocking: 0 with *out filled, -EAGAIN when none waits. */
int dockerhealth_next(struct dockerhealth *h, struct docker_health *out);

#endif /* MOAT_DOCKERHEALTH_H */
