/* server.c - the dashboard's HTTP/WebSocket server (web.h) on civetweb: every request passes
 * the Host, token, Origin and CSRF checks of docs/web.md in begin_request, then goes to the
 * API table (webapi.h) or the embedded page; /ws streams the live feed, one sender thread
 * per client with a send deadline enforced by a watchdog. */
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <civetweb.h>

#include "clock.h"
#include "fs.h"
#include "live.h"
#include "log.h"
#include "server_assets.h"
#include "web.h"

#define WEB_JSON_FLAGS	 (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define WS_POLL_MS	 250 /* a sender looks at its stop flag at least this often */
#define WATCHDOG_TICK_MS 250
#define WS_IDLE_PING_MS	 30000 /* civetweb pings an idle client, closes it after 5 unanswered */

/* One WebSocket client. Created by ws_connect, freed by ws_close after its sender ended. */
struct ws_client {
	struct web *w;
	struct mg_connection *conn;
	pthread_t sender;
	int sender_started;
	uint64_t after;		/* the cursor: the last seq sent */
	int fd;			/* its socket (found at ready), -1 unknown */
	int stop;		/* atomic: ws_close asks the sender to end */
	int cut;		/* atomic: cut off once */
	int64_t write_since;	/* atomic: mono ns when the pending write began, 0 none */
	struct ws_client *next; /* w->clients, under w->lock */
};

struct web {
	struct mg_context *ctx;
	struct web_options opt;
	struct web_env env;
	struct web_stats stats;
	char token[WEB_TOKEN_HEX + 1];
	char url[256];
	char host[64]; /* the listen address */
	int port, tls;
	char pem[4200]; /* key + certificate joined for civetweb ("" when not needed) */
	pthread_mutex_t lock;
	struct ws_client *clients;
	uint32_t n_ws;
	pthread_t watchdog;
	int watchdog_started;
	int stopping; /* atomic */
};

#define ATOMIC_INC(p) __atomic_fetch_add((p), 1, __ATOMIC_RELAXED)
#define ATOMIC_DEC(p) __atomic_fetch_sub((p), 1, __ATOMIC_RELAXED)

void web_options_defaults(struct web_options *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->listen, sizeof(o->listen), "%s", WEB_DEFAULT_LISTEN);
	o->max_clients = WEB_DEFAULT_MAX_CLIENTS;
}

/* ---- checks ---- */

/* s (n bytes) is the token, compared in constant time (the length is not secret). */
static int token_ok(const struct web *w, const char *s, size_t n)
{
	unsigned char d = n != WEB_TOKEN_HEX;

	for (size_t i = 0; i < WEB_TOKEN_HEX; i++)
		d |= (unsigned char)((i < n ? s[i] : 0) ^ w->token[i]);
	return s && !d;
}

/* host ("name" or "name:port", as in a Host header) names this server: the listen address,
 * localhost or 127.0.0.1, with our port or none (civetweb's own client sends none). The name
 * is what defeats DNS rebinding: a page of another site names its own host. */
static int host_ok(const struct web *w, const char *host, size_t len)
{
	const char *colon = memchr(host, ':', len);
	size_t nlen = colon ? (size_t)(colon - host) : len;
	char port[8];

	if (colon) {
		size_t plen = len - nlen - 1;
		char *end;
		long p;

		if (plen == 0 || plen >= sizeof(port))
			return 0;
		memcpy(port, colon + 1, plen);
		port[plen] = 0;
		p = strtol(port, &end, 10);
		if (*end || p != w->port)
			return 0;
	}
	return (nlen == 9 && !strncasecmp(host, "localhost", 9)) ||
	       (nlen == 9 && !memcmp(host, "127.0.0.1", 9)) ||
	       (nlen == strlen(w->host) && !memcmp(host, w->host, nlen));
}

/* An Origin header names this server: our scheme and a host_ok host. */
static int origin_ok(const struct web *w, const char *origin)
{
	const char *scheme = w->tls ? "https://" : "http://";
	size_t sl = strlen(scheme);

	if (strncasecmp(origin, scheme, sl))
		return 0;
	origin += sl;
	return host_ok(w, origin, strlen(origin));
}

