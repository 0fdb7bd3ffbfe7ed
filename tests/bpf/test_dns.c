/* test_dns.c - the DNS packet parser (bpf/dns.bpf.c) on crafted packets.
 *
 * Loads the dns skeleton with every map unpinned (nothing under
 * /sys/fs/bpf is touched), runs handle_dns_egress / handle_dns_ingress with
 * BPF_PROG_TEST_RUN on hand-built Ethernet+IP+UDP/TCP+DNS frames, and
 * checks every field of the events that land in the ring buffer. Nothing is
 * attached and no packet leaves the machine. Run as root.
 *
 * Attribution: test_run gives each skb a fresh dummy socket, so the cookie
 * is non-zero but new every run and cannot be put in sock_owner beforehand;
 * here we check that an unknown socket gives pid 0 and an empty comm. The
 * pid/comm join is covered by the integration tests with real sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "moat/events.h"
#include "moat/maps.h"
#include "dns.skel.h"
#include "loader.h"
#include "test.h"

#define ETH_HLEN   14
#define PKT_MAX	   3500 /* test_run takes at most a page minus head and tail room */
#define MAX_EVENTS 8

#define QR 0x8000
#define RD 0x0100
#define RA 0x0080
#define TC 0x0200

#define T_A	1
#define T_CNAME 5
#define T_TXT	16
#define T_AAAA	28

#define TCP_ACK 0x10
#define TCP_PSH 0x08
#define TCP_SYN 0x02

static struct dns_bpf *skel;
static struct ring_buffer *rb;
static int n_events;
static long total_events; /* every event read from the ring buffer */
static struct moat_dns_event events[MAX_EVENTS];
static int verified[MAX_EVENTS]; /* MOAT_DNS_F_VERIFIED, taken out of events[].flags */
/* The context of the next run: the interface the packet came in on (1 is lo; 2 stands for
 * the container's eth0) and its mark. */
static __u32 run_ifindex = 2, run_mark;
static size_t event_len[MAX_EVENTS]; /* ring buffer record sizes */
static __u64 want_cgroup_id;	     /* 0 when the cgroup2 mount was not found */

static const __u8 ip4_client[4] = {10, 0, 0, 2};
static const __u8 ip4_server[4] = {10, 0, 0, 1};
static const __u8 ip6_client[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const __u8 ip6_server[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* ---- building DNS messages ---- */

struct msg {
	__u8 b[4096];
	size_t len;
};

static void put8(struct msg *m, unsigned v)
{
	if (m->len < sizeof(m->b))
		m->b[m->len++] = v;
}

static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v);
}

static void put32(struct msg *m, unsigned v)
{
	put16(m, v >> 16);
	put16(m, v);
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
	const __u8 *s = p;

	while (n--)
		put8(m, *s++);
}

/* A dotted name in wire form, root label included; "" is the root. */
static void put_name(struct msg *m, const char *dotted)
{
	const char *p = dotted;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		put8(m, n);
		put_bytes(m, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	put8(m, 0);
}

static void put_ptr(struct msg *m, unsigned off)
{
	put16(m, 0xc000 | off);
}

static void put_hdr(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
	m->len = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

static void put_question(struct msg *m, const char *name, unsigned qtype)
{
	put_name(m, name);
	put16(m, qtype);
	put16(m, 1);
}

/* Record header after the owner name: type, class IN, ttl, rdlength. */
static void put_rr(struct msg *m, unsigned type, unsigned ttl, unsigned rdlen)
{
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlen);
}

static void put_a(struct msg *m, unsigned ttl, __u8 a, __u8 b, __u8 c, __u8 d)
{
	put_ptr(m, 12);
	put_rr(m, T_A, ttl, 4);
	put8(m, a);
	put8(m, b);
	put8(m, c);
	put8(m, d);
}

/* ---- building frames: Ethernet + IP + UDP/TCP + payload ---- */

struct frame {
	__u8 b[PKT_MAX];
	size_t len;
};

static void eth(struct frame *f, unsigned proto)
{
	memset(f->b, 0, ETH_HLEN);
	f->b[0] = 0x02; /* locally administered unicast, so eth_type_trans keeps it ours */
	f->b[6] = 0x02;
	f->b[12] = proto >> 8;
	f->b[13] = proto & 0xff;
	f->len = ETH_HLEN;
}

static void be16at(__u8 *p, unsigned v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/* IPv4 or IPv6 header for a transport segment of l4len bytes. */
static void ip(struct frame *f, int v6, unsigned proto, const __u8 *src, const __u8 *dst,
	       size_t l4len)
{
	__u8 *h = f->b + f->len;

	if (!v6) {
		eth(f, 0x0800);
		h = f->b + f->len;
		memset(h, 0, 20);
		h[0] = 0x45;
		be16at(h + 2, 20 + l4len);
		h[8] = 64;
		h[9] = proto;
		memcpy(h + 12, src, 4);
		memcpy(h + 16, dst, 4);
		f->len += 20;
		return;
	}
	eth(f, 0x86dd);
	h = f->b + f->len;
	memset(h, 0, 40);
	h[0] = 0x60;
	be16at(h + 4, l4len);
	h[6] = proto;
	h[7] = 64;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	f->len += 40;
}

static void udp(struct frame *f, int v6, const __u8 *src, const __u8 *dst, unsigned sport,
		unsigned dport, const void *payload, size_t n)
{
	__u8 *h;

	if (n > PKT_MAX - ETH_HLEN - 40 - 8)
		n = PKT_MAX - ETH_HLEN - 40 - 8;
	ip(f, v6, 17, src, dst, 8 + n);
	h = f->b + f->len;
	be16at(h, sport);
	be16at(h + 2, dport);
	be16at(h + 4, 8 + n);
	be16at(h + 6, 0);
	memcpy(h + 8, payload, n);
	f->len += 8 + n;
}

/* TCP segment; with `prefix` the payload gets the 2-byte DNS length. */
static void tcp(struct frame *f, const __u8 *src, const __u8 *dst, unsigned sport, unsigned dport,
		unsigned flags, int prefix, unsigned prefix_len, const void *payload, size_t n)
{
	size_t pl = n + (prefix ? 2 : 0);
	__u8 *h;

	ip(f, 0, 6, src, dst, 20 + pl);
	h = f->b + f->len;
	memset(h, 0, 20);
	be16at(h, sport);
	be16at(h + 2, dport);
	h[12] = 5 << 4;
	h[13] = flags;
	be16at(h + 14, 65535);
	f->len += 20;
	if (prefix) {
		be16at(f->b + f->len, prefix_len);
		f->len += 2;
	}
	memcpy(f->b + f->len, payload, n);
	f->len += n;
}

/* ---- running ---- */

static uint64_t ring_bytes_read; /* record headers and data read: test_ring_fill */

static int on_event(void *ctx, void *data, size_t size)
{
	ring_bytes_read += 8 + ((size + 7) & ~(size_t)7);
	/* Records end after their last used slot; the rest of the copy stays zero. */
	if (n_events < MAX_EVENTS && size <= sizeof(struct moat_dns_event)) {
		memset(&events[n_events], 0, sizeof(struct moat_dns_event));
		memcpy(&events[n_events], data, size);
		event_len[n_events] = size;
		/* Answers the skeleton trusts are verified (test_skip_verify); the bit is checked
		 * on its own (test_trust), so the flag checks below stay exact. */
		verified[n_events] = events[n_events].hdr.type == MOAT_EV_DNS_ANSWER &&
				     (events[n_events].flags & MOAT_DNS_F_VERIFIED);
		if (verified[n_events])
			events[n_events].flags &= ~MOAT_DNS_F_VERIFIED;
	}
	n_events++;
	total_events++;
	return 0;
}

static int hold_events; /* leave the events in the ring buffer (test_ring_fill) */

/* Run one frame through egress (or ingress) and collect its events.
 * Returns the program's return value, or -1 when the run itself failed. */
static int run(int ingress, const struct frame *f)
{
	struct bpf_program *prog =
	    ingress ? skel->progs.handle_dns_ingress : skel->progs.handle_dns_egress;
	struct __sk_buff ctx = {.ingress_ifindex = run_ifindex, .mark = run_mark};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int err;

	n_events = 0;
	memset(events, 0, sizeof(events));
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (!hold_events)
		ring_buffer__consume(rb);
	if (err) {
		fprintf(stderr, "test_run: %s\n", strerror(-err));
		return -1;
	}
	return opts.retval;
}

static __u64 now_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Sum of one counter over all CPUs. */
static __u64 stat_get(unsigned prog, unsigned stat)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu > 0 ? ncpu : 1], sum = 0;
	__u32 key = prog * MOAT_STAT_NR + stat;
	int i;

	if (ncpu <= 0 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &key, vals))
		return 0;
	for (i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* The cgroup v2 id of this process (the inode of its cgroup directory),
 * which test_run's dummy socket inherits; 0 when cgroup2 is not mounted. */
static __u64 own_cgroup_id(void)
{
	char line[512], mnt[256] = "", path[512] = "", full[800];
	FILE *fp = fopen("/proc/self/mounts", "r");
	struct stat st;

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		char dev[64], dir[256], type[64];

		if (sscanf(line, "%63s %255s %63s", dev, dir, type) == 3 &&
		    !strcmp(type, "cgroup2")) {
			snprintf(mnt, sizeof(mnt), "%s", dir);
			break;
		}
	}
	fclose(fp);
	fp = fopen("/proc/self/cgroup", "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(path, sizeof(path), "%s", line + 3);
		}
	}
	fclose(fp);
	if (!mnt[0] || !path[0])
		return 0;
	snprintf(full, sizeof(full), "%s%s", mnt, path);
	if (stat(full, &st))
		return 0;
	return st.st_ino;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* Deterministic PRNG (xorshift32) for the garbage test. */
