/* daemon.c - `moat run`: the monitor. One epoll loop joins the kernel ring
 * buffer, Docker's events, action results, list-file changes, the control
 * socket, signals and a 1 s timer. Data flows one way: kernel event ->
 * decode -> enrich (inventory, DNS registry) -> detect -> alert -> act. */
#define _GNU_SOURCE /* accept4, SCHED_RESET_ON_FORK */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "access.h"
#include "actions.h"
#include "alertlog.h"
#include "cgroup.h"
#include "daemon.h"
#include "config.h"
#include "control.h"
#include "copycheck.h"
#include "detect.h"
#include "dockerwatch.h"
#include "event.h"
#include "format.h"
#include "inventory.h"
#include "lists.h"
#include "loader.h"
#include "log.h"
#include "netrules.h"
#include "policy.h"
#include "preflight.h"
#include "registry.h"
#include "rulesfile.h"
#include "vethguard.h"

#define RUN_MAX_ALERTS	   4
#define RUN_MAX_PENDING	   64
#define ONCE_RULE_S	   30 /* how long a once-decision stays in the kernel */
#define RUN_MAX_PROMPTS	   64
#define RUN_PROMPTS_PER_CT 8 /* open prompts one container may hold */

/* A control client waiting for an action's result. */
struct pending_reply {
	int fd;
	char trace_id[33];
};

struct daemon {
	struct config cfg;
	char pin_dir[PATH_MAX];
	char config_path[PATH_MAX]; /* the file to reload, "" for none */
	char cg_mount[4096];
	struct loader loader;
	struct ring_buffer *rb;
	struct inventory inv;
	struct dockerwatch *watch;
	struct actions *actions;
	struct copycheck *copycheck; /* renamed-copy checks, off the event loop */
	int veth_fd, veth_in_fd;     /* the veth guard's programs (loader) */
	uint64_t n_copycheck_skipped;
	struct registry *registry;
	struct iplist blacklist, whitelist;
	struct lists_watch bl_watch, wl_watch, rules_watch;
	struct ruleset egress;	     /* the egress rules file */
	struct access *access;	     /* egress decisions: log and statistics */
	struct policy_set *policies; /* container-guard policies */
	struct lists_watch policy_watch;
	/* The policies' own rule sets (policy "egress_rules"), by index into policies->p. */
	struct ruleset policy_rules[POLICY_MAX];
	uint32_t policy_set[POLICY_MAX]; /* their kernel rule set ids (policy_set_ids) */
	struct lists_watch policy_rules_watch[POLICY_MAX];
	/* Interactive egress: answers held back for a decision. */
	struct prompt {
		uint32_t id; /* 0 = free slot */
		char container_id[65], container_name[128], comm[MOAT_COMM_LEN + 1];
		char domain[MOAT_DNS_NAME_LEN];
		char addrs[4][64];
		int n_addrs;
		uint32_t pid;
		int64_t asked_s, expires_s;
	} prompts[RUN_MAX_PROMPTS];
	/* Once-decisions in the kernel until they expire. */
	struct once_rule {
		char domain[MOAT_DNS_NAME_LEN];
		int action;
		uint32_t kernel_id;
		uint32_t set;	 /* the kernel rule set of the asking container */
		int64_t until_s; /* 0 = free slot */
	} once[RUN_MAX_PROMPTS];
	uint32_t next_prompt_id;
	struct alertlog *alerts;
	struct dedup *dedup;
	struct lossy *lossy; /* containers whose events were suppressed (detect.h) */
	int socket_tp_on;    /* the socket() tracepoint is attached (sync_socket_tp); -1 unknown */
	struct detect_ctx dx;
	int epfd, sigfd, timerfd, ctlfd, inofd;
	int registry_dirty;
	int exiting;
	int64_t started;
	struct pending_reply pending[RUN_MAX_PENDING];
	/* DNS answers the kernel did not verify (MOAT_DNS_F_VERIFIED: the first answer to a
	 * query its own socket sent, from the server it was sent to): not recorded, so a
	 * container cannot explain its direct connections with a forged "answer". */
	uint64_t n_unsolicited, n_untrusted, n_prompts_refused;
	uint32_t learn_share; /* each domain-mode container's learned-address limit */
	pid_t saver;	      /* child writing the registry, 0 when none */
	/* Counters for status. */
	uint64_t n_events, n_bad_events, n_alerts[3], n_actions_ok, n_actions_failed;
	/* Containers with a pause queued or done by moat: no second pause. */
	char paused[256][65];
	int n_paused;
};

static int64_t now_unix_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- pause bookkeeping -------------------------------------------------- */

static int paused_has(struct daemon *d, const char *id)
{
	for (int i = 0; i < d->n_paused; i++)
		if (!strcmp(d->paused[i], id))
			return 1;
	return 0;
}

static void paused_set(struct daemon *d, const char *id, int on)
{
	for (int i = 0; i < d->n_paused; i++) {
		if (!strcmp(d->paused[i], id)) {
			if (!on)
				memmove(d->paused[i], d->paused[--d->n_paused],
					sizeof(d->paused[0]));
			return;
		}
	}
	if (on && d->n_paused < 256)
		snprintf(d->paused[d->n_paused++], sizeof(d->paused[0]), "%s", id);
}

/* ---- policy into the kernel --------------------------------------------- */

/* Effective setting for container c: the first matching config rule, else
 * the global one. */
static int want_kill(const struct daemon *d, const struct container_info *c)
{
	const struct container_rule *r = config_container(&d->cfg, c->name);
	const struct policy *p = policy_match(d->policies, c);

	if (r && r->kill_exec >= 0)
		return r->kill_exec;
	return (p && (p->actions & POLICY_ACT_KILL_EXEC)) || d->cfg.kill_exec;
}

static int want_pause(const struct daemon *d, const struct container_info *c)
{
	const struct container_rule *r = c ? config_container(&d->cfg, c->name) : NULL;

	return r && r->pause >= 0 ? r->pause : d->cfg.pause_on_critical;
}

/* Write the kill-exec names of one list for cgroup cgid, less the
 * container's allowed names. Globs cannot be matched in the kernel. */
static void kill_names(struct daemon *d, uint64_t cgid, const struct name_list *l,
		       const struct container_rule *r)
{
	for (int i = 0; i < l->n; i++) {
		const char *n = l->names[i];

		if (strpbrk(n, "*?[") || (r && name_list_has(&r->exec_allow, n)))
			continue;
		netrules_exec_deny_put(d->pin_dir, cgid, n, 1);
	}
}

/* Egress mode: the container's own config entry, else its policy, else
 * the global setting. */
static int want_egress(const struct daemon *d, const struct container_info *c)
{
	const struct container_rule *r = config_container(&d->cfg, c->name);
	const struct policy *p = policy_match(d->policies, c);

	if (r && r->egress >= 0)
		return r->egress;
	return p && p->egress >= 0 ? p->egress : d->cfg.egress;
}

/* Give each policy with its own rules (egress_rules) its kernel rule set id: a hash of its
 * id, stable across reloads, so a container's cgroup_cfg.policy keeps naming the same set
 * while the generation switches under it. Never 0, below MOAT_POLICY_GEN1; two ids with
 * one hash: the later one moves on. Computed once per policy load. */
static void policy_set_ids(struct daemon *d)
{
	const struct policy_set *ps = d->policies;

	for (int i = 0; i < ps->n; i++) {
		uint32_t h = 2166136261u;
		int taken;

		d->policy_set[i] = 0;
		if (!ps->p[i].egress_rules[0])
			continue;
		for (const char *s = ps->p[i].id; *s; s++)
			h = (h ^ (unsigned char)*s) * 16777619u;
		do {
			h &= MOAT_POLICY_GEN1 - 1;
			h = h ? h : 1;
			taken = 0;
			for (int j = 0; j < i && !taken; j++)
				taken = d->policy_set[j] == h;
			h += (uint32_t)taken;
		} while (taken);
		d->policy_set[i] = h;
	}
}

/* The egress rule set that binds container c: its policy's own (egress_rules), else the
 * global rules file. Sets *id_base to the kernel rule ids' base and *set to the kernel
 * rule set id (0: global); returns the rules. */
static struct ruleset *egress_set(struct daemon *d, const struct container_info *c,
				  uint32_t *id_base, uint32_t *set, const char **path)
{
	const struct policy *p = c ? policy_match(d->policies, c) : NULL;
	int i = p ? (int)(p - d->policies->p) : -1;

	if (i >= 0 && p->egress_rules[0]) {
		*id_base = MOAT_RULE_POLICY((uint32_t)i);
		*set = d->policy_set[i];
		if (path)
			*path = p->egress_rules;
		return &d->policy_rules[i];
	}
	*id_base = RULES_ID_BASE;
	*set = 0;
	if (path)
		*path = d->cfg.egress_rules;
	return &d->egress;
}

/* Docker's fallback when the host has no usable nameserver (libnetwork resolvconf). */
static const char *const docker_default_dns[] = {"8.8.8.8", "8.8.4.4"};

/* Add the nameservers of the host file path to resolvers, skipping loopback ones (Docker
 * does: a container cannot reach the host's 127.0.0.53). Returns how many were taken. */
static int host_nameservers(const char *path, struct cidr *out, int max)
{
	FILE *f = fopen(path, "re");
	char line[256];
	int n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char addr[64];

		if (sscanf(line, " nameserver %63s", addr) != 1 || cidr_parse(addr, &out[n]) ||
		    (out[n].family == AF_INET && out[n].prefixlen != 32) ||
		    (out[n].family == AF_INET6 && out[n].prefixlen != 128))
			continue;
		if ((out[n].family == AF_INET && out[n].addr[0] == 127) ||
		    (out[n].family == AF_INET6 &&
		     !memcmp(out[n].addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16)))
			continue;
		n++;
	}
	fclose(f);
	return n;
}

/* The DNS resolvers every container may reach on port 53 (resolvers entries of cgroup 0),
 * from the host's, Docker's and moat's own configuration (`resolvers`), never from a file a
 * container can write:
 * Docker's embedded DNS at 127.0.0.11 (user-defined networks; the address is the
 * container's own loopback, so nothing else is reachable through it), and the host's
 * nameservers, which Docker gives a container on the default bridge that has no --dns
 * (/etc/resolv.conf, or systemd-resolved's upstream list when the host uses 127.0.0.53;
 * Google's public servers when none is usable, as Docker does). A container's own --dns
 * servers are added per container (apply_container). */
