/* fuzz_veth_bpf.c - the veth guard's frame parser: mutated frames through the real BPF
 * programs handle_veth_out / handle_veth_in (bpf/veth.bpf.c) with BPF_PROG_TEST_RUN.
 *
 * The veth skeleton is loaded with every map unpinned (nothing under /sys/fs/bpf is
 * touched); nothing is attached and no frame is sent. veth_cfg (private) describes a made-up
 * container behind ifindex 1, the interface test_run uses. Run as root. Each input is:
 *   byte 0  bit 0 direction: frames into the container (handle_veth_in), else out of it
 *           bit 1 the container is enforced, default deny (else no cgroup_cfg entry)
 *           bit 2 the frame was bridged from another port (ingress_ifindex 7), else the
 *                 host sent it (0)
 *           bit 3 the container's link-local address is unknown (ll6 zero)
 *           bits 4-5 ethertype: 0 IPv6, 1 IPv4, 2 ARP, 3 from bytes 1-2
 *           bit 6 the Ethernet source is the container's MAC (out) or the bridge's (in),
 *                 else a neighbour's
 *           bit 7 when set with IPv6, the IPv6 source is the container's link-local (out)
 *                 or the bridge's (in): the sources the checks let through
 *   bytes 1-2 the ethertype (mode 3)
 *   the rest: the frame after the Ethernet header.
 *
 * Checks on every run: the verdict is TC_ACT_OK or TC_ACT_SHOT; a frame out of the
 * container with a source MAC that is not its own is dropped; every ring buffer record is
 * a packet event of the right size with a known reason and place; an event comes only with
 * a drop. A failure aborts (libFuzzer saves the frame). Outcomes are turned into code
 * coverage, since the kernel's own coverage is invisible to libFuzzer.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fuzz.h"
#include "moat/events.h"
#include "moat/maps.h"
#include "veth.skel.h"

#define ETH_HLEN    14
#define PKT_MAX	    3500
#define TC_ACT_OK   0
#define TC_ACT_SHOT 2

static struct veth_bpf *skel;
static struct ring_buffer *rb;
static int prog_fd[2], cfg_fd, cgcfg_fd, state_fd;
static unsigned long long frames, events, run_events;
static volatile unsigned sink;

#define FEATURE(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			sink++;                                                                    \
	} while (0)

static const __u8 C_MAC[6] = {0x02, 0x42, 0xac, 0x1e, 0x09, 0x02};
static const __u8 GW_MAC[6] = {0x02, 0x42, 0x3a, 0xeb, 0x48, 0x0e};
static const __u8 N_MAC[6] = {0x02, 0x42, 0xac, 0x1e, 0x09, 0x03};
static const __u8 C_LL6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x42, 0xac, 0xff, 0xfe, 0x1e, 9, 2};
static const __u8 GW_LL6[16] = {0xfe, 0x80, 0,	  0,	0,    0,    0,	  0,
				0,    0x42, 0x3a, 0xff, 0xfe, 0xeb, 0x48, 0x0e};
static const __u8 C_IP6[16] = {0xfd, 0x6d, 0x6f, 0x61, 0x74, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2};
static const __u8 GW_IP6[16] = {0xfd, 0x6d, 0x6f, 0x61, 0x74, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1};

static void fail(const char *why, unsigned long long a)
{
	fprintf(stdout, "fuzz_veth_bpf: %s (%llu) after %llu frames\n", why, a, frames);
	fflush(stdout);
	abort();
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct moat_packet_event *e = data;

	events++;
	run_events++;
	if (size != sizeof(*e))
		fail("ring record is not a packet event's size", size);
	if (e->hdr.type != MOAT_EV_PACKET || e->hdr.size != size)
		fail("not a packet event, or hdr.size wrong", e->hdr.type);
	if (e->reason < MOAT_PKT_R_DENIED || e->reason > MOAT_PKT_R_IP6_EXT)
		fail("unknown reason", e->reason);
	if (e->where != MOAT_PKT_AT_VETH && e->where != MOAT_PKT_AT_VETH_IN)
		fail("unknown place", e->where);
	if (e->family && e->family != AF_INET && e->family != AF_INET6)
		fail("family", e->family);
	if (e->ifindex != 1)
		fail("ifindex", e->ifindex);
	switch (e->reason) {
	case 1: sink += 1; break;
	case 2: sink += 2; break;
	case 3: sink += 3; break;
	case 4: sink += 4; break;
	case 5: sink += 5; break;
	case 6: sink += 6; break;
	case 7: sink += 7; break;
	case 8: sink += 8; break;
	case 9: sink += 9; break;
	default: sink += 10; break;
	}
	FEATURE(e->sport == 133);
	FEATURE(e->sport == 134);
	FEATURE(e->sport == 135);
	FEATURE(e->sport == 136);
	FEATURE(e->sport == 137);
	return 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void report(void)
{
	fprintf(stdout, "fuzz_veth_bpf: %llu frames, %llu events, 0 failures\n", frames, events);
}

/* veth_cfg[1] as byte 0 of the input says. */
static void set_veth(unsigned mode)
{
	struct moat_veth v = {.cgroup_id = 4242, .netnsid = -1};
	__u32 key = 1;

	v.flags = MOAT_VETH_F_SPOOF | MOAT_VETH_F_ARPGW | ((mode & 2) ? MOAT_VETH_F_GUARD : 0);
	memcpy(v.mac, C_MAC, 6);
	memcpy(v.gw_mac, GW_MAC, 6);
	memcpy(v.ip4, "\xac\x1e\x09\x02", 4);
	memcpy(v.gw4, "\xac\x1e\x09\x01", 4);
	memcpy(v.ip6, C_IP6, 16);
	if (!(mode & 8))
		memcpy(v.ll6, C_LL6, 16);
	memcpy(v.gw6[0], GW_IP6, 16);
	memcpy(v.gw6[1], GW_LL6, 16);
	if (bpf_map_update_elem(cfg_fd, &key, &v, BPF_ANY))
		fail("veth_cfg update, errno", (unsigned long long)errno);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bpf_map *map;
	int err;

	libbpf_set_print(silent_print);
	skel = veth_bpf__open();
	if (!skel) {
		fprintf(stderr, "fuzz_veth_bpf: cannot open the veth skeleton: %s\n",
			strerror(errno));
		exit(1);
	}
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	err = veth_bpf__load(skel);
	if (err) {
		fprintf(stderr, "fuzz_veth_bpf: cannot load the veth programs: %s (run as root)\n",
			strerror(-err));
		exit(1);
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "fuzz_veth_bpf: ring_buffer__new: %s\n", strerror(errno));
		exit(1);
	}
	cfg_fd = bpf_map__fd(skel->maps.veth_cfg);
	/* Enforced runs get a cgroup_cfg entry; the others have none (monitor, by settings). */
	cgcfg_fd = bpf_map__fd(skel->maps.cgroup_cfg);
	state_fd = bpf_map__fd(skel->maps.cgroup_state);
	prog_fd[0] = bpf_program__fd(skel->progs.handle_veth_out);
	prog_fd[1] = bpf_program__fd(skel->progs.handle_veth_in);
	atexit(report);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static __u8 frame[PKT_MAX];
	static int last_mode = -1;
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .default_action = MOAT_ACT_DENY};
	unsigned mode, in, et;
	__u64 cgid = 4242;
	size_t n, len;
	int err;

	if (size < 3)
		return 0;
	mode = data[0];
	in = mode & 1;
	if ((int)mode != last_mode) {
		set_veth(mode);
		if (mode & 2)
			bpf_map_update_elem(cgcfg_fd, &cgid, &cfg, BPF_ANY);
		else
			bpf_map_delete_elem(cgcfg_fd, &cgid);
		last_mode = (int)mode;
	}
	switch ((mode >> 4) & 3) {
	case 0: et = 0x86dd; break;
	case 1: et = 0x0800; break;
	case 2: et = 0x0806; break;
	default: et = (unsigned)data[1] << 8 | data[2]; break;
	}
	memcpy(frame, in ? C_MAC : GW_MAC, 6);
	memcpy(frame + 6, (mode & 0x40) ? (in ? GW_MAC : C_MAC) : N_MAC, 6);
	frame[12] = (__u8)(et >> 8);
	frame[13] = (__u8)et;
	n = size - 3 < PKT_MAX - ETH_HLEN ? size - 3 : PKT_MAX - ETH_HLEN;
	/* BPF_PROG_TEST_RUN refuses (EINVAL) an IP frame without a whole IP header. */
	if ((et == 0x0800 && n < 20) || (et == 0x86dd && n < 40))
		return 0;
	memcpy(frame + ETH_HLEN, data + 3, n);
	len = ETH_HLEN + n;
	/* The sources the checks let through, so that mutations get past them. */
	if ((mode & 0x80) && et == 0x86dd && n >= 40) {
		frame[ETH_HLEN] = (__u8)(0x60 | (frame[ETH_HLEN] & 0x0f));
		memcpy(frame + ETH_HLEN + 8, in ? GW_LL6 : C_LL6, 16);
	}
	/* A fresh report budget: every drop is reported (and checked). */
	bpf_map_delete_elem(state_fd, &cgid);
	{
		struct __sk_buff ctx = {.ingress_ifindex = (mode & 4) ? 7 : 0};
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

		err = bpf_prog_test_run_opts(prog_fd[in], &opts);
		frames++;
		if (err)
			fail("BPF_PROG_TEST_RUN failed, errno", (unsigned long long)-err);
		if (opts.retval != TC_ACT_OK && opts.retval != TC_ACT_SHOT)
			fail("verdict neither TC_ACT_OK nor TC_ACT_SHOT", opts.retval);
		if (!in && !(mode & 0x40) && opts.retval != TC_ACT_SHOT && len >= ETH_HLEN)
			fail("a frame with another's source MAC left the container", len);
		run_events = 0;
		if (ring_buffer__consume(rb) < 0)
			fail("ring_buffer__consume failed", (unsigned long long)errno);
		if (run_events && opts.retval != TC_ACT_SHOT)
			fail("an event without a drop", run_events);
		/* Only a truncated ARP message (no receiver takes one) is dropped unreported. */
		if (opts.retval == TC_ACT_SHOT && run_events != 1 &&
		    !(et == 0x0806 && n < 28 && !in))
			fail("a drop without exactly one report", run_events);
		FEATURE(opts.retval == TC_ACT_SHOT);
		FEATURE(opts.retval == TC_ACT_SHOT && in);
	}
	return 0;
}
