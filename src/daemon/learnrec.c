/* learnrec.c - learn mode in moat run: recording, deviations, saves, the learn command
 * (learnrec.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "baseline.h"
#include "daemon_int.h"
#include "deviation.h"
#include "event.h"
#include "fs.h"
#include "learnpolicy.h"
#include "learnrec.h"
#include "log.h"
#include "registry.h"
#include "rulesets.h"
#include "settings.h"

#define LR_SLOTS 1024 /* containers whose image and learning are cached */
#define LR_PIDS	 4096 /* processes whose name is remembered (a parent's name for execs) */

struct lr_slot {
	uint64_t cgid;
	int64_t checked; /* Unix s; recomputed every 2 s */
	uint64_t gen;	 /* the store's generation when computed */
	struct baseline_image *im;
	int learning;
};

struct learnrec {
	struct baseline *b;
	struct deviation *dv;
	uint64_t gen; /* bumped when images may have gone or changed learning */
	int dirty;
	pid_t saver;
	struct lr_slot slot[LR_SLOTS];
	struct {
		uint32_t pid;
		char comm[BASELINE_NAME_LEN];
	} pids[LR_PIDS];
};

void learnrec_path(const struct daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/baseline.json", d->cfg.state_dir);
}

int learnrec_open(struct daemon *d)
{
	struct learnrec *l = calloc(1, sizeof(*l));
	struct baseline_limits lim = {d->cfg.learn.max_images, d->cfg.learn.max_items_per_image,
				      d->cfg.learn.max_items_total};
	char path[PATH_MAX + 32];
	int err, skipped = 0;

	if (!l || !(l->b = baseline_new(&lim)) || !(l->dv = deviation_new(&d->cfg.learn))) {
		if (l) {
			baseline_free(l->b);
			free(l);
		}
		return -ENOMEM;
	}
	d->learn = l;
	if (d->cfg.skip_sync)
		return 0;
	learnrec_path(d, path, sizeof(path));
	err = baseline_load(l->b, path, &skipped);
	if (err && err != -ENOENT)
		log_warn("baseline store %s: %s; starting empty (the file is replaced at the next "
			 "save: move it away to keep it)",
			 path, strerror(-err));
	else if (!err)
		log_info("baseline store: %zu image(s) from %s%s", baseline_count(l->b), path,
			 skipped ? " (bad parts skipped, see above)" : "");
	return 0;
}

static void save_child(struct daemon *d)
{
	char path[PATH_MAX + 32];

	learnrec_path(d, path, sizeof(path));
	_exit(fs_mkdir_p(d->cfg.state_dir, 0750) || baseline_save(d->learn->b, path) ? 1 : 0);
}

static void save_now(struct daemon *d)
{
	struct learnrec *l = d->learn;
	char path[PATH_MAX + 32];
	int err;

	if (l->saver) {
		waitpid(l->saver, NULL, 0);
		l->saver = 0;
	}
	if (!l->dirty || d->cfg.skip_sync)
		return;
	learnrec_path(d, path, sizeof(path));
	err = fs_mkdir_p(d->cfg.state_dir, 0750);
	if (!err)
		err = baseline_save(l->b, path);
	if (err)
		log_error("saving the baseline store to %s: %s", path, strerror(-err));
	else
		l->dirty = 0;
}

void learnrec_close(struct daemon *d)
{
	struct learnrec *l = d->learn;

	if (!l)
		return;
	if (d->started)
		save_now(d);
	baseline_free(l->b);
	deviation_free(l->dv);
	free(l);
	d->learn = NULL;
}

/* Container c's slot: its image's baseline (NULL: none, and it does not learn) and
 * whether it learns, recomputed every 2 s and whenever the store changed shape. */
static struct lr_slot *slot_of(struct daemon *d, const struct container_info *c, int64_t now)
{
	struct learnrec *l = d->learn;
	struct lr_slot *s = &l->slot[(c->cgroup_id * 0x9E3779B97F4A7C15ULL) >> 54];
	struct baseline_stats st;
	struct baseline_info info;

