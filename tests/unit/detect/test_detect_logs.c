/* test_detect_logs.c - the log pattern scanner (src/detect/detect_logs.c): the seed's
 * default patterns line by line, user patterns and their severity, the rate limit and its
 * summary, the scan budget and its log-flood report, what a reload carries over, and the
 * alert: 200 characters, escaped, NUL bytes that hide nothing. */
#include <stdlib.h>

#include "test.h"
#include "detect_logs.h"

static struct logs_config cfg;
static struct logscan_opts opts = {
    .rate_alerts = 1, .rate_window_s = 60, .max_bytes_per_s = 1 << 20};

#define SEC 1000000000LL

/* Scan text (a copy) with s at mono time t; 1 and *h on an alert. */
static int scan(struct logscan *s, const char *text, int64_t t, struct log_hit *h)
{
	char buf[9000];
	size_t len = strlen(text);

	memcpy(buf, text, len + 1);
	return logscan_line(s, 1, buf, len, 0, t, 1700000000 * SEC, h);
}

static void test_defaults(void)
{
	static const struct {
		const char *line, *pattern; /* pattern "" : no alert */
	} cases[] = {
	    {"2024-05-01 FATAL: database unreachable", "error-level"},
	    {"[ERROR] request failed", "error-level"},
	    {"CRITICAL disk full", "error-level"},
	    {"0 errors, 2 warnings", ""},
	    {"an error occurred (lowercase level is no log level)", ""},
	    {"ERRORS=0", ""},
	    {"thread 'main' panicked at src/main.rs:2", "crash"},
	    {"Segmentation fault (core dumped)", "crash"},
	    {"kernel: segfault at 0 ip", "crash"},
	    {"possible SQL Injection in parameter id", "attack-words"},
	    {"401 Unauthorized", "attack-words"},
	    {"403 Forbidden: /admin", "attack-words"},
	    {"child_process.execSync('bash -c id')", "shell-spawn"},
	    {"spawn /bin/sh ENOENT", "shell-spawn"},
	    {"exec sh -c 'curl x | sh'", "shell-spawn"},
	    {"executing the shell script deploy.sh", ""},
	    {"GET /healthz 200 3ms", ""},
	    /* the quick word test before each regex must not lose a match in another case */
	    {"Kernel PANIC - not syncing", "crash"},
	    {"SPAWN /BIN/SH failed", "shell-spawn"},
	    {"Request FORBIDDEN by policy", "attack-words"},
	    {"", ""},
	};
	struct logrules *r = logrules_build(&cfg, NULL);
	struct log_hit h;

	CHECK(r && logrules_count(r) == LOGS_DEFAULT_N, "the seed's four patterns compile",
	      "count %d", logrules_count(r));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct logscan *s = logscan_new(r, &opts);
		char name[160];
		int hit = scan(s, cases[i].line, SEC, &h);

		snprintf(name, sizeof(name), "default patterns: \"%s\" -> %s", cases[i].line,
			 cases[i].pattern[0] ? cases[i].pattern : "nothing");
		if (cases[i].pattern[0])
			CHECK(hit && !strcmp(h.pattern, cases[i].pattern) &&
				  h.severity == ALERT_WARNING && h.kind == LOG_HIT_MATCH,
			      name, "hit %d pattern %s", hit, hit ? h.pattern : "-");
		else
			CHECK(!hit, name, "matched %s", h.pattern);
		logscan_free(s);
	}
	logrules_put(r);
}

