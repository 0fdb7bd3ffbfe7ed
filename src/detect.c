/* detect.c - direct-connection, blacklisted-destination, suspicious-exec and
 * container-lifecycle detections. Events in, alerts out. */
#define _GNU_SOURCE /* O_PATH */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "detect.h"
#include "event.h"
#include "format.h"
#include "registry.h"

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
	memset(a, 0, sizeof(*a));
	a->time_ns = x->offset_ns + (int64_t)h->ts_ns;
	a->severity = severity;
	snprintf(a->rule, sizeof(a->rule), "%s", rule);
	snprintf(a->source, sizeof(a->source), "%s", source);
	alert_new_trace_id(a);
	if (c) {
		snprintf(a->container_id, sizeof(a->container_id), "%s", c->id);
		snprintf(a->container_name, sizeof(a->container_name), "%s", c->name);
		snprintf(a->container_image, sizeof(a->container_image), "%s", c->image);
	}
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

int detect_exec_class(const struct config *cfg, const struct moat_exec_event *e,
		      const char **matched)
{
	static char names[5][MOAT_PATH_LEN];
	size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN;
	size_t a0 = strnlen(e->args, len);
	int n = 0;

	snprintf(names[n++], MOAT_PATH_LEN, "%s", base_name(e->filename));
	if (e->interp[0])
		snprintf(names[n++], MOAT_PATH_LEN, "%s", base_name(e->interp));
	if (len) {
		char arg0[MOAT_PATH_LEN];

		snprintf(arg0, sizeof(arg0), "%.*s", (int)a0, e->args);
		snprintf(names[n], MOAT_PATH_LEN, "%s", base_name(arg0));
		/* "busybox sh": the applet is the next argument. */
		if (strcmp(names[n++], "busybox") == 0 && a0 + 1 < len)
			snprintf(names[n++], MOAT_PATH_LEN, "%.*s",
				 (int)strnlen(e->args + a0 + 1, len - a0 - 1), e->args + a0 + 1);
	}
	snprintf(names[n++], MOAT_PATH_LEN, "%.*s", MOAT_NAME_LEN, e->exe);
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

/* Is name allowed by the container's label moat.exec.allow ("a,b,c")? */
static int label_allows(const struct container_info *c, const char *name)
{
	const char *v = container_label(c, "moat.exec.allow");
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
	return label_allows(c, name);
}

/* Open path inside the container whose root is root_fd, resolving every
 * symlink inside that root (RESOLVE_IN_ROOT): "/bin/sh -> /bin/busybox"
 * must lead to the container's busybox, never the host's. fd or -errno. */
static int open_in_root(int root_fd, const char *path)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Content identity of an open file: size and CRC-32 (zlib); closes fd.
 * 0 or -errno. */
static int file_ident(int fd, off_t *size, uint32_t *crc)
{
	unsigned char buf[65536];
	struct stat st;
	uLong c = crc32(0L, Z_NULL, 0);
	ssize_t n;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		close(fd);
		return -EINVAL;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		c = crc32(c, buf, (uInt)n);
	close(fd);
	*size = st.st_size;
	*crc = (uint32_t)c;
	return 0;
}

/* A renamed copy of a listed binary ("cp /bin/sh /tmp/x; /tmp/x") keeps
 * its bytes: compare the executed file with the container's own shells,
 * runtimes and tools of the same size. Returns the class and the original
 * name in orig, or EXEC_NONE. Best effort: files are read through
 * /proc/<init pid>/root while the container runs. */
static int exec_copied_class(const struct detect_ctx *x, const struct moat_exec_event *e,
			     const struct container_info *c, char *orig, size_t olen)
{
	static const char *const dirs[] = {"/bin", "/usr/bin", "/usr/local/bin", "/sbin",
					   "/usr/sbin"};
	const struct name_list *lists[] = {&x->cfg->shells, &x->cfg->runtimes, &x->cfg->net_tools};
	char root[64];
	struct stat st, cand;
	off_t size = 0;
	uint32_t crc = 0;
	int have = 0, cls = EXEC_NONE, root_fd, fd;

	if (!c->pid || e->filename[0] != '/')
		return EXEC_NONE;
	snprintf(root, sizeof(root), "/proc/%d/root", c->pid);
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return EXEC_NONE;
	fd = open_in_root(root_fd, e->filename);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		close(root_fd);
		return EXEC_NONE;
	}
	close(fd);
	for (int l = 0; l < 3 && !cls; l++) {
		for (int i = 0; i < lists[l]->n && !cls; i++) {
			const char *name = lists[l]->names[i];

			if (strpbrk(name, "*?["))
				continue; /* globs name no file */
			for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]) && !cls; d++) {
				char cpath[128];
				off_t csize;
				uint32_t ccrc;

				snprintf(cpath, sizeof(cpath), "%s/%s", dirs[d], name);
				fd = open_in_root(root_fd, cpath);
				if (fd < 0)
					continue;
				if (fstat(fd, &cand) || cand.st_size != st.st_size ||
				    (cand.st_ino == st.st_ino && cand.st_dev == st.st_dev)) {
					close(fd);
					continue;
				}
				if (!have &&
				    file_ident(open_in_root(root_fd, e->filename), &size, &crc)) {
					close(fd);
					close(root_fd);
					return EXEC_NONE;
				}
				have = 1;
				if (file_ident(fd, &csize, &ccrc) == 0 && csize == size &&
				    ccrc == crc) {
					snprintf(orig, olen, "%s", cpath);
					cls = l + 1;
				}
			}
		}
	}
	close(root_fd);
	return cls;
}

