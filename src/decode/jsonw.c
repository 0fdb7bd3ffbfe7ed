/* jsonw.c - JSON text for the event hot path into a caller-owned growing buffer (jsonw.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

void jsonw_free(struct jsonw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void jsonw_reset(struct jsonw *w)
{
	w->len = 0;
	w->comma = 0;
	w->err = 0;
	if (w->buf)
		w->buf[0] = 0;
}

void jsonw_truncate(struct jsonw *w, size_t n)
{
	if (n < w->len) {
		w->len = n;
		w->buf[n] = 0;
	}
}

/* The slow half of need(): grow the buffer to hold n more bytes and the NUL. */
static int grow(struct jsonw *w, size_t n)
{
	size_t cap;
	char *b;

	if (w->err)
		return w->err;
	if (n > SIZE_MAX / 4 - w->len) {
		w->err = -ENOMEM;
		return w->err;
	}
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n + 1)
		cap *= 2;
	b = realloc(w->buf, cap);
	if (!b) {
		w->err = -ENOMEM;
		return w->err;
	}
	w->buf = b;
	w->cap = cap;
	return 0;
}

/* Room for n more bytes and the NUL: 0, or -ENOMEM. */
static inline int need(struct jsonw *w, size_t n)
{
	if (__builtin_expect(!w->err && w->len + n + 1 <= w->cap, 1))
		return 0;
	return grow(w, n);
}

int jsonw_reserve(struct jsonw *w, size_t n)
{
	return need(w, n);
}

/* Room for n bytes plus a separator; 0 when the text is usable. */
static inline int room(struct jsonw *w, size_t n)
{
	if (need(w, n + 1))
		return -1;
	if (w->comma)
		w->buf[w->len++] = ',';
	return 0;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static void open_c(struct jsonw *w, char c)
{
	if (room(w, 1))
		return;
	w->buf[w->len++] = c;
	w->buf[w->len] = 0;
	w->comma = 0;
}

static void close_c(struct jsonw *w, char c)
{
	if (need(w, 1))
		return;
	w->buf[w->len++] = c;
	w->buf[w->len] = 0;
	w->comma = 1;
}

void jsonw_obj_open(struct jsonw *w)
{
	open_c(w, '{');
}

void jsonw_obj_close(struct jsonw *w)
{
	close_c(w, '}');
}

void jsonw_arr_open(struct jsonw *w)
{
	open_c(w, '[');
}

void jsonw_arr_close(struct jsonw *w)
{
	close_c(w, ']');
}

/* What a byte needs: 0 copied as is, 1 escaped, 2 the start (or not) of a UTF-8 sequence. */
static const unsigned char byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static const char hex[] = "0123456789abcdef";

/* \uXXXX for code point cp (< 0x10000) at p; returns 6. */
static size_t put_u(char *p, unsigned cp)
{
	p[0] = '\\';
	p[1] = 'u';
	p[2] = hex[(cp >> 12) & 15];
	p[3] = hex[(cp >> 8) & 15];
	p[4] = hex[(cp >> 4) & 15];
	p[5] = hex[cp & 15];
	return 6;
}

/* Length of the valid UTF-8 sequence (2-4 bytes) starting at s[0] (>= 0x80), 0 when there is
 * none (RFC 3629 section 4). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else
		return 0;
	if (n < need)
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/* 1 when none of the 8 bytes of x needs attention: no control byte, '"', '\\', DEL or byte
 * >= 0x80 (the exact "has zero byte" test of each condition). */
static inline int word_plain(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), d = x ^ (ones * 0x7f);

	return !((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) |
		  ((d - ones) & ~d)) &
		 highs);
}

