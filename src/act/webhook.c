/* webhook.c - the webhook output: each alert is appended to an on-disk queue (the spool,
 * <state_dir>/outputs/<name>.spool, one JSON line each) and POSTed from there in order
 * through libcurl, retried with exponential backoff until the receiver takes it; the
 * offset of the first undelivered line is kept in <name>.head, so the queue survives a
 * restart of moat. docs/outputs.md says what happens when the queue is full. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>

#include "clock.h"
#include "fs.h"
#include "log.h"
#include "output_int.h"

#define WEBHOOK_LINE_MAX (1 << 20) /* a longer spool line is not an alert moat wrote */

struct webhook {
	CURL *curl;
	struct curl_slist *headers;
	char spool_path[PATH_MAX + 80], head_path[PATH_MAX + 80];
	int spool_fd, head_fd;
	off_t head;	     /* offset of the first undelivered line */
	off_t end;	     /* end of the last complete line */
	int64_t next_try_ns; /* CLOCK_MONOTONIC; 0 = now */
	uint32_t backoff_ms; /* the next wait */
	int full_logged;
	char *line; /* the line being delivered */
	size_t line_cap;
};

/* libcurl's body sink: the answer is not read. */
static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
	return sz * n;
}

/* Abort a transfer when moat stops (the alert stays in the spool). */
static int progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return output_stopping(ud);
}

static int save_head(struct webhook *w)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%020lld\n", (long long)w->head);

	/* One pwrite of 21 bytes at 0: within a block, so a reader finds the old or the new. */
	return pwrite(w->head_fd, buf, (size_t)n, 0) == n ? 0 : -errno;
}

/* Count the complete lines from w->head to the end, and cut a torn last line (moat stopped
 * in the middle of an append). */
static int64_t scan(struct webhook *w)
{
	char buf[65536];
	off_t off = w->head, last_nl = w->head;
	int64_t lines = 0;
	ssize_t n;

	while ((n = pread(w->spool_fd, buf, sizeof(buf), off)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n') {
				lines++;
				last_nl = off + i + 1;
			}
		off += n;
	}
	if (off != last_nl && ftruncate(w->spool_fd, last_nl) == 0)
		log_warn("webhook spool %s: a torn last line cut off", w->spool_path);
	w->end = last_nl;
	return lines;
}

/* A name safe as a file name. */
static void file_name(const char *name, char *out, size_t len)
{
	size_t i = 0;

	for (; name[i] && i + 1 < len; i++)
		out[i] = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
				 (name[i] >= '0' && name[i] <= '9') || name[i] == '-'
			     ? name[i]
			     : '_';
	out[i] = 0;
}

