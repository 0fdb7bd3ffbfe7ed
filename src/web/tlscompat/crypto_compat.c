/* crypto_compat.c - a shared object named libcrypto.so (its SONAME) linking libcrypto.so.3:
 * civetweb dlopen()s "libcrypto.so", the name only libssl-dev's symlink provides; with this
 * loaded first (src/web/server_tls.c) the lookup finds OpenSSL's libcrypto without it. */
int moat_crypto_compat;
