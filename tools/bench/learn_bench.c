/* learn_bench.c - learn mode's detections on realistic traffic, no kernel needed
 * (docs/performance.md, "Learn mode"):
 *
 *   build/bench/learn_bench tunnel   dns-tunnel over name corpora: CDN hashes
 *                                    (d1234abcd.cloudfront.net, e1234.a.akamaiedge.net), cloud
 *                                    load balancers and buckets, Kubernetes service names, a
 *                                    browser-like burst, and real tunnel encodings (base32,
 *                                    hex, base64url); per corpus the longest-label length and
 *                                    entropy ranges and whether the default thresholds alert.
 *   build/bench/learn_bench fp [HOURS] [LEARN_MIN]
 *                                    false positives of new-exec/new-domain/new-destination/
 *                                    exec-then-egress over a long benign run: a simulated
 *                                    service (a fixed repertoire of executables, names and
 *                                    destinations used with a heavy-tailed frequency, cron-like
 *                                    hourly and daily jobs) learns for LEARN_MIN minutes, then
 *                                    runs HOURS hours in monitor mode; alerts per hour and
 *                                    per 1000 events, by rule, and the cost per event.
 *
 * Numbers print to stdout; nothing is asserted (tests/unit/detect/test_deviation.c asserts). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baseline.h"
#include "config.h"
#include "deviation.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const struct container_info ct = {
    .id = "bench", .name = "bench", .image = "svc:1", .cgroup_id = 99};

static void rand_str(char *out, int n, const char *alphabet)
{
	size_t k = strlen(alphabet);

	for (int i = 0; i < n; i++)
		out[i] = alphabet[rnd() % k];
	out[n] = 0;
}

/* One corpus: make(i, buf) writes its i-th name. */
struct corpus {
	const char *what;
	void (*make)(int i, char *buf, size_t len);
	int per_min; /* unique names one container plausibly looks up in a minute */
};

static void cloudfront(int i, char *b, size_t l)
{
	char h[16];

	rand_str(h, 13, "0123456789abcdefghijklmnopqrstuvwxyz");
	snprintf(b, l, "d%s.cloudfront.net", h);
}

static void akamai(int i, char *b, size_t l)
{
	snprintf(b, l, "e%u.%c.akamaiedge.net", (unsigned)(rnd() % 99999), "abcdefg"[rnd() % 7]);
}

static void elb(int i, char *b, size_t l)
{
	char h[20];

	rand_str(h, 16, "0123456789abcdef");
	snprintf(b, l, "internal-svc-%d-%s.eu-west-1.elb.amazonaws.com", i % 40, h);
}

static void s3(int i, char *b, size_t l)
{
	snprintf(b, l, "acme-prod-artifacts-%d.s3.eu-west-1.amazonaws.com", i);
}

static void k8s(int i, char *b, size_t l)
{
	snprintf(b, l, "payments-worker-%d.payments-production.svc.cluster.local", i);
}

static void browser(int i, char *b, size_t l)
{
	static const char *const sub[] = {"www",   "static", "img",   "api",   "cdn",
					  "fonts", "ads",    "track", "login", "m"};

	snprintf(b, l, "%s%d.example.com", sub[i % 10], i / 10);
}

static void gcs_hash(int i, char *b, size_t l)
{
	char h[40];

	/* Content-addressed hosts: 32 hex, the worst benign case. */
	rand_str(h, 32, "0123456789abcdef");
	snprintf(b, l, "%s.gcs-cache.example.net", h);
}

static void t_base32(int i, char *b, size_t l)
{
	char h[64], g[64];

	rand_str(h, 52, "abcdefghijklmnopqrstuvwxyz234567");
	rand_str(g, 20, "abcdefghijklmnopqrstuvwxyz234567");
	snprintf(b, l, "%s.%s.t.tunnel.test", h, g);
}

static void t_hex(int i, char *b, size_t l)
{
	char h[64];

	rand_str(h, 60, "0123456789abcdef");
	snprintf(b, l, "%04x.%s.x.tunnel.test", i, h);
}

