/* fuzz_dns_bpf.c - the kernel's DNS parser: mutated packets through the real
 * BPF programs handle_dns_egress / handle_dns_ingress (bpf/dns.bpf.c) with
 * BPF_PROG_TEST_RUN.
 *
 * The dns skeleton is loaded with every map unpinned (nothing under
 * /sys/fs/bpf is touched); nothing is attached and no packet is sent. Run
 * as root. Each input is one packet:
 *   byte 0  bit 0 ingress (an answer from port 53) or egress (a query to it)
 *                 (in raw mode too)
 *           bit 1 IPv6, bit 2 TCP (else UDP)
 *           bit 3 TCP: the 2-byte DNS length prefix comes from bytes 1-2
 *                 (else it is the payload's length)
 *           bits 4-5 ports: 0 the server's port 53, 1 both 53, 2 the server
 *                 port from bytes 1-2, 3 port 53 on the client's side
 *           bit 6 IPv4 header with options (IHL 6) / IPv6 with a hop-by-hop
 *                 extension header
 *           bit 7 raw: the rest is the whole frame after the Ethernet header (at
 *                 least an IPv4/IPv6 header: test_run refuses less)
 *   byte 1-2 port or length prefix, byte 3 TCP flags
 *   the rest: the DNS message (or the raw frame).
 *
 * Checks on every run: the program returns 0 or 1, and every ring buffer
 * record is sane: a known DNS event type, hdr.size equal to the record's
 * size and to MOAT_DNS_EVENT_SIZE(n_addrs, n_cnames), n_addrs <= 16,
 * n_cnames <= 4, the qname and each CNAME NUL-terminated within its array,
 * address families AF_INET/AF_INET6. A failure aborts (libFuzzer saves the
 * packet). Outcomes (flags, counts, return value) are turned into code
 * coverage so that libFuzzer keeps packets that reach new parser states,
 * although the kernel's own coverage is invisible to it.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dns.skel.h"
#include "fuzz.h"
#include "moat/events.h"

#define ETH_HLEN 14
#define PKT_MAX	 3500 /* test_run takes at most a page minus head and tail room */

static struct dns_bpf *skel;
static struct ring_buffer *rb;
static int prog_fd[2]; /* egress, ingress */
static unsigned long long packets, events;
static volatile unsigned sink; /* outcome features land here */

/* Each FEATURE is its own branch: a new outcome is new coverage. */
#define FEATURE(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			sink++;                                                                    \
	} while (0)

