/* prompts.c - interactive egress: the prompt table, and moat run's decisions on it
 * (prompts.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "alert.h"
#include "daemon_int.h"
#include "live.h"
#include "event.h"
#include "log.h"
#include "netrules.h"
#include "prompts.h"
#include "rulesets.h"
#include "settings.h"

/* ---- the table ------------------------------------------------------------------------- */

struct prompt *prompt_table_open(struct prompt_table *t, const struct moat_dns_event *q,
				 const char *ct_id, const char *ct_name, int64_t now,
				 uint32_t timeout_s, int *err)
{
	struct prompt *p = NULL;
	char addr[64];
	int mine = 0;

	for (int i = 0; i < PROMPTS_MAX; i++) {
		struct prompt *x = &t->p[i];

		if (x->id && !strcmp(x->domain, q->qname) && !strcmp(x->container_id, ct_id)) {
			*err = -EEXIST; /* already asked; the resolver is retrying */
			return NULL;
		}
		mine += x->id && !strcmp(x->container_id, ct_id);
		if (!x->id && !p)
			p = x;
	}
	/* Fair share: one container asking for many names fills its own PROMPTS_PER_CT slots,
	 * never the others'. Its other answers stay held; its resolver retries. */
	if (mine >= PROMPTS_PER_CT || !p) {
		t->n_refused++;
		*err = p ? -EDQUOT : -ENOSPC;
		return NULL;
	}
	memset(p, 0, sizeof(*p));
	p->id = ++t->next_id;
	snprintf(p->container_id, sizeof(p->container_id), "%s", ct_id);
	snprintf(p->container_name, sizeof(p->container_name), "%s", ct_name);
	snprintf(p->comm, sizeof(p->comm), "%.*s", MOAT_COMM_LEN, q->hdr.comm);
	snprintf(p->domain, sizeof(p->domain), "%s", q->qname);
	p->pid = q->hdr.pid;
	for (unsigned i = 0; i < q->n_addrs && i < PROMPT_MAX_ADDRS; i++)
		snprintf(p->addrs[p->n_addrs++], sizeof(p->addrs[0]), "%s",
			 event_addr_str(q->addrs[i].family, q->addrs[i].addr, addr, sizeof(addr)));
	p->asked_s = now;
	p->expires_s = now + timeout_s;
	*err = 0;
	return p;
}

struct prompt *prompt_table_find(struct prompt_table *t, uint32_t id)
{
	for (int i = 0; i < PROMPTS_MAX; i++)
		if (id && t->p[i].id == id)
			return &t->p[i];
	return NULL;
}

int prompt_choice(const char *choice, int *allow)
{
	static const struct {
		const char *name;
		int scope, allow;
	} choices[] = {
	    {"allow-once", PROMPT_ONCE, 1},	{"deny-once", PROMPT_ONCE, 0},
	    {"allow-domain", PROMPT_DOMAIN, 1}, {"deny-domain", PROMPT_DOMAIN, 0},
	    {"allow-ip", PROMPT_IP, 1},		{"deny-ip", PROMPT_IP, 0},
	};

	for (size_t i = 0; choice && i < sizeof(choices) / sizeof(choices[0]); i++)
		if (!strcmp(choice, choices[i].name)) {
			*allow = choices[i].allow;
			return choices[i].scope;
		}
	return -EINVAL;
}

struct once_rule *prompt_table_once(struct prompt_table *t, const struct prompt *p, int allow,
				    uint32_t set, int64_t now)
{
	struct once_rule *o = NULL;

	for (int i = 0; i < PROMPTS_MAX && !o; i++)
		if (!t->once[i].until_s)
			o = &t->once[i];
	if (!o)
		o = &t->once[p->id % PROMPTS_MAX];
	snprintf(o->domain, sizeof(o->domain), "%s", p->domain);
	o->action = allow ? MOAT_ACT_ALLOW : MOAT_ACT_DENY;
	o->kernel_id = MOAT_RULE_ONCE_BASE + p->id;
	o->until_s = now + ONCE_RULE_S;
	o->set = set;
	return o;
}

int prompt_table_expire_once(struct prompt_table *t, int64_t now)
{
	int n = 0;

	for (int i = 0; i < PROMPTS_MAX; i++)
		if (t->once[i].until_s && t->once[i].until_s <= now) {
			memset(&t->once[i], 0, sizeof(t->once[i]));
			n++;
		}
	return n;
}

/* One pending prompt as `moat prompt --list --json`, GET /api/prompts and the live feed's
 * "prompt" message show it (new reference). */
static json_object *prompt_json(const struct prompt *p, int64_t now)
{
	json_object *o = json_object_new_object(), *addrs = json_object_new_array();
	char when[40];

	alert_format_time(p->asked_s * 1000000000LL, when, sizeof(when));
	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "container", json_object_new_string(p->container_name));
	json_object_object_add(o, "pid", json_object_new_int64(p->pid));
	json_object_object_add(o, "comm", json_object_new_string(p->comm));
	json_object_object_add(o, "domain", json_object_new_string(p->domain));
	for (int k = 0; k < p->n_addrs; k++)
		json_object_array_add(addrs, json_object_new_string(p->addrs[k]));
	json_object_object_add(o, "addresses", addrs);
	json_object_object_add(o, "asked", json_object_new_string(when));
	json_object_object_add(o, "expires_in_s", json_object_new_int64(p->expires_s - now));
	return o;
}

