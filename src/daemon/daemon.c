/* daemon.c - `moat run`, start to end: daemon_new -> load -> start -> loop -> free. One
 * epoll loop joins the kernel ring buffer, Docker's events, action results, renamed-copy
 * checks, list-file changes, the control socket, signals and a 1 s timer, and hands each to
 * the module of its concern:
 *   dispatch.c  kernel events -> decode -> enrich -> detect -> alerts (respond.c)
 *   dockerev.c  Docker's events -> inventory, per-container settings (settings.c)
 *   rulesets.c  the operator's files -> the kernel's rule sets
 *   control.c   the socket; ctlcmds.c its commands
 *   tick.c      housekeeping; prompts.c interactive egress
 * The modules share struct daemon (daemon_int.h). */
#define _GNU_SOURCE /* SCHED_RESET_ON_FORK */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "access.h"
#include "actions.h"
#include "alertlog.h"
#include "cgroup.h"
#include "copycheck.h"
#include "config_env.h"
#include "ctlcmds.h"
#include "daemon.h"
#include "daemon_int.h"
#include "dispatch.h"
#include "dockerev.h"
#include "dockerwatch.h"
#include "format.h"
#include "healthwatch.h"
#include "live.h"
#include "log.h"
#include "logwatch.h"
#include "moat/maps.h"
#include "options.h"
#include "output.h"
#include "preflight.h"
#include "learnrec.h"
#include "registry.h"
#include "resmon.h"
#include "rulesets.h"
#include "settings.h"
#include "tick.h"
#include "web.h"

/* epoll data.u32 of each input; the control socket's clients follow TAG_CONTROL. */
enum {
	TAG_RB = 1,
	TAG_DOCKER,
	TAG_ACTIONS,
	TAG_INOTIFY,
	TAG_SIGNAL,
	TAG_TIMER,
	TAG_COPYCHECK,
	TAG_LOGS,   /* logwatch.c */
	TAG_HEALTH, /* healthwatch.c */
	TAG_RESOURCES,
	TAG_CONTROL = 16,
};

struct daemon *daemon_new(void)
{
	struct daemon *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->inofd = d->sigfd = d->timerfd = d->epfd = -1;
	control_server_init(&d->ctl);
	config_defaults(&d->cfg);
	d->policies = malloc(sizeof(*d->policies));
	if (!d->policies) {
		free(d);
		return NULL;
	}
	policy_defaults(d->policies);
	d->policies->trust_image_labels = d->cfg.trust_image_labels;
	d->dx.cfg = &d->cfg;
	d->dx.blacklist = &d->blacklist;
	d->dx.whitelist = &d->whitelist;
	d->dx.restricted = settings_restricted;
	d->dx.ud = d;
	return d;
}

/* Set up what does not depend on Docker: the kernel side (preflight, the programs, attached
 * and pinned), the control socket (first, so a second moat run stops before touching the
 * kernel), the alert sinks, the DNS registry, the detections' state and the rule sets.
 * Returns 0 or -1 after logging what failed. */
static int daemon_load(struct daemon *d)
{
	static char cgroups[CGROUP_MAX_PARENTS][4096];
	char rpath[PATH_MAX + 32];
	int n, err;

	/* A monitor must not starve behind the workload it watches: an exec
	 * burst (docker exec, runc) competes for the same CPUs. */
	if (setpriority(PRIO_PROCESS, 0, d->cfg.nice))
		log_warn("cannot set priority %d: %s; alerts may lag under load", d->cfg.nice,
			 strerror(errno));
	if (preflight(d->cg_mount, sizeof(d->cg_mount)))
		return -1;
	n = preflight_cgroups(d->cg_mount, d->cfg.cgroups, d->cfg.n_cgroups, cgroups,
			      CGROUP_MAX_PARENTS);
	if (n < 0)
		return -1;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		log_error("epoll: %s", strerror(errno));
		return -1;
	}
	err = control_server_open(&d->ctl, d->cfg.control_socket, d->epfd, TAG_CONTROL);
	if (err) {
		log_error("control socket %s: %s%s", d->cfg.control_socket, strerror(-err),
			  err == -EADDRINUSE ? " (another moat run is active)" : "");
		return -1;
	}
	if (loader_load(&d->loader, d->pin_dir, d->cfg.ring_buffer_kib << 10) ||
	    loader_attach(&d->loader, cgroups, n))
		return -1;
	d->socket_tp_on = 1; /* loader_attach attached it; settings_apply_all decides */
	d->veth_fd = loader_veth_out_fd(&d->loader);
	d->veth_in_fd = loader_veth_in_fd(&d->loader);
	/* Before set_realtime: the output threads stay ordinary. */
	d->outputs =
	    outputs_open(&d->cfg.outputs, &(struct outputs_env){.alerts_file = d->cfg.alerts_file,
								.terminal_fd = STDERR_FILENO,
								.color_mode = ALERTLOG_COLOR_AUTO,
								.state_dir = d->cfg.state_dir});
	if (!d->outputs) {
		log_error("cannot start the alert outputs: %s", strerror(errno));
		return -1;
	}
	d->registry = registry_new(d->cfg.registry_max, d->cfg.registry_retention_s);
	if (!d->registry)
		return -1;
	tick_registry_path(d, rpath, sizeof(rpath));
	if (!d->cfg.skip_sync && (err = registry_load(d->registry, rpath, clock_unix_s())))
		log_warn("DNS registry %s: %s; starting empty", rpath, strerror(-err));
	else if (!d->cfg.skip_sync)
		log_info("DNS registry: %zu names from %s", registry_count(d->registry), rpath);
	if (learnrec_open(d))
		return -1;
	d->dedup = dedup_new(d->cfg.dedup_s);
	d->lossy = lossy_new(d->cfg.registry_retention_s);
	d->policies->trust_image_labels = d->cfg.trust_image_labels;
	d->access = access_open(d->cfg.access_log);
	rulesets_load_all(d);
	return 0;
}

