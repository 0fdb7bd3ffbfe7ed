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

/* The OpenSSL 3 stand-ins for civetweb's TLS (/libssl.so, /libcrypto.so: build/tlscompat/,
 * src/web/tlscompat/), embedded the same way; loaded by server_tls.c. */
extern const struct web_asset tls_compat[];
extern const size_t n_tls_compat;

/* Load them (the first call) so that civetweb's dlopen("libssl.so") finds OpenSSL 3 through
 * them: before civetweb initialises TLS. Returns 0, or -ENOTSUP (logging why and what to do
 * when report is set) (server_tls.c). */
int web_tls_prepare(int report);

#endif /* MOAT_SERVER_ASSETS_H */
