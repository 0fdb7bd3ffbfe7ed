/* test_dockerlogs.c - the log stream splitter (src/docker/dockerlogs.c): Docker's 8-byte
 * frame headers read across any split of the bytes, stdout and stderr kept apart, lines
 * across frames, a frame that claims 4 GiB, a line without end, NUL bytes, \r\n, a header
 * that is not Docker's, and the raw stream of a TTY container. The reader thread against a
 * fake Engine is in test_docker_allow.c. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "dockerlogs.h"

struct out {
	char text[4096]; /* "st:line|" ... */
	int n, cuts;
	size_t longest;
};

static int collect(void *ud, int st, char *line, size_t len, int cut)
{
	struct out *o = ud;
	size_t off = strlen(o->text);

	o->n++;
	o->cuts += cut;
	if (len > o->longest)
		o->longest = len;
	if (len > 64)
		len = 64; /* enough to compare */
	if (off + len + 4 < sizeof(o->text)) {
		o->text[off++] = (char)('0' + st);
		o->text[off++] = ':';
		for (size_t i = 0; i < len; i++)
			o->text[off++] = line[i] ? line[i] : '@';
		o->text[off++] = '|';
		o->text[off] = 0;
	}
	return 0;
}

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

static struct logsplit sp; /* 16 KiB: not on the stack */

static void test_frames_any_split(void)
{
	char buf[256];
	size_t n = 0;
	int all_ok = 1;
	const char *want = "1:hello|2:oops FATAL|1:across frames|1:tail|2:err tail|";

	n += frame(buf + n, 1, "hello\n", 6);
	n += frame(buf + n, 2, "oops FA", 7);
	n += frame(buf + n, 1, "across ", 7);
	n += frame(buf + n, 2, "TAL\n", 4);
	n += frame(buf + n, 1, "frames\r\ntail", 12);
	n += frame(buf + n, 2, "err tail", 8);
	n += frame(buf + n, 1, "", 0);
	/* Every split of the stream into two reads gives the same lines. */
	for (size_t cut = 0; cut <= n; cut++) {
		struct out o = {0};

		logsplit_init(&sp, 0);
		if (logsplit_feed(&sp, buf, cut, collect, &o) ||
		    logsplit_feed(&sp, buf + cut, n - cut, collect, &o) ||
		    logsplit_flush(&sp, collect, &o) || strcmp(o.text, want)) {
			all_ok = 0;
			printf("# split at %zu: %s\n", cut, o.text);
			break;
		}
	}
	CHECK(all_ok, "frames split anywhere: the same lines, stdout and stderr apart",
	      "see above");
	{
		struct out o = {0};

		logsplit_init(&sp, 0);
		for (size_t i = 0; i < n; i++)
			logsplit_feed(&sp, buf + i, 1, collect, &o);
		logsplit_flush(&sp, collect, &o);
		CHECK_EQ_STR(o.text, want, "fed one byte at a time");
	}
}

static void test_hostile(void)
{
	static char big[3 * DOCKERLOGS_MAX_LINE];
	char hdr[8] = {1, 0, 0, 0, (char)0xff, (char)0xff, (char)0xff, (char)0xff};
	struct out o = {0};
	char bad[16];

	/* A frame that says 4 GiB: the bytes that come are read as lines, nothing allocated. */
	logsplit_init(&sp, 0);
	CHECK_EQ_INT(logsplit_feed(&sp, hdr, 8, collect, &o), 0, "a 4 GiB frame header is taken");
	memset(big, 'A', sizeof(big));
	big[10] = '\n';
	CHECK_EQ_INT(logsplit_feed(&sp, big, sizeof(big), collect, &o), 0, "its payload streams");
	CHECK(o.n == 2 && o.cuts == 1 && o.longest == DOCKERLOGS_MAX_LINE,
	      "an endless line is handed over once, cut at DOCKERLOGS_MAX_LINE",
	      "n %d cuts %d longest %zu", o.n, o.cuts, o.longest);
	CHECK_EQ_INT(sp.left, 0xffffffffu - sizeof(big), "the frame is still being read");
	logsplit_feed(&sp, "\nnext\n", 6, collect, &o);
	CHECK(o.n == 3 && strstr(o.text, "1:next|"), "after the newline, lines again", "%s",
	      o.text);
	/* A header that is not Docker's: refused, and the stream with it. */
	logsplit_init(&sp, 0);
	memset(&o, 0, sizeof(o));
	memcpy(bad, "\x03\0\0\0\0\0\0\x02hi", 10);
	CHECK_EQ_INT(logsplit_feed(&sp, bad, 10, collect, &o), -EPROTO, "stream type 3: -EPROTO");
	CHECK_EQ_INT(logsplit_feed(&sp, "\x01\0\0\0\0\0\0\x02hi", 10, collect, &o), -EPROTO,
		     "nothing is read after a bad header");
	logsplit_init(&sp, 0);
	CHECK_EQ_INT(logsplit_feed(&sp, "\x01\0\x01\0\0\0\0\x02hi", 10, collect, &o), -EPROTO,
		     "nonzero padding: -EPROTO");
	CHECK_EQ_INT(o.n, 0, "no line came from bad frames");
	/* A truncated frame at the end: what came is a line. */
	logsplit_init(&sp, 0);
	memset(&o, 0, sizeof(o));
	logsplit_feed(&sp, "\x02\0\0\0\0\0\0\x20half a fra", 18, collect, &o);
	logsplit_flush(&sp, collect, &o);
	CHECK_EQ_STR(o.text, "2:half a fra|", "a truncated frame: its bytes make the last line");
	/* NUL bytes stay in the line (the scanner makes them spaces); empty lines are skipped. */
	logsplit_init(&sp, 0);
	memset(&o, 0, sizeof(o));
	logsplit_feed(&sp, "\x01\0\0\0\0\0\0\x09\n\nab\0cd\n", 17, collect, &o);
	CHECK_EQ_STR(o.text, "1:ab@cd|", "a NUL inside a line is kept; empty lines are skipped");
}

static void test_tty(void)
{
	struct out o = {0};

	logsplit_init(&sp, 1);
	/* Bytes that look like a frame header are plain text on a TTY. */
	logsplit_feed(&sp, "\x02\0\0\0 FATAL\r\nsecond", 18, collect, &o);
	logsplit_feed(&sp, " half\n", 6, collect, &o);
	CHECK(o.n == 2 && !strcmp(o.text + strlen(o.text) - 14, "1:second half|"),
	      "a TTY stream is raw: everything is stdout, \\r\\n ends lines", "%s", o.text);
}

int main(void)
{
	test_frames_any_split();
	test_hostile();
	test_tty();
	return TEST_EXIT();
}
