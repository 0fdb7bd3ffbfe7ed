/* respond.h - alerts out and actions in motion: every alert of moat run goes through
 * respond_emit (counted, written to the sinks); an alert runs its container's policy
 * actions (pause, stop, network disconnect) on the action workers; their results come back
 * as `action` alerts and answer the control client that asked. */
#ifndef MOAT_RESPOND_H
#define MOAT_RESPOND_H

#include <stdint.h>

#define PAUSED_MAX 256

/* Containers with a pause queued or done by moat: no second pause. */
struct paused_set {
	char id[PAUSED_MAX][65];
	int n;
};

/* Is id in the set? Add (on) or remove it; a full set adds nothing. */
int paused_has(const struct paused_set *s, const char *id);
void paused_mark(struct paused_set *s, const char *id, int on);

struct daemon;
struct alert;
struct action_result;
struct container_info;

/* Count alert a and write it to the alert sinks. */
void respond_emit(struct daemon *d, struct alert *a);

/* Queue action kind (enum action_kind) on container id (name for messages) for the alert
 * trace_id; network for ACTION_DISCONNECT only. A pause is remembered (paused_set). A full
 * queue is logged. */
void respond_request(struct daemon *d, int kind, const char *id, const char *name,
		     const char *trace_id, int64_t event_ns, const char *network);

/* What alert a of container c asks for: the POLICY_ACT_PAUSE/STOP/DISCONNECT bits of its
 * policy (first match by priority; the built-in default pauses on CRITICAL) when a is at
 * least as severe as the policy's threshold and c runs; none in report-only mode, for
 * moat's own lifecycle, action and prompt alerts, and no pause when pausing is off for c
 * (--no-pause, its config entry) or moat paused it already. */
int respond_plan(const struct daemon *d, const struct alert *a, const struct container_info *c);

/* Run respond_plan's actions for alert a. */
void respond_act_on(struct daemon *d, const struct alert *a);

/* An action finished: update the paused set, answer the control client waiting for it,
 * and emit the `action` alert. */
void respond_action_result(struct daemon *d, const struct action_result *r);

#endif /* MOAT_RESPOND_H */
