/* health.c - the health-failing rule (health.h). */
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "textesc.h"

static int find(const struct health_table *t, const char *id)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->alerted[i].id, id))
			return i;
	return -1;
}

void health_forget(struct health_table *t, const char *id)
{
	int i = find(t, id);

	if (i >= 0)
		t->alerted[i] = t->alerted[--t->n];
}

int detect_health(struct health_table *t, const struct docker_health *r,
		  const struct container_info *c, int failures, int64_t now_ns, struct alert *out)
{
	char output[1100];
	json_object *h;
	const char *name = c && c->name[0] ? c->name : r->id;

	if (failures < 1)
		failures = 1;
	if (r->gone || r->failing_streak < failures) {
		if (r->gone || r->failing_streak == 0)
			health_forget(t, r->id);
		return 0;
	}
	if (find(t, r->id) >= 0)
		return 0; /* this spell was told already */
	if (t->n < HEALTH_TABLE)
		snprintf(t->alerted[t->n++].id, sizeof(t->alerted[0].id), "%s", r->id);
	text_escape(output, sizeof(output), r->output, strlen(r->output));
	alert_start(out, now_ns, ALERT_CRITICAL, "health-failing", "health", c ? c->id : r->id,
		    c ? c->name : "", c ? c->image : "");
	if (snprintf(out->message, sizeof(out->message),
		     "Container %s failed %d healthchecks in a row (Docker: %s); last exit code "
		     "%d: %s",
		     name, r->failing_streak, r->status[0] ? r->status : "unknown", r->exit_code,
		     output[0] ? output : "(no output)") < 0)
		out->message[0] = 0;
	h = json_object_new_object();
	json_object_object_add(h, "failing_streak", json_object_new_int(r->failing_streak));
	json_object_object_add(h, "failures", json_object_new_int(failures));
	json_object_object_add(h, "status", json_object_new_string(r->status));
	json_object_object_add(h, "exit_code", json_object_new_int(r->exit_code));
	json_object_object_add(h, "output", json_object_new_string(output));
	if (c && c->health_cmd[0])
		json_object_object_add(h, "command", json_object_new_string(c->health_cmd));
	out->health = h;
	return 1;
}
