/* copycheck.c - the renamed-copy check, off the event loop (see copycheck.h). */
#define _GNU_SOURCE /* pipe2, O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <linux/openat2.h>

#include "clock.h"
#include "copycheck.h"
#include "log.h"
#include "pimutex.h"

#define CT_SLOTS 256 /* containers with a budget kept (least recently used one reused) */

struct ct_budget {
	char id[65];
	int queued;	 /* its checks waiting in the queue */
	int64_t used_ns; /* last use, for reuse of the slot */
};

/* The answer for one file, by identity: a file rewritten in place changes its ctime. */
struct copycheck_cache {
	struct {
		dev_t dev;
		ino_t ino;
		off_t size;
		struct timespec ctime;
		int cls;
		char orig[300];
		uint64_t used;
	} e[COPYCHECK_CACHE];
	uint64_t tick;
};

struct copycheck {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop, started;
	struct copycheck_job *queue; /* ring of COPYCHECK_QUEUE */
	int head, count;
	struct name_list lists[3];
	struct ct_budget ct[CT_SLOTS];
	struct copycheck_stats stats;
	struct copycheck_cache *cache; /* the worker's */
	int pipe_rd, pipe_wr;
};

_Static_assert(sizeof(struct copycheck_result) < 4096, "results are written to the pipe whole");

/* Open path inside the root root_fd: every symlink resolves inside that root
 * (RESOLVE_IN_ROOT: "/bin/sh -> busybox" leads to the container's busybox, never the
 * host's), no magic links (/proc/self/...), and never across into another mount of a
 * different kind. flags: O_PATH, or O_RDONLY (opened O_NONBLOCK, so a FIFO or a device
 * never blocks). Returns the fd or -errno. */
