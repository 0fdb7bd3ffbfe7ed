/* web.h - the dashboard's HTTP/WebSocket server, started and stopped by moat run: listening
 * (optionally TLS), the access token and its file, the Host, Origin and CSRF checks, the
 * embedded page, the API routes of webapi.h and the live stream /ws (docs/web.md). It runs
 * only on its own threads: moat run's event loop never waits for it. */
#ifndef MOAT_WEB_H
#define MOAT_WEB_H

#include <stdint.h>

#include "config_http.h"
#include "webapi.h"

#define WEB_DEFAULT_LISTEN	HTTP_DEFAULT_LISTEN
#define WEB_DEFAULT_MAX_CLIENTS HTTP_DEFAULT_MAX_CLIENTS /* WebSocket clients at once */
#define WEB_HTTP_THREADS	16			 /* workers for plain HTTP requests */
#define WEB_SEND_TIMEOUT_MS	5000  /* a WebSocket client that does not take a frame by then */
#define WEB_REQUEST_TIMEOUT_MS	10000 /* reading a request, writing an answer */
#define WEB_TOKEN_HEX		64    /* the token: 32 random bytes in hex */

struct web_options {
	char listen[128];      /* "127.0.0.1:9876" (IPv4 address:port); "off": no server */
	char tls_cert[4096];   /* PEM certificate (with its key, or tls_key); "" plain HTTP */
	char tls_key[4096];    /* PEM private key; "" when tls_cert holds it */
	char token_file[4096]; /* where the token is written (0600); "" none */
	int per_container_metrics;
	uint32_t max_clients; /* WebSocket clients at once (1..1024) */
	/* What the handlers need (webapi.h web_env). */
	char ctl_path[4096];
	char alerts_file[4096];
	char access_log[4096];
	char rules_file[4096];
};

struct web;

/* The defaults: WEB_DEFAULT_LISTEN, no TLS, WEB_DEFAULT_MAX_CLIENTS, every path "". */
void web_options_defaults(struct web_options *o);

/* Start the server: a new token, written to o->token_file (0600, replaced), listening on
 * o->listen, serving until web_stop. live is the feed /ws streams (not owned). Returns the
 * server, or NULL with errno (EADDRINUSE when the address is taken, EINVAL for a bad option,
 * ENOTSUP when TLS is asked and libssl cannot be loaded) after logging what failed and
 * what to do. */
struct web *web_start(const struct web_options *o, struct live *live);

/* The URL to open, with the token ("http://127.0.0.1:9876/?token=..."). */
const char *web_url(const struct web *w);

/* The token (WEB_TOKEN_HEX characters). */
const char *web_token(const struct web *w);

/* The server's counters (live values, for /metrics and status). */
struct web_stats *web_get_stats(struct web *w);

/* Close every connection, stop the threads, remove the token file. NULL is a no-op. */
void web_stop(struct web *w);

#endif /* MOAT_WEB_H */
