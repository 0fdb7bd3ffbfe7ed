/* test_alert.c - the alert JSON, the terminal line, the alert file and `moat alerts` queries. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test.h"
#include "alert.h"
#include "alertlog.h"
#include "commands.h"

/* 2024-05-01T14:23:01.123456789Z */
#define T0 (1714573381LL * 1000000000 + 123456789)

static char tmpdir[] = "/tmp/moat-test-alert-XXXXXX";

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "(missing)";
	return json_object_get_string(v);
}

static void sample(struct alert *a)
{
	memset(a, 0, sizeof(*a));
	a->time_ns = T0;
	a->severity = ALERT_CRITICAL;
	snprintf(a->rule, sizeof(a->rule), "suspicious-exec");
	snprintf(a->source, sizeof(a->source), "process");
	snprintf(a->message, sizeof(a->message), "Suspicious process detected: /bin/bash");
	snprintf(a->container_id, sizeof(a->container_id), "0123456789abcdef0123");
	snprintf(a->container_name, sizeof(a->container_name), "web");
	snprintf(a->container_image, sizeof(a->container_image), "nginx:1.25");
	alert_new_trace_id(a);
	a->process = json_object_new_object();
	json_object_object_add(a->process, "pid", json_object_new_int(4242));
	json_object_object_add(a->process, "filename", json_object_new_string("/bin/bash"));
}

