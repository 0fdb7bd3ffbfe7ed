/* test_veth.c - the veth guard (bpf/veth.bpf.c) on crafted frames: anti-spoofing of IPv6
 * neighbour discovery on the way out (a container claiming the gateway's address, posing as
 * a router, hiding NDP behind extension headers) and the gateway guard on the way in (NDP,
 * router advertisements and ICMP redirects the bridge did not send).
 *
 * Loads the veth skeleton with private maps (nothing under /sys/fs/bpf), in a network
 * namespace of its own, and runs handle_veth_out / handle_veth_in with BPF_PROG_TEST_RUN on
 * its loopback (ifindex 1), for which veth_cfg holds a made-up container. Nothing is
 * attached and no frame leaves. The same attacks against real containers are in
 * tests/adversarial/test_adv_ipv6.sh. Run as root.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "moat/events.h"
#include "moat/maps.h"
#include "veth.skel.h"
#include "test.h"

#define TC_ACT_OK   0
#define TC_ACT_SHOT 2

#define RS    133
#define RA    134
#define NS    135
#define NA    136
#define REDIR 137

static struct veth_bpf *skel;
static struct ring_buffer *rb;
static struct moat_packet_event last;
static int n_events;
static __u32 run_iif; /* the ingress_ifindex of the next run: 0 = sent by the host itself */

/* The container behind "veth" 1, and its bridge. */
static const __u8 C_MAC[6] = {0x02, 0x42, 0xac, 0x1e, 0x09, 0x02};
static const __u8 GW_MAC[6] = {0x02, 0x42, 0x3a, 0xeb, 0x48, 0x0e};
static const __u8 N_MAC[6] = {0x02, 0x42, 0xac, 0x1e, 0x09, 0x03}; /* a neighbour */
static const __u8 MC_MAC[6] = {0x33, 0x33, 0, 0, 0, 1};
static const __u8 C_IP6[16] = {0xfd, 0x6d, 0x6f, 0x61, 0x74, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2};
static const __u8 GW_IP6[16] = {0xfd, 0x6d, 0x6f, 0x61, 0x74, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1};
static const __u8 N_IP6[16] = {0xfd, 0x6d, 0x6f, 0x61, 0x74, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3};
static const __u8 C_LL6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x42, 0xac, 0xff, 0xfe, 0x1e, 9, 2};
static const __u8 GW_LL6[16] = {0xfe, 0x80, 0,	  0,	0,    0,    0,	  0,
				0,    0x42, 0x3a, 0xff, 0xfe, 0xeb, 0x48, 0x0e};
