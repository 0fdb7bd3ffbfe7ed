/* clock.c - the clocks moat reads, in int64_t nanoseconds (clock.h). */
#include <stdio.h>
#include <time.h>

#include "clock.h"

static int64_t read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * CLOCK_NS_PER_SEC + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
	return read_ns(CLOCK_MONOTONIC);
}

int64_t clock_boot_ns(void)
{
	return read_ns(CLOCK_BOOTTIME);
}

int64_t clock_unix_ns(void)
{
	return read_ns(CLOCK_REALTIME);
}

int64_t clock_unix_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t clock_boot_to_unix_offset(void)
{
	int64_t b1 = clock_boot_ns(), rt = clock_unix_ns(), b2 = clock_boot_ns();

	return rt - (b1 + (b2 - b1) / 2);
}

void clock_format_utc_ms(int64_t t, char *buf, size_t n)
{
	time_t s = (time_t)(t / CLOCK_NS_PER_SEC);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(t % CLOCK_NS_PER_SEC / 1000000));
}
