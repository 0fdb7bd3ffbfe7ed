/* logwatch.h - the log pattern scanner in moat run: every running container whose logs are
 * to be scanned (config "logs", its containers entry, its policy) has one stream on the
 * log reader (dockerlogs.h); its lines are scanned on that thread (detect_logs.h) and
 * what passes the rate limit comes to the event loop through a pipe, as `log-pattern` /
 * `log-flood` alerts that run the container's policy like any other. */
#ifndef MOAT_LOGWATCH_H
#define MOAT_LOGWATCH_H

#include <stdint.h>
#include <json-c/json.h>

struct daemon;
struct container_info;
struct logwatch;

/* Start the reader thread and the pipe (nothing is followed yet). Returns 0 or -errno
 * (logged). It starts even with "logs": {"enabled": false} (then it follows nothing), so
 * that a reload can turn the scanner on. */
int logwatch_start(struct daemon *d);
void logwatch_stop(struct daemon *d);

/* The pipe to poll (EPOLLIN), -1 when not started. */
int logwatch_fd(const struct daemon *d);

/* Follow container c from since_ns (Unix ns; 0: now) when its logs are to be scanned and it
 * runs (since_ns nonzero: it has just started, whatever its state now); stop following it
 * otherwise. A container already followed gets the current rules
 * without a gap (its rate limits carry over). */
void logwatch_apply(struct daemon *d, const struct container_info *c, int64_t since_ns);

/* Every container again (after a reload, a policy change or a Docker reconnect): rules are
 * rebuilt from the configuration and the policies. */
void logwatch_apply_all(struct daemon *d);

/* Stop following container id (it died or was removed). */
void logwatch_forget(struct daemon *d, const char *id);

/* The pipe is readable: alert on what the reader found. */
void logwatch_on_ready(struct daemon *d);

/* {"streams", "lines", "bytes", "bad_frames", "errors", "hits_dropped"} for moat status, or
 * NULL when not started. */
json_object *logwatch_status(const struct daemon *d);

#endif /* MOAT_LOGWATCH_H */
