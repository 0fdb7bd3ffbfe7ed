/* fuzz_alertlog.c - the JSON-lines alert file as `moat alerts` reads it
 * (alertlog_query_buf: the same line splitting, backwards tail reading,
 * parsing, filtering and terminal formatting as alertlog_query on a file).
 *
 * The first two bytes pick the filter (how many of the last alerts, JSON
 * or terminal lines, colour, minimum severity, container, since); the
 * rest is the file.
 *
 * Oracle besides the sanitizers: reading the whole file forwards (--last 0)
 * and reading its last N alerts backwards print the same lines: the
 * backwards output is the tail of the forwards one.
 */
#include <errno.h>

#include "alertlog.h"
#include "fuzz.h"
#define FUZZ_JSON_PREFIX 2 /* the filter bytes */
#define FUZZ_JSON_LINES	 1
#include "fuzz_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

/* Run a query into a memory buffer; *out (malloc'ed) gets what it printed. */
static int query(const char *buf, size_t len, const struct alert_filter *f, char **out,
		 size_t *out_len)
{
	FILE *m = open_memstream(out, out_len);
	int err;

	if (!m)
		fuzz_fail("check failed");
	err = alertlog_query_buf("alerts.jsonl", buf, len, f, m);
	fclose(m);
	return err;
}

/* The number of lines in s[0..n). */
static size_t count_lines(const char *s, size_t n)
{
	size_t k = 0;

	for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + n - p))); p++)
		k++;
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const containers[] = {NULL, "web", "0123", ""};
	struct alert_filter f = {0};
	char *all = NULL, *tail = NULL;
	size_t all_len = 0, tail_len = 0, lines;
	const char *file;
	size_t len;

	if (size < 2)
		return 0;
	f.last = data[0] & 7;
	f.json = (data[0] >> 3) & 1;
	f.color_mode = (data[0] >> 4) & 1 ? ALERTLOG_COLOR_ALWAYS : ALERTLOG_COLOR_NEVER;
	f.min_severity = (data[1] & 3) % 3;
	f.container = containers[(data[1] >> 2) & 3];
	f.since_ns = (data[1] >> 4) & 1 ? 1714572000000000000LL : 0; /* 2024-05-01T14:00:00Z */
	file = (const char *)data + 2;
	len = size - 2;

	if (f.last == 0) {
		if (query(file, len, &f, &all, &all_len))
			fuzz_fail("check failed");
		free(all);
		return 0;
	}
	if (query(file, len, &f, &tail, &tail_len))
		fuzz_fail("check failed");
	f.last = 0;
	if (query(file, len, &f, &all, &all_len))
		fuzz_fail("check failed");
	/* Each alert is one line of output, in either form (JSON lines may hold
	 * a NUL, which ends what fputs prints, so compare line by line from the end). */
	lines = count_lines(tail, tail_len);
	if (lines > (size_t)(data[0] & 7) || tail_len > all_len ||
	    memcmp(all + all_len - tail_len, tail, tail_len))
		fuzz_fail("the backwards tail is not the tail of the forwards output");
	if (lines < (size_t)(data[0] & 7) && count_lines(all, all_len) != lines)
		fuzz_fail("fewer than N alerts backwards, but more forwards");
	free(all);
	free(tail);
	return 0;
}