static int open_in_root(int root_fd, const char *path, int flags)
{
	/* openat2 refuses O_PATH with anything but O_CLOEXEC, O_DIRECTORY and O_NOFOLLOW. */
	struct open_how how = {
	    .flags = (uint64_t)(flags == O_PATH ? O_PATH | O_CLOEXEC
						: flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Identity of the regular file at path: size and CRC-32 (zlib). The file is looked at
 * through an O_PATH fd first and only opened for reading when it is a regular file of at
 * most COPYCHECK_MAX_FILE bytes; the fd opened for reading must be that same file. *budget
 * (bytes left to read) is charged. 0 or -errno. */
static int file_ident(int root_fd, const char *path, struct stat *st, uint32_t *crc,
		      uint64_t *budget, uint64_t *bytes)
{
	unsigned char buf[65536];
	struct stat again;
	uLong c = crc32(0L, Z_NULL, 0);
	int pfd = open_in_root(root_fd, path, O_PATH), fd;
	off_t left;
	ssize_t n;

	if (pfd < 0)
		return pfd;
	if (fstat(pfd, st)) {
		close(pfd);
		return -errno;
	}
	close(pfd);
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_size > COPYCHECK_MAX_FILE)
		return -EFBIG;
	if ((uint64_t)st->st_size > *budget)
		return -E2BIG;
	fd = open_in_root(root_fd, path, O_RDONLY);
	if (fd < 0)
		return fd;
	if (fstat(fd, &again) || again.st_dev != st->st_dev || again.st_ino != st->st_ino ||
	    !S_ISREG(again.st_mode)) {
		close(fd);
		return -EINVAL; /* swapped under us */
	}
	left = st->st_size;
	while (left > 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		c = crc32(c, buf, (uInt)n);
		left -= n;
		*bytes += (uint64_t)n;
		*budget -= (uint64_t)n < *budget ? (uint64_t)n : *budget;
	}
	close(fd);
	*crc = (uint32_t)c;
	return 0;
}

static int same_file(const struct stat *st, dev_t dev, ino_t ino, off_t size,
		     const struct timespec *ctime)
{
	return st->st_dev == dev && st->st_ino == ino && st->st_size == size &&
	       st->st_ctim.tv_sec == ctime->tv_sec && st->st_ctim.tv_nsec == ctime->tv_nsec;
}

void copycheck_run(int pid, const char *path, const struct name_list *lists[3],
		   struct copycheck_result *res, uint64_t *bytes, struct copycheck_cache *cache)
{
	static const char *const dirs[] = {"/bin", "/usr/bin", "/usr/local/bin", "/sbin",
					   "/usr/sbin"};
	uint64_t budget = COPYCHECK_MAX_BYTES;
	char root[64];
	struct stat st;
	uint32_t crc = 0;
	int have = 0, root_fd, pfd, err;

	res->cls = 0;
	res->orig[0] = 0;
	res->status = 0;
	if (pid <= 0 || path[0] != '/') {
		res->status = -EINVAL;
		return;
	}
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		res->status = -ENOENT;
		return;
	}
	pfd = open_in_root(root_fd, path, O_PATH);
	if (pfd < 0 || fstat(pfd, &st) || !S_ISREG(st.st_mode)) {
		res->status = pfd < 0 ? pfd : -EINVAL;
		if (pfd >= 0)
			close(pfd);
		close(root_fd);
		return;
	}
	close(pfd);
	if (cache) {
		for (int i = 0; i < COPYCHECK_CACHE; i++)
			if (cache->e[i].used && same_file(&st, cache->e[i].dev, cache->e[i].ino,
							  cache->e[i].size, &cache->e[i].ctime)) {
				cache->e[i].used = ++cache->tick;
				res->cls = cache->e[i].cls;
				snprintf(res->orig, sizeof(res->orig), "%s", cache->e[i].orig);
				res->status = 1; /* from the cache */
				close(root_fd);
				return;
			}
	}
	for (int l = 0; l < 3 && !res->cls; l++) {
		for (int i = 0; i < lists[l]->n && !res->cls; i++) {
			const char *name = lists[l]->names[i];

			if (strpbrk(name, "*?[/"))
				continue; /* globs name no file */
			for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]) && !res->cls; d++) {
				char cpath[128];
				struct stat cand;
				uint32_t ccrc;

				snprintf(cpath, sizeof(cpath), "%s/%s", dirs[d], name);
				pfd = open_in_root(root_fd, cpath, O_PATH);
				if (pfd < 0)
					continue;
				err = fstat(pfd, &cand);
				close(pfd);
				if (err || !S_ISREG(cand.st_mode) || cand.st_size != st.st_size)
					continue;
				/* The same file under another name: a hard link ("ln /bin/sh
				 * /tmp/x"), nothing to read. */
				if (cand.st_ino == st.st_ino && cand.st_dev == st.st_dev) {
					snprintf(res->orig, sizeof(res->orig), "%s", cpath);
					res->cls = l + 1;
					break;
				}
				/* Same size, another file: worth reading both. */
				if (!have) {
					struct stat again;

					err =
					    file_ident(root_fd, path, &again, &crc, &budget, bytes);
					if (err || again.st_ino != st.st_ino ||
					    again.st_dev != st.st_dev) {
						res->status = err ? err : -EINVAL;
						close(root_fd);
						return;
					}
					have = 1;
				}
				err = file_ident(root_fd, cpath, &cand, &ccrc, &budget, bytes);
				if (err == -E2BIG) {
					res->status = err;
					close(root_fd);
					return;
				}
				if (!err && cand.st_size == st.st_size && ccrc == crc) {
					snprintf(res->orig, sizeof(res->orig), "%s", cpath);
					res->cls = l + 1;
				}
			}
		}
	}
	close(root_fd);
	if (cache) {
		int lru = 0;

		for (int i = 1; i < COPYCHECK_CACHE; i++)
			if (cache->e[i].used < cache->e[lru].used)
				lru = i;
		cache->e[lru].dev = st.st_dev;
		cache->e[lru].ino = st.st_ino;
		cache->e[lru].size = st.st_size;
		cache->e[lru].ctime = st.st_ctim;
		cache->e[lru].cls = res->cls;
		snprintf(cache->e[lru].orig, sizeof(cache->e[lru].orig), "%s", res->orig);
		cache->e[lru].used = ++cache->tick;
	}
}

/* The budget slot of container id (taken over from the least recently used one). */
static struct ct_budget *budget_of(struct copycheck *cc, const char *id, int64_t now)
{
	struct ct_budget *lru = &cc->ct[0];

	for (int i = 0; i < CT_SLOTS; i++) {
		struct ct_budget *b = &cc->ct[i];

		if (!strcmp(b->id, id))
			return b;
		if (b->queued == 0 && (lru->queued || b->used_ns < lru->used_ns))
			lru = b;
	}
	if (lru->queued)
		return NULL; /* every slot has checks waiting: the queue is full anyway */
	memset(lru, 0, sizeof(*lru));
	snprintf(lru->id, sizeof(lru->id), "%s", id);
	return lru;
}

int copycheck_submit(struct copycheck *cc, const struct copycheck_job *job)
{
	int64_t now = clock_mono_ns();
	struct ct_budget *b;
	int err = 0;

	pthread_mutex_lock(&cc->lock);
	cc->stats.submitted++;
	b = budget_of(cc, job->container_id, now);
	if (b)
		b->used_ns = now;
	if (cc->count >= COPYCHECK_QUEUE || !b) {
		cc->stats.refused_full++;
		err = -EAGAIN;
	} else if (b->queued >= COPYCHECK_PER_CT) {
		cc->stats.refused_budget++;
		err = -EBUSY;
	} else {
		b->queued++;
		cc->queue[(cc->head + cc->count) % COPYCHECK_QUEUE] = *job;
		cc->count++;
		pthread_cond_signal(&cc->cond);
	}
	pthread_mutex_unlock(&cc->lock);
	return err;
}

