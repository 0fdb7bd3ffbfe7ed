/* settings.c - each container's kernel settings, resolvers, kill-exec names and veth guard;
 * the defaults for unknown cgroups, the fair shares and the socket() tracepoint
 * (settings.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon_int.h"
#include "healthwatch.h"
#include "log.h"
#include "logwatch.h"
#include "netrules.h"
#include "registry.h"
#include "settings.h"

int settings_want_kill(const struct daemon *d, const struct container_info *c)
{
	const struct container_rule *r = config_container(&d->cfg, c->name);
	const struct policy *p = policy_match(d->policies, c);

	if (r && r->kill_exec >= 0)
		return r->kill_exec;
	return (p && (p->actions & POLICY_ACT_KILL_EXEC)) || d->cfg.kill_exec;
}

int settings_want_pause(const struct daemon *d, const struct container_info *c)
{
	const struct container_rule *r = c ? config_container(&d->cfg, c->name) : NULL;

	return r && r->pause >= 0 ? r->pause : d->cfg.pause_on_critical;
}

int settings_want_egress(const struct daemon *d, const struct container_info *c)
{
	const struct container_rule *r = config_container(&d->cfg, c->name);
	const struct policy *p = policy_match(d->policies, c);

	if (r && r->egress >= 0)
		return r->egress;
	if (p && p->egress == POLICY_EGRESS_LEARN)
		return 0; /* learn records, and enforces nothing */
	return p && p->egress >= 0 ? p->egress : d->cfg.egress;
}

int settings_want_learn(const struct daemon *d, const struct container_info *c)
{
	const struct container_rule *r = config_container(&d->cfg, c->name);
	const struct policy *p = policy_match(d->policies, c);

	return !(r && r->egress >= 0) && p && p->egress == POLICY_EGRESS_LEARN;
}

int settings_restricted(void *ud, const struct container_info *c)
{
	const struct daemon *d = ud;

	return !d->cfg.report_only && settings_want_egress(d, c);
}

void settings_policy_set_ids(const struct policy_set *ps, uint32_t set[POLICY_MAX])
{
	for (int i = 0; i < ps->n; i++) {
		uint32_t h = 2166136261u;
		int taken;

		set[i] = 0;
		if (!ps->p[i].egress_rules[0])
			continue;
		for (const char *s = ps->p[i].id; *s; s++)
			h = (h ^ (unsigned char)*s) * 16777619u;
		do {
			h &= MOAT_POLICY_GEN1 - 1;
			h = h ? h : 1;
			taken = 0;
			for (int j = 0; j < i && !taken; j++)
				taken = set[j] == h;
			h += (uint32_t)taken;
		} while (taken);
		set[i] = h;
	}
}

struct ruleset *settings_egress_set(struct daemon *d, const struct container_info *c,
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
	*id_base = MOAT_RULE_FILE_BASE;
	*set = 0;
	if (path)
		*path = d->cfg.egress_rules;
	return &d->egress;
}

/* ---- DNS resolvers --------------------------------------------------------------------- */

/* Docker's fallback when the host has no usable nameserver (libnetwork resolvconf). */
static const char *const docker_default_dns[] = {"8.8.8.8", "8.8.4.4"};

int settings_host_nameservers(const char *path, struct cidr *out, int max)
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
 * servers are added per container (resolvers_of). */
void settings_resolvers_global(struct daemon *d)
{
	struct cidr ns[8];
	int n, err;

	netrules_resolver_clear(d->pin_dir, 0);
	cidr_parse("127.0.0.11", &ns[0]);
	err = netrules_resolver_put(d->pin_dir, 0, AF_INET, ns[0].addr, MOAT_RULE_RESOLVER);
	n = settings_host_nameservers("/etc/resolv.conf", ns, 8);
	if (!n)
		n = settings_host_nameservers("/run/systemd/resolve/resolv.conf", ns, 8);
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

/* ---- fair shares ----------------------------------------------------------------------- */

/* Each container's fair share of the learned-address maps: the maps' capacity divided
 * among the containers under domain rules (at least 256), at most the configured
 * learn_limit. */
static uint32_t learn_share(struct daemon *d)
{
	int n = 0;
	uint32_t share;

	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);

		if (c && !inventory_gone_since(c) && settings_want_egress(d, c))
			n++;
	}
	share = MOAT_MAX_LEARNED / (uint32_t)(n > 0 ? n : 1);
	if (share < 256)
		share = 256;
	return share > d->cfg.learn_limit ? d->cfg.learn_limit : share;
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

/* ---- the veth guard -------------------------------------------------------------------- */

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

