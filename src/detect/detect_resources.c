/* detect_resources.c - cpu-sustained, memory-high, pids-high and oom-kill
 * (detect_resources.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_resources.h"

enum { R_CPU, R_MEM, R_PIDS, R_N };

static const char *const rule_ids[R_N] = {"cpu-sustained", "memory-high", "pids-high"};

/* One container's state. */
struct rd_entry {
	char id[65];
	int64_t last_mono;     /* mono_ns of its previous sample, 0 none */
	int64_t cpu_since;     /* mono_ns since when CPU is above the threshold, 0 when not */
	int on[R_N];	       /* an alert was raised and has not cleared */
	int64_t on_since[R_N]; /* mono_ns it was raised */
	uint32_t cpu_peak;     /* highest cpu_pct100 while above */
	uint64_t oom_kills;    /* memory.events oom_kill at the last look */
	int oom_seen;	       /* oom_kills holds a value */
};

struct resdetect {
	struct rd_entry *e; /* sorted by id */
	int n, cap;
};

struct resdetect *resdetect_new(void)
{
	return calloc(1, sizeof(struct resdetect));
}

void resdetect_free(struct resdetect *rd)
{
	if (!rd)
		return;
	free(rd->e);
	free(rd);
}

/* Index of id, or -(insertion point) - 1. */
static int rd_find(const struct resdetect *rd, const char *id)
{
	int lo = 0, hi = rd->n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(id, rd->e[mid].id);

		if (!c)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -lo - 1;
}

static struct rd_entry *rd_get(struct resdetect *rd, const char *id)
{
	int i = rd_find(rd, id);

	if (i >= 0)
		return &rd->e[i];
	i = -i - 1;
	if (rd->n == rd->cap) {
		int cap = rd->cap ? rd->cap * 2 : 64;
		struct rd_entry *ne = realloc(rd->e, (size_t)cap * sizeof(*ne));

		if (!ne)
			return NULL;
		rd->e = ne;
		rd->cap = cap;
	}
	memmove(&rd->e[i + 1], &rd->e[i], (size_t)(rd->n - i) * sizeof(*rd->e));
	rd->n++;
	memset(&rd->e[i], 0, sizeof(rd->e[i]));
	snprintf(rd->e[i].id, sizeof(rd->e[i].id), "%s", id);
	return &rd->e[i];
}

static void rd_del(struct resdetect *rd, int i)
{
	memmove(&rd->e[i], &rd->e[i + 1], (size_t)(rd->n - i - 1) * sizeof(*rd->e));
	rd->n--;
}

int resdetect_prune(struct resdetect *rd, int64_t now_ns, int64_t max_age_ns)
{
	int gone = 0;

	for (int i = rd->n - 1; i >= 0; i--) {
		if (now_ns - rd->e[i].last_mono > max_age_ns) {
			rd_del(rd, i);
			gone++;
		}
	}
	return gone;
}

/* "1.5 GiB", "300 MiB", "12 KiB" */
static void fmt_bytes(uint64_t b, char *buf, size_t len)
{
	if (b >= (10ULL << 30))
		snprintf(buf, len, "%.1f GiB", (double)b / (1 << 30));
	else if (b >= (10ULL << 20))
		snprintf(buf, len, "%" PRIu64 " MiB", b >> 20);
	else
		snprintf(buf, len, "%" PRIu64 " KiB", b >> 10);
}

static const char *limit_words(int src)
{
	switch (src) {
	case RES_SRC_CGROUP: return "its limit";
	case RES_SRC_DOCKER:
		return "its Docker limit (--memory, from Docker's configuration: no memory.max on "
		       "cgroup v2 here)";
	case RES_SRC_HOST: return "the host's memory (no limit)";
	default: return "its limit";
	}
}

/* Start alert *a of rule r for container c at the sample's time, with its resource object. */
static json_object *start(struct alert *a, int sev, int r, const struct container_info *c,
			  const struct res_sample *s, const char *state)
{
	json_object *o = json_object_new_object();

	alert_start(a, s->time_ns, sev, rule_ids[r], "stats", c->id, c->name, c->image);
	json_object_object_add(o, "kind",
			       json_object_new_string(r == R_CPU   ? "cpu"
						      : r == R_MEM ? "memory"
								   : "pids"));
	json_object_object_add(o, "state", json_object_new_string(state));
	a->resource = o;
	return o;
}

