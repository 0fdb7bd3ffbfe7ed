/* test_textesc.c - container-supplied text is shown to humans escaped (src/lib/textesc.c). */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "textesc.h"

static const char *esc(const char *s, size_t n)
{
	static char buf[512];

	return text_escape(buf, sizeof(buf), s, n);
}

int main(void)
{
	char small[8];

	CHECK_EQ_STR(esc("/bin/sh", 64), "/bin/sh", "plain ASCII passes");
	CHECK_EQ_STR(esc("caf\xc3\xa9", 64), "caf\xc3\xa9", "valid UTF-8 passes");
	CHECK_EQ_STR(esc("\x1b[2J\x1b[1;1Hallow", 64), "\\x1b[2J\\x1b[1;1Hallow",
		     "ESC of a terminal sequence is escaped");
	CHECK_EQ_STR(esc("a\rb\nc\td", 64), "a\\rb\\nc\\td", "CR, LF and TAB are escaped");
	CHECK_EQ_STR(esc("x\x7fy\x07", 64), "x\\x7fy\\x07", "DEL and BEL are escaped");
	CHECK_EQ_STR(esc("a\\b", 64), "a\\\\b", "a backslash is doubled (no ambiguity)");
	CHECK_EQ_STR(esc("\xc2\x9b"
			 "31m",
			 64),
		     "\\u{009b}31m", "a C1 control (8-bit CSI) is escaped");
	CHECK_EQ_STR(esc("evil\xe2\x80\xaetxt.sh", 64), "evil\\u{202e}txt.sh",
		     "a right-to-left override is escaped");
	CHECK_EQ_STR(esc("\xff\xfe", 64), "\\xff\\xfe", "invalid UTF-8 bytes are escaped");
	CHECK_EQ_STR(esc("\xc0\xaf", 64), "\\xc0\\xaf", "an overlong encoding is escaped");
	CHECK_EQ_STR(esc("\xed\xa0\x80", 64), "\\xed\\xa0\\x80", "a UTF-16 surrogate is escaped");
	CHECK_EQ_STR(esc("abc\0def", 64), "abc", "stops at NUL");
	CHECK_EQ_STR(esc("abcdef", 3), "abc", "stops at the length");
	text_escape(small, sizeof(small), "\x1b\x1b\x1b", 3);
	CHECK_EQ_STR(small, "\\x1b", "cut at a whole escape, never half of one");
	text_escape(small, sizeof(small), "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 9);
	CHECK_EQ_STR(small, "\xe2\x82\xac\xe2\x82\xac", "cut at a character boundary");
	return TEST_EXIT();
}
