/* test_clock.c - the clocks of src/lib/clock.c agree with each other and with the kernel's. */
#include <stdint.h>
#include <time.h>

#include "test.h"
#include "clock.h"

static int64_t absdiff(int64_t a, int64_t b)
{
	return a > b ? a - b : b - a;
}

int main(void)
{
	struct timespec ts;
	int64_t m1, m2, off, b, u, s;

	m1 = clock_mono_ns();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	m2 = clock_mono_ns();
	CHECK(m1 <= (int64_t)ts.tv_sec * CLOCK_NS_PER_SEC + ts.tv_nsec &&
		  (int64_t)ts.tv_sec * CLOCK_NS_PER_SEC + ts.tv_nsec <= m2,
	      "clock_mono_ns is CLOCK_MONOTONIC in ns", "%lld, %lld.%09ld, %lld", (long long)m1,
	      (long long)ts.tv_sec, ts.tv_nsec, (long long)m2);

	clock_gettime(CLOCK_BOOTTIME, &ts);
	b = clock_boot_ns();
	CHECK(absdiff(b, (int64_t)ts.tv_sec * CLOCK_NS_PER_SEC + ts.tv_nsec) < 50000000,
	      "clock_boot_ns is CLOCK_BOOTTIME in ns", "%lld vs %lld.%09ld", (long long)b,
	      (long long)ts.tv_sec, ts.tv_nsec);

	u = clock_unix_ns();
	s = clock_unix_s();
	CHECK(s - u / CLOCK_NS_PER_SEC >= 0 && s - u / CLOCK_NS_PER_SEC <= 1,
	      "clock_unix_s is clock_unix_ns in whole seconds", "%lld vs %lld", (long long)s,
	      (long long)u);
	CHECK(absdiff(s, (int64_t)time(NULL)) <= 1, "clock_unix_s is time(2)", "%lld vs %lld",
	      (long long)s, (long long)time(NULL));

	off = clock_boot_to_unix_offset();
	b = clock_boot_ns();
	u = clock_unix_ns();
	CHECK(absdiff(b + off, u) < 10000000,
	      "a boot timestamp plus clock_boot_to_unix_offset is its Unix time (within 10 ms)",
	      "boot %lld + offset %lld = %lld, unix %lld", (long long)b, (long long)off,
	      (long long)(b + off), (long long)u);
	return TEST_EXIT();
}
