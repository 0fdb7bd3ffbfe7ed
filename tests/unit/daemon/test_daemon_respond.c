/* test_daemon_respond.c - which alerts act (src/daemon/respond.c): the policy's actions at
 * its threshold, never in report-only mode, never for moat's own alerts, no second pause,
 * --no-pause; the paused set. */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "alertlog.h"
#include "output.h"
#include "daemon_int.h"

static void container(struct container_info *c, const char *name, const char *state)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s-0123456789", name);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->state, sizeof(c->state), "%s", state);
	c->labels = json_object_new_object();
	c->image_labels = json_object_new_object();
}

static void alert(struct alert *a, const struct container_info *c, int severity, const char *rule)
{
	alert_start(a, 0, severity, rule, "process", c->id, c->name, "busybox");
}

static void test_paused_set(void)
{
	struct paused_set *s = calloc(1, sizeof(*s));
	char id[16];

	paused_mark(s, "a", 1);
	paused_mark(s, "b", 1);
	paused_mark(s, "a", 1);
	CHECK(s->n == 2 && paused_has(s, "a") && paused_has(s, "b") && !paused_has(s, "c"),
	      "marked ids are in the set, once each", "n %d", s->n);
	paused_mark(s, "a", 0);
	CHECK(s->n == 1 && !paused_has(s, "a") && paused_has(s, "b"), "unmarking removes one",
	      "n %d", s->n);
	for (int i = 0; i < PAUSED_MAX + 10; i++) {
		snprintf(id, sizeof(id), "x%d", i);
		paused_mark(s, id, 1);
	}
	CHECK_EQ_INT(s->n, PAUSED_MAX, "a full set adds nothing more");
	free(s);
}

static void test_plan(void)
{
	struct daemon *d = daemon_new();
	struct container_info web, gone;
	struct alert a;
	const char *path;

	container(&web, "web", "running");
	container(&gone, "gone", "exited");
	alert(&a, &web, ALERT_CRITICAL, "suspicious-exec");
	CHECK_EQ_INT(respond_plan(d, &a, &web), POLICY_ACT_PAUSE,
		     "the built-in policy: a CRITICAL alert pauses");
	alert(&a, &web, ALERT_WARNING, "suspicious-exec");
	CHECK_EQ_INT(respond_plan(d, &a, &web), 0, "below the threshold: nothing");
	alert(&a, &gone, ALERT_CRITICAL, "suspicious-exec");
	CHECK_EQ_INT(respond_plan(d, &a, &gone), 0, "a container that does not run: nothing");
	alert(&a, &web, ALERT_CRITICAL, "action");
	CHECK_EQ_INT(respond_plan(d, &a, &web), 0, "moat's own action alert acts on nothing");
	alert(&a, &web, ALERT_CRITICAL, "container-lifecycle");
	CHECK_EQ_INT(respond_plan(d, &a, &web), 0, "nor a lifecycle alert");
	alert(&a, &web, ALERT_CRITICAL, "egress-prompt");
	CHECK_EQ_INT(respond_plan(d, &a, &web), 0, "nor a prompt");
	alert(&a, &web, ALERT_CRITICAL, "suspicious-exec");
	CHECK_EQ_INT(respond_plan(d, &a, NULL), 0, "no container: nothing");
	paused_mark(&d->paused, web.id, 1);
	CHECK_EQ_INT(respond_plan(d, &a, &web), 0, "a container moat paused is not paused again");
	paused_mark(&d->paused, web.id, 0);
	d->cfg.pause_on_critical = 0;
	CHECK_EQ_INT(respond_plan(d, &a, &web), 0, "--no-pause: no pause");
	d->cfg.pause_on_critical = 1;
	path = test_tmpfile("{\"policies\": [{\"id\": \"strict\", \"severity_threshold\": "
			    "\"WARNING\", \"actions\": [\"pause\", \"stop\", "
			    "\"network_disconnect\"]}]}\n");
	CHECK_EQ_INT(policy_load(d->policies, path), 0, "a policy with every action");
	unlink(path);
	alert(&a, &web, ALERT_WARNING, "direct-connection");
	CHECK_EQ_INT(respond_plan(d, &a, &web),
		     POLICY_ACT_PAUSE | POLICY_ACT_STOP | POLICY_ACT_DISCONNECT,
		     "its threshold and its actions apply");
	d->cfg.report_only = 1;
	CHECK_EQ_INT(respond_plan(d, &a, &web), 0, "report-only: never act");
	container_info_clear(&web);
	container_info_clear(&gone);
	daemon_free(d);
}

/* Alerts are counted by severity and written to the sinks. */
static void test_emit(void)
{
	struct daemon *d = daemon_new();
	struct container_info web;
	struct alert a;
	char path[64], line[4096] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/moat-test-alerts-%d.jsonl", (int)getpid());
	d->outputs =
	    outputs_open(NULL, &(struct outputs_env){.alerts_file = path, .terminal_fd = -1});
	container(&web, "web", "running");
	alert(&a, &web, ALERT_WARNING, "suspicious-exec");
	snprintf(a.message, sizeof(a.message), "hello");
	respond_emit(d, &a);
	alert(&a, &web, ALERT_CRITICAL, "suspicious-exec");
	respond_emit(d, &a);
	f = fopen(path, "re");
	CHECK(d->n_alerts[ALERT_WARNING] == 1 && d->n_alerts[ALERT_CRITICAL] == 1 &&
		  d->n_alerts[ALERT_INFO] == 0,
	      "alerts are counted by severity", "%llu %llu", (unsigned long long)d->n_alerts[1],
	      (unsigned long long)d->n_alerts[2]);
	CHECK(f && fgets(line, sizeof(line), f) && strstr(line, "\"hello\""),
	      "and written to the alert file", "line \"%s\"", line);
	if (f)
		fclose(f);
	unlink(path);
	container_info_clear(&web);
	daemon_free(d);
}

int main(void)
{
	test_paused_set();
	test_plan();
	test_emit();
	return TEST_EXIT();
}
