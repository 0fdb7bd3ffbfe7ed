/* registry_gen.c - writes a DNS registry file for the `moat run` memory benchmark
 * (tools/bench/daemon.sh rss): N names (default 100,000) x 2 IPv4 addresses, each resolved
 * by 1 or 2 of the given containers, recorded now, saved with registry_save. The daemon then
 * loads it as a real one. Usage: build/bench/registry_gen FILE [N] [IDS_FILE]; IDS_FILE
 * holds container ids, one per line (default: 200 made-up ids). Prints one line:
 * "registry_gen names=N index=M bytes=B ms=T".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "registry.h"

#define MAX_IDS 4096

static char ids[MAX_IDS][65];

/* Container ids from path (64 hex digits per line), or 200 made up when path is NULL.
 * Returns how many, or -errno. */
static int read_ids(const char *path)
{
	char line[256];
	FILE *f;
	int n = 0;

	if (!path) {
		for (n = 0; n < 200; n++)
			for (int k = 0; k < 64; k++)
				ids[n][k] =
				    "0123456789abcdef"[(n * 7 + k * 13 + (n >> 3) * k) & 15];
		return n;
	}
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (n < MAX_IDS && fgets(line, sizeof(line), f))
		if (strlen(line) >= 64)
			snprintf(ids[n++], sizeof(ids[0]), "%.64s", line);
	fclose(f);
	return n ? n : -EINVAL;
}

int main(int argc, char **argv)
{
	long n_names = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
	int64_t now = (int64_t)time(NULL);
	struct timespec t0, t1;
	struct registry *r;
	struct stat st;
	char name[128];
	int n_ids;

	if (argc < 2 || n_names <= 0) {
		fprintf(stderr, "usage: registry_gen FILE [N_NAMES] [IDS_FILE]\n");
		return 2;
	}
	n_ids = read_ids(argc > 3 ? argv[3] : NULL);
	if (n_ids < 0) {
		fprintf(stderr, "registry_gen: %s: %s\n", argv[3], strerror(-n_ids));
		return 1;
	}
	r = registry_new((size_t)n_names, 0);
	if (!r) {
		perror("registry_gen: registry_new");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n_names; i++) {
		struct registry_addr as[2] = {{.family = AF_INET, .ttl = 300},
					      {.family = AF_INET, .ttl = 300}};
		int err;

		for (int k = 0; k < 2; k++) {
			as[k].addr[0] = (uint8_t)(10 + k);
			as[k].addr[1] = (uint8_t)(i >> 16);
			as[k].addr[2] = (uint8_t)(i >> 8);
			as[k].addr[3] = (uint8_t)i;
		}
		snprintf(name, sizeof(name), "api-%ld.svc%ld.example-cloud.com", i, i % 97);
		err = registry_record(r, name, NULL, 0, as, 2, ids[i % n_ids], now);
		if (!err && (i & 1))
			err = registry_record(r, name, NULL, 0, as, 2, ids[(i + 1) % n_ids], now);
		if (err) {
			fprintf(stderr, "registry_gen: registry_record: %s\n", strerror(-err));
			return 1;
		}
	}
	if (registry_save(r, argv[1])) {
		fprintf(stderr, "registry_gen: cannot save %s\n", argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (stat(argv[1], &st))
		st.st_size = 0;
	printf("registry_gen names=%zu index=%zu bytes=%lld ms=%.0f\n", registry_count(r),
	       registry_addr_count(r), (long long)st.st_size,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	registry_free(r);
	return 0;
}
