/* ctlcmds.c - the control socket's commands, one table (ctlcmds.h). */
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "actions.h"
#include "copycheck.h"
#include "ctlcmds.h"
#include "daemon_int.h"
#include "learnrec.h"
#include "logwatch.h"
#include "netrules.h"
#include "output.h"
#include "registry.h"
#include "resmon.h"
#include "rulesets.h"
#include "settings.h"

#define MAX_HELD   64	/* clients waiting for an action's result */
#define MAX_LISTED 1000 /* rules listed by the rules command; the rest counted, not listed */

static json_object *answer(int ok, const char *error)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "ok", json_object_new_boolean(ok));
	if (error)
		json_object_object_add(a, "error", json_object_new_string(error));
	return a;
}

/* The string member key of req, or dflt. */
static const char *req_str(json_object *req, const char *key, const char *dflt)
{
	json_object *v;

	return json_object_object_get_ex(req, key, &v) ? json_object_get_string(v) : dflt;
}

static json_object *container_json(struct daemon *d, const struct container_info *c)
{
	json_object *o = json_object_new_object();
	const struct policy *p = policy_match(d->policies, c);
	struct moat_cgroup_state st;

	json_object_object_add(o, "id", json_object_new_string(c->id));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "image", json_object_new_string(c->image));
	json_object_object_add(o, "state", json_object_new_string(c->state));
	json_object_object_add(o, "cgroup_id", json_object_new_uint64(c->cgroup_id));
	json_object_object_add(o, "paused_by_moat",
			       json_object_new_boolean(paused_has(&d->paused, c->id)));
	json_object_object_add(o, "kill_exec", json_object_new_boolean(settings_want_kill(d, c)));
	json_object_object_add(o, "egress", json_object_new_int(settings_want_egress(d, c)));
	json_object_object_add(o, "policy", json_object_new_string(p ? p->id : ""));
	netrules_cgroup_state(d->pin_dir, c->cgroup_id, &st);
	json_object_object_add(o, "learned", json_object_new_int64(st.learned));
	json_object_object_add(o, "learn_refused", json_object_new_uint64(st.learn_refused));
	json_object_object_add(o, "resource_sources", resmon_sources_json(d, c->id));
	return o;
}

static json_object *copycheck_json(struct copycheck *cc)
{
	struct copycheck_stats cs;
	json_object *o = json_object_new_object();

	copycheck_get_stats(cc, &cs);
	json_object_object_add(o, "checked", json_object_new_uint64(cs.checked));
	json_object_object_add(o, "cached", json_object_new_uint64(cs.cached));
	json_object_object_add(o, "copies", json_object_new_uint64(cs.copies));
	json_object_object_add(o, "not_checked", json_object_new_uint64(cs.not_checked));
	json_object_object_add(o, "skipped_budget", json_object_new_uint64(cs.refused_budget));
	json_object_object_add(o, "skipped_full", json_object_new_uint64(cs.refused_full));
	json_object_object_add(o, "bytes_read", json_object_new_uint64(cs.bytes_read));
	return o;
}

