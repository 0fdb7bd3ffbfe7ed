/* test_metrics.c - GET /metrics (src/web/metrics.c): the one table against docs/api.md's
 * "Metrics" table, the naming rules, the values moat run's counters give, label escaping of
 * hostile text, and the whole output checked by Prometheus' own promtool (Debian
 * `prometheus`), with moat run answering and with it down. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>

#include "export.h"
#include "web_rig.h"
#include "actions.h"
#include "metrics.h"

static struct rig R;

static void test_docs(void)
{
	FILE *f = fopen(rig_src_path("docs/api.md"), "re");
	char line[1024], why[2048] = "", seen[128] = {0};
	int in = 0, rows = 0, bad = 0;

	CHECK(f != NULL, "docs/api.md exists", "cannot open it");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[96], type[16], labels[64];
		size_t i;

		if (!strncmp(line, "## ", 3))
			in = !strncmp(line, "## Metrics", 10);
		if (!in || strncmp(line, "| moat_", 7))
			continue;
		labels[0] = 0;
		if (sscanf(line, "| %95[a-z_] | %15[a-z] | %63[a-z_,]", name, type, labels) < 2)
			continue;
		if (!strncmp(labels, "|", 1))
			labels[0] = 0;
		rows++;
		for (i = 0; i < n_metrics && strcmp(metrics[i].name, name); i++)
			;
		if (i == n_metrics || strcmp(metrics[i].type, type) ||
		    strcmp(metrics[i].labels, labels)) {
			bad++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %s(%s;%s)", name,
				 type, labels);
		} else if (i < sizeof(seen)) {
			seen[i] = 1;
		}
	}
	fclose(f);
	CHECK(rows > 0 && !bad,
	      "every row of docs/api.md's metrics table is in metrics.c with its type and labels",
	      "differs:%s", why);
	why[0] = 0;
	bad = 0;
	for (size_t i = 0; i < n_metrics; i++)
		if (!seen[i]) {
			bad++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %s",
				 metrics[i].name);
		}
	CHECK(!bad, "every metric of metrics.c has a row in docs/api.md", "missing:%s", why);
	why[0] = 0;
	bad = 0;
	for (size_t i = 0; i < n_metrics; i++) {
		const struct metric *m = &metrics[i];
		size_t n = strlen(m->name);
		int total = n > 6 && !strcmp(m->name + n - 6, "_total");

		if (strncmp(m->name, "moat_", 5) || !m->help[0] || !m->emit ||
		    ((strcmp(m->type, "counter") == 0) != total) ||
		    (strcmp(m->type, "counter") && strcmp(m->type, "gauge"))) {
			bad++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %s", m->name);
		}
	}
	CHECK(!bad, "names start with moat_, counters (only) end in _total, each has help",
	      "bad:%s", why);
}

/* promtool check metrics on text: its exit status (-1: cannot run it). */
static int promtool(const char *text, char *out, size_t n)
{
	char in_path[64], out_path[64];
	int st = -1;
	pid_t pid;
	FILE *f;

	snprintf(in_path, sizeof(in_path), "/tmp/moat-test-prom-%d.txt", (int)getpid());
	snprintf(out_path, sizeof(out_path), "/tmp/moat-test-prom-%d.out", (int)getpid());
	f = fopen(in_path, "we");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	pid = fork();
	if (pid == 0) {
		int i = open(in_path, O_RDONLY),
		    o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(i, 0);
		dup2(o, 1);
		dup2(o, 2);
		execlp("promtool", "promtool", "check", "metrics", (char *)NULL);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &st, 0) == pid)
		st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	out[0] = 0;
	if ((f = fopen(out_path, "re"))) {
		size_t k = fread(out, 1, n - 1, f);

		out[k] = 0;
		fclose(f);
	}
	unlink(in_path);
	unlink(out_path);
	return st;
}

