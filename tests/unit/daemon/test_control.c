/* test_control.c - the control socket's server (src/daemon/control.c) through a real unix
 * socket and a real epoll, driven as moat run's loop drives it: a silent client, a slow
 * one, one that never reads its answer, an oversized or broken request, a full table; and
 * the client side (control_call) against it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "test.h"
#include "control.h"
#include "ctlclient.h"

#define TAG 16

static char sock_path[108];

static int64_t now_ms(void)
{
	return control_now_ms();
}

static int client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect");
		exit(1);
	}
	return fd;
}

/* One round of moat run's loop for the server: wait up to wait_ms, hand each event over,
 * expire. Returns the slot of a complete request (its parsed object in *req), or -1. */
static int round_once(struct control_server *s, int epfd, int wait_ms, json_object **req)
{
	struct epoll_event evs[16];
	int n = epoll_wait(epfd, evs, 16, wait_ms), got = -1;

	*req = NULL;
	for (int i = 0; i < n; i++) {
		json_object *r;
		int slot;

		if (!control_server_owns(s, evs[i].data.u32))
			continue;
		slot = control_server_event(s, evs[i].data.u32, &r);
		if (slot >= 0 && got < 0) {
			got = slot;
			*req = r;
		} else if (slot >= 0) {
			control_server_fail(s, slot, "test: one at a time");
			json_object_put(r);
		}
	}
	control_server_expire(s, now_ms());
	return got;
}

/* Loop rounds until a request comes or ms pass. */
static int wait_request(struct control_server *s, int epfd, int ms, json_object **req)
{
	int64_t end = now_ms() + ms;
	int slot;

	do
		slot = round_once(s, epfd, 10, req);
	while (slot < 0 && now_ms() < end);
	return slot;
}

/* Run rounds for ms (answers written, deadlines passed). */
static void spin(struct control_server *s, int epfd, int ms)
{
	int64_t end = now_ms() + ms;
	json_object *req;
	int slot;

	while (now_ms() < end)
		if ((slot = round_once(s, epfd, 5, &req)) >= 0) {
			control_server_fail(s, slot, "test: unexpected request");
			json_object_put(req);
		}
}

/* Read the client's answer line (blocking, with a timeout). "" on none. */
static const char *read_answer(int fd, int timeout_ms)
{
	static char buf[1 << 20];
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	size_t len = 0;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len + 1 < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	return buf;
}

static json_object *ok_answer(const char *what)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "ok", json_object_new_boolean(1));
	json_object_object_add(a, "what", json_object_new_string(what));
	return a;
}

