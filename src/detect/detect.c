/* detect.c - direct-connection, blacklisted-destination, suspicious-exec and
 * container-lifecycle detections. Events in, alerts out. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect.h"
#include "detect_resources.h"
#include "moat/maps.h"
#include "event.h"
#include "format.h"
#include "registry.h"
#include "textesc.h"

/* ---- repeat suppression ------------------------------------------------ */

#define DEDUP_SLOTS 4096

struct dedup_slot {
	uint64_t hash;
	int64_t until;
};

struct dedup {
	uint32_t window_s;
	struct dedup_slot slots[DEDUP_SLOTS];
};

struct dedup *dedup_new(uint32_t window_s)
{
	struct dedup *d = calloc(1, sizeof(*d));

	if (d)
		d->window_s = window_s;
	return d;
}

void dedup_free(struct dedup *d)
{
	free(d);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

int dedup_seen(struct dedup *d, const char *rule, const char *container, const char *key,
	       int64_t now_s)
{
	uint64_t h = fnv1a(fnv1a(fnv1a(14695981039346656037ULL, rule), container), key);
	struct dedup_slot *s = &d->slots[h % DEDUP_SLOTS];

	/* A collision can only suppress a repeat early, never hide a first
	 * sighting for longer than one window. */
	if (s->hash == h && now_s < s->until)
		return 1;
	s->hash = h;
	s->until = now_s + d->window_s;
	return 0;
}

/* ---- containers with suppressed events ---------------------------------- */

#define LOSSY_SLOTS 512

struct lossy_slot {
	uint64_t cgid; /* 0: free */
	uint32_t seen; /* the count last noted */
	int64_t until; /* answers may be missing until then (Unix s); 0: never were */
};

struct lossy {
	uint32_t window_s;
	struct lossy_slot slots[LOSSY_SLOTS];
};

struct lossy *lossy_new(uint32_t window_s)
{
	struct lossy *l = calloc(1, sizeof(*l));

	if (l)
		l->window_s = window_s;
	return l;
}

void lossy_free(struct lossy *l)
{
	free(l);
}

int64_t lossy_note(struct lossy *l, uint64_t cgid, uint32_t count, int64_t now_s)
{
	struct lossy_slot *s = NULL, *oldest = NULL;
	size_t h = (size_t)(cgid * 0x9e3779b97f4a7c15ULL >> 32);

	if (!l || !cgid)
		return 0;
	/* Open addressing over 8 slots; when all are taken, the one whose window ended first
	 * goes (a cgroup that never lost an event has until 0). */
	for (size_t i = 0; i < 8 && !s; i++) {
		struct lossy_slot *t = &l->slots[(h + i) % LOSSY_SLOTS];

		if (t->cgid == cgid || !t->cgid)
			s = t;
		else if (!oldest || t->until < oldest->until)
			oldest = t;
	}
	if (!s) {
		s = oldest;
		s->cgid = 0;
	}
	if (!s->cgid) {
		s->cgid = cgid;
		s->seen = 0;
		s->until = 0;
	}
	/* 0 is "not counted" (denied connects, no budget): it never ends a window. */
	if (count && count != s->seen) {
		s->seen = count;
		s->until = now_s + l->window_s;
	}
	return s->until > now_s ? s->until : 0;
}

/* ---- helpers ----------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Start an alert for event h of container c. */
static void alert_init(struct alert *a, const struct detect_ctx *x, const struct moat_event_hdr *h,
		       const struct container_info *c, int severity, const char *rule,
		       const char *source)
{
	alert_start(a, x->offset_ns + (int64_t)h->ts_ns, severity, rule, source, c ? c->id : NULL,
		    c ? c->name : NULL, c ? c->image : NULL);
}

static json_object *process_json(const struct moat_event_hdr *h)
{
	json_object *p = json_object_new_object();
	char comm[MOAT_COMM_LEN + 1];

	snprintf(comm, sizeof(comm), "%.*s", MOAT_COMM_LEN, h->comm);
	json_object_object_add(p, "pid", json_object_new_int64(h->pid));
	json_object_object_add(p, "tid", json_object_new_int64(h->tid));
	json_object_object_add(p, "uid", json_object_new_int64(h->uid));
	json_object_object_add(p, "comm", json_object_new_string(comm));
	json_object_object_add(p, "cgroup_id", json_object_new_uint64(h->cgroup_id));
	return p;
}

static const char *container_label_or(const struct container_info *c)
{
	return c ? (c->name[0] ? c->name : c->id) : "host";
}

/* ---- suspicious-exec --------------------------------------------------- */

static int class_of(const struct config *cfg, const char *name)
{
	if (name_list_has(&cfg->shells, name))
		return EXEC_SHELL;
	if (name_list_has(&cfg->runtimes, name))
		return EXEC_RUNTIME;
	if (name_list_has(&cfg->net_tools, name))
		return EXEC_NETTOOL;
	return EXEC_NONE;
}

/* Does name start with "busybox"? (busybox runs the applet argv[1] then.) */
static int is_busybox(const char *name)
{
	return strncmp(name, "busybox", 7) == 0;
}

/* Is name the dynamic loader (ld-linux*, ld-musl-*, ld.so)? */
static int is_loader(const char *name)
{
	return !strncmp(name, "ld-linux", 8) || !strncmp(name, "ld-musl-", 8) ||
	       !strcmp(name, "ld.so");
}

/* The loader options that take no value; every other "--" option takes the next argument
 * (--library-path DIR, --argv0 NAME, --preload LIST, --audit LIST, ...). */
static int loader_flag(const char *opt)
{
	static const char *const flags[] = {
	    "--list",	 "--verify",	    "--inhibit-cache",	 "--help",
	    "--version", "--list-tunables", "--list-diagnostics"};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(opt, flags[i]))
			return 1;
	return 0;
}

