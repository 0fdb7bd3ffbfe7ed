/* fleet.c - one simulated host of the fleet benchmark (tools/bench/fleet.sh): a realistic mix
 * of kernel events and alerts from a few containers, handed to the real exporter
 * (src/act/export.c) at a given rate, as `moat run`'s event loop hands them; at the end it
 * waits until ClickHouse has everything and prints one JSON line: the host, events handed,
 * rows sent, rows dropped, the exporter threads' CPU time and the wall time.
 *
 *   build/bench/fleet URL HOST_ID EVENTS RATE SPOOL_DIR
 *
 * The mix per 100 events (a web/worker fleet): 30 DNS answers, 15 DNS queries, 25 connects
 * (1 in 20 denied), 10 sends, 8 execs (shells among them), 8 exits, 2 socket events, 2
 * packets, and one alert per 500 events; the exporter's default types keep exec, connect,
 * dns_answer, socket, packet. No figure is asserted here: the script prints them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "clock.h"
#include "event.h"
#include "export.h"
#include "log.h"

static const char *const images[] = {"nginx:1.25",	   "redis:7",	     "postgres:16",
				     "python:3.12-slim",   "node:20-alpine", "busybox:1.36",
				     "grafana/grafana:10", "api:2024.11"};
static const char *const domains[] = {"api.example.com",  "db.internal",     "cdn.example.net",
				      "evil.example",	  "pypi.org",	     "registry.npmjs.org",
				      "metrics.internal", "auth.example.com"};
static const char *const programs[] = {"/usr/bin/python3", "/bin/sh",	   "/usr/local/bin/node",
				       "/usr/bin/curl",	   "/bin/bash",	   "/usr/sbin/nginx",
				       "/usr/bin/apt-get", "/usr/bin/wget"};

static uint64_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)rnd_state;
}

static void hdr(struct moat_event_hdr *h, unsigned type, size_t size, uint32_t pid)
{
	h->type = (uint16_t)type;
	h->size = (uint16_t)size;
	h->ts_ns = (uint64_t)clock_boot_ns();
	h->cgroup_id = 1000 + pid % 8;
	h->pid = h->tid = pid;
	snprintf(h->comm, sizeof(h->comm), "%s", pid % 3 ? "python3" : "curl");
}

/* Export the next event of capture *rd (reopened at its end) as host's: its container
 * renamed "HOST/NAME" so that the hosts' containers stay apart, the capture's own clock. */
static int replay_one(struct exporter *x, struct capture_reader **rd, const char *path,
		      const char *host)
{
	static struct container_info c;
	struct capture_record rec;

	for (int tries = 0; tries < 2; tries++) {
		int n;

		while ((n = capture_next(*rd, &rec)) == 1) {
			const struct moat_event_hdr *h;

			if (rec.kind != CAPTURE_REC_EVENT || !(h = event_decode(rec.data, rec.len)))
				continue;
			if (rec.container) {
				c = *rec.container;
				/* "HOST/NAME", cut to fit */
				if (snprintf(c.name, sizeof(c.name), "%.40s/%.80s", host,
					     rec.container->name) < 0)
					c.name[0] = 0;
			}
			export_event(x, h, rec.len, rec.container ? &c : NULL, NULL,
				     capture_get_header(*rd)->boot_to_unix_ns);
			return 0;
		}
		if (n < 0)
			return -1;
		capture_close(*rd);
		if (!(*rd = capture_open(path)))
			return -1;
	}
	fprintf(stderr, "fleet: %s holds no event\n", path);
	return -1;
}