static void resolvers_global(struct daemon *d)
{
	struct cidr ns[8];
	int n, err;

	netrules_resolver_clear(d->pin_dir, 0);
	cidr_parse("127.0.0.11", &ns[0]);
	err = netrules_resolver_put(d->pin_dir, 0, AF_INET, ns[0].addr, MOAT_RULE_RESOLVER);
	n = host_nameservers("/etc/resolv.conf", ns, 8);
	if (!n)
		n = host_nameservers("/run/systemd/resolve/resolv.conf", ns, 8);
	for (int i = 0; !n && i < 2; i++)
		n += cidr_parse(docker_default_dns[i], &ns[n]) == 0;
	for (int i = 0; i < d->cfg.n_resolvers && n < 8; i++)
		n += cidr_parse(d->cfg.resolvers[i], &ns[n]) == 0;
	for (int i = 0; i < n && !err; i++)
		err = netrules_resolver_put(d->pin_dir, 0, ns[i].family, ns[i].addr,
					    MOAT_RULE_RESOLVER);
	if (err)
		log_error("cannot write the DNS resolvers into the kernel: %s; containers under "
			  "egress rules may be unable to resolve",
			  strerror(-err));
}

/* A container's own DNS servers (docker run --dns, HostConfig.Dns), port 53 only. */
static void resolvers_of(struct daemon *d, const struct container_info *c)
{
	netrules_resolver_clear(d->pin_dir, c->cgroup_id);
	for (int i = 0; i < c->n_dns; i++) {
		struct cidr cd;

		if (cidr_parse(c->dns[i], &cd) ||
		    cd.prefixlen != (cd.family == AF_INET ? 32 : 128)) {
			log_warn("container %s: DNS server \"%s\" (HostConfig.Dns) is not an "
				 "address; ignored",
				 c->name, c->dns[i]);
			continue;
		}
		netrules_resolver_put(d->pin_dir, c->cgroup_id, cd.family, cd.addr,
				      MOAT_RULE_RESOLVER);
	}
}

/* Each container's fair share of the learned-address maps: the maps' capacity divided
 * among the containers under domain rules (at least 256), at most the configured
 * learn_limit. */
static uint32_t learn_share(struct daemon *d)
{
	int n = 0;
	uint32_t share;

	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);

		if (c && !inventory_gone_since(c) && want_egress(d, c))
			n++;
	}
	share = MOAT_MAX_LEARNED / (uint32_t)(n > 0 ? n : 1);
	if (share < 256)
		share = 256;
	return share > d->cfg.learn_limit ? d->cfg.learn_limit : share;
}

/* Parse "02:42:ac:11:00:02". 0 or -EINVAL. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* The veth guard (bpf/veth.bpf.c) on each host-side veth of container c: in enforce mode it
 * judges every frame the container sends (packet sockets included) and drops spoofed ones;
 * with spoof_guard "all" monitored containers get the spoofing checks only (their other
 * frames pass). Its network identity (MAC, addresses, gateway) comes from Docker, the veths
 * and the namespace id from the kernel. Failures are logged: the cgroup hooks still hold. */
static void guard_veths(struct daemon *d, const struct container_info *c, int enforce)
{
	struct vethguard_port ports[DOCKER_MAX_NETWORKS];
	int32_t nsid = -1;
	int n, spoof = d->cfg.spoof_guard != SPOOF_GUARD_OFF &&
		       (enforce || d->cfg.spoof_guard == SPOOF_GUARD_ALL);

	if (!c->pid || (!enforce && !spoof) || !d->veth_fd)
		return;
	n = vethguard_ports(c->pid, &nsid, ports, DOCKER_MAX_NETWORKS);
	if (n < 0) {
		log_warn("container %s: cannot find its network interfaces: %s; its packet "
			 "sockets are not guarded",
			 c->name, strerror(-n));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct moat_veth v = {.cgroup_id = c->cgroup_id, .netnsid = nsid};
		const struct container_net *net = NULL;
		char gw[16];
		int err;

		snprintf(gw, sizeof(gw), "%u.%u.%u.%u", ports[i].gw4[0], ports[i].gw4[1],
			 ports[i].gw4[2], ports[i].gw4[3]);
		for (int k = 0; k < c->n_nets && !net; k++)
			if (!strcmp(c->nets[k].gw4, gw) || (n == 1 && c->n_nets == 1))
				net = &c->nets[k];
		if (!net || parse_mac(net->mac, v.mac) ||
		    inet_pton(AF_INET, net->ipv4, v.ip4) != 1) {
			log_warn("container %s: interface %d matches none of its Docker networks "
				 "(gateway %s); not guarded",
				 c->name, ports[i].ifindex, gw);
			continue;
		}
		if (net->ipv6[0])
			inet_pton(AF_INET6, net->ipv6, v.ip6);
		memcpy(v.gw_mac, ports[i].gw_mac, 6);
		memcpy(v.gw4, ports[i].gw4, 4);
		memcpy(v.gw6, ports[i].gw6, sizeof(v.gw6));
		memcpy(v.ll6, ports[i].ll6, sizeof(v.ll6));
		v.flags = (uint8_t)((enforce ? MOAT_VETH_F_GUARD | MOAT_VETH_F_ARPGW : 0) |
				    (spoof ? MOAT_VETH_F_SPOOF : 0));
		err = netrules_veth_put(d->pin_dir, (uint32_t)ports[i].ifindex, &v);
		if (!err)
			err = vethguard_attach(ports[i].ifindex, d->veth_fd, d->veth_in_fd);
		if (err)
			log_warn("container %s: cannot guard interface %d: %s", c->name,
				 ports[i].ifindex, strerror(-err));
		else
			log_debug("container %s: veth guard on interface %d (%s)", c->name,
				  ports[i].ifindex, enforce ? "enforce" : "spoofing only");
	}
}

/* Each container's fair share of the DNS registry: its capacity divided among the running
 * containers, at least 1,000 names. */
static void registry_share(struct daemon *d)
{
	int n = 0;
	size_t q;

	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);

		n += c && !inventory_gone_since(c);
	}
	q = d->cfg.registry_max / (size_t)(n > 0 ? n : 1);
	registry_set_container_quota(d->registry, (uint32_t)(q < 1000 ? 1000 : q));
}

/* Container c's kernel settings: enforce mode (deny what the rules deny; default allow)
 * unless report-only, kill-exec when configured, egress enforcement (domain rules decide;
 * default deny) when configured, and its fair share of learned addresses. */
static void container_cfg(struct daemon *d, const struct container_info *c,
			  struct moat_cgroup_cfg *cfg)
{
	int egress = want_egress(d, c) && !d->cfg.report_only;
	uint32_t id_base;

	*cfg = (struct moat_cgroup_cfg){
	    .mode = d->cfg.report_only ? MOAT_MODE_MONITOR : MOAT_MODE_ENFORCE,
	    .default_action = egress ? MOAT_ACT_DENY : MOAT_ACT_ALLOW,
	    .kill_exec = (uint8_t)(want_kill(d, c) && !d->cfg.report_only),
	    .domains = (uint8_t)(d->cfg.report_only ? 0 : want_egress(d, c)),
	    .learn_limit = d->learn_share,
	};
	egress_set(d, c, &id_base, &cfg->policy, NULL);
}

/* Give container c its kernel settings (container_cfg), its DNS resolvers, its kill-exec
 * names and the veth guard. */
static void apply_container(struct daemon *d, const struct container_info *c)
{
	struct moat_cgroup_cfg cfg;
	int err;

	container_cfg(d, c, &cfg);
	if (!c->cgroup_id)
		return;
	resolvers_of(d, c);
	err = netrules_set_cfg(d->pin_dir, c->cgroup_id, &cfg);
	if (err)
		log_warn("container %s: cannot set its kernel mode: %s", c->name, strerror(-err));
	if (cfg.kill_exec) {
		const struct container_rule *r = config_container(&d->cfg, c->name);

		kill_names(d, c->cgroup_id, &d->cfg.shells, r);
		kill_names(d, c->cgroup_id, &d->cfg.runtimes, r);
		kill_names(d, c->cgroup_id, &d->cfg.net_tools, r);
	}
	guard_veths(d, c, cfg.mode == MOAT_MODE_ENFORCE);
}

static void apply_settings(struct daemon *d);
static void sync_socket_tp(struct daemon *d);

/* A container came or went: recompute the fair shares, and when the learned-address share
 * changed, give every running container its new limit (one map write each). */
static void refresh_shares(struct daemon *d)
{
	uint32_t share = learn_share(d);

	registry_share(d);
	if (share == d->learn_share)
		return;
	d->learn_share = share;
	apply_settings(d);
	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);
		struct moat_cgroup_cfg cfg;

		if (!c || inventory_gone_since(c) || !c->cgroup_id)
			continue;
		container_cfg(d, c, &cfg);
		netrules_set_cfg(d->pin_dir, c->cgroup_id, &cfg);
	}
}

/* moat run's defaults for a container it has not set up yet (moat_settings.unknown): the
 * global mode, egress setting and kill-exec, from the container's first instruction until
 * Docker's start event is handled; and the caps on DNS TTLs and wildcard depth. */
static void apply_settings(struct daemon *d)
{
	struct moat_settings st;
	int err;

	netrules_get_settings(d->pin_dir, &st); /* keeps max_wild_labels (netrules' own) */
	st.unknown = (struct moat_cgroup_cfg){
	    .mode = d->cfg.report_only ? MOAT_MODE_MONITOR : MOAT_MODE_ENFORCE,
	    .default_action = d->cfg.egress && !d->cfg.report_only ? MOAT_ACT_DENY : MOAT_ACT_ALLOW,
	    .kill_exec = (uint8_t)(d->cfg.kill_exec && !d->cfg.report_only),
	    .domains = (uint8_t)(d->cfg.report_only ? 0 : d->cfg.egress),
	    .learn_limit = d->learn_share,
	};
	st.max_ttl_s = d->cfg.dns_max_ttl_s;
	st.event_rate = d->cfg.event_rate;
	err = netrules_set_settings(d->pin_dir, &st);

	if (err)
		log_error("cannot write moat's kernel settings: %s", strerror(-err));
	if (st.unknown.kill_exec) {
		kill_names(d, MOAT_CGROUP_UNKNOWN, &d->cfg.shells, NULL);
		kill_names(d, MOAT_CGROUP_UNKNOWN, &d->cfg.runtimes, NULL);
		kill_names(d, MOAT_CGROUP_UNKNOWN, &d->cfg.net_tools, NULL);
	}
}