static __u32 rng_state = 0x6d6f6174; /* "moat" */

static __u32 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Checks shared by every well-formed event: header, addressing. */
static void check_common(const char *t, const struct moat_dns_event *e, unsigned type, int v6,
			 int ingress, unsigned sport, unsigned dport)
{
	char name[160];
	const __u8 *src, *dst;
	size_t alen = v6 ? 16 : 4;
	__u8 zero[16] = {0};

	if (!v6) {
		src = ingress ? ip4_server : ip4_client;
		dst = ingress ? ip4_client : ip4_server;
	} else {
		src = ingress ? ip6_server : ip6_client;
		dst = ingress ? ip6_client : ip6_server;
	}
#define N(what) (snprintf(name, sizeof(name), "%s: %s", t, what), name)
	CHECK_EQ_INT(e->hdr.type, type, N("hdr.type"));
	CHECK_EQ_INT(e->hdr.size, MOAT_DNS_EVENT_SIZE(e->n_addrs, e->n_cnames),
		     N("hdr.size ends after the last used slot"));
	CHECK_EQ_INT(event_len[e - events], e->hdr.size, N("ring record is hdr.size bytes"));
	CHECK(e->hdr.cpu < (unsigned)libbpf_num_possible_cpus(), N("hdr.cpu"), "cpu %u",
	      e->hdr.cpu);
	CHECK(e->hdr.ts_ns > 0 && e->hdr.ts_ns <= now_boot_ns(), N("hdr.ts_ns is boot time"),
	      "ts_ns %llu", (unsigned long long)e->hdr.ts_ns);
	if (want_cgroup_id)
		CHECK_EQ_INT(e->hdr.cgroup_id, want_cgroup_id, N("hdr.cgroup_id is the socket's"));
	CHECK(e->sock_cookie != 0, N("sock_cookie of test_run's dummy socket"), "cookie 0");
	CHECK_EQ_INT(e->hdr.pid, 0, N("hdr.pid 0 for an unknown socket"));
	CHECK_EQ_INT(e->hdr.tid, 0, N("hdr.tid 0 for an unknown socket"));
	CHECK_EQ_STR(e->hdr.comm, "", N("hdr.comm empty for an unknown socket"));
	CHECK_EQ_INT(e->family, v6 ? AF_INET6 : AF_INET, N("family"));
	CHECK_EQ_INT(e->sport, sport, N("sport"));
	CHECK_EQ_INT(e->dport, dport, N("dport"));
	CHECK(!memcmp(e->saddr, src, alen) && !memcmp(e->saddr + alen, zero, 16 - alen), N("saddr"),
	      "saddr differs");
	CHECK(!memcmp(e->daddr, dst, alen) && !memcmp(e->daddr + alen, zero, 16 - alen), N("daddr"),
	      "daddr differs");
#undef N
}

/* Run a UDP DNS frame and expect exactly one event; NULL otherwise. */
static const struct moat_dns_event *run_udp(const char *t, int ingress, int v6, const struct msg *m)
{
	const __u8 *src =
	    v6 ? (ingress ? ip6_server : ip6_client) : (ingress ? ip4_server : ip4_client);
	const __u8 *dst =
	    v6 ? (ingress ? ip6_client : ip6_server) : (ingress ? ip4_client : ip4_server);
	static struct frame f;
	char name[160];
	int ret;

	udp(&f, v6, src, dst, ingress ? 53 : 40000, ingress ? 40000 : 53, m->b, m->len);
	ret = run(ingress, &f);
	snprintf(name, sizeof(name), "%s: program passes the packet", t);
	CHECK_EQ_INT(ret, 1, name);
	snprintf(name, sizeof(name), "%s: one event", t);
	CHECK_EQ_INT(n_events, 1, name);
	return n_events == 1 ? &events[0] : NULL;
}

static int addr_is(const struct moat_dns_addr *a, int family, unsigned ttl, const __u8 *addr)
{
	size_t n = family == AF_INET ? 4 : 16;

	return a->family == family && a->ttl == ttl && !memcmp(a->addr, addr, n);
}

/* ---- the cases ---- */

/* loader_ring_fill (moat_ring_buffer_* metrics): the size, then what the program wrote and
 * nobody read, then nothing once read. */
static void test_ring_fill(void)
{
	int fd = bpf_map__fd(skel->maps.events), err;
	uint64_t used = 1, size = 0, held = 0;
	static struct frame f;
	struct msg m;

	err = loader_ring_fill(fd, &used, &size);
	CHECK(err == 0 && used == 0 && size == bpf_map__max_entries(skel->maps.events),
	      "ring fill: an empty ring buffer, its size", "err %d used %llu size %llu", err,
	      (unsigned long long)used, (unsigned long long)size);
	put_hdr(&m, 0x4321, RD, 1, 0);
	put_question(&m, "fill.example", T_A);
	udp(&f, 0, ip4_client, ip4_server, 40000, 53, m.b, m.len);
	hold_events = 1;
	run(0, &f);
	run(0, &f);
	hold_events = 0;
	err = loader_ring_fill(fd, &held, &size);
	ring_bytes_read = 0;
	ring_buffer__consume(rb);
	/* Each record: an 8-byte header and the event, rounded up to 8 bytes. */
	CHECK(err == 0 && n_events == 2 && held > 0 && held == ring_bytes_read,
	      "ring fill: two unread DNS events are what reading them takes",
	      "err %d used %llu read %llu", err, (unsigned long long)held,
	      (unsigned long long)ring_bytes_read);
	err = loader_ring_fill(fd, &used, &size);
	CHECK(err == 0 && used == 0, "ring fill: nothing once read", "err %d used %llu", err,
	      (unsigned long long)used);
	CHECK_EQ_INT(loader_ring_fill(bpf_map__fd(skel->maps.cgroup_cfg), &used, &size), -EINVAL,
		     "ring fill: not a ring buffer is -EINVAL");
}

static void test_query_a(void)
{
	const char *t = "A query";
	const struct moat_dns_event *e;
	struct msg m;

	put_hdr(&m, 0x1234, RD, 1, 0);
	put_question(&m, "example.com", T_A);
	e = run_udp(t, 0, 0, &m);
	if (!e)
		return;
	check_common(t, e, MOAT_EV_DNS_QUERY, 0, 0, 40000, 53);
	CHECK_EQ_INT(e->id, 0x1234, "A query: id");
	CHECK_EQ_STR(e->qname, "example.com", "A query: qname");
	CHECK_EQ_INT(e->qtype, T_A, "A query: qtype");
	CHECK_EQ_INT(e->flags, 0, "A query: no flags");
	CHECK_EQ_INT(e->rcode, 0, "A query: rcode");
	CHECK_EQ_INT(e->ancount, 0, "A query: ancount");
	CHECK_EQ_INT(e->n_addrs, 0, "A query: no addrs");
	CHECK_EQ_INT(e->n_cnames, 0, "A query: no cnames");
}

static void test_answer_a(void)
{
	const char *t = "A answer";
	static const __u8 want[4] = {93, 184, 216, 34};
	__u64 err0 = stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_ERRORS);
	const struct moat_dns_event *e;
	struct msg m;

	put_hdr(&m, 0xbeef, QR | RD | RA, 1, 1);
	put_question(&m, "example.com", T_A);
	put_a(&m, 300, 93, 184, 216, 34);
	e = run_udp(t, 1, 0, &m);
	if (!e)
		return;
	check_common(t, e, MOAT_EV_DNS_ANSWER, 0, 1, 53, 40000);
	CHECK_EQ_INT(e->id, 0xbeef, "A answer: id");
	CHECK_EQ_STR(e->qname, "example.com", "A answer: qname");
	CHECK_EQ_INT(e->qtype, T_A, "A answer: qtype");
	CHECK_EQ_INT(e->rcode, 0, "A answer: rcode NOERROR");
	CHECK_EQ_INT(e->ancount, 1, "A answer: ancount");
	CHECK_EQ_INT(e->flags, 0, "A answer: no flags");
	CHECK_EQ_INT(e->n_addrs, 1, "A answer: one addr");
	CHECK(addr_is(&e->addrs[0], AF_INET, 300, want), "A answer: addrs[0] 93.184.216.34 ttl 300",
	      "family %u ttl %u", e->addrs[0].family, e->addrs[0].ttl);
	CHECK_EQ_INT(e->n_cnames, 0, "A answer: no cnames");
	CHECK_EQ_INT(stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_ERRORS) - err0, 0,
		     "A answer: no error counted");
}

/* ---- domain rules: learning at answer time (issue #4) ---- */

static void domain_rule(__u32 policy, int wildcard, const char *name, int action, __u32 id)
{
	struct moat_domain_key k = {.policy = policy, .wildcard = (__u8)wildcard};
	struct moat_domain_rule r = {.action = (__u8)action, .rule_id = id};

	snprintf(k.name, sizeof(k.name), "%s", name);
	bpf_map_update_elem(bpf_map__fd(skel->maps.domain_rules), &k, &r, BPF_ANY);
}