/* How a request authenticated. */
enum auth { AUTH_NONE, AUTH_HEADER, AUTH_COOKIE, AUTH_QUERY };

static enum auth authenticate(const struct web *w, struct mg_connection *conn, int query_ok)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *h = mg_get_header(conn, "Authorization");
	char buf[WEB_TOKEN_HEX + 2];
	int n;

	if (h && !strncasecmp(h, "Bearer ", 7) && token_ok(w, h + 7, strlen(h + 7)))
		return AUTH_HEADER;
	h = mg_get_header(conn, "X-Moat-Token");
	if (h && token_ok(w, h, strlen(h)))
		return AUTH_HEADER;
	h = mg_get_header(conn, "Cookie");
	if (h && (n = mg_get_cookie(h, "moat_token", buf, sizeof(buf))) > 0 &&
	    token_ok(w, buf, (size_t)n))
		return AUTH_COOKIE;
	if (query_ok && web_query_get(ri->query_string, "token", buf, sizeof(buf)) == 0 &&
	    token_ok(w, buf, strlen(buf)))
		return AUTH_QUERY;
	return AUTH_NONE;
}

/* ---- answers ---- */

/* Send status with body (len bytes) of ctype and the headers every answer has; extra is
 * NULL or "Name", "value" pairs ending in NULL. Returns status (for civetweb's log). */
static int send_answer(struct web *w, struct mg_connection *conn, int status, const char *ctype,
		       const char *body, size_t len, const char *const *extra)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *upgrade = mg_get_header(conn, "Upgrade");
	char clen[24];

	if (status >= 400 && status != 503)
		ATOMIC_INC(status == 401   ? &w->stats.refused_auth
			   : status == 403 ? &w->stats.refused_origin
					   : &w->stats.bad_requests);
	if (upgrade && !strcasecmp(upgrade, "websocket")) {
		/* A refused upgrade. civetweb 1.15 sends no status line or header for a request
		 * it has marked as a WebSocket (mg_response_header_* and mg_send_http_error write
		 * the body alone), so the status line and headers of this one answer are written
		 * here; nothing is parsed. */
		mg_printf(conn,
			  "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\nCache-Control: no-store\r\n"
			  "Connection: close\r\n\r\n",
			  status, mg_get_response_code_text(conn, status), len);
		mg_write(conn, body, len);
		return status;
	}
	mg_response_header_start(conn, status);
	if (ctype)
		mg_response_header_add(conn, "Content-Type", ctype, -1);
	snprintf(clen, sizeof(clen), "%zu", len);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
	mg_response_header_add(conn, "X-Frame-Options", "DENY", -1);
	mg_response_header_add(conn, "Referrer-Policy", "no-referrer", -1);
	if (ctype && !strncmp(ctype, "text/html", 9))
		mg_response_header_add(
		    conn, "Content-Security-Policy",
		    "default-src 'none'; script-src 'self'; style-src 'self'; "
		    "connect-src 'self'; img-src 'self' data:; "
		    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		    -1);
	for (; extra && extra[0]; extra += 2)
		mg_response_header_add(conn, extra[0], extra[1], -1);
	mg_response_header_send(conn);
	if (len && strcmp(ri->request_method, "HEAD"))
		mg_write(conn, body, len);
	return status;
}

static int send_json(struct web *w, struct mg_connection *conn, int status, json_object *o,
		     const char *const *extra)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o, WEB_JSON_FLAGS, &len);

	status = send_answer(w, conn, status, "application/json", s ? s : "{}", s ? len : 2, extra);
	json_object_put(o);
	return status;
}

static int send_error(struct web *w, struct mg_connection *conn, int status, const char *msg,
		      const char *const *extra)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return send_json(w, conn, status, o, extra);
}

