/* learnrec.h - learn mode in moat run: kernel events of learning containers into the
 * baseline store (enrich/baseline.h), the deviation detections (detect/deviation.h) for
 * containers whose image has a baseline in force, the store's saves (a forked child from the
 * housekeeping tick, like the registry's), the opt-in switch from learn to enforce, and the
 * `learn` control command. Which containers learn: those whose policy has egress "learn",
 * every container after `moat learn start --all`, and those of images `moat learn start
 * IMAGE` named. A baseline is in force for an image that has one and is not learning. */
#ifndef MOAT_LEARNREC_H
#define MOAT_LEARNREC_H

#include <json-c/json.h>

#include "alert.h"
#include "container.h"
#include "moat/events.h"

struct daemon;

/* Set up the store and the detections' state (d->learn), loading the file unless skip_sync.
 * 0 or -ENOMEM. */
int learnrec_open(struct daemon *d);
/* Save the store in place (at exit) and free it. */
void learnrec_close(struct daemon *d);

/* The store's file: STATE_DIR/baseline.json. */
void learnrec_path(const struct daemon *d, char *buf, size_t len);

/* One kernel event of container c (NULL: none; nothing to do) other than DNS: record it, or
 * run the deviation detections. Fills up to max alerts; returns how many. */
int learnrec_event(struct daemon *d, const struct moat_event_hdr *h, const struct container_info *c,
		   struct alert *out, int max);

/* One DNS event the kernel verified (a query or a counted answer) of container c. */
int learnrec_dns(struct daemon *d, const struct moat_dns_event *q, const struct container_info *c,
		 struct alert *out, int max);

/* Housekeeping, every second: the save every 10 s when something changed; the automatic
 * switch to enforce (learn.auto_enforce) of stable images. */
void learnrec_tick(struct daemon *d);

/* learn.auto_enforce: rewrite, in the policies just loaded, each learn policy whose one
 * image's baseline was switched to enforce: egress enforce, its rule set generated into
 * STATE_DIR/learned/ID.rules.json (default deny), exec_allow and kill_exec (as moat learn
 * policy makes them). Called by rulesets_load_policies before the rule sets load. */
void learnrec_apply_switches(struct daemon *d);

/* The configuration was reloaded: the detections' thresholds follow (the store's caps are
 * read at start only). */
void learnrec_reconfig(struct daemon *d);

/* The learn control command: {"cmd":"learn","op":"start|stop|status|show","image":I}
 * (image "*" or absent with start/stop: every image). New reference. */
json_object *learnrec_command(struct daemon *d, json_object *req);

/* The status of every image at now: [{"image", "learning", "enforced", "stable",
 * "learned_seconds", "containers", "items", "since_last_new", "refused", ...}]. */
json_object *learnrec_status_json(struct daemon *d);

#endif /* MOAT_LEARNREC_H */
