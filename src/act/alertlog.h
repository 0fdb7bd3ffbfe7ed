/* alertlog.h - where alerts go (the terminal line and the JSON-lines file)
 * and how they are read back (`moat alerts`).
 * alertlog.c: the sinks; alertlog_line.c: the terminal line; alertlog_query.c: the reader. */
#ifndef MOAT_ALERTLOG_H
#define MOAT_ALERTLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alert.h"

#define ALERTLOG_DEFAULT_PATH "/var/log/moat/alerts.jsonl"
#define ALERTLOG_DEFAULT_LAST 20

enum alertlog_color {
	ALERTLOG_COLOR_AUTO = 0,   /* colour when the fd is a tty and NO_COLOR is unset */
	ALERTLOG_COLOR_ALWAYS = 1, /* --color=always: even into a pipe, even with NO_COLOR */
	ALERTLOG_COLOR_NEVER = 2,
};

struct alertlog;

/* Open the sinks: the JSON-lines file at path (NULL: none; parent
 * directories are created 0750, the file O_APPEND 0640) and the terminal
 * fd (-1: none). color_mode is an enum alertlog_color.
 * A file that cannot be opened is reported once on stderr and retried at
 * each write; the terminal keeps working. Returns NULL (errno ENOMEM) only
 * when out of memory. alertlog_close frees it. */
struct alertlog *alertlog_open(const char *path, int terminal_fd, int color_mode);

/* fsync(2) the file after every alert when on (default off). */
void alertlog_set_sync(struct alertlog *l, int on);

/* Write a: one JSON line to the file with a single write(2), and one line to
 * the terminal. Returns 0, or -errno of the file write (the terminal line
 * is still written; the first failure is reported on stderr with the path).
 * Never aborts. */
int alertlog_write(struct alertlog *l, const struct alert *a);

/* Reopen the file at its path (after logrotate moved it away; SIGHUP).
 * Returns 0 or -errno. */
int alertlog_reopen(struct alertlog *l);

void alertlog_close(struct alertlog *l);

/* Whether color_mode means colour on fd (a tty check and NO_COLOR for auto). */
int alertlog_use_color(int color_mode, int fd);

/* The terminal line of a, without a newline, in crabpot's shape:
 *   [CRITICAL] 14:23:01 process: Suspicious process detected: /bin/bash (container web)
 *   [WARNING]  14:23:15 network: ...
 * The severity tag is padded to 10 columns and, with color, wrapped in an
 * ANSI colour (bold red, yellow, cyan). Control characters from the alert
 * (container-supplied text) are shown as '?' so they cannot drive the
 * terminal. Returns the length it needed, like snprintf. */
int alertlog_format_line(const struct alert *a, int color, char *buf, size_t len);

/* What `moat alerts` shows. */
struct alert_filter {
	int last;	       /* the last N matching alerts; <= 0 means all */
	int min_severity;      /* enum alert_severity: at least this */
	const char *container; /* NULL, or a container name (exact) or id prefix */
	int64_t since_ns;      /* 0, or only alerts at or after this Unix time (ns) */
	int64_t before_ns;     /* 0, or only alerts before this Unix time (ns) */
	const char *rule;      /* NULL, or only alerts of this rule id (exact) */
	int follow;	       /* keep printing alerts as they are appended */
	int json;	       /* print the raw JSON lines instead of terminal lines */
	int color_mode;	       /* enum alertlog_color, for terminal lines */
};

/* Parse --since: an RFC 3339 time, or a duration back from now_ns: "90s",
 * "10m", "2h", "1d" (a bare number is seconds). Returns 0 or -EINVAL. */
int alertlog_parse_since(const char *s, int64_t now_ns, int64_t *out_ns);

/* Print the alerts of the JSON-lines file at path that pass f to out.
 * The last N are found by reading the file backwards, so only the tail of a
 * large file is parsed. Blank lines are ignored; malformed lines are
 * skipped with a warning naming path:line. With f->follow it then waits
 * (inotify on the directory, plus a 1 s recheck) for appended lines,
 * following the file across rotation (a new file at path) and truncation,
 * until a signal interrupts it (returns 0 then).
 * Returns 0, -ENOENT when the file does not exist, or -errno. */
int alertlog_query(const char *path, const struct alert_filter *f, FILE *out);

/* alertlog_query on the len bytes at buf (a file's contents, named `name` in
 * warnings), without following (f->follow must be 0: -EINVAL otherwise).
 * Returns 0 or -errno. */
int alertlog_query_buf(const char *name, const char *buf, size_t len, const struct alert_filter *f,
		       FILE *out);

/* One page of the alert file for the HTTP API, newest first. */
struct alert_page {
	int64_t cursor;	      /* in: read lines before this offset (-1: from the end); out:
				 where the next page starts (-1: nothing older is left) */
	uint64_t ino;	      /* in: the file the cursor belongs to (0: any); out: the file's */
	size_t max_scan;      /* bytes read at most per page (0: 64 MiB); a page may then hold
				 fewer alerts than asked, with a cursor to go on */
	uint64_t n_malformed; /* out: malformed lines skipped (not logged) */
};

/* The alerts of the JSON-lines file at path that pass f (f->last: how many at most; follow
 * and json ignored), newest first, each parsed line appended to arr as it is in the file.
 * Returns how many were appended, -ENOENT when the file does not exist, -ESTALE when
 * pg->ino names another file (the log was rotated: start again from the end), -EINVAL for
 * a cursor past the end, or another -errno. */
int alertlog_page(const char *path, const struct alert_filter *f, struct alert_page *pg,
		  json_object *arr);

/* Make a running alertlog_query with f->follow return 0 soon (at its next wakeup, at once
 * when the signal also interrupts its poll). Async-signal-safe: call it from the handler of
 * SIGINT/SIGTERM. It stays set for the rest of the process. */
void alertlog_query_stop(void);

#endif /* MOAT_ALERTLOG_H */
