/* jsonw_oracle.h - the check every line of the fast JSON writer (src/decode/jsonw.c) must
 * pass, shared by tests/unit/decode/test_jsonw.c and tests/fuzz/fuzz_jsonw.c.
 *
 * The line, parsed by json-c, must equal the reference json-c object member by member
 * (json_object_equal) and in the same order (both printed by json-c give the same text);
 * nothing may follow the document; the line must be valid UTF-8 with no raw control byte,
 * DEL, C1 control or U+2028/U+2029, and must not escape '/'.
 *
 * The reference keeps a string's bytes as they are, invalid UTF-8 included (json-c neither
 * checks nor fixes it); the writer replaces each byte that is not part of valid UTF-8 by
 * U+FFFD. So the expected object is the reference with that replacement applied to every
 * string, decoded here with glibc's mbrtowc (C.UTF-8), not with the writer's own decoder.
 * glibc accepts code points above U+10FFFF (RFC 3629 forbids them): the oracle refuses those
 * itself. */
#ifndef MOAT_JSONW_ORACLE_H
#define MOAT_JSONW_ORACLE_H

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <json-c/json.h>

/* s (n bytes) with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD
 * (NUL bytes kept). A malloc'ed buffer (abort when out of memory), its length in *out_n. */
static char *oracle_utf8_fix(const char *s, size_t n, size_t *out_n)
{
	static locale_t utf8;
	locale_t old;
	char *out = malloc(3 * n + 1), *p = out;
	size_t i = 0;

	if (!utf8)
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (!out || !utf8)
		abort();
	old = uselocale(utf8);
	while (i < n) {
		mbstate_t st;
		wchar_t wc = 0;
		size_t r;

		memset(&st, 0, sizeof(st));
		r = mbrtowc(&wc, s + i, n - i, &st);
		if (r == 0) {
			*p++ = 0;
			i++;
		} else if (r == (size_t)-1 || r == (size_t)-2 || (unsigned long)wc > 0x10ffff) {
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
			i++;
		} else {
			memcpy(p, s + i, r);
			p += r;
			i += r;
		}
	}
	uselocale(old);
	*p = 0;
	*out_n = (size_t)(p - out);
	return out;
}

/* Replace, in place, every string below o by its oracle_utf8_fix form. */
static void oracle_fix_strings(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_string: {
		size_t n;
		char *f = oracle_utf8_fix(json_object_get_string(o),
					  (size_t)json_object_get_string_len(o), &n);

		json_object_set_string_len(o, f, (int)n);
		free(f);
		break;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			oracle_fix_strings(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			oracle_fix_strings(v);
		}
		break;
	}
	default: break;
	}
}

static void oracle_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* 1 when line (len bytes, one JSON document, no newline) is what the writer must write for
 * reference object ref; otherwise 0 with the reason in why. ref is not changed. */
static int oracle_check(const char *line, size_t len, json_object *ref, char *why, size_t why_len)
{
	const unsigned char *u = (const unsigned char *)line;
	json_tokener *tok = json_tokener_new();
	json_object *got, *want = NULL;
	size_t n;
	char *fixed;
	int ok = 0;

	if (!tok)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (u[i] < 0x20 || u[i] == 0x7f) {
			oracle_why(why, why_len, "raw byte 0x%02x at %zu", u[i], i);
			goto out;
		}
		if (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] < 0xa0) {
			oracle_why(why, why_len, "raw C1 control at %zu", i);
			goto out;
		}
		if (u[i] == 0xe2 && i + 2 < len && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
			oracle_why(why, why_len, "raw U+2028/U+2029 at %zu", i);
			goto out;
		}
		if (u[i] == '\\') {
			if (i + 1 < len && u[i + 1] == '/') {
				oracle_why(why, why_len, "'/' escaped at %zu", i);
				goto out;
			}
			i++; /* the escaped character */
		}
	}
	fixed = oracle_utf8_fix(line, len, &n);
	ok = n == len && !memcmp(fixed, line, len);
	free(fixed);
	if (!ok) {
		oracle_why(why, why_len, "not valid UTF-8");
		goto out;
	}
	ok = 0;
	got = json_tokener_parse_ex(tok, line, (int)len);
	if (!got && json_tokener_get_error(tok) == json_tokener_continue)
		got = json_tokener_parse_ex(tok, "", 1); /* a bare number at the end */
	if (json_tokener_get_error(tok) != json_tokener_success) {
		oracle_why(why, why_len, "json-c cannot parse it: %s",
			   json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	if (json_tokener_get_parse_end(tok) < len) {
		oracle_why(why, why_len, "text after the document at %zu",
			   json_tokener_get_parse_end(tok));
		json_object_put(got);
		goto out;
	}
	if (json_object_deep_copy(ref, &want, NULL) || !want)
		abort();
	oracle_fix_strings(want);
	if (!json_object_equal(got, want)) {
		const char *key = "(the document)";
		json_object *g = got, *r = want;

		if (json_object_is_type(want, json_type_object)) {
			json_object_object_foreach(want, k, v)
			{
				json_object *x = NULL;

				if (!json_object_object_get_ex(got, k, &x) ||
				    !json_object_equal(x, v)) {
					key = k;
					g = x;
					r = v;
					break;
				}
			}
		}
		oracle_why(why, why_len, "member %s differs: reference %s", key,
			   json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
		oracle_why(why + strlen(why), why_len - strlen(why), ", line %s",
			   json_object_to_json_string_ext(g, JSON_C_TO_STRING_PLAIN));
	} else if (strcmp(json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN),
			  json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN))) {
		oracle_why(why, why_len, "members in another order than the reference: %s",
			   json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN));
	} else {
		ok = 1;
	}
	json_object_put(got);
	json_object_put(want);
out:
	json_tokener_free(tok);
	return ok;
}

#endif /* MOAT_JSONW_ORACLE_H */