static int detect_exec(const struct detect_ctx *x, const struct moat_exec_event *e,
		       const struct container_info *c, struct alert *out)
{
	static const char *const what[] = {"", "Shell", "Scripting runtime", "Network tool"};
	const struct container_rule *r;
	const char *name = NULL;
	char orig[300] = "";
	int cls;
	json_object *p;

	if (!c)
		return 0;
	r = config_container(x->cfg, c->name);
	if (r && r->suspicious_exec == 0)
		return 0;
	cls = detect_exec_class(x->cfg, e, &name);
	if (cls == EXEC_NONE) {
		cls = exec_copied_class(x, e, c, orig, sizeof(orig));
		name = base_name(e->filename);
	}
	if (cls == EXEC_NONE || (!orig[0] && exec_expected(x, e, c, name)))
		return 0;
	alert_init(out, x, &e->hdr, c, ALERT_CRITICAL, "suspicious-exec", "process");
	snprintf(out->message, sizeof(out->message), "%s process detected: %.200s%s%.200s%s",
		 what[cls], e->filename, orig[0] ? " (a copy of " : "", orig, orig[0] ? ")" : "");
	p = process_json(&e->hdr);
	json_object_object_add(p, "ppid", json_object_new_int64(e->ppid));
	json_object_object_add(p, "filename", json_object_new_string(e->filename));
	if (e->interp[0])
		json_object_object_add(p, "interp", json_object_new_string(e->interp));
	json_object_object_add(p, "argv", format_argv(e));
	json_object_object_add(p, "matched", json_object_new_string(orig[0] ? orig : name));
	json_object_object_add(p, "killed", json_object_new_boolean(e->flags & MOAT_EXEC_F_KILLED));
	out->process = p;
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
	int64_t now = (x->offset_ns + (int64_t)e->hdr.ts_ns) / 1000000000LL;
	int n = 0, bl = -1;

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
	alert_init(&out[n], x, &e->hdr, c, x->cfg->strict ? ALERT_CRITICAL : ALERT_WARNING,
		   "direct-connection", "network");
	snprintf(out[n].message, sizeof(out[n].message),
		 "Direct connection to %s:%u (%s): no DNS answer seen by this container explains "
		 "it",
		 addr, e->dport, event_proto_name(e->protocol));
	out[n].process = process_json(&e->hdr);
	out[n].network = network_json(e, addr, NULL);
	return n + 1;
}

int detect_event(const struct detect_ctx *x, const struct moat_event_hdr *h,
		 const struct container_info *c, struct alert *out, int max)
{
	if (max <= 0)
		return 0;
	switch (h->type) {
	case MOAT_EV_EXEC: return detect_exec(x, (const struct moat_exec_event *)h, c, out);
	case MOAT_EV_CONNECT:
	case MOAT_EV_SENDMSG: return detect_net(x, (const struct moat_net_event *)h, c, out, max);
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
	else if (!strcmp(action, "health_status: unhealthy"))
		sev = ALERT_CRITICAL, what = "is unhealthy";
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
