/* outputs.c - benchmark of the alert dispatcher (src/act/output.c): alerts through a file,
 * a webhook (to tests/helpers/webhook_receiver.py on 127.0.0.1) and an exec output
 * (/bin/sh reading its stdin) at once. It plays the event loop: it calls outputs_emit and
 * measures how long each call holds the loop (the worst stall), then how long each output
 * takes to deliver everything.
 *
 *   build/bench/outputs [N] [RATE] [WHICH]
 *       N alerts (default 20000), RATE per second (0 = as fast as possible, the default),
 *       WHICH outputs: letters of f (file), w (webhook), e (exec); default "fwe".
 *       BENCH_NO_FIFO=1 leaves the emitting thread SCHED_OTHER.
 *
 * Prints the figures of docs/performance.md ("Alert outputs"). No root needed. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "output.h"

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static json_object *status_of(struct outputs *s, const char *name)
{
	json_object *arr = outputs_status(s), *found = NULL, *n;

	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(arr, i), "name", &n) &&
		    !strcmp(json_object_get_string(n), name))
			found = json_object_get(json_object_array_get_idx(arr, i));
	json_object_put(arr);
	return found;
}

static long long counter(struct outputs *s, const char *name, const char *key)
{
	json_object *o = status_of(s, name), *v;
	long long x = o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;

	json_object_put(o);
	return x;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 20000;
	int rate = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
	const char *which = argc > 3 ? argv[3] : "fwe";
	char dir[] = "/tmp/moat-bench-outputs-XXXXXX", exe[PATH_MAX], script[PATH_MAX + 64];
	char portf[PATH_MAX], file[PATH_MAX], url[64], *p;
	struct outputs_conf *c = calloc(1, sizeof(*c));
	int64_t *lat = calloc((size_t)n, sizeof(*lat)), t0, t_emit, sum = 0;
	const char *names[] = {"file", "webhook", "exec"};
	struct outputs *s;
	pid_t rp;
	FILE *f;
	int port = 0, fifo;
	ssize_t len;

	if (!c || !lat || n <= 0 || !mkdtemp(dir))
		return 1;
	log_level = LOG_WARN;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = 0;
	p = strrchr(exe, '/');
	if (p)
		*p = 0;
	snprintf(script, sizeof(script), "%s/../../tests/helpers/webhook_receiver.py", exe);
	rp = fork();
	if (rp == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl("/usr/bin/python3", "python3", script, "--dir", dir, (char *)NULL);
		_exit(127);
	}
	snprintf(portf, sizeof(portf), "%s/port", dir);
	for (int i = 0; i < 500 && !port; i++) {
		f = fopen(portf, "re");
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (!port)
			usleep(10000);
	}
	if (!port) {
		fprintf(stderr, "outputs: the webhook receiver did not start\n");
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/bench", port);
	if (strchr(which, 'w')) {
		config_outputs_add(c, OUTPUT_WEBHOOK, url, "bench-token");
		c->o[c->n - 1].queue_max = (uint32_t)n;
		c->o[c->n - 1].container_rate_per_minute = 0; /* one container sends them all */
	}
	if (strchr(which, 'e')) {
		config_outputs_add(c, OUTPUT_EXEC, "/bin/sh", NULL);
		c->o[c->n - 1].shell = 1;
		snprintf(c->o[c->n - 1].argv[0], sizeof(c->o[0].argv[0]), "cat >/dev/null");
		c->o[c->n - 1].max_concurrent = 4;
		c->o[c->n - 1].container_rate_per_minute = 0;
	}
	snprintf(file, sizeof(file), "%s/alerts.jsonl", dir);
	s = outputs_open(c, &(struct outputs_env){.alerts_file = strchr(which, 'f') ? file : NULL,
						  .terminal_fd = -1,
						  .state_dir = dir});
	/* moat run opens the outputs, then puts its loop under SCHED_FIFO (realtime_priority 1,
	 * the default); the output threads stay SCHED_OTHER. Do the same when allowed. */
	fifo = !getenv("BENCH_NO_FIFO") &&
	       !sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){.sched_priority = 1});
	t0 = clock_mono_ns();
	for (int i = 0; i < n; i++) {
		struct alert a;
		int64_t t;

		alert_start(&a, clock_unix_ns(), i % 3, "suspicious-exec", "process",
			    "0123456789abcdef0123456789abcdef", "bench", "busybox");
		snprintf(a.message, sizeof(a.message), "Suspicious process detected: /bin/sh (%d)",
			 i);
		if (rate > 0) {
			int64_t due = t0 + (int64_t)i * CLOCK_NS_PER_SEC / rate;

			while (clock_mono_ns() < due)
				usleep(50);
		}
		t = clock_mono_ns();
		outputs_emit(s, &a);
		lat[i] = clock_mono_ns() - t;
		sum += lat[i];
	}
	t_emit = clock_mono_ns() - t0;
	qsort(lat, (size_t)n, sizeof(*lat), cmp64);
	printf("outputs: %s; ", which);
	if (rate)
		printf("alerts: %d, paced at %d/s", n, rate);
	else
		printf("alerts: %d, as fast as the loop can emit", n);
	printf(" (emitting thread: %s)\n",
	       fifo ? "SCHED_FIFO 1, as moat run's loop" : "SCHED_OTHER");
	printf("emit (the event loop's share): %.0f alerts/s; per call p50 %.1f us, p99 %.1f us, "
	       "worst stall %.1f us, mean %.1f us\n",
	       n / (t_emit / 1e9), lat[n / 2] / 1e3, lat[(int)(n * 0.99)] / 1e3, lat[n - 1] / 1e3,
	       sum / 1e3 / n);
	outputs_flush(s, 600000);
	printf("all delivered after %.2f s\n", (clock_mono_ns() - t0) / 1e9);
	for (int i = 0; i < 3; i++)
		if (counter(s, names[i], "sent") >= 0)
			printf("  %-8s sent %lld, failed %lld, dropped (queue full) %lld\n",
			       names[i], counter(s, names[i], "sent"),
			       counter(s, names[i], "failed"), counter(s, names[i], "dropped"));
	outputs_close(s);
	kill(rp, SIGTERM);
	waitpid(rp, NULL, 0);
	if (strncmp(dir, "/tmp/moat-bench-outputs-", 24) == 0) {
		pid_t k = fork();

		if (k == 0) {
			execl("/bin/rm", "rm", "-rf", "--", dir, (char *)NULL);
			_exit(127);
		}
		waitpid(k, NULL, 0);
	}
	free(lat);
	free(c);
	return 0;
}
