/* fuzz.h - what every libFuzzer harness in tests/fuzz shares: sanitizer
 * defaults (any UBSan report is a crash), quiet logging, and a
 * NUL-terminated copy of the input.
 *
 * The daemon logs through stderr's FILE; the harnesses point it at
 * /dev/null so that every message is still formatted (a bad format
 * argument is still caught) but nothing is printed. libFuzzer and the
 * sanitizers write to file descriptor 2 directly and are unaffected.
 * FUZZ_VERBOSE=1 in the environment keeps the messages.
 */
#ifndef MOAT_FUZZ_H
#define MOAT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Defaults the sanitizer runtimes read at start-up (the environment's
 * ASAN_OPTIONS / UBSAN_OPTIONS still override them). */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=1:abort_on_error=0:strict_string_checks=1:"
	       "detect_stack_use_after_return=1:check_initialization_order=1";
}

/* FUZZ_UBSAN_SUPP: tests/fuzz/ubsan.supp (fuzz.mk passes its absolute path). */
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1:report_error_type=1"
#ifdef FUZZ_UBSAN_SUPP
	       ":suppressions=" FUZZ_UBSAN_SUPP
#endif
	    ;
}

/* An oracle failed: say which (file:line and what, on fd 2, which the
 * sanitizers and libFuzzer use too) and abort, so libFuzzer saves the input. */
#define fuzz_fail(what) fuzz_fail_at(__FILE__, __LINE__, (what))

static inline __attribute__((noreturn)) void fuzz_fail_at(const char *file, int line,
							  const char *what)
{
	dprintf(2, "fuzz: %s:%d: %s\n", file, line, what);
	abort();
}

/* Log everything (LOG_DEBUG), formatted into /dev/null. */
static inline void fuzz_quiet_logs(void)
{
	const char *v = getenv("FUZZ_VERBOSE");
	FILE *null;

	log_level = LOG_DEBUG;
	if (v && *v == '1')
		return;
	null = fopen("/dev/null", "we");
	if (null)
		stderr = null;
}

/* A malloc'ed copy of data with a NUL after it (abort when out of memory). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		fuzz_fail("out of memory");
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

#endif /* MOAT_FUZZ_H */
