/* capture.c - capture files: the writer (`moat trace --record`) and the reader (`moat replay`)
 * of the format in capture.h and docs/events.md ("Capture files"). */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zstd.h>

#include "capture.h"
#include "clock.h"
#include "fs.h"
#include "log.h"
#include "moat/events.h"
#include "version.h"

#define REC_HDR		 8
#define ROUND8(n)	 (((n) + 7u) & ~(size_t)7u)
#define W_IN_CAP	 (256u << 10) /* records gathered before they go to zstd */
#define R_IN_CAP	 (64u << 10)  /* compressed bytes read at a time */
#define R_OUT_SLACK	 (128u << 10) /* room for zstd beyond the largest record */
#define CT_SLOTS	 (2 * CAPTURE_MAX_CONTAINERS)
#define ZSTD_MAGIC_BYTES "\x28\xb5\x2f\xfd"

/* ===================================== writing ===================================== */

struct w_slot {
	uint64_t cgid; /* 0: free */
	uint64_t sig;  /* what was written for it: 0 none, else a hash of the container */
};

struct capture_writer {
	struct capture_opts o;
	char *path;
	int fd;
	unsigned part;
	int err;
	ZSTD_CCtx *cz;
	uint8_t *in, *out;
	size_t in_len, out_cap;
	uint64_t frame_bytes, file_bytes;
	int64_t frame_start, file_start; /* CLOCK_MONOTONIC; frame_start 0: no open frame */
	struct w_slot *ct;
	size_t ct_cap, ct_n;
	struct capture_stats st;
	char host_id[128], boot_id[64], kernel[128];
};

int capture_part_name(const char *path, unsigned n, char *buf, size_t len)
{
	int k = n ? snprintf(buf, len, "%s.%u", path, n) : snprintf(buf, len, "%s", path);

	return k < 0 || (size_t)k >= len ? -ENAMETOOLONG : 0;
}

static int parse_scaled(const char *s, const char *units, const uint64_t *mult, uint64_t *out)
{
	char *end;
	unsigned long long v;
	const char *u;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0 || end == s)
		return -EINVAL;
	if (*end) {
		if (end[1] || !(u = strchr(units, *end)))
			return -EINVAL;
		if (v > UINT64_MAX / mult[u - units])
			return -EINVAL;
		v *= mult[u - units];
	}
	*out = v;
	return 0;
}

int capture_parse_size(const char *s, uint64_t *out)
{
	static const uint64_t m[] = {1024, 1024, 1ULL << 20, 1ULL << 20, 1ULL << 30, 1ULL << 30};

	return parse_scaled(s, "kKmMgG", m, out);
}

int capture_parse_duration(const char *s, int64_t *out_ns)
{
	static const uint64_t m[] = {1, 60, 3600, 86400};
	uint64_t v;

	if (parse_scaled(s, "smhd", m, &v) || v > INT64_MAX / CLOCK_NS_PER_SEC)
		return -EINVAL;
	*out_ns = (int64_t)v * CLOCK_NS_PER_SEC;
	return 0;
}

/* The first line of file path into buf, trimmed ("" when unreadable). */
static void read_line(const char *path, char *buf, size_t len)
{
	char *s = NULL;
	size_t n = 0;

	buf[0] = 0;
	if (fs_read_all(path, 4096, &s, &n))
		return;
	n = strcspn(s, "\r\n");
	snprintf(buf, len, "%.*s", (int)n, s);
	free(s);
}

static int write_all(struct capture_writer *w, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t k = write(w->fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return w->err = k < 0 ? -errno : -EIO;
		b += k;
		n -= (size_t)k;
		w->file_bytes += (uint64_t)k;
		w->st.file_bytes += (uint64_t)k;
	}
	return 0;
}

