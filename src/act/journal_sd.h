/* journal_sd.h - one alert into the systemd journal with its fields (journal_sd.c). */
#ifndef MOAT_JOURNAL_SD_H
#define MOAT_JOURNAL_SD_H

struct journal_fields {
	const char *message; /* the one-line text */
	int priority;	     /* syslog priority: 2 crit, 4 warning, 6 info */
	int facility;
	const char *ident, *severity, *rule, *source, *trace_id, *container_id, *container;
	const char *json_field; /* "MOAT_ALERT=<the alert JSON>" */
};

/* Whether moat was built with sd-journal. */
int journal_sd_available(void);

/* Send one entry (sd_journal_sendv). 0 or -errno; -ENOSYS without sd-journal. */
int journal_sd_send(const struct journal_fields *f);

#endif /* MOAT_JOURNAL_SD_H */
