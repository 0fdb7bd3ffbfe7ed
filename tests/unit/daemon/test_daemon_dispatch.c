/* test_daemon_dispatch.c - ring buffer records through moat run's dispatcher
 * (src/daemon/dispatch.c) with the real decoder, DNS verdicts (dnsmatch), registry, prompt
 * table and alert log: only answers the kernel verified reach the registry, a held one
 * becomes a prompt, the others are counted; no kernel, no Docker (events of the host). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "access.h"
#include "alertlog.h"
#include "output.h"
#include "ctlcmds.h"
#include "daemon_int.h"
#include "dispatch.h"
#include "format.h"
#include "registry.h"

static struct moat_dns_event *dns(int type, const char *name, const char *addr, uint16_t flags)
{
	static struct moat_dns_event q;

	memset(&q, 0, sizeof(q));
	q.hdr.type = (uint16_t)type;
	q.hdr.ts_ns = 1000;
	q.hdr.pid = 77;
	snprintf(q.hdr.comm, sizeof(q.hdr.comm), "curl");
	q.id = 0x4242;
	q.qtype = 1;
	q.flags = flags;
	q.family = AF_INET;
	snprintf(q.qname, sizeof(q.qname), "%s", name);
	if (addr) {
		q.n_addrs = 1;
		q.ancount = 1;
		q.addrs[0].family = AF_INET;
		q.addrs[0].ttl = 300;
		inet_pton(AF_INET, addr, q.addrs[0].addr);
	}
	q.hdr.size = MOAT_DNS_EVENT_SIZE(q.n_addrs, 0);
	return &q;
}

static int feed(struct daemon *d, struct moat_dns_event *q)
{
	return dispatch_kernel_event(d, q, q->hdr.size);
}

static const char *explains(struct daemon *d, const char *addr)
{
	uint8_t a[16] = {0};

	inet_pton(AF_INET, addr, a);
	return registry_explains(d->registry, "", AF_INET, a, clock_unix_s());
}

static int file_has(const char *path, const char *what)
{
	char line[8192];
	FILE *f = fopen(path, "re");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return found;
}

int main(void)
{
	struct daemon *d = daemon_new();
	char alerts[64], junk[8] = {0};
	json_object *st, *v;
	const char *name;

	snprintf(alerts, sizeof(alerts), "/tmp/moat-test-dispatch-%d.jsonl", (int)getpid());
	snprintf(d->pin_dir, sizeof(d->pin_dir), "/nonexistent/moat-test");
	d->outputs =
	    outputs_open(NULL, &(struct outputs_env){.alerts_file = alerts, .terminal_fd = -1});
	d->access = access_open("");
	d->registry = registry_new(0, 0);
	d->dedup = dedup_new(60);
	d->lossy = lossy_new(60);
	d->dx.registry = d->registry;
	d->dx.dedup = d->dedup;
	d->dx.lossy = d->lossy;
	d->dx.offset_ns = clock_boot_to_unix_offset();

	feed(d, dns(MOAT_EV_DNS_QUERY, "example.com", NULL, 0));
	CHECK(d->n_events == 1 && registry_count(d->registry) == 0,
	      "a query is counted as an event and recorded nowhere", "%zu names",
	      registry_count(d->registry));
	feed(d, dns(MOAT_EV_DNS_ANSWER, "example.com", "93.184.216.34", MOAT_DNS_F_VERIFIED));
	name = explains(d, "93.184.216.34");
	CHECK(registry_count(d->registry) == 1 && name && !strcmp(name, "example.com") &&
		  d->registry_dirty,
	      "a verified answer is recorded: its address is explained", "%s",
	      name ? name : "(none)");
	feed(d, dns(MOAT_EV_DNS_ANSWER, "evil.test", "198.51.100.7", 0));
	CHECK(!explains(d, "198.51.100.7") && d->dns.unsolicited == 1,
	      "an answer that matched no query explains nothing, and is counted", "%llu",
	      (unsigned long long)d->dns.unsolicited);
	feed(d, dns(MOAT_EV_DNS_ANSWER, "forged.test", "198.51.100.8",
		    MOAT_DNS_F_UNTRUSTED | MOAT_DNS_F_VERIFIED));
	CHECK(!explains(d, "198.51.100.8") && d->dns.untrusted == 1,
	      "an untrusted answer explains nothing, even flagged verified, and is counted", "%llu",
	      (unsigned long long)d->dns.untrusted);
	feed(d, dns(MOAT_EV_DNS_ANSWER, "held.test", "198.51.100.9", MOAT_DNS_F_HELD));
	CHECK(d->prompts.next_id == 0 && !explains(d, "198.51.100.9"),
	      "a held answer the kernel did not verify opens no prompt", "prompt %u",
	      d->prompts.next_id);
	feed(d, dns(MOAT_EV_DNS_ANSWER, "ask.test", "198.51.100.10",
		    MOAT_DNS_F_HELD | MOAT_DNS_F_VERIFIED));
	CHECK(d->prompts.p[0].id == 1 && !strcmp(d->prompts.p[0].domain, "ask.test") &&
		  !explains(d, "198.51.100.10"),
	      "a verified held answer opens a prompt and is not recorded yet", "prompt %u",
	      d->prompts.p[0].id);
	CHECK(file_has(alerts, "\"egress-prompt\"") && file_has(alerts, "ask.test"),
	      "and the prompt is alerted", "no egress-prompt alert in %s", alerts);
	{
		/* An OOM kill from the kernel: CRITICAL oom-kill naming the process, at once. */
		struct moat_oom_event o = {.hdr = {.type = MOAT_EV_OOM,
						   .size = sizeof(o),
						   .pid = 4242,
						   .cgroup_id = 987654,
						   .ts_ns = 1000}};

		snprintf(o.hdr.comm, sizeof(o.hdr.comm), "python3");
		o.anon_rss_kb = 300 * 1024;
		dispatch_kernel_event(d, &o, sizeof(o));
		CHECK(file_has(alerts, "\"oom-kill\"") &&
			  file_has(alerts, "OOM killer killed process 4242 (python3) in container "
					   "cgroup 987654: 300 MiB resident") &&
			  d->n_alerts[2] == 1,
		      "an OOM event raises CRITICAL oom-kill naming the process", "CRITICAL %llu",
		      (unsigned long long)d->n_alerts[2]);
	}
	dispatch_kernel_event(d, junk, sizeof(junk));
	CHECK(d->n_bad_events == 1 && d->n_events == 7, "a record that is no event is counted",
	      "bad %llu, events %llu", (unsigned long long)d->n_bad_events,
	      (unsigned long long)d->n_events);
	st = ctlcmds_status(d);
	CHECK(json_object_object_get_ex(st, "unsolicited_dns_answers", &v) &&
		  json_object_get_int(v) == 2 &&
		  json_object_object_get_ex(st, "untrusted_dns_answers", &v) &&
		  json_object_get_int(v) == 1 &&
		  json_object_object_get_ex(st, "registry_names", &v) &&
		  json_object_get_int(v) == 1,
	      "status shows the answers that did not count and the names recorded", "%s",
	      json_object_to_json_string(st));
	json_object_put(st);
	unlink(alerts);
	daemon_free(d);
	return TEST_EXIT();
}
