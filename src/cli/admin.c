/* admin.c - the administrative subcommands: attach, clear, status, probe,
 * and the low-level rule and mode writers. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "commands.h"
#include "control.h"
#include "ctlclient.h"
#include "inventory.h"
#include "loader.h"
#include "log.h"
#include "netrules.h"
#include "preflight.h"

int cmd_attach(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {
	    {"cgroup", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	static char given[CGROUP_MAX_PARENTS][4096], cgroups[CGROUP_MAX_PARENTS][4096];
	char cg_mount[4096];
	struct loader l;
	int n_given = 0, n, opt, err;

	while ((opt = getopt_long(argc, argv, "g:h", opts, NULL)) != -1) {
		if (opt == 'g' && n_given < CGROUP_MAX_PARENTS) {
			snprintf(given[n_given++], 4096, "%s", optarg);
		} else {
			fprintf(stderr, "usage: moat attach [--cgroup PATH]...\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (preflight(cg_mount, sizeof(cg_mount)))
		return 1;
	n = preflight_cgroups(cg_mount, given, n_given, cgroups, CGROUP_MAX_PARENTS);
	if (n < 0)
		return 1;
	err = loader_load(&l, pin_dir, 0);
	if (err)
		return 1;
	err = loader_attach(&l, cgroups, n);
	loader_close(&l);
	if (err)
		return 1;
	log_info("programs attached and pinned under %s; they stay until 'moat clear'", pin_dir);
	return 0;
}

/* Remove what traces killed before their cleanup left behind: private pin
 * directories <pin_dir>-trace-<pid> whose process is gone. */
static void clear_stale_traces(const char *pin_dir)
{
	char parent[PATH_MAX], prefix[PATH_MAX], path[PATH_MAX * 2], proc[64];
	const char *slash = strrchr(pin_dir, '/');
	struct dirent *de;
	DIR *d;

	if (!slash)
		return;
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - pin_dir), pin_dir);
	snprintf(prefix, sizeof(prefix), "%s-trace-", slash + 1);
	d = opendir(parent[0] ? parent : "/");
	if (!d)
		return;
	while ((de = readdir(d))) {
		long pid;
		char *end;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		pid = strtol(de->d_name + strlen(prefix), &end, 10);
		snprintf(proc, sizeof(proc), "/proc/%ld", pid);
		if (*end || pid <= 0 || access(proc, F_OK) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		if (loader_clear(path) == 0)
			log_info("removed %s, left by a trace that did not exit cleanly", path);
	}
	closedir(d);
}

int cmd_clear(int argc, char **argv, const char *pin_dir)
{
	char cg_mount[4096];
	int err;

	if (preflight(cg_mount, sizeof(cg_mount)))
		return 1;
	err = loader_clear(pin_dir);
	clear_stale_traces(pin_dir);
	if (err) {
		log_error("clearing %s: %s; run again, or remove the pins by hand", pin_dir,
			  strerror(-err));
		return 1;
	}
	log_info("detached every moat program and removed %s", pin_dir);
	return 0;
}

int cmd_probe(int argc, char **argv, const char *pin_dir)
{
	char cg_mount[4096];
	static char none[1][4096], cgroups[CGROUP_MAX_PARENTS][4096];
	int n;

	loader_print_features();
	if (cgroup_find_v2_mount(cg_mount, sizeof(cg_mount)) == 0) {
		printf("%-22s %-9s %s\n", "cgroup v2", "yes", cg_mount);
		n = cgroup_detect_parents(cg_mount, cgroups, CGROUP_MAX_PARENTS);
		for (int i = 0; i < n; i++)
			printf("%-22s %-9s %s\n", "runtime cgroup", "found", cgroups[i]);
		(void)none;
	} else {
		printf("%-22s %-9s %s\n", "cgroup v2", "no", "moat needs cgroup v2");
	}
	return 0;
}

/* Name of a link's attach point for status. */
static void link_target(const struct bpf_link_info *info, char *buf, size_t len)
{
	if (info->type == BPF_LINK_TYPE_CGROUP)
		snprintf(buf, len, "cgroup %llu", (unsigned long long)info->cgroup.cgroup_id);
	else if (info->type == BPF_LINK_TYPE_TRACING || info->type == BPF_LINK_TYPE_RAW_TRACEPOINT)
		snprintf(buf, len, "tp_btf (all tasks, filtered by watch_cgroups)");
	else
		snprintf(buf, len, "link type %u", info->type);
}

