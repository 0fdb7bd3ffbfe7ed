/* test_output_exec.c - the exec output (src/act/execout.c) with real programs the test
 * writes: the alert's JSON on stdin, once per alert; argv passed as is (no shell), a shell
 * only when asked; the timeout kills the whole process group; at most max_concurrent at
 * once; a failing command counted; emitting never waits for the command. */
#include <fcntl.h>
#include <sys/file.h>

#include "test.h"
#include "output_test.h"

static char dir[64];

static void script(const char *name, const char *body)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ot_write(path, body);
	chmod(path, 0755);
}

static struct outputs *open_exec(struct output_conf *o)
{
	struct outputs_conf *c = calloc(1, sizeof(*c));
	struct outputs *s;

	c->o[0] = *o;
	c->n = 1;
	s = outputs_open(c, &(struct outputs_env){.terminal_fd = -1, .state_dir = dir});
	free(c);
	return s;
}

static void exec_conf(struct output_conf *o, const char *const *argv)
{
	output_conf_defaults(o, OUTPUT_EXEC);
	for (o->argc = 0; argv[o->argc]; o->argc++)
		snprintf(o->argv[o->argc], sizeof(o->argv[0]), "%s", argv[o->argc]);
}

static void test_stdin(void)
{
	char prog[PATH_MAX], body[2 * PATH_MAX + 128], ids[5][33];
	struct output_conf o;
	struct outputs *s;
	int good = 0;

	snprintf(body, sizeof(body),
		 "#!/bin/sh\ncat > %s/in-$MOAT_ALERT_TRACE_ID.json\n"
		 "echo \"[$MOAT_WEBHOOK_TOKEN][$MOAT_WEBHOOK_URL]\" > %s/secrets\n",
		 dir, dir);
	setenv("MOAT_WEBHOOK_TOKEN", "s3cret", 1);
	setenv("MOAT_WEBHOOK_URL", "https://user:pw@hooks.example/", 1);
	script("tofile", body);
	snprintf(prog, sizeof(prog), "%s/tofile", dir);
	exec_conf(&o, (const char *[]){prog, NULL});
	s = open_exec(&o);
	for (int i = 0; i < 5; i++) {
		struct alert a;

		ot_alert(&a, ALERT_CRITICAL, "suspicious-exec", "Suspicious process \"x\"\n<y>");
		snprintf(ids[i], sizeof(ids[i]), "%s", a.trace_id);
		outputs_emit(s, &a);
	}
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "five runs done");
	for (int i = 0; i < 5; i++) {
		char path[PATH_MAX];
		char *t;
		json_object *j, *v;

		snprintf(path, sizeof(path), "%s/in-%s.json", dir, ids[i]);
		t = ot_read(path);
		j = t ? json_tokener_parse(t) : NULL;
		good += j && json_object_object_get_ex(j, "trace_id", &v) &&
			!strcmp(json_object_get_string(v), ids[i]) &&
			json_object_object_get_ex(j, "message", &v) &&
			!strcmp(json_object_get_string(v), "Suspicious process \"x\"\n<y>");
		json_object_put(j);
		free(t);
	}
	CHECK_EQ_INT(good, 5, "each run got its alert's JSON on stdin (and its trace id in env)");
	CHECK_EQ_INT(ot_counter(s, "exec", "sent"), 5, "status: 5 runs succeeded");
	{
		char path[PATH_MAX], *t;

		snprintf(path, sizeof(path), "%s/secrets", dir);
		t = ot_read(path);
		CHECK(t && !strcmp(t, "[][]\n"),
		      "the webhook's token and URL are not in the command's environment", "%s",
		      t ? t : "(none)");
		free(t);
	}
	unsetenv("MOAT_WEBHOOK_TOKEN");
	unsetenv("MOAT_WEBHOOK_URL");
	outputs_close(s);
}

static void test_argv_and_shell(void)
{
	char prog[PATH_MAX], body[PATH_MAX + 128], out[PATH_MAX], *t;
	struct output_conf o;
	struct outputs *s;
	struct alert a;

	snprintf(body, sizeof(body),
		 "#!/bin/sh\nfor x in \"$@\"; do echo \"[$x]\"; done > %s/argv\n", dir);
	script("args", body);
	snprintf(prog, sizeof(prog), "%s/args", dir);
	exec_conf(&o, (const char *[]){prog, "two words", "$(touch /tmp/moat-pwned);x", NULL});
	s = open_exec(&o);
	ot_alert(&a, ALERT_INFO, "container-lifecycle", "m");
	outputs_emit(s, &a);
	outputs_flush(s, 10000);
	outputs_close(s);
	snprintf(out, sizeof(out), "%s/argv", dir);
	t = ot_read(out);
	CHECK(t && !strcmp(t, "[two words]\n[$(touch /tmp/moat-pwned);x]\n") &&
		  access("/tmp/moat-pwned", F_OK),
	      "argv goes to the program as is: no shell, no splitting, no expansion", "got %s",
	      t ? t : "(nothing)");
	free(t);

	output_conf_defaults(&o, OUTPUT_EXEC);
	o.shell = 1;
	o.argc = 1;
	snprintf(o.argv[0], sizeof(o.argv[0]),
		 "read line; echo \"$MOAT_ALERT_RULE ${#line}\" > %s/sh", dir);
	s = open_exec(&o);
	outputs_emit(s, &a);
	outputs_flush(s, 10000);
	outputs_close(s);
	snprintf(out, sizeof(out), "%s/sh", dir);
	t = ot_read(out);
	CHECK(t && !strncmp(t, "container-lifecycle ", 20) && strtol(t + 20, NULL, 10) > 100,
	      "\"shell\": true runs the line through /bin/sh, the JSON on stdin", "got %s",
	      t ? t : "(nothing)");
	free(t);
}

