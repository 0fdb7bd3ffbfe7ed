/* config_outputs.h - the "outputs" section of the configuration: where alerts go besides
 * the terminal and the alert file (webhook, exec, desktop notification, syslog/journald),
 * each with its own minimum severity and rate limit; and the flags and environment
 * variables that add outputs (--webhook, MOAT_WEBHOOK_URL, ...). docs/outputs.md is the
 * reference; config.c calls config_outputs_parse for the key. */
#ifndef MOAT_CONFIG_OUTPUTS_H
#define MOAT_CONFIG_OUTPUTS_H

#include <stdint.h>

#define OUTPUTS_MAX	   16
#define OUTPUT_MAX_ARGS	   16
#define OUTPUT_ARG_LEN	   256
#define OUTPUT_MAX_HEADERS 8
#define OUTPUT_HEADER_LEN  512
#define OUTPUT_URL_LEN	   1024

enum output_type {
	OUTPUT_TERMINAL = 0, /* the terminal line on stderr (always present unless disabled) */
	OUTPUT_FILE,	     /* the JSON-lines alert file, alerts_file (always present) */
	OUTPUT_WEBHOOK,	     /* HTTP POST of the alert JSON, with an on-disk queue */
	OUTPUT_EXEC,	     /* a command with the alert JSON on stdin */
	OUTPUT_NOTIFY,	     /* a desktop notification (freedesktop, or a WSL2 toast) */
	OUTPUT_SYSLOG,	     /* journald (sd-journal) or syslog (RFC 5424 on a unix socket) */
	OUTPUT_TYPE_NR,
};

enum output_syslog_mode { OUTPUT_SYSLOG_AUTO = 0, OUTPUT_SYSLOG_JOURNAL, OUTPUT_SYSLOG_SYSLOG };

/* One output as configured. Fields of other types stay at their defaults. */
struct output_conf {
	int type;		  /* enum output_type */
	char name[32];		  /* for status and logs; default "<type>" or "<type>-N" */
	int enabled;		  /* 0: configured but off */
	int min_severity;	  /* enum alert_severity: alerts below are not sent */
	uint32_t rate_per_minute; /* token bucket refill; 0 = no limit */
	uint32_t burst;		  /* bucket size; 0 = rate_per_minute (at least 1) */
	uint32_t container_rate_per_minute; /* the same, per container; 0 = no limit */
	uint32_t container_burst;	    /* per container; 0 = container_rate_per_minute */
	uint32_t timeout_ms;		    /* webhook: one request; exec/notify: one run */
	/* webhook */
	char url[OUTPUT_URL_LEN];
	char headers[OUTPUT_MAX_HEADERS][OUTPUT_HEADER_LEN]; /* "Name: value" */
	int n_headers;
	uint32_t backoff_ms;	 /* first retry wait; doubles up to max_backoff_ms */
	uint32_t max_backoff_ms; /* longest wait between tries */
	uint32_t queue_max;	 /* alerts held on disk for the receiver, at most */
	char ca_file[256];	 /* PEM CA bundle to verify an https receiver; "" = system's */
	/* exec */
	char argv[OUTPUT_MAX_ARGS][OUTPUT_ARG_LEN]; /* program and arguments, or with shell
						       the one command line in argv[0] */
	int argc;
	int shell;		 /* run argv[0] through /bin/sh -c */
	uint32_t max_concurrent; /* children at once */
	/* notify */
	char bus[256]; /* D-Bus session bus address; "" = $DBUS_SESSION_BUS_ADDRESS */
	/* syslog */
	int syslog_mode;  /* enum output_syslog_mode */
	char socket[108]; /* syslog datagram socket, default /dev/log */
	int facility;	  /* syslog facility number (daemon = 3) */
	char ident[32];	  /* the APP-NAME / SYSLOG_IDENTIFIER, default "moat" */
};

struct outputs_conf {
	struct output_conf o[OUTPUTS_MAX];
	int n;
};

/* The name of an output type ("webhook") and back (-1 when unknown). */
const char *output_type_name(int type);
int output_type_parse(const char *s);

/* An output of the given type with its defaults (docs/outputs.md): enabled, min_severity
 * INFO (notify: CRITICAL), no rate limit (notify: 10 a minute, burst 3), timeouts 5 s
 * (exec 10 s), backoff 1 s to 60 s, queue 10000, 2 children (notify: 1), ident "moat". */
void output_conf_defaults(struct output_conf *o, int type);

/* Parse the "outputs" value v (an array of objects) of the configuration file path whose
 * text is text (for line numbers) into out, replacing what was there. Each error is logged
 * as "path:line: outputs[i]: key: reason". Returns the number of errors (0: out is set;
 * otherwise out may be partly written: the caller discards it). */
int config_outputs_parse(const char *path, const char *text, const void *v,
			 struct outputs_conf *out);

/* Add an output from a flag or an environment variable: a webhook to url (with the header
 * "Authorization: Bearer <token>" when token is not NULL or ""), an exec of program
 * (argv[0] only, no shell), the desktop notification or syslog (arg unused). Returns 0,
 * -ENOSPC when OUTPUTS_MAX outputs exist, or -EINVAL (an empty or too long argument, a
 * url that is not http:// or https://). */
int config_outputs_add(struct outputs_conf *c, int type, const char *arg, const char *token);

#endif /* MOAT_CONFIG_OUTPUTS_H */