static void status_links(const char *pin_dir)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], target[64];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/links", pin_dir);
	d = opendir(dir);
	printf("%-40s %-8s %s\n", "LINK", "PROG", "ATTACHED TO");
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct bpf_link_info info = {0};
		__u32 len = sizeof(info);
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
			printf("%-40s %-8s %s\n", de->d_name, "?", strerror(errno));
			if (fd >= 0)
				close(fd);
			continue;
		}
		link_target(&info, target, sizeof(target));
		printf("%-40s %-8u %s\n", de->d_name, info.prog_id, target);
		close(fd);
	}
	closedir(d);
}

static void status_counters(const char *pin_dir)
{
	uint64_t v[MOAT_STATS_SLOTS];
	int err = netrules_read_stats(pin_dir, v);

	if (err) {
		printf("counters: unavailable (%s)\n", strerror(-err));
		return;
	}
	printf("\n%-12s %12s %10s %10s %10s %10s\n", "PROGRAM", "EVENTS", "DROPS", "DENIED",
	       "ERRORS", "SUPPRESSED");
	for (int p = 0; p < MOAT_PROG_NR; p++) {
		uint64_t *s = &v[p * MOAT_STAT_NR];

		printf("%-12s %12llu %10llu %10llu %10llu %10llu\n", netrules_prog_name(p),
		       (unsigned long long)s[MOAT_STAT_EVENTS],
		       (unsigned long long)s[MOAT_STAT_DROPS],
		       (unsigned long long)s[MOAT_STAT_DENIED],
		       (unsigned long long)s[MOAT_STAT_ERRORS],
		       (unsigned long long)s[MOAT_STAT_SUPPRESSED]);
	}
}

/* Print the cgroup modes and the CIDR rules held in the maps. */
static void status_policy(const char *pin_dir)
{
	char path[PATH_MAX], a[64];
	uint64_t key, next;
	struct moat_cgroup_cfg cfg;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup_cfg", pin_dir);
	fd = bpf_obj_get(path);
	printf("\n%-20s %-8s %-8s %-9s %s\n", "CGROUP ID", "MODE", "DEFAULT", "KILLEXEC",
	       "DOMAINS");
	if (fd >= 0) {
		void *prev = NULL;

		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			if (bpf_map_lookup_elem(fd, &next, &cfg) == 0)
				printf("%-20llu %-8s %-8s %-9s %s\n", (unsigned long long)next,
				       cfg.mode == MOAT_MODE_ENFORCE ? "enforce" : "monitor",
				       cfg.default_action == MOAT_ACT_DENY ? "deny" : "allow",
				       cfg.kill_exec ? "yes" : "no", cfg.domains ? "yes" : "no");
			key = next;
			prev = &key;
		}
		close(fd);
	}
	printf("\n%-20s %-44s %-6s %s\n", "SCOPE", "CIDR", "ACTION", "RULE");
	for (int v6 = 0; v6 < 2; v6++) {
		uint32_t gen = netrules_live_gen(pin_dir);
		struct moat_lpm_v6 k6, n6;
		struct moat_rule_val val;
		void *prev = NULL;

		snprintf(path, sizeof(path), "%s/net_rules_v%d", pin_dir, v6 ? 6 : 4);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		while (bpf_map_get_next_key(fd, prev, &n6) == 0) {
			uint64_t cg;
			uint8_t *addr = v6 ? n6.addr : ((struct moat_lpm_v4 *)&n6)->addr;

			memcpy(&cg, n6.cgroup_id, 8);
			/* Global rules of the generation being built are not in force. */
			if (cg == netrules_global_id(gen ^ 1))
				goto next;
			if (bpf_map_lookup_elem(fd, &n6, &val) == 0) {
				char scope[32], cidr[80];

				if (cg != netrules_global_id(gen))
					snprintf(scope, sizeof(scope), "%llu",
						 (unsigned long long)cg);
				else
					snprintf(scope, sizeof(scope), "global");
				inet_ntop(v6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
				snprintf(cidr, sizeof(cidr), "%s/%u", a, n6.prefixlen - 64);
				printf("%-20s %-44s %-6s %u\n", scope, cidr,
				       val.action == MOAT_ACT_DENY ? "deny" : "allow", val.rule_id);
			}
		next:
			k6 = n6;
			prev = &k6;
		}
		close(fd);
	}
}