/* The learned entry for addr in our cgroup, or NULL. */
static const struct moat_learned *learned(__u8 a, __u8 b, __u8 c, __u8 d)
{
	static struct moat_learned v;
	struct moat_learn_key_v4 k = {.cgroup_id = want_cgroup_id, .addr = {a, b, c, d}};

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.learned_v4), &k, &v) ? NULL : &v;
}

/* One answer for name with one A record a.b.c.d (ttl), on ingress. */
static void answer(const char *t, const char *name, unsigned ttl, __u8 a, __u8 b, __u8 c, __u8 d)
{
	struct msg m;

	put_hdr(&m, 0x4242, QR | RD | RA, 1, 1);
	put_question(&m, name, T_A);
	put_a(&m, ttl, a, b, c, d);
	run_udp(t, 1, 0, &m);
}

/* Rule generations (include/moat/maps.h): the program reads only the live generation's
 * rule set, so a set being built beside it (under policy | MOAT_POLICY_GEN1) decides
 * nothing until rules_gen flips, and the old one nothing after. */
static void set_gen(__u32 gen)
{
	struct moat_rules_gen g = {.gen = gen};
	__u32 zero = 0;

	bpf_map_update_elem(bpf_map__fd(skel->maps.rules_gen), &zero, &g, BPF_ANY);
}

static void test_rule_generations(void)
{
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .domains = 1, .policy = 9};
	const struct moat_learned *l;
	__u64 cg = want_cgroup_id;

	if (!cg) {
		CHECK(0, "generations: cgroup id known", "no cgroup2 mount");
		return;
	}
	bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_cfg), &cg, &cfg, BPF_ANY);
	set_gen(0);
	domain_rule(9, 0, "gen.test", MOAT_ACT_DENY, 90);		      /* live */
	domain_rule(9 | MOAT_POLICY_GEN1, 0, "gen.test", MOAT_ACT_ALLOW, 91); /* being built */
	answer("generations: live set", "gen.test", 60, 10, 9, 1, 1);
	l = learned(10, 9, 1, 1);
	CHECK(l && l->rule_id == 90 && l->deny_until_ns && !l->allow_until_ns,
	      "generations: the set being built decides nothing before the flip", "l=%p rule %u",
	      (void *)l, l ? l->rule_id : 0);
	set_gen(1);
	answer("generations: after the flip", "gen.test", 60, 10, 9, 1, 2);
	l = learned(10, 9, 1, 2);
	CHECK(l && l->rule_id == 91 && l->allow_until_ns,
	      "generations: after the flip the new set decides, the old one not at all",
	      "l=%p rule %u", (void *)l, l ? l->rule_id : 0);
	set_gen(0);
}

static void test_domain_learning(void)
{
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .domains = 1, .policy = 7};
	const struct moat_learned *l;
	__u64 now, cg = want_cgroup_id;
	struct msg m;

	if (!cg) {
		CHECK(0, "domain learning: cgroup id known", "no cgroup2 mount");
		return;
	}
	answer("domain: not in domain mode", "allowed.test", 60, 10, 9, 0, 1);
	CHECK(learned(10, 9, 0, 1) == NULL, "domain: nothing learned outside domain mode",
	      "learned");
	bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_cfg), &cg, &cfg, BPF_ANY);
	domain_rule(7, 0, "allowed.test", MOAT_ACT_ALLOW, 11);
	domain_rule(7, 0, "denied.test", MOAT_ACT_DENY, 12);
	domain_rule(7, 1, "wild.test", MOAT_ACT_ALLOW, 13);
	domain_rule(7, 0, "no.wild.test", MOAT_ACT_DENY, 14);
	domain_rule(8, 0, "other.test", MOAT_ACT_ALLOW, 15); /* another rule set */

	now = now_boot_ns();
	answer("domain: allowed name", "Allowed.TEST", 60, 10, 9, 0, 1);
	l = learned(10, 9, 0, 1);
	CHECK(l && l->rule_id == 11 && l->allow_until_ns >= now + 69000000000ULL &&
		  l->allow_until_ns <= now_boot_ns() + 71000000000ULL && !l->deny_until_ns,
	      "domain: allowed name opens its address for TTL + 10 s, case-insensitive",
	      "l=%p rule %u", (void *)l, l ? l->rule_id : 0);
	answer("domain: denied name", "denied.test", 60, 10, 9, 0, 2);
	l = learned(10, 9, 0, 2);
	CHECK(l && l->rule_id == 12 && l->deny_until_ns > now && !l->allow_until_ns,
	      "domain: denied name marks its address denied", "l=%p", (void *)l);
	answer("domain: wildcard", "a.b.wild.test", 5, 10, 9, 0, 3);
	l = learned(10, 9, 0, 3);
	CHECK(l && l->rule_id == 13 && l->allow_until_ns,
	      "domain: *.wild.test allows a.b.wild.test", "l=%p", (void *)l);
	answer("domain: exact beats wildcard", "no.wild.test", 5, 10, 9, 0, 4);
	l = learned(10, 9, 0, 4);
	CHECK(l && l->rule_id == 14 && l->deny_until_ns && !l->allow_until_ns,
	      "domain: exact deny beats the wildcard allow", "l=%p", (void *)l);
	answer("domain: wildcard is not the apex", "wild.test", 5, 10, 9, 0, 5);
	CHECK(learned(10, 9, 0, 5) == NULL, "domain: *.wild.test does not match wild.test",
	      "learned");
	answer("domain: no rule", "unknown.test", 5, 10, 9, 0, 6);
	CHECK(learned(10, 9, 0, 6) == NULL, "domain: a name with no rule learns nothing",
	      "learned");
	answer("domain: other rule set", "other.test", 5, 10, 9, 0, 7);
	CHECK(learned(10, 9, 0, 7) == NULL, "domain: another policy's rule does not apply",
	      "learned");
	/* Shared address: a denied name, then an allowed one, answer 10.9.0.2. */
	answer("domain: shared address", "allowed.test", 60, 10, 9, 0, 2);
	l = learned(10, 9, 0, 2);
	CHECK(l && l->allow_until_ns && l->deny_until_ns && l->rule_id == 11,
	      "domain: an address both allowed and denied keeps both marks; allow decides", "l=%p",
	      (void *)l);
	domain_rule(7, 1, "", MOAT_ACT_ALLOW, 16); /* "*" */
	answer("domain: default rule", "anything.example", 5, 10, 9, 0, 8);
	l = learned(10, 9, 0, 8);
	CHECK(l && l->rule_id == 16, "domain: the * rule applies last", "l=%p", (void *)l);
	/* A CNAME chain: the asked name decides for the final addresses. */
	put_hdr(&m, 0x77, QR | RD | RA, 1, 2);
	put_question(&m, "allowed.test", T_A);
	put_ptr(&m, 12);
	put_rr(&m, T_CNAME, 60, 13);
	put_name(&m, "cdn.example");
	put_a(&m, 60, 10, 9, 0, 9);
	run_udp("domain: CNAME", 1, 0, &m);
	l = learned(10, 9, 0, 9);
	CHECK(l && l->rule_id == 11, "domain: addresses through a CNAME follow the asked name",
	      "l=%p", (void *)l);
	/* A query never learns; a malformed answer never learns. */
	put_hdr(&m, 0x78, RD, 1, 0);
	put_question(&m, "allowed.test", T_A);
	run_udp("domain: query", 0, 0, &m);
	put_hdr(&m, 0x79, QR | RD | RA, 1, 1);
	put_question(&m, "allowed.test", T_A);
	put_rr(&m, T_A, 60, 4);
	run_udp("domain: truncated answer", 1, 0, &m);
	CHECK(learned(10, 9, 0, 10) == NULL, "domain: queries and broken answers learn nothing",
	      "learned");
	/* IPv6: an AAAA answer (over IPv6) fills learned_v6 the same way. */
	{
		static const __u8 v6[16] = {0xfd, 0, 0x6d, 0x6f, 0, 0, 0, 0,
					    0,	  0, 0,	   0,	 0, 0, 0, 9};
		struct moat_learn_key_v6 k = {.cgroup_id = cg};
		struct moat_learned v;

		put_hdr(&m, 0x7a, QR | RD | RA, 1, 1);
		put_question(&m, "allowed.test", T_AAAA);
		put_ptr(&m, 12);
		put_rr(&m, T_AAAA, 60, 16);
		put_bytes(&m, v6, 16);
		run_udp("domain: AAAA over IPv6", 1, 1, &m);
		memcpy(k.addr, v6, 16);
		CHECK(bpf_map_lookup_elem(bpf_map__fd(skel->maps.learned_v6), &k, &v) == 0 &&
			  v.rule_id == 11 && v.allow_until_ns > now,
		      "domain: an allowed AAAA answer opens the IPv6 address", "not learned");
	}
	/* Interactive mode: a name with no rule is held (the packet is
	 * dropped) and flagged; a name with a rule passes. */
	cfg.domains = 2;
	bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_cfg), &cg, &cfg, BPF_ANY);
	{
		static struct frame f;
		int ret;

		put_hdr(&m, 0x7b, QR | RD | RA, 1, 1);
		put_question(&m, "ask-me.test", T_A);
		put_a(&m, 60, 10, 9, 0, 11);
		udp(&f, 0, ip4_server, ip4_client, 53, 40000, m.b, m.len);
		ret = run(1, &f);
		CHECK(ret == 0 && n_events == 1 && (events[0].flags & MOAT_DNS_F_HELD),
		      "interactive: an answer for a name with no rule is held back and flagged",
		      "ret %d events %d flags %#x", ret, n_events, n_events ? events[0].flags : 0);
		CHECK(learned(10, 9, 0, 11) == NULL, "interactive: a held answer learns nothing",
		      "learned");
		answer("interactive: a name with a rule", "allowed.test", 60, 10, 9, 0, 12);
		CHECK(learned(10, 9, 0, 12) != NULL && !(events[0].flags & MOAT_DNS_F_HELD),
		      "interactive: a name with a rule passes and learns", "not learned");
	}
	cfg.domains = 0;
	bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_cfg), &cg, &cfg, BPF_ANY);
}

