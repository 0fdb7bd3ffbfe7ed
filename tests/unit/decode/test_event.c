/* test_event.c - checking and naming ring-buffer records (src/decode/event.c): sizes, the
 * DNS event's bounds, the type mask. No kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "test.h"
#include "event.h"

static void test_decode(void)
{
	struct moat_net_event n = {.hdr = {.type = MOAT_EV_CONNECT, .size = sizeof(n)}};
	struct moat_exec_event x = {.hdr = {.type = MOAT_EV_EXEC, .size = sizeof(x)}};
	char small[8] = {0};

	CHECK(event_decode(&n, sizeof(n)) == (void *)&n, "decode accepts a connect event",
	      "rejected");
	CHECK(event_decode(small, sizeof(small)) == NULL && errno == EINVAL,
	      "decode rejects a record shorter than the header", "accepted");
	n.hdr.size = sizeof(n) - 4;
	CHECK(event_decode(&n, sizeof(n)) == NULL && errno == EINVAL,
	      "decode rejects a size that does not match the type", "accepted");
	n.hdr.size = sizeof(n) + 4;
	CHECK(event_decode(&n, sizeof(n)) == NULL, "decode rejects a size beyond the record",
	      "accepted");
	n.hdr.type = 99;
	n.hdr.size = sizeof(n);
	CHECK(event_decode(&n, sizeof(n)) == NULL && errno == ENOTSUP,
	      "decode rejects an unknown type", "accepted");
	CHECK(event_decode(&x, sizeof(x)) != NULL, "decode accepts an exec event", "rejected");
}

/* DNS events end after their last used slot (MOAT_DNS_EVENT_SIZE). */
static void test_decode_dns(void)
{
	struct moat_dns_event *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	d->hdr.type = MOAT_EV_DNS_QUERY;
	d->hdr.size = MOAT_DNS_EVENT_SIZE(0, 0);
	CHECK(MOAT_DNS_EVENT_SIZE(0, 0) == 368 && MOAT_DNS_EVENT_SIZE(2, 0) == 416 &&
		  MOAT_DNS_EVENT_SIZE(16, 4) == sizeof(*d),
	      "DNS event sizes: query 368, two addresses 416, full struct at 4 CNAMEs", "%u %u %u",
	      MOAT_DNS_EVENT_SIZE(0, 0), MOAT_DNS_EVENT_SIZE(2, 0), MOAT_DNS_EVENT_SIZE(16, 4));
	CHECK(event_decode(d, d->hdr.size) == &d->hdr, "decode accepts a 368-byte DNS query",
	      "rejected");
	d->hdr.type = MOAT_EV_DNS_ANSWER;
	d->n_addrs = 2;
	CHECK(event_decode(d, d->hdr.size) == NULL && errno == EINVAL,
	      "decode rejects a DNS answer shorter than its address count", "accepted");
	d->hdr.size = MOAT_DNS_EVENT_SIZE(2, 0);
	CHECK(event_decode(d, d->hdr.size) != NULL, "decode accepts an answer with 2 addresses",
	      "rejected");
	d->n_cnames = 1;
	CHECK(event_decode(d, d->hdr.size) == NULL,
	      "decode rejects an answer whose CNAME slot is missing", "accepted");
	d->hdr.size = MOAT_DNS_EVENT_SIZE(2, 1);
	CHECK(event_decode(d, d->hdr.size) != NULL, "decode accepts an answer with a CNAME",
	      "rejected");
	d->n_addrs = MOAT_DNS_MAX_ADDRS + 1;
	CHECK(event_decode(d, d->hdr.size) == NULL, "decode rejects an address count past 16",
	      "accepted");
	d->n_addrs = 0;
	d->n_cnames = 0;
	d->hdr.size = MOAT_DNS_EVENT_FIXED - 8;
	CHECK(event_decode(d, sizeof(*d)) == NULL, "decode rejects a DNS event cut before its name",
	      "accepted");
	free(d);
}

static void test_type_mask(void)
{
	uint32_t m;
	const char *bad = NULL;

	CHECK(event_type_mask("exec,connect", &m, &bad) == 0 &&
		  m == (1u << MOAT_EV_EXEC | 1u << MOAT_EV_CONNECT),
	      "type list exec,connect", "mask %#x", m);
	CHECK(event_type_mask("dns", &m, &bad) == 0 &&
		  m == (1u << MOAT_EV_DNS_QUERY | 1u << MOAT_EV_DNS_ANSWER),
	      "type 'dns' means queries and answers", "mask %#x", m);
	CHECK(event_type_mask("exec,bogus", &m, &bad) == -EINVAL && bad && !strcmp(bad, "bogus"),
	      "unknown type is named", "bad=%s", bad ? bad : "(null)");
	CHECK(event_type_mask("exec,,connect", &m, &bad) == -EINVAL, "empty type rejected",
	      "accepted");
}

int main(void)
{
	test_decode();
	test_decode_dns();
	test_type_mask();
	return TEST_EXIT();
}
