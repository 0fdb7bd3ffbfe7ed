/* export.h - events and alerts to ClickHouse (docs/fleet.md). The event loop hands each
 * exported event or alert to a lock-free ring and never waits; the exporter's thread turns
 * them into rows (JSONEachRow, formatted there), batches them by size and time, and a sender
 * thread INSERTs each batch over ClickHouse's HTTP interface (libcurl). While the server is
 * down or slow, batches wait in a bounded on-disk spool and are sent in order when it is
 * back. Every row carries (host, boot_id, seq), the idempotency key the tables deduplicate
 * on, so a batch sent twice is counted once.
 * export.c: the ring, the rows, the batches, the sender; export_spool.c: the spool;
 * export_schema.c: the CREATE TABLE statements (export_int.h is what they share). */
#ifndef MOAT_EXPORT_H
#define MOAT_EXPORT_H

#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>

#include "alert.h"
#include "config_export.h"
#include "container.h"
#include "moat/events.h"

struct exporter;

/* Start exporting per conf (conf->url must be set). state_dir holds the default spool
 * (<state_dir>/export). The spool's batches of an earlier run are kept and sent first. An
 * unreachable server is not an error here: it is reported once and retried. Threads run under
 * SCHED_OTHER. Returns NULL with errno set when the spool directory cannot be made (logged,
 * naming it) or out of memory. */
struct exporter *export_open(const struct export_config *conf, const char *state_dir);

/* Hand event h (len bytes, checked by event_decode) to the exporter, if its type is
 * exported. c: its container or NULL; domain: the name that explains a connect's address or
 * NULL; offset_ns: boot clock to Unix time. Copies what it needs into the ring and returns at
 * once: never a lock, a syscall or an allocation. A full ring drops the event (counted per
 * type). One thread only (the event loop). */
void export_event(struct exporter *x, const struct moat_event_hdr *h, size_t len,
		  const struct container_info *c, const char *domain, int64_t offset_ns);

/* Hand alert a to the exporter (the same contract; the alert's JSON is made here, as the
 * outputs do: alerts are rare next to events). */
void export_alert(struct exporter *x, const struct alert *a);

/* Whether events of type t are exported (cheap; the loop asks before doing work for one). */
int export_wants(const struct exporter *x, unsigned type);

/* {"url", "host", "state", "rows_sent", "batches_sent", "failed_inserts", "spool_files",
 * "spool_bytes", "queued", "dropped_queue": {type: n}, "dropped_spool": {type: n, "alerts": n},
 * "corrupt_batches", ...} for moat status. A new reference. */
json_object *export_status(struct exporter *x);

/* Wait up to timeout_ms until everything handed over so far is in ClickHouse (tests and
 * benchmarks). 0, or -ETIMEDOUT. */
int export_flush(struct exporter *x, int timeout_ms);

/* Stop: what is in the ring and the open batches is given up to 2 s to reach the server,
 * then written to the spool for the next start. NULL is fine. */
void export_close(struct exporter *x);

/* Print the CREATE TABLE statements of conf's tables (the database's name included) for
 * ClickHouse 18.16 and later. cluster: NULL for one server, else the cluster's name: local
 * tables ON CLUSTER plus Distributed tables under the configured names. */
void export_schema_print(FILE *out, const struct export_config *conf, const char *cluster);

#endif /* MOAT_EXPORT_H */