static int webhook_start(struct output *o, const struct outputs_env *env)
{
	struct webhook *w = calloc(1, sizeof(*w));
	char base[64], dir[PATH_MAX], buf[32];
	struct stat st;
	int err;
	ssize_t n;

	if (!w)
		return -ENOMEM;
	o->priv = w;
	w->spool_fd = w->head_fd = -1;
	w->backoff_ms = o->conf.backoff_ms;
	file_name(o->conf.name, base, sizeof(base));
	snprintf(dir, sizeof(dir), "%s/outputs", env->state_dir ? env->state_dir : "/var/lib/moat");
	snprintf(w->spool_path, sizeof(w->spool_path), "%s/%s.spool", dir, base);
	snprintf(w->head_path, sizeof(w->head_path), "%s/%s.head", dir, base);
	err = fs_mkdir_p(dir, 0700);
	if (!err) {
		w->spool_fd = open(w->spool_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		w->head_fd = open(w->head_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		err = w->spool_fd < 0 || w->head_fd < 0 ? -errno : 0;
	}
	if (err) {
		output_set_state(o, "cannot open its queue %s: %s", w->spool_path, strerror(-err));
		goto fail;
	}
	n = pread(w->head_fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	w->head = n > 0 ? (off_t)strtoll(buf, NULL, 10) : 0;
	if (fstat(w->spool_fd, &st) || w->head < 0 || w->head > st.st_size)
		w->head = 0; /* a head past the end: the spool was replaced; send it all */
	atomic_store(&o->backlog, scan(w));
	if (atomic_load(&o->backlog))
		log_info("output %s: %" PRId64 " alert(s) queued from before, to deliver first",
			 o->conf.name, (int64_t)atomic_load(&o->backlog));
	w->curl = curl_easy_init();
	w->headers = curl_slist_append(NULL, "Content-Type: application/json");
	for (int i = 0; w->headers && i < o->conf.n_headers; i++)
		w->headers = curl_slist_append(w->headers, o->conf.headers[i]);
	if (!w->curl || !w->headers) {
		err = -ENOMEM;
		goto fail;
	}
	curl_easy_setopt(w->curl, CURLOPT_URL, o->conf.url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "moat");
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)o->conf.timeout_ms);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)o->conf.timeout_ms);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (o->conf.ca_file[0]) /* an https receiver with its own CA; verification stays on */
		curl_easy_setopt(w->curl, CURLOPT_CAINFO, o->conf.ca_file);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(w->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFODATA, o);
	return 0;
fail:
	o->ops->free(o);
	return err;
}

static void webhook_free(struct output *o)
{
	struct webhook *w = o->priv;

	if (!w)
		return;
	if (w->curl)
		curl_easy_cleanup(w->curl);
	curl_slist_free_all(w->headers);
	if (w->spool_fd >= 0)
		close(w->spool_fd);
	if (w->head_fd >= 0)
		close(w->head_fd);
	free(w->line);
	free(w);
	o->priv = NULL;
}

