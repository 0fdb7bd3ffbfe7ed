/* test_baseline.c - the baseline store: merging across containers and restarts, the file
 * (atomic save, load back, hostile files), and the caps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline.h"
#include "test.h"

static int n_items(struct baseline_image *im)
{
	struct baseline_info i;

	baseline_info(im, &i);
	return (int)i.n_items;
}

static void test_merge(void)
{
	struct baseline *b = baseline_new(NULL);
	struct baseline_image *im = baseline_image(b, "alpine:3.19", 1), *again;
	struct baseline_info i;
	json_object *o, *items, *x, *v;

	baseline_note_container(b, im, "c1", "sha256:aaa", 100);
	CHECK_EQ_INT(baseline_record(b, im, BL_EXEC, "/bin/sh", "", "runc", 100), 1,
		     "a first executable is new");
	baseline_note_container(b, im, "c2", "sha256:aaa", 150);
	CHECK_EQ_INT(baseline_record(b, im, BL_EXEC, "/bin/sh", "", "sh", 150), 0,
		     "the same executable from another container of the image is known");
	baseline_note_container(b, im, "c1", "sha256:bbb", 200); /* c1 restarted, image rebuilt */
	baseline_record(b, im, BL_DOMAIN, "example.test", NULL, NULL, 200);
	again = baseline_image(b, "alpine:3.19", 0);
	CHECK(again == im, "an image is found again by its name", "%p vs %p", (void *)again,
	      (void *)im);
	CHECK(baseline_image(b, "alpine:3.20", 0) == NULL && errno == ENOENT,
	      "another tag is another image", "errno %d", errno);
	baseline_info(im, &i);
	CHECK(i.n_containers == 2 && i.n_items == 2 && i.first_seen == 100 && i.last_new == 200,
	      "two containers, two items, first seen and last new",
	      "conts %llu items %u first "
	      "%lld last_new %lld",
	      (unsigned long long)i.n_containers, i.n_items, (long long)i.first_seen,
	      (long long)i.last_new);
	CHECK(baseline_has(im, BL_EXEC, "/bin/sh") && !baseline_has(im, BL_EXEC, "/bin/bash") &&
		  !baseline_has(im, BL_DOMAIN, "/bin/sh"),
	      "has: by kind and key", "wrong");
	o = baseline_image_json(im);
	json_object_object_get_ex(o, "items", &items);
	x = json_object_array_get_idx(items, 0);
	json_object_object_get_ex(x, "count", &v);
	CHECK_EQ_INT(json_object_get_int(v), 2, "the executable's count adds both containers");
	json_object_object_get_ex(x, "first_seen", &v);
	CHECK_EQ_INT(json_object_get_int(v), 100, "its first seen is the earliest");
	json_object_object_get_ex(x, "last_seen", &v);
	CHECK_EQ_INT(json_object_get_int(v), 150, "its last seen is the latest");
	json_object_object_get_ex(x, "parents", &v);
	CHECK(v && json_object_array_length(v) == 2, "both parents' names are kept", "%s",
	      json_object_to_json_string(x));
	json_object_object_get_ex(o, "ids", &v);
	CHECK(v && json_object_array_length(v) == 2, "both image ids are kept", "%s",
	      json_object_to_json_string(v));
	json_object_put(o);
	CHECK(baseline_stable(im, 200 + 59, 60) == 0 && baseline_stable(im, 200 + 60, 60) == 1,
	      "stable once no item was new for stable_seconds", "wrong");
	CHECK_EQ_INT(baseline_record(b, im, 99, "x", NULL, NULL, 1), -EINVAL,
		     "an unknown kind is refused");
	CHECK_EQ_INT(baseline_record(b, im, BL_EXEC, "", NULL, NULL, 1), -EINVAL,
		     "an empty key is refused");
	baseline_free(b);
}

static void test_file(void)
{
	char dir[] = "/tmp/moat-baseline-XXXXXX", path[128];
	struct baseline *b = baseline_new(NULL), *c = baseline_new(NULL);
	struct baseline_image *im = baseline_image(b, "web:1", 1), *im2;
	struct baseline_info i;
	struct stat st;
	int skipped = -1;

	mkdtemp(dir);
	snprintf(path, sizeof(path), "%s/baseline.json", dir);
	baseline_note_container(b, im, "c1", "sha256:x", 10);
	baseline_set_learning(im, 1, 10);
	baseline_record(b, im, BL_EXEC, "/usr/bin/python3", "/usr/bin/python3", "sh", 10);
	baseline_record(b, im, BL_CONNECT, "api.example.test:443/tcp", NULL, NULL, 20);
	baseline_record(b, im, BL_DIRECT, "10.0.0.1:5432/tcp", NULL, NULL, 30);
	CHECK_EQ_INT(baseline_save(b, path), 0, "the store saves");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the file is mode 0600",
	      "mode %o", st.st_mode & 0777);
	CHECK_EQ_INT(baseline_load(c, path, &skipped), 0, "the file loads back");
	im2 = baseline_image(c, "web:1", 0);
	baseline_info(im2, &i);
	CHECK(im2 && i.n_items == 3 && i.learning && i.n_containers == 1 && i.learn_since == 10,
	      "what was saved is what loads (items, learning, containers)",
	      "items %u learning %d conts %llu", i.n_items, i.learning,
	      (unsigned long long)i.n_containers);
	CHECK(baseline_has(im2, BL_CONNECT, "api.example.test:443/tcp"),
	      "a connect's name survives the round trip", "missing");
	/* A restart: the same file merged again adds the counts, not new items. */
	CHECK_EQ_INT(baseline_load(c, path, NULL), 0, "loading twice merges");
	CHECK_EQ_INT(n_items(im2), 3, "merging the same file adds no item");
	CHECK_EQ_INT(baseline_load(c, "/nonexistent/baseline.json", NULL), -ENOENT,
		     "a missing file is -ENOENT");
	baseline_free(b);
	baseline_free(c);
	unlink(path);
	rmdir(dir);
}

