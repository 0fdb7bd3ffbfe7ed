/* actions.h - the isolation executor: Docker actions (pause, unpause, stop,
 * network disconnect) run by worker threads with retry and exponential
 * backoff, so the event loop never waits on Docker. Results come back
 * through a pipe the event loop polls. */
#ifndef MOAT_ACTIONS_H
#define MOAT_ACTIONS_H

#include <stdint.h>

enum action_kind { ACTION_PAUSE = 1, ACTION_UNPAUSE, ACTION_STOP, ACTION_DISCONNECT };

struct action_req {
	int kind;	      /* enum action_kind */
	char container[65];   /* full id */
	char name[128];	      /* for messages */
	char network[64];     /* ACTION_DISCONNECT only */
	char trace_id[33];    /* the alert that caused it ("" for a user request) */
	int64_t requested_ns; /* CLOCK_BOOTTIME when asked */
	int64_t event_ns;     /* CLOCK_BOOTTIME of the kernel event behind it, 0 if none */
};

struct action_result {
	struct action_req req;
	int ok;	  /* 1 done, 0 failed after every attempt */
	int noop; /* ok, and there was nothing to do: pause of a paused container, unpause of one
		     that is not paused */
	int attempts;
	char error[256]; /* the last failure, "" when ok */
	int64_t done_ns; /* CLOCK_BOOTTIME when finished */
};

struct actions;

#define ACTIONS_MAX_CONCURRENT 16

/* The executor's knobs (config "actions": docs/configuration.md). */
struct actions_opts {
	int attempts;	     /* tries per action, >= 1 */
	uint32_t backoff_ms; /* the n-th retry waits backoff_ms * 2^(n-1) */
	uint32_t timeout_ms; /* each Docker call (stop: plus its own wait) */
	int max_concurrent;  /* worker threads, 1..ACTIONS_MAX_CONCURRENT */
};

/* Start the workers. docker_host as for docker_open (NULL: $DOCKER_HOST or
 * the default socket). Up to max_concurrent actions run at once; actions on
 * one container run one at a time in the order submitted. Returns NULL with
 * errno set. */
struct actions *actions_start(const char *docker_host, const struct actions_opts *opts);

/* Queue a request (copied). Returns 0, or -EAGAIN when the queue is full
 * (256 pending). */
int actions_submit(struct actions *a, const struct action_req *req);

/* The fd to poll for results (readable when one is ready). */
int actions_fd(const struct actions *a);

/* Take one finished result: 0 with *out filled, -EAGAIN when none. */
int actions_next(struct actions *a, struct action_result *out);

/* Stop the worker (pending requests are dropped) and free everything. */
void actions_stop(struct actions *a);

const char *action_kind_name(int kind);

#endif /* MOAT_ACTIONS_H */