/* Run fn with stderr going to a file; returns what it printed (static). */
static const char *capture_stderr(void (*fn)(void *), void *arg)
{
	static char buf[65536];
	char path[64];
	int fd, saved;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static void test_severity_and_ids(void)
{
	struct alert a = {0}, b = {0};
	size_t hex = 0;

	CHECK_EQ_INT(alert_severity_parse("critical"), ALERT_CRITICAL,
		     "severity parse is case-blind");
	CHECK_EQ_INT(alert_severity_parse("WARNING"), ALERT_WARNING, "severity parse WARNING");
	CHECK_EQ_INT(alert_severity_parse("loud"), -1, "unknown severity is -1");
	CHECK_EQ_STR(alert_severity_name(ALERT_INFO), "INFO", "severity name INFO");
	alert_new_trace_id(&a);
	alert_new_trace_id(&b);
	for (int i = 0; i < 32; i++)
		hex += !!strchr("0123456789abcdef", a.trace_id[i]) && a.trace_id[i];
	CHECK(strlen(a.trace_id) == 32 && hex == 32, "trace id is 32 hex digits", "'%s'",
	      a.trace_id);
	CHECK(strcmp(a.trace_id, b.trace_id) != 0, "two trace ids differ", "both %s", a.trace_id);
}

static void test_json(void)
{
	struct alert a, back;
	json_object *o, *c, *v, *parsed;
	const char *text;
	int64_t t;

	sample(&a);
	o = alert_to_json(&a);
	CHECK(o != NULL, "alert_to_json", "NULL");
	if (!o)
		return;
	CHECK_EQ_STR(jstr(o, "time"), "2024-05-01T14:23:01.123456789Z", "json time is RFC 3339 ns");
	CHECK_EQ_STR(jstr(o, "timestamp"), "14:23:01", "json timestamp is seed HH:MM:SS");
	CHECK_EQ_STR(jstr(o, "severity"), "CRITICAL", "json severity");
	CHECK_EQ_STR(jstr(o, "rule"), "suspicious-exec", "json rule");
	CHECK_EQ_STR(jstr(o, "source"), "process", "json source");
	CHECK_EQ_STR(jstr(o, "message"), "Suspicious process detected: /bin/bash", "json message");
	CHECK_EQ_STR(jstr(o, "trace_id"), a.trace_id, "json trace_id");
	CHECK(json_object_object_get_ex(o, "container", &c) &&
		  json_object_is_type(c, json_type_object),
	      "json container is an object", "not");
	CHECK_EQ_STR(jstr(c, "id"), "0123456789abcdef0123", "json container.id");
	CHECK_EQ_STR(jstr(c, "name"), "web", "json container.name");
	CHECK_EQ_STR(jstr(c, "image"), "nginx:1.25", "json container.image");
	CHECK(json_object_object_get_ex(o, "process", &v) &&
		  json_object_get_int(json_object_object_get(v, "pid")) == 4242,
	      "json process object carried", "missing");
	CHECK(!json_object_object_get_ex(o, "network", &v) &&
		  !json_object_object_get_ex(o, "action", &v),
	      "json network/action omitted when NULL", "present");

	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	parsed = json_tokener_parse(text);
	CHECK(parsed && alert_from_json(parsed, &back) == 0, "round trip parses", "%s", text);
	CHECK(back.time_ns == a.time_ns && back.severity == a.severity &&
		  !strcmp(back.rule, a.rule) && !strcmp(back.source, a.source) &&
		  !strcmp(back.message, a.message) && !strcmp(back.trace_id, a.trace_id) &&
		  !strcmp(back.container_id, a.container_id) &&
		  !strcmp(back.container_name, a.container_name) &&
		  !strcmp(back.container_image, a.container_image) && back.process &&
		  json_object_equal(back.process, a.process) && !back.network && !back.action,
	      "round trip keeps every field", "differs: %s", text);
	alert_release(&back);
	json_object_put(parsed);
	json_object_put(o);

	memset(a.container_id, 0, sizeof(a.container_id));
	memset(a.container_name, 0, sizeof(a.container_name));
	o = alert_to_json(&a);
	CHECK(json_object_object_get_ex(o, "container", &c) && c == NULL,
	      "json container is null without a container", "%s", json_object_to_json_string(o));
	json_object_put(o);
	alert_release(&a);
	CHECK(a.process == NULL, "alert_release clears the objects", "not cleared");

	CHECK(alert_parse_time("2024-05-01T16:23:01.123456789+02:00", &t) == 0 && t == T0,
	      "RFC 3339 with offset", "t=%lld", (long long)t);
	CHECK(alert_parse_time("2024-05-01T14:23:01Z", &t) == 0 && t == 1714573381LL * 1000000000,
	      "RFC 3339 without fraction", "t=%lld", (long long)t);
	CHECK(alert_parse_time("9999-12-31T23:59:59Z", &t) == -ERANGE &&
		  alert_parse_time("1500-01-01T00:00:00Z", &t) == -ERANGE,
	      "a time int64 nanoseconds cannot hold is refused (no overflow)", "accepted");
	CHECK(alert_parse_time("2262-04-11T00:00:00Z", &t) == 0 && t > 0,
	      "the last whole day int64 nanoseconds hold is a time", "refused");
	CHECK(alert_parse_time("2024-05-01 14:23", &t) == -EINVAL, "truncated time rejected",
	      "accepted");
	parsed =
	    json_tokener_parse("{\"severity\":\"WARNING\",\"source\":\"stats\","
			       "\"message\":\"CPU at 92.3% for 30s\",\"timestamp\":\"14:23:15\"}");
	CHECK(alert_from_json(parsed, &back) == 0 && back.severity == ALERT_WARNING,
	      "a crabpot alert line is accepted", "rejected");
	alert_release(&back);
	json_object_put(parsed);
}

static void test_terminal_format(void)
{
	struct alert a;
	char buf[1024];

	sample(&a);
	alertlog_format_line(&a, 0, buf, sizeof(buf));
	CHECK_EQ_STR(buf,
		     "[CRITICAL] 14:23:01 process: Suspicious process detected: /bin/bash "
		     "(container web)",
		     "terminal line in the seed's shape");
	alertlog_format_line(&a, 1, buf, sizeof(buf));
	CHECK_EQ_STR(buf,
		     "\033[1;31m[CRITICAL]\033[0m 14:23:01 process: Suspicious process detected: "
		     "/bin/bash (container web)",
		     "coloured terminal line");
	a.severity = ALERT_WARNING;
	a.container_name[0] = 0;
	snprintf(a.message, sizeof(a.message), "evil\033[2Jname\x7f");
	alertlog_format_line(&a, 0, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "[WARNING]  14:23:01 process: evil?[2Jname? (container 0123456789ab)",
		     "WARNING padding, escape codes neutralised, short id without a name");
	a.severity = ALERT_INFO;
	a.container_id[0] = 0;
	snprintf(a.source, sizeof(a.source), "events");
	snprintf(a.message, sizeof(a.message), "Container started");
	alertlog_format_line(&a, 0, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "[INFO]     14:23:01 events: Container started", "INFO padding");
	CHECK(alertlog_format_line(&a, 0, buf, 10) == (int)strlen("[INFO]     14:23:01 events: "
								  "Container started") &&
		  strlen(buf) == 9,
	      "format truncates and reports the needed length", "'%s'", buf);
	alert_release(&a);
}

/* Terminal sink through a pipe: no colour in auto mode (not a tty),
 * colour with always. Returns what was written to the pipe. */
static void sink_line(int mode, const char *path, char *out, size_t len)
{
	struct alertlog *l;
	struct alert a;
	int p[2];
	ssize_t n;

	if (pipe(p))
		return;
	sample(&a);
	l = alertlog_open(path, p[1], mode);
	alertlog_write(l, &a);
	alertlog_close(l);
	close(p[1]);
	n = read(p[0], out, len - 1);
	out[n > 0 ? n : 0] = 0;
	close(p[0]);
	alert_release(&a);
}

static void test_sinks(void)
{
	char path[256], line[1024], *got = NULL;
	struct stat st;
	size_t cap = 0;
	FILE *f;

	umask(022);
	snprintf(path, sizeof(path), "%s/log/moat/alerts.jsonl", tmpdir);
	sink_line(ALERTLOG_COLOR_AUTO, path, line, sizeof(line));
	CHECK_EQ_STR(line,
		     "[CRITICAL] 14:23:01 process: Suspicious process detected: /bin/bash "
		     "(container web)\n",
		     "terminal sink: no colour when not a tty");
	sink_line(ALERTLOG_COLOR_ALWAYS, NULL, line, sizeof(line));
	CHECK(strncmp(line, "\033[1;31m[CRITICAL]\033[0m 14:23:01", 30) == 0,
	      "terminal sink: colour codes with always", "'%s'", line);
	snprintf(line, sizeof(line), "%s/log/moat", tmpdir);
	CHECK(stat(line, &st) == 0 && (st.st_mode & 0777) == 0750, "parent dirs created 0750",
	      "mode %o", st.st_mode & 0777);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "alert file created 0640",
	      "mode %o", st.st_mode & 0777);
	f = fopen(path, "r");
	CHECK(f && getline(&got, &cap, f) > 0 && got[strlen(got) - 1] == '\n' &&
		  getline(&got, &cap, f) < 0,
	      "one alert is one line in the file", "got '%s'", got ? got : "");
	if (f)
		fclose(f);
	free(got);
}

