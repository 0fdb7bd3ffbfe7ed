/* test_docker_allow.c - moat's own use of the Docker Engine API stays what docs/security.md
 * says (list, inspect, events, logs, pause, unpause, stop, disconnect; plus the version and
 * image labels): every client in src/docker/ and src/act/ is run against a fake Engine on a
 * private unix socket that records each request, and the test fails on any request outside
 * its own list. Calls outside docker.c's allow-list are refused before anything is sent.
 * The same fake Engine serves a multiplexed and a TTY log stream to the log reader
 * (dockerlogs), health readings to the health reader (dockerhealth), and answers an unpause
 * of a running container as Docker 20.10 does (HTTP 500 "is not paused"): a quiet no-op.
 * No Docker, no root needed. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "fake_engine.h"
#include "actions.h"
#include "docker.h"
#include "dockerhealth.h"
#include "dockerlogs.h"

#define MAX_SEEN 256
#define ID_MUX	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_TTY	 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_RUN	 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static char seen[MAX_SEEN][300]; /* "GET /containers/x/json" (no version, no query) */
static int n_seen;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void record(const char *method, const char *path)
{
	char p[256];

	snprintf(p, sizeof(p), "%.*s", (int)strcspn(path, "?"), path);
	pthread_mutex_lock(&seen_lock);
	if (n_seen < MAX_SEEN)
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s %s", method,
			 strncmp(p, "/v1.41/", 7) ? p : p + 6);
	pthread_mutex_unlock(&seen_lock);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void reply(int fd, const char *status, const char *body)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
			 "%zu\r\n\r\n%s",
			 status, strlen(body), body);

	write_all(fd, buf, (size_t)n);
}

/* A streamed answer: headers, body, and the connection closes. */
static void stream(int fd, const char *ctype, const void *body, size_t len)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n", ctype);

	write_all(fd, buf, (size_t)n);
	write_all(fd, body, len);
}

/* One multiplexed frame into out; returns its length. */
static size_t frame(char *out, int st, const char *payload, size_t len)
{
	out[0] = (char)st;
	out[1] = out[2] = out[3] = 0;
	out[4] = (char)(len >> 24);
	out[5] = (char)(len >> 16);
	out[6] = (char)(len >> 8);
	out[7] = (char)len;
	memcpy(out + 8, payload, len);
	return len + 8;
}

static const char *inspect_json(const char *id)
{
	static __thread char buf[2048];

	snprintf(buf, sizeof(buf),
		 "{\"Id\":\"%s\",\"Name\":\"/web\",\"Image\":\"sha256:img\",\"Config\":{\"Image\":"
		 "\"busybox\",\"Tty\":%s,\"Labels\":{},\"Cmd\":[\"sleep\",\"1\"],\"Healthcheck\":{"
		 "\"Test\":[\"CMD-SHELL\",\"false\"]}},\"State\":{\"Status\":\"running\","
		 "\"Running\":true,\"Pid\":0,\"ExitCode\":0,\"StartedAt\":\"2024-01-01T00:00:00Z\","
		 "\"Health\":{\"Status\":\"unhealthy\",\"FailingStreak\":3,\"Log\":[{\"ExitCode\":"
		 "0,\"Output\":\"ok\"},{\"ExitCode\":1,\"Output\":\"bad\\u001b[31m\\u0000x\\n\","
		 "\"End\":\"2024-01-01T00:00:01Z\"}]}},\"NetworkSettings\":{\"Networks\":{}},"
		 "\"HostConfig\":{\"Dns\":[]}}",
		 id, strcmp(id, ID_TTY) ? "false" : "true");
	return buf;
}

