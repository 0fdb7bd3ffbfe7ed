/* copycheck.h - is an executed file a renamed copy of a shell, runtime or network tool
 * ("cp /bin/sh /tmp/x; /tmp/x")? The answer needs the container's files, and everything in
 * a container root is hostile: a FIFO planted at /usr/local/bin/zsh would block an open(), a
 * huge file would take seconds to read. So the check runs in a worker thread, never on the
 * event loop: files are opened O_PATH first and read only when they are regular files of at
 * most COPYCHECK_MAX_FILE bytes (O_NONBLOCK, inside the container root), each container has
 * a budget of checks per second and of queued checks, and results come back through a pipe
 * the event loop polls. */
#ifndef MOAT_COPYCHECK_H
#define MOAT_COPYCHECK_H

#include <stdint.h>

#include "config.h"
#include "moat/events.h"

#define COPYCHECK_MAX_FILE  (64 << 20)	/* bytes: larger files are never read */
#define COPYCHECK_QUEUE	    128		/* checks waiting, in all */
#define COPYCHECK_PER_CT    8		/* checks waiting, per container */
#define COPYCHECK_MAX_BYTES (256 << 20) /* bytes read per check, candidates included */
#define COPYCHECK_CACHE	    1024	/* files whose answer is kept (by identity) */

/* One exec to check. */
struct copycheck_job {
	struct moat_exec_event ev; /* the exec (the alert is built from it) */
	char container_id[65];
	int pid; /* the container's init process: files are read under /proc/<pid>/root */
};

struct copycheck_result {
	struct copycheck_job job;
	int cls;	/* enum exec_class of the original, EXEC_NONE when no copy */
	char orig[300]; /* path of the listed file it is a copy of, in the container */
	int status;	/* 0 checked; -errno when it could not be: -ENOENT gone,
			   -EINVAL not a regular file, -EFBIG too large, -E2BIG read budget */
};

struct copycheck_stats {
	uint64_t submitted, checked, cached, copies, not_checked, refused_budget, refused_full;
	uint64_t bytes_read;
};

struct copycheck;

/* Start the worker. lists: the shells, runtimes and network tools (copied; see
 * copycheck_set_names). Returns NULL with errno set. */
struct copycheck *copycheck_start(const struct name_list *shells, const struct name_list *runtimes,
				  const struct name_list *net_tools);

/* Replace the name lists (after a configuration reload). */
void copycheck_set_names(struct copycheck *cc, const struct name_list *shells,
			 const struct name_list *runtimes, const struct name_list *net_tools);

/* Queue a check (copied). Returns 0, -EBUSY when the container has COPYCHECK_PER_CT checks
 * waiting already, -EAGAIN when the queue is full. Never blocks. */
int copycheck_submit(struct copycheck *cc, const struct copycheck_job *job);

/* The fd to poll for results, and taking one: 0 with *out filled, -EAGAIN when none. */
int copycheck_fd(const struct copycheck *cc);
int copycheck_next(struct copycheck *cc, struct copycheck_result *out);

void copycheck_get_stats(struct copycheck *cc, struct copycheck_stats *out);

/* Stop the worker (queued checks are dropped) and free everything. */
void copycheck_stop(struct copycheck *cc);

/* The check itself, synchronous (the worker's body; exposed for tests): is the file at path
 * inside the root of process pid a renamed copy of a listed file? Fills res->cls, res->orig
 * and res->status. *bytes: bytes read. cache: answers by file identity, or NULL. */
struct copycheck_cache;
void copycheck_run(int pid, const char *path, const struct name_list *lists[3],
		   struct copycheck_result *res, uint64_t *bytes, struct copycheck_cache *cache);

#endif /* MOAT_COPYCHECK_H */