static json_object *header_json(const struct capture_writer *w)
{
	json_object *o = json_object_new_object(), *abi = json_object_new_object();

	json_object_object_add(o, "moat_version", json_object_new_string(MOAT_VERSION));
	json_object_object_add(o, "kernel", json_object_new_string(w->kernel));
	json_object_object_add(o, "host_id", json_object_new_string(w->host_id));
	json_object_object_add(o, "boot_id", json_object_new_string(w->boot_id));
	json_object_object_add(o, "boot_to_unix_ns", json_object_new_int64(w->o.boot_to_unix_ns));
	json_object_object_add(o, "created_ns", json_object_new_int64(clock_unix_ns()));
	json_object_object_add(o, "part", json_object_new_int64(w->part));
	json_object_object_add(o, "byte_order", json_object_new_string("little"));
	json_object_object_add(abi, "event_types", json_object_new_int(MOAT_EV_MAX - 1));
	json_object_object_add(abi, "hdr", json_object_new_int(sizeof(struct moat_event_hdr)));
	json_object_object_add(abi, "net", json_object_new_int(sizeof(struct moat_net_event)));
	json_object_object_add(abi, "exec", json_object_new_int(sizeof(struct moat_exec_event)));
	json_object_object_add(abi, "exit", json_object_new_int(sizeof(struct moat_exit_event)));
	json_object_object_add(abi, "dns", json_object_new_int(sizeof(struct moat_dns_event)));
	json_object_object_add(abi, "socket",
			       json_object_new_int(sizeof(struct moat_socket_event)));
	json_object_object_add(abi, "packet",
			       json_object_new_int(sizeof(struct moat_packet_event)));
	json_object_object_add(abi, "oom", json_object_new_int(sizeof(struct moat_oom_event)));
	json_object_object_add(o, "abi", abi);
	return o;
}

/* Open part w->part and write its header. */
static int open_part(struct capture_writer *w)
{
	char name[4096];
	uint8_t fixed[16];
	json_object *h;
	const char *js;
	uint32_t jlen;
	uint16_t v = CAPTURE_VERSION, flags = 0;
	int err;

	if ((err = capture_part_name(w->path, w->part, name, sizeof(name))))
		return err;
	w->fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (w->fd < 0) {
		err = -errno;
		log_error("cannot create capture file %s: %s (is the directory writable?)", name,
			  strerror(errno));
		return err;
	}
	w->file_bytes = 0;
	w->file_start = clock_mono_ns();
	w->st.files++;
	memset(w->ct, 0, w->ct_cap * sizeof(*w->ct)); /* each file is self-contained */
	w->ct_n = 0;
	h = header_json(w);
	js = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	jlen = (uint32_t)strlen(js);
	memcpy(fixed, CAPTURE_MAGIC, 8);
	memcpy(fixed + 8, &v, 2);
	memcpy(fixed + 10, &flags, 2);
	memcpy(fixed + 12, &jlen, 4);
	err = write_all(w, fixed, sizeof(fixed));
	if (!err)
		err = write_all(w, js, jlen);
	json_object_put(h);
	if (err)
		log_error("cannot write capture file %s: %s", name, strerror(-err));
	return err;
}

struct capture_writer *capture_writer_open(const struct capture_opts *o)
{
	struct capture_writer *w = calloc(1, sizeof(*w));
	struct utsname u;
	int err = -ENOMEM;

	if (!w)
		return NULL;
	w->o = *o;
	w->fd = -1;
	w->path = strdup(o->path);
	w->out_cap = ZSTD_CStreamOutSize();
	w->in = malloc(W_IN_CAP);
	w->out = malloc(w->out_cap);
	w->ct_cap = 1024;
	w->ct = calloc(w->ct_cap, sizeof(*w->ct));
	w->cz = ZSTD_createCCtx();
	if (!w->path || !w->in || !w->out || !w->ct || !w->cz)
		goto fail;
	ZSTD_CCtx_setParameter(w->cz, ZSTD_c_compressionLevel, o->level ? o->level : 1);
	ZSTD_CCtx_setParameter(w->cz, ZSTD_c_windowLog, 20); /* readers cap it (capture.h) */
	ZSTD_CCtx_setParameter(w->cz, ZSTD_c_checksumFlag, 1);
	if (o->host_id && o->host_id[0])
		snprintf(w->host_id, sizeof(w->host_id), "%s", o->host_id);
	else
		read_line("/etc/machine-id", w->host_id, sizeof(w->host_id));
	read_line("/proc/sys/kernel/random/boot_id", w->boot_id, sizeof(w->boot_id));
	if (uname(&u) == 0)
		snprintf(w->kernel, sizeof(w->kernel), "%s", u.release);
	if ((err = open_part(w)))
		goto fail;
	return w;
fail:
	if (w->fd >= 0)
		close(w->fd);
	ZSTD_freeCCtx(w->cz);
	free(w->ct);
	free(w->out);
	free(w->in);
	free(w->path);
	free(w);
	errno = -err;
	return NULL;
}