static const __u8 ip4_client[4] = {10, 0, 0, 2}, ip4_server[4] = {10, 0, 0, 1};
static const __u8 ip6_client[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const __u8 ip6_server[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static void fail(const char *why, unsigned long long a)
{
	fprintf(stdout, "fuzz_dns_bpf: %s (%llu) after %llu packets\n", why, a, packets);
	fflush(stdout);
	abort();
}

static int terminated(const char *s, size_t n)
{
	return memchr(s, 0, n) != NULL;
}

static void features(const struct moat_dns_event *e)
{
	for (int bit = 0; bit < 16; bit++) {
		switch (bit) {
		case 0: FEATURE(e->flags & (1u << 0)); break;
		case 1: FEATURE(e->flags & (1u << 1)); break;
		case 2: FEATURE(e->flags & (1u << 2)); break;
		case 3: FEATURE(e->flags & (1u << 3)); break;
		case 4: FEATURE(e->flags & (1u << 4)); break;
		case 5: FEATURE(e->flags & (1u << 5)); break;
		case 6: FEATURE(e->flags & (1u << 6)); break;
		case 7: FEATURE(e->flags & (1u << 7)); break;
		case 8: FEATURE(e->flags & (1u << 8)); break;
		case 9: FEATURE(e->flags & (1u << 9)); break;
		case 10: FEATURE(e->flags & (1u << 10)); break;
		case 11: FEATURE(e->flags & (1u << 11)); break;
		case 12: FEATURE(e->flags & (1u << 12)); break;
		case 13: FEATURE(e->flags & (1u << 13)); break;
		case 14: FEATURE(e->flags & (1u << 14)); break;
		default: FEATURE(e->flags & (1u << 15)); break;
		}
	}
	switch (e->n_addrs) {
	case 0: sink += 1; break;
	case 1: sink += 2; break;
	case 2: sink += 3; break;
	case 3: sink += 4; break;
	case 4: sink += 5; break;
	case 5 ... 8: sink += 6; break;
	case 9 ... 15: sink += 7; break;
	default: sink += 8; break;
	}
	switch (e->n_cnames) {
	case 0: sink += 1; break;
	case 1: sink += 2; break;
	case 2: sink += 3; break;
	case 3: sink += 4; break;
	default: sink += 5; break;
	}
	switch (e->rcode) {
	case 0: sink += 1; break;
	case 3: sink += 2; break;
	default: sink += 3; break;
	}
	switch (e->qtype) {
	case 1: sink += 1; break;
	case 5: sink += 2; break;
	case 28: sink += 3; break;
	default: sink += 4; break;
	}
	FEATURE(e->qname[0] == 0);
	FEATURE(strlen(e->qname) > 63);
	FEATURE(strlen(e->qname) > 200);
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct moat_dns_event *e = data;

	events++;
	if (size < sizeof(struct moat_event_hdr))
		fail("ring record shorter than the event header", size);
	if (e->hdr.size != size)
		fail("hdr.size differs from the ring record's size", e->hdr.size);
	if (e->hdr.type != MOAT_EV_DNS_QUERY && e->hdr.type != MOAT_EV_DNS_ANSWER)
		fail("not a DNS event type", e->hdr.type);
	if (size < MOAT_DNS_EVENT_FIXED)
		fail("DNS event shorter than its fixed part", size);
	if (e->n_addrs > MOAT_DNS_MAX_ADDRS)
		fail("n_addrs over MOAT_DNS_MAX_ADDRS", e->n_addrs);
	if (e->n_cnames > MOAT_DNS_MAX_CNAMES)
		fail("n_cnames over MOAT_DNS_MAX_CNAMES", e->n_cnames);
	if (size != MOAT_DNS_EVENT_SIZE(e->n_addrs, e->n_cnames))
		fail("size is not MOAT_DNS_EVENT_SIZE(n_addrs, n_cnames)", size);
	if (e->family != AF_INET && e->family != AF_INET6)
		fail("packet family", e->family);
	if (!terminated(e->qname, sizeof(e->qname)))
		fail("qname not NUL-terminated", 0);
	for (unsigned i = 0; i < e->n_addrs; i++)
		if (e->addrs[i].family != AF_INET && e->addrs[i].family != AF_INET6)
			fail("address family", e->addrs[i].family);
	for (unsigned i = 0; i < e->n_cnames; i++)
		if (!terminated(e->cnames[i], sizeof(e->cnames[i])))
			fail("CNAME not NUL-terminated", i);
	features(e);
	return 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void report(void)
{
	fprintf(stdout, "fuzz_dns_bpf: %llu packets, %llu events, 0 failures\n", packets, events);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bpf_map *map;
	int err, rb_fd = -1;

	libbpf_set_print(silent_print);
	skel = dns_bpf__open();
	if (!skel) {
		fprintf(stderr, "fuzz_dns_bpf: cannot open the dns skeleton: %s\n",
			strerror(errno));
		exit(1);
	}
	/* Private maps: never reuse or create pins under /sys/fs/bpf. */
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	err = dns_bpf__load(skel);
	if (err) {
		fprintf(stderr, "fuzz_dns_bpf: cannot load the dns programs: %s (run as root)\n",
			strerror(-err));
		exit(1);
	}
	bpf_object__for_each_map(map, skel->obj) if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF)
	    rb_fd = bpf_map__fd(map);
	if (rb_fd < 0) {
		fprintf(stderr, "fuzz_dns_bpf: the dns object has no ring buffer map\n");
		exit(1);
	}
	rb = ring_buffer__new(rb_fd, on_event, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "fuzz_dns_bpf: ring_buffer__new: %s\n", strerror(errno));
		exit(1);
	}
	prog_fd[0] = bpf_program__fd(skel->progs.handle_dns_egress);
	prog_fd[1] = bpf_program__fd(skel->progs.handle_dns_ingress);
	atexit(report);
	return 0;
}

static void be16at(__u8 *p, unsigned v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

/* Ethernet header with this ethertype; returns its length. */
static size_t eth(__u8 *f, unsigned proto)
{
	memset(f, 0, ETH_HLEN);
	f[0] = 0x02; /* locally administered unicast */
	f[6] = 0x02;
	be16at(f + 12, proto);
	return ETH_HLEN;
}

/* Build the frame for input data into f; returns its length. */
static size_t build(const uint8_t *data, size_t size, __u8 *f)
{
	unsigned mode = data[0], ingress = mode & 1, v6 = (mode >> 1) & 1, tcp = (mode >> 2) & 1;
	unsigned ports = (mode >> 4) & 3, opts = (mode >> 6) & 1, word = data[1] << 8 | data[2];
	unsigned server = ports == 2 ? word : 53, client = ports == 1 ? 53 : 40000;
	unsigned sport, dport, l4hdr = tcp ? 20 : 8, iphdr, prefix = tcp ? 2 : 0;
	const __u8 *src, *dst;
	const uint8_t *payload = data + 4;
	size_t n = size - 4, len, l4len;
	__u8 *h;

	if (mode & 0x80) { /* raw frame */
		len = eth(f, v6 ? 0x86dd : 0x0800);
		n = size - 1 < PKT_MAX - len ? size - 1 : PKT_MAX - len;
		memcpy(f + len, data + 1, n);
		return len + n;
	}
	if (ports == 3)
		client = 53, server = 40000;
	sport = ingress ? server : client;
	dport = ingress ? client : server;
	iphdr = v6 ? 40 + (opts ? 8 : 0) : 20 + (opts ? 4 : 0);
	if (n > PKT_MAX - ETH_HLEN - iphdr - l4hdr - prefix)
		n = PKT_MAX - ETH_HLEN - iphdr - l4hdr - prefix;
	l4len = l4hdr + prefix + n;
	src = v6 ? (ingress ? ip6_server : ip6_client) : (ingress ? ip4_server : ip4_client);
	dst = v6 ? (ingress ? ip6_client : ip6_server) : (ingress ? ip4_client : ip4_server);
	len = eth(f, v6 ? 0x86dd : 0x0800);
	h = f + len;
	memset(h, 0, iphdr);
	if (!v6) {
		h[0] = (__u8)(0x40 | (iphdr / 4));
		be16at(h + 2, (unsigned)(iphdr + l4len));
		h[8] = 64;
		h[9] = tcp ? 6 : 17;
		memcpy(h + 12, src, 4);
		memcpy(h + 16, dst, 4);
		if (opts)
			memset(h + 20, 1, 4); /* NOP options */
	} else {
		h[0] = 0x60;
		be16at(h + 4, (unsigned)(iphdr - 40 + l4len));
		h[6] = opts ? 0 : (tcp ? 6 : 17); /* 0: hop-by-hop options first */
		h[7] = 64;
		memcpy(h + 8, src, 16);
		memcpy(h + 24, dst, 16);
		if (opts) {
			h[40] = tcp ? 6 : 17; /* next header */
			h[41] = 0;	      /* 8 bytes: PadN */
			h[42] = 1;
			h[43] = 4;
		}
	}
	len += iphdr;
	h = f + len;
	memset(h, 0, l4hdr);
	be16at(h, sport);
	be16at(h + 2, dport);
	if (tcp) {
		h[12] = 5 << 4;
		h[13] = data[3];
		be16at(h + 14, 65535);
		be16at(h + 20, (mode & 8) ? word : (unsigned)n);
	} else {
		be16at(h + 4, (unsigned)l4len);
	}
	len += l4hdr + prefix;
	memcpy(f + len, payload, n);
	return len + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static __u8 frame[PKT_MAX];
	size_t len;
	int err;

	if (size < 4)
		return 0;
	/* BPF_PROG_TEST_RUN refuses (EINVAL) a frame without a whole IP header, as the stack
	 * never hands one to a cgroup program. */
	if ((data[0] & 0x80) && size - 1 < ((data[0] & 2) ? 40u : 20u))
		return 0;
	len = build(data, size, frame);
	{
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len);
		err = bpf_prog_test_run_opts(prog_fd[data[0] & 1], &opts);
		packets++;
		if (err)
			fail("BPF_PROG_TEST_RUN failed, errno", (unsigned long long)-err);
		if (opts.retval > 1)
			fail("program returned neither 0 nor 1", opts.retval);
		FEATURE(opts.retval == 0);
	}
	if (ring_buffer__consume(rb) < 0)
		fail("ring_buffer__consume failed", (unsigned long long)errno);
	return 0;
}
