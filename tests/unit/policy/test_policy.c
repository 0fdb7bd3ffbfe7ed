/* test_policy.c - policy files: validation, priority order, first match,
 * name/image/label filters, actions, the built-in default. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "alert.h"
#include "policy.h"

static void container(struct container_info *c, const char *name, const char *image,
		      const char *label_k, const char *label_v)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->image, sizeof(c->image), "%s", image);
	c->labels = json_object_new_object();
	c->image_labels = json_object_new_object(); /* the image sets none: docker run's labels */
	if (label_k)
		json_object_object_add(c->labels, label_k, json_object_new_string(label_v));
}

int main(void)
{
	struct policy_set *ps = malloc(sizeof(*ps));
	struct container_info a, b, c, d;
	const struct policy *p;
	const char *path;

	policy_defaults(ps);
	container(&a, "web", "nginx:1.25", NULL, NULL);
	p = policy_match(ps, &a);
	CHECK(p && !strcmp(p->id, "default") && p->actions == POLICY_ACT_PAUSE &&
		  p->severity_threshold == ALERT_CRITICAL,
	      "default: every container, CRITICAL -> pause", "p=%p", (void *)p);

	path = test_tmpfile(
	    "{\"policies\": [\n"
	    " {\"id\": \"low\", \"priority\": 50, \"actions\": [\"alert\"]},\n"
	    " {\"id\": \"agents\", \"priority\": 10, \"target\": {\"names\": [\"agent-*\"]},\n"
	    "  \"severity_threshold\": \"WARNING\", \"egress\": \"interactive\",\n"
	    "  \"egress_rules\": \"/etc/moat/agents.json\",\n"
	    "  \"actions\": [\"pause\", \"kill_exec\"]},\n"
	    " {\"id\": \"images\", \"priority\": 20, \"target\": {\"images\": [\"python:*\"]},\n"
	    "  \"actions\": [\"stop\", {\"network_disconnect\": [\"bridge\"]}]},\n"
	    " {\"id\": \"labels\", \"priority\": 30, \"target\": {\"labels\": "
	    "[\"tier=untrusted\"]},\n"
	    "  \"actions\": [\"network_disconnect\"]},\n"
	    " {\"id\": \"off\", \"priority\": 1, \"enabled\": false, \"actions\": [\"stop\"]}\n"
	    "]}\n");
	CHECK_EQ_INT(policy_load(ps, path), 0, "a valid policies file loads");
	CHECK_EQ_INT(ps->n, 5, "five policies");
	CHECK(!strcmp(ps->p[0].id, "off") && !strcmp(ps->p[1].id, "agents"), "sorted by priority",
	      "%s %s", ps->p[0].id, ps->p[1].id);
	container(&b, "agent-7", "python:3.12", NULL, NULL);
	p = policy_match(ps, &b);
	CHECK(p && !strcmp(p->id, "agents") && p->egress == 2 &&
		  p->actions == (POLICY_ACT_PAUSE | POLICY_ACT_KILL_EXEC) &&
		  p->severity_threshold == ALERT_WARNING,
	      "name glob wins by priority over the image match (first match)", "%s",
	      p ? p->id : "none");
	CHECK(p && !strcmp(p->egress_rules, "/etc/moat/agents.json") && !ps->p[0].egress_rules[0],
	      "egress_rules names the policy's own rule set; none by default", "%s",
	      p ? p->egress_rules : "none");
	container(&c, "job", "python:3.12", NULL, NULL);
	p = policy_match(ps, &c);
	CHECK(p && !strcmp(p->id, "images") && (p->actions & POLICY_ACT_STOP) &&
		  p->n_networks == 1 && !strcmp(p->networks[0], "bridge"),
	      "image glob; stop and network_disconnect [bridge]", "%s", p ? p->id : "none");
	container(&d, "svc", "nginx", "tier", "untrusted");
	p = policy_match(ps, &d);
	CHECK(p && !strcmp(p->id, "labels"), "label selector", "%s", p ? p->id : "none");
	json_object_object_add(d.labels, "tier", json_object_new_string("trusted"));
	p = policy_match(ps, &d);
	CHECK(p && !strcmp(p->id, "low"), "label value must match; falls to the catch-all", "%s",
	      p ? p->id : "none");
	CHECK(policy_match(ps, NULL) == NULL, "no container, no policy", "matched");
	/* An image cannot select a policy by the labels it sets itself. */
	json_object_object_add(d.labels, "tier", json_object_new_string("untrusted"));
	json_object_object_add(d.image_labels, "tier", json_object_new_string("untrusted"));
	p = policy_match(ps, &d);
	CHECK(p && !strcmp(p->id, "low"), "a label the image sets does not select a policy", "%s",
	      p ? p->id : "none");
	ps->trust_image_labels = 1;
	p = policy_match(ps, &d);
	CHECK(p && !strcmp(p->id, "labels"), "unless trust_image_labels", "%s", p ? p->id : "none");
	ps->trust_image_labels = 0;
	json_object_put(d.image_labels);
	d.image_labels = NULL;
	p = policy_match(ps, &d);
	CHECK(p && !strcmp(p->id, "low"), "labels of an image moat could not inspect do not count",
	      "%s", p ? p->id : "none");

	path = test_tmpfile("{\"policies\": [{\"id\": \"x\", \"actions\": [\"explode\"]}]}");
	CHECK(policy_load(ps, path) == -EINVAL && ps->n == 5,
	      "a bad action refuses the file and keeps the policies", "n=%d", ps->n);
	path = test_tmpfile("{\"policies\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}");
	CHECK_EQ_INT(policy_load(ps, path), -EINVAL, "duplicate ids are refused");
	path = test_tmpfile("{\"policies\": [{\"id\": \"a\", \"egress_rules\": \"rel.json\"}]}");
	CHECK_EQ_INT(policy_load(ps, path), -EINVAL, "a relative egress_rules path is refused");
	path = test_tmpfile("{\"policies\": [{\"id\": \"a\", \"severity_threshold\": \"LOUD\"}]}");
	CHECK_EQ_INT(policy_load(ps, path), -EINVAL, "a bad severity is refused");
	path = test_tmpfile("{\"policies\": [");
	CHECK_EQ_INT(policy_load(ps, path), -EINVAL, "bad JSON is refused");
	CHECK_EQ_INT(policy_load(ps, "/nonexistent/policies.json"), -ENOENT,
		     "a missing file is -ENOENT");
	unlink(path);
	json_object_put(a.labels);
	json_object_put(b.labels);
	json_object_put(c.labels);
	json_object_put(d.labels);
	free(ps);
	return TEST_EXIT();
}