static void test_basics(struct control_server *s, int epfd)
{
	struct stat st;
	json_object *req, *v;
	int fd, slot;

	CHECK(stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600,
	      "the socket is created mode 0600", "mode %o", st.st_mode & 0777);
	CHECK_EQ_INT(control_listen(sock_path), -EADDRINUSE,
		     "a second server on the same path is refused (a daemon answers there)");
	fd = client();
	CHECK(write(fd, "{\"cmd\":\"status\"}\n", 17) == 17, "client writes a request", "write");
	slot = wait_request(s, epfd, 1000, &req);
	CHECK(slot >= 0 && json_object_object_get_ex(req, "cmd", &v) &&
		  !strcmp(json_object_get_string(v), "status"),
	      "a request line is read and parsed", "slot %d", slot);
	control_server_reply(s, slot, ok_answer("status"));
	CHECK(strstr(read_answer(fd, 1000), "\"what\":\"status\"}\n") != NULL,
	      "the answer is one line, then the connection closes", "got \"%s\"",
	      read_answer(fd, 10));
	json_object_put(req);
	close(fd);
	CHECK_EQ_INT(s->n_open, 0, "the slot is free again");

	/* A request in pieces, across rounds. */
	fd = client();
	CHECK(write(fd, "{\"cmd\":", 7) == 7, "first half", "write");
	CHECK(round_once(s, epfd, 50, &req) < 0 && round_once(s, epfd, 20, &req) < 0,
	      "half a request is not a request", "handed over");
	CHECK(write(fd, "\"stats\"}\n", 9) == 9, "second half", "write");
	slot = wait_request(s, epfd, 1000, &req);
	CHECK(slot >= 0 && json_object_object_get_ex(req, "cmd", &v) &&
		  !strcmp(json_object_get_string(v), "stats"),
	      "a request sent in pieces is assembled", "slot %d", slot);
	control_server_reply(s, slot, ok_answer("stats"));
	json_object_put(req);
	close(fd);

	/* Without a newline: the end of the client's data ends the request. */
	fd = client();
	CHECK(write(fd, "{\"cmd\":\"pending\"}", 17) == 17 && shutdown(fd, SHUT_WR) == 0,
	      "a request without newline, then shutdown", "write");
	slot = wait_request(s, epfd, 1000, &req);
	CHECK(slot >= 0, "a request ended by shutdown(SHUT_WR) is read", "slot %d", slot);
	control_server_reply(s, slot, ok_answer("pending"));
	CHECK(strstr(read_answer(fd, 1000), "pending") != NULL,
	      "and answered on the half-closed socket", "no answer");
	json_object_put(req);
	close(fd);

	/* Not JSON: refused with the reason, nothing handed over. */
	fd = client();
	CHECK(write(fd, "status please\n", 14) == 14, "a broken request", "write");
	CHECK(wait_request(s, epfd, 200, &req) < 0, "a line that is not JSON is not handed over",
	      "handed over");
	CHECK(strstr(read_answer(fd, 1000), "must be one JSON object") != NULL,
	      "and is answered with what a request must be", "no answer");
	close(fd);

	/* Connect and hang up: nothing. */
	fd = client();
	close(fd);
	spin(s, epfd, 50);
	CHECK_EQ_INT(s->n_open, 0, "a client that hangs up without a word is closed");
}

/* The point of it all: a silent client does not delay anyone. */
static void test_silent(struct control_server *s, int epfd)
{
	json_object *req;
	int silent = client(), fd, slot;
	int64_t t0;
	char b;

	spin(s, epfd, 30); /* the silent one is accepted and waits */
	t0 = now_ms();
	fd = client();
	CHECK(write(fd, "{\"cmd\":\"status\"}\n", 17) == 17, "another client writes", "write");
	slot = wait_request(s, epfd, 1000, &req);
	CHECK(slot >= 0 && now_ms() - t0 < 200,
	      "with a silent client connected, another's request is served at once",
	      "slot %d after %lld ms", slot, (long long)(now_ms() - t0));
	control_server_reply(s, slot, ok_answer("x"));
	json_object_put(req);
	CHECK(strstr(read_answer(fd, 500), "\"ok\":true") != NULL, "and answered", "no answer");
	close(fd);
	/* The loop itself never waited: each round returned within its own timeout. */
	t0 = now_ms();
	for (int i = 0; i < 10; i++)
		round_once(s, epfd, 0, &req);
	CHECK(now_ms() - t0 < 50, "ten loop rounds with a silent client take no time", "%lld ms",
	      (long long)(now_ms() - t0));
	CHECK_EQ_INT(s->n_open, 1, "the silent client is still waiting (before its deadline)");
	spin(s, epfd, s->timeout_ms + 50);
	CHECK(s->n_open == 0 && s->n_expired >= 1, "the silent client is closed at its deadline",
	      "open %d, expired %llu", s->n_open, (unsigned long long)s->n_expired);
	CHECK(read(silent, &b, 1) == 0, "it sees the connection closed", "read");
	close(silent);

	/* Trickling bytes does not extend the deadline. */
	silent = client();
	t0 = now_ms();
	while (now_ms() - t0 < s->timeout_ms + 100 && s->n_open <= 1) {
		if (write(silent, " ", 1) != 1)
			break;
		spin(s, epfd, 20);
	}
	CHECK(s->n_open == 0 && now_ms() - t0 < s->timeout_ms + 100,
	      "a client trickling a byte at a time is closed at its deadline too",
	      "open %d after %lld ms", s->n_open, (long long)(now_ms() - t0));
	close(silent);
}

