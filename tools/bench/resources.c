/* resources.c - the cost of one resource-sampling pass (src/enrich/resources*.c) for N
 * containers, without Docker: build/bench/resources [N] [PROCS] [PASSES].
 *
 * Makes N cgroups under a cgroup of its own in the cgroup2 mount (never the root cgroup;
 * removed at the end) with PROCS sleeping processes in each, gives them to the sampler as
 * containers (no veth lookup: pid 0), and times PASSES passes in this thread. On a host
 * whose memory and pids controllers are on cgroup v1 (hybrid) that is the fallback path:
 * cgroup.procs plus one /proc/PID/statm per process, and cgroup.threads. Also times the same
 * pass on N fixture directories holding the pure-v2 files (memory.current, memory.max,
 * pids.current, pids.max), in /tmp. Run as root. Prints one line per case. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "resources.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Time passes over targets t[0..n) with the cgroups under mount; print one line. */
static void run(const char *what, const char *mount, struct res_target *t, int n, int passes,
		int procs)
{
	struct resources_opts o = {.cg_mount = mount, .interval_ms = 2000, .history = 150,
				   .max_procs = 64, .no_thread = 1};
	struct resources *r = resources_start(&o);
	struct resources_stats st;
	int64_t total = 0, max = 0;
	struct res_latest *l;
	int got;

	if (!r) {
		fprintf(stderr, "resources_start: %s\n", strerror(errno));
		return;
	}
	resources_set_targets(r, t, n);
	resources_pass(r); /* opens the cgroup directories once */
	free(resources_take(r, &got));
	for (int i = 0; i < passes; i++) {
		int64_t t0 = now_ns(), d;

		resources_pass(r);
		d = now_ns() - t0;
		total += d;
		if (d > max)
			max = d;
		l = resources_take(r, &got);
		free(l);
	}
	resources_get_stats(r, &st);
	printf("%-44s containers %4d procs/ct %2d: pass mean %7.2f ms, max %7.2f ms, "
	       "%5.1f us per container; sampled %u\n",
	       what, n, procs, (double)total / passes / 1e6, (double)max / 1e6,
	       (double)total / passes / 1e3 / n, st.containers);
	resources_stop(r);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500, procs = argc > 2 ? atoi(argv[2]) : 2,
	    passes = argc > 3 ? atoi(argv[3]) : 20;
	char mnt[4096], base[4200], path[4400], fix[256];
	struct res_target *t = calloc((size_t)n, sizeof(*t));
	pid_t *kids = calloc((size_t)n * (size_t)(procs ? procs : 1), sizeof(*kids));
	int nk = 0;

	if (!t || !kids || n <= 0)
		return 1;
	/* Pure v2 files, in fixture directories. */
	snprintf(fix, sizeof(fix), "/tmp/moat-bench-res-%d", (int)getpid());
	mkdir(fix, 0755);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/c%d", fix, i);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/c%d/cpu.stat", fix, i);
		put(path, "usage_usec 123456789\nuser_usec 100000000\nsystem_usec 23456789\n"
			  "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
		snprintf(path, sizeof(path), "%s/c%d/memory.current", fix, i);
		put(path, "104857600\n");
		snprintf(path, sizeof(path), "%s/c%d/memory.max", fix, i);
		put(path, "536870912\n");
		snprintf(path, sizeof(path), "%s/c%d/pids.current", fix, i);
		put(path, "12\n");
		snprintf(path, sizeof(path), "%s/c%d/pids.max", fix, i);
		put(path, "max\n");
		snprintf(t[i].id, sizeof(t[i].id), "%064d", i);
		snprintf(t[i].name, sizeof(t[i].name), "bench-%d", i);
		snprintf(t[i].cgroup, sizeof(t[i].cgroup), "/c%d", i);
		t[i].cgroup_id = (uint64_t)i + 1;
	}
	run("pure v2 files (fixture directories in /tmp)", fix, t, n, passes, 0);
	nftw(fix, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	/* Real cgroups with sleeping processes: this host's path (fallbacks on hybrid). */
	if (geteuid() != 0 || cgroup_find_v2_mount(mnt, sizeof(mnt))) {
		fprintf(stderr, "real cgroups: run as root with cgroup2 mounted\n");
		return 0;
	}
	snprintf(base, sizeof(base), "%s/moat-bench-res-%d", mnt, (int)getpid());
	if (mkdir(base, 0755)) {
		fprintf(stderr, "mkdir %s: %s\n", base, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/c%d", base, i);
		mkdir(path, 0755);
		snprintf(t[i].cgroup, sizeof(t[i].cgroup), "/moat-bench-res-%d/c%d", (int)getpid(),
			 i);
		for (int k = 0; k < procs; k++) {
			pid_t p = fork();

			if (p == 0) {
				/* Children join their cgroup and sleep until killed. */
				if (cgroup_enter(path))
					_exit(1);
				pause();
				_exit(0);
			}
			if (p > 0)
				kids[nk++] = p;
		}
	}
	sleep(1);
	run("real cgroups (this host's files and fallbacks)", mnt, t, n, passes, procs);
	for (int i = 0; i < nk; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < nk; i++)
		waitpid(kids[i], NULL, 0);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/c%d", base, i);
		rmdir(path);
	}
	rmdir(base);
	free(t);
	free(kids);
	return 0;
}
