/* webapi.c - the route lookup, error answers and query parameters every handler uses.
 * TEMPORARY on branch web-api: the server engineer's webapi.c (branch web-server) replaces
 * this file at merge; the same signatures as webapi.h. live_get_stats below is a weak
 * stand-in for src/act/live.c (also theirs) so that this branch links before theirs lands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "webapi.h"

const struct web_route *web_route_find(const char *method, const char *path, int *path_known)
{
	*path_known = 0;
	for (size_t i = 0; i < n_web_routes; i++) {
		if (strcmp(web_routes[i].path, path))
			continue;
		*path_known = 1;
		if (!strcmp(web_routes[i].method, method))
			return &web_routes[i];
	}
	return NULL;
}

void web_error(struct web_response *rs, int status, const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	json_object_put(rs->json);
	free(rs->text);
	rs->text = NULL;
	rs->status = status;
	rs->json = o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int web_query_get(const char *query, const char *name, char *buf, size_t n)
{
	size_t nl = strlen(name);

	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		const char *v;
		size_t o = 0;

		if (strncmp(p, name, nl) || (p[nl] != '=' && p[nl] != '&' && p[nl]))
			continue;
		v = p[nl] == '=' ? p + nl + 1 : p + nl;
		for (; *v && *v != '&'; v++) {
			int c = (unsigned char)*v, h, l;

			if (c == '+')
				c = ' ';
			else if (c == '%' && (h = hexval(v[1])) >= 0 && (l = hexval(v[2])) >= 0) {
				c = h * 16 + l;
				v += 2;
			}
			if (o + 1 >= n)
				return -ENAMETOOLONG;
			buf[o++] = (char)c;
		}
		buf[o] = 0;
		return 0;
	}
	return -ENOENT;
}

/* weak: src/act/live.c's (branch web-server) replaces it whichever lands first */
__attribute__((weak)) void live_get_stats(struct live *l, struct live_stats *st)
{
	memset(st, 0, sizeof(*st));
}
