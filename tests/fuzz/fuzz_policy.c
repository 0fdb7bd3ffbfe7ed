/* fuzz_policy.c - the policies file (policy_load_buf, what policy_load runs
 * on a file's contents).
 *
 * Oracles besides the sanitizers: a refused file leaves the policies in
 * force exactly as they were; an accepted one is sorted by priority, has
 * unique ids and known actions, and is matched against a few containers as
 * the daemon does on every alert.
 */
#include <errno.h>

#include "alert.h"
#include "fuzz.h"
#include "fuzz_json.h"
#include "policy.h"

static struct policy_set *ps, *before;
static struct container_info containers[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	ps = malloc(sizeof(*ps));
	before = malloc(sizeof(*before));
	if (!ps || !before)
		fuzz_fail("check failed");
	snprintf(containers[0].name, sizeof(containers[0].name), "agent-7");
	snprintf(containers[0].image, sizeof(containers[0].image), "python:3.12");
	containers[0].labels = json_object_new_object();
	json_object_object_add(containers[0].labels, "tier", json_object_new_string("untrusted"));
	snprintf(containers[1].name, sizeof(containers[1].name), "web");
	snprintf(containers[1].image, sizeof(containers[1].image), "nginx");
	containers[1].labels = json_object_new_object();
	/* containers[2]: all empty, no labels object */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int err;

	policy_defaults(ps);
	memcpy(before, ps, sizeof(*ps));
	err = policy_load_buf(ps, "policies.json", (const char *)data, size);
	if (err) {
		if (err != -EINVAL && err != -ENOMEM)
			fuzz_fail("check failed");
		if (memcmp(before, ps, sizeof(*ps)))
			fuzz_fail("a refused file changed the policies");
		return 0;
	}
	if (ps->n < 0 || ps->n > POLICY_MAX || strcmp(ps->path, "policies.json"))
		fuzz_fail("check failed");
	for (int i = 0; i < ps->n; i++) {
		const struct policy *p = &ps->p[i];

		if (!p->id[0] || (i && ps->p[i - 1].priority > p->priority) ||
		    p->severity_threshold < ALERT_INFO || p->severity_threshold > ALERT_CRITICAL ||
		    p->egress < -1 || p->egress > POLICY_EGRESS_LEARN || (p->actions & ~15) ||
		    p->n_names < 0 || p->n_exec_allow < 0 || p->n_exec_allow > POLICY_MAX_EXEC ||
		    p->n_names > POLICY_MAX_GLOBS || p->n_images < 0 ||
		    p->n_images > POLICY_MAX_GLOBS || p->n_labels < 0 ||
		    p->n_labels > POLICY_MAX_GLOBS || p->n_networks < 0 || p->n_networks > 8 ||
		    (p->egress_rules[0] && p->egress_rules[0] != '/'))
			fuzz_fail("check failed");
		for (int k = 0; k < p->n_exec_allow; k++)
			if (!p->exec_allow[k][0] || strchr(p->exec_allow[k], '/'))
				fuzz_fail("an empty name or a path in exec_allow was accepted");
		for (int k = 0; k < i; k++)
			if (!strcmp(ps->p[k].id, p->id))
				fuzz_fail("duplicate ids were accepted");
	}
	for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
		policy_match(ps, &containers[i]);
	return 0;
}
