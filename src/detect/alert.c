/* alert.c - the alert record: severities, trace ids, and its JSON form (docs/alerts.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "alert.h"

/* 16 random bytes: getrandom(2) without blocking (a trace id needs to be
 * unique, not secret, so an early-boot pool is good enough), then
 * /dev/urandom, then a clock/pid/counter mix as the last resort. */
static void random_bytes(uint8_t b[16])
{
	static uint64_t counter;
	struct timespec ts;
	uint64_t x;
	int fd;

	if (getrandom(b, 16, GRND_NONBLOCK) == 16)
		return;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, b, 16);

		close(fd);
		if (n == 16)
			return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 40 ^
	    ++counter * 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 16; i++) {
		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdull;
		b[i] = (uint8_t)(x >> 56);
	}
}

void alert_new_trace_id(struct alert *a)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];

	random_bytes(b);
	for (int i = 0; i < 16; i++) {
		a->trace_id[2 * i] = hex[b[i] >> 4];
		a->trace_id[2 * i + 1] = hex[b[i] & 15];
	}
	a->trace_id[32] = 0;
}

/* Floor division, so times before 1970 still split into a second and a
 * non-negative nanosecond part. */
static void split_ns(int64_t t, time_t *sec, long *nsec)
{
	int64_t s = t / 1000000000, r = t % 1000000000;

	if (r < 0) {
		r += 1000000000;
		s--;
	}
	*sec = (time_t)s;
	*nsec = (long)r;
}

void alert_start(struct alert *a, int64_t time_ns, int severity, const char *rule,
		 const char *source, const char *cid, const char *cname, const char *cimage)
{
	memset(a, 0, sizeof(*a));
	a->time_ns = time_ns;
	a->severity = severity;
	snprintf(a->rule, sizeof(a->rule), "%s", rule);
	snprintf(a->source, sizeof(a->source), "%s", source);
	alert_new_trace_id(a);
	snprintf(a->container_id, sizeof(a->container_id), "%s", cid ? cid : "");
	snprintf(a->container_name, sizeof(a->container_name), "%s", cname ? cname : "");
	snprintf(a->container_image, sizeof(a->container_image), "%s", cimage ? cimage : "");
}

void alert_format_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t sec;
	long nsec;
	char date[24];

	split_ns(t, &sec, &nsec);
	if (!gmtime_r(&sec, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "invalid-time");
		return;
	}
	snprintf(buf, len, "%s.%09ldZ", date, nsec);
}

void alert_format_clock(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t sec;
	long nsec;

	split_ns(t, &sec, &nsec);
	if (!localtime_r(&sec, &tm) || !strftime(buf, len, "%H:%M:%S", &tm))
		snprintf(buf, len, "??:??:??");
}

/* Read exactly n decimal digits from *p into *v and advance. */
static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -EINVAL;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

int alert_parse_time(const char *s, int64_t *ns)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	long frac = 0;
	int64_t t;

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d))
		return -EINVAL;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -EINVAL;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
	    digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		int n = 0;

		for (s++; *s >= '0' && *s <= '9'; s++, n++)
			if (n < 9)
				frac = frac * 10 + (*s - '0');
		if (n == 0)
			return -EINVAL;
		for (; n < 9; n++)
			frac *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	/* Nanoseconds in int64 reach from 1677 to 2262: a time outside is not one. */
	if (t < INT64_MIN / 1000000000 + 1 || t > INT64_MAX / 1000000000 - 1)
		return -ERANGE;
	*ns = t * 1000000000 + frac;
	return 0;
}

/* Add key: a copy of the string s.
 * Returns 0 or -ENOMEM. */
