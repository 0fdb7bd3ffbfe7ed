/* fuzz_baseline.c - the persisted baseline store of learn mode (baseline_load_buf, what
 * baseline_load runs on a file's contents: a header line, then one image per line).
 *
 * Oracles besides the sanitizers: the loaded store is within its caps (images, items per
 * image, items in all); every loaded item is found by baseline_has; saving it (baseline_save,
 * into a private temporary directory) and loading the saved file into a fresh store gives
 * the same images and items; a second save and load changes nothing at all.
 */
#include <unistd.h>

#include "baseline.h"
#include "fuzz.h"
#define FUZZ_JSON_LINES 1
#include "fuzz_json.h"

static const struct baseline_limits lim = {4, 16, 40};
static char dir[64], saved[96];

static void remove_dir(void)
{
	unlink(saved);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	snprintf(dir, sizeof(dir), "%s/moat-fuzz-baseline-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		fuzz_fail("cannot make a temporary directory");
	snprintf(saved, sizeof(saved), "%s/baseline.json", dir);
	atexit(remove_dir);
	return 0;
}

/* Every image as JSON text, in store order (images sorted by name for comparison). */
static char *dump(struct baseline *b)
{
	json_object *arr = json_object_new_array();
	char *s;

	for (size_t i = 0; i < baseline_count(b); i++) {
		json_object *o = baseline_image_json(baseline_at(b, i));

		if (!o)
			fuzz_fail("baseline_image_json failed");
		json_object_array_add(arr, o);
	}
	s = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	if (!s)
		fuzz_fail("out of memory");
	return s;
}

static void check(struct baseline *b)
{
	struct baseline_stats st;
	uint64_t items = 0;

	baseline_stats(b, &st);
	if (baseline_count(b) > lim.max_images)
		fuzz_fail("more images than max_images");
	for (size_t i = 0; i < baseline_count(b); i++) {
		struct baseline_image *im = baseline_at(b, i);
		json_object *o = baseline_image_json(im), *its, *x, *k, *v;
		struct baseline_info info;

		baseline_info(im, &info);
		if (info.n_items > lim.max_items_per_image)
			fuzz_fail("more items than max_items_per_image");
		items += info.n_items;
		json_object_object_get_ex(o, "items", &its);
		for (size_t j = 0; j < json_object_array_length(its); j++) {
			x = json_object_array_get_idx(its, j);
			json_object_object_get_ex(x, "kind", &k);
			json_object_object_get_ex(x, "key", &v);
			if (!baseline_has(im, baseline_kind_parse(json_object_get_string(k)),
					  json_object_get_string(v)))
				fuzz_fail("a loaded item is not found");
		}
		json_object_put(o);
	}
	if (items > lim.max_items_total || items != st.items)
		fuzz_fail("the item count is off or over max_items_total");
}

static struct baseline *save_load(struct baseline *b)
{
	struct baseline *back = baseline_new(&lim);

	if (baseline_save(b, saved))
		fuzz_fail("baseline_save failed");
	if (!back || baseline_load(back, saved, NULL))
		fuzz_fail("the saved store does not load");
	return back;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct baseline *b = baseline_new(&lim), *back, *again;
	char *d1, *d2, *d3;

	if (!b)
		return 0;
	if (baseline_load_buf(b, "fuzz.json", (const char *)data, size, NULL)) {
		baseline_free(b);
		return 0;
	}
	check(b);
	back = save_load(b);
	check(back);
	again = save_load(back);
	d1 = dump(b);
	d2 = dump(back);
	d3 = dump(again);
	if (strcmp(d1, d2)) {
		dprintf(2, "loaded:   %s\nreloaded: %s\n", d1, d2);
		fuzz_fail("save then load changed the store");
	}
	if (strcmp(d2, d3))
		fuzz_fail("a second save and load changed the store");
	free(d1);
	free(d2);
	free(d3);
	baseline_free(again);
	baseline_free(back);
	baseline_free(b);
	return 0;
}
