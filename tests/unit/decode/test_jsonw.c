/* test_jsonw.c - the fast JSON writer (src/decode/jsonw.c) and the event lines written through
 * it (format_event_jsonw, format_event_json_line: `moat trace --json`). Every line is parsed
 * with json-c and compared with format_event_json's object (tests/jsonw_oracle.h). No kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "test.h"
#include "jsonw_oracle.h"
#include "event.h"
#include "format.h"
#include "jsonw.h"

static char why[8192];

/* Hostile strings for the fixed-size fields: control bytes, quotes, backslashes, paths,
 * invalid UTF-8 (lone continuation, overlong, surrogate, above U+10FFFF, cut sequences),
 * C1 controls, U+2028, valid multi-byte text, a terminal escape. */
static const char *const hostile[] = {
    "/bin/sh",
    "a\"b\\c/d",
    "\x01\x02\x1b[2J\x7f\n\r\t\b\f",
    "\x80\xbf\xc0\xaf\xc1\xbf\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80\xf8\x88\x80\x80\x80\xff\xfe",
    "cut \xe2\x82",
    "\xc2\x9b"
    "31m \xc2\x85 \xe2\x80\xa8\xe2\x80\xa9",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf",
    "</script><script>alert(1)</script>",
    "\\u0000 \\\" \\/",
    "",
};
#define N_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

/* Fill a fixed-size kernel string: s, or (long) every byte non-NUL up to the end. */
static void kfill(char *dst, size_t size, const char *s, int long_form, unsigned seed)
{
	memset(dst, 0, size);
	if (long_form) {
		for (size_t i = 0; i < size; i++)
			dst[i] = (char)(0x01 + (seed * 131 + i * 37) % 0xff); /* no NUL, any byte */
		return;
	}
	memcpy(dst, s, strnlen(s, size));
}

/* Write h (with c) through the writer and check the line against format_event_json. */
static int check_event(struct format_json_cache *fc, const struct moat_event_hdr *h,
		       const struct container_info *c, int64_t offset_ns, const char *what)
{
	json_object *ref = format_event_json(h, c, offset_ns);
	const char *line = format_event_json_line(fc, h, c, offset_ns);
	int ok = ref && line && oracle_check(line, strlen(line), ref, why, sizeof(why));

	if (!ok)
		printf("# %s: %s\n# line: %s\n", what, line ? why : "no line", line ? line : "-");
	json_object_put(ref);
	return ok;
}

static void fill_hdr(struct moat_event_hdr *h, unsigned type, size_t size, unsigned k)
{
	h->type = (uint16_t)type;
	h->size = (uint16_t)size;
	h->cpu = k * 7;
	h->ts_ns = 1000000000ULL * k + k;
	h->cgroup_id = k % 2 ? UINT64_MAX : 4026531835ULL;
	h->pid = k % 3 ? 4242 : UINT32_MAX;
	h->tid = h->pid + 1;
	h->uid = k % 2 ? 0 : UINT32_MAX;
	h->gid = 1000;
	kfill(h->comm, sizeof(h->comm), hostile[k % N_HOSTILE], k % 4 == 3, k);
	if (k % 5 == 4) /* NULs inside the field: the first one ends the string */
		memcpy(h->comm, "ab\0cd\0ef", 8);
}

static void fill_container(struct container_info *c, unsigned k)
{
	memset(c, 0, sizeof(*c));
	if (k % 3 == 2) { /* max-length names: every byte of each field used */
		memset(c->id, 'f', sizeof(c->id) - 1);
		for (size_t i = 0; i < sizeof(c->name) - 1; i++)
			c->name[i] = (char)(0x01 + (k + i * 13) % 0xff);
		for (size_t i = 0; i < sizeof(c->image) - 1; i++)
			c->image[i] = (char)(0x01 + (k * 3 + i * 29) % 0xff);
		return;
	}
	snprintf(c->id, sizeof(c->id), "0123456789abcdef%u", k);
	snprintf(c->name, sizeof(c->name), "%s", hostile[(k + 1) % N_HOSTILE]);
	snprintf(c->image, sizeof(c->image), "registry.example:5000/%s", hostile[k % N_HOSTILE]);
}

