/* jsonw.h - the JSON writer of the event hot path: appends JSON text (RFC 8259) to a growing
 * buffer the caller owns, with no allocation per value once the buffer has grown. Emission
 * only: parsing JSON is json-c's job (house style). Every line it writes for an event is
 * parsed back with json-c and compared with format_event_json's object by
 * tests/unit/decode/test_jsonw.c and tests/fuzz/fuzz_jsonw.c.
 *
 * Strings: '"' and '\' escaped; control bytes (0x00-0x1f), DEL, the C1 controls
 * U+0080-U+009F and U+2028/U+2029 written as \u00XX / \u20XX; '/' is not escaped. Bytes that
 * are not part of valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) are each replaced by U+FFFD, so every line is valid UTF-8. */
#ifndef MOAT_JSONW_H
#define MOAT_JSONW_H

#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char *buf;  /* the text; malloc'ed and owned by the writer; NUL after len */
	size_t len; /* bytes written */
	size_t cap; /* bytes allocated */
	int comma;  /* 1: the next key or value needs a ',' before it */
	int err;    /* -ENOMEM once a growth failed: the text is incomplete until reset */
};

/* Zero-initialise a struct jsonw, or call jsonw_init; jsonw_free releases the buffer. */
void jsonw_init(struct jsonw *w);
void jsonw_free(struct jsonw *w);

/* Empty the text (keeping the buffer) and clear err. */
void jsonw_reset(struct jsonw *w);

/* Drop the text after the first n bytes (n <= len), e.g. to undo a partly written value. */
void jsonw_truncate(struct jsonw *w, size_t n);

/* Make room for n more bytes (and the NUL). 0, or -ENOMEM (also recorded in err). */
int jsonw_reserve(struct jsonw *w, size_t n);

void jsonw_obj_open(struct jsonw *w);
void jsonw_obj_close(struct jsonw *w);
void jsonw_arr_open(struct jsonw *w);
void jsonw_arr_close(struct jsonw *w);

/* An object member's key (NUL-terminated); the next call writes its value. */
void jsonw_key(struct jsonw *w, const char *key);

/* A key that needs no escaping, already quoted and followed by ':' (n bytes); use JSONW_KEY
 * with a string literal of letters, digits and '_' (the event schema's keys). */
void jsonw_key_lit(struct jsonw *w, const char *quoted, size_t n);
#define JSONW_KEY(w, k) jsonw_key_lit((w), "\"" k "\":", sizeof("\"" k "\":") - 1)

/* String values: n bytes of s (any bytes, NULs included), or a NUL-terminated one. */
void jsonw_str(struct jsonw *w, const char *s, size_t n);
void jsonw_cstr(struct jsonw *w, const char *s);

void jsonw_i64(struct jsonw *w, int64_t v);
void jsonw_u64(struct jsonw *w, uint64_t v);
void jsonw_bool(struct jsonw *w, int v);
void jsonw_null(struct jsonw *w);

/* Append n bytes as they are (a value already in JSON, or a separator). */
void jsonw_raw(struct jsonw *w, const char *s, size_t n);

/* End a line: a '\n', and the next value starts a new document. */
void jsonw_newline(struct jsonw *w);

/* The escaped form of n bytes of s, without quotes, appended to w: the body of
 * jsonw_str, for callers that build a string value in pieces. */
void jsonw_str_body(struct jsonw *w, const char *s, size_t n);

#endif /* MOAT_JSONW_H */