/* ---- issue #8: which answers are trusted, verified and learned from ---- */

static void set_cfg(const struct moat_cgroup_cfg *cfg)
{
	__u64 cg = want_cgroup_id;

	if (cfg)
		bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_cfg), &cg, cfg, BPF_ANY);
	else
		bpf_map_delete_elem(bpf_map__fd(skel->maps.cgroup_cfg), &cg);
}

/* One A answer name -> 10.9.a.b from src:53 to the client, with the run context set. */
static int answer_from(const __u8 *src, __u32 ifindex, __u32 mark, const char *name, __u8 c, __u8 d)
{
	static struct frame f;
	struct msg m;
	int ret;

	put_hdr(&m, 0x5151, QR | RD | RA, 1, 1);
	put_question(&m, name, T_A);
	put_a(&m, 60, 10, 9, c, d);
	udp(&f, 0, src, ip4_client, 53, 40000, m.b, m.len);
	run_ifindex = ifindex;
	run_mark = mark;
	ret = run(1, &f);
	run_ifindex = 2;
	run_mark = 0;
	return ret;
}

static void test_trust(void)
{
	static const __u8 lo_other[4] = {127, 0, 0, 1}, embedded[4] = {127, 0, 0, 11};
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .domains = 1, .policy = 21};

	if (!want_cgroup_id) {
		CHECK(0, "trust: cgroup id known", "no cgroup2 mount");
		return;
	}
	set_cfg(&cfg);
	domain_rule(21, 0, "trust.test", MOAT_ACT_ALLOW, 211);

	answer_from(ip4_server, 2, 0, "trust.test", 11, 1);
	CHECK(n_events == 1 && verified[0] && !(events[0].flags & MOAT_DNS_F_UNTRUSTED),
	      "trust: an answer from the network on eth0 is trusted", "flags %#x",
	      n_events ? events[0].flags : 0);
	CHECK(learned(10, 9, 11, 1) != NULL, "trust: and learned from", "not learned");

	answer_from(ip4_server, 1, 0, "trust.test", 11, 2);
	CHECK(n_events == 1 && !verified[0] && (events[0].flags & MOAT_DNS_F_UNTRUSTED),
	      "trust: a non-loopback source on lo (packet-socket injection) is untrusted",
	      "flags %#x", n_events ? events[0].flags : 0);
	CHECK(learned(10, 9, 11, 2) == NULL, "trust: an injected answer learns nothing", "learned");

	answer_from(lo_other, 1, 0, "trust.test", 11, 3);
	CHECK(n_events == 1 && (events[0].flags & MOAT_DNS_F_UNTRUSTED) &&
		  learned(10, 9, 11, 3) == NULL,
	      "trust: 127.0.0.1:53 (the container answering itself) is untrusted", "flags %#x",
	      n_events ? events[0].flags : 0);

	answer_from(embedded, 1, 0, "trust.test", 11, 4);
	CHECK(n_events == 1 && verified[0] && learned(10, 9, 11, 4) != NULL,
	      "trust: Docker's embedded DNS (127.0.0.11 on lo) is trusted", "flags %#x",
	      n_events ? events[0].flags : 0);

	answer_from(embedded, 1, MOAT_MARK_DNS_OUT, "trust.test", 11, 5);
	CHECK(n_events == 1 && (events[0].flags & MOAT_DNS_F_UNTRUSTED) &&
		  learned(10, 9, 11, 5) == NULL,
	      "trust: an answer a container socket sent (marked at its egress) is untrusted",
	      "flags %#x", n_events ? events[0].flags : 0);

	answer_from(lo_other, 2, 0, "trust.test", 11, 6);
	CHECK(n_events == 1 && (events[0].flags & MOAT_DNS_F_UNTRUSTED),
	      "trust: a loopback source on another interface is untrusted", "flags %#x",
	      n_events ? events[0].flags : 0);
	set_cfg(NULL);
}

/* A DNS response leaving the container: marked and reported in monitor mode, dropped
 * (with a packet event) when its egress is restricted. */
static void test_outbound(void)
{
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .default_action = MOAT_ACT_DENY};
	struct moat_lpm_v4 k = {.prefixlen = 64 + 32, .addr = {10, 0, 0, 2}};
	struct moat_rule_val allow = {.action = MOAT_ACT_ALLOW, .prefixlen = 32, .rule_id = 78};
	__u64 cg = want_cgroup_id;
	static struct frame f;
	struct msg m;
	int ret;

	if (!want_cgroup_id) {
		CHECK(0, "outbound: cgroup id known", "no cgroup2 mount");
		return;
	}
	put_hdr(&m, 0x6161, QR | RD | RA, 1, 1);
	put_question(&m, "ok.allowed.test", T_A);
	put_a(&m, 300, 203, 0, 113, 7);
	udp(&f, 0, ip4_client, ip4_client, 53, 40001, m.b, m.len);
	ret = run(0, &f);
	CHECK(ret == 1 && n_events == 1 && events[0].hdr.type == MOAT_EV_DNS_ANSWER &&
		  (events[0].flags & MOAT_DNS_F_OUTBOUND),
	      "outbound: a response a monitored container sends passes, flagged outbound",
	      "ret %d events %d flags %#x", ret, n_events, n_events ? events[0].flags : 0);
	set_cfg(&cfg);
	/* test_run's socket meets the backstop too: let its destination pass there. */
	memcpy(k.cgroup_id, &cg, 8);
	bpf_map_update_elem(bpf_map__fd(skel->maps.net_rules_v4), &k, &allow, BPF_ANY);
	ret = run(0, &f);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.net_rules_v4), &k);
	{
		const struct moat_packet_event *p = (const void *)&events[0];

		CHECK(ret == 0 && n_events == 1 && p->hdr.type == MOAT_EV_PACKET &&
			  p->reason == MOAT_PKT_R_DNS_RESPONSE && p->where == MOAT_PKT_AT_SOCKET &&
			  p->sport == 53 && p->dport == 40001 &&
			  p->rule_id == MOAT_RULE_DNS_RESPONSE,
		      "outbound: a restricted container's DNS response is dropped and reported",
		      "ret %d events %d type %u reason %u", ret, n_events,
		      n_events ? p->hdr.type : 0, n_events ? p->reason : 0);
	}
	set_cfg(NULL);
}

/* The egress backstop: test_run's socket is neither plain TCP nor UDP, as a raw or ping
 * socket would be, so every packet it sends is judged by the destination. */
static void test_backstop(void)
{
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .default_action = MOAT_ACT_DENY};
	static const __u8 icmp[8] = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
	static struct frame f;
	struct moat_lpm_v4 k = {.prefixlen = 64 + 32, .addr = {10, 0, 0, 1}};
	struct moat_rule_val allow = {.action = MOAT_ACT_ALLOW, .prefixlen = 32, .rule_id = 77};
	__u64 cg = want_cgroup_id;
	int ret;

	if (!cg) {
		CHECK(0, "backstop: cgroup id known", "no cgroup2 mount");
		return;
	}
	ip(&f, 0, 1 /* ICMP */, ip4_client, ip4_server, sizeof(icmp));
	memcpy(f.b + f.len, icmp, sizeof(icmp));
	f.len += sizeof(icmp);
	ret = run(0, &f);
	CHECK_EQ_INT(ret, 1, "backstop: monitor mode lets a raw packet go");
	set_cfg(&cfg);
	ret = run(0, &f);
	{
		const struct moat_packet_event *p = (const void *)&events[0];

		CHECK(ret == 0 && n_events == 1 && p->hdr.type == MOAT_EV_PACKET &&
			  p->reason == MOAT_PKT_R_DENIED && p->protocol == 1 &&
			  !memcmp(p->daddr, ip4_server, 4),
		      "backstop: enforce mode drops an ICMP packet to a denied address, reported",
		      "ret %d events %d", ret, n_events);
	}
	memcpy(k.cgroup_id, &cg, 8);
	bpf_map_update_elem(bpf_map__fd(skel->maps.net_rules_v4), &k, &allow, BPF_ANY);
	ret = run(0, &f);
	CHECK_EQ_INT(ret, 1, "backstop: an allowed address passes");
	bpf_map_delete_elem(bpf_map__fd(skel->maps.net_rules_v4), &k);
	set_cfg(NULL);
}

