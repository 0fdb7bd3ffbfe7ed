/* test_detect_resources.c - the resource rules (src/detect/detect_resources.c) on crafted
 * samples: cpu-sustained raised once after the sustain window and cleared once, memory-high
 * and pids-high against limits and absolute thresholds with their hysteresis, the wording
 * for Docker's unenforced limit, thresholds at 0 (off), a gone container forgotten, and the
 * oom-kill alert from a crafted MOAT_EV_OOM event. */
#include <stdlib.h>

#include "test.h"
#include "detect_resources.h"

#define S (1000000000LL)

static struct container_info ct = {.id = "c0ffee", .name = "web", .image = "busybox"};

static struct resource_thresholds defaults(void)
{
	struct resource_config rc;

	config_resources_defaults(&rc);
	return rc.t;
}

/* A sample at second sec with CPU pct (percent of one CPU) and memory mem of limit lim. */
static struct res_sample smp(int sec, double pct, uint64_t mem, uint64_t lim)
{
	struct res_sample s = {.time_ns = 1700000000LL * S + sec * S,
			       .mono_ns = 1000 * S + sec * S,
			       .cpu_pct100 = (uint32_t)(pct * 100),
			       .mem_bytes = mem,
			       .mem_limit = lim,
			       .mem_src = RES_SRC_CGROUP,
			       .mem_limit_src = RES_SRC_CGROUP,
			       .pids = 3,
			       .pids_src = RES_SRC_CGROUP,
			       .cpu_src = RES_SRC_CGROUP};

	return s;
}

static const char *state_of(const struct alert *a)
{
	json_object *v;

	return a->resource && json_object_object_get_ex(a->resource, "state", &v)
		   ? json_object_get_string(v)
		   : "";
}

static int run(struct resdetect *rd, const struct resource_thresholds *t, struct res_sample s,
	       struct alert *out)
{
	return detect_resources(rd, t, &ct, &s, out, RESDETECT_MAX_ALERTS);
}

static void release(struct alert *a, int n)
{
	for (int i = 0; i < n; i++)
		alert_release(&a[i]);
}

static void test_cpu(void)
{
	struct resource_thresholds t = defaults();
	struct resdetect *rd = resdetect_new();
	struct alert a[RESDETECT_MAX_ALERTS];
	int n, raised = 0, at = -1;
	struct res_sample first = smp(0, 0, 0, 0);

	first.flags = RES_F_FIRST;
	CHECK_EQ_INT(run(rd, &t, first, a), 0, "cpu: the first sample judges nothing");
	/* 95 % of a CPU every 2 s for 40 s: one WARNING, when 30 s are reached. */
	for (int sec = 2; sec <= 40; sec += 2) {
		n = run(rd, &t, smp(sec, 95, 0, 0), a);
		if (n) {
			raised += n;
			if (at < 0)
				at = sec;
			CHECK(a[0].severity == ALERT_WARNING &&
				  !strcmp(a[0].rule, "cpu-sustained") &&
				  !strcmp(a[0].source, "stats") &&
				  !strcmp(state_of(&a[0]), "raised") &&
				  strstr(a[0].message, "CPU at 95.0% for 30s") &&
				  !strcmp(a[0].container_name, "web"),
			      "cpu: the WARNING says what and how long", "%s / %s", a[0].rule,
			      a[0].message);
		}
		release(a, n);
	}
	CHECK(raised == 1 && at == 30, "cpu: one alert for the whole burn, at 30 s",
	      "%d alert(s), first at %d s", raised, at);
	n = run(rd, &t, smp(42, 10, 0, 0), a);
	CHECK(n == 1 && a[0].severity == ALERT_INFO && !strcmp(state_of(&a[0]), "cleared") &&
		  strstr(a[0].message, "peaked at 95.0%"),
	      "cpu: back below: one INFO, cleared", "%d %s", n, n ? a[0].message : "");
	release(a, n);
	CHECK_EQ_INT(run(rd, &t, smp(44, 10, 0, 0), a), 0, "cpu: cleared once");
	/* A burn shorter than the window: nothing; a dip resets the window. */
	for (int sec = 46; sec <= 70; sec += 2)
		release(a, n = run(rd, &t, smp(sec, 99, 0, 0), a)), raised += n;
	release(a, n = run(rd, &t, smp(72, 5, 0, 0), a));
	for (int sec = 74; sec <= 96; sec += 2)
		release(a, n = run(rd, &t, smp(sec, 99, 0, 0), a)), raised += n;
	CHECK_EQ_INT(raised, 1, "cpu: 26 s above, a dip, 22 s above: no new alert");
	/* 80 % exactly is not above 80 %. */
	t.cpu_sustain_s = 0;
	CHECK_EQ_INT(run(rd, &t, smp(98, 80, 0, 0), a), 0, "cpu: at the threshold is not above");
	/* A multi-threaded burn: 250 % of one CPU. */
	n = run(rd, &t, smp(100, 250, 0, 0), a);
	CHECK(n == 1 && strstr(a[0].message, "250.0%"), "cpu: more than one CPU counts in full",
	      "%s", n ? a[0].message : "");
	release(a, n);
	t.cpu_percent = 0;
	release(a, n = run(rd, &t, smp(102, 5, 0, 0), a)); /* clears */
	CHECK_EQ_INT(run(rd, &t, smp(104, 400, 0, 0), a), 0, "cpu: cpu_percent 0 turns it off");
	resdetect_free(rd);
}