/* Attach the socket() tracepoint only where it is wanted (socket_tracepoint): with "auto",
 * in report-only mode, where nothing else sees a packet socket. When containers are
 * enforced, the veth guard judges every frame a packet socket sends, and the tracepoint
 * would put every syscall on the host through the kernel's tracing path for a report alone
 * (loader.h). */
static void sync_socket_tp(struct daemon *d)
{
	int want = d->cfg.socket_tp == SOCKET_TP_ON ||
		   (d->cfg.socket_tp == SOCKET_TP_AUTO && d->cfg.report_only);

	if (want == d->socket_tp_on)
		return;
	if (!loader_socket_tp(&d->loader, want) || !want)
		log_info("socket() tracepoint %s (socket_tracepoint %s)",
			 want ? "attached" : "detached",
			 d->cfg.socket_tp == SOCKET_TP_ON    ? "on"
			 : d->cfg.socket_tp == SOCKET_TP_OFF ? "off"
							     : "auto");
	d->socket_tp_on = want;
}

static void apply_all_containers(struct daemon *d)
{
	d->learn_share = learn_share(d);
	registry_share(d);
	apply_settings(d);
	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);

		if (c && !inventory_gone_since(c))
			apply_container(d, c);
	}
	sync_socket_tp(d);
}

/* Write the shared rule sets moat run owns into the kernel as one rule-set transaction
 * (netrules_txn_*, include/moat/maps.h): the blacklist, the egress rules file and the
 * once-decisions, in that order (a once-decision overrides the file's rule for its name
 * while it lasts). The programs judge every connect and DNS answer by the old sets until
 * the new ones are complete, then by the new ones only. Entries moat run does not own
 * (`moat rule`, `moat domain` from the CLI) are carried over. On any error nothing
 * changes and the error is logged. Called whenever one of the three changes. */
static int kernel_rules_commit(struct daemon *d)
{
	static const struct netrules_range mine[] = {
	    {MOAT_RULE_BLACKLIST_BASE, MOAT_RULE_BLACKLIST_END},
	    {MOAT_RULE_FILE_BASE, MOAT_RULE_FILE_END},
	    {MOAT_RULE_ONCE_BASE, MOAT_RULE_ONCE_END},
	    {MOAT_RULE_POLICY_BASE, MOAT_RULE_POLICY_END},
	};
	struct netrules_txn t;
	int err = netrules_txn_begin(&t, d->pin_dir, mine, 4);

	if (err) {
		log_error("cannot update the kernel rules: %s; the rules in force stay",
			  strerror(-err));
		return err;
	}
	for (size_t i = 0; !d->cfg.report_only && i < d->blacklist.n && !err; i++) {
		const struct iplist_entry *e = &d->blacklist.entries[i];

		err = netrules_txn_put(&t, &e->cidr, MOAT_ACT_DENY,
				       MOAT_RULE_BLACKLIST_BASE + e->line);
		if (err)
			log_error("%s:%u: cannot deny %s in the kernel: %s", d->cfg.blacklist,
				  e->line, e->text, strerror(-err));
	}
	if (!err && (err = rules_txn_put(&d->egress, &t, 0, RULES_ID_BASE)))
		log_error("writing the egress rules into the kernel: %s", strerror(-err));
	for (int i = 0; i < d->policies->n && !err; i++)
		if (d->policies->p[i].egress_rules[0] &&
		    (err = rules_txn_put(&d->policy_rules[i], &t, d->policy_set[i],
					 MOAT_RULE_POLICY((uint32_t)i))))
			log_error("writing policy %s's rule set into the kernel: %s",
				  d->policies->p[i].id, strerror(-err));
	for (int i = 0; i < RUN_MAX_PROMPTS && !err; i++)
		if (d->once[i].until_s)
			err = netrules_txn_domain_put(&t, d->once[i].set, d->once[i].domain,
						      d->once[i].action, d->once[i].kernel_id);
	if (err) {
		netrules_txn_abort(&t);
		log_error("kernel rules not updated; the rules in force stay");
		return err;
	}
	err = netrules_txn_commit(&t);
	if (err)
		log_error("switching the kernel rules: %s", strerror(-err));
	if (t.revoked > 0)
		log_info("%d learned address(es) shut: no rule allows them now", t.revoked);
	if (t.shadowed > 0)
		log_warn("%d allow-ip rule(s) of %s not applied: a deny (blacklist or `moat rule`) "
			 "holds the same CIDR, and deny wins",
			 t.shadowed, d->cfg.egress_rules);
	return err;
}

/* (Re)load the policies. A bad file keeps the policies in force; containers
 * get their (new) policy at once. */
/* Load policy i's own rule set (egress_rules) into d->policy_rules[i]. A bad file keeps
 * what the set held (its file:line is logged); IP rules in it are reported and not applied
 * (IP rules are global: the rules file's). Watches the file. */
static void load_policy_rules(struct daemon *d, int i)
{
	const struct policy *p = &d->policies->p[i];
	int err, fd;

	err = rules_load(&d->policy_rules[i], p->egress_rules);
	if (err == -ENOENT)
		log_warn("policy %s: %s does not exist: its containers get an empty rule set "
			 "(default allow) until it does ('moat rules --file %s ...')",
			 p->id, p->egress_rules, p->egress_rules);
	else if (err)
		log_error("policy %s: %s refused (see above); its rule set stays as it was", p->id,
			  p->egress_rules);
	else
		log_info("policy %s: %s: %d egress rule(s), default %s", p->id, p->egress_rules,
			 d->policy_rules[i].n, d->policy_rules[i].default_deny ? "deny" : "allow");
	for (int k = 0; k < d->policy_rules[i].n; k++)
		if (rules_is_ip(&d->policy_rules[i].rules[k]))
			log_warn(
			    "%s: rule %d (%s): IP rules are global and apply only from %s; not "
			    "applied from a policy's rule set",
			    p->egress_rules, d->policy_rules[i].rules[k].id,
			    d->policy_rules[i].rules[k].match, d->cfg.egress_rules);
	fd = lists_watch_fd(d->inofd, p->egress_rules, &d->policy_rules_watch[i]);
	if (fd >= 0)
		d->inofd = fd;
}

/* (Re)load the policies and their own rule sets, and write the sets into the kernel. A bad
 * policies file keeps the policies in force. */
static void load_policies(struct daemon *d)
{
	struct policy_set *old = malloc(sizeof(*old));
	struct ruleset kept[POLICY_MAX];
	int err;

	if (old)
		*old = *d->policies;
	memcpy(kept, d->policy_rules, sizeof(kept));
	memset(d->policy_rules, 0, sizeof(d->policy_rules));
	err = policy_load(d->policies, d->cfg.policies);
	d->policies->trust_image_labels = d->cfg.trust_image_labels;
	policy_set_ids(d);
	if (err == -ENOENT)
		log_debug("%s: no policies file; the built-in default applies", d->cfg.policies);
	else if (!err)
		log_info("%s: %d polic%s", d->cfg.policies, d->policies->n,
			 d->policies->n == 1 ? "y" : "ies");
	/* A set survives a reload under the same policy id and file, so that a bad rules file
	 * met later keeps its rules rather than none. */
	for (int i = 0; i < d->policies->n; i++) {
		const struct policy *p = &d->policies->p[i];

		for (int j = 0; old && j < old->n && p->egress_rules[0]; j++)
			if (kept[j].rules && !strcmp(old->p[j].id, p->id) &&
			    !strcmp(old->p[j].egress_rules, p->egress_rules)) {
				d->policy_rules[i] = kept[j];
				memset(&kept[j], 0, sizeof(kept[j]));
			}
		if (p->egress_rules[0])
			load_policy_rules(d, i);
	}
	for (int j = 0; j < POLICY_MAX; j++)
		rules_free(&kept[j]);
	free(old);
	kernel_rules_commit(d);
}

/* (Re)load the egress rules file and write it into the kernel. A bad
 * file keeps the rules in force as they were. */
static void load_egress_rules(struct daemon *d)
{
	int err = rules_load(&d->egress, d->cfg.egress_rules);

	if (err == -ENOENT) {
		log_debug("%s: no egress rules file", d->cfg.egress_rules);
	} else if (err) {
		return;
	} else {
		log_info("%s: %d egress rule(s), default %s", d->cfg.egress_rules, d->egress.n,
			 d->egress.default_deny ? "deny" : "allow");
	}
	kernel_rules_commit(d);
}

static void load_list(struct daemon *d, const char *path, struct iplist *l, int is_black)
{
	struct iplist old = *l, fresh = {0};
	int bad = 0, err;

	if (!path[0])
		return;
	err = lists_load(&fresh, path, &bad);
	if (err) {
		log_warn("%s: %s; keeping the previous list (%zu entries)", path, strerror(-err),
			 l->n);
		return;
	}
	*l = fresh;
	log_info("%s: %zu entries loaded%s", path, l->n,
		 bad ? " (bad lines skipped, see above)" : "");
	if (is_black)
		kernel_rules_commit(d);
	lists_free(&old);
}

/* ---- alerts and actions ------------------------------------------------- */

static void emit(struct daemon *d, struct alert *a)
{
	if (a->severity >= 0 && a->severity <= 2)
		d->n_alerts[a->severity]++;
	alertlog_write(d->alerts, a);
}

/* Queue an action for container id. network: for ACTION_DISCONNECT only. */
static void request_action(struct daemon *d, int kind, const char *id, const char *name,
			   const char *trace_id, int64_t event_ns, const char *network)
{
	struct action_req r = {.kind = kind, .requested_ns = boot_ns(), .event_ns = event_ns};
	int err;

	snprintf(r.network, sizeof(r.network), "%s", network ? network : "");
	snprintf(r.container, sizeof(r.container), "%s", id);
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.trace_id, sizeof(r.trace_id), "%s", trace_id);
	err = actions_submit(d->actions, &r);
	if (err)
		log_error("action %s %s%s%s not queued: %s", action_kind_name(kind), name,
			  network ? " " : "", network ? network : "", strerror(-err));
	else if (kind == ACTION_PAUSE)
		paused_set(d, id, 1);
}

/* An alert runs the actions of its container's policy (first match by
 * priority; the built-in default pauses on CRITICAL) when it is at least
 * as severe as the policy's threshold, unless report-only. Pause is skipped
 * with --no-pause or when moat already paused the container. */
