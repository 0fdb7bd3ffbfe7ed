/* resmon.h - moat run's resource watch: the inventory's containers to the resource sampler
 * (resources.h, its own thread), and each pass's samples through the resource rules
 * (detect_resources.h) to alerts and policy actions. The loop only joins samples with
 * containers and judges them; it never reads a cgroup file. */
#ifndef MOAT_RESMON_H
#define MOAT_RESMON_H

#include <json-c/json.h>

struct daemon;

/* Start the sampler (when resources.enabled) with the running containers as targets.
 * Returns 0, or -1 after logging (moat run goes on without resource stats). */
int resmon_start(struct daemon *d);

/* The sampler's eventfd for the loop's epoll, -1 when off. */
int resmon_fd(const struct daemon *d);

/* A pass finished: judge its samples, emit the alerts, act on them; then give the sampler
 * the current containers. */
void resmon_on_pass(struct daemon *d);

/* Stop the sampler and free the rules' state. */
void resmon_stop(struct daemon *d);

/* For moat status: {"enabled","interval_ms","passes","containers","last_pass_us",
 * "max_pass_us"}. */
json_object *resmon_status_json(struct daemon *d);

/* The sources container id's stats come from ({"cpu":"cgroup","memory":"procs",...}), or
 * NULL when not sampled. */
json_object *resmon_sources_json(struct daemon *d, const char *id);

/* The resources control command's answer: the containers matching container (name, id or
 * prefix; NULL or "": every one), with their history when history is set. */
json_object *resmon_query_json(struct daemon *d, const char *container, int history);

#endif /* MOAT_RESMON_H */
