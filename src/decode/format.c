/* format.c - events as JSON lines (json-c) or as a readable table. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "event.h"
#include "clock.h"
#include "format.h"
#include "textesc.h"

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

/* ---- JSON (json-c) ----
 *
 * Each field is put into the object in place: a value already there of the same type is
 * overwritten (json_object_set_*), otherwise a new one replaces it. A fresh object gets every
 * field created; an object reused for the next event of the same type (format_json_cache,
 * `moat trace --json`) gets them overwritten, with no allocation, hash-table insert or free
 * per field. Building a new object per event made trace fall behind the ring buffer on DNS
 * floods (docs/performance.md section 1). json-c keeps the keys in insertion order, so both
 * ways print the same document. */

static json_object *child(json_object *o, const char *k, json_type t)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v && json_object_is_type(v, t) ? v : NULL;
}

static void put_str_len(json_object *o, const char *k, const char *v, size_t n)
{
	json_object *x = child(o, k, json_type_string);

	if (x)
		json_object_set_string_len(x, v, (int)n);
	else
		json_object_object_add(o, k, json_object_new_string_len(v, (int)n));
}

static void put_str(json_object *o, const char *k, const char *v)
{
	put_str_len(o, k, v, strlen(v));
}

/* A possibly unterminated kernel string of at most n bytes; "" becomes null when nullable. */
static void put_kstr(json_object *o, const char *k, const char *v, size_t n, int nullable)
{
	size_t len = strnlen(v, n);

	if (!len && nullable)
		json_object_object_add(o, k, NULL);
	else
		put_str_len(o, k, v, len);
}

