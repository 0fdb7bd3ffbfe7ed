/* webapi.c - the helpers every API handler uses (webapi.h): finding a route in the table,
 * error answers, query parameters (decoded by civetweb). The table itself is api.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <civetweb.h>

#include "webapi.h"

const struct web_route *web_route_find(const char *method, const char *path, int *path_known)
{
	*path_known = 0;
	for (size_t i = 0; i < n_web_routes; i++) {
		if (strcmp(web_routes[i].path, path))
			continue;
		if (!strcmp(web_routes[i].method, method))
			return &web_routes[i];
		*path_known = 1;
	}
	return NULL;
}

void web_error(struct web_response *rs, int status, const char *msg)
{
	json_object_put(rs->json);
	free(rs->text);
	rs->text = NULL;
	rs->status = status;
	rs->json = json_object_new_object();
	json_object_object_add(rs->json, "error", json_object_new_string(msg));
}

int web_query_get(const char *query, const char *name, char *buf, size_t n)
{
	int r;

	if (!query || !*query || n == 0 || n > INT32_MAX)
		return -ENOENT;
	/* mg_get_var: -1 absent, -2 buf too small (or a bad escape), else the length. */
	r = mg_get_var(query, strlen(query), name, buf, n);
	if (r == -1)
		return -ENOENT;
	if (r < 0)
		return -ENAMETOOLONG;
	return 0;
}
