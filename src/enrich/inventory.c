/* inventory.c - map cgroup ids, names and ids to Docker containers. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "clock.h"
#include "inventory.h"
#include "log.h"

#define INVENTORY_MIN_REFRESH_NS 200000000LL
#define INVENTORY_MISS_NS	 1000000000LL

struct inventory_entry {
	struct container_info info; /* first: a container_info * is an entry * */
	int64_t gone;		    /* CLOCK_MONOTONIC ns when seen gone, 0 = alive */
	unsigned seen;		    /* generation of the last resync that listed it */
};

int64_t inventory_gone_since(const struct container_info *c)
{
	return ((const struct inventory_entry *)c)->gone;
}

static int is_gone_state(const char *state)
{
	return !strcmp(state, "exited") || !strcmp(state, "dead") || !strcmp(state, "removed");
}

static size_t slot(uint64_t cgid, size_t cap)
{
	return (cgid * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

/* Rebuild the cgroup id index. On ENOMEM the old one is kept and lookups
 * fall back to a scan (see by_cgroup). */
static void reindex(struct inventory *inv)
{
	size_t cap = 16;
	uint64_t *keys;
	struct inventory_entry **vals;

	while (cap < (size_t)inv->n * 2)
		cap <<= 1;
	keys = calloc(cap, sizeof(*keys));
	vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		free(inv->hkeys);
		free(inv->hvals);
		inv->hkeys = NULL;
		inv->hvals = NULL;
		inv->hcap = 0;
		return;
	}
	for (int i = 0; i < inv->n; i++) {
		uint64_t k = inv->es[i]->info.cgroup_id;
		size_t s;

		if (!k)
			continue;
		for (s = slot(k, cap); keys[s] && keys[s] != k; s = (s + 1) & (cap - 1))
			;
		keys[s] = k;
		vals[s] = inv->es[i];
	}
	free(inv->hkeys);
	free(inv->hvals);
	inv->hkeys = keys;
	inv->hvals = vals;
	inv->hcap = cap;
}

static struct inventory_entry *by_cgroup(const struct inventory *inv, uint64_t cgid)
{
	if (!cgid)
		return NULL;
	if (!inv->hcap) {
		for (int i = 0; i < inv->n; i++)
			if (inv->es[i]->info.cgroup_id == cgid)
				return inv->es[i];
		return NULL;
	}
	for (size_t s = slot(cgid, inv->hcap); inv->hkeys[s]; s = (s + 1) & (inv->hcap - 1))
		if (inv->hkeys[s] == cgid)
			return inv->hvals[s];
	return NULL;
}

static struct inventory_entry *by_id(const struct inventory *inv, const char *id)
{
	for (int i = 0; i < inv->n; i++)
		if (strcmp(inv->es[i]->info.id, id) == 0)
			return inv->es[i];
	return NULL;
}

/* Exact name, full id, or id prefix of at least 4; alive ones first. */
static struct inventory_entry *by_name(const struct inventory *inv, const char *s)
{
	struct inventory_entry *dead = NULL;
	size_t len = strlen(s);

	for (int i = 0; i < inv->n; i++) {
		struct inventory_entry *e = inv->es[i];

		if (strcmp(e->info.name, s) && (len < 4 || strncmp(e->info.id, s, len)))
			continue;
		if (!e->gone)
			return e;
		if (!dead)
			dead = e;
	}
	return dead;
}

/* Drop containers gone for longer than the grace period. */
static void expire(struct inventory *inv)
{
	int64_t now = clock_mono_ns();
	int k = 0, dropped = 0;

	for (int i = 0; i < inv->n; i++) {
		struct inventory_entry *e = inv->es[i];

		if (e->gone && now - e->gone > INVENTORY_GRACE_NS) {
			container_info_clear(&e->info);
			free(e);
			dropped++;
			continue;
		}
		inv->es[k++] = e;
	}
	inv->n = k;
	if (dropped)
		reindex(inv);
}

static void mark_gone(struct inventory_entry *e, const char *state)
{
	if (state)
		snprintf(e->info.state, sizeof(e->info.state), "%s", state);
	e->info.pid = 0;
	if (!e->gone)
		e->gone = clock_mono_ns();
}

/* Take ci (moved in: the caller must not clear it) as the latest view of
 * its container. A cgroup id learned earlier survives an inspect that has
 * none (the container has exited, or its pid is not up yet). Returns the
 * entry, or NULL on ENOMEM (ci is then cleared). */
static struct inventory_entry *upsert(struct inventory *inv, struct container_info *ci)
{
	struct inventory_entry *e = by_id(inv, ci->id);
	int reidx = 1;

	if (e) {
		if (!ci->cgroup_id) {
			ci->cgroup_id = e->info.cgroup_id;
			snprintf(ci->cgroup, sizeof(ci->cgroup), "%s", e->info.cgroup);
		}
		reidx = ci->cgroup_id != e->info.cgroup_id;
		container_info_clear(&e->info);
	} else {
		if (inv->n == inv->cap) {
			int cap = inv->cap ? inv->cap * 2 : 16;
			struct inventory_entry **es = realloc(inv->es, cap * sizeof(*es));

			if (!es) {
				container_info_clear(ci);
				return NULL;
			}
			inv->es = es;
			inv->cap = cap;
		}
		e = calloc(1, sizeof(*e));
		if (!e) {
			container_info_clear(ci);
			return NULL;
		}
		inv->es[inv->n++] = e;
	}
	e->info = *ci;
	memset(ci, 0, sizeof(*ci));
	if (is_gone_state(e->info.state))
		mark_gone(e, NULL);
	else
		e->gone = 0;
	if (reidx)
		reindex(inv);
	return e;
}

/* Inspect id and record the answer. -ENOENT marks a known entry removed. */
static int reinspect(struct inventory *inv, const char *id, struct inventory_entry **out)
{
	struct container_info ci;
	struct inventory_entry *e;
	int err;

	if (out)
		*out = NULL;
	if (!inv->docker)
		return -ENOTCONN;
	err = docker_inspect(inv->docker, id, &ci);
	if (err == -ENOENT && (e = by_id(inv, id)))
		mark_gone(e, "removed");
	if (err)
		return err;
	e = upsert(inv, &ci);
	if (!e)
		return -ENOMEM;
	if (out)
		*out = e;
	return 0;
}

int inventory_resync(struct inventory *inv)
{
	struct container_info *cs;
	int n, err;

	expire(inv);
	if (!inv->docker) {
		inv->docker = docker_open(NULL);
		if (!inv->docker)
			return -ENOTCONN;
		docker_set_cgroup_mount(inv->docker, inv->cg_mount);
	}
	inv->last_refresh = clock_mono_ns();
	err = docker_list(inv->docker, &cs, &n);
	if (err)
		return err;
	inv->gen++;
	for (int i = 0; i < n; i++) {
		struct inventory_entry *e = upsert(inv, &cs[i]);

		if (e)
			e->seen = inv->gen;
	}
	docker_list_free(cs, n);
	/* Known as alive but no longer listed: ask once what became of it. */
	for (int i = 0; i < inv->n; i++) {
		struct inventory_entry *e = inv->es[i];
		char id[sizeof(e->info.id)];

		if (e->gone || e->seen == inv->gen || !strcmp(e->info.state, "created"))
			continue;
		snprintf(id, sizeof(id), "%s", e->info.id);
		reinspect(inv, id, NULL);
	}
	memset(inv->miss, 0, sizeof(inv->miss));
	return 0;
}

int inventory_open(struct inventory *inv, const char *cg_mount)
{
	memset(inv, 0, sizeof(*inv));
	snprintf(inv->cg_mount, sizeof(inv->cg_mount), "%s", cg_mount);
	inv->refresh_on_miss = 1;
	inv->docker = docker_open(NULL);
	if (!inv->docker) {
		log_info("Docker is not reachable (DOCKER_HOST or /var/run/docker.sock): "
			 "events will name cgroup ids, not containers");
		return -ENOTCONN;
	}
	docker_set_cgroup_mount(inv->docker, cg_mount);
	return inventory_resync(inv);
}

void inventory_close(struct inventory *inv)
{
	for (int i = 0; i < inv->n; i++) {
		container_info_clear(&inv->es[i]->info);
		free(inv->es[i]);
	}
	free(inv->es);
	free(inv->hkeys);
	free(inv->hvals);
	docker_close(inv->docker);
	memset(inv, 0, sizeof(*inv));
}

void inventory_set_refresh_on_miss(struct inventory *inv, int on)
{
	inv->refresh_on_miss = on;
}

/* The container id in a cgroup directory name, copied to id[65]: "<64
 * hex>" (cgroupfs driver) or "docker-<64 hex>.scope" (systemd driver). */
static int id_from_dirname(const char *name, char *id)
{
	const char *p = name;
	size_t i;

	if (strncmp(p, "docker-", 7) == 0)
		p += 7;
	for (i = 0; i < 64; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	if (p == name ? p[64] != 0 : strcmp(p + 64, ".scope") != 0)
		return 0;
	memcpy(id, p, 64);
	id[64] = 0;
	return 1;
}

/* Find the container cgroup directory with inode cgid below a Docker
 * parent. Fills id and rel (path below the mount). Returns 0 or -ENOENT. */
static int find_cgroup_dir(const struct inventory *inv, uint64_t cgid, char *id, char *rel,
			   size_t rel_len)
{
	char parents[CGROUP_MAX_PARENTS][4096], path[8192];
	int np = cgroup_detect_parents(inv->cg_mount, parents, CGROUP_MAX_PARENTS);
	size_t ml = strlen(inv->cg_mount);

	for (int i = 0; i < np; i++) {
		DIR *dir = opendir(parents[i]);
		struct dirent *de;

		if (!dir)
			continue;
		while ((de = readdir(dir))) {
			struct stat st;

			if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
			    !id_from_dirname(de->d_name, id))
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", parents[i], de->d_name) >=
				(int)sizeof(path) ||
			    stat(path, &st) || st.st_ino != cgid)
				continue;
			closedir(dir);
			return snprintf(rel, rel_len, "%s", path + ml) < (int)rel_len
				   ? 0
				   : -ENAMETOOLONG;
		}
		closedir(dir);
	}
	return -ENOENT;
}

