/* export_spool.c - the exporter's on-disk spool (export_int.h): one file per batch, written
 * atomically, read back as hostile input, and bounded by deleting the least valuable
 * batches first. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "event.h"
#include "export_int.h"
#include "fs.h"
#include "log.h"

/* One batch file the spool holds. */
struct spool_entry {
	uint64_t id;
	int cls;
	uint64_t bytes; /* the file's size */
	uint32_t rows;
	uint32_t types[MOAT_EV_MAX];
};

struct export_spool {
	char dir[PATH_MAX];
	uint64_t max_bytes;
	pthread_mutex_t lock;  /* the batcher writes, the sender reads and removes */
	struct spool_entry *e; /* sorted by id */
	size_t n, cap;
	struct export_spool_stats st;
};

const char *export_class_name(int cls)
{
	static const char *const names[] = {"alerts", "events", "low"};

	return cls >= 0 && cls < EXPORT_CLS_NR ? names[cls] : "?";
}

static int class_parse(const char *s)
{
	for (int c = 0; c < EXPORT_CLS_NR; c++)
		if (!strcmp(s, export_class_name(c)))
			return c;
	return -1;
}

void export_batch_free(struct export_batch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b);
}

static void entry_path(const struct export_spool *s, uint64_t id, int cls, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%020" PRIu64 ".%s", s->dir, id, export_class_name(cls));
}

/* A file name of the spool: 20 digits, '.', a class. 0 with *id and *cls, or -EINVAL. */
static int name_parse(const char *name, uint64_t *id, int *cls)
{
	char *end;

	if (strlen(name) < 22 || name[20] != '.')
		return -EINVAL;
	for (int i = 0; i < 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
	errno = 0;
	*id = strtoull(name, &end, 10);
	if (errno || end != name + 20)
		return -EINVAL;
	*cls = class_parse(name + 21);
	return *cls < 0 ? -EINVAL : 0;
}

static int entry_add(struct export_spool *s, const struct spool_entry *e)
{
	size_t i;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct spool_entry *n = realloc(s->e, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->e = n;
		s->cap = cap;
	}
	for (i = s->n; i > 0 && s->e[i - 1].id > e->id; i--)
		s->e[i] = s->e[i - 1];
	s->e[i] = *e;
	s->n++;
	s->st.files++;
	s->st.bytes += e->bytes;
	return 0;
}

static void entry_del(struct export_spool *s, size_t i)
{
	s->st.files--;
	s->st.bytes -= s->e[i].bytes;
	memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(*s->e));
	s->n--;
}

/* The header of a batch file: {"moat_export":1,"class":..,"rows":..,"bytes":..,"crc32":..,
 * "types":{..}}. Written with json-c; read back with it. */
static char *header_make(const struct export_batch *b)
{
	json_object *h = json_object_new_object(), *t = json_object_new_object();
	const char *js;
	char *out;

	json_object_object_add(h, "moat_export", json_object_new_int(1));
	json_object_object_add(h, "class", json_object_new_string(export_class_name(b->cls)));
	json_object_object_add(h, "rows", json_object_new_int64(b->rows));
	json_object_object_add(h, "bytes", json_object_new_int64((int64_t)b->len));
	json_object_object_add(
	    h, "crc32",
	    json_object_new_int64((int64_t)crc32(0, (const Bytef *)b->buf, (uInt)b->len)));
	for (unsigned i = 0; i < MOAT_EV_MAX; i++)
		if (b->types[i])
			json_object_object_add(t, event_type_name(i),
					       json_object_new_int64(b->types[i]));
	json_object_object_add(h, "types", t);
	js = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
	out = js ? strdup(js) : NULL;
	json_object_put(h);
	return out;
}

/* Check header text hdr (NUL-terminated, no newline) of the file of class cls against the
 * body that follows it (body_len bytes at body, or NULL to skip the body checks). Fills e's
 * rows and types. NULL when it is sound, else why not. */
static const char *header_check(const char *hdr, int cls, const char *body, size_t body_len,
				struct spool_entry *e)
{
	json_object *h = json_tokener_parse(hdr), *v, *t;
	const char *why = NULL;
	uint64_t sum = 0;

