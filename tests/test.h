/* test.h - the tiny test harness every C test uses.
 *
 * Each check prints one line, "ok - NAME" or "not ok - NAME: why", which
 * tests/run.sh counts into the closing "N passed, N failed" line. A test
 * binary exits 1 when any of its checks failed.
 */
#ifndef MOAT_TEST_H
#define MOAT_TEST_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int test_failed_count;
static int test_passed_count;

/* Record one check. `name` is printed as is; fmt explains a failure. */
#define CHECK(cond, name, ...)                                                                     \
	do {                                                                                       \
		if (cond) {                                                                        \
			test_passed_count++;                                                       \
			printf("ok - %s\n", name);                                                 \
		} else {                                                                           \
			test_failed_count++;                                                       \
			printf("not ok - %s: ", name);                                             \
			printf(__VA_ARGS__);                                                       \
			printf(" (%s:%d)\n", __FILE__, __LINE__);                                  \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

#define CHECK_EQ_INT(a, b, name)                                                                   \
	CHECK((long long)(a) == (long long)(b), name, "%s = %lld, want %lld", #a, (long long)(a),  \
	      (long long)(b))

#define CHECK_EQ_STR(a, b, name)                                                                   \
	CHECK(strcmp((a), (b)) == 0, name, "%s = \"%s\", want \"%s\"", #a, (a), (b))

/* Write text to this process's scratch file, /tmp/moat-test-<pid>.json
 * (replacing what was there), and return its path (a static buffer); the
 * caller unlinks it when done. "/nonexistent" when it cannot be written. */
static inline const char *test_tmpfile(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/moat-test-%d.json", (int)getpid());
	f = fopen(path, "we");
	if (!f)
		return "/nonexistent";
	fputs(text, f);
	fclose(f);
	return path;
}

/* Exit status of a test binary. */
#define TEST_EXIT() (test_failed_count ? 1 : 0)

#endif /* MOAT_TEST_H */
