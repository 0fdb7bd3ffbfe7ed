/* test_server.c - the dashboard's server (src/web/server.c) started in-process with web_start
 * on a free loopback port, a real control socket answering `status`, and real clients:
 * libcurl for HTTP, civetweb's own WebSocket client for /ws. The token, the cookie, CSRF,
 * Origin and Host checks, the body cap, 404/405, the live stream (hello, order, resume, gap),
 * a slow client cut off while others go on, the client limit, bounded memory, and TLS with a
 * self-signed certificate made by openssl. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <civetweb.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "test.h"
#include "live.h"
#include "web.h"

static char dir[64], ctl_path[96], token_file[128];
static int port;

/* ---- a control socket answering status ---- */

static int ctl_fd = -1;

static void *ctl_main(void *arg)
{
	for (;;) {
		int c = accept(ctl_fd, NULL, NULL);
		char buf[4096];
		size_t n = 0;
		ssize_t r;
		const char *ans = "{\"ok\":true,\"status\":{\"mode\":\"test\",\"uptime_s\":1}}\n";

		if (c < 0)
			return NULL;
		/* One request line, then the answer line. */
		while (n < sizeof(buf) && (r = read(c, buf + n, sizeof(buf) - n)) > 0) {
			n += (size_t)r;
			if (memchr(buf, '\n', n))
				break;
		}
		if (write(c, ans, strlen(ans)) < 0)
			perror("write");
		close(c);
	}
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &l);
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

/* ---- HTTP with libcurl ---- */

struct http {
	long status;
	char body[8192];
	size_t blen;
	char headers[8192];
	size_t hlen;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct http *h = ud;
	size_t len = sz * n, room = sizeof(h->body) - 1 - h->blen;

	memcpy(h->body + h->blen, p, len < room ? len : room);
	h->blen += len < room ? len : room;
	h->body[h->blen] = 0;
	return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct http *h = ud;
	size_t len = sz * n, room = sizeof(h->headers) - 1 - h->hlen;

	memcpy(h->headers + h->hlen, p, len < room ? len : room);
	h->hlen += len < room ? len : room;
	h->headers[h->hlen] = 0;
	return len;
}

/* One request: method, path, extra headers (NULL-terminated), body (NULL none). */
static struct http *request(const char *scheme, const char *method, const char *path,
			    const char *const *hdrs, const char *body, size_t body_len)
{
	static struct http h;
	struct curl_slist *sl = NULL;
	char url[512];
	CURL *c = curl_easy_init();

	memset(&h, 0, sizeof(h));
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", scheme, port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	for (; hdrs && *hdrs; hdrs++)
		sl = curl_slist_append(sl, *hdrs);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h.status);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	return &h;
}

/* ---- WebSocket with civetweb's client ---- */

#define MAX_MSGS 4096

struct wsc {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t seqs[MAX_MSGS];
	char types[MAX_MSGS][16];
	int n;
	uint64_t gap_from, gap_to;
	int closed;
	int block; /* the data handler waits while set: a client that does not read */
	struct mg_connection *conn;
};

static int ws_on_data(struct mg_connection *conn, int bits, char *data, size_t len, void *ud)
{
	struct wsc *w = ud;
	json_object *o, *v;

	if ((bits & 0x0f) != MG_WEBSOCKET_OPCODE_TEXT)
		return 1;
	pthread_mutex_lock(&w->lock);
	while (w->block)
		pthread_cond_wait(&w->cond, &w->lock);
	o = json_tokener_parse(data ? data : "");
	(void)len;
	if (o && w->n < MAX_MSGS) {
		if (json_object_object_get_ex(o, "seq", &v))
			w->seqs[w->n] = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(o, "type", &v))
			snprintf(w->types[w->n], sizeof(w->types[0]), "%s",
				 json_object_get_string(v));
		if (!strcmp(w->types[w->n], "gap") && json_object_object_get_ex(o, "data", &v)) {
			json_object *f, *t;

			if (json_object_object_get_ex(v, "from", &f) &&
			    json_object_object_get_ex(v, "to", &t)) {
				w->gap_from = (uint64_t)json_object_get_int64(f);
				w->gap_to = (uint64_t)json_object_get_int64(t);
			}
		}
		w->n++;
	}
	json_object_put(o);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 1;
}

