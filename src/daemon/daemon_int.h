/* daemon_int.h - the state of `moat run`, private to src/daemon/: one struct daemon, owned
 * by the event loop's thread, read and written by the modules of this folder (each says
 * which part is its own). Nothing outside src/daemon/ includes it but the tests. */
#ifndef MOAT_DAEMON_INT_H
#define MOAT_DAEMON_INT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "control.h"
#include "detect.h"
#include "dnsmatch.h"
#include "inventory.h"
#include "lists.h"
#include "loader.h"
#include "policy.h"
#include "prompts.h"
#include "respond.h"
#include "rulesfile.h"

struct ring_buffer;
struct dockerwatch;
struct actions;
struct copycheck;
struct registry;
struct outputs;
struct access;
struct logwatch;
struct healthwatch;
struct resources;
struct resdetect;
struct live;
struct web;
struct learnrec;

#define DAEMON_ALERT_RULES  64 /* rule ids counted one by one (there are fewer) */
#define DAEMON_ACTION_KINDS 8

struct daemon {
	/* Setup (daemon.c, options.c): what moat run was asked to do. */
	struct config cfg;
	char pin_dir[PATH_MAX];
	char config_path[PATH_MAX]; /* the file to reload, "" for none */
	char cg_mount[4096];
	/* The components the loop drives (daemon.c sets them up and takes them down). */
	struct loader loader;
	struct ring_buffer *rb;
	struct inventory inv;
	struct dockerwatch *watch;
	struct actions *actions;
	struct copycheck *copycheck; /* renamed-copy checks, off the event loop */
	struct registry *registry;
	struct outputs *outputs;    /* where alerts go (act/output.h) */
	struct access *access;	    /* egress decisions: log and statistics */
	struct logwatch *logs;	    /* the log pattern scanner (logwatch.c) */
	struct healthwatch *health; /* the health checker (healthwatch.c) */
	struct dedup *dedup;
	struct lossy *lossy; /* containers whose events were suppressed (detect.h) */
	struct detect_ctx dx;
	int veth_fd, veth_in_fd; /* the veth guard's programs (loader) */
	/* The rule sets (rulesets.c): lists, the egress rules file, the policies and their own
	 * rule sets, and the inotify watches that reload them. */
	struct iplist blacklist, whitelist;
	struct ruleset egress;
	struct policy_set *policies;
	struct ruleset policy_rules[POLICY_MAX]; /* by index into policies->p */
	uint32_t policy_set[POLICY_MAX];	 /* their kernel rule set ids */
	struct lists_watch bl_watch, wl_watch, rules_watch, policy_watch;
	struct lists_watch policy_rules_watch[POLICY_MAX];
	int inofd;
	/* Per-container kernel settings (settings.c). */
	uint32_t learn_share; /* each domain-mode container's learned-address limit */
	int socket_tp_on;     /* the socket() tracepoint is attached; -1 unknown */
	/* Interactive egress (prompts.c) and actions (respond.c). */
	struct prompt_table prompts;
	struct paused_set paused;
	/* The control socket (control.c, ctlcmds.c). */
	struct control_server ctl;
	/* Resource stats (resmon.c): the sampler thread and the rules' state. */
	struct resources *res;
	struct resdetect *resdet;
	/* The dashboard (daemon.c starts it): the live feed the loop publishes into (alerts,
	 * decisions, prompts, container changes, stats samples; NULL when the dashboard is
	 * off) and the server, which runs on its own threads. */
	struct live *live;
	struct web *web;
	/* Learn mode (learnrec.c): the baseline store, the deviation detections' state. */
	struct learnrec *learn;
	/* Housekeeping (tick.c). */
	pid_t saver; /* child writing the registry, 0 when none */
	int registry_dirty;
	unsigned ticks;
	struct {
		uint64_t cgid, seen;
	} suppressed_seen[512]; /* events_suppressed at the last look, by cgroup id % 512 */
	/* The loop (daemon.c). */
	int epfd, sigfd, timerfd;
	int exiting;
	int64_t started;
	/* Counters for status. */
	struct dnsmatch_stats dns; /* DNS answers that did not count */
	uint64_t n_events, n_bad_events, n_alerts[3], n_actions_ok, n_actions_failed;
	uint64_t n_copycheck_skipped;
	/* Alerts per rule and severity, actions per kind and result (respond.c), for the
	 * counters command and /metrics: bounded, rules beyond the table count as "other". */
	struct {
		char rule[32];
		uint64_t n[3];
	} alert_rules[DAEMON_ALERT_RULES];
	int n_alert_rules;
	uint64_t n_alerts_other[3];
	uint64_t n_actions_by[DAEMON_ACTION_KINDS][2]; /* [enum action_kind][0 failed, 1 ok] */
};

/* A daemon with the defaults and nothing started: the configuration's defaults, the
 * built-in policy, statistics without an access log, every fd -1. NULL on ENOMEM. */
struct daemon *daemon_new(void);

/* Stop and free everything daemon_load/daemon_start set up (any part may be missing). */
void daemon_free(struct daemon *d);

/* Reload the configuration file (if any), the lists, the rules and the policies, and give
 * every container its settings again (SIGHUP, the reload command). */
void daemon_reload(struct daemon *d);

#endif /* MOAT_DAEMON_INT_H */