/* The alert outputs of moat run's status: one line each (docs/outputs.md). */
static void status_outputs(json_object *st)
{
	json_object *outs, *v;

	if (!json_object_object_get_ex(st, "outputs", &outs))
		return;
	for (size_t i = 0; i < json_object_array_length(outs); i++) {
		json_object *o = json_object_array_get_idx(outs, i);
		static const char *const keys[] = {
		    "sent",   "failed",	 "rate_limited", "container_limited", "dropped",
		    "queued", "retries", "rejected",	 "timeouts"};

		printf("output %s (%s, from %s): %s",
		       json_object_object_get_ex(o, "name", &v) ? json_object_get_string(v) : "?",
		       json_object_object_get_ex(o, "type", &v) ? json_object_get_string(v) : "?",
		       json_object_object_get_ex(o, "min_severity", &v) ? json_object_get_string(v)
									: "?",
		       json_object_object_get_ex(o, "state", &v) ? json_object_get_string(v) : "?");
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (json_object_object_get_ex(o, keys[k], &v))
				printf(", %s %lld", keys[k], (long long)json_object_get_int64(v));
		printf("\n");
	}
}

/* The ClickHouse export of moat run's status: one line, then what it gave up per type
 * (docs/fleet.md). */
static void status_export(json_object *st)
{
	static const char *const keys[] = {"rows_sent",	  "batches_sent", "failed_inserts",
					   "spool_files", "spool_bytes",  "corrupt_batches",
					   "dropped"};
	json_object *x, *v;

	if (!json_object_object_get_ex(st, "export", &x) || !x)
		return;
	printf("export to %s as %s: %s",
	       json_object_object_get_ex(x, "url", &v) ? json_object_get_string(v) : "?",
	       json_object_object_get_ex(x, "host", &v) ? json_object_get_string(v) : "?",
	       json_object_object_get_ex(x, "state", &v) ? json_object_get_string(v) : "?");
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (json_object_object_get_ex(x, keys[k], &v))
			printf(", %s %lld", keys[k], (long long)json_object_get_int64(v));
	printf("\n");
	for (int w = 0; w < 2; w++) {
		const char *where = w ? "spool" : "queue";
		char k[32];
		json_object *d;

		snprintf(k, sizeof(k), "dropped_%s", where);
		if (json_object_object_get_ex(x, k, &d) && d) {
			json_object_object_foreach(d, type, n) if (json_object_get_int64(n))
			    printf("export dropped (%s full): %s %lld\n", where, type,
				   (long long)json_object_get_int64(n));
		}
		snprintf(k, sizeof(k), "dropped_%s_alerts", where);
		if (json_object_object_get_ex(x, k, &v) && json_object_get_int64(v))
			printf("export dropped (%s full): alerts %lld\n", where,
			       (long long)json_object_get_int64(v));
	}
}

/* When moat run answers on its control socket, print its view first. */
/* The string member key of o, or "-". */
static const char *member(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "-";
}

/* The resource sampler of moat run and where each container's numbers come from
 * (docs/alerts.md, Resource rules). */
static void status_resources(json_object *st)
{
	json_object *r, *cs;

	if (!json_object_object_get_ex(st, "resources", &r) || !r)
		return;
	printf("\nresource stats: %s, every %s ms, %s passes, last %s us (%s containers)\n",
	       !strcmp(member(r, "enabled"), "true") ? "on" : "off", member(r, "interval_ms"),
	       member(r, "passes"), member(r, "last_pass_us"), member(r, "containers"));
	if (!json_object_object_get_ex(st, "containers", &cs))
		return;
	printf("%-24s %-8s %-18s %-18s %s\n", "SOURCES", "CPU", "MEMORY (LIMIT)", "PIDS (LIMIT)",
	       "NETWORK");
	for (size_t i = 0; i < json_object_array_length(cs); i++) {
		json_object *c = json_object_array_get_idx(cs, i), *src;
		char mem[64], pids[64];

		if (!json_object_object_get_ex(c, "resource_sources", &src) || !src)
			continue;
		snprintf(mem, sizeof(mem), "%s (%s)", member(src, "memory"),
			 member(src, "memory_limit"));
		snprintf(pids, sizeof(pids), "%s (%s)", member(src, "pids"),
			 member(src, "pids_limit"));
		printf("%-24s %-8s %-18s %-18s %s\n", member(c, "name"), member(src, "cpu"), mem,
		       pids, member(src, "network"));
	}
}

