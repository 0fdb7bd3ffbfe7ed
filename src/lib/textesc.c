/* textesc.c - escape container-supplied text for terminals (see textesc.h). */
#include <stdint.h>
#include <string.h>

#include "textesc.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), its code point in *cp; 0 when
 * the bytes are not valid UTF-8 (overlong forms, surrogates and values past U+10FFFF
 * included). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Does code point c steer a terminal or the reading order? */
static int is_steering(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x200e || c == 0x200f ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* The escaped form of the character at s into buf (at least 12 bytes); returns its length
 * and sets *used to the bytes of s consumed. */
static size_t escape_one(const unsigned char *s, size_t n, char *buf, size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t cp = 0;
	size_t len = utf8_seq(s, n, &cp);

	if (!len) {
		*used = 1;
		buf[0] = '\\';
		buf[1] = 'x';
		buf[2] = hex[s[0] >> 4];
		buf[3] = hex[s[0] & 15];
		return 4;
	}
	*used = len;
	if (cp == '\\') {
		buf[0] = buf[1] = '\\';
		return 2;
	}
	if (cp == '\n' || cp == '\r' || cp == '\t') {
		buf[0] = '\\';
		buf[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
		return 2;
	}
	if (cp < 0x20 || cp == 0x7f) {
		buf[0] = '\\';
		buf[1] = 'x';
		buf[2] = hex[cp >> 4];
		buf[3] = hex[cp & 15];
		return 4;
	}
	if (is_steering(cp)) {
		size_t k = 0;

		buf[k++] = '\\';
		buf[k++] = 'u';
		buf[k++] = '{';
		for (int sh = 12; sh >= 0; sh -= 4)
			buf[k++] = hex[(cp >> sh) & 15];
		buf[k++] = '}';
		return k;
	}
	memcpy(buf, s, len);
	return len;
}

char *text_escape(char *dst, size_t dlen, const char *src, size_t slen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strnlen(src, slen), i = 0, o = 0;
	char buf[16];

	if (!dlen)
		return dst;
	while (i < n) {
		size_t used, k = escape_one(s + i, n - i, buf, &used);

		if (o + k >= dlen)
			break;
		memcpy(dst + o, buf, k);
		o += k;
		i += used;
	}
	dst[o] = 0;
	return dst;
}

void text_escape_fput(FILE *out, const char *src, size_t slen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strnlen(src, slen), i = 0;
	char buf[16];

	while (i < n) {
		size_t used, k = escape_one(s + i, n - i, buf, &used);

		fwrite(buf, 1, k, out);
		i += used;
	}
}
