/* dockerhealth.c - containers' healthcheck state read by a thread of its own and handed to
 * the event loop through a pipe (dockerhealth.h). */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "docker.h"
#include "dockerhealth.h"
#include "log.h"
#include "pimutex.h"

_Static_assert(sizeof(struct docker_health) <= PIPE_BUF, "readings are written atomically");

static json_object *member(json_object *o, const char *key, json_type t)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, t))
		return v;
	return NULL;
}

int docker_parse_health(json_object *o, struct docker_health *out)
{
	json_object *id = member(o, "Id", json_type_string), *st, *h, *v, *log;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (!id || json_object_get_string_len(id) >= (int)sizeof(out->id))
		return -EPROTO;
	snprintf(out->id, sizeof(out->id), "%s", json_object_get_string(id));
	st = member(o, "State", json_type_object);
	if ((v = member(st, "Running", json_type_boolean)))
		out->running = json_object_get_boolean(v);
	h = member(st, "Health", json_type_object);
	if (!h)
		return 0;
	if ((v = member(h, "Status", json_type_string)))
		snprintf(out->status, sizeof(out->status), "%s", json_object_get_string(v));
	if ((v = member(h, "FailingStreak", json_type_int)) && json_object_get_int64(v) >= 0 &&
	    json_object_get_int64(v) < INT_MAX)
		out->failing_streak = (int)json_object_get_int64(v);
	log = member(h, "Log", json_type_array);
	n = log ? json_object_array_length(log) : 0;
	if (n) {
		json_object *e = json_object_array_get_idx(log, n - 1);

		if ((v = member(e, "ExitCode", json_type_int)) &&
		    json_object_get_int64(v) >= INT_MIN && json_object_get_int64(v) <= INT_MAX)
			out->exit_code = (int)json_object_get_int64(v);
		if ((v = member(e, "Output", json_type_string))) {
			size_t len = (size_t)json_object_get_string_len(v);

			if (len >= sizeof(out->output))
				len = sizeof(out->output) - 1;
			memcpy(out->output, json_object_get_string(v), len);
			for (size_t i = 0; i < len; i++)
				if (!out->output[i])
					out->output[i] = ' ';
			while (len &&
			       (out->output[len - 1] == '\n' || out->output[len - 1] == '\r'))
				len--;
			out->output[len] = 0;
		}
		if ((v = member(e, "End", json_type_string))) {
			int64_t t = docker_parse_time(json_object_get_string(v));

			out->end_ns = t > 0 ? t : 0;
		}
	}
	return 0;
}

struct tracked {
	char id[65];
	int64_t due; /* mono ns of the next reading; 0: at once */
};

struct dockerhealth {
	char host[4200];
	int rfd, wfd;
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wake;
	int stop;
	int64_t poll_ns;
	struct tracked t[DOCKERHEALTH_MAX];
	int n;
};

static int find(const struct dockerhealth *h, const char *id)
{
	for (int i = 0; i < h->n; i++)
		if (!strcmp(h->t[i].id, id))
			return i;
	return -1;
}

/* The tracked container due first (index), or -1; *wait_ns until it is due. Caller locks. */
static int next_due(const struct dockerhealth *h, int64_t now, int64_t *wait_ns)
{
	int best = -1;

	for (int i = 0; i < h->n; i++)
		if (best < 0 || h->t[i].due < h->t[best].due)
			best = i;
	*wait_ns = best < 0 ? 1000000000LL : h->t[best].due - now;
	return best;
}

