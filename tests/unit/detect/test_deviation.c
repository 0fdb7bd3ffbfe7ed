/* test_deviation.c - the learn-mode detections, each with positive and negative cases:
 * new-exec, new-domain, new-destination, exec-then-egress, dns-tunnel (a normal lookup burst
 * and CDN names must not trip it). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "config.h"
#include "deviation.h"
#include "test.h"

static struct config cfg;
static const struct container_info ct = {
    .id = "c0ffee", .name = "web", .image = "app:1", .cgroup_id = 4242};

static struct moat_exec_event exec_ev(const char *path)
{
	struct moat_exec_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = MOAT_EV_EXEC;
	e.hdr.size = sizeof(e);
	e.hdr.cgroup_id = ct.cgroup_id;
	e.hdr.pid = 77;
	snprintf(e.filename, sizeof(e.filename), "%s", path);
	snprintf(e.exe, sizeof(e.exe), "%s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	return e;
}

static struct moat_net_event net_ev(const char *ip, int port)
{
	struct moat_net_event n;

	memset(&n, 0, sizeof(n));
	n.hdr.type = MOAT_EV_CONNECT;
	n.hdr.size = sizeof(n);
	n.hdr.cgroup_id = ct.cgroup_id;
	n.family = 2;
	n.protocol = 6;
	n.dport = (uint16_t)port;
	inet_pton(AF_INET, ip, n.daddr);
	return n;
}

static struct moat_dns_event dns_ev(int type, const char *name)
{
	struct moat_dns_event q;

	memset(&q, 0, sizeof(q));
	q.hdr.type = (uint16_t)type;
	q.hdr.size = sizeof(q);
	q.hdr.cgroup_id = ct.cgroup_id;
	q.n_addrs = 1;
	snprintf(q.qname, sizeof(q.qname), "%.250s", name);
	return q;
}

static void release(struct alert *a, int n)
{
	for (int i = 0; i < n; i++)
		alert_release(&a[i]);
}

static void test_new(struct deviation *dv, const struct detect_ctx *x,
		     const struct baseline_image *im)
{
	struct alert a[4];
	struct moat_exec_event e = exec_ev("/bin/sh");
	struct moat_net_event n;
	struct moat_dns_event q;
	int k;

	k = deviation_event(dv, x, &e.hdr, &ct, im, NULL, 1000, a, 4);
	CHECK_EQ_INT(k, 0, "new-exec: an executable of the baseline raises nothing");
	release(a, k);
	e = exec_ev("/usr/bin/nc");
	e.flags = MOAT_EXEC_F_KILLED;
	k = deviation_event(dv, x, &e.hdr, &ct, im, NULL, 1000, a, 4);
	CHECK(k == 1 && !strcmp(a[0].rule, "new-exec") && a[0].severity == ALERT_WARNING &&
		  strstr(a[0].message, "/usr/bin/nc") && strstr(a[0].message, "killed") &&
		  strstr(a[0].message, "learned over 15m0s"),
	      "new-exec: a new executable is a WARNING with the baseline's age", "%d %s", k,
	      k ? a[0].message : "");
	release(a, k);

	q = dns_ev(MOAT_EV_DNS_ANSWER, "API.example.test.");
	k = deviation_event(dv, x, &q.hdr, &ct, im, NULL, 1000, a, 4);
	CHECK_EQ_INT(k, 0, "new-domain: a learned name (any case, trailing dot) raises nothing");
	release(a, k);
	q = dns_ev(MOAT_EV_DNS_ANSWER, "exfil.example.test");
	k = deviation_event(dv, x, &q.hdr, &ct, im, NULL, 1000, a, 4);
	CHECK(k == 1 && !strcmp(a[0].rule, "new-domain") && a[0].severity == ALERT_WARNING &&
		  strstr(a[0].message, "exfil.example.test"),
	      "new-domain: a new name is a WARNING", "%d %s", k, k ? a[0].message : "");
	release(a, k);
	q.rcode = 3;
	k = deviation_event(dv, x, &q.hdr, &ct, im, NULL, 1000, a, 4);
	CHECK_EQ_INT(k, 0, "new-domain: an NXDOMAIN answer is not a new domain");
	release(a, k);

	n = net_ev("192.0.2.10", 443);
	k = deviation_event(dv, x, &n.hdr, &ct, im, "api.example.test", 1100, a, 4);
	CHECK_EQ_INT(k, 0, "new-destination: a learned name and port raise nothing");
	release(a, k);
	n = net_ev("10.9.9.9", 5432);
	k = deviation_event(dv, x, &n.hdr, &ct, im, NULL, 1100, a, 4);
	CHECK_EQ_INT(k, 0, "new-destination: a learned direct address and port raise nothing");
	release(a, k);
	n = net_ev("203.0.113.5", 4444);
	k = deviation_event(dv, x, &n.hdr, &ct, im, NULL, 1100, a, 4);
	CHECK(k == 1 && !strcmp(a[0].rule, "new-destination") && a[0].severity == ALERT_WARNING &&
		  strstr(a[0].message, "203.0.113.5:4444/tcp"),
	      "new-destination: a new direct address is a WARNING", "%d %s", k,
	      k ? a[0].message : "");
	release(a, k);
	n = net_ev("192.0.2.53", 53);
	k = deviation_event(dv, x, &n.hdr, &ct, im, NULL, 1100, a, 4);
	CHECK_EQ_INT(k, 0, "new-destination: DNS traffic is judged by new-domain, not here");
	release(a, k);
}

static void test_sequence(struct deviation *dv, const struct detect_ctx *x,
			  const struct baseline_image *im)
{
	struct alert a[4];
	struct moat_exec_event e = exec_ev("/bin/sh");
	struct moat_net_event n = net_ev("198.51.100.7", 9001);
	int k;

	/* The shell is in the baseline: starting it raises nothing, but it is noted. */
	k = deviation_event(dv, x, &e.hdr, &ct, im, NULL, 2000, a, 4);
	release(a, k);
	k = deviation_event(dv, x, &n.hdr, &ct, im, NULL, 2010, a, 4);
	CHECK(k == 1 && !strcmp(a[0].rule, "exec-then-egress") && a[0].severity == ALERT_CRITICAL &&
		  strstr(a[0].message, "sh") && strstr(a[0].message, "10s later"),
	      "exec-then-egress: a shell then a new destination within 60 s is CRITICAL", "%d %s",
	      k, k ? a[0].message : "");
	release(a, k);
	n = net_ev("192.0.2.10", 443);
	k = deviation_event(dv, x, &n.hdr, &ct, im, "api.example.test", 2020, a, 4);
	CHECK_EQ_INT(k, 0, "exec-then-egress: a shell then learned egress raises nothing");
	release(a, k);
	n = net_ev("198.51.100.8", 9001);
	k = deviation_event(dv, x, &n.hdr, &ct, im, NULL, 2061, a, 4);
	CHECK(k == 1 && !strcmp(a[0].rule, "new-destination"),
	      "exec-then-egress: past the window a new destination is only new-destination",
	      "%d %s", k, k ? a[0].rule : "");
	release(a, k);
	/* An interpreter counts as well; a killed one does not. */
	e = exec_ev("/usr/bin/python3");
	e.flags = MOAT_EXEC_F_KILLED;
	k = deviation_event(dv, x, &e.hdr, &ct, im, NULL, 3000, a, 4);
	release(a, k);
	n = net_ev("198.51.100.9", 9001);
	k = deviation_event(dv, x, &n.hdr, &ct, im, NULL, 3001, a, 4);
	CHECK(k == 1 && !strcmp(a[0].rule, "new-destination"),
	      "exec-then-egress: an interpreter killed in the kernel starts no sequence", "%d %s",
	      k, k ? a[0].rule : "");
	release(a, k);
	e.flags = 0;
	k = deviation_event(dv, x, &e.hdr, &ct, im, NULL, 4000, a, 4);
	release(a, k);
	n = net_ev("198.51.100.10", 9001);
	k = deviation_event(dv, x, &n.hdr, &ct, im, NULL, 4059, a, 4);
	CHECK(k == 1 && !strcmp(a[0].rule, "exec-then-egress"),
	      "exec-then-egress: an interpreter (python3) then new egress within the window",
	      "%d %s", k, k ? a[0].rule : "");
	release(a, k);
}

