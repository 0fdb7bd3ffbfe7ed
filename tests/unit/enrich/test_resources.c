/* test_resources.c - the resource sampler (src/enrich/resources*.c) on fixture directories: a
 * pure cgroup v2 container (memory.*, pids.* present), a hybrid host's (cpu.stat only: the
 * procs and threads fallbacks, Docker's and the host's limits), hostile contents (junk pids,
 * a FIFO where a number belongs, a huge thread list), the CPU arithmetic, /proc/net/dev, and
 * the sampler's passes, history ring and JSON without a thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "resources.h"

static char root[256];

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	mkdir(path, 0755);
}

static int opendir_fd(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static struct res_read_opts opts(void)
{
	static char proc[300];
	struct res_read_opts o = {.max_procs = 64, .host_mem = 8ULL << 30};

	snprintf(proc, sizeof(proc), "%s/proc", root);
	o.proc_root = proc;
	return o;
}

static void test_pure_v2(void)
{
	struct res_read_opts o = opts();
	struct res_sample s = {0};
	int fd;

	dir("v2");
	put("v2/cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n");
	put("v2/memory.current", "104857600\n");
	put("v2/memory.max", "209715200\n");
	put("v2/pids.current", "12\n");
	put("v2/pids.max", "max\n");
	put("v2/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n");
	fd = opendir_fd("v2");
	o.docker_mem_limit = 999; /* the kernel's limit wins */
	CHECK_EQ_INT(res_read_cgroup(fd, &o, &s), 0, "pure v2: read");
	CHECK_EQ_INT(s.cpu_usec, 1500000, "pure v2: cpu.stat usage_usec");
	CHECK(s.mem_bytes == 104857600 && s.mem_src == RES_SRC_CGROUP, "pure v2: memory.current",
	      "%llu src %d", (unsigned long long)s.mem_bytes, s.mem_src);
	CHECK(s.mem_limit == 209715200 && s.mem_limit_src == RES_SRC_CGROUP,
	      "pure v2: memory.max is the limit", "%llu src %d", (unsigned long long)s.mem_limit,
	      s.mem_limit_src);
	CHECK(s.oom_kills == 2 && (s.flags & RES_F_OOM_EVENTS), "pure v2: memory.events oom_kill",
	      "%llu %x", (unsigned long long)s.oom_kills, s.flags);
	CHECK(s.pids == 12 && s.pids_src == RES_SRC_CGROUP, "pure v2: pids.current", "%llu",
	      (unsigned long long)s.pids);
	CHECK(s.pids_limit == 0 && s.pids_limit_src == RES_SRC_NONE, "pure v2: pids.max max = none",
	      "%llu", (unsigned long long)s.pids_limit);
	put("v2/memory.max", "max\n");
	CHECK(res_read_cgroup(fd, &o, &s) == 0 && s.mem_limit == (8ULL << 30) &&
		  s.mem_limit_src == RES_SRC_HOST,
	      "pure v2: memory.max max: the host's memory is the limit", "%llu src %d",
	      (unsigned long long)s.mem_limit, s.mem_limit_src);
	close(fd);
}

