/* netprobe.c - the network actions tests and benchmarks need inside the
 * busybox test image (whose nc has no -z, -u or -s). Built static.
 *
 *   netprobe connect ADDR PORT [COUNT]   TCP connect() COUNT times (default 1)
 *   netprobe sendto ADDR PORT [COUNT]    UDP sendto() on an unconnected socket
 *   netprobe listen ADDR PORT            TCP accept-and-close server, forever
 *   netprobe dns ADDR NAME [COUNT]       COUNT DNS A queries for NAME to ADDR:53 over
 *                                        unconnected UDP, each waiting up to 1 s for
 *                                        its answer; prints "ok ANSWERED/COUNT"
 *
 * Prints "ok" or the failure ("EPERM" for a refusal by moat, else the errno
 * text) and exits 0 / 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* Write a DNS query for name (type A, RD set) into buf. Returns its length. */
static size_t dns_query(unsigned char *buf, size_t cap, const char *name, unsigned short id)
{
	size_t n = 12;
	const char *p = name;

	memset(buf, 0, 12);
	buf[0] = id >> 8;
	buf[1] = id & 0xff;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* qdcount */
	while (*p && n + 64 < cap) {
		size_t len = strcspn(p, ".");

		buf[n++] = (unsigned char)len;
		memcpy(buf + n, p, len);
		n += len;
		p += len;
		if (*p == '.')
			p++;
	}
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 1; /* A */
	buf[n++] = 0;
	buf[n++] = 1; /* IN */
	return n;
}

static socklen_t parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	long p = strtol(port, NULL, 10);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)p);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)p);
		return sizeof(*a6);
	}
	return 0;
}

static int fail(const char *what)
{
	printf("%s\n", errno == EPERM ? "EPERM" : strerror(errno));
	fprintf(stderr, "netprobe: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long count;
	int fd;

	if (argc >= 4 && strcmp(argv[1], "dns") == 0) {
		struct timeval tv = {.tv_sec = 1};
		unsigned char q[512], a[1500];
		long answered = 0;

		count = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
		if (!(len = parse_addr(argv[2], "53", &ss)))
			return 2;
		fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (fd < 0)
			return fail("socket");
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		for (long i = 0; i < count; i++) {
			size_t qlen = dns_query(q, sizeof(q), argv[3], (unsigned short)(i + 1));

			if (sendto(fd, q, qlen, 0, (struct sockaddr *)&ss, len) < 0)
				return fail("sendto");
			if (recv(fd, a, sizeof(a), 0) > 0)
				answered++;
		}
		printf("ok %ld/%ld\n", answered, count);
		return 0;
	}
	if (argc < 4 || !(len = parse_addr(argv[2], argv[3], &ss))) {
		fprintf(stderr, "usage: netprobe connect|sendto|listen ADDR PORT [COUNT]\n"
				"       netprobe dns ADDR NAME [COUNT]\n");
		return 2;
	}
	count = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
	if (strcmp(argv[1], "connect") == 0) {
		for (long i = 0; i < count; i++) {
			fd = socket(ss.ss_family, SOCK_STREAM, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
				return fail("connect");
			close(fd);
		}
	} else if (strcmp(argv[1], "sendto") == 0) {
		fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (fd < 0)
			return fail("socket");
		for (long i = 0; i < count; i++)
			if (sendto(fd, "moat", 4, 0, (struct sockaddr *)&ss, len) < 0)
				return fail("sendto");
	} else if (strcmp(argv[1], "listen") == 0) {
		int one = 1;

		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096))
			return fail("listen");
		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c >= 0)
				close(c);
		}
	} else {
		fprintf(stderr, "netprobe: unknown action %s\n", argv[1]);
		return 2;
	}
	printf("ok\n");
	return 0;
}
