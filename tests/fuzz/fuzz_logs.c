/* fuzz_logs.c - a container's log stream as Docker's log API hands it over: the frame
 * splitter (logsplit_feed, multiplexed or TTY, cut into reads anywhere) and the pattern
 * scanner on every line it gives (logscan_line, logscan_tick), as moat run's log reader
 * does. The container writes these bytes.
 *
 * Input: byte 0 picks TTY (bit 0) and the read size (bits 1..7: 1..128 bytes); the rest is
 * the stream. Oracles besides the sanitizers: every line is at most DOCKERLOGS_MAX_LINE
 * bytes, NUL-terminated at its length and of stream 1 or 2; a line of stream 2 never comes
 * from a TTY stream; every finding's shown line and matched text hold no control byte
 * (they are escaped) and are NUL-terminated; after -EPROTO nothing more is accepted.
 */
#include <errno.h>

#include "detect_logs.h"
#include "dockerlogs.h"
#include "fuzz.h"

static struct logscan *scanner;
static struct logsplit sp;
static int tty;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct logs_config cfg;
	struct logscan_opts o = {.rate_alerts = 2, .rate_window_s = 1, .max_bytes_per_s = 4096};
	struct logrules *r;

	fuzz_quiet_logs();
	logs_config_defaults(&cfg);
	snprintf(cfg.patterns[0].name, sizeof(cfg.patterns[0].name), "user");
	snprintf(cfg.patterns[0].regex, sizeof(cfg.patterns[0].regex), "(a|b)+c{2,}[^x]*$");
	cfg.patterns[0].severity = ALERT_CRITICAL;
	cfg.n_patterns = 1;
	r = logrules_build(&cfg, NULL);
	scanner = r ? logscan_new(r, &o) : NULL;
	logrules_put(r);
	if (!scanner)
		fuzz_fail("scanner");
	return 0;
}

static void check_hit(const struct log_hit *h)
{
	if (!memchr(h->line, 0, sizeof(h->line)) || !memchr(h->matched, 0, sizeof(h->matched)))
		fuzz_fail("finding not NUL-terminated");
	for (const char *p = h->line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fuzz_fail("control byte in a finding's line");
	for (const char *p = h->matched; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fuzz_fail("control byte in a finding's match");
}

static int64_t now;

static int on_line(void *ud, int st, char *line, size_t len, int cut)
{
	struct log_hit h;

	if (len > DOCKERLOGS_MAX_LINE || line[len] || (st != 1 && st != 2) || (tty && st != 1))
		fuzz_fail("bad line");
	now += 1000000; /* 1 ms a line: the budget and the windows move */
	if (logscan_line(scanner, st, line, len, cut, now, 0, &h))
		check_hit(&h);
	while (logscan_tick(scanner, now, 0, &h))
		check_hit(&h);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;
	int err = 0;

	if (!size)
		return 0;
	tty = data[0] & 1;
	step = (size_t)(data[0] >> 1) + 1;
	logsplit_init(&sp, tty);
	for (size_t off = 1; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;

		err = logsplit_feed(&sp, (const char *)data + off, n, on_line, NULL);
		if (err && err != -EPROTO)
			fuzz_fail("unexpected error");
		if (err)
			break;
	}
	if (err == -EPROTO &&
	    logsplit_feed(&sp, "\x01\0\0\0\0\0\0\x01x", 9, on_line, NULL) != -EPROTO)
		fuzz_fail("a broken stream took more bytes");
	if (!err)
		logsplit_flush(&sp, on_line, NULL);
	return 0;
}
