/* chain.h - one kernel event through the detections, in the order moat run takes it: DNS
 * events sorted by the kernel's verdict (dnsmatch.h: a verified answer teaches the registry,
 * a forged one goes to the detections, the rest raise nothing), every other event to
 * detect_event. Shared by moat run (src/daemon/dispatch.c, which adds what only a live
 * daemon does: the access log, prompts, the renamed-copy check, actions) and
 * `moat replay --detect` (src/cli/replay.c), so both raise the same alerts. */
#ifndef MOAT_CHAIN_H
#define MOAT_CHAIN_H

#include "detect.h"
#include "dnsmatch.h"

/* What chain_event did with the event. */
struct chain_out {
	enum dnsmatch_verdict dns;	/* DNSMATCH_NOT_DNS for other events */
	const struct container_info *c; /* its container (looked up), NULL when none or a query */
	int recorded;			/* a verified answer went into x->registry */
};

/* The container of a cgroup, for the caller's inventory (moat run: inventory_lookup; replay:
 * the capture's container records). */
typedef const struct container_info *(*chain_lookup_fn)(void *ud, uint64_t cgid);

/* Event h (checked by event_decode) through the chain: its container is looked up (not for
 * DNS queries, which need none), a verified, not held, DNS answer is recorded in x->registry
 * at now_s (when x->registry is set), and the detections fill up to max alerts. Returns how
 * many alerts; *out says what happened. st counts the answers that do not count (may be
 * NULL). */
int chain_event(const struct detect_ctx *x, struct dnsmatch_stats *st, chain_lookup_fn lookup,
		void *ud, const struct moat_event_hdr *h, int64_t now_s, struct alert *alerts,
		int max, struct chain_out *out);

#endif /* MOAT_CHAIN_H */
