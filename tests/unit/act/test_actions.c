/* test_actions.c - the isolation executor (src/act/actions.c) against a fake Docker Engine on a
 * private unix socket: actions run concurrently up to max_concurrent, actions on one
 * container keep their order, and a Docker call that hangs times out after timeout_ms and
 * is retried. No Docker, no root needed.
 */
#define _GNU_SOURCE /* strcasestr */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "fake_engine.h"
#include "actions.h"

#define MAX_LOG 64

/* What the fake daemon saw: one entry per container request, in start order. */
struct seen {
	char what[96]; /* "pause c1" */
	int64_t start_ms, end_ms;
};

static struct seen seen[MAX_LOG];
static int n_seen;
static atomic_int in_flight, max_in_flight;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void reply(int fd, const char *status, const char *body)
{
	char buf[512];
	int n = snprintf(
	    buf, sizeof(buf),
	    "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    status, strlen(body), body);

	if (write(fd, buf, (size_t)n) != n)
		return;
}

/* One request. Container ids say how the call behaves:
 * "slow*" answers after 300 ms, "hang*" after 1500 ms, others at once. */
static int answer(int fd, const char *method, const char *path)
{
	(void)method;
	if (!strcmp(path, "/version")) {
		reply(fd, "200 OK", "{\"ApiVersion\":\"1.41\"}");
	} else {
		char id[64] = "", verb[16] = "";
		int slot, cur;

		sscanf(path, "/v1.41/containers/%63[^/]/%15[a-z]", id, verb);
		pthread_mutex_lock(&seen_lock);
		slot = n_seen < MAX_LOG ? n_seen++ : MAX_LOG - 1;
		snprintf(seen[slot].what, sizeof(seen[slot].what), "%s %s", verb, id);
		seen[slot].start_ms = now_ms();
		pthread_mutex_unlock(&seen_lock);
		cur = atomic_fetch_add(&in_flight, 1) + 1;
		for (int m = atomic_load(&max_in_flight); cur > m;)
			if (atomic_compare_exchange_weak(&max_in_flight, &m, cur))
				break;
		sleep_ms(!strncmp(id, "slow", 4) ? 300 : !strncmp(id, "hang", 4) ? 1500 : 0);
		atomic_fetch_sub(&in_flight, 1);
		seen[slot].end_ms = now_ms();
		reply(fd, "204 No Content", "");
	}
	return 0;
}

static void *serve(void *arg)
{
	fake_engine_requests((int)(intptr_t)arg, answer);
	return NULL;
}

static void reset_seen(void)
{
	pthread_mutex_lock(&seen_lock);
	n_seen = 0;
	memset(seen, 0, sizeof(seen));
	pthread_mutex_unlock(&seen_lock);
	atomic_store(&max_in_flight, 0);
}

static const struct seen *find(const char *what)
{
	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i].what, what))
			return &seen[i];
	return NULL;
}

/* Wait (up to 10 s) for n results; they land in out[]. Returns how many came. */
static int collect(struct actions *a, struct action_result *out, int n)
{
	int got = 0;
	int64_t until = now_ms() + 10000;

	while (got < n && now_ms() < until) {
		struct pollfd p = {.fd = actions_fd(a), .events = POLLIN};

		if (poll(&p, 1, 100) > 0)
			while (got < n && actions_next(a, &out[got]) == 0)
				got++;
	}
	return got;
}

static void submit(struct actions *a, int kind, const char *id)
{
	struct action_req r = {.kind = kind};

	snprintf(r.container, sizeof(r.container), "%s", id);
	snprintf(r.name, sizeof(r.name), "%s", id);
	actions_submit(a, &r);
}