/* Answer one request (method, path); returns 1 when the connection must close. */
static int answer(int fd, const char *method, const char *path)
{
	char id[128] = "", verb[32] = "";

	record(method, path);
	if (!strcmp(path, "/version"))
		return reply(fd, "200 OK", "{\"ApiVersion\":\"1.41\"}"), 0;
	sscanf(path, "/v1.41/containers/%127[^/?]/%31[a-z]", id, verb);
	if (!strcmp(method, "GET") && !strcmp(path, "/v1.41/containers/json")) {
		reply(fd, "200 OK", "[{\"Id\":\"" ID_MUX "\"}]");
	} else if (!strcmp(method, "GET") && !strcmp(verb, "json")) {
		reply(fd, "200 OK", inspect_json(id));
	} else if (!strcmp(method, "GET") && !strncmp(path, "/v1.41/images/", 14)) {
		reply(fd, "200 OK", "{\"Config\":{\"Labels\":{}}}");
	} else if (!strcmp(method, "GET") && !strncmp(path, "/v1.41/events", 13)) {
		static const char ev[] = "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{"
					 "\"ID\":\"" ID_MUX "\",\"Attributes\":{\"name\":\"web\"}},"
					 "\"timeNano\":1}\n";

		stream(fd, "application/json", ev, sizeof(ev) - 1);
		return 1;
	} else if (!strcmp(method, "GET") && !strcmp(verb, "logs")) {
		char body[512];
		size_t n = 0;

		if (!strcmp(id, ID_TTY)) {
			static const char raw[] = "tty line one\r\ntty FATAL line\r\npartial";

			stream(fd, "application/vnd.docker.raw-stream", raw, sizeof(raw) - 1);
			return 1;
		}
		n += frame(body + n, 1, "out one\nout FA", 14);
		n += frame(body + n, 2, "err line\n", 9);
		n += frame(body + n, 1, "TAL two\n", 8);
		n += frame(body + n, 2, "no newline at the end", 21);
		stream(fd, "application/vnd.docker.multiplexed-stream", body, n);
		return 1;
	} else if (!strcmp(method, "POST") && !strcmp(verb, "unpause") && !strcmp(id, ID_RUN)) {
		/* Docker 20.10: a plain error, HTTP 500. */
		reply(fd, "500 Internal Server Error",
		      "{\"message\":\"Container " ID_RUN " is not paused\"}");
	} else if (!strcmp(method, "POST") &&
		   (!strcmp(verb, "pause") || !strcmp(verb, "unpause") || !strcmp(verb, "stop"))) {
		reply(fd, "204 No Content", "");
	} else if (!strcmp(method, "POST") && strstr(path, "/disconnect")) {
		reply(fd, "200 OK", "");
	} else {
		reply(fd, "404 Not Found", "{\"message\":\"page not found\"}");
	}
	return 0;
}

static void *serve(void *arg)
{
	fake_engine_requests((int)(intptr_t)arg, answer);
	return NULL;
}

static int count_seen(const char *prefix)
{
	int n = 0;

	pthread_mutex_lock(&seen_lock);
	for (int i = 0; i < n_seen; i++)
		n += !strncmp(seen[i], prefix, strlen(prefix));
	pthread_mutex_unlock(&seen_lock);
	return n;
}

/* ---- the log reader's side ---------------------------------------------- */

