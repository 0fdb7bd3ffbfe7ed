/* test_daemon_settings.c - what moat run decides to write into the kernel for a container
 * (src/daemon/settings.c): config entry over policy over global setting, report-only, the
 * policies' rule set ids, the host's nameservers, the veth guard's view of a container.
 * The decisions only: writing them is netrules' (tests/bpf) and the integration tests'. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "daemon_int.h"
#include "moat/maps.h"
#include "settings.h"

static void container(struct container_info *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s-id", name);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->image, sizeof(c->image), "busybox");
	snprintf(c->state, sizeof(c->state), "running");
	c->cgroup_id = 1234;
	c->labels = json_object_new_object();
	c->image_labels = json_object_new_object();
}

static void test_cfg(void)
{
	struct daemon *d = daemon_new();
	struct container_info web, agent;
	struct moat_cgroup_cfg cfg;
	const char *path;

	container(&web, "web");
	container(&agent, "agent-1");
	d->learn_share = 512;
	settings_container_cfg(d, &web, &cfg);
	CHECK(cfg.mode == MOAT_MODE_ENFORCE && cfg.default_action == MOAT_ACT_ALLOW &&
		  !cfg.kill_exec && !cfg.domains && cfg.policy == 0 && cfg.learn_limit == 512,
	      "defaults: enforce, default allow, no kill-exec, no domain rules, global set",
	      "mode %u act %u kill %u dom %u", cfg.mode, cfg.default_action, cfg.kill_exec,
	      cfg.domains);
	path = test_tmpfile(
	    "{\"policies\": [{\"id\": \"agents\", \"priority\": 1, \"target\": {\"names\": "
	    "[\"agent-*\"]}, \"egress\": \"enforce\", \"egress_rules\": \"/tmp/agents.json\", "
	    "\"actions\": [\"pause\", \"kill_exec\"]}]}\n");
	CHECK_EQ_INT(policy_load(d->policies, path), 0, "a policies file");
	unlink(path);
	settings_policy_set_ids(d->policies, d->policy_set);
	settings_container_cfg(d, &agent, &cfg);
	CHECK(cfg.default_action == MOAT_ACT_DENY && cfg.kill_exec && cfg.domains == 1 &&
		  cfg.policy == d->policy_set[0] && cfg.policy != 0,
	      "a policy's egress, kill_exec and own rule set apply to its containers",
	      "act %u kill %u dom %u policy %u", cfg.default_action, cfg.kill_exec, cfg.domains,
	      cfg.policy);
	CHECK(settings_restricted(d, &agent) && !settings_restricted(d, &web),
	      "restricted: the enforced container only", "restricted");
	CHECK(!cfg.exec_allow_only, "kill_exec without exec_allow: the deny lists (not allow-only)",
	      "allow-only %u", cfg.exec_allow_only);
	path = test_tmpfile("{\"policies\": [{\"id\": \"agents\", \"target\": {\"names\": "
			    "[\"agent-*\"]}, \"exec_allow\": [\"app\"], \"actions\": "
			    "[\"kill_exec\"]}, {\"id\": \"web\", \"target\": {\"names\": "
			    "[\"web\"]}, \"exec_allow\": [\"app\"], \"actions\": [\"alert\"]}]}\n");
	CHECK_EQ_INT(policy_load(d->policies, path), 0, "a policies file with exec_allow");
	unlink(path);
	settings_container_cfg(d, &agent, &cfg);
	CHECK(cfg.kill_exec && cfg.exec_allow_only,
	      "exec_allow and kill_exec: exec allow-only in the kernel", "kill %u allow-only %u",
	      cfg.kill_exec, cfg.exec_allow_only);
	settings_container_cfg(d, &web, &cfg);
	CHECK(!cfg.kill_exec && !cfg.exec_allow_only,
	      "exec_allow without kill_exec: nothing is killed", "kill %u allow-only %u",
	      cfg.kill_exec, cfg.exec_allow_only);
	CHECK_EQ_INT(
	    policy_load(
		d->policies,
		test_tmpfile("{\"policies\": [{\"id\": \"agents\", "
			     "\"priority\": 1, \"target\": {\"names\": [\"agent-*\"]}, \"egress\": "
			     "\"enforce\", \"egress_rules\": \"/tmp/agents.json\", \"actions\": "
			     "[\"pause\", \"kill_exec\"]}]}\n")),
	    0, "the first policies file again");
	settings_policy_set_ids(d->policies, d->policy_set);
	path = test_tmpfile("{\"containers\": [{\"match\": \"agent-*\", \"egress\": \"monitor\", "
			    "\"kill_exec\": false, \"pause\": false}]}\n");
	CHECK_EQ_INT(config_load(&d->cfg, path), 0, "a config with a container entry");
	unlink(path);
	settings_container_cfg(d, &agent, &cfg);
	CHECK(cfg.default_action == MOAT_ACT_ALLOW && !cfg.kill_exec && !cfg.domains,
	      "the container's config entry wins over its policy", "act %u kill %u dom %u",
	      cfg.default_action, cfg.kill_exec, cfg.domains);
	CHECK(!settings_want_pause(d, &agent) && settings_want_pause(d, &web) &&
		  settings_want_pause(d, NULL),
	      "pause: the entry's false for it, the global default for others", "pause");
	d->cfg.n_containers = 0;
	d->cfg.report_only = 1;
	settings_container_cfg(d, &agent, &cfg);
	CHECK(cfg.mode == MOAT_MODE_MONITOR && cfg.default_action == MOAT_ACT_ALLOW &&
		  !cfg.kill_exec && !cfg.domains && !settings_restricted(d, &agent),
	      "report-only: monitor mode, nothing denied or killed, whatever the policy",
	      "mode %u act %u kill %u dom %u", cfg.mode, cfg.default_action, cfg.kill_exec,
	      cfg.domains);
	container_info_clear(&web);
	container_info_clear(&agent);
	daemon_free(d);
}

static void test_set_ids(void)
{
	struct policy_set *ps = calloc(1, sizeof(*ps));
	uint32_t set[POLICY_MAX], again[POLICY_MAX];
	int ok = 1;

	ps->n = 40;
	for (int i = 0; i < ps->n; i++) {
		snprintf(ps->p[i].id, sizeof(ps->p[i].id), "p%d", i);
		if (i % 4)
			snprintf(ps->p[i].egress_rules, sizeof(ps->p[i].egress_rules), "/r%d", i);
	}
	settings_policy_set_ids(ps, set);
	for (int i = 0; i < ps->n; i++) {
		ok &= (i % 4) ? set[i] && set[i] < MOAT_POLICY_GEN1 : set[i] == 0;
		for (int j = 0; j < i; j++)
			ok &= !set[i] || set[i] != set[j];
	}
	CHECK(ok, "rule set ids: non-zero, below MOAT_POLICY_GEN1, distinct; 0 without own rules",
	      "bad id");
	/* Stable across reloads: the same id hashes to the same set, wherever it sits. */
	ps->p[0] = ps->p[5];
	snprintf(ps->p[5].id, sizeof(ps->p[5].id), "p0");
	ps->p[5].egress_rules[0] = 0;
	settings_policy_set_ids(ps, again);
	CHECK(again[0] == set[5], "a policy keeps its set id when the file is reordered",
	      "%u != %u", again[0], set[5]);
	/* Two ids with one hash: the later moves on. */
	ps->n = 2;
	snprintf(ps->p[0].id, sizeof(ps->p[0].id), "same");
	snprintf(ps->p[1].id, sizeof(ps->p[1].id), "same");
	snprintf(ps->p[0].egress_rules, sizeof(ps->p[0].egress_rules), "/a");
	snprintf(ps->p[1].egress_rules, sizeof(ps->p[1].egress_rules), "/b");
	settings_policy_set_ids(ps, set);
	CHECK(set[0] && set[1] && set[0] != set[1], "colliding hashes get distinct ids", "%u %u",
	      set[0], set[1]);
	free(ps);
}