	baseline_stats(l->b, &st);
	if (s->cgid == c->cgroup_id && s->gen == l->gen + st.evicted_images && now - s->checked < 2)
		return s;
	s->cgid = c->cgroup_id;
	s->checked = now;
	s->learning = settings_want_learn(d, c) || baseline_learn_all(l->b);
	s->im = c->image[0] ? baseline_image(l->b, c->image, s->learning) : NULL;
	baseline_info(s->im, &info);
	if (s->im && info.learning)
		s->learning = 1;
	if (s->im && s->learning) {
		baseline_note_container(l->b, s->im, c->id, c->image_id, now);
		l->dirty = 1;
	}
	baseline_stats(l->b, &st);
	s->gen = l->gen + st.evicted_images;
	return s;
}

static const char *pid_name(struct learnrec *l, uint32_t pid)
{
	return l->pids[pid % LR_PIDS].pid == pid ? l->pids[pid % LR_PIDS].comm : "";
}

static void record(struct daemon *d, struct lr_slot *s, int kind, const char *key, const char *attr,
		   const char *parent, int64_t now)
{
	int r = baseline_record(d->learn->b, s->im, kind, key, attr, parent, now);

	if (r >= 0)
		d->learn->dirty = 1;
	if (r == 1)
		log_debug("learn: new %s %.200s", baseline_kind_name(kind), key);
}

/* The base name of the NUL-terminated p, without one leading '-' (as the exec hook cuts it). */
static const char *exec_base(const char *p)
{
	const char *b = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;

	return *b == '-' ? b + 1 : b;
}

/* Record as exec items keyed by their bare name (no '/') the other names the kernel checks
 * for program e under exec allow-only (bpf/exec.bpf.c, exec__names), when they are not the
 * base name of its path or interpreter: the file actually run (after symlinks: "dash" for
 * /bin/sh, "busybox" for an applet), argv[0] and, when argv[0] is busybox, argv[1]. moat
 * learn policy makes base names of them all, so the learned programs run under it. */
static void record_names(struct daemon *d, struct lr_slot *s, const struct moat_exec_event *e,
			 const char *key, const char *interp, const char *parent, int64_t now)
{
	char names[3][MOAT_PATH_LEN + 1] = {{0}};
	size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN, a0;

	snprintf(names[0], sizeof(names[0]), "%.*s", (int)sizeof(e->exe), e->exe);
	if (len) {
		a0 = strnlen(e->args, len);
		snprintf(names[1], sizeof(names[1]), "%.*s", (int)a0, e->args);
		if (!strncmp(exec_base(names[1]), "busybox", 7) && a0 + 1 < len)
			snprintf(names[2], sizeof(names[2]), "%.*s",
				 (int)strnlen(e->args + a0 + 1, len - a0 - 1), e->args + a0 + 1);
	}
	for (int i = 0; i < 3; i++) {
		const char *b = exec_base(names[i]);

		if (*b && strcmp(b, exec_base(key)) && (!interp[0] || strcmp(b, exec_base(interp))))
			record(d, s, BL_EXEC, b, NULL, parent, now);
	}
}

int learnrec_event(struct daemon *d, const struct moat_event_hdr *h, const struct container_info *c,
		   struct alert *out, int max)
{
	struct learnrec *l = d->learn;
	int64_t now = clock_unix_s();
	struct lr_slot *s;
	const char *name = NULL;
	char key[BASELINE_MAX_KEY];

