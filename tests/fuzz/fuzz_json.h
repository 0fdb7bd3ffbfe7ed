/* fuzz_json.h - a structure-aware mutator for the JSON harnesses.
 *
 * Byte mutations rarely turn "egress": "enforce" into "egress": null: the
 * quotes must go and the word must come in one step. This mutator parses
 * the input with json-c, changes one node of the tree (a value replaced by
 * null, a number at an edge, a string that is empty, huge, holds a NUL
 * character or invalid UTF-8, an array or object; a key removed or added;
 * an element dropped, appended or duplicated; a node copied over another;
 * nesting deeper than the parser allows) and writes the tree back. Half of
 * the mutations stay libFuzzer's own byte mutations (LLVMFuzzerMutate, with
 * the -dict tokens), which also cover text that does not parse.
 *
 * A harness includes this once, after fuzz.h, with optionally:
 *   FUZZ_JSON_PREFIX  bytes before the JSON that the tree mutations leave as they are
 *   FUZZ_JSON_LINES   1 when the text is JSON lines: one line is mutated at a time
 */
#ifndef MOAT_FUZZ_JSON_H
#define MOAT_FUZZ_JSON_H

#include <json-c/json.h>

#ifndef FUZZ_JSON_PREFIX
#define FUZZ_JSON_PREFIX 0
#endif
#ifndef FUZZ_JSON_LINES
#define FUZZ_JSON_LINES 0
#endif

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Keys the parsers look for, to add where they are not. */
static const char *const fj_keys[] = {"state_dir",
				      "alerts_file",
				      "cgroups",
				      "registry",
				      "lists",
				      "exec",
				      "actions",
				      "containers",
				      "nice",
				      "ring_buffer_kib",
				      "egress",
				      "egress_rules",
				      "policies",
				      "max_entries",
				      "blacklist",
				      "shells",
				      "attempts",
				      "match",
				      "exec_allow",
				      "kill_exec",
				      "pause",
				      "id",
				      "name",
				      "description",
				      "enabled",
				      "priority",
				      "severity_threshold",
				      "target",
				      "names",
				      "images",
				      "labels",
				      "network_disconnect",
				      "default",
				      "rules",
				      "kind",
				      "comment",
				      "moat_registry",
				      "addrs",
				      "addr",
				      "ttl",
				      "last_seen",
				      "first_seen",
				      "count",
				      "cnames",
				      "seen",
				      "Id",
				      "Name",
				      "Config",
				      "State",
				      "NetworkSettings",
				      "Networks",
				      "Image",
				      "Entrypoint",
				      "Cmd",
				      "Healthcheck",
				      "Test",
				      "Labels",
				      "Status",
				      "Pid",
				      "ExitCode",
				      "StartedAt",
				      "Health",
				      "IPAddress",
				      "Type",
				      "Action",
				      "Actor",
				      "ID",
				      "Attributes",
				      "container",
				      "exitCode",
				      "signal",
				      "timeNano",
				      "time",
				      "severity",
				      "message",
				      "rule",
				      "source",
				      "trace_id",
				      "process",
				      "network",
				      "action",
				      "timestamp"};

/* Strings that tend to matter: the parsers' own words, and hostile text. */
static const char *const fj_strings[] = {"",
					 "a",
					 "monitor",
					 "enforce",
					 "interactive",
					 "allow",
					 "deny",
					 "allow-domain",
					 "deny-domain",
					 "allow-ip",
					 "deny-ip",
					 "*",
					 "*.example.com",
					 "example.com.",
					 "a..",
					 "10.0.0.0/8",
					 "2001:db8::/32",
					 "192.0.2.1",
					 "::ffff:192.0.2.1",
					 "300.1.1.1",
					 "INFO",
					 "WARNING",
					 "CRITICAL",
					 "pause",
					 "stop",
					 "alert",
					 "kill_exec",
					 "network_disconnect",
					 "CMD",
					 "CMD-SHELL",
					 "NONE",
					 "container",
					 "network",
					 "die",
					 "/etc/moat/x.json",
					 "relative/path",
					 "2024-05-01T14:23:01Z",
					 "9999-12-31T23:59:59Z",
					 "0001-01-01T00:00:00Z",
					 "1970-01-01T00:00:00-23:59",
					 "137",
					 "-2147483649",
					 "\x1b[31mred",
					 "\xc2\x85",
					 "\xff\xfe",
					 "\xed\xa0\x80",
					 "%s%n%x"};

