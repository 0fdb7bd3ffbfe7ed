/* export.c - the exporter (export.h): a lock-free ring from the event loop, the exporter's
 * thread (records -> JSONEachRow rows -> batches), and the sender thread (batches ->
 * ClickHouse over HTTP, or the spool while it is away). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "clock.h"
#include "event.h"
#include "export_int.h"
#include "format.h"
#include "fs.h"
#include "log.h"

#define MEM_BATCHES    4 /* closed batches waiting in memory for the sender */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define ANSWER_MAX     1024	     /* the server's answer kept for an error message */
#define IDLE_NS	       (5 * 1000000) /* the exporter's thread sleeps this long on an empty ring */

enum { REC_PAD = 0, REC_EVENT, REC_ALERT };
#define REC_BODY_MAX 60000 /* the longest body a record carries (an alert's JSON) */
#define REC_MAX	     (REC_BODY_MAX + 4096)

/* One record in the ring: this header, then the container id, name, image and the domain
 * (not NUL-terminated), then the body (the raw event, or the alert's JSON). */
struct rec {
	uint32_t len; /* the whole record, a multiple of 8 */
	uint16_t kind;
	uint16_t type; /* the event type */
	uint64_t seq;
	int64_t offset_ns; /* events: boot clock to Unix time; alerts: the alert's time */
	uint16_t id_len, name_len, image_len, dom_len;
	uint32_t body_len;
	uint32_t pad;
};

struct exporter {
	struct export_config conf;
	char host[64], boot_id[40];
	char *insert_url[2];	       /* events, alerts: the INSERT ... FORMAT JSONEachRow URLs */
	char safe_url[EXPORT_URL_LEN]; /* the URL without credentials, for messages */
	/* The ring: single producer (the loop), single consumer (the exporter's thread). */
	uint8_t *ring;
	size_t ring_size; /* a power of two */
	_Atomic uint64_t r_head, r_tail;
	_Atomic uint64_t seq;
	_Atomic uint64_t dropped_queue[MOAT_EV_MAX], dropped_queue_alerts;
	_Atomic uint64_t handed[2]; /* events, alerts handed over */
	/* The exporter's thread: its open batches, one per class. */
	struct export_batch *open[EXPORT_CLS_NR];
	struct format_json_cache fc;
	struct container_info *ci; /* scratch for format_event_json_line */
	uint64_t last_id;
	_Atomic uint64_t flush_req, flush_done; /* close the open batches now (export_flush): the
						    request's number, the last one done */
	_Atomic int rows_open;
	/* Between the two threads (lock). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct export_batch *mq, *mq_last; /* closed batches in memory, oldest first */
	int mq_n;
	int spooling;	   /* batches go to the spool until it is empty */
	int spool_writers; /* the exporter's thread is writing one */
	int sending;	   /* the sender holds a batch */
	char state[256];   /* "" = delivering */
	char logged[256];
	int64_t logged_ns;
	int server_major; /* ClickHouse's major version, 0 = not asked yet */
	struct export_spool *spool;
	CURL *curl;
	_Atomic uint64_t rows_sent, batches_sent, failed_inserts, retries;
	_Atomic int stopping, sender_stop;
	int64_t stop_deadline_ns;
	pthread_t batcher, sender;
	int batcher_running, sender_running;
};

/* ---- the event loop's side ------------------------------------------------------------ */

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Copy n bytes into the ring at position pos (wrapping). */
static void ring_copy(struct exporter *x, uint64_t pos, const void *p, size_t n)
{
	size_t off = (size_t)(pos & (x->ring_size - 1)), first = x->ring_size - off;

	if (first > n)
		first = n;
	memcpy(x->ring + off, p, first);
	if (n > first)
		memcpy(x->ring, (const uint8_t *)p + first, n - first);
}

/* Put one record (hd then the parts) in the ring. 0, or -ENOBUFS when it is full. */
static int ring_push(struct exporter *x, struct rec *hd, const void *const *parts,
		     const size_t *lens, int nparts)
{
	uint64_t tail = atomic_load_explicit(&x->r_tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&x->r_head, memory_order_acquire);
	size_t need = sizeof(*hd), off = (size_t)(tail & (x->ring_size - 1)), contig, skip;
	uint64_t pos;

	for (int i = 0; i < nparts; i++)
		need += lens[i];
	need = align8(need);
	contig = x->ring_size - off;
	skip = contig < need ? contig : 0; /* a record never wraps: pad to the start */
	if (x->ring_size - (size_t)(tail - head) < need + skip)
		return -ENOBUFS;
	if (skip) {
		struct rec pad = {.len = (uint32_t)skip, .kind = REC_PAD};

		memcpy(x->ring + off, &pad, skip < sizeof(pad) ? 8 : sizeof(pad));
		tail += skip;
	}
	hd->len = (uint32_t)need;
	pos = tail;
	ring_copy(x, pos, hd, sizeof(*hd));
	pos += sizeof(*hd);
	for (int i = 0; i < nparts; i++) {
		ring_copy(x, pos, parts[i], lens[i]);
		pos += lens[i];
	}
	atomic_store_explicit(&x->r_tail, tail + need, memory_order_release);
	return 0;
}

