/* config_section.h - what the parsers of the configuration's sections share (config_http,
 * config_export): where a key is in the file, and the error naming file, line, section and
 * key; every error is counted and parsing goes on, so one run reports them all. */
#ifndef MOAT_CONFIG_SECTION_H
#define MOAT_CONFIG_SECTION_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct cfg_section {
	const char *path; /* the configuration file, for messages */
	const char *text; /* its text, to find lines (NULL: line 1) */
	const char *name; /* the section's key, e.g. "http" */
	int errors;	  /* errors reported so far */
};

/* Line (1-based) of the first "key" (quoted) after the section's own key in the text; 1 when
 * either is absent. */
int cfg_section_line(const struct cfg_section *s, const char *key);

/* Log "PATH:LINE: SECTION: KEY: WHY" and count it. */
void cfg_section_error(struct cfg_section *s, const char *key, const char *why);

/* Member key of o, when present: a string shorter than n bytes into out, else the error
 * "must be a string (WHAT)". */
void cfg_section_str(struct cfg_section *s, json_object *o, const char *key, char *out, size_t n,
		     const char *what);

/* Member key of o, when present: a whole number from lo to hi into out, else the error
 * "must be a whole number from LO to HI". */
void cfg_section_uint(struct cfg_section *s, json_object *o, const char *key, uint32_t lo,
		      uint32_t hi, uint32_t *out);

#endif /* MOAT_CONFIG_SECTION_H */
