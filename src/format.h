/* format.h - render a decoded event as a JSON object (the schema of
 * docs/events.md) or as one human-readable line. */
#ifndef MOAT_FORMAT_H
#define MOAT_FORMAT_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "docker.h"
#include "moat/events.h"

/* Offset to add to a boot-based event timestamp to get Unix time in ns.
 * Computed once from CLOCK_REALTIME - CLOCK_BOOTTIME. */
int64_t format_boot_to_unix_offset(void);

/* A growing text buffer (zero-initialise; free p when done). */
struct format_buf {
	char *p;
	size_t len, cap;
	int err; /* an allocation failed */
};

/* Write event h (already checked by event_decode) as one JSON line, '\n' included, into b
 * (replacing what was there). c may be NULL when the container is unknown. Returns 0 or
 * -ENOMEM. The fast path of `moat trace --json`. */
int format_event_jsonl(struct format_buf *b, const struct moat_event_hdr *h,
		       const struct container_info *c, int64_t offset_ns);

/* The same event as a json-c object. Returns a new reference, or NULL with errno = ENOMEM. */
json_object *format_event_json(const struct moat_event_hdr *h, const struct container_info *c,
			       int64_t offset_ns);

/* Write one line for event h to out: time, type, container, pid, comm and
 * the type's details. */
void format_event_text(FILE *out, const struct moat_event_hdr *h, const struct container_info *c,
		       int64_t offset_ns);

/* The header line matching format_event_text. */
void format_text_header(FILE *out);

/* Split the NUL-separated argv of an exec event into a JSON array. */
json_object *format_argv(const struct moat_exec_event *e);

#endif /* MOAT_FORMAT_H */
