/* memhog.c - hold memory for the resource tests: `memhog MIB [SECONDS]` allocates MIB MiB,
 * writes every page (so it is resident), prints "ok holding MIB MiB" and sleeps SECONDS
 * (default 600) before it exits. Static: runs in the busybox test image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	long secs = argc > 2 ? strtol(argv[2], NULL, 10) : 600;
	char *p;

	if (mib <= 0 || mib > 65536) {
		fprintf(stderr, "usage: memhog MIB [SECONDS]\n");
		return 1;
	}
	p = malloc((size_t)mib << 20);
	if (!p) {
		printf("failed: cannot allocate %ld MiB\n", mib);
		return 1;
	}
	memset(p, 0x5a, (size_t)mib << 20);
	printf("ok holding %ld MiB\n", mib);
	fflush(stdout);
	sleep((unsigned)secs);
	return p[4096] == 0x5a ? 0 : 1;
}
