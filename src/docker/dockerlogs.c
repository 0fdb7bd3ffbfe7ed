/* dockerlogs.c - containers' log streams: the frame splitter, and one reader thread that
 * follows every container's stream through libcurl's multi interface (dockerlogs.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "clock.h"
#include "docker_int.h"
#include "dockerlogs.h"
#include "log.h"
#include "pimutex.h"

/* ---- the splitter --------------------------------------------------------- */

void logsplit_init(struct logsplit *s, int tty)
{
	s->tty = tty;
	s->hdr_len = 0;
	s->left = 0;
	s->stream = 1;
	s->broken = 0;
	s->bad_frames = 0;
	s->part[0].len = s->part[1].len = 0;
	s->part[0].cut = s->part[1].cut = 0;
}

/* Hand over the line in part (stream st) and start a new one. */
static int emit(struct logsplit_part *pt, int st, logsplit_line_fn fn, void *ud)
{
	int rc = 0;

	if (!pt->cut) {
		size_t len = pt->len;

		if (len && pt->buf[len - 1] == '\r')
			len--;
		pt->buf[len] = 0;
		if (len)
			rc = fn(ud, st, pt->buf, len, 0);
	}
	pt->len = 0;
	pt->cut = 0;
	return rc;
}

/* n payload bytes of stream st: split into lines. */
static int payload(struct logsplit *s, int st, const char *p, size_t n, logsplit_line_fn fn,
		   void *ud)
{
	struct logsplit_part *pt = &s->part[st == 2];

	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		int rc;

		if (!pt->cut) {
			size_t room = DOCKERLOGS_MAX_LINE - pt->len;
			size_t c = take < room ? take : room;

			memcpy(pt->buf + pt->len, p, c);
			pt->len += c;
			if (take > room) {
				/* Too long: its start is handed over now, the rest dropped. */
				pt->buf[pt->len] = 0;
				pt->cut = 1;
				rc = fn(ud, st, pt->buf, pt->len, 1);
				if (rc)
					return rc;
			}
		}
		if (!nl)
			return 0;
		rc = emit(pt, st, fn, ud);
		if (rc)
			return rc;
		p = nl + 1;
		n -= take + 1;
	}
	return 0;
}

int logsplit_feed(struct logsplit *s, const char *p, size_t n, logsplit_line_fn fn, void *ud)
{
	if (s->broken)
		return -EPROTO;
	if (s->tty)
		return payload(s, 1, p, n, fn, ud);
	while (n) {
		size_t c;
		int rc;

		if (!s->left) {
			/* A frame header: [stream, 0, 0, 0, size (big-endian u32)]. */
			while (n && s->hdr_len < 8) {
				s->hdr[s->hdr_len++] = (uint8_t)*p++;
				n--;
			}
			if (s->hdr_len < 8)
				return 0;
			s->hdr_len = 0;
			if (s->hdr[0] > 2 || s->hdr[1] || s->hdr[2] || s->hdr[3]) {
				s->broken = 1;
				s->bad_frames++;
				return -EPROTO;
			}
			s->stream = s->hdr[0] == 2 ? 2 : 1; /* 0 (stdin) does not come; as stdout */
			s->left = (uint32_t)s->hdr[4] << 24 | (uint32_t)s->hdr[5] << 16 |
				  (uint32_t)s->hdr[6] << 8 | s->hdr[7];
			continue;
		}
		c = n < s->left ? n : s->left;
		rc = payload(s, s->stream, p, c, fn, ud);
		if (rc)
			return rc;
		s->left -= (uint32_t)c;
		p += c;
		n -= c;
	}
	return 0;
}

int logsplit_flush(struct logsplit *s, logsplit_line_fn fn, void *ud)
{
	int rc = emit(&s->part[0], 1, fn, ud);

	return rc ? rc : emit(&s->part[1], 2, fn, ud);
}

/* ---- the reader thread ------------------------------------------------------ */

enum { CMD_FOLLOW = 1, CMD_UNFOLLOW };

struct dl_cmd {
	int op;
	char id[65];
	int tty;
	int64_t since_ns;
	void *ud;
	struct dl_cmd *next;
};

struct dl_stream {
	struct dockerlogs *l;
	char id[65];
	void *ud;
	CURL *h;
	int opened;
	char errbody[200]; /* an error answer, for the message */
	size_t errlen;
	int proto_err;
	struct logsplit split;
};

struct dockerlogs {
	char host[4200];
	struct dockerlogs_ops ops;
	CURLM *multi;
	pthread_t thread;
	pthread_mutex_t lock;	     /* guards cmds */
	struct dl_cmd *cmds, **tail; /* in order */
	atomic_int stop;
	atomic_uint_least64_t lines, bytes, bad_frames, errors, n_streams;
	/* Thread-only. */
	struct docker *d;
	struct dl_stream *streams[DOCKERLOGS_MAX];
	int n;
};

