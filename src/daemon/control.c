/* control.c - the control socket: one JSON line in, one JSON line out, over a unix socket;
 * the server side never blocks the event loop (control.h). */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctlclient.h"
#include "fs.h"
#include "log.h"

enum control_client_state {
	CC_FREE = 0,
	CC_READING, /* the request is coming in */
	CC_HELD,    /* the request was handed over; the answer comes later */
	CC_WRITING, /* the answer is going out */
};

#define ACCEPT_BATCH 16 /* connections accepted per wakeup; the rest wait for the next */

int64_t control_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int control_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, err = ctlclient_addr(&sa, path);

	if (err)
		return err;
	if ((err = fs_mkdir_parent(path, 0700)))
		return err;
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

/* ---- server ---------------------------------------------------------------------------- */

void control_server_init(struct control_server *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = s->epfd = -1;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		s->c[i].fd = -1;
	s->timeout_ms = CONTROL_TIMEOUT_MS;
}

int control_server_open(struct control_server *s, const char *path, int epfd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
	int err;

	control_server_init(s);
	s->epfd = epfd;
	s->tag = tag;
	s->fd = control_listen(path);
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (s->fd < 0) {
		err = s->fd;
		s->fd = -1;
		return err;
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev)) {
		err = -errno;
		close(s->fd);
		s->fd = -1;
		return err;
	}
	return 0;
}

int control_server_owns(const struct control_server *s, uint32_t tag)
{
	return tag >= s->tag && tag <= s->tag + CONTROL_MAX_CLIENTS;
}

static void client_close(struct control_server *s, int slot)
{
	struct control_client *c = &s->c[slot];

	if (c->fd < 0)
		return;
	close(c->fd); /* leaves the epoll set with it */
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	s->n_open--;
}

/* Watch slot's fd for events (EPOLLIN, EPOLLOUT, or 0: none but errors). */
static int client_watch(struct control_server *s, int slot, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u32 = s->tag + 1 + (uint32_t)slot};

	return epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->c[slot].fd, &ev) ? -errno : 0;
}

/* Write what the client takes now; close the slot when all is out or the client is gone. */
static void client_write(struct control_server *s, int slot)
{
	struct control_client *c = &s->c[slot];

	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* EPOLLOUT says when it takes more */
		if (n <= 0) {
			log_debug("control: client went away");
			break;
		}
		c->off += (size_t)n;
		/* A client that reads, however slowly, gets timeout_ms for each part. */
		c->deadline_ms = control_now_ms() + s->timeout_ms;
	}
	client_close(s, slot);
}

/* The one accept path: a free slot in the epoll set, reading with a deadline. A full table
 * turns the connection away with an answer, so the listening socket does not stay ready. */
static void accept_one(struct control_server *s, int fd)
{
	static const char full[] = "{\"ok\":false,\"error\":\"too many control clients; retry\"}\n";
	struct epoll_event ev = {.events = EPOLLIN};
	int slot = -1;
	char *buf;

	for (int i = 0; i < CONTROL_MAX_CLIENTS && slot < 0; i++)
		if (s->c[i].fd < 0)
			slot = i;
	buf = slot >= 0 ? malloc(CONTROL_MAX_LINE) : NULL;
	ev.data.u32 = s->tag + 1 + (uint32_t)slot;
	if (!buf || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		s->n_refused++;
		if (send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("control: client went away");
		log_debug("control: %d clients open; one turned away", s->n_open);
		free(buf);
		close(fd);
		return;
	}
	s->c[slot] = (struct control_client){.fd = fd,
					     .state = CC_READING,
					     .buf = buf,
					     .deadline_ms = control_now_ms() + s->timeout_ms};
	s->n_open++;
}

/* Read what slot sent. Returns 1 when the request is complete (NUL-terminated in buf), 0
 * while more is to come; closes the slot and returns -1 when there is no request. */
static int client_read(struct control_server *s, int slot)
{
	struct control_client *c = &s->c[slot];
	ssize_t n;
	char *nl;

	do
		n = read(c->fd, c->buf + c->len, CONTROL_MAX_LINE - 1 - c->len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0 || (n == 0 && c->len == 0)) {
		log_debug("control: no request (%s)", n < 0 ? strerror(errno) : "empty");
		client_close(s, slot);
		return -1;
	}
	nl = n > 0 ? memchr(c->buf + c->len, '\n', (size_t)n) : NULL;
	c->len += (size_t)n;
	if (nl)
		c->len = (size_t)(nl - c->buf);
	c->buf[c->len] = 0;
	/* Complete at a newline, at the end of the client's data, or when the line is full
	 * (then it is not JSON and is refused). */
	return nl || n == 0 || c->len == CONTROL_MAX_LINE - 1;
}

int control_server_event(struct control_server *s, uint32_t tag, json_object **req)
{
	int slot = (int)(tag - s->tag) - 1;
	struct control_client *c;

	*req = NULL;
	if (tag == s->tag) {
		for (int i = 0; i < ACCEPT_BATCH; i++) {
			int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd < 0)
				break;
			accept_one(s, fd);
		}
		return -1;
	}
	if (slot < 0 || slot >= CONTROL_MAX_CLIENTS || s->c[slot].fd < 0)
		return -1;
	c = &s->c[slot];
	if (c->state == CC_WRITING) {
		client_write(s, slot);
		return -1;
	}
	if (c->state == CC_HELD) {
		/* A held client is watched for nothing: only a hangup or an error wakes it. */
		log_debug("control: a client waiting for its answer hung up");
		client_close(s, slot);
		return -1;
	}
	if (c->state != CC_READING || client_read(s, slot) != 1)
		return -1;
	*req = json_tokener_parse(c->buf);
	if (!*req || !json_object_is_type(*req, json_type_object)) {
		json_object_put(*req);
		*req = NULL;
		control_server_fail(s, slot,
				    "the request must be one JSON object on one line, e.g. "
				    "{\"cmd\":\"status\"}");
		return -1;
	}
	/* Handed over: nothing more is read, and no deadline runs until the answer. */
	c->state = CC_HELD;
	c->deadline_ms = 0;
	client_watch(s, slot, 0);
	return slot;
}

