/* test_daemon_outputs.c - the daemon's side of the outputs (src/daemon/respond.c,
 * ctlcmds.c): respond_emit hands each alert to every output (the alert file and a webhook to
 * a real HTTP server the test starts, tests/helpers/webhook_receiver.py), and the status
 * command reports each output with its counters, rate-limited alerts included. */
#include <stdlib.h>

#include "test.h"
#include "../act/output_test.h"
#include "ctlcmds.h"
#include "daemon_int.h"

int main(void)
{
	char dir[64], file[128], url[64], logp[128];
	struct outputs_conf *c = calloc(1, sizeof(*c));
	struct daemon *d = daemon_new();
	json_object *st, *outs, *v;
	int port = 0, found = 0;
	pid_t rp;

	ot_tmpdir(dir, sizeof(dir), "daemon-outputs");
	snprintf(file, sizeof(file), "%s/alerts.jsonl", dir);
	snprintf(logp, sizeof(logp), "%s/log", dir);
	rp = ot_receiver_start(dir, 0, &port);
	CHECK(rp > 0 && d, "the receiver and a daemon", "no receiver in %s", dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	config_outputs_add(c, OUTPUT_WEBHOOK, url, NULL);
	c->o[0].min_severity = ALERT_WARNING;
	c->o[0].rate_per_minute = 1;
	c->o[0].burst = 2;
	d->outputs = outputs_open(
	    c, &(struct outputs_env){.alerts_file = file, .terminal_fd = -1, .state_dir = dir});
	for (int i = 0; i < 4; i++) {
		struct alert a;

		ot_alert(&a, i ? ALERT_CRITICAL : ALERT_INFO, "suspicious-exec", "x");
		respond_emit(d, &a);
	}
	CHECK_EQ_INT(outputs_flush(d->outputs, 10000), 0, "delivered");
	CHECK(ot_count_lines(file) == 4 && ot_count_lines(logp) == 2 && d->n_alerts[2] == 3,
	      "respond_emit: all four to the file; the webhook takes WARNING and up, two by its "
	      "rate limit",
	      "file %d webhook %d", ot_count_lines(file), ot_count_lines(logp));
	st = ctlcmds_status(d);
	if (json_object_object_get_ex(st, "outputs", &outs))
		for (size_t i = 0; i < json_object_array_length(outs); i++) {
			json_object *o = json_object_array_get_idx(outs, i);

			if (json_object_object_get_ex(o, "name", &v) &&
			    !strcmp(json_object_get_string(v), "webhook") &&
			    json_object_object_get_ex(o, "sent", &v) &&
			    json_object_get_int(v) == 2 &&
			    json_object_object_get_ex(o, "rate_limited", &v) &&
			    json_object_get_int(v) == 1 &&
			    json_object_object_get_ex(o, "min_severity", &v) &&
			    !strcmp(json_object_get_string(v), "WARNING"))
				found++;
			if (json_object_object_get_ex(o, "name", &v) &&
			    !strcmp(json_object_get_string(v), "file") &&
			    json_object_object_get_ex(o, "sent", &v) && json_object_get_int(v) == 4)
				found++;
		}
	CHECK_EQ_INT(found, 2, "the status command lists the outputs: sent, rate_limited");
	json_object_put(st);
	daemon_free(d);
	ot_receiver_stop(rp);
	free(c);
	return TEST_EXIT();
}
