/* test_format.c - events as JSON (docs/events.md) and text (src/decode/format.c), and the
 * reused JSON object of moat trace --json against fresh ones. No kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "test.h"
#include "jsonw_oracle.h"
#include "event.h"
#include "format.h"
#include "moat/maps.h"

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "(missing)";
	return json_object_get_string(v);
}

static void test_json_connect(void)
{
	struct moat_net_event e = {0};
	struct container_info c = {.id = "abcdef0123", .name = "web", .image = "busybox"};
	json_object *o, *co;

	e.hdr.type = MOAT_EV_CONNECT;
	e.hdr.size = sizeof(e);
	e.hdr.pid = 42;
	e.hdr.cgroup_id = 777;
	memcpy(e.hdr.comm, "wget", 5);
	e.family = AF_INET;
	e.protocol = 6;
	e.dport = 8080;
	e.verdict = MOAT_VERDICT_DENY;
	e.scope = MOAT_SCOPE_GLOBAL;
	e.mode = MOAT_MODE_ENFORCE;
	e.rule_id = 7;
	inet_pton(AF_INET, "172.29.0.1", e.daddr);
	o = format_event_json(&e.hdr, &c, 0);
	CHECK_EQ_STR(jstr(o, "type"), "connect", "json connect: type");
	CHECK_EQ_STR(jstr(o, "daddr"), "172.29.0.1", "json connect: daddr");
	CHECK_EQ_STR(jstr(o, "dport"), "8080", "json connect: dport");
	CHECK_EQ_STR(jstr(o, "protocol"), "tcp", "json connect: protocol");
	CHECK_EQ_STR(jstr(o, "verdict"), "deny", "json connect: verdict");
	CHECK_EQ_STR(jstr(o, "scope"), "global", "json connect: scope");
	CHECK_EQ_STR(jstr(o, "mode"), "enforce", "json connect: mode");
	CHECK_EQ_STR(jstr(o, "comm"), "wget", "json connect: comm");
	CHECK_EQ_STR(jstr(o, "pid"), "42", "json connect: pid");
	CHECK_EQ_STR(jstr(o, "cgroup_id"), "777", "json connect: cgroup_id");
	json_object_object_get_ex(o, "container", &co);
	CHECK(co && !strcmp(jstr(co, "name"), "web") && !strcmp(jstr(co, "image"), "busybox"),
	      "json connect: container name and image", "%s", json_object_to_json_string(co));
	json_object_put(o);

	o = format_event_json(&e.hdr, NULL, 0);
	CHECK(json_object_object_get_ex(o, "container", &co) && co == NULL,
	      "json: unknown container is null", "%s", json_object_to_json_string(o));
	json_object_put(o);
}

static void test_json_exec(void)
{
	struct moat_exec_event e = {0};
	json_object *o, *argv;
	static const char args[] = "sh\0-c\0echo hi";

	e.hdr.type = MOAT_EV_EXEC;
	e.hdr.size = sizeof(e);
	memcpy(e.filename, "/tmp/x.sh", 10);
	memcpy(e.interp, "/bin/sh", 8);
	memcpy(e.args, args, sizeof(args));
	e.args_len = sizeof(args);
	e.argc = 3;
	o = format_event_json(&e.hdr, NULL, 0);
	CHECK_EQ_STR(jstr(o, "filename"), "/tmp/x.sh", "json exec: filename");
	CHECK_EQ_STR(jstr(o, "interp"), "/bin/sh", "json exec: interp");
	json_object_object_get_ex(o, "argv", &argv);
	CHECK(argv && json_object_array_length(argv) == 3 &&
		  !strcmp(json_object_get_string(json_object_array_get_idx(argv, 2)), "echo hi"),
	      "json exec: argv split on NUL", "%s", json_object_to_json_string(argv));
	json_object_put(o);

	/* An argv filling the whole buffer with no final NUL stays bounded. */
	memset(e.args, 'a', sizeof(e.args));
	e.args_len = MOAT_ARGS_LEN;
	e.flags = MOAT_EXEC_F_ARGS_TRUNC;
	o = format_event_json(&e.hdr, NULL, 0);
	json_object_object_get_ex(o, "argv", &argv);
	CHECK(argv && json_object_array_length(argv) == 1 &&
		  strlen(json_object_get_string(json_object_array_get_idx(argv, 0))) ==
		      MOAT_ARGS_LEN,
	      "json exec: unterminated argv stays bounded", "%s", json_object_to_json_string(argv));
	CHECK_EQ_STR(jstr(o, "argv_truncated"), "true", "json exec: argv_truncated");
	json_object_put(o);

	/* Hostile bytes in process-controlled strings: the line is still one valid JSON
	 * document and every byte comes back. */
	{
		static const char nasty_args[] = "a\"b\0c\\d\0e\nf\tg\x01h\x7f/\xc3\xa9";
		static const char nasty_comm[] = "q\"\\\r\b\f\x1f";
		const char *line, *got;
		json_object *back;

		memset(e.args, 0, sizeof(e.args));
		memcpy(e.args, nasty_args, sizeof(nasty_args));
		e.args_len = sizeof(nasty_args);
		e.flags = 0;
		memcpy(e.hdr.comm, nasty_comm, sizeof(nasty_comm));
		o = format_event_json(&e.hdr, NULL, 0);
		line = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "";
		CHECK(o && !strchr(line, '\n'), "json line: one line, whatever the strings hold",
		      "%s", line);
		back = json_tokener_parse(line);
		json_object_object_get_ex(back, "argv", &argv);
		got = argv ? json_object_get_string(json_object_array_get_idx(argv, 2)) : NULL;
		CHECK(back && argv && json_object_array_length(argv) == 3 &&
			  !strcmp(json_object_get_string(json_object_array_get_idx(argv, 0)),
				  "a\"b") &&
			  !strcmp(json_object_get_string(json_object_array_get_idx(argv, 1)),
				  "c\\d") &&
			  got && !strcmp(got, "e\nf\tg\x01h\x7f/\xc3\xa9") &&
			  !strcmp(jstr(back, "comm"), nasty_comm),
		      "json line: quotes, backslashes, control bytes and UTF-8 round-trip", "%s",
		      line);
		json_object_put(back);
		json_object_put(o);
	}
}

