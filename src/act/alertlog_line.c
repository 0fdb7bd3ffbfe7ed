/* alertlog_line.c - the terminal line of an alert: severity tag (coloured or not), clock,
 * source, message and container, with control characters from containers shown as '?'. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertlog.h"
#include "alertlog_int.h"

int alertlog_use_color(int color_mode, int fd)
{
	const char *nc = getenv("NO_COLOR");

	if (color_mode == ALERTLOG_COLOR_ALWAYS)
		return 1;
	if (color_mode == ALERTLOG_COLOR_NEVER || fd < 0)
		return 0;
	return isatty(fd) && !(nc && *nc);
}

/* snprintf into a buffer that may be too small, remembering the length
 * that would have been needed. */
struct sbuf {
	char *buf;
	size_t len;
	size_t need;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	size_t room = b->need < b->len ? b->len - b->need : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? b->buf + b->need : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->need += (size_t)n;
}

/* Append s with C0/C1 control characters and DEL shown as '?': alert text
 * comes from containers (argv, domains) and must not drive the terminal. */
static void sb_safe(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		int c = *p;

		if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* UTF-8 C1 */
			c = '?', p++;
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		if (b->need + 1 < b->len)
			b->buf[b->need] = (char)c;
		b->need++;
	}
	if (b->len)
		b->buf[b->need < b->len ? b->need : b->len - 1] = 0;
}

static const char *const severity_color[] = {"\033[36m", "\033[33m", "\033[1;31m"};

/* alertlog_format_line with the clock text given (NULL: from a->time_ns). */
static int format_line(const struct alert *a, int color, const char *clock_text, char *buf,
		       size_t len)
{
	struct sbuf b = {buf, len, 0};
	char tag[16], clock[16];
	int sev = a->severity >= ALERT_INFO && a->severity <= ALERT_CRITICAL ? a->severity : 0;

	if (len)
		buf[0] = 0;
	snprintf(tag, sizeof(tag), "[%s]", alert_severity_name(a->severity));
	if (clock_text)
		snprintf(clock, sizeof(clock), "%s", clock_text);
	else
		alert_format_clock(a->time_ns, clock, sizeof(clock));
	if (color)
		sb_printf(&b, "%s%s\033[0m%*s ", severity_color[sev], tag, 10 - (int)strlen(tag),
			  "");
	else
		sb_printf(&b, "%-10s ", tag);
	sb_safe(&b, clock);
	sb_printf(&b, " ");
	sb_safe(&b, a->source[0] ? a->source : a->rule[0] ? a->rule : "moat");
	sb_printf(&b, ": ");
	sb_safe(&b, a->message);
	if (a->container_name[0] || a->container_id[0]) {
		char id[13];

		snprintf(id, sizeof(id), "%.12s", a->container_id);
		sb_printf(&b, " (container ");
		sb_safe(&b, a->container_name[0] ? a->container_name : id);
		sb_printf(&b, ")");
	}
	return (int)b.need;
}

int alertlog_format_line(const struct alert *a, int color, char *buf, size_t len)
{
	return format_line(a, color, NULL, buf, len);
}

char *alertlog_line_dup(const struct alert *a, int color, const char *clock_text, size_t *n)
{
	int need = format_line(a, color, clock_text, NULL, 0);
	char *s = malloc((size_t)need + 2);

	if (!s)
		return NULL;
	format_line(a, color, clock_text, s, (size_t)need + 1);
	s[need] = '\n';
	s[need + 1] = 0;
	*n = (size_t)need + 1;
	return s;
}