static void test_hostile(void)
{
	struct baseline *b = baseline_new(NULL);
	struct baseline_image *im;
	int skipped = 0;
	const char *bad_head = "{\"moat_registry\":1}\n";
	const char *text =
	    "{\"moat_baseline\":1,\"images\":3}\n"
	    /* line 2: an image with one good item, a bad count, an unknown kind, a long key */
	    "{\"image\":\"a:1\",\"first_seen\":1,\"last_seen\":2,\"last_new\":2,\"learn_since\":0,"
	    "\"learning\":false,\"containers\":1,\"refused\":0,\"items\":["
	    "{\"kind\":\"exec\",\"key\":\"/bin/"
	    "true\",\"first_seen\":1,\"last_seen\":2,\"count\":1},"
	    "{\"kind\":\"exec\",\"key\":\"/bin/"
	    "x\",\"first_seen\":1,\"last_seen\":2,\"count\":\"9\"},"
	    "{\"kind\":\"rootkit\",\"key\":\"x\",\"first_seen\":1,\"last_seen\":2,\"count\":1},"
	    "{\"kind\":\"domain\",\"key\":\"a\\u0000b\",\"first_seen\":1,\"last_seen\":2,\"count\":"
	    "1},"
	    "{\"kind\":\"domain\",\"key\":\"x.test\",\"first_seen\":5,\"last_seen\":2,\"count\":1},"
	    "{\"kind\":\"exec\",\"key\":\"/bin/y\",\"first_seen\":1,\"last_seen\":2,\"count\":1,"
	    "\"parents\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}]}\n"
	    /* line 3: not JSON */
	    "{\"image\":\n"
	    /* line 4: no image name */
	    "{\"image\":\"\",\"items\":[]}\n"
	    /* line 5: a good image after the bad ones */
	    "{\"image\":\"b:1\",\"first_seen\":1,\"last_seen\":2,\"last_new\":2,\"learn_since\":0,"
	    "\"learning\":true,\"containers\":1,\"refused\":0,\"items\":[]}\n";

	CHECK_EQ_INT(baseline_load_buf(b, "bad.json", bad_head, strlen(bad_head), NULL), -EINVAL,
		     "a file that is no baseline is refused");
	CHECK_EQ_INT(baseline_load_buf(b, "empty.json", "", 0, NULL), -EINVAL,
		     "an empty file is refused");
	CHECK_EQ_INT(baseline_load_buf(b, "baseline.json", text, strlen(text), &skipped), 0,
		     "a file with bad parts loads the rest");
	CHECK_EQ_INT(skipped, 7, "each bad item and image is counted (5 items, 2 images)");
	im = baseline_image(b, "a:1", 0);
	CHECK(im && n_items(im) == 1 && baseline_has(im, BL_EXEC, "/bin/true"),
	      "the good item of an image with bad ones is kept", "items %d", im ? n_items(im) : -1);
	CHECK(baseline_image(b, "b:1", 0) != NULL, "a good image after bad lines loads", "missing");
	baseline_free(b);
}

static void test_caps(void)
{
	struct baseline_limits lim = {
	    .max_images = 2, .max_items_per_image = 3, .max_items_total = 5};
	struct baseline *b = baseline_new(&lim);
	struct baseline_image *a = baseline_image(b, "a", 1), *c;
	struct baseline_stats st;
	struct baseline_info i;
	char key[32];
	int r = 0;

	baseline_note_container(b, a, "c", "", 1);
	for (int k = 0; k < 4; k++) {
		snprintf(key, sizeof(key), "/bin/p%d", k);
		r = baseline_record(b, a, BL_EXEC, key, NULL, NULL, 1);
	}
	CHECK_EQ_INT(r, -EDQUOT, "an item beyond the per-image cap is refused");
	baseline_info(a, &i);
	CHECK(i.n_items == 3 && i.refused == 1, "the image keeps 3 and counts the refusal",
	      "items %u refused %llu", i.n_items, (unsigned long long)i.refused);
	c = baseline_image(b, "c", 1);
	baseline_note_container(b, c, "c2", "", 5);
	baseline_record(b, c, BL_EXEC, "/bin/a", NULL, NULL, 5);
	baseline_record(b, c, BL_EXEC, "/bin/b", NULL, NULL, 5);
	CHECK_EQ_INT(baseline_record(b, c, BL_EXEC, "/bin/c", NULL, NULL, 5), -EDQUOT,
		     "an item beyond the total cap is refused");
	baseline_stats(b, &st);
	CHECK(st.items == 5 && st.refused == 2, "the store holds 5 items and counted 2 refusals",
	      "items %llu refused %llu", (unsigned long long)st.items,
	      (unsigned long long)st.refused);
	/* A third image evicts the least recently seen ("a", last seen at 1). */
	baseline_image(b, "d", 1);
	baseline_stats(b, &st);
	CHECK(st.evicted_images == 1 && baseline_image(b, "a", 0) == NULL &&
		  baseline_image(b, "c", 0) != NULL && st.items == 2,
	      "a new image beyond max_images evicts the least recently seen, counted",
	      "evicted %llu items %llu", (unsigned long long)st.evicted_images,
	      (unsigned long long)st.items);
	CHECK(baseline_count(b) == 2, "the store holds max_images images", "%zu",
	      baseline_count(b));
	baseline_free(b);
}

int main(void)
{
	test_merge();
	test_file();
	test_hostile();
	test_caps();
	return TEST_EXIT();
}
