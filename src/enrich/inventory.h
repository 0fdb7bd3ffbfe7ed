/* inventory.h - which container a cgroup id (or a name, or an id) belongs
 * to, kept current from Docker's events or, without them, by re-listing.
 *
 * Two ways to use it:
 *  - the daemon: inventory_open(), then feed every event of a dockerwatch
 *    to inventory_apply() (it re-lists on "connected"/"reconnected") and
 *    turn inventory_set_refresh_on_miss(inv, 0);
 *  - moat trace and the CLI, with no events stream: inventory_open() and
 *    inventory_lookup()/inventory_find(), which reload on a miss.
 * Either way a cgroup id not known yet is resolved from its cgroup path
 * (.../docker/<id> or .../docker-<id>.scope) and one inspect, without
 * waiting for Docker's "start" event: see inventory_resolve_cgroup().
 *
 * Single-threaded. A container_info pointer returned by any function here
 * stays valid until the next call to inventory_apply, inventory_resync,
 * inventory_resolve_cgroup, inventory_close, or a lookup/find that missed
 * its cache. Containers that die or are destroyed stay (state "exited",
 * "dead" or "removed") for INVENTORY_GRACE_NS, so late events still
 * resolve. */
#ifndef MOAT_INVENTORY_H
#define MOAT_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "docker.h"
#include "dockerwatch.h"

#define INVENTORY_GRACE_NS   10000000000LL /* how long gone containers are kept */
#define INVENTORY_MISS_SLOTS 32
#define INVENTORY_ALIASES    256 /* child cgroups of containers remembered */

struct inventory_entry;

struct inventory {
	struct docker *docker; /* NULL when Docker is not reachable; usable for actions */
	char cg_mount[4096];
	struct inventory_entry **es; /* every known container, gone ones included */
	int n, cap;
	/* cgroup id -> entry: open addressing, rebuilt on each change. */
	uint64_t *hkeys;
	struct inventory_entry **hvals;
	size_t hcap;
	/* cgroup ids that resolved to no container, not retried for a while. */
	struct {
		uint64_t cgid;
		int64_t until;
	} miss[INVENTORY_MISS_SLOTS];
	int miss_next;
	/* Child cgroups of containers (a container moved processes into a cgroup of its own):
	 * their ids, and the id of the container's cgroup they are below. */
	struct {
		uint64_t sub, parent;
	} alias[INVENTORY_ALIASES];
	int alias_next;
	int refresh_on_miss;
	int64_t last_refresh; /* CLOCK_MONOTONIC ns */
	unsigned gen;	      /* resync generation */
};

/* Connect to Docker (quietly: without it events simply carry no container)
 * and load the running containers, each inspected. Returns 0 or -errno
 * (-ENOTCONN without Docker). inventory_close() is needed either way. */
int inventory_open(struct inventory *inv, const char *cg_mount);
void inventory_close(struct inventory *inv);

/* With on (the default) a lookup miss that inventory_resolve_cgroup()
 * cannot answer reloads the whole list, at most every 200 ms. */
void inventory_set_refresh_on_miss(struct inventory *inv, int on);

/* The container whose cgroup is cgid, or that has cgid as a child cgroup (found below
 * its cgroup directory), or NULL. A miss tries inventory_resolve_cgroup(), then (if enabled)
 * a reload; a cgroup id that is still unknown is not retried for a second. */
const struct container_info *inventory_lookup(struct inventory *inv, uint64_t cgid);

/* Find a container by name, full id or id prefix (at least 4 characters),
 * preferring one that is alive. On a miss Docker is asked directly (so a
 * stopped container is found too, with cgroup_id 0). NULL when none. */
const struct container_info *inventory_find(struct inventory *inv, const char *name_or_id);

/* Update from one dockerwatch event: create/start/restart/rename/update
 * and network connect/disconnect re-inspect the container; pause, unpause
 * and health_status set state/health; die marks it gone ("exited", with
 * the exit code), destroy marks it "removed"; "connected"/"reconnected"
 * reopen the API connection and resync. Other actions are ignored.
 * Returns 0 or -errno of the Docker request (-ENOENT: already removed,
 * which is then recorded). */
int inventory_apply(struct inventory *inv, const struct docker_event *ev);

/* Re-list the running containers: new ones are added, known ones updated,
 * ones that are no longer listed are inspected once more and marked gone.
 * Reconnects to Docker when needed. Returns 0 or -errno. */
int inventory_resync(struct inventory *inv);

/* Make cgid known right away when it is a container cgroup directly below
 * one of Docker's parent cgroups (<mount>/docker/<64 hex> for the cgroupfs
 * driver, <mount>/system.slice/docker-<64 hex>.scope for systemd): the
 * parent's children are scanned for the inode cgid, the container id is
 * read from the name and inspected. Returns 0 when cgid is known now,
 * -ENOENT when it is no such cgroup, -ENOTCONN without Docker, or the
 * inspect's -errno. */
int inventory_resolve_cgroup(struct inventory *inv, uint64_t cgid);

/* Iteration for status output: i from 0 to inventory_count()-1. */
int inventory_count(const struct inventory *inv);
const struct container_info *inventory_at(const struct inventory *inv, int i);

/* CLOCK_MONOTONIC ns at which c was seen to die or vanish; 0 while alive. */
int64_t inventory_gone_since(const struct container_info *c);

#endif /* MOAT_INVENTORY_H */
