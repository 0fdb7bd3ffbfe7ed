/* severity.h - how severe an alert is: the three levels, their names, and parsing them
 * (alerts carry one; policies set a threshold). */
#ifndef MOAT_SEVERITY_H
#define MOAT_SEVERITY_H

enum alert_severity {
	ALERT_INFO = 0,
	ALERT_WARNING = 1,
	ALERT_CRITICAL = 2,
};

/* Parse "INFO", "WARNING", "CRITICAL" (any case). Returns the severity or -1. */
int alert_severity_parse(const char *s);

/* The name of a severity; "UNKNOWN" for anything else. */
const char *alert_severity_name(int severity);

#endif /* MOAT_SEVERITY_H */
