/* connect_ab.c - connect() cost of moat, A/B in one process, on loopback: no containers, no
 * veth, no bridge, so the figure is moat's own cost with little else in it.
 *
 *   connect_ab [PAIRS] [CONNECTS]      (defaults 10, 30000; as root)
 *
 * It creates a private cgroup under the cgroup2 mount (never the root cgroup), loads moat's
 * programs under a private pin directory, fills 10,000 domain rules and 100,000 learned
 * addresses for that cgroup, puts the cgroup in domain mode (enforce, default deny) with
 * 127.0.0.1 learned as allowed, and joins it. A TCP listener (accept + close) and a ring
 * buffer reader run in threads of the same process. Then, PAIRS times, CONNECTS
 * connect()+close to 127.0.0.1 with the programs attached, then with them detached, back
 * to back. It prints one line per pair (wall seconds each way, their ratio, and the
 * process's CPU seconds each way) and the medians, then the programs' ns per run
 * (kernel.bpf_stats_enabled, one extra attached round). On exit it leaves the cgroup,
 * detaches, removes the pins and the cgroup. Traffic stays on loopback.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "dns.skel.h"
#include "loader.h"
#include "log.h"
#include "moat/maps.h"
#include "net.skel.h"
#include "netrules.h"

#define PORT 7779

static int listen_fd;
static struct ring_buffer *rb;
static volatile int stop;
static long n_events;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(listen_fd, NULL, NULL);

		if (c < 0)
			return NULL;
		close(c);
	}
}

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	n_events++;
	return 0;
}

static void *reader(void *arg)
{
	(void)arg;
	while (!stop)
		ring_buffer__poll(rb, MOAT_RB_POLL_MS);
	return NULL;
}

/* n connect()+close to 127.0.0.1:PORT. Returns the failures. */
static int connects(int n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	int fails = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			fails++;
		if (fd >= 0)
			close(fd);
	}
	return fails;
}

/* Detach every pinned link under pin/links (the maps and their contents stay). */
static void detach(const char *pin)
{
	char dir[300], path[600];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/links", pin);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(path);
	}
	if (d)
		closedir(d);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n ? v[n / 2] : 0;
}

/* 10,000 domain rules in rule set 0 and 100,000 learned addresses for cgid (10.200.0.0 up),
 * plus 127.0.0.1 learned as allowed. */
