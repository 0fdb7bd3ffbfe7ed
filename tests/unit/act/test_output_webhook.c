/* test_output_webhook.c - the webhook output (src/act/webhook.c) against a real HTTP server
 * the test starts on 127.0.0.1 (tests/helpers/webhook_receiver.py, Python's http.server):
 * delivery with the token, 5xx then success (retried, delivered once), a refused alert
 * skipped, the receiver down then up (queued alerts delivered once, in order), the queue
 * surviving a restart of the outputs, a full queue, and a slow receiver that does not
 * hold up the emitting thread. */
#include <fcntl.h>

#include "test.h"
#include "output_test.h"

#define MAX_REC 512

/* What the receiver logged: status and trace id of each request, in order. */
struct rec {
	int n;
	int status[MAX_REC];
	char trace[MAX_REC][40];
	char auth[MAX_REC][128];
	int bad_body; /* bodies that are not an alert's JSON */
};

static void read_log(const char *dir, struct rec *r)
{
	char path[PATH_MAX + 8];
	char *s, *line, *save = NULL;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/log", dir);
	s = ot_read(path);
	for (line = s ? strtok_r(s, "\n", &save) : NULL; line && r->n < MAX_REC;
	     line = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(line), *v, *body = NULL, *t;

		if (!o)
			continue;
		json_object_object_get_ex(o, "status", &v);
		r->status[r->n] = json_object_get_int(v);
		json_object_object_get_ex(o, "auth", &v);
		snprintf(r->auth[r->n], sizeof(r->auth[0]), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(o, "body", &v))
			body = json_tokener_parse(json_object_get_string(v));
		if (body && json_object_object_get_ex(body, "trace_id", &t))
			snprintf(r->trace[r->n], sizeof(r->trace[0]), "%s",
				 json_object_get_string(t));
		else
			r->bad_body++;
		json_object_put(body);
		json_object_put(o);
		r->n++;
	}
	free(s);
}

/* Did the 2xx deliveries carry exactly the alerts of want[0..n) in that order, once each? */
static int delivered_in_order(const struct rec *r, char want[][33], int n)
{
	int k = 0;

	for (int i = 0; i < r->n; i++) {
		if (r->status[i] < 200 || r->status[i] >= 300)
			continue;
		if (k >= n || strcmp(r->trace[i], want[k]))
			return 0;
		k++;
	}
	return k == n;
}

static struct outputs *open_webhook(const char *state, int port, uint32_t queue_max,
				    const char *token)
{
	struct outputs_conf *c = calloc(1, sizeof(*c));
	struct outputs *s;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	config_outputs_add(c, OUTPUT_WEBHOOK, url, token);
	c->o[0].backoff_ms = 20;
	c->o[0].max_backoff_ms = 100;
	c->o[0].timeout_ms = 2000;
	c->o[0].queue_max = queue_max;
	c->o[0].container_rate_per_minute = 0; /* these tests send many alerts of one container */
	s = outputs_open(c, &(struct outputs_env){.terminal_fd = -1, .state_dir = state});
	free(c);
	return s;
}

static void emit_n(struct outputs *s, int n, char ids[][33], int sev)
{
	for (int i = 0; i < n; i++) {
		struct alert a;

		ot_alert(&a, sev, "suspicious-exec", "Suspicious process detected: /bin/sh");
		snprintf(ids[i], 33, "%s", a.trace_id);
		outputs_emit(s, &a);
	}
}