int export_wants(const struct exporter *x, unsigned type)
{
	return x && type < MOAT_EV_MAX && (x->conf.types & (1u << type));
}

void export_event(struct exporter *x, const struct moat_event_hdr *h, size_t len,
		  const struct container_info *c, const char *domain, int64_t offset_ns)
{
	struct rec hd = {.kind = REC_EVENT, .type = h->type, .offset_ns = offset_ns};
	const void *parts[5];
	size_t lens[5];

	if (!export_wants(x, h->type))
		return;
	len = h->size; /* checked against the record by event_decode; DNS events are shorter */
	hd.id_len = c ? (uint16_t)strnlen(c->id, sizeof(c->id)) : 0;
	hd.name_len = c ? (uint16_t)strnlen(c->name, sizeof(c->name)) : 0;
	hd.image_len = c ? (uint16_t)strnlen(c->image, sizeof(c->image)) : 0;
	hd.dom_len = domain ? (uint16_t)strnlen(domain, 256) : 0;
	hd.body_len = (uint32_t)len;
	hd.seq = atomic_fetch_add_explicit(&x->seq, 1, memory_order_relaxed);
	parts[0] = c ? c->id : "";
	parts[1] = c ? c->name : "";
	parts[2] = c ? c->image : "";
	parts[3] = domain ? domain : "";
	parts[4] = h;
	lens[0] = hd.id_len;
	lens[1] = hd.name_len;
	lens[2] = hd.image_len;
	lens[3] = hd.dom_len;
	lens[4] = len;
	if (ring_push(x, &hd, parts, lens, 5))
		atomic_fetch_add_explicit(&x->dropped_queue[h->type], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&x->handed[0], 1, memory_order_relaxed);
}

void export_alert(struct exporter *x, const struct alert *a)
{
	struct rec hd = {.kind = REC_ALERT, .offset_ns = a->time_ns};
	json_object *o;
	const char *js;
	const void *parts[1];
	size_t lens[1];

	if (!x || !x->conf.alerts)
		return;
	o = alert_to_json(a);
	js = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE)
	       : NULL;
	if (!js) {
		json_object_put(o);
		atomic_fetch_add(&x->dropped_queue_alerts, 1);
		return;
	}
	lens[0] = strlen(js);
	if (lens[0] > REC_BODY_MAX) { /* never from moat's own alerts: their fields are capped */
		json_object_put(o);
		atomic_fetch_add(&x->dropped_queue_alerts, 1);
		return;
	}
	hd.seq = atomic_fetch_add_explicit(&x->seq, 1, memory_order_relaxed);
	parts[0] = js;
	hd.body_len = (uint32_t)lens[0];
	if (ring_push(x, &hd, parts, lens, 1))
		atomic_fetch_add(&x->dropped_queue_alerts, 1);
	else
		atomic_fetch_add_explicit(&x->handed[1], 1, memory_order_relaxed);
	json_object_put(o);
}

/* ---- rows: the exporter's thread ------------------------------------------------------- */

static void put(json_object *row, const char *k, json_object *v)
{
	json_object_object_add(row, k, v);
}

/* A member of ev under the row's name k, shared (a new reference). */
static void put_ref(json_object *row, const char *k, json_object *ev, const char *ek)
{
	json_object *v;

	if (json_object_object_get_ex(ev, ek, &v) && v)
		put(row, k, json_object_get(v));
}

/* A member of ev as a string column (numbers spelled out). */
static void put_text(json_object *row, const char *k, json_object *ev, const char *ek)
{
	json_object *v;

	if (!json_object_object_get_ex(ev, ek, &v) || !v)
		return;
	if (json_object_is_type(v, json_type_string))
		put(row, k, json_object_get(v));
	else
		put(row, k, json_object_new_string(json_object_get_string(v)));
}

static void put_common(struct exporter *x, json_object *row, uint64_t seq, int64_t unix_ns)
{
	put(row, "host", json_object_new_string(x->host));
	put(row, "boot_id", json_object_new_string(x->boot_id));
	put(row, "seq", json_object_new_uint64(seq));
	put(row, "time", json_object_new_int64(unix_ns / CLOCK_NS_PER_SEC));
	put(row, "time_ns", json_object_new_uint64((uint64_t)unix_ns));
}

static int batch_add(struct export_batch *b, const char *row, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return -ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, row, n);
	b->buf[b->len + n] = '\n';
	b->len += n + 1;
	b->rows++;
	return 0;
}

/* The row of an event record: the columns of moat export schema, and the whole event as
 * docs/events.md has it in "event". NULL when it cannot be made. */
