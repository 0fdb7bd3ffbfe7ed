/* udpsend.c - send one UDP datagram with sendto() on an unconnected socket
 * (what the cgroup sendmsg hooks see), for tests inside containers. Built
 * static so it runs in the busybox image. Prints "sent" or the errno name.
 * usage: udpsend ADDR PORT [COUNT] */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr *sa = (struct sockaddr *)&a4;
	socklen_t len = sizeof(a4);
	int fd, family = AF_INET, count = argc > 3 ? atoi(argv[3]) : 1;

	if (argc < 3) {
		fprintf(stderr, "usage: udpsend ADDR PORT [COUNT]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &a4.sin_addr) == 1) {
		a4.sin_port = htons(atoi(argv[2]));
	} else if (inet_pton(AF_INET6, argv[1], &a6.sin6_addr) == 1) {
		a6.sin6_port = htons(atoi(argv[2]));
		sa = (struct sockaddr *)&a6;
		len = sizeof(a6);
		family = AF_INET6;
	} else {
		fprintf(stderr, "udpsend: bad address %s\n", argv[1]);
		return 2;
	}
	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	for (int i = 0; i < count; i++) {
		if (sendto(fd, "moat", 4, 0, sa, len) < 0) {
			printf("%s\n", errno == EPERM ? "EPERM" : strerror(errno));
			return 1;
		}
	}
	printf("sent\n");
	return 0;
}
