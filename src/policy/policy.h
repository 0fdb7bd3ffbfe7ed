/* policy.h - policies (the container-guard seed): which containers (name
 * and image globs, label selectors) get which egress mode and which actions
 * when an alert of at least which severity hits them. Evaluated in priority
 * order, first match wins; a built-in default policy when no file exists.
 * File: /etc/moat/policies.json (config key "policies"). */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include "config_logs.h"
#include "config_resources.h"
#include "container.h"

#define POLICY_MAX	 64
#define POLICY_MAX_GLOBS 8
#define POLICY_MAX_BYTES (4u << 20) /* a larger policies file is refused (-EFBIG) */
#define POLICY_MAX_EXEC	 128	    /* names in a policy's exec_allow */
#define POLICY_EXEC_LEN	 64	    /* bytes of one, NUL included */

/* struct policy.egress */
enum policy_egress {
	POLICY_EGRESS_UNSET = -1, /* the configuration decides */
	POLICY_EGRESS_MONITOR = 0,
	POLICY_EGRESS_ENFORCE = 1,
	POLICY_EGRESS_INTERACTIVE = 2,
	POLICY_EGRESS_LEARN = 3, /* record the baseline of its images; enforce nothing (learn.md) */
};

enum policy_action_bits {
	POLICY_ACT_PAUSE = 1,
	POLICY_ACT_STOP = 2,
	POLICY_ACT_DISCONNECT = 4,
	POLICY_ACT_KILL_EXEC = 8,
};

struct policy {
	char id[64];
	char name[128];
	char description[256];
	int enabled;
	int priority;		/* lower runs first */
	int severity_threshold; /* enum alert_severity: act on alerts at least this severe */
	char names[POLICY_MAX_GLOBS][128]; /* container name globs; none = any */
	int n_names;
	char images[POLICY_MAX_GLOBS][256]; /* image globs; none = any */
	int n_images;
	char labels[POLICY_MAX_GLOBS][256]; /* "key=value" or "key" (present) */
	int n_labels;
	int egress;		/* enum policy_egress */
	char egress_rules[512]; /* this policy's own rule set (a rules file); "" = the global one */
	int actions;		/* enum policy_action_bits */
	char networks[8][64]; /* network_disconnect: these; none = every network of the container */
	int n_networks;
	/* Executable base names this policy's containers may run: kill_exec spares them (the
	 * names kill-exec would kill are the configuration's exec lists, less these). */
	char exec_allow[POLICY_MAX_EXEC][POLICY_EXEC_LEN];
	int n_exec_allow;
	struct logs_policy logs;	      /* "logs" and "health" (config_logs.h) */
	struct resource_thresholds resources; /* its resource-rule thresholds; -1: the config's */
};

struct policy_set {
	struct policy p[POLICY_MAX];
	int n;
	char path[4096];	/* "" = the built-in default */
	int trust_image_labels; /* target.labels also match labels an image sets (config
				   trust_image_labels; by default only docker run's labels do) */
};

/* The built-in default: every container, CRITICAL -> pause. */
void policy_defaults(struct policy_set *ps);

/* Load path over ps. A missing file keeps the default (-ENOENT). A bad file
 * is refused whole with "path:line: reason" logged and ps untouched
 * (-EINVAL). */
int policy_load(struct policy_set *ps, const char *path);

/* policy_load on the len bytes at buf (a file's contents; the text ends at
 * the first NUL byte, as in a file), named `name` in messages and in
 * ps->path. The same contract otherwise. */
int policy_load_buf(struct policy_set *ps, const char *name, const char *buf, size_t len);

/* Is name (a base name) in p's exec_allow? */
int policy_exec_allowed(const struct policy *p, const char *name);

/* The name of an egress value ("monitor", "enforce", "interactive", "learn"; "" unset). */
const char *policy_egress_name(int egress);

/* The first enabled policy, in priority order, matching container c, or
 * NULL. */
const struct policy *policy_match(const struct policy_set *ps, const struct container_info *c);

#endif /* MOAT_POLICY_H */
