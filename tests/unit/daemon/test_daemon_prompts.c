/* test_daemon_prompts.c - interactive egress (src/daemon/prompts.c): the prompt table's
 * fair share, duplicates, once-decision slots and expiry, the choices, and a decision
 * written to the rules file of the asking container's rule set. No kernel: the pin
 * directory does not exist, so rule-set commits fail and are reported. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "access.h"
#include "daemon_int.h"
#include "moat/maps.h"
#include "rulesfile.h"

static struct moat_dns_event *held(const char *name, const char *comm, uint32_t pid)
{
	static struct moat_dns_event q;

	memset(&q, 0, sizeof(q));
	q.hdr.type = MOAT_EV_DNS_ANSWER;
	q.hdr.pid = pid;
	snprintf(q.hdr.comm, sizeof(q.hdr.comm), "%s", comm);
	q.flags = MOAT_DNS_F_VERIFIED | MOAT_DNS_F_HELD;
	snprintf(q.qname, sizeof(q.qname), "%s", name);
	q.n_addrs = 2;
	q.addrs[0].family = 2;
	memcpy(q.addrs[0].addr, "\x0a\x00\x00\x01", 4);
	q.addrs[1].family = 10;
	memcpy(q.addrs[1].addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	return &q;
}

static void test_table(void)
{
	struct prompt_table *t = calloc(1, sizeof(*t));
	struct prompt *p, *first;
	char name[64];
	int err, n;

	first = prompt_table_open(t, held("a.test", "curl", 42), "c1", "web", 1000, 60, &err);
	CHECK(first && err == 0 && first->id == 1 && !strcmp(first->domain, "a.test") &&
		  !strcmp(first->container_name, "web") && !strcmp(first->comm, "curl") &&
		  first->pid == 42 && first->expires_s == 1060,
	      "a held answer opens prompt 1 with who asked for what", "err %d", err);
	CHECK(first && first->n_addrs == 2 && !strcmp(first->addrs[0], "10.0.0.1") &&
		  !strcmp(first->addrs[1], "2001:db8::1"),
	      "the answer's addresses are kept as text", "%d addrs", first ? first->n_addrs : -1);
	p = prompt_table_open(t, held("a.test", "curl", 43), "c1", "web", 1001, 60, &err);
	CHECK(!p && err == -EEXIST && t->n_refused == 0,
	      "the same name again from the same container is the resolver retrying", "err %d",
	      err);
	p = prompt_table_open(t, held("a.test", "curl", 7), "c2", "db", 1001, 60, &err);
	CHECK(p && p->id == 2, "the same name from another container is its own prompt", "err %d",
	      err);
	/* Container c1 asks for many names: it fills its own share only. */
	for (n = 1; n < 20; n++) {
		snprintf(name, sizeof(name), "n%d.test", n);
		if (!prompt_table_open(t, held(name, "sh", 1), "c1", "web", 1002, 60, &err))
			break;
	}
	CHECK(n == PROMPTS_PER_CT && err == -EDQUOT && t->n_refused == 1,
	      "one container holds at most PROMPTS_PER_CT prompts", "stopped at %d, err %d", n,
	      err);
	p = prompt_table_open(t, held("b.test", "sh", 1), "c3", "other", 1002, 60, &err);
	CHECK(p != NULL, "another container still gets a prompt", "err %d", err);
	/* Many containers fill the table. */
	for (n = 0; n < PROMPTS_MAX; n++) {
		char ct[16];

		snprintf(ct, sizeof(ct), "x%d", n);
		if (!prompt_table_open(t, held("z.test", "sh", 1), ct, ct, 1003, 60, &err))
			break;
	}
	CHECK(err == -ENOSPC, "a full table refuses with -ENOSPC", "err %d after %d", err, n);
	CHECK(prompt_table_find(t, 1) == first && prompt_table_find(t, 0) == NULL &&
		  prompt_table_find(t, 100000) == NULL,
	      "prompts are found by id (0 is none)", "find");
	free(t);
}

