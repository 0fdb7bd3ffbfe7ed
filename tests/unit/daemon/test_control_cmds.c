/* test_control_cmds.c - the control commands (src/daemon/ctlcmds.c): the one table against
 * the protocol documented in src/daemon/control.h (a command documented but not served, or
 * served without help, fails here), and the commands served through a real control socket
 * to a daemon with no kernel and no Docker. */
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test.h"
#include "access.h"
#include "ctlcmds.h"
#include "daemon_int.h"
#include "registry.h"

#define TAG 16

/* The commands control.h documents: each {"cmd":"NAME" in it. */
static int documented(char names[][32], int max)
{
	char exe[PATH_MAX], path[PATH_MAX + 32], line[512];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int n = 0;
	FILE *f;

	exe[len > 0 ? len : 0] = 0;
	snprintf(path, sizeof(path), "%s/../../src/daemon/control.h", dirname(exe));
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		for (char *p = line; n < max && (p = strstr(p, "{\"cmd\":\"")); p++)
			if (sscanf(p, "{\"cmd\":\"%31[a-z_-]\"", names[n]) == 1)
				n++;
	fclose(f);
	return n;
}

static void test_table(void)
{
	char names[32][32];
	int n = documented(names, 32), bad = 0;
	char why[512] = "";

	CHECK(n >= 5, "control.h documents the commands", "found %d", n);
	for (int i = 0; i < n; i++)
		if (!ctlcmds_find(names[i])) {
			bad++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %.31s", names[i]);
		}
	CHECK(!bad, "every command control.h documents is served", "not served:%s", why);
	why[0] = 0;
	bad = 0;
	for (size_t k = 0; k < n_control_cmds; k++) {
		const struct control_cmd *c = &control_cmds[k];
		int doc = 0;

		for (int i = 0; i < n; i++)
			doc |= !strcmp(names[i], c->name);
		if (!doc || !c->help || !c->help[0] || !c->args || !c->run ||
		    ctlcmds_find(c->name) != c) {
			bad++;
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %s%s%s", c->name,
				 doc ? "" : " (undocumented)",
				 c->help && c->help[0] ? "" : " (no help)");
		}
	}
	CHECK(!bad, "every served command is documented, has help and a handler, once", "bad:%s",
	      why);
}

/* The daemon side of one exchange: the client's request through the real server to the
 * command table, and the answer back. */
struct rig {
	struct daemon *d;
	int epfd;
	char path[108];
};

static json_object *ask(struct rig *r, const char *request)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[65536];
	size_t len = 0;
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		perror("ask");
		exit(1);
	}
	for (int rounds = 0; rounds < 100; rounds++) {
		struct epoll_event evs[8];
		int k = epoll_wait(r->epfd, evs, 8, 10);

		for (int i = 0; i < k; i++) {
			json_object *req;
			int slot = control_server_event(&r->d->ctl, evs[i].data.u32, &req);

			if (slot >= 0)
				ctlcmds_serve(r->d, slot, req);
		}
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
		if (n > 0)
			len += (size_t)n;
		if (n == 0 || (len && buf[len - 1] == '\n'))
			break;
	}
	close(fd);
	buf[len] = 0;
	return json_tokener_parse(buf);
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "(missing)";
}

static int is_ok(json_object *a)
{
	json_object *v;

	return a && json_object_object_get_ex(a, "ok", &v) && json_object_get_boolean(v);
}

