/* ctlclient.c - the control socket's client side: one request line, one answer line. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "ctlclient.h"

int ctlclient_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/* Wait until fd is ready for events or deadline (CLOCK_MONOTONIC ms). 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline - (clock_mono_ns() / 1000000);
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(int fd, const char *s, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int err;

		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((err = wait_fd(fd, POLLOUT, deadline)))
			return err;
	}
	return 0;
}

/* Read one line into a growing buffer. Returns it (NUL-terminated, newline kept) or NULL
 * with errno. */
static char *recv_line(int fd, int64_t deadline)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap), *nb;
	int err = 0;

	while (buf) {
		ssize_t n;

		if (len + 1 >= cap) {
			if (cap >= CTLCLIENT_MAX_ANSWER) {
				err = EMSGSIZE;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				err = ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			if (memchr(buf + len - n, '\n', (size_t)n))
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			err = errno;
			break;
		}
		if ((err = -wait_fd(fd, POLLIN, deadline)))
			break;
	}
	if (!buf || err || len == 0) {
		free(buf);
		errno = !buf ? ENOMEM : err ? err : EPROTO;
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

json_object *control_call(const char *path, json_object *req, int timeout_ms)
{
	struct sockaddr_un sa;
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	int64_t deadline = (clock_mono_ns() / 1000000) + timeout_ms;
	json_object *ans = NULL;
	char *line;
	int fd, err = ctlclient_addr(&sa, path);

	if (err) {
		errno = -err;
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto out;
	}
	if ((err = send_all(fd, s, strlen(s), deadline)) || (err = send_all(fd, "\n", 1, deadline)))
		goto out;
	line = recv_line(fd, deadline);
	if (!line) {
		err = -errno;
		goto out;
	}
	ans = json_tokener_parse(line);
	free(line);
	if (!ans)
		err = -EPROTO;
out:
	close(fd);
	if (err)
		errno = -err;
	return ans;
}