static void write_to_unwritable(void *arg)
{
	struct alertlog *l = alertlog_open("/proc/moat-no-such/alerts.jsonl", -1, 0);
	struct alert a;

	sample(&a);
	*(int *)arg = alertlog_write(l, &a);
	alertlog_write(l, &a);
	alertlog_close(l);
	alert_release(&a);
}

static void test_unwritable(void)
{
	int err = 0;
	const char *msg = capture_stderr(write_to_unwritable, &err);
	const char *first = strstr(msg, "/proc/moat-no-such/alerts.jsonl");

	CHECK(err < 0, "write to an unwritable file returns -errno", "err=%d", err);
	CHECK(first && !strstr(first + 1, "/proc/moat-no-such/alerts.jsonl"),
	      "an unwritable file is reported once, with its path", "stderr: %s", msg);
}

/* Run a query, return its output (malloc'd) and line count. */
static char *query(const char *path, struct alert_filter f, int *lines)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	*lines = -1;
	if (!out)
		return NULL;
	if (alertlog_query(path, &f, out) == 0)
		*lines = 0;
	fclose(out);
	for (char *p = buf; *lines >= 0 && (p = strchr(p, '\n')); p++)
		(*lines)++;
	return buf;
}

static void test_query(void)
{
	char path[256], *out;
	struct alertlog *l;
	struct alert a;
	struct timespec t1, t2;
	int n, i, ok = 1;
	int64_t since;

	snprintf(path, sizeof(path), "%s/big.jsonl", tmpdir);
	l = alertlog_open(path, -1, 0);
	for (i = 0; i < 10000; i++) {
		memset(&a, 0, sizeof(a));
		a.time_ns = T0 + (int64_t)i * 1000000000;
		a.severity = i % 10 == 0 ? ALERT_CRITICAL : i % 3 == 0 ? ALERT_WARNING : ALERT_INFO;
		snprintf(a.rule, sizeof(a.rule), "direct-connection");
		snprintf(a.source, sizeof(a.source), "network");
		snprintf(a.message, sizeof(a.message), "alert %d", i);
		snprintf(a.container_id, sizeof(a.container_id), "%s%04d", i % 2 ? "aaaa" : "bbbb",
			 i);
		snprintf(a.container_name, sizeof(a.container_name), i % 2 ? "web" : "db");
		alert_new_trace_id(&a);
		ok &= alertlog_write(l, &a) == 0;
	}
	alertlog_close(l);
	CHECK(ok, "10,000 alerts written", "a write failed");

	clock_gettime(CLOCK_MONOTONIC, &t1);
	out = query(path, (struct alert_filter){.last = 5}, &n);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	CHECK(n == 5 && strstr(out, "alert 9995") && strstr(out, "alert 9999") &&
		  strstr(out, "alert 9995") < strstr(out, "alert 9999") &&
		  !strstr(out, "alert 9994"),
	      "--last 5: the last five, oldest first", "%d lines:\n%s", n, out);
	printf("# --last 5 over 10,000 lines: %.2f ms\n",
	       (t2.tv_sec - t1.tv_sec) * 1e3 + (t2.tv_nsec - t1.tv_nsec) / 1e6);
	CHECK(out && !strncmp(out, "[INFO]     17:09:36 network: alert 9995 (container web)\n", 55),
	      "--last prints terminal lines", "%s", out);
	free(out);

	out = query(path, (struct alert_filter){.last = 5, .min_severity = ALERT_CRITICAL}, &n);
	CHECK(n == 5 && strstr(out, "alert 9950") && strstr(out, "alert 9990") &&
		  !strstr(out, "[INFO]") && !strstr(out, "[WARNING]"),
	      "--severity CRITICAL --last 5", "%d lines:\n%s", n, out);
	free(out);

	out = query(path, (struct alert_filter){.last = 20, .min_severity = ALERT_WARNING}, &n);
	CHECK(n == 20 && !strstr(out, "[INFO]") && strstr(out, "[CRITICAL]") &&
		  strstr(out, "[WARNING]"),
	      "--severity WARNING means at least WARNING", "%d lines:\n%s", n, out);
	free(out);

	out = query(path, (struct alert_filter){.last = 3, .container = "db"}, &n);
	CHECK(n == 3 && strstr(out, "alert 9994") && strstr(out, "alert 9998") &&
		  !strstr(out, "(container web)"),
	      "--container by name", "%d lines:\n%s", n, out);
	free(out);

	out = query(path, (struct alert_filter){.last = 0, .container = "aaaa00"}, &n);
	CHECK(n == 50 && !strstr(out, "(container db)"), "--container by id prefix", "%d lines", n);
	free(out);

	since = T0 + 9990LL * 1000000000;
	out = query(path, (struct alert_filter){.last = 0, .since_ns = since}, &n);
	CHECK(n == 10 && strstr(out, "alert 9990") && !strstr(out, "alert 9989"),
	      "--since an absolute time", "%d lines", n);
	free(out);

	out = query(path, (struct alert_filter){.last = 2, .json = 1}, &n);
	{
		char *nl = out ? strchr(out, '\n') : NULL;
		json_object *o;

		if (nl)
			*nl = 0;
		o = out ? json_tokener_parse(out) : NULL;
		CHECK(n == 2 && o && !strcmp(jstr(o, "message"), "alert 9998"),
		      "--json prints the file's JSON lines", "%s", out);
		json_object_put(o);
	}
	free(out);

	CHECK(alertlog_parse_since("10m", 1000LL * 1000000000, &since) == 0 &&
		  since == 400LL * 1000000000,
	      "--since 10m", "%lld", (long long)since);
	CHECK(alertlog_parse_since("2h", 0, &since) == 0 && since == -7200LL * 1000000000,
	      "--since 2h", "%lld", (long long)since);
	CHECK(alertlog_parse_since("1d", 0, &since) == 0 && since == -86400LL * 1000000000,
	      "--since 1d", "%lld", (long long)since);
	CHECK(alertlog_parse_since("2024-05-01T14:23:01Z", 0, &since) == 0 &&
		  since == 1714573381LL * 1000000000,
	      "--since RFC 3339", "%lld", (long long)since);
	CHECK(alertlog_parse_since("10 minutes", 0, &since) == -EINVAL &&
		  alertlog_parse_since("m", 0, &since) == -EINVAL,
	      "--since rejects other text", "accepted");
	out = query("/nonexistent/alerts.jsonl", (struct alert_filter){.last = 5}, &n);
	CHECK(n == -1, "query of a missing file fails", "n=%d", n);
	free(out);
}