/* Is the cgroup with inode cgid somewhere below dir (depth at most 4, at most *budget
 * directories looked at)? */
static int below(const char *dir, uint64_t cgid, int depth, int *budget)
{
	DIR *d;
	struct dirent *de;
	char path[4096];
	int found = 0;

	if (depth > 4 || *budget <= 0 || !(d = opendir(dir)))
		return 0;
	while (!found && (de = readdir(d)) && --*budget > 0) {
		struct stat st;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		found = st.st_ino == cgid || below(path, cgid, depth + 1, budget);
	}
	closedir(d);
	return found;
}

/* A child cgroup of a known container: remember it as an alias of the container's cgroup.
 * Returns the entry or NULL. */
static struct inventory_entry *resolve_child(struct inventory *inv, uint64_t cgid)
{
	for (int i = 0; i < INVENTORY_ALIASES; i++)
		if (inv->alias[i].sub == cgid)
			return by_cgroup(inv, inv->alias[i].parent);
	for (int i = 0; i < inv->n; i++) {
		struct inventory_entry *e = inv->es[i];
		char dir[4096 + 256];
		int budget = 512;

		if (e->gone || !e->info.cgroup_id || !e->info.cgroup[0])
			continue;
		snprintf(dir, sizeof(dir), "%s%s", inv->cg_mount, e->info.cgroup);
		if (below(dir, cgid, 1, &budget)) {
			inv->alias[inv->alias_next].sub = cgid;
			inv->alias[inv->alias_next].parent = e->info.cgroup_id;
			inv->alias_next = (inv->alias_next + 1) % INVENTORY_ALIASES;
			return e;
		}
	}
	return NULL;
}