static void test_choices_and_once(void)
{
	struct prompt_table *t = calloc(1, sizeof(*t));
	struct prompt *p;
	struct once_rule *o;
	json_object *j, *v;
	int allow = -1, err;

	CHECK(prompt_choice("allow-once", &allow) == PROMPT_ONCE && allow == 1 &&
		  prompt_choice("deny-domain", &allow) == PROMPT_DOMAIN && allow == 0 &&
		  prompt_choice("allow-ip", &allow) == PROMPT_IP && allow == 1,
	      "the six choices parse", "allow %d", allow);
	CHECK(prompt_choice("allow", &allow) == -EINVAL && prompt_choice("", &allow) == -EINVAL &&
		  prompt_choice(NULL, &allow) == -EINVAL,
	      "anything else is -EINVAL", "accepted");
	p = prompt_table_open(t, held("once.test", "curl", 1), "c1", "web", 1000, 30, &err);
	o = prompt_table_once(t, p, 1, 77, 1000);
	CHECK(o == &t->once[0] && !strcmp(o->domain, "once.test") && o->action == MOAT_ACT_ALLOW &&
		  o->set == 77 && o->kernel_id == MOAT_RULE_ONCE_BASE + p->id &&
		  o->until_s == 1000 + ONCE_RULE_S,
	      "a once-decision takes a free slot, in the asking container's rule set", "slot %ld",
	      (long)(o - t->once));
	for (int i = 1; i < PROMPTS_MAX; i++)
		prompt_table_once(t, p, 0, 0, 1000 + i);
	o = prompt_table_once(t, p, 0, 0, 2000);
	CHECK(o == &t->once[p->id % PROMPTS_MAX] && o->until_s == 2000 + ONCE_RULE_S,
	      "with every slot taken, the prompt id names the slot", "slot %ld",
	      (long)(o - t->once));
	CHECK_EQ_INT(prompt_table_expire_once(t, 1000 + ONCE_RULE_S + 9), 9,
		     "once-decisions expire at their time, not before");
	CHECK(t->once[p->id % PROMPTS_MAX].until_s != 0 && t->once[20].until_s != 0,
	      "the later ones stay", "gone");
	j = prompt_table_json(t, 1010);
	CHECK(json_object_array_length(j) == 1 &&
		  json_object_object_get_ex(json_object_array_get_idx(j, 0), "expires_in_s", &v) &&
		  json_object_get_int(v) == 20,
	      "the open prompts as JSON, with the seconds left", "%s",
	      json_object_to_json_string(j));
	json_object_put(j);
	free(t);
}

/* A decision through moat run's own path: the rules file of the container's rule set gets
 * the rule; the kernel is not there, so the commit fails and says so. */
static void test_decide(void)
{
	struct daemon *d = daemon_new();
	struct prompt *p;
	struct ruleset rs = {0};
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/tmp/moat-test-rules-%d.json", (int)getpid());
	snprintf(d->pin_dir, sizeof(d->pin_dir), "/nonexistent/moat-test");
	snprintf(d->cfg.egress_rules, sizeof(d->cfg.egress_rules), "%s", path);
	d->access = access_open("");
	p = prompt_table_open(&d->prompts, held("ask.test", "curl", 5), "", "", clock_unix_s(), 30,
			      &err);
	CHECK_EQ_INT(prompts_decide(d, p, "maybe", 0), -EINVAL,
		     "an unknown choice is refused and the prompt stays");
	CHECK(p->id != 0, "the prompt is still open", "freed");
	err = prompts_decide(d, p, "allow-domain", 0);
	CHECK(err < 0 && p->id == 0, "allow-domain: the prompt is decided (the commit fails here)",
	      "err %d, id %u", err, p->id);
	CHECK(rules_load(&rs, path) == 0 && rs.n == 1 && rs.rules[0].kind == RULE_ALLOW_DOMAIN &&
		  !strcmp(rs.rules[0].match, "ask.test"),
	      "allow-domain writes the rule to the rules file", "n %d", rs.n);
	rules_free(&rs);
	p = prompt_table_open(&d->prompts, held("ip.test", "curl", 5), "", "", clock_unix_s(), 0,
			      &err);
	prompts_tick(d);
	CHECK(p->id == 0 && d->prompts.once[0].until_s &&
		  d->prompts.once[0].action == MOAT_ACT_DENY &&
		  !strcmp(d->prompts.once[0].domain, "ip.test"),
	      "an undecided prompt times out as deny-once", "id %u", p->id);
	unlink(path);
	daemon_free(d);
}

int main(void)
{
	test_table();
	test_choices_and_once();
	test_decide();
	return TEST_EXIT();
}
