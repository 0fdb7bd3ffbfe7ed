/* journal.c - the syslog output: each alert into the systemd journal with structured
 * fields (sd-journal, journal_sd.c), or as a syslog message on a unix datagram socket
 * (/dev/log by default; the format of glibc's syslog(3), written here so that the socket is
 * configurable). "auto" takes the journal when moat was built with sd-journal and journald
 * listens, else syslog. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "journal_sd.h"
#include "output_int.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

struct journal {
	int use_journal;
	int fd; /* the syslog socket, -1 until connected */
};

/* syslog priorities (RFC 5424 severities) of moat's severities. */
static int priority_of(int severity)
{
	return severity >= ALERT_CRITICAL ? 2 : severity == ALERT_WARNING ? 4 : 6;
}

static int journal_start(struct output *o, const struct outputs_env *env)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->fd = -1;
	o->priv = j;
	if (o->conf.syslog_mode == OUTPUT_SYSLOG_JOURNAL && !journal_sd_available()) {
		output_set_state(o, "moat was built without sd-journal (libsystemd-dev): use "
				    "\"mode\": \"syslog\"");
		free(j);
		o->priv = NULL;
		return -ENOSYS;
	}
	j->use_journal = o->conf.syslog_mode == OUTPUT_SYSLOG_JOURNAL ||
			 (o->conf.syslog_mode == OUTPUT_SYSLOG_AUTO && journal_sd_available() &&
			  access(JOURNAL_SOCKET, W_OK) == 0);
	return 0;
}

static void journal_free(struct output *o)
{
	struct journal *j = o->priv;

	if (j && j->fd >= 0)
		close(j->fd);
	free(j);
	o->priv = NULL;
}

/* Connect the datagram socket to conf.socket. 0 or -errno. */
static int syslog_connect(struct output *o, struct journal *j)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = o->conf.timeout_ms / 1000,
			     .tv_usec = (o->conf.timeout_ms % 1000) * 1000};

	if (j->fd >= 0)
		return 0;
	j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (j->fd < 0)
		return -errno;
	/* A reader that does not keep up stalls this thread at most timeout_ms per alert. */
	setsockopt(j->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", o->conf.socket);
	if (connect(j->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(j->fd);
		j->fd = -1;
		return err;
	}
	return 0;
}

/* Copy s with control characters as '?' (container text must not forge a second line for
 * readers that split on newlines). */
static void clean(const char *s, char *out, size_t len)
{
	size_t k = 0;

	for (; *s && k + 1 < len; s++)
		out[k++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	out[k] = 0;
}

/* The one-line text of an alert: "CRITICAL suspicious-exec: message (container web)". */
static void text_of(const struct output_item *it, char *out, size_t len)
{
	char msg[512], ctr[128];

	clean(it->message, msg, sizeof(msg));
	clean(it->container, ctr, sizeof(ctr));
	snprintf(out, len, "%s %s: %s%s%s%s trace_id=%s", alert_severity_name(it->severity),
		 it->rule, msg, ctr[0] ? " (container " : "", ctr, ctr[0] ? ")" : "", it->trace_id);
}

static int send_syslog(struct output *o, struct journal *j, const struct output_item *it)
{
	char text[900], line[1200], stamp[32];
	time_t t = (time_t)(it->time_ns / 1000000000);
	struct tm tm;
	int n, err;

	if (!t)
		t = time(NULL);
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	text_of(it, text, sizeof(text));
	n = snprintf(line, sizeof(line), "<%d>%s %s[%d]: %s",
		     o->conf.facility * 8 + priority_of(it->severity), stamp, o->conf.ident,
		     (int)getpid(), text);
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	for (int attempt = 0; attempt < 2; attempt++) {
		err = syslog_connect(o, j);
		if (!err && send(j->fd, line, (size_t)n, MSG_NOSIGNAL) == n)
			return 0;
		if (!err)
			err = -errno;
		/* The reader restarted (ECONNREFUSED/ENOTCONN): reconnect once. */
		if (j->fd >= 0)
			close(j->fd);
		j->fd = -1;
	}
	return err;
}

static int send_journal(struct output *o, const struct output_item *it)
{
	char text[900], *jf;
	struct journal_fields f;
	int err;

	text_of(it, text, sizeof(text));
	if (asprintf(&jf, "MOAT_ALERT=%s", it->json) < 0)
		return -ENOMEM;
	f = (struct journal_fields){.message = text,
				    .priority = priority_of(it->severity),
				    .facility = o->conf.facility,
				    .ident = o->conf.ident,
				    .severity = alert_severity_name(it->severity),
				    .rule = it->rule,
				    .source = it->source,
				    .trace_id = it->trace_id,
				    .container_id = it->container_id,
				    .container = it->container,
				    .json_field = jf};
	err = journal_sd_send(&f);
	free(jf);
	return err;
}

static void *journal_run(void *arg)
{
	struct output *o = arg;
	struct journal *j = o->priv;

	output_thread_signals();
	for (;;) {
		struct output_item *it;

		while (output_pop(o, &it) == 0) {
			int err = j->use_journal ? send_journal(o, it) : send_syslog(o, j, it);

			if (err) {
				atomic_fetch_add(&o->failed, 1);
				output_set_state(o, "cannot send to %s: %s",
						 j->use_journal ? "the journal" : o->conf.socket,
						 strerror(-err));
			} else {
				atomic_fetch_add(&o->sent, 1);
				output_set_state(o, "%s", "");
			}
			output_done(o, it);
			atomic_fetch_sub(&o->busy, 1);
			if (output_stopping(o) && clock_mono_ns() > o->stop_deadline_ns)
				break;
		}
		if (output_stopping(o))
			break;
		output_wait(o, 0);
	}
	return NULL;
}

static void journal_status(struct output *o, json_object *js)
{
	struct journal *j = o->priv;

	json_object_object_add(js, "via",
			       json_object_new_string(j->use_journal ? "journal" : o->conf.socket));
}

const struct output_ops journal_ops = {
    .start = journal_start,
    .run = journal_run,
    .free = journal_free,
    .status = journal_status,
};