static int add_str(json_object *o, const char *key, const char *s)
{
	json_object *v = json_object_new_string(s);

	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* Add key: a new reference to the caller's object, or nothing when NULL. */
static int add_ref(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return 0;
	if (json_object_object_add(o, key, json_object_get(v))) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

json_object *alert_to_json(const struct alert *a)
{
	json_object *o = json_object_new_object(), *c = NULL;
	char when[40], clock[16];
	int err = 0;

	if (!o)
		goto nomem;
	alert_format_time(a->time_ns, when, sizeof(when));
	alert_format_clock(a->time_ns, clock, sizeof(clock));
	err |= add_str(o, "time", when);
	err |= add_str(o, "timestamp", clock);
	err |= add_str(o, "severity", alert_severity_name(a->severity));
	err |= add_str(o, "rule", a->rule);
	err |= add_str(o, "source", a->source);
	err |= add_str(o, "message", a->message);
	err |= add_str(o, "trace_id", a->trace_id);
	if (a->container_id[0] || a->container_name[0]) {
		c = json_object_new_object();
		if (!c)
			goto nomem;
		err |= add_str(c, "id", a->container_id);
		err |= add_str(c, "name", a->container_name);
		err |= add_str(c, "image", a->container_image);
	}
	if (json_object_object_add(o, "container", c)) {
		json_object_put(c);
		goto nomem;
	}
	err |= add_ref(o, "process", a->process);
	err |= add_ref(o, "network", a->network);
	err |= add_ref(o, "action", a->action);
	err |= add_ref(o, "log", a->log);
	err |= add_ref(o, "health", a->health);
	err |= add_ref(o, "resource", a->resource);
	if (a->latency_ns > 0)
		err |= json_object_object_add(o, "latency_us",
					      json_object_new_int64(a->latency_ns / 1000)) != 0;
	if (err)
		goto nomem;
	return o;
nomem:
	json_object_put(o);
	errno = ENOMEM;
	return NULL;
}

void alert_release(struct alert *a)
{
	json_object_put(a->process);
	json_object_put(a->network);
	json_object_put(a->action);
	json_object_put(a->log);
	json_object_put(a->health);
	json_object_put(a->resource);
	a->process = a->network = a->action = a->log = a->health = a->resource = NULL;
}

/* Copy the string member key of o into dst (truncating); "" when absent
 * or not a string. */
static void get_str(json_object *o, const char *key, char *dst, size_t len)
{
	json_object *v;
	size_t n = 0;

	if (o && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string)) {
		n = (size_t)json_object_get_string_len(v);
		if (n >= len)
			n = len - 1;
		memcpy(dst, json_object_get_string(v), n);
	}
	dst[n] = 0;
}

/* A new reference to member key of o when it is an object, else NULL. */
static json_object *get_obj(json_object *o, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_object))
		return json_object_get(v);
	return NULL;
}

int alert_from_json(json_object *o, struct alert *a)
{
	json_object *v, *c = NULL;
	char when[64];

	memset(a, 0, sizeof(*a));
	if (!o || !json_object_is_type(o, json_type_object))
		return -EINVAL;
	if (!json_object_object_get_ex(o, "severity", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (a->severity = alert_severity_parse(json_object_get_string(v))) < 0)
		return -EINVAL;
	if (!json_object_object_get_ex(o, "message", &v) ||
	    !json_object_is_type(v, json_type_string))
		return -EINVAL;
	get_str(o, "time", when, sizeof(when));
	if (when[0] && alert_parse_time(when, &a->time_ns))
		return -EINVAL;
	get_str(o, "rule", a->rule, sizeof(a->rule));
	get_str(o, "source", a->source, sizeof(a->source));
	get_str(o, "message", a->message, sizeof(a->message));
	get_str(o, "trace_id", a->trace_id, sizeof(a->trace_id));
	if (json_object_object_get_ex(o, "container", &c) &&
	    json_object_is_type(c, json_type_object)) {
		get_str(c, "id", a->container_id, sizeof(a->container_id));
		get_str(c, "name", a->container_name, sizeof(a->container_name));
		get_str(c, "image", a->container_image, sizeof(a->container_image));
	}
	a->process = get_obj(o, "process");
	a->network = get_obj(o, "network");
	a->action = get_obj(o, "action");
	a->log = get_obj(o, "log");
	a->health = get_obj(o, "health");
	a->resource = get_obj(o, "resource");
	return 0;
}
