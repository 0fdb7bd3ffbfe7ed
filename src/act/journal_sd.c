/* journal_sd.c - the sd-journal call of the syslog output (journal.c), alone in its file
 * because <systemd/sd-journal.h> brings <syslog.h>, whose LOG_* names collide with moat's
 * logger. Built with sd-journal when libsystemd is there at build time (the Makefile defines
 * MOAT_HAVE_SD_JOURNAL); otherwise journal_sd_send says it is not available. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "journal_sd.h"

#ifdef MOAT_HAVE_SD_JOURNAL
#include <systemd/sd-journal.h>

int journal_sd_available(void)
{
	return 1;
}

int journal_sd_send(const struct journal_fields *f)
{
	char b[12][1200];
	struct iovec iov[12];
	int n = 0;

#define FIELD(...)                                                                                 \
	do {                                                                                       \
		int len = snprintf(b[n], sizeof(b[n]), __VA_ARGS__);                               \
		iov[n].iov_base = b[n];                                                            \
		iov[n].iov_len = len < (int)sizeof(b[n]) ? (size_t)len : sizeof(b[n]) - 1;         \
		n++;                                                                               \
	} while (0)
	FIELD("MESSAGE=%s", f->message);
	FIELD("PRIORITY=%d", f->priority);
	FIELD("SYSLOG_IDENTIFIER=%s", f->ident);
	FIELD("SYSLOG_FACILITY=%d", f->facility);
	FIELD("MOAT_SEVERITY=%s", f->severity);
	FIELD("MOAT_RULE=%s", f->rule);
	FIELD("MOAT_SOURCE=%s", f->source);
	FIELD("MOAT_TRACE_ID=%s", f->trace_id);
	FIELD("MOAT_CONTAINER_ID=%s", f->container_id);
	FIELD("MOAT_CONTAINER_NAME=%s", f->container);
#undef FIELD
	/* The whole alert, however long: its own vector. */
	iov[n].iov_base = (void *)f->json_field;
	iov[n].iov_len = strlen(f->json_field);
	n++;
	return sd_journal_sendv(iov, n);
}
#else
int journal_sd_available(void)
{
	return 0;
}

int journal_sd_send(const struct journal_fields *f)
{
	return -ENOSYS;
}
#endif