/* A big answer to a client that does not read: written as it takes it, never waited for. */
static void test_slow_reader(struct control_server *s, int epfd)
{
	json_object *req, *big = json_object_new_object();
	static char buf[65536];
	size_t len = 4u << 20, got = 0;
	char *text = malloc(len + 1);
	int fd = client(), slot;
	int64_t t0;

	memset(text, 'x', len);
	text[len] = 0;
	json_object_object_add(big, "ok", json_object_new_boolean(1));
	json_object_object_add(big, "blob", json_object_new_string(text));
	free(text);
	CHECK(write(fd, "{\"cmd\":\"registry\"}\n", 19) == 19, "a client asks for much", "write");
	slot = wait_request(s, epfd, 1000, &req);
	json_object_put(req);
	t0 = now_ms();
	control_server_reply(s, slot, big);
	CHECK(now_ms() - t0 < 100, "a 4 MiB answer to a client that does not read returns at once",
	      "%lld ms", (long long)(now_ms() - t0));
	CHECK_EQ_INT(s->n_open, 1, "the rest waits for the client");
	/* It reads now: the rest goes out round by round. */
	t0 = now_ms();
	while (s->n_open && now_ms() - t0 < 3000) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			got += (size_t)n;
		spin(s, epfd, 1);
	}
	for (ssize_t n; (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0;)
		got += (size_t)n;
	CHECK(got > len && s->n_open == 0, "a client that reads gets the whole answer",
	      "got %zu of %zu, open %d", got, len, s->n_open);
	close(fd);

	/* One that never reads is closed at the deadline. */
	fd = client();
	CHECK(write(fd, "{\"cmd\":\"registry\"}\n", 19) == 19, "another asks for much", "write");
	slot = wait_request(s, epfd, 1000, &req);
	json_object_put(req);
	big = json_object_new_object();
	text = malloc(len + 1);
	memset(text, 'y', len);
	text[len] = 0;
	json_object_object_add(big, "blob", json_object_new_string(text));
	free(text);
	control_server_reply(s, slot, big);
	spin(s, epfd, s->timeout_ms + 50);
	CHECK_EQ_INT(s->n_open, 0,
		     "a client that never reads its answer is closed at the deadline");
	close(fd);
}

static void test_limits(struct control_server *s, int epfd)
{
	json_object *req;
	char *big = malloc(CONTROL_MAX_LINE + 16);
	int fds[CONTROL_MAX_CLIENTS + 1], fd, slot, held;
	size_t off = 0;

	/* A line longer than CONTROL_MAX_LINE: refused, never buffered without end. */
	memset(big, ' ', CONTROL_MAX_LINE + 16);
	fd = client();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int64_t t0 = now_ms(); off < CONTROL_MAX_LINE + 16 && now_ms() - t0 < 2000;) {
		ssize_t n = write(fd, big + off, CONTROL_MAX_LINE + 16 - off);

		if (n > 0)
			off += (size_t)n;
		round_once(s, epfd, 1, &req);
		if (s->n_open == 0)
			break;
	}
	free(big);
	spin(s, epfd, 20);
	fcntl(fd, F_SETFL, 0);
	CHECK(strstr(read_answer(fd, 1000), "must be one JSON object") != NULL,
	      "a request over CONTROL_MAX_LINE bytes is refused", "no answer");
	close(fd);

	/* Held clients (waiting for an action) have no deadline and are found by their key. */
	fd = client();
	CHECK(write(fd, "{\"cmd\":\"pause\"}\n", 16) == 16, "a client asks to pause", "write");
	slot = wait_request(s, epfd, 1000, &req);
	json_object_put(req);
	control_server_hold(s, slot, "trace-1");
	spin(s, epfd, s->timeout_ms + 50);
	held = control_server_held(s, "trace-1", 0);
	CHECK(held == slot && control_server_n_held(s) == 1,
	      "a held client outlives the deadline and is found by its key", "held %d", held);
	CHECK_EQ_INT(control_server_held(s, "trace-2", 0), -1, "another key finds nothing");
	control_server_reply(s, held, ok_answer("paused"));
	CHECK(strstr(read_answer(fd, 1000), "paused") != NULL, "the held client gets its answer",
	      "no answer");
	close(fd);
	spin(s, epfd, 20);

	/* A held client that hangs up frees its slot (and does not spin the loop). */
	fd = client();
	CHECK(write(fd, "{\"cmd\":\"pause\"}\n", 16) == 16, "one more asks to pause", "write");
	slot = wait_request(s, epfd, 1000, &req);
	json_object_put(req);
	control_server_hold(s, slot, "trace-3");
	close(fd);
	spin(s, epfd, 50);
	CHECK(control_server_held(s, "trace-3", 0) == -1 && s->n_open == 0,
	      "a held client that hangs up is closed", "open %d", s->n_open);

	/* A full table turns the next one away with an answer (no deadline passes meanwhile). */
	s->timeout_ms = 10000;
	for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++) {
		fds[i] = client();
		spin(s, epfd, 1);
	}
	spin(s, epfd, 20);
	CHECK(s->n_open == CONTROL_MAX_CLIENTS && s->n_refused >= 1,
	      "with every slot taken, one more connection is refused", "open %d, refused %llu",
	      s->n_open, (unsigned long long)s->n_refused);
	CHECK(strstr(read_answer(fds[CONTROL_MAX_CLIENTS], 500), "too many control clients"),
	      "and told to retry", "no answer");
	for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	spin(s, epfd, 50);
	s->timeout_ms = 300;
	CHECK_EQ_INT(s->n_open, 0, "every slot is free after they leave");
}