/* Every event type, each in several hostile variants, with and without a container. */
static void test_every_type(void)
{
	struct format_json_cache fc = {0};
	struct container_info c;
	struct moat_dns_event *d = calloc(1, sizeof(*d));
	struct moat_exec_event *x = calloc(1, sizeof(*x));
	int bad[MOAT_EV_MAX] = {0}, runs[MOAT_EV_MAX] = {0};

	if (!d || !x)
		abort();
	for (unsigned k = 0; k < 4 * N_HOSTILE; k++) {
		const struct container_info *cp = k % 4 == 1 ? NULL : &c;
		int64_t off = k % 7 == 6 ? -(int64_t)(k * 1000000007ULL) : 1764000000000000000LL;

		fill_container(&c, k);
		for (unsigned t = MOAT_EV_CONNECT; t < MOAT_EV_MAX; t++) {
			union {
				struct moat_net_event n;
				struct moat_exit_event e;
				struct moat_socket_event s;
				struct moat_packet_event p;
				struct moat_oom_event o;
			} u;
			struct moat_event_hdr *h = &u.n.hdr;

			memset(&u, 0, sizeof(u));
			switch (t) {
			case MOAT_EV_CONNECT:
			case MOAT_EV_SENDMSG:
				fill_hdr(h, t, sizeof(u.n), k);
				u.n.family = k % 2 ? AF_INET6 : AF_INET;
				u.n.protocol = (uint8_t)(k * 11);
				u.n.dport = (uint16_t)(k * 4099);
				u.n.verdict = (uint8_t)(k % 4);
				u.n.scope = (uint8_t)(k % 7);
				u.n.mode = (uint8_t)(k % 3);
				u.n.rule_id = k % 2 ? UINT32_MAX : k;
				for (int i = 0; i < 16; i++)
					u.n.daddr[i] = (uint8_t)(k * 17 + i * 255);
				u.n.sock_cookie = UINT64_MAX - k;
				u.n.suppressed = k;
				break;
			case MOAT_EV_EXEC: {
				size_t used = 0;

				memset(x, 0, sizeof(*x));
				h = &x->hdr;
				fill_hdr(h, t, sizeof(*x), k);
				x->ppid = k;
				kfill(x->filename, sizeof(x->filename), hostile[k % N_HOSTILE],
				      k % 4 == 2, k);
				kfill(x->interp, sizeof(x->interp), hostile[(k + 3) % N_HOSTILE],
				      k % 6 == 5, k);
				kfill(x->exe, sizeof(x->exe), hostile[(k + 5) % N_HOSTILE],
				      k % 8 == 7, k);
				if (k % 3 == 0) {
					/* A 4 KiB argv claimed; MOAT_ARGS_LEN bytes carried, no
					 * NUL. */
					kfill(x->args, sizeof(x->args), "", 1, k);
					x->args_len = 4096;
					x->flags = MOAT_EXEC_F_ARGS_TRUNC;
				} else {
					for (unsigned a = 0; a < N_HOSTILE; a++) {
						size_t n = strlen(hostile[(a + k) % N_HOSTILE]);

						memcpy(x->args + used, hostile[(a + k) % N_HOSTILE],
						       n);
						used += n + 1;
					}
					x->args_len = (uint32_t)used;
					x->flags = (uint8_t)(k * 5);
				}
				x->argc = (uint16_t)(k * 1000);
				x->kill_rule = k;
				break;
			}
			case MOAT_EV_EXIT:
				fill_hdr(h, t, sizeof(u.e), k);
				u.e.ppid = k;
				u.e.exit_code = k % 2 ? INT32_MIN : (int32_t)(k * 257);
				u.e.start_ns = UINT64_MAX / (k + 1);
				break;
			case MOAT_EV_DNS_QUERY:
			case MOAT_EV_DNS_ANSWER:
				memset(d, 0, sizeof(*d));
				h = &d->hdr;
				fill_hdr(h, t, sizeof(*d), k);
				d->sock_cookie = k;
				d->id = (uint16_t)(k * 7919);
				d->flags = (uint16_t)(k * 0x1111);
				d->qtype = (uint16_t)(k % 2 ? 28 : 65000 + k);
				d->rcode = (uint8_t)(k % 9);
				d->family = k % 2 ? AF_INET6 : AF_INET;
				d->ancount = (uint16_t)k;
				d->sport = 53;
				d->dport = (uint16_t)(k * 31);
				kfill(d->qname, sizeof(d->qname), hostile[k % N_HOSTILE],
				      k % 4 == 0, k);
				d->n_cnames = (uint8_t)(k % 5 == 4 ? 200 : k % 5);
				d->n_addrs = (uint8_t)(k % 3 == 0 ? 255 : k % 17);
				for (int i = 0; i < MOAT_DNS_MAX_CNAMES; i++)
					kfill(d->cnames[i], sizeof(d->cnames[i]),
					      hostile[(k + i) % N_HOSTILE], (k + i) % 3 == 0,
					      k + i);
				for (int i = 0; i < MOAT_DNS_MAX_ADDRS; i++) {
					d->addrs[i].family = (i + k) % 2 ? AF_INET6 : AF_INET;
					d->addrs[i].ttl = UINT32_MAX - (uint32_t)i;
					for (int j = 0; j < 16; j++)
						d->addrs[i].addr[j] = (uint8_t)(i * 16 + j + k);
				}
				break;
			case MOAT_EV_SOCKET:
				fill_hdr(h, t, sizeof(u.s), k);
				u.s.family = (uint16_t)(k % 4 == 0 ? 17 : k % 4 == 1 ? 10 : 2);
				u.s.type = (uint16_t)(k % 12);
				u.s.protocol = (uint16_t)(k * 4099);
				u.s.port = (uint16_t)(k * 53);
				u.s.op = (uint8_t)(k % 3);
				u.s.verdict = (uint8_t)(k % 4);
				u.s.mode = (uint8_t)(k % 2);
				u.s.rule_id = k;
				for (int i = 0; i < 16; i++)
					u.s.addr[i] = (uint8_t)(k + i);
				break;
			case MOAT_EV_PACKET:
				fill_hdr(h, t, sizeof(u.p), k);
				u.p.family = (uint8_t)(k % 3 == 0   ? 0
						       : k % 3 == 1 ? AF_INET
								    : AF_INET6);
				u.p.protocol = (uint8_t)(k * 3);
				u.p.reason = (uint8_t)(k % 12);
				u.p.where = (uint8_t)(k % 5);
				u.p.rule_id = k;
				u.p.sport = (uint16_t)k;
				u.p.dport = (uint16_t)(k * 1000);
				u.p.ethertype = (uint16_t)(k % 2 ? 0x0806 : k * 4243);
				u.p.ifindex = k;
				u.p.suppressed = k;
				for (int i = 0; i < 16; i++)
					u.p.saddr[i] = u.p.daddr[i] = (uint8_t)(k * i);
				for (int i = 0; i < 6; i++)
					u.p.smac[i] = (uint8_t)(k * 41 + i * 255);
				break;
			case MOAT_EV_OOM:
				fill_hdr(h, t, sizeof(u.o), k);
				u.o.total_vm_kb = UINT64_MAX - k;
				u.o.anon_rss_kb = k;
				u.o.file_rss_kb = (uint64_t)k << 40;
				u.o.shmem_rss_kb = 0;
				u.o.trigger_cgroup_id = k;
				u.o.trigger_pid = k;
				u.o.oom_score_adj = (int16_t)(k % 2 ? -1000 : 1000);
				kfill(u.o.trigger_comm, sizeof(u.o.trigger_comm),
				      hostile[(k + 2) % N_HOSTILE], k % 3 == 1, k);
				break;
			}
			runs[t]++;
			if (!check_event(&fc, h, cp, off, event_type_name(t)))
				bad[t]++;
		}
	}
	for (unsigned t = MOAT_EV_CONNECT; t < MOAT_EV_MAX; t++) {
		char name[160];

		snprintf(
		    name, sizeof(name),
		    "jsonw: %s lines parse back equal to format_event_json's object (%d hostile "
		    "variants)",
		    event_type_name(t), runs[t]);
		CHECK(bad[t] == 0, name, "%d of %d differ, see above", bad[t], runs[t]);
	}
	format_json_cache_free(&fc);
	free(d);
	free(x);
}