/* 401 for the page itself: a small HTML page saying where the token is. */
static int send_login_page(struct web *w, struct mg_connection *conn)
{
	char page[6000];
	int n = snprintf(page, sizeof(page),
			 "<!doctype html><html><head><meta charset=\"utf-8\"><title>moat: token "
			 "needed</title></head><body><h1>moat: the access token is needed</h1>"
			 "<p>Open the address <code>moat run</code> printed when it started (it "
			 "ends in <code>/?token=...</code>), or read the token from "
			 "<code>%s</code> (readable by root only) and open "
			 "<code>/?token=TOKEN</code>.</p></body></html>",
			 w->opt.token_file[0] ? w->opt.token_file : "moat run's log");

	return send_answer(w, conn, 401, "text/html; charset=utf-8", page,
			   (size_t)(n < (int)sizeof(page) ? n : (int)sizeof(page) - 1), NULL);
}

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".woff2", "font/woff2"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".map", "application/json"},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* GET an embedded file ("/" is /index.html). */
static int serve_asset(struct web *w, struct mg_connection *conn, const char *method,
		       const char *path)
{
	if (!strcmp(path, "/"))
		path = "/index.html";
	for (size_t i = 0; i < n_web_assets; i++) {
		if (strcmp(web_assets[i].path, path))
			continue;
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return send_error(w, conn, 405, "the page's files are read with GET",
					  (const char *const[]){"Allow", "GET, HEAD", NULL});
		return send_answer(w, conn, 200, content_type(path),
				   (const char *)web_assets[i].data, web_assets[i].len, NULL);
	}
	return send_error(w, conn, 404, "no such page or API path (see docs/api.md)", NULL);
}

/* Read the request body (at most WEB_MAX_BODY) into *out (NUL-terminated). Returns 0,
 * -EFBIG when larger, -EIO when the client went away. */
