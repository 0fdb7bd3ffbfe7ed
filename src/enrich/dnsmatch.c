/* dnsmatch.c - which DNS answers count: the kernel's verdict flags read into what moat run
 * does with a DNS event (dnsmatch.h). */
#include <stddef.h>

#include "dnsmatch.h"

enum dnsmatch_verdict dnsmatch_classify(const struct moat_dns_event *q, struct dnsmatch_stats *st)
{
	if (!q || (q->hdr.type != MOAT_EV_DNS_QUERY && q->hdr.type != MOAT_EV_DNS_ANSWER))
		return DNSMATCH_NOT_DNS;
	if (q->hdr.type == MOAT_EV_DNS_QUERY)
		return DNSMATCH_QUERY;
	if (q->flags & MOAT_DNS_F_UNTRUSTED) {
		if (st)
			st->untrusted++;
		return DNSMATCH_FORGED;
	}
	if (!(q->flags & MOAT_DNS_F_VERIFIED)) {
		if (st)
			st->unsolicited++;
		return DNSMATCH_UNSOLICITED;
	}
	return q->flags & MOAT_DNS_F_HELD ? DNSMATCH_HELD : DNSMATCH_VERIFIED;
}

const char *dnsmatch_verdict_name(enum dnsmatch_verdict v)
{
	switch (v) {
	case DNSMATCH_QUERY: return "query";
	case DNSMATCH_FORGED: return "forged";
	case DNSMATCH_UNSOLICITED: return "unsolicited";
	case DNSMATCH_HELD: return "held";
	case DNSMATCH_VERIFIED: return "verified";
	default: return "not-dns";
	}
}
