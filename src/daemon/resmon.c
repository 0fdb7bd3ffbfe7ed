/* resmon.c - the resource watch of moat run: containers to the sampler, samples through the
 * resource rules (resmon.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "live.h"
#include "detect_resources.h"
#include "log.h"
#include "resmon.h"
#include "resources.h"

/* The containers to sample: every one the inventory holds that is not gone and has a
 * cgroup. */
static void set_targets(struct daemon *d)
{
	int n = inventory_count(&d->inv), k = 0;
	struct res_target *t;

	if (!d->res)
		return;
	t = calloc((size_t)(n ? n : 1), sizeof(*t));
	if (!t)
		return;
	for (int i = 0; i < n && k < RES_MAX_TARGETS; i++) {
		const struct container_info *c = inventory_at(&d->inv, i);

		if (!c || inventory_gone_since(c) || !c->cgroup[0] || !c->cgroup_id)
			continue;
		snprintf(t[k].id, sizeof(t[k].id), "%s", c->id);
		snprintf(t[k].name, sizeof(t[k].name), "%s", c->name);
		snprintf(t[k].cgroup, sizeof(t[k].cgroup), "%s", c->cgroup);
		t[k].cgroup_id = c->cgroup_id;
		t[k].pid = c->pid;
		t[k].mem_limit = c->mem_limit;
		t[k].pids_limit = c->pids_limit;
		k++;
	}
	if (resources_set_targets(d->res, t, k))
		log_warn("resource stats: out of memory; the containers sampled stay as they were");
	free(t);
}

int resmon_start(struct daemon *d)
{
	const struct resource_config *rc = &d->cfg.resources;
	uint32_t hist =
	    rc->interval_ms ? (uint32_t)((uint64_t)rc->history_s * 1000 / rc->interval_ms) : 1;
	struct resources_opts o = {
	    .cg_mount = d->cg_mount,
	    .interval_ms = rc->interval_ms,
	    .history = hist ? hist : 1,
	    .max_procs = (int)rc->max_procs,
	};

	if (!rc->enabled)
		return 0;
	d->resdet = resdetect_new();
	d->res = d->resdet ? resources_start(&o) : NULL;
	if (!d->res) {
		log_error("cannot start the resource sampler: %s; no resource stats or rules",
			  strerror(errno));
		resdetect_free(d->resdet);
		d->resdet = NULL;
		return -1;
	}
	set_targets(d);
	log_debug("resource stats: every %u ms, %u samples kept per container", rc->interval_ms,
		  o.history);
	return 0;
}

int resmon_fd(const struct daemon *d)
{
	return d->res ? resources_fd(d->res) : -1;
}

static int by_id(const void *a, const void *b)
{
	return strcmp((*(const struct container_info *const *)a)->id,
		      (*(const struct container_info *const *)b)->id);
}

void resmon_on_pass(struct daemon *d)
{
	struct alert alerts[RESDETECT_MAX_ALERTS];
	const struct container_info **cs;
	struct res_latest *l;
	int n, nc = 0, total = inventory_count(&d->inv);

	if (!d->res)
		return;
	l = resources_take(d->res, &n);
	cs = calloc((size_t)(total ? total : 1), sizeof(*cs));
	for (int i = 0; cs && i < total; i++) {
		const struct container_info *c = inventory_at(&d->inv, i);

		if (c && c->id[0])
			cs[nc++] = c;
	}
	if (cs)
		qsort(cs, (size_t)nc, sizeof(*cs), by_id);
	for (int i = 0; cs && i < n; i++) {
		struct container_info key;
		const struct container_info *kp = &key, **hit;
		const struct policy *p;
		struct resource_thresholds t;
		int k;

		snprintf(key.id, sizeof(key.id), "%s", l[i].id);
		hit = bsearch(&kp, cs, (size_t)nc, sizeof(*cs), by_id);
		if (!hit)
			continue;
		if (d->live) {
			/* The dashboard's sparklines: one "stats" message per container and pass.
			 */
			json_object *o = res_sample_json(&l[i].s);

			if (o) {
				json_object_object_add(o, "id", json_object_new_string((*hit)->id));
				json_object_object_add(o, "name",
						       json_object_new_string((*hit)->name));
				live_publish(d->live, "stats", o);
			}
		}
		p = policy_match(d->policies, *hit);
		t = config_resources_merge(&d->cfg.resources.t, p ? &p->resources : NULL);
		k = detect_resources(d->resdet, &t, *hit, &l[i].s, alerts,
				     RESDETECT_MAX_ALERTS - 1);
		/* memory.events only where the OOM program is not there to report kills as they
		 * happen (and name the process). */
		if (!d->loader.oom)
			k += detect_oom_events(d->resdet, *hit, &l[i].s, &alerts[k]);
		for (int j = 0; j < k; j++) {
			respond_emit(d, &alerts[j]);
			respond_act_on(d, &alerts[j]);
			alert_release(&alerts[j]);
		}
	}
	free(cs);
	free(l);
	/* Containers no longer sampled lose their rules' state after ten intervals. */
	resdetect_prune(d->resdet, clock_boot_ns(), 10LL * d->cfg.resources.interval_ms * 1000000);
	set_targets(d);
}

void resmon_stop(struct daemon *d)
{
	resources_stop(d->res);
	d->res = NULL;
	resdetect_free(d->resdet);
	d->resdet = NULL;
}

json_object *resmon_status_json(struct daemon *d)
{
	json_object *o = json_object_new_object();
	struct resources_stats st = {0};

	json_object_object_add(o, "enabled", json_object_new_boolean(d->res != NULL));
	json_object_object_add(o, "interval_ms",
			       json_object_new_int64(d->cfg.resources.interval_ms));
	if (d->res)
		resources_get_stats(d->res, &st);
	json_object_object_add(o, "passes", json_object_new_uint64(st.passes));
	json_object_object_add(o, "containers", json_object_new_uint64(st.containers));
	json_object_object_add(o, "last_pass_us", json_object_new_int64(st.last_pass_ns / 1000));
	json_object_object_add(o, "max_pass_us", json_object_new_int64(st.max_pass_ns / 1000));
	return o;
}

json_object *resmon_sources_json(struct daemon *d, const char *id)
{
	return d->res ? resources_sources_json(d->res, id) : NULL;
}

json_object *resmon_query_json(struct daemon *d, const char *container, int history)
{
	return d->res ? resources_json(d->res, container, history) : json_object_new_array();
}
