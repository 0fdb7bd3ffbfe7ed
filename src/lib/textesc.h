/* textesc.h - make container-supplied text safe to show a human: process names, argv,
 * paths and DNS names can hold terminal escape sequences, carriage returns and bidi
 * overrides that would rewrite what a terminal (or a `moat prompt` question) shows. */
#ifndef MOAT_TEXTESC_H
#define MOAT_TEXTESC_H

#include <stddef.h>
#include <stdio.h>

/* Copy the first slen bytes of src (stopping at a NUL) to dst (dlen bytes, always
 * NUL-terminated when dlen > 0), escaping everything a terminal could act on: bytes below
 * 0x20 and 0x7f as \xHH (\t, \n, \r as themselves escaped: \t \n \r), a backslash as \\,
 * bytes that are not valid UTF-8 as \xHH, and the code points that steer a terminal or the
 * reading order (C1 controls U+0080..U+009F, U+200E/F, U+202A..U+202E, U+2066..U+2069) as
 * \u{HHHH}. Printable ASCII and other valid UTF-8 pass through. Output that does not fit is
 * cut at a character boundary. Returns dst. */
char *text_escape(char *dst, size_t dlen, const char *src, size_t slen);

/* text_escape of src into out, with no length limit but slen. */
void text_escape_fput(FILE *out, const char *src, size_t slen);

#endif /* MOAT_TEXTESC_H */
