/* test_output_notify.c - the desktop notification output (src/act/notify.c).
 * Freedesktop: a private D-Bus session bus (dbus-daemon) and a notification server on it
 * (tests/helpers/notify_receiver.py, dbus-python), reached by the real notify-send: only
 * CRITICAL alerts by default, markup from containers escaped, urgency critical.
 * WSL2 cannot run here: the toast is tested by WSL detection ($WSL_DISTRO_NAME, and the
 * osrelease file on fixtures) and a stub powershell.exe first in $PATH that records its
 * argv and environment: the alert's text is in the environment (passed on by WSLENV),
 * never in the script. */
#include "test.h"
#include "output_test.h"

static char dir[64];

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the test */
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_file(const char *path, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (!access(path, F_OK))
			return 0;
		ot_sleep_ms(10);
	}
	return -1;
}

static struct outputs *open_notify(const char *bus)
{
	struct outputs_conf *c = calloc(1, sizeof(*c));
	struct outputs *s;

	config_outputs_add(c, OUTPUT_NOTIFY, NULL, NULL);
	if (bus)
		snprintf(c->o[0].bus, sizeof(c->o[0].bus), "%s", bus);
	s = outputs_open(c, &(struct outputs_env){.terminal_fd = -1, .state_dir = dir});
	free(c);
	return s;
}

static void test_freedesktop(void)
{
	char sock[128], addr[160], log[128], ready[128], script[PATH_MAX + 64], *t;
	pid_t bus, srv;
	struct outputs *s;
	struct alert a;
	json_object *j = NULL, *v;

	if (access("/usr/bin/dbus-daemon", X_OK) || access("/usr/bin/notify-send", X_OK)) {
		CHECK(0, "dbus-daemon and notify-send are installed (make deps)",
		      "missing dbus-daemon or libnotify-bin");
		return;
	}
	snprintf(sock, sizeof(sock), "%s/bus", dir);
	snprintf(addr, sizeof(addr), "unix:path=%s", sock);
	snprintf(log, sizeof(log), "%s/notes", dir);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(script, sizeof(script), "%s/tests/helpers/notify_receiver.py", ot_srcdir());
	{
		char addr_arg[200];

		snprintf(addr_arg, sizeof(addr_arg), "--address=%s", addr);
		bus = spawn((char *[]){"/usr/bin/dbus-daemon", "--session", "--nofork",
				       "--nopidfile", addr_arg, NULL});
	}
	CHECK(wait_file(sock, 5000) == 0, "a private session bus comes up", "no %s", sock);
	srv = spawn((char *[]){"/usr/bin/python3", script, "--address", addr, "--log", log,
			       "--ready", ready, NULL});
	CHECK(wait_file(ready, 10000) == 0, "the notification server owns its name",
	      "no ready file");
	unsetenv("WSL_DISTRO_NAME");
	s = open_notify(addr);
	ot_alert(&a, ALERT_INFO, "container-lifecycle", "Container web started");
	outputs_emit(s, &a);
	ot_alert(&a, ALERT_CRITICAL, "suspicious-exec", "<b>evil</b> & <a href='x'>click</a>");
	outputs_emit(s, &a);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "notify-send ran");
	t = ot_read(log);
	j = t ? json_tokener_parse(t) : NULL;
	CHECK(t && ot_count_lines(log) == 1, "only the CRITICAL alert is notified (default)",
	      "%d notifications", t ? ot_count_lines(log) : 0);
	CHECK(j && json_object_object_get_ex(j, "summary", &v) &&
		  !strcmp(json_object_get_string(v), "moat CRITICAL: suspicious-exec"),
	      "the summary names severity and rule", "%s", t ? t : "");
	CHECK(j && json_object_object_get_ex(j, "body", &v) &&
		  strstr(json_object_get_string(v),
			 "&lt;b&gt;evil&lt;/b&gt; &amp; &lt;a href='x'&gt;click&lt;/a&gt;") &&
		  strstr(json_object_get_string(v), "container web"),
	      "container text in the body has its markup escaped", "%s", t ? t : "");
	CHECK(j && json_object_object_get_ex(j, "urgency", &v) && json_object_get_int(v) == 2 &&
		  json_object_object_get_ex(j, "app_name", &v) &&
		  !strcmp(json_object_get_string(v), "moat"),
	      "urgency critical, app moat", "%s", t ? t : "");
	CHECK_EQ_INT(ot_counter(s, "notify", "sent"), 1, "status: sent 1");
	json_object_put(j);
	free(t);
	outputs_close(s);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	kill(bus, SIGTERM);
	waitpid(bus, NULL, 0);

	/* No bus: the output says why and stays out of the way. */
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	s = open_notify(NULL);
	{
		json_object *st = ot_status(s, "notify");

		CHECK(st && json_object_object_get_ex(st, "state", &v) &&
			  strstr(json_object_get_string(v), "no session bus"),
		      "without a session bus the output reports it", "%s",
		      st ? json_object_to_json_string(st) : "none");
		json_object_put(st);
	}
	outputs_emit(s, &a);
	outputs_close(s);
}

