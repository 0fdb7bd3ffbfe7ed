/* test_config_resources.c - the "resources" settings (src/policy/config_resources.c): the
 * seed's defaults, the section of the configuration file applied and refused (wrong type,
 * out of range, unknown key: nothing changes), a policy's own thresholds, and how they merge
 * over the configuration's. */
#include <errno.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "policy.h"

static void test_config(void)
{
	struct config c;
	const char *p;

	config_defaults(&c);
	CHECK(c.resources.enabled && c.resources.interval_ms == 2000 &&
		  c.resources.history_s == 300 && c.resources.t.cpu_percent == 80 &&
		  c.resources.t.cpu_sustain_s == 30 && c.resources.t.memory_percent == 85 &&
		  c.resources.t.memory_bytes == 0 && c.resources.t.pids_percent == 90 &&
		  c.resources.t.pids_count == 4096 && c.resources.max_procs == 64,
	      "defaults: the seed's (2 s, 80 % for 30 s, 85 %) and pids 90 % or 4096", "cpu %d",
	      c.resources.t.cpu_percent);
	p = test_tmpfile("{\n \"resources\": {\"interval_ms\": 500, \"cpu_percent\": 150,\n"
			 "  \"cpu_sustain_seconds\": 5, \"memory_bytes\": 314572800,\n"
			 "  \"history_seconds\": 60, \"max_procs_per_container\": 16,\n"
			 "  \"pids_count\": 0, \"enabled\": true}\n}\n");
	CHECK(config_load(&c, p) == 0 && c.resources.interval_ms == 500 &&
		  c.resources.t.cpu_percent == 150 && c.resources.t.cpu_sustain_s == 5 &&
		  c.resources.t.memory_bytes == 314572800 && c.resources.history_s == 60 &&
		  c.resources.max_procs == 16 && c.resources.t.pids_count == 0 &&
		  c.resources.t.memory_percent == 85,
	      "a resources section is applied (absent keys keep their value)", "interval %u",
	      c.resources.interval_ms);
	unlink(p);
	p = test_tmpfile("{\"resources\": {\"interval_ms\": 10}}");
	CHECK(config_load(&c, p) == -EINVAL && c.resources.interval_ms == 500,
	      "interval_ms below 100 is refused and changes nothing", "%u",
	      c.resources.interval_ms);
	unlink(p);
	p = test_tmpfile("{\"resources\": {\"memory_percent\": 101}}");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL, "memory_percent above 100 is refused");
	unlink(p);
	p = test_tmpfile("{\"resources\": {\"cpu_percent\": \"80\"}}");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL, "a threshold that is not a number is refused");
	unlink(p);
	p = test_tmpfile("{\"resources\": {\"cpu_precent\": 80}}");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL, "an unknown key in resources is refused");
	unlink(p);
	p = test_tmpfile("{\"resources\": [80]}");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL, "resources must be an object");
	unlink(p);
	p = test_tmpfile("{\"resources\": {\"enabled\": false}}");
	CHECK(config_load(&c, p) == 0 && !c.resources.enabled, "enabled false turns it off", "%d",
	      c.resources.enabled);
	unlink(p);
}

static void test_policy(void)
{
	struct policy_set ps;
	struct resource_config rc;
	struct resource_thresholds m;
	const char *p;

	config_resources_defaults(&rc);
	policy_defaults(&ps);
	CHECK(ps.p[0].resources.cpu_percent == -1 && ps.p[0].resources.memory_bytes == -1,
	      "the built-in policy sets no thresholds", "%d", ps.p[0].resources.cpu_percent);
	p = test_tmpfile("{\"policies\": [{\"id\": \"batch\", \"target\": {\"names\": [\"b*\"]},\n"
			 " \"resources\": {\"cpu_percent\": 0, \"memory_percent\": 95}}]}\n");
	CHECK(policy_load(&ps, p) == 0 && ps.p[0].resources.cpu_percent == 0 &&
		  ps.p[0].resources.memory_percent == 95 && ps.p[0].resources.pids_count == -1,
	      "a policy's resources are read; absent keys stay unset", "%d",
	      ps.p[0].resources.cpu_percent);
	m = config_resources_merge(&rc.t, &ps.p[0].resources);
	CHECK(m.cpu_percent == 0 && m.memory_percent == 95 && m.cpu_sustain_s == 30 &&
		  m.pids_count == 4096,
	      "merged: the policy's over the configuration's", "cpu %d mem %d", m.cpu_percent,
	      m.memory_percent);
	m = config_resources_merge(&rc.t, NULL);
	CHECK_EQ_INT(m.cpu_percent, 80, "no policy: the configuration's");
	unlink(p);
	p = test_tmpfile("{\"policies\": [{\"id\": \"x\", \"resources\": {\"cpu\": 5}}]}\n");
	CHECK(policy_load(&ps, p) == -EINVAL && ps.p[0].resources.memory_percent == 95,
	      "a policy with an unknown resources key is refused; the old ones stay", "%d",
	      ps.p[0].resources.memory_percent);
	unlink(p);
	p = test_tmpfile(
	    "{\"policies\": [{\"id\": \"x\", \"resources\": {\"pids_percent\": -1}}]}");
	CHECK_EQ_INT(policy_load(&ps, p), -EINVAL, "a negative threshold is refused");
	unlink(p);
}

int main(void)
{
	test_config();
	test_policy();
	return TEST_EXIT();
}