/* Hand the gathered records to zstd; with ZSTD_e_end, end the frame and write it all. */
static int compress(struct capture_writer *w, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer ib = {w->in, w->in_len, 0};
	size_t left;

	do {
		ZSTD_outBuffer ob = {w->out, w->out_cap, 0};

		left = ZSTD_compressStream2(w->cz, &ob, &ib, mode);
		if (ZSTD_isError(left)) {
			log_error("capture %s: zstd: %s", w->path, ZSTD_getErrorName(left));
			return w->err = -EIO;
		}
		if (ob.pos && write_all(w, w->out, ob.pos))
			return w->err;
	} while (mode == ZSTD_e_end ? left != 0 : ib.pos < ib.size);
	w->in_len = 0;
	return 0;
}

static int rotate(struct capture_writer *w)
{
	close(w->fd);
	w->fd = -1;
	w->part++;
	return open_part(w);
}

static int end_frame(struct capture_writer *w)
{
	int err;

	if (!w->frame_start)
		return 0;
	err = compress(w, ZSTD_e_end);
	w->frame_start = 0;
	w->frame_bytes = 0;
	if (!err && w->o.max_bytes && w->file_bytes >= w->o.max_bytes)
		err = rotate(w);
	return err;
}

static int append(struct capture_writer *w, unsigned kind, const void *a, size_t alen,
		  const void *b, size_t blen)
{
	size_t len = alen + blen, total = REC_HDR + ROUND8(len);
	uint16_t k = (uint16_t)kind, flags = 0;
	uint32_t l32 = (uint32_t)len;
	uint8_t *p;

	if (w->err)
		return w->err;
	if (len > CAPTURE_MAX_RECORD)
		return -E2BIG;
	if (w->in_len + total > W_IN_CAP && compress(w, ZSTD_e_continue))
		return w->err;
	if (!w->frame_start)
		w->frame_start = clock_mono_ns();
	p = w->in + w->in_len;
	memcpy(p, &k, 2);
	memcpy(p + 2, &flags, 2);
	memcpy(p + 4, &l32, 4);
	memcpy(p + REC_HDR, a, alen);
	if (blen)
		memcpy(p + REC_HDR + alen, b, blen);
	memset(p + REC_HDR + len, 0, total - REC_HDR - len);
	w->in_len += total;
	w->frame_bytes += total;
	w->st.raw_bytes += total;
	if (w->frame_bytes >= CAPTURE_FRAME_BYTES)
		return end_frame(w);
	return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t container_sig(const struct container_info *c)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv(h, c->id, strlen(c->id) + 1);
	h = fnv(h, c->name, strlen(c->name) + 1);
	h = fnv(h, c->image, strlen(c->image) + 1);
	h = fnv(h, c->state, strlen(c->state) + 1);
	h = fnv(h, c->health, strlen(c->health) + 1);
	h = fnv(h, &c->pid, sizeof(c->pid));
	return h | 1;
}

static struct w_slot *ct_slot(struct capture_writer *w, uint64_t cgid)
{
	size_t i = (size_t)(cgid * 0x9e3779b97f4a7c15ULL) & (w->ct_cap - 1);

	while (w->ct[i].cgid && w->ct[i].cgid != cgid)
		i = (i + 1) & (w->ct_cap - 1);
	return &w->ct[i];
}

/* Make room for one more cgroup (the table stays at most half full). */
static int ct_grow(struct capture_writer *w)
{
	struct w_slot *old = w->ct;
	size_t cap = w->ct_cap;

	if ((w->ct_n + 1) * 2 <= w->ct_cap)
		return 0;
	w->ct = calloc(cap * 2, sizeof(*w->ct));
	if (!w->ct) {
		w->ct = old;
		return -ENOMEM;
	}
	w->ct_cap = cap * 2;
	for (size_t i = 0; i < cap; i++)
		if (old[i].cgid)
			*ct_slot(w, old[i].cgid) = old[i];
	free(old);
	return 0;
}

static int write_container(struct capture_writer *w, uint64_t cgid, const struct container_info *c)
{
	size_t jlen = 0;
	char *js = c ? capture_container_json(c, &jlen) : NULL;
	int err;

	if (c && !js)
		return -ENOMEM;
	err = append(w, CAPTURE_REC_CONTAINER, &cgid, sizeof(cgid), js, jlen);
	free(js);
	if (!err)
		w->st.containers++;
	return err;
}