static const int64_t fj_ints[] = {0,	      1,	  -1,		2,	    60,
				  255,	      256,	  65535,	2147483647, 2147483648LL,
				  4294967295, 4294967296, 1000000,	86400,	    1700000000,
				  INT64_MAX,  INT64_MIN,  -2147483648LL};

struct fj_rng {
	uint32_t s;
};

static uint32_t fj_next(struct fj_rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 17;
	r->s ^= r->s << 5;
	return r->s;
}

#define FJ_PICK(r, arr) ((arr)[fj_next(r) % (sizeof(arr) / sizeof((arr)[0]))])

/* A node of the tree and where it hangs: parent object (key) or array (index). */
struct fj_node {
	json_object *node, *parent;
	const char *key;
	size_t idx;
};

#define FJ_MAX_NODES 512

static void fj_collect(json_object *o, json_object *parent, const char *key, size_t idx,
		       struct fj_node *nodes, int *n)
{
	if (*n >= FJ_MAX_NODES)
		return;
	nodes[(*n)++] = (struct fj_node){o, parent, key, idx};
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) fj_collect(v, o, k, 0, nodes, n);
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			fj_collect(json_object_array_get_idx(o, i), o, NULL, i, nodes, n);
	}
}

/* A string of n bytes of c (n < 8192). */
static json_object *fj_long_string(size_t n, char c)
{
	static char buf[8192];

	memset(buf, c, n);
	return json_object_new_string_len(buf, (int)n);
}

/* A new value of a random kind. */
static json_object *fj_value(struct fj_rng *r)
{
	switch (fj_next(r) % 14) {
	case 0: return NULL; /* JSON null */
	case 1: return json_object_new_boolean(fj_next(r) & 1);
	case 2:
	case 3: return json_object_new_int64(FJ_PICK(r, fj_ints));
	case 4: return json_object_new_uint64(UINT64_MAX);
	case 5: return json_object_new_double(fj_next(r) & 1 ? 1e308 : -0.5);
	case 6:
	case 7: return json_object_new_string(FJ_PICK(r, fj_strings));
	case 8: return fj_long_string(fj_next(r) & 1 ? 256 : 4096 + fj_next(r) % 100, 'a');
	case 9: return json_object_new_string_len("a\0b", 3);
	case 10: return json_object_new_array();
	case 11: return json_object_new_object();
	case 12: {
		json_object *a = json_object_new_array();

		json_object_array_add(a, NULL);
		return a;
	}
	default: {
		/* Deeper than json-c's default limit (32). */
		json_object *o = json_object_new_array();

		for (int i = 0; i < 40; i++) {
			json_object *outer = json_object_new_array();

			json_object_array_add(outer, o);
			o = outer;
		}
		return o;
	}
	}
}

/* Put v where node n hangs (the old value is released). */
static void fj_replace(const struct fj_node *n, json_object *v)
{
	if (json_object_is_type(n->parent, json_type_object))
		json_object_object_add(n->parent, n->key, v);
	else
		json_object_array_put_idx(n->parent, n->idx, v);
}

