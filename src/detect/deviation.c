/* deviation.c - new-exec, new-domain, new-destination, exec-then-egress and dns-tunnel
 * (deviation.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deviation.h"
#include "event.h"
#include "textesc.h"

#define DV_SLOTS      1024 /* containers with state at once (by cgroup id) */
#define DV_PARENTS    2	   /* parent domains watched per container at once */
#define DV_MAX_LABELS 128  /* unique subdomains remembered per parent (tunnel_labels cap) */
#define DV_PARENT_LEN 128

struct dv_tunnel {
	char parent[DV_PARENT_LEN];
	int64_t start; /* the window's start, Unix s; 0: free */
	uint32_t n;
	int alerted;
	uint64_t seen[DV_MAX_LABELS];
};

struct dv_slot {
	uint64_t cgid;
	int64_t shell_at; /* when a shell or interpreter last started (Unix s), 0 never */
	char shell[64];
	struct dv_tunnel t[DV_PARENTS];
};

struct deviation {
	struct learn_config cfg;
	struct dv_slot slot[DV_SLOTS];
};

struct deviation *deviation_new(const struct learn_config *cfg)
{
	struct deviation *dv = calloc(1, sizeof(*dv));

	if (!dv)
		return NULL;
	if (cfg)
		dv->cfg = *cfg;
	else
		config_learn_defaults(&dv->cfg);
	return dv;
}

void deviation_free(struct deviation *dv)
{
	free(dv);
}

void deviation_set_config(struct deviation *dv, const struct learn_config *cfg)
{
	if (dv && cfg)
		dv->cfg = *cfg;
}

/* Container cgid's slot, taken over (cleared) when another container held it. */
static struct dv_slot *slot_of(struct deviation *dv, uint64_t cgid)
{
	struct dv_slot *s = &dv->slot[(cgid * 0x9E3779B97F4A7C15ULL) >> 54];