/* One answer's TTL opens an address at most moat_settings.max_ttl_s. */
static void test_ttl_clamp(void)
{
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .domains = 1, .policy = 22};
	struct moat_settings st = {.max_ttl_s = 100};
	const struct moat_learned *l;
	__u32 zero = 0;
	__u64 now = now_boot_ns();

	if (!want_cgroup_id)
		return;
	set_cfg(&cfg);
	domain_rule(22, 0, "ttl.test", MOAT_ACT_ALLOW, 221);
	bpf_map_update_elem(bpf_map__fd(skel->maps.settings), &zero, &st, BPF_ANY);
	answer("ttl: a decade", "ttl.test", 315360000, 10, 9, 2, 1);
	l = learned(10, 9, 2, 1);
	CHECK(l && l->allow_until_ns <= now_boot_ns() + 111000000000ULL &&
		  l->allow_until_ns >= now + 109000000000ULL,
	      "ttl: a TTL of ten years opens the address for max_ttl_s (100 s) + 10 s",
	      "allow_until in %lld s", l ? (long long)(l->allow_until_ns - now) / 1000000000 : -1);
	memset(&st, 0, sizeof(st));
	bpf_map_update_elem(bpf_map__fd(skel->maps.settings), &zero, &st, BPF_ANY);
	answer("ttl: default cap", "ttl.test", 315360000, 10, 9, 2, 2);
	l = learned(10, 9, 2, 2);
	CHECK(l && l->allow_until_ns <= now_boot_ns() + (MOAT_MAX_TTL_DEFAULT + 11) * 1000000000ULL,
	      "ttl: without a setting the cap is MOAT_MAX_TTL_DEFAULT", "not capped");
	set_cfg(NULL);
}

/* A wildcard rule matches however many labels the name has (it used to stop at 16). */
static void test_deep_wildcard(void)
{
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .domains = 1, .policy = 23};
	struct moat_settings st = {.max_wild_labels = 2};
	const struct moat_learned *l;
	char name[256] = "";
	__u32 zero = 0;

	if (!want_cgroup_id)
		return;
	for (int i = 0; i < 40; i++)
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "l%d.", i);
	snprintf(name + strlen(name), sizeof(name) - strlen(name), "evil.test");
	set_cfg(&cfg);
	domain_rule(23, 1, "evil.test", MOAT_ACT_DENY, 231);
	domain_rule(23, 1, "", MOAT_ACT_ALLOW, 232); /* "*" */
	answer("wildcard: 42 labels", name, 60, 10, 9, 3, 1);
	l = learned(10, 9, 3, 1);
	CHECK(l && l->rule_id == 231 && l->deny_until_ns && !l->allow_until_ns,
	      "wildcard: *.evil.test denies a name of 42 labels (not the * allow)", "l=%p rule %u",
	      (void *)l, l ? l->rule_id : 0);
	bpf_map_update_elem(bpf_map__fd(skel->maps.settings), &zero, &st, BPF_ANY);
	answer("wildcard: 42 labels, depth 2", name, 60, 10, 9, 3, 2);
	l = learned(10, 9, 3, 2);
	CHECK(l && l->rule_id == 231,
	      "wildcard: with max_wild_labels 2 the 2-label suffix is still tried", "l=%p rule %u",
	      (void *)l, l ? l->rule_id : 0);
	memset(&st, 0, sizeof(st));
	bpf_map_update_elem(bpf_map__fd(skel->maps.settings), &zero, &st, BPF_ANY);
	set_cfg(NULL);
}

/* A container cannot hold more than its learn_limit: it cannot evict the others. */
static void test_learn_quota(void)
{
	struct moat_cgroup_cfg cfg = {
	    .mode = MOAT_MODE_ENFORCE, .domains = 1, .policy = 24, .learn_limit = 2};
	struct moat_cgroup_state st;
	__u64 cg = want_cgroup_id;

	if (!cg)
		return;
	bpf_map_delete_elem(bpf_map__fd(skel->maps.cgroup_state), &cg);
	set_cfg(&cfg);
	domain_rule(24, 0, "quota.test", MOAT_ACT_ALLOW, 241);
	answer("quota: 1", "quota.test", 60, 10, 9, 4, 1);
	answer("quota: 2", "quota.test", 60, 10, 9, 4, 2);
	answer("quota: 3", "quota.test", 60, 10, 9, 4, 3);
	answer("quota: 1 again", "quota.test", 60, 10, 9, 4, 1);
	CHECK(learned(10, 9, 4, 1) && learned(10, 9, 4, 2) && !learned(10, 9, 4, 3),
	      "quota: the third address is not learned at a limit of 2", "wrong entries");
	CHECK(bpf_map_lookup_elem(bpf_map__fd(skel->maps.cgroup_state), &cg, &st) == 0 &&
		  st.learned == 2 && st.learn_refused == 1,
	      "quota: counted: 2 learned, 1 refused (a refresh is no new entry)",
	      "learned %lld refused %llu", (long long)st.learned,
	      (unsigned long long)st.learn_refused);
	set_cfg(NULL);
}

/* Without test_skip_verify an answer no socket asked for teaches nothing. */
static void test_verify_gate(void)
{
	struct moat_cgroup_cfg cfg = {.mode = MOAT_MODE_ENFORCE, .domains = 1, .policy = 25};
	struct dns_bpf *real = dns_bpf__open(), *saved = skel;
	struct bpf_map *map;
	__u64 cg = want_cgroup_id;

	if (!real || !cg) {
		CHECK(0, "verify: second skeleton", "open failed or no cgroup id");
		dns_bpf__destroy(real);
		return;
	}
	bpf_object__for_each_map(map, real->obj) bpf_map__set_pin_path(map, NULL);
	if (dns_bpf__load(real)) {
		CHECK(0, "verify: second skeleton loads", "load failed");
		dns_bpf__destroy(real);
		return;
	}
	skel = real; /* run() and learned() use skel; its events go to a ring nobody reads */
	set_cfg(&cfg);
	domain_rule(25, 0, "verify.test", MOAT_ACT_ALLOW, 251);
	answer_from(ip4_server, 2, 0, "verify.test", 5, 1);
	CHECK(learned(10, 9, 5, 1) == NULL,
	      "verify: an answer to a query its socket never sent is not learned", "learned");
	skel = saved;
	dns_bpf__destroy(real);
}

/* www.example.com CNAME cdn.<ptr example.com>, then an A whose owner points
 * at the CNAME target, which itself ends in a pointer: two-hop chain. */
static void test_compression(void)
{
	const char *t = "compression";
	static const __u8 want[4] = {192, 0, 2, 7};
	const struct moat_dns_event *e;
	struct msg m;
	size_t target;

	put_hdr(&m, 7, QR | RD | RA, 1, 2);
	put_question(&m, "www.example.com", T_A); /* "example" label at offset 16 */
	put_ptr(&m, 12);
	put_rr(&m, T_CNAME, 60, 6);
	target = m.len;
	put8(&m, 3);
	put_bytes(&m, "cdn", 3);
	put_ptr(&m, 16);
	put_ptr(&m, target);
	put_rr(&m, T_A, 30, 4);
	put_bytes(&m, want, 4);
	e = run_udp(t, 1, 0, &m);
	if (!e)
		return;
	CHECK_EQ_INT(e->hdr.type, MOAT_EV_DNS_ANSWER, "compression: answer");
	CHECK_EQ_STR(e->qname, "www.example.com", "compression: qname");
	CHECK_EQ_INT(e->flags, 0, "compression: no flags");
	CHECK_EQ_INT(e->n_cnames, 1, "compression: one cname");
	CHECK_EQ_STR(e->cnames[0], "cdn.example.com", "compression: cname through a pointer");
	CHECK_EQ_INT(e->n_addrs, 1, "compression: one addr");
	CHECK(addr_is(&e->addrs[0], AF_INET, 30, want),
	      "compression: A behind a pointer to a pointer", "ttl %u", e->addrs[0].ttl);
}

static void test_ptr_loop(void)
{
	const struct moat_dns_event *e;
	__u64 err0 = stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_ERRORS);
	struct msg m;
	size_t rd;

	/* The question name is a pointer to itself. */
	put_hdr(&m, 9, QR, 1, 0);
	put_ptr(&m, 12);
	put16(&m, T_A);
	put16(&m, 1);
	e = run_udp("pointer loop (self)", 1, 0, &m);
	if (e) {
		CHECK(e->flags & MOAT_DNS_F_PTR_LOOP, "pointer loop (self): PTR_LOOP flag",
		      "flags %#x", e->flags);
		CHECK_EQ_STR(e->qname, "", "pointer loop (self): qname empty");
		CHECK_EQ_INT(e->id, 9, "pointer loop (self): id still parsed");
	}

	/* A CNAME target "a" + pointer back to its own first label: a
	 * two-step cycle through a valid-looking label. */
	put_hdr(&m, 10, QR, 1, 2);
	put_question(&m, "loop.example", T_A);
	put_ptr(&m, 12);
	put_rr(&m, T_CNAME, 5, 4);
	rd = m.len;
	put8(&m, 1);
	put8(&m, 'a');
	put_ptr(&m, rd);
	put_a(&m, 5, 1, 2, 3, 4);
	e = run_udp("pointer loop (cname)", 1, 0, &m);
	if (e) {
		CHECK(e->flags & MOAT_DNS_F_PTR_LOOP, "pointer loop (cname): PTR_LOOP flag",
		      "flags %#x", e->flags);
		CHECK_EQ_STR(e->qname, "loop.example", "pointer loop (cname): qname");
		CHECK_EQ_INT(e->n_cnames, 1, "pointer loop (cname): partial cname kept");
		CHECK_EQ_STR(e->cnames[0], "a", "pointer loop (cname): cname as far as parsed");
		CHECK_EQ_INT(e->n_addrs, 1, "pointer loop (cname): next record still parsed");
	}

	/* A forward pointer (into the answer section) from the question. */
	put_hdr(&m, 11, QR, 1, 0);
	put_ptr(&m, 18);
	put16(&m, T_A);
	put16(&m, 1);
	put_name(&m, "x");
	e = run_udp("pointer loop (forward)", 1, 0, &m);
	if (e)
		CHECK(e->flags & MOAT_DNS_F_PTR_LOOP, "pointer loop (forward): PTR_LOOP flag",
		      "flags %#x", e->flags);
	CHECK_EQ_INT(stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_ERRORS) - err0, 3,
		     "pointer loop: three errors counted");
}

