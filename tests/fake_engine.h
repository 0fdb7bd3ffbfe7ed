/* fake_engine.h - the listening half of a fake Docker Engine for tests: a unix socket at
 * fake_engine_path, one thread accepting, and each connection served by its own detached
 * thread running the test's serve((void *)(intptr_t)fd), which reads requests, answers and
 * closes fd. Each test writes its own serve: what the Engine answers is the test. */
#ifndef MOAT_TEST_FAKE_ENGINE_H
#define MOAT_TEST_FAKE_ENGINE_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char fake_engine_path[108];
static int fake_engine_fd = -1;
static void *(*fake_engine_serve)(void *);

static void *fake_engine_acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		int fd = accept(fake_engine_fd, NULL, NULL);

		if (fd < 0)
			return NULL;
		if (pthread_create(&t, NULL, fake_engine_serve, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(t);
	}
}

/* Listen on /tmp/moat-test-TAG-PID.sock (fake_engine_path; the caller unlinks it at the
 * end) and serve each connection with serve. 0, or -1 with errno set. */
static int fake_engine_listen(const char *tag, void *(*serve)(void *))
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	pthread_t t;

	snprintf(fake_engine_path, sizeof(fake_engine_path), "/tmp/moat-test-%s-%d.sock", tag,
		 (int)getpid());
	unlink(fake_engine_path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", fake_engine_path);
	fake_engine_serve = serve;
	fake_engine_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fake_engine_fd < 0 || bind(fake_engine_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fake_engine_fd, 64) || pthread_create(&t, NULL, fake_engine_acceptor, NULL))
		return -1;
	pthread_detach(t);
	return 0;
}

/* Serve the requests of connection fd: each one's head, and a body of Content-Length bytes,
 * is read whole and its method and path passed to answer (which writes the reply), until the
 * client closes, a request does not parse, or answer returns non-zero; then fd is closed. */
static void fake_engine_requests(int fd,
				 int (*answer)(int fd, const char *method, const char *path))
{
	char req[8192];
	size_t len = 0;

	for (;;) {
		char method[8], path[1024], *end, *cl;
		size_t body = 0, head;
		ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = 0;
		end = strstr(req, "\r\n\r\n");
		if (!end)
			continue;
		head = (size_t)(end - req) + 4;
		cl = strcasestr(req, "Content-Length:");
		if (cl && cl < end)
			body = strtoul(cl + 15, NULL, 10);
		if (len < head + body)
			continue;
		if (sscanf(req, "%7s %1023s", method, path) != 2 || answer(fd, method, path))
			break;
		memmove(req, req + head + body, len - head - body);
		len -= head + body;
	}
	close(fd);
}

#endif /* MOAT_TEST_FAKE_ENGINE_H */