int capture_write_event(struct capture_writer *w, const void *data, size_t len,
			const struct container_info *c)
{
	uint64_t cgid = 0;
	int err;

	if (len >= offsetof(struct moat_event_hdr, cgroup_id) + 8)
		memcpy(&cgid, (const uint8_t *)data + offsetof(struct moat_event_hdr, cgroup_id),
		       8);
	if (cgid) {
		struct w_slot *s = ct_slot(w, cgid);
		uint64_t sig = c ? container_sig(c) : 0;

		if (!s->cgid && c) {
			if ((err = ct_grow(w)))
				return err;
			s = ct_slot(w, cgid);
			s->cgid = cgid;
			w->ct_n++;
			s->sig = 0;
			if ((err = write_container(w, cgid, c)))
				return err;
			s->sig = sig;
		} else if (s->cgid && s->sig != sig) {
			if ((err = write_container(w, cgid, c)))
				return err;
			s->sig = sig;
		}
	}
	err = append(w, CAPTURE_REC_EVENT, data, len, NULL, 0);
	if (!err)
		w->st.events++;
	return err;
}

int capture_writer_tick(struct capture_writer *w, int64_t now)
{
	int err = 0;

	if (w->err)
		return w->err;
	if (w->frame_start && now - w->frame_start >= CAPTURE_FRAME_NS)
		err = end_frame(w);
	if (!err && w->o.max_ns && now - w->file_start >= w->o.max_ns) {
		err = end_frame(w);
		/* end_frame may have rotated for size already. */
		if (!err && now - w->file_start >= w->o.max_ns)
			err = rotate(w);
	}
	return err;
}

void capture_writer_stats(const struct capture_writer *w, struct capture_stats *st)
{
	*st = w->st;
}

int capture_writer_close(struct capture_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = w->err ? w->err : end_frame(w);
	if (w->fd >= 0 && close(w->fd) && !err)
		err = -errno;
	ZSTD_freeCCtx(w->cz);
	free(w->ct);
	free(w->out);
	free(w->in);
	free(w->path);
	free(w);
	return err;
}

/* ===================================== containers ===================================== */

static void put_s(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

char *capture_container_json(const struct container_info *c, size_t *len)
{
	json_object *o = json_object_new_object(), *a, *nets;
	char *s;

	put_s(o, "id", c->id);
	put_s(o, "name", c->name);
	put_s(o, "image", c->image);
	put_s(o, "image_id", c->image_id);
	json_object_object_add(o, "pid", json_object_new_int(c->pid));
	json_object_object_add(o, "cgroup_id", json_object_new_uint64(c->cgroup_id));
	put_s(o, "cgroup", c->cgroup);
	put_s(o, "state", c->state);
	put_s(o, "health", c->health);
	json_object_object_add(o, "exit_code", json_object_new_int(c->exit_code));
	json_object_object_add(o, "started_at", json_object_new_int64(c->started_at));
	json_object_object_add(o, "labels",
			       c->labels ? json_object_get(c->labels) : json_object_new_object());
	json_object_object_add(o, "image_labels",
			       c->image_labels ? json_object_get(c->image_labels) : NULL);
	a = json_object_new_array();
	for (int i = 0; i < c->argc && c->argv && c->argv[i]; i++)
		json_object_array_add(a, json_object_new_string(c->argv[i]));
	json_object_object_add(o, "argv", a);
	put_s(o, "health_cmd", c->health_cmd);
	json_object_object_add(o, "tty", json_object_new_boolean(c->tty));
	nets = json_object_new_array();
	for (int i = 0; i < c->n_nets && i < DOCKER_MAX_NETWORKS; i++) {
		json_object *n = json_object_new_object();

		put_s(n, "name", c->nets[i].name);
		put_s(n, "ipv4", c->nets[i].ipv4);
		put_s(n, "gw4", c->nets[i].gw4);
		put_s(n, "ipv6", c->nets[i].ipv6);
		put_s(n, "gw6", c->nets[i].gw6);
		put_s(n, "mac", c->nets[i].mac);
		json_object_array_add(nets, n);
	}
	json_object_object_add(o, "nets", nets);
	a = json_object_new_array();
	for (int i = 0; i < c->n_dns && i < DOCKER_MAX_DNS; i++)
		json_object_array_add(a, json_object_new_string(c->dns[i]));
	json_object_object_add(o, "dns", a);
	json_object_object_add(o, "mem_limit", json_object_new_int64(c->mem_limit));
	json_object_object_add(o, "pids_limit", json_object_new_int64(c->pids_limit));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	if (s)
		*len = strlen(s);
	return s;
}

static void get_s(json_object *o, const char *k, char *buf, size_t len)
{
	json_object *v;

	buf[0] = 0;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(v));
}

