/* capture_gen.c - a large synthetic capture for `moat replay` and the capture writer's cost:
 * build/bench/capture_gen FILE [EVENTS]
 *
 * Writes EVENTS (default 10,000,000) events of a realistic mix from 50 containers through the
 * capture writer (capture.c) as `moat trace --record` does: 30 % connect, 15 % DNS query,
 * 15 % DNS answer (1-3 addresses), 15 % exec, 15 % exit, 10 % sendmsg (QUIC), with pids,
 * comms, names and addresses varied over realistic pools (each container resolves and connects
 * to 4 of 200 domains); 1 exec in 20,000 is a shell, 1 connect in 50 goes to one of 1,000
 * addresses no answer explained. Events are 10 µs
 * apart (100,000 events/s). Prints the writer's CPU ns per event (user+sys of this process
 * over the events, generation included and measured apart) and the bytes per event on disk.
 * Figures, not assertions (docs/performance.md, tools/bench/replay.sh). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "capture.h"
#include "clock.h"
#include "moat/events.h"

#define NCT 50

static uint64_t rng = 88172645463325252ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static union {
	struct moat_event_hdr hdr;
	struct moat_net_event net;
	struct moat_exec_event exec;
	struct moat_exit_event exit;
	struct moat_dns_event dns;
} ev;

static const char *progs[] = {"/bin/ls",  "/usr/sbin/nginx", "/usr/bin/git",  "/usr/bin/env",
			      "/bin/cat", "/usr/bin/find",   "/usr/bin/sort", "/usr/local/bin/app"};

static void addr_of(unsigned i, uint8_t a[16])
{
	memset(a, 0, 16);
	a[0] = 10;
	a[1] = (uint8_t)(i >> 16);
	a[2] = (uint8_t)(i >> 8);
	a[3] = (uint8_t)i;
}

/* Event number i into ev; returns its size. */
static size_t make(uint64_t i, unsigned *ct)
{
	unsigned r = rnd() % 100, c = rnd() % NCT, dom = (c * 4 + rnd() % 4) % 200;
	struct moat_event_hdr *h = &ev.hdr;
	size_t size;

	memset(&ev, 0, sizeof(ev));
	*ct = c;
	h->cpu = rnd() % 4;
	h->ts_ns = 1000000000ULL + i * 10000;
	h->cgroup_id = 5000 + c;
	h->pid = h->tid = 1000 + rnd() % 30000;
	snprintf(h->comm, sizeof(h->comm), "%s", r < 50 ? "app" : "worker");
	if (r < 30 || r >= 90) {
		h->type = r < 30 ? MOAT_EV_CONNECT : MOAT_EV_SENDMSG;
		ev.net.family = AF_INET;
		ev.net.protocol = r < 30 ? 6 : 17;
		ev.net.dport = 443; /* HTTPS, QUIC */
		/* Mostly the addresses the answers give (dom*5 + k), 1 in 50 elsewhere. */
		addr_of(rnd() % 50 ? dom * 5 : 100000 + rnd() % 1000, ev.net.daddr);
		size = sizeof(ev.net);
	} else if (r < 60) {
		int ans = r >= 45;

		h->type = ans ? MOAT_EV_DNS_ANSWER : MOAT_EV_DNS_QUERY;
		ev.dns.id = (uint16_t)rnd();
		ev.dns.qtype = 1;
		ev.dns.family = AF_INET;
		ev.dns.sport = ans ? 53 : 40000;
		ev.dns.dport = ans ? 40000 : 53;
		snprintf(ev.dns.qname, sizeof(ev.dns.qname), "api%u.service%u.example.com", dom,
			 dom % 7);
		if (ans) {
			ev.dns.flags = MOAT_DNS_F_VERIFIED;
			ev.dns.n_addrs = (uint8_t)(1 + rnd() % 3);
			ev.dns.ancount = ev.dns.n_addrs;
			for (int k = 0; k < ev.dns.n_addrs; k++) {
				ev.dns.addrs[k].family = AF_INET;
				ev.dns.addrs[k].ttl = 300;
				addr_of(dom * 5 + (unsigned)k, ev.dns.addrs[k].addr);
			}
		}
		size = MOAT_DNS_EVENT_SIZE(ev.dns.n_addrs, 0);
	} else if (r < 75) {
		const char *p = rnd() % 20000 ? progs[rnd() % 8] : "/bin/sh";
		const char *b = strrchr(p, '/') + 1;
		int n;

		h->type = MOAT_EV_EXEC;
		ev.exec.ppid = 1 + rnd() % 30000;
		snprintf(ev.exec.filename, sizeof(ev.exec.filename), "%s", p);
		snprintf(ev.exec.exe, sizeof(ev.exec.exe), "%s", b);
		n = snprintf(ev.exec.args, sizeof(ev.exec.args), "%s%c--port%c%u%c", b, 0, 0,
			     rnd() % 65536, 0);
		ev.exec.args_len = (uint32_t)n;
		ev.exec.argc = 3;
		size = sizeof(ev.exec);
	} else {
		h->type = MOAT_EV_EXIT;
		ev.exit.ppid = 1 + rnd() % 30000;
		ev.exit.start_ns = h->ts_ns - 1000000;
		size = sizeof(ev.exit);
	}
	h->size = (uint16_t)size;
	return size;
}

