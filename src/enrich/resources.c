/* resources.c - the resource sampler: a thread that samples every container every interval,
 * keeps each one's history in a ring, and wakes the event loop with the latest samples
 * (resources.h). The loop never reads a cgroup file itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "clock.h"
#include "pimutex.h"
#include "resources.h"
#include "vethguard.h"

#define MAX_VETHS    4	       /* host-side veths followed per container */
#define NET_DEV_CAP  (4 << 20) /* /proc/net/dev: read at most this much (about 30,000 links) */
#define VETH_RETRY_S 30	       /* a container with no veth found is looked at again after */

/* What the sampler keeps of one container. */
struct res_state {
	struct res_target t;
	int cgfd;			/* its cgroup directory, -1 when it could not be opened */
	char veth[MAX_VETHS][IFNAMSIZ]; /* its host-side veths' names */
	int n_veth;
	int64_t veth_looked;	      /* CLOCK_MONOTONIC ns of the last search, 0 never */
	struct res_sample *hist;      /* ring of cap samples */
	uint32_t head, n;	      /* next slot; samples held */
	int fresh;		      /* sampled since the last resources_take */
	int keep;		      /* resources_set_targets: still listed */
	struct res_procs_cache procs; /* the memory fallback's figures per process */
};

struct resources {
	struct resources_opts o;
	char cg_mount[4096];
	char proc_root[4096];
	uint64_t host_mem;
	pthread_mutex_t mu; /* guards everything below and the states' rings */
	pthread_cond_t cond;
	pthread_t thread;
	int has_thread, stopping;
	int efd;
	struct res_state **st; /* sorted by id */
	int n;
	struct resources_stats stats;
	struct res_netdev *netdev; /* /proc/net/dev of the last pass, sorted */
	int n_netdev;
};

static int64_t mono_ns(void)
{
	return clock_boot_ns(); /* monotonic enough for intervals, and not stopped by suspend */
}

static int by_id(const void *a, const void *b)
{
	return strcmp((*(struct res_state *const *)a)->t.id, (*(struct res_state *const *)b)->t.id);
}

/* The state of container id, or NULL (binary search; r->mu held). */
static struct res_state *find(struct resources *r, const char *id)
{
	int lo = 0, hi = r->n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(id, r->st[mid]->t.id);

