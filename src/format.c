/* format.c - events as JSON lines (json-c) or as a readable table. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "event.h"
#include "format.h"

int64_t format_boot_to_unix_offset(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (int64_t)(rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

/* RFC 3339 UTC time with nanoseconds. */
static void fmt_time(int64_t unix_ns, char *buf, size_t len, int short_form)
{
	time_t sec = unix_ns / 1000000000LL;
	long ns = unix_ns % 1000000000LL;
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	if (short_form) {
		strftime(base, sizeof(base), "%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%06ld", base, ns / 1000);
	} else {
		strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%09ldZ", base, ns);
	}
}

/* A bounded copy of a possibly unterminated kernel string. */
static void kstr(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t n = strnlen(src, slen);

	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

#define ADD(o, k, v) json_object_object_add(o, k, v)

json_object *format_argv(const struct moat_exec_event *e)
{
	json_object *arr = json_object_new_array();
	size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN;
	size_t i = 0;

	while (arr && i < len) {
		size_t n = strnlen(e->args + i, len - i);

		json_object_array_add(arr, json_object_new_string_len(e->args + i, (int)n));
		i += n + 1;
	}
	return arr;
}

static void add_net(json_object *o, const struct moat_net_event *e)
{
	char a[64];

	ADD(o, "sock_cookie", json_object_new_uint64(e->sock_cookie));
	ADD(o, "family", json_object_new_string(e->family == AF_INET6 ? "ipv6" : "ipv4"));
	ADD(o, "protocol", json_object_new_string(event_proto_name(e->protocol)));
	ADD(o, "daddr", json_object_new_string(event_addr_str(e->family, e->daddr, a, sizeof(a))));
	ADD(o, "dport", json_object_new_int(e->dport));
	ADD(o, "verdict", json_object_new_string(event_verdict_name(e->verdict)));
	ADD(o, "scope", json_object_new_string(event_scope_name(e->scope)));
	ADD(o, "mode", json_object_new_string(event_mode_name(e->mode)));
	ADD(o, "rule_id", json_object_new_int64(e->rule_id));
}

static void add_exec(json_object *o, const struct moat_exec_event *e)
{
	char s[MOAT_PATH_LEN];

	ADD(o, "ppid", json_object_new_int64(e->ppid));
	kstr(s, sizeof(s), e->filename, sizeof(e->filename));
	ADD(o, "filename", json_object_new_string(s));
	kstr(s, sizeof(s), e->interp, sizeof(e->interp));
	ADD(o, "interp", s[0] ? json_object_new_string(s) : NULL);
	kstr(s, sizeof(s), e->exe, sizeof(e->exe));
	ADD(o, "exe", s[0] ? json_object_new_string(s) : NULL);
	ADD(o, "argc", json_object_new_int(e->argc));
	ADD(o, "argv", format_argv(e));
	ADD(o, "argv_truncated", json_object_new_boolean(e->flags & MOAT_EXEC_F_ARGS_TRUNC));
	ADD(o, "killed", json_object_new_boolean(e->flags & MOAT_EXEC_F_KILLED));
	ADD(o, "kill_rule", json_object_new_int64(e->kill_rule));
}

static void add_exit(json_object *o, const struct moat_exit_event *e)
{
	ADD(o, "ppid", json_object_new_int64(e->ppid));
	ADD(o, "exit_code", json_object_new_int((e->exit_code >> 8) & 0xff));
	ADD(o, "signal", json_object_new_int(e->exit_code & 0x7f));
	ADD(o, "start_ns", json_object_new_uint64(e->start_ns));
}

static const struct {
	unsigned bit;
	const char *name;
} dns_flag_names[] = {
    {MOAT_DNS_F_TCP, "tcp"},
    {MOAT_DNS_F_IPV6, "ipv6"},
    {MOAT_DNS_F_TRUNCATED, "truncated"},
    {MOAT_DNS_F_MALFORMED, "malformed"},
    {MOAT_DNS_F_PTR_LOOP, "pointer_loop"},
    {MOAT_DNS_F_NAME_LONG, "name_too_long"},
    {MOAT_DNS_F_MORE_ADDRS, "more_addrs"},
    {MOAT_DNS_F_MORE_CNAMES, "more_cnames"},
    {MOAT_DNS_F_NOT_DNS, "not_dns"},
    {MOAT_DNS_F_TC, "tc"},
    {MOAT_DNS_F_TCP_PARTIAL, "tcp_partial"},
    {MOAT_DNS_F_HELD, "held"},
    {MOAT_DNS_F_NAT, "nat"},
};

static void add_dns(json_object *o, const struct moat_dns_event *e)
{
	json_object *flags = json_object_new_array(), *cn = json_object_new_array(),
		    *ans = json_object_new_array();
	char a[64], s[MOAT_DNS_NAME_LEN];
	const char *q = event_qtype_name(e->qtype), *r = event_rcode_name(e->rcode);

	ADD(o, "sock_cookie", json_object_new_uint64(e->sock_cookie));
	ADD(o, "id", json_object_new_int(e->id));
	kstr(s, sizeof(s), e->qname, sizeof(e->qname));
	ADD(o, "qname", json_object_new_string(s));
	ADD(o, "qtype", q ? json_object_new_string(q) : json_object_new_int(e->qtype));
	ADD(o, "transport", json_object_new_string(e->flags & MOAT_DNS_F_TCP ? "tcp" : "udp"));
	ADD(o, "saddr", json_object_new_string(event_addr_str(e->family, e->saddr, a, sizeof(a))));
	ADD(o, "sport", json_object_new_int(e->sport));
	ADD(o, "daddr", json_object_new_string(event_addr_str(e->family, e->daddr, a, sizeof(a))));
	ADD(o, "dport", json_object_new_int(e->dport));
	for (size_t i = 0; i < sizeof(dns_flag_names) / sizeof(dns_flag_names[0]); i++)
		if (e->flags & dns_flag_names[i].bit)
			json_object_array_add(flags,
					      json_object_new_string(dns_flag_names[i].name));
	ADD(o, "flags", flags);
	if (e->hdr.type != MOAT_EV_DNS_ANSWER) {
		json_object_put(cn);
		json_object_put(ans);
		return;
	}
	ADD(o, "rcode", r ? json_object_new_string(r) : json_object_new_int(e->rcode));
	ADD(o, "ancount", json_object_new_int(e->ancount));
	for (unsigned i = 0; i < e->n_cnames && i < MOAT_DNS_MAX_CNAMES; i++) {
		kstr(s, sizeof(s), e->cnames[i], sizeof(e->cnames[i]));
		json_object_array_add(cn, json_object_new_string(s));
	}
	ADD(o, "cnames", cn);
	for (unsigned i = 0; i < e->n_addrs && i < MOAT_DNS_MAX_ADDRS; i++) {
		json_object *x = json_object_new_object();

		ADD(x, "addr",
		    json_object_new_string(
			event_addr_str(e->addrs[i].family, e->addrs[i].addr, a, sizeof(a))));
		ADD(x, "ttl", json_object_new_int64(e->addrs[i].ttl));
		json_object_array_add(ans, x);
	}
	ADD(o, "answers", ans);
}

json_object *format_event_json(const struct moat_event_hdr *h, const struct container_info *c,
			       int64_t offset_ns)
{
	json_object *o = json_object_new_object();
	char ts[64], comm[MOAT_COMM_LEN + 1];

	if (!o)
		return NULL;
	fmt_time(offset_ns + (int64_t)h->ts_ns, ts, sizeof(ts), 0);
	ADD(o, "type", json_object_new_string(event_type_name(h->type)));
	ADD(o, "time", json_object_new_string(ts));
	ADD(o, "ts_ns", json_object_new_uint64(h->ts_ns));
	ADD(o, "cpu", json_object_new_int64(h->cpu));
	ADD(o, "cgroup_id", json_object_new_uint64(h->cgroup_id));
	ADD(o, "pid", json_object_new_int64(h->pid));
	ADD(o, "tid", json_object_new_int64(h->tid));
	ADD(o, "uid", json_object_new_int64(h->uid));
	ADD(o, "gid", json_object_new_int64(h->gid));
	kstr(comm, sizeof(comm), h->comm, sizeof(h->comm));
	ADD(o, "comm", json_object_new_string(comm));
	if (c) {
		json_object *co = json_object_new_object();

		ADD(co, "id", json_object_new_string(c->id));
		ADD(co, "name", json_object_new_string(c->name));
		ADD(co, "image", json_object_new_string(c->image));
		ADD(o, "container", co);
	} else {
		ADD(o, "container", NULL);
	}
	switch (h->type) {
	case MOAT_EV_CONNECT:
	case MOAT_EV_SENDMSG: add_net(o, (const struct moat_net_event *)h); break;
	case MOAT_EV_EXEC: add_exec(o, (const struct moat_exec_event *)h); break;
	case MOAT_EV_EXIT: add_exit(o, (const struct moat_exit_event *)h); break;
	case MOAT_EV_DNS_QUERY:
	case MOAT_EV_DNS_ANSWER: add_dns(o, (const struct moat_dns_event *)h); break;
	}
	return o;
}

void format_text_header(FILE *out)
{
	fprintf(out, "%-15s %-10s %-16s %7s %-16s %s\n", "TIME", "TYPE", "CONTAINER", "PID", "COMM",
		"DETAILS");
}

/* The details column for each type. */
static void text_details(FILE *out, const struct moat_event_hdr *h)
{
	char a[64], s[MOAT_DNS_NAME_LEN];

	switch (h->type) {
	case MOAT_EV_CONNECT:
	case MOAT_EV_SENDMSG: {
		const struct moat_net_event *e = (const void *)h;

		fprintf(out, "%s %s%s%s:%u %s", event_proto_name(e->protocol),
			e->family == AF_INET6 ? "[" : "",
			event_addr_str(e->family, e->daddr, a, sizeof(a)),
			e->family == AF_INET6 ? "]" : "", e->dport, event_verdict_name(e->verdict));
		if (e->rule_id)
			fprintf(out, " rule=%u", e->rule_id);
		break;
	}
	case MOAT_EV_EXEC: {
		const struct moat_exec_event *e = (const void *)h;
		size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN;

		kstr(s, sizeof(s), e->filename, sizeof(e->filename));
		fprintf(out, "%s", s);
		if (e->interp[0]) {
			kstr(s, sizeof(s), e->interp, sizeof(e->interp));
			fprintf(out, " (interp %s)", s);
		}
		fprintf(out, " argv:");
		for (size_t i = 0; i < len;) {
			size_t n = strnlen(e->args + i, len - i);

			fprintf(out, " %.*s", (int)n, e->args + i);
			i += n + 1;
		}
		if (e->flags & MOAT_EXEC_F_ARGS_TRUNC)
			fprintf(out, " ...");
		fprintf(out, " ppid=%u", e->ppid);
		break;
	}
	case MOAT_EV_EXIT: {
		const struct moat_exit_event *e = (const void *)h;

		fprintf(out, "code=%d signal=%d", (e->exit_code >> 8) & 0xff, e->exit_code & 0x7f);
		break;
	}
	case MOAT_EV_DNS_QUERY:
	case MOAT_EV_DNS_ANSWER: {
		const struct moat_dns_event *e = (const void *)h;
		const char *q = event_qtype_name(e->qtype), *r = event_rcode_name(e->rcode);

		kstr(s, sizeof(s), e->qname, sizeof(e->qname));
		fprintf(out, "%s ", s);
		if (q)
			fprintf(out, "%s", q);
		else
			fprintf(out, "TYPE%u", e->qtype);
		fprintf(out, " id=%u", e->id);
		if (h->type == MOAT_EV_DNS_ANSWER) {
			if (r)
				fprintf(out, " %s", r);
			else
				fprintf(out, " RCODE%u", e->rcode);
			for (unsigned i = 0; i < e->n_cnames && i < MOAT_DNS_MAX_CNAMES; i++) {
				kstr(s, sizeof(s), e->cnames[i], sizeof(e->cnames[i]));
				fprintf(out, " -> %s", s);
			}
			for (unsigned i = 0; i < e->n_addrs && i < MOAT_DNS_MAX_ADDRS; i++)
				fprintf(out, " %s",
					event_addr_str(e->addrs[i].family, e->addrs[i].addr, a,
						       sizeof(a)));
		}
		if (e->flags & ~(MOAT_DNS_F_IPV6))
			fprintf(out, " flags=0x%x", e->flags);
		break;
	}
	}
}

void format_event_text(FILE *out, const struct moat_event_hdr *h, const struct container_info *c,
		       int64_t offset_ns)
{
	char ts[64], comm[MOAT_COMM_LEN + 1], cont[20];

	fmt_time(offset_ns + (int64_t)h->ts_ns, ts, sizeof(ts), 1);
	kstr(comm, sizeof(comm), h->comm, sizeof(h->comm));
	if (c)
		snprintf(cont, sizeof(cont), "%.16s", c->name[0] ? c->name : c->id);
	else
		snprintf(cont, sizeof(cont), "cg:%llu", (unsigned long long)h->cgroup_id);
	fprintf(out, "%-15s %-10s %-16s %7u %-16s ", ts, event_type_name(h->type), cont, h->pid,
		comm[0] ? comm : "-");
	text_details(out, h);
	fputc('\n', out);
}