/* Append it to the spool, or drop it when the spool holds queue_max alerts. */
static void spool(struct output *o, struct webhook *w, struct output_item *it)
{
	int err = 0;

	if (atomic_load(&o->backlog) >= (int64_t)o->conf.queue_max) {
		atomic_fetch_add(&o->dropped, 1);
		if (!w->full_logged)
			log_error("output %s: its queue holds %u alerts (queue_max): newer alerts "
				  "are dropped for it until the receiver takes some (counted as "
				  "dropped in moat status; the alert file has them all)",
				  o->conf.name, o->conf.queue_max);
		w->full_logged = 1;
		return;
	}
	it->json[it->len] = '\n'; /* the NUL: written over, the line ends here */
	for (size_t off = 0; off < it->len + 1 && !err;) {
		ssize_t n = write(w->spool_fd, it->json + off, it->len + 1 - off);

		if (n < 0 && errno != EINTR)
			err = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	it->json[it->len] = 0;
	if (err) {
		/* Whatever part was written is cut off: the spool stays whole lines. */
		if (ftruncate(w->spool_fd, w->end))
			err = -errno;
		atomic_fetch_add(&o->dropped, 1);
		output_set_state(o, "cannot write its queue %s: %s", w->spool_path, strerror(-err));
		return;
	}
	w->end += (off_t)it->len + 1;
	atomic_fetch_add(&o->backlog, 1);
}

/* Read the line at w->head into w->line (without its newline). Returns its length or -1. */
static ssize_t read_head(struct webhook *w)
{
	size_t len = 0;

	for (;;) {
		ssize_t n;
		char *nl;

		if (len + 4096 + 1 > w->line_cap) {
			size_t cap = w->line_cap ? w->line_cap * 2 : 8192;
			char *p;

			if (cap > WEBHOOK_LINE_MAX || !(p = realloc(w->line, cap)))
				return -1;
			w->line = p;
			w->line_cap = cap;
		}
		n = pread(w->spool_fd, w->line + len, w->line_cap - len - 1, w->head + (off_t)len);
		if (n <= 0)
			return -1;
		nl = memchr(w->line + len, '\n', (size_t)n);
		if (nl) {
			*nl = 0;
			return nl - w->line;
		}
		len += (size_t)n;
	}
}

/* POST the line at the head. 1 delivered (or refused for good: skipped), 0 retry later. */
static int deliver_head(struct output *o, struct webhook *w)
{
	ssize_t len = read_head(w);
	long code = 0;
	CURLcode rc;

	if (len < 0) {
		/* Unreadable: the spool changed under moat. Start over from its end. */
		output_set_state(o, "its queue %s is unreadable; skipped to its end",
				 w->spool_path);
		w->head = w->end;
		atomic_store(&o->backlog, 0);
		save_head(w);
		return 1;
	}
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, w->line);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)len);
	rc = curl_easy_perform(w->curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		atomic_fetch_add(&o->sent, 1);
		if (w->backoff_ms != o->conf.backoff_ms)
			output_set_state(o, "%s", "");
		w->backoff_ms = o->conf.backoff_ms;
		w->full_logged = 0;
	} else if (rc == CURLE_OK && code >= 400 && code < 500 && code != 408 && code != 429) {
		/* The receiver refuses this alert for good: retrying would block the queue. */
		atomic_fetch_add(&o->rejected, 1);
		atomic_fetch_add(&o->failed, 1);
		log_error("output %s: the receiver refused an alert with HTTP %ld; skipped",
			  o->conf.name, code);
	} else {
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			return 0; /* stopping */
		atomic_fetch_add(&o->retries, 1);
		/* The URL is not printed: it may carry a secret. */
		if (rc != CURLE_OK)
			output_set_state(o, "receiver unreachable (%s); retrying with backoff",
					 curl_easy_strerror(rc));
		else
			output_set_state(o, "receiver answered HTTP %ld; retrying with backoff",
					 code);
		w->next_try_ns = clock_mono_ns() + (int64_t)w->backoff_ms * 1000000;
		w->backoff_ms = w->backoff_ms * 2 > o->conf.max_backoff_ms ? o->conf.max_backoff_ms
									   : w->backoff_ms * 2;
		return 0;
	}
	w->head += len + 1;
	atomic_fetch_sub(&o->backlog, 1);
	if (w->head >= w->end && atomic_load(&o->backlog) <= 0) {
		/* All delivered: start the spool afresh so it never grows without bound. */
		if (ftruncate(w->spool_fd, 0) == 0)
			w->head = w->end = 0;
		atomic_store(&o->backlog, 0);
	}
	save_head(w);
	return 1;
}

static void *webhook_run(void *arg)
{
	struct output *o = arg;
	struct webhook *w = o->priv;

	output_thread_signals();
	for (;;) {
		struct output_item *it;
		int64_t now;

		while (output_pop(o, &it) == 0) {
			spool(o, w, it);
			output_done(o, it);
			atomic_fetch_sub(&o->busy, 1);
		}
		if (output_stopping(o))
			break; /* the rest waits in the spool for the next start */
		now = clock_mono_ns();
		if (atomic_load(&o->backlog) > 0 && now >= w->next_try_ns) {
			deliver_head(o, w);
			continue;
		}
		output_wait(o, atomic_load(&o->backlog) > 0 ? w->next_try_ns : 0);
	}
	return NULL;
}

static void webhook_status(struct output *o, json_object *j)
{
	struct webhook *w = o->priv;

	json_object_object_add(j, "retries", json_object_new_uint64(atomic_load(&o->retries)));
	json_object_object_add(j, "rejected", json_object_new_uint64(atomic_load(&o->rejected)));
	json_object_object_add(j, "queue", json_object_new_string(w->spool_path));
	json_object_object_add(j, "queue_max", json_object_new_uint64(o->conf.queue_max));
}

const struct output_ops webhook_ops = {
    .start = webhook_start,
    .run = webhook_run,
    .free = webhook_free,
    .status = webhook_status,
};
