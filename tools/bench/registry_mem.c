/* registry_mem.c - DNS registry memory and speed: 100,000 names x 2 addresses x 1-2 of 200
 * containers, then heap (mallinfo2) and RSS, ns per registry_explains over 1M lookups (half
 * explained, half asked by another container; then 1M of addresses no answer carried), and
 * save/load time. Standalone, no kernel needed: make build/bench/registry_mem &&
 * build/bench/registry_mem [DIR] (DIR for the saved file, default /tmp).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"

#define N_NAMES	     100000
#define N_CONTAINERS 200
#define N_LOOKUPS    1000000
#define NOW	     1700000000LL

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static void addr_of(int i, int k, uint8_t a[16])
{
	memset(a, 0, 16);
	a[0] = (uint8_t)(10 + k);
	a[1] = (uint8_t)(i >> 16);
	a[2] = (uint8_t)(i >> 8);
	a[3] = (uint8_t)i;
}

static int fill(struct registry *r, char ids[][65])
{
	char name[128];

	for (int i = 0; i < N_NAMES; i++) {
		struct registry_addr as[2] = {{.family = AF_INET, .ttl = 300},
					      {.family = AF_INET, .ttl = 300}};
		int err;

		addr_of(i, 0, as[0].addr);
		addr_of(i, 1, as[1].addr);
		snprintf(name, sizeof(name), "api-%d.svc%d.example-cloud.com", i, i % 97);
		err = registry_record(r, name, NULL, 0, as, 2, ids[i % N_CONTAINERS], NOW);
		if (!err && (i & 1))
			err = registry_record(r, name, NULL, 0, as, 2, ids[(i + 1) % N_CONTAINERS],
					      NOW);
		if (err) {
			fprintf(stderr, "registry_record: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	static char ids[N_CONTAINERS][65];
	char path[512];
	size_t heap0, heap1, hits = 0;
	long rss0, rss1;
	double t;
	struct registry *r, *r2;
	struct stat st;
	uint32_t x = 12345;

	for (int c = 0; c < N_CONTAINERS; c++)
		for (int k = 0; k < 64; k++)
			ids[c][k] = "0123456789abcdef"[(c * 7 + k * 13 + (c >> 3) * k) & 15];
	heap0 = heap_bytes();
	rss0 = rss_kib();
	r = registry_new(N_NAMES, 0);
	if (!r)
		return 1;
	t = now_s();
	if (fill(r, ids))
		return 1;
	t = now_s() - t;
	heap1 = heap_bytes();
	rss1 = rss_kib();
	printf("names                 %zu\n", registry_count(r));
	printf("index entries         %zu (address, container, name)\n", registry_addr_count(r));
	printf("fill                  %.0f ms (%.0f ns per record)\n", t * 1e3,
	       t * 1e9 / (N_NAMES * 1.5));
	printf("heap used             %.2f MiB (%.0f bytes per name)\n",
	       (heap1 - heap0) / 1048576.0, (double)(heap1 - heap0) / N_NAMES);
	printf("RSS                   %.2f MiB (+%.2f MiB)\n", rss1 / 1024.0,
	       (rss1 - rss0) / 1024.0);

	t = now_s();
	for (int k = 0; k < N_LOOKUPS; k++) {
		uint8_t a[16];
		int i;

		x = x * 1664525u + 1013904223u;
		i = (int)((x >> 8) % N_NAMES);
		addr_of(i, k & 1, a);
		/* Half from the container that resolved it (hit), half from one that did not. */
		if (registry_explains(r, ids[(i + ((k >> 1) & 1) * 7) % N_CONTAINERS], AF_INET, a,
				      NOW + 10))
			hits++;
	}
	t = now_s() - t;
	printf("explains              %.0f ns per lookup (%d lookups, %zu explained)\n",
	       t * 1e9 / N_LOOKUPS, N_LOOKUPS, hits);
	hits = 0;
	t = now_s();
	for (int k = 0; k < N_LOOKUPS; k++) {
		uint8_t a[16];
		int i;

		x = x * 1664525u + 1013904223u;
		i = (int)((x >> 8) % N_NAMES);
		addr_of(i, 2 + (k & 1), a); /* 12.x.x.x and 13.x.x.x: never answered */
		if (registry_explains(r, ids[i % N_CONTAINERS], AF_INET, a, NOW + 10))
			hits++;
	}
	t = now_s() - t;
	printf("explains unanswered   %.0f ns per lookup (%d lookups, %zu explained)\n",
	       t * 1e9 / N_LOOKUPS, N_LOOKUPS, hits);

	snprintf(path, sizeof(path), "%s/moat-bench-registry.json", dir);
	t = now_s();
	if (registry_save(r, path))
		return 1;
	t = now_s() - t;
	stat(path, &st);
	printf("save                  %.0f ms (%.1f MiB file)\n", t * 1e3, st.st_size / 1048576.0);
	r2 = registry_new(N_NAMES, 0);
	t = now_s();
	if (!r2 || registry_load(r2, path, NOW + 10))
		return 1;
	t = now_s() - t;
	printf("load                  %.0f ms (%zu names, %zu index entries)\n", t * 1e3,
	       registry_count(r2), registry_addr_count(r2));
	printf("RSS after load        %.2f MiB (two registries)\n", rss_kib() / 1024.0);
	unlink(path);
	registry_free(r2);
	registry_free(r);
	return 0;
}