void control_server_reply(struct control_server *s, int slot, json_object *answer)
{
	struct control_client *c;
	const char *text;
	size_t len;
	char *out;

	if (slot < 0 || slot >= CONTROL_MAX_CLIENTS || s->c[slot].fd < 0 ||
	    s->c[slot].state != CC_HELD) {
		json_object_put(answer);
		return;
	}
	c = &s->c[slot];
	text = json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	out = malloc(len + 2);
	if (!out) {
		json_object_put(answer);
		client_close(s, slot);
		return;
	}
	memcpy(out, text, len);
	out[len++] = '\n';
	out[len] = 0;
	json_object_put(answer);
	free(c->buf);
	c->buf = out;
	c->len = len;
	c->off = 0;
	c->state = CC_WRITING;
	c->deadline_ms = control_now_ms() + s->timeout_ms;
	client_write(s, slot);
	if (c->fd >= 0 && client_watch(s, slot, EPOLLOUT))
		client_close(s, slot);
}

void control_server_fail(struct control_server *s, int slot, const char *msg)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "ok", json_object_new_boolean(0));
	json_object_object_add(a, "error", json_object_new_string(msg));
	if (slot >= 0 && slot < CONTROL_MAX_CLIENTS && s->c[slot].state == CC_READING)
		s->c[slot].state = CC_HELD; /* a refused request is answered at once */
	control_server_reply(s, slot, a);
}

void control_server_hold(struct control_server *s, int slot, const char *key)
{
	if (slot < 0 || slot >= CONTROL_MAX_CLIENTS || s->c[slot].state != CC_HELD)
		return;
	snprintf(s->c[slot].key, sizeof(s->c[slot].key), "%s", key ? key : "");
}

int control_server_held(const struct control_server *s, const char *key, int from)
{
	for (int i = from < 0 ? 0 : from; i < CONTROL_MAX_CLIENTS; i++)
		if (s->c[i].fd >= 0 && s->c[i].state == CC_HELD && s->c[i].key[0] &&
		    !strcmp(s->c[i].key, key))
			return i;
	return -1;
}

int control_server_n_held(const struct control_server *s)
{
	int n = 0;

	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		n += s->c[i].fd >= 0 && s->c[i].state == CC_HELD && s->c[i].key[0];
	return n;
}

int control_server_expire(struct control_server *s, int64_t now_ms)
{
	int n = 0;

	for (int i = 0; i < CONTROL_MAX_CLIENTS && s->n_open > 0; i++) {
		struct control_client *c = &s->c[i];

		if (c->fd < 0 || !c->deadline_ms || c->deadline_ms > now_ms)
			continue;
		log_debug("control: client %s in time; closed",
			  c->state == CC_READING ? "sent no request" : "did not read its answer");
		client_close(s, i);
		s->n_expired++;
		n++;
	}
	return n;
}

void control_server_close(struct control_server *s, const char *msg)
{
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (s->c[i].fd >= 0 && s->c[i].state == CC_HELD && s->c[i].key[0])
			control_server_fail(s, i, msg);
		client_close(s, i);
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		unlink(s->path);
	}
}

/* ---- client ---------------------------------------------------------------------------- */

/* Read until newline or EOF within the deadline. Returns bytes or -errno. */
