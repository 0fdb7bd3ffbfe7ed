/* tick.c - the 1 s timer's housekeeping (tick.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_int.h"
#include "fs.h"
#include "learnrec.h"
#include "log.h"
#include "netrules.h"
#include "registry.h"
#include "tick.h"

void tick_registry_path(const struct daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/registry.json", d->cfg.state_dir);
}

static void save_registry(struct daemon *d)
{
	char path[PATH_MAX + 32];
	int err;

	if (!d->registry || !d->registry_dirty || d->cfg.skip_sync)
		return;
	tick_registry_path(d, path, sizeof(path));
	err = fs_mkdir_p(d->cfg.state_dir, 0750);
	if (!err)
		err = registry_save(d->registry, path);
	if (err)
		log_error("saving the DNS registry to %s: %s", path, strerror(-err));
	else
		d->registry_dirty = 0;
}

void tick_save_registry_now(struct daemon *d)
{
	if (d->saver)
		waitpid(d->saver, NULL, 0);
	d->saver = 0;
	d->registry_dirty = 1;
	save_registry(d);
}

/* Save in a child process: writing 100,000 names takes over a second, and
 * the event loop must not stall. The child works on a copy-on-write
 * snapshot; the final save at exit is done in place. */
static void save_registry_async(struct daemon *d)
{
	pid_t pid;

	if (d->saver) {
		if (waitpid(d->saver, NULL, WNOHANG) == 0)
			return; /* still writing */
		d->saver = 0;
	}
	if (!d->registry || !d->registry_dirty || d->cfg.skip_sync)
		return;
	pid = fork();
	if (pid < 0) {
		log_warn("cannot fork to save the DNS registry: %s; saving in place",
			 strerror(errno));
		save_registry(d);
		return;
	}
	if (pid == 0) {
		char path[PATH_MAX + 32];

		tick_registry_path(d, path, sizeof(path));
		_exit(fs_mkdir_p(d->cfg.state_dir, 0750) || registry_save(d->registry, path) ? 1
											     : 0);
	}
	d->saver = pid;
	d->registry_dirty = 0;
}

/* A container over its event budget (event_rate_per_container) had ordinary events left
 * out of the ring buffer: its enforcement is whole, but what moat run saw of it is not (a
 * direct connection among a flood goes unreported). Say so, once per dedup window. */
static void check_suppressed(struct daemon *d)
{
	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);
		struct moat_cgroup_state st;
		struct alert a;
		int k;

		if (!c || inventory_gone_since(c) || !c->cgroup_id ||
		    netrules_cgroup_state(d->pin_dir, c->cgroup_id, &st) || !st.events_suppressed)
			continue;
		/* Only new suppressions are news: the count at the last look. */
		k = (int)(c->cgroup_id % 512);
		if (d->suppressed_seen[k].cgid == c->cgroup_id &&
		    d->suppressed_seen[k].seen == st.events_suppressed)
			continue;
		d->suppressed_seen[k].cgid = c->cgroup_id;
		d->suppressed_seen[k].seen = st.events_suppressed;
		if (dedup_seen(d->dedup, "events-suppressed", c->id, "", clock_unix_s()))
			continue;
		alert_start(&a, clock_unix_s() * 1000000000LL, ALERT_WARNING, "events-suppressed",
			    "kernel", c->id, c->name, c->image);
		snprintf(
		    a.message, sizeof(a.message),
		    "Container %s sends more than %u events per second: %llu were left out of "
		    "the ring buffer (enforcement is unaffected; its detections are incomplete)",
		    c->name, d->cfg.event_rate, (unsigned long long)st.events_suppressed);
		respond_emit(d, &a);
		alert_release(&a);
	}
}

void tick_run(struct daemon *d)
{
	if (d->registry && registry_prune(d->registry, clock_unix_s()))
		d->registry_dirty = 1;
	prompts_tick(d);
	learnrec_tick(d);
	if (d->ticks % 5 == 0)
		check_suppressed(d);
	if (++d->ticks % 10 == 0) {
		int gone = 0;

		save_registry_async(d);
		/* Expired learned addresses go, and each container's count against its fair
		 * share is made exact again. */
		netrules_learned_sweep(d->pin_dir, (uint64_t)clock_boot_ns(), 60ULL * 1000000000ULL,
				       &gone);
		if (gone)
			log_debug("%d expired learned address(es) removed", gone);
	}
}
