/* resources.h - per-container resource stats from the kernel's own accounting (never
 * `docker stats`): CPU time (cgroup v2 cpu.stat), memory against its limit, tasks against the
 * pids limit, and network bytes (the host-side veths' counters), sampled by a thread of its
 * own every interval and kept as a short history per container.
 *
 * Sources, per resource (res_source_name; `moat status` shows which one each container uses):
 *  - cpu:    cpu.stat usage_usec of the container's cgroup v2 (always there: core file).
 *  - memory: memory.current when the memory controller is on cgroup v2; else ("procs") the sum
 *            of the resident set (/proc/PID/statm) of the processes in cgroup.procs, at most
 *            max_procs statm reads per sample: new processes first, the others in turn, each
 *            one's last figure kept (res_procs_cache); processes not read yet count as the
 *            average (RES_F_MEM_ESTIMATED). Shared pages count once per process there, so it
 *            reads high for forked workers.
 *  - memory limit: memory.max ("cgroup"); else Docker's --memory ("docker": not enforced by
 *            this host's kernel); else the host's MemTotal ("host").
 *  - pids:   pids.current; else ("threads") the lines of cgroup.threads, at most 64 KiB read
 *            (a longer file: a lower bound, RES_F_PIDS_PARTIAL).
 *  - pids limit: pids.max; else Docker's --pids-limit; else none.
 *  - network: the container's host-side veths, from /proc/net/dev of the host (one read per
 *            pass for every container; no per-packet cost). None for host networking.
 * Every file is opened O_NONBLOCK and read with a cap; the values a container controls (how
 * many processes it has) only change how much is read, within those caps. */
#ifndef MOAT_RESOURCES_H
#define MOAT_RESOURCES_H

#include <stdint.h>
#include <json-c/json.h>

enum res_source {
	RES_SRC_NONE = 0,    /* not available */
	RES_SRC_CGROUP = 1,  /* the cgroup v2 file of the controller */
	RES_SRC_PROCS = 2,   /* summed over cgroup.procs (/proc/PID/statm) */
	RES_SRC_THREADS = 3, /* counted in cgroup.threads */
	RES_SRC_DOCKER = 4,  /* Docker's configured limit, not enforced by the kernel */
	RES_SRC_HOST = 5,    /* the host's total (MemTotal): no limit */
	RES_SRC_VETH = 6,    /* the host-side veths' counters */
};

const char *res_source_name(int src);

#define RES_F_MEM_ESTIMATED 0x01 /* more processes than max_procs: memory scaled up */
#define RES_F_PIDS_PARTIAL  0x02 /* cgroup.threads longer than read: pids is a lower bound */
#define RES_F_FIRST	    0x04 /* no earlier sample: cpu_pct100 is 0 */
#define RES_F_GONE	    0x08 /* the cgroup is gone (container exited): nothing read */
#define RES_F_OOM_EVENTS    0x10 /* oom_kills was read from memory.events (pure v2) */

/* One sample of one container. */
struct res_sample {
	int64_t time_ns;     /* CLOCK_REALTIME ns when taken */
	int64_t mono_ns;     /* CLOCK_MONOTONIC ns when taken (intervals) */
	uint64_t cpu_usec;   /* cpu.stat usage_usec: CPU time used since the cgroup was made */
	uint32_t cpu_pct100; /* CPU over the interval since the previous sample, in hundredths of
				a percent of one CPU (10000 = one CPU busy; can exceed it) */
	uint32_t flags;	     /* RES_F_* */
	uint64_t mem_bytes;  /* memory in use */
	uint64_t mem_limit;  /* its limit (see mem_limit_src) */
	uint64_t pids;	     /* tasks (threads) */
	uint64_t pids_limit; /* 0: none */
	uint64_t net_rx;     /* bytes the container received, over its veths, cumulative */
	uint64_t net_tx;     /* bytes it sent */
	uint64_t oom_kills;  /* memory.events oom_kill: processes the OOM killer killed in the
				cgroup since it was made (RES_F_OOM_EVENTS; v2 memory controller) */
	uint8_t cpu_src, mem_src, mem_limit_src, pids_src, pids_limit_src, net_src;
};

/* The memory fallback's memory of one container's processes between samples: each one's last
 * resident set, and where the turn of re-reads stands (res_read_cgroup). */
struct res_procs_cache {
	uint32_t *pid; /* sorted */
	uint64_t *rss; /* bytes, UINT64_MAX: not read yet */
	int n;
	uint32_t next; /* the index the next turn of re-reads starts at */
};

void res_procs_cache_free(struct res_procs_cache *c);

/* What one read of a cgroup needs besides the cgroup. */
struct res_read_opts {
	const char *proc_root;	   /* "/proc" (tests: a fixture directory) */
	int max_procs;		   /* processes whose statm is read, at most */
	uint64_t host_mem;	   /* MemTotal in bytes: the limit of last resort */
	uint64_t docker_mem_limit; /* Docker's --memory, 0: none */
	uint64_t docker_pids_limit;
	int no_v2_mem;		       /* skip memory.current/memory.max: absent at the last look */
	int no_v2_pids;		       /* skip pids.current/pids.max: absent at the last look */
	struct res_procs_cache *cache; /* the container's, or NULL: every sample from nothing */
};

