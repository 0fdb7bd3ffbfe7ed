/* fuzz_docker_event.c - lines of Docker's /events stream
 * (dockerwatch_parse_line: the JSON text of one line, then
 * dockerwatch_parse_event), as the watcher thread gets them from the
 * daemon.
 *
 * Oracles besides the sanitizers: an accepted event has an action and
 * NUL-terminated fields; a refused one is all zero.
 */
#include <errno.h>

#include "dockerwatch.h"
#include "fuzz.h"
#include "fuzz_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

#define TERMINATED(f) (memchr((f), 0, sizeof(f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* docker_stream hands over each line without its '\n', NUL-terminated. */
	char *line = fuzz_strndup(data, size);
	struct docker_event ev, zero = {0};
	int err = dockerwatch_parse_line(line, size, &ev);

	free(line);
	if (err) {
		if (err != -EPROTO || memcmp(&ev, &zero, sizeof(ev)))
			fuzz_fail("check failed");
		return 0;
	}
	if (!ev.action[0] || !TERMINATED(ev.type) || !TERMINATED(ev.action) || !TERMINATED(ev.id) ||
	    !TERMINATED(ev.name) || !TERMINATED(ev.image) || !TERMINATED(ev.network))
		fuzz_fail("check failed");
	return 0;
}
