/* output.c - the alert dispatcher (output.h): severity and rate limit per output, the
 * terminal and file written at once, a bounded queue and a thread for each other output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "alertlog.h"
#include "clock.h"
#include "fs.h"
#include "log.h"
#include "output_int.h"
#include "pimutex.h"

struct outputs {
	struct output *o[OUTPUTS_MAX + 2];
	int n;
};

void output_item_free(struct output_item *it)
{
	if (!it)
		return;
	free(it->json);
	free(it);
}

void output_thread_signals(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

/* The queue is a single-producer, single-consumer ring: only the loop's thread pushes
 * (outputs_emit), only the output's thread pops, and neither ever takes a lock or waits for
 * the other. The done list is a lock-free stack the output's thread pushes onto and the
 * loop takes whole. */
void output_done(struct output *o, struct output_item *it)
{
	struct output_item *top = atomic_load_explicit(&o->done, memory_order_relaxed);

	do
		it->next = top;
	while (!atomic_compare_exchange_weak_explicit(&o->done, &top, it, memory_order_release,
						      memory_order_relaxed));
}

static void free_list(struct output_item *it)
{
	while (it) {
		struct output_item *next = it->next;

		output_item_free(it);
		it = next;
	}
}

int output_pop(struct output *o, struct output_item **it)
{
	unsigned h = atomic_load_explicit(&o->q_head, memory_order_relaxed);

	if (h == atomic_load_explicit(&o->q_tail, memory_order_acquire))
		return -EAGAIN;
	*it = o->q[h % OUTPUT_QUEUE_MAX];
	atomic_fetch_add(&o->busy, 1); /* before it leaves the queue: flush never sees a gap */
	atomic_store_explicit(&o->q_head, h + 1, memory_order_release);
	return 0;
}

/* The wakeup is an eventfd, not a condition variable: glibc's pthread_cond_signal can wait
 * for earlier waiters to be scheduled, and the SCHED_FIFO loop must never wait for an
 * ordinary thread. eventfd_write never waits. */
void output_wait(struct output *o, int64_t deadline_ns)
{
	struct pollfd pf = {.fd = o->wake_fd, .events = POLLIN};
	int64_t left = -1;
	eventfd_t v;
	int ready;

	ready = atomic_load(&o->q_tail) != atomic_load(&o->q_head) || output_stopping(o);
	if (ready)
		return;
	if (deadline_ns) {
		left = (deadline_ns - clock_mono_ns()) / 1000000 + 1;
		if (left <= 0)
			return;
	}
	if (poll(&pf, 1, left > INT32_MAX ? INT32_MAX : (int)left) > 0)
		eventfd_read(o->wake_fd, &v);
}

int output_stopping(struct output *o)
{
	return atomic_load(&o->stopping);
}

/* Logging is for people: a problem is logged when it is new or a minute after it was last
 * logged, a recovery at most once a minute, so a flapping output cannot flood the log. */
void output_set_state(struct output *o, const char *fmt, ...)
{
	char buf[sizeof(o->state)];
	int64_t now = clock_mono_ns();
	int log_it = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&o->lock);
	if (buf[0] && (strcmp(buf, o->logged) || now - o->logged_ns > 60 * CLOCK_NS_PER_SEC)) {
		snprintf(o->logged, sizeof(o->logged), "%s", buf);
		o->logged_ns = now;
		log_it = 1;
	} else if (!buf[0] && o->state[0] && now - o->recovered_ns > 60 * CLOCK_NS_PER_SEC) {
		o->recovered_ns = now;
		log_it = 1;
	}
	snprintf(o->state, sizeof(o->state), "%s", buf);
	pthread_mutex_unlock(&o->lock);
	if (log_it && buf[0])
		log_warn("output %s (%s): %s", o->conf.name, output_type_name(o->conf.type), buf);
	else if (log_it)
		log_info("output %s (%s): delivering again", o->conf.name,
			 output_type_name(o->conf.type));
}