static void test_render(void)
{
	struct web_response rs;
	char out[4096];
	int st;
	char *text;
	size_t len;

	st = rig_call(&R.env, "GET", "/metrics", NULL, NULL, &rs);
	CHECK(st == 200 && rs.text && rs.content_type &&
		  !strncmp(rs.content_type, "text/plain; version=0.0.4", 25),
	      "GET /metrics answers 200, text/plain; version=0.0.4", "%d %s", st,
	      rs.content_type ? rs.content_type : "(none)");
	text = rs.text ? rs.text : "";
	CHECK(strstr(text, "\nmoat_up 1\n") && strstr(text, "\nmoat_events_read_total 42\n") &&
		  strstr(text, "\nmoat_bad_events_total 5\n"),
	      "moat_up 1 and moat run's counters with their values", "%s", text);
	CHECK(
	    strstr(text, "\nmoat_alerts_total{rule=\"shell-spawned\",severity=\"CRITICAL\"} 3\n") &&
		strstr(text,
		       "\nmoat_alerts_total{rule=\"shell-spawned\",severity=\"WARNING\"} 1\n") &&
		strstr(text, "\nmoat_actions_total{kind=\"pause\",result=\"ok\"} 2\n") &&
		strstr(text, "\nmoat_actions_total{kind=\"unpause\",result=\"failed\"} 1\n"),
	    "alerts per rule and severity, actions per kind and result", "%s", text);
	CHECK(strstr(text, "moat_alerts_total{rule=\"ev\\\"il\\n\\\\x\",severity=\"INFO\"} 1\n"),
	      "a hostile label value is escaped (quote, newline, backslash): one line, one series",
	      "%s", text);
	CHECK(strstr(text, "\nmoat_http_requests_total 7\n") &&
		  strstr(text, "\nmoat_websocket_clients 2\n") &&
		  strstr(text, "\nmoat_build_info{version=\""),
	      "the server's counters and build info", "%s", text);
	CHECK(strstr(text, "\nmoat_egress_decisions_total{verdict=\"allow\"} 0\n") &&
		  strstr(text, "\nmoat_containers 0\n") &&
		  strstr(text, "\nmoat_prompts_pending 0\n"),
	      "egress decisions per verdict, containers, prompt queue", "%s", text);
	CHECK(strstr(text, "\nmoat_export_rows_sent_total 0\n") &&
		  strstr(text, "\nmoat_export_spool_batches 0\n") &&
		  strstr(text, "\nmoat_export_dropped_total{type=\"exec\",where=\"queue\"} 0\n") &&
		  strstr(text, "\nmoat_export_dropped_total{type=\"alert\",where=\"spool\"} 0\n"),
	      "the ClickHouse export's counters, rows given up per type and where", "%s", text);
	CHECK(!strstr(text, "moat_container_memory_bytes"),
	      "no per-container series unless per_container_metrics is on", "%s", text);
	st = promtool(text, out, sizeof(out));
	CHECK(st == 0, "promtool check metrics accepts the output", "exit %d: %s", st, out);
	rig_free(&rs);

	R.env.per_container_metrics = 1;
	text = metrics_render(&R.env, &len);
	CHECK(text && strstr(text, "# TYPE moat_container_memory_bytes gauge\n") &&
		  strlen(text) == len,
	      "per_container_metrics on: the per-container metrics are there", "%s",
	      text ? text : "(null)");
	st = promtool(text ? text : "", out, sizeof(out));
	CHECK(st == 0, "and promtool accepts that output too", "exit %d: %s", st, out);
	free(text);
	R.env.per_container_metrics = 0;
}

static void test_down(void)
{
	struct web_env env = R.env;
	char out[4096];
	size_t len;
	char *text;
	int st;

	env.ctl_path = "/nonexistent/moat.sock";
	text = metrics_render(&env, &len);
	CHECK(text && strstr(text, "\nmoat_up 0\n") && !strstr(text, "moat_events_read_total 4") &&
		  strstr(text, "\nmoat_http_requests_total 7\n"),
	      "moat run down: moat_up 0, the server's own metrics still there", "%s",
	      text ? text : "(null)");
	st = promtool(text ? text : "", out, sizeof(out));
	CHECK(st == 0, "and promtool accepts it", "exit %d: %s", st, out);
	free(text);
}

static void test_escape(void)
{
	char *buf = NULL;
	size_t n;
	FILE *f = open_memstream(&buf, &n);

	metrics_label_value(f, "a\\b\"c\nd\te");
	fclose(f);
	CHECK(buf && !strcmp(buf, "\"a\\\\b\\\"c\\nd\te\""),
	      "label values: backslash, quote and newline escaped, the rest as is", "%s", buf);
	free(buf);
}

int main(void)
{
	struct export_config xc;

	test_docs();
	test_escape();
	rig_init(&R);
	R.d->n_events = 42;
	R.d->n_bad_events = 5;
	snprintf(R.d->alert_rules[0].rule, sizeof(R.d->alert_rules[0].rule), "shell-spawned");
	R.d->alert_rules[0].n[2] = 3;
	R.d->alert_rules[0].n[1] = 1;
	snprintf(R.d->alert_rules[1].rule, sizeof(R.d->alert_rules[1].rule), "ev\"il\n\\x");
	R.d->alert_rules[1].n[0] = 1;
	R.d->n_alert_rules = 2;
	R.d->n_actions_by[ACTION_PAUSE][1] = 2;
	R.d->n_actions_by[ACTION_UNPAUSE][0] = 1;
	export_config_defaults(&xc);
	snprintf(xc.url, sizeof(xc.url), "http://127.0.0.1:1/");
	snprintf(xc.spool_dir, sizeof(xc.spool_dir), "/tmp/moat-test-metrics-spool-%d",
		 (int)getpid());
	R.d->exporter = export_open(&xc, NULL);
	R.stats.requests = 7;
	R.stats.ws_clients = 2;
	rig_start(&R);
	test_render();
	test_down();
	rig_stop(&R); /* daemon_free closes the exporter too */
	rmdir(xc.spool_dir);
	return TEST_EXIT();
}
