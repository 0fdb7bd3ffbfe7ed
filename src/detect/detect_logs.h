/* detect_logs.h - the log pattern scanner: container log lines in, `log-pattern` and
 * `log-flood` findings out. Compiled pattern sets (the seed's defaults plus the operator's
 * POSIX regexes), a per-container scan budget (bytes per second) and a rate limit per
 * container and pattern that counts what it holds back. Pure: no I/O; the log streams are
 * read by dockerlogs.h, and one struct logscan is used by one thread at a time. */
#ifndef MOAT_DETECT_LOGS_H
#define MOAT_DETECT_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "config_logs.h"
#include "container.h"

#define LOGS_LINE_CHARS 200			    /* characters of the line an alert shows */
#define LOGS_LINE_ESC	(LOGS_LINE_CHARS * 16 + 1)  /* those, escaped (\xHH per byte at most) */
#define LOGS_MATCH_ESC	64			    /* the matched text, escaped and cut */
#define LOGS_MAX_RULES	(2 * LOGS_MAX_PATTERNS + 8) /* defaults + global + policy */

/* The seed's patterns (docs/alerts.md, log-pattern), all WARNING. */
#define LOGS_DEFAULT_N 4
extern const struct log_pattern logs_default_patterns[LOGS_DEFAULT_N];

/* A compiled pattern set: immutable once built, shared by reference between the thread that
 * builds it and the log reader. */
struct logrules;

/* Compile the patterns of pol (may be NULL) then those of the global configuration, then the
 * seed's defaults when pol->default_patterns (or, unset, global->default_patterns) says so.
 * Returns a set with one reference, or NULL with errno set (EINVAL: a regex does not
 * compile, which config_logs.c checked already; ENOMEM). */
struct logrules *logrules_build(const struct logs_config *global, const struct logs_policy *pol);
struct logrules *logrules_get(struct logrules *r);
void logrules_put(struct logrules *r); /* NULL is a no-op */
int logrules_count(const struct logrules *r);

/* What the scanner found, as a fixed-size record (it crosses a pipe to the event loop). */
enum log_hit_kind {
	LOG_HIT_MATCH = 1, /* a line matched a pattern */
	LOG_HIT_SUMMARY,   /* the rate limit held back lines of one pattern: how many */
	LOG_HIT_FLOOD,	   /* the scan budget left lines unscanned: how many */
};

struct log_hit {
	int kind;			 /* enum log_hit_kind */
	int severity;			 /* the pattern's; LOG_HIT_FLOOD: WARNING */
	int stream;			 /* 1 stdout, 2 stderr (MATCH) */
	int cut;			 /* the line had more than LOGS_LINE_CHARS characters */
	char container[65];		 /* filled by the caller */
	char pattern[LOGS_PATTERN_NAME]; /* MATCH, SUMMARY */
	char matched[LOGS_MATCH_ESC];	 /* MATCH: the text the pattern matched, escaped */
	char line[LOGS_LINE_ESC];	 /* MATCH: the first 200 characters, escaped; SUMMARY:
					    the last line held back (its first 511 bytes) */
	uint64_t suppressed;		 /* MATCH: held back since the last alert of the pattern;
					    SUMMARY: held back in the window */
	uint64_t skipped_lines, skipped_bytes; /* FLOOD: not scanned since the last report */
	uint32_t window_s;		       /* the rate limit's or the budget's window */
	int64_t time_ns;		       /* Unix time */
};

/* Per-container scanner state. */
struct logscan_opts {
	uint32_t rate_alerts;	  /* alerts per pattern and window (>= 1) */
	uint32_t rate_window_s;	  /* the window (>= 1) */
	uint32_t max_bytes_per_s; /* scan budget, bytes per second (>= 1) */
};
struct logscan;

/* A scanner for one container using rules (a reference is taken). NULL on ENOMEM. */
struct logscan *logscan_new(struct logrules *rules, const struct logscan_opts *o);
void logscan_free(struct logscan *s);

/* Carry the rate-limit and budget state of old over to s (same rules by pattern name), so
 * that a reload does not let a flood through again. */
void logscan_inherit(struct logscan *s, const struct logscan *old);

/* Scan one line (len bytes at line, NUL at line[len]; line is modified: NUL bytes inside
 * become spaces so that they hide nothing). stream 1 stdout, 2 stderr; cut when the reader
 * already cut the line. mono_ns is CLOCK_MONOTONIC (budget, windows), unix_ns the time for
 * the alert. Returns 1 with *hit filled (a match that passes the rate limit; the most severe
 * pattern wins, the first on a tie), else 0 (no match, held back, or over budget: counted). */
int logscan_line(struct logscan *s, int stream, char *line, size_t len, int cut, int64_t mono_ns,
		 int64_t unix_ns, struct log_hit *hit);

/* Reports due at mono_ns: a SUMMARY for each pattern whose window ended with lines held
 * back, a FLOOD when lines went unscanned (at most once per rate window). Call about once a
 * second; returns 1 with *hit filled (call again), or 0 when nothing is due. */
int logscan_tick(struct logscan *s, int64_t mono_ns, int64_t unix_ns, struct log_hit *hit);

/* Bytes of memory s takes (its rules are shared). */
size_t logscan_size(const struct logscan *s);

/* Lines scanned and bytes of them, for measurements. */
void logscan_counts(const struct logscan *s, uint64_t *lines, uint64_t *bytes);

/* The alert for hit of container c (NULL: only hit->container is known): rule `log-pattern`
 * (MATCH, SUMMARY) or `log-flood`, source "logs", a "log" object (docs/alerts.md). Returns 1
 * with *out filled (the caller releases it), 0 for an unknown kind. */
int detect_log_alert(const struct log_hit *hit, const struct container_info *c, struct alert *out);

#endif /* MOAT_DETECT_LOGS_H */