		if (!c)
			return r->st[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void state_free(struct res_state *s)
{
	if (!s)
		return;
	if (s->cgfd >= 0)
		close(s->cgfd);
	res_procs_cache_free(&s->procs);
	free(s->hist);
	free(s);
}

static struct res_state *state_new(const struct resources *r, const struct res_target *t)
{
	struct res_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->hist = calloc(r->o.history ? r->o.history : 1, sizeof(*s->hist));
	if (!s->hist) {
		free(s);
		return NULL;
	}
	s->t = *t;
	s->cgfd = -1;
	return s;
}

int resources_set_targets(struct resources *r, const struct res_target *t, int n)
{
	struct res_state **next;
	int k = 0;

	if (n > RES_MAX_TARGETS)
		n = RES_MAX_TARGETS;
	next = calloc((size_t)(n ? n : 1), sizeof(*next));
	if (!next)
		return -ENOMEM;
	pthread_mutex_lock(&r->mu);
	for (int j = 0; j < r->n; j++)
		r->st[j]->keep = 0;
	for (int i = 0; i < n; i++) {
		struct res_state *s = find(r, t[i].id);

		if (s && !s->keep && s->t.cgroup_id == t[i].cgroup_id) {
			/* Known, the same cgroup: names and limits may have changed. */
			if (s->t.pid != t[i].pid)
				s->veth_looked = 0;
			s->t = t[i];
		} else if (!s || !s->keep) {
			/* New, or a new cgroup (restarted): a fresh history. */
			s = state_new(r, &t[i]);
			if (!s)
				continue;
		} else {
			continue; /* listed twice */
		}
		s->keep = 1;
		next[k++] = s;
	}
	for (int j = 0; j < r->n; j++)
		if (!r->st[j]->keep)
			state_free(r->st[j]);
	free(r->st);
	r->st = next;
	r->n = k;
	qsort(r->st, (size_t)r->n, sizeof(r->st[0]), by_id);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

/* A veth search to do: who, and what it found. */
struct veth_job {
	char id[65];
	int pid;
	char veth[MAX_VETHS][IFNAMSIZ];
	int n_veth;
};

#define VETH_JOBS_PER_PASS 32 /* rtnetlink searches per pass, at most */

/* Find the host-side veths of the containers that need it (new ones; ones with none, every
 * VETH_RETRY_S), at most VETH_JOBS_PER_PASS a pass. The rtnetlink exchanges (each can wait up
 * to a second on a stuck kernel) run without r->mu held, so the loop's readers never wait on
 * them. */
static void find_veths(struct resources *r)
{
	struct veth_job *jobs = calloc(VETH_JOBS_PER_PASS, sizeof(*jobs));
	int64_t now = mono_ns();
	int n = 0;

	if (!jobs)
		return;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->n && n < VETH_JOBS_PER_PASS; i++) {
		struct res_state *s = r->st[i];

		if (s->t.pid <= 0 ||
		    (s->veth_looked &&
		     (s->n_veth || now - s->veth_looked < VETH_RETRY_S * 1000000000LL)))
			continue;
		s->veth_looked = now;
		snprintf(jobs[n].id, sizeof(jobs[n].id), "%s", s->t.id);
		jobs[n++].pid = s->t.pid;
	}
	pthread_mutex_unlock(&r->mu);
	for (int j = 0; j < n; j++) {
		struct vethguard_port ports[MAX_VETHS];
		int32_t nsid;
		int k = vethguard_ports(jobs[j].pid, &nsid, ports, MAX_VETHS);

		for (int i = 0; i < k; i++)
			if (if_indextoname((unsigned)ports[i].ifindex,
					   jobs[j].veth[jobs[j].n_veth]))
				jobs[j].n_veth++;
	}
	pthread_mutex_lock(&r->mu);
	for (int j = 0; j < n; j++) {
		struct res_state *s = find(r, jobs[j].id);

		if (!s || s->t.pid != jobs[j].pid)
			continue; /* restarted meanwhile: searched again next pass */
		memcpy(s->veth, jobs[j].veth, sizeof(s->veth));
		s->n_veth = jobs[j].n_veth;
	}
	pthread_mutex_unlock(&r->mu);
	free(jobs);
}

/* Read /proc/net/dev of the host into r->netdev (capped). */
static void read_netdev(struct resources *r)
{
	char path[4200];
	size_t len = 0, cap = 64 << 10;
	char *buf = malloc(cap);
	ssize_t n = 0;
	int fd;

	free(r->netdev);
	r->netdev = NULL;
	r->n_netdev = 0;
	if (!buf)
		return;
	snprintf(path, sizeof(path), "%s/net/dev", r->proc_root);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb;

			if (cap >= NET_DEV_CAP || !(nb = realloc(buf, cap * 2)))
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	r->n_netdev = res_net_dev_parse(buf, &r->netdev);
	free(buf);
}

/* Sample container s into *out (r->mu held: the list cannot change under it). */
static void sample_one(struct resources *r, struct res_state *s, struct res_sample *out)
{
	struct res_read_opts o = {
	    .proc_root = r->proc_root,
	    .max_procs = r->o.max_procs > 0 ? r->o.max_procs : 64,
	    .host_mem = r->host_mem,
	    .docker_mem_limit = s->t.mem_limit > 0 ? (uint64_t)s->t.mem_limit : 0,
	    .docker_pids_limit = s->t.pids_limit > 0 ? (uint64_t)s->t.pids_limit : 0,
	    .cache = &s->procs,
	};
	int64_t now = mono_ns();
	const struct res_sample *prev =
	    s->n ? &s->hist[(s->head + r->o.history - 1) % r->o.history] : NULL;

	/* The v2 controller files a cgroup lacked last time are not looked for again, but for
	 * every 32nd pass (an operator may enable a controller). */
	if (prev && !(prev->flags & RES_F_GONE) && r->stats.passes % 32) {
		o.no_v2_mem =
		    prev->mem_src != RES_SRC_CGROUP && prev->mem_limit_src != RES_SRC_CGROUP;
		o.no_v2_pids =
		    prev->pids_src != RES_SRC_CGROUP && prev->pids_limit_src != RES_SRC_CGROUP;
	}
	memset(out, 0, sizeof(*out));
	out->time_ns = clock_unix_ns();
	out->mono_ns = now;
	if (s->cgfd < 0 && s->t.cgroup[0]) {
		char path[4096 + 256 + 2];

		snprintf(path, sizeof(path), "%s%s", r->cg_mount, s->t.cgroup);
		s->cgfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (s->cgfd < 0 || res_read_cgroup(s->cgfd, &o, out)) {
		out->flags |= RES_F_GONE;
		return;
	}
	if (prev) {
		if (out->cpu_usec >= prev->cpu_usec && !(prev->flags & RES_F_GONE))
			out->cpu_pct100 =
			    res_cpu_pct100(out->cpu_usec - prev->cpu_usec, now - prev->mono_ns);
		else
			out->flags |= RES_F_FIRST;
	} else {
		out->flags |= RES_F_FIRST;
	}
	for (int i = 0; i < s->n_veth && r->netdev; i++) {
		uint64_t rx, tx;

		/* The host side's receive is what the container sent. */
		if (res_net_dev_find(r->netdev, r->n_netdev, s->veth[i], &rx, &tx) == 0) {
			out->net_rx += tx;
			out->net_tx += rx;
			out->net_src = RES_SRC_VETH;
		}
	}
}

void resources_pass(struct resources *r)
{
	int64_t start = mono_ns();
	uint32_t sampled = 0;

	find_veths(r);
	read_netdev(r);
	/* The list is only changed by resources_set_targets under r->mu; a pass holds r->mu for
	 * each container's turn only, so the loop's readers wait for one container at most. */
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->n; i++) {
		struct res_state *s = r->st[i];
		struct res_sample smp;

		sample_one(r, s, &smp);
		if (!(smp.flags & RES_F_GONE) || !s->n ||
		    !(s->hist[(s->head + r->o.history - 1) % r->o.history].flags & RES_F_GONE)) {
			s->hist[s->head] = smp;
			s->head = (s->head + 1) % r->o.history;
			if (s->n < r->o.history)
				s->n++;
			s->fresh = 1;
			sampled++;
		}
		/* Let the loop's readers in between containers. */
		pthread_mutex_unlock(&r->mu);
		pthread_mutex_lock(&r->mu);
		if (i >= r->n || r->st[i] != s)
			break; /* the list changed: the rest waits for the next pass */
	}
	r->stats.passes++;
	r->stats.containers = sampled;
	r->stats.last_pass_ns = mono_ns() - start;
	if (r->stats.last_pass_ns > r->stats.max_pass_ns)
		r->stats.max_pass_ns = r->stats.last_pass_ns;
	pthread_mutex_unlock(&r->mu);
	if (r->efd >= 0) {
		uint64_t one = 1;

		if (write(r->efd, &one, sizeof(one)) < 0) {
			/* the counter is full: the loop is behind and will read anyway */
		}
	}
}

static void *sampler_main(void *arg)
{
	struct resources *r = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&r->mu);
	while (!r->stopping) {
		int64_t ns = next.tv_nsec + (int64_t)r->o.interval_ms * 1000000LL;

		next.tv_sec += ns / 1000000000LL;
		next.tv_nsec = ns % 1000000000LL;
		while (!r->stopping && pthread_cond_timedwait(&r->cond, &r->mu, &next) != ETIMEDOUT)
			;
		if (r->stopping)
			break;
		pthread_mutex_unlock(&r->mu);
		resources_pass(r);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct resources *resources_start(const struct resources_opts *o)
{
	struct resources *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return NULL;
	r->o = *o;
	if (!r->o.interval_ms)
		r->o.interval_ms = 2000;
	if (!r->o.history)
		r->o.history = 1;
	if (r->o.history > RES_MAX_HISTORY)
		r->o.history = RES_MAX_HISTORY;
	snprintf(r->cg_mount, sizeof(r->cg_mount), "%s", o->cg_mount ? o->cg_mount : "");
	snprintf(r->proc_root, sizeof(r->proc_root), "%s", o->proc_root ? o->proc_root : "/proc");
	r->o.cg_mount = r->cg_mount;
	r->o.proc_root = r->proc_root;
	r->host_mem = res_host_mem(r->proc_root);
	r->efd = -1;
	pimutex_init(&r->mu);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (o->no_thread)
		return r;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0 || pthread_create(&r->thread, NULL, sampler_main, r)) {
		int e = errno ? errno : EAGAIN;

		resources_stop(r);
		errno = e;
		return NULL;
	}
	r->has_thread = 1;
	return r;
}

void resources_stop(struct resources *r)
{
	if (!r)
		return;
	if (r->has_thread) {
		pthread_mutex_lock(&r->mu);
		r->stopping = 1;
		pthread_cond_signal(&r->cond);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
	}
	for (int i = 0; i < r->n; i++)
		state_free(r->st[i]);
	free(r->st);
	free(r->netdev);
	if (r->efd >= 0)
		close(r->efd);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int resources_fd(const struct resources *r)
{
	return r ? r->efd : -1;
}

struct res_latest *resources_take(struct resources *r, int *n)
{
	struct res_latest *out;
	uint64_t v;
	int k = 0;

	*n = 0;
	if (r->efd >= 0 && read(r->efd, &v, sizeof(v)) < 0) {
		/* nothing new: fine, look anyway */
	}
	pthread_mutex_lock(&r->mu);
	out = r->n ? malloc((size_t)r->n * sizeof(*out)) : NULL;
	for (int i = 0; out && i < r->n; i++) {
		struct res_state *s = r->st[i];

		if (!s->fresh || !s->n)
			continue;
		s->fresh = 0;
		snprintf(out[k].id, sizeof(out[k].id), "%s", s->t.id);
		out[k].s = s->hist[(s->head + r->o.history - 1) % r->o.history];
		k++;
	}
	pthread_mutex_unlock(&r->mu);
	if (!k) {
		free(out);
		return NULL;
	}
	*n = k;
	return out;
}

void resources_get_stats(struct resources *r, struct resources_stats *st)
{
	pthread_mutex_lock(&r->mu);
	*st = r->stats;
	pthread_mutex_unlock(&r->mu);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

json_object *res_sample_json(const struct res_sample *s)
{
	json_object *o = json_object_new_object();
	char when[40];
	time_t sec = (time_t)(s->time_ns / 1000000000LL);
	struct tm tm;

	if (!o)
		return NULL;
	if (gmtime_r(&sec, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		json_object_object_add(o, "time", json_object_new_string(when));
	if (s->flags & RES_F_GONE) {
		json_object_object_add(o, "gone", json_object_new_boolean(1));
		return o;
	}
	json_object_object_add(o, "cpu_percent",
			       json_object_new_double((double)s->cpu_pct100 / 100.0));
	add_u64(o, "cpu_usec", s->cpu_usec);
	add_u64(o, "memory_bytes", s->mem_bytes);
	add_u64(o, "memory_limit", s->mem_limit);
	add_u64(o, "pids", s->pids);
	add_u64(o, "pids_limit", s->pids_limit);
	if (s->net_src) {
		add_u64(o, "net_rx_bytes", s->net_rx);
		add_u64(o, "net_tx_bytes", s->net_tx);
	}
	if (s->flags & RES_F_MEM_ESTIMATED)
		json_object_object_add(o, "memory_estimated", json_object_new_boolean(1));
	if (s->flags & RES_F_PIDS_PARTIAL)
		json_object_object_add(o, "pids_at_least", json_object_new_boolean(1));
	return o;
}

static json_object *sources_json(const struct res_sample *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cpu", json_object_new_string(res_source_name(s->cpu_src)));
	json_object_object_add(o, "memory", json_object_new_string(res_source_name(s->mem_src)));
	json_object_object_add(o, "memory_limit",
			       json_object_new_string(res_source_name(s->mem_limit_src)));
	json_object_object_add(o, "pids", json_object_new_string(res_source_name(s->pids_src)));
	json_object_object_add(o, "pids_limit",
			       json_object_new_string(res_source_name(s->pids_limit_src)));
	json_object_object_add(o, "network", json_object_new_string(res_source_name(s->net_src)));
	return o;
}

/* The newest sample of s that is not a "gone" one, or NULL (r->mu held). */
static const struct res_sample *newest(const struct resources *r, const struct res_state *s)
{
	for (uint32_t k = 1; k <= s->n; k++) {
		const struct res_sample *x = &s->hist[(s->head + r->o.history - k) % r->o.history];

		if (!(x->flags & RES_F_GONE))
			return x;
	}
	return NULL;
}

json_object *resources_sources_json(struct resources *r, const char *id)
{
	json_object *o = NULL;
	const struct res_state *s;
	const struct res_sample *x;

	pthread_mutex_lock(&r->mu);
	s = find(r, id);
	if (s && (x = newest(r, s)))
		o = sources_json(x);
	pthread_mutex_unlock(&r->mu);
	return o;
}

json_object *resources_json(struct resources *r, const char *container, int history)
{
	json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->n; i++) {
		const struct res_state *s = r->st[i];
		const struct res_sample *x = newest(r, s);
		json_object *o;

		if (container && container[0] && strcmp(container, s->t.name) &&
		    strncmp(container, s->t.id, strlen(container) >= 4 ? strlen(container) : 65))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(s->t.id));
		json_object_object_add(o, "name", json_object_new_string(s->t.name));
		json_object_object_add(o, "latest", x ? res_sample_json(x) : NULL);
		json_object_object_add(o, "sources", x ? sources_json(x) : NULL);
		if (history) {
			json_object *h = json_object_new_array();

			for (uint32_t k = s->n; k >= 1; k--)
				json_object_array_add(
				    h, res_sample_json(
					   &s->hist[(s->head + r->o.history - k) % r->o.history]));
			json_object_object_add(o, "history", h);
		}
		json_object_array_add(arr, o);
	}
	pthread_mutex_unlock(&r->mu);
	return arr;
}