static int on_split_line(void *ud, int stream, char *line, size_t len, int cut)
{
	struct dl_stream *s = ud;

	atomic_fetch_add(&s->l->lines, 1);
	atomic_fetch_add(&s->l->bytes, len + 1);
	return s->l->ops.on_line(s->ud, stream, line, len, cut);
}

/* libcurl's write callback: the body of one stream. Returns len, or 0 to end it. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct dl_stream *s = ud;
	size_t len = size * nmemb;
	long status = 0;
	int rc;

	if (!s->opened) {
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status <= 299) {
			s->opened = 1;
		} else {
			size_t c = sizeof(s->errbody) - 1 - s->errlen;

			c = len < c ? len : c;
			memcpy(s->errbody + s->errlen, p, c);
			s->errlen += c;
			s->errbody[s->errlen] = 0;
			return len;
		}
	}
	rc = logsplit_feed(&s->split, p, len, on_split_line, s);
	if (rc == -EPROTO) {
		atomic_fetch_add(&s->l->bad_frames, 1);
		log_warn("docker logs of %.12s: a frame header is not Docker's (%02x %02x %02x "
			 "%02x); stream dropped",
			 s->id, s->split.hdr[0], s->split.hdr[1], s->split.hdr[2], s->split.hdr[3]);
		s->proto_err = 1;
		return 0;
	}
	return len;
}

static int find(const struct dockerlogs *l, const char *id)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->streams[i]->id, id))
			return i;
	return -1;
}

/* Take stream i down: the last partial lines, on_end(err), freed. */
static void finish(struct dockerlogs *l, int i, int err)
{
	struct dl_stream *s = l->streams[i];

	curl_multi_remove_handle(l->multi, s->h);
	curl_easy_cleanup(s->h);
	if (!s->proto_err)
		logsplit_flush(&s->split, on_split_line, s);
	l->ops.on_end(s->ud, err);
	free(s);
	l->streams[i] = l->streams[--l->n];
	atomic_store(&l->n_streams, (uint64_t)l->n);
}

static void start_stream(struct dockerlogs *l, struct dl_cmd *c)
{
	struct dl_stream *s;
	char path[256];
	int64_t since = c->since_ns > 0 ? c->since_ns : clock_unix_ns();
	int err;

	if (l->n == DOCKERLOGS_MAX) {
		log_warn("docker logs: %d streams open; %.12s is not followed", DOCKERLOGS_MAX,
			 c->id);
		l->ops.on_end(c->ud, -ENOSPC);
		return;
	}
	if (!l->d && !(l->d = docker_open(l->host[0] ? l->host : NULL))) {
		log_warn("docker logs: Docker is not reachable; %.12s's logs are not followed",
			 c->id);
		l->ops.on_end(c->ud, -EIO);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->h = curl_easy_init())) {
		free(s);
		l->ops.on_end(c->ud, -ENOMEM);
		return;
	}
	s->l = l;
	s->ud = c->ud;
	snprintf(s->id, sizeof(s->id), "%s", c->id);
	logsplit_init(&s->split, c->tty);
	snprintf(path, sizeof(path),
		 "/containers/%s/logs?follow=1&stdout=1&stderr=1&since=%lld.%09lld", c->id,
		 (long long)(since / 1000000000LL), (long long)(since % 1000000000LL));
	err = docker_prepare(l->d, s->h, "GET", path);
	if (err) {
		curl_easy_cleanup(s->h);
		free(s);
		l->ops.on_end(c->ud, err);
		return;
	}
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT_MS, DOCKER_TIMEOUT_MS);
	if (curl_multi_add_handle(l->multi, s->h) != CURLM_OK) {
		curl_easy_cleanup(s->h);
		free(s);
		l->ops.on_end(c->ud, -ENOMEM);
		return;
	}
	l->streams[l->n++] = s;
	atomic_store(&l->n_streams, (uint64_t)l->n);
}

/* Carry out the queued commands; when stopping, only free what follows carried. */
static void run_cmds(struct dockerlogs *l, int stopping)
{
	struct dl_cmd *c, *next;

	pthread_mutex_lock(&l->lock);
	c = l->cmds;
	l->cmds = NULL;
	l->tail = &l->cmds;
	pthread_mutex_unlock(&l->lock);
	for (; c; c = next) {
		int i = find(l, c->id);

		next = c->next;
		if (stopping) {
			if (c->op == CMD_FOLLOW)
				l->ops.on_end(c->ud, -ECANCELED);
		} else if (c->op == CMD_UNFOLLOW) {
			if (i >= 0)
				finish(l, i, 0);
		} else if (i >= 0) {
			void *old = l->streams[i]->ud;

			l->streams[i]->ud = c->ud;
			if (l->ops.on_swap)
				l->ops.on_swap(c->ud, old);
			l->ops.on_end(old, 0);
		} else {
			start_stream(l, c);
		}
		free(c);
	}
}