	if (!l)
		return 0;
	if (h->type == MOAT_EV_EXEC) {
		const struct moat_exec_event *e = (const struct moat_exec_event *)h;
		uint32_t k = h->pid % LR_PIDS;

		l->pids[k].pid = h->pid;
		snprintf(l->pids[k].comm, sizeof(l->pids[k].comm), "%.*s",
			 (int)(sizeof(l->pids[k].comm) - 1), e->exe[0] ? e->exe : h->comm);
	}
	if (!c || !c->cgroup_id ||
	    (h->type != MOAT_EV_EXEC && h->type != MOAT_EV_CONNECT && h->type != MOAT_EV_SENDMSG &&
	     h->type != MOAT_EV_SOCKET))
		return 0;
	s = slot_of(d, c, now);
	if (!s->im)
		return 0;
	if (h->type == MOAT_EV_CONNECT || h->type == MOAT_EV_SENDMSG) {
		const struct moat_net_event *n = (const struct moat_net_event *)h;

		if (n->dport == 53)
			return 0; /* DNS: the names it asks are recorded from the answers */
		if (d->registry)
			name = registry_explains(d->registry, c->id, n->family, n->daddr, now);
		if (s->learning) {
			int kind = deviation_net_key(n, name, key, sizeof(key));

			record(d, s, kind, key, NULL, NULL, now);
			return 0;
		}
	} else if (h->type == MOAT_EV_EXEC && s->learning) {
		const struct moat_exec_event *e = (const struct moat_exec_event *)h;
		char interp[MOAT_PATH_LEN + 1];

		if (e->flags & MOAT_EXEC_F_KILLED)
			return 0;
		snprintf(key, sizeof(key), "%.*s", MOAT_PATH_LEN, e->filename);
		snprintf(interp, sizeof(interp), "%.*s", MOAT_PATH_LEN, e->interp);
		baseline_note_container(l->b, s->im, c->id, c->image_id, now);
		if (key[0]) {
			record(d, s, BL_EXEC, key, interp, pid_name(l, e->ppid), now);
			record_names(d, s, e, key, interp, pid_name(l, e->ppid), now);
		}
		return 0;
	} else if (h->type == MOAT_EV_SOCKET) {
		const struct moat_socket_event *so = (const struct moat_socket_event *)h;
		char a[64];

		if (s->learning && so->op == MOAT_SOCK_OP_BIND) {
			snprintf(key, sizeof(key), "%s:%u",
				 event_addr_str(so->family, so->addr, a, sizeof(a)), so->port);
			record(d, s, BL_LISTEN, key, NULL, NULL, now);
		}
		return 0;
	}
	if (s->learning)
		return 0;
	return deviation_event(l->dv, &d->dx, h, c, s->im, name, now, out, max);
}

int learnrec_dns(struct daemon *d, const struct moat_dns_event *q, const struct container_info *c,
		 struct alert *out, int max)
{
	struct learnrec *l = d->learn;
	int64_t now = clock_unix_s();
	struct lr_slot *s;
	char name[MOAT_DNS_NAME_LEN + 1];
	size_t n;

	if (!l || !c || !c->cgroup_id || max < 1)
		return 0;
	if (q->hdr.type == MOAT_EV_DNS_QUERY)
		return deviation_dns_query(l->dv, &d->dx, q, c, now, out);
	s = slot_of(d, c, now);
	if (!s->im || q->rcode != 0 || !q->n_addrs)
		return 0;
	if (!s->learning)
		return deviation_event(l->dv, &d->dx, &q->hdr, c, s->im, NULL, now, out, max);
	snprintf(name, sizeof(name), "%.*s", (int)MOAT_DNS_NAME_LEN, q->qname);
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	n = strlen(name);
	if (n && name[n - 1] == '.')
		name[--n] = 0;
	if (n)
		record(d, s, BL_DOMAIN, name, NULL, NULL, now);
	return 0;
}

/* The image a policy targets when it names exactly one, without glob characters; else NULL. */
static const char *single_image(const struct policy *p)
{
	return p->n_images == 1 && !strpbrk(p->images[0], "*?[\\") ? p->images[0] : NULL;
}

