/* metrics.c - GET /metrics: one table of moat's metrics and the Prometheus text format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "ctlclient.h"
#include "live.h"
#include "metrics.h"
#include "version.h"

/* What one scrape reads: moat run's answers (NULL when it did not answer), the server's
 * counters and the live feed's. */
struct metric_src {
	json_object *status, *counters, *egress, *resources;
	const struct web_stats *web;
	struct live_stats live;
	int have_live;
};

void metrics_label_value(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void sample(FILE *out, const struct metric *m, const char *l1, const char *v1,
		   const char *l2, const char *v2, unsigned long long val)
{
	fputs(m->name, out);
	if (l1) {
		fprintf(out, "{%s=", l1);
		metrics_label_value(out, v1);
		if (l2) {
			fprintf(out, ",%s=", l2);
			metrics_label_value(out, v2);
		}
		fputc('}', out);
	}
	fprintf(out, " %llu\n", val);
}

static unsigned long long u64(json_object *v)
{
	return v ? (unsigned long long)json_object_get_uint64(v) : 0;
}

/* ---- where values come from -------------------------------------------------------- */

static void e_up(FILE *out, const struct metric *m, const struct metric_src *s)
{
	sample(out, m, NULL, NULL, NULL, NULL, s->status != NULL);
}

static void e_build(FILE *out, const struct metric *m, const struct metric_src *s)
{
	sample(out, m, "version", MOAT_VERSION, NULL, NULL, 1);
}

/* A number in the status (key; "a.b" for a member of a member). */
static void e_status(FILE *out, const struct metric *m, const struct metric_src *s)
{
	char k[64];
	char *dot;
	json_object *v;

	if (!s->status)
		return;
	snprintf(k, sizeof(k), "%s", m->key);
	dot = strchr(k, '.');
	if (dot)
		*dot = 0;
	v = member(s->status, k);
	if (dot)
		v = member(v, dot + 1);
	if (v)
		sample(out, m, NULL, NULL, NULL, NULL, u64(v));
}

static void e_containers(FILE *out, const struct metric *m, const struct metric_src *s)
{
	json_object *cs = member(s->status, "containers");

	if (cs)
		sample(out, m, NULL, NULL, NULL, NULL, json_object_array_length(cs));
}

/* One counter of every BPF program (counters.programs[].key), labelled program. */
static void e_prog(FILE *out, const struct metric *m, const struct metric_src *s)
{
	json_object *ps = member(s->counters, "programs");

	for (size_t i = 0; ps && i < json_object_array_length(ps); i++) {
		json_object *p = json_object_array_get_idx(ps, i);

		sample(out, m, "program", json_object_get_string(member(p, "program")), NULL, NULL,
		       u64(member(p, m->key)));
	}
}

/* counters.alerts / counters.actions: two labels and a count. */
static void e_pairs(FILE *out, const struct metric *m, const struct metric_src *s)
{
	json_object *list = member(s->counters, m->key);
	const char *l1 = !strcmp(m->key, "alerts") ? "rule" : "kind",
		   *l2 = !strcmp(m->key, "alerts") ? "severity" : "result";

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);

		sample(out, m, l1, json_object_get_string(member(o, l1)), l2,
		       json_object_get_string(member(o, l2)), u64(member(o, "count")));
	}
}

static void e_egress(FILE *out, const struct metric *m, const struct metric_src *s)
{
	json_object *t = member(member(s->egress, "egress"), "totals");

	if (!t)
		return;
	sample(out, m, "verdict", "allow", NULL, NULL, u64(member(t, "allowed")));
	sample(out, m, "verdict", "deny", NULL, NULL, u64(member(t, "denied")));
}

static void e_counters_num(FILE *out, const struct metric *m, const struct metric_src *s)
{
	json_object *v = member(s->counters, m->key);

	if (v)
		sample(out, m, NULL, NULL, NULL, NULL, u64(v));
}

static void e_web(FILE *out, const struct metric *m, const struct metric_src *s)
{
	if (s->web)
		sample(out, m, NULL, NULL, NULL, NULL,
		       __atomic_load_n((const uint64_t *)((const char *)s->web + m->off),
				       __ATOMIC_RELAXED));
}

