/* respond.c - alerts out, policy actions queued, action results back (respond.h). */
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "actions.h"
#include "daemon_int.h"
#include "live.h"
#include "format.h"
#include "log.h"
#include "output.h"
#include "respond.h"
#include "settings.h"

int paused_has(const struct paused_set *s, const char *id)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->id[i], id))
			return 1;
	return 0;
}

void paused_mark(struct paused_set *s, const char *id, int on)
{
	for (int i = 0; i < s->n; i++) {
		if (!strcmp(s->id[i], id)) {
			if (!on)
				memmove(s->id[i], s->id[--s->n], sizeof(s->id[0]));
			return;
		}
	}
	if (on && s->n < PAUSED_MAX)
		snprintf(s->id[s->n++], sizeof(s->id[0]), "%s", id);
}

void respond_emit(struct daemon *d, struct alert *a)
{
	if (a->severity >= 0 && a->severity <= 2) {
		int i;

		d->n_alerts[a->severity]++;
		for (i = 0; i < d->n_alert_rules && strcmp(d->alert_rules[i].rule, a->rule); i++)
			;
		if (i == d->n_alert_rules && i < DAEMON_ALERT_RULES)
			snprintf(d->alert_rules[d->n_alert_rules++].rule, sizeof(a->rule), "%s",
				 a->rule);
		if (i < d->n_alert_rules)
			d->alert_rules[i].n[a->severity]++;
		else
			d->n_alerts_other[a->severity]++;
	}
	outputs_emit(d->outputs, a);
	if (d->exporter)
		export_alert(d->exporter, a);
	/* The dashboard's feed: the alert log line's JSON. */
	if (d->live)
		live_publish(d->live, "alert", alert_to_json(a));
}

void respond_request(struct daemon *d, int kind, const char *id, const char *name,
		     const char *trace_id, int64_t event_ns, const char *network)
{
	struct action_req r = {.kind = kind, .requested_ns = clock_boot_ns(), .event_ns = event_ns};
	int err;

	snprintf(r.network, sizeof(r.network), "%s", network ? network : "");
	snprintf(r.container, sizeof(r.container), "%s", id);
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.trace_id, sizeof(r.trace_id), "%s", trace_id);
	err = actions_submit(d->actions, &r);
	if (err)
		log_error("action %s %s%s%s not queued: %s", action_kind_name(kind), name,
			  network ? " " : "", network ? network : "", strerror(-err));
	else if (kind == ACTION_PAUSE)
		paused_mark(&d->paused, id, 1);
}

/* Can alert a call for an action at all? Not without a container, in report-only mode, nor
 * moat's own lifecycle, action and prompt alerts. */
static int may_act(const struct daemon *d, const struct alert *a)
{
	return a->container_id[0] && !d->cfg.report_only &&
	       strcmp(a->rule, "container-lifecycle") && strcmp(a->rule, "action") &&
	       strcmp(a->rule, "egress-prompt");
}

int respond_plan(const struct daemon *d, const struct alert *a, const struct container_info *c)
{
	const struct policy *p;
	int acts;

	if (!c || !may_act(d, a))
		return 0;
	p = policy_match(d->policies, c);
	if (!p || a->severity < p->severity_threshold || strcmp(c->state, "running"))
		return 0;
	acts = p->actions & (POLICY_ACT_PAUSE | POLICY_ACT_STOP | POLICY_ACT_DISCONNECT);
	if (!settings_want_pause(d, c) || paused_has(&d->paused, c->id))
		acts &= ~POLICY_ACT_PAUSE;
	return acts;
}

void respond_act_on(struct daemon *d, const struct alert *a)
{
	const struct container_info *c;
	const struct policy *p;
	int64_t ev = a->time_ns - d->dx.offset_ns;
	int acts;

	if (!may_act(d, a))
		return; /* before the lookup: a miss asks Docker */
	c = inventory_find(&d->inv, a->container_id);
	acts = respond_plan(d, a, c);
	if (!acts)
		return;
	p = policy_match(d->policies, c);
	if (acts & POLICY_ACT_PAUSE)
		respond_request(d, ACTION_PAUSE, c->id, c->name, a->trace_id, ev, NULL);
	if (acts & POLICY_ACT_STOP)
		respond_request(d, ACTION_STOP, c->id, c->name, a->trace_id, ev, NULL);
	if (acts & POLICY_ACT_DISCONNECT)
		for (int i = 0; i < (p->n_networks ? p->n_networks : c->n_nets); i++)
			respond_request(d, ACTION_DISCONNECT, c->id, c->name, a->trace_id, ev,
					p->n_networks ? p->networks[i] : c->nets[i].name);
}