static void test_memory(void)
{
	struct resource_thresholds t = defaults();
	struct resdetect *rd = resdetect_new();
	struct alert a[RESDETECT_MAX_ALERTS];
	struct res_sample s;
	int n;

	CHECK_EQ_INT(run(rd, &t, smp(0, 0, 80, 100), a), 0, "memory: 80 % of the limit: quiet");
	n = run(rd, &t, smp(2, 0, 90, 100), a);
	CHECK(n == 1 && a[0].severity == ALERT_WARNING && !strcmp(a[0].rule, "memory-high") &&
		  strstr(a[0].message, "Memory at 90.0% of its limit") &&
		  !strcmp(state_of(&a[0]), "raised"),
	      "memory: 90 % of the limit: WARNING", "%d %s", n, n ? a[0].message : "");
	release(a, n);
	CHECK_EQ_INT(run(rd, &t, smp(4, 0, 95, 100), a), 0, "memory: still high: no repeat");
	CHECK_EQ_INT(run(rd, &t, smp(6, 0, 82, 100), a), 0,
		     "memory: 82 % (above 95 % of the threshold): not cleared yet");
	n = run(rd, &t, smp(8, 0, 70, 100), a);
	CHECK(n == 1 && a[0].severity == ALERT_INFO && !strcmp(state_of(&a[0]), "cleared"),
	      "memory: 70 %: cleared", "%d", n);
	release(a, n);
	/* Docker's limit on a host that does not enforce it is named as such. */
	s = smp(10, 0, 460 << 20, 500 << 20);
	s.mem_src = RES_SRC_PROCS;
	s.mem_limit_src = RES_SRC_DOCKER;
	n = run(rd, &t, s, a);
	CHECK(n == 1 && strstr(a[0].message, "Docker limit") &&
		  strstr(a[0].message, "no memory.max on cgroup v2"),
	      "memory: a limit from Docker's configuration is said so", "%s",
	      n ? a[0].message : "");
	release(a, n);
	resdetect_free(rd);
	/* An absolute threshold, with the host's memory as the limit. */
	rd = resdetect_new();
	t.memory_bytes = 300 << 20;
	s = smp(0, 0, 310 << 20, 8ULL << 30);
	s.mem_limit_src = RES_SRC_HOST;
	n = run(rd, &t, s, a);
	CHECK(n == 1 && strstr(a[0].message, "above the 300 MiB threshold"),
	      "memory: memory_bytes raises on its own", "%s", n ? a[0].message : "");
	release(a, n);
	t.memory_bytes = 0;
	t.memory_percent = 0;
	release(a, n = run(rd, &t, s, a));
	CHECK_EQ_INT(run(rd, &t, smp(4, 0, 99, 100), a), 0, "memory: both thresholds 0: off");
	/* The container went: its state goes; it starts over. */
	t = defaults();
	release(a, n = run(rd, &t, smp(6, 0, 99, 100), a));
	s = smp(8, 0, 0, 0);
	s.flags = RES_F_GONE;
	CHECK_EQ_INT(run(rd, &t, s, a), 0, "a gone container raises nothing");
	n = run(rd, &t, smp(10, 0, 99, 100), a);
	CHECK_EQ_INT(n, 1, "and its state was forgotten (a new episode alerts)");
	release(a, n);
	CHECK_EQ_INT(resdetect_prune(rd, 1000 * S + 10 * S + 60 * S, 30 * S), 1,
		     "prune drops containers not sampled for a while");
	resdetect_free(rd);
}