static void act_on(struct daemon *d, const struct alert *a)
{
	const struct container_info *c;
	const struct policy *p;
	int64_t ev = a->time_ns - d->dx.offset_ns;

	if (!a->container_id[0] || d->cfg.report_only || !strcmp(a->rule, "container-lifecycle") ||
	    !strcmp(a->rule, "action") || !strcmp(a->rule, "egress-prompt"))
		return;
	c = inventory_find(&d->inv, a->container_id);
	p = c ? policy_match(d->policies, c) : NULL;
	if (!p || a->severity < p->severity_threshold || strcmp(c->state, "running"))
		return;
	if ((p->actions & POLICY_ACT_PAUSE) && want_pause(d, c) && !paused_has(d, c->id))
		request_action(d, ACTION_PAUSE, c->id, c->name, a->trace_id, ev, NULL);
	if (p->actions & POLICY_ACT_STOP)
		request_action(d, ACTION_STOP, c->id, c->name, a->trace_id, ev, NULL);
	if (p->actions & POLICY_ACT_DISCONNECT)
		for (int i = 0; i < (p->n_networks ? p->n_networks : c->n_nets); i++)
			request_action(d, ACTION_DISCONNECT, c->id, c->name, a->trace_id, ev,
				       p->n_networks ? p->networks[i] : c->nets[i].name);
}

/* ---- interactive egress: prompts and decisions ------------------------- */

static struct prompt *prompt_find(struct daemon *d, uint32_t id)
{
	for (int i = 0; i < RUN_MAX_PROMPTS; i++)
		if (id && d->prompts[i].id == id)
			return &d->prompts[i];
	return NULL;
}

/* An answer was held back: open a prompt for (container, name) unless one
 * is open, and say so. */
