/* logscan.c - cost of the log pattern scanner per log line, no Docker needed:
 * build/bench/logscan [LINES] [USER_PATTERNS]
 *
 * Feeds LINES (default 2,000,000) synthetic log lines of a web service (mostly access-log
 * lines of 60-140 bytes, 1 in 50 an ERROR line, 1 in 500 a 2 KiB stack-trace line) through
 * what moat run does for each: the frame splitter of a multiplexed stream (dockerlogs.c)
 * and the scanner (detect_logs.c: the seed's 4 patterns, plus USER_PATTERNS extra
 * patterns, default 0), with the rate limit on and a budget that never bites. Prints ns per
 * line and MB/s for the splitter alone, the scanner alone and both; and the memory one
 * followed container costs. Figures, not assertions (docs/performance.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "detect_logs.h"
#include "dockerlogs.h"

static struct logscan *scanner;
static uint64_t hits, lines_seen;
static int do_scan;

static int on_line(void *ud, int st, char *line, size_t len, int cut)
{
	struct log_hit h;

	lines_seen++;
	if (do_scan)
		hits += (uint64_t)logscan_line(scanner, st, line, len, cut, clock_mono_ns(), 0, &h);
	return 0;
}

/* The synthetic stream: frames of one line each, as Docker sends them. */
static char *make_stream(long n, size_t *len)
{
	size_t cap = (size_t)n * 200 + (size_t)(n / 500 + 1) * 2100, off = 0;
	char *buf = malloc(cap), line[2200];

	if (!buf)
		return NULL;
	for (long i = 0; i < n; i++) {
		int l;

		if (i % 500 == 499) {
			l = snprintf(line, sizeof(line),
				     "    at handler (/app/node_modules/x.js:%ld)", i);
			while (l < 2048)
				line[l++] = 'z';
			line[l++] = '\n';
		} else if (i % 50 == 49) {
			l = snprintf(
			    line, sizeof(line),
			    "2024-05-01T10:11:12.%06ldZ ERROR db: connection reset by peer "
			    "(attempt %ld)\n",
			    i % 1000000, i % 7);
		} else {
			l = snprintf(line, sizeof(line),
				     "172.17.0.%ld - - [01/May/2024:10:11:12 +0000] \"GET "
				     "/api/v1/items/%ld?page=%ld HTTP/1.1\" 200 %ld \"-\" "
				     "\"Mozilla/5.0\"\n",
				     i % 250, i, i % 17, 100 + i % 9000);
		}
		buf[off] = 1; /* stdout */
		buf[off + 1] = buf[off + 2] = buf[off + 3] = 0;
		buf[off + 4] = (char)((unsigned)l >> 24);
		buf[off + 5] = (char)((unsigned)l >> 16);
		buf[off + 6] = (char)((unsigned)l >> 8);
		buf[off + 7] = (char)l;
		memcpy(buf + off + 8, line, (size_t)l);
		off += 8 + (size_t)l;
	}
	*len = off;
	return buf;
}

static double run(const char *buf, size_t len, int scan)
{
	static struct logsplit sp;
	int64_t t0;

	do_scan = scan;
	lines_seen = 0;
	logsplit_init(&sp, 0);
	t0 = clock_mono_ns();
	/* 64 KiB reads, as libcurl hands them over. */
	for (size_t off = 0; off < len; off += 65536)
		logsplit_feed(&sp, buf + off, len - off < 65536 ? len - off : 65536, on_line, NULL);
	return (double)(clock_mono_ns() - t0);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
	int user = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
	struct logs_config cfg;
	struct logscan_opts o = {
	    .rate_alerts = 1, .rate_window_s = 60, .max_bytes_per_s = 1u << 30};
	struct logrules *rules;
	size_t len;
	char *buf;
	double split_ns, both_ns;

	if (n <= 0 || user < 0 || user > LOGS_MAX_PATTERNS) {
		fprintf(stderr, "usage: %s [LINES] [USER_PATTERNS 0..%d]\n", argv[0],
			LOGS_MAX_PATTERNS);
		return 2;
	}
	logs_config_defaults(&cfg);
	for (int i = 0; i < user; i++) {
		snprintf(cfg.patterns[i].name, sizeof(cfg.patterns[i].name), "user%d", i);
		snprintf(cfg.patterns[i].regex, sizeof(cfg.patterns[i].regex),
			 "secret-token-%d=[A-Za-z0-9]{20,}", i);
		cfg.patterns[i].severity = ALERT_WARNING;
	}
	cfg.n_patterns = user;
	rules = logrules_build(&cfg, NULL);
	scanner = rules ? logscan_new(rules, &o) : NULL;
	buf = make_stream(n, &len);
	if (!scanner || !buf) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	split_ns = run(buf, len, 0);
	both_ns = run(buf, len, 1);
	printf("lines %ld, bytes %zu (mean line %.0f B), patterns %d (4 defaults + %d)\n", n, len,
	       (double)len / (double)n - 8, logrules_count(rules), user);
	printf("splitter alone:     %7.1f ns/line  %7.1f MB/s\n", split_ns / (double)n,
	       (double)len / split_ns * 1e3);
	printf("scanner alone:      %7.1f ns/line\n", (both_ns - split_ns) / (double)n);
	printf("splitter + scanner: %7.1f ns/line  %7.1f MB/s  (%.0f lines/s on one core)\n",
	       both_ns / (double)n, (double)len / both_ns * 1e3, (double)n / both_ns * 1e9);
	printf("alerts passed by the rate limit: %llu (the rest counted)\n",
	       (unsigned long long)hits);
	printf("memory per followed container: splitter %zu B + scanner %zu B (%d patterns)\n",
	       sizeof(struct logsplit), logscan_size(scanner), logrules_count(rules));
	logscan_free(scanner);
	logrules_put(rules);
	free(buf);
	return 0;
}
