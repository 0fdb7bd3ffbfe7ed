/* health.h - the health checker's rule (the seed's, exactly): CRITICAL `health-failing` once
 * a container has failed N healthchecks in a row (Docker's FailingStreak; N is "health":
 * {"failures"}, default 2), once per failing spell: a passing check ends the spell. Pure:
 * readings in (dockerhealth.h), alerts out. */
#ifndef MOAT_HEALTH_H
#define MOAT_HEALTH_H

#include "alert.h"
#include "container.h"
#include "dockerhealth.h"

#define HEALTH_TABLE 1024

/* Containers in a failing spell that was alerted on. */
struct health_table {
	struct {
		char id[65];
	} alerted[HEALTH_TABLE];
	int n;
};

/* Judge reading r of container c (NULL: only r->id is known) with threshold failures (>= 1)
 * at time now_ns (Unix ns, for the alert). Returns 1 with *out filled (the caller releases
 * it) when the spell reaches the threshold for the first time, else 0; a reading with no
 * failing streak, or of a container that is gone, ends its spell. */
int detect_health(struct health_table *t, const struct docker_health *r,
		  const struct container_info *c, int failures, int64_t now_ns, struct alert *out);

/* Forget container id (it died or was removed). */
void health_forget(struct health_table *t, const char *id);

#endif /* MOAT_HEALTH_H */
