/* execout.c - the exec output: a command per alert, with the alert's JSON on its stdin,
 * started directly (argv, no shell unless the configuration asks), in its own process
 * group, killed with that group after timeout_ms; at most max_concurrent at once. The same
 * runner serves the desktop notification (notify.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "output_int.h"

extern char **environ;

char *exec_job_str(struct exec_job *j, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (j->used + n > sizeof(j->store))
		return NULL;
	p = j->store + j->used;
	memcpy(p, s, n);
	j->used += n;
	return p;
}

int exec_job_env(struct exec_job *j, const char *const *drop, const char *const *extra)
{
	size_t n = 0, max = sizeof(j->envp) / sizeof(j->envp[0]) - 1;

	for (char **e = environ; e && *e && n < max; e++) {
		int skip = 0;

		for (const char *const *d = drop; d && *d && !skip; d++) {
			size_t l = strlen(*d);

			skip = !strncmp(*e, *d, l) && (*e)[l] == '=';
		}
		if (!skip)
			j->envp[n++] = *e; /* environ outlives the job */
	}
	for (const char *const *x = extra; x && *x; x++) {
		if (n >= max || !(j->envp[n] = exec_job_str(j, *x)))
			return -ENOSPC;
		n++;
	}
	j->envp[n] = NULL;
	return 0;
}

struct child {
	pid_t pid;
	int pidfd;
	int in_fd;   /* stdin's write end, -1 when all written */
	char *input; /* owned copy */
	size_t len, off;
	int64_t deadline_ns;
	int killed;
};

/* Start the job: 0 with c filled, or -errno. */
static int spawn(struct output *o, struct exec_job *j, struct child *c)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int p[2] = {-1, -1}, err;

	memset(c, 0, sizeof(*c));
	c->in_fd = c->pidfd = -1;
	if (j->input && pipe2(p, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	if (j->input)
		posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&dfl);
	posix_spawnattr_setsigmask(&at, &none); /* moat run blocks its signals in every thread */
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setpgroup(&at, 0); /* its own group: a timeout kills all it started */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					  POSIX_SPAWN_SETPGROUP);
	err = posix_spawn(&c->pid, j->argv[0], &fa, &at, j->argv, j->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (p[0] >= 0)
		close(p[0]);
	if (err) {
		if (p[1] >= 0)
			close(p[1]);
		return -err;
	}
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	c->deadline_ns = clock_mono_ns() + (int64_t)o->conf.timeout_ms * 1000000;
	if (j->input) {
		c->in_fd = p[1];
		fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
		c->input = malloc(j->input_len ? j->input_len : 1);
		if (c->input)
			memcpy(c->input, j->input, j->input_len);
		c->len = c->input ? j->input_len : 0;
	}
	return 0;
}

/* Write what the child's stdin takes now; close it when all is written or it is gone. */
static void feed(struct child *c)
{
	while (c->in_fd >= 0 && c->off < c->len) {
		ssize_t n = write(c->in_fd, c->input + c->off, c->len - c->off);

		if (n > 0) {
			c->off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n < 0 && errno == EAGAIN)
				return;
			break; /* EPIPE: it does not read its input; not an error of moat's */
		}
	}
	if (c->in_fd >= 0) {
		close(c->in_fd);
		c->in_fd = -1;
	}
}

/* The child has exited (or waitpid says so): reap it and count. 1 when reaped. */
static int reap(struct output *o, struct child *c, int block)
{
	int st;
	pid_t r = waitpid(c->pid, &st, block ? 0 : WNOHANG);

	if (r != c->pid)
		return 0;
	if (c->killed == 2) {
		atomic_fetch_add(&o->failed, 1); /* moat is stopping */
	} else if (c->killed) {
		atomic_fetch_add(&o->timeouts, 1);
		atomic_fetch_add(&o->failed, 1);
		output_set_state(o, "a run took longer than %u ms: killed with its process group",
				 o->conf.timeout_ms);
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		atomic_fetch_add(&o->sent, 1);
		output_set_state(o, "%s", "");
	} else {
		atomic_fetch_add(&o->failed, 1);
		if (WIFEXITED(st))
			output_set_state(o, "%s exited %d", o->conf.argc ? o->conf.argv[0] : "it",
					 WEXITSTATUS(st));
		else
			output_set_state(o, "%s killed by signal %d",
					 o->conf.argc ? o->conf.argv[0] : "it", WTERMSIG(st));
	}
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	free(c->input);
	memset(c, 0, sizeof(*c));
	c->in_fd = c->pidfd = -1;
	atomic_fetch_sub(&o->busy, 1);
	return 1;
}

