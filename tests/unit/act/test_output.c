/* test_output.c - the dispatcher (src/act/output.c): the terminal (on its own thread) and
 * the alert file as outputs (the same lines as alertlog), each output's minimum severity
 * and rate limit
 * (what it drops is counted), a disabled output, the status of each, and a full queue
 * (dropped and counted; every alert accounted for as sent, failed or dropped). */
#include <fcntl.h>
#include <signal.h>

#include "test.h"
#include "output_test.h"
#include "alertlog.h"

static char dir[64];

static struct outputs *open_conf(const char *json, const char *file, int term_fd)
{
	struct outputs_conf *c = calloc(1, sizeof(*c));
	json_object *v = json ? json_tokener_parse(json) : NULL;
	struct outputs *s;

	if (json)
		CHECK(v && config_outputs_parse("test", json, v, c) == 0, "the outputs parse", "%s",
		      json);
	s = outputs_open(c, &(struct outputs_env){.alerts_file = file,
						  .terminal_fd = term_fd,
						  .color_mode = ALERTLOG_COLOR_NEVER,
						  .state_dir = dir});
	json_object_put(v);
	free(c);
	return s;
}

static void test_sinks(void)
{
	char file[128], line[600], buf[2048];
	int p[2];
	struct outputs *s;
	struct alert a;
	ssize_t n;
	char *t;

	snprintf(file, sizeof(file), "%s/alerts.jsonl", dir);
	CHECK(pipe(p) == 0, "a pipe for the terminal", "%s", strerror(errno));
	s = open_conf(NULL, file, p[1]);
	ot_alert(&a, ALERT_WARNING, "direct-connection", "Direct connection to 203.0.113.5:443");
	CHECK_EQ_INT(outputs_emit(s, &a), 0, "emit: 0");
	CHECK_EQ_INT(outputs_flush(s, 5000), 0, "the terminal's thread wrote it");
	alertlog_format_line(&a, 0, line, sizeof(line));
	n = read(p[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECK(n > 0 && !strncmp(buf, line, strlen(line)) && buf[strlen(line)] == '\n',
	      "the terminal output writes alertlog's line", "got %s", buf);
	t = ot_read(file);
	{
		json_object *j = t ? json_tokener_parse(t) : NULL, *v;

		CHECK(j && json_object_object_get_ex(j, "trace_id", &v) &&
			  !strcmp(json_object_get_string(v), a.trace_id) &&
			  ot_count_lines(file) == 1,
		      "the file output writes the alert's JSON line", "%s", t ? t : "(none)");
		json_object_put(j);
	}
	free(t);
	CHECK_EQ_INT(ot_counter(s, "file", "sent"), 1, "status: file sent 1");
	CHECK_EQ_INT(ot_counter(s, "terminal", "sent"), 1, "status: terminal sent 1");
	outputs_close(s);
	unlink(file);

	/* Tuned: the file from WARNING, the terminal off. */
	s = open_conf("[{\"type\": \"file\", \"min_severity\": \"WARNING\"},"
		      " {\"type\": \"terminal\", \"enabled\": false}]",
		      file, p[1]);
	ot_alert(&a, ALERT_INFO, "container-lifecycle", "Container web started");
	outputs_emit(s, &a);
	ot_alert(&a, ALERT_CRITICAL, "suspicious-exec", "Suspicious process detected: /bin/sh");
	outputs_emit(s, &a);
	CHECK_EQ_INT(ot_count_lines(file), 1, "min_severity WARNING: the INFO alert is not filed");
	CHECK_EQ_INT(ot_counter(s, "terminal", "sent"), -1, "a disabled terminal is no output");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHECK(read(p[0], buf, sizeof(buf)) < 0, "and writes nothing", "it wrote");
	outputs_close(s);
	close(p[0]);
	close(p[1]);
	unlink(file);
}

static void on_alarm(int sig)
{
	static const char msg[] = "not ok - emitting blocked on a full terminal pipe (watchdog)\n";

	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(1);
}

/* A terminal nobody reads (a full pipe: journald stuck, a paused pager) stalls only the
 * terminal's thread. */
static void test_blocked_terminal(void)
{
	char junk[4096] = {0}, buf[65536];
	int p[2], fl;
	struct outputs *s;

	CHECK(pipe(p) == 0, "a pipe for the terminal", "%s", strerror(errno));
	fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	fcntl(p[1], F_SETFL, fl); /* full, and blocking again: a write would wait */
	s = open_conf(NULL, NULL, p[1]);
	signal(SIGALRM, on_alarm);
	alarm(10);
	for (int i = 0; i < 20; i++) {
		struct alert a;

		ot_alert(&a, ALERT_CRITICAL, "suspicious-exec", "while the terminal is stuck");
		outputs_emit(s, &a);
	}
	alarm(0);
	CHECK_EQ_INT(ot_counter(s, "terminal", "sent"), 0,
		     "20 emits returned while the terminal's pipe was full");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 500 && ot_counter(s, "terminal", "sent") < 20; i++) {
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		ot_sleep_ms(10);
	}
	CHECK_EQ_INT(ot_counter(s, "terminal", "sent"), 20, "read again: all 20 lines written");
	outputs_close(s);
	close(p[0]);
	close(p[1]);
}

static void test_rate_limit(void)
{
	char file[128];
	struct outputs *s;

	snprintf(file, sizeof(file), "%s/rate.jsonl", dir);
	s = open_conf("[{\"type\": \"file\", \"rate_per_minute\": 60, \"burst\": 3}]", file, -1);
	for (int i = 0; i < 10; i++) {
		struct alert a;

		ot_alert(&a, ALERT_WARNING, "direct-connection", "flood");
		outputs_emit(s, &a);
	}
	CHECK_EQ_INT(ot_count_lines(file), 3, "rate 60/min, burst 3: ten at once, three filed");
	CHECK_EQ_INT(ot_counter(s, "file", "rate_limited"), 7, "status: rate_limited 7");
	ot_sleep_ms(1100); /* one token back at 1 a second */
	{
		struct alert a;

		ot_alert(&a, ALERT_WARNING, "direct-connection", "later");
		outputs_emit(s, &a);
	}
	CHECK_EQ_INT(ot_count_lines(file), 4, "a second later the bucket has one more");
	outputs_close(s);
	unlink(file);
}

static void test_full_queue(void)
{
	char prog[PATH_MAX], json[PATH_MAX + 200];
	struct outputs *s;
	int64_t dropped;
	const int n = 1500;

	snprintf(prog, sizeof(prog), "%s/slow", dir);
	ot_write(prog, "#!/bin/sh\nsleep 0.5\n");
	chmod(prog, 0755);
	snprintf(json, sizeof(json),
		 "[{\"type\": \"exec\", \"command\": [\"%s\"], \"max_concurrent\": 1,"
		 " \"container_rate_per_minute\": 0}]",
		 prog);
	s = open_conf(json, NULL, -1);
	for (int i = 0; i < n; i++) {
		struct alert a;

		ot_alert(&a, ALERT_INFO, "container-lifecycle", "burst");
		outputs_emit(s, &a);
	}
	dropped = ot_counter(s, "exec", "dropped");
	CHECK(dropped >= n - 1024 - 1 && dropped <= n - 1024,
	      "a burst past the queue (1024) is dropped for that output and counted",
	      "dropped %lld", (long long)dropped);
	CHECK(ot_counter(s, "exec", "queued") >= 1023, "status: the queue is full", "queued %lld",
	      (long long)ot_counter(s, "exec", "queued"));
	/* Closing gives the queue 2 s; what is left is dropped, the running child killed. */
	outputs_close(s);
}

/* One container flooding alerts cannot crowd the others out of an output (the default
 * share: 60 a minute, burst 20); the alert file still has them all. */
static void test_container_share(void)
{
	char prog[PATH_MAX], json[PATH_MAX + 200], file[128], outd[128];
	struct outputs *s;

	snprintf(outd, sizeof(outd), "%s/share", dir);
	mkdir(outd, 0755);
	snprintf(prog, sizeof(prog), "%s/share.sh", dir);
	snprintf(json, sizeof(json), "#!/bin/sh\ncat > %s/$MOAT_ALERT_TRACE_ID\n", outd);
	ot_write(prog, json);
	chmod(prog, 0755);
	snprintf(json, sizeof(json), "[{\"type\": \"exec\", \"command\": [\"%s\"]}]", prog);
	snprintf(file, sizeof(file), "%s/share.jsonl", dir);
	s = open_conf(json, file, -1);
	for (int i = 0; i < 100; i++) {
		struct alert a;

		ot_alert(&a, ALERT_WARNING, "direct-connection", "flood");
		snprintf(a.container_id, sizeof(a.container_id), "%s", "aaaa-flooder");
		outputs_emit(s, &a);
		if (i % 10 == 0) {
			ot_alert(&a, ALERT_WARNING, "direct-connection", "quiet");
			snprintf(a.container_id, sizeof(a.container_id), "%s", "bbbb-quiet");
			outputs_emit(s, &a);
		}
	}
	CHECK_EQ_INT(outputs_flush(s, 30000), 0, "the runs finish");
	CHECK_EQ_INT(ot_count_lines(file), 110, "the alert file has all 110");
	CHECK_EQ_INT(ot_counter(s, "exec", "container_limited"), 80,
		     "the flooder gets its burst of 20, the 80 others are counted");
	CHECK_EQ_INT(ot_counter(s, "exec", "sent"), 30,
		     "the quiet container's 10 all go: 20 + 10 runs");
	outputs_close(s);
}

/* Every alert is accounted for: sent + failed + dropped == emitted, once all is done. */
static void test_accounting(void)
{
	char prog[PATH_MAX], json[PATH_MAX + 200];
	struct outputs *s;
	const int n = 300;
	int64_t sent, failed, dropped;

	snprintf(prog, sizeof(prog), "%s/odd", dir);
	ot_write(prog, "#!/bin/sh\nread x; case \"$MOAT_ALERT_RULE\" in bad) exit 1;; esac\n");
	chmod(prog, 0755);
	snprintf(json, sizeof(json),
		 "[{\"type\": \"exec\", \"command\": [\"%s\"], \"max_concurrent\": 4,"
		 " \"rate_per_minute\": 1, \"burst\": 250, \"container_rate_per_minute\": 0}]",
		 prog);
	s = open_conf(json, NULL, -1);
	for (int i = 0; i < n; i++) {
		struct alert a;

		ot_alert(&a, ALERT_INFO, i % 3 ? "good" : "bad", "x");
		outputs_emit(s, &a);
	}
	CHECK_EQ_INT(outputs_flush(s, 60000), 0, "the runs finish");
	sent = ot_counter(s, "exec", "sent");
	failed = ot_counter(s, "exec", "failed");
	dropped = ot_counter(s, "exec", "dropped");
	CHECK(sent + failed + dropped + ot_counter(s, "exec", "rate_limited") == n &&
		  failed == 84 && ot_counter(s, "exec", "rate_limited") == 50,
	      "every alert accounted for: sent + failed + rate_limited == emitted",
	      "sent %lld failed %lld dropped %lld rate_limited %lld", (long long)sent,
	      (long long)failed, (long long)dropped,
	      (long long)ot_counter(s, "exec", "rate_limited"));
	outputs_close(s);
}

int main(void)
{
	ot_tmpdir(dir, sizeof(dir), "output");
	test_sinks();
	test_blocked_terminal();
	test_rate_limit();
	test_full_queue();
	test_container_share();
	test_accounting();
	return TEST_EXIT();
}