static void e_live(FILE *out, const struct metric *m, const struct metric_src *s)
{
	if (s->have_live)
		sample(out, m, NULL, NULL, NULL, NULL,
		       *(const uint64_t *)((const char *)&s->live + m->off));
}

/* A number of each container's latest resource sample (cpu_usec is given in seconds). */
static void e_container(FILE *out, const struct metric *m, const struct metric_src *s)
{
	json_object *rl = member(s->resources, "resources");

	for (size_t i = 0; rl && i < json_object_array_length(rl); i++) {
		json_object *r = json_object_array_get_idx(rl, i), *v;

		v = member(member(r, "latest"), m->key);
		if (!v)
			continue;
		fputs(m->name, out);
		fputs("{container=", out);
		metrics_label_value(out, json_object_get_string(member(r, "name")));
		fputs(",id=", out);
		metrics_label_value(out, json_object_get_string(member(r, "id")));
		if (!strcmp(m->key, "cpu_usec"))
			fprintf(out, "} %.6f\n", (double)json_object_get_uint64(v) / 1e6);
		else
			fprintf(out, "} %llu\n", u64(v));
	}
}

#define WEB(f)	offsetof(struct web_stats, f)
#define LIVE(f) offsetof(struct live_stats, f)

const struct metric metrics[] = {
    {"moat_build_info", "gauge", "version", "moat's version (always 1)", e_build, NULL, 0, 0},
    {"moat_up", "gauge", "", "1 when moat run answered this scrape on its control socket", e_up,
     NULL, 0, 0},
    {"moat_uptime_seconds", "gauge", "", "seconds since moat run started", e_status, "uptime_s", 0,
     0},
    {"moat_events_total", "counter", "program", "events a BPF program wrote to the ring buffer",
     e_prog, "events", 0, 0},
    {"moat_drops_total", "counter", "program",
     "events a BPF program lost because the ring buffer was full", e_prog, "drops", 0, 0},
    {"moat_denied_total", "counter", "program", "connects and sends a BPF program refused", e_prog,
     "denied", 0, 0},
    {"moat_bpf_errors_total", "counter", "program",
     "parse failures and failed lookups in a BPF program (the traffic passed)", e_prog, "errors", 0,
     0},
    {"moat_suppressed_total", "counter", "program",
     "events not sent because their container exceeded its event budget", e_prog, "suppressed", 0,
     0},
    {"moat_ring_buffer_bytes", "gauge", "", "size of the events ring buffer's data area", e_status,
     "ring_buffer.size", 0, 0},
    {"moat_ring_buffer_used_bytes", "gauge", "",
     "bytes in the events ring buffer the kernel wrote and moat run has not read yet", e_status,
     "ring_buffer.used", 0, 0},
    {"moat_events_read_total", "counter", "", "events moat run read from the ring buffer", e_status,
     "events", 0, 0},
    {"moat_bad_events_total", "counter", "", "events moat run refused as malformed", e_status,
     "bad_events", 0, 0},
    {"moat_alerts_total", "counter", "rule,severity", "alerts raised, per rule and severity",
     e_pairs, "alerts", 0, 0},
    {"moat_egress_decisions_total", "counter", "verdict",
     "egress decisions (DNS and connects of containers under egress rules), per verdict", e_egress,
     NULL, 0, 0},
    {"moat_actions_total", "counter", "kind,result",
     "isolation actions (pause, unpause, stop, network_disconnect), per kind and result", e_pairs,
     "actions", 0, 0},
    {"moat_containers", "gauge", "", "containers watched", e_containers, NULL, 0, 0},
    {"moat_registry_names", "gauge", "", "names in the DNS registry", e_status, "registry_names", 0,
     0},
    {"moat_registry_refused_total", "counter", "",
     "DNS answers the registry refused (full, or a container over its share)", e_status,
     "registry_refused", 0, 0},
    {"moat_prompts_pending", "gauge", "", "egress prompts waiting for a decision", e_counters_num,
     "pending", 0, 0},
    {"moat_prompts_refused_total", "counter", "",
     "held DNS answers not asked about (the container's share or the table was full)", e_status,
     "prompts_refused", 0, 0},
    {"moat_live_published_total", "counter", "", "messages published to the live feed", e_live,
     NULL, LIVE(published), 0},
    {"moat_live_kept_messages", "gauge", "", "live feed messages kept for readers that resume",
     e_live, NULL, LIVE(n_kept), 0},
    {"moat_live_kept_bytes", "gauge", "", "bytes of the live feed messages kept", e_live, NULL,
     LIVE(bytes_kept), 0},
    {"moat_live_dropped_total", "counter", "", "live feed messages lost to lack of memory", e_live,
     NULL, LIVE(dropped_nomem), 0},
    {"moat_http_requests_total", "counter", "", "HTTP requests answered", e_web, NULL,
     WEB(requests), 0},
    {"moat_http_refused_auth_total", "counter", "",
     "HTTP requests refused with 401 (no or wrong token)", e_web, NULL, WEB(refused_auth), 0},
    {"moat_http_refused_origin_total", "counter", "",
     "HTTP requests refused with 403 (Origin, Host or CSRF check)", e_web, NULL,
     WEB(refused_origin), 0},
    {"moat_http_bad_requests_total", "counter", "", "HTTP requests answered 400, 404, 405 or 413",
     e_web, NULL, WEB(bad_requests), 0},
    {"moat_http_clients", "gauge", "", "HTTP connections being served", e_web, NULL,
     WEB(http_clients_open), 0},
    {"moat_websocket_clients", "gauge", "", "WebSocket clients connected", e_web, NULL,
     WEB(ws_clients), 0},
    {"moat_websocket_messages_total", "counter", "", "messages sent to WebSocket clients", e_web,
     NULL, WEB(ws_messages), 0},
    {"moat_websocket_cut_off_total", "counter", "",
     "WebSocket clients closed for being too slow or too far behind", e_web, NULL, WEB(ws_cut_off),
     0},
    {"moat_container_memory_bytes", "gauge", "container,id",
     "a container's memory use (per_container_metrics only)", e_container, "memory_bytes", 0, 1},
    {"moat_container_cpu_seconds_total", "counter", "container,id",
     "a container's CPU time (per_container_metrics only)", e_container, "cpu_usec", 0, 1},
    {"moat_container_pids", "gauge", "container,id",
     "a container's processes (per_container_metrics only)", e_container, "pids", 0, 1},
};
const size_t n_metrics = sizeof(metrics) / sizeof(metrics[0]);