static const __u8 GW_LL1[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const __u8 N_LL6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x42, 0xac, 0xff, 0xfe, 0x1e, 9, 3};
static const __u8 ALL_NODES[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const __u8 C_IP4[4] = {172, 30, 9, 2};
static const __u8 GW_IP4[4] = {172, 30, 9, 1};
static const __u8 N_IP4[4] = {172, 30, 9, 3};

/* ---- frames ---- */

struct frame {
	__u8 b[1600];
	size_t len;
	size_t ip;	 /* offset of the IP header */
	size_t l4;	 /* offset of the upper-layer header */
	size_t opts_end; /* IPv6: where the payload ends (options are appended up to here) */
};

static void put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put8(struct frame *f, unsigned v)
{
	f->b[f->len++] = (__u8)v;
}

static void eth(struct frame *f, const __u8 *dst, const __u8 *src, unsigned type)
{
	memset(f, 0, sizeof(*f));
	put(f, dst, 6);
	put(f, src, 6);
	put8(f, type >> 8);
	put8(f, type);
}

/* An IPv6 header from src to dst, next header nh; the payload length is fixed by ip6_end. */
static void ip6(struct frame *f, const __u8 *src, const __u8 *dst, unsigned nh)
{
	f->ip = f->len;
	put8(f, 0x60);
	put8(f, 0);
	put8(f, 0);
	put8(f, 0);
	put8(f, 0); /* payload length, below */
	put8(f, 0);
	put8(f, nh);
	put8(f, 255);
	put(f, src, 16);
	put(f, dst, 16);
}

/* A Destination Options header (8 bytes: PadN) announcing nh next. */
static void dstopts(struct frame *f, unsigned nh)
{
	__u8 h[8] = {(__u8)nh, 0, 1, 4, 0, 0, 0, 0};

	put(f, h, sizeof(h));
}

/* A first fragment header announcing nh next. */
static void frag0(struct frame *f, unsigned nh)
{
	__u8 h[8] = {(__u8)nh, 0, 0, 1 /* more fragments */, 0, 0, 0, 42};

	put(f, h, sizeof(h));
}

/* An NDP message of type t: the ICMPv6 header, and for NS/NA/redirect the target. */
static void ndp(struct frame *f, unsigned t, const __u8 *target)
{
	f->l4 = f->len;
	put8(f, t);
	put8(f, 0);
	put8(f, 0);
	put8(f, 0);
	if (t == NA)
		put8(f, 0x20); /* override */
	else
		put8(f, 0);
	put8(f, 0);
	put8(f, 0);
	put8(f, 0);
	if (t == RA) {
		__u8 rest[8] = {0, 0, 0, 0, 0, 0, 0, 0};

		f->b[f->l4 + 4] = 64;	/* cur hop limit */
		f->b[f->l4 + 6] = 0x07; /* router lifetime 1800 s */
		f->b[f->l4 + 7] = 0x08;
		put(f, rest, sizeof(rest));
	} else if (t == NS || t == NA || t == REDIR) {
		put(f, target, 16);
		if (t == REDIR)
			put(f, ALL_NODES, 16); /* destination */
	}
}

/* A link-layer address option: 1 source, 2 target. */
static void lla(struct frame *f, unsigned type, const __u8 *mac)
{
	put8(f, type);
	put8(f, 1);
	put(f, mac, 6);
}

/* An 8-byte option of a kind the guard does not read (14: nonce). */
static void other_opt(struct frame *f)
{
	__u8 o[8] = {14, 1, 1, 2, 3, 4, 5, 6};

	put(f, o, sizeof(o));
}

/* Close an IPv6 frame: payload length (checksums are not checked on this path). */
static void ip6_end(struct frame *f)
{
	size_t plen = f->len - f->ip - 40;

	f->b[f->ip + 4] = (__u8)(plen >> 8);
	f->b[f->ip + 5] = (__u8)plen;
}

static void udp6(struct frame *f, const __u8 *src, const __u8 *dst)
{
	__u8 u[12] = {0x9c, 0x40, 0x1f, 0x90, 0, 12, 0, 0, 'h', 'i', '!', '\n'};

	ip6(f, src, dst, IPPROTO_UDP);
	put(f, u, sizeof(u));
	ip6_end(f);
}

/* An IPv4 ICMP message of type t from src to dst. */
static void icmp4(struct frame *f, const __u8 *src, const __u8 *dst, unsigned t)
{
	__u8 h[20] = {0x45, 0, 0, 56, 0, 1, 0, 0, 64, IPPROTO_ICMP, 0, 0};
	__u8 m[36] = {(__u8)t, 1};

	memcpy(h + 12, src, 4);
	memcpy(h + 16, dst, 4);
	f->ip = f->len;
	put(f, h, sizeof(h));
	put(f, m, sizeof(m));
}

/* ---- running ---- */

static int on_event(void *ctx, void *data, size_t size)
{
	if (size >= sizeof(struct moat_packet_event))
		memcpy(&last, data, sizeof(last));
	n_events++;
	return 0;
}

/* Run f through handle_veth_out (out = 1) or handle_veth_in; the verdict, -1 on failure. */
static int run(int out, struct frame *f)
{
	struct bpf_program *prog = out ? skel->progs.handle_veth_out : skel->progs.handle_veth_in;
	struct __sk_buff ctx = {.ingress_ifindex = run_iif};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int err;

	n_events = 0;
	memset(&last, 0, sizeof(last));
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	ring_buffer__consume(rb);
	if (err) {
		fprintf(stderr, "test_run: %s\n", strerror(-err));
		return -1;
	}
	return (int)opts.retval;
}

/* veth_cfg[1]: the container, with flags (and its link-local, when ll). */
static void set_veth(__u8 flags, int ll)
{
	struct moat_veth v = {.cgroup_id = 4242, .netnsid = -1, .flags = flags};
	__u32 key = 1;

	memcpy(v.mac, C_MAC, 6);
	memcpy(v.gw_mac, GW_MAC, 6);
	memcpy(v.ip4, C_IP4, 4);
	memcpy(v.gw4, GW_IP4, 4);
	memcpy(v.ip6, C_IP6, 16);
	if (ll)
		memcpy(v.ll6, C_LL6, 16);
	memcpy(v.gw6[0], GW_IP6, 16);
	memcpy(v.gw6[1], GW_LL6, 16);
	memcpy(v.gw6[2], GW_LL1, 16);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.veth_cfg), &key, &v, BPF_ANY))
		fprintf(stderr, "veth_cfg: %s\n", strerror(errno));
}