static const struct output_ops *ops_of(int type)
{
	switch (type) {
	case OUTPUT_WEBHOOK: return &webhook_ops;
	case OUTPUT_EXEC: return &execout_ops;
	case OUTPUT_NOTIFY: return &notify_ops;
	case OUTPUT_SYSLOG: return &journal_ops;
	default: return NULL;
	}
}

static struct output *output_new(const struct output_conf *c)
{
	struct output *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->conf = *c;
	o->ops = ops_of(c->type);
	o->wake_fd = -1;
	o->tokens = c->burst ? c->burst : c->rate_per_minute ? c->rate_per_minute : 1;
	if (c->container_rate_per_minute &&
	    !(o->buckets = calloc(OUTPUT_BUCKETS, sizeof(*o->buckets)))) {
		free(o);
		return NULL;
	}
	o->refill_ns = clock_mono_ns();
	/* The loop (SCHED_FIFO) takes this lock for moat status while an ordinary output
	 * thread may hold it (pimutex.h). outputs_emit never takes it. */
	pimutex_init(&o->lock);
	return o;
}

/* Start o's thread under SCHED_OTHER: the caller may be the real-time event loop, and an
 * output must never compete with it. */
static int start_thread(struct output *o)
{
	struct sched_param sp = {0};
	pthread_attr_t at;
	int err;

	pthread_attr_init(&at);
	pthread_attr_setinheritsched(&at, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&at, SCHED_OTHER);
	pthread_attr_setschedparam(&at, &sp);
	err = pthread_create(&o->thread, &at, o->ops->run, o);
	pthread_attr_destroy(&at);
	if (err)
		return -err;
	o->running = 1;
	return 0;
}

static void output_free(struct output *o)
{
	struct output_item *it;

	if (!o)
		return;
	if (o->running) {
		o->stop_deadline_ns = clock_mono_ns() + 2 * CLOCK_NS_PER_SEC;
		atomic_store(&o->stopping, 1); /* after the deadline: the thread reads both */
		if (o->wake_fd >= 0)
			eventfd_write(o->wake_fd, 1);
		pthread_join(o->thread, NULL);
	}
	while (output_pop(o, &it) == 0) {
		atomic_fetch_add(&o->dropped, 1);
		output_item_free(it);
	}
	free_list(atomic_exchange(&o->done, NULL));
	if (o->ops && o->available && o->ops->free)
		o->ops->free(o);
	alertlog_close(o->log);
	if (o->wake_fd >= 0)
		close(o->wake_fd);
	pthread_mutex_destroy(&o->lock);
	free(o->buckets);
	free(o);
}

/* The terminal and file outputs: the configured one of the type, else the default. */
static void sink_conf(const struct outputs_conf *conf, int type, struct output_conf *out)
{
	output_conf_defaults(out, type);
	for (int i = 0; conf && i < conf->n; i++)
		if (conf->o[i].type == type)
			*out = conf->o[i];
}

/* The terminal output's thread: alertlog's terminal line, written off the loop. */
static void *terminal_run(void *arg)
{
	struct output *o = arg;

	output_thread_signals();
	for (;;) {
		struct output_item *it;

		while (output_pop(o, &it) == 0) {
			struct alert a = {.time_ns = it->time_ns, .severity = it->severity};

			snprintf(a.rule, sizeof(a.rule), "%s", it->rule);
			snprintf(a.source, sizeof(a.source), "%s", it->source);
			snprintf(a.message, sizeof(a.message), "%s", it->message);
			snprintf(a.container_name, sizeof(a.container_name), "%s", it->container);
			alertlog_write(o->log, &a); /* a closed terminal is not an error */
			atomic_fetch_add(&o->sent, 1);
			output_done(o, it);
			atomic_fetch_sub(&o->busy, 1);
			if (output_stopping(o) && clock_mono_ns() > o->stop_deadline_ns)
				return NULL;
		}
		if (output_stopping(o))
			return NULL;
		output_wait(o, 0);
	}
}

static const struct output_ops terminal_ops = {.run = terminal_run};

