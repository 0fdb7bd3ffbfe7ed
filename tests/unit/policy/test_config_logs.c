/* test_config_logs.c - the "logs" and "health" settings (src/policy/config_logs.c): the
 * defaults, a valid file applied, each bad value refused with "file:line: key: reason" and
 * the running configuration unchanged, a regex that does not compile named, a containers
 * entry's "logs", and a policy's "logs" and "health". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "policy.h"
#include "severity.h"

static char errs[4096];

/* config_load with stderr captured into errs. */
static int load_capture(struct config *c, const char *text)
{
	const char *p = test_tmpfile(text);
	char path[] = "/tmp/moat-test-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), rc;
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	rc = config_load(c, p);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, errs, sizeof(errs) - 1, 0);
	errs[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	unlink(p);
	return rc;
}

static void test_config(void)
{
	struct config c;

	config_defaults(&c);
	CHECK(c.logs.enabled && c.logs.default_patterns && c.logs.rate_alerts == 1 &&
		  c.logs.rate_window_s == 60 && c.logs.max_bytes_per_s == 1u << 20 &&
		  c.health.enabled && c.health.failures == 2 && c.health.poll_s == 10,
	      "defaults: logs on with the seed's patterns, 1 alert/60 s, 1 MiB/s; health after 2",
	      "%d %u", c.logs.enabled, c.health.failures);
	CHECK(load_capture(
		  &c, "{\n \"logs\": {\n  \"rate_limit_alerts\": 3,\n"
		      "  \"rate_limit_seconds\": 10,\n  \"max_bytes_per_second\": 65536,\n"
		      "  \"patterns\": [{\"name\": \"heap\", \"regex\": \"heap out of "
		      "memory\", \"severity\": \"CRITICAL\", \"ignore_case\": true}]\n },\n"
		      " \"health\": {\"failures\": 3, \"poll_seconds\": 0},\n"
		      " \"containers\": [{\"match\": \"noisy-*\", \"logs\": false}]\n}\n") == 0 &&
		  c.logs.rate_alerts == 3 && c.logs.rate_window_s == 10 &&
		  c.logs.max_bytes_per_s == 65536 && c.logs.n_patterns == 1 &&
		  c.logs.patterns[0].severity == ALERT_CRITICAL && c.logs.patterns[0].icase &&
		  c.health.failures == 3 && c.health.poll_s == 0 &&
		  config_container(&c, "noisy-1")->logs == 0,
	      "a valid file is applied", "%s", errs);
	CHECK(load_capture(&c, "{\n \"logs\": {\n  \"patterns\": [{\"name\": \"x\", \"regex\": "
			       "\"(unclosed\"}]\n }\n}\n") == -EINVAL &&
		  strstr(errs, ":3: patterns: pattern \"x\": regex /(unclosed/ does not compile") &&
		  c.logs.n_patterns == 1 && !strcmp(c.logs.patterns[0].name, "heap"),
	      "a regex that does not compile: file:line, the pattern, and nothing changes", "%s",
	      errs);
	CHECK(load_capture(&c, "{\n\n \"health\": {\"failures\": 0}\n}\n") == -EINVAL &&
		  strstr(errs, ":3: failures: must be a whole number from 1 to 100") &&
		  c.health.failures == 3,
	      "health.failures 0 is refused with its line", "%s", errs);
	CHECK(load_capture(&c, "{\"logs\": {\"enabeld\": false}}") == -EINVAL &&
		  strstr(errs, "unknown key \"enabeld\" in \"logs\"") && c.logs.enabled,
	      "a typo in \"logs\" is refused", "%s", errs);
	CHECK(load_capture(&c, "{\"logs\": {\"patterns\": [{\"regex\": \"x\"}]}}") == -EINVAL &&
		  strstr(errs, "needs \"name\""),
	      "a pattern without a name is refused", "%s", errs);
	CHECK(load_capture(&c, "{\"logs\": {\"patterns\": [{\"name\": \"a\", \"regex\": \"x\", "
			       "\"severity\": \"LOUD\"}]}}") == -EINVAL &&
		  strstr(errs, "INFO, WARNING or CRITICAL"),
	      "a bad severity is refused", "%s", errs);
	CHECK(load_capture(&c, "{\"containers\": [{\"match\": \"a\", \"logs\": \"no\"}]}") ==
		      -EINVAL &&
		  strstr(errs, "logs: must be true or false"),
	      "a containers entry's logs must be a boolean", "%s", errs);
	CHECK(load_capture(&c, "{\"logs\": {\"enabled\": false}}") == 0 && !c.logs.enabled,
	      "logs off globally", "%s", errs);
}

static void test_policy(void)
{
	struct policy_set *ps = malloc(sizeof(*ps));
	static const char good[] =
	    "{\"policies\": [{\"id\": \"agents\", \"target\": {\"names\": [\"agent-*\"]},\n"
	    " \"logs\": {\"default_patterns\": false, \"patterns\": [{\"name\": \"leak\", "
	    "\"regex\": \"AKIA[0-9A-Z]{16}\", \"severity\": \"CRITICAL\"}]},\n"
	    " \"health\": {\"failures\": 4}},\n"
	    " {\"id\": \"quiet\", \"logs\": {\"enabled\": false}, \"health\": {\"enabled\": "
	    "false}}]}\n";
	static const char bad[] = "{\"policies\": [{\"id\": \"p\", \"logs\": {\"patterns\": "
				  "[{\"name\": \"b\", \"regex\": \"[z-a]\"}]}}]}";

	policy_defaults(ps);
	CHECK(ps->p[0].logs.enabled == -1 && ps->p[0].logs.health_failures == -1,
	      "the built-in policy leaves logs and health to the configuration", "%d",
	      ps->p[0].logs.enabled);
	CHECK(policy_load_buf(ps, "pol.json", good, sizeof(good) - 1) == 0 && ps->n == 2 &&
		  ps->p[0].logs.default_patterns == 0 && ps->p[0].logs.n_patterns == 1 &&
		  ps->p[0].logs.patterns[0].severity == ALERT_CRITICAL &&
		  ps->p[0].logs.health_failures == 4 && ps->p[1].logs.enabled == 0 &&
		  ps->p[1].logs.health_enabled == 0,
	      "a policy's logs and health", "n %d", ps->n);
	CHECK(policy_load_buf(ps, "pol.json", bad, sizeof(bad) - 1) == -EINVAL && ps->n == 2,
	      "a policy with a bad regex is refused; the policies in force stay", "n %d", ps->n);
	free(ps);
}

int main(void)
{
	test_config();
	test_policy();
	return TEST_EXIT();
}