/* Base name without one leading '-' (a login shell's argv[0], "-sh"). */
static const char *prog_name(const char *path)
{
	const char *b = base_name(path);

	return b[0] == '-' && b[1] ? b + 1 : b;
}

int detect_exec_class(const struct config *cfg, const struct moat_exec_event *e,
		      const char **matched)
{
	static char names[6][MOAT_PATH_LEN];
	size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN;
	size_t a0 = strnlen(e->args, len);
	int n = 0;

	snprintf(names[n++], MOAT_PATH_LEN, "%s", base_name(e->filename));
	if (e->interp[0])
		snprintf(names[n++], MOAT_PATH_LEN, "%s", base_name(e->interp));
	if (len) {
		char arg0[MOAT_PATH_LEN];

		snprintf(arg0, sizeof(arg0), "%.*s", (int)a0, e->args);
		snprintf(names[n], MOAT_PATH_LEN, "%s", prog_name(arg0));
		/* "busybox sh", "busybox.static sh": the applet is the next argument. */
		if (is_busybox(names[n++]) && a0 + 1 < len) {
			char arg1[MOAT_PATH_LEN];

			snprintf(arg1, sizeof(arg1), "%.*s",
				 (int)strnlen(e->args + a0 + 1, len - a0 - 1), e->args + a0 + 1);
			snprintf(names[n++], MOAT_PATH_LEN, "%s", prog_name(arg1));
		}
	}
	snprintf(names[n++], MOAT_PATH_LEN, "%.*s", MOAT_NAME_LEN, e->exe);
	/* The dynamic loader run as a program runs its first argument that is not an option
	 * ("/lib64/ld-linux-x86-64.so.2 /bin/dash"). */
	if ((e->flags & MOAT_EXEC_F_LOADER) || is_loader(names[n - 1]) ||
	    is_loader(base_name(e->filename))) {
		int skip = 0;

		for (size_t i = a0 + 1; i < len;) {
			char arg[MOAT_PATH_LEN];
			size_t an = strnlen(e->args + i, len - i);

			snprintf(arg, sizeof(arg), "%.*s", (int)an, e->args + i);
			if (skip) {
				skip = 0;
			} else if (!strncmp(arg, "--", 2)) {
				skip = !loader_flag(arg);
			} else {
				snprintf(names[n++], MOAT_PATH_LEN, "%s", prog_name(arg));
				break;
			}
			i += an + 1;
		}
	}
	for (int i = 0; i < n; i++) {
		int cls = class_of(cfg, names[i]);

		if (cls) {
			*matched = names[i];
			return cls;
		}
	}
	*matched = NULL;
	return EXEC_NONE;
}

/* Is word (a base name) one of the words of the container's own
 * entrypoint + command (split on spaces, so "sh -c 'python app.py'" names
 * both sh and python)? */
