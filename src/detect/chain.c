/* chain.c - one kernel event through the detections, as moat run and moat replay take it
 * (chain.h). */
#include "chain.h"
#include "registry.h"

int chain_event(const struct detect_ctx *x, struct dnsmatch_stats *st, chain_lookup_fn lookup,
		void *ud, const struct moat_event_hdr *h, int64_t now_s, struct alert *alerts,
		int max, struct chain_out *out)
{
	const struct moat_dns_event *q = (const struct moat_dns_event *)h;

	*out = (struct chain_out){.dns = DNSMATCH_NOT_DNS};
	if (h->type != MOAT_EV_DNS_QUERY && h->type != MOAT_EV_DNS_ANSWER) {
		out->c = lookup(ud, h->cgroup_id);
		return detect_event(x, h, out->c, alerts, max);
	}
	out->dns = dnsmatch_classify(q, st);
	if (out->dns == DNSMATCH_QUERY)
		return 0;
	out->c = lookup(ud, h->cgroup_id);
	if (out->dns == DNSMATCH_FORGED)
		return detect_event(x, h, out->c, alerts, max);
	if (out->dns == DNSMATCH_VERIFIED && x->registry) {
		registry_record_event(x->registry, q, out->c ? out->c->id : "", now_s);
		out->recorded = 1;
	}
	return 0;
}
