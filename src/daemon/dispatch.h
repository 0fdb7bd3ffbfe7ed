/* dispatch.h - the kernel's events through the chain: each ring buffer record is decoded,
 * its container looked up, DNS answers sorted by the kernel's verdict (dnsmatch.h: the
 * registry learns from verified answers only, held ones become prompts), connects of
 * containers under egress rules go to the access log, and every event to the detections,
 * whose alerts are emitted and acted on. An exec whose names matched nothing is queued for
 * the renamed-copy check, whose answer comes back here. */
#ifndef MOAT_DISPATCH_H
#define MOAT_DISPATCH_H

#include <stddef.h>

struct copycheck_result;
struct daemon;

/* ring_buffer_sample_fn: one record of len bytes; ctx is the daemon. Always returns 0 (a
 * record that is not a valid event is counted and skipped). */
int dispatch_kernel_event(void *ctx, void *data, size_t len);

/* A renamed-copy check has its answer: alert as for any suspicious exec. */
void dispatch_copycheck_result(struct daemon *d, const struct copycheck_result *r);

#endif /* MOAT_DISPATCH_H */