static int64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * CLOCK_NS_PER_SEC +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

int main(int argc, char **argv)
{
	static struct container_info cts[NCT];
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000ULL, raw = 0;
	struct capture_opts o = {.path = argc > 1 ? argv[1] : NULL,
				 .boot_to_unix_ns = 1764000000000000000LL};
	struct capture_writer *w;
	struct capture_stats st;
	struct stat sb;
	int64_t t0, t1, t2, mono;
	unsigned ct;

	if (!o.path) {
		fprintf(stderr, "usage: capture_gen FILE [EVENTS]\n");
		return 2;
	}
	for (int i = 0; i < NCT; i++) {
		snprintf(cts[i].id, sizeof(cts[i].id), "%064x", i + 1);
		snprintf(cts[i].name, sizeof(cts[i].name), "svc-%d", i);
		snprintf(cts[i].image, sizeof(cts[i].image), "registry.example.com/team/svc:%d", i);
		snprintf(cts[i].state, sizeof(cts[i].state), "running");
		cts[i].pid = 100 + i;
		cts[i].cgroup_id = 5000 + (uint64_t)i;
		cts[i].labels = json_object_new_object();
		cts[i].argv = container_argv_dup(NULL, 0);
	}
	/* Generation alone, to subtract it. */
	t0 = cpu_ns();
	for (uint64_t i = 0; i < n; i++)
		raw += make(i, &ct);
	t1 = cpu_ns();
	rng = 88172645463325252ULL;
	w = capture_writer_open(&o);
	if (!w)
		return 1;
	mono = clock_mono_ns();
	for (uint64_t i = 0; i < n; i++) {
		size_t len = make(i, &ct);

		if (capture_write_event(w, &ev, len, &cts[ct]))
			return 1;
		if (i % 100000 == 0) /* a second of events: the frame ends as in a live trace */
			capture_writer_tick(w, mono += CAPTURE_FRAME_NS);
	}
	capture_writer_stats(w, &st);
	if (capture_writer_close(w))
		return 1;
	t2 = cpu_ns();
	if (stat(o.path, &sb))
		return 1;
	printf("events            %llu (%llu container records)\n", (unsigned long long)n,
	       (unsigned long long)st.containers);
	printf("raw event bytes   %.1f per event\n", (double)raw / (double)n);
	printf("on disk           %.1f bytes per event (%.1f MB, ratio %.1f)\n",
	       (double)sb.st_size / (double)n, (double)sb.st_size / 1e6,
	       (double)raw / (double)sb.st_size);
	printf("writer CPU        %.0f ns per event (generation, %.0f ns, subtracted)\n",
	       (double)((t2 - t1) - (t1 - t0)) / (double)n, (double)(t1 - t0) / (double)n);
	return 0;
}
