/* test_output_syslog.c - the syslog/journald output (src/act/journal.c) against real
 * readers: a datagram socket the test binds as the syslog socket (the exact line), and a
 * real systemd-journald the test runs in a private mount namespace (tmpfs over /run/systemd,
 * /run/log and /var/log/journal, so the host's are untouched), read back with journalctl:
 * the structured fields through sd-journal, and the syslog line through journald's own
 * syslog socket. journald does not run on this machine otherwise. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "test.h"
#include "output_test.h"
#include "journal_sd.h"

static char dir[64];

static struct outputs *open_syslog(int mode, const char *socket_path, const char *ident)
{
	struct outputs_conf *c = calloc(1, sizeof(*c));
	struct outputs *s;

	config_outputs_add(c, OUTPUT_SYSLOG, NULL, NULL);
	c->o[0].syslog_mode = mode;
	if (socket_path)
		snprintf(c->o[0].socket, sizeof(c->o[0].socket), "%s", socket_path);
	if (ident)
		snprintf(c->o[0].ident, sizeof(c->o[0].ident), "%s", ident);
	s = outputs_open(c, &(struct outputs_env){.terminal_fd = -1, .state_dir = dir});
	free(c);
	return s;
}

static void test_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {5, 0};
	char buf[2048], want[128];
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct outputs *s;
	struct alert a;
	ssize_t n;
	json_object *st, *v;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/log.sock", dir);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	      "the test's syslog socket is bound", "%s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	s = open_syslog(OUTPUT_SYSLOG_SYSLOG, sa.sun_path, NULL);
	ot_alert(&a, ALERT_CRITICAL, "suspicious-exec", "Suspicious process\nFAKE: second line");
	outputs_emit(s, &a);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	snprintf(want, sizeof(want), " moat[%d]: CRITICAL suspicious-exec: Suspicious process?FAKE",
		 (int)getpid());
	CHECK(n > 0 && !strncmp(buf, "<26>", 4) && strstr(buf, want) && !strchr(buf, '\n') &&
		  strstr(buf, "(container web) trace_id=") && strstr(buf, a.trace_id),
	      "one datagram: <daemon.crit>, ident[pid], severity, rule, message without its "
	      "newline, container, trace id",
	      "got %s", buf);
	ot_alert(&a, ALERT_INFO, "container-lifecycle", "started");
	outputs_emit(s, &a);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	CHECK(n > 0 && !strncmp(buf, "<30>", 4), "INFO is daemon.info (<30>)", "got %s", buf);
	outputs_close(s);
	close(fd);
	unlink(sa.sun_path);

	/* auto without a journal socket (this host): syslog, on the configured socket. */
	if (access("/run/systemd/journal/socket", F_OK)) {
		s = open_syslog(OUTPUT_SYSLOG_AUTO, sa.sun_path, NULL);
		st = ot_status(s, "syslog");
		CHECK(st && json_object_object_get_ex(st, "via", &v) &&
			  !strcmp(json_object_get_string(v), sa.sun_path),
		      "auto with no journald: syslog", "%s",
		      st ? json_object_to_json_string(st) : "");
		json_object_put(st);
		/* The reader is gone: counted as failed, said in the state, never blocking. */
		outputs_emit(s, &a);
		outputs_flush(s, 5000);
		CHECK_EQ_INT(ot_counter(s, "syslog", "failed"), 1, "no reader: counted as failed");
		outputs_close(s);
	}
}