static void test_json_dns(void)
{
	struct moat_dns_event *e = calloc(1, sizeof(*e));
	json_object *o, *ans, *cn;

	e->hdr.type = MOAT_EV_DNS_ANSWER;
	e->hdr.size = sizeof(*e);
	e->family = AF_INET;
	e->qtype = 1;
	e->rcode = 3;
	memcpy(e->qname, "alias.moat.test", 16);
	memcpy(e->cnames[0], "web.moat.test", 14);
	e->n_cnames = 1;
	e->n_addrs = 1;
	e->addrs[0].family = AF_INET;
	e->addrs[0].ttl = 300;
	inet_pton(AF_INET, "172.29.0.1", e->addrs[0].addr);
	e->flags = MOAT_DNS_F_TRUNCATED;
	o = format_event_json(&e->hdr, NULL, 0);
	CHECK_EQ_STR(jstr(o, "type"), "dns_answer", "json dns: type");
	CHECK_EQ_STR(jstr(o, "qname"), "alias.moat.test", "json dns: qname");
	CHECK_EQ_STR(jstr(o, "qtype"), "A", "json dns: qtype name");
	CHECK_EQ_STR(jstr(o, "rcode"), "NXDOMAIN", "json dns: rcode name");
	json_object_object_get_ex(o, "answers", &ans);
	json_object_object_get_ex(o, "cnames", &cn);
	CHECK(ans && json_object_array_length(ans) == 1 &&
		  !strcmp(jstr(json_object_array_get_idx(ans, 0), "addr"), "172.29.0.1") &&
		  !strcmp(jstr(json_object_array_get_idx(ans, 0), "ttl"), "300"),
	      "json dns: answers", "%s", json_object_to_json_string(ans));
	CHECK(cn && json_object_array_length(cn) == 1, "json dns: cnames", "%s",
	      json_object_to_json_string(cn));
	CHECK(strstr(jstr(o, "flags"), "truncated") != NULL, "json dns: flags named", "%s",
	      jstr(o, "flags"));
	json_object_put(o);
	/* n_addrs beyond the array never reads past it. */
	e->n_addrs = 200;
	e->n_cnames = 200;
	o = format_event_json(&e->hdr, NULL, 0);
	json_object_object_get_ex(o, "answers", &ans);
	CHECK(json_object_array_length(ans) == MOAT_DNS_MAX_ADDRS,
	      "json dns: hostile n_addrs is capped", "%zu", json_object_array_length(ans));
	json_object_put(o);
	free(e);
}

/* The line of moat trace --json (format_event_json_line, the fast writer) parses back to the
 * same document as a fresh object, across events of one type whose fields change shape: null
 * <-> string, string <-> number, arrays that shrink and grow, a container and none. */
static int same_line(struct format_json_cache *fc, const struct moat_event_hdr *h,
		     const struct container_info *c)
{
	json_object *fresh = format_event_json(h, c, 0);
	const char *line = format_event_json_line(fc, h, c, 0);
	char why[4096] = "";
	int same = fresh && line && oracle_check(line, strlen(line), fresh, why, sizeof(why));

	if (!same)
		printf("# %s\n# line: %s\n", why, line ? line : "-");
	json_object_put(fresh);
	return same;
}

