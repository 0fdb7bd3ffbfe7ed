/* resolve.c - one name lookup through the C library's own resolver (getaddrinfo), for
 * measuring how glibc and musl retry while moat holds an answer back (interactive egress).
 * Built twice, static: build/helpers/resolve-glibc (gcc) and build/helpers/resolve-musl
 * (musl-gcc, when musl-tools is installed), so both run in the busybox test image.
 *
 *   resolve NAME     prints "ok ADDR ms=T" (first IPv4 address) or "fail REASON ms=T",
 *                    T the milliseconds getaddrinfo took; exits 0 / 1
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char addr[INET_ADDRSTRLEN] = "";
	double t0;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: resolve NAME\n");
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