/* control_call (the CLI's side) against the server in a thread. */
struct serve_one {
	struct control_server *s;
	int epfd;
};

static void *serve_one(void *arg)
{
	struct serve_one *so = arg;
	json_object *req, *v, *a;
	int slot = wait_request(so->s, so->epfd, 3000, &req);

	if (slot < 0)
		return NULL;
	a = ok_answer(json_object_object_get_ex(req, "cmd", &v) ? json_object_get_string(v) : "");
	json_object_put(req);
	control_server_reply(so->s, slot, a);
	spin(so->s, so->epfd, 50);
	return NULL;
}

static void test_call(struct control_server *s, int epfd)
{
	struct serve_one so = {s, epfd};
	json_object *req = json_object_new_object(), *ans, *v;
	pthread_t th;

	json_object_object_add(req, "cmd", json_object_new_string("status"));
	pthread_create(&th, NULL, serve_one, &so);
	ans = control_call(sock_path, req, 3000);
	pthread_join(th, NULL);
	CHECK(ans && json_object_object_get_ex(ans, "what", &v) &&
		  !strcmp(json_object_get_string(v), "status"),
	      "control_call sends a request and returns the answer", "ans %p", (void *)ans);
	json_object_put(ans);
	ans = control_call("/nonexistent/moat.sock", req, 100);
	CHECK(!ans && errno == ENOENT, "control_call without a daemon: NULL, ENOENT", "errno %d",
	      errno);
	json_object_put(req);
}

int main(void)
{
	struct control_server *s = malloc(sizeof(*s));
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	signal(SIGPIPE, SIG_IGN);
	snprintf(sock_path, sizeof(sock_path), "/tmp/moat-test-ctl-%d/moat.sock", (int)getpid());
	CHECK_EQ_INT(control_server_open(s, sock_path, epfd, TAG), 0, "the server opens");
	s->timeout_ms = 300; /* the deadline, shortened for the test */
	test_basics(s, epfd);
	test_silent(s, epfd);
	test_slow_reader(s, epfd);
	test_limits(s, epfd);
	test_call(s, epfd);
	control_server_close(s, "bye");
	CHECK(access(sock_path, F_OK) != 0, "closing removes the socket", "still there");
	*strrchr(sock_path, '/') = 0;
	rmdir(sock_path);
	free(s);
	close(epfd);
	return TEST_EXIT();
}