static void test_cname_chain(void)
{
	const char *t = "CNAME chain";
	static const __u8 a1[4] = {1, 2, 3, 4}, a2[4] = {5, 6, 7, 8};
	const struct moat_dns_event *e;
	struct msg m;
	size_t b_off, c_off;

	put_hdr(&m, 0x4242, QR | RD | RA, 1, 4);
	put_question(&m, "A.Example.com", T_A);
	put_ptr(&m, 12);
	put_rr(&m, T_CNAME, 100, 15);
	b_off = m.len;
	put_name(&m, "b.example.net");
	put_ptr(&m, b_off);
	put_rr(&m, T_CNAME, 200, 15);
	c_off = m.len;
	put_name(&m, "C.EXAMPLE.ORG");
	put_ptr(&m, c_off);
	put_rr(&m, T_A, 10, 4);
	put_bytes(&m, a1, 4);
	put_ptr(&m, c_off);
	put_rr(&m, T_A, 20, 4);
	put_bytes(&m, a2, 4);
	e = run_udp(t, 1, 0, &m);
	if (!e)
		return;
	CHECK_EQ_STR(e->qname, "a.example.com", "CNAME chain: qname lowercased");
	CHECK_EQ_INT(e->ancount, 4, "CNAME chain: ancount");
	CHECK_EQ_INT(e->flags, 0, "CNAME chain: no flags");
	CHECK_EQ_INT(e->n_cnames, 2, "CNAME chain: two cnames");
	CHECK_EQ_STR(e->cnames[0], "b.example.net", "CNAME chain: cnames[0]");
	CHECK_EQ_STR(e->cnames[1], "c.example.org", "CNAME chain: cnames[1] lowercased");
	CHECK_EQ_INT(e->n_addrs, 2, "CNAME chain: two addrs");
	CHECK(addr_is(&e->addrs[0], AF_INET, 10, a1), "CNAME chain: addrs[0] 1.2.3.4", "differs");
	CHECK(addr_is(&e->addrs[1], AF_INET, 20, a2), "CNAME chain: addrs[1] 5.6.7.8", "differs");

	/* Five CNAMEs: four kept, MORE_CNAMES. */
	put_hdr(&m, 5, QR, 1, 5);
	put_question(&m, "x.test", T_A);
	for (int i = 0; i < 5; i++) {
		char n[16];

		snprintf(n, sizeof(n), "c%d.test", i);
		put_ptr(&m, 12);
		put_rr(&m, T_CNAME, 1, strlen(n) + 2);
		put_name(&m, n);
	}
	e = run_udp("five CNAMEs", 1, 0, &m);
	if (!e)
		return;
	CHECK_EQ_INT(e->n_cnames, MOAT_DNS_MAX_CNAMES, "five CNAMEs: four kept");
	CHECK_EQ_STR(e->cnames[3], "c3.test", "five CNAMEs: cnames[3]");
	CHECK_EQ_INT(e->flags, MOAT_DNS_F_MORE_CNAMES, "five CNAMEs: MORE_CNAMES only");
}

/* A dotted name of `len` chars: 63-char labels of 'a'..'d', then the rest. */
static void long_name(char *out, size_t len)
{
	size_t i, lab = 0;

	for (i = 0; i < len; i++) {
		if (lab == 63 && i + 1 < len) {
			out[i] = '.';
			lab = 0;
			continue;
		}
		out[i] = 'a' + (i / 64) % 26;
		lab++;
	}
	out[len] = 0;
}

static void test_long_names(void)
{
	char name[300], cut[256];
	const struct moat_dns_event *e;
	struct msg m;

	long_name(name, 255);
	put_hdr(&m, 1, 0, 1, 0);
	put_question(&m, name, T_AAAA);
	e = run_udp("255-char name", 0, 0, &m);
	if (e) {
		CHECK_EQ_INT(strlen(e->qname), 255, "255-char name: kept whole");
		CHECK_EQ_STR(e->qname, name, "255-char name: qname");
		CHECK_EQ_INT(e->flags, 0, "255-char name: no NAME_LONG");
		CHECK_EQ_INT(e->qtype, T_AAAA, "255-char name: qtype after it");
	}

	long_name(name, 257);
	memcpy(cut, name, 255);
	cut[255] = 0;
	put_hdr(&m, 2, 0, 1, 0);
	put_question(&m, name, T_AAAA);
	e = run_udp("257-char name", 0, 0, &m);
	if (e) {
		CHECK(e->flags & MOAT_DNS_F_NAME_LONG, "257-char name: NAME_LONG", "flags %#x",
		      e->flags);
		CHECK_EQ_STR(e->qname, cut, "257-char name: cut at 255 chars");
		CHECK_EQ_INT(e->qtype, T_AAAA, "257-char name: parse goes on after it");
	}

	put_hdr(&m, 3, 0, 1, 0);
	put_question(&m, "", T_A);
	e = run_udp("root name", 0, 0, &m);
	if (e) {
		CHECK_EQ_STR(e->qname, "", "root name: empty string");
		CHECK_EQ_INT(e->flags, 0, "root name: no flags");
		CHECK_EQ_INT(e->qtype, T_A, "root name: qtype");
	}
}

static void test_nxdomain(void)
{
	const struct moat_dns_event *e;
	struct msg m;

	put_hdr(&m, 0x0303, QR | RD | RA | 3, 1, 0);
	put_question(&m, "nope.invalid", T_A);
	e = run_udp("NXDOMAIN", 1, 0, &m);
	if (!e)
		return;
	CHECK_EQ_INT(e->hdr.type, MOAT_EV_DNS_ANSWER, "NXDOMAIN: answer");
	CHECK_EQ_INT(e->rcode, 3, "NXDOMAIN: rcode 3");
	CHECK_EQ_INT(e->ancount, 0, "NXDOMAIN: ancount 0");
	CHECK_EQ_INT(e->n_addrs, 0, "NXDOMAIN: no addrs");
	CHECK_EQ_STR(e->qname, "nope.invalid", "NXDOMAIN: qname");
	CHECK_EQ_INT(e->flags, 0, "NXDOMAIN: no flags");
}

static void test_many_answers(void)
{
	const struct moat_dns_event *e;
	struct msg m;
	int i, ok = 1;

	put_hdr(&m, 20, QR | RD | RA, 1, 20);
	put_question(&m, "many.example", T_A);
	for (i = 0; i < 20; i++)
		put_a(&m, 1000 + i, 10, 1, 0, i + 1);
	e = run_udp("20 A records", 1, 0, &m);
	if (!e)
		return;
	CHECK_EQ_INT(e->ancount, 20, "20 A records: ancount");
	CHECK_EQ_INT(e->n_addrs, MOAT_DNS_MAX_ADDRS, "20 A records: 16 kept");
	CHECK_EQ_INT(e->flags, MOAT_DNS_F_MORE_ADDRS, "20 A records: MORE_ADDRS only");
	for (i = 0; i < MOAT_DNS_MAX_ADDRS; i++) {
		__u8 want[4] = {10, 1, 0, i + 1};

		ok &= addr_is(&e->addrs[i], AF_INET, 1000 + i, want);
	}
	CHECK(ok, "20 A records: the first 16 in order with their TTLs", "an address differs");
}

static void test_aaaa(void)
{
	static const __u8 want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	const struct moat_dns_event *e;
	struct msg m;

	put_hdr(&m, 28, QR | RD | RA, 1, 1);
	put_question(&m, "v6.example", T_AAAA);
	put_ptr(&m, 12);
	put_rr(&m, T_AAAA, 60, 16);
	put_bytes(&m, want, 16);
	e = run_udp("AAAA answer", 1, 0, &m);
	if (!e)
		return;
	CHECK_EQ_INT(e->qtype, T_AAAA, "AAAA answer: qtype 28");
	CHECK_EQ_INT(e->n_addrs, 1, "AAAA answer: one addr");
	CHECK(addr_is(&e->addrs[0], AF_INET6, 60, want), "AAAA answer: 2001:db8::1 ttl 60",
	      "family %u ttl %u", e->addrs[0].family, e->addrs[0].ttl);
	CHECK_EQ_INT(e->flags, 0, "AAAA answer: no flags");
}

