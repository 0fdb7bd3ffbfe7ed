/* dockerwatch.h - Docker's /events stream, read by a thread of its own and
 * handed to the main loop through a pipe, with reconnects. */
#ifndef MOAT_DOCKERWATCH_H
#define MOAT_DOCKERWATCH_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct dockerwatch;

/* One container lifecycle event (or a synthetic one from moat itself).
 * Strings are "" when Docker did not say. */
struct docker_event {
	/* "container", "network" (connect/disconnect of a container), or
	 * "moat" for the synthetic events below. */
	char type[16];
	/* Docker's Action: "create", "start", "restart", "die", "oom", "kill",
	 * "stop", "pause", "unpause", "destroy", "rename", "update",
	 * "health_status: healthy" (or ": unhealthy", ": starting"),
	 * "exec_start: <cmd>", "exec_die", ...; network events "connect",
	 * "disconnect". Synthetic (type "moat"): "connected" (the stream is up
	 * for the first time), "disconnected" (dockerd went away; events may be
	 * missed until...), "reconnected" (up again: re-list the containers). */
	char action[128];
	char id[65];	  /* container id (network events: the container's) */
	char name[128];	  /* container name (Actor.Attributes.name); "" for network events */
	char image[256];  /* image as given to docker run (Actor.Attributes.image) */
	char network[64]; /* network events: the network's name */
	int exit_code;	  /* die, exec_die: Attributes.exitCode; else -1 */
	int signal;	  /* kill: Attributes.signal; else 0 */
	int64_t time_ns;  /* when, ns since the epoch (timeNano; synthetic: now) */
};

/* Start the reader thread on host ("unix:///path", NULL: $DOCKER_HOST or
 * /var/run/docker.sock). It connects in the background and keeps
 * reconnecting (100 ms doubling to 10 s) while dockerd is away, so this
 * succeeds without Docker. Events are type=container and type=network.
 * Returns NULL with errno set when the pipe or thread cannot be made. */
struct dockerwatch *dockerwatch_start(const char *host);

/* Stop the thread (within about a second), join it, free everything,
 * including events not read yet. NULL is a no-op. */
void dockerwatch_stop(struct dockerwatch *w);

/* The read end of the pipe, non-blocking, for epoll (EPOLLIN). */
int dockerwatch_fd(const struct dockerwatch *w);

/* Take the next event without blocking. Returns 0 with *ev filled,
 * -EAGAIN when none is waiting, -errno on a read error. Call it until
 * -EAGAIN after each EPOLLIN. Main-loop thread only. */
int dockerwatch_next(struct dockerwatch *w, struct docker_event *ev);

/* Fill ev from one /events object. Fields missing or of the wrong type
 * are warned about by name and left empty. Returns 0, or -EPROTO when o
 * is not an object or has no Action (a non-empty string); ev is then
 * zeroed. */
int dockerwatch_parse_event(json_object *o, struct docker_event *ev);

/* Fill ev from one line of the /events stream: line is len bytes followed
 * by a NUL (as docker_stream hands it over); the JSON text ends at the
 * first NUL byte. A line that is not JSON is warned about (with its length)
 * and gives -EPROTO (ev zeroed); otherwise as dockerwatch_parse_event. */
int dockerwatch_parse_line(const char *line, size_t len, struct docker_event *ev);

#endif /* MOAT_DOCKERWATCH_H */
