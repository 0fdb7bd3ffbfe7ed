/* metrics.h - GET /metrics: moat's metrics in the Prometheus text exposition format 0.0.4,
 * from one table (metrics.c: name, type, labels, help, where the value comes from) that
 * docs/api.md's "Metrics" table is checked against (tests/unit/web/test_metrics.c). */
#ifndef MOAT_METRICS_H
#define MOAT_METRICS_H

#include <stddef.h>
#include <stdio.h>

#include "webapi.h"

struct metric_src;

struct metric {
	const char *name;   /* moat_..., counters end in _total */
	const char *type;   /* "counter" or "gauge" */
	const char *labels; /* "program", "rule,severity", "" for none */
	const char *help;   /* one line: what it counts */
	void (*emit)(FILE *out, const struct metric *m, const struct metric_src *s);
	const char *key;   /* the member the value comes from (emit's argument) */
	size_t off;	   /* or its offset in struct web_stats / struct live_stats */
	int per_container; /* only with env->per_container_metrics */
};

extern const struct metric metrics[];
extern const size_t n_metrics;

/* The whole exposition for env (moat run asked through the control socket; when it does
 * not answer, moat_up is 0 and only the server's own metrics have values). Returns the
 * text (malloc'd, NUL-terminated) or NULL on ENOMEM. */
char *metrics_render(const struct web_env *env, size_t *len);

/* Write s to out as a label value: backslash, double quote and newline escaped. */
void metrics_label_value(FILE *out, const char *s);

/* The handler of GET /metrics. */
void metrics_handler(const struct web_env *env, const struct web_request *rq,
		     struct web_response *rs);

#endif /* MOAT_METRICS_H */
