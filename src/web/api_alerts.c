/* api_alerts.c - GET /api/alerts: pages of the JSON-lines alert log, newest first, through
 * alertlog_page (act/alertlog_query.c, the reader of `moat alerts`). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertlog.h"
#include "api_int.h"
#include "clock.h"
#include "severity.h"

#define ALERTS_DEFAULT_LIMIT 100
#define ALERTS_MAX_LIMIT     1000

/* A time parameter: RFC 3339 or Unix seconds. 0 or -EINVAL. */
static int parse_time(const char *s, int64_t *ns)
{
	char *end;
	long long v;

	if (alert_parse_time(s, ns) == 0)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT64_MAX / 1000000000)
		return -EINVAL;
	*ns = (int64_t)v * 1000000000;
	return 0;
}

/* The alert log's path: the server's, else the one moat run's status names. */
static int alerts_path(const struct web_env *env, char *buf, size_t n, struct web_response *rs)
{
	json_object *a, *s, *v;

	if (env->alerts_file && env->alerts_file[0]) {
		snprintf(buf, n, "%s", env->alerts_file);
		return 0;
	}
	if (!(a = api_ask(env, "status", NULL, API_CTL_TIMEOUT_MS, rs)))
		return -1;
	buf[0] = 0;
	if (json_object_object_get_ex(a, "status", &s) &&
	    json_object_object_get_ex(s, "alerts_file", &v))
		snprintf(buf, n, "%s", json_object_get_string(v));
	json_object_put(a);
	if (!buf[0]) {
		web_error(rs, 404,
			  "moat run writes no alert log (set alerts_file in its "
			  "configuration, docs/configuration.md)");
		return -1;
	}
	return 0;
}

void api_alerts(const struct web_env *env, const struct web_request *rq, struct web_response *rs)
{
	char sev[32], rule[64], container[256], since[64], before[64], limit[16], cursor[64],
	    path[4096], msg[512];
	struct alert_filter f = {.last = ALERTS_DEFAULT_LIMIT};
	struct alert_page pg = {.cursor = -1};
	json_object *arr;
	int n;

#define PARAM(name, buf)                                                                           \
	int has_##buf = web_query_get(rq->query, name, buf, sizeof(buf));                          \
	if (has_##buf == -ENAMETOOLONG) {                                                          \
		web_error(rs, 400, name " is too long");                                           \
		return;                                                                            \
	}
	PARAM("severity", sev)
	PARAM("rule", rule)
	PARAM("container", container)
	PARAM("since", since)
	PARAM("before", before)
	PARAM("limit", limit)
	PARAM("cursor", cursor)
#undef PARAM
	if (!has_sev && sev[0] && (f.min_severity = alert_severity_parse(sev)) < 0) {
		web_error(rs, 400,
			  "severity must be INFO, WARNING or CRITICAL (the minimum shown)");
		return;
	}
	if (!has_rule && rule[0])
		f.rule = rule;
	if (!has_container && container[0])
		f.container = container;
	if (!has_since && since[0] && parse_time(since, &f.since_ns)) {
		web_error(rs, 400,
			  "since must be an RFC 3339 time (2026-11-26T19:00:00Z) or Unix "
			  "seconds");
		return;
	}
	if (!has_before && before[0] && parse_time(before, &f.before_ns)) {
		web_error(rs, 400,
			  "before must be an RFC 3339 time (2026-11-26T19:00:00Z) or Unix "
			  "seconds");
		return;
	}
	if (!has_limit) {
		char *end;
		long v = strtol(limit, &end, 10);

		if (!limit[0] || *end || v < 1 || v > ALERTS_MAX_LIMIT) {
			web_error(rs, 400, "limit must be a number from 1 to 1000 (default 100)");
			return;
		}
		f.last = (int)v;
	}
	if (!has_cursor) {
		unsigned long long ino, off;
		char tail;

		if (sscanf(cursor, "%llx-%llx%c", &ino, &off, &tail) != 2 || off > INT64_MAX) {
			web_error(rs, 400,
				  "cursor is not one this API gave (pass \"next\" of the "
				  "previous page as it is)");
			return;
		}
		pg.ino = ino;
		pg.cursor = (int64_t)off;
	}
	if (alerts_path(env, path, sizeof(path), rs))
		return;
	arr = json_object_new_array();
	n = alertlog_page(path, &f, &pg, arr);
	if (n == -ENOENT) { /* no alert yet: an empty page */
		pg.cursor = -1;
		n = 0;
	}
	if (n < 0) {
		json_object_put(arr);
		if (n == -ESTALE || n == -EINVAL) {
			web_error(rs, 400,
				  n == -ESTALE
				      ? "the alert log was rotated since this cursor; load "
					"the first page again"
				      : "cursor is past the end of the alert log; load the "
					"first page again");
			return;
		}
		snprintf(msg, sizeof(msg), "cannot read the alert log %s: %s", path, strerror(-n));
		web_error(rs, 500, msg);
		return;
	}
	rs->status = 200;
	rs->json = json_object_new_object();
	json_object_object_add(rs->json, "alerts", arr);
	if (pg.cursor >= 0) {
		snprintf(cursor, sizeof(cursor), "%" PRIx64 "-%" PRIx64, pg.ino,
			 (uint64_t)pg.cursor);
		json_object_object_add(rs->json, "next", json_object_new_string(cursor));
	} else {
		json_object_object_add(rs->json, "next", NULL);
	}
	json_object_object_add(rs->json, "malformed_skipped",
			       json_object_new_uint64(pg.n_malformed));
}
