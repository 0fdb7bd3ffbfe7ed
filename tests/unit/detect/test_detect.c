/* test_detect.c - the detections (src/detect/detect.c), no kernel, no Docker: crafted
 * events and containers in, alerts out. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "detect.h"
#include "registry.h"

static struct config cfg;

/* A container "web" with init pid 100, entrypoint sh -c "python app.py". */
static void make_container(struct container_info *c)
{
	static char *argv[] = {"sh", "-c", "python app.py", NULL};

	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%064d", 1);
	snprintf(c->name, sizeof(c->name), "web");
	snprintf(c->image, sizeof(c->image), "img");
	c->pid = 100;
	c->cgroup_id = 4242;
	c->argv = argv;
	c->argc = 3;
	c->labels = json_object_new_object();
	c->image_labels = json_object_new_object();
	c->n_nets = 1;
	snprintf(c->nets[0].ipv4, sizeof(c->nets[0].ipv4), "172.29.0.5");
	snprintf(c->nets[0].gw4, sizeof(c->nets[0].gw4), "172.29.0.1");
}

/* An exec event: pid, ppid, filename, interp, argv ("a\0b\0"), exe. */
static void make_exec(struct moat_exec_event *e, int pid, int ppid, const char *file,
		      const char *interp, const char *args, size_t args_len, const char *exe)
{
	memset(e, 0, sizeof(*e));
	e->hdr.type = MOAT_EV_EXEC;
	e->hdr.size = sizeof(*e);
	e->hdr.pid = pid;
	e->ppid = ppid;
	snprintf(e->filename, sizeof(e->filename), "%s", file);
	snprintf(e->interp, sizeof(e->interp), "%s", interp);
	memcpy(e->args, args, args_len);
	e->args_len = args_len;
	snprintf(e->exe, sizeof(e->exe), "%s", exe);
}

static int run_exec(const struct detect_ctx *x, const struct moat_exec_event *e,
		    const struct container_info *c, struct alert *a)
{
	int n = detect_event(x, &e->hdr, c, a, 1);

	return n;
}

