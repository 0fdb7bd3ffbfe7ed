/* resources_read.c - one sample of one container's cgroup from the kernel's files: the v2
 * controller files where they exist, the measured fallbacks elsewhere (resources.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resources.h"

#define SMALL_FILE   4096	/* cpu.stat, memory.*, pids.*, statm: far less */
#define LIST_CAP     (64 << 10) /* cgroup.procs and cgroup.threads: read at most this much */
#define PAGE_BYTES() ((uint64_t)sysconf(_SC_PAGESIZE))

const char *res_source_name(int src)
{
	switch (src) {
	case RES_SRC_CGROUP: return "cgroup";
	case RES_SRC_PROCS: return "procs";
	case RES_SRC_THREADS: return "threads";
	case RES_SRC_DOCKER: return "docker";
	case RES_SRC_HOST: return "host";
	case RES_SRC_VETH: return "veth";
	default: return "none";
	}
}

/* Read at most cap - 1 bytes of file name under dirfd (O_NONBLOCK: nothing here may wait)
 * into buf, NUL-terminated. Returns the length, or -errno. *full is set when the file had
 * more. */
static ssize_t read_capped(int dirfd, const char *name, char *buf, size_t cap, int *full)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	size_t len = 0;
	ssize_t n = 0;

	if (full)
		*full = 0;
	if (fd < 0)
		return -errno;
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	if (full && len + 1 >= cap) {
		char c;

		*full = read(fd, &c, 1) > 0;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

/* A file holding one number, or "max" (*val = 0, returns 1). Returns 0 with *val set, 1 for
 * "max", or -errno (-EINVAL: not a number). */
static int read_number(int dirfd, const char *name, uint64_t *val)
{
	char buf[64], *end;
	ssize_t n = read_capped(dirfd, name, buf, sizeof(buf), NULL);

	if (n < 0)
		return (int)n;
	if (!strncmp(buf, "max", 3)) {
		*val = 0;
		return 1;
	}
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (end == buf || errno)
		return -EINVAL;
	return 0;
}

/* usage_usec of cpu.stat. */
static int read_cpu(int cgfd, uint64_t *usec)
{
	char buf[SMALL_FILE], *p;
	ssize_t n = read_capped(cgfd, "cpu.stat", buf, sizeof(buf), NULL);

	if (n < 0)
		return (int)n;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "usage_usec ", 11)) {
			*usec = strtoull(p + 11, NULL, 10);
			return 0;
		}
	}
	return -EINVAL;
}

/* The resident set of process pid in bytes from <proc_root>/<pid>/statm (its second field, in
 * pages). statm takes no lock the process can hold (mm counters only). 0 when gone. */
