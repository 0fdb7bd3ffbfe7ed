/* logwatch.c - the log pattern scanner in moat run: which containers are followed, with
 * which rules, and the findings back on the event loop (logwatch.h). */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_int.h"
#include "detect_logs.h"
#include "dockerlogs.h"
#include "log.h"
#include "logwatch.h"

_Static_assert(sizeof(struct log_hit) <= PIPE_BUF, "a finding is written atomically");

struct logwatch {
	struct dockerlogs *reader;
	int rfd, wfd; /* findings, whole struct log_hit records */
	/* Compiled rules by policy index (POLICY_MAX: no policy matched), built on demand and
	 * dropped by logwatch_apply_all. Event loop only; the streams hold references. */
	struct logrules *rules[POLICY_MAX + 1];
	atomic_uint_least64_t dropped; /* findings the full pipe refused */
};

/* One followed container: the reader thread's from dockerlogs_follow on. */
struct lw_stream {
	struct logwatch *w;
	char id[65];
	struct logscan *scan;
	int swapped; /* its state went to the ud that replaced it */
};

static void post(struct lw_stream *s, struct log_hit *hit)
{
	snprintf(hit->container, sizeof(hit->container), "%s", s->id);
	/* Never wait for the loop: a finding it has no room for is counted. */
	if (write(s->w->wfd, hit, sizeof(*hit)) != (ssize_t)sizeof(*hit))
		atomic_fetch_add(&s->w->dropped, 1);
}

static int on_line(void *ud, int stream, char *line, size_t len, int cut)
{
	struct lw_stream *s = ud;
	struct log_hit hit;

	if (logscan_line(s->scan, stream, line, len, cut, clock_mono_ns(), clock_unix_ns(), &hit))
		post(s, &hit);
	return 0;
}

static void on_tick(void *ud)
{
	struct lw_stream *s = ud;
	struct log_hit hit;
	int64_t mono = clock_mono_ns(), unix_ns = clock_unix_ns();

	while (logscan_tick(s->scan, mono, unix_ns, &hit))
		post(s, &hit);
}

static void on_swap(void *new_ud, void *old_ud)
{
	struct lw_stream *n = new_ud, *o = old_ud;

	logscan_inherit(n->scan, o->scan);
	o->swapped = 1;
}

static void on_end(void *ud, int err)
{
	struct lw_stream *s = ud;

	if (!s->swapped)
		on_tick(s); /* what the rate limit held back is still told */
	logscan_free(s->scan);
	free(s);
}

int logwatch_start(struct daemon *d)
{
	static const struct dockerlogs_ops ops = {
	    .on_line = on_line, .on_tick = on_tick, .on_swap = on_swap, .on_end = on_end};
	struct logwatch *w = calloc(1, sizeof(*w));
	int p[2], err;

	if (!w)
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		err = -errno;
		free(w);
		log_error("log scanner: cannot create a pipe: %s", strerror(-err));
		return err;
	}
	w->rfd = p[0];
	w->wfd = p[1];
	fcntl(w->wfd, F_SETPIPE_SZ, 1 << 20);
	w->reader = dockerlogs_start(NULL, &ops);
	if (!w->reader) {
		err = -errno;
		log_error("log scanner: cannot start the log reader: %s", strerror(-err));
		close(p[0]);
		close(p[1]);
		free(w);
		return err;
	}
	d->logs = w;
	return 0;
}

void logwatch_stop(struct daemon *d)
{
	struct logwatch *w = d->logs;

	if (!w)
		return;
	dockerlogs_stop(w->reader);
	for (int i = 0; i <= POLICY_MAX; i++)
		logrules_put(w->rules[i]);
	close(w->rfd);
	close(w->wfd);
	free(w);
	d->logs = NULL;
}

int logwatch_fd(const struct daemon *d)
{
	return d->logs ? d->logs->rfd : -1;
}

/* Should c's logs be scanned? Its containers entry, else its policy, else the global
 * setting. A container must run (or be paused) to have a stream, unless it has just
 * started (started: its start event): one that logs and exits at once may be "exited" by
 * the time it was inspected, and Docker still serves what it wrote. */
