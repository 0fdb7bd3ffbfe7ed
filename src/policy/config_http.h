/* config_http.h - the settings of the dashboard's server: the "http" section of the
 * configuration file (docs/configuration.md, docs/web.md) and the listen address syntax
 * shared with --http. Plain data: src/web/ serves them. */
#ifndef MOAT_CONFIG_HTTP_H
#define MOAT_CONFIG_HTTP_H

#include <stdint.h>
#include <json-c/json.h>

#define HTTP_DEFAULT_LISTEN	 "127.0.0.1:9876"
#define HTTP_DEFAULT_MAX_CLIENTS 64
#define HTTP_MAX_CLIENTS	 1024

/* The "http" section. */
struct http_config {
	char listen[128];	   /* "ADDR:PORT" (IPv4), or "off" */
	char tls_cert[4096];	   /* PEM certificate (and key, when tls_key is ""); "" no TLS */
	char tls_key[4096];	   /* PEM private key, or "" */
	char token_file[4096];	   /* "" : web.token next to the control socket */
	int per_container_metrics; /* /metrics has per-container series (default 0) */
	uint32_t max_clients;	   /* WebSocket clients at once (default 64) */
};

void http_config_defaults(struct http_config *h);

/* Parse a listen address: "off" (returns 1), or IPv4ADDR:PORT with a port from 1 to 65535
 * (returns 0, the address into addr (addr_len bytes) and the port into *port when not NULL).
 * Returns -EINVAL for anything else. */
int http_listen_parse(const char *s, char *addr, int addr_len, int *port);

/* Parse the "http" section (http, an object) of the file named path whose text is text (for
 * line numbers) into h. Each error is logged as "path:line: key: reason". Returns the
 * number of errors (h may be partly written: config_load discards it then). */
int config_http_parse(json_object *http, const char *path, const char *text, struct http_config *h);

#endif /* MOAT_CONFIG_HTTP_H */
