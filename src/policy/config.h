/* config.h - moat's configuration: defaults, the JSON file
 * (/etc/moat/moat.json or --config), and command-line overrides. Every key
 * is documented in docs/configuration.md. */
#ifndef MOAT_CONFIG_H
#define MOAT_CONFIG_H

#include <stdint.h>
#include <stddef.h>

#include "config_logs.h"
#include "config_resources.h"
#include "config_learn.h"
#include "config_outputs.h"
#include "config_http.h"

#define CONFIG_DEFAULT_PATH   "/etc/moat/moat.json"
#define CONFIG_MAX_NAMES      64
#define CONFIG_NAME_LEN	      32
#define CONFIG_MAX_CONTAINERS 64
#define CONFIG_MAX_CGROUPS    16
#define CONFIG_MAX_BYTES      (1u << 20) /* a larger configuration file is refused */

/* A list of executable base names. */
#define CONFIG_MAX_RESOLVERS 8

struct name_list {
	char names[CONFIG_MAX_NAMES][CONFIG_NAME_LEN];
	int n;
};

/* Per-container settings, for containers whose name matches `match` (a
 * glob; the first matching entry wins). */
struct container_rule {
	char match[128];
	struct name_list exec_allow; /* names never suspicious in these containers */
	int kill_exec;		     /* -1 unset, 0/1: kill suspicious execs in the kernel */
	int suspicious_exec;	     /* -1 unset, 0/1: the suspicious-exec detection */
	int pause;		     /* -1 unset, 0/1: pause on CRITICAL */
	int egress;		     /* -1 unset, 0 monitor, 1 enforce, 2 interactive */
	int logs;		     /* -1 unset, 0/1: the log pattern scanner (config_logs.h) */
};

struct config {
	char path[4096];	/* the file read, "" when defaults only */
	char state_dir[4096];	/* registry.json lives here */
	char alerts_file[4096]; /* JSON lines */
	char control_socket[4096];
	char pin_dir[4096];
	char blacklist[4096];	   /* "" = none */
	char whitelist[4096];	   /* "" = none */
	char egress_rules[4096];   /* the egress rules file */
	uint32_t prompt_timeout_s; /* interactive: no decision by then = deny once */
	char policies[4096];	   /* the policies file */
	char access_log[4096];	   /* egress decisions, JSON lines; "" = none */
	int egress; /* default for containers: 0 monitor, 1 enforce the egress rules */
	char cgroups[CONFIG_MAX_CGROUPS][4096];
	int n_cgroups;
	int report_only; /* detect and alert, never act */
	int strict;	 /* direct-connection is CRITICAL */
	int skip_sync;	 /* registry in memory only */
	int pause_on_critical;
	int kill_exec; /* default for containers */
	uint32_t registry_max;
	uint32_t registry_retention_s;
	uint32_t dedup_s;	  /* same alert for the same container and target: once per */
	int nice;		  /* scheduling priority of moat run (-20..19) */
	uint32_t ring_buffer_kib; /* events ring buffer size when moat run creates it */
	int realtime_priority;	  /* SCHED_FIFO priority of the event loop, 0 = ordinary */
	int action_attempts;
	uint32_t action_backoff_ms;
	uint32_t action_timeout_ms; /* each Docker call of an action */
	int action_max_concurrent;  /* actions running at once */
	struct name_list shells, runtimes, net_tools;
	struct container_rule containers[CONFIG_MAX_CONTAINERS];
	int n_containers;
	/* Hardening (docs/security.md) */
	uint32_t dns_max_ttl_s; /* a DNS answer opens an address at most this long */
	char resolvers[CONFIG_MAX_RESOLVERS][46]; /* DNS servers every container may use (port
						     53): when dockerd has its own "dns" */
	int n_resolvers;
	int trust_image_labels; /* 1: moat.* labels and policy label filters also take labels
				   an image sets; 0 (default): only labels given at docker run */
	int spoof_guard;	/* SPOOF_GUARD_*: which containers' veths drop spoofed frames */
	int socket_tp;		/* SOCKET_TP_*: when the socket() tracepoint is attached */
	uint32_t learn_limit;	/* learned addresses per container, at most */
	uint32_t event_rate;	/* ordinary events per container and second (0: no limit) */
	/* The log pattern scanner and the health checker (config_logs.h). */
	struct logs_config logs;
	struct health_config health;
	struct resource_config resources; /* resource stats and their rules (config_resources.h) */
	struct outputs_conf outputs;	  /* "outputs": where alerts go (config_outputs.c) */
	struct http_config http;	  /* "http": the dashboard's server (config_http.c) */
	struct learn_config learn;	  /* "learn": baselines and deviations (config_learn.h) */
};

enum spoof_guard { SPOOF_GUARD_ENFORCED = 0, SPOOF_GUARD_ALL = 1, SPOOF_GUARD_OFF = 2 };
enum socket_tp { SOCKET_TP_AUTO = 0, SOCKET_TP_ON = 1, SOCKET_TP_OFF = 2 };

/* Fill c with the built-in defaults. */
void config_defaults(struct config *c);

/* Read the JSON file at path over c (keys absent from the file keep their
 * value). On error nothing in c is changed, the error is logged as
 * "path:line: reason" and -EINVAL (bad content) or -errno (unreadable)
 * returned. A missing file is -ENOENT (the caller decides whether that
 * matters: the default path may be absent). */
int config_load(struct config *c, const char *path);

/* config_load on the len bytes at buf (a file's contents; the text ends at
 * the first NUL byte, as in a file), named `name` in messages and in
 * c->path. The same contract otherwise. */
int config_load_buf(struct config *c, const char *name, const char *buf, size_t len);

/* The rule for container name, or NULL. */
const struct container_rule *config_container(const struct config *c, const char *name);

/* Is name in list? */
int name_list_has(const struct name_list *l, const char *name);

#endif /* MOAT_CONFIG_H */
