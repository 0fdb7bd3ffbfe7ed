/* test_learncli.c - `moat learn` without moat run (src/cli/learn.c reading the store file): a
 * hostile store (terminal escapes in a program's path and a parent's name, a quote and a
 * newline in a name) is shown escaped, and `moat learn policy` leaves the bad name out of
 * a policy that moat's loaders accept; usage errors exit 2, a missing image exits 1. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "commands.h"
#include "fs.h"
#include "policy.h"
#include "rulesfile.h"

static char dir[] = "/tmp/moat-test-cli-learn-XXXXXX";
static char out_path[128];

/* Run moat learn ARGS... with stdout into out_path (stderr to /dev/null); its exit code. */
static int run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
	char *argv[12] = {"learn", (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5};
	char sd[160];
	int argc = 1, saved = dup(1), saved2 = dup(2), fd, rc;

	while (argc < 6 && argv[argc])
		argc++;
	snprintf(sd, sizeof(sd), "--state-dir=%s", dir);
	argv[argc++] = sd;
	argv[argc] = NULL;
	fflush(stdout);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dup2(fd, 1);
	close(fd);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	dup2(fd, 2);
	close(fd);
	optind = 0; /* getopt_long from the start, as for a new process */
	rc = cmd_learn(argc, argv, "/nonexistent");
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(saved2, 2);
	close(saved);
	close(saved2);
	return rc;
}

static char *output(void)
{
	char *t = NULL;
	size_t n;

	if (fs_read_all(out_path, 1 << 20, &t, &n))
		return strdup("");
	return t;
}

int main(void)
{
	char path[160], rules[200], *o;
	struct policy_set *ps = calloc(1, sizeof(*ps));
	struct ruleset rs = {0};
	const char *store =
	    "{\"moat_baseline\":1,\"images\":1}\n"
	    "{\"image\":\"app:1\",\"ids\":[],\"first_seen\":1700000000,\"last_seen\":1700000100,"
	    "\"last_new\":1700000100,\"learning\":false,\"learn_since\":1700000000,"
	    "\"containers\":1,\"container_ids\":[\"c1\"],\"refused\":0,\"items\":["
	    "{\"kind\":\"exec\",\"key\":\"/tmp/\\u001b[2Jevil\",\"first_seen\":1700000000,"
	    "\"last_seen\":1700000000,\"count\":1,\"parents\":[\"sh\\u001b]0;x\\u0007\"]},"
	    "{\"kind\":\"domain\",\"key\":\"ok.example.test\",\"first_seen\":1700000000,"
	    "\"last_seen\":1700000000,\"count\":1},"
	    "{\"kind\":\"domain\",\"key\":\"bad\\\"name\\n.example.test\",\"first_seen\":"
	    "1700000000,\"last_seen\":1700000000,\"count\":1}]}\n";

	setenv("MOAT_CONTROL_SOCKET", "/nonexistent/moat.sock", 1);
	if (!mkdtemp(dir) || !ps) {
		printf("not ok - scratch directory\n");
		return 1;
	}
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(path, sizeof(path), "%s/baseline.json", dir);
	fs_save_atomic(path, store, strlen(store), 0600);

	CHECK_EQ_INT(run("show", "app:1", NULL, NULL, NULL), 0, "learn show reads the store file");
	o = output();
	CHECK(!strchr(o, '\033') && !strchr(o, '\007') && strstr(o, "evil") &&
		  strstr(o, "ok.example.test"),
	      "learn show: a path's and a parent's terminal escapes are escaped", "%s", o);
	free(o);
	CHECK_EQ_INT(run("status", NULL, NULL, NULL, NULL), 0, "learn status reads the file");
	o = output();
	CHECK(strstr(o, "app:1") && strstr(o, "in-force"), "learn status: the image, in force",
	      "%s", o);
	free(o);
	snprintf(rules, sizeof(rules), "--rules=%s/r.json", dir);
	CHECK_EQ_INT(run("policy", "app:1", rules, NULL, NULL), 0, "learn policy prints a policy");
	o = output();
	fs_save_atomic(path, o, strlen(o), 0600); /* the printed policy, as a policies file */
	free(o);
	snprintf(rules, sizeof(rules), "%s/r.json", dir);
	CHECK(policy_load(ps, path) == 0 && ps->n == 1 && !strcmp(ps->p[0].egress_rules, rules),
	      "the printed policy loads with the real loader", "n %d", ps->n);
	CHECK(rules_load(&rs, rules) == 0 && rs.n == 1 &&
		  !strcmp(rs.rules[0].match, "ok.example.test"),
	      "its rule set has the good name only (the quote and newline one is left out)", "n %d",
	      rs.n);
	CHECK(ps->n == 1 && policy_exec_allowed(&ps->p[0], "\033[2Jevil"),
	      "exec_allow holds the base name as learned (policy names are not terminal output)",
	      "missing");
	CHECK_EQ_INT(run("show", "nope:1", NULL, NULL, NULL), 1, "an unknown image exits 1");
	CHECK_EQ_INT(run("show", NULL, NULL, NULL, NULL), 2, "show without an image exits 2");
	CHECK_EQ_INT(run("frobnicate", "x", NULL, NULL, NULL), 2, "an unknown form exits 2");
	CHECK_EQ_INT(run("policy", "app:1", "--wildcards=1", NULL, NULL), 2,
		     "--wildcards below 2 exits 2");
	CHECK_EQ_INT(run("policy", "app:1", "--rules=relative.json", NULL, NULL), 2,
		     "a relative --rules exits 2");
	rules_free(&rs);
	free(ps);
	unlink(rules);
	unlink(path);
	unlink(out_path);
	rmdir(dir);
	return TEST_EXIT();
}