void execout_loop(struct output *o, exec_prepare_fn prepare)
{
	struct child kids[16];
	int n = 0, max = (int)o->conf.max_concurrent;
	struct exec_job *job = malloc(sizeof(*job));

	output_thread_signals();
	if (max < 1 || max > 16)
		max = max < 1 ? 1 : 16;
	for (;;) {
		struct pollfd pf[1 + 2 * 16];
		int np = 0, timeout = -1, stopping = output_stopping(o);
		int64_t now = clock_mono_ns();
		struct output_item *it;
		uint64_t v;

		/* Start what the limit allows. */
		while (n < max && (!stopping || now < o->stop_deadline_ns) &&
		       output_pop(o, &it) == 0) {
			int err = job ? 0 : -ENOMEM;

			if (job) {
				memset(job, 0, offsetof(struct exec_job, store));
				job->used = 0;
				err = prepare(o, it, job);
			}
			if (!err)
				err = spawn(o, job, &kids[n]);
			if (err) {
				atomic_fetch_add(&o->failed, 1);
				atomic_fetch_sub(&o->busy, 1);
				output_set_state(o, "cannot start %s: %s",
						 job && job->argv[0] ? job->argv[0] : "the command",
						 strerror(-err));
			} else {
				feed(&kids[n]);
				n++;
			}
			output_done(o, it);
		}
		if (stopping && (!n || now >= o->stop_deadline_ns)) {
			/* Out of time: what still runs is killed, what is queued dropped. */
			for (int i = 0; i < n; i++) {
				kill(-kids[i].pid, SIGKILL);
				kids[i].killed = 2;
				reap(o, &kids[i], 1);
			}
			break;
		}
		pf[np++] = (struct pollfd){.fd = o->wake_fd, .events = POLLIN};
		for (int i = 0; i < n; i++) {
			int64_t left = (kids[i].deadline_ns - now) / 1000000 + 1;

			if (kids[i].pidfd >= 0)
				pf[np++] = (struct pollfd){.fd = kids[i].pidfd, .events = POLLIN};
			if (kids[i].in_fd >= 0)
				pf[np++] = (struct pollfd){.fd = kids[i].in_fd, .events = POLLOUT};
			if (!kids[i].killed && (timeout < 0 || left < timeout))
				timeout = left < 0 ? 0 : (int)left;
			if (kids[i].pidfd < 0 && (timeout < 0 || timeout > 50))
				timeout = 50; /* no pidfd: poll for its exit */
		}
		if (stopping && (timeout < 0 || timeout > 50))
			timeout = 50;
		poll(pf, (nfds_t)np, timeout);
		if (pf[0].revents)
			eventfd_read(o->wake_fd, &v);
		now = clock_mono_ns();
		for (int i = 0; i < n; i++) {
			feed(&kids[i]);
			if (!kids[i].killed && now >= kids[i].deadline_ns) {
				kill(-kids[i].pid, SIGKILL);
				kids[i].killed = 1;
			}
			if (reap(o, &kids[i], 0)) {
				kids[i] = kids[--n];
				i--;
			}
		}
	}
	free(job);
}

/* The exec output's job: its argv (or /bin/sh -c), the alert JSON on stdin, and the alert's
 * severity, rule and trace id in the environment. */
static int exec_prepare(struct output *o, const struct output_item *it, struct exec_job *j)
{
	static const char *const drop[] = {"MOAT_ALERT_SEVERITY", "MOAT_ALERT_RULE",
					   "MOAT_ALERT_TRACE_ID", EXEC_SECRET_VARS, NULL};
	char sev[64], rule[64], trace[64];
	const char *extra[] = {sev, rule, trace, NULL};
	int k = 0;

	snprintf(sev, sizeof(sev), "MOAT_ALERT_SEVERITY=%s", alert_severity_name(it->severity));
	snprintf(rule, sizeof(rule), "MOAT_ALERT_RULE=%s", it->rule);
	snprintf(trace, sizeof(trace), "MOAT_ALERT_TRACE_ID=%s", it->trace_id);
	if (o->conf.shell) {
		j->argv[k++] = exec_job_str(j, "/bin/sh");
		j->argv[k++] = exec_job_str(j, "-c");
		j->argv[k++] = exec_job_str(j, o->conf.argv[0]);
	} else {
		for (int i = 0; i < o->conf.argc; i++)
			j->argv[k++] = exec_job_str(j, o->conf.argv[i]);
	}
	j->argv[k] = NULL;
	for (int i = 0; i < k; i++)
		if (!j->argv[i])
			return -ENOSPC;
	j->input = it->json;
	j->input_len = it->len;
	return exec_job_env(j, drop, extra);
}

static int execout_start(struct output *o, const struct outputs_env *env)
{
	const char *prog = o->conf.shell ? "/bin/sh" : o->conf.argv[0];

	if (o->wake_fd < 0)
		return -errno;
	if (access(prog, X_OK)) {
		output_set_state(o, "%s is not an executable file: %s", prog, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

static void *execout_run(void *arg)
{
	execout_loop(arg, exec_prepare);
	return NULL;
}

static void execout_free(struct output *o)
{
}

static void execout_status(struct output *o, json_object *j)
{
	json_object_object_add(j, "timeouts", json_object_new_uint64(atomic_load(&o->timeouts)));
}

const struct output_ops execout_ops = {
    .start = execout_start,
    .run = execout_run,
    .free = execout_free,
    .status = execout_status,
};