struct outputs *outputs_open(const struct outputs_conf *conf, const struct outputs_env *env)
{
	struct outputs *s = calloc(1, sizeof(*s));
	struct output_conf sc;

	if (!s)
		return NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int t = OUTPUT_TERMINAL; t <= OUTPUT_FILE; t++) {
		struct output *o;

		sink_conf(conf, t, &sc);
		if (!sc.enabled || (t == OUTPUT_TERMINAL && env->terminal_fd < 0) ||
		    (t == OUTPUT_FILE && (!env->alerts_file || !env->alerts_file[0])))
			continue;
		o = output_new(&sc);
		if (o)
			o->log = t == OUTPUT_FILE
				     ? alertlog_open(env->alerts_file, -1, ALERTLOG_COLOR_NEVER)
				     : alertlog_open(NULL, env->terminal_fd, env->color_mode);
		if (!o || !o->log) {
			output_free(o);
			outputs_close(s);
			errno = ENOMEM;
			return NULL;
		}
		o->available = 1;
		s->o[s->n++] = o;
		/* The terminal (a pipe or journald's stream, which can stall) has its thread. */
		if (t == OUTPUT_TERMINAL) {
			o->ops = &terminal_ops;
			o->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (o->wake_fd < 0 || start_thread(o)) {
				outputs_close(s);
				errno = ENOMEM;
				return NULL;
			}
		}
	}
	for (int i = 0; conf && i < conf->n; i++) {
		const struct output_conf *c = &conf->o[i];
		struct output *o;
		int err;

		if (c->type == OUTPUT_TERMINAL || c->type == OUTPUT_FILE || !c->enabled)
			continue;
		o = output_new(c);
		if (!o) {
			outputs_close(s);
			errno = ENOMEM;
			return NULL;
		}
		s->o[s->n++] = o;
		o->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (o->wake_fd < 0) {
			output_set_state(o, "cannot start: %s", strerror(errno));
			continue;
		}
		err = o->ops->start(o, env);
		if (err) {
			if (!o->state[0])
				output_set_state(o, "cannot start: %s", strerror(-err));
			continue;
		}
		o->available = 1;
		err = start_thread(o);
		if (err) {
			output_set_state(o, "cannot start its thread: %s", strerror(-err));
			o->available = 0;
			o->ops->free(o);
			continue;
		}
		log_info("output %s (%s): alerts from %s up", o->conf.name,
			 output_type_name(o->conf.type), alert_severity_name(o->conf.min_severity));
	}
	return s;
}

/* Take a token from o's bucket: 1 when the alert may go. The loop's thread only. */
static int rate_ok(struct output *o, int64_t now)
{
	double burst;

	if (!o->conf.rate_per_minute)
		return 1;
	burst = o->conf.burst ? o->conf.burst : o->conf.rate_per_minute;
	o->tokens += (double)(now - o->refill_ns) * o->conf.rate_per_minute / (60.0 * 1e9);
	o->refill_ns = now;
	if (o->tokens > burst)
		o->tokens = burst;
	if (o->tokens >= 1) {
		o->tokens -= 1;
		return 1;
	}
	if (!o->rate_logged_ns || now - o->rate_logged_ns > 60 * CLOCK_NS_PER_SEC) {
		log_warn("output %s: over its rate limit (%u a minute, burst %.0f): alerts dropped "
			 "for it (counted as rate_limited in moat status)",
			 o->conf.name, o->conf.rate_per_minute, burst);
		o->rate_logged_ns = now;
	}
	return 0;
}