static void prompt_add(struct daemon *d, const struct moat_dns_event *q,
		       const struct container_info *c)
{
	struct prompt *p = NULL;
	struct alert a = {0};
	char addr[64];

	int mine = 0;

	for (int i = 0; i < RUN_MAX_PROMPTS; i++) {
		struct prompt *x = &d->prompts[i];

		if (x->id && !strcmp(x->domain, q->qname) &&
		    !strcmp(x->container_id, c ? c->id : ""))
			return; /* already asked; the resolver is retrying */
		mine += x->id && !strcmp(x->container_id, c ? c->id : "");
		if (!x->id && !p)
			p = x;
	}
	/* Fair share: one container asking for many names fills its own RUN_PROMPTS_PER_CT
	 * slots, never the others'. Its other answers stay held; its resolver retries. */
	if (mine >= RUN_PROMPTS_PER_CT) {
		d->n_prompts_refused++;
		log_debug("container %s has %d open prompts; %.255s stays held", c ? c->name : "?",
			  mine, q->qname);
		return;
	}
	if (!p) {
		d->n_prompts_refused++;
		log_warn("too many open prompts; %s stays held until one is decided", q->qname);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->id = ++d->next_prompt_id;
	snprintf(p->container_id, sizeof(p->container_id), "%s", c ? c->id : "");
	snprintf(p->container_name, sizeof(p->container_name), "%s", c ? c->name : "");
	snprintf(p->comm, sizeof(p->comm), "%.*s", MOAT_COMM_LEN, q->hdr.comm);
	snprintf(p->domain, sizeof(p->domain), "%s", q->qname);
	p->pid = q->hdr.pid;
	for (unsigned i = 0; i < q->n_addrs && i < 4; i++)
		snprintf(p->addrs[p->n_addrs++], sizeof(p->addrs[0]), "%s",
			 event_addr_str(q->addrs[i].family, q->addrs[i].addr, addr, sizeof(addr)));
	p->asked_s = now_unix_s();
	p->expires_s = p->asked_s + d->cfg.prompt_timeout_s;
	alert_start(&a, d->dx.offset_ns + (int64_t)q->hdr.ts_ns, ALERT_WARNING, "egress-prompt",
		    "network", p->container_id, p->container_name, c ? c->image : NULL);
	snprintf(a.message, sizeof(a.message),
		 "Network access request %u: %s (%s) asks for %s; decide with 'moat prompt' within "
		 "%us",
		 p->id, p->comm, p->container_name[0] ? p->container_name : "host", p->domain,
		 d->cfg.prompt_timeout_s);
	emit(d, &a);
}

/* Apply a decision on prompt p. choice: allow-once, deny-once,
 * allow-domain, deny-domain, allow-ip, deny-ip. Returns 0 or -EINVAL. */
static int prompt_decide(struct daemon *d, struct prompt *p, const char *choice, int timed_out)
{
	int allow = !strncmp(choice, "allow", 5);
	struct access_entry e = {.time_ns = now_unix_s() * 1000000000LL,
				 .kind = "decision",
				 .container_id = p->container_id,
				 .container_name = p->container_name,
				 .pid = p->pid,
				 .comm = p->comm,
				 .domain = p->domain,
				 .address = p->n_addrs ? p->addrs[0] : "",
				 .verdict = allow ? "allow" : "deny",
				 .rule = choice};
	const struct container_info *c =
	    p->container_id[0] ? inventory_find(&d->inv, p->container_id) : NULL;
	const char *path;
	uint32_t base, set;
	/* Domain decisions go to the asking container's rule set (its policy's own, or the
	 * global one); IP rules are global. */
	struct ruleset *rs = egress_set(d, c, &base, &set, &path);
	int err = 0;

	if (!strcmp(choice, "allow-once") || !strcmp(choice, "deny-once")) {
		struct once_rule *o = NULL;

		for (int i = 0; i < RUN_MAX_PROMPTS && !o; i++)
			if (!d->once[i].until_s)
				o = &d->once[i];
		if (!o)
			o = &d->once[p->id % RUN_MAX_PROMPTS];
		snprintf(o->domain, sizeof(o->domain), "%s", p->domain);
		o->action = allow ? MOAT_ACT_ALLOW : MOAT_ACT_DENY;
		o->kernel_id = MOAT_RULE_ONCE_BASE + p->id;
		o->until_s = now_unix_s() + ONCE_RULE_S;
		o->set = set;
		err = kernel_rules_commit(d);
	} else if (!strcmp(choice, "allow-domain") || !strcmp(choice, "deny-domain")) {
		err = rules_add(rs, allow ? RULE_ALLOW_DOMAIN : RULE_DENY_DOMAIN, p->domain,
				"moat prompt");
	} else if (!strcmp(choice, "allow-ip") || !strcmp(choice, "deny-ip")) {
		rs = &d->egress;
		path = d->cfg.egress_rules;
		for (int i = 0; i < p->n_addrs && err >= 0; i++)
			err = rules_add(rs, allow ? RULE_ALLOW_IP : RULE_DENY_IP, p->addrs[i],
					"moat prompt");
	} else {
		return -EINVAL;
	}
	if (err >= 0 && strstr(choice, "-once") == NULL) {
		/* "Always" choices are written to the rules file, then applied. */
		err = rules_save(rs, path);
		if (err)
			log_error("cannot write %s: %s; the decision holds until moat run exits",
				  path, strerror(-err));
		err = kernel_rules_commit(d);
	}
	access_record(d->access, &e);
	log_info("prompt %u (%s, %s): %s%s", p->id, p->container_name, p->domain, choice,
		 timed_out ? " (no decision in time)" : "");
	memset(p, 0, sizeof(*p));
	return err < 0 ? err : 0;
}

/* Timer: expire once-decisions and undecided prompts (deny once). */
static void prompts_tick(struct daemon *d)
{
	int64_t now = now_unix_s();

	for (int i = 0; i < RUN_MAX_PROMPTS; i++) {
		if (d->once[i].until_s && d->once[i].until_s <= now) {
			memset(&d->once[i], 0, sizeof(d->once[i]));
			/* a file rule for the same name comes back */
			kernel_rules_commit(d);
		}
		if (d->prompts[i].id && d->prompts[i].expires_s <= now)
			prompt_decide(d, &d->prompts[i], "deny-once", 1);
	}
}

static json_object *prompts_json(struct daemon *d)
{
	json_object *arr = json_object_new_array();
	char when[40];

	for (int i = 0; i < RUN_MAX_PROMPTS; i++) {
		struct prompt *p = &d->prompts[i];
		json_object *o, *addrs;

		if (!p->id)
			continue;
		o = json_object_new_object();
		addrs = json_object_new_array();
		alert_format_time(p->asked_s * 1000000000LL, when, sizeof(when));
		json_object_object_add(o, "id", json_object_new_int64(p->id));
		json_object_object_add(o, "container", json_object_new_string(p->container_name));
		json_object_object_add(o, "pid", json_object_new_int64(p->pid));
		json_object_object_add(o, "comm", json_object_new_string(p->comm));
		json_object_object_add(o, "domain", json_object_new_string(p->domain));
		for (int k = 0; k < p->n_addrs; k++)
			json_object_array_add(addrs, json_object_new_string(p->addrs[k]));
		json_object_object_add(o, "addresses", addrs);
		json_object_object_add(o, "asked", json_object_new_string(when));
		json_object_object_add(o, "expires_in_s",
				       json_object_new_int64(p->expires_s - now_unix_s()));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* ---- egress access log ------------------------------------------------- */

/* A DNS answer for a container under egress rules: what the kernel decided
 * for the name (recomputed the same way from the same rules). */
static void access_dns(struct daemon *d, const struct moat_dns_event *q,
		       const struct container_info *c)
{
	const struct rule *r = NULL;
	uint32_t base, set;
	const struct ruleset *rs = egress_set(d, c, &base, &set, NULL);
	int act = rules_decide(rs, q->qname, &r);
	json_object *addrs = json_object_new_array();
	char a[64], comm[MOAT_COMM_LEN + 1];
	struct access_entry e = {
	    .time_ns = d->dx.offset_ns + (int64_t)q->hdr.ts_ns,
	    .kind = "dns",
	    .container_id = c->id,
	    .container_name = c->name,
	    .pid = q->hdr.pid,
	    .comm = comm,
	    .domain = q->qname,
	    .addresses = addrs,
	    .verdict = act == MOAT_ACT_DENY ? "deny" : "allow",
	    .rule_id = r ? base + r->id : base,
	    .rule = r ? r->match : (rs->default_deny ? "default deny" : "default allow"),
	};

	snprintf(comm, sizeof(comm), "%.*s", MOAT_COMM_LEN, q->hdr.comm);
	for (unsigned i = 0; i < q->n_addrs && i < MOAT_DNS_MAX_ADDRS; i++)
		json_object_array_add(
		    addrs, json_object_new_string(
			       event_addr_str(q->addrs[i].family, q->addrs[i].addr, a, sizeof(a))));
	access_record(d->access, &e);
	json_object_put(addrs);
}

/* A connect or send from a container under egress rules: the kernel's
 * verdict, the rule, and the name that explains the address, if any. */
static void access_net(struct daemon *d, const struct moat_net_event *n,
		       const struct container_info *c)
{
	char a[64], comm[MOAT_COMM_LEN + 1];
	uint32_t base, set;
	const struct ruleset *rs = egress_set(d, c, &base, &set, NULL);
	const struct rule *r = rules_by_kernel_id(rs, base, n->rule_id);
	const char *name =
	    d->registry ? registry_explains(d->registry, c->id, n->family, n->daddr, now_unix_s())
			: NULL;
	struct access_entry e = {
	    .time_ns = d->dx.offset_ns + (int64_t)n->hdr.ts_ns,
	    .kind = n->hdr.type == MOAT_EV_CONNECT ? "connect" : "sendmsg",
	    .container_id = c->id,
	    .container_name = c->name,
	    .pid = n->hdr.pid,
	    .comm = comm,
	    .domain = name ? name : "",
	    .address = event_addr_str(n->family, n->daddr, a, sizeof(a)),
	    .port = n->dport,
	    .verdict = event_verdict_name(n->verdict),
	    .rule_id = n->rule_id,
	    .rule = r				       ? r->match
		    : n->rule_id == MOAT_RULE_RESOLVER ? "resolver"
		    : n->rule_id == base ? (rs->default_deny ? "default deny" : "default allow")
		    : n->scope == MOAT_SCOPE_NONE ? "no rule: default deny"
						  : "",
	};

	snprintf(comm, sizeof(comm), "%.*s", MOAT_COMM_LEN, n->hdr.comm);
	access_record(d->access, &e);
}

/* Run this thread (the event loop, started after the Docker and action threads, which stay
 * SCHED_OTHER) under SCHED_FIFO at prio, so a burst of the workload it watches cannot delay
 * an alert: a woken real-time thread preempts ordinary tasks at once, where nice only
 * weighs its share. SCHED_RESET_ON_FORK keeps the registry writer and any later thread
 * ordinary. The kernel's real-time throttling (sched_rt_runtime_us) still leaves ordinary
 * tasks 5% of the CPU should this loop ever spin. prio 0 leaves the thread alone. */
static void set_realtime(int prio)
{
	struct sched_param sp = {.sched_priority = prio};

	if (prio <= 0)
		return;
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp))
		log_warn("cannot run the event loop under SCHED_FIFO %d: %s; alerts may lag "
			 "behind CPU bursts (realtime_priority 0 silences this)",
			 prio, strerror(errno));
	else
		log_debug("event loop runs under SCHED_FIFO %d", prio);
}

/* Queue the renamed-copy check of an exec whose names matched nothing. A container that
 * execs new files faster than the checker's per-container budget has the rest skipped and
 * counted (status: copycheck_skipped), and a WARNING says so once per dedup window. */
static void submit_copycheck(struct daemon *d, const struct moat_exec_event *e,
			     const struct container_info *c)
{
	struct copycheck_job *job = malloc(sizeof(*job));
	int err;

	if (!job)
		return;
	job->ev = *e;
	snprintf(job->container_id, sizeof(job->container_id), "%s", c->id);
	job->pid = c->pid;
	err = copycheck_submit(d->copycheck, job);
	free(job);
	if (!err)
		return;
	d->n_copycheck_skipped++;
	if (!dedup_seen(d->dedup, "exec-unchecked", c->id, "", now_unix_s())) {
		struct alert a;

		alert_start(&a, d->dx.offset_ns + (int64_t)e->hdr.ts_ns, ALERT_WARNING,
			    "exec-unchecked", "process", c->id, c->name, c->image);
		snprintf(a.message, sizeof(a.message),
			 "Container %s runs new programs faster than moat can check them for "
			 "renamed copies of shells (%d waiting); the rest are not checked",
			 c->name, COPYCHECK_PER_CT);
		emit(d, &a);
		alert_release(&a);
	}
}

/* detect_ctx.restricted: is c's egress enforced (domain rules or default deny)? */
static int container_restricted(void *ud, const struct container_info *c)
{
	const struct daemon *d = ud;

	return !d->cfg.report_only && want_egress(d, c);
}

static int on_kernel_event(void *ctx, void *data, size_t len)
{
	struct daemon *d = ctx;
	const struct moat_event_hdr *h = event_decode(data, len);
	struct alert alerts[RUN_MAX_ALERTS];
	const struct container_info *c;
	int n;

	if (!h) {
		if (d->n_bad_events++ % 1000 == 0)
			log_warn("ring buffer record of %zu bytes is not a valid event; skipped",
				 len);
		return 0;
	}
	d->n_events++;
	if (h->type == MOAT_EV_DNS_QUERY || h->type == MOAT_EV_DNS_ANSWER) {
		const struct moat_dns_event *q = (const struct moat_dns_event *)h;
		int64_t now = now_unix_s();

		if (h->type == MOAT_EV_DNS_QUERY)
			return 0;
		c = inventory_lookup(&d->inv, h->cgroup_id);
		if (q->flags & MOAT_DNS_F_UNTRUSTED) {
			d->n_untrusted++;
			n = detect_event(&d->dx, h, c, alerts, RUN_MAX_ALERTS);
			goto alerts;
		}
		if (!(q->flags & MOAT_DNS_F_VERIFIED)) {
			d->n_unsolicited++;
			log_debug("DNS answer for %.255s (id %u) matches no query of its socket; "
				  "not recorded",
				  q->qname, q->id);
			return 0;
		}
		if (q->flags & MOAT_DNS_F_HELD) {
			prompt_add(d, q, c);
			return 0;
		}
		if (d->registry) {
			registry_record_event(d->registry, q, c ? c->id : "", now);
			d->registry_dirty = 1;
		}
		if (c && want_egress(d, c) && !d->cfg.report_only)
			access_dns(d, q, c);
		return 0;
	}
	c = inventory_lookup(&d->inv, h->cgroup_id);
	if (c && (h->type == MOAT_EV_CONNECT || h->type == MOAT_EV_SENDMSG) && want_egress(d, c) &&
	    !d->cfg.report_only)
		access_net(d, (const struct moat_net_event *)h, c);
	n = detect_event(&d->dx, h, c, alerts, RUN_MAX_ALERTS);
	if (h->type == MOAT_EV_EXEC && d->copycheck &&
	    detect_exec_wants_copy_check(&d->dx, (const struct moat_exec_event *)h, c))
		submit_copycheck(d, (const struct moat_exec_event *)h, c);
alerts:
	for (int i = 0; i < n; i++) {
		alerts[i].latency_ns = boot_ns() - (int64_t)h->ts_ns;
		emit(d, &alerts[i]);
		act_on(d, &alerts[i]);
		alert_release(&alerts[i]);
	}
	return 0;
}

/* A renamed-copy check has its answer: alert as for any suspicious exec. */
static void on_copycheck_result(struct daemon *d, const struct copycheck_result *r)
{
	const struct container_info *c = inventory_find(&d->inv, r->job.container_id);
	struct alert a;

	if (!r->cls || !c || !detect_copied_exec(&d->dx, &r->job.ev, c, r->cls, r->orig, &a))
		return;
	a.latency_ns = boot_ns() - (int64_t)r->job.ev.hdr.ts_ns;
	emit(d, &a);
	act_on(d, &a);
	alert_release(&a);
}

/* Answer a control client waiting for this result, if any. */
static void reply_pending(struct daemon *d, const struct action_result *r)
{
	for (int i = 0; i < RUN_MAX_PENDING; i++) {
		json_object *a;

		if (d->pending[i].fd <= 0 || strcmp(d->pending[i].trace_id, r->req.trace_id))
			continue;
		a = json_object_new_object();
		json_object_object_add(a, "ok", json_object_new_boolean(r->ok));
		json_object_object_add(a, "action",
				       json_object_new_string(action_kind_name(r->req.kind)));
		json_object_object_add(a, "container", json_object_new_string(r->req.name));
		json_object_object_add(a, "attempts", json_object_new_int(r->attempts));
		if (!r->ok)
			json_object_object_add(a, "error", json_object_new_string(r->error));
		control_reply(d->pending[i].fd, a);
		d->pending[i].fd = 0;
	}
}

static void on_action_result(struct daemon *d, const struct action_result *r)
{
	struct alert a = {0};
	const struct container_info *c;
	json_object *act = json_object_new_object();
	int64_t ms = (r->done_ns - r->req.requested_ns) / 1000000;

	r->ok ? d->n_actions_ok++ : d->n_actions_failed++;
	if (r->req.kind == ACTION_PAUSE && !r->ok)
		paused_set(d, r->req.container, 0);
	if (r->req.kind == ACTION_UNPAUSE && r->ok)
		paused_set(d, r->req.container, 0);
	reply_pending(d, r);
	a.time_ns = format_boot_to_unix_offset() + r->done_ns;
	a.severity = r->req.kind == ACTION_PAUSE || !r->ok ? ALERT_CRITICAL : ALERT_INFO;
	snprintf(a.rule, sizeof(a.rule), "action");
	snprintf(a.source, sizeof(a.source), "actions");
	snprintf(a.trace_id, sizeof(a.trace_id), "%s", r->req.trace_id);
	if (!a.trace_id[0])
		alert_new_trace_id(&a);
	snprintf(a.container_id, sizeof(a.container_id), "%s", r->req.container);
	snprintf(a.container_name, sizeof(a.container_name), "%s", r->req.name);
	c = inventory_find(&d->inv, r->req.container);
	if (c)
		snprintf(a.container_image, sizeof(a.container_image), "%s", c->image);
	if (r->ok)
		snprintf(a.message, sizeof(a.message), "Container %s %s%s", r->req.name,
			 r->req.kind == ACTION_PAUSE	 ? "paused"
			 : r->req.kind == ACTION_UNPAUSE ? "resumed"
			 : r->req.kind == ACTION_STOP	 ? "stopped"
							 : "disconnected",
			 r->req.kind == ACTION_PAUSE ? " (auto-pause; 'moat resume' to continue)"
						     : "");
	else
		snprintf(a.message, sizeof(a.message),
			 "Could not %s container %s after %d attempts: %s",
			 action_kind_name(r->req.kind), r->req.name, r->attempts, r->error);
	json_object_object_add(act, "action",
			       json_object_new_string(action_kind_name(r->req.kind)));
	json_object_object_add(act, "result", json_object_new_string(r->ok ? "ok" : "failed"));
	json_object_object_add(act, "attempts", json_object_new_int(r->attempts));
	json_object_object_add(act, "duration_ms", json_object_new_int64(ms));
	if (!r->ok)
		json_object_object_add(act, "error", json_object_new_string(r->error));
	a.action = act;
	if (r->req.event_ns > 0)
		a.latency_ns = r->done_ns - r->req.event_ns;
	emit(d, &a);
	alert_release(&a);
}

static void on_docker_event(struct daemon *d, const struct docker_event *ev)
{
	const struct container_info *c;
	struct alert a;

	inventory_apply(&d->inv, ev);
	if (!strcmp(ev->type, "moat")) {
		if (!strcmp(ev->action, "reconnected") || !strcmp(ev->action, "connected"))
			apply_all_containers(d);
		if (strcmp(ev->action, "connected"))
			log_info("Docker events stream %s", ev->action);
		return;
	}
	if (strcmp(ev->type, "container"))
		return;
	c = inventory_find(&d->inv, ev->id);
	if (!strcmp(ev->action, "start") && c) {
		refresh_shares(d);
		c = inventory_find(&d->inv, ev->id);
		if (c)
			apply_container(d, c);
	} else if (!strcmp(ev->action, "die") || !strcmp(ev->action, "destroy")) {
		/* Its cgroup is gone with its processes (a restart makes a new one): its
		 * settings, counters, resolvers and veth entries go too. */
		if (c && c->cgroup_id && !strcmp(ev->action, "die"))
			netrules_forget_cgroup(d->pin_dir, c->cgroup_id);
		refresh_shares(d);
		c = inventory_find(&d->inv, ev->id);
	}
	if (!strcmp(ev->action, "unpause") || !strcmp(ev->action, "die"))
		paused_set(d, ev->id, 0);
	if (detect_docker_event(&d->dx, ev->action, ev->exit_code, c, ev->time_ns, &a)) {
		if (!c) {
			snprintf(a.container_id, sizeof(a.container_id), "%s", ev->id);
			snprintf(a.container_name, sizeof(a.container_name), "%s", ev->name);
			snprintf(a.container_image, sizeof(a.container_image), "%s", ev->image);
		}
		emit(d, &a);
		/* An unhealthy container is paused like any CRITICAL finding (the
		 * seed's health channel); die/oom/kill leave nothing to pause. */
		if (!strcmp(ev->action, "health_status: unhealthy") && c && !d->cfg.report_only &&
		    want_pause(d, c) && !paused_has(d, c->id))
			request_action(d, ACTION_PAUSE, c->id, c->name, a.trace_id, 0, NULL);
		alert_release(&a);
	}
}

/* ---- control socket ----------------------------------------------------- */

static json_object *status_json(struct daemon *d)
{
	json_object *s = json_object_new_object(), *cs = json_object_new_array(),
		    *al = json_object_new_object();
	uint64_t v[MOAT_STATS_SLOTS], drops = 0;

	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);
		json_object *o;

		if (!c || inventory_gone_since(c))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(c->id));
		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "image", json_object_new_string(c->image));
		json_object_object_add(o, "state", json_object_new_string(c->state));
		json_object_object_add(o, "cgroup_id", json_object_new_uint64(c->cgroup_id));
		json_object_object_add(o, "paused_by_moat",
				       json_object_new_boolean(paused_has(d, c->id)));
		json_object_object_add(o, "kill_exec", json_object_new_boolean(want_kill(d, c)));
		json_object_object_add(o, "egress", json_object_new_int(want_egress(d, c)));
		{
			const struct policy *p = policy_match(d->policies, c);

			json_object_object_add(o, "policy", json_object_new_string(p ? p->id : ""));
		}
		{
			struct moat_cgroup_state st;

			netrules_cgroup_state(d->pin_dir, c->cgroup_id, &st);
			json_object_object_add(o, "learned", json_object_new_int64(st.learned));
			json_object_object_add(o, "learn_refused",
					       json_object_new_uint64(st.learn_refused));
		}
		json_object_array_add(cs, o);
	}
	if (netrules_read_stats(d->pin_dir, v) == 0)
		for (int p = 0; p < MOAT_PROG_NR; p++)
			drops += v[p * MOAT_STAT_NR + MOAT_STAT_DROPS];
	json_object_object_add(
	    s, "mode", json_object_new_string(d->cfg.report_only ? "report-only" : "enforce"));
	json_object_object_add(s, "uptime_s", json_object_new_int64(now_unix_s() - d->started));
	json_object_object_add(s, "containers", cs);
	json_object_object_add(s, "events", json_object_new_uint64(d->n_events));
	json_object_object_add(s, "bad_events", json_object_new_uint64(d->n_bad_events));
	json_object_object_add(s, "unsolicited_dns_answers",
			       json_object_new_uint64(d->n_unsolicited));
	json_object_object_add(s, "untrusted_dns_answers", json_object_new_uint64(d->n_untrusted));
	json_object_object_add(s, "prompts_refused", json_object_new_uint64(d->n_prompts_refused));
	if (d->copycheck) {
		struct copycheck_stats cs;
		json_object *o = json_object_new_object();

		copycheck_get_stats(d->copycheck, &cs);
		json_object_object_add(o, "checked", json_object_new_uint64(cs.checked));
		json_object_object_add(o, "cached", json_object_new_uint64(cs.cached));
		json_object_object_add(o, "copies", json_object_new_uint64(cs.copies));
		json_object_object_add(o, "not_checked", json_object_new_uint64(cs.not_checked));
		json_object_object_add(o, "skipped_budget",
				       json_object_new_uint64(cs.refused_budget));
		json_object_object_add(o, "skipped_full", json_object_new_uint64(cs.refused_full));
		json_object_object_add(o, "bytes_read", json_object_new_uint64(cs.bytes_read));
		json_object_object_add(s, "copycheck", o);
	}
	json_object_object_add(s, "learn_share", json_object_new_uint64(d->learn_share));
	json_object_object_add(s, "kernel_drops", json_object_new_uint64(drops));
	json_object_object_add(al, "INFO", json_object_new_uint64(d->n_alerts[0]));
	json_object_object_add(al, "WARNING", json_object_new_uint64(d->n_alerts[1]));
	json_object_object_add(al, "CRITICAL", json_object_new_uint64(d->n_alerts[2]));
	json_object_object_add(s, "alerts", al);
	json_object_object_add(s, "actions_ok", json_object_new_uint64(d->n_actions_ok));
	json_object_object_add(s, "actions_failed", json_object_new_uint64(d->n_actions_failed));
	json_object_object_add(
	    s, "registry_names",
	    json_object_new_uint64(d->registry ? registry_count(d->registry) : 0));
	json_object_object_add(s, "registry_refused",
			       json_object_new_uint64(registry_refused(d->registry)));
	json_object_object_add(s, "blacklist_entries", json_object_new_uint64(d->blacklist.n));
	json_object_object_add(s, "whitelist_entries", json_object_new_uint64(d->whitelist.n));
	json_object_object_add(s, "config", json_object_new_string(d->cfg.path));
	json_object_object_add(s, "alerts_file", json_object_new_string(d->cfg.alerts_file));
	return s;
}

