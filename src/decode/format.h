/* format.h - render a decoded event as a JSON object (the schema of
 * docs/events.md) or as one human-readable line. */
#ifndef MOAT_FORMAT_H
#define MOAT_FORMAT_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "container.h"
#include "jsonw.h"
#include "moat/events.h"

/* Build the JSON object for event h (already checked by event_decode).
 * c may be NULL when the container is unknown. Returns a new reference,
 * or NULL with errno = ENOMEM. */
json_object *format_event_json(const struct moat_event_hdr *h, const struct container_info *c,
			       int64_t offset_ns);

/* What format_event_jsonw keeps from event to event: the date and time of day of the last
 * second written, and the line of format_event_json_line. Zero-initialise;
 * format_json_cache_free when done. One per thread. */
struct format_json_cache {
	struct jsonw line; /* format_event_json_line's text */
	int ts_valid;	   /* ts_prefix holds ts_sec */
	int64_t ts_sec;	   /* Unix second of ts_prefix */
	size_t ts_prefix_len;
	char ts_prefix[40]; /* "YYYY-MM-DDTHH:MM:SS" */
};

/* Append event h (checked by event_decode) to w as one JSON object, the same document as
 * format_event_json (docs/events.md), with no newline and no allocation beyond w's growth.
 * Returns 0, -EINVAL for a type >= MOAT_EV_MAX, or -ENOMEM (w is then as it was before the
 * call). */
int format_event_jsonw(struct format_json_cache *fc, struct jsonw *w,
		       const struct moat_event_hdr *h, const struct container_info *c,
		       int64_t offset_ns);

/* Event h as one JSON line (no newline): format_event_jsonw into the cache's own buffer. The
 * string stays valid until the next call with fc. NULL with errno set on failure. */
const char *format_event_json_line(struct format_json_cache *fc, const struct moat_event_hdr *h,
				   const struct container_info *c, int64_t offset_ns);
void format_json_cache_free(struct format_json_cache *fc);

/* Write one line for event h to out: time, type, container, pid, comm and
 * the type's details. */
void format_event_text(FILE *out, const struct moat_event_hdr *h, const struct container_info *c,
		       int64_t offset_ns);

/* The header line matching format_event_text. */
void format_text_header(FILE *out);

/* Split the NUL-separated argv of an exec event into a JSON array. */
json_object *format_argv(const struct moat_exec_event *e);

#endif /* MOAT_FORMAT_H */