static void test_hybrid(void)
{
	struct res_read_opts o = opts();
	struct res_sample s = {0};
	long page = sysconf(_SC_PAGESIZE);
	char big[80000];
	int fd;

	dir("hy");
	dir("proc");
	dir("proc/101");
	dir("proc/102");
	dir("proc/103");
	put("hy/cpu.stat", "usage_usec 42\n");
	put("hy/cgroup.procs", "101\n102\nnot-a-pid\n\n103\n");
	put("hy/cgroup.threads", "101\n102\n1021\n1022\n103\n");
	put("proc/101/statm", "5000 100 10 1 0 50 0\n");
	put("proc/102/statm", "5000 200 10 1 0 50 0\n");
	put("proc/103/statm", "garbage\n");
	put("proc/meminfo", "MemTotal:        1024000 kB\nMemFree: 1 kB\n");
	fd = opendir_fd("hy");
	CHECK_EQ_INT(res_read_cgroup(fd, &o, &s), 0, "hybrid: read");
	CHECK(s.mem_src == RES_SRC_PROCS && s.mem_bytes == (uint64_t)300 * (uint64_t)page &&
		  !(s.flags & (RES_F_MEM_ESTIMATED | RES_F_OOM_EVENTS)),
	      "hybrid: memory is the statm resident sum over cgroup.procs (junk lines and "
	      "unreadable statm count nothing)",
	      "%llu src %d flags %x", (unsigned long long)s.mem_bytes, s.mem_src, s.flags);
	CHECK(s.pids == 5 && s.pids_src == RES_SRC_THREADS, "hybrid: pids are cgroup.threads lines",
	      "%llu src %d", (unsigned long long)s.pids, s.pids_src);
	CHECK(s.mem_limit == (8ULL << 30) && s.mem_limit_src == RES_SRC_HOST,
	      "hybrid: no Docker limit: the host's memory", "%llu src %d",
	      (unsigned long long)s.mem_limit, s.mem_limit_src);
	CHECK_EQ_INT(res_host_mem(o.proc_root), 1024000ULL * 1024, "MemTotal from meminfo");
	o.docker_mem_limit = 50 << 20;
	o.docker_pids_limit = 100;
	res_read_cgroup(fd, &o, &s);
	CHECK(s.mem_limit == (50 << 20) && s.mem_limit_src == RES_SRC_DOCKER &&
		  s.pids_limit == 100 && s.pids_limit_src == RES_SRC_DOCKER,
	      "hybrid: Docker's --memory and --pids-limit are the limits", "%llu/%d %llu/%d",
	      (unsigned long long)s.mem_limit, s.mem_limit_src, (unsigned long long)s.pids_limit,
	      s.pids_limit_src);
	/* More processes than max_procs: the ones read, scaled up. */
	o.max_procs = 1;
	s.flags = 0;
	res_read_cgroup(fd, &o, &s);
	CHECK(s.mem_bytes == (uint64_t)100 * (uint64_t)page * 3 && (s.flags & RES_F_MEM_ESTIMATED),
	      "hybrid: max_procs caps the statm reads; the sum is scaled and flagged", "%llu %x",
	      (unsigned long long)s.mem_bytes, s.flags);
	/* With a cache (the sampler's): new processes first, then the others in turn; after
	 * three samples of one read each, every process is known and the sum is exact. */
	{
		struct res_procs_cache cache = {0};
		uint64_t got[4];

		o.cache = &cache;
		for (int i = 0; i < 4; i++) {
			s.flags = 0;
			res_read_cgroup(fd, &o, &s);
			got[i] = s.mem_bytes;
		}
		CHECK(
		    got[3] == (uint64_t)300 * (uint64_t)page && !(s.flags & RES_F_MEM_ESTIMATED),
		    "cache: one statm a sample, all three known by the third: exact, not estimated",
		    "%llu %llu %llu %llu flags %x", (unsigned long long)got[0],
		    (unsigned long long)got[1], (unsigned long long)got[2],
		    (unsigned long long)got[3], s.flags);
		/* A new process holding much (a hog forked among the small ones) is read at once.
		 */
		dir("proc/104");
		put("proc/104/statm", "90000 25000 10 1 0 50 0\n");
		put("hy/cgroup.procs", "101\n102\n103\n104\n");
		s.flags = 0;
		res_read_cgroup(fd, &o, &s);
		CHECK(s.mem_bytes == (uint64_t)(300 + 25000) * (uint64_t)page,
		      "cache: a new process is read first, whatever the budget", "%llu",
		      (unsigned long long)s.mem_bytes);
		/* One that grows later is seen within (processes / budget) samples. */
		put("proc/102/statm", "90000 40000 10 1 0 50 0\n");
		for (int i = 0; i < 4; i++)
			res_read_cgroup(fd, &o, &s);
		CHECK(s.mem_bytes == (uint64_t)(100 + 40000 + 0 + 25000) * (uint64_t)page,
		      "cache: a process that grows is read again in its turn", "%llu",
		      (unsigned long long)s.mem_bytes);
		res_procs_cache_free(&cache);
		o.cache = NULL;
		put("hy/cgroup.procs", "101\n102\nnot-a-pid\n\n103\n");
		put("proc/102/statm", "5000 200 10 1 0 50 0\n");
	}
	/* A thread list longer than the cap: a lower bound, flagged. */
	for (size_t i = 0; i + 8 < sizeof(big); i += 8)
		memcpy(big + i, "1234567\n", 8);
	big[sizeof(big) - 8] = 0;
	put("hy/cgroup.threads", big);
	s.flags = 0;
	res_read_cgroup(fd, &o, &s);
	CHECK((s.flags & RES_F_PIDS_PARTIAL) && s.pids > 8000 && s.pids < 8200,
	      "hybrid: 80 KB of threads: 64 KiB read, flagged as a lower bound", "%llu %x",
	      (unsigned long long)s.pids, s.flags);
	close(fd);
}

