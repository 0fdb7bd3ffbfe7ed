/* settings.h - what moat run writes into the kernel for each container: its cgroup
 * settings (mode, default action, kill-exec, domain rules, rule set, learned-address
 * share), its DNS resolvers, its kill-exec names and the veth guard on its interfaces; and
 * the defaults for containers not set up yet, the fair shares, and the socket() tracepoint.
 * Which setting applies comes from the container's config entry, else its policy, else the
 * global configuration. */
#ifndef MOAT_SETTINGS_H
#define MOAT_SETTINGS_H

#include <stdint.h>

#include "cidr.h"
#include "policy.h"
#include "rulesfile.h"
#include "vethguard.h"

struct daemon;
struct container_info;

/* The effective settings of container c: kill execs in the kernel, pause on CRITICAL (c may
 * be NULL: the global setting), egress mode (0 monitor, 1 enforce, 2 interactive). */
int settings_want_kill(const struct daemon *d, const struct container_info *c);

/* Does container c's policy name the programs it may run (a non-empty exec_allow)? With
 * kill-exec on, its cgroup is in exec allow-only: every other program is killed. */
int settings_exec_allow_only(const struct daemon *d, const struct container_info *c);
int settings_want_pause(const struct daemon *d, const struct container_info *c);
int settings_want_egress(const struct daemon *d, const struct container_info *c);
/* Is container c's policy in learn mode (egress "learn", and no containers entry of the
 * configuration deciding its egress)? */
int settings_want_learn(const struct daemon *d, const struct container_info *c);

/* detect_ctx.restricted: is c's egress enforced (domain rules or default deny)? */
int settings_restricted(void *d, const struct container_info *c);

/* Give each policy with its own rules (egress_rules) its kernel rule set id in set[i]: a
 * hash of its id, stable across reloads, so a container's cgroup_cfg.policy keeps naming
 * the same set while the generation switches under it. Never 0, below MOAT_POLICY_GEN1;
 * two ids with one hash: the later one moves on. 0 for a policy without its own rules. */
void settings_policy_set_ids(const struct policy_set *ps, uint32_t set[POLICY_MAX]);

/* The egress rule set that binds container c (NULL: the global one): its policy's own
 * (egress_rules), else the global rules file. Sets *id_base to the kernel rule ids' base,
 * *set to the kernel rule set id (0: global), *path (may be NULL) to the file. */
struct ruleset *settings_egress_set(struct daemon *d, const struct container_info *c,
				    uint32_t *id_base, uint32_t *set, const char **path);

/* The nameservers of the resolv.conf at path, loopback ones skipped (Docker skips them: a
 * container cannot reach the host's 127.0.0.53), at most max, into out. Returns how many. */
int settings_host_nameservers(const char *path, struct cidr *out, int max);

/* Write the resolvers every container may reach on port 53 (settings.c says which). */
void settings_resolvers_global(struct daemon *d);

/* Container c's kernel settings into *cfg (nothing written). */
void settings_container_cfg(const struct daemon *d, const struct container_info *c,
			    struct moat_cgroup_cfg *cfg);

/* The veth guard's description of container c behind host-side port ports[i] of n: its
 * network (the one whose gateway is the port's bridge, or its only one), MAC, addresses,
 * and the flags (enforce: judge every frame; spoof: the spoofing checks). 0, or -ENOENT
 * when the port matches none of c's networks, -EINVAL when Docker's MAC or address is not
 * one. */
int settings_veth_identity(const struct container_info *c, const struct vethguard_port *ports,
			   int i, int n, int32_t nsid, int enforce, int spoof, struct moat_veth *v);

/* Give container c its settings, resolvers, kill-exec names and veth guard. */
void settings_apply_container(struct daemon *d, const struct container_info *c);

/* The defaults for containers not set up yet, the fair shares, every running container's
 * settings, and the socket() tracepoint (start, reload, Docker's stream (re)connected). */
void settings_apply_all(struct daemon *d);

/* A container came or went: recompute the fair shares; when the learned-address share
 * changed, give every running container its new limit. */
void settings_refresh_shares(struct daemon *d);

#endif /* MOAT_SETTINGS_H */
