/* config_learn.h - the learn-mode settings: the "learn" section of the configuration file
 * (the baseline store's caps, when a baseline counts as stable, the opt-in switch to enforce,
 * and the thresholds of the deviation detections). docs/configuration.md documents every key;
 * docs/learn.md tells how they work together. */
#ifndef MOAT_CONFIG_LEARN_H
#define MOAT_CONFIG_LEARN_H

#include <stdint.h>
#include <json-c/json.h>

struct learn_config {
	uint32_t stable_s;	       /* no new item for this long: the baseline is stable */
	int auto_enforce;	       /* a learn policy switches to enforce once stable */
	uint32_t max_images;	       /* images with a baseline; the least recently seen goes */
	uint32_t max_items_per_image;  /* items one image's baseline holds; more are refused */
	uint32_t max_items_total;      /* items all baselines hold together */
	uint32_t exec_egress_window_s; /* exec-then-egress: shell/interpreter -> new egress */
	uint32_t tunnel_window_s;      /* dns-tunnel: the window labels are counted over */
	uint32_t tunnel_labels;	       /* ... unique qualifying labels under one parent */
	uint32_t tunnel_min_len;       /* a label qualifies from this many characters ... */
	uint32_t tunnel_entropy_x100;  /* ... with at least this Shannon entropy (bits/char x100) */
};

/* The defaults: stable after 24 h, no automatic switch, 256 images, 4096 items per image,
 * 262144 in all, a 60 s exec-then-egress window, dns-tunnel at 20 unique labels of 24+
 * characters with an entropy of 3.5 bits per character or more within 60 s. */
void config_learn_defaults(struct learn_config *l);

typedef void (*config_learn_err)(void *ctx, const char *key, const char *msg);

/* Parse the configuration's "learn" object v over l. Errors (wrong type, out of range,
 * unknown key) go to err(ctx, key, message), one call each; returns how many. */
int config_learn_parse(json_object *v, struct learn_config *l, config_learn_err err, void *ctx);

#endif /* MOAT_CONFIG_LEARN_H */
