/* alertlog_query.c - reading the alert file back for `moat alerts`: parse, filter, the
 * last N from the end of the file, and --follow across appends, rotation and truncation. */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "alertlog.h"
#include "alertlog_int.h"
#include "log.h"

int alertlog_parse_since(const char *s, int64_t now_ns, int64_t *out_ns)
{
	char *end;
	long long v;
	int64_t unit = 1;

	if (alert_parse_time(s, out_ns) == 0)
		return 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 0:
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (v > INT64_MAX / 1000000000 / unit)
		return -EINVAL;
	*out_ns = now_ns - (int64_t)v * unit * 1000000000;
	return 0;
}

/* Set by alertlog_query_stop (from a signal handler): --follow returns. */
static volatile sig_atomic_t query_exiting;

void alertlog_query_stop(void)
{
	query_exiting = 1;
}

struct query {
	const char *path;
	const struct alert_filter *f;
	FILE *out;
	int color;
	json_tokener *tok;
	int fd;		 /* the file being read, for counting line numbers */
	const char *mem; /* ... or its contents in memory (alertlog_query_buf), fd -1 */
	size_t mem_len;
	off_t cache_off;      /* a line start whose number is known ... */
	long cache_line;      /* ... and that number */
	json_object *collect; /* alertlog_page: matching lines go here as objects ... */
	uint64_t n_malformed; /* ... and malformed ones are counted, not logged */
};

/* pread(2) from the file being read, or from its contents in memory. */
static ssize_t q_pread(const struct query *q, void *buf, size_t n, off_t off)
{
	if (!q->mem)
		return pread(q->fd, buf, n, off);
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)off >= q->mem_len)
		return 0;
	if (n > q->mem_len - (size_t)off)
		n = q->mem_len - (size_t)off;
	memcpy(buf, q->mem + off, n);
	return (ssize_t)n;
}

/* Newlines in [from, to) of the file being read. */
static long count_newlines(const struct query *q, off_t from, off_t to)
{
	char buf[65536];
	long n = 0;

	while (from < to) {
		size_t want = (size_t)(to - from) < sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
		ssize_t got = q_pread(q, buf, want, from);

		if (got <= 0)
			break;
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))); p++)
			n++;
		from += got;
	}
	return n;
}

/* The line number of the line starting at off, counted from the nearest
 * known one, so warnings cost nothing until there is one to give. */
static long line_number(struct query *q, off_t off)
{
	if (off >= q->cache_off)
		q->cache_line += count_newlines(q, q->cache_off, off);
	else
		q->cache_line -= count_newlines(q, off, q->cache_off);
	q->cache_off = off;
	return q->cache_line;
}

/* Whether a passes the filter. */
static int filter_match(const struct alert_filter *f, const struct alert *a)
{
	if (a->severity < f->min_severity)
		return 0;
	if (f->since_ns && a->time_ns < f->since_ns)
		return 0;
	if (f->before_ns && a->time_ns >= f->before_ns)
		return 0;
	if (f->rule && *f->rule && strcmp(a->rule, f->rule) != 0)
		return 0;
	if (f->container && *f->container) {
		size_t n = strlen(f->container);

		if (strcmp(a->container_name, f->container) != 0 &&
		    !(a->container_id[0] && strncmp(a->container_id, f->container, n) == 0))
			return 0;
	}
	return 1;
}

/* Parse one line (NUL-terminated, without its '\n') starting at file
 * offset off. Returns 1 and the output text (with '\n', malloc'd) in *text
 * when it passes the filter, 0 when it does not or is skipped, -ENOMEM. */
/* Replace q's tokener with a fresh one (kept when out of memory). */
static void tok_renew(struct query *q)
{
	struct json_tokener *t = json_tokener_new();

	if (t) {
		json_tokener_free(q->tok);
		q->tok = t;
	}
}

