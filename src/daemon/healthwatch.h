/* healthwatch.h - the health checker in moat run: containers with a healthcheck are read
 * (dockerhealth.h) when Docker's events say a check ran or the status changed, and every
 * "health": {"poll_seconds"} besides; N failed checks in a row (health.h) make a CRITICAL
 * `health-failing` alert that runs the container's policy (the default one pauses). */
#ifndef MOAT_HEALTHWATCH_H
#define MOAT_HEALTHWATCH_H

struct daemon;
struct container_info;
struct docker_event;

/* Start the reader thread. Returns 0 or -errno (logged). */
int healthwatch_start(struct daemon *d);
void healthwatch_stop(struct daemon *d);

/* Its pipe (EPOLLIN), -1 when not started. */
int healthwatch_fd(const struct daemon *d);

/* Track c when it runs, has a healthcheck and the checker is on for it; else stop. */
void healthwatch_apply(struct daemon *d, const struct container_info *c);
void healthwatch_apply_all(struct daemon *d);

/* A Docker event of container c (may be NULL): a health_status change or the end of an
 * exec (a check's, perhaps) has its health read at once; die and destroy forget it. */
void healthwatch_event(struct daemon *d, const struct docker_event *ev,
		       const struct container_info *c);

/* Readings are waiting: judge them. */
void healthwatch_on_ready(struct daemon *d);

#endif /* MOAT_HEALTHWATCH_H */
