/* web_rig.h - what test_api.c and test_metrics.c share: a real moat run control socket
 * (the daemon's own control server and command table, with no kernel and no Docker) served
 * by a thread, so that the API's handlers ask it exactly as they do in moat run; and a
 * call of one route by method and path, as the server calls it. */
#ifndef MOAT_WEB_RIG_H
#define MOAT_WEB_RIG_H

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "test.h"
#include "access.h"
#include "ctlcmds.h"
#include "daemon_int.h"
#include "registry.h"
#include "webapi.h"

#define RIG_TAG 16

struct rig {
	struct daemon *d;
	int epfd;
	volatile int stop;
	pthread_t th;
	char dir[64], path[108];
	struct web_stats stats;
	struct web_env env;
};

/* moat run's loop, reduced to the control socket. */
static void *rig_loop(void *arg)
{
	struct rig *r = arg;

	while (!r->stop) {
		struct epoll_event evs[8];
		int k = epoll_wait(r->epfd, evs, 8, 20);

		for (int i = 0; i < k; i++) {
			json_object *req;
			int slot = control_server_event(&r->d->ctl, evs[i].data.u32, &req);

			if (slot >= 0)
				ctlcmds_serve(r->d, slot, req);
		}
		control_server_expire(&r->d->ctl, control_now_ms());
	}
	return NULL;
}

/* A daemon with no kernel and no Docker; rig_start serves it. Set d's counters in between. */
static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	signal(SIGPIPE, SIG_IGN);
	r->d = daemon_new();
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	snprintf(r->dir, sizeof(r->dir), "/tmp/moat-test-web-%d", (int)getpid());
	snprintf(r->path, sizeof(r->path), "%s/moat.sock", r->dir);
	snprintf(r->d->pin_dir, sizeof(r->d->pin_dir), "/nonexistent/moat-test");
	r->d->access = access_open("");
	r->d->registry = registry_new(0, 0);
	r->env.ctl_path = r->path;
	r->env.alerts_file = "";
	r->env.access_log = "";
	r->env.rules_file = "";
	r->env.stats = &r->stats;
}

static void rig_start(struct rig *r)
{
	if (control_server_open(&r->d->ctl, r->path, r->epfd, RIG_TAG) ||
	    pthread_create(&r->th, NULL, rig_loop, r)) {
		printf("not ok - the test's control socket at %s opens\n", r->path);
		exit(1);
	}
}

static void rig_stop(struct rig *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	daemon_free(r->d); /* closes the socket */
	rmdir(r->dir);
	close(r->epfd);
}

/* Call the route for method and path with query and body, as the server does. Returns the
 * status (404/405 when there is no route) with the response in *rs (caller frees json/text). */
static inline int rig_call(const struct web_env *env, const char *method, const char *path,
			   const char *query, const char *body, struct web_response *rs)
{
	struct web_request rq = {.method = method,
				 .path = path,
				 .query = query ? query : "",
				 .body = body ? body : "",
				 .body_len = body ? strlen(body) : 0};
	int known;
	const struct web_route *rt = web_route_find(method, path, &known);

	memset(rs, 0, sizeof(*rs));
	if (!rt)
		return known ? 405 : 404;
	rt->fn(env, &rq, rs);
	return rs->status;
}

static inline void rig_free(struct web_response *rs)
{
	json_object_put(rs->json);
	free(rs->text);
	memset(rs, 0, sizeof(*rs));
}

/* The member key of o as a string, "(missing)" when absent. */
static inline const char *rig_str(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v)
							       : "(missing)";
}

/* The path of file rel in the source tree (the test binary is build/tests/X). */
static inline const char *rig_src_path(const char *rel)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[len > 0 ? len : 0] = 0;
	*(strrchr(exe, '/') ? strrchr(exe, '/') : exe) = 0;
	snprintf(path, sizeof(path), "%s/../../%s", exe, rel);
	return path;
}

#endif /* MOAT_WEB_RIG_H */