	if (s->cgid != cgid) {
		memset(s, 0, sizeof(*s));
		s->cgid = cgid;
	}
	return s;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* "learned over 2h5m from 3 containers" for im at now. */
static void age_text(const struct baseline_image *im, int64_t now, char *buf, size_t len)
{
	struct baseline_info i;
	int64_t since, age;

	baseline_info(im, &i);
	since = i.learn_since ? i.learn_since : i.first_seen;
	age = since && now > since ? now - since : 0;
	if (age >= 86400)
		snprintf(buf, len, "%lldd%lldh", (long long)(age / 86400),
			 (long long)(age % 86400 / 3600));
	else if (age >= 3600)
		snprintf(buf, len, "%lldh%lldm", (long long)(age / 3600),
			 (long long)(age % 3600 / 60));
	else
		snprintf(buf, len, "%lldm%llds", (long long)(age / 60), (long long)(age % 60));
	snprintf(buf + strlen(buf), len - strlen(buf), " from %llu container(s), %u item(s)",
		 (unsigned long long)i.n_containers, i.n_items);
}

static void start(struct alert *a, const struct detect_ctx *x, const struct moat_event_hdr *h,
		  const struct container_info *c, int sev, const char *rule, const char *source)
{
	alert_start(a, x->offset_ns + (int64_t)h->ts_ns, sev, rule, source, c ? c->id : NULL,
		    c ? c->name : NULL, c ? c->image : NULL);
}

static json_object *net_json(const struct moat_net_event *n, const char *name)
{
	json_object *o = json_object_new_object();
	char a[64];

	json_object_object_add(
	    o, "daddr", json_object_new_string(event_addr_str(n->family, n->daddr, a, sizeof(a))));
	json_object_object_add(o, "dport", json_object_new_int(n->dport));
	json_object_object_add(o, "protocol",
			       json_object_new_string(n->protocol == 6	  ? "tcp"
						      : n->protocol == 17 ? "udp"
									  : "other"));
	if (name)
		json_object_object_add(o, "domain", json_object_new_string(name));
	return o;
}

int deviation_net_key(const struct moat_net_event *n, const char *name, char *key, size_t len)
{
	char a[64];
	const char *proto = n->protocol == 6 ? "tcp" : n->protocol == 17 ? "udp" : "other";

	if (!name)
		event_addr_str(n->family, n->daddr, a, sizeof(a));
	if (n->hdr.type == MOAT_EV_SENDMSG) {
		if (n->family == 10 && !name)
			snprintf(key, len, "[%s]:%u", a, n->dport);
		else
			snprintf(key, len, "%s:%u", name ? name : a, n->dport);
		return BL_UDP;
	}
	if (n->family == 10 && !name)
		snprintf(key, len, "[%s]:%u/%s", a, n->dport, proto);
	else
		snprintf(key, len, "%s:%u/%s", name ? name : a, n->dport, proto);
	return name ? BL_CONNECT : BL_DIRECT;
}

/* Is egress to (name or the key's address) in im's baseline? A name counts when it was
 * resolved or connected to; an address when it was a destination. */
static int egress_known(const struct baseline_image *im, int kind, const char *key,
			const char *name)
{
	return baseline_has(im, kind, key) || (name && baseline_has(im, BL_DOMAIN, name));
}

static int on_exec(struct deviation *dv, const struct detect_ctx *x,
		   const struct moat_exec_event *e, const struct container_info *c,
		   const struct baseline_image *im, int64_t now, struct alert *out, int max)
{
	const char *matched = NULL;
	int cls = detect_exec_class(x->cfg, e, &matched), n = 0;
	char fn[400], age[96], key[MOAT_PATH_LEN + 1];

	if ((cls == EXEC_SHELL || cls == EXEC_RUNTIME) && !(e->flags & MOAT_EXEC_F_KILLED)) {
		struct dv_slot *s = slot_of(dv, e->hdr.cgroup_id);

		s->shell_at = now;
		snprintf(s->shell, sizeof(s->shell), "%.63s",
			 matched ? matched : base_of(e->filename));
	}
	snprintf(key, sizeof(key), "%.*s", MOAT_PATH_LEN, e->filename);
	if (!key[0] || baseline_has(im, BL_EXEC, key) || max < 1 ||
	    (x->dedup && dedup_seen(x->dedup, "new-exec", c->id, key, now)))
		return 0;
	text_escape(fn, sizeof(fn), key, strlen(key));
	age_text(im, now, age, sizeof(age));
	start(&out[n], x, &e->hdr, c, ALERT_WARNING, "new-exec", "process");
	snprintf(out[n].message, sizeof(out[n].message),
		 "Container %.100s ran %.200s, which its image's baseline never had%s (baseline "
		 "learned over %.90s)",
		 c->name, fn, e->flags & MOAT_EXEC_F_KILLED ? "; killed in the kernel" : "", age);
	out[n].process = json_object_new_object();
	json_object_object_add(out[n].process, "pid", json_object_new_int64(e->hdr.pid));
	json_object_object_add(out[n].process, "ppid", json_object_new_int64(e->ppid));
	json_object_object_add(out[n].process, "filename", json_object_new_string(key));
	json_object_object_add(out[n].process, "killed",
			       json_object_new_boolean(!!(e->flags & MOAT_EXEC_F_KILLED)));
	return ++n;
}

static int on_net(struct deviation *dv, const struct detect_ctx *x, const struct moat_net_event *nv,
		  const struct container_info *c, const struct baseline_image *im, const char *name,
		  int64_t now, struct alert *out, int max)
{
	char key[BASELINE_MAX_KEY], esc[400], age[96];
	int kind, shell;
	struct dv_slot *s;

	if (nv->dport == 53 || max < 1)
		return 0; /* DNS: its names are what new-domain judges */
	kind = deviation_net_key(nv, name, key, sizeof(key));
	if (egress_known(im, kind, key, name))
		return 0;
	s = slot_of(dv, nv->hdr.cgroup_id);
	shell = dv->cfg.exec_egress_window_s && s->shell_at &&
		now - s->shell_at <= (int64_t)dv->cfg.exec_egress_window_s;
	text_escape(esc, sizeof(esc), key, strlen(key));
	age_text(im, now, age, sizeof(age));
	if (shell) {
		char sh[140];

		if (x->dedup && dedup_seen(x->dedup, "exec-then-egress", c->id, key, now))
			return 0;
		text_escape(sh, sizeof(sh), s->shell, strlen(s->shell));
		start(out, x, &nv->hdr, c, ALERT_CRITICAL, "exec-then-egress", "network");
		snprintf(out->message, sizeof(out->message),
			 "Container %.64s started %.40s and %llds later sent traffic to %.150s, "
			 "which its image's baseline never had (a reverse shell or "
			 "download-and-run?; baseline learned over %.60s)",
			 c->name, sh, (long long)(now - s->shell_at), esc, age);
	} else {
		if (x->dedup && dedup_seen(x->dedup, "new-destination", c->id, key, now))
			return 0;
		start(out, x, &nv->hdr, c, ALERT_WARNING, "new-destination", "network");
		snprintf(out->message, sizeof(out->message),
			 "Container %.100s sent traffic to %.200s, which its image's baseline "
			 "never had (baseline learned over %.90s)",
			 c->name, esc, age);
	}
	out->network = net_json(nv, name);
	return 1;
}

static int on_answer(const struct detect_ctx *x, const struct moat_dns_event *q,
		     const struct container_info *c, const struct baseline_image *im, int64_t now,
		     struct alert *out, int max)
{
	char name[MOAT_DNS_NAME_LEN + 1], esc[400], age[96];
	size_t n;