static void test_exec(void)
{
	struct detect_ctx x = {.cfg = &cfg};
	struct container_info c;
	struct moat_exec_event e;
	struct alert a;
	int n;

	make_container(&c);
	make_exec(&e, 555, 1, "/bin/sh", "", "sh\0-c\0id", 9, "busybox");
	n = run_exec(&x, &e, &c, &a);
	CHECK(n == 1 && a.severity == ALERT_CRITICAL && !strcmp(a.rule, "suspicious-exec"),
	      "docker exec shell is CRITICAL suspicious-exec", "n=%d", n);
	if (n)
		CHECK(strstr(a.message, "Shell process detected: /bin/sh") != NULL,
		      "message names the shell", "%s", a.message);
	if (n)
		alert_release(&a);

	make_exec(&e, 100, 1, "/bin/sh", "", "sh\0-c\0python app.py", 21, "busybox");
	CHECK_EQ_INT(run_exec(&x, &e, &c, &a), 0, "the init process (entrypoint) is expected");
	make_exec(&e, 101, 100, "/usr/bin/python", "", "python\0app.py", 14, "python3.11");
	CHECK_EQ_INT(run_exec(&x, &e, &c, &a), 0,
		     "entrypoint's child named in its command is expected");
	make_exec(&e, 102, 101, "/usr/bin/python", "", "python\0x.py", 12, "python3.11");
	n = run_exec(&x, &e, &c, &a);
	CHECK_EQ_INT(n, 1, "the same runtime spawned by the app is suspicious");
	if (n)
		alert_release(&a);

	make_exec(&e, 103, 1, "/bin/busybox", "", "busybox\0sh\0", 11, "busybox");
	n = run_exec(&x, &e, &c, &a);
	CHECK_EQ_INT(n, 1, "busybox sh is caught");
	if (n)
		alert_release(&a);
	make_exec(&e, 104, 1, "/proc/self/exe", "", "nc\0-l\0", 6, "busybox");
	n = run_exec(&x, &e, &c, &a);
	CHECK(n == 1 && strstr(a.message, "Network tool"),
	      "applet by argv[0] (nc) is a network tool", "n=%d", n);
	if (n)
		alert_release(&a);
	make_exec(&e, 105, 1, "/tmp/run.sh", "/bin/sh", "/bin/sh\0/tmp/run.sh\0", 20, "busybox");
	n = run_exec(&x, &e, &c, &a);
	CHECK_EQ_INT(n, 1, "#! script caught through its interpreter");
	if (n)
		alert_release(&a);
	make_exec(&e, 106, 1, "/usr/bin/id", "", "id\0", 3, "id");
	CHECK_EQ_INT(run_exec(&x, &e, &c, &a), 0, "an ordinary program is not suspicious");

	/* Allowed by label, by config, and the healthcheck. */
	json_object_object_add(c.labels, "moat.exec.allow", json_object_new_string("perl,sh"));
	make_exec(&e, 107, 1, "/bin/sh", "", "sh\0", 3, "busybox");
	CHECK_EQ_INT(run_exec(&x, &e, &c, &a), 0, "label moat.exec.allow allows sh");
	json_object_object_add(c.image_labels, "moat.exec.allow",
			       json_object_new_string("perl,sh"));
	n = run_exec(&x, &e, &c, &a);
	CHECK_EQ_INT(n, 1, "moat.exec.allow set by the image allows nothing");
	if (n)
		alert_release(&a);
	json_object_object_del(c.image_labels, "moat.exec.allow");
	json_object_object_del(c.labels, "moat.exec.allow");
	snprintf(c.health_cmd, sizeof(c.health_cmd), "sh -c wget -q -O- http://localhost/");
	make_exec(&e, 108, 1, "/bin/sh", "", "/bin/sh\0-c\0wget -q -O- http://localhost/\0", 40,
		  "busybox");
	CHECK_EQ_INT(run_exec(&x, &e, &c, &a), 0, "the exact healthcheck is expected");
	make_exec(&e, 109, 1, "/bin/sh", "", "/bin/sh\0-c\0id\0", 14, "busybox");
	n = run_exec(&x, &e, &c, &a);
	CHECK_EQ_INT(n, 1, "another sh -c is still caught with a CMD-SHELL healthcheck");
	if (n)
		alert_release(&a);
	cfg.n_containers = 1;
	snprintf(cfg.containers[0].match, sizeof(cfg.containers[0].match), "w*");
	cfg.containers[0].kill_exec = cfg.containers[0].pause = -1;
	cfg.containers[0].suspicious_exec = 0;
	CHECK_EQ_INT(run_exec(&x, &e, &c, &a), 0, "suspicious_exec false for matching containers");
	cfg.containers[0].suspicious_exec = -1;
	cfg.containers[0].exec_allow.n = 1;
	snprintf(cfg.containers[0].exec_allow.names[0], CONFIG_NAME_LEN, "sh");
	CHECK_EQ_INT(run_exec(&x, &e, &c, &a), 0, "exec_allow in the config allows sh");
	cfg.n_containers = 0;
	CHECK_EQ_INT(run_exec(&x, &e, NULL, &a), 0, "no container: no suspicious-exec");
	json_object_put(c.labels);
}

static void make_connect(struct moat_net_event *e, const char *addr, int port)
{
	memset(e, 0, sizeof(*e));
	e->hdr.type = MOAT_EV_CONNECT;
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = 1000000000ULL * 100;
	e->family = AF_INET;
	e->protocol = 6;
	e->dport = port;
	inet_pton(AF_INET, addr, e->daddr);
}

static void release_all(struct alert *a, int n)
{
	for (int i = 0; i < n; i++)
		alert_release(&a[i]);
}