static json_object *ask_quiet(const struct web_env *env, const char *cmd)
{
	struct web_response ignored = {0};
	json_object *a = api_ask(env, cmd, NULL, API_CTL_TIMEOUT_MS, &ignored);

	json_object_put(ignored.json);
	return a;
}

char *metrics_render(const struct web_env *env, size_t *len)
{
	struct metric_src s = {.web = env->stats};
	json_object *st = ask_quiet(env, "status");
	char *text = NULL;
	FILE *out;

	s.status = member(st, "status");
	if (st) {
		s.counters = ask_quiet(env, "counters");
		s.egress = ask_quiet(env, "egress");
		if (env->per_container_metrics)
			s.resources = ask_quiet(env, "resources");
	}
	if (env->live) {
		live_get_stats(env->live, &s.live);
		s.have_live = 1;
	}
	out = open_memstream(&text, len);
	if (out) {
		for (size_t i = 0; i < n_metrics; i++) {
			const struct metric *m = &metrics[i];

			if (m->per_container && !env->per_container_metrics)
				continue;
			fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
				m->type);
			m->emit(out, m, &s);
		}
		if (fclose(out)) {
			free(text);
			text = NULL;
		}
	}
	json_object_put(st);
	json_object_put(s.counters);
	json_object_put(s.egress);
	json_object_put(s.resources);
	return text;
}

void metrics_handler(const struct web_env *env, const struct web_request *rq,
		     struct web_response *rs)
{
	size_t len;

	rs->text = metrics_render(env, &len);
	if (!rs->text) {
		web_error(rs, 500, "out of memory");
		return;
	}
	rs->status = 200;
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
