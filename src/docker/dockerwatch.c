/* dockerwatch.c - read Docker's /events in a thread and pass each event to
 * the main loop through a pipe; reconnect with backoff when dockerd goes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "clock.h"
#include "docker.h"
#include "dockerwatch.h"
#include "log.h"
#include "pimutex.h"

#define DW_BACKOFF_MIN_MS 100
#define DW_BACKOFF_MAX_MS 10000
#define DW_PIPE_SIZE	  (1 << 20)
/* filters={"type":["container","network"]}, URL-encoded */
#define DW_FILTERS "filters=%7B%22type%22%3A%5B%22container%22%2C%22network%22%5D%7D"

_Static_assert(sizeof(struct docker_event) <= PIPE_BUF, "events must be written atomically");

struct dockerwatch {
	char host[4200]; /* "" = the default */
	int rfd, wfd;
	pthread_t thread;
	pthread_mutex_t lock; /* guards the sleep between reconnects */
	pthread_cond_t wake;
	atomic_int stop;
	/* Thread-only state. */
	int up;		 /* the stream is open now */
	int ever_up;	 /* it was open before: the next one is a reconnect */
	int64_t last_ns; /* time of the last event seen, for since= */
	int backoff_ms;
};

/* Write one event to the pipe, waiting while it is full (unless stopping).
 * Returns 0, or -ECANCELED when stopping. */
static int post(struct dockerwatch *w, const struct docker_event *ev)
{
	for (;;) {
		ssize_t n = write(w->wfd, ev, sizeof(*ev));
		struct pollfd p = {.fd = w->wfd, .events = POLLOUT};

		if (n == (ssize_t)sizeof(*ev))
			return 0;
		if (n >= 0 || (errno != EAGAIN && errno != EINTR)) {
			log_error("dockerwatch: writing to the event pipe failed: %s",
				  n < 0 ? strerror(errno) : "short write");
			return -EIO;
		}
		if (atomic_load(&w->stop))
			return -ECANCELED;
		poll(&p, 1, 200);
	}
}

static int post_synthetic(struct dockerwatch *w, const char *action)
{
	struct docker_event ev = {.exit_code = -1};

	snprintf(ev.type, sizeof(ev.type), "moat");
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	ev.time_ns = clock_unix_ns();
	return post(w, &ev);
}

/* Whether v is a string without NUL characters (one would cut the C string short). */
static int is_text(json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v);
}

static const char *attr(json_object *attrs, const char *key, const char *action)
{
	json_object *v;

	if (!attrs || !json_object_object_get_ex(attrs, key, &v))
		return NULL;
	if (!is_text(v)) {
		log_warn("docker: event %s: field Actor.Attributes.%s is not a string without NUL "
			 "characters; ignored",
			 action, key);
		return NULL;
	}
	return json_object_get_string(v);
}

/* A decimal number in a string attribute (Docker sends exitCode as "137"). */
static int attr_int(json_object *attrs, const char *key, const char *action, int dflt)
{
	const char *s = attr(attrs, key, action);
	char *end;
	long v;

	if (!s)
		return dflt;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < -2147483647L || v > 2147483647L) {
		log_warn("docker: event %s: Actor.Attributes.%s \"%s\" is not a number; ignored",
			 action, key, s);
		return dflt;
	}
	return (int)v;
}

int dockerwatch_parse_event(json_object *o, struct docker_event *ev)
{
	json_object *v, *actor = NULL, *attrs = NULL;
	const char *s, *action;

	memset(ev, 0, sizeof(*ev));
	if (!o || !json_object_is_type(o, json_type_object)) {
		log_warn("docker: event is not a JSON object; ignored");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(o, "Action", &v) || !is_text(v) ||
	    !json_object_get_string_len(v)) {
		log_warn("docker: event without a string field Action; ignored");
		return -EPROTO;
	}
	ev->exit_code = -1;
	action = json_object_get_string(v);
	snprintf(ev->action, sizeof(ev->action), "%s", action);
	if (json_object_object_get_ex(o, "Type", &v) && is_text(v))
		snprintf(ev->type, sizeof(ev->type), "%s", json_object_get_string(v));
	else
		log_warn("docker: event %s: field Type missing or not a string", action);
	if (!json_object_object_get_ex(o, "Actor", &actor) ||
	    !json_object_is_type(actor, json_type_object)) {
		log_warn("docker: event %s: field Actor missing or not an object", action);
		actor = NULL;
	}
	if (actor && json_object_object_get_ex(actor, "Attributes", &attrs) &&
	    !json_object_is_type(attrs, json_type_object)) {
		log_warn("docker: event %s: field Actor.Attributes is not an object", action);
		attrs = NULL;
	}
	if (strcmp(ev->type, "network") == 0) {
		/* Actor is the network; the container is an attribute. */
		if ((s = attr(attrs, "container", action)))
			snprintf(ev->id, sizeof(ev->id), "%s", s);
		if ((s = attr(attrs, "name", action)))
			snprintf(ev->network, sizeof(ev->network), "%s", s);
	} else {
		if (actor && json_object_object_get_ex(actor, "ID", &v) && is_text(v))
			snprintf(ev->id, sizeof(ev->id), "%s", json_object_get_string(v));
		else
			log_warn("docker: event %s: field Actor.ID missing or not a string",
				 action);
		if ((s = attr(attrs, "name", action)))
			snprintf(ev->name, sizeof(ev->name), "%s", s);
		if ((s = attr(attrs, "image", action)))
			snprintf(ev->image, sizeof(ev->image), "%s", s);
		ev->exit_code = attr_int(attrs, "exitCode", action, -1);
		ev->signal = attr_int(attrs, "signal", action, 0);
	}
	if (json_object_object_get_ex(o, "timeNano", &v) && json_object_is_type(v, json_type_int))
		ev->time_ns = json_object_get_int64(v);
	else if (json_object_object_get_ex(o, "time", &v) &&
		 json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
		 json_object_get_int64(v) < INT64_MAX / 1000000000LL)
		ev->time_ns = json_object_get_int64(v) * 1000000000LL;
	else
		log_warn("docker: event %s: fields timeNano and time missing or not numbers "
			 "of ns / s since 1970",
			 action);
	return 0;
}