struct got {
	char lines[16][128];
	int n, ended;
	pthread_mutex_t lock;
};
static struct got got_mux = {.lock = PTHREAD_MUTEX_INITIALIZER},
		  got_tty = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int on_line(void *ud, int st, char *line, size_t len, int cut)
{
	struct got *g = ud;

	pthread_mutex_lock(&g->lock);
	if (g->n < 16)
		snprintf(g->lines[g->n++], sizeof(g->lines[0]), "%d:%s", st, line);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static void on_end(void *ud, int err)
{
	struct got *g = ud;

	pthread_mutex_lock(&g->lock);
	g->ended = 1;
	pthread_mutex_unlock(&g->lock);
}

static int ended(struct got *g)
{
	int e;

	pthread_mutex_lock(&g->lock);
	e = g->ended;
	pthread_mutex_unlock(&g->lock);
	return e;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int ev_line(const char *line, size_t len, void *ud)
{
	(*(int *)ud)++;
	return 1; /* one is enough */
}

static void test_clients(const char *host)
{
	static const struct dockerlogs_ops ops = {.on_line = on_line, .on_end = on_end};
	static const struct docker_stream_ops sops = {.on_line = ev_line};
	struct docker *d = docker_open(host);
	struct container_info *cs = NULL, ci;
	struct dockerlogs *l;
	struct dockerhealth *h;
	struct docker_health r;
	struct actions *act;
	struct actions_opts ao = {
	    .attempts = 3, .backoff_ms = 10, .timeout_ms = 2000, .max_concurrent = 1};
	struct action_req req = {.kind = ACTION_UNPAUSE};
	struct action_result res;
	json_object *o = NULL;
	int n = 0, events = 0;

	CHECK(d != NULL, "docker_open against the fake Engine", "%s", strerror(errno));
	if (!d)
		return;
	CHECK(docker_list(d, &cs, &n) == 0 && n == 1 && !strcmp(cs[0].id, ID_MUX) && !cs[0].tty,
	      "docker_list: list, inspect, image labels", "n %d", n);
	docker_list_free(cs, n);
	CHECK(docker_inspect(d, ID_TTY, &ci) == 0 && ci.tty == 1, "inspect reads Config.Tty",
	      "tty %d", ci.tty);
	container_info_clear(&ci);
	CHECK_EQ_INT(docker_pause(d, ID_MUX), 0, "pause");
	CHECK_EQ_INT(docker_unpause(d, ID_MUX), 0, "unpause");
	CHECK_EQ_INT(docker_unpause(d, ID_RUN), -EALREADY,
		     "unpause of a running container (HTTP 500 'is not paused'): -EALREADY");
	CHECK_EQ_INT(docker_stop(d, ID_MUX, 1), 0, "stop");
	CHECK_EQ_INT(docker_network_disconnect(d, ID_MUX, "bridge", 1), 0, "network disconnect");
	CHECK(docker_stream(d, "/events?filters=x", &sops, &events) == -ECANCELED && events == 1,
	      "the events stream", "events %d", events);
	/* Calls moat never makes: refused in the client, never sent. */
	CHECK_EQ_INT(docker_get(d, "/containers/" ID_MUX "/exec", &o), -EPERM,
		     "GET .../exec is refused");
	CHECK_EQ_INT(docker_get(d, "/containers/" ID_MUX "/json/../../exec", &o), -EPERM,
		     "a path that only starts like an allowed one is refused");
	CHECK_EQ_INT(docker_get(d, "/containers/" ID_MUX "/archive?path=/", &o), -EPERM,
		     "GET .../archive (copy files out) is refused");
	CHECK_EQ_INT(docker_get(d, "/secrets", &o), -EPERM, "GET /secrets is refused");
	CHECK_EQ_INT(docker_stream(d, "/containers/" ID_MUX "/attach?stream=1", &sops, &events),
		     -EPERM, "a stream of .../attach is refused");
	CHECK(!docker_allowed("POST", "/containers/create") &&
		  !docker_allowed("POST", "/containers/x/exec") &&
		  !docker_allowed("DELETE", "/containers/x") &&
		  !docker_allowed("POST", "/containers/x/kill") &&
		  !docker_allowed("GET", "/containers//json") &&
		  docker_allowed("GET", "/containers/x/logs?follow=1") &&
		  docker_allowed("POST", "/networks/n/disconnect"),
	      "docker_allowed: create, exec, delete, kill refused", "%d", 0);
	docker_close(d);

	/* The log reader: one multiplexed stream, one TTY stream. */
	l = dockerlogs_start(host, &ops);
	CHECK(l != NULL, "the log reader starts", "%s", strerror(errno));
	if (l) {
		CHECK_EQ_INT(dockerlogs_follow(l, "web", 0, 0, &got_mux), -EINVAL,
			     "a name is no full id");
		dockerlogs_follow(l, ID_MUX, 0, 0, &got_mux);
		dockerlogs_follow(l, ID_TTY, 1, 0, &got_tty);
		for (int i = 0; i < 100 && !(ended(&got_mux) && ended(&got_tty)); i++)
			sleep_ms(20);
		CHECK(got_mux.n == 4 && !strcmp(got_mux.lines[0], "1:out one") &&
			  !strcmp(got_mux.lines[1], "2:err line") &&
			  !strcmp(got_mux.lines[2], "1:out FATAL two") &&
			  !strcmp(got_mux.lines[3], "2:no newline at the end"),
		      "multiplexed frames: stdout and stderr lines, a line across frames, the last "
		      "line without a newline",
		      "n %d: %s | %s | %s | %s", got_mux.n, got_mux.lines[0], got_mux.lines[1],
		      got_mux.lines[2], got_mux.lines[3]);
		CHECK(got_tty.n == 3 && !strcmp(got_tty.lines[0], "1:tty line one") &&
			  !strcmp(got_tty.lines[1], "1:tty FATAL line") &&
			  !strcmp(got_tty.lines[2], "1:partial"),
		      "a TTY stream: raw lines, \\r\\n ends a line", "n %d: %s | %s", got_tty.n,
		      got_tty.lines[0], got_tty.lines[1]);
		dockerlogs_stop(l);
	}

	/* The health reader. */
	h = dockerhealth_start(host, 0);
	CHECK(h != NULL, "the health reader starts", "%s", strerror(errno));
	if (h) {
		int rc = -EAGAIN;
		struct pollfd p = {.fd = dockerhealth_fd(h), .events = POLLIN};

		dockerhealth_check(h, ID_MUX);
		if (poll(&p, 1, 3000) == 1)
			rc = dockerhealth_next(h, &r);
		CHECK(rc == 0 && r.failing_streak == 3 && !strcmp(r.status, "unhealthy") &&
			  r.exit_code == 1 && !strcmp(r.output, "bad\x1b[31m x") && r.running &&
			  r.end_ns == 1704067201000000000LL,
		      "a health reading: status, streak, the last check's exit code and output",
		      "rc %d streak %d status %s exit %d output %s", rc, r.failing_streak, r.status,
		      r.exit_code, r.output);
		dockerhealth_stop(h);
	}

	/* The action executor: resume of a running container is one quiet request. */
	act = actions_start(host, &ao);
	if (act) {
		struct pollfd p = {.fd = actions_fd(act), .events = POLLIN};
		int before = count_seen("POST /containers/" ID_RUN "/unpause");

		snprintf(req.container, sizeof(req.container), "%s", ID_RUN);
		snprintf(req.name, sizeof(req.name), "running");
		actions_submit(act, &req);
		CHECK(poll(&p, 1, 5000) == 1 && actions_next(act, &res) == 0 && res.ok &&
			  res.noop && res.attempts == 1 &&
			  count_seen("POST /containers/" ID_RUN "/unpause") == before + 1,
		      "resume of a running container: ok, a no-op, one attempt",
		      "ok %d noop %d attempts %d error %s", res.ok, res.noop, res.attempts,
		      res.error);
		actions_stop(act);
	}
}

/* Every request the fake Engine saw is one of these. */
static void test_only_allowed(void)
{
	static const char *const allowed[] = {
	    "^GET /version$",
	    "^GET /containers/json$",
	    "^GET /containers/[^/]+/json$",
	    "^GET /images/[^/]+/json$",
	    "^GET /events$",
	    "^GET /containers/[^/]+/logs$",
	    "^POST /containers/[^/]+/(pause|unpause|stop)$",
	    "^POST /networks/[^/]+/disconnect$",
	};
	regex_t re[sizeof(allowed) / sizeof(allowed[0])];
	int bad = 0;
	char first_bad[300] = "";

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		regcomp(&re[i], allowed[i], REG_EXTENDED | REG_NOSUB);
	pthread_mutex_lock(&seen_lock);
	for (int i = 0; i < n_seen; i++) {
		size_t k;

		for (k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
			if (!regexec(&re[k], seen[i], 0, NULL, 0))
				break;
		if (k == sizeof(allowed) / sizeof(allowed[0]) && !bad++)
			snprintf(first_bad, sizeof(first_bad), "%.200s", seen[i]);
	}
	pthread_mutex_unlock(&seen_lock);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		regfree(&re[i]);
	CHECK(n_seen > 15, "the fake Engine saw the clients' requests", "n %d", n_seen);
	CHECK(bad == 0,
	      "every request moat made is on the list (list, inspect, events, logs, "
	      "pause, unpause, stop, disconnect, version, image labels)",
	      "%d not: first %s", bad, first_bad);
	CHECK(count_seen("GET /containers/" ID_MUX "/logs") == 1 &&
		  count_seen("GET /events") == 1 && count_seen("POST /networks/") == 1,
	      "logs, events and disconnect reached the Engine", "%d", 0);
	CHECK(count_seen("GET /containers/" ID_MUX "/exec") == 0 &&
		  count_seen("GET /containers/" ID_MUX "/attach") == 0 &&
		  count_seen("GET /secrets") == 0,
	      "refused calls never reached the Engine", "%d", 0);
}

int main(void)
{
	char host[160];

	if (fake_engine_listen("allow", serve)) {
		printf("not ok - fake Docker Engine: %s\n", strerror(errno));
		return 1;
	}
	snprintf(host, sizeof(host), "unix://%s", fake_engine_path);
	test_clients(host);
	test_only_allowed();
	unlink(fake_engine_path);
	return TEST_EXIT();
}
