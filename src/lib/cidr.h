/* cidr.h - an IPv4 or IPv6 network (address and prefix length), as rules and lists name
 * them. */
#ifndef MOAT_CIDR_H
#define MOAT_CIDR_H

#include <stdint.h>

struct cidr {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order, host bits cleared */
	int prefixlen;	  /* 0..32 or 0..128 */
};

/* Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128).
 * Host bits beyond the prefix are cleared. Returns 0 or -EINVAL. */
int cidr_parse(const char *s, struct cidr *out);

#endif /* MOAT_CIDR_H */