static json_object *event_row(struct exporter *x, const struct rec *r, const char *str,
			      const struct moat_event_hdr *h)
{
	const char *id = str, *name = id + r->id_len, *image = name + r->name_len,
		   *dom = image + r->image_len;
	struct container_info *ci = NULL;
	json_object *row, *ev, *v;
	const char *line;

	if (r->id_len) {
		ci = x->ci;
		snprintf(ci->id, sizeof(ci->id), "%.*s", r->id_len, id);
		snprintf(ci->name, sizeof(ci->name), "%.*s", r->name_len, name);
		snprintf(ci->image, sizeof(ci->image), "%.*s", r->image_len, image);
	}
	/* The event's text from the fast writer (decode/jsonw), its members for the columns
	 * from the reference object (format_event_json: the same document). */
	line = format_event_json_line(&x->fc, h, ci, r->offset_ns);
	ev = line ? format_event_json(h, ci, r->offset_ns) : NULL;
	if (!line || !ev || !(row = json_object_new_object())) {
		json_object_put(ev);
		return NULL;
	}
	put_common(x, row, r->seq, r->offset_ns + (int64_t)h->ts_ns);
	put(row, "type", json_object_new_string(event_type_name(h->type)));
	put(row, "container_id", json_object_new_string_len(id, r->id_len));
	put(row, "container_name", json_object_new_string_len(name, r->name_len));
	put(row, "image", json_object_new_string_len(image, r->image_len));
	put_ref(row, "cgroup_id", ev, "cgroup_id");
	put_ref(row, "pid", ev, "pid");
	put_ref(row, "ppid", ev, "ppid");
	put_ref(row, "uid", ev, "uid");
	put_ref(row, "comm", ev, "comm");
	put_ref(row, "filename", ev, "filename");
	put_ref(row, "argv", ev, "argv");
	put_ref(row, "daddr", ev, "daddr");
	put_ref(row, "dport", ev, "dport");
	put_text(row, "protocol", ev, "protocol");
	put_ref(row, "verdict", ev, "verdict");
	put_ref(row, "rule_id", ev, "rule_id");
	if (r->dom_len)
		put(row, "domain", json_object_new_string_len(dom, r->dom_len));
	else
		put_ref(row, "domain", ev, "qname");
	put_text(row, "qtype", ev, "qtype");
	put_text(row, "rcode", ev, "rcode");
	if (json_object_object_get_ex(ev, "answers", &v) &&
	    json_object_is_type(v, json_type_array)) {
		json_object *a = json_object_new_array();

		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *addr;

			if (json_object_object_get_ex(json_object_array_get_idx(v, i), "addr",
						      &addr))
				json_object_array_add(a, json_object_get(addr));
		}
		put(row, "answers", a);
	}
	put_ref(row, "exit_code", ev, "exit_code");
	put(row, "event", json_object_new_string(line));
	json_object_put(ev);
	return row;
}

/* The row of an alert record: its columns, and the whole alert (docs/alerts.md) in "alert". */
static json_object *alert_row(struct exporter *x, const struct rec *r, const char *js)
{
	json_object *a = json_tokener_parse(js), *row, *c, *n;

	if (!a || !(row = json_object_new_object())) {
		json_object_put(a);
		return NULL;
	}
	put_common(x, row, r->seq, r->offset_ns);
	put_ref(row, "severity", a, "severity");
	put_ref(row, "rule", a, "rule");
	put_ref(row, "source", a, "source");
	put_ref(row, "message", a, "message");
	put_ref(row, "trace_id", a, "trace_id");
	if (json_object_object_get_ex(a, "container", &c) && c) {
		put_ref(row, "container_id", c, "id");
		put_ref(row, "container_name", c, "name");
		put_ref(row, "image", c, "image");
	}
	if (json_object_object_get_ex(a, "network", &n) && n) {
		put_text(row, "domain", n, "domain");
		put_text(row, "daddr", n, "daddr");
	}
	put(row, "alert", json_object_new_string(js));
	json_object_put(a);
	return row;
}

/* ---- batches --------------------------------------------------------------------------- */

static void set_state(struct exporter *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The state line: a problem is logged when new or a minute after it was last logged, the
 * recovery once. Takes the lock. */
static void set_state(struct exporter *x, const char *fmt, ...)
{
	char buf[sizeof(x->state)];
	int64_t now = clock_mono_ns();
	int log_it = 0, recovered = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&x->lock);
	if (buf[0] && (strcmp(buf, x->logged) || now - x->logged_ns > 60 * CLOCK_NS_PER_SEC)) {
		snprintf(x->logged, sizeof(x->logged), "%s", buf);
		x->logged_ns = now;
		log_it = 1;
	} else if (!buf[0] && x->state[0]) {
		recovered = 1;
		x->logged[0] = 0;
	}
	snprintf(x->state, sizeof(x->state), "%s", buf);
	pthread_mutex_unlock(&x->lock);
	if (log_it)
		log_warn("export to ClickHouse %s: %s", x->safe_url, buf);
	else if (recovered)
		log_info("export to ClickHouse %s: delivering again", x->safe_url);
}

/* Hand closed batch b to the sender: in memory while the spool is empty and the sender keeps
 * up, else to the spool (it is sent from there, in order). Takes b. */