/* Answer the control clients waiting for this result, if any. */
static void reply_held(struct daemon *d, const struct action_result *r)
{
	if (!r->req.trace_id[0])
		return;
	for (int slot = 0; (slot = control_server_held(&d->ctl, r->req.trace_id, slot)) >= 0;
	     slot++) {
		json_object *a = json_object_new_object();

		json_object_object_add(a, "ok", json_object_new_boolean(r->ok));
		json_object_object_add(a, "action",
				       json_object_new_string(action_kind_name(r->req.kind)));
		json_object_object_add(a, "container", json_object_new_string(r->req.name));
		json_object_object_add(a, "attempts", json_object_new_int(r->attempts));
		if (r->noop)
			json_object_object_add(a, "noop", json_object_new_boolean(1));
		if (!r->ok)
			json_object_object_add(a, "error", json_object_new_string(r->error));
		control_server_reply(&d->ctl, slot, a);
	}
}

void respond_action_result(struct daemon *d, const struct action_result *r)
{
	struct alert a = {0};
	const struct container_info *c;
	json_object *act;
	int64_t ms = (r->done_ns - r->req.requested_ns) / 1000000;

	r->ok ? d->n_actions_ok++ : d->n_actions_failed++;
	if (r->req.kind > 0 && r->req.kind < DAEMON_ACTION_KINDS)
		d->n_actions_by[r->req.kind][!!r->ok]++;
	if (r->req.kind == ACTION_PAUSE && !r->ok)
		paused_mark(&d->paused, r->req.container, 0);
	if (r->req.kind == ACTION_UNPAUSE && r->ok)
		paused_mark(&d->paused, r->req.container, 0);
	reply_held(d, r);
	if (r->noop) /* nothing happened (resume of a running container): nothing to alert */
		return;
	a.time_ns = clock_boot_to_unix_offset() + r->done_ns;
	a.severity = r->req.kind == ACTION_PAUSE || !r->ok ? ALERT_CRITICAL : ALERT_INFO;
	snprintf(a.rule, sizeof(a.rule), "action");
	snprintf(a.source, sizeof(a.source), "actions");
	snprintf(a.trace_id, sizeof(a.trace_id), "%s", r->req.trace_id);
	if (!a.trace_id[0])
		alert_new_trace_id(&a);
	snprintf(a.container_id, sizeof(a.container_id), "%s", r->req.container);
	snprintf(a.container_name, sizeof(a.container_name), "%s", r->req.name);
	c = inventory_find(&d->inv, r->req.container);
	if (c)
		snprintf(a.container_image, sizeof(a.container_image), "%s", c->image);
	if (r->ok)
		snprintf(a.message, sizeof(a.message), "Container %s %s%s", r->req.name,
			 r->req.kind == ACTION_PAUSE	 ? "paused"
			 : r->req.kind == ACTION_UNPAUSE ? "resumed"
			 : r->req.kind == ACTION_STOP	 ? "stopped"
							 : "disconnected",
			 r->req.kind == ACTION_PAUSE ? " (auto-pause; 'moat resume' to continue)"
						     : "");
	else
		snprintf(a.message, sizeof(a.message),
			 "Could not %s container %s after %d attempts: %s",
			 action_kind_name(r->req.kind), r->req.name, r->attempts, r->error);
	act = json_object_new_object();
	json_object_object_add(act, "action",
			       json_object_new_string(action_kind_name(r->req.kind)));
	json_object_object_add(act, "result", json_object_new_string(r->ok ? "ok" : "failed"));
	json_object_object_add(act, "attempts", json_object_new_int(r->attempts));
	json_object_object_add(act, "duration_ms", json_object_new_int64(ms));
	if (!r->ok)
		json_object_object_add(act, "error", json_object_new_string(r->error));
	a.action = act;
	if (r->req.event_ns > 0)
		a.latency_ns = r->done_ns - r->req.event_ns;
	respond_emit(d, &a);
	alert_release(&a);
}
