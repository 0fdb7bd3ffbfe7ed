/* alertlog_int.h - what the alertlog files share among themselves; not an API
 * (alertlog.h is). */
#ifndef MOAT_ALERTLOG_INT_H
#define MOAT_ALERTLOG_INT_H

#include <stddef.h>

#include "alert.h"

/* The terminal line of a plus '\n' in a new buffer (the caller frees it), its length in
 * *n. clock_text replaces the clock taken from a->time_ns when not NULL (crabpot lines
 * carry only a "timestamp" string). Returns NULL on ENOMEM. */
char *alertlog_line_dup(const struct alert *a, int color, const char *clock_text, size_t *n);

#endif /* MOAT_ALERTLOG_INT_H */