static int fill(struct loader *l, uint64_t cgid)
{
	int rules = bpf_map__fd(l->net->maps.domain_rules),
	    learned = bpf_map__fd(l->net->maps.learned_v4);
	struct moat_learned v = {.allow_until_ns = ~0ull >> 1, .rule_id = 5};
	struct moat_domain_rule r = {.action = MOAT_ACT_ALLOW, .rule_id = 1};

	for (int i = 0; i < 10000; i++) {
		struct moat_domain_key k = {0};

		snprintf(k.name, sizeof(k.name), "name%d.bench.test", i);
		if (bpf_map_update_elem(rules, &k, &r, BPF_ANY))
			return -errno;
	}
	for (uint32_t i = 0; i <= 100000; i++) {
		struct moat_learn_key_v4 k = {.cgroup_id = cgid};
		uint32_t a = i < 100000 ? htonl(0x0ac80000u + i) : htonl(INADDR_LOOPBACK);

		memcpy(k.addr, &a, 4);
		if (bpf_map_update_elem(learned, &k, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

static void prog_stats(int fd, const char *name)
{
	struct bpf_prog_info i = {};
	__u32 len = sizeof(i);

	if (bpf_obj_get_info_by_fd(fd, &i, &len) == 0 && i.run_cnt)
		printf("  %-20s %8llu runs %6.0f ns/run\n", name, (unsigned long long)i.run_cnt,
		       (double)i.run_time_ns / i.run_cnt);
}

int main(int argc, char **argv)
{
	int pairs = argc > 1 ? atoi(argv[1]) : 10, n = argc > 2 ? atoi(argv[2]) : 30000;
	char mnt[4096], cg[4400], home[8400] = "", cgs[1][4096], line[4200], pin[64];
	struct moat_cgroup_cfg cfg = {
	    .mode = MOAT_MODE_ENFORCE, .default_action = MOAT_ACT_DENY, .domains = 1};
	struct sockaddr_in b = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	double *wa, *wd, *ratio, *ca, *cd;
	pthread_t ta, tr;
	struct loader l;
	int one = 1, rc = 1, sfd, fails = 0;
	uint64_t cgid;

	if (pairs < 1 || n < 1 || geteuid() != 0) {
		fprintf(stderr, "usage (as root): connect_ab [PAIRS] [CONNECTS]\n");
		return 2;
	}
	if (cgroup_find_v2_mount(mnt, sizeof(mnt))) {
		fprintf(stderr, "connect_ab: no cgroup2 mount\n");
		return 1;
	}
	/* Where this process lives now, to come back to. */
	if (cgroup_of_pid(getpid(), line, sizeof(line)) == 0)
		snprintf(home, sizeof(home), "%s%s", mnt, line);
	snprintf(cg, sizeof(cg), "%s/moat-bench-ab-%d", mnt, (int)getpid());
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/moat-bench-ab-%d", (int)getpid());
	if (!home[0] || snprintf(cgs[0], sizeof(cgs[0]), "%s", cg) >= (int)sizeof(cgs[0]) ||
	    (mkdir(cg, 0755) && errno != EEXIST)) {
		fprintf(stderr, "connect_ab: cannot make %s\n", cg);
		return 1;
	}
	log_level = LOG_WARN;
	wa = calloc((size_t)pairs, sizeof(double));
	wd = calloc((size_t)pairs, sizeof(double));
	ratio = calloc((size_t)pairs, sizeof(double));
	ca = calloc((size_t)pairs, sizeof(double));
	cd = calloc((size_t)pairs, sizeof(double));
	if (!wa || !wd || !ratio || !ca || !cd || loader_load(&l, pin, 0))
		goto out;
	cgid = cgroup_id_of(cg);
	if (fill(&l, cgid) || netrules_set_cfg(pin, cgid, &cfg)) {
		fprintf(stderr, "connect_ab: cannot fill the maps\n");
		goto out_loaded;
	}
	if (cgroup_enter(cg)) {
		fprintf(stderr, "connect_ab: cannot join %s\n", cg);
		goto out_loaded;
	}
	/* The listener is made inside the cgroup: both ends of every connection are watched,
	 * as between two containers. */
	b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(listen_fd, (struct sockaddr *)&b, sizeof(b)) || listen(listen_fd, 4096) ||
	    pthread_create(&ta, NULL, acceptor, NULL)) {
		fprintf(stderr, "connect_ab: listener on 127.0.0.1:%d: %s\n", PORT,
			strerror(errno));
		goto out_joined;
	}
	rb = ring_buffer__new(loader_events_fd(&l), on_event, NULL, NULL);
	if (!rb || pthread_create(&tr, NULL, reader, NULL)) {
		fprintf(stderr, "connect_ab: cannot read the ring buffer\n");
		goto out_joined;
	}
	printf("connect_ab: %d pairs of %d connect()+close to 127.0.0.1:%d, domain mode (10,000 "
	       "rules, 100,001 learned), a reader running\n",
	       pairs, n, PORT);
	/* bpf_stats adds two clock reads to every program run: off for the timed pairs. */
	sfd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDWR | O_CLOEXEC);
	if (sfd >= 0 && read(sfd, line, 1) == 1 && line[0] != '0') {
		printf("connect_ab: kernel.bpf_stats_enabled was on: off for the timed pairs\n");
		if (pwrite(sfd, "0", 1, 0) != 1)
			fprintf(stderr, "connect_ab: cannot turn kernel.bpf_stats_enabled off\n");
	}
	if (sfd >= 0)
		close(sfd);
	connects(n / 4); /* warm-up */
	for (int p = 0; p < pairs; p++) {
		double t0, c0;

		if (loader_attach(&l, cgs, 1)) {
			fprintf(stderr, "connect_ab: attach failed\n");
			goto out_joined;
		}
		t0 = now_s();
		c0 = cpu_s();
		fails += connects(n);
		wa[p] = now_s() - t0;
		ca[p] = cpu_s() - c0;
		detach(pin);
		t0 = now_s();
		c0 = cpu_s();
		fails += connects(n);
		wd[p] = now_s() - t0;
		cd[p] = cpu_s() - c0;
		ratio[p] = wa[p] / wd[p];
		printf("  pair %2d  attached %.3f s  detached %.3f s  ratio %.3f   cpu %.3f / %.3f "
		       "s\n",
		       p + 1, wa[p], wd[p], ratio[p], ca[p], cd[p]);
	}
	{
		double mr = median(ratio, pairs), ma = median(wa, pairs), md = median(wd, pairs),
		       mca = median(ca, pairs), mcd = median(cd, pairs);
		uint64_t vals[MOAT_STATS_SLOTS] = {0}, drops = 0;

		netrules_read_stats(pin, vals);
		for (int p = 0; p < MOAT_PROG_NR; p++)
			drops += vals[p * MOAT_STAT_NR + MOAT_STAT_DROPS];
		printf("connect_ab: median attached %.3f s, detached %.3f s (%.2f us per connect); "
		       "median per-pair ratio %.3f; cpu ratio %.3f; %d failures; ring drops %llu\n",
		       ma, md, md / n * 1e6, mr, mca / mcd, fails, (unsigned long long)drops);
	}
	/* Per program, one more attached round with bpf_stats on. */
	sfd = open("/proc/sys/kernel/bpf_stats_enabled", O_WRONLY | O_CLOEXEC);
	if (sfd >= 0 && write(sfd, "1", 1) == 1 && loader_attach(&l, cgs, 1) == 0) {
		connects(n);
		prog_stats(bpf_program__fd(l.net->progs.handle_connect4), "handle_connect4");
		prog_stats(bpf_program__fd(l.dns->progs.handle_dns_egress), "handle_dns_egress");
		prog_stats(bpf_program__fd(l.dns->progs.handle_dns_ingress), "handle_dns_ingress");
		if (pwrite(sfd, "0", 1, 0) != 1) /* offset 0: a sysctl ignores writes past it */
			fprintf(stderr, "connect_ab: cannot reset kernel.bpf_stats_enabled\n");
	}
	if (sfd >= 0)
		close(sfd);
	rc = fails ? 1 : 0;
out_joined:
	stop = 1;
	cgroup_enter(home);
out_loaded:
	loader_close(&l);
out:
	loader_clear(pin);
	rmdir(cg);
	return rc;
}
