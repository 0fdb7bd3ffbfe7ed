/* inventory.c - map cgroup ids to Docker containers (list on demand). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "log.h"

#define INVENTORY_MIN_REFRESH_NS 200000000LL

static int refresh(struct inventory *inv, int force)
{
	struct container_info *cs;
	struct timespec now;
	int n, err;

	if (!inv->docker)
		return -ENOTCONN;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec - inv->last_refresh.tv_sec) * 1000000000LL +
			      (now.tv_nsec - inv->last_refresh.tv_nsec) <
			  INVENTORY_MIN_REFRESH_NS)
		return -EAGAIN;
	inv->last_refresh = now;
	err = docker_list(inv->docker, inv->cg_mount, &cs, &n);
	if (err)
		return err;
	free(inv->cs);
	inv->cs = cs;
	inv->n = n;
	return 0;
}

int inventory_open(struct inventory *inv, const char *cg_mount)
{
	memset(inv, 0, sizeof(*inv));
	snprintf(inv->cg_mount, sizeof(inv->cg_mount), "%s", cg_mount);
	inv->docker = docker_open(NULL);
	if (!inv->docker) {
		log_info("Docker is not reachable (DOCKER_HOST or /var/run/docker.sock): "
			 "events will name cgroup ids, not containers");
		return -ENOTCONN;
	}
	return refresh(inv, 1);
}

void inventory_close(struct inventory *inv)
{
	docker_close(inv->docker);
	free(inv->cs);
	inv->cs = NULL;
	inv->docker = NULL;
	inv->n = 0;
}

static const struct container_info *by_cgroup(struct inventory *inv, uint64_t cgid)
{
	for (int i = 0; i < inv->n; i++)
		if (inv->cs[i].cgroup_id == cgid)
			return &inv->cs[i];
	return NULL;
}

const struct container_info *inventory_lookup(struct inventory *inv, uint64_t cgid)
{
	const struct container_info *c = by_cgroup(inv, cgid);

	if (c || !cgid || refresh(inv, 0))
		return c;
	return by_cgroup(inv, cgid);
}

static const struct container_info *by_name(struct inventory *inv, const char *s)
{
	size_t len = strlen(s);

	for (int i = 0; i < inv->n; i++)
		if (strcmp(inv->cs[i].name, s) == 0 ||
		    (len >= 4 && strncmp(inv->cs[i].id, s, len) == 0))
			return &inv->cs[i];
	return NULL;
}

const struct container_info *inventory_find(struct inventory *inv, const char *s)
{
	const struct container_info *c = by_name(inv, s);

	if (c || refresh(inv, 1))
		return c;
	return by_name(inv, s);
}
