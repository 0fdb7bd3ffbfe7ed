/* fuzz_export_spool.c - the export spool's batch files read back (export_spool_open's scan
 * of the headers, export_spool_oldest's checks of header, length and checksum): anything on
 * disk under the spool directory is hostile input.
 *
 * Oracles besides the sanitizers: a batch handed back has at least one row, rows that end in
 * a newline and hold no NUL byte, and is no longer than the file; a file refused is deleted
 * and counted as corrupt; the spool is empty afterwards either way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export_int.h"
#include "fuzz.h"

static char dir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	snprintf(dir, sizeof(dir), "/tmp/moat-fuzz-spool-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cls[] = {"events", "low", "alerts"};
	struct export_spool_stats st;
	struct export_spool *s;
	struct export_batch *b = NULL;
	char path[128];
	FILE *f;
	int err;

	/* The first byte picks the class in the file name. */
	snprintf(path, sizeof(path), "%s/00000000000000000042.%s", dir,
		 cls[size ? data[0] % 3 : 0]);
	f = fopen(path, "we");
	if (!f)
		return 0;
	if (size > 1)
		fwrite(data + 1, 1, size - 1, f);
	fclose(f);
	s = export_spool_open(dir, 1u << 30);
	if (!s)
		fuzz_fail("the spool directory could not be opened");
	err = export_spool_oldest(s, &b);
	if (!err) {
		if (!b->rows || !b->len || b->len > size || b->buf[b->len - 1] != '\n' ||
		    memchr(b->buf, 0, b->len))
			fuzz_fail("a batch handed back breaks its contract");
		export_spool_remove(s, b->id);
		export_batch_free(b);
	} else if (err != -ENOENT) {
		fuzz_fail("export_spool_oldest failed other than empty");
	}
	export_spool_stats(s, &st);
	if (st.files || !access(path, F_OK))
		fuzz_fail("the file is still in the spool");
	if (err == -ENOENT && !st.corrupt)
		fuzz_fail("a refused file was not counted");
	export_spool_close(s);
	unlink(path);
	return 0;
}
