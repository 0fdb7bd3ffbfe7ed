/* dispatch.c - kernel events: decode, enrich, DNS verdicts, access log, detect, alert, act
 * (dispatch.h). */
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "chain.h"
#include "copycheck.h"
#include "daemon_int.h"
#include "dispatch.h"
#include "event.h"
#include "export.h"
#include "learnrec.h"
#include "log.h"
#include "registry.h"
#include "settings.h"

#define MAX_ALERTS 4 /* alerts one event may raise */

/* A DNS answer for a container under egress rules: what the kernel decided
 * for the name (recomputed the same way from the same rules). */
static void access_dns(struct daemon *d, const struct moat_dns_event *q,
		       const struct container_info *c)
{
	const struct rule *r = NULL;
	uint32_t base, set;
	const struct ruleset *rs = settings_egress_set(d, c, &base, &set, NULL);
	int act = rules_decide(rs, q->qname, &r);
	json_object *addrs = json_object_new_array();
	char a[64], comm[MOAT_COMM_LEN + 1];
	struct access_entry e = {
	    .time_ns = d->dx.offset_ns + (int64_t)q->hdr.ts_ns,
	    .kind = "dns",
	    .container_id = c->id,
	    .container_name = c->name,
	    .pid = q->hdr.pid,
	    .comm = comm,
	    .domain = q->qname,
	    .addresses = addrs,
	    .verdict = act == MOAT_ACT_DENY ? "deny" : "allow",
	    .rule_id = r ? base + r->id : base,
	    .rule = r ? r->match : (rs->default_deny ? "default deny" : "default allow"),
	};

	snprintf(comm, sizeof(comm), "%.*s", MOAT_COMM_LEN, q->hdr.comm);
	for (unsigned i = 0; i < q->n_addrs && i < MOAT_DNS_MAX_ADDRS; i++)
		json_object_array_add(
		    addrs, json_object_new_string(
			       event_addr_str(q->addrs[i].family, q->addrs[i].addr, a, sizeof(a))));
	access_record(d->access, &e);
	json_object_put(addrs);
}

/* A connect or send from a container under egress rules: the kernel's
 * verdict, the rule, and the name that explains the address, if any. */
static void access_net(struct daemon *d, const struct moat_net_event *n,
		       const struct container_info *c)
{
	char a[64], comm[MOAT_COMM_LEN + 1];
	uint32_t base, set;
	const struct ruleset *rs = settings_egress_set(d, c, &base, &set, NULL);
	const struct rule *r = rules_by_kernel_id(rs, base, n->rule_id);
	const char *name =
	    d->registry ? registry_explains(d->registry, c->id, n->family, n->daddr, clock_unix_s())
			: NULL;
	struct access_entry e = {
	    .time_ns = d->dx.offset_ns + (int64_t)n->hdr.ts_ns,
	    .kind = n->hdr.type == MOAT_EV_CONNECT ? "connect" : "sendmsg",
	    .container_id = c->id,
	    .container_name = c->name,
	    .pid = n->hdr.pid,
	    .comm = comm,
	    .domain = name ? name : "",
	    .address = event_addr_str(n->family, n->daddr, a, sizeof(a)),
	    .port = n->dport,
	    .verdict = event_verdict_name(n->verdict),
	    .rule_id = n->rule_id,
	    .rule = r				       ? r->match
		    : n->rule_id == MOAT_RULE_RESOLVER ? "resolver"
		    : n->rule_id == base ? (rs->default_deny ? "default deny" : "default allow")
		    : n->scope == MOAT_SCOPE_NONE ? "no rule: default deny"
						  : "",
	};

	snprintf(comm, sizeof(comm), "%.*s", MOAT_COMM_LEN, n->hdr.comm);
	access_record(d->access, &e);
}

/* Queue the renamed-copy check of an exec whose names matched nothing. A container that
 * execs new files faster than the checker's per-container budget has the rest skipped and
 * counted (status: copycheck_skipped), and a WARNING says so once per dedup window. */
static void submit_copycheck(struct daemon *d, const struct moat_exec_event *e,
			     const struct container_info *c)
{
	struct copycheck_job *job = malloc(sizeof(*job));
	int err;

	if (!job)
		return;
	job->ev = *e;
	snprintf(job->container_id, sizeof(job->container_id), "%s", c->id);
	job->pid = c->pid;
	err = copycheck_submit(d->copycheck, job);
	free(job);
	if (!err)
		return;
	d->n_copycheck_skipped++;
	if (!dedup_seen(d->dedup, "exec-unchecked", c->id, "", clock_unix_s())) {
		struct alert a;

		alert_start(&a, d->dx.offset_ns + (int64_t)e->hdr.ts_ns, ALERT_WARNING,
			    "exec-unchecked", "process", c->id, c->name, c->image);
		snprintf(a.message, sizeof(a.message),
			 "Container %s runs new programs faster than moat can check them for "
			 "renamed copies of shells (%d waiting); the rest are not checked",
			 c->name, COPYCHECK_PER_CT);
		respond_emit(d, &a);
		alert_release(&a);
	}
}