int inventory_resolve_cgroup(struct inventory *inv, uint64_t cgid)
{
	struct container_info ci;
	char id[65], rel[sizeof(ci.cgroup)];
	int err;

	if (by_cgroup(inv, cgid))
		return 0;
	if (!cgid)
		return -ENOENT;
	err = find_cgroup_dir(inv, cgid, id, rel, sizeof(rel));
	if (err)
		return err;
	if (!inv->docker)
		return -ENOTCONN;
	err = docker_inspect(inv->docker, id, &ci);
	if (err)
		return err;
	/* Its init may not run yet (Docker has not reported "start"): the
	 * cgroup we found is the container's either way. */
	ci.cgroup_id = cgid;
	snprintf(ci.cgroup, sizeof(ci.cgroup), "%s", rel);
	expire(inv);
	return upsert(inv, &ci) ? 0 : -ENOMEM;
}

static int missed_recently(struct inventory *inv, uint64_t cgid, int64_t now)
{
	for (int i = 0; i < INVENTORY_MISS_SLOTS; i++)
		if (inv->miss[i].cgid == cgid && inv->miss[i].until > now)
			return 1;
	return 0;
}

const struct container_info *inventory_lookup(struct inventory *inv, uint64_t cgid)
{
	struct inventory_entry *e = by_cgroup(inv, cgid);
	int64_t now;

	if (e || !cgid)
		return e ? &e->info : NULL;
	for (int i = 0; i < INVENTORY_ALIASES; i++)
		if (inv->alias[i].sub == cgid && (e = by_cgroup(inv, inv->alias[i].parent)))
			return &e->info;
	if (!inv->docker)
		return NULL;
	now = clock_mono_ns();
	if (missed_recently(inv, cgid, now))
		return NULL;
	if (inventory_resolve_cgroup(inv, cgid) == 0)
		return &by_cgroup(inv, cgid)->info;
	if ((e = resolve_child(inv, cgid)))
		return &e->info;
	if (inv->refresh_on_miss && now - inv->last_refresh >= INVENTORY_MIN_REFRESH_NS &&
	    inventory_resync(inv) == 0 && (e = by_cgroup(inv, cgid)))
		return &e->info;
	inv->miss[inv->miss_next].cgid = cgid;
	inv->miss[inv->miss_next].until = now + INVENTORY_MISS_NS;
	inv->miss_next = (inv->miss_next + 1) % INVENTORY_MISS_SLOTS;
	return NULL;
}