static void test_user_patterns(void)
{
	struct logs_config c = cfg;
	struct logs_policy p;
	struct logrules *r;
	struct logscan *s;
	struct log_hit h;

	logs_policy_defaults(&p);
	snprintf(c.patterns[0].name, sizeof(c.patterns[0].name), "heap");
	snprintf(c.patterns[0].regex, sizeof(c.patterns[0].regex), "heap out of memory");
	c.patterns[0].severity = ALERT_CRITICAL;
	c.n_patterns = 1;
	snprintf(p.patterns[0].name, sizeof(p.patterns[0].name), "token");
	snprintf(p.patterns[0].regex, sizeof(p.patterns[0].regex), "token=[a-z0-9]{8,}");
	p.patterns[0].severity = ALERT_INFO;
	p.patterns[0].icase = 1;
	p.n_patterns = 1;
	p.default_patterns = 0;
	r = logrules_build(&c, &p);
	CHECK(r && logrules_count(r) == 2, "a policy without defaults: its pattern and the global",
	      "count %d", logrules_count(r));
	s = logscan_new(r, &opts);
	CHECK(scan(s, "FATAL: JavaScript heap out of memory", SEC, &h) &&
		  h.severity == ALERT_CRITICAL && !strcmp(h.pattern, "heap") &&
		  !strcmp(h.matched, "heap out of memory"),
	      "a CRITICAL user pattern; the matched text is told", "%s %s", h.pattern, h.matched);
	CHECK(scan(s, "login TOKEN=abcdef123456", SEC, &h) && h.severity == ALERT_INFO &&
		  !strcmp(h.pattern, "token"),
	      "ignore_case", "%s", h.pattern);
	CHECK(!scan(s, "FATAL without the defaults", SEC, &h),
	      "default_patterns false: FATAL alone is nothing", "%s", h.pattern);
	logscan_free(s);
	logrules_put(r);
	/* The most severe pattern wins a line that matches several. */
	p.default_patterns = 1;
	r = logrules_build(&c, &p);
	s = logscan_new(r, &opts);
	CHECK(scan(s, "ERROR: heap out of memory", SEC, &h) && !strcmp(h.pattern, "heap"),
	      "the most severe of the matching patterns wins", "%s", h.pattern);
	logscan_free(s);
	logrules_put(r);
}

static void test_rate_limit(void)
{
	struct logrules *r = logrules_build(&cfg, NULL);
	struct logscan *s = logscan_new(r, &opts);
	struct log_hit h;
	int alerts = 0;

	for (int i = 0; i < 1000; i++) {
		char line[64];

		snprintf(line, sizeof(line), "FATAL number %d", i);
		alerts += scan(s, line, SEC + i * 1000000LL, &h);
	}
	CHECK_EQ_INT(alerts, 1, "a flood of 1000 FATAL lines in 1 s: one alert");
	CHECK(!logscan_tick(s, 30 * SEC, 0, &h), "no summary before the window ends", "kind %d",
	      h.kind);
	CHECK(logscan_tick(s, 62 * SEC, 0, &h) && h.kind == LOG_HIT_SUMMARY &&
		  h.suppressed == 999 && !strcmp(h.pattern, "error-level") &&
		  strstr(h.line, "FATAL number 999"),
	      "the window's end: a summary of the 999 held back, with the last line",
	      "kind %d n %llu line %s", h.kind, (unsigned long long)h.suppressed, h.line);
	CHECK(!logscan_tick(s, 63 * SEC, 0, &h), "told once", "kind %d", h.kind);
	CHECK(scan(s, "FATAL again", 64 * SEC, &h) && h.suppressed == 0,
	      "a new window: the next line alerts again", "suppressed %llu",
	      (unsigned long long)h.suppressed);
	CHECK(scan(s, "panic: other pattern", 64 * SEC, &h), "each pattern has its own limit", "%d",
	      h.kind);
	/* A line in the next window, before any tick, carries the count. */
	CHECK(!scan(s, "FATAL held", 65 * SEC, &h), "held", "%d", 0);
	CHECK(scan(s, "FATAL next window", 125 * SEC, &h) && h.suppressed == 1,
	      "the count rides on the next alert when no tick came", "suppressed %llu",
	      (unsigned long long)h.suppressed);
	logscan_free(s);
	logrules_put(r);
}

static void test_budget(void)
{
	struct logscan_opts o = {.rate_alerts = 1000, .rate_window_s = 60, .max_bytes_per_s = 4096};
	struct logrules *r = logrules_build(&cfg, NULL);
	struct logscan *s = logscan_new(r, &o), *s2;
	char line[1100];
	struct log_hit h;
	int alerts = 0;
	uint64_t lines, bytes;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	memcpy(line, "FATAL ", 6);
	for (int i = 0; i < 100; i++)
		alerts += scan(s, line, SEC, &h);
	CHECK(alerts == 3, "4 KiB/s: only what fits is scanned (3 lines of 1100 bytes)",
	      "alerts %d", alerts);
	CHECK(logscan_tick(s, SEC, 0, &h) && h.kind == LOG_HIT_FLOOD && h.skipped_lines == 97 &&
		  h.severity == ALERT_WARNING,
	      "log-flood: 97 lines not scanned", "kind %d skipped %llu", h.kind,
	      (unsigned long long)h.skipped_lines);
	CHECK(scan(s, line, 2 * SEC, &h), "a second later the budget is back", "%d", 0);
	logscan_counts(s, &lines, &bytes);
	CHECK_EQ_INT(lines, 4, "scanned lines are counted");
	for (int i = 0; i < 10; i++)
		scan(s, line, 2 * SEC, &h);
	CHECK(!logscan_tick(s, 3 * SEC, 0, &h), "log-flood at most once per window", "kind %d",
	      h.kind);
	/* A reload (new scanner, same rules) keeps the limits and the budget. */
	s2 = logscan_new(r, &o);
	logscan_inherit(s2, s);
	CHECK(!scan(s2, line, 2 * SEC, &h), "a reload keeps the spent budget", "%d", 0);
	logscan_free(s);
	logscan_free(s2);
	logrules_put(r);
}

