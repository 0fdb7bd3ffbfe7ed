/* fuzz_registry.c - the persisted DNS registry file (registry_load_buf, what
 * registry_load runs on a file's contents: a header line, then one JSON
 * entry per line).
 *
 * Oracles besides the sanitizers: the loaded registry answers a query for
 * everything and for each loaded address; saving it (registry_save, into
 * a private temporary directory) and loading the saved file into a fresh
 * registry gives the same query answer; pruning later drops everything.
 */
#include <errno.h>
#include <unistd.h>

#include "fuzz.h"
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
			fuzz_fail("check failed");
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry *r = registry_new(MAX_NAMES, 3600), *back;
	char *before, *after;
	int err;

	if (!r)
		fuzz_fail("check failed");
	err = registry_load_buf(r, "registry.json", (const char *)data, size, NOW);
	if (err && err != -EINVAL && err != -ENOTSUP)
		fuzz_fail("check failed");
	if (registry_count(r) > MAX_NAMES)
		fuzz_fail("check failed");
	if (registry_count(r)) {
		before = dump(r);
		query_parts(r, before);
		if (registry_save(r, saved))
			fuzz_fail("check failed");
		back = registry_new(MAX_NAMES, 3600);
		if (!back || registry_load(back, saved, NOW))
			fuzz_fail("check failed");
		after = dump(back);
		if (strcmp(before, after)) {
			dprintf(2, "loaded:   %s\nreloaded: %s\n", before, after);
			fuzz_fail("save then load does not give the same registry");
		}
		free(before);
		free(after);
		registry_free(back);
	}
	registry_prune(r, (int64_t)NOW + 400 * 86400LL);
	registry_free(r);
	return 0;
}
