/* webapi.h - between the dashboard's HTTP server (server.c: listening, TLS, the token,
 * Origin and CSRF checks, body limits, static assets, the WebSocket) and the API behind it
 * (api.c: one table of routes; metrics.c: GET /metrics). A handler sees a request that has
 * already passed every check and fills in a response; it runs on one of the server's worker
 * threads, never on moat run's event loop, and asks moat run through the control socket
 * (ctlclient.h) or reads files moat run writes (the alert log, the access log). */
#ifndef MOAT_WEBAPI_H
#define MOAT_WEBAPI_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct live;

#define WEB_MAX_BODY (1u << 20) /* a request body; larger is refused with 413 */

/* Counters of the server, for GET /metrics (atomics: any worker thread updates them). */
struct web_stats {
	uint64_t requests;	    /* HTTP requests answered */
	uint64_t refused_auth;	    /* 401: no or wrong token */
	uint64_t refused_origin;    /* 403: wrong Origin or Host, CSRF check failed */
	uint64_t bad_requests;	    /* 400, 404, 405, 413 */
	uint64_t ws_clients;	    /* WebSocket clients connected now */
	uint64_t ws_messages;	    /* messages sent to WebSocket clients */
	uint64_t ws_cut_off;	    /* clients closed for being too slow or too far behind */
	uint64_t http_clients_open; /* HTTP connections being served now */
};

/* What every handler may use. */
struct web_env {
	const char *ctl_path;	   /* moat run's control socket */
	const char *alerts_file;   /* the JSON-lines alert log ("" none) */
	const char *access_log;	   /* the JSON-lines egress decision log ("" none) */
	const char *rules_file;	   /* the global egress rules file */
	int per_container_metrics; /* /metrics has per-container series (off by default) */
	struct live *live;	   /* the live feed (live.h) */
	struct web_stats *stats;
};

/* One request, checked. path has no query string; query is the raw query string ("" when
 * none); body is NUL-terminated (body_len bytes, at most WEB_MAX_BODY). */
struct web_request {
	const char *method;
	const char *path;
	const char *query;
	const char *body;
	size_t body_len;
};

/* One response: status, and either json (taken; sent as application/json) or text (malloc'd,
 * taken; sent with content_type). An error is {"error":"what went wrong and what to do"} with
 * a 4xx or 5xx status (web_error). */
struct web_response {
	int status;
	json_object *json;
	char *text;
	const char *content_type;
};

typedef void (*web_handler)(const struct web_env *env, const struct web_request *rq,
			    struct web_response *rs);

/* One route: method and exact path. A POST route is a mutation (the server requires the
 * CSRF checks of docs/api.md before calling it). help is one line for docs/api.md, which
 * tests/unit/web/test_api.c checks against this table. */
struct web_route {
	const char *method;
	const char *path;
	web_handler fn;
	const char *help;
};

extern const struct web_route web_routes[];
extern const size_t n_web_routes;

/* The route for method and path; NULL with *path_known set when the path exists with
 * another method (405), clear when it does not (404). */
const struct web_route *web_route_find(const char *method, const char *path, int *path_known);

/* Set rs to the error {"error":msg} with status. */
void web_error(struct web_response *rs, int status, const char *msg);

/* The value of query parameter name, URL-decoded into buf (size n). Returns 0, -ENOENT
 * when absent, -ENAMETOOLONG when it does not fit. */
int web_query_get(const char *query, const char *name, char *buf, size_t n);

#endif /* MOAT_WEBAPI_H */
