/* detect_resources.h - the resource rules (docs/alerts.md): cpu-sustained, memory-high and
 * pids-high on the samples of the resource sampler (resources.h), and oom-kill on the
 * kernel's OOM events (MOAT_EV_OOM). Pure decisions, like detect.h: samples and events in,
 * alerts out. A condition that lasts raises one alert when it starts and one INFO alert
 * (the same rule, "state": "cleared") when it ends. */
#ifndef MOAT_DETECT_RESOURCES_H
#define MOAT_DETECT_RESOURCES_H

#include <stdint.h>

#include "alert.h"
#include "config_resources.h"
#include "container.h"
#include "moat/events.h"
#include "resources.h"

#define RESDETECT_MAX_ALERTS 6 /* room for a sample's alerts (one per rule at most) */

/* A condition clears when the value falls below this share of its threshold (percent), so a
 * value that hovers at the threshold does not raise and clear at every sample. CPU clears as
 * soon as one sample is below its threshold (its sustain window already smooths it). */
#define RESDETECT_CLEAR_PCT 95

struct resdetect;

/* The rules' state per container. NULL on ENOMEM. */
struct resdetect *resdetect_new(void);
void resdetect_free(struct resdetect *rd);

/* Judge sample s of container c against thresholds t: fills up to max alerts (max at least
 * RESDETECT_MAX_ALERTS to see them all) and returns how many. A sample of a gone cgroup
 * (RES_F_GONE) forgets the container's state and raises nothing. */
int detect_resources(struct resdetect *rd, const struct resource_thresholds *t,
		     const struct container_info *c, const struct res_sample *s, struct alert *out,
		     int max);

/* Forget containers not judged for more than max_age_ns (CLOCK_MONOTONIC of their samples),
 * as of now_ns. Returns how many went. */
int resdetect_prune(struct resdetect *rd, int64_t now_ns, int64_t max_age_ns);

/* The oom-kill alert from memory.events (pure v2), for a kernel where the OOM program
 * (MOAT_EV_OOM) is not loaded: when sample s counts more OOM kills (oom_kills) than the
 * container's previous sample did. It cannot name the process (the counter does not) and
 * comes at the next sample. Returns 1 with *out filled, or 0. */
int detect_oom_events(struct resdetect *rd, const struct container_info *c,
		      const struct res_sample *s, struct alert *out);

/* The oom-kill alert for OOM event e of container c (NULL: no known container; the alert
 * names the cgroup). Fills *out and returns 1. offset_ns turns the event's boot time into
 * Unix time. */
int detect_oom(const struct moat_oom_event *e, const struct container_info *c, int64_t offset_ns,
	       struct alert *out);

#endif /* MOAT_DETECT_RESOURCES_H */