/* FNV-1a of a container id. */
static uint32_t id_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Take a token from container cid's bucket for o: 1 when the alert may go. Alerts without
 * a container (moat's own) are not limited. The table holds OUTPUT_BUCKETS containers; a
 * new one takes the least recently refilled of the 8 slots it may use (that container
 * starts a fresh bucket: more containers than slots get at worst a burst each). The loop's
 * thread only. */
static int container_ok(struct output *o, const char *cid, int64_t now)
{
	double rate = o->conf.container_rate_per_minute, burst;
	struct output_bucket *b = NULL;
	uint32_t h;

	if (!o->buckets || !cid || !cid[0])
		return 1;
	burst = o->conf.container_burst ? o->conf.container_burst : rate;
	h = id_hash(cid);
	for (int i = 0; i < 8; i++) {
		struct output_bucket *c = &o->buckets[(h + (uint32_t)i) % OUTPUT_BUCKETS];

		if (!strcmp(c->id, cid)) {
			b = c;
			break;
		}
		if (!b || !c->id[0] || (b->id[0] && c->refill_ns < b->refill_ns))
			b = c;
	}
	if (strcmp(b->id, cid)) {
		snprintf(b->id, sizeof(b->id), "%s", cid);
		b->tokens = burst;
		b->refill_ns = now;
	}
	b->tokens += (double)(now - b->refill_ns) * rate / (60.0 * 1e9);
	b->refill_ns = now;
	if (b->tokens > burst)
		b->tokens = burst;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 1;
	}
	if (!o->container_logged_ns || now - o->container_logged_ns > 60 * CLOCK_NS_PER_SEC) {
		log_warn(
		    "output %s: container %.12s is over its share (%u a minute, burst %.0f): "
		    "its alerts are dropped for this output (container_limited in moat status; "
		    "the alert file has them)",
		    o->conf.name, cid, o->conf.container_rate_per_minute, burst);
		o->container_logged_ns = now;
	}
	return 0;
}

/* The item of a for the queued outputs (NULL on ENOMEM). */
static struct output_item *item_new(const struct alert *a)
{
	struct output_item *it = calloc(1, sizeof(*it));
	json_object *o = alert_to_json(a);
	const char *js;

	if (!it || !o) {
		free(it);
		json_object_put(o);
		return NULL;
	}
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	it->json = js ? strdup(js) : NULL;
	it->len = it->json ? strlen(it->json) : 0;
	json_object_put(o);
	if (!it->json) {
		free(it);
		return NULL;
	}
	it->severity = a->severity;
	it->time_ns = a->time_ns;
	snprintf(it->rule, sizeof(it->rule), "%s", a->rule);
	snprintf(it->source, sizeof(it->source), "%s", a->source);
	snprintf(it->message, sizeof(it->message), "%s", a->message);
	snprintf(it->container, sizeof(it->container), "%.*s",
		 a->container_name[0] ? (int)sizeof(it->container) - 1 : 12,
		 a->container_name[0] ? a->container_name : a->container_id);
	snprintf(it->container_id, sizeof(it->container_id), "%s", a->container_id);
	snprintf(it->trace_id, sizeof(it->trace_id), "%s", a->trace_id);
	return it;
}

/* Queue a copy of proto for o. Never waits on the output: the lock is held only by the
 * thread's pop or wait, for a few instructions. */
static void enqueue(struct output *o, const struct output_item *proto)
{
	struct output_item *it = malloc(sizeof(*it));
	unsigned t = atomic_load_explicit(&o->q_tail, memory_order_relaxed);
	int full;

	if (it) {
		*it = *proto;
		it->json = malloc(proto->len + 1);
		if (it->json)
			memcpy(it->json, proto->json, proto->len + 1);
	}
	if (!it || !it->json) {
		free(it);
		atomic_fetch_add(&o->dropped, 1);
		return;
	}
	free_list(atomic_exchange_explicit(&o->done, NULL, memory_order_acquire));
	full = t - atomic_load_explicit(&o->q_head, memory_order_acquire) >= OUTPUT_QUEUE_MAX;
	if (!full) {
		o->q[t % OUTPUT_QUEUE_MAX] = it;
		atomic_store_explicit(&o->q_tail, t + 1, memory_order_release);
	}
	if (full) {
		output_item_free(it);
		atomic_fetch_add(&o->dropped, 1);
	} else if (o->wake_fd >= 0) {
		eventfd_write(o->wake_fd, 1);
	}
}