static void status_daemon(void)
{
	const char *path = getenv("MOAT_CONTROL_SOCKET");
	json_object *req = json_object_new_object(), *ans, *st, *cs, *v;

	json_object_object_add(req, "cmd", json_object_new_string("status"));
	ans = control_call(path && *path ? path : "/run/moat/moat.sock", req, 5000);
	json_object_put(req);
	if (!ans || !json_object_object_get_ex(ans, "status", &st)) {
		printf("moat run: not running\n\n");
		json_object_put(ans);
		return;
	}
	printf("moat run: %s, up %llds, %llu events, %llu kernel drops, alerts %s, "
	       "registry %llu names\n",
	       json_object_object_get_ex(st, "mode", &v) ? json_object_get_string(v) : "?",
	       json_object_object_get_ex(st, "uptime_s", &v) ? (long long)json_object_get_int64(v)
							     : 0LL,
	       json_object_object_get_ex(st, "events", &v)
		   ? (unsigned long long)json_object_get_uint64(v)
		   : 0ULL,
	       json_object_object_get_ex(st, "kernel_drops", &v)
		   ? (unsigned long long)json_object_get_uint64(v)
		   : 0ULL,
	       json_object_object_get_ex(st, "alerts", &v) ? json_object_to_json_string(v) : "{}",
	       json_object_object_get_ex(st, "registry_names", &v)
		   ? (unsigned long long)json_object_get_uint64(v)
		   : 0ULL);
	status_outputs(st);
	status_export(st);
	printf("%-24s %-12s %-9s %-6s %s\n", "CONTAINER", "STATE", "KILLEXEC", "PAUSED", "IMAGE");
	if (json_object_object_get_ex(st, "containers", &cs))
		for (size_t i = 0; i < json_object_array_length(cs); i++) {
			json_object *c = json_object_array_get_idx(cs, i), *n, *s, *k, *p, *im;

			json_object_object_get_ex(c, "name", &n);
			json_object_object_get_ex(c, "state", &s);
			json_object_object_get_ex(c, "kill_exec", &k);
			json_object_object_get_ex(c, "paused_by_moat", &p);
			json_object_object_get_ex(c, "image", &im);
			printf("%-24s %-12s %-9s %-6s %s\n", json_object_get_string(n),
			       json_object_get_string(s), json_object_get_boolean(k) ? "yes" : "no",
			       json_object_get_boolean(p) ? "moat" : "-",
			       json_object_get_string(im));
		}
	status_resources(st);
	printf("\n");
	json_object_put(ans);
}

/* Print the domain rules held in the kernel. */
static void status_domains(const char *pin_dir)
{
	char path[PATH_MAX];
	struct moat_domain_key k, next;
	struct moat_domain_rule r;
	uint32_t gen = netrules_live_gen(pin_dir);
	void *prev = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/domain_rules", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	printf("\n%-8s %-48s %-6s %s\n", "POLICY", "DOMAIN", "ACTION", "RULE");
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		/* Only the live generation's rule sets are in force. */
		if (!!(next.policy & MOAT_POLICY_GEN1) == !!gen &&
		    bpf_map_lookup_elem(fd, &next, &r) == 0)
			printf("%-8u %s%-*s %-6s %u\n", next.policy & ~MOAT_POLICY_GEN1,
			       next.wildcard ? (next.name[0] ? "*." : "*") : "",
			       next.wildcard ? (next.name[0] ? 46 : 47) : 48, next.name,
			       r.action == MOAT_ACT_DENY ? "deny" : "allow", r.rule_id);
		k = next;
		prev = &k;
	}
	close(fd);
}

