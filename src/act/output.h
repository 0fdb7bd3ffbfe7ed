/* output.h - the alert dispatcher: every alert goes to each configured output whose minimum
 * severity it reaches and whose rate limit lets it through. The terminal line and the
 * JSON-lines file (alertlog) are written at once; webhook, exec, desktop notification and
 * syslog/journald each run on their own thread behind a bounded queue, so the event loop
 * never waits for them. docs/outputs.md is the reference.
 * output.c: the dispatcher and the queues; webhook.c, execout.c, notify.c, journal.c: the
 * outputs (output_int.h is what they share). */
#ifndef MOAT_OUTPUT_H
#define MOAT_OUTPUT_H

#include <json-c/json.h>

#include "alert.h"
#include "config_outputs.h"

/* What the outputs need from their host besides their configuration. */
struct outputs_env {
	const char *alerts_file; /* the JSON-lines file; NULL or "": none */
	int terminal_fd;	 /* the terminal line goes here; -1: none */
	int color_mode;		 /* enum alertlog_color */
	const char *state_dir;	 /* webhook queues live in <state_dir>/outputs/ */
};

struct outputs;

/* Start the outputs: the terminal and the file (present unless conf disables them), then
 * each output of conf (NULL: none) with its thread. An output that cannot work here (no
 * notification service, no syslog socket, a spool that cannot be opened) is reported once,
 * kept with its state in outputs_status, and skipped. Threads run under SCHED_OTHER whatever
 * the caller's policy. Returns NULL with errno set only when out of memory or threads. */
struct outputs *outputs_open(const struct outputs_conf *conf, const struct outputs_env *env);

/* Send a to every output that takes it. Returns at once: the terminal and file writes are
 * one write(2) each, the other outputs get a copy in their queue (a full queue drops the
 * alert there and counts it). Returns 0, or the file's -errno as alertlog_write does. */
int outputs_emit(struct outputs *s, const struct alert *a);

/* Reopen the alert file (SIGHUP, after logrotate). */
void outputs_reopen(struct outputs *s);

/* {"outputs": [...]} for moat status: per output its name, type, min_severity, state and
 * counters (sent, failed, rate_limited, dropped, queued, and per type: retries, rejected,
 * timeouts). A new reference. */
json_object *outputs_status(struct outputs *s);

/* Wait up to timeout_ms for every queue to be empty and every child done (tests and
 * benchmarks). Returns 0, or -ETIMEDOUT. */
int outputs_flush(struct outputs *s, int timeout_ms);

/* Stop the threads and free everything. Webhook alerts not yet delivered stay in their
 * on-disk queue for the next start; other queues get up to 2 s to drain, then what is left
 * is counted as dropped. NULL is fine. */
void outputs_close(struct outputs *s);

/* Whether this looks like WSL (the osrelease file, normally /proc/sys/kernel/osrelease,
 * names "microsoft", or $WSL_DISTRO_NAME is set). */
int output_is_wsl(const char *osrelease_path);

#endif /* MOAT_OUTPUT_H */