static void test_delivery(const char *dir)
{
	char ids[5][33];
	struct rec *r = malloc(sizeof(*r));
	int port, ok_auth = 1;
	pid_t rp = ot_receiver_start(dir, 0, &port);
	struct outputs *s;

	CHECK(rp > 0, "the receiver starts", "python3 http.server did not come up in %s", dir);
	if (rp <= 0) {
		free(r);
		return;
	}
	s = open_webhook(dir, port, 100, "s3cret-token");
	emit_n(s, 5, ids, ALERT_WARNING);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "five alerts delivered (queue empty)");
	read_log(dir, r);
	CHECK(r->n == 5 && delivered_in_order(r, ids, 5) && !r->bad_body,
	      "each alert reaches the receiver once, in order, as its JSON", "%d requests", r->n);
	for (int i = 0; i < r->n; i++)
		ok_auth &= !strcmp(r->auth[i], "Bearer s3cret-token");
	CHECK(ok_auth, "the token goes as Authorization: Bearer", "auth %s", r->auth[0]);
	CHECK_EQ_INT(ot_counter(s, "webhook", "sent"), 5, "status: sent 5");
	{
		json_object *st = outputs_status(s);

		CHECK(!strstr(json_object_to_json_string(st), "s3cret-token") &&
			  !strstr(json_object_to_json_string(st), "127.0.0.1"),
		      "the status shows neither the token nor the URL", "%s",
		      json_object_to_json_string(st));
		json_object_put(st);
	}
	CHECK_EQ_INT(ot_counter(s, "webhook", "queued"), 0, "status: nothing queued");
	outputs_close(s);
	ot_receiver_stop(rp);
	free(r);
}

static void test_retry_5xx(const char *dir)
{
	char ids[2][33], ctl[PATH_MAX + 16], logp[PATH_MAX + 8];
	struct rec *r = malloc(sizeof(*r));
	int port;
	pid_t rp;
	struct outputs *s;

	snprintf(ctl, sizeof(ctl), "%s/control", dir);
	snprintf(logp, sizeof(logp), "%s/log", dir);
	unlink(logp);
	ot_write(ctl, "503\n500\n200\n");
	rp = ot_receiver_start(dir, 0, &port);
	s = open_webhook(dir, port, 100, NULL);
	emit_n(s, 1, ids, ALERT_CRITICAL);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "5xx, 5xx, then 200: delivered");
	read_log(dir, r);
	CHECK(r->n == 3 && r->status[0] == 503 && r->status[1] == 500 && r->status[2] == 200 &&
		  delivered_in_order(r, ids, 1),
	      "retried after each 5xx and taken once", "%d requests", r->n);
	CHECK_EQ_INT(ot_counter(s, "webhook", "retries"), 2, "status: 2 retries");
	CHECK(!strcmp(r->auth[0], ""), "no token configured: no Authorization", "%s", r->auth[0]);
	/* A 4xx (other than 408/429) is final: skipped, not retried, the next one goes. */
	unlink(logp);
	ot_write(ctl, "400\n200\n");
	emit_n(s, 2, ids, ALERT_CRITICAL);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "a refused alert does not block the queue");
	read_log(dir, r);
	CHECK(r->n == 2 && r->status[0] == 400 && r->status[1] == 200 &&
		  !strcmp(r->trace[1], ids[1]),
	      "HTTP 400: skipped once, the next alert delivered", "%d requests", r->n);
	CHECK_EQ_INT(ot_counter(s, "webhook", "rejected"), 1, "status: rejected 1");
	outputs_close(s);
	ot_receiver_stop(rp);
	unlink(ctl);
	free(r);
}

/* A port nothing listens on: start a receiver, note its port, stop it. */
static int dead_port(const char *dir)
{
	int port = 0;
	pid_t rp = ot_receiver_start(dir, 0, &port);

	ot_receiver_stop(rp);
	return port;
}

