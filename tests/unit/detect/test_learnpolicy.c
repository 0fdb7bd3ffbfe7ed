/* test_learnpolicy.c - a baseline turned into a policy and a rule set, both loaded back by
 * moat's real loaders (policy_load, rules_load). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "learnpolicy.h"
#include "policy.h"
#include "rulesfile.h"
#include "test.h"

/* Build im's policy with wildcards w, save the rules to a file, load both with the real
 * loaders. Returns 0 with *ps and *rs filled. */
static int build_and_load(struct baseline_image *im, unsigned w, struct policy_set *ps,
			  struct ruleset *rs, json_object **notes)
{
	char rpath[64];
	struct learnpolicy_opts o = {.wildcards = w, .rules_path = rpath};
	struct ruleset gen = {0};
	json_object *doc = NULL;
	const char *text, *ppath;
	int err;

	snprintf(rpath, sizeof(rpath), "/tmp/moat-test-rules-%d.json", (int)getpid());
	err = learnpolicy_build(im, &o, &doc, &gen, notes);
	if (err)
		return err;
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY);
	ppath = test_tmpfile(text);
	err = rules_save(&gen, rpath);
	if (!err)
		err = policy_load(ps, ppath);
	if (!err)
		err = rules_load(rs, ps->p[0].egress_rules);
	unlink(ppath);
	unlink(rpath);
	rules_free(&gen);
	json_object_put(doc);
	return err;
}

static int has_rule(const struct ruleset *rs, const char *match)
{
	for (int i = 0; i < rs->n; i++)
		if (!strcmp(rs->rules[i].match, match) && rs->rules[i].kind == RULE_ALLOW_DOMAIN)
			return 1;
	return 0;
}

