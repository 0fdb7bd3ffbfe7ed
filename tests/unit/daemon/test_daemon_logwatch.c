/* test_daemon_logwatch.c - the log scanner and the health checker inside moat run
 * (src/daemon/logwatch.c, healthwatch.c) with the real modules around them (inventory,
 * log reader, health reader, detections, respond, the action executor, the alert file),
 * against a fake Docker Engine on a private unix socket: a container's FATAL line becomes a
 * log-pattern alert; a containers entry with "logs": false opens no stream; a policy's own
 * CRITICAL pattern pauses; a healthcheck failing 3 times in a row (threshold 2) becomes one
 * CRITICAL health-failing alert and a pause through Docker. No Docker, no root needed. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "fake_engine.h"
#include "actions.h"
#include "alertlog.h"
#include "output.h"
#include "daemon_int.h"
#include "healthwatch.h"
#include "logwatch.h"

#define ID "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int n_logs, n_pause;

static void put(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void reply(int fd, const char *status, const char *body)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
			 "%zu\r\n\r\n%s",
			 status, strlen(body), body);

	put(fd, buf, (size_t)n);
}

static const char inspect[] =
    "{\"Id\":\"" ID "\",\"Name\":\"/agent-1\",\"Image\":\"sha256:i\",\"Config\":{\"Image\":"
    "\"busybox\",\"Tty\":false,\"Labels\":{},\"Cmd\":[\"sleep\",\"600\"],\"Healthcheck\":{"
    "\"Test\":[\"CMD-SHELL\",\"false\"]}},\"State\":{\"Status\":\"running\",\"Running\":true,"
    "\"Pid\":0,\"ExitCode\":0,\"StartedAt\":\"2024-01-01T00:00:00Z\",\"Health\":{\"Status\":"
    "\"starting\",\"FailingStreak\":3,\"Log\":[{\"ExitCode\":1,\"Output\":\"db down\"}]}},"
    "\"NetworkSettings\":{\"Networks\":{}},\"HostConfig\":{\"Dns\":[]}}";

static int answer(int fd, const char *method, const char *path)
{
	if (!strcmp(path, "/version")) {
		reply(fd, "200 OK", "{\"ApiVersion\":\"1.41\"}");
	} else if (!strcmp(path, "/v1.41/containers/json")) {
		reply(fd, "200 OK", "[{\"Id\":\"" ID "\"}]");
	} else if (!strncmp(path, "/v1.41/containers/" ID "/json", 18 + 64 + 5)) {
		reply(fd, "200 OK", inspect);
	} else if (!strncmp(path, "/v1.41/images/", 14)) {
		reply(fd, "200 OK", "{\"Config\":{\"Labels\":{}}}");
	} else if (strstr(path, "/logs?")) {
		static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Type: "
					  "application/vnd.docker.multiplexed-stream\r\n"
					  "Connection: close\r\n\r\n";
		static const char body[] = "\x01\0\0\0\0\0\0\x1c"
					   "ok\n2024 FATAL: disk on fire\n"
					   "\x02\0\0\0\0\0\0\x10"
					   "token=LEAKED123\n";

		pthread_mutex_lock(&lock);
		n_logs++;
		pthread_mutex_unlock(&lock);
		put(fd, hdr, sizeof(hdr) - 1);
		put(fd, body, sizeof(body) - 1);
		return 1;
	} else if (!strcmp(method, "POST") && strstr(path, "/pause")) {
		pthread_mutex_lock(&lock);
		n_pause++;
		pthread_mutex_unlock(&lock);
		reply(fd, "204 No Content", "");
	} else {
		reply(fd, "404 Not Found", "{\"message\":\"no\"}");
	}
	return 0;
}

static void *serve(void *arg)
{
	fake_engine_requests((int)(intptr_t)arg, answer);
	return NULL;
}

static int counter(int *c)
{
	int v;

	pthread_mutex_lock(&lock);
	v = *c;
	pthread_mutex_unlock(&lock);
	return v;
}

/* Lines of the alert file whose text holds all of a and b. */
static int count_alerts(const char *path, const char *a, const char *b)
{
	FILE *f = fopen(path, "re");
	char line[8192];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, a) && (!b || strstr(line, b));
	if (f)
		fclose(f);
	return n;
}

/* Serve the loop's inputs (findings, readings, action results) for up to ms. */
static void pump(struct daemon *d, int ms)
{
	struct pollfd p[3] = {{.fd = logwatch_fd(d), .events = POLLIN},
			      {.fd = healthwatch_fd(d), .events = POLLIN},
			      {.fd = actions_fd(d->actions), .events = POLLIN}};
	struct action_result r;

	for (int waited = 0; waited < ms; waited += 50) {
		if (poll(p, 3, 50) <= 0)
			continue;
		logwatch_on_ready(d);
		healthwatch_on_ready(d);
		while (actions_next(d->actions, &r) == 0)
			respond_action_result(d, &r);
	}
}

