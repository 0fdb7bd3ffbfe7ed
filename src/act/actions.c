/* actions.c - worker threads that run Docker actions with retries. Up to max_concurrent
 * actions run at once; actions on one container run one at a time, in the order asked
 * (a pause is never overtaken by the unpause that follows it). */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "clock.h"
#include "docker.h"
#include "log.h"
#include "pimutex.h"

#define ACTIONS_QUEUE 256

struct actions {
	pthread_t threads[ACTIONS_MAX_CONCURRENT];
	int n_threads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct action_req queue[ACTIONS_QUEUE]; /* in arrival order */
	int count, stopping;
	char busy[ACTIONS_MAX_CONCURRENT][65]; /* containers with an action running */
	int pipe_rd, pipe_wr;		       /* results, as whole struct action_result records */
	char host[4096];
	struct actions_opts opts;
};

const char *action_kind_name(int kind)
{
	switch (kind) {
	case ACTION_PAUSE: return "pause";
	case ACTION_UNPAUSE: return "unpause";
	case ACTION_STOP: return "stop";
	case ACTION_DISCONNECT: return "network_disconnect";
	default: return "unknown";
	}
}

static int run_once(struct docker *d, const struct action_req *r)
{
	switch (r->kind) {
	case ACTION_PAUSE: return docker_pause(d, r->container);
	case ACTION_UNPAUSE: return docker_unpause(d, r->container);
	case ACTION_STOP: return docker_stop(d, r->container, 10);
	case ACTION_DISCONNECT: return docker_network_disconnect(d, r->container, r->network, 1);
	default: return -EINVAL;
	}
}

/* Run one request with retries; the sleeps happen on this thread only. */
static void run(struct actions *a, struct docker **d, const struct action_req *r,
		struct action_result *res)
{
	memset(res, 0, sizeof(*res));
	res->req = *r;
	for (int i = 0; i < a->opts.attempts; i++) {
		int err;

		if (i > 0) {
			uint64_t ms = (uint64_t)a->opts.backoff_ms << (i - 1);
			struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
		res->attempts = i + 1;
		if (!*d && (*d = docker_open(a->host[0] ? a->host : NULL)))
			docker_set_timeout(*d, a->opts.timeout_ms);
		if (!*d) {
			snprintf(res->error, sizeof(res->error), "Docker is not reachable");
			continue;
		}
		err = run_once(*d, r);
		if (!err) {
			res->ok = 1;
			res->error[0] = 0;
			break;
		}
		snprintf(res->error, sizeof(res->error), "%s",
			 docker_last_error(*d)[0] ? docker_last_error(*d) : strerror(-err));
		/* Already in the wanted state: done, quietly (docker.h: -EALREADY). */
		if (err == -EALREADY) {
			res->ok = 1;
			res->noop = 1;
			res->error[0] = 0;
			break;
		}
		/* Not retryable: the container is gone or in no state for it. */
		if (err == -ENOENT || err == -EBUSY)
			break;
		if (err == -EIO) { /* the daemon went away: reconnect next time */
			docker_close(*d);
			*d = NULL;
		}
	}
	res->done_ns = clock_boot_ns(); /* the clock of kernel event timestamps */
}

static int is_busy(const struct actions *a, const char *container)
{
	for (int i = 0; i < a->n_threads; i++)
		if (a->busy[i][0] && !strcmp(a->busy[i], container))
			return 1;
	return 0;
}

/* The oldest queued request whose container has no action running, or -1. Caller locks. */
static int next_runnable(const struct actions *a)
{
	for (int i = 0; i < a->count; i++) {
		int earlier = 0;

		if (is_busy(a, a->queue[i].container))
			continue;
		/* An older request for the same container waits too: keep the order. */
		for (int j = 0; j < i && !earlier; j++)
			earlier = !strcmp(a->queue[j].container, a->queue[i].container);
		if (!earlier)
			return i;
	}
	return -1;
}

struct worker_arg {
	struct actions *a;
	int slot;
};

static void *worker(void *arg)
{
	struct worker_arg *w = arg;
	struct actions *a = w->a;
	int slot = w->slot, k = -1;
	struct docker *d = NULL;

	free(w);
	for (;;) {
		struct action_req r;
		struct action_result res;

		pthread_mutex_lock(&a->lock);
		while (!a->stopping && (k = next_runnable(a)) < 0)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->stopping) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		r = a->queue[k];
		memmove(&a->queue[k], &a->queue[k + 1], (size_t)(a->count - k - 1) * sizeof(r));
		a->count--;
		snprintf(a->busy[slot], sizeof(a->busy[slot]), "%s", r.container);
		pthread_mutex_unlock(&a->lock);
		run(a, &d, &r, &res);
		pthread_mutex_lock(&a->lock);
		a->busy[slot][0] = 0;
		/* The next action for this container may run now. */
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
		/* A result is smaller than PIPE_BUF, so one write is atomic and
		 * the reader never sees half a record. */
		if (write(a->pipe_wr, &res, sizeof(res)) != (ssize_t)sizeof(res))
			log_error("action %s %s: cannot report the result: %s",
				  action_kind_name(r.kind), r.name, strerror(errno));
	}
	docker_close(d);
	return NULL;
}