/* Run this thread (the event loop, started after the Docker and action threads, which stay
 * SCHED_OTHER) under SCHED_FIFO at prio, so a burst of the workload it watches cannot delay
 * an alert: a woken real-time thread preempts ordinary tasks at once, where nice only
 * weighs its share. SCHED_RESET_ON_FORK keeps the registry writer and any later thread
 * ordinary. The kernel's real-time throttling (sched_rt_runtime_us) still leaves ordinary
 * tasks 5% of the CPU should this loop ever spin. prio 0 leaves the thread alone. */
static void set_realtime(int prio)
{
	struct sched_param sp = {.sched_priority = prio};

	if (prio <= 0)
		return;
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp))
		log_warn("cannot run the event loop under SCHED_FIFO %d: %s; alerts may lag "
			 "behind CPU bursts (realtime_priority 0 silences this)",
			 prio, strerror(errno));
	else
		log_debug("event loop runs under SCHED_FIFO %d", prio);
}

/* The dashboard (docs/web.md): the live feed and the server, on its own threads, once the
 * control socket it asks is up. A failure (the port taken, TLS refused) is logged by
 * web_start and moat run goes on without it: detection never depends on the web. */
static void web_setup(struct daemon *d)
{
	struct web_options o;
	char dir[4096];

	if (!strcmp(d->cfg.http.listen, "off")) {
		log_info("dashboard: off (--http off)");
		return;
	}
	web_options_defaults(&o);
	snprintf(o.listen, sizeof(o.listen), "%s", d->cfg.http.listen);
	snprintf(o.tls_cert, sizeof(o.tls_cert), "%s", d->cfg.http.tls_cert);
	snprintf(o.tls_key, sizeof(o.tls_key), "%s", d->cfg.http.tls_key);
	o.per_container_metrics = d->cfg.http.per_container_metrics;
	o.max_clients = d->cfg.http.max_clients;
	snprintf(dir, sizeof(dir), "%s", d->cfg.control_socket);
	if (d->cfg.http.token_file[0])
		snprintf(o.token_file, sizeof(o.token_file), "%s", d->cfg.http.token_file);
	else
		snprintf(o.token_file, sizeof(o.token_file), "%s/web.token", dirname(dir));
	snprintf(o.ctl_path, sizeof(o.ctl_path), "%s", d->cfg.control_socket);
	snprintf(o.alerts_file, sizeof(o.alerts_file), "%s", d->cfg.alerts_file);
	snprintf(o.access_log, sizeof(o.access_log), "%s", d->cfg.access_log);
	snprintf(o.rules_file, sizeof(o.rules_file), "%s", d->cfg.egress_rules);
	d->live = live_new(0, 0);
	if (!d->live) {
		log_warn("dashboard: out of memory; moat goes on without it");
		return;
	}
	d->web = web_start(&o, d->live);
	if (!d->web) {
		live_free(d->live);
		d->live = NULL;
		return;
	}
	access_set_live(d->access, d->live);
	log_info("dashboard: %s (the token is also in %s)", web_url(d->web), o.token_file);
}