/* Change one node of the tree at *root (which may be replaced). */
static void fj_mutate_tree(json_object **root, struct fj_rng *r)
{
	struct fj_node nodes[FJ_MAX_NODES];
	const struct fj_node *n;
	int count = 0;

	fj_collect(*root, NULL, NULL, 0, nodes, &count);
	n = &nodes[fj_next(r) % (unsigned)count];
	switch (fj_next(r) % 8) {
	case 0:
	case 1: /* a new value */
		if (!n->parent) {
			json_object_put(*root);
			*root = fj_value(r);
		} else {
			fj_replace(n, fj_value(r));
		}
		break;
	case 2: /* a copy of another node */
		if (n->parent) {
			json_object *copy = NULL;

			json_object_deep_copy(nodes[fj_next(r) % (unsigned)count].node, &copy,
					      NULL);
			fj_replace(n, copy);
		}
		break;
	case 3: /* a key removed, or an element */
		if (json_object_is_type(n->node, json_type_object) &&
		    json_object_object_length(n->node)) {
			int k = (int)(fj_next(r) % (unsigned)json_object_object_length(n->node));

			json_object_object_foreach(n->node, key, v)
			{
				(void)v;
				if (k-- == 0) {
					json_object_object_del(n->node, key);
					break;
				}
			}
		} else if (json_object_is_type(n->node, json_type_array) &&
			   json_object_array_length(n->node)) {
			json_object_array_del_idx(
			    n->node, fj_next(r) % json_object_array_length(n->node), 1);
		}
		break;
	case 4: /* a key or element added */
		if (json_object_is_type(n->node, json_type_object))
			json_object_object_add(n->node, FJ_PICK(r, fj_keys), fj_value(r));
		else if (json_object_is_type(n->node, json_type_array))
			json_object_array_add(n->node, fj_value(r));
		break;
	case 5: /* an element repeated */
		if (json_object_is_type(n->node, json_type_array) &&
		    json_object_array_length(n->node))
			json_object_array_add(
			    n->node, json_object_get(json_object_array_get_idx(
					 n->node, fj_next(r) % json_object_array_length(n->node))));
		break;
	case 6: /* a number or string nudged */
		if (n->parent && json_object_is_type(n->node, json_type_int)) {
			int64_t x = json_object_get_int64(n->node);

			/* Wrapping on purpose, without signed overflow. */
			fj_replace(n,
				   json_object_new_int64(
				       (int64_t)(fj_next(r) & 1 ? (uint64_t)x + 1 : -(uint64_t)x)));
		} else if (n->parent && json_object_is_type(n->node, json_type_string)) {
			char buf[512];
			size_t len = (size_t)json_object_get_string_len(n->node);

			len = len < sizeof(buf) / 2 ? len : sizeof(buf) / 2;
			memcpy(buf, json_object_get_string(n->node), len);
			len = LLVMFuzzerMutate((uint8_t *)buf, len, sizeof(buf));
			fj_replace(n, json_object_new_string_len(buf, (int)len));
		}
		break;
	default: /* wrapped in an array or an object */
		if (n->parent) {
			json_object *w =
			    fj_next(r) & 1 ? json_object_new_array() : json_object_new_object();
			json_object *v = json_object_get(n->node);

			if (json_object_is_type(w, json_type_array))
				json_object_array_add(w, v);
			else
				json_object_object_add(w, FJ_PICK(r, fj_keys), v);
			fj_replace(n, w);
		}
		break;
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	struct fj_rng r = {seed ? seed : 1};
	size_t start = FUZZ_JSON_PREFIX, end = size, out_len;
	const char *text;
	json_object *root;
	char *copy;
	int flags;

	if (size <= FUZZ_JSON_PREFIX || fj_next(&r) % 2)
		return LLVMFuzzerMutate(data, size, max_size);
	if (FUZZ_JSON_LINES) {
		/* One line, chosen at random among those that hold something. */
		size_t lines = 0, pick, i;

		for (i = start; i < size; i++)
			lines += data[i] == '\n';
		pick = fj_next(&r) % (lines + 1);
		for (i = start; pick && i < size; i++)
			if (data[i] == '\n' && --pick == 0)
				start = i + 1;
		for (end = start; end < size && data[end] != '\n'; end++)
			;
	}
	copy = fuzz_strndup(data + start, end - start);
	root = json_tokener_parse(copy);
	free(copy);
	if (!root)
		return LLVMFuzzerMutate(data, size, max_size);
	fj_mutate_tree(&root, &r);
	flags = FUZZ_JSON_LINES ? JSON_C_TO_STRING_PLAIN
				: (int[]){JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_SPACED,
					  JSON_C_TO_STRING_PRETTY}[fj_next(&r) % 3];
	text = root ? json_object_to_json_string_ext(root, flags | JSON_C_TO_STRING_NOSLASHESCAPE)
		    : "null";
	out_len = start + strlen(text) + (size - end);
	if (out_len > max_size) {
		json_object_put(root);
		return LLVMFuzzerMutate(data, size, max_size);
	}
	memmove(data + start + strlen(text), data + end, size - end);
	memcpy(data + start, text, strlen(text));
	json_object_put(root);
	return out_len;
}

#endif /* MOAT_FUZZ_JSON_H */
