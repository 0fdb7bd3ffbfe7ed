/* severity.c - alert severities by name (severity.h). */
#include <strings.h>

#include "severity.h"

static const char *const severity_names[] = {"INFO", "WARNING", "CRITICAL"};

int alert_severity_parse(const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i < 3; i++)
		if (strcasecmp(s, severity_names[i]) == 0)
			return i;
	return -1;
}

const char *alert_severity_name(int severity)
{
	if (severity < ALERT_INFO || severity > ALERT_CRITICAL)
		return "UNKNOWN";
	return severity_names[severity];
}
