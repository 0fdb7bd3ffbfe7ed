/* config_learn.c - the "learn" settings of the configuration (config_learn.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config_learn.h"

void config_learn_defaults(struct learn_config *l)
{
	memset(l, 0, sizeof(*l));
	l->stable_s = 86400;
	l->auto_enforce = 0;
	l->max_images = 256;
	l->max_items_per_image = 4096;
	l->max_items_total = 262144;
	l->exec_egress_window_s = 60;
	l->tunnel_window_s = 60;
	l->tunnel_labels = 20;
	l->tunnel_min_len = 24;
	l->tunnel_entropy_x100 = 350;
}

/* The whole-number keys, their ranges and where they go. */
static const struct {
	const char *key;
	int64_t lo, hi;
	size_t off;
	const char *why;
} learn_keys[] = {
    {"stable_seconds", 1, 31536000, offsetof(struct learn_config, stable_s),
     "must be a whole number of seconds from 1 to 31536000"},
    {"max_images", 1, 65536, offsetof(struct learn_config, max_images),
     "must be a whole number from 1 to 65536"},
    {"max_items_per_image", 1, 1048576, offsetof(struct learn_config, max_items_per_image),
     "must be a whole number from 1 to 1048576"},
    {"max_items_total", 1, 16777216, offsetof(struct learn_config, max_items_total),
     "must be a whole number from 1 to 16777216"},
    {"exec_egress_window_seconds", 0, 86400, offsetof(struct learn_config, exec_egress_window_s),
     "must be a whole number of seconds from 0 (off) to 86400"},
    {"tunnel_window_seconds", 1, 3600, offsetof(struct learn_config, tunnel_window_s),
     "must be a whole number of seconds from 1 to 3600"},
    {"tunnel_labels", 0, 128, offsetof(struct learn_config, tunnel_labels),
     "must be a whole number from 0 (off) to 128"},
    {"tunnel_min_length", 1, 63, offsetof(struct learn_config, tunnel_min_len),
     "must be a whole number from 1 to 63 (characters of one label)"},
};

int config_learn_parse(json_object *v, struct learn_config *l, config_learn_err err, void *ctx)
{
	int errors = 0;

	if (!json_object_is_type(v, json_type_object)) {
		err(ctx, "learn", "must be an object: {\"stable_seconds\": N, ...}");
		return 1;
	}
	json_object_object_foreach(v, key, val)
	{
		const char *why = NULL;
		size_t i;

		for (i = 0; i < sizeof(learn_keys) / sizeof(learn_keys[0]); i++) {
			int64_t x;

			if (strcmp(key, learn_keys[i].key))
				continue;
			x = json_object_is_type(val, json_type_int) ? json_object_get_int64(val)
								    : -1;
			if (x < learn_keys[i].lo || x > learn_keys[i].hi)
				why = learn_keys[i].why;
			else
				*(uint32_t *)((char *)l + learn_keys[i].off) = (uint32_t)x;
			break;
		}
		if (i < sizeof(learn_keys) / sizeof(learn_keys[0])) {
			/* done */
		} else if (!strcmp(key, "auto_enforce")) {
			if (json_object_is_type(val, json_type_boolean))
				l->auto_enforce = json_object_get_boolean(val);
			else
				why = "must be true or false";
		} else if (!strcmp(key, "tunnel_min_entropy")) {
			double x = json_object_is_type(val, json_type_double) ||
					   json_object_is_type(val, json_type_int)
				       ? json_object_get_double(val)
				       : -1;

			if (x < 0 || x > 6)
				why = "must be a number of bits per character from 0 to 6";
			else
				l->tunnel_entropy_x100 = (uint32_t)(x * 100 + 0.5);
		} else {
			why = "unknown key in \"learn\" (see docs/configuration.md)";
		}
		if (why) {
			err(ctx, key, why);
			errors++;
		}
	}
	return errors;
}
