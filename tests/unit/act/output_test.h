/* output_test.h - what the output tests share: alerts, scratch directories, files, the
 * source tree, and the webhook receiver (tests/helpers/webhook_receiver.py), a real HTTP
 * server started and stopped by pid. */
#ifndef MOAT_OUTPUT_TEST_H
#define MOAT_OUTPUT_TEST_H

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "clock.h"
#include "output.h"

static inline void ot_alert(struct alert *a, int severity, const char *rule, const char *msg)
{
	alert_start(a, clock_unix_ns(), severity, rule, "process", "0123456789abcdef0123", "web",
		    "busybox");
	snprintf(a->message, sizeof(a->message), "%s", msg);
}

/* A new scratch directory (static buffer per call site is the caller's). */
static inline void ot_tmpdir(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/tmp/moat-test-%s-XXXXXX", what);
	if (!mkdtemp(buf))
		buf[0] = 0;
}

/* The whole file, NUL-terminated (the caller frees), or NULL. */
static inline char *ot_read(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	int c;

	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

static inline int ot_count_lines(const char *path)
{
	char *s = ot_read(path);
	int n = 0;

	for (char *p = s; p && *p; p++)
		n += *p == '\n';
	free(s);
	return n;
}

static inline void ot_write(const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.w", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

/* The source tree (build/tests/<me> -> ../..). */
static inline const char *ot_srcdir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	snprintf(dir, sizeof(dir), "%s/../..", dirname(exe));
	return dir;
}

static inline void ot_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Start the receiver in dir (port 0: any), speaking HTTPS when cert and key are given.
 * Returns its pid and its port in *port, or -1. */
static inline pid_t ot_receiver_start_tls(const char *dir, int want_port, int *port,
					  const char *cert, const char *key)
{
	char script[PATH_MAX + 64], portarg[16], portfile[PATH_MAX + 8];
	pid_t pid;

	snprintf(script, sizeof(script), "%s/tests/helpers/webhook_receiver.py", ot_srcdir());
	snprintf(portarg, sizeof(portarg), "%d", want_port);
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	unlink(portfile);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the test */
		if (cert)
			execl("/usr/bin/python3", "python3", script, "--dir", dir, "--port",
			      portarg, "--tls", cert, key, (char *)NULL);
		else
			execl("/usr/bin/python3", "python3", script, "--dir", dir, "--port",
			      portarg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 1000; i++) {
		char *s = ot_read(portfile);

		if (s) {
			*port = (int)strtol(s, NULL, 10);
			free(s);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		ot_sleep_ms(10);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

static inline pid_t ot_receiver_start(const char *dir, int want_port, int *port)
{
	return ot_receiver_start_tls(dir, want_port, port, NULL, NULL);
}

static inline void ot_receiver_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* The status object of the output named name (a new reference, or NULL). */
static inline json_object *ot_status(struct outputs *s, const char *name)
{
	json_object *arr = outputs_status(s), *found = NULL;

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *n;

		if (json_object_object_get_ex(o, "name", &n) &&
		    !strcmp(json_object_get_string(n), name))
			found = json_object_get(o);
	}
	json_object_put(arr);
	return found;
}

static inline int64_t ot_counter(struct outputs *s, const char *name, const char *key)
{
	json_object *o = ot_status(s, name), *v;
	int64_t x = o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;

	json_object_put(o);
	return x;
}

/* Wait (up to ms) until counter key of output name reaches at least want. */
static inline int64_t ot_wait_counter(struct outputs *s, const char *name, const char *key,
				      int64_t want, int ms)
{
	int64_t v = -1;

	for (int i = 0; i < ms / 5; i++) {
		v = ot_counter(s, name, key);
		if (v >= want)
			break;
		ot_sleep_ms(5);
	}
	return v;
}

#endif /* MOAT_OUTPUT_TEST_H */