static void batch_close(struct exporter *x, int cls)
{
	struct export_batch *b = x->open[cls];
	int64_t now = clock_unix_ns();

	if (!b || !b->rows)
		return;
	x->open[cls] = NULL;
	b->id = (uint64_t)now > x->last_id ? (uint64_t)now : x->last_id + 1;
	x->last_id = b->id;
	pthread_mutex_lock(&x->lock);
	if (!x->spooling && x->mq_n < MEM_BATCHES) {
		if (x->mq_last)
			x->mq_last->next = b;
		else
			x->mq = b;
		x->mq_last = b;
		x->mq_n++;
		atomic_fetch_sub(&x->rows_open,
				 (int)b->rows); /* in mq before it leaves rows_open */
		pthread_cond_signal(&x->cond);
		pthread_mutex_unlock(&x->lock);
		return;
	}
	x->spooling = 1;
	x->spool_writers++;
	atomic_fetch_sub(&x->rows_open, (int)b->rows); /* spool_writers covers it now */
	pthread_mutex_unlock(&x->lock);
	export_spool_write(x->spool, b);
	export_batch_free(b);
	pthread_mutex_lock(&x->lock);
	x->spool_writers--;
	pthread_cond_signal(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

static int class_of(struct exporter *x, const struct rec *r)
{
	if (r->kind == REC_ALERT)
		return EXPORT_CLS_ALERTS;
	return x->conf.low_value & (1u << r->type) ? EXPORT_CLS_LOW : EXPORT_CLS_EVENTS;
}

/* Turn record r (whole, copied out of the ring into buf) into a row of its batch. */
static void take_record(struct exporter *x, const struct rec *r, const uint8_t *buf)
{
	const char *str = (const char *)buf + sizeof(*r);
	size_t slen = (size_t)r->id_len + r->name_len + r->image_len + r->dom_len;
	int cls = class_of(x, r);
	struct export_batch *b;
	json_object *row;
	const char *js;
	size_t n;

	if (r->kind == REC_EVENT) {
		const struct moat_event_hdr *h = event_decode(str + slen, r->body_len);

		row = h ? event_row(x, r, str, h) : NULL;
	} else {
		char *text = strndup(str + slen, r->body_len);

		row = text ? alert_row(x, r, text) : NULL;
		free(text);
	}
	js = row ? json_object_to_json_string_ext(row, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE)
		 : NULL;
	if (!js) {
		json_object_put(row);
		if (r->kind == REC_ALERT)
			atomic_fetch_add(&x->dropped_queue_alerts, 1);
		else
			atomic_fetch_add(&x->dropped_queue[r->type], 1);
		return;
	}
	n = strlen(js);
	if (!x->open[cls] && (x->open[cls] = calloc(1, sizeof(*b)))) {
		x->open[cls]->cls = cls;
		x->open[cls]->opened_ns = clock_mono_ns();
	}
	b = x->open[cls];
	if (!b || batch_add(b, js, n)) {
		if (r->kind == REC_ALERT)
			atomic_fetch_add(&x->dropped_queue_alerts, 1);
		else
			atomic_fetch_add(&x->dropped_queue[r->type], 1);
	} else {
		if (r->kind == REC_EVENT)
			b->types[r->type]++;
		atomic_fetch_add(&x->rows_open, 1);
		if (b->rows >= x->conf.batch_rows || b->len >= (size_t)x->conf.batch_kib * 1024)
			batch_close(x, cls);
	}
	json_object_put(row);
}

/* The exporter's thread: drain the ring into batches; close a batch at its bounds. It polls
 * the ring (a 5 ms nap when empty) instead of being woken: a wakeup written by the loop would
 * cost it a syscall per event, the nap costs this thread 200 wakeups a second. */
static void *batcher_run(void *arg)
{
	struct exporter *x = arg;
	uint8_t *buf = malloc(REC_MAX);
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	for (;;) {
		uint64_t flush = atomic_load(&x->flush_req);
		uint64_t head = atomic_load_explicit(&x->r_head, memory_order_relaxed);
		uint64_t tail = atomic_load_explicit(&x->r_tail, memory_order_acquire);
		int64_t now;

		while (buf && head != tail) {
			const struct rec *r =
			    (const struct rec *)(x->ring + (head & (x->ring_size - 1)));

			if (r->kind != REC_PAD && r->len <= REC_MAX) {
				memcpy(buf, r, r->len);
				take_record(x, (const struct rec *)buf, buf);
			}
			head += r->len;
			atomic_store_explicit(&x->r_head, head, memory_order_release);
		}
		now = clock_mono_ns();
		for (int c = 0; c < EXPORT_CLS_NR; c++)
			if (x->open[c] &&
			    (flush != atomic_load(&x->flush_done) || atomic_load(&x->stopping) ||
			     now - x->open[c]->opened_ns >= (int64_t)x->conf.batch_ms * 1000000))
				batch_close(x, c);
		atomic_store(&x->flush_done, flush);
		if (atomic_load(&x->stopping) && atomic_load(&x->r_head) == atomic_load(&x->r_tail))
			break;
		if (head == atomic_load_explicit(&x->r_tail, memory_order_acquire)) {
			struct timespec ts = {0, IDLE_NS};

			nanosleep(&ts, NULL);
		}
	}
	free(buf);
	return NULL;
}

/* ---- the sender ------------------------------------------------------------------------ */

struct answer {
	char text[ANSWER_MAX];
	size_t len;
};

static size_t keep_answer(char *p, size_t sz, size_t n, void *ud)
{
	struct answer *a = ud;
	size_t k = sz * n, room = sizeof(a->text) - 1 - a->len;

	memcpy(a->text + a->len, p, k < room ? k : room);
	a->len += k < room ? k : room;
	a->text[a->len] = 0;
	return sz * n;
}

/* Abort a transfer once moat is stopping and its deadline has passed. */
static int xfer_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct exporter *x = ud;

	return atomic_load(&x->sender_stop) && clock_mono_ns() > x->stop_deadline_ns;
}

/* POST body to url. 0 on HTTP 200; else -EIO with why filled (a sentence for people). */
static int post(struct exporter *x, const char *url, const char *body, size_t len,
		struct answer *ans, char *why, size_t why_len)
{
	char err[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;

	ans->len = 0;
	ans->text[0] = 0;
	curl_easy_setopt(x->curl, CURLOPT_URL, url);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, ans);
	curl_easy_setopt(x->curl, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(x->curl);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(why, why_len,
			 "the server did not answer within export.timeout_ms (%u ms): slow or "
			 "overloaded? (batches wait in the spool meanwhile)",
			 x->conf.timeout_ms);
		return -EIO;
	}
	if (rc != CURLE_OK) {
		snprintf(why, why_len,
			 "cannot reach the server: %s%s%s (is ClickHouse running there? "
			 "batches wait in the spool meanwhile)",
			 curl_easy_strerror(rc), err[0] ? ": " : "", err);
		return -EIO;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		char *nl;

		for (nl = ans->text; *nl; nl++)
			if (*nl == '\n' || *nl == '\r' || (unsigned char)*nl < ' ')
				*nl = ' ';
		snprintf(why, why_len, "HTTP %ld: %.160s", code, ans->text);
		return -EIO;
	}
	return 0;
}

/* The URL of query q (URL-encoded) on the configured server, with extra parameters. A new
 * string or NULL. */
static char *query_url(struct exporter *x, const char *q, const char *extra)
{
	char *enc = curl_easy_escape(x->curl, q, 0), *url = NULL;

	if (enc && asprintf(&url, "%s%squery=%s%s", x->conf.url,
			    strchr(x->conf.url, '?') ? "&" : "?", enc, extra) < 0)
		url = NULL;
	curl_free(enc);
	return url;
}

/* Ask the server its version, once per connection streak; build the INSERT URLs for it.
 * 0 or -EIO (state set). */
static int server_hello(struct exporter *x)
{
	char why[256], *url, extra[256];
	struct answer ans;
	int err;

	if (x->server_major)
		return 0;
	url = query_url(x, "SELECT version()", "");
	if (!url)
		return -ENOMEM;
	err = post(x, url, "", 0, &ans, why, sizeof(why));
	free(url);
	if (err && !strncmp(why, "HTTP ", 5))
		set_state(x,
			  "the server does not answer SELECT version() like ClickHouse: %s (is the "
			  "URL ClickHouse's HTTP interface, port 8123? a wrong password?)",
			  why);
	else if (err)
		set_state(x, "%s", why);
	if (err)
		return err;
	x->server_major = (int)strtol(ans.text, NULL, 10);
	if (x->server_major <= 0)
		x->server_major = 1;
	/* insert_deduplication_token (22.2+) makes a retried batch's block hash its own;
	 * 18.16 refuses unknown settings, so it is sent only to servers that have it. */
	snprintf(extra, sizeof(extra), "&input_format_skip_unknown_fields=1%s",
		 x->server_major >= 23 ? "&insert_deduplication=1" : "");
	for (int t = 0; t < 2; t++) {
		char q[256];

		free(x->insert_url[t]);
		snprintf(q, sizeof(q), "INSERT INTO %s.%s FORMAT JSONEachRow", x->conf.database,
			 t ? x->conf.alerts_table : x->conf.events_table);
		x->insert_url[t] = query_url(x, q, extra);
		if (!x->insert_url[t])
			return -ENOMEM;
	}
	log_info("export: ClickHouse %.*s at %s; events to %s.%s, alerts to %s.%s",
		 (int)strcspn(ans.text, "\n"), ans.text, x->safe_url, x->conf.database,
		 x->conf.events_table, x->conf.database, x->conf.alerts_table);
	return 0;
}

/* INSERT batch b. 0, or -EIO with the state set. */
static int send_batch(struct exporter *x, struct export_batch *b)
{
	char why[256], tok[160], *url;
	struct answer ans;
	int t = b->cls == EXPORT_CLS_ALERTS, err;

	err = server_hello(x);
	if (err)
		return err;
	url = x->insert_url[t];
	if (x->server_major >= 23) {
		/* The same batch (by host and id) is the same token on every retry. */
		snprintf(tok, sizeof(tok), "&insert_deduplication_token=%s-%s-%" PRIu64, x->host,
			 x->boot_id, b->id);
		if (asprintf(&url, "%s%s", x->insert_url[t], tok) < 0)
			return -ENOMEM;
	}
	err = post(x, url, b->buf, b->len, &ans, why, sizeof(why));
	if (url != x->insert_url[t])
		free(url);
	if (err) {
		atomic_fetch_add(&x->failed_inserts, 1);
		if (strstr(why, "HTTP "))
			set_state(x,
				  "ClickHouse refused the INSERT into %s.%s: %s (are the tables "
				  "created? moat export schema prints them)",
				  x->conf.database, t ? x->conf.alerts_table : x->conf.events_table,
				  why);
		else {
			set_state(x, "%s", why);
			x->server_major = 0; /* ask again after the outage: it may be another */
		}
		return err;
	}
	atomic_fetch_add(&x->rows_sent, b->rows);
	atomic_fetch_add(&x->batches_sent, 1);
	set_state(x, "%s", "");
	return 0;
}

/* Move every batch waiting in memory to the spool (the sender cannot deliver now). */
static void spool_memory(struct exporter *x, struct export_batch *first)
{
	struct export_batch *b;

	pthread_mutex_lock(&x->lock);
	x->spooling = 1;
	b = x->mq;
	x->mq = x->mq_last = NULL;
	x->mq_n = 0;
	pthread_mutex_unlock(&x->lock);
	if (first)
		export_spool_write(x->spool, first);
	export_batch_free(first);
	while (b) {
		struct export_batch *next = b->next;

		export_spool_write(x->spool, b);
		export_batch_free(b);
		b = next;
	}
}

static void *sender_run(void *arg)
{
	struct exporter *x = arg;
	uint32_t backoff = BACKOFF_MIN_MS;
	int64_t next_try = 0;
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	for (;;) {
		struct export_batch *b = NULL;
		struct export_spool_stats st;
		int from_spool = 0, err;

		pthread_mutex_lock(&x->lock);
		for (;;) {
			int64_t now = clock_mono_ns();
			struct timespec ts;

			export_spool_stats(x->spool, &st);
			if (atomic_load(&x->sender_stop) &&
			    (next_try > now || now > x->stop_deadline_ns || (!x->mq && !st.files)))
				break;
			if (now >= next_try && (x->mq || (x->spooling && st.files)))
				break;
			if (x->spooling && !st.files && !x->spool_writers && !x->mq)
				x->spooling = 0;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += next_try > now ? 0 : 100000000;
			if (next_try > now) {
				int64_t d = next_try - now;

				ts.tv_sec += d / CLOCK_NS_PER_SEC;
				ts.tv_nsec += d % CLOCK_NS_PER_SEC;
			}
			if (ts.tv_nsec >= CLOCK_NS_PER_SEC) {
				ts.tv_sec++;
				ts.tv_nsec -= CLOCK_NS_PER_SEC;
			}
			pthread_cond_timedwait(&x->cond, &x->lock, &ts);
		}
		if (atomic_load(&x->sender_stop) &&
		    (next_try > clock_mono_ns() || clock_mono_ns() > x->stop_deadline_ns ||
		     (!x->mq && !st.files))) {
			pthread_mutex_unlock(&x->lock);
			spool_memory(x, NULL);
			break;
		}
		if (x->mq) { /* older than anything in the spool written since (batch_close) */
			b = x->mq;
			x->mq = b->next;
			if (!x->mq)
				x->mq_last = NULL;
			x->mq_n--;
			b->next = NULL;
		}
		x->sending = 1;
		pthread_mutex_unlock(&x->lock);
		if (!b) {
			err = export_spool_oldest(x->spool, &b);
			if (err) {
				pthread_mutex_lock(&x->lock);
				x->sending = 0;
				pthread_mutex_unlock(&x->lock);
				if (err != -ENOENT) /* out of memory: try again later */
					next_try = clock_mono_ns() + (int64_t)backoff * 1000000;
				continue;
			}
			from_spool = 1;
		}
		err = send_batch(x, b);
		if (!err) {
			if (from_spool)
				export_spool_remove(x->spool, b->id);
			export_batch_free(b);
			backoff = BACKOFF_MIN_MS;
			next_try = 0;
		} else {
			atomic_fetch_add(&x->retries, 1);
			if (from_spool)
				export_batch_free(b);
			else
				spool_memory(x, b);
			next_try = clock_mono_ns() + (int64_t)backoff * 1000000;
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		}
		pthread_mutex_lock(&x->lock);
		x->sending = 0;
		pthread_cond_broadcast(&x->cond);
		pthread_mutex_unlock(&x->lock);
	}
	return NULL;
}

/* ---- start, status, stop --------------------------------------------------------------- */

/* The host id: configured, else /etc/machine-id, else the host name. */
static void host_id(const struct export_config *c, char *out, size_t n)
{
	char *buf = NULL;
	size_t len;

	if (c->host_id[0]) {
		snprintf(out, n, "%s", c->host_id);
		return;
	}
	if (!fs_read_all("/etc/machine-id", 256, &buf, &len) && len >= 32) {
		snprintf(out, n, "%.*s", (int)strspn(buf, "0123456789abcdef"), buf);
		free(buf);
		if (out[0])
			return;
	}
	free(buf);
	if (gethostname(out, n) || !out[0])
		snprintf(out, n, "unknown");
	out[n - 1] = 0;
}

static void boot_id(char *out, size_t n)
{
	char *buf = NULL;
	size_t len;

	out[0] = 0;
	if (!fs_read_all("/proc/sys/kernel/random/boot_id", 256, &buf, &len))
		snprintf(out, n, "%.*s", (int)strspn(buf, "0123456789abcdef-"), buf);
	free(buf);
	if (!out[0])
		snprintf(out, n, "unknown");
}

/* The URL without user:password@, for messages. */
static void redact(const char *url, char *out, size_t n)
{
	const char *host = strstr(url, "://"), *at, *end;

	host = host ? host + 3 : url;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		snprintf(out, n, "%.*s%s", (int)(host - url), url, at + 1);
	else
		snprintf(out, n, "%s", url);
}

static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	struct sched_param sp = {0};
	pthread_attr_t at;
	int err;

	pthread_attr_init(&at);
	pthread_attr_setinheritsched(&at, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&at, SCHED_OTHER);
	pthread_attr_setschedparam(&at, &sp);
	err = pthread_create(t, &at, fn, arg);
	pthread_attr_destroy(&at);
	return -err;
}