/* A transfer ended: why, as -errno, and a message when it matters. */
static void done(struct dockerlogs *l, CURL *h, CURLcode rc)
{
	struct dl_stream *s = NULL;
	long status = 0;
	int i, err = 0;

	curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&s);
	if (!s || (i = find(l, s->id)) < 0)
		return;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (s->proto_err) {
		err = -EPROTO;
	} else if (status && (status < 200 || status > 299)) {
		err = status == 404 ? -ENOENT : -EPROTO;
		if (err != -ENOENT)
			log_warn("docker logs of %.12s: HTTP %ld: %.*s", s->id, status,
				 (int)strcspn(s->errbody, "\n"), s->errbody);
	} else if (rc != CURLE_OK) {
		err = -EIO;
		log_debug("docker logs of %.12s: %s", s->id, curl_easy_strerror(rc));
	}
	if (err)
		atomic_fetch_add(&l->errors, 1);
	finish(l, i, err);
}

static void *run(void *arg)
{
	struct dockerlogs *l = arg;
	int64_t next_tick = 0;

	while (!atomic_load(&l->stop)) {
		CURLMsg *m;
		int running, q;
		int64_t now;

		run_cmds(l, 0);
		curl_multi_perform(l->multi, &running);
		while ((m = curl_multi_info_read(l->multi, &q)))
			if (m->msg == CURLMSG_DONE)
				done(l, m->easy_handle, m->data.result);
		now = clock_mono_ns();
		if (now >= next_tick) {
			for (int i = 0; i < l->n; i++)
				if (l->ops.on_tick)
					l->ops.on_tick(l->streams[i]->ud);
			next_tick = now + 1000000000LL;
		}
		curl_multi_poll(l->multi, NULL, 0, 1000, NULL);
		/* Docker sends each log line as its own chunk: reading at once would cost a
		 * wakeup and a read per line. Waiting a little lets the lines gather in the
		 * sockets, read then in one go (docs/performance.md 8.2). */
		if (DOCKERLOGS_BATCH_MS && !atomic_load(&l->stop))
			nanosleep(&(struct timespec){0, DOCKERLOGS_BATCH_MS * 1000000L}, NULL);
	}
	while (l->n)
		finish(l, l->n - 1, 0);
	run_cmds(l, 1); /* follows queued meanwhile: their ud is freed too */
	docker_close(l->d);
	return NULL;
}

struct dockerlogs *dockerlogs_start(const char *host, const struct dockerlogs_ops *ops)
{
	struct dockerlogs *l = calloc(1, sizeof(*l));
	sigset_t all, old;
	int err;

	if (!l)
		return NULL;
	if (host)
		snprintf(l->host, sizeof(l->host), "%s", host);
	l->ops = *ops;
	l->tail = &l->cmds;
	curl_global_init(CURL_GLOBAL_NOTHING);
	l->multi = curl_multi_init();
	if (!l->multi) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	pimutex_init(&l->lock);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&l->thread, NULL, run, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		curl_multi_cleanup(l->multi);
		pthread_mutex_destroy(&l->lock);
		free(l);
		errno = err;
		return NULL;
	}
	return l;
}

void dockerlogs_stop(struct dockerlogs *l)
{
	if (!l)
		return;
	atomic_store(&l->stop, 1);
	curl_multi_wakeup(l->multi);
	pthread_join(l->thread, NULL);
	curl_multi_cleanup(l->multi);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static int queue(struct dockerlogs *l, int op, const char *id, int tty, int64_t since_ns, void *ud)
{
	struct dl_cmd *c;
	size_t n = strspn(id, "0123456789abcdef");

	if (n != 64 || id[n])
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->op = op;
	c->tty = tty;
	c->since_ns = since_ns;
	c->ud = ud;
	snprintf(c->id, sizeof(c->id), "%s", id);
	pthread_mutex_lock(&l->lock);
	*l->tail = c;
	l->tail = &c->next;
	pthread_mutex_unlock(&l->lock);
	curl_multi_wakeup(l->multi);
	return 0;
}

int dockerlogs_follow(struct dockerlogs *l, const char *id, int tty, int64_t since_ns, void *ud)
{
	return queue(l, CMD_FOLLOW, id, tty, since_ns, ud);
}

void dockerlogs_unfollow(struct dockerlogs *l, const char *id)
{
	queue(l, CMD_UNFOLLOW, id, 0, 0, NULL);
}

void dockerlogs_get_stats(struct dockerlogs *l, struct dockerlogs_stats *st)
{
	st->streams = atomic_load(&l->n_streams);
	st->lines = atomic_load(&l->lines);
	st->bytes = atomic_load(&l->bytes);
	st->bad_frames = atomic_load(&l->bad_frames);
	st->errors = atomic_load(&l->errors);
}
