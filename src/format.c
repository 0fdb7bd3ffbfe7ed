/* format.c - events as JSON lines (json-c) or as a readable table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- JSON ----
 *
 * Events are written as JSON text directly, not built as json-c objects: building costs a
 * malloc per value and a hash table per object, ~13 us per DNS event, and `moat trace
 * --json` fell behind the ring buffer at ~75k events/s (docs/performance.md section 1).
 * The writer below emits the same document (same keys, same order, the same escapes as
 * json-c's plain output except that '/' is not escaped). format_event_json parses it back
 * for callers that want an object; the tests do, so every field is checked through a real
 * JSON parser. */

static void jb_grow(struct format_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (b->err || b->len + more + 1 <= b->cap)
		return;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void jb_raw(struct format_buf *b, const char *s, size_t n)
{
	jb_grow(b, n);
	if (b->err)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void jb_c(struct format_buf *b, char c)
{
	jb_raw(b, &c, 1);
}

/* A separator before a member or element, unless it is the first of its container. */
static void jb_sep(struct format_buf *b)
{
	if (b->len && b->p[b->len - 1] != '{' && b->p[b->len - 1] != '[' && b->p[b->len - 1] != ':')
		jb_c(b, ',');
}

static void jb_strn(struct format_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	jb_grow(b, n * 6 + 2);
	if (b->err)
		return;
	b->p[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char *o = b->p + b->len;

		if (c == '"' || c == '\\') {
			o[0] = '\\';
			o[1] = (char)c;
			b->len += 2;
		} else if (c < 0x20) {
			const char *e = c == '\b'   ? "b"
					: c == '\f' ? "f"
					: c == '\n' ? "n"
					: c == '\r' ? "r"
					: c == '\t' ? "t"
						    : NULL;

			if (e) {
				o[0] = '\\';
				o[1] = e[0];
				b->len += 2;
			} else {
				memcpy(o, "\\u00", 4);
				o[4] = hex[c >> 4];
				o[5] = hex[c & 15];
				b->len += 6;
			}
		} else {
			o[0] = (char)c;
			b->len++;
		}
	}
	b->p[b->len++] = '"';
	b->p[b->len] = 0;
}

static void jb_key(struct format_buf *b, const char *k)
{
	jb_sep(b);
	jb_strn(b, k, strlen(k));
	jb_c(b, ':');
}

static void jb_str(struct format_buf *b, const char *k, const char *v)
{
	jb_key(b, k);
	if (v)
		jb_strn(b, v, strlen(v));
	else
		jb_raw(b, "null", 4);
}

/* A possibly unterminated kernel string of at most n bytes. */
static void jb_kstr(struct format_buf *b, const char *k, const char *v, size_t n)
{
	jb_key(b, k);
	jb_strn(b, v, strnlen(v, n));
}

static void jb_i64(struct format_buf *b, const char *k, int64_t v)
{
	char num[24];

	if (k)
		jb_key(b, k);
	else
		jb_sep(b);
	jb_raw(b, num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)v));
}

static void jb_u64(struct format_buf *b, const char *k, uint64_t v)
{
	char num[24];

	jb_key(b, k);
	jb_raw(b, num, (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)v));
}

static void jb_bool(struct format_buf *b, const char *k, int v)
{
	jb_key(b, k);
	jb_raw(b, v ? "true" : "false", v ? 4 : 5);
}

/* An array element that is a string. */
static void jb_elem(struct format_buf *b, const char *v, size_t n)
{
	jb_sep(b);
	jb_strn(b, v, n);
}

static void jb_argv(struct format_buf *b, const struct moat_exec_event *e)
{
	size_t len = e->args_len < MOAT_ARGS_LEN ? e->args_len : MOAT_ARGS_LEN;
	size_t i = 0;

	jb_key(b, "argv");
	jb_c(b, '[');
	while (i < len) {
		size_t n = strnlen(e->args + i, len - i);

		jb_elem(b, e->args + i, n);
		i += n + 1;
	}
	jb_c(b, ']');
}

json_object *format_argv(const struct moat_exec_event *e)
{
	struct format_buf b = {0};
	json_object *o;

	jb_argv(&b, e);
	/* "argv":[...] -> the array */
	o = b.err ? NULL : json_tokener_parse(b.p + strlen("\"argv\":"));
	free(b.p);
	return o;
}

static void add_net(struct format_buf *b, const struct moat_net_event *e)
{
	char a[64];

	jb_u64(b, "sock_cookie", e->sock_cookie);
	jb_str(b, "family", e->family == AF_INET6 ? "ipv6" : "ipv4");
	jb_str(b, "protocol", event_proto_name(e->protocol));
	jb_str(b, "daddr", event_addr_str(e->family, e->daddr, a, sizeof(a)));
	jb_i64(b, "dport", e->dport);
	jb_str(b, "verdict", event_verdict_name(e->verdict));
	jb_str(b, "scope", event_scope_name(e->scope));
	jb_str(b, "mode", event_mode_name(e->mode));
	jb_i64(b, "rule_id", e->rule_id);
}