#define PASSES(out, f, name) CHECK_EQ_INT(run(out, f), TC_ACT_OK, name)
#define DROPPED(out, f, reason_, name)                                                             \
	do {                                                                                       \
		int r_ = run(out, f);                                                              \
		CHECK(r_ == TC_ACT_SHOT && n_events == 1 && last.reason == (reason_), name,        \
		      "verdict %d, %d events, reason %u (want %d, 1, %u)", r_, n_events,           \
		      last.reason, TC_ACT_SHOT, (unsigned)(reason_));                              \
	} while (0)

/* An NA from the container: target t, its TLLA mac (NULL: none), from src. */
static void na_out(struct frame *f, const __u8 *src, const __u8 *t, const __u8 *mac)
{
	eth(f, MC_MAC, C_MAC, 0x86dd);
	ip6(f, src, ALL_NODES, IPPROTO_ICMPV6);
	ndp(f, NA, t);
	if (mac)
		lla(f, 2, mac);
	ip6_end(f);
}

static void test_out_ndp(void)
{
	struct frame f;

	set_veth(MOAT_VETH_F_SPOOF | MOAT_VETH_F_ARPGW, 1);
	na_out(&f, C_LL6, C_IP6, C_MAC);
	PASSES(1, &f, "out: NA for its own global address passes");
	na_out(&f, C_LL6, C_LL6, C_MAC);
	PASSES(1, &f, "out: NA for its own link-local address passes");
	na_out(&f, C_IP6, C_IP6, NULL);
	PASSES(1, &f, "out: NA without a link-layer option passes");
	na_out(&f, C_LL6, GW_IP6, C_MAC);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF, "out: NA claiming the gateway's address is dropped");
	CHECK(!memcmp(last.daddr, GW_IP6, 16) && last.sport == NA && last.family == AF_INET6,
	      "out: the report names the claimed address and the NDP type", "daddr/sport wrong");
	na_out(&f, C_LL6, GW_LL1, C_MAC);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF, "out: NA claiming the gateway's fe80::1 is dropped");
	na_out(&f, C_LL6, N_LL6, C_MAC);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF, "out: NA claiming a neighbour's address is dropped");
	na_out(&f, C_LL6, C_IP6, N_MAC);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF,
		"out: NA for its own address naming another MAC is dropped");

	/* The target link-layer option hidden after others. */
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, ALL_NODES, IPPROTO_ICMPV6);
	ndp(&f, NA, C_IP6);
	other_opt(&f);
	other_opt(&f);
	lla(&f, 2, N_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF, "out: a foreign MAC after two other options is found");
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, ALL_NODES, IPPROTO_ICMPV6);
	ndp(&f, NA, C_IP6);
	for (int i = 0; i < 16; i++)
		other_opt(&f);
	lla(&f, 2, C_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF,
		"out: more options than the guard reads: dropped (it cannot see them all)");
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, ALL_NODES, IPPROTO_ICMPV6);
	ndp(&f, NA, C_IP6);
	put8(&f, 2);
	put8(&f, 0); /* length 0: the receiver discards the message */
	put(&f, N_MAC, 6);
	ip6_end(&f);
	PASSES(1, &f, "out: an option of length 0 passes (every receiver discards the message)");

	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, GW_IP6, IPPROTO_ICMPV6);
	ndp(&f, NS, GW_IP6);
	lla(&f, 1, C_MAC);
	ip6_end(&f);
	PASSES(1, &f, "out: NS for the gateway with its own MAC passes");
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, GW_IP6, IPPROTO_ICMPV6);
	ndp(&f, NS, GW_IP6);
	lla(&f, 1, N_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF, "out: NS naming another MAC as its source is dropped");
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, GW_IP6, N_IP6, IPPROTO_ICMPV6);
	ndp(&f, NS, N_IP6);
	lla(&f, 1, C_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_SPOOF_IP, "out: NS from the gateway's address is dropped");
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, ALL_NODES, IPPROTO_ICMPV6);
	ndp(&f, RS, NULL);
	lla(&f, 1, C_MAC);
	ip6_end(&f);
	PASSES(1, &f, "out: a router solicitation passes");

	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, ALL_NODES, IPPROTO_ICMPV6);
	ndp(&f, RA, NULL);
	lla(&f, 1, C_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF,
		"out: a router advertisement from a container is dropped");
	CHECK_EQ_INT(last.sport, RA, "out: reported as a router advertisement");
	eth(&f, N_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, N_LL6, IPPROTO_ICMPV6);
	ndp(&f, REDIR, C_LL6);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF, "out: an ICMPv6 redirect from a container is dropped");

	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, ALL_NODES, 60);
	dstopts(&f, IPPROTO_ICMPV6);
	ndp(&f, NA, C_IP6);
	lla(&f, 2, C_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF,
		"out: NDP behind a destination options header is dropped (even for itself)");
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, ALL_NODES, 0);
	dstopts(&f, 44); /* a hop-by-hop header has the same layout */
	frag0(&f, IPPROTO_ICMPV6);
	ndp(&f, NA, GW_IP6);
	lla(&f, 2, C_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_NDP_SPOOF, "out: NDP in a first fragment, behind hop-by-hop too");
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, ALL_NODES, 60);
	for (int i = 0; i < 9; i++) /* the guard reads 8 */
		dstopts(&f, i < 8 ? 60 : IPPROTO_ICMPV6);
	ndp(&f, NA, GW_IP6);
	lla(&f, 2, C_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_IP6_EXT,
		"out: NDP behind more extension headers than the guard reads is dropped");

	eth(&f, GW_MAC, C_MAC, 0x86dd);
	ip6(&f, C_IP6, GW_IP6, 60);
	dstopts(&f, IPPROTO_UDP);
	put(&f, "\x9c\x40\x1f\x90\x00\x0chi!\n", 12);
	ip6_end(&f);
	PASSES(1, &f,
	       "out: UDP behind a destination options header passes (monitor: spoof checks)");
	eth(&f, GW_MAC, C_MAC, 0x86dd);
	ip6(&f, C_LL6, GW_LL6, IPPROTO_ICMPV6);
	put(&f, "\x80\x00\x00\x00\x00\x01\x00\x01", 8); /* echo request */
	ip6_end(&f);
	PASSES(1, &f, "out: an echo request from its link-local passes");
}