	if (q->rcode != 0 || max < 1)
		return 0;
	snprintf(name, sizeof(name), "%.*s", (int)MOAT_DNS_NAME_LEN, q->qname);
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	n = strlen(name);
	if (n && name[n - 1] == '.')
		name[--n] = 0;
	if (!n || baseline_has(im, BL_DOMAIN, name) ||
	    (x->dedup && dedup_seen(x->dedup, "new-domain", c->id, name, now)))
		return 0;
	text_escape(esc, sizeof(esc), name, n);
	age_text(im, now, age, sizeof(age));
	start(out, x, &q->hdr, c, ALERT_WARNING, "new-domain", "dns");
	snprintf(out->message, sizeof(out->message),
		 "Container %.100s resolved %.200s, which its image's baseline never had "
		 "(baseline learned over %.90s)",
		 c->name, esc, age);
	out->network = json_object_new_object();
	json_object_object_add(out->network, "domain", json_object_new_string(name));
	return 1;
}

int deviation_event(struct deviation *dv, const struct detect_ctx *x,
		    const struct moat_event_hdr *h, const struct container_info *c,
		    const struct baseline_image *im, const char *name, int64_t now,
		    struct alert *out, int max)
{
	if (!dv || !c || !im || !h)
		return 0;
	switch (h->type) {
	case MOAT_EV_EXEC:
		return on_exec(dv, x, (const struct moat_exec_event *)h, c, im, now, out, max);
	case MOAT_EV_CONNECT:
	case MOAT_EV_SENDMSG:
		return on_net(dv, x, (const struct moat_net_event *)h, c, im, name, now, out, max);
	case MOAT_EV_DNS_ANSWER:
		return on_answer(x, (const struct moat_dns_event *)h, c, im, now, out, max);
	default: return 0;
	}
}

/* ---- dns-tunnel ------------------------------------------------------------------------ */

int deviation_tunnel_measure(const char *name, char *parent, size_t plen, size_t *longest,
			     double *entropy)
{
	const char *lab[128];
	size_t n = 0, len = strlen(name), best = 0, bl = 0, keep;
	unsigned cnt[256] = {0};
	double h = 0;

	while (len && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len && n < 128; i++)
		if (i == 0 || name[i - 1] == '.')
			lab[n++] = name + i;
	if (n < 3)
		return -1;
	/* The parent: the last two labels; three for "co.uk"-like second levels. */
	keep = 2;
	if (n >= 4 && (size_t)(name + len - lab[n - 1]) == 2 &&
	    (size_t)(lab[n - 1] - lab[n - 2] - 1) <= 3)
		keep = 3;
	if (n <= keep)
		return -1;
	snprintf(parent, plen, "%.*s", (int)(name + len - lab[n - keep]), lab[n - keep]);
	for (size_t i = 0; i < n - keep; i++) {
		size_t l = (size_t)(lab[i + 1] - lab[i] - 1);

		if (l > bl) {
			bl = l;
			best = i;
		}
	}
	for (size_t i = 0; i < bl; i++)
		cnt[(unsigned char)lab[best][i]]++;
	for (int i = 0; i < 256; i++)
		if (cnt[i]) {
			double p = (double)cnt[i] / (double)bl;

			h -= p * log2(p);
		}
	*longest = bl;
	*entropy = h;
	return 0;
}

int deviation_dns_query(struct deviation *dv, const struct detect_ctx *x,
			const struct moat_dns_event *q, const struct container_info *c, int64_t now,
			struct alert *out)
{
	char name[MOAT_DNS_NAME_LEN + 1], parent[DV_PARENT_LEN], esc[300];
	size_t longest, plen;
	double ent;
	struct dv_slot *s;
	struct dv_tunnel *t = NULL;
	uint64_t hash = 1469598103934665603ULL;