int main(void)
{
	struct baseline *b = baseline_new(NULL);
	struct baseline_image *im = baseline_image(b, "registry.test/app:1.0", 1);
	struct policy_set *ps = calloc(1, sizeof(*ps));
	struct ruleset rs = {0};
	json_object *notes = NULL;
	const struct policy *p;
	const struct rule *r;
	char id[64];
	int err;

	baseline_record(b, im, BL_EXEC, "/bin/sh", NULL, "runc", 1);
	baseline_record(b, im, BL_EXEC, "/usr/local/bin/app.py", "/usr/bin/python3", "sh", 1);
	baseline_record(b, im, BL_EXEC, "wget", NULL, "sh", 1);
	baseline_record(b, im, BL_DOMAIN, "api.example.test", NULL, NULL, 1);
	baseline_record(b, im, BL_CONNECT, "api.example.test:443/tcp", NULL, NULL, 1);
	baseline_record(b, im, BL_CONNECT, "db.internal.test:5432/tcp", NULL, NULL, 1);
	baseline_record(b, im, BL_DOMAIN, "a.cdn.example.test", NULL, NULL, 1);
	baseline_record(b, im, BL_DOMAIN, "b.cdn.example.test", NULL, NULL, 1);
	baseline_record(b, im, BL_DOMAIN, "c.cdn.example.test", NULL, NULL, 1);
	baseline_record(b, im, BL_DIRECT, "10.1.2.3:8080/tcp", NULL, NULL, 1);
	baseline_record(b, im, BL_UDP, "metrics.example.test:8125", NULL, NULL, 1);
	baseline_record(b, im, BL_DOMAIN, "bad..name", NULL, NULL, 1);

	err = build_and_load(im, 0, ps, &rs, &notes);
	CHECK_EQ_INT(err, 0, "the generated policy and rules load with moat's own loaders");
	p = &ps->p[0];
	learnpolicy_id("registry.test/app:1.0", id, sizeof(id));
	CHECK_EQ_STR(id, "learned-registry.test-app-1.0", "the id is the image name made safe");
	CHECK(ps->n == 1 && !strcmp(p->id, id) && p->n_images == 1 &&
		  !strcmp(p->images[0], "registry.test/app:1.0"),
	      "one policy targeting the image", "n %d id %s", ps->n, p->id);
	CHECK(p->egress == POLICY_EGRESS_ENFORCE && (p->actions & POLICY_ACT_KILL_EXEC),
	      "egress enforce with kill_exec", "egress %d actions %d", p->egress, p->actions);
	CHECK(p->n_exec_allow == 4 && policy_exec_allowed(p, "sh") &&
		  policy_exec_allowed(p, "app.py") && policy_exec_allowed(p, "python3") &&
		  policy_exec_allowed(p, "wget") && !policy_exec_allowed(p, "nc"),
	      "exec_allow: the base names run and their interpreters, nothing else", "n %d",
	      p->n_exec_allow);
	CHECK(rs.default_deny, "the rule set denies by default", "allow");
	CHECK(has_rule(&rs, "api.example.test") && has_rule(&rs, "db.internal.test") &&
		  has_rule(&rs, "metrics.example.test") && has_rule(&rs, "a.cdn.example.test") &&
		  rs.n == 6,
	      "a rule per learned name: resolved, connected to, UDP peers (6)", "n %d", rs.n);
	CHECK(rules_decide(&rs, "db.internal.test", &r) == MOAT_ACT_ALLOW &&
		  rules_decide(&rs, "evil.test", &r) == MOAT_ACT_DENY &&
		  rules_decide(&rs, "d.cdn.example.test", &r) == MOAT_ACT_DENY,
	      "learned names are allowed, others denied (no wildcard unless asked)", "wrong");
	CHECK(notes && strstr(json_object_to_json_string(notes), "10.1.2.3:8080") &&
		  strstr(json_object_to_json_string(notes), "bad..name"),
	      "the direct IP and the invalid name are reported, not put in the rules", "%s",
	      json_object_to_json_string(notes));
	json_object_put(notes);
	rules_free(&rs);

	err = build_and_load(im, 3, ps, &rs, &notes);
	CHECK_EQ_INT(err, 0, "with --wildcards 3 the policy loads too");
	CHECK(has_rule(&rs, "*.cdn.example.test") && !has_rule(&rs, "a.cdn.example.test") &&
		  has_rule(&rs, "api.example.test"),
	      "3 names under cdn.example.test collapse to *.cdn.example.test; others stay", "n %d",
	      rs.n);
	CHECK(rules_decide(&rs, "d.cdn.example.test", &r) == MOAT_ACT_ALLOW,
	      "the wildcard allows a new name under the parent", "denied");
	json_object_put(notes);
	rules_free(&rs);

	err = build_and_load(im, 4, ps, &rs, &notes);
	CHECK(!err && has_rule(&rs, "a.cdn.example.test") && !has_rule(&rs, "*.cdn.example.test"),
	      "below the threshold nothing collapses", "err %d", err);
	CHECK(!has_rule(&rs, "*.example.test"),
	      "no wildcard is made over a two-label parent or more than asked", "made");
	json_object_put(notes);
	rules_free(&rs);
	{
		struct learnpolicy_opts o = {.rules_path = "relative.json"};
		json_object *doc = NULL;
		struct ruleset g = {0};

		CHECK_EQ_INT(learnpolicy_build(im, &o, &doc, &g, &notes), -EINVAL,
			     "a relative rules path is refused");
		json_object_put(notes);
		rules_free(&g);
	}
	{
		struct baseline_image *uk = baseline_image(b, "uk:1", 1);

		baseline_record(b, uk, BL_DOMAIN, "shop.co.uk", NULL, NULL, 1);
		baseline_record(b, uk, BL_DOMAIN, "bank.co.uk", NULL, NULL, 1);
		err = build_and_load(uk, 2, ps, &rs, &notes);
		CHECK(!err && !has_rule(&rs, "*.co.uk") && has_rule(&rs, "shop.co.uk"),
		      "no wildcard over a public suffix like co.uk", "err %d n %d", err, rs.n);
		json_object_put(notes);
		rules_free(&rs);
	}
	free(ps);
	baseline_free(b);
	return TEST_EXIT();
}