static int64_t get_i(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_int)
		   ? json_object_get_int64(v)
		   : 0;
}

static json_object *get_t(json_object *o, const char *k, json_type t)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, t) ? v : NULL;
}

/* A new object with the string members of src only (labels are strings; anything else in
 * a hostile capture is dropped). */
static json_object *string_members(json_object *src)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_foreach(src, k, v)
	{
		if (json_object_is_type(v, json_type_string))
			json_object_object_add(o, k, json_object_get(v));
	}
	return o;
}

int capture_container_parse(const char *js, size_t len, struct container_info *c)
{
	json_tokener *tok = json_tokener_new();
	json_object *o, *v;
	const char *argv[256];
	int n = 0;

	memset(c, 0, sizeof(*c));
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, js, (int)len);
	if (o && tok->char_offset != (int)len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	get_s(o, "id", c->id, sizeof(c->id));
	get_s(o, "name", c->name, sizeof(c->name));
	get_s(o, "image", c->image, sizeof(c->image));
	get_s(o, "image_id", c->image_id, sizeof(c->image_id));
	c->pid = (int)get_i(o, "pid");
	c->cgroup_id = (uint64_t)get_i(o, "cgroup_id");
	get_s(o, "cgroup", c->cgroup, sizeof(c->cgroup));
	get_s(o, "state", c->state, sizeof(c->state));
	get_s(o, "health", c->health, sizeof(c->health));
	c->exit_code = (int)get_i(o, "exit_code");
	c->started_at = get_i(o, "started_at");
	get_s(o, "health_cmd", c->health_cmd, sizeof(c->health_cmd));
	c->tty = (v = get_t(o, "tty", json_type_boolean)) && json_object_get_boolean(v);
	c->mem_limit = get_i(o, "mem_limit");
	c->pids_limit = get_i(o, "pids_limit");
	v = get_t(o, "labels", json_type_object);
	c->labels = v ? string_members(v) : json_object_new_object();
	if ((v = get_t(o, "image_labels", json_type_object)))
		c->image_labels = string_members(v);
	if ((v = get_t(o, "argv", json_type_array)))
		for (size_t i = 0; i < json_object_array_length(v) && n < 256; i++) {
			json_object *e = json_object_array_get_idx(v, i);

			if (json_object_is_type(e, json_type_string))
				argv[n++] = json_object_get_string(e);
		}
	c->argv = container_argv_dup(argv, n);
	c->argc = n;
	if ((v = get_t(o, "nets", json_type_array)))
		for (size_t i = 0;
		     i < json_object_array_length(v) && c->n_nets < DOCKER_MAX_NETWORKS; i++) {
			json_object *e = json_object_array_get_idx(v, i);
			struct container_net *cn = &c->nets[c->n_nets];

			if (!json_object_is_type(e, json_type_object))
				continue;
			get_s(e, "name", cn->name, sizeof(cn->name));
			get_s(e, "ipv4", cn->ipv4, sizeof(cn->ipv4));
			get_s(e, "gw4", cn->gw4, sizeof(cn->gw4));
			get_s(e, "ipv6", cn->ipv6, sizeof(cn->ipv6));
			get_s(e, "gw6", cn->gw6, sizeof(cn->gw6));
			get_s(e, "mac", cn->mac, sizeof(cn->mac));
			c->n_nets++;
		}
	if ((v = get_t(o, "dns", json_type_array)))
		for (size_t i = 0; i < json_object_array_length(v) && c->n_dns < DOCKER_MAX_DNS;
		     i++) {
			json_object *e = json_object_array_get_idx(v, i);

			if (json_object_is_type(e, json_type_string))
				snprintf(c->dns[c->n_dns++], sizeof(c->dns[0]), "%s",
					 json_object_get_string(e));
		}
	json_object_put(o);
	if (!c->labels || !c->argv) {
		container_info_clear(c);
		return -ENOMEM;
	}
	return 0;
}

/* ===================================== reading ===================================== */

struct r_slot {
	uint64_t cgid;		  /* 0: free */
	struct container_info *c; /* NULL: the cgroup has no container (now) */
};