static void test_nameservers(void)
{
	struct cidr ns[8];
	const char *path = test_tmpfile("# resolv.conf\n"
					"nameserver 127.0.0.53\n"
					"nameserver 192.0.2.53\n"
					"search example\n"
					"nameserver ::1\n"
					"nameserver 2001:db8::53\n"
					"nameserver 10.0.0.0/8\n"
					"nameserver not-an-address\n"
					"  nameserver 198.51.100.1\n");
	int n = settings_host_nameservers(path, ns, 8);
	char a[64], b[64], c[64];

	inet_ntop(AF_INET, ns[0].addr, a, sizeof(a));
	inet_ntop(AF_INET6, ns[1].addr, b, sizeof(b));
	inet_ntop(AF_INET, ns[2].addr, c, sizeof(c));
	CHECK(n == 3 && !strcmp(a, "192.0.2.53") && !strcmp(b, "2001:db8::53") &&
		  !strcmp(c, "198.51.100.1"),
	      "nameservers: addresses only, loopback ones skipped (a container cannot reach them)",
	      "n %d: %s %s %s", n, a, b, c);
	CHECK_EQ_INT(settings_host_nameservers(path, ns, 1), 1, "at most max");
	unlink(path);
	CHECK_EQ_INT(settings_host_nameservers("/nonexistent/resolv.conf", ns, 8), 0,
		     "no file: none");
}

