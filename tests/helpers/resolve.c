/* resolve.c - one name lookup through the C library's own resolver (getaddrinfo), for
 * measuring how glibc and musl retry while moat holds an answer back (interactive egress).
 * Built twice, static: build/helpers/resolve-glibc (gcc) and build/helpers/resolve-musl
 * (musl-gcc, when musl-tools is installed), so both run in the busybox test image.
 *
 *   resolve NAME     prints "ok ADDR ms=T" (first IPv4 address) or "fail REASON ms=T",
 *                    T the milliseconds getaddrinfo took; exits 0 / 1
 *   resolve -n COUNT -p PORT NAME
 *                    COUNT times: getaddrinfo(NAME) for any family (the C library sends its
 *                    A and AAAA queries as it always does: glibc and musl in parallel on one
 *                    socket), then a TCP connect() to the first IPv4 address at PORT and a
 *                    reset close. Prints "loops=N lookup_fail=A connect_fail=C eperm=E
 *                    secs=S rate=R" and exits 0 when nothing failed (for the false-denials
 *                    benchmark, tools/bench/domains.sh)
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The loop of "-n COUNT -p PORT NAME". */
static int loops(long count, int port, const char *name)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	long lookup_fail = 0, connect_fail = 0, eperm = 0;
	double t0 = now_ms(), secs;

	for (long i = 0; i < count; i++) {
		struct addrinfo *res = NULL, *a;
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		int fd;

		if (getaddrinfo(name, NULL, &hints, &res)) {
			lookup_fail++;
			continue;
		}
		for (a = res; a && a->ai_family != AF_INET; a = a->ai_next)
			;
		if (!a) {
			lookup_fail++;
			freeaddrinfo(res);
			continue;
		}
		((struct sockaddr_in *)a->ai_addr)->sin_port = htons((unsigned short)port);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, a->ai_addr, a->ai_addrlen)) {
			connect_fail++;
			eperm += errno == EPERM;
		}
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
		}
		freeaddrinfo(res);
	}
	secs = (now_ms() - t0) / 1e3;
	printf("loops=%ld lookup_fail=%ld connect_fail=%ld eperm=%ld secs=%.2f rate=%.0f\n", count,
	       lookup_fail, connect_fail, eperm, secs, secs > 0 ? count / secs : 0);
	return lookup_fail || connect_fail;
}

/* A whole decimal number in [min, max], or -1 (with a message naming the argument). */
static long number_arg(const char *what, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "resolve: %s \"%s\" is not a number from %ld to %ld\n", what, s,
			min, max);
		return -1;
	}
	return v;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char addr[INET_ADDRSTRLEN] = "";
	double t0;
	int err;

	if (argc == 6 && !strcmp(argv[1], "-n") && !strcmp(argv[3], "-p")) {
		long count = number_arg("COUNT", argv[2], 1, 1000000000L);
		long port = number_arg("PORT", argv[4], 1, 65535);

		if (count < 0 || port < 0)
			return 2;
		return loops(count, (int)port, argv[5]);
	}
	if (argc != 2) {
		fprintf(stderr, "usage: resolve NAME | resolve -n COUNT -p PORT NAME\n");
		return 2;
	}
	t0 = now_ms();
	err = getaddrinfo(argv[1], NULL, &hints, &res);
	if (err) {
		printf("fail %s ms=%.0f\n", gai_strerror(err), now_ms() - t0);
		return 1;
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof(addr));
	printf("ok %s ms=%.0f\n", addr, now_ms() - t0);
	freeaddrinfo(res);
	return 0;
}