int settings_veth_identity(const struct container_info *c, const struct vethguard_port *ports,
			   int i, int n, int32_t nsid, int enforce, int spoof, struct moat_veth *v)
{
	const struct container_net *net = NULL;
	char gw[16];

	*v = (struct moat_veth){.cgroup_id = c->cgroup_id, .netnsid = nsid};
	snprintf(gw, sizeof(gw), "%u.%u.%u.%u", ports[i].gw4[0], ports[i].gw4[1], ports[i].gw4[2],
		 ports[i].gw4[3]);
	for (int k = 0; k < c->n_nets && !net; k++)
		if (!strcmp(c->nets[k].gw4, gw) || (n == 1 && c->n_nets == 1))
			net = &c->nets[k];
	if (!net)
		return -ENOENT;
	if (parse_mac(net->mac, v->mac) || inet_pton(AF_INET, net->ipv4, v->ip4) != 1)
		return -EINVAL;
	if (net->ipv6[0])
		inet_pton(AF_INET6, net->ipv6, v->ip6);
	memcpy(v->gw_mac, ports[i].gw_mac, 6);
	memcpy(v->gw4, ports[i].gw4, 4);
	memcpy(v->gw6, ports[i].gw6, sizeof(v->gw6));
	memcpy(v->ll6, ports[i].ll6, sizeof(v->ll6));
	v->flags = (uint8_t)((enforce ? MOAT_VETH_F_GUARD | MOAT_VETH_F_ARPGW : 0) |
			     (spoof ? MOAT_VETH_F_SPOOF : 0));
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
		struct moat_veth v;
		int err = settings_veth_identity(c, ports, i, n, nsid, enforce, spoof, &v);

		if (err) {
			log_warn("container %s: interface %d matches none of its Docker networks "
				 "(gateway %u.%u.%u.%u); not guarded",
				 c->name, ports[i].ifindex, ports[i].gw4[0], ports[i].gw4[1],
				 ports[i].gw4[2], ports[i].gw4[3]);
			continue;
		}
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

/* ---- the settings ---------------------------------------------------------------------- */

/* Write the kill-exec names of one list for cgroup cgid, less the
 * container's allowed names. Globs cannot be matched in the kernel. */
static void kill_names(struct daemon *d, uint64_t cgid, const struct name_list *l,
		       const struct container_rule *r, const struct policy *p)
{
	for (int i = 0; i < l->n; i++) {
		const char *n = l->names[i];

		if (strpbrk(n, "*?[") || (r && name_list_has(&r->exec_allow, n)) ||
		    policy_exec_allowed(p, n))
			continue;
		netrules_exec_deny_put(d->pin_dir, cgid, n, 1);
	}
}

/* Container c's kernel settings: enforce mode (deny what the rules deny; default allow)
 * unless report-only, kill-exec when configured, egress enforcement (domain rules decide;
 * default deny) when configured, and its fair share of learned addresses. */
void settings_container_cfg(const struct daemon *d, const struct container_info *c,
			    struct moat_cgroup_cfg *cfg)
{
	int egress = settings_want_egress(d, c) && !d->cfg.report_only;
	uint32_t id_base;

	*cfg = (struct moat_cgroup_cfg){
	    .mode = d->cfg.report_only ? MOAT_MODE_MONITOR : MOAT_MODE_ENFORCE,
	    .default_action = egress ? MOAT_ACT_DENY : MOAT_ACT_ALLOW,
	    .kill_exec = (uint8_t)(settings_want_kill(d, c) && !d->cfg.report_only),
	    .domains = (uint8_t)(d->cfg.report_only ? 0 : settings_want_egress(d, c)),
	    .learn_limit = d->learn_share,
	};
	cfg->exec_allow_only = (uint8_t)(cfg->kill_exec && settings_exec_allow_only(d, c));
	settings_egress_set((struct daemon *)d, c, &id_base, &cfg->policy, NULL);
}

int settings_exec_allow_only(const struct daemon *d, const struct container_info *c)
{
	const struct policy *p = policy_match(d->policies, c);

	return p && p->n_exec_allow > 0;
}

/* Is name one of the allow-only names of container c (policy p, container rule r)? */
struct allow_ctx {
	const struct container_rule *r;
	const struct policy *p;
};

static int name_cut_in(const char *name, const char (*list)[POLICY_EXEC_LEN], int n)
{
	for (int i = 0; i < n; i++)
		if (!strncmp(list[i], name, MOAT_EXEC_NAME_LEN - 1) &&
		    strlen(name) == (strlen(list[i]) < MOAT_EXEC_NAME_LEN - 1
					 ? strlen(list[i])
					 : MOAT_EXEC_NAME_LEN - 1))
			return 1;
	return 0;
}

static int allow_keep(const char *name, void *ctx)
{
	const struct allow_ctx *a = ctx;

	if (a->p &&
	    name_cut_in(name, (const char(*)[POLICY_EXEC_LEN])a->p->exec_allow, a->p->n_exec_allow))
		return 1;
	return a->r && name_list_has(&a->r->exec_allow, name);
}

/* Exec allow-only (docs/configuration.md, policies): write the names container c may run
 * into exec_allow for its cgroup (its policy's exec_allow and its configuration entry's
 * exec_allow; globs cannot be matched in the kernel and are skipped with a warning), then
 * remove the names it had and no longer has. With on 0, remove them all. Names are written
 * before the cgroup's flag is set and removed after it is cleared (the caller's order), so
 * no allowed program is killed while the list changes. */
static void allow_names(struct daemon *d, const struct container_info *c, int on)
{
	struct allow_ctx a = {.r = config_container(&d->cfg, c->name),
			      .p = policy_match(d->policies, c)};
	int n = 0, err;

	if (!on) {
		netrules_exec_allow_sweep(d->pin_dir, c->cgroup_id, NULL, NULL);
		return;
	}
	for (int i = 0; i < a.p->n_exec_allow; i++) {
		const char *nm = a.p->exec_allow[i];

		if (strpbrk(nm, "*?[")) {
			log_warn(
			    "container %s: policy %s: exec_allow entry \"%s\" is a glob, "
			    "which the kernel cannot match: under exec allow-only nothing runs "
			    "by it (list the names)",
			    c->name, a.p->id, nm);
			continue;
		}
		err = netrules_exec_allow_put(d->pin_dir, c->cgroup_id, nm, 1);
		if (err)
			log_warn("container %s: cannot allow \"%s\" in the kernel: %s", c->name, nm,
				 strerror(-err));
		else
			n++;
	}
	for (int i = 0; a.r && i < a.r->exec_allow.n; i++) {
		const char *nm = a.r->exec_allow.names[i];

		if (!strpbrk(nm, "*?[") &&
		    !netrules_exec_allow_put(d->pin_dir, c->cgroup_id, nm, 1))
			n++;
	}
	netrules_exec_allow_sweep(d->pin_dir, c->cgroup_id, allow_keep, &a);
	log_info("container %s: exec allow-only (policy %s): %d name(s) may run, every other "
		 "program is killed",
		 c->name, a.p->id, n);
}

void settings_apply_container(struct daemon *d, const struct container_info *c)
{
	struct moat_cgroup_cfg cfg;
	int err;

	settings_container_cfg(d, c, &cfg);
	if (!c->cgroup_id)
		return;
	resolvers_of(d, c);
	if (cfg.exec_allow_only)
		allow_names(d, c, 1);
	err = netrules_set_cfg(d->pin_dir, c->cgroup_id, &cfg);
	if (err)
		log_warn("container %s: cannot set its kernel mode: %s", c->name, strerror(-err));
	if (!cfg.exec_allow_only)
		allow_names(d, c, 0);
	if (cfg.kill_exec) {
		const struct container_rule *r = config_container(&d->cfg, c->name);

		const struct policy *p = policy_match(d->policies, c);

		kill_names(d, c->cgroup_id, &d->cfg.shells, r, p);
		kill_names(d, c->cgroup_id, &d->cfg.runtimes, r, p);
		kill_names(d, c->cgroup_id, &d->cfg.net_tools, r, p);
	}
	guard_veths(d, c, cfg.mode == MOAT_MODE_ENFORCE);
}

/* moat run's defaults for a container it has not set up yet (moat_settings.unknown): the
 * global mode, egress setting and kill-exec, from the container's first instruction until
 * Docker's start event is handled; and the caps on DNS TTLs and wildcard depth. */
static void apply_defaults(struct daemon *d)
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
		kill_names(d, MOAT_CGROUP_UNKNOWN, &d->cfg.shells, NULL, NULL);
		kill_names(d, MOAT_CGROUP_UNKNOWN, &d->cfg.runtimes, NULL, NULL);
		kill_names(d, MOAT_CGROUP_UNKNOWN, &d->cfg.net_tools, NULL, NULL);
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

void settings_refresh_shares(struct daemon *d)
{
	uint32_t share = learn_share(d);

	registry_share(d);
	if (share == d->learn_share)
		return;
	d->learn_share = share;
	apply_defaults(d);
	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);
		struct moat_cgroup_cfg cfg;

		if (!c || inventory_gone_since(c) || !c->cgroup_id)
			continue;
		settings_container_cfg(d, c, &cfg);
		netrules_set_cfg(d->pin_dir, c->cgroup_id, &cfg);
	}
}

void settings_apply_all(struct daemon *d)
{
	d->learn_share = learn_share(d);
	registry_share(d);
	apply_defaults(d);
	for (int i = 0; i < inventory_count(&d->inv); i++) {
		const struct container_info *c = inventory_at(&d->inv, i);

		if (c && !inventory_gone_since(c))
			settings_apply_container(d, c);
	}
	sync_socket_tp(d);
	logwatch_apply_all(d); /* the log scanner and the health checker follow the same */
	healthwatch_apply_all(d);
}