struct capture_reader {
	FILE *f;
	int own;
	char name[512];
	struct capture_header h;
	ZSTD_DCtx *dz;
	uint8_t in[R_IN_CAP];
	size_t in_pos, in_len;
	uint64_t in_off; /* file offset of in[0] */
	int eof;
	uint8_t *out; /* 8-aligned */
	size_t out_pos, out_len, out_cap;
	uint64_t frame_off; /* file offset of the frame being read */
	uint64_t out_base;  /* decompressed offset in the frame of out[0] */
	int in_frame, frame_done, skipping;
	uint64_t errors;
	struct r_slot *ct;
	size_t ct_n;
	int ct_full_warned;
};

static void rerr(struct capture_reader *r, uint64_t off, const char *fmt, const char *what)
{
	r->errors++;
	log_warn("capture %s: offset %llu: %s%s; skipped to the next frame", r->name,
		 (unsigned long long)off, fmt, what ? what : "");
}

static int read_header(struct capture_reader *r)
{
	uint8_t fixed[16];
	uint16_t v;
	uint32_t jlen;
	char *js;
	json_tokener *tok;
	json_object *o;

	if (fread(fixed, 1, 16, r->f) != 16 || memcmp(fixed, CAPTURE_MAGIC, 8)) {
		log_error("capture %s: offset 0: not a moat capture file (no MOATCAP magic)",
			  r->name);
		return -EINVAL;
	}
	memcpy(&v, fixed + 8, 2);
	memcpy(&jlen, fixed + 12, 4);
	if (v == 0 || v > CAPTURE_VERSION) {
		log_error(
		    "capture %s: offset 8: format version %u; this moat reads versions 1 to %u "
		    "(written by a newer moat? upgrade moat to read it)",
		    r->name, v, CAPTURE_VERSION);
		return v ? -ENOTSUP : -EINVAL;
	}
	if (jlen == 0 || jlen > CAPTURE_MAX_HEADER) {
		log_error("capture %s: offset 12: header length %u is not 1 to %u bytes", r->name,
			  jlen, CAPTURE_MAX_HEADER);
		return -EINVAL;
	}
	js = malloc(jlen);
	if (!js)
		return -ENOMEM;
	if (fread(js, 1, jlen, r->f) != jlen) {
		free(js);
		log_error("capture %s: offset 16: the header ends early (truncated file)", r->name);
		return -EINVAL;
	}
	tok = json_tokener_new();
	o = tok ? json_tokener_parse_ex(tok, js, (int)jlen) : NULL;
	if (o && tok->char_offset != (int)jlen) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	free(js);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		log_error("capture %s: offset 16: the header is not a JSON object", r->name);
		return -EINVAL;
	}
	r->h.version = v;
	get_s(o, "moat_version", r->h.moat_version, sizeof(r->h.moat_version));
	get_s(o, "kernel", r->h.kernel, sizeof(r->h.kernel));
	get_s(o, "host_id", r->h.host_id, sizeof(r->h.host_id));
	get_s(o, "boot_id", r->h.boot_id, sizeof(r->h.boot_id));
	r->h.boot_to_unix_ns = get_i(o, "boot_to_unix_ns");
	r->h.created_ns = get_i(o, "created_ns");
	r->h.part = (unsigned)get_i(o, "part");
	{
		char bo[16];

		get_s(o, "byte_order", bo, sizeof(bo));
		json_object_put(o);
		if (bo[0] && strcmp(bo, "little")) {
			log_error(
			    "capture %s: offset 16: written on a %s-endian host; this moat reads "
			    "little-endian captures only",
			    r->name, bo);
			return -ENOTSUP;
		}
	}
	r->in_off = 16 + jlen;
	return 0;
}

struct capture_reader *capture_open_file(FILE *f, const char *name)
{
	struct capture_reader *r = calloc(1, sizeof(*r));
	int err = -ENOMEM;

	if (!r)
		return NULL;
	r->f = f;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->out_cap = REC_HDR + CAPTURE_MAX_RECORD + 8 + R_OUT_SLACK;
	r->out = aligned_alloc(8, r->out_cap);
	r->ct = calloc(CT_SLOTS, sizeof(*r->ct));
	r->dz = ZSTD_createDCtx();
	if (!r->out || !r->ct || !r->dz)
		goto fail;
	/* A decompression bomb's frame asks for a window larger than any writer uses. */
	ZSTD_DCtx_setParameter(r->dz, ZSTD_d_windowLogMax, CAPTURE_WINDOW_LOG_MAX);
	if ((err = read_header(r)))
		goto fail;
	return r;
fail:
	r->f = NULL;
	capture_close(r);
	errno = -err;
	return NULL;
}