/* The writer's own text for strings: exact bytes. */
static void test_strings(void)
{
	struct jsonw w = {0};
	char all[256];
	json_object *ref;

	jsonw_cstr(&w, "/bin/sh");
	CHECK_EQ_STR(w.buf, "\"/bin/sh\"", "jsonw: '/' is not escaped (/bin/sh)");
	jsonw_reset(&w);
	jsonw_str(&w, "a\"b\\c\x01\n\t\x1f\x7f", 10);
	CHECK_EQ_STR(w.buf, "\"a\\\"b\\\\c\\u0001\\n\\t\\u001f\\u007f\"",
		     "jsonw: quote, backslash, control bytes and DEL escaped");
	jsonw_reset(&w);
	jsonw_str(&w, "x\0y", 3);
	CHECK_EQ_STR(w.buf, "\"x\\u0000y\"", "jsonw: a NUL inside a string is \\u0000");
	jsonw_reset(&w);
	jsonw_cstr(&w, "\xff\xc3\xa9\xc0\xaf\xed\xa0\x80");
	CHECK_EQ_STR(
	    w.buf,
	    "\"\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
	    "jsonw: invalid UTF-8 (0xff, overlong, surrogate) is U+FFFD per byte, valid kept");
	jsonw_reset(&w);
	jsonw_cstr(&w, "\xc2\x9b\xe2\x80\xa8");
	CHECK_EQ_STR(w.buf, "\"\\u009b\\u2028\"", "jsonw: C1 controls and U+2028 escaped");

	/* Every byte value, alone and all together, against json-c's reading. */
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	jsonw_reset(&w);
	jsonw_arr_open(&w);
	ref = json_object_new_array();
	for (int i = 0; i < 256; i++) {
		jsonw_str(&w, all + i, 1);
		json_object_array_add(ref, json_object_new_string_len(all + i, 1));
	}
	jsonw_str(&w, all, sizeof(all));
	json_object_array_add(ref, json_object_new_string_len(all, sizeof(all)));
	jsonw_arr_close(&w);
	CHECK(oracle_check(w.buf, w.len, ref, why, sizeof(why)),
	      "jsonw: every byte value, alone and together, parses back as json-c reads it", "%s",
	      why);
	json_object_put(ref);
	jsonw_free(&w);
}