struct exporter *export_open(const struct export_config *conf, const char *state_dir)
{
	struct exporter *x = calloc(1, sizeof(*x));
	char dir[4200];
	pthread_condattr_t ca;
	size_t size = 1;
	int err = ENOMEM;

	if (!x)
		return NULL;
	x->conf = *conf;
	host_id(conf, x->host, sizeof(x->host));
	boot_id(x->boot_id, sizeof(x->boot_id));
	redact(conf->url, x->safe_url, sizeof(x->safe_url));
	/* Unique within the boot across runs of moat: a run starts numbering at its start on the
	 * boot clock, so it cannot reach the next run's numbers unless it exports more than one
	 * row per nanosecond. */
	atomic_store(&x->seq, (uint64_t)clock_boot_ns());
	while (size < (size_t)conf->queue_kib * 1024)
		size <<= 1;
	x->ring_size = size;
	x->ring = calloc(1, size);
	x->ci = calloc(1, sizeof(*x->ci));
	pthread_mutex_init(&x->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->cond, &ca);
	pthread_condattr_destroy(&ca);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	x->curl = curl_easy_init();
	if (!x->ring || !x->ci || !x->curl)
		goto fail;
	curl_easy_setopt(x->curl, CURLOPT_USERAGENT, "moat");
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, (long)conf->timeout_ms);
	curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->timeout_ms);
	curl_easy_setopt(x->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(x->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFOFUNCTION, xfer_progress);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(x->curl, CURLOPT_POST, 1L);
	if (conf->spool_dir[0])
		snprintf(dir, sizeof(dir), "%s", conf->spool_dir);
	else
		snprintf(dir, sizeof(dir), "%s/export",
			 state_dir && state_dir[0] ? state_dir : ".");
	x->spool = export_spool_open(dir, (uint64_t)conf->spool_max_mib << 20);
	if (!x->spool) {
		err = errno;
		goto fail;
	}
	{
		struct export_spool_stats st;

		export_spool_stats(x->spool, &st);
		x->spooling = st.files > 0;
	}
	if (start_thread(&x->batcher, batcher_run, x))
		goto fail;
	x->batcher_running = 1;
	if (start_thread(&x->sender, sender_run, x))
		goto fail;
	x->sender_running = 1;
	log_info("export: events (%s) and %s to %s as host %s, spool %s (%u MiB)",
		 conf->types ? "see export.types" : "none", conf->alerts ? "alerts" : "no alerts",
		 x->safe_url, x->host, dir, conf->spool_max_mib);
	return x;
fail:
	export_close(x);
	errno = err;
	return NULL;
}