static void test_pids(void)
{
	struct resource_thresholds t = defaults();
	struct resdetect *rd = resdetect_new();
	struct alert a[RESDETECT_MAX_ALERTS];
	struct res_sample s = smp(0, 0, 0, 0);
	int n;

	s.pids = 95;
	s.pids_limit = 100;
	n = run(rd, &t, s, a);
	CHECK(n == 1 && !strcmp(a[0].rule, "pids-high") && a[0].severity == ALERT_WARNING &&
		  strstr(a[0].message, "95 tasks, 95.0% of the pids limit 100"),
	      "pids: 95 of 100: WARNING", "%s", n ? a[0].message : "");
	release(a, n);
	resdetect_free(rd);
	rd = resdetect_new();
	s.pids_limit = 0;
	s.pids = 5000;
	s.flags = RES_F_PIDS_PARTIAL;
	n = run(rd, &t, s, a);
	CHECK(n == 1 && strstr(a[0].message, "At least 5000 tasks, above 4096"),
	      "pids: no limit: the pids_count threshold; a lower bound says so", "%s",
	      n ? a[0].message : "");
	release(a, n);
	s.pids = 3000;
	s.mono_ns += 2 * S;
	n = run(rd, &t, s, a);
	CHECK(n == 1 && a[0].severity == ALERT_INFO, "pids: back down: cleared", "%d", n);
	release(a, n);
	resdetect_free(rd);
}

static void test_oom(void)
{
	struct moat_oom_event e = {0};
	struct alert a;
	json_object *v;

	e.hdr.type = MOAT_EV_OOM;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = 5 * S;
	e.hdr.cgroup_id = 4242;
	e.hdr.pid = 777;
	e.hdr.tid = 778;
	snprintf(e.hdr.comm, sizeof(e.hdr.comm), "python3");
	e.anon_rss_kb = 300 * 1024;
	e.file_rss_kb = 2048;
	e.trigger_pid = 777;
	snprintf(e.trigger_comm, sizeof(e.trigger_comm), "python3");
	CHECK_EQ_INT(detect_oom(&e, &ct, 1000 * S, &a), 1, "oom: an alert");
	CHECK(a.severity == ALERT_CRITICAL && !strcmp(a.rule, "oom-kill") &&
		  !strcmp(a.container_name, "web") && a.time_ns == 1005 * S &&
		  strstr(a.message, "OOM killer killed process 777 (python3) in container web: "
				    "302 MiB resident"),
	      "oom: CRITICAL oom-kill naming the process", "%s", a.message);
	CHECK(a.process && json_object_object_get_ex(a.process, "comm", &v) &&
		  !strcmp(json_object_get_string(v), "python3") &&
		  json_object_object_get_ex(a.process, "pid", &v) && json_object_get_int(v) == 777,
	      "oom: process {pid, comm}", "%s", json_object_to_json_string(a.process));
	CHECK(a.resource && json_object_object_get_ex(a.resource, "anon_rss_kb", &v) &&
		  json_object_get_int64(v) == 300 * 1024,
	      "oom: resource {anon_rss_kb, ...}", "%s", json_object_to_json_string(a.resource));
	alert_release(&a);
	detect_oom(&e, NULL, 0, &a);
	CHECK(strstr(a.message, "in container cgroup 4242") && !a.container_id[0],
	      "oom: no known container: the cgroup is named", "%s", a.message);
	alert_release(&a);
}

/* memory.events (pure v2, no OOM program): a kill counted between two samples. */
static void test_oom_events(void)
{
	struct resdetect *rd = resdetect_new();
	struct res_sample s = smp(0, 0, 0, 0);
	struct alert a;

	s.flags = RES_F_OOM_EVENTS;
	s.oom_kills = 3;
	CHECK_EQ_INT(detect_oom_events(rd, &ct, &s, &a), 0,
		     "oom events: the first count is the baseline (kills before moat ran)");
	CHECK_EQ_INT(detect_oom_events(rd, &ct, &s, &a), 0, "oom events: unchanged: nothing");
	s.oom_kills = 5;
	CHECK(detect_oom_events(rd, &ct, &s, &a) == 1 && a.severity == ALERT_CRITICAL &&
		  !strcmp(a.rule, "oom-kill") &&
		  strstr(a.message, "killed 2 processes in container web"),
	      "oom events: two more kills: CRITICAL oom-kill", "%s", a.message);
	alert_release(&a);
	s.flags = 0;
	s.oom_kills = 9;
	CHECK_EQ_INT(detect_oom_events(rd, &ct, &s, &a), 0,
		     "oom events: no memory.events (hybrid host): nothing");
	resdetect_free(rd);
}

int main(void)
{
	test_oom_events();
	test_cpu();
	test_memory();
	test_pids();
	test_oom();
	return TEST_EXIT();
}