struct capture_reader *capture_open(const char *path)
{
	FILE *f = fopen(path, "rbe");
	struct capture_reader *r;
	int err;

	if (!f) {
		err = errno;
		log_error("cannot open capture %s: %s", path, strerror(errno));
		errno = err;
		return NULL;
	}
	r = capture_open_file(f, path);
	if (!r) {
		err = errno;
		fclose(f);
		errno = err;
		return NULL;
	}
	r->own = 1;
	return r;
}

const struct capture_header *capture_get_header(const struct capture_reader *r)
{
	return &r->h;
}

uint64_t capture_errors(const struct capture_reader *r)
{
	return r->errors;
}

static struct r_slot *r_slot(struct capture_reader *r, uint64_t cgid)
{
	size_t i = (size_t)(cgid * 0x9e3779b97f4a7c15ULL) & (CT_SLOTS - 1);

	while (r->ct[i].cgid && r->ct[i].cgid != cgid)
		i = (i + 1) & (CT_SLOTS - 1);
	return &r->ct[i];
}

static const struct container_info *ct_lookup(struct capture_reader *r, uint64_t cgid)
{
	struct r_slot *s = cgid ? r_slot(r, cgid) : NULL;

	return s && s->cgid ? s->c : NULL;
}

/* A container record: the cgroup's container from now on. */
static void apply_container(struct capture_reader *r, const uint8_t *p, size_t len, uint64_t off,
			    struct capture_record *rec)
{
	struct container_info *c = NULL;
	struct r_slot *s;
	uint64_t cgid;

	if (len < 8) {
		rerr(r, off, "container record shorter than its cgroup id", NULL);
		return;
	}
	memcpy(&cgid, p, 8);
	rec->cgroup_id = cgid;
	if (!cgid)
		return;
	if (len > 8) {
		c = malloc(sizeof(*c));
		if (!c)
			return;
		if (capture_container_parse((const char *)p + 8, len - 8, c)) {
			free(c);
			r->errors++;
			log_warn("capture %s: offset %llu: container record for cgroup %llu is not "
				 "valid JSON; its events show no container",
				 r->name, (unsigned long long)off, (unsigned long long)cgid);
			c = NULL;
		}
	}
	s = r_slot(r, cgid);
	if (!s->cgid) {
		if (r->ct_n >= CAPTURE_MAX_CONTAINERS) {
			if (!r->ct_full_warned++)
				log_warn(
				    "capture %s: offset %llu: more than %d containers; the events "
				    "of the rest show no container",
				    r->name, (unsigned long long)off, CAPTURE_MAX_CONTAINERS);
			if (c) {
				container_info_clear(c);
				free(c);
			}
			return;
		}
		s->cgid = cgid;
		r->ct_n++;
	}
	if (s->c) {
		container_info_clear(s->c);
		free(s->c);
	}
	s->c = c;
	rec->container = c;
}

/* Decompress more into out. Returns 1 when something came (or a frame ended), 0 at the end
 * of the file. */
static int fill(struct capture_reader *r)
{
	for (;;) {
		ZSTD_inBuffer ib;
		ZSTD_outBuffer ob;
		size_t ret, before = r->out_len;

		if (r->in_pos == r->in_len) {
			size_t keep = 0;

			if (r->eof)
				return 0;
			if (r->skipping && r->in_len >= 3) /* a magic may straddle reads */
				keep = 3;
			memmove(r->in, r->in + r->in_len - keep, keep);
			r->in_off += r->in_len - keep;
			r->in_len = keep + fread(r->in + keep, 1, R_IN_CAP - keep, r->f);
			r->in_pos = keep;
			if (r->in_len == keep) {
				r->eof = 1;
				if (r->in_frame && !r->skipping)
					rerr(r, r->frame_off,
					     "the last frame is cut short (truncated "
					     "file, or a capture still being written)",
					     NULL);
				r->in_frame = 0;
				return 0;
			}
		}
		if (r->skipping) {
			uint8_t *m =
			    memmem(r->in + r->in_pos, r->in_len - r->in_pos, ZSTD_MAGIC_BYTES, 4);

			if (!m) {
				r->in_pos = r->in_len;
				continue;
			}
			r->in_pos = (size_t)(m - r->in);
			r->skipping = 0;
			ZSTD_DCtx_reset(r->dz, ZSTD_reset_session_only);
		}
		if (!r->in_frame) {
			r->in_frame = 1;
			r->frame_done = 0;
			r->frame_off = r->in_off + r->in_pos;
			r->out_base = 0;
		}
		ib = (ZSTD_inBuffer){r->in, r->in_len, r->in_pos};
		ob = (ZSTD_outBuffer){r->out, r->out_cap, r->out_len};
		ret = ZSTD_decompressStream(r->dz, &ob, &ib);
		r->in_pos = ib.pos;
		r->out_len = ob.pos;
		if (ZSTD_isError(ret)) {
			uint64_t at = r->frame_off;

			rerr(r, at, "damaged zstd frame: ", ZSTD_getErrorName(ret));
			r->out_len = r->out_pos = 0;
			r->in_frame = 0;
			r->skipping = 1;
			/* Look for the next frame from just after this one's start. */
			if (at >= r->in_off && at < r->in_off + r->in_len)
				r->in_pos = (size_t)(at - r->in_off) + 1;
			continue;
		}
		if (ret == 0) {
			r->in_frame = 0;
			r->frame_done = 1;
			return 1;
		}
		if (r->out_len > before)
			return 1;
	}
}

