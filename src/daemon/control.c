/* control.c - the control socket: line-delimited JSON over a unix socket. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

#define CONTROL_MAX_LINE 65536

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int control_listen(const char *path)
{
	struct sockaddr_un sa;
	char dir[PATH_MAX];
	int fd, err = fill_addr(&sa, path);

	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0700) && errno != EEXIST)
		return -errno;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket left by a crashed daemon: nobody answers it, replace it.
	 * One that answers belongs to a running daemon: refuse. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Read until newline or EOF within the deadline. Returns bytes or -errno. */
static ssize_t read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int rc = poll(&p, 1, timeout_ms);

		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - n, '\n', (size_t)n))
			break;
	}
	buf[len] = 0;
	return (ssize_t)len;
}

static void reply_error(int fd, const char *msg)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "ok", json_object_new_boolean(0));
	json_object_object_add(a, "error", json_object_new_string(msg));
	control_reply(fd, a);
}

json_object *control_read_request(int fd)
{
	char *buf = malloc(CONTROL_MAX_LINE);
	json_object *req;
	ssize_t n;

	if (!buf) {
		close(fd);
		return NULL;
	}
	n = read_line(fd, buf, CONTROL_MAX_LINE, 2000);
	if (n <= 0) {
		log_debug("control: no request (%s)", n < 0 ? strerror((int)-n) : "empty");
		free(buf);
		close(fd);
		return NULL;
	}
	req = json_tokener_parse(buf);
	free(buf);
	if (!req || !json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		reply_error(fd, "the request must be one JSON object on one line, e.g. "
				"{\"cmd\":\"status\"}");
		return NULL;
	}
	return req;
}

void control_reply(int fd, json_object *answer)
{
	const char *s = json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			if (poll(&p, 1, 2000) <= 0)
				break;
			continue;
		}
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) < 0)
		log_debug("control: client went away");
	json_object_put(answer);
	close(fd);
}

json_object *control_call(const char *path, json_object *req, int timeout_ms)
{
	struct sockaddr_un sa;
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	char *buf;
	json_object *ans = NULL;
	ssize_t n;
	int fd, err = fill_addr(&sa, path);

	if (err) {
		errno = -err;
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, s, strlen(s)) != (ssize_t)strlen(s) || write(fd, "\n", 1) != 1) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	buf = malloc(16u << 20);
	if (buf && (n = read_line(fd, buf, 16u << 20, timeout_ms)) > 0)
		ans = json_tokener_parse(buf);
	else
		errno = ETIMEDOUT;
	free(buf);
	close(fd);
	return ans;
}
