/* inventory.h - which container a cgroup id belongs to, from Docker. */
#ifndef MOAT_INVENTORY_H
#define MOAT_INVENTORY_H

#include <stdint.h>
#include <time.h>

#include "docker.h"

struct inventory {
	struct docker *docker; /* NULL when Docker is not reachable */
	char cg_mount[4096];
	struct container_info *cs;
	int n;
	struct timespec last_refresh;
};

/* Connect to Docker (quietly: without it events simply carry no container)
 * and load the running containers. Returns 0 or -errno. */
int inventory_open(struct inventory *inv, const char *cg_mount);
void inventory_close(struct inventory *inv);

/* The container whose cgroup is cgid, or NULL. On a miss the container
 * list is reloaded, at most every 200 ms, so a container started after
 * moat is found on its first events. */
const struct container_info *inventory_lookup(struct inventory *inv, uint64_t cgid);

/* Find a container by name or by id prefix (at least 4 characters), with
 * a reload when not found. Returns NULL when there is none. */
const struct container_info *inventory_find(struct inventory *inv, const char *name_or_id);

#endif /* MOAT_INVENTORY_H */
