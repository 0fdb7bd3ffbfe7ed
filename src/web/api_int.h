/* api_int.h - what the API's files (api.c, api_alerts.c, api_rules.c, metrics.c) share;
 * not an API (webapi.h is). */
#ifndef MOAT_API_INT_H
#define MOAT_API_INT_H

#include "webapi.h"

#define API_CTL_TIMEOUT_MS    5000  /* a control command */
#define API_ACTION_TIMEOUT_MS 30000 /* pause/resume: answered once Docker has done it */

/* Ask moat run: {"cmd":cmd} plus the members of args (taken; NULL: none). Returns the answer
 * (new reference) when it says "ok":true. Otherwise NULL with rs set to the error: 503 when
 * moat run does not answer (not running, or too slow), 404 when it says there is no such
 * container or prompt, 400 for any other refusal (its own message). */
json_object *api_ask(const struct web_env *env, const char *cmd, json_object *args, int timeout_ms,
		     struct web_response *rs);

/* The request body as a JSON object (new reference), or NULL with rs set to a 400 saying
 * what is wrong. */
json_object *api_body(const struct web_request *rq, struct web_response *rs);

/* Member key of object o as a string of at most max bytes: returns it, or NULL with rs set
 * to a 400 naming the field (missing when required, not a string, too long). NULL without
 * an error when it is absent and not required (rs->status stays 0). */
const char *api_str(json_object *o, const char *key, int required, size_t max,
		    struct web_response *rs);

/* Move the members of src except "ok" into a new object. */
json_object *api_strip_ok(json_object *src);

void api_alerts(const struct web_env *env, const struct web_request *rq, struct web_response *rs);
void api_rules_get(const struct web_env *env, const struct web_request *rq,
		   struct web_response *rs);
void api_rules_add(const struct web_env *env, const struct web_request *rq,
		   struct web_response *rs);
void api_rules_remove(const struct web_env *env, const struct web_request *rq,
		      struct web_response *rs);
void api_rules_default(const struct web_env *env, const struct web_request *rq,
		       struct web_response *rs);
void api_rules_import(const struct web_env *env, const struct web_request *rq,
		      struct web_response *rs);
void api_rules_export(const struct web_env *env, const struct web_request *rq,
		      struct web_response *rs);

#endif /* MOAT_API_INT_H */
