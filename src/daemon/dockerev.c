/* dockerev.c - Docker's events: inventory, per-container settings, lifecycle alerts
 * (dockerev.h). */
#include <stdio.h>
#include <string.h>

#include "actions.h"
#include "daemon_int.h"
#include "dockerev.h"
#include "healthwatch.h"
#include "log.h"
#include "live.h"
#include "logwatch.h"
#include "netrules.h"
#include "settings.h"

/* A container's state change to the dashboard's feed: Docker's action and the state it
 * leaves the container in (the inventory's, else what the action implies). */
static void publish_event(struct daemon *d, const struct docker_event *ev,
			  const struct container_info *c)
{
	static const struct {
		const char *action, *state;
	} implied[] = {{"create", "created"}, {"start", "running"},   {"restart", "running"},
		       {"pause", "paused"},   {"unpause", "running"}, {"die", "exited"},
		       {"stop", "exited"},    {"kill", "exited"},     {"oom", "exited"},
		       {"destroy", "removed"}};
	const char *state = NULL;
	json_object *o;

	if (!d->live)
		return;
	for (size_t i = 0; i < sizeof(implied) / sizeof(implied[0]); i++)
		if (!strcmp(ev->action, implied[i].action))
			state = implied[i].state;
	/* exec_start, health_status, rename, update ... are not state changes. */
	if (!state)
		return;
	if (c && c->state[0] && strcmp(ev->action, "destroy"))
		state = c->state;
	o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string(ev->action));
	json_object_object_add(o, "id", json_object_new_string(ev->id));
	json_object_object_add(o, "name", json_object_new_string(c ? c->name : ev->name));
	json_object_object_add(o, "image", json_object_new_string(c ? c->image : ev->image));
	json_object_object_add(o, "state", json_object_new_string(state));
	live_publish(d->live, "container", o);
}

void dockerev_handle(struct daemon *d, const struct docker_event *ev)
{
	const struct container_info *c;
	struct alert a;

	inventory_apply(&d->inv, ev);
	if (!strcmp(ev->type, "moat")) {
		if (!strcmp(ev->action, "reconnected") || !strcmp(ev->action, "connected"))
			settings_apply_all(d);
		if (strcmp(ev->action, "connected"))
			log_info("Docker events stream %s", ev->action);
		return;
	}
	if (strcmp(ev->type, "container"))
		return;
	c = inventory_find(&d->inv, ev->id);
	if (!strcmp(ev->action, "start") && c) {
		settings_refresh_shares(d);
		c = inventory_find(&d->inv, ev->id);
		if (c)
			settings_apply_container(d, c);
		/* Its logs from its start on: the first lines come before Docker records the
		 * start (StartedAt, the event), so from 2 s before. */
		if (c)
			logwatch_apply(
			    d, c, (c->started_at ? c->started_at : ev->time_ns) - 2000000000LL);
	} else if (!strcmp(ev->action, "die") || !strcmp(ev->action, "destroy")) {
		/* Its cgroup is gone with its processes (a restart makes a new one): its
		 * settings, counters, resolvers and veth entries go too. */
		if (c && c->cgroup_id && !strcmp(ev->action, "die"))
			netrules_forget_cgroup(d->pin_dir, c->cgroup_id);
		settings_refresh_shares(d);
		c = inventory_find(&d->inv, ev->id);
		/* A dying container's log stream ends by itself once Docker has sent its last
		 * lines (a container that logs FATAL and exits at once is still scanned). */
		if (!strcmp(ev->action, "destroy"))
			logwatch_forget(d, ev->id);
	}
	healthwatch_event(d, ev, c);
	publish_event(d, ev, c);
	if (!strcmp(ev->action, "unpause") || !strcmp(ev->action, "die"))
		paused_mark(&d->paused, ev->id, 0);
	if (detect_docker_event(&d->dx, ev->action, ev->exit_code, c, ev->time_ns, &a)) {
		if (!c) {
			snprintf(a.container_id, sizeof(a.container_id), "%s", ev->id);
			snprintf(a.container_name, sizeof(a.container_name), "%s", ev->name);
			snprintf(a.container_image, sizeof(a.container_image), "%s", ev->image);
		}
		/* die/oom/kill leave nothing to act on; a failing healthcheck is the health
		 * checker's (healthwatch.c). */
		respond_emit(d, &a);
		alert_release(&a);
	}
}