static void test_network(void)
{
	struct registry *r = registry_new(1000, 3600);
	struct iplist black = {0}, white = {0};
	struct detect_ctx x = {
	    .cfg = &cfg, .registry = r, .blacklist = &black, .whitelist = &white};
	struct registry_addr ra = {.family = AF_INET, .ttl = 60};
	struct container_info c, other;
	struct moat_net_event e;
	struct alert a[4];
	int n;

	x.offset_ns = (int64_t)time(NULL) * 1000000000LL - 100 * 1000000000LL;
	make_container(&c);
	make_container(&other);
	snprintf(other.id, sizeof(other.id), "%064d", 2);
	inet_pton(AF_INET, "172.29.0.9", ra.addr);
	registry_record(r, "svc.moat.test", NULL, 0, &ra, 1, c.id, time(NULL));

	make_connect(&e, "172.29.0.9", 8080);
	n = detect_event(&x, &e.hdr, &c, a, 4);
	CHECK_EQ_INT(n, 0, "connect explained by this container's DNS answer: no alert");
	n = detect_event(&x, &e.hdr, &other, a, 4);
	CHECK(n == 1 && !strcmp(a[0].rule, "direct-connection") && a[0].severity == ALERT_WARNING,
	      "another container's answer does not explain it: WARNING", "n=%d", n);
	release_all(a, n);
	cfg.strict = 1;
	make_connect(&e, "172.29.0.10", 80);
	n = detect_event(&x, &e.hdr, &other, a, 4);
	CHECK(n == 1 && a[0].severity == ALERT_CRITICAL, "strict makes it CRITICAL", "n=%d", n);
	release_all(a, n);
	cfg.strict = 0;
	make_connect(&e, "172.29.0.1", 53);
	CHECK_EQ_INT(detect_event(&x, &e.hdr, &c, a, 4), 0,
		     "the container's gateway is never direct");
	make_connect(&e, "127.0.0.1", 80);
	CHECK_EQ_INT(detect_event(&x, &e.hdr, &c, a, 4), 0, "loopback is never direct");
	lists_parse(&white, "white", "172.29.0.11\n", 12, NULL);
	make_connect(&e, "172.29.0.11", 80);
	CHECK_EQ_INT(detect_event(&x, &e.hdr, &c, a, 4), 0, "whitelisted address is not reported");
	lists_parse(&black, "black", "# x\n172.29.0.0/28\n", 18, NULL);
	make_connect(&e, "172.29.0.12", 80);
	e.verdict = MOAT_VERDICT_DENY;
	n = detect_event(&x, &e.hdr, &c, a, 4);
	CHECK(n == 1 && !strcmp(a[0].rule, "blacklisted-destination") &&
		  a[0].severity == ALERT_CRITICAL && strstr(a[0].message, "172.29.0.0/28") &&
		  strstr(a[0].message, "line 2") && strstr(a[0].message, "denied in the kernel"),
	      "blacklist: CRITICAL naming the CIDR, its line and the kernel deny", "n=%d %s", n,
	      n ? a[0].message : "");
	release_all(a, n);
	CHECK_EQ_INT(detect_event(&x, &e.hdr, NULL, a, 4), 1,
		     "blacklist applies without a container");
	release_all(a, 1);

	/* Dedup: a second identical finding within the window is suppressed. */
	x.dedup = dedup_new(60);
	lists_free(&black);
	make_connect(&e, "172.29.0.20", 80);
	n = detect_event(&x, &e.hdr, &other, a, 4);
	release_all(a, n);
	CHECK_EQ_INT(n + 10 * detect_event(&x, &e.hdr, &other, a, 4), 1,
		     "dedup: the same direct connection alerts once per window");
	dedup_free(x.dedup);
	x.dedup = dedup_new(0);
	n = detect_event(&x, &e.hdr, &other, a, 4);
	release_all(a, n);
	CHECK_EQ_INT(detect_event(&x, &e.hdr, &other, a, 4), 1,
		     "dedup window 0 reports every time");
	release_all(a, 1);
	dedup_free(x.dedup);
	x.dedup = NULL;

	/* Events the kernel's fair share left out: a direct connection may be explained by a
	 * missing answer. */
	x.lossy = lossy_new(3600);
	make_connect(&e, "172.29.0.30", 80);
	e.hdr.cgroup_id = 4242;
	n = detect_event(&x, &e.hdr, &other, a, 4);
	CHECK(n == 1 && a[0].severity == ALERT_WARNING && !strstr(a[0].message, "event budget"),
	      "no events suppressed: direct-connection stays a WARNING", "n=%d", n);
	release_all(a, n);
	e.suppressed = 17;
	n = detect_event(&x, &e.hdr, &other, a, 4);
	CHECK(n == 1 && a[0].severity == ALERT_INFO && strstr(a[0].message, "event budget") &&
		  strstr(a[0].message, "may have been one of them"),
	      "events suppressed: direct-connection is INFO and says why", "n=%d %s", n,
	      n ? a[0].message : "");
	release_all(a, n);
	e.suppressed = 0; /* a denied connect carries no count: the window stays */
	n = detect_event(&x, &e.hdr, &other, a, 4);
	CHECK(n == 1 && a[0].severity == ALERT_INFO, "a count of 0 does not end the window", "n=%d",
	      n);
	release_all(a, n);
	e.suppressed = 17;
	e.hdr.ts_ns += 3601ULL * 1000000000ULL; /* the same count, an hour later */
	n = detect_event(&x, &e.hdr, &other, a, 4);
	CHECK(n == 1 && a[0].severity == ALERT_WARNING,
	      "the window ends one registry retention after the last suppression", "n=%d", n);
	release_all(a, n);
	e.hdr.cgroup_id = 4343; /* another cgroup: its own count */
	e.hdr.ts_ns -= 3601ULL * 1000000000ULL;
	CHECK(lossy_note(x.lossy, 4343, 0, 100) == 0 && lossy_note(x.lossy, 4242, 17, 100) > 0,
	      "counts are per cgroup", "lossy_note mixed cgroups");
	for (uint64_t g = 1; g <= 2000; g++) /* far more cgroups than slots */
		lossy_note(x.lossy, 100000 + g, (uint32_t)g, 200);
	CHECK(lossy_note(x.lossy, 100000 + 2000, 2000, 201) > 0,
	      "a full table still tracks the newest cgroup", "lost it");
	lossy_free(x.lossy);
	x.lossy = NULL;
	lists_free(&white);
	registry_free(r);
	json_object_put(c.labels);
	json_object_put(other.labels);
}

