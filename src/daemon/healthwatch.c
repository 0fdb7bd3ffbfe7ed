/* healthwatch.c - the health checker in moat run (healthwatch.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "dockerhealth.h"
#include "dockerwatch.h"
#include "health.h"
#include "healthwatch.h"
#include "log.h"

struct healthwatch {
	struct dockerhealth *reader;
	struct health_table table;
	uint32_t poll_s; /* the reader's, to notice a change on reload */
};

int healthwatch_start(struct daemon *d)
{
	struct healthwatch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->poll_s = d->cfg.health.poll_s;
	w->reader = dockerhealth_start(NULL, w->poll_s);
	if (!w->reader) {
		int err = -errno;

		log_error("health checker: cannot start its thread: %s", strerror(-err));
		free(w);
		return err;
	}
	d->health = w;
	return 0;
}

void healthwatch_stop(struct daemon *d)
{
	if (!d->health)
		return;
	dockerhealth_stop(d->health->reader);
	free(d->health);
	d->health = NULL;
}

int healthwatch_fd(const struct daemon *d)
{
	return d->health ? dockerhealth_fd(d->health->reader) : -1;
}

/* The checker's threshold for c, or 0 when it is off for c. */
static int failures_for(const struct daemon *d, const struct container_info *c)
{
	const struct policy *p = policy_match(d->policies, c);

	if (p && p->logs.health_enabled >= 0 ? !p->logs.health_enabled : !d->cfg.health.enabled)
		return 0;
	return p && p->logs.health_failures > 0 ? p->logs.health_failures
						: (int)d->cfg.health.failures;
}

void healthwatch_apply(struct daemon *d, const struct container_info *c)
{
	if (!d->health || !c || !c->id[0])
		return;
	if (c->health_cmd[0] && !inventory_gone_since(c) && !strcmp(c->state, "running") &&
	    failures_for(d, c))
		dockerhealth_track(d->health->reader, c->id);
	else
		dockerhealth_untrack(d->health->reader, c->id);
}

void healthwatch_apply_all(struct daemon *d)
{
	if (!d->health)
		return;
	if (d->health->poll_s != d->cfg.health.poll_s) {
		d->health->poll_s = d->cfg.health.poll_s;
		dockerhealth_set_poll(d->health->reader, d->health->poll_s);
	}
	for (int i = 0; i < inventory_count(&d->inv); i++)
		healthwatch_apply(d, inventory_at(&d->inv, i));
}

void healthwatch_event(struct daemon *d, const struct docker_event *ev,
		       const struct container_info *c)
{
	if (!d->health || strcmp(ev->type, "container"))
		return;
	if (!strcmp(ev->action, "die") || !strcmp(ev->action, "destroy")) {
		dockerhealth_untrack(d->health->reader, ev->id);
		health_forget(&d->health->table, ev->id);
	} else if (!strcmp(ev->action, "start")) {
		healthwatch_apply(d, c);
	} else if (c && c->health_cmd[0] && failures_for(d, c) &&
		   (!strncmp(ev->action, "health_status", 13) || !strcmp(ev->action, "exec_die"))) {
		/* A check ended (healthchecks are execs) or Docker changed its verdict. */
		dockerhealth_check(d->health->reader, c->id);
	}
}

void healthwatch_on_ready(struct daemon *d)
{
	struct docker_health r;

	while (d->health && dockerhealth_next(d->health->reader, &r) == 0) {
		const struct container_info *c = inventory_find(&d->inv, r.id);
		struct alert a;
		int n = c ? failures_for(d, c) : 0;

		if (!n && !r.gone)
			continue;
		if (!detect_health(&d->health->table, &r, c, n, clock_unix_ns(), &a))
			continue;
		respond_emit(d, &a);
		respond_act_on(d, &a);
		alert_release(&a);
	}
}