static void test_hostile(void)
{
	struct res_read_opts o = opts();
	struct res_sample s = {0};
	char path[512];
	int fd;

	/* A FIFO where memory.current belongs: opened O_NONBLOCK, nothing waits for a writer. */
	dir("fifo");
	put("fifo/cpu.stat", "usage_usec 1\n");
	snprintf(path, sizeof(path), "%s/fifo/memory.current", root);
	mkfifo(path, 0600);
	put("fifo/cgroup.procs", "");
	fd = opendir_fd("fifo");
	CHECK(res_read_cgroup(fd, &o, &s) == 0 && s.mem_src == RES_SRC_PROCS,
	      "a FIFO for memory.current does not block; the fallback answers", "src %d",
	      s.mem_src);
	close(fd);
	/* A cgroup whose files went (the container exited): gone. */
	dir("gone");
	put("gone/cpu.stat", "usage_usec 1\n");
	fd = opendir_fd("gone");
	snprintf(path, sizeof(path), "%s/gone/cpu.stat", root);
	unlink(path);
	s.flags = 0;
	CHECK(res_read_cgroup(fd, &o, &s) == -ENODEV && (s.flags & RES_F_GONE),
	      "a cgroup without cpu.stat is gone", "flags %x", s.flags);
	close(fd);
}

static void test_arith(void)
{
	const char *dev =
	    "Inter-|   Receive                            |  Transmit\n"
	    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
	    "errs drop fifo colls carrier compressed\n"
	    "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
	    "veth12: 555 5 0 0 0 0 0 0 777 7 0 0 0 0 0 0\n"
	    "veth1: 11 1 0 0 0 0 0 0 22 2 0 0 0 0 0 0\n";
	uint64_t rx = 0, tx = 0;
	struct res_netdev *d;
	int n = res_net_dev_parse(dev, &d);

	CHECK_EQ_INT(n, 3, "/proc/net/dev: three interfaces (headers skipped)");
	CHECK(res_net_dev_find(d, n, "veth1", &rx, &tx) == 0 && rx == 11 && tx == 22,
	      "/proc/net/dev: the named interface, not one with a longer name", "%llu %llu",
	      (unsigned long long)rx, (unsigned long long)tx);
	CHECK_EQ_INT(res_net_dev_find(d, n, "eth0", &rx, &tx), -ENOENT, "/proc/net/dev: absent");
	free(d);
	CHECK_EQ_INT(res_cpu_pct100(2000000, 2000000000LL), 10000, "one CPU busy = 100.00%");
	CHECK_EQ_INT(res_cpu_pct100(3000000, 2000000000LL), 15000, "1.5 CPUs = 150.00%");
	CHECK_EQ_INT(res_cpu_pct100(1, 0), 0, "no interval: 0");
}