static void *run(void *arg)
{
	struct dockerhealth *h = arg;
	struct docker *d = NULL;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		int64_t now = clock_mono_ns(), wait_ns;
		int i = next_due(h, now, &wait_ns);
		char id[65], path[128];
		struct docker_health r;
		json_object *o = NULL;
		int err;

		if (i < 0 || wait_ns > 0) {
			struct timespec ts;

			if (wait_ns > 1000000000LL || i < 0)
				wait_ns = 1000000000LL;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)(wait_ns / 1000000000LL);
			ts.tv_nsec += (long)(wait_ns % 1000000000LL);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&h->wake, &h->lock, &ts);
			continue;
		}
		snprintf(id, sizeof(id), "%s", h->t[i].id);
		/* Polling off: a container is read only when asked again. */
		h->t[i].due = h->poll_ns ? now + h->poll_ns : INT64_MAX;
		pthread_mutex_unlock(&h->lock);
		if (!d)
			d = docker_open(h->host[0] ? h->host : NULL);
		snprintf(path, sizeof(path), "/containers/%s/json", id);
		err = d ? docker_get(d, path, &o) : -EIO;
		if (err == -ENOENT) {
			memset(&r, 0, sizeof(r));
			snprintf(r.id, sizeof(r.id), "%s", id);
			r.gone = 1;
			r.exit_code = -1;
		} else if (err || docker_parse_health(o, &r)) {
			if (err == -EIO && d) {
				docker_close(d);
				d = NULL;
			}
			json_object_put(o);
			pthread_mutex_lock(&h->lock);
			continue;
		}
		json_object_put(o);
		if (write(h->wfd, &r, sizeof(r)) != (ssize_t)sizeof(r))
			log_warn("health checker: the event loop is behind; a reading of %.12s was "
				 "dropped",
				 id);
		pthread_mutex_lock(&h->lock);
		if (r.gone && (i = find(h, id)) >= 0)
			h->t[i] = h->t[--h->n];
	}
	pthread_mutex_unlock(&h->lock);
	docker_close(d);
	return NULL;
}

struct dockerhealth *dockerhealth_start(const char *host, uint32_t poll_s)
{
	struct dockerhealth *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;
	sigset_t all, old;
	int p[2], err;

	if (!h)
		return NULL;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		err = errno;
		free(h);
		errno = err;
		return NULL;
	}
	h->rfd = p[0];
	h->wfd = p[1];
	if (host)
		snprintf(h->host, sizeof(h->host), "%s", host);
	h->poll_ns = (int64_t)poll_s * 1000000000LL;
	pimutex_init(&h->lock);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&h->thread, NULL, run, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(p[0]);
		close(p[1]);
		pthread_cond_destroy(&h->wake);
		pthread_mutex_destroy(&h->lock);
		free(h);
		errno = err;
		return NULL;
	}
	return h;
}

void dockerhealth_stop(struct dockerhealth *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	close(h->rfd);
	close(h->wfd);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void dockerhealth_set_poll(struct dockerhealth *h, uint32_t poll_s)
{
	pthread_mutex_lock(&h->lock);
	h->poll_ns = (int64_t)poll_s * 1000000000LL;
	pthread_mutex_unlock(&h->lock);
}

int dockerhealth_fd(const struct dockerhealth *h)
{
	return h->rfd;
}

/* Add id, due at once; when it is tracked already, read it at once too if now is set. */
static void put(struct dockerhealth *h, const char *id, int now)
{
	size_t n = strspn(id, "0123456789abcdef");
	int i;

	if (n != 64 || id[n])
		return;
	pthread_mutex_lock(&h->lock);
	i = find(h, id);
	if (i >= 0) {
		if (now)
			h->t[i].due = 0;
	} else if (h->n == DOCKERHEALTH_MAX) {
		log_warn("health checker: %d containers tracked; %.12s is not", DOCKERHEALTH_MAX,
			 id);
	} else {
		snprintf(h->t[h->n].id, sizeof(h->t[0].id), "%s", id);
		h->t[h->n++].due = 0;
	}
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
}

void dockerhealth_track(struct dockerhealth *h, const char *id)
{
	put(h, id, 0);
}

void dockerhealth_check(struct dockerhealth *h, const char *id)
{
	put(h, id, 1);
}

void dockerhealth_untrack(struct dockerhealth *h, const char *id)
{
	int i;

	pthread_mutex_lock(&h->lock);
	if ((i = find(h, id)) >= 0)
		h->t[i] = h->t[--h->n];
	pthread_mutex_unlock(&h->lock);
}

int dockerhealth_next(struct dockerhealth *h, struct docker_health *out)
{
	ssize_t n = read(h->rfd, out, sizeof(*out));

	if (n == (ssize_t)sizeof(*out)) {
		out->id[sizeof(out->id) - 1] = 0;
		return 0;
	}
	return n < 0 && errno != EAGAIN ? -errno : -EAGAIN;
}