	if (!dv || !c || !dv->cfg.tunnel_labels)
		return 0;
	snprintf(name, sizeof(name), "%.*s", (int)MOAT_DNS_NAME_LEN, q->qname);
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	if (deviation_tunnel_measure(name, parent, sizeof(parent), &longest, &ent) ||
	    longest < dv->cfg.tunnel_min_len || ent * 100 < dv->cfg.tunnel_entropy_x100)
		return 0;
	s = slot_of(dv, q->hdr.cgroup_id);
	for (int i = 0; i < DV_PARENTS; i++)
		if (s->t[i].start && !strcmp(s->t[i].parent, parent))
			t = &s->t[i];
	if (t && now - t->start > (int64_t)dv->cfg.tunnel_window_s)
		t->start = 0; /* the window is over: start again */
	if (!t || !t->start) {
		if (!t) { /* a free watch, or the one whose window started first */
			t = &s->t[0];
			for (int i = 1; i < DV_PARENTS; i++)
				if (s->t[i].start < t->start)
					t = &s->t[i];
		}
		memset(t, 0, sizeof(*t));
		snprintf(t->parent, sizeof(t->parent), "%s", parent);
		t->start = now;
	}
	plen = strlen(name) - strlen(parent);
	for (size_t i = 0; i < plen; i++)
		hash = (hash ^ (unsigned char)name[i]) * 1099511628211ULL;
	for (uint32_t i = 0; i < t->n; i++)
		if (t->seen[i] == hash)
			return 0;
	if (t->n < DV_MAX_LABELS)
		t->seen[t->n++] = hash;
	if (t->n < dv->cfg.tunnel_labels || t->alerted)
		return 0;
	t->alerted = 1;
	if (x->dedup && dedup_seen(x->dedup, "dns-tunnel", c->id, parent, now))
		return 0;
	text_escape(esc, sizeof(esc), parent, strlen(parent));
	alert_start(out, x->offset_ns + (int64_t)q->hdr.ts_ns, ALERT_WARNING, "dns-tunnel", "dns",
		    c->id, c->name, c->image);
	snprintf(out->message, sizeof(out->message),
		 "Container %.100s looked up %u unique long, random-looking names under %.200s "
		 "within %us (DNS tunnelling or exfiltration?)",
		 c->name, t->n, esc, dv->cfg.tunnel_window_s);
	out->network = json_object_new_object();
	json_object_object_add(out->network, "domain", json_object_new_string(parent));
	json_object_object_add(out->network, "unique_names", json_object_new_int((int)t->n));
	return 1;
}