static int query_line(struct query *q, char *line, size_t n, off_t off, char **text)
{
	struct alert a;
	json_object *o, *ts;
	enum json_tokener_error jerr;
	const char *reason = NULL, *clock_text = NULL;
	size_t out_len;
	int ret = 0;

	*text = NULL;
	while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = 0;
	if (n == 0)
		return 0;
	json_tokener_reset(q->tok);
	o = json_tokener_parse_ex(q->tok, line, (int)n);
	jerr = json_tokener_get_error(q->tok);
	if (!o) {
		reason = jerr == json_tokener_continue ? "incomplete JSON (torn line)"
						       : json_tokener_error_desc(jerr);
		/* json_tokener_reset keeps a pending \uD800-\uDBFF half of a surrogate pair
		 * (json-c 0.16), which then turns the next line's \u escape into U+FFFD: a
		 * line would read differently forwards (after its predecessor) than
		 * backwards. A fresh tokener after every failed parse. */
		tok_renew(q);
	} else if (json_tokener_get_parse_end(q->tok) != n) {
		reason = "text after the JSON object";
	} else if (alert_from_json(o, &a)) {
		reason = "not an alert (needs \"severity\" INFO/WARNING/CRITICAL and \"message\")";
	}
	if (reason && q->collect) {
		q->n_malformed++;
		json_object_put(o);
		return 0;
	}
	if (reason) {
		log_warn("%s:%ld: skipping malformed alert line: %s", q->path, line_number(q, off),
			 reason);
		json_object_put(o);
		return 0;
	}
	if (filter_match(q->f, &a) && q->collect) {
		ret = json_object_array_add(q->collect, json_object_get(o)) ? -ENOMEM : 1;
	} else if (filter_match(q->f, &a)) {
		if (q->f->json) {
			*text = malloc(n + 2);
			if (*text) {
				memcpy(*text, line, n);
				memcpy(*text + n, "\n", 2);
			}
		} else {
			/* crabpot lines have only "timestamp", no "time" */
			if (!a.time_ns && json_object_object_get_ex(o, "timestamp", &ts) &&
			    json_object_is_type(ts, json_type_string))
				clock_text = json_object_get_string(ts);
			*text = alertlog_line_dup(&a, q->color, clock_text, &out_len);
		}
		ret = *text ? 1 : -ENOMEM;
	}
	alert_release(&a);
	json_object_put(o);
	return ret;
}

/* Reading a file backwards a line at a time. buf holds the bytes
 * [base, base + len) not yet returned. */
struct rev {
	const struct query *q;
	off_t base;
	char *buf;
	size_t len, cap;
};

#define REV_CHUNK 65536

/* The line before the ones returned so far: *line (NUL-terminated, valid
 * until the next call), its length, file offset and whether it ended in
 * '\n' (only the last line of a file may not). Returns 1, 0 at the start
 * of the file, or -errno. */
static int rev_prev(struct rev *r, char **line, size_t *n, off_t *off, int *nl)
{
	for (;;) {
		size_t e = r->len, stop, chunk, got = 0;
		int has_nl = e > 0 && r->buf[e - 1] == '\n';
		char *p;

		if (e == 0 && r->base == 0)
			return 0;
		stop = has_nl ? e - 1 : e;
		p = stop ? memrchr(r->buf, '\n', stop) : NULL;
		if (p || r->base == 0) {
			size_t s = p ? (size_t)(p - r->buf) + 1 : 0;

			r->buf[stop] = 0; /* the '\n', or the spare byte past the end */
			*line = r->buf + s;
			*n = stop - s;
			*off = r->base + (off_t)s;
			*nl = has_nl;
			r->len = s;
			return 1;
		}
		chunk = r->base < REV_CHUNK ? (size_t)r->base : REV_CHUNK;
		if (r->len + chunk + 1 > r->cap) {
			size_t cap = (r->len + chunk + 1) * 2;
			char *nb = realloc(r->buf, cap);

			if (!nb)
				return -ENOMEM;
			r->buf = nb;
			r->cap = cap;
		}
		memmove(r->buf + chunk, r->buf, r->len);
		while (got < chunk) {
			ssize_t k = q_pread(r->q, r->buf + got, chunk - got,
					    r->base - (off_t)chunk + (off_t)got);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return k < 0 ? -errno : -EIO; /* truncated under us */
			got += (size_t)k;
		}
		r->base -= (off_t)chunk;
		r->len += chunk;
	}
}

/* The last f->last matching lines, printed oldest first. *end is set to
 * the offset following them: the start of an unterminated last line when
 * following (it may be a write in progress), else the file size. */
static int query_last(struct query *q, off_t size, off_t *end)
{
	struct rev r = {.q = q, .base = size};
	char **found = NULL, *line = NULL, *text;
	int nfound = 0, cap = 0, err = 0, nl = 0;
	size_t n = 0;
	off_t off = 0;

	*end = size;
	while (nfound < q->f->last && (err = rev_prev(&r, &line, &n, &off, &nl)) == 1) {
		if (!nl && q->f->follow) {
			*end = off;
			continue;
		}
		err = query_line(q, line, n, off, &text);
		if (err < 0)
			break;
		if (err == 0)
			continue;
		if (nfound == cap) {
			char **nf =
			    realloc(found, (size_t)(cap = cap ? cap * 2 : 64) * sizeof(*nf));

			if (!nf) {
				free(text);
				err = -ENOMEM;
				break;
			}
			found = nf;
		}
		found[nfound++] = text;
	}
	for (int i = nfound - 1; i >= 0; i--) {
		fputs(found[i], q->out);
		free(found[i]);
	}
	free(found);
	free(r.buf);
	return err < 0 ? err : 0;
}