static void *worker(void *arg)
{
	struct copycheck *cc = arg;
	struct copycheck_result *res = malloc(sizeof(*res));
	struct name_list *lists = malloc(sizeof(cc->lists));

	if (!res || !lists) {
		free(res);
		free(lists);
		return NULL;
	}
	for (;;) {
		const struct name_list *lp[3] = {&lists[0], &lists[1], &lists[2]};
		uint64_t bytes = 0;

		pthread_mutex_lock(&cc->lock);
		while (!cc->stop && !cc->count)
			pthread_cond_wait(&cc->cond, &cc->lock);
		if (cc->stop) {
			pthread_mutex_unlock(&cc->lock);
			break;
		}
		res->job = cc->queue[cc->head];
		cc->head = (cc->head + 1) % COPYCHECK_QUEUE;
		cc->count--;
		memcpy(lists, cc->lists, sizeof(cc->lists));
		pthread_mutex_unlock(&cc->lock);

		copycheck_run(res->job.pid, res->job.ev.filename, lp, res, &bytes, cc->cache);

		pthread_mutex_lock(&cc->lock);
		for (int i = 0; i < CT_SLOTS; i++)
			if (!strcmp(cc->ct[i].id, res->job.container_id) && cc->ct[i].queued > 0)
				cc->ct[i].queued--;
		cc->stats.bytes_read += bytes;
		if (res->status == 1) {
			cc->stats.cached++;
			res->status = 0;
		} else if (res->status) {
			cc->stats.not_checked++;
		} else {
			cc->stats.checked++;
		}
		if (res->cls)
			cc->stats.copies++;
		pthread_mutex_unlock(&cc->lock);
		/* The loop reads results as they come; a full pipe (a loop that stopped
		 * reading) loses this one. */
		if (write(cc->pipe_wr, res, sizeof(*res)) != (ssize_t)sizeof(*res))
			log_debug("copy check result for %.64s lost: %s", res->job.ev.filename,
				  strerror(errno));
	}
	free(res);
	free(lists);
	return NULL;
}

void copycheck_set_names(struct copycheck *cc, const struct name_list *shells,
			 const struct name_list *runtimes, const struct name_list *net_tools)
{
	pthread_mutex_lock(&cc->lock);
	cc->lists[0] = *shells;
	cc->lists[1] = *runtimes;
	cc->lists[2] = *net_tools;
	pthread_mutex_unlock(&cc->lock);
}

struct copycheck *copycheck_start(const struct name_list *shells, const struct name_list *runtimes,
				  const struct name_list *net_tools)
{
	struct copycheck *cc = calloc(1, sizeof(*cc));
	int p[2], err;

	if (!cc)
		return NULL;
	cc->queue = calloc(COPYCHECK_QUEUE, sizeof(*cc->queue));
	cc->cache = calloc(1, sizeof(*cc->cache));
	if (!cc->queue || !cc->cache || pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		err = cc->queue && cc->cache ? errno : ENOMEM;
		free(cc->queue);
		free(cc->cache);
		free(cc);
		errno = err;
		return NULL;
	}
	/* Room for every result a full queue can produce, so the worker never waits. */
	fcntl(p[1], F_SETPIPE_SZ, (int)(sizeof(struct copycheck_result) * COPYCHECK_QUEUE * 2));
	cc->pipe_rd = p[0];
	cc->pipe_wr = p[1];
	pimutex_init(&cc->lock);
	pthread_cond_init(&cc->cond, NULL);
	copycheck_set_names(cc, shells, runtimes, net_tools);
	err = pthread_create(&cc->thread, NULL, worker, cc);
	if (err) {
		close(p[0]);
		close(p[1]);
		free(cc->queue);
		free(cc->cache);
		free(cc);
		errno = err;
		return NULL;
	}
	cc->started = 1;
	return cc;
}

int copycheck_fd(const struct copycheck *cc)
{
	return cc->pipe_rd;
}

int copycheck_next(struct copycheck *cc, struct copycheck_result *out)
{
	ssize_t n = read(cc->pipe_rd, out, sizeof(*out));

	return n == (ssize_t)sizeof(*out) ? 0 : -EAGAIN;
}

void copycheck_get_stats(struct copycheck *cc, struct copycheck_stats *out)
{
	pthread_mutex_lock(&cc->lock);
	*out = cc->stats;
	pthread_mutex_unlock(&cc->lock);
}

void copycheck_stop(struct copycheck *cc)
{
	if (!cc)
		return;
	pthread_mutex_lock(&cc->lock);
	cc->stop = 1;
	pthread_cond_broadcast(&cc->cond);
	pthread_mutex_unlock(&cc->lock);
	if (cc->started)
		pthread_join(cc->thread, NULL);
	close(cc->pipe_rd);
	close(cc->pipe_wr);
	pthread_mutex_destroy(&cc->lock);
	pthread_cond_destroy(&cc->cond);
	free(cc->queue);
	free(cc->cache);
	free(cc);
}
