/* test_docker.c - the Docker client, the events watcher and the inventory
 * against the real Docker of the test environment (tools/testenv.sh up),
 * plus their parsers on malformed answers. Run as root.
 *
 * MOAT_TEST_DOCKER_RESTART=1 also restarts the test dockerd
 * (tools/testenv.sh down/up) to check "disconnected"/"reconnected"; it is
 * opt-in because it takes ~15 s and removes every moat-test-* container. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "cgroup.h"
#include "docker.h"
#include "dockerwatch.h"
#include "inventory.h"

#define IMAGE "moat-test/busybox"

static char cname[64];
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Run argv, its stdout (first line, trimmed) to out. Returns its exit status. */
static int run(char *const argv[], char *out, size_t len)
{
	char sink[512];
	int p[2], st = -1;
	pid_t pid;
	ssize_t n = 0, r;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (out && (size_t)n < len - 1 && (r = read(p[0], out + n, len - 1 - n)) > 0)
		n += r;
	while (read(p[0], sink, sizeof(sink)) > 0) /* the rest, so it gets no SIGPIPE */
		;
	if (out) {
		out[n] = 0;
		out[strcspn(out, "\n")] = 0;
	}
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cleanup(void)
{
	char *rm[] = {"docker", "rm", "-f", cname, NULL};
	int fd = open("/dev/null", O_WRONLY), saved = dup(2);

	if (!cname[0])
		return;
	dup2(fd, 2);
	run(rm, NULL, 0);
	dup2(saved, 2);
	close(fd);
	close(saved);
}

/* --- stderr capture, to check warnings ---------------------------------- */

static int cap_saved = -1;
static FILE *cap_file;

static void capture_start(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	cap_saved = dup(2);
	dup2(fileno(cap_file), 2);
}

/* Stop capturing; the text (static, truncated) is returned and echoed. */
static const char *capture_end(void)
{
	static char text[8192];
	size_t n;

	fflush(stderr);
	dup2(cap_saved, 2);
	close(cap_saved);
	rewind(cap_file);
	n = fread(text, 1, sizeof(text) - 1, cap_file);
	text[n] = 0;
	fclose(cap_file);
	fputs(text, stderr);
	return text;
}

/* --- parsers ------------------------------------------------------------- */

static const char *full_inspect =
    "{\"Id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    "\"Name\":\"/web\",\"State\":{\"Status\":\"running\",\"Pid\":42,\"ExitCode\":0,"
    "\"StartedAt\":\"2024-05-01T10:11:12.5Z\",\"Health\":{\"Status\":\"healthy\"}},"
    "\"Config\":{\"Image\":\"nginx:1\",\"Entrypoint\":[\"/docker-entrypoint.sh\"],"
    "\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],\"Labels\":{\"a\":\"1\",\"b\":\"2\"}},"
    "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":\"172.17.0.2\","
    "\"Gateway\":\"172.17.0.1\",\"GlobalIPv6Address\":\"fd00::2\",\"IPv6Gateway\":"
    "\"fd00::1\"}}}}";

static int parse(const char *json, struct container_info *c)
{
	json_object *o = json_tokener_parse(json);
	int err = docker_parse_inspect(o, c);

	json_object_put(o);
	return err;
}

static void test_parse_inspect(void)
{
	struct container_info c, d;
	const char *w;
	int err;

	CHECK(parse(full_inspect, &c) == 0, "parse_inspect: a complete answer", "failed");
	CHECK_EQ_STR(c.name, "web", "parse_inspect: name without '/'");
	CHECK_EQ_STR(c.image, "nginx:1", "parse_inspect: image from Config.Image");
	CHECK(c.pid == 42 && !strcmp(c.state, "running") && !strcmp(c.health, "healthy"),
	      "parse_inspect: pid, state, health", "pid %d state %s health %s", c.pid, c.state,
	      c.health);
	CHECK(c.started_at == 1714558272500000000LL, "parse_inspect: StartedAt in ns", "%lld",
	      (long long)c.started_at);
	CHECK(c.argc == 4 && !strcmp(c.argv[0], "/docker-entrypoint.sh") &&
		  !strcmp(c.argv[3], "daemon off;") && c.argv[4] == NULL,
	      "parse_inspect: argv = Entrypoint + Cmd", "argc %d", c.argc);
	CHECK(container_label(&c, "a") && !strcmp(container_label(&c, "a"), "1") &&
		  !container_label(&c, "zz"),
	      "parse_inspect: labels", "a=%s", container_label(&c, "a"));
	CHECK(c.n_nets == 1 && !strcmp(c.nets[0].name, "bridge") &&
		  !strcmp(c.nets[0].ipv4, "172.17.0.2") && !strcmp(c.nets[0].gw4, "172.17.0.1") &&
		  !strcmp(c.nets[0].ipv6, "fd00::2") && !strcmp(c.nets[0].gw6, "fd00::1"),
	      "parse_inspect: network addresses", "n %d", c.n_nets);
	CHECK(container_info_copy(&d, &c) == 0 && d.argv != c.argv && !strcmp(d.argv[2], "-g") &&
		  container_label(&d, "b"),
	      "container_info_copy is deep", "shallow");
	container_info_clear(&c);
	container_info_clear(&d);

	capture_start();
	err = parse("[1,2]", &c);
	w = capture_end();
	CHECK(err == -EPROTO && strstr(w, "not a JSON object"),
	      "parse_inspect: an array is refused", "err %d", err);

	capture_start();
	err = parse("{\"Name\":\"/x\"}", &c);
	w = capture_end();
	CHECK(err == -EPROTO && strstr(w, "field Id missing"), "parse_inspect: no Id is refused",
	      "err %d, log '%s'", err, w);

	/* Wrong types everywhere: each named, the rest kept, nothing crashes. */
	capture_start();
	err = parse("{\"Id\":\"abc\",\"Name\":\"/odd\",\"State\":{\"Status\":\"running\","
		    "\"Pid\":\"42\",\"ExitCode\":0,\"StartedAt\":\"yesterday\",\"Health\":7},"
		    "\"Config\":{\"Image\":5,\"Entrypoint\":null,\"Cmd\":[\"sh\",3,\"-c\"],"
		    "\"Labels\":{\"good\":\"1\",\"bad\":2}},\"NetworkSettings\":{\"Networks\":[]}}",
		    &c);
	w = capture_end();
	CHECK(err == 0 && !strcmp(c.name, "odd") && !strcmp(c.state, "running"),
	      "parse_inspect: wrong types keep the rest", "err %d name %s", err, c.name);
	CHECK(c.pid == 0 && strstr(w, "State.Pid is string, not int"),
	      "parse_inspect: State.Pid as a string is named", "log '%s'", w);
	CHECK(c.image[0] == 0 && strstr(w, "Config.Image is int"),
	      "parse_inspect: Config.Image as a number is named", "log '%s'", w);
	CHECK(c.started_at == 0 && strstr(w, "State.StartedAt \"yesterday\""),
	      "parse_inspect: a bad StartedAt is named", "log '%s'", w);
	CHECK(strstr(w, "State.Health is int"), "parse_inspect: State.Health as a number is named",
	      "log '%s'", w);
	CHECK(c.argc == 2 && !strcmp(c.argv[1], "-c") && strstr(w, "Config.Cmd[1]"),
	      "parse_inspect: non-string argv element skipped", "argc %d log '%s'", c.argc, w);
	CHECK(container_label(&c, "good") && !container_label(&c, "bad") &&
		  strstr(w, "Config.Labels.bad"),
	      "parse_inspect: non-string label skipped", "log '%s'", w);
	CHECK(c.n_nets == 0 && strstr(w, "NetworkSettings.Networks is array"),
	      "parse_inspect: Networks as an array is named", "log '%s'", w);
	CHECK(!strstr(w, "Entrypoint"), "parse_inspect: a null Entrypoint is normal", "log '%s'",
	      w);
	container_info_clear(&c);

	capture_start();
	err = parse("{\"Id\":\"abc\"}", &c);
	w = capture_end();
	CHECK(err == 0 && c.argv && c.argv[0] == NULL && c.labels &&
		  strstr(w, "field State missing") && strstr(w, "field Config missing"),
	      "parse_inspect: missing sections are named, argv/labels still usable",
	      "err %d log '%s'", err, w);
	container_info_clear(&c);

	CHECK(docker_parse_time("0001-01-01T00:00:00Z") == 0 &&
		  docker_parse_time("2024-05-01T12:11:12+02:00") == 1714558272000000000LL &&
		  docker_parse_time("bogus") == -1,
	      "parse_time: zero time, offsets, garbage", "wrong");
}

static void test_parse_event(void)
{
	struct docker_event ev;
	json_object *o;
	const char *w;
	int err;

	o = json_tokener_parse("{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":"
			       "\"abc\",\"Attributes\":{\"exitCode\":\"137\",\"name\":\"web\","
			       "\"image\":\"nginx\"}},\"time\":1,\"timeNano\":1000000005}");
	err = dockerwatch_parse_event(o, &ev);
	json_object_put(o);
	CHECK(err == 0 && !strcmp(ev.action, "die") && !strcmp(ev.id, "abc") &&
		  !strcmp(ev.name, "web") && !strcmp(ev.image, "nginx") && ev.exit_code == 137 &&
		  ev.time_ns == 1000000005LL,
	      "parse_event: die with exit code", "err %d action %s exit %d", err, ev.action,
	      ev.exit_code);

	o = json_tokener_parse("{\"Type\":\"network\",\"Action\":\"disconnect\",\"Actor\":{\"ID\":"
			       "\"n1\",\"Attributes\":{\"container\":\"abc\",\"name\":\"bridge\"}},"
			       "\"time\":2}");
	err = dockerwatch_parse_event(o, &ev);
	json_object_put(o);
	CHECK(err == 0 && !strcmp(ev.id, "abc") && !strcmp(ev.network, "bridge") &&
		  ev.time_ns == 2000000000LL,
	      "parse_event: network event names the container", "id %s net %s", ev.id, ev.network);

	capture_start();
	o = json_tokener_parse("{\"Type\":\"container\",\"Actor\":{\"ID\":\"abc\"}}");
	err = dockerwatch_parse_event(o, &ev);
	json_object_put(o);
	w = capture_end();
	CHECK(err == -EPROTO && strstr(w, "Action"), "parse_event: no Action is refused", "err %d",
	      err);

	capture_start();
	o = json_tokener_parse(
	    "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":7,"
	    "\"Attributes\":{\"exitCode\":\"x1\",\"name\":[]}},\"timeNano\":\"\"}");
	err = dockerwatch_parse_event(o, &ev);
	json_object_put(o);
	w = capture_end();
	CHECK(err == 0 && ev.exit_code == -1 && ev.id[0] == 0 && strstr(w, "Actor.ID") &&
		  strstr(w, "Actor.Attributes.exitCode \"x1\"") &&
		  strstr(w, "Actor.Attributes.name") && strstr(w, "timeNano"),
	      "parse_event: wrong types are named, no crash", "log '%s'", w);
}

/* --- the real Docker ------------------------------------------------------ */

#define MAX_EVENTS 512
static struct docker_event seen[MAX_EVENTS];
static int n_seen;

/* Read what the watcher has, apply it to inv, and keep it. */
static void drain(struct dockerwatch *w, struct inventory *inv, int timeout_ms)
{
	struct pollfd p = {.fd = dockerwatch_fd(w), .events = POLLIN};
	struct docker_event ev;

	poll(&p, 1, timeout_ms);
	while (dockerwatch_next(w, &ev) == 0) {
		if (inv)
			inventory_apply(inv, &ev);
		if (n_seen < MAX_EVENTS)
			seen[n_seen++] = ev;
	}
}

/* Wait up to ms for an event (id "" = any) whose action starts with action. */
static const struct docker_event *wait_event(struct dockerwatch *w, struct inventory *inv,
					     const char *id, const char *action, int ms)
{
	int64_t end = mono_ms() + ms;

	do {
		for (int i = 0; i < n_seen; i++)
			if (!strncmp(seen[i].action, action, strlen(action)) &&
			    (!*id || !strcmp(seen[i].id, id)))
				return &seen[i];
		drain(w, inv, 100);
	} while (mono_ms() < end);
	return NULL;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return 0;
}

/* Wait up to 2 s for "frozen <want>" in the container's cgroup.events. */
static int frozen_is(const char *cgdir, int want)
{
	char path[4200], buf[512], line[16];

	snprintf(path, sizeof(path), "%s/cgroup.events", cgdir);
	snprintf(line, sizeof(line), "frozen %d", want);
	for (int i = 0; i < 20; i++) {
		if (read_file(path, buf, sizeof(buf)) == 0 && strstr(buf, line))
			return 1;
		usleep(100000);
	}
	return 0;
}

static void test_reconnect(struct dockerwatch *w, struct inventory *inv)
{
	char *down[] = {"tools/testenv.sh", "down", NULL}, *up[] = {"tools/testenv.sh", "up", NULL};
	int64_t t0;

	n_seen = 0;
	CHECK(run(down, NULL, 0) == 0, "restart: testenv down", "failed");
	CHECK(wait_event(w, inv, "", "disconnected", 5000),
	      "events: disconnected when dockerd stops", "no event");
	t0 = mono_ms();
	CHECK(run(up, NULL, 0) == 0, "restart: testenv up", "failed");
	CHECK(wait_event(w, inv, "", "reconnected", 15000),
	      "events: reconnected when dockerd is back", "no event %lld ms after up",
	      (long long)(mono_ms() - t0));
	CHECK(inv->docker != NULL, "inventory: resynced after the reconnect", "no Docker");
}

static void test_real(void)
{
	char cg_mount[4096], cgdir[4300], path[4400], buf[512], id[128] = "", arg_name[80],
								prefix[16];
	char *runv[] = {"docker",
			"run",
			"-d",
			"--name",
			arg_name,
			"--dns",
			"172.29.0.1",
			"--label",
			"moat.test=yes",
			"--label",
			"team=blue",
			"--health-cmd",
			"true",
			"--health-interval",
			"1s",
			"--entrypoint",
			"/bin/sh",
			IMAGE,
			"-c",
			"sleep 600",
			NULL};
	char *rmv[] = {"docker", "rm", arg_name, NULL};
	struct docker *d = docker_open(NULL);
	struct dockerwatch *w;
	struct inventory inv, inv2;
	struct container_info c, *cs;
	const struct container_info *ic;
	const struct docker_event *ev;
	struct stat st;
	int n, err, found;
	int64_t now_ns, t0;

	CHECK(d != NULL, "docker: the test Docker answers", "errno %d (tools/testenv.sh up?)",
	      errno);
	if (!d)
		return;
	CHECK(!strncmp(docker_api_version(d), "/v1.", 4), "docker: API version negotiated", "'%s'",
	      docker_api_version(d));
	cgroup_find_v2_mount(cg_mount, sizeof(cg_mount));

	w = dockerwatch_start(NULL);
	CHECK(w && wait_event(w, NULL, "", "connected", 5000), "events: stream connected",
	      "no 'connected' event");
	if (!w)
		return;
	CHECK(inventory_open(&inv, cg_mount) == 0, "inventory: open", "failed");
	inventory_set_refresh_on_miss(&inv, 0);
	CHECK(inventory_open(&inv2, cg_mount) == 0, "inventory: second one for resolve", "failed");
	inventory_set_refresh_on_miss(&inv2, 0);

	snprintf(cname, sizeof(cname), "moat-test-dw-%d", (int)getpid());
	snprintf(arg_name, sizeof(arg_name), "%s", cname);
	atexit(cleanup);
	now_ns = (int64_t)time(NULL) * 1000000000LL;
	CHECK(run(runv, id, sizeof(id)) == 0 && strlen(id) == 64, "docker run the test container",
	      "id '%s'", id);
	if (strlen(id) != 64)
		goto cleanup;

	ev = wait_event(w, &inv, id, "start", 5000);
	CHECK(ev && !strcmp(ev->name, cname) && !strcmp(ev->image, IMAGE) &&
		  ev->time_ns > now_ns - 5000000000LL,
	      "events: start, with name, image and time", "%s", ev ? ev->name : "no start event");

	/* inspect: every field */
	err = docker_inspect(d, cname, &c);
	CHECK(err == 0, "inspect: by name", "err %d", err);
	snprintf(cgdir, sizeof(cgdir), "%s/docker/%s", cg_mount, id);
	CHECK(stat(cgdir, &st) == 0 && c.cgroup_id == st.st_ino && c.cgroup_id,
	      "inspect: cgroup id is the inode of its cgroup dir", "%llu vs %llu (%s)",
	      (unsigned long long)c.cgroup_id, (unsigned long long)st.st_ino, cgdir);
	snprintf(buf, sizeof(buf), "/docker/%s", id);
	CHECK_EQ_STR(c.cgroup, buf, "inspect: cgroup path below the mount");
	CHECK_EQ_STR(c.id, id, "inspect: id");
	CHECK_EQ_STR(c.name, cname, "inspect: name");
	CHECK_EQ_STR(c.image, IMAGE, "inspect: image");
	CHECK_EQ_STR(c.state, "running", "inspect: state running");
	CHECK(!strcmp(c.health, "starting") || !strcmp(c.health, "healthy"),
	      "inspect: health starting or healthy", "'%s'", c.health);
	/* busybox sh -c execs a lone command: pid 1 is sleep, in the container's cgroup. */
	snprintf(path, sizeof(path), "/proc/%d/comm", c.pid);
	CHECK(c.pid > 0 && read_file(path, buf, sizeof(buf)) == 0 && !strcmp(buf, "sleep\n") &&
		  cgroup_of_pid(c.pid, path, sizeof(path)) == 0 && !strcmp(path, c.cgroup),
	      "inspect: pid is the container's init on the host", "pid %d comm '%s' cgroup %s",
	      c.pid, buf, path);
	CHECK(c.started_at > now_ns - 10000000000LL && c.started_at < now_ns + 30000000000LL,
	      "inspect: started_at is about now", "%lld vs %lld", (long long)c.started_at,
	      (long long)now_ns);
	CHECK(c.argc == 3 && !strcmp(c.argv[0], "/bin/sh") && !strcmp(c.argv[1], "-c") &&
		  !strcmp(c.argv[2], "sleep 600") && !c.argv[3],
	      "inspect: argv = entrypoint + cmd", "argc %d argv0 %s", c.argc,
	      c.argc ? c.argv[0] : "");
	CHECK(container_label(&c, "moat.test") &&
		  !strcmp(container_label(&c, "moat.test"), "yes") && container_label(&c, "team") &&
		  !strcmp(container_label(&c, "team"), "blue"),
	      "inspect: labels", "moat.test=%s", container_label(&c, "moat.test"));
	CHECK(c.n_nets == 1 && !strcmp(c.nets[0].name, "bridge") &&
		  !strncmp(c.nets[0].ipv4, "172.29.0.", 9) &&
		  !strcmp(c.nets[0].gw4, "172.29.0.1") && !c.nets[0].ipv6[0] && !c.nets[0].gw6[0],
	      "inspect: network bridge, 172.29.0.x via 172.29.0.1, no IPv6", "n %d %s %s", c.n_nets,
	      c.nets[0].ipv4, c.nets[0].gw4);
	CHECK(c.exit_code == 0, "inspect: exit code 0 while running", "%d", c.exit_code);

	/* list */
	found = 0;
	CHECK(docker_list(d, &cs, &n) == 0, "list: running containers", "failed");
	for (int i = 0; i < n; i++)
		if (!strcmp(cs[i].id, id) && cs[i].cgroup_id == c.cgroup_id && cs[i].argc == 3)
			found = 1;
	CHECK(found, "list: has the container, inspected", "not among %d", n);
	docker_list_free(cs, n);

	/* the inventory, from events */
	ic = inventory_lookup(&inv, c.cgroup_id);
	CHECK(ic && !strcmp(ic->name, cname), "inventory: lookup by cgroup id after start", "%s",
	      ic ? ic->name : "not found");
	snprintf(prefix, sizeof(prefix), "%.12s", id);
	CHECK(inventory_find(&inv, cname) == ic && inventory_find(&inv, prefix) == ic,
	      "inventory: find by name and by id prefix", "different");
	found = 0;
	for (int i = 0; i < inventory_count(&inv); i++)
		found += inventory_at(&inv, i) == ic;
	CHECK(found == 1, "inventory: iteration has it once", "%d", found);

	/* resolve from the cgroup id alone (inv2 has no events) */
	found = 0;
	for (int i = 0; i < inventory_count(&inv2); i++)
		found += !strcmp(inventory_at(&inv2, i)->id, id);
	CHECK(found == 0, "resolve: unknown before", "known");
	CHECK(inventory_resolve_cgroup(&inv2, c.cgroup_id) == 0,
	      "resolve: container found from its cgroup id", "not found");
	ic = inventory_lookup(&inv2, c.cgroup_id);
	CHECK(ic && !strcmp(ic->name, cname) && ic->argc == 3,
	      "resolve: then lookup gives its name and argv", "%s", ic ? ic->name : "none");
	CHECK(inventory_resolve_cgroup(&inv2, cgroup_id_of(cg_mount)) == -ENOENT,
	      "resolve: the root cgroup is no container", "resolved");

	/* health */
	ev = wait_event(w, &inv, id, "health_status: healthy", 8000);
	ic = inventory_lookup(&inv, c.cgroup_id);
	CHECK(ev && ic && !strcmp(ic->health, "healthy"), "events: health_status healthy applied",
	      "health '%s'", ic ? ic->health : "?");

	/* pause / unpause */
	CHECK(docker_pause(d, id) == 0, "pause: through the API", "%s", docker_last_error(d));
	snprintf(path, sizeof(path), "%s/cgroup.freeze", cgdir);
	CHECK(read_file(path, buf, sizeof(buf)) == 0 && buf[0] == '1', "pause: cgroup.freeze is 1",
	      "'%s'", buf);
	CHECK(frozen_is(cgdir, 1), "pause: cgroup.events frozen 1", "not frozen");
	container_info_clear(&c);
	docker_inspect(d, id, &c);
	CHECK_EQ_STR(c.state, "paused", "pause: inspect says paused");
	ev = wait_event(w, &inv, id, "pause", 5000);
	ic = inventory_lookup(&inv, c.cgroup_id);
	CHECK(ev && ic && !strcmp(ic->state, "paused"), "events: pause, inventory state paused",
	      "state %s", ic ? ic->state : "?");
	err = docker_pause(d, id);
	CHECK(err == -EALREADY && strstr(docker_last_error(d), "HTTP 409") &&
		  strstr(docker_last_error(d), "already paused"),
	      "pause: twice is -EALREADY (nothing to do), Docker's message kept", "err %d '%s'",
	      err, docker_last_error(d));
	CHECK(docker_unpause(d, id) == 0, "unpause: through the API", "%s", docker_last_error(d));
	/* Docker 20.10 answers this with HTTP 500, later ones with 409: both are "nothing to do"
	 * (moat resume of a running container is a quiet no-op). */
	err = docker_unpause(d, id);
	CHECK(err == -EALREADY && strstr(docker_last_error(d), "is not paused"),
	      "unpause: of a running container is -EALREADY", "err %d '%s'", err,
	      docker_last_error(d));
	CHECK(frozen_is(cgdir, 0), "unpause: cgroup.events frozen 0", "still frozen");
	ev = wait_event(w, &inv, id, "unpause", 5000);
	ic = inventory_lookup(&inv, c.cgroup_id);
	CHECK(ev && ic && !strcmp(ic->state, "running"), "events: unpause, inventory running",
	      "state %s", ic ? ic->state : "?");

	/* network disconnect */
	err = docker_network_disconnect(d, id, "bridge", 0);
	CHECK(err == 0, "network disconnect: bridge", "err %d %s", err, docker_last_error(d));
	container_info_clear(&c);
	docker_inspect(d, id, &c);
	CHECK(c.n_nets == 0, "network disconnect: inspect shows no network", "%d", c.n_nets);
	ev = wait_event(w, &inv, id, "disconnect", 5000);
	ic = inventory_lookup(&inv, c.cgroup_id);
	CHECK(ev && !strcmp(ev->network, "bridge") && ic && ic->n_nets == 0,
	      "events: network disconnect updates the inventory", "nets %d", ic ? ic->n_nets : -1);
	err = docker_network_disconnect(d, id, "moat-no-such-net", 0);
	CHECK(err == -ENOENT && strstr(docker_last_error(d), "HTTP 404"),
	      "network disconnect: unknown network is -ENOENT", "err %d '%s'", err,
	      docker_last_error(d));

	/* stop: sh as pid 1 ignores SIGTERM, so Docker kills it after 1 s */
	t0 = mono_ms();
	err = docker_stop(d, id, 1);
	CHECK(err == 0, "stop: with a 1 s timeout", "err %d %s", err, docker_last_error(d));
	CHECK(mono_ms() - t0 < 8000, "stop: returns after the timeout", "%lld ms",
	      (long long)(mono_ms() - t0));
	ev = wait_event(w, &inv, id, "die", 5000);
	CHECK(ev && ev->exit_code == 137, "events: die with exit code 137", "exit %d",
	      ev ? ev->exit_code : -2);
	ic = inventory_lookup(&inv, c.cgroup_id);
	CHECK(ic && !strcmp(ic->state, "exited") && ic->exit_code == 137 &&
		  inventory_gone_since(ic) > 0,
	      "inventory: a dead container still resolves (grace), state exited", "state %s",
	      ic ? ic->state : "gone");
	CHECK(docker_stop(d, id, 1) == 0, "stop: an exited container is success (304)", "%s",
	      docker_last_error(d));
	err = docker_pause(d, id);
	CHECK(err == -EBUSY && strstr(docker_last_error(d), "not running"),
	      "pause: a stopped container is -EBUSY, 'not running'", "err %d '%s'", err,
	      docker_last_error(d));
	container_info_clear(&c);
	err = docker_inspect(d, "moat-test-no-such-container", &c);
	CHECK(err == -ENOENT, "inspect: no such container is -ENOENT", "err %d", err);

	/* destroy */
	CHECK(run(rmv, NULL, 0) == 0, "docker rm the container", "failed");
	ev = wait_event(w, &inv, id, "destroy", 5000);
	ic = inventory_find(&inv, id);
	CHECK(ev && ic && !strcmp(ic->state, "removed"),
	      "events: destroy, the inventory keeps it as removed", "state %s",
	      ic ? ic->state : "gone");
	{
		int want[4] = {0}, order_ok = 1, last = -1;
		const char *acts[4] = {"start", "pause", "unpause", "die"};

		for (int i = 0; i < n_seen; i++)
			for (int k = 0; k < 4; k++)
				if (!strcmp(seen[i].id, id) && !strcmp(seen[i].action, acts[k])) {
					want[k] = 1;
					order_ok &= k >= last;
					last = k;
				}
		CHECK(want[0] && want[1] && want[2] && want[3] && order_ok,
		      "events: start, pause, unpause, die in order", "seen %d %d %d %d order %d",
		      want[0], want[1], want[2], want[3], order_ok);
	}
	cname[0] = 0; /* removed */

	if (getenv("MOAT_TEST_DOCKER_RESTART") && !strcmp(getenv("MOAT_TEST_DOCKER_RESTART"), "1"))
		test_reconnect(w, &inv);
	else
		printf("# reconnect test skipped (MOAT_TEST_DOCKER_RESTART=1 restarts dockerd)\n");

cleanup:
	t0 = mono_ms();
	dockerwatch_stop(w);
	CHECK(mono_ms() - t0 < 2000, "events: stop joins the thread within 2 s", "%lld ms",
	      (long long)(mono_ms() - t0));
	container_info_clear(&c);
	inventory_close(&inv);
	inventory_close(&inv2);
	docker_close(d);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_parse_inspect();
	test_parse_event();
	if (geteuid() != 0) {
		CHECK(0, "docker tests need root", "run as root");
		return TEST_EXIT();
	}
	test_real();
	printf("# %d passed, %d failed\n", test_passed_count, test_failed_count);
	return TEST_EXIT();
}