json_object *ctlcmds_status(struct daemon *d)
{
	json_object *s = json_object_new_object(), *cs = json_object_new_array(),
		    *al = json_object_new_object();
	uint64_t v[MOAT_STATS_SLOTS], drops = 0;

	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);

		if (c && !inventory_gone_since(c))
			json_object_array_add(cs, container_json(d, c));
	}
	if (netrules_read_stats(d->pin_dir, v) == 0)
		for (int p = 0; p < MOAT_PROG_NR; p++)
			drops += v[p * MOAT_STAT_NR + MOAT_STAT_DROPS];
	json_object_object_add(
	    s, "mode", json_object_new_string(d->cfg.report_only ? "report-only" : "enforce"));
	json_object_object_add(s, "uptime_s", json_object_new_int64(clock_unix_s() - d->started));
	json_object_object_add(s, "containers", cs);
	json_object_object_add(s, "events", json_object_new_uint64(d->n_events));
	json_object_object_add(s, "bad_events", json_object_new_uint64(d->n_bad_events));
	json_object_object_add(s, "unsolicited_dns_answers",
			       json_object_new_uint64(d->dns.unsolicited));
	json_object_object_add(s, "untrusted_dns_answers",
			       json_object_new_uint64(d->dns.untrusted));
	json_object_object_add(s, "prompts_refused", json_object_new_uint64(d->prompts.n_refused));
	if (d->copycheck)
		json_object_object_add(s, "copycheck", copycheck_json(d->copycheck));
	json_object_object_add(s, "learn_share", json_object_new_uint64(d->learn_share));
	if (d->logs) /* the log scanner: logwatch.c */
		json_object_object_add(s, "logs", logwatch_status(d));
	json_object_object_add(s, "kernel_drops", json_object_new_uint64(drops));
	if (d->rb) { /* the events ring buffer's fill level (moat_ring_buffer_* metrics) */
		uint64_t used, size;

		if (loader_ring_fill(loader_events_fd(&d->loader), &used, &size) == 0) {
			json_object *rb = json_object_new_object();

			json_object_object_add(rb, "size", json_object_new_uint64(size));
			json_object_object_add(rb, "used", json_object_new_uint64(used));
			json_object_object_add(s, "ring_buffer", rb);
		}
	}
	json_object_object_add(al, "INFO", json_object_new_uint64(d->n_alerts[0]));
	json_object_object_add(al, "WARNING", json_object_new_uint64(d->n_alerts[1]));
	json_object_object_add(al, "CRITICAL", json_object_new_uint64(d->n_alerts[2]));
	json_object_object_add(s, "alerts", al);
	json_object_object_add(s, "outputs", outputs_status(d->outputs));
	json_object_object_add(s, "actions_ok", json_object_new_uint64(d->n_actions_ok));
	json_object_object_add(s, "actions_failed", json_object_new_uint64(d->n_actions_failed));
	json_object_object_add(s, "registry_names",
			       json_object_new_uint64(registry_count(d->registry)));
	json_object_object_add(s, "registry_refused",
			       json_object_new_uint64(registry_refused(d->registry)));
	json_object_object_add(s, "blacklist_entries", json_object_new_uint64(d->blacklist.n));
	json_object_object_add(s, "whitelist_entries", json_object_new_uint64(d->whitelist.n));
	json_object_object_add(s, "config", json_object_new_string(d->cfg.path));
	json_object_object_add(s, "alerts_file", json_object_new_string(d->cfg.alerts_file));
	json_object_object_add(s, "resources", resmon_status_json(d));
	return s;
}

/* ---- the commands ---------------------------------------------------------------------- */

static json_object *cmd_status(struct daemon *d, json_object *req, int slot)
{
	json_object *a = answer(1, NULL);

	json_object_object_add(a, "status", ctlcmds_status(d));
	return a;
}

static json_object *cmd_stats(struct daemon *d, json_object *req, int slot)
{
	json_object *st = access_stats(d->access), *rules = json_object_new_array(), *a;

	for (int i = 0; i < d->egress.n; i++) {
		json_object *r = json_object_new_object();

		json_object_object_add(r, "id", json_object_new_int64(d->egress.rules[i].id));
		json_object_object_add(
		    r, "kind", json_object_new_string(rule_kind_name(d->egress.rules[i].kind)));
		json_object_object_add(r, "match",
				       json_object_new_string(d->egress.rules[i].match));
		json_object_array_add(rules, r);
	}
	json_object_object_add(st, "rules", rules);
	json_object_object_add(st, "default",
			       json_object_new_string(d->egress.default_deny ? "deny" : "allow"));
	json_object_object_add(st, "status", ctlcmds_status(d));
	a = answer(1, NULL);
	json_object_object_add(a, "stats", st);
	return a;
}

/* Resource stats: {"container": C (optional), "history": true (optional)}. */
static json_object *cmd_resources(struct daemon *d, json_object *req, int slot)
{
	json_object *a = answer(1, NULL), *v;
	int history = json_object_object_get_ex(req, "history", &v) && json_object_get_boolean(v);

	json_object_object_add(a, "resources",
			       resmon_query_json(d, req_str(req, "container", NULL), history));
	json_object_object_add(a, "interval_ms",
			       json_object_new_int64(d->cfg.resources.interval_ms));
	return a;
}

static json_object *cmd_pending(struct daemon *d, json_object *req, int slot)
{
	json_object *a = answer(1, NULL);

	json_object_object_add(a, "pending", prompt_table_json(&d->prompts, clock_unix_s()));
	return a;
}

