/* config_http.c - the "http" section of the configuration (config_http.h), checked key by
 * key; errors name file:line and the key. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_http.h"
#include "config_section.h"
#include "log.h"

void http_config_defaults(struct http_config *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->listen, sizeof(h->listen), "%s", HTTP_DEFAULT_LISTEN);
	h->max_clients = HTTP_DEFAULT_MAX_CLIENTS;
}

int http_listen_parse(const char *s, char *addr, int addr_len, int *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	struct in_addr a;
	char host[64], *end;
	long p;

	if (s && !strcmp(s, "off"))
		return 1;
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 1 || p > 65535 ||
	    inet_pton(AF_INET, host, &a) != 1)
		return -EINVAL;
	if (addr && addr_len > 0)
		snprintf(addr, (size_t)addr_len, "%s", host);
	if (port)
		*port = (int)p;
	return 0;
}

int config_http_parse(json_object *http, const char *path, const char *text, struct http_config *h)
{
	static const char *const known[] = {
	    "listen", "tls_cert", "tls_key", "token_file", "per_container_metrics", "max_clients"};
	struct cfg_section p = {.path = path, .text = text, .name = "http"};
	json_object *v;

	if (!json_object_is_type(http, json_type_object)) {
		log_error("%s:%d: http: must be an object like {\"listen\": \"127.0.0.1:9876\"}",
			  path, cfg_section_line(&p, "http"));
		return 1;
	}
	json_object_object_foreach(http, k, val)
	{
		size_t i;

		(void)val;
		for (i = 0; i < sizeof(known) / sizeof(known[0]) && strcmp(k, known[i]); i++)
			;
		if (i == sizeof(known) / sizeof(known[0]))
			cfg_section_error(
			    &p, k,
			    "unknown key (known: listen, tls_cert, tls_key, token_file, "
			    "per_container_metrics, max_clients)");
	}
	if (json_object_object_get_ex(http, "listen", &v)) {
		const char *s =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

		if (!s || strlen(s) >= sizeof(h->listen) || http_listen_parse(s, NULL, 0, NULL) < 0)
			cfg_section_error(
			    &p, "listen",
			    "must be \"IPv4ADDR:PORT\" (e.g. \"127.0.0.1:9876\") or \"off\"");
		else
			snprintf(h->listen, sizeof(h->listen), "%s", s);
	}
	cfg_section_str(&p, http, "tls_cert", h->tls_cert, sizeof(h->tls_cert), "a path");
	cfg_section_str(&p, http, "tls_key", h->tls_key, sizeof(h->tls_key), "a path");
	cfg_section_str(&p, http, "token_file", h->token_file, sizeof(h->token_file), "a path");
	if (json_object_object_get_ex(http, "per_container_metrics", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			cfg_section_error(&p, "per_container_metrics", "must be true or false");
		else
			h->per_container_metrics = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(http, "max_clients", &v)) {
		int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (n < 1 || n > HTTP_MAX_CLIENTS)
			cfg_section_error(&p, "max_clients",
					  "must be a whole number from 1 to 1024");
		else
			h->max_clients = (uint32_t)n;
	}
	if (h->tls_key[0] && !h->tls_cert[0])
		cfg_section_error(&p, "tls_key", "needs tls_cert (the certificate) too");
	return p.errors;
}
