/* log.c - leveled messages to stderr, with libbpf's log routed through. */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "log.h"

int log_level = LOG_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

static __thread char *capture_buf;
static __thread size_t capture_n;

void log_capture_begin(char *buf, size_t n)
{
	capture_buf = n ? buf : NULL;
	capture_n = n;
	if (capture_buf)
		capture_buf[0] = 0;
}

void log_capture_end(void)
{
	capture_buf = NULL;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level == LOG_ERROR && capture_buf) {
		if (!capture_buf[0]) {
			va_start(ap, fmt);
			vsnprintf(capture_buf, capture_n, fmt, ap);
			va_end(ap);
		}
		return;
	}
	if (level > log_level)
		return;
	fprintf(stderr, "moat: %s: ", level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int ours = level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG;

	if (ours > log_level)
		return 0;
	fprintf(stderr, "moat: libbpf: ");
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
