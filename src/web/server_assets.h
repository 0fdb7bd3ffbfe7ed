/* server_assets.h - the dashboard's files (src/web/assets/), embedded in the binary at build
 * time by tools/embed_assets.sh into build/web_assets.c; served by server.c. */
#ifndef MOAT_SERVER_ASSETS_H
#define MOAT_SERVER_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path; /* "/index.html": the file's path under src/web/assets/ */
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t n_web_assets;

#endif /* MOAT_SERVER_ASSETS_H */
