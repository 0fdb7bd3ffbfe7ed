/* container.c - the container model: copying, freeing and reading the labels of a
 * struct container_info (container.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

char **container_argv_dup(const char *const *src, int n)
{
	size_t total = (n + 1) * sizeof(char *);
	char **argv, *p;

	for (int i = 0; i < n; i++)
		total += strlen(src[i]) + 1;
	argv = malloc(total);
	if (!argv)
		return NULL;
	p = (char *)(argv + n + 1);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(src[i]) + 1;

		memcpy(p, src[i], l);
		argv[i] = p;
		p += l;
	}
	argv[n] = NULL;
	return argv;
}

void container_info_clear(struct container_info *c)
{
	json_object_put(c->labels);
	json_object_put(c->image_labels);
	free(c->argv);
	memset(c, 0, sizeof(*c));
}

int container_info_copy(struct container_info *dst, const struct container_info *src)
{
	memcpy(dst, src, sizeof(*dst));
	dst->labels = src->labels ? json_object_get(src->labels) : NULL; /* immutable, shared */
	dst->image_labels = src->image_labels ? json_object_get(src->image_labels) : NULL;
	dst->argv = NULL;
	if (src->argv) {
		dst->argv = container_argv_dup((const char *const *)src->argv, src->argc);
		if (!dst->argv) {
			json_object_put(dst->labels);
			json_object_put(dst->image_labels);
			memset(dst, 0, sizeof(*dst));
			return -ENOMEM;
		}
	}
	return 0;
}

const char *container_label(const struct container_info *c, const char *key)
{
	json_object *v;

	if (!c->labels || !json_object_object_get_ex(c->labels, key, &v))
		return NULL;
	return json_object_get_string(v);
}

const char *container_label_from(const struct container_info *c, const char *key, int trust_image)
{
	const char *v = container_label(c, key);
	json_object *iv;

	if (!v || trust_image)
		return v;
	if (!c->image_labels)
		return NULL;
	if (json_object_object_get_ex(c->image_labels, key, &iv) &&
	    json_object_is_type(iv, json_type_string) && !strcmp(json_object_get_string(iv), v))
		return NULL;
	return v;
}