int main(void)
{
	struct actions_opts ao = {
	    .attempts = 1, .backoff_ms = 10, .timeout_ms = 2000, .max_concurrent = 1};
	char host[160], alerts[64];
	struct daemon *d;
	const struct container_info *c;
	static const char pol[] =
	    "{\"policies\": [{\"id\": \"agents\", \"target\": {\"names\": [\"agent-*\"]}, "
	    "\"actions\": [\"pause\"], \"logs\": {\"patterns\": [{\"name\": \"leak\", \"regex\": "
	    "\"token=[A-Z0-9]+\", \"severity\": \"CRITICAL\"}]}}]}";

	if (fake_engine_listen("lw", serve)) {
		printf("not ok - fake Docker Engine: %s\n", strerror(errno));
		return 1;
	}
	snprintf(host, sizeof(host), "unix://%s", fake_engine_path);
	setenv("DOCKER_HOST", host, 1);
	snprintf(alerts, sizeof(alerts), "/tmp/moat-test-lw-%d.jsonl", (int)getpid());
	unlink(alerts);
	d = daemon_new();
	d->cfg.health.poll_s = 0;
	d->outputs =
	    outputs_open(NULL, &(struct outputs_env){.alerts_file = alerts, .terminal_fd = -1});
	d->actions = actions_start(host, &ao);
	CHECK(d->outputs && d->actions && inventory_open(&d->inv, "") == 0 &&
		  inventory_count(&d->inv) == 1,
	      "the daemon's parts against the fake Engine", "count %d", inventory_count(&d->inv));
	inventory_set_refresh_on_miss(&d->inv, 0);
	c = inventory_find(&d->inv, ID);
	if (!c || logwatch_start(d) || healthwatch_start(d)) {
		printf("not ok - setup\n");
		return 1;
	}

	/* The built-in policy: the FATAL line alerts (WARNING: no pause). */
	logwatch_apply(d, c, 0);
	pump(d, 1500);
	CHECK(count_alerts(alerts, "\"rule\":\"log-pattern\"", "disk on fire") == 1 &&
		  count_alerts(alerts, "\"rule\":\"log-pattern\"", "LEAKED") == 0,
	      "a FATAL line: one log-pattern alert (the token is no seed pattern)", "%d",
	      count_alerts(alerts, "log-pattern", NULL));
	CHECK_EQ_INT(counter(&n_pause), 0, "a WARNING finding does not pause");

	/* Logs off for the container: no stream. */
	d->cfg.n_containers = 1;
	memset(&d->cfg.containers[0], 0, sizeof(d->cfg.containers[0]));
	snprintf(d->cfg.containers[0].match, sizeof(d->cfg.containers[0].match), "agent-*");
	d->cfg.containers[0].kill_exec = d->cfg.containers[0].suspicious_exec = -1;
	d->cfg.containers[0].pause = d->cfg.containers[0].egress = -1;
	d->cfg.containers[0].logs = 0;
	{
		int before = counter(&n_logs);

		logwatch_apply_all(d);
		pump(d, 600);
		CHECK_EQ_INT(counter(&n_logs), before,
			     "\"logs\": false for the container: no stream");
	}
	d->cfg.n_containers = 0;

	/* A policy with its own CRITICAL pattern: the token line pauses the container. */
	CHECK_EQ_INT(policy_load_buf(d->policies, "pol.json", pol, sizeof(pol) - 1), 0,
		     "the policy loads");
	logwatch_apply_all(d);
	pump(d, 2000);
	CHECK(count_alerts(alerts, "\"rule\":\"log-pattern\"", "LEAKED") == 1 &&
		  count_alerts(alerts, "\"severity\":\"CRITICAL\"", "\"pattern\":\"leak\"") == 1,
	      "the policy's CRITICAL pattern alerts", "%d",
	      count_alerts(alerts, "log-pattern", "LEAKED"));
	CHECK(counter(&n_pause) == 1 && count_alerts(alerts, "\"rule\":\"action\"", "paused") == 1,
	      "and its policy pauses the container through Docker", "pauses %d", counter(&n_pause));

	/* Health: FailingStreak 3 with the threshold 2: one CRITICAL, no second pause. */
	paused_mark(&d->paused, ID, 0);
	healthwatch_apply(d, c);
	pump(d, 1500);
	CHECK(count_alerts(alerts, "\"rule\":\"health-failing\"", "\"failing_streak\":3") == 1 &&
		  count_alerts(alerts, "\"rule\":\"health-failing\"", "db down") == 1,
	      "a healthcheck failing 3 times in a row: CRITICAL health-failing with its output",
	      "%d", count_alerts(alerts, "health-failing", NULL));
	CHECK_EQ_INT(counter(&n_pause), 2, "the health-failing alert pauses too");
	healthwatch_apply(d, c);
	pump(d, 800);
	CHECK_EQ_INT(count_alerts(alerts, "\"rule\":\"health-failing\"", NULL), 1,
		     "the same failing spell read again: no second alert");

	logwatch_stop(d);
	healthwatch_stop(d);
	daemon_free(d);
	unlink(alerts);
	unlink(fake_engine_path);
	return TEST_EXIT();
}