static uint64_t statm_rss(int procfd, const char *pid)
{
	char path[48], buf[256];
	unsigned long long size, resident;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/statm", pid);
	n = read_capped(procfd, path, buf, sizeof(buf), NULL);
	if (n <= 0 || sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * PAGE_BYTES();
}

#define RSS_UNREAD UINT64_MAX

void res_procs_cache_free(struct res_procs_cache *c)
{
	free(c->pid);
	free(c->rss);
	memset(c, 0, sizeof(*c));
}

static int by_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The fallback for memory: the resident sets of the processes in cgroup.procs. At most
 * max_procs statm files are read per sample: first the processes never read (new ones: a
 * process just forked to hold memory is counted at once), then, with what is left, the others
 * in turn (o->cache remembers each one's last figure and where the turn stands), so every
 * process is read again within (processes / max_procs) samples and none can hide for long
 * among many small ones. Processes not read yet count as the average of those read, and the
 * sample says it is an estimate. Without a cache, every sample starts from nothing. Returns
 * 0 or -errno. */
static int read_mem_procs(int cgfd, const struct res_read_opts *o, struct res_sample *s)
{
	struct res_procs_cache none = {0}, *c = o->cache ? o->cache : &none;
	char *buf = malloc(LIST_CAP), *p, *nl;
	uint32_t *pid = NULL;
	uint64_t *rss = NULL, sum = 0, known = 0;
	int procfd = -1, full, n_pid = 0, budget = o->max_procs > 0 ? o->max_procs : 1, err = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = read_capped(cgfd, "cgroup.procs", buf, LIST_CAP, &full);
	if (n < 0) {
		err = (int)n;
		goto out;
	}
	/* At most one pid per two bytes of text. */
	pid = malloc(((size_t)n / 2 + 1) * sizeof(*pid));
	rss = malloc(((size_t)n / 2 + 1) * sizeof(*rss));
	procfd = open(o->proc_root ? o->proc_root : "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!pid || !rss || procfd < 0) {
		err = procfd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (p = buf; *p; p = nl + 1) {
		char *end;
		unsigned long v;

		nl = strchr(p, '\n');
		if (!nl)
			break; /* a cut line at the cap */
		*nl = 0;
		if (!*p || strspn(p, "0123456789") != strlen(p))
			continue;
		v = strtoul(p, &end, 10);
		if (v && v <= UINT32_MAX)
			pid[n_pid++] = (uint32_t)v;
	}
	qsort(pid, (size_t)n_pid, sizeof(*pid), by_u32);
	/* Last figures from the cache (both sorted by pid). */
	for (int i = 0, k = 0; i < n_pid; i++) {
		while (k < c->n && c->pid[k] < pid[i])
			k++;
		rss[i] = k < c->n && c->pid[k] == pid[i] ? c->rss[k] : RSS_UNREAD;
	}
	/* New processes first, then the others in turn from where the last sample stopped. */
	for (int i = 0; i < n_pid && budget > 0; i++) {
		if (rss[i] != RSS_UNREAD)
			continue;
		snprintf(buf, 16, "%u", pid[i]);
		rss[i] = statm_rss(procfd, buf);
		budget--;
	}
	for (int j = 0; j < n_pid && budget > 0; j++) {
		int i = (int)((c->next + (uint32_t)j) % (uint32_t)n_pid);

		snprintf(buf, 16, "%u", pid[i]);
		rss[i] = statm_rss(procfd, buf);
		budget--;
		c->next = (uint32_t)i + 1;
	}
	for (int i = 0; i < n_pid; i++) {
		if (rss[i] == RSS_UNREAD)
			continue;
		sum += rss[i];
		known++;
	}
	if (known < (uint64_t)n_pid) {
		if (known)
			sum += sum / known * ((uint64_t)n_pid - known);
		s->flags |= RES_F_MEM_ESTIMATED;
	}
	if (full)
		s->flags |= RES_F_MEM_ESTIMATED; /* more than 64 KiB of pids: more than counted */
	s->mem_bytes = sum;
	s->mem_src = RES_SRC_PROCS;
	if (c != &none) {
		free(c->pid);
		free(c->rss);
		c->pid = pid;
		c->rss = rss;
		c->n = n_pid;
		pid = NULL;
		rss = NULL;
	}
out:
	if (procfd >= 0)
		close(procfd);
	free(pid);
	free(rss);
	free(buf);
	return err;
}

/* The fallback for pids: the lines of cgroup.threads (one per task). */
static int read_pids_threads(int cgfd, struct res_sample *s)
{
	char *buf = malloc(LIST_CAP);
	uint64_t lines = 0;
	int full;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = read_capped(cgfd, "cgroup.threads", buf, LIST_CAP, &full);
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	free(buf);
	if (n < 0)
		return (int)n;
	if (full)
		s->flags |= RES_F_PIDS_PARTIAL;
	s->pids = lines;
	s->pids_src = RES_SRC_THREADS;
	return 0;
}

/* oom_kill of memory.events (the OOM kills in this cgroup and below). */
static void read_oom_kills(int cgfd, struct res_sample *s)
{
	char buf[SMALL_FILE], *p;

	if (read_capped(cgfd, "memory.events", buf, sizeof(buf), NULL) <= 0)
		return;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "oom_kill ", 9)) {
			s->oom_kills = strtoull(p + 9, NULL, 10);
			s->flags |= RES_F_OOM_EVENTS;
			return;
		}
	}
}

