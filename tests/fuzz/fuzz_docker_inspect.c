/* fuzz_docker_inspect.c - Docker Engine API answers: the text of a
 * GET /containers/<id>/json answer parsed as docker_get does, then
 * docker_parse_inspect (the container metadata every alert and policy
 * match uses).
 *
 * Oracles besides the sanitizers: an accepted answer gives NUL-terminated
 * fields, an id, argv[argc] == NULL, a labels object, at most
 * DOCKER_MAX_NETWORKS networks; copying and clearing it is clean.
 */
#include <errno.h>

#include "docker.h"
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
	char *text = fuzz_strndup(data, size);
	enum json_tokener_error jerr;
	json_object *o = json_tokener_parse_verbose(text, &jerr);
	struct container_info c, copy;
	int err;

	free(text);
	err = docker_parse_inspect(o, &c);
	json_object_put(o);
	if (err) {
		if (err != -EPROTO && err != -ENOMEM)
			fuzz_fail("check failed");
		return 0;
	}
	if (!c.id[0] || !TERMINATED(c.id) || !TERMINATED(c.name) || !TERMINATED(c.image) ||
	    !TERMINATED(c.state) || !TERMINATED(c.health) || !TERMINATED(c.health_cmd) ||
	    !TERMINATED(c.cgroup) || !c.argv || c.argc < 0 || c.argv[c.argc] || !c.labels ||
	    !json_object_is_type(c.labels, json_type_object) || c.n_nets < 0 ||
	    c.n_nets > DOCKER_MAX_NETWORKS || c.started_at < 0)
		fuzz_fail("check failed");
	for (int i = 0; i < c.argc; i++)
		if (!c.argv[i])
			fuzz_fail("check failed");
	for (int i = 0; i < c.n_nets; i++)
		if (!TERMINATED(c.nets[i].name) || !TERMINATED(c.nets[i].ipv4) ||
		    !TERMINATED(c.nets[i].gw4) || !TERMINATED(c.nets[i].ipv6) ||
		    !TERMINATED(c.nets[i].gw6))
			fuzz_fail("check failed");
	container_label(&c, "tier");
	container_label(&c, "com.docker.compose.project");
	if (container_info_copy(&copy, &c))
		fuzz_fail("check failed");
	container_info_clear(&c);
	if (copy.argc && strcmp(copy.argv[0], copy.argv[0]))
		fuzz_fail("check failed");
	container_info_clear(&copy);
	return 0;
}