static json_object *cmd_decide(struct daemon *d, json_object *req, int slot)
{
	json_object *v;
	uint32_t id =
	    json_object_object_get_ex(req, "id", &v) ? (uint32_t)json_object_get_int64(v) : 0;
	struct prompt *p = prompt_table_find(&d->prompts, id);

	if (!p)
		return answer(0, "no such pending request (see moat prompt --list)");
	if (prompts_decide(d, p, req_str(req, "choice", ""), 0))
		return answer(0, "choice must be allow-once, deny-once, allow-domain, deny-domain, "
				 "allow-ip or deny-ip");
	return answer(1, NULL);
}

static json_object *cmd_reload(struct daemon *d, json_object *req, int slot)
{
	daemon_reload(d);
	return answer(1, NULL);
}

static json_object *cmd_registry(struct daemon *d, json_object *req, int slot)
{
	json_object *a = answer(1, NULL);

	json_object_object_add(a, "entries",
			       d->registry
				   ? registry_query(d->registry, req_str(req, "q", NULL), 1000)
				   : json_object_new_array());
	return a;
}

/* pause and resume: the answer waits for the action's result (respond.c answers it). */
static json_object *pause_resume(struct daemon *d, json_object *req, int slot, int kind)
{
	const struct container_info *c = inventory_find(&d->inv, req_str(req, "container", ""));
	struct alert tmp;

	if (!c)
		return answer(0, "no such container (give its name or id)");
	if (control_server_n_held(&d->ctl) >= MAX_HELD)
		return answer(0, "too many requests waiting; retry");
	alert_new_trace_id(&tmp);
	control_server_hold(&d->ctl, slot, tmp.trace_id);
	respond_request(d, kind, c->id, c->name, tmp.trace_id, 0, NULL);
	return NULL;
}

static json_object *cmd_pause(struct daemon *d, json_object *req, int slot)
{
	return pause_resume(d, req, slot, ACTION_PAUSE);
}

static json_object *cmd_resume(struct daemon *d, json_object *req, int slot)
{
	return pause_resume(d, req, slot, ACTION_UNPAUSE);
}

/* The egress rules in force (the global rules file as moat run loaded it): at most
 * MAX_LISTED rules, "n" says how many there are. With "reload": true the file is loaded
 * again first (after the dashboard wrote it: web/api_rules.c), and the answer says whether
 * it loaded ("error" when not; the rules in force stay). */
static json_object *cmd_rules(struct daemon *d, json_object *req, int slot)
{
	json_object *a, *list = json_object_new_array(), *v;
	int err = 0;

	if (json_object_object_get_ex(req, "reload", &v) && json_object_get_boolean(v))
		err = rulesets_load_egress(d);
	a = answer(!err, err ? "the rules file did not load (moat run's log says why); the "
			       "previous rules stay in force"
			     : NULL);
	for (int i = 0; i < d->egress.n && i < MAX_LISTED; i++) {
		const struct rule *r = &d->egress.rules[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(r->id));
		json_object_object_add(o, "kind", json_object_new_string(rule_kind_name(r->kind)));
		json_object_object_add(o, "match", json_object_new_string(r->match));
		json_object_object_add(o, "comment", json_object_new_string(r->comment));
		json_object_array_add(list, o);
	}
	json_object_object_add(a, "file", json_object_new_string(d->cfg.egress_rules));
	json_object_object_add(a, "default",
			       json_object_new_string(d->egress.default_deny ? "deny" : "allow"));
	json_object_object_add(a, "n", json_object_new_int(d->egress.n));
	json_object_object_add(a, "rules", list);
	return a;
}

static json_object *strings_json(const void *base, size_t stride, int n)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < n; i++)
		json_object_array_add(
		    arr, json_object_new_string((const char *)base + (size_t)i * stride));
	return arr;
}