static json_object *answer(int ok, const char *error)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "ok", json_object_new_boolean(ok));
	if (error)
		json_object_object_add(a, "error", json_object_new_string(error));
	return a;
}

static void reload(struct daemon *d);

static void on_control(struct daemon *d)
{
	int fd = accept4(d->ctlfd, NULL, NULL, SOCK_CLOEXEC);
	json_object *req, *v, *a;
	const char *cmd;

	if (fd < 0)
		return;
	req = control_read_request(fd);
	if (!req)
		return;
	cmd = json_object_object_get_ex(req, "cmd", &v) ? json_object_get_string(v) : "";
	if (!strcmp(cmd, "status")) {
		a = answer(1, NULL);
		json_object_object_add(a, "status", status_json(d));
		control_reply(fd, a);
	} else if (!strcmp(cmd, "stats")) {
		json_object *st = access_stats(d->access), *rules = json_object_new_array();

		for (int i = 0; i < d->egress.n; i++) {
			json_object *r = json_object_new_object();

			json_object_object_add(r, "id",
					       json_object_new_int64(d->egress.rules[i].id));
			json_object_object_add(
			    r, "kind",
			    json_object_new_string(rule_kind_name(d->egress.rules[i].kind)));
			json_object_object_add(r, "match",
					       json_object_new_string(d->egress.rules[i].match));
			json_object_array_add(rules, r);
		}
		json_object_object_add(st, "rules", rules);
		json_object_object_add(
		    st, "default",
		    json_object_new_string(d->egress.default_deny ? "deny" : "allow"));
		json_object_object_add(st, "status", status_json(d));
		a = answer(1, NULL);
		json_object_object_add(a, "stats", st);
		control_reply(fd, a);
	} else if (!strcmp(cmd, "pending")) {
		a = answer(1, NULL);
		json_object_object_add(a, "pending", prompts_json(d));
		control_reply(fd, a);
	} else if (!strcmp(cmd, "decide")) {
		uint32_t id = json_object_object_get_ex(req, "id", &v)
				  ? (uint32_t)json_object_get_int64(v)
				  : 0;
		const char *choice =
		    json_object_object_get_ex(req, "choice", &v) ? json_object_get_string(v) : "";
		struct prompt *p = prompt_find(d, id);

		if (!p)
			control_reply(
			    fd, answer(0, "no such pending request (see moat prompt --list)"));
		else if (prompt_decide(d, p, choice, 0))
			control_reply(fd,
				      answer(0, "choice must be allow-once, deny-once, "
						"allow-domain, deny-domain, allow-ip or deny-ip"));
		else
			control_reply(fd, answer(1, NULL));
	} else if (!strcmp(cmd, "reload")) {
		reload(d);
		control_reply(fd, answer(1, NULL));
	} else if (!strcmp(cmd, "registry")) {
		const char *q =
		    json_object_object_get_ex(req, "q", &v) ? json_object_get_string(v) : NULL;

		a = answer(1, NULL);
		json_object_object_add(a, "entries",
				       d->registry ? registry_query(d->registry, q, 1000)
						   : json_object_new_array());
		control_reply(fd, a);
	} else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
		const char *name = json_object_object_get_ex(req, "container", &v)
				       ? json_object_get_string(v)
				       : "";
		const struct container_info *c = inventory_find(&d->inv, name);
		struct alert tmp;
		int slot = -1;

		for (int i = 0; i < RUN_MAX_PENDING && slot < 0; i++)
			if (d->pending[i].fd <= 0)
				slot = i;
		if (!c) {
			control_reply(fd, answer(0, "no such container (give its name or id)"));
		} else if (slot < 0) {
			control_reply(fd, answer(0, "too many requests waiting; retry"));
		} else {
			alert_new_trace_id(&tmp);
			d->pending[slot].fd = fd;
			snprintf(d->pending[slot].trace_id, 33, "%s", tmp.trace_id);
			request_action(d, !strcmp(cmd, "pause") ? ACTION_PAUSE : ACTION_UNPAUSE,
				       c->id, c->name, tmp.trace_id, 0, NULL);
		}
	} else {
		control_reply(
		    fd, answer(0, "unknown cmd; use status, pause, resume, reload or registry"));
	}
	json_object_put(req);
}