int outputs_emit(struct outputs *s, const struct alert *a)
{
	struct output_item *proto = NULL;
	int64_t now = clock_mono_ns();
	int ret = 0;

	if (!s)
		return 0;
	for (int i = 0; i < s->n; i++) {
		struct output *o = s->o[i];

		if (!o->available || a->severity < o->conf.min_severity)
			continue;
		if (!container_ok(o, a->container_id, now)) {
			atomic_fetch_add(&o->container_limited, 1);
			continue;
		}
		if (!rate_ok(o, now)) {
			atomic_fetch_add(&o->rate_limited, 1);
			continue;
		}
		if (o->log && o->conf.type == OUTPUT_FILE) {
			int err = alertlog_write(o->log, a);

			atomic_fetch_add(err ? &o->failed : &o->sent, 1);
			if (o->conf.type == OUTPUT_FILE)
				ret = err;
			continue;
		}
		if (!proto && !(proto = item_new(a))) {
			atomic_fetch_add(&o->dropped, 1);
			continue;
		}
		enqueue(o, proto);
	}
	output_item_free(proto);
	return ret;
}

void outputs_reopen(struct outputs *s)
{
	for (int i = 0; s && i < s->n; i++)
		if (s->o[i]->log && s->o[i]->conf.type == OUTPUT_FILE)
			alertlog_reopen(s->o[i]->log);
}

json_object *outputs_status(struct outputs *s)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; s && i < s->n; i++) {
		struct output *o = s->o[i];
		json_object *j = json_object_new_object();
		unsigned queued;
		char state[sizeof(o->state)];

		queued = atomic_load(&o->q_tail) - atomic_load(&o->q_head);
		pthread_mutex_lock(&o->lock);
		snprintf(state, sizeof(state), "%s", o->state);
		pthread_mutex_unlock(&o->lock);
		json_object_object_add(j, "name", json_object_new_string(o->conf.name));
		json_object_object_add(j, "type",
				       json_object_new_string(output_type_name(o->conf.type)));
		json_object_object_add(
		    j, "min_severity",
		    json_object_new_string(alert_severity_name(o->conf.min_severity)));
		json_object_object_add(j, "state", json_object_new_string(state[0] ? state : "ok"));
		json_object_object_add(j, "sent", json_object_new_uint64(atomic_load(&o->sent)));
		json_object_object_add(j, "failed",
				       json_object_new_uint64(atomic_load(&o->failed)));
		json_object_object_add(j, "rate_limited",
				       json_object_new_uint64(atomic_load(&o->rate_limited)));
		json_object_object_add(j, "container_limited",
				       json_object_new_uint64(atomic_load(&o->container_limited)));
		json_object_object_add(j, "dropped",
				       json_object_new_uint64(atomic_load(&o->dropped)));
		json_object_object_add(
		    j, "queued", json_object_new_int64((int64_t)queued + atomic_load(&o->backlog)));
		if (o->ops && o->ops->status && o->available)
			o->ops->status(o, j);
		json_object_array_add(arr, j);
	}
	return arr;
}

int outputs_flush(struct outputs *s, int timeout_ms)
{
	int64_t end = clock_mono_ns() + (int64_t)timeout_ms * 1000000;

	for (;;) {
		int pending = 0;

		for (int i = 0; s && i < s->n; i++) {
			struct output *o = s->o[i];

			if (!o->running)
				continue;
			pending += (int)(atomic_load(&o->q_tail) - atomic_load(&o->q_head));
			pending += atomic_load(&o->busy) + (int)atomic_load(&o->backlog);
		}
		if (!pending)
			return 0;
		if (clock_mono_ns() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

void outputs_close(struct outputs *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		output_free(s->o[i]);
	free(s);
}

int output_is_wsl(const char *osrelease_path)
{
	const char *d = getenv("WSL_DISTRO_NAME");
	char *buf = NULL;
	size_t len;
	int wsl;

	if (d && *d)
		return 1;
	if (fs_read_all(osrelease_path ? osrelease_path : "/proc/sys/kernel/osrelease", 4096, &buf,
			&len))
		return 0;
	wsl = strcasestr(buf, "microsoft") != NULL;
	free(buf);
	return wsl;
}
