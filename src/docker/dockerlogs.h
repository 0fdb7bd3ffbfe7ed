/* dockerlogs.h - containers' stdout and stderr through the Engine API's log stream
 * (GET /containers/{id}/logs?follow=1&stdout=1&stderr=1&since=<now>): one reader thread
 * follows every stream at once (libcurl multi), splits Docker's multiplexed frames (or a
 * TTY container's raw stream) into lines and hands each line to a callback in that
 * thread. The container writes these bytes: frames may be huge, lines endless or binary;
 * nothing here allocates by a length it was sent, and no line is longer than
 * DOCKERLOGS_MAX_LINE. */
#ifndef MOAT_DOCKERLOGS_H
#define MOAT_DOCKERLOGS_H

#include <stddef.h>
#include <stdint.h>

#define DOCKERLOGS_MAX_LINE 8192 /* bytes of one line handed over; the rest is dropped */
#define DOCKERLOGS_MAX	    4096 /* streams at once */
#define DOCKERLOGS_BATCH_MS 10	 /* the reader waits this long after a wakeup, so lines batch */

/* ---- the splitter (no I/O) ---------------------------------------------- */

/* Called for each complete line: stream 1 stdout, 2 stderr; line is len bytes (no newline,
 * no trailing \r) followed by a NUL, and may be modified; cut is 1 when the line was longer
 * than DOCKERLOGS_MAX_LINE (only its start is here). A nonzero return stops the feed. */
typedef int (*logsplit_line_fn)(void *ud, int stream, char *line, size_t len, int cut);

struct logsplit_part {
	char buf[DOCKERLOGS_MAX_LINE + 1];
	size_t len;
	int cut; /* past DOCKERLOGS_MAX_LINE: delivered, dropping until the newline */
};

struct logsplit {
	int tty;	/* raw stream (the container has a TTY): everything is stdout */
	uint8_t hdr[8]; /* frame header being read */
	int hdr_len;	/* bytes of it so far */
	uint32_t left;	/* payload bytes left in the current frame */
	int stream;	/* of the current frame: 1 or 2 */
	int broken;	/* a bad frame header was seen: the stream cannot be read further */
	uint64_t bad_frames;
	struct logsplit_part part[2]; /* a partial line per stream */
};

/* Start s for a stream with (tty 1) or without a TTY. */
void logsplit_init(struct logsplit *s, int tty);

/* Feed n bytes of the stream. Lines go to fn. Returns 0; -EPROTO when a frame header is
 * bad (stream type other than 0, 1, 2 or nonzero padding: the stream is out of step and
 * everything after is refused); or fn's nonzero return. */
int logsplit_feed(struct logsplit *s, const char *p, size_t n, logsplit_line_fn fn, void *ud);

/* The stream ended: hand over the partial lines (a last line without a newline). */
int logsplit_flush(struct logsplit *s, logsplit_line_fn fn, void *ud);

/* ---- the reader thread --------------------------------------------------- */

struct dockerlogs_ops {
	/* A line of the stream whose ud it is (logsplit_line_fn's contract). */
	int (*on_line)(void *ud, int stream, char *line, size_t len, int cut);
	/* About once a second per stream. */
	void (*on_tick)(void *ud);
	/* dockerlogs_follow swapped the ud of a stream: new_ud may take state from old_ud
	 * before on_end(old_ud, 0). Optional. */
	void (*on_swap)(void *new_ud, void *old_ud);
	/* The stream is over (the container stopped, dockerlogs_unfollow, replaced, or an error:
	 * err 0 or -errno); ud is the callee's to free now. */
	void (*on_end)(void *ud, int err);
};

struct dockerlogs;

/* Start the reader thread on host (as docker_open: NULL is $DOCKER_HOST or the default
 * socket). ops run on that thread. Returns NULL with errno set (the socket does not
 * answer: EIO; no thread: EAGAIN). */
struct dockerlogs *dockerlogs_start(const char *host, const struct dockerlogs_ops *ops);

/* Stop the thread (on_end for every stream) and free everything. NULL is a no-op. */
void dockerlogs_stop(struct dockerlogs *l);

/* Follow container id (a full id: 64 hex digits) from since_ns (Unix ns; 0: now) on; tty
 * as its Config.Tty. ud goes to the callbacks; it is the reader's from here on (on_end
 * frees it). Following an id already followed keeps its connection and swaps the ud
 * (on_end(old ud, 0)). Returns 0 (queued), -EINVAL (not a full id) or -ENOMEM; on error ud
 * stays the caller's. More than DOCKERLOGS_MAX streams: the new one ends at once
 * (on_end(ud, -ENOSPC)), logged. */
int dockerlogs_follow(struct dockerlogs *l, const char *id, int tty, int64_t since_ns, void *ud);

/* Stop following id (nothing when it is not followed). */
void dockerlogs_unfollow(struct dockerlogs *l, const char *id);

/* Streams open now, and totals since the start (any thread). */
struct dockerlogs_stats {
	uint64_t streams, lines, bytes, bad_frames, errors;
};
void dockerlogs_get_stats(struct dockerlogs *l, struct dockerlogs_stats *st);

#endif /* MOAT_DOCKERLOGS_H */
