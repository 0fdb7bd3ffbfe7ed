/* event.c - check raw ring-buffer records and name their enums. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "event.h"

static const char *const type_names[MOAT_EV_MAX] = {
    [MOAT_EV_CONNECT] = "connect",
    [MOAT_EV_SENDMSG] = "sendmsg",
    [MOAT_EV_EXEC] = "exec",
    [MOAT_EV_EXIT] = "exit",
    [MOAT_EV_DNS_QUERY] = "dns_query",
    [MOAT_EV_DNS_ANSWER] = "dns_answer",
    [MOAT_EV_SOCKET] = "socket",
    [MOAT_EV_PACKET] = "packet",
    [MOAT_EV_OOM] = "oom",
};

static const size_t type_sizes[MOAT_EV_MAX] = {
    [MOAT_EV_CONNECT] = sizeof(struct moat_net_event),
    [MOAT_EV_SENDMSG] = sizeof(struct moat_net_event),
    [MOAT_EV_EXEC] = sizeof(struct moat_exec_event),
    [MOAT_EV_EXIT] = sizeof(struct moat_exit_event),
    [MOAT_EV_DNS_QUERY] = sizeof(struct moat_dns_event),
    [MOAT_EV_DNS_ANSWER] = sizeof(struct moat_dns_event),
    [MOAT_EV_SOCKET] = sizeof(struct moat_socket_event),
    [MOAT_EV_PACKET] = sizeof(struct moat_packet_event),
    [MOAT_EV_OOM] = sizeof(struct moat_oom_event),
};

const struct moat_event_hdr *event_decode(const void *data, size_t len)
{
	const struct moat_event_hdr *h = data;

	if (len < sizeof(*h) || h->size > len) {
		errno = EINVAL;
		return NULL;
	}
	if (h->type == 0 || h->type >= MOAT_EV_MAX || !type_sizes[h->type]) {
		errno = ENOTSUP;
		return NULL;
	}
	if (h->type == MOAT_EV_DNS_QUERY || h->type == MOAT_EV_DNS_ANSWER) {
		/* Variable-size: it must hold every slot its counts claim. */
		const struct moat_dns_event *d = data;

		if (h->size < MOAT_DNS_EVENT_FIXED || h->size > sizeof(*d) ||
		    d->n_addrs > MOAT_DNS_MAX_ADDRS || d->n_cnames > MOAT_DNS_MAX_CNAMES ||
		    h->size < MOAT_DNS_EVENT_SIZE(d->n_addrs, d->n_cnames)) {
			errno = EINVAL;
			return NULL;
		}
		return h;
	}
	if (h->size != type_sizes[h->type]) {
		errno = EINVAL;
		return NULL;
	}
	return h;
}

const char *event_type_name(unsigned type)
{
	return type < MOAT_EV_MAX && type_names[type] ? type_names[type] : "unknown";
}

unsigned event_type_from_name(const char *name)
{
	for (unsigned t = 1; t < MOAT_EV_MAX; t++)
		if (type_names[t] && strcmp(type_names[t], name) == 0)
			return t;
	return 0;
}

int event_type_mask(const char *list, uint32_t *mask, const char **bad)
{
	static char word[64];
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		unsigned t;

		if (n == 0 || n >= sizeof(word)) {
			snprintf(word, sizeof(word), "%.*s", (int)(n < 63 ? n : 63), p);
			*bad = word;
			return -EINVAL;
		}
		memcpy(word, p, n);
		word[n] = 0;
		if (strcmp(word, "dns") == 0) {
			*mask |= 1u << MOAT_EV_DNS_QUERY | 1u << MOAT_EV_DNS_ANSWER;
		} else if ((t = event_type_from_name(word))) {
			*mask |= 1u << t;
		} else {
			*bad = word;
			return -EINVAL;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

const char *event_verdict_name(unsigned v)
{
	static const char *const n[] = {"allow", "deny", "would_deny"};

	return v < 3 ? n[v] : "unknown";
}

const char *event_scope_name(unsigned s)
{
	static const char *const n[] = {"none",	  "global",   "cgroup",
					"domain", "resolver", "builtin"};

	return s < 6 ? n[s] : "unknown";
}

const char *event_mode_name(unsigned m)
{
	static const char *const n[] = {"monitor", "enforce"};

	return m < 2 ? n[m] : "unknown";
}

const char *event_proto_name(unsigned p)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	case 132: return "sctp";
	case 136: return "udplite";
	case 255: return "raw";
	case 262: return "mptcp";
	default: return "other";
	}
}

const char *event_family_name(unsigned f)
{
	switch (f) {
	case 0: return "none";
	case 2: return "inet";
	case 10: return "inet6";
	case 17: return "packet";
	case 44: return "xdp";
	default: return "other";
	}
}

const char *event_socktype_name(unsigned t)
{
	static const char *const n[] = {"", "stream", "dgram", "raw", "rdm", "seqpacket"};

	return t >= 1 && t <= 5 ? n[t] : t == 10 ? "packet" : "other";
}

const char *event_sock_op_name(unsigned op)
{
	return op == MOAT_SOCK_OP_CREATE ? "socket" : op == MOAT_SOCK_OP_BIND ? "bind" : "unknown";
}

const char *event_pkt_reason_name(unsigned r)
{
	static const char *const n[] = {
	    [MOAT_PKT_R_DENIED] = "denied",
	    [MOAT_PKT_R_DNS_RESPONSE] = "dns_response",
	    [MOAT_PKT_R_SPOOF_IP] = "spoofed_ip",
	    [MOAT_PKT_R_SPOOF_MAC] = "spoofed_mac",
	    [MOAT_PKT_R_ARP_SPOOF] = "arp_spoof",
	    [MOAT_PKT_R_NOT_IP] = "not_ip",
	    [MOAT_PKT_R_ARP_GATEWAY] = "arp_gateway",
	    [MOAT_PKT_R_NDP_SPOOF] = "ndp_spoof",
	    [MOAT_PKT_R_GATEWAY_CLAIM] = "gateway_claim",
	    [MOAT_PKT_R_IP6_EXT] = "ipv6_ext_headers",
	};

	return r < sizeof(n) / sizeof(n[0]) && n[r] ? n[r] : "unknown";
}

const char *event_pkt_where_name(unsigned w)
{
	return w == MOAT_PKT_AT_SOCKET	  ? "socket"
	       : w == MOAT_PKT_AT_VETH	  ? "veth"
	       : w == MOAT_PKT_AT_VETH_IN ? "veth_in"
					  : "unknown";
}

const char *event_qtype_name(unsigned q)
{
	switch (q) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	case 255: return "ANY";
	default: return NULL;
	}
}

const char *event_rcode_name(unsigned r)
{
	static const char *const n[] = {"NOERROR",  "FORMERR", "SERVFAIL",
					"NXDOMAIN", "NOTIMP",  "REFUSED"};

	return r < 6 ? n[r] : NULL;
}

char *event_addr_str(unsigned family, const uint8_t addr[16], char *buf, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}