struct malformed {
	const char *path;
	int last;
	int lines;
	char *out;
};

static void run_malformed(void *arg)
{
	struct malformed *m = arg;

	m->out = query(m->path, (struct alert_filter){.last = m->last}, &m->lines);
}

static void test_malformed(void)
{
	static const char text[] =
	    "{\"time\":\"2024-05-01T14:23:01Z\",\"severity\":\"INFO\",\"source\":\"events\","
	    "\"message\":\"first\"}\n"
	    "{\"time\":\"2024-05-01T14:23:02Z\",\"severity\":\"CRI\n"
	    "not json at all\n"
	    "\n"
	    "{\"severity\":\"WARNING\",\"source\":\"stats\",\"message\":\"CPU at 92.3% for 30s\","
	    "\"timestamp\":\"14:23:15\"}\n"
	    "{\"severity\":\"LOUD\",\"message\":\"x\"}\n"
	    "{\"time\":\"2024-05-01T14:23:04Z\",\"severity\":\"CRITICAL\",\"source\":\"process\","
	    "\"message\":\"last\"}\n";
	char path[256];
	const char *err;
	struct malformed m = {.path = path};
	int fd;

	snprintf(path, sizeof(path), "%s/torn.jsonl", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (write(fd, text, sizeof(text) - 1) != sizeof(text) - 1)
		return;
	close(fd);
	for (m.last = 0; m.last <= 20; m.last += 20) {
		char name[96];

		err = capture_stderr(run_malformed, &m);
		snprintf(name, sizeof(name), "malformed lines skipped, others returned (--last %d)",
			 m.last);
		CHECK(m.lines == 3 && strstr(m.out, "[INFO]     14:23:01 events: first\n") &&
			  strstr(m.out, "[WARNING]  14:23:15 stats: CPU at 92.3% for 30s\n") &&
			  strstr(m.out, "[CRITICAL] 14:23:04 process: last\n"),
		      name, "%d lines:\n%s", m.lines, m.out);
		snprintf(name, sizeof(name), "warnings name file:line (--last %d)", m.last);
		{
			char l2[300], l3[300], l6[300];

			snprintf(l2, sizeof(l2), "%s:2: ", path);
			snprintf(l3, sizeof(l3), "%s:3: ", path);
			snprintf(l6, sizeof(l6), "%s:6: ", path);
			CHECK(strstr(err, l2) && strstr(err, l3) && strstr(err, l6) &&
				  !strstr(err, ":4: ") && !strstr(err, ":5: "),
			      name, "stderr:\n%s", err);
		}
		free(m.out);
	}
}

/* --follow in a child writing to a file; the parent appends, rotates and
 * truncates, then stops the child. */
static void test_follow(void)
{
	char path[256], outpath[256], rotated[300], buf[8192];
	struct alertlog *l;
	struct alert a;
	pid_t pid;
	int fd, status;
	ssize_t n;
	const char *p1, *p2, *p3, *p4;

	snprintf(path, sizeof(path), "%s/follow.jsonl", tmpdir);
	snprintf(outpath, sizeof(outpath), "%s/follow.out", tmpdir);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	memset(&a, 0, sizeof(a));
	a.time_ns = T0;
	a.severity = ALERT_WARNING;
	snprintf(a.source, sizeof(a.source), "network");
	l = alertlog_open(path, -1, 0);
	snprintf(a.message, sizeof(a.message), "before");
	alertlog_write(l, &a);

	pid = fork();
	if (pid == 0) {
		FILE *out = fopen(outpath, "w");
		struct alert_filter f = {.last = 5, .follow = 1};

		_exit(out && alertlog_query(path, &f, out) == 0 ? 0 : 1);
	}
	usleep(300000);
	snprintf(a.message, sizeof(a.message), "appended");
	alertlog_write(l, &a);
	usleep(300000);
	alertlog_close(l);
	rename(path, rotated);
	l = alertlog_open(path, -1, 0);
	snprintf(a.message, sizeof(a.message), "after rotation");
	alertlog_write(l, &a);
	usleep(300000);
	if (truncate(path, 0) == 0) {
		snprintf(a.message, sizeof(a.message), "after truncation");
		alertlog_write(l, &a);
	}
	usleep(300000);
	alertlog_close(l);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);

	fd = open(outpath, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	p1 = strstr(buf, "network: before\n");
	p2 = strstr(buf, "network: appended\n");
	p3 = strstr(buf, "network: after rotation\n");
	p4 = strstr(buf, "network: after truncation\n");
	CHECK(p1 && p2 && p1 < p2, "--follow prints appended alerts", "output:\n%s", buf);
	CHECK(p3 && p2 < p3, "--follow follows a rotated file", "output:\n%s", buf);
	CHECK(p4 && p3 < p4, "--follow rereads a truncated file", "output:\n%s", buf);
}

static void run_cmd_bad_args(void *arg)
{
	int *rc = arg;
	char *a1[] = {"alerts", "--last", "ten", NULL};
	char *a2[] = {"alerts", "--severity", "loud", NULL};
	char *a3[] = {"alerts", "--since", "yesterday", NULL};
	char *a4[] = {"alerts", "--file", "/nonexistent/alerts.jsonl", NULL};
	char *a5[] = {"alerts", "extra", NULL};

	rc[0] = cmd_alerts(3, a1, NULL);
	rc[1] = cmd_alerts(3, a2, NULL);
	rc[2] = cmd_alerts(3, a3, NULL);
	rc[3] = cmd_alerts(3, a4, NULL);
	rc[4] = cmd_alerts(2, a5, NULL);
}

static void test_cmd(void)
{
	int rc[5];
	const char *err = capture_stderr(run_cmd_bad_args, rc);

	CHECK(rc[0] == 2 && rc[1] == 2 && rc[2] == 2 && rc[4] == 2,
	      "moat alerts: bad --last/--severity/--since/argument exit 2", "%d %d %d %d", rc[0],
	      rc[1], rc[2], rc[4]);
	CHECK(rc[3] == 1 && strstr(err, "no alert file at /nonexistent/alerts.jsonl"),
	      "moat alerts: a missing file exits 1 and names it", "rc=%d stderr:\n%s", rc[3], err);
}

/* `moat alerts --follow` ends cleanly (exit 0, what was there printed) on SIGTERM: its
 * handler stops alertlog_query through alertlog_query_stop. */
static void test_cmd_follow_signal(void)
{
	char path[128], outpath[128], buf[4096];
	struct alertlog *l;
	struct alert a;
	pid_t pid;
	int fd, status = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/cmdfollow.jsonl", tmpdir);
	snprintf(outpath, sizeof(outpath), "%s/cmdfollow.out", tmpdir);
	memset(&a, 0, sizeof(a));
	a.time_ns = T0;
	a.severity = ALERT_CRITICAL;
	snprintf(a.source, sizeof(a.source), "process");
	snprintf(a.message, sizeof(a.message), "followed");
	l = alertlog_open(path, -1, 0);
	alertlog_write(l, &a);
	alertlog_close(l);

	pid = fork();
	if (pid == 0) {
		char *argv[] = {"alerts", "--follow", "--file", path, "--color", "never", NULL};
		int out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(out, 1);
		_exit(cmd_alerts(6, argv, NULL));
	}
	usleep(300000);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	fd = open(outpath, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "moat alerts --follow exits 0 on SIGTERM", "status %#x", status);
	CHECK(strstr(buf, "process: followed\n") != NULL, "moat alerts --follow printed the file",
	      "output:\n%s", buf);
}

int main(void)
{
	char cmd[128];

	setenv("TZ", "UTC", 1);
	tzset();
	unsetenv("NO_COLOR");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_severity_and_ids();
	test_json();
	test_terminal_format();
	test_sinks();
	test_unwritable();
	test_query();
	test_malformed();
	test_follow();
	test_cmd();
	test_cmd_follow_signal();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (getenv("MOAT_KEEP_TMP") == NULL && fork() == 0)
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL), _exit(1);
	wait(NULL);
	return TEST_EXIT();
}