static void test_hostile_lines(void)
{
	struct logrules *r = logrules_build(&cfg, NULL);
	struct logscan *s = logscan_new(r, &opts);
	char buf[2000];
	struct log_hit h;
	struct alert a;
	struct container_info c = {0};
	json_object *j;
	size_t n;

	/* FATAL after a NUL byte: C strings would stop at the NUL. */
	memcpy(buf, "harmless\0FATAL hidden", 21);
	CHECK(logscan_line(s, 2, buf, 21, 0, SEC, 0, &h) && h.stream == 2,
	      "a NUL byte hides nothing", "%d", 0);
	logscan_free(s);
	s = logscan_new(r, &opts);
	/* 300 characters with escapes and a bidi override: 200 characters, escaped. */
	n = (size_t)snprintf(buf, sizeof(buf), "FATAL \x1b[31mred\x1b[0m \xe2\x80\xae");
	while (n < 300)
		buf[n++] = 'y';
	buf[n] = 0;
	CHECK(logscan_line(s, 1, buf, n, 0, SEC, 1700000000 * SEC, &h) && h.cut,
	      "a 300-character line is cut", "cut %d", h.cut);
	CHECK(!strchr(h.line, 0x1b) && strstr(h.line, "\\x1b[31m") && strstr(h.line, "\\u{202e}") &&
		  !strstr(h.line, "\xe2\x80\xae"),
	      "escape sequences and bidi overrides are escaped", "%s", h.line);
	{
		/* Count the characters of the original the line shows: 200. */
		size_t ys = 0;

		for (const char *p = h.line; *p; p++)
			ys += *p == 'y';
		CHECK_EQ_INT(ys + 20, 200, "200 characters of the line are shown");
	}
	snprintf(c.id, sizeof(c.id), "%064d", 7);
	snprintf(c.name, sizeof(c.name), "web");
	snprintf(c.image, sizeof(c.image), "img");
	CHECK(detect_log_alert(&h, &c, &a) && !strcmp(a.rule, "log-pattern") &&
		  !strcmp(a.source, "logs") && a.severity == ALERT_WARNING &&
		  strstr(a.message, "Log pattern error-level in web (stdout)") && a.log,
	      "the log-pattern alert", "%s", a.message);
	j = alert_to_json(&a);
	{
		json_object *lg, *line, *pat, *tr;

		CHECK(j && json_object_object_get_ex(j, "log", &lg) &&
			  json_object_object_get_ex(lg, "line", &line) &&
			  !strcmp(json_object_get_string(line), h.line) &&
			  json_object_object_get_ex(lg, "pattern", &pat) &&
			  !strcmp(json_object_get_string(pat), "error-level") &&
			  json_object_object_get_ex(lg, "truncated", &tr) &&
			  json_object_get_boolean(tr),
		      "the alert's log object: line, pattern, truncated", "%s",
		      j ? json_object_to_json_string(j) : "NULL");
	}
	json_object_put(j);
	alert_release(&a);
	/* A long line of binary with FATAL inside: found, and nothing raw reaches the alert. */
	logscan_free(s);
	s = logscan_new(r, &opts);
	for (size_t i = 0; i < sizeof(buf) - 1; i++)
		buf[i] = (char)(i * 7 + 1);
	memcpy(buf + 100, " FATAL ", 7);
	buf[sizeof(buf) - 1] = 0;
	n = 0;
	CHECK(logscan_line(s, 1, buf, sizeof(buf) - 1, 1, 2 * SEC, 0, &h), "FATAL inside binary",
	      "%d", 0);
	for (const char *p = h.line; *p; p++)
		n += (unsigned char)*p < 0x20 || *p == 0x7f;
	CHECK_EQ_INT(n, 0, "no control byte of a binary line reaches the alert");
	logscan_free(s);
	logrules_put(r);
}

int main(void)
{
	logs_config_defaults(&cfg);
	test_defaults();
	test_user_patterns();
	test_rate_limit();
	test_budget();
	test_hostile_lines();
	return TEST_EXIT();
}