/* A packet the kernel dropped: reason, where, family, ICMP type in sport. */
static void make_packet(struct moat_packet_event *e, unsigned reason, unsigned where, int fam,
			unsigned sport, const char *sa, const char *da)
{
	memset(e, 0, sizeof(*e));
	e->hdr.type = MOAT_EV_PACKET;
	e->hdr.size = sizeof(*e);
	e->hdr.cgroup_id = 4242;
	e->reason = (__u8)reason;
	e->where = (__u8)where;
	e->family = (__u8)fam;
	e->protocol = fam == AF_INET6 ? 58 : 1;
	e->sport = (__u16)sport;
	inet_pton(fam, sa, e->saddr);
	inet_pton(fam, da, e->daddr);
	memcpy(e->smac, "\x02\x42\xac\x1e\x02\x02", 6);
}

static const char *net_reason(const struct alert *a)
{
	json_object *v;

	return a->network && json_object_object_get_ex(a->network, "reason", &v)
		   ? json_object_get_string(v)
		   : "";
}

static void test_packet(void)
{
	struct detect_ctx x = {.cfg = &cfg};
	struct moat_packet_event e;
	struct container_info c;
	struct alert a[2];
	int n;

	x.offset_ns = (int64_t)time(NULL) * 1000000000LL;
	make_container(&c);
	make_packet(&e, MOAT_PKT_R_NDP_SPOOF, MOAT_PKT_AT_VETH, AF_INET6, 136,
		    "fe80::42:acff:fe1e:202", "fd6d:6f61:7400:2::1");
	n = detect_event(&x, &e.hdr, &c, a, 2);
	CHECK(n == 1 && !strcmp(a[0].rule, "spoofed-traffic") && a[0].severity == ALERT_CRITICAL &&
		  strstr(a[0].message, "fd6d:6f61:7400:2::1") &&
		  !strcmp(net_reason(a), "ndp_spoof"),
	      "forged NDP: CRITICAL spoofed-traffic naming the claimed address", "n=%d %s", n,
	      n ? a[0].message : "");
	release_all(a, n);
	make_packet(&e, MOAT_PKT_R_NDP_SPOOF, MOAT_PKT_AT_VETH, AF_INET6, 134,
		    "fe80::42:acff:fe1e:202", "ff02::1");
	n = detect_event(&x, &e.hdr, &c, a, 2);
	CHECK(n == 1 && strstr(a[0].message, "router advertisement"),
	      "a container's router advertisement is called one", "n=%d %s", n,
	      n ? a[0].message : "");
	release_all(a, n);
	make_packet(&e, MOAT_PKT_R_GATEWAY_CLAIM, MOAT_PKT_AT_VETH_IN, AF_INET6, 136,
		    "fe80::42:acff:fe1e:203", "fd6d:6f61:7400:2::1");
	n = detect_event(&x, &e.hdr, &c, a, 2);
	CHECK(n == 1 && !strcmp(a[0].rule, "arp-spoof-target") && a[0].severity == ALERT_WARNING &&
		  strstr(a[0].message, "claiming the gateway") &&
		  strstr(a[0].message, "02:42:ac:1e:02:02") &&
		  !strcmp(net_reason(a), "gateway_claim"),
	      "NDP claiming the gateway on the way in: WARNING arp-spoof-target with the MAC",
	      "n=%d %s", n, n ? a[0].message : "");
	release_all(a, n);
	make_packet(&e, MOAT_PKT_R_GATEWAY_CLAIM, MOAT_PKT_AT_VETH_IN, AF_INET, 5, "172.29.0.1",
		    "172.29.0.5");
	n = detect_event(&x, &e.hdr, &c, a, 2);
	CHECK(n == 1 && strstr(a[0].message, "an ICMP redirect"), "an IPv4 redirect is called one",
	      "n=%d %s", n, n ? a[0].message : "");
	release_all(a, n);
	make_packet(&e, MOAT_PKT_R_IP6_EXT, MOAT_PKT_AT_VETH, AF_INET6, 0, "fd6d:6f61:7400:2::2",
		    "fd6d:6f61:7400:2::1");
	n = detect_event(&x, &e.hdr, &c, a, 2);
	CHECK(n == 1 && !strcmp(a[0].rule, "spoofed-traffic") &&
		  !strcmp(net_reason(a), "ipv6_ext_headers"),
	      "too many IPv6 extension headers: spoofed-traffic", "n=%d", n);
	release_all(a, n);
	make_packet(&e, MOAT_PKT_R_DENIED, MOAT_PKT_AT_VETH, AF_INET, 0, "172.29.0.5", "10.9.9.9");
	n = detect_event(&x, &e.hdr, &c, a, 2);
	CHECK(n == 1 && !strcmp(a[0].rule, "packet-dropped") && a[0].severity == ALERT_WARNING,
	      "a denied packet: WARNING packet-dropped", "n=%d", n);
	release_all(a, n);
	CHECK_EQ_INT(detect_event(&x, &e.hdr, NULL, a, 2), 0, "a packet of no container: no alert");
	json_object_put(c.labels);
	json_object_put(c.image_labels);
}