static int read_body(struct mg_connection *conn, char **out, size_t *len)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	size_t cap = ri->content_length >= 0 ? (size_t)ri->content_length + 1 : 4096, n = 0;
	char *buf;

	*out = NULL;
	*len = 0;
	if (ri->content_length > (long long)WEB_MAX_BODY)
		return -EFBIG;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		int r;

		if (n == cap) {
			char *nb;

			if (cap > WEB_MAX_BODY) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > WEB_MAX_BODY + 1 ? WEB_MAX_BODY + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = mg_read(conn, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			return -EIO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > WEB_MAX_BODY) {
		free(buf);
		return -EFBIG;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/* An /api/ path or /metrics through the route table. */
static int serve_api(struct web *w, struct mg_connection *conn, const char *method,
		     const char *path)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct web_request rq = {
	    .method = method, .path = path, .query = ri->query_string ? ri->query_string : ""};
	struct web_response rs = {0};
	const struct web_route *rt;
	char *body = NULL;
	int known, err, status;

	rt = web_route_find(method, path, &known);
	if (!rt) {
		if (known)
			return send_error(w, conn, 405, "this path does not take this method",
					  NULL);
		return send_error(w, conn, 404, "no such API path (see docs/api.md)", NULL);
	}
	err = read_body(conn, &body, &rq.body_len);
	if (err == -EFBIG)
		return send_error(w, conn, 413, "the request body is larger than 1 MiB",
				  (const char *const[]){"Connection", "close", NULL});
	if (err)
		return send_error(w, conn, err == -ENOMEM ? 503 : 400,
				  "the request body could not be read", NULL);
	rq.body = body ? body : "";
	rt->fn(&w->env, &rq, &rs);
	free(body);
	status = rs.status ? rs.status : 200;
	if (rs.json)
		return send_json(w, conn, status, rs.json, NULL);
	if (rs.text) {
		status =
		    send_answer(w, conn, status,
				rs.content_type ? rs.content_type : "text/plain; charset=utf-8",
				rs.text, strlen(rs.text), NULL);
		free(rs.text);
		return status;
	}
	return send_answer(w, conn, status, NULL, "", 0, NULL);
}

/* Every request: the checks, then the answer (0: a WebSocket upgrade civetweb goes on with). */
static int begin_request(struct mg_connection *conn)
{
	struct web *w = mg_get_user_data(mg_get_context(conn));
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *path = ri->local_uri ? ri->local_uri : "/";
	const char *method = ri->request_method ? ri->request_method : "";
	const char *host = mg_get_header(conn, "Host"), *origin = mg_get_header(conn, "Origin");
	const char *upgrade = mg_get_header(conn, "Upgrade");
	int is_ws = upgrade && !strcasecmp(upgrade, "websocket");
	int is_page = !strcmp(path, "/") && !strcmp(method, "GET");
	enum auth auth;
	int ret;

	ATOMIC_INC(&w->stats.http_clients_open);
	ATOMIC_INC(&w->stats.requests);
	if (!host || !host_ok(w, host, strlen(host))) {
		ret =
		    send_error(w, conn, 403,
			       "the Host header must name this server (localhost, 127.0.0.1 or the "
			       "listen address, with its port)",
			       NULL);
		goto done;
	}
	if (origin && !origin_ok(w, origin)) {
		ret = send_error(w, conn, 403, "cross-origin requests are refused", NULL);
		goto done;
	}
	auth = authenticate(w, conn, is_page || !strcmp(path, "/ws"));
	if (auth == AUTH_NONE) {
		ret = is_page ? send_login_page(w, conn)
			      : send_error(w, conn, 401,
					   "the access token is missing or wrong: send "
					   "\"Authorization: Bearer TOKEN\" (the token is in "
					   "web.token next to moat run's control socket)",
					   NULL);
		goto done;
	}
	if (auth == AUTH_QUERY && is_page) {
		/* Set the cookie and take the token out of the address bar. */
		char cookie[160];

		snprintf(cookie, sizeof(cookie),
			 "moat_token=%s; HttpOnly; SameSite=Strict; Path=/%s", w->token,
			 w->tls ? "; Secure" : "");
		ret =
		    send_answer(w, conn, 303, NULL, "", 0,
				(const char *const[]){"Location", "/", "Set-Cookie", cookie, NULL});
		goto done;
	}
	if (ri->content_length > (long long)WEB_MAX_BODY) {
		ret = send_error(w, conn, 413, "the request body is larger than 1 MiB",
				 (const char *const[]){"Connection", "close", NULL});
		goto done;
	}
	if (!strcmp(path, "/ws")) {
		if (!is_ws) {
			ret = send_error(w, conn, 400,
					 "/ws is the live stream: open it as a WebSocket", NULL);
			goto done;
		}
		if (__atomic_load_n(&w->n_ws, __ATOMIC_RELAXED) >= w->opt.max_clients) {
			ret = send_error(w, conn, 503,
					 "too many live stream clients (http.max_clients); close a "
					 "dashboard tab",
					 NULL);
			goto done;
		}
		ATOMIC_DEC(&w->stats.http_clients_open);
		return 0; /* ws_connect takes it from here */
	}
	if (is_ws) {
		ret = send_error(w, conn, 404, "the only WebSocket is /ws", NULL);
		goto done;
	}
	if (!strcmp(method, "POST")) {
		const char *ct = mg_get_header(conn, "Content-Type");
		const char *csrf = mg_get_header(conn, "X-Moat-CSRF");

		if (auth == AUTH_COOKIE && (!csrf || strcmp(csrf, "1"))) {
			ret = send_error(w, conn, 403,
					 "a POST authenticated by the cookie needs the header "
					 "X-Moat-CSRF: 1",
					 NULL);
			goto done;
		}
		if (!ct || strncasecmp(ct, "application/json", 16) ||
		    (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
			ret =
			    send_error(w, conn, 403, "a POST body must be application/json", NULL);
			goto done;
		}
	}
	if (!strncmp(path, "/api/", 5) || !strcmp(path, "/metrics"))
		ret = serve_api(w, conn, method, path);
	else
		ret = serve_asset(w, conn, method, path);
done:
	ATOMIC_DEC(&w->stats.http_clients_open);
	return ret;
}

static int log_message(const struct mg_connection *conn, const char *message)
{
	log_debug("web: %s", message);
	return 1;
}

/* ---- the live stream ---- */

/* The socket of the connection from raddr:rport to our port: its fd, or -1. */
static int find_socket(int port, const char *raddr, int rport)
{
	DIR *d = opendir("/proc/self/fd");
	struct in_addr want;
	struct dirent *e;
	int found = -1;

	if (!d || inet_pton(AF_INET, raddr, &want) != 1) {
		if (d)
			closedir(d);
		return -1;
	}
	while (found < 0 && (e = readdir(d))) {
		struct sockaddr_in l, p;
		socklen_t ll = sizeof(l), pl = sizeof(p);
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd == dirfd(d))
			continue;
		if (getsockname((int)fd, (struct sockaddr *)&l, &ll) || l.sin_family != AF_INET ||
		    ntohs(l.sin_port) != port)
			continue;
		if (getpeername((int)fd, (struct sockaddr *)&p, &pl) || p.sin_family != AF_INET ||
		    ntohs(p.sin_port) != rport || p.sin_addr.s_addr != want.s_addr)
			continue;
		found = (int)fd;
	}
	closedir(d);
	return found;
}

/* Cut client c off (once): counted, its socket shut down so that civetweb's reader ends. */
static void ws_cut_off(struct ws_client *c, const char *why)
{
	int zero = 0;

	if (!__atomic_compare_exchange_n(&c->cut, &zero, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	ATOMIC_INC(&c->w->stats.ws_cut_off);
	log_debug("web: live stream client cut off: %s", why);
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
}

/* Send text as one frame, under the watchdog. Returns 0 or -EIO. */
static int ws_send(struct ws_client *c, const char *text, size_t len)
{
	int r;

	__atomic_store_n(&c->write_since, clock_mono_ns(), __ATOMIC_SEQ_CST);
	r = mg_websocket_write(c->conn, MG_WEBSOCKET_OPCODE_TEXT, text, len);
	__atomic_store_n(&c->write_since, 0, __ATOMIC_SEQ_CST);
	if (r <= 0)
		return -EIO;
	ATOMIC_INC(&c->w->stats.ws_messages);
	return 0;
}

/* A message {"seq":0,"time":now,"type":type,"data":data} (data taken) sent to c. */
static int ws_send_own(struct ws_client *c, const char *type, json_object *data)
{
	json_object *o = json_object_new_object();
	char t[64];
	size_t len;
	const char *str;
	int err;

	clock_format_utc_ms(clock_unix_ns(), t, sizeof(t));
	json_object_object_add(o, "seq", json_object_new_int64(0));
	json_object_object_add(o, "time", json_object_new_string(t));
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "data", data);
	str = json_object_to_json_string_length(o, WEB_JSON_FLAGS, &len);
	err = str ? ws_send(c, str, len) : -ENOMEM;
	json_object_put(o);
	return err;
}

/* The sender: hello, then every message after the client's cursor, as they come. */
static void *ws_sender(void *arg)
{
	struct ws_client *c = arg;
	struct live *live = c->w->env.live;
	struct live_stats st;
	json_object *hello = json_object_new_object();
	int resumed = 0;

	live_get_stats(live, &st);
	/* A cursor from a previous moat run (beyond our last seq): start from what is kept. */
	if (c->after > st.published)
		c->after = 0;
	json_object_object_add(hello, "last_seq", json_object_new_int64((int64_t)st.published));
	json_object_object_add(hello, "oldest_seq", json_object_new_int64((int64_t)st.oldest));
	if (ws_send_own(c, "hello", hello)) {
		ws_cut_off(c, "the hello could not be sent");
		return NULL;
	}
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&c->cut, __ATOMIC_SEQ_CST)) {
		char *msg = NULL;
		uint64_t seq = 0;
		int err = live_next(live, c->after, &msg, &seq);

		if (err == -EAGAIN) {
			resumed = 1;
			live_wait(live, c->after, WS_POLL_MS);
			continue;
		}
		if (err == -ERANGE) {
			json_object *gap = json_object_new_object();

			json_object_object_add(gap, "from",
					       json_object_new_int64((int64_t)c->after + 1));
			json_object_object_add(gap, "to", json_object_new_int64((int64_t)seq));
			if (ws_send_own(c, "gap", gap) || resumed) {
				/* Fell off the ring while live: too slow. */
				ws_cut_off(c, "it fell behind the live feed's ring");
				break;
			}
			c->after = seq;
			continue;
		}
		if (err) {
			struct timespec ts = {0, WS_POLL_MS * 1000000L};

			nanosleep(&ts, NULL); /* ENOMEM: try again */
			continue;
		}
		err = ws_send(c, msg, strlen(msg));
		free(msg);
		if (err) {
			/* The watchdog cut it off, or the client went away. */
			if (c->fd >= 0)
				shutdown(c->fd, SHUT_RDWR);
			break;
		}
		c->after = seq;
	}
	return NULL;
}

