/* fuzz_config.c - the configuration file (config_load_buf, what config_load
 * runs on a file's contents).
 *
 * Oracles besides the sanitizers: a refused file leaves the configuration
 * exactly as it was; an accepted one stays within the documented limits.
 * The container rules of an accepted file are then matched against a few
 * names, as the daemon does on every exec.
 */
#include <errno.h>

#include "config.h"
#include "fuzz.h"
#include "fuzz_json.h"

static struct config *cfg, *before;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	cfg = malloc(sizeof(*cfg));
	before = malloc(sizeof(*before));
	if (!cfg || !before)
		fuzz_fail("check failed");
	return 0;
}

static void check_names(const struct name_list *l)
{
	if (l->n < 0 || l->n > CONFIG_MAX_NAMES)
		fuzz_fail("check failed");
	for (int i = 0; i < l->n; i++)
		if (!memchr(l->names[i], 0, CONFIG_NAME_LEN))
			fuzz_fail("check failed");
	name_list_has(l, "sh");
	name_list_has(l, "python3.12");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"web", "agent-7", "", "a-very-long-container-name"};
	int err;

	config_defaults(cfg);
	memcpy(before, cfg, sizeof(*cfg));
	err = config_load_buf(cfg, "moat.json", (const char *)data, size);
	if (err) {
		if (err != -EINVAL && err != -EFBIG && err != -ENOMEM)
			fuzz_fail("check failed");
		if (memcmp(before, cfg, sizeof(*cfg)))
			fuzz_fail("a refused file changed the configuration");
		return 0;
	}
	if (strcmp(cfg->path, "moat.json") || cfg->n_cgroups < 0 ||
	    cfg->n_cgroups > CONFIG_MAX_CGROUPS || cfg->n_containers < 0 ||
	    cfg->n_containers > CONFIG_MAX_CONTAINERS || cfg->nice < -20 || cfg->nice > 19 ||
	    cfg->ring_buffer_kib < 64 || (cfg->ring_buffer_kib & (cfg->ring_buffer_kib - 1)) ||
	    cfg->action_attempts < 1 || cfg->action_max_concurrent < 1 ||
	    cfg->action_max_concurrent > 16 || cfg->egress < 0 || cfg->egress > 2)
		fuzz_fail("check failed");
	check_names(&cfg->shells);
	check_names(&cfg->runtimes);
	check_names(&cfg->net_tools);
	for (int i = 0; i < cfg->n_containers; i++)
		check_names(&cfg->containers[i].exec_allow);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		config_container(cfg, names[i]);
	/* outputs (config_outputs.c): within their limits, every string terminated */
	if (cfg->outputs.n < 0 || cfg->outputs.n > OUTPUTS_MAX)
		fuzz_fail("check failed");
	for (int i = 0; i < cfg->outputs.n; i++) {
		const struct output_conf *o = &cfg->outputs.o[i];

		if (o->type < 0 || o->type >= OUTPUT_TYPE_NR || o->argc < 0 ||
		    o->argc > OUTPUT_MAX_ARGS || o->n_headers < 0 ||
		    o->n_headers > OUTPUT_MAX_HEADERS || o->min_severity < 0 ||
		    o->min_severity > 2 || o->max_concurrent < 1 || o->max_concurrent > 16 ||
		    !memchr(o->name, 0, sizeof(o->name)) || !memchr(o->url, 0, sizeof(o->url)) ||
		    (o->type == OUTPUT_WEBHOOK && strncmp(o->url, "http://", 7) &&
		     strncmp(o->url, "https://", 8)) ||
		    (o->type == OUTPUT_EXEC && (!o->argc || (!o->shell && o->argv[0][0] != '/'))))
			fuzz_fail("check failed");
		for (int h = 0; h < o->n_headers; h++)
			if (strpbrk(o->headers[h], "\r\n"))
				fuzz_fail("a header with CR or LF");
	}
	return 0;
}