static int epoll_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return fd < 0 ? 0 : epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Start following the containers: the inventory, the Docker and action threads, the copy
 * checker, every container's settings, the ring buffer, then the loop's own inputs.
 * Signals were blocked before any thread started (cmd_run). Returns 0 or -1. */
static int daemon_start(struct daemon *d, const sigset_t *signals)
{
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	struct actions_opts ao = {.attempts = d->cfg.action_attempts,
				  .backoff_ms = d->cfg.action_backoff_ms,
				  .timeout_ms = d->cfg.action_timeout_ms,
				  .max_concurrent = d->cfg.action_max_concurrent};

	if (inventory_open(&d->inv, d->cg_mount))
		log_warn("Docker is not reachable: containers will be picked up when it is");
	inventory_set_refresh_on_miss(&d->inv, 0);
	d->watch = dockerwatch_start(NULL);
	d->actions = actions_start(NULL, &ao);
	if (!d->watch || !d->actions) {
		log_error("cannot start the Docker threads: %s", strerror(errno));
		return -1;
	}
	if (logwatch_start(d) || healthwatch_start(d))
		return -1;
	d->copycheck = copycheck_start(&d->cfg.shells, &d->cfg.runtimes, &d->cfg.net_tools);
	if (!d->copycheck) {
		log_error("cannot start the renamed-copy checker: %s", strerror(errno));
		return -1;
	}
	resmon_start(d); /* its thread, like the others, before the loop turns real-time */
	web_setup(d);	 /* the dashboard's threads too */
	settings_resolvers_global(d);
	settings_apply_all(d);
	d->rb = ring_buffer__new(loader_events_fd(&d->loader), dispatch_kernel_event, d, NULL);
	if (!d->rb) {
		log_error("cannot read the event ring buffer: %s", strerror(errno));
		return -1;
	}
	set_realtime(d->cfg.realtime_priority);
	d->sigfd = signalfd(-1, signals, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	timerfd_settime(d->timerfd, 0, &its, NULL);
	if (epoll_add(d->epfd, ring_buffer__epoll_fd(d->rb), TAG_RB) ||
	    epoll_add(d->epfd, dockerwatch_fd(d->watch), TAG_DOCKER) ||
	    epoll_add(d->epfd, actions_fd(d->actions), TAG_ACTIONS) ||
	    epoll_add(d->epfd, copycheck_fd(d->copycheck), TAG_COPYCHECK) ||
	    epoll_add(d->epfd, logwatch_fd(d), TAG_LOGS) ||
	    epoll_add(d->epfd, healthwatch_fd(d), TAG_HEALTH) ||
	    epoll_add(d->epfd, d->inofd, TAG_INOTIFY) || epoll_add(d->epfd, d->sigfd, TAG_SIGNAL) ||
	    epoll_add(d->epfd, d->timerfd, TAG_TIMER) ||
	    epoll_add(d->epfd, resmon_fd(d), TAG_RESOURCES)) {
		log_error("epoll setup: %s", strerror(errno));
		return -1;
	}
	d->dx.registry = d->registry;
	d->dx.dedup = d->dedup;
	d->dx.lossy = d->lossy;
	d->dx.offset_ns = clock_boot_to_unix_offset();
	d->started = clock_unix_s();
	log_info("moat run: watching %d container(s), %s, alerts to %s, control socket %s",
		 inventory_count(&d->inv), d->cfg.report_only ? "report-only" : "enforcing",
		 d->cfg.alerts_file, d->cfg.control_socket);
	return 0;
}

void daemon_reload(struct daemon *d)
{
	if (d->config_path[0]) {
		struct config next = d->cfg;

		if (config_load(&next, d->config_path) == 0) {
			config_env_apply(&next); /* the environment still wins over the file */
			next.outputs = d->cfg.outputs; /* outputs are set up at start only */
			/* Paths that are wired at start stay as they are. */
			snprintf(next.pin_dir, sizeof(next.pin_dir), "%s", d->cfg.pin_dir);
			snprintf(next.control_socket, sizeof(next.control_socket), "%s",
				 d->cfg.control_socket);
			d->cfg = next;
			if (d->copycheck)
				copycheck_set_names(d->copycheck, &d->cfg.shells, &d->cfg.runtimes,
						    &d->cfg.net_tools);
			log_info("%s reloaded", d->config_path);
		} else {
			log_error("%s: not reloaded; the running configuration stays",
				  d->config_path);
		}
	}
	rulesets_load_list(d, d->cfg.blacklist, &d->blacklist, 1);
	rulesets_load_list(d, d->cfg.whitelist, &d->whitelist, 0);
	rulesets_load_egress(d);
	learnrec_reconfig(d);
	rulesets_load_policies(d);
	settings_apply_all(d);
}

/* One ready input: hand it to its module. */
static void on_ready(struct daemon *d, uint32_t tag)
{
	static struct copycheck_result cr;
	struct signalfd_siginfo si;
	struct docker_event ev;
	struct action_result ar;
	json_object *req;
	uint64_t ticks;
	int slot;

	switch (tag) {
	case TAG_DOCKER:
		while (dockerwatch_next(d->watch, &ev) == 0)
			dockerev_handle(d, &ev);
		break;
	case TAG_ACTIONS:
		while (actions_next(d->actions, &ar) == 0)
			respond_action_result(d, &ar);
		break;
	case TAG_COPYCHECK:
		while (copycheck_next(d->copycheck, &cr) == 0)
			dispatch_copycheck_result(d, &cr);
		break;
	case TAG_LOGS: logwatch_on_ready(d); break;
	case TAG_HEALTH: healthwatch_on_ready(d); break;
	case TAG_INOTIFY: rulesets_on_inotify(d); break;
	case TAG_RESOURCES: resmon_on_pass(d); break;
	case TAG_TIMER:
		if (read(d->timerfd, &ticks, sizeof(ticks)) > 0)
			tick_run(d);
		break;
	case TAG_SIGNAL:
		while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				outputs_reopen(d->outputs);
				daemon_reload(d);
			} else {
				d->exiting = 1;
			}
		}
		break;
	default:
		if (!control_server_owns(&d->ctl, tag))
			break;
		slot = control_server_event(&d->ctl, tag, &req);
		if (slot >= 0)
			ctlcmds_serve(d, slot, req);
		break;
	}
}