static int alive(pid_t pid)
{
	char path[64], *st, *p;
	int live;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	st = ot_read(path);
	if (!st)
		return 0;
	p = strrchr(st, ')');
	live = p && p[2] != 'Z';
	free(st);
	return live;
}

static void test_timeout(void)
{
	char prog[PATH_MAX], body[PATH_MAX + 256], pidf[PATH_MAX], *t;
	struct output_conf o;
	struct outputs *s;
	struct alert a;
	pid_t bg = 0, fg = 0;

	snprintf(body, sizeof(body),
		 "#!/bin/sh\nsleep 1000 &\necho \"$! $$\" > %s/pids\nsleep 1000\n", dir);
	script("hang", body);
	snprintf(prog, sizeof(prog), "%s/hang", dir);
	exec_conf(&o, (const char *[]){prog, NULL});
	o.timeout_ms = 300;
	s = open_exec(&o);
	ot_alert(&a, ALERT_INFO, "container-lifecycle", "m");
	outputs_emit(s, &a);
	CHECK(ot_wait_counter(s, "exec", "timeouts", 1, 5000) == 1,
	      "a command past timeout_ms is killed and counted", "timeouts %lld",
	      (long long)ot_counter(s, "exec", "timeouts"));
	snprintf(pidf, sizeof(pidf), "%s/pids", dir);
	t = ot_read(pidf);
	if (t)
		sscanf(t, "%d %d", &bg, &fg);
	free(t);
	for (int i = 0; i < 100 && bg > 0 && alive(bg); i++)
		ot_sleep_ms(10);
	CHECK(bg > 0 && fg > 0 && !alive(bg) && !alive(fg),
	      "the timeout kills its process group: the command and what it started",
	      "pids %d %d alive %d %d", bg, fg, bg > 0 && alive(bg), fg > 0 && alive(fg));
	CHECK_EQ_INT(ot_counter(s, "exec", "failed"), 1, "status: a timeout is a failure");
	outputs_close(s);
}

static void test_concurrency(void)
{
	char prog[PATH_MAX], body[2 * PATH_MAX + 256], logp[PATH_MAX], *t;
	struct output_conf o;
	struct outputs *s;
	int running = 0, most = 0, starts = 0;
	int64_t t0, worst = 0;

	snprintf(logp, sizeof(logp), "%s/conc", dir);
	snprintf(body, sizeof(body),
		 "#!/bin/sh\necho start >> %s\nsleep 0.2\necho end >> %s\ncat >/dev/null\n", logp,
		 logp);
	script("slow", body);
	snprintf(prog, sizeof(prog), "%s/slow", dir);
	exec_conf(&o, (const char *[]){prog, NULL});
	o.max_concurrent = 2;
	s = open_exec(&o);
	for (int i = 0; i < 6; i++) {
		struct alert a;

		ot_alert(&a, ALERT_WARNING, "direct-connection", "m");
		t0 = clock_mono_ns();
		outputs_emit(s, &a);
		worst = clock_mono_ns() - t0 > worst ? clock_mono_ns() - t0 : worst;
	}
	CHECK_EQ_INT(ot_counter(s, "exec", "sent"), 0,
		     "six emits of a 0.2 s command returned before any run ended");
	printf("# slowest emit: %.3f ms\n", (double)worst / 1e6);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "all six ran");
	outputs_close(s);
	t = ot_read(logp);
	for (char *p = t; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		if (!strncmp(p, "start", 5)) {
			starts++;
			running++;
		} else if (!strncmp(p, "end", 3)) {
			running--;
		}
		most = running > most ? running : most;
	}
	free(t);
	CHECK(starts == 6 && most == 2, "max_concurrent 2: never more than two at once, all ran",
	      "starts %d, most at once %d", starts, most);
}

static void test_failure(void)
{
	char prog[PATH_MAX];
	struct output_conf o;
	struct outputs *s;
	struct alert a;
	json_object *st, *v;

	script("fail", "#!/bin/sh\nexit 3\n");
	snprintf(prog, sizeof(prog), "%s/fail", dir);
	exec_conf(&o, (const char *[]){prog, NULL});
	s = open_exec(&o);
	ot_alert(&a, ALERT_INFO, "container-lifecycle", "m");
	outputs_emit(s, &a);
	outputs_flush(s, 10000);
	st = ot_status(s, "exec");
	CHECK(st && json_object_object_get_ex(st, "state", &v) &&
		  strstr(json_object_get_string(v), "exited 3") &&
		  ot_counter(s, "exec", "failed") == 1,
	      "a command that exits 3 is a failure, named in its state", "%s",
	      st ? json_object_to_json_string(st) : "no status");
	json_object_put(st);
	outputs_close(s);

	exec_conf(&o, (const char *[]){"/nonexistent/prog", NULL});
	s = open_exec(&o);
	st = ot_status(s, "exec");
	CHECK(st && json_object_object_get_ex(st, "state", &v) &&
		  strstr(json_object_get_string(v), "not an executable"),
	      "a program that is not there: the output says so and is skipped", "%s",
	      st ? json_object_to_json_string(st) : "no status");
	json_object_put(st);
	outputs_emit(s, &a); /* and emitting to it is harmless */
	outputs_close(s);
}

int main(void)
{
	ot_tmpdir(dir, sizeof(dir), "exec");
	test_stdin();
	test_argv_and_shell();
	test_timeout();
	test_concurrency();
	test_failure();
	return TEST_EXIT();
}