/* ---- reload, timer, setup ----------------------------------------------- */

static void reload(struct daemon *d)
{
	if (d->config_path[0]) {
		struct config next = d->cfg;

		if (config_load(&next, d->config_path) == 0) {
			/* Paths that are wired at start stay as they are. */
			snprintf(next.pin_dir, sizeof(next.pin_dir), "%s", d->cfg.pin_dir);
			snprintf(next.control_socket, sizeof(next.control_socket), "%s",
				 d->cfg.control_socket);
			d->cfg = next;
			if (d->copycheck)
				copycheck_set_names(d->copycheck, &d->cfg.shells, &d->cfg.runtimes,
						    &d->cfg.net_tools);
			log_info("%s reloaded", d->config_path);
		} else {
			log_error("%s: not reloaded; the running configuration stays",
				  d->config_path);
		}
	}
	load_list(d, d->cfg.blacklist, &d->blacklist, 1);
	load_list(d, d->cfg.whitelist, &d->whitelist, 0);
	load_egress_rules(d);
	load_policies(d);
	apply_all_containers(d);
}

static void registry_path(const struct daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/registry.json", d->cfg.state_dir);
}

static void save_registry(struct daemon *d)
{
	char path[PATH_MAX + 32];
	int err;

	if (!d->registry || !d->registry_dirty || d->cfg.skip_sync)
		return;
	registry_path(d, path, sizeof(path));
	mkdir(d->cfg.state_dir, 0750);
	err = registry_save(d->registry, path);
	if (err)
		log_error("saving the DNS registry to %s: %s", path, strerror(-err));
	else
		d->registry_dirty = 0;
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

		registry_path(d, path, sizeof(path));
		mkdir(d->cfg.state_dir, 0750);
		_exit(registry_save(d->registry, path) ? 1 : 0);
	}
	d->saver = pid;
	d->registry_dirty = 0;
}

/* A container over its event budget (event_rate_per_container) had ordinary events left
 * out of the ring buffer: its enforcement is whole, but what moat run saw of it is not (a
 * direct connection among a flood goes unreported). Say so, once per dedup window. */
static void check_suppressed(struct daemon *d)
{
	/* The count each container had at the last look (only new suppressions are news). */
	static struct {
		uint64_t cgid, seen;
	} last[512];

	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);
		struct moat_cgroup_state st;
		struct alert a;
		int k;

		if (!c || inventory_gone_since(c) || !c->cgroup_id ||
		    netrules_cgroup_state(d->pin_dir, c->cgroup_id, &st) || !st.events_suppressed)
			continue;
		k = (int)(c->cgroup_id % 512);
		if (last[k].cgid == c->cgroup_id && last[k].seen == st.events_suppressed)
			continue;
		last[k].cgid = c->cgroup_id;
		last[k].seen = st.events_suppressed;
		if (dedup_seen(d->dedup, "events-suppressed", c->id, "", now_unix_s()))
			continue;
		alert_start(&a, now_unix_s() * 1000000000LL, ALERT_WARNING, "events-suppressed",
			    "kernel", c->id, c->name, c->image);
		snprintf(
		    a.message, sizeof(a.message),
		    "Container %s sends more than %u events per second: %llu were left out of "
		    "the ring buffer (enforcement is unaffected; its detections are incomplete)",
		    c->name, d->cfg.event_rate, (unsigned long long)st.events_suppressed);
		emit(d, &a);
		alert_release(&a);
	}
}

static void on_timer(struct daemon *d)
{
	static int ticks;
	uint64_t exp;

	if (read(d->timerfd, &exp, sizeof(exp)) < 0)
		return;
	if (d->registry && registry_prune(d->registry, now_unix_s()))
		d->registry_dirty = 1;
	prompts_tick(d);
	if (ticks % 5 == 0)
		check_suppressed(d);
	if (++ticks % 10 == 0) {
		int gone = 0;

		save_registry_async(d);
		/* Expired learned addresses go, and each container's count against its fair
		 * share is made exact again. */
		netrules_learned_sweep(d->pin_dir, (uint64_t)boot_ns(), 60ULL * 1000000000ULL,
				       &gone);
		if (gone)
			log_debug("%d expired learned address(es) removed", gone);
	}
}

static int epoll_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return fd < 0 ? 0 : epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

enum {
	TAG_RB = 1,
	TAG_DOCKER,
	TAG_ACTIONS,
	TAG_CONTROL,
	TAG_INOTIFY,
	TAG_SIGNAL,
	TAG_TIMER,
	TAG_COPYCHECK
};

static void usage(void)
{
	fprintf(stderr,
		"usage: moat run [--config FILE] [--report-only] [--strict] [--skip-sync]\n"
		"                [--no-pause] [--kill-exec] [--blacklist FILE] [--whitelist FILE]\n"
		"                [--state-dir DIR] [--alerts-file FILE] [--control-socket PATH]\n"
		"                [--egress-rules FILE] [--egress-enforce] [--access-log FILE]\n"
		"                [--policies FILE]\n"
		"                [--cgroup PATH]...\n"
		"With no options it protects every container with the defaults of\n"
		"docs/configuration.md; /etc/moat/moat.json is read when it exists.\n");
}

/* Parse flags into d->cfg (after the file: flags win). Returns 0, or the
 * exit code for a usage error. */
static int parse_flags(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"report-only", no_argument, NULL, 'r'},
	    {"strict", no_argument, NULL, 's'},
	    {"skip-sync", no_argument, NULL, 'k'},
	    {"no-pause", no_argument, NULL, 'P'},
	    {"kill-exec", no_argument, NULL, 'K'},
	    {"blacklist", required_argument, NULL, 'b'},
	    {"whitelist", required_argument, NULL, 'w'},
	    {"state-dir", required_argument, NULL, 'd'},
	    {"alerts-file", required_argument, NULL, 'a'},
	    {"control-socket", required_argument, NULL, 'S'},
	    {"cgroup", required_argument, NULL, 'g'},
	    {"egress-rules", required_argument, NULL, 'E'},
	    {"egress-enforce", no_argument, NULL, 'e'},
	    {"access-log", required_argument, NULL, 'L'},
	    {"policies", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int opt, err;

	/* First pass: the config file, so that flags override it. */
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1)
		if (opt == 'c')
			snprintf(d->config_path, sizeof(d->config_path), "%s", optarg);
	opterr = 1;
	if (d->config_path[0]) {
		err = config_load(&d->cfg, d->config_path);
		if (err) {
			if (err == -ENOENT)
				log_error("%s: no such file (--config)", d->config_path);
			return 1;
		}
	} else {
		err = config_load(&d->cfg, CONFIG_DEFAULT_PATH);
		if (err && err != -ENOENT)
			return 1;
		if (!err)
			snprintf(d->config_path, sizeof(d->config_path), "%s", CONFIG_DEFAULT_PATH);
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': break;
		case 'r': d->cfg.report_only = 1; break;
		case 's': d->cfg.strict = 1; break;
		case 'k': d->cfg.skip_sync = 1; break;
		case 'P': d->cfg.pause_on_critical = 0; break;
		case 'K': d->cfg.kill_exec = 1; break;
		case 'b': snprintf(d->cfg.blacklist, sizeof(d->cfg.blacklist), "%s", optarg); break;
		case 'w': snprintf(d->cfg.whitelist, sizeof(d->cfg.whitelist), "%s", optarg); break;
		case 'd': snprintf(d->cfg.state_dir, sizeof(d->cfg.state_dir), "%s", optarg); break;
		case 'a':
			snprintf(d->cfg.alerts_file, sizeof(d->cfg.alerts_file), "%s", optarg);
			break;
		case 'S':
			snprintf(d->cfg.control_socket, sizeof(d->cfg.control_socket), "%s",
				 optarg);
			break;
		case 'E':
			snprintf(d->cfg.egress_rules, sizeof(d->cfg.egress_rules), "%s", optarg);
			break;
		case 'e': d->cfg.egress = 1; break;
		case 'p': snprintf(d->cfg.policies, sizeof(d->cfg.policies), "%s", optarg); break;
		case 'L':
			snprintf(d->cfg.access_log, sizeof(d->cfg.access_log), "%s", optarg);
			break;
		case 'g':
			if (d->cfg.n_cgroups < CONFIG_MAX_CGROUPS)
				snprintf(d->cfg.cgroups[d->cfg.n_cgroups++], 4096, "%s", optarg);
			break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	return -1;
}