int cmd_status(int argc, char **argv, const char *pin_dir)
{
	struct stat st;

	if (geteuid() != 0) {
		log_error("moat status reads BPF maps: run it as root");
		return 1;
	}
	if (stat(pin_dir, &st)) {
		printf("moat is not attached (%s does not exist). Start it with 'moat attach' or "
		       "'moat trace'.\n",
		       pin_dir);
		return 3;
	}
	status_daemon();
	printf("pin directory: %s\n\n", pin_dir);
	status_links(pin_dir);
	status_counters(pin_dir);
	status_policy(pin_dir);
	status_domains(pin_dir);
	return 0;
}

/* Resolve a cgroup given as an id, a path (absolute, or below the cgroup
 * v2 mount) or a container name/id. Returns the id or 0 after logging. */
static uint64_t resolve_cgroup(const char *arg)
{
	char cg_mount[4096], path[8192];
	struct inventory inv;
	const struct container_info *c;
	uint64_t id = 0;
	char *end;

	errno = 0;
	id = strtoull(arg, &end, 10);
	if (!errno && *arg && !*end)
		return id;
	if (cgroup_find_v2_mount(cg_mount, sizeof(cg_mount))) {
		log_error("no cgroup v2 mount found");
		return 0;
	}
	if (arg[0] == '/')
		snprintf(path, sizeof(path), "%s", arg);
	else
		snprintf(path, sizeof(path), "%s/%s", cg_mount, arg);
	id = cgroup_id_of(path);
	if (id)
		return id;
	if (inventory_open(&inv, cg_mount) == 0 && (c = inventory_find(&inv, arg)))
		id = c->cgroup_id;
	inventory_close(&inv);
	if (!id)
		log_error("'%s' is neither a cgroup id, a cgroup path nor a running container",
			  arg);
	return id;
}

/* Parse [--cgroup C] [--id N] for rule and kill, leaving two positional
 * arguments. Returns -1 to go on, or the exit code (usage, bad cgroup). */
static int parse_scope(int argc, char **argv, const char *usage, uint64_t *cgid, uint32_t *rule_id)
{
	static const struct option opts[] = {
	    {"cgroup", required_argument, NULL, 'g'},
	    {"id", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int opt;

	*cgid = 0;
	*rule_id = 0;
	while ((opt = getopt_long(argc, argv, "g:i:h", opts, NULL)) != -1) {
		if (opt == 'g') {
			*cgid = resolve_cgroup(optarg);
			if (!*cgid)
				return 1;
		} else if (opt == 'i') {
			*rule_id = (uint32_t)strtoul(optarg, NULL, 10);
		} else {
			fputs(usage, stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2) {
		fputs(usage, stderr);
		return 2;
	}
	return -1;
}

int cmd_rule(int argc, char **argv, const char *pin_dir)
{
	const char *usage = "usage: moat rule allow|deny|del CIDR [--cgroup ID|PATH|CONTAINER] "
			    "[--id N]\n";
	uint64_t cgid;
	uint32_t rule_id;
	struct cidr c;
	const char *verb, *cidr;
	int err = parse_scope(argc, argv, usage, &cgid, &rule_id);

	if (err >= 0)
		return err;
	verb = argv[optind];
	cidr = argv[optind + 1];
	if (cidr_parse(cidr, &c)) {
		log_error("'%s' is not an address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)", cidr);
		return 2;
	}
	if (strcmp(verb, "allow") == 0 || strcmp(verb, "deny") == 0)
		err = netrules_put(pin_dir, cgid, &c,
				   strcmp(verb, "deny") == 0 ? MOAT_ACT_DENY : MOAT_ACT_ALLOW,
				   rule_id);
	else if (strcmp(verb, "del") == 0)
		err = netrules_del(pin_dir, cgid, &c);
	else {
		fputs(usage, stderr);
		return 2;
	}
	if (err) {
		log_error("rule %s %s: %s%s", verb, cidr, strerror(-err),
			  err == -ENOENT ? " (is moat attached? see 'moat status')" : "");
		return 1;
	}
	return 0;
}

int cmd_mode(int argc, char **argv, const char *pin_dir)
{
	const char *usage = "usage: moat mode ID|PATH|CONTAINER monitor|enforce [allow|deny] "
			    "[kill-exec] [domains[=POLICY]]\n";
	struct moat_cgroup_cfg cfg = {.default_action = MOAT_ACT_ALLOW};
	uint64_t cgid;
	int err;

	if (argc < 3 || argc > 6) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[2], "monitor") == 0)
		cfg.mode = MOAT_MODE_MONITOR;
	else if (strcmp(argv[2], "enforce") == 0)
		cfg.mode = MOAT_MODE_ENFORCE;
	else {
		fputs(usage, stderr);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "deny") == 0)
			cfg.default_action = MOAT_ACT_DENY;
		else if (strcmp(argv[i], "kill-exec") == 0)
			cfg.kill_exec = 1;
		else if (strcmp(argv[i], "domains") == 0)
			cfg.domains = 1;
		else if (strncmp(argv[i], "domains=", 8) == 0) {
			cfg.domains = 1;
			cfg.policy = (uint32_t)strtoul(argv[i] + 8, NULL, 10);
			if (cfg.policy >= MOAT_POLICY_GEN1) {
				log_error("%s: rule set ids go up to %u", argv[i],
					  MOAT_POLICY_GEN1 - 1);
				return 2;
			}
		} else if (strcmp(argv[i], "allow") != 0) {
			fputs(usage, stderr);
			return 2;
		}
	}
	cgid = resolve_cgroup(argv[1]);
	if (!cgid)
		return 1;
	err = netrules_set_cfg(pin_dir, cgid, &cfg);
	if (err) {
		log_error("mode %s: %s%s", argv[1], strerror(-err),
			  err == -ENOENT ? " (is moat attached? see 'moat status')" : "");
		return 1;
	}
	return 0;
}