int main(int argc, char **argv)
{
	struct capture_reader *rd = NULL;
	static union {
		struct moat_exec_event exec;
		struct moat_net_event net;
		struct moat_dns_event dns;
		struct moat_exit_event exit;
		struct moat_socket_event sock;
		struct moat_packet_event pkt;
	} ev;
	struct container_info *ct = calloc(8, sizeof(*ct));
	struct export_config c;
	struct exporter *x;
	long long events, rate;
	int64_t t0, off = clock_boot_to_unix_offset();
	json_object *st;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: fleet URL HOST_ID EVENTS RATE SPOOL_DIR [CAPTURE]\n");
		return 2;
	}
	log_level = LOG_WARN;
	events = strtoll(argv[3], NULL, 10);
	rate = strtoll(argv[4], NULL, 10);
	export_config_defaults(&c);
	snprintf(c.url, sizeof(c.url), "%s", argv[1]);
	snprintf(c.host_id, sizeof(c.host_id), "%s", argv[2]);
	snprintf(c.spool_dir, sizeof(c.spool_dir), "%s", argv[5]);
	c.queue_kib = 2048;
	rnd_state = 0x9e3779b97f4a7c15ull ^ (uint64_t)strlen(argv[2]) * 7919 ^
		    (uint64_t)strtoull(argv[2] + strcspn(argv[2], "0123456789"), NULL, 10);
	for (int i = 0; i < 8; i++) {
		snprintf(ct[i].id, sizeof(ct[i].id), "%016x%016x%016x%016x", rnd(), rnd(), rnd(),
			 rnd());
		snprintf(ct[i].name, sizeof(ct[i].name), "%s-%d", argv[2], i);
		snprintf(ct[i].image, sizeof(ct[i].image), "%s", images[rnd() % 8]);
	}
	x = export_open(&c, argv[5]);
	if (!x)
		return 1;
	if (argc == 7 && !(rd = capture_open(argv[6])))
		return 1;
	t0 = clock_mono_ns();
	for (long long i = 0; i < events; i++) {
		uint32_t r = rnd() % 100, pid = 100 + rnd() % 4000;
		const struct container_info *cc = &ct[pid % 8];
		const char *dom = domains[rnd() % 8];

		memset(&ev, 0, sizeof(ev));
		if (rd) { /* a real capture, replayed in a loop as this host's */
			if (replay_one(x, &rd, argv[6], argv[2]))
				return 1;
		} else if (r < 45) { /* DNS: answers and queries */
			unsigned t = r < 30 ? MOAT_EV_DNS_ANSWER : MOAT_EV_DNS_QUERY;

			hdr(&ev.dns.hdr, t, sizeof(ev.dns), pid);
			snprintf(ev.dns.qname, sizeof(ev.dns.qname), "%s", dom);
			ev.dns.qtype = 1;
			ev.dns.family = 2;
			ev.dns.dport = 53;
			if (t == MOAT_EV_DNS_ANSWER) {
				ev.dns.n_addrs = 2;
				for (int a = 0; a < 2; a++) {
					ev.dns.addrs[a].family = 2;
					ev.dns.addrs[a].addr[0] = 10;
					ev.dns.addrs[a].addr[3] = (uint8_t)rnd();
					ev.dns.addrs[a].ttl = 300;
				}
			}
			export_event(x, &ev.dns.hdr, sizeof(ev.dns), cc, NULL, off);
		} else if (r < 80) { /* connects and sends */
			unsigned t = r < 70 ? MOAT_EV_CONNECT : MOAT_EV_SENDMSG;

			hdr(&ev.net.hdr, t, sizeof(ev.net), pid);
			ev.net.family = 2;
			ev.net.protocol = t == MOAT_EV_CONNECT ? 6 : 17;
			ev.net.dport = t == MOAT_EV_CONNECT ? 443 : 53;
			ev.net.verdict = rnd() % 20 == 0;
			ev.net.daddr[0] = 10;
			ev.net.daddr[3] = (uint8_t)rnd();
			export_event(x, &ev.net.hdr, sizeof(ev.net), cc, rnd() % 10 ? dom : NULL,
				     off);
		} else if (r < 88) { /* execs */
			const char *p = programs[rnd() % 8];
			size_t n;

			hdr(&ev.exec.hdr, MOAT_EV_EXEC, sizeof(ev.exec), pid);
			ev.exec.ppid = 1;
			snprintf(ev.exec.filename, sizeof(ev.exec.filename), "%s", p);
			n = (size_t)snprintf(ev.exec.args, sizeof(ev.exec.args), "%s", p) + 1;
			n += (size_t)snprintf(ev.exec.args + n, sizeof(ev.exec.args) - n,
					      "--job=%u", rnd() % 1000) +
			     1;
			ev.exec.args_len = (uint32_t)n;
			ev.exec.argc = 2;
			export_event(x, &ev.exec.hdr, sizeof(ev.exec), cc, NULL, off);
		} else if (r < 96) {
			hdr(&ev.exit.hdr, MOAT_EV_EXIT, sizeof(ev.exit), pid);
			export_event(x, &ev.exit.hdr, sizeof(ev.exit), cc, NULL, off);
		} else if (r < 98) {
			hdr(&ev.sock.hdr, MOAT_EV_SOCKET, sizeof(ev.sock), pid);
			ev.sock.family = 17;
			ev.sock.type = 3;
			export_event(x, &ev.sock.hdr, sizeof(ev.sock), cc, NULL, off);
		} else {
			hdr(&ev.pkt.hdr, MOAT_EV_PACKET, sizeof(ev.pkt), 0);
			ev.pkt.family = 2;
			ev.pkt.protocol = 17;
			export_event(x, &ev.pkt.hdr, sizeof(ev.pkt), cc, NULL, off);
		}
		if (i % 500 == 0) {
			struct alert a;

			alert_start(&a, clock_unix_ns(), ALERT_CRITICAL, "suspicious-exec",
				    "process", cc->id, cc->name, cc->image);
			snprintf(a.message, sizeof(a.message),
				 "Suspicious process detected: /bin/sh");
			export_alert(x, &a);
			alert_release(&a);
		}
		if (rate > 0 && i % 100 == 99) { /* pace: where the clock says we should be */
			int64_t due = t0 + (i + 1) * CLOCK_NS_PER_SEC / rate, now = clock_mono_ns();

			if (due > now) {
				struct timespec ts = {(due - now) / CLOCK_NS_PER_SEC,
						      (due - now) % CLOCK_NS_PER_SEC};

				nanosleep(&ts, NULL);
			}
		}
	}
	if (export_flush(x, 600000))
		fprintf(stderr, "fleet %s: not everything delivered in 10 minutes\n", argv[2]);
	st = export_status(x);
	json_object_object_add(st, "wall_s",
			       json_object_new_double((double)(clock_mono_ns() - t0) / 1e9));
	json_object_object_add(st, "events", json_object_new_int64(events));
	json_object_object_del(st, "dropped_queue");
	json_object_object_del(st, "dropped_spool");
	printf("%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
	json_object_put(st);
	export_close(x);
	capture_close(rd);
	free(ct);
	return 0;
}
