/* format.c - events as JSON (json-c objects, or lines through the fast writer jsonw) or as a
 * readable table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "event.h"
#include "clock.h"
#include "format.h"
#include "jsonw.h"
#include "textesc.h"

/* The event's time on the Unix clock. Wraps instead of overflowing on a hostile ts_ns. */
static int64_t unix_ns_of(const struct moat_event_hdr *h, int64_t offset_ns)
{
	return (int64_t)((uint64_t)offset_ns + h->ts_ns);
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

/* ---- JSON (json-c) ----
 *
 * The reference encoding of an event (docs/events.md), for callers that want an object
 * (detections, tests). Each field is put into the object in place: a value already there of
 * the same type is overwritten, otherwise a new one replaces it. `moat trace --json` writes
 * the same document through the fast writer below (format_event_jsonw). */

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

	v = v != 0; /* json-c keeps the int: 16 would print true but not equal a parsed true */

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

	fmt_time(unix_ns_of(h, offset_ns), ts, sizeof(ts), 0);
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

/* ---- JSON lines (jsonw) ----
 *
 * The same document as format_event_json, member for member and in the same order, written
 * straight into a text buffer: no object, no allocation per event. `moat trace --json`
 * building json-c objects fell behind the ring buffer on DNS floods (docs/performance.md
 * section 1). Each function below mirrors its json-c twin above; tests/unit/decode/test_jsonw.c
 * and tests/fuzz/fuzz_jsonw.c parse every line with json-c and compare it with the object. */

/* A possibly unterminated kernel string of at most n bytes; "" becomes null when nullable. */
static void w_kstr_(struct jsonw *w, const char *k, size_t kn, const char *v, size_t n,
		    int nullable)
{
	size_t len = strnlen(v, n);

	jsonw_key_lit(w, k, kn);
	if (!len && nullable)
		jsonw_null(w);
	else
		jsonw_str(w, v, len);
}

static void w_str_(struct jsonw *w, const char *k, size_t kn, const char *v)
{
	jsonw_key_lit(w, k, kn);
	jsonw_cstr(w, v);
}

static void w_i64_(struct jsonw *w, const char *k, size_t kn, int64_t v)
{
	jsonw_key_lit(w, k, kn);
	jsonw_i64(w, v);
}

static void w_u64_(struct jsonw *w, const char *k, size_t kn, uint64_t v)
{
	jsonw_key_lit(w, k, kn);
	jsonw_u64(w, v);
}

static void w_bool_(struct jsonw *w, const char *k, size_t kn, int v)
{
	jsonw_key_lit(w, k, kn);
	jsonw_bool(w, v);
}

/* Each key is a literal: written quoted, with its ':', by one copy (JSONW_KEY). */
#define KEY_LIT(k)		     "\"" k "\":", sizeof("\"" k "\":") - 1
#define w_kstr(w, k, v, n, nullable) w_kstr_((w), KEY_LIT(k), (v), (n), (nullable))
#define w_str(w, k, v)		     w_str_((w), KEY_LIT(k), (v))
#define w_i64(w, k, v)		     w_i64_((w), KEY_LIT(k), (v))
#define w_u64(w, k, v)		     w_u64_((w), KEY_LIT(k), (v))
#define w_bool(w, k, v)		     w_bool_((w), KEY_LIT(k), (v))
#define w_addr(w, k, f, a)	     w_addr_((w), KEY_LIT(k), (f), (a))

/* event_addr_str without inet_ntop's formatting for IPv4 (the common case). */
static const char *addr_str(unsigned family, const uint8_t addr[16], char *buf, size_t len)
{
	char *p = buf;

	if (family == AF_INET6 || len < 16)
		return event_addr_str(family, addr, buf, len);
	for (int i = 0; i < 4; i++) {
		unsigned v = addr[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : 0;
	}
	return buf;
}

static void w_addr_(struct jsonw *w, const char *k, size_t kn, unsigned family,
		    const uint8_t addr[16])
{
	char a[64];

	w_str_(w, k, kn, addr_str(family, addr, a, sizeof(a)));
}

/* RFC 3339 UTC time with nanoseconds, as fmt_time writes it; the date and time of day are
 * worked out once per second (tc). */
static void w_time(struct jsonw *w, struct format_json_cache *tc, int64_t unix_ns)
{
	char ts[64];
	int64_t sec = unix_ns / 1000000000LL;
	long ns = unix_ns % 1000000000LL;

	JSONW_KEY(w, "time");
	if (unix_ns < 0) {
		fmt_time(unix_ns, ts, sizeof(ts), 0);
		jsonw_cstr(w, ts);
		return;
	}
	if (!tc->ts_valid || tc->ts_sec != sec) {
		time_t t = (time_t)sec;
		struct tm tm;

		gmtime_r(&t, &tm);
		tc->ts_prefix_len =
		    strftime(tc->ts_prefix, sizeof(tc->ts_prefix), "%Y-%m-%dT%H:%M:%S", &tm);
		tc->ts_sec = sec;
		tc->ts_valid = 1;
	}
	memcpy(ts, tc->ts_prefix, tc->ts_prefix_len);
	ts[tc->ts_prefix_len] = '.';
	for (int i = 9; i >= 1; i--) {
		ts[tc->ts_prefix_len + (size_t)i] = (char)('0' + ns % 10);
		ns /= 10;
	}
	ts[tc->ts_prefix_len + 10] = 'Z';
	jsonw_str(w, ts, tc->ts_prefix_len + 11);
}

static void w_net(struct jsonw *w, const struct moat_net_event *e)
{
	w_u64(w, "sock_cookie", e->sock_cookie);
	w_str(w, "family", e->family == AF_INET6 ? "ipv6" : "ipv4");
	w_str(w, "protocol", event_proto_name(e->protocol));
	w_addr(w, "daddr", e->family, e->daddr);
	w_i64(w, "dport", e->dport);
	w_str(w, "verdict", event_verdict_name(e->verdict));
	w_str(w, "scope", event_scope_name(e->scope));
	w_str(w, "mode", event_mode_name(e->mode));
	w_i64(w, "rule_id", e->rule_id);
	w_i64(w, "suppressed", e->suppressed);
}

static void w_exec(struct jsonw *w, const struct moat_exec_event *e)
{
	size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN;

	w_i64(w, "ppid", e->ppid);
	w_kstr(w, "filename", e->filename, sizeof(e->filename), 0);
	w_kstr(w, "interp", e->interp, sizeof(e->interp), 1);
	w_kstr(w, "exe", e->exe, sizeof(e->exe), 1);
	w_i64(w, "argc", e->argc);
	JSONW_KEY(w, "argv");
	jsonw_arr_open(w);
	for (size_t i = 0; i < len;) {
		size_t n = strnlen(e->args + i, len - i);

		jsonw_str(w, e->args + i, n);
		i += n + 1;
	}
	jsonw_arr_close(w);
	w_bool(w, "argv_truncated", e->flags & MOAT_EXEC_F_ARGS_TRUNC);
	w_bool(w, "killed", e->flags & MOAT_EXEC_F_KILLED);
	w_i64(w, "kill_rule", e->kill_rule);
	w_bool(w, "fileless", e->flags & MOAT_EXEC_F_FILELESS);
	w_bool(w, "loader", e->flags & MOAT_EXEC_F_LOADER);
}

static void w_exit(struct jsonw *w, const struct moat_exit_event *e)
{
	w_i64(w, "ppid", e->ppid);
	w_i64(w, "exit_code", (e->exit_code >> 8) & 0xff);
	w_i64(w, "signal", e->exit_code & 0x7f);
	w_u64(w, "start_ns", e->start_ns);
}

static void w_dns(struct jsonw *w, const struct moat_dns_event *e)
{
	const char *q = event_qtype_name(e->qtype), *r = event_rcode_name(e->rcode);

	w_u64(w, "sock_cookie", e->sock_cookie);
	w_i64(w, "id", e->id);
	w_kstr(w, "qname", e->qname, sizeof(e->qname), 0);
	if (q)
		w_str(w, "qtype", q);
	else
		w_i64(w, "qtype", e->qtype);
	w_str(w, "transport", e->flags & MOAT_DNS_F_TCP ? "tcp" : "udp");
	w_addr(w, "saddr", e->family, e->saddr);
	w_i64(w, "sport", e->sport);
	w_addr(w, "daddr", e->family, e->daddr);
	w_i64(w, "dport", e->dport);
	JSONW_KEY(w, "flags");
	jsonw_arr_open(w);
	for (size_t i = 0; i < sizeof(dns_flag_names) / sizeof(dns_flag_names[0]); i++)
		if (e->flags & dns_flag_names[i].bit)
			jsonw_cstr(w, dns_flag_names[i].name);
	jsonw_arr_close(w);
	if (e->hdr.type != MOAT_EV_DNS_ANSWER)
		return;
	if (r)
		w_str(w, "rcode", r);
	else
		w_i64(w, "rcode", e->rcode);
	w_i64(w, "ancount", e->ancount);
	JSONW_KEY(w, "cnames");
	jsonw_arr_open(w);
	for (unsigned i = 0; i < e->n_cnames && i < MOAT_DNS_MAX_CNAMES; i++)
		jsonw_str(w, e->cnames[i], strnlen(e->cnames[i], sizeof(e->cnames[i])));
	jsonw_arr_close(w);
	JSONW_KEY(w, "answers");
	jsonw_arr_open(w);
	for (unsigned i = 0; i < e->n_addrs && i < MOAT_DNS_MAX_ADDRS; i++) {
		jsonw_obj_open(w);
		w_addr(w, "addr", e->addrs[i].family, e->addrs[i].addr);
		w_i64(w, "ttl", e->addrs[i].ttl);
		jsonw_obj_close(w);
	}
	jsonw_arr_close(w);
}

static void w_socket(struct jsonw *w, const struct moat_socket_event *e)
{
	w_str(w, "op", event_sock_op_name(e->op));
	w_str(w, "family", event_family_name(e->family));
	w_str(w, "socktype", event_socktype_name(e->type));
	if (e->family == 17 /* AF_PACKET */)
		w_i64(w, "protocol", e->protocol);
	else
		w_str(w, "protocol", event_proto_name(e->protocol));
	w_i64(w, "protocol_number", e->protocol);
	w_str(w, "verdict", event_verdict_name(e->verdict));
	w_str(w, "mode", event_mode_name(e->mode));
	w_i64(w, "rule_id", e->rule_id);
	if (e->op == MOAT_SOCK_OP_BIND) {
		w_addr(w, "addr", e->family, e->addr);
		w_i64(w, "port", e->port);
	}
}

static void w_packet(struct jsonw *w, const struct moat_packet_event *e)
{
	int has_addr = e->family || e->ethertype == 0x0806;
	unsigned fam = e->family ? e->family : AF_INET;
	char a[24];

	w_str(w, "reason", event_pkt_reason_name(e->reason));
	w_str(w, "where", event_pkt_where_name(e->where));
	w_str(w, "family", e->family == AF_INET6 ? "ipv6" : e->family ? "ipv4" : "none");
	w_str(w, "protocol", event_proto_name(e->protocol));
	w_i64(w, "protocol_number", e->protocol);
	if (has_addr)
		w_addr(w, "saddr", fam, e->saddr);
	else
		w_str(w, "saddr", "");
	w_i64(w, "sport", e->sport);
	if (has_addr)
		w_addr(w, "daddr", fam, e->daddr);
	else
		w_str(w, "daddr", "");
	w_i64(w, "dport", e->dport);
	w_i64(w, "rule_id", e->rule_id);
	w_i64(w, "suppressed", e->suppressed);
	if (e->where != MOAT_PKT_AT_SOCKET) {
		for (int i = 0; i < 6; i++) {
			a[3 * i] = "0123456789abcdef"[e->smac[i] >> 4];
			a[3 * i + 1] = "0123456789abcdef"[e->smac[i] & 15];
			a[3 * i + 2] = ':';
		}
		JSONW_KEY(w, "smac");
		jsonw_str(w, a, 17);
		w_i64(w, "ifindex", e->ifindex);
		a[0] = '0';
		a[1] = 'x';
		for (int i = 0; i < 4; i++)
			a[2 + i] = "0123456789abcdef"[(e->ethertype >> (12 - 4 * i)) & 15];
		JSONW_KEY(w, "ethertype");
		jsonw_str(w, a, 6);
	}
}

static void w_oom(struct jsonw *w, const struct moat_oom_event *e)
{
	w_u64(w, "total_vm_kb", e->total_vm_kb);
	w_u64(w, "anon_rss_kb", e->anon_rss_kb);
	w_u64(w, "file_rss_kb", e->file_rss_kb);
	w_u64(w, "shmem_rss_kb", e->shmem_rss_kb);
	w_i64(w, "oom_score_adj", e->oom_score_adj);
	w_i64(w, "trigger_pid", e->trigger_pid);
	w_kstr(w, "trigger_comm", e->trigger_comm, sizeof(e->trigger_comm), 0);
	w_u64(w, "trigger_cgroup_id", e->trigger_cgroup_id);
}

int format_event_jsonw(struct format_json_cache *fc, struct jsonw *w,
		       const struct moat_event_hdr *h, const struct container_info *c,
		       int64_t offset_ns)
{
	size_t start = w->len;

	if (h->type >= MOAT_EV_MAX)
		return -EINVAL;
	jsonw_obj_open(w);
	w_str(w, "type", event_type_name(h->type));
	w_time(w, fc, unix_ns_of(h, offset_ns));
	w_u64(w, "ts_ns", h->ts_ns);
	w_i64(w, "cpu", h->cpu);
	w_u64(w, "cgroup_id", h->cgroup_id);
	w_i64(w, "pid", h->pid);
	w_i64(w, "tid", h->tid);
	w_i64(w, "uid", h->uid);
	w_i64(w, "gid", h->gid);
	w_kstr(w, "comm", h->comm, sizeof(h->comm), 0);
	JSONW_KEY(w, "container");
	if (c) {
		jsonw_obj_open(w);
		w_str(w, "id", c->id);
		w_str(w, "name", c->name);
		w_str(w, "image", c->image);
		jsonw_obj_close(w);
	} else {
		jsonw_null(w);
	}
	switch (h->type) {
	case MOAT_EV_CONNECT:
	case MOAT_EV_SENDMSG: w_net(w, (const struct moat_net_event *)h); break;
	case MOAT_EV_EXEC: w_exec(w, (const struct moat_exec_event *)h); break;
	case MOAT_EV_EXIT: w_exit(w, (const struct moat_exit_event *)h); break;
	case MOAT_EV_DNS_QUERY:
	case MOAT_EV_DNS_ANSWER: w_dns(w, (const struct moat_dns_event *)h); break;
	case MOAT_EV_SOCKET: w_socket(w, (const struct moat_socket_event *)h); break;
	case MOAT_EV_PACKET: w_packet(w, (const struct moat_packet_event *)h); break;
	case MOAT_EV_OOM: w_oom(w, (const struct moat_oom_event *)h); break;
	}
	jsonw_obj_close(w);
	if (w->err) {
		int err = w->err;

		w->err = 0;
		jsonw_truncate(w, start);
		w->comma = 0;
		return err;
	}
	return 0;
}

const char *format_event_json_line(struct format_json_cache *fc, const struct moat_event_hdr *h,
				   const struct container_info *c, int64_t offset_ns)
{
	int err;

	jsonw_reset(&fc->line);
	err = format_event_jsonw(fc, &fc->line, h, c, offset_ns);

	if (err) {
		errno = -err;
		return NULL;
	}
	return fc->line.buf;
}

void format_json_cache_free(struct format_json_cache *fc)
{
	jsonw_free(&fc->line);
	fc->ts_valid = 0;
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

	fmt_time(unix_ns_of(h, offset_ns), ts, sizeof(ts), 1);
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
