/* test_cidr.c - network prefixes (src/lib/cidr.c): parsing, host bits, bad input. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "test.h"
#include "cidr.h"

static void test_cidr(void)
{
	struct cidr c;
	char buf[64];

	CHECK(cidr_parse("10.1.2.3/8", &c) == 0 && c.family == AF_INET && c.prefixlen == 8 &&
		  !strcmp(inet_ntop(AF_INET, c.addr, buf, sizeof(buf)), "10.0.0.0"),
	      "cidr v4 host bits cleared", "%s/%d", buf, c.prefixlen);
	CHECK(cidr_parse("172.29.0.9", &c) == 0 && c.prefixlen == 32, "bare v4 is /32", "prefix %d",
	      c.prefixlen);
	CHECK(cidr_parse("fd00:6d6f:6174::1/48", &c) == 0 && c.family == AF_INET6 &&
		  c.prefixlen == 48 &&
		  !strcmp(inet_ntop(AF_INET6, c.addr, buf, sizeof(buf)), "fd00:6d6f:6174::"),
	      "cidr v6", "%s/%d", buf, c.prefixlen);
	CHECK(cidr_parse("10.0.0.0/33", &c) == -EINVAL, "v4 prefix > 32 rejected", "accepted");
	CHECK(cidr_parse("10.0.0.0/", &c) == -EINVAL, "empty prefix rejected", "accepted");
	CHECK(cidr_parse("10.0.0.0/8x", &c) == -EINVAL, "junk after prefix rejected", "accepted");
	CHECK(cidr_parse("example.com", &c) == -EINVAL, "name rejected", "accepted");
	CHECK(cidr_parse("0.0.0.0/0", &c) == 0 && c.prefixlen == 0, "default route accepted",
	      "rejected");
}

int main(void)
{
	test_cidr();
	return TEST_EXIT();
}
