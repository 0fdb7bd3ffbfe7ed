/* test_daemon_learnrec.c - learn mode inside moat run (src/daemon/learnrec.c) with the real
 * store, detections, policies loader and rule-set code: the learn command starts and stops an
 * image; events of its containers are recorded while it learns and judged once it does not;
 * a policy with "egress": "learn" records without a command; the store is saved at exit and
 * loaded at start; learn.auto_enforce switches a stable learn policy to enforce with its
 * generated rule set. No kernel (the pin directory does not exist), no Docker. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "baseline.h"
#include "daemon_int.h"
#include "learnrec.h"
#include "rulesfile.h"

static struct container_info app = {
    .id = "aaaa", .name = "app1", .image = "app:1", .cgroup_id = 501, .image_id = "sha256:1"};
static struct container_info pol = {
    .id = "bbbb", .name = "pol1", .image = "pol:1", .cgroup_id = 502};

static int exec_in(struct daemon *d, const struct container_info *c, const char *path,
		   struct alert *a)
{
	static struct moat_exec_event e;
	int n;

	memset(&e, 0, sizeof(e));
	e.hdr.type = MOAT_EV_EXEC;
	e.hdr.size = sizeof(e);
	e.hdr.cgroup_id = c->cgroup_id;
	e.hdr.pid = 100;
	e.ppid = 1;
	snprintf(e.filename, sizeof(e.filename), "%s", path);
	n = learnrec_event(d, &e.hdr, c, a, 4);
	return n;
}

static int answer_in(struct daemon *d, const struct container_info *c, const char *name,
		     struct alert *a)
{
	static struct moat_dns_event q;

	memset(&q, 0, sizeof(q));
	q.hdr.type = MOAT_EV_DNS_ANSWER;
	q.hdr.size = sizeof(q);
	q.hdr.cgroup_id = c->cgroup_id;
	q.n_addrs = 1;
	q.addrs[0].family = AF_INET;
	snprintf(q.qname, sizeof(q.qname), "%s", name);
	return learnrec_dns(d, &q, c, a, 4);
}

static json_object *cmd(struct daemon *d, const char *op, const char *image)
{
	json_object *req = json_object_new_object(), *a;

	json_object_object_add(req, "op", json_object_new_string(op));
	if (image)
		json_object_object_add(req, "image", json_object_new_string(image));
	a = learnrec_command(d, req);
	json_object_put(req);
	return a;
}

static int ok(json_object *a)
{
	json_object *v;
	int r = json_object_object_get_ex(a, "ok", &v) && json_object_get_boolean(v);

	json_object_put(a);
	return r;
}

/* The items of image in the show answer, or -1. */
static int items_of(struct daemon *d, const char *image)
{
	json_object *a = cmd(d, "show", image), *b, *it;
	int n = -1;

	if (json_object_object_get_ex(a, "baseline", &b) &&
	    json_object_object_get_ex(b, "items", &it))
		n = (int)json_object_array_length(it);
	json_object_put(a);
	return n;
}

static struct daemon *new_daemon(const char *dir)
{
	struct daemon *d = daemon_new();

	snprintf(d->pin_dir, sizeof(d->pin_dir), "/nonexistent/moat-test-learnrec");
	snprintf(d->cfg.state_dir, sizeof(d->cfg.state_dir), "%s", dir);
	snprintf(d->cfg.policies, sizeof(d->cfg.policies), "%s/policies.json", dir);
	d->started = 1;
	return d;
}

