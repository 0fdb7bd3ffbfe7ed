/* dnsmatch.h - which DNS answers count: the userspace half of DNS query/answer matching.
 *
 * The matching itself is done in the kernel (bpf/dns.bpf.c), where the packets are: each
 * query a socket sends is remembered in its sock_state (id, question name and type, server
 * address and port, 15 s), and an answer is MOAT_DNS_F_VERIFIED only when it is the first
 * answer to such a query, on the socket that asked, from the server it asked
 * (dns__verify_answer), and not from an address no resolver could have sent it from
 * (dns__untrusted: MOAT_DNS_F_UNTRUSTED, never verified). tests/bpf/test_dns.c tests that
 * half with crafted packets. What userspace keeps is the verdict on each event: this module
 * reads the kernel's flags and says what moat run does with the event, so a container
 * cannot explain its direct connections, open a prompt or feed the registry with an answer
 * the kernel did not verify. docs/design.md, "Which DNS answers count". */
#ifndef MOAT_DNSMATCH_H
#define MOAT_DNSMATCH_H

#include <stdint.h>

#include "moat/events.h"

/* What to do with one DNS event. */
enum dnsmatch_verdict {
	DNSMATCH_NOT_DNS = 0, /* not a DNS event: not this module's */
	DNSMATCH_QUERY,	      /* a query: the kernel remembers it for its answer; nothing to do */
	DNSMATCH_FORGED,      /* an answer no resolver could have sent (MOAT_DNS_F_UNTRUSTED):
				 to the detections (dns-forged), never recorded */
	DNSMATCH_UNSOLICITED, /* an answer that matches no open query of its socket (or a
				 response the container sent): dropped, never recorded */
	DNSMATCH_HELD,	      /* verified, held back in interactive mode: ask (moat prompt) */
	DNSMATCH_VERIFIED,    /* verified: record it (registry, access log) */
};

/* Counters of the answers that did not count (moat status). */
struct dnsmatch_stats {
	uint64_t untrusted;   /* DNSMATCH_FORGED */
	uint64_t unsolicited; /* DNSMATCH_UNSOLICITED */
};

/* The verdict on the DNS event q (a checked event: event_decode). The flags are read in
 * order of distrust: untrusted beats verified, and held counts only on a verified answer.
 * Counts the answers that do not count into st (may be NULL). */
enum dnsmatch_verdict dnsmatch_classify(const struct moat_dns_event *q, struct dnsmatch_stats *st);

/* The verdict's name ("verified", "forged", ...), for logs and tests. */
const char *dnsmatch_verdict_name(enum dnsmatch_verdict v);

#endif /* MOAT_DNSMATCH_H */
