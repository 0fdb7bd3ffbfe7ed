/* netrules_maps.c - the pinned maps of each pin directory, opened once per process and kept
 * until netrules_close; the writers' lock and the key walk the other netrules files use.
 *
 * A process may use several pin directories (moat trace loads its own beside the shared
 * one; tests make private ones), so the open maps are kept per directory, in a short list.
 * An open map is the object that was pinned when it was opened: loader_clear, which removes
 * the pins, closes them here, so a directory cleared and loaded again in the same process is
 * opened afresh. Another process clearing and loading a directory is not noticed: moat run,
 * which holds the ring buffer of the objects it loaded anyway, is restarted after
 * `moat clear`. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "netrules_int.h"

/* As pinned by the loader (bpf/maps.bpf.h, LIBBPF_PIN_BY_NAME). */
static const char *const map_names[NR_MAPS] = {
    [NR_NET_RULES_V4] = "net_rules_v4", [NR_NET_RULES_V6] = "net_rules_v6",
    [NR_DOMAIN_RULES] = "domain_rules", [NR_RULES_GEN] = "rules_gen",
    [NR_CGROUP_CFG] = "cgroup_cfg",	[NR_CGROUP_STATE] = "cgroup_state",
    [NR_EXEC_DENY] = "exec_deny",	[NR_STATS] = "stats",
    [NR_SETTINGS] = "settings",		[NR_RESOLVERS] = "resolvers",
    [NR_LEARNED_V4] = "learned_v4",	[NR_LEARNED_V6] = "learned_v6",
    [NR_VETH_CFG] = "veth_cfg",		[NR_EXEC_ALLOW] = "exec_allow",
};

/* The open maps of one pin directory. */
struct pin_maps {
	struct pin_maps *next;
	int fd[NR_MAPS]; /* -1: not open */
	char dir[PATH_MAX];
};

static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pin_maps *maps_list;
static int maps_atexit;

static void close_at_exit(void)
{
	netrules_close(NULL);
}

/* The length of dir without trailing slashes ("/sys/fs/bpf/moat/" is "/sys/fs/bpf/moat"),
 * at least 1 ("/" stays "/"). */
static size_t dir_len(const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n;
}

static int same_dir(const struct pin_maps *p, const char *dir)
{
	size_t n = dir_len(dir);

	return strlen(p->dir) == n && strncmp(p->dir, dir, n) == 0;
}

/* The entry of dir, added when missing. NULL + errno (ENOMEM, ENAMETOOLONG). Under
 * maps_lock. */
static struct pin_maps *pin_maps_of(const char *dir)
{
	struct pin_maps *p;
	size_t n = dir_len(dir);

	for (p = maps_list; p; p = p->next)
		if (same_dir(p, dir))
			return p;
	if (n >= sizeof(p->dir)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->dir, dir, n);
	for (int m = 0; m < NR_MAPS; m++)
		p->fd[m] = -1;
	if (!maps_atexit && atexit(close_at_exit) == 0)
		maps_atexit = 1;
	p->next = maps_list;
	maps_list = p;
	return p;
}

int netrules_map_fd(const char *pin_dir, enum netrules_map m)
{
	struct pin_maps *p;
	char path[PATH_MAX];
	int fd;

	if (!pin_dir || m < 0 || m >= NR_MAPS)
		return -EINVAL;
	pthread_mutex_lock(&maps_lock);
	p = pin_maps_of(pin_dir);
	if (!p) {
		fd = -errno;
	} else if ((fd = p->fd[m]) < 0) {
		if (snprintf(path, sizeof(path), "%s/%s", p->dir, map_names[m]) >=
		    (int)sizeof(path)) {
			fd = -ENAMETOOLONG;
		} else {
			fd = bpf_obj_get(path);
			if (fd < 0)
				fd = -errno;
			else
				p->fd[m] = fd;
		}
	}
	pthread_mutex_unlock(&maps_lock);
	return fd;
}

void netrules_close(const char *pin_dir)
{
	struct pin_maps **link, *p;

	pthread_mutex_lock(&maps_lock);
	for (link = &maps_list; (p = *link);) {
		if (pin_dir && !same_dir(p, pin_dir)) {
			link = &p->next;
			continue;
		}
		for (int m = 0; m < NR_MAPS; m++)
			if (p->fd[m] >= 0)
				close(p->fd[m]);
		*link = p->next;
		free(p);
	}
	pthread_mutex_unlock(&maps_lock);
}

int netrules_lock(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX)) {
		int err = errno;

		close(fd);
		errno = err;
		fd = -1;
	}
	return fd;
}

void netrules_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int netrules_collect_keys(int fd, size_t ksize, int (*want)(const void *key, void *ctx), void *ctx,
			  uint8_t **out)
{
	uint8_t key[sizeof(struct moat_domain_key)], next[sizeof(struct moat_domain_key)];
	uint8_t *keys = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (want(next, ctx)) {
			if (n == cap) {
				void *nk = realloc(keys, (cap = cap ? cap * 2 : 256) * ksize);

				if (!nk) {
					free(keys);
					return -ENOMEM;
				}
				keys = nk;
			}
			memcpy(keys + n++ * ksize, next, ksize);
		}
		memcpy(key, next, ksize);
		prev = key;
	}
	*out = keys;
	return (int)n;
}

int netrules_want_any(const void *key, void *ctx)
{
	(void)key;
	(void)ctx;
	return 1;
}