/* Read one sample of the cgroup v2 directory open at cgfd into s (cpu_pct100, net and the
 * times are the caller's). Each resource takes the first source that answers. Returns 0, or
 * -ENODEV when the cgroup is gone (s->flags RES_F_GONE). */
int res_read_cgroup(int cgfd, const struct res_read_opts *o, struct res_sample *s);

/* MemTotal of /proc/meminfo under proc_root in bytes, 0 when unreadable. */
uint64_t res_host_mem(const char *proc_root);

/* One interface of /proc/net/dev. */
struct res_netdev {
	char name[16];
	uint64_t rx, tx; /* bytes received, sent */
};

/* The interfaces in the text of /proc/net/dev (NUL-terminated), sorted by name, in a new
 * array (*out, the caller frees it). Returns how many, or -ENOMEM. Lines that do not parse
 * are skipped. */
int res_net_dev_parse(const char *text, struct res_netdev **out);

/* Received and sent bytes of interface name in devs[0..n) (sorted). 0 or -ENOENT. */
int res_net_dev_find(const struct res_netdev *devs, int n, const char *name, uint64_t *rx,
		     uint64_t *tx);

/* CPU over an interval in hundredths of a percent of one CPU: used_usec of CPU time in
 * wall_ns of time (0 when wall_ns is 0). */
uint32_t res_cpu_pct100(uint64_t used_usec, int64_t wall_ns);

/* ---- the sampler ------------------------------------------------------------------------ */

/* A container to sample (the daemon gives the whole list, from its inventory). */
struct res_target {
	char id[65];
	char name[128];
	char cgroup[256];   /* cgroup v2 path below the mount, "/docker/<id>" */
	uint64_t cgroup_id; /* a new id (restart) starts the container's state anew */
	int pid;	    /* its init process on the host: finds its veths; 0 unknown */
	int64_t mem_limit;  /* Docker's --memory, 0 none */
	int64_t pids_limit; /* Docker's --pids-limit, 0 none */
};

#define RES_MAX_TARGETS 4096
#define RES_MAX_HISTORY 1024 /* samples kept per container, at most */

struct resources_opts {
	const char *cg_mount;  /* the cgroup v2 mount */
	const char *proc_root; /* NULL: "/proc" */
	uint32_t interval_ms;  /* between passes */
	uint32_t history;      /* samples kept per container (at most RES_MAX_HISTORY) */
	int max_procs;	       /* res_read_opts.max_procs */
	int no_thread;	       /* tests and the benchmark: no thread; call resources_pass */
};

/* The latest sample of one container (resources_take). */
struct res_latest {
	char id[65];
	struct res_sample s;
};

struct resources_stats {
	uint64_t passes;      /* sampling passes done */
	int64_t last_pass_ns; /* how long the last one took */
	int64_t max_pass_ns;  /* the longest one */
	uint32_t containers;  /* sampled in the last pass */
	uint64_t procs_read;  /* statm files read, in all */
};

struct resources;

/* Start the sampler thread (or, with no_thread, only the state). Returns NULL with errno. */
struct resources *resources_start(const struct resources_opts *o);

/* Stop the thread and free everything. NULL is fine. */
void resources_stop(struct resources *r);

/* An eventfd that is readable when a pass finished (the event loop's epoll); -1 without a
 * thread. */
int resources_fd(const struct resources *r);

/* Replace the list of containers to sample (copied). Containers no longer listed lose their
 * history. Returns 0 or -ENOMEM. */
int resources_set_targets(struct resources *r, const struct res_target *t, int n);

/* One sampling pass over every target now, in the calling thread (no_thread mode; the
 * thread calls it every interval). */
void resources_pass(struct resources *r);

/* The latest sample of each container sampled since the last call (a new array the caller
 * frees, *n entries), or NULL with *n 0 when there is none. Clears the eventfd. */
struct res_latest *resources_take(struct resources *r, int *n);

/* The sampler's own counters. */
void resources_get_stats(struct resources *r, struct resources_stats *st);

/* One sample as JSON: {"time","cpu_percent","memory_bytes","memory_limit",...}. */
json_object *res_sample_json(const struct res_sample *s);

/* The containers' stats as a JSON array: for each container whose id or name is `container`
 * (NULL or "": every one), {"id","name","latest":{...},"sources":{...}} and, with history,
 * "history": [sample, ... oldest first]. NULL on ENOMEM. */
json_object *resources_json(struct resources *r, const char *container, int history);

/* The sources in use for container id, as {"cpu":"cgroup","memory":"procs",...}, or NULL
 * when it has not been sampled. */
json_object *resources_sources_json(struct resources *r, const char *id);

#endif /* MOAT_RESOURCES_H */