static void test_down_then_up(const char *dir)
{
	char ids[6][33], logp[PATH_MAX + 8], spool[PATH_MAX + 32];
	struct rec *r = malloc(sizeof(*r));
	int port = dead_port(dir), got = 0;
	pid_t rp;
	struct outputs *s;

	snprintf(logp, sizeof(logp), "%s/log", dir);
	snprintf(spool, sizeof(spool), "%s/outputs/webhook.spool", dir);
	unlink(logp);
	s = open_webhook(dir, port, 100, NULL);
	emit_n(s, 3, ids, ALERT_WARNING);
	CHECK(ot_wait_counter(s, "webhook", "retries", 2, 5000) >= 2,
	      "receiver down: the webhook retries", "retries %lld",
	      (long long)ot_counter(s, "webhook", "retries"));
	CHECK_EQ_INT(ot_count_lines(spool), 3, "the three alerts wait in the on-disk queue");
	CHECK_EQ_INT(ot_counter(s, "webhook", "queued"), 3, "status: queued 3");
	rp = ot_receiver_start(dir, port, &got);
	CHECK(rp > 0 && got == port, "the receiver comes up on the same port", "port %d", got);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "then everything queued is delivered");
	read_log(dir, r);
	CHECK(r->n == 3 && delivered_in_order(r, ids, 3),
	      "receiver down then up: each alert once, in order", "%d requests", r->n);
	CHECK_EQ_INT(ot_count_lines(spool), 0, "the on-disk queue is empty again");
	outputs_close(s);
	ot_receiver_stop(rp);

	/* Across a restart: alerts queued while the receiver is down survive outputs_close and
	 * go first after the next outputs_open. */
	unlink(logp);
	port = dead_port(dir);
	s = open_webhook(dir, port, 100, NULL);
	emit_n(s, 4, ids, ALERT_WARNING);
	ot_wait_counter(s, "webhook", "retries", 1, 5000);
	outputs_close(s);
	CHECK_EQ_INT(ot_count_lines(spool), 4, "stopped with the receiver down: 4 kept on disk");
	rp = ot_receiver_start(dir, port, &got);
	s = open_webhook(dir, port, 100, NULL);
	CHECK_EQ_INT(ot_counter(s, "webhook", "queued"), 4, "restarted: 4 queued from before");
	emit_n(s, 2, ids + 4, ALERT_WARNING);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "restarted: all delivered");
	read_log(dir, r);
	CHECK(r->n == 6 && delivered_in_order(r, ids, 6),
	      "across a restart: the old alerts first, then the new, each once", "%d requests",
	      r->n);
	outputs_close(s);
	ot_receiver_stop(rp);
	free(r);
}

static void test_full_queue(const char *dir)
{
	char ids[8][33], logp[PATH_MAX + 8];
	struct rec *r = malloc(sizeof(*r));
	int port = dead_port(dir), got;
	pid_t rp;
	struct outputs *s;

	snprintf(logp, sizeof(logp), "%s/log", dir);
	unlink(logp);
	s = open_webhook(dir, port, 5, NULL);
	emit_n(s, 8, ids, ALERT_WARNING);
	CHECK(ot_wait_counter(s, "webhook", "dropped", 3, 5000) == 3,
	      "a full queue (queue_max 5) drops the newer alerts and counts them", "dropped %lld",
	      (long long)ot_counter(s, "webhook", "dropped"));
	rp = ot_receiver_start(dir, port, &got);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "the five kept are delivered");
	read_log(dir, r);
	CHECK(r->n == 5 && delivered_in_order(r, ids, 5), "the first five, in order, once",
	      "%d requests", r->n);
	outputs_close(s);
	ot_receiver_stop(rp);
	free(r);
}

/* HTTPS with the receiver's own CA in ca_file: delivered; without it: refused by the
 * certificate check (verification is never turned off). */