/* The escaped body of s (n bytes) at p, which has room for 6 * n bytes; returns the end. */
static char *body(char *p, const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t run = i, k;

		while (run + 8 <= n) {
			uint64_t x;

			memcpy(&x, s + run, 8);
			if (!word_plain(x))
				break;
			run += 8;
		}
		while (run < n && !byte_class[s[run]])
			run++;
		memcpy(p, s + i, run - i);
		p += run - i;
		i = run;
		if (i >= n)
			break;
		if (byte_class[s[i]] == 1) {
			switch (s[i]) {
			case '"':
				*p++ = '\\';
				*p++ = '"';
				break;
			case '\\':
				*p++ = '\\';
				*p++ = '\\';
				break;
			case '\n':
				*p++ = '\\';
				*p++ = 'n';
				break;
			case '\t':
				*p++ = '\\';
				*p++ = 't';
				break;
			default: p += put_u(p, s[i]); break;
			}
			i++;
			continue;
		}
		k = utf8_len(s + i, n - i);
		if (!k) {
			*p++ = (char)0xef; /* U+FFFD */
			*p++ = (char)0xbf;
			*p++ = (char)0xbd;
			i++;
		} else if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			p += put_u(p, s[i + 1]); /* C1 control */
			i += 2;
		} else if (k == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
			   (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			p += put_u(p, 0x2000 | (0x28 + (s[i + 2] - 0xa8))); /* U+2028, U+2029 */
			i += 3;
		} else {
			memcpy(p, s + i, k);
			p += k;
			i += k;
		}
	}
	return p;
}

void jsonw_str_body(struct jsonw *w, const char *s, size_t n)
{
	/* At most 6 bytes out per byte in (\u00XX); U+FFFD is 3 for 1. */
	if (n > SIZE_MAX / 8 || need(w, 6 * n))
		return;
	w->len = (size_t)(body(w->buf + w->len, (const unsigned char *)s, n) - w->buf);
	w->buf[w->len] = 0;
}

void jsonw_str(struct jsonw *w, const char *s, size_t n)
{
	char *p;

	if (n > SIZE_MAX / 8 || need(w, 6 * n + 3))
		return;
	p = w->buf + w->len;
	if (w->comma)
		*p++ = ',';
	*p++ = '"';
	p = body(p, (const unsigned char *)s, n);
	*p++ = '"';
	*p = 0;
	w->len = (size_t)(p - w->buf);
	w->comma = 1;
}

void jsonw_cstr(struct jsonw *w, const char *s)
{
	jsonw_str(w, s, strlen(s));
}

void jsonw_key(struct jsonw *w, const char *key)
{
	jsonw_str(w, key, strlen(key));
	if (need(w, 1))
		return;
	w->buf[w->len++] = ':';
	w->buf[w->len] = 0;
	w->comma = 0;
}

void jsonw_key_lit(struct jsonw *w, const char *quoted, size_t n)
{
	if (room(w, n))
		return;
	put(w, quoted, n);
	w->comma = 0;
}

/* Decimal digits of v at the end of tmp[24]; returns the first. */
static char *digits(uint64_t v, char *end)
{
	char *p = end;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
	char tmp[24], *p = digits(v, tmp + sizeof(tmp));

	if (room(w, 20))
		return;
	put(w, p, (size_t)(tmp + sizeof(tmp) - p));
	w->comma = 1;
}

void jsonw_i64(struct jsonw *w, int64_t v)
{
	char tmp[24], *p;

	if (v >= 0) {
		jsonw_u64(w, (uint64_t)v);
		return;
	}
	p = digits(-(uint64_t)v, tmp + sizeof(tmp));
	*--p = '-';
	if (room(w, 21))
		return;
	put(w, p, (size_t)(tmp + sizeof(tmp) - p));
	w->comma = 1;
}

void jsonw_bool(struct jsonw *w, int v)
{
	if (room(w, 5))
		return;
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
	w->comma = 1;
}

void jsonw_null(struct jsonw *w)
{
	if (room(w, 4))
		return;
	put(w, "null", 4);
	w->comma = 1;
}

void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	if (need(w, n))
		return;
	put(w, s, n);
}

void jsonw_newline(struct jsonw *w)
{
	if (need(w, 1))
		return;
	put(w, "\n", 1);
	w->comma = 0;
}