static void put_i64(json_object *o, const char *k, int64_t v)
{
	json_object *x = child(o, k, json_type_int);

	if (x)
		json_object_set_int64(x, v);
	else
		json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_u64(json_object *o, const char *k, uint64_t v)
{
	json_object *x = child(o, k, json_type_int);

	if (x)
		json_object_set_uint64(x, v);
	else
		json_object_object_add(o, k, json_object_new_uint64(v));
}

static void put_bool(json_object *o, const char *k, int v)
{
	json_object *x = child(o, k, json_type_boolean);

	if (x)
		json_object_set_boolean(x, v);
	else
		json_object_object_add(o, k, json_object_new_boolean(v));
}

/* The array at k, emptied (created when missing). */
static json_object *put_array(json_object *o, const char *k)
{
	json_object *x = child(o, k, json_type_array);

	if (x) {
		size_t n = json_object_array_length(x);

		if (n)
			json_object_array_del_idx(x, 0, n);
		return x;
	}
	x = json_object_new_array();
	json_object_object_add(o, k, x);
	return x;
}

static void argv_into(json_object *arr, const struct moat_exec_event *e)
{
	size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN;
	size_t i = 0;

	while (arr && i < len) {
		size_t n = strnlen(e->args + i, len - i);

		json_object_array_add(arr, json_object_new_string_len(e->args + i, (int)n));
		i += n + 1;
	}
}

json_object *format_argv(const struct moat_exec_event *e)
{
	json_object *arr = json_object_new_array();

	argv_into(arr, e);
	return arr;
}

static void add_net(json_object *o, const struct moat_net_event *e)
{
	char a[64];

	put_u64(o, "sock_cookie", e->sock_cookie);
	put_str(o, "family", e->family == AF_INET6 ? "ipv6" : "ipv4");
	put_str(o, "protocol", event_proto_name(e->protocol));
	put_str(o, "daddr", event_addr_str(e->family, e->daddr, a, sizeof(a)));
	put_i64(o, "dport", e->dport);
	put_str(o, "verdict", event_verdict_name(e->verdict));
	put_str(o, "scope", event_scope_name(e->scope));
	put_str(o, "mode", event_mode_name(e->mode));
	put_i64(o, "rule_id", e->rule_id);
	put_i64(o, "suppressed", e->suppressed);
}

static void add_exec(json_object *o, const struct moat_exec_event *e)
{
	put_i64(o, "ppid", e->ppid);
	put_kstr(o, "filename", e->filename, sizeof(e->filename), 0);
	put_kstr(o, "interp", e->interp, sizeof(e->interp), 1);
	put_kstr(o, "exe", e->exe, sizeof(e->exe), 1);
	put_i64(o, "argc", e->argc);
	argv_into(put_array(o, "argv"), e);
	put_bool(o, "argv_truncated", e->flags & MOAT_EXEC_F_ARGS_TRUNC);
	put_bool(o, "killed", e->flags & MOAT_EXEC_F_KILLED);
	put_i64(o, "kill_rule", e->kill_rule);
	put_bool(o, "fileless", e->flags & MOAT_EXEC_F_FILELESS);
	put_bool(o, "loader", e->flags & MOAT_EXEC_F_LOADER);
}

static void add_exit(json_object *o, const struct moat_exit_event *e)
{
	put_i64(o, "ppid", e->ppid);
	put_i64(o, "exit_code", (e->exit_code >> 8) & 0xff);
	put_i64(o, "signal", e->exit_code & 0x7f);
	put_u64(o, "start_ns", e->start_ns);
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
    {MOAT_DNS_F_VERIFIED, "verified"},
    {MOAT_DNS_F_UNTRUSTED, "untrusted"},
    {MOAT_DNS_F_OUTBOUND, "outbound"},
};

static void add_dns(json_object *o, const struct moat_dns_event *e)
{
	const char *q = event_qtype_name(e->qtype), *r = event_rcode_name(e->rcode);
	json_object *flags, *cn, *ans;
	char a[64];

	put_u64(o, "sock_cookie", e->sock_cookie);
	put_i64(o, "id", e->id);
	put_kstr(o, "qname", e->qname, sizeof(e->qname), 0);
	if (q)
		put_str(o, "qtype", q);
	else
		put_i64(o, "qtype", e->qtype);
	put_str(o, "transport", e->flags & MOAT_DNS_F_TCP ? "tcp" : "udp");
	put_str(o, "saddr", event_addr_str(e->family, e->saddr, a, sizeof(a)));
	put_i64(o, "sport", e->sport);
	put_str(o, "daddr", event_addr_str(e->family, e->daddr, a, sizeof(a)));
	put_i64(o, "dport", e->dport);
	flags = put_array(o, "flags");
	for (size_t i = 0; i < sizeof(dns_flag_names) / sizeof(dns_flag_names[0]); i++)
		if (e->flags & dns_flag_names[i].bit)
			json_object_array_add(flags,
					      json_object_new_string(dns_flag_names[i].name));
	if (e->hdr.type != MOAT_EV_DNS_ANSWER)
		return;
	if (r)
		put_str(o, "rcode", r);
	else
		put_i64(o, "rcode", e->rcode);
	put_i64(o, "ancount", e->ancount);
	cn = put_array(o, "cnames");
	for (unsigned i = 0; i < e->n_cnames && i < MOAT_DNS_MAX_CNAMES; i++)
		json_object_array_add(
		    cn, json_object_new_string_len(
			    e->cnames[i], (int)strnlen(e->cnames[i], sizeof(e->cnames[i]))));
	ans = put_array(o, "answers");
	for (unsigned i = 0; i < e->n_addrs && i < MOAT_DNS_MAX_ADDRS; i++) {
		json_object *x = json_object_new_object();

		put_str(x, "addr",
			event_addr_str(e->addrs[i].family, e->addrs[i].addr, a, sizeof(a)));
		put_i64(x, "ttl", e->addrs[i].ttl);
		json_object_array_add(ans, x);
	}
}

static void add_socket(json_object *o, const struct moat_socket_event *e)
{
	char a[64];

	put_str(o, "op", event_sock_op_name(e->op));
	put_str(o, "family", event_family_name(e->family));
	put_str(o, "socktype", event_socktype_name(e->type));
	if (e->family == 17 /* AF_PACKET */)
		put_i64(o, "protocol", e->protocol);
	else
		put_str(o, "protocol", event_proto_name(e->protocol));
	put_i64(o, "protocol_number", e->protocol);
	put_str(o, "verdict", event_verdict_name(e->verdict));
	put_str(o, "mode", event_mode_name(e->mode));
	put_i64(o, "rule_id", e->rule_id);
	if (e->op == MOAT_SOCK_OP_BIND) {
		put_str(o, "addr", event_addr_str(e->family, e->addr, a, sizeof(a)));
		put_i64(o, "port", e->port);
	}
}

static void add_packet(json_object *o, const struct moat_packet_event *e)
{
	char a[64];

	put_str(o, "reason", event_pkt_reason_name(e->reason));
	put_str(o, "where", event_pkt_where_name(e->where));
	put_str(o, "family", e->family == AF_INET6 ? "ipv6" : e->family ? "ipv4" : "none");
	put_str(o, "protocol", event_proto_name(e->protocol));
	put_i64(o, "protocol_number", e->protocol);
	put_str(o, "saddr",
		e->family || e->ethertype == 0x0806
		    ? event_addr_str(e->family ? e->family : AF_INET, e->saddr, a, sizeof(a))
		    : "");
	put_i64(o, "sport", e->sport);
	put_str(o, "daddr",
		e->family || e->ethertype == 0x0806
		    ? event_addr_str(e->family ? e->family : AF_INET, e->daddr, a, sizeof(a))
		    : "");
	put_i64(o, "dport", e->dport);
	put_i64(o, "rule_id", e->rule_id);
	put_i64(o, "suppressed", e->suppressed);
	if (e->where != MOAT_PKT_AT_SOCKET) {
		snprintf(a, sizeof(a), "%02x:%02x:%02x:%02x:%02x:%02x", e->smac[0], e->smac[1],
			 e->smac[2], e->smac[3], e->smac[4], e->smac[5]);
		put_str(o, "smac", a);
		put_i64(o, "ifindex", e->ifindex);
		snprintf(a, sizeof(a), "0x%04x", e->ethertype);
		put_str(o, "ethertype", a);
	}
}

static void add_oom(json_object *o, const struct moat_oom_event *e)
{
	put_u64(o, "total_vm_kb", e->total_vm_kb);
	put_u64(o, "anon_rss_kb", e->anon_rss_kb);
	put_u64(o, "file_rss_kb", e->file_rss_kb);
	put_u64(o, "shmem_rss_kb", e->shmem_rss_kb);
	put_i64(o, "oom_score_adj", e->oom_score_adj);
	put_i64(o, "trigger_pid", e->trigger_pid);
	put_kstr(o, "trigger_comm", e->trigger_comm, sizeof(e->trigger_comm), 0);
	put_u64(o, "trigger_cgroup_id", e->trigger_cgroup_id);
}

/* Fill o (new, or the object of the previous event of this type) with event h. */
static void fill_event(json_object *o, const struct moat_event_hdr *h,
		       const struct container_info *c, int64_t offset_ns)
{
	char ts[64];

	fmt_time(offset_ns + (int64_t)h->ts_ns, ts, sizeof(ts), 0);
	put_str(o, "type", event_type_name(h->type));
	put_str(o, "time", ts);
	put_u64(o, "ts_ns", h->ts_ns);
	put_i64(o, "cpu", h->cpu);
	put_u64(o, "cgroup_id", h->cgroup_id);
	put_i64(o, "pid", h->pid);
	put_i64(o, "tid", h->tid);
	put_i64(o, "uid", h->uid);
	put_i64(o, "gid", h->gid);
	put_kstr(o, "comm", h->comm, sizeof(h->comm), 0);
	if (c) {
		json_object *co = child(o, "container", json_type_object);

		if (!co) {
			co = json_object_new_object();
			json_object_object_add(o, "container", co);
		}
		put_str(co, "id", c->id);
		put_str(co, "name", c->name);
		put_str(co, "image", c->image);
	} else {
		json_object_object_add(o, "container", NULL);
	}
	switch (h->type) {
	case MOAT_EV_CONNECT:
	case MOAT_EV_SENDMSG: add_net(o, (const struct moat_net_event *)h); break;
	case MOAT_EV_EXEC: add_exec(o, (const struct moat_exec_event *)h); break;
	case MOAT_EV_EXIT: add_exit(o, (const struct moat_exit_event *)h); break;
	case MOAT_EV_DNS_QUERY:
	case MOAT_EV_DNS_ANSWER: add_dns(o, (const struct moat_dns_event *)h); break;
	case MOAT_EV_SOCKET: add_socket(o, (const struct moat_socket_event *)h); break;
	case MOAT_EV_PACKET: add_packet(o, (const struct moat_packet_event *)h); break;
	case MOAT_EV_OOM: add_oom(o, (const struct moat_oom_event *)h); break;
	}
}

json_object *format_event_json(const struct moat_event_hdr *h, const struct container_info *c,
			       int64_t offset_ns)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	fill_event(o, h, c, offset_ns);
	return o;
}

