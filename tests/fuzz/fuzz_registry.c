/* fuzz_registry.c - the persisted DNS registry file (registry_load_buf, what
 * registry_load runs on a file's contents: a header line, then one JSON
 * entry per line).
 *
 * Oracles besides the sanitizers: the loaded registry answers a query for
 * everything and for each loaded address; saving it (registry_save, into a
 * private temporary directory) and loading the saved file into a fresh
 * registry keeps the names and CNAME chains and explains every (container,
 * address) pair as before (pairs expired at load time may go, as
 * documented); a second save and load changes nothing at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#define FUZZ_JSON_LINES 1
#include "fuzz_json.h"
#include "registry.h"

#define NOW	  1700000000
#define MAX_NAMES 64

static char dir[64], saved[96];

static void remove_dir(void)
{
	unlink(saved);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	/* tmpfs where there is one: the save's fsyncs cost nothing there. */
	snprintf(dir, sizeof(dir), "%s/moat-fuzz-registry-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		fuzz_fail("cannot make a temporary directory");
	snprintf(saved, sizeof(saved), "%s/registry.json", dir);
	atexit(remove_dir);
	return 0;
}

/* The registry's whole content as text (a query for everything). */
static char *dump(struct registry *r)
{
	json_object *all = registry_query(r, NULL, 0);
	char *s;

	if (!all)
		fuzz_fail("check failed");
	s = strdup(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN));
	if (!s)
		fuzz_fail("check failed");
	json_object_put(all);
	return s;
}

/* Query each address and name of the first entries, as `moat registry` does. */
static void query_parts(struct registry *r, const char *text)
{
	json_object *all = json_tokener_parse(text), *e, *v, *addrs, *a;

	if (!all || !json_object_is_type(all, json_type_array))
		fuzz_fail("registry_query's answer is not a JSON array");
	for (size_t i = 0; i < json_object_array_length(all) && i < 4; i++) {
		json_object *q;

		e = json_object_array_get_idx(all, i);
		if (!json_object_object_get_ex(e, "name", &v) ||
		    !(q = registry_query(r, json_object_get_string(v), 0)))
			fuzz_fail("a loaded name cannot be queried");
		json_object_put(q);
		if (!json_object_object_get_ex(e, "addrs", &addrs))
			fuzz_fail("an entry without addrs");
		for (size_t k = 0; k < json_object_array_length(addrs) && k < 4; k++) {
			a = json_object_array_get_idx(addrs, k);
			if (!json_object_object_get_ex(a, "addr", &v) ||
			    !(q = registry_query(r, json_object_get_string(v), 1)) ||
			    json_object_array_length(q) != 1)
				fuzz_fail("a loaded address is not found");
			json_object_put(q);
		}
	}
	json_object_put(all);
}

/* Whether the entry named name in all (a dump) has container cid seeing address addr
 * (canonical text). By the dump, not a query: "" is a name too (a query for it is one for
 * everything). */
static int sees(json_object *all, const char *name, const char *cid, const char *addr)
{
	json_object *e, *conts, *c, *v, *seen;

	for (size_t k = 0; k < json_object_array_length(all); k++) {
		e = json_object_array_get_idx(all, k);
		if (!json_object_object_get_ex(e, "name", &v) ||
		    strcmp(json_object_get_string(v), name) ||
		    !json_object_object_get_ex(e, "containers", &conts))
			continue;
		for (size_t i = 0; i < json_object_array_length(conts); i++) {
			c = json_object_array_get_idx(conts, i);
			if (json_object_object_get_ex(c, "id", &v) &&
			    !strcmp(json_object_get_string(v), cid) &&
			    json_object_object_get_ex(c, "seen", &seen) &&
			    json_object_object_get_ex(seen, addr, &v))
				return 1;
		}
	}
	return 0;
}

/* Whether r and back explain every (container, address) pair of r's dump alike: what
 * direct-connection detection asks. Pairs expired at NOW may be dropped by a save and load
 * (documented), so only the answers are compared, not the text. When several names explain
 * a pair, the one reported is the most recently recorded, and a load records in the file's
 * order (least recently used name first), not in each pair's own order: another of those
 * names is a right answer too. */