/* Is word the base name of one of the shell-like words of line? */
static int in_words(const char *line, const char *word)
{
	const char *p = line;

	while (p && *p) {
		size_t n;
		char tok[MOAT_PATH_LEN];

		p += strspn(p, " \t'\";&|()");
		n = strcspn(p, " \t'\";&|()");
		if (!n)
			break;
		snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
		if (strcmp(base_name(tok), word) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* Does the exec's argv (argv[0] by base name, words joined by spaces) equal
 * the healthcheck command, or the part after "sh -c " of a CMD-SHELL one? */
static int is_healthcheck(const struct moat_exec_event *e, const char *health)
{
	size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN, off = 0;
	char line[MOAT_ARGS_LEN + 8];

	for (size_t i = 0; i < len && off < sizeof(line) - 1;) {
		size_t n = strnlen(e->args + i, len - i);
		const char *w = i == 0 ? base_name(e->args) : e->args + i;

		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%.*s", i ? " " : "",
					(int)(i == 0 ? strlen(w) : n), w);
		i += n + 1;
	}
	line[off < sizeof(line) ? off : sizeof(line) - 1] = 0;
	return !strcmp(line, health) ||
	       (!strncmp(health, "sh -c ", 6) && !strcmp(line, health + 6));
}

static int in_container_argv(const struct container_info *c, const char *word)
{
	for (int i = 0; i < c->argc && c->argv && c->argv[i]; i++)
		if (in_words(c->argv[i], word))
			return 1;
	return 0;
}

/* Is name allowed by the container's label moat.exec.allow ("a,b,c")? Only when the operator
 * set the label (docker run --label), not its image, unless trust_image_labels. */
static int label_allows(const struct detect_ctx *x, const struct container_info *c,
			const char *name)
{
	const char *v = container_label_from(c, "moat.exec.allow", x->cfg->trust_image_labels);
	size_t len = strlen(name);

	while (v && *v) {
		size_t n = strcspn(v, ",");

		if (n == len && strncmp(v, name, n) == 0)
			return 1;
		v += n;
		v += *v == ',';
	}
	return 0;
}

/* The rule (docs/alerts.md): an exec is the container's own, not
 * suspicious, when
 *  1. it is the container's init process (the entrypoint, and whatever the
 *     entrypoint exec()s into: exec keeps the pid), or
 *  2. its parent is the init process and its name is a word of the
 *     container's entrypoint + command (sh -c "python app.py"), or
 *  3. the name is allowed for the container (config exec_allow, or the
 *     label moat.exec.allow), or
 *  4. it is a word of the container's healthcheck command.
 * Anything else of a listed class is suspicious: a shell from docker exec
 * (its parent is outside the container), or one spawned by the app. */
static int exec_expected(const struct detect_ctx *x, const struct moat_exec_event *e,
			 const struct container_info *c, const char *name)
{
	const struct container_rule *r = config_container(x->cfg, c->name);

	if (c->pid && (int)e->hdr.pid == c->pid)
		return 1;
	if (c->pid && (int)e->ppid == c->pid && in_container_argv(c, name))
		return 1;
	/* 4. the container's own healthcheck (Docker runs it like docker
	 *    exec): the exact argv of the test, or for a CMD-SHELL test the
	 *    command that sh -c exec()s in place. */
	if (c->health_cmd[0] && is_healthcheck(e, c->health_cmd))
		return 1;
	if (r && name_list_has(&r->exec_allow, name))
		return 1;
	return label_allows(x, c, name);
}

/* The process object of an exec alert. */
static json_object *exec_process_json(const struct moat_exec_event *e, const char *matched)
{
	json_object *p = process_json(&e->hdr);

	json_object_object_add(p, "ppid", json_object_new_int64(e->ppid));
	json_object_object_add(p, "filename", json_object_new_string(e->filename));
	if (e->interp[0])
		json_object_object_add(p, "interp", json_object_new_string(e->interp));
	json_object_object_add(p, "argv", format_argv(e));
	if (matched)
		json_object_object_add(p, "matched", json_object_new_string(matched));
	json_object_object_add(p, "killed", json_object_new_boolean(e->flags & MOAT_EXEC_F_KILLED));
	json_object_object_add(p, "fileless",
			       json_object_new_boolean(e->flags & MOAT_EXEC_F_FILELESS));
	json_object_object_add(p, "loader", json_object_new_boolean(e->flags & MOAT_EXEC_F_LOADER));
	return p;
}

static const char *const exec_what[] = {"", "Shell", "Scripting runtime", "Network tool"};

/* suspicious-exec (a listed name, not the container's own), fileless-exec (a program
 * with no file name: memfd, O_TMPFILE, deleted) and exec-not-allowed (the kernel killed a
 * program off the container's exec allowlist), up to max alerts. */
static int detect_exec(const struct detect_ctx *x, const struct moat_exec_event *e,
		       const struct container_info *c, struct alert *out, int max)
{
	const struct container_rule *r;
	const char *name = NULL;
	char fn[MOAT_PATH_LEN * 4];
	int cls, n = 0;

	if (!c)
		return 0;
	r = config_container(x->cfg, c->name);
	cls = detect_exec_class(x->cfg, e, &name);
	text_escape(fn, 400, e->filename, sizeof(e->filename));
	if ((e->flags & MOAT_EXEC_F_FILELESS) && n < max) {
		alert_init(&out[n], x, &e->hdr, c, ALERT_CRITICAL, "fileless-exec", "process");
		snprintf(out[n].message, sizeof(out[n].message),
			 "Fileless program executed: %.300s (a memfd or deleted file: what runs is "
			 "on no disk)%s%.64s%s",
			 fn, cls ? "; it runs as " : "", cls ? name : "",
			 e->flags & MOAT_EXEC_F_KILLED ? "; killed in the kernel" : "");
		out[n].process = exec_process_json(e, name);
		n++;
	}
	if ((e->flags & MOAT_EXEC_F_KILLED) && e->kill_rule == MOAT_RULE_EXEC_NOT_ALLOWED &&
	    n < max) {
		alert_init(&out[n], x, &e->hdr, c, ALERT_CRITICAL, "exec-not-allowed", "process");
		snprintf(out[n].message, sizeof(out[n].message),
			 "Program not on the container's exec allowlist: %.400s; killed in the "
			 "kernel",
			 fn);
		out[n].process = exec_process_json(e, name);
		n++;
	}
	if ((r && r->suspicious_exec == 0) || cls == EXEC_NONE || n >= max ||
	    exec_expected(x, e, c, name))
		return n;
	alert_init(&out[n], x, &e->hdr, c, ALERT_CRITICAL, "suspicious-exec", "process");
	snprintf(out[n].message, sizeof(out[n].message), "%s process detected: %.400s%s%s",
		 exec_what[cls], fn,
		 e->flags & MOAT_EXEC_F_LOADER ? " (run by the dynamic loader)" : "",
		 e->flags & MOAT_EXEC_F_KILLED ? "; killed in the kernel" : "");
	out[n].process = exec_process_json(e, name);
	return n + 1;
}

int detect_exec_wants_copy_check(const struct detect_ctx *x, const struct moat_exec_event *e,
				 const struct container_info *c)
{
	const struct container_rule *r;
	const char *name;

	if (!c || !c->pid || e->filename[0] != '/' || (e->flags & MOAT_EXEC_F_FILELESS))
		return 0;
	r = config_container(x->cfg, c->name);
	if (r && r->suspicious_exec == 0)
		return 0;
	return detect_exec_class(x->cfg, e, &name) == EXEC_NONE;
}

int detect_copied_exec(const struct detect_ctx *x, const struct moat_exec_event *e,
		       const struct container_info *c, int cls, const char *orig, struct alert *out)
{
	char fn[MOAT_PATH_LEN * 4], o[300 * 4];

	/* The container's own program is expected even when it is a copy of a listed one: a
	 * busybox image's init `sleep 600` is a hard link of /bin/sh. */
	if (!c || cls <= EXEC_NONE || cls > EXEC_NETTOOL || exec_expected(x, e, c, base_name(orig)))
		return 0;
	text_escape(fn, 400, e->filename, sizeof(e->filename));
	text_escape(o, 400, orig, 300);
	alert_init(out, x, &e->hdr, c, ALERT_CRITICAL, "suspicious-exec", "process");
	snprintf(out->message, sizeof(out->message),
		 "%s process detected: %.200s (a copy of %.200s)", exec_what[cls], fn, o);
	out->process = exec_process_json(e, orig);
	return 1;
}

/* ---- network ----------------------------------------------------------- */

static int is_local_or_unspec(int family, const uint8_t *a)
{
	static const uint8_t zero[16], loop6[16] = {[15] = 1};

	if (family == AF_INET)
		return a[0] == 127 || (a[0] | a[1] | a[2] | a[3]) == 0;
	if (!memcmp(a, zero, 16) || !memcmp(a, loop6, 16))
		return 1;
	/* IPv4-mapped loopback */
	return !memcmp(a, zero, 10) && a[10] == 0xff && a[11] == 0xff && a[12] == 127;
}

/* Is addr one of the container's own gateways or addresses? */
static int is_own_network(const struct container_info *c, const char *addr)
{
	for (int i = 0; i < c->n_nets; i++) {
		const struct container_net *n = &c->nets[i];

		if (!strcmp(n->gw4, addr) || !strcmp(n->gw6, addr) || !strcmp(n->ipv4, addr) ||
		    !strcmp(n->ipv6, addr))
			return 1;
	}
	return 0;
}

static json_object *network_json(const struct moat_net_event *e, const char *addr,
				 const char *domain)
{
	json_object *n = json_object_new_object();

	json_object_object_add(n, "daddr", json_object_new_string(addr));
	json_object_object_add(n, "dport", json_object_new_int(e->dport));
	json_object_object_add(n, "protocol",
			       json_object_new_string(event_proto_name(e->protocol)));
	json_object_object_add(n, "verdict",
			       json_object_new_string(event_verdict_name(e->verdict)));
	if (domain)
		json_object_object_add(n, "domain", json_object_new_string(domain));
	return n;
}

static int detect_net(const struct detect_ctx *x, const struct moat_net_event *e,
		      const struct container_info *c, struct alert *out, int max)
{
	char addr[INET6_ADDRSTRLEN];
	const char *cid = c ? c->id : "";
	int64_t now = (x->offset_ns + (int64_t)e->hdr.ts_ns) / 1000000000LL, lossy_until;
	int n = 0, bl = -1;

	lossy_until = c ? lossy_note(x->lossy, e->hdr.cgroup_id, e->suppressed, now) : 0;
	event_addr_str(e->family, e->daddr, addr, sizeof(addr));
	if (x->blacklist)
		bl = iplist_contains(x->blacklist, e->family, e->daddr);
	if (bl >= 0 && n < max &&
	    !(x->dedup && dedup_seen(x->dedup, "blacklisted-destination", cid, addr, now))) {
		const struct iplist_entry *le = iplist_entry(x->blacklist, bl);

		alert_init(&out[n], x, &e->hdr, c, ALERT_CRITICAL, "blacklisted-destination",
			   "network");
		snprintf(out[n].message, sizeof(out[n].message),
			 "Connection to blacklisted %s:%u (%s, list line %u)%s", addr, e->dport,
			 le ? le->text : "?", le ? le->line : 0,
			 e->verdict == MOAT_VERDICT_DENY ? ": denied in the kernel" : "");
		out[n].process = process_json(&e->hdr);
		out[n].network = network_json(e, addr, NULL);
		n++;
	}
	if (bl >= 0 || !c || n >= max || is_local_or_unspec(e->family, e->daddr) ||
	    is_own_network(c, addr))
		return n;
	if (x->whitelist && iplist_contains(x->whitelist, e->family, e->daddr) >= 0)
		return n;
	if (x->registry && registry_explains(x->registry, c->id, e->family, e->daddr, now))
		return n;
	if (x->dedup && dedup_seen(x->dedup, "direct-connection", cid, addr, now))
		return n;
	alert_init(&out[n], x, &e->hdr, c,
		   lossy_until	    ? ALERT_INFO
		   : x->cfg->strict ? ALERT_CRITICAL
				    : ALERT_WARNING,
		   "direct-connection", "network");
	snprintf(out[n].message, sizeof(out[n].message),
		 "Direct connection to %s:%u (%s): no DNS answer seen by this container explains "
		 "it%s",
		 addr, e->dport, event_proto_name(e->protocol),
		 lossy_until ? " (but some of its events were left out by its event budget, "
			       "event_rate_per_container: the answer may have been one of them)"
			     : "");
	out[n].process = process_json(&e->hdr);
	out[n].network = network_json(e, addr, NULL);
	return n + 1;
}

/* ---- socket kinds, dropped packets, forged DNS answers ------------------ */

/* A raw or packet socket (which can sniff and forge traffic), or a socket kind or bind that
 * a restricted container was refused. */
static int detect_socket(const struct detect_ctx *x, const struct moat_socket_event *e,
			 const struct container_info *c, struct alert *out)
{
	int64_t now = (x->offset_ns + (int64_t)e->hdr.ts_ns) / 1000000000LL;
	int raw = e->type == 3 /* SOCK_RAW */ || e->family == 17 /* AF_PACKET */ ||
		  e->family == 44 /* AF_XDP */;
	const char *rule = e->verdict == MOAT_VERDICT_DENY ? "socket-refused" : "raw-socket";
	char what[96], key[96], comm[4 * MOAT_COMM_LEN + 1];
	json_object *p;

	if (!c || (e->verdict != MOAT_VERDICT_DENY && !raw))
		return 0;
	if (e->op == MOAT_SOCK_OP_BIND)
		snprintf(what, sizeof(what), "a bind to port %u", e->port);
	else
		snprintf(what, sizeof(what), "a %s %s socket (protocol %u)",
			 event_family_name(e->family), event_socktype_name(e->type), e->protocol);
	snprintf(key, sizeof(key), "%u/%u/%u/%u/%u", e->op, e->family, e->type, e->protocol,
		 e->port);
	if (x->dedup && dedup_seen(x->dedup, rule, c->id, key, now))
		return 0;
	text_escape(comm, sizeof(comm), e->hdr.comm, sizeof(e->hdr.comm));
	alert_init(out, x, &e->hdr, c, ALERT_WARNING, rule, "network");
	if (e->verdict == MOAT_VERDICT_DENY)
		snprintf(out->message, sizeof(out->message),
			 "Refused %s to %s: this container's egress is restricted, and such "
			 "sockets could bypass it",
			 what, comm);
	else
		snprintf(out->message, sizeof(out->message),
			 "%s opened %s: it can read and forge network traffic%s", comm, what,
			 e->family == 17 || e->family == 44
			     ? (e->mode == MOAT_MODE_ENFORCE
				    ? " (its frames are judged on the container's veth)"
				    : " (monitor mode: nothing stops its frames)")
			     : "");
	p = process_json(&e->hdr);
	json_object_object_add(p, "family", json_object_new_string(event_family_name(e->family)));
	json_object_object_add(p, "socktype", json_object_new_string(event_socktype_name(e->type)));
	json_object_object_add(p, "protocol", json_object_new_int(e->protocol));
	json_object_object_add(p, "verdict",
			       json_object_new_string(event_verdict_name(e->verdict)));
	out->process = p;
	return 1;
}

/* A packet moat dropped: spoofing is CRITICAL (no honest program forges its source), the
 * rest a WARNING. Repeats are suppressed per container, reason and destination. */
static int detect_packet(const struct detect_ctx *x, const struct moat_packet_event *e,
			 const struct container_info *c, struct alert *out)
{
	int64_t now = (x->offset_ns + (int64_t)e->hdr.ts_ns) / 1000000000LL;
	int fam = e->family ? e->family : AF_INET;
	int spoof = e->reason == MOAT_PKT_R_SPOOF_IP || e->reason == MOAT_PKT_R_SPOOF_MAC ||
		    e->reason == MOAT_PKT_R_ARP_SPOOF || e->reason == MOAT_PKT_R_NDP_SPOOF ||
		    e->reason == MOAT_PKT_R_IP6_EXT;
	const char *rule =
	    spoof ? "spoofed-traffic"
	    : e->reason == MOAT_PKT_R_ARP_GATEWAY || e->reason == MOAT_PKT_R_GATEWAY_CLAIM
		? "arp-spoof-target"
		: "packet-dropped";
	char sa[64], da[64], key[160];
	json_object *n;

	if (!c)
		return 0;
	event_addr_str(fam, e->saddr, sa, sizeof(sa));
	event_addr_str(fam, e->daddr, da, sizeof(da));
	snprintf(key, sizeof(key), "%u/%u/%u/%s/%s/%u", e->reason, e->where, e->protocol, sa, da,
		 e->dport);
	if (x->dedup && dedup_seen(x->dedup, rule, c->id, key, now))
		return 0;
	alert_init(out, x, &e->hdr, c, spoof ? ALERT_CRITICAL : ALERT_WARNING, rule, "network");
	switch (e->reason) {
	case MOAT_PKT_R_DENIED:
		snprintf(out->message, sizeof(out->message),
			 "Dropped a %s packet to %s: not allowed for this container (sent outside "
			 "connect(): %s)",
			 event_proto_name(e->protocol), da,
			 e->where == MOAT_PKT_AT_SOCKET ? "a raw, ping or UDP-Lite socket"
							: "a packet socket");
		break;
	case MOAT_PKT_R_DNS_RESPONSE:
		snprintf(out->message, sizeof(out->message),
			 "Dropped a DNS response from %s:%u to %s:%u: a container under egress "
			 "rules may not answer DNS queries",
			 sa, e->sport, da, e->dport);
		break;
	case MOAT_PKT_R_ARP_GATEWAY:
		snprintf(out->message, sizeof(out->message),
			 "Dropped an ARP message to this container claiming %s from MAC "
			 "%02x:%02x:%02x:%02x:%02x:%02x: someone on its network impersonates the "
			 "gateway",
			 sa, e->smac[0], e->smac[1], e->smac[2], e->smac[3], e->smac[4],
			 e->smac[5]);
		break;
	case MOAT_PKT_R_GATEWAY_CLAIM:
		snprintf(out->message, sizeof(out->message),
			 "Dropped %s to this container from %s (MAC "
			 "%02x:%02x:%02x:%02x:%02x:%02x): only the gateway may send it, and the "
			 "bridge did not; someone on its network impersonates the gateway",
			 e->family == AF_INET		  ? "an ICMP redirect"
			 : e->sport == 134 /* RA */	  ? "a router advertisement"
			 : e->sport == 137 /* redirect */ ? "an ICMPv6 redirect"
							  : "a neighbour discovery message "
							    "claiming the gateway",
			 sa, e->smac[0], e->smac[1], e->smac[2], e->smac[3], e->smac[4],
			 e->smac[5]);
		break;
	case MOAT_PKT_R_NDP_SPOOF:
		snprintf(out->message, sizeof(out->message),
			 "Dropped %s from %s (about %s): the container tried to pass for another "
			 "host or for the network's router",
			 e->sport == 134 ? "a router advertisement"
			 : e->sport == 137
			     ? "an ICMPv6 redirect"
			     : "a neighbour discovery message claiming an address or MAC "
			       "that is not its own",
			 sa, da);
		break;
	case MOAT_PKT_R_IP6_EXT:
		snprintf(out->message, sizeof(out->message),
			 "Dropped an IPv6 packet from %s to %s with more than 8 extension headers: "
			 "what they hide cannot be judged",
			 sa, da);
		break;
	case MOAT_PKT_R_NOT_IP:
		snprintf(out->message, sizeof(out->message),
			 "Dropped a frame of ethertype 0x%04x: a container under enforcement may "
			 "send only ARP, IPv4 and IPv6",
			 e->ethertype);
		break;
	default:
		snprintf(out->message, sizeof(out->message),
			 "Dropped a %s frame with a forged %s (%s to %s): the container tried to "
			 "pass for another host",
			 e->reason == MOAT_PKT_R_ARP_SPOOF ? "ARP" : event_proto_name(e->protocol),
			 e->reason == MOAT_PKT_R_SPOOF_MAC   ? "source MAC"
			 : e->reason == MOAT_PKT_R_ARP_SPOOF ? "ARP sender"
							     : "source address",
			 sa, da);
	}
	out->process = process_json(&e->hdr);
	n = json_object_new_object();
	json_object_object_add(n, "reason",
			       json_object_new_string(event_pkt_reason_name(e->reason)));
	json_object_object_add(n, "where", json_object_new_string(event_pkt_where_name(e->where)));
	json_object_object_add(n, "saddr", json_object_new_string(sa));
	json_object_object_add(n, "daddr", json_object_new_string(da));
	json_object_object_add(n, "dport", json_object_new_int(e->dport));
	json_object_object_add(n, "protocol",
			       json_object_new_string(event_proto_name(e->protocol)));
	json_object_object_add(n, "suppressed", json_object_new_int64(e->suppressed));
	out->network = n;
	return 1;
}

/* A DNS answer no resolver sent (MOAT_DNS_F_UNTRUSTED) claiming a non-loopback source or
 * Docker's 127.0.0.11: injected with a packet socket, or sent by the container to itself.
 * (Answers from the container's own local resolver on another loopback address are not
 * trusted either, but are not an attack.) */
static int detect_dns(const struct detect_ctx *x, const struct moat_dns_event *e,
		      const struct container_info *c, struct alert *out)
{
	int64_t now = (x->offset_ns + (int64_t)e->hdr.ts_ns) / 1000000000LL;
	char sa[64], name[4 * 80];
	int restricted;

	if (!c || e->hdr.type != MOAT_EV_DNS_ANSWER || !(e->flags & MOAT_DNS_F_UNTRUSTED))
		return 0;
	event_addr_str(e->family, e->saddr, sa, sizeof(sa));
	if (is_local_or_unspec(e->family, e->saddr) && strcmp(sa, "127.0.0.11"))
		return 0;
	if (x->dedup && dedup_seen(x->dedup, "dns-forged", c->id, sa, now))
		return 0;
	restricted = x->restricted && x->restricted(x->ud, c);
	text_escape(name, sizeof(name), e->qname, 80);
	alert_init(out, x, &e->hdr, c, restricted ? ALERT_CRITICAL : ALERT_WARNING, "dns-forged",
		   "network");
	snprintf(out->message, sizeof(out->message),
		 "Forged DNS answer for %.200s claiming to come from %s:%u: no resolver sent it "
		 "(a packet socket injected it, or the container answered itself); not trusted",
		 name, sa, e->sport);
	out->process = process_json(&e->hdr);
	return 1;
}

int detect_event(const struct detect_ctx *x, const struct moat_event_hdr *h,
		 const struct container_info *c, struct alert *out, int max)
{
	if (max <= 0)
		return 0;
	switch (h->type) {
	case MOAT_EV_SOCKET: return detect_socket(x, (const struct moat_socket_event *)h, c, out);
	case MOAT_EV_PACKET: return detect_packet(x, (const struct moat_packet_event *)h, c, out);
	case MOAT_EV_DNS_ANSWER: return detect_dns(x, (const struct moat_dns_event *)h, c, out);
	case MOAT_EV_EXEC: return detect_exec(x, (const struct moat_exec_event *)h, c, out, max);
	case MOAT_EV_CONNECT:
	case MOAT_EV_SENDMSG: return detect_net(x, (const struct moat_net_event *)h, c, out, max);
	case MOAT_EV_OOM: return detect_oom((const struct moat_oom_event *)h, c, x->offset_ns, out);
	default: return 0;
	}
}

/* ---- container-lifecycle ----------------------------------------------- */

int detect_docker_event(const struct detect_ctx *x, const char *action, int exit_code,
			const struct container_info *c, int64_t time_ns, struct alert *out)
{
	int sev;
	const char *what;

	if (!strcmp(action, "die"))
		sev = ALERT_CRITICAL, what = "died";
	else if (!strcmp(action, "oom"))
		sev = ALERT_CRITICAL, what = "ran out of memory (OOM)";
	else if (!strcmp(action, "kill"))
		sev = ALERT_CRITICAL, what = "was killed";
	else if (!strcmp(action, "restart"))
		sev = ALERT_WARNING, what = "restarted";
	else if (!strcmp(action, "start"))
		sev = ALERT_INFO, what = "started";
	else
		return 0;
	memset(out, 0, sizeof(*out));
	out->time_ns = time_ns;
	out->severity = sev;
	snprintf(out->rule, sizeof(out->rule), "container-lifecycle");
	snprintf(out->source, sizeof(out->source), "events");
	alert_new_trace_id(out);
	if (c) {
		snprintf(out->container_id, sizeof(out->container_id), "%s", c->id);
		snprintf(out->container_name, sizeof(out->container_name), "%s", c->name);
		snprintf(out->container_image, sizeof(out->container_image), "%s", c->image);
	}
	if (!strcmp(action, "die"))
		snprintf(out->message, sizeof(out->message), "Container %s %s (exit code %d)",
			 container_label_or(c), what, exit_code);
	else
		snprintf(out->message, sizeof(out->message), "Container %s %s",
			 container_label_or(c), what);
	(void)x;
	return 1;
}