static void ws_on_close(const struct mg_connection *conn, void *ud)
{
	struct wsc *w = ud;

	pthread_mutex_lock(&w->lock);
	w->closed = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static struct wsc *ws_open(const char *path, const char *origin, char *err, size_t errlen)
{
	struct wsc *w = calloc(1, sizeof(*w));

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->conn = mg_connect_websocket_client("127.0.0.1", port, 0, err, errlen, path, origin,
					      ws_on_data, ws_on_close, w);
	if (!w->conn) {
		free(w);
		return NULL;
	}
	return w;
}

/* Wait up to ms for w to hold n messages (or be closed). Returns its count. */
static int ws_wait(struct wsc *w, int n, int ms)
{
	struct timespec ts;
	int got;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (w->n < n && !w->closed)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) == ETIMEDOUT)
			break;
	got = w->n;
	pthread_mutex_unlock(&w->lock);
	return got;
}

static int ws_wait_closed(struct wsc *w, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		int c;

		pthread_mutex_lock(&w->lock);
		c = w->closed;
		pthread_mutex_unlock(&w->lock);
		if (c)
			return 1;
		usleep(50000);
	}
	return 0;
}

static void ws_free(struct wsc *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->block = 0;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	mg_close_connection(w->conn);
	free(w);
}

static json_object *data_n(int n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "n", json_object_new_int(n));
	return o;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

static int has_header(const struct http *h, const char *needle)
{
	return strcasestr(h->headers, needle) != NULL;
}

