/* ssl_compat.c - a shared object named libssl.so (its SONAME) that stands in for OpenSSL's
 * libssl for Debian's civetweb 1.15, which dlopen()s "libssl.so" and looks up the OpenSSL
 * 1.1 functions it was built for. OpenSSL 3 has them all but one: SSL_get_peer_certificate
 * became the macro SSL_get1_peer_certificate, so civetweb finds NULL and would call it at the
 * first TLS connection. This object links libssl.so.3 (every other lookup through its handle
 * finds OpenSSL's own function) and adds that one function. moat embeds it and loads it from
 * memory before civetweb starts TLS (src/web/server_tls.c). Built by the Makefile, not part
 * of the moat binary's sources. */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
X509 *SSL_get_peer_certificate(const SSL *s);

X509 *SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}
