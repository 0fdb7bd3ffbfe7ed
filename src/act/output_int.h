/* output_int.h - what the dispatcher (output.c) and the outputs (webhook.c, execout.c,
 * notify.c, journal.c) share; not an API (output.h is). */
#ifndef MOAT_OUTPUT_INT_H
#define MOAT_OUTPUT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"

#define OUTPUT_QUEUE_MAX 1024 /* alerts waiting in memory per output */
#define OUTPUT_BUCKETS	 512  /* containers whose per-container rate is tracked at once */

/* One container's token bucket for one output. */
struct output_bucket {
	char id[65]; /* container id; "" = free */
	double tokens;
	int64_t refill_ns;
};

/* One alert as an output thread sees it: its JSON line and the fields outputs format. */
struct output_item {
	char *json; /* the alert as one JSON object, no newline (owned) */
	size_t len;
	int severity;
	int64_t time_ns;
	char rule[32];
	char source[16];
	char message[512];
	char container[128]; /* name, or the short id */
	char container_id[65];
	char trace_id[33];
	struct output_item *next; /* on the output's done list */
};

struct output;

/* Per type: set up (priv, availability), the thread, and teardown. */
struct output_ops {
	/* 0, or -errno with o->state saying why it cannot work (the output is skipped). */
	int (*start)(struct output *o, const struct outputs_env *env);
	void *(*run)(void *o); /* the thread: until output_stopping and its queue is done */
	void (*free)(struct output *o);
	void (*status)(struct output *o, json_object *j); /* its own counters, may be NULL */
};

struct output {
	struct output_conf conf;
	const struct output_ops *ops;
	void *priv;
	struct alertlog *log; /* terminal and file: the sink */
	/* The rate limits: the loop's thread only. */
	double tokens;
	int64_t refill_ns;
	int64_t rate_logged_ns, container_logged_ns;
	struct output_bucket *buckets; /* per container, OUTPUT_BUCKETS, NULL when no limit */
	/* Counters: written by the thread, read for status. */
	_Atomic uint64_t sent, failed, rate_limited, container_limited, dropped, retries, rejected,
	    timeouts;
	_Atomic int64_t backlog; /* alerts waiting beyond the memory queue (the spool) */
	_Atomic int busy;	 /* items taken from the queue and not finished */
	/* The queue. */
	pthread_mutex_t lock; /* the state strings (never taken by outputs_emit) */
	int wake_fd;	      /* an eventfd written on every push and at stop */
	struct output_item *q[OUTPUT_QUEUE_MAX]; /* a ring: [q_head, q_tail) mod the size */
	_Atomic unsigned q_head;		 /* the output's thread moves it */
	_Atomic unsigned q_tail;		 /* the loop's thread moves it */
	struct output_item *_Atomic done;	 /* finished items for the loop to free */
	_Atomic int stopping;
	int64_t stop_deadline_ns; /* CLOCK_MONOTONIC: after it, give up on the queue */
	pthread_t thread;
	int running;	  /* the thread was started */
	int available;	  /* start succeeded */
	char state[256];  /* "" ok; else why it does not deliver (under lock) */
	char logged[256]; /* the problem last logged, and when (output_set_state) */
	int64_t logged_ns, recovered_ns;
};

/* Take the oldest queued item: 0 with *it set (the caller frees it with output_item_free),
 * -EAGAIN when empty. Never waits. */
int output_pop(struct output *o, struct output_item **it);

/* Wait until the queue has an item, the output stops, or deadline_ns (CLOCK_MONOTONIC,
 * 0 = no deadline) passes. */
void output_wait(struct output *o, int64_t deadline_ns);

/* Whether the output is stopping (outputs_close). */
int output_stopping(struct output *o);

/* Set the state line ("" = fine), logging a change to a non-empty state once. */
void output_set_state(struct output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void output_item_free(struct output_item *it);

/* Hand a finished item back: it is freed on the loop's thread at its next emit, so that
 * all of the items' malloc and free happen in the loop's own malloc arena (a free from
 * another thread would take that arena's lock, which is not priority-inheriting, and
 * could make the SCHED_FIFO loop wait for an ordinary thread). */
void output_done(struct output *o, struct output_item *it);

/* Block the signals an output thread must not take (SIGPIPE of a closed pipe or socket). */
void output_thread_signals(void);

extern const struct output_ops webhook_ops, execout_ops, notify_ops, journal_ops;

/* execout.c runs children for exec and notify: the job of one item. */
struct exec_job {
	char *argv[OUTPUT_MAX_ARGS + 8]; /* NULL-terminated; pointers into the job's storage */
	char *envp[512];		 /* NULL-terminated */
	const char *input;		 /* written to stdin (NULL: /dev/null) */
	size_t input_len;
	char store[16384]; /* strings the pointers point into */
	size_t used;
};

/* Add a copy of s to j's storage and return it (NULL when full). */
char *exec_job_str(struct exec_job *j, const char *s);

/* Build the job of item it for output o. 0, or -errno to skip it (counted failed). */
typedef int (*exec_prepare_fn)(struct output *o, const struct output_item *it, struct exec_job *j);

/* The thread of an output that runs a child per item: up to conf.max_concurrent at once,
 * each killed with its process group after conf.timeout_ms. */
void execout_loop(struct output *o, exec_prepare_fn prepare);

/* Variables of moat's environment that carry secrets and never reach a child: a webhook's
 * token and URL (which may hold credentials). */
#define EXEC_SECRET_VARS "MOAT_WEBHOOK_TOKEN", "MOAT_WEBHOOK_URL", "MOAT_OUTPUTS", "MOAT_EXPORT_URL"

/* The environment of a child: moat's, less the given names (NULL-terminated), plus extra
 * "NAME=value" strings (NULL-terminated). 0 or -ENOSPC. */
int exec_job_env(struct exec_job *j, const char *const *drop, const char *const *extra);

#endif /* MOAT_OUTPUT_INT_H */