static void add_exec(struct format_buf *b, const struct moat_exec_event *e)
{
	jb_i64(b, "ppid", e->ppid);
	jb_kstr(b, "filename", e->filename, sizeof(e->filename));
	if (strnlen(e->interp, sizeof(e->interp)))
		jb_kstr(b, "interp", e->interp, sizeof(e->interp));
	else
		jb_str(b, "interp", NULL);
	if (strnlen(e->exe, sizeof(e->exe)))
		jb_kstr(b, "exe", e->exe, sizeof(e->exe));
	else
		jb_str(b, "exe", NULL);
	jb_i64(b, "argc", e->argc);
	jb_argv(b, e);
	jb_bool(b, "argv_truncated", e->flags & MOAT_EXEC_F_ARGS_TRUNC);
	jb_bool(b, "killed", e->flags & MOAT_EXEC_F_KILLED);
	jb_i64(b, "kill_rule", e->kill_rule);
}

static void add_exit(struct format_buf *b, const struct moat_exit_event *e)
{
	jb_i64(b, "ppid", e->ppid);
	jb_i64(b, "exit_code", (e->exit_code >> 8) & 0xff);
	jb_i64(b, "signal", e->exit_code & 0x7f);
	jb_u64(b, "start_ns", e->start_ns);
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

static void add_dns(struct format_buf *b, const struct moat_dns_event *e)
{
	const char *q = event_qtype_name(e->qtype), *r = event_rcode_name(e->rcode);
	char a[64];

	jb_u64(b, "sock_cookie", e->sock_cookie);
	jb_i64(b, "id", e->id);
	jb_kstr(b, "qname", e->qname, sizeof(e->qname));
	if (q)
		jb_str(b, "qtype", q);
	else
		jb_i64(b, "qtype", e->qtype);
	jb_str(b, "transport", e->flags & MOAT_DNS_F_TCP ? "tcp" : "udp");
	jb_str(b, "saddr", event_addr_str(e->family, e->saddr, a, sizeof(a)));
	jb_i64(b, "sport", e->sport);
	jb_str(b, "daddr", event_addr_str(e->family, e->daddr, a, sizeof(a)));
	jb_i64(b, "dport", e->dport);
	jb_key(b, "flags");
	jb_c(b, '[');
	for (size_t i = 0; i < sizeof(dns_flag_names) / sizeof(dns_flag_names[0]); i++)
		if (e->flags & dns_flag_names[i].bit)
			jb_elem(b, dns_flag_names[i].name, strlen(dns_flag_names[i].name));
	jb_c(b, ']');
	if (e->hdr.type != MOAT_EV_DNS_ANSWER)
		return;
	if (r)
		jb_str(b, "rcode", r);
	else
		jb_i64(b, "rcode", e->rcode);
	jb_i64(b, "ancount", e->ancount);
	jb_key(b, "cnames");
	jb_c(b, '[');
	for (unsigned i = 0; i < e->n_cnames && i < MOAT_DNS_MAX_CNAMES; i++)
		jb_elem(b, e->cnames[i], strnlen(e->cnames[i], sizeof(e->cnames[i])));
	jb_c(b, ']');
	jb_key(b, "answers");
	jb_c(b, '[');
	for (unsigned i = 0; i < e->n_addrs && i < MOAT_DNS_MAX_ADDRS; i++) {
		jb_sep(b);
		jb_c(b, '{');
		jb_str(b, "addr",
		       event_addr_str(e->addrs[i].family, e->addrs[i].addr, a, sizeof(a)));
		jb_i64(b, "ttl", e->addrs[i].ttl);
		jb_c(b, '}');
	}
	jb_c(b, ']');
}

int format_event_jsonl(struct format_buf *b, const struct moat_event_hdr *h,
		       const struct container_info *c, int64_t offset_ns)
{
	char ts[64];

	b->len = 0;
	b->err = 0;
	fmt_time(offset_ns + (int64_t)h->ts_ns, ts, sizeof(ts), 0);
	jb_c(b, '{');
	jb_str(b, "type", event_type_name(h->type));
	jb_str(b, "time", ts);
	jb_u64(b, "ts_ns", h->ts_ns);
	jb_i64(b, "cpu", h->cpu);
	jb_u64(b, "cgroup_id", h->cgroup_id);
	jb_i64(b, "pid", h->pid);
	jb_i64(b, "tid", h->tid);
	jb_i64(b, "uid", h->uid);
	jb_i64(b, "gid", h->gid);
	jb_kstr(b, "comm", h->comm, sizeof(h->comm));
	if (c) {
		jb_key(b, "container");
		jb_c(b, '{');
		jb_str(b, "id", c->id);
		jb_str(b, "name", c->name);
		jb_str(b, "image", c->image);
		jb_c(b, '}');
	} else {
		jb_str(b, "container", NULL);
	}
	switch (h->type) {
	case MOAT_EV_CONNECT:
	case MOAT_EV_SENDMSG: add_net(b, (const struct moat_net_event *)h); break;
	case MOAT_EV_EXEC: add_exec(b, (const struct moat_exec_event *)h); break;
	case MOAT_EV_EXIT: add_exit(b, (const struct moat_exit_event *)h); break;
	case MOAT_EV_DNS_QUERY:
	case MOAT_EV_DNS_ANSWER: add_dns(b, (const struct moat_dns_event *)h); break;
	}
	jb_raw(b, "}\n", 2);
	return b->err ? -ENOMEM : 0;
}

json_object *format_event_json(const struct moat_event_hdr *h, const struct container_info *c,
			       int64_t offset_ns)
{
	struct format_buf b = {0};
	json_object *o = NULL;

	if (format_event_jsonl(&b, h, c, offset_ns) == 0)
		o = json_tokener_parse(b.p);
	free(b.p);
	if (!o)
		errno = ENOMEM;
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