/* Until SIGTERM or SIGINT: wait for the inputs, hand each over, drain the ring buffer every
 * round, and close control clients past their deadline. Returns the exit code. */
static int daemon_loop(struct daemon *d)
{
	while (!d->exiting) {
		struct epoll_event evs[16];
		int n = epoll_wait(d->epfd, evs, 16, MOAT_RB_POLL_MS);

		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			on_ready(d, evs[i].data.u32);
		/* Most kernel events come without a wakeup: drain every round. */
		if (ring_buffer__consume(d->rb) < 0 && errno != EINTR)
			log_warn("reading kernel events: %s", strerror(errno));
		if (d->ctl.n_open)
			control_server_expire(&d->ctl, control_now_ms());
	}
	log_info("moat run: exiting; kernel enforcement stays in place ('moat clear' removes it)");
	return 0;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	if (d->started)
		tick_save_registry_now(d);
	web_stop(d->web); /* before the control socket its handlers ask */
	control_server_close(&d->ctl, "moat is shutting down");
	actions_stop(d->actions);
	copycheck_stop(d->copycheck);
	logwatch_stop(d);
	healthwatch_stop(d);
	resmon_stop(d);
	dockerwatch_stop(d->watch);
	ring_buffer__free(d->rb);
	inventory_close(&d->inv);
	registry_free(d->registry);
	learnrec_close(d);
	lists_free(&d->blacklist);
	lists_free(&d->whitelist);
	rules_free(&d->egress);
	for (int i = 0; i < POLICY_MAX; i++)
		rules_free(&d->policy_rules[i]);
	access_close(d->access);
	live_free(d->live); /* after every publisher: the loop, access */
	free(d->policies);
	dedup_free(d->dedup);
	lossy_free(d->lossy);
	outputs_close(d->outputs);
	loader_close(&d->loader);
	if (d->inofd >= 0)
		close(d->inofd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->epfd >= 0)
		close(d->epfd);
	free(d);
}

int cmd_run(int argc, char **argv, const char *pin_dir)
{
	struct daemon *d = daemon_new();
	sigset_t mask;
	int rc;

	if (!d)
		return 1;
	rc = options_parse(&d->cfg, d->config_path, sizeof(d->config_path), argc, argv);
	if (rc >= 0) {
		daemon_free(d);
		return rc;
	}
	/* --pin-dir / MOAT_PIN_DIR win over the file's pin_dir. */
	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s",
		 strcmp(pin_dir, MOAT_PIN_DIR) ? pin_dir : d->cfg.pin_dir);
	/* Block the signals before any thread starts, so that they all inherit the mask and
	 * the signals arrive only through signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = daemon_load(d) || daemon_start(d, &mask) ? 1 : daemon_loop(d);
	daemon_free(d);
	return rc;
}