static json_object *type_counts(_Atomic uint64_t *c, const uint64_t *plain)
{
	json_object *o = json_object_new_object();

	for (unsigned t = 1; t < MOAT_EV_MAX; t++) {
		uint64_t n = c ? atomic_load(&c[t]) : plain[t];

		json_object_object_add(o, event_type_name(t), json_object_new_uint64(n));
	}
	return o;
}

/* CPU time of the exporter's two threads, ns (benchmarks: the cost per row). */
static int64_t thread_cpu_ns(struct exporter *x)
{
	pthread_t t[2] = {x->batcher, x->sender};
	int running[2] = {x->batcher_running, x->sender_running};
	int64_t sum = 0;

	for (int i = 0; i < 2; i++) {
		clockid_t cid;
		struct timespec ts;

		if (running[i] && !pthread_getcpuclockid(t[i], &cid) && !clock_gettime(cid, &ts))
			sum += (int64_t)ts.tv_sec * CLOCK_NS_PER_SEC + ts.tv_nsec;
	}
	return sum;
}

json_object *export_status(struct exporter *x)
{
	json_object *j = json_object_new_object(), *ds;
	struct export_spool_stats st;
	uint64_t total = 0;
	char state[sizeof(x->state)];

	export_spool_stats(x->spool, &st);
	pthread_mutex_lock(&x->lock);
	snprintf(state, sizeof(state), "%s", x->state);
	pthread_mutex_unlock(&x->lock);
	json_object_object_add(j, "url", json_object_new_string(x->safe_url));
	json_object_object_add(j, "host", json_object_new_string(x->host));
	json_object_object_add(j, "boot_id", json_object_new_string(x->boot_id));
	json_object_object_add(j, "state", json_object_new_string(state[0] ? state : "ok"));
	json_object_object_add(j, "events_handed",
			       json_object_new_uint64(atomic_load(&x->handed[0])));
	json_object_object_add(j, "alerts_handed",
			       json_object_new_uint64(atomic_load(&x->handed[1])));
	json_object_object_add(j, "rows_sent", json_object_new_uint64(atomic_load(&x->rows_sent)));
	json_object_object_add(j, "batches_sent",
			       json_object_new_uint64(atomic_load(&x->batches_sent)));
	json_object_object_add(j, "failed_inserts",
			       json_object_new_uint64(atomic_load(&x->failed_inserts)));
	json_object_object_add(j, "spool_files", json_object_new_uint64(st.files));
	json_object_object_add(j, "spool_bytes", json_object_new_uint64(st.bytes));
	json_object_object_add(j, "spool_written", json_object_new_uint64(st.written));
	json_object_object_add(j, "corrupt_batches", json_object_new_uint64(st.corrupt));
	json_object_object_add(j, "dropped_queue", type_counts(x->dropped_queue, NULL));
	json_object_object_add(j, "dropped_queue_alerts",
			       json_object_new_uint64(atomic_load(&x->dropped_queue_alerts)));
	ds = type_counts(NULL, st.dropped);
	json_object_object_add(j, "dropped_spool", ds);
	json_object_object_add(j, "dropped_spool_alerts",
			       json_object_new_uint64(st.dropped_alerts));
	for (unsigned t = 1; t < MOAT_EV_MAX; t++)
		total += atomic_load(&x->dropped_queue[t]) + st.dropped[t];
	total += atomic_load(&x->dropped_queue_alerts) + st.dropped_alerts;
	json_object_object_add(j, "dropped", json_object_new_uint64(total));
	json_object_object_add(j, "cpu_ns", json_object_new_int64(thread_cpu_ns(x)));
	return j;
}

