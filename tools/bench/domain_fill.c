/* domain_fill.c - fills moat's pinned domain-mode maps for the domain benchmark
 * (tools/bench/domains.sh): N domain rules, or N learned IPv4 addresses of one cgroup.
 *
 *   domain_fill PIN_DIR rules N [POLICY]
 *       allow rules "name1.bench.test" .. "nameN.bench.test" (rule id = i) in
 *       domain_rules, rule set POLICY (default 0)
 *   domain_fill PIN_DIR learned CGROUP_ID N FIRST_ADDR [ADDR...]
 *       N consecutive IPv4 addresses from FIRST_ADDR, then each ADDR, into learned_v4
 *       for CGROUP_ID, allowed for a day (allow_until_ns = now + 86400 s, rule id 1)
 *
 * Prints one line: "domain_fill KIND written=N secs=S". Writing through the pinned maps
 * is ~1000x faster than one `moat domain allow` per rule. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moat/maps.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* num: argument s as a non-negative number, or exit 2 naming what. */
static unsigned long long num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "domain_fill: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* open_map: fd of PIN_DIR/name, or exit 1 with the reason. */
static int open_map(const char *pin_dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "domain_fill: %s: %s (is moat attached with --pin-dir %s?)\n", path,
			strerror(errno), pin_dir);
		exit(1);
	}
	return fd;
}

static long fill_rules(int fd, unsigned long n, __u32 policy)
{
	unsigned long i;

	for (i = 1; i <= n; i++) {
		struct moat_domain_key k = {.policy = policy};
		struct moat_domain_rule r = {.action = MOAT_ACT_ALLOW, .rule_id = (__u32)i};

		snprintf(k.name, sizeof(k.name), "name%lu.bench.test", i);
		if (bpf_map_update_elem(fd, &k, &r, BPF_ANY)) {
			fprintf(stderr, "domain_fill: rule %lu: %s\n", i, strerror(errno));
			return -1;
		}
	}
	return (long)n;
}

static int learn_one(int fd, __u64 cgid, __u32 addr_host, __u64 until)
{
	struct moat_learn_key_v4 k = {.cgroup_id = cgid};
	struct moat_learned v = {.allow_until_ns = until, .rule_id = 1};
	__u32 be = htonl(addr_host);

	memcpy(k.addr, &be, sizeof(k.addr));
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
		fprintf(stderr, "domain_fill: learned %08x: %s\n", addr_host, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double t0 = now_s();
	long written = 0;
	int fd;

	if (argc >= 4 && strcmp(argv[2], "rules") == 0) {
		__u32 policy = argc > 4 ? (__u32)num(argv[4], "POLICY") : 0;

		fd = open_map(argv[1], "domain_rules");
		written = fill_rules(fd, num(argv[3], "N"), policy);
	} else if (argc >= 6 && strcmp(argv[2], "learned") == 0) {
		__u64 cgid = num(argv[3], "CGROUP_ID");
		unsigned long n = num(argv[4], "N"), i;
		struct in_addr a;
		struct timespec ts;
		__u64 until;
		int j;

		/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		until =
		    (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec + 86400ULL * 1000000000ULL;
		fd = open_map(argv[1], "learned_v4");
		if (inet_pton(AF_INET, argv[5], &a) != 1) {
			fprintf(stderr, "domain_fill: bad address '%s'\n", argv[5]);
			return 2;
		}
		for (i = 0; i < n; i++, written++)
			if (learn_one(fd, cgid, ntohl(a.s_addr) + (__u32)i, until))
				return 1;
		for (j = 6; j < argc; j++, written++) {
			if (inet_pton(AF_INET, argv[j], &a) != 1) {
				fprintf(stderr, "domain_fill: bad address '%s'\n", argv[j]);
				return 2;
			}
			if (learn_one(fd, cgid, ntohl(a.s_addr), until))
				return 1;
		}
	} else {
		fprintf(stderr,
			"usage: domain_fill PIN_DIR rules N [POLICY]\n"
			"       domain_fill PIN_DIR learned CGROUP_ID N FIRST_ADDR [ADDR...]\n");
		return 2;
	}
	if (written < 0)
		return 1;
	printf("domain_fill %s written=%ld secs=%.3f\n", argv[2], written, now_s() - t0);
	return 0;
}