static void test_out_link_local(void)
{
	struct frame f;

	set_veth(MOAT_VETH_F_SPOOF, 1);
	eth(&f, GW_MAC, C_MAC, 0x86dd);
	udp6(&f, C_LL6, GW_LL6);
	PASSES(1, &f, "out: UDP from its own link-local passes");
	eth(&f, GW_MAC, C_MAC, 0x86dd);
	udp6(&f, N_LL6, GW_LL6);
	DROPPED(1, &f, MOAT_PKT_R_SPOOF_IP, "out: UDP from a neighbour's link-local is dropped");
	eth(&f, MC_MAC, C_MAC, 0x86dd);
	ip6(&f, GW_LL1, ALL_NODES, IPPROTO_ICMPV6);
	ndp(&f, NA, GW_LL1);
	lla(&f, 2, C_MAC);
	ip6_end(&f);
	DROPPED(1, &f, MOAT_PKT_R_SPOOF_IP, "out: NDP from the gateway's fe80::1 is dropped");
	set_veth(MOAT_VETH_F_SPOOF, 0);
	eth(&f, GW_MAC, C_MAC, 0x86dd);
	udp6(&f, N_LL6, GW_LL6);
	PASSES(1, &f, "out: its link-local unknown (no IPv6 dump): any link-local source passes");
}

/* NDP to the container: type t from eth source smac, IPv6 source src, target t6, option
 * (type lt) naming lmac. */
static void ndp_in(struct frame *f, const __u8 *smac, const __u8 *src, unsigned t, const __u8 *t6,
		   unsigned lt, const __u8 *lmac)
{
	eth(f, C_MAC, smac, 0x86dd);
	ip6(f, src, t == NS ? C_IP6 : ALL_NODES, IPPROTO_ICMPV6);
	ndp(f, t, t6);
	if (lmac)
		lla(f, lt, lmac);
	ip6_end(f);
}