static void test_json_reuse(void)
{
	struct format_json_cache fc = {0};
	struct moat_exec_event x = {0};
	struct moat_dns_event *d = calloc(1, sizeof(*d));
	struct container_info c = {0};
	static const char args1[] = "sh\0-c\0echo hi", args2[] = "python3";
	int ok = 1;

	if (!d)
		abort();
	snprintf(c.id, sizeof(c.id), "abc");
	snprintf(c.name, sizeof(c.name), "web");
	snprintf(c.image, sizeof(c.image), "busybox");
	x.hdr.type = MOAT_EV_EXEC;
	x.hdr.size = sizeof(x);
	memcpy(x.filename, "/tmp/x.sh", 10);
	memcpy(x.interp, "/bin/sh", 8);
	memcpy(x.args, args1, sizeof(args1));
	x.args_len = sizeof(args1);
	ok &= same_line(&fc, &x.hdr, &c);
	memset(x.interp, 0, sizeof(x.interp));
	memset(x.args, 0, sizeof(x.args));
	memcpy(x.args, args2, sizeof(args2));
	x.args_len = sizeof(args2);
	x.flags = MOAT_EXEC_F_KILLED;
	ok &= same_line(&fc, &x.hdr, NULL);
	memcpy(x.interp, "/usr/bin/env", 13);
	ok &= same_line(&fc, &x.hdr, &c);
	CHECK(ok, "json reuse: exec lines equal fresh ones (interp null/set, argv, container)",
	      "differ, see above");

	ok = 1;
	d->hdr.type = MOAT_EV_DNS_ANSWER;
	d->hdr.size = sizeof(*d);
	d->family = AF_INET;
	d->qtype = 1;
	memcpy(d->qname, "a.moat.test", 12);
	d->n_addrs = 2;
	d->addrs[0].family = d->addrs[1].family = AF_INET;
	ok &= same_line(&fc, &d->hdr, &c);
	d->qtype = 65000; /* no name: a number */
	d->rcode = 9;
	d->n_addrs = 0;
	d->n_cnames = 1;
	memcpy(d->cnames[0], "cdn.test", 9);
	d->flags = MOAT_DNS_F_NAT | MOAT_DNS_F_TCP;
	ok &= same_line(&fc, &d->hdr, NULL);
	d->qtype = 28;
	d->rcode = 0;
	d->n_addrs = 1;
	d->flags = 0;
	ok &= same_line(&fc, &d->hdr, &c);
	CHECK(ok, "json reuse: DNS lines equal fresh ones (qtype/rcode name or number, arrays)",
	      "differ, see above");
	format_json_cache_free(&fc);
	free(d);
}

/* MOAT_EV_OOM: decoded only at its size, every field in JSON, the text line escapes the
 * trigger's name. */
static void test_oom(void)
{
	struct moat_oom_event e = {0};
	json_object *o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	e.hdr.type = MOAT_EV_OOM;
	e.hdr.size = sizeof(e);
	e.hdr.pid = 4242;
	e.hdr.cgroup_id = 99;
	memcpy(e.hdr.comm, "python3", 8);
	e.total_vm_kb = 500000;
	e.anon_rss_kb = 307200;
	e.file_rss_kb = 2048;
	e.shmem_rss_kb = 4;
	e.trigger_cgroup_id = 98;
	e.trigger_pid = 4243;
	e.oom_score_adj = -17;
	memcpy(e.trigger_comm, "x\033[2Jy", 7);
	CHECK(event_decode(&e, sizeof(e)) == &e.hdr, "oom: decoded at its size", "rejected");
	e.hdr.size = sizeof(e) - 8;
	CHECK(event_decode(&e, sizeof(e)) == NULL, "oom: a short record is refused", "accepted");
	e.hdr.size = sizeof(e);
	CHECK_EQ_STR(event_type_name(MOAT_EV_OOM), "oom", "oom: type name for trace --type");
	o = format_event_json(&e.hdr, NULL, 0);
	CHECK(
	    !strcmp(jstr(o, "type"), "oom") && !strcmp(jstr(o, "pid"), "4242") &&
		!strcmp(jstr(o, "comm"), "python3") && !strcmp(jstr(o, "total_vm_kb"), "500000") &&
		!strcmp(jstr(o, "anon_rss_kb"), "307200") &&
		!strcmp(jstr(o, "file_rss_kb"), "2048") && !strcmp(jstr(o, "shmem_rss_kb"), "4") &&
		!strcmp(jstr(o, "trigger_cgroup_id"), "98") &&
		!strcmp(jstr(o, "trigger_pid"), "4243") &&
		!strcmp(jstr(o, "oom_score_adj"), "-17") &&
		!strcmp(jstr(o, "trigger_comm"), "x\033[2Jy"),
	    "oom: every field in JSON", "%s", json_object_to_json_string(o));
	json_object_put(o);
	f = open_memstream(&buf, &len);
	format_event_text(f, &e.hdr, NULL, 0);
	fclose(f);
	CHECK(strstr(buf, "oom-killed anon_rss=307200kB") && strstr(buf, "by pid 4243") &&
		  !strchr(buf, '\033'),
	      "oom: text line, the trigger's name escaped", "%s", buf);
	free(buf);
}

int main(void)
{
	test_oom();
	test_json_connect();
	test_json_exec();
	test_json_dns();
	test_json_reuse();
	return TEST_EXIT();
}
