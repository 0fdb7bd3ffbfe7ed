/* format.h - render a decoded event as a JSON object (the schema of
 * docs/events.md) or as one human-readable line. */
#ifndef MOAT_FORMAT_H
#define MOAT_FORMAT_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "container.h"
#include "moat/events.h"

/* Build the JSON object for event h (already checked by event_decode).
 * c may be NULL when the container is unknown. Returns a new reference,
 * or NULL with errno = ENOMEM. */
json_object *format_event_json(const struct moat_event_hdr *h, const struct container_info *c,
			       int64_t offset_ns);

/* One object per event type, reused from event to event by format_event_json_line
 * (zero-initialise; format_json_cache_free when done). */
struct format_json_cache {
	json_object *by_type[MOAT_EV_MAX];
};

/* Event h as one JSON line (no newline), the same document as format_event_json, written
 * into the cache's object for its type. The string stays valid until the next call for the
 * same type. NULL on allocation failure. */
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