/* A renamed copy of a shell (copycheck found it): suspicious, unless it is the container's
 * own init (busybox's `sleep` is a hard link of /bin/sh). */
static void test_copied(void)
{
	struct detect_ctx x = {.cfg = &cfg};
	struct container_info c;
	struct moat_exec_event e;
	struct alert a;

	make_container(&c);
	make_exec(&e, 555, 1, "/tmp/x", "", "x\0", 2, "x");
	CHECK(detect_copied_exec(&x, &e, &c, EXEC_SHELL, "/bin/sh", &a) &&
		  a.severity == ALERT_CRITICAL && strstr(a.message, "a copy of /bin/sh"),
	      "a renamed copy of sh run by docker exec is CRITICAL", "%s", a.message);
	alert_release(&a);
	make_exec(&e, 100, 1, "/bin/sleep", "",
		  "sleep\0"
		  "600",
		  10, "sleep");
	CHECK_EQ_INT(detect_copied_exec(&x, &e, &c, EXEC_SHELL, "/bin/sh", &a), 0,
		     "the container's init that is a hard link of sh (busybox sleep) is its own");
	json_object_put(c.labels);
	json_object_put(c.image_labels);
}

static void test_lifecycle(void)
{
	struct detect_ctx x = {.cfg = &cfg};
	struct container_info c;
	struct alert a;

	make_container(&c);
	CHECK(detect_docker_event(&x, "die", 137, &c, 1, &a) && a.severity == ALERT_CRITICAL &&
		  strstr(a.message, "exit code 137"),
	      "die is CRITICAL with the exit code", "%s", a.message);
	CHECK(detect_docker_event(&x, "oom", 0, &c, 1, &a) && a.severity == ALERT_CRITICAL,
	      "oom is CRITICAL", "sev %d", a.severity);
	CHECK(detect_docker_event(&x, "kill", 0, &c, 1, &a) && a.severity == ALERT_CRITICAL &&
		  !strcmp(a.rule, "container-lifecycle") && !strcmp(a.source, "events"),
	      "kill is CRITICAL container-lifecycle from events", "sev %d rule %s", a.severity,
	      a.rule);
	/* A failing healthcheck is the health checker's (health-failing, after N failed checks
	 * in a row), not Docker's verdict after its own --health-retries. */
	CHECK_EQ_INT(detect_docker_event(&x, "health_status: unhealthy", 0, &c, 1, &a), 0,
		     "health_status: unhealthy is no lifecycle alert");
	CHECK(detect_docker_event(&x, "restart", 0, &c, 1, &a) && a.severity == ALERT_WARNING,
	      "restart is WARNING", "sev %d", a.severity);
	CHECK(detect_docker_event(&x, "start", 0, &c, 1, &a) && a.severity == ALERT_INFO,
	      "start is INFO", "sev %d", a.severity);
	CHECK_EQ_INT(detect_docker_event(&x, "exec_start: sh", 0, &c, 1, &a), 0,
		     "other Docker events raise nothing");
	json_object_put(c.labels);
}

int main(void)
{
	config_defaults(&cfg);
	test_exec();
	test_network();
	test_packet();
	test_copied();
	test_lifecycle();
	return TEST_EXIT();
}