void learnrec_apply_switches(struct daemon *d)
{
	struct learnrec *l = d->learn;

	if (!l || !d->cfg.learn.auto_enforce)
		return;
	for (int i = 0; i < d->policies->n; i++) {
		struct policy *p = &d->policies->p[i];
		const char *name = single_image(p);
		struct baseline_image *im = name ? baseline_image(l->b, name, 0) : NULL;
		char path[sizeof(p->egress_rules)], id[64];
		struct learnpolicy_opts o = {.rules_path = path};
		struct baseline_info info;
		struct ruleset rs = {0};
		json_object *doc = NULL, *notes = NULL, *pol, *allow;
		int err;

		baseline_info(im, &info);
		if (p->egress != POLICY_EGRESS_LEARN || !im || !info.enforced)
			continue;
		learnpolicy_id(name, id, sizeof(id));
		snprintf(path, sizeof(path), "%.400s/learned/%.63s.rules.json", d->cfg.state_dir,
			 id);
		err = learnpolicy_build(im, &o, &doc, &rs, &notes);
		if (!err)
			err = fs_mkdir_parent(path, 0750);
		if (!err)
			err = rules_save(&rs, path);
		if (err) {
			log_error(
			    "policy %s: cannot switch to enforce (learn.auto_enforce): writing %s: "
			    "%s; it keeps learning",
			    p->id, path, strerror(-err));
		} else {
			pol = json_object_array_get_idx(json_object_object_get(doc, "policies"), 0);
			allow = json_object_object_get(pol, "exec_allow");
			p->n_exec_allow = 0;
			for (size_t k = 0; k < json_object_array_length(allow) &&
					   p->n_exec_allow < POLICY_MAX_EXEC;
			     k++)
				snprintf(
				    p->exec_allow[p->n_exec_allow++], sizeof(p->exec_allow[0]),
				    "%s",
				    json_object_get_string(json_object_array_get_idx(allow, k)));
			p->egress = POLICY_EGRESS_ENFORCE;
			memcpy(p->egress_rules, path, sizeof(p->egress_rules));
			p->actions |= POLICY_ACT_KILL_EXEC;
			log_info("policy %s: the baseline of %s is stable: enforced "
				 "(learn.auto_enforce) "
				 "with %d domain rule(s) in %s and %d allowed program(s)",
				 p->id, name, rs.n, path, p->n_exec_allow);
		}
		rules_free(&rs);
		json_object_put(doc);
		json_object_put(notes);
	}
}

/* learn.auto_enforce: the images of learn policies whose baseline became stable are
 * switched (marked enforced, learning off) and the policies reloaded. */
static void check_switches(struct daemon *d, int64_t now)
{
	struct learnrec *l = d->learn;
	int switched = 0;

	for (int i = 0; i < d->policies->n; i++) {
		const struct policy *p = &d->policies->p[i];
		const char *name = single_image(p);
		struct baseline_image *im = name ? baseline_image(l->b, name, 0) : NULL;
		struct baseline_info info;

		baseline_info(im, &info);
		if (p->egress != POLICY_EGRESS_LEARN || !im || info.enforced ||
		    !baseline_stable(im, now, d->cfg.learn.stable_s))
			continue;
		baseline_set_learning(im, 0, now);
		baseline_set_enforced(im, 1);
		switched++;
	}
	if (!switched)
		return;
	l->gen++;
	l->dirty = 1;
	rulesets_load_policies(d); /* learnrec_apply_switches rewrites them */
	settings_apply_all(d);
}

void learnrec_tick(struct daemon *d)
{
	struct learnrec *l = d->learn;
	pid_t pid;

	if (!l)
		return;
	if (d->cfg.learn.auto_enforce && d->ticks % 5 == 2)
		check_switches(d, clock_unix_s());
	if (l->saver) {
		if (waitpid(l->saver, NULL, WNOHANG) == 0)
			return; /* still writing */
		l->saver = 0;
	}
	if (d->ticks % 10 != 5 || !l->dirty || d->cfg.skip_sync)
		return;
	pid = fork();
	if (pid < 0) {
		log_warn("cannot fork to save the baseline store: %s; saving in place",
			 strerror(errno));
		save_now(d);
		return;
	}
	if (pid == 0)
		save_child(d);
	l->saver = pid;
	l->dirty = 0;
}