static int wanted(const struct daemon *d, const struct container_info *c, const struct policy *p,
		  int started)
{
	const struct container_rule *r = config_container(&d->cfg, c->name);

	if (!d->cfg.logs.enabled || !strcmp(c->state, "removed") ||
	    (!started && (inventory_gone_since(c) ||
			  (strcmp(c->state, "running") && strcmp(c->state, "paused")))))
		return 0;
	if (r && r->logs >= 0)
		return r->logs;
	return p && p->logs.enabled >= 0 ? p->logs.enabled : 1;
}

static struct logrules *rules_for(struct daemon *d, const struct policy *p)
{
	struct logwatch *w = d->logs;
	int i = p ? (int)(p - d->policies->p) : POLICY_MAX;

	if (i < 0 || i > POLICY_MAX)
		i = POLICY_MAX;
	if (!w->rules[i]) {
		w->rules[i] = logrules_build(&d->cfg.logs, p ? &p->logs : NULL);
		if (!w->rules[i])
			log_error("log scanner: the patterns of policy %s do not compile: %s",
				  p ? p->id : "(none)", strerror(errno));
	}
	return w->rules[i];
}

void logwatch_apply(struct daemon *d, const struct container_info *c, int64_t since_ns)
{
	struct logwatch *w = d->logs;
	const struct policy *p;
	struct logscan_opts o;
	struct logrules *rules;
	struct lw_stream *s;
	int err;

	if (!w || !c || !c->id[0])
		return;
	p = policy_match(d->policies, c);
	if (!wanted(d, c, p, since_ns != 0)) {
		dockerlogs_unfollow(w->reader, c->id);
		return;
	}
	rules = rules_for(d, p);
	if (!rules)
		return;
	o.rate_alerts = d->cfg.logs.rate_alerts;
	o.rate_window_s = d->cfg.logs.rate_window_s;
	o.max_bytes_per_s = d->cfg.logs.max_bytes_per_s;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->scan = logscan_new(rules, &o))) {
		free(s);
		log_error("log scanner: %s: out of memory", c->name);
		return;
	}
	s->w = w;
	snprintf(s->id, sizeof(s->id), "%s", c->id);
	err = dockerlogs_follow(w->reader, c->id, c->tty, since_ns, s);
	if (err) {
		log_warn("log scanner: cannot follow %s: %s", c->name, strerror(-err));
		logscan_free(s->scan);
		free(s);
	}
}

void logwatch_apply_all(struct daemon *d)
{
	struct logwatch *w = d->logs;

	if (!w)
		return;
	for (int i = 0; i <= POLICY_MAX; i++) {
		logrules_put(w->rules[i]);
		w->rules[i] = NULL;
	}
	for (int i = 0; i < inventory_count(&d->inv); i++)
		logwatch_apply(d, inventory_at(&d->inv, i), 0);
}

void logwatch_forget(struct daemon *d, const char *id)
{
	if (d->logs && id && id[0])
		dockerlogs_unfollow(d->logs->reader, id);
}

void logwatch_on_ready(struct daemon *d)
{
	struct log_hit hit;

	while (d->logs && read(d->logs->rfd, &hit, sizeof(hit)) == (ssize_t)sizeof(hit)) {
		const struct container_info *c = inventory_find(&d->inv, hit.container);
		struct alert a;

		hit.container[sizeof(hit.container) - 1] = 0;
		if (!detect_log_alert(&hit, c, &a))
			continue;
		respond_emit(d, &a);
		respond_act_on(d, &a);
		alert_release(&a);
	}
}

json_object *logwatch_status(const struct daemon *d)
{
	struct dockerlogs_stats st;
	json_object *o;

	if (!d->logs)
		return NULL;
	dockerlogs_get_stats(d->logs->reader, &st);
	o = json_object_new_object();
	json_object_object_add(o, "streams", json_object_new_uint64(st.streams));
	json_object_object_add(o, "lines", json_object_new_uint64(st.lines));
	json_object_object_add(o, "bytes", json_object_new_uint64(st.bytes));
	json_object_object_add(o, "bad_frames", json_object_new_uint64(st.bad_frames));
	json_object_object_add(o, "errors", json_object_new_uint64(st.errors));
	json_object_object_add(o, "findings_dropped",
			       json_object_new_uint64(atomic_load(&d->logs->dropped)));
	return o;
}
