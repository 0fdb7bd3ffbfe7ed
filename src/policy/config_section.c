/* config_section.c - lines, errors and typed keys for the configuration's sections
 * (config_section.h). */
#include <stdio.h>
#include <string.h>

#include "config_section.h"
#include "log.h"

int cfg_section_line(const struct cfg_section *s, const char *key)
{
	char quoted[96];
	const char *start, *p;
	int line = 1;

	snprintf(quoted, sizeof(quoted), "\"%s\"", s->name);
	start = s->text ? strstr(s->text, quoted) : NULL;
	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	p = start ? strstr(start, quoted) : NULL;
	for (const char *q = s->text; p && q < p; q++)
		line += *q == '\n';
	return line;
}

void cfg_section_error(struct cfg_section *s, const char *key, const char *why)
{
	log_error("%s:%d: %s: %s: %s", s->path, cfg_section_line(s, key), s->name, key, why);
	s->errors++;
}

void cfg_section_str(struct cfg_section *s, json_object *o, const char *key, char *out, size_t n,
		     const char *what)
{
	json_object *v;
	char why[96];

	if (!json_object_object_get_ex(o, key, &v))
		return;
	if (!json_object_is_type(v, json_type_string) || strlen(json_object_get_string(v)) >= n) {
		snprintf(why, sizeof(why), "must be a string (%s)", what);
		cfg_section_error(s, key, why);
		return;
	}
	snprintf(out, n, "%s", json_object_get_string(v));
}

void cfg_section_uint(struct cfg_section *s, json_object *o, const char *key, uint32_t lo,
		      uint32_t hi, uint32_t *out)
{
	json_object *v;
	int64_t n;
	char why[96];

	if (!json_object_object_get_ex(o, key, &v))
		return;
	n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
	if (n < lo || n > hi) {
		snprintf(why, sizeof(why), "must be a whole number from %u to %u", lo, hi);
		cfg_section_error(s, key, why);
		return;
	}
	*out = (uint32_t)n;
}