static void test_concurrency(int max_concurrent)
{
	struct actions_opts o = {
	    .attempts = 1, .backoff_ms = 10, .timeout_ms = 5000, .max_concurrent = max_concurrent};
	char host[160], name[128];
	struct action_result res[4];
	struct actions *a;
	int ok = 0;

	snprintf(host, sizeof(host), "unix://%s", fake_engine_path);
	reset_seen();
	a = actions_start(host, &o);
	CHECK(a != NULL, "the executor starts", "%s", strerror(errno));
	if (!a)
		return;
	for (int i = 1; i <= 4; i++) {
		char id[16];

		snprintf(id, sizeof(id), "slow%d", i);
		submit(a, ACTION_PAUSE, id);
	}
	snprintf(name, sizeof(name), "max_concurrent %d: 4 pauses of different containers done",
		 max_concurrent);
	CHECK_EQ_INT(collect(a, res, 4), 4, name);
	for (int i = 0; i < 4; i++)
		ok += res[i].ok;
	snprintf(name, sizeof(name), "max_concurrent %d: all 4 succeeded", max_concurrent);
	CHECK_EQ_INT(ok, 4, name);
	snprintf(name, sizeof(name), "max_concurrent %d: at most %d Docker call(s) at once%s",
		 max_concurrent, max_concurrent, max_concurrent > 1 ? ", and they overlap" : "");
	CHECK(max_concurrent == 1 ? atomic_load(&max_in_flight) == 1
				  : atomic_load(&max_in_flight) >= 2 &&
					atomic_load(&max_in_flight) <= max_concurrent,
	      name, "%d at once", atomic_load(&max_in_flight));
	actions_stop(a);
}

static void test_order(void)
{
	struct actions_opts o = {
	    .attempts = 1, .backoff_ms = 10, .timeout_ms = 5000, .max_concurrent = 4};
	struct action_result res[3];
	const struct seen *p, *u;
	char host[160];
	struct actions *a;

	snprintf(host, sizeof(host), "unix://%s", fake_engine_path);
	reset_seen();
	a = actions_start(host, &o);
	if (!a)
		return;
	submit(a, ACTION_PAUSE, "slowX");
	submit(a, ACTION_UNPAUSE, "slowX");
	submit(a, ACTION_PAUSE, "fast1");
	CHECK_EQ_INT(collect(a, res, 3), 3, "order: three actions done");
	p = find("pause slowX");
	u = find("unpause slowX");
	CHECK(p && u && u->start_ms >= p->end_ms,
	      "order: the unpause of a container starts only after its pause has ended",
	      "pause %lld-%lld, unpause from %lld", p ? (long long)p->start_ms : -1LL,
	      p ? (long long)p->end_ms : -1LL, u ? (long long)u->start_ms : -1LL);
	CHECK(find("pause fast1") && p && find("pause fast1")->start_ms < p->end_ms,
	      "order: another container's action does not wait behind it", "it waited");
	actions_stop(a);
}

static void test_timeout(void)
{
	struct actions_opts o = {
	    .attempts = 2, .backoff_ms = 10, .timeout_ms = 200, .max_concurrent = 1};
	struct action_result res;
	char host[160];
	struct actions *a;

	snprintf(host, sizeof(host), "unix://%s", fake_engine_path);
	reset_seen();
	a = actions_start(host, &o);
	if (!a)
		return;
	submit(a, ACTION_PAUSE, "hang1");
	CHECK_EQ_INT(collect(a, &res, 1), 1, "timeout: a result comes back");
	CHECK(!res.ok && res.attempts == 2 && strcasestr(res.error, "timeout"),
	      "timeout: a hanging Docker call fails after timeout_ms, retried attempts times",
	      "ok %d attempts %d error \"%s\"", res.ok, res.attempts, res.error);
	actions_stop(a);
}

int main(void)
{
	if (fake_engine_listen("docker", serve)) {
		CHECK(0, "fake Docker on a unix socket", "%s", strerror(errno));
		return TEST_EXIT();
	}
	test_concurrency(1);
	test_concurrency(4);
	test_order();
	test_timeout();
	unlink(fake_engine_path);
	return TEST_EXIT();
}
