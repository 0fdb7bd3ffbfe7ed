/* cidr.c - parsing networks (cidr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int cidr_parse(const char *s, struct cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = 0;
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	out->prefixlen = max;
	if (slash) {
		char *end;
		long p;

		errno = 0;
		p = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || p < 0 || p > max)
			return -EINVAL;
		out->prefixlen = (int)p;
	}
	for (int bit = out->prefixlen; bit < max; bit++)
		out->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}
