/* dockerev.h - Docker's events in moat run: the inventory follows them, a container that
 * starts gets its kernel settings and one that dies loses them, the fair shares follow the
 * count, and the lifecycle detection alerts (an unhealthy container is paused like any
 * CRITICAL finding). */
#ifndef MOAT_DOCKEREV_H
#define MOAT_DOCKEREV_H

struct daemon;
struct docker_event;

/* Handle one event of the Docker watcher (dockerwatch.h), in the loop's thread. */
void dockerev_handle(struct daemon *d, const struct docker_event *ev);

#endif /* MOAT_DOCKEREV_H */