static void test_served(void)
{
	struct rig r = {.d = daemon_new(), .epfd = epoll_create1(EPOLL_CLOEXEC)};
	json_object *a, *v, *st;

	snprintf(r.path, sizeof(r.path), "/tmp/moat-test-cmds-%d/moat.sock", (int)getpid());
	snprintf(r.d->pin_dir, sizeof(r.d->pin_dir), "/nonexistent/moat-test");
	r.d->access = access_open("");
	r.d->registry = registry_new(0, 0);
	r.d->dns.unsolicited = 3;
	CHECK_EQ_INT(control_server_open(&r.d->ctl, r.path, r.epfd, TAG), 0, "the socket opens");

	a = ask(&r, "{\"cmd\":\"status\"}\n");
	CHECK(is_ok(a) && json_object_object_get_ex(a, "status", &st) &&
		  json_object_object_get_ex(st, "unsolicited_dns_answers", &v) &&
		  json_object_get_int(v) == 3 && !strcmp(str(st, "mode"), "enforce"),
	      "status answers with moat run's counters", "%s", json_object_to_json_string(a));
	json_object_put(a);
	a = ask(&r, "{\"cmd\":\"stats\"}\n");
	CHECK(is_ok(a) && json_object_object_get_ex(a, "stats", &st) &&
		  json_object_object_get_ex(st, "status", &v) &&
		  !strcmp(str(st, "default"), "allow"),
	      "stats answers with the access statistics, the rules' default and the status", "%s",
	      json_object_to_json_string(a));
	json_object_put(a);
	a = ask(&r, "{\"cmd\":\"pending\"}\n");
	CHECK(is_ok(a) && json_object_object_get_ex(a, "pending", &v) &&
		  json_object_array_length(v) == 0,
	      "pending: none open", "%s", json_object_to_json_string(a));
	json_object_put(a);
	a = ask(&r, "{\"cmd\":\"decide\",\"id\":9,\"choice\":\"allow-once\"}\n");
	CHECK(a && !is_ok(a) && strstr(str(a, "error"), "no such pending request"),
	      "decide on no prompt is refused", "%s", json_object_to_json_string(a));
	json_object_put(a);
	a = ask(&r, "{\"cmd\":\"registry\",\"q\":\"example.com\"}\n");
	CHECK(is_ok(a) && json_object_object_get_ex(a, "entries", &v) &&
		  json_object_is_type(v, json_type_array),
	      "registry answers with entries", "%s", json_object_to_json_string(a));
	json_object_put(a);
	a = ask(&r, "{\"cmd\":\"pause\",\"container\":\"nope\"}\n");
	CHECK(a && !is_ok(a) && strstr(str(a, "error"), "no such container"),
	      "pause of an unknown container is refused at once", "%s",
	      json_object_to_json_string(a));
	json_object_put(a);
	a = ask(&r, "{\"cmd\":\"resources\",\"container\":\"web\",\"history\":true}\n");
	CHECK(is_ok(a) && json_object_object_get_ex(a, "resources", &v) &&
		  json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0,
	      "resources answers an empty list without a sampler", "%s",
	      json_object_to_json_string(a));
	json_object_put(a);
	a = ask(&r, "{\"cmd\":\"fly\"}\n");
	CHECK(a && !is_ok(a) &&
		  !strcmp(str(a, "error"), "unknown cmd; use status, stats, pending, decide, "
					   "reload, registry, pause, resume, resources, rules, "
					   "policies, counters, egress or learn"),
	      "an unknown command is answered with every served one", "%s",
	      json_object_to_json_string(a));
	CHECK(a && json_object_object_get_ex(a, "commands", &v) &&
		  json_object_array_length(v) == n_control_cmds &&
		  str(json_object_array_get_idx(v, 0), "help")[0],
	      "and with the table: name, arguments, help", "%s", json_object_to_json_string(a));
	json_object_put(a);
	a = ask(&r, "[\"status\"]\n");
	CHECK(a && !is_ok(a) && strstr(str(a, "error"), "one JSON object"),
	      "a request that is not an object is refused", "%s", json_object_to_json_string(a));
	json_object_put(a);
	daemon_free(r.d); /* closes the socket */
	CHECK(access(r.path, F_OK) != 0, "the socket is removed at exit", "still there");
	*strrchr(r.path, '/') = 0;
	rmdir(r.path);
	close(r.epfd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_table();
	test_served();
	return TEST_EXIT();
}