int main(void)
{
	struct web_options o;
	struct live *live = live_new(0, 0);
	struct web *w;
	struct http *h;
	char auth[128], cookie[128], xtok[128], url[256], err[256], path[256], hostbad[64];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pthread_t ctl_thread;
	struct stat st;
	const char *tok;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(dir, sizeof(dir), "/tmp/moat-test-web-%d", (int)getpid());
	mkdir(dir, 0700);
	snprintf(ctl_path, sizeof(ctl_path), "%s/moat.sock", dir);
	snprintf(token_file, sizeof(token_file), "%s/web.token", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl_path);
	ctl_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	listen(ctl_fd, 16);
	pthread_create(&ctl_thread, NULL, ctl_main, NULL);

	port = free_port();
	web_options_defaults(&o);
	snprintf(o.listen, sizeof(o.listen), "127.0.0.1:%d", port);
	snprintf(o.token_file, sizeof(o.token_file), "%s", token_file);
	snprintf(o.ctl_path, sizeof(o.ctl_path), "%s", ctl_path);
	w = web_start(&o, live);
	CHECK(w != NULL, "web_start listens on a free loopback port", "errno %d", errno);
	if (!w)
		return TEST_EXIT();
	tok = web_token(w);
	{
		char buf[128] = "";
		FILE *f = fopen(token_file, "re");

		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
		}
		buf[strcspn(buf, "\n")] = 0;
		CHECK(stat(token_file, &st) == 0 && (st.st_mode & 0777) == 0600 &&
			  !strcmp(buf, tok) && strlen(tok) == 64,
		      "the token (64 hex) is written 0600 to the token file",
		      "mode %o, file \"%s\"", st.st_mode & 0777, buf);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/?token=%s", port, tok);
	CHECK_EQ_STR(web_url(w), url, "web_url is the URL to open, with the token");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	snprintf(xtok, sizeof(xtok), "X-Moat-Token: %s", tok);
	snprintf(cookie, sizeof(cookie), "Cookie: moat_token=%s", tok);

	/* Authentication. */
	h = request("http", "GET", "/api/status", NULL, NULL, 0);
	CHECK(h->status == 401 && strstr(h->body, "\"error\""), "no token: 401 with a JSON error",
	      "%ld %s", h->status, h->body);
	h = request("http", "GET", "/api/status",
		    (const char *const[]){
			"Authorization: Bearer "
			"0000000000000000000000000000000000000000000000000000000000000000",
			NULL},
		    NULL, 0);
	CHECK_EQ_INT(h->status, 401, "a wrong token: 401");
	h = request("http", "GET", "/", NULL, NULL, 0);
	CHECK(h->status == 401 && strstr(h->body, "web.token") && has_header(h, "text/html"),
	      "the page without a token: 401, an HTML page saying where the token is", "%ld %s",
	      h->status, h->body);
	h = request("http", "GET", "/api/status", (const char *const[]){auth, NULL}, NULL, 0);
	CHECK(h->status == 200 && strstr(h->body, "\"mode\":\"test\""),
	      "the token in Authorization: Bearer: 200, the status from the control socket",
	      "%ld %s", h->status, h->body);
	h = request("http", "GET", "/api/status", (const char *const[]){xtok, NULL}, NULL, 0);
	CHECK_EQ_INT(h->status, 200, "the token in X-Moat-Token: 200");
	snprintf(path, sizeof(path), "/?token=%s", tok);
	h = request("http", "GET", path, NULL, NULL, 0);
	CHECK(h->status == 303 && has_header(h, "Location: /\r") &&
		  has_header(h, "Set-Cookie: moat_token=") && has_header(h, "HttpOnly") &&
		  has_header(h, "SameSite=Strict") && !has_header(h, "Secure"),
	      "/?token=: 303 to / with the cookie (HttpOnly, SameSite=Strict; not Secure over "
	      "HTTP)",
	      "%ld %s", h->status, h->headers);
	h = request("http", "GET", "/", (const char *const[]){cookie, NULL}, NULL, 0);
	CHECK(h->status == 200 && strstr(h->body, "<html") &&
		  has_header(h, "Content-Security-Policy"),
	      "the cookie opens the page (text/html with a CSP)", "%ld %s", h->status, h->headers);
	h = request("http", "GET", "/api/status", (const char *const[]){cookie, NULL}, NULL, 0);
	CHECK_EQ_INT(h->status, 200, "the cookie works for the API");
	snprintf(path, sizeof(path), "/api/status?token=%s", tok);
	h = request("http", "GET", path, NULL, NULL, 0);
	CHECK_EQ_INT(h->status, 401, "?token= outside / and /ws is not accepted");

	/* Host, Origin, CSRF. */
	snprintf(hostbad, sizeof(hostbad), "Host: evil.example:%d", port);
	h = request("http", "GET", "/api/status", (const char *const[]){auth, hostbad, NULL}, NULL,
		    0);
	CHECK_EQ_INT(h->status, 403, "a Host that is not this server (DNS rebinding): 403");
	snprintf(hostbad, sizeof(hostbad), "Host: localhost:%d", port);
	h = request("http", "GET", "/api/status", (const char *const[]){auth, hostbad, NULL}, NULL,
		    0);
	CHECK_EQ_INT(h->status, 200, "Host localhost:PORT is accepted");
	h = request("http", "GET", "/api/status",
		    (const char *const[]){auth, "Origin: http://evil.example", NULL}, NULL, 0);
	CHECK_EQ_INT(h->status, 403, "a foreign Origin: 403");
	h = request("http", "POST", "/api/status",
		    (const char *const[]){cookie, "Content-Type: application/json", NULL}, "{}", 2);
	CHECK_EQ_INT(h->status, 403, "a POST with the cookie but no X-Moat-CSRF: 403");
	h = request(
	    "http", "POST", "/api/status",
	    (const char *const[]){cookie, "X-Moat-CSRF: 1", "Content-Type: text/plain", NULL}, "{}",
	    2);
	CHECK_EQ_INT(h->status, 403, "a POST that is not application/json: 403");
	h = request(
	    "http", "POST", "/api/status",
	    (const char *const[]){cookie, "X-Moat-CSRF: 1", "Content-Type: application/json", NULL},
	    "{}", 2);
	CHECK_EQ_INT(h->status, 405,
		     "a POST with cookie and X-Moat-CSRF passes the checks (405: status is GET)");
	{
		size_t big = WEB_MAX_BODY + 10;
		char *b = malloc(big);

		memset(b, ' ', big);
		h = request("http", "POST", "/api/status",
			    (const char *const[]){auth, "Content-Type: application/json", NULL}, b,
			    big);
		free(b);
		CHECK_EQ_INT(h->status, 413, "a body over 1 MiB: 413");
	}
	h = request("http", "GET", "/api/nothing", (const char *const[]){auth, NULL}, NULL, 0);
	CHECK(h->status == 404 && strstr(h->body, "\"error\""), "an unknown API path: 404 JSON",
	      "%ld %s", h->status, h->body);
	h = request("http", "GET", "/nothing.html", (const char *const[]){auth, NULL}, NULL, 0);
	CHECK_EQ_INT(h->status, 404, "an unknown file: 404");
	h = request("http", "DELETE", "/api/status", (const char *const[]){auth, NULL}, NULL, 0);
	CHECK_EQ_INT(h->status, 405, "a wrong method: 405");
	h = request("http", "GET", "/ws", (const char *const[]){auth, NULL}, NULL, 0);
	CHECK_EQ_INT(h->status, 400, "/ws without the upgrade: 400");

	/* WebSocket refusals. */
	{
		const char *up[] = {"Upgrade: websocket",
				    "Connection: Upgrade",
				    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				    "Sec-WebSocket-Version: 13",
				    NULL,
				    NULL};
		struct wsc *c;

		h = request("http", "GET", "/ws", up, NULL, 0);
		CHECK_EQ_INT(h->status, 401, "a WebSocket upgrade without the token: 401");
		c = ws_open("/ws", NULL, err, sizeof(err));
		CHECK(c == NULL, "civetweb's client without the token is refused", "connected");
		ws_free(c);
		snprintf(path, sizeof(path), "/ws?token=%s", tok);
		c = ws_open(path, "http://evil.example", err, sizeof(err));
		CHECK(c == NULL, "a WebSocket from a foreign Origin is refused", "connected");
		ws_free(c);
	}

	/* The live stream: hello, then the messages in order. */
	{
		struct wsc *a, *b;
		int ok = 1, n;

		for (int i = 1; i <= 5; i++)
			live_publish(live, "test", data_n(i));
		snprintf(path, sizeof(path), "/ws?token=%s", tok);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
		a = ws_open(path, url, err, sizeof(err));
		CHECK(a != NULL, "the right token and our Origin open the live stream", "%s", err);
		if (!a)
			return TEST_EXIT();
		n = ws_wait(a, 6, 5000);
		CHECK(n >= 1 && !strcmp(a->types[0], "hello") && a->seqs[0] == 0,
		      "the first frame is hello (seq 0)", "n %d type %s", n, n ? a->types[0] : "");
		for (int i = 1; i <= 20; i++)
			live_publish(live, "test", data_n(5 + i));
		n = ws_wait(a, 26, 5000);
		for (int i = 1; i < n; i++)
			ok &= a->seqs[i] == (uint64_t)i;
		CHECK(n == 26 && ok, "then every message after seq 0, in order (1..25)", "got %d",
		      n);
		/* Resume after 20: exactly 21..25. */
		snprintf(path, sizeof(path), "/ws?token=%s&after=20", tok);
		b = ws_open(path, NULL, err, sizeof(err));
		n = b ? ws_wait(b, 6, 5000) : 0;
		ok = n == 6;
		for (int i = 1; ok && i < n; i++)
			ok &= b->seqs[i] == (uint64_t)(20 + i);
		usleep(200000);
		CHECK(ok && b->n == 6, "resume with after=20 gives exactly 21..25", "got %d frames",
		      b ? b->n : -1);
		ws_free(b);
		ws_free(a);
	}
	/* A gap: a resume point the ring no longer keeps. */
	{
		struct live_stats ls;
		struct wsc *c;
		int n;

		for (int i = 0; i < LIVE_MAX_MSGS + 100; i++)
			live_publish(live, "test", data_n(i));
		live_get_stats(live, &ls);
		snprintf(path, sizeof(path), "/ws?token=%s&after=3", tok);
		c = ws_open(path, NULL, err, sizeof(err));
		n = c ? ws_wait(c, 3, 5000) : 0;
		CHECK(n >= 3 && !strcmp(c->types[1], "gap") && c->gap_from == 4 &&
			  c->gap_to == ls.oldest - 1 && c->seqs[2] == ls.oldest,
		      "a resume point too far behind gets a gap {from, to}, then the oldest kept",
		      "n %d type %s gap %llu..%llu oldest %llu", n, n > 1 ? c->types[1] : "",
		      c ? (unsigned long long)c->gap_from : 0ULL,
		      c ? (unsigned long long)c->gap_to : 0ULL, (unsigned long long)ls.oldest);
		ws_free(c);
	}

	/* A slow client (never reads) is cut off; a fast one keeps receiving. */
	{
		struct web_stats *ws = web_get_stats(w);
		struct live_stats ls;
		struct wsc *slow, *fast;
		char pad[16000];
		uint64_t cut0 = ws->ws_cut_off, start;
		int published = 0, ok = 1, cut = 0;
		long rss0 = rss_kib(), rss1;

		memset(pad, 'x', sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = 0;
		live_get_stats(live, &ls);
		start = ls.published;
		snprintf(path, sizeof(path), "/ws?token=%s&after=%llu", tok,
			 (unsigned long long)start);
		slow = ws_open(path, NULL, err, sizeof(err));
		fast = ws_open(path, NULL, err, sizeof(err));
		if (!slow || !fast)
			return TEST_EXIT();
		ws_wait(slow, 1, 5000);
		pthread_mutex_lock(&slow->lock);
		slow->block = 1;
		pthread_mutex_unlock(&slow->lock);
		/* Publish 16 KB messages, paced by the fast client, for at most 60 s. */
		for (int round = 0; round < 6000 && !cut; round++) {
			for (int i = 0; i < 20; i++) {
				json_object *d = json_object_new_object();

				json_object_object_add(d, "pad", json_object_new_string(pad));
				live_publish(live, "test", d);
				published++;
			}
			pthread_mutex_lock(&fast->lock);
			fast->n = fast->n > 2000 ? 1 : fast->n; /* keep room; order checked below */
			pthread_mutex_unlock(&fast->lock);
			usleep(10000);
			cut = __atomic_load_n(&ws->ws_cut_off, __ATOMIC_RELAXED) > cut0;
		}
		rss1 = rss_kib();
		CHECK(cut, "a client that does not read is cut off (counted in ws_cut_off)",
		      "published %d messages of 16 KB, cut_off %llu", published,
		      (unsigned long long)ws->ws_cut_off);
		pthread_mutex_lock(&slow->lock);
		slow->block = 0;
		pthread_cond_broadcast(&slow->cond);
		pthread_mutex_unlock(&slow->lock);
		CHECK(ws_wait_closed(slow, 20000), "the cut-off client's connection is closed",
		      "still open");
		printf("# slow client cut off after %d messages of 16 KB; RSS %ld -> %ld KiB\n",
		       published, rss0, rss1);
		/* The fast client: a marker published now arrives, no gap frame. */
		live_publish(live, "marker", NULL);
		live_get_stats(live, &ls);
		for (int i = 0; i < 100; i++) {
			int seen = 0;

			pthread_mutex_lock(&fast->lock);
			for (int j = 0; j < fast->n; j++) {
				seen |= !strcmp(fast->types[j], "marker");
				ok &= strcmp(fast->types[j], "gap") != 0;
			}
			pthread_mutex_unlock(&fast->lock);
			if (seen)
				break;
			usleep(100000);
			if (i == 99)
				ok = 0;
		}
		CHECK(ok && !fast->closed, "the other client keeps receiving, with no gap",
		      "closed %d", fast->closed);
		CHECK(rss1 - rss0 < 64 * 1024,
		      "memory stays bounded while a client does not read (RSS growth < 64 MiB)",
		      "RSS %ld -> %ld KiB", rss0, rss1);
		ws_free(slow);
		ws_free(fast);
	}

	/* The client limit: 64 open, the 65th refused with 503. */
	{
		struct wsc *cs[WEB_DEFAULT_MAX_CLIENTS];
		const char *up[] = {"Upgrade: websocket",
				    "Connection: Upgrade",
				    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				    "Sec-WebSocket-Version: 13",
				    auth,
				    NULL};
		int opened = 0;
		long rss0 = rss_kib(), rss1;

		for (int i = 0; i < 30; i++)
			usleep(100000); /* the earlier clients' close handlers run */
		snprintf(path, sizeof(path), "/ws?token=%s", tok);
		for (int i = 0; i < WEB_DEFAULT_MAX_CLIENTS; i++) {
			cs[i] = ws_open(path, NULL, err, sizeof(err));
			opened += cs[i] && ws_wait(cs[i], 1, 5000) >= 1;
		}
		CHECK_EQ_INT(opened, WEB_DEFAULT_MAX_CLIENTS, "64 live stream clients at once");
		h = request("http", "GET", "/ws", up, NULL, 0);
		CHECK_EQ_INT(h->status, 503, "the 65th is refused with 503");
		for (int i = 0; i < 200; i++)
			live_publish(live, "test", data_n(i));
		{
			int all = 1;

			for (int i = 0; i < WEB_DEFAULT_MAX_CLIENTS; i++)
				all &= cs[i] && ws_wait(cs[i], 201, 10000) >= 201;
			CHECK(all, "each of the 64 receives the 200 new messages", "some did not");
		}
		rss1 = rss_kib();
		printf("# RSS with 64 WebSocket clients (server and clients in this process): %ld "
		       "-> %ld KiB\n",
		       rss0, rss1);
		for (int i = 0; i < WEB_DEFAULT_MAX_CLIENTS; i++)
			ws_free(cs[i]);
	}

	web_stop(w);
	CHECK(stat(token_file, &st) != 0, "web_stop removes the token file", "still there");

	/* The port taken: web_start fails with EADDRINUSE, naming the address. */
	{
		struct sockaddr_in si = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
					 .sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		struct web *w2;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		bind(fd, (struct sockaddr *)&si, sizeof(si));
		listen(fd, 1);
		w2 = web_start(&o, live);
		CHECK(w2 == NULL && errno == EADDRINUSE,
		      "a taken port: web_start fails, EADDRINUSE", "w2 %p errno %d", (void *)w2,
		      errno);
		web_stop(w2);
		close(fd);
	}

	/* TLS with a self-signed certificate. */
	{
		char cert[160], key[160];
		pid_t pid;
		int status = -1;

		snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
		snprintf(key, sizeof(key), "%s/key.pem", dir);
		pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", 1);

			dup2(devnull, 2);
			execlp("openssl", "openssl", "req", "-x509", "-newkey", "rsa:2048",
			       "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj",
			       "/CN=localhost", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "openssl req makes a self-signed certificate", "status %d", status);
		port = free_port();
		snprintf(o.listen, sizeof(o.listen), "127.0.0.1:%d", port);
		snprintf(o.tls_cert, sizeof(o.tls_cert), "%s", cert);
		snprintf(o.tls_key, sizeof(o.tls_key), "%s", key);
		w = web_start(&o, live);
		if (!w && errno == ENOTSUP) {
			/* Debian's civetweb 1.15 with OpenSSL 3 (docs/web.md, "TLS"). */
			h = request("https", "GET", "/", NULL, NULL, 0);
			CHECK(h->status == 0,
			      "where civetweb cannot use this OpenSSL, web_start refuses TLS "
			      "(ENOTSUP, logged) instead of crashing at the first connection",
			      "%ld", h->status);
		} else {
			CHECK(w != NULL && !strncmp(web_url(w), "https://", 8),
			      "web_start with tls_cert and tls_key serves https", "errno %d",
			      errno);
		}
		if (w) {
			snprintf(path, sizeof(path), "/?token=%s", web_token(w));
			h = request("https", "GET", path, NULL, NULL, 0);
			CHECK(h->status == 303 && has_header(h, "; Secure"),
			      "over TLS, /?token= sets the cookie with Secure", "%ld %s", h->status,
			      h->headers);
			snprintf(auth, sizeof(auth), "Authorization: Bearer %s", web_token(w));
			h = request("https", "GET", "/api/status",
				    (const char *const[]){auth, NULL}, NULL, 0);
			CHECK_EQ_INT(h->status, 200, "the API over https");
			h = request("http", "GET", "/api/status", (const char *const[]){auth, NULL},
				    NULL, 0);
			CHECK(h->status != 200, "plain http to the TLS port gets no answer", "%ld",
			      h->status);
			web_stop(w);
		}
		unlink(cert);
		unlink(key);
	}

	live_free(live);
	shutdown(ctl_fd, SHUT_RDWR);
	close(ctl_fd);
	unlink(ctl_path);
	rmdir(dir);
	curl_global_cleanup();
	return TEST_EXIT();
}