json_object *prompt_table_json(const struct prompt_table *t, int64_t now)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < PROMPTS_MAX; i++)
		if (t->p[i].id)
			json_object_array_add(arr, prompt_json(&t->p[i], now));
	return arr;
}

/* ---- moat run's decisions -------------------------------------------------------------- */

void prompts_ask(struct daemon *d, const struct moat_dns_event *q, const struct container_info *c)
{
	struct alert a;
	int err;
	struct prompt *p = prompt_table_open(&d->prompts, q, c ? c->id : "", c ? c->name : "",
					     clock_unix_s(), d->cfg.prompt_timeout_s, &err);

	if (err == -EDQUOT)
		log_debug("container %s has %d open prompts; %.255s stays held", c ? c->name : "?",
			  PROMPTS_PER_CT, q->qname);
	else if (err == -ENOSPC)
		log_warn("too many open prompts; %s stays held until one is decided", q->qname);
	if (!p)
		return;
	alert_start(&a, d->dx.offset_ns + (int64_t)q->hdr.ts_ns, ALERT_WARNING, "egress-prompt",
		    "network", p->container_id, p->container_name, c ? c->image : NULL);
	snprintf(a.message, sizeof(a.message),
		 "Network access request %u: %s (%s) asks for %s; decide with 'moat prompt' within "
		 "%us",
		 p->id, p->comm, p->container_name[0] ? p->container_name : "host", p->domain,
		 d->cfg.prompt_timeout_s);
	respond_emit(d, &a);
	alert_release(&a);
	if (d->live)
		live_publish(d->live, "prompt", prompt_json(p, clock_unix_s()));
}

int prompts_decide(struct daemon *d, struct prompt *p, const char *choice, int timed_out)
{
	int allow = 0, scope = prompt_choice(choice, &allow);
	struct access_entry e = {.time_ns = clock_unix_s() * 1000000000LL,
				 .kind = "decision",
				 .container_id = p->container_id,
				 .container_name = p->container_name,
				 .pid = p->pid,
				 .comm = p->comm,
				 .domain = p->domain,
				 .address = p->n_addrs ? p->addrs[0] : "",
				 .verdict = allow ? "allow" : "deny",
				 .rule = choice};
	const struct container_info *c =
	    p->container_id[0] ? inventory_find(&d->inv, p->container_id) : NULL;
	const char *path;
	uint32_t base, set;
	/* Domain decisions go to the asking container's rule set (its policy's own, or the
	 * global one); IP rules are global. */
	struct ruleset *rs = settings_egress_set(d, c, &base, &set, &path);
	int err = 0;

	if (scope < 0)
		return -EINVAL;
	if (scope == PROMPT_ONCE) {
		prompt_table_once(&d->prompts, p, allow, set, clock_unix_s());
		err = rulesets_commit(d);
	} else if (scope == PROMPT_DOMAIN) {
		err = rules_add(rs, allow ? RULE_ALLOW_DOMAIN : RULE_DENY_DOMAIN, p->domain,
				"moat prompt");
	} else {
		rs = &d->egress;
		path = d->cfg.egress_rules;
		for (int i = 0; i < p->n_addrs && err >= 0; i++)
			err = rules_add(rs, allow ? RULE_ALLOW_IP : RULE_DENY_IP, p->addrs[i],
					"moat prompt");
	}
	if (err >= 0 && scope != PROMPT_ONCE) {
		/* "Always" choices are written to the rules file, then applied. */
		err = rules_save(rs, path);
		if (err)
			log_error("cannot write %s: %s; the decision holds until moat run exits",
				  path, strerror(-err));
		err = rulesets_commit(d);
	}
	access_record(d->access, &e);
	log_info("prompt %u (%s, %s): %s%s", p->id, p->container_name, p->domain, choice,
		 timed_out ? " (no decision in time)" : "");
	if (d->live) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(p->id));
		json_object_object_add(o, "choice",
				       json_object_new_string(timed_out ? "timeout" : choice));
		live_publish(d->live, "prompt-closed", o);
	}
	memset(p, 0, sizeof(*p));
	return err < 0 ? err : 0;
}

void prompts_tick(struct daemon *d)
{
	int64_t now = clock_unix_s();

	/* A file rule for the same name comes back with the once-decision gone. */
	if (prompt_table_expire_once(&d->prompts, now))
		rulesets_commit(d);
	for (int i = 0; i < PROMPTS_MAX; i++)
		if (d->prompts.p[i].id && d->prompts.p[i].expires_s <= now)
			prompts_decide(d, &d->prompts.p[i], "deny-once", 1);
}