static void test_ipv6(void)
{
	static const __u8 want[4] = {198, 51, 100, 1};
	const struct moat_dns_event *e;
	struct msg m;

	put_hdr(&m, 0x0606, RD, 1, 0);
	put_question(&m, "six.example", T_A);
	e = run_udp("IPv6 query", 0, 1, &m);
	if (e) {
		check_common("IPv6 query", e, MOAT_EV_DNS_QUERY, 1, 0, 40000, 53);
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_IPV6, "IPv6 query: IPV6 flag");
		CHECK_EQ_STR(e->qname, "six.example", "IPv6 query: qname");
	}

	put_hdr(&m, 0x0607, QR | RD | RA, 1, 1);
	put_question(&m, "six.example", T_A);
	put_a(&m, 77, 198, 51, 100, 1);
	e = run_udp("IPv6 answer", 1, 1, &m);
	if (e) {
		check_common("IPv6 answer", e, MOAT_EV_DNS_ANSWER, 1, 1, 53, 40000);
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_IPV6, "IPv6 answer: IPV6 flag");
		CHECK(e->n_addrs == 1 && addr_is(&e->addrs[0], AF_INET, 77, want),
		      "IPv6 answer: A record", "n_addrs %u", e->n_addrs);
	}
}

static void test_case_and_escapes(void)
{
	const struct moat_dns_event *e;
	struct msg m;

	put_hdr(&m, 1, RD, 1, 0);
	put_question(&m, "WwW.ExAmPlE.CoM", T_A);
	e = run_udp("mixed case", 0, 0, &m);
	if (e)
		CHECK_EQ_STR(e->qname, "www.example.com", "mixed case: qname lowercased");

	/* A label holding a dot and a NUL must not read as two labels or
	 * stop the string early. */
	put_hdr(&m, 2, RD, 1, 0);
	put8(&m, 3);
	put_bytes(&m, "a.b", 3);
	put8(&m, 2);
	put8(&m, 0);
	put8(&m, 'Z');
	put_name(&m, "com");
	put16(&m, T_A);
	put16(&m, 1);
	e = run_udp("odd bytes", 0, 0, &m);
	if (e) {
		CHECK_EQ_STR(e->qname, "a\\.b.\\000z.com", "odd bytes: escaped like dig");
		CHECK_EQ_INT(e->flags, 0, "odd bytes: no flags");
	}
}

static void test_truncated(void)
{
	const struct moat_dns_event *e;
	__u64 err0 = stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_ERRORS);
	struct msg m;

	put_hdr(&m, 0x7777, QR | RD | RA, 1, 1);
	put_question(&m, "cut.example", T_A);
	put_ptr(&m, 12);
	put16(&m, T_A);
	put16(&m, 1); /* ends before ttl, rdlength, rdata */
	e = run_udp("truncated", 1, 0, &m);
	if (!e)
		return;
	CHECK_EQ_INT(e->flags, MOAT_DNS_F_TRUNCATED, "truncated: TRUNCATED flag");
	CHECK_EQ_STR(e->qname, "cut.example", "truncated: question still parsed");
	CHECK_EQ_INT(e->ancount, 1, "truncated: ancount from the header");
	CHECK_EQ_INT(e->n_addrs, 0, "truncated: no addrs");
	CHECK_EQ_INT(stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_ERRORS) - err0, 1,
		     "truncated: error counted");

	/* Cut inside the question name. */
	put_hdr(&m, 0x7778, 0, 1, 0);
	put8(&m, 10);
	put_bytes(&m, "abc", 3);
	e = run_udp("truncated name", 0, 0, &m);
	if (e)
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_TRUNCATED, "truncated name: TRUNCATED flag");

	/* Bad label type 0x40. */
	put_hdr(&m, 0x7779, 0, 1, 0);
	put8(&m, 0x41);
	put_bytes(&m, "abcdef", 6);
	e = run_udp("bad label", 0, 0, &m);
	if (e)
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_MALFORMED, "bad label: MALFORMED flag");

	/* A with rdlength 5 is malformed; the next record still counts. */
	put_hdr(&m, 0x777a, QR, 1, 2);
	put_question(&m, "bad.example", T_A);
	put_ptr(&m, 12);
	put_rr(&m, T_A, 1, 5);
	put_bytes(&m, "12345", 5);
	put_a(&m, 2, 9, 9, 9, 9);
	e = run_udp("bad rdlength", 1, 0, &m);
	if (e) {
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_MALFORMED, "bad rdlength: MALFORMED flag");
		CHECK_EQ_INT(e->n_addrs, 1, "bad rdlength: next record parsed");
	}
}

/* A message past the 2048-byte payload cap: what fits is parsed, the
 * record beyond the cap makes it TRUNCATED. */
static void test_cap(void)
{
	static const __u8 first[4] = {1, 1, 1, 1};
	const struct moat_dns_event *e;
	struct msg m;
	int i;

	put_hdr(&m, 0xcafe, QR, 1, 3);
	put_question(&m, "big.example", T_A);
	put_a(&m, 1, 1, 1, 1, 1);
	put_ptr(&m, 12);
	put_rr(&m, T_TXT, 1, 2100);
	for (i = 0; i < 2100; i++)
		put8(&m, 'x');
	put_a(&m, 1, 2, 2, 2, 2);
	e = run_udp("over the cap", 1, 0, &m);
	if (!e)
		return;
	CHECK(m.len > 2048, "over the cap: message longer than the cap", "len %zu", m.len);
	CHECK_EQ_INT(e->flags, MOAT_DNS_F_TRUNCATED, "over the cap: TRUNCATED");
	CHECK(e->n_addrs == 1 && addr_is(&e->addrs[0], AF_INET, 1, first),
	      "over the cap: record before the cap kept", "n_addrs %u", e->n_addrs);
}

/* The TC bit, and query vs answer decided by the QR bit, not the hook. */
static void test_tc_and_direction(void)
{
	static struct frame f;
	const struct moat_dns_event *e = &events[0];
	struct msg m;
	int ret;

	put_hdr(&m, 0x0c0c, QR | TC, 1, 0);
	put_question(&m, "big.example", T_A);
	if (run_udp("TC bit", 1, 0, &m)) {
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_TC, "TC bit: TC flag");
		CHECK_EQ_STR(e->qname, "big.example", "TC bit: still parsed");
	}

	/* A DNS server in the cgroup answering: egress, from port 53. */
	put_hdr(&m, 0x0d0d, QR | RA, 1, 1);
	put_question(&m, "served.example", T_A);
	put_a(&m, 3, 10, 9, 8, 7);
	udp(&f, 0, ip4_client, ip4_server, 53, 40002, m.b, m.len);
	ret = run(0, &f);
	CHECK_EQ_INT(ret, 1, "egress answer: passes");
	CHECK_EQ_INT(n_events, 1, "egress answer: one event");
	CHECK_EQ_INT(e->hdr.type, MOAT_EV_DNS_ANSWER, "egress answer: answer by the QR bit");
	CHECK_EQ_INT(e->n_addrs, 1, "egress answer: addrs parsed");

	/* ... and receiving a query: ingress, to port 53. */
	put_hdr(&m, 0x0e0e, RD, 1, 0);
	put_question(&m, "asked.example", T_A);
	udp(&f, 0, ip4_server, ip4_client, 40003, 53, m.b, m.len);
	ret = run(1, &f);
	CHECK_EQ_INT(ret, 1, "ingress query: passes");
	CHECK_EQ_INT(n_events, 1, "ingress query: one event");
	CHECK_EQ_INT(e->hdr.type, MOAT_EV_DNS_QUERY, "ingress query: query by the QR bit");
	CHECK_EQ_STR(e->qname, "asked.example", "ingress query: qname");
}

static void test_not_dns(void)
{
	static const char hello[] = "hello";
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	const struct moat_dns_event *e;
	__u64 err0 = stat_get(MOAT_PROG_DNS_EGRESS, MOAT_STAT_ERRORS);
	struct msg m;

	m.len = 0;
	put_bytes(&m, hello, strlen(hello));
	e = run_udp("short payload", 0, 0, &m);
	if (e) {
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_NOT_DNS, "short payload: NOT_DNS");
		CHECK_EQ_INT(e->hdr.type, MOAT_EV_DNS_QUERY, "short payload: query (to port 53)");
		CHECK_EQ_STR(e->qname, "", "short payload: no qname");
	}
	m.len = 0;
	put_bytes(&m, http, strlen(http));
	e = run_udp("HTTP on port 53", 0, 0, &m);
	if (e) {
		CHECK(e->flags & MOAT_DNS_F_NOT_DNS, "HTTP on port 53: NOT_DNS", "flags %#x",
		      e->flags);
		CHECK_EQ_STR(e->qname, "", "HTTP on port 53: no qname");
	}
	m.len = 0;
	e = run_udp("empty UDP payload", 0, 0, &m);
	if (e)
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_NOT_DNS, "empty UDP payload: NOT_DNS");
	CHECK_EQ_INT(stat_get(MOAT_PROG_DNS_EGRESS, MOAT_STAT_ERRORS) - err0, 3,
		     "not DNS: errors counted");
}

