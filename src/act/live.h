/* live.h - the live feed: what moat run publishes for the dashboard's WebSocket stream
 * (alerts, egress decisions, prompts, container state changes, stats samples), kept in a
 * bounded ring of numbered messages so that a reader that reconnects resumes after the last
 * message it saw, and a reader that fell too far behind learns what it missed.
 *
 * Every message is one JSON object {"seq":N,"time":"RFC 3339 UTC","type":T,"data":{...}};
 * seq starts at 1 and grows by one per message. The types and their data are documented in
 * docs/api.md ("The live stream"). Publishing takes one mutex for a copy and never waits
 * for a reader; readers copy messages out and never hold the lock while they send. */
#ifndef MOAT_LIVE_H
#define MOAT_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define LIVE_MAX_MSGS  8192	  /* messages kept for readers that resume */
#define LIVE_MAX_BYTES (8u << 20) /* and at most this many bytes of them */
#define LIVE_MAX_MSG   65536	  /* a longer one becomes type "truncated", data {type,bytes} */

struct live;

struct live_stats {
	uint64_t published; /* messages published (the last seq) */
	uint64_t oldest;    /* the oldest seq still kept (0: none yet) */
	uint64_t n_kept, bytes_kept;
	uint64_t dropped_nomem; /* publications lost to ENOMEM */
};

/* A feed keeping max_msgs messages and max_bytes of them (0: the defaults). NULL on ENOMEM. */
struct live *live_new(size_t max_msgs, size_t max_bytes);
void live_free(struct live *l);

/* Publish a message of type (a static string) with data (taken; NULL: {}). Safe from any
 * thread. Returns its seq, or 0 when it was lost (ENOMEM; counted). l NULL: data is freed
 * and 0 returned, so callers need not check whether the dashboard is on. */
uint64_t live_publish(struct live *l, const char *type, json_object *data);

/* live_publish with data already serialized: dlen bytes of one JSON value at ds (copied;
 * NULL: {}), for a caller that has the text anyway (the access log's line). */
uint64_t live_publish_text(struct live *l, const char *type, const char *ds, size_t dlen);

/* The first message after seq `after`: copied into *msg (malloc'd, NUL-terminated, caller
 * frees) with its seq in *seq. Returns 0; -EAGAIN when there is none yet; -ERANGE when
 * messages after `after` are no longer kept (the reader missed them: *seq is set to the
 * oldest kept seq - 1, from which it may go on). */
int live_next(struct live *l, uint64_t after, char **msg, uint64_t *seq);

/* Wait up to timeout_ms for a message after seq `after`. Returns 1 when there is one, 0 on
 * timeout, also returns early (0) after live_wake. */
int live_wait(struct live *l, uint64_t after, int timeout_ms);

/* Wake every live_wait (shutdown). */
void live_wake(struct live *l);

void live_get_stats(struct live *l, struct live_stats *st);

#endif /* MOAT_LIVE_H */