static int ws_connect(const struct mg_connection *conn, void *cbdata)
{
	struct web *w = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct ws_client *c;
	char buf[32], *end;

	c = calloc(1, sizeof(*c));
	if (!c)
		return 1;
	c->w = w;
	c->fd = -1;
	if (web_query_get(ri->query_string, "after", buf, sizeof(buf)) == 0) {
		unsigned long long a;

		errno = 0;
		a = strtoull(buf, &end, 10);
		if (!errno && *end == 0 && end != buf)
			c->after = a;
	}
	pthread_mutex_lock(&w->lock);
	if (w->n_ws >= w->opt.max_clients || __atomic_load_n(&w->stopping, __ATOMIC_SEQ_CST)) {
		pthread_mutex_unlock(&w->lock);
		free(c);
		return 1;
	}
	c->next = w->clients;
	w->clients = c;
	w->n_ws++;
	ATOMIC_INC(&w->stats.ws_clients);
	pthread_mutex_unlock(&w->lock);
	mg_set_user_connection_data(conn, c);
	return 0;
}

static void ws_ready(struct mg_connection *conn, void *cbdata)
{
	struct web *w = cbdata;
	struct ws_client *c = mg_get_user_connection_data(conn);
	const struct mg_request_info *ri = mg_get_request_info(conn);

	if (!c)
		return;
	c->conn = conn;
	c->fd = find_socket(w->port, ri->remote_addr, ri->remote_port);
	if (pthread_create(&c->sender, NULL, ws_sender, c) == 0)
		c->sender_started = 1;
	else
		log_warn("web: cannot start a live stream sender: %s", strerror(errno));
}