int cmd_domain(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"id", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *usage = "usage: moat domain allow|deny|del NAME|*.SUFFIX|* [--policy N] "
			    "[--id N]\n";
	uint32_t policy = 0, rule_id = 0;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "p:i:h", opts, NULL)) != -1) {
		if (opt == 'p') {
			policy = (uint32_t)strtoul(optarg, NULL, 10);
			if (policy >= MOAT_POLICY_GEN1) {
				log_error("--policy %s: rule set ids go up to %u", optarg,
					  MOAT_POLICY_GEN1 - 1);
				return 2;
			}
		} else if (opt == 'i')
			rule_id = (uint32_t)strtoul(optarg, NULL, 10);
		else {
			fputs(usage, stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "allow") || !strcmp(argv[optind], "deny"))
		err = netrules_domain_put(
		    pin_dir, policy, argv[optind + 1],
		    strcmp(argv[optind], "deny") ? MOAT_ACT_ALLOW : MOAT_ACT_DENY, rule_id);
	else if (!strcmp(argv[optind], "del"))
		err = netrules_domain_del(pin_dir, policy, argv[optind + 1]);
	else {
		fputs(usage, stderr);
		return 2;
	}
	if (err) {
		log_error("domain %s %s: %s%s", argv[optind], argv[optind + 1], strerror(-err),
			  err == -EINVAL   ? " (a name like example.com, *.example.com or *)"
			  : err == -ENOENT ? " (is moat attached? see 'moat status')"
					   : "");
		return 1;
	}
	return 0;
}

int cmd_kill(int argc, char **argv, const char *pin_dir)
{
	const char *usage = "usage: moat kill add|del NAME [--cgroup ID|PATH|CONTAINER] [--id N]\n";
	uint64_t cgid;
	uint32_t rule_id;
	int err = parse_scope(argc, argv, usage, &cgid, &rule_id);

	if (err >= 0)
		return err;
	if (strcmp(argv[optind], "add") == 0)
		err = netrules_exec_deny_put(pin_dir, cgid, argv[optind + 1], rule_id);
	else if (strcmp(argv[optind], "del") == 0)
		err = netrules_exec_deny_del(pin_dir, cgid, argv[optind + 1]);
	else {
		fputs(usage, stderr);
		return 2;
	}
	if (err) {
		log_error("kill %s %s: %s%s", argv[optind], argv[optind + 1], strerror(-err),
			  err == -EINVAL   ? " (give a base name like 'sh', no '/')"
			  : err == -ENOENT ? " (is moat attached? see 'moat status')"
					   : "");
		return 1;
	}
	return 0;
}