static void t_b64(int i, char *b, size_t l)
{
	char h[64];

	rand_str(h, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	snprintf(b, l, "%s.d.tunnel.test", h);
}

static int bench_tunnel(void)
{
	static const struct corpus cs[] = {
	    {"CloudFront (d + 13 chars)", cloudfront, 200},
	    {"Akamai edge (e12345.a)", akamai, 200},
	    {"AWS ELB (name + 16 hex)", elb, 10},
	    {"S3 buckets", s3, 50},
	    {"Kubernetes services", k8s, 100},
	    {"browser burst (short)", browser, 200},
	    {"content hashes (32 hex)", gcs_hash, 200},
	    {"TUNNEL base32 (iodine-like)", t_base32, 200},
	    {"TUNNEL hex (dnscat2-like)", t_hex, 200},
	    {"TUNNEL base64url", t_b64, 200},
	};
	struct config cfg;
	struct detect_ctx x = {0};

	config_defaults(&cfg);
	x.cfg = &cfg;
	printf("dns-tunnel defaults: %u unique names in %u s, longest label >= %u chars, entropy "
	       ">= %.2f bits/char\n",
	       cfg.learn.tunnel_labels, cfg.learn.tunnel_window_s, cfg.learn.tunnel_min_len,
	       cfg.learn.tunnel_entropy_x100 / 100.0);
	printf("%-30s %7s %7s %13s %11s %8s %7s\n", "corpus", "len min", "len max", "entropy range",
	       "qualifying", "per min", "alerts");
	for (size_t c = 0; c < sizeof(cs) / sizeof(cs[0]); c++) {
		struct deviation *dv = deviation_new(&cfg.learn);
		size_t lmin = 999, lmax = 0, longest;
		double emin = 99, emax = 0, ent;
		int qual = 0, alerts = 0;
		char name[256], parent[128];

		for (int i = 0; i < cs[c].per_min; i++) {
			struct moat_dns_event q;
			struct alert a;

			cs[c].make(i, name, sizeof(name));
			if (deviation_tunnel_measure(name, parent, sizeof(parent), &longest, &ent))
				continue;
			lmin = longest < lmin ? longest : lmin;
			lmax = longest > lmax ? longest : lmax;
			emin = ent < emin ? ent : emin;
			emax = ent > emax ? ent : emax;
			qual += longest >= cfg.learn.tunnel_min_len &&
				ent * 100 >= cfg.learn.tunnel_entropy_x100;
			memset(&q, 0, sizeof(q));
			q.hdr.type = MOAT_EV_DNS_QUERY;
			q.hdr.cgroup_id = ct.cgroup_id;
			snprintf(q.qname, sizeof(q.qname), "%s", name);
			if (deviation_dns_query(dv, &x, &q, &ct, 1000 + i * 59 / cs[c].per_min,
						&a)) {
				alerts++;
				alert_release(&a);
			}
		}
		printf("%-30s %7zu %7zu %6.2f-%5.2f %5d/%-5d %8d %7d\n", cs[c].what, lmin, lmax,
		       emin, emax, qual, cs[c].per_min, cs[c].per_min, alerts);
		deviation_free(dv);
	}
	return 0;
}

/* ---- false positives over a long benign run ---- */

#define N_EXEC 12
#define N_NAME 40
#define N_DEST 8

static int zipf(int n)
{
	/* P(k) ~ 1/(k+1): a few items are most of the traffic, the tail is rare. */
	double h = 0, r, acc = 0;

	for (int k = 0; k < n; k++)
		h += 1.0 / (k + 1);
	r = (double)(rnd() % 1000000) / 1000000.0 * h;
	for (int k = 0; k < n; k++) {
		acc += 1.0 / (k + 1);
		if (r <= acc)
			return k;
	}
	return n - 1;
}

static int bench_fp(double hours, double learn_min)
{
	struct config cfg;
	struct baseline *b = baseline_new(NULL);
	struct baseline_image *im = baseline_image(b, ct.image, 1);
	struct deviation *dv;
	struct detect_ctx x = {0};
	int64_t t0 = 1700000000, t, end;
	uint64_t events = 0, by_rule[5] = {0};
	static const char *const rules[5] = {"new-exec", "new-domain", "new-destination",
					     "exec-then-egress", "dns-tunnel"};
	static const char *const execs[N_EXEC] = {
	    "/usr/local/bin/app",    "/bin/sh",		 "/usr/bin/python3",   "/usr/bin/curl",
	    "/usr/bin/env",	     "/bin/date",	 "/usr/bin/gzip",      "/usr/bin/find",
	    "/usr/local/bin/backup", "/usr/bin/pg_dump", "/usr/bin/logrotate", "/usr/bin/du"};
	struct timespec a0, a1;
	int learning = 1;

	config_defaults(&cfg);
	x.cfg = &cfg;
	dv = deviation_new(&cfg.learn);
	baseline_set_learning(im, 1, t0);
	baseline_note_container(b, im, ct.id, "sha256:bench", t0);
	end = t0 + (int64_t)(learn_min * 60) + (int64_t)(hours * 3600);
	clock_gettime(CLOCK_MONOTONIC, &a0);
	/* One request per second; each runs app, looks up a name, connects; hourly and daily
	 * jobs add their executables and destinations. */
	for (t = t0; t < end; t++) {
		char key[BASELINE_MAX_KEY], name[128];
		int k = 0, nx = 0;
		const char *ex[4];
		struct alert al[4];

		if (learning && t >= t0 + (int64_t)(learn_min * 60)) {
			baseline_set_learning(im, 0, t);
			learning = 0;
		}
		ex[nx++] = execs[0];
		if (t % 3600 == 0) { /* hourly: a shell script that compresses logs */
			ex[nx++] = execs[1];
			ex[nx++] = execs[6 + zipf(3)];
		}
		if (t % 86400 == 43200) /* daily: the backup job */
			ex[nx++] = execs[8 + zipf(4)];
		if (rnd() % 600 == 0) /* now and then a health probe via curl */
			ex[nx++] = execs[3];
		snprintf(name, sizeof(name), "svc%d.internal.example", zipf(N_NAME));
		for (int i = 0; i < nx; i++) {
			struct moat_exec_event e;

			memset(&e, 0, sizeof(e));
			e.hdr.type = MOAT_EV_EXEC;
			e.hdr.cgroup_id = ct.cgroup_id;
			snprintf(e.filename, sizeof(e.filename), "%s", ex[i]);
			snprintf(e.exe, sizeof(e.exe), "%s", strrchr(ex[i], '/') + 1);
			events++;
			if (learning)
				baseline_record(b, im, BL_EXEC, ex[i], NULL, "app", t);
			else
				k += deviation_event(dv, &x, &e.hdr, &ct, im, NULL, t, al + k,
						     4 - k);
		}
		{
			struct moat_dns_event q;
			struct moat_net_event n;
			int port = 443 + zipf(N_DEST) * 1000;

			memset(&q, 0, sizeof(q));
			q.hdr.type = MOAT_EV_DNS_ANSWER;
			q.hdr.cgroup_id = ct.cgroup_id;
			q.n_addrs = 1;
			snprintf(q.qname, sizeof(q.qname), "%s", name);
			memset(&n, 0, sizeof(n));
			n.hdr.type = MOAT_EV_CONNECT;
			n.hdr.cgroup_id = ct.cgroup_id;
			n.family = 2;
			n.protocol = 6;
			n.dport = (uint16_t)port;
			events += 2;
			if (learning) {
				baseline_record(b, im, BL_DOMAIN, name, NULL, NULL, t);
				deviation_net_key(&n, name, key, sizeof(key));
				baseline_record(b, im, BL_CONNECT, key, NULL, NULL, t);
			} else {
				if (k < 4)
					k += deviation_event(dv, &x, &q.hdr, &ct, im, NULL, t,
							     al + k, 4 - k);
				if (k < 4)
					k += deviation_event(dv, &x, &n.hdr, &ct, im, name, t,
							     al + k, 4 - k);
			}
		}
		for (int i = 0; i < k; i++) {
			for (int r = 0; r < 5; r++)
				by_rule[r] += !strcmp(al[i].rule, rules[r]);
			alert_release(&al[i]);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &a1);
	{
		struct baseline_info i;
		uint64_t total = 0;
		double ns =
		    (double)(a1.tv_sec - a0.tv_sec) * 1e9 + (double)(a1.tv_nsec - a0.tv_nsec);

		baseline_info(im, &i);
		printf(
		    "benign run: learned %.0f min (%u items), then %.1f h monitored, %llu events; "
		    "no dedup (every alert counted)\n",
		    learn_min, i.n_items, hours, (unsigned long long)events);
		for (int r = 0; r < 5; r++) {
			printf("  %-17s %8llu alerts  %8.3f per hour\n", rules[r],
			       (unsigned long long)by_rule[r], (double)by_rule[r] / hours);
			total += by_rule[r];
		}
		printf("  %-17s %8llu alerts  %8.3f per hour  %.4f per 1000 events\n", "all",
		       (unsigned long long)total, (double)total / hours,
		       1000.0 * (double)total / (double)events);
		printf("  cost: %.0f ns per event (record or detect)\n", ns / (double)events);
	}
	deviation_free(dv);
	baseline_free(b);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "tunnel"))
		return bench_tunnel();
	if (argc >= 2 && !strcmp(argv[1], "fp"))
		return bench_fp(argc > 2 ? atof(argv[2]) : 168, argc > 3 ? atof(argv[3]) : 30);
	fprintf(stderr, "usage: learn_bench tunnel | fp [HOURS] [LEARN_MIN]\n");
	return 2;
}