static void test_veth(void)
{
	struct container_info c;
	struct vethguard_port ports[2] = {0};
	struct moat_veth v;

	container(&c, "web");
	c.n_nets = 2;
	snprintf(c.nets[0].gw4, sizeof(c.nets[0].gw4), "172.17.0.1");
	snprintf(c.nets[0].mac, sizeof(c.nets[0].mac), "02:42:ac:11:00:02");
	snprintf(c.nets[0].ipv4, sizeof(c.nets[0].ipv4), "172.17.0.2");
	snprintf(c.nets[1].gw4, sizeof(c.nets[1].gw4), "172.29.0.1");
	snprintf(c.nets[1].mac, sizeof(c.nets[1].mac), "02:42:ac:1d:00:05");
	snprintf(c.nets[1].ipv4, sizeof(c.nets[1].ipv4), "172.29.0.5");
	snprintf(c.nets[1].ipv6, sizeof(c.nets[1].ipv6), "fd00::5");
	memcpy(ports[0].gw4, "\xac\x1d\x00\x01", 4);
	memcpy(ports[0].gw_mac, "\x02\x42\x00\x00\x00\x01", 6);
	memcpy(ports[1].gw4, "\x0a\x00\x00\x01", 4);
	CHECK(settings_veth_identity(&c, ports, 0, 2, 7, 1, 1, &v) == 0 &&
		  !memcmp(v.mac, "\x02\x42\xac\x1d\x00\x05", 6) &&
		  !memcmp(v.ip4, "\xac\x1d\x00\x05", 4) && v.ip6[0] == 0xfd && v.netnsid == 7 &&
		  v.cgroup_id == 1234 && !memcmp(v.gw_mac, ports[0].gw_mac, 6) &&
		  v.flags == (MOAT_VETH_F_GUARD | MOAT_VETH_F_ARPGW | MOAT_VETH_F_SPOOF),
	      "a port is matched to the network whose gateway is its bridge", "flags %u", v.flags);
	CHECK_EQ_INT(settings_veth_identity(&c, ports, 1, 2, 7, 1, 1, &v), -ENOENT,
		     "a port behind no network of the container is not guarded");
	settings_veth_identity(&c, ports, 0, 2, 7, 0, 1, &v);
	CHECK_EQ_INT(v.flags, MOAT_VETH_F_SPOOF,
		     "monitor mode with spoof_guard all: spoofing only");
	snprintf(c.nets[1].mac, sizeof(c.nets[1].mac), "zz:42");
	CHECK_EQ_INT(settings_veth_identity(&c, ports, 0, 2, 7, 1, 1, &v), -EINVAL,
		     "a MAC that is not one refuses the port");
	c.n_nets = 1;
	snprintf(c.nets[0].gw4, sizeof(c.nets[0].gw4), "10.9.9.9");
	CHECK_EQ_INT(settings_veth_identity(&c, ports, 0, 1, 7, 1, 0, &v), 0,
		     "one port, one network: they belong together whatever the gateway");
	container_info_clear(&c);
}

int main(void)
{
	test_cfg();
	test_set_ids();
	test_nameservers();
	test_veth();
	return TEST_EXIT();
}
