/* clock.h - the clocks moat reads, in int64_t nanoseconds (or seconds), one implementation.
 *
 * Which clock for what:
 *   mono  CLOCK_MONOTONIC: intervals and deadlines inside one process (never jumps).
 *   boot  CLOCK_BOOTTIME: the clock of kernel event timestamps (bpf_ktime_get_boot_ns),
 *         so latencies against an event are measured in it; counts time suspended.
 *   unix  CLOCK_REALTIME: wall time for people and files (alert and access log times).
 * None of them fails on Linux for these clock ids; there is no error return. */
#ifndef MOAT_CLOCK_H
#define MOAT_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_NS_PER_SEC 1000000000LL

/* CLOCK_MONOTONIC now, in ns. */
int64_t clock_mono_ns(void);

/* CLOCK_BOOTTIME now, in ns: comparable with a kernel event's ts_ns. */
int64_t clock_boot_ns(void);

/* CLOCK_REALTIME now: Unix time in ns, and in whole seconds (like time(2)). */
int64_t clock_unix_ns(void);
int64_t clock_unix_s(void);

/* Unix time t (ns) as RFC 3339 UTC with milliseconds, "2026-11-26T19:00:00.123Z", into buf
 * (n bytes; 25 are enough). */
void clock_format_utc_ms(int64_t t, char *buf, size_t n);

/* Unix time minus boot time, in ns: add it to a boot-clock timestamp (a kernel event's)
 * to get its Unix time. The realtime reading is taken between two boot readings and set
 * against their midpoint, so the pair is as close to simultaneous as userspace can make
 * it. It changes when the wall clock is set: callers that cache it refresh it now and then. */
int64_t clock_boot_to_unix_offset(void);

#endif /* MOAT_CLOCK_H */