int main(void)
{
	char dir[] = "/tmp/moat-test-learnrec-XXXXXX", path[128], rules[160];
	struct daemon *d;
	struct alert a[4];
	struct ruleset rs = {0};
	struct stat st;
	FILE *f;
	int n;

	mkdtemp(dir);
	d = new_daemon(dir);
	CHECK(learnrec_open(d) == 0 && d->learn, "learn mode sets up (no store file yet)", "no");
	n = exec_in(d, &app, "/bin/app", a);
	CHECK(n == 0 && items_of(d, "app:1") == -1,
	      "an image that does not learn records nothing and has no baseline", "n %d", n);
	CHECK(ok(cmd(d, "start", "app:1")), "learn start app:1", "refused");
	exec_in(d, &app, "/bin/app", a);
	answer_in(d, &app, "API.Example.test.", a);
	CHECK_EQ_INT(items_of(d, "app:1"), 2, "its container's exec and answer are recorded");
	CHECK(!ok(cmd(d, "stop", "nope:1")), "stopping an image without a baseline is refused",
	      "accepted");
	CHECK(!ok(cmd(d, "fly", "app:1")), "an unknown op is refused", "accepted");
	CHECK(ok(cmd(d, "stop", "app:1")), "learn stop app:1", "refused");
	n = exec_in(d, &app, "/bin/app", a);
	CHECK_EQ_INT(n, 0, "in force: a learned program raises nothing");
	n = exec_in(d, &app, "/usr/bin/nc", a);
	CHECK(n == 1 && !strcmp(a[0].rule, "new-exec"), "in force: a new program is new-exec",
	      "n %d", n);
	for (int i = 0; i < n; i++)
		alert_release(&a[i]);
	n = answer_in(d, &app, "api.example.test", a);
	CHECK_EQ_INT(n, 0, "in force: a learned name raises nothing");
	CHECK_EQ_INT(items_of(d, "app:1"), 2, "in force: nothing new is recorded");

	/* A learn policy records without a command. */
	f = fopen(d->cfg.policies, "we");
	fprintf(f, "{\"policies\": [{\"id\": \"p\", \"target\": {\"images\": [\"pol:1\"]}, "
		   "\"egress\": \"learn\", \"actions\": [\"alert\"]}]}\n");
	fclose(f);
	CHECK_EQ_INT(policy_load(d->policies, d->cfg.policies), 0, "the learn policy loads");
	exec_in(d, &pol, "/bin/worker", a);
	answer_in(d, &pol, "queue.example.test", a);
	CHECK_EQ_INT(items_of(d, "pol:1"), 2, "a container under a learn policy records");

	/* Saved at exit, loaded at start. */
	learnrec_close(d);
	snprintf(path, sizeof(path), "%s/baseline.json", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "the store is saved at exit, mode 0600", "errno %d", errno);
	daemon_free(d);
	d = new_daemon(dir);
	learnrec_open(d);
	CHECK(items_of(d, "app:1") == 2 && items_of(d, "pol:1") == 2,
	      "the next moat run loads both baselines", "app %d pol %d", items_of(d, "app:1"),
	      items_of(d, "pol:1"));
	n = exec_in(d, &app, "/usr/bin/nc", a);
	CHECK(n == 1 && strstr(a[0].message, "learned over"),
	      "after a restart app:1's baseline is still in force", "n %d", n);
	for (int i = 0; i < n; i++)
		alert_release(&a[i]);

	/* learn.auto_enforce: stable after 1 s without a new item. */
	d->cfg.learn.auto_enforce = 1;
	d->cfg.learn.stable_s = 1;
	CHECK_EQ_INT(policy_load(d->policies, d->cfg.policies), 0, "the learn policy loads again");
	sleep(2);
	d->ticks = 2;
	learnrec_tick(d);
	snprintf(rules, sizeof(rules), "%s/learned/learned-pol-1.rules.json", dir);
	CHECK(d->policies->n == 1 && d->policies->p[0].egress == POLICY_EGRESS_ENFORCE &&
		  !strcmp(d->policies->p[0].egress_rules, rules) &&
		  (d->policies->p[0].actions & POLICY_ACT_KILL_EXEC) &&
		  policy_exec_allowed(&d->policies->p[0], "worker"),
	      "auto_enforce: the stable learn policy is enforced with its generated rules and "
	      "exec_allow",
	      "egress %d rules %s", d->policies->p[0].egress, d->policies->p[0].egress_rules);
	CHECK(rules_load(&rs, rules) == 0 && rs.n == 1 && rs.default_deny &&
		  !strcmp(rs.rules[0].match, "queue.example.test"),
	      "auto_enforce: the generated rule set allows the learned name, default deny", "n %d",
	      rs.n);
	rules_free(&rs);
	{
		json_object *s = cmd(d, "status", NULL), *imgs, *v;
		int enforced = 0;

		json_object_object_get_ex(s, "images", &imgs);
		for (size_t i = 0; imgs && i < json_object_array_length(imgs); i++) {
			json_object *o = json_object_array_get_idx(imgs, i);

			json_object_object_get_ex(o, "image", &v);
			if (!strcmp(json_object_get_string(v), "pol:1") &&
			    json_object_object_get_ex(o, "enforced", &v))
				enforced = json_object_get_boolean(v);
		}
		json_object_put(s);
		CHECK(enforced, "auto_enforce: status says enforced", "not");
	}
	/* A reload of the policies file keeps the switch. */
	CHECK_EQ_INT(policy_load(d->policies, d->cfg.policies), 0, "the file reloads as learn");
	learnrec_apply_switches(d);
	CHECK_EQ_INT(d->policies->p[0].egress, POLICY_EGRESS_ENFORCE,
		     "auto_enforce: the switch survives a reload of the policies file");
	CHECK(ok(cmd(d, "start", "pol:1")), "learn start pol:1 undoes the switch", "refused");
	CHECK_EQ_INT(d->policies->p[0].egress, POLICY_EGRESS_LEARN,
		     "after learn start the policy learns again");
	learnrec_close(d);
	daemon_free(d);
	unlink(path);
	unlink(rules);
	snprintf(path, sizeof(path), "%s/learned", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/policies.json", dir);
	unlink(path);
	rmdir(dir);
	return TEST_EXIT();
}