static int same_answers(struct registry *r, struct registry *back, const char *text)
{
	json_object *all = json_tokener_parse(text), *e, *addrs, *conts, *v;
	int same = 1;

	for (size_t i = 0; all && i < json_object_array_length(all); i++) {
		e = json_object_array_get_idx(all, i);
		json_object_object_get_ex(e, "addrs", &addrs);
		json_object_object_get_ex(e, "containers", &conts);
		for (size_t k = 0; k < json_object_array_length(addrs); k++) {
			uint8_t a[16] = {0};
			const char *s;
			int family;

			json_object_object_get_ex(json_object_array_get_idx(addrs, k), "addr", &v);
			s = json_object_get_string(v);
			family = strchr(s, ':') ? AF_INET6 : AF_INET;
			if (inet_pton(family, s, a) != 1)
				fuzz_fail("registry_query wrote an address that does not parse");
			for (size_t c = 0; c < json_object_array_length(conts); c++) {
				const char *x, *y;

				json_object_object_get_ex(json_object_array_get_idx(conts, c), "id",
							  &v);
				x = registry_explains(r, json_object_get_string(v), family, a, NOW);
				y = registry_explains(back, json_object_get_string(v), family, a,
						      NOW);
				if ((x == NULL) != (y == NULL) ||
				    (x && strcmp(x, y) &&
				     !sees(all, y, json_object_get_string(v), s))) {
					dprintf(2, "%s for %s: %s before, %s after\n", s,
						json_object_get_string(v), x ? x : "nothing",
						y ? y : "nothing");
					same = 0;
				}
			}
		}
	}
	json_object_put(all);
	return same;
}

/* Whether every entry of the reloaded dump b is in the loaded dump a with the same CNAME
 * chain, and only addresses it had (entries and addresses may go: expired ones). */
static int same_names(const char *a, const char *b)
{
	json_object *x = json_tokener_parse(a), *y = json_tokener_parse(b), *v, *w, *ex, *ey;
	int same = 1;

	for (size_t j = 0; y && j < json_object_array_length(y); j++) {
		ey = json_object_array_get_idx(y, j);
		json_object_object_get_ex(ey, "name", &w);
		for (size_t i = 0; x && i < json_object_array_length(x); i++) {
			ex = json_object_array_get_idx(x, i);
			json_object_object_get_ex(ex, "name", &v);
			if (strcmp(json_object_get_string(v), json_object_get_string(w)))
				continue;
			json_object_object_get_ex(ex, "cnames", &v);
			json_object_object_get_ex(ey, "cnames", &w);
			if (strcmp(json_object_to_json_string(v), json_object_to_json_string(w)))
				same = 0;
			break;
		}
	}
	if (y && json_object_array_length(y) > (x ? json_object_array_length(x) : 0))
		same = 0;
	json_object_put(x);
	json_object_put(y);
	return same;
}

/* Save r and load the file into a new registry. */
static struct registry *save_load(struct registry *r)
{
	struct registry *back = registry_new(MAX_NAMES, 3600);

	if (registry_save(r, saved))
		fuzz_fail("registry_save failed");
	if (!back || registry_load(back, saved, NOW))
		fuzz_fail("the saved registry does not load");
	return back;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry *r = registry_new(MAX_NAMES, 3600), *back, *again;
	char *loaded, *reloaded, *reloaded2;
	int err;

	if (!r)
		fuzz_fail("registry_new failed");
	err = registry_load_buf(r, "registry.json", (const char *)data, size, NOW);
	if (err && err != -EINVAL && err != -ENOTSUP)
		fuzz_fail("registry_load_buf: unexpected error");
	if (registry_count(r) > MAX_NAMES)
		fuzz_fail("more names than max_entries");
	if (registry_count(r)) {
		loaded = dump(r);
		query_parts(r, loaded);
		back = save_load(r);
		if (!same_answers(r, back, loaded))
			fuzz_fail("save then load changes what the registry explains");
		reloaded = dump(back);
		if (!same_names(loaded, reloaded)) {
			dprintf(2, "loaded:   %s\nreloaded: %s\n", loaded, reloaded);
			fuzz_fail("save then load changes names or CNAME chains");
		}
		/* What survived one save and load survives the next unchanged. */
		again = save_load(back);
		reloaded2 = dump(again);
		if (strcmp(reloaded, reloaded2)) {
			dprintf(2, "reloaded:  %s\nreloaded2: %s\n", reloaded, reloaded2);
			fuzz_fail("a second save and load changes the registry");
		}
		free(loaded);
		free(reloaded);
		free(reloaded2);
		registry_free(back);
		registry_free(again);
	}
	registry_prune(r, (int64_t)NOW + 400 * 86400LL);
	registry_free(r);
	return 0;
}
