/* capture.h - capture files (`moat trace --record`, `moat replay`): the kernel's events as the
 * ring buffer held them, with the containers they belong to, zstd-compressed, and read back.
 *
 * The format is in docs/events.md ("Capture files"): an uncompressed header (magic, format
 * version, a JSON object: moat version, kernel, host id, boot id, the boot-to-Unix clock
 * offset, the event ABI's struct sizes), then zstd frames holding records (8-byte header:
 * kind, flags, payload length; payload padded to 8 bytes). A frame ends at least every second,
 * so a crash loses at most the last second and a reader of a live file sees recent data.
 *
 * The reader treats a capture as hostile: every length is bounded, the zstd window is capped,
 * a bad record or frame is reported with the file and offset and skipped up to the next frame,
 * and the container table has a bounded size. */
#ifndef MOAT_CAPTURE_H
#define MOAT_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "container.h"

#define CAPTURE_MAGIC	       "MOATCAP\0"  /* 8 bytes at offset 0 */
#define CAPTURE_VERSION	       1	    /* the format version this moat writes and reads */
#define CAPTURE_MAX_HEADER     65536	    /* bytes of header JSON a reader accepts */
#define CAPTURE_MAX_RECORD     65536	    /* payload bytes of one record a reader accepts */
#define CAPTURE_MAX_CONTAINERS 4096	    /* cgroups with a container a reader keeps */
#define CAPTURE_WINDOW_LOG_MAX 23	    /* zstd window a reader accepts: 8 MiB */
#define CAPTURE_FRAME_NS       1000000000LL /* a frame ends at least this often */
#define CAPTURE_FRAME_BYTES    (4u << 20)   /* ... or after this many record bytes */

/* Record kinds. Explicit values, only ever grow; a reader skips kinds it does not know. */
enum capture_kind {
	CAPTURE_REC_EVENT = 1,	   /* one ring buffer record, exactly as the kernel wrote it */
	CAPTURE_REC_CONTAINER = 2, /* __u64 cgroup id, then the container as JSON ("" = none) */
};

/* --- writing ------------------------------------------------------------------------- */

struct capture_opts {
	const char *path;	 /* the first file; rotation adds .1, .2, ... */
	uint64_t max_bytes;	 /* rotate when a file reaches this size (0: never) */
	int64_t max_ns;		 /* rotate when a file is this old (0: never) */
	const char *host_id;	 /* NULL: /etc/machine-id */
	int64_t boot_to_unix_ns; /* the offset the events' times are printed with */
	int level;		 /* zstd level; 0: 1 (cheap) */
};

struct capture_writer;

/* Create path (truncating it) and write its header. Returns the writer, or NULL with errno
 * set after logging what failed (the path and why). capture_writer_close frees it. */
struct capture_writer *capture_writer_open(const struct capture_opts *o);

/* Append the ring buffer record data (len bytes) and, when the container of its cgroup is new
 * to this file or changed (id, name, image, state, health, pid), a container record first.
 * c is the container the event belongs to, NULL for none. Returns 0 or -errno (a write
 * failure: the capture stops growing; the caller reports it once). */
int capture_write_event(struct capture_writer *w, const void *data, size_t len,
			const struct container_info *c);

/* Call at least every second (mono_ns: clock_mono_ns()): ends the frame when it is a second
 * old, rotates when the file is too large or too old. Returns 0 or -errno. */
int capture_writer_tick(struct capture_writer *w, int64_t mono_ns);

/* End the frame, close the file, free w. Returns 0 or -errno of the last write. */
int capture_writer_close(struct capture_writer *w);

/* Counters (for the bench and the end-of-trace summary). */
struct capture_stats {
	uint64_t events, containers, raw_bytes, file_bytes, files;
};
void capture_writer_stats(const struct capture_writer *w, struct capture_stats *st);

/* --record-size and --record-time: "100M" (bytes; K, M, G: powers of 1024), "1h" (s, m, h, d;
 * a bare number is seconds). Return 0, or -EINVAL for anything else (zero, negative, junk,
 * overflow). */
int capture_parse_size(const char *s, uint64_t *out);
int capture_parse_duration(const char *s, int64_t *out_ns);

/* The name of rotated part n of path: n = 0 is path itself, then "path.1", "path.2", ... */
int capture_part_name(const char *path, unsigned n, char *buf, size_t len);

/* --- reading ------------------------------------------------------------------------- */

/* What the header says. Strings are NUL-terminated, "" when absent. */
struct capture_header {
	unsigned version;
	char moat_version[32];
	char kernel[128];
	char host_id[128];
	char boot_id[64];
	int64_t boot_to_unix_ns;
	int64_t created_ns; /* Unix ns when the file was started */
	unsigned part;	    /* 0 for the first file of a recording, then 1, 2, ... */
};

/* One record. data stays valid until the next capture_next; container is the reader's copy
 * of the container of the event's cgroup (NULL: none), valid until the next call too. */
struct capture_record {
	unsigned kind;	  /* enum capture_kind */
	const void *data; /* CAPTURE_REC_EVENT: the ring buffer record, 8-byte aligned */
	size_t len;
	uint64_t cgroup_id; /* CAPTURE_REC_CONTAINER: the cgroup it is for */
	const struct container_info *container;
	uint64_t offset; /* file offset of the frame it came from */
};

struct capture_reader;

/* Open the capture at path and read its header. NULL with errno set, after logging
 * "capture PATH: offset N: what" (EINVAL: not a capture or a bad header; ENOTSUP: a format
 * version newer than this moat reads). */
struct capture_reader *capture_open(const char *path);

/* The same on an open stream (not closed by the reader); name is used in messages. */
struct capture_reader *capture_open_file(FILE *f, const char *name);

const struct capture_header *capture_get_header(const struct capture_reader *r);

/* The next event record (container records are applied to the reader's table and returned
 * too, for tools that want them). Returns 1 with *rec filled, 0 at the end of the file. A
 * damaged stretch (bad frame, bad record, truncated end) is reported once with the file and
 * offset, counted, and skipped; reading goes on at the next frame. Never fails otherwise
 * (-ENOMEM only). */
int capture_next(struct capture_reader *r, struct capture_record *rec);

/* Damaged stretches skipped so far. */
uint64_t capture_errors(const struct capture_reader *r);

void capture_close(struct capture_reader *r);

/* The container record's JSON (exported for tests and tools). */
char *capture_container_json(const struct container_info *c, size_t *len);
int capture_container_parse(const char *js, size_t len, struct container_info *out);

#endif /* MOAT_CAPTURE_H */