static void test_sampler(void)
{
	char mnt[300];
	struct resources_opts o = {
	    .interval_ms = 1000, .history = 3, .max_procs = 8, .no_thread = 1};
	struct res_target t[2] = {
	    {.id = "aaaa1111", .name = "web", .cgroup = "/c1", .cgroup_id = 7},
	    {.id = "bbbb2222", .name = "db", .cgroup = "/c2", .cgroup_id = 8}};
	struct resources *r;
	struct res_latest *l;
	json_object *j, *x;
	int n;

	snprintf(mnt, sizeof(mnt), "%s/mnt", root);
	dir("mnt");
	dir("mnt/c1");
	put("mnt/c1/cpu.stat", "usage_usec 1000000\n");
	put("mnt/c1/memory.current", "4096\n");
	put("mnt/c1/memory.max", "8192\n");
	o.cg_mount = mnt;
	o.proc_root = "/nonexistent";
	r = resources_start(&o);
	CHECK(r != NULL, "sampler without a thread", "%s", strerror(errno));
	if (!r)
		return;
	CHECK_EQ_INT(resources_set_targets(r, t, 2), 0, "targets set");
	resources_pass(r);
	l = resources_take(r, &n);
	CHECK(n == 2 && l && !strcmp(l[0].id, "aaaa1111") && (l[0].s.flags & RES_F_FIRST) &&
		  l[0].s.mem_bytes == 4096 && (l[1].s.flags & RES_F_GONE),
	      "first pass: one sample each (the missing cgroup: gone)", "n %d", n);
	free(l);
	l = resources_take(r, &n);
	CHECK(!l && n == 0, "nothing new until the next pass", "n %d", n);
	usleep(100000);
	put("mnt/c1/cpu.stat", "usage_usec 1100000\n"); /* +0.1 s of CPU in ~0.1 s */
	resources_pass(r);
	l = resources_take(r, &n);
	CHECK(l && !(l[0].s.flags & RES_F_FIRST) && l[0].s.cpu_pct100 > 5000 &&
		  l[0].s.cpu_pct100 <= 10000,
	      "second pass: CPU over the interval (about one CPU)", "%u",
	      l ? l[0].s.cpu_pct100 : 0);
	free(l);
	resources_pass(r);
	resources_pass(r);
	j = resources_json(r, "web", 1);
	x = j ? json_object_array_get_idx(j, 0) : NULL;
	CHECK(j && json_object_array_length(j) == 1 &&
		  json_object_object_get_ex(x, "history", &x) && json_object_array_length(x) == 3,
	      "history: a ring of `history` samples, by name", "%s",
	      j ? json_object_to_json_string(j) : "NULL");
	json_object_put(j);
	j = resources_sources_json(r, "aaaa1111");
	CHECK(j && !strcmp(json_object_get_string(json_object_object_get(j, "memory")), "cgroup") &&
		  !strcmp(json_object_get_string(json_object_object_get(j, "network")), "none"),
	      "sources named", "%s", j ? json_object_to_json_string(j) : "NULL");
	json_object_put(j);
	/* A container no longer listed loses its history; a new cgroup id starts anew. */
	t[0].cgroup_id = 9;
	resources_set_targets(r, t, 1);
	j = resources_json(r, NULL, 1);
	x = j ? json_object_array_get_idx(j, 0) : NULL;
	CHECK(j && json_object_array_length(j) == 1 &&
		  json_object_object_get_ex(x, "history", &x) && json_object_array_length(x) == 0,
	      "a dropped container goes; a restarted one (new cgroup) starts a new history", "%s",
	      j ? json_object_to_json_string(j) : "NULL");
	json_object_put(j);
	resources_stop(r);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{

	snprintf(root, sizeof(root), "/tmp/moat-test-resources-%d", (int)getpid());
	mkdir(root, 0755);
	test_pure_v2();
	test_hybrid();
	test_hostile();
	test_arith();
	test_sampler();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_EXIT();
}