/* Forward reading: the bytes after *pos are read, split into lines and
 * printed when they match; an unterminated tail stays in *pend (when final,
 * it is treated as a line: the file is not growing any more). */
struct fwd {
	char *pend;
	size_t plen, pcap;
	off_t pend_off; /* file offset of pend[0] */
};

static int forward_read(struct query *q, struct fwd *w, off_t *pos, int final)
{
	char buf[65536], *text;
	int err;

	for (;;) {
		ssize_t got = q_pread(q, buf, sizeof(buf), *pos);
		size_t start = 0;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		if (w->plen + (size_t)got + 1 > w->pcap) {
			size_t cap = (w->plen + (size_t)got + 1) * 2;
			char *nb = realloc(w->pend, cap);

			if (!nb)
				return -ENOMEM;
			w->pend = nb;
			w->pcap = cap;
		}
		memcpy(w->pend + w->plen, buf, (size_t)got);
		w->plen += (size_t)got;
		*pos += got;
		for (char *p; (p = memchr(w->pend + start, '\n', w->plen - start));
		     start = (size_t)(p - w->pend) + 1) {
			*p = 0;
			err = query_line(q, w->pend + start, (size_t)(p - w->pend) - start,
					 w->pend_off + (off_t)start, &text);
			if (err < 0)
				return err;
			if (err == 1) {
				fputs(text, q->out);
				free(text);
			}
		}
		memmove(w->pend, w->pend + start, w->plen - start);
		w->plen -= start;
		w->pend_off += (off_t)start;
	}
	if (final && w->plen) {
		w->pend[w->plen] = 0;
		err = query_line(q, w->pend, w->plen, w->pend_off, &text);
		if (err == 1) {
			fputs(text, q->out);
			free(text);
		}
		w->pend_off += (off_t)w->plen;
		w->plen = 0;
		if (err < 0)
			return err;
	}
	fflush(q->out);
	return 0;
}

/* Start reading a (new) file from offset 0 with nothing pending. */
static void fwd_reset(struct query *q, struct fwd *w, off_t *pos, off_t at)
{
	w->plen = 0;
	w->pend_off = at;
	*pos = at;
	q->cache_off = 0;
	q->cache_line = 1;
}

/* Whether the file was truncated since we read up to pos: it is shorter,
 * or (truncated and rewritten past pos before we looked) the byte before
 * the next line is no longer the '\n' we read there. Like tail -F, a
 * rewrite with a newline at exactly that spot cannot be told apart. */
static int was_truncated(struct query *q, const struct fwd *w, off_t pos)
{
	struct stat st;
	char c;

	if (fstat(q->fd, &st) == 0 && st.st_size < pos)
		return 1;
	return w->pend_off > 0 && (pread(q->fd, &c, 1, w->pend_off - 1) != 1 || c != '\n');
}

/* --follow: print lines as they are appended. inotify on the directory
 * wakes us for writes, renames (rotation) and truncation; a 1 s recheck
 * covers filesystems without inotify. Returns 0 on a signal, or -errno. */
static int query_follow(struct query *q, off_t start)
{
	char dir[PATH_MAX], evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const char *slash = strrchr(q->path, '/');
	struct fwd w = {0};
	struct stat st, cur;
	off_t pos;
	int ifd, err = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == q->path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - q->path), q->path);
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0 || inotify_add_watch(ifd, dir,
					 IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
					     IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB) < 0)
		log_warn("cannot watch %s: %s; checking for new alerts every second", dir,
			 strerror(errno));
	fwd_reset(q, &w, &pos, start);
	if (q->fd >= 0 && fstat(q->fd, &st))
		st.st_ino = 0;
	while (!query_exiting) {
		struct pollfd pfd = {.fd = ifd, .events = POLLIN};

		if (q->fd >= 0 && was_truncated(q, &w, pos)) {
			log_info("%s was truncated; reading it from the start", q->path);
			fwd_reset(q, &w, &pos, 0);
		}
		if (q->fd >= 0 && (err = forward_read(q, &w, &pos, 0)))
			break;
		if (stat(q->path, &cur) == 0) {
			if (q->fd < 0 || cur.st_ino != st.st_ino || cur.st_dev != st.st_dev) {
				/* Rotated: the old file was read to its end above. */
				int fd = open(q->path, O_RDONLY | O_CLOEXEC);

				if (fd >= 0) {
					if (q->fd >= 0) {
						log_info("%s was replaced; following the new file",
							 q->path);
						close(q->fd);
					}
					q->fd = fd;
					fstat(fd, &st);
					fwd_reset(q, &w, &pos, 0);
					continue;
				}
			}
		}
		if (poll(&pfd, ifd >= 0 ? 1 : 0, 1000) < 0) {
			if (errno == EINTR)
				break;
			err = -errno;
			break;
		}
		if (ifd >= 0)
			while (read(ifd, evbuf, sizeof(evbuf)) > 0)
				; /* any event: recheck everything above */
	}
	if (ifd >= 0)
		close(ifd);
	free(w.pend);
	return err;
}