int capture_next(struct capture_reader *r, struct capture_record *rec)
{
	for (;;) {
		size_t avail = r->out_len - r->out_pos;

		if (avail >= REC_HDR) {
			uint8_t *p = r->out + r->out_pos;
			uint64_t off = r->frame_off;
			uint16_t kind;
			uint32_t len;
			size_t total;

			memcpy(&kind, p, 2);
			memcpy(&len, p + 4, 4);
			if (len > CAPTURE_MAX_RECORD) {
				char what[96];

				snprintf(
				    what, sizeof(what),
				    "record %llu bytes into the frame claims %u bytes (limit %u)",
				    (unsigned long long)(r->out_base + r->out_pos), len,
				    CAPTURE_MAX_RECORD);
				rerr(r, off, what, NULL);
				r->out_len = r->out_pos = 0;
				if (r->in_frame) {
					r->in_frame = 0;
					r->skipping = 1;
				}
				continue;
			}
			total = REC_HDR + ROUND8(len);
			if (avail >= total) {
				r->out_pos += total;
				memset(rec, 0, sizeof(*rec));
				rec->kind = kind;
				rec->data = p + REC_HDR;
				rec->len = len;
				rec->offset = off;
				if (kind == CAPTURE_REC_EVENT) {
					if (len >= offsetof(struct moat_event_hdr, cgroup_id) + 8)
						memcpy(
						    &rec->cgroup_id,
						    p + REC_HDR +
							offsetof(struct moat_event_hdr, cgroup_id),
						    8);
					rec->container = ct_lookup(r, rec->cgroup_id);
					return 1;
				}
				if (kind == CAPTURE_REC_CONTAINER) {
					apply_container(r, p + REC_HDR, len, off, rec);
					return 1;
				}
				continue; /* a kind from a newer moat: skipped */
			}
		}
		/* A partial record: a finished frame cannot complete it. */
		if (r->frame_done && avail) {
			char what[96];

			snprintf(what, sizeof(what),
				 "a record %llu bytes into the frame is cut by its end",
				 (unsigned long long)(r->out_base + r->out_pos));
			rerr(r, r->frame_off, what, NULL);
			r->out_pos = r->out_len = 0;
		}
		if (r->frame_done) {
			r->frame_done = 0;
			r->out_pos = r->out_len = 0;
		}
		if (r->out_pos) {
			memmove(r->out, r->out + r->out_pos, r->out_len - r->out_pos);
			r->out_base += r->out_pos;
			r->out_len -= r->out_pos;
			r->out_pos = 0;
		}
		if (!fill(r)) {
			if (r->out_len) {
				rerr(r, r->frame_off, "the file ends inside a record", NULL);
				r->out_len = 0;
			}
			return 0;
		}
	}
}

void capture_close(struct capture_reader *r)
{
	if (!r)
		return;
	if (r->ct)
		for (size_t i = 0; i < CT_SLOTS; i++)
			if (r->ct[i].c) {
				container_info_clear(r->ct[i].c);
				free(r->ct[i].c);
			}
	free(r->ct);
	free(r->out);
	ZSTD_freeDCtx(r->dz);
	if (r->own && r->f)
		fclose(r->f);
	free(r);
}