static int setup(struct daemon *d)
{
	static char cgroups[CGROUP_MAX_PARENTS][4096];
	char rpath[PATH_MAX + 32];
	sigset_t mask;
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	int n, err;

	/* Block the signals before any thread starts, so that they all
	 * inherit the mask and the signals arrive only through signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A monitor must not starve behind the workload it watches: an exec
	 * burst (docker exec, runc) competes for the same CPUs. */
	if (setpriority(PRIO_PROCESS, 0, d->cfg.nice))
		log_warn("cannot set priority %d: %s; alerts may lag under load", d->cfg.nice,
			 strerror(errno));
	if (preflight(d->cg_mount, sizeof(d->cg_mount)))
		return -1;
	n = preflight_cgroups(d->cg_mount, d->cfg.cgroups, d->cfg.n_cgroups, cgroups,
			      CGROUP_MAX_PARENTS);
	if (n < 0)
		return -1;
	d->ctlfd = control_listen(d->cfg.control_socket);
	if (d->ctlfd < 0) {
		log_error("control socket %s: %s%s", d->cfg.control_socket, strerror(-d->ctlfd),
			  d->ctlfd == -EADDRINUSE ? " (another moat run is active)" : "");
		return -1;
	}
	if (loader_load(&d->loader, d->pin_dir, d->cfg.ring_buffer_kib << 10) ||
	    loader_attach(&d->loader, cgroups, n))
		return -1;
	d->socket_tp_on = 1; /* loader_attach attached it; sync_socket_tp decides */
	d->veth_fd = loader_veth_out_fd(&d->loader);
	d->veth_in_fd = loader_veth_in_fd(&d->loader);
	d->alerts = alertlog_open(d->cfg.alerts_file, STDERR_FILENO, ALERTLOG_COLOR_AUTO);
	if (!d->alerts) {
		log_error("cannot open the alert log %s: %s", d->cfg.alerts_file, strerror(errno));
		return -1;
	}
	d->registry = registry_new(d->cfg.registry_max, d->cfg.registry_retention_s);
	if (!d->registry)
		return -1;
	registry_path(d, rpath, sizeof(rpath));
	if (!d->cfg.skip_sync && (err = registry_load(d->registry, rpath, now_unix_s())))
		log_warn("DNS registry %s: %s; starting empty", rpath, strerror(-err));
	else if (!d->cfg.skip_sync)
		log_info("DNS registry: %zu names from %s", registry_count(d->registry), rpath);
	d->dedup = dedup_new(d->cfg.dedup_s);
	d->lossy = lossy_new(d->cfg.registry_retention_s);
	d->policies = malloc(sizeof(*d->policies));
	if (!d->policies)
		return -1;
	policy_defaults(d->policies);
	d->policies->trust_image_labels = d->cfg.trust_image_labels;
	d->access = access_open(d->cfg.access_log);
	d->inofd = -1;
	/* The first kernel_rules_commit (load_egress_rules below, always) replaces what a
	 * previous run wrote from its blacklist, rules file and once-decisions. */
	load_list(d, d->cfg.blacklist, &d->blacklist, 1);
	load_list(d, d->cfg.whitelist, &d->whitelist, 0);
	if (d->cfg.blacklist[0])
		d->inofd = lists_watch_fd(d->inofd, d->cfg.blacklist, &d->bl_watch);
	if (d->cfg.whitelist[0]) {
		int fd = lists_watch_fd(d->inofd, d->cfg.whitelist, &d->wl_watch);

		if (fd >= 0)
			d->inofd = fd;
	}
	load_egress_rules(d);
	load_policies(d);
	{
		int fd = lists_watch_fd(d->inofd, d->cfg.policies, &d->policy_watch);

		if (fd >= 0)
			d->inofd = fd;
	}
	{
		int fd = lists_watch_fd(d->inofd, d->cfg.egress_rules, &d->rules_watch);

		if (fd >= 0)
			d->inofd = fd;
	}
	if (inventory_open(&d->inv, d->cg_mount))
		log_warn("Docker is not reachable: containers will be picked up when it is");
	inventory_set_refresh_on_miss(&d->inv, 0);
	d->watch = dockerwatch_start(NULL);
	{
		struct actions_opts ao = {.attempts = d->cfg.action_attempts,
					  .backoff_ms = d->cfg.action_backoff_ms,
					  .timeout_ms = d->cfg.action_timeout_ms,
					  .max_concurrent = d->cfg.action_max_concurrent};

		d->actions = actions_start(NULL, &ao);
	}
	if (!d->watch || !d->actions) {
		log_error("cannot start the Docker threads: %s", strerror(errno));
		return -1;
	}
	d->copycheck = copycheck_start(&d->cfg.shells, &d->cfg.runtimes, &d->cfg.net_tools);
	if (!d->copycheck) {
		log_error("cannot start the renamed-copy checker: %s", strerror(errno));
		return -1;
	}
	resolvers_global(d);
	apply_all_containers(d);
	d->rb = ring_buffer__new(loader_events_fd(&d->loader), on_kernel_event, d, NULL);
	if (!d->rb) {
		log_error("cannot read the event ring buffer: %s", strerror(errno));
		return -1;
	}
	set_realtime(d->cfg.realtime_priority);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	timerfd_settime(d->timerfd, 0, &its, NULL);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || epoll_add(d->epfd, ring_buffer__epoll_fd(d->rb), TAG_RB) ||
	    epoll_add(d->epfd, dockerwatch_fd(d->watch), TAG_DOCKER) ||
	    epoll_add(d->epfd, actions_fd(d->actions), TAG_ACTIONS) ||
	    epoll_add(d->epfd, copycheck_fd(d->copycheck), TAG_COPYCHECK) ||
	    epoll_add(d->epfd, d->ctlfd, TAG_CONTROL) ||
	    epoll_add(d->epfd, d->inofd, TAG_INOTIFY) || epoll_add(d->epfd, d->sigfd, TAG_SIGNAL) ||
	    epoll_add(d->epfd, d->timerfd, TAG_TIMER)) {
		log_error("epoll setup: %s", strerror(errno));
		return -1;
	}
	d->dx.cfg = &d->cfg;
	d->dx.registry = d->registry;
	d->dx.blacklist = &d->blacklist;
	d->dx.whitelist = &d->whitelist;
	d->dx.dedup = d->dedup;
	d->dx.lossy = d->lossy;
	d->dx.offset_ns = format_boot_to_unix_offset();
	d->dx.restricted = container_restricted;
	d->dx.ud = d;
	d->started = now_unix_s();
	log_info("moat run: watching %d container(s), %s, alerts to %s, control socket %s",
		 inventory_count(&d->inv), d->cfg.report_only ? "report-only" : "enforcing",
		 d->cfg.alerts_file, d->cfg.control_socket);
	return 0;
}

static void on_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(d->inofd, buf, sizeof(buf))) > 0) {
		if (d->cfg.blacklist[0] && lists_watch_concerns(&d->bl_watch, buf, n))
			load_list(d, d->cfg.blacklist, &d->blacklist, 1);
		if (d->cfg.whitelist[0] && lists_watch_concerns(&d->wl_watch, buf, n))
			load_list(d, d->cfg.whitelist, &d->whitelist, 0);
		if (lists_watch_concerns(&d->rules_watch, buf, n))
			load_egress_rules(d);
		if (lists_watch_concerns(&d->policy_watch, buf, n)) {
			load_policies(d);
			apply_all_containers(d);
		}
		for (int i = 0; i < d->policies->n; i++)
			if (d->policies->p[i].egress_rules[0] &&
			    lists_watch_concerns(&d->policy_rules_watch[i], buf, n)) {
				load_policy_rules(d, i);
				kernel_rules_commit(d);
			}
	}
}

static void teardown(struct daemon *d)
{
	if (d->saver)
		waitpid(d->saver, NULL, 0);
	d->registry_dirty = 1;
	save_registry(d);
	for (int i = 0; i < RUN_MAX_PENDING; i++)
		if (d->pending[i].fd > 0)
			control_reply(d->pending[i].fd, answer(0, "moat is shutting down"));
	actions_stop(d->actions);
	copycheck_stop(d->copycheck);
	dockerwatch_stop(d->watch);
	ring_buffer__free(d->rb);
	inventory_close(&d->inv);
	registry_free(d->registry);
	lists_free(&d->blacklist);
	lists_free(&d->whitelist);
	rules_free(&d->egress);
	for (int i = 0; i < POLICY_MAX; i++)
		rules_free(&d->policy_rules[i]);
	access_close(d->access);
	free(d->policies);
	dedup_free(d->dedup);
	lossy_free(d->lossy);
	alertlog_close(d->alerts);
	loader_close(&d->loader);
	if (d->ctlfd >= 0) {
		close(d->ctlfd);
		unlink(d->cfg.control_socket);
	}
	if (d->inofd >= 0)
		close(d->inofd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->epfd >= 0)
		close(d->epfd);
}

int cmd_run(int argc, char **argv, const char *pin_dir)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int rc = 1;

	if (!d)
		return 1;
	d->ctlfd = d->inofd = d->sigfd = d->timerfd = d->epfd = -1;
	config_defaults(&d->cfg);
	rc = parse_flags(d, argc, argv);
	if (rc >= 0)
		goto out;
	rc = 1;
	/* --pin-dir / MOAT_PIN_DIR win over the file's pin_dir. */
	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s",
		 strcmp(pin_dir, MOAT_PIN_DIR) ? pin_dir : d->cfg.pin_dir);
	if (setup(d))
		goto cleanup;
	while (!d->exiting) {
		struct epoll_event evs[16];
		int n = epoll_wait(d->epfd, evs, 16, MOAT_RB_POLL_MS);

		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case TAG_DOCKER: {
				struct docker_event ev;

				while (dockerwatch_next(d->watch, &ev) == 0)
					on_docker_event(d, &ev);
				break;
			}
			case TAG_ACTIONS: {
				struct action_result r;

				while (actions_next(d->actions, &r) == 0)
					on_action_result(d, &r);
				break;
			}
			case TAG_COPYCHECK: {
				static struct copycheck_result r;

				while (copycheck_next(d->copycheck, &r) == 0)
					on_copycheck_result(d, &r);
				break;
			}
			case TAG_CONTROL: on_control(d); break;
			case TAG_INOTIFY: on_inotify(d); break;
			case TAG_TIMER: on_timer(d); break;
			case TAG_SIGNAL: {
				struct signalfd_siginfo si;

				while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						alertlog_reopen(d->alerts);
						reload(d);
					} else
						d->exiting = 1;
				}
				break;
			}
			default: break;
			}
		}
		/* Most kernel events come without a wakeup: drain every round. */
		if (ring_buffer__consume(d->rb) < 0 && errno != EINTR)
			log_warn("reading kernel events: %s", strerror(errno));
	}
	log_info("moat run: exiting; kernel enforcement stays in place ('moat clear' removes it)");
	rc = 0;
cleanup:
	teardown(d);
out:
	free(d);
	return rc;
}