static void test_https(const char *dir)
{
	char cert[128], key[128], logp[PATH_MAX + 8], url[64], ids[1][33];
	struct outputs_conf *c = calloc(1, sizeof(*c));
	struct rec *r = malloc(sizeof(*r));
	struct outputs *s;
	json_object *st, *v;
	int port = 0, st_ok;
	pid_t gen, rp;

	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(logp, sizeof(logp), "%s/log", dir);
	unlink(logp);
	gen = fork();
	if (gen == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execl("/usr/bin/openssl", "openssl", "req", "-x509", "-newkey", "rsa:2048",
		      "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj",
		      "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", (char *)NULL);
		_exit(127);
	}
	waitpid(gen, &st_ok, 0);
	CHECK(WIFEXITED(st_ok) && !WEXITSTATUS(st_ok), "a self-signed certificate (openssl)",
	      "status %d", st_ok);
	rp = ot_receiver_start_tls(dir, 0, &port, cert, key);
	CHECK(rp > 0, "the receiver speaks HTTPS", "no port");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/hook", port);
	config_outputs_add(c, OUTPUT_WEBHOOK, url, NULL);
	c->o[0].backoff_ms = 20;
	c->o[0].max_backoff_ms = 100;
	snprintf(c->o[0].ca_file, sizeof(c->o[0].ca_file), "%s", cert);
	s = outputs_open(c, &(struct outputs_env){.terminal_fd = -1, .state_dir = dir});
	emit_n(s, 1, ids, ALERT_CRITICAL);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "https with ca_file: delivered");
	read_log(dir, r);
	CHECK(r->n == 1 && delivered_in_order(r, ids, 1), "the alert arrived over TLS once",
	      "%d requests", r->n);
	outputs_close(s);
	c->o[0].ca_file[0] = 0;
	snprintf(c->o[0].name, sizeof(c->o[0].name), "untrusted");
	s = outputs_open(c, &(struct outputs_env){.terminal_fd = -1, .state_dir = dir});
	emit_n(s, 1, ids, ALERT_CRITICAL);
	ot_wait_counter(s, "untrusted", "retries", 1, 5000);
	st = ot_status(s, "untrusted");
	CHECK(st && json_object_object_get_ex(st, "state", &v) &&
		  strstr(json_object_get_string(v), "unreachable") &&
		  ot_counter(s, "untrusted", "sent") == 0,
	      "without the CA the certificate is refused: not sent, retried", "%s",
	      st ? json_object_to_json_string(st) : "");
	json_object_put(st);
	outputs_close(s);
	ot_receiver_stop(rp);
	free(r);
	free(c);
}

static void on_alarm(int sig)
{
	static const char msg[] = "not ok - emitting blocked on a slow receiver (watchdog)\n";

	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(1);
}

static void test_slow_receiver(const char *dir)
{
	static char ids[200][33];
	char ctl[PATH_MAX + 16], logp[PATH_MAX + 8];
	struct rec *r = malloc(sizeof(*r));
	int port;
	pid_t rp;
	struct outputs *s;
	int64_t worst = 0;

	snprintf(ctl, sizeof(ctl), "%s/control", dir);
	snprintf(logp, sizeof(logp), "%s/log", dir);
	unlink(logp);
	ot_write(ctl, "hold\n");
	rp = ot_receiver_start(dir, 0, &port);
	s = open_webhook(dir, port, 1000, NULL);
	signal(SIGALRM, on_alarm);
	alarm(20);
	for (int i = 0; i < 200; i++) {
		struct alert a;
		int64_t t0 = clock_mono_ns();

		ot_alert(&a, ALERT_INFO, "container-lifecycle", "Container web started");
		snprintf(ids[i], 33, "%s", a.trace_id);
		outputs_emit(s, &a);
		if (clock_mono_ns() - t0 > worst)
			worst = clock_mono_ns() - t0;
	}
	alarm(0);
	read_log(dir, r);
	CHECK(r->n == 0 && ot_counter(s, "webhook", "sent") == 0,
	      "a receiver holding its first request: all 200 emits returned meanwhile",
	      "%d answered", r->n);
	printf("# slowest emit while the receiver held: %.3f ms\n", (double)worst / 1e6);
	ot_write(ctl, "200\n");
	CHECK_EQ_INT(outputs_flush(s, 30000), 0, "released: the backlog drains");
	read_log(dir, r);
	CHECK(r->n == 200 && delivered_in_order(r, ids, 200),
	      "after the slow receiver: 200 alerts, in order, once each", "%d requests", r->n);
	outputs_close(s);
	ot_receiver_stop(rp);
	unlink(ctl);
	free(r);
}

int main(void)
{
	char dir[64];

	ot_tmpdir(dir, sizeof(dir), "webhook");
	if (access("/usr/bin/python3", X_OK)) {
		CHECK(0, "python3 is installed (the webhook receiver)", "no /usr/bin/python3");
		return TEST_EXIT();
	}
	test_delivery(dir);
	test_retry_5xx(dir);
	test_down_then_up(dir);
	test_full_queue(dir);
	test_slow_receiver(dir);
	test_https(dir);
	return TEST_EXIT();
}
