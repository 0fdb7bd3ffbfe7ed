/* test_health.c - the health checker's rule (src/detect/health.c) and the reading it judges
 * (docker_parse_health, src/docker/dockerhealth.c): CRITICAL health-failing at N failed
 * checks in a row, once per failing spell, again after a pass; the check's output escaped. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "dockerhealth.h"
#include "health.h"

#define ID "1111111111111111111111111111111111111111111111111111111111111111"

static struct health_table t;

static struct docker_health reading(int streak, const char *status)
{
	struct docker_health r = {.failing_streak = streak, .exit_code = 1, .running = 1};

	snprintf(r.id, sizeof(r.id), "%s", ID);
	snprintf(r.status, sizeof(r.status), "%s", status);
	snprintf(r.output, sizeof(r.output), "curl: (7) refused\x1b]0;pwned\x07");
	return r;
}

static void test_rule(void)
{
	struct container_info c = {0};
	struct docker_health r;
	struct alert a;
	json_object *j, *h, *v;

	snprintf(c.id, sizeof(c.id), "%s", ID);
	snprintf(c.name, sizeof(c.name), "web");
	snprintf(c.health_cmd, sizeof(c.health_cmd), "sh -c false");
	r = reading(1, "starting");
	CHECK_EQ_INT(detect_health(&t, &r, &c, 2, 1, &a), 0, "one failed check: nothing");
	r = reading(2, "starting");
	CHECK(detect_health(&t, &r, &c, 2, 1, &a) && a.severity == ALERT_CRITICAL &&
		  !strcmp(a.rule, "health-failing") && !strcmp(a.source, "health") &&
		  strstr(a.message, "Container web failed 2 healthchecks in a row") &&
		  !strchr(a.message, 0x1b) && strstr(a.message, "\\x1b]0;pwned\\x07"),
	      "two failed checks in a row: CRITICAL health-failing, output escaped", "%s",
	      a.message);
	j = alert_to_json(&a);
	CHECK(j && json_object_object_get_ex(j, "health", &h) &&
		  json_object_object_get_ex(h, "failing_streak", &v) &&
		  json_object_get_int(v) == 2 && json_object_object_get_ex(h, "failures", &v) &&
		  json_object_get_int(v) == 2 && json_object_object_get_ex(h, "exit_code", &v) &&
		  json_object_get_int(v) == 1,
	      "the alert's health object", "%s", j ? json_object_to_json_string(j) : "NULL");
	json_object_put(j);
	alert_release(&a);
	r = reading(3, "unhealthy");
	CHECK_EQ_INT(detect_health(&t, &r, &c, 2, 1, &a), 0, "the same spell: told once");
	r = reading(0, "healthy");
	CHECK_EQ_INT(detect_health(&t, &r, &c, 2, 1, &a), 0, "a pass ends the spell");
	r = reading(2, "unhealthy");
	CHECK(detect_health(&t, &r, &c, 2, 1, &a), "a new spell alerts again", "%d", 0);
	alert_release(&a);
	r = reading(2, "unhealthy");
	r.gone = 1;
	CHECK_EQ_INT(detect_health(&t, &r, &c, 2, 1, &a), 0, "a container that is gone: nothing");
	r = reading(2, "unhealthy");
	CHECK_EQ_INT(detect_health(&t, &r, &c, 3, 1, &a), 0, "threshold 3: two are not enough");
	r = reading(3, "unhealthy");
	CHECK(detect_health(&t, &r, NULL, 3, 1, &a) && !strcmp(a.container_id, ID),
	      "no container known: the id is told", "%s", a.container_id);
	alert_release(&a);
}

static void test_parse(void)
{
	static const char *const doc =
	    "{\"Id\":\"" ID "\",\"State\":{\"Running\":true,\"Health\":{\"Status\":\"unhealthy\","
	    "\"FailingStreak\":5,\"Log\":[{\"ExitCode\":0,\"Output\":\"fine\"},{\"ExitCode\":"
	    "-1,\"Output\":\"Health check exceeded timeout (1s)\\n\",\"End\":"
	    "\"2024-01-01T00:00:01.5Z\"}]}}}";
	json_object *o = json_tokener_parse(doc);
	struct docker_health r;

	CHECK(o && docker_parse_health(o, &r) == 0 && r.failing_streak == 5 && r.exit_code == -1 &&
		  !strcmp(r.status, "unhealthy") &&
		  !strcmp(r.output, "Health check exceeded timeout (1s)") &&
		  r.end_ns == 1704067201500000000LL && r.running,
	      "an inspect answer: the last Log entry, newline trimmed", "streak %d out %s",
	      r.failing_streak, r.output);
	json_object_put(o);
	o = json_tokener_parse("{\"Id\":\"" ID "\",\"State\":{\"Health\":{\"FailingStreak\":"
			       "\"many\",\"Log\":\"x\"}}}");
	CHECK(o && docker_parse_health(o, &r) == 0 && r.failing_streak == 0 && r.exit_code == -1,
	      "wrong types are left empty", "%d", r.failing_streak);
	json_object_put(o);
	o = json_tokener_parse("[1]");
	CHECK_EQ_INT(docker_parse_health(o, &r), -EPROTO, "not an object: -EPROTO");
	json_object_put(o);
}

int main(void)
{
	test_rule();
	test_parse();
	return TEST_EXIT();
}
