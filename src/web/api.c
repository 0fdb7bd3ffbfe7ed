/* api.c - the dashboard's API routes (webapi.h). A placeholder holding GET /api/status only,
 * so that the server links and is tested; the API (docs/api.md) replaces this table. */
#include "ctlclient.h"
#include "webapi.h"

#define API_CTL_TIMEOUT_MS 5000

/* GET /api/status: moat run's control `status` answer. */
static void api_status(const struct web_env *env, const struct web_request *rq,
		       struct web_response *rs)
{
	json_object *req = json_object_new_object(), *ans, *st;

	json_object_object_add(req, "cmd", json_object_new_string("status"));
	ans = control_call(env->ctl_path, req, API_CTL_TIMEOUT_MS);
	json_object_put(req);
	if (!ans) {
		web_error(rs, 503, "moat run does not answer on its control socket");
		return;
	}
	if (!json_object_object_get_ex(ans, "status", &st)) {
		web_error(rs, 502, "moat run's status answer has no status object");
		json_object_put(ans);
		return;
	}
	rs->status = 200;
	rs->json = json_object_get(st);
	json_object_put(ans);
}

const struct web_route web_routes[] = {
    {"GET", "/api/status", api_status, "moat run's status (the control `status` object)"},
};
const size_t n_web_routes = sizeof(web_routes) / sizeof(web_routes[0]);