/* Feed names to dns-tunnel from one container, one per second from t0; count alerts. */
static int feed(struct deviation *dv, const struct detect_ctx *x, char names[][256], int n,
		int64_t t0, int step)
{
	int alerts = 0;

	for (int i = 0; i < n; i++) {
		struct moat_dns_event q = dns_ev(MOAT_EV_DNS_QUERY, names[i]);
		struct alert a;

		if (deviation_dns_query(dv, x, &q, &ct, t0 + (int64_t)i * step, &a)) {
			alerts++;
			alert_release(&a);
		}
	}
	return alerts;
}

static void test_tunnel(const struct detect_ctx *x)
{
	static char names[60][256];
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	struct deviation *dv = deviation_new(&cfg.learn);
	uint64_t s = 88172645463325252ULL;
	char parent[128];
	size_t longest;
	double ent;

	/* iodine/dnscat-like: 40 random base32 characters per query. */
	for (int i = 0; i < 60; i++) {
		char lab[41];

		for (int k = 0; k < 40; k++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			lab[k] = b32[s % 32];
		}
		lab[40] = 0;
		snprintf(names[i], sizeof(names[i]), "%s.t.tunnel.test", lab);
	}
	CHECK(deviation_tunnel_measure(names[0], parent, sizeof(parent), &longest, &ent) == 0 &&
		  !strcmp(parent, "tunnel.test") && longest == 40 && ent > 4.0,
	      "a tunnel name: its parent, a 40-character label, entropy above 4 bits", "%s %zu %f",
	      parent, longest, ent);
	CHECK_EQ_INT(feed(dv, x, names, 19, 100, 1), 0, "dns-tunnel: 19 such names stay quiet");
	deviation_free(dv);
	dv = deviation_new(&cfg.learn);
	CHECK_EQ_INT(feed(dv, x, names, 60, 100, 1), 1,
		     "dns-tunnel: 20 or more unique names within 60 s raise one WARNING");
	deviation_free(dv);
	dv = deviation_new(&cfg.learn);
	CHECK_EQ_INT(feed(dv, x, names, 40, 100, 4), 0,
		     "dns-tunnel: the same names spread over minutes stay quiet");
	deviation_free(dv);

	/* A normal burst: a page's worth of short names under one parent. */
	dv = deviation_new(&cfg.learn);
	for (int i = 0; i < 60; i++)
		snprintf(names[i], sizeof(names[i]), "img%d.static.example.com", i);
	CHECK_EQ_INT(feed(dv, x, names, 60, 100, 0), 0,
		     "dns-tunnel: a burst of 60 short names under one parent stays quiet");
	/* CDN names: hashes, but short. */
	for (int i = 0; i < 60; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		snprintf(names[i], sizeof(names[i]), "d%013llx.cloudfront.net",
			 (unsigned long long)(s & 0xfffffffffffffULL));
	}
	CHECK_EQ_INT(feed(dv, x, names, 60, 200, 0), 0,
		     "dns-tunnel: 60 CloudFront-like names (d + 13 hex) stay quiet");
	/* Kubernetes-like names: long but readable. */
	for (int i = 0; i < 60; i++)
		snprintf(names[i], sizeof(names[i]),
			 "payments-api-%d.production-namespace.svc.cluster.local", i);
	CHECK_EQ_INT(feed(dv, x, names, 60, 300, 0), 0,
		     "dns-tunnel: 60 long readable service names stay quiet");
	deviation_free(dv);
}

int main(void)
{
	struct baseline *b = baseline_new(NULL);
	struct baseline_image *im = baseline_image(b, "app:1", 1);
	struct detect_ctx x;
	struct deviation *dv;

	config_defaults(&cfg);
	memset(&x, 0, sizeof(x));
	x.cfg = &cfg;
	dv = deviation_new(&cfg.learn);
	baseline_set_learning(im, 1, 100);
	baseline_note_container(b, im, "c0ffee", "sha256:1", 100);
	baseline_record(b, im, BL_EXEC, "/bin/sh", NULL, "runc", 100);
	baseline_record(b, im, BL_DOMAIN, "api.example.test", NULL, NULL, 100);
	baseline_record(b, im, BL_CONNECT, "api.example.test:443/tcp", NULL, NULL, 100);
	baseline_record(b, im, BL_DIRECT, "10.9.9.9:5432/tcp", NULL, NULL, 100);
	baseline_set_learning(im, 0, 100);
	test_new(dv, &x, im);
	test_sequence(dv, &x, im);
	test_tunnel(&x);
	deviation_free(dv);
	baseline_free(b);
	return TEST_EXIT();
}
