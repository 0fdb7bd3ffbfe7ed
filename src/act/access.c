/* access.c - the egress access log (JSON lines) and its statistics. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "live.h"
#include "fs.h"
#include "alert.h"
#include "clock.h"
#include "log.h"

#define ACCESS_MAX_KEYS 4096 /* domains / containers counted; beyond, "(other)" */
#define ACCESS_RECENT	50

struct counter {
	char key[256];
	uint64_t allowed, denied;
};

struct counters {
	struct counter *c;
	int n;
	uint64_t other_allowed, other_denied;
};

struct access {
	int fd;
	int warned;
	int64_t since_ns;
	uint64_t allowed, denied;
	struct counters domains, containers;
	json_object *recent[ACCESS_RECENT];
	int recent_next;
	struct live *live; /* access_set_live; NULL: none */
};

struct access *access_open(const char *path)
{
	struct access *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->fd = -1;
	a->since_ns = clock_unix_ns();
	if (!path || !path[0])
		return a;
	fs_mkdir_parent(path, 0750); /* open() below says what failed */
	a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (a->fd < 0)
		log_warn("access log %s: %s; decisions are counted but not logged", path,
			 strerror(errno));
	return a;
}

void access_close(struct access *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	for (int i = 0; i < ACCESS_RECENT; i++)
		json_object_put(a->recent[i]);
	free(a->domains.c);
	free(a->containers.c);
	free(a);
}

static void count(struct counters *cs, const char *key, int allowed)
{
	struct counter *c = NULL;

	for (int i = 0; i < cs->n && !c; i++)
		if (!strcmp(cs->c[i].key, key))
			c = &cs->c[i];
	if (!c && cs->n < ACCESS_MAX_KEYS) {
		struct counter *nc = realloc(cs->c, (size_t)(cs->n + 1) * sizeof(*nc));

		if (nc) {
			cs->c = nc;
			c = &cs->c[cs->n++];
			memset(c, 0, sizeof(*c));
			snprintf(c->key, sizeof(c->key), "%s", key);
		}
	}
	if (c)
		allowed ? c->allowed++ : c->denied++;
	else
		allowed ? cs->other_allowed++ : cs->other_denied++;
}

static json_object *entry_json(const struct access_entry *e)
{
	json_object *o = json_object_new_object(), *c = NULL;
	char when[40];

	alert_format_time(e->time_ns, when, sizeof(when));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "kind", json_object_new_string(e->kind));
	if (e->container_id && e->container_id[0]) {
		c = json_object_new_object();
		json_object_object_add(c, "id", json_object_new_string(e->container_id));
		json_object_object_add(c, "name", json_object_new_string(e->container_name));
	}
	json_object_object_add(o, "container", c);
	json_object_object_add(o, "pid", json_object_new_int64(e->pid));
	json_object_object_add(o, "comm", json_object_new_string(e->comm ? e->comm : ""));
	json_object_object_add(o, "domain", json_object_new_string(e->domain ? e->domain : ""));
	if (e->addresses)
		json_object_object_add(o, "addresses", json_object_get(e->addresses));
	else
		json_object_object_add(o, "address",
				       json_object_new_string(e->address ? e->address : ""));
	if (e->port)
		json_object_object_add(o, "port", json_object_new_int(e->port));
	json_object_object_add(o, "verdict", json_object_new_string(e->verdict));
	json_object_object_add(o, "rule_id", json_object_new_int64(e->rule_id));
	json_object_object_add(o, "rule", json_object_new_string(e->rule ? e->rule : ""));
	return o;
}

void access_set_live(struct access *a, struct live *l)
{
	if (a)
		a->live = l;
}

void access_record(struct access *a, const struct access_entry *e)
{
	int allowed = !strcmp(e->verdict, "allow");
	json_object *o = entry_json(e);
	const char *s = NULL;
	char *line;
	size_t len = 0;

	allowed ? a->allowed++ : a->denied++;
	count(&a->domains, e->domain && e->domain[0] ? e->domain : "(no name)", allowed);
	count(&a->containers,
	      e->container_name && e->container_name[0] ? e->container_name : "host", allowed);
	if (a->fd >= 0) {
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		len = strlen(s);
		line = malloc(len + 2);
		if (line) {
			memcpy(line, s, len);
			line[len] = '\n';
			/* One write: a crash never leaves half a line. */
			if (write(a->fd, line, len + 1) != (ssize_t)(len + 1) && !a->warned++)
				log_warn("access log: write failed: %s", strerror(errno));
			free(line);
		}
	}
	/* The dashboard's feed: the access log's text when there is one (serialized once). */
	if (a->live && s)
		live_publish_text(a->live, "decision", s, len);
	else if (a->live)
		live_publish(a->live, "decision", json_object_get(o));
	json_object_put(a->recent[a->recent_next]);
	a->recent[a->recent_next] = o;
	a->recent_next = (a->recent_next + 1) % ACCESS_RECENT;
}

static json_object *counters_json(const struct counters *cs)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < cs->n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(cs->c[i].key));
		json_object_object_add(o, "allowed", json_object_new_uint64(cs->c[i].allowed));
		json_object_object_add(o, "denied", json_object_new_uint64(cs->c[i].denied));
		json_object_array_add(arr, o);
	}
	if (cs->other_allowed || cs->other_denied) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string("(other)"));
		json_object_object_add(o, "allowed", json_object_new_uint64(cs->other_allowed));
		json_object_object_add(o, "denied", json_object_new_uint64(cs->other_denied));
		json_object_array_add(arr, o);
	}
	return arr;
}

json_object *access_stats(struct access *a)
{
	json_object *o = json_object_new_object(), *t = json_object_new_object(),
		    *recent = json_object_new_array();
	char when[40];

	alert_format_time(a->since_ns, when, sizeof(when));
	json_object_object_add(o, "since", json_object_new_string(when));
	json_object_object_add(t, "allowed", json_object_new_uint64(a->allowed));
	json_object_object_add(t, "denied", json_object_new_uint64(a->denied));
	json_object_object_add(o, "totals", t);
	json_object_object_add(o, "domains", counters_json(&a->domains));
	json_object_object_add(o, "containers", counters_json(&a->containers));
	for (int i = 0; i < ACCESS_RECENT; i++) {
		json_object *e = a->recent[(a->recent_next + i) % ACCESS_RECENT];

		if (e)
			json_object_array_add(recent, json_object_get(e));
	}
	json_object_object_add(o, "recent", recent);
	return o;
}