/* The container-guard policies in force (at most POLICY_MAX). */
static json_object *cmd_policies(struct daemon *d, json_object *req, int slot)
{
	static const struct {
		int bit;
		const char *name;
	} acts[] = {{POLICY_ACT_PAUSE, "pause"},
		    {POLICY_ACT_STOP, "stop"},
		    {POLICY_ACT_DISCONNECT, "network_disconnect"},
		    {POLICY_ACT_KILL_EXEC, "kill_exec"}};
	json_object *a = answer(1, NULL), *list = json_object_new_array();

	for (int i = 0; d->policies && i < d->policies->n; i++) {
		const struct policy *p = &d->policies->p[i];
		json_object *o = json_object_new_object(), *al = json_object_new_array();

		json_object_object_add(o, "id", json_object_new_string(p->id));
		json_object_object_add(o, "name", json_object_new_string(p->name));
		json_object_object_add(o, "description", json_object_new_string(p->description));
		json_object_object_add(o, "enabled", json_object_new_boolean(p->enabled));
		json_object_object_add(o, "priority", json_object_new_int(p->priority));
		json_object_object_add(
		    o, "severity_threshold",
		    json_object_new_string(alert_severity_name(p->severity_threshold)));
		json_object_object_add(o, "names",
				       strings_json(p->names, sizeof(p->names[0]), p->n_names));
		json_object_object_add(o, "images",
				       strings_json(p->images, sizeof(p->images[0]), p->n_images));
		json_object_object_add(o, "labels",
				       strings_json(p->labels, sizeof(p->labels[0]), p->n_labels));
		json_object_object_add(
		    o, "egress",
		    p->egress >= 0 ? json_object_new_string(policy_egress_name(p->egress)) : NULL);
		json_object_object_add(
		    o, "exec_allow",
		    strings_json(p->exec_allow, sizeof(p->exec_allow[0]), p->n_exec_allow));
		json_object_object_add(o, "egress_rules", json_object_new_string(p->egress_rules));
		for (size_t k = 0; k < sizeof(acts) / sizeof(acts[0]); k++)
			if (p->actions & acts[k].bit)
				json_object_array_add(al, json_object_new_string(acts[k].name));
		json_object_object_add(o, "actions", al);
		json_object_array_add(list, o);
	}
	json_object_object_add(a, "file",
			       json_object_new_string(d->policies ? d->policies->path : ""));
	json_object_object_add(a, "policies", list);
	return a;
}

/* Kernel counters per program (the pinned stats map), alerts per rule and severity and
 * actions per kind and result: fixed-size tables. */
static json_object *cmd_counters(struct daemon *d, json_object *req, int slot)
{
	static const char *const sev[3] = {"INFO", "WARNING", "CRITICAL"};
	json_object *a = answer(1, NULL), *progs = json_object_new_array(),
		    *al = json_object_new_array(), *ac = json_object_new_array();
	uint64_t v[MOAT_STATS_SLOTS];
	int err = netrules_read_stats(d->pin_dir, v), n_pending = 0;

	for (int p = 0; !err && p < MOAT_PROG_NR; p++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "program", json_object_new_string(netrules_prog_name(p)));
		for (int s = 0; s < MOAT_STAT_NR; s++)
			json_object_object_add(o, netrules_stat_name(s),
					       json_object_new_uint64(v[p * MOAT_STAT_NR + s]));
		json_object_array_add(progs, o);
	}
	if (err)
		json_object_object_add(a, "kernel_error", json_object_new_string(strerror(-err)));
	json_object_object_add(a, "programs", progs);
	for (int i = 0; i <= d->n_alert_rules; i++) {
		const uint64_t *n = i < d->n_alert_rules ? d->alert_rules[i].n : d->n_alerts_other;

		for (int s = 0; s < 3; s++) {
			json_object *o;

			if (!n[s])
				continue;
			o = json_object_new_object();
			json_object_object_add(o, "rule",
					       json_object_new_string(i < d->n_alert_rules
									  ? d->alert_rules[i].rule
									  : "other"));
			json_object_object_add(o, "severity", json_object_new_string(sev[s]));
			json_object_object_add(o, "count", json_object_new_uint64(n[s]));
			json_object_array_add(al, o);
		}
	}
	json_object_object_add(a, "alerts", al);
	for (int k = 1; k < DAEMON_ACTION_KINDS; k++)
		for (int ok = 0; ok < 2; ok++) {
			json_object *o;

			if (!d->n_actions_by[k][ok])
				continue;
			o = json_object_new_object();
			json_object_object_add(o, "kind",
					       json_object_new_string(action_kind_name(k)));
			json_object_object_add(o, "result",
					       json_object_new_string(ok ? "ok" : "failed"));
			json_object_object_add(o, "count",
					       json_object_new_uint64(d->n_actions_by[k][ok]));
			json_object_array_add(ac, o);
		}
	json_object_object_add(a, "actions", ac);
	json_object_object_add(a, "events", json_object_new_uint64(d->n_events));
	json_object_object_add(a, "bad_events", json_object_new_uint64(d->n_bad_events));
	json_object_object_add(a, "containers", json_object_new_int(inventory_count(&d->inv)));
	for (int i = 0; i < PROMPTS_MAX; i++)
		n_pending += d->prompts.p[i].id != 0;
	json_object_object_add(a, "pending", json_object_new_int(n_pending));
	json_object_object_add(a, "registry_names",
			       json_object_new_uint64(registry_count(d->registry)));
	return a;
}