static void test_garbage(void)
{
	static struct frame f;
	static struct msg valid, m;
	int i, j, bad_ret = 0, bad_count = 0, bad_type = 0;

	/* Random payloads on UDP port 53: always pass, always one event. */
	for (i = 0; i < 300; i++) {
		size_t len = rng() % 700;

		m.len = 0;
		for (j = 0; j < (int)len; j++)
			put8(&m, rng());
		if (i % 3 == 0 && len >= 12) { /* look like one question, to get past the header */
			m.b[4] = 0;
			m.b[5] = 1;
		}
		udp(&f, i & 1, i & 1 ? ip6_server : ip4_server, i & 1 ? ip6_client : ip4_client, 53,
		    40000, m.b, m.len);
		bad_ret += run(i % 2, &f) != 1;
		bad_count += n_events != 1;
		bad_type += events[0].hdr.type != MOAT_EV_DNS_QUERY &&
			    events[0].hdr.type != MOAT_EV_DNS_ANSWER;
	}
	/* A valid answer with random bytes flipped: reaches the deep paths. */
	put_hdr(&valid, 1, QR, 1, 3);
	put_question(&valid, "www.example.com", T_A);
	put_ptr(&valid, 12);
	put_rr(&valid, T_CNAME, 1, 6);
	put8(&valid, 3);
	put_bytes(&valid, "cdn", 3);
	put_ptr(&valid, 16);
	put_ptr(&valid, 45);
	put_rr(&valid, T_A, 1, 4);
	put32(&valid, 0x01020304);
	put_a(&valid, 1, 5, 6, 7, 8);
	for (i = 0; i < 300; i++) {
		m = valid;
		for (j = 0; j < 1 + (int)(rng() % 4); j++)
			m.b[rng() % m.len] = rng();
		udp(&f, 0, ip4_server, ip4_client, 53, 40000, m.b, m.len);
		bad_ret += run(1, &f) != 1;
		bad_count += n_events != 1;
	}
	CHECK_EQ_INT(bad_ret, 0, "garbage: every random payload passed");
	CHECK_EQ_INT(bad_count, 0, "garbage: exactly one event per port 53 packet");
	CHECK_EQ_INT(bad_type, 0, "garbage: events are queries or answers");

	/* Random bytes after the Ethernet header (IP version nibble kept):
	 * any header garbage passes. At least 40 bytes: test_run refuses an
	 * IPv6 frame shorter than the IPv6 header. */
	bad_ret = 0;
	for (i = 0; i < 200; i++) {
		eth(&f, i & 1 ? 0x86dd : 0x0800);
		f.len += 40 + rng() % 200;
		for (j = ETH_HLEN; j < (int)f.len; j++)
			f.b[j] = rng();
		f.b[ETH_HLEN] = (f.b[ETH_HLEN] & 0x0f) | (i & 1 ? 0x60 : 0x40);
		bad_ret += run(i & 2, &f) != 1;
	}
	CHECK_EQ_INT(bad_ret, 0, "garbage: random IP headers pass");
}

static void test_not_port_53(void)
{
	static struct frame f;
	struct msg m;
	int ret;

	put_hdr(&m, 1, RD, 1, 0);
	put_question(&m, "example.com", T_A);
	udp(&f, 0, ip4_client, ip4_server, 40000, 5353, m.b, m.len);
	ret = run(0, &f);
	CHECK_EQ_INT(ret, 1, "UDP to 5353: passes");
	CHECK_EQ_INT(n_events, 0, "UDP to 5353: no event");
	udp(&f, 1, ip6_server, ip6_client, 443, 40000, m.b, m.len);
	ret = run(1, &f);
	CHECK_EQ_INT(ret, 1, "UDP from 443: passes");
	CHECK_EQ_INT(n_events, 0, "UDP from 443: no event");
}

static void test_tcp(void)
{
	static struct frame f;
	const struct moat_dns_event *e = &events[0];
	struct msg m;
	int ret;

	put_hdr(&m, 0x7c7c, RD, 1, 0);
	put_question(&m, "tcp.example", T_A);
	tcp(&f, ip4_client, ip4_server, 40001, 53, TCP_ACK | TCP_PSH, 1, m.len, m.b, m.len);
	ret = run(0, &f);
	CHECK_EQ_INT(ret, 1, "TCP query: passes");
	CHECK_EQ_INT(n_events, 1, "TCP query: one event");
	if (n_events == 1) {
		check_common("TCP query", e, MOAT_EV_DNS_QUERY, 0, 0, 40001, 53);
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_TCP, "TCP query: TCP flag");
		CHECK_EQ_INT(e->id, 0x7c7c, "TCP query: id after the length prefix");
		CHECK_EQ_STR(e->qname, "tcp.example", "TCP query: qname");
	}

	put_hdr(&m, 0x7c7d, QR | RA, 1, 1);
	put_question(&m, "tcp.example", T_A);
	put_a(&m, 9, 203, 0, 113, 9);
	tcp(&f, ip4_server, ip4_client, 53, 40001, TCP_ACK | TCP_PSH, 1, m.len, m.b, m.len);
	ret = run(1, &f);
	CHECK_EQ_INT(ret, 1, "TCP answer: passes");
	CHECK_EQ_INT(n_events, 1, "TCP answer: one event");
	if (n_events == 1) {
		static const __u8 want[4] = {203, 0, 113, 9};

		CHECK_EQ_INT(e->hdr.type, MOAT_EV_DNS_ANSWER, "TCP answer: answer");
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_TCP, "TCP answer: TCP flag");
		CHECK(e->n_addrs == 1 && addr_is(&e->addrs[0], AF_INET, 9, want),
		      "TCP answer: A record", "n_addrs %u", e->n_addrs);
	}

	/* Length prefix announces more than the segment holds. */
	tcp(&f, ip4_server, ip4_client, 53, 40001, TCP_ACK, 1, 900, m.b, m.len);
	ret = run(1, &f);
	CHECK_EQ_INT(ret, 1, "TCP partial: passes");
	CHECK_EQ_INT(n_events, 1, "TCP partial: one event");
	if (n_events == 1) {
		CHECK_EQ_INT(e->flags, MOAT_DNS_F_TCP | MOAT_DNS_F_TCP_PARTIAL,
			     "TCP partial: TCP_PARTIAL flag");
		CHECK_EQ_STR(e->qname, "", "TCP partial: not parsed");
		CHECK_EQ_INT(e->hdr.type, MOAT_EV_DNS_ANSWER, "TCP partial: answer (from port 53)");
	}

	tcp(&f, ip4_client, ip4_server, 40001, 53, TCP_ACK, 0, 0, NULL, 0);
	ret = run(0, &f);
	CHECK_EQ_INT(ret, 1, "TCP pure ACK: passes");
	CHECK_EQ_INT(n_events, 0, "TCP pure ACK: no event");
	tcp(&f, ip4_client, ip4_server, 40001, 53, TCP_SYN, 0, 0, NULL, 0);
	ret = run(0, &f);
	CHECK_EQ_INT(ret, 1, "TCP SYN: passes");
	CHECK_EQ_INT(n_events, 0, "TCP SYN: no event");
}

int main(void)
{
	struct bpf_map *map;
	int err;

	libbpf_set_print(silent_print);
	skel = dns_bpf__open();
	if (!skel) {
		fprintf(stderr, "failed to open the dns skeleton: %s\n", strerror(errno));
		CHECK(0, "dns skeleton loads", "open failed");
		return TEST_EXIT();
	}
	/* Private maps: never reuse or create pins under /sys/fs/bpf. */
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	skel->rodata->test_skip_verify = 1; /* see bpf/dns.bpf.c; test_verify_gate loads without */
	err = dns_bpf__load(skel);
	CHECK(!err, "dns skeleton loads", "load: %s (run as root)", strerror(-err));
	if (err)
		goto cleanup;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	CHECK(rb != NULL, "ring buffer opens", "ring_buffer__new: %s", strerror(errno));
	if (!rb)
		goto cleanup;
	want_cgroup_id = own_cgroup_id();

	test_ring_fill();
	test_query_a();
	test_answer_a();
	test_compression();
	test_ptr_loop();
	test_cname_chain();
	test_long_names();
	test_nxdomain();
	test_many_answers();
	test_aaaa();
	test_ipv6();
	test_case_and_escapes();
	test_truncated();
	test_cap();
	test_tc_and_direction();
	test_not_dns();

	test_not_port_53();
	test_tcp();
	test_garbage();
	test_domain_learning();
	test_rule_generations();
	test_trust();
	test_outbound();
	test_backstop();
	test_ttl_clamp();
	test_deep_wildcard();
	test_learn_quota();
	test_verify_gate();

	/* Every event read came through events__submit and was counted. */
	CHECK_EQ_INT(stat_get(MOAT_PROG_DNS_EGRESS, MOAT_STAT_EVENTS) +
			 stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_EVENTS),
		     total_events, "stats: events counter matches the ring buffer");
	CHECK(stat_get(MOAT_PROG_DNS_EGRESS, MOAT_STAT_EVENTS) > 0 &&
		  stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_EVENTS) > 0,
	      "stats: events counted per program", "a program counted nothing");
	CHECK_EQ_INT(stat_get(MOAT_PROG_DNS_EGRESS, MOAT_STAT_DROPS) +
			 stat_get(MOAT_PROG_DNS_INGRESS, MOAT_STAT_DROPS),
		     0, "stats: no drops");

cleanup:
	ring_buffer__free(rb);
	dns_bpf__destroy(skel);
	return TEST_EXIT();
}