const char *format_event_json_line(struct format_json_cache *fc, const struct moat_event_hdr *h,
				   const struct container_info *c, int64_t offset_ns)
{
	json_object **o;

	if (h->type >= MOAT_EV_MAX)
		return NULL;
	o = &fc->by_type[h->type];
	if (!*o && !(*o = json_object_new_object()))
		return NULL;
	fill_event(*o, h, c, offset_ns);
	return json_object_to_json_string_ext(*o, JSON_C_TO_STRING_PLAIN);
}

void format_json_cache_free(struct format_json_cache *fc)
{
	for (unsigned t = 0; t < MOAT_EV_MAX; t++) {
		json_object_put(fc->by_type[t]);
		fc->by_type[t] = NULL;
	}
}

void format_text_header(FILE *out)
{
	fprintf(out, "%-15s %-10s %-16s %7s %-16s %s\n", "TIME", "TYPE", "CONTAINER", "PID", "COMM",
		"DETAILS");
}

/* The details column for each type. */
static void text_details(FILE *out, const struct moat_event_hdr *h)
{
	char a[64];

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

		text_escape_fput(out, e->filename, sizeof(e->filename));
		if (e->interp[0]) {
			fprintf(out, " (interp ");
			text_escape_fput(out, e->interp, sizeof(e->interp));
			fputc(')', out);
		}
		fprintf(out, " argv:");
		for (size_t i = 0; i < len;) {
			size_t n = strnlen(e->args + i, len - i);

			fputc(' ', out);
			text_escape_fput(out, e->args + i, n);
			i += n + 1;
		}
		if (e->flags & MOAT_EXEC_F_ARGS_TRUNC)
			fprintf(out, " ...");
		fprintf(out, " ppid=%u", e->ppid);
		if (e->flags & MOAT_EXEC_F_FILELESS)
			fprintf(out, " fileless");
		if (e->flags & MOAT_EXEC_F_LOADER)
			fprintf(out, " loader");
		if (e->flags & MOAT_EXEC_F_KILLED)
			fprintf(out, " killed rule=%u", e->kill_rule);
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

		text_escape_fput(out, e->qname, sizeof(e->qname));
		fputc(' ', out);
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
				fprintf(out, " -> ");
				text_escape_fput(out, e->cnames[i], sizeof(e->cnames[i]));
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
	case MOAT_EV_SOCKET: {
		const struct moat_socket_event *e = (const void *)h;

		fprintf(out, "%s %s/%s proto=%u %s", event_sock_op_name(e->op),
			event_family_name(e->family), event_socktype_name(e->type), e->protocol,
			event_verdict_name(e->verdict));
		if (e->op == MOAT_SOCK_OP_BIND)
			fprintf(out, " %s:%u", event_addr_str(e->family, e->addr, a, sizeof(a)),
				e->port);
		if (e->rule_id)
			fprintf(out, " rule=%u", e->rule_id);
		break;
	}
	case MOAT_EV_PACKET: {
		const struct moat_packet_event *e = (const void *)h;
		char b[64];

		fprintf(out, "dropped %s at %s %s %s:%u -> %s:%u", event_pkt_reason_name(e->reason),
			event_pkt_where_name(e->where), event_proto_name(e->protocol),
			event_addr_str(e->family ? e->family : AF_INET, e->saddr, a, sizeof(a)),
			e->sport,
			event_addr_str(e->family ? e->family : AF_INET, e->daddr, b, sizeof(b)),
			e->dport);
		if (e->where != MOAT_PKT_AT_SOCKET)
			fprintf(out, " ethertype=0x%04x", e->ethertype);
		if (e->suppressed)
			fprintf(out, " (+%u not reported)", e->suppressed);
		break;
	}
	case MOAT_EV_OOM: {
		const struct moat_oom_event *e = (const void *)h;
		char comm[4 * MOAT_COMM_LEN + 1];

		text_escape(comm, sizeof(comm), e->trigger_comm, sizeof(e->trigger_comm));
		fprintf(out,
			"oom-killed anon_rss=%llukB file_rss=%llukB shmem_rss=%llukB "
			"total_vm=%llukB oom_score_adj=%d by pid %u (%s)",
			(unsigned long long)e->anon_rss_kb, (unsigned long long)e->file_rss_kb,
			(unsigned long long)e->shmem_rss_kb, (unsigned long long)e->total_vm_kb,
			e->oom_score_adj, e->trigger_pid, comm[0] ? comm : "-");
		break;
	}
	}
}

void format_event_text(FILE *out, const struct moat_event_hdr *h, const struct container_info *c,
		       int64_t offset_ns)
{
	char ts[64], comm[4 * MOAT_COMM_LEN + 1], cont[80];

	fmt_time(offset_ns + (int64_t)h->ts_ns, ts, sizeof(ts), 1);
	text_escape(comm, sizeof(comm), h->comm, sizeof(h->comm));
	if (c)
		text_escape(cont, 17, c->name[0] ? c->name : c->id, 16);
	else
		snprintf(cont, sizeof(cont), "cg:%llu", (unsigned long long)h->cgroup_id);
	fprintf(out, "%-15s %-10s %-16s %7u %-16s ", ts, event_type_name(h->type), cont, h->pid,
		comm[0] ? comm : "-");
	text_details(out, h);
	fputc('\n', out);
}