static const struct container_info *lookup(void *ud, uint64_t cgid)
{
	return inventory_lookup(&((struct daemon *)ud)->inv, cgid);
}

/* What only a live daemon does with a DNS event the chain sorted (chain.h): learn mode for
 * queries and verified answers, prompts for held answers, the access log for verified ones.
 * Returns how many alerts it added into alerts (at most max). */
static int on_dns(struct daemon *d, const struct moat_dns_event *q, const struct chain_out *o,
		  struct alert *alerts, int max)
{
	switch (o->dns) {
	case DNSMATCH_QUERY:
		return learnrec_dns(d, q, inventory_lookup(&d->inv, q->hdr.cgroup_id), alerts, max);
	case DNSMATCH_UNSOLICITED:
		log_debug("DNS answer for %.255s (id %u) matches no query of its socket; "
			  "not recorded",
			  q->qname, q->id);
		return 0;
	case DNSMATCH_HELD: prompts_ask(d, q, o->c); return 0;
	case DNSMATCH_VERIFIED: break;
	default: return 0; /* forged: the chain ran the detections */
	}
	d->registry_dirty |= o->recorded;
	if (o->c && settings_want_egress(d, o->c) && !d->cfg.report_only)
		access_dns(d, q, o->c);
	return learnrec_dns(d, q, o->c, alerts, max);
}

/* Hand event h to the exporter with its container and, for a connect or send, the name
 * that explains its address. */
static void to_export(struct daemon *d, const struct moat_event_hdr *h, size_t len)
{
	const struct container_info *c = inventory_lookup(&d->inv, h->cgroup_id);
	const char *name = NULL;

	if (c && d->registry && (h->type == MOAT_EV_CONNECT || h->type == MOAT_EV_SENDMSG)) {
		const struct moat_net_event *n = (const struct moat_net_event *)h;

		name = registry_explains(d->registry, c->id, n->family, n->daddr, clock_unix_s());
	}
	export_event(d->exporter, h, len, c, name, d->dx.offset_ns);
}

int dispatch_kernel_event(void *ctx, void *data, size_t len)
{
	struct daemon *d = ctx;
	const struct moat_event_hdr *h = event_decode(data, len);
	struct alert alerts[MAX_ALERTS];
	const struct container_info *c;
	struct chain_out o;
	int n;

	if (!h) {
		if (d->n_bad_events++ % 1000 == 0)
			log_warn("ring buffer record of %zu bytes is not a valid event; skipped",
				 len);
		return 0;
	}
	d->n_events++;
	if (export_wants(d->exporter, h->type))
		to_export(d, h, len);
	n = chain_event(&d->dx, &d->dns, lookup, d, h, clock_unix_s(), alerts, MAX_ALERTS, &o);
	c = o.c;
	if (o.dns != DNSMATCH_NOT_DNS) {
		n += on_dns(d, (const struct moat_dns_event *)h, &o, alerts + n, MAX_ALERTS - n);
	} else {
		if (c && (h->type == MOAT_EV_CONNECT || h->type == MOAT_EV_SENDMSG) &&
		    settings_want_egress(d, c) && !d->cfg.report_only)
			access_net(d, (const struct moat_net_event *)h, c);
		n += learnrec_event(d, h, c, alerts + n, MAX_ALERTS - n);
		if (h->type == MOAT_EV_EXEC && d->copycheck &&
		    detect_exec_wants_copy_check(&d->dx, (const struct moat_exec_event *)h, c))
			submit_copycheck(d, (const struct moat_exec_event *)h, c);
	}
	for (int i = 0; i < n; i++) {
		alerts[i].latency_ns = clock_boot_ns() - (int64_t)h->ts_ns;
		respond_emit(d, &alerts[i]);
		respond_act_on(d, &alerts[i]);
		alert_release(&alerts[i]);
	}
	return 0;
}

void dispatch_copycheck_result(struct daemon *d, const struct copycheck_result *r)
{
	const struct container_info *c = inventory_find(&d->inv, r->job.container_id);
	struct alert a;

	if (!r->cls || !c || !detect_copied_exec(&d->dx, &r->job.ev, c, r->cls, r->orig, &a))
		return;
	a.latency_ns = clock_boot_ns() - (int64_t)r->job.ev.hdr.ts_ns;
	respond_emit(d, &a);
	respond_act_on(d, &a);
	alert_release(&a);
}