int alertlog_query(const char *path, const struct alert_filter *f, FILE *out)
{
	struct query q = {.path = path, .f = f, .out = out, .cache_line = 1};
	struct stat st;
	off_t end = 0;
	int err = 0;

	q.color = f->json ? 0 : alertlog_use_color(f->color_mode, fileno(out));
	q.tok = json_tokener_new();
	if (!q.tok)
		return -ENOMEM;
	q.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (q.fd < 0) {
		err = -errno;
		if (!(f->follow && err == -ENOENT))
			goto cleanup;
		log_info("%s does not exist yet; waiting for alerts", path);
		err = 0;
	} else if (fstat(q.fd, &st)) {
		err = -errno;
		goto cleanup;
	} else if (f->last > 0) {
		err = query_last(&q, st.st_size, &end);
	} else {
		struct fwd w = {0};

		err = forward_read(&q, &w, &end, !f->follow);
		end = w.pend_off; /* the start of an unterminated tail */
		free(w.pend);
	}
	fflush(out);
	if (!err && f->follow)
		err = query_follow(&q, end);
cleanup:
	if (q.fd >= 0)
		close(q.fd);
	json_tokener_free(q.tok);
	return err;
}

int alertlog_page(const char *path, const struct alert_filter *f, struct alert_page *pg,
		  json_object *arr)
{
	struct query q = {.path = path, .f = f, .collect = arr, .mem = NULL};
	struct stat st;
	struct rev r = {.q = &q};
	size_t max_scan = pg->max_scan ? pg->max_scan : (64u << 20), n = 0;
	char *line = NULL, *text;
	off_t off = 0, start;
	int found = 0, err = 0, nl;

	q.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (q.fd < 0)
		return -errno;
	if (fstat(q.fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if (pg->ino && pg->ino != (uint64_t)st.st_ino) {
		err = -ESTALE;
		goto out;
	}
	pg->ino = (uint64_t)st.st_ino;
	if (pg->cursor > (int64_t)st.st_size) {
		err = -EINVAL;
		goto out;
	}
	start = pg->cursor >= 0 ? (off_t)pg->cursor : st.st_size;
	r.base = start;
	q.tok = json_tokener_new();
	if (!q.tok) {
		err = -ENOMEM;
		goto out;
	}
	/* line numbers are not needed (nothing is logged): the count starts anywhere */
	q.cache_off = start;
	pg->cursor = -1;
	while (found < f->last) {
		if ((size_t)(start - r.base) >= max_scan) {
			pg->cursor = r.base + (off_t)r.len; /* the lines not returned yet */
			break;
		}
		err = rev_prev(&r, &line, &n, &off, &nl);
		if (err <= 0)
			break;
		err = query_line(&q, line, n, off, &text);
		if (err < 0)
			break;
		found += err;
		err = 0;
		if (found == f->last && off > 0)
			pg->cursor = off;
	}
	pg->n_malformed = q.n_malformed;
	json_tokener_free(q.tok);
	free(r.buf);
out:
	close(q.fd);
	return err < 0 ? err : found;
}

int alertlog_query_buf(const char *name, const char *buf, size_t len, const struct alert_filter *f,
		       FILE *out)
{
	struct query q = {.path = name,
			  .f = f,
			  .out = out,
			  .fd = -1,
			  .mem = buf ? buf : "",
			  .mem_len = buf ? len : 0,
			  .cache_line = 1};
	off_t end = 0;
	int err;

	if (f->follow || len > (size_t)INT64_MAX)
		return -EINVAL;
	q.color = f->json ? 0 : alertlog_use_color(f->color_mode, fileno(out));
	q.tok = json_tokener_new();
	if (!q.tok)
		return -ENOMEM;
	if (f->last > 0) {
		err = query_last(&q, (off_t)q.mem_len, &end);
	} else {
		struct fwd w = {0};

		err = forward_read(&q, &w, &end, 1);
		free(w.pend);
	}
	fflush(out);
	json_tokener_free(q.tok);
	return err;
}
