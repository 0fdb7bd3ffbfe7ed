/* fuzz_capture.c - capture files as `moat replay` reads them (capture_open_file, then
 * capture_next to the end), with every event decoded and formatted with its container as
 * replay prints it.
 *
 * The first byte chooses the mode: odd, the rest is the decompressed record stream, which the
 * harness wraps in a valid header and one zstd frame so that mutations reach the record and
 * container parsers; even, the rest is a whole file (header, frames) as found on disk.
 *
 * Oracles besides the sanitizers: every record returned is at most CAPTURE_MAX_RECORD bytes,
 * an event record is 8-byte aligned, a container's strings are NUL-terminated with argv[argc]
 * NULL, and reading always ends.
 */
#include <errno.h>
#include <zstd.h>

#include "fuzz.h"
#include "capture.h"
#include "event.h"
#include "format.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

static const char header_json[] = "{\"moat_version\":\"0.1.0\",\"boot_to_unix_ns\":1}";

/* A file: the header, then data compressed as one frame. */
static uint8_t *wrap(const uint8_t *data, size_t size, size_t *len)
{
	size_t bound = ZSTD_compressBound(size), jl = sizeof(header_json) - 1, n;
	uint8_t *f = malloc(16 + jl + bound);
	uint16_t v = 1, fl = 0;
	uint32_t j32 = (uint32_t)jl;

	if (!f)
		fuzz_fail("out of memory");
	memcpy(f, CAPTURE_MAGIC, 8);
	memcpy(f + 8, &v, 2);
	memcpy(f + 10, &fl, 2);
	memcpy(f + 12, &j32, 4);
	memcpy(f + 16, header_json, jl);
	n = ZSTD_compress(f + 16 + jl, bound, data, size, 1);
	if (ZSTD_isError(n))
		fuzz_fail("zstd cannot compress");
	*len = 16 + jl + n;
	return f;
}

static void check_container(const struct container_info *c)
{
	if (!memchr(c->id, 0, sizeof(c->id)) || !memchr(c->name, 0, sizeof(c->name)) ||
	    !memchr(c->image, 0, sizeof(c->image)) || !memchr(c->state, 0, sizeof(c->state)) ||
	    !memchr(c->health_cmd, 0, sizeof(c->health_cmd)) || !c->labels || !c->argv ||
	    c->argv[c->argc] || c->n_nets > DOCKER_MAX_NETWORKS || c->n_dns > DOCKER_MAX_DNS)
		fuzz_fail("a container from the capture is not well formed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture_reader *r;
	struct capture_record rec;
	uint8_t *file = NULL;
	size_t len;
	FILE *f;
	long n = 0;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		file = wrap(data + 1, size - 1, &len);
	} else {
		file = malloc(size);
		if (!file)
			fuzz_fail("out of memory");
		memcpy(file, data + 1, size - 1);
		len = size - 1;
	}
	f = len ? fmemopen(file, len, "rb") : NULL;
	if (!f) {
		free(file);
		return 0;
	}
	r = capture_open_file(f, "fuzz.mcap");
	while (r && capture_next(r, &rec) > 0) {
		const struct moat_event_hdr *h;

		if (rec.len > CAPTURE_MAX_RECORD || ++n > 100000000)
			fuzz_fail("a record past the limit, or no end");
		if (rec.container)
			check_container(rec.container);
		if (rec.kind != CAPTURE_REC_EVENT)
			continue;
		if ((uintptr_t)rec.data & 7)
			fuzz_fail("an event record is not 8-byte aligned");
		h = event_decode(rec.data, rec.len);
		/* A fresh object per event (format_event_json): the reused one of
		 * format_event_json_line leaks in json-c 0.16's json_object_set_string_len when a
		 * 16-byte comm replaces another (reported; issue 12 §1 replaces that writer). */
		if (h) {
			json_object *o = format_event_json(h, rec.container, 0);

			if (!o && errno != ENOMEM)
				fuzz_fail("a decoded event cannot be formatted");
			json_object_put(o);
		}
	}
	capture_close(r);
	fclose(f);
	free(file);
	return 0;
}