static void test_wsl(void)
{
	char bin[128], path[4200], stub[256], body[512], f[160], *args, *env;
	const char *old = getenv("PATH");
	struct outputs *s;
	struct alert a;

	snprintf(f, sizeof(f), "%s/osrelease", dir);
	ot_write(f, "6.6.87.2-microsoft-standard-WSL2\n");
	unsetenv("WSL_DISTRO_NAME");
	CHECK(output_is_wsl(f), "a WSL2 kernel release is WSL", "no");
	ot_write(f, "6.18.0-amd64\n");
	CHECK(!output_is_wsl(f), "a Debian kernel release is not WSL", "yes");
	setenv("WSL_DISTRO_NAME", "Debian", 1);
	CHECK(output_is_wsl(f), "$WSL_DISTRO_NAME is WSL", "no");

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	mkdir(bin, 0755);
	snprintf(stub, sizeof(stub), "%s/powershell.exe", bin);
	snprintf(body, sizeof(body),
		 "#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s/ps.args\n"
		 "printf 'T=%%s\\nB=%%s\\nW=%%s\\n' \"$MOAT_TOAST_TITLE\" \"$MOAT_TOAST_BODY\" "
		 "\"$WSLENV\" > %s/ps.env\n",
		 dir, dir);
	ot_write(stub, body);
	chmod(stub, 0755);
	snprintf(path, sizeof(path), "%s:%s", bin, old ? old : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	setenv("WSLENV", "USERPROFILE/p", 1);
	s = open_notify(NULL);
	ot_alert(&a, ALERT_CRITICAL, "suspicious-exec", "'; Remove-Item C:\\ -Recurse; '$(x)");
	outputs_emit(s, &a);
	CHECK_EQ_INT(outputs_flush(s, 10000), 0, "the toast command ran");
	snprintf(f, sizeof(f), "%s/ps.args", dir);
	args = ot_read(f);
	snprintf(f, sizeof(f), "%s/ps.env", dir);
	env = ot_read(f);
	CHECK(args && strstr(args, "-NoProfile\n-NonInteractive\n-Command\n") &&
		  strstr(args, "$env:MOAT_TOAST_BODY") && !strstr(args, "Remove-Item"),
	      "powershell.exe gets a fixed script; the alert text is not in it", "%s",
	      args ? args : "(not run)");
	CHECK(env && strstr(env, "T=moat CRITICAL: suspicious-exec\n") &&
		  strstr(env, "B='; Remove-Item C:\\ -Recurse; '$(x)\ncontainer web\n") &&
		  strstr(env, "W=USERPROFILE/p:MOAT_TOAST_TITLE/u:MOAT_TOAST_BODY/u\n"),
	      "title and body go in the environment, passed to Windows by WSLENV", "%s",
	      env ? env : "(not run)");
	free(args);
	free(env);
	outputs_close(s);
	setenv("PATH", old ? old : "/usr/bin:/bin", 1);
	unsetenv("WSL_DISTRO_NAME");
}

int main(void)
{
	ot_tmpdir(dir, sizeof(dir), "notify");
	test_freedesktop();
	test_wsl();
	return TEST_EXIT();
}