const struct container_info *inventory_find(struct inventory *inv, const char *s)
{
	struct inventory_entry *e = by_name(inv, s);
	size_t len = strlen(s);

	/* A gone one is final when s is its full id; a name may be reused. */
	if ((e && (!e->gone || !strcmp(e->info.id, s))) || !*s || !inv->docker)
		return e ? &e->info : NULL;
	/* Docker resolves names, ids and id prefixes itself; accept only what
	 * by_name would (no 1-3 character id prefixes). */
	if (reinspect(inv, s, &e) == 0 && e &&
	    (strcmp(e->info.name, s) == 0 || (len >= 4 && strncmp(e->info.id, s, len) == 0)))
		return &e->info;
	e = by_name(inv, s);
	return e ? &e->info : NULL;
}

static void set_health(struct inventory_entry *e, const char *action)
{
	const char *p = action + strlen("health_status");

	while (*p == ':' || *p == ' ')
		p++;
	snprintf(e->info.health, sizeof(e->info.health), "%s", p);
}

int inventory_apply(struct inventory *inv, const struct docker_event *ev)
{
	const char *a = ev->action;
	struct inventory_entry *e;

	expire(inv);
	if (strcmp(ev->type, "moat") == 0) {
		if (strcmp(a, "connected") && strcmp(a, "reconnected"))
			return 0;
		/* dockerd may have restarted (another version): start afresh. */
		docker_close(inv->docker);
		inv->docker = NULL;
		return inventory_resync(inv);
	}
	if (!ev->id[0])
		return 0;
	e = by_id(inv, ev->id);
	if (strcmp(ev->type, "network") == 0) {
		if (!strcmp(a, "connect") || !strcmp(a, "disconnect"))
			return e ? reinspect(inv, ev->id, NULL) : 0;
		return 0;
	}
	if (!strcmp(a, "create") || !strcmp(a, "start") || !strcmp(a, "restart") ||
	    !strcmp(a, "rename") || !strcmp(a, "update"))
		return reinspect(inv, ev->id, NULL);
	if (!strcmp(a, "pause") || !strcmp(a, "unpause")) {
		if (!e)
			return reinspect(inv, ev->id, NULL);
		snprintf(e->info.state, sizeof(e->info.state), "%s",
			 a[0] == 'p' ? "paused" : "running");
		return 0;
	}
	if (!strncmp(a, "health_status", 13)) {
		if (!e)
			return reinspect(inv, ev->id, NULL);
		set_health(e, a);
		return 0;
	}
	if (e && !strcmp(a, "die")) {
		if (ev->exit_code >= 0)
			e->info.exit_code = ev->exit_code;
		mark_gone(e, "exited");
	} else if (e && !strcmp(a, "destroy")) {
		mark_gone(e, "removed");
	}
	return 0;
}

int inventory_count(const struct inventory *inv)
{
	return inv->n;
}

const struct container_info *inventory_at(const struct inventory *inv, int i)
{
	return i >= 0 && i < inv->n ? &inv->es[i]->info : NULL;
}