/* Numbers, nesting, newlines and growth from an empty buffer. */
static void test_values(void)
{
	struct jsonw w;
	json_object *ref = json_object_new_object(), *arr = json_object_new_array();
	int ok = 1;

	jsonw_init(&w);
	jsonw_obj_open(&w);
	jsonw_key(&w, "min");
	jsonw_i64(&w, INT64_MIN);
	json_object_object_add(ref, "min", json_object_new_int64(INT64_MIN));
	jsonw_key(&w, "max");
	jsonw_u64(&w, UINT64_MAX);
	json_object_object_add(ref, "max", json_object_new_uint64(UINT64_MAX));
	jsonw_key(&w, "zero");
	jsonw_i64(&w, 0);
	json_object_object_add(ref, "zero", json_object_new_int64(0));
	jsonw_key(&w, "t");
	jsonw_bool(&w, 7);
	json_object_object_add(ref, "t", json_object_new_boolean(1));
	jsonw_key(&w, "n");
	jsonw_null(&w);
	json_object_object_add(ref, "n", NULL);
	jsonw_key(&w, "a\"k/");
	jsonw_arr_open(&w);
	for (int i = 0; i < 5000; i++) { /* grows the buffer many times */
		jsonw_i64(&w, -i);
		json_object_array_add(arr, json_object_new_int64(-i));
	}
	jsonw_obj_open(&w);
	jsonw_obj_close(&w);
	json_object_array_add(arr, json_object_new_object());
	jsonw_arr_open(&w);
	jsonw_arr_close(&w);
	json_object_array_add(arr, json_object_new_array());
	jsonw_arr_close(&w);
	json_object_object_add(ref, "a\"k/", arr);
	jsonw_obj_close(&w);
	CHECK(w.err == 0 && oracle_check(w.buf, w.len, ref, why, sizeof(why)),
	      "jsonw: int64 min, uint64 max, booleans, null, nesting, 5000 elements", "%s", why);
	jsonw_newline(&w);
	jsonw_obj_open(&w);
	jsonw_obj_close(&w);
	ok = w.len > 3 && !strcmp(w.buf + w.len - 3, "\n{}");
	CHECK(ok, "jsonw: a newline starts a new document with no comma", "%s", w.buf + w.len - 3);
	json_object_put(ref);
	jsonw_free(&w);
}

/* Several events appended to one buffer, as moat trace batches them. */
static void test_batch(void)
{
	struct format_json_cache fc = {0};
	struct jsonw w = {0};
	struct moat_net_event e = {0};
	json_object *ref;
	size_t start[3];
	int ok = 1;

	e.hdr.type = MOAT_EV_CONNECT;
	e.hdr.size = sizeof(e);
	e.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.1", e.daddr);
	for (int i = 0; i < 3; i++) {
		e.hdr.ts_ns = (uint64_t)i * 999999999ULL;
		start[i] = w.len;
		ok &= format_event_jsonw(&fc, &w, &e.hdr, NULL, 1764000000000000000LL) == 0;
		jsonw_newline(&w);
	}
	for (int i = 0; i < 3 && ok; i++) {
		char *nl = strchr(w.buf + start[i], '\n');

		e.hdr.ts_ns = (uint64_t)i * 999999999ULL;
		ref = format_event_json(&e.hdr, NULL, 1764000000000000000LL);
		ok = nl && oracle_check(w.buf + start[i], (size_t)(nl - (w.buf + start[i])), ref,
					why, sizeof(why));
		json_object_put(ref);
	}
	CHECK(ok, "jsonw: events appended to one buffer, one per line, each equal to its object",
	      "%s", why);
	e.hdr.type = MOAT_EV_MAX;
	CHECK(format_event_jsonw(&fc, &w, &e.hdr, NULL, 0) == -EINVAL &&
		  format_event_json_line(&fc, &e.hdr, NULL, 0) == NULL,
	      "jsonw: an event type beyond the known ones is refused", "written");
	jsonw_free(&w);
	format_json_cache_free(&fc);
}

int main(void)
{
	test_strings();
	test_values();
	test_batch();
	test_every_type();
	return TEST_EXIT();
}