int export_flush(struct exporter *x, int timeout_ms)
{
	int64_t end = clock_mono_ns() + (int64_t)timeout_ms * 1000000;
	uint64_t want = atomic_fetch_add(&x->flush_req, 1) + 1;

	for (;;) {
		struct export_spool_stats st;
		int busy;

		/* The batcher has taken everything handed over before the request (it drains the
		 * ring before closing its batches): then wait for the sender. */
		if (atomic_load(&x->flush_done) >= want) {
			if (atomic_load(&x->r_head) != atomic_load(&x->r_tail) ||
			    atomic_load(&x->rows_open)) {
				want = atomic_fetch_add(&x->flush_req, 1) + 1;
			} else {
				/* Under the lock: a batch being spooled is counted in spool_writers
				 * until it is in the spool's files. */
				pthread_mutex_lock(&x->lock);
				busy = x->mq || x->sending || x->spool_writers;
				export_spool_stats(x->spool, &st);
				pthread_mutex_unlock(&x->lock);
				if (!busy && !st.files)
					return 0;
			}
		}
		if (clock_mono_ns() > end)
			return -ETIMEDOUT;
		usleep(5000);
	}
}

void export_close(struct exporter *x)
{
	if (!x)
		return;
	x->stop_deadline_ns = clock_mono_ns() + 2 * CLOCK_NS_PER_SEC;
	atomic_store(&x->stopping, 1);
	if (x->batcher_running)
		pthread_join(x->batcher, NULL);
	atomic_store(&x->sender_stop, 1);
	if (x->sender_running) {
		pthread_mutex_lock(&x->lock);
		pthread_cond_broadcast(&x->cond);
		pthread_mutex_unlock(&x->lock);
		pthread_join(x->sender, NULL);
	}
	for (int c = 0; c < EXPORT_CLS_NR; c++)
		export_batch_free(x->open[c]);
	format_json_cache_free(&x->fc);
	free(x->insert_url[0]);
	free(x->insert_url[1]);
	if (x->curl)
		curl_easy_cleanup(x->curl);
	export_spool_close(x->spool);
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
	free(x->ci);
	free(x->ring);
	free(x);
}