static void add_i64(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* cpu-sustained on sample s. */
static int judge_cpu(struct rd_entry *st, const struct resource_thresholds *t,
		     const struct container_info *c, const struct res_sample *s, struct alert *out)
{
	uint32_t thr = (uint32_t)t->cpu_percent * 100;
	double pct = (double)s->cpu_pct100 / 100.0;
	json_object *o;

	if (s->flags & RES_F_FIRST)
		return 0; /* no interval measured yet */
	if (t->cpu_percent > 0 && s->cpu_pct100 > thr) {
		if (!st->cpu_since) {
			/* Above since the start of the interval this sample measured. */
			st->cpu_since = st->last_mono ? st->last_mono : s->mono_ns;
			st->cpu_peak = 0;
		}
		if (s->cpu_pct100 > st->cpu_peak)
			st->cpu_peak = s->cpu_pct100;
		if (st->on[R_CPU] ||
		    s->mono_ns - st->cpu_since < (int64_t)t->cpu_sustain_s * 1000000000LL)
			return 0;
		st->on[R_CPU] = 1;
		st->on_since[R_CPU] = s->mono_ns;
		o = start(out, ALERT_WARNING, R_CPU, c, s, "raised");
		snprintf(out->message, sizeof(out->message),
			 "CPU at %.1f%% for %llds (above %d%% of one CPU; container %s)", pct,
			 (long long)((s->mono_ns - st->cpu_since) / 1000000000LL), t->cpu_percent,
			 c->name);
		json_object_object_add(o, "value", json_object_new_double(pct));
		add_i64(o, "threshold", t->cpu_percent);
		add_i64(o, "sustain_seconds", t->cpu_sustain_s);
		add_i64(o, "for_seconds", (s->mono_ns - st->cpu_since) / 1000000000LL);
		json_object_object_add(o, "source",
				       json_object_new_string(res_source_name(s->cpu_src)));
		return 1;
	}
	st->cpu_since = 0;
	if (!st->on[R_CPU])
		return 0;
	st->on[R_CPU] = 0;
	o = start(out, ALERT_INFO, R_CPU, c, s, "cleared");
	snprintf(out->message, sizeof(out->message),
		 "CPU back at %.1f%%, below %d%% of one CPU (it peaked at %.1f%%; container %s)",
		 pct, t->cpu_percent, (double)st->cpu_peak / 100.0, c->name);
	json_object_object_add(o, "value", json_object_new_double(pct));
	add_i64(o, "threshold", t->cpu_percent);
	json_object_object_add(o, "peak", json_object_new_double((double)st->cpu_peak / 100.0));
	add_i64(o, "for_seconds", (s->mono_ns - st->on_since[R_CPU]) / 1000000000LL);
	return 1;
}

/* Is value over the threshold (percent of limit, or an absolute count), or, when on, not yet
 * back below RESDETECT_CLEAR_PCT of it? */
static int over(uint64_t value, uint64_t limit, int64_t pct, int64_t abs, int on)
{
	/* value * 100 > pct * limit, scaled down when clearing */
	unsigned __int128 v = (unsigned __int128)value * 100 * 100;
	unsigned __int128 k = on ? RESDETECT_CLEAR_PCT : 100;

	if (pct > 0 && limit && v > (unsigned __int128)pct * limit * k)
		return 1;
	if (abs > 0 && v > (unsigned __int128)abs * 100 * k)
		return 1;
	return 0;
}

/* memory-high on sample s. */
static int judge_mem(struct rd_entry *st, const struct resource_thresholds *t,
		     const struct container_info *c, const struct res_sample *s, struct alert *out)
{
	int now =
	    over(s->mem_bytes, s->mem_limit, t->memory_percent, t->memory_bytes, st->on[R_MEM]);
	char used[32], lim[32], abs[32];
	double pct = s->mem_limit ? (double)s->mem_bytes * 100.0 / (double)s->mem_limit : 0;
	json_object *o;

	if (now == st->on[R_MEM])
		return 0;
	st->on[R_MEM] = now;
	fmt_bytes(s->mem_bytes, used, sizeof(used));
	fmt_bytes(s->mem_limit, lim, sizeof(lim));
	fmt_bytes(t->memory_bytes > 0 ? (uint64_t)t->memory_bytes : 0, abs, sizeof(abs));
	o = start(out, now ? ALERT_WARNING : ALERT_INFO, R_MEM, c, s, now ? "raised" : "cleared");
	if (now) {
		st->on_since[R_MEM] = s->mono_ns;
		if (t->memory_percent > 0 && s->mem_limit && pct > t->memory_percent)
			snprintf(out->message, sizeof(out->message),
				 "Memory at %.1f%% of %s: %s of %s (threshold %d%%; container %s)",
				 pct, limit_words(s->mem_limit_src), used, lim, t->memory_percent,
				 c->name);
		else
			snprintf(
			    out->message, sizeof(out->message),
			    "Memory at %s, above the %s threshold (%.1f%% of %s; container %s)",
			    used, abs, pct, limit_words(s->mem_limit_src), c->name);
	} else {
		snprintf(out->message, sizeof(out->message),
			 "Memory back at %s (%.1f%% of %s; container %s)", used, pct,
			 limit_words(s->mem_limit_src), c->name);
		add_i64(o, "for_seconds", (s->mono_ns - st->on_since[R_MEM]) / 1000000000LL);
	}
	json_object_object_add(o, "value", json_object_new_uint64(s->mem_bytes));
	json_object_object_add(o, "limit", json_object_new_uint64(s->mem_limit));
	json_object_object_add(o, "percent", json_object_new_double(pct));
	add_i64(o, "threshold_percent", t->memory_percent);
	add_i64(o, "threshold_bytes", t->memory_bytes > 0 ? t->memory_bytes : 0);
	json_object_object_add(o, "source", json_object_new_string(res_source_name(s->mem_src)));
	json_object_object_add(o, "limit_source",
			       json_object_new_string(res_source_name(s->mem_limit_src)));
	if (s->flags & RES_F_MEM_ESTIMATED)
		json_object_object_add(o, "estimated", json_object_new_boolean(1));
	return 1;
}

/* pids-high on sample s. */
static int judge_pids(struct rd_entry *st, const struct resource_thresholds *t,
		      const struct container_info *c, const struct res_sample *s, struct alert *out)
{
	int now = over(s->pids, s->pids_limit, t->pids_percent, t->pids_count, st->on[R_PIDS]);
	json_object *o;

	if (now == st->on[R_PIDS])
		return 0;
	st->on[R_PIDS] = now;
	o = start(out, now ? ALERT_WARNING : ALERT_INFO, R_PIDS, c, s, now ? "raised" : "cleared");
	if (now) {
		st->on_since[R_PIDS] = s->mono_ns;
		if (s->pids_limit)
			snprintf(out->message, sizeof(out->message),
				 "%s%" PRIu64 " tasks, %.1f%% of the pids limit %" PRIu64
				 " (thresholds %d%% or %d tasks; container %s)",
				 s->flags & RES_F_PIDS_PARTIAL ? "At least " : "", s->pids,
				 (double)s->pids * 100.0 / (double)s->pids_limit, s->pids_limit,
				 t->pids_percent, t->pids_count, c->name);
		else
			snprintf(out->message, sizeof(out->message),
				 "%s%" PRIu64 " tasks, above %d (no pids limit; container %s)",
				 s->flags & RES_F_PIDS_PARTIAL ? "At least " : "", s->pids,
				 t->pids_count, c->name);
	} else {
		snprintf(out->message, sizeof(out->message),
			 "Tasks back at %" PRIu64 " (container %s)", s->pids, c->name);
		add_i64(o, "for_seconds", (s->mono_ns - st->on_since[R_PIDS]) / 1000000000LL);
	}
	json_object_object_add(o, "value", json_object_new_uint64(s->pids));
	json_object_object_add(o, "limit", json_object_new_uint64(s->pids_limit));
	add_i64(o, "threshold_percent", t->pids_percent);
	add_i64(o, "threshold_count", t->pids_count);
	json_object_object_add(o, "source", json_object_new_string(res_source_name(s->pids_src)));
	json_object_object_add(o, "limit_source",
			       json_object_new_string(res_source_name(s->pids_limit_src)));
	return 1;
}

int detect_resources(struct resdetect *rd, const struct resource_thresholds *t,
		     const struct container_info *c, const struct res_sample *s, struct alert *out,
		     int max)
{
	struct rd_entry *st;
	int n = 0;

	if (!c || !c->id[0])
		return 0;
	if (s->flags & RES_F_GONE) {
		int i = rd_find(rd, c->id);

		if (i >= 0)
			rd_del(rd, i);
		return 0;
	}
	st = rd_get(rd, c->id);
	if (!st)
		return 0;
	if (n < max && judge_cpu(st, t, c, s, &out[n]))
		n++;
	if (n < max && s->mem_src && judge_mem(st, t, c, s, &out[n]))
		n++;
	if (n < max && s->pids_src && judge_pids(st, t, c, s, &out[n]))
		n++;
	st->last_mono = s->mono_ns;
	return n;
}

int detect_oom_events(struct resdetect *rd, const struct container_info *c,
		      const struct res_sample *s, struct alert *out)
{
	struct rd_entry *st;
	uint64_t n;

	if (!c || !c->id[0] || !(s->flags & RES_F_OOM_EVENTS) || (s->flags & RES_F_GONE))
		return 0;
	st = rd_get(rd, c->id);
	if (!st)
		return 0;
	n = st->oom_seen && s->oom_kills > st->oom_kills ? s->oom_kills - st->oom_kills : 0;
	st->oom_kills = s->oom_kills;
	st->oom_seen = 1;
	if (!n)
		return 0;
	alert_start(out, s->time_ns, ALERT_CRITICAL, "oom-kill", "stats", c->id, c->name, c->image);
	snprintf(out->message, sizeof(out->message),
		 "OOM killer killed %" PRIu64 " process%s in container %s (memory.events; which "
		 "one is not known without the OOM tracepoint)",
		 n, n == 1 ? "" : "es", c->name);
	out->resource = json_object_new_object();
	json_object_object_add(out->resource, "kind", json_object_new_string("oom"));
	json_object_object_add(out->resource, "state", json_object_new_string("killed"));
	json_object_object_add(out->resource, "kills", json_object_new_uint64(n));
	json_object_object_add(out->resource, "source", json_object_new_string("memory.events"));
	return 1;
}

int detect_oom(const struct moat_oom_event *e, const struct container_info *c, int64_t offset_ns,
	       struct alert *out)
{
	json_object *p = json_object_new_object(), *r = json_object_new_object();
	char comm[MOAT_COMM_LEN + 1], tcomm[MOAT_COMM_LEN + 1], cg[48], rss[32];

	snprintf(comm, sizeof(comm), "%.*s", MOAT_COMM_LEN, e->hdr.comm);
	snprintf(tcomm, sizeof(tcomm), "%.*s", MOAT_COMM_LEN, e->trigger_comm);
	snprintf(cg, sizeof(cg), "cgroup %llu", (unsigned long long)e->hdr.cgroup_id);
	fmt_bytes((e->anon_rss_kb + e->file_rss_kb + e->shmem_rss_kb) << 10, rss, sizeof(rss));
	alert_start(out, offset_ns + (int64_t)e->hdr.ts_ns, ALERT_CRITICAL, "oom-kill", "stats",
		    c ? c->id : NULL, c ? c->name : NULL, c ? c->image : NULL);
	snprintf(out->message, sizeof(out->message),
		 "OOM killer killed process %u (%s) in container %s: %s resident", e->hdr.pid, comm,
		 c ? c->name : cg, rss);
	json_object_object_add(p, "pid", json_object_new_int64(e->hdr.pid));
	json_object_object_add(p, "tid", json_object_new_int64(e->hdr.tid));
	json_object_object_add(p, "comm", json_object_new_string(comm));
	json_object_object_add(p, "uid", json_object_new_int64(e->hdr.uid));
	json_object_object_add(p, "gid", json_object_new_int64(e->hdr.gid));
	json_object_object_add(p, "oom_score_adj", json_object_new_int64(e->oom_score_adj));
	out->process = p;
	json_object_object_add(r, "kind", json_object_new_string("oom"));
	json_object_object_add(r, "state", json_object_new_string("killed"));
	json_object_object_add(r, "anon_rss_kb", json_object_new_uint64(e->anon_rss_kb));
	json_object_object_add(r, "file_rss_kb", json_object_new_uint64(e->file_rss_kb));
	json_object_object_add(r, "shmem_rss_kb", json_object_new_uint64(e->shmem_rss_kb));
	json_object_object_add(r, "total_vm_kb", json_object_new_uint64(e->total_vm_kb));
	json_object_object_add(r, "cgroup_id", json_object_new_uint64(e->hdr.cgroup_id));
	json_object_object_add(r, "trigger_pid", json_object_new_int64(e->trigger_pid));
	json_object_object_add(r, "trigger_comm", json_object_new_string(tcomm));
	json_object_object_add(r, "trigger_cgroup_id",
			       json_object_new_uint64(e->trigger_cgroup_id));
	out->resource = r;
	return 1;
}