struct actions *actions_start(const char *docker_host, const struct actions_opts *opts)
{
	struct actions *a = calloc(1, sizeof(*a));
	int p[2];

	_Static_assert(sizeof(struct action_result) < 4096, "atomic pipe writes");
	if (!a)
		return NULL;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		free(a);
		return NULL;
	}
	/* The worker's writes may block when the loop is behind: that only
	 * delays the worker. */
	fcntl(p[1], F_SETFL, 0);
	a->pipe_rd = p[0];
	a->pipe_wr = p[1];
	snprintf(a->host, sizeof(a->host), "%s", docker_host ? docker_host : "");
	a->opts = *opts;
	if (a->opts.attempts < 1)
		a->opts.attempts = 1;
	if (a->opts.max_concurrent < 1)
		a->opts.max_concurrent = 1;
	if (a->opts.max_concurrent > ACTIONS_MAX_CONCURRENT)
		a->opts.max_concurrent = ACTIONS_MAX_CONCURRENT;
	pimutex_init(&a->lock);
	pthread_cond_init(&a->cond, NULL);
	for (int i = 0; i < a->opts.max_concurrent; i++) {
		struct worker_arg *w = malloc(sizeof(*w));

		if (w) {
			w->a = a;
			w->slot = i;
		}
		if (!w || pthread_create(&a->threads[i], NULL, worker, w)) {
			free(w);
			break;
		}
		a->n_threads++;
	}
	if (!a->n_threads) {
		close(p[0]);
		close(p[1]);
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
		free(a);
		errno = EAGAIN;
		return NULL;
	}
	return a;
}

int actions_submit(struct actions *a, const struct action_req *req)
{
	int err = 0;

	pthread_mutex_lock(&a->lock);
	if (a->count == ACTIONS_QUEUE) {
		err = -EAGAIN;
	} else {
		a->queue[a->count++] = *req;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return err;
}

int actions_fd(const struct actions *a)
{
	return a->pipe_rd;
}

int actions_next(struct actions *a, struct action_result *out)
{
	ssize_t n = read(a->pipe_rd, out, sizeof(*out));

	if (n == (ssize_t)sizeof(*out))
		return 0;
	if (n < 0 && errno != EAGAIN)
		log_error("reading action results: %s", strerror(errno));
	return -EAGAIN;
}

void actions_stop(struct actions *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	for (int i = 0; i < a->n_threads; i++)
		pthread_join(a->threads[i], NULL);
	close(a->pipe_rd);
	close(a->pipe_wr);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}
