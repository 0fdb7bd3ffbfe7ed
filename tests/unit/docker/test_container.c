/* test_container.c - the container model (src/docker/container.c): which labels count as the
 * operator's, and copying and freeing a struct container_info. */
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "test.h"

/* A container whose labels are {labels} and whose image sets {image} (NULL: unknown). */
static void make(struct container_info *c, const char *labels, const char *image)
{
	memset(c, 0, sizeof(*c));
	c->labels = json_tokener_parse(labels);
	c->image_labels = image ? json_tokener_parse(image) : NULL;
}

static void test_label_from(void)
{
	struct container_info c;

	make(&c, "{\"tier\": \"web\", \"team\": \"a\", \"moat.exec.allow\": \"sh\"}",
	     "{\"tier\": \"web\", \"team\": \"b\"}");
	CHECK_EQ_STR(container_label(&c, "tier"), "web", "container_label reads any label");
	CHECK(container_label_from(&c, "tier", 0) == NULL,
	      "a label the image sets (same value) is not the operator's", "got %s",
	      container_label_from(&c, "tier", 0));
	CHECK(container_label_from(&c, "team", 0) &&
		  !strcmp(container_label_from(&c, "team", 0), "a"),
	      "a label given another value at docker run is the operator's", "got NULL");
	CHECK(container_label_from(&c, "moat.exec.allow", 0) != NULL,
	      "a label the image does not set is the operator's", "got NULL");
	CHECK(container_label_from(&c, "tier", 1) != NULL,
	      "trust_image: the image's labels count too", "got NULL");
	CHECK(container_label_from(&c, "absent", 1) == NULL, "a missing label is NULL", "not NULL");
	container_info_clear(&c);

	make(&c, "{\"moat.exec.allow\": \"sh\"}", NULL);
	CHECK(container_label_from(&c, "moat.exec.allow", 0) == NULL,
	      "image labels unknown: no label counts as the operator's", "got %s",
	      container_label_from(&c, "moat.exec.allow", 0));
	CHECK(container_label_from(&c, "moat.exec.allow", 1) != NULL,
	      "image labels unknown, trust_image: the label counts", "got NULL");
	container_info_clear(&c);
}

static void test_copy(void)
{
	static const char *const argv[] = {"nginx", "-g", "daemon off;"};
	struct container_info c, d, z = {0};

	make(&c, "{\"a\": \"1\"}", "{}");
	c.argv = container_argv_dup(argv, 3);
	c.argc = 3;
	snprintf(c.name, sizeof(c.name), "web");
	CHECK(c.argv && !strcmp(c.argv[2], "daemon off;") && c.argv[3] == NULL,
	      "container_argv_dup copies argv, NULL-terminated", "bad copy");
	CHECK(container_info_copy(&d, &c) == 0 && d.argv != c.argv && d.argc == 3 &&
		  !strcmp(d.argv[1], "-g") && d.labels == c.labels && !strcmp(d.name, "web"),
	      "a copy has its own argv and shares the immutable labels", "bad copy");
	container_info_clear(&c);
	CHECK(!strcmp(container_label(&d, "a"), "1") && !strcmp(d.argv[0], "nginx"),
	      "the copy outlives the original", "lost");
	container_info_clear(&d);
	CHECK(d.argv == NULL && d.labels == NULL && d.name[0] == 0, "clear zeroes the struct",
	      "not zeroed");
	container_info_clear(&z);
	CHECK(container_info_copy(&d, &z) == 0 && d.argv == NULL && d.labels == NULL,
	      "a zeroed struct clears and copies", "failed");
	container_info_clear(&d);
}

int main(void)
{
	test_label_from();
	test_copy();
	return TEST_EXIT();
}
