/* fuzz_jsonw.c - libFuzzer harness for the fast JSON writer (src/decode/jsonw.c) and the event
 * lines written through it (format_event_jsonw: `moat trace --json`).
 *
 * Input: a mode byte, then the bytes it uses.
 *   mode even: the rest is split on 0xff bytes into strings, written as an object of string
 *     members, an array of them and numbers taken from the bytes; the reference is the same
 *     document built with json-c.
 *   mode odd: the rest fills an event struct (type chosen by the next byte, every other byte
 *     hostile: counts, flags, strings with no NUL, NULs inside) and, when long enough, a
 *     container (id, name, image filled to their last byte); the reference is
 *     format_event_json's object.
 * Oracle (tests/jsonw_oracle.h): the line, parsed by json-c, equals the reference member by
 * member and in order; it is valid UTF-8 with no raw control byte and no escaped '/'. */
#include "fuzz.h"
#include "../jsonw_oracle.h"
#include "event.h"
#include "format.h"
#include "jsonw.h"

static char why[1 << 16];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

static void check(const char *line, size_t len, json_object *ref)
{
	if (!oracle_check(line, len, ref, why, sizeof(why))) {
		dprintf(2, "fuzz: line: %.*s\n", (int)(len > 4000 ? 4000 : len), line);
		fuzz_fail(why);
	}
}

static uint64_t take_u64(const uint8_t *d, size_t n, size_t at)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8 && at + i < n; i++)
		v |= (uint64_t)d[at + i] << (8 * i);
	return v;
}

static void strings_mode(const uint8_t *d, size_t n)
{
	struct jsonw w = {0};
	json_object *ref = json_object_new_object(), *arr = json_object_new_array();
	size_t i = 0, k = 0;
	char key[32];

	jsonw_obj_open(&w);
	while (i <= n && k < 64) {
		size_t e = i;

		while (e < n && d[e] != 0xff)
			e++;
		snprintf(key, sizeof(key), "k%zu/", k++);
		jsonw_key(&w, key);
		jsonw_str(&w, (const char *)d + i, e - i);
		json_object_object_add(
		    ref, key, json_object_new_string_len((const char *)d + i, (int)(e - i)));
		json_object_array_add(
		    arr, json_object_new_string_len((const char *)d + i, (int)(e - i)));
		i = e + 1;
	}
	jsonw_key(&w, "a");
	jsonw_arr_open(&w);
	for (size_t j = 0; j < json_object_array_length(arr); j++) {
		json_object *s = json_object_array_get_idx(arr, j);

		jsonw_str(&w, json_object_get_string(s), (size_t)json_object_get_string_len(s));
	}
	for (size_t at = 0; at < n && at < 64; at += 8) {
		uint64_t v = take_u64(d, n, at);

		jsonw_i64(&w, (int64_t)v);
		json_object_array_add(arr, json_object_new_int64((int64_t)v));
		jsonw_u64(&w, v);
		json_object_array_add(arr, json_object_new_uint64(v));
	}
	jsonw_arr_close(&w);
	json_object_object_add(ref, "a", arr);
	jsonw_obj_close(&w);
	if (w.err)
		fuzz_fail("jsonw ran out of memory");
	check(w.buf, w.len, ref);
	json_object_put(ref);
	jsonw_free(&w);
}

static void event_mode(const uint8_t *d, size_t n)
{
	static const size_t sizes[MOAT_EV_MAX] = {
	    [MOAT_EV_CONNECT] = sizeof(struct moat_net_event),
	    [MOAT_EV_SENDMSG] = sizeof(struct moat_net_event),
	    [MOAT_EV_EXEC] = sizeof(struct moat_exec_event),
	    [MOAT_EV_EXIT] = sizeof(struct moat_exit_event),
	    [MOAT_EV_DNS_QUERY] = sizeof(struct moat_dns_event),
	    [MOAT_EV_DNS_ANSWER] = sizeof(struct moat_dns_event),
	    [MOAT_EV_SOCKET] = sizeof(struct moat_socket_event),
	    [MOAT_EV_PACKET] = sizeof(struct moat_packet_event),
	    [MOAT_EV_OOM] = sizeof(struct moat_oom_event),
	};
	/* Large enough for any event, aligned for every struct. */
	static union {
		struct moat_dns_event dns;
		struct moat_exec_event exec;
		uint64_t align;
	} ev;
	static struct container_info c;
	struct format_json_cache fc = {0};
	struct jsonw w = {0};
	unsigned type;
	size_t size, used;
	int64_t offset;
	json_object *ref;
	const char *line;

	if (n < 1)
		return;
	type = 1 + d[0] % (MOAT_EV_MAX - 1);
	d++;
	n--;
	size = sizes[type];
	memset(&ev, 0, sizeof(ev));
	used = n < size ? n : size;
	memcpy(&ev, d, used);
	ev.dns.hdr.type = (uint16_t)type;
	ev.dns.hdr.size = (uint16_t)size;
	offset = (int64_t)take_u64(d, n, used);
	used += used + 8 <= n ? 8 : 0;
	if (n - used >= sizeof(c.id) + sizeof(c.name) + sizeof(c.image)) {
		memset(&c, 0, sizeof(c));
		memcpy(c.id, d + used, sizeof(c.id) - 1);
		used += sizeof(c.id);
		memcpy(c.name, d + used, sizeof(c.name) - 1);
		used += sizeof(c.name);
		memcpy(c.image, d + used, sizeof(c.image) - 1);
		used += sizeof(c.image);
	}
	(void)used;
	for (int twice = 0; twice < 2; twice++) {
		const struct container_info *cp = twice ? NULL : &c;

		ref = format_event_json(&ev.dns.hdr, cp, offset);
		if (!ref)
			fuzz_fail("format_event_json returned NULL");
		line = format_event_json_line(&fc, &ev.dns.hdr, cp, offset);
		if (!line)
			fuzz_fail("format_event_json_line returned NULL");
		check(line, strlen(line), ref);
		/* The same event appended to a batch after another one. */
		jsonw_reset(&w);
		if (format_event_jsonw(&fc, &w, &ev.dns.hdr, cp, offset))
			fuzz_fail("format_event_jsonw failed");
		jsonw_newline(&w);
		if (format_event_jsonw(&fc, &w, &ev.dns.hdr, cp, offset))
			fuzz_fail("format_event_jsonw failed (second)");
		if (w.len != 2 * strlen(line) + 1 || memcmp(w.buf, line, strlen(line)) ||
		    memcmp(w.buf + strlen(line) + 1, line, strlen(line)))
			fuzz_fail("a batch of two differs from two lines");
		json_object_put(ref);
	}
	jsonw_free(&w);
	format_json_cache_free(&fc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2)
		event_mode(data + 1, size - 1);
	else
		strings_mode(data + 1, size - 1);
	return 0;
}
