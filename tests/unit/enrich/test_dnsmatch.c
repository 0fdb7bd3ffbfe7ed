/* test_dnsmatch.c - which DNS answers count (src/enrich/dnsmatch.c): the kernel's verdict
 * flags on events built as bpf/dns.bpf.c builds them, and every combination of flags a
 * record could carry. The kernel half of the matching is tests/bpf/test_dns.c's. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "dnsmatch.h"
#include "event.h"

/* An answer as dns__handle reports it: a checked, variable-size event. */
static struct moat_dns_event *answer(uint16_t flags)
{
	struct moat_dns_event *q = calloc(1, sizeof(*q));

	if (!q)
		abort();
	q->hdr.type = MOAT_EV_DNS_ANSWER;
	q->hdr.size = MOAT_DNS_EVENT_SIZE(1, 0);
	q->id = 0x1234;
	q->qtype = 1;
	q->flags = flags;
	q->n_addrs = 1;
	q->addrs[0].family = 2;
	q->addrs[0].ttl = 60;
	memcpy(q->addrs[0].addr, "\x5d\xb8\xd8\x22", 4);
	snprintf(q->qname, sizeof(q->qname), "example.com");
	return q;
}

static enum dnsmatch_verdict classify(uint16_t flags, struct dnsmatch_stats *st)
{
	struct moat_dns_event *q = answer(flags);
	enum dnsmatch_verdict v;

	if (!event_decode(q, q->hdr.size))
		abort(); /* the events here must be ones the decoder passes */
	v = dnsmatch_classify(q, st);
	free(q);
	return v;
}

static void test_verdicts(void)
{
	struct dnsmatch_stats st = {0};
	struct moat_dns_event *q = answer(0);

	CHECK_EQ_STR(dnsmatch_verdict_name(classify(MOAT_DNS_F_VERIFIED, &st)), "verified",
		     "a verified answer counts");
	CHECK_EQ_STR(dnsmatch_verdict_name(classify(MOAT_DNS_F_VERIFIED | MOAT_DNS_F_HELD, &st)),
		     "held", "a verified answer held back in interactive mode is asked about");
	CHECK_EQ_STR(dnsmatch_verdict_name(classify(0, &st)), "unsolicited",
		     "an answer that matched no query of its socket does not count");
	CHECK_EQ_STR(dnsmatch_verdict_name(classify(MOAT_DNS_F_UNTRUSTED, &st)), "forged",
		     "an answer from where no resolver could answer is forged");
	CHECK_EQ_INT(st.untrusted, 1, "the forged answer is counted");
	CHECK_EQ_INT(st.unsolicited, 1, "the unsolicited answer is counted");
	CHECK_EQ_STR(dnsmatch_verdict_name(classify(
			 MOAT_DNS_F_UNTRUSTED | MOAT_DNS_F_VERIFIED | MOAT_DNS_F_HELD, NULL)),
		     "forged", "untrusted beats verified and held (and st may be NULL)");
	CHECK_EQ_STR(dnsmatch_verdict_name(classify(MOAT_DNS_F_HELD, NULL)), "unsolicited",
		     "held without verified opens no prompt");
	CHECK_EQ_STR(dnsmatch_verdict_name(classify(MOAT_DNS_F_OUTBOUND, NULL)), "unsolicited",
		     "a response the container sent (outbound) does not count");
	q->hdr.type = MOAT_EV_DNS_QUERY;
	q->flags = MOAT_DNS_F_VERIFIED;
	st = (struct dnsmatch_stats){0};
	CHECK(dnsmatch_classify(q, &st) == DNSMATCH_QUERY && !st.untrusted && !st.unsolicited,
	      "a query is left to the kernel and counted as nothing", "verdict %s",
	      dnsmatch_verdict_name(dnsmatch_classify(q, NULL)));
	q->hdr.type = MOAT_EV_CONNECT;
	CHECK(dnsmatch_classify(q, &st) == DNSMATCH_NOT_DNS && dnsmatch_classify(NULL, &st) == 0,
	      "other events and NULL are not DNS", "classified");
	free(q);
}

/* Every flag word an answer could carry, parse errors and all: an answer counts (verified or
 * held) exactly when the kernel verified it and did not distrust it, and is held exactly
 * when the held bit is set on such an answer. Each answer that does not count is counted
 * once. */
static void test_every_flag_word(void)
{
	struct dnsmatch_stats st = {0};
	unsigned bad = 0, counted = 0, n_counts = 0, first_bad = 0;

	for (unsigned f = 0; f <= 0xffff; f++) {
		enum dnsmatch_verdict v = classify((uint16_t)f, &st);
		int ok = (f & MOAT_DNS_F_VERIFIED) && !(f & MOAT_DNS_F_UNTRUSTED);
		enum dnsmatch_verdict want =
		    !ok ? ((f & MOAT_DNS_F_UNTRUSTED) ? DNSMATCH_FORGED : DNSMATCH_UNSOLICITED)
		    : (f & MOAT_DNS_F_HELD) ? DNSMATCH_HELD
					    : DNSMATCH_VERIFIED;

		if (v != want && !bad++)
			first_bad = f;
		counted += v == DNSMATCH_VERIFIED || v == DNSMATCH_HELD;
		n_counts += !ok;
	}
	CHECK(!bad, "all 65536 flag words get the verdict the kernel's flags mean",
	      "%u wrong, first flags 0x%04x", bad, first_bad);
	CHECK_EQ_INT(counted, 0x10000 / 4, "a quarter of them (verified, not untrusted) count");
	CHECK_EQ_INT(st.untrusted + st.unsolicited, n_counts,
		     "every answer that does not count is counted once");
}

int main(void)
{
	test_verdicts();
	test_every_flag_word();
	return TEST_EXIT();
}
