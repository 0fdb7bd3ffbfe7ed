/* export_int.h - what the exporter (export.c), its spool (export_spool.c) and its schema
 * (export_schema.c) share; not an API (export.h is). */
#ifndef MOAT_EXPORT_INT_H
#define MOAT_EXPORT_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"

/* Batch classes, most valuable first: a full spool gives up the last class first. */
enum export_class { EXPORT_CLS_ALERTS = 0, EXPORT_CLS_EVENTS, EXPORT_CLS_LOW, EXPORT_CLS_NR };

#define EXPORT_SPOOL_FILE_MAX (80u << 20) /* a longer spool file is not a batch moat wrote */
#define EXPORT_HEADER_MAX     4096	  /* a spool file's first line, at most */

/* One batch of rows for one table: JSONEachRow lines, each ending in '\n'. */
struct export_batch {
	uint64_t id; /* its order: Unix ns when closed, strictly increasing; the spool name */
	int cls;     /* enum export_class */
	char *buf;   /* the rows (owned) */
	size_t len, cap;
	uint32_t rows;
	uint32_t types[MOAT_EV_MAX]; /* rows per event type (events classes) */
	int64_t opened_ns;	     /* CLOCK_MONOTONIC of its first row */
	struct export_batch *next;
};

void export_batch_free(struct export_batch *b);
const char *export_class_name(int cls); /* "alerts", "events", "low" */

/* The spool: one file per batch, <dir>/<id 20 digits>.<class>, a header line then the rows. */
struct export_spool;

/* What the spool gave up, counted since the start. */
struct export_spool_stats {
	uint64_t files, bytes;		   /* in the spool now */
	uint64_t dropped[MOAT_EV_MAX];	   /* event rows given up for space, per type */
	uint64_t dropped_alerts;	   /* alert rows given up for space */
	uint64_t dropped_batches, corrupt; /* batches given up; files refused on reading */
	uint64_t written;		   /* batches written */
};

/* Open (making it, mode 0700) the spool directory dir, capped at max_bytes, and list the
 * batches an earlier run left there (names that are not a batch's are left alone). NULL with
 * errno set (and logged, naming dir) when it cannot be made or read. */
struct export_spool *export_spool_open(const char *dir, uint64_t max_bytes);
void export_spool_close(struct export_spool *s);

/* Write batch b (atomic: a reader sees the whole file or none). Space is made by deleting
 * whole batches: the oldest of the low-value class first, then other events, then alerts,
 * never one of a class more valuable than b's; when that is not enough b itself is given
 * up. Every row given up is counted per type. Returns 0, -ENOSPC when b was given up, or
 * -errno of the write (logged; b is counted as given up). */
int export_spool_write(struct export_spool *s, const struct export_batch *b);

/* The oldest batch, read back as hostile input: a file whose header, length or checksum is
 * wrong is logged with its name, deleted, counted (corrupt) and skipped. 0 with *out (the
 * caller frees it), or -ENOENT when the spool is empty. */
int export_spool_oldest(struct export_spool *s, struct export_batch **out);

/* Delete batch id (sent). */
void export_spool_remove(struct export_spool *s, uint64_t id);

void export_spool_stats(struct export_spool *s, struct export_spool_stats *st);

#endif /* MOAT_EXPORT_INT_H */
