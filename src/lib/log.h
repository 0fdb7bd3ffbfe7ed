/* log.h - the daemon logger: leveled messages to stderr, libbpf routed in. */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Messages above this level are dropped. Default LOG_INFO; -v sets DEBUG,
 * -q sets WARN. */
extern int log_level;

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Capture this thread's error messages into buf (size n, the first one kept, "" until
 * then) instead of printing them, until log_capture_end: a caller that answers someone else
 * (the HTTP API) gives them the very message the CLI would print. Warnings still print. */
void log_capture_begin(char *buf, size_t n);
void log_capture_end(void);

/* Route libbpf's own messages through log_msg (warnings always, debug
 * output only at LOG_DEBUG). */
void log_setup_libbpf(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* MOAT_LOG_H */