/* Egress decisions per domain and per container (access.c: at most 4096 of each, the rest
 * as "(other)") and the last 50 decisions, newest last. */
static json_object *cmd_egress(struct daemon *d, json_object *req, int slot)
{
	json_object *a = answer(1, NULL);

	json_object_object_add(a, "egress", access_stats(d->access));
	return a;
}

/* Learn mode: {"op": "start|stop|status|show", "image": I} (learnrec.h). */
static json_object *cmd_learn(struct daemon *d, json_object *req, int slot)
{
	return learnrec_command(d, req);
}

const struct control_cmd control_cmds[] = {
    {"status", "", "moat run's state: containers, counters, files", cmd_status},
    {"stats", "", "egress statistics (moat stats): decisions, rules, and the status", cmd_stats},
    {"pending", "", "the open egress prompts (moat prompt --list)", cmd_pending},
    {"decide", "id choice", "decide prompt id: allow|deny-once|domain|ip (moat prompt)",
     cmd_decide},
    {"reload", "", "reload the configuration, lists, rules and policies (as SIGHUP)", cmd_reload},
    {"registry", "q", "DNS registry entries matching q (moat registry)", cmd_registry},
    {"pause", "container", "pause a container; answers once done (moat pause)", cmd_pause},
    {"resume", "container", "resume a container; answers once done (moat resume)", cmd_resume},
    {"resources", "container history",
     "resource stats per container, with history (moat stats --resources)", cmd_resources},
    {"rules", "reload",
     "the egress rules in force (at most 1000 listed); reload: read the file "
     "again first",
     cmd_rules},
    {"policies", "", "the container-guard policies in force", cmd_policies},
    {"counters", "",
     "kernel counters per program, alerts per rule and severity, actions per kind and result",
     cmd_counters},
    {"egress", "", "egress decisions per domain and container, and the last 50 (bounded)",
     cmd_egress},
    {"learn", "op image",
     "learn mode: start or stop learning an image (\"*\": all), its status, its baseline "
     "(moat learn)",
     cmd_learn},
};
const size_t n_control_cmds = sizeof(control_cmds) / sizeof(control_cmds[0]);

const struct control_cmd *ctlcmds_find(const char *name)
{
	for (size_t i = 0; name && i < n_control_cmds; i++)
		if (!strcmp(control_cmds[i].name, name))
			return &control_cmds[i];
	return NULL;
}

/* The answer to an unknown command: the served ones, in the error and as a list. */
static json_object *unknown(void)
{
	char msg[256];
	size_t off = (size_t)snprintf(msg, sizeof(msg), "unknown cmd; use");
	json_object *a, *list = json_object_new_array();

	for (size_t i = 0; i < n_control_cmds; i++) {
		json_object *o = json_object_new_object();

		if (off < sizeof(msg))
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s %s",
						i == 0			  ? ""
						: i + 1 == n_control_cmds ? " or"
									  : ",",
						control_cmds[i].name);
		json_object_object_add(o, "cmd", json_object_new_string(control_cmds[i].name));
		json_object_object_add(o, "args", json_object_new_string(control_cmds[i].args));
		json_object_object_add(o, "help", json_object_new_string(control_cmds[i].help));
		json_object_array_add(list, o);
	}
	a = answer(0, msg);
	json_object_object_add(a, "commands", list);
	return a;
}

void ctlcmds_serve(struct daemon *d, int slot, json_object *req)
{
	const struct control_cmd *cmd = ctlcmds_find(req_str(req, "cmd", ""));
	json_object *a = cmd ? cmd->run(d, req, slot) : unknown();

	if (a)
		control_server_reply(&d->ctl, slot, a);
	json_object_put(req);
}
