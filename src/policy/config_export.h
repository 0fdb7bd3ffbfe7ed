/* config_export.h - the "export" section of the configuration: shipping events and alerts to
 * ClickHouse (docs/fleet.md): the server, which event types, the batch bounds, the host id and
 * the on-disk spool. Plain data: src/act/export.c does the work; config.c calls
 * config_export_parse for the key and --clickhouse sets the URL. */
#ifndef MOAT_CONFIG_EXPORT_H
#define MOAT_CONFIG_EXPORT_H

#include <stdint.h>
#include <json-c/json.h>

#define EXPORT_URL_LEN 1024
/* The event types exported unless "types" says otherwise: everything but the three that
 * come in floods and say least on their own (sendmsg: every UDP datagram; dns_query: the
 * answer carries the question; exit: one per exec). */
#define EXPORT_DEFAULT_TYPES "exec,connect,dns_answer,socket,packet,oom"
/* The types whose batches the spool gives up first when full. */
#define EXPORT_DEFAULT_LOW_VALUE "sendmsg,dns_query,dns_answer,exit"

struct export_config {
	char url[EXPORT_URL_LEN]; /* ClickHouse's HTTP interface, "http(s)://host:8123/"; ""
				     = no export. May hold user:password@ (never logged) */
	char database[64];	  /* default "default" */
	char events_table[64];	  /* default "moat_events" */
	char alerts_table[64];	  /* default "moat_alerts" */
	uint32_t types;		  /* event types exported, 1 << MOAT_EV_* */
	uint32_t low_value;	  /* event types evicted first from a full spool */
	int alerts;		  /* export alerts (default true) */
	char host_id[64];	  /* "" = /etc/machine-id, else the host name */
	uint32_t batch_rows;	  /* a batch is sent at this many rows (default 10000) */
	uint32_t batch_kib;	  /* ... or this many KiB of JSON (default 4096) */
	uint32_t batch_ms;	  /* ... or when its oldest row is this old (default 1000) */
	uint32_t timeout_ms;	  /* one INSERT (default 10000) */
	uint32_t queue_kib;	  /* the ring between the event loop and the exporter (8192) */
	char spool_dir[4096];	  /* "" = <state_dir>/export */
	uint32_t spool_max_mib;	  /* the spool's size cap (default 256) */
};

void export_config_defaults(struct export_config *e);

/* Parse the "export" section (v, an object) of the file named path whose text is text (for
 * line numbers) into e. Each error is logged as "path:line: export: key: reason". Returns
 * the number of errors (e may be partly written: config_load discards it then). */
int config_export_parse(json_object *v, const char *path, const char *text,
			struct export_config *e);

/* Whether url is one the exporter can use: http:// or https://, a host, no spaces or
 * control bytes, shorter than EXPORT_URL_LEN. 0 or -EINVAL. */
int export_url_check(const char *url);

#endif /* MOAT_CONFIG_EXPORT_H */