static int ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
	/* The stream is one way: a client's frames are read and dropped; close ends it. */
	return (bits & 0x0f) != MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
}

static void ws_close(const struct mg_connection *conn, void *cbdata)
{
	struct web *w = cbdata;
	struct ws_client *c = mg_get_user_connection_data(conn), **pp;

	if (!c)
		return;
	__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
	if (c->sender_started)
		pthread_join(c->sender, NULL);
	pthread_mutex_lock(&w->lock);
	for (pp = &w->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	w->n_ws--;
	ATOMIC_DEC(&w->stats.ws_clients);
	pthread_mutex_unlock(&w->lock);
	mg_set_user_connection_data(conn, NULL);
	free(c);
}

/* Cut off every client whose pending write is older than WEB_SEND_TIMEOUT_MS. */
static void *watchdog_main(void *arg)
{
	struct web *w = arg;
	struct timespec tick = {0, WATCHDOG_TICK_MS * 1000000L};

	while (!__atomic_load_n(&w->stopping, __ATOMIC_SEQ_CST)) {
		int64_t now = clock_mono_ns();

		nanosleep(&tick, NULL);
		pthread_mutex_lock(&w->lock);
		for (struct ws_client *c = w->clients; c; c = c->next) {
			int64_t since = __atomic_load_n(&c->write_since, __ATOMIC_SEQ_CST);

			if (since && now - since > (int64_t)WEB_SEND_TIMEOUT_MS * 1000000)
				ws_cut_off(c, "it did not take a frame within the send timeout");
		}
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

/* ---- start and stop ---- */

/* Is addr:port free to listen on? 0, or -errno from bind (EADDRINUSE). */
static int probe_listen(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, err = 0;

	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = -errno;
	close(fd);
	return err;
}

/* The key and the certificate in one file for civetweb, 0600 next to the token. */
static int join_pem(struct web *w)
{
	char *key = NULL, *cert = NULL, *both = NULL;
	size_t kl, cl;
	int err;

	err = fs_read_all(w->opt.tls_key, 1u << 20, &key, &kl);
	if (err) {
		log_error("web: cannot read the TLS key %s: %s", w->opt.tls_key, strerror(-err));
		goto cleanup;
	}
	err = fs_read_all(w->opt.tls_cert, 1u << 20, &cert, &cl);
	if (err) {
		log_error("web: cannot read the TLS certificate %s: %s", w->opt.tls_cert,
			  strerror(-err));
		goto cleanup;
	}
	both = malloc(kl + cl + 2);
	if (!both) {
		err = -ENOMEM;
		goto cleanup;
	}
	memcpy(both, key, kl);
	both[kl] = '\n';
	memcpy(both + kl + 1, cert, cl);
	if (w->opt.token_file[0])
		snprintf(w->pem, sizeof(w->pem), "%s.pem", w->opt.token_file);
	else
		snprintf(w->pem, sizeof(w->pem), "/run/moat/web.pem");
	err = fs_save_atomic(w->pem, both, kl + cl + 1, 0600);
	if (err) {
		log_error("web: cannot write %s: %s", w->pem, strerror(-err));
		w->pem[0] = 0;
	}
cleanup:
	if (key)
		memset(key, 0, kl);
	if (both)
		memset(both, 0, kl + cl + 1);
	free(key);
	free(cert);
	free(both);
	return err;
}

/* civetweb's global state, once per process (never torn down: web_start may run again). */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
	web_tls_prepare(0); /* before civetweb loads libssl.so (server_tls.c) */
	mg_init_library(MG_FEATURES_TLS | MG_FEATURES_WEBSOCKET);
}

/* Can civetweb serve TLS here? It loads libssl.so at run time (dlopen) and looks up the
 * OpenSSL 1.1 functions it was built for; with OpenSSL 3 one is missing
 * (SSL_get_peer_certificate) and civetweb would call NULL at the first TLS connection.
 * server_tls.c loads stand-ins that provide it. Returns 0, or ENOTSUP after logging what to
 * do. */
static int tls_usable(void)
{
	if (!mg_check_feature(MG_FEATURES_TLS)) {
		log_error("web: this civetweb has no TLS support: the dashboard is off; reach it "
			  "through an SSH tunnel instead (docs/web.md)");
		return ENOTSUP;
	}
	return web_tls_prepare(1) ? ENOTSUP : 0;
}

struct web *web_start(const struct web_options *o, struct live *live)
{
	struct mg_callbacks cb = {.begin_request = begin_request, .log_message = log_message};
	struct mg_init_data init = {.callbacks = &cb};
	char err_text[256] = "", ports[160], threads[16];
	struct mg_error_data err = {.text = err_text, .text_buffer_size = sizeof(err_text)};
	unsigned char rnd[WEB_TOKEN_HEX / 2];
	const char *opts[32];
	struct web *w;
	int n = 0, e;

	if (!strcmp(o->listen, "off")) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->opt = *o;
	pthread_mutex_init(&w->lock, NULL);
	if (http_listen_parse(o->listen, w->host, sizeof(w->host), &w->port)) {
		log_error("web: bad listen address \"%s\": give IPv4ADDR:PORT, e.g. %s, or off",
			  o->listen, WEB_DEFAULT_LISTEN);
		e = EINVAL;
		goto fail;
	}
	if (!w->opt.max_clients || w->opt.max_clients > 1024)
		w->opt.max_clients = WEB_DEFAULT_MAX_CLIENTS;
	w->tls = o->tls_cert[0] != 0;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_error("web: getrandom failed: %s", strerror(errno));
		e = EIO;
		goto fail;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(w->token + 2 * i, 3, "%02x", rnd[i]);
	memset(rnd, 0, sizeof(rnd));
	w->env = (struct web_env){.ctl_path = w->opt.ctl_path,
				  .alerts_file = w->opt.alerts_file,
				  .access_log = w->opt.access_log,
				  .rules_file = w->opt.rules_file,
				  .per_container_metrics = w->opt.per_container_metrics,
				  .live = live,
				  .stats = &w->stats};
	e = -probe_listen(w->host, w->port);
	if (e) {
		log_error("web: cannot listen on %s: %s (another program, or another moat run, "
			  "has it): the dashboard is off; choose another address with --http "
			  "ADDR:PORT, or --http off",
			  o->listen, strerror(e));
		goto fail;
	}
	if (w->tls && o->tls_key[0] && strcmp(o->tls_key, o->tls_cert) && join_pem(w)) {
		e = EINVAL;
		goto fail;
	}
	if (w->tls && (e = tls_usable()) != 0)
		goto fail;
	pthread_once(&lib_once, lib_init);
	snprintf(ports, sizeof(ports), "%s:%d%s", w->host, w->port, w->tls ? "s" : "");
	snprintf(threads, sizeof(threads), "%u", w->opt.max_clients + WEB_HTTP_THREADS);
	opts[n++] = "listening_ports";
	opts[n++] = ports;
	opts[n++] = "num_threads";
	opts[n++] = threads;
	opts[n++] = "request_timeout_ms";
	opts[n++] = "10000";
	opts[n++] = "websocket_timeout_ms";
	opts[n++] = "30000";
	opts[n++] = "enable_websocket_ping_pong";
	opts[n++] = "yes";
	opts[n++] = "enable_keep_alive";
	opts[n++] = "yes";
	opts[n++] = "access_control_allow_origin";
	opts[n++] = "";
	opts[n++] = "enable_directory_listing";
	opts[n++] = "no";
	if (w->tls) {
		opts[n++] = "ssl_certificate";
		opts[n++] = w->pem[0] ? w->pem : o->tls_cert;
		opts[n++] = "ssl_protocol_version";
		opts[n++] = "4"; /* TLS 1.2 and later */
	}
	opts[n] = NULL;
	init.user_data = w;
	init.configuration_options = opts;
	w->ctx = mg_start2(&init, &err);
	if (!w->ctx) {
		log_error("web: cannot start the dashboard on %s: %s%s; moat goes on without it "
			  "(--http off to silence this)",
			  o->listen, err_text[0] ? err_text : "civetweb failed",
			  w->tls ? " (TLS: check the certificate and key, and that libssl-dev is "
				   "installed: civetweb loads libssl.so at run time)"
				 : "");
		e = EIO;
		goto fail;
	}
	mg_set_websocket_handler(w->ctx, "/ws", ws_connect, ws_ready, ws_data, ws_close, w);
	if (pthread_create(&w->watchdog, NULL, watchdog_main, w) == 0)
		w->watchdog_started = 1;
	snprintf(w->url, sizeof(w->url), "%s://%s:%d/?token=%s", w->tls ? "https" : "http",
		 !strcmp(w->host, "0.0.0.0") ? "127.0.0.1" : w->host, w->port, w->token);
	if (o->token_file[0]) {
		char line[WEB_TOKEN_HEX + 2];
		int r;

		snprintf(line, sizeof(line), "%s\n", w->token);
		r = fs_save_atomic(o->token_file, line, WEB_TOKEN_HEX + 1, 0600);
		if (r)
			log_warn("web: cannot write the token to %s: %s (the URL below has it)",
				 o->token_file, strerror(-r));
	}
	return w;
fail:
	if (w->pem[0])
		unlink(w->pem);
	pthread_mutex_destroy(&w->lock);
	free(w);
	errno = e;
	return NULL;
}

const char *web_url(const struct web *w)
{
	return w->url;
}

const char *web_token(const struct web *w)
{
	return w->token;
}

struct web_stats *web_get_stats(struct web *w)
{
	return &w->stats;
}

void web_stop(struct web *w)
{
	if (!w)
		return;
	__atomic_store_n(&w->stopping, 1, __ATOMIC_SEQ_CST);
	/* Readers end at once instead of at their next timeout. */
	pthread_mutex_lock(&w->lock);
	for (struct ws_client *c = w->clients; c; c = c->next) {
		__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&w->lock);
	mg_stop(w->ctx);
	if (w->watchdog_started)
		pthread_join(w->watchdog, NULL);
	if (w->opt.token_file[0])
		unlink(w->opt.token_file);
	if (w->pem[0])
		unlink(w->pem);
	memset(w->token, 0, sizeof(w->token));
	pthread_mutex_destroy(&w->lock);
	free(w);
}