int dockerwatch_parse_line(const char *line, size_t len, struct docker_event *ev)
{
	enum json_tokener_error jerr;
	json_object *o;
	int err;

	memset(ev, 0, sizeof(*ev));
	o = json_tokener_parse_verbose(line, &jerr);
	if (!o) {
		log_warn("docker: events line of %zu bytes is not JSON (%s); skipped", len,
			 json_tokener_error_desc(jerr));
		return -EPROTO;
	}
	err = dockerwatch_parse_event(o, ev);
	json_object_put(o);
	return err;
}

static int on_open(void *ud)
{
	struct dockerwatch *w = ud;

	w->up = 1;
	w->backoff_ms = DW_BACKOFF_MIN_MS;
	log_debug("dockerwatch: events stream %s", w->ever_up ? "reconnected" : "connected");
	if (w->ever_up)
		log_info("Docker events stream is back; re-listing containers");
	if (post_synthetic(w, w->ever_up ? "reconnected" : "connected"))
		return 1;
	w->ever_up = 1;
	return 0;
}

static int on_line(const char *line, size_t len, void *ud)
{
	struct dockerwatch *w = ud;
	struct docker_event ev;

	if (dockerwatch_parse_line(line, len, &ev))
		return 0;
	if (ev.time_ns > w->last_ns)
		w->last_ns = ev.time_ns;
	return post(w, &ev) ? 1 : 0;
}

static int should_stop(void *ud)
{
	struct dockerwatch *w = ud;

	return atomic_load(&w->stop);
}

/* Sleep ms, or less when dockerwatch_stop() wakes us. */
static void nap(struct dockerwatch *w, int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (!atomic_load(&w->stop) &&
	       pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&w->lock);
}

static void *run(void *arg)
{
	static const struct docker_stream_ops ops = {
	    .on_open = on_open, .on_line = on_line, .should_stop = should_stop};
	struct dockerwatch *w = arg;
	int warned = 0;

	w->backoff_ms = DW_BACKOFF_MIN_MS;
	while (!atomic_load(&w->stop)) {
		struct docker *d = docker_open(w->host[0] ? w->host : NULL);
		char path[256];
		int err = -EIO;

		if (d) {
			/* After a gap, ask for what happened meanwhile (dockerd keeps a
			 * short in-memory history; a restarted one has none). */
			if (w->last_ns)
				snprintf(path, sizeof(path), "/events?%s&since=%lld.%09lld",
					 DW_FILTERS, (long long)((w->last_ns + 1) / 1000000000LL),
					 (long long)((w->last_ns + 1) % 1000000000LL));
			else
				snprintf(path, sizeof(path), "/events?%s", DW_FILTERS);
			err = docker_stream(d, path, &ops, w);
			if (err && err != -ECANCELED && !w->up)
				log_debug("dockerwatch: %s", docker_last_error(d));
			docker_close(d);
			warned = 0;
		} else if (!warned) {
			log_warn("Docker is not reachable (DOCKER_HOST or /var/run/docker.sock); "
				 "retrying in the background");
			warned = 1;
		}
		if (atomic_load(&w->stop))
			break;
		if (w->up) {
			w->up = 0;
			log_warn("Docker events stream lost (%s); reconnecting",
				 err ? strerror(-err) : "closed by dockerd");
			if (post_synthetic(w, "disconnected"))
				break;
		}
		nap(w, w->backoff_ms);
		w->backoff_ms =
		    w->backoff_ms * 2 > DW_BACKOFF_MAX_MS ? DW_BACKOFF_MAX_MS : w->backoff_ms * 2;
	}
	return NULL;
}

struct dockerwatch *dockerwatch_start(const char *host)
{
	struct dockerwatch *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int fds[2], err;

	if (!w)
		return NULL;
	if (host)
		snprintf(w->host, sizeof(w->host), "%s", host);
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
		err = errno;
		log_error("dockerwatch: cannot create a pipe: %s", strerror(err));
		free(w);
		errno = err;
		return NULL;
	}
	w->rfd = fds[0];
	w->wfd = fds[1];
	/* Room for a burst of events while the main loop is busy; the
	 * default 64 KiB would do too, just with more waiting. */
	fcntl(w->wfd, F_SETPIPE_SZ, DW_PIPE_SIZE);
	pimutex_init(&w->lock);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals are for the main loop, never this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, run, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_error("dockerwatch: cannot start the events thread: %s", strerror(err));
		close(w->rfd);
		close(w->wfd);
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		errno = err;
		return NULL;
	}
	return w;
}

void dockerwatch_stop(struct dockerwatch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stop, 1);
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	close(w->rfd);
	close(w->wfd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int dockerwatch_fd(const struct dockerwatch *w)
{
	return w->rfd;
}

int dockerwatch_next(struct dockerwatch *w, struct docker_event *ev)
{
	ssize_t n;

	do
		n = read(w->rfd, ev, sizeof(*ev));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*ev))
		return 0;
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	log_error("dockerwatch: read %zd bytes from the event pipe, want %zu", n, sizeof(*ev));
	return n == 0 ? -EPIPE : -EPROTO;
}
