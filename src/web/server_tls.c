/* server_tls.c - making Debian's civetweb serve TLS over OpenSSL 3: load the embedded
 * stand-ins for libssl.so and libcrypto.so (src/web/tlscompat/) from memory, so that the
 * libraries civetweb dlopen()s by those names are them. */
#define _GNU_SOURCE /* memfd_create */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "server_assets.h"

static char why[320]; /* why the stand-ins are not usable, for web_tls_prepare(1) */

/* Load one embedded object from a memfd, left open in *fdp: the dynamic linker knows an
 * object by its path, /proc/self/fd/N, so the next one must not reuse N while loading.
 * Returns its handle (kept for the process's life) or NULL with the reason in why. */
static void *load_embedded(const struct web_asset *a, int *fdp)
{
	char path[64];
	size_t off = 0;
	void *h;
	int fd = memfd_create(a->path + 1, MFD_CLOEXEC);

	if (fd < 0) {
		snprintf(why, sizeof(why), "web: TLS: memfd_create: %s", strerror(errno));
		return NULL;
	}
	while (off < a->len) {
		ssize_t n = write(fd, a->data + off, a->len - off);

		if (n <= 0) {
			snprintf(why, sizeof(why), "web: TLS: writing %s to a memfd: %s",
				 a->path + 1, n < 0 ? strerror(errno) : "short write");
			close(fd);
			return NULL;
		}
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		snprintf(why, sizeof(why),
			 "web: TLS: cannot load moat's %s stand-in: %s (is OpenSSL 3, libssl3, "
			 "installed?)",
			 a->path + 1, dlerror());
	*fdp = fd; /* closed by the caller; the mapping stays */
	return h;
}

int web_tls_prepare(int report)
{
	static int done;
	int fds[2] = {-1, -1}, ok = 1;
	void *h;

	if (done) {
		if (done < 0 && report)
			log_error("%s", why);
		return done > 0 ? 0 : -ENOTSUP;
	}
	done = -1;
	/* Both, before anything dlopen()s "libssl.so" (civetweb does in mg_init_library): the
	 * dynamic linker answers a later dlopen of that name with the loaded object whose
	 * SONAME it is (ours), and a lookup through its handle searches its dependency, OpenSSL
	 * 3's libssl.so.3, for every function but the one it adds. Likewise libcrypto.so. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n_tls_compat; i++)
			if (!strcmp(tls_compat[i].path, pass ? "/libssl.so" : "/libcrypto.so") &&
			    !load_embedded(&tls_compat[i], &fds[pass]))
				ok = 0;
	for (int pass = 0; pass < 2; pass++)
		if (fds[pass] >= 0)
			close(fds[pass]);
	if (!ok)
		return web_tls_prepare(report);
	h = dlopen("libssl.so", RTLD_NOW | RTLD_NOLOAD);
	if (!h || !dlsym(h, "SSL_get_peer_certificate") || !dlsym(h, "SSL_CTX_new")) {
		snprintf(why, sizeof(why),
			 "web: TLS: libssl.so does not resolve to moat's stand-in over OpenSSL 3 "
			 "(was it loaded before the dashboard started?); drop tls_cert and reach "
			 "the dashboard through an SSH tunnel (docs/web.md)");
		return web_tls_prepare(report);
	}
	done = 1;
	return 0;
}
