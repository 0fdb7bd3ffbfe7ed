/* pktcount.c - what per-cgroup byte counters in a cgroup_skb program would cost per packet
 * (docs/performance.md section 8): build/bench/pktcount [REPEAT] [ROUNDS].
 *
 * Loads tools/bench/pktcount.bpf.c (two programs: one that only lets the packet pass, one that
 * also adds its length to a hash map keyed by cgroup id, as moat would for network bytes) and
 * runs each with BPF_PROG_TEST_RUN on a 64-byte IPv4/UDP packet, REPEAT times per round, for
 * ROUNDS rounds, alternating. Prints the kernel's mean ns per run of each and the
 * difference. Nothing is attached. Run as root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *path = argc > 3 ? argv[3] : "build/bench/pktcount.bpf.o";
	int repeat = argc > 1 ? atoi(argv[1]) : 1000000, rounds = argc > 2 ? atoi(argv[2]) : 7;
	unsigned char pkt[64] = {0x45, 0, 0, 64, 0, 0, 0x40, 0, 64, 17, 0, 0, 172, 29, 0, 2,
				 172, 29, 0, 1, 0x30, 0x39, 0, 53, 0, 44, 0, 0};
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *progs[2];
	__u32 ns[2][64];
	const char *names[2] = {"pass_only", "count_bytes"};

	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s: %s (run as root; make build/bench/pktcount)\n", path,
			strerror(errno));
		return 1;
	}
	if (rounds > 64)
		rounds = 64;
	for (int p = 0; p < 2; p++)
		progs[p] = bpf_object__find_program_by_name(obj, names[p]);
	for (int r = 0; r < rounds; r++) {
		for (int p = 0; p < 2; p++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
				    .repeat = repeat);

			if (bpf_prog_test_run_opts(bpf_program__fd(progs[p]), &o)) {
				fprintf(stderr, "test run %s: %s\n", names[p], strerror(errno));
				return 1;
			}
			ns[p][r] = o.duration;
		}
	}
	for (int p = 0; p < 2; p++)
		qsort(ns[p], (size_t)rounds, sizeof(ns[p][0]), cmp_u32);
	printf("cgroup_skb per packet (median of %d rounds of %d runs): pass only %u ns, with a "
	       "per-cgroup byte counter %u ns: +%d ns per packet\n",
	       rounds, repeat, ns[0][rounds / 2], ns[1][rounds / 2],
	       (int)ns[1][rounds / 2] - (int)ns[0][rounds / 2]);
	bpf_object__close(obj);
	return 0;
}