int res_read_cgroup(int cgfd, const struct res_read_opts *o, struct res_sample *s)
{
	uint64_t v;
	int err;

	s->cpu_src = s->mem_src = s->mem_limit_src = s->pids_src = s->pids_limit_src = RES_SRC_NONE;
	s->mem_bytes = s->mem_limit = s->pids = s->pids_limit = 0;
	err = read_cpu(cgfd, &s->cpu_usec);
	if (err == -ENODEV || err == -ENOENT) {
		/* A removed cgroup's open directory answers ENODEV (ENOENT: its files went). */
		s->flags |= RES_F_GONE;
		return -ENODEV;
	}
	if (!err)
		s->cpu_src = RES_SRC_CGROUP;
	/* Memory: memory.current, else the processes. */
	if (!o->no_v2_mem && read_number(cgfd, "memory.current", &v) == 0) {
		s->mem_bytes = v;
		s->mem_src = RES_SRC_CGROUP;
	} else {
		read_mem_procs(cgfd, o, s);
	}
	if (s->mem_src == RES_SRC_CGROUP)
		read_oom_kills(cgfd, s);
	err = o->no_v2_mem ? -ENOENT : read_number(cgfd, "memory.max", &v);
	if (err == 0 && v) {
		s->mem_limit = v;
		s->mem_limit_src = RES_SRC_CGROUP;
	} else if (err < 0 && o->docker_mem_limit) {
		/* No memory controller on v2 here: what the operator asked Docker for. */
		s->mem_limit = o->docker_mem_limit;
		s->mem_limit_src = RES_SRC_DOCKER;
	} else if (o->host_mem) {
		/* "max" (or nothing at all): the host's memory is the limit. */
		s->mem_limit = o->host_mem;
		s->mem_limit_src = RES_SRC_HOST;
	}
	/* Tasks: pids.current, else cgroup.threads. */
	if (!o->no_v2_pids && read_number(cgfd, "pids.current", &v) == 0) {
		s->pids = v;
		s->pids_src = RES_SRC_CGROUP;
	} else {
		read_pids_threads(cgfd, s);
	}
	err = o->no_v2_pids ? -ENOENT : read_number(cgfd, "pids.max", &v);
	if (err == 0 && v) {
		s->pids_limit = v;
		s->pids_limit_src = RES_SRC_CGROUP;
	} else if (err < 0 && o->docker_pids_limit) {
		s->pids_limit = o->docker_pids_limit;
		s->pids_limit_src = RES_SRC_DOCKER;
	}
	return 0;
}

uint64_t res_host_mem(const char *proc_root)
{
	char path[4096], buf[SMALL_FILE], *p;
	int dirfd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s", proc_root ? proc_root : "/proc");
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return 0;
	n = read_capped(dirfd, "meminfo", buf, sizeof(buf), NULL);
	close(dirfd);
	if (n <= 0 || !(p = strstr(buf, "MemTotal:")))
		return 0;
	return strtoull(p + 9, NULL, 10) * 1024;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct res_netdev *)a)->name, ((const struct res_netdev *)b)->name);
}

int res_net_dev_parse(const char *text, struct res_netdev **out)
{
	int n = 0, cap = 64;
	struct res_netdev *d = malloc((size_t)cap * sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		unsigned long long v[9];
		const char *q = p, *colon;
		size_t len;

		while (*q == ' ')
			q++;
		colon = strchr(q, ':');
		len = colon ? (size_t)(colon - q) : 0;
		if (!colon || !len || len >= sizeof(d->name) || memchr(q, '\n', len))
			continue;
		/* rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes ... */
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) != 9)
			continue;
		if (n == cap) {
			struct res_netdev *nd = realloc(d, (size_t)cap * 2 * sizeof(*d));

			if (!nd) {
				free(d);
				return -ENOMEM;
			}
			d = nd;
			cap *= 2;
		}
		memcpy(d[n].name, q, len);
		d[n].name[len] = 0;
		d[n].rx = v[0];
		d[n].tx = v[8];
		n++;
	}
	qsort(d, (size_t)n, sizeof(*d), by_name);
	*out = d;
	return n;
}

int res_net_dev_find(const struct res_netdev *devs, int n, const char *name, uint64_t *rx,
		     uint64_t *tx)
{
	struct res_netdev key;
	const struct res_netdev *hit;

	if (!devs || strlen(name) >= sizeof(key.name))
		return -ENOENT;
	snprintf(key.name, sizeof(key.name), "%s", name);
	hit = bsearch(&key, devs, (size_t)n, sizeof(*devs), by_name);
	if (!hit)
		return -ENOENT;
	*rx = hit->rx;
	*tx = hit->tx;
	return 0;
}

uint32_t res_cpu_pct100(uint64_t used_usec, int64_t wall_ns)
{
	uint64_t pct;

	if (wall_ns <= 0)
		return 0;
	/* used_usec / (wall_ns / 1000) * 100 * 100 */
	pct = used_usec * 10000000ULL / (uint64_t)wall_ns;
	return pct > UINT32_MAX ? UINT32_MAX : (uint32_t)pct;
}