void learnrec_reconfig(struct daemon *d)
{
	if (d->learn)
		deviation_set_config(d->learn->dv, &d->cfg.learn);
}

json_object *learnrec_status_json(struct daemon *d)
{
	return baseline_status_json(d->learn->b, clock_unix_s(), d->cfg.learn.stable_s);
}

static json_object *answer(int ok, const char *error)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "ok", json_object_new_boolean(ok));
	if (error)
		json_object_object_add(a, "error", json_object_new_string(error));
	return a;
}

json_object *learnrec_command(struct daemon *d, json_object *req)
{
	struct learnrec *l = d->learn;
	json_object *v, *a;
	const char *op = "", *image = "";
	struct baseline_image *im = NULL;
	int64_t now = clock_unix_s();

	if (!l)
		return answer(0, "learn mode is not set up in this moat run");
	if (json_object_object_get_ex(req, "op", &v) && json_object_is_type(v, json_type_string))
		op = json_object_get_string(v);
	if (json_object_object_get_ex(req, "image", &v) && json_object_is_type(v, json_type_string))
		image = json_object_get_string(v);
	if (!strcmp(op, "status")) {
		a = answer(1, NULL);
		json_object_object_add(a, "images", learnrec_status_json(d));
		json_object_object_add(a, "learn_all",
				       json_object_new_boolean(baseline_learn_all(l->b)));
		{
			struct baseline_stats st;
			json_object *o = json_object_new_object();

			baseline_stats(l->b, &st);
			json_object_object_add(o, "images",
					       json_object_new_uint64(baseline_count(l->b)));
			json_object_object_add(o, "items", json_object_new_uint64(st.items));
			json_object_object_add(o, "refused", json_object_new_uint64(st.refused));
			json_object_object_add(o, "evicted_images",
					       json_object_new_uint64(st.evicted_images));
			json_object_object_add(a, "store", o);
		}
		return a;
	}
	if (!strcmp(op, "show")) {
		if (!image[0] || !(im = baseline_image(l->b, image, 0)))
			return answer(0,
				      "no baseline for that image (moat learn status lists them)");
		a = answer(1, NULL);
		json_object_object_add(a, "baseline", baseline_image_json(im));
		return a;
	}
	if (strcmp(op, "start") && strcmp(op, "stop"))
		return answer(0, "op must be start, stop, status or show");
	l->gen++;
	l->dirty = 1;
	if (!image[0] || !strcmp(image, "*")) {
		baseline_set_learn_all(l->b, !strcmp(op, "start"));
		if (!strcmp(op, "stop"))
			for (size_t i = 0; i < baseline_count(l->b); i++)
				baseline_set_learning(baseline_at(l->b, i), 0, now);
		log_info("learn: %s for every image", !strcmp(op, "start") ? "started" : "stopped");
		return answer(1, NULL);
	}
	im = baseline_image(l->b, image, !strcmp(op, "start"));
	if (!im)
		return answer(0, errno == ENOENT ? "no baseline for that image" : strerror(errno));
	{
		struct baseline_info info;

		baseline_info(im, &info);
		baseline_set_learning(im, !strcmp(op, "start"), now);
		if (info.enforced && !strcmp(op, "start")) {
			/* Back from an automatic switch: its policy learns again. */
			rulesets_load_policies(d);
			settings_apply_all(d);
		}
	}
	log_info("learn: %s for image %s", !strcmp(op, "start") ? "started" : "stopped", image);
	a = answer(1, NULL);
	json_object_object_add(a, "image", json_object_new_string(image));
	return a;
}