	if (!h || !json_object_is_type(h, json_type_object)) {
		why = "the header line is not a JSON object";
		goto out;
	}
	if (!json_object_object_get_ex(h, "moat_export", &v) || json_object_get_int(v) != 1 ||
	    !json_object_is_type(v, json_type_int)) {
		why = "the header is not moat_export version 1";
		goto out;
	}
	if (!json_object_object_get_ex(h, "class", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    class_parse(json_object_get_string(v)) != cls) {
		why = "the header's class differs from the file name's";
		goto out;
	}
	if (!json_object_object_get_ex(h, "rows", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 1 || json_object_get_int64(v) > 100000000) {
		why = "the header's row count is missing or out of range";
		goto out;
	}
	e->rows = (uint32_t)json_object_get_int64(v);
	if (!json_object_object_get_ex(h, "types", &t) ||
	    !json_object_is_type(t, json_type_object)) {
		why = "the header has no types object";
		goto out;
	}
	memset(e->types, 0, sizeof(e->types));
	json_object_object_foreach(t, k, n)
	{
		unsigned ty = event_type_from_name(k);
		int64_t c = json_object_is_type(n, json_type_int) ? json_object_get_int64(n) : -1;

		if (!ty || ty >= MOAT_EV_MAX || c < 0 || c > e->rows) {
			why = "the header's types name an unknown type or a bad count";
			goto out;
		}
		e->types[ty] = (uint32_t)c;
		sum += (uint64_t)c;
	}
	if (cls != EXPORT_CLS_ALERTS && sum != e->rows) {
		why = "the header's types do not add up to its rows";
		goto out;
	}
	if (!body)
		goto out;
	if (!json_object_object_get_ex(h, "bytes", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != (int64_t)body_len) {
		why = "the file is shorter or longer than its header says (torn or appended to)";
		goto out;
	}
	if (!json_object_object_get_ex(h, "crc32", &v) || !json_object_is_type(v, json_type_int) ||
	    (uint64_t)json_object_get_int64(v) != crc32(0, (const Bytef *)body, (uInt)body_len)) {
		why = "the rows' checksum does not match (the file was changed or damaged)";
		goto out;
	}
	if (!body_len || body[body_len - 1] != '\n' || memchr(body, 0, body_len)) {
		why = "the rows are not newline-terminated text";
		goto out;
	}
out:
	json_object_put(h);
	return why;
}

/* Read the first line of file path (the header) into buf. 0 or -errno / -EINVAL. */
static int read_header(const char *path, char *buf, size_t n, uint64_t *size)
{
	struct stat st;
	ssize_t r;
	char *nl;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	r = read(fd, buf, n - 1);
	if (r < 0)
		err = -errno;
	close(fd);
	if (err)
		return err;
	buf[r] = 0;
	nl = strchr(buf, '\n');
	if (!nl)
		return -EINVAL;
	*nl = 0;
	return 0;
}

struct export_spool *export_spool_open(const char *dir, uint64_t max_bytes)
{
	struct export_spool *s = calloc(1, sizeof(*s));
	struct dirent *d;
	DIR *dp;
	int err;

	if (!s)
		return NULL;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->max_bytes = max_bytes;
	pthread_mutex_init(&s->lock, NULL);
	err = fs_mkdir_p(dir, 0700);
	if (err || !(dp = opendir(dir))) {
		err = err ? err : -errno;
		log_error(
		    "export: cannot use the spool directory %s: %s (set export.spool_dir to a "
		    "writable directory)",
		    dir, strerror(-err));
		export_spool_close(s);
		errno = -err;
		return NULL;
	}
	while ((d = readdir(dp))) {
		struct spool_entry e = {0};
		char path[PATH_MAX + 64], hdr[EXPORT_HEADER_MAX];
		const char *why = NULL;

		if (name_parse(d->d_name, &e.id, &e.cls))
			continue; /* temporary files of an interrupted save, and others' files */
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		err = read_header(path, hdr, sizeof(hdr), &e.bytes);
		if (err)
			why = "no readable header line";
		else if (e.bytes > EXPORT_SPOOL_FILE_MAX)
			why = "larger than any batch moat writes";
		else
			why = header_check(hdr, e.cls, NULL, 0, &e);
		if (why) {
			log_warn("export spool: %s: %s; deleted (its rows are lost)", path, why);
			s->st.corrupt++;
			unlink(path);
			continue;
		}
		if (entry_add(s, &e)) {
			closedir(dp);
			export_spool_close(s);
			errno = ENOMEM;
			return NULL;
		}
	}
	closedir(dp);
	if (s->n)
		log_info("export spool %s: %" PRIu64 " batches (%" PRIu64
			 " bytes) from an earlier run, sent first",
			 dir, s->st.files, s->st.bytes);
	return s;
}

void export_spool_close(struct export_spool *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->e);
	free(s);
}

/* Count entry i's rows as given up and delete it (under the lock). */
static void give_up(struct export_spool *s, size_t i, const char *why)
{
	char path[PATH_MAX + 64];
	struct spool_entry *e = &s->e[i];

	entry_path(s, e->id, e->cls, path, sizeof(path));
	if (e->cls == EXPORT_CLS_ALERTS)
		s->st.dropped_alerts += e->rows;
	else
		for (unsigned t = 0; t < MOAT_EV_MAX; t++)
			s->st.dropped[t] += e->types[t];
	s->st.dropped_batches++;
	log_warn("export spool: %s: %s; %u %s rows given up (counted in moat status)", path, why,
		 e->rows, export_class_name(e->cls));
	unlink(path);
	entry_del(s, i);
}

/* Make room for need bytes from a batch of class cls: the oldest batch of the least valuable
 * class first, never one more valuable than cls. 0, or -ENOSPC. Under the lock. */
static int make_room(struct export_spool *s, uint64_t need, int cls)
{
	while (s->st.bytes + need > s->max_bytes) {
		size_t victim = s->n;

		for (int c = EXPORT_CLS_NR - 1; c >= cls && victim == s->n; c--)
			for (size_t i = 0; i < s->n; i++)
				if (s->e[i].cls == c) {
					victim = i;
					break;
				}
		if (victim == s->n)
			return -ENOSPC;
		give_up(s, victim, "the spool is full (export.spool_max_mib)");
	}
	return 0;
}

int export_spool_write(struct export_spool *s, const struct export_batch *b)
{
	struct spool_entry e = {.id = b->id, .cls = b->cls, .rows = b->rows};
	char path[PATH_MAX + 64], *hdr = header_make(b);
	struct fs_atomic a;
	int err;

	memcpy(e.types, b->types, sizeof(e.types));
	e.bytes = (hdr ? strlen(hdr) + 1 : 0) + b->len;
	pthread_mutex_lock(&s->lock);
	err = hdr ? make_room(s, e.bytes, b->cls) : -ENOMEM;
	if (!err) {
		entry_path(s, b->id, b->cls, path, sizeof(path));
		err = fs_atomic_begin(&a, path, 0600);
		if (!err) {
			if (fputs(hdr, a.f) < 0 || fputc('\n', a.f) < 0 ||
			    fwrite(b->buf, 1, b->len, a.f) != b->len) {
				err = -EIO;
				fs_atomic_abort(&a);
			} else {
				err = fs_atomic_commit(&a);
			}
		}
		if (!err)
			err = entry_add(s, &e);
		else
			log_warn("export spool: cannot write %s: %s (is %s full or read-only?)",
				 path, strerror(-err), s->dir);
	}
	if (err) {
		if (b->cls == EXPORT_CLS_ALERTS)
			s->st.dropped_alerts += b->rows;
		else
			for (unsigned t = 0; t < MOAT_EV_MAX; t++)
				s->st.dropped[t] += b->types[t];
		s->st.dropped_batches++;
		if (err == -ENOSPC)
			log_warn("export spool %s: full of batches worth more than this %s batch "
				 "(%u rows): it is given up (counted in moat status)",
				 s->dir, export_class_name(b->cls), b->rows);
	} else {
		s->st.written++;
	}
	pthread_mutex_unlock(&s->lock);
	free(hdr);
	return err;
}

int export_spool_oldest(struct export_spool *s, struct export_batch **out)
{
	for (;;) {
		struct spool_entry e;
		char path[PATH_MAX + 64], *data = NULL, *nl;
		const char *why = NULL;
		struct export_batch *b;
		size_t len;
		int err;

		pthread_mutex_lock(&s->lock);
		if (!s->n) {
			pthread_mutex_unlock(&s->lock);
			return -ENOENT;
		}
		e = s->e[0];
		pthread_mutex_unlock(&s->lock);
		entry_path(s, e.id, e.cls, path, sizeof(path));
		err = fs_read_all(path, EXPORT_SPOOL_FILE_MAX, &data, &len);
		if (err == -ENOENT) { /* given up for space meanwhile */
			pthread_mutex_lock(&s->lock);
			if (s->n && s->e[0].id == e.id)
				entry_del(s, 0);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		nl = data ? memchr(data, '\n', len < EXPORT_HEADER_MAX ? len : EXPORT_HEADER_MAX)
			  : NULL;
		if (err)
			why = err == -EFBIG ? "larger than any batch moat writes" : strerror(-err);
		else if (!nl)
			why = "no header line";
		if (!why) {
			*nl = 0;
			why = header_check(data, e.cls, nl + 1, len - (size_t)(nl + 1 - data), &e);
		}
		if (why) {
			log_warn(
			    "export spool: %s: %s; skipped and deleted (its rows are lost; the "
			    "other batches go on)",
			    path, why);
			free(data);
			pthread_mutex_lock(&s->lock);
			s->st.corrupt++;
			if (s->n && s->e[0].id == e.id)
				entry_del(s, 0);
			pthread_mutex_unlock(&s->lock);
			unlink(path);
			continue;
		}
		b = calloc(1, sizeof(*b));
		if (!b) {
			free(data);
			return -ENOMEM;
		}
		b->id = e.id;
		b->cls = e.cls;
		b->rows = e.rows;
		memcpy(b->types, e.types, sizeof(b->types));
		b->len = len - (size_t)(nl + 1 - data);
		memmove(data, nl + 1, b->len);
		b->buf = data;
		b->cap = len;
		*out = b;
		return 0;
	}
}

void export_spool_remove(struct export_spool *s, uint64_t id)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].id == id) {
			char path[PATH_MAX + 64];

			entry_path(s, id, s->e[i].cls, path, sizeof(path));
			unlink(path);
			entry_del(s, i);
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

void export_spool_stats(struct export_spool *s, struct export_spool_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->st;
	pthread_mutex_unlock(&s->lock);
}