/* Run journalctl on the namespace's journal for field=value; its JSON lines into out. */
static int journal_query(const char *match, char *out, size_t len)
{
	char path[128];
	pid_t pid;
	char *t;

	snprintf(path, sizeof(path), "%s/jq.json", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		execl("/usr/bin/journalctl", "journalctl", "-D", "/run/log/journal", "-o", "json",
		      "--no-pager", match, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	t = ot_read(path);
	snprintf(out, len, "%s", t ? t : "");
	free(t);
	return out[0] ? 0 : -1;
}

/* In a private mount namespace: journald on tmpfs, moat's entries read back. Exits with
 * the number of failed checks. */
static int journald_child(void)
{
	const char *tmpfs[] = {"/run/systemd", "/run/log", "/var/log/journal"};
	char out[16384], match[96], ident_match[64];
	struct outputs_conf *c = calloc(1, sizeof(*c));
	struct outputs *s;
	struct alert a;
	pid_t jd;
	json_object *j, *v, *inner;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		CHECK(0, "a private mount namespace", "%s", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 3; i++)
		if (!access(tmpfs[i], F_OK) && mount("tmpfs", tmpfs[i], "tmpfs", 0, "mode=0755")) {
			CHECK(0, "tmpfs over journald's directories", "%s: %s", tmpfs[i],
			      strerror(errno));
			return 1;
		}
	jd = fork();
	if (jd == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the test */
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execl("/lib/systemd/systemd-journald", "systemd-journald", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access("/run/systemd/journal/socket", F_OK); i++)
		ot_sleep_ms(10);
	CHECK(!access("/run/systemd/journal/socket", F_OK), "journald listens (in the namespace)",
	      "no socket");
	config_outputs_add(c, OUTPUT_SYSLOG, NULL, NULL);
	c->o[0].syslog_mode = OUTPUT_SYSLOG_AUTO;
	config_outputs_add(c, OUTPUT_SYSLOG, NULL, NULL);
	c->o[1].syslog_mode = OUTPUT_SYSLOG_SYSLOG;
	snprintf(c->o[1].socket, sizeof(c->o[1].socket), "/run/systemd/journal/dev-log");
	snprintf(c->o[1].ident, sizeof(c->o[1].ident), "moat-syslog");
	s = outputs_open(c, &(struct outputs_env){.terminal_fd = -1, .state_dir = dir});
	ot_alert(&a, ALERT_CRITICAL, "suspicious-exec", "Suspicious process: /bin/sh\nforged");
	outputs_emit(s, &a);
	outputs_flush(s, 5000);
	CHECK_EQ_INT(ot_counter(s, "syslog", "sent") + ot_counter(s, "syslog-2", "sent"), 2,
		     "both outputs sent");
	ot_sleep_ms(300);
	snprintf(match, sizeof(match), "MOAT_TRACE_ID=%s", a.trace_id);
	journal_query(match, out, sizeof(out));
	j = json_tokener_parse(out);
	CHECK(j && json_object_object_get_ex(j, "PRIORITY", &v) &&
		  !strcmp(json_object_get_string(v), "2") &&
		  json_object_object_get_ex(j, "MOAT_RULE", &v) &&
		  !strcmp(json_object_get_string(v), "suspicious-exec") &&
		  json_object_object_get_ex(j, "MOAT_SEVERITY", &v) &&
		  !strcmp(json_object_get_string(v), "CRITICAL") &&
		  json_object_object_get_ex(j, "MOAT_CONTAINER_NAME", &v) &&
		  !strcmp(json_object_get_string(v), "web") &&
		  json_object_object_get_ex(j, "SYSLOG_IDENTIFIER", &v) &&
		  !strcmp(json_object_get_string(v), "moat") &&
		  json_object_object_get_ex(j, "_TRANSPORT", &v) &&
		  !strcmp(json_object_get_string(v), "journal"),
	      "auto with journald: an entry with PRIORITY 2 and MOAT_RULE, MOAT_SEVERITY, "
	      "MOAT_CONTAINER_NAME fields",
	      "%s", out);
	inner = j && json_object_object_get_ex(j, "MOAT_ALERT", &v)
		    ? json_tokener_parse(json_object_get_string(v))
		    : NULL;
	CHECK(inner && json_object_object_get_ex(inner, "message", &v) &&
		  !strcmp(json_object_get_string(v), "Suspicious process: /bin/sh\nforged"),
	      "MOAT_ALERT holds the whole alert JSON", "%s", out);
	json_object_put(inner);
	json_object_put(j);
	snprintf(ident_match, sizeof(ident_match), "SYSLOG_IDENTIFIER=moat-syslog");
	journal_query(ident_match, out, sizeof(out));
	j = json_tokener_parse(out);
	CHECK(j && json_object_object_get_ex(j, "_TRANSPORT", &v) &&
		  !strcmp(json_object_get_string(v), "syslog") &&
		  json_object_object_get_ex(j, "PRIORITY", &v) &&
		  !strcmp(json_object_get_string(v), "2") &&
		  json_object_object_get_ex(j, "MESSAGE", &v) &&
		  strstr(json_object_get_string(v), "CRITICAL suspicious-exec: Suspicious") &&
		  strstr(json_object_get_string(v), a.trace_id),
	      "syslog mode: journald's syslog reader parses the line (priority, ident, text)", "%s",
	      out);
	json_object_put(j);
	outputs_close(s);
	free(c);
	kill(jd, SIGTERM);
	waitpid(jd, NULL, 0);
	return test_failed_count;
}

static void test_journald(void)
{
	pid_t pid;
	int st = 0;

	if (!journal_sd_available()) {
		CHECK(0, "moat is built with sd-journal (make deps installs libsystemd-dev)",
		      "built without it: the journal mode cannot be tested");
		return;
	}
	if (access("/lib/systemd/systemd-journald", X_OK) || geteuid() != 0) {
		printf("# skipped: the journald test needs root and systemd-journald\n");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(journald_child());
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the journald checks passed",
	      "child status %d", st);
}

int main(void)
{
	ot_tmpdir(dir, sizeof(dir), "syslog");
	test_socket();
	test_journald();
	return TEST_EXIT();
}