static void test_in_gateway(void)
{
	struct frame f;

	set_veth(MOAT_VETH_F_SPOOF | MOAT_VETH_F_ARPGW, 1);
	run_iif = 0;
	ndp_in(&f, GW_MAC, GW_IP6, NA, GW_IP6, 2, GW_MAC);
	PASSES(0, &f, "in: the bridge's own NA for the gateway passes");
	ndp_in(&f, GW_MAC, GW_LL6, NS, C_IP6, 1, GW_MAC);
	PASSES(0, &f, "in: the bridge's NS passes");
	ndp_in(&f, GW_MAC, GW_LL1, RA, NULL, 1, GW_MAC);
	PASSES(0, &f, "in: a router advertisement the bridge sent passes");
	ndp_in(&f, GW_MAC, GW_LL6, REDIR, N_LL6, 0, NULL);
	PASSES(0, &f, "in: a redirect the bridge sent passes");

	run_iif = 7; /* received on another container's veth: bridged */
	ndp_in(&f, N_MAC, N_LL6, NA, GW_IP6, 2, N_MAC);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM,
		"in: a neighbour's NA claiming the gateway is dropped");
	CHECK(!memcmp(last.daddr, GW_IP6, 16) && last.where == MOAT_PKT_AT_VETH_IN &&
		  !memcmp(last.smac, N_MAC, 6),
	      "in: the report names the claim and the sender's MAC", "fields wrong");
	ndp_in(&f, GW_MAC, GW_IP6, NA, GW_IP6, 2, GW_MAC);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM,
		"in: even with the bridge's MAC forged, a bridged NA for the gateway is dropped");
	ndp_in(&f, N_MAC, N_LL6, NA, GW_LL1, 2, N_MAC);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM, "in: an NA claiming fe80::1 is dropped");
	ndp_in(&f, N_MAC, GW_LL6, NS, C_IP6, 1, N_MAC);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM,
		"in: an NS from the gateway's link-local with another MAC is dropped");
	ndp_in(&f, N_MAC, N_LL6, RA, NULL, 1, N_MAC);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM,
		"in: a neighbour's router advertisement is dropped");
	CHECK_EQ_INT(last.sport, RA, "in: reported as a router advertisement");
	ndp_in(&f, N_MAC, N_LL6, REDIR, N_LL6, 0, NULL);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM, "in: a neighbour's redirect is dropped");
	ndp_in(&f, N_MAC, N_LL6, NA, N_IP6, 2, N_MAC);
	PASSES(0, &f, "in: a neighbour's NA for its own address passes");
	ndp_in(&f, N_MAC, N_LL6, NS, C_IP6, 1, N_MAC);
	PASSES(0, &f, "in: a neighbour's NS passes");

	run_iif = 0;
	ndp_in(&f, GW_MAC, GW_IP6, NA, GW_IP6, 2, N_MAC);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM,
		"in: an NA for the gateway naming another MAC is dropped, even from the host");
	ndp_in(&f, GW_MAC, N_LL6, RA, NULL, 1, GW_MAC);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM,
		"in: a router advertisement from an address not the bridge's is dropped");

	eth(&f, C_MAC, GW_MAC, 0x0800);
	icmp4(&f, GW_IP4, C_IP4, 5);
	PASSES(0, &f, "in: an ICMP redirect the bridge sent passes");
	run_iif = 7;
	eth(&f, C_MAC, N_MAC, 0x0800);
	icmp4(&f, GW_IP4, C_IP4, 5);
	DROPPED(0, &f, MOAT_PKT_R_GATEWAY_CLAIM, "in: a bridged ICMP redirect is dropped");
	eth(&f, C_MAC, N_MAC, 0x0800);
	icmp4(&f, N_IP4, C_IP4, 8);
	PASSES(0, &f, "in: a neighbour's echo request passes");
	eth(&f, C_MAC, N_MAC, 0x86dd);
	udp6(&f, N_IP6, C_IP6);
	PASSES(0, &f, "in: a neighbour's UDP passes");

	set_veth(MOAT_VETH_F_SPOOF, 1);
	ndp_in(&f, N_MAC, N_LL6, NA, GW_IP6, 2, N_MAC);
	PASSES(0, &f, "in: without the gateway guard flag, nothing is judged on the way in");
	run_iif = 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(void)
{
	struct bpf_map *map;
	int err;

	libbpf_set_print(silent_print);
	/* A namespace of its own: its loopback (ifindex 1) is the "veth" test_run uses. */
	if (unshare(CLONE_NEWNET)) {
		CHECK(0, "a network namespace of its own", "unshare: %s (run as root)",
		      strerror(errno));
		return TEST_EXIT();
	}
	skel = veth_bpf__open();
	if (!skel) {
		CHECK(0, "veth skeleton loads", "open failed: %s", strerror(errno));
		return TEST_EXIT();
	}
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	err = veth_bpf__load(skel);
	CHECK(!err, "veth skeleton loads", "load: %s (run as root)", strerror(-err));
	if (err)
		goto cleanup;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	CHECK(rb != NULL, "ring buffer opens", "ring_buffer__new: %s", strerror(errno));
	if (!rb)
		goto cleanup;
	test_out_ndp();
	test_out_link_local();
	test_in_gateway();
cleanup:
	ring_buffer__free(rb);
	veth_bpf__destroy(skel);
	return TEST_EXIT();
}
